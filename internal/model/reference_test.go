package model

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

const v14 = 14

// stumpTree is one split on V14 at −1 with gain 5: left (cover 3) 2.0, right (cover 7) −0.5.
// Its SHAP value for V14 is its output minus the covers' mean, 2·0.3 − 0.5·0.7 = 0.25; every
// other feature's is 0.
func stumpTree(cover float64) []TreeNode {
	return []TreeNode{
		{Feature: v14, Threshold: -1, Left: 1, Right: 2, Cover: cover, Gain: 5},
		{IsLeaf: true, Value: 2, Cover: 3},
		{IsLeaf: true, Value: -0.5, Cover: 7},
	}
}

// ensembleBundle is testBundle with the stump as a second member: 0.7·stump + 1·logreg + 0.1.
func ensembleBundle(t testing.TB, cover float64) Bundle {
	t.Helper()
	b := testBundle(t)
	e := mustTreeEnsemble(t, [][]TreeNode{stumpTree(cover)}, TreeOptions{})
	b.Files[TreesFile] = mustMarshal(t, e)
	b.Manifest.Kind = KindEnsemble
	b.Manifest.Bias = 0.1
	b.Manifest.Members = append([]MemberSpec{{Kind: KindTrees, File: TreesFile, Weight: 0.7}}, b.Manifest.Members...)
	return b
}

// referenceRows returns n rows around the test logistic regression's mean, V14 on both sides
// of the stump's threshold, with weights 1 and 50.
func referenceRows(t testing.TB, n int) *Reference {
	t.Helper()
	l := testLogreg(t)
	rng := rand.New(rand.NewPCG(5, 6))
	r := &Reference{Description: "test rows"}
	for i := range n {
		var x [fraud.NumFeatures]float64
		for j := range x {
			x[j] = l.Mean[j] + l.Scale[j]*rng.NormFloat64()
		}
		x[0], x[29] = math.Abs(x[0]), math.Abs(x[29])
		r.Rows = append(r.Rows, x)
		r.Weights = append(r.Weights, []float64{1, 50}[i%2])
	}
	return r
}

// TestReferenceMeanAbsSHAP checks that Save measures each feature's mean |SHAP| over the
// reference sample as a direct computation gives it: the logistic regression's SHAP values are
// Coef·(x − Mean)/Scale, the stump's for V14 its output minus the covers' mean, blended by the
// members' weights, their absolute values averaged with the rows' weights. Load reads them
// back, with the split gains, and the bundle is of format 2.
func TestReferenceMeanAbsSHAP(t *testing.T) {
	b := ensembleBundle(t, 10)
	ref := referenceRows(t, 40)
	b.Reference = ref
	dir := mustSave(t, t.TempDir(), b)
	m := mustLoad(t, dir)

	l := testLogreg(t)
	var want [fraud.NumFeatures]float64
	var total float64
	for i, x := range ref.Rows {
		stump := -0.5
		if x[v14] < -1 {
			stump = 2
		}
		var phi [fraud.NumFeatures]float64
		for j := range phi {
			phi[j] = l.Coef[j] * (x[j] - l.Mean[j]) / l.Scale[j]
		}
		phi[v14] += 0.7 * (stump - (2*3-0.5*7)/10.0)
		for j := range phi {
			want[j] += ref.Weights[i] * math.Abs(phi[j])
		}
		total += ref.Weights[i]
	}
	imp := m.Importance()
	if imp.ReferenceRows != 40 || len(imp.MeanAbsSHAP) != fraud.NumFeatures {
		t.Fatalf("got %d reference rows and %d mean |SHAP| values, want 40 and %d", imp.ReferenceRows, len(imp.MeanAbsSHAP), fraud.NumFeatures)
	}
	for j, name := range fraud.FeatureNames() {
		w := want[j] / total
		if got := imp.MeanAbsSHAP[j]; math.Abs(got-w) > 1e-12*max(1, w) {
			t.Errorf("%s: got mean |SHAP| %.17g, want %.17g", name, got, w)
		}
	}
	if len(imp.SplitGain) != fraud.NumFeatures || imp.SplitGain[v14] != 5 {
		t.Errorf("got split gains %v, want 5 on V14", imp.SplitGain)
	}
	for j, g := range imp.SplitGain {
		if j != v14 && g != 0 {
			t.Errorf("%s: got split gain %v, want 0", fraud.FeatureNames()[j], g)
		}
	}
	if m.ExplainError() != nil {
		t.Errorf("got ExplainError %v, want nil", m.ExplainError())
	}
	if m.Manifest.FormatVersion != 2 {
		t.Errorf("got format_version %d, want 2 for a bundle with a reference sample", m.Manifest.FormatVersion)
	}
	info := m.Manifest.Reference
	if info == nil || info.File != ReferenceFile || info.Rows != 40 || info.Description != "test rows" {
		t.Fatalf("got reference section %+v, want %s with 40 rows and the description", info, ReferenceFile)
	}
	data, err := os.ReadFile(filepath.Join(dir, ReferenceFile))
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeReference(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Rows) != 40 || back.Rows[3] != ref.Rows[3] || back.Weights[3] != ref.Weights[3] {
		t.Errorf("the reference file does not give back the rows and weights saved")
	}
}

