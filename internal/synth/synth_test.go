package synth

import (
	"github.com/fraudguard/fraudguard/internal/sharedtest"

	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// wantHeader is spelt out rather than built, so a change to the column list fails here.
const wantHeader = "Time,V1,V2,V3,V4,V5,V6,V7,V8,V9,V10,V11,V12,V13,V14,V15,V16,V17,V18,V19,V20," +
	"V21,V22,V23,V24,V25,V26,V27,V28,Amount,Class"

func mustDefaultParams(t testing.TB) *Params {
	t.Helper()
	p, err := DefaultParams()
	if err != nil {
		t.Fatalf("DefaultParams: %v", err)
	}
	return p
}

func mustGenerator(t testing.TB, p *Params, seed uint64, fraudRate float64, rows int) *Generator {
	t.Helper()
	g, err := NewGenerator(p, rand.New(rand.NewPCG(seed, 0)), fraudRate, rows)
	if err != nil {
		t.Fatalf("NewGenerator: %v", err)
	}
	return g
}

func mustCSV(t testing.TB, seed uint64, fraudRate float64, rows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := WriteCSV(context.Background(), &buf, mustGenerator(t, mustDefaultParams(t), seed, fraudRate, rows))
	if err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	if n != rows {
		t.Fatalf("WriteCSV wrote %d rows, want %d", n, rows)
	}
	return buf.Bytes()
}

// mustRows draws every row of a generator into memory; fine for tests, which stay small.
func mustRows(t testing.TB, seed uint64, fraudRate float64, rows int) []Row {
	t.Helper()
	g := mustGenerator(t, mustDefaultParams(t), seed, fraudRate, rows)
	out := make([]Row, 0, rows)
	var r Row
	for g.Next(&r) {
		out = append(out, r)
	}
	if len(out) != rows {
		t.Fatalf("generator gave %d rows, want %d", len(out), rows)
	}
	return out
}

func mustReadShared(t testing.TB, name string) []Row {
	t.Helper()
	f, err := os.Open(sharedtest.Data(t, name))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer f.Close()
	rows, err := ReadRows(context.Background(), f, name)
	if err != nil {
		t.Fatalf("ReadRows %s: %v", name, err)
	}
	return rows
}

func TestWriteCSVDeterministic(t *testing.T) {
	base := mustCSV(t, 1, DefaultFraudRate, 5000)
	tests := []struct {
		name      string
		seed      uint64
		fraudRate float64
		rows      int
		wantSame  bool
	}{
		{"same seed and flags", 1, DefaultFraudRate, 5000, true},
		{"other seed", 2, DefaultFraudRate, 5000, false},
		{"other fraud rate", 1, 0.01, 5000, false},
		{"other row count", 1, DefaultFraudRate, 5001, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mustCSV(t, tc.seed, tc.fraudRate, tc.rows)
			if same := bytes.Equal(got, base); same != tc.wantSame {
				t.Errorf("output identical to seed 1's: got %v, want %v", same, tc.wantSame)
			}
		})
	}
}

func TestWriteCSVFormat(t *testing.T) {
	out := mustCSV(t, 3, 0.05, 2000)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if lines[0] != wantHeader {
		t.Fatalf("header: got %q, want %q", lines[0], wantHeader)
	}
	if got := len(lines) - 1; got != 2000 {
		t.Fatalf("data lines: got %d, want 2000", got)
	}
	if !bytes.HasSuffix(out, []byte("\n")) {
		t.Errorf("output does not end with a newline")
	}
	rows, err := ReadRows(context.Background(), bytes.NewReader(out), "generated.csv")
	if err != nil {
		t.Fatalf("ReadRows of generated output: %v", err)
	}
	want := mustRows(t, 3, 0.05, 2000)
	for i := range rows {
		if rows[i].Fraud != want[i].Fraud {
			t.Fatalf("row %d Class: got %v, want %v", i+1, rows[i].Fraud, want[i].Fraud)
		}
		for j, v := range rows[i].Features {
			if w := want[i].Features[j]; math.Abs(v-w) > 1e-9*math.Max(1, math.Abs(w)) {
				t.Fatalf("row %d feature %d: got %v, want %v", i+1, j, v, w)
			}
		}
		a := rows[i].Features[amountIndex]
		if cents := a * 100; math.Abs(cents-math.Round(cents)) > 1e-6 || a < 0 || a > MaxAmount {
			t.Fatalf("row %d Amount: got %v, want whole cents in [0, %v]", i+1, a, MaxAmount)
		}
	}
}

