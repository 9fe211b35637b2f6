package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcra is GCRA in one Lua script, so that the read of a client's theoretical arrival time and
// its update are atomic across every instance sharing the Redis. Time is the Redis server's
// own (TIME, in microseconds), so instances whose clocks disagree still share one bucket.
// KEYS[1] is the client's key; ARGV[1] the emission interval and ARGV[2] the burst capacity,
// both in microseconds. It returns {allowed, reset, retry_after}, in microseconds.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new = tat + interval
if new - now > capacity then
  return {0, tat - now, new - now - capacity}
end
redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.ceil((new - now) / 1000) + 1)
return {1, new - now, 0}
`)

// Redis is the shared limiter: the same GCRA as Local, with each client's state in Redis, so
// that N instances together allow what one allows. It keeps no state of its own; a key expires
// from Redis when its bucket is full again.
type Redis struct {
	client redis.Scripter
	prefix string
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter keeping its state in client under keys that begin with prefix.
func NewRedis(client redis.Scripter, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// Allow spends one request of key's bucket under limit l. A limit of 0 per minute allows
// everything without asking Redis. An error means Redis did not answer: the caller decides
// (Fallback answers from the instance's own limiter).
func (r *Redis) Allow(ctx context.Context, key string, lim Limit) (Decision, error) {
	if lim.PerMinute <= 0 {
		return Decision{Allowed: true, Limit: math.MaxInt32, Remaining: math.MaxInt32}, nil
	}
	if lim.Burst <= 0 {
		lim.Burst = lim.PerMinute
	}
	interval := int64(time.Minute/time.Microsecond) / int64(lim.PerMinute)
	capacity := interval * int64(lim.Burst)
	res, err := gcra.Run(ctx, r.client, []string{r.prefix + key}, interval, capacity).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit in redis: %w", err)
	}
	if len(res) != 3 {
		return Decision{}, fmt.Errorf("rate limit in redis: the script returned %d values, not 3", len(res))
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	if res[0] == 0 {
		return Decision{Limit: lim.Burst, Remaining: 0, Reset: us(res[1]), RetryAfter: us(res[2])}, nil
	}
	used := res[1]
	return Decision{Allowed: true, Limit: lim.Burst, Remaining: int((capacity - used) / interval), Reset: us(used)}, nil
}

// Gate runs a call to a shared dependency, or refuses it at once while the dependency is
// known to be down (a circuit breaker).
type Gate interface {
	Do(fn func() error) error
}

// Fallback asks Primary (the shared limiter) through Gate, and Secondary (the instance's own
// limiter) when that fails or the gate refuses: a Redis that is down costs the limit its
// sharing across instances, never a request. OnFallback, when set, is called each time.
type Fallback struct {
	Primary    Limiter
	Secondary  Limiter
	Gate       Gate
	OnFallback func(err error)
}

var _ Limiter = (*Fallback)(nil)

// Allow is Primary's decision, or Secondary's when Primary cannot give one.
func (f *Fallback) Allow(ctx context.Context, key string, lim Limit) (Decision, error) {
	var d Decision
	err := f.Gate.Do(func() error {
		var err error
		d, err = f.Primary.Allow(ctx, key, lim)
		return err
	})
	if err == nil {
		return d, nil
	}
	if ctx.Err() != nil {
		return Decision{}, ctx.Err()
	}
	if f.OnFallback != nil {
		f.OnFallback(err)
	}
	return f.Secondary.Allow(ctx, key, lim)
}
