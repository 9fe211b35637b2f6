// Package demo exercises a live fraudguard server as a careful new user would, through the
// public client: every route with valid input, a batch and a background job, the decision log
// and feedback on its own transactions, the error cases, a short performance run, and last
// (since they spend the rate-limit budget and earn strikes) the refusals of routes without a
// key, attacks and going past the rate limit. It touches only what it creates: transactions
// with its own ids, their labels and its own job. The routes that change what serves (reload,
// rollback) are called only when asked for.
//
// The demo is a list of steps, each a name and a function; a new route is one more entry in
// Steps.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fraudguard/fraudguard/client"
	"github.com/fraudguard/fraudguard/wire"
)

// Config is what a demo run needs.
type Config struct {
	// URL is the server's base URL.
	URL string
	// APIKey is sent with every call but the admin ones; empty sends none (a server without a
	// keys file needs none).
	APIKey string
	// AdminKey, when set, runs the admin routes with it; without it the demo checks that they
	// refuse a missing key.
	AdminKey string
	// Reload also calls POST /models/reload, which makes the newest bundle on the server live.
	Reload bool
	// Rollback also calls POST /models/rollback twice: the version live before the last switch
	// serves between the two calls, and the second puts back the version that was live.
	Rollback bool
	// JobRows is the size of the background job (2,000 when 0); PerfRequests the most
	// requests of the performance run (200 when 0), fewer when the rate limit leaves less.
	JobRows      int
	PerfRequests int
	// Log receives the demo's running commentary and the job's progress bar.
	Log io.Writer
	// Terminal draws the progress bar in place.
	Terminal bool
	// HTTPClient sends the requests; nil uses one with a 30 s timeout.
	HTTPClient *http.Client
}

// Outcome is how a step ended.
type Outcome string

// The outcomes.
const (
	Pass Outcome = "pass"
	Fail Outcome = "FAIL"
	Skip Outcome = "skip"
)

// Result is one row of the demo's table.
type Result struct {
	Step    string
	Outcome Outcome
	Detail  string
	Took    time.Duration
}

// Step is one check of the demo: Run returns a line of detail, or an error that fails the
// step (or a skip, made with skipped).
type Step struct {
	Name string
	Run  func(ctx context.Context, d *Demo) (string, error)
}

// skipError marks a step that did not apply.
type skipError struct{ why string }

func (e skipError) Error() string { return e.why }

func skipped(why string) error { return skipError{why} }

// Demo is the state the steps share.
type Demo struct {
	cfg Config
	// C calls with the API key; Admin with the admin key (nil without one). Unpaced is C
	// without the pacing, for the step that goes past the limit on purpose.
	C       *client.Client
	Admin   *client.Client
	Unpaced *client.Client
	// Run is this run's id: every transaction id and the job's idempotency key start with it.
	RunID string
	// budget follows the RateLimit headers of C's answers.
	budget *pacer

	mu          sync.Mutex
	jobID       string                // the job this run created, to delete at the end
	scored      *wire.PredictResponse // the predict step's answer, looked up in the decision log
	scoredAt    time.Time             // when that answer came, on this machine's clock
	batchAt     time.Time             // when the predict/batch step's answer came
	firstTime   time.Time             // the server's time of the first decision, once read back
	labelled    []string              // the transactions this run labelled, to erase at the end
	noRead      bool                  // the key lacks the read scope (a 403 seen once)
	explainable *bool                 // what GET /models/info says of explanations
}

