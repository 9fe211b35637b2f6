package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestStoresDecisions stores -count decisions, two batches and a short one, and reads them
// back: each decision with a UUID v4 of its own as its transaction_id.
func TestStoresDecisions(t *testing.T) {
	db := filepath.Join(t.TempDir(), "load.db")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-db", db, "-rate", "2000", "-interval", "50ms", "-count", "250"}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v (stderr %q)", err, stderr.String())
	}
	if stored := storedIn(t, stdout.String()); stored != 250 {
		t.Fatalf("said it stored %d decisions, want 250", stored)
	}
	ds := decisionsIn(t, db)
	if len(ds) != 250 {
		t.Fatalf("the store holds %d decisions, want 250", len(ds))
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

// TestStopsWhenCancelled: a stop (SIGINT or SIGTERM in main) ends the load between batches,
// and what it says it stored is what the store holds.
func TestStopsWhenCancelled(t *testing.T) {
	db := filepath.Join(t.TempDir(), "load.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-db", db, "-rate", "2000", "-interval", "20ms"}, &stdout, &stderr) }()
	s, err := openWhenThere(db, done)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		ds, err := s.ListDecisions(context.Background(), fraud.DecisionFilter{Limit: 1})
		if err == nil && len(ds) > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run returned before it was stopped: %v (stderr %q)", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decision stored in 10 s (last error %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = s.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v (stderr %q)", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10 s of the stop")
	}
	stored := storedIn(t, stdout.String())
	if n := len(decisionsIn(t, db)); stored == 0 || stored%40 != 0 || n != stored {
		t.Fatalf("said it stored %d, the store holds %d: want the same, in whole batches of 40", stored, n)
	}
}

// openWhenThere opens the store at path once the load has created it, unless the load has
// ended (its error on done).
func openWhenThere(path string, done <-chan error) (*sqlite.Store, error) {
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := os.Stat(path); err == nil {
			return sqlite.Open(context.Background(), path, sqlite.Options{})
		}
		select {
		case err := <-done:
			return nil, fmt.Errorf("the load ended before it created %s: %v", path, err)
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s not created in 10 s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storedIn reads the count of the load's last line: "stored N decisions in Ts, R a second".
func storedIn(t *testing.T, out string) int {
	t.Helper()
	var stored int
	var took, rate float64
	if _, err := fmt.Sscanf(out, "stored %d decisions in %fs, %f a second\n", &stored, &took, &rate); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	return stored
}

// decisionsIn returns every decision stored at path.
func decisionsIn(t *testing.T, path string) []fraud.Decision {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	ds, err := s.ListDecisions(context.Background(), fraud.DecisionFilter{Limit: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	return ds
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
		{[]string{"-db", db, "-rate", "5", "-interval", "100ms"}, "batches of 0.5 decisions: want a whole number from 1 to 100000"},
		{[]string{"-db", db, "-rate", "1500", "-interval", "1ms"}, "batches of 1.5 decisions"},
		{[]string{"-db", db, "-rate", "1000000", "-interval", "10s"}, "batches of 1e+07 decisions"},
		{[]string{"-db", db, "extra"}, `unexpected argument "extra"`},
		{[]string{"-db", db, "-rate", "many"}, "invalid value"},
		{[]string{"-db", db, "-count", "-1"}, "-count -1"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		var usage usageError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &usage) {
			t.Errorf("run %q: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("run %q wrote %q", tc.args, stdout.String())
		}
	}
	if matches, _ := filepath.Glob(db + "*"); len(matches) > 0 {
		t.Errorf("bad flags created %v", matches)
	}
}

// TestHelp: -h prints the flags and is not a failure.
func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h: %v, want flag.ErrHelp (exit 0)", err)
	}
	for _, f := range []string{"-db", "-rate", "-interval", "-count"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("-h does not list %s: %q", f, stderr.String())
		}
	}
}
