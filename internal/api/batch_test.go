package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/security"
)

const keyBatchOther = "fg_batch_other_0123456789abcdef"

// fakeJobs is an in-memory JobService: jobs by id, each with its results.
type fakeJobs struct {
	mu        sync.Mutex
	jobs      map[string]fraud.Job
	results   map[string][]fraud.JobResult
	submitted []fraud.JobUpload
	bodies    []string
	submitErr error
	cancelled []string
	deleted   []string
}

func newFakeJobs() *fakeJobs {
	return &fakeJobs{jobs: map[string]fraud.Job{}, results: map[string][]fraud.JobResult{}}
}

func (f *fakeJobs) add(j fraud.Job, results ...fraud.JobResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs[j.ID] = j
	f.results[j.ID] = results
}

func (f *fakeJobs) Submit(ctx context.Context, body io.Reader, up fraud.JobUpload) (fraud.Job, bool, error) {
	b, _ := io.ReadAll(body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submitted = append(f.submitted, up)
	f.bodies = append(f.bodies, string(b))
	if f.submitErr != nil {
		return fraud.Job{}, false, f.submitErr
	}
	for _, j := range f.jobs {
		if up.IdempotencyKey != "" && j.Owner == up.Owner && j.IdempotencyKey == up.IdempotencyKey {
			return j, true, nil
		}
	}
	j := fraud.Job{ID: fmt.Sprintf("job_%d", len(f.jobs)+1), Owner: up.Owner, IdempotencyKey: up.IdempotencyKey, Status: fraud.JobQueued, Total: 3, CreatedAt: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	f.jobs[j.ID] = j
	return j, false, nil
}

func (f *fakeJobs) Job(ctx context.Context, id string) (fraud.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return fraud.Job{}, &fraud.Error{Code: fraud.CodeJobNotFound, Message: "no such job: " + id}
	}
	return j, nil
}

func (f *fakeJobs) List(ctx context.Context, flt fraud.JobFilter) ([]fraud.Job, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fraud.Job
	for _, j := range f.jobs {
		if (flt.Everyone || j.Owner == flt.Owner) && (flt.Status == "" || j.Status == flt.Status) {
			out = append(out, j)
		}
	}
	return out, len(out), nil
}

func (f *fakeJobs) Cancel(ctx context.Context, id string) (fraud.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[id]
	j.Status = fraud.JobCancelled
	f.jobs[id] = j
	f.cancelled = append(f.cancelled, id)
	return j, nil
}

func (f *fakeJobs) Delete(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.jobs, id)
	f.deleted = append(f.deleted, id)
	return nil
}

