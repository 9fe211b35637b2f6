package otlptest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/fraudguard/fraudguard/internal/telemetry/otlptest"
)

// mustProvider returns a tracer provider that exports synchronously to c with opts, shut down
// when the test ends.
func mustProvider(t *testing.T, c *otlptest.Collector, opts ...otlptracehttp.Option) *sdktrace.TracerProvider {
	t.Helper()
	opts = append([]otlptracehttp.Option{otlptracehttp.WithEndpointURL(c.Endpoint() + otlptest.TracesPath)}, opts...)
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() {
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return tp
}

func TestCollectorDecodes(t *testing.T) {
	tests := []struct {
		name string
		opts []otlptracehttp.Option
	}{
		{"protobuf", nil},
		{"protobuf gzip", []otlptracehttp.Option{otlptracehttp.WithCompression(otlptracehttp.GzipCompression)}},
		{"json", []otlptracehttp.Option{otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON)}},
		{"json gzip", []otlptracehttp.Option{otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON), otlptracehttp.WithCompression(otlptracehttp.GzipCompression)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := otlptest.NewCollector(t)
			tr := mustProvider(t, c, append(tc.opts, otlptracehttp.WithHeaders(map[string]string{"X-Token": "t1"}))...).Tracer("otlptest")

			ctx, parent := tr.Start(context.Background(), "parent", trace.WithSpanKind(trace.SpanKindServer))
			_, child := tr.Start(ctx, "child", trace.WithAttributes(
				attribute.String("s", "v"),
				attribute.Int64("i", 1<<60+1),
				attribute.Float64("f", 0.25),
				attribute.Bool("b", true),
				attribute.StringSlice("ss", []string{"a", "b"}),
				attribute.Int64Slice("is", []int64{1, 2}),
			))
			child.SetStatus(codes.Error, "boom")
			child.End()
			parent.SetStatus(codes.Ok, "")
			parent.End()

			spans := c.WaitFor(t, func(s []otlptest.Span) bool { return len(s) == 2 }, 5*time.Second)
			gotChild, gotParent := spans[0], spans[1]
			want := parent.SpanContext()
			if gotParent.Name != "parent" || gotParent.Kind != trace.SpanKindServer || gotParent.ParentSpanID != "" ||
				gotParent.TraceID != want.TraceID().String() || gotParent.SpanID != want.SpanID().String() || gotParent.StatusCode != codes.Ok {
				t.Errorf("parent: got %+v, want a server root span %s/%s with status Ok", gotParent, want.TraceID(), want.SpanID())
			}
			if gotChild.Name != "child" || gotChild.Kind != trace.SpanKindInternal || gotChild.TraceID != want.TraceID().String() ||
				gotChild.ParentSpanID != want.SpanID().String() || gotChild.SpanID != child.SpanContext().SpanID().String() {
				t.Errorf("child: got %+v, want an internal child of %s", gotChild, want.SpanID())
			}
			if gotChild.StatusCode != codes.Error || gotChild.StatusMessage != "boom" {
				t.Errorf("child status: got %v %q, want Error \"boom\"", gotChild.StatusCode, gotChild.StatusMessage)
			}
			wantAttrs := map[string]string{"s": "v", "i": "1152921504606846977", "f": "0.25", "b": "true", "ss": `["a","b"]`, "is": "[1,2]"}
			for k, v := range wantAttrs {
				if got := gotChild.Attributes[k]; got != v {
					t.Errorf("attribute %s: got %q, want %q", k, got, v)
				}
			}
			if gotChild.Scope != "otlptest" || gotChild.Resource["service.name"] == "" {
				t.Errorf("scope and resource: got %q %v, want otlptest and a service.name", gotChild.Scope, gotChild.Resource)
			}
			if h := c.Headers(); len(h) != 2 || h[0].Get("X-Token") != "t1" {
				t.Errorf("headers: got %v, want two exports with X-Token t1", h)
			}
		})
	}
}

