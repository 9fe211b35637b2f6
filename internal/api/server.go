// Package api is the HTTP face of fraudguard: routes, handlers, middleware, the one error map,
// the OpenAPI document and the documentation pages.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/fraudguard/fraudguard/internal/compare"
	"github.com/fraudguard/fraudguard/internal/decision"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/txjson"
	"github.com/fraudguard/fraudguard/wire"
)

// ModelSource gives the live model; nil while none is loaded.
type ModelSource interface {
	Current() *model.Model
}

// SystemSampler gives the latest background sample of the host and process.
type SystemSampler interface {
	System() wire.SystemInfo
}

// ModelReloader loads the newest model bundle and makes it live (POST /models/reload, SIGHUP,
// MODEL_WATCH). It keeps the old model when the new one fails to load.
type ModelReloader interface {
	Reload(ctx context.Context, by model.Actor) (*model.Model, error)
}

// ModelLifecycle switches the live model between the versions under MODEL_PATH (POST
// /models/activate and /models/rollback) and lists them (GET /models/info). Like
// ModelReloader, it keeps the old model live when a switch fails; a *fraud.Error it returns
// is answered as is, any other error as a 422.
type ModelLifecycle interface {
	Activate(ctx context.Context, version string, by model.Actor) (*model.Model, error)
	Rollback(ctx context.Context, by model.Actor) (*model.Model, error)
	Versions() []wire.ModelVersion
}

// Options are the server's settings.
type Options struct {
	// Version is the build version reported by /health.
	Version string
	// MaxBodyBytes caps single-transaction request bodies.
	MaxBodyBytes int64
	// MaxBatchSize caps the transactions of one /predict/batch request, MaxBatchBodyBytes its
	// body.
	MaxBatchSize      int
	MaxBatchBodyBytes int64
	// AllowedHosts are the Host header values served ("*" = any, "*.example.com" = subdomains).
	AllowedHosts []string
	// CORSAllowedOrigins are the origins CORS allows; empty turns CORS off.
	CORSAllowedOrigins []string
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Reloader reloads the model; nil turns POST /models/reload off (503).
	Reloader ModelReloader
	// Lifecycle switches between model versions; nil turns POST /models/activate and
	// /models/rollback off (503) and leaves GET /models/info's versions empty.
	Lifecycle ModelLifecycle
	// Checks are the dependencies /health checks in the background, besides the model.
	Checks []Check
	// LogLevel, when set, is the level GET and PUT /admin/log-level read and change.
	LogLevel *slog.LevelVar
	// Metrics records request and prediction metrics; nil turns recording off.
	Metrics Metrics
	// MetricsHandler serves the Prometheus text format at /metrics; nil answers 404 there.
	MetricsHandler http.Handler
	// Tracer, when set, traces every request (a server span, and child spans for model
	// scoring and store calls) under the caller's W3C traceparent, read with Propagator. Nil
	// turns tracing off at no cost: the caller's trace id is still logged.
	Tracer     trace.Tracer
	Propagator propagation.TextMapPropagator
	// Jobs runs background batch jobs (the /batch routes); nil answers 503 there.
	Jobs JobService
	// Pprof serves the Go profiler (net/http/pprof) under /debug/pprof/ to the admin key.
	// Off, the path is an unknown route.
	Pprof bool
	// Compare scores transactions a second time off the hot path and answers GET
	// /models/compare; nil answers 409 there. With Challenger set, the model that did not
	// answer scores each /predict transaction; else Shadow scores every one.
	Compare *compare.Comparer
	// Shadow is SHADOW_MODEL_VERSION's model.
	Shadow *model.Model
	// Challenger answers ChallengerShare percent of /predict transactions (chosen by a hash
	// of transaction_id); /predict/batch stays on the live model, so a batch is scored by one
	// version.
	Challenger      *model.Model
	ChallengerShare int
	// Decisions queues every answer of /predict and /predict/batch for the decision log; nil
	// records nothing (DECISION_LOG=false).
	Decisions DecisionRecorder
	// DecisionStore serves the decision log's routes (/decisions, /feedback,
	// /models/performance); nil answers 503 there.
	DecisionStore fraud.DecisionLog
}

