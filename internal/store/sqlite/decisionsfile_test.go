package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

func testDecision(txn string, at time.Time, p float64) fraud.Decision {
	d := fraud.Decision{TransactionID: txn, RequestID: "req_" + txn, Time: at, ModelVersion: "v1",
		Probability: p, IsFraud: p >= 0.5, Risk: fraud.RiskLow, Threshold: 0.5}
	for i := range d.Features {
		d.Features[i] = float64(i) + p
	}
	return d
}

func TestDecisionsFile(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"/data/fraudguard.db", "/data/fraudguard-decisions.db"},
		{"/data/store.sqlite3", "/data/store-decisions.sqlite3"},
		{"/data/store", "/data/store-decisions"},
	} {
		if got := DecisionsFile(c.path); got != c.want {
			t.Errorf("DecisionsFile(%q): got %q, want %q", c.path, got, c.want)
		}
	}
}

// A database made before the decisions had a file of their own: Open moves them there, with
// their IDs, and their labels still join them; opening again copies none twice.
func TestOpenMovesDecisionsToTheirFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fraudguard.db")
	ms, err := parseMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	db := mustRawDB(t, path)
	if err := migrate(ctx, db, ms); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	old := []fraud.Decision{testDecision("txn_a", at, 0.9), testDecision("txn_b", at.Add(time.Second), 0.1)}
	if err := recordDecisions(ctx, db, old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO labels (transaction_id, label, source, observed_ns, recorded_ns) VALUES ('txn_a', 'fraud', 'chargeback', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for open := 1; open <= 2; open++ {
		s, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var tables int
		if err := s.write.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'decisions'`).Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("open %d: the database still has its decisions table", open)
		}
		all, err := s.ListDecisions(ctx, fraud.DecisionFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].TransactionID != "txn_b" || all[1].TransactionID != "txn_a" || all[1].ID != 1 || all[0].ID != 2 {
			t.Fatalf("open %d: got %+v, want txn_b (ID 2) and txn_a (ID 1)", open, all)
		}
		if all[1].Probability != 0.9 || all[1].Features != old[0].Features {
			t.Errorf("open %d: txn_a: got %v %v, want what was stored", open, all[1].Probability, all[1].Features)
		}
		if all[1].Label == nil || all[1].Label.Label != fraud.LabelFraud {
			t.Errorf("open %d: txn_a's label: got %+v, want fraud", open, all[1].Label)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A crash between the copy and the drop leaves the decisions in both files: the next Open
// copies none twice.
func TestOpenFinishesAnInterruptedMove(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fraudguard.db")
	s := mustOpen(t, path)
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	ds := []fraud.Decision{testDecision("txn_a", at, 0.9), testDecision("txn_b", at, 0.2)}
	if err := s.RecordDecisions(ctx, ds); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The database as a crash after the copy would leave it: its own decisions table, the rows
	// already copied.
	db := mustRawDB(t, path)
	if _, err := db.Exec(strings.Replace(strings.Replace(decisionsFileSchema, "PRAGMA user_version = 1;", "", 1), "IF NOT EXISTS", "", -1)); err != nil {
		t.Fatal(err)
	}
	if err := recordDecisions(ctx, db, ds); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = mustOpen(t, path)
	all, err := s.ListDecisions(ctx, fraud.DecisionFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("got %d decisions, want 2", len(all))
	}
}

// The decision log's writer holding the decisions file's write lock keeps neither labels nor
// the database's other writes waiting.
func TestLabelsDoNotWaitForTheDecisionsWriter(t *testing.T) {
	ctx := context.Background()
	at := time.Now().UTC()
	s, tx := lockedDecisions(t, testDecision("txn_a", at, 0.9))
	defer tx.Rollback()

	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := s.RecordLabels(wait, []fraud.LabelInput{{TransactionID: "txn_a", Label: fraud.LabelFraud, Source: "analyst"},
		{TransactionID: "txn_none", Label: fraud.LabelLegit, Source: "analyst"}}, at)
	if err != nil {
		t.Fatalf("labels while the decisions file is locked: %v", err)
	}
	if got[0] != fraud.FeedbackRecorded || got[1] != fraud.FeedbackUnknownTransaction {
		t.Errorf("got %v, want [%s %s]", got, fraud.FeedbackRecorded, fraud.FeedbackUnknownTransaction)
	}
	if err := s.RecordAudit(wait, fraud.AuditEvent{Action: "model.reload", Outcome: fraud.OutcomeSuccess}); err != nil {
		t.Errorf("audit while the decisions file is locked: %v", err)
	}
	ds, err := s.DecisionsOf(wait, "txn_a")
	if err != nil || len(ds) != 1 || ds[0].Label == nil {
		t.Errorf("look-up while the decisions file is locked: got %+v, %v; want the decision with its label", ds, err)
	}
}

func TestRecorderStoresWhatTheStoreReads(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fraudguard.db")
	s := mustOpen(t, path)
	r, err := OpenRecorder(ctx, DecisionsFile(path), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := testDecision("txn_r", time.Now().UTC(), 0.75)
	want.Reasons = []fraud.Reason{{Feature: "V14", Contribution: 1.5}}
	if err := r.RecordDecisions(ctx, []fraud.Decision{want}); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.RecordDecisions(ctx, []fraud.Decision{want}); fraud.ErrorCode(err) != fraud.CodeServiceUnavailable {
		t.Errorf("after Close: got %v, want %s", err, fraud.CodeServiceUnavailable)
	}
	got, err := s.DecisionsOf(ctx, "txn_r")
	if err != nil || len(got) != 1 {
		t.Fatalf("got %+v, %v; want the decision", got, err)
	}
	if got[0].Probability != want.Probability || got[0].Features != want.Features || len(got[0].Reasons) != 1 || got[0].Reasons[0] != want.Reasons[0] {
		t.Errorf("got %+v, want %+v", got[0], want)
	}
}

func TestRecorderRefusesFilesTheStoreDidNotMake(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing-decisions.db")
	if _, err := OpenRecorder(ctx, missing, Options{}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: got %v, want an error naming it", err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("missing file: it was made (%v)", err)
	}
	other := filepath.Join(dir, "other.db")
	db := mustRawDB(t, other)
	if _, err := db.Exec(`CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := OpenRecorder(ctx, other, Options{}); err == nil || !strings.Contains(err.Error(), "schema is version 0") {
		t.Errorf("another database: got %v, want an error naming its schema version", err)
	}
}

// An erasure that waits for the decisions file (its writer holding the lock) and a label of
// the same transaction sent meanwhile: the erasure leaves no label behind.
func TestEraseLeavesNoLabelOfARacingFeedback(t *testing.T) {
	ctx := context.Background()
	s, tx := lockedDecisions(t, testDecision("txn_e", time.Now().UTC(), 0.9))
	erased := make(chan error, 1)
	go func() { _, _, err := s.EraseTransaction(ctx, "txn_e"); erased <- err }()
	time.Sleep(100 * time.Millisecond) // the erasure has deleted the labels and waits for the lock
	labelled := make(chan error, 1)
	go func() {
		_, err := s.RecordLabels(ctx, []fraud.LabelInput{{TransactionID: "txn_e", Label: fraud.LabelFraud, Source: "chargeback"}}, time.Now())
		labelled <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan error{erased, labelled} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("erasure or feedback still waiting 10 s after the lock was released")
		}
	}
	var n int
	if err := s.read.QueryRow(`SELECT COUNT(*) FROM labels WHERE transaction_id = 'txn_e'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if ds, err := s.DecisionsOf(ctx, "txn_e"); err != nil || len(ds) != 0 || n != 0 {
		t.Errorf("after the erasure: %d decisions (%v), %d labels; want none of either", len(ds), err, n)
	}
}

// lockedDecisions returns a store (a minute's busy timeout) holding d, and a transaction of
// another connection to its decisions file, as the writer process's, holding that file's write
// lock (BEGIN IMMEDIATE).
func lockedDecisions(t *testing.T, d fraud.Decision) (*Store, *sql.Tx) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fraudguard.db")
	s, err := Open(ctx, path, Options{BusyTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.RecordDecisions(ctx, []fraud.Decision{d}); err != nil {
		t.Fatal(err)
	}
	r, err := OpenRecorder(ctx, DecisionsFile(path), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, tx
}
