package detect

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// newPredictRequest is a /predict request as clients send it: no query, a handful of ordinary
// headers, the agent given.
func newPredictRequest(userAgent string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/predict", nil)
	r.Header.Set("User-Agent", userAgent)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	r.Header.Set("X-Request-Id", "req_7f3a9c2b4e1d8f60a5b3")
	r.Header.Set("X-Api-Key", "fg_live_2hQm3p9ZxV0aR7tYkLw4cNfE8sGdJ1uB")
	r.Header.Set("X-Forwarded-For", "203.0.113.42, 10.0.3.17")
	return r
}

func BenchmarkInspectRequest(b *testing.B) {
	for _, bc := range []struct {
		name, ua string
		cache    int
	}{
		{"browser", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 0},
		{"sdk", "python-requests/2.31.0", 0},
		// Without the cache every request's User-Agent goes through libinjection: the cost of
		// the first request from a new client.
		{"browser-nocache", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", -1},
		{"sdk-nocache", "python-requests/2.31.0", -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := New(Options{CacheSize: bc.cache})
			r := newPredictRequest(bc.ua)
			b.ReportAllocs()
			for b.Loop() {
				if f, ok := d.InspectRequest(r); ok {
					b.Fatalf("got %+v, want no finding", f)
				}
			}
		})
	}
}

func BenchmarkInspectString(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"transaction-id", "txn_8f2k4m9q1z7x3c5v"},
		{"uuid", "3f1c9a7e-2b4d-4e8f-a6c1-9d0b2e7f5a13"},
		{"free-text", "O'Brien & Sons, 12 Main St."},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := New(Options{})
			b.ReportAllocs()
			for b.Loop() {
				if f, ok := d.InspectString("json:transaction_id", bc.s); ok {
					b.Fatalf("got %+v, want no finding", f)
				}
			}
		})
	}
}
