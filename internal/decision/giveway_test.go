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
	for range 8 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for !done.Load() {
				spin(20 * time.Microsecond)
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
// (That it does not rest with processors to spare is TestRestOnlyWhenKeptWaiting's: the machine
// running the test may be busy with other work.)
func TestWriterGivesWayToBusyRequests(t *testing.T) {
	const (
		work         = 10 * time.Millisecond // long enough to count dozens of goroutines
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
	l := New(slowStore(10*time.Millisecond, &stored), discard(), Options{BatchSize: 10, FlushInterval: time.Hour, RestFactor: 100_000})
	stop := run(t, l)
	for range 200 {
		l.Record(dec("x", 0.1), nil)
	}
	waitFor(t, func() bool { return l.Rests() > 0 }) // resting: 1,000 s at a time, or the hour's bound
	start := time.Now()
	stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stopping took %v while the writer rested, want the rest to end at once", d)
	}
	if stored.Load() != 200 {
		t.Errorf("stored %d of 200 queued decisions at close, want all", stored.Load())
	}
}

// TestRestOnlyWhenKeptWaiting checks the rule: no rest while fewer than a tenth of the
// goroutines made ready during a batch waited long for a processor (or too few were counted to
// judge) and tasks on the machine waited for a CPU less than a quarter of the batch's time;
// otherwise RestFactor × the batch's time, at most FlushInterval; none with a negative
// RestFactor.
func TestRestOnlyWhenKeptWaiting(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name        string
		factor      float64
		busy        time.Duration
		ready, late uint64
		stalled     time.Duration
		want        time.Duration
	}{
		{"nothing ran", 2, 10 * ms, 0, 0, 0, 0},
		{"none late", 2, 10 * ms, 500, 0, 0, 0},
		{"few late", 2, 10 * ms, 500, 49, 2 * ms, 0},
		{"too few to judge", 2, 10 * ms, 31, 31, 0, 0},
		{"just enough", 2, 10 * ms, 32, 4, 0, 20 * ms},
		{"a tenth late", 2, 10 * ms, 500, 50, 0, 20 * ms},
		{"all late", 3, 10 * ms, 500, 500, 0, 30 * ms},
		{"the machine busy", 2, 10 * ms, 500, 0, 2500 * time.Microsecond, 20 * ms},
		{"the machine a little busy", 2, 10 * ms, 10, 0, 2400 * time.Microsecond, 0},
		{"bounded", 2, 300 * ms, 500, 400, 0, 50 * ms},
		{"never", -1, 10 * ms, 500, 500, 10 * ms, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New((&memStore{}).store(), discard(), Options{FlushInterval: 50 * ms, RestFactor: tc.factor})
			if got := l.restFor(tc.busy, tc.ready, tc.late, tc.stalled); got != tc.want {
				t.Errorf("restFor(%v, %d ready, %d late, %v stalled) = %v, want %v", tc.busy, tc.ready, tc.late, tc.stalled, got, tc.want)
			}
		})
	}
}

// TestParseStalled reads the "some" total of a pressure file, and refuses what is not one.
func TestParseStalled(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"some avg10=0.18 avg60=17.32 avg300=39.75 total=5687000271\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", 5687000271 * time.Microsecond, true},
		{"some avg10=0.00 avg60=0.00 avg300=0.00 total=12\n", 12 * time.Microsecond, true},
		{"full avg10=0.00 total=5\n", 0, false},
		{"some avg10=0.00 avg60=0.00 avg300=0.00\n", 0, false},
		{"some total=-3\n", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseStalled([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseStalled(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestSchedCountsSeeWaiting checks the counts the rule reads: goroutines made ready while the
// processors are busy are counted, and late.
func TestSchedCountsSeeWaiting(t *testing.T) {
	l := New((&memStore{}).store(), discard(), Options{})
	ready0, late0 := l.schedCounts()
	stop := busyRequests(t)
	time.Sleep(50 * time.Millisecond)
	stop()
	ready, late := l.schedCounts()
	// The runtime times one in eight of a goroutine's waits to run.
	if ready-ready0 < 20 {
		t.Errorf("%d goroutines counted made ready while %d were busy for 50 ms, want dozens", ready-ready0, 8*runtime.GOMAXPROCS(0))
	}
	if (late-late0)*lateShare < ready-ready0 {
		t.Errorf("%d of %d made ready waited %v or more, want a tenth or more with the processors busy", late-late0, ready-ready0, waitedLong)
	}
}

// TestCgroupPressureFile finds the cgroup v2 hierarchy and the process's place in it, whose
// cpu.pressure the writer reads before the machine's.
func TestCgroupPressureFile(t *testing.T) {
	cgroups := "12:memory:/user.slice\n1:name=systemd:/user.slice/session-3.scope\n0::/user.slice/session-3.scope\n"
	if got, ok := cgroup2Path([]byte(cgroups)); !ok || got != "/user.slice/session-3.scope" {
		t.Errorf("cgroup2Path = %q, %v; want the 0:: line's path", got, ok)
	}
	if _, ok := cgroup2Path([]byte("4:memory:/a\n1:cpu:/\n")); ok {
		t.Error("cgroup2Path found a path in a cgroup v1 only file")
	}
	mounts := "25 30 0:22 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
		"40 30 0:37 /sub /mnt/elsewhere rw - cgroup2 cgroup2 rw\n" +
		"41 30 0:37 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
	if got, ok := cgroup2Mount([]byte(mounts)); !ok || got != "/sys/fs/cgroup/unified" {
		t.Errorf("cgroup2Mount = %q, %v; want the cgroup2 root's mount point", got, ok)
	}
	if _, ok := cgroup2Mount([]byte("25 30 0:22 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")); ok {
		t.Error("cgroup2Mount found a cgroup2 mount where there is none")
	}
	// What this process reads: a file whose "some" line parses, or none where Linux has no
	// pressure information.
	if f := pressureFile(); f != "" {
		if _, ok := cpuStalled(f); !ok {
			t.Errorf("pressureFile() = %q, which does not read as a pressure file", f)
		}
	}
	if _, ok := cpuStalled(""); ok {
		t.Error("cpuStalled read a pressure file with no name")
	}
}
