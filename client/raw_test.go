package client_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/client"
)

// TestDo sends what the typed methods cannot to the real server and reads the answers back.
func TestDo(t *testing.T) {
	srv := mustServer(t)
	c, err := client.New(srv.URL, client.Options{APIKey: keyPredict})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name   string
		req    client.Request
		status int
		code   string // error_code; empty for a success
	}{
		{"malformed JSON", client.Request{Method: "POST", Path: "/predict", Body: []byte(`{"Time": 0,`)}, 400, "MALFORMED_JSON"},
		{"wrong content type", client.Request{Method: "POST", Path: "/predict", Body: []byte(`{}`), Header: http.Header{"Content-Type": {"text/plain"}}}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"unknown route", client.Request{Path: "/no/such/route"}, 404, "NOT_FOUND"},
		{"wrong method", client.Request{Method: "DELETE", Path: "predict"}, 405, "METHOD_NOT_ALLOWED"},
		{"attack in the query", client.Request{Path: "/models/info", Query: url.Values{"q": {"' OR '1'='1"}}}, 403, "SUSPICIOUS_REQUEST"},
		{"a success", client.Request{Path: "/health/live"}, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Do(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("got status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			e := resp.Err()
			switch {
			case tc.code == "" && e != nil:
				t.Errorf("got error %v for a success", e)
			case tc.code != "" && (e == nil || e.ErrorCode != tc.code || e.RequestID == "" || e.StatusCode != tc.status):
				t.Errorf("got %+v, want error_code %s with a request id", e, tc.code)
			}
		})
	}
	if _, err := c.Do(ctx, client.Request{Path: "/"}); err != nil {
		t.Errorf("the root path: %v", err)
	}
	dead, _ := client.New("http://127.0.0.1:1", client.Options{})
	if _, err := dead.Do(ctx, client.Request{Path: "/health"}); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1/health") {
		t.Errorf("got %v, want a transport error naming the URL", err)
	}
}
