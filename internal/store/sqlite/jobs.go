package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

var _ fraud.JobStore = (*Store)(nil)

// Limits of ListJobs.
const (
	// DefaultJobLimit is the page size when JobFilter.Limit is 0.
	DefaultJobLimit = 100
	// MaxJobLimit is the largest page ListJobs returns; a larger Limit is cut to it.
	MaxJobLimit = 1000
)

// deleteBatch is how many chunks a deletion removes per transaction, so that dropping a large
// job never holds the write lock long enough to stall the workers and the audit log.
const deleteBatch = 8

// The states of a chunk in batch_chunks.
const (
	chunkPending = 0
	chunkLeased  = 1
	chunkDone    = 2
)

const jobColumns = `id, owner, idempotency_key, status, total_count, processed_count, invalid_count,
	fraud_count, chunk_count, chunks_done, created_ns, started_ns, finished_ns, error, top, reasons, model_version`

// CreateJob stores j in status receiving, or returns the owner's job with the same
// idempotency key and true.
func (s *Store) CreateJob(ctx context.Context, j fraud.Job) (fraud.Job, bool, error) {
	if s.closed.Load() {
		return fraud.Job{}, false, errClosed("create job")
	}
	if j.ID == "" {
		return fraud.Job{}, false, fmt.Errorf("create job: %w", fraud.Errorf(fraud.CodeValidation, "a job needs an id"))
	}
	ns, ok := unixNano(j.CreatedAt)
	if !ok || j.CreatedAt.IsZero() {
		return fraud.Job{}, false, fmt.Errorf("create job: %w", fraud.Errorf(fraud.CodeValidation, "a job needs a creation time between the years 1678 and 2262"))
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fraud.Job{}, false, wrap("create job", err)
	}
	defer func() { _ = tx.Rollback() }()
	if j.IdempotencyKey != "" {
		old, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM batch_jobs WHERE owner = ? AND idempotency_key = ?`, j.Owner, j.IdempotencyKey))
		if err == nil {
			return old, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fraud.Job{}, false, wrap("create job", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO batch_jobs (id, owner, idempotency_key, status, created_ns, reasons) VALUES (?, ?, ?, ?, ?, ?)`,
		j.ID, j.Owner, j.IdempotencyKey, string(fraud.JobReceiving), ns, j.Explain); err != nil {
		return fraud.Job{}, false, wrap("create job", err)
	}
	if err := tx.Commit(); err != nil {
		return fraud.Job{}, false, wrap("create job", err)
	}
	return fraud.Job{ID: j.ID, Owner: j.Owner, IdempotencyKey: j.IdempotencyKey, Status: fraud.JobReceiving, CreatedAt: time.Unix(0, ns).UTC(), Explain: j.Explain}, false, nil
}

