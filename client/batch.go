package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fraudguard/fraudguard/wire"
)

// SubmitOptions describe a batch upload.
type SubmitOptions struct {
	// ContentType is text/csv (the default), application/json or application/x-ndjson.
	ContentType string
	// ContentEncoding is "" or gzip, when the body is gzip-compressed.
	ContentEncoding string
	// IdempotencyKey, when set, makes a repeated submission answer with the first job
	// instead of creating another (1 to 128 letters, digits or _-.:, unique per API key).
	// With it, and a body that is an io.ReadSeeker, the submission is retried.
	IdempotencyKey string
	// Explain asks for reasons: the job's results carry each row's three features of largest
	// contribution (JobResult.Reasons; reason_1..reason_3 in the CSV results).
	Explain bool
}

// Submitted is the answer of a batch submission.
type Submitted struct {
	wire.BatchSubmitResponse
	// Replayed tells that the idempotency key had been used already: the job is the first
	// submission's.
	Replayed bool
}

// SubmitBatch uploads body as a background batch job (POST /batch) and returns at once with
// the job's id. The body is streamed; the server refuses it (413) past its row or byte limits.
// It is retried only with an idempotency key and a body that can be rewound.
func (c *Client) SubmitBatch(ctx context.Context, body io.Reader, opts SubmitOptions) (*Submitted, error) {
	if body == nil {
		return nil, errors.New("client: SubmitBatch needs a body")
	}
	h := http.Header{"Content-Type": {opts.ContentType}}
	if opts.ContentType == "" {
		h.Set("Content-Type", "text/csv")
	}
	if opts.ContentEncoding != "" {
		h.Set("Content-Encoding", opts.ContentEncoding)
	}
	if opts.IdempotencyKey != "" {
		h.Set("Idempotency-Key", opts.IdempotencyKey)
	}
	var out Submitted
	cl := call{method: http.MethodPost, path: []string{"batch"}, header: h, stream: body, retry: opts.IdempotencyKey != ""}
	if opts.Explain {
		cl.query = url.Values{"explain": {"true"}}
	}
	header, err := c.doJSON(ctx, cl, &out.BatchSubmitResponse)
	if err != nil {
		return nil, err
	}
	if out.JobID == "" {
		return nil, errors.New("POST /batch: the answer has no job_id")
	}
	out.Replayed = header.Get("Idempotent-Replayed") == "true"
	return &out, nil
}

// BatchJobsQuery selects jobs to list; zero fields are left to the server (any status,
// offset 0, limit 100).
type BatchJobsQuery struct {
	Status wire.JobStatus
	Offset int
	Limit  int
}

// BatchJobs lists the caller's jobs, newest first; an admin key lists everyone's (GET /batch).
func (c *Client) BatchJobs(ctx context.Context, q BatchJobsQuery) (*wire.BatchListResponse, error) {
	v := url.Values{}
	if q.Status != "" {
		v.Set("status", string(q.Status))
	}
	setPage(v, q.Offset, q.Limit)
	return getJSON[wire.BatchListResponse](ctx, c, v, "batch")
}

// BatchStatus returns a job's status, counters and highest-risk rows so far (GET
// /batch/{job_id}/status). An unknown job is an *Error with error_code JOB_NOT_FOUND.
func (c *Client) BatchStatus(ctx context.Context, jobID string) (*wire.BatchStatusResponse, error) {
	st, _, err := c.batchStatus(ctx, jobID)
	return st, err
}

func (c *Client) batchStatus(ctx context.Context, jobID string) (*wire.BatchStatusResponse, http.Header, error) {
	var out wire.BatchStatusResponse
	h, err := c.doJSON(ctx, call{method: http.MethodGet, path: []string{"batch", jobID, "status"}, retry: true}, &out)
	if err != nil {
		return nil, nil, err
	}
	return &out, h, nil
}

// WaitOptions tune WaitBatch.
type WaitOptions struct {
	// Poll is how often the status is asked for; 500ms when 0.
	Poll time.Duration
	// OnStatus, when set, is called with every status read.
	OnStatus func(*wire.BatchStatusResponse)
}

// Waiting for a job gives up after maxWaitFailures status requests in a row failed (each
// after its own retries, or taking longer than statusTimeout); being rate limited is not a
// failure. The job keeps running on the server either way.
const (
	maxWaitFailures = 5
	statusTimeout   = 30 * time.Second
)

