package api

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/security/apikey"
	"github.com/fraudguard/fraudguard/internal/txjson"
	"github.com/fraudguard/fraudguard/wire"
)

// JobService runs background batch jobs: the /batch routes.
type JobService interface {
	// Submit stores an upload as a new job (or returns the owner's job with the same
	// idempotency key, and true).
	Submit(ctx context.Context, body io.Reader, up fraud.JobUpload) (fraud.Job, bool, error)
	Job(ctx context.Context, jobID string) (fraud.Job, error)
	List(ctx context.Context, f fraud.JobFilter) ([]fraud.Job, int, error)
	// Cancel stops a queued or running job; a finished one is returned as it is.
	Cancel(ctx context.Context, jobID string) (fraud.Job, error)
	// Delete deletes a job and its results.
	Delete(ctx context.Context, jobID string) error
	// Results calls fn with the results of rows from..to-1 scored so far, in input order.
	Results(ctx context.Context, jobID string, from, to int64, fn func(*fraud.JobResult) error) error
}

// An upload or a download of a large job takes longer than the server's read and write
// timeouts, which are set for scoring requests; these routes get their own.
const (
	batchUploadTimeout   = time.Hour
	batchDownloadTimeout = time.Hour
)

// Page sizes of GET /batch/{job_id}/results as JSON.
const (
	defaultResultsLimit = 1000
	maxResultsLimit     = 10_000
)

// maxIdempotencyKey is the longest Idempotency-Key accepted.
const maxIdempotencyKey = 128

// jobOwner names who the request acts for: the key's name ("" without a key), and whether it
// may see every job (an admin key).
func jobOwner(w http.ResponseWriter) (string, bool) {
	st := stateOf(w)
	if !st.hasKey {
		return "", false
	}
	return st.key.Name, st.key.Has(apikey.ScopeAdmin)
}

// jobsOr503 returns the job service, or answers 503 when there is none.
func (s *Server) jobsOr503(w http.ResponseWriter, r *http.Request) JobService {
	if s.opts.Jobs == nil {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeServiceUnavailable, Message: "batch jobs are not available on this server"})
	}
	return s.opts.Jobs
}

// visibleJob returns the job of the path's job_id if the caller may see it: its owner or an
// admin. Anyone else is told it does not exist.
func (s *Server) visibleJob(w http.ResponseWriter, r *http.Request, jobs JobService) (fraud.Job, bool) {
	id := r.PathValue("job_id")
	j, err := jobs.Job(r.Context(), id)
	if err == nil {
		if owner, admin := jobOwner(w); !admin && j.Owner != owner {
			err = &fraud.Error{Code: fraud.CodeJobNotFound, Message: "no such job: " + id, Details: []fraud.Detail{{"job_id": id}}}
		}
	}
	if err != nil {
		s.errs.write(w, r, err)
		return fraud.Job{}, false
	}
	return j, true
}

func (s *Server) handleBatchSubmit(w http.ResponseWriter, r *http.Request) {
	jobs := s.jobsOr503(w, r)
	if jobs == nil {
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" && (len(key) > maxIdempotencyKey || !fraud.IsIDString(key)) {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeValidation, Message: "the Idempotency-Key header is not valid",
			Details: []fraud.Detail{fraud.FieldError("Idempotency-Key", "must be 1 to 128 letters, digits or _-.:", truncate(key))}})
		return
	}
	explain := false
	if v, ok := r.URL.Query()["explain"]; ok {
		switch {
		case len(v) == 1 && v[0] == "true":
			explain = true
		case len(v) == 1 && v[0] == "false":
		default:
			s.errs.write(w, r, invalid([]fraud.Detail{fraud.FieldError("explain", "must be true or false, given once", truncate(strings.Join(v, ",")))}))
			return
		}
	}
	if explain {
		// A model that cannot explain is refused now, not found out by the job's first chunk.
		m := s.models.Current()
		if m == nil {
			s.errs.write(w, r, &fraud.Error{Code: fraud.CodeModelNotLoaded, Message: "no model is loaded yet", RetryAfter: 5})
			return
		}
		var x [fraud.NumFeatures]float64
		var e model.Explanation
		if err := m.Explain(&x, &e); err != nil {
			s.errs.write(w, r, explainFailed(err))
			return
		}
	}
	// The answer comes after the whole upload is read, so the write deadline moves too.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(batchUploadTimeout))
	_ = rc.SetWriteDeadline(time.Now().Add(batchUploadTimeout))
	owner, _ := jobOwner(w)
	j, existed, err := jobs.Submit(r.Context(), r.Body, fraud.JobUpload{
		Owner: owner, IdempotencyKey: key,
		ContentType: r.Header.Get("Content-Type"), ContentEncoding: r.Header.Get("Content-Encoding"),
		Explain: explain,
	})
	if err != nil {
		var ae *txjson.AttackError
		if errors.As(err, &ae) {
			s.attack(w, r, ae.Finding)
			return
		}
		s.errs.write(w, r, err)
		return
	}
	out := wire.BatchSubmitResponse{JobID: j.ID, Status: j.Status, StatusURL: "/batch/" + j.ID + "/status", ResultsURL: "/batch/" + j.ID + "/results"}
	w.Header().Set("Location", out.StatusURL)
	if existed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusAccepted, out)
}

