package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/decision"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
)

// BenchmarkDecisionLog measures what the decision log costs /predict over real HTTP on
// loopback, with the shipped model, the first real transaction (each request with a random
// transaction_id of its own, as a client's traffic has) and the SQLite store, in one run:
//
//   - paced: 5,000 requests a second for FRAUDGUARD_BENCH_SECONDS (default 3), with the log
//     off and then on; latency is measured from each request's scheduled start, so a stall
//     shows; reported: p50 and p99 of each, and the share of the paced requests recorded;
//   - saturation: 32 connections as fast as they go, off and on in turns (three of each), so
//     that a change in the machine's load falls on both; reported: requests a second of each
//     (over all its turns), their ratio, and the share recorded.
//
// Run it alone, once: go test -run '^$' -bench DecisionLog -benchtime 1x ./internal/api/
func BenchmarkDecisionLog(b *testing.B) {
	seconds := 3.0
	if v := os.Getenv("FRAUDGUARD_BENCH_SECONDS"); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
			seconds = f
		}
	}
	phase := time.Duration(seconds * float64(time.Second))
	m := mustShippedModel(b)
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil)) // formatted as in production
	newServer := func(rec DecisionRecorder) *httptest.Server {
		s, err := NewServer(logger, Options{Version: "bench", Decisions: rec}, staticModels{m}, fixedSystem{}, bareGuard(b))
		if err != nil {
			b.Fatal(err)
		}
		return httptest.NewServer(s)
	}
	store, err := sqlite.Open(context.Background(), b.TempDir()+"/fraudguard.db", sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	l := decision.New(store, logger, decision.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	off, on := newServer(nil), newServer(l)
	defer off.Close()
	defer on.Close()
	template := txBody(firstRow, map[string]any{"transaction_id": idMark}, "")
	body := func() []byte { // the template with a random id of UUID's length
		return bytes.Replace(template, []byte(idMark), fmt.Appendf(nil, "txn-%016x%016x", rand.Uint64(), rand.Uint64()), 1)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	defer client.CloseIdleConnections()

	stored := func() int64 {
		counts, _, err := store.DecisionCounts(context.Background(), time.Time{}, time.Time{}, "")
		if err != nil {
			b.Fatal(err)
		}
		var n int
		for _, c := range counts {
			n += c
		}
		return int64(n)
	}
	// settle waits for the writer to store what it was given (1 s at most) and returns the
	// number stored since before.
	settle := func(before, sent int64) int64 {
		deadline := time.Now().Add(time.Second)
		for {
			n := stored() - before
			if n >= sent-l.Dropped() || time.Now().After(deadline) {
				return n
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	for b.Loop() {
		// Paced.
		pOff, _ := paced(b, client, off.URL+"/predict", body, 5000, phase)
		before, droppedBefore := stored(), l.Dropped()
		pOn, sent := paced(b, client, on.URL+"/predict", body, 5000, phase)
		recordedPaced := settle(before, sent)
		b.ReportMetric(pct(pOff, 0.50), "p50-off-ms")
		b.ReportMetric(pct(pOn, 0.50), "p50-on-ms")
		b.ReportMetric(pct(pOff, 0.99), "p99-off-ms")
		b.ReportMetric(pct(pOn, 0.99), "p99-on-ms")
		b.ReportMetric(100*float64(recordedPaced)/float64(sent), "%recorded-paced")
		b.Logf("paced 5000/s for %v: off p50 %.3f ms p99 %.3f ms; on p50 %.3f ms p99 %.3f ms; %d of %d recorded, %d dropped",
			phase, pct(pOff, 0.5), pct(pOff, 0.99), pct(pOn, 0.5), pct(pOn, 0.99), recordedPaced, sent, l.Dropped()-droppedBefore)

		// Saturation, in turns so that a change in the machine's load falls on both.
		const turns = 3
		var rateOff, rateOn float64
		var sentOn, recordedSat, droppedSat int64
		var ratios []string
		var cpuOff, cpuOn time.Duration
		var sentOff int64
		for range turns {
			c0 := processCPU()
			nOff := saturate(b, client, off.URL+"/predict", body, 32, phase)
			cpuOff += processCPU() - c0
			sentOff += nOff
			rateOff += float64(nOff) / phase.Seconds() / turns
			before, droppedBefore := stored(), l.Dropped()
			c0 = processCPU()
			n := saturate(b, client, on.URL+"/predict", body, 32, phase)
			cpuOn += processCPU() - c0 // the writer's share of the turn's decisions included, mostly
			rateOn += float64(n) / phase.Seconds() / turns
			ratios = append(ratios, strconv.FormatFloat(float64(n)/float64(nOff), 'f', 3, 64))
			sentOn += n
			recordedSat += settle(before, n)
			droppedSat += l.Dropped() - droppedBefore
		}
		b.ReportMetric(rateOff, "req/s-off")
		b.ReportMetric(rateOn, "req/s-on")
		b.ReportMetric(rateOn/rateOff, "on/off")
		b.ReportMetric(100*float64(recordedSat)/float64(sentOn), "%recorded-saturated")
		// The process's CPU per request (server, writer and the load generator alike): unlike
		// the rates, it does not move with other work on the machine.
		perOff := float64(cpuOff.Microseconds()) / float64(sentOff)
		perOn := float64(cpuOn.Microseconds()) / float64(sentOn)
		b.ReportMetric(perOff, "cpu-µs/req-off")
		b.ReportMetric(perOn, "cpu-µs/req-on")
		b.Logf("CPU per request at saturation (process, load generator included): off %.1f µs, on %.1f µs: at equal CPU, on/off = %.3f", perOff, perOn, perOff/perOn)
		b.Logf("saturation, 32 connections, %d turns of %v each: off %.0f req/s, on %.0f req/s (%.3f×; by turn %s); %d of %d recorded, %d dropped",
			turns, phase, rateOff, rateOn, rateOn/rateOff, strings.Join(ratios, ", "), recordedSat, sentOn, droppedSat)
	}
}

// paced sends rate requests a second for d and returns each one's latency from its scheduled
// start, in milliseconds, and how many were sent.
func paced(b *testing.B, client *http.Client, url string, body func() []byte, rate int, d time.Duration) ([]float64, int64) {
	total := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	slots := make(chan time.Time, total)
	lat := make([]float64, 0, total)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			own := make([]float64, 0, total/32)
			for at := range slots {
				if wait := time.Until(at); wait > 0 {
					time.Sleep(wait)
				}
				post(b, client, url, body())
				own = append(own, float64(time.Since(at))/float64(time.Millisecond))
			}
			mu.Lock()
			lat = append(lat, own...)
			mu.Unlock()
		})
	}
	start := time.Now().Add(10 * time.Millisecond)
	for i := range total {
		slots <- start.Add(time.Duration(i) * interval)
	}
	close(slots)
	wg.Wait()
	return lat, int64(total)
}

// saturate sends requests on conns connections as fast as they are answered for d, and
// returns how many were answered.
func saturate(b *testing.B, client *http.Client, url string, body func() []byte, conns int, d time.Duration) int64 {
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				post(b, client, url, body())
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return n.Load()
}

func post(b *testing.B, client *http.Client, url string, body []byte) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Error(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Errorf("status %d", resp.StatusCode)
	}
}

// pct returns the q quantile of v (sorted in place).
func pct(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[min(len(v)-1, int(q*float64(len(v))))]
}

// idMark stands for the transaction id in a body template.
const idMark = "@@transaction-id@@"

// discardDecisions is a decision store that keeps nothing.
type discardDecisions struct{ fraud.DecisionLog }

func (discardDecisions) RecordDecisions(context.Context, []fraud.Decision) error { return nil }

// BenchmarkPredictDecisionLog is BenchmarkPredict with the decision log on, its writer
// running on a store that keeps nothing: what recording adds to the request itself.
func BenchmarkPredictDecisionLog(b *testing.B) {
	l := decision.New(discardDecisions{}, slog.New(slog.DiscardHandler), decision.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() { cancel(); <-done }()
	s, err := NewServer(slog.New(slog.NewJSONHandler(io.Discard, nil)), Options{Version: "bench", Decisions: l}, staticModels{mustModel(b)}, fixedSystem{}, bareGuard(b))
	if err != nil {
		b.Fatal(err)
	}
	benchPredict(b, s, nil)
	b.ReportMetric(float64(l.Dropped()), "dropped")
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
