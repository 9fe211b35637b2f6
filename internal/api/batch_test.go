package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/batch"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/security/apikey"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
	"github.com/fraudguard/fraudguard/wire"
)

const keyBatchOther = "fg_batch_other_0123456789abcdef"

// jobsStart is the batch service's clock: every job is created and started at it, 40 s
// before the server's clock in mustBatchServer.
var jobsStart = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// faultyJobStore is the SQLite job store with the faults the tests need on demand: writes
// that fail, and workers that find no more chunks to claim once a budget is spent, which
// holds a job running part-way through.
type faultyJobStore struct {
	fraud.JobStore
	mu          sync.Mutex
	addErr      error // AddChunk fails with it when set
	completeErr error // CompleteChunk fails with it when set
	claims      int   // chunks still to hand out; negative: no limit
}

func (s *faultyJobStore) failAdd(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addErr = err
}

func (s *faultyJobStore) failComplete(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.completeErr = err
}

// allowClaims lets workers claim n more chunks; negative lifts the limit.
func (s *faultyJobStore) allowClaims(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims = n
}

func (s *faultyJobStore) AddChunk(ctx context.Context, jobID string, c fraud.ChunkInput) error {
	s.mu.Lock()
	err := s.addErr
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("add chunk: %w", err)
	}
	return s.JobStore.AddChunk(ctx, jobID, c)
}

func (s *faultyJobStore) CompleteChunk(ctx context.Context, t fraud.ChunkTask, out fraud.ChunkOutput, now time.Time) (bool, bool, error) {
	s.mu.Lock()
	err := s.completeErr
	s.mu.Unlock()
	if err != nil {
		return false, false, fmt.Errorf("complete chunk: %w", err)
	}
	return s.JobStore.CompleteChunk(ctx, t, out, now)
}

// ClaimChunk holds the lock through the claim so that two workers never overspend the budget.
func (s *faultyJobStore) ClaimChunk(ctx context.Context, holder string, now time.Time, lease time.Duration) (fraud.ChunkTask, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claims == 0 {
		return fraud.ChunkTask{}, false, nil
	}
	t, ok, err := s.JobStore.ClaimChunk(ctx, holder, now, lease)
	if ok && s.claims > 0 {
		s.claims--
	}
	return t, ok, err
}

// mustJobs is the real job service over a SQLite store in t.TempDir(), scoring with m, with
// a fixed clock (jobsStart), ids job_1, job_2, ... and fast polling. Its workers run (until t
// ends) only when run is true: a job then stays queued.
func mustJobs(t testing.TB, m *model.Model, opts batch.Options, run bool) (*batch.Service, *faultyJobStore) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "fraudguard.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := &faultyJobStore{JobStore: db, claims: -1}
	var ids atomic.Int64
	opts.Workers = 2
	opts.PollInterval = 2 * time.Millisecond
	opts.Now = func() time.Time { return jobsStart }
	opts.NewID = func() string { return "job_" + strconv.FormatInt(ids.Add(1), 10) }
	jobs := batch.New(store, staticModels{m}, slog.New(slog.DiscardHandler), opts)
	if run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { jobs.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	return jobs, store
}

