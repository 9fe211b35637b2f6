package api

import (
	"strings"
	"testing"
)

// TestPprof checks that the profiler is an unknown route unless Options.Pprof is set, and then
// answers the admin key only.
func TestPprof(t *testing.T) {
	off := mustGuardedWith(t, true, Options{}, nil, nil)
	checkError(t, send(t, off.srv, "GET", "/debug/pprof/", nil, adminEnv), 404, "NOT_FOUND")
	checkError(t, send(t, off.srv, "GET", "/debug/pprof/heap", nil, adminEnv), 404, "NOT_FOUND")

	on := mustGuardedWith(t, true, Options{Pprof: true}, nil, nil)
	tests := []struct {
		name, path, key string
		status          int
		code            string // error_code of a refusal
		body            string // in a 200's body
	}{
		{"index, admin key", "/debug/pprof/", adminEnv, 200, "", "goroutine"},
		{"heap profile, admin key", "/debug/pprof/heap?debug=1", adminEnv, 200, "", "heap profile"},
		{"goroutines, admin key", "/debug/pprof/goroutine?debug=1", adminEnv, 200, "", "goroutine profile"},
		{"cmdline, admin key", "/debug/pprof/cmdline", adminEnv, 200, "", ""},
		{"no key", "/debug/pprof/", "", 401, "UNAUTHORIZED", ""},
		{"no key, a profile", "/debug/pprof/heap", "", 401, "UNAUTHORIZED", ""},
		{"a predict key", "/debug/pprof/heap", keyPredict, 403, "FORBIDDEN", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := send(t, on.srv, "GET", tc.path, nil, tc.key)
			if tc.code != "" {
				checkError(t, w, tc.status, tc.code)
				return
			}
			if w.Code != tc.status {
				t.Fatalf("got status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if !strings.Contains(w.Body.String(), tc.body) {
				t.Errorf("got body %.200q, want it to contain %q", w.Body.String(), tc.body)
			}
		})
	}
}
