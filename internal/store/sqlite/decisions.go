package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

var _ fraud.DecisionLog = (*Store)(nil)

// decisionColumns are the columns every decision read selects, with its latest label.
const decisionColumns = `d.id, d.transaction_id, d.request_id, d.time_ns, d.model_version, d.probability, d.is_fraud,
	d.risk_level, d.threshold, d.inputs, d.reasons, l.label, l.source, l.observed_ns`

// latestLabelJoin joins each decision to its transaction's latest label, if any.
const latestLabelJoin = ` LEFT JOIN labels l ON l.id = (SELECT MAX(id) FROM labels WHERE transaction_id = d.transaction_id)`

// insertRows is how many decisions one INSERT statement carries: one statement per row spends
// most of its time in the statement, not in the row.
const insertRows = 64

// insertDecisions is the INSERT of n decisions.
func insertDecisions(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO decisions (transaction_id, request_id, time_ns, model_version, probability, is_fraud, risk_level, threshold, inputs, reasons) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}

// RecordDecisions stores ds in one transaction, in the decisions file.
func (s *Store) RecordDecisions(ctx context.Context, ds []fraud.Decision) error {
	if s.closed.Load() {
		return errClosed("record decisions")
	}
	return recordDecisions(ctx, s.dwrite, ds)
}

// recordDecisions stores ds in one transaction of db, the decisions file's write connection.
func recordDecisions(ctx context.Context, db *sql.DB, ds []fraud.Decision) error {
	if len(ds) == 0 {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return wrap("record decisions", err)
	}
	defer func() { _ = tx.Rollback() }()
	var full *sql.Stmt
	inputs := make([]byte, len(ds)*fraud.NumFeatures*8)
	args := make([]any, 0, 10*min(len(ds), insertRows))
	for len(ds) > 0 {
		n := min(len(ds), insertRows)
		args = args[:0]
		for i := range n {
			d := &ds[i]
			in := inputs[: fraud.NumFeatures*8 : fraud.NumFeatures*8]
			inputs = inputs[fraud.NumFeatures*8:]
			for j, v := range d.Features {
				binary.LittleEndian.PutUint64(in[j*8:], math.Float64bits(v))
			}
			var reasons any // NULL
			if len(d.Reasons) > 0 {
				b, err := json.Marshal(d.Reasons)
				if err != nil {
					return fmt.Errorf("record decisions: %w", err)
				}
				reasons = string(b)
			}
			args = append(args, d.TransactionID, d.RequestID, clampNano(d.Time), d.ModelVersion,
				d.Probability, d.IsFraud, string(d.Risk), d.Threshold, in, reasons)
		}
		if n == insertRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertDecisions(insertRows)); err != nil {
					return wrap("record decisions", err)
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insertDecisions(n), args...)
		}
		if err != nil {
			return wrap("record decisions", err)
		}
		ds = ds[n:]
		// SQLite runs here as Go code, a statement (about 0.4 ms) without a point where the
		// scheduler would hand its core to the requests queued behind it: let them go first
		// between statements, so that a batch does not hold a core for milliseconds.
		runtime.Gosched()
	}
	return wrap("record decisions", tx.Commit())
}

