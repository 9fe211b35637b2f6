package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

// runReportCmd runs "fraudguard report args..." with env as the environment.
func runReportCmd(t testing.TB, env map[string]string, args ...string) (stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"report"}, args...), func(k string) string { return env[k] },
		strings.NewReader(""), &out, &errOut)
	if out.Len() > 0 {
		t.Errorf("report wrote %q to standard output, want nothing there", out.String())
	}
	return errOut.String(), err
}

// mustReadReport reads a written report and checks that it is a whole page with every plot.
func mustReadReport(t testing.TB, path string) string {
	t.Helper()
	page := string(mustReadFile(t, path))
	for _, want := range []string{"<!DOCTYPE html>", `data-plot="roc"`, `data-plot="pr"`, `data-plot="distribution"`,
		`data-plot="calibration"`, `data-plot="importance"`, "Threshold table", "</html>"} {
		if !strings.Contains(page, want) {
			t.Errorf("%s lacks %q", path, want)
		}
	}
	return page
}

func TestReport(t *testing.T) {
	root, m := mustScoreModels(t)
	dir := t.TempDir()
	data := mustWriteTrainCSV(t, dir, "labelled.csv", 400)
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"newest bundle of a directory", nil, []string{"--model", root}},
		{"MODEL_PATH", map[string]string{"MODEL_PATH": root}, nil},
		{"one bundle's directory", nil, []string{"--model", m.Dir}},
		{"a version", nil, []string{"--model", root, "--model-version", m.Version()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report.html")
			stderr, err := runReportCmd(t, tc.env, append(tc.args, "--data", data, "--out", out, "--weight-normal", "3")...)
			if err != nil {
				t.Fatalf("got error %v (stderr %q), want none", err, stderr)
			}
			page := mustReadReport(t, out)
			// 50 frauds and 350 normal rows weighing 3 each: fraud is 50/1100 of the transactions.
			for _, want := range []string{"score-test " + m.Version(), "400 rows, 50 frauds", "Each normal row weighs 3", "Fraud is 4.55%"} {
				if !strings.Contains(page, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
			if !strings.Contains(stderr, "fraudguard report: model "+m.Version()+" on 400 rows (50 frauds) of labelled.csv: ROC-AUC ") {
				t.Errorf("got stderr %q, want the summary line", stderr)
			}
		})
	}
}

