// Package sharedtest finds, for tests, the data files several packages share: the real
// transaction samples in the repository's datasets/ folder, and the model test vectors in
// ../shared/testdata beside the repository (a test whose vectors are absent is skipped with a
// message saying where it looked).
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns shared/<elem...>, where shared is the sibling of the repository root (the
// directory holding go.mod above the test's working directory). It skips the test when the
// repository root or the file is not found.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	path := filepath.Join(append([]string{filepath.Dir(root(t)), "shared"}, elem...)...)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s is absent (it lives outside the repository); skipping", path)
	}
	return path
}

// root returns the repository root: the directory holding go.mod above the test's working
// directory. It skips the test when there is none.
func root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("no go.mod above the test's directory, so no shared folder beside the repository; skipping")
		}
		dir = parent
	}
	return dir
}

// Data returns the path of a real transaction file of the repository, datasets/<name>. The
// files are part of the repository, so a missing one fails the test.
func Data(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(root(t), "datasets", name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("real transaction file: %v", err)
	}
	return path
}

// Testdata returns the path of model test vectors, shared/testdata/<elem...>.
func Testdata(t testing.TB, elem ...string) string {
	t.Helper()
	return Path(t, append([]string{"testdata"}, elem...)...)
}
