package synth

import (
	"context"
	"math"
	"strings"
	"testing"
)

// FuzzReadRows checks that no input makes ReadRows panic, and that what it accepts is finite.
func FuzzReadRows(f *testing.F) {
	f.Add(wantHeader + "\n" + strings.Repeat("1,", 30) + "0\n")
	f.Add(wantHeader + "\r\n" + strings.Repeat("-0.5,", 30) + `"1"` + "\r\n")
	f.Add("Time\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ReadRows(context.Background(), strings.NewReader(in), "fuzz.csv")
		if err != nil {
			return
		}
		for _, r := range rows {
			for _, v := range r.Features {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("ReadRows accepted a non-finite value: %v", v)
				}
			}
		}
	})
}
