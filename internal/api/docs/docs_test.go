package docs_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/api/docs"
)

func get(t *testing.T, h http.Handler, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func mustRead(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var assetRef = regexp.MustCompile(`(?:src|href)="([^"]*)"`)

func TestPages(t *testing.T) {
	assets := http.StripPrefix("/docs/assets", docs.Assets(http.NotFoundHandler()))
	tests := []struct {
		name       string
		page       http.Handler
		wantPolicy []string
	}{
		{
			name: "swagger ui",
			page: docs.SwaggerPage("/openapi.json", "/docs/assets/"),
			wantPolicy: []string{
				"default-src 'none'", "script-src 'self';", "connect-src 'self';",
				"style-src 'self' 'unsafe-inline';", "img-src 'self' data:;",
			},
		},
		{
			name: "redoc",
			page: docs.RedocPage("/openapi.json", "/docs/assets/"),
			wantPolicy: []string{
				"default-src 'none'", "script-src 'self';", "connect-src 'self';",
				"style-src 'self' 'unsafe-inline';", "img-src 'self' data:;", "worker-src blob:",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, tc.page, "/docs", nil)
			body := string(mustRead(t, resp.Body))

			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want 200", resp.StatusCode)
			}
			if got, want := resp.Header.Get("Content-Type"), "text/html; charset=utf-8"; got != want {
				t.Errorf("Content-Type: got %q, want %q", got, want)
			}
			policy := resp.Header.Get("Content-Security-Policy")
			for _, want := range tc.wantPolicy {
				if !strings.Contains(policy, want) {
					t.Errorf("Content-Security-Policy: got %q, want it to contain %q", policy, want)
				}
			}
			// Sources other than these would let the page load from elsewhere.
			for _, source := range strings.Fields(policy) {
				source = strings.TrimSuffix(source, ";")
				switch {
				case strings.HasSuffix(source, "-src"), strings.HasSuffix(source, "-uri"),
					strings.HasSuffix(source, "-action"), strings.HasSuffix(source, "-ancestors"):
				case source == "'self'", source == "'none'", source == "'unsafe-inline'",
					source == "data:", source == "blob:":
				default:
					t.Errorf("Content-Security-Policy: got source %q in %q, want only this origin's", source, policy)
				}
			}
			if !strings.Contains(body, "<title>fraudguard API</title>") {
				t.Errorf("page lacks the title; got:\n%s", body)
			}
			if !strings.Contains(body, `data-spec-url="/openapi.json"`) {
				t.Errorf("page does not name the document; got:\n%s", body)
			}
			if strings.Contains(body, "//") {
				t.Errorf("page names another host; got:\n%s", body)
			}

			// Every asset the page names is served, at its current version.
			refs := assetRef.FindAllStringSubmatch(body, -1)
			if len(refs) < 3 {
				t.Fatalf("got %d src/href references, want the page's assets; page:\n%s", len(refs), body)
			}
			for _, ref := range refs {
				u := ref[1]
				if u == "data:," { // the empty favicon, so that the browser asks for none
					continue
				}
				if !strings.HasPrefix(u, "/docs/assets/") || !strings.Contains(u, "?v=") {
					t.Errorf("got asset reference %q, want /docs/assets/NAME?v=VERSION", u)
					continue
				}
				resp := get(t, assets, u, nil)
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: got status %d, want 200", u, resp.StatusCode)
				}
				if got, want := resp.Header.Get("Cache-Control"), "public, max-age=31536000, immutable"; got != want {
					t.Errorf("GET %s: Cache-Control: got %q, want %q", u, got, want)
				}
			}
		})
	}
}

func TestPageEscapesSpecURL(t *testing.T) {
	page := docs.SwaggerPage(`/openapi.json"><script>alert(1)</script>`, "/docs/assets/")
	body := string(mustRead(t, get(t, page, "/docs", nil).Body))
	if strings.Contains(body, "<script>alert(1)") {
		t.Errorf("spec URL was not escaped; got:\n%s", body)
	}
}

