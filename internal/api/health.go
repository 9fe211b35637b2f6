package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
)

// Health statuses.
const (
	StatusHealthy   = "healthy"
	StatusDegraded  = "degraded"
	StatusUnhealthy = "unhealthy"
)

// degradedPercent is the memory or disk use from which the service reports itself degraded: it
// still scores, but an operator should act before it cannot.
const degradedPercent = 95

// HealthResponse is the answer of GET /health.
type HealthResponse struct {
	Status                string             `json:"status" enum:"healthy,degraded,unhealthy" doc:"healthy; degraded (scoring works, but a non-essential dependency such as the store is failing, or memory or disk use is at or above 95%); unhealthy (no model, or an essential dependency failing: scoring cannot work)." example:"healthy"`
	UptimeSeconds         float64            `json:"uptime_seconds" doc:"Seconds since the server started." example:"42.5"`
	Version               string             `json:"version" doc:"fraudguard build version." example:"dev"`
	SystemInfo            fraud.SystemInfo   `json:"system_info" doc:"Host and process figures, sampled in the background."`
	ModelsLoaded          int                `json:"models_loaded" doc:"Number of models loaded (0 or 1)." example:"1"`
	ModelVersion          string             `json:"model_version" doc:"Version of the live model; empty when none." example:"20261126-000000-1a2b3c4d"`
	TotalPredictions      int64              `json:"total_predictions" doc:"Transactions scored since start." example:"1234"`
	AverageResponseTimeMS float64            `json:"average_response_time_ms" doc:"Mean time spent decoding and scoring one /predict request, milliseconds." example:"0.015"`
	Dependencies          []DependencyStatus `json:"dependencies" doc:"Each dependency's last background check."`
}

// DependencyStatus is the last check of one dependency.
type DependencyStatus struct {
	Name      string    `json:"name" doc:"The dependency checked: today the store." example:"store"`
	Status    string    `json:"status" enum:"ok,failing" doc:"ok, or failing." example:"ok"`
	Essential bool      `json:"essential" doc:"Whether scoring needs it: a failing essential dependency makes the service unhealthy, any other degraded."`
	LatencyMS float64   `json:"latency_ms" doc:"How long the check took, milliseconds." example:"0.2"`
	Error     string    `json:"error,omitempty" doc:"Why it failed."`
	CheckedAt time.Time `json:"checked_at" doc:"When it was checked."`
}

// Check is a dependency check that /health reports.
type Check struct {
	Name      string
	Essential bool
	Probe     func(ctx context.Context) error
}

// checkTimeout bounds one dependency check.
const checkTimeout = time.Second

// runChecks checks every dependency once and publishes the results.
func (s *Server) runChecks(ctx context.Context) {
	out := make([]DependencyStatus, 0, len(s.checks))
	for _, c := range s.checks {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		start := time.Now()
		err := probe(cctx, c)
		cancel()
		st := DependencyStatus{Name: c.Name, Status: "ok", Essential: c.Essential,
			LatencyMS: float64(time.Since(start).Microseconds()) / 1000, CheckedAt: s.opts.Now().UTC()}
		if err != nil {
			st.Status, st.Error = "failing", err.Error()
			if s.metrics != nil {
				s.metrics.DependencyError(c.Name)
			}
		}
		out = append(out, st)
	}
	s.depStatus.Store(&out)
}

// probe runs one check; a check that panics is failing, not fatal.
func probe(ctx context.Context, c Check) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("check panicked: %v", v)
		}
	}()
	return c.Probe(ctx)
}

// RunHealthChecks checks the dependencies every interval until ctx is done, so that /health
// answers from the last results without waiting on any of them.
func (s *Server) RunHealthChecks(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.runChecks(ctx)
		}
	}
}

// ProbeResponse is the answer of the liveness and readiness probes.
type ProbeResponse struct {
	Status string `json:"status" enum:"ok,not_ready" doc:"ok, or not_ready while no model is loaded." example:"ok"`
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	h := HealthResponse{
		Status:           StatusHealthy,
		UptimeSeconds:    now.Sub(s.started).Seconds(),
		Version:          s.opts.Version,
		SystemInfo:       s.system.System(),
		TotalPredictions: s.predictions.Load(),
	}
	if n := s.predictRequests.Load(); n > 0 {
		h.AverageResponseTimeMS = float64(s.predictNanos.Load()) / float64(n) / 1e6
	}
	if m := s.models.Current(); m != nil {
		h.ModelsLoaded = 1
		h.ModelVersion = m.Version()
	}
	h.Dependencies = *s.depStatus.Load()
	essentialDown, otherDown := false, false
	for _, d := range h.Dependencies {
		if d.Status != "ok" {
			essentialDown = essentialDown || d.Essential
			otherDown = otherDown || !d.Essential
		}
	}
	switch {
	case h.ModelsLoaded == 0 || essentialDown:
		h.Status = StatusUnhealthy
	case otherDown || h.SystemInfo.MemoryPercent >= degradedPercent || h.SystemInfo.DiskUsagePercent >= degradedPercent:
		h.Status = StatusDegraded
	}
	status := http.StatusOK
	if h.Status == StatusUnhealthy {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, ProbeResponse{Status: "ok"})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.models.Current() == nil {
		writeJSON(w, http.StatusServiceUnavailable, ProbeResponse{Status: "not_ready"})
		return
	}
	writeJSON(w, http.StatusOK, ProbeResponse{Status: "ok"})
}

// ModelInfoResponse is the answer of GET /models/info.
type ModelInfoResponse struct {
	Name      string           `json:"name" doc:"Model name." example:"default"`
	Version   string           `json:"version" doc:"Bundle version." example:"20261126-000000-1a2b3c4d"`
	Kind      string           `json:"kind" doc:"Model kind, such as logreg." example:"logreg"`
	Features  []string         `json:"features" doc:"Feature names in the order the model reads them."`
	Threshold float64          `json:"threshold" minimum:"0" maximum:"1" doc:"Decision threshold." example:"0.5"`
	CreatedAt time.Time        `json:"created_at" doc:"When the bundle was made."`
	Metrics   model.Evaluation `json:"metrics" doc:"Training and validation metrics stored in the bundle."`
	SHA256    string           `json:"sha256" doc:"SHA-256 of the bundle's content." example:"1a2b3c4d..."`
	LoadedAt  time.Time        `json:"loaded_at" doc:"When this server loaded the bundle."`
}

func (s *Server) handleModelInfo(w http.ResponseWriter, r *http.Request) {
	m := s.models.Current()
	if m == nil {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeModelNotLoaded, Message: "no model is loaded yet", RetryAfter: 5})
		return
	}
	mf := m.Manifest
	writeJSON(w, http.StatusOK, ModelInfoResponse{
		Name:      mf.Name,
		Version:   mf.Version,
		Kind:      mf.Kind,
		Features:  mf.Features,
		Threshold: mf.Threshold,
		CreatedAt: mf.CreatedAt,
		Metrics:   mf.Metrics,
		SHA256:    m.SHA256,
		LoadedAt:  m.LoadedAt,
	})
}
