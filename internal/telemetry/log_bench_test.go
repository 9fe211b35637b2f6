package telemetry

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
)

// BenchmarkAccessLine measures one access log line as the API writes it (ten attributes,
// JSON at INFO) through NewLogger to a file: the formatting, the copy into the writer's buffer
// and, spread over the lines, the background write.
func BenchmarkAccessLine(b *testing.B) {
	logger, w, err := NewLogger(LogOptions{Level: slog.LevelInfo, Format: "json", File: filepath.Join(b.TempDir(), "access.log"), MaxSizeMB: 100, MaxFiles: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		logger.LogAttrs(ctx, slog.LevelInfo, "request",
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
		)
	}
	b.StopTimer()
	if d := w.Dropped(); d > 0 {
		b.Logf("%d of %d lines dropped", d, b.N)
	}
}
