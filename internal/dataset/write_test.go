package dataset

import (
	"context"
	"encoding/csv"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

func TestAppendField(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"txn-1", "txn-1"},
		{"a,b", `"a,b"`},
		{`say "hi"`, `"say ""hi"""`},
		{"two\nlines", "\"two\nlines\""},
		{"cr\r", "\"cr\r\""},
		{" leading space", `" leading space"`},
		{"\tleading tab", "\"\tleading tab\""},
		{"trailing space ", "trailing space "},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := string(AppendField(nil, tc.in))
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			// Whatever was quoted reads back as it was, by a reader that trims leading space.
			cr := csv.NewReader(strings.NewReader(got + "\n"))
			cr.TrimLeadingSpace = true
			rec, err := cr.Read()
			if tc.in != "" && (err != nil || len(rec) != 1 || rec[0] != tc.in) {
				t.Errorf("read back %q (%v), want %q", rec, err, tc.in)
			}
		})
	}
}

func TestAppendResult(t *testing.T) {
	tenth, fifth := 0.1, 0.2
	tests := []struct {
		name string
		r    fraud.JobResult
		want string
	}{
		{"scored", fraud.JobResult{Row: 7, TransactionID: "t7", Probability: tenth + fifth, IsFraud: false, Risk: fraud.RiskLow}, "7,t7,0.30000000000000004,false,low,\n"},
		{"no id", fraud.JobResult{Row: 0, Probability: 1, IsFraud: true, Risk: fraud.RiskCritical}, "0,,1,true,critical,\n"},
		{"invalid", fraud.JobResult{Row: 3, Error: `upload:5: column V1: "x" is not a number`}, "3,,,,,\"upload:5: column V1: \"\"x\"\" is not a number\"\n"},
		{"error with a leading space", fraud.JobResult{Row: 4, Error: " odd"}, "4,,,,,\" odd\"\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendResult(nil, &tc.r, false))
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			rec, err := csv.NewReader(strings.NewReader(ResultsHeader + "\n" + got)).ReadAll()
			if err != nil || len(rec) != 2 || len(rec[1]) != 6 || rec[1][5] != tc.r.Error {
				t.Errorf("read back %q (%v), want 6 columns with error %q", rec, err, tc.r.Error)
			}
		})
	}
}

// TestCheckRules reads rows as the batch intake does: Class ignored, every bad cell of a row
// listed in one error naming the row's line, and reading going on after it.
func TestCheckRules(t *testing.T) {
	input := ColumnID + "," + featureHeader() + ",Class\n" +
		"a," + row(1, "0") + "\n" +
		"b," + replaceCell(replaceCell(row(2, "not a label"), 1, "x"), fraud.NumFeatures-1, "-5") + "\n" +
		"bad id!," + row(3, "") + "\n" +
		"d," + row(4) + "\n" + // a field short
		"\"e\"x," + row(5, "0") + "\n" + // a malformed record
		"f," + replaceCell(row(6, "1"), 0, "-1") + "\n"
	rd, err := NewReader(strings.NewReader(input), "upload", Options{IgnoreClass: true, CheckRules: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, err string }{
		{"a", ""},
		{"b", `upload:3: column V1: "x" is not a number; column Amount: "-5" must be between 0 and 100000`},
		{"bad id!", "upload:4: column transaction_id: may contain only letters, digits and _-.:"},
		{"", "upload:5: row has 31 fields, header has 32"},
		{"", `upload:6: extraneous or missing " in quoted-field (at byte 3 of the line)`},
		{"f", `upload:7: column Time: "-1" must be >= 0`},
	}
	for i, w := range want {
		rec, err := rd.Next()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != w.err || (w.err == "" || strings.Contains(w.err, "column")) && rec.ID != w.id {
			t.Errorf("row %d: got %q, %q, want %q, %q", i, rec.ID, got, w.id, w.err)
		}
		if err == nil && (rec.Class != -1 || rec.Features[0] != 1 || rec.Features[29] != 30) {
			t.Errorf("row %d: got class %d, features %v; want -1 and the row's values", i, rec.Class, rec.Features[:2])
		}
	}
}

func TestAppendFixed(t *testing.T) {
	tests := []struct {
		v        float64
		decimals int
		want     string
	}{
		{0, 10, "0"},
		{math.Copysign(0, -1), 10, "0"},
		{1, 10, "1"},
		{-1.5, 10, "-1.5"},
		{-1.3598071336738, 10, "-1.3598071337"},
		{0.1 + 0.2, 10, "0.3"},
		{0.99999999999, 10, "1"},
		{0.000123456789012, 10, "0.0001234568"},
		{0.00001234, 10, "1.234e-05"},
		{123456789.5, 10, "123456789.5"},
		{149.62, 2, "149.62"},
		{1.1, 2, "1.1"},
		{25691.16, 2, "25691.16"},
		{172792, 0, "172792"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := string(appendFixed(nil, tc.v, tc.decimals)); got != tc.want {
				t.Errorf("appendFixed(%v, %d): got %q, want %q", tc.v, tc.decimals, got, tc.want)
			}
		})
	}
}

