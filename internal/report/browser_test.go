package report

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/fraudguard/fraudguard/internal/browsertest"
)

// checkPage loads the report in a frame of the same origin and measures, once it has loaded,
// every plot as the browser laid it out: the SVG's box, and each data shape's (data-series)
// box, whether it lies inside the SVG's view box, and a polyline's points. The page under
// test has no script of its own; this one only reads it.
const checkPage = `<!DOCTYPE html>
<html><head><link rel="icon" href="data:,"></head><body>
<pre id="out">pending</pre>
<iframe id="report" src="/report.html" width="1100" height="900"></iframe>
<script>
document.getElementById("report").addEventListener("load", function () {
  var doc = this.contentDocument, result = {};
  doc.querySelectorAll("svg[data-plot]").forEach(function (svg) {
    var box = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
    var p = {width: box.width, height: box.height, shapes: 0, drawn: 0, inside: 0, points: 0};
    svg.querySelectorAll("[data-series]").forEach(function (el) {
      p.shapes++;
      var b = el.getBBox(), style = doc.defaultView.getComputedStyle(el);
      if ((b.width > 0 || b.height > 0) && style.display !== "none" && style.visibility !== "hidden" &&
          (style.fill !== "none" || style.stroke !== "none")) {
        p.drawn++;
      }
      if (b.x >= -1 && b.y >= -1 && b.x + b.width <= vb.width + 1 && b.y + b.height <= vb.height + 1) {
        p.inside++;
      }
      if (el.points) {
        p.points = Math.max(p.points, el.points.numberOfItems);
      }
    });
    result[svg.dataset.plot] = p;
  });
  document.getElementById("out").textContent = JSON.stringify(result);
});
</script>
</body></html>`

// plotLayout is what checkPage measured of one plot.
type plotLayout struct {
	Width, Height                 float64
	Shapes, Drawn, Inside, Points int
}

// TestReportRendersInBrowser opens a report of the shipped model in headless Chromium, which
// reaches loopback only (see browsertest), and checks that every plot was laid out with shapes
// drawn inside it, that nothing was written to the console (no policy violation, no failed
// load, no malformed SVG attribute) and that the page asked the server for nothing.
func TestReportRendersInBrowser(t *testing.T) {
	browsertest.Require(t)
	r, _, _ := mustBuild(t, Options{ImportanceRows: 500})
	var page bytes.Buffer
	if err := Render(&page, r); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var requests []string
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		requests = append(requests, req.Method+" "+req.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch req.URL.Path {
		case "/check.html":
			w.Write([]byte(checkPage))
		case "/report.html":
			w.Write(page.Bytes())
		default:
			http.NotFound(w, req)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	dom, console := browsertest.DumpDOMConsole(t, srv.URL+"/check.html")
	if len(console) > 0 {
		t.Errorf("got console messages %q, want none", console)
	}
	mu.Lock()
	got := slices.Clone(requests)
	mu.Unlock()
	if want := []string{"GET /check.html", "GET /report.html"}; !slices.Equal(got, want) {
		t.Errorf("got requests %q, want only %q", got, want)
	}

	m := regexp.MustCompile(`<pre id="out">([^<]*)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no measurements in the DOM:\n%s", dom)
	}
	var plots map[string]plotLayout
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &plots); err != nil {
		t.Fatalf("measurements %q: %v", m[1], err)
	}
	// The least each plot must draw: curves of many points and the threshold's dot, a bar
	// per feature, a bar per class and bin where the sample has scores, a dot per bin.
	tests := []struct {
		plot              string
		minShapes, points int
	}{
		{"roc", 2, 10},
		{"pr", 2, 10},
		{"distribution", 20, 0},
		{"calibration", 6, 6},
		{"importance", 30, 0},
	}
	for _, tc := range tests {
		p, ok := plots[tc.plot]
		if !ok {
			t.Errorf("plot %s: not in the page (measured %v)", tc.plot, plots)
			continue
		}
		if p.Width < 200 || p.Height < 200 {
			t.Errorf("plot %s: laid out %vx%v px, want at least 200x200", tc.plot, p.Width, p.Height)
		}
		if p.Shapes < tc.minShapes || p.Drawn != p.Shapes || p.Inside != p.Shapes || p.Points < tc.points {
			t.Errorf("plot %s: got %d data shapes, %d drawn, %d inside the plot, longest line %d points; want at least %d shapes, all drawn inside, a line of %d points",
				tc.plot, p.Shapes, p.Drawn, p.Inside, p.Points, tc.minShapes, tc.points)
		}
	}
	if len(plots) != len(tests) {
		t.Errorf("got plots %v, want exactly %d", plots, len(tests))
	}

	// FRAUDGUARD_REPORT_SCREENSHOT=dir saves a picture of the page to look at.
	if dir := os.Getenv("FRAUDGUARD_REPORT_SCREENSHOT"); dir != "" {
		browsertest.Screenshot(t, srv.URL+"/report.html", filepath.Join(dir, "report.png"))
	}
}
