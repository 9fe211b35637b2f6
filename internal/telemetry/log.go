// Package telemetry sets up logging, system sampling, metrics and tracing.
package telemetry

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// flushInterval bounds how long a log line may wait in the buffer.
const flushInterval = 200 * time.Millisecond

// Defaults of the asynchronous writer.
const (
	// DefaultLogBufferBytes is the most log output held in memory waiting for the disk: about
	// 14,000 access log lines, half a second of /predict at 30,000 requests a second.
	DefaultLogBufferBytes = 4 << 20
	// logWriteAt is how much waiting output wakes the writer before its next tick.
	logWriteAt = 64 << 10
	// keepBufferBytes is the largest buffer kept for reuse after a write.
	keepBufferBytes = 1 << 20
)

// AsyncWriter takes log output without ever making the caller wait on the destination: Write
// copies the line into memory under a short lock and returns; a background goroutine writes
// what has gathered every flushInterval, or as soon as 64 KiB wait. When more than the buffer
// limit is waiting (a slow or stalled disk), a line is dropped and counted instead of waiting
// for room. Close writes what is left.
type AsyncWriter struct {
	mu      sync.Mutex // guards buf and closed; never held across a write to dst
	buf     []byte     // lines waiting to be written, whole
	closed  bool
	limit   int
	dropped atomic.Int64
	failed  atomic.Int64

	wmu   sync.Mutex // serialises writes to dst, and holds spare
	spare []byte
	dst   io.Writer

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// NewAsyncWriter starts writing to dst in the background, holding at most limit bytes of
// output in memory (DefaultLogBufferBytes when limit ≤ 0).
func NewAsyncWriter(dst io.Writer, limit int) *AsyncWriter {
	if limit <= 0 {
		limit = DefaultLogBufferBytes
	}
	a := &AsyncWriter{limit: limit, dst: dst, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go a.loop()
	return a
}

func (a *AsyncWriter) loop() {
	defer close(a.done)
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-a.kick:
		case <-a.stop:
			return
		}
		a.Flush()
	}
}

// Write queues p, one log line, and returns at once. A line that does not fit in the buffer
// is dropped and counted (Dropped); it never blocks and never fails.
func (a *AsyncWriter) Write(p []byte) (int, error) {
	a.mu.Lock()
	if a.closed || len(a.buf)+len(p) > a.limit {
		a.mu.Unlock()
		a.dropped.Add(1)
		return len(p), nil
	}
	a.buf = append(a.buf, p...)
	wake := len(a.buf) >= logWriteAt
	a.mu.Unlock()
	if wake {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// Flush writes out what is waiting, in the caller's goroutine. A failed write loses what it
// held: it is counted (Failed) and reported.
func (a *AsyncWriter) Flush() error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.mu.Lock()
	out := a.buf
	a.buf = a.spare[:0]
	a.mu.Unlock()
	var err error
	if len(out) > 0 {
		if _, err = a.dst.Write(out); err != nil {
			a.failed.Add(1)
		}
	}
	// A buffer that grew large in a burst is let go rather than kept for good.
	if cap(out) > keepBufferBytes {
		out = nil
	}
	a.spare = out[:0]
	return err
}

// Dropped returns how many lines were dropped because the buffer was full (or the writer
// closed).
func (a *AsyncWriter) Dropped() int64 { return a.dropped.Load() }

// Failed returns how many writes to the destination failed, each losing the lines it held.
func (a *AsyncWriter) Failed() int64 { return a.failed.Load() }

// Close stops the background writer, writes what is left, and closes the destination if it
// is a file other than standard output or error. Lines written after Close are dropped.
func (a *AsyncWriter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	close(a.stop)
	<-a.done
	err := a.Flush()
	if c, ok := a.dst.(io.Closer); ok && c != io.Closer(os.Stdout) && c != io.Closer(os.Stderr) {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// LogOptions choose the logger's destination and shape.
type LogOptions struct {
	// Level is the minimum level logged; a *slog.LevelVar lets it change at run time.
	Level  slog.Leveler
	Format string // json or text
	File   string // empty: Stdout
	// MaxSizeMB rotates File when it reaches this size; MaxFiles rotated files are kept
	// (0: all). Both apply only to File.
	MaxSizeMB int
	MaxFiles  int
	Stdout    io.Writer
	// BufferBytes is the most output held in memory waiting for the destination; past it,
	// lines are dropped and counted. DefaultLogBufferBytes when 0.
	BufferBytes int
}

// NewLogger returns a slog logger writing through an AsyncWriter, and the writer to Close at
// shutdown (and to count dropped lines). A log file is opened (and its directory checked) at once, so a bad path fails here
// rather than at the first line; it rotates by size, keeping MaxFiles old files.
func NewLogger(opts LogOptions) (*slog.Logger, *AsyncWriter, error) {
	dst := opts.Stdout
	if opts.File != "" {
		f, err := os.OpenFile(opts.File, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("open log file: %w", err)
		}
		f.Close()
		dst = &lumberjack.Logger{Filename: opts.File, MaxSize: max(1, opts.MaxSizeMB), MaxBackups: opts.MaxFiles}
	}
	bw := NewAsyncWriter(dst, opts.BufferBytes)
	ho := &slog.HandlerOptions{Level: opts.Level}
	var h slog.Handler
	if opts.Format == "text" {
		h = slog.NewTextHandler(bw, ho)
	} else {
		h = newJSONHandler(bw, ho) // slog's JSON lines, formatted faster
	}
	return slog.New(h), bw, nil
}
