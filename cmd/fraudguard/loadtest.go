package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fraudguard/fraudguard/internal/loadtest"
	"github.com/fraudguard/fraudguard/internal/progress"
)

const loadtestSummary = `Send load to a fraudguard server and report what it did.

  fraudguard loadtest --url http://127.0.0.1:8000 --rate 1000 --duration 30s [--endpoint predict]
  fraudguard loadtest --url http://127.0.0.1:8000 --max --connections 32 --duration 10s [--json]

--rate N sends N requests a second whatever the server answers (open loop): a slow answer
does not delay the next request, so queueing shows in the latency. --max sends each
connection's next request as soon as its answer is in (closed loop): the server's
saturation throughput. --endpoint picks the request: predict (POST /predict with the first
transaction of creditcard.csv), batch (POST /predict/batch with --batch-size copies of it) or
health (GET /health). Every transaction sent has a transaction_id of its own, as a client's
traffic does: a random UUID (--ids random, version 4) or one that follows the clock (--ids
ordered, version 7). The decision log indexes the ids, and random ones cost it more. --ids
fixed sends the same request every time (txn-loadtest, or txn-loadtest-N in a batch): fresh
ids cost the client about 1 ms of CPU a 1,000-row batch, which on a shared machine the server
loses.

A progress line is written to standard error every second. Then the report: requests sent,
throughput (2xx answers a second; rows a second for batch), latency p50, p90, p99, p99.9, max
and mean (exact, over every request, from the request being due to its answer read), the
count of each status and each error. --json writes the report as one JSON object instead.
The exit status is 1 when no request was answered 2xx, 2 for a bad flag.

A server with rate limiting on answers 429 past its limit: give --api-key of a key with a
high enough limit, or run the server with RATE_LIMIT_PER_MINUTE=0.`

// runLoadtest implements "fraudguard loadtest".
func runLoadtest(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadtest", loadtestSummary, stderr)
	serverURL := fs.String("url", "", "the server, e.g. http://127.0.0.1:8000 (required)")
	rate := fs.Int("rate", 0, "requests per second, sent whatever the answers (open loop)")
	maxRate := fs.Bool("max", false, "send as fast as the connections are answered (closed loop), instead of --rate")
	duration := fs.Duration("duration", 10*time.Second, "how long to send load")
	connections := fs.Int("connections", 32, "connections to the server: at most this many with --rate, exactly this many with --max")
	endpoint := fs.String("endpoint", loadtest.EndpointPredict, "predict, batch or health")
	batchSize := fs.Int("batch-size", 1000, "with --endpoint batch: transactions a request (the server's MAX_BATCH_SIZE is 1000 by default)")
	ids := fs.String("ids", loadtest.IDsRandom, "transaction ids: random (UUID version 4), ordered (UUID version 7, by time) or fixed (the same request every time)")
	apiKey := fs.String("api-key", "", "API key sent as X-API-Key (default: env FRAUDGUARD_API_KEY)")
	timeout := fs.Duration("timeout", 30*time.Second, "longest wait for one answer")
	asJSON := fs.Bool("json", false, "write the report as JSON to standard output")
	quiet := fs.Bool("quiet", false, "no progress line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *serverURL == "" {
		return usageError{errors.New("loadtest: --url is required: the server to load, e.g. http://127.0.0.1:8000")}
	}
	key := *apiKey
	if key == "" {
		key = getenv("FRAUDGUARD_API_KEY")
	}
	if *timeout <= 0 {
		return usageError{fmt.Errorf("loadtest: --timeout %v: give a positive duration such as 30s", *timeout)}
	}
	o := loadtest.Options{URL: *serverURL, Endpoint: *endpoint, Rate: *rate, Max: *maxRate, Duration: *duration,
		Connections: *connections, BatchSize: *batchSize, APIKey: key, IDs: *ids, Timeout: *timeout}
	if err := o.Check(); err != nil {
		return usageError{fmt.Errorf("loadtest: %w", err)}
	}
	// On a terminal the progress line is redrawn in place; elsewhere it is one line a second.
	term := progress.IsTerminal(stderr)
	if !*quiet {
		o.Progress = func(p loadtest.Progress) {
			end := "\n"
			if term {
				end = "\r"
			}
			fmt.Fprintf(stderr, "loadtest: %5.1fs  %9d requests  %9.1f req/s  %d errors%s",
				p.Elapsed.Seconds(), p.Requests, p.Rate, p.Errors, end)
		}
	}
	rep, err := loadtest.Run(ctx, o)
	if term && !*quiet {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprint(stdout, rep.Text())
	}
	if rep.Throughput == 0 {
		return fmt.Errorf("loadtest: none of %d requests was answered 2xx (the first error: %s)", rep.Requests, firstError(rep))
	}
	return nil
}

// firstError is the most frequent error of rep.
func firstError(rep *loadtest.Report) string {
	best, n := "none", int64(0)
	for m, c := range rep.Errors {
		if c > n || (c == n && m < best) {
			best, n = m, c
		}
	}
	return best
}
