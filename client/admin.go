package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fraudguard/fraudguard/wire"
)

// Health returns the service's health (GET /health). An unhealthy service answers 503 with
// the same body: that is an answer here, with Status "unhealthy", not an error.
func (c *Client) Health(ctx context.Context) (*wire.HealthResponse, error) {
	var out wire.HealthResponse
	cl := call{method: http.MethodGet, path: []string{"health"}, retry: true, answers: []int{http.StatusServiceUnavailable}}
	if _, err := c.doJSON(ctx, cl, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Live is the liveness probe (GET /health/live; /v2/health/live is the same).
func (c *Client) Live(ctx context.Context) (*wire.ProbeResponse, error) {
	return getJSON[wire.ProbeResponse](ctx, c, nil, "health", "live")
}

// Ready is the readiness probe (GET /health/ready; /v2/health/ready is the same). A server
// without a model answers Status "not_ready" (with a 503), which is an answer, not an error.
func (c *Client) Ready(ctx context.Context) (*wire.ProbeResponse, error) {
	var out wire.ProbeResponse
	cl := call{method: http.MethodGet, path: []string{"health", "ready"}, retry: true, answers: []int{http.StatusServiceUnavailable}}
	if _, err := c.doJSON(ctx, cl, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ModelInfo describes the live model (GET /models/info).
func (c *Client) ModelInfo(ctx context.Context) (*wire.ModelInfoResponse, error) {
	return getJSON[wire.ModelInfoResponse](ctx, c, nil, "models", "info")
}

// ReloadModel makes the server load its newest model bundle (POST /models/reload; admin). A
// bundle that fails to load is a 422 *Error and the old model stays live. It is not retried.
func (c *Client) ReloadModel(ctx context.Context) (*wire.ReloadResponse, error) {
	return sendJSON[wire.ReloadResponse](ctx, c, http.MethodPost, false, nil, "models", "reload")
}

// ActivateModel makes version, a bundle under the server's MODEL_PATH, the live model and
// returns it (POST /models/activate; admin). An unknown version is a 404 *Error, a bundle that
// fails its checks a 422 *Error, and the old model stays live. Activating twice is harmless,
// so it is retried.
func (c *Client) ActivateModel(ctx context.Context, version string) (*wire.ModelChangeResponse, error) {
	return sendJSON[wire.ModelChangeResponse](ctx, c, http.MethodPost, true, wire.ActivateRequest{Version: version}, "models", "activate")
}

// RollbackModel makes live again the version that was live before the last switch (POST
// /models/rollback; admin). With no earlier version it is a 409 *Error. It is not retried: a
// second rollback would undo the first.
func (c *Client) RollbackModel(ctx context.Context) (*wire.ModelChangeResponse, error) {
	return sendJSON[wire.ModelChangeResponse](ctx, c, http.MethodPost, false, nil, "models", "rollback")
}

// CompareQuery selects the window of CompareModels; zero fields are left to the server (the
// hour before until, until now, 10 disagreements).
type CompareQuery struct {
	Since time.Time
	Until time.Time
	Limit int
}

// CompareModels compares the live model with the shadow or challenger over a window (GET
// /models/compare; admin). A server with neither is a 409 *Error.
func (c *Client) CompareModels(ctx context.Context, q CompareQuery) (*wire.CompareResponse, error) {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return getJSON[wire.CompareResponse](ctx, c, v, "models", "compare")
}

// ReloadKeys makes the server re-read its keys file (POST /security/keys/reload; admin). It is
// not retried.
func (c *Client) ReloadKeys(ctx context.Context) (*wire.ReloadResponse, error) {
	return sendJSON[wire.ReloadResponse](ctx, c, http.MethodPost, false, nil, "security", "keys", "reload")
}

// BlockedIPs lists the addresses blocked now (GET /security/blocked; admin).
func (c *Client) BlockedIPs(ctx context.Context) (*wire.BlockedResponse, error) {
	return getJSON[wire.BlockedResponse](ctx, c, nil, "security", "blocked")
}

// Unblock lifts an address's block (DELETE /security/blocked/{ip}; admin). An address that is
// not blocked is a 404 *Error. It is not retried: a second call would answer 404.
func (c *Client) Unblock(ctx context.Context, ip string) (*wire.UnblockResponse, error) {
	return sendJSON[wire.UnblockResponse](ctx, c, http.MethodDelete, false, nil, "security", "blocked", ip)
}

// AuditQuery selects audit events; zero fields are left to the server (any action, no time
// bounds, offset 0, limit 100).
type AuditQuery struct {
	Action string
	Since  time.Time
	Until  time.Time
	Offset int
	Limit  int
}

// Audit lists audit events, newest first (GET /security/audit; admin).
func (c *Client) Audit(ctx context.Context, q AuditQuery) (*wire.AuditResponse, error) {
	v := url.Values{}
	if q.Action != "" {
		v.Set("action", q.Action)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339))
	}
	setPage(v, q.Offset, q.Limit)
	return getJSON[wire.AuditResponse](ctx, c, v, "security", "audit")
}

// setPage adds offset and limit to v when they are set.
func setPage(v url.Values, offset, limit int) {
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
}

// MetricsSummary returns the JSON summary of GET /metrics.
func (c *Client) MetricsSummary(ctx context.Context) (*wire.MetricsSummary, error) {
	return getJSON[wire.MetricsSummary](ctx, c, nil, "metrics")
}

// Metrics returns GET /metrics in Prometheus's text format.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	return c.getBytes(ctx, "text/plain", "metrics")
}

// LogLevel returns the server's log level (GET /admin/log-level; admin).
func (c *Client) LogLevel(ctx context.Context) (string, error) {
	out, err := getJSON[wire.LogLevelBody](ctx, c, nil, "admin", "log-level")
	if err != nil {
		return "", err
	}
	return out.Level, nil
}

// SetLogLevel changes the server's log level to DEBUG, INFO, WARN or ERROR and returns it (PUT
// /admin/log-level; admin). Setting a level twice is harmless, so it is retried.
func (c *Client) SetLogLevel(ctx context.Context, level string) (string, error) {
	out, err := sendJSON[wire.LogLevelBody](ctx, c, http.MethodPut, true, wire.LogLevelBody{Level: level}, "admin", "log-level")
	if err != nil {
		return "", err
	}
	return out.Level, nil
}

// OpenAPI returns the server's OpenAPI 3.1 document (GET /openapi.json).
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	return c.getBytes(ctx, "application/json", "openapi.json")
}
