package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Limits of ListJobs, the same as the embedded store's.
const (
	// DefaultJobLimit is the page size when JobFilter.Limit is 0.
	DefaultJobLimit = 100
	// MaxJobLimit is the largest page ListJobs returns; a larger Limit is cut to it.
	MaxJobLimit = 1000
)

// deleteBatch is how many chunks a deletion removes per transaction.
const deleteBatch = 8

// startLock is the key of the advisory lock StartJobs takes, so that the instances admitting
// jobs at once never run more than maxRunning between them.
const startLock int64 = 0x66726175_64010002

// The states of a chunk in batch_chunks.
const (
	chunkPending = 0
	chunkLeased  = 1
	chunkDone    = 2
)

const jobColumns = `id, owner, idempotency_key, status, total_count, processed_count, invalid_count,
	fraud_count, chunk_count, chunks_done, created_ns, started_ns, finished_ns, error, top, reasons, model_version`

// CreateJob stores j in status receiving, or returns the owner's job with the same
// idempotency key and true. Two instances creating the same key at once get one job: the
// unique index turns the second insert into nothing, and it then reads the first.
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
	tag, err := s.pool.Exec(ctx, `INSERT INTO batch_jobs (id, owner, idempotency_key, status, created_ns, reasons)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner, idempotency_key) WHERE idempotency_key <> '' DO NOTHING`,
		j.ID, j.Owner, j.IdempotencyKey, string(fraud.JobReceiving), ns, j.Explain)
	if err != nil {
		return fraud.Job{}, false, wrap("create job", err)
	}
	if tag.RowsAffected() == 0 {
		old, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM batch_jobs WHERE owner = $1 AND idempotency_key = $2`, j.Owner, j.IdempotencyKey))
		if err != nil {
			return fraud.Job{}, false, wrap("create job", err)
		}
		return old, true, nil
	}
	return fraud.Job{ID: j.ID, Owner: j.Owner, IdempotencyKey: j.IdempotencyKey, Status: fraud.JobReceiving, CreatedAt: time.Unix(0, ns).UTC(), Explain: j.Explain}, false, nil
}

// AddChunk stores one chunk of a receiving job's input.
func (s *Store) AddChunk(ctx context.Context, jobID string, c fraud.ChunkInput) error {
	if s.closed.Load() {
		return errClosed("add chunk")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := requireStatus(ctx, tx, jobID, fraud.JobReceiving); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO batch_chunks (job_id, idx, first_row, row_count) VALUES ($1, $2, $3, $4)`,
			jobID, c.Index, c.FirstRow, c.Rows); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO batch_inputs (job_id, idx, data) VALUES ($1, $2, $3)`, jobID, c.Index, c.Data)
		return err
	})
	return wrap("add chunk", err)
}

// SubmitJob queues a receiving job with its row and chunk counts.
func (s *Store) SubmitJob(ctx context.Context, jobID string, total int64, chunks int) error {
	if s.closed.Load() {
		return errClosed("submit job")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := requireStatus(ctx, tx, jobID, fraud.JobReceiving); err != nil {
			return err
		}
		var n int
		var rows int64
		if err := tx.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(row_count), 0) FROM batch_chunks WHERE job_id = $1`, jobID).Scan(&n, &rows); err != nil {
			return err
		}
		if n != chunks || rows != total {
			return fraud.Errorf(fraud.CodeInternal, "job %s has %d chunks of %d rows stored, not %d of %d", jobID, n, rows, chunks, total)
		}
		_, err := tx.Exec(ctx, `UPDATE batch_jobs SET status = $1, total_count = $2, chunk_count = $3 WHERE id = $4`,
			string(fraud.JobQueued), total, chunks, jobID)
		return err
	})
	return wrap("submit job", err)
}

