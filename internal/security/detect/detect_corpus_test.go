package detect

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mustReadLines returns the non-empty lines of testdata/name, each exactly as written (leading
// and trailing spaces are part of many payloads).
func mustReadLines(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("open corpus: %v", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := strings.TrimSuffix(sc.Text(), "\r"); line != "" {
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read corpus %s: %v", name, err)
	}
	return lines
}

// newBrowserRequest is a /predict request as a browser-based client sends it.
func newBrowserRequest(target string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Accept-Language", "en-GB,en;q=0.9")
	r.Header.Set("Content-Type", "application/json")
	return r
}

// payloadPosition puts a payload in one place of a request, or inspects it as a JSON string.
type payloadPosition struct {
	name    string
	request func(p string) *http.Request // nil: inspect with InspectString
}

// headerPosition puts the payload as the value of header name. A server trims the optional
// white space around a header value, so the payload is trimmed too.
func headerPosition(name string) payloadPosition {
	return payloadPosition{name: "header " + name, request: func(p string) *http.Request {
		r := newBrowserRequest("/predict")
		r.Header.Set(name, strings.TrimSpace(p))
		return r
	}}
}

// attackPositions are every place a SQLi, XSS or traversal payload can arrive in.
func attackPositions() []payloadPosition {
	return []payloadPosition{
		{name: "path segment", request: func(p string) *http.Request {
			return newBrowserRequest("/predict/" + url.PathEscape(p))
		}},
		{name: "query value", request: func(p string) *http.Request {
			return newBrowserRequest("/predict?id=" + url.QueryEscape(p))
		}},
		{name: "query name", request: func(p string) *http.Request {
			return newBrowserRequest("/predict?" + url.QueryEscape(p) + "=1")
		}},
		headerPosition("User-Agent"),
		headerPosition("Referer"),
		{name: "cookie value", request: func(p string) *http.Request {
			r := newBrowserRequest("/predict")
			r.Header.Set("Cookie", "sid=Zk9xQm2aL8; theme="+url.QueryEscape(p)+"; consent=yes")
			return r
		}},
		headerPosition("X-Forwarded-For"),
		headerPosition("X-Foo"),
		{name: "json string"},
	}
}

func TestDetectorCatchesCorpus(t *testing.T) {
	d := New(Options{})
	attacks := map[string]bool{RuleSQLi: true, RuleXSS: true, RuleTraversal: true}
	for _, file := range []string{"sqli.txt", "xss.txt", "traversal.txt"} {
		payloads := mustReadLines(t, file)
		for _, pos := range attackPositions() {
			t.Run(file+"/"+pos.name, func(t *testing.T) {
				for _, p := range payloads {
					var (
						f  Finding
						ok bool
					)
					if pos.request == nil {
						f, ok = d.InspectString("json:transaction_id", p)
					} else {
						f, ok = d.InspectRequest(pos.request(p))
					}
					if !ok || !attacks[f.Rule] {
						t.Errorf("payload %q: got %+v, %v; want an sqli, xss or traversal finding", p, f, ok)
					}
				}
			})
		}
	}
}

func TestDetectorCatchesScannerAgents(t *testing.T) {
	d := New(Options{})
	for _, ua := range mustReadLines(t, "scanners.txt") {
		r := newBrowserRequest("/predict")
		r.Header.Set("User-Agent", ua)
		f, ok := d.InspectRequest(r)
		if !ok || f.Rule != RuleScanner || f.Location != "header:User-Agent" {
			t.Errorf("User-Agent %q: got %+v, %v; want a scanner finding at header:User-Agent", ua, f, ok)
		}
	}
}

func TestCorpusSize(t *testing.T) {
	total := 0
	for _, tc := range []struct {
		file string
		min  int
	}{
		{"sqli.txt", 50},
		{"xss.txt", 50},
		{"traversal.txt", 30},
		{"scanners.txt", 20},
	} {
		n := len(mustReadLines(t, tc.file))
		if n < tc.min {
			t.Errorf("%s: got %d payloads, want at least %d", tc.file, n, tc.min)
		}
		total += n
	}
	if total < 200 {
		t.Errorf("corpus: got %d payloads, want at least 200", total)
	}
}
