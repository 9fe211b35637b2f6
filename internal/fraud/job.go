package fraud

import (
	"context"
	"sort"
	"time"

	"github.com/fraudguard/fraudguard/wire"
)

// JobStatus is where a background batch job is in its life. It is the wire type; Finished
// tells a final status.
type JobStatus = wire.JobStatus

// The statuses of a job. A job is received (its upload is being stored; it is not listed and
// disappears if the upload fails), then queued, running, and ends completed, failed or
// cancelled. Only the receiving status is never shown through the API.
const (
	JobReceiving JobStatus = "receiving"
	JobQueued              = wire.JobQueued
	JobRunning             = wire.JobRunning
	JobCompleted           = wire.JobCompleted
	JobFailed              = wire.JobFailed
	JobCancelled           = wire.JobCancelled
)

// TopResults is how many of the highest-risk rows a job keeps for its partial results.
const TopResults = 20

// Job is a background batch scoring job: its input is stored in chunks, which workers score
// one at a time, each chunk's results and the job's counters committed together.
type Job struct {
	ID string
	// Owner is the name of the API key that submitted the job, or "" without keys.
	Owner string
	// IdempotencyKey is the client's Idempotency-Key, unique per owner, or "".
	IdempotencyKey string
	Status         JobStatus
	// Total is the number of input rows; Processed, Invalid and Fraud count the rows scored so
	// far, those that could not be scored and those flagged as fraud.
	Total     int64
	Processed int64
	Invalid   int64
	Fraud     int64
	// Chunks is the number of input chunks and ChunksDone how many are scored.
	Chunks     int
	ChunksDone int
	CreatedAt  time.Time
	StartedAt  time.Time // zero until the job starts
	FinishedAt time.Time // zero until it ends
	// Error says why a failed job failed.
	Error string
	// Top holds the highest-risk rows scored so far, most risky first, at most TopResults.
	Top []JobResult
	// Explain is whether the job's results carry reasons (JobResult.Reasons): asked for at
	// submission and kept with the job, so that a job resumed after a restart still explains.
	Explain bool
	// ModelVersion is the model the job is scored by: the version live where its first chunk
	// was taken, recorded by PinModel, so that every chunk is scored by it on whichever
	// instance works it. "" until then.
	ModelVersion string
}

// ProgressPercent is the share of rows processed, 0..100.
func (j *Job) ProgressPercent() float64 {
	if j.Total <= 0 {
		if j.Status == JobCompleted {
			return 100
		}
		return 0
	}
	return 100 * float64(j.Processed) / float64(j.Total)
}

// EstimatedCompletion extrapolates when a running job will finish from its pace so far; it is
// zero when there is nothing to extrapolate from (not running, or nothing processed yet).
func (j *Job) EstimatedCompletion(now time.Time) time.Time {
	if j.Status != JobRunning || j.Processed <= 0 || j.StartedAt.IsZero() {
		return time.Time{}
	}
	elapsed := now.Sub(j.StartedAt)
	if elapsed <= 0 {
		return time.Time{}
	}
	left := float64(j.Total-j.Processed) / float64(j.Processed)
	return now.Add(time.Duration(float64(elapsed) * left))
}

// JobResult is the outcome of one input row of a job; it is the wire type.
type JobResult = wire.JobResult