func TestPagePolicyAllowsAbsoluteURLs(t *testing.T) {
	page := docs.RedocPage("https://api.example.com/openapi.json", "https://static.example.com/docs/assets/")
	resp := get(t, page, "/redoc", nil)
	policy := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{
		"script-src 'self' https://static.example.com;",
		"style-src 'self' https://static.example.com 'unsafe-inline';",
		"connect-src 'self' https://api.example.com;",
	} {
		if !strings.Contains(policy, want) {
			t.Errorf("Content-Security-Policy: got %q, want it to contain %q", policy, want)
		}
	}
	body := string(mustRead(t, resp.Body))
	if want := `src="https://static.example.com/docs/assets/redoc/redoc.standalone.js?v=`; !strings.Contains(body, want) {
		t.Errorf("page lacks %q; got:\n%s", want, body)
	}
}

func TestAssets(t *testing.T) {
	assets := docs.Assets(http.NotFoundHandler())
	css, err := os.ReadFile(filepath.Join("assets", "swagger-ui-dist", "swagger-ui.css"))
	if err != nil {
		t.Fatal(err)
	}
	version := assetVersion(t, docs.SwaggerPage("/openapi.json", "/"), "swagger-ui-dist/swagger-ui.css")

	identity := get(t, assets, "/swagger-ui-dist/swagger-ui.css", nil)
	etag := identity.Header.Get("ETag")
	gzipped := get(t, assets, "/swagger-ui-dist/swagger-ui.css", http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
	gzipETag := gzipped.Header.Get("ETag")

	t.Run("identity", func(t *testing.T) {
		if got := mustRead(t, identity.Body); !bytes.Equal(got, css) {
			t.Errorf("body: got %d bytes, want the %d of swagger-ui.css", len(got), len(css))
		}
		if got := identity.Header.Get("Content-Encoding"); got != "" {
			t.Errorf("Content-Encoding: got %q, want none", got)
		}
		if etag == "" || etag == gzipETag {
			t.Errorf("ETag: got %q (gzip %q), want one of its own", etag, gzipETag)
		}
	})
	t.Run("gzip", func(t *testing.T) {
		if got := gzipped.Header.Get("Content-Encoding"); got != "gzip" {
			t.Fatalf("Content-Encoding: got %q, want gzip", got)
		}
		zr, err := gzip.NewReader(gzipped.Body)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustRead(t, zr); !bytes.Equal(got, css) {
			t.Errorf("gunzipped body: got %d bytes, want the %d of swagger-ui.css", len(got), len(css))
		}
	})

	tests := []struct {
		name         string
		target       string
		header       http.Header
		wantStatus   int
		wantType     string
		wantEncoding string
		wantCache    string
	}{
		{
			name: "script", target: "/redoc/redoc.standalone.js",
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantCache: "public, no-cache",
		},
		{
			name: "current version", target: "/swagger-ui-dist/swagger-ui.css?v=" + version,
			wantStatus: 200, wantType: "text/css; charset=utf-8", wantCache: "public, max-age=31536000, immutable",
		},
		{
			name: "old version", target: "/swagger-ui-dist/swagger-ui.css?v=0123456789abcdef",
			wantStatus: 200, wantType: "text/css; charset=utf-8", wantCache: "public, no-cache",
		},
		{
			name: "licence", target: "/redoc/LICENSE",
			wantStatus: 200, wantType: "text/plain; charset=utf-8", wantCache: "public, no-cache",
		},
		{
			name: "gzip refused", target: "/swagger-ui-dist/swagger-ui.css",
			header:     http.Header{"Accept-Encoding": {"gzip;q=0, identity"}},
			wantStatus: 200, wantType: "text/css; charset=utf-8", wantCache: "public, no-cache",
		},
		{
			name: "gzip", target: "/swagger-ui-dist/swagger-ui.css",
			header:     http.Header{"Accept-Encoding": {"gzip, deflate"}},
			wantStatus: 200, wantType: "text/css; charset=utf-8", wantEncoding: "gzip", wantCache: "public, no-cache",
		},
		{
			name: "not modified", target: "/swagger-ui-dist/swagger-ui.css",
			header:     http.Header{"If-None-Match": {etag}},
			wantStatus: http.StatusNotModified, wantCache: "public, no-cache",
		},
		{
			name: "not modified gzip", target: "/swagger-ui-dist/swagger-ui.css",
			header:     http.Header{"If-None-Match": {gzipETag}, "Accept-Encoding": {"gzip"}},
			wantStatus: http.StatusNotModified, wantCache: "public, no-cache",
		},
		{
			name: "modified", target: "/swagger-ui-dist/swagger-ui.css",
			header:     http.Header{"If-None-Match": {`"0123456789abcdef"`}},
			wantStatus: 200, wantType: "text/css; charset=utf-8", wantCache: "public, no-cache",
		},
		{name: "unknown", target: "/nope.js", wantStatus: 404, wantType: "text/plain; charset=utf-8"},
		{name: "directory", target: "/redoc/", wantStatus: 404, wantType: "text/plain; charset=utf-8"},
		{name: "root", target: "/", wantStatus: 404, wantType: "text/plain; charset=utf-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, assets, tc.target, tc.header)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status: got %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if got := resp.Header.Get("Content-Type"); tc.wantType != "" && got != tc.wantType {
				t.Errorf("Content-Type: got %q, want %q", got, tc.wantType)
			}
			if got := resp.Header.Get("Content-Encoding"); got != tc.wantEncoding {
				t.Errorf("Content-Encoding: got %q, want %q", got, tc.wantEncoding)
			}
			if got := resp.Header.Get("Cache-Control"); got != tc.wantCache {
				t.Errorf("Cache-Control: got %q, want %q", got, tc.wantCache)
			}
		})
	}
}

