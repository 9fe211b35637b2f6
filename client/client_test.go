package client_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fraudguard/fraudguard/client"
	"github.com/fraudguard/fraudguard/internal/api"
	"github.com/fraudguard/fraudguard/internal/batch"
	"github.com/fraudguard/fraudguard/internal/compare"
	"github.com/fraudguard/fraudguard/internal/decision"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/ratelimit"
	"github.com/fraudguard/fraudguard/internal/security/apikey"
	"github.com/fraudguard/fraudguard/internal/security/audit"
	"github.com/fraudguard/fraudguard/internal/security/block"
	"github.com/fraudguard/fraudguard/internal/security/detect"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
	"github.com/fraudguard/fraudguard/internal/telemetry"
	"github.com/fraudguard/fraudguard/wire"
)

const (
	keyPredict = "fg_client_predict_0123456789abcdef"
	keyBatch   = "fg_client_batch_0123456789abcdef00"
	keyAdmin   = "client-test-admin-key-0123456789"
	keyRead    = "fg_client_read_0123456789abcdef000"
)

// server is the real API, wired as serve wires it, on an httptest server.
type server struct {
	*httptest.Server
	blocker *block.Blocker
}

// mustServer runs the real API with the shipped model, a SQLite store in t.TempDir() for jobs,
// the audit log and the decision log, a keys file with a predict, a batch and a read key,
// and running batch workers and decision log writer.
func mustServer(t testing.TB) *server {
	t.Helper()
	srv, stop, err := startServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return srv
}

// startServer is mustServer's work, keeping its files in dir; stop ends it.
func startServer(dir string) (_ *server, stop func(), err error) {
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.DiscardHandler)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "fraudguard.db"), sqlite.Options{})
	if err != nil {
		cancel()
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			cancel()
			store.Close()
		}
	}()
	root, prev, err := twoVersions(dir)
	if err != nil {
		return nil, nil, err
	}
	registry := model.NewRegistry()
	reloader := model.NewManager(registry, model.ManagerOptions{Root: root, History: store})
	if _, err := reloader.Start(ctx); err != nil {
		return nil, nil, err
	}
	shadow, err := reloader.Hold(prev)
	if err != nil {
		return nil, nil, err
	}
	comparer, err := compare.New(nil, compare.Options{Mode: compare.ModeShadow})
	if err != nil {
		return nil, nil, err
	}
	keysFile := filepath.Join(dir, "keys.yaml")
	for _, e := range []apikey.Entry{
		{Name: "scoring-app", SHA256: apikey.Hash(keyPredict), Scopes: []string{"predict"}},
		{Name: "risk-team", SHA256: apikey.Hash(keyBatch), Scopes: []string{"batch"}},
		{Name: "analyst", SHA256: apikey.Hash(keyRead), Scopes: []string{"read"}},
	} {
		if err := apikey.Append(keysFile, e); err != nil {
			return nil, nil, err
		}
	}
	keys, err := apikey.NewRing(keysFile)
	if err != nil {
		return nil, nil, err
	}
	admin, _, err := apikey.AdminKey(keyAdmin, "", nil)
	if err != nil {
		return nil, nil, err
	}
	metrics, err := telemetry.NewMetrics(prometheus.NewRegistry(), telemetry.MetricsOptions{})
	if err != nil {
		return nil, nil, err
	}
	jobs := batch.New(store, registry, logger, batch.Options{Workers: 2, PollInterval: 5 * time.Millisecond})
	auditor := audit.New(store, logger, time.Now, 1024)
	decisions := decision.New(store, logger, decision.Options{FlushInterval: 10 * time.Millisecond})
	blocker := block.New(time.Now, block.Options{Threshold: 3, Window: time.Minute, Duration: time.Minute})
	level := new(slog.LevelVar)
	h, err := api.NewServer(logger, api.Options{
		Version:        "client-test",
		Reloader:       reloader,
		Lifecycle:      reloader,
		Compare:        comparer,
		Shadow:         shadow,
		LogLevel:       level,
		Metrics:        metrics,
		MetricsHandler: metrics.Handler(),
		Jobs:           jobs,
		Decisions:      decisions,
		DecisionStore:  store,
	}, registry, telemetry.NewSystemSampler(logger, dir, time.Hour), api.Guard{
		HasKeysFile: true,
		Keys:        keys,
		Admin:       admin,
		ReloadKeys:  keys.Reload,
		Limiter:     ratelimit.NewLocal(time.Now, ratelimit.Memory{}),
		Detector:    detect.New(detect.Options{}),
		Blocker:     blocker,
		ClientIP:    block.NewClientIPResolver(nil),
		Audit:       auditor,
	})
	if err != nil {
		return nil, nil, err
	}
	done := make(chan struct{}, 3)
	go func() { jobs.Run(ctx); done <- struct{}{} }()
	go func() { auditor.Run(ctx); done <- struct{}{} }()
	go func() { comparer.Run(ctx); done <- struct{}{} }()
	go func() { decisions.Run(ctx); done <- struct{}{} }()
	srv := httptest.NewServer(h)
	return &server{Server: srv, blocker: blocker}, func() {
		srv.Close()
		cancel()
		<-done
		<-done
		<-done
		store.Close()
	}, nil
}