func TestReportRejects(t *testing.T) {
	root, m := mustScoreModels(t)
	dir := t.TempDir()
	good := mustWriteTrainCSV(t, dir, "labelled.csv", 400)
	header := trainCSVHeader()
	row := strings.Repeat("0,", 30)
	noV3 := strings.Replace(header, "V3,", "", 1)
	corrupt := filepath.Join(t.TempDir(), "corrupt")
	if err := os.MkdirAll(filepath.Join(corrupt, "v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWriteFile(t, filepath.Join(corrupt, "v1"), model.ManifestFile, `{"format_version": 1, "name": `)
	tests := []struct {
		name     string
		args     []string
		data     string // the --data file's content, or "" for the good file
		wantErr  string
		wantCode int
	}{
		{"no --data", []string{"--model", root, "--out", "OUT"}, "-", "--data is required", 2},
		{"no --out", []string{"--model", root, "--data", "DATA"}, "", "--out is required", 2},
		{"--out a directory", []string{"--model", root, "--data", "DATA", "--out", "DIR"}, "", "is a directory", 2},
		{"--out the data", []string{"--model", root, "--data", "DATA", "--out", "DATA"}, header + row + "0\n", "is the --data file", 2},
		{"bad --weight-normal", []string{"--model", root, "--data", "DATA", "--out", "OUT", "--weight-normal", "0"}, "", "--weight-normal 0 must be a positive number", 2},
		{"two weightings", []string{"--model", root, "--data", "DATA", "--out", "OUT", "--weight-normal", "2", "--weight-column", "w"}, "", "give one of them", 2},
		{"version of a bundle", []string{"--model", m.Dir, "--model-version", m.Version(), "--data", "DATA", "--out", "OUT"}, "", "is one bundle", 2},
		{"unknown version", []string{"--model", root, "--model-version", "nope", "--data", "DATA", "--out", "OUT"}, "", `version "nope" not found`, 1},
		{"no model there", []string{"--model", filepath.Join(dir, "nowhere"), "--data", "DATA", "--out", "OUT"}, "", "no such file or directory", 1},
		{"unreadable model", []string{"--model", corrupt, "--data", "DATA", "--out", "OUT"}, "", "manifest.json", 1},
		{"unreadable bundle", []string{"--model", filepath.Join(corrupt, "v1"), "--data", "DATA", "--out", "OUT"}, "", "load model", 1},
		{"missing data file", []string{"--model", root, "--data", filepath.Join(dir, "missing.csv"), "--out", "OUT"}, "-", "missing.csv", 1},
		{"missing column", []string{"--model", root, "--data", "DATA", "--out", "OUT"}, noV3 + row[:len(row)-4] + "0\n", "V3", 1},
		{"unknown column", []string{"--model", root, "--data", "DATA", "--out", "OUT"}, strings.TrimSuffix(header, "\n") + ",Merchant\n" + row + "0,x\n", "Merchant", 1},
		{"no labels", []string{"--model", root, "--data", "DATA", "--out", "OUT"}, strings.Replace(header, ",Class", "", 1) + strings.TrimSuffix(row, ",") + "\n", "Class", 1},
		{"one class", []string{"--model", root, "--data", "DATA", "--out", "OUT"}, header + row + "0\n" + row + "0\n", "only one class (0) present in 2 rows", 1},
		{"no rows", []string{"--model", root, "--data", "DATA", "--out", "OUT"}, header, "no rows", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			out := filepath.Join(work, "report.html")
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				switch a {
				case "OUT":
					a = out
				case "DIR":
					a = work
				case "DATA":
					a = good
					if tc.data != "" {
						a = mustWriteFile(t, work, "data.csv", tc.data)
					}
				}
				args[i] = a
			}
			_, err := runReportCmd(t, nil, args...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
			if code := exitCode(err, io.Discard); code != tc.wantCode {
				t.Errorf("got exit code %d, want %d", code, tc.wantCode)
			}
			entries, _ := os.ReadDir(work)
			for _, e := range entries {
				if e.Name() != "data.csv" {
					t.Errorf("got %s written, want nothing", e.Name())
				}
			}
		})
	}
}

// A failure after reading leaves an existing --out as it was.
func TestReportKeepsTheOldFileOnFailure(t *testing.T) {
	root, _ := mustScoreModels(t)
	dir := t.TempDir()
	out := mustWriteFile(t, dir, "report.html", "old")
	bad := mustWriteFile(t, dir, "one-class.csv", trainCSVHeader()+strings.Repeat("0,", 30)+"1\n")
	if _, err := runReportCmd(t, nil, "--model", root, "--data", bad, "--out", out); err == nil {
		t.Fatal("got no error on a file with one class")
	}
	if got := string(mustReadFile(t, out)); got != "old" {
		t.Errorf("got --out %q, want it untouched", got)
	}
}

// train writes the report beside the bundle, not inside it, and the report's figures are the
// validation figures of the manifest.
func TestTrainWritesTheReportBesideTheBundle(t *testing.T) {
	dir := t.TempDir()
	data := mustWriteTrainCSV(t, dir, "small.csv", 400)
	out := filepath.Join(dir, "models")
	stdout, stderr, err := runTrainCmd(t, "--data", data, "--out", out, "--created-at", "2024-01-02T03:04:05Z", "--weight-normal", "2")
	if err != nil {
		t.Fatalf("got error %v (stderr %q), want none", err, stderr)
	}
	m, err := model.LoadLatest(out, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, m.Version()+".report.html")
	if !strings.Contains(stdout, "report: "+path+"\n") {
		t.Errorf("got output %q, want it to name the report %s", stdout, path)
	}
	entries, err := os.ReadDir(m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".html") {
			t.Errorf("got %s inside the bundle, want the report outside it", e.Name())
		}
	}
	page := mustReadReport(t, path)
	v := m.Manifest.Metrics.Validation
	for _, want := range []string{
		"ROC-AUC</td><td>" + fmtFour(v.ROCAUC), "average precision (AUPRC)</td><td>" + fmtFour(v.AUPRC),
		"precision at the threshold</td><td>" + fmtFour(v.Precision), "recall at the threshold</td><td>" + fmtFour(v.Recall),
		"scored by the members as fitted before the refit", "Each normal row weighs 2",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q (validation figures %+v)", want, v)
		}
	}
}

// fmtFour writes a figure as the report's summary does.
func fmtFour(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

// An imported bundle carries no figures of its own; its report is computed from --data alone,
// importance included (XGBoost records node covers).
func TestReportOnAnImportedBundle(t *testing.T) {
	out := filepath.Join(t.TempDir(), "models")
	if _, stderr, err := runImportCmd(t, "--xgboost", sharedtest.Testdata(t, "xgboost", "gbtree-depth4.json"), "--out", out); err != nil {
		t.Fatalf("import: %v (stderr %q)", err, stderr)
	}
	m, err := model.LoadLatest(out, "")
	if err != nil {
		t.Fatal(err)
	}
	if v := m.Manifest.Metrics.Validation; v.Rows != 0 {
		t.Fatalf("got imported validation figures %+v, want none", v)
	}
	data := sharedtest.Data(t, "creditcard-head5000.csv")
	page := filepath.Join(t.TempDir(), "imported.html")
	stderr, err := runReportCmd(t, nil, "--model", m.Dir, "--data", data, "--out", page)
	if err != nil {
		t.Fatalf("got error %v (stderr %q), want none", err, stderr)
	}
	html := mustReadReport(t, page)
	for _, want := range []string{"gbtree-depth4 " + m.Version(), "Model kind trees", "5,000 rows, 3 frauds", "Every row weighs 1."} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(html, "Feature importance is unavailable") {
		t.Errorf("the page says importance is unavailable for a model with covers")
	}
}
