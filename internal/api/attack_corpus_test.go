package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/config"
	"github.com/fraudguard/fraudguard/internal/security/block"
	"github.com/fraudguard/fraudguard/internal/security/detect"
	"github.com/fraudguard/fraudguard/internal/security/detect/corpus"
)

// The targets for the attack corpus's test half: the share of attacks refused over all
// positions, the least share of any class in any position, and no benign string refused in the
// query, path or header. The detector does not meet them yet (the README gives the figures);
// the test reports the distance to them and fails on any fall below the floors that follow.
const (
	corpusTargetOverall  = 0.99
	corpusTargetPerClass = 0.97
)

// The floors the test half is held to: the level last measured (the lowest position of each
// class), rounded down, so that a change that lets attacks through or refuses more benign
// strings fails. Raise them as the detector gets better; never lower them to let a change in.
var (
	corpusFloorOverall  = 0.91
	corpusFloorPerClass = map[string]float64{
		"cmdi": 0.86, "crlf": 1.00, "scanner": 0.97, "sqli": 0.84, "traversal": 0.98, "xss": 0.92,
	}
	// corpusMaxBenign is the most benign test-half strings refused per position.
	corpusMaxBenign = map[string]int{"query": 7, "path": 7, "header": 10}
)

// corpusPosition puts a corpus payload in one place of a request.
type corpusPosition struct {
	name string
	// request builds the request; ok is false when the payload cannot be sent in this place.
	request func(payload string) (r *http.Request, ok bool)
	// benignOK tells whether a benign payload's answer is the ordinary one for the position.
	benignOK func(status int, refused bool) bool
}

// corpusOutcome is what the server answered to one entry in one position.
type corpusOutcome struct {
	status  int
	refused bool
	skipped bool
}

// corpusPositions are the four places the acceptance sends each payload: a query value, a path
// segment of an unknown route (detection runs before routing, so an attack must be refused
// rather than answered 404), the User-Agent, and the transaction_id of a valid body.
func corpusPositions() []corpusPosition {
	body := txBody(firstRow, nil, "")
	post := func(target string, b []byte) *http.Request {
		r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
		return r
	}
	ok2xx := func(status int, refused bool) bool { return status < 400 }
	return []corpusPosition{
		{name: "query", request: func(p string) (*http.Request, bool) {
			return post("/predict?q="+url.QueryEscape(p), body), true
		}, benignOK: ok2xx},
		{name: "path", request: func(p string) (*http.Request, bool) {
			r := httptest.NewRequest(http.MethodGet, "/models/"+url.PathEscape(p), nil)
			r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0")
			return r, true
		}, benignOK: func(status int, refused bool) bool {
			// An unknown route: 404 is the ordinary answer (or a redirect, for a segment such as
			// "." that the router cleans), anything else in 4xx is a refusal of the input.
			return status == http.StatusNotFound || status < 400
		}},
		{name: "header", request: func(p string) (*http.Request, bool) {
			v := headerSafe(p)
			if v == "" {
				return nil, false
			}
			r := post("/predict", body)
			r.Header.Set("User-Agent", v)
			return r, true
		}, benignOK: ok2xx},
		{name: "json", request: func(p string) (*http.Request, bool) {
			return post("/predict", txBody(firstRow, map[string]any{"transaction_id": p}, "")), true
		}, benignOK: func(status int, refused bool) bool {
			// Strict validation may reject an unusual transaction_id with a 400; only a 403 (or
			// 422) says the input was taken for an attack.
			return status < 400 || status == http.StatusBadRequest
		}},
	}
}

// headerSafe is a payload as a client can send it in a header: control characters, which no
// HTTP/1.1 or HTTP/2 client will put in a header value, percent-encoded, and the optional white
// space around the value trimmed as servers trim it.
func headerSafe(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return strings.Trim(b.String(), " \t")
}

