package dataset

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

// featureHeader is "Time,V1,...,V28,Amount".
func featureHeader() string { return strings.Join(fraud.FeatureNames(), ",") }

// row returns a data row whose feature j holds base+j, followed by extra cells.
func row(base int, extra ...string) string {
	cells := make([]string, 0, fraud.NumFeatures+len(extra))
	for j := range fraud.NumFeatures {
		cells = append(cells, strconv.Itoa(base+j))
	}
	return strings.Join(append(cells, extra...), ",")
}

// replaceCell returns row r with the cell at position pos replaced by v.
func replaceCell(r string, pos int, v string) string {
	cells := strings.Split(r, ",")
	cells[pos] = v
	return strings.Join(cells, ",")
}

// mustReadAllRecords reads every record of input, failing the test on any error.
func mustReadAllRecords(t testing.TB, input string, opts Options) []Record {
	t.Helper()
	rd, err := NewReader(strings.NewReader(input), "data.csv", opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var recs []Record
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		recs = append(recs, rec)
	}
}

// readError reads input to the end and returns the first error other than io.EOF.
func readError(t testing.TB, input string, opts Options) error {
	t.Helper()
	rd, err := NewReader(strings.NewReader(input), "data.csv", opts)
	if err != nil {
		return err
	}
	for {
		_, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func TestHeaderErrors(t *testing.T) {
	h := featureHeader()
	tests := []struct {
		name    string
		header  string
		opts    Options
		wantCol string
		wantMsg string
	}{
		{"empty file", "", Options{}, "", "data.csv:1: empty file: no header row"},
		{"unknown column", h + ",Merchant", Options{}, "Merchant", "data.csv:1: column Merchant: unknown column"},
		{"wrong case", strings.Replace(h, "Time", "time", 1), Options{}, "time", `data.csv:1: column time: unknown column (did you mean "Time"?)`},
		{"missing last feature", strings.TrimSuffix(h, ",Amount"), Options{}, "Amount", "data.csv:1: column Amount: missing"},
		{"missing middle feature", strings.Replace(h, "V3,", "", 1), Options{}, "V3", "data.csv:1: column V3: missing (found V4 where V3 was expected)"},
		{"duplicate column", strings.Replace(h, "V3,", "V3,V3,", 1), Options{}, "V3", "data.csv:1: column V3: duplicate column"},
		{"out of order", strings.Replace(h, "V1,V2,", "V2,V1,", 1), Options{}, "V2", "data.csv:1: column V2: out of order: expected V1 at this position"},
		{"id in the middle", strings.Replace(h, "V5,", "V5,transaction_id,", 1), Options{}, "transaction_id", "data.csv:1: column transaction_id: transaction_id must be the first or the last column"},
		{"empty column name", h + ",", Options{}, "#31", "data.csv:1: column #31: empty column name"},
		{"class required", h, Options{RequireClass: true}, "Class", "data.csv:1: column Class: missing"},
		{"bare quote", `Ti"me` + h[4:], Options{}, "", "data.csv:1: bare \" in non-quoted-field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tc.header), "data.csv", tc.opts)
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("got error %v (%T), want a *dataset.Error", err, err)
			}
			if !strings.HasPrefix(err.Error(), tc.wantMsg) {
				t.Errorf("got message %q, want prefix %q", err.Error(), tc.wantMsg)
			}
			if de.Line != 1 || de.Column != tc.wantCol || de.File != "data.csv" {
				t.Errorf("got file %q line %d column %q, want data.csv line 1 column %q", de.File, de.Line, de.Column, tc.wantCol)
			}
		})
	}
}

func TestHeaderVariants(t *testing.T) {
	h := featureHeader()
	tests := []struct {
		name      string
		input     string
		wantID    string
		wantClass int
	}{
		{"features only", h + "\n" + row(0), "", -1},
		{"with class", h + ",Class\n" + row(0, "1"), "", 1},
		{"class first", "Class," + h + "\n1," + row(0), "", 1},
		{"id first", "transaction_id," + h + ",Class\ntx-1," + row(0, "0"), "tx-1", 0},
		{"id last", h + ",Class,transaction_id\n" + row(0, "1", "tx-9"), "tx-9", 1},
		{"byte-order mark and spaces", "\ufeff" + strings.ReplaceAll(h, ",", ", ") + " , Class\n" + row(0, " 1"), "", 1},
		{"quoted class as in the original file", h + ",Class\n" + row(0, `"0"`), "", 0},
		{"class written as float", h + ",Class\n" + row(0, "1.0"), "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := mustReadAllRecords(t, tc.input, Options{})
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1", len(recs))
			}
			r := recs[0]
			if r.ID != tc.wantID || r.Class != tc.wantClass || r.Line != 2 {
				t.Errorf("got id %q class %d line %d, want %q %d 2", r.ID, r.Class, r.Line, tc.wantID, tc.wantClass)
			}
			for j, v := range r.Features {
				if v != float64(j) {
					t.Errorf("got feature %d = %v, want %v", j, v, float64(j))
				}
			}
		})
	}
}

