package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/loadtest"
)

func TestLoadtestBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no url", []string{"--max"}, "--url is required"},
		{"rate and max", []string{"--url", "http://127.0.0.1:1", "--rate", "5", "--max"}, "exclude each other"},
		{"no rate", []string{"--url", "http://127.0.0.1:1"}, "--rate 0"},
		{"unknown endpoint", []string{"--url", "http://127.0.0.1:1", "--max", "--endpoint", "score"}, "allowed: predict, batch, health"},
		{"no connections", []string{"--url", "http://127.0.0.1:1", "--max", "--connections", "0"}, "--connections 0"},
		{"not a number", []string{"--url", "http://127.0.0.1:1", "--rate", "fast"}, "invalid value"},
		{"extra argument", []string{"--url", "http://127.0.0.1:1", "--max", "now"}, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), append([]string{"loadtest"}, tc.args...), func(string) string { return "" }, nil, io.Discard, &stderr)
			if code := exitCode(err, &stderr); code != 2 {
				t.Errorf("got exit status %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("got %q, want it to say %q", stderr.String(), tc.want)
			}
		})
	}
}

func TestLoadtestJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "from-env" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"status":"healthy"}`))
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == "FRAUDGUARD_API_KEY" {
			return "from-env"
		}
		return ""
	}
	err := run(context.Background(), []string{"loadtest", "--url", srv.URL, "--endpoint", "health", "--rate", "50", "--duration", "1200ms", "--json"}, getenv, nil, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var rep loadtest.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("not a JSON report: %v\n%s", err, stdout.String())
	}
	if rep.Endpoint != "health" || rep.Mode != "open" || rep.Requests < 50 || rep.Statuses["200"] != rep.Requests || rep.Success != 1 {
		t.Errorf("got %+v", rep)
	}
	if !strings.Contains(stderr.String(), "requests") {
		t.Errorf("got no progress line on stderr: %q", stderr.String())
	}

	// Every request refused: the report is written and the exit status is 1.
	stdout.Reset()
	err = run(context.Background(), []string{"loadtest", "--url", srv.URL, "--endpoint", "health", "--rate", "20", "--duration", "300ms", "--quiet"}, func(string) string { return "" }, nil, &stdout, io.Discard)
	if code := exitCode(err, io.Discard); code != 1 || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Errorf("got %v (status %d), want status 1 naming 401", err, code)
	}
	if !strings.Contains(stdout.String(), "401: ") {
		t.Errorf("got report %q, want the 401s counted", stdout.String())
	}
}
