package docs_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fraudguard/fraudguard/internal/api/docs"
	"github.com/fraudguard/fraudguard/internal/browsertest"
)

// fixtureSummary comes only from the fixture document: a page shows it only
// if its script fetched and rendered the document.
const fixtureSummary = "Score one card transaction for fraud"

const fixtureSpec = `{
  "openapi": "3.1.0",
  "info": {"title": "fraudguard fixture", "version": "0.0.1"},
  "paths": {
    "/predict": {
      "post": {
        "operationId": "predict",
        "summary": "` + fixtureSummary + `",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Transaction"}}}
        },
        "responses": {
          "200": {
            "description": "The transaction's fraud score.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Score"}}}
          }
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Transaction": {
        "type": "object",
        "required": ["amount"],
        "properties": {
          "amount": {"type": "number", "minimum": 0, "description": "Amount in the card's currency."},
          "merchant": {"type": "string"}
        }
      },
      "Score": {
        "type": "object",
        "properties": {
          "probability": {"type": "number", "minimum": 0, "maximum": 1},
          "fraud": {"type": "boolean"}
        }
      }
    }
  }
}`

// docsServer serves the two pages, their assets and the fixture document
// the way the API mounts them, and records every request it gets.
type docsServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // "METHOD path status"
}

func newDocsServer(t testing.TB) *docsServer {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /docs", docs.SwaggerPage("/openapi.json", "/docs/assets/"))
	mux.Handle("GET /redoc", docs.RedocPage("/openapi.json", "/docs/assets/"))
	mux.Handle("GET /docs/assets/", http.StripPrefix("/docs/assets", docs.Assets(http.NotFoundHandler())))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(fixtureSpec))
	})

	s := &docsServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rec, r)
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path+" "+http.StatusText(rec.status))
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *docsServer) takeRequests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	reqs := s.requests
	s.requests = nil
	return reqs
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// TestPagesRenderInBrowser loads each page in headless Chromium, which can
// reach loopback only (see browsertest), and checks that the UI rendered the
// fixture document and that every request the page made reached this server.
func TestPagesRenderInBrowser(t *testing.T) {
	browsertest.Require(t)
	srv := newDocsServer(t)

	tests := []struct {
		name   string
		path   string
		assets []string // what the page must load, and all it may load besides the document
		// rendered are fragments that only the UI's script writes, from the
		// fixture document.
		rendered []string
	}{
		{
			name:   "swagger ui",
			path:   "/docs",
			assets: []string{"swagger-ui-dist/swagger-ui.css", "swagger-ui-dist/swagger-ui-bundle.js", "swagger-init.js", "docs.css"},
			rendered: []string{
				`<span class="opblock-summary-method">POST</span>`,
				`data-path="/predict"`,
				`class="opblock-summary-description">` + fixtureSummary + `<`,
			},
		},
		{
			name:   "redoc",
			path:   "/redoc",
			assets: []string{"redoc/redoc.standalone.js", "redoc-init.js", "docs.css"},
			rendered: []string{
				`data-section-id="operation/predict"`,
				`>/predict</span>`,
				`</a>` + fixtureSummary, // the operation's heading
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.takeRequests()

			dom := browsertest.DumpDOM(t, srv.URL+tc.path)

			var lacks []string
			for _, want := range tc.rendered {
				if !strings.Contains(dom, want) {
					lacks = append(lacks, want)
				}
			}
			if len(lacks) > 0 {
				t.Errorf("rendered page lacks %q; got DOM without styles:\n%s", lacks, clip(dom))
			}
			reqs := srv.takeRequests()
			want := []string{"GET " + tc.path + " OK", "GET /openapi.json OK"}
			for _, a := range tc.assets {
				want = append(want, "GET /docs/assets/"+a+" OK")
			}
			for _, w := range want {
				if !slices.Contains(reqs, w) {
					t.Errorf("requests lack %q; got %q", w, reqs)
				}
			}
			for _, r := range reqs {
				if !slices.Contains(want, r) {
					t.Errorf("unexpected request %q; want only %q", r, want)
				}
			}

			// FRAUDGUARD_DOCS_SCREENSHOTS=dir saves a picture of each page to look at.
			if dir := os.Getenv("FRAUDGUARD_DOCS_SCREENSHOTS"); dir != "" {
				browsertest.Screenshot(t, srv.URL+tc.path, filepath.Join(dir, strings.TrimPrefix(tc.path, "/")+".png"))
			}
		})
	}
}

var styleElement = regexp.MustCompile(`(?s)<style[^>]*>.*?</style>`)

// clip shortens a DOM for a failure message; the UIs' inline styles are
// most of it and say nothing.
func clip(dom string) string {
	const limit = 6000
	dom = styleElement.ReplaceAllString(dom, "<style>…</style>")
	if len(dom) > limit {
		return dom[:limit] + "…"
	}
	return dom
}
