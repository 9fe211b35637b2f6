package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/wire"
)

// errNoLifecycle answers a model switch when the server has no ModelLifecycle.
func errNoLifecycle() error {
	return &fraud.Error{Code: fraud.CodeServiceUnavailable, Message: "switching model versions is not available"}
}

// modelVersions lists the versions under MODEL_PATH for GET /models/info; empty without a
// ModelLifecycle.
func (s *Server) modelVersions() []wire.ModelVersion {
	if s.opts.Lifecycle == nil {
		return []wire.ModelVersion{}
	}
	return s.opts.Lifecycle.Versions()
}

// versionOf describes m, now live, as GET /models/info's versions list it.
func versionOf(m *model.Model) wire.ModelVersion {
	mf := m.Manifest
	loadedAt := m.LoadedAt
	return wire.ModelVersion{
		Version: mf.Version, Name: mf.Name, Kind: mf.Kind, CreatedAt: mf.CreatedAt, SHA256: m.SHA256, Metrics: mf.Metrics,
		Loaded: true, Active: true, LoadedAt: &loadedAt, Requests: m.Requests(), Warnings: m.Warnings,
	}
}

// decodeActivate reads POST /models/activate's body: {"version": "..."}, strictly.
func decodeActivate(r *http.Request) (wire.ActivateRequest, error) {
	var in wire.ActivateRequest
	if err := requireJSON(r); err != nil {
		return in, err
	}
	body, err := readBody(r, 4<<10, nil)
	if err != nil {
		return in, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, &fraud.Error{Code: fraud.CodeMalformedJSON, Message: `the body must be {"version": "<version>"}: ` + err.Error()}
	}
	if dec.More() {
		return in, &fraud.Error{Code: fraud.CodeMalformedJSON, Message: `the body must be one object {"version": "<version>"}`}
	}
	if in.Version == "" {
		return in, invalid([]fraud.Detail{fraud.FieldError("version", "is required", "")})
	}
	if err := model.CheckVersion(in.Version); err != nil {
		return in, invalid([]fraud.Detail{fraud.FieldError("version", "must be 1 to 128 letters, digits, '_', '-' or '.', not starting with '.' or '-'", truncate(in.Version))})
	}
	return in, nil
}

func (s *Server) activateModel(ctx context.Context, version string, o reloadOrigin) (*model.Model, error) {
	lc := s.opts.Lifecycle
	if lc == nil {
		return nil, errNoLifecycle()
	}
	return s.changeModel(ctx, fraud.ActionModelActivate, o, "asked="+version, func(ctx context.Context, by model.Actor) (*model.Model, error) {
		return lc.Activate(ctx, version, by)
	})
}

func (s *Server) rollbackModel(ctx context.Context, o reloadOrigin) (*model.Model, error) {
	lc := s.opts.Lifecycle
	if lc == nil {
		return nil, errNoLifecycle()
	}
	return s.changeModel(ctx, fraud.ActionModelRollback, o, "", lc.Rollback)
}

func (s *Server) handleModelActivate(w http.ResponseWriter, r *http.Request) {
	in, err := decodeActivate(r)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	s.answerChange(w, r, "activated", func(o reloadOrigin) (*model.Model, error) {
		return s.activateModel(r.Context(), in.Version, o)
	})
}

func (s *Server) handleModelRollback(w http.ResponseWriter, r *http.Request) {
	s.answerChange(w, r, "rolled_back", func(o reloadOrigin) (*model.Model, error) {
		return s.rollbackModel(r.Context(), o)
	})
}

// answerChange runs a switch and answers the model now live.
func (s *Server) answerChange(w http.ResponseWriter, r *http.Request, status string, change func(reloadOrigin) (*model.Model, error)) {
	prev := ""
	if cur := s.models.Current(); cur != nil {
		prev = cur.Version()
	}
	m, err := change(httpOrigin(r, w))
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.ModelChangeResponse{Status: status, Previous: prev, Model: versionOf(m), Warnings: m.Warnings})
}

// compareTop is how many disagreements GET /models/compare lists unless told.
const compareTop = 10

func (s *Server) handleModelCompare(w http.ResponseWriter, r *http.Request) {
	c := s.opts.Compare
	if c == nil {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeConflict, Message: "there is nothing to compare: set SHADOW_MODEL_VERSION or CHALLENGER_MODEL_VERSION"})
		return
	}
	q := r.URL.Query()
	now := s.opts.Now()
	var since time.Time
	until, top := now, compareTop
	var details []fraud.Detail
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &since}, {"until", &until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				details = append(details, fraud.FieldError(p.name, "must be an RFC 3339 time such as 2026-11-26T07:00:00Z", truncate(v)))
				continue
			}
			*p.dst = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			details = append(details, fraud.FieldError("limit", "must be a whole number from 0 to 100", truncate(v)))
		} else {
			top = n
		}
	}
	if since.IsZero() {
		since = until.Add(-time.Hour)
	}
	if len(details) == 0 && !since.Before(until) {
		details = append(details, fraud.FieldError("since", "must be before until", since.UTC().Format(time.RFC3339)))
	}
	if len(details) > 0 {
		s.errs.write(w, r, invalid(details))
		return
	}
	writeJSON(w, http.StatusOK, c.Report(since, until, top))
}