// mustCorpusServer is the server as `fraudguard serve` builds it with the default configuration
// (SECURITY_MODE=block, detection on, the default block policy), except that rate limiting is
// off so that thousands of requests measure the detector rather than the limiter.
func mustCorpusServer(t testing.TB) http.Handler {
	t.Helper()
	modelDir := t.TempDir()
	cfg, err := config.Load(nil, func(k string) string {
		if k == "MODEL_PATH" {
			return modelDir
		}
		return ""
	}, io.Discard)
	if err != nil {
		t.Fatalf("default config: %v", err)
	}
	if cfg.SecurityMode != "block" {
		t.Fatalf("default SECURITY_MODE is %q; this test measures block mode", cfg.SecurityMode)
	}
	g := Guard{
		Admin:      mustAdmin(t),
		Off:        GuardOff{RateLimit: true, Audit: true},
		Detector:   detect.New(detect.Options{}),
		DetectOnly: cfg.SecurityMode == "detect",
		ClientIP:   block.NewClientIPResolver(cfg.TrustedProxies),
		Blocker: block.New(time.Now, block.Options{
			Threshold: cfg.BlockThreshold, Window: cfg.BlockWindow, Duration: cfg.BlockDuration,
			Allow: cfg.IPAllowlist, Deny: cfg.IPBlocklist,
		}),
	}
	s, err := NewServer(slog.New(slog.DiscardHandler), Options{
		Version:           "corpus",
		MaxBodyBytes:      cfg.MaxBodyBytes,
		MaxBatchSize:      cfg.MaxBatchSize,
		MaxBatchBodyBytes: cfg.MaxBatchBodyBytes,
		AllowedHosts:      cfg.AllowedHosts,
	}, staticModels{mustModel(t)}, fixedSystem{}, g)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// isRefusal tells whether an answer refuses the request as the acceptance counts it: a 403, or
// a 400 or 422 that carries a JSON error_code.
func isRefusal(status int, body []byte) bool {
	switch status {
	case http.StatusForbidden:
		return true
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		var e struct {
			ErrorCode string `json:"error_code"`
		}
		return json.Unmarshal(body, &e) == nil && e.ErrorCode != ""
	}
	return false
}

// sendCorpus sends every entry in one position. Each request comes from its own address, so
// that strikes never add up to a block.
func sendCorpus(h http.Handler, pos corpusPosition, entries []corpus.Entry, addr *atomic.Uint32) []corpusOutcome {
	out := make([]corpusOutcome, len(entries))
	for i, e := range entries {
		if e.Kind == corpus.KindAttack && e.Class == "scanner" && pos.name != "header" {
			out[i].skipped = true // a scanner announces itself in the User-Agent only
			continue
		}
		r, ok := pos.request(e.Payload)
		if !ok {
			out[i].skipped = true
			continue
		}
		n := addr.Add(1)
		r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:40000", byte(n>>16), byte(n>>8), byte(n))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		out[i] = corpusOutcome{status: w.Code, refused: isRefusal(w.Code, w.Body.Bytes())}
	}
	return out
}

// corpusTally counts one cell of the report.
type corpusTally struct{ sent, hit, skipped int }

func (c corpusTally) rate() float64 {
	if c.sent == 0 {
		return 1
	}
	return float64(c.hit) / float64(c.sent)
}

// TestAttackCorpus sends every payload of the corpus (internal/security/detect/testdata/corpus) through
// the real server in the four positions of corpusPositions and holds the test half to the
// targets above. With -v it prints, per half, the share refused for each class and position,
// and the benign strings taken for attacks; for the dev half it also lists every miss with its
// class, position and source file. The test half is only counted, so that nobody tunes rules to
// its payloads.
func TestAttackCorpus(t *testing.T) {
	entries, err := corpus.Load(filepath.Join("..", "security", "detect", "testdata", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	h := mustCorpusServer(t)
	positions := corpusPositions()
	results := make([][]corpusOutcome, len(positions))
	var addr atomic.Uint32
	start := time.Now()
	t.Run("send", func(t *testing.T) {
		for i, pos := range positions {
			t.Run(pos.name, func(t *testing.T) {
				t.Parallel()
				results[i] = sendCorpus(h, pos, entries, &addr)
			})
		}
	})
	t.Logf("%d entries x %d positions sent in %v", len(entries), len(positions), time.Since(start).Round(time.Millisecond))

	type key struct{ half, class, pos string }
	attack := map[key]*corpusTally{}
	benign := map[key]*corpusTally{} // hit = false alarm
	cell := func(m map[key]*corpusTally, k key) *corpusTally {
		if m[k] == nil {
			m[k] = &corpusTally{}
		}
		return m[k]
	}
	var misses, alarms []string
	for pi, pos := range positions {
		for i, e := range entries {
			o := results[pi][i]
			m := attack
			if e.Kind == corpus.KindBenign {
				m = benign
			}
			c := cell(m, key{e.Half, e.Class, pos.name})
			if o.skipped {
				if !(e.Class == "scanner" && pos.name != "header") {
					c.skipped++
				}
				continue
			}
			c.sent++
			line := fmt.Sprintf("%-9s %-6s %3d %-45s %q", e.Class, pos.name, o.status, e.Source, e.Payload)
			switch {
			case e.Kind == corpus.KindAttack && o.refused:
				c.hit++
			case e.Kind == corpus.KindAttack && e.Half == corpus.HalfDev:
				misses = append(misses, line)
			case e.Kind == corpus.KindBenign && !pos.benignOK(o.status, o.refused):
				c.hit++
				if e.Half == corpus.HalfDev {
					alarms = append(alarms, line)
				}
			}
		}
	}

	classes := func(m map[key]*corpusTally) []string {
		seen := map[string]bool{}
		for k := range m {
			seen[k.class] = true
		}
		var out []string
		for c := range seen {
			out = append(out, c)
		}
		sort.Strings(out)
		return out
	}
	for _, half := range []string{corpus.HalfDev, corpus.HalfTest} {
		var b strings.Builder
		fmt.Fprintf(&b, "%s half: attacks refused (share of the requests sent)\n\n| class |", half)
		for _, p := range positions {
			fmt.Fprintf(&b, " %s |", p.name)
		}
		fmt.Fprintf(&b, "\n| --- |%s\n", strings.Repeat(" ---: |", len(positions)))
		var total corpusTally
		skipped := 0
		for _, class := range classes(attack) {
			fmt.Fprintf(&b, "| %s |", class)
			for _, p := range positions {
				c := attack[key{half, class, p.name}]
				if c == nil || c.sent == 0 {
					b.WriteString(" - |")
					continue
				}
				total.sent += c.sent
				total.hit += c.hit
				skipped += c.skipped
				fmt.Fprintf(&b, " %.1f%% of %d |", 100*c.rate(), c.sent)
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "| all | %.2f%% of %d requests |%s\n", 100*total.rate(), total.sent, strings.Repeat(" |", len(positions)-1))
		if skipped > 0 {
			fmt.Fprintf(&b, "\n%d attack rows were not sent in a position (empty once trimmed for a header)\n", skipped)
		}
		fmt.Fprintf(&b, "\n%s half: benign strings refused (false alarms; a 400 in json is validation, not one)\n\n| kind |", half)
		for _, p := range positions {
			fmt.Fprintf(&b, " %s |", p.name)
		}
		fmt.Fprintf(&b, "\n| --- |%s\n", strings.Repeat(" ---: |", len(positions)))
		for _, class := range classes(benign) {
			fmt.Fprintf(&b, "| %s |", class)
			for _, p := range positions {
				c := benign[key{half, class, p.name}]
				if c == nil {
					b.WriteString(" - |")
					continue
				}
				fmt.Fprintf(&b, " %d of %d |", c.hit, c.sent)
			}
			b.WriteString("\n")
		}
		t.Log("\n" + b.String())
	}
	if testing.Verbose() {
		t.Logf("dev half: %d attack misses (class, position, status, source, payload):\n%s", len(misses), strings.Join(misses, "\n"))
		t.Logf("dev half: %d benign false alarms:\n%s", len(alarms), strings.Join(alarms, "\n"))
	}

	// The floors, and the distance to the targets, on the test half only.
	var total corpusTally
	var short []string
	for k, c := range attack {
		if k.half != corpus.HalfTest || c.sent == 0 {
			continue
		}
		total.sent += c.sent
		total.hit += c.hit
		r := c.rate()
		if floor, ok := corpusFloorPerClass[k.class]; !ok || r < floor {
			t.Errorf("test half: %s in the %s refused %.1f%% of %d, want at least the floor %.0f%%", k.class, k.pos, 100*r, c.sent, 100*floor)
		}
		if r < corpusTargetPerClass {
			short = append(short, fmt.Sprintf("%s in the %s: %.1f%%", k.class, k.pos, 100*r))
		}
	}
	if r := total.rate(); r < corpusFloorOverall {
		t.Errorf("test half: %.2f%% of %d attack requests refused, want at least the floor %.0f%%", 100*r, total.sent, 100*corpusFloorOverall)
	} else if r < corpusTargetOverall {
		short = append(short, fmt.Sprintf("all: %.2f%%", 100*r))
	}
	refused := map[string]int{}
	for k, c := range benign {
		if k.half == corpus.HalfTest && k.pos != "json" {
			refused[k.pos] += c.hit
		}
	}
	for pos, n := range refused {
		if n > corpusMaxBenign[pos] {
			t.Errorf("test half: %d benign strings refused in the %s, want at most %d", n, pos, corpusMaxBenign[pos])
		}
		if n > 0 {
			short = append(short, fmt.Sprintf("%d benign refused in the %s", n, pos))
		}
	}
	if len(short) > 0 {
		slices.Sort(short)
		t.Logf("test half, short of the targets (%.0f%% overall, %.0f%% per class and position, no benign refused): %s",
			100*corpusTargetOverall, 100*corpusTargetPerClass, strings.Join(short, "; "))
	}
}
