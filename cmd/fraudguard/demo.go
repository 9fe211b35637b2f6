package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/fraudguard/fraudguard/internal/demo"
	"github.com/fraudguard/fraudguard/internal/progress"
)

const demoSummary = `Exercise a live fraudguard server as a careful new user would, through the Go client, and
print a pass/fail table.

  fraudguard demo --url http://localhost:8000 [--api-key K] [--admin-key K]

In order: health and probes, model info (its versions, feature importance and whether it
explains), the OpenAPI document, the docs pages and their files, metrics, /predict (with an
explanation), /predict/batch, a background job followed to the end with a progress bar and
its results downloaded, its own decisions read back (GET /decisions/{id}, GET /decisions),
a true label for one of its transactions (POST /feedback) and the model quality figures
(GET /models/performance), the error cases (bad fields, malformed JSON, a body too large, a
wrong content type, an unknown route, a wrong method), the admin routes with --admin-key
(among them POST /models/activate of the version already live, which changes nothing that
serves, GET /models/compare, and the erasure of the transaction it labelled), a short
performance run, and last, since they spend the rate-limit budget and earn strikes against
this address: the admin routes refusing a missing key (without --admin-key), SQL injection
and XSS in a query, a header and a body, and requests past the rate limit (429 with
Retry-After).

The demo reads the server's RateLimit headers and waits rather than run into the limit before
its last step; against a server with the defaults (100 requests a minute) it finishes within
two minutes. The performance run spends what the budget leaves: --api-key of a key with a
higher limit measures more. The demo touches only what it creates: transactions with its own
ids (demo-<run>-<n>), their label, and its own job, which it deletes when it may (with
--admin-key, or as its owner with a keys file). The routes that change what serves are called
only when asked for: POST /models/reload with --reload, POST /models/rollback with
--rollback (twice, so that the version live before serves again after).

The exit status is 0 when every step passed or was skipped, 1 when one failed, 2 for a bad
flag.`

// runDemo implements "fraudguard demo".
func runDemo(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", demoSummary, stderr)
	serverURL := fs.String("url", "http://localhost:8000", "the server")
	apiKey := fs.String("api-key", "", "API key for the scoring and batch routes (default: env FRAUDGUARD_API_KEY)")
	adminKey := fs.String("admin-key", "", "admin key: the admin routes are called with it (default: env FRAUDGUARD_ADMIN_KEY)")
	reload := fs.Bool("reload", false, "with --admin-key, also call POST /models/reload (it makes the newest bundle live)")
	rollback := fs.Bool("rollback", false, "with --admin-key, also call POST /models/rollback twice (the version live before the last switch serves between the two calls)")
	jobRows := fs.Int("job-rows", 2000, "rows of the background job")
	perf := fs.Int("perf-requests", 200, "most /predict requests of the performance run")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	quiet := fs.Bool("quiet", false, "only the table: no running commentary")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	u, err := url.Parse(*serverURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Errorf("demo: --url %q is not a server URL; allowed: http://host:port or https://host:port", *serverURL)}
	}
	if *jobRows < 1 || *jobRows > 1_000_000 {
		return usageError{fmt.Errorf("demo: --job-rows %d: allowed from 1 to 1000000", *jobRows)}
	}
	if *perf < 1 || *perf > 100_000 {
		return usageError{fmt.Errorf("demo: --perf-requests %d: allowed from 1 to 100000", *perf)}
	}
	if *timeout <= 0 {
		return usageError{fmt.Errorf("demo: --timeout %v: give a positive duration such as 5m", *timeout)}
	}
	if *apiKey == "" {
		*apiKey = getenv("FRAUDGUARD_API_KEY")
	}
	if *adminKey == "" {
		*adminKey = getenv("FRAUDGUARD_ADMIN_KEY")
	}
	if *reload && *adminKey == "" {
		return usageError{errors.New("demo: --reload needs --admin-key")}
	}
	if *rollback && *adminKey == "" {
		return usageError{errors.New("demo: --rollback needs --admin-key")}
	}
	log := stderr
	if *quiet {
		log = io.Discard
	}
	d, err := demo.New(demo.Config{URL: *serverURL, APIKey: *apiKey, AdminKey: *adminKey, Reload: *reload,
		Rollback: *rollback, JobRows: *jobRows, PerfRequests: *perf, Log: log, Terminal: !*quiet && progress.IsTerminal(stderr)})
	if err != nil {
		return usageError{fmt.Errorf("demo: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	start := time.Now()
	results := d.Run(ctx, demo.Steps())
	fmt.Fprintf(stdout, "fraudguard demo of %s (run %s, %s)\n\n", u.Redacted(), d.RunID, time.Since(start).Round(100*time.Millisecond))
	if fails := demo.Table(stdout, results); fails > 0 {
		return fmt.Errorf("demo: %d of %d steps failed", fails, len(results))
	}
	return nil
}
