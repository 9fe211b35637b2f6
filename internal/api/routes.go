package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/fraudguard/fraudguard/internal/api/docs"
	"github.com/fraudguard/fraudguard/internal/fraud"
)

// route is one operation of the API and who may call it.
type route struct {
	method  string
	path    string
	access  access
	handler http.Handler
}

// routeTable is every operation of the API. Each one is described in the OpenAPI document
// too (TestEveryRouteDocumented), but for the docs pages' static assets.
func (s *Server) routeTable() []route {
	return []route{
		{"POST", "/predict", accessPredict, http.HandlerFunc(s.handlePredict)},

		{"POST", "/batch", accessBatch, http.HandlerFunc(s.handleBatchSubmit)},
		{"GET", "/batch", accessBatch, http.HandlerFunc(s.handleBatchList)},
		{"GET", "/batch/{job_id}/status", accessBatch, http.HandlerFunc(s.handleBatchStatus)},
		{"GET", "/batch/{job_id}/results", accessBatch, http.HandlerFunc(s.handleBatchResults)},
		{"DELETE", "/batch/{job_id}", accessJobDelete, http.HandlerFunc(s.handleBatchDelete)},
		{"POST", "/predict/batch", accessPredict, http.HandlerFunc(s.handlePredictBatch)},

		{"GET", "/decisions", accessRead, http.HandlerFunc(s.handleDecisionList)},
		{"GET", "/decisions/{transaction_id}", accessRead, http.HandlerFunc(s.handleDecisionGet)},
		{"DELETE", "/decisions/{transaction_id}", accessAdmin, http.HandlerFunc(s.handleDecisionErase)},
		{"POST", "/feedback", accessPredict, http.HandlerFunc(s.handleFeedback)},
		{"GET", "/models/performance", accessRead, http.HandlerFunc(s.handlePerformance)},

		{"GET", "/health", accessPublic, http.HandlerFunc(s.handleHealth)},
		{"GET", "/health/live", accessPublic, http.HandlerFunc(s.handleLive)},
		{"GET", "/health/ready", accessPublic, http.HandlerFunc(s.handleReady)},
		{"GET", "/v2/health/live", accessPublic, http.HandlerFunc(s.handleLive)},
		{"GET", "/v2/health/ready", accessPublic, http.HandlerFunc(s.handleReady)},

		{"GET", "/models/info", accessAnyKey, http.HandlerFunc(s.handleModelInfo)},
		{"POST", "/models/reload", accessAdmin, http.HandlerFunc(s.handleModelReload)},
		{"POST", "/models/activate", accessAdmin, http.HandlerFunc(s.handleModelActivate)},
		{"POST", "/models/rollback", accessAdmin, http.HandlerFunc(s.handleModelRollback)},
		{"GET", "/models/compare", accessAdmin, http.HandlerFunc(s.handleModelCompare)},

		{"GET", "/security/blocked", accessAdmin, http.HandlerFunc(s.handleBlockedList)},
		{"DELETE", "/security/blocked/{ip}", accessAdmin, http.HandlerFunc(s.handleUnblock)},
		{"GET", "/security/audit", accessAdmin, http.HandlerFunc(s.handleAudit)},
		{"POST", "/security/keys/reload", accessAdmin, http.HandlerFunc(s.handleKeysReload)},

		{"GET", "/metrics", s.metricsAccess(), http.HandlerFunc(s.handleMetrics)},
		{"GET", "/admin/log-level", accessAdmin, http.HandlerFunc(s.handleGetLogLevel)},
		{"PUT", "/admin/log-level", accessAdmin, http.HandlerFunc(s.handleSetLogLevel)},

		{"GET", "/openapi.json", accessAnyKey, http.HandlerFunc(s.handleOpenAPI)},
		{"GET", "/docs", accessAnyKey, docs.SwaggerPage("/openapi.json", "/docs/assets/")},
		{"GET", "/redoc", accessAnyKey, docs.RedocPage("/openapi.json", "/docs/assets/")},
		{"GET", "/docs/assets/", accessAnyKey, http.StripPrefix("/docs/assets/", docs.Assets(http.HandlerFunc(s.notFound)))},
	}
}

// routes is the whole API and its middleware, in one place.
func (s *Server) routes() http.Handler {
	table := s.routeTable()
	mux := http.NewServeMux()
	allowed := make(map[string][]string)
	for _, rt := range table {
		mux.Handle(rt.method+" "+rt.path, s.authorize(rt.access, rt.handler))
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	// A path with no route for the method answers 405 with Allow, every other path 404: both
	// in the structured error shape, which ServeMux's own answers are not. With a keys file,
	// they too need a valid key, so that the API's shape is not told to strangers.
	for path, methods := range allowed {
		mux.Handle(path, s.authorize(accessAnyKey, s.methodNotAllowed(methods)))
	}
	mux.Handle("/", s.authorize(accessAnyKey, http.HandlerFunc(s.notFound)))
	// The profiler, for the operator only and only when asked for (PPROF=true); otherwise
	// /debug/pprof/ is an unknown route like any other.
	if s.opts.Pprof {
		mux.Handle(pprofPrefix, s.authorize(accessAdmin, pprofHandler()))
	}

	// The chain, outermost first: every answer, errors included, carries a request id and
	// security headers and reaches the access log; panics become structured 500s; the guard
	// (blocked addresses, attack detection, key identification, rate limits) runs before
	// anything reads the body.
	var h http.Handler = mux
	h = compress(h)
	h = s.cors(h)
	h = s.guard(h)
	h = s.checkHost(h)
	h = s.recoverPanics(h)
	h = securityHeaders(h)
	if s.opts.Tracer != nil {
		h = s.tracing(h)
	}
	h = s.accessLog(h)
	h = withRequestID(h)
	return h
}

// metricsAccess is public under METRICS_PUBLIC, else any valid key.
func (s *Server) metricsAccess() access {
	if s.guardCfg.MetricsPublic {
		return accessPublic
	}
	return accessAnyKey
}

func (s *Server) methodNotAllowed(methods []string) http.Handler {
	methods = slices.Clone(methods)
	if slices.Contains(methods, "GET") {
		methods = append(methods, "HEAD")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The error map sets the Allow header from the allowed detail.
		s.errs.write(w, r, &fraud.Error{
			Code:    fraud.CodeMethodNotAllowed,
			Message: r.Method + " is not allowed on " + r.URL.Path + "; use " + strings.Join(methods, ", "),
			Details: []fraud.Detail{{"method": r.Method, "allowed": methods}},
		})
	})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errs.write(w, r, &fraud.Error{
		Code:    fraud.CodeNotFound,
		Message: "no such route: " + r.URL.Path + "; see /docs for the API",
		Details: []fraud.Detail{{"path": r.URL.Path}},
	})
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("ETag", s.openapiDigest)
	h.Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == s.openapiDigest {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(s.openapiJSON)
}
