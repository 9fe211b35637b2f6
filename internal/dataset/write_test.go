package dataset

import (
	"encoding/csv"
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
			got := string(AppendResult(nil, &tc.r))
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