// TestLoadReadsMeanAbsSHAP checks that Load takes mean |SHAP| from the manifest as it is, and
// does not measure it again.
func TestLoadReadsMeanAbsSHAP(t *testing.T) {
	b := ensembleBundle(t, 10)
	b.Reference = referenceRows(t, 6)
	dir := mustSave(t, t.TempDir(), b)
	editManifest(t, dir, func(m map[string]any) {
		m["reference"].(map[string]any)["mean_abs_shap"].([]any)[0] = 42.0
	})
	if got := mustLoad(t, dir).Importance().MeanAbsSHAP[0]; got != 42 {
		t.Errorf("got mean |SHAP| %v for Time, want the manifest's 42", got)
	}
}

// TestFormatVersionWritten checks that Save writes format 1, and the member file no gain,
// when the bundle has neither split gains nor a reference sample, and format 2 when it has
// gains; and that Load refuses a format 1 bundle that holds either.
func TestFormatVersionWritten(t *testing.T) {
	noGain := stumpTree(10)
	noGain[0].Gain = 0
	for _, tc := range []struct {
		name    string
		tree    []TreeNode
		ref     bool
		version int
	}{
		{"no gain, no reference", noGain, false, 1},
		{"gain", stumpTree(10), false, 2},
		{"reference", noGain, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testBundle(t)
			b.Files[TreesFile] = mustMarshal(t, mustTreeEnsemble(t, [][]TreeNode{tc.tree}, TreeOptions{}))
			b.Manifest.Kind = KindEnsemble
			b.Manifest.Members = append(b.Manifest.Members, MemberSpec{Kind: KindTrees, File: TreesFile, Weight: 1})
			if tc.ref {
				b.Reference = referenceRows(t, 4)
			}
			dir := mustSave(t, t.TempDir(), b)
			m := mustLoad(t, dir)
			if got := m.Manifest.FormatVersion; got != tc.version {
				t.Errorf("got format_version %d, want %d", got, tc.version)
			}
			trees, err := os.ReadFile(filepath.Join(dir, TreesFile))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := bytes.Contains(trees, []byte(`"gain"`)), tc.tree[0].Gain != 0; got != want {
				t.Errorf("got a gain array in %s: %v, want %v", TreesFile, got, want)
			}
			if tc.version == 1 {
				if m.Importance().SplitGain != nil {
					t.Errorf("got split gains %v, want none", m.Importance().SplitGain)
				}
				return
			}
			editManifest(t, dir, func(m map[string]any) { m["format_version"] = 1 })
			if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "which need format_version 2") {
				t.Errorf("got error %v loading it as format 1, want one saying it needs format_version 2", err)
			}
		})
	}
}

