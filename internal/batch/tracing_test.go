package batch

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/telemetry"
	"github.com/fraudguard/fraudguard/internal/telemetry/otlptest"
)

// TestChunkSpans runs a job with tracing on and checks that each chunk is a span with its
// scoring and store commit as children.
func TestChunkSpans(t *testing.T) {
	collector := otlptest.NewCollector(t)
	tr, err := telemetry.NewTracing(context.Background(), telemetry.TracingOptions{Endpoint: collector.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	s := New(mustStore(t), fixedModel{mustModel(t)}, slog.New(slog.DiscardHandler),
		Options{ChunkRows: 5, Tracer: tr.Tracer(), PollInterval: 5 * time.Millisecond})
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()
	var body strings.Builder
	body.WriteString(csvHeader(false))
	for i := range 12 {
		body.WriteString(csvLine(i, false))
	}
	j := mustSubmit(t, s, []byte(body.String()), "text/csv")
	mustFinish(t, s, j.ID)
	// The job reads as done once the last chunk commits, a moment before that chunk's spans
	// end: stop the workers before flushing the spans.
	stop()
	<-stopped
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := collector.WaitFor(t, func(sp []otlptest.Span) bool { return len(sp) >= 9 }, 10*time.Second)
	chunks := map[string]string{} // span id → job id
	for _, sp := range spans {
		if sp.Name == "batch.chunk" {
			chunks[sp.SpanID] = sp.Attributes["batch.job_id"]
		}
	}
	if len(chunks) != 3 {
		t.Fatalf("got %d chunk spans, want 3 (12 rows in chunks of 5)", len(chunks))
	}
	children := map[string]int{}
	for _, sp := range spans {
		if job, ok := chunks[sp.ParentSpanID]; ok {
			if job != j.ID {
				t.Errorf("chunk span of job %q, want %q", job, j.ID)
			}
			children[sp.Name]++
		}
	}
	if children["model.score_chunk"] != 3 || children["store.complete_chunk"] != 3 {
		t.Errorf("got child spans %v, want 3 scoring and 3 store spans", children)
	}
}
