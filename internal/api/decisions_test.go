package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/decision"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/security/apikey"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
	"github.com/fraudguard/fraudguard/wire"
)

// decisionRig is a server with a SQLite decision store and the decision log's writer running,
// as serve wires them.
type decisionRig struct {
	srv   *Server
	store *sqlite.Store
	log   *decision.Log
}

func mustSQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "fraudguard.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// mustDecisionRig builds the rig; with record false (DECISION_LOG=false) nothing is recorded.
func mustDecisionRig(t testing.TB, opts Options, record bool) *decisionRig {
	t.Helper()
	store := mustSQLite(t)
	l := decision.New(store, slog.New(slog.DiscardHandler), decision.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done }) // before the store closes: cleanups run last first
	opts.DecisionStore = store
	if record {
		opts.Decisions = l
	}
	return &decisionRig{srv: mustServer(t, opts, staticModels{mustModel(t)}), store: store, log: l}
}

// flagged is a transaction mustModel flags: V14 far below its mean.
func flagged() [fraud.NumFeatures]float64 {
	x := firstRow
	x[14] = -10
	return x
}

func postJSON(t testing.TB, url string, body []byte, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return roundTrip(t, req)
}

func getURL(t testing.TB, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return roundTrip(t, req)
}

func roundTrip(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func mustUnmarshal(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("body is not the expected JSON: %v: %s", err, b)
	}
}

