package demo

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestStepsNamedOnce(t *testing.T) {
	seen := map[string]bool{}
	steps := Steps()
	for _, s := range steps {
		if s.Name == "" || s.Run == nil || seen[s.Name] {
			t.Errorf("step %q: empty, without a function or repeated", s.Name)
		}
		seen[s.Name] = true
	}
	// The steps that spend the budget and earn strikes come last, the limit itself at the end.
	if last := steps[len(steps)-1].Name; !strings.HasPrefix(last, "rate limit") {
		t.Errorf("the last step is %q, want the rate limit", last)
	}
}

// TestPacerWaitsWhenSpent checks that once the server says the budget is spent, the next
// request waits one interval at the limit, and that probes never wait.
func TestPacerWaitsWhenSpent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isProbe(r.URL.Path) {
			w.Header().Set("RateLimit-Limit", "300") // one request every 200 ms
			w.Header().Set("RateLimit-Remaining", "0")
		}
	}))
	defer srv.Close()
	p := newPacer(nil, time.Now)
	hc := &http.Client{Transport: p}
	get := func(path string) time.Duration {
		start := time.Now()
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return time.Since(start)
	}
	if d := get("/models/info"); d > 150*time.Millisecond {
		t.Errorf("the first request took %v, want no wait", d)
	}
	if rem, limit, ok := p.Remaining(); !ok || rem != 0 || limit != 300 {
		t.Errorf("got remaining %d of %d (%v), want 0 of 300", rem, limit, ok)
	}
	if d := get("/health/live"); d > 150*time.Millisecond {
		t.Errorf("a probe took %v, want no wait", d)
	}
	if d := get("/models/info"); d < 150*time.Millisecond {
		t.Errorf("a request with the budget spent took %v, want about 200 ms of waiting", d)
	}
}

func TestRunAndTable(t *testing.T) {
	d, err := New(Config{URL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []Step{
		{"ok", func(context.Context, *Demo) (string, error) { return "fine", nil }},
		{"broken", func(context.Context, *Demo) (string, error) { return "", errors.New("it broke") }},
		{"not here", func(context.Context, *Demo) (string, error) { return "", skipped("no reason to") }},
	}
	results := d.Run(context.Background(), steps)
	want := []Outcome{Pass, Fail, Skip}
	for i, r := range results {
		if r.Outcome != want[i] {
			t.Errorf("step %s: got %s, want %s", r.Step, r.Outcome, want[i])
		}
	}
	var b bytes.Buffer
	if fails := Table(&b, results); fails != 1 {
		t.Errorf("got %d failures, want 1", fails)
	}
	if !strings.Contains(b.String(), "it broke") || !strings.Contains(b.String(), "1 passed, 1 failed, 1 skipped") {
		t.Errorf("got table:\n%s", b.String())
	}
	if !strings.HasPrefix(d.txID(7), d.RunID+"-") || !strings.HasPrefix(d.RunID, "demo-") {
		t.Errorf("got id %q of run %q, want the run's prefix", d.txID(7), d.RunID)
	}
}

// TestRunStopsOnRefusedKey checks that a 401 stops the demo: every step after it would earn
// a strike against the address.
func TestRunStopsOnRefusedKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error_code":"UNAUTHORIZED","message":"no API key","details":[],"request_id":"r1"}`))
	}))
	defer srv.Close()
	d, err := New(Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	count := func(ctx context.Context, d *Demo) (string, error) { calls++; return "", nil }
	results := d.Run(context.Background(), []Step{{"model info", stepModelInfo}, {"later", count}, {"last", count}})
	if calls != 0 {
		t.Errorf("%d steps ran after the 401, want none", calls)
	}
	for _, r := range results[1:] {
		if r.Outcome != Fail || !strings.Contains(r.Detail, "not run: the server refused a key") {
			t.Errorf("step %s: got %s %q, want not run", r.Step, r.Outcome, r.Detail)
		}
	}
}
