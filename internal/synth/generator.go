package synth

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Generator produces synthetic rows one at a time, in non-decreasing Time order over
// [0, Params.TimeSpan]. Its memory does not grow with the number of rows. A Generator is not safe
// for concurrent use; its output depends only on its Params, the state of its rand.Rand, the
// fraud rate and the number of rows.
type Generator struct {
	rng      *rand.Rand
	rows     int
	done     int
	frauds   int
	u        float64 // the last uniform order statistic drawn
	timeSpan float64
	segStart []float64 // start of each hour-long time segment, in seconds
	segLen   []float64
	segCum   []float64 // probability mass of Time up to the end of each segment
	segFraud []float64 // P(fraud | Time in the segment)
	seg      int
	normal   *classSampler
	fraud    *classSampler
	z        [Dim]float64
}

// classSampler draws rows' features from one class's mixture and marginals.
type classSampler struct {
	cum    []float64 // cumulative component weights, the last one 1
	means  [][]float64
	chols  [][]float64 // packed lower-triangular
	margin [Dim]marginTable
}

// tableSize is the number of intervals of a marginTable. Finer tables change the output by
// far less than the sampling noise of the fitted quantiles.
const tableSize = 2048

// marginTable maps one dimension of a mixture draw to the output feature: the composition of
// the mixture's marginal CDF and the fitted quantile function, tabulated on an even grid and
// interpolated linearly. Tabulating keeps the per-row cost to a multiply and a lookup.
type marginTable struct {
	x0, inv float64 // grid start and 1/step
	vals    [tableSize + 1]float64
}

func (t *marginTable) at(x float64) float64 {
	f := (x - t.x0) * t.inv
	if !(f > 0) {
		return t.vals[0]
	}
	if f >= tableSize {
		return t.vals[tableSize]
	}
	j := int(f)
	a, b := t.vals[j], t.vals[j+1]
	return a + (f-float64(j))*(b-a)
}

// newMarginTable tabulates x ↦ Q(F(x)) where F is the marginal CDF of the mixture in one
// dimension (components with weights w, means mu and standard deviations sd) and Q the
// quantile function given by q at probs.
func newMarginTable(w, mu, sd []float64, probs, q []float64) marginTable {
	lo, hi := math.Inf(1), math.Inf(-1)
	for c := range w {
		lo = min(lo, mu[c]-9*sd[c])
		hi = max(hi, mu[c]+9*sd[c])
	}
	t := marginTable{x0: lo, inv: tableSize / (hi - lo)}
	step := (hi - lo) / tableSize
	for i := range t.vals {
		x := lo + float64(i)*step
		f := 0.0
		for c := range w {
			f += w[c] * 0.5 * math.Erfc(-(x-mu[c])/(sd[c]*math.Sqrt2))
		}
		t.vals[i] = quantileAt(probs, q, f)
	}
	return t
}

// quantileAt interpolates the quantile function given by q at probs (from 0 to 1) at p.
func quantileAt(probs, q []float64, p float64) float64 {
	if !(p > 0) {
		return q[0]
	}
	if p >= 1 {
		return q[len(q)-1]
	}
	j, _ := slices.BinarySearch(probs, p) // probs[j-1] < p <= probs[j]
	if j == 0 {
		return q[0]
	}
	a, b := probs[j-1], probs[j]
	return q[j-1] + (p-a)/(b-a)*(q[j]-q[j-1])
}

// NewGenerator returns a Generator of rows rows (rows >= 0) in which each row is fraud with
// probability fraudRate (0 <= fraudRate <= 1), drawing all randomness from rng. Fraud and normal
// rows follow their own hourly rates, so fraud is interleaved where the fitted data puts it, and
// the expected share of fraud over the whole span is fraudRate.
func NewGenerator(p *Params, rng *rand.Rand, fraudRate float64, rows int) (*Generator, error) {
	if p == nil {
		return nil, errors.New("synth: nil params")
	}
	if rng == nil {
		return nil, errors.New("synth: nil rand.Rand")
	}
	if !(fraudRate >= 0 && fraudRate <= 1) {
		return nil, fmt.Errorf("synth: fraud rate: got %v, want a number in [0, 1]", fraudRate)
	}
	if rows < 0 {
		return nil, fmt.Errorf("synth: rows: got %d, want >= 0", rows)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("synth: params: %w", err)
	}
	g := &Generator{
		rng:      rng,
		rows:     rows,
		timeSpan: p.TimeSpan,
		normal:   newClassSampler(&p.Normal, p.QuantileProbs),
		fraud:    newClassSampler(&p.Fraud, p.QuantileProbs),
	}
	if err := g.buildSegments(p, fraudRate); err != nil {
		return nil, err
	}
	return g, nil
}