// MergeTop merges two lists of results, each most risky first, into the n most risky of both:
// by probability, then by row. Invalid rows are never among them.
func MergeTop(a, b []JobResult, n int) []JobResult {
	out := make([]JobResult, 0, min(n, len(a)+len(b)))
	for _, r := range a {
		if r.Error == "" {
			out = append(out, r)
		}
	}
	for _, r := range b {
		if r.Error == "" {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Probability != out[j].Probability {
			return out[i].Probability > out[j].Probability
		}
		return out[i].Row < out[j].Row
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// JobUpload describes a submitted upload: who sent it, the client's Idempotency-Key and how
// the body is encoded.
type JobUpload struct {
	Owner           string
	IdempotencyKey  string
	ContentType     string
	ContentEncoding string
	// Explain asks for reasons in the job's results (Job.Explain).
	Explain bool
}

// JobFilter selects jobs to list: by owner (Everyone lists all), by status (empty = any),
// newest first, Limit at a time from Offset. Jobs still being received are never listed.
type JobFilter struct {
	Owner    string
	Everyone bool
	Status   JobStatus
	Offset   int
	Limit    int
}

// ChunkInput is one stored chunk of a job's input: rows FirstRow..FirstRow+Rows-1 in an
// encoding the batch package owns (the store keeps it as an opaque blob).
type ChunkInput struct {
	Index    int
	FirstRow int64
	Rows     int
	Data     []byte
}

// ChunkTask is a chunk claimed by a worker under a lease: until LeaseUntil no other worker
// can claim it, and only the holder of this lease (Holder, Attempt) can complete it.
type ChunkTask struct {
	JobID string
	// Explain is the job's Explain: the chunk's results are to carry reasons.
	Explain    bool
	Holder     string
	Attempt    int
	LeaseUntil time.Time
	ChunkInput
}

// ChunkOutput is the scored form of a claimed chunk: the result blob (batch encoding) and
// what it adds to the job's counters and top results.
type ChunkOutput struct {
	Data      []byte
	Processed int64
	Invalid   int64
	Fraud     int64
	Top       []JobResult
}

// ResultChunk is one stored chunk of a job's results.
type ResultChunk struct {
	Index    int
	FirstRow int64
	Rows     int
	Data     []byte
}

// JobStore keeps batch jobs, their input and their results durably, and is the job queue:
// workers claim chunks under a lease, and an expired lease returns its chunk to the queue.
//
// Errors: an unknown job is a *Error with CodeJobNotFound; a duplicate idempotency key is
// resolved by CreateJob, not reported; a broken or full database is CodeServiceUnavailable.
type JobStore interface {
	// CreateJob stores a new job in status JobReceiving. When j.IdempotencyKey is set and the
	// owner already has a job with that key, it stores nothing and returns that job and true.
	CreateJob(ctx context.Context, j Job) (Job, bool, error)
	// AddChunk stores one chunk of a receiving job's input.
	AddChunk(ctx context.Context, jobID string, c ChunkInput) error
	// SubmitJob ends a job's upload: it records the row and chunk counts and queues the job.
	SubmitJob(ctx context.Context, jobID string, total int64, chunks int) error
	// DeleteJob removes a job with its input and results. Deleting an unknown job is not an
	// error.
	DeleteJob(ctx context.Context, jobID string) error

	// Job returns a job.
	Job(ctx context.Context, jobID string) (Job, error)
	// ListJobs returns the jobs that match f, newest first, and how many match in all. Top is
	// not filled in.
	ListJobs(ctx context.Context, f JobFilter) ([]Job, int, error)

	// StartJobs moves the oldest queued jobs to running, stamped now, as long as fewer than
	// maxRunning jobs run, and returns the jobs it started.
	StartJobs(ctx context.Context, maxRunning int, now time.Time) ([]Job, error)
	// ClaimChunk leases the next chunk to score, for holder until now+lease: an unclaimed
	// chunk, or one whose lease has expired, of a running job, oldest job and lowest chunk
	// first. It returns false when there is none.
	ClaimChunk(ctx context.Context, holder string, now time.Time, lease time.Duration) (ChunkTask, bool, error)
	// CompleteChunk stores a claimed chunk's results, adds to the job's counters and top
	// results and, with its last chunk, completes the job at now: all in one transaction. It
	// reports whether it stored them and whether that completed the job. If the lease was
	// lost (expired and claimed again, or the job is no longer running) it stores nothing.
	CompleteChunk(ctx context.Context, t ChunkTask, out ChunkOutput, now time.Time) (stored, completed bool, err error)
	// RecoverJobs returns every leased chunk to the queue and deletes every upload still being
	// received, and returns how many of each. Only the sole worker process of a store may call
	// it, before it starts working and receiving: on start, to take back what its previous run
	// held when it died.
	RecoverJobs(ctx context.Context) (released int64, dropped int, err error)
	// FinishJob ends a queued or running job with status (JobFailed with reason, or
	// JobCancelled) at now and drops its unscored input; results so far stay. It returns the
	// job as it is afterwards; a job that had already finished is returned unchanged.
	FinishJob(ctx context.Context, jobID string, status JobStatus, reason string, now time.Time) (Job, error)

	// PinModel records version as the model the job is scored by, unless one is recorded
	// already, and returns the version recorded: the first caller's, on any instance.
	PinModel(ctx context.Context, jobID, version string) (string, error)

	// Results calls fn with the job's stored result chunks that hold rows from..to-1, in
	// input order. Chunks not scored yet are skipped.
	Results(ctx context.Context, jobID string, from, to int64, fn func(ResultChunk) error) error
	// PurgeJobs deletes the jobs that finished before cutoff, and uploads still being received
	// that were created before it, and returns how many it deleted.
	PurgeJobs(ctx context.Context, cutoff time.Time) (int, error)
}
