package detect

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestInspectRequest(t *testing.T) {
	for _, tc := range []struct {
		name     string
		target   string
		headers  map[string]string
		rule     string // "" for no finding
		location string
	}{
		{name: "plain predict", target: "/predict"},
		{name: "benign query", target: "/predict?explain=true&threshold=0.5&note=O%27Brien+%26+Sons"},
		{name: "sqli in query value", target: "/predict?id=1%27%20OR%20%271%27%3D%271", rule: RuleSQLi, location: "query:id"},
		{name: "sqli in query name", target: "/predict?1%27%20OR%201%3D1--=x", rule: RuleSQLi, location: "query:1' OR 1=1--"},
		{name: "raw semicolon kept in query", target: "/predict?id=1;waitfor%20delay%20'0:0:5'--", rule: RuleSQLi, location: "query:id"},
		{name: "xss in path", target: "/predict/%3Cscript%3Ealert(1)%3C%2Fscript%3E", rule: RuleXSS, location: "path"},
		{name: "traversal in path", target: "/predict/..%2F..%2Fetc%2Fpasswd", rule: RuleTraversal, location: "path"},
		{name: "double-encoded traversal in query", target: "/predict?file=%252e%252e%252fetc%252fpasswd", rule: RuleTraversal, location: "query:file"},
		{name: "overlong utf-8 traversal", target: "/predict?f=%c0%ae%c0%ae/etc/passwd", rule: RuleTraversal, location: "query:f"},
		{name: "null byte", target: "/predict?f=report.pdf%00.html", rule: RuleTraversal, location: "query:f"},
		{name: "dots in ordinary text", target: "/predict?note=wait...%20what%3F"},
		{
			name:     "scanner user agent",
			target:   "/predict",
			headers:  map[string]string{"User-Agent": "sqlmap/1.7.2#stable (https://sqlmap.org)"},
			rule:     RuleScanner,
			location: "header:User-Agent",
		},
		{
			name:     "scanner user agent in upper case",
			target:   "/predict",
			headers:  map[string]string{"User-Agent": "MOZILLA/5.0 (COMPATIBLE; NMAP SCRIPTING ENGINE)"},
			rule:     RuleScanner,
			location: "header:User-Agent",
		},
		{
			name:    "scanner name inside another word",
			target:  "/predict",
			headers: map[string]string{"User-Agent": "Mastodon/4.2 (+https://veganism.social/; nmapper-bot/1.0)"},
		},
		{
			name:     "xss in referer query",
			target:   "/predict",
			headers:  map[string]string{"Referer": "https://shop.example.com/search?q=%3Csvg%2Fonload%3Dalert(1)%3E"},
			rule:     RuleXSS,
			location: "header:Referer",
		},
		{
			name:    "benign referer with quotes",
			target:  "/predict",
			headers: map[string]string{"Referer": "https://www.example.org/search?q=O'Brien+%26+Sons&page=2"},
		},
		{
			name:     "sqli in a cookie value",
			target:   "/predict",
			headers:  map[string]string{"Cookie": "sid=abc123; pref=1%27+or+%271%27%3D%271"},
			rule:     RuleSQLi,
			location: "header:Cookie",
		},
		{
			name:     "sqli in x-forwarded-for",
			target:   "/predict",
			headers:  map[string]string{"X-Forwarded-For": "203.0.113.9, ' OR 1=1--"},
			rule:     RuleSQLi,
			location: "header:X-Forwarded-For",
		},
		{
			name:     "xss in custom header",
			target:   "/predict",
			headers:  map[string]string{"X-Merchant-Name": "<img src=x onerror=alert(1)>"},
			rule:     RuleXSS,
			location: "header:X-Merchant-Name",
		},
		{
			name:    "api key is not scanned",
			target:  "/predict",
			headers: map[string]string{"X-Api-Key": "' OR 1=1--"},
		},
		{
			name:    "trace header of plain tokens",
			target:  "/predict",
			headers: map[string]string{"X-Amzn-Trace-Id": "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"},
		},
		{
			name:    "other headers are not scanned",
			target:  "/predict",
			headers: map[string]string{"Accept": "<script>alert(1)</script>"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(Options{})
			r := newBrowserRequest(tc.target)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			f, ok := d.InspectRequest(r)
			if tc.rule == "" {
				if ok {
					t.Fatalf("got %+v, want no finding", f)
				}
				return
			}
			if !ok || f.Rule != tc.rule || f.Location != tc.location {
				t.Fatalf("got %+v, %v; want rule %s at %s", f, ok, tc.rule, tc.location)
			}
		})
	}
}

