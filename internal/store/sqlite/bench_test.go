package sqlite

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// benchEvent is a typical audit event: an attack caught on /predict.
func benchEvent(i int) fraud.AuditEvent {
	return fraud.AuditEvent{
		Time:      time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
		RequestID: "01JDK3Q4W8Z7X6V5T4S3R2P1N0-" + strconv.Itoa(i),
		ClientIP:  "203.0.113.42",
		KeyName:   "checkout-eu",
		Action:    fraud.ActionAttackDetected,
		Outcome:   fraud.OutcomeBlocked,
		Detail:    `rule sqli-union-select matched body field "merchant": ' UNION SELECT password FROM users--`,
	}
}

// BenchmarkRecordAudit is one writer recording events back to back: each is its own transaction.
func BenchmarkRecordAudit(b *testing.B) {
	s := mustOpen(b, filepath.Join(b.TempDir(), "fraudguard.db"))
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if err := s.RecordAudit(ctx, benchEvent(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRecordAuditParallel is many goroutines recording at once, queueing for the writer.
func BenchmarkRecordAuditParallel(b *testing.B) {
	s := mustOpen(b, filepath.Join(b.TempDir(), "fraudguard.db"))
	ctx := context.Background()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := s.RecordAudit(ctx, benchEvent(i)); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkListAudit reads the newest page of 50 out of 10,000 events, filtered by action.
func BenchmarkListAudit(b *testing.B) {
	s := mustOpen(b, filepath.Join(b.TempDir(), "fraudguard.db"))
	ctx := context.Background()
	tx, err := s.write.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 10_000; i++ {
		e := benchEvent(i)
		if i%3 == 0 {
			e.Action = fraud.ActionAuthFailure
		}
		if _, err := tx.Exec(`INSERT INTO audit_events (time_ns, request_id, client_ip, key_name, action, outcome, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Time.UnixNano(), e.RequestID, e.ClientIP, e.KeyName, e.Action, e.Outcome, e.Detail); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		got, total, err := s.ListAudit(ctx, fraud.AuditFilter{Action: fraud.ActionAuthFailure, Limit: 50})
		if err != nil || len(got) != 50 || total != 3334 {
			b.Fatalf("got %d events (total %d, %v), want 50 (total 3334)", len(got), total, err)
		}
	}
}