func TestCollectorRejects(t *testing.T) {
	c := otlptest.NewCollector(t)
	tests := []struct {
		name, method, path, contentType, encoding, body string
		want                                            int
	}{
		{"wrong path", http.MethodPost, "/v1/metrics", "application/x-protobuf", "", "", http.StatusNotFound},
		{"wrong method", http.MethodGet, otlptest.TracesPath, "", "", "", http.StatusMethodNotAllowed},
		{"wrong type", http.MethodPost, otlptest.TracesPath, "text/plain", "", "x", http.StatusUnsupportedMediaType},
		{"wrong encoding", http.MethodPost, otlptest.TracesPath, "application/x-protobuf", "br", "x", http.StatusUnsupportedMediaType},
		{"bad gzip", http.MethodPost, otlptest.TracesPath, "application/x-protobuf", "gzip", "not gzip", http.StatusBadRequest},
		{"bad protobuf", http.MethodPost, otlptest.TracesPath, "application/x-protobuf", "", "\xff\xff\xff", http.StatusBadRequest},
		{"bad json", http.MethodPost, otlptest.TracesPath, "application/json", "", "{", http.StatusBadRequest},
		{"bad hex id", http.MethodPost, otlptest.TracesPath, "application/json", "", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}`, http.StatusBadRequest},
		{"empty protobuf", http.MethodPost, otlptest.TracesPath, "application/x-protobuf", "", "", http.StatusOK},
		{"empty json", http.MethodPost, otlptest.TracesPath, "application/json; charset=utf-8", "", "{}", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, c.Endpoint()+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tc.contentType)
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("got status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if got := c.Spans(); len(got) != 0 {
		t.Errorf("got %d spans, want 0", len(got))
	}
}

func TestCollectorJSONIDs(t *testing.T) {
	c := otlptest.NewCollector(t)
	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
		"scopeSpans":[{"scope":{"name":"lib"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C",
		"spanId":"eee19b7ec3c1b174","parentSpanId":"0102030405060708","name":"op","kind":2,
		"attributes":[{"key":"n","value":{"intValue":"-42"}}],"status":{"code":2,"message":"m"}}]}]}]}`
	resp, err := http.Post(c.Endpoint()+otlptest.TracesPath, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200", resp.StatusCode)
	}
	got := c.Spans()
	want := otlptest.Span{
		Name: "op", Kind: trace.SpanKindServer, TraceID: "5b8efff798038103d269b633813fc60c",
		SpanID: "eee19b7ec3c1b174", ParentSpanID: "0102030405060708", StatusCode: codes.Error, StatusMessage: "m", Scope: "lib",
	}
	if len(got) != 1 {
		t.Fatalf("got %d spans, want 1", len(got))
	}
	g := got[0]
	if g.Name != want.Name || g.Kind != want.Kind || g.TraceID != want.TraceID || g.SpanID != want.SpanID ||
		g.ParentSpanID != want.ParentSpanID || g.StatusCode != want.StatusCode || g.StatusMessage != want.StatusMessage ||
		g.Scope != want.Scope || g.Attributes["n"] != "-42" || g.Resource["service.name"] != "svc" {
		t.Errorf("got %+v, want %+v with n=-42 and service.name=svc", g, want)
	}
}

// fatalRecorder notes Fatalf instead of stopping the test, so WaitFor's timeout can be tested.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestWaitForTimesOut(t *testing.T) {
	c := otlptest.NewCollector(t)
	rec := &fatalRecorder{TB: t}
	start := time.Now()
	if got := c.WaitFor(rec, func(s []otlptest.Span) bool { return len(s) > 0 }, 50*time.Millisecond); got != nil {
		t.Errorf("got %v, want nil", got)
	}
	if !strings.Contains(rec.msg, "received 0 spans") {
		t.Errorf("got message %q, want one naming the 0 spans received", rec.msg)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("returned after %v, want at least the 50ms timeout", d)
	}
}
