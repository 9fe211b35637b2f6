package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"syscall"
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

// BenchmarkRecordDecisions stores decisions in transactions of 1,000, as the decision log's
// writer does under load, into a log that already holds 200,000; one op is one decision. The
// transaction ids are either in the order they are made (as the server makes them: time first)
// or random (as a client's own ids may be): a random id goes to a random page of the index by
// transaction, and writing that page is most of what the decision costs.
func BenchmarkRecordDecisions(b *testing.B) {
	for _, ids := range []string{"ordered", "random"} {
		b.Run("ids="+ids, func(b *testing.B) {
			s := mustOpen(b, filepath.Join(b.TempDir(), "fraudguard.db"))
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(1, 2))
			t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
			seq := 0
			batch := make([]fraud.Decision, 1000)
			fill := func() {
				for i := range batch {
					d := &batch[i]
					seq++
					d.Time = t0.Add(time.Duration(seq) * 50 * time.Microsecond)
					if ids == "ordered" {
						d.TransactionID = fmt.Sprintf("txn_%012x%016x", d.Time.UnixMilli(), rng.Uint64())
					} else {
						d.TransactionID = fmt.Sprintf("txn_%012x%016x", rng.Uint64()>>16, rng.Uint64()) // as long as the ordered ones
					}
					d.RequestID, d.ModelVersion = fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()), "20261126-000000-573a24c8"
					d.Probability, d.Threshold, d.Risk = rng.Float64()/100, 0.12739949093274297, fraud.RiskLow
					for j := range d.Features {
						d.Features[j] = rng.NormFloat64()
					}
				}
			}
			for range 200 {
				fill()
				if err := s.RecordDecisions(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			n := 0
			var cpu time.Duration
			for b.Loop() {
				if n%len(batch) == 0 {
					b.StopTimer()
					fill()
					b.StartTimer()
				}
				n++
				if n%len(batch) == 0 {
					cpu0 := cpuTime()
					if err := s.RecordDecisions(ctx, batch); err != nil {
						b.Fatal(err)
					}
					cpu += cpuTime() - cpu0
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/decision")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
