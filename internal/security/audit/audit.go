package audit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Auditor records audit events without making the request that caused them wait: events go
// to the log at once and into a bounded queue that one goroutine drains into the store. Under a
// flood of attacks the queue can fill; further events are then still logged but not stored,
// and counted in Dropped, so an attacker cannot turn the audit log into a write amplifier.
//
// Run is the writer. At shutdown it must be stopped after everything that records events (the
// HTTP server's drain, the workers): it stores what is queued before it returns, and an event
// recorded after that is logged and counted in Dropped, never silently left in the queue.
type Auditor struct {
	store   fraud.AuditLog
	logger  *slog.Logger
	now     func() time.Time
	queue   chan fraud.AuditEvent
	dropped atomic.Int64
	failed  atomic.Int64

	mu     sync.RWMutex // Record queues under the read lock; Run takes the write lock to close
	closed bool
}

// New returns an Auditor that queues up to size events for store.
func New(store fraud.AuditLog, logger *slog.Logger, now func() time.Time, size int) *Auditor {
	return &Auditor{
		store:  store,
		logger: logger.With(slog.String("component", "audit")),
		now:    now,
		queue:  make(chan fraud.AuditEvent, size),
	}
}

// Record logs e and queues it for the store. It never blocks (but for the moment Run takes to
// close the queue).
func (a *Auditor) Record(ctx context.Context, e fraud.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = a.now().UTC()
	}
	a.logger.LogAttrs(ctx, slog.LevelWarn, "audit",
		slog.String("action", e.Action),
		slog.String("outcome", e.Outcome),
		slog.String("client_ip", e.ClientIP),
		slog.String("key_name", e.KeyName),
		slog.String("request_id", e.RequestID),
		slog.String("detail", e.Detail))
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		a.dropped.Add(1)
		return
	}
	select {
	case a.queue <- e:
	default:
		a.dropped.Add(1)
	}
}

// auditDrainTimeout bounds how long Run goes on storing queued events once its context is done.
const auditDrainTimeout = 5 * time.Second

// Run stores queued events until ctx is done. It then closes the queue to new events and stores
// what is in it (within auditDrainTimeout) before it returns, so that a shutdown that stops Run
// last loses nothing.
func (a *Auditor) Run(ctx context.Context) error {
	for {
		select {
		case e := <-a.queue:
			a.store1(context.WithoutCancel(ctx), e)
		case <-ctx.Done():
			a.mu.Lock()
			a.closed = true
			a.mu.Unlock()
			drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditDrainTimeout)
			defer cancel()
			for {
				select {
				case e := <-a.queue:
					a.store1(drain, e)
				default:
					return nil
				}
			}
		}
	}
}

func (a *Auditor) store1(ctx context.Context, e fraud.AuditEvent) {
	if err := a.store.RecordAudit(ctx, e); err != nil {
		a.failed.Add(1)
		a.logger.Error("audit event not stored", slog.String("action", e.Action), slog.String("error", err.Error()))
	}
}

// Dropped returns how many events were not stored because the queue was full or closed.
func (a *Auditor) Dropped() int64 { return a.dropped.Load() }

// Failed returns how many events the store refused.
func (a *Auditor) Failed() int64 { return a.failed.Load() }

// List reads stored events.
func (a *Auditor) List(ctx context.Context, f fraud.AuditFilter) ([]fraud.AuditEvent, int, error) {
	return a.store.ListAudit(ctx, f)
}
