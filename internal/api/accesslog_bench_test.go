package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/fraudguard/fraudguard/internal/telemetry"
)

// BenchmarkPredictLogged measures /predict with the access log as production writes it: JSON
// at INFO, through telemetry's writer, to a rotating file. Compare BenchmarkPredict, which
// formats the line and discards it, and BenchmarkPredictUnlogged, the same server at WARN,
// where the access log line is not even formatted: the difference is the access log's cost.
func BenchmarkPredictLogged(b *testing.B) { benchPredictAtLevel(b, slog.LevelInfo) }

// BenchmarkPredictUnlogged is BenchmarkPredictLogged with LOG_LEVEL=WARN: no access log.
func BenchmarkPredictUnlogged(b *testing.B) { benchPredictAtLevel(b, slog.LevelWarn) }

func benchPredictAtLevel(b *testing.B, level slog.Level) {
	logger, w, err := telemetry.NewLogger(telemetry.LogOptions{Level: level, Format: "json",
		File: filepath.Join(b.TempDir(), "fraudguard.log"), MaxSizeMB: 100, MaxFiles: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	s, err := NewServer(logger, Options{Version: "bench"}, staticModels{mustModel(b)}, fixedSystem{}, bareGuard(b))
	if err != nil {
		b.Fatal(err)
	}
	benchPredict(b, s, nil)
}

// BenchmarkPredictLoggedParallel is BenchmarkPredictLogged from every core at once, where
// requests would queue on a log lock held across a disk write.
func BenchmarkPredictLoggedParallel(b *testing.B) {
	logger, w, err := telemetry.NewLogger(telemetry.LogOptions{Level: slog.LevelInfo, Format: "json",
		File: filepath.Join(b.TempDir(), "fraudguard.log"), MaxSizeMB: 100, MaxFiles: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	s, err := NewServer(logger, Options{Version: "bench"}, staticModels{mustModel(b)}, fixedSystem{}, bareGuard(b))
	if err != nil {
		b.Fatal(err)
	}
	body := txBody(firstRow, map[string]any{"transaction_id": "txn-bench"}, "")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			r := httptest.NewRequest("POST", "/predict", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			clear(w.h)
			w.code = 0
			s.ServeHTTP(w, r)
			if w.code != 200 {
				b.Errorf("got status %d", w.code)
				return
			}
		}
	})
}