// waitDecisions polls GET /decisions/{id} until it answers 200, for at most limit.
func waitDecisions(t testing.TB, base, id string, limit time.Duration) (wire.DecisionsResponse, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		resp, body := getURL(t, base+"/decisions/"+id)
		if resp.StatusCode == 200 {
			var out wire.DecisionsResponse
			mustUnmarshal(t, body, &out)
			return out, time.Since(start)
		}
		if resp.StatusCode != 404 || time.Since(start) > limit {
			t.Fatalf("GET /decisions/%s: status %d after %v: %s", id, resp.StatusCode, time.Since(start), body)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDecisionReadableWithinASecond scores over real HTTP and reads the record back from the
// SQLite store through the API: within a second, with the very float64 answered.
func TestDecisionReadableWithinASecond(t *testing.T) {
	rig := mustDecisionRig(t, Options{}, true)
	ts := httptest.NewServer(rig.srv)
	defer ts.Close()

	resp, body := postJSON(t, ts.URL+"/predict", txBody(flagged(), map[string]any{"transaction_id": "txn-flagged"}, ""))
	answered := time.Now()
	if resp.StatusCode != 200 {
		t.Fatalf("predict: %d %s", resp.StatusCode, body)
	}
	var pr wire.PredictResponse
	mustUnmarshal(t, body, &pr)
	got, _ := waitDecisions(t, ts.URL, "txn-flagged", 2*time.Second)
	if d := time.Since(answered); d > time.Second {
		t.Errorf("readable %v after the answer, want within 1s", d)
	}
	if len(got.Decisions) != 1 {
		t.Fatalf("got %d decisions, want 1", len(got.Decisions))
	}
	d := got.Decisions[0]
	if math.Float64bits(d.FraudProbability) != math.Float64bits(pr.FraudProbability) {
		t.Errorf("probability: got %v, answered %v", d.FraudProbability, pr.FraudProbability)
	}
	if d.RequestID != resp.Header.Get("X-Request-ID") || d.ModelVersion != pr.ModelVersion || !d.IsFraud || d.RiskLevel != pr.RiskLevel || d.Threshold != pr.Threshold {
		t.Errorf("record %+v does not match the answer %+v", d, pr)
	}
	if want := fraud.RequestOf("", ptrTo(flagged())); d.Inputs != want {
		t.Errorf("inputs: got %+v, want %+v", d.Inputs, want)
	}
	if len(d.Reasons) != 3 || d.Reasons[0].Feature != "V14" {
		t.Errorf("reasons: got %+v, want 3 led by V14", d.Reasons)
	}
	if d.Label != nil {
		t.Errorf("label: got %+v, want none", d.Label)
	}

	// /predict/batch: every scored item is a decision, a generated id included; an invalid
	// item is not.
	batch := []byte(`{"transactions": [` + string(txBody(firstRow, nil, "")) + `, {"Time": -1}, ` +
		string(txBody(firstRow, map[string]any{"transaction_id": "txn-b"}, "")) + `]}`)
	resp, body = postJSON(t, ts.URL+"/predict/batch", batch)
	if resp.StatusCode != 200 {
		t.Fatalf("batch: %d %s", resp.StatusCode, body)
	}
	var br wire.PredictBatchResponse
	mustUnmarshal(t, body, &br)
	generated := br.Results[0].TransactionID
	if !strings.HasPrefix(generated, "txn_") {
		t.Fatalf("generated id: got %q", generated)
	}
	for i, id := range []string{generated, "txn-b"} {
		got, _ := waitDecisions(t, ts.URL, id, 2*time.Second)
		want := br.Results[2*i]
		if len(got.Decisions) != 1 || math.Float64bits(got.Decisions[0].FraudProbability) != math.Float64bits(want.FraudProbability) ||
			got.Decisions[0].Reasons != nil {
			t.Errorf("%s: got %+v, want one unflagged record of probability %v", id, got.Decisions, want.FraudProbability)
		}
	}
	all, err := rig.store.ListDecisions(context.Background(), fraud.DecisionFilter{Limit: 100})
	if err != nil || len(all) != 3 {
		t.Errorf("stored: got %d decisions (%v), want 3", len(all), err)
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestDecisionLogOffRecordsNothing(t *testing.T) {
	rig := mustDecisionRig(t, Options{}, false)
	h := rig.srv
	if w := do(t, h, request{method: "POST", path: "/predict", body: txBody(firstRow, map[string]any{"transaction_id": "txn-off"}, "")}); w.Code != 200 {
		t.Fatalf("predict: %d", w.Code)
	}
	if w := do(t, h, request{method: "POST", path: "/predict/batch", body: []byte(`{"transactions": [` + string(txBody(firstRow, nil, "")) + `]}`)}); w.Code != 200 {
		t.Fatalf("batch: %d", w.Code)
	}
	time.Sleep(3 * decision.DefaultFlushInterval)
	all, err := rig.store.ListDecisions(context.Background(), fraud.DecisionFilter{Limit: 10})
	if err != nil || len(all) != 0 {
		t.Errorf("stored: got %v, %v; want nothing", all, err)
	}
	w := do(t, h, request{method: "GET", path: "/decisions/txn-off"})
	checkError(t, w, 404, "NOT_FOUND")
}

// stalledStore is a decision store whose writes wait until released: a disk that stalls.
type stalledStore struct {
	fraud.DecisionLog
	release chan struct{}
	mu      sync.Mutex
	stored  int
}

func (s *stalledStore) RecordDecisions(_ context.Context, ds []fraud.Decision) error {
	<-s.release
	s.mu.Lock()
	s.stored += len(ds)
	s.mu.Unlock()
	return nil
}

// TestDecisionQueueFullDoesNotDelay stalls the store so the queue fills: answers go on at full
// speed, and the decisions that found the queue full are counted as dropped.
func TestDecisionQueueFullDoesNotDelay(t *testing.T) {
	st := &stalledStore{release: make(chan struct{})}
	l := decision.New(st, slog.New(slog.DiscardHandler), decision.Options{QueueSize: 16, BatchSize: 4})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	s := mustServer(t, Options{Decisions: l}, staticModels{mustModel(t)})
	body := txBody(firstRow, map[string]any{"transaction_id": "txn-q"}, "")
	const n = 500
	var slowest time.Duration
	for range n {
		start := time.Now()
		if w := do(t, s, request{method: "POST", path: "/predict", body: body}); w.Code != 200 {
			t.Fatalf("predict: %d", w.Code)
		}
		slowest = max(slowest, time.Since(start))
	}
	// The store never returns while the requests run: an answer that waited on it would not
	// come at all. The bound leaves room for a loaded machine and the race detector.
	if slowest > time.Second {
		t.Errorf("slowest answer with the store stalled: %v, want no wait on the store", slowest)
	}
	// At most the queue and the batch the writer holds are kept; the rest is dropped.
	if dropped := l.Dropped(); dropped < n-16-4 || dropped > n-16 {
		t.Errorf("dropped: got %d, want %d to %d", dropped, n-16-4, n-16)
	}
	close(st.release)
	cancel()
	<-done
	if got := l.Recorded() + l.Dropped(); got != n || int64(st.stored) != l.Recorded() {
		t.Errorf("recorded %d + dropped %d = %d (store saw %d), want %d", l.Recorded(), l.Dropped(), got, st.stored, n)
	}
}

func TestFeedbackResults(t *testing.T) {
	rig := mustDecisionRig(t, Options{}, true)
	h := rig.srv
	for _, id := range []string{"txn-1", "txn-2"} {
		if w := do(t, h, request{method: "POST", path: "/predict", body: txBody(firstRow, map[string]any{"transaction_id": id}, "")}); w.Code != 200 {
			t.Fatalf("predict: %d", w.Code)
		}
	}
	waitFor(t, "2 decisions recorded", func() bool { return rig.log.Recorded() == 2 })
	body := `{"labels": [
		{"transaction_id": "txn-1", "label": "fraud", "source": "chargeback", "observed_at": "2026-11-20T10:00:00Z"},
		{"transaction_id": "txn-2", "label": "legit", "source": "analyst"},
		{"transaction_id": "txn-1", "label": "fraud", "source": "customer"},
		{"transaction_id": "txn-2", "label": "fraud", "source": "chargeback"},
		{"transaction_id": "txn-never", "label": "fraud", "source": "chargeback"}]}`
	w := do(t, h, request{method: "POST", path: "/feedback", body: []byte(body)})
	if w.Code != 200 {
		t.Fatalf("feedback: %d %s", w.Code, w.Body)
	}
	var out wire.FeedbackResponse
	mustUnmarshal(t, w.Body.Bytes(), &out)
	want := []string{"recorded", "recorded", "unchanged", "updated", "unknown_transaction"}
	if len(out.Results) != len(want) {
		t.Fatalf("got %d results, want %d", len(out.Results), len(want))
	}
	for i, r := range out.Results {
		if r.Index != i || r.Result != want[i] {
			t.Errorf("result %d: got %+v, want %s", i, r, want[i])
		}
	}
	// Stored before the answer: the look-up and the figures have them at once.
	w = do(t, h, request{method: "GET", path: "/decisions/txn-1"})
	var got wire.DecisionsResponse
	mustUnmarshal(t, w.Body.Bytes(), &got)
	if l := got.Decisions[0].Label; l == nil || l.Label != "fraud" || l.Source != "chargeback" || !l.ObservedAt.Equal(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("txn-1's label: got %+v, want fraud by chargeback at 2026-11-20T10:00:00Z", l)
	}
	w = do(t, h, request{method: "GET", path: "/models/performance"})
	var perf wire.PerformanceResponse
	mustUnmarshal(t, w.Body.Bytes(), &perf)
	if len(perf.Versions) != 1 || perf.Versions[0].Labelled != 2 || perf.Versions[0].Frauds != 2 || perf.Versions[0].LabelledShare != 1 {
		t.Errorf("performance: got %+v, want 2 labelled, both fraud", perf.Versions)
	}
}

func TestFeedbackRefusals(t *testing.T) {
	rig := mustDecisionRig(t, Options{MaxBatchSize: 3, MaxBatchBodyBytes: 2048}, true)
	label := `{"transaction_id": "txn-1", "label": "fraud", "source": "analyst"}`
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		fields []string
	}{
		{"every bad label", `{"labels": [{"transaction_id": "bad id!", "label": "maybe", "source": "Chargeback"}, {"label": "fraud", "source": "x", "observed_at": "2999-01-01T00:00:00Z"}]}`, 400, "VALIDATION_ERROR",
			[]string{"labels[0].transaction_id", "labels[0].label", "labels[0].source", "labels[1].transaction_id", "labels[1].observed_at"}},
		{"unknown field", `{"labels": [{"transaction_id": "txn-1", "label": "fraud", "source": "analyst", "amount": 3}]}`, 400, "VALIDATION_ERROR", []string{"amount"}},
		{"unknown top-level field", `{"labels": [], "extra": 1}`, 400, "VALIDATION_ERROR", []string{"extra"}},
		{"no labels", `{}`, 400, "VALIDATION_ERROR", []string{"labels"}},
		{"empty labels", `{"labels": []}`, 400, "VALIDATION_ERROR", []string{"labels"}},
		{"bad time", `{"labels": [{"transaction_id": "txn-1", "label": "fraud", "source": "analyst", "observed_at": "yesterday"}]}`, 400, "VALIDATION_ERROR", []string{"observed_at"}},
		{"wrong type", `{"labels": {"transaction_id": "txn-1"}}`, 400, "VALIDATION_ERROR", []string{"labels"}},
		{"not JSON", `{"labels": [`, 400, "MALFORMED_JSON", nil},
		{"two objects", `{"labels": [` + label + `]} {}`, 400, "MALFORMED_JSON", nil},
		{"too many labels", `{"labels": [` + strings.Repeat(label+",", 3) + label + `]}`, 413, "PAYLOAD_TOO_LARGE", nil},
		{"body too large", `{"labels": [` + strings.Repeat(" ", 2048) + label + `]}`, 413, "PAYLOAD_TOO_LARGE", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, rig.srv, request{method: "POST", path: "/feedback", body: []byte(tc.body)})
			body := checkError(t, w, tc.status, tc.code)
			var fields []string
			for _, d := range body["details"].([]any) {
				if f, ok := d.(map[string]any)["field"].(string); ok {
					fields = append(fields, f)
				}
			}
			if tc.fields != nil && strings.Join(fields, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("fields: got %v, want %v", fields, tc.fields)
			}
		})
	}
	w := do(t, rig.srv, request{method: "POST", path: "/feedback", body: []byte(`{"labels": [` + label + `]}`), header: map[string]string{"Content-Type": "text/plain"}})
	checkError(t, w, 415, "UNSUPPORTED_MEDIA_TYPE")
}

// recordAt stores decisions directly, for the listing tests.
func recordAt(t testing.TB, store fraud.DecisionLog, ds ...fraud.Decision) {
	t.Helper()
	if err := store.RecordDecisions(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
}

func TestDecisionListPagingAndFilters(t *testing.T) {
	rig := mustDecisionRig(t, Options{}, true)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var ds []fraud.Decision
	for i := range 12 {
		p := []float64{0.1, 0.3, 0.6, 0.9}[i%4]
		at := t0.Add(time.Duration(i/3) * time.Second) // three at each second: ties in time
		ds = append(ds, fraud.Decision{TransactionID: fmt.Sprintf("t%02d", i), Time: at, ModelVersion: "v1", Probability: p,
			IsFraud: p >= 0.5, Risk: fraud.RiskFor(p, 0.5), Threshold: 0.5})
	}
	recordAt(t, rig.store, ds...)
	var ids []string
	cursor := ""
	pages := 0
	for {
		path := "/decisions?limit=5"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		w := do(t, rig.srv, request{method: "GET", path: path})
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		var page wire.DecisionsResponse
		mustUnmarshal(t, w.Body.Bytes(), &page)
		pages++
		for _, d := range page.Decisions {
			ids = append(ids, d.TransactionID)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	want := "t11,t10,t09,t08,t07,t06,t05,t04,t03,t02,t01,t00"
	if got := strings.Join(ids, ","); got != want || pages != 3 {
		t.Errorf("pages: got %s in %d pages, want %s in 3", got, pages, want)
	}
	w := do(t, rig.srv, request{method: "GET", path: "/decisions?risk_level=critical&is_fraud=true&since=2026-11-26T12:00:01Z&until=2026-11-26T12:00:03Z&model_version=v1"})
	var page wire.DecisionsResponse
	mustUnmarshal(t, w.Body.Bytes(), &page)
	var got []string
	for _, d := range page.Decisions {
		got = append(got, d.TransactionID)
	}
	if strings.Join(got, ",") != "t07,t03" || page.NextCursor != "" {
		t.Errorf("filtered: got %v (next %q), want [t07 t03] and no next page", got, page.NextCursor)
	}
}

func TestDecisionListRefusals(t *testing.T) {
	rig := mustDecisionRig(t, Options{}, true)
	tests := []struct {
		name, query string
		fields      []string
	}{
		{"bad cursor", "cursor=nonsense", []string{"cursor"}},
		{"forged cursor", "cursor=" + "ZDE6eDox", []string{"cursor"}},
		{"bad dates", "since=yesterday&until=2026-13-01", []string{"since", "until"}},
		{"until before since", "since=2026-11-26T12:00:00Z&until=2026-11-26T11:00:00Z", []string{"until"}},
		{"unknown risk level", "risk_level=severe", []string{"risk_level"}},
		{"is_fraud", "is_fraud=yes", []string{"is_fraud"}},
		{"limit zero", "limit=0", []string{"limit"}},
		{"limit too large", "limit=1001", []string{"limit"}},
		{"unknown parameter", "risk=high", []string{"risk"}},
		{"repeated", "limit=1&limit=2", []string{"limit"}},
		{"all at once", "limit=x&risk_level=severe&since=x", []string{"since", "risk_level", "limit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, rig.srv, request{method: "GET", path: "/decisions?" + tc.query})
			body := checkError(t, w, 400, "VALIDATION_ERROR")
			var fields []string
			for _, d := range body["details"].([]any) {
				fields = append(fields, d.(map[string]any)["field"].(string))
			}
			if strings.Join(fields, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("fields: got %v, want %v", fields, tc.fields)
			}
		})
	}
	checkError(t, do(t, rig.srv, request{method: "GET", path: "/decisions/bad%20id"}), 400, "VALIDATION_ERROR")
	checkError(t, do(t, rig.srv, request{method: "GET", path: "/decisions/never-seen"}), 404, "NOT_FOUND")
	checkError(t, do(t, rig.srv, request{method: "GET", path: "/models/performance?since=x&version=v1"}), 400, "VALIDATION_ERROR")
}

func TestDecisionRoutesWithoutStore(t *testing.T) {
	s := mustServer(t, Options{}, staticModels{mustModel(t)})
	for _, rq := range []request{
		{method: "GET", path: "/decisions"},
		{method: "GET", path: "/decisions/txn-1"},
		{method: "DELETE", path: "/decisions/txn-1", header: map[string]string{"X-API-Key": adminEnv}},
		{method: "GET", path: "/models/performance"},
		{method: "POST", path: "/feedback", body: []byte(`{"labels": []}`)},
	} {
		w := do(t, s, rq)
		if w.Code != 503 || decodeBody(t, w)["error_code"] != "SERVICE_UNAVAILABLE" {
			t.Errorf("%s %s: got %d %s, want 503 SERVICE_UNAVAILABLE", rq.method, rq.path, w.Code, w.Body)
		}
	}
}

// TestPerformanceRoute checks the figures of a small labelled set through the route, by hand:
// see decision.TestPerformanceHandChecked for the same set worked out.
func TestPerformanceRoute(t *testing.T) {
	rig := mustDecisionRig(t, Options{}, true)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	set := []struct {
		p     float64
		label string
	}{{0.9, "fraud"}, {0.8, "legit"}, {0.6, "fraud"}, {0.4, "fraud"}, {0.4, "legit"}, {0.1, "legit"}, {0.2, ""}, {0.7, ""}}
	var labels []string
	for i, e := range set {
		id := "p" + strconv.Itoa(i)
		recordAt(t, rig.store, fraud.Decision{TransactionID: id, Time: t0.Add(time.Duration(i) * time.Minute), ModelVersion: "v1",
			Probability: e.p, IsFraud: e.p >= 0.5, Risk: fraud.RiskFor(e.p, 0.5), Threshold: 0.5})
		if e.label != "" {
			labels = append(labels, `{"transaction_id": "`+id+`", "label": "`+e.label+`", "source": "analyst"}`)
		}
	}
	recordAt(t, rig.store, fraud.Decision{TransactionID: "other", Time: t0, ModelVersion: "v0", Probability: 0.2, Risk: fraud.RiskLow, Threshold: 0.5})
	if w := do(t, rig.srv, request{method: "POST", path: "/feedback", body: []byte(`{"labels": [` + strings.Join(labels, ",") + `]}`)}); w.Code != 200 {
		t.Fatalf("feedback: %d %s", w.Code, w.Body)
	}
	w := do(t, rig.srv, request{method: "GET", path: "/models/performance?model_version=v1&since=2026-11-26T12:00:00Z"})
	if w.Code != 200 {
		t.Fatalf("performance: %d %s", w.Code, w.Body)
	}
	var perf wire.PerformanceResponse
	mustUnmarshal(t, w.Body.Bytes(), &perf)
	if len(perf.Versions) != 1 {
		t.Fatalf("versions: got %+v, want v1 alone", perf.Versions)
	}
	v := perf.Versions[0]
	if v.Decisions != 8 || v.Labelled != 6 || v.Frauds != 3 || v.LabelledShare != 0.75 {
		t.Errorf("counts: got %+v, want 8 decisions, 6 labelled, 3 frauds", v)
	}
	for _, c := range []struct {
		name string
		got  *float64
		want float64
	}{{"precision", v.Precision, 2.0 / 3}, {"recall", v.Recall, 2.0 / 3}, {"f1", v.F1, 2.0 / 3}, {"roc_auc", v.ROCAUC, 6.5 / 9}, {"average_precision", v.AveragePrecision, 34.0 / 45}} {
		if c.got == nil || math.Abs(*c.got-c.want) > 1e-12 {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	// Only before the first decision: v1 has none, and v0 is not asked for.
	w = do(t, rig.srv, request{method: "GET", path: "/models/performance?until=2026-11-26T11:00:00Z"})
	mustUnmarshal(t, w.Body.Bytes(), &perf)
	if len(perf.Versions) != 0 {
		t.Errorf("empty window: got %+v, want no version", perf.Versions)
	}
}

// TestDecisionAccess: with a keys file, the read scope reads decisions and quality, feedback
// needs a key allowed to score, and erasure the admin scope.
func TestDecisionAccess(t *testing.T) {
	const keyRead = "fg_read_key_0123456789abcdef0000"
	path := filepath.Join(t.TempDir(), "keys.yaml")
	for _, e := range append(testKeyEntries(), apikey.Entry{Name: "analyst", SHA256: apikey.Hash(keyRead), Scopes: []string{"read"}}) {
		if err := apikey.Append(path, e); err != nil {
			t.Fatal(err)
		}
	}
	ring, err := apikey.NewRing(path)
	if err != nil {
		t.Fatal(err)
	}
	store := mustSQLite(t)
	recordAt(t, store, fraud.Decision{TransactionID: "txn-1", Time: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), ModelVersion: "v1", Risk: fraud.RiskLow, Threshold: 0.5})
	g := mustGuardedWith(t, true, Options{DecisionStore: store}, nil, func(g *Guard) { g.Keys, g.ReloadKeys = ring, ring.Reload })
	feedback := []byte(`{"labels": [{"transaction_id": "txn-1", "label": "legit", "source": "analyst"}]}`)
	tests := []struct {
		method, path string
		body         []byte
		key          string
		status       int
	}{
		{"GET", "/decisions", nil, keyRead, 200},
		{"GET", "/decisions/txn-1", nil, keyRead, 200},
		{"GET", "/models/performance", nil, keyRead, 200},
		{"GET", "/decisions", nil, keyPredict, 403},
		{"GET", "/models/performance", nil, keyBatch, 403},
		{"GET", "/decisions/txn-1", nil, "", 401},
		{"GET", "/decisions", nil, adminEnv, 200},
		{"POST", "/feedback", feedback, keyRead, 403},
		{"POST", "/feedback", feedback, keyPredict, 200},
		{"DELETE", "/decisions/txn-1", nil, keyRead, 403},
		{"DELETE", "/decisions/txn-1", nil, keyPredict, 403},
		{"DELETE", "/decisions/txn-1", nil, keyAdmin, 200},
		{"GET", "/decisions/txn-1", nil, keyRead, 404},
		{"DELETE", "/decisions/txn-1", nil, keyAdmin, 404},
		{"DELETE", "/decisions/bad%20id", nil, keyAdmin, 400},
	}
	for i, tc := range tests {
		// Each from its own address: the refusals are strikes, and enough of them block one.
		w := send(t, g.srv, tc.method, tc.path, tc.body, tc.key, from(fmt.Sprintf("198.51.100.%d", 20+i)))
		if w.Code != tc.status {
			t.Errorf("%s %s with %q: got %d, want %d: %s", tc.method, tc.path, tc.key, w.Code, tc.status, w.Body)
		}
	}
	if evs := g.events(t, fraud.ActionFeedback, 1); len(evs) != 1 || evs[0].KeyName != "scoring-app" || !strings.Contains(evs[0].Detail, "1 recorded") {
		t.Errorf("feedback audit: got %+v, want one event by scoring-app", evs)
	}
	if evs := g.events(t, fraud.ActionDecisionErase, 1); len(evs) != 1 || evs[0].KeyName != "ops" || evs[0].Detail != "transaction txn-1: 1 decisions and 1 labels deleted" {
		t.Errorf("erasure audit: got %+v, want one event by ops with what was deleted", evs)
	}
}

// FuzzDecodeCursor: any text is a cursor or a refusal, never a panic, and every cursor the
// server gives reads back as the decision it was made from.
func FuzzDecodeCursor(f *testing.F) {
	f.Add("ZDE6MTc2NDE1ODQwMDAwMDAwMDAwMDoxMg", int64(1764158400000000000), int64(12))
	f.Add("nonsense", int64(-1), int64(1))
	f.Add("", int64(0), int64(1<<62))
	f.Fuzz(func(t *testing.T, s string, ns, id int64) {
		if c, ok := decodeCursor(s); ok && (c == nil || c.ID <= 0) {
			t.Errorf("decodeCursor(%q) = %+v, true: want a positive id", s, c)
		}
		if id <= 0 {
			return
		}
		d := fraud.Decision{ID: id, Time: time.Unix(0, ns).UTC()}
		c, ok := decodeCursor(encodeCursor(d))
		if !ok || c.ID != id || !c.Time.Equal(d.Time) {
			t.Errorf("round trip of (%d, %d): got %+v, %v", ns, id, c, ok)
		}
	})
}
