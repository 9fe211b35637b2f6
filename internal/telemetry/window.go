package telemetry

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// The sliding window keeps one slot per second of log-linear latency buckets, in the manner of
// HDR histograms: values under 16 ns are kept exactly, and every power of two above that is cut
// into 16 equal sub-buckets. A bucket [lo, lo+w) therefore has w ≤ lo/16, and reporting its
// midpoint is off by at most w/2 ≤ lo/32: a relative error under 3.2% (1/32) for any latency up
// to the cap. The index is a bit length and a shift, with no logarithm, so recording stays cheap.
const (
	subBucketBits = 4
	subBuckets    = 1 << subBucketBits // sub-buckets per power of two
	// maxLatencyExp caps recorded latencies at 2^(maxLatencyExp+subBucketBits+1)-1 ns, about
	// 137 s; anything slower is counted there.
	maxLatencyExp  = 32
	maxLatencyNS   = uint64(1)<<(maxLatencyExp+subBucketBits+1) - 1
	latencyBuckets = (maxLatencyExp+1)*subBuckets + subBuckets // 544

	// slotEmpty marks a slot that holds no second yet, or one that is being cleared.
	slotEmpty = math.MinInt64
)

// latencyBucket is the index of the bucket holding ns nanoseconds.
func latencyBucket(ns uint64) int {
	if ns < subBuckets {
		return int(ns)
	}
	if ns > maxLatencyNS {
		ns = maxLatencyNS
	}
	e := bits.Len64(ns) - (subBucketBits + 1) // ns>>e is in [16, 32)
	return e*subBuckets + int(ns>>e)
}

// latencyBucketValue is the value that stands for bucket i: the midpoint of the integers it
// holds, exact for the buckets one nanosecond wide.
func latencyBucketValue(i int) float64 {
	if i < 2*subBuckets {
		return float64(i)
	}
	e := i/subBuckets - 1
	lo := uint64(i%subBuckets+subBuckets) << e
	return float64(lo) + float64(uint64(1)<<e-1)/2
}

// windowSlot counts the requests of one wall-clock second.
type windowSlot struct {
	sec     atomic.Int64 // the Unix second counted here, or slotEmpty
	sumNS   atomic.Uint64
	buckets [latencyBuckets]atomic.Uint32
}

// latencyWindow is a sliding window of request latencies, one slot per second. Recording is
// lock-free: a few atomic adds on the current second's slot. Only the first request of each
// second takes the mutex, to clear the slot that held the same position a window ago.
type latencyWindow struct {
	seconds int64 // window length
	slots   []windowSlot
	mask    int64      // len(slots)-1
	mu      sync.Mutex // serialises slot rotation
}

// newLatencyWindow returns a window of the given number of seconds (at least 1).
func newLatencyWindow(seconds int) *latencyWindow {
	seconds = max(seconds, 1)
	// At least one slot more than the window, so that the slot being cleared for the new second
	// is never one that a summary of the last `seconds` seconds reads; a power of two, so that
	// finding a second's slot is a mask rather than a division.
	n := 1 << bits.Len(uint(seconds))
	w := &latencyWindow{seconds: int64(seconds), slots: make([]windowSlot, n), mask: int64(n - 1)}
	for i := range w.slots {
		w.slots[i].sec.Store(slotEmpty)
	}
	return w
}

func (w *latencyWindow) slot(sec int64) *windowSlot {
	return &w.slots[sec&w.mask] // two's complement: negative seconds map in range too
}

// record counts one request of duration d finished at now.
func (w *latencyWindow) record(now time.Time, d time.Duration) {
	sec := now.Unix()
	s := w.slot(sec)
	if s.sec.Load() != sec && !w.rotate(s, sec) {
		return
	}
	// A recorder that read the slot's second just before a rotation lands in the new second:
	// one request misplaced by a window's length at worst, which the figures cannot show.
	ns := uint64(max(d, 0))
	s.buckets[latencyBucket(ns)].Add(1)
	s.sumNS.Add(ns)
}

// rotate makes s count second sec, clearing what it held. It reports false when s already
// counts a later second: the request is older than the window and is dropped.
func (w *latencyWindow) rotate(s *windowSlot, sec int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch cur := s.sec.Load(); {
	case cur == sec:
		return true // another request of this second rotated it first
	case cur > sec:
		return false
	}
	// Readers and recorders skip or wait on an empty slot, so none sees it half cleared.
	s.sec.Store(slotEmpty)
	for i := range s.buckets {
		s.buckets[i].Store(0)
	}
	s.sumNS.Store(0)
	s.sec.Store(sec)
	return true
}

// windowStats are the figures of the window ending at a given second.
type windowStats struct {
	count         uint64
	mean          time.Duration
	p50, p95, p99 time.Duration
}

// stats merges the slots of the seconds (now-seconds, now] and reads the figures off them.
func (w *latencyWindow) stats(now time.Time) windowStats {
	sec := now.Unix()
	oldest := sec - w.seconds + 1
	var merged [latencyBuckets]uint64
	var count, sum uint64
	for i := range w.slots {
		s := &w.slots[i]
		if at := s.sec.Load(); at < oldest || at > sec {
			continue
		}
		for b := range s.buckets {
			if n := s.buckets[b].Load(); n != 0 {
				merged[b] += uint64(n)
				count += uint64(n)
			}
		}
		sum += s.sumNS.Load()
	}
	st := windowStats{count: count}
	if count == 0 {
		return st
	}
	st.mean = time.Duration(sum / count)
	st.p50 = quantile(&merged, count, 0.50)
	st.p95 = quantile(&merged, count, 0.95)
	st.p99 = quantile(&merged, count, 0.99)
	return st
}

// quantile is the nearest-rank q-quantile of count values bucketed in b: the value of the
// bucket holding the ceil(q*count)-th smallest value.
func quantile(b *[latencyBuckets]uint64, count uint64, q float64) time.Duration {
	rank := uint64(math.Ceil(q * float64(count)))
	rank = min(max(rank, 1), count)
	var cum uint64
	for i, n := range b {
		cum += n
		if cum >= rank {
			return time.Duration(math.Round(latencyBucketValue(i)))
		}
	}
	return time.Duration(math.Round(latencyBucketValue(latencyBuckets - 1)))
}
