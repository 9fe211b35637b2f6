package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

type stateLog struct {
	mu   sync.Mutex
	seen []bool
}

func (s *stateLog) SetBreakerOpen(dep string, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, open)
}

func (s *stateLog) last() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[len(s.seen)-1]
}

func down() error {
	return fmt.Errorf("ping: %w", fraud.Errorf(fraud.CodeServiceUnavailable, "the database cannot be reached"))
}

func TestBreakerOpensFailsFastAndRecovers(t *testing.T) {
	m := &stateLog{}
	b := New("postgres", Options{Failures: 3, OpenFor: 200 * time.Millisecond, Metrics: m})
	calls := 0
	fail := func() error { calls++; return down() }
	for i := 0; i < 3; i++ {
		if err := b.Do(fail); errors.Is(err, ErrOpen) {
			t.Fatalf("call %d: open before %d failures", i+1, 3)
		}
	}
	if !b.Open() || !m.last() {
		t.Fatalf("after 3 failures: open %v, metric %v; want open", b.Open(), m.last())
	}
	err := b.Do(fail)
	var fe *fraud.Error
	if !errors.Is(err, ErrOpen) || !errors.As(err, &fe) || fe.Code != fraud.CodeServiceUnavailable || fe.RetryAfter != 1 || calls != 3 {
		t.Fatalf("while open: got %v (calls %d), want SERVICE_UNAVAILABLE, retry_after 1, without calling", err, calls)
	}
	time.Sleep(250 * time.Millisecond)
	if err := b.Do(func() error { return nil }); err != nil {
		t.Fatalf("after OpenFor, a good call: got %v", err)
	}
	if b.Open() || m.last() {
		t.Errorf("after a good call: open %v, metric %v; want closed", b.Open(), m.last())
	}
}

// Answers that are not the dependency's failures — no such job, a caller that gave up — never
// open the breaker.
func TestBreakerIgnoresOrdinaryErrors(t *testing.T) {
	b := New("postgres", Options{Failures: 2})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 10; i++ {
		_ = b.Do(func() error { return fraud.Errorf(fraud.CodeJobNotFound, "no such job") })
		_ = b.Do(func() error { return ctx.Err() })
	}
	if b.Open() {
		t.Errorf("opened on ordinary errors")
	}
	if err := b.Do(func() error { return context.DeadlineExceeded }); err == nil || b.Open() {
		t.Fatalf("one timeout: got %v, open %v", err, b.Open())
	}
	_ = b.Do(func() error { return context.DeadlineExceeded })
	if !b.Open() {
		t.Errorf("two timeouts in a row: want open")
	}
}

// flaky is a store that is down while its flag is set: the fault the breaker is for.
type flaky struct {
	Storer
	mu   sync.Mutex
	down bool
	hits int
}

func (f *flaky) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hits++
	if f.down {
		return down()
	}
	return nil
}

func (f *flaky) CreateJob(_ context.Context, j fraud.Job) (fraud.Job, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hits++
	if f.down {
		return fraud.Job{}, false, down()
	}
	return j, false, nil
}

func TestStoreBehindBreaker(t *testing.T) {
	f := &flaky{down: true}
	s := NewStore(f, New("postgres", Options{Failures: 2, OpenFor: 100 * time.Millisecond}))
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := s.Ping(ctx); err == nil {
			t.Fatal("ping of a store that is down: got nil")
		}
	}
	_, _, err := s.CreateJob(ctx, fraud.Job{ID: "job_1"})
	var fe *fraud.Error
	if !errors.As(err, &fe) || fe.Code != fraud.CodeServiceUnavailable || fe.RetryAfter < 1 || f.hits != 2 {
		t.Fatalf("submission while open: got %v after %d calls, want SERVICE_UNAVAILABLE with retry_after, not reaching the store", err, f.hits)
	}
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("not recovered within 5s of the store coming back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := s.CreateJob(ctx, fraud.Job{ID: "job_2"}); err != nil {
		t.Errorf("after recovery: %v", err)
	}
}

func (f *flaky) ScanDecisionInputs(_ context.Context, _, _ time.Time, _ int, fn func(*fraud.DecisionInput) error) error {
	f.mu.Lock()
	f.hits++
	isDown := f.down
	f.mu.Unlock()
	if isDown {
		return down()
	}
	return fn(&fraud.DecisionInput{ModelVersion: "v1", Probability: 0.5})
}

func TestScanThroughBreaker(t *testing.T) {
	f := &flaky{}
	b := New("postgres", Options{Failures: 2, OpenFor: time.Minute})
	s := NewStore(f, b)
	ctx := context.Background()
	// The caller's own error (a timeout of its own, say) stops the scan and comes back as it
	// is; it says nothing about the store, so the breaker stays closed.
	for i := 0; i < 3; i++ {
		err := s.ScanDecisionInputs(ctx, time.Time{}, time.Time{}, 0, func(*fraud.DecisionInput) error { return context.DeadlineExceeded })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("scan %d: got %v, want the callback's error", i, err)
		}
	}
	if b.Open() {
		t.Fatal("opened on the callback's errors")
	}
	var seen int
	if err := s.ScanDecisionInputs(ctx, time.Time{}, time.Time{}, 0, func(in *fraud.DecisionInput) error {
		if in.ModelVersion == "v1" {
			seen++
		}
		return nil
	}); err != nil || seen != 1 {
		t.Fatalf("scan: got %v with %d rows, want nil and 1", err, seen)
	}
	f.mu.Lock()
	f.down = true
	f.mu.Unlock()
	for i := 0; i < 2; i++ {
		if err := s.ScanDecisionInputs(ctx, time.Time{}, time.Time{}, 0, func(*fraud.DecisionInput) error { return nil }); err == nil {
			t.Fatal("scan of a store that is down: got nil")
		}
	}
	if !b.Open() {
		t.Error("two failures of the store itself: want open")
	}
}