// DecisionRecorder queues decisions without blocking.
type DecisionRecorder interface {
	Record(d fraud.Decision, m decision.Explainer)
}

// Metrics records what the API does, for /metrics.
type Metrics interface {
	ObserveRequest(route, method string, status int, d time.Duration)
	ObservePrediction(p float64, isFraud bool)
	PredictionFailed(outcome string)
	RateLimited()
	SecurityBlocked(reason string)
	SecurityBlockBypassed(reason string)
	DependencyError(dep string)
	ModelReloaded(ok bool)
	KeysReloaded(ok bool)
	SetModel(version, kind string)
	Summary(now time.Time) wire.MetricsSummary
}

// Server holds the handlers' shared state. It is an http.Handler.
type Server struct {
	logger  *slog.Logger
	opts    Options
	models  ModelSource
	system  SystemSampler
	errs    errorWriter
	started time.Time
	handler http.Handler

	fields    *txjson.Fields
	names     []string  // fraud.FeatureNames, for explanations
	bufs      sync.Pool // *[]byte of opts.MaxBodyBytes+1 capacity
	batchBufs sync.Pool // *batchScratch

	guardCfg  Guard
	reloader  ModelReloader
	checks    []Check
	depStatus atomic.Pointer[[]wire.DependencyStatus]
	metrics   Metrics

	// predictions counts transactions scored, by /predict and /predict/batch alike;
	// predictRequests and predictNanos count /predict requests alone and the time they took,
	// so that their mean is over requests and a large batch does not dilute it.
	predictions     atomic.Int64
	predictRequests atomic.Int64
	predictNanos    atomic.Int64
	openapiJSON     []byte
	openapiDigest   string
}

