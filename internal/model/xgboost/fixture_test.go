package xgboost

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
)

// fixtureV3 is a small model as XGBoost 3.x writes it: base_score in brackets, parameters as
// strings, two named features (V14 and Amount), a three-leaf tree and a lone leaf.
//
//	tree 0: V14 < -2.5 (missing: left) ? 0.4 : (Amount < 100 (missing: right) ? -0.1 : 0.2)
//	tree 1: -0.05
const fixtureV3 = `{
 "learner": {
  "attributes": {},
  "feature_names": ["V14", "Amount"],
  "feature_types": ["float", "float"],
  "gradient_booster": {
   "model": {
    "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "2"},
    "iteration_indptr": [0, 1, 2],
    "tree_info": [0, 0],
    "trees": [
     {"base_weights": [0, 0, 0, 0, 0], "categories": [], "categories_nodes": [], "categories_segments": [], "categories_sizes": [],
      "default_left": [1, 0, 0, 0, 0], "id": 0,
      "left_children": [1, -1, 3, -1, -1], "right_children": [2, -1, 4, -1, -1], "parents": [2147483647, 0, 0, 2, 2],
      "loss_changes": [10, 0, 2, 0, 0], "split_indices": [0, 0, 1, 0, 0], "split_type": [0, 0, 0, 0, 0],
      "split_conditions": [-2.5E0, 4E-1, 1E2, -1E-1, 2E-1], "sum_hessian": [100, 10, 90, 60, 30],
      "tree_param": {"num_deleted": "0", "num_feature": "2", "num_nodes": "5", "size_leaf_vector": "1"}},
     {"base_weights": [0], "categories": [], "categories_nodes": [], "categories_segments": [], "categories_sizes": [],
      "default_left": [0], "id": 1, "left_children": [-1], "right_children": [-1], "parents": [2147483647],
      "loss_changes": [0], "split_indices": [0], "split_type": [0], "split_conditions": [-5E-2], "sum_hessian": [100],
      "tree_param": {"num_deleted": "0", "num_feature": "2", "num_nodes": "1", "size_leaf_vector": "1"}}
    ]
   },
   "name": "gbtree"
  },
  "learner_model_param": {"base_score": "[2E-1]", "boost_from_average": "1", "num_class": "0", "num_feature": "2", "num_target": "1"},
  "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}
 },
 "version": [3, 0, 2]
}`

// fixtureValue decodes fixtureV3 and applies edit to it.
func fixtureValue(t testing.TB, edit func(m map[string]any)) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(fixtureV3), &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	return m
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// get walks a decoded fixture by keys and array indices.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func learner(m map[string]any) map[string]any { return m["learner"].(map[string]any) }

// toDart turns the fixture into an XGBoost 2.x dart model with the given tree weights.
func toDart(m map[string]any, weights ...float64) {
	m["version"] = []any{2, 1, 3}
	l := learner(m)
	l["learner_model_param"].(map[string]any)["base_score"] = "5E-1"
	gb := l["gradient_booster"].(map[string]any)
	l["gradient_booster"] = map[string]any{"name": "dart", "gbtree": gb, "weight_drop": weights}
}

// rowWith returns a transaction with V14 and Amount set.
func rowWith(v14, amount float64) [fraud.NumFeatures]float64 {
	var x [fraud.NumFeatures]float64
	x[14], x[fraud.NumFeatures-1] = v14, amount
	return x
}

