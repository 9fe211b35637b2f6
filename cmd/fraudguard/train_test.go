package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
)

// trainCSVHeader is the header of a labelled creditcard.csv.
func trainCSVHeader() string { return strings.Join(fraud.FeatureNames(), ",") + ",Class\n" }

// mustWriteTrainCSV writes a small labelled data set to dir/name and returns its path: rows in
// time order, one in eight a fraud that stands out on V4 and V14 as real frauds do.
func mustWriteTrainCSV(t testing.TB, dir, name string, rows int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	var b strings.Builder
	b.WriteString(trainCSVHeader())
	for i := range rows {
		fraudRow := i%8 == 3
		fmt.Fprintf(&b, "%d", i*10)
		for j := 1; j <= 28; j++ {
			v := rng.NormFloat64()
			if fraudRow && j == 14 {
				v -= 3
			}
			if fraudRow && j == 4 {
				v += 2
			}
			fmt.Fprintf(&b, ",%.6f", v)
		}
		fmt.Fprintf(&b, ",%.2f", 100*rng.ExpFloat64())
		if fraudRow {
			b.WriteString(",1\n")
		} else {
			b.WriteString(",0\n")
		}
	}
	return mustWriteFile(t, dir, name, b.String())
}

// mustWriteFile writes content to dir/name and returns its path.
func mustWriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runTrainCmd runs "fraudguard train args..." and returns its error and output.
func runTrainCmd(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"train"}, args...), func(string) string { return "" },
		strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestTrainWritesALoadableBundle(t *testing.T) {
	dir := t.TempDir()
	data := mustWriteTrainCSV(t, dir, "small.csv", 400)
	out := filepath.Join(dir, "models")
	args := []string{"--data", data, "--out", out, "--created-at", "2024-01-02T03:04:05+01:00", "--name", "small", "--weight-normal", "2"}
	stdout, stderr, err := runTrainCmd(t, args...)
	if err != nil {
		t.Fatalf("got error %v (stderr %q), want none", err, stderr)
	}
	m, err := model.LoadLatest(out, "")
	if err != nil {
		t.Fatalf("LoadLatest: %v", err)
	}
	if !regexp.MustCompile(`^20240102-020405-[0-9a-f]{8}$`).MatchString(m.Version()) {
		t.Errorf("got version %q, want 20240102-020405-<8 hex> (created-at in UTC)", m.Version())
	}
	man := m.Manifest
	if man.Name != "small" || man.Kind != model.KindEnsemble || man.Training.Data != "small.csv" || man.Training.Rows != 400 {
		t.Errorf("got name %q kind %q data %q rows %d, want small ensemble small.csv 400", man.Name, man.Kind, man.Training.Data, man.Training.Rows)
	}
	if got := man.Training.Params["weight_normal"]; got != 2.0 {
		t.Errorf("got weight_normal %v, want 2", got)
	}
	if man.Metrics.Validation.ROCAUC < 0.9 {
		t.Errorf("got validation ROC-AUC %v, want > 0.9 on well-separated data", man.Metrics.Validation.ROCAUC)
	}
	for _, want := range []string{"trained ensemble", "blend and calibration: margin =", "refit on every row: 400 rows", "validation: ROC-AUC", "threshold", "recall at 1% FPR", "bundle: " + m.Dir} {
		if !strings.Contains(stdout, want) {
			t.Errorf("got output %q, want it to contain %q", stdout, want)
		}
	}

	// The same run again gives the same version, which is never overwritten.
	_, _, err = runTrainCmd(t, args...)
	if err == nil || !strings.Contains(err.Error(), "version "+m.Version()+" already exists") {
		t.Errorf("got error %v on a second identical run, want one saying the version exists", err)
	}
	if code := exitCode(err, io.Discard); code != 1 {
		t.Errorf("got exit code %d, want 1", code)
	}
	// A named version is another bundle; LoadLatest can still pick either.
	if _, stderr, err := runTrainCmd(t, append(args, "--version", "v2")...); err != nil {
		t.Fatalf("got error %v (stderr %q) with --version, want none", err, stderr)
	}
	if m2, err := model.LoadLatest(out, "v2"); err != nil || m2.Manifest.Threshold != man.Threshold {
		t.Errorf("got %v loading v2, want the same model under another version", err)
	}
}

