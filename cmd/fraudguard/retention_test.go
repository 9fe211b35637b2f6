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

// TestServePurgesOldAuditEvents starts the service on a store holding an audit event older
// than AUDIT_RETENTION_DAYS and a newer one, and finds the old one deleted at start-up, the
// newer one kept, and the purge itself audited.
func TestServePurgesOldAuditEvents(t *testing.T) {
	dataDir := t.TempDir()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dataDir, "fraudguard.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, e := range []fraud.AuditEvent{
		{Time: now.Add(-31 * 24 * time.Hour), Action: fraud.ActionAuthFailure, Outcome: fraud.OutcomeDenied, Detail: "old"},
		{Time: now.Add(-29 * 24 * time.Hour), Action: fraud.ActionAuthFailure, Outcome: fraud.OutcomeDenied, Detail: "recent"},
	} {
		if err := store.RecordAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	const admin = "retention-admin-key-0123456789"
	s := mustServe(t, map[string]string{"DATA_DIR": dataDir, "ADMIN_API_KEY": admin, "AUDIT_RETENTION_DAYS": "30"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := call(t, "GET", s.url+"/security/audit?action=audit_purge", "", "", "X-API-Key", admin)
		if evs, _ := body["events"].([]any); len(evs) == 1 {
			if d, _ := evs[0].(map[string]any)["detail"].(string); !strings.HasPrefix(d, "deleted 1 events older than") {
				t.Errorf("audit_purge detail: got %q, want it to say one event was deleted", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit_purge event within 10s; logs:\n%s", s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, body := call(t, "GET", s.url+"/security/audit?action=auth_failure", "", "", "X-API-Key", admin)
	evs, _ := body["events"].([]any)
	var details []string
	for _, e := range evs {
		d, _ := e.(map[string]any)["detail"].(string)
		details = append(details, d)
	}
	if strings.Join(details, ",") != "recent" {
		t.Errorf("auth_failure events after start-up: got %q, want only the recent one", details)
	}
}