// AddChunk stores one chunk of a receiving job's input.
func (s *Store) AddChunk(ctx context.Context, jobID string, c fraud.ChunkInput) error {
	if s.closed.Load() {
		return errClosed("add chunk")
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return wrap("add chunk", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := requireStatus(ctx, tx, jobID, fraud.JobReceiving); err != nil {
		return fmt.Errorf("add chunk: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO batch_chunks (job_id, idx, first_row, row_count) VALUES (?, ?, ?, ?)`,
		jobID, c.Index, c.FirstRow, c.Rows); err != nil {
		return wrap("add chunk", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO batch_inputs (job_id, idx, data) VALUES (?, ?, ?)`, jobID, c.Index, c.Data); err != nil {
		return wrap("add chunk", err)
	}
	return wrap("add chunk", tx.Commit())
}

// SubmitJob queues a receiving job with its row and chunk counts. A job without rows is
// completed at once.
func (s *Store) SubmitJob(ctx context.Context, jobID string, total int64, chunks int) error {
	if s.closed.Load() {
		return errClosed("submit job")
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return wrap("submit job", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := requireStatus(ctx, tx, jobID, fraud.JobReceiving); err != nil {
		return fmt.Errorf("submit job: %w", err)
	}
	var n int
	var rows int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(row_count), 0) FROM batch_chunks WHERE job_id = ?`, jobID).Scan(&n, &rows); err != nil {
		return wrap("submit job", err)
	}
	if n != chunks || rows != total {
		return fmt.Errorf("submit job: %w", fraud.Errorf(fraud.CodeInternal, "job %s has %d chunks of %d rows stored, not %d of %d", jobID, n, rows, chunks, total))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE batch_jobs SET status = ?, total_count = ?, chunk_count = ? WHERE id = ?`,
		string(fraud.JobQueued), total, chunks, jobID); err != nil {
		return wrap("submit job", err)
	}
	return wrap("submit job", tx.Commit())
}

// DeleteJob removes a job, a few chunks per transaction, the job row last: a deletion cut
// short leaves a job that a later purge finishes off.
func (s *Store) DeleteJob(ctx context.Context, jobID string) error {
	if s.closed.Load() {
		return errClosed("delete job")
	}
	for _, table := range []string{"batch_inputs", "batch_results", "batch_chunks"} {
		if err := s.deleteInBatches(ctx, table, jobID); err != nil {
			return fmt.Errorf("delete job: %w", err)
		}
	}
	if _, err := s.write.ExecContext(ctx, `DELETE FROM batch_jobs WHERE id = ?`, jobID); err != nil {
		return wrap("delete job", err)
	}
	return wrap("delete job: reclaim space", s.reclaim(ctx))
}

// deleteInBatches deletes a job's rows of table, deleteBatch chunks per transaction.
func (s *Store) deleteInBatches(ctx context.Context, table, jobID string) error {
	q := `DELETE FROM ` + table + ` WHERE job_id = ? AND idx IN (SELECT idx FROM ` + table + ` WHERE job_id = ? ORDER BY idx LIMIT ?)`
	for {
		res, err := s.write.ExecContext(ctx, q, jobID, jobID, deleteBatch)
		if err != nil {
			return storeError(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return storeError(err)
		}
		if n < deleteBatch {
			return nil
		}
	}
}

// Job returns a job; one still being received is not found.
func (s *Store) Job(ctx context.Context, jobID string) (fraud.Job, error) {
	if s.closed.Load() {
		return fraud.Job{}, errClosed("get job")
	}
	j, err := scanJob(s.read.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM batch_jobs WHERE id = ? AND status <> ?`, jobID, string(fraud.JobReceiving)))
	if errors.Is(err, sql.ErrNoRows) {
		return fraud.Job{}, jobNotFound(jobID)
	}
	if err != nil {
		return fraud.Job{}, wrap("get job", err)
	}
	return j, nil
}

// ListJobs returns the jobs that match f, newest first, and how many match in all, read from
// one snapshot. A Limit of 0 means DefaultJobLimit and one above MaxJobLimit is cut to it.
func (s *Store) ListJobs(ctx context.Context, f fraud.JobFilter) ([]fraud.Job, int, error) {
	if s.closed.Load() {
		return nil, 0, errClosed("list jobs")
	}
	if f.Offset < 0 || f.Limit < 0 {
		return nil, 0, fmt.Errorf("list jobs: %w", fraud.Errorf(fraud.CodeValidation, "offset and limit must not be negative"))
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultJobLimit
	case limit > MaxJobLimit:
		limit = MaxJobLimit
	}
	where := []string{"status <> ?"}
	args := []any{string(fraud.JobReceiving)}
	if !f.Everyone {
		where = append(where, "owner = ?")
		args = append(args, f.Owner)
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(f.Status))
	}
	cond := " WHERE " + strings.Join(where, " AND ")

	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, wrap("list jobs", err)
	}
	defer func() { _ = tx.Rollback() }() // read only
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM batch_jobs`+cond, args...).Scan(&total); err != nil {
		return nil, 0, wrap("count jobs", err)
	}
	out := []fraud.Job{}
	if f.Offset >= total {
		return out, total, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+jobColumns+` FROM batch_jobs`+cond+` ORDER BY created_ns DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, wrap("list jobs", err)
	}
	defer rows.Close()
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, 0, wrap("list jobs", err)
		}
		j.Top = nil
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, wrap("list jobs", err)
	}
	return out, total, nil
}