func newClassSampler(c *ClassParams, probs []float64) *classSampler {
	s := &classSampler{}
	total := 0.0
	for _, comp := range c.Components {
		total += comp.Weight
	}
	acc := 0.0
	for _, comp := range c.Components {
		acc += comp.Weight
		s.cum = append(s.cum, acc/total)
		s.means = append(s.means, append([]float64(nil), comp.Mean...))
		packed := make([]float64, 0, Dim*(Dim+1)/2)
		for _, row := range comp.Chol {
			packed = append(packed, row...)
		}
		s.chols = append(s.chols, packed)
	}
	s.cum[len(s.cum)-1] = 1
	k := len(c.Components)
	w, mu, sd := make([]float64, k), make([]float64, k), make([]float64, k)
	for d := range Dim {
		for ci, comp := range c.Components {
			w[ci] = s.cum[ci]
			if ci > 0 {
				w[ci] -= s.cum[ci-1]
			}
			mu[ci] = comp.Mean[d]
			v := 0.0
			for _, l := range comp.Chol[d] {
				v += l * l
			}
			sd[ci] = math.Sqrt(v)
		}
		s.margin[d] = newMarginTable(w, mu, sd, probs, c.Quantiles[d])
	}
	return s
}

// buildSegments splits [0, TimeSpan] into hour-long segments and gives each its share of the
// mixture of the two classes' time densities.
func (g *Generator) buildSegments(p *Params, fraudRate float64) error {
	n := int(math.Ceil(p.TimeSpan / 3600))
	g.segStart = make([]float64, n)
	g.segLen = make([]float64, n)
	g.segCum = make([]float64, n)
	g.segFraud = make([]float64, n)
	normal := make([]float64, n)
	fraud := make([]float64, n)
	var sumN, sumF float64
	for k := range n {
		start := float64(k) * 3600
		g.segStart[k] = start
		g.segLen[k] = min(3600, p.TimeSpan-start)
		h := hourOfDay(start)
		normal[k] = p.Normal.HourRate[h] * g.segLen[k]
		fraud[k] = p.Fraud.HourRate[h] * g.segLen[k]
		sumN += normal[k]
		sumF += fraud[k]
	}
	if fraudRate < 1 && sumN == 0 {
		return errors.New("synth: params: normal hour rates are zero over the whole time span")
	}
	if fraudRate > 0 && sumF == 0 {
		return errors.New("synth: params: fraud hour rates are zero over the whole time span")
	}
	acc := 0.0
	for k := range n {
		var mN, mF float64
		if fraudRate < 1 {
			mN = (1 - fraudRate) * normal[k] / sumN
		}
		if fraudRate > 0 {
			mF = fraudRate * fraud[k] / sumF
		}
		if m := mN + mF; m > 0 {
			g.segFraud[k] = mF / m
		}
		acc += mN + mF
		g.segCum[k] = acc
	}
	for k := range g.segCum {
		g.segCum[k] /= acc
	}
	g.segCum[n-1] = 1
	return nil
}

// Remaining returns the number of rows Next will still produce.
func (g *Generator) Remaining() int { return g.rows - g.done }

// Counts returns the number of rows Next has produced so far and how many of them are fraud.
func (g *Generator) Counts() (rows, frauds int) { return g.done, g.frauds }

// Next fills r with the next row and reports true, or reports false once all rows are out.
// Time is a whole number of seconds; Amount is in cents, in [0, MaxAmount].
func (g *Generator) Next(r *Row) bool {
	left := g.rows - g.done
	if left <= 0 {
		return false
	}
	g.done++
	// The smallest of `left` uniforms on (u, 1): u + (1-u)·(1 - V^(1/left)). Drawing order
	// statistics this way yields sorted times without holding them all.
	v := 1 - g.rng.Float64() // in (0, 1]
	g.u += (1 - g.u) * -math.Expm1(math.Log(v)/float64(left))
	g.u = min(g.u, 1)
	for g.seg < len(g.segCum)-1 && g.u > g.segCum[g.seg] {
		g.seg++
	}
	lo := 0.0
	if g.seg > 0 {
		lo = g.segCum[g.seg-1]
	}
	frac := 0.0
	if mass := g.segCum[g.seg] - lo; mass > 0 {
		frac = min(1, max(0, (g.u-lo)/mass))
	}
	t := math.Floor(g.segStart[g.seg] + frac*g.segLen[g.seg])
	r.Features[timeIndex] = min(t, math.Floor(g.timeSpan))

	r.Fraud = g.segFraud[g.seg] > 0 && g.rng.Float64() < g.segFraud[g.seg]
	s := g.normal
	if r.Fraud {
		s = g.fraud
		g.frauds++
	}
	c := 0
	if len(s.cum) > 1 {
		w := g.rng.Float64()
		for c < len(s.cum)-1 && w >= s.cum[c] {
			c++
		}
	}
	mean, l := s.means[c], s.chols[c]
	z := &g.z
	for i := range z {
		z[i] = g.rng.NormFloat64()
	}
	off := 0
	for i := range Dim {
		x := mean[i]
		row := l[off : off+i+1]
		for k, lv := range row {
			x += lv * z[k]
		}
		off += i + 1
		r.Features[1+i] = s.margin[i].at(x)
	}
	a := r.Features[amountIndex]
	r.Features[amountIndex] = min(max(math.Round(a*100)/100, 0), MaxAmount)
	return true
}