func TestRowErrors(t *testing.T) {
	h := featureHeader() + ",Class\n"
	good := row(0, "0") + "\n"
	tests := []struct {
		name     string
		input    string
		wantLine int
		wantCol  string
		wantMsg  string
	}{
		{"non-numeric cell", h + good + good + replaceCell(row(0, "0"), 3, "abc") + "\n", 4, "V3", `data.csv:4: column V3: "abc" is not a number`},
		{"empty cell", h + replaceCell(row(0, "0"), 29, "") + "\n", 2, "Amount", `data.csv:2: column Amount: "" is not a number`},
		{"NaN", h + good + replaceCell(row(0, "0"), 0, "NaN") + "\n", 3, "Time", `data.csv:3: column Time: "NaN" is not a finite number`},
		{"infinity", h + replaceCell(row(0, "0"), 28, "+Inf") + "\n", 2, "V28", `data.csv:2: column V28: "+Inf" is not a finite number`},
		{"overflow", h + replaceCell(row(0, "0"), 5, "1e400") + "\n", 2, "V5", `data.csv:2: column V5: "1e400" is out of range`},
		{"class 2", h + good + row(0, "2") + "\n", 3, "Class", `data.csv:3: column Class: "2" is not a class label (want 0 or 1)`},
		{"class text", h + row(0, "yes") + "\n", 2, "Class", `data.csv:2: column Class: "yes" is not a class label (want 0 or 1)`},
		{"short row", h + good + "1,2,3\n", 3, "", "data.csv:3: row has 3 fields, header has 31"},
		{"long row", h + row(0, "0", "extra") + "\n", 2, "", "data.csv:2: row has 32 fields, header has 31"},
		{"blank lines counted", h + "\n\n" + replaceCell(row(0, "0"), 1, "x") + "\n", 4, "V1", `data.csv:4: column V1: "x" is not a number`},
		{"long cell shortened", h + replaceCell(row(0, "0"), 2, strings.Repeat("z", 100)) + "\n", 2, "V2", `data.csv:2: column V2: "` + strings.Repeat("z", 40) + `..." is not a number`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := readError(t, tc.input, Options{})
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("got error %v (%T), want a *dataset.Error", err, err)
			}
			if got := err.Error(); got != tc.wantMsg {
				t.Errorf("got message %q, want %q", got, tc.wantMsg)
			}
			if de.Line != tc.wantLine || de.Column != tc.wantCol {
				t.Errorf("got line %d column %q, want line %d column %q", de.Line, de.Column, tc.wantLine, tc.wantCol)
			}
		})
	}
}

