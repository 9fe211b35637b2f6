package main

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
)

// TestExportLabelled writes labelled decisions that train's reader reads back exactly: one
// row per transaction (its newest decision), oldest first, Class from the latest label, and
// nothing outside the window.
func TestExportLabelled(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "fraudguard.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	dec := func(id string, min int, seed float64) fraud.Decision {
		d := fraud.Decision{TransactionID: id, Time: t0.Add(time.Duration(min) * time.Minute), ModelVersion: "v1", Risk: fraud.RiskLow, Threshold: 0.5}
		for j := range d.Features {
			d.Features[j] = seed + float64(j)/3
		}
		d.Features[0] = seed * 10
		d.Features[29] = 0.1 + 0.2 // not a short decimal: must come back bit for bit
		return d
	}
	ds := []fraud.Decision{dec("a", 1, 1), dec("b", 2, 2), dec("a", 3, 3), dec("c", 4, 4), dec("old", -60, 5), dec("unlabelled", 5, 6)}
	if err := store.RecordDecisions(ctx, ds); err != nil {
		t.Fatal(err)
	}
	if _, err := store.RecordLabels(ctx, []fraud.LabelInput{
		{TransactionID: "a", Label: fraud.LabelLegit, Source: "analyst"},
		{TransactionID: "b", Label: fraud.LabelFraud, Source: "chargeback"},
		{TransactionID: "a", Label: fraud.LabelFraud, Source: "chargeback"},
		{TransactionID: "old", Label: fraud.LabelFraud, Source: "chargeback"},
		{TransactionID: "c", Label: fraud.LabelLegit, Source: "customer"},
	}, t0); err != nil {
		t.Fatal(err)
	}
	store.Close()

	out := filepath.Join(dir, "labelled.csv")
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"export", "--labelled", "--since", "2026-11-26T12:00:00Z", "--out", out}, func(k string) string {
		if k == "DATA_DIR" {
			return dir
		}
		return ""
	}, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "wrote 3 labelled transactions (2 fraud)") {
		t.Errorf("stdout: got %q", stdout.String())
	}
	tab, err := dataset.ReadAll(ctx, out)
	if err != nil {
		t.Fatalf("train's reader refuses the export: %v", err)
	}
	// b (2 min), a's newest decision (3 min), c (4 min); old is before --since, and
	// unlabelled has no label.
	if len(tab.Labels) != 3 || tab.Labels[0] != 1 || tab.Labels[1] != 1 || tab.Labels[2] != 0 {
		t.Fatalf("labels: got %v, want [1 1 0]", tab.Labels)
	}
	for i, want := range []fraud.Decision{ds[1], ds[2], ds[3]} {
		for j := range want.Features {
			if got := tab.Columns[j][i]; math.Float64bits(got) != math.Float64bits(want.Features[j]) {
				t.Errorf("row %d, %s: got %v, want %v", i, fraud.FeatureNames()[j], got, want.Features[j])
			}
		}
	}
}

func TestExportRefusals(t *testing.T) {
	for _, args := range [][]string{
		{"export"},
		{"export", "--labelled", "--since", "yesterday"},
		{"export", "--labelled", "--since", "2026-11-26T12:00:00Z", "--until", "2026-11-26T11:00:00Z"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append(args, "--data-dir", t.TempDir()), noEnv, strings.NewReader(""), &stdout, &stderr)
		if _, ok := err.(usageError); !ok {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
}
