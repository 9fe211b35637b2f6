package detect

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkFinding fails t unless f is well formed: a known rule, and a location and evidence that
// are short, valid UTF-8 and free of control characters.
func checkFinding(t testing.TB, f Finding) {
	t.Helper()
	switch f.Rule {
	case RuleSQLi, RuleXSS, RuleTraversal, RuleCmdi, RuleCRLF, RuleScanner, RuleHeaderFlood, RuleHeaderSize:
	default:
		t.Fatalf("finding %+v: got rule %q, want a known rule", f, f.Rule)
	}
	for _, s := range []string{f.Location, f.Evidence} {
		if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("finding %+v: got %q, want valid UTF-8 without control characters", f, s)
		}
	}
	if f.Location == "" || len(f.Evidence) > maxEvidence+len(RuleScanner)+24 {
		t.Fatalf("finding %+v: got location %q and %d bytes of evidence, want a location and short evidence", f, f.Location, len(f.Evidence))
	}
}

func FuzzInspectString(f *testing.F) {
	for _, s := range []string{
		"txn_8f2k4m9q1z7x3c5v",
		"O'Brien & Sons",
		"1' OR '1'='1",
		"<svg/onload=alert(1)>",
		"%%32%65%%32%65%%32%66",
		"..\xc0\xaf..\xc0\xafetc",
		"&#x6A&#x61&#x76&#x61<",
		"UNION/**/ALL/**/SELECT",
		" or x=x",
	} {
		f.Add(s)
	}
	d := New(Options{})
	f.Fuzz(func(t *testing.T, s string) {
		f1, ok1 := d.InspectString("json:note", s)
		f2, ok2 := d.InspectString("json:note", s)
		if ok1 != ok2 || f1 != f2 {
			t.Fatalf("InspectString(%q) twice: got %+v, %v then %+v, %v; want the same", s, f1, ok1, f2, ok2)
		}
		if ok1 {
			checkFinding(t, f1)
		}
		if isPlain(s) && f1.Rule != plainRule(s) {
			t.Fatalf("InspectString(%q): got %+v for a plain string, want rule %q", s, f1, plainRule(s))
		}
	})
}

func FuzzInspectRequest(f *testing.F) {
	f.Add("/predict", "", "Mozilla/5.0 (X11; Linux x86_64)", "", "")
	f.Add("/predict/../x", "a=1&b=%27", "sqlmap/1.7", "https://x.example/?q=%3Cb%3E", "sid=1; p=%2e%2e")
	f.Add("/p%2F..%2F", "%%32%65=1&&=&x", "", "' or 1=1--", "\x00")
	f.Fuzz(func(t *testing.T, path, query, ua, referer, cookie string) {
		build := func() *http.Request {
			u := &url.URL{Path: path, RawQuery: query}
			if p, err := url.PathUnescape(path); err == nil {
				u.Path, u.RawPath = p, path
			}
			h := http.Header{}
			for name, v := range map[string]string{"User-Agent": ua, "Referer": referer, "Cookie": cookie, "X-Forwarded-For": referer, "X-Foo": cookie} {
				if v != "" {
					h[name] = []string{v}
				}
			}
			return &http.Request{Method: http.MethodPost, URL: u, Header: h}
		}
		cached := New(Options{CacheSize: 64})
		uncached := New(Options{CacheSize: -1})
		f1, ok1 := cached.InspectRequest(build())
		f2, ok2 := cached.InspectRequest(build()) // now from the cache, where clean
		f3, ok3 := uncached.InspectRequest(build())
		if ok1 != ok2 || ok1 != ok3 || f1 != f2 || f1 != f3 {
			t.Fatalf("got %+v, %v then (cached) %+v, %v and (uncached) %+v, %v; want the same", f1, ok1, f2, ok2, f3, ok3)
		}
		if ok1 {
			checkFinding(t, f1)
		}
	})
}