// twoVersions copies the shipped model into dir/models, beside a copy of it named
// <version>-prev and made a day earlier, and returns the root and that older version.
func twoVersions(dir string) (root, prev string, err error) {
	bundles := model.ScanBundles(filepath.Join("..", "models"))
	if len(bundles) == 0 {
		return "", "", errors.New("no shipped model under ../models")
	}
	b := bundles[0]
	root, prev = filepath.Join(dir, "models"), b.Version+"-prev"
	for _, v := range []string{b.Version, prev} {
		if err := os.CopyFS(filepath.Join(root, v), os.DirFS(b.Dir)); err != nil {
			return "", "", err
		}
	}
	path := filepath.Join(root, prev, model.ManifestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return "", "", err
	}
	m["version"], m["created_at"] = prev, b.CreatedAt.Add(-24*time.Hour).Format(time.RFC3339)
	if data, err = json.Marshal(m); err != nil {
		return "", "", err
	}
	return root, prev, os.WriteFile(path, data, 0o644)
}

// mustClient is a client of srv with key and fast retries.
func mustClient(t testing.TB, url, key string) *client.Client {
	t.Helper()
	c, err := client.New(url, client.Options{APIKey: key, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mustAPIError returns err as an *client.Error, failing when it is not one with the status
// and code wanted.
func mustAPIError(t testing.TB, err error, status int, code string) *client.Error {
	t.Helper()
	var ae *client.Error
	if !errors.As(err, &ae) {
		t.Fatalf("got error %v, want a *client.Error", err)
	}
	if ae.StatusCode != status || ae.ErrorCode != code {
		t.Fatalf("got %d %s, want %d %s (%v)", ae.StatusCode, ae.ErrorCode, status, code, ae)
	}
	if ae.RequestID == "" {
		t.Errorf("error %v has no request id", ae)
	}
	return ae
}

func TestScoring(t *testing.T) {
	srv := mustServer(t)
	ctx := context.Background()
	c := mustClient(t, srv.URL, keyPredict)

	p, err := c.Predict(ctx, firstRow)
	if err != nil {
		t.Fatal(err)
	}
	if p.TransactionID != "txn-0001" || p.FraudProbability < 0 || p.FraudProbability > 1 || p.RequestID == "" || p.ModelVersion == "" {
		t.Errorf("got %+v, want a score of txn-0001", p)
	}
	if want := p.FraudProbability >= p.Threshold; p.IsFraud != want {
		t.Errorf("got is_fraud %v at p=%v t=%v, want %v", p.IsFraud, p.FraudProbability, p.Threshold, want)
	}

	noID := firstRow
	noID.TransactionID = ""
	if p, err := c.Predict(ctx, noID); err != nil || !strings.HasPrefix(p.TransactionID, "txn_") {
		t.Errorf("without an id: got %+v, %v, want a generated txn_ id", p, err)
	}

	bad := firstRow
	bad.Amount = -5
	_, err = c.Predict(ctx, bad)
	ae := mustAPIError(t, err, 400, "VALIDATION_ERROR")
	if len(ae.Details) != 1 || ae.Details[0]["field"] != "Amount" {
		t.Errorf("got details %v, want one for Amount", ae.Details)
	}

	b, err := c.PredictBatch(ctx, []wire.TransactionRequest{firstRow, bad, noID})
	if err != nil {
		t.Fatal(err)
	}
	if b.Summary.TotalProcessed != 3 || b.Summary.Valid != 2 || b.Summary.Invalid != 1 || len(b.Results) != 3 {
		t.Fatalf("got summary %+v with %d results, want 3 processed, 2 valid, 1 invalid", b.Summary, len(b.Results))
	}
	if b.Results[0].FraudProbability != p.FraudProbability && b.Results[0].TransactionID != "txn-0001" {
		t.Errorf("got first result %+v, want txn-0001 scored as by /predict", b.Results[0])
	}
	if e := b.Results[1].Error; e == nil || e.ErrorCode != "VALIDATION_ERROR" || e.Details[0]["field"] != "Amount" {
		t.Errorf("got second result %+v, want a VALIDATION_ERROR on Amount", b.Results[1])
	}

	// The predict key has no batch scope.
	_, err = c.BatchJobs(ctx, client.BatchJobsQuery{})
	mustAPIError(t, err, 403, "FORBIDDEN")
	// No key at all.
	_, err = mustClient(t, srv.URL, "").Predict(ctx, firstRow)
	mustAPIError(t, err, 401, "UNAUTHORIZED")
}

// csvBody is a CSV upload of n copies of the first row, the third row's V1 broken when bad.
func csvBody(n int, bad bool) string {
	var b strings.Builder
	b.WriteString("transaction_id,Time")
	for i := 1; i <= 28; i++ {
		b.WriteString(",V" + strconv.Itoa(i))
	}
	b.WriteString(",Amount\n")
	row := "0,-1.3598071336738,-0.0727811733098497,2.53634673796914,1.37815522427443,-0.338320769942518,0.462387777762292,0.239598554061257,0.0986979012610507,0.363786969611213,0.0907941719789316,-0.551599533260813,-0.617800855762348,-0.991389847235408,-0.311169353699879,1.46817697209427,-0.470400525259478,0.207971241929242,0.0257905801985591,0.403992960255733,0.251412098239705,-0.018306777944153,0.277837575558899,-0.110473910188767,0.0669280749146731,0.128539358273528,-0.189114843888824,0.133558376740387,-0.0210530534538215,149.62"
	for i := range n {
		line := row
		if bad && i == 2 {
			line = strings.Replace(row, "-1.3598071336738", "oops", 1)
		}
		b.WriteString("t" + strconv.Itoa(i) + "," + line + "\n")
	}
	return b.String()
}

func TestBatchJobs(t *testing.T) {
	srv := mustServer(t)
	ctx := context.Background()
	c := mustClient(t, srv.URL, keyBatch)

	sub, err := c.SubmitBatch(ctx, strings.NewReader(csvBody(5, true)), client.SubmitOptions{IdempotencyKey: "upload-1"})
	if err != nil {
		t.Fatal(err)
	}
	if sub.JobID == "" || sub.Status == wire.JobFailed || sub.Status == wire.JobCancelled || sub.Replayed || c.ResolveURL(sub.StatusURL) != srv.URL+"/batch/"+sub.JobID+"/status" {
		t.Fatalf("got %+v, want a new job", sub)
	}
	again, err := c.SubmitBatch(ctx, strings.NewReader(csvBody(5, true)), client.SubmitOptions{IdempotencyKey: "upload-1"})
	if err != nil || again.JobID != sub.JobID || !again.Replayed {
		t.Fatalf("resubmitted with the same key: got %+v, %v, want job %s replayed", again, err, sub.JobID)
	}

	var seen int
	st, err := c.WaitBatch(ctx, sub.JobID, client.WaitOptions{Poll: 5 * time.Millisecond, OnStatus: func(*wire.BatchStatusResponse) { seen++ }})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != wire.JobCompleted || st.TotalCount != 5 || st.InvalidCount != 1 || st.Error != nil || seen == 0 {
		t.Fatalf("got %+v after %d statuses, want completed with 5 rows, 1 invalid, no error", st, seen)
	}
	if st2, err := c.BatchStatus(ctx, sub.JobID); err != nil || st2.ProcessedCount != 5 || len(st2.PartialResults) != 4 {
		t.Errorf("status: got %+v, %v, want 5 processed and the 4 valid rows on top", st2, err)
	}

	list, err := c.BatchJobs(ctx, client.BatchJobsQuery{Status: wire.JobCompleted, Limit: 10})
	if err != nil || list.Total != 1 || len(list.Jobs) != 1 || list.Jobs[0].JobID != sub.JobID || list.Limit != 10 {
		t.Errorf("list: got %+v, %v, want the one job", list, err)
	}

	page, err := c.BatchResults(ctx, sub.JobID, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != 3 || page.Results[0].Row != 1 || page.Results[1].Error == "" || page.Results[1].TransactionID != "t2" || page.Total != 5 {
		t.Errorf("results page: got %+v, want rows 1..3 with row 2 invalid", page)
	}

	stream, err := c.BatchResultsStream(ctx, sub.JobID, client.CSV)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(stream).ReadAll()
	stream.Close()
	if err != nil || len(recs) != 6 || recs[0][0] != "row" || recs[3][5] == "" || stream.Status != wire.JobCompleted || stream.Total != 5 {
		t.Errorf("CSV stream: got %v (%v), status %s, total %d; want a header and 5 rows", recs, err, stream.Status, stream.Total)
	}
	stream, err = c.BatchResultsStream(ctx, sub.JobID, client.NDJSON)
	if err != nil {
		t.Fatal(err)
	}
	var rows []wire.JobResult
	dec := json.NewDecoder(stream)
	for {
		var r wire.JobResult
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	stream.Close()
	if len(rows) != 5 || rows[4].Row != 4 || rows[0].Risk == "" {
		t.Errorf("NDJSON stream: got %+v, want 5 results", rows)
	}

	del, err := c.DeleteBatchJob(ctx, sub.JobID)
	if err != nil || !del.Deleted || del.Status != wire.JobCompleted {
		t.Errorf("delete: got %+v, %v, want the finished job deleted", del, err)
	}
	_, err = c.BatchStatus(ctx, sub.JobID)
	mustAPIError(t, err, 404, "JOB_NOT_FOUND")
	// An id is one path segment, whatever it holds.
	_, err = c.BatchStatus(ctx, "no such/job%")
	mustAPIError(t, err, 404, "JOB_NOT_FOUND")
	_, err = c.SubmitBatch(ctx, strings.NewReader("a,b\n1,2\n"), client.SubmitOptions{ContentType: "text/plain"})
	mustAPIError(t, err, 415, "UNSUPPORTED_MEDIA_TYPE")
}

func TestHealthAndAdmin(t *testing.T) {
	srv := mustServer(t)
	ctx := context.Background()
	c := mustClient(t, srv.URL, keyAdmin)

	h, err := c.Health(ctx)
	if err != nil || h.Status == "" || h.Version != "client-test" || h.ModelsLoaded != 1 || len(h.Dependencies) == 0 {
		t.Errorf("health: got %+v, %v", h, err)
	}
	for name, probe := range map[string]func(context.Context) (*wire.ProbeResponse, error){"live": c.Live, "ready": c.Ready} {
		if p, err := probe(ctx); err != nil || p.Status != "ok" {
			t.Errorf("%s: got %+v, %v, want ok", name, p, err)
		}
	}
	info, err := c.ModelInfo(ctx)
	if err != nil || info.Version == "" || len(info.Features) != 30 || info.Metrics.Validation.Rows == 0 {
		t.Errorf("model info: got %+v, %v", info, err)
	}
	// The shipped model carries a reference sample and split gains, and explains its scores.
	if imp := info.Importance; imp == nil || imp.ReferenceRows != 500 || len(imp.Features) != 30 ||
		imp.Features[0].MeanAbsSHAP == nil || imp.Features[0].SplitGain == nil || imp.Features[0].SplitGainShare == nil {
		t.Errorf("model info: got importance %+v, want 500 reference rows and every measure of 30 features", imp)
	}
	if !info.Explanations.Available || info.Explanations.Reason != "" {
		t.Errorf("model info: got explanations %+v, want available", info.Explanations)
	}
	rel, err := c.ReloadModel(ctx)
	if err != nil || rel.Status != "reloaded" || rel.Version != info.Version {
		t.Errorf("model reload: got %+v, %v, want %s reloaded", rel, err, info.Version)
	}
	if len(info.Versions) != 2 || !info.Versions[0].Active || info.Versions[1].Version != info.Version+"-prev" {
		t.Errorf("model info versions: got %+v, want %s active and %[2]s-prev", info.Versions, info.Version)
	}
	_, err = c.RollbackModel(ctx)
	mustAPIError(t, err, 409, "CONFLICT")
	ch, err := c.ActivateModel(ctx, info.Version+"-prev")
	if err != nil || ch.Status != "activated" || ch.Model.Version != info.Version+"-prev" || ch.Previous != info.Version {
		t.Errorf("activate: got %+v, %v", ch, err)
	}
	_, err = c.ActivateModel(ctx, "no-such-version")
	mustAPIError(t, err, 404, "NOT_FOUND")
	if ch, err := c.RollbackModel(ctx); err != nil || ch.Status != "rolled_back" || ch.Model.Version != info.Version {
		t.Errorf("rollback: got %+v, %v, want %s", ch, err, info.Version)
	}
	cmp, err := c.CompareModels(ctx, client.CompareQuery{Since: time.Now().Add(-time.Minute), Limit: 3})
	if err != nil || cmp.Mode != "shadow" || cmp.TopDisagreements == nil {
		t.Errorf("compare: got %+v, %v", cmp, err)
	}
	if rel, err := c.ReloadKeys(ctx); err != nil || rel.Status != "reloaded" {
		t.Errorf("keys reload: got %+v, %v", rel, err)
	}

	addr := netip.MustParseAddr("203.0.113.7")
	for range 3 {
		srv.blocker.Strike(context.Background(), addr, "test")
	}
	bl, err := c.BlockedIPs(ctx)
	if err != nil || len(bl.Blocked) != 1 || bl.Blocked[0].IP != "203.0.113.7" {
		t.Errorf("blocked: got %+v, %v, want 203.0.113.7", bl, err)
	}
	if u, err := c.Unblock(ctx, "203.0.113.7"); err != nil || !u.Unblocked {
		t.Errorf("unblock: got %+v, %v", u, err)
	}
	_, err = c.Unblock(ctx, "203.0.113.7")
	mustAPIError(t, err, 404, "NOT_FOUND")

	if lvl, err := c.SetLogLevel(ctx, "DEBUG"); err != nil || lvl != "DEBUG" {
		t.Errorf("set log level: got %q, %v", lvl, err)
	}
	if lvl, err := c.LogLevel(ctx); err != nil || lvl != "DEBUG" {
		t.Errorf("log level: got %q, %v, want DEBUG", lvl, err)
	}
	_, err = c.SetLogLevel(ctx, "LOUD")
	mustAPIError(t, err, 400, "VALIDATION_ERROR")

	// The audit writer is asynchronous: wait for the reloads to be stored.
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, err := c.Audit(ctx, client.AuditQuery{Action: "model_reload", Since: time.Now().Add(-time.Hour), Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if a.Total == 1 && len(a.Events) == 1 && a.Limit == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit: got %+v, want the model reload", a)
		}
		time.Sleep(10 * time.Millisecond)
	}

	sum, err := c.MetricsSummary(ctx)
	if err != nil || sum.TotalRequests == 0 || len(sum.Endpoints) == 0 {
		t.Errorf("metrics summary: got %+v, %v", sum, err)
	}
	text, err := c.Metrics(ctx)
	if err != nil || !bytes.Contains(text, []byte("fraudguard_")) {
		t.Errorf("metrics: got %d bytes, %v, want the Prometheus text", len(text), err)
	}
	doc, err := c.OpenAPI(ctx)
	var parsed map[string]any
	if err != nil || json.Unmarshal(doc, &parsed) != nil || parsed["openapi"] != "3.1.0" {
		t.Errorf("openapi: got %.80s, %v", doc, err)
	}

	// Admin routes refuse a key without the admin scope.
	_, err = mustClient(t, srv.URL, keyBatch).BlockedIPs(ctx)
	mustAPIError(t, err, 403, "FORBIDDEN")
}

// flaky answers the first fails requests with status (and Retry-After: 1 for a 429) or, with
// status 0, by dropping the connection, then passes requests on to next.
type flaky struct {
	fails  int32
	status int
	calls  atomic.Int32
	next   http.Handler
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.calls.Add(1) > f.fails {
		f.next.ServeHTTP(w, r)
		return
	}
	io.Copy(io.Discard, r.Body)
	switch f.status {
	case 0:
		panic(http.ErrAbortHandler) // the connection is cut with no answer
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	io.WriteString(w, `{"error_code":"SERVICE_UNAVAILABLE","message":"down for a moment","details":[],"request_id":"r1","timestamp":"2026-11-26T07:00:00Z"}`)
}

func TestRetries(t *testing.T) {
	real := mustServer(t)
	ctx := context.Background()
	cases := []struct {
		name      string
		fails     int32
		status    int
		call      func(c *client.Client) error
		wantCalls int32
		wantErr   int // status of the error expected; 0 for success, -1 for a network error
	}{
		{"predict after two 503s", 2, 503, func(c *client.Client) error { _, err := c.Predict(ctx, firstRow); return err }, 3, 0},
		{"predict after a dropped connection", 1, 0, func(c *client.Client) error { _, err := c.Predict(ctx, firstRow); return err }, 2, 0},
		{"health after a 502", 1, 502, func(c *client.Client) error { _, err := c.Health(ctx); return err }, 2, 0},
		{"predict batch gives up after the retries", 10, 503, func(c *client.Client) error {
			_, err := c.PredictBatch(ctx, []wire.TransactionRequest{firstRow})
			return err
		}, 4, 503},
		{"a 400 is not retried", 10, 400, func(c *client.Client) error { _, err := c.Predict(ctx, firstRow); return err }, 1, 400},
		{"submit without a key is not retried", 1, 503, func(c *client.Client) error {
			_, err := c.SubmitBatch(ctx, strings.NewReader(csvBody(2, false)), client.SubmitOptions{})
			return err
		}, 1, 503},
		{"submit without a key is not retried after a dropped connection", 1, 0, func(c *client.Client) error {
			_, err := c.SubmitBatch(ctx, strings.NewReader(csvBody(2, false)), client.SubmitOptions{})
			return err
		}, 1, -1},
		{"submit with a key and a seekable body is retried", 2, 503, func(c *client.Client) error {
			_, err := c.SubmitBatch(ctx, strings.NewReader(csvBody(2, false)), client.SubmitOptions{IdempotencyKey: "k1"})
			return err
		}, 3, 0},
		{"submit with a key but a one-way body is not retried", 1, 503, func(c *client.Client) error {
			_, err := c.SubmitBatch(ctx, io.MultiReader(strings.NewReader(csvBody(2, false))), client.SubmitOptions{IdempotencyKey: "k2"})
			return err
		}, 1, 503},
		{"delete is not retried", 1, 503, func(c *client.Client) error { _, err := c.DeleteBatchJob(ctx, "job_x"); return err }, 1, 503},
		{"model reload is not retried", 1, 503, func(c *client.Client) error { _, err := c.ReloadModel(ctx); return err }, 1, 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &flaky{fails: tc.fails, status: tc.status, next: real.Config.Handler}
			srv := httptest.NewServer(f)
			defer srv.Close()
			key := keyPredict
			if strings.HasPrefix(tc.name, "submit") || strings.HasPrefix(tc.name, "delete") {
				key = keyBatch
			}
			if strings.HasPrefix(tc.name, "model") {
				key = keyAdmin
			}
			err := tc.call(mustClient(t, srv.URL, key))
			if got := f.calls.Load(); got != tc.wantCalls {
				t.Errorf("got %d requests, want %d", got, tc.wantCalls)
			}
			var ae *client.Error
			switch {
			case tc.wantErr == 0 && err != nil:
				t.Errorf("got %v, want success", err)
			case tc.wantErr > 0 && (!errors.As(err, &ae) || ae.StatusCode != tc.wantErr):
				t.Errorf("got %v, want a %d *client.Error", err, tc.wantErr)
			case tc.wantErr < 0 && (err == nil || errors.As(err, &ae)):
				t.Errorf("got %v, want a network error", err)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	real := mustServer(t)
	f := &flaky{fails: 1, status: http.StatusTooManyRequests, next: real.Config.Handler}
	srv := httptest.NewServer(f)
	defer srv.Close()
	start := time.Now()
	if _, err := mustClient(t, srv.URL, keyPredict).Predict(context.Background(), firstRow); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v, want at least the 1s of Retry-After", waited)
	}
	if got := f.calls.Load(); got != 2 {
		t.Errorf("got %d requests, want 2", got)
	}

	// A context that ends stops the wait.
	f = &flaky{fails: 10, status: http.StatusTooManyRequests, next: real.Config.Handler}
	srv2 := httptest.NewServer(f)
	defer srv2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := mustClient(t, srv2.URL, keyPredict).Predict(ctx, firstRow); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the context's deadline", err)
	}
}

func TestErrorFromAnotherBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", "proxy-1")
		http.Error(w, "<html>bad gateway</html>", http.StatusForbidden)
	}))
	defer srv.Close()
	_, err := mustClient(t, srv.URL, "").ModelInfo(context.Background())
	var ae *client.Error
	if !errors.As(err, &ae) || ae.StatusCode != 403 || ae.ErrorCode != "" || ae.Message != "<html>bad gateway</html>" || ae.RequestID != "proxy-1" {
		t.Fatalf("got %#v, want a 403 with the body as message", err)
	}
	if client.ErrorCode(err) != "" || !strings.Contains(err.Error(), "403") {
		t.Errorf("got %q, want the status in the message", err.Error())
	}
}

func TestNewRefusesABadURL(t *testing.T) {
	for _, u := range []string{"", "localhost:8000", "ftp://x", "http://"} {
		if _, err := client.New(u, client.Options{}); err == nil {
			t.Errorf("New(%q): got no error, want one", u)
		}
	}
}
