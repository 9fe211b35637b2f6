// Package ratelimit limits how often each client may call the service. The in-process Limiter
// here implements GCRA (the generic cell rate algorithm: a token bucket kept as one timestamp
// per client) with an injected clock and bounded memory.
package ratelimit

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Limit is a rate: PerMinute requests a minute on average, with bursts of up to Burst at once.
type Limit struct {
	PerMinute int
	Burst     int
}

// Decision is the outcome of one Allow call, with what the RateLimit headers report.
type Decision struct {
	Allowed bool
	// Limit is the burst size: how many requests a client with a full bucket may make at once.
	Limit int
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// Reset is how long until the bucket is full again.
	Reset time.Duration
	// RetryAfter is how long until the next request is allowed; 0 when Allowed.
	RetryAfter time.Duration
}

// Limiter decides whether a client's request is allowed under a limit.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Decision, error)
}

// shards spreads clients over independently locked maps, so that no lock is shared by all
// requests.
const shards = 64

// Memory decides how many clients the limiter remembers at most.
type Memory struct {
	// MaxClients caps the clients remembered; 0 means DefaultMaxClients.
	MaxClients int
}

// DefaultMaxClients bounds memory at a few tens of megabytes.
const DefaultMaxClients = 200_000

// Local is the in-process GCRA limiter. A client's whole state is its theoretical arrival time
// (TAT): the time at which its bucket would be full again. A client whose TAT has passed has a
// full bucket and needs no entry, so expired entries are dropped when a shard fills up; if a
// shard is still full of live clients, arbitrary ones are forgotten, which can only give those
// clients a fresh bucket (it never refuses anyone wrongly).
type Local struct {
	now      func() time.Time
	seed     maphash.Seed
	perShard int
	shards   [shards]shard
}

type shard struct {
	mu  sync.Mutex
	tat map[string]int64 // unix nanoseconds
}

var _ Limiter = (*Local)(nil)

// NewLocal returns an in-process limiter reading time from now.
func NewLocal(now func() time.Time, mem Memory) *Local {
	if mem.MaxClients <= 0 {
		mem.MaxClients = DefaultMaxClients
	}
	l := &Local{now: now, seed: maphash.MakeSeed(), perShard: max(1, mem.MaxClients/shards)}
	for i := range l.shards {
		l.shards[i].tat = make(map[string]int64)
	}
	return l
}

// Allow spends one request of key's bucket under limit l. A limit of 0 per minute allows
// everything.
func (l *Local) Allow(_ context.Context, key string, lim Limit) (Decision, error) {
	if lim.PerMinute <= 0 {
		return Decision{Allowed: true, Limit: math.MaxInt32, Remaining: math.MaxInt32}, nil
	}
	if lim.Burst <= 0 {
		lim.Burst = lim.PerMinute
	}
	interval := int64(time.Minute) / int64(lim.PerMinute) // emission interval T
	capacity := interval * int64(lim.Burst)               // burst tolerance: a full bucket
	now := l.now().UnixNano()

	s := &l.shards[maphash.String(l.seed, key)%shards]
	s.mu.Lock()
	tat, ok := s.tat[key]
	if !ok || tat < now {
		tat = now
	}
	newTAT := tat + interval
	if newTAT-now > capacity {
		s.mu.Unlock()
		// Denied: the request would overfill the bucket. It may go once the TAT has moved
		// back by one interval.
		retry := time.Duration(newTAT - now - capacity)
		return Decision{Limit: lim.Burst, Remaining: 0, Reset: time.Duration(tat - now), RetryAfter: retry}, nil
	}
	if !ok && len(s.tat) >= l.perShard {
		l.evict(s, now)
	}
	s.tat[key] = newTAT
	s.mu.Unlock()
	used := newTAT - now
	return Decision{
		Allowed:   true,
		Limit:     lim.Burst,
		Remaining: int((capacity - used) / interval),
		Reset:     time.Duration(used),
	}, nil
}

// evict makes room in a full shard: first the clients whose bucket is full again, then, if
// that freed less than a quarter, arbitrary ones.
func (l *Local) evict(s *shard, now int64) {
	for k, tat := range s.tat {
		if tat <= now {
			delete(s.tat, k)
		}
	}
	for k := range s.tat {
		if len(s.tat) < l.perShard*3/4 {
			break
		}
		delete(s.tat, k)
	}
}

// Len returns how many clients are remembered.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}

// Seconds rounds d up to whole seconds, as the Retry-After and RateLimit-Reset headers count.
func Seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
