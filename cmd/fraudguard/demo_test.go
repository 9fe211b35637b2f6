package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
	if !strings.Contains(out, "429 after") {
		t.Errorf("the rate-limit step did not reach a 429:\n%s", out)
	}
	if took > demoBudget {
		t.Errorf("the demo took %v, over its %v budget", took, demoBudget)
	}
	t.Logf("demo took %v\n%s", took, out)
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
		{"--timeout", "-1s"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), append([]string{"demo"}, args...), func(string) string { return "" }, nil, io.Discard, &stderr)
		if code := exitCode(err, &stderr); code != 2 {
			t.Errorf("%v: got exit status %d (%s), want 2", args, code, stderr.String())
		}
	}
}
