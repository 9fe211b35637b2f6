package synth

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
)

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
