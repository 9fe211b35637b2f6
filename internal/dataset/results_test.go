package dataset

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

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
		b = AppendResult(b, &want[i])
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
		if got != want[i] {
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
