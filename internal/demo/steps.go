package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"maps"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/client"
	"github.com/fraudguard/fraudguard/internal/loadtest"
	"github.com/fraudguard/fraudguard/internal/progress"
	"github.com/fraudguard/fraudguard/wire"
)

// wantError checks that err is an API error with status and code.
func wantError(err error, status int, code string) error {
	var ae *client.Error
	if err == nil {
		return fmt.Errorf("got a success, want %d %s", status, code)
	}
	if !errors.As(err, &ae) {
		return fmt.Errorf("got %v, want %d %s", err, status, code)
	}
	if ae.StatusCode != status || ae.ErrorCode != code {
		return fmt.Errorf("got %d %s (%s), want %d %s", ae.StatusCode, ae.ErrorCode, ae.Message, status, code)
	}
	if ae.RequestID == "" {
		return fmt.Errorf("the %d %s carries no request_id", status, code)
	}
	return nil
}

// do sends r with c and checks that the answer is the error status and code.
func do(ctx context.Context, c *client.Client, r client.Request, status int, code string) (*client.Response, error) {
	resp, err := c.Do(ctx, r)
	if err != nil {
		return nil, err
	}
	var apiErr error
	if e := resp.Err(); e != nil {
		apiErr = e
	}
	return resp, wantError(apiErr, status, code)
}

func stepHealth(ctx context.Context, d *Demo) (string, error) {
	h, err := d.C.Health(ctx)
	if err != nil {
		return "", err
	}
	if h.Status != "healthy" && h.Status != "degraded" {
		return "", fmt.Errorf("status %q, want healthy or degraded", h.Status)
	}
	if h.ModelsLoaded != 1 || h.ModelVersion == "" {
		return "", fmt.Errorf("%d models loaded (version %q), want 1", h.ModelsLoaded, h.ModelVersion)
	}
	return fmt.Sprintf("%s, version %s, model %s, up %.0f s", h.Status, h.Version, h.ModelVersion, h.UptimeSeconds), nil
}

func stepProbes(ctx context.Context, d *Demo) (string, error) {
	if p, err := d.C.Live(ctx); err != nil || p.Status != "ok" {
		return "", fmt.Errorf("live: %v %v", p, err)
	}
	if p, err := d.C.Ready(ctx); err != nil || p.Status != "ok" {
		return "", fmt.Errorf("ready: %v %v", p, err)
	}
	for _, path := range []string{"/v2/health/live", "/v2/health/ready"} {
		resp, err := d.C.Do(ctx, client.Request{Path: path})
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s: got %d, want 200", path, resp.StatusCode)
		}
	}
	return "live and ready, on both paths", nil
}

func stepModelInfo(ctx context.Context, d *Demo) (string, error) {
	m, err := d.C.ModelInfo(ctx)
	if err != nil {
		return "", err
	}
	if len(m.Features) != 30 || m.Threshold <= 0 || m.Threshold >= 1 {
		return "", fmt.Errorf("%d features, threshold %v: want 30 and a threshold in (0, 1)", len(m.Features), m.Threshold)
	}
	versions, err := checkVersions(m)
	if err != nil {
		return "", err
	}
	importance, err := checkImportance(m)
	if err != nil {
		return "", err
	}
	explanations := "explanations available"
	switch {
	case m.Explanations.Available && m.Explanations.Reason != "":
		return "", fmt.Errorf("explanations available with a reason %q, want none", m.Explanations.Reason)
	case !m.Explanations.Available && m.Explanations.Reason == "":
		return "", errors.New("explanations unavailable without a reason")
	case !m.Explanations.Available:
		explanations = "explanations unavailable: " + m.Explanations.Reason
	}
	avail := m.Explanations.Available
	d.mu.Lock()
	d.explainable = &avail
	d.mu.Unlock()
	return fmt.Sprintf("%s %s (%s), threshold %.4f; %s; %s; %s", m.Name, m.Version, m.Kind, m.Threshold, versions, importance, explanations), nil
}

func stepOpenAPI(ctx context.Context, d *Demo) (string, error) {
	data, err := d.C.OpenAPI(ctx)
	if err != nil {
		return "", err
	}
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return "", fmt.Errorf("not JSON: %w", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") || doc.Paths["/predict"] == nil {
		return "", fmt.Errorf("openapi %q with %d paths, want 3.1 with /predict", doc.OpenAPI, len(doc.Paths))
	}
	return fmt.Sprintf("OpenAPI %s, %d paths", doc.OpenAPI, len(doc.Paths)), nil
}

