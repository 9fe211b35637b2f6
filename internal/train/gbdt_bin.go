package train

import (
	"cmp"
	"math"
	"slices"
	"sort"
)

// MaxBins bounds the bins of one feature, the missing-value bin included, so that a bin index
// fits in a byte.
const MaxBins = 256

// binning maps each feature's values to bins: bin b of feature j holds the values x with
// cuts[j][b-1] <= x < cuts[j][b] (the first bin is open below, the last above), and NaN goes
// to the feature's missing bin, numBins(j). Sending bins 0..b left is therefore the split
// x < cuts[j][b] on raw values, which is exactly how model.TreeEnsemble compares in float64.
type binning struct {
	cuts [][]float64
	// total counts the bins of every feature, missing bins included.
	total int
}

// numBins returns the number of value bins of feature j (1 for a constant feature: it cannot
// be split).
func (b *binning) numBins(j int) int { return len(b.cuts[j]) + 1 }

// missingBin returns the bin of NaN values of feature j.
func (b *binning) missingBin(j int) uint8 { return uint8(len(b.cuts[j]) + 1) }

// bin returns the bin of x in feature j.
func (b *binning) bin(j int, x float64) uint8 {
	if x != x {
		return b.missingBin(j)
	}
	cuts := b.cuts[j]
	// The number of cuts <= x.
	return uint8(sort.Search(len(cuts), func(k int) bool { return cuts[k] > x }))
}

// newBinning computes each feature's cuts from weighted quantiles of its values over rows
// (indices into the columns), with at most maxBins-1 value bins per feature (one bin is kept
// for missing values). A feature with no more distinct values than that gets one bin per value,
// cut at midpoints; otherwise cuts are placed so that each bin holds about the same weight, a
// value never being split across bins. Features are processed in parallel; the result does not
// depend on how many workers there are.
func newBinning(cols [][]float64, rows []int, weights []float64, maxBins, workers int) *binning {
	b := &binning{cuts: make([][]float64, len(cols))}
	parallelFor(workers, len(cols), func(j int) {
		b.cuts[j] = featureCuts(cols[j], rows, weights, maxBins-1)
	})
	for j := range cols {
		b.total += b.numBins(j) + 1
	}
	return b
}

// featureCuts returns the cuts of one feature: at most maxValueBins-1 increasing values.
func featureCuts(col []float64, rows []int, weights []float64, maxValueBins int) []float64 {
	type vw struct{ v, w float64 }
	pts := make([]vw, 0, len(rows))
	for k, i := range rows {
		if x := col[i]; x == x {
			pts = append(pts, vw{x, weights[k]})
		}
	}
	slices.SortFunc(pts, func(a, b vw) int { return cmp.Compare(a.v, b.v) })
	// Merge equal values, summing their weights.
	distinct := pts[:0]
	for _, p := range pts {
		if n := len(distinct); n > 0 && distinct[n-1].v == p.v {
			distinct[n-1].w += p.w
			continue
		}
		distinct = append(distinct, p)
	}
	if len(distinct) <= 1 || maxValueBins < 2 {
		return nil
	}
	var cuts []float64
	if len(distinct) <= maxValueBins {
		cuts = make([]float64, 0, len(distinct)-1)
		for k := 1; k < len(distinct); k++ {
			cuts = append(cuts, midpoint(distinct[k-1].v, distinct[k].v))
		}
		return cuts
	}
	var total float64
	for _, p := range distinct {
		total += p.w
	}
	// Cut after the value where the running weight first reaches the next multiple of
	// total/maxValueBins. A heavy value may reach several multiples at once; it then costs
	// bins, never splits.
	var acc float64
	for k := 0; k < len(distinct)-1 && len(cuts) < maxValueBins-1; k++ {
		acc += distinct[k].w
		if acc >= total*float64(len(cuts)+1)/float64(maxValueBins) {
			cuts = append(cuts, midpoint(distinct[k].v, distinct[k+1].v))
		}
	}
	if len(cuts) == 0 {
		// Every weight sits on the last value (zero-weight rows elsewhere): split it off.
		cuts = append(cuts, midpoint(distinct[len(distinct)-2].v, distinct[len(distinct)-1].v))
	}
	return cuts
}

// midpoint returns a cut between a < b: their midpoint, or b when a and b are so close that
// the midpoint rounds to a. Then a < cut <= b, so a goes below the cut and b above.
func midpoint(a, b float64) float64 {
	m := a + (b-a)/2
	if math.IsInf(b-a, 0) {
		m = a/2 + b/2
	}
	if !(m > a) || m > b {
		return b
	}
	return m
}

// binColumns returns, for each feature, the bin of each of rows, in the order of rows.
func (b *binning) binColumns(cols [][]float64, rows []int, workers int) [][]uint8 {
	out := make([][]uint8, len(cols))
	parallelFor(workers, len(cols), func(j int) {
		bins := make([]uint8, len(rows))
		for k, i := range rows {
			bins[k] = b.bin(j, cols[j][i])
		}
		out[j] = bins
	})
	return out
}
