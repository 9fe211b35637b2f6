package api

import (
	"compress/gzip"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/security/apikey"
	"github.com/fraudguard/fraudguard/internal/telemetry"
)

// headerRequestID is X-Request-ID in canonical form, for direct map access.
const headerRequestID = "X-Request-Id"

// requestID returns the request id that the requestID middleware put on the response.
func requestID(w http.ResponseWriter) string {
	if v := w.Header()[headerRequestID]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// withRequestID echoes a sane client X-Request-ID (1–128 letters, digits or _-.:) or makes one,
// and sets it on the response before anything else can write.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := ""
		if v := r.Header[headerRequestID]; len(v) == 1 && len(v[0]) <= 128 && v[0] != "" && fraud.IsIDString(v[0]) {
			id = v[0]
		} else {
			id = newRequestID()
		}
		w.Header()[headerRequestID] = []string{id}
		next.ServeHTTP(w, r)
	})
}

func newRequestID() string {
	var buf [32]byte
	b := appendHex(buf[:0], rand.Uint64())
	b = appendHex(b, rand.Uint64())
	return string(b)
}

// responseWriter records the status and size of a response for the access log, and carries
// what the middleware learnt about the request (its client, its key) to the handlers without
// allocating a new context: handlers reach it with stateOf.
type responseWriter struct {
	http.ResponseWriter
	status int
	bytes  int64

	remoteAddr string
	traceID    string
	clientIP   netip.Addr
	presented  bool // a key was sent
	hasKey     bool // and it is valid
	key        apikey.Key
}

// stateOf finds the request state under w's wrappers.
func stateOf(w http.ResponseWriter) *responseWriter {
	for {
		switch x := w.(type) {
		case *responseWriter:
			return x
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return &responseWriter{ResponseWriter: w}
		}
	}
}

// clientKeyIP is the client's address as text: the socket peer's host, unless a trusted
// proxy's X-Forwarded-For named another.
func (rw *responseWriter) clientKeyIP() string {
	host, _, err := net.SplitHostPort(rw.remoteAddr)
	if err != nil {
		host = rw.remoteAddr
	}
	if !rw.clientIP.IsValid() {
		return host
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Unmap() == rw.clientIP {
		return host // the common case: no allocation
	}
	return rw.clientIP.String()
}

// clientKey identifies the client for rate limiting: its API key, else its address.
func (rw *responseWriter) clientKey() string {
	if rw.hasKey {
		return "key:" + rw.key.Name
	}
	return rw.clientKeyIP()
}

func (rw *responseWriter) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *responseWriter) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// Flush lets streaming handlers flush through the wrapper.
func (rw *responseWriter) Flush() {
	if f, ok := rw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

var responseWriters = sync.Pool{New: func() any { return new(responseWriter) }}

// accessLog writes one log line per request: method, route, path, status, duration_ms, bytes,
// client_ip, user_agent and request_id.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := responseWriters.Get().(*responseWriter)
		*rw = responseWriter{ResponseWriter: w, remoteAddr: r.RemoteAddr}
		if tp := r.Header["Traceparent"]; len(tp) == 1 {
			rw.traceID, _ = telemetry.TraceIDFromHeader(tp[0])
		}
		defer func() {
			status := rw.status
			if status == 0 {
				status = http.StatusOK
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			elapsed := time.Since(start)
			route := routeLabel(r)
			if s.metrics != nil {
				s.metrics.ObserveRequest(route, r.Method, status, elapsed)
			}
			attrs := [...]slog.Attr{
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.Int64("bytes", rw.bytes),
				slog.String("client_ip", rw.clientKeyIP()),
				slog.String("user_agent", r.UserAgent()),
				slog.String("request_id", requestID(w)),
				slog.String("trace_id", rw.traceID),
			}
			n := len(attrs)
			if rw.traceID == "" {
				n--
			}
			// Straight to the handler: Logger.LogAttrs would first find the caller's source
			// line, which no line here carries, for a fifth of the line's cost.
			if h := s.logger.Handler(); h.Enabled(r.Context(), level) {
				rec := slog.NewRecord(start.Add(elapsed), level, "request", 0) // now, without asking the clock again
				rec.AddAttrs(attrs[:n]...)
				_ = h.Handle(r.Context(), rec)
			}
			*rw = responseWriter{}
			responseWriters.Put(rw)
		}()
		next.ServeHTTP(rw, r)
	})
}

