package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/browsertest"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
	"github.com/fraudguard/fraudguard/internal/telemetry/otlptest"
)

// The first transaction of creditcard.csv, as a user would post it.
const firstTransaction = `{"Time":0,"V1":-1.3598071336738,"V2":-0.0727811733098497,"V3":2.53634673796914,"V4":1.37815522427443,"V5":-0.338320769942518,"V6":0.462387777762292,"V7":0.239598554061257,"V8":0.0986979012610507,"V9":0.363786969611213,"V10":0.0907941719789316,"V11":-0.551599533260813,"V12":-0.617800855762348,"V13":-0.991389847235408,"V14":-0.311169353699879,"V15":1.46817697209427,"V16":-0.470400525259478,"V17":0.207971241929242,"V18":0.0257905801985591,"V19":0.403992960255733,"V20":0.251412098239705,"V21":-0.018306777944153,"V22":0.277837575558899,"V23":-0.110473910188767,"V24":0.0669280749146731,"V25":0.128539358273528,"V26":-0.189114843888824,"V27":0.133558376740387,"V28":-0.0210530534538215,"Amount":149.62}`

// shippedModels is the repository's default model directory.
func shippedModels(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "models"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("shipped model directory missing: %v (run make model)", err)
	}
	return dir
}

type liveServer struct {
	url    string
	logs   *sharedtest.Buffer
	cancel context.CancelFunc
	done   chan error
}

// mustServe runs `fraudguard serve` on 127.0.0.1:0 through run() and waits until it is ready.
func mustServe(t testing.TB, env map[string]string, args ...string) *liveServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &sharedtest.Buffer{}
	getenv := func(k string) string { return env[k] }
	if env == nil {
		env = map[string]string{}
	}
	if env["MODEL_PATH"] == "" {
		env["MODEL_PATH"] = shippedModels(t)
	}
	if env["DATA_DIR"] == "" {
		env["DATA_DIR"] = t.TempDir()
	}
	args = append([]string{"serve", "--api-host", "127.0.0.1", "--api-port", "0"}, args...)
	s := &liveServer{logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, args, getenv, strings.NewReader(""), logs, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			t.Error("server did not stop within 20s")
		}
	})
	addrRE := regexp.MustCompile(`"msg":"listening"[^\n]*?"addr":"([^"]+)"`)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			t.Fatalf("server stopped before it was ready: %v\n%s", err, logs)
		default:
		}
		if m := addrRE.FindStringSubmatch(logs.String()); m != nil {
			s.url = "http://" + m[1]
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s.url == "" {
		t.Fatalf("server did not log its address:\n%s", logs)
	}
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.url + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("server not ready:\n%s", logs)
	return nil
}

func call(t testing.TB, method, url, contentType, body string, header ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, url, raw)
		}
	}
	return resp, m
}

// TestServeEndToEnd runs the real service and exercises every endpoint and error case.
func TestServeEndToEnd(t *testing.T) {
	s := mustServe(t, nil)

	t.Run("predict first real transaction", func(t *testing.T) {
		resp, body := call(t, "POST", s.url+"/predict", "application/json", firstTransaction)
		if resp.StatusCode != 200 {
			t.Fatalf("got %d %v, want 200", resp.StatusCode, body)
		}
		p, _ := body["fraud_probability"].(float64)
		if p < 0 || p > 1 || body["risk_level"] == nil || body["model_version"] == "" || body["request_id"] != resp.Header.Get("X-Request-ID") {
			t.Errorf("got %v", body)
		}
		// An ordinary purchase is not flagged by the shipped model.
		if body["is_fraud"] != false {
			t.Errorf("first transaction flagged as fraud: %v", body)
		}
	})

	t.Run("endpoints", func(t *testing.T) {
		for _, path := range []string{"/health", "/health/live", "/health/ready", "/v2/health/live", "/v2/health/ready", "/models/info", "/openapi.json"} {
			resp, body := call(t, "GET", s.url+path, "", "")
			if resp.StatusCode != 200 || body == nil || resp.Header.Get("X-Request-ID") == "" {
				t.Errorf("GET %s: got %d %v", path, resp.StatusCode, body)
			}
		}
		for _, path := range []string{"/docs", "/redoc"} {
			resp, _ := call(t, "GET", s.url+path, "", "")
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("GET %s: got %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
		_, h := call(t, "GET", s.url+"/health", "", "")
		if h["status"] != "healthy" && h["status"] != "degraded" {
			t.Errorf("got health status %v", h["status"])
		}
	})

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name, method, path, ctype, body string
			status                          int
			code                            string
		}{
			{"validation", "POST", "/predict", "application/json", strings.Replace(firstTransaction, `"Amount":149.62`, `"Amount":-3`, 1), 400, "VALIDATION_ERROR"},
			{"malformed", "POST", "/predict", "application/json", `{"Time":0,`, 400, "MALFORMED_JSON"},
			{"too large", "POST", "/predict", "application/json", `{"x":"` + strings.Repeat("a", 70000) + `"}`, 413, "PAYLOAD_TOO_LARGE"},
			{"media type", "POST", "/predict", "text/csv", "Time,V1", 415, "UNSUPPORTED_MEDIA_TYPE"},
			{"not found", "GET", "/nowhere", "", "", 404, "NOT_FOUND"},
			{"method", "DELETE", "/predict", "", "", 405, "METHOD_NOT_ALLOWED"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := call(t, tc.method, s.url+tc.path, tc.ctype, tc.body)
				if resp.StatusCode != tc.status || body["error_code"] != tc.code {
					t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tc.status, tc.code)
				}
				for _, k := range []string{"error_code", "message", "details", "request_id", "timestamp"} {
					if _, ok := body[k]; !ok {
						t.Errorf("error body lacks %q: %v", k, body)
					}
				}
				if body["request_id"] != resp.Header.Get("X-Request-ID") {
					t.Errorf("request_id %v differs from header %q", body["request_id"], resp.Header.Get("X-Request-ID"))
				}
			})
		}
	})

	t.Run("access log", func(t *testing.T) {
		call(t, "GET", s.url+"/health/live", "", "", "User-Agent", "e2e-agent", "X-Request-ID", "e2e-req-7")
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			for _, line := range strings.Split(s.logs.String(), "\n") {
				if !strings.Contains(line, "e2e-req-7") {
					continue
				}
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line is not JSON: %q", line)
				}
				for k, want := range map[string]any{"method": "GET", "route": "/health/live", "status": 200.0, "client_ip": "127.0.0.1", "user_agent": "e2e-agent", "request_id": "e2e-req-7"} {
					if rec[k] != want {
						t.Errorf("access log %s: got %v, want %v", k, rec[k], want)
					}
				}
				if _, ok := rec["duration_ms"].(float64); !ok {
					t.Errorf("access log lacks duration_ms: %v", rec)
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Errorf("no access log line for the request:\n%s", s.logs)
	})

	t.Run("configuration logged once", func(t *testing.T) {
		if n := strings.Count(s.logs.String(), `"msg":"configuration"`); n != 1 {
			t.Errorf("got %d configuration lines, want 1", n)
		}
	})
}

