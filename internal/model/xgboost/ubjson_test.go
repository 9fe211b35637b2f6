package xgboost

import (
	"github.com/fraudguard/fraudguard/internal/sharedtest"

	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeUBJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want any
	}{
		{"null", "Z", nil},
		{"true", "T", true},
		{"false after no-ops", "NNF", false},
		{"int8", "i\xfe", int64(-2)},
		{"uint8", "U\xfe", int64(254)},
		{"int16", "I\xff\x00", int64(-256)},
		{"int32", "l\x00\x01\x00\x00", int64(65536)},
		{"int64", "L\xff\xff\xff\xff\xff\xff\xff\xff", int64(-1)},
		{"float32", "d\x3f\x00\x00\x00", float32(0.5)},
		{"float64", "D\xbf\xf8\x00\x00\x00\x00\x00\x00", -1.5},
		{"char", "Ca", "a"},
		{"string", "Si\x03abc", "abc"},
		{"high precision", "HU\x041e-3", "1e-3"},
		{"array closed", "[i\x01NSi\x01x]", []any{int64(1), "x"}},
		{"array counted", "[#i\x02TZ", []any{true, nil}},
		{"typed float32s", "[$d#i\x02\x3f\x80\x00\x00\xc0\x00\x00\x00", []float32{1, -2}},
		{"typed float64s", "[$D#i\x01\x40\x00\x00\x00\x00\x00\x00\x00", []float64{2}},
		{"typed int32s", "[$l#U\x02\x00\x00\x00\x07\xff\xff\xff\xff", []int64{7, -1}},
		{"typed uint8s", "[$U#i\x03\x01\x00\x02", []int64{1, 0, 2}},
		{"typed int64s", "[$L#i\x01\x00\x00\x00\x00\x00\x00\x00\x05", []int64{5}},
		{"typed strings", "[$S#i\x02i\x01ai\x02bc", []any{"a", "bc"}},
		{"empty typed", "[$d#i\x00", []float32{}},
		{"object closed", "{i\x01aTi\x02bb[]}", map[string]any{"a": true, "bb": []any(nil)}},
		{"object counted", "{#i\x01i\x01kSi\x01v", map[string]any{"k": "v"}},
		{"object typed", "{$i#i\x02i\x01a\x01i\x01b\xff", map[string]any{"a": int64(1), "b": int64(-1)}},
		{"nested", "{i\x01x{i\x01y[$U#i\x01\x09}}", map[string]any{"x": map[string]any{"y": []int64{9}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeUBJSON([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestDecodeUBJSONRejects(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "truncated"},
		{"short int", "l\x00\x01", "truncated"},
		{"short string", "Si\x05abc", "truncated"},
		{"open array", "[TT", "truncated"},
		{"open object", "{i\x01a", "truncated"},
		{"short typed array", "[$d#i\x02\x00\x00\x00\x00", "truncated"},
		{"count beyond the data", "[$l#L\x00\x00\x00\x00\x7f\xff\xff\xff", "truncated"},
		{"huge count of nulls", "[$Z#l\x7f\x00\x00\x00", "truncated"},
		{"negative length", "Si\xff", "length -1"},
		{"length not an integer", "SSx", "not an integer type"},
		{"unknown marker", "X", `unknown type marker 'X'`},
		{"typed without count", "[$dT", "typed container without a count"},
		{"trailing bytes", "TT", "1 bytes after the value"},
		{"too deep", strings.Repeat("[", 100), "nested deeper than 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeUBJSON([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestUBJSONMatchesJSON checks that the .ubj and .json files of each shared model parse to the
// same model.
func TestUBJSONMatchesJSON(t *testing.T) {
	dir := sharedtest.Testdata(t, "xgboost")
	for _, name := range sharedModels {
		a, err := Parse(mustReadFile(t, filepath.Join(dir, name+".json")))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse(mustReadFile(t, filepath.Join(dir, name+".ubj")))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: the UBJSON file parses to a different model than the JSON file", name)
		}
	}
}

func TestTruncatedSharedModels(t *testing.T) {
	dir := sharedtest.Testdata(t, "xgboost")
	for _, ext := range []string{".json", ".ubj"} {
		data := mustReadFile(t, filepath.Join(dir, "gbtree-missing"+ext))
		for _, n := range []int{1, 10, 100, 1000, len(data) / 3, len(data) / 2, len(data) - 2, len(data) - 1} {
			if _, err := Parse(data[:n]); err == nil || !strings.Contains(err.Error(), "truncated") {
				t.Errorf("%s cut to %d of %d bytes: got error %v, want one saying truncated", ext, n, len(data), err)
			}
		}
	}
}

// FuzzParse checks that no input makes Parse, or building what it parses, panic; the seeds
// are in both formats.
func FuzzParse(f *testing.F) {
	f.Add([]byte(fixtureV3))
	f.Add(encodeUBJSON(fixtureValue(f, nil)))
	f.Add(encodeUBJSON(fixtureValue(f, func(m map[string]any) { toDart(m, 1, 0.5) })))
	f.Add([]byte("[$d#i\x02\x3f\x80\x00\x00\xc0\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		m.Ensemble(nil) // may fail (a feature beyond the 30, say), must not panic
	})
}

// BenchmarkParse measures loading the 300-tree shared model.
func BenchmarkParse(b *testing.B) {
	dir := sharedtest.Testdata(b, "xgboost")
	for _, ext := range []string{".json", ".ubj"} {
		data := mustReadFile(b, filepath.Join(dir, "gbtree-scaleposweight"+ext))
		b.Run(strings.TrimPrefix(ext, "."), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, _, err := Import(data, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