func TestImportHandMadeModels(t *testing.T) {
	base02 := float32(-math.Log(float64(float32(1)/float32(0.2) - 1)))
	rows := []struct {
		name       string
		x          [fraud.NumFeatures]float64
		leaf0      float32
		leafIndex0 int
	}{
		{"V14 below", rowWith(-3, 500), 0.4, 1},
		{"V14 missing goes left", rowWith(math.NaN(), 500), 0.4, 1},
		{"V14 at the threshold goes right", rowWith(-2.5, 50), -0.1, 3},
		{"V14 below in float64 but not in float32", rowWith(-2.5000000001, 50), -0.1, 3},
		{"Amount below", rowWith(0, 99.99), -0.1, 3},
		{"Amount missing goes right", rowWith(0, math.NaN()), 0.2, 4},
		{"Amount above", rowWith(1, 100), 0.2, 4},
	}
	for _, tc := range []struct {
		name string
		data []byte
		want func(leaf0 float32) float32
	}{
		{"3.x JSON, base_score [2E-1]", []byte(fixtureV3), func(l float32) float32 { return base02 + l + -0.05 }},
		{"3.x UBJSON", encodeUBJSON(fixtureValue(t, nil)), func(l float32) float32 { return base02 + l + -0.05 }},
		{"2.x dart JSON", mustMarshal(t, fixtureValue(t, func(m map[string]any) { toDart(m, 1, 0.5) })),
			func(l float32) float32 { return 0 + l*1 + float32(-0.05)*0.5 }},
		{"2.x dart UBJSON", encodeUBJSON(fixtureValue(t, func(m map[string]any) { toDart(m, 1, 0.5) })),
			func(l float32) float32 { return 0 + l*1 + float32(-0.05)*0.5 }},
		{"1.x, numbers as strings, default_left as booleans", mustMarshal(t, fixtureValue(t, func(m map[string]any) {
			m["version"] = []any{1, 0, 0}
			l := learner(m)
			l["learner_model_param"].(map[string]any)["base_score"] = "2E-1"
			tree := get(l, "gradient_booster", "model", "trees", 0).(map[string]any)
			tree["split_conditions"] = []any{"-2.5E0", "4E-1", "1E2", "-1E-1", "2E-1"}
			tree["default_left"] = []any{true, false, false, false, false}
			for _, tr := range get(l, "gradient_booster", "model", "trees").([]any) {
				for _, k := range []string{"split_type", "categories", "categories_nodes", "categories_segments", "categories_sizes"} {
					delete(tr.(map[string]any), k)
				}
			}
		})), func(l float32) float32 { return base02 + l + -0.05 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, e, err := Import(tc.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Objective != "binary:logistic" || len(m.Trees) != 2 || !slices.Equal(m.FeatureNames, []string{"V14", "Amount"}) {
				t.Fatalf("got objective %q, %d trees, features %v", m.Objective, len(m.Trees), m.FeatureNames)
			}
			for _, r := range rows {
				if got, want := e.Margin(&r.x), float64(tc.want(r.leaf0)); got != want {
					t.Errorf("%s: got margin %.9g, want %.9g", r.name, got, want)
				}
				if got := e.LeafIndices(&r.x, nil); !slices.Equal(got, []int{r.leafIndex0, 0}) {
					t.Errorf("%s: got leaves %v, want [%d 0]", r.name, got, r.leafIndex0)
				}
			}
		})
	}
}

func TestImportBestIteration(t *testing.T) {
	withBest := func(best any, edit func(m map[string]any)) []byte {
		return mustMarshal(t, fixtureValue(t, func(m map[string]any) {
			learner(m)["attributes"] = map[string]any{"best_iteration": best, "best_score": "0.1"}
			if edit != nil {
				edit(m)
			}
		}))
	}
	base02 := float32(-math.Log(float64(float32(1)/float32(0.2) - 1)))
	x := rowWith(-3, 500) // tree 0 gives 0.4, tree 1 gives -0.05
	for _, tc := range []struct {
		name  string
		data  []byte
		opts  Options
		trees int
		want  float32
	}{
		{"every tree by default, as Booster.predict", withBest("0", nil), Options{}, 2, base02 + 0.4 + -0.05},
		{"up to best_iteration 0", withBest("0", nil), Options{BestIteration: true}, 1, base02 + 0.4},
		{"best_iteration as a number", withBest(0, nil), Options{BestIteration: true}, 1, base02 + 0.4},
		{"best_iteration at the last round", withBest("1", nil), Options{BestIteration: true}, 2, base02 + 0.4 + -0.05},
		{"rounds from num_parallel_tree when there is no iteration_indptr", withBest("0", func(m map[string]any) {
			delete(get(learner(m), "gradient_booster", "model").(map[string]any), "iteration_indptr")
		}), Options{BestIteration: true}, 1, base02 + 0.4},
		{"two trees a round", withBest("0", func(m map[string]any) {
			gb := get(learner(m), "gradient_booster", "model").(map[string]any)
			gb["iteration_indptr"] = []any{0, 2}
		}), Options{BestIteration: true}, 2, base02 + 0.4 + -0.05},
		{"dart weights cut with the trees", mustMarshal(t, fixtureValue(t, func(m map[string]any) {
			toDart(m, 1, 0.5)
			learner(m)["attributes"] = map[string]any{"best_iteration": "0"}
		})), Options{BestIteration: true}, 1, 0.4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, e, err := Import(tc.data, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Trees) != tc.trees {
				t.Errorf("got %d trees, want %d", len(m.Trees), tc.trees)
			}
			if got := e.Margin(&x); got != float64(tc.want) {
				t.Errorf("got margin %.9g, want %.9g", got, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"no best_iteration", []byte(fixtureV3), "records no best_iteration (the model was not trained with early stopping)"},
		{"past the last round", withBest("2", nil), "best_iteration 2 is past the model's 2 boosting rounds"},
		{"negative", withBest("-1", nil), "learner.attributes.best_iteration is -1"},
		{"not a number", withBest("best", nil), "best_iteration"},
		{"iteration_indptr short of the trees", withBest("0", func(m map[string]any) {
			get(learner(m), "gradient_booster", "model").(map[string]any)["iteration_indptr"] = []any{0, 1}
		}), "does not span the 2 trees"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Import(tc.data, Options{BestIteration: true})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestImportDropsDeletedNodes(t *testing.T) {
	// Node 5 is a pruned node left in the arrays: unreachable, its slot unused.
	data := mustMarshal(t, fixtureValue(t, func(m map[string]any) {
		tree := get(learner(m), "gradient_booster", "model", "trees", 0).(map[string]any)
		for k, extra := range map[string]any{
			"left_children": -1, "right_children": -1, "parents": 2, "split_indices": 0, "split_conditions": 7,
			"default_left": 0, "sum_hessian": 0, "base_weights": 0, "loss_changes": 0, "split_type": 0,
		} {
			tree[k] = append(tree[k].([]any), extra)
		}
		tree["tree_param"].(map[string]any)["num_nodes"] = "6"
		tree["tree_param"].(map[string]any)["num_deleted"] = "1"
	}))
	m, e, err := Import(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Trees[0]) != 5 {
		t.Errorf("got %d nodes in tree 0, want the 5 reachable ones", len(m.Trees[0]))
	}
	x := rowWith(0, 500)
	if got, want := e.Margin(&x), float64(float32(-math.Log(4))+0.2+-0.05); math.Abs(got-want) > 1e-6 {
		t.Errorf("got margin %v, want %v", got, want)
	}
}

func TestImportFeatureMapping(t *testing.T) {
	unnamed30 := func(names []any) []byte {
		return mustMarshal(t, fixtureValue(t, func(m map[string]any) {
			l := learner(m)
			if names == nil {
				delete(l, "feature_names")
			} else {
				l["feature_names"] = names
			}
			l["learner_model_param"].(map[string]any)["num_feature"] = "30"
			tree := get(l, "gradient_booster", "model", "trees", 0).(map[string]any)
			tree["split_indices"] = []any{14, 0, 29, 0, 0} // V14 and Amount by position
		}))
	}
	fnames := make([]any, 30)
	for i := range fnames {
		fnames[i] = fmt.Sprintf("f%d", i)
	}
	want := func(t *testing.T, e *model.TreeEnsemble) {
		t.Helper()
		x := rowWith(-3, 0)
		if got := e.LeafIndices(&x, nil); !slices.Equal(got, []int{1, 0}) {
			t.Errorf("got leaves %v for V14 = -3, want [1 0]", got)
		}
	}
	for _, tc := range []struct {
		name       string
		data       []byte
		positional bool
		wantErr    string
		unnamed    bool
	}{
		{"no names, positional", unnamed30(nil), true, "", false},
		{"f0..f29, positional", unnamed30(fnames), true, "", false},
		{"empty names, positional", unnamed30([]any{}), true, "", false},
		{"no names", unnamed30(nil), false, "30 features without names", true},
		{"f0..f29", unnamed30(fnames), false, "30 features named f0..f29", true},
		{"two unnamed, positional", mustMarshal(t, fixtureValue(t, func(m map[string]any) { delete(learner(m), "feature_names") })), true,
			"2 unnamed features; mapping by position needs exactly 30", false},
		{"unknown names", mustMarshal(t, fixtureValue(t, func(m map[string]any) { learner(m)["feature_names"] = []any{"v14", "amount_eur"} })), true,
			`not in the transaction schema (Time, V1..V28, Amount): "v14", "amount_eur"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, e, err := Import(tc.data, Options{Positional: tc.positional})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				want(t, e)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
			if got := errors.Is(err, model.ErrUnnamedFeatures); got != tc.unnamed {
				t.Errorf("got errors.Is(err, ErrUnnamedFeatures) %v, want %v", got, tc.unnamed)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	edit := func(f func(m map[string]any)) []byte { return mustMarshal(t, fixtureValue(t, f)) }
	tree0 := func(m map[string]any) map[string]any {
		return get(learner(m), "gradient_booster", "model", "trees", 0).(map[string]any)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty file"},
		{"not a model", []byte("tree\nversion=v4\n"), "not an XGBoost model"},
		{"truncated JSON", []byte(fixtureV3[:len(fixtureV3)/2]), "truncated"},
		{"truncated UBJSON", encodeUBJSON(fixtureValue(t, nil))[:300], "truncated"},
		{"trailing data", []byte(fixtureV3 + "{}"), "data after the model"},
		{"no version", edit(func(m map[string]any) { delete(m, "version") }), "no version field"},
		{"version 4", edit(func(m map[string]any) { m["version"] = []any{4, 0, 0} }), "XGBoost version 4.0.0 is not supported (this build reads 1.x to 3.x)"},
		{"version 0.90", edit(func(m map[string]any) { m["version"] = []any{0, 90, 0} }), "XGBoost version 0.90.0 is not supported"},
		{"bad version", edit(func(m map[string]any) { m["version"] = "1.7.4" }), "want [major, minor, patch]"},
		{"multiclass", edit(func(m map[string]any) {
			l := learner(m)
			l["objective"] = map[string]any{"name": "multi:softprob", "softmax_multiclass_param": map[string]any{"num_class": "3"}}
			l["learner_model_param"].(map[string]any)["num_class"] = "3"
		}), `objective "multi:softprob" is not supported`},
		{"regression", edit(func(m map[string]any) { learner(m)["objective"] = map[string]any{"name": "reg:squarederror"} }),
			`objective "reg:squarederror" is not supported`},
		{"logitraw", edit(func(m map[string]any) { learner(m)["objective"] = map[string]any{"name": "binary:logitraw"} }),
			`objective "binary:logitraw" is not supported`},
		{"two classes of output", edit(func(m map[string]any) {
			learner(m)["learner_model_param"].(map[string]any)["num_target"] = "2"
		}), "num_target is 2"},
		{"gblinear", edit(func(m map[string]any) {
			learner(m)["gradient_booster"] = map[string]any{"name": "gblinear", "model": map[string]any{"weights": []any{1, 2, 3}}}
		}), `booster "gblinear" is not supported`},
		{"dart without weights", edit(func(m map[string]any) {
			toDart(m)
			delete(learner(m)["gradient_booster"].(map[string]any), "weight_drop")
		}), "dart booster without weight_drop"},
		{"dart weights count", edit(func(m map[string]any) { toDart(m, 1) }), "1 weights in weight_drop for 2 trees"},
		{"base_score 0", edit(func(m map[string]any) {
			learner(m)["learner_model_param"].(map[string]any)["base_score"] = "0E0"
		}), "base_score 0 is not a probability"},
		{"base_score vector", edit(func(m map[string]any) {
			learner(m)["learner_model_param"].(map[string]any)["base_score"] = "[5E-1,5E-1]"
		}), "has 2 values"},
		{"base_score text", edit(func(m map[string]any) {
			learner(m)["learner_model_param"].(map[string]any)["base_score"] = "half"
		}), `base_score is "half"`},
		{"tree count", edit(func(m map[string]any) {
			get(learner(m), "gradient_booster", "model", "gbtree_model_param").(map[string]any)["num_trees"] = "3"
		}), "num_trees is 3 but the file holds 2 trees"},
		{"output group", edit(func(m map[string]any) {
			get(learner(m), "gradient_booster", "model").(map[string]any)["tree_info"] = []any{0, 1}
		}), "tree 1 belongs to output group 1"},
		{"categorical split", edit(func(m map[string]any) { tree0(m)["split_type"] = []any{1, 0, 0, 0, 0} }),
			`tree 0: node 0: categorical split on "V14": categorical splits are not supported`},
		{"multi-output tree", edit(func(m map[string]any) {
			tree0(m)["tree_param"].(map[string]any)["size_leaf_vector"] = "3"
		}), "multi-output trees are not supported"},
		{"short array", edit(func(m map[string]any) { tree0(m)["sum_hessian"] = []any{1, 2} }), "tree 0: sum_hessian has 2 entries for 5 nodes"},
		{"missing array", edit(func(m map[string]any) { delete(tree0(m), "split_conditions") }), "tree 0: split_conditions is missing"},
		{"child out of range", edit(func(m map[string]any) { tree0(m)["right_children"] = []any{7, -1, 4, -1, -1} }), "child 7 is out of range"},
		{"cycle", edit(func(m map[string]any) { tree0(m)["left_children"] = []any{1, -1, 0, -1, -1} }), "child 0 is out of range or reached twice"},
		{"feature out of range", edit(func(m map[string]any) { tree0(m)["split_indices"] = []any{2, 0, 1, 0, 0} }), "split feature 2 out of range (num_feature 2)"},
		{"NaN threshold", edit(func(m map[string]any) { tree0(m)["split_conditions"] = []any{"NaN", 0.4, 100, -0.1, 0.2} }), "split_conditions[0]"},
		{"not an object", []byte(`{"learner": [], "version": [1, 7, 4]}`), "learner is an array, want an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// encodeUBJSON writes v as UBJSON the way XGBoost does: arrays of numbers as typed, counted
// arrays ([$U#, [$l#, [$d#), other arrays and objects counted or closed by turns, so that
// both forms are read.
func encodeUBJSON(v any) []byte {
	var b bytes.Buffer
	var enc func(v any, depth int)
	length := func(n int) {
		b.WriteByte('L')
		binary.Write(&b, binary.BigEndian, int64(n))
	}
	enc = func(v any, depth int) {
		switch x := v.(type) {
		case nil:
			b.WriteByte('Z')
		case bool:
			if x {
				b.WriteByte('T')
			} else {
				b.WriteByte('F')
			}
		case string:
			b.WriteByte('S')
			length(len(x))
			b.WriteString(x)
		case int:
			b.WriteByte('l')
			binary.Write(&b, binary.BigEndian, int32(x))
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<31 {
				b.WriteByte('l')
				binary.Write(&b, binary.BigEndian, int32(x))
			} else {
				b.WriteByte('d')
				binary.Write(&b, binary.BigEndian, float32(x))
			}
		case []float64:
			b.WriteString("[$d#")
			length(len(x))
			for _, f := range x {
				binary.Write(&b, binary.BigEndian, float32(f))
			}
		case []any:
			if typed, ok := typedArray(x); ok {
				enc(typed, depth)
				return
			}
			if depth%2 == 0 {
				b.WriteString("[#")
				length(len(x))
				for _, e := range x {
					enc(e, depth+1)
				}
				return
			}
			b.WriteByte('[')
			for _, e := range x {
				b.WriteByte('N') // a no-op between elements
				enc(e, depth+1)
			}
			b.WriteByte(']')
		case []uint8:
			b.WriteString("[$U#")
			length(len(x))
			b.Write(x)
		case []int32:
			b.WriteString("[$l#")
			length(len(x))
			binary.Write(&b, binary.BigEndian, x)
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			counted := depth%2 == 1
			b.WriteByte('{')
			if counted {
				b.WriteByte('#')
				length(len(keys))
			}
			for _, k := range keys {
				b.WriteByte('i')
				b.WriteByte(byte(len(k)))
				b.WriteString(k)
				enc(x[k], depth+1)
			}
			if !counted {
				b.WriteByte('}')
			}
		default:
			panic("encodeUBJSON: unexpected type")
		}
	}
	enc(v, 0)
	return b.Bytes()
}

// typedArray returns a non-empty array of numbers as the typed slice XGBoost would write.
func typedArray(x []any) (any, bool) {
	if len(x) == 0 {
		return nil, false
	}
	ints, small := true, true
	for _, e := range x {
		f, ok := e.(float64)
		if !ok {
			if n, isInt := e.(int); isInt {
				f = float64(n)
			} else {
				return nil, false
			}
		}
		if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
			ints = false
		}
		if f < 0 || f > 255 || f != math.Trunc(f) {
			small = false
		}
	}
	num := func(e any) float64 {
		if n, ok := e.(int); ok {
			return float64(n)
		}
		return e.(float64)
	}
	switch {
	case small:
		out := make([]uint8, len(x))
		for i, e := range x {
			out[i] = uint8(num(e))
		}
		return out, true
	case ints:
		out := make([]int32, len(x))
		for i, e := range x {
			out[i] = int32(num(e))
		}
		return out, true
	}
	out := make([]float64, len(x))
	for i, e := range x {
		out[i] = num(e)
	}
	return out, true
}
