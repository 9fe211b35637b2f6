package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/txjson"
	"github.com/fraudguard/fraudguard/wire"
)

var update = flag.Bool("update", false, "rewrite golden files")

// staticModels is a ModelSource holding one model (or none).
type staticModels struct{ m *model.Model }

func (s staticModels) Current() *model.Model { return s.m }

// panickyModels is a fault: a model source that panics.
type panickyModels struct{}

func (panickyModels) Current() *model.Model { panic("model source exploded: secret detail") }

type fixedSystem struct{ info wire.SystemInfo }

func (f fixedSystem) System() wire.SystemInfo { return f.info }

// mustModel saves and loads a small logistic-regression bundle that leans on V14 and V4, as the
// real data does.
func mustModel(t testing.TB) *model.Model {
	t.Helper()
	var mean, coef [fraud.NumFeatures]float64
	var scale [fraud.NumFeatures]float64
	for i := range scale {
		scale[i] = 1
	}
	coef[14], coef[4], coef[12] = -1.2, 0.8, -0.6
	lr, err := model.NewLogreg(mean, scale, coef, -6)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(lr)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := model.Save(t.TempDir(), model.Bundle{
		Manifest: model.Manifest{
			Name: "test", Kind: model.KindLogreg, Threshold: 0.5, CreatedAt: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
			Members:  []model.MemberSpec{{Kind: model.KindLogreg, File: "logreg.json", Weight: 1}},
			Canaries: []model.Canary{{Features: firstRow}},
		},
		Files: map[string][]byte{"logreg.json": data},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustServer(t testing.TB, opts Options, models ModelSource) *Server {
	t.Helper()
	if opts.Version == "" {
		opts.Version = "test"
	}
	s, err := NewServer(slog.New(slog.DiscardHandler), opts, models, fixedSystem{wire.SystemInfo{CPUPercent: 3, MemoryPercent: 40, DiskUsagePercent: 50, Goroutines: 9, RSSBytes: 1 << 20}}, bareGuard(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type request struct {
	method, path string
	body         []byte
	header       map[string]string
}

func do(t testing.TB, h http.Handler, rq request) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	r := httptest.NewRequest(rq.method, rq.path, body)
	if rq.body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.header {
		if k == "Host" {
			r.Host = v
			continue
		}
		if v == "" {
			r.Header.Del(k)
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decodeBody(t testing.TB, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not JSON: %v: %q", err, w.Body.String())
	}
	return m
}

func TestPredict(t *testing.T) {
	m := mustModel(t)
	s := mustServer(t, Options{}, staticModels{m})

	w := do(t, s, request{method: "POST", path: "/predict", body: txBody(firstRow, map[string]any{"transaction_id": "t-42"}, ""),
		header: map[string]string{"X-Request-ID": "client-req-1"}})
	if w.Code != http.StatusOK {
		t.Fatalf("got status %d, want 200: %s", w.Code, w.Body)
	}
	var resp wire.PredictResponse
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&resp); err != nil {
		t.Fatalf("answer does not match wire.PredictResponse: %v", err)
	}
	got := decodeBody(t, w)
	for _, k := range []string{"transaction_id", "fraud_probability", "is_fraud", "risk_level", "threshold", "model_version", "processing_time_ms", "request_id"} {
		if _, ok := got[k]; !ok {
			t.Errorf("answer lacks %q", k)
		}
	}
	wantP := m.Probability(&firstRow)
	if resp.FraudProbability != wantP {
		t.Errorf("got probability %v, want %v", resp.FraudProbability, wantP)
	}
	if resp.TransactionID != "t-42" || resp.RequestID != "client-req-1" || w.Header().Get("X-Request-ID") != "client-req-1" {
		t.Errorf("got transaction_id %q request_id %q header %q; want t-42, client-req-1, client-req-1", resp.TransactionID, resp.RequestID, w.Header().Get("X-Request-ID"))
	}
	if resp.IsFraud != (resp.FraudProbability >= resp.Threshold) || resp.RiskLevel != fraud.RiskFor(resp.FraudProbability, resp.Threshold) {
		t.Errorf("decision %v / risk %s disagree with probability %v and threshold %v", resp.IsFraud, resp.RiskLevel, resp.FraudProbability, resp.Threshold)
	}
	if resp.ModelVersion != m.Version() {
		t.Errorf("got model_version %q, want %q", resp.ModelVersion, m.Version())
	}

	// A fraud-like row (very negative V14) is flagged.
	fraudy := firstRow
	fraudy[14] = -12
	w = do(t, s, request{method: "POST", path: "/predict", body: txBody(fraudy, nil, "")})
	got = decodeBody(t, w)
	if got["is_fraud"] != true || got["risk_level"] != "critical" {
		t.Errorf("fraud-like row: got is_fraud %v risk %v, want true critical", got["is_fraud"], got["risk_level"])
	}
	if id, _ := got["transaction_id"].(string); !strings.HasPrefix(id, "txn_") || len(id) != 32 {
		t.Errorf("got generated transaction_id %q, want txn_ and 28 hex digits", id)
	}
	if rid := w.Header().Get("X-Request-ID"); len(rid) != 32 || got["request_id"] != rid {
		t.Errorf("got request id header %q body %v, want one generated 32-hex id in both", rid, got["request_id"])
	}
}

// TestErrors drives every error case through the real router and checks status, code and the
// error shape.
func TestErrors(t *testing.T) {
	m := mustModel(t)
	s := mustServer(t, Options{MaxBodyBytes: 64 << 10, AllowedHosts: []string{"api.example.com", "*.fraud.test"}}, staticModels{m})
	host := map[string]string{"Host": "api.example.com"}
	with := func(h map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	big := append(txBody(firstRow, nil, `"pad":"`+strings.Repeat("x", 70<<10)+`"`), ' ')
	tests := []struct {
		name       string
		rq         request
		status     int
		code       string
		detailKeys []string // keys every detail must have
		nDetails   int      // -1: any
	}{
		{"validation", request{method: "POST", path: "/predict", body: txBody(firstRow, map[string]any{"Amount": -1, "V1": nil, "V2": "x"}, ""), header: host},
			400, "VALIDATION_ERROR", []string{"field", "problem"}, 3},
		{"malformed", request{method: "POST", path: "/predict", body: []byte(`{"Time":`), header: host}, 400, "MALFORMED_JSON", []string{"offset", "problem"}, 1},
		{"empty body", request{method: "POST", path: "/predict", body: []byte{}, header: host}, 400, "MALFORMED_JSON", nil, 1},
		{"too large", request{method: "POST", path: "/predict", body: big, header: host}, 413, "PAYLOAD_TOO_LARGE", []string{"limit", "received"}, 1},
		{"text body", request{method: "POST", path: "/predict", body: txBody(firstRow, nil, ""), header: with(host, "Content-Type", "text/plain")}, 415, "UNSUPPORTED_MEDIA_TYPE", nil, 1},
		{"no content type", request{method: "POST", path: "/predict", body: txBody(firstRow, nil, ""), header: with(host, "Content-Type", "")}, 415, "UNSUPPORTED_MEDIA_TYPE", nil, 1},
		{"unknown route", request{method: "GET", path: "/nope", header: host}, 404, "NOT_FOUND", []string{"path"}, 1},
		{"wrong method", request{method: "GET", path: "/predict", header: host}, 405, "METHOD_NOT_ALLOWED", []string{"method", "allowed"}, 1},
		{"wrong method on health", request{method: "DELETE", path: "/health", header: host}, 405, "METHOD_NOT_ALLOWED", nil, 1},
		{"bad host", request{method: "GET", path: "/health", header: map[string]string{"Host": "evil.example"}}, 400, "INVALID_HOST", []string{"field", "problem", "value"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, s, tc.rq)
			checkError(t, w, tc.status, tc.code)
			details := decodeBody(t, w)["details"].([]any)
			if tc.nDetails >= 0 && len(details) != tc.nDetails {
				t.Errorf("got %d details, want %d: %v", len(details), tc.nDetails, details)
			}
			for _, d := range details {
				for _, k := range tc.detailKeys {
					if _, ok := d.(map[string]any)[k]; !ok {
						t.Errorf("detail %v lacks %q", d, k)
					}
				}
			}
		})
	}
	t.Run("allow header", func(t *testing.T) {
		for _, tc := range []struct{ method, path, want string }{
			{"PUT", "/predict", "POST"},
			{"POST", "/health", "GET, HEAD"},
		} {
			w := do(t, s, request{method: tc.method, path: tc.path, header: host})
			if got := w.Header().Get("Allow"); w.Code != http.StatusMethodNotAllowed || got != tc.want {
				t.Errorf("%s %s: got %d with Allow %q, want 405 with Allow %q", tc.method, tc.path, w.Code, got, tc.want)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != "" {
				t.Errorf("%s %s: got WWW-Authenticate %q on a 405, want none", tc.method, tc.path, got)
			}
		}
	})
	t.Run("subdomain host and probes allowed", func(t *testing.T) {
		if w := do(t, s, request{method: "GET", path: "/health", header: map[string]string{"Host": "a.fraud.test:8000"}}); w.Code != 200 {
			t.Errorf("subdomain: got %d, want 200", w.Code)
		}
		if w := do(t, s, request{method: "GET", path: "/health/ready", header: map[string]string{"Host": "10.0.0.7:8000"}}); w.Code != 200 {
			t.Errorf("probe by address: got %d, want 200", w.Code)
		}
	})
}

// checkError asserts the structured error shape.
func checkError(t testing.TB, w *httptest.ResponseRecorder, status int, code string) map[string]any {
	t.Helper()
	if w.Code != status {
		t.Errorf("got status %d, want %d: %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("got Content-Type %q, want application/json", ct)
	}
	body := decodeBody(t, w)
	if body["error_code"] != code {
		t.Errorf("got error_code %v, want %s", body["error_code"], code)
	}
	if msg, _ := body["message"].(string); msg == "" {
		t.Errorf("empty message")
	}
	if _, ok := body["details"].([]any); !ok {
		t.Errorf("details is %T, want a list", body["details"])
	}
	if rid := w.Header().Get("X-Request-ID"); rid == "" || body["request_id"] != rid {
		t.Errorf("got request_id %v, header %q; want equal and set", body["request_id"], rid)
	}
	if ts, _ := body["timestamp"].(string); ts == "" {
		t.Errorf("no timestamp")
	} else if _, err := time.Parse(time.RFC3339, ts); err != nil {
		t.Errorf("timestamp %q is not RFC 3339", ts)
	}
	_, hasRetry := body["retry_after"]
	if hasRetry != (status == 503 || status == 429 || code == "IP_BLOCKED") {
		t.Errorf("retry_after present: %v, for status %d", hasRetry, status)
	}
	return body
}

func TestPanicIsStructured500(t *testing.T) {
	var logs bytes.Buffer
	s, err := NewServer(slog.New(slog.NewJSONHandler(&logs, nil)), Options{Version: "t"}, panickyModels{}, fixedSystem{}, bareGuard(t))
	if err != nil {
		t.Fatal(err)
	}
	w := do(t, s, request{method: "POST", path: "/predict", body: txBody(firstRow, nil, "")})
	body := checkError(t, w, 500, "INTERNAL_ERROR")
	if strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "exploded") {
		t.Errorf("500 leaks the panic: %s", w.Body)
	}
	if !strings.Contains(logs.String(), "model source exploded") || !strings.Contains(logs.String(), body["request_id"].(string)) {
		t.Errorf("log lacks the panic and its request id: %s", logs.String())
	}
}

func TestNoModel(t *testing.T) {
	s := mustServer(t, Options{}, staticModels{})
	checkError(t, do(t, s, request{method: "POST", path: "/predict", body: txBody(firstRow, nil, "")}), 503, "MODEL_NOT_LOADED")
	checkError(t, do(t, s, request{method: "GET", path: "/models/info"}), 503, "MODEL_NOT_LOADED")
	for _, path := range []string{"/health/ready", "/v2/health/ready"} {
		if w := do(t, s, request{method: "GET", path: path}); w.Code != 503 {
			t.Errorf("%s: got %d, want 503", path, w.Code)
		}
	}
	for _, path := range []string{"/health/live", "/v2/health/live"} {
		if w := do(t, s, request{method: "GET", path: path}); w.Code != 200 {
			t.Errorf("%s: got %d, want 200", path, w.Code)
		}
	}
	w := do(t, s, request{method: "GET", path: "/health"})
	if w.Code != 503 || decodeBody(t, w)["status"] != "unhealthy" {
		t.Errorf("health without a model: got %d %s, want 503 unhealthy", w.Code, w.Body)
	}
}

func TestHealthAndModelInfo(t *testing.T) {
	m := mustModel(t)
	s := mustServer(t, Options{Version: "1.2.3"}, staticModels{m})
	for range 3 {
		do(t, s, request{method: "POST", path: "/predict", body: txBody(firstRow, nil, "")})
	}
	h := decodeBody(t, do(t, s, request{method: "GET", path: "/health"}))
	if h["status"] != "healthy" || h["version"] != "1.2.3" || h["models_loaded"] != 1.0 || h["model_version"] != m.Version() || h["total_predictions"] != 3.0 {
		t.Errorf("got health %v", h)
	}
	if avg, _ := h["average_response_time_ms"].(float64); avg <= 0 {
		t.Errorf("got average_response_time_ms %v, want > 0", h["average_response_time_ms"])
	}
	// A 1,000-row batch scores 1,000 more transactions but is no /predict request: the mean
	// time of a /predict request stays what it was.
	rows := make([][]byte, 1000)
	for i := range rows {
		rows[i] = txBody(firstRow, nil, "")
	}
	if w := do(t, s, request{method: "POST", path: "/predict/batch", body: batchBody(rows...)}); w.Code != 200 {
		t.Fatalf("batch: got %d %s", w.Code, w.Body)
	}
	after := decodeBody(t, do(t, s, request{method: "GET", path: "/health"}))
	if after["total_predictions"] != 1003.0 {
		t.Errorf("after the batch: got total_predictions %v, want 1003", after["total_predictions"])
	}
	if after["average_response_time_ms"] != h["average_response_time_ms"] {
		t.Errorf("after the batch: got average_response_time_ms %v, want %v as before it", after["average_response_time_ms"], h["average_response_time_ms"])
	}
	si, _ := h["system_info"].(map[string]any)
	for _, k := range []string{"cpu_percent", "memory_percent", "disk_usage_percent", "goroutines", "rss_bytes"} {
		if _, ok := si[k]; !ok {
			t.Errorf("system_info lacks %q", k)
		}
	}
	info := decodeBody(t, do(t, s, request{method: "GET", path: "/models/info"}))
	feats, _ := info["features"].([]any)
	if info["version"] != m.Version() || info["kind"] != "logreg" || len(feats) != 30 || feats[0] != "Time" || feats[29] != "Amount" || info["sha256"] != m.SHA256 || info["threshold"] != 0.5 {
		t.Errorf("got model info %v", info)
	}
	for _, k := range []string{"name", "created_at", "metrics", "loaded_at"} {
		if _, ok := info[k]; !ok {
			t.Errorf("model info lacks %q", k)
		}
	}
}

func TestDegradedWhenDiskFull(t *testing.T) {
	s, err := NewServer(slog.New(slog.DiscardHandler), Options{Version: "t"}, staticModels{mustModel(t)}, fixedSystem{wire.SystemInfo{DiskUsagePercent: 99}}, bareGuard(t))
	if err != nil {
		t.Fatal(err)
	}
	w := do(t, s, request{method: "GET", path: "/health"})
	if w.Code != 200 || decodeBody(t, w)["status"] != "degraded" {
		t.Errorf("got %d %s, want 200 degraded", w.Code, w.Body)
	}
}

func TestGzip(t *testing.T) {
	s := mustServer(t, Options{}, staticModels{mustModel(t)})
	w := do(t, s, request{method: "GET", path: "/openapi.json", header: map[string]string{"Accept-Encoding": "gzip, br"}})
	if w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("got Content-Encoding %q, want gzip", w.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !json.Valid(plain) {
		t.Fatalf("gunzipped document is not JSON: %v", err)
	}
	// A small answer is not worth compressing.
	w = do(t, s, request{method: "POST", path: "/predict", body: txBody(firstRow, nil, ""), header: map[string]string{"Accept-Encoding": "gzip"}})
	if w.Header().Get("Content-Encoding") != "" || !json.Valid(w.Body.Bytes()) {
		t.Errorf("small answer: got Content-Encoding %q", w.Header().Get("Content-Encoding"))
	}
	// gzip;q=0 refuses gzip.
	w = do(t, s, request{method: "GET", path: "/openapi.json", header: map[string]string{"Accept-Encoding": "gzip;q=0"}})
	if w.Header().Get("Content-Encoding") != "" {
		t.Errorf("q=0: got Content-Encoding %q, want none", w.Header().Get("Content-Encoding"))
	}
}

// TestGzipWritersReused sends answers to be compressed and answers too small for it, with and
// without CORS's own Vary, one after the other and from several goroutines at once: the pooled
// writers must carry nothing from one answer to the next.
func TestGzipWritersReused(t *testing.T) {
	s := mustServer(t, Options{CORSAllowedOrigins: []string{"https://app.example"}}, staticModels{mustModel(t)})
	// check reports with Errorf only: it also runs on other goroutines.
	check := func(t testing.TB, i int) {
		big := i%2 == 0
		header := map[string]string{"Accept-Encoding": "gzip"}
		wantVary := []string{"Accept-Encoding"}
		if i%3 == 0 {
			header["Origin"] = "https://app.example"
			wantVary = []string{"Origin", "Accept-Encoding"}
		}
		// Small answers are a 200 or, every fifth, a 400: a status kept from the answer before
		// would show.
		rq, wantCode := request{method: "POST", path: "/predict", body: txBody(firstRow, nil, ""), header: header}, 200
		switch {
		case big:
			rq = request{method: "GET", path: "/openapi.json", header: header}
		case i%5 == 1:
			rq, wantCode = request{method: "POST", path: "/predict", body: txBody(firstRow, nil, `"pad":"x"`), header: header}, 400
		}
		w := do(t, s, rq)
		if w.Code != wantCode {
			t.Errorf("request %d: got %d, want %d", i, w.Code, wantCode)
			return
		}
		if got := w.Header().Values("Vary"); !slices.Equal(got, wantVary) {
			t.Errorf("request %d: Vary %q, want %q", i, got, wantVary)
		}
		body := w.Body.Bytes()
		if enc := w.Header().Get("Content-Encoding"); (enc == "gzip") != big {
			t.Errorf("request %d: Content-Encoding %q, want gzip %v", i, enc, big)
			return
		}
		if big {
			zr, err := gzip.NewReader(w.Body)
			if err == nil {
				body, err = io.ReadAll(zr)
			}
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
		}
		if !json.Valid(body) {
			t.Errorf("request %d: the answer is not JSON: %.80q", i, body)
		}
	}
	for i := range 12 {
		check(t, i)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 30 {
				check(t, g+i)
			}
		})
	}
	wg.Wait()
}

// TestGzipThreshold checks the README's "gzip for answers of 1 KiB or more": an answer of
// exactly 1024 bytes is compressed for a client that accepts gzip, one of 1023 bytes is sent as
// it is.
func TestGzipThreshold(t *testing.T) {
	// A fixed clock, so that the answers' timestamps are the same from one request to the next.
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	s := mustServer(t, Options{Now: func() time.Time { return now }}, staticModels{mustModel(t)})
	for _, tc := range []struct {
		size int
		gzip bool
	}{
		{1023, false},
		{1024, true},
	} {
		t.Run(strconv.Itoa(tc.size), func(t *testing.T) {
			body, plain := answerOfSize(t, s, tc.size)
			w := do(t, s, request{method: "POST", path: "/predict", body: body,
				header: map[string]string{"Accept-Encoding": "gzip", "X-Request-ID": "gzip-threshold"}})
			got := w.Body.Bytes()
			if enc := w.Header().Get("Content-Encoding"); (enc == "gzip") != tc.gzip {
				t.Fatalf("%d-byte answer: got Content-Encoding %q, want gzip %v", tc.size, enc, tc.gzip)
			}
			if tc.gzip {
				zr, err := gzip.NewReader(w.Body)
				if err != nil {
					t.Fatal(err)
				}
				if got, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if w.Code != 400 || !bytes.Equal(got, plain) {
				t.Errorf("got %d %q, want 400 %q", w.Code, got, plain)
			}
		})
	}
}

// answerOfSize returns a /predict body whose answer (to a request with X-Request-ID
// gzip-threshold) is exactly size bytes, and that answer, read by a client that does not accept
// gzip. The body carries unknown fields, each echoed in a detail of the 400, so lengthening
// their values (while echoed whole) lengthens the answer byte for byte; the rest of the
// answer is fixed (the server's clock is, and no timing figure is given).
func answerOfSize(t testing.TB, s http.Handler, size int) (body, answer []byte) {
	t.Helper()
	const maxValue = txjson.MaxEchoedValue - 2 // a value whose JSON text, quotes included, is echoed whole
	send := func(values []string) (body, answer []byte) {
		fields := make([]string, len(values))
		for i, v := range values {
			fields[i] = fmt.Sprintf(`"pad%02d":%q`, i, v)
		}
		body = txBody(firstRow, nil, strings.Join(fields, ","))
		w := do(t, s, request{method: "POST", path: "/predict", body: body, header: map[string]string{"X-Request-ID": "gzip-threshold"}})
		if w.Code != 400 || w.Header().Get("Content-Encoding") != "" {
			t.Fatalf("got %d, Content-Encoding %q, want 400 uncompressed: %s", w.Code, w.Header().Get("Content-Encoding"), w.Body)
		}
		return body, w.Body.Bytes()
	}
	for n := 1; n <= 50; n++ {
		values := make([]string, n)
		for i := range values {
			values[i] = "a"
		}
		_, short := send(values)
		extra := size - len(short)
		if extra < 0 || extra > n*(maxValue-1) {
			continue
		}
		for i := range values {
			grow := min(extra, maxValue-1)
			values[i] += strings.Repeat("b", grow)
			extra -= grow
		}
		body, answer = send(values)
		if len(answer) != size {
			t.Fatalf("got a %d-byte answer, want %d", len(answer), size)
		}
		return body, answer
	}
	t.Fatalf("no body of up to 50 unknown fields is answered in %d bytes", size)
	return nil, nil
}

func TestCORS(t *testing.T) {
	s := mustServer(t, Options{CORSAllowedOrigins: []string{"https://app.example"}}, staticModels{mustModel(t)})
	w := do(t, s, request{method: "OPTIONS", path: "/predict", header: map[string]string{
		"Origin": "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}})
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: got %d, headers %v", w.Code, w.Header())
	}
	w = do(t, s, request{method: "POST", path: "/predict", body: txBody(firstRow, nil, ""), header: map[string]string{"Origin": "https://evil.example"}})
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("disallowed origin got Access-Control-Allow-Origin %q", w.Header().Get("Access-Control-Allow-Origin"))
	}
	// Without CORS_ALLOWED_ORIGINS there are no CORS headers at all.
	s = mustServer(t, Options{}, staticModels{mustModel(t)})
	w = do(t, s, request{method: "POST", path: "/predict", body: txBody(firstRow, nil, ""), header: map[string]string{"Origin": "https://app.example"}})
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS off: got Access-Control-Allow-Origin %q", w.Header().Get("Access-Control-Allow-Origin"))
	}
}

func TestRequestIDSanitised(t *testing.T) {
	s := mustServer(t, Options{}, staticModels{mustModel(t)})
	for _, bad := range []string{"has space", strings.Repeat("a", 129), "<script>"} {
		w := do(t, s, request{method: "GET", path: "/health/live", header: map[string]string{"X-Request-ID": bad}})
		if got := w.Header().Get("X-Request-ID"); got == bad || len(got) != 32 {
			t.Errorf("X-Request-ID %q: got %q, want a generated id", bad, got)
		}
	}
}

// TestOpenAPIGolden compares the document with testdata/openapi.golden.json; run with -update
// after a deliberate change to the API.
func TestOpenAPIGolden(t *testing.T) {
	s := mustServer(t, Options{Version: "golden"}, staticModels{mustModel(t)})
	w := do(t, s, request{method: "GET", path: "/openapi.json"})
	if w.Code != 200 {
		t.Fatalf("got %d", w.Code)
	}
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("got openapi %v, want 3.1.0", doc["openapi"])
	}
	golden := filepath.Join("testdata", "openapi.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, w.Body.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/api -run TestOpenAPIGolden -update)", err)
	}
	if !bytes.Equal(w.Body.Bytes(), want) {
		t.Errorf("OpenAPI document differs from %s; if the change is deliberate, rerun with -update", golden)
	}
	// Every operation documents its error answers with the error schema.
	for path, ops := range doc["paths"].(map[string]any) {
		for method, op := range ops.(map[string]any) {
			resp := op.(map[string]any)["responses"].(map[string]any)
			for _, code := range []string{"404", "405", "500"} {
				if _, ok := resp[code]; !ok {
					t.Errorf("%s %s does not document %s", method, path, code)
				}
			}
		}
	}
	// 304 on a matching ETag.
	etag := w.Header().Get("ETag")
	if w2 := do(t, s, request{method: "GET", path: "/openapi.json", header: map[string]string{"If-None-Match": etag}}); w2.Code != 304 {
		t.Errorf("If-None-Match: got %d, want 304", w2.Code)
	}
}

// TestEveryRouteDocumented checks that the OpenAPI document served at /openapi.json has an
// operation for every route of the table, with the route's method, and nothing else.
func TestEveryRouteDocumented(t *testing.T) {
	s := mustServer(t, Options{}, staticModels{mustModel(t)})
	w := do(t, s, request{method: "GET", path: "/openapi.json"})
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	routed := make(map[string]bool)
	for _, rt := range s.routeTable() {
		if rt.path == "/docs/assets/" || rt.path == "/dashboard/assets/" {
			continue // the pages' scripts and styles, not an operation
		}
		op := strings.ToLower(rt.method) + " " + rt.path
		routed[op] = true
		if _, ok := doc.Paths[rt.path][strings.ToLower(rt.method)]; !ok {
			t.Errorf("%s %s is routed but not in the OpenAPI document's paths", rt.method, rt.path)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !routed[method+" "+path] {
				t.Errorf("%s %s is documented but not routed", strings.ToUpper(method), path)
			}
		}
	}
}

// BenchmarkPredict measures /predict through the whole middleware chain with the first real
// transaction of creditcard.csv.
func BenchmarkPredict(b *testing.B) {
	benchPredict(b, newBenchServer(b), nil)
}

// newBenchServer is the server of BenchmarkPredict: the access log is formatted as in
// production, then discarded.
func newBenchServer(b *testing.B) *Server {
	s, err := NewServer(slog.New(slog.NewJSONHandler(io.Discard, nil)), Options{Version: "bench"}, staticModels{mustModel(b)}, fixedSystem{}, bareGuard(b))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkPredictAcceptGzip is BenchmarkPredict from a client that accepts gzip, as Go's and
// most HTTP clients do: the answer is too small to compress, and deciding so should cost little.
func BenchmarkPredictAcceptGzip(b *testing.B) {
	benchPredict(b, newBenchServer(b), map[string]string{"Accept-Encoding": "gzip"})
}

// benchPredict posts the first real transaction to s as fast as it can, with header set.
func benchPredict(b *testing.B, s http.Handler, header map[string]string) {
	benchPredictPath(b, s, "/predict", txBody(firstRow, map[string]any{"transaction_id": "txn-bench"}, ""), header)
}

// benchPredictPath posts body to path as fast as it can.
func benchPredictPath(b *testing.B, s http.Handler, path string, body []byte, headers ...map[string]string) {
	var header map[string]string
	if len(headers) > 0 {
		header = headers[0]
	}
	r := httptest.NewRequest("POST", path, nil)
	r.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	br := bytes.NewReader(body)
	r.Body = io.NopCloser(br)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(body)
		clear(w.h)
		w.code = 0
		s.ServeHTTP(w, r)
		if w.code != 200 {
			b.Fatalf("got status %d", w.code)
		}
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) {
	if d.code == 0 {
		d.code = 200
	}
	return len(p), nil
}
func (d *discardWriter) WriteHeader(code int) { d.code = code }

// TestNewTransactionIDLeadsWithTime checks that a generated id is txn_, the time in
// milliseconds as 12 hex digits and 16 random ones, so that ids sort as they were made.
func TestNewTransactionIDLeadsWithTime(t *testing.T) {
	at := time.Date(2026, 12, 6, 5, 48, 38, 123_000_000, time.UTC)
	prev := ""
	for i := range 100 {
		now := at.Add(time.Duration(i) * time.Millisecond)
		id := newTransactionID(now)
		want := fmt.Sprintf("txn_%012x", now.UnixMilli())
		if len(id) != 32 || !strings.HasPrefix(id, want) || strings.Trim(id[4:], "0123456789abcdef") != "" {
			t.Fatalf("id at %v: got %q, want %s and 16 hex digits", now, id, want)
		}
		if id <= prev {
			t.Fatalf("id %q made after %q sorts before it", id, prev)
		}
		prev = id
	}
}