func TestFraudShare(t *testing.T) {
	tests := []struct {
		name      string
		fraudRate float64
		rows      int
	}{
		{"real rate", DefaultFraudRate, 200_000},
		{"ten percent", 0.1, 200_000},
		{"no fraud", 0, 50_000},
		{"all fraud", 1, 20_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := mustGenerator(t, mustDefaultParams(t), 42, tc.fraudRate, tc.rows)
			var r Row
			frauds := 0
			for g.Next(&r) {
				if r.Fraud {
					frauds++
				}
			}
			n := float64(tc.rows)
			want := n * tc.fraudRate
			// Five binomial standard deviations: a fixed seed makes this exact, and a correct
			// generator would miss it with probability below one in a million for any seed.
			tol := 5 * math.Sqrt(n*tc.fraudRate*(1-tc.fraudRate))
			if math.Abs(float64(frauds)-want) > tol {
				t.Errorf("fraud rows: got %d, want %.0f ± %.0f", frauds, want, tol)
			}
			if gotRows, gotFrauds := g.Counts(); gotRows != tc.rows || gotFrauds != frauds {
				t.Errorf("Counts: got (%d, %d), want (%d, %d)", gotRows, gotFrauds, tc.rows, frauds)
			}
		})
	}
}

func TestTimeOrderAndRange(t *testing.T) {
	tests := []struct {
		name      string
		fraudRate float64
		rows      int
	}{
		{"one row", DefaultFraudRate, 1},
		{"two rows", DefaultFraudRate, 2},
		{"many rows", DefaultFraudRate, 100_000},
		{"only fraud", 1, 5000},
	}
	p := mustDefaultParams(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := mustRows(t, 9, tc.fraudRate, tc.rows)
			prev := 0.0
			for i, r := range rows {
				tm := r.Features[timeIndex]
				if tm < prev {
					t.Fatalf("row %d Time: got %v after %v, want non-decreasing", i+1, tm, prev)
				}
				if tm < 0 || tm > p.TimeSpan || tm != math.Floor(tm) {
					t.Fatalf("row %d Time: got %v, want whole seconds in [0, %v]", i+1, tm, p.TimeSpan)
				}
				prev = tm
			}
			if tc.rows >= 100_000 {
				first, last := rows[0].Features[timeIndex], rows[len(rows)-1].Features[timeIndex]
				if first > 60 || last < p.TimeSpan-60 {
					t.Errorf("Time covers [%v, %v], want about [0, %v]", first, last, p.TimeSpan)
				}
			}
		})
	}
}

func TestTimeOfDayFollowsHourRates(t *testing.T) {
	p := mustDefaultParams(t)
	const n = 200_000
	rows := mustRows(t, 5, 0, n)
	var count, exposure [24]float64
	for _, r := range rows {
		count[hourOfDay(r.Features[timeIndex])]++
	}
	for start := 0.0; start < p.TimeSpan; start += 3600 {
		exposure[hourOfDay(start)] += min(3600, p.TimeSpan-start)
	}
	total := 0.0
	for h := range exposure {
		total += p.Normal.HourRate[h] * exposure[h]
	}
	for h := range count {
		share := p.Normal.HourRate[h] * exposure[h] / total
		want := n * share
		tol := 5 * math.Sqrt(n*share*(1-share))
		if math.Abs(count[h]-want) > tol {
			t.Errorf("rows in hour %d: got %.0f, want %.0f ± %.0f", h, count[h], want, tol)
		}
	}
	if night, day := count[3], count[14]; night*2 > day {
		t.Errorf("rows at 03:00 and 14:00: got %.0f and %.0f, want a day/night cycle (night under half of day)", night, day)
	}
}

// quantileMoments returns the mean and standard deviation of the distribution whose quantile
// function interpolates q at probs linearly: what the generator's marginals reproduce.
func quantileMoments(probs, q []float64) (mean, std float64) {
	var m1, m2 float64
	for j := 1; j < len(probs); j++ {
		dp := probs[j] - probs[j-1]
		a, b := q[j-1], q[j]
		m1 += dp * (a + b) / 2
		m2 += dp * (a*a + a*b + b*b) / 3
	}
	return m1, math.Sqrt(max(0, m2-m1*m1))
}

