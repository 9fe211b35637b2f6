package report

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
	"github.com/fraudguard/fraudguard/internal/train"
)

// shippedWeight is what each normal row of creditcard-sample-train.csv stands for.
const shippedWeight = 56.863

func mustShippedModel(t testing.TB) *model.Model {
	t.Helper()
	m, err := model.LoadLatest(filepath.Join(sharedtest.Root(t), "models"), "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustSample(t testing.TB) *dataset.Table {
	t.Helper()
	tbl, err := dataset.ReadAll(context.Background(), sharedtest.Data(t, "creditcard-sample-train.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// mustBuild builds the report of the shipped model on the sample file.
func mustBuild(t testing.TB, opts Options) (*Report, *model.Model, *dataset.Table) {
	t.Helper()
	m, tbl := mustShippedModel(t), mustSample(t)
	rows := AllRows(tbl)
	r, err := Build(context.Background(), m, tbl, rows, NormalWeights(tbl, rows, shippedWeight),
		Info{ModelName: m.Manifest.Name, ModelVersion: m.Version(), ModelKind: m.Manifest.Kind, Data: tbl.Name, Rows: "every row",
			Weighting: "Normal rows weigh 56.863."}, opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return r, m, tbl
}

func TestBuildOnTheShippedModel(t *testing.T) {
	r, m, tbl := mustBuild(t, Options{})
	e := r.Evaluation
	if e.Rows != tbl.Rows() || e.Frauds != tbl.Frauds() || !nearRel(e.NormalWeight, shippedWeight*float64(tbl.Rows()-tbl.Frauds())) {
		t.Errorf("got %d rows, %d frauds, normal weight %v; want %d, %d, %v", e.Rows, e.Frauds, e.NormalWeight,
			tbl.Rows(), tbl.Frauds(), shippedWeight*float64(tbl.Rows()-tbl.Frauds()))
	}
	// The figures are training's, on the same scores.
	scores := make([]float64, tbl.Rows())
	var x [fraud.NumFeatures]float64
	for i := range scores {
		row(tbl, i, &x)
		scores[i] = m.Probability(&x)
	}
	if want := train.Evaluate(scores, tbl.Labels, NormalWeights(tbl, AllRows(tbl), shippedWeight), m.Threshold()); e.Metrics != want {
		t.Errorf("got figures %+v, want train.Evaluate's %+v", e.Metrics, want)
	}
	if e.Threshold != m.Threshold() || len(e.ROC) < 10 || len(e.ROC) > 2*maxCurvePoints {
		t.Errorf("got threshold %v and %d ROC points, want %v and between 10 and %d", e.Threshold, len(e.ROC), m.Threshold(), 2*maxCurvePoints)
	}

	imp := r.Importance
	if imp.Unavailable != "" || len(imp.Features) != fraud.NumFeatures || imp.Rows != tbl.Rows() || imp.Of != tbl.Rows() {
		t.Fatalf("got importance of %d features over %d of %d rows (unavailable: %q), want all %d features over every row",
			len(imp.Features), imp.Rows, imp.Of, imp.Unavailable, fraud.NumFeatures)
	}
	for i := 1; i < len(imp.Features); i++ {
		if imp.Features[i].MeanAbs > imp.Features[i-1].MeanAbs {
			t.Errorf("importance not in descending order at %d: %+v after %+v", i, imp.Features[i], imp.Features[i-1])
		}
	}
	// By hand, the first normal row alone: its weighted mean is its own |contribution|.
	one, err := ComputeImportance(context.Background(), m, tbl, []int{0}, []float64{shippedWeight}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ex model.Explanation
	row(tbl, 0, &x)
	if err := m.Explain(&x, &ex); err != nil {
		t.Fatal(err)
	}
	for _, f := range one.Features {
		j := featureIndex(t, f.Name)
		if !nearRel(f.MeanAbs, math.Abs(ex.Contributions[j])) {
			t.Errorf("one row: %s got %v, want |contribution| %v", f.Name, f.MeanAbs, math.Abs(ex.Contributions[j]))
		}
	}
}

// nearRel compares with a relative tolerance, for sums and quotients of many terms.
func nearRel(got, want float64) bool { return math.Abs(got-want) <= 1e-12*math.Abs(want) }

func featureIndex(t testing.TB, name string) int {
	t.Helper()
	for j, n := range fraud.FeatureNames() {
		if n == name {
			return j
		}
	}
	t.Fatalf("no feature %q", name)
	return -1
}

// The importance is the same whatever the number of workers, and a sample is evenly spaced.
func TestImportanceWorkersAndSample(t *testing.T) {
	m, tbl := mustShippedModel(t), mustSample(t)
	rows := AllRows(tbl)[:1000]
	w := NormalWeights(tbl, rows, shippedWeight)
	one, err := ComputeImportance(context.Background(), m, tbl, rows, w, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	four, err := ComputeImportance(context.Background(), m, tbl, rows, w, Options{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i := range one.Features {
		if one.Features[i] != four.Features[i] {
			t.Errorf("feature %d: got %+v with 1 worker and %+v with 4, want the same", i, one.Features[i], four.Features[i])
		}
	}
	// Every tenth row: the sample of 100 of 1000 rows is rows 0, 10, 20, ...
	sampled, err := ComputeImportance(context.Background(), m, tbl, rows, w, Options{ImportanceRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	var tenth []int
	for i := 0; i < 1000; i += 10 {
		tenth = append(tenth, i)
	}
	direct, err := ComputeImportance(context.Background(), m, tbl, tenth, NormalWeights(tbl, tenth, shippedWeight), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sampled.Rows != 100 || sampled.Of != 1000 {
		t.Errorf("got %d of %d rows explained, want 100 of 1000", sampled.Rows, sampled.Of)
	}
	for i := range sampled.Features {
		if sampled.Features[i] != direct.Features[i] {
			t.Errorf("feature %d: got %+v from the sample, want %+v from every tenth row", i, sampled.Features[i], direct.Features[i])
		}
	}
}

// A tree without node covers cannot be explained: the report says importance is unavailable,
// and everything else is still computed.
func TestImportanceUnavailableWithoutCovers(t *testing.T) {
	dir := filepath.Dir(mustShippedModel(t).Dir + "/")
	data, err := os.ReadFile(filepath.Join(dir, "trees.json"))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := model.LoadTrees(data)
	if err != nil {
		t.Fatal(err)
	}
	src := mem.(*model.TreeEnsemble)
	trees := src.Trees()
	for _, tree := range trees {
		for i := range tree {
			tree[i].Cover = 0
		}
	}
	bare, err := model.NewTreeEnsemble(trees, src.Options())
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.Manifest{Name: "bare", Kind: model.KindTrees, Threshold: 0.5,
		Members: []model.MemberSpec{{Kind: model.KindTrees, File: "trees.json", Weight: 1}}}, []model.Member{bare})
	if err != nil {
		t.Fatal(err)
	}
	tbl := mustSample(t)
	rows := AllRows(tbl)
	r, err := Build(context.Background(), m, tbl, rows, NormalWeights(tbl, rows, 1), Info{}, Options{})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if r.Importance.Features != nil || !strings.Contains(r.Importance.Unavailable, "covers") || r.Evaluation == nil {
		t.Fatalf("got importance %+v, want it unavailable for want of covers", r.Importance)
	}
	var buf bytes.Buffer
	if err := Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Feature importance is unavailable for this model: ") || strings.Contains(buf.String(), `data-plot="importance"`) {
		t.Errorf("the page does not say importance is unavailable, or draws it anyway")
	}
}

func TestBuildStopsWhenCancelled(t *testing.T) {
	m, tbl := mustShippedModel(t), mustSample(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rows := AllRows(tbl)
	if _, err := Build(ctx, m, tbl, rows, NormalWeights(tbl, rows, 1), Info{}, Options{}); err == nil {
		t.Error("got no error from a cancelled Build")
	}
}

// The page stands alone: no script, no reference to anything outside it, the policy that
// forbids both, every plot, and the figures in the markup.
func TestRenderIsSelfContained(t *testing.T) {
	r, _, _ := mustBuild(t, Options{ImportanceRows: 500})
	var buf bytes.Buffer
	if err := Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import", "https:", "http:"} {
		// The SVG namespace is a name, not a request.
		if strings.Contains(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	for _, want := range []string{
		`content="` + strings.ReplaceAll(ContentSecurityPolicy, "'", "&#39;") + `"`,
		`data-plot="roc"`, `data-plot="pr"`, `data-plot="distribution"`, `data-plot="calibration"`, `data-plot="importance"`,
		"Confusion matrix at threshold", "Threshold table", "(model)",
		fmtFig(r.Evaluation.Metrics.ROCAUC), fmtFig(r.Evaluation.Metrics.AUPRC),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
