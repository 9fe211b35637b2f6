package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/telemetry"
	"github.com/fraudguard/fraudguard/internal/telemetry/otlptest"
)

const (
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
	traceparent = "00-" + callerTrace + "-" + callerSpan + "-01"
)

// TestTracingExportsSpans runs the API with an OTLP exporter pointed at a local collector and
// checks the spans of a /predict that came with a traceparent.
func TestTracingExportsSpans(t *testing.T) {
	collector := otlptest.NewCollector(t)
	tr, err := telemetry.NewTracing(context.Background(), telemetry.TracingOptions{Endpoint: collector.Endpoint(), ServiceName: "fraudguard-test"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := NewServer(slog.New(slog.NewJSONHandler(&logs, nil)), Options{Version: "t", Tracer: tr.Tracer(), Propagator: tr.Propagator()},
		staticModels{mustModel(t)}, fixedSystem{}, bareGuard(t))
	if err != nil {
		t.Fatal(err)
	}
	w := do(t, s, request{method: "POST", path: "/predict", body: txBody(firstRow, nil, ""), header: map[string]string{"traceparent": traceparent}})
	if w.Code != 200 {
		t.Fatalf("got %d", w.Code)
	}
	w = do(t, s, request{method: "POST", path: "/predict", body: []byte(`{`), header: map[string]string{"traceparent": traceparent}})
	if got := decodeBody(t, w)["trace_id"]; got != callerTrace {
		t.Errorf("error body trace_id: got %v, want %s", got, callerTrace)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := collector.WaitFor(t, func(sp []otlptest.Span) bool { return len(sp) >= 3 }, 10*time.Second)
	var server, score int
	for _, sp := range spans {
		if sp.TraceID != callerTrace {
			t.Errorf("span %s in trace %s, want the caller's %s", sp.Name, sp.TraceID, callerTrace)
		}
		switch sp.Name {
		case "POST /predict":
			server++
			if sp.ParentSpanID != callerSpan || sp.Attributes["http.route"] != "/predict" || sp.Attributes["fraudguard.request_id"] == "" {
				t.Errorf("server span: %+v", sp)
			}
		case "model.score":
			score++
			if sp.Attributes["model.version"] == "" {
				t.Errorf("model.score span lacks the model version: %+v", sp)
			}
		}
	}
	if server != 2 || score != 1 {
		t.Errorf("got %d server spans and %d scoring spans, want 2 and 1: %+v", server, score, spans)
	}
	if !strings.Contains(logs.String(), `"trace_id":"`+callerTrace+`"`) {
		t.Errorf("access log lacks the trace id")
	}
}

// TestTraceIDWithoutTracing checks that the caller's trace id reaches logs and error bodies
// even when no exporter is configured.
func TestTraceIDWithoutTracing(t *testing.T) {
	var logs bytes.Buffer
	s, err := NewServer(slog.New(slog.NewJSONHandler(&logs, nil)), Options{Version: "t"}, staticModels{mustModel(t)}, fixedSystem{}, bareGuard(t))
	if err != nil {
		t.Fatal(err)
	}
	w := do(t, s, request{method: "GET", path: "/nope", header: map[string]string{"traceparent": traceparent}})
	if got := decodeBody(t, w)["trace_id"]; got != callerTrace {
		t.Errorf("error body trace_id: got %v, want %s", got, callerTrace)
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil || line["trace_id"] != callerTrace {
		t.Errorf("access log: got %v (%v), want trace_id %s", line, err, callerTrace)
	}
	// A malformed traceparent is ignored.
	w = do(t, s, request{method: "GET", path: "/nope", header: map[string]string{"traceparent": "00-zz-yy-01"}})
	if _, ok := decodeBody(t, w)["trace_id"]; ok {
		t.Error("a malformed traceparent produced a trace_id")
	}
}