// TestDocsRenderOffline loads /docs and /redoc of the real service in headless Chromium and
// finds the /predict operation in the rendered pages.
func TestDocsRenderOffline(t *testing.T) {
	browsertest.Require(t)
	s := mustServe(t, nil)
	for _, page := range []string{"/docs", "/redoc"} {
		dom := browsertest.DumpDOM(t, s.url+page)
		if !strings.Contains(dom, "/predict") || !strings.Contains(dom, "Score one transaction") {
			t.Errorf("%s: rendered page lacks the /predict operation (%d bytes of DOM)", page, len(dom))
		}
	}
}

// TestGracefulShutdown cancels the server while a request is half sent and checks that the
// request still gets its answer and run returns cleanly.
func TestGracefulShutdown(t *testing.T) {
	s := mustServe(t, nil)
	addr := strings.TrimPrefix(s.url, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Only a bound on a hung server; every step below waits on what the server has done.
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	body := firstTransaction
	half := len(body) / 2
	// With Expect: 100-continue the server answers 100 when the handler starts reading the body:
	// from then on the connection is accepted and the request is in flight.
	fmt.Fprintf(conn, "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
	cont, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("waiting for 100 Continue: %v", err)
	}
	cont.Body.Close()
	if cont.StatusCode != http.StatusContinue {
		t.Fatalf("got %d before the body was sent, want 100", cont.StatusCode)
	}
	if _, err := io.WriteString(conn, body[:half]); err != nil {
		t.Fatal(err)
	}
	s.cancel()
	// The shutdown has begun once the listener refuses new connections.
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts connections 15 s after the cancel")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := io.WriteString(conn, body[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("in-flight request: got %d, want 200", resp.StatusCode)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run returned %v, want nil", err)
		}
		s.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := http.Get(s.url + "/health/live"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

// TestServeRejectsBadConfiguration checks that a bad setting stops start-up with exit status 2
// and one line naming the setting, before the port is bound.
func TestServeRejectsBadConfiguration(t *testing.T) {
	models := shippedModels(t)
	tests := []struct {
		name    string
		env     map[string]string
		setting string
	}{
		{"port", map[string]string{"API_PORT": "http"}, "API_PORT"},
		{"log format", map[string]string{"LOG_FORMAT": "yaml"}, "LOG_FORMAT"},
		{"model path", map[string]string{"MODEL_PATH": filepath.Join(t.TempDir(), "none")}, "MODEL_PATH"},
		{"shutdown", map[string]string{"SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"MODEL_PATH": models, "DATA_DIR": t.TempDir()}
			for k, v := range tc.env {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, nil, &stdout, &stderr)
			code := exitCode(err, &stderr)
			if code != 2 {
				t.Fatalf("got exit %d (%v), want 2", code, err)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.setting) || !strings.Contains(lines[0], strconv.Quote(env[tc.setting])) {
				t.Errorf("got stderr %q, want one line naming %s and its value", stderr.String(), tc.setting)
			}
			if strings.Contains(stdout.String(), "listening") {
				t.Errorf("server listened despite the bad setting")
			}
		})
	}
}

func TestServeRejectsBrokenBundle(t *testing.T) {
	root := t.TempDir()
	bad := filepath.Join(root, "20260101-000000-deadbeef")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "manifest.json"), []byte(`{"format_version":99}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MODEL_PATH": root, "DATA_DIR": t.TempDir()}
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "--api-port", "0"}, func(k string) string { return env[k] }, nil, io.Discard, &stderr)
	if code := exitCode(err, &stderr); code != 1 || !strings.Contains(stderr.String(), "format") {
		t.Errorf("got exit %d, stderr %q; want 1 and a message about the format version", code, stderr.String())
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"serve", "--help"}, {"train", "--help"}, {"gen", "--help"}, {"version", "--help"}, {"--help"}} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, func(string) string { return "" }, nil, &stdout, &stderr)
		if code := exitCode(err, io.Discard); code != 0 {
			t.Errorf("%v: got exit %d (%v), want 0", args, code, err)
		}
		if stdout.Len()+stderr.Len() == 0 {
			t.Errorf("%v: printed nothing", args)
		}
	}
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, nil, &stdout, io.Discard); err != nil || !strings.HasPrefix(stdout.String(), "fraudguard ") {
		t.Errorf("version: got %q, %v", stdout.String(), err)
	}
	if code := exitCode(run(context.Background(), []string{"bogus"}, func(string) string { return "" }, nil, io.Discard, io.Discard), io.Discard); code != 2 {
		t.Errorf("unknown command: got exit %d, want 2", code)
	}
}

// TestServeExportsTraces runs the service with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local
// collector and checks that a scored request's spans arrive under the caller's trace.
func TestServeExportsTraces(t *testing.T) {
	collector := otlptest.NewCollector(t)
	s := mustServe(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.Endpoint()})
	const trace = "0af7651916cd43dd8448eb211c80319c"
	resp, _ := call(t, "POST", s.url+"/predict", "application/json", firstTransaction, "traceparent", "00-"+trace+"-b7ad6b7169203331-01")
	if resp.StatusCode != 200 {
		t.Fatalf("got %d", resp.StatusCode)
	}
	s.cancel() // shutdown flushes the exporter
	<-s.done
	s.done <- nil
	spans := collector.WaitFor(t, func(sp []otlptest.Span) bool {
		for _, x := range sp {
			if x.Name == "model.score" {
				return true
			}
		}
		return false
	}, 10*time.Second)
	found := 0
	for _, sp := range spans {
		if sp.Name == "POST /predict" || sp.Name == "model.score" {
			found++
			if sp.TraceID != trace {
				t.Errorf("span %q in trace %s, want %s", sp.Name, sp.TraceID, trace)
			}
		}
		if strings.Contains(sp.Name, "/health") {
			t.Errorf("probe traced: %q", sp.Name)
		}
	}
	if found != 2 {
		t.Errorf("got %d request spans, want the server span and model.score", found)
	}
}

// TestServeMetrics scores a transaction and reads /metrics in both of its forms.
func TestServeMetrics(t *testing.T) {
	s := mustServe(t, nil)
	call(t, "POST", s.url+"/predict", "application/json", firstTransaction)
	call(t, "POST", s.url+"/predict", "application/json", `{"Time":-1}`)
	req, _ := http.NewRequest("GET", s.url+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`fraudguard_http_requests_total{method="POST",route="/predict",status="200"} 1`,
		`fraudguard_predictions_total{outcome="legit"} 1`,
		`fraudguard_predictions_total{outcome="invalid"} 1`,
		`fraudguard_model_info{`,
		`fraudguard_http_request_duration_seconds_bucket{method="POST",route="/predict",le="0.0001"}`,
		`fraudguard_model_reloads_total{outcome="failure"} 0`,
		`fraudguard_key_reloads_total{outcome="success"} 0`,
		`fraudguard_model_reload_last_success_timestamp_seconds `,
		`fraudguard_key_reload_last_success_timestamp_seconds `,
		`fraudguard_audit_events_dropped_total 0`,
		`fraudguard_audit_events_failed_total 0`,
		`fraudguard_audit_events_purged_total 0`,
		`fraudguard_audit_purge_failures_total 0`,
		`fraudguard_trace_export_failures_total 0`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	_, sum := call(t, "GET", s.url+"/metrics", "", "", "Accept", "application/json")
	if sum["total_predictions"] != 1.0 || sum["total_requests"].(float64) < 3 || sum["p99_ms"] == nil {
		t.Errorf("got summary %v", sum)
	}
	if eps, _ := sum["endpoints"].(map[string]any); eps["POST /predict"] != 2.0 {
		t.Errorf("got endpoints %v, want POST /predict 2", sum["endpoints"])
	}
}
