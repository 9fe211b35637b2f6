// Package otlptest runs an in-process OTLP/HTTP trace collector for tests, so that a test can
// send spans through the real exporter and assert on what arrived.
package otlptest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// TracesPath is the path the collector accepts exports at.
const TracesPath = "/v1/traces"

// maxBody caps one export request; the SDK's default batch of 512 spans is far smaller.
const maxBody = 32 << 20

// Span is one received span, flattened for assertions.
type Span struct {
	Name string
	Kind trace.SpanKind
	// TraceID, SpanID and ParentSpanID are lowercase hex; ParentSpanID is empty for a root span.
	TraceID      string
	SpanID       string
	ParentSpanID string
	// Attributes holds the span's attributes as text: numbers in Go's shortest form, bools
	// as "true"/"false", bytes as hex, arrays and maps as JSON.
	Attributes    map[string]string
	StatusCode    codes.Code
	StatusMessage string
	// Resource holds the resource attributes sent with the span, such as service.name.
	Resource map[string]string
	// Scope is the instrumentation scope (tracer) name.
	Scope string
}

// String summarises the span for failure messages.
func (s Span) String() string {
	return fmt.Sprintf("%s{trace=%s span=%s parent=%s}", s.Name, s.TraceID, s.SpanID, s.ParentSpanID)
}

// Collector is an OTLP/HTTP trace receiver on a local httptest.Server. It accepts
// application/x-protobuf and application/json bodies, gzip-compressed or not, at TracesPath,
// and keeps every span it decodes. It is safe for concurrent use.
type Collector struct {
	srv *httptest.Server
	t   testing.TB

	mu      sync.Mutex
	spans   []Span
	headers []http.Header
	changed chan struct{} // closed and replaced whenever spans grow
}

// NewCollector starts a collector that is closed when the test ends. Close any tracer
// provider that exports to it before then (or in a later-registered t.Cleanup), so that its
// final flush has somewhere to go.
func NewCollector(t testing.TB) *Collector {
	t.Helper()
	c := &Collector{t: t, changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+TracesPath, c.handleTraces)
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
	return c
}

// Endpoint returns the collector's base URL, in the form OTEL_EXPORTER_OTLP_ENDPOINT takes
// (http://127.0.0.1:port, without TracesPath).
func (c *Collector) Endpoint() string { return c.srv.URL }

// Spans returns a copy of the spans received so far, in arrival order. The attribute maps are
// shared with the collector and must not be modified.
func (c *Collector) Spans() []Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.spans)
}

// Headers returns the request headers of each export received so far, in arrival order.
func (c *Collector) Headers() []http.Header {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.headers)
}

// WaitFor waits until cond holds for the spans received so far and returns them. cond is
// checked at once and again after each export; if it still fails after timeout, WaitFor fails
// the test with the spans it has. Call it from the test's own goroutine.
func (c *Collector) WaitFor(t testing.TB, cond func([]Span) bool, timeout time.Duration) []Span {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		spans, changed := slices.Clone(c.spans), c.changed
		c.mu.Unlock()
		if cond(spans) {
			return spans
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("otlptest: condition not met after %v; received %d spans: %v", timeout, len(spans), spans)
			return nil
		}
	}
}

func (c *Collector) handleTraces(w http.ResponseWriter, r *http.Request) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "application/x-protobuf" && mediaType != "application/json" {
		http.Error(w, "want application/x-protobuf or application/json", http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, maxBody)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			c.reject(w, fmt.Errorf("gzip: %w", err))
			return
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxBody)
	default:
		http.Error(w, "unsupported Content-Encoding "+enc, http.StatusUnsupportedMediaType)
		return
	}
	data, err := io.ReadAll(body)
	if err != nil {
		c.reject(w, fmt.Errorf("read body: %w", err))
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if mediaType == "application/json" {
		err = unmarshalJSON(data, &req)
	} else {
		err = proto.Unmarshal(data, &req)
	}
	if err != nil {
		c.reject(w, fmt.Errorf("decode %s: %w", mediaType, err))
		return
	}
	c.record(r.Header.Clone(), flatten(&req))

	w.Header().Set("Content-Type", mediaType)
	if mediaType == "application/json" {
		_, _ = io.WriteString(w, "{}")
		return
	}
	resp, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(resp)
}

