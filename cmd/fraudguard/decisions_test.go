package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
)

// withID is the first real transaction with a transaction_id.
func withID(id string) string {
	return strings.Replace(firstTransaction, `{"Time":0`, `{"transaction_id":"`+id+`","Time":0`, 1)
}

// TestServeDecisionLog runs the real service: an answer is readable within a second, and the
// retention loop purges decisions older than DECISION_RETENTION_DAYS at start-up.
func TestServeDecisionLog(t *testing.T) {
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "fraudguard.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := store.RecordDecisions(context.Background(), []fraud.Decision{
		{TransactionID: "txn-old", Time: now.Add(-31 * 24 * time.Hour), ModelVersion: "v0", Risk: fraud.RiskLow, Threshold: 0.5},
		{TransactionID: "txn-recent", Time: now.Add(-29 * 24 * time.Hour), ModelVersion: "v0", Risk: fraud.RiskLow, Threshold: 0.5},
	}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	s := mustServe(t, map[string]string{"DATA_DIR": dir, "DECISION_RETENTION_DAYS": "30"})

	resp, body := call(t, "POST", s.url+"/predict", "application/json", withID("txn-e2e"))
	answered := time.Now()
	if resp.StatusCode != 200 {
		t.Fatalf("predict: %d %v", resp.StatusCode, body)
	}
	for {
		resp, got := call(t, "GET", s.url+"/decisions/txn-e2e", "", "")
		if resp.StatusCode == 200 {
			d := got["decisions"].([]any)[0].(map[string]any)
			if d["fraud_probability"] != body["fraud_probability"] || d["request_id"] != body["request_id"] {
				t.Errorf("record %v does not match the answer %v", d, body)
			}
			break
		}
		if time.Since(answered) > time.Second {
			t.Fatalf("not readable a second after the answer: %d %v", resp.StatusCode, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := call(t, "GET", s.url+"/decisions/txn-old", "", "")
		if resp.StatusCode == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("txn-old (31 days) not purged: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp, _ := call(t, "GET", s.url+"/decisions/txn-recent", "", ""); resp.StatusCode != 200 {
		t.Errorf("txn-recent (29 days): got %d, want 200 (kept)", resp.StatusCode)
	}
}

func TestServeDecisionLogOff(t *testing.T) {
	s := mustServe(t, map[string]string{"DECISION_LOG": "false"})
	if resp, body := call(t, "POST", s.url+"/predict", "application/json", withID("txn-off")); resp.StatusCode != 200 {
		t.Fatalf("predict: %d %v", resp.StatusCode, body)
	}
	time.Sleep(500 * time.Millisecond) // five flush intervals
	if resp, _ := call(t, "GET", s.url+"/decisions?limit=10", "", ""); resp.StatusCode != 200 {
		t.Fatalf("list: %d", resp.StatusCode)
	} else if _, body := call(t, "GET", s.url+"/decisions?limit=10", "", ""); len(body["decisions"].([]any)) != 0 {
		t.Errorf("DECISION_LOG=false: got %v, want no decision", body["decisions"])
	}
	if !strings.Contains(s.logs.String(), `"decision_log":false`) {
		t.Errorf("the configuration logged does not say decision_log false")
	}
}