// StartJobs admits the oldest queued jobs while fewer than maxRunning run.
func (s *Store) StartJobs(ctx context.Context, maxRunning int, now time.Time) ([]fraud.Job, error) {
	if s.closed.Load() {
		return nil, errClosed("start jobs")
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrap("start jobs", err)
	}
	defer func() { _ = tx.Rollback() }()
	var running int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM batch_jobs WHERE status = ?`, string(fraud.JobRunning)).Scan(&running); err != nil {
		return nil, wrap("start jobs", err)
	}
	free := maxRunning - running
	if free <= 0 {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+jobColumns+` FROM batch_jobs WHERE status = ? ORDER BY created_ns, id LIMIT ?`, string(fraud.JobQueued), free)
	if err != nil {
		return nil, wrap("start jobs", err)
	}
	var started []fraud.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			rows.Close()
			return nil, wrap("start jobs", err)
		}
		started = append(started, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("start jobs", err)
	}
	ns := clampNano(now)
	for i := range started {
		if _, err := tx.ExecContext(ctx, `UPDATE batch_jobs SET status = ?, started_ns = ? WHERE id = ?`, string(fraud.JobRunning), ns, started[i].ID); err != nil {
			return nil, wrap("start jobs", err)
		}
		started[i].Status, started[i].StartedAt = fraud.JobRunning, time.Unix(0, ns).UTC()
	}
	if err := tx.Commit(); err != nil {
		return nil, wrap("start jobs", err)
	}
	return started, nil
}

// ClaimChunk leases the next chunk to score. The input is read after the claim commits, from
// the read pool, so the write lock is held only for the small queue rows.
func (s *Store) ClaimChunk(ctx context.Context, holder string, now time.Time, lease time.Duration) (fraud.ChunkTask, bool, error) {
	if s.closed.Load() {
		return fraud.ChunkTask{}, false, errClosed("claim chunk")
	}
	t, ok, err := s.claim(ctx, holder, now, lease)
	if err != nil || !ok {
		return t, ok, err
	}
	err = s.read.QueryRowContext(ctx, `SELECT data FROM batch_inputs WHERE job_id = ? AND idx = ?`, t.JobID, t.Index).Scan(&t.Data)
	if errors.Is(err, sql.ErrNoRows) {
		// The job was cancelled or failed between the claim and the read: its input is gone.
		return fraud.ChunkTask{}, false, nil
	}
	if err != nil {
		return fraud.ChunkTask{}, false, wrap("claim chunk", err)
	}
	return t, true, nil
}

func (s *Store) claim(ctx context.Context, holder string, now time.Time, lease time.Duration) (fraud.ChunkTask, bool, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fraud.ChunkTask{}, false, wrap("claim chunk", err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, `SELECT id, reasons FROM batch_jobs WHERE status = ? ORDER BY started_ns, created_ns, id`, string(fraud.JobRunning))
	if err != nil {
		return fraud.ChunkTask{}, false, wrap("claim chunk", err)
	}
	type running struct {
		id      string
		explain bool
	}
	var jobs []running
	for rows.Next() {
		var j running
		if err := rows.Scan(&j.id, &j.explain); err != nil {
			rows.Close()
			return fraud.ChunkTask{}, false, wrap("claim chunk", err)
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fraud.ChunkTask{}, false, wrap("claim chunk", err)
	}
	nowNS := clampNano(now)
	for _, j := range jobs {
		id := j.id
		t := fraud.ChunkTask{JobID: id, Holder: holder, Explain: j.explain}
		err := tx.QueryRowContext(ctx, `SELECT idx, first_row, row_count, attempts FROM batch_chunks
			WHERE job_id = ? AND (state = ? OR (state = ? AND lease_until_ns < ?)) ORDER BY idx LIMIT 1`,
			id, chunkPending, chunkLeased, nowNS).Scan(&t.Index, &t.FirstRow, &t.Rows, &t.Attempt)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fraud.ChunkTask{}, false, wrap("claim chunk", err)
		}
		t.Attempt++
		until := clampNano(now.Add(lease))
		if _, err := tx.ExecContext(ctx, `UPDATE batch_chunks SET state = ?, lease_holder = ?, lease_until_ns = ?, attempts = ? WHERE job_id = ? AND idx = ?`,
			chunkLeased, holder, until, t.Attempt, id, t.Index); err != nil {
			return fraud.ChunkTask{}, false, wrap("claim chunk", err)
		}
		if err := tx.Commit(); err != nil {
			return fraud.ChunkTask{}, false, wrap("claim chunk", err)
		}
		t.LeaseUntil = time.Unix(0, until).UTC()
		return t, true, nil
	}
	return fraud.ChunkTask{}, false, nil
}

// CompleteChunk stores a chunk's results and updates its job, all in one transaction, if the
// lease t still holds.
func (s *Store) CompleteChunk(ctx context.Context, t fraud.ChunkTask, out fraud.ChunkOutput, now time.Time) (bool, bool, error) {
	if s.closed.Load() {
		return false, false, errClosed("complete chunk")
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return false, false, wrap("complete chunk", err)
	}
	defer func() { _ = tx.Rollback() }()
	var state, attempts int
	var holder, status, topJSON string
	var done, chunks int
	err = tx.QueryRowContext(ctx, `SELECT c.state, c.lease_holder, c.attempts, j.status, j.top, j.chunks_done, j.chunk_count
		FROM batch_chunks c JOIN batch_jobs j ON j.id = c.job_id WHERE c.job_id = ? AND c.idx = ?`, t.JobID, t.Index).
		Scan(&state, &holder, &attempts, &status, &topJSON, &done, &chunks)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil // the job was deleted meanwhile
	}
	if err != nil {
		return false, false, wrap("complete chunk", err)
	}
	// A server names one holder for all its workers, so only the attempt tells a lease from
	// the one its own holder took again after it expired; the holder turns away a task that
	// carries another holder's name.
	if state != chunkLeased || holder != t.Holder || attempts != t.Attempt || status != string(fraud.JobRunning) {
		return false, false, nil
	}
	var top []fraud.JobResult
	if err := json.Unmarshal([]byte(topJSON), &top); err != nil {
		return false, false, fmt.Errorf("complete chunk: job %s: bad top results: %w", t.JobID, err)
	}
	merged, err := json.Marshal(fraud.MergeTop(top, out.Top, fraud.TopResults))
	if err != nil {
		return false, false, fmt.Errorf("complete chunk: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO batch_results (job_id, idx, first_row, row_count, data) VALUES (?, ?, ?, ?, ?)`,
		t.JobID, t.Index, t.FirstRow, t.Rows, out.Data); err != nil {
		return false, false, wrap("complete chunk", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE batch_chunks SET state = ?, lease_holder = '', lease_until_ns = 0 WHERE job_id = ? AND idx = ?`,
		chunkDone, t.JobID, t.Index); err != nil {
		return false, false, wrap("complete chunk", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM batch_inputs WHERE job_id = ? AND idx = ?`, t.JobID, t.Index); err != nil {
		return false, false, wrap("complete chunk", err)
	}
	newStatus, finished := status, int64(0)
	if done+1 >= chunks {
		newStatus, finished = string(fraud.JobCompleted), clampNano(now)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE batch_jobs SET processed_count = processed_count + ?, invalid_count = invalid_count + ?,
		fraud_count = fraud_count + ?, chunks_done = chunks_done + 1, top = ?, status = ?, finished_ns = ? WHERE id = ?`,
		out.Processed, out.Invalid, out.Fraud, string(merged), newStatus, finished, t.JobID); err != nil {
		return false, false, wrap("complete chunk", err)
	}
	if err := tx.Commit(); err != nil {
		return false, false, wrap("complete chunk", err)
	}
	return true, newStatus == string(fraud.JobCompleted), nil
}

// RecoverJobs returns every leased chunk to the queue and deletes every upload still being
// received.
func (s *Store) RecoverJobs(ctx context.Context) (int64, int, error) {
	if s.closed.Load() {
		return 0, 0, errClosed("recover jobs")
	}
	res, err := s.write.ExecContext(ctx, `UPDATE batch_chunks SET state = ?, lease_holder = '', lease_until_ns = 0 WHERE state = ?`, chunkPending, chunkLeased)
	if err != nil {
		return 0, 0, wrap("recover jobs", err)
	}
	released, err := res.RowsAffected()
	if err != nil {
		return 0, 0, wrap("recover jobs", err)
	}
	ids, err := s.jobIDs(ctx, `SELECT id FROM batch_jobs WHERE status = ?`, string(fraud.JobReceiving))
	if err != nil {
		return released, 0, fmt.Errorf("recover jobs: %w", err)
	}
	for i, id := range ids {
		if err := s.DeleteJob(ctx, id); err != nil {
			return released, i, fmt.Errorf("recover jobs: %w", err)
		}
	}
	return released, len(ids), nil
}

// FinishJob fails or cancels a queued or running job and then drops its unscored input.
func (s *Store) FinishJob(ctx context.Context, jobID string, status fraud.JobStatus, reason string, now time.Time) (fraud.Job, error) {
	if s.closed.Load() {
		return fraud.Job{}, errClosed("finish job")
	}
	if status != fraud.JobFailed && status != fraud.JobCancelled {
		return fraud.Job{}, fmt.Errorf("finish job: %w", fraud.Errorf(fraud.CodeValidation, "a job can only be made failed or cancelled, not %s", status))
	}
	res, err := s.write.ExecContext(ctx, `UPDATE batch_jobs SET status = ?, error = ?, finished_ns = ? WHERE id = ? AND status IN (?, ?)`,
		string(status), reason, clampNano(now), jobID, string(fraud.JobQueued), string(fraud.JobRunning))
	if err != nil {
		return fraud.Job{}, wrap("finish job", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fraud.Job{}, wrap("finish job", err)
	} else if n == 1 {
		if err := s.deleteInBatches(ctx, "batch_inputs", jobID); err != nil {
			return fraud.Job{}, fmt.Errorf("finish job: %w", err)
		}
	}
	return s.jobForWrite(ctx, jobID)
}

// jobForWrite reads a job through the writer, so it sees the writer's last commit.
func (s *Store) jobForWrite(ctx context.Context, jobID string) (fraud.Job, error) {
	j, err := scanJob(s.write.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM batch_jobs WHERE id = ? AND status <> ?`, jobID, string(fraud.JobReceiving)))
	if errors.Is(err, sql.ErrNoRows) {
		return fraud.Job{}, jobNotFound(jobID)
	}
	if err != nil {
		return fraud.Job{}, wrap("get job", err)
	}
	return j, nil
}

