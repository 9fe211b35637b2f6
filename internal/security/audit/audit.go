package audit

import (
	"context"
	"fmt"
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

	purged        atomic.Int64
	purgeFailures atomic.Int64

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

// Purged returns how many stored events retention has deleted.
func (a *Auditor) Purged() int64 { return a.purged.Load() }

// PurgeFailures returns how many purges the store failed.
func (a *Auditor) PurgeFailures() int64 { return a.purgeFailures.Load() }

// PurgeInterval is how often Retain purges after its first purge at start.
const PurgeInterval = time.Hour

// Retain keeps the stored events of the last keep and deletes older ones: once at once, then
// every interval until ctx is done. keep 0 keeps every event, and Retain then only waits for
// ctx. A failed purge is logged and counted, and tried again at the next interval.
func (a *Auditor) Retain(ctx context.Context, keep, interval time.Duration) error {
	if keep <= 0 {
		<-ctx.Done()
		return nil
	}
	a.Purge(ctx, keep)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			a.Purge(ctx, keep)
		}
	}
}

// Purge deletes the stored events older than keep and returns how many it deleted. When it
// deleted any, it records an audit_purge event saying how many and up to when, so that the
// log tells its own gaps.
func (a *Auditor) Purge(ctx context.Context, keep time.Duration) (int64, error) {
	cutoff := a.now().Add(-keep).UTC()
	n, err := a.store.PurgeAuditBefore(ctx, cutoff)
	a.purged.Add(n) // a purge cut short still deleted its first batches
	if err != nil {
		a.purgeFailures.Add(1)
		a.logger.Error("audit events not purged", slog.Int64("deleted", n), slog.Time("before", cutoff), slog.String("error", err.Error()))
		return n, fmt.Errorf("purge audit events before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	if n > 0 {
		a.Record(ctx, fraud.AuditEvent{
			Action:  fraud.ActionAuditPurge,
			Outcome: fraud.OutcomeSuccess,
			Detail:  fmt.Sprintf("deleted %d events older than %s (retention %s)", n, cutoff.Format(time.RFC3339), keep),
		})
	}
	return n, nil
}

// List reads stored events.
func (a *Auditor) List(ctx context.Context, f fraud.AuditFilter) ([]fraud.AuditEvent, int, error) {
	return a.store.ListAudit(ctx, f)
}
