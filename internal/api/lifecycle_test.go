package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/security/audit"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
)

// phaseLog records what happened, in order.
type phaseLog struct {
	mu     sync.Mutex
	events []string
}

func (l *phaseLog) add(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *phaseLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// refused tells whether addr no longer accepts connections.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// mustListen listens on a free port of 127.0.0.1.
func mustListen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// untilDone is a task that waits for its context and then logs what it is.
func untilDone(log *phaseLog, name string) Task {
	return Task{Name: name, Run: func(ctx context.Context) error {
		<-ctx.Done()
		log.add(name + " stopped")
		return nil
	}}
}

func logStep(log *phaseLog, name string) Step {
	return Step{Name: name, Do: func(context.Context) error { log.add(name); return nil }}
}

// TestLifecycleStopsInPhases holds a request in flight across the shutdown and checks the
// order: stop accepting and stop the background tasks, drain, workers, writers, flushes, stores.
func TestLifecycleStopsInPhases(t *testing.T) {
	log := &phaseLog{}
	entered, release := make(chan struct{}), make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		log.add("request done")
	})}
	ln := mustListen(t)
	lc := &Lifecycle{
		Server: srv, Listener: ln, DrainTimeout: 10 * time.Second,
		Background: []Task{untilDone(log, "background")},
		Workers:    []Task{untilDone(log, "workers")},
		Writers:    []Task{untilDone(log, "writers")},
		Flush:      []Step{logStep(log, "flush")},
		Close:      []Step{logStep(log, "close store"), logStep(log, "close other")},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- lc.Run(ctx) }()

	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			answered <- -1
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-entered
	cancel()
	// Phase 1: no new connections, background tasks stopped; the request is still running
	// and nothing behind it has stopped.
	waitFor(t, "the listener to close", func() bool { return refused(ln.Addr().String()) })
	waitFor(t, "the background tasks to stop", func() bool { return slices.Contains(log.list(), "background stopped") })
	time.Sleep(50 * time.Millisecond)
	if got := log.list(); !slices.Equal(got, []string{"background stopped"}) {
		t.Fatalf("during the drain: got %q, want only the background tasks stopped", got)
	}
	close(release)
	if code := <-answered; code != 200 {
		t.Errorf("in-flight request: got %d, want 200", code)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	want := []string{"background stopped", "request done", "workers stopped", "writers stopped", "flush", "close store", "close other"}
	if got := log.list(); !slices.Equal(got, want) {
		t.Errorf("order:\n got  %q\n want %q", got, want)
	}
}

// TestLifecycleStoresAuditEventsRecordedDuringDrain runs the real API, audit writer and SQLite
// store: a model reload still running when the shutdown begins is audited as it ends, during
// the drain, and its event is in the database after Run returns.
func TestLifecycleStoresAuditEventsRecordedDuringDrain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fraudguard.db")
	store, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	auditor := audit.New(store, slog.New(slog.DiscardHandler), time.Now, 16)
	m := mustModel(t)
	entered, release := make(chan struct{}), make(chan struct{})
	slow := reloaderFunc(func(ctx context.Context) (*model.Model, error) {
		close(entered)
		<-release
		return m, nil
	})
	g := bareGuard(t)
	g.Audit, g.Off.Audit = auditor, false
	api, err := NewServer(slog.New(slog.DiscardHandler), Options{Version: "t", Reloader: slow}, staticModels{m}, fixedSystem{}, g)
	if err != nil {
		t.Fatal(err)
	}
	ln := mustListen(t)
	lc := &Lifecycle{
		Server: &http.Server{Handler: api}, Listener: ln, DrainTimeout: 10 * time.Second,
		Writers: []Task{{Name: "audit writer", Run: auditor.Run}},
		Close:   []Step{{Name: "store", Do: func(context.Context) error { return store.Close() }}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- lc.Run(ctx) }()

	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/models/reload", nil)
		req.Header.Set("X-API-Key", adminEnv)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- -1
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-entered
	cancel()
	waitFor(t, "the listener to close", func() bool { return refused(ln.Addr().String()) })
	close(release) // the reload ends, and is audited, during the drain
	if code := <-answered; code != 200 {
		t.Errorf("reload in flight: got %d, want 200", code)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if auditor.Dropped() != 0 || auditor.Failed() != 0 {
		t.Errorf("auditor lost events: %d dropped, %d failed", auditor.Dropped(), auditor.Failed())
	}

	again, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	evs, _, err := again.ListAudit(context.Background(), fraud.AuditFilter{Action: fraud.ActionModelReload})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Outcome != fraud.OutcomeSuccess || evs[0].Detail != "trigger=http version="+m.Version()+" previous="+m.Version() {
		t.Errorf("stored reload events: got %+v, want the one recorded during the drain", evs)
	}
}

// TestLifecycleDrainTimeout cuts off a request that outlives the drain and still runs the
// later phases.
func TestLifecycleDrainTimeout(t *testing.T) {
	log := &phaseLog{}
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})}
	ln := mustListen(t)
	lc := &Lifecycle{
		Server: srv, Listener: ln, DrainTimeout: 50 * time.Millisecond,
		Workers: []Task{untilDone(log, "workers")},
		Writers: []Task{untilDone(log, "writers")},
		Close:   []Step{logStep(log, "close")},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lc.Run(ctx) }()
	go func() {
		if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "drain") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run: got %v, want the drain's deadline", err)
	}
	if got, want := log.list(), []string{"workers stopped", "writers stopped", "close"}; !slices.Equal(got, want) {
		t.Errorf("after the drain ran out: got %q, want %q", got, want)
	}
}

// TestLifecycleTaskFailure begins the shutdown when a task fails, and returns its error.
func TestLifecycleTaskFailure(t *testing.T) {
	log := &phaseLog{}
	boom := errors.New("boom")
	lc := &Lifecycle{
		Server: &http.Server{Handler: http.NotFoundHandler()}, Listener: mustListen(t), DrainTimeout: time.Second,
		Background: []Task{{Name: "checks", Run: func(context.Context) error { return boom }}},
		Writers:    []Task{untilDone(log, "writers")},
		Close:      []Step{logStep(log, "close")},
	}
	err := lc.Run(context.Background())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "checks") {
		t.Errorf("Run: got %v, want the task's error under its name", err)
	}
	if got, want := log.list(), []string{"writers stopped", "close"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
