package decision

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// spin keeps the processor busy for d, as a transaction's SQLite work does.
func spin(d time.Duration) {
	for t0 := time.Now(); time.Since(t0) < d; {
	}
}

// busyRequests starts goroutines that, like requests on a saturated server, always have work
// waiting for a processor, until the returned function is called.
func busyRequests(t *testing.T) (stop func()) {
	t.Helper()
	var done atomic.Bool
	var wg sync.WaitGroup
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for !done.Load() {
				spin(50 * time.Microsecond)
				runtime.Gosched()
			}
		})
	}
	var once sync.Once
	stop = func() { once.Do(func() { done.Store(true); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// slowStore is a store whose every transaction works (spins) for work, in four statements
// between which it yields, as the SQLite store does.
func slowStore(work time.Duration, stored *atomic.Int64) *fakeStore {
	return &fakeStore{record: func(_ context.Context, ds []fraud.Decision) error {
		for range 4 {
			spin(work / 4)
			runtime.Gosched()
		}
		stored.Add(int64(len(ds)))
		return nil
	}}
}

// TestWriterGivesWayToBusyRequests checks that the writer rests after its transactions while
// other goroutines wait for a processor: it rests after nearly every transaction and its share
// of the time stays near a third (RestFactor 2); with a negative RestFactor it never does.
// (That it does not rest on an idle machine is TestGiveWayOnlyWhenKeptWaiting's: here the
// machine running the test may be busy with other work.)
func TestWriterGivesWayToBusyRequests(t *testing.T) {
	const (
		work         = 2 * time.Millisecond
		transactions = 24
		batch        = 10
	)
	// write records transactions batches and returns the rests and the writer's share of the
	// time it took to store them.
	write := func(t *testing.T, rest float64) (rests int64, share float64) {
		var stored atomic.Int64
		l := New(slowStore(work, &stored), discard(), Options{BatchSize: batch, FlushInterval: time.Hour, RestFactor: rest})
		run(t, l)
		start := time.Now()
		for range transactions * batch {
			l.Record(dec("x", 0.1), nil)
		}
		waitFor(t, func() bool { return stored.Load() == transactions*batch })
		return l.Rests(), float64(transactions*work) / float64(time.Since(start))
	}

	t.Run("busy", func(t *testing.T) {
		stop := busyRequests(t)
		rests, share := write(t, 2)
		stop()
		if rests < transactions*3/4 {
			t.Errorf("rested after %d of %d transactions with requests waiting, want nearly all", rests, transactions)
		}
		if share > 0.45 {
			t.Errorf("the writer worked %.0f%% of the time with requests waiting, want about a third at most", 100*share)
		}
	})
	t.Run("never", func(t *testing.T) {
		busyRequests(t)
		if rests, _ := write(t, -1); rests != 0 {
			t.Errorf("rested %d times with RestFactor -1, want never", rests)
		}
	})
}

// TestRestEndsAtClose checks that stopping the writer ends a rest at once and that the drain
// stores what is queued without resting, however long the rests would be.
func TestRestEndsAtClose(t *testing.T) {
	busyRequests(t)
	var stored atomic.Int64
	l := New(slowStore(time.Millisecond, &stored), discard(), Options{BatchSize: 10, FlushInterval: time.Hour, RestFactor: 100_000})
	stop := run(t, l)
	for range 200 {
		l.Record(dec("x", 0.1), nil)
	}
	waitFor(t, func() bool { return l.Rests() > 0 }) // resting: 100 s at a time, or the hour's bound
	start := time.Now()
	stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stopping took %v while the writer rested, want the rest to end at once", d)
	}
	if stored.Load() != 200 {
		t.Errorf("stored %d of 200 queued decisions at close, want all", stored.Load())
	}
}

// TestGiveWayOnlyWhenKeptWaiting checks the rule on measured times: no rest while the writer had
// its core for nine tenths of a transaction or more; otherwise RestFactor × its CPU time, at
// most FlushInterval; none at all with a negative RestFactor or once closing.
func TestGiveWayOnlyWhenKeptWaiting(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		factor    float64
		wall, cpu time.Duration
		closed    bool
		want      time.Duration // 0: no rest
	}{
		{"had its core", 2, 10 * ms, 10 * ms, false, 0},
		{"nine tenths", 2, 10 * ms, 9 * ms, false, 0},
		{"kept waiting", 2, 10 * ms, 4 * ms, false, 8 * ms},
		{"bounded", 2, 300 * ms, 100 * ms, false, 50 * ms},
		{"never", -1, 10 * ms, 1 * ms, false, 0},
		{"closing", 2, 10 * ms, 1 * ms, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New((&memStore{}).store(), discard(), Options{FlushInterval: 50 * ms, RestFactor: tc.factor})
			l.closed.Store(tc.closed)
			start := time.Now()
			l.giveWay(tc.wall, tc.cpu, true)
			got := time.Since(start)
			rested := l.Rests() == 1
			switch {
			case tc.want == 0 && (rested || got > 5*ms):
				t.Errorf("rested %v (counted: %v), want no rest", got, rested)
			case tc.want > 0 && (!rested || got < tc.want || got > tc.want+time.Second):
				t.Errorf("rested %v (counted: %v), want %v", got, rested, tc.want)
			}
		})
	}
}
