package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestStoresDecisions runs the load for a moment and reads back what it says it stored: whole
// batches of rate × interval, each decision with a UUID v4 of its own.
func TestStoresDecisions(t *testing.T) {
	db := filepath.Join(t.TempDir(), "load.db")
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"-db", db, "-rate", "2000", "-interval", "50ms"}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v (stderr %q)", err, stderr.String())
	}
	var stored int
	if _, err := fmt.Sscanf(stdout.String(), "stored %d decisions\n", &stored); err != nil {
		t.Fatalf("output %q: %v", stdout.String(), err)
	}
	if stored < 100 || stored%100 != 0 {
		t.Fatalf("stored %d decisions, want whole batches of 100, at least one", stored)
	}

	s, err := sqlite.Open(context.Background(), db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	ds, err := s.ListDecisions(context.Background(), fraud.DecisionFilter{Limit: stored + 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != stored {
		t.Fatalf("the store holds %d decisions, the load says it stored %d", len(ds), stored)
	}
	seen := make(map[string]bool, len(ds))
	for _, d := range ds {
		if !uuidV4.MatchString(d.TransactionID) {
			t.Fatalf("transaction_id %q is not a UUID v4", d.TransactionID)
		}
		if seen[d.TransactionID] {
			t.Fatalf("transaction_id %q stored twice", d.TransactionID)
		}
		seen[d.TransactionID] = true
		if len(d.RequestID) != 32 || d.Risk != fraud.RiskLow || d.ModelVersion != "decisionload" {
			t.Fatalf("decision %+v: want a 32-digit request id, low risk and model version decisionload", d)
		}
	}
}

// TestRefusesBadFlags: every bad setting is named, and nothing is created.
func TestRefusesBadFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "load.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-db is required"},
		{[]string{"-db", db, "-rate", "0"}, "-rate 0"},
		{[]string{"-db", db, "-rate", "2000000"}, "-rate 2000000"},
		{[]string{"-db", db, "-interval", "0s"}, "-interval 0s"},
		{[]string{"-db", db, "-interval", "1m"}, "-interval 1m0s"},
		{[]string{"-db", db, "-rate", "5", "-interval", "100ms"}, "less than one decision a batch"},
		{[]string{"-db", db, "extra"}, `unexpected argument "extra"`},
		{[]string{"-db", db, "-rate", "many"}, "invalid value"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: error %v, want one containing %q", tc.args, err, tc.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("run %q wrote %q", tc.args, stdout.String())
		}
	}
	if matches, _ := filepath.Glob(db + "*"); len(matches) > 0 {
		t.Errorf("bad flags created %v", matches)
	}
}