// assetRef finds the files a docs page loads from the server's /docs/assets/.
var assetRef = regexp.MustCompile(`(?:src|href)="(/docs/assets/[^"?]+)(?:\?([^"]*))?"`)

// stepDocs reads both pages and every file they load (GET /docs/assets/...), as a browser
// would: the pages work with no internet access only if the server serves all of them.
func stepDocs(ctx context.Context, d *Demo) (string, error) {
	var assets []string
	query := map[string]string{}
	for _, path := range []string{"/docs", "/redoc"} {
		resp, err := d.C.Do(ctx, client.Request{Path: path, Header: http.Header{"Accept": {"text/html"}}})
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			return "", fmt.Errorf("%s: got %d %s, want 200 text/html", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		refs := assetRef.FindAllStringSubmatch(string(resp.Body), -1)
		if len(refs) == 0 {
			return "", fmt.Errorf("%s loads nothing from /docs/assets/", path)
		}
		for _, m := range refs {
			if !slices.Contains(assets, m[1]) {
				assets = append(assets, m[1])
				query[m[1]] = html.UnescapeString(m[2])
			}
		}
	}
	var size int
	for _, a := range assets {
		q, _ := url.ParseQuery(query[a])
		resp, err := d.C.Do(ctx, client.Request{Path: a, Query: q, Header: http.Header{"Accept": {"*/*"}}})
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK || len(resp.Body) == 0 {
			return "", fmt.Errorf("%s: got %d with %d bytes, want 200 and the file", a, resp.StatusCode, len(resp.Body))
		}
		size += len(resp.Body)
	}
	return fmt.Sprintf("both pages served, and the %d files they load (%d KB)", len(assets), size>>10), nil
}

func stepMetrics(ctx context.Context, d *Demo) (string, error) {
	text, err := d.C.Metrics(ctx)
	if err != nil {
		return "", err
	}
	if !bytes.Contains(text, []byte("fraudguard_http_requests_total")) {
		return "", errors.New("the text format has no fraudguard_http_requests_total")
	}
	sum, err := d.C.MetricsSummary(ctx)
	if err != nil {
		return "", err
	}
	if sum.TotalRequests < 1 {
		return "", fmt.Errorf("total_requests %d, want at least this demo's", sum.TotalRequests)
	}
	return fmt.Sprintf("%d requests served, p99 %.2f ms over %d s", sum.TotalRequests, sum.P99MS, sum.WindowSeconds), nil
}

func stepPredict(ctx context.Context, d *Demo) (string, error) {
	id := d.txID(1)
	p, err := d.C.Predict(ctx, loadtest.SampleTransaction(id))
	if err != nil {
		return "", err
	}
	if p.TransactionID != id || p.FraudProbability < 0 || p.FraudProbability > 1 || p.RiskLevel == "" || p.RequestID == "" {
		return "", fmt.Errorf("got %+v, want id %s echoed, a probability and a risk level", p, id)
	}
	if p.IsFraud != (p.FraudProbability >= p.Threshold) {
		return "", fmt.Errorf("is_fraud %v disagrees with probability %v and threshold %v", p.IsFraud, p.FraudProbability, p.Threshold)
	}
	d.mu.Lock()
	d.scored, d.scoredAt = p, time.Now()
	d.mu.Unlock()
	return fmt.Sprintf("%s: probability %.6f, %s, in %.3f ms", id, p.FraudProbability, p.RiskLevel, p.ProcessingTimeMS), nil
}

func stepPredictExplain(ctx context.Context, d *Demo) (string, error) {
	d.mu.Lock()
	said := d.explainable // what GET /models/info said beforehand
	d.mu.Unlock()
	p, err := d.C.Predict(ctx, loadtest.SampleTransaction(d.txID(2)), client.WithExplanation(3))
	if err != nil {
		if client.ErrorCode(err) == "EXPLANATION_UNAVAILABLE" {
			if said != nil && *said {
				return "", fmt.Errorf("GET /models/info says explanations are available, but: %w", err)
			}
			return "", skipped("the live model cannot be explained (EXPLANATION_UNAVAILABLE, as GET /models/info said)")
		}
		return "", err
	}
	if said != nil && !*said {
		return "", errors.New("GET /models/info says the model cannot explain its scores, but it answered an explanation")
	}
	if p.Explanation == nil || len(p.Explanation.Features) != 3 {
		return "", fmt.Errorf("got explanation %+v, want 3 features", p.Explanation)
	}
	var parts []string
	for _, f := range p.Explanation.Features {
		parts = append(parts, fmt.Sprintf("%s %+.3f", f.Feature, f.Contribution))
	}
	return "top 3: " + strings.Join(parts, ", "), nil
}

func stepPredictBatch(ctx context.Context, d *Demo) (string, error) {
	txs := make([]wire.TransactionRequest, batchRows)
	for i := range txs {
		txs[i] = loadtest.SampleTransaction(d.txID(batchFirst + i))
		txs[i].Amount = float64(i) * 7.5
	}
	txs[batchInvalid].Amount = -1 // invalid: the others are still scored
	b, err := d.C.PredictBatch(ctx, txs)
	if err != nil {
		return "", err
	}
	s := b.Summary
	if s.TotalProcessed != 50 || s.Valid != 49 || s.Invalid != 1 || len(b.Results) != 50 || b.Results[batchInvalid].Error == nil {
		return "", fmt.Errorf("got summary %+v, want 50 processed, 49 valid, row 10 invalid", s)
	}
	d.mu.Lock()
	d.batchAt = time.Now()
	d.mu.Unlock()
	return fmt.Sprintf("50 rows: 49 scored, row 10 refused (%s), %.2f ms", b.Results[batchInvalid].Error.ErrorCode, s.ProcessingTimeMS), nil
}

// jobCSV is the demo's job: rows of the sample transaction with amounts that vary, each
// with this run's transaction id.
func (d *Demo) jobCSV() []byte {
	var b bytes.Buffer
	b.WriteString("transaction_id,Time")
	for i := 1; i <= 28; i++ {
		b.WriteString(",V" + strconv.Itoa(i))
	}
	b.WriteString(",Amount\n")
	for i := range d.cfg.JobRows {
		tx := loadtest.SampleTransaction(d.txID(10_000 + i))
		v := []float64{tx.Time + float64(i), tx.V1, tx.V2, tx.V3, tx.V4, tx.V5, tx.V6, tx.V7, tx.V8, tx.V9, tx.V10,
			tx.V11, tx.V12, tx.V13, tx.V14, tx.V15, tx.V16, tx.V17, tx.V18, tx.V19, tx.V20, tx.V21, tx.V22,
			tx.V23, tx.V24, tx.V25, tx.V26, tx.V27, tx.V28, float64(i%500) + 0.99}
		b.WriteString(tx.TransactionID)
		for _, x := range v {
			b.WriteByte(',')
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func stepJob(ctx context.Context, d *Demo) (string, error) {
	body := d.jobCSV()
	sub, err := d.C.SubmitBatch(ctx, bytes.NewReader(body), client.SubmitOptions{ContentType: "text/csv", IdempotencyKey: d.RunID})
	if err != nil {
		if ae := (*client.Error)(nil); errors.As(err, &ae) && (ae.StatusCode == http.StatusServiceUnavailable || ae.StatusCode == http.StatusForbidden) {
			return "", fmt.Errorf("the server takes no job: %w", err)
		}
		return "", err
	}
	d.mu.Lock()
	d.jobID = sub.JobID
	d.mu.Unlock()
	bar := progress.New(d.cfg.Log, 100*100, progress.Options{Label: "job " + sub.JobID, Unit: "rows", Terminal: d.cfg.Terminal})
	st, err := d.C.WaitBatch(ctx, sub.JobID, client.WaitOptions{Poll: 250 * time.Millisecond, OnStatus: func(st *wire.BatchStatusResponse) {
		bar.Update(int64(st.ProgressPercent*100), st.ProcessedCount)
	}})
	if err != nil {
		bar.Stop()
		return "", err
	}
	bar.Finish()
	rows := int64(d.cfg.JobRows)
	if st.Status != wire.JobCompleted || st.TotalCount != rows || st.ProcessedCount != rows || st.InvalidCount != 0 {
		return "", fmt.Errorf("job %s ended %s with %d of %d rows, %d invalid; want completed, all %d", sub.JobID, st.Status, st.ProcessedCount, st.TotalCount, st.InvalidCount, rows)
	}
	page, err := d.C.BatchResults(ctx, sub.JobID, 0, 10)
	if err != nil {
		return "", err
	}
	if len(page.Results) != 10 || page.Results[0].TransactionID != d.txID(10_000) {
		return "", fmt.Errorf("the first page has %d results, the first %q; want 10 from %s", len(page.Results), firstID(page.Results), d.txID(10_000))
	}
	stream, err := d.C.BatchResultsStream(ctx, sub.JobID, client.CSV)
	if err != nil {
		return "", err
	}
	defer stream.Close()
	lines := int64(0)
	sc := bufio.NewScanner(stream)
	for sc.Scan() {
		lines++
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading the CSV results: %w", err)
	}
	if lines != rows+1 {
		return "", fmt.Errorf("the CSV results have %d lines, want a header and %d rows", lines, rows)
	}
	took := st.FinishedAt.Sub(st.CreatedAt)
	return fmt.Sprintf("%s: %d rows scored in %v, %d flagged, CSV downloaded", sub.JobID, rows, took.Round(time.Millisecond), st.FraudCount), nil
}

func firstID(rs []wire.JobResult) string {
	if len(rs) == 0 {
		return ""
	}
	return rs[0].TransactionID
}

func (d *Demo) job() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.jobID
}

func stepJobListed(ctx context.Context, d *Demo) (string, error) {
	id := d.job()
	if id == "" {
		return "", skipped("no job was created")
	}
	list, err := d.C.BatchJobs(ctx, client.BatchJobsQuery{Limit: 20})
	if err != nil {
		return "", err
	}
	if !slices.ContainsFunc(list.Jobs, func(j wire.BatchStatusResponse) bool { return j.JobID == id }) {
		return "", fmt.Errorf("GET /batch does not list %s among the %d newest", id, len(list.Jobs))
	}
	return fmt.Sprintf("%s among %d jobs", id, list.Total), nil
}

func stepBadFields(ctx context.Context, d *Demo) (string, error) {
	tx := loadtest.SampleTransaction(d.txID(3))
	tx.Time, tx.Amount = -1, 1e9
	_, err := d.C.Predict(ctx, tx)
	if err := wantError(err, 400, "VALIDATION_ERROR"); err != nil {
		return "", err
	}
	var ae *client.Error
	errors.As(err, &ae)
	var fields []string
	for _, det := range ae.Details {
		fields = append(fields, fmt.Sprint(det["field"]))
	}
	slices.Sort(fields)
	if !slices.Equal(fields, []string{"Amount", "Time"}) {
		return "", fmt.Errorf("details name %v, want Amount and Time", fields)
	}
	return "both bad fields reported: " + strings.Join(fields, ", "), nil
}

func stepMalformed(ctx context.Context, d *Demo) (string, error) {
	_, err := do(ctx, d.C, client.Request{Method: "POST", Path: "/predict", Body: []byte(`{"Time": 0, "V1": `)}, 400, "MALFORMED_JSON")
	return "a cut-off body is refused", err
}

func stepTooLarge(ctx context.Context, d *Demo) (string, error) {
	body := append(append([]byte("{"), bytes.Repeat([]byte(" "), 100<<10)...), '}')
	_, err := do(ctx, d.C, client.Request{Method: "POST", Path: "/predict", Body: body}, 413, "PAYLOAD_TOO_LARGE")
	return "a 100 KiB body is refused", err
}

func stepContentType(ctx context.Context, d *Demo) (string, error) {
	body, _ := json.Marshal(loadtest.SampleTransaction(d.txID(4)))
	_, err := do(ctx, d.C, client.Request{Method: "POST", Path: "/predict", Body: body, Header: http.Header{"Content-Type": {"text/plain"}}}, 415, "UNSUPPORTED_MEDIA_TYPE")
	return "text/plain is refused", err
}

func stepUnknownRoute(ctx context.Context, d *Demo) (string, error) {
	_, err := do(ctx, d.C, client.Request{Path: "/" + d.RunID + "/no-such-route"}, 404, "NOT_FOUND")
	return "answered in the error shape", err
}

func stepWrongMethod(ctx context.Context, d *Demo) (string, error) {
	resp, err := do(ctx, d.C, client.Request{Method: "DELETE", Path: "/predict"}, 405, "METHOD_NOT_ALLOWED")
	if err != nil {
		return "", err
	}
	if resp.Header.Get("Allow") == "" {
		return "", errors.New("no Allow header")
	}
	return "Allow: " + resp.Header.Get("Allow"), nil
}

// adminCalls are the admin routes, each called in a way that changes nothing this demo did
// not create: the log level is set to what it was, the unblocked address is one no one uses
// (TEST-NET-1), the keys file is re-read as it is.
func adminCalls(c *client.Client, level *string) []struct {
	name string
	call func(ctx context.Context) (string, error)
} {
	return []struct {
		name string
		call func(ctx context.Context) (string, error)
	}{
		{"GET /admin/log-level", func(ctx context.Context) (string, error) {
			l, err := c.LogLevel(ctx)
			*level = l
			return "level " + l, err
		}},
		{"PUT /admin/log-level", func(ctx context.Context) (string, error) {
			l := *level
			if l == "" {
				l = "INFO"
			}
			got, err := c.SetLogLevel(ctx, l)
			return "set to " + got + " (unchanged)", err
		}},
		{"GET /security/blocked", func(ctx context.Context) (string, error) {
			b, err := c.BlockedIPs(ctx)
			if err != nil {
				return "", err
			}
			return strconv.Itoa(len(b.Blocked)) + " blocked", nil
		}},
		{"GET /security/audit", func(ctx context.Context) (string, error) {
			a, err := c.Audit(ctx, client.AuditQuery{Limit: 5})
			if err != nil {
				return "", err
			}
			return strconv.Itoa(a.Total) + " audit events", nil
		}},
		{"DELETE /security/blocked/{ip}", func(ctx context.Context) (string, error) {
			_, err := c.Unblock(ctx, "192.0.2.1")
			if client.ErrorCode(err) == "NOT_FOUND" {
				return "192.0.2.1 not blocked: 404", nil
			}
			if err != nil {
				return "", err
			}
			return "192.0.2.1 unblocked", nil
		}},
		{"POST /security/keys/reload", func(ctx context.Context) (string, error) {
			_, err := c.ReloadKeys(ctx)
			if client.ErrorCode(err) == "CONFLICT" {
				return "no keys file: 409", nil
			}
			if err != nil {
				return "", err
			}
			return "keys reloaded", nil
		}},
	}
}

func stepAdmin(ctx context.Context, d *Demo) (string, error) {
	if d.Admin == nil {
		return "", skipped("no --admin-key: the refusals are checked at the end")
	}
	var level string
	var notes []string
	for _, a := range adminCalls(d.Admin, &level) {
		note, err := a.call(ctx)
		if err != nil {
			return "", fmt.Errorf("%s: %w", a.name, err)
		}
		notes = append(notes, note)
	}
	return strings.Join(notes, "; "), nil
}

func stepReload(ctx context.Context, d *Demo) (string, error) {
	switch {
	case d.Admin == nil:
		return "", skipped("needs --admin-key")
	case !d.cfg.Reload:
		return "", skipped("not asked for (--reload): it makes the newest bundle on the server live")
	}
	r, err := d.Admin.ReloadModel(ctx)
	if err != nil {
		return "", err
	}
	return "live: " + r.Version, nil
}

func stepJobDelete(ctx context.Context, d *Demo) (string, error) {
	id := d.job()
	if id == "" {
		return "", skipped("no job was created")
	}
	c := d.Admin
	if c == nil {
		if d.cfg.APIKey == "" {
			return "", skipped(fmt.Sprintf("without a keys file deleting a job takes the admin key: %s stays until BATCH_RESULT_TTL", id))
		}
		c = d.C // with a keys file its owner may delete it
	}
	r, err := c.DeleteBatchJob(ctx, id)
	if err != nil {
		return "", err
	}
	if !r.Deleted {
		return "", fmt.Errorf("got %+v, want the finished job deleted", r)
	}
	if _, err := d.C.BatchStatus(ctx, id); client.ErrorCode(err) == "" {
		return "", fmt.Errorf("%s still answers after its deletion", id)
	}
	return id + " deleted with its results", nil
}

// perfReserve is the budget left for the steps after the performance run: a request for
// each admin route's refusal and a margin.
const perfReserve = 15

func stepPerformance(ctx context.Context, d *Demo) (string, error) {
	n := d.cfg.PerfRequests
	note := ""
	if remaining, limit, ok := d.budget.Remaining(); ok {
		if avail := remaining - perfReserve; avail < n {
			n = max(10, avail)
			note = fmt.Sprintf(" (%d left of the %d/min budget; give --api-key of a key with a higher limit for more)", remaining, limit)
		}
	}
	lat := make([]time.Duration, 0, n)
	start := time.Now()
	for i := range n {
		t := time.Now()
		if _, err := d.C.Predict(ctx, loadtest.SampleTransaction(d.txID(20_000+i))); err != nil {
			return "", fmt.Errorf("request %d: %w", i+1, err)
		}
		lat = append(lat, time.Since(t))
	}
	total := time.Since(start)
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[max(0, int(math.Ceil(p*float64(len(lat))))-1)] }
	return fmt.Sprintf("%d requests one after another: %.0f req/s, p50 %s, p99 %s, max %s%s", n, float64(n)/total.Seconds(),
		ms(q(0.5)), ms(q(0.99)), ms(lat[len(lat)-1]), note), nil
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }

// refusedAdmin are the admin routes the demo calls without a key: one of each kind (a read,
// an erasure of one of its own transactions, id, and a change of the live model), since each
// refusal is a strike against the address (see Steps).
func refusedAdmin(c *client.Client, id string) map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"GET /admin/log-level":               func(ctx context.Context) error { _, err := c.LogLevel(ctx); return err },
		"DELETE /decisions/{transaction_id}": func(ctx context.Context) error { _, err := c.EraseDecisions(ctx, id); return err },
		"POST /models/reload":                func(ctx context.Context) error { _, err := c.ReloadModel(ctx); return err },
	}
}

