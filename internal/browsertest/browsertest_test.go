package browsertest

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeTB records how a helper ended the test instead of ending it.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatal(args ...any) {
	f.fatal = strings.TrimSpace(fmt.Sprintln(args...))
	runtime.Goexit()
}

func (f *fakeTB) Skip(args ...any) {
	f.skip = strings.TrimSpace(fmt.Sprintln(args...))
	runtime.Goexit()
}

func TestRequire(t *testing.T) {
	found := func(name string) (string, error) { return "/opt/" + name, nil }
	notFound := func(string) (string, error) { return "", errors.New("not found") }
	tests := []struct {
		name      string
		lookPath  func(string) (string, error)
		ci        string
		wantPath  string
		wantFatal bool
		wantSkip  bool
	}{
		{name: "found", lookPath: found, wantPath: "/opt/chromium"},
		{name: "found in CI", lookPath: found, ci: "true", wantPath: "/opt/chromium"},
		{name: "missing skips", lookPath: notFound, wantSkip: true},
		{name: "missing skips outside CI", lookPath: notFound, ci: "false", wantSkip: true},
		{name: "missing fails in CI", lookPath: notFound, ci: "true", wantFatal: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeTB{TB: t}
			var path string
			done := make(chan struct{})
			go func() {
				defer close(done)
				path = require(f, tc.lookPath, func(key string) string {
					if key == "CI" {
						return tc.ci
					}
					return ""
				})
			}()
			<-done

			if path != tc.wantPath {
				t.Errorf("path: got %q, want %q", path, tc.wantPath)
			}
			if got := f.fatal != ""; got != tc.wantFatal {
				t.Errorf("fatal: got %q, want fatal %v", f.fatal, tc.wantFatal)
			}
			if got := f.skip != ""; got != tc.wantSkip {
				t.Errorf("skip: got %q, want skip %v", f.skip, tc.wantSkip)
			}
			if msg := f.fatal + f.skip; msg != "" && msg != missing {
				t.Errorf("message: got %q, want %q", msg, missing)
			}
		})
	}
}

// The page writes its content only after a fetch and a timer, as a
// single-page app does: DumpDOM must wait for both.
const latePage = `<!doctype html><title>late</title><div id="out">waiting</div>
<script>
fetch("/data").then(r => r.text()).then(text => {
  setTimeout(() => { document.getElementById("out").textContent = "rendered " + text; }, 3000);
});
</script>`

func newLateServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(latePage))
	})
	mux.HandleFunc("GET /data", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("from-the-server"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestDumpDOMWaitsForScripts(t *testing.T) {
	Require(t)
	srv := newLateServer(t)

	dom := DumpDOM(t, srv.URL+"/")

	if want := "rendered from-the-server"; !strings.Contains(dom, want) {
		t.Errorf("got DOM %q, want it to contain %q", dom, want)
	}
}

func TestScreenshot(t *testing.T) {
	Require(t)
	srv := newLateServer(t)
	path := filepath.Join(t.TempDir(), "page.png")

	Screenshot(t, srv.URL+"/", path)

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if magic := []byte("\x89PNG\r\n\x1a\n"); !bytes.HasPrefix(data, magic) {
		t.Errorf("got file starting %q, want a PNG", data[:min(len(data), 8)])
	}
}

func TestDumpDOMConsole(t *testing.T) {
	Require(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /quiet", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!DOCTYPE html><p>quiet</p>`))
	})
	mux.HandleFunc("GET /loud", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!DOCTYPE html><p>loud</p><script>console.error("broken " + (1 + 1))</script>`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	if dom, console := DumpDOMConsole(t, srv.URL+"/quiet"); !strings.Contains(dom, "<p>quiet</p>") || len(console) != 0 {
		t.Errorf("quiet page: got DOM %q and console %q, want the page and nothing logged", dom, console)
	}
	dom, console := DumpDOMConsole(t, srv.URL+"/loud")
	if !strings.Contains(dom, "<p>loud</p>") || len(console) != 1 || !strings.HasPrefix(console[0], `"broken 2", source: `+srv.URL+"/loud") {
		t.Errorf("loud page: got DOM %q and console %q, want the page and its one message", dom, console)
	}
}