// DecisionsOf returns the decisions of transactionID, newest first, each with the
// transaction's latest label.
func (s *Store) DecisionsOf(ctx context.Context, transactionID string) ([]fraud.Decision, error) {
	if s.closed.Load() {
		return nil, errClosed("read decisions")
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+decisionColumns+` FROM decisions d`+latestLabelJoin+
		` WHERE d.transaction_id = ? ORDER BY d.time_ns DESC, d.id DESC`, transactionID)
	if err != nil {
		return nil, wrap("read decisions", err)
	}
	return scanDecisions(rows, "read decisions")
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
	where, args := decisionWhere(f.Since, f.Until, f.ModelVersion)
	if f.Risk != "" {
		where = append(where, "d.risk_level = ?")
		args = append(args, string(f.Risk))
	}
	if f.IsFraud != nil {
		where = append(where, "d.is_fraud = ?")
		args = append(args, *f.IsFraud)
	}
	if f.Labelled {
		where = append(where, "l.id IS NOT NULL")
	}
	if f.After != nil {
		ns := clampNano(f.After.Time)
		where = append(where, "(d.time_ns < ? OR (d.time_ns = ? AND d.id < ?))")
		args = append(args, ns, ns, f.After.ID)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+decisionColumns+` FROM decisions d`+latestLabelJoin+cond+
		` ORDER BY d.time_ns DESC, d.id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, wrap("list decisions", err)
	}
	return scanDecisions(rows, "list decisions")
}

// decisionWhere is the time range and version part of a decision query.
func decisionWhere(since, until time.Time, version string) ([]string, []any) {
	var where []string
	var args []any
	if !since.IsZero() {
		where = append(where, "d.time_ns >= ?")
		args = append(args, clampNano(since))
	}
	if !until.IsZero() {
		where = append(where, "d.time_ns < ?")
		args = append(args, clampNano(until))
	}
	if version != "" {
		where = append(where, "d.model_version = ?")
		args = append(args, version)
	}
	return where, args
}

func scanDecisions(rows *sql.Rows, op string) ([]fraud.Decision, error) {
	defer rows.Close()
	out := []fraud.Decision{}
	for rows.Next() {
		var d fraud.Decision
		var ns int64
		var risk string
		var inputs []byte
		var reasons, label, source sql.NullString
		var observed sql.NullInt64
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
		if reasons.Valid {
			if err := json.Unmarshal([]byte(reasons.String), &d.Reasons); err != nil {
				return nil, fmt.Errorf("%s: decision %d: reasons: %w", op, d.ID, err)
			}
		}
		if label.Valid {
			d.Label = &fraud.Label{Label: label.String, Source: source.String, ObservedAt: time.Unix(0, observed.Int64).UTC()}
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(op, err)
	}
	return out, nil
}

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
	// The decisions are in their own file, which the write connection does not attach (its
	// transactions would take that file's write lock too): which transactions have one is read
	// first, from a read connection, under s.labels.
	s.labels.Lock()
	defer s.labels.Unlock()
	known := make(map[string]bool, len(labels))
	for _, l := range labels {
		if _, ok := known[l.TransactionID]; ok {
			continue
		}
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM decisions WHERE transaction_id = ?)`, l.TransactionID).Scan(&n); err != nil {
			return nil, wrap("record labels", err)
		}
		known[l.TransactionID] = n != 0
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrap("record labels", err)
	}
	defer func() { _ = tx.Rollback() }()
	out := make([]string, len(labels))
	recorded := clampNano(now)
	for i, l := range labels {
		if !known[l.TransactionID] {
			out[i] = fraud.FeedbackUnknownTransaction
			continue
		}
		var latest sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT label FROM labels WHERE transaction_id = ? ORDER BY id DESC LIMIT 1`, l.TransactionID).Scan(&latest)
		if err != nil && err != sql.ErrNoRows {
			return nil, wrap("record labels", err)
		}
		switch {
		case !latest.Valid:
			out[i] = fraud.FeedbackRecorded
		case latest.String == l.Label:
			out[i] = fraud.FeedbackUnchanged
			continue
		default:
			out[i] = fraud.FeedbackUpdated
		}
		observed := l.ObservedAt
		if observed.IsZero() {
			observed = now
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO labels (transaction_id, label, source, observed_ns, recorded_ns) VALUES (?, ?, ?, ?, ?)`,
			l.TransactionID, l.Label, l.Source, clampNano(observed), recorded); err != nil {
			return nil, wrap("record labels", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, wrap("record labels", err)
	}
	return out, nil
}

// DecisionCounts returns how many decisions each model version made in [since, until), and
// the labelled ones with their latest label. Both are read from one snapshot.
func (s *Store) DecisionCounts(ctx context.Context, since, until time.Time, version string) (map[string]int, []fraud.LabelledScore, error) {
	if s.closed.Load() {
		return nil, nil, errClosed("count decisions")
	}
	where, args := decisionWhere(since, until, version)
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, wrap("count decisions", err)
	}
	defer func() { _ = tx.Rollback() }() // read only
	rows, err := tx.QueryContext(ctx, `SELECT d.model_version, COUNT(*) FROM decisions d`+cond+` GROUP BY d.model_version`, args...)
	if err != nil {
		return nil, nil, wrap("count decisions", err)
	}
	counts := map[string]int{}
	for rows.Next() {
		var v string
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			rows.Close()
			return nil, nil, wrap("count decisions", err)
		}
		counts[v] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, wrap("count decisions", err)
	}
	labelled := " WHERE l.id IS NOT NULL"
	if cond != "" {
		labelled = cond + " AND l.id IS NOT NULL"
	}
	rows, err = tx.QueryContext(ctx, `SELECT d.model_version, d.probability, d.is_fraud, l.label FROM decisions d`+latestLabelJoin+labelled, args...)
	if err != nil {
		return nil, nil, wrap("count decisions", err)
	}
	defer rows.Close()
	var scores []fraud.LabelledScore
	for rows.Next() {
		var ls fraud.LabelledScore
		var label string
		if err := rows.Scan(&ls.ModelVersion, &ls.Probability, &ls.IsFraud, &label); err != nil {
			return nil, nil, wrap("count decisions", err)
		}
		ls.Fraud = label == fraud.LabelFraud
		scores = append(scores, ls)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, wrap("count decisions", err)
	}
	return counts, scores, nil
}