// TestLoadRejectsReference checks that Load refuses a reference section that does not match
// its file.
func TestLoadRejectsReference(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, dir string)
		want string
	}{
		{"rows", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["reference"].(map[string]any)["rows"] = 5 })
		}, "rows is 5, reference.json holds 6"},
		{"missing file", func(t *testing.T, dir string) { mustRemove(t, filepath.Join(dir, ReferenceFile)) },
			"reference reference.json: file does not exist"},
		{"short mean_abs_shap", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["reference"].(map[string]any)["mean_abs_shap"] = []any{1.0} })
		}, "mean_abs_shap has 1 entries for 30 features"},
		{"negative mean_abs_shap", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				m["reference"].(map[string]any)["mean_abs_shap"].([]any)[2] = -1.0
			})
		}, "mean_abs_shap of V2 is -1"},
		{"member file", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["reference"].(map[string]any)["file"] = TreesFile })
		}, "file trees.json is a member's"},
		{"bad weight", func(t *testing.T, dir string) {
			data, err := os.ReadFile(filepath.Join(dir, ReferenceFile))
			if err != nil {
				t.Fatal(err)
			}
			data = bytes.Replace(data, []byte(`"weights":[1,`), []byte(`"weights":[-1,`), 1)
			if err := os.WriteFile(filepath.Join(dir, ReferenceFile), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "row 0 has weight -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := ensembleBundle(t, 10)
			b.Reference = referenceRows(t, 6)
			dir := mustSave(t, t.TempDir(), b)
			tc.edit(t, dir)
			if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestSaveReferenceRejects checks that Save refuses a reference sample it cannot measure or
// store, and writes nothing then.
func TestSaveReferenceRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cover float64
		edit  func(r *Reference)
		want  string
	}{
		{"no covers", 0, func(*Reference) {}, "mean |SHAP| needs explanations"},
		{"no rows", 10, func(r *Reference) { r.Rows, r.Weights = nil, nil }, "0 rows, want 1 to 500"},
		{"too many rows", 10, func(r *Reference) {
			for len(r.Rows) <= MaxReferenceRows {
				r.Rows, r.Weights = append(r.Rows, r.Rows[0]), append(r.Weights, 1)
			}
		}, "501 rows, want 1 to 500"},
		{"weights", 10, func(r *Reference) { r.Weights = r.Weights[1:] }, "5 weights for 6 rows"},
		{"zero weights", 10, func(r *Reference) { clear(r.Weights) }, "the weights sum to 0"},
		{"NaN", 10, func(r *Reference) { r.Rows[2][5] = math.NaN() }, "row 2: V5 is NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := ensembleBundle(t, tc.cover)
			b.Reference = referenceRows(t, 6)
			tc.edit(b.Reference)
			root := t.TempDir()
			if _, err := Save(root, b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(root); len(entries) != 0 {
				t.Errorf("got %d entries under the root, want none", len(entries))
			}
		})
	}
}

// TestExplainErrorWithoutCovers checks that a model with a tree without covers loads, scores,
// and says why it cannot be explained, and that its split gains are still there.
func TestExplainErrorWithoutCovers(t *testing.T) {
	m := mustLoad(t, mustSave(t, t.TempDir(), ensembleBundle(t, 0)))
	err := m.ExplainError()
	if err == nil || !strings.Contains(err.Error(), "has no node covers") {
		t.Errorf("got ExplainError %v, want one saying a tree has no node covers", err)
	}
	if imp := m.Importance(); imp.SplitGain == nil || imp.SplitGain[v14] != 5 || imp.MeanAbsSHAP != nil {
		t.Errorf("got importance %+v, want split gains (5 on V14) and no mean |SHAP|", imp)
	}
}

// TestReferenceSampler checks the reservoir: at most its size, the rows in the order offered,
// rows of weight 0 skipped, the same sample for the same seed, another for another seed, and
// every row as likely to be kept as any other.
func TestReferenceSampler(t *testing.T) {
	offer := func(seed uint64, size, n int) *Reference {
		s := NewReferenceSampler(seed, size)
		for i := range n {
			var x [fraud.NumFeatures]float64
			x[0] = float64(i)
			w := 1.0
			if i%10 == 9 {
				w = 0
			}
			s.Add(&x, w)
		}
		return s.Reference("")
	}
	r := offer(1, MaxReferenceRows, 3000)
	if len(r.Rows) != MaxReferenceRows {
		t.Fatalf("got %d rows, want %d", len(r.Rows), MaxReferenceRows)
	}
	for i, x := range r.Rows {
		if int(x[0])%10 == 9 {
			t.Errorf("row %v of weight 0 was kept", x[0])
		}
		if i > 0 && !(x[0] > r.Rows[i-1][0]) {
			t.Fatalf("rows %v then %v: want the order they were offered in", r.Rows[i-1][0], x[0])
		}
	}
	if again := offer(1, MaxReferenceRows, 3000); !equalRows(again, r) {
		t.Error("the same seed gave another sample")
	}
	if other := offer(2, MaxReferenceRows, 3000); equalRows(other, r) {
		t.Error("another seed gave the same sample")
	}
	if few := offer(1, MaxReferenceRows, 20); len(few.Rows) != 18 {
		t.Errorf("got %d rows of 18 offered with weight, want them all", len(few.Rows))
	}
	// 4,000 samples of 10 of 40 rows (36 with weight): each is kept with probability 10/36,
	// 1,111 times in expectation, with a standard deviation of 28.
	var kept [40]int
	for seed := range uint64(4000) {
		for _, x := range offer(seed, 10, 40).Rows {
			kept[int(x[0])]++
		}
	}
	for i, k := range kept {
		if i%10 == 9 {
			continue
		}
		if math.Abs(float64(k)-4000*10/36.0) > 5*28 {
			t.Errorf("row %d kept %d times in 4000 samples, want about 1111", i, k)
		}
	}
}

func equalRows(a, b *Reference) bool {
	if len(a.Rows) != len(b.Rows) {
		return false
	}
	for i := range a.Rows {
		if a.Rows[i] != b.Rows[i] {
			return false
		}
	}
	return true
}

// TestTreeFileGain checks that split gains survive the member file, and that a tree with no
// gain is written without a gain array.
func TestTreeFileGain(t *testing.T) {
	e := mustTreeEnsemble(t, [][]TreeNode{stumpTree(10), stumpTree(10)}, TreeOptions{})
	trees := e.Trees()
	trees[1][0].Gain = 0
	e = mustTreeEnsemble(t, trees, TreeOptions{})
	data := mustMarshal(t, e)
	var f struct {
		Trees []map[string]json.RawMessage `json:"trees"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if got := string(f.Trees[0]["gain"]); got != "[5,0,0]" {
		t.Errorf("got tree 0's gain %s, want [5,0,0]", got)
	}
	if _, ok := f.Trees[1]["gain"]; ok {
		t.Errorf("got a gain array in tree 1, whose gains are all 0")
	}
	back, err := DecodeTrees(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Trees(); got[0][0].Gain != 5 || got[1][0].Gain != 0 {
		t.Errorf("got gains %v and %v back, want 5 and 0", got[0][0].Gain, got[1][0].Gain)
	}
	if g, ok := back.SplitGain(); !ok || g[v14] != 5 {
		t.Errorf("got split gain %v (%v), want 5 on V14", g[v14], ok)
	}
	bad := bytes.Replace(data, []byte(`"gain":[5,0,0]`), []byte(`"gain":[5,0]`), 1)
	if _, err := DecodeTrees(bad); err == nil || !strings.Contains(err.Error(), "gain has 2 entries, left has 3") {
		t.Errorf("got error %v for a short gain array, want one saying so", err)
	}
}

// TestSplitGainMapsFeatures checks that split gains are summed by transaction feature through
// the ensemble's feature map, over every tree.
func TestSplitGainMapsFeatures(t *testing.T) {
	amount := fraud.NumFeatures - 1
	tree := []TreeNode{
		{Feature: 0, Threshold: -2, Left: 1, Right: 2, Cover: 10, Gain: 3},
		{IsLeaf: true, Value: 1.5, Cover: 4},
		{Feature: 1, Threshold: 100, Left: 3, Right: 4, Cover: 6, Gain: 0.5},
		{IsLeaf: true, Value: -2, Cover: 1},
		{IsLeaf: true, Value: 0.25, Cover: 5},
	}
	e := mustTreeEnsemble(t, [][]TreeNode{tree, tree}, TreeOptions{FeatureMap: []int{v14, amount}})
	g, ok := e.SplitGain()
	if !ok || g[v14] != 6 || g[amount] != 1 || g[0] != 0 || g[1] != 0 {
		t.Errorf("got split gains V14 %v, Amount %v, Time %v, V1 %v (%v), want 6, 1, 0 and 0", g[v14], g[amount], g[0], g[1], ok)
	}
}
