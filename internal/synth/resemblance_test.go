package synth

import (
	"math"
	"slices"
	"testing"
)

// ksDistance returns the two-sample Kolmogorov–Smirnov statistic: the largest gap between the
// empirical CDFs of a and b.
func ksDistance(a, b []float64) float64 {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	i, j, d := 0, 0, 0.0
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] == x {
			i++
		}
		for j < len(b) && b[j] == x {
			j++
		}
		d = max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}

// rankCorrelations returns the Spearman correlation of every pair of columns (a < b), in a
// fixed order.
func rankCorrelations(cols [][]float64) []float64 {
	ranked := make([][]float64, len(cols))
	for d, col := range cols {
		idx := make([]int, len(col))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(x, y int) int {
			switch {
			case col[x] < col[y]:
				return -1
			case col[x] > col[y]:
				return 1
			}
			return 0
		})
		r := make([]float64, len(col))
		for k, i := range idx {
			r[i] = float64(k)
		}
		ranked[d] = r
	}
	var out []float64
	for a := range ranked {
		for b := range a {
			out = append(out, pearson(ranked[a], ranked[b]))
		}
	}
	return out
}

func pearson(x, y []float64) float64 {
	mx, _ := meanStd(x)
	my, _ := meanStd(y)
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}

// columns returns V1..V28 and Amount of the rows of one class.
func columns(rows []Row, fraud bool) [][]float64 {
	cols := make([][]float64, Dim)
	for _, r := range rows {
		if r.Fraud != fraud {
			continue
		}
		for d := range Dim {
			cols[d] = append(cols[d], r.Features[1+d])
		}
	}
	return cols
}

// TestResemblesRealData compares generated rows with the real sample the shipped parameters
// were fitted on: every feature's distribution (Kolmogorov–Smirnov distance), the means of the
// features that separate the classes best, the Amount median, and the rank correlations
// between features.
func TestResemblesRealData(t *testing.T) {
	real := mustReadShared(t, "creditcard-sample-train.csv")
	gen := mustRows(t, 21, 0.5, 40_000)
	tests := []struct {
		name  string
		fraud bool
		// Bounds sit above what the shipped parameters reach (see the log) and below what a
		// broken generator gives: independent features, for instance, would leave a
		// correlation error of 0.076 for normal rows and 0.335 for fraud.
		maxKS, maxMeanKS, maxCorrErr float64
	}{
		{"normal", false, 0.04, 0.02, 0.06},
		{"fraud", true, 0.08, 0.05, 0.14},
	}
	names := DimNames()
	names[Dim-1] = "Amount"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, gc := columns(real, tc.fraud), columns(gen, tc.fraud)
			sumKS, worst, worstDim := 0.0, 0.0, 0
			for d := range Dim {
				ks := ksDistance(rc[d], gc[d])
				sumKS += ks
				if ks > worst {
					worst, worstDim = ks, d
				}
			}
			if worst > tc.maxKS {
				t.Errorf("largest KS distance: got %.3f (%s), want <= %.3f", worst, names[worstDim], tc.maxKS)
			}
			if m := sumKS / Dim; m > tc.maxMeanKS {
				t.Errorf("mean KS distance: got %.3f, want <= %.3f", m, tc.maxMeanKS)
			}
			for _, v := range []int{14, 17, 12, 10} {
				rm, rs := meanStd(rc[v-1])
				gm, gs := meanStd(gc[v-1])
				t.Logf("%s V%d: real mean %.3f std %.3f, generated mean %.3f std %.3f", tc.name, v, rm, rs, gm, gs)
				if math.Abs(gm-rm) > 0.1*rs {
					t.Errorf("V%d mean: got %.3f, want %.3f ± %.3f", v, gm, rm, 0.1*rs)
				}
			}
			rmed, gmed := medianOf(rc[Dim-1]), medianOf(gc[Dim-1])
			t.Logf("%s Amount median: real %.2f, generated %.2f", tc.name, rmed, gmed)
			if math.Abs(gmed-rmed) > 0.1*rmed+0.05 {
				t.Errorf("Amount median: got %.2f, want %.2f ± 10%%", gmed, rmed)
			}
			rcorr, gcorr := rankCorrelations(rc), rankCorrelations(gc)
			corrErr := 0.0
			for i := range rcorr {
				corrErr += math.Abs(rcorr[i] - gcorr[i])
			}
			corrErr /= float64(len(rcorr))
			t.Logf("%s: mean KS %.3f, largest KS %.3f (%s), mean rank-correlation error %.3f", tc.name, sumKS/Dim, worst, names[worstDim], corrErr)
			if corrErr > tc.maxCorrErr {
				t.Errorf("mean rank-correlation error: got %.3f, want <= %.3f", corrErr, tc.maxCorrErr)
			}
		})
	}
}