// FuzzAppendFixed checks that what appendFixed writes parses back to within half a unit of the
// last decimal place, or to 10 significant digits where it falls back to the 'g' format.
func FuzzAppendFixed(f *testing.F) {
	for _, v := range []float64{0, -1.3598071336738, 149.62, 1e-5, 3e8, 0.5e-10} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		s := string(appendFixed(nil, v, 10))
		got, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("appendFixed(%v) = %q does not parse: %v", v, s, err)
		}
		tol := 0.5e-10 + 1e-15*math.Abs(v)
		if a := math.Abs(v); !(a >= 1e-4 && a < 1e8) {
			tol = 1e-9 * a
		}
		if math.Abs(got-v) > tol {
			t.Errorf("appendFixed(%v) = %q: got %v back, want within %g", v, s, got, tol)
		}
	})
}

// TestAppendRowReadsBack checks that a row AppendRow writes is read back by Reader as the same
// transaction, to the decimals AppendRow keeps, with its class.
func TestAppendRowReadsBack(t *testing.T) {
	features := make([]float64, fraud.NumFeatures)
	features[0] = 406
	for i := 1; i < fraud.NumFeatures-1; i++ {
		features[i] = float64(i)*0.123456789012345 - 1.5
	}
	features[fraud.NumFeatures-1] = 149.62
	var buf []byte
	buf = append(buf, strings.Join(append(fraud.FeatureNames(), ColumnClass), ",")...)
	buf = append(buf, '\n')
	buf = AppendRow(buf, features, true)
	buf = AppendRow(buf, features, false)
	tab, err := ReadFrom(context.Background(), strings.NewReader(string(buf)), "rows.csv")
	if err != nil {
		t.Fatalf("reading back %q: %v", buf, err)
	}
	if tab.Rows() != 2 || tab.Frauds() != 1 {
		t.Fatalf("got %d rows with %d frauds, want 2 with 1", tab.Rows(), tab.Frauds())
	}
	for i, want := range features {
		if got := tab.Columns[i][0]; math.Abs(got-want) > 0.5e-10 {
			t.Errorf("column %d: got %v, want %v", i, got, want)
		}
	}
}

func TestAppendReason(t *testing.T) {
	tenth, fifth := 0.1, 0.2
	tests := []struct {
		feature string
		c       float64
		want    string
	}{
		{"V14", -(tenth + fifth), "V14:-0.30000000000000004"},
		{"Amount", 2.5e-7, "Amount:2.5e-07"},
		{"Time", 0, "Time:0"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := string(AppendReason([]byte("x,"), tc.feature, tc.c)); got != "x,"+tc.want {
				t.Fatalf("got %q, want %q", got, "x,"+tc.want)
			}
		})
	}
}
