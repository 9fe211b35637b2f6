// Package sharedtest finds, for tests, the data files several packages share: the real
// transaction samples in the repository's datasets/ folder and the model-format test vectors in
// its testdata/parity/ folder (testdata/parity/README.md names their public sources and
// licences). Every file is part of the repository, so a missing one fails the test.
package sharedtest

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Root returns the repository root: the directory holding go.mod at or above the test's
// working directory. It fails the test when there is none.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod at or above %s: the test does not run inside the repository", dir)
		}
		dir = parent
	}
}

// Data returns the path of a real transaction file of the repository, datasets/<name>. It
// fails the test when the file is missing.
func Data(t testing.TB, name string) string {
	t.Helper()
	return mustExist(t, filepath.Join(Root(t), "datasets", name))
}

// Testdata returns the path of model-format test vectors, testdata/parity/<elem...> (a file
// or a folder). It fails the test when the path is missing.
func Testdata(t testing.TB, elem ...string) string {
	t.Helper()
	return mustExist(t, filepath.Join(append([]string{Root(t), "testdata", "parity"}, elem...)...))
}

func mustExist(t testing.TB, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("test data file of the repository: %v", err)
	}
	return path
}

// Buffer is a bytes.Buffer safe for concurrent use: a log's output that goroutines of the code
// under test write while the test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
