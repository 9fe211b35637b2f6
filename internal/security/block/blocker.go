package block

import (
	"context"
	"hash/maphash"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/fraudguard/fraudguard/wire"
)

// Options configure automatic IP blocking.
type Options struct {
	// Threshold strikes within Window block an address for Duration.
	Threshold int
	Window    time.Duration
	Duration  time.Duration
	// Allow lists addresses never blocked; Deny lists addresses always refused.
	Allow []netip.Prefix
	Deny  []netip.Prefix
	// MaxAddrs caps the addresses remembered (0: 100,000).
	MaxAddrs int
	// Shared, when set, keeps strikes and blocks where every instance sees them (Redis), so
	// that an address blocked by one instance is refused by all. Calls to it go through Gate
	// (a circuit breaker); when it cannot answer, the Blocker counts and blocks in this
	// process instead, and calls OnFallback.
	Shared     Shared
	Gate       Gate
	OnFallback func(err error)
}

// Shared keeps strikes and blocks outside the process, shared by every instance.
type Shared interface {
	// Strike counts a strike against addr and blocks it for duration once threshold strikes
	// fall within window. It reports whether this strike blocked the address.
	Strike(ctx context.Context, addr, reason string, threshold int, window, duration time.Duration) (bool, error)
	// Blocked returns how long addr stays blocked; 0 when it is not.
	Blocked(ctx context.Context, addr string) (time.Duration, error)
	// Unblock lifts addr's block and forgets its strikes, and reports whether it was blocked.
	Unblock(ctx context.Context, addr string) (bool, error)
	// List returns the addresses blocked now.
	List(ctx context.Context) ([]Blocked, error)
}

// Gate runs a call to a shared dependency, or refuses it while the dependency is down.
type Gate interface {
	Do(fn func() error) error
}

// shared runs fn on the shared state through the gate, and reports whether it answered; when
// it did not, the caller uses the process's own state.
func (b *Blocker) shared(fn func(Shared) error) bool {
	if b.opts.Shared == nil {
		return false
	}
	do := func() error { return fn(b.opts.Shared) }
	var err error
	if b.opts.Gate != nil {
		err = b.opts.Gate.Do(do)
	} else {
		err = do()
	}
	if err != nil {
		if b.opts.OnFallback != nil {
			b.opts.OnFallback(err)
		}
		return false
	}
	return true
}

// Blocker counts strikes per client address (the server strikes refused attacks and failed
// authentication, not rate-limit hits) and blocks an address that collects Threshold of them
// within Window. Its state is sharded, so no lock is shared by all requests, and bounded: when
// a shard is full, addresses that are neither blocked nor recently struck are forgotten first.
type Blocker struct {
	now      func() time.Time
	opts     Options
	seed     maphash.Seed
	perShard int
	shards   [64]blockShard
}

type blockShard struct {
	mu    sync.Mutex
	addrs map[netip.Addr]*addrState
}

type addrState struct {
	strikes      []int64 // ring of the last Threshold strike times (unix ns)
	next         int
	count        int
	blockedUntil int64
	reason       string
}

// Blocked describes a blocked address; it is the wire type GET /security/blocked lists.
type Blocked = wire.Blocked

// New returns a Blocker reading time from now.
func New(now func() time.Time, opts Options) *Blocker {
	if opts.MaxAddrs <= 0 {
		opts.MaxAddrs = 100_000
	}
	if opts.Threshold <= 0 {
		opts.Threshold = 10
	}
	b := &Blocker{now: now, opts: opts, seed: maphash.MakeSeed()}
	b.perShard = max(1, opts.MaxAddrs/len(b.shards))
	for i := range b.shards {
		b.shards[i].addrs = make(map[netip.Addr]*addrState)
	}
	return b
}

func (b *Blocker) shard(a netip.Addr) *blockShard {
	raw := a.As16()
	return &b.shards[maphash.Bytes(b.seed, raw[:])%uint64(len(b.shards))]
}

