package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

var testCreatedAt = time.Date(2024, 3, 5, 7, 8, 9, 0, time.UTC)

// syntheticTable returns n rows in time order whose features are standard normal noise and
// whose label follows a logistic model with the given intercept and log-odds 2·V1 − V2. Each
// normal row is kept with probability keepNormal, as in a downsampled file.
func syntheticTable(t testing.TB, n int, intercept, keepNormal float64, seed uint64) *dataset.Table {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	tbl := &dataset.Table{Name: "synthetic.csv"}
	for i := 0; tbl.Rows() < n; i++ {
		var x [fraud.NumFeatures]float64
		x[0] = float64(i)
		for j := 1; j < fraud.NumFeatures; j++ {
			x[j] = rng.NormFloat64()
		}
		x[fraud.NumFeatures-1] = math.Abs(x[fraud.NumFeatures-1]) * 100
		p := model.Sigmoid(intercept + 2*x[1] - x[2])
		y := uint8(0)
		if rng.Float64() < p {
			y = 1
		}
		if y == 0 && rng.Float64() >= keepNormal {
			continue
		}
		for j, v := range x {
			tbl.Columns[j] = append(tbl.Columns[j], v)
		}
		tbl.Labels = append(tbl.Labels, y)
		tbl.Lines = append(tbl.Lines, i+2)
	}
	return tbl
}

// mustLogreg trains on tbl, failing the test on error.
func mustLogreg(t testing.TB, tbl *dataset.Table, cfg Config) *Result {
	t.Helper()
	if cfg.CreatedAt.IsZero() {
		cfg.CreatedAt = testCreatedAt
	}
	res, err := Logreg(context.Background(), tbl, cfg)
	if err != nil {
		t.Fatalf("Logreg: %v", err)
	}
	return res
}

func TestLogregRecoversAModelAndItsPrior(t *testing.T) {
	const intercept = -3.0
	tests := []struct {
		name         string
		keepNormal   float64
		normalWeight float64
	}{
		{"full data", 1, 1},
		// A file keeping a tenth of the normal rows, each weighted 10, tells the same story.
		{"downsampled and reweighted", 0.1, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl := syntheticTable(t, 20000, intercept, tc.keepNormal, 7)
			res := mustLogreg(t, tbl, Config{L2: 1e-6, NormalWeight: tc.normalWeight})
			if !res.Converged {
				t.Fatalf("got no convergence after %d iterations, want convergence", res.Iterations)
			}
			l := res.Member
			var zero [fraud.NumFeatures]float64
			// With mean-0, scale-1 noise features the raw intercept is close to the margin at 0.
			if got := l.Margin(&zero); math.Abs(got-intercept) > 0.3 {
				t.Errorf("got margin at the origin %.3f, want about %.1f (the real prior, not the balanced one)", got, intercept)
			}
			if got := l.Coef[1] / l.Scale[1]; math.Abs(got-2) > 0.25 {
				t.Errorf("got V1 weight %.3f, want about 2", got)
			}
			if got := l.Coef[2] / l.Scale[2]; math.Abs(got+1) > 0.2 {
				t.Errorf("got V2 weight %.3f, want about -1", got)
			}
			if res.Validation.ROCAUC < 0.85 {
				t.Errorf("got validation ROC-AUC %.3f, want > 0.85", res.Validation.ROCAUC)
			}
		})
	}
}

// The optimum is where the gradient of the objective vanishes.
func TestNewtonReachesStationaryPoint(t *testing.T) {
	tbl := syntheticTable(t, 3000, -1, 1, 3)
	n := tbl.Rows()
	x := make([]float64, n*dim)
	y := make([]float64, n)
	s := make([]float64, n)
	for i := range n {
		x[i*dim] = 1
		for j := range fraud.NumFeatures {
			x[i*dim+j+1] = tbl.Columns[j][i]
		}
		x[i*dim+1] = float64(i) / float64(n) // keep Time on a unit scale
		y[i] = float64(tbl.Labels[i])
		s[i] = 1 / float64(n)
	}
	const l2 = 1e-3
	fit, err := newton(context.Background(), x, y, s, l2, 50, 1e-14)
	if err != nil {
		t.Fatal(err)
	}
	if !fit.converged {
		t.Fatalf("got no convergence after %d iterations", fit.iterations)
	}
	grad := make([]float64, dim)
	for i := range n {
		row := x[i*dim : (i+1)*dim]
		var eta float64
		for a, v := range row {
			eta += v * fit.theta[a]
		}
		g := s[i] * (model.Sigmoid(eta) - y[i])
		for a, v := range row {
			grad[a] += g * v
		}
	}
	for a := 1; a < dim; a++ {
		grad[a] += l2 * fit.theta[a]
	}
	for a, g := range grad {
		if math.Abs(g) > 1e-7 {
			t.Errorf("got gradient[%d] = %g at the solution, want about 0", a, g)
		}
	}
}

