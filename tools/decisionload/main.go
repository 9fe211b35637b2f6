// Command decisionload does the decision log's storage work without a server: it stores
// -rate decisions a second into a SQLite file through fraudguard's store, a batch every
// -interval, each decision with a random UUID as its transaction_id (as clients send) and
// random inputs. That is what the log's writer does at that rate, less the requests. make bench
// runs it beside a server with the log off, at normal and at low CPU priorities, to measure what
// the work costs that server's latency when it runs in another process.
//
//	go run ./tools/decisionload -db /tmp/load.db -rate 5000
//
// It stops at SIGINT or SIGTERM, after the batch it is storing, or once -count decisions are
// stored, and prints how many decisions it stored.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/loadtest"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
)

// maxBatch is the most decisions a batch may hold (-rate × -interval).
const maxBatch = 100_000

// usageError is a bad command line: main exits 2 for it (1 for a failure while storing).
// shown: the flag package has printed it already, with the usage.
type usageError struct {
	error
	shown bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal the next ones are the default again: a second Ctrl-C ends a
	// batch that is stuck waiting for the database.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var usage usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &usage):
		if !usage.shown {
			fmt.Fprintln(os.Stderr, "decisionload:", err)
		}
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "decisionload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("decisionload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "the SQLite file to store into (created when missing)")
	rate := fs.Int("rate", 5000, "decisions a second")
	interval := fs.Duration("interval", 100*time.Millisecond, "how often a batch is stored")
	count := fs.Int("count", 0, "stop once this many decisions are stored (0: at SIGINT or SIGTERM)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err, true}
	}
	switch {
	case fs.NArg() > 0:
		return usageError{error: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	case *db == "":
		return usageError{error: errors.New("-db is required")}
	case *rate < 1 || *rate > 1_000_000:
		return usageError{error: fmt.Errorf("-rate %d: want 1 to 1,000,000 decisions a second", *rate)}
	case *interval < time.Millisecond || *interval > 10*time.Second:
		return usageError{error: fmt.Errorf("-interval %s: want 1ms to 10s", *interval)}
	case *count < 0:
		return usageError{error: fmt.Errorf("-count %d: want 0 or more", *count)}
	}
	// A batch every interval of rate × interval decisions, a whole number of them, so that the
	// rate asked is the rate stored while the store keeps up.
	perBatch := int64(*rate) * int64(*interval)
	if perBatch%int64(time.Second) != 0 || perBatch/int64(time.Second) > maxBatch {
		return usageError{error: fmt.Errorf("-rate %d with -interval %s makes batches of %.3g decisions: want a whole number from 1 to %d",
			*rate, *interval, float64(perBatch)/float64(time.Second), maxBatch)}
	}

	s, err := sqlite.Open(ctx, *db, sqlite.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()

	batch := make([]fraud.Decision, perBatch/int64(time.Second))
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	began := time.Now()
	stored := 0
	for *count == 0 || stored < *count {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		if ctx.Err() != nil { // a stop and a tick at once: the stop
			break
		}
		b := batch
		if *count > 0 {
			b = batch[:min(len(batch), *count-stored)]
		}
		fill(b, time.Now())
		// A batch begun is finished: a stop ends the loop, not a transaction half-way.
		if err := s.RecordDecisions(context.WithoutCancel(ctx), b); err != nil {
			return fmt.Errorf("after %d decisions: %w", stored, err)
		}
		stored += len(b)
	}
	// When the store does not keep up, ticks are dropped: the rate achieved says so.
	took := time.Since(began)
	fmt.Fprintf(stdout, "stored %d decisions in %.1fs, %.0f a second\n", stored, took.Seconds(), float64(stored)/took.Seconds())
	return nil
}

// fill makes every decision of batch new: a random UUID v4 as its transaction_id, a random
// request id, random inputs and a low score, made at now.
func fill(batch []fraud.Decision, now time.Time) {
	for i := range batch {
		d := &batch[i]
		*d = fraud.Decision{
			TransactionID: string(loadtest.AppendUUIDv4(nil)),
			RequestID:     fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64()), // the server's form
			Time:          now,
			ModelVersion:  "decisionload",
			Probability:   rand.Float64() / 100,
			Threshold:     0.5,
			Risk:          fraud.RiskLow,
		}
		for j := range d.Features {
			d.Features[j] = rand.NormFloat64()
		}
	}
}
