package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/fraudguard/fraudguard/internal/decision"
	"github.com/fraudguard/fraudguard/wire"
)

// RunDriftGauges measures drift every interval over the window of recorded decisions up to
// then, as GET /models/drift does, and hands the report to set (the metrics' SetDrift) until
// ctx ends. When it cannot be measured — no decision store, no model, a bundle without a
// training distribution, a store error (logged) — set gets nil, so that the gauges go absent
// rather than keep an old figure. The first measurement is made at once.
func (s *Server) RunDriftGauges(ctx context.Context, interval, window time.Duration, set func(*wire.DriftResponse)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		set(s.measureDrift(ctx, window))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Server) measureDrift(ctx context.Context, window time.Duration) *wire.DriftResponse {
	m := s.models.Current()
	if s.opts.DecisionStore == nil || m == nil || m.Drift() == nil {
		return nil
	}
	until := s.opts.Now()
	r, err := decision.Drift(ctx, s.opts.DecisionStore, m, until.Add(-window), until)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Warn("drift gauges not refreshed", slog.String("error", err.Error()))
		}
		return nil
	}
	return &r
}