func TestLogregSeparableData(t *testing.T) {
	// Frauds have V1 > 1, normals V1 < -1: perfectly separable, with the classes interleaved
	// in time so both splits hold both.
	tbl := &dataset.Table{Name: "separable.csv"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 400 {
		var x [fraud.NumFeatures]float64
		x[0] = float64(i)
		for j := 1; j < fraud.NumFeatures; j++ {
			x[j] = rng.NormFloat64()
		}
		y := uint8(0)
		if i%5 == 0 {
			y = 1
			x[1] = 1 + math.Abs(x[1])
		} else {
			x[1] = -1 - math.Abs(x[1])
		}
		for j, v := range x {
			tbl.Columns[j] = append(tbl.Columns[j], v)
		}
		tbl.Labels = append(tbl.Labels, y)
	}
	norms := map[float64]float64{}
	for _, l2 := range []float64{DefaultL2, 0} {
		a := mustLogreg(t, tbl, Config{L2: l2, MaxIter: 40})
		b := mustLogreg(t, tbl, Config{L2: l2, MaxIter: 40})
		if !a.Converged {
			t.Errorf("l2=%v: got no convergence after %d iterations, want convergence", l2, a.Iterations)
		}
		if a.Member.Coef != b.Member.Coef || a.Member.Intercept != b.Member.Intercept {
			t.Errorf("l2=%v: got different coefficients from two identical runs, want bit-identical results", l2)
		}
		// The threshold, chosen on the tuning rows, need not separate the later rows perfectly
		// when the fit's scores saturate; the ranking does.
		if a.Validation.ROCAUC != 1 || a.Tuning.F1 != 1 {
			t.Errorf("l2=%v: got validation ROC-AUC %v and tuning F1 %v, want 1 and 1", l2, a.Validation.ROCAUC, a.Tuning.F1)
		}
		for _, c := range a.Member.Coef {
			if math.IsNaN(c) || math.IsInf(c, 0) {
				t.Fatalf("l2=%v: got coefficient %v, want finite", l2, c)
			}
			norms[l2] += c * c
		}
	}
	// Without a penalty the likelihood has no maximum and Newton stops only once the loss is
	// within the tolerance of zero, with far larger weights.
	if !(norms[DefaultL2] < norms[0]/4) {
		t.Errorf("got squared coefficient norms %v (penalised) and %v (unpenalised), want the penalised far smaller", norms[DefaultL2], norms[0])
	}
}

func TestSplitByTime(t *testing.T) {
	// Times out of order, with a tie at the cut: the latest 20% of 10 rows is 2 rows, but the
	// third-latest shares their first Time and joins them.
	times := []float64{5, 1, 9, 3, 8, 2, 8, 4, 7, 6}
	labels := []uint8{0, 1, 1, 0, 0, 0, 1, 1, 0, 0}
	tbl := &dataset.Table{Name: "t.csv", Labels: labels}
	for j := range tbl.Columns {
		tbl.Columns[j] = make([]float64, len(times))
	}
	tbl.Columns[0] = times
	sp, err := SplitByTime(tbl, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 5, 3, 7, 0, 9, 8}; !slices.Equal(sp.Train, want) {
		t.Errorf("got training rows %v, want %v", sp.Train, want)
	}
	if want := []int{4, 6, 2}; !slices.Equal(sp.Validation, want) {
		t.Errorf("got validation rows %v, want %v", sp.Validation, want)
	}
	if sp.Cut != 8 || sp.TrainFrauds != 2 || sp.ValidationFrauds != 2 {
		t.Errorf("got cut %v frauds %d/%d, want 8 and 2/2", sp.Cut, sp.TrainFrauds, sp.ValidationFrauds)
	}

	tbl.Labels = []uint8{0, 1, 0, 0, 0, 0, 0, 1, 0, 0} // no fraud at Time >= 8
	if _, err := SplitByTime(tbl, 0.2); err == nil || !strings.Contains(err.Error(), "t.csv: the validation split (Time >= 8) has 3 rows of which 0 frauds") {
		t.Errorf("got error %v, want one about the validation split lacking frauds", err)
	}
}

func TestLogregRejectsBadConfig(t *testing.T) {
	tbl := syntheticTable(t, 200, 0, 1, 1)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative l2", Config{L2: -1, CreatedAt: testCreatedAt}, "l2 -1 must be"},
		{"negative weight", Config{NormalWeight: -2, CreatedAt: testCreatedAt}, "normal weight -2 must be"},
		{"NaN weight", Config{NormalWeight: math.NaN(), CreatedAt: testCreatedAt}, "normal weight NaN must be"},
		{"whole data as validation", Config{ValidationFraction: 1, CreatedAt: testCreatedAt}, "validation fraction 1 must be"},
		{"no created-at", Config{}, "created-at time is not set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Logreg(context.Background(), tbl, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLogregCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Logreg(ctx, syntheticTable(t, 500, -1, 1, 1), Config{L2: DefaultL2, CreatedAt: testCreatedAt})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestLogregBundleLoads(t *testing.T) {
	tbl := syntheticTable(t, 2000, -2, 1, 5)
	res := mustLogreg(t, tbl, Config{L2: DefaultL2, Seed: 3, Name: "synthetic"})
	root := t.TempDir()
	dir, err := model.Save(root, res.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.LoadLatest(root, "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Dir != dir || m.Threshold() != res.Threshold || m.Manifest.Name != "synthetic" {
		t.Errorf("got dir %s threshold %v name %q, want %s %v synthetic", m.Dir, m.Threshold(), m.Manifest.Name, dir, res.Threshold)
	}
	if got := len(m.Manifest.Canaries); got != canaryCount {
		t.Errorf("got %d canaries, want %d", got, canaryCount)
	}
	// The manifest says how frauds were weighted: by the square root of the class ratio.
	lp, _ := m.Manifest.Training.Params["logreg"].(map[string]any)
	ratio, _ := lp["class_ratio"].(float64)
	if w, _ := lp["fraud_weight"].(float64); !(ratio > 1) || math.Abs(w-math.Sqrt(ratio)) > 1e-12 || res.ClassWeight != ratio {
		t.Errorf("got class ratio %v (result %v) and fraud weight %v in the manifest, want a weight of its square root", ratio, res.ClassWeight, w)
	}
	// The loaded model, refitted on every row, scores every row exactly as training measured it.
	all := append(append([]int(nil), res.Split.Train...), res.Split.Validation...)
	if got := Evaluate(mustProbabilities(t, m, tbl, all), rowLabels(tbl, all), nil, m.Threshold()); got != res.Train {
		t.Errorf("got metrics %+v on every row from the loaded model, want %+v", got, res.Train)
	}
	// Without the refit, the loaded model is the one the validation figures measured.
	kept := mustLogreg(t, tbl, Config{L2: DefaultL2, Seed: 3, NoRefit: true})
	keptDir, err := model.Save(t.TempDir(), kept.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	km, err := model.Load(keptDir)
	if err != nil {
		t.Fatal(err)
	}
	report := res.Holdout.Report
	if got := Evaluate(mustProbabilities(t, km, tbl, report), rowLabels(tbl, report), nil, km.Threshold()); got != kept.Validation {
		t.Errorf("got validation metrics %+v from the loaded unrefitted model, want %+v", got, kept.Validation)
	}
	// Same data, same settings, same time: the same bundle, byte for byte.
	again := mustLogreg(t, tbl, Config{L2: DefaultL2, Seed: 3, Name: "synthetic"})
	dir2, err := model.Save(t.TempDir(), again.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir2) != filepath.Base(dir) {
		t.Errorf("got version %s on a second run, want %s", filepath.Base(dir2), filepath.Base(dir))
	}
}

func TestLogregOnSampleData(t *testing.T) {
	tbl, err := dataset.ReadAll(context.Background(), sharedtest.Data(t, "creditcard-sample-train.csv"))
	if err != nil {
		t.Fatal(err)
	}
	res := mustLogreg(t, tbl, Config{L2: DefaultL2, NormalWeight: 56.863, Seed: 1})
	v := res.Validation
	t.Logf("validation: %d rows, %d frauds, ROC-AUC %.4f, AUPRC %.4f, recall@1%%FPR %.4f, threshold %.4g, precision %.4f recall %.4f F1 %.4f, confusion %+v",
		v.Rows, v.Frauds, v.ROCAUC, v.AUPRC, v.RecallAt1PctFPR, res.Threshold, v.Precision, v.Recall, v.F1, v.Confusion)
	if !res.Converged {
		t.Errorf("got no convergence after %d iterations", res.Iterations)
	}
	if v.ROCAUC <= 0.95 {
		t.Errorf("got validation ROC-AUC %.4f, want > 0.95", v.ROCAUC)
	}
	if !res.Holdout.Halved || v.Rows+res.Tuning.Rows+len(res.Split.Train) != tbl.Rows() {
		t.Errorf("got %d + %d + %d rows in the splits (halved %v), want %d", len(res.Split.Train), res.Tuning.Rows, v.Rows, res.Holdout.Halved, tbl.Rows())
	}
	// Normal rows stand for 56.863 real ones each: the weighted confusion matrix says so.
	if got, want := v.Confusion.FP+v.Confusion.TN, 56.863*float64(v.Rows-v.Frauds); math.Abs(got-want) > 1e-6 {
		t.Errorf("got weighted normals %v, want %v", got, want)
	}
	if _, err := model.Save(t.TempDir(), res.Bundle); err != nil {
		t.Fatal(err)
	}
}

// mustProbabilities returns m's probability for each of rows of tbl.
func mustProbabilities(t testing.TB, m *model.Model, tbl *dataset.Table, rows []int) []float64 {
	t.Helper()
	out := make([]float64, len(rows))
	for k, i := range rows {
		var x [fraud.NumFeatures]float64
		for j := range x {
			x[j] = tbl.Columns[j][i]
		}
		out[k] = m.Probability(&x)
		if math.IsNaN(out[k]) {
			t.Fatalf("row %d: got probability NaN", i)
		}
	}
	return out
}

// rowLabels returns the labels of rows of tbl.
func rowLabels(tbl *dataset.Table, rows []int) []uint8 {
	out := make([]uint8, len(rows))
	for k, i := range rows {
		out[k] = tbl.Labels[i]
	}
	return out
}
