package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultFlushTimeout bounds each Flush step when Lifecycle.FlushTimeout is zero.
const DefaultFlushTimeout = 5 * time.Second

// Lifecycle runs the HTTP server and the parts behind it, and is the one place that says in
// which order they stop. Each phase ends before the next begins, so that nothing a part still
// does is lost by the part after it:
//
//  1. stop accepting connections, and stop the Background tasks (health checks, the system
//     sampler, the SIGHUP handler);
//  2. drain: in-flight requests have DrainTimeout to finish; then their connections are
//     closed;
//  3. stop the Workers (batch workers commit the chunk they are scoring; the rest of a job
//     stays queued in the store and resumes at the next start);
//  4. stop the Writers (the audit writer and the decision log's writer store what is queued,
//     events and decisions recorded during the drain included), then run the Flush steps (the trace exporter sends its last spans),
//     each within FlushTimeout;
//  5. run the Close steps (the stores), in order.
//
// They start the other way round: writers, workers, background tasks, then serving. Shutdown
// begins when Run's context ends, when serving fails, or when a task returns an error.
type Lifecycle struct {
	// Server serves on Listener, over TLS when Server.TLSConfig is set (with its certificate). Its
	// BaseContext should not end with Run's context, so that requests can drain.
	Server   *http.Server
	Listener net.Listener
	// DrainTimeout is how long in-flight requests have to finish (SHUTDOWN_TIMEOUT).
	DrainTimeout time.Duration
	// FlushTimeout bounds each Flush step; zero means DefaultFlushTimeout.
	FlushTimeout time.Duration
	// Logger receives the shutdown's progress; nil discards it.
	Logger *slog.Logger

	Background []Task
	Workers    []Task
	Writers    []Task
	Flush      []Step
	Close      []Step
}

// Task is a part that runs until its context ends, and then returns once it has finished
// what it must not leave half done.
type Task struct {
	Name string
	Run  func(ctx context.Context) error
}

// Step is one action of the shutdown.
type Step struct {
	Name string
	Do   func(ctx context.Context) error
}

// Run starts everything, waits for the shutdown to begin, and stops everything in phases. It
// returns nil after a clean shutdown, else the errors of serving, of tasks and of a drain that
// ran out of time, joined. A Flush or Close step that fails is logged and the shutdown goes on:
// by then nothing is served and nothing can be done about it, so it does not fail the exit.
func (l *Lifecycle) Run(ctx context.Context) error {
	log := l.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := context.WithoutCancel(ctx)
	var (
		mu   sync.Mutex
		errs []error
	)
	stop := make(chan struct{})
	var stopOnce sync.Once
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		stopOnce.Do(func() { close(stop) })
	}

	writers := startTasks(base, l.Writers, fail)
	workers := startTasks(base, l.Workers, fail)
	background := startTasks(base, l.Background, fail)
	served := make(chan struct{})
	go func() {
		defer close(served)
		var err error
		if l.Server.TLSConfig != nil {
			err = l.Server.ServeTLS(l.Listener, "", "")
		} else {
			err = l.Server.Serve(l.Listener)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			fail(fmt.Errorf("serve: %w", err))
		}
	}()

	select {
	case <-ctx.Done():
	case <-stop:
	}

	// 1 and 2: stop accepting and drain.
	log.Info("shutting down", slog.Duration("timeout", l.DrainTimeout))
	background.stop()
	dctx, cancel := context.WithTimeout(base, l.DrainTimeout)
	err := l.Server.Shutdown(dctx)
	cancel()
	if err != nil {
		fail(fmt.Errorf("drain: requests still running after %v were cut off: %w", l.DrainTimeout, err))
		_ = l.Server.Close()
	}
	<-served
	background.wait()
	log.Info("requests drained")

	// 3: workers.
	workers.stop()
	workers.wait()
	log.Info("workers stopped")

	// 4: writers, then flushes.
	writers.stop()
	writers.wait()
	timeout := l.FlushTimeout
	if timeout <= 0 {
		timeout = DefaultFlushTimeout
	}
	for _, s := range l.Flush {
		fctx, cancel := context.WithTimeout(base, timeout)
		if err := s.Do(fctx); err != nil {
			log.Warn("flush failed", slog.String("step", s.Name), slog.String("error", err.Error()))
		}
		cancel()
	}
	log.Info("writers flushed")

	// 5: stores.
	for _, s := range l.Close {
		if err := s.Do(base); err != nil {
			log.Error("close failed", slog.String("step", s.Name), slog.String("error", err.Error()))
		}
	}
	log.Info("stopped")

	mu.Lock()
	defer mu.Unlock()
	return errors.Join(errs...)
}

// running is a group of started tasks.
type running struct {
	stop func()
	wait func()
}

// startTasks starts tasks under a context of their own. An error from one (other than its
// context ending) is passed to fail.
func startTasks(base context.Context, tasks []Task, fail func(error)) running {
	ctx, cancel := context.WithCancel(base)
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Go(func() {
			err := t.Run(ctx)
			if err != nil && !(ctx.Err() != nil && errors.Is(err, context.Canceled)) {
				fail(fmt.Errorf("%s: %w", t.Name, err))
			}
		})
	}
	return running{stop: cancel, wait: wg.Wait}
}
