package breaker

import (
	"context"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Storer is a shared store: jobs, the audit log, the decision log and a health check.
type Storer interface {
	fraud.JobStore
	fraud.AuditLog
	fraud.DecisionLog
	Ping(ctx context.Context) error
}

// Store is a Storer whose every call goes through a breaker: while the database is down, job
// submission and listing fail at once with SERVICE_UNAVAILABLE and a retry time, workers wait,
// and the health check reports it, without any of them waiting out a connection timeout.
type Store struct {
	s Storer
	b *Breaker
}

var (
	_ fraud.JobStore    = (*Store)(nil)
	_ fraud.AuditLog    = (*Store)(nil)
	_ fraud.DecisionLog = (*Store)(nil)
)

// NewStore returns s behind b.
func NewStore(s Storer, b *Breaker) *Store { return &Store{s: s, b: b} }

// Ping checks the store through the breaker, so the health check both reports an open
// breaker and, once it half-opens, is one of the calls that close it again.
func (g *Store) Ping(ctx context.Context) error {
	return g.b.Do(func() error { return g.s.Ping(ctx) })
}

// CreateJob is the store's CreateJob, through the breaker.
func (g *Store) CreateJob(ctx context.Context, j fraud.Job) (out fraud.Job, existed bool, err error) {
	err = g.b.Do(func() error { out, existed, err = g.s.CreateJob(ctx, j); return err })
	return out, existed, err
}

// AddChunk is the store's AddChunk, through the breaker.
func (g *Store) AddChunk(ctx context.Context, jobID string, c fraud.ChunkInput) error {
	return g.b.Do(func() error { return g.s.AddChunk(ctx, jobID, c) })
}

// SubmitJob is the store's SubmitJob, through the breaker.
func (g *Store) SubmitJob(ctx context.Context, jobID string, total int64, chunks int) error {
	return g.b.Do(func() error { return g.s.SubmitJob(ctx, jobID, total, chunks) })
}

// DeleteJob is the store's DeleteJob, through the breaker.
func (g *Store) DeleteJob(ctx context.Context, jobID string) error {
	return g.b.Do(func() error { return g.s.DeleteJob(ctx, jobID) })
}

// Job is the store's Job, through the breaker.
func (g *Store) Job(ctx context.Context, jobID string) (j fraud.Job, err error) {
	err = g.b.Do(func() error { j, err = g.s.Job(ctx, jobID); return err })
	return j, err
}

// ListJobs is the store's ListJobs, through the breaker.
func (g *Store) ListJobs(ctx context.Context, f fraud.JobFilter) (js []fraud.Job, n int, err error) {
	err = g.b.Do(func() error { js, n, err = g.s.ListJobs(ctx, f); return err })
	return js, n, err
}

// StartJobs is the store's StartJobs, through the breaker.
func (g *Store) StartJobs(ctx context.Context, maxRunning int, now time.Time) (js []fraud.Job, err error) {
	err = g.b.Do(func() error { js, err = g.s.StartJobs(ctx, maxRunning, now); return err })
	return js, err
}

// ClaimChunk is the store's ClaimChunk, through the breaker.
func (g *Store) ClaimChunk(ctx context.Context, holder string, now time.Time, lease time.Duration) (t fraud.ChunkTask, ok bool, err error) {
	err = g.b.Do(func() error { t, ok, err = g.s.ClaimChunk(ctx, holder, now, lease); return err })
	return t, ok, err
}

// CompleteChunk is the store's CompleteChunk, through the breaker.
func (g *Store) CompleteChunk(ctx context.Context, t fraud.ChunkTask, out fraud.ChunkOutput, now time.Time) (stored, completed bool, err error) {
	err = g.b.Do(func() error { stored, completed, err = g.s.CompleteChunk(ctx, t, out, now); return err })
	return stored, completed, err
}

// RecoverJobs is the store's RecoverJobs, through the breaker.
func (g *Store) RecoverJobs(ctx context.Context) (released int64, dropped int, err error) {
	err = g.b.Do(func() error { released, dropped, err = g.s.RecoverJobs(ctx); return err })
	return released, dropped, err
}

// FinishJob is the store's FinishJob, through the breaker.
func (g *Store) FinishJob(ctx context.Context, jobID string, status fraud.JobStatus, reason string, now time.Time) (j fraud.Job, err error) {
	err = g.b.Do(func() error { j, err = g.s.FinishJob(ctx, jobID, status, reason, now); return err })
	return j, err
}

// Results is the store's Results, through the breaker.
func (g *Store) Results(ctx context.Context, jobID string, from, to int64, fn func(fraud.ResultChunk) error) error {
	// fn's own errors (a client that went away mid-download) are not the database's: only
	// what the store returns counts.
	var fnErr error
	err := g.b.Do(func() error {
		return g.s.Results(ctx, jobID, from, to, func(c fraud.ResultChunk) error {
			if err := fn(c); err != nil {
				fnErr = err
				return err
			}
			return nil
		})
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// PinModel is the store's PinModel, through the breaker.
func (g *Store) PinModel(ctx context.Context, jobID, version string) (v string, err error) {
	err = g.b.Do(func() error { v, err = g.s.PinModel(ctx, jobID, version); return err })
	return v, err
}

// PurgeJobs is the store's PurgeJobs, through the breaker.
func (g *Store) PurgeJobs(ctx context.Context, cutoff time.Time) (n int, err error) {
	err = g.b.Do(func() error { n, err = g.s.PurgeJobs(ctx, cutoff); return err })
	return n, err
}

// RecordAudit is the store's RecordAudit, through the breaker.
func (g *Store) RecordAudit(ctx context.Context, e fraud.AuditEvent) error {
	return g.b.Do(func() error { return g.s.RecordAudit(ctx, e) })
}

// ListAudit is the store's ListAudit, through the breaker.
func (g *Store) ListAudit(ctx context.Context, f fraud.AuditFilter) (es []fraud.AuditEvent, n int, err error) {
	err = g.b.Do(func() error { es, n, err = g.s.ListAudit(ctx, f); return err })
	return es, n, err
}

// PurgeAuditBefore is the store's PurgeAuditBefore, through the breaker.
func (g *Store) PurgeAuditBefore(ctx context.Context, t time.Time) (n int64, err error) {
	err = g.b.Do(func() error { n, err = g.s.PurgeAuditBefore(ctx, t); return err })
	return n, err
}

// RecordDecisions is the store's RecordDecisions, through the breaker.
func (g *Store) RecordDecisions(ctx context.Context, ds []fraud.Decision) error {
	return g.b.Do(func() error { return g.s.RecordDecisions(ctx, ds) })
}

// DecisionsOf is the store's DecisionsOf, through the breaker.
func (g *Store) DecisionsOf(ctx context.Context, transactionID string) (ds []fraud.Decision, err error) {
	err = g.b.Do(func() error { ds, err = g.s.DecisionsOf(ctx, transactionID); return err })
	return ds, err
}

// ListDecisions is the store's ListDecisions, through the breaker.
func (g *Store) ListDecisions(ctx context.Context, f fraud.DecisionFilter) (ds []fraud.Decision, err error) {
	err = g.b.Do(func() error { ds, err = g.s.ListDecisions(ctx, f); return err })
	return ds, err
}

// RecordLabels is the store's RecordLabels, through the breaker.
func (g *Store) RecordLabels(ctx context.Context, labels []fraud.LabelInput, now time.Time) (out []string, err error) {
	err = g.b.Do(func() error { out, err = g.s.RecordLabels(ctx, labels, now); return err })
	return out, err
}

// DecisionCounts is the store's DecisionCounts, through the breaker.
func (g *Store) DecisionCounts(ctx context.Context, since, until time.Time, version string) (counts map[string]int, scores []fraud.LabelledScore, err error) {
	err = g.b.Do(func() error { counts, scores, err = g.s.DecisionCounts(ctx, since, until, version); return err })
	return counts, scores, err
}

// ScanDecisionInputs is the store's ScanDecisionInputs, through the breaker. An error of fn
// stops the scan and is returned as it is, without counting against the store.
func (g *Store) ScanDecisionInputs(ctx context.Context, since, until time.Time, limit int, fn func(*fraud.DecisionInput) error) error {
	var fnErr error
	err := g.b.Do(func() error {
		err := g.s.ScanDecisionInputs(ctx, since, until, limit, func(in *fraud.DecisionInput) error {
			fnErr = fn(in)
			return fnErr
		})
		if fnErr != nil {
			return nil
		}
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// EraseTransaction is the store's EraseTransaction, through the breaker.
func (g *Store) EraseTransaction(ctx context.Context, transactionID string) (decisions, labels int64, err error) {
	err = g.b.Do(func() error { decisions, labels, err = g.s.EraseTransaction(ctx, transactionID); return err })
	return decisions, labels, err
}

// PurgeDecisionsBefore is the store's PurgeDecisionsBefore, through the breaker.
func (g *Store) PurgeDecisionsBefore(ctx context.Context, t time.Time) (n int64, err error) {
	err = g.b.Do(func() error { n, err = g.s.PurgeDecisionsBefore(ctx, t); return err })
	return n, err
}