func (f *fakeJobs) Results(ctx context.Context, id string, from, to int64, fn func(*fraud.JobResult) error) error {
	f.mu.Lock()
	res := f.results[id]
	f.mu.Unlock()
	for _, r := range res {
		if r.Row < from || (to > 0 && r.Row >= to) {
			continue
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

// memAudit keeps audit events in memory.
type memAudit struct {
	mu     sync.Mutex
	events []fraud.AuditEvent
}

func (m *memAudit) Record(ctx context.Context, e fraud.AuditEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
}

func (m *memAudit) List(ctx context.Context, f fraud.AuditFilter) ([]fraud.AuditEvent, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]fraud.AuditEvent(nil), m.events...), len(m.events), nil
}

// mustBatchServer is a server with a keys file (two batch keys and a predict key), the admin
// key and jobs as its job service.
func mustBatchServer(t testing.TB, jobs JobService, audit *memAudit) *Server {
	t.Helper()
	ks, err := security.NewKeySet([]security.KeyEntry{
		{Name: "risk-team", SHA256: security.HashKey(keyBatch), Scopes: []string{"batch"}},
		{Name: "fraud-ops", SHA256: security.HashKey(keyBatchOther), Scopes: []string{"batch"}},
		{Name: "scoring-app", SHA256: security.HashKey(keyPredict), Scopes: []string{"predict"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 26, 12, 0, 40, 0, time.UTC) }
	g := Guard{Keys: ks, HasKeysFile: true, Admin: mustAdmin(t), Audit: audit}
	s, err := NewServer(slog.New(slog.DiscardHandler), Options{Version: "t", Now: now, Jobs: jobs}, staticModels{mustModel(t)}, fixedSystem{}, g)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func batchCall(t testing.TB, h http.Handler, method, path, key, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		r.Header.Set("X-API-Key", key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestBatchSubmit(t *testing.T) {
	jobs := newFakeJobs()
	s := mustBatchServer(t, jobs, &memAudit{})
	w := batchCall(t, s, "POST", "/batch", keyBatch, "Time,V1\n", "Content-Type", "text/csv", "Content-Encoding", "gzip", "Idempotency-Key", "day-2026-11-25")
	if w.Code != http.StatusAccepted {
		t.Fatalf("got %d %s, want 202", w.Code, w.Body)
	}
	var out BatchSubmitResponse
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	want := BatchSubmitResponse{JobID: "job_1", Status: "queued", StatusURL: "/batch/job_1/status", ResultsURL: "/batch/job_1/results"}
	if out != want || w.Header().Get("Location") != want.StatusURL {
		t.Errorf("got %+v (Location %q), want %+v", out, w.Header().Get("Location"), want)
	}
	up := jobs.submitted[0]
	if up.Owner != "risk-team" || up.IdempotencyKey != "day-2026-11-25" || up.ContentType != "text/csv" || up.ContentEncoding != "gzip" || jobs.bodies[0] != "Time,V1\n" {
		t.Errorf("the service got %+v and body %q", up, jobs.bodies[0])
	}
	w = batchCall(t, s, "POST", "/batch", keyBatch, "again", "Content-Type", "text/csv", "Idempotency-Key", "day-2026-11-25")
	if w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"job_1"`) || w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: got %d %s %v, want 202 with job_1, replayed", w.Code, w.Body, w.Header())
	}

	tests := []struct {
		name, key string
		header    []string
		err       error
		status    int
		code      string
	}{
		{"bad idempotency key", keyBatch, []string{"Idempotency-Key", "no spaces allowed"}, nil, 400, "VALIDATION_ERROR"},
		{"too large", keyBatch, nil, &fraud.Error{Code: fraud.CodePayloadTooLarge, Message: "more than 5 rows"}, 413, "PAYLOAD_TOO_LARGE"},
		{"media type", keyBatch, nil, &fraud.Error{Code: fraud.CodeUnsupportedMedia, Message: "csv please"}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"store down", keyBatch, nil, fmt.Errorf("add chunk: %w", fraud.Errorf(fraud.CodeServiceUnavailable, "the disk holding the database is full")), 503, "SERVICE_UNAVAILABLE"},
		{"no key", "", nil, nil, 401, "UNAUTHORIZED"},
		{"predict key", keyPredict, nil, nil, 403, "FORBIDDEN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jobs.submitErr = tc.err
			w := batchCall(t, s, "POST", "/batch", tc.key, "x", append([]string{"Content-Type", "text/csv"}, tc.header...)...)
			var body ErrorResponse
			json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != tc.status || body.ErrorCode != tc.code {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tc.status, tc.code)
			}
		})
	}
}

func TestBatchStatusAndList(t *testing.T) {
	jobs := newFakeJobs()
	started := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	top := []fraud.JobResult{{Row: 7, TransactionID: "t7", Probability: 0.97, IsFraud: true, Risk: fraud.RiskCritical}}
	jobs.add(fraud.Job{ID: "job_mine", Owner: "risk-team", Status: fraud.JobRunning, Total: 1000, Processed: 250, Invalid: 2, Fraud: 3,
		CreatedAt: started, StartedAt: started, Top: top})
	jobs.add(fraud.Job{ID: "job_theirs", Owner: "fraud-ops", Status: fraud.JobFailed, Total: 10, Processed: 0, CreatedAt: started,
		StartedAt: started, FinishedAt: started.Add(time.Second), Error: "the disk is full"})
	s := mustBatchServer(t, jobs, &memAudit{})

	w := batchCall(t, s, "GET", "/batch/job_mine/status", keyBatch, "")
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	want := map[string]any{
		"job_id": "job_mine", "status": "running", "progress_percent": 25.0, "processed_count": 250.0, "total_count": 1000.0,
		"invalid_count": 2.0, "fraud_count": 3.0, "created_at": "2026-11-26T12:00:00Z", "started_at": "2026-11-26T12:00:00Z",
		"finished_at": nil, "error": nil,
		// 250 rows in the 40 s since the start: 750 more take 120 s.
		"estimated_completion": "2026-11-26T12:02:40Z",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
	if pr, _ := got["partial_results"].([]any); len(pr) != 1 || pr[0].(map[string]any)["transaction_id"] != "t7" {
		t.Errorf("partial_results: got %v", got["partial_results"])
	}

	tests := []struct {
		name, path, key string
		status          int
		code            string
		ids             string
	}{
		{"other owner's job", "/batch/job_theirs/status", keyBatch, 404, "JOB_NOT_FOUND", ""},
		{"unknown job", "/batch/job_nope/status", keyBatch, 404, "JOB_NOT_FOUND", ""},
		{"admin sees any job", "/batch/job_theirs/status", adminEnv, 200, "", ""},
		{"list own", "/batch", keyBatch, 200, "", "[job_mine]"},
		{"list other", "/batch", keyBatchOther, 200, "", "[job_theirs]"},
		{"list all as admin", "/batch?status=failed", adminEnv, 200, "", "[job_theirs]"},
		{"bad status filter", "/batch?status=done", keyBatch, 400, "VALIDATION_ERROR", ""},
		{"bad limit", "/batch?limit=0", keyBatch, 400, "VALIDATION_ERROR", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := batchCall(t, s, "GET", tc.path, tc.key, "")
			var body map[string]any
			json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != tc.status || (tc.code != "" && body["error_code"] != tc.code) {
				t.Fatalf("got %d %s, want %d %s", w.Code, w.Body, tc.status, tc.code)
			}
			if tc.ids != "" {
				var ids []string
				for _, j := range body["jobs"].([]any) {
					ids = append(ids, j.(map[string]any)["job_id"].(string))
					if _, ok := j.(map[string]any)["partial_results"]; ok {
						t.Errorf("a listing carries partial_results: %v", j)
					}
				}
				if fmt.Sprint(ids) != tc.ids {
					t.Errorf("got %v, want %s", ids, tc.ids)
				}
			}
		})
	}
}

func TestBatchResults(t *testing.T) {
	jobs := newFakeJobs()
	jobs.add(fraud.Job{ID: "job_a", Owner: "risk-team", Status: fraud.JobRunning, Total: 4, Processed: 3},
		fraud.JobResult{Row: 0, TransactionID: "t0", Probability: 0.001, Risk: fraud.RiskLow},
		fraud.JobResult{Row: 1, Error: `upload:3: column V1: "a,b" is not a number`},
		fraud.JobResult{Row: 2, TransactionID: "t2", Probability: 0.9, IsFraud: true, Risk: fraud.RiskCritical},
	)
	s := mustBatchServer(t, jobs, &memAudit{})

	w := batchCall(t, s, "GET", "/batch/job_a/results?offset=1&limit=5", keyBatch, "")
	var page BatchResultsResponse
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || w.Code != 200 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	if page.JobID != "job_a" || page.Status != "running" || page.Offset != 1 || page.Limit != 5 || page.Total != 4 || len(page.Results) != 2 || page.Results[1].Row != 2 {
		t.Errorf("got %+v, want rows 1 and 2 of a running job of 4", page)
	}

	w = batchCall(t, s, "GET", "/batch/job_a/results", keyBatch, "", "Accept", "text/csv")
	wantCSV := "row,transaction_id,fraud_probability,is_fraud,risk_level,error\n" +
		"0,t0,0.001,false,low,\n" +
		"1,,,,,\"upload:3: column V1: \"\"a,b\"\" is not a number\"\n" +
		"2,t2,0.9,true,critical,\n"
	if w.Code != 200 || w.Body.String() != wantCSV || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") || w.Header().Get("X-Job-Status") != "running" {
		t.Errorf("CSV: got %d %q %v, want %q", w.Code, w.Body, w.Header(), wantCSV)
	}

	w = batchCall(t, s, "GET", "/batch/job_a/results?offset=1", keyBatch, "", "Accept", "application/x-ndjson")
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	if w.Code != 200 || len(lines) != 2 || w.Header().Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("NDJSON: got %d %q", w.Code, w.Body)
	}
	for i, line := range lines {
		var r fraud.JobResult
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Row != int64(i+1) {
			t.Errorf("line %d: got %+v (%v)", i, r, err)
		}
	}

	for _, tc := range []struct {
		path, key string
		status    int
	}{
		{"/batch/job_a/results?limit=20000", keyBatch, 400},
		{"/batch/job_a/results?offset=-1", keyBatch, 400},
		{"/batch/job_a/results", keyBatchOther, 404},
		{"/batch/job_x/results", keyBatch, 404},
	} {
		if w := batchCall(t, s, "GET", tc.path, tc.key, ""); w.Code != tc.status {
			t.Errorf("%s: got %d %s, want %d", tc.path, w.Code, w.Body, tc.status)
		}
	}
}

func TestBatchDelete(t *testing.T) {
	jobs := newFakeJobs()
	jobs.add(fraud.Job{ID: "job_run", Owner: "risk-team", Status: fraud.JobRunning})
	jobs.add(fraud.Job{ID: "job_done", Owner: "risk-team", Status: fraud.JobCompleted})
	audit := &memAudit{}
	s := mustBatchServer(t, jobs, audit)

	if w := batchCall(t, s, "DELETE", "/batch/job_run", keyBatchOther, ""); w.Code != 404 {
		t.Errorf("another key: got %d %s, want 404", w.Code, w.Body)
	}
	w := batchCall(t, s, "DELETE", "/batch/job_run", keyBatch, "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"cancelled","deleted":false`) {
		t.Errorf("owner cancels: got %d %s", w.Code, w.Body)
	}
	w = batchCall(t, s, "DELETE", "/batch/job_done", adminEnv, "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"completed","deleted":true`) {
		t.Errorf("admin deletes: got %d %s", w.Code, w.Body)
	}
	if fmt.Sprint(jobs.cancelled, jobs.deleted) != "[job_run] [job_done]" {
		t.Errorf("got cancelled %v, deleted %v", jobs.cancelled, jobs.deleted)
	}
	var deletes []string
	for _, e := range audit.events {
		if e.Action == fraud.ActionJobDelete {
			deletes = append(deletes, e.KeyName+": "+e.Detail)
		}
	}
	want := `[risk-team: job job_run cancelled (owner "risk-team") admin: job job_done deleted (owner "risk-team")]`
	if fmt.Sprint(deletes) != want {
		t.Errorf("audit: got %v, want %s", deletes, want)
	}
}

func TestBatchWithoutJobService(t *testing.T) {
	s := mustServer(t, Options{}, staticModels{mustModel(t)})
	for _, rq := range []request{{method: "POST", path: "/batch", body: []byte("{}")}, {method: "GET", path: "/batch/x/status"}} {
		if w := do(t, s, rq); w.Code != 503 {
			t.Errorf("%s %s: got %d %s, want 503", rq.method, rq.path, w.Code, w.Body)
		}
	}
}
