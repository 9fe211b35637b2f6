package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Limits of ListAudit, the same as the embedded store's.
const (
	// DefaultAuditLimit is the page size when AuditFilter.Limit is 0.
	DefaultAuditLimit = 100
	// MaxAuditLimit is the largest page ListAudit returns; a larger Limit is cut to it.
	MaxAuditLimit = 1000
)

// purgeBatch is how many rows PurgeAuditBefore deletes per transaction, so that a large purge
// holds no long transaction.
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
	_, err := s.pool.Exec(ctx,
		`INSERT INTO audit_events (time_ns, request_id, client_ip, key_name, action, outcome, detail)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ns, e.RequestID, e.ClientIP, e.KeyName, e.Action, e.Outcome, e.Detail)
	return wrap("record audit event", err)
}

// ListAudit returns the events that match f, newest first (by time, then by ID), and how many
// match in all. Since is inclusive and Until exclusive; a zero bound is open. A Limit of 0 means
// DefaultAuditLimit and a Limit above MaxAuditLimit is cut to it. The page and the total are
// read from one snapshot.
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
		args = append(args, f.Action)
		where = append(where, "action = $"+strconv.Itoa(len(args)))
	}
	if !f.Since.IsZero() {
		args = append(args, clampNano(f.Since))
		where = append(where, "time_ns >= $"+strconv.Itoa(len(args)))
	}
	if !f.Until.IsZero() {
		args = append(args, clampNano(f.Until))
		where = append(where, "time_ns < $"+strconv.Itoa(len(args)))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var out []fraud.AuditEvent
	var total int
	err := snapshot(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM audit_events"+cond, args...).Scan(&total); err != nil {
			return err
		}
		out = make([]fraud.AuditEvent, 0, max(0, min(limit, total-f.Offset)))
		if f.Offset >= total {
			return nil
		}
		n := len(args)
		rows, err := tx.Query(ctx, `SELECT id, time_ns, request_id, client_ip, key_name, action, outcome, detail FROM audit_events`+
			cond+` ORDER BY time_ns DESC, id DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2),
			append(args, limit, f.Offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e fraud.AuditEvent
			var ns int64
			if err := rows.Scan(&e.ID, &ns, &e.RequestID, &e.ClientIP, &e.KeyName, &e.Action, &e.Outcome, &e.Detail); err != nil {
				return err
			}
			e.Time = time.Unix(0, ns).UTC()
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, wrap("list audit events", err)
	}
	return out, total, nil
}

// PurgeAuditBefore deletes the events older than t (time < t) and returns how many it deleted,
// in batches of a few thousand, each its own transaction; if ctx ends midway, the batches
// already deleted stay deleted and are counted.
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
		tag, err := s.pool.Exec(ctx,
			`DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE time_ns < $1 ORDER BY time_ns LIMIT $2)`,
			cutoff, purgeBatch)
		if err != nil {
			return total, wrap("purge audit events", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < purgeBatch {
			return total, nil
		}
	}
}

// snapshot runs fn in a read-only REPEATABLE READ transaction, so that what it reads (a page
// and its total) comes from one snapshot.
func snapshot(ctx context.Context, pool interface {
	BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
}, fn func(pgx.Tx) error) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // read only: nothing to undo
	return fn(tx)
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

// nsTime is the time of Unix nanoseconds ns in UTC, with 0 the zero time.
func nsTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
