package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
)

// mustLogreg saves and loads a logistic regression on V14 whose intercept makes its scores its
// own.
func mustLogreg(t testing.TB, version string, intercept float64) *model.Model {
	t.Helper()
	var mean, coef, scale [fraud.NumFeatures]float64
	for i := range scale {
		scale[i] = 1
	}
	coef[14] = -1.2
	lr, err := model.NewLogreg(mean, scale, coef, intercept)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(lr)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := model.Save(t.TempDir(), model.Bundle{
		Manifest: model.Manifest{
			Name: "test", Version: version, Kind: model.KindLogreg, Threshold: 0.5, CreatedAt: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
			Members:  []model.MemberSpec{{Kind: model.KindLogreg, File: "logreg.json", Weight: 1}},
			Canaries: []model.Canary{{Features: firstRow}},
		},
		Files: map[string][]byte{"logreg.json": data},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// flipModels is a model source whose live model changes at every look.
type flipModels struct {
	ms [2]*model.Model
	n  atomic.Int64
}

func (f *flipModels) Current() *model.Model { return f.ms[f.n.Add(1)%2] }

// TestJobScoredByOneVersion runs a job of many chunks while the live model changes at every
// look: every row is scored by the model its first chunk was.
func TestJobScoredByOneVersion(t *testing.T) {
	a, b := mustLogreg(t, "v1", -6), mustLogreg(t, "v2", -2)
	s := New(mustStore(t), &flipModels{ms: [2]*model.Model{a, b}}, slog.New(slog.DiscardHandler), Options{ChunkRows: 5, Workers: 2, PollInterval: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	const n = 60
	var body strings.Builder
	body.WriteString(csvHeader(true))
	for i := range n {
		body.WriteString(csvLine(i, true))
	}
	for range 3 {
		j := mustSubmit(t, s, []byte(body.String()), "text/csv")
		if got := mustFinish(t, s, j.ID); got.Status != fraud.JobCompleted {
			t.Fatalf("job %s: %+v", j.ID, got)
		}
		res := mustResults(t, s, j.ID)
		if len(res) != n {
			t.Fatalf("got %d results, want %d", len(res), n)
		}
		var by *model.Model
		for _, r := range res {
			x := testRow(int(r.Row))
			switch p := r.Probability; {
			case p == a.Probability(&x) && (by == nil || by == a):
				by = a
			case p == b.Probability(&x) && (by == nil || by == b):
				by = b
			default:
				t.Fatalf("row %d: probability %v is not that of the model of the rows before (v1 %v, v2 %v)", r.Row, p, a.Probability(&x), b.Probability(&x))
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pins) != 0 {
		t.Errorf("%d pins left after the jobs ended, want none", len(s.pins))
	}
}

// versions is a Versions of fixed models.
type versions map[string]*model.Model

func (v versions) Model(version string) (*model.Model, error) {
	if m, ok := v[version]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("no model %s", version)
}

// A job whose model another server recorded (its first chunk taken there) is scored by that
// version here, whatever is live here; a server that cannot have that version fails the job
// rather than score it with another.
func TestJobScoredByTheVersionItStartedWith(t *testing.T) {
	old, live := mustLogreg(t, "v1", -6), mustLogreg(t, "v2", -2)
	const n = 20
	var body strings.Builder
	body.WriteString(csvHeader(true))
	for i := range n {
		body.WriteString(csvLine(i, true))
	}
	for _, tc := range []struct {
		name     string
		versions versions
		want     fraud.JobStatus
	}{
		{"the version is here", versions{"v1": old}, fraud.JobCompleted},
		{"the version is not here", nil, fraud.JobFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := mustStore(t)
			// Intake only: no workers yet, so the test can pin the job as another server would.
			intake := New(store, fixedModel{live}, slog.New(slog.DiscardHandler), Options{ChunkRows: 5})
			j := mustSubmit(t, intake, []byte(body.String()), "text/csv")
			if v, err := store.PinModel(context.Background(), j.ID, "v1"); err != nil || v != "v1" {
				t.Fatalf("pin: %q, %v", v, err)
			}
			opts := Options{ChunkRows: 5}
			if tc.versions != nil {
				opts.Versions = tc.versions
			}
			s := mustService(t, store, live, opts)
			got := mustFinish(t, s, j.ID)
			if got.Status != tc.want || got.ModelVersion != "v1" {
				t.Fatalf("job: got %s with model %q (%s), want %s with v1", got.Status, got.ModelVersion, got.Error, tc.want)
			}
			if tc.want != fraud.JobCompleted {
				return
			}
			for _, r := range mustResults(t, s, j.ID) {
				x := testRow(int(r.Row))
				if r.Probability != old.Probability(&x) {
					t.Fatalf("row %d: probability %v, want v1's %v (v2 would give %v)", r.Row, r.Probability, old.Probability(&x), live.Probability(&x))
				}
			}
		})
	}
}