// DeleteJob removes a job, a few chunks per transaction, the job row last: a deletion cut
// short leaves a job that a later purge finishes off.
func (s *Store) DeleteJob(ctx context.Context, jobID string) error {
	if s.closed.Load() {
		return errClosed("delete job")
	}
	for _, table := range []string{"batch_inputs", "batch_results", "batch_chunks"} {
		if err := s.deleteInBatches(ctx, table, jobID); err != nil {
			return wrap("delete job", err)
		}
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM batch_jobs WHERE id = $1`, jobID)
	return wrap("delete job", err)
}

// deleteInBatches deletes a job's rows of table, deleteBatch chunks per transaction.
func (s *Store) deleteInBatches(ctx context.Context, table, jobID string) error {
	q := `DELETE FROM ` + table + ` WHERE job_id = $1 AND idx IN (SELECT idx FROM ` + table + ` WHERE job_id = $1 ORDER BY idx LIMIT $2)`
	for {
		tag, err := s.pool.Exec(ctx, q, jobID, deleteBatch)
		if err != nil {
			return err
		}
		if tag.RowsAffected() < deleteBatch {
			return nil
		}
	}
}

// Job returns a job; one still being received is not found.
func (s *Store) Job(ctx context.Context, jobID string) (fraud.Job, error) {
	if s.closed.Load() {
		return fraud.Job{}, errClosed("get job")
	}
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM batch_jobs WHERE id = $1 AND status <> $2`, jobID, string(fraud.JobReceiving)))
	if errors.Is(err, pgx.ErrNoRows) {
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
	where := []string{"status <> $1"}
	args := []any{string(fraud.JobReceiving)}
	if !f.Everyone {
		args = append(args, f.Owner)
		where = append(where, "owner = $"+strconv.Itoa(len(args)))
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		where = append(where, "status = $"+strconv.Itoa(len(args)))
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	out := []fraud.Job{}
	var total int
	err := snapshot(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM batch_jobs`+cond, args...).Scan(&total); err != nil {
			return err
		}
		if f.Offset >= total {
			return nil
		}
		n := len(args)
		rows, err := tx.Query(ctx, `SELECT `+jobColumns+` FROM batch_jobs`+cond+` ORDER BY created_ns DESC, id DESC LIMIT $`+
			strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2), append(args, limit, f.Offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				return err
			}
			j.Top = nil
			out = append(out, j)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, wrap("list jobs", err)
	}
	return out, total, nil
}

// StartJobs admits the oldest queued jobs while fewer than maxRunning run, across every
// instance: the count and the admission happen under one advisory lock.
func (s *Store) StartJobs(ctx context.Context, maxRunning int, now time.Time) ([]fraud.Job, error) {
	if s.closed.Load() {
		return nil, errClosed("start jobs")
	}
	var started []fraud.Job
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		started = nil
		// Most calls find nothing queued: look before taking the lock.
		var queued bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM batch_jobs WHERE status = $1)`, string(fraud.JobQueued)).Scan(&queued); err != nil || !queued {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, startLock); err != nil {
			return err
		}
		var running int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM batch_jobs WHERE status = $1`, string(fraud.JobRunning)).Scan(&running); err != nil {
			return err
		}
		free := maxRunning - running
		if free <= 0 {
			return nil
		}
		ns := clampNano(now)
		rows, err := tx.Query(ctx, `UPDATE batch_jobs SET status = $1, started_ns = $2 WHERE id IN (
			SELECT id FROM batch_jobs WHERE status = $3 ORDER BY created_ns, id LIMIT $4 FOR UPDATE)
			RETURNING `+jobColumns, string(fraud.JobRunning), ns, string(fraud.JobQueued), free)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				return err
			}
			started = append(started, j)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap("start jobs", err)
	}
	// RETURNING gives no order: oldest first, as the embedded store does.
	sortJobs(started)
	return started, nil
}

// ClaimChunk leases the next chunk to score: of the running jobs, the one started first, its
// lowest pending chunk or one whose lease has expired. Chunks being claimed by another
// instance at the same moment are skipped (SKIP LOCKED), not waited for.
func (s *Store) ClaimChunk(ctx context.Context, holder string, now time.Time, lease time.Duration) (fraud.ChunkTask, bool, error) {
	if s.closed.Load() {
		return fraud.ChunkTask{}, false, errClosed("claim chunk")
	}
	nowNS := clampNano(now)
	until := clampNano(now.Add(lease))
	t := fraud.ChunkTask{Holder: holder}
	err := s.pool.QueryRow(ctx, `WITH next AS (
			SELECT c.job_id, c.idx FROM batch_chunks c JOIN batch_jobs j ON j.id = c.job_id
			WHERE j.status = $1 AND (c.state = $2 OR (c.state = $3 AND c.lease_until_ns < $4))
			ORDER BY j.started_ns, j.created_ns, j.id, c.idx
			LIMIT 1 FOR UPDATE OF c SKIP LOCKED)
		UPDATE batch_chunks b SET state = $3, lease_holder = $5, lease_until_ns = $6, attempts = b.attempts + 1
		FROM next WHERE b.job_id = next.job_id AND b.idx = next.idx
		RETURNING b.job_id, b.idx, b.first_row, b.row_count, b.attempts,
			(SELECT reasons FROM batch_jobs WHERE id = b.job_id),
			(SELECT data FROM batch_inputs i WHERE i.job_id = b.job_id AND i.idx = b.idx)`,
		string(fraud.JobRunning), chunkPending, chunkLeased, nowNS, holder, until).
		Scan(&t.JobID, &t.Index, &t.FirstRow, &t.Rows, &t.Attempt, &t.Explain, &t.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return fraud.ChunkTask{}, false, nil
	}
	if err != nil {
		return fraud.ChunkTask{}, false, wrap("claim chunk", err)
	}
	if t.Data == nil {
		// The job was cancelled or failed meanwhile: its input is gone.
		return fraud.ChunkTask{}, false, nil
	}
	t.LeaseUntil = time.Unix(0, until).UTC()
	return t, true, nil
}

// CompleteChunk stores a chunk's results and updates its job, all in one transaction, if the
// lease t still holds. The job's row is locked first, so that chunks of one job completed at
// once on several instances add to its counters one after the other.
func (s *Store) CompleteChunk(ctx context.Context, t fraud.ChunkTask, out fraud.ChunkOutput, now time.Time) (bool, bool, error) {
	if s.closed.Load() {
		return false, false, errClosed("complete chunk")
	}
	var stored, completed bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		stored, completed = false, false
		var status, topJSON string
		var done, chunks int
		err := tx.QueryRow(ctx, `SELECT status, top, chunks_done, chunk_count FROM batch_jobs WHERE id = $1 FOR UPDATE`, t.JobID).
			Scan(&status, &topJSON, &done, &chunks)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // the job was deleted meanwhile
		}
		if err != nil {
			return err
		}
		var state, attempts int
		var holder string
		err = tx.QueryRow(ctx, `SELECT state, lease_holder, attempts FROM batch_chunks WHERE job_id = $1 AND idx = $2 FOR UPDATE`, t.JobID, t.Index).
			Scan(&state, &holder, &attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		// Only the attempt tells a lease from the one its own holder took again after it
		// expired; a task that carries another holder's name is turned away.
		if state != chunkLeased || holder != t.Holder || attempts != t.Attempt || status != string(fraud.JobRunning) {
			return nil
		}
		var top []fraud.JobResult
		if err := json.Unmarshal([]byte(topJSON), &top); err != nil {
			return fmt.Errorf("job %s: bad top results: %w", t.JobID, err)
		}
		merged, err := json.Marshal(fraud.MergeTop(top, out.Top, fraud.TopResults))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO batch_results (job_id, idx, first_row, row_count, data) VALUES ($1, $2, $3, $4, $5)`,
			t.JobID, t.Index, t.FirstRow, t.Rows, out.Data); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE batch_chunks SET state = $1, lease_holder = '', lease_until_ns = 0 WHERE job_id = $2 AND idx = $3`,
			chunkDone, t.JobID, t.Index); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM batch_inputs WHERE job_id = $1 AND idx = $2`, t.JobID, t.Index); err != nil {
			return err
		}
		newStatus, finished := status, int64(0)
		if done+1 >= chunks {
			newStatus, finished = string(fraud.JobCompleted), clampNano(now)
		}
		if _, err := tx.Exec(ctx, `UPDATE batch_jobs SET processed_count = processed_count + $1, invalid_count = invalid_count + $2,
			fraud_count = fraud_count + $3, chunks_done = chunks_done + 1, top = $4, status = $5, finished_ns = $6 WHERE id = $7`,
			out.Processed, out.Invalid, out.Fraud, string(merged), newStatus, finished, t.JobID); err != nil {
			return err
		}
		stored, completed = true, newStatus == string(fraud.JobCompleted)
		return nil
	})
	if err != nil {
		return false, false, wrap("complete chunk", err)
	}
	return stored, completed, nil
}

