package telemetry

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBufferedWriterFlushesInBackground(t *testing.T) {
	var dst lockedBuffer
	w := NewBufferedWriter(&dst)
	defer w.Close()
	if _, err := w.Write([]byte("line\n")); err != nil {
		t.Fatal(err)
	}
	if dst.String() != "" {
		t.Fatalf("got %q written at once, want it buffered", dst.String())
	}
	deadline := time.Now().Add(5 * time.Second)
	for dst.String() == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if dst.String() != "line\n" {
		t.Errorf("got %q after the flush interval, want %q", dst.String(), "line\n")
	}
}

func TestLoggerToFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fraudguard.log")
	logger, w, err := NewLogger(LogOptions{Level: slog.LevelInfo, Format: "json", File: path})
	if err != nil {
		t.Fatal(err)
	}
	logger.Debug("hidden")
	logger.Info("shown", slog.String("k", "v"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(data); !strings.Contains(got, `"msg":"shown","k":"v"`) || strings.Contains(got, "hidden") {
		t.Errorf("got log %q, want the INFO line only", got)
	}
	if _, _, err := NewLogger(LogOptions{Format: "json", File: filepath.Join(t.TempDir(), "no", "such", "dir.log")}); err == nil {
		t.Error("got no error for a log file in a missing directory")
	}
}

func TestSystemSampler(t *testing.T) {
	s := NewSystemSampler(slog.New(slog.DiscardHandler), t.TempDir(), 10*time.Millisecond)
	first := s.System()
	if first.Goroutines < 1 || first.RSSBytes == 0 || first.MemoryPercent <= 0 || first.MemoryPercent > 100 || first.DiskUsagePercent <= 0 || first.DiskUsagePercent > 100 {
		t.Errorf("implausible first sample: %+v", first)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for !s.System().SampledAt.After(first.SampledAt) && time.Now().Before(deadline) {
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond)
	}
	if !s.System().SampledAt.After(first.SampledAt) {
		t.Error("no new sample in the background")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v", err)
	}
}

func TestLogFileRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fraudguard.log")
	logger, w, err := NewLogger(LogOptions{Level: slog.LevelInfo, Format: "json", File: path, MaxSizeMB: 1, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 1000)
	for range 5000 { // about 5 MB: four rotations
		logger.Info("filler", slog.String("pad", line))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Old files are pruned in the background after a rotation.
	deadline := time.Now().Add(5 * time.Second)
	var files []os.DirEntry
	for {
		files, err = os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) <= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(files) != 3 {
		t.Errorf("got %d files, want the live log and 2 rotated ones", len(files))
	}
	for _, f := range files {
		info, err := f.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() > 1<<20+64<<10 {
			t.Errorf("%s is %d bytes, over the 1 MB limit", f.Name(), info.Size())
		}
	}
}