// mustWaitJob polls the job until ready says it is in the state wanted, and returns it.
func mustWaitJob(t testing.TB, jobs *batch.Service, id string, ready func(fraud.Job) bool) fraud.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := jobs.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ready(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is still %+v", id, j)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// withFeatures is firstRow with some features replaced.
func withFeatures(kv map[int]float64) [fraud.NumFeatures]float64 {
	x := firstRow
	for i, v := range kv {
		x[i] = v
	}
	return x
}

// csvRow is the CSV line of a transaction; v1, when set, is written as V1 verbatim.
func csvRow(id string, x [fraud.NumFeatures]float64, v1 string) string {
	fields := []string{id}
	for _, v := range x {
		fields = append(fields, strconv.FormatFloat(v, 'g', -1, 64))
	}
	if v1 != "" {
		fields[2] = v1
	}
	return strings.Join(fields, ",") + "\n"
}

// csvUpload is a CSV upload of the rows, with the header.
func csvUpload(rows ...string) string {
	return "transaction_id," + strings.Join(fraud.FeatureNames(), ",") + "\n" + strings.Join(rows, "")
}

// mustSubmitCSV posts a CSV upload for key and returns the new job's id.
func mustSubmitCSV(t testing.TB, h http.Handler, key, body string) string {
	t.Helper()
	w := batchCall(t, h, "POST", "/batch", key, body, "Content-Type", "text/csv")
	var out wire.BatchSubmitResponse
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != http.StatusAccepted {
		t.Fatalf("submit: got %d %s, want 202", w.Code, w.Body)
	}
	return out.JobID
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
// key and jobs as its job service. Its clock reads 40 s after jobsStart.
func mustBatchServer(t testing.TB, jobs JobService, audit *memAudit) *Server {
	t.Helper()
	return mustBatchServerWith(t, jobs, audit, mustModel(t))
}

// mustBatchServerWith is mustBatchServer with m as the live model.
func mustBatchServerWith(t testing.TB, jobs JobService, audit *memAudit, m *model.Model) *Server {
	t.Helper()
	ks, err := apikey.NewSet([]apikey.Entry{
		{Name: "risk-team", SHA256: apikey.Hash(keyBatch), Scopes: []string{"batch"}},
		{Name: "fraud-ops", SHA256: apikey.Hash(keyBatchOther), Scopes: []string{"batch"}},
		{Name: "scoring-app", SHA256: apikey.Hash(keyPredict), Scopes: []string{"predict"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return jobsStart.Add(40 * time.Second) }
	g := bareGuard(t)
	g.Keys, g.HasKeysFile, g.ReloadKeys = ks, true, func() error { return nil }
	g.Audit, g.Off.Audit = audit, false
	s, err := NewServer(slog.New(slog.DiscardHandler), Options{Version: "t", Now: now, Jobs: jobs}, staticModels{m}, fixedSystem{}, g)
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
	// The workers do not run: a job stays queued.
	jobs, store := mustJobs(t, mustModel(t), batch.Options{MaxRows: 5}, false)
	s := mustBatchServer(t, jobs, &memAudit{})
	upload := csvUpload(csvRow("t0", firstRow, ""), csvRow("t1", firstRow, ""), csvRow("t2", firstRow, ""))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write([]byte(upload)); err != nil || zw.Close() != nil {
		t.Fatal(err)
	}
	w := batchCall(t, s, "POST", "/batch", keyBatch, gz.String(), "Content-Type", "text/csv", "Content-Encoding", "gzip", "Idempotency-Key", "day-2026-11-25")
	if w.Code != http.StatusAccepted {
		t.Fatalf("got %d %s, want 202", w.Code, w.Body)
	}
	var out wire.BatchSubmitResponse
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	want := wire.BatchSubmitResponse{JobID: "job_1", Status: "queued", StatusURL: "/batch/job_1/status", ResultsURL: "/batch/job_1/results"}
	if out != want || w.Header().Get("Location") != want.StatusURL {
		t.Errorf("got %+v (Location %q), want %+v", out, w.Header().Get("Location"), want)
	}
	// Three rows stored: the body was read as gzipped CSV.
	if j, err := jobs.Job(context.Background(), "job_1"); err != nil || j.Owner != "risk-team" || j.IdempotencyKey != "day-2026-11-25" || j.Total != 3 || j.Status != fraud.JobQueued {
		t.Errorf("the service stored %+v (%v), want risk-team's queued job of 3 rows with the idempotency key", j, err)
	}
	// A client retries with the same upload; its rows are not stored again (see the count below).
	w = batchCall(t, s, "POST", "/batch", keyBatch, gz.String(), "Content-Type", "text/csv", "Content-Encoding", "gzip", "Idempotency-Key", "day-2026-11-25")
	if w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"job_1"`) || w.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: got %d %s %v, want 202 with job_1, replayed", w.Code, w.Body, w.Header())
	}

	var six []string
	for i := range 6 {
		six = append(six, csvRow("t"+strconv.Itoa(i), firstRow, ""))
	}
	tests := []struct {
		name, key, body string
		header          []string
		addErr          error
		status          int
		code            string
	}{
		{"bad idempotency key", keyBatch, upload, []string{"Idempotency-Key", "no spaces allowed"}, nil, 400, "VALIDATION_ERROR"},
		{"too large", keyBatch, csvUpload(six...), nil, nil, 413, "PAYLOAD_TOO_LARGE"},
		{"media type", keyBatch, upload, []string{"Content-Type", "application/xml"}, nil, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"store down", keyBatch, upload, nil, fraud.Errorf(fraud.CodeServiceUnavailable, "the disk holding the database is full"), 503, "SERVICE_UNAVAILABLE"},
		{"no key", "", upload, nil, nil, 401, "UNAUTHORIZED"},
		{"predict key", keyPredict, upload, nil, nil, 403, "FORBIDDEN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store.failAdd(tc.addErr)
			defer store.failAdd(nil)
			w := batchCall(t, s, "POST", "/batch", tc.key, tc.body, append([]string{"Content-Type", "text/csv"}, tc.header...)...)
			var body wire.ErrorResponse
			json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != tc.status || body.ErrorCode != tc.code {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tc.status, tc.code)
			}
		})
	}
	if list, n, err := jobs.List(context.Background(), fraud.JobFilter{Everyone: true, Limit: 100}); err != nil || n != 1 {
		t.Errorf("got %d jobs %+v (%v), want only job_1: nothing of a refused upload is kept", n, list, err)
	}
}

func TestBatchStatusAndList(t *testing.T) {
	jobs, store := mustJobs(t, mustModel(t), batch.Options{ChunkRows: 10}, true)
	s := mustBatchServer(t, jobs, &memAudit{})

	// fraud-ops' job fails: the store cannot keep its results.
	store.failComplete(fraud.Errorf(fraud.CodeServiceUnavailable, "the disk is full"))
	var rows []string
	for i := range 10 {
		rows = append(rows, csvRow("o"+strconv.Itoa(i), firstRow, ""))
	}
	theirs := mustSubmitCSV(t, s, keyBatchOther, csvUpload(rows...))
	if j := mustWaitJob(t, jobs, theirs, func(j fraud.Job) bool { return j.Status.Finished() }); j.Status != fraud.JobFailed || !strings.Contains(j.Error, "the disk is full") {
		t.Fatalf("fraud-ops' job: got %+v, want failed as the disk is full", j)
	}
	store.failComplete(nil)

	// risk-team's job of 40 rows is held after its first chunk of 10, which has 2 invalid
	// rows and 3 frauds, t7 the riskiest.
	store.allowClaims(1)
	rows = rows[:0]
	for i := range 40 {
		id := "t" + strconv.Itoa(i)
		switch i {
		case 1, 4:
			rows = append(rows, csvRow(id, firstRow, "oops"))
		case 3, 5:
			rows = append(rows, csvRow(id, withFeatures(map[int]float64{14: -8}), ""))
		case 7:
			rows = append(rows, csvRow(id, withFeatures(map[int]float64{14: -12}), ""))
		default:
			rows = append(rows, csvRow(id, firstRow, ""))
		}
	}
	mine := mustSubmitCSV(t, s, keyBatch, csvUpload(rows...))
	mustWaitJob(t, jobs, mine, func(j fraud.Job) bool { return j.Processed == 10 })

	w := batchCall(t, s, "GET", "/batch/"+mine+"/status", keyBatch, "")
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	want := map[string]any{
		"job_id": mine, "status": "running", "progress_percent": 25.0, "processed_count": 10.0, "total_count": 40.0,
		"invalid_count": 2.0, "fraud_count": 3.0, "created_at": "2026-11-26T12:00:00Z", "started_at": "2026-11-26T12:00:00Z",
		"finished_at": nil, "error": nil,
		// 10 rows in the 40 s since the start: 30 more take 120 s.
		"estimated_completion": "2026-11-26T12:02:40Z",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
	// The 8 valid rows scored so far, most risky first.
	if pr, _ := got["partial_results"].([]any); len(pr) != 8 || pr[0].(map[string]any)["transaction_id"] != "t7" {
		t.Errorf("partial_results: got %v", got["partial_results"])
	}

	tests := []struct {
		name, path, key string
		status          int
		code            string
		ids             string
	}{
		{"other owner's job", "/batch/" + theirs + "/status", keyBatch, 404, "JOB_NOT_FOUND", ""},
		{"unknown job", "/batch/job_nope/status", keyBatch, 404, "JOB_NOT_FOUND", ""},
		{"admin sees any job", "/batch/" + theirs + "/status", adminEnv, 200, "", ""},
		{"list own", "/batch", keyBatch, 200, "", "[" + mine + "]"},
		{"list other", "/batch", keyBatchOther, 200, "", "[" + theirs + "]"},
		{"list all as admin", "/batch?status=failed", adminEnv, 200, "", "[" + theirs + "]"},
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
	m := mustModel(t)
	jobs, store := mustJobs(t, m, batch.Options{ChunkRows: 3}, true)
	s := mustBatchServer(t, jobs, &memAudit{})

	// A job of 4 rows is held after its first chunk of 3: row 1 cannot be read, row 2 is a fraud.
	store.allowClaims(1)
	legit, hit := firstRow, withFeatures(map[int]float64{14: -8})
	id := mustSubmitCSV(t, s, keyBatch, csvUpload(csvRow("t0", legit, ""), csvRow("", legit, `"a,b"`), csvRow("t2", hit, ""), csvRow("t3", legit, "")))
	mustWaitJob(t, jobs, id, func(j fraud.Job) bool { return j.Processed == 3 })

	w := batchCall(t, s, "GET", "/batch/"+id+"/results?offset=1&limit=5", keyBatch, "")
	var page wire.BatchResultsResponse
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || w.Code != 200 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	if page.JobID != id || page.Status != "running" || page.Offset != 1 || page.Limit != 5 || page.Total != 4 || len(page.Results) != 2 || page.Results[1].Row != 2 {
		t.Errorf("got %+v, want rows 1 and 2 of a running job of 4", page)
	}

	// The rows score as the model scores them alone.
	line := func(row int, id string, x [fraud.NumFeatures]float64, risk fraud.RiskLevel) string {
		p := m.Probability(&x)
		if got := fraud.RiskFor(p, m.Threshold()); got != risk {
			t.Fatalf("row %d: got risk %s, want %s", row, got, risk)
		}
		return fmt.Sprintf("%d,%s,%s,%t,%s,\n", row, id, strconv.FormatFloat(p, 'g', -1, 64), p >= m.Threshold(), risk)
	}
	w = batchCall(t, s, "GET", "/batch/"+id+"/results", keyBatch, "", "Accept", "text/csv")
	wantCSV := "row,transaction_id,fraud_probability,is_fraud,risk_level,error\n" +
		line(0, "t0", legit, fraud.RiskLow) +
		"1,,,,,\"upload:3: column V1: \"\"a,b\"\" is not a number\"\n" +
		line(2, "t2", hit, fraud.RiskCritical)
	if w.Code != 200 || w.Body.String() != wantCSV || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") || w.Header().Get("X-Job-Status") != "running" {
		t.Errorf("CSV: got %d %q %v, want %q", w.Code, w.Body, w.Header(), wantCSV)
	}

	w = batchCall(t, s, "GET", "/batch/"+id+"/results?offset=1", keyBatch, "", "Accept", "application/x-ndjson")
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
		{"/batch/" + id + "/results?limit=20000", keyBatch, 400},
		{"/batch/" + id + "/results?offset=-1", keyBatch, 400},
		{"/batch/" + id + "/results", keyBatchOther, 404},
		{"/batch/job_x/results", keyBatch, 404},
	} {
		if w := batchCall(t, s, "GET", tc.path, tc.key, ""); w.Code != tc.status {
			t.Errorf("%s: got %d %s, want %d", tc.path, w.Code, w.Body, tc.status)
		}
	}
}

func TestBatchDelete(t *testing.T) {
	jobs, store := mustJobs(t, mustModel(t), batch.Options{}, true)
	audit := &memAudit{}
	s := mustBatchServer(t, jobs, audit)
	upload := csvUpload(csvRow("t0", firstRow, ""), csvRow("t1", firstRow, ""))
	done := mustSubmitCSV(t, s, keyBatch, upload)
	mustWaitJob(t, jobs, done, func(j fraud.Job) bool { return j.Status == fraud.JobCompleted })
	// The next job starts but no worker takes its chunk: it stays running.
	store.allowClaims(0)
	run := mustSubmitCSV(t, s, keyBatch, upload)
	mustWaitJob(t, jobs, run, func(j fraud.Job) bool { return j.Status == fraud.JobRunning })

	if w := batchCall(t, s, "DELETE", "/batch/"+run, keyBatchOther, ""); w.Code != 404 {
		t.Errorf("another key: got %d %s, want 404", w.Code, w.Body)
	}
	w := batchCall(t, s, "DELETE", "/batch/"+run, keyBatch, "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"cancelled","deleted":false`) {
		t.Errorf("owner cancels: got %d %s", w.Code, w.Body)
	}
	w = batchCall(t, s, "DELETE", "/batch/"+done, adminEnv, "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"completed","deleted":true`) {
		t.Errorf("admin deletes: got %d %s", w.Code, w.Body)
	}
	if w := batchCall(t, s, "GET", "/batch/"+run+"/status", keyBatch, ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"cancelled"`) {
		t.Errorf("the cancelled job: got %d %s, want it kept as cancelled", w.Code, w.Body)
	}
	if w := batchCall(t, s, "GET", "/batch/"+done+"/status", adminEnv, ""); w.Code != 404 {
		t.Errorf("the deleted job: got %d %s, want 404", w.Code, w.Body)
	}
	var deletes []string
	for _, e := range audit.events {
		if e.Action == fraud.ActionJobDelete {
			deletes = append(deletes, e.KeyName+": "+e.Detail)
		}
	}
	want := fmt.Sprintf(`[risk-team: job %s cancelled (owner "risk-team") admin: job %s deleted (owner "risk-team")]`, run, done)
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

// wantReasons is the reasons of x by m: the three features of largest |contribution|, largest
// first, ties in feature order, sorted here independently of model.TopFeatures.
func wantReasons(t testing.TB, m *model.Model, x [fraud.NumFeatures]float64) []wire.Reason {
	t.Helper()
	var e model.Explanation
	if err := m.Explain(&x, &e); err != nil {
		t.Fatal(err)
	}
	order := make([]int, fraud.NumFeatures)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return math.Abs(e.Contributions[order[a]]) > math.Abs(e.Contributions[order[b]]) })
	names := fraud.FeatureNames()
	var out []wire.Reason
	for _, j := range order[:3] {
		out = append(out, wire.Reason{Feature: names[j], Contribution: e.Contributions[j]})
	}
	return out
}

// TestBatchExplain submits jobs with explain=true: their results carry reasons in all three
// formats (empty cells and no list on an invalid row); explain=false and no explain do not;
// any other value is 400, and so is a model that cannot be explained.
func TestBatchExplain(t *testing.T) {
	m := mustTreeModel(t, 1)
	jobs, _ := mustJobs(t, m, batch.Options{ChunkRows: 2}, true)
	s := mustBatchServerWith(t, jobs, &memAudit{}, m)
	legit, hit := firstRow, withFeatures(map[int]float64{14: -8, 4: 3})
	upload := csvUpload(csvRow("t0", legit, ""), csvRow("", legit, "x"), csvRow("t2", hit, ""))
	submit := func(query string) string {
		w := batchCall(t, s, "POST", "/batch"+query, keyBatch, upload, "Content-Type", "text/csv")
		var out wire.BatchSubmitResponse
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != http.StatusAccepted {
			t.Fatalf("submit %s: got %d %s, want 202", query, w.Code, w.Body)
		}
		mustWaitJob(t, jobs, out.JobID, func(j fraud.Job) bool { return j.Status == fraud.JobCompleted })
		return out.JobID
	}
	id := submit("?explain=true")
	cells := func(x [fraud.NumFeatures]float64) string {
		var b strings.Builder
		for _, r := range wantReasons(t, m, x) {
			b.WriteString("," + r.Feature + ":" + strconv.FormatFloat(r.Contribution, 'g', -1, 64))
		}
		return b.String()
	}
	line := func(row int, id string, x [fraud.NumFeatures]float64) string {
		p := m.Probability(&x)
		return fmt.Sprintf("%d,%s,%s,%t,%s,%s\n", row, id, strconv.FormatFloat(p, 'g', -1, 64), p >= m.Threshold(), fraud.RiskFor(p, m.Threshold()), cells(x))
	}
	w := batchCall(t, s, "GET", "/batch/"+id+"/results", keyBatch, "", "Accept", "text/csv")
	wantCSV := "row,transaction_id,fraud_probability,is_fraud,risk_level,error,reason_1,reason_2,reason_3\n" +
		line(0, "t0", legit) +
		"1,,,,,\"upload:3: column V1: \"\"x\"\" is not a number\",,,\n" +
		line(2, "t2", hit)
	if w.Code != 200 || w.Body.String() != wantCSV {
		t.Errorf("CSV: got %d\n%s\nwant\n%s", w.Code, w.Body, wantCSV)
	}

	want := []fraud.JobResult{{Reasons: wantReasons(t, m, legit)}, {}, {Reasons: wantReasons(t, m, hit)}}
	w = batchCall(t, s, "GET", "/batch/"+id+"/results", keyBatch, "", "Accept", "application/x-ndjson")
	for i, l := range strings.Split(strings.TrimSpace(w.Body.String()), "\n") {
		var r fraud.JobResult
		strictDecode(t, []byte(l), &r)
		if !reflect.DeepEqual(r.Reasons, want[i].Reasons) {
			t.Errorf("NDJSON row %d: got reasons %+v, want %+v", i, r.Reasons, want[i].Reasons)
		}
	}
	w = batchCall(t, s, "GET", "/batch/"+id+"/results", keyBatch, "")
	var page wire.BatchResultsResponse
	strictDecode(t, w.Body.Bytes(), &page)
	for i, r := range page.Results {
		if !reflect.DeepEqual(r.Reasons, want[i].Reasons) {
			t.Errorf("JSON row %d: got reasons %+v, want %+v", i, r.Reasons, want[i].Reasons)
		}
	}

	for _, q := range []string{"?explain=false", ""} {
		id := submit(q)
		w := batchCall(t, s, "GET", "/batch/"+id+"/results", keyBatch, "", "Accept", "text/csv")
		if head, _, _ := strings.Cut(w.Body.String(), "\n"); head != "row,transaction_id,fraud_probability,is_fraud,risk_level,error" || strings.Count(w.Body.String(), ",") != 4*5 {
			t.Errorf("%q: got %s, want no reason columns", q, w.Body)
		}
		w = batchCall(t, s, "GET", "/batch/"+id+"/results", keyBatch, "", "Accept", "application/x-ndjson")
		if strings.Contains(w.Body.String(), "reasons") {
			t.Errorf("%q: NDJSON got %s, want no reasons", q, w.Body)
		}
	}

	for _, q := range []string{"?explain=yes", "?explain=", "?explain=true&explain=true"} {
		w := batchCall(t, s, "POST", "/batch"+q, keyBatch, upload, "Content-Type", "text/csv")
		body := checkError(t, w, 400, "VALIDATION_ERROR")
		if d := body["details"].([]any)[0].(map[string]any); d["field"] != "explain" {
			t.Errorf("%s: got details %v, want the field explain", q, body["details"])
		}
	}

	coverless := mustBatchServerWith(t, jobs, &memAudit{}, mustTreeModel(t, 0))
	w = batchCall(t, coverless, "POST", "/batch?explain=true", keyBatch, upload, "Content-Type", "text/csv")
	checkError(t, w, 400, "EXPLANATION_UNAVAILABLE")
	w = batchCall(t, coverless, "POST", "/batch", keyBatch, upload, "Content-Type", "text/csv")
	if w.Code != http.StatusAccepted {
		t.Errorf("without explain: got %d %s, want 202", w.Code, w.Body)
	}
}
