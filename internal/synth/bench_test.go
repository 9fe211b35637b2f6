package synth

import (
	"context"
	"io"
	"testing"
)

// BenchmarkNext measures drawing rows without formatting them.
func BenchmarkNext(b *testing.B) {
	g := mustGenerator(b, mustDefaultParams(b), 1, DefaultFraudRate, b.N)
	var r Row
	b.ResetTimer()
	for g.Next(&r) {
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkWriteCSV measures the whole of gen's work per row: drawing and formatting.
func BenchmarkWriteCSV(b *testing.B) {
	g := mustGenerator(b, mustDefaultParams(b), 1, DefaultFraudRate, b.N)
	b.ResetTimer()
	if _, err := WriteCSV(context.Background(), io.Discard, g); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkAppendRow measures formatting one realistic generated row.
func BenchmarkAppendRow(b *testing.B) {
	g := mustGenerator(b, mustDefaultParams(b), 1, DefaultFraudRate, 1)
	var r Row
	g.Next(&r)
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf = AppendRow(buf[:0], &r)
	}
}
