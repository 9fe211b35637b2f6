package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Request is a request the typed methods do not make: any method, path, query, headers and
// body, sent as they are. It is for tools that probe the server (a malformed body, an unknown
// route, a hostile header); programs that use the API want the typed methods.
type Request struct {
	Method string
	// Path is joined to the base URL as it is, unescaped: "/predict", "/no/such/route".
	Path   string
	Query  url.Values
	Header http.Header
	// Body is sent as it is; a non-nil Body without a Content-Type header is sent as
	// application/json.
	Body []byte
}

// Response is the server's answer to Do, whatever its status.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Err reads an answer that is not a success (2xx) as the *Error the typed methods return; it
// is nil for a success.
func (r *Response) Err() *Error {
	if r.StatusCode >= 200 && r.StatusCode <= 299 {
		return nil
	}
	return readError(&http.Response{StatusCode: r.StatusCode, Header: r.Header, Body: io.NopCloser(strings.NewReader(string(r.Body)))})
}

// Do sends r once, never retried, with the client's API key, and returns the answer whatever
// its status (read Err for an error answer). An error is returned only when no answer came.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	target := *c.base
	target.Path = strings.TrimSuffix(c.base.Path, "/") + "/" + strings.TrimPrefix(r.Path, "/")
	target.RawPath = ""
	if len(r.Query) > 0 {
		target.RawQuery = r.Query.Encode()
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	resp, err := c.once(ctx, call{method: method, header: r.Header, body: r.Body}, target.String())
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, target.Redacted(), err)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}, nil
}