// New prepares a demo of the server cfg names.
func New(cfg Config) (*Demo, error) {
	if cfg.JobRows <= 0 {
		cfg.JobRows = 2000
	}
	if cfg.PerfRequests <= 0 {
		cfg.PerfRequests = 200
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 30 * time.Second}
	}
	var id [4]byte
	rand.Read(id[:])
	d := &Demo{cfg: cfg, RunID: "demo-" + hex.EncodeToString(id[:])}
	d.budget = newPacer(base.Transport, time.Now)
	hc := *base
	hc.Transport = d.budget
	var err error
	if d.C, err = client.New(cfg.URL, client.Options{APIKey: cfg.APIKey, HTTPClient: &hc}); err != nil {
		return nil, err
	}
	if d.Unpaced, err = client.New(cfg.URL, client.Options{APIKey: cfg.APIKey, HTTPClient: base, MaxRetries: -1}); err != nil {
		return nil, err
	}
	if cfg.AdminKey != "" {
		// The admin key has a budget of its own on the server: a pacer of its own.
		ahc := *base
		ahc.Transport = newPacer(base.Transport, time.Now)
		if d.Admin, err = client.New(cfg.URL, client.Options{APIKey: cfg.AdminKey, HTTPClient: &ahc}); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Steps is the demo, in order: everything a user does first, then the performance run, then
// what spends the rate-limit budget and earns strikes (missing keys, attacks, the limit).
func Steps() []Step {
	return []Step{
		{"health", stepHealth},
		{"probes: /health/live, /health/ready, /v2", stepProbes},
		{"model info", stepModelInfo},
		{"OpenAPI document", stepOpenAPI},
		{"docs pages: /docs, /redoc and their assets", stepDocs},
		{"metrics: text and JSON summary", stepMetrics},
		{"predict", stepPredict},
		{"predict with explanation", stepPredictExplain},
		{"predict/batch, one row invalid", stepPredictBatch},
		{"background job: submit, follow, results", stepJob},
		{"background job: listed", stepJobListed},
		{"decisions: look-up by transaction id", stepDecisionLookup},
		{"decisions: listed (GET /decisions)", stepDecisionList},
		{"feedback: labels for its own transactions", stepFeedback},
		{"model performance on labelled decisions", stepPerformanceQuality},
		{"error: bad fields (400 VALIDATION_ERROR)", stepBadFields},
		{"error: malformed JSON (400)", stepMalformed},
		{"error: body too large (413)", stepTooLarge},
		{"error: wrong content type (415)", stepContentType},
		{"error: unknown route (404)", stepUnknownRoute},
		{"error: wrong method (405)", stepWrongMethod},
		{"admin routes with the admin key", stepAdmin},
		{"model reload (admin)", stepReload},
		{"model activate: the live version again (admin)", stepActivateLive},
		{"model rollback and back (admin)", stepRollback},
		{"model compare (admin)", stepCompare},
		{"decisions: its labelled ones erased (admin)", stepDecisionErase},
		{"background job: deleted", stepJobDelete},
		{"performance: sequential /predict", stepPerformance},
		{"admin routes refuse a missing key (401)", stepAdminRefused},
		{"security: SQL injection in query, header, body (403)", stepSQLi},
		{"security: XSS in query, header, body (403)", stepXSS},
		{"rate limit: past the limit (429, Retry-After)", stepRateLimit},
	}
}

// Run runs steps in order and returns a row for each. A step's failure does not stop the
// ones after it; ctx ending does.
func (d *Demo) Run(ctx context.Context, steps []Step) []Result {
	out := make([]Result, 0, len(steps))
	stop := "" // why the steps left are not run
	for _, s := range steps {
		if ctx.Err() != nil && stop == "" {
			stop = ctx.Err().Error()
		}
		if stop != "" {
			out = append(out, Result{Step: s.Name, Outcome: Fail, Detail: "not run: " + stop})
			continue
		}
		fmt.Fprintf(d.cfg.Log, "demo: %s ...\n", s.Name)
		start := time.Now()
		detail, err := s.Run(ctx, d)
		r := Result{Step: s.Name, Outcome: Pass, Detail: detail, Took: time.Since(start)}
		var sk skipError
		switch {
		case errors.As(err, &sk):
			r.Outcome, r.Detail = Skip, sk.why
		case err != nil:
			r.Outcome, r.Detail = Fail, err.Error()
			// A key the server refuses would fail every step after it, each a strike against
			// this address on the way to a block: stop here instead.
			if client.ErrorCode(err) == "UNAUTHORIZED" {
				stop = "the server refused a key (401 UNAUTHORIZED): give --api-key (and --admin-key) the server knows"
			}
		}
		out = append(out, r)
	}
	return out
}

// Table writes results as a table and returns the number of failures.
func Table(w io.Writer, results []Result) int {
	width := len("step")
	for _, r := range results {
		width = max(width, len(r.Step))
	}
	fails := 0
	fmt.Fprintf(w, "%-*s  %-6s  %8s  %s\n", width, "step", "result", "time", "detail")
	for _, r := range results {
		if r.Outcome == Fail {
			fails++
		}
		fmt.Fprintf(w, "%-*s  %-6s  %8s  %s\n", width, r.Step, r.Outcome, r.Took.Round(time.Millisecond), oneLine(r.Detail))
	}
	pass, skip := 0, 0
	for _, r := range results {
		switch r.Outcome {
		case Pass:
			pass++
		case Skip:
			skip++
		}
	}
	fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped\n", pass, fails, skip)
	return fails
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// txID is the id of this run's n-th transaction.
func (d *Demo) txID(n int) string { return d.RunID + "-" + strconv.Itoa(n) }

// pacer is an http.RoundTripper that reads the server's RateLimit headers and, when the
// budget is spent, waits for the next request's turn instead of running into 429s.
type pacer struct {
	next http.RoundTripper
	now  func() time.Time

	mu        sync.Mutex
	limit     int // requests a minute; 0 when the server sends none
	remaining int
	seen      bool
	last      time.Time // when the headers were read
}

func newPacer(next http.RoundTripper, now func() time.Time) *pacer {
	if next == nil {
		next = http.DefaultTransport
	}
	return &pacer{next: next, now: now}
}

// Remaining returns the budget the server last reported, and whether it reports one.
func (p *pacer) Remaining() (remaining, limit int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.remaining, p.limit, p.seen && p.limit > 0
}

// RoundTrip waits while the budget is spent (one request's interval at the limit, since the
// last answer), then sends the request. Probes are not rate limited and never wait.
func (p *pacer) RoundTrip(r *http.Request) (*http.Response, error) {
	if !isProbe(r.URL.Path) {
		p.mu.Lock()
		var wait time.Duration
		if p.seen && p.limit > 0 && p.remaining < 1 {
			wait = time.Minute/time.Duration(p.limit) - p.now().Sub(p.last)
		}
		p.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-r.Context().Done():
				t.Stop()
				return nil, r.Context().Err()
			case <-t.C:
			}
		}
	}
	resp, err := p.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	limit, errL := strconv.Atoi(resp.Header.Get("RateLimit-Limit"))
	remaining, errR := strconv.Atoi(resp.Header.Get("RateLimit-Remaining"))
	if errL == nil && errR == nil {
		p.mu.Lock()
		p.limit, p.remaining, p.seen, p.last = limit, remaining, true, p.now()
		p.mu.Unlock()
	}
	return resp, nil
}

func isProbe(path string) bool {
	return path == "/health" || strings.HasPrefix(path, "/health/") || strings.HasPrefix(path, "/v2/health/")
}