func stepAdminRefused(ctx context.Context, d *Demo) (string, error) {
	if d.Admin != nil {
		return "", skipped("run with --admin-key: the routes were called with it")
	}
	calls := refusedAdmin(d.C, d.txID(1))
	names := slices.Sorted(maps.Keys(calls))
	for _, name := range names {
		if err := wantError(calls[name](ctx), 401, "UNAUTHORIZED"); err != nil {
			return "", fmt.Errorf("%s without a key: %w", name, err)
		}
	}
	return strings.Join(names, ", ") + ": 401", nil
}

// attackCheck sends payload in a query value, a header and the body's transaction_id, and
// checks that each is refused as an attack.
func attackCheck(ctx context.Context, d *Demo, payload string) (string, error) {
	body, _ := json.Marshal(loadtest.SampleTransaction(d.txID(5)))
	checks := []struct {
		where string
		req   client.Request
	}{
		{"query", client.Request{Method: "POST", Path: "/predict", Query: url.Values{"note": {payload}}, Body: body}},
		{"header", client.Request{Method: "POST", Path: "/predict", Header: http.Header{"X-Demo-Note": {payload}}, Body: body}},
	}
	for _, c := range checks {
		if _, err := do(ctx, d.C, c.req, 403, "SUSPICIOUS_REQUEST"); err != nil {
			return "", fmt.Errorf("in the %s: %w", c.where, err)
		}
	}
	tx := loadtest.SampleTransaction(payload)
	if _, err := d.C.Predict(ctx, tx); wantError(err, 403, "SUSPICIOUS_REQUEST") != nil {
		return "", fmt.Errorf("in the body: %w", wantError(err, 403, "SUSPICIOUS_REQUEST"))
	}
	return "refused in the query, a header and the body", nil
}

