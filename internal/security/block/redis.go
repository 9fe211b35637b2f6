package block

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// strikeScript counts a strike and blocks, atomically across instances, on the Redis server's
// clock. KEYS[1] holds the address's recent strikes (a sorted set by time), KEYS[2] its block
// (the reason, expiring when the block ends). ARGV: threshold, window and duration in
// microseconds, the reason, and a nonce that keeps two strikes in one microsecond apart.
// It returns 1 when this strike blocked the address.
var strikeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local threshold = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local duration = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, string.format('%d', now) .. ':' .. ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - window - 1))
if redis.call('ZCARD', KEYS[1]) >= threshold then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], ARGV[4], 'PX', math.ceil(duration / 1000))
  return 1
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1)
return 0
`)

// Redis keeps strikes and blocks in Redis, so that every instance sharing it refuses an
// address any of them blocked.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

var _ Shared = (*Redis)(nil)

// NewRedis returns shared state in client under keys that begin with prefix.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

func (r *Redis) strikesKey(addr string) string { return r.prefix + "strikes:" + addr }
func (r *Redis) blockKey(addr string) string   { return r.prefix + "block:" + addr }

// Strike counts a strike against addr and blocks it once threshold strikes fall within window.
func (r *Redis) Strike(ctx context.Context, addr, reason string, threshold int, window, duration time.Duration) (bool, error) {
	nonce := make([]byte, 6)
	_, _ = rand.Read(nonce)
	n, err := strikeScript.Run(ctx, r.client, []string{r.strikesKey(addr), r.blockKey(addr)},
		threshold, window.Microseconds(), duration.Microseconds(), reason, hex.EncodeToString(nonce)).Int()
	if err != nil {
		return false, fmt.Errorf("strike in redis: %w", err)
	}
	return n == 1, nil
}

// Blocked returns how long addr stays blocked; 0 when it is not.
func (r *Redis) Blocked(ctx context.Context, addr string) (time.Duration, error) {
	d, err := r.client.PTTL(ctx, r.blockKey(addr)).Result()
	if err != nil {
		return 0, fmt.Errorf("block in redis: %w", err)
	}
	return max(d, 0), nil // -2: no block, -1: no expiry (never set so)
}

// Unblock lifts addr's block and forgets its strikes. It reports whether addr was blocked.
func (r *Redis) Unblock(ctx context.Context, addr string) (bool, error) {
	var block *redis.IntCmd
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		block = p.Del(ctx, r.blockKey(addr))
		p.Del(ctx, r.strikesKey(addr))
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("unblock in redis: %w", err)
	}
	return block.Val() == 1, nil
}

// List returns the addresses blocked now, soonest-released last.
func (r *Redis) List(ctx context.Context) ([]Blocked, error) {
	var out []Blocked
	now := time.Now()
	iter := r.client.Scan(ctx, 0, r.prefix+"block:*", 500).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		reason, err := r.client.Get(ctx, key).Result()
		if err == redis.Nil {
			continue // expired meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("list blocks in redis: %w", err)
		}
		left, err := r.client.PTTL(ctx, key).Result()
		if err != nil {
			return nil, fmt.Errorf("list blocks in redis: %w", err)
		}
		if left <= 0 {
			continue
		}
		until := now.Add(left).UTC()
		out = append(out, Blocked{IP: strings.TrimPrefix(key, r.prefix+"block:"), Until: until, Reason: reason,
			RetryAfterS: int((left + time.Second - 1) / time.Second)})
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("list blocks in redis: %w", err)
	}
	slices.SortFunc(out, func(x, y Blocked) int { return y.Until.Compare(x.Until) })
	return out, nil
}
