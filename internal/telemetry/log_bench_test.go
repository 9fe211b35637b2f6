package telemetry

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkAccessLine measures one access log line (ten attributes, JSON at INFO) through
// NewLogger to a file: the formatting, the copy into the writer's buffer and, spread over the
// lines, the background write. "handler" is the API's way, a record handed straight to the
// handler; "logger" is Logger.LogAttrs, which first looks up the caller's source line.
func BenchmarkAccessLine(b *testing.B) {
	attrs := []slog.Attr{
		slog.String("method", "POST"),
		slog.String("route", "/predict"),
		slog.String("path", "/predict"),
		slog.Int("status", 200),
		slog.Float64("duration_ms", 0.412),
		slog.Int64("bytes", 231),
		slog.String("client_ip", "127.0.0.1"),
		slog.String("user_agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
		slog.String("request_id", "2a121993921a4f12292a3ab2cb0a0706"),
		slog.String("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
	}
	for _, way := range []string{"handler", "logger"} {
		b.Run(way, func(b *testing.B) {
			logger, w, err := NewLogger(LogOptions{Level: slog.LevelInfo, Format: "json", File: filepath.Join(b.TempDir(), "access.log"), MaxSizeMB: 100, MaxFiles: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			logger = logger.With(slog.String("component", "api"))
			ctx := context.Background()
			h := logger.Handler()
			b.ReportAllocs()
			for b.Loop() {
				if way == "logger" {
					logger.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
					continue
				}
				if h.Enabled(ctx, slog.LevelInfo) {
					r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
					r.AddAttrs(attrs...)
					_ = h.Handle(ctx, r)
				}
			}
			b.StopTimer()
			if d := w.Dropped(); d > 0 {
				b.Logf("%d of %d lines dropped", d, b.N)
			}
		})
	}
}