func meanStd(x []float64) (float64, float64) {
	var s, ss float64
	for _, v := range x {
		s += v
	}
	m := s / float64(len(x))
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return m, math.Sqrt(ss / float64(len(x)-1))
}

func medianOf(x []float64) float64 {
	x = slices.Clone(x)
	slices.Sort(x)
	n := len(x)
	if n%2 == 1 {
		return x[n/2]
	}
	return (x[n/2-1] + x[n/2]) / 2
}

func TestGeneratedStatsMatchParams(t *testing.T) {
	p := mustDefaultParams(t)
	rows := mustRows(t, 11, 0.5, 200_000)
	byClass := map[bool][]Row{}
	for _, r := range rows {
		byClass[r.Fraud] = append(byClass[r.Fraud], r)
	}
	classes := []struct {
		name  string
		fraud bool
		cp    *ClassParams
	}{{"normal", false, &p.Normal}, {"fraud", true, &p.Fraud}}
	for _, c := range classes {
		for _, v := range []int{14, 17, 12, 10} {
			t.Run(c.name+"/V"+strconv.Itoa(v), func(t *testing.T) {
				col := make([]float64, len(byClass[c.fraud]))
				for i, r := range byClass[c.fraud] {
					col[i] = r.Features[v]
				}
				gotMean, gotStd := meanStd(col)
				wantMean, wantStd := quantileMoments(p.QuantileProbs, c.cp.Quantiles[v-1])
				if math.Abs(gotMean-wantMean) > 0.03*wantStd {
					t.Errorf("mean: got %.4f, want %.4f ± %.4f", gotMean, wantMean, 0.03*wantStd)
				}
				if math.Abs(gotStd-wantStd) > 0.03*wantStd {
					t.Errorf("std: got %.4f, want %.4f ± 3%%", gotStd, wantStd)
				}
			})
		}
		t.Run(c.name+"/Amount median", func(t *testing.T) {
			col := make([]float64, len(byClass[c.fraud]))
			for i, r := range byClass[c.fraud] {
				col[i] = r.Features[amountIndex]
			}
			got := medianOf(col)
			want := quantileAt(p.QuantileProbs, c.cp.Quantiles[Dim-1], 0.5)
			if tol := 0.05*want + 0.05; math.Abs(got-want) > tol {
				t.Errorf("Amount median: got %.2f, want %.2f ± %.2f", got, want, tol)
			}
		})
	}
}

func TestWriteCSVCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	g := mustGenerator(t, mustDefaultParams(t), 1, DefaultFraudRate, 100_000)
	n, err := WriteCSV(ctx, &buf, g)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error: got %v, want context.Canceled", err)
	}
	if n != 0 {
		t.Errorf("rows written: got %d, want 0", n)
	}
}

func TestNewGeneratorRejects(t *testing.T) {
	p := mustDefaultParams(t)
	rng := rand.New(rand.NewPCG(1, 0))
	tests := []struct {
		name      string
		p         *Params
		rng       *rand.Rand
		fraudRate float64
		rows      int
		want      string
	}{
		{"nil params", nil, rng, 0.1, 10, "nil params"},
		{"nil rng", p, nil, 0.1, 10, "nil rand.Rand"},
		{"negative rate", p, rng, -0.1, 10, "fraud rate"},
		{"rate above one", p, rng, 1.5, 10, "fraud rate"},
		{"NaN rate", p, rng, math.NaN(), 10, "fraud rate"},
		{"negative rows", p, rng, 0.1, -1, "rows"},
		{"invalid params", &Params{}, rng, 0.1, 10, "dims"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewGenerator(tc.p, tc.rng, tc.fraudRate, tc.rows)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error: got %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParamsRoundTrip(t *testing.T) {
	p := mustDefaultParams(t)
	var buf bytes.Buffer
	if err := p.WriteJSON(&buf); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), defaultParamsJSON) {
		t.Errorf("WriteJSON of the embedded params differs from params.json; got %d bytes, want %d", buf.Len(), len(defaultParamsJSON))
	}
	q, err := ParseParams(buf.Bytes())
	if err != nil {
		t.Fatalf("ParseParams: %v", err)
	}
	var again bytes.Buffer
	if err := q.WriteJSON(&again); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Errorf("params changed over a round trip")
	}
}

func TestParseParamsRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Params)
		want   string
	}{
		{"dim names", func(p *Params) { p.Dims[0] = "X" }, `dims[0]: got "X", want "V1"`},
		{"time span", func(p *Params) { p.TimeSpan = 0 }, "time_span_seconds"},
		{"probs not ending at one", func(p *Params) { p.QuantileProbs[len(p.QuantileProbs)-1] = 0.9999 }, "quantile_probs"},
		{"negative hour rate", func(p *Params) { p.Fraud.HourRate[3] = -1 }, "fraud.hour_rate[3]"},
		{"zero weight", func(p *Params) { p.Normal.Components[0].Weight = 0 }, "normal.components[0].weight"},
		{"weights not summing to one", func(p *Params) { p.Normal.Components[0].Weight *= 2 }, "weights sum to"},
		{"short mean", func(p *Params) { p.Fraud.Components[0].Mean = p.Fraud.Components[0].Mean[:3] }, "fraud.components[0].mean"},
		{"zero Cholesky diagonal", func(p *Params) { p.Fraud.Components[1].Chol[4][4] = 0 }, "fraud.components[1].chol[4][4]"},
		{"ragged Cholesky row", func(p *Params) { p.Normal.Components[0].Chol[2] = []float64{1} }, "normal.components[0].chol[2]"},
		{"decreasing quantiles", func(p *Params) { p.Normal.Quantiles[5][10] = 1e9 }, "normal.quantiles[5][11]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustDefaultParams(t)
			tc.mutate(p)
			var buf bytes.Buffer
			if err := p.WriteJSON(&buf); err != nil {
				t.Fatalf("WriteJSON: %v", err)
			}
			_, err := ParseParams(buf.Bytes())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error: got %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("unknown field", func(t *testing.T) {
		_, err := ParseParams([]byte(`{"sauce": 1}`))
		if err == nil || !strings.Contains(err.Error(), "sauce") {
			t.Errorf("error: got %v, want one naming the unknown field", err)
		}
	})
}

func TestReadRows(t *testing.T) {
	row := "0,-1.3598071336738,-0.0727811733098497,2.53634673796914,1.37815522427443,-0.338320769942518," +
		"0.462387777762292,0.239598554061257,0.0986979012610507,0.363786969611213,0.0907941719789316," +
		"-0.551599533260813,-0.617800855762348,-0.991389847235408,-0.311169353699879,1.46817697209427," +
		"-0.470400525259478,0.207971241929242,0.0257905801985591,0.403992960255733,0.251412098239705," +
		"-0.018306777944153,0.277837575558899,-0.110473910188767,0.0669280749146731,0.128539358273528," +
		"-0.189114843888824,0.133558376740387,-0.0210530534538215,149.62,"
	tests := []struct {
		name      string
		in        string
		wantRows  int
		wantFraud bool
		wantErr   string
	}{
		{"original quoting", wantHeader + "\n" + row + `"0"` + "\n", 1, false, ""},
		{"CRLF and 1.0 class", wantHeader + "\r\n" + row + "1.0\r\n", 1, true, ""},
		{"header only", wantHeader + "\n", 0, false, ""},
		{"wrong header", strings.Replace(wantHeader, "V7", "V77", 1) + "\n", 0, false, "V77"},
		{"bad number", wantHeader + "\n" + strings.Replace(row, "149.62", "abc", 1) + "0\n", 0, false, `t.csv:2: column Amount: "abc" is not a number`},
		{"bad class", wantHeader + "\n" + row + "2\n", 0, false, `t.csv:2: column Class: "2"`},
		{"short line", wantHeader + "\n1,2,3\n", 0, false, "t.csv:2: row has 3 fields, header has 31"},
		{"empty", "", 0, false, "t.csv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := ReadRows(context.Background(), strings.NewReader(tc.in), "t.csv")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error: got %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: got %v, want nil", err)
			}
			if len(rows) != tc.wantRows {
				t.Fatalf("rows: got %d, want %d", len(rows), tc.wantRows)
			}
			if tc.wantRows > 0 {
				if rows[0].Fraud != tc.wantFraud {
					t.Errorf("Fraud: got %v, want %v", rows[0].Fraud, tc.wantFraud)
				}
				if got := rows[0].Features[amountIndex]; got != 149.62 {
					t.Errorf("Amount: got %v, want 149.62", got)
				}
			}
		})
	}
}

