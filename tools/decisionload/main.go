// Command decisionload does the decision log's storage work without a server: it stores
// -rate decisions a second into a SQLite file through fraudguard's store, a batch every
// -interval, each decision with a random UUID as its transaction_id (as clients send) and
// random inputs. That is what the log's writer does at that rate, less the requests. make bench
// runs it beside a server with the log off, at normal and at the lowest CPU priority, to measure
// what the work costs that server's latency when it runs in another process.
//
//	go run ./tools/decisionload -db /tmp/load.db -rate 5000
//
// It stops at SIGINT or SIGTERM, after the batch it is storing, or once -count decisions are
// stored, and prints how many decisions it stored.
package main

import (
	"context"
	"encoding/binary"
	"encoding/hex"
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
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "decisionload:", err)
		os.Exit(2)
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
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case *db == "":
		return errors.New("-db is required")
	case *rate < 1 || *rate > 1_000_000:
		return fmt.Errorf("-rate %d: want 1 to 1,000,000 decisions a second", *rate)
	case *interval < time.Millisecond || *interval > 10*time.Second:
		return fmt.Errorf("-interval %s: want 1ms to 10s", *interval)
	case *count < 0:
		return fmt.Errorf("-count %d: want 0 or more", *count)
	}
	perBatch := int(float64(*rate) * interval.Seconds())
	if perBatch < 1 {
		return fmt.Errorf("-rate %d with -interval %s stores less than one decision a batch", *rate, *interval)
	}

	s, err := sqlite.Open(ctx, *db, sqlite.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()

	batch := make([]fraud.Decision, perBatch)
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	stored := 0
loop:
	for *count == 0 || stored < *count {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		fill(batch, time.Now())
		// A batch begun is finished: a stop ends the loop, not a transaction half-way.
		if err := s.RecordDecisions(context.WithoutCancel(ctx), batch); err != nil {
			return fmt.Errorf("after %d decisions: %w", stored, err)
		}
		stored += len(batch)
	}
	fmt.Fprintf(stdout, "stored %d decisions\n", stored)
	return nil
}

// fill makes every decision of batch new: a random UUID v4 as its transaction_id, a random
// request id, random inputs and a low score, made at now.
func fill(batch []fraud.Decision, now time.Time) {
	for i := range batch {
		d := &batch[i]
		*d = fraud.Decision{
			TransactionID: uuid4(),
			RequestID:     hex16(),
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

// uuid4 returns a random UUID, version 4, in its 36-character form.
func uuid4() string {
	u := random16()
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	hex.Encode(b[9:13], u[4:6])
	hex.Encode(b[14:18], u[6:8])
	hex.Encode(b[19:23], u[8:10])
	hex.Encode(b[24:36], u[10:16])
	b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
	return string(b[:])
}

// hex16 returns 32 random hexadecimal digits, the form of the server's request ids.
func hex16() string {
	u := random16()
	return hex.EncodeToString(u[:])
}

// random16 returns 16 random bytes (math/rand/v2: ids for a load, not secrets).
func random16() (u [16]byte) {
	binary.LittleEndian.PutUint64(u[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(u[8:], rand.Uint64())
	return u
}
