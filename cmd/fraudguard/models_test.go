package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/model"
)

// copyVersion copies the shipped bundle into root as version, made at created.
func copyVersion(t testing.TB, root, version string, created time.Time) {
	t.Helper()
	src := model.ScanBundles(shippedModels(t))[0]
	dir := filepath.Join(root, version)
	if err := os.CopyFS(dir, os.DirFS(src.Dir)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, model.ManifestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["version"], m["created_at"] = version, created.UTC().Format(time.RFC3339)
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// stop ends s and waits for it, leaving its result for the cleanup.
func (s *liveServer) stop(t testing.TB) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop within 20s")
	}
}

func liveVersion(t testing.TB, s *liveServer) string {
	t.Helper()
	resp, body := call(t, "GET", s.url+"/models/info", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("models/info: %d %v", resp.StatusCode, body)
	}
	return body["version"].(string)
}

// TestServeModelLifecycle runs the real service over a MODEL_PATH of versions: a switch over
// HTTP, a new bundle picked up by MODEL_WATCH, the active version kept across a restart
// unless MODEL_VERSION is set, and a shadow model compared.
func TestServeModelLifecycle(t *testing.T) {
	root := t.TempDir()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	copyVersion(t, root, "v1", day)
	copyVersion(t, root, "v2", day.Add(24*time.Hour))
	const admin = "admin-key-for-the-lifecycle-test"
	data := t.TempDir() // one DATA_DIR for every restart: it holds the activation history
	env := func(extra ...string) map[string]string {
		e := map[string]string{"MODEL_PATH": root, "DATA_DIR": data, "ADMIN_API_KEY": admin, "RATE_LIMIT_PER_MINUTE": "0"}
		for i := 0; i+1 < len(extra); i += 2 {
			e[extra[i]] = extra[i+1]
		}
		return e
	}

	s := mustServe(t, env("MODEL_WATCH", "true", "MODEL_WATCH_INTERVAL", "20ms"))
	if got := liveVersion(t, s); got != "v2" {
		t.Fatalf("at start: %s live, want the newest, v2", got)
	}
	resp, body := call(t, "POST", s.url+"/models/activate", "application/json", `{"version":"v1"}`, "X-API-Key", admin)
	if resp.StatusCode != 200 || liveVersion(t, s) != "v1" {
		t.Fatalf("activate v1: %d %v", resp.StatusCode, body)
	}
	copyVersion(t, root, "v3", day.Add(48*time.Hour))
	deadline := time.Now().Add(10 * time.Second)
	for liveVersion(t, s) != "v3" {
		if time.Now().After(deadline) {
			t.Fatal("MODEL_WATCH did not make the new bundle v3 live")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp, body := call(t, "POST", s.url+"/models/rollback", "application/json", "", "X-API-Key", admin); resp.StatusCode != 200 || liveVersion(t, s) != "v1" {
		t.Fatalf("rollback: %d %v, want v1 live again", resp.StatusCode, body)
	}
	s.stop(t)

	s = mustServe(t, env())
	if got := liveVersion(t, s); got != "v1" {
		t.Errorf("after a restart: %s live, want the stored v1", got)
	}
	s.stop(t)

	s = mustServe(t, env("MODEL_VERSION", "v2", "SHADOW_MODEL_VERSION", "v3"))
	if got := liveVersion(t, s); got != "v2" {
		t.Errorf("with MODEL_VERSION=v2: %s live", got)
	}
	if resp, body := call(t, "POST", s.url+"/predict", "application/json", firstTransaction); resp.StatusCode != 200 || body["model_version"] != "v2" {
		t.Fatalf("predict: %d %v", resp.StatusCode, body)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		resp, body := call(t, "GET", s.url+"/models/compare", "", "", "X-API-Key", admin)
		if resp.StatusCode != 200 {
			t.Fatalf("compare: %d %v", resp.StatusCode, body)
		}
		if body["transactions"] == 1.0 {
			if body["agreement_rate"] != 1.0 || body["score_correlation"] != nil {
				t.Errorf("compare: got %v, want agreement 1 and no correlation for one transaction", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("compare: got %v, want the one transaction", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
