package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/wire"
)

// mustTreeModel saves and loads a bundle of two small trees on V14, V4 and Amount, every node
// with the given cover: with cover 0 it scores but cannot be explained.
func mustTreeModel(t testing.TB, cover float64) *model.Model {
	t.Helper()
	leaf := func(v float64) model.TreeNode { return model.TreeNode{IsLeaf: true, Value: v, Cover: cover} }
	split := func(f int, th float64, l, r int32) model.TreeNode {
		return model.TreeNode{Feature: f, Threshold: th, Left: l, Right: r, Cover: 2 * cover}
	}
	trees := [][]model.TreeNode{
		{split(14, -1, 1, 2), leaf(1.5), leaf(-0.7)},
		{split(4, 1, 1, 2), split(29, 100, 3, 4), leaf(0.4), leaf(-0.2), leaf(0.3)},
	}
	// Covers as training gives them: a node's is the sum of its children's.
	if cover > 0 {
		trees[1][1].Cover, trees[1][0].Cover = 2*cover, 3*cover
	}
	e, err := model.NewTreeEnsemble(trees, model.TreeOptions{BaseMargin: -4})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := model.Save(t.TempDir(), model.Bundle{
		Manifest: model.Manifest{
			Name: "trees", Kind: model.KindTrees, Threshold: 0.5, CreatedAt: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
			Members:  []model.MemberSpec{{Kind: model.KindTrees, File: "trees.json", Weight: 1}},
			Canaries: []model.Canary{{Features: firstRow}},
		},
		Files: map[string][]byte{"trees.json": data},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mustShippedModel loads the newest bundle of models/, the model the repository ships.
func mustShippedModel(t testing.TB) *model.Model {
	t.Helper()
	m, err := model.LoadLatest(filepath.Join("..", "..", "models"), "")
	if err != nil {
		t.Fatalf("load the shipped model (make model rebuilds it): %v", err)
	}
	return m
}

// strictDecode decodes an answer into v, refusing fields v does not have.
func strictDecode(t testing.TB, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("answer does not match %T: %v: %s", v, err, b)
	}
}

// checkExplanation checks an explanation of x against the model's own: its margin and base, k
// features in order of |contribution| (ties in feature order), their values and directions, and
// with every feature listed, base_value + Σ contributions = margin.
func checkExplanation(t testing.TB, m *model.Model, x *[fraud.NumFeatures]float64, p float64, e *wire.Explanation, k int) {
	t.Helper()
	if e == nil {
		t.Fatal("got no explanation, want one")
	}
	var want model.Explanation
	if err := m.Explain(x, &want); err != nil {
		t.Fatal(err)
	}
	if e.Margin != m.Margin(x) || e.BaseValue != want.BaseValue {
		t.Errorf("got margin %v base %v, want %v %v", e.Margin, e.BaseValue, m.Margin(x), want.BaseValue)
	}
	if got := 1 / (1 + math.Exp(-e.Margin)); math.Abs(got-p) > 1e-12 {
		t.Errorf("sigmoid(margin) = %v, want the fraud probability %v", got, p)
	}
	if len(e.Features) != k {
		t.Fatalf("got %d features, want %d", len(e.Features), k)
	}
	names := fraud.FeatureNames()
	pos := make(map[string]int)
	for i, n := range names {
		pos[n] = i
	}
	sum := e.BaseValue
	for i, f := range e.Features {
		j, ok := pos[f.Feature]
		if !ok {
			t.Fatalf("feature %d: unknown name %q", i, f.Feature)
		}
		if f.Value != x[j] || f.Contribution != want.Contributions[j] {
			t.Errorf("%s: got value %v contribution %v, want %v %v", f.Feature, f.Value, f.Contribution, x[j], want.Contributions[j])
		}
		wantDir := wire.DecreasesRisk
		if f.Contribution > 0 {
			wantDir = wire.IncreasesRisk
		}
		if f.Direction != wantDir {
			t.Errorf("%s: got direction %s for %v, want %s", f.Feature, f.Direction, f.Contribution, wantDir)
		}
		if i > 0 {
			prev := e.Features[i-1]
			a, b := math.Abs(prev.Contribution), math.Abs(f.Contribution)
			if a < b || (a == b && pos[prev.Feature] > j) {
				t.Errorf("features %d and %d out of order: %+v before %+v", i-1, i, prev, f)
			}
		}
		sum += f.Contribution
	}
	if k == fraud.NumFeatures && math.Abs(sum-e.Margin) > 1e-6 {
		t.Errorf("base_value + contributions = %v, want the margin %v", sum, e.Margin)
	}
}

func TestPredictExplain(t *testing.T) {
	fraudy := firstRow
	fraudy[14], fraudy[4] = -3, 2
	for _, mc := range []struct {
		name string
		m    *model.Model
	}{
		{"logreg", mustModel(t)},
		{"trees", mustTreeModel(t, 10)},
		{"shipped", mustShippedModel(t)},
	} {
		s := mustServer(t, Options{}, staticModels{mc.m})
		for _, tc := range []struct {
			name  string
			x     [fraud.NumFeatures]float64
			extra string
			k     int // 0: no explanation
		}{
			{"no explain", firstRow, "", 0},
			{"explain false", firstRow, `"explain":false,"explain_top_k":3`, 0},
			{"default", firstRow, `"explain":true`, wire.DefaultExplainTopK},
			{"top 1", fraudy, `"explain":true,"explain_top_k":1`, 1},
			{"every feature", firstRow, `"explain":true,"explain_top_k":30`, 30},
			{"every feature, fraud-like", fraudy, `"explain_top_k":30,"explain":true`, 30},
		} {
			t.Run(mc.name+"/"+tc.name, func(t *testing.T) {
				w := do(t, s, request{method: "POST", path: "/predict", body: txBody(tc.x, nil, tc.extra)})
				if w.Code != 200 {
					t.Fatalf("got %d %s", w.Code, w.Body)
				}
				var resp wire.PredictResponse
				strictDecode(t, w.Body.Bytes(), &resp)
				if resp.FraudProbability != mc.m.Probability(&tc.x) {
					t.Errorf("got probability %v, want %v", resp.FraudProbability, mc.m.Probability(&tc.x))
				}
				if tc.k == 0 {
					if resp.Explanation != nil || strings.Contains(w.Body.String(), "explanation") {
						t.Errorf("got an explanation nobody asked for: %s", w.Body)
					}
					return
				}
				checkExplanation(t, mc.m, &tc.x, resp.FraudProbability, resp.Explanation, tc.k)
			})
		}
	}
}

// TestPredictExplainTies checks that features of equal |contribution| come in feature order:
// the logistic regression leans on V14, V4 and V12 only, so the other 27 contribute 0.
func TestPredictExplainTies(t *testing.T) {
	s := mustServer(t, Options{}, staticModels{mustModel(t)})
	w := do(t, s, request{method: "POST", path: "/predict", body: txBody(firstRow, nil, `"explain":true,"explain_top_k":6`)})
	var resp wire.PredictResponse
	strictDecode(t, w.Body.Bytes(), &resp)
	var got []string
	for _, f := range resp.Explanation.Features {
		got = append(got, f.Feature+":"+string(f.Direction))
	}
	// V4 = 1.378 × 0.8, V14 = -0.311 × -1.2, V12 = -0.618 × -0.6; then Time, V1, V2 at 0.
	want := "V4:increases_risk V14:increases_risk V12:increases_risk Time:decreases_risk V1:decreases_risk V2:decreases_risk"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func TestPredictExplainErrors(t *testing.T) {
	s := mustServer(t, Options{}, staticModels{mustModel(t)})
	for _, tc := range []struct {
		name, extra, field, problem string
	}{
		{"top k 0", `"explain":true,"explain_top_k":0`, "explain_top_k", "must be an integer between 1 and 30"},
		{"top k 31", `"explain":true,"explain_top_k":31`, "explain_top_k", "must be an integer between 1 and 30"},
		{"top k fraction", `"explain_top_k":1.5`, "explain_top_k", "must be an integer between 1 and 30"},
		{"explain string", `"explain":"yes"`, "explain", "must be true or false"},
		{"explain twice", `"explain":true,"explain":true`, "explain", "duplicate field"},
		{"other key still unknown", `"explain":true,"explain_all":true`, "explain_all", "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, s, request{method: "POST", path: "/predict", body: txBody(firstRow, nil, tc.extra)})
			body := checkError(t, w, 400, "VALIDATION_ERROR")
			details := body["details"].([]any)
			if len(details) != 1 {
				t.Fatalf("got details %v, want one", details)
			}
			d := details[0].(map[string]any)
			if d["field"] != tc.field || d["problem"] != tc.problem {
				t.Errorf("got %v, want %s %s", d, tc.field, tc.problem)
			}
		})
	}
}

// TestExplainUnavailable checks a model without node covers: asked to explain, /predict and
// /predict/batch answer 400 EXPLANATION_UNAVAILABLE; not asked, they score.
func TestExplainUnavailable(t *testing.T) {
	m := mustTreeModel(t, 0)
	s := mustServer(t, Options{}, staticModels{m})
	for _, tc := range []struct {
		name, path string
		body       []byte
	}{
		{"predict", "/predict", txBody(firstRow, nil, `"explain":true`)},
		{"batch", "/predict/batch", []byte(`{"explain":true,"transactions":[` + string(txBody(firstRow, nil, "")) + `]}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, s, request{method: "POST", path: tc.path, body: tc.body})
			body := checkError(t, w, 400, "EXPLANATION_UNAVAILABLE")
			if msg := body["message"].(string); !strings.Contains(msg, "explain") || !strings.Contains(msg, "node covers") {
				t.Errorf("got message %q, want one naming explain and the node covers", msg)
			}
			if d := body["details"].([]any); len(d) != 1 || d[0].(map[string]any)["field"] != "explain" {
				t.Errorf("got details %v, want one on explain", d)
			}
		})
	}
	for path, body := range map[string][]byte{
		"/predict":       txBody(firstRow, nil, `"explain_top_k":3`),
		"/predict/batch": batchBody(txBody(firstRow, nil, "")),
	} {
		if w := do(t, s, request{method: "POST", path: path, body: body}); w.Code != 200 {
			t.Errorf("%s without explain: got %d %s, want 200", path, w.Code, w.Body)
		}
	}
}

func TestPredictBatchExplain(t *testing.T) {
	m := mustTreeModel(t, 10)
	s := mustServer(t, Options{}, staticModels{m})
	fraudy := firstRow
	fraudy[14] = -3
	items := string(txBody(firstRow, nil, "")) + "," + string(txBody(firstRow, map[string]any{"V2": nil}, "")) + "," + string(txBody(fraudy, nil, ""))
	for _, tc := range []struct {
		name, envelope string
		k              int
	}{
		{"no explain", ``, 0},
		{"default", `"explain":true,`, wire.DefaultExplainTopK},
		{"every feature", `"explain":true,"explain_top_k":30,`, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, s, request{method: "POST", path: "/predict/batch", body: []byte(`{` + tc.envelope + `"transactions":[` + items + `]}`)})
			if w.Code != 200 {
				t.Fatalf("got %d %s", w.Code, w.Body)
			}
			var resp wire.PredictBatchResponse
			strictDecode(t, w.Body.Bytes(), &resp)
			if len(resp.Results) != 3 || resp.Results[1].Error == nil || resp.Results[1].Explanation != nil {
				t.Fatalf("got results %+v, want 3 with the second invalid and unexplained", resp.Results)
			}
			for i, x := range map[int]*[fraud.NumFeatures]float64{0: &firstRow, 2: &fraudy} {
				r := resp.Results[i]
				if tc.k == 0 {
					if r.Explanation != nil {
						t.Errorf("result %d: got an explanation nobody asked for", i)
					}
					continue
				}
				checkExplanation(t, m, x, r.FraudProbability, r.Explanation, tc.k)
			}
		})
	}
	// The keys belong to the envelope, not to its items.
	w := do(t, s, request{method: "POST", path: "/predict/batch", body: batchBody(txBody(firstRow, nil, `"explain":true`))})
	var resp wire.PredictBatchResponse
	strictDecode(t, w.Body.Bytes(), &resp)
	if r := resp.Results[0]; r.Error == nil || r.Error.Details[0]["field"] != "explain" || r.Error.Details[0]["problem"] != "unknown field" {
		t.Errorf("explain in an item: got %+v, want an unknown field", r)
	}
	w = do(t, s, request{method: "POST", path: "/predict/batch", body: []byte(`{"explain_top_k":31,"transactions":[` + items + `]}`)})
	checkError(t, w, 400, "VALIDATION_ERROR")
}

// BenchmarkPredictExplain measures /predict with explain: true and every feature listed,
// through the whole middleware chain, with the shipped model and the first real transaction.
func BenchmarkPredictExplain(b *testing.B) {
	s, err := NewServer(slog.New(slog.NewJSONHandler(io.Discard, nil)), Options{Version: "bench"}, staticModels{mustShippedModel(b)}, fixedSystem{}, bareGuard(b))
	if err != nil {
		b.Fatal(err)
	}
	benchPredictPath(b, s, "/predict", txBody(firstRow, map[string]any{"transaction_id": "txn-bench"}, `"explain":true,"explain_top_k":30`))
}
