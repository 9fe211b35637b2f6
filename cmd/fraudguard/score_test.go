package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/scoring"
)

// runScoreCmd runs "fraudguard score args..." with env as the environment.
func runScoreCmd(ctx context.Context, t testing.TB, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err = run(ctx, append([]string{"score"}, args...), getenv, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// mustScore runs score and fails the test unless it succeeds.
func mustScore(t testing.TB, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := runScoreCmd(context.Background(), t, nil, args...)
	if err != nil {
		t.Fatalf("score %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return stdout, stderr
}

// mustScoreModels saves a small logistic-regression bundle into a directory of its own, so
// that the tests do not depend on the shipped model, and returns the directory and the model.
func mustScoreModels(t testing.TB) (string, *model.Model) {
	t.Helper()
	var mean, coef [fraud.NumFeatures]float64
	var scale [fraud.NumFeatures]float64
	for i := range scale {
		scale[i] = 1
	}
	coef[14], coef[4], coef[12], coef[29] = -1.3, 0.7, -0.6, 0.002
	lr, err := model.NewLogreg(mean, scale, coef, -5)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(lr)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "models")
	dir, err := model.Save(root, model.Bundle{
		Manifest: model.Manifest{
			Name: "score-test", Kind: model.KindLogreg, Threshold: 0.3, CreatedAt: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
			Members:  []model.MemberSpec{{Kind: model.KindLogreg, File: "logreg.json", Weight: 1}},
			Canaries: []model.Canary{{}},
		},
		Files: map[string][]byte{"logreg.json": data},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return root, m
}

func mustWriteScoreInput(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustGenInput writes rows synthetic transactions with gen, through run.
func mustGenInput(t testing.TB, dir string, rows int) string {
	t.Helper()
	p := filepath.Join(dir, "in.csv")
	mustRunGen(t, "--rows", strconv.Itoa(rows), "--seed", "11", "--fraud-rate", "0.05", "--out", p)
	return p
}

// mustCheckScored checks that out is in (blank lines left out, line endings kept) with the
// model's results appended to every row: fraud_probability, is_fraud and risk_level as
// m.Score gives them for the row's features, read by the dataset reader.
func mustCheckScored(t testing.TB, m *model.Model, in, out []byte) {
	t.Helper()
	var lines []string // the input's non-blank lines, with their endings
	for _, l := range strings.SplitAfter(string(in), "\n") {
		if strings.TrimRight(l, "\r\n") != "" {
			lines = append(lines, l)
		}
	}
	rd, err := dataset.NewReader(bytes.NewReader(in), "in", dataset.Options{})
	if err != nil {
		t.Fatalf("read the input: %v", err)
	}
	var want strings.Builder
	appendLine := func(l string, extra string) {
		body := strings.TrimRight(l, "\r\n")
		want.WriteString(body + extra)
		if strings.HasSuffix(l, "\r\n") {
			want.WriteString("\r\n")
		} else {
			want.WriteString("\n")
		}
	}
	appendLine(lines[0], ",fraud_probability,is_fraud,risk_level")
	// Multi-line records are kept whole: the input lines are consumed record by record.
	next := 1
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read the input: %v", err)
		}
		sc := m.Score(&rec.Features)
		text := ""
		for {
			l := lines[next]
			next++
			text += l
			if strings.Count(text, `"`)%2 == 0 {
				break
			}
		}
		appendLine(text, fmt.Sprintf(",%s,%t,%s", strconv.FormatFloat(sc.Probability, 'g', -1, 64), sc.IsFraud, sc.Risk))
	}
	if got := string(out); got != want.String() {
		gl, wl := strings.SplitAfter(got, "\n"), strings.SplitAfter(want.String(), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("output line %d:\ngot  %q\nwant %q", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("output has %d lines, want %d", len(gl), len(wl))
	}
}

func TestScoreLocal(t *testing.T) {
	models, m := mustScoreModels(t)
	header := strings.Join(fraud.FeatureNames(), ",")
	row := func(i int) string {
		cells := make([]string, fraud.NumFeatures)
		for j := range cells {
			cells[j] = strconv.FormatFloat(float64((i*31+j*7)%23-11)/3.7, 'f', -1, 64)
		}
		cells[0] = strconv.Itoa(1000 + i)
		return strings.Join(cells, ",")
	}

	tests := []struct {
		name  string
		input func(t *testing.T, dir string) string
	}{
		{"generated file over several chunks", func(t *testing.T, dir string) string {
			return mustGenInput(t, dir, 2*scoring.ChunkRows+123)
		}},
		{"ids, CRLF, blank lines and quoted fields", func(t *testing.T, dir string) string {
			var b strings.Builder
			b.WriteString("\ufefftransaction_id," + header + ",Class\r\n")
			b.WriteString("\r\n")
			b.WriteString("plain-1," + row(1) + ",0\r\n")
			b.WriteString(`"quoted, with a comma",` + row(2) + ",1\r\n")
			b.WriteString("\n\n")
			b.WriteString(`"two` + "\n" + `lines ""and quotes""",` + row(3) + ",0\n")
			b.WriteString("last," + row(4) + ",0") // no line ending
			return mustWriteScoreInput(t, dir, "in.csv", b.String())
		}},
		{"transaction_id last, no Class", func(t *testing.T, dir string) string {
			var b strings.Builder
			b.WriteString(header + ",transaction_id\n")
			for i := range 50 {
				fmt.Fprintf(&b, "%s,tx-%d\n", row(i), i)
			}
			return mustWriteScoreInput(t, dir, "in.csv", b.String())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := tc.input(t, dir)
			out := filepath.Join(dir, "scored.csv")
			_, stderr := mustScore(t, "--file", in, "--out", out, "--model-path", models)
			mustCheckScored(t, m, mustReadFile(t, in), mustReadFile(t, out))
			if tc.name == "generated file over several chunks" {
				for _, risk := range []string{",false,low\n", ",false,medium\n", ",true,high\n", ",true,critical\n"} {
					if !bytes.Contains(mustReadFile(t, out), []byte(risk)) {
						t.Errorf("no row ends in %q: the test covers too little", risk)
					}
				}
			}
			if !strings.Contains(stderr, "wrote "+out) || !strings.Contains(stderr, "scoring: ") {
				t.Errorf("stderr: got %q, want the progress's last line and the summary", stderr)
			}
			if got := dirEntries(t, dir); len(got) != 2 {
				t.Errorf("directory holds %v, want only the input and the output", got)
			}

			// --out - writes the same bytes to stdout; --quiet silences stderr.
			stdout, stderr := mustScore(t, "--file", in, "--out", "-", "--model-path", models, "--quiet")
			if stdout != string(mustReadFile(t, out)) {
				t.Errorf("--out -: stdout differs from the file written with --out")
			}
			if stderr != "" {
				t.Errorf("--quiet: stderr got %q, want nothing", stderr)
			}
		})
	}
}

// TestScoreLocalExplain checks --explain: the header gains reason_1..reason_3, and each row's
// reasons are the three features of largest |contribution| in the model's own explanation of
// the row, largest first, as feature:contribution.
func TestScoreLocalExplain(t *testing.T) {
	models, m := mustScoreModels(t)
	dir := t.TempDir()
	in := mustGenInput(t, dir, 300)
	plain, _ := mustScore(t, "--file", in, "--out", "-", "--model-path", models, "--quiet")
	stdout, _ := mustScore(t, "--file", in, "--out", "-", "--model-path", models, "--quiet", "--explain")

	plainLines := strings.Split(strings.TrimSuffix(plain, "\n"), "\n")
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != len(plainLines) {
		t.Fatalf("got %d lines, want %d", len(lines), len(plainLines))
	}
	if want := plainLines[0] + ",reason_1,reason_2,reason_3"; lines[0] != want {
		t.Errorf("header: got %q, want %q", lines[0], want)
	}
	rd, err := dataset.NewReader(bytes.NewReader(mustReadFile(t, in)), "in", dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := fraud.FeatureNames()
	for i := 1; i < len(lines); i++ {
		rec, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		var e model.Explanation
		if err := m.Explain(&rec.Features, &e); err != nil {
			t.Fatal(err)
		}
		order := make([]int, fraud.NumFeatures)
		for j := range order {
			order[j] = j
		}
		sort.SliceStable(order, func(a, b int) bool {
			return math.Abs(e.Contributions[order[a]]) > math.Abs(e.Contributions[order[b]])
		})
		want := plainLines[i]
		for _, j := range order[:3] {
			want += "," + names[j] + ":" + strconv.FormatFloat(e.Contributions[j], 'g', -1, 64)
		}
		if lines[i] != want {
			t.Fatalf("line %d: got %q, want %q", i+1, lines[i], want)
		}
	}
}

// TestScoreLocalExplainUnexplainable checks that --explain with a model that cannot be
// explained fails, naming why, and writes nothing; without --explain the model scores.
func TestScoreLocalExplainUnexplainable(t *testing.T) {
	models := mustCoverlessModels(t)
	dir := t.TempDir()
	in := mustGenInput(t, dir, 20)
	mustScore(t, "--file", in, "--out", "-", "--model-path", models, "--quiet")

	out := filepath.Join(dir, "scored.csv")
	_, _, err := runScoreCmd(context.Background(), t, nil, "--file", in, "--out", out, "--model-path", models, "--quiet", "--explain")
	if err == nil || !strings.Contains(err.Error(), "--explain") || !strings.Contains(err.Error(), "node covers") {
		t.Fatalf("got %v, want an error naming --explain and the node covers", err)
	}
	if code := exitCode(err, io.Discard); code == 0 {
		t.Errorf("exit status: got 0, want non-zero")
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output: got %v, want no file", err)
	}
	stdout, _, err := runScoreCmd(context.Background(), t, nil, "--file", in, "--out", "-", "--model-path", models, "--quiet", "--explain")
	if err == nil || stdout != "" {
		t.Errorf("--out -: got %v and %d bytes, want an error and nothing written", err, len(stdout))
	}
}

// mustCoverlessModels saves a bundle of one tree whose nodes have no covers, which scores but
// cannot be explained, into a directory of its own and returns the directory.
func mustCoverlessModels(t testing.TB) string {
	t.Helper()
	e, err := model.NewTreeEnsemble([][]model.TreeNode{{
		{Feature: 14, Threshold: -1, Left: 1, Right: 2},
		{IsLeaf: true, Value: 1.5},
		{IsLeaf: true, Value: -0.7},
	}}, model.TreeOptions{BaseMargin: -4})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "models")
	if _, err := model.Save(root, model.Bundle{
		Manifest: model.Manifest{
			Name: "coverless", Kind: model.KindTrees, Threshold: 0.5, CreatedAt: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC),
			Members:  []model.MemberSpec{{Kind: model.KindTrees, File: "trees.json", Weight: 1}},
			Canaries: []model.Canary{{}},
		},
		Files: map[string][]byte{"trees.json": data},
	}); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestScoreLocalModelVersion(t *testing.T) {
	models, m := mustScoreModels(t)
	dir := t.TempDir()
	in := mustGenInput(t, dir, 20)
	out := filepath.Join(dir, "scored.csv")
	_, stderr := mustScore(t, "--file", in, "--out", out, "--model-path", models, "--model-version", m.Version())
	if !strings.Contains(stderr, "by model "+m.Version()) {
		t.Errorf("stderr: got %q, want the model version", stderr)
	}
	mustCheckScored(t, m, mustReadFile(t, in), mustReadFile(t, out))

	_, _, err := runScoreCmd(context.Background(), t, nil, "--file", in, "--out", out+"2", "--model-path", models, "--model-version", "nope")
	if err == nil || !strings.Contains(err.Error(), `"nope" not found`) {
		t.Errorf("unknown version: got %v, want not found", err)
	}
}

func TestScoreLocalRejectsBadInput(t *testing.T) {
	models, _ := mustScoreModels(t)
	dir := t.TempDir()
	good := mustReadFile(t, mustGenInput(t, dir, scoring.ChunkRows+500))
	lines := strings.SplitAfter(string(good), "\n")
	// withLine returns the generated file with line n (1-based) replaced.
	withLine := func(n int, f func(string) string) string {
		c := append([]string(nil), lines...)
		c[n-1] = f(c[n-1])
		return strings.Join(c, "")
	}
	setCell := func(col int, v string) func(string) string {
		return func(l string) string {
			cells := strings.Split(strings.TrimSuffix(l, "\n"), ",")
			cells[col] = v
			return strings.Join(cells, ",") + "\n"
		}
	}

	tests := []struct {
		name    string
		content string // "" for a missing file
		want    string // in the error, after the file name
	}{
		{"missing file", "", "no such file"},
		{"empty file", "\n", ": empty file"},
		{"wrong header", withLine(1, func(l string) string { return strings.Replace(l, "V3,", "", 1) }),
			":1: column V3: missing"},
		{"unknown column", withLine(1, func(l string) string { return strings.Replace(l, "Class", "Label", 1) }),
			":1: column Label: unknown column"},
		{"non-numeric cell in the first chunk", withLine(7, setCell(8, "abc")),
			`:7: column V8: "abc" is not a number`},
		{"non-numeric cell in a later chunk", withLine(scoring.ChunkRows+300, setCell(29, "12.5x")),
			`:4396: column Amount: "12.5x" is not a number`},
		{"bad class", withLine(scoring.ChunkRows+2, setCell(30, "2")),
			":4098: column Class: \"2\" is not a class label"},
		{"missing field", withLine(100, func(l string) string { return strings.Replace(l, ",", "", 1) }),
			":100: row has 30 fields, header has 31"},
		{"bare quote", withLine(scoring.ChunkRows+20, setCell(3, `1"5`)),
			fmt.Sprintf(`:%d: bare " in non-quoted-field`, scoring.ChunkRows+20)},
		// encoding/csv reports an unclosed quote where the input ends, the last line.
		{"quote never closed", withLine(scoring.ChunkRows+10, func(l string) string { return `"` + l }),
			fmt.Sprintf(`:%d: extraneous or missing " in quoted-field`, len(lines)-1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "tx.csv")
			if tc.content != "" {
				mustWriteScoreInput(t, dir, "tx.csv", tc.content)
			}
			out := filepath.Join(dir, "scored.csv")
			_, _, err := runScoreCmd(context.Background(), t, nil, "--file", in, "--out", out, "--model-path", models)
			if err == nil {
				t.Fatal("got success, want an error")
			}
			if !strings.Contains(err.Error(), in) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error: got %q, want %s and %q", err, in, tc.want)
			}
			if code := exitCode(err, io.Discard); code != 1 {
				t.Errorf("exit status: got %d, want 1", code)
			}
			want := 0
			if tc.content != "" {
				want = 1
			}
			if got := dirEntries(t, dir); len(got) != want {
				t.Errorf("directory holds %v, want only the input: no output, no temporary file", got)
			}
		})
	}
}

func TestScoreLocalCancelled(t *testing.T) {
	models, _ := mustScoreModels(t)
	dir := t.TempDir()
	in := mustGenInput(t, dir, 3*scoring.ChunkRows)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := runScoreCmd(ctx, t, nil, "--file", in, "--out", filepath.Join(dir, "scored.csv"), "--model-path", models)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("got %v, want interrupted", err)
	}
	if got := dirEntries(t, dir); len(got) != 1 {
		t.Errorf("directory holds %v, want only the input", got)
	}
}

func TestScoreRejectsBadFlags(t *testing.T) {
	dir := t.TempDir()
	in := mustWriteScoreInput(t, dir, "in.csv", strings.Join(fraud.FeatureNames(), ",")+"\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no --file", []string{"--out", "x.csv"}, "--file is required"},
		{"no --out", []string{"--file", in}, "--out is required"},
		{"unknown flag", []string{"--file", in, "--out", "x.csv", "--fast"}, "flag provided but not defined"},
		{"argument", []string{"--file", in, "--out", "x.csv", "extra"}, `unexpected argument "extra"`},
		{"out is a directory", []string{"--file", in, "--out", dir}, "is a directory"},
		{"out is the input", []string{"--file", in, "--out", in}, "is the input file"},
		{"api key without url", []string{"--file", in, "--out", "x.csv", "--api-key", "k"}, "--api-key needs --url"},
		{"poll without url", []string{"--file", in, "--out", "x.csv", "--poll", "1s"}, "--poll needs --url"},
		{"model version with url", []string{"--file", in, "--out", "x.csv", "--url", "http://h:1", "--model-version", "v"}, "--model-version cannot be combined with --url"},
		{"model path with url", []string{"--file", in, "--out", "x.csv", "--url", "http://h:1", "--model-path", "m"}, "--model-path cannot be combined with --url"},
		{"url without scheme", []string{"--file", in, "--out", "x.csv", "--url", "localhost:8000"}, "is not a server URL"},
		{"ftp url", []string{"--file", in, "--out", "x.csv", "--url", "ftp://h/"}, "is not a server URL"},
		{"zero poll", []string{"--file", in, "--out", "x.csv", "--url", "http://h:1", "--poll", "0s"}, "--poll 0s is out of range"},
		{"stdin with url", []string{"--file", "-", "--out", "x.csv", "--url", "http://h:1"}, "--file - cannot be combined with --url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runScoreCmd(context.Background(), t, nil, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if code := exitCode(err, io.Discard); code != 2 {
				t.Errorf("exit status: got %d, want 2", code)
			}
		})
	}

	stdout, stderr, err := runScoreCmd(context.Background(), t, nil, "--help")
	if code := exitCode(err, io.Discard); code != 0 || stdout != "" || !strings.Contains(stderr, "--model-version") {
		t.Errorf("--help: got status %d, stderr %q; want 0 and the flags", code, stderr)
	}
}