// PinModel records version as the job's model unless one is recorded, and returns the one
// recorded.
func (s *Store) PinModel(ctx context.Context, jobID, version string) (string, error) {
	if s.closed.Load() {
		return "", errClosed("pin model")
	}
	if version == "" {
		return "", fmt.Errorf("pin model: %w", fraud.Errorf(fraud.CodeValidation, "a model version is required"))
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE batch_jobs SET model_version = ? WHERE id = ? AND model_version = ''`, version, jobID); err != nil {
		return "", wrap("pin model", err)
	}
	var v string
	err := s.write.QueryRowContext(ctx, `SELECT model_version FROM batch_jobs WHERE id = ?`, jobID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", jobNotFound(jobID)
	}
	return v, wrap("pin model", err)
}

// Results calls fn with the stored result chunks holding rows from..to-1, in input order. Each
// chunk is read on its own, so a long download holds no snapshot that would keep the
// write-ahead log from being checkpointed.
func (s *Store) Results(ctx context.Context, jobID string, from, to int64, fn func(fraud.ResultChunk) error) error {
	if s.closed.Load() {
		return errClosed("read results")
	}
	if _, err := s.Job(ctx, jobID); err != nil {
		return err
	}
	next := -1
	for {
		var c fraud.ResultChunk
		err := s.read.QueryRowContext(ctx, `SELECT idx, first_row, row_count, data FROM batch_results
			WHERE job_id = ? AND idx > ? AND first_row + row_count > ? AND first_row < ? ORDER BY idx LIMIT 1`,
			jobID, next, from, to).Scan(&c.Index, &c.FirstRow, &c.Rows, &c.Data)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return wrap("read results", err)
		}
		if err := fn(c); err != nil {
			return err
		}
		next = c.Index
	}
}

// PurgeJobs deletes the jobs that finished before cutoff and the uploads begun before it that
// never completed.
func (s *Store) PurgeJobs(ctx context.Context, cutoff time.Time) (int, error) {
	if s.closed.Load() {
		return 0, errClosed("purge jobs")
	}
	ns := clampNano(cutoff)
	ids, err := s.jobIDs(ctx, `SELECT id FROM batch_jobs WHERE (status IN (?, ?, ?) AND finished_ns < ?) OR (status = ? AND created_ns < ?)`,
		string(fraud.JobCompleted), string(fraud.JobFailed), string(fraud.JobCancelled), ns, string(fraud.JobReceiving), ns)
	if err != nil {
		return 0, fmt.Errorf("purge jobs: %w", err)
	}
	for i, id := range ids {
		if err := s.DeleteJob(ctx, id); err != nil {
			return i, fmt.Errorf("purge jobs: %w", err)
		}
	}
	return len(ids), nil
}

func (s *Store) jobIDs(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.write.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, storeError(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, storeError(err)
		}
		ids = append(ids, id)
	}
	return ids, storeError(rows.Err())
}

// requireStatus checks, inside tx, that the job exists and has status want.
func requireStatus(ctx context.Context, tx *sql.Tx, jobID string, want fraud.JobStatus) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM batch_jobs WHERE id = ?`, jobID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return jobNotFound(jobID)
	}
	if err != nil {
		return storeError(err)
	}
	if status != string(want) {
		return fraud.Errorf(fraud.CodeConflict, "job %s is %s, not %s", jobID, status, want)
	}
	return nil
}

