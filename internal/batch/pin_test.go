package batch

import (
	"context"
	"encoding/json"
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