// WaitBatch follows a job until it has finished (completed, failed or cancelled) and returns
// its last status; a failed or cancelled job is not an error here (see Status and Error). It
// polls at most every opts.Poll, and slower once the server's RateLimit headers say less than
// half of the client's budget is left, so that following a job never runs into the limit.
func (c *Client) WaitBatch(ctx context.Context, jobID string, opts WaitOptions) (*wire.BatchStatusResponse, error) {
	poll := opts.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	failures := 0
	for {
		rctx, cancel := context.WithTimeout(ctx, statusTimeout)
		st, header, err := c.batchStatus(rctx, jobID)
		cancel()
		delay := poll
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var ae *Error
			isAPI := errors.As(err, &ae)
			switch {
			case isAPI && !ae.Temporary():
				return nil, err
			case isAPI && ae.StatusCode == http.StatusTooManyRequests:
				delay = max(delay, ae.RetryAfter)
			default:
				if failures++; failures >= maxWaitFailures {
					return nil, fmt.Errorf("%d status requests in a row failed, the last with: %w", failures, err)
				}
				if isAPI {
					delay = max(delay, ae.RetryAfter)
				}
			}
		} else {
			failures = 0
			delay = pace(poll, header)
			if opts.OnStatus != nil {
				opts.OnStatus(st)
			}
			if st.Status.Finished() {
				return st, nil
			}
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// pace returns how long to wait before the next status request: poll, or longer once the
// RateLimit headers say that less than half of the client's budget is left, so that
// following a job spends at most half of the rate fraudguard allows (its RateLimit-Limit is
// the requests per minute) and never runs into the limit, whose hits count towards blocking
// the client's address.
func pace(poll time.Duration, h http.Header) time.Duration {
	limit, err := strconv.Atoi(h.Get("RateLimit-Limit"))
	if err != nil || limit <= 0 {
		return poll
	}
	remaining, err := strconv.Atoi(h.Get("RateLimit-Remaining"))
	if err != nil || remaining >= limit/2 {
		return poll
	}
	return max(poll, 2*time.Minute/time.Duration(limit))
}

// BatchResults returns one page of a job's results as JSON, rows offset..offset+limit-1 scored
// so far (GET /batch/{job_id}/results); a zero limit is the server's default (1000).
func (c *Client) BatchResults(ctx context.Context, jobID string, offset, limit int64) (*wire.BatchResultsResponse, error) {
	v := url.Values{}
	if offset > 0 {
		v.Set("offset", strconv.FormatInt(offset, 10))
	}
	if limit > 0 {
		v.Set("limit", strconv.FormatInt(limit, 10))
	}
	return getJSON[wire.BatchResultsResponse](ctx, c, v, "batch", jobID, "results")
}

// ResultsFormat is the encoding of a results stream.
type ResultsFormat string

// The encodings of a results stream.
const (
	// CSV has the columns row, transaction_id, fraud_probability, is_fraud, risk_level, error.
	CSV ResultsFormat = "text/csv"
	// NDJSON has one wire.JobResult per line.
	NDJSON ResultsFormat = "application/x-ndjson"
)

// ResultsStream is a job's whole results, streamed; the caller must close it.
type ResultsStream struct {
	io.ReadCloser
	// Status is the job's status when the stream started; for an unfinished job the stream
	// holds the rows scored so far.
	Status wire.JobStatus
	// Total and Processed are the job's row counts when the stream started.
	Total, Processed int64
}

// BatchResultsStream streams all of a job's results, in input order, in format (GET
// /batch/{job_id}/results with Accept). A download cut short ends the stream with an error,
// never silently.
func (c *Client) BatchResultsStream(ctx context.Context, jobID string, format ResultsFormat) (*ResultsStream, error) {
	resp, err := c.do(ctx, call{method: http.MethodGet, path: []string{"batch", jobID, "results"},
		header: http.Header{"Accept": {string(format)}}, retry: true})
	if err != nil {
		return nil, err
	}
	s := &ResultsStream{ReadCloser: resp.Body, Status: wire.JobStatus(resp.Header.Get("X-Job-Status"))}
	s.Total, _ = strconv.ParseInt(resp.Header.Get("X-Job-Total"), 10, 64)
	s.Processed, _ = strconv.ParseInt(resp.Header.Get("X-Job-Processed"), 10, 64)
	return s, nil
}

// DeleteBatchJob cancels a queued or running job (its results so far are kept), or deletes a
// finished one with its results (DELETE /batch/{job_id}). It is not retried: a second call
// would delete the job it cancelled.
func (c *Client) DeleteBatchJob(ctx context.Context, jobID string) (*wire.BatchDeleteResponse, error) {
	return sendJSON[wire.BatchDeleteResponse](ctx, c, http.MethodDelete, false, nil, "batch", jobID)
}
