package telemetry

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// maxRelErr is the documented bound of the window's bucket resolution.
const maxRelErr = 1.0 / 32

func TestLatencyBucketResolution(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	values := []uint64{0, 1, 15, 16, 31, 32, 33, 63, 64, 1000, 6000, 1 << 20, maxLatencyNS - 1, maxLatencyNS}
	for range 100000 {
		// Log-uniform over the whole range.
		values = append(values, uint64(math.Exp(rng.Float64()*math.Log(float64(maxLatencyNS)))))
	}
	for _, v := range values {
		i := latencyBucket(v)
		if i < 0 || i >= latencyBuckets {
			t.Fatalf("latencyBucket(%d) = %d, want in [0, %d)", v, i, latencyBuckets)
		}
		got := latencyBucketValue(i)
		if v < 2*subBuckets {
			if got != float64(v) {
				t.Errorf("value of bucket of %d: got %v, want it exact", v, got)
			}
			continue
		}
		if rel := math.Abs(got-float64(v)) / float64(v); rel > maxRelErr {
			t.Errorf("value of bucket of %d: got %v, relative error %.4f, want ≤ %.4f", v, got, rel, maxRelErr)
		}
	}
	if got := latencyBucket(math.MaxUint64); got != latencyBuckets-1 {
		t.Errorf("latencyBucket(MaxUint64): got %d, want the last bucket %d", got, latencyBuckets-1)
	}
	// Buckets are ordered and contiguous: each bucket's value maps back to it.
	for i := range latencyBuckets {
		v := latencyBucketValue(i)
		if got := latencyBucket(uint64(v)); got != i {
			t.Errorf("latencyBucket(value of bucket %d = %v): got %d, want %d", i, v, got, i)
		}
		if i > 0 && v <= latencyBucketValue(i-1) {
			t.Errorf("bucket %d value %v not above bucket %d value %v", i, v, i-1, latencyBucketValue(i-1))
		}
	}
}

// nearestRank is the exact nearest-rank q-quantile of sorted.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	r := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(r, 1), len(sorted))-1]
}

func TestWindowPercentiles(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	gen := func(n int, f func(i int) time.Duration) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name string
		ds   []time.Duration
	}{
		{"constant 6µs", gen(1000, func(int) time.Duration { return 6 * time.Microsecond })},
		{"uniform 1µs..1ms", gen(100000, func(i int) time.Duration { return time.Duration(1000 + i*10) })},
		{"exponential mean 8µs", gen(50000, func(int) time.Duration {
			return time.Duration(rng.ExpFloat64() * 8000)
		})},
		{"log-normal around 50µs", gen(50000, func(int) time.Duration {
			return time.Duration(math.Exp(math.Log(50000) + rng.NormFloat64()))
		})},
		{"bimodal: 98% at 5µs, 2% at 40ms", gen(10000, func(i int) time.Duration {
			if i%50 == 0 {
				return 40 * time.Millisecond
			}
			return 5 * time.Microsecond
		})},
		{"one request", []time.Duration{1234567}},
		{"sub-microsecond", gen(100, func(i int) time.Duration { return time.Duration(i) })},
	}
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newLatencyWindow(60)
			var sum time.Duration
			for i, d := range tc.ds {
				// Spread over the last ten seconds, so that merging slots is tested too.
				w.record(now.Add(-time.Duration(i%10)*time.Second), d)
				sum += d
			}
			st := w.stats(now)
			if st.count != uint64(len(tc.ds)) {
				t.Fatalf("count: got %d, want %d", st.count, len(tc.ds))
			}
			if want := sum / time.Duration(len(tc.ds)); st.mean != want {
				t.Errorf("mean: got %v, want %v (exact)", st.mean, want)
			}
			sorted := slices.Clone(tc.ds)
			slices.Sort(sorted)
			for _, p := range []struct {
				q   float64
				got time.Duration
			}{{0.50, st.p50}, {0.95, st.p95}, {0.99, st.p99}} {
				want := nearestRank(sorted, p.q)
				// One nanosecond of slack for rounding the bucket midpoint.
				if diff := math.Abs(float64(p.got - want)); diff > maxRelErr*float64(want)+1 {
					t.Errorf("p%v: got %v, want %v within %.1f%%", p.q*100, p.got, want, maxRelErr*100)
				}
			}
		})
	}
}

