// Package client is the Go client of the fraudguard HTTP API. Its methods take a context first,
// send and read the types of package wire (the very types the server answers with), and turn
// every error answer into an *Error carrying the status, error_code, message, request_id and
// details, which errors.As finds.
//
// Calls that are safe to repeat are retried on a network error or an answer of 429, 502, 503
// or 504, with exponential backoff and jitter, waiting at least what Retry-After asks: the GETs,
// POST /predict and POST /predict/batch (scoring changes nothing on the server), PUT
// /admin/log-level, and POST /batch when it is given an idempotency key and a body that can be
// read again (an io.ReadSeeker). Every other call is sent once.
//
// The package imports only the standard library and package wire.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fraudguard/fraudguard/wire"
)

// Defaults of Options.
const (
	DefaultMaxRetries = 3
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// Options are a Client's optional settings.
type Options struct {
	// APIKey is sent as X-API-Key; empty sends none.
	APIKey string
	// HTTPClient sends the requests; nil uses a new http.Client without a timeout (result
	// downloads and uploads can be long: bound calls with their context).
	HTTPClient *http.Client
	// MaxRetries is how many times a call that is safe to repeat is sent again after a failure
	// that may pass: DefaultMaxRetries when 0, none when negative.
	MaxRetries int
	// MinBackoff is the wait before the first retry, doubled at each retry up to MaxBackoff;
	// each wait is drawn between half of it and all of it. Zero uses the defaults.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Rand draws the jitter; nil seeds one from the clock.
	Rand *rand.Rand
}

// Client calls one fraudguard server. It is safe for concurrent use.
type Client struct {
	base       *url.URL
	apiKey     string
	hc         *http.Client
	retries    int
	minBackoff time.Duration
	maxBackoff time.Duration

	mu  sync.Mutex // guards rnd
	rnd *rand.Rand
}

// New returns a client of the server at baseURL, such as http://localhost:8000 (a path prefix
// is kept: http://gw/fraud calls http://gw/fraud/predict).
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: %q is not a server URL; allowed: http://host:port or https://host:port", baseURL)
	}
	u.RawQuery, u.Fragment = "", ""
	c := &Client{
		base:       u,
		apiKey:     opts.APIKey,
		hc:         opts.HTTPClient,
		retries:    opts.MaxRetries,
		minBackoff: opts.MinBackoff,
		maxBackoff: opts.MaxBackoff,
		rnd:        opts.Rand,
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultMaxRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.minBackoff <= 0 {
		c.minBackoff = DefaultMinBackoff
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	c.maxBackoff = max(c.maxBackoff, c.minBackoff)
	if c.rnd == nil {
		now := uint64(time.Now().UnixNano())
		c.rnd = rand.New(rand.NewPCG(now, now>>17|1))
	}
	return c, nil
}

// BaseURL returns the server's URL, without its credentials.
func (c *Client) BaseURL() string { return c.base.Redacted() }

// ResolveURL turns a URL the server gave, such as a job's status_url, into an absolute one.
func (c *Client) ResolveURL(ref string) string {
	u, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return c.base.ResolveReference(u).String()
}

// Error is an error answer of the server: its HTTP status, its body (error_code, message,
// details, request_id, ...) and how long it asks to wait before a retry. When the body is not
// the API's error shape (a proxy's page, say), Message holds its start.
type Error struct {
	StatusCode int
	wire.ErrorResponse
	// RetryAfter is the wait the server asked for (Retry-After or retry_after); 0 when none.
	RetryAfter time.Duration
}

// Error says "fraudguard server: <status> <error_code>: <message>; <details> (request id <id>)".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fraudguard server: %d ", e.StatusCode)
	if e.ErrorCode != "" {
		b.WriteString(e.ErrorCode)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	for _, d := range e.Details {
		b.WriteString("; ")
		if f, ok := d["field"]; ok {
			fmt.Fprintf(&b, "%v: %v", f, d["problem"])
		} else {
			data, _ := json.Marshal(d)
			b.Write(data)
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
}

// Temporary reports whether the same request may succeed later: 429, 502, 503 or 504.
func (e *Error) Temporary() bool {
	switch e.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// ErrorCode returns the error_code of the first *Error in err's chain, or "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.ErrorCode
	}
	return ""
}

// readError builds the *Error of an answer that is not a success, and closes its body.
func readError(resp *http.Response) *Error {
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{StatusCode: resp.StatusCode}
	if json.Unmarshal(data, &e.ErrorResponse) != nil || (e.Message == "" && e.ErrorCode == "") {
		msg := strings.TrimSpace(string(data))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		e.ErrorResponse = wire.ErrorResponse{Message: msg}
	}
	if e.Details == nil {
		e.Details = []wire.Detail{}
	}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("X-Request-ID")
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	} else if e.ErrorResponse.RetryAfter != nil && *e.ErrorResponse.RetryAfter > 0 {
		e.RetryAfter = time.Duration(*e.ErrorResponse.RetryAfter) * time.Second
	}
	return e
}

// call is one request to send.
type call struct {
	method string
	path   []string // joined to the base URL
	query  url.Values
	header http.Header
	// body is sent as it is and can be sent again; stream is read once (or, when it is an
	// io.ReadSeeker, from where it stood at each attempt).
	body   []byte
	stream io.Reader
	// retry: the call is safe to repeat.
	retry bool
	// answers are the statuses besides 2xx whose body is an answer, not an error (503 for
	// /health, whose body then says unhealthy).
	answers []int
}

func (cl *call) isAnswer(status int) bool {
	if status >= 200 && status <= 299 {
		return true
	}
	for _, s := range cl.answers {
		if s == status {
			return true
		}
	}
	return false
}

// do sends cl, retrying it when it is safe and the failure may pass, and returns an answer
// whose status is a success (or one of cl.answers). Any other answer is an *Error.
func (c *Client) do(ctx context.Context, cl call) (*http.Response, error) {
	elems := make([]string, len(cl.path))
	for i, e := range cl.path {
		elems[i] = url.PathEscape(e) // a job id or an address is one segment, whatever it holds
	}
	target := c.base.JoinPath(elems...)
	if len(cl.query) > 0 {
		target.RawQuery = cl.query.Encode()
	}
	var start int64
	seeker, canRewind := cl.stream.(io.ReadSeeker)
	if cl.stream != nil {
		if canRewind {
			var err error
			if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
				canRewind = false
			}
		}
		cl.retry = cl.retry && canRewind
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 && cl.stream != nil {
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return nil, fmt.Errorf("%s %s: rewinding the body for a retry: %w", cl.method, target.Redacted(), err)
			}
		}
		resp, err := c.once(ctx, cl, target.String())
		if err == nil {
			if cl.isAnswer(resp.StatusCode) {
				return resp, nil
			}
			err = readError(resp)
		} else {
			err = fmt.Errorf("%s %s: %w", cl.method, target.Redacted(), err)
		}
		if !cl.retry || attempt >= c.retries || ctx.Err() != nil {
			return nil, err
		}
		var ae *Error
		isAPI := errors.As(err, &ae)
		if isAPI && !ae.Temporary() {
			return nil, err
		}
		wait := c.backoff(attempt)
		if isAPI {
			wait = max(wait, ae.RetryAfter)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// once sends cl one time.
func (c *Client) once(ctx context.Context, cl call, target string) (*http.Response, error) {
	var body io.Reader
	switch {
	case cl.stream != nil:
		// Hide the stream's own methods: a retried request rewinds it itself.
		body = struct{ io.Reader }{cl.stream}
	case cl.body != nil:
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, body)
	if err != nil {
		return nil, err
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if cl.body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "fraudguard-go-client/1")
	if c.apiKey != "" {
		req.Header.Set("X-API-Key", c.apiKey)
	}
	return c.hc.Do(req)
}

// backoff is the wait before retry attempt+1: MinBackoff doubled attempt times, at most
// MaxBackoff, drawn between half of that and all of it.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.maxBackoff
	if attempt < 30 {
		d = min(c.maxBackoff, c.minBackoff<<attempt)
	}
	c.mu.Lock()
	j := c.rnd.Int64N(int64(d/2) + 1)
	c.mu.Unlock()
	return d/2 + time.Duration(j)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxAnswerBytes bounds a JSON answer read into memory.
const maxAnswerBytes = 64 << 20

// doJSON sends cl and decodes its JSON answer into v; it returns the answer's header.
func (c *Client) doJSON(ctx context.Context, cl call, v any) (http.Header, error) {
	resp, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswerBytes)).Decode(v); err != nil {
		return nil, fmt.Errorf("%s /%s: reading the answer: %w", cl.method, strings.Join(cl.path, "/"), err)
	}
	return resp.Header, nil
}

// getJSON GETs path and decodes its answer into a new T.
func getJSON[T any](ctx context.Context, c *Client, query url.Values, path ...string) (*T, error) {
	var out T
	_, err := c.doJSON(ctx, call{method: http.MethodGet, path: path, query: query, retry: true}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// sendJSON sends in as the JSON body of method path and decodes the answer into a new T.
func sendJSON[T any](ctx context.Context, c *Client, method string, retry bool, in any, path ...string) (*T, error) {
	cl := call{method: method, path: path, retry: retry}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s /%s: encoding the body: %w", method, strings.Join(path, "/"), err)
		}
		cl.body = b
	}
	var out T
	if _, err := c.doJSON(ctx, cl, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// getBytes GETs path with accept and returns the whole answer.
func (c *Client) getBytes(ctx context.Context, accept string, path ...string) ([]byte, error) {
	resp, err := c.do(ctx, call{method: http.MethodGet, path: path, header: http.Header{"Accept": {accept}}, retry: true})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
}
