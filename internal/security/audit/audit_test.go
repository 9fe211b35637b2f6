package audit

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// memAuditLog is an AuditLog in memory; it refuses events whose action is "refuse", and
// purges while failPurge is unset.
type memAuditLog struct {
	mu        sync.Mutex
	events    []fraud.AuditEvent
	failPurge bool
}

func (m *memAuditLog) PurgeAuditBefore(_ context.Context, t time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPurge {
		return 0, errors.New("disk I/O error")
	}
	kept := m.events[:0]
	for _, e := range m.events {
		if !e.Time.Before(t) {
			kept = append(kept, e)
		}
	}
	n := len(m.events) - len(kept)
	m.events = kept
	return int64(n), nil
}

func (m *memAuditLog) RecordAudit(_ context.Context, e fraud.AuditEvent) error {
	if e.Action == "refuse" {
		return errors.New("refused")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
	return nil
}

func (m *memAuditLog) ListAudit(context.Context, fraud.AuditFilter) ([]fraud.AuditEvent, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]fraud.AuditEvent(nil), m.events...), len(m.events), nil
}

// TestAuditorStoresQueueOnStop checks that Run stores what is queued when it stops, and that an
// event recorded after it returned, or with the queue full, is counted as dropped.
func TestAuditorStoresQueueOnStop(t *testing.T) {
	log := &memAuditLog{}
	a := New(log, slog.New(slog.DiscardHandler), time.Now, 3)
	// Queued before the writer runs: the fourth does not fit.
	for _, action := range []string{"one", "two", "refuse", "four"} {
		a.Record(context.Background(), fraud.AuditEvent{Action: action})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the writer is stopped at once: it must still store the queue
	if err := a.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	a.Record(context.Background(), fraud.AuditEvent{Action: "late"})

	evs, _, _ := log.ListAudit(context.Background(), fraud.AuditFilter{})
	if len(evs) != 2 || evs[0].Action != "one" || evs[1].Action != "two" {
		t.Errorf("stored: got %+v, want one and two", evs)
	}
	if a.Failed() != 1 {
		t.Errorf("failed: got %d, want 1 (refused by the store)", a.Failed())
	}
	if a.Dropped() != 2 {
		t.Errorf("dropped: got %d, want 2 (queue full, and after the writer stopped)", a.Dropped())
	}
}

// TestPurge checks that Purge deletes what is older than the retention, counts it, and records
// an audit_purge event that says how many went.
func TestPurge(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	log := &memAuditLog{}
	for _, age := range []time.Duration{100 * day, 90*day + time.Second, 90*day - time.Second, day} {
		log.events = append(log.events, fraud.AuditEvent{Time: now.Add(-age), Action: fraud.ActionAuthFailure})
	}
	a := New(log, slog.New(slog.DiscardHandler), func() time.Time { return now }, 8)

	n, err := a.Purge(context.Background(), 90*day)
	if err != nil || n != 2 {
		t.Fatalf("Purge: got %d, %v; want 2, nil", n, err)
	}
	if a.Purged() != 2 {
		t.Errorf("Purged: got %d, want 2", a.Purged())
	}
	if n, err := a.Purge(context.Background(), 90*day); err != nil || n != 0 {
		t.Errorf("Purge again: got %d, %v; want 0, nil", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Run(ctx); err != nil { // stores the queued audit_purge event
		t.Fatal(err)
	}
	evs, _, _ := log.ListAudit(context.Background(), fraud.AuditFilter{})
	if len(evs) != 3 {
		t.Fatalf("after the purge: got %d events, want the 2 kept and one audit_purge", len(evs))
	}
	last := evs[2]
	if last.Action != fraud.ActionAuditPurge || last.Outcome != fraud.OutcomeSuccess || !strings.Contains(last.Detail, "deleted 2 events older than 2025-12-01T12:00:00Z") {
		t.Errorf("got %+v, want an audit_purge event for 2 events before 2025-12-01T12:00:00Z", last)
	}
}

func TestPurgeFailure(t *testing.T) {
	log := &memAuditLog{failPurge: true}
	a := New(log, slog.New(slog.DiscardHandler), time.Now, 8)
	if _, err := a.Purge(context.Background(), time.Hour); err == nil || !strings.Contains(err.Error(), "disk I/O error") {
		t.Errorf("got %v, want the store's error", err)
	}
	if a.PurgeFailures() != 1 || a.Purged() != 0 {
		t.Errorf("got %d failures and %d purged, want 1 and 0", a.PurgeFailures(), a.Purged())
	}
}

// TestRetain checks that Retain purges at once and then again at each interval, and that
// retention 0 purges nothing.
func TestRetain(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	old := func() fraud.AuditEvent {
		return fraud.AuditEvent{Time: clock().Add(-2 * time.Hour), Action: fraud.ActionAuthFailure}
	}

	t.Run("keep forever", func(t *testing.T) {
		log := &memAuditLog{events: []fraud.AuditEvent{old()}}
		a := New(log, slog.New(slog.DiscardHandler), clock, 8)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := a.Retain(ctx, 0, time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if a.Purged() != 0 || len(log.events) != 1 {
			t.Errorf("got %d purged and %d kept, want 0 and 1", a.Purged(), len(log.events))
		}
	})
	t.Run("at start and every interval", func(t *testing.T) {
		log := &memAuditLog{events: []fraud.AuditEvent{old()}}
		a := New(log, slog.New(slog.DiscardHandler), clock, 8)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Retain(ctx, time.Hour, 5*time.Millisecond) }()
		waitFor(t, func() bool { return a.Purged() == 1 })
		log.mu.Lock()
		log.events = append(log.events, old())
		log.mu.Unlock()
		waitFor(t, func() bool { return a.Purged() == 2 })
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Retain: %v", err)
		}
	})
}

// waitFor polls cond for up to 5 seconds and fails t when it never holds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