// assetVersion gives the ?v= that a page asks for the asset name with.
func assetVersion(t *testing.T, page http.Handler, name string) string {
	t.Helper()
	body := string(mustRead(t, get(t, page, "/", nil).Body))
	for _, ref := range assetRef.FindAllStringSubmatch(body, -1) {
		u, err := url.Parse(ref[1])
		if err == nil && u.Path == "/"+name {
			return u.Query().Get("v")
		}
	}
	t.Fatalf("page does not load %s; got:\n%s", name, body)
	return ""
}

// remoteLoad matches what, in a script or style sheet, would make a browser
// load from a content or font host.
var remoteLoad = regexp.MustCompile(`(?:https?:)?//(?i:fonts\.googleapis\.com|fonts\.gstatic\.com|use\.typekit\.net|[a-z0-9.-]*cdn[a-z0-9-]*\.[a-z.]+|unpkg\.com|ajax\.googleapis\.com)[^"'\x60\s)]*|@import|url\(\s*["']?(?:https?:)?//`)

// knownRemoteLoads are those the bundles make and the pages' policy blocks.
var knownRemoteLoads = map[string]string{
	// ReDoc's "API docs by Redocly" footer: img-src keeps the browser from
	// fetching it, and ReDoc hides the image when it fails.
	"//cdn.redoc.ly/redoc/logo-mini.svg": "redoc/redoc.standalone.js",
}

func TestAssetsLoadNothingRemote(t *testing.T) {
	err := filepath.WalkDir("assets", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".js") || strings.HasSuffix(path, ".css")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(strings.TrimPrefix(path, "assets"+string(filepath.Separator)))
		for _, m := range remoteLoad.FindAllString(string(data), -1) {
			_, ref, _ := strings.Cut(m, "//")
			if knownRemoteLoads["//"+ref] != name {
				t.Errorf("%s: got remote load %q, want none", name, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
