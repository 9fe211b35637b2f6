package api

import (
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
	Status                string           `json:"status" enum:"healthy,degraded,unhealthy" doc:"healthy; degraded (scoring works but memory or disk use is at or above 95%); unhealthy (no model: scoring cannot work)." example:"healthy"`
	UptimeSeconds         float64          `json:"uptime_seconds" doc:"Seconds since the server started." example:"42.5"`
	Version               string           `json:"version" doc:"fraudguard build version." example:"dev"`
	SystemInfo            fraud.SystemInfo `json:"system_info" doc:"Host and process figures, sampled in the background."`
	ModelsLoaded          int              `json:"models_loaded" doc:"Number of models loaded (0 or 1)." example:"1"`
	ModelVersion          string           `json:"model_version" doc:"Version of the live model; empty when none." example:"20261126-000000-1a2b3c4d"`
	TotalPredictions      int64            `json:"total_predictions" doc:"Transactions scored since start." example:"1234"`
	AverageResponseTimeMS float64          `json:"average_response_time_ms" doc:"Mean time spent decoding and scoring one /predict request, milliseconds." example:"0.015"`
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
	if n := h.TotalPredictions; n > 0 {
		h.AverageResponseTimeMS = float64(s.predictNanos.Load()) / float64(n) / 1e6
	}
	if m := s.models.Current(); m != nil {
		h.ModelsLoaded = 1
		h.ModelVersion = m.Version()
	}
	switch {
	case h.ModelsLoaded == 0:
		h.Status = StatusUnhealthy
	case h.SystemInfo.MemoryPercent >= degradedPercent || h.SystemInfo.DiskUsagePercent >= degradedPercent:
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
