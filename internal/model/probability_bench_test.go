package model

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// mustShippedModel loads the newest bundle of the repository's models/ directory, the model
// that ships; the directory is part of the repository, so its absence fails the test.
func mustShippedModel(tb testing.TB) *Model {
	tb.Helper()
	root := filepath.Join("..", "..", "models")
	if _, err := os.Stat(root); err != nil {
		tb.Fatalf("no shipped models directory at %s (make model rebuilds it): %v", root, err)
	}
	m, err := LoadLatest(root, "")
	if err != nil {
		tb.Fatalf("load the shipped model: %v", err)
	}
	return m
}

// mustMemberModel saves and loads a bundle made of the shipped model's member of the given
// kind alone, with weight 1 and bias 0; it skips when the shipped model has no such member.
func mustMemberModel(tb testing.TB, shipped *Model, kind string) *Model {
	tb.Helper()
	for _, spec := range shipped.Manifest.Members {
		if spec.Kind != kind {
			continue
		}
		data, err := os.ReadFile(filepath.Join(shipped.Dir, spec.File))
		if err != nil {
			tb.Fatal(err)
		}
		dir, err := Save(tb.TempDir(), Bundle{
			Manifest: Manifest{
				Name:      kind,
				Kind:      kind,
				Threshold: 0.5,
				CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
				Members:   []MemberSpec{{Kind: kind, File: spec.File, Weight: 1}},
				Canaries:  []Canary{{Features: exampleRow(tb)}},
			},
			Files: map[string][]byte{spec.File: data},
		})
		if err != nil {
			tb.Fatal(err)
		}
		m, err := Load(dir)
		if err != nil {
			tb.Fatal(err)
		}
		return m
	}
	tb.Skipf("the shipped model (%s) has no %s member", shipped.Manifest.Kind, kind)
	return nil
}

// BenchmarkModelProbability scores the first real transaction with the shipped model and with
// each of its members alone, to show what blending costs per request next to a logistic
// regression.
func BenchmarkModelProbability(b *testing.B) {
	shipped := mustShippedModel(b)
	x := exampleRow(b)
	for _, bc := range []struct {
		name  string
		model func(b *testing.B) *Model
	}{
		{"shipped-" + shipped.Manifest.Kind, func(*testing.B) *Model { return shipped }},
		{"logreg-member", func(b *testing.B) *Model { return mustMemberModel(b, shipped, KindLogreg) }},
		{"trees-member", func(b *testing.B) *Model { return mustMemberModel(b, shipped, KindTrees) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := bc.model(b)
			b.ReportAllocs()
			var sink float64
			for b.Loop() {
				sink += m.Probability(&x)
			}
			_ = sink
		})
	}
}

func TestShippedModelProbabilityDoesNotAllocate(t *testing.T) {
	m := mustShippedModel(t)
	x := exampleRow(t)
	var sink float64
	if got := testing.AllocsPerRun(100, func() { sink += m.Probability(&x) }); got != 0 {
		t.Errorf("got %v allocations per Probability of the shipped %s model, want 0", got, m.Manifest.Kind)
	}
	_ = sink
}