// mustScoreServer runs `fraudguard serve` in-process with the test model, no rate limit and
// the settings in env, and returns its URL.
func mustScoreServer(t testing.TB, models string, env map[string]string) string {
	t.Helper()
	all := map[string]string{"MODEL_PATH": models, "RATE_LIMIT_PER_MINUTE": "0", "BATCH_CHUNK_ROWS": "1000"}
	for k, v := range env {
		all[k] = v
	}
	return mustServe(t, all).url
}

// mustScoreKeys writes a keys file with a key of the batch scope and one of the predict scope
// only, and returns the file and the two keys.
func mustScoreKeys(t testing.TB) (file, batchKey, predictKey string) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "keys.yaml")
	batchKey = mustCreateKey(t, "--file", file, "--name", "scorer", "--scopes", "batch")
	predictKey = mustCreateKey(t, "--file", file, "--name", "checkout", "--scopes", "predict")
	return file, batchKey, predictKey
}

func TestScoreRemoteMatchesLocal(t *testing.T) {
	models, m := mustScoreModels(t)
	keys, key, _ := mustScoreKeys(t)
	url := mustScoreServer(t, models, map[string]string{"API_KEYS_FILE": keys})
	dir := t.TempDir()
	in := mustGenInput(t, dir, 2*scoring.ChunkRows+321)

	local := filepath.Join(dir, "local.csv")
	mustScore(t, "--file", in, "--out", local, "--model-path", models)

	remote := filepath.Join(dir, "remote.csv")
	env := map[string]string{"FRAUDGUARD_API_KEY": key}
	_, stderr, err := runScoreCmd(context.Background(), t, env, "--file", in, "--out", remote, "--url", url, "--poll", "20ms")
	if err != nil {
		t.Fatalf("remote: %v\nstderr: %s", err, stderr)
	}
	if !bytes.Equal(mustReadFile(t, remote), mustReadFile(t, local)) {
		t.Errorf("remote output differs from local output")
	}
	mustCheckScored(t, m, mustReadFile(t, in), mustReadFile(t, remote))
	for _, want := range []string{"accepted; status at " + url + "/batch/", "uploading: ", "scoring: ", "downloading: ",
		fmt.Sprintf("%d rows", 2*scoring.ChunkRows+321), "0 invalid; wrote " + remote} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr: got %q, want %q in it", stderr, want)
		}
	}

	// --api-key wins over the environment; standard output works as in local mode.
	stdout, _, err := runScoreCmd(context.Background(), t, map[string]string{"FRAUDGUARD_API_KEY": "wrong"},
		"--file", in, "--out", "-", "--url", url+"/", "--poll", "20ms", "--api-key", key, "--quiet")
	if err != nil {
		t.Fatalf("remote to stdout: %v", err)
	}
	if stdout != string(mustReadFile(t, local)) {
		t.Errorf("remote --out -: stdout differs from local output")
	}
}

