package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/security/apikey"
)

// runKeysCmd runs "fraudguard keys args..." with the environment env and returns its stdout,
// stderr and error.
func runKeysCmd(t testing.TB, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), append([]string{"keys"}, args...), getenv, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// mustCreateKey runs keys create and returns the key it printed.
func mustCreateKey(t testing.TB, args ...string) string {
	t.Helper()
	stdout, stderr, err := runKeysCmd(t, nil, append([]string{"create"}, args...)...)
	if err != nil {
		t.Fatalf("keys create %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	key := strings.TrimSpace(stdout)
	if strings.Contains(key, "\n") {
		t.Fatalf("stdout: got %q, want the key alone", stdout)
	}
	if !strings.Contains(stderr, "will not be shown again") {
		t.Errorf("stderr: got %q, want a line saying the key will not be shown again", stderr)
	}
	return key
}

func TestKeysCreateAuthenticates(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.yaml")
	checkout := mustCreateKey(t, "--name", "checkout", "--scopes", "predict,batch", "--file", file)
	reports := mustCreateKey(t, "--name=reports", "--scopes=batch", "--rate-limit=60", "--file="+file)
	if checkout == reports || !strings.HasPrefix(checkout, apikey.Prefix) {
		t.Fatalf("got keys %q and %q, want two different fg_ keys", checkout, reports)
	}
	if body := string(mustReadKeysFile(t, file)); strings.Contains(body, checkout) || strings.Contains(body, reports) {
		t.Fatalf("the keys file holds a key itself:\n%s", body)
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode: got %04o, want 0600", perm)
	}

	ks, err := apikey.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key        string
		wantName   string
		wantScopes string
		wantLimit  int
	}{
		{checkout, "checkout", "predict,batch", 0},
		{reports, "reports", "batch", 60},
	}
	for _, tc := range tests {
		k, ok := ks.Authenticate(tc.key)
		if !ok || k.Name != tc.wantName || k.Scopes.String() != tc.wantScopes || k.RateLimitPerMinute != tc.wantLimit {
			t.Errorf("got %+v (%s), %v; want %s with %s and limit %d", k, k.Scopes, ok, tc.wantName, tc.wantScopes, tc.wantLimit)
		}
	}
}

func TestKeysCreateUsesAPIKeysFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "from-env.json")
	stdout, stderr, err := runKeysCmd(t, map[string]string{"API_KEYS_FILE": file}, "create", "--name", "ops", "--scopes", "admin")
	if err != nil {
		t.Fatalf("%v\nstderr: %s", err, stderr)
	}
	ks, err := apikey.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := ks.Authenticate(strings.TrimSpace(stdout)); !ok || !k.Has(apikey.ScopeAdmin) {
		t.Errorf("got %+v, %v; want the ops key with admin", k, ok)
	}
}

func TestKeysCreateRefusals(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys.yaml")
	mustCreateKey(t, "--name", "checkout", "--scopes", "predict", "--file", file)
	before := mustReadKeysFile(t, file)

	tests := []struct {
		name      string
		args      []string
		wantUsage bool // exit status 2
		want      string
	}{
		{"duplicate name", []string{"--name", "checkout", "--scopes", "batch"}, false, `already has a key named "checkout"`},
		{"duplicate name in another case", []string{"--name", "CHECKOUT", "--scopes", "batch"}, false, `already has a key named "CHECKOUT"`},
		{"unknown scope", []string{"--name", "b", "--scopes", "predict,delete"}, true, `unknown scope "delete"`},
		{"empty scope", []string{"--name", "b", "--scopes", "predict,"}, true, `unknown scope ""`},
		{"no name", []string{"--scopes", "predict"}, true, "--name is required"},
		{"no scopes", []string{"--name", "b"}, true, "--scopes is required"},
		{"bad name", []string{"--name", "a b", "--scopes", "predict"}, true, "may hold only letters"},
		{"reserved name", []string{"--name", "admin", "--scopes", "admin"}, true, "reserved for the admin key"},
		{"negative rate limit", []string{"--name", "b", "--scopes", "predict", "--rate-limit", "-1"}, true, "rate_limit_per_minute"},
		{"rate limit not a number", []string{"--name", "b", "--scopes", "predict", "--rate-limit", "lots"}, true, "invalid value"},
		{"unknown flag", []string{"--name", "b", "--scopes", "predict", "--admin"}, true, "not defined"},
		{"stray argument", []string{"--name", "b", "--scopes", "predict", "extra"}, true, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"create", "--file", file}, tc.args...)
			stdout, stderr, err := runKeysCmd(t, nil, args...)
			if err == nil {
				t.Fatalf("got nil, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) && !strings.Contains(stderr, tc.want) {
				t.Errorf("got %q (stderr %q), want %q in it", err, stderr, tc.want)
			}
			if code := exitCode(err, &bytes.Buffer{}); (code == 2) != tc.wantUsage {
				t.Errorf("exit status: got %d, want usage error %v", code, tc.wantUsage)
			}
			if stdout != "" {
				t.Errorf("stdout: got %q, want nothing (no key is shown unless it was saved)", stdout)
			}
			if got := mustReadKeysFile(t, file); !bytes.Equal(got, before) {
				t.Errorf("the file changed:\n%s", got)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("got %d files in the directory, want only keys.yaml", len(entries))
	}
}

func TestKeysList(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.yaml")
	checkout := mustCreateKey(t, "--name", "checkout", "--scopes", "batch,predict", "--file", file)
	mustCreateKey(t, "--name", "reports", "--scopes", "batch", "--rate-limit", "60", "--file", file)

	stdout, stderr, err := runKeysCmd(t, nil, "list", "--file", file)
	if err != nil {
		t.Fatalf("%v\nstderr: %s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want a header and 2 keys:\n%s", len(lines), stdout)
	}
	hash := apikey.Hash(checkout)
	for _, want := range []string{"checkout", "predict,batch", "default", hash[:8] + "…"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("line %q: want %q in it", lines[1], want)
		}
	}
	if strings.Contains(stdout, hash[:9]) {
		t.Errorf("list shows more than 8 hex digits of a hash:\n%s", stdout)
	}
	if !strings.Contains(lines[2], "reports") || !strings.Contains(lines[2], "60/min") {
		t.Errorf("line %q: want reports at 60/min", lines[2])
	}
}

func TestKeysListErrors(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantUsage bool
		want      string
	}{
		{"missing file", []string{"list", "--file", filepath.Join(t.TempDir(), "none.yaml")}, false, "no such file"},
		{"unknown flag", []string{"list", "--verbose"}, true, "not defined"},
		{"no subcommand", nil, true, "no subcommand"},
		{"unknown subcommand", []string{"delete"}, true, `unknown subcommand "delete"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runKeysCmd(t, nil, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			var ue usageError
			if errors.As(err, &ue) != tc.wantUsage {
				t.Errorf("got %T, want usage error %v", err, tc.wantUsage)
			}
		})
	}
	if _, _, err := runKeysCmd(t, nil, "create", "--help"); !errors.Is(err, errHelp) {
		t.Errorf("--help: got %v, want errHelp", err)
	}
}

func mustReadKeysFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