// tracing starts the server span of each request under the caller's traceparent. It is in
// the chain only when a tracer is configured.
func (s *Server) tracing(next http.Handler) http.Handler {
	tracer, prop := s.opts.Tracer, s.opts.Propagator
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isHealthPath(r.URL.Path) {
			next.ServeHTTP(w, r) // probes every few seconds would drown the traces
			return
		}
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		rw := stateOf(w)
		if sc := span.SpanContext(); sc.IsValid() {
			rw.traceID = sc.TraceID().String()
		}
		inner := r.WithContext(ctx)
		next.ServeHTTP(w, inner)
		r.Pattern = inner.Pattern // the router sets it on the request it was given; the access log reads r
		route := routeLabel(r)
		span.SetName(r.Method + " " + route)
		status := rw.status
		if status == 0 {
			status = http.StatusOK
		}
		span.SetAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("http.route", route),
			attribute.Int("http.response.status_code", status),
			attribute.String("fraudguard.request_id", requestID(w)),
		)
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	})
}

// routeLabel is the matched route pattern, "unmatched" for unknown paths: a bounded set of
// values, fit for logs and metric labels.
func routeLabel(r *http.Request) string {
	p := r.Pattern
	if p == "" || p == "/" {
		return "unmatched"
	}
	if i := strings.IndexByte(p, ' '); i >= 0 {
		return p[i+1:]
	}
	return p
}

// recoverPanics turns a panic into a 500 INTERNAL_ERROR that tells the client only the request
// id; the panic value and stack go to the log.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.LogAttrs(r.Context(), slog.LevelError, "panic",
				slog.String("request_id", requestID(w)),
				slog.String("panic", fmt.Sprint(v)),
				slog.String("stack", string(debug.Stack())))
			if rw, ok := w.(*responseWriter); ok && rw.status != 0 {
				return // the answer has started; nothing more can be said
			}
			s.errs.write(w, r, errors.New("panic recovered"))
		}()
		next.ServeHTTP(w, r)
	})
}

// checkHost refuses requests whose Host header is not in ALLOWED_HOSTS. The liveness and
// readiness probes are exempt: orchestrators call them by pod address.
func (s *Server) checkHost(next http.Handler) http.Handler {
	if len(s.opts.AllowedHosts) == 0 || (len(s.opts.AllowedHosts) == 1 && s.opts.AllowedHosts[0] == "*") {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isProbe(r.URL.Path) || hostAllowed(r.Host, s.opts.AllowedHosts) {
			next.ServeHTTP(w, r)
			return
		}
		s.errs.write(w, r, &fraud.Error{
			Code:    fraud.CodeInvalidHost,
			Message: "this server does not serve the host " + strconv.Quote(r.Host),
			Details: []fraud.Detail{{"field": "Host", "problem": "not in ALLOWED_HOSTS", "value": r.Host}},
		})
	})
}

func isProbe(path string) bool {
	switch path {
	case "/health/live", "/health/ready", "/v2/health/live", "/v2/health/ready":
		return true
	}
	return false
}

func hostAllowed(host string, allowed []string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, a := range allowed {
		a = strings.ToLower(a)
		switch {
		case a == "*", a == host:
			return true
		case strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:]):
			return true
		}
	}
	return false
}

// cors answers preflight requests and adds CORS headers for allowed origins.
func (s *Server) cors(next http.Handler) http.Handler {
	origins := s.opts.CORSAllowedOrigins
	if len(origins) == 0 {
		return next
	}
	any := false
	for _, o := range origins {
		any = any || o == "*"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := any
		for _, o := range origins {
			allowed = allowed || strings.EqualFold(o, origin)
		}
		if !allowed {
			next.ServeHTTP(w, r) // no CORS headers: the browser blocks the answer
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Content-Encoding, X-API-Key, Authorization, X-Request-ID, Idempotency-Key, traceparent")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// gzipMinBytes is the smallest answer worth compressing; smaller ones go out as they are.
const gzipMinBytes = 1024

var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// compress gzips answers of gzipMinBytes or more for clients that accept gzip. Most clients
// do (Go's among them) and most answers, /predict's first, are too small to compress: deciding
// so allocates nothing.
func compress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			next.ServeHTTP(w, r)
			return
		}
		if h := w.Header(); h["Vary"] == nil {
			h["Vary"] = varyAcceptEncoding
		} else {
			h.Add("Vary", "Accept-Encoding")
		}
		gw := gzipWriterPool.Get().(*gzipWriter)
		gw.ResponseWriter = w
		gw.buf = gw.held[:0]
		defer gw.release()
		next.ServeHTTP(gw, r)
	})
}

