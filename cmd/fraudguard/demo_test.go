package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// demoBudget is how long the demo may take against a fresh server with the default settings
// (100 requests a minute per client): well under the two minutes it promises.
const demoBudget = 60 * time.Second

// TestDemoAgainstServe runs the demo, as CI does, against a freshly started serve with the
// default settings and a generated admin key it is not given: every step passes or is
// skipped, within its time budget.
func TestDemoAgainstServe(t *testing.T) {
	s := mustServe(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), demoBudget)
	defer cancel()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	err := run(ctx, []string{"demo", "--url", s.url, "--quiet"}, func(string) string { return "" }, nil, &stdout, &stderr)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("demo: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, " 0 failed") || strings.Contains(out, "FAIL") {
		t.Errorf("got a failure in the table:\n%s", out)
	}
	for _, step := range []string{"predict", "background job: submit, follow, results", "admin routes refuse a missing key (401)",
		"security: SQL injection", "rate limit: past the limit (429, Retry-After)"} {
		if !strings.Contains(out, step) {
			t.Errorf("the table has no step %q:\n%s", step, out)
		}
	}
	// Under the defaults every key-free route is exercised, not skipped.
	for _, step := range []string{"model info", "docs pages: /docs, /redoc and their assets", "decisions: look-up by transaction id",
		"decisions: listed (GET /decisions)", "feedback: labels for its own transactions", "model performance on labelled decisions"} {
		if line := lineOf(out, step); !strings.Contains(line, " pass ") {
			t.Errorf("step %q: got %q, want a pass", step, line)
		}
	}
	if !strings.Contains(out, "429 after") {
		t.Errorf("the rate-limit step did not reach a 429:\n%s", out)
	}
	if took > demoBudget {
		t.Errorf("the demo took %v, over its %v budget", took, demoBudget)
	}
	t.Logf("demo took %v\n%s", took, out)
}

// TestDemoWithAdminKey runs the demo with the admin key, --reload and --rollback against a
// serve with the default limits over two model versions, v1 made live by hand: the admin
// steps pass rather than skip, activating the live version records no switch (else the
// rollbacks would not go v2 → v1 → v2), and the demo leaves the newest version live, as
// --reload asked, its labelled transaction erased and its job deleted.
func TestDemoWithAdminKey(t *testing.T) {
	root := t.TempDir()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	copyVersion(t, root, "v1", day)
	copyVersion(t, root, "v2", day.Add(24*time.Hour))
	const admin = "admin-key-for-the-demo-test-0123456789"
	s := mustServe(t, map[string]string{"MODEL_PATH": root, "ADMIN_API_KEY": admin})
	if resp, body := call(t, "POST", s.url+"/models/activate", "application/json", `{"version":"v1"}`, "X-API-Key", admin); resp.StatusCode != 200 {
		t.Fatalf("activate v1: %d %v", resp.StatusCode, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), demoBudget)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"demo", "--url", s.url, "--quiet", "--admin-key", admin, "--reload", "--rollback"},
		func(string) string { return "" }, nil, &stdout, &stderr)
	out := stdout.String()
	if err != nil {
		t.Fatalf("demo: %v\n%s%s", err, out, stderr.String())
	}
	for step, want := range map[string]string{
		"admin routes with the admin key":                "pass",
		"model reload (admin)":                           "live: v2",
		"model activate: the live version again (admin)": "v2 activated while live",
		"model rollback and back (admin)":                "v2 → v1 → v2",
		"model compare (admin)":                          "409 CONFLICT, as expected",
		"decisions: its labelled ones erased (admin)":    "no longer found (404)",
		"background job: deleted":                        "deleted with its results",
		"admin routes refuse a missing key (401)":        "skip",
	} {
		if line := lineOf(out, step); !strings.Contains(line, want) {
			t.Errorf("step %q: got %q, want %q in it\n%s", step, line, want, out)
		}
	}
	// The demo spent the address's budget: the checks below go with the admin key's.
	if _, info := call(t, "GET", s.url+"/models/info", "", "", "X-API-Key", admin); info["version"] != "v2" {
		t.Errorf("after the demo %v is live, want v2 (reloaded, then rolled back and back)", info["version"])
	}
	run := regexp.MustCompile(`\(run (demo-[0-9a-f]+),`).FindStringSubmatch(out)
	if run == nil {
		t.Fatalf("no run id in the output:\n%s", out)
	}
	if resp, body := call(t, "GET", s.url+"/decisions/"+run[1]+"-1", "", "", "X-API-Key", admin); resp.StatusCode != 404 {
		t.Errorf("the labelled transaction after the demo: got %d %v, want 404", resp.StatusCode, body)
	}
	_, perf := call(t, "GET", s.url+"/models/performance", "", "", "X-API-Key", admin)
	versions, _ := perf["versions"].([]any)
	for _, v := range versions {
		if v := v.(map[string]any); v["labelled"] != 0.0 {
			t.Errorf("after the demo %v has labelled decisions, want its label erased", v)
		}
	}
	if len(versions) == 0 {
		t.Errorf("GET /models/performance: got %v, want the demo's decisions", perf)
	}
	t.Logf("\n%s", out)
}

// TestDemoFailsOnBadServer runs the demo against a server that answers 200 with an empty
// object to everything: it must report failures and exit with status 1.
func TestDemoFailsOnBadServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"demo", "--url", srv.URL, "--quiet", "--job-rows", "10", "--timeout", "20s"},
		func(string) string { return "" }, nil, &stdout, io.Discard)
	if code := exitCode(err, io.Discard); code != 1 {
		t.Fatalf("got exit status %d (%v), want 1", code, err)
	}
	out := stdout.String()
	for _, step := range []string{"health", "error: malformed JSON (400)", "security: XSS in query, header, body (403)"} {
		if !strings.Contains(out, step) || !strings.Contains(lineOf(out, step), "FAIL") {
			t.Errorf("step %q did not fail:\n%s", step, out)
		}
	}
}

func lineOf(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func TestDemoBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--url", "localhost:8000"},
		{"--job-rows", "0"},
		{"--reload"},
		{"--rollback"},
		{"--timeout", "-1s"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), append([]string{"demo"}, args...), func(string) string { return "" }, nil, io.Discard, &stderr)
		if code := exitCode(err, &stderr); code != 2 {
			t.Errorf("%v: got exit status %d (%s), want 2", args, code, stderr.String())
		}
	}
}
