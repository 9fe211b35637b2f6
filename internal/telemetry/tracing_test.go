package telemetry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/fraudguard/fraudguard/internal/sharedtest"
	"github.com/fraudguard/fraudguard/internal/telemetry/otlptest"
)

// incoming is a caller's traceparent, as in the W3C Trace Context examples.
const (
	incoming        = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	incomingTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingSpanID  = "00f067aa0ba902b7"
)

// mustTracing starts tracing with opts and shuts it down when the test ends.
func mustTracing(t testing.TB, opts TracingOptions) *Tracing {
	t.Helper()
	tr, err := NewTracing(context.Background(), opts)
	if err != nil {
		t.Fatalf("NewTracing: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return tr
}

func TestTracingExportsToCollector(t *testing.T) {
	t.Parallel()
	c := otlptest.NewCollector(t)
	tr := mustTracing(t, TracingOptions{
		Endpoint:       c.Endpoint(),
		ServiceName:    "fraudguard-test",
		ServiceVersion: "1.2.3",
		Headers:        map[string]string{"Authorization": "Bearer t0ken"},
	})
	if !tr.Enabled() || tr.Tracer() == nil {
		t.Fatalf("got Enabled %v and Tracer %v, want tracing on", tr.Enabled(), tr.Tracer())
	}

	// What the API middleware does with a request that carries a traceparent.
	h := http.Header{}
	h.Set("Traceparent", incoming)
	h.Set("Baggage", "tenant=acme")
	ctx := tr.Propagator().Extract(context.Background(), propagation.HeaderCarrier(h))
	ctx, server := tr.Tracer().Start(ctx, "POST /predict", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", "POST"), attribute.String("http.route", "/predict")))
	_, score := tr.Tracer().Start(ctx, "model.score")
	score.SetStatus(codes.Error, "no model")
	score.End()
	server.SetAttributes(attribute.Int("http.response.status_code", 503))
	server.End()

	// The propagator passes the context on to an outgoing call.
	out := http.Header{}
	tr.Propagator().Inject(ctx, propagation.HeaderCarrier(out))
	if got := out.Get("Traceparent"); !strings.HasPrefix(got, "00-"+incomingTraceID+"-"+server.SpanContext().SpanID().String()) {
		t.Errorf("injected traceparent: got %q, want the incoming trace and the server span", got)
	}
	if got := out.Get("Baggage"); got != "tenant=acme" {
		t.Errorf("injected baggage: got %q, want tenant=acme", got)
	}

	ctxShut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctxShut); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	spans := c.WaitFor(t, func(s []otlptest.Span) bool { return len(s) >= 2 }, 5*time.Second)
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2: %v", len(spans), spans)
	}
	byName := map[string]otlptest.Span{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	gotServer, gotScore := byName["POST /predict"], byName["model.score"]
	if gotServer.TraceID != incomingTraceID || gotServer.ParentSpanID != incomingSpanID || gotServer.Kind != trace.SpanKindServer {
		t.Errorf("server span: got %v kind %v, want trace %s, parent %s, kind server", gotServer, gotServer.Kind, incomingTraceID, incomingSpanID)
	}
	if gotScore.TraceID != incomingTraceID || gotScore.ParentSpanID != gotServer.SpanID || gotScore.SpanID == gotServer.SpanID {
		t.Errorf("score span: got %v, want a child of the server span %s in trace %s", gotScore, gotServer.SpanID, incomingTraceID)
	}
	if gotScore.StatusCode != codes.Error || gotScore.StatusMessage != "no model" {
		t.Errorf("score status: got %v %q, want Error \"no model\"", gotScore.StatusCode, gotScore.StatusMessage)
	}
	wantAttrs := map[string]string{"http.request.method": "POST", "http.route": "/predict", "http.response.status_code": "503"}
	for k, v := range wantAttrs {
		if got := gotServer.Attributes[k]; got != v {
			t.Errorf("server attribute %s: got %q, want %q", k, got, v)
		}
	}
	wantRes := map[string]string{"service.name": "fraudguard-test", "service.version": "1.2.3", "telemetry.sdk.language": "go"}
	for k, v := range wantRes {
		if got := gotServer.Resource[k]; got != v {
			t.Errorf("resource %s: got %q, want %q", k, got, v)
		}
	}
	if gotServer.Scope != InstrumentationName {
		t.Errorf("scope: got %q, want %q", gotServer.Scope, InstrumentationName)
	}
	for _, hdr := range c.Headers() {
		if got := hdr.Get("Authorization"); got != "Bearer t0ken" {
			t.Errorf("export header Authorization: got %q, want the configured one", got)
		}
	}
	if n := tr.ExportFailures(); n != 0 {
		t.Errorf("ExportFailures: got %d, want 0", n)
	}
}

func TestTracingDisabled(t *testing.T) {
	t.Parallel()
	tr, err := NewTracing(context.Background(), TracingOptions{ServiceName: "x", SampleRatio: 7})
	if err != nil {
		t.Fatalf("NewTracing: %v", err)
	}
	if tr.Enabled() || tr.Tracer() != nil || tr.provider != nil || tr.exporter != nil {
		t.Errorf("got Enabled %v, Tracer %v, provider %v, want nothing created", tr.Enabled(), tr.Tracer(), tr.provider)
	}
	if tr.Propagator() == nil {
		t.Error("got a nil Propagator, want the W3C one")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: got %v, want nil", err)
	}
	if n := tr.ExportFailures(); n != 0 {
		t.Errorf("ExportFailures: got %d, want 0", n)
	}
	var none *Tracing
	if none.Enabled() || none.Tracer() != nil || none.Propagator() == nil || none.Shutdown(context.Background()) != nil {
		t.Error("a nil *Tracing should behave as disabled")
	}
}

func TestTracingSamplingIsParentBased(t *testing.T) {
	t.Parallel()
	c := otlptest.NewCollector(t)
	tests := []struct {
		name        string
		ratio       float64
		traceparent string
		want        bool
	}{
		{"default ratio samples new traces", 0, "", true},
		{"tiny ratio drops new traces", 1e-12, "", false},
		{"sampled caller wins over tiny ratio", 1e-12, incoming, true},
		{"unsampled caller wins over ratio 1", 1, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mustTracing(t, TracingOptions{Endpoint: c.Endpoint(), SampleRatio: tc.ratio})
			ctx := context.Background()
			if tc.traceparent != "" {
				h := http.Header{"Traceparent": {tc.traceparent}}
				ctx = tr.Propagator().Extract(ctx, propagation.HeaderCarrier(h))
			}
			_, span := tr.Tracer().Start(ctx, "s")
			defer span.End()
			if got := span.SpanContext().IsSampled(); got != tc.want {
				t.Errorf("sampled: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewTracingRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts TracingOptions
		want string
	}{
		{"no scheme", TracingOptions{Endpoint: "127.0.0.1:4318"}, "http:// or https://"},
		{"grpc scheme", TracingOptions{Endpoint: "grpc://collector:4317"}, "http:// or https://"},
		{"no host", TracingOptions{Endpoint: "http:///v1"}, "no host"},
		{"path only", TracingOptions{Endpoint: "/v1/traces"}, "http:// or https://"},
		{"credentials", TracingOptions{Endpoint: "https://user:secret@collector"}, "credentials"},
		{"query", TracingOptions{Endpoint: "http://collector:4318?x=1"}, "query"},
		{"unparsable", TracingOptions{Endpoint: "http://secret@[::1"}, "tracing endpoint"},
		{"negative ratio", TracingOptions{Endpoint: "http://collector:4318", SampleRatio: -0.1}, "sample ratio"},
		{"ratio above one", TracingOptions{Endpoint: "http://collector:4318", SampleRatio: 1.5}, "sample ratio"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := NewTracing(context.Background(), tc.opts)
			if err == nil {
				_ = tr.Shutdown(context.Background())
				t.Fatalf("got no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("got %q, which echoes a secret", err)
			}
		})
	}
}

func TestTracesURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ endpoint, want string }{
		{"http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"},
		{"http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"},
		{"https://otlp.example.com", "https://otlp.example.com/v1/traces"},
		{"https://gateway.example.com/otlp", "https://gateway.example.com/otlp/v1/traces"},
		{"https://gateway.example.com/otlp/", "https://gateway.example.com/otlp/v1/traces"},
		{"http://[::1]:4318", "http://[::1]:4318/v1/traces"},
		{"HTTP://Collector:4318", "http://Collector:4318/v1/traces"},
	}
	for _, tc := range tests {
		t.Run(tc.endpoint, func(t *testing.T) {
			got, err := tracesURL(tc.endpoint)
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestTracingShutdownReportsFailedFlush(t *testing.T) {
	t.Parallel()
	// 400 is not retried, so the failure shows at once.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "no", http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	var logs sharedtest.Buffer
	tr, err := NewTracing(context.Background(), TracingOptions{
		Endpoint: srv.URL,
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Tracer().Start(context.Background(), "lost")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = tr.Shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "flush spans") {
		t.Errorf("Shutdown: got %v, want a flush error", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: got %v, want the export error rather than a timeout", err)
	}
	if n := tr.ExportFailures(); n != 1 {
		t.Errorf("ExportFailures: got %d, want 1", n)
	}
	if got := logs.String(); !strings.Contains(got, "span export failed") || !strings.Contains(got, "component=tracing") {
		t.Errorf("log: got %q, want a span export failure from component tracing", got)
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: got %v, want nil", err)
	}
}

func TestParseHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"", nil, false},
		{"  ", nil, false},
		{"a=b", map[string]string{"a": "b"}, false},
		{" Authorization = Bearer%20abc , x-tenant=7", map[string]string{"Authorization": "Bearer abc", "x-tenant": "7"}, false},
		{"k=a=b", map[string]string{"k": "a=b"}, false},
		{"k=", map[string]string{"k": ""}, false},
		{"novalue", nil, true},
		{"=v", nil, true},
		{"a=b,", nil, true},
		{"k=%zz", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseHeaders(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("got error %v, want error %v", err, tc.wantErr)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: got %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestParseHeadersHidesValues(t *testing.T) {
	t.Parallel()
	_, err := ParseHeaders("Authorization=s3cr%t")
	if err == nil || strings.Contains(err.Error(), "s3cr") {
		t.Errorf("got %v, want an error that does not echo the value", err)
	}
}

func TestTraceIDFromHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"valid sampled", incoming, incomingTraceID, true},
		{"valid unsampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", incomingTraceID, true},
		{"other flags", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-ff", "0af7651916cd43dd8448eb211c80319c", true},
		{"one non-zero digit", "00-00000000000000000000000000000001-0000000000000001-01", "00000000000000000000000000000001", true},
		{"empty", "", "", false},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", false},
		{"version 01", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", false},
		{"future version suffix on 00", incoming + "-extra", "", false},
		{"uppercase trace id", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "", false},
		{"uppercase span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", "", false},
		{"uppercase flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A", "", false},
		{"uppercase version", "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", false},
		{"short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", "", false},
		{"long trace id", "00-4bf92f3577b34da6a3ce929d0e0e47360-00f067aa0ba902b7-01", "", false},
		{"short span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01", "", false},
		{"short flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1", "", false},
		{"long flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-001", "", false},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "", false},
		{"zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "", false},
		{"non-hex trace id", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", "", false},
		{"non-hex flags", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x", "", false},
		{"underscores", "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", "", false},
		{"leading space", " " + incoming[:54], "", false},
		{"dash in id", "00-4bf92f3577b34da6-3ce929d0e0e4736-00f067aa0ba902b7-01", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := TraceIDFromHeader(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("TraceIDFromHeader(%q): got %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestTraceIDFromHeaderAllocs(t *testing.T) {
	var id string
	var ok bool
	allocs := testing.AllocsPerRun(1000, func() {
		id, ok = TraceIDFromHeader(incoming)
	})
	if allocs != 0 || !ok || id != incomingTraceID {
		t.Errorf("got %v allocs and %q, %v, want 0 allocs and %q", allocs, id, ok, incomingTraceID)
	}
}

// traceparentV00 is the W3C grammar for a version-00 traceparent, used as the fuzzing oracle.
var traceparentV00 = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$`)

func FuzzTraceIDFromHeader(f *testing.F) {
	for _, s := range []string{incoming, "", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "ff-" + incoming[3:]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := TraceIDFromHeader(s)
		m := traceparentV00.FindStringSubmatch(s)
		want := m != nil && strings.Trim(m[1], "0") != "" && strings.Trim(m[2], "0") != ""
		if ok != want {
			t.Fatalf("TraceIDFromHeader(%q): got ok %v, want %v", s, ok, want)
		}
		if ok && got != m[1] {
			t.Fatalf("TraceIDFromHeader(%q): got %q, want %q", s, got, m[1])
		}
	})
}

// discardServer accepts exports and throws them away, so a benchmark measures the span and
// not a collector decoding it on the same two cores.
func discardServer(b *testing.B) string {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkSpan measures starting and ending spans on the request path with tracing on.
func BenchmarkSpan(b *testing.B) {
	endpoint := discardServer(b)
	remote := propagation.TraceContext{}.Extract(context.Background(),
		propagation.HeaderCarrier(http.Header{"Traceparent": {incoming}}))
	bench := func(name string, ratio float64, parent context.Context, span func(context.Context, trace.Tracer)) {
		b.Run(name, func(b *testing.B) {
			tr := mustTracing(b, TracingOptions{Endpoint: endpoint, SampleRatio: ratio})
			tracer := tr.Tracer()
			b.ReportAllocs()
			for b.Loop() {
				span(parent, tracer)
			}
		})
	}
	plain := func(ctx context.Context, tracer trace.Tracer) {
		_, s := tracer.Start(ctx, "model.score")
		s.End()
	}
	server := func(ctx context.Context, tracer trace.Tracer) {
		ctx, s := tracer.Start(ctx, "POST /predict", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", "POST"), attribute.String("http.route", "/predict")))
		_, child := tracer.Start(ctx, "model.score")
		child.End()
		s.SetAttributes(attribute.Int("http.response.status_code", 200))
		s.End()
	}
	bench("root", 1, context.Background(), plain)
	bench("remote_parent", 1, remote, plain)
	bench("server_and_child_with_attrs", 1, remote, server)
	bench("unsampled_root", 1e-12, context.Background(), plain)
}

func BenchmarkTraceIDFromHeader(b *testing.B) {
	b.ReportAllocs()
	var sink string
	for b.Loop() {
		sink, _ = TraceIDFromHeader(incoming)
	}
	_ = sink
}