func stepSQLi(ctx context.Context, d *Demo) (string, error) {
	return attackCheck(ctx, d, "' OR '1'='1' --")
}

func stepXSS(ctx context.Context, d *Demo) (string, error) {
	return attackCheck(ctx, d, "<script>alert(document.cookie)</script>")
}

// rateLimitMax is the most requests the rate-limit step sends to reach the limit.
const rateLimitMax = 2000

func stepRateLimit(ctx context.Context, d *Demo) (string, error) {
	remaining, limit, ok := d.budget.Remaining()
	if !ok {
		return "", skipped("the server sends no RateLimit headers: rate limiting is off for this client")
	}
	if remaining > rateLimitMax {
		return "", skipped(fmt.Sprintf("%d requests left of %d/min: too many to spend here", remaining, limit))
	}
	// Cheap requests as fast as they go, until the first 429.
	for i := 0; i <= remaining+10; i++ {
		resp, err := d.Unpaced.Do(ctx, client.Request{Path: "/models/info"})
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			continue
		}
		e := resp.Err()
		if e.ErrorCode != "RATE_LIMITED" {
			return "", fmt.Errorf("got 429 %s, want RATE_LIMITED", e.ErrorCode)
		}
		ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || ra < 1 {
			return "", fmt.Errorf("the 429 has Retry-After %q, want a number of seconds", resp.Header.Get("Retry-After"))
		}
		return fmt.Sprintf("429 after %d requests (limit %d/min), Retry-After %d s", i+1, limit, ra), nil
	}
	return "", fmt.Errorf("no 429 after %d requests with %d of %d/min left", remaining+11, remaining, limit)
}