// statusOf is the API view of j at now.
func statusOf(j fraud.Job, now time.Time, withTop bool) wire.BatchStatusResponse {
	out := wire.BatchStatusResponse{
		JobID:           j.ID,
		Status:          j.Status,
		ProgressPercent: math.Round(j.ProgressPercent()*100) / 100,
		ProcessedCount:  j.Processed,
		TotalCount:      j.Total,
		InvalidCount:    j.Invalid,
		FraudCount:      j.Fraud,
		CreatedAt:       j.CreatedAt,
		ModelVersion:    j.ModelVersion,
	}
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	out.StartedAt = opt(j.StartedAt)
	out.FinishedAt = opt(j.FinishedAt)
	out.EstimatedCompletion = opt(j.EstimatedCompletion(now).UTC().Truncate(time.Second))
	if j.Error != "" {
		out.Error = &j.Error
	}
	if withTop {
		out.PartialResults = j.Top
	}
	return out
}

func (s *Server) handleBatchStatus(w http.ResponseWriter, r *http.Request) {
	jobs := s.jobsOr503(w, r)
	if jobs == nil {
		return
	}
	j, ok := s.visibleJob(w, r, jobs)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, statusOf(j, s.opts.Now(), true))
}

func (s *Server) handleBatchList(w http.ResponseWriter, r *http.Request) {
	jobs := s.jobsOr503(w, r)
	if jobs == nil {
		return
	}
	q := r.URL.Query()
	owner, admin := jobOwner(w)
	f := fraud.JobFilter{Owner: owner, Everyone: admin, Status: fraud.JobStatus(q.Get("status")), Limit: 100}
	var details []fraud.Detail
	switch f.Status {
	case "", fraud.JobQueued, fraud.JobRunning, fraud.JobCompleted, fraud.JobFailed, fraud.JobCancelled:
	default:
		details = append(details, fraud.FieldError("status", "must be queued, running, completed, failed or cancelled", truncate(string(f.Status))))
	}
	details = intParam(q.Get("offset"), "offset", 0, 1<<30, &f.Offset, details)
	details = intParam(q.Get("limit"), "limit", 1, 1000, &f.Limit, details)
	if len(details) > 0 {
		s.errs.write(w, r, invalid(details))
		return
	}
	list, total, err := jobs.List(r.Context(), f)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	now := s.opts.Now()
	out := wire.BatchListResponse{Jobs: make([]wire.BatchStatusResponse, 0, len(list)), Total: total, Offset: f.Offset, Limit: f.Limit}
	for _, j := range list {
		out.Jobs = append(out.Jobs, statusOf(j, now, false))
	}
	writeJSON(w, http.StatusOK, out)
}

// intParam parses a whole-number query parameter into dst when it is given, adding a detail
// to details when it is not a number from lo to hi.
func intParam[T int | int64](v, name string, lo, hi T, dst *T, details []fraud.Detail) []fraud.Detail {
	if v == "" {
		return details
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || T(n) < lo || T(n) > hi {
		return append(details, fraud.FieldError(name, "must be a whole number from "+strconv.FormatInt(int64(lo), 10)+" to "+strconv.FormatInt(int64(hi), 10), truncate(v)))
	}
	*dst = T(n)
	return details
}

// resultsFormat picks the results encoding from Accept: CSV, NDJSON or (by default) paged JSON.
func resultsFormat(accept string) string {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "text/csv":
			return "csv"
		case "application/x-ndjson", "application/ndjson", "application/jsonl":
			return "ndjson"
		case "application/json":
			return "json"
		}
	}
	return "json"
}