// NewServer builds the API handler with its whole middleware chain. It refuses a guard with a
// part missing that Guard.Off does not switch off.
func NewServer(logger *slog.Logger, opts Options, models ModelSource, system SystemSampler, guard Guard) (*Server, error) {
	if err := guard.check(); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 10
	}
	if opts.MaxBatchSize <= 0 {
		opts.MaxBatchSize = 1000
	}
	if opts.MaxBatchBodyBytes <= 0 {
		opts.MaxBatchBodyBytes = 4 << 20
	}
	logger = logger.With(slog.String("component", "api"))
	s := &Server{
		logger:   logger,
		opts:     opts,
		models:   models,
		system:   system,
		errs:     errorWriter{logger: logger, now: opts.Now},
		started:  opts.Now(),
		guardCfg: guard,
		reloader: opts.Reloader,
		metrics:  opts.Metrics,
		fields:   txjson.NewFields(),
		names:    fraud.FeatureNames(),
	}
	size := int(opts.MaxBodyBytes) + 1
	s.bufs.New = func() any { b := make([]byte, 0, size); return &b }
	s.batchBufs.New = func() any { return &batchScratch{body: make([]byte, 0, 256<<10)} }
	doc, err := OpenAPIDocument(opts.Version)
	if err != nil {
		return nil, err
	}
	if s.openapiJSON, err = json.MarshalIndent(doc, "", "  "); err != nil {
		return nil, err
	}
	s.openapiDigest = `"` + digestHex(s.openapiJSON)[:16] + `"`
	s.checks = append([]Check{{Name: "model", Essential: true, Probe: func(context.Context) error {
		if models.Current() == nil {
			return errors.New("no model is loaded")
		}
		return nil
	}}}, opts.Checks...)
	s.runChecks(context.Background())
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves a request through the middleware chain.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if err := requireJSON(r); err != nil {
		s.errs.write(w, r, err)
		return
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	body, err := readBody(r, s.opts.MaxBodyBytes, (*bp)[:0])
	*bp = body[:0]
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	d := txjson.Decoder{Fields: s.fields, Detector: s.guardCfg.inspector(), StopOnAttack: !s.guardCfg.DetectOnly, AllowExplain: true}
	d.Reset(body)
	var tx fraud.Transaction
	details, err := d.Transaction(&tx, nil)
	if f := d.Finding(); f != nil {
		s.attack(w, r, *f) // detect-only: audited and let through
	}
	if err != nil {
		var ae *txjson.AttackError
		if errors.As(err, &ae) {
			s.attack(w, r, ae.Finding)
			return
		}
		s.predictionFailed("invalid")
		s.errs.write(w, r, malformed(err))
		return
	}
	if len(details) > 0 {
		s.predictionFailed("invalid")
		s.errs.write(w, r, invalid(details))
		return
	}
	m := s.models.Current()
	if m == nil {
		s.predictionFailed("error")
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeModelNotLoaded, Message: "no model is loaded yet", RetryAfter: 5})
		return
	}
	if tx.ID == "" {
		tx.ID = newTransactionID(s.opts.Now())
	}
	// m answers; other, when set, scores the transaction a second time off the hot path.
	var other *model.Model
	byOther := false
	switch {
	case s.opts.Compare == nil:
	case s.opts.Challenger != nil:
		other = s.opts.Challenger
		if compare.InShare(tx.ID, s.opts.ChallengerShare) {
			m, other, byOther = other, m, true
		}
	case s.opts.Shadow != nil:
		other = s.opts.Shadow
	}
	var expl *explained
	if ex := d.Explain(); ex.On {
		expl = &explained{topK: ex.TopK}
		if err := m.Explain(&tx.Features, &expl.e); err != nil {
			s.predictionFailed("invalid")
			s.errs.write(w, r, explainFailed(err))
			return
		}
	}
	var span trace.Span
	if s.opts.Tracer != nil {
		if trace.SpanFromContext(r.Context()).IsRecording() {
			_, span = s.opts.Tracer.Start(r.Context(), "model.score")
		}
	}
	score := m.Score(&tx.Features)
	if span != nil {
		span.SetAttributes(attribute.String("model.version", score.ModelVersion), attribute.Float64("fraud.probability", score.Probability))
		span.End()
	}
	if s.metrics != nil {
		s.metrics.ObservePrediction(score.Probability, score.IsFraud)
	}
	if other != nil {
		s.opts.Compare.Offer(&compare.Job{TransactionID: tx.ID, Features: tx.Features, Answer: score, ByOther: byOther, Model: other})
	}
	reqID := requestID(w)
	if s.opts.Decisions != nil {
		s.opts.Decisions.Record(newDecision(tx.ID, &tx.Features, score, reqID, s.opts.Now()), m)
	}
	elapsed := time.Since(start)
	out := appendPredictResponse(body[:0], tx.ID, score, elapsed, reqID)
	if expl != nil {
		out = appendExplanation(append(out[:len(out)-2], `,"explanation":`...), s.names, &expl.e, &tx.Features, expl.topK)
		out = append(out, "}\n"...)
	}
	*bp = out[:0]
	w.Header()["Content-Type"] = jsonContentType
	w.Write(out)
	s.predictions.Add(1)
	m.CountRequest(1)
	s.predictRequests.Add(1)
	s.predictNanos.Add(int64(elapsed))
}

// newDecision is the decision log's record of an answer.
func newDecision(id string, x *[fraud.NumFeatures]float64, sc fraud.Score, reqID string, now time.Time) fraud.Decision {
	return fraud.Decision{
		TransactionID: id, RequestID: reqID, Time: now, ModelVersion: sc.ModelVersion,
		Probability: sc.Probability, IsFraud: sc.IsFraud, Risk: sc.Risk, Threshold: sc.Threshold,
		Features: *x,
	}
}

func (s *Server) predictionFailed(outcome string) {
	if s.metrics != nil {
		s.metrics.PredictionFailed(outcome)
	}
}

// jsonContentType is shared by every /predict answer; net/http only reads it.
var jsonContentType = []string{"application/json"}

