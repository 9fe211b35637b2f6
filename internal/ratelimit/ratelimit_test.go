package ratelimit

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/clocktest"
)

func newClock() *clocktest.Clock {
	return clocktest.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
}

func mustAllow(t testing.TB, l Limiter, key string, lim Limit) Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), key, lim)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBurstThenRate(t *testing.T) {
	clock := newClock()
	l := NewLocal(clock.Now, Memory{})
	lim := Limit{PerMinute: 60, Burst: 10}
	for i := range 10 {
		d := mustAllow(t, l, "a", lim)
		if !d.Allowed || d.Remaining != 9-i || d.Limit != 10 {
			t.Fatalf("request %d: got %+v, want allowed with %d remaining", i, d, 9-i)
		}
	}
	d := mustAllow(t, l, "a", lim)
	if d.Allowed || d.RetryAfter != time.Second || d.Remaining != 0 {
		t.Fatalf("11th: got %+v, want denied, retry after 1s", d)
	}
	// Another client is not affected.
	if d := mustAllow(t, l, "b", lim); !d.Allowed {
		t.Fatalf("other client denied: %+v", d)
	}
	clock.Advance(999 * time.Millisecond)
	if d := mustAllow(t, l, "a", lim); d.Allowed {
		t.Fatalf("after 999ms: got allowed, want denied")
	}
	clock.Advance(time.Millisecond)
	if d := mustAllow(t, l, "a", lim); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after 1s: got %+v, want one allowed", d)
	}
	// Over a long stretch exactly the rate gets through.
	allowed := 0
	for range 6000 {
		clock.Advance(100 * time.Millisecond) // 600 s in all
		if mustAllow(t, l, "a", lim).Allowed {
			allowed++
		}
	}
	if allowed != 600 {
		t.Errorf("got %d allowed in 600 s at 60/min, want 600", allowed)
	}
	// A full minute of rest refills the bucket: Reset says when.
	clock.Advance(time.Minute)
	d = mustAllow(t, l, "a", lim)
	if !d.Allowed || d.Remaining != 9 || d.Reset != time.Second {
		t.Errorf("after rest: got %+v, want 9 remaining, reset 1s", d)
	}
}

func TestDefaultBurstAndOff(t *testing.T) {
	clock := newClock()
	l := NewLocal(clock.Now, Memory{})
	n := 0
	for mustAllow(t, l, "k", Limit{PerMinute: 100}).Allowed {
		n++
	}
	if n != 100 {
		t.Errorf("got a burst of %d, want 100 (the per-minute figure)", n)
	}
	for range 1000 {
		if !mustAllow(t, l, "k", Limit{}).Allowed {
			t.Fatal("limit 0 denied a request")
		}
	}
}

func TestMemoryBounded(t *testing.T) {
	clock := newClock()
	l := NewLocal(clock.Now, Memory{MaxClients: 64 * 1000})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	lim := Limit{PerMinute: 10}
	for i := range 1_000_000 {
		mustAllow(t, l, fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), lim)
	}
	if n := l.Len(); n > 64*1000 {
		t.Errorf("got %d clients remembered, want at most 64000", n)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 32<<20 {
		t.Errorf("heap grew by %d MB for a million clients, want under 32 MB", grown>>20)
	}
}

// TestFullBucketsForgottenFirst checks the README's "beyond that, clients whose bucket is full
// again are forgotten first": a client that has spent its budget is still refused after
// thousands of other clients passed through a table with room for 256, because each of them had
// a full bucket again by the time the next one came, and those are forgotten before it is.
func TestFullBucketsForgottenFirst(t *testing.T) {
	clock := newClock()
	const maxClients = 4 * shards
	l := NewLocal(clock.Now, Memory{MaxClients: maxClients})
	slow := Limit{PerMinute: 1, Burst: 1}
	if d := mustAllow(t, l, "spent", slow); !d.Allowed {
		t.Fatalf("first request: got %+v, want allowed", d)
	}
	if d := mustAllow(t, l, "spent", slow); d.Allowed {
		t.Fatalf("second request within the minute: got %+v, want refused", d)
	}
	// Each passer-by's bucket (one request per millisecond) is full again a millisecond later.
	fast := Limit{PerMinute: 60_000, Burst: 1}
	const passersBy = 10_000 // about 156 per shard, each shard filling and evicting again and again
	for i := range passersBy {
		if d := mustAllow(t, l, fmt.Sprintf("passer-by-%d", i), fast); !d.Allowed {
			t.Fatalf("passer-by %d: got %+v, want allowed", i, d)
		}
		clock.Advance(time.Millisecond)
	}
	if n := l.Len(); n > maxClients {
		t.Errorf("got %d clients remembered, want at most %d", n, maxClients)
	}
	// 10 s have passed of the minute "spent" must wait: forgetting it would give it a fresh bucket.
	if d := mustAllow(t, l, "spent", slow); d.Allowed {
		t.Errorf("after %d passers-by in 10 s: got %+v, want still refused (forgotten before clients whose bucket was full)", passersBy, d)
	}
}

func TestConcurrentExactness(t *testing.T) {
	clock := newClock()
	l := NewLocal(clock.Now, Memory{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if mustAllow(t, l, "shared", Limit{PerMinute: 50}).Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 50 {
		t.Errorf("got %d allowed from 800 concurrent requests, want 50", allowed)
	}
}

func TestSeconds(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 0}, {-time.Second, 0}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}} {
		if got := Seconds(tc.d); got != tc.want {
			t.Errorf("Seconds(%v): got %d, want %d", tc.d, got, tc.want)
		}
	}
}

func BenchmarkAllow(b *testing.B) {
	l := NewLocal(time.Now, Memory{})
	lim := Limit{PerMinute: 1 << 30}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Allow(context.Background(), "203.0.113.7", lim)
		}
	})
}
