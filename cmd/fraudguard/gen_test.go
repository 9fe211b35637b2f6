package main

import (
	"github.com/fraudguard/fraudguard/internal/sharedtest"

	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const genWantHeader = "Time,V1,V2,V3,V4,V5,V6,V7,V8,V9,V10,V11,V12,V13,V14,V15,V16,V17,V18,V19,V20," +
	"V21,V22,V23,V24,V25,V26,V27,V28,Amount,Class"

func noEnv(string) string { return "" }

// runGenCmd runs "fraudguard gen args..." and returns its stdout, stderr and error.
func runGenCmd(ctx context.Context, t testing.TB, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(ctx, append([]string{"gen"}, args...), noEnv, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func mustRunGen(t testing.TB, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := runGenCmd(context.Background(), t, args...)
	if err != nil {
		t.Fatalf("gen %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return stdout, stderr
}

func mustReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}

// dirEntries lists the names in dir, so tests can tell that no stray or temporary file is left.
func dirEntries(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read dir: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestGenWritesFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "synthetic.csv")
	stdout, stderr := mustRunGen(t, "--rows", "500", "--seed", "3", "--fraud-rate", "0.1", "--out", out)
	if stdout != "" {
		t.Errorf("stdout: got %q, want nothing when writing a file", stdout)
	}
	if !strings.Contains(stderr, "wrote 500 rows") {
		t.Errorf("stderr: got %q, want a summary mentioning %q", stderr, "wrote 500 rows")
	}
	data := mustReadFile(t, out)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if lines[0] != genWantHeader {
		t.Fatalf("header: got %q, want %q", lines[0], genWantHeader)
	}
	if got := len(lines) - 1; got != 500 {
		t.Errorf("data lines: got %d, want 500", got)
	}
	frauds := 0
	for _, l := range lines[1:] {
		if strings.HasSuffix(l, ",1") {
			frauds++
		}
	}
	if frauds < 20 || frauds > 90 {
		t.Errorf("fraud rows at --fraud-rate 0.1: got %d of 500, want about 50", frauds)
	}
	if got := dirEntries(t, dir); len(got) != 1 {
		t.Errorf("files in the output directory: got %v, want only synthetic.csv", got)
	}
	if info, err := os.Stat(out); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("output mode: got %v (%v), want -rw-r--r--", info.Mode(), err)
	}

	tests := []struct {
		name     string
		args     []string
		wantSame bool
	}{
		{"same flags", []string{"--rows", "500", "--seed", "3", "--fraud-rate", "0.1"}, true},
		{"other seed", []string{"--rows", "500", "--seed", "4", "--fraud-rate", "0.1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			other := filepath.Join(t.TempDir(), "again.csv")
			mustRunGen(t, append(tc.args, "--out", other)...)
			if same := bytes.Equal(mustReadFile(t, other), data); same != tc.wantSame {
				t.Errorf("output identical to the first run's: got %v, want %v", same, tc.wantSame)
			}
		})
	}
}

func TestGenStdout(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x.csv")
	mustRunGen(t, "--rows", "300", "--out", file)
	for _, out := range []string{"-", ""} {
		t.Run("out="+out, func(t *testing.T) {
			stdout, _ := mustRunGen(t, "--rows", "300", "--out", out)
			if want := string(mustReadFile(t, file)); stdout != want {
				t.Errorf("stdout: got %d bytes, want the %d bytes written to a file with the same flags", len(stdout), len(want))
			}
		})
	}
	t.Run("defaults", func(t *testing.T) {
		stdout, _ := mustRunGen(t)
		if got := strings.Count(stdout, "\n"); got != 10001 {
			t.Errorf("lines: got %d, want 10001 (header and the default 10000 rows)", got)
		}
	})
}

func TestGenRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error
	}{
		{"zero rows", []string{"--rows", "0"}, []string{"--rows", "0", "1 to 100000000"}},
		{"negative rows", []string{"--rows", "-5"}, []string{"--rows", "-5", "1 to 100000000"}},
		{"too many rows", []string{"--rows", "100000001"}, []string{"--rows", "100000001", "1 to 100000000"}},
		{"rows not a number", []string{"--rows", "ten"}, []string{"rows", "ten"}},
		{"negative fraud rate", []string{"--fraud-rate", "-0.1"}, []string{"--fraud-rate", "-0.1", "0 to 1"}},
		{"fraud rate above one", []string{"--fraud-rate", "1.5"}, []string{"--fraud-rate", "1.5", "0 to 1"}},
		{"fraud rate NaN", []string{"--fraud-rate", "NaN"}, []string{"--fraud-rate", "NaN", "0 to 1"}},
		{"unknown flag", []string{"--colour", "red"}, []string{"colour"}},
		{"stray argument", []string{"extra"}, []string{"extra"}},
		{"params-out without fit", []string{"--params-out", "p.json"}, []string{"--params-out", "--fit"}},
		{"fit with rows", []string{"--fit", "x.csv", "--rows", "5"}, []string{"--rows", "--fit"}},
		{"out is a directory", []string{"--out", "."}, []string{"--out", "directory"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := tc.args
			if !strings.Contains(strings.Join(args, " "), "--out") {
				args = append(args, "--out", filepath.Join(dir, "out.csv"))
			}
			_, _, err := runGenCmd(context.Background(), t, args...)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("error: got %v (%T), want a usageError", err, err)
			}
			if code := exitCode(err, io.Discard); code != 2 {
				t.Errorf("exit code: got %d, want 2", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error: got %q, want it to mention %q", err, w)
				}
			}
			if got := dirEntries(t, dir); len(got) != 0 {
				t.Errorf("files left behind: got %v, want none", got)
			}
		})
	}
}

func TestGenCancelledLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := runGenCmd(ctx, t, "--rows", "100000", "--out", filepath.Join(dir, "out.csv"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error: got %v, want context.Canceled", err)
	}
	if code := exitCode(err, io.Discard); code != 1 {
		t.Errorf("exit code: got %d, want 1", code)
	}
	if got := dirEntries(t, dir); len(got) != 0 {
		t.Errorf("files left behind: got %v, want none", got)
	}
}

func TestGenKeepsOldFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.csv")
	if err := os.WriteFile(out, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := runGenCmd(ctx, t, "--out", out); err == nil {
		t.Fatalf("error: got nil, want the cancellation")
	}
	if got := string(mustReadFile(t, out)); got != "old\n" {
		t.Errorf("existing file: got %q, want it untouched", got)
	}
}

func TestGenFit(t *testing.T) {
	real := sharedtest.Data(t, "creditcard-sample-train.csv")
	dir := t.TempDir()
	params := filepath.Join(dir, "params.json")
	_, stderr := mustRunGen(t, "--fit", real, "--params-out", params)
	if !strings.Contains(stderr, "fitted 3003 normal and 360 fraud rows") {
		t.Errorf("stderr: got %q, want a summary of the rows fitted", stderr)
	}
	if got := dirEntries(t, dir); len(got) != 1 {
		t.Errorf("files in the output directory: got %v, want only params.json", got)
	}
	// Generating with the refitted parameters gives the same rows as the built-in ones, up to
	// the last digits that platforms may round differently.
	fromFile, _ := mustRunGen(t, "--rows", "50", "--params", params)
	builtIn, _ := mustRunGen(t, "--rows", "50")
	if fromFile[:len(genWantHeader)] != genWantHeader || strings.Count(fromFile, "\n") != 51 {
		t.Fatalf("output with --params: got %d lines, want the header and 50 rows", strings.Count(fromFile, "\n"))
	}
	if fromFile != builtIn {
		t.Logf("output with refitted params differs from the built-in params' in some digits")
	}
}

func TestGenFitErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badParams := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badParams, []byte(`{"dims": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"--fit", filepath.Join(dir, "absent.csv"), "--params-out", filepath.Join(dir, "p.json")}, "absent.csv"},
		{"not creditcard.csv", []string{"--fit", bad, "--params-out", filepath.Join(dir, "p.json")}, "bad.csv:1: column a: unknown column"},
		{"bad params file", []string{"--params", badParams, "--out", filepath.Join(dir, "o.csv")}, "dims"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runGenCmd(context.Background(), t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error: got %v, want one mentioning %q", err, tc.want)
			}
			if code := exitCode(err, io.Discard); code != 1 {
				t.Errorf("exit code: got %d, want 1", code)
			}
			for _, name := range dirEntries(t, dir) {
				if name != "bad.csv" && name != "bad.json" {
					t.Errorf("file left behind: %s", name)
				}
			}
		})
	}
}

func TestGenHelp(t *testing.T) {
	_, stderr, err := runGenCmd(context.Background(), t, "--help")
	if code := exitCode(err, io.Discard); code != 0 {
		t.Errorf("exit code: got %d (%v), want 0", code, err)
	}
	for _, want := range []string{"usage: fraudguard gen", "-rows", "-seed", "-fraud-rate", "-out", "-fit", "-params-out", "byte-identical"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("help: got %q, want it to mention %q", stderr, want)
		}
	}
}
