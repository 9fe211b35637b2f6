package postgres

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

var _ fraud.DecisionLog = (*Store)(nil)

// decisionColumns are the columns every decision read selects, with its latest label.
const decisionColumns = `d.id, d.transaction_id, d.request_id, d.time_ns, d.model_version, d.probability, d.is_fraud,
	d.risk_level, d.threshold, d.inputs, d.reasons, l.label, l.source, l.observed_ns`

// latestLabelJoin joins each decision to its transaction's latest label, if any.
const latestLabelJoin = ` LEFT JOIN labels l ON l.id = (SELECT MAX(id) FROM labels WHERE transaction_id = d.transaction_id)`

var decisionCopyColumns = []string{"transaction_id", "request_id", "time_ns", "model_version", "probability", "is_fraud", "risk_level", "threshold", "inputs", "reasons"}

// RecordDecisions stores ds in one COPY, which is one transaction.
func (s *Store) RecordDecisions(ctx context.Context, ds []fraud.Decision) error {
	if s.closed.Load() {
		return errClosed("record decisions")
	}
	if len(ds) == 0 {
		return nil
	}
	inputs := make([]byte, len(ds)*fraud.NumFeatures*8)
	rows := make([][]any, len(ds))
	for i := range ds {
		d := &ds[i]
		in := inputs[i*fraud.NumFeatures*8 : (i+1)*fraud.NumFeatures*8]
		for j, v := range d.Features {
			binary.LittleEndian.PutUint64(in[j*8:], math.Float64bits(v))
		}
		var reasons *string // NULL
		if len(d.Reasons) > 0 {
			b, err := json.Marshal(d.Reasons)
			if err != nil {
				return fmt.Errorf("record decisions: %w", err)
			}
			r := string(b)
			reasons = &r
		}
		rows[i] = []any{d.TransactionID, d.RequestID, clampNano(d.Time), d.ModelVersion,
			d.Probability, d.IsFraud, string(d.Risk), d.Threshold, in, reasons}
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"decisions"}, decisionCopyColumns, pgx.CopyFromRows(rows))
	return wrap("record decisions", err)
}

// DecisionsOf returns the decisions of transactionID, newest first, each with the
// transaction's latest label.
func (s *Store) DecisionsOf(ctx context.Context, transactionID string) ([]fraud.Decision, error) {
	if s.closed.Load() {
		return nil, errClosed("read decisions")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+decisionColumns+` FROM decisions d`+latestLabelJoin+
		` WHERE d.transaction_id = $1 ORDER BY d.time_ns DESC, d.id DESC`, transactionID)
	if err != nil {
		return nil, wrap("read decisions", err)
	}
	return scanDecisions(rows, "read decisions")
}