// ScanDecisionInputs streams the model version, probability and inputs of the decisions in
// [since, until) to fn, from one read snapshot, by the time index. With limit > 0 it finds the
// IDs of the window's first and last decisions by the time index and, when more than limit
// IDs lie between them, reads every k-th ID of that range by the primary key instead.
func (s *Store) ScanDecisionInputs(ctx context.Context, since, until time.Time, limit int, fn func(*fraud.DecisionInput) error) error {
	if s.closed.Load() {
		return errClosed("scan decisions")
	}
	where, args := decisionWhere(since, until, "")
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	tx, err := s.read.BeginTx(ctx, nil) // one snapshot for the bounds and the rows
	if err != nil {
		return wrap("scan decisions", err)
	}
	defer func() { _ = tx.Rollback() }()
	query := `SELECT d.model_version, d.probability, d.inputs FROM decisions d` + cond
	if limit > 0 {
		var first, last sql.NullInt64 // NULL when the window is empty
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT d.id FROM decisions d`+cond+` ORDER BY d.time_ns, d.id LIMIT 1),
			(SELECT d.id FROM decisions d`+cond+` ORDER BY d.time_ns DESC, d.id DESC LIMIT 1)`, append(args, args...)...).Scan(&first, &last); err != nil {
			return wrap("scan decisions", err)
		}
		if n := last.Int64 - first.Int64 + 1; first.Valid && last.Valid && n > int64(limit) {
			step := (n + int64(limit) - 1) / int64(limit)
			// The IDs first, first+step, ... up to last, each looked up by the primary key
			// and kept when it is in the window.
			cte := `WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + ? FROM s WHERE i + ? <= ?) `
			query = cte + `SELECT d.model_version, d.probability, d.inputs FROM s JOIN decisions d ON d.id = s.i` + cond
			args = append([]any{first.Int64, step, step, last.Int64}, args...)
		}
	}
	rows, err := tx.QueryContext(ctx, query, args...)
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
	if err := rows.Err(); err != nil {
		return wrap("scan decisions", err)
	}
	return nil
}

// EraseTransaction deletes the labels of transactionID, then its decisions: each file in a
// transaction of its own, the labels first, so that a failure between the two leaves the
// decisions, and erasing again finishes the work.
func (s *Store) EraseTransaction(ctx context.Context, transactionID string) (int64, int64, error) {
	if s.closed.Load() {
		return 0, 0, errClosed("erase transaction")
	}
	s.labels.Lock()
	defer s.labels.Unlock()
	labels, err := deleteWhere(ctx, s.write, "labels", transactionID)
	if err != nil {
		return 0, 0, wrap("erase transaction", err)
	}
	decisions, err := deleteWhere(ctx, s.dwrite, "decisions", transactionID)
	if err != nil {
		return 0, labels, wrap("erase transaction", err)
	}
	return decisions, labels, nil
}

// deleteWhere deletes the rows of table of transactionID through db, and returns how many.
func deleteWhere(ctx context.Context, db *sql.DB, table, transactionID string) (int64, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM `+table+` WHERE transaction_id = ?`, transactionID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// PurgeDecisionsBefore deletes the decisions older than t in batches, each its own
// transaction, then the labels of transactions left without a decision (found from a read
// connection, which attaches both files).
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
		res, err := s.dwrite.ExecContext(ctx,
			`DELETE FROM decisions WHERE id IN (SELECT id FROM decisions WHERE time_ns < ? ORDER BY time_ns LIMIT ?)`,
			cutoff, purgeBatch)
		if err != nil {
			return total, wrap("purge decisions", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, wrap("purge decisions", err)
		}
		total += n
		if n < purgeBatch {
			break
		}
	}
	if total == 0 {
		return 0, nil
	}
	for {
		n, err := s.purgeLabels(ctx)
		if err != nil {
			return total, wrap("purge labels", err)
		}
		if n < purgeBatch {
			break
		}
	}
	if err := reclaimFile(ctx, s.dwrite, s.dvacuum); err != nil {
		return total, wrap("purge decisions: reclaim space", err)
	}
	return total, wrap("purge decisions: reclaim space", s.reclaim(ctx))
}

// purgeLabels deletes up to purgeBatch labels of transactions without a decision and returns
// how many it deleted.
func (s *Store) purgeLabels(ctx context.Context) (int64, error) {
	s.labels.Lock()
	defer s.labels.Unlock()
	rows, err := s.read.QueryContext(ctx, `SELECT l.id FROM labels l
		WHERE NOT EXISTS (SELECT 1 FROM decisions d WHERE d.transaction_id = l.transaction_id) LIMIT ?`, purgeBatch)
	if err != nil {
		return 0, err
	}
	var ids []any
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, err
	}
	res, err := s.write.ExecContext(ctx, `DELETE FROM labels WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
