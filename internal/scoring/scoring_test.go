package scoring

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
)

// noProgress is a Progress that shows nothing.
type noProgress struct{}

func (noProgress) Update(done, rows int64) {}

func mustModel(t testing.TB) *model.Model {
	t.Helper()
	m, err := model.LoadLatest(filepath.Join("..", "..", "models"), "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mustSample returns the first n rows of the real transaction sample, with its header, its
// lines repeated when n is more than the sample holds.
func mustSample(t testing.TB, n int) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "datasets", "creditcard-head5000.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var b bytes.Buffer
	b.WriteString(lines[0] + "\n")
	for i := range n {
		b.WriteString(lines[1+i%(len(lines)-1)] + "\n")
	}
	return b.Bytes()
}

// scoredLine is what Stream writes for a row of the input: its text and its result columns.
func scoredLine(t testing.TB, m *model.Model, header, line string) string {
	t.Helper()
	rd, err := dataset.NewReader(strings.NewReader(header+"\n"+line+"\n"), "row", dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	sc := m.Score(&rec.Features)
	return line + "," + strconv.FormatFloat(sc.Probability, 'g', -1, 64) + "," + strconv.FormatBool(sc.IsFraud) + "," + string(sc.Risk)
}

func TestStream(t *testing.T) {
	m := mustModel(t)
	in := mustSample(t, 2*ChunkRows+17)
	var out bytes.Buffer
	sum, err := Stream(context.Background(), m, bytes.NewReader(in), "in.csv", &out, noProgress{}, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	inLines := strings.Split(strings.TrimRight(string(in), "\n"), "\n")
	outLines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if sum.Rows != int64(len(inLines)-1) || len(outLines) != len(inLines) {
		t.Fatalf("got %d rows and %d lines, want %d", sum.Rows, len(outLines), len(inLines))
	}
	if want := inLines[0] + ",fraud_probability,is_fraud,risk_level"; outLines[0] != want {
		t.Errorf("header: got %q, want %q", outLines[0], want)
	}
	for _, i := range []int{1, ChunkRows, ChunkRows + 1, len(inLines) - 1} {
		if want := scoredLine(t, m, inLines[0], inLines[i]); outLines[i] != want {
			t.Errorf("line %d: got %q, want %q", i+1, outLines[i], want)
		}
	}
}

func TestStreamStopsAtABadRow(t *testing.T) {
	m := mustModel(t)
	in := string(mustSample(t, ChunkRows+50))
	lines := strings.Split(in, "\n")
	lines[ChunkRows+10] = strings.Replace(lines[ChunkRows+10], ",", ",x", 1)
	_, err := Stream(context.Background(), m, strings.NewReader(strings.Join(lines, "\n")), "in.csv", &bytes.Buffer{}, noProgress{}, 2, false)
	var de *dataset.Error
	if !errors.As(err, &de) || de.Line != ChunkRows+11 || de.Column != "V1" {
		t.Fatalf("got %v, want an error on line %d, column V1", err, ChunkRows+11)
	}
}

func TestJoin(t *testing.T) {
	header := strings.Join(fraud.FeatureNames(), ",")
	cells := strings.Repeat("0.5,", fraud.NumFeatures-1) + "1.25"
	bare := strings.Replace(cells, "0.5", `0"5`, 1)
	in := header + "\r\n" + cells + "\r\n\r\n" + bare + "\r\n" + cells + "\r\n"
	results := dataset.ResultsHeader + "\n" +
		"0,,0.25,false,low,\n" +
		"1,,,,,\" upload:4: bare \"\" in non-quoted-field\"\n" +
		"2,,0.75,true,high,\n"
	var out bytes.Buffer
	sum, err := Join(context.Background(), strings.NewReader(in), "in.csv", strings.NewReader(results), &out, true, false, noProgress{})
	if err != nil {
		t.Fatal(err)
	}
	want := header + ",fraud_probability,is_fraud,risk_level,error\r\n" +
		cells + ",0.25,false,low,\r\n" +
		bare + ",,,,\" upload:4: bare \"\" in non-quoted-field\"\r\n" +
		cells + ",0.75,true,high,\r\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
	if sum.Rows != 3 || sum.Frauds != 1 || sum.Invalid != 1 || sum.FirstInvalidLine != 4 {
		t.Errorf("got %+v, want 3 rows, 1 fraud, 1 invalid on line 4", sum)
	}

	// Results that do not match the input are refused.
	for name, bad := range map[string]string{
		"a row short":       dataset.ResultsHeader + "\n0,,0.25,false,low,\n1,,0.25,false,low,\n",
		"a row too many":    results + "3,,0.1,false,low,\n",
		"rows out of order": dataset.ResultsHeader + "\n1,,0.25,false,low,\n0,,0.25,false,low,\n2,,0.1,false,low,\n",
		"no risk column":    "row,fraud_probability,is_fraud\n",
	} {
		if _, err := Join(context.Background(), strings.NewReader(in), "in.csv", strings.NewReader(bad), &bytes.Buffer{}, true, false, noProgress{}); err == nil {
			t.Errorf("%s: got no error, want one", name)
		}
	}
}

// wantReasons is what Stream with explain appends to a row: the three features of largest
// |contribution| in m's explanation of it, largest first and ties in feature order, sorted here
// independently of model.TopFeatures.
func wantReasons(t testing.TB, m *model.Model, header, line string) string {
	t.Helper()
	rd, err := dataset.NewReader(strings.NewReader(header+"\n"+line+"\n"), "row", dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	var e model.Explanation
	if err := m.Explain(&rec.Features, &e); err != nil {
		t.Fatal(err)
	}
	order := make([]int, fraud.NumFeatures)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return math.Abs(e.Contributions[order[a]]) > math.Abs(e.Contributions[order[b]])
	})
	names := fraud.FeatureNames()
	var b strings.Builder
	for _, j := range order[:3] {
		b.WriteString("," + names[j] + ":" + strconv.FormatFloat(e.Contributions[j], 'g', -1, 64))
	}
	return b.String()
}

func TestStreamExplain(t *testing.T) {
	m := mustModel(t)
	in := mustSample(t, ChunkRows+9)
	var out bytes.Buffer
	sum, err := Stream(context.Background(), m, bytes.NewReader(in), "in.csv", &out, noProgress{}, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	inLines := strings.Split(strings.TrimRight(string(in), "\n"), "\n")
	outLines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if sum.Rows != int64(len(inLines)-1) || len(outLines) != len(inLines) {
		t.Fatalf("got %d rows and %d lines, want %d", sum.Rows, len(outLines), len(inLines))
	}
	if want := inLines[0] + ",fraud_probability,is_fraud,risk_level,reason_1,reason_2,reason_3"; outLines[0] != want {
		t.Errorf("header: got %q, want %q", outLines[0], want)
	}
	for _, i := range []int{1, 2, 3, ChunkRows + 1, len(inLines) - 1} {
		want := scoredLine(t, m, inLines[0], inLines[i]) + wantReasons(t, m, inLines[0], inLines[i])
		if outLines[i] != want {
			t.Errorf("line %d: got %q, want %q", i+1, outLines[i], want)
		}
	}
}

// mustCoverlessModel saves and loads a bundle of one tree whose nodes have no covers: it
// scores but cannot be explained.
func mustCoverlessModel(t testing.TB) *model.Model {
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
	dir, err := model.Save(t.TempDir(), model.Bundle{
		Manifest: model.Manifest{
			Name: "coverless", Kind: model.KindTrees, Threshold: 0.5, CreatedAt: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC),
			Members:  []model.MemberSpec{{Kind: model.KindTrees, File: "trees.json", Weight: 1}},
			Canaries: []model.Canary{{}},
		},
		Files: map[string][]byte{"trees.json": data},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStreamExplainUnexplainable(t *testing.T) {
	m := mustCoverlessModel(t)
	in := mustSample(t, 3)
	var out bytes.Buffer
	if _, err := Stream(context.Background(), m, bytes.NewReader(in), "in.csv", &out, noProgress{}, 1, false); err != nil {
		t.Fatalf("without explain: got %v, want the rows scored", err)
	}
	out.Reset()
	_, err := Stream(context.Background(), m, bytes.NewReader(in), "in.csv", &out, noProgress{}, 1, true)
	if !errors.Is(err, model.ErrNoCovers) {
		t.Fatalf("got %v, want an error wrapping model.ErrNoCovers", err)
	}
	if out.Len() != 0 {
		t.Errorf("got %d bytes written, want none", out.Len())
	}
}

// BenchmarkStream measures local scoring of 100,000 real transactions on every core, from
// memory to nowhere: reading, parsing, scoring and formatting.
func BenchmarkStream(b *testing.B) {
	m := mustModel(b)
	data := mustSample(b, 100_000)
	b.SetBytes(int64(len(data)))
	var rows int64
	for b.Loop() {
		sum, err := Stream(context.Background(), m, bytes.NewReader(data), "bench", io.Discard, noProgress{}, runtime.GOMAXPROCS(0), false)
		if err != nil {
			b.Fatal(err)
		}
		rows += sum.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkStreamExplain is BenchmarkStream with the reason columns: each row also explained
// and its three leading features written.
func BenchmarkStreamExplain(b *testing.B) {
	m := mustModel(b)
	data := mustSample(b, 20_000)
	b.SetBytes(int64(len(data)))
	var rows int64
	for b.Loop() {
		sum, err := Stream(context.Background(), m, bytes.NewReader(data), "bench", io.Discard, noProgress{}, runtime.GOMAXPROCS(0), true)
		if err != nil {
			b.Fatal(err)
		}
		rows += sum.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