func TestWindowSlides(t *testing.T) {
	t.Parallel()
	const seconds = 5
	t0 := time.Unix(1_700_000_000, 0)
	w := newLatencyWindow(seconds)
	// Second i gets i+1 requests of (i+1) ms.
	for i := range 10 {
		at := t0.Add(time.Duration(i)*time.Second + 500*time.Millisecond)
		for range i + 1 {
			w.record(at, time.Duration(i+1)*time.Millisecond)
		}
	}
	tests := []struct {
		name      string
		now       time.Time
		wantCount uint64
		wantMax   time.Duration // the p99, the slowest request in the window
		wantMin   time.Duration // the slowest request that dropped out, +1 ms
	}{
		// At second 9 the window is seconds 5..9: 6+7+8+9+10 requests.
		{"at the last second", t0.Add(9 * time.Second), 40, 10 * time.Millisecond, 6 * time.Millisecond},
		{"late in the last second", t0.Add(9*time.Second + 999*time.Millisecond), 40, 10 * time.Millisecond, 6 * time.Millisecond},
		// One second on, second 5 drops out.
		{"one second later", t0.Add(10 * time.Second), 34, 10 * time.Millisecond, 7 * time.Millisecond},
		{"four seconds later", t0.Add(13 * time.Second), 10, 10 * time.Millisecond, 10 * time.Millisecond},
		{"a window later", t0.Add(14 * time.Second), 0, 0, 0},
		// Looking back: only seconds still held count; eight slots hold seconds 2..9.
		{"in the past", t0.Add(6 * time.Second), 3 + 4 + 5 + 6 + 7, 7 * time.Millisecond, 3 * time.Millisecond},
	}
	for _, tc := range tests {
		st := w.stats(tc.now)
		if st.count != tc.wantCount {
			t.Errorf("%s: count: got %d, want %d", tc.name, st.count, tc.wantCount)
		}
		if tc.wantCount == 0 {
			if st.p99 != 0 || st.mean != 0 {
				t.Errorf("%s: empty window: got p99 %v mean %v, want 0", tc.name, st.p99, st.mean)
			}
			continue
		}
		if d := math.Abs(float64(st.p99 - tc.wantMax)); d > maxRelErr*float64(tc.wantMax) {
			t.Errorf("%s: p99: got %v, want %v", tc.name, st.p99, tc.wantMax)
		}
		// Nothing faster than the oldest second still in the window may show up in the median's
		// lower neighbourhood: the p50 sits at or above the fastest second kept.
		if st.p50 < tc.wantMin-time.Duration(maxRelErr*float64(tc.wantMin)) {
			t.Errorf("%s: p50: got %v, want ≥ %v (older seconds should have dropped out)", tc.name, st.p50, tc.wantMin)
		}
	}

	// Reusing a slot clears what it held a window ago.
	w.record(t0.Add(15*time.Second), 42*time.Millisecond)
	st := w.stats(t0.Add(15 * time.Second))
	if st.count != 1 || st.mean != 42*time.Millisecond {
		t.Errorf("after reuse: got count %d mean %v, want 1 request of 42ms", st.count, st.mean)
	}
	// A request older than the slot's current second is dropped, not mixed into it.
	w.record(t0.Add(15*time.Second-time.Duration(len(w.slots))*time.Second), time.Second)
	st = w.stats(t0.Add(15 * time.Second))
	if st.count != 1 || st.mean != 42*time.Millisecond {
		t.Errorf("after a stale request: got count %d mean %v, want 1 request of 42ms", st.count, st.mean)
	}
}

func TestWindowNegativeAndHugeDurations(t *testing.T) {
	t.Parallel()
	w := newLatencyWindow(1)
	now := time.Unix(100, 0)
	w.record(now, -time.Second)
	w.record(now, 1000*time.Hour)
	st := w.stats(now)
	if st.count != 2 {
		t.Fatalf("count: got %d, want 2", st.count)
	}
	if st.p50 != 0 {
		t.Errorf("p50: got %v, want 0 for a negative duration", st.p50)
	}
	if capped := time.Duration(maxLatencyNS); st.p99 < capped-capped/16 {
		t.Errorf("p99: got %v, want about the cap %v", st.p99, capped)
	}
}

func TestWindowConcurrent(t *testing.T) {
	t.Parallel()
	const (
		writers = 8
		each    = 5000
	)
	w := newLatencyWindow(10)
	base := int64(1_700_000_000)

	// Phase 1: writers, readers and rotations race; the race detector judges.
	var sec syncInt64
	sec.set(base)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				w.record(time.Unix(sec.get(), 0), time.Duration(1000+g*100+i))
			}
		})
	}
	readers := sync.WaitGroup{}
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				st := w.stats(time.Unix(sec.get(), 0))
				if st.count > writers*each {
					t.Errorf("count: got %d, more than the %d recorded", st.count, writers*each)
					return
				}
			}
		}
	})
	readers.Go(func() {
		for i := int64(1); ; i++ {
			select {
			case <-stop:
				return
			default:
				sec.set(base + i%30)
				time.Sleep(50 * time.Microsecond)
			}
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()

	// Phase 2: one second, no rotation during the run: every request is counted.
	now := time.Unix(base+1000, 0)
	for range writers {
		wg.Go(func() {
			for range each {
				w.record(now, 5*time.Microsecond)
			}
		})
	}
	wg.Wait()
	if st := w.stats(now); st.count != writers*each || st.mean != 5*time.Microsecond {
		t.Errorf("got count %d mean %v, want %d requests of 5µs", st.count, st.mean, writers*each)
	}
}

// syncInt64 is a test clock that goroutines share.
type syncInt64 struct {
	mu sync.Mutex
	v  int64
}

func (s *syncInt64) get() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v
}

func (s *syncInt64) set(v int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.v = v
}