func TestScoreRemoteInvalidRows(t *testing.T) {
	models, m := mustScoreModels(t)
	url := mustScoreServer(t, models, nil)
	dir := t.TempDir()
	header := strings.Join(fraud.FeatureNames(), ",")
	cells := strings.Repeat("0.5,", fraud.NumFeatures-1) + "1.25"
	badNumber := strings.Replace(cells, "0.5", "x", 1)
	bareQuote := strings.Replace(cells, "0.5", `0"5`, 1) // malformed CSV: the row is invalid, the next ones still count
	in := mustWriteScoreInput(t, dir, "in.csv", header+"\n"+cells+"\n"+badNumber+"\n"+bareQuote+"\r\n\n"+cells+"\n")
	out := filepath.Join(dir, "scored.csv")
	_, stderr, err := runScoreCmd(context.Background(), t, nil, "--file", in, "--out", out, "--url", url, "--poll", "20ms")
	if err == nil || !strings.Contains(err.Error(), "2 of 4 rows could not be scored") || !strings.Contains(err.Error(), in+":3:") {
		t.Fatalf("got %v, want 2 of 4 rows not scored, the first at line 3\nstderr: %s", err, stderr)
	}
	if code := exitCode(err, io.Discard); code != 1 {
		t.Errorf("exit status: got %d, want 1", code)
	}
	got := strings.Split(string(mustReadFile(t, out)), "\n")
	var x [fraud.NumFeatures]float64
	for i := range x {
		x[i] = 0.5
	}
	x[fraud.NumFeatures-1] = 1.25
	sc := m.Score(&x)
	scored := fmt.Sprintf("%s,%s,%t,%s,", cells, strconv.FormatFloat(sc.Probability, 'g', -1, 64), sc.IsFraud, sc.Risk)
	want := []string{
		header + ",fraud_probability,is_fraud,risk_level,error",
		scored,
		badNumber + `,,,,"upload:3: column Time: ""x"" is not a number"`,
		bareQuote + `,,,,"upload:4: bare "" in non-quoted-field (at byte 2 of the line)"` + "\r",
		scored,
		"",
	}
	if len(got) != len(want) {
		t.Fatalf("output: got %d lines %q, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\ngot  %q\nwant %q", i+1, got[i], want[i])
		}
	}
}