// appendPredictResponse encodes a wire.PredictResponse by hand: /predict is the hot path.
func appendPredictResponse(b []byte, id string, sc fraud.Score, elapsed time.Duration, reqID string) []byte {
	b = append(b, `{"transaction_id":`...)
	b = appendString(b, id)
	b = append(b, `,"fraud_probability":`...)
	b = strconv.AppendFloat(b, sc.Probability, 'g', -1, 64)
	b = append(b, `,"is_fraud":`...)
	b = strconv.AppendBool(b, sc.IsFraud)
	b = append(b, `,"risk_level":"`...)
	b = append(b, sc.Risk...)
	b = append(b, `","threshold":`...)
	b = strconv.AppendFloat(b, sc.Threshold, 'g', -1, 64)
	b = append(b, `,"model_version":`...)
	b = appendString(b, sc.ModelVersion)
	b = append(b, `,"processing_time_ms":`...)
	b = strconv.AppendFloat(b, float64(elapsed.Nanoseconds())/1e6, 'f', 3, 64)
	b = append(b, `,"request_id":`...)
	b = appendString(b, reqID)
	return append(b, "}\n"...)
}

// appendString appends s as a JSON string. Identifiers are plain ASCII and take the fast path.
func appendString(b []byte, s string) []byte {
	if fraud.IsIDString(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// newTransactionID makes the id of a transaction sent without one at now: txn_, the time in
// milliseconds (12 hex digits) and 64 random bits (16). Leading with the time keeps the ids
// the server makes in the order they are made, so the decision log adds each to the end of its
// index by transaction instead of to a random page of it: that index's writes are most of what
// recording a decision costs.
func newTransactionID(now time.Time) string {
	var buf [4 + 12 + 16]byte
	copy(buf[:], "txn_")
	ms := uint64(now.UnixMilli())
	for i := 15; i >= 4; i-- {
		buf[i] = hexDigits[ms&0xf]
		ms >>= 4
	}
	appendHex(buf[16:16], rand.Uint64())
	return string(buf[:])
}

const hexDigits = "0123456789abcdef"

func appendHex(b []byte, v uint64) []byte {
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hexDigits[(v>>uint(i))&0xf])
	}
	return b
}

// requireJSON accepts application/json, with or without parameters.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt := ct
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.TrimSpace(mt)
	if strings.EqualFold(mt, "application/json") {
		return nil
	}
	if ct == "" {
		ct = "(none)"
	}
	return &fraud.Error{
		Code:    fraud.CodeUnsupportedMedia,
		Message: "the body must be JSON: send Content-Type: application/json",
		Details: []fraud.Detail{{"content_type": ct, "supported": []string{"application/json"}}},
	}
}

// readBody reads the whole body into buf (reused), refusing more than limit bytes.
func readBody(r *http.Request, limit int64, buf []byte) ([]byte, error) {
	if r.ContentLength > limit {
		return buf, tooLarge(limit, r.ContentLength)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, tooLarge(limit, -1)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return buf, tooLarge(limit, -1)
			}
			return buf, &fraud.Error{Code: fraud.CodeValidation, Message: "could not read the request body: " + err.Error()}
		}
	}
}

func tooLarge(limit, received int64) *fraud.Error {
	d := fraud.Detail{"limit": limit}
	if received >= 0 {
		d["received"] = received
	}
	return &fraud.Error{
		Code:    fraud.CodePayloadTooLarge,
		Message: "the request body is larger than " + strconv.FormatInt(limit, 10) + " bytes",
		Details: []fraud.Detail{d},
	}
}

func malformed(err error) *fraud.Error {
	var se *txjson.SyntaxError
	if errors.As(err, &se) {
		return &fraud.Error{
			Code:    fraud.CodeMalformedJSON,
			Message: "the body is not valid JSON: " + se.Problem,
			Details: []fraud.Detail{{"offset": se.Offset, "problem": se.Problem}},
		}
	}
	return &fraud.Error{Code: fraud.CodeMalformedJSON, Message: "the body is not valid JSON"}
}

// truncate cuts client text for an error's details, as the decoder does.
func truncate(s string) string { return txjson.Truncate(s) }

func invalid(details []fraud.Detail) *fraud.Error {
	msg := "1 field is invalid"
	if len(details) > 1 {
		msg = strconv.Itoa(len(details)) + " fields are invalid"
	}
	return &fraud.Error{Code: fraud.CodeValidation, Message: msg, Details: details}
}

// writeJSON writes v as an indented-free JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error_code":"INTERNAL_ERROR","message":"could not encode the response","details":[]}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