func TestInspectRequestHeaderLimits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     Options
		extra    int // X-Extra-N headers added
		bigName  string
		bigLen   int
		rule     string
		location string
	}{
		{name: "within limits", extra: 90},
		{name: "flood at the default limit", extra: 97, rule: RuleHeaderFlood, location: "header"},
		{name: "flood at a set limit", opts: Options{MaxHeaders: 10}, extra: 7, rule: RuleHeaderFlood, location: "header"},
		{name: "value at the default size", bigName: "X-Blob", bigLen: 8 << 10},
		{name: "oversized value", bigName: "X-Blob", bigLen: 8<<10 + 1, rule: RuleHeaderSize, location: "header:X-Blob"},
		{name: "oversized secret", bigName: "X-Api-Key", bigLen: 9000, rule: RuleHeaderSize, location: "header:X-Api-Key"},
		{name: "size at a set limit", opts: Options{MaxHeaderBytes: 200}, bigName: "Cookie", bigLen: 201, rule: RuleHeaderSize, location: "header:Cookie"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(tc.opts)
			r := newBrowserRequest("/predict")
			for i := range tc.extra {
				r.Header.Set("X-Extra-"+strconv.Itoa(i), "v")
			}
			if tc.bigName != "" {
				r.Header.Set(tc.bigName, strings.Repeat("a", tc.bigLen))
			}
			f, ok := d.InspectRequest(r)
			if tc.rule == "" {
				if ok {
					t.Fatalf("got %+v, want no finding", f)
				}
				return
			}
			if !ok || f.Rule != tc.rule || f.Location != tc.location {
				t.Fatalf("got %+v, %v; want rule %s at %s", f, ok, tc.rule, tc.location)
			}
			if strings.Contains(f.Evidence, "aaaa") {
				t.Errorf("evidence %q quotes the header value, want only its size", f.Evidence)
			}
		})
	}
}

func TestInspectString(t *testing.T) {
	d := New(Options{})
	for _, tc := range []struct {
		value string
		rule  string
	}{
		{"txn_8f2k4m9q1z7x3c5v", ""},
		{"2024-06-11T10:30:00.123Z", ""},
		{"3f1c9a7e-2b4d-4e8f-a6c1-9d0b2e7f5a13", ""},
		{"O'Brien & Sons", ""},
		{"Ben & Jerry's", ""},
		{"Côte d'Ivoire", ""},
		{"it's 50% off", ""},
		{"SELECT Comfort mattress", ""},
		{"Select 7 items from the vegan range", ""},
		{"Save 50% -- today only!", ""},
		{"Union Select Committee", ""},
		{"order by 5", ""},
		{"and 10% tip", ""},
		{"Gift for Mum <3", ""},
		{"...", ""},
		{"1' OR '1'='1", RuleSQLi},
		{" OR x=x", RuleSQLi},
		{"1 UNION SELECT", RuleSQLi},
		{"'; exec master..xp_cmdshell 'dir'--", RuleSQLi},
		{"1 --", RuleSQLi},
		{"<script>alert(1)</script>", RuleXSS},
		{"<IMG SRC=\"jav\tascript:alert('XSS');\">", RuleXSS},
		{"%3Cscript%3Ealert(1)%3C%2Fscript%3E", RuleXSS},
		{"../../etc/passwd", RuleTraversal},
		{"..", ""}, // made only of the plain characters: passed without inspection
		{"..\\..\\windows\\win.ini", RuleTraversal},
		{"%%32%65%%32%65%%32%66etc", RuleTraversal},
		{"id\x00", RuleTraversal},
	} {
		f, ok := d.InspectString("json:note", tc.value)
		if got := map[bool]string{true: f.Rule}[ok]; got != tc.rule {
			t.Errorf("InspectString(%q): got rule %q (%+v), want %q", tc.value, got, f, tc.rule)
		}
		if ok && f.Location != "json:note" {
			t.Errorf("InspectString(%q): got location %q, want json:note", tc.value, f.Location)
		}
	}
}

func TestFindingEvidenceIsSafe(t *testing.T) {
	d := New(Options{})
	for _, v := range []string{
		strings.Repeat("A", 500) + "' OR '1'='1",
		"<script>\nalert(1)\r\n</script>\x1b[31m",
		"\xff\xfe<script>alert(1)</script>",
		"ü<script>alert('" + strings.Repeat("é", 80) + "')</script>",
	} {
		f, ok := d.InspectString("json:note", v)
		if !ok {
			t.Fatalf("InspectString(%q): got no finding, want one", v)
		}
		if len(f.Evidence) > maxEvidence+3 {
			t.Errorf("evidence %q: got %d bytes, want at most %d", f.Evidence, len(f.Evidence), maxEvidence+3)
		}
		if !utf8.ValidString(f.Evidence) {
			t.Errorf("evidence %q: got invalid UTF-8, want valid", f.Evidence)
		}
		if strings.ContainsFunc(f.Evidence, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Errorf("evidence %q: got control characters, want none", f.Evidence)
		}
	}
}

