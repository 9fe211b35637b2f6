package telemetry

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

func TestAsyncWriterFlushesInBackground(t *testing.T) {
	var dst sharedtest.Buffer
	w := NewAsyncWriter(&dst, 0)
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

// stalledWriter blocks every write until release is closed, like a disk that stopped
// answering, and keeps what it was given.
type stalledWriter struct {
	release chan struct{}
	sharedtest.Buffer
}

func (s *stalledWriter) Write(p []byte) (int, error) {
	<-s.release
	return s.Buffer.Write(p)
}

// TestAsyncWriterDropsWhenStalled checks that a stalled destination never makes Write wait:
// lines that do not fit in the buffer are dropped and counted, and every line is either
// written whole or counted.
func TestAsyncWriterDropsWhenStalled(t *testing.T) {
	dst := &stalledWriter{release: make(chan struct{})}
	const limit = 256 << 10
	w := NewAsyncWriter(dst, limit)
	line := []byte(strings.Repeat("x", 99) + "\n")
	const lines = 10000 // 1 MB: four times the buffer, and the writer is stuck on its first write
	start := time.Now()
	for range lines {
		if n, err := w.Write(line); n != len(line) || err != nil {
			t.Fatalf("Write: got %d, %v, want %d, nil", n, err, len(line))
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("writing %d lines to a stalled destination took %v, want no waiting", lines, d)
	}
	if w.Dropped() == 0 {
		t.Error("got no line dropped with the destination stalled, want the overflow dropped")
	}
	close(dst.release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := dst.String()
	if len(got)%len(line) != 0 || strings.Count(got, "\n") != len(got)/len(line) {
		t.Fatalf("got %d bytes, not whole lines", len(got))
	}
	written := int64(len(got) / len(line))
	if written+w.Dropped() != lines {
		t.Errorf("got %d written + %d dropped, want %d", written, w.Dropped(), lines)
	}
	// At most the buffer, and what the writer took before it stalled, got through.
	if written > 2*limit/int64(len(line)) {
		t.Errorf("got %d lines written, more than two buffers hold", written)
	}
	if _, err := w.Write(line); err != nil || w.Dropped() != lines-written+1 {
		t.Errorf("a write after Close: got %v and %d dropped, want it dropped", err, w.Dropped())
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestAsyncWriterCountsFailedWrites(t *testing.T) {
	w := NewAsyncWriter(failingWriter{}, 0)
	w.Write([]byte("line\n"))
	if err := w.Flush(); err == nil {
		t.Error("Flush: got no error from a failing destination")
	}
	if w.Failed() != 1 {
		t.Errorf("got %d failed writes, want 1", w.Failed())
	}
	w.Close()
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
	// A buffer larger than all the output, so that the loop below cannot outrun the writer.
	logger, w, err := NewLogger(LogOptions{Level: slog.LevelInfo, Format: "json", File: path, MaxSizeMB: 1, MaxFiles: 2, BufferBytes: 16 << 20})
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