func TestQuotedMultilineIDKeepsLineNumbers(t *testing.T) {
	input := "transaction_id," + featureHeader() + "\n\"a\nb\"," + row(0) + "\nc," + replaceCell(row(0), 2, "?") + "\n"
	err := readError(t, input, Options{})
	if got, want := err.Error(), `data.csv:4: column V2: "?" is not a number`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadFrom(t *testing.T) {
	h := featureHeader() + ",Class\n"
	tests := []struct {
		name    string
		input   string
		wantMsg string // "" means success
	}{
		{"empty file", "", "data.csv:1: empty file: no header row"},
		{"no rows", h, "data.csv:2: no rows: the file has a header but no transactions"},
		{"only normal rows", h + row(0, "0") + "\n" + row(1, "0") + "\n", "data.csv: column Class: only one class (0) present in 2 rows"},
		{"only fraud rows", h + row(0, "1") + "\n", "data.csv: column Class: only one class (1) present in 1 rows"},
		{"no class column", featureHeader() + "\n" + row(0) + "\n", "data.csv:1: column Class: missing"},
		{"bad cell", h + row(0, "0") + "\n" + replaceCell(row(0, "1"), 7, "1,5") + "\n", "data.csv:3: row has 32 fields, header has 31"},
		{"two classes", h + row(0, "0") + "\n" + row(10, "1") + "\n" + row(20, "0") + "\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := ReadFrom(context.Background(), strings.NewReader(tc.input), "data.csv")
			if tc.wantMsg != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantMsg) {
					t.Fatalf("got error %v, want prefix %q", err, tc.wantMsg)
				}
				var de *Error
				if !errors.As(err, &de) {
					t.Errorf("got %T, want a *dataset.Error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if tbl.Rows() != 3 || tbl.Frauds() != 1 {
				t.Errorf("got %d rows, %d frauds, want 3 and 1", tbl.Rows(), tbl.Frauds())
			}
			if got := tbl.Times(); got[0] != 0 || got[1] != 10 || got[2] != 20 {
				t.Errorf("got times %v, want [0 10 20]", got)
			}
			if got := tbl.Columns[30-1][1]; got != 39 {
				t.Errorf("got Amount of row 2 = %v, want 39", got)
			}
			if got := tbl.Lines; got[0] != 2 || got[2] != 4 {
				t.Errorf("got lines %v, want [2 3 4]", got)
			}
		})
	}
}

func TestReadFromCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	input := featureHeader() + ",Class\n" + row(0, "0") + "\n" + row(1, "1") + "\n"
	if _, err := ReadFrom(ctx, strings.NewReader(input), "data.csv"); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestReadAllMissingFile(t *testing.T) {
	_, err := ReadAll(context.Background(), filepath.Join(t.TempDir(), "nope.csv"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestReadAllSample(t *testing.T) {
	path := sharedtest.Data(t, "creditcard-sample-train.csv")
	tbl, err := ReadAll(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tbl.Rows(), 3363; got != want {
		t.Errorf("got %d rows, want %d", got, want)
	}
	if got, want := tbl.Frauds(), 360; got != want {
		t.Errorf("got %d frauds, want %d", got, want)
	}
	if got, want := tbl.Name, "creditcard-sample-train.csv"; got != want {
		t.Errorf("got name %q, want %q", got, want)
	}
	times := tbl.Times()
	for i := 1; i < len(times); i++ {
		if times[i] < times[i-1] {
			t.Fatalf("got time %v after %v at row %d, want the file sorted by Time", times[i], times[i-1], i)
		}
	}
	if got, want := times[0], 23.0; got != want {
		t.Errorf("got first time %v, want %v", got, want)
	}
}

func TestNextAllocatesNoMoreThanCSV(t *testing.T) {
	input := featureHeader() + ",Class,transaction_id\n" + strings.Repeat(row(7, "0", "tx-1")+"\n", 2000)
	rd, err := NewReader(strings.NewReader(input), "data.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ours := testing.AllocsPerRun(1000, func() {
		if _, err := rd.Next(); err != nil {
			t.Fatal(err)
		}
	})
	c := csv.NewReader(strings.NewReader(input))
	c.ReuseRecord = true
	c.FieldsPerRecord = -1
	if _, err := c.Read(); err != nil {
		t.Fatal(err)
	}
	theirs := testing.AllocsPerRun(1000, func() {
		if _, err := c.Read(); err != nil {
			t.Fatal(err)
		}
	})
	if ours > theirs {
		t.Errorf("got %v allocations per row, want at most encoding/csv's %v", ours, theirs)
	}
}

func BenchmarkReaderNext(b *testing.B) {
	// A real row of creditcard.csv (its first transaction).
	var cells []string
	for _, f := range fraud.TransactionFields() {
		if f.Index >= 0 {
			cells = append(cells, f.Example)
		}
	}
	line := strings.Join(cells, ",") + ",0\n"
	input := featureHeader() + ",Class\n" + strings.Repeat(line, 1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	var rd *Reader
	for i := 0; b.Loop(); i++ {
		if i%1000 == 0 {
			var err error
			if rd, err = NewReader(strings.NewReader(input), "bench.csv", Options{}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := rd.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzReader(f *testing.F) {
	h := featureHeader()
	f.Add(h + ",Class\n" + row(0, "1") + "\n")
	f.Add("transaction_id," + h + "\nx," + row(3) + "\n")
	f.Add(h + ",Class\n" + replaceCell(row(0, "0"), 3, "abc") + "\n")
	f.Add("\"a\n" + h)
	f.Fuzz(func(t *testing.T, input string) {
		rd, err := NewReader(strings.NewReader(input), "fuzz.csv", Options{})
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("got header error %T %v, want *dataset.Error", err, err)
			}
			return
		}
		for range 1000 {
			rec, err := rd.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var de *Error
				if !errors.As(err, &de) || de.Line < 1 {
					t.Fatalf("got row error %T %v, want *dataset.Error with a line", err, err)
				}
				continue
			}
			if rec.Class < -1 || rec.Class > 1 {
				t.Fatalf("got class %d", rec.Class)
			}
		}
	})
}

func TestWeightColumn(t *testing.T) {
	h := featureHeader() + ",Class"
	opts := Options{WeightColumn: "w"}
	tests := []struct {
		name        string
		input       string
		opts        Options
		wantWeights []float64 // nil with wantMsg set
		wantMsg     string
	}{
		{"weights last", h + ",w\n" + row(0, "0", "2.5") + "\n" + row(1, "1", "1") + "\n", opts, []float64{2.5, 1}, ""},
		{"weights first", "w," + h + "\n0.5," + row(0, "0") + "\n0," + row(1, "0") + "\n3," + row(2, "1") + "\n", opts, []float64{0.5, 0, 3}, ""},
		{"no weight column asked", h + "\n" + row(0, "0") + "\n" + row(1, "1") + "\n", Options{}, nil, ""},
		{"column missing", h + "\n" + row(0, "0") + "\n" + row(1, "1") + "\n", opts, nil, "data.csv:1: column w: missing (named as the column of row weights)"},
		{"column not asked for", h + ",w\n" + row(0, "0", "1") + "\n", Options{}, nil, "data.csv:1: column w: unknown column"},
		{"feature as weight", h + "\n" + row(0, "0") + "\n", Options{WeightColumn: "Amount"}, nil, "data.csv:1: column Amount: cannot be the weight column"},
		{"negative weight", h + ",w\n" + row(0, "0", "1") + "\n" + row(1, "1", "-2") + "\n", opts, nil, `data.csv:3: column w: "-2" is not a weight (want a number >= 0)`},
		{"not a number", h + ",w\n" + row(0, "0", "x") + "\n", opts, nil, `data.csv:2: column w: "x" is not a number`},
		{"infinite weight", h + ",w\n" + row(0, "0", "Inf") + "\n", opts, nil, `data.csv:2: column w: "Inf" is not a finite number`},
		{"frauds weigh nothing", h + ",w\n" + row(0, "0", "1") + "\n" + row(1, "1", "0") + "\n", opts, nil, "data.csv: column w: the weights of class 1 rows sum to 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := ReadFromWith(context.Background(), strings.NewReader(tc.input), "data.csv", tc.opts)
			if tc.wantMsg != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantMsg) {
					t.Fatalf("got error %v, want prefix %q", err, tc.wantMsg)
				}
				var de *Error
				if !errors.As(err, &de) {
					t.Errorf("got %T, want a *dataset.Error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if len(tbl.Weights) != len(tc.wantWeights) || (tc.wantWeights == nil) != (tbl.Weights == nil) {
				t.Fatalf("got weights %v, want %v", tbl.Weights, tc.wantWeights)
			}
			for i, w := range tc.wantWeights {
				if tbl.Weights[i] != w || tbl.Weight(i) != w {
					t.Errorf("row %d: got weight %v (Weight %v), want %v", i, tbl.Weights[i], tbl.Weight(i), w)
				}
			}
			if tc.wantWeights == nil && tbl.Weight(0) != 1 {
				t.Errorf("got Weight(0) %v without a weight column, want 1", tbl.Weight(0))
			}
			if tbl.WeightColumn != tc.opts.WeightColumn {
				t.Errorf("got WeightColumn %q, want %q", tbl.WeightColumn, tc.opts.WeightColumn)
			}
		})
	}
}

func TestRecordWeightDefaultsToOne(t *testing.T) {
	recs := mustReadAllRecords(t, featureHeader()+"\n"+row(0)+"\n", Options{})
	if got := recs[0].Weight; got != 1 {
		t.Errorf("got weight %v without a weight column, want 1", got)
	}
}