func TestTrainRejects(t *testing.T) {
	dir := t.TempDir()
	good := mustWriteTrainCSV(t, dir, "good.csv", 200)
	goodText, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(goodText), "\n")
	// Line 5 with its V2 cell replaced by "abc", the field count kept.
	fields := strings.Split(lines[4], ",")
	fields[2] = "abc"
	badCell := strings.Join(lines[:4], "") + strings.Join(fields, ",")
	// 20 rows, every one relabelled normal.
	var oneClass strings.Builder
	oneClass.WriteString(trainCSVHeader())
	for _, l := range lines[1:21] {
		oneClass.WriteString(l[:len(l)-len("1\n")] + "0\n")
	}

	tests := []struct {
		name     string
		file     string // content of the data file; "" means no file is written
		args     []string
		wantCode int
		wantErr  string
	}{
		{"wrong header", strings.Replace(string(goodText), "V7,", "V7x,", 1), nil, 1,
			"data.csv:1: column V7x: unknown column"},
		{"non-numeric cell", badCell, nil, 1,
			`data.csv:5: column V2: "abc" is not a number`},
		{"one class only", oneClass.String(), nil, 1,
			"data.csv: column Class: only one class (0) present in 20 rows"},
		{"no rows", trainCSVHeader(), nil, 1,
			"data.csv:2: no rows"},
		{"empty file", "", []string{"--data", "EMPTY"}, 1,
			"empty.csv:1: empty file: no header row"},
		{"missing file", "", []string{"--data", "MISSING"}, 1,
			"no such file or directory"},
		{"no data flag", "", []string{"--data", ""}, 2, "--data is required"},
		{"unknown algo", string(goodText), []string{"--algo", "xgboost"}, 2, `--algo "xgboost" is not one of ensemble, gbdt, logreg`},
		{"unknown threshold metric", string(goodText), []string{"--threshold-metric", "f3"}, 2, `--threshold-metric "f3" is not one of f1, f2, cost`},
		{"zero cost", string(goodText), []string{"--threshold-metric", "cost", "--cost-fn", "0"}, 2, "--cost-fn 0 must be a positive number"},
		{"negative false-alarm cost", string(goodText), []string{"--cost-fp", "-1"}, 2, "--cost-fp -1 must be a positive number"},
		{"two row weightings", string(goodText), []string{"--weight-column", "w", "--weight-normal", "3"}, 2, "--weight-column and --weight-normal both weight the rows"},
		{"missing weight column", string(goodText), []string{"--weight-column", "w"}, 1, "data.csv:1: column w: missing"},
		{"bad subsample", string(goodText), []string{"--subsample", "0"}, 2, "gbdt: subsample 0 must be in (0, 1]"},
		{"bad growth", string(goodText), []string{"--growth", "sideways"}, 2, `gbdt: growth "sideways" is not one of depthwise, leafwise`},
		{"leaf-wise without leaves", string(goodText), []string{"--algo", "gbdt", "--growth", "leafwise"}, 2, "gbdt: leaf-wise growth needs max leaves >= 2"},
		{"bad max bins", string(goodText), []string{"--max-bins", "1000"}, 2, "gbdt: max bins 1000 must be between 3 and 256"},
		{"bad stop metric", string(goodText), []string{"--stop-metric", "auc"}, 2, `gbdt: stop metric "auc" is not one of logloss, auprc`},
		{"bad rounds", string(goodText), []string{"--rounds", "0"}, 2, "gbdt: rounds 0 must be >= 1"},
		{"too many bags", string(goodText), []string{"--bags", "33"}, 2, "gbdt: bags 33 must be between 1 and 32"},
		{"no bags", string(goodText), []string{"--bags", "0"}, 2, "--bags 0 must be between 1 and 32"},
		{"bad validation fraction", string(goodText), []string{"--validation-fraction", "1"}, 2, "--validation-fraction 1 must be between 0 and 1"},
		{"bad created-at", string(goodText), []string{"--created-at", "yesterday"}, 2, `--created-at "yesterday" is not an RFC 3339 time`},
		{"bad weight", string(goodText), []string{"--weight-normal", "0"}, 2, "--weight-normal 0 must be a positive number"},
		{"negative l2", string(goodText), []string{"--l2", "-1"}, 2, "--l2 -1 must be a number >= 0"},
		{"negative recency half-life", string(goodText), []string{"--recency-half-life", "-5"}, 2, "--recency-half-life -5 must be a number >= 0"},
		{"infinite recency half-life", string(goodText), []string{"--recency-half-life", "+Inf"}, 2, "--recency-half-life +Inf must be a number >= 0"},
		{"bad version", string(goodText), []string{"--version", "../up"}, 2, `--version: version "../up" must be`},
		{"unknown flag", string(goodText), []string{"--epochs", "3"}, 2, "flag provided but not defined: -epochs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "data.csv")
			if tc.file != "" {
				mustWriteFile(t, dir, "data.csv", tc.file)
			}
			out := filepath.Join(dir, "models")
			args := []string{"--data", data, "--out", out, "--created-at", "2024-01-02T03:04:05Z"}
			for i := 0; i < len(tc.args); i += 2 {
				v := tc.args[i+1]
				switch v {
				case "EMPTY":
					v = mustWriteFile(t, dir, "empty.csv", "")
				case "MISSING":
					v = filepath.Join(dir, "missing.csv")
				}
				args = append(args, tc.args[i], v)
			}
			stdout, _, err := runTrainCmd(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
			if code := exitCode(err, io.Discard); code != tc.wantCode {
				t.Errorf("got exit code %d, want %d", code, tc.wantCode)
			}
			if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
				entries, _ := os.ReadDir(out)
				t.Errorf("got --out present with %d entries, want nothing written", len(entries))
			}
			if strings.Contains(stdout, "bundle:") {
				t.Errorf("got output %q, want no bundle reported", stdout)
			}
		})
	}
}

