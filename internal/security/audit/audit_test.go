package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// memAuditLog is an AuditLog in memory; it refuses events whose action is "refuse".
type memAuditLog struct {
	mu     sync.Mutex
	events []fraud.AuditEvent
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
