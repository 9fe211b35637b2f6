package process

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
)

// childEnv makes the test binary, started again by a test, a writer process: "store" stores in
// the decisions file named by its argument ("nostore" too, but newWriter makes no store for
// it), "fail" refuses every batch, "hang" never answers a batch.
const childEnv = "PROCESS_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(childMain(mode, os.Args[len(os.Args)-1]))
	}
	os.Exit(m.Run())
}

func childMain(mode, path string) int {
	ctx := context.Background()
	if _, err := Lower(); err != nil {
		fmt.Fprintln(os.Stderr, "lower:", err)
	}
	var rec fraud.DecisionRecorder
	var opened error
	switch mode {
	case "store", "nostore":
		r, err := sqlite.OpenRecorder(ctx, path, sqlite.Options{})
		if err == nil {
			defer r.Close()
			rec = r
		}
		opened = err
	case "fail":
		rec = failing{}
	case "hang":
		rec = hanging{}
	}
	behind := func(b bool) {
		if b {
			_ = Behind()
		} else {
			_, _ = Lower()
		}
	}
	if err := Serve(ctx, os.Stdin, os.Stdout, rec, opened, behind); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

type failing struct{}

func (failing) RecordDecisions(context.Context, []fraud.Decision) error {
	return errors.New("the disk is full")
}

type hanging struct{}

func (hanging) RecordDecisions(context.Context, []fraud.Decision) error {
	select {}
}

// newWriter returns a Writer of test-binary processes in mode, storing in the decisions file
// of a new store (returned, nil for the modes that do not store).
func newWriter(t *testing.T, mode string, opts Options) (*Writer, *sqlite.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fraudguard.db")
	var store *sqlite.Store
	if mode == "store" {
		s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		store = s
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w := New(func() *exec.Cmd {
		cmd := exec.Command(exe, "-test.run=^$", sqlite.DecisionsFile(path))
		cmd.Env = append(os.Environ(), childEnv+"="+mode)
		return cmd
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	t.Cleanup(func() { w.Close(context.Background()) })
	return w, store
}

func decisions(prefix string, n int) []fraud.Decision {
	ds := make([]fraud.Decision, n)
	for i := range ds {
		ds[i] = fraud.Decision{TransactionID: fmt.Sprintf("%s-%d", prefix, i), RequestID: "req", Time: time.Now().UTC(),
			ModelVersion: "v1", Probability: float64(i) / float64(n), Risk: fraud.RiskLow, Threshold: 0.5}
		ds[i].Features[0] = float64(i)
	}
	return ds
}

func mustStored(t *testing.T, store *sqlite.Store, want []fraud.Decision) {
	t.Helper()
	for _, d := range want {
		got, err := store.DecisionsOf(context.Background(), d.TransactionID)
		if err != nil || len(got) != 1 || got[0].Probability != d.Probability || got[0].Features != d.Features {
			t.Fatalf("%s: got %+v, %v; want it stored once as sent", d.TransactionID, got, err)
		}
	}
}

// exited reports whether the process pid has ended (and been reaped).
func exited(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestWriterStoresThroughAProcess(t *testing.T) {
	ctx := context.Background()
	w, store := newWriter(t, "store", Options{})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pid := w.Pid()
	if pid == 0 || pid == os.Getpid() {
		t.Fatalf("pid %d: want a process of its own", pid)
	}
	a, b := decisions("a", 1000), decisions("b", 3)
	for _, ds := range [][]fraud.Decision{a, b, nil} {
		if err := w.RecordDecisions(ctx, ds); err != nil {
			t.Fatal(err)
		}
	}
	mustStored(t, store, append(a, b...))
	if err := w.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if !exited(pid) {
		t.Errorf("process %d still runs after Close", pid)
	}
	if err := w.RecordDecisions(ctx, b); fraud.ErrorCode(err) != fraud.CodeServiceUnavailable {
		t.Errorf("after Close: got %v, want %s", err, fraud.CodeServiceUnavailable)
	}
	if err := w.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestWriterStartsAKilledProcessAgain(t *testing.T) {
	ctx := context.Background()
	const delay = 2 * time.Second // long enough for the kill to be seen on a busy machine
	w, store := newWriter(t, "store", Options{RestartDelay: delay})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first := w.Pid()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// A process that dies between batches is seen at once: no batch is sent to it.
	deadline := time.Now().Add(5 * time.Second)
	for w.Pid() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the killed process is still taken for running after 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := w.RecordDecisions(ctx, decisions("early", 5)); fraud.ErrorCode(err) != fraud.CodeServiceUnavailable || !strings.Contains(err.Error(), "started again in") {
		t.Errorf("batch within the restart delay: got %v, want %s saying when it starts again", err, fraud.CodeServiceUnavailable)
	}
	time.Sleep(delay)
	ds := decisions("after", 5)
	if err := w.RecordDecisions(ctx, ds); err != nil {
		t.Fatalf("batch after the restart delay: %v", err)
	}
	mustStored(t, store, ds)
	if second := w.Pid(); second == first || second == 0 {
		t.Errorf("pid after restart: got %d, want a new process (the first was %d)", second, first)
	}
	if n := w.Restarts(); n != 1 {
		t.Errorf("restarts: got %d, want 1", n)
	}
	if !exited(first) {
		t.Errorf("the killed process %d was not reaped", first)
	}
}

func TestStartFailsWhenTheProcessCannotOpenItsStore(t *testing.T) {
	w, _ := newWriter(t, "nostore", Options{}) // the decisions file does not exist
	err := w.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "fraudguard-decisions.db") {
		t.Fatalf("got %v, want an error naming the decisions file", err)
	}
	if w.Pid() != 0 {
		t.Errorf("a process runs after a failed start")
	}
}

func TestStoreErrorsComeBackAndTheProcessStays(t *testing.T) {
	ctx := context.Background()
	w, _ := newWriter(t, "fail", Options{})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pid := w.Pid()
	for range 2 {
		if err := w.RecordDecisions(ctx, decisions("x", 2)); err == nil || !strings.Contains(err.Error(), "the disk is full") {
			t.Fatalf("got %v, want the store's error", err)
		}
	}
	if w.Pid() != pid || w.Restarts() != 0 {
		t.Errorf("pid %d → %d, restarts %d: want the same process", pid, w.Pid(), w.Restarts())
	}
}

func TestHungProcessIsKilled(t *testing.T) {
	ctx := context.Background()
	w, _ := newWriter(t, "hang", Options{BatchTimeout: 200 * time.Millisecond, StopTimeout: 200 * time.Millisecond})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pid := w.Pid()
	err := w.RecordDecisions(ctx, decisions("x", 2))
	if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if !exited(pid) || w.Pid() != 0 {
		t.Errorf("the hung process %d was not stopped", pid)
	}
	// A deadline of the caller's own applies too.
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := w.RecordDecisions(short, decisions("y", 2)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("with the caller's deadline: got %v, want a deadline error", err)
	}
}

// classes returns the scheduling policy and nice value of every thread of process pid, as
// "policy/nice" (SCHED_OTHER is 0, SCHED_IDLE 5), each once.
func classes(t *testing.T, pid int) map[string]bool {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) < 2 {
		t.Fatalf("%d threads: want the Go runtime's several", len(tasks))
	}
	out := map[string]bool{}
	for _, task := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			t.Fatal(err)
		}
		// The fields after the command's name, which is in parentheses: state is field 3;
		// nice is field 19 and policy field 41.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		out[f[41-3]+"/"+f[19-3]] = true
	}
	return out
}

// TestProcessLeavesTheIdleClassWhileBehind: the process runs in the idle class; a batch whose
// oldest decision waited BehindAfter or more moves it to nice 19 until a batch that did not.
func TestProcessLeavesTheIdleClassWhileBehind(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the priority is only set on Linux")
	}
	ctx := context.Background()
	w, store := newWriter(t, "store", Options{BehindAfter: time.Minute})
	var logged sharedtest.Buffer
	w.logger = slog.New(slog.NewTextHandler(&logged, nil))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pid := w.Pid()
	if got := classes(t, pid); len(got) != 1 || !got["5/0"] {
		t.Fatalf("at start: got %v, want every thread SCHED_IDLE (5/0)", got)
	}
	old := decisions("old", 3)
	old[1].Time = time.Now().Add(-2 * time.Minute) // one decision waited long enough
	if err := w.RecordDecisions(ctx, old); err != nil {
		t.Fatal(err)
	}
	if got := classes(t, pid); len(got) != 1 || !got["0/19"] {
		t.Errorf("behind: got %v, want every thread SCHED_OTHER at nice 19 (0/19)", got)
	}
	if !w.Behind() {
		t.Error("behind: Behind() = false, want true")
	}
	fresh := decisions("fresh", 3)
	if err := w.RecordDecisions(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if got := classes(t, pid); len(got) != 1 || !got["5/19"] && !got["5/0"] {
		t.Errorf("caught up: got %v, want every thread SCHED_IDLE again", got)
	}
	if w.Behind() {
		t.Error("caught up: Behind() = true, want false")
	}
	mustStored(t, store, append(old, fresh...))
	// The server's log says when the process left the idle class and when it went back.
	out := logged.String()
	if !strings.Contains(out, "level=WARN msg=\"behind: out of the idle class") || !strings.Contains(out, "oldest_waited=2m") ||
		!strings.Contains(out, "level=INFO msg=\"caught up: back in the idle class\"") {
		t.Errorf("log:\n%s\nwant a warning that the process is behind, naming the oldest decision's wait, then that it caught up", out)
	}
}

func TestServeCallsBehindOnChanges(t *testing.T) {
	var in bytes.Buffer
	enc := gob.NewEncoder(&in)
	for _, b := range []bool{false, true, true, false, false, true} {
		if err := enc.Encode(batch{Decisions: decisions("x", 1), Behind: b}); err != nil {
			t.Fatal(err)
		}
	}
	var calls []bool
	var stored int
	rec := recorderFunc(func(_ context.Context, ds []fraud.Decision) error { stored += len(ds); return nil })
	if err := Serve(context.Background(), &in, io.Discard, rec, nil, func(b bool) { calls = append(calls, b) }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(calls) != "[true false true]" || stored != 6 {
		t.Errorf("calls %v, %d stored: want [true false true] and 6", calls, stored)
	}
}

type recorderFunc func(context.Context, []fraud.Decision) error

func (f recorderFunc) RecordDecisions(ctx context.Context, ds []fraud.Decision) error {
	return f(ctx, ds)
}

func TestServeRefusesAnotherStream(t *testing.T) {
	err := Serve(context.Background(), strings.NewReader("Time,V1,V2\n1,2,3\n"), io.Discard, failing{}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "not a decision stream") {
		t.Errorf("got %v, want an error saying it is not a decision stream", err)
	}
	opened := errors.New("open decisions file: no such file")
	if err := Serve(context.Background(), strings.NewReader(""), io.Discard, nil, opened, nil); err != opened {
		t.Errorf("store not opened: got %v, want %v", err, opened)
	}
}