func (s *Server) handleBatchResults(w http.ResponseWriter, r *http.Request) {
	jobs := s.jobsOr503(w, r)
	if jobs == nil {
		return
	}
	format := resultsFormat(r.Header.Get("Accept"))
	q := r.URL.Query()
	var offset, limit int64
	if format == "json" {
		limit = defaultResultsLimit
	}
	details := intParam(q.Get("offset"), "offset", 0, math.MaxInt64-maxResultsLimit, &offset, nil)
	hi := int64(math.MaxInt64 - maxResultsLimit)
	if format == "json" {
		hi = maxResultsLimit
	}
	details = intParam(q.Get("limit"), "limit", 1, hi, &limit, details)
	if len(details) > 0 {
		s.errs.write(w, r, invalid(details))
		return
	}
	j, ok := s.visibleJob(w, r, jobs)
	if !ok {
		return
	}
	to := int64(0) // to the end
	if limit > 0 {
		to = offset + limit
	}
	if format == "json" {
		out := wire.BatchResultsResponse{JobID: j.ID, Status: j.Status, Offset: offset, Limit: limit, Total: j.Total,
			Results: make([]fraud.JobResult, 0, min(limit, max(j.Processed-offset, 0)))}
		err := jobs.Results(r.Context(), j.ID, offset, to, func(res *fraud.JobResult) error {
			out.Results = append(out.Results, *res)
			return nil
		})
		if err != nil {
			s.errs.write(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}

	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(batchDownloadTimeout))
	h := w.Header()
	h.Set("X-Job-Status", string(j.Status))
	h.Set("X-Job-Total", strconv.FormatInt(j.Total, 10))
	h.Set("X-Job-Processed", strconv.FormatInt(j.Processed, 10))
	bw := bufio.NewWriterSize(w, 64<<10)
	var line []byte
	var write func(res *fraud.JobResult) error
	if format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+j.ID+`.csv"`)
		if j.Explain {
			bw.WriteString(dataset.ResultsHeader + dataset.ReasonColumns + "\n")
		} else {
			bw.WriteString(dataset.ResultsHeader + "\n")
		}
		write = func(res *fraud.JobResult) error {
			line = dataset.AppendResult(line[:0], res, j.Explain)
			_, err := bw.Write(line)
			return err
		}
	} else {
		h.Set("Content-Type", "application/x-ndjson")
		write = func(res *fraud.JobResult) error {
			line = appendResultJSON(line[:0], res)
			_, err := bw.Write(line)
			return err
		}
	}
	err := jobs.Results(r.Context(), j.ID, offset, to, write)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		if !headerWritten(w) {
			s.errs.write(w, r, err)
			return
		}
		// The answer has started: cut the connection so that the client sees a failed
		// download, never a silently truncated one.
		s.logger.LogAttrs(r.Context(), slog.LevelError, "results download failed",
			slog.String("request_id", requestID(w)), slog.String("job_id", j.ID), slog.String("error", err.Error()))
		panic(http.ErrAbortHandler)
	}
}

// headerWritten tells whether the answer's status has been sent.
func headerWritten(w http.ResponseWriter) bool { return stateOf(w).status != 0 }

