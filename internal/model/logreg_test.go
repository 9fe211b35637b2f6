package model

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// exampleRow returns a real creditcard.csv row: the first transaction of the data set, as given
// in the request contract's examples.
func exampleRow(t testing.TB) [fraud.NumFeatures]float64 {
	t.Helper()
	var x [fraud.NumFeatures]float64
	for _, f := range fraud.TransactionFields() {
		if f.Index < 0 {
			continue
		}
		v, err := json.Number(f.Example).Float64()
		if err != nil {
			t.Fatalf("example of %s: %v", f.Name, err)
		}
		x[f.Index] = v
	}
	return x
}

// testLogreg returns a logistic regression with varied, deterministic parameters.
func testLogreg(t testing.TB) *Logreg {
	t.Helper()
	var mean, scale, coef [fraud.NumFeatures]float64
	for j := range coef {
		mean[j] = 0.1 * float64(j-10)
		scale[j] = 0.5 + 0.05*float64(j)
		coef[j] = 0.3 * math.Sin(float64(j+1))
	}
	mean[0], scale[0] = 50000, 27000 // Time
	mean[29], scale[29] = 90, 250    // Amount
	l, err := NewLogreg(mean, scale, coef, -4.5)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLogregMarginMatchesDefinition(t *testing.T) {
	l := testLogreg(t)
	x := exampleRow(t)
	want := l.Intercept
	for j := range x {
		want += l.Coef[j] * (x[j] - l.Mean[j]) / l.Scale[j]
	}
	if got := l.Margin(&x); math.Abs(got-want) > 1e-12 {
		t.Errorf("got margin %.17g, want %.17g", got, want)
	}
}

func TestNewLogregRejects(t *testing.T) {
	var ok [fraud.NumFeatures]float64
	ones := ok
	for j := range ones {
		ones[j] = 1
	}
	with := func(a [fraud.NumFeatures]float64, j int, v float64) [fraud.NumFeatures]float64 {
		a[j] = v
		return a
	}
	tests := []struct {
		name              string
		mean, scale, coef [fraud.NumFeatures]float64
		intercept         float64
		wantErrSubstring  string
	}{
		{"zero scale", ok, with(ones, 4, 0), ok, 0, "scale of V4 is 0"},
		{"negative scale", ok, with(ones, 0, -1), ok, 0, "scale of Time is -1"},
		{"NaN mean", with(ok, 29, math.NaN()), ones, ok, 0, "mean of Amount is NaN"},
		{"infinite coefficient", ok, ones, with(ok, 1, math.Inf(1)), 0, "coefficient of V1 is +Inf"},
		{"NaN intercept", ok, ones, ok, math.NaN(), "intercept NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewLogreg(tc.mean, tc.scale, tc.coef, tc.intercept)
			if err == nil || !strings.Contains(err.Error(), tc.wantErrSubstring) {
				t.Errorf("got error %v, want one containing %q", err, tc.wantErrSubstring)
			}
		})
	}
}

func TestLogregFileRoundTrip(t *testing.T) {
	l := testLogreg(t)
	data, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := LoadLogreg(data)
	if err != nil {
		t.Fatal(err)
	}
	x := exampleRow(t)
	if got, want := mem.Margin(&x), l.Margin(&x); got != want {
		t.Errorf("got margin %.17g after a round trip, want %.17g exactly", got, want)
	}
}

func TestLoadLogregRejects(t *testing.T) {
	good, err := json.Marshal(testLogreg(t))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good[:len(good)/2], "logreg: decode"},
		{"not json", []byte("coef=1"), "logreg: decode"},
		{"wrong kind", edit(func(m map[string]any) { m["kind"] = "gbdt" }), `kind is "gbdt"`},
		{"short coef", edit(func(m map[string]any) { m["coef"] = []float64{1, 2} }), "coef has 2 values, want 30"},
		{"swapped features", edit(func(m map[string]any) {
			f := m["features"].([]any)
			f[1], f[2] = f[2], f[1]
		}), `features[1] is "V2", want "V1"`},
		{"zero scale", edit(func(m map[string]any) { m["scale"].([]any)[3] = 0.0 }), "scale of V3 is 0"},
		{"unknown field", edit(func(m map[string]any) { m["bias"] = 1 }), `unknown field "bias"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadLogreg(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLogregProbabilityDoesNotAllocate(t *testing.T) {
	m := mustLoad(t, mustSave(t, t.TempDir(), testBundle(t)))
	x := exampleRow(t)
	var sink float64
	if got := testing.AllocsPerRun(1000, func() { sink += m.Probability(&x) }); got != 0 {
		t.Errorf("got %v allocations per Probability, want 0", got)
	}
	_ = sink
}

func BenchmarkLogregProbability(b *testing.B) {
	m := mustLoad(b, mustSave(b, b.TempDir(), testBundle(b)))
	x := exampleRow(b)
	b.ReportAllocs()
	var sink float64
	for b.Loop() {
		sink += m.Probability(&x)
	}
	_ = sink
}