// reject answers 400, which the exporter does not retry, and notes why in the test log.
func (c *Collector) reject(w http.ResponseWriter, err error) {
	c.t.Logf("otlptest: rejected export: %v", err)
	http.Error(w, err.Error(), http.StatusBadRequest)
}

func (c *Collector) record(h http.Header, spans []Span) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.headers = append(c.headers, h)
	c.spans = append(c.spans, spans...)
	close(c.changed)
	c.changed = make(chan struct{})
}

// flatten turns an export request into Spans.
func flatten(req *coltracepb.ExportTraceServiceRequest) []Span {
	var out []Span
	for _, rs := range req.GetResourceSpans() {
		res := attributes(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			scope := ss.GetScope().GetName()
			for _, s := range ss.GetSpans() {
				out = append(out, Span{
					Name:          s.GetName(),
					Kind:          trace.SpanKind(s.GetKind()), // the OTLP and API enums share values
					TraceID:       hex.EncodeToString(s.GetTraceId()),
					SpanID:        hex.EncodeToString(s.GetSpanId()),
					ParentSpanID:  hex.EncodeToString(s.GetParentSpanId()),
					Attributes:    attributes(s.GetAttributes()),
					StatusCode:    statusCode(s.GetStatus().GetCode()),
					StatusMessage: s.GetStatus().GetMessage(),
					Resource:      res,
					Scope:         scope,
				})
			}
		}
	}
	return out
}

// statusCode maps the OTLP status enum onto the API's, whose Ok and Error values are swapped.
func statusCode(c tracepb.Status_StatusCode) codes.Code {
	switch c {
	case tracepb.Status_STATUS_CODE_OK:
		return codes.Ok
	case tracepb.Status_STATUS_CODE_ERROR:
		return codes.Error
	default:
		return codes.Unset
	}
}

func attributes(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = text(kv.GetValue())
	}
	return m
}

// text renders one attribute value as Span.Attributes documents.
func text(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BytesValue:
		return hex.EncodeToString(x.BytesValue)
	case nil:
		return ""
	default:
		b, err := json.Marshal(native(v))
		if err != nil {
			return fmt.Sprint(native(v))
		}
		return string(b)
	}
}

// native converts a value to plain Go values for JSON rendering of arrays and maps.
func native(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return hex.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		out := make([]any, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, native(e))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		out := make(map[string]any, len(x.KvlistValue.GetValues()))
		for _, kv := range x.KvlistValue.GetValues() {
			out[kv.GetKey()] = native(kv.GetValue())
		}
		return out
	default:
		return nil
	}
}

// unmarshalJSON decodes OTLP/JSON. It differs from protojson only in writing trace and span
// ids as hex rather than base64, so the ids are rewritten before protojson reads the body.
func unmarshalJSON(data []byte, req *coltracepb.ExportTraceServiceRequest) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep 64-bit integers exact
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	if err := hexIDsToBase64(doc); err != nil {
		return err
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, req)
}

// hexIDsToBase64 rewrites, in place, every traceId, spanId and parentSpanId string in doc.
func hexIDsToBase64(doc any) error {
	switch x := doc.(type) {
	case map[string]any:
		for k, v := range x {
			if s, ok := v.(string); ok && isIDField(k) {
				b, err := hex.DecodeString(s)
				if err != nil {
					return fmt.Errorf("%s %q: %w", k, s, err)
				}
				x[k] = base64.StdEncoding.EncodeToString(b)
				continue
			}
			if err := hexIDsToBase64(v); err != nil {
				return err
			}
		}
	case []any:
		for _, v := range x {
			if err := hexIDsToBase64(v); err != nil {
				return err
			}
		}
	}
	return nil
}

func isIDField(k string) bool {
	switch strings.ToLower(k) {
	case "traceid", "spanid", "parentspanid", "trace_id", "span_id", "parent_span_id":
		return true
	}
	return false
}