// args numbers the placeholders of a query as they are added.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// ListDecisions returns up to f.Limit decisions that match f, newest first (by time, then ID),
// each with its transaction's latest label.
func (s *Store) ListDecisions(ctx context.Context, f fraud.DecisionFilter) ([]fraud.Decision, error) {
	if s.closed.Load() {
		return nil, errClosed("list decisions")
	}
	if f.Limit <= 0 {
		return nil, fmt.Errorf("list decisions: %w", fraud.Errorf(fraud.CodeValidation, "limit must be positive"))
	}
	var a args
	where := decisionWhere(&a, f.Since, f.Until, f.ModelVersion)
	if f.Risk != "" {
		where = append(where, "d.risk_level = "+a.add(string(f.Risk)))
	}
	if f.IsFraud != nil {
		where = append(where, "d.is_fraud = "+a.add(*f.IsFraud))
	}
	if f.Labelled {
		where = append(where, "l.id IS NOT NULL")
	}
	if f.After != nil {
		ns := clampNano(f.After.Time)
		p := a.add(ns)
		where = append(where, "(d.time_ns < "+p+" OR (d.time_ns = "+p+" AND d.id < "+a.add(f.After.ID)+"))")
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	limit := a.add(f.Limit)
	rows, err := s.pool.Query(ctx, `SELECT `+decisionColumns+` FROM decisions d`+latestLabelJoin+cond+
		` ORDER BY d.time_ns DESC, d.id DESC LIMIT `+limit, a...)
	if err != nil {
		return nil, wrap("list decisions", err)
	}
	return scanDecisions(rows, "list decisions")
}

// ScanDecisionInputs calls fn for every decision in [since, until) with its model version,
// probability and inputs, row by row as pgx reads them.
func (s *Store) ScanDecisionInputs(ctx context.Context, since, until time.Time, limit int, fn func(*fraud.DecisionInput) error) error {
	if s.closed.Load() {
		return errClosed("scan decisions")
	}
	var a args
	where := decisionWhere(&a, since, until, "")
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	// One snapshot for the bounds and the rows.
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return wrap("scan decisions", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	query := `SELECT d.model_version, d.probability, d.inputs FROM decisions d` + cond
	if limit > 0 {
		// The IDs of the window's first and last decisions, by the time index; when more
		// than limit IDs lie between them, every k-th ID of that range by the primary key.
		var first, last *int64 // nil when the window is empty
		if err := tx.QueryRow(ctx, `SELECT (SELECT d.id FROM decisions d`+cond+` ORDER BY d.time_ns, d.id LIMIT 1),
			(SELECT d.id FROM decisions d`+cond+` ORDER BY d.time_ns DESC, d.id DESC LIMIT 1)`, a...).Scan(&first, &last); err != nil {
			return wrap("scan decisions", err)
		}
		if first != nil && last != nil && *last-*first+1 > int64(limit) {
			n := *last - *first + 1
			step := (n + int64(limit) - 1) / int64(limit)
			lo, hi, by := a.add(*first), a.add(*last), a.add(step)
			query = `SELECT d.model_version, d.probability, d.inputs FROM generate_series(` + lo + `::bigint, ` + hi + `::bigint, ` + by +
				`::bigint) AS s(i) JOIN decisions d ON d.id = s.i` + cond
		}
	}
	rows, err := tx.Query(ctx, query, a...)
	if err != nil {
		return wrap("scan decisions", err)
	}
	defer rows.Close()
	var in fraud.DecisionInput
	var inputs []byte
	for rows.Next() {
		if err := rows.Scan(&in.ModelVersion, &in.Probability, &inputs); err != nil {
			return wrap("scan decisions", err)
		}
		if len(inputs) != fraud.NumFeatures*8 {
			return fmt.Errorf("scan decisions: a decision has %d bytes of inputs, want %d", len(inputs), fraud.NumFeatures*8)
		}
		for j := range in.Features {
			in.Features[j] = math.Float64frombits(binary.LittleEndian.Uint64(inputs[j*8:]))
		}
		if err := fn(&in); err != nil {
			return err
		}
	}
	return wrap("scan decisions", rows.Err())
}

// decisionWhere is the time range and version part of a decision query.
func decisionWhere(a *args, since, until time.Time, version string) []string {
	var where []string
	if !since.IsZero() {
		where = append(where, "d.time_ns >= "+a.add(clampNano(since)))
	}
	if !until.IsZero() {
		where = append(where, "d.time_ns < "+a.add(clampNano(until)))
	}
	if version != "" {
		where = append(where, "d.model_version = "+a.add(version))
	}
	return where
}

func scanDecisions(rows pgx.Rows, op string) ([]fraud.Decision, error) {
	defer rows.Close()
	out := []fraud.Decision{}
	for rows.Next() {
		var d fraud.Decision
		var ns int64
		var risk string
		var inputs []byte
		var reasons, label, source *string
		var observed *int64
		if err := rows.Scan(&d.ID, &d.TransactionID, &d.RequestID, &ns, &d.ModelVersion, &d.Probability, &d.IsFraud,
			&risk, &d.Threshold, &inputs, &reasons, &label, &source, &observed); err != nil {
			return nil, wrap(op, err)
		}
		d.Time = time.Unix(0, ns).UTC()
		d.Risk = fraud.RiskLevel(risk)
		if len(inputs) != fraud.NumFeatures*8 {
			return nil, fmt.Errorf("%s: decision %d has %d bytes of inputs, want %d", op, d.ID, len(inputs), fraud.NumFeatures*8)
		}
		for j := range d.Features {
			d.Features[j] = math.Float64frombits(binary.LittleEndian.Uint64(inputs[j*8:]))
		}
		if reasons != nil {
			if err := json.Unmarshal([]byte(*reasons), &d.Reasons); err != nil {
				return nil, fmt.Errorf("%s: decision %d: reasons: %w", op, d.ID, err)
			}
		}
		if label != nil {
			d.Label = &fraud.Label{Label: *label, Source: *source, ObservedAt: time.Unix(0, *observed).UTC()}
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

// labelLock is the first key of the advisory locks RecordLabels takes per transaction, so that
// labels for one transaction sent to two instances at once are compared one after the other.
const labelLock int32 = 0x66670003

// RecordLabels stores labels in one transaction, each compared with the transaction's latest
// label as the ones before it in the same call left it.
func (s *Store) RecordLabels(ctx context.Context, labels []fraud.LabelInput, now time.Time) ([]string, error) {
	if s.closed.Load() {
		return nil, errClosed("record labels")
	}
	for i, l := range labels {
		if l.Label != fraud.LabelFraud && l.Label != fraud.LabelLegit {
			return nil, fmt.Errorf("record labels: %w", &fraud.Error{Code: fraud.CodeValidation,
				Message: "a label is fraud or legit", Details: []fraud.Detail{fraud.FieldError(fmt.Sprintf("labels[%d].label", i), "must be fraud or legit", l.Label)}})
		}
	}
	out := make([]string, len(labels))
	recorded := clampNano(now)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for i, l := range labels {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, labelLock, l.TransactionID); err != nil {
				return err
			}
			var known bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM decisions WHERE transaction_id = $1)`, l.TransactionID).Scan(&known); err != nil {
				return err
			}
			if !known {
				out[i] = fraud.FeedbackUnknownTransaction
				continue
			}
			var latest string
			err := tx.QueryRow(ctx, `SELECT label FROM labels WHERE transaction_id = $1 ORDER BY id DESC LIMIT 1`, l.TransactionID).Scan(&latest)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				out[i] = fraud.FeedbackRecorded
			case err != nil:
				return err
			case latest == l.Label:
				out[i] = fraud.FeedbackUnchanged
				continue
			default:
				out[i] = fraud.FeedbackUpdated
			}
			observed := l.ObservedAt
			if observed.IsZero() {
				observed = now
			}
			if _, err := tx.Exec(ctx, `INSERT INTO labels (transaction_id, label, source, observed_ns, recorded_ns) VALUES ($1, $2, $3, $4, $5)`,
				l.TransactionID, l.Label, l.Source, clampNano(observed), recorded); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("record labels", err)
	}
	return out, nil
}

// DecisionCounts returns how many decisions each model version made in [since, until), and
// the labelled ones with their latest label, both read from one snapshot.
func (s *Store) DecisionCounts(ctx context.Context, since, until time.Time, version string) (map[string]int, []fraud.LabelledScore, error) {
	if s.closed.Load() {
		return nil, nil, errClosed("count decisions")
	}
	var a args
	where := decisionWhere(&a, since, until, version)
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	labelled := " WHERE l.id IS NOT NULL"
	if cond != "" {
		labelled = cond + " AND l.id IS NOT NULL"
	}
	counts := map[string]int{}
	var scores []fraud.LabelledScore
	err := snapshot(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT d.model_version, COUNT(*) FROM decisions d`+cond+` GROUP BY d.model_version`, a...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v string
			var n int
			if err := rows.Scan(&v, &n); err != nil {
				rows.Close()
				return err
			}
			counts[v] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT d.model_version, d.probability, d.is_fraud, l.label FROM decisions d`+latestLabelJoin+labelled, a...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ls fraud.LabelledScore
			var label string
			if err := rows.Scan(&ls.ModelVersion, &ls.Probability, &ls.IsFraud, &label); err != nil {
				return err
			}
			ls.Fraud = label == fraud.LabelFraud
			scores = append(scores, ls)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, nil, wrap("count decisions", err)
	}
	return counts, scores, nil
}

// EraseTransaction deletes the decisions and labels of transactionID in one transaction.
func (s *Store) EraseTransaction(ctx context.Context, transactionID string) (int64, int64, error) {
	if s.closed.Load() {
		return 0, 0, errClosed("erase transaction")
	}
	var n [2]int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for i, table := range []string{"decisions", "labels"} {
			tag, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE transaction_id = $1`, transactionID)
			if err != nil {
				return err
			}
			n[i] = tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return 0, 0, wrap("erase transaction", err)
	}
	return n[0], n[1], nil
}

// PurgeDecisionsBefore deletes the decisions older than t in batches, each its own
// transaction, then the labels of transactions left without a decision.
func (s *Store) PurgeDecisionsBefore(ctx context.Context, t time.Time) (int64, error) {
	if s.closed.Load() {
		return 0, errClosed("purge decisions")
	}
	cutoff := clampNano(t)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("purge decisions: %w", err)
		}
		tag, err := s.pool.Exec(ctx,
			`DELETE FROM decisions WHERE id IN (SELECT id FROM decisions WHERE time_ns < $1 ORDER BY time_ns LIMIT $2)`,
			cutoff, purgeBatch)
		if err != nil {
			return total, wrap("purge decisions", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < purgeBatch {
			break
		}
	}
	if total == 0 {
		return 0, nil
	}
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM labels WHERE id IN (SELECT l.id FROM labels l
			WHERE NOT EXISTS (SELECT 1 FROM decisions d WHERE d.transaction_id = l.transaction_id) LIMIT $1)`, purgeBatch)
		if err != nil {
			return total, wrap("purge labels", err)
		}
		if tag.RowsAffected() < purgeBatch {
			return total, nil
		}
	}
}
