package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

var testCreatedAt = time.Date(2024, 3, 5, 7, 8, 9, 0, time.UTC)

// testBundle returns a valid one-member logreg bundle with a few canaries.
func testBundle(t testing.TB) Bundle {
	t.Helper()
	l := testLogreg(t)
	data, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	x := exampleRow(t)
	canaries := make([]Canary, 0, 8)
	for k := range 8 {
		var c Canary
		for j := range c.Features {
			c.Features[j] = l.Mean[j] + float64(k-4)*0.7*l.Scale[j]*math.Cos(float64(j*k))
		}
		canaries = append(canaries, c)
	}
	canaries[0].Features = x
	return Bundle{
		Manifest: Manifest{
			Name:      "test",
			Kind:      KindLogreg,
			Threshold: 0.5,
			Preprocessing: []Preprocessing{{
				Member: "logreg.json", Kind: "standardize",
				Description: "(x - mean) / scale per feature, parameters in logreg.json",
			}},
			Metrics: Evaluation{Validation: Metrics{Rows: 10, Frauds: 2, ROCAUC: 0.9,
				Confusion: Confusion{TP: 1, FP: 2.5, TN: 5.5, FN: 1}}},
			Training: Training{Algorithm: "logreg", Params: map[string]any{"l2": 0.001},
				Data: "data.csv", Rows: 10, Seed: 1},
			CreatedAt: testCreatedAt,
			Members:   []MemberSpec{{Kind: KindLogreg, File: "logreg.json", Weight: 1}},
			Bias:      0,
			Canaries:  canaries,
		},
		Files: map[string][]byte{"logreg.json": data},
	}
}

// mustSave saves b under root, failing the test on error.
func mustSave(t testing.TB, root string, b Bundle) string {
	t.Helper()
	dir, err := Save(root, b)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	return dir
}

// mustLoad loads the bundle in dir, failing the test on error.
func mustLoad(t testing.TB, dir string) *Model {
	t.Helper()
	m, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m
}

// editManifest rewrites dir's manifest through f, working on its generic JSON form.
func editManifest(t testing.TB, dir string, f func(m map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	root := t.TempDir()
	b := testBundle(t)
	dir := mustSave(t, root, b)
	m := mustLoad(t, dir)

	if got, want := filepath.Base(dir), m.Version(); got != want {
		t.Errorf("got directory %q, want the version %q", got, want)
	}
	if !regexp.MustCompile(`^20240305-070809-[0-9a-f]{8}$`).MatchString(m.Version()) {
		t.Errorf("got version %q, want 20240305-070809-<8 hex>", m.Version())
	}
	digest, err := BundleDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.SHA256 != digest {
		t.Errorf("got SHA256 %q, want BundleDigest %q", m.SHA256, digest)
	}
	if m.LoadedAt.IsZero() || m.Dir != dir {
		t.Errorf("got LoadedAt %v Dir %q, want a time and %q", m.LoadedAt, m.Dir, dir)
	}
	// A logistic regression alone has neither split gains nor a reference sample: format 1,
	// which builds that read only format 1 still load.
	if m.Manifest.FormatVersion != 1 || len(m.Manifest.Features) != fraud.NumFeatures {
		t.Errorf("got format_version %d and %d features, want 1 and %d", m.Manifest.FormatVersion, len(m.Manifest.Features), fraud.NumFeatures)
	}
	if got, want := m.Manifest.Metrics.Validation.Confusion.FP, 2.5; got != want {
		t.Errorf("got validation fp %v, want %v", got, want)
	}
	l := testLogreg(t)
	for i, c := range m.Manifest.Canaries {
		want := Sigmoid(l.Margin(&c.Features))
		if c.Probability != want {
			t.Errorf("canary %d: got probability %.17g, want %.17g", i, c.Probability, want)
		}
	}
	x := exampleRow(t)
	if got, want := m.Probability(&x), Sigmoid(l.Margin(&x)); got != want {
		t.Errorf("got probability %.17g, want %.17g", got, want)
	}
	if got := m.Score(&x); got.ModelVersion != m.Version() || got.Threshold != 0.5 {
		t.Errorf("got score %+v, want version %q threshold 0.5", got, m.Version())
	}
	if b.Manifest.Version != "" || b.Manifest.Canaries[0].Probability != 0 {
		t.Errorf("Save modified its argument: version %q, canary probability %v", b.Manifest.Version, b.Manifest.Canaries[0].Probability)
	}
}

func TestSaveVersionIsAContentHash(t *testing.T) {
	b := testBundle(t)
	v1 := filepath.Base(mustSave(t, t.TempDir(), b))
	v2 := filepath.Base(mustSave(t, t.TempDir(), b))
	if v1 != v2 {
		t.Errorf("got versions %q and %q for the same content, want equal", v1, v2)
	}
	b.Manifest.Threshold = 0.25
	if v3 := filepath.Base(mustSave(t, t.TempDir(), b)); v3 == v1 {
		t.Errorf("got version %q for different content, want a different one", v3)
	}

	// The hash can be checked by blanking the version and digesting again.
	dir := mustSave(t, t.TempDir(), testBundle(t))
	m := mustLoad(t, dir)
	man := m.Manifest
	man.Version = ""
	data, err := MarshalManifest(man)
	if err != nil {
		t.Fatal(err)
	}
	files, err := readBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	files[ManifestFile] = data
	if got, want := digestFiles(files)[:8], m.Version()[len(m.Version())-8:]; got != want {
		t.Errorf("got content hash %q, want the version's %q", got, want)
	}
}

func TestSaveNamedVersionAndNoOverwrite(t *testing.T) {
	root := t.TempDir()
	b := testBundle(t)
	b.Manifest.Version = "v1.2_rc-1"
	dir := mustSave(t, root, b)
	if got, want := dir, filepath.Join(root, "v1.2_rc-1"); got != want {
		t.Errorf("got dir %q, want %q", got, want)
	}
	before, err := BundleDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	b.Manifest.Threshold = 0.9
	if _, err := Save(root, b); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("got error %v, want one saying the version already exists", err)
	}
	after, err := BundleDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Errorf("got digest %s after a refused save, want it unchanged (%s)", after, before)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("got %d entries in root, want 1 (no temporary directory left)", len(entries))
	}
}

func TestSaveRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(b *Bundle)
		want string
	}{
		{"unknown member kind", func(b *Bundle) { b.Manifest.Members[0].Kind = "gbdt" }, `unknown member kind "gbdt"`},
		{"missing member file", func(b *Bundle) { delete(b.Files, "logreg.json") }, "member logreg.json: file does not exist"},
		{"corrupt member file", func(b *Bundle) { b.Files["logreg.json"] = []byte("{") }, "member logreg.json: logreg: decode"},
		{"no created_at", func(b *Bundle) { b.Manifest.CreatedAt = time.Time{} }, "created_at is not set"},
		{"bad version", func(b *Bundle) { b.Manifest.Version = "../escape" }, `version "../escape" must be`},
		{"manifest among files", func(b *Bundle) { b.Files[ManifestFile] = []byte("{}") }, "manifest.json is written by Save"},
		{"path as file name", func(b *Bundle) { b.Files["a/b.json"] = []byte("{}") }, `"a/b.json" is not a plain file name`},
		{"wrong features", func(b *Bundle) { b.Manifest.Features = []string{"Time", "V2"} }, `features[1] is "V2", want "V1"`},
		{"no canaries", func(b *Bundle) { b.Manifest.Canaries = nil }, "no canaries"},
		{"threshold above one", func(b *Bundle) { b.Manifest.Threshold = 1.5 }, "threshold 1.5 is not between 0 and 1"},
		{"preprocessing of no member", func(b *Bundle) { b.Manifest.Preprocessing[0].Member = "x.json" }, `names member "x.json"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "models")
			b := testBundle(t)
			tc.edit(&b)
			_, err := Save(root, b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), root) {
				t.Errorf("got error %q, want it to name %s", err, root)
			}
			if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("got root stat error %v, want nothing written", err)
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, dir string)
		want string
	}{
		{"missing manifest", func(t *testing.T, dir string) { mustRemove(t, filepath.Join(dir, ManifestFile)) },
			"manifest.json: file does not exist"},
		{"newer format", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["format_version"] = 4; m["trees"] = 1 })
		}, "format_version is 4, this build reads format_version 1 to 3"},
		{"format 0", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["format_version"] = 0 })
		}, "format_version is 0, this build reads format_version 1 to 3"},
		{"no format", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { delete(m, "format_version") })
		}, "format_version is missing"},
		{"features out of order", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				f := m["features"].([]any)
				f[3], f[4] = f[4], f[3]
			})
		}, `features[3] is "V4", want "V3"`},
		{"features cut short", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["features"] = m["features"].([]any)[:29] })
		}, "features has 29 names, want 30"},
		{"unknown member kind", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				m["kind"] = KindEnsemble
				m["members"].([]any)[0].(map[string]any)["kind"] = "gbdt"
			})
		}, `members[0]: unknown member kind "gbdt" (known: logreg, trees)`},
		{"unknown model kind", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["kind"] = "forest" })
		}, `unknown model kind "forest" (known: ensemble, logreg, trees)`},
		{"member file missing", func(t *testing.T, dir string) { mustRemove(t, filepath.Join(dir, "logreg.json")) },
			"member logreg.json: file does not exist"},
		{"member file corrupt", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "logreg.json"), []byte(`{"kind":"logreg","mean":[1,`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "member logreg.json: logreg: decode"},
		{"member escapes the bundle", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["members"].([]any)[0].(map[string]any)["file"] = "../x.json" })
		}, `"../x.json" is not a plain file name`},
		{"canary off", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				c := m["canaries"].([]any)[2].(map[string]any)
				p := c["probability"].(float64)
				c["probability"] = p + 2*CanaryTolerance*min(p, 1-p)
			})
		}, "canary 2: model gives probability"},
		{"coefficient changed", func(t *testing.T, dir string) {
			path := filepath.Join(dir, "logreg.json")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.Replace(string(data), `"intercept":-4.5`, `"intercept":-4.4`, 1))
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "canary 0: model gives probability"},
		{"unknown manifest field", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["thresold"] = 0.3 })
		}, `unknown field "thresold"`},
		{"subdirectory", func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, "extra"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, "unexpected subdirectory extra"},
		{"no such directory", func(t *testing.T, dir string) { mustRemoveAll(t, dir) }, "no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := mustSave(t, t.TempDir(), testBundle(t))
			tc.edit(t, dir)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "load model "+dir+": ") {
				t.Errorf("got error %q, want it to start with the bundle path", err)
			}
		})
	}
}

func TestLoadAcceptsCanaryWithinTolerance(t *testing.T) {
	dir := mustSave(t, t.TempDir(), testBundle(t))
	editManifest(t, dir, func(m map[string]any) {
		c := m["canaries"].([]any)[1].(map[string]any)
		p := c["probability"].(float64)
		c["probability"] = p + CanaryTolerance/2*min(p, 1-p)
	})
	mustLoad(t, dir)
}

func TestCanaryToleranceIsRelative(t *testing.T) {
	tests := []struct {
		got, want float64
		ok        bool
	}{
		{0.5, 0.5, true},
		{0.5 + 4e-10, 0.5, true},
		{0.5 + 6e-10, 0.5, false},
		{1e-12 * (1 + 5e-10), 1e-12, true},
		{1e-12 + 1e-15, 1e-12, false}, // far below 1e-9 apart, but the fourth digit differs
		{1 - 1e-12, 1 - 1e-12 + 1e-15, false},
		{1, 1, true},
		{0, 0, true},
		{1e-320, 0, false},
	}
	for _, tc := range tests {
		if got := canaryMatches(tc.got, tc.want); got != tc.ok {
			t.Errorf("canaryMatches(%.17g, %.17g) = %v, want %v", tc.got, tc.want, got, tc.ok)
		}
	}
}

func mustRemove(t testing.TB, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func mustRemoveAll(t testing.TB, path string) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
}

func TestLoadLatest(t *testing.T) {
	root := t.TempDir()
	old := testBundle(t)
	old.Manifest.Version = "zz-old" // sorts last by name, yet is not the newest
	mustSave(t, root, old)
	newer := testBundle(t)
	newer.Manifest.CreatedAt = testCreatedAt.Add(time.Hour)
	newDir := mustSave(t, root, newer)
	// Neither an unfinished save nor a directory without a manifest counts.
	for _, d := range []string{".99999999-x.123.tmp", "notes"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, ".99999999-x.123.tmp", ManifestFile), []byte(`{"created_at":"2999-01-01T00:00:00Z"}`), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		root    string
		version string
		wantDir string
		wantErr string
	}{
		{"newest by created_at", root, "", newDir, ""},
		{"named version", root, "zz-old", filepath.Join(root, "zz-old"), ""},
		{"unknown version", root, "v9", "", `load model from ` + root + `: version "v9" not found`},
		{"version with a path", root, "../x", "", `version "../x" must be`},
		{"empty root", t.TempDir(), "", "", "no model bundle: no subdirectory holds a manifest.json"},
		{"missing root", filepath.Join(root, "nope"), "", "", "load model from " + filepath.Join(root, "nope")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := LoadLatest(tc.root, tc.version)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.root) {
					t.Errorf("got error %q, want it to name the root %s", err, tc.root)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Dir != tc.wantDir {
				t.Errorf("got %s, want %s", m.Dir, tc.wantDir)
			}
		})
	}
}

func TestBundleDigest(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"b.json": "bee", "a.json": "ay", ManifestFile: "{}"}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := sha256.New()
	for _, n := range []string{"a.json", "b.json", ManifestFile} {
		h.Write([]byte(n + "\x00"))
		var l [8]byte
		binary.BigEndian.PutUint64(l[:], uint64(len(files[n])))
		h.Write(l[:])
		h.Write([]byte(files[n]))
	}
	want := hex.EncodeToString(h.Sum(nil))
	got, err := BundleDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// Moving a byte from one file to the next changes the digest.
	if err := os.WriteFile(filepath.Join(dir, "a.json"), []byte("ayb"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.json"), []byte("ee"), 0o644); err != nil {
		t.Fatal(err)
	}
	if again, _ := BundleDigest(dir); again == got {
		t.Errorf("got the same digest after moving a byte between files, want a different one")
	}
}

func TestCheckVersion(t *testing.T) {
	tests := []struct {
		version string
		ok      bool
	}{
		{"20240305-070809-abcdef12", true},
		{"v1.2_rc-1", true},
		{"", false},
		{".hidden", false},
		{"-flag", false},
		{"a/b", false},
		{"a:b", false},
		{strings.Repeat("a", 129), false},
	}
	for _, tc := range tests {
		if got := CheckVersion(tc.version) == nil; got != tc.ok {
			t.Errorf("CheckVersion(%q): got ok=%v, want %v", tc.version, got, tc.ok)
		}
	}
}
