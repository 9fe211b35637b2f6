package model

import (
	"math"
	"strings"
	"testing"
)

func TestNewScoresAsLoad(t *testing.T) {
	b := testBundle(t)
	b.Manifest.Bias = 0.25
	b.Manifest.Members[0].Weight = 1.5
	loaded := mustLoad(t, mustSave(t, t.TempDir(), b))
	l := testLogreg(t)
	m, err := New(b.Manifest, []Member{l})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for i, c := range b.Manifest.Canaries {
		if got, want := m.Margin(&c.Features), loaded.Margin(&c.Features); got != want {
			t.Errorf("canary %d: margin got %v, want %v (the loaded bundle's)", i, got, want)
		}
		if got, want := m.Margin(&c.Features), 0.25+1.5*l.Margin(&c.Features); got != want {
			t.Errorf("canary %d: margin got %v, want bias + weight·member %v", i, got, want)
		}
	}
	var e Explanation
	if err := m.Explain(&b.Manifest.Canaries[1].Features, &e); err != nil {
		t.Fatalf("Explain: %v", err)
	}
	if got, want := e.BaseValue, 0.25+1.5*l.Intercept; math.Abs(got-want) > 1e-12 {
		t.Errorf("base value got %v, want %v", got, want)
	}
}

func TestNewRejects(t *testing.T) {
	l := testLogreg(t)
	tests := []struct {
		name    string
		edit    func(m *Manifest)
		members []Member
		want    string
	}{
		{"no members", func(*Manifest) {}, nil, "no members"},
		{"count", func(*Manifest) {}, []Member{l, l}, "2 members for 1"},
		{"nil member", func(*Manifest) {}, []Member{nil}, "member 0 is nil"},
		{"threshold", func(m *Manifest) { m.Threshold = 1.5 }, []Member{l}, "threshold 1.5"},
		{"bias", func(m *Manifest) { m.Bias = math.Inf(1) }, []Member{l}, "bias +Inf"},
		{"weight", func(m *Manifest) { m.Members[0].Weight = math.NaN() }, []Member{l}, "weight NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			man := testBundle(t).Manifest
			tc.edit(&man)
			_, err := New(man, tc.members)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