// Check reports whether a is refused now, and for how long (0 for a static deny-list entry,
// which has no end).
func (b *Blocker) Check(ctx context.Context, a netip.Addr) (blocked bool, retryAfter time.Duration) {
	if contains(b.opts.Allow, a) {
		return false, 0
	}
	if contains(b.opts.Deny, a) {
		return true, 0
	}
	var left time.Duration
	if b.shared(func(sh Shared) (err error) { left, err = sh.Blocked(ctx, a.String()); return err }) && left > 0 {
		return true, left
	}
	// The process's own state also holds blocks made while the shared state was down.
	s := b.shard(a)
	s.mu.Lock()
	st, ok := s.addrs[a]
	var until int64
	if ok {
		until = st.blockedUntil
	}
	s.mu.Unlock()
	now := b.now().UnixNano()
	if until > now {
		return true, time.Duration(until - now)
	}
	return false, 0
}

// Strike counts one strike against a for reason. It reports whether this strike blocked the
// address (true once per block, so the caller can audit it).
func (b *Blocker) Strike(ctx context.Context, a netip.Addr, reason string) bool {
	if !a.IsValid() || contains(b.opts.Allow, a) || b.opts.Duration <= 0 {
		return false
	}
	var blocked bool
	if b.shared(func(sh Shared) (err error) {
		blocked, err = sh.Strike(ctx, a.String(), reason, b.opts.Threshold, b.opts.Window, b.opts.Duration)
		return err
	}) {
		return blocked
	}
	now := b.now().UnixNano()
	s := b.shard(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.addrs[a]
	if !ok {
		if len(s.addrs) >= b.perShard {
			b.evict(s, now)
		}
		st = &addrState{strikes: make([]int64, b.opts.Threshold)}
		s.addrs[a] = st
	}
	if st.blockedUntil > now {
		return false // already blocked
	}
	st.strikes[st.next] = now
	st.next = (st.next + 1) % len(st.strikes)
	st.count++
	// The oldest of the last Threshold strikes is the one next will overwrite.
	if st.count >= b.opts.Threshold && now-st.strikes[st.next] <= int64(b.opts.Window) {
		st.blockedUntil = now + int64(b.opts.Duration)
		st.reason = reason
		clear(st.strikes)
		st.count = 0
		return true
	}
	return false
}

func (b *Blocker) evict(s *blockShard, now int64) {
	for a, st := range s.addrs {
		last := st.strikes[(st.next+len(st.strikes)-1)%len(st.strikes)]
		if st.blockedUntil <= now && now-last > int64(b.opts.Window) {
			delete(s.addrs, a)
		}
	}
	for a, st := range s.addrs {
		if len(s.addrs) < b.perShard*3/4 {
			return
		}
		if st.blockedUntil <= now {
			delete(s.addrs, a)
		}
	}
}

// Unblock lifts a's block and forgets its strikes. It reports whether a was blocked.
func (b *Blocker) Unblock(ctx context.Context, a netip.Addr) bool {
	var was bool
	b.shared(func(sh Shared) (err error) { was, err = sh.Unblock(ctx, a.String()); return err })
	s := b.shard(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.addrs[a]
	if !ok {
		return was
	}
	was = was || st.blockedUntil > b.now().UnixNano()
	delete(s.addrs, a)
	return was
}

// List returns the addresses blocked now, soonest-released last: the shared ones and this
// process's own.
func (b *Blocker) List(ctx context.Context) []Blocked {
	now := b.now()
	var out []Blocked
	b.shared(func(sh Shared) (err error) { out, err = sh.List(ctx); return err })
	seen := make(map[string]bool, len(out))
	for i := range out {
		out[i].StrikesTotal = b.opts.Threshold
		seen[out[i].IP] = true
	}
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		for a, st := range s.addrs {
			if st.blockedUntil > now.UnixNano() && !seen[a.String()] {
				until := time.Unix(0, st.blockedUntil).UTC()
				out = append(out, Blocked{IP: a.String(), Until: until, Reason: st.reason,
					RetryAfterS: int((until.Sub(now) + time.Second - 1) / time.Second), StrikesTotal: b.opts.Threshold})
			}
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(x, y Blocked) int { return y.Until.Compare(x.Until) })
	return out
}

func contains(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