// TestScoreRemoteExplain checks score --url --explain: the joined output equals local
// --explain byte for byte; an invalid row gets empty reason cells after its error; a server
// whose model cannot be explained refuses the job.
func TestScoreRemoteExplain(t *testing.T) {
	models, m := mustScoreModels(t)
	url := mustScoreServer(t, models, nil)
	dir := t.TempDir()
	in := mustGenInput(t, dir, scoring.ChunkRows+77)
	local, _ := mustScore(t, "--file", in, "--out", "-", "--model-path", models, "--quiet", "--explain")
	remote, stderr, err := runScoreCmd(context.Background(), t, nil, "--file", in, "--out", "-", "--url", url, "--poll", "20ms", "--quiet", "--explain")
	if err != nil {
		t.Fatalf("remote: %v\nstderr: %s", err, stderr)
	}
	if !strings.Contains(local, ",reason_1,reason_2,reason_3\n") {
		t.Fatalf("local output has no reason columns: %.200q", local)
	}
	if remote != local {
		t.Errorf("remote --explain output differs from local: %s", firstDiff([]byte(remote), []byte(local)))
	}

	header := strings.Join(fraud.FeatureNames(), ",")
	cells := strings.Repeat("0.5,", fraud.NumFeatures-1) + "1.25"
	badNumber := strings.Replace(cells, "0.5", "x", 1)
	bad := mustWriteScoreInput(t, dir, "bad.csv", header+"\n"+cells+"\n"+badNumber+"\n")
	got, _, err := runScoreCmd(context.Background(), t, nil, "--file", bad, "--out", "-", "--url", url, "--poll", "20ms", "--quiet", "--explain")
	if err == nil || !strings.Contains(err.Error(), "1 of 2 rows could not be scored") {
		t.Fatalf("got %v, want 1 of 2 rows not scored", err)
	}
	good, _ := mustScore(t, "--file", mustWriteScoreInput(t, dir, "good.csv", header+"\n"+cells+"\n"), "--out", "-", "--model-path", models, "--quiet", "--explain")
	goodLine := strings.Split(good, "\n")[1]
	var x [fraud.NumFeatures]float64
	for i := range x {
		x[i] = 0.5
	}
	x[fraud.NumFeatures-1] = 1.25
	sc := m.Score(&x)
	scored := fmt.Sprintf("%s,%s,%t,%s,", cells, strconv.FormatFloat(sc.Probability, 'g', -1, 64), sc.IsFraud, sc.Risk)
	reasons := strings.TrimPrefix(goodLine, cells+","+strconv.FormatFloat(sc.Probability, 'g', -1, 64)+","+strconv.FormatBool(sc.IsFraud)+","+string(sc.Risk))
	want := header + ",fraud_probability,is_fraud,risk_level,error,reason_1,reason_2,reason_3\n" +
		scored + reasons + "\n" +
		badNumber + `,,,,"upload:3: column Time: ""x"" is not a number",,,` + "\n"
	if got != want {
		t.Errorf("with an invalid row: got\n%s\nwant\n%s", got, want)
	}

	coverless := mustScoreServer(t, mustCoverlessModels(t), nil)
	_, _, err = runScoreCmd(context.Background(), t, nil, "--file", in, "--out", filepath.Join(dir, "x.csv"), "--url", coverless, "--poll", "20ms", "--quiet", "--explain")
	if err == nil || !strings.Contains(err.Error(), "node covers") {
		t.Errorf("a model without covers: got %v, want the server's refusal", err)
	}
}

