package lightgbm

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dmitryikh/leaves"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

// The tests and benchmarks here compare the imported ensemble with github.com/dmitryikh/leaves,
// a pure-Go LightGBM predictor, on the shared breast-cancer model.

func mustLoadLeaves(t testing.TB, path string) *leaves.Ensemble {
	t.Helper()
	lv, err := leaves.LGEnsembleFromFile(path, false) // raw scores
	if err != nil {
		t.Fatal(err)
	}
	return lv
}

// featureRanges reads feature_infos, the [min:max] of each feature in the training data.
func featureRanges(t testing.TB, m *Model, data []byte) [][2]float64 {
	t.Helper()
	for line := range strings.Lines(string(data)) {
		infos, ok := strings.CutPrefix(strings.TrimSpace(line), "feature_infos=")
		if !ok {
			continue
		}
		var out [][2]float64
		for _, f := range strings.Fields(infos) {
			lo, hi, _ := strings.Cut(strings.Trim(f, "[]"), ":")
			a, err1 := strconv.ParseFloat(lo, 64)
			b, err2 := strconv.ParseFloat(hi, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("feature_infos entry %q", f)
			}
			out = append(out, [2]float64{a, b})
		}
		if len(out) != len(m.FeatureNames) {
			t.Fatalf("%d feature ranges for %d features", len(out), len(m.FeatureNames))
		}
		return out
	}
	t.Fatal("no feature_infos line")
	return nil
}

// spreadRows returns n rows drawn uniformly within the features' training ranges, so that
// every branch is taken often and no path can be learnt by the branch predictor.
func spreadRows(ranges [][2]float64, n int) [][fraud.NumFeatures]float64 {
	rng := rand.New(rand.NewPCG(21, 22))
	rows := make([][fraud.NumFeatures]float64, n)
	for i := range rows {
		for j, r := range ranges {
			rows[i][j] = r[0] + rng.Float64()*(r[1]-r[0])
		}
	}
	return rows
}

func TestAgreesWithLeaves(t *testing.T) {
	dir := sharedtest.Testdata(t, "lightgbm")
	for _, name := range []string{"lg_breast_cancer.txt", "lg_dart_breast_cancer.model"} {
		path := filepath.Join(dir, name)
		m, e := mustImportPositional(t, path)
		lv := mustLoadLeaves(t, path)
		rows := append(positionalRows(t, mustReadTable(t, filepath.Join(dir, "lg_breast_cancer_data.txt"))),
			spreadRows(featureRanges(t, m, mustReadFile(t, path)), 2000)...)
		for i := range rows {
			got, want := e.Margin(&rows[i]), lv.PredictSingle(rows[i][:], 0)
			if math.Abs(got-want) > 1e-12 {
				t.Fatalf("%s, row %d: got raw score %.17g, leaves gives %.17g", name, i, got, want)
			}
		}
	}
}

// BenchmarkBreastCancer scores lg_breast_cancer.txt (39 trees) one row at a time, with this
// package's ensemble and with leaves' PredictSingle, on the shared data rows and on rows spread
// over the features' ranges; ns/op is ns/row.
func BenchmarkBreastCancer(b *testing.B) {
	dir := sharedtest.Testdata(b, "lightgbm")
	path := filepath.Join(dir, "lg_breast_cancer.txt")
	m, e := mustImportPositional(b, path)
	lv := mustLoadLeaves(b, path)
	sets := []struct {
		name string
		rows [][fraud.NumFeatures]float64
	}{
		{"data", positionalRows(b, mustReadTable(b, filepath.Join(dir, "lg_breast_cancer_data.txt")))},
		{"spread", spreadRows(featureRanges(b, m, mustReadFile(b, path)), 4096)},
	}
	for _, set := range sets {
		rows := set.rows
		b.Run(set.name+"/fraudguard", func(b *testing.B) {
			b.ReportAllocs()
			var sink float64
			i := 0
			for b.Loop() {
				sink += e.Margin(&rows[i%len(rows)])
				i++
			}
			_ = sink
		})
		b.Run(set.name+"/leaves", func(b *testing.B) {
			b.ReportAllocs()
			var sink float64
			i := 0
			for b.Loop() {
				sink += lv.PredictSingle(rows[i%len(rows)][:], 0)
				i++
			}
			_ = sink
		})
	}
}