func TestFitRealData(t *testing.T) {
	rows := mustReadShared(t, "creditcard-sample-train.csv")
	p, err := Fit(rows, FitOptions{Source: "creditcard-sample-train.csv"})
	if err != nil {
		t.Fatalf("Fit: %v", err)
	}
	mixMean := func(c *ClassParams, d int) float64 {
		m := 0.0
		for _, comp := range c.Components {
			m += comp.Weight * comp.Mean[d]
		}
		return m
	}
	const v14 = 13
	normal, fraudMean := mixMean(&p.Normal, v14), mixMean(&p.Fraud, v14)
	if math.Abs(normal) > 0.5 {
		t.Errorf("normal mean V14: got %.3f, want near 0 (PCA components are centred)", normal)
	}
	if fraudMean > normal-3 {
		t.Errorf("fraud mean V14: got %.3f, want well below the normal mean %.3f (at least 3 lower)", fraudMean, normal)
	}
	if p.Normal.Rows+p.Fraud.Rows != len(rows) {
		t.Errorf("rows: got %d + %d, want %d", p.Normal.Rows, p.Fraud.Rows, len(rows))
	}
	// The real data's quietest hours are around 03:00; the busiest in the afternoon.
	if p.Normal.HourRate[3] > 0.5 || p.Normal.HourRate[15] < 1 {
		t.Errorf("normal hour rates at 03:00 and 15:00: got %.2f and %.2f, want < 0.5 and > 1", p.Normal.HourRate[3], p.Normal.HourRate[15])
	}

	again, err := Fit(rows, FitOptions{Source: "creditcard-sample-train.csv"})
	if err != nil {
		t.Fatalf("second Fit: %v", err)
	}
	var a, b bytes.Buffer
	if err := p.WriteJSON(&a); err != nil {
		t.Fatal(err)
	}
	if err := again.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("two fits of the same rows differ; want identical params")
	}
	// The shipped params must be a fit of this file, up to floating-point differences between
	// platforms; if not, params.json is stale.
	if d := paramsDiff(p, mustDefaultParams(t)); d != "" {
		t.Errorf("embedded params.json is not a fit of creditcard-sample-train.csv (%s); refit it", d)
	}
}

// paramsDiff describes the first number that differs by more than a relative 1e-6 between a
// and b, or returns "".
func paramsDiff(a, b *Params) string {
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-6*math.Max(1, math.Max(math.Abs(x), math.Abs(y))) }
	var diff string
	check := func(where string, x, y []float64) {
		if diff != "" {
			return
		}
		if len(x) != len(y) {
			diff = where + ": lengths differ"
			return
		}
		for i := range x {
			if !near(x[i], y[i]) {
				diff = where + ": " + strconv.FormatFloat(x[i], 'g', -1, 64) + " vs " + strconv.FormatFloat(y[i], 'g', -1, 64)
				return
			}
		}
	}
	check("quantile_probs", a.QuantileProbs, b.QuantileProbs)
	check("time_span_seconds", []float64{a.TimeSpan}, []float64{b.TimeSpan})
	for _, c := range []struct {
		name string
		x, y *ClassParams
	}{{"normal", &a.Normal, &b.Normal}, {"fraud", &a.Fraud, &b.Fraud}} {
		check(c.name+".rows", []float64{float64(c.x.Rows)}, []float64{float64(c.y.Rows)})
		check(c.name+".hour_rate", c.x.HourRate[:], c.y.HourRate[:])
		if len(c.x.Components) != len(c.y.Components) {
			check(c.name+".components", make([]float64, len(c.x.Components)), make([]float64, len(c.y.Components)))
			continue
		}
		for k := range c.x.Components {
			cx, cy := &c.x.Components[k], &c.y.Components[k]
			check(c.name+".weight", []float64{cx.Weight}, []float64{cy.Weight})
			check(c.name+".mean", cx.Mean, cy.Mean)
			for i := range cx.Chol {
				check(c.name+".chol", cx.Chol[i], cy.Chol[i])
			}
		}
		for d := range c.x.Quantiles {
			check(c.name+".quantiles", c.x.Quantiles[d], c.y.Quantiles[d])
		}
	}
	return diff
}
