package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// mustWrite writes data at path with os.WriteFile.
func mustWrite(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mustRead returns the content of path.
func mustRead(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// mustHaveOnly fails unless dir holds exactly the entries names, so that no temporary is left.
func mustHaveOnly(t testing.TB, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("got entries %q in %s, want %q", got, dir, names)
	}
}

// mustHavePerm fails unless path has permissions want (not checked on Windows).
func mustHavePerm(t testing.TB, path string, want fs.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("got mode %04o on %s, want %04o", got, path, want)
	}
}

func TestWriteReplacesWithPermissions(t *testing.T) {
	for _, perm := range []fs.FileMode{0o600, 0o644, 0o640} {
		t.Run(perm.String(), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.csv")
			mustWrite(t, path, "old\n")
			if err := WriteFile(path, []byte("new\n"), perm); err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := mustRead(t, path); got != "new\n" {
				t.Errorf("got content %q, want %q", got, "new\n")
			}
			mustHavePerm(t, path, perm)
			mustHaveOnly(t, dir, "out.csv")
		})
	}
}

func TestWriteCreatesAMissingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".hidden")
	if err := WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, path); got != "x" {
		t.Errorf("got content %q, want %q", got, "x")
	}
	mustHaveOnly(t, dir, ".hidden")
}

func TestWriteFailureKeepsTheOldFile(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name  string
		path  func(dir string) string
		write func(io.Writer) error
		want  error
	}{
		{"write fails after some bytes", func(dir string) string { return filepath.Join(dir, "out.csv") },
			func(w io.Writer) error {
				if _, err := io.WriteString(w, "partial"); err != nil {
					return err
				}
				return boom
			}, boom},
		{"rename onto a directory", func(dir string) string {
			p := filepath.Join(dir, "sub")
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(p, "keep"), "old\n")
			return p
		}, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.path(dir)
			if fi, err := os.Stat(path); err == nil && !fi.IsDir() || errors.Is(err, fs.ErrNotExist) {
				mustWrite(t, path, "old\n")
			}
			before, _ := os.ReadDir(dir)
			err := Write(path, 0o644, tc.write)
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got error %v, want %v", err, tc.want)
			}
			var names []string
			for _, e := range before {
				names = append(names, e.Name())
			}
			mustHaveOnly(t, dir, names...)
			if fi, _ := os.Stat(path); fi.IsDir() {
				if got := mustRead(t, filepath.Join(path, "keep")); got != "old\n" {
					t.Errorf("got %q in the directory, want it untouched", got)
				}
			} else if got := mustRead(t, path); got != "old\n" {
				t.Errorf("got content %q, want the old file %q", got, "old\n")
			}
		})
	}
}

func TestWriteIntoAMissingDirectoryFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "out.csv")
	if err := WriteFile(path, []byte("x"), 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got error %v, want one wrapping fs.ErrNotExist", err)
	}
}

func TestCreateDir(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "v1")
	files := []File{{Name: "a.json", Data: []byte("a"), Perm: 0o644}, {Name: "secret", Data: []byte("s"), Perm: 0o600}}
	if err := CreateDir(path, 0o755, files); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	mustHaveOnly(t, root, "v1")
	mustHaveOnly(t, path, "a.json", "secret")
	mustHavePerm(t, path, 0o755)
	for _, f := range files {
		if got := mustRead(t, filepath.Join(path, f.Name)); got != string(f.Data) {
			t.Errorf("got %q in %s, want %q", got, f.Name, f.Data)
		}
		mustHavePerm(t, filepath.Join(path, f.Name), f.Perm)
	}

	// An existing directory is never replaced.
	err := CreateDir(path, 0o755, []File{{Name: "a.json", Data: []byte("b"), Perm: 0o644}})
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("got error %v creating over an existing directory, want one wrapping fs.ErrExist", err)
	}
	if got := mustRead(t, filepath.Join(path, "a.json")); got != "a" {
		t.Errorf("got %q, want the existing directory untouched", got)
	}
	mustHaveOnly(t, root, "v1")
}

func TestCreateDirFailureLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []File
	}{
		{"a path for a name", []File{{Name: "ok", Perm: 0o644}, {Name: "../escape", Perm: 0o644}}},
		{"the same name twice", []File{{Name: "a", Perm: 0o644}, {Name: "a", Perm: 0o644}}},
		{"an empty name", []File{{Name: "", Perm: 0o644}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := CreateDir(filepath.Join(root, "v1"), 0o755, tc.files); err == nil {
				t.Fatal("got no error, want one")
			}
			mustHaveOnly(t, root)
		})
	}
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "admin.key")
	if err := Create(path, []byte("first\n"), 0o600); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	mustHavePerm(t, path, 0o600)
	if err := Create(path, []byte("second\n"), 0o600); !errors.Is(err, fs.ErrExist) {
		t.Errorf("got error %v creating an existing file, want one wrapping fs.ErrExist", err)
	}
	if got := mustRead(t, path); got != "first\n" {
		t.Errorf("got content %q, want the first file kept", got)
	}
	mustHaveOnly(t, dir, "admin.key")
}

// TestCreateRace creates one file from many goroutines at once: exactly one wins, and the
// file holds its content whole.
func TestCreateRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "admin.key")
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- Create(path, []byte(strings.Repeat(string(rune('a'+i)), 4096)), 0o600) }()
	}
	wins := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			wins++
		case !errors.Is(err, fs.ErrExist):
			t.Errorf("got error %v, want none or fs.ErrExist", err)
		}
	}
	if wins != 1 {
		t.Errorf("got %d creators succeeding, want 1", wins)
	}
	got := mustRead(t, path)
	if len(got) != 4096 || strings.Count(got, got[:1]) != 4096 {
		t.Errorf("got a file of %d bytes mixing writers, want 4096 bytes of one", len(got))
	}
	mustHaveOnly(t, dir, "admin.key")
}
