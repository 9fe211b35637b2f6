package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

func (s *Server) handleBlockedList(w http.ResponseWriter, r *http.Request) {
	out := wire.BlockedResponse{Blocked: []wire.Blocked{}}
	if s.guardCfg.Blocker != nil {
		if l := s.guardCfg.Blocker.List(r.Context()); l != nil {
			out.Blocked = l
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleUnblock(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("ip")
	a, err := netip.ParseAddr(raw)
	if err != nil {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeValidation, Message: "not an IP address",
			Details: []fraud.Detail{fraud.FieldError("ip", "must be an IPv4 or IPv6 address", truncate(raw))}})
		return
	}
	was := false
	if s.guardCfg.Blocker != nil {
		was = s.guardCfg.Blocker.Unblock(r.Context(), a.Unmap())
	}
	if !was {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeNotFound, Message: "the address is not blocked", Details: []fraud.Detail{{"ip": a.String()}}})
		return
	}
	s.audit(r, w, fraud.ActionIPUnblocked, fraud.OutcomeSuccess, a.String())
	writeJSON(w, http.StatusOK, wire.UnblockResponse{IP: a.String(), Unblocked: true})
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	if s.guardCfg.Audit == nil {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeServiceUnavailable, Message: "no audit store is configured"})
		return
	}
	q := r.URL.Query()
	f := fraud.AuditFilter{Action: q.Get("action"), Limit: 100}
	var details []fraud.Detail
	intParam := func(name string, lo, hi int, dst *int) {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				details = append(details, fraud.FieldError(name, "must be a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi), truncate(v)))
				return
			}
			*dst = n
		}
	}
	timeParam := func(name string, dst *time.Time) {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				details = append(details, fraud.FieldError(name, "must be an RFC 3339 time such as 2026-11-26T07:00:00Z", truncate(v)))
				return
			}
			*dst = t
		}
	}
	intParam("offset", 0, 1<<30, &f.Offset)
	intParam("limit", 1, 1000, &f.Limit)
	timeParam("since", &f.Since)
	timeParam("until", &f.Until)
	if len(details) > 0 {
		s.errs.write(w, r, invalid(details))
		return
	}
	ctx := r.Context()
	if s.opts.Tracer != nil && trace.SpanFromContext(ctx).IsRecording() {
		var span trace.Span
		ctx, span = s.opts.Tracer.Start(ctx, "store.list_audit", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("db.system.name", "sqlite")))
		defer span.End()
	}
	events, total, err := s.guardCfg.Audit.List(ctx, f)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	if events == nil {
		events = []fraud.AuditEvent{}
	}
	writeJSON(w, http.StatusOK, wire.AuditResponse{Events: events, Total: total, Offset: f.Offset, Limit: f.Limit})
}

func (s *Server) handleGetLogLevel(w http.ResponseWriter, r *http.Request) {
	if s.opts.LogLevel == nil {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeServiceUnavailable, Message: "the log level cannot be changed at run time here"})
		return
	}
	writeJSON(w, http.StatusOK, wire.LogLevelBody{Level: s.opts.LogLevel.Level().String()})
}

func (s *Server) handleSetLogLevel(w http.ResponseWriter, r *http.Request) {
	if s.opts.LogLevel == nil {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeServiceUnavailable, Message: "the log level cannot be changed at run time here"})
		return
	}
	if err := requireJSON(r); err != nil {
		s.errs.write(w, r, err)
		return
	}
	body, err := readBody(r, 4<<10, nil)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	var in wire.LogLevelBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeMalformedJSON, Message: "the body must be {\"level\": \"DEBUG|INFO|WARN|ERROR\"}: " + err.Error()})
		return
	}
	var lvl slog.Level
	switch strings.ToUpper(in.Level) {
	case "DEBUG", "INFO", "WARN", "ERROR":
		lvl.UnmarshalText([]byte(in.Level))
	default:
		s.errs.write(w, r, invalid([]fraud.Detail{fraud.FieldError("level", "must be DEBUG, INFO, WARN or ERROR", truncate(in.Level))}))
		return
	}
	old := s.opts.LogLevel.Level()
	s.opts.LogLevel.Set(lvl)
	s.audit(r, w, fraud.ActionLogLevel, fraud.OutcomeSuccess, old.String()+" -> "+lvl.String())
	writeJSON(w, http.StatusOK, wire.LogLevelBody{Level: lvl.String()})
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if s.metrics == nil || s.opts.MetricsHandler == nil {
		s.notFound(w, r)
		return
	}
	if wantsJSON(r.Header.Get("Accept")) {
		sum := s.metrics.Summary(s.opts.Now())
		sum.TotalPredictions = s.predictions.Load()
		writeJSON(w, http.StatusOK, sum)
		return
	}
	s.opts.MetricsHandler.ServeHTTP(w, r)
}

// wantsJSON tells an Accept header that prefers JSON to Prometheus's text format.
func wantsJSON(accept string) bool {
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/plain") && !strings.Contains(accept, "openmetrics")
}