func jobNotFound(jobID string) error {
	return &fraud.Error{Code: fraud.CodeJobNotFound, Message: "no such job: " + jobID, Details: []fraud.Detail{{"job_id": jobID}}}
}

// scanJob reads a row of jobColumns.
func scanJob(row interface{ Scan(...any) error }) (fraud.Job, error) {
	var j fraud.Job
	var status, top string
	var created, started, finished int64
	if err := row.Scan(&j.ID, &j.Owner, &j.IdempotencyKey, &status, &j.Total, &j.Processed, &j.Invalid,
		&j.Fraud, &j.Chunks, &j.ChunksDone, &created, &started, &finished, &j.Error, &top, &j.Explain, &j.ModelVersion); err != nil {
		return fraud.Job{}, err
	}
	j.Status = fraud.JobStatus(status)
	j.CreatedAt = nsTime(created)
	j.StartedAt = nsTime(started)
	j.FinishedAt = nsTime(finished)
	if err := json.Unmarshal([]byte(top), &j.Top); err != nil {
		return fraud.Job{}, fmt.Errorf("job %s: bad top results: %w", j.ID, err)
	}
	if j.Top == nil {
		j.Top = []fraud.JobResult{}
	}
	return j, nil
}

// nsTime is the time of Unix nanoseconds ns in UTC, with 0 the zero time.
func nsTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