func TestCleanCacheNeverHidesAnAttack(t *testing.T) {
	// A one-slot cache: every value collides with the last clean one.
	d := New(Options{CacheSize: 1})
	clean := "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"
	for i := range 3 {
		r := newBrowserRequest("/predict")
		r.Header.Set("User-Agent", clean)
		if f, ok := d.InspectRequest(r); ok {
			t.Fatalf("round %d, clean agent: got %+v, want no finding", i, f)
		}
		r.Header.Set("User-Agent", "<script>alert(1)</script>")
		if f, ok := d.InspectRequest(r); !ok || f.Rule != RuleXSS {
			t.Fatalf("round %d, attack after a cached clean agent: got %+v, %v; want an xss finding", i, f, ok)
		}
	}
	// The same value under another header is inspected on its own terms.
	r := newBrowserRequest("/predict")
	r.Header.Set("X-Client", "nikto")
	if _, ok := d.InspectRequest(r); ok {
		t.Fatal("scanner name in X-Client: got a finding, want none (only User-Agent names scanners)")
	}
	r = newBrowserRequest("/predict")
	r.Header.Set("User-Agent", "nikto")
	if f, ok := d.InspectRequest(r); !ok || f.Rule != RuleScanner {
		t.Fatalf("scanner name in User-Agent after the same value was clean elsewhere: got %+v, %v; want a scanner finding", f, ok)
	}
}

func TestInspectRequestConcurrent(t *testing.T) {
	d := New(Options{CacheSize: 8})
	done := make(chan struct{})
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			g := newBenignGen(uint64(w))
			for range 300 {
				r := g.request()
				if f, ok := d.InspectRequest(r); ok {
					t.Errorf("benign request: got %+v, want no finding", f)
					return
				}
				r.Header.Set("X-Probe", "' UNION SELECT password FROM users--")
				if _, ok := d.InspectRequest(r); !ok {
					t.Error("attack request: got no finding, want one")
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}

func TestHasTraversal(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"../a", true},
		{"a/../b", true},
		{"a\\..\\b", true},
		{"....//etc", true},
		{"/.../.../", true},
		{"a/..", true},
		{"a/..;/b", true},
		{"..", true},
		{"\xc0\xae\xc0\xae/x", true},
		{"..\xc0\xafx", true},
		{"\xef\xbc\x8e\xef\xbc\x8e/x", true}, // full-width dots: valid UTF-8, so no U+FFFD to find
		{"\xe0\x80\xae\xe0\x80\xae\xe2\x88\x95x", true},
		{"x\x00", true},
		{"...", false},
		{"wait.../ok", false},
		{"v1.2..3", false},
		{"Hmm ..", false},
		{"a..b/c", false},
		{"/predict/batch", false},
	} {
		if got := hasTraversal(tc.s); got != tc.want {
			t.Errorf("hasTraversal(%q): got %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestUnescapeLenient(t *testing.T) {
	for _, tc := range []struct {
		s, want string
		plus    bool
	}{
		{s: "a%20b", want: "a b"},
		{s: "a+b", want: "a+b"},
		{s: "a+b", want: "a b", plus: true},
		{s: "%%32%65", want: "%2e"},
		{s: "100%", want: "100%"},
		{s: "%zz%4", want: "%zz%4"},
		{s: "%C3%A9", want: "é"},
	} {
		if got, _ := unescapeLenient(tc.s, tc.plus); got != tc.want {
			t.Errorf("unescapeLenient(%q, %v): got %q, want %q", tc.s, tc.plus, got, tc.want)
		}
	}
}

func TestNewDetectorSkipHeaders(t *testing.T) {
	d := New(Options{SkipHeaders: []string{"x-signature"}})
	r := newBrowserRequest("/predict")
	r.Header.Set("X-Signature", "t=1,v1=' OR 1=1--")
	if f, ok := d.InspectRequest(r); ok {
		t.Fatalf("skipped header: got %+v, want no finding", f)
	}
	r.Header = http.Header{"X-Other": {"' OR 1=1--"}}
	if _, ok := d.InspectRequest(r); !ok {
		t.Fatal("header not skipped: got no finding, want one")
	}
}