func TestScoreRemoteErrors(t *testing.T) {
	models, _ := mustScoreModels(t)
	keys, key, predictKey := mustScoreKeys(t)
	url := mustScoreServer(t, models, map[string]string{"API_KEYS_FILE": keys, "BATCH_JOB_MAX_ROWS": "40"})
	dir := t.TempDir()
	in := mustGenInput(t, dir, 30)
	big := filepath.Join(dir, "big.csv")
	mustRunGen(t, "--rows", "41", "--out", big)
	header := mustWriteScoreInput(t, dir, "bad.csv", "Time,V1\n1,2\n")

	tests := []struct {
		name     string
		url, key string
		file     string
		want     []string
	}{
		{"no key", url, "", in, []string{"server: 401 UNAUTHORIZED: no API key"}},
		{"unknown key", url, "fg_nope", in, []string{"server: 401 UNAUTHORIZED: "}},
		{"key without the batch scope", url, predictKey, in, []string{"server: 403 FORBIDDEN: "}},
		{"bad header", url, key, header, []string{"server: 400 VALIDATION_ERROR: the CSV header is not valid: upload:1: column V2: missing"}},
		{"too many rows", url, key, big, []string{"server: 413 PAYLOAD_TOO_LARGE: "}},
		{"no server", "http://127.0.0.1:1", key, in, []string{"sending " + in + " to http://127.0.0.1:1: ", "connection refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "scored.csv")
			_, _, err := runScoreCmd(context.Background(), t, nil, "--file", tc.file, "--out", out, "--url", tc.url, "--api-key", tc.key, "--poll", "20ms")
			if err == nil {
				t.Fatal("got success, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error: got %q, want %q in it", err, w)
				}
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("error: got %q, which shows the API key", err)
			}
			if code := exitCode(err, io.Discard); code != 1 {
				t.Errorf("exit status: got %d, want 1", code)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("output file: got %v, want none", err)
			}
		})
	}
}