// RecoverJobs returns every leased chunk to the queue and deletes every upload still being
// received. With several instances on one database none may call it (it would take chunks
// from the living): a dead instance's chunks come back when their leases expire.
func (s *Store) RecoverJobs(ctx context.Context) (int64, int, error) {
	if s.closed.Load() {
		return 0, 0, errClosed("recover jobs")
	}
	tag, err := s.pool.Exec(ctx, `UPDATE batch_chunks SET state = $1, lease_holder = '', lease_until_ns = 0 WHERE state = $2`, chunkPending, chunkLeased)
	if err != nil {
		return 0, 0, wrap("recover jobs", err)
	}
	released := tag.RowsAffected()
	ids, err := s.jobIDs(ctx, `SELECT id FROM batch_jobs WHERE status = $1`, string(fraud.JobReceiving))
	if err != nil {
		return released, 0, wrap("recover jobs", err)
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
	tag, err := s.pool.Exec(ctx, `UPDATE batch_jobs SET status = $1, error = $2, finished_ns = $3 WHERE id = $4 AND status IN ($5, $6)`,
		string(status), reason, clampNano(now), jobID, string(fraud.JobQueued), string(fraud.JobRunning))
	if err != nil {
		return fraud.Job{}, wrap("finish job", err)
	}
	if tag.RowsAffected() == 1 {
		if err := s.deleteInBatches(ctx, "batch_inputs", jobID); err != nil {
			return fraud.Job{}, wrap("finish job", err)
		}
	}
	return s.Job(ctx, jobID)
}

// PinModel records version as the job's model unless one is recorded, and returns the one
// recorded: of instances pinning at once, the first to update the row wins, and the others,
// whose update then finds a version there, read it.
func (s *Store) PinModel(ctx context.Context, jobID, version string) (string, error) {
	if s.closed.Load() {
		return "", errClosed("pin model")
	}
	if version == "" {
		return "", fmt.Errorf("pin model: %w", fraud.Errorf(fraud.CodeValidation, "a model version is required"))
	}
	if _, err := s.pool.Exec(ctx, `UPDATE batch_jobs SET model_version = $1 WHERE id = $2 AND model_version = ''`, version, jobID); err != nil {
		return "", wrap("pin model", err)
	}
	// A statement of its own: it reads what committed after the update, another instance's
	// pin included.
	var v string
	err := s.pool.QueryRow(ctx, `SELECT model_version FROM batch_jobs WHERE id = $1`, jobID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", jobNotFound(jobID)
	}
	if err != nil {
		return "", wrap("pin model", err)
	}
	return v, nil
}

// Results calls fn with the stored result chunks holding rows from..to-1, in input order, each
// chunk read on its own so that a long download holds no transaction open.
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
		err := s.pool.QueryRow(ctx, `SELECT idx, first_row, row_count, data FROM batch_results
			WHERE job_id = $1 AND idx > $2 AND first_row + row_count > $3 AND first_row < $4 ORDER BY idx LIMIT 1`,
			jobID, next, from, to).Scan(&c.Index, &c.FirstRow, &c.Rows, &c.Data)
		if errors.Is(err, pgx.ErrNoRows) {
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
	ids, err := s.jobIDs(ctx, `SELECT id FROM batch_jobs WHERE (status IN ($1, $2, $3) AND finished_ns < $4) OR (status = $5 AND created_ns < $4)`,
		string(fraud.JobCompleted), string(fraud.JobFailed), string(fraud.JobCancelled), ns, string(fraud.JobReceiving))
	if err != nil {
		return 0, wrap("purge jobs", err)
	}
	for i, id := range ids {
		if err := s.DeleteJob(ctx, id); err != nil {
			return i, fmt.Errorf("purge jobs: %w", err)
		}
	}
	return len(ids), nil
}

func (s *Store) jobIDs(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// requireStatus checks, inside tx, that the job exists and has status want, and locks its row.
func requireStatus(ctx context.Context, tx pgx.Tx, jobID string, want fraud.JobStatus) error {
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM batch_jobs WHERE id = $1 FOR UPDATE`, jobID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return jobNotFound(jobID)
	}
	if err != nil {
		return err
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
func scanJob(row pgx.Row) (fraud.Job, error) {
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

// sortJobs orders jobs oldest first, by creation time then id.
func sortJobs(js []fraud.Job) {
	sort.Slice(js, func(a, b int) bool {
		if !js[a].CreatedAt.Equal(js[b].CreatedAt) {
			return js[a].CreatedAt.Before(js[b].CreatedAt)
		}
		return js[a].ID < js[b].ID
	})
}
