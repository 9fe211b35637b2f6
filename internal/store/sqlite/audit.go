package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Limits of ListAudit.
const (
	// DefaultAuditLimit is the page size when AuditFilter.Limit is 0.
	DefaultAuditLimit = 100
	// MaxAuditLimit is the largest page ListAudit returns; a larger Limit is cut to it.
	MaxAuditLimit = 1000
)

// purgeBatch is how many rows PurgeAuditBefore deletes per transaction, so a large purge never
// holds the write lock long enough to stall RecordAudit.
const purgeBatch = 5000

// RecordAudit stores e with a new ID. A zero e.Time is stamped with the store's clock; any
// time is stored in UTC to the nanosecond. e.Action is required.
func (s *Store) RecordAudit(ctx context.Context, e fraud.AuditEvent) error {
	if s.closed.Load() {
		return errClosed("record audit event")
	}
	if strings.TrimSpace(e.Action) == "" {
		return fmt.Errorf("record audit event: %w", &fraud.Error{
			Code: fraud.CodeValidation, Message: "an audit event needs an action",
			Details: []fraud.Detail{fraud.FieldError("action", "is required", e.Action)},
		})
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	ns, ok := unixNano(e.Time)
	if !ok {
		return fmt.Errorf("record audit event: %w", &fraud.Error{
			Code: fraud.CodeValidation, Message: "an audit event's time must be between the years 1678 and 2262",
			Details: []fraud.Detail{fraud.FieldError("time", "is out of range", e.Time.UTC().Format(time.RFC3339Nano))},
		})
	}
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO audit_events (time_ns, request_id, client_ip, key_name, action, outcome, detail)
		 VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ns, e.RequestID, e.ClientIP, e.KeyName, e.Action, e.Outcome, e.Detail)
	return wrap("record audit event", err)
}

// ListAudit returns the events that match f, newest first (by time, then by ID), and how many
// match in all. Since is inclusive and Until exclusive; a zero bound is open. A Limit of 0 means
// DefaultAuditLimit and a Limit above MaxAuditLimit is cut to it. The page and the total are
// read from one snapshot, so they agree even while events are being recorded.
func (s *Store) ListAudit(ctx context.Context, f fraud.AuditFilter) ([]fraud.AuditEvent, int, error) {
	if s.closed.Load() {
		return nil, 0, errClosed("list audit events")
	}
	if f.Offset < 0 || f.Limit < 0 {
		return nil, 0, fmt.Errorf("list audit events: %w", fraud.Errorf(fraud.CodeValidation, "offset and limit must not be negative"))
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultAuditLimit
	case limit > MaxAuditLimit:
		limit = MaxAuditLimit
	}

	var where []string
	var args []any
	if f.Action != "" {
		where = append(where, "action = ?")
		args = append(args, f.Action)
	}
	if !f.Since.IsZero() {
		where = append(where, "time_ns >= ?")
		args = append(args, clampNano(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "time_ns < ?")
		args = append(args, clampNano(f.Until))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}

	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, wrap("list audit events", err)
	}
	defer func() { _ = tx.Rollback() }() // read only: nothing to undo

	var total int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_events"+cond, args...).Scan(&total); err != nil {
		return nil, 0, wrap("count audit events", err)
	}
	if f.Offset >= total {
		return []fraud.AuditEvent{}, total, nil
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT id, time_ns, request_id, client_ip, key_name, action, outcome, detail FROM audit_events`+
			cond+` ORDER BY time_ns DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, wrap("list audit events", err)
	}
	defer rows.Close()
	out := make([]fraud.AuditEvent, 0, min(limit, total-f.Offset))
	for rows.Next() {
		var e fraud.AuditEvent
		var ns int64
		if err := rows.Scan(&e.ID, &ns, &e.RequestID, &e.ClientIP, &e.KeyName, &e.Action, &e.Outcome, &e.Detail); err != nil {
			return nil, 0, wrap("list audit events", err)
		}
		e.Time = time.Unix(0, ns).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, wrap("list audit events", err)
	}
	return out, total, nil
}

// PurgeAuditBefore deletes the events older than t (time < t) and returns how many it deleted.
// It deletes in batches of a few thousand, each its own transaction, so recording goes on
// meanwhile; if ctx ends midway, the batches already deleted stay deleted and are counted.
// The freed space then goes back to the file system (see reclaim).
func (s *Store) PurgeAuditBefore(ctx context.Context, t time.Time) (int64, error) {
	if s.closed.Load() {
		return 0, errClosed("purge audit events")
	}
	cutoff := clampNano(t)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("purge audit events: %w", err)
		}
		res, err := s.write.ExecContext(ctx,
			`DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE time_ns < ? ORDER BY time_ns LIMIT ?)`,
			cutoff, purgeBatch)
		if err != nil {
			return total, wrap("purge audit events", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap("purge audit events", err)
		}
		total += n
		if n < purgeBatch {
			if total == 0 {
				return 0, nil
			}
			return total, wrap("purge audit events: reclaim space", s.reclaim(ctx))
		}
	}
}

// unixNano returns t in Unix nanoseconds, and false when t is outside what int64 nanoseconds
// can hold (about the years 1678 to 2262).
func unixNano(t time.Time) (int64, bool) {
	ns := t.UnixNano()
	return ns, time.Unix(0, ns).Equal(t)
}

// clampNano is unixNano for a filter bound: a time out of range becomes the nearest end.
func clampNano(t time.Time) int64 {
	if ns, ok := unixNano(t); ok {
		return ns
	}
	if t.Before(time.Unix(0, 0)) {
		return -1 << 63
	}
	return 1<<63 - 1
}
