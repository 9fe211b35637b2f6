// Package telemetry sets up logging, system sampling, metrics and tracing.
package telemetry

import (
	"bufio"

	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// flushInterval bounds how long a log line may wait in the buffer.
const flushInterval = 200 * time.Millisecond

// BufferedWriter buffers log output so that a request never waits on a disk or pipe write; a
// background goroutine flushes it every flushInterval, and Close flushes what is left.
type BufferedWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	dst  io.Writer
	stop chan struct{}
	done chan struct{}
}

// NewBufferedWriter starts flushing to dst in the background.
func NewBufferedWriter(dst io.Writer) *BufferedWriter {
	b := &BufferedWriter{w: bufio.NewWriterSize(dst, 64<<10), dst: dst, stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

func (b *BufferedWriter) loop() {
	defer close(b.done)
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.Flush()
		case <-b.stop:
			return
		}
	}
}

// Write buffers p; it writes through only when the buffer is full.
func (b *BufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes out what is buffered.
func (b *BufferedWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the background flusher, flushes, and closes the destination if it is a file
// other than standard output or error.
func (b *BufferedWriter) Close() error {
	close(b.stop)
	<-b.done
	err := b.Flush()
	if c, ok := b.dst.(io.Closer); ok && c != io.Closer(os.Stdout) && c != io.Closer(os.Stderr) {
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
}

// NewLogger returns a slog logger writing through a BufferedWriter, and the writer to Close at
// shutdown. A log file is opened (and its directory checked) at once, so a bad path fails here
// rather than at the first line; it rotates by size, keeping MaxFiles old files.
func NewLogger(opts LogOptions) (*slog.Logger, *BufferedWriter, error) {
	dst := opts.Stdout
	if opts.File != "" {
		f, err := os.OpenFile(opts.File, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("open log file: %w", err)
		}
		f.Close()
		dst = &lumberjack.Logger{Filename: opts.File, MaxSize: max(1, opts.MaxSizeMB), MaxBackups: opts.MaxFiles}
	}
	bw := NewBufferedWriter(dst)
	ho := &slog.HandlerOptions{Level: opts.Level}
	var h slog.Handler
	if opts.Format == "text" {
		h = slog.NewTextHandler(bw, ho)
	} else {
		h = slog.NewJSONHandler(bw, ho)
	}
	return slog.New(h), bw, nil
}