func TestTrainLeavesExistingOutAlone(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "models")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	data := mustWriteFile(t, dir, "bad.csv", trainCSVHeader()+"1,2\n")
	_, _, err := runTrainCmd(t, "--data", data, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "bad.csv:2: row has 2 fields, header has 31") {
		t.Errorf("got error %v, want one naming bad.csv line 2", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("got %d entries in --out, want it still empty", len(entries))
	}
}

func TestTrainRefit(t *testing.T) {
	dir := t.TempDir()
	data := mustWriteTrainCSV(t, dir, "small.csv", 400)
	load := func(t *testing.T, out string, extra ...string) *model.Model {
		t.Helper()
		args := append([]string{"--data", data, "--out", out, "--created-at", "2024-01-02T03:04:05Z"}, extra...)
		if _, stderr, err := runTrainCmd(t, args...); err != nil {
			t.Fatalf("got error %v (stderr %q), want none", err, stderr)
		}
		m, err := model.LoadLatest(out, "")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	refit := load(t, filepath.Join(dir, "refit"))
	kept := load(t, filepath.Join(dir, "kept"), "--no-refit")

	r := refit.Manifest.Training.Refit
	if r == nil || r.Rows != 400 || r.Trees < 1 || !strings.Contains(refit.Manifest.Metrics.ValidationModel, "before the refit") {
		t.Fatalf("got refit record %+v and validation model %q, want a refit on all 400 rows and validation marked as before it",
			r, refit.Manifest.Metrics.ValidationModel)
	}
	if kept.Manifest.Training.Refit != nil || kept.Manifest.Training.Params["refit"] != false {
		t.Errorf("got refit record %+v with --no-refit, want none", kept.Manifest.Training.Refit)
	}
	// The choices are the same; only the members differ.
	if refit.Manifest.Threshold != kept.Manifest.Threshold || refit.Manifest.Metrics.Validation != kept.Manifest.Metrics.Validation {
		t.Errorf("got threshold %v and validation %+v with the refit, want %v and %+v as without",
			refit.Manifest.Threshold, refit.Manifest.Metrics.Validation, kept.Manifest.Threshold, kept.Manifest.Metrics.Validation)
	}
	if refit.Manifest.Canaries[0] == kept.Manifest.Canaries[0] {
		t.Errorf("got the same first canary %+v, want the refit's moments of all rows", refit.Manifest.Canaries[0])
	}
}

func TestTrainAlgos(t *testing.T) {
	dir := t.TempDir()
	data := mustWriteTrainCSV(t, dir, "small.csv", 400)
	tests := []struct {
		algo        string
		wantKind    string
		wantMembers []string
	}{
		{"ensemble", model.KindEnsemble, []string{model.KindTrees, model.KindLogreg}},
		{"gbdt", model.KindTrees, []string{model.KindTrees}},
		{"logreg", model.KindLogreg, []string{model.KindLogreg}},
	}
	for _, tc := range tests {
		t.Run(tc.algo, func(t *testing.T) {
			out := filepath.Join(dir, tc.algo)
			stdout, stderr, err := runTrainCmd(t, "--data", data, "--out", out, "--algo", tc.algo, "--created-at", "2024-01-02T03:04:05Z",
				"--threshold-metric", "cost", "--cost-fn", "50", "--rounds", "40")
			if err != nil {
				t.Fatalf("got error %v (stderr %q), want none", err, stderr)
			}
			m, err := model.LoadLatest(out, "")
			if err != nil {
				t.Fatal(err)
			}
			man := m.Manifest
			var kinds []string
			for _, mem := range man.Members {
				kinds = append(kinds, mem.Kind)
			}
			if man.Kind != tc.wantKind || man.Training.Algorithm != tc.algo || strings.Join(kinds, ",") != strings.Join(tc.wantMembers, ",") {
				t.Errorf("got kind %q algorithm %q members %v, want %q %q %v", man.Kind, man.Training.Algorithm, kinds, tc.wantKind, tc.algo, tc.wantMembers)
			}
			if got := man.Training.Params["threshold_metric"]; got != "cost" {
				t.Errorf("got threshold metric %v, want cost", got)
			}
			if got := man.Training.Params["cost_fn"]; got != 50.0 {
				t.Errorf("got cost_fn %v, want 50", got)
			}
			if man.Metrics.Validation.ROCAUC < 0.85 {
				t.Errorf("got validation ROC-AUC %v, want > 0.85 on well-separated data", man.Metrics.Validation.ROCAUC)
			}
			if !strings.Contains(stdout, "trained "+tc.algo) || !strings.Contains(stdout, "(cost on tuning rows") {
				t.Errorf("got output %q, want it to name the algorithm and the threshold rule", stdout)
			}
		})
	}
}

func TestTrainWeightColumn(t *testing.T) {
	dir := t.TempDir()
	plain, err := os.ReadFile(mustWriteTrainCSV(t, dir, "plain.csv", 400))
	if err != nil {
		t.Fatal(err)
	}
	// The same rows with a weight column giving normal rows weight 3: the model is the one
	// --weight-normal 3 trains.
	var b strings.Builder
	for i, line := range strings.SplitAfter(string(plain), "\n") {
		switch {
		case line == "":
		case i == 0:
			b.WriteString(strings.TrimSuffix(line, "\n") + ",w\n")
		case strings.HasSuffix(line, ",1\n"):
			b.WriteString(strings.TrimSuffix(line, "\n") + ",1\n")
		default:
			b.WriteString(strings.TrimSuffix(line, "\n") + ",3\n")
		}
	}
	weighted := mustWriteFile(t, dir, "weighted.csv", b.String())
	common := []string{"--created-at", "2024-01-02T03:04:05Z", "--algo", "gbdt", "--rounds", "30"}
	byColumn := filepath.Join(dir, "by-column")
	stdout, stderr, err := runTrainCmd(t, append(common, "--data", weighted, "--out", byColumn, "--weight-column", "w")...)
	if err != nil {
		t.Fatalf("got error %v (stderr %q), want none", err, stderr)
	}
	if !strings.Contains(stdout, "rows weighted by column w") {
		t.Errorf("got output %q, want it to say the rows are weighted by column w", stdout)
	}
	byFlag := filepath.Join(dir, "by-flag")
	if _, stderr, err := runTrainCmd(t, append(common, "--data", filepath.Join(dir, "plain.csv"), "--out", byFlag, "--weight-normal", "3")...); err != nil {
		t.Fatalf("got error %v (stderr %q), want none", err, stderr)
	}
	a, err := model.LoadLatest(byColumn, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := model.LoadLatest(byFlag, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Manifest.Training.Params["weight_column"] != "w" {
		t.Errorf("got weight_column %v, want w", a.Manifest.Training.Params["weight_column"])
	}
	if a.Manifest.Threshold != c.Manifest.Threshold || a.Manifest.Metrics != c.Manifest.Metrics {
		t.Errorf("got threshold %v and metrics %+v with the column, want %v and %+v as with --weight-normal 3",
			a.Manifest.Threshold, a.Manifest.Metrics, c.Manifest.Threshold, c.Manifest.Metrics)
	}
	x := a.Manifest.Canaries[0].Features
	if pa, pc := a.Probability(&x), c.Probability(&x); pa != pc {
		t.Errorf("got probability %v with the column, want %v as with --weight-normal 3", pa, pc)
	}
}