// cancelOnWrite is a stderr that cancels a context once what has been written contains text.
type cancelOnWrite struct {
	buf    bytes.Buffer
	text   string
	cancel context.CancelFunc
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	n, err := c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.text) {
		c.cancel()
	}
	return n, err
}

func TestScoreRemoteInterrupted(t *testing.T) {
	models, m := mustScoreModels(t)
	url := mustScoreServer(t, models, nil)
	dir := t.TempDir()
	in := mustGenInput(t, dir, 500)
	out := filepath.Join(dir, "scored.csv")

	// Interrupted as soon as the job is accepted, the command stops waiting at once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &cancelOnWrite{text: " accepted; ", cancel: cancel}
	err := run(ctx, []string{"score", "--file", in, "--out", out, "--url", url, "--poll", "20ms"}, noEnv, strings.NewReader(""), io.Discard, stderr)
	if err == nil {
		t.Fatal("got success, want an error")
	}
	re := regexp.MustCompile(`stopped waiting for the job; job (\S+) stays on the server: status at (\S+), results at (\S+) \(Accept: text/csv\)$`)
	match := re.FindStringSubmatch(err.Error())
	if match == nil {
		t.Fatalf("error: got %q, want the job id and its URLs", err)
	}
	if code := exitCode(err, io.Discard); code != 1 {
		t.Errorf("exit status: got %d, want 1", code)
	}
	if got := dirEntries(t, dir); len(got) != 1 {
		t.Errorf("directory holds %v, want only the input", got)
	}

	// The job goes on, and its results are where the message says.
	id, statusURL, resultsURL := match[1], match[2], match[3]
	if want := url + "/batch/" + id + "/status"; statusURL != want {
		t.Errorf("status URL: got %s, want %s", statusURL, want)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, st := call(t, http.MethodGet, statusURL, "", "")
		if st["status"] == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job status: got %v, want completed", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	req, err := http.NewRequest(http.MethodGet, resultsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(rows) != 501 {
		t.Fatalf("results: got %d rows (%v), want a header and 500 rows", len(rows), err)
	}
	rd, err := dataset.NewReader(bytes.NewReader(mustReadFile(t, in)), "in", dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.FormatFloat(m.Score(&rec.Features).Probability, 'g', -1, 64); rows[1][2] != want {
		t.Errorf("first result's probability: got %s, want %s", rows[1][2], want)
	}
}
