package dataset

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

// TestResultsWithReasons writes results with their reason columns and reads them back: the
// cells are feature:contribution, empty on an invalid row, and read back as the same reasons.
func TestResultsWithReasons(t *testing.T) {
	reasons := []wire.Reason{{Feature: "V14", Contribution: -0.30000000000000004}, {Feature: "Amount", Contribution: 2.5e-07}, {Feature: "V4", Contribution: 0.1}}
	want := []fraud.JobResult{
		{Row: 0, Probability: 0.5, IsFraud: true, Risk: fraud.RiskHigh, Reasons: reasons},
		{Row: 1, Error: "bad"},
	}
	b := []byte(ResultsHeader + ReasonColumns + "\n")
	for i := range want {
		b = AppendResult(b, &want[i], true)
	}
	wantText := "row,transaction_id,fraud_probability,is_fraud,risk_level,error,reason_1,reason_2,reason_3\n" +
		"0,,0.5,true,high,,V14:-0.30000000000000004,Amount:2.5e-07,V4:0.1\n" +
		"1,,,,,bad,,,\n"
	if string(b) != wantText {
		t.Fatalf("got\n%s\nwant\n%s", b, wantText)
	}
	rr, err := NewResultsReader(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !rr.HasReasons() {
		t.Fatal("HasReasons: got false, want true")
	}
	for i := range want {
		var got fraud.JobResult
		if err := rr.Next(&got); err != nil || !reflect.DeepEqual(got, want[i]) {
			t.Errorf("row %d: got %+v (%v), want %+v", i, got, err, want[i])
		}
	}
	for name, bad := range map[string]string{
		"a reason column missing": ResultsHeader + ",reason_1,reason_2\n",
		"a reason without colon":  ResultsHeader + ReasonColumns + "\n0,,0.5,true,high,,V14,V1:1,V2:2\n",
	} {
		rr, err := NewResultsReader(strings.NewReader(bad))
		if err == nil {
			var r fraud.JobResult
			err = rr.Next(&r)
		}
		if err == nil {
			t.Errorf("%s: got no error, want one", name)
		}
	}
}

// TestResultsReaderReadsWhatAppendResultWrites writes results with AppendResult and reads
// them back, a transaction id that needs quoting and an invalid row included.
func TestResultsReaderReadsWhatAppendResultWrites(t *testing.T) {
	want := []fraud.JobResult{
		{Row: 0, TransactionID: "t-1", Probability: 0.0021, IsFraud: false, Risk: fraud.RiskLow},
		{Row: 1, TransactionID: " a, \"quoted\" id", Probability: 0.97, IsFraud: true, Risk: fraud.RiskCritical},
		{Row: 2, Error: "line 4: V3: \"x\" is not a number"},
		{Row: 3, Probability: 1, IsFraud: true, Risk: fraud.RiskHigh},
	}
	b := []byte(ResultsHeader + "\n")
	for i := range want {
		b = AppendResult(b, &want[i], false)
	}
	rr, err := NewResultsReader(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		var got fraud.JobResult
		if err := rr.Next(&got); err != nil {
			t.Fatalf("row %d: got error %v", i, err)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("row %d: got %+v, want %+v", i, got, want[i])
		}
	}
	var r fraud.JobResult
	if err := rr.Next(&r); err != io.EOF {
		t.Errorf("after the last row: got %v, want io.EOF", err)
	}
}

func TestResultsReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "results: no header"},
		{"no risk column", "row,transaction_id,fraud_probability,is_fraud\n0,,0.1,false\n", "no risk_level column"},
		{"not a row number", ResultsHeader + "\nx,,0.1,false,low,\n", `results line 2: row "x" is not a row number`},
		{"probability above 1", ResultsHeader + "\n0,,1.5,true,high,\n", `results line 2: cannot read fraud_probability "1.5"`},
		{"probability not a number", ResultsHeader + "\n0,,NaN,false,low,\n", `cannot read fraud_probability "NaN"`},
		{"is_fraud not a boolean", ResultsHeader + "\n0,,0.1,maybe,low,\n", `is_fraud "maybe"`},
		{"no risk level", ResultsHeader + "\n0,,0.1,false,,\n", `risk_level ""`},
		{"short row", ResultsHeader + "\n0,,0.1\n", "wrong number of fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr, err := NewResultsReader(strings.NewReader(tc.in))
			if err == nil {
				var r fraud.JobResult
				err = rr.Next(&r)
			}
			if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