// varyAcceptEncoding is the Vary header of every answer compress sees, shared: nothing writes
// into a header value's slice, and an Add to it appends to a copy (its capacity is 1).
var varyAcceptEncoding = []string{"Accept-Encoding"}

// acceptsGzip reports whether an Accept-Encoding header value accepts gzip.
func acceptsGzip(ae string) bool {
	for ae != "" {
		var part string
		part, ae, _ = strings.Cut(ae, ",")
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q, found := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !found {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}

// gzipWriter holds back the first gzipMinBytes of an answer to decide whether to compress it.
// It is pooled, with the room to hold them back.
type gzipWriter struct {
	http.ResponseWriter
	status  int
	buf     []byte // held back: held[:n] until decided
	zw      *gzip.Writer
	decided bool
	held    [gzipMinBytes]byte
}

var gzipWriterPool = sync.Pool{New: func() any { return new(gzipWriter) }}

// release finishes the answer and puts g back in the pool.
func (g *gzipWriter) release() {
	g.finish()
	g.ResponseWriter, g.status, g.buf, g.zw, g.decided = nil, 0, nil, nil, false
	gzipWriterPool.Put(g)
}

func (g *gzipWriter) WriteHeader(code int) {
	if g.status == 0 {
		g.status = code
	}
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if g.status == 0 {
		g.status = http.StatusOK
	}
	if g.decided {
		if g.zw != nil {
			return g.zw.Write(b)
		}
		return g.ResponseWriter.Write(b)
	}
	if len(g.buf)+len(b) < gzipMinBytes {
		g.buf = append(g.buf, b...)
		return len(b), nil
	}
	g.decide(true)
	g.writeHeld()
	if g.zw != nil {
		return g.zw.Write(b)
	}
	return g.ResponseWriter.Write(b)
}

// decide sends the header, compressed when big is true and the handler did not encode the
// answer itself.
func (g *gzipWriter) decide(big bool) {
	g.decided = true
	h := g.Header()
	if big && h.Get("Content-Encoding") == "" && g.status != http.StatusNoContent && g.status != http.StatusNotModified {
		h.Set("Content-Encoding", "gzip")
		h.Del("Content-Length")
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(g.ResponseWriter)
		g.zw = zw
	} else {
		g.zw = nil
	}
	g.ResponseWriter.WriteHeader(g.status)
}

// Flush sends what is held back and flushes the compressor and the connection.
func (g *gzipWriter) Flush() {
	if !g.decided {
		if g.status == 0 {
			g.status = http.StatusOK
		}
		g.decide(true)
		g.writeHeld()
	}
	if g.zw != nil {
		g.zw.Flush()
	}
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (g *gzipWriter) writeHeld() {
	if len(g.buf) == 0 {
		return
	}
	if g.zw != nil {
		g.zw.Write(g.buf)
	} else {
		g.ResponseWriter.Write(g.buf)
	}
	g.buf = nil
}

func (g *gzipWriter) finish() {
	if !g.decided {
		if g.status == 0 && len(g.buf) == 0 {
			return // the handler wrote nothing; net/http answers 200 with no body
		}
		if g.status == 0 {
			g.status = http.StatusOK
		}
		g.decide(false)
		if len(g.buf) > 0 {
			g.ResponseWriter.Write(g.buf)
		}
		return
	}
	if g.zw != nil {
		g.zw.Close()
		gzipWriters.Put(g.zw)
		g.zw = nil
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// securityHeaders sets the headers every answer carries. HTML pages replace the content
// security policy with the one their scripts need.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = noReferrer
		h["Content-Security-Policy"] = apiCSP
		next.ServeHTTP(w, r)
	})
}

// Header values shared by every answer; net/http only reads them.
var (
	nosniff    = []string{"nosniff"}
	noReferrer = []string{"no-referrer"}
	apiCSP     = []string{"default-src 'none'; frame-ancestors 'none'"}
)
