package api

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/wire"
)

// degradedPercent is the memory or disk use from which the service reports itself degraded: it
// still scores, but an operator should act before it cannot.
const degradedPercent = 95

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
	out := make([]wire.DependencyStatus, 0, len(s.checks))
	for _, c := range s.checks {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		start := time.Now()
		err := probe(cctx, c)
		cancel()
		st := wire.DependencyStatus{Name: c.Name, Status: "ok", Essential: c.Essential,
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

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	h := wire.HealthResponse{
		Status:           wire.StatusHealthy,
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
		h.Status = wire.StatusUnhealthy
	case otherDown || h.SystemInfo.MemoryPercent >= degradedPercent || h.SystemInfo.DiskUsagePercent >= degradedPercent:
		h.Status = wire.StatusDegraded
	}
	status := http.StatusOK
	if h.Status == wire.StatusUnhealthy {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, wire.ProbeResponse{Status: "ok"})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.models.Current() == nil {
		writeJSON(w, http.StatusServiceUnavailable, wire.ProbeResponse{Status: "not_ready"})
		return
	}
	writeJSON(w, http.StatusOK, wire.ProbeResponse{Status: "ok"})
}

func (s *Server) handleModelInfo(w http.ResponseWriter, r *http.Request) {
	m := s.models.Current()
	if m == nil {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeModelNotLoaded, Message: "no model is loaded yet", RetryAfter: 5})
		return
	}
	mf := m.Manifest
	writeJSON(w, http.StatusOK, wire.ModelInfoResponse{
		Name:         mf.Name,
		Version:      mf.Version,
		Kind:         mf.Kind,
		Features:     mf.Features,
		Threshold:    mf.Threshold,
		CreatedAt:    mf.CreatedAt,
		Metrics:      mf.Metrics,
		SHA256:       m.SHA256,
		LoadedAt:     m.LoadedAt,
		Importance:   modelImportance(mf.Features, m.Importance()),
		Explanations: explanationsInfo(m.ExplainError()),
		Versions:     s.modelVersions(),
	})
}

// modelImportance lists every feature's importance, largest mean |SHAP| first (largest split
// gain without a reference sample), ties in feature order; nil when the model has neither.
func modelImportance(names []string, imp model.Importance) *wire.ModelImportance {
	if imp.MeanAbsSHAP == nil && imp.SplitGain == nil {
		return nil
	}
	var total float64
	for _, g := range imp.SplitGain {
		total += g
	}
	out := &wire.ModelImportance{ReferenceRows: imp.ReferenceRows, Features: make([]wire.FeatureImportance, len(names))}
	key := make([]float64, len(names))
	for j, name := range names {
		f := wire.FeatureImportance{Feature: name}
		if imp.MeanAbsSHAP != nil {
			v := imp.MeanAbsSHAP[j]
			f.MeanAbsSHAP, key[j] = &v, v
		}
		if imp.SplitGain != nil {
			g, share := imp.SplitGain[j], 0.0
			if total != 0 {
				share = g / total
			}
			f.SplitGain, f.SplitGainShare = &g, &share
			if imp.MeanAbsSHAP == nil {
				key[j] = g
			}
		}
		out.Features[j] = f
	}
	order := make([]int, len(names))
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(key[b], key[a]) })
	sorted := make([]wire.FeatureImportance, len(order))
	for k, j := range order {
		sorted[k] = out.Features[j]
	}
	out.Features = sorted
	return out
}

// explanationsInfo says whether the live model explains its scores, and why not.
func explanationsInfo(err error) wire.ExplanationsInfo {
	if err != nil {
		return wire.ExplanationsInfo{Available: false, Reason: err.Error()}
	}
	return wire.ExplanationsInfo{Available: true}
}