// appendResultJSON encodes a result as an NDJSON line, with the fields of fraud.JobResult.
func appendResultJSON(b []byte, r *fraud.JobResult) []byte {
	b = append(b, `{"row":`...)
	b = strconv.AppendInt(b, r.Row, 10)
	b = append(b, `,"transaction_id":`...)
	b = appendString(b, r.TransactionID)
	b = append(b, `,"fraud_probability":`...)
	b = strconv.AppendFloat(b, r.Probability, 'g', -1, 64)
	b = append(b, `,"is_fraud":`...)
	b = strconv.AppendBool(b, r.IsFraud)
	if r.Error == "" {
		b = append(b, `,"risk_level":"`...)
		b = append(b, r.Risk...)
		b = append(b, '"')
	} else {
		b = append(b, `,"error":`...)
		b = appendString(b, r.Error)
	}
	if len(r.Reasons) > 0 {
		b = append(b, `,"reasons":[`...)
		for i, rs := range r.Reasons {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"feature":`...)
			b = appendString(b, rs.Feature)
			b = append(b, `,"contribution":`...)
			b = appendNumber(b, rs.Contribution)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...)
}

func (s *Server) handleBatchDelete(w http.ResponseWriter, r *http.Request) {
	jobs := s.jobsOr503(w, r)
	if jobs == nil {
		return
	}
	j, ok := s.visibleJob(w, r, jobs)
	if !ok {
		return
	}
	out := wire.BatchDeleteResponse{JobID: j.ID}
	var err error
	if j.Status.Finished() {
		err = jobs.Delete(r.Context(), j.ID)
		out.Status, out.Deleted = j.Status, true
	} else {
		j, err = jobs.Cancel(r.Context(), j.ID)
		out.Status = j.Status
	}
	if err != nil {
		s.audit(r, w, fraud.ActionJobDelete, fraud.OutcomeFailure, j.ID+": "+err.Error())
		s.errs.write(w, r, err)
		return
	}
	what := "cancelled"
	if out.Deleted {
		what = "deleted"
	}
	s.audit(r, w, fraud.ActionJobDelete, fraud.OutcomeSuccess, "job "+j.ID+" "+what+" (owner "+strconv.Quote(j.Owner)+")")
	writeJSON(w, http.StatusOK, out)
}

// batchOpenAPI describes the /batch routes for the OpenAPI document, registering their
// schemas with g.
func batchOpenAPI(g *schemaGen) (obj, error) {
	for _, t := range []reflect.Type{
		reflect.TypeFor[wire.BatchSubmitResponse](),
		reflect.TypeFor[wire.BatchStatusResponse](),
		reflect.TypeFor[wire.BatchListResponse](),
		reflect.TypeFor[wire.BatchResultsResponse](),
		reflect.TypeFor[wire.BatchDeleteResponse](),
	} {
		if _, err := g.ref(t); err != nil {
			return nil, err
		}
	}
	notFound := errorResponses()["404"].(obj)
	notFound["description"] = "No such job, or one of another key (JOB_NOT_FOUND); or no such route (NOT_FOUND)."
	notFound["content"].(obj)["application/json"].(obj)["example"] = errorExample(fraud.CodeJobNotFound, "no such job: job_0000", fraud.Detail{"job_id": "job_0000"})
	jobID := obj{"name": "job_id", "in": "path", "required": true, "description": "The job's identifier, from POST /batch.", "schema": obj{"type": "string"}}
	op := func(id, summary, desc string, ok obj, codes ...string) obj {
		responses := mergeResponses(ok, errorResponses(append(codes, "401", "403", "429", "503")...))
		o := obj{
			"operationId":      id,
			"summary":          summary,
			"description":      desc,
			"tags":             []any{"batch"},
			"responses":        responses,
			"security":         []any{obj{"apiKey": []any{}}, obj{"bearer": []any{}}},
			"x-required-scope": "batch",
		}
		if id != "listBatchJobs" && id != "submitBatchJob" {
			responses["404"] = notFound
			o["parameters"] = []any{jobID}
		}
		return o
	}
	page := []any{
		obj{"name": "offset", "in": "query", "schema": obj{"type": "integer", "minimum": 0, "default": 0}},
		obj{"name": "limit", "in": "query", "schema": obj{"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
	}

	submit := op("submitBatchJob", "Submit a batch job",
		"Uploads transactions to score in the background and answers at once with the job's id. The body is CSV with the creditcard.csv header (Time, V1..V28, Amount; an optional transaction_id first or last column; a Class column is ignored; any other column is refused), JSON {\"transactions\": [...]} or NDJSON (one transaction object per line), by Content-Type, optionally gzip-compressed (Content-Encoding: gzip). It is read as a stream, up to BATCH_JOB_MAX_ROWS rows and BATCH_JOB_MAX_BYTES bytes, counted both as sent and decompressed; over either, the answer is 413 and nothing of the upload is kept. A malformed CSV line or NDJSON record, or a transaction with a bad field, does not refuse the upload: it becomes a row with an error in the results. With an Idempotency-Key header, a retried submission by the same key answers with the first job (and Idempotent-Replayed: true) instead of creating a second.",
		obj{"202": jsonResponse("The job was stored and queued; Location is its status_url.", "BatchSubmitResponse")}, "400", "413", "415")
	submit["parameters"] = []any{
		obj{"name": "Idempotency-Key", "in": "header", "description": "The client's key for this submission, 1 to 128 letters, digits or _-.:; unique per API key.", "schema": obj{"type": "string", "maxLength": maxIdempotencyKey}},
		obj{"name": "explain", "in": "query", "description": "true: the job's results carry reasons, each row's 3 features of largest |contribution| to its margin (JobResult.reasons; reason_1..reason_3 columns of feature:contribution in the CSV results). Kept with the job, so a job resumed after a restart still explains. A model that cannot be explained answers 400 EXPLANATION_UNAVAILABLE; anything but true or false is 400 VALIDATION_ERROR.", "schema": obj{"type": "boolean", "default": false}},
	}
	submit["requestBody"] = obj{"required": true, "content": obj{
		"text/csv":             obj{"schema": obj{"type": "string"}, "example": "transaction_id,Time,V1,V2,V3,V4,V5,V6,V7,V8,V9,V10,V11,V12,V13,V14,V15,V16,V17,V18,V19,V20,V21,V22,V23,V24,V25,V26,V27,V28,Amount\ntxn-0001,0,-1.36,-0.07,2.54,1.38,-0.34,0.46,0.24,0.1,0.36,0.09,-0.55,-0.62,-0.99,-0.31,1.47,-0.47,0.21,0.03,0.4,0.25,-0.02,0.28,-0.11,0.07,0.13,-0.19,0.13,-0.02,149.62\n"},
		"application/json":     obj{"schema": obj{"type": "object", "required": []any{"transactions"}, "additionalProperties": false, "properties": obj{"transactions": obj{"type": "array", "items": ref("TransactionRequest")}}}},
		"application/x-ndjson": obj{"schema": obj{"type": "string"}, "description": "One TransactionRequest object per line."},
	}}
	list := op("listBatchJobs", "List batch jobs", "The caller's jobs, newest first (an admin key sees everyone's), without their partial results.",
		obj{"200": jsonResponse("The jobs.", "BatchListResponse")}, "400")
	list["parameters"] = append([]any{obj{"name": "status", "in": "query", "description": "Only jobs with this status.", "schema": obj{"type": "string", "enum": []any{"queued", "running", "completed", "failed", "cancelled"}}}}, page...)
	status := op("getBatchJobStatus", "A batch job's progress",
		"Status, counters, progress, the estimated completion of a running job and the highest-risk rows scored so far.",
		obj{"200": jsonResponse("The job's status.", "BatchStatusResponse")})
	results := op("getBatchJobResults", "A batch job's results",
		"Results in input order, one per input row: paged JSON by default (offset, limit at most 10000), or the whole job streamed as CSV (Accept: text/csv; columns row, transaction_id, fraud_probability, is_fraud, risk_level, error, and for a job submitted with explain=true reason_1, reason_2, reason_3, each feature:contribution, empty on an invalid row) or NDJSON (Accept: application/x-ndjson), where offset and limit are optional. For an unfinished job, the answer is 200 with the rows scored so far; the streams carry the job's status in X-Job-Status.",
		obj{"200": jsonResponse("The results.", "BatchResultsResponse")}, "400")
	results["parameters"] = []any{jobID,
		obj{"name": "offset", "in": "query", "description": "First row (0-based).", "schema": obj{"type": "integer", "minimum": 0, "default": 0}},
		obj{"name": "limit", "in": "query", "description": "Most rows: 1 to 10000 for JSON (default 1000); unlimited by default for the streams.", "schema": obj{"type": "integer", "minimum": 1}},
	}
	ok := results["responses"].(obj)["200"].(obj)
	ok["content"].(obj)["text/csv"] = obj{"schema": obj{"type": "string"}}
	ok["content"].(obj)["application/x-ndjson"] = obj{"schema": obj{"type": "string"}, "description": "One JobResult object per line."}
	ok["headers"].(obj)["X-Job-Status"] = obj{"description": "The job's status (streams only).", "schema": obj{"type": "string"}}
	del := op("deleteBatchJob", "Cancel or delete a batch job",
		"Cancels a queued or running job (its results so far are kept), or deletes a finished job with its results. Only the key that submitted the job, or an admin key, may. Audited (job_delete).",
		obj{"200": jsonResponse("The job was cancelled or deleted.", "BatchDeleteResponse")})
	return obj{
		"/batch":                  obj{"post": submit, "get": list},
		"/batch/{job_id}/status":  obj{"get": status},
		"/batch/{job_id}/results": obj{"get": results},
		"/batch/{job_id}":         obj{"delete": del},
	}, nil
}
