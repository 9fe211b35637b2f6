package apikey

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

// The keys of the test files and their hashes.
const (
	testKeyA = "fg_test-key-checkout-0000000000000000000000"
	testKeyB = "fg_test-key-reports-11111111111111111111111"
)

func TestGenerateKey(t *testing.T) {
	k, err := Generate(bytes.NewReader(bytes.Repeat([]byte{0xff}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "fg_" + strings.Repeat("_", 42) + "8"; k != want {
		t.Errorf("got %q, want %q", k, want)
	}
	a, err := Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(nil)
	if a == b {
		t.Errorf("two keys from crypto/rand are both %q", a)
	}
	if len(a) != 46 || !strings.HasPrefix(a, Prefix) || strings.ContainsAny(a, "+/=") {
		t.Errorf("got %q, want fg_ and 43 base64url characters", a)
	}
	if _, err := Generate(iotest.ErrReader(errors.New("no entropy"))); err == nil {
		t.Errorf("a failing reader: got nil, want an error")
	}
	if _, err := Generate(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Errorf("a short reader: got nil, want an error")
	}
}

func TestHashKey(t *testing.T) {
	if got, want := Hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestParseScopes(t *testing.T) {
	tests := []struct {
		in      []string
		want    string
		wantErr bool
	}{
		{[]string{"predict"}, "predict", false},
		{[]string{"admin", " Batch ", "predict"}, "predict,batch,admin", false},
		{[]string{"batch", "batch"}, "batch", false},
		{nil, "", false},
		{[]string{"predict", "delete"}, "", true},
		{[]string{""}, "", true},
	}
	for _, tc := range tests {
		got, err := ParseScopes(tc.in)
		if (err != nil) != tc.wantErr || got.String() != tc.want {
			t.Errorf("%q: got %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	set, _ := ParseScopes([]string{"predict", "admin"})
	for _, c := range []struct {
		scope Scope
		want  bool
	}{{ScopePredict, true}, {ScopeBatch, false}, {ScopeAdmin, true}, {"other", false}} {
		if got := set.Has(c.scope); got != c.want {
			t.Errorf("Has(%q): got %v, want %v", c.scope, got, c.want)
		}
	}
	if got := AllScopes.String(); got != "predict,batch,admin,read" {
		t.Errorf("AllScopes: got %q, want predict,batch,admin,read", got)
	}
}

func TestLoadKeysAuthenticates(t *testing.T) {
	yamlFile := fmt.Sprintf(`# comment
keys:
  - name: checkout
    sha256: %s
    scopes: [predict, batch]
    rate_limit_per_minute: 600
  - name: reports
    sha256: %s
    scopes: [batch]
`, Hash(testKeyA), strings.ToUpper(Hash(testKeyB)))
	jsonFile := fmt.Sprintf(`{"keys": [
  {"name": "checkout", "sha256": %q, "scopes": ["predict", "batch"], "rate_limit_per_minute": 600},
  {"name": "reports", "sha256": %q, "scopes": ["batch"]}
]}`, Hash(testKeyA), Hash(testKeyB))

	for _, f := range []struct{ name, body string }{{"keys.yaml", yamlFile}, {"keys.yml", yamlFile}, {"keys.json", jsonFile}} {
		t.Run(f.name, func(t *testing.T) {
			ks, err := Load(mustWriteKeyFile(t, f.name, f.body))
			if err != nil {
				t.Fatal(err)
			}
			if ks.Len() != 2 {
				t.Fatalf("got %d keys, want 2", ks.Len())
			}
			tests := []struct {
				presented string
				want      Key
				ok        bool
			}{
				{testKeyA, Key{Name: "checkout", Scopes: mustScopes(t, "predict", "batch"), RateLimitPerMinute: 600}, true},
				{testKeyB, Key{Name: "reports", Scopes: mustScopes(t, "batch")}, true},
				{testKeyA + "x", Key{}, false},
				{Hash(testKeyA), Key{}, false}, // the hash is not the key
				{"", Key{}, false},
			}
			for _, tc := range tests {
				got, ok := ks.Authenticate(tc.presented)
				if got != tc.want || ok != tc.ok {
					t.Errorf("Authenticate(%q): got %+v, %v; want %+v, %v", tc.presented, got, ok, tc.want, tc.ok)
				}
			}
			if k, _ := ks.Authenticate(testKeyA); !k.Has(ScopePredict) || k.Has(ScopeAdmin) {
				t.Errorf("checkout: got scopes %s, want predict,batch", k.Scopes)
			}
		})
	}
}

func TestEmptyKeySets(t *testing.T) {
	var nilSet *Set
	if _, ok := nilSet.Authenticate(testKeyA); ok || nilSet.Len() != 0 || nilSet.Keys() != nil {
		t.Errorf("a nil set authenticated a key or has keys")
	}
	for _, body := range []string{"", "\n# nothing yet\n", "keys:\n", "keys: []\n"} {
		ks, err := Load(mustWriteKeyFile(t, "keys.yaml", body))
		if err != nil || ks.Len() != 0 {
			t.Errorf("%q: got %d keys, %v; want 0, nil", body, ks.Len(), err)
		}
	}
}

func TestLoadKeysRejects(t *testing.T) {
	hashA, hashB := Hash(testKeyA), Hash(testKeyB)
	entry := func(name, hash, scopes string) string {
		return fmt.Sprintf("  - name: %s\n    sha256: %s\n    scopes: %s\n", name, hash, scopes)
	}
	tests := []struct {
		name string
		file string
		body string
		want string // in the error
	}{
		{"duplicate name", "k.yaml", "keys:\n" + entry("a", hashA, "[predict]") + entry("a", hashB, "[batch]"), `entry 2 ("a"): the name is already used by entry 1`},
		{"duplicate name in another case", "k.yaml", "keys:\n" + entry("a", hashA, "[predict]") + entry("A", hashB, "[batch]"), `entry 2 ("A"): the name is already used`},
		{"same key twice", "k.yaml", "keys:\n" + entry("a", hashA, "[predict]") + entry("b", hashA, "[batch]"), `entry 2 ("b"): the same key as entry 1 ("a")`},
		{"bad hex", "k.yaml", "keys:\n" + entry("a", strings.Repeat("zz", 32), "[predict]"), `entry 1 ("a"): sha256 must be 64 hex digits`},
		{"short hex", "k.yaml", "keys:\n" + entry("a", hashA[:60], "[predict]"), `entry 1 ("a"): sha256 must be 64 hex digits, got 60`},
		{"unknown scope", "k.yaml", "keys:\n" + entry("a", hashA, "[predict, delete]"), `entry 1 ("a"): unknown scope "delete"`},
		{"no scopes", "k.yaml", "keys:\n" + entry("a", hashA, "[]"), `entry 1 ("a"): needs at least one scope`},
		{"no name", "k.yaml", "keys:\n" + entry(`""`, hashA, "[predict]"), `entry 1: needs a name`},
		{"bad name", "k.yaml", "keys:\n" + entry(`"a b"`, hashA, "[predict]"), `may hold only letters`},
		{"reserved name", "k.yaml", "keys:\n" + entry("Admin", hashA, "[admin]"), `reserved for the admin key`},
		{"negative rate", "k.yaml", "keys:\n" + entry("a", hashA, "[predict]") + "    rate_limit_per_minute: -5\n", `rate_limit_per_minute must be from 0`},
		{"unknown field", "k.yaml", "keys:\n" + entry("a", hashA, "[predict]") + "    scope: admin\n", `field scope not found`},
		{"unknown top-level field", "k.yaml", "key:\n" + entry("a", hashA, "[predict]"), `field key not found`},
		{"a bare list", "k.yaml", entry("a", hashA, "[predict]"), `bad YAML`},
		{"two documents", "k.yaml", "keys: []\n---\nkeys: []\n", `more than one document`},
		{"bad JSON", "k.json", `{"keys": [}`, `bad JSON`},
		{"JSON unknown field", "k.json", `{"keys": [{"name": "a", "sha256": "` + hashA + `", "scopes": ["predict"], "admin": true}]}`, `unknown field "admin"`},
		{"JSON trailing value", "k.json", `{"keys": []} {}`, `more than one value`},
		{"extension", "k.toml", "", `must end in .yaml, .yml or .json`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := mustWriteKeyFile(t, tc.file, tc.body)
			_, err := Load(path)
			if err == nil {
				t.Fatalf("got nil, want an error containing %q", tc.want)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.Contains(msg, tc.file) || strings.Contains(msg, "\n") {
				t.Errorf("got %q, want one line naming %s and containing %q", msg, tc.file, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: got %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestAuthenticateFindsEveryKey(t *testing.T) {
	ks, keys := mustKeySet(t, 50)
	for i, k := range keys {
		got, ok := ks.Authenticate(k)
		if want := fmt.Sprintf("key-%02d", i); !ok || got.Name != want {
			t.Errorf("key %d: got %q, %v; want %q, true", i, got.Name, ok, want)
		}
	}
}

func TestAppendKeyEntryYAML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.yaml")
	a := Entry{Name: "checkout", SHA256: Hash(testKeyA), Scopes: []string{"predict", "batch"}}
	if err := Append(path, a); err != nil {
		t.Fatal(err)
	}
	if perm := mustKeyFilePerm(t, path); perm != 0o600 {
		t.Errorf("mode of a new file: got %04o, want 0600", perm)
	}
	// An operator's comment survives the next append.
	body := mustReadKeyFile(t, path)
	body = strings.Replace(body, "keys:", "keys: # owned by the payments team", 1)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	b := Entry{Name: "reports", SHA256: Hash(testKeyB), Scopes: []string{"batch"}, RateLimitPerMinute: 60}
	if err := Append(path, b); err != nil {
		t.Fatal(err)
	}
	got := mustReadKeyFile(t, path)
	for _, want := range []string{"# owned by the payments team", "# fraudguard API keys", "scopes: [predict, batch]", "rate_limit_per_minute: 60"} {
		if !strings.Contains(got, want) {
			t.Errorf("the file lost %q:\n%s", want, got)
		}
	}
	if perm := mustKeyFilePerm(t, path); perm != 0o600 {
		t.Errorf("mode after rewriting: got %04o, want 0600", perm)
	}
	ks, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := ks.Authenticate(testKeyB); !ok || k.Name != "reports" || k.RateLimitPerMinute != 60 {
		t.Errorf("got %+v, %v; want reports with rate limit 60", k, ok)
	}
	if k, ok := ks.Authenticate(testKeyA); !ok || k.Name != "checkout" {
		t.Errorf("got %+v, %v; want checkout", k, ok)
	}
}

func TestAppendKeyEntryJSON(t *testing.T) {
	path := mustWriteKeyFile(t, "keys.json", `{"keys": []}`)
	for _, e := range []Entry{
		{Name: "checkout", SHA256: Hash(testKeyA), Scopes: []string{"predict"}},
		{Name: "reports", SHA256: Hash(testKeyB), Scopes: []string{"batch"}},
	} {
		if err := Append(path, e); err != nil {
			t.Fatal(err)
		}
	}
	ks, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if ks.Len() != 2 {
		t.Errorf("got %d keys, want 2", ks.Len())
	}
}

// TestAppendKeyEntryConcurrent appends from many writers at once, as several `keys create`
// runs would: every entry must land.
func TestAppendKeyEntryConcurrent(t *testing.T) {
	for _, file := range []string{"keys.yaml", "keys.json"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), file)
			const writers = 24
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for i := range writers {
				wg.Go(func() {
					e := Entry{Name: fmt.Sprintf("client-%02d", i), SHA256: Hash(fmt.Sprintf("fg_concurrent_%02d_0123456789abcdef", i)), Scopes: []string{"predict"}}
					errs <- Append(path, e)
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			ks, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if ks.Len() != writers {
				t.Errorf("got %d keys after %d concurrent appends, want all of them", ks.Len(), writers)
			}
		})
	}
}

func TestAppendKeyEntryRefusals(t *testing.T) {
	start := fmt.Sprintf("# keep me\nkeys:\n  - name: checkout\n    sha256: %s\n    scopes: [predict]\n", Hash(testKeyA))
	tests := []struct {
		name  string
		body  string
		entry Entry
		want  string
		is    error
	}{
		{"duplicate name", start, Entry{Name: "checkout", SHA256: Hash(testKeyB), Scopes: []string{"batch"}}, `"checkout"`, ErrExists},
		{"duplicate name in another case", start, Entry{Name: "CheckOut", SHA256: Hash(testKeyB), Scopes: []string{"batch"}}, `"CheckOut"`, ErrExists},
		{"unknown scope", start, Entry{Name: "b", SHA256: Hash(testKeyB), Scopes: []string{"root"}}, `unknown scope "root"`, nil},
		{"same key", start, Entry{Name: "b", SHA256: Hash(testKeyA), Scopes: []string{"batch"}}, `the same key as entry 1`, nil},
		{"broken file", "keys: [", Entry{Name: "b", SHA256: Hash(testKeyB), Scopes: []string{"batch"}}, `bad YAML`, nil},
		{"invalid file", "keys:\n  - name: x\n", Entry{Name: "b", SHA256: Hash(testKeyB), Scopes: []string{"batch"}}, `entry 1 ("x")`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := mustWriteKeyFile(t, "keys.yaml", tc.body)
			err := Append(path, tc.entry)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("got %v, want it to wrap %v", err, tc.is)
			}
			if got := mustReadKeyFile(t, path); got != tc.body {
				t.Errorf("the file changed:\n%s", got)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp")); len(left) > 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}

func TestKeyRingReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.yaml")
	if err := Append(path, Entry{Name: "checkout", SHA256: Hash(testKeyA), Scopes: []string{"predict"}}); err != nil {
		t.Fatal(err)
	}
	ring, err := NewRing(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ring.Authenticate(testKeyA); !ok {
		t.Fatal("the first key does not authenticate")
	}

	// Requests keep authenticating while the file is reloaded.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				if _, ok := ring.Authenticate(testKeyA); !ok {
					t.Error("checkout stopped authenticating during a reload")
					return
				}
			}
		}
	}()
	if err := Append(path, Entry{Name: "reports", SHA256: Hash(testKeyB), Scopes: []string{"batch"}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if err := ring.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if k, ok := ring.Authenticate(testKeyB); !ok || k.Name != "reports" {
		t.Errorf("after reload: got %+v, %v; want reports", k, ok)
	}

	// A broken file is reported and the old keys stay live.
	if err := os.WriteFile(path, []byte("keys:\n  - name: reports\n    sha256: nothex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ring.Reload(); err == nil || !strings.Contains(err.Error(), `entry 1 ("reports")`) {
		t.Errorf("reloading a broken file: got %v, want an error naming the entry", err)
	}
	if ring.Keys().Len() != 2 {
		t.Errorf("after a failed reload: got %d keys, want the old 2", ring.Keys().Len())
	}
	if _, ok := ring.Authenticate(testKeyB); !ok {
		t.Errorf("after a failed reload: reports no longer authenticates")
	}
}

func TestKeyRingWithoutFile(t *testing.T) {
	ring, err := NewRing("")
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Reload(); err != nil {
		t.Errorf("reload: got %v, want nil", err)
	}
	if _, ok := ring.Authenticate(testKeyA); ok || ring.Keys().Len() != 0 {
		t.Errorf("an empty ring authenticated a key")
	}
	if _, err := NewRing(mustWriteKeyFile(t, "keys.yaml", "keys: {}")); err == nil {
		t.Errorf("a bad first file: got nil, want an error")
	}
}

func TestAdminKeyConfigured(t *testing.T) {
	dir := t.TempDir()
	ks, src, err := AdminKey("a-long-enough-admin-key", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if src != (AdminKeySource{}) {
		t.Errorf("source: got %+v, want none", src)
	}
	k, ok := ks.Authenticate("a-long-enough-admin-key")
	if !ok || k.Name != AdminKeyName || k.Scopes != AllScopes {
		t.Errorf("got %+v, %v; want the admin key with every scope", k, ok)
	}
	if _, err := os.Stat(filepath.Join(dir, AdminKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a configured key wrote %s", AdminKeyFile)
	}
	if _, _, err := AdminKey("short", dir, nil); err == nil || strings.Contains(err.Error(), "short") {
		t.Errorf("a short key: got %v, want an error that does not quote the key", err)
	}
}

func TestAdminKeyGenerated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // created if missing
	random := bytes.NewReader(bytes.Repeat([]byte{7}, 32))
	ks, src, err := AdminKey("", dir, random)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, AdminKeyFile)
	if src.Path != path || !src.Generated {
		t.Errorf("source: got %+v, want %s, generated", src, path)
	}
	if perm := mustKeyFilePerm(t, path); perm != 0o600 {
		t.Errorf("mode: got %04o, want 0600", perm)
	}
	key := strings.TrimSpace(mustReadKeyFile(t, path))
	if !strings.HasPrefix(key, Prefix) || len(key) != 46 {
		t.Errorf("the file holds %q, want a generated key", key)
	}
	if _, ok := ks.Authenticate(key); !ok {
		t.Errorf("the generated key does not authenticate")
	}

	// The next start reads the same key.
	ks2, src2, err := AdminKey("", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if src2.Path != path || src2.Generated {
		t.Errorf("second start: got %+v, want %s, not generated", src2, path)
	}
	if _, ok := ks2.Authenticate(key); !ok {
		t.Errorf("second start: the key in the file does not authenticate")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestAdminKeyConcurrentFirstStart(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	keys := make([]*Set, n)
	srcs := make([]AdminKeySource, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			keys[i], srcs[i], err = AdminKey("", dir, nil)
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	key := strings.TrimSpace(mustReadKeyFile(t, filepath.Join(dir, AdminKeyFile)))
	generated := 0
	for i := range n {
		if srcs[i].Generated {
			generated++
		}
		if _, ok := keys[i].Authenticate(key); !ok {
			t.Errorf("start %d does not accept the key in the file", i)
		}
	}
	if generated != 1 {
		t.Errorf("got %d starts that generated the key, want 1", generated)
	}
}

func TestAdminKeyRefusesBadFiles(t *testing.T) {
	tests := []struct {
		name string
		body string
		mode os.FileMode
		want string
	}{
		{"readable by others", "fg_0123456789abcdef0123456789", 0o644, "has mode 0644"},
		{"readable by the group", "fg_0123456789abcdef0123456789", 0o640, "chmod 600"},
		{"executable", "fg_0123456789abcdef0123456789", 0o700, "has mode 0700"},
		{"empty", "", 0o600, "holds no key"},
		{"too short", "abc\n", 0o600, "holds no key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, AdminKeyFile)
			if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, _, err := AdminKey("", dir, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want an error naming %s and containing %q", err, path, tc.want)
			}
			if tc.body != "" && strings.Contains(err.Error(), tc.body) {
				t.Errorf("the error quotes the key: %v", err)
			}
			if got := mustReadKeyFile(t, path); got != tc.body {
				t.Errorf("the file was changed to %q", got)
			}
		})
	}
	// A 0400 file is narrower than 0600 and fine.
	dir := t.TempDir()
	path := filepath.Join(dir, AdminKeyFile)
	if err := os.WriteFile(path, []byte("fg_0123456789abcdef0123456789\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	if _, _, err := AdminKey("", dir, nil); err != nil {
		t.Errorf("a 0400 file: got %v, want nil", err)
	}
}

func FuzzDecodeKeys(f *testing.F) {
	f.Add([]byte("keys:\n  - name: a\n    sha256: "+Hash("x")+"\n    scopes: [predict]\n"), false)
	f.Add([]byte(`{"keys":[{"name":"a","sha256":"`+Hash("x")+`","scopes":["batch"]}]}`), true)
	f.Add([]byte("keys: [\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		format := formatYAML
		if isJSON {
			format = formatJSON
		}
		entries, err := decodeKeys(data, format)
		if err != nil {
			return
		}
		ks, err := NewSet(entries)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("a multi-line error: %q", err)
			}
			return
		}
		for _, k := range ks.Keys() {
			if k.Name == "" || k.Scopes == 0 {
				t.Errorf("accepted a key without a name or scopes: %+v", k)
			}
		}
	})
}

func BenchmarkAuthenticate(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		ks, keys := mustKeySet(b, n)
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, ok := ks.Authenticate(keys[n/2]); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}

// mustKeySet returns a set of n keys named key-00, key-01, ... and the keys themselves.
func mustKeySet(t testing.TB, n int) (*Set, []string) {
	t.Helper()
	var entries []Entry
	var keys []string
	for i := 0; i < n; i++ {
		k, err := Generate(nil)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		entries = append(entries, Entry{Name: fmt.Sprintf("key-%02d", i), SHA256: Hash(k), Scopes: []string{"predict"}})
	}
	ks, err := NewSet(entries)
	if err != nil {
		t.Fatal(err)
	}
	return ks, keys
}

func mustScopes(t testing.TB, names ...string) ScopeSet {
	t.Helper()
	s, err := ParseScopes(names)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustWriteKeyFile(t testing.TB, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustReadKeyFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustKeyFilePerm(t testing.TB, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}
