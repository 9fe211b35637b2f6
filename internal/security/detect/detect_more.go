package detect

import "strings"

// hasHeaderInjection reports a line break (CR or LF, or one written as \r or \n) followed by
// a header field: "%0d%0aSet-Cookie: ...", "\nLocation: ...". decoded tells that s is a
// decoded or folded form of what was sent, where any line break is an injection, so that any
// known header name counts; in a value as sent, which may be multi-line text, only names no
// prose uses do (a hyphenated header name, Set-Cookie and the like).
func hasHeaderInjection(s string, decoded bool) bool {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\r' || s[i] == '\n':
			i++
		case s[i] == '\\' && i+1 < len(s) && (s[i+1] == 'r' || s[i+1] == 'n'):
			i += 2
		default:
			continue
		}
		for i < len(s) {
			if s[i] == '\r' || s[i] == '\n' || s[i] == ' ' || s[i] == '\t' {
				i++
			} else if s[i] == '\\' && i+1 < len(s) && (s[i+1] == 'r' || s[i+1] == 'n') {
				i += 2
			} else {
				break
			}
		}
		j := i
		for j < len(s) && (isAlnumByte(s[j]) || s[j] == '-' || s[j] == '_') {
			j++
		}
		k := j
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		if j > i && isSMTPCommand(s[i:], decoded) {
			return true
		}
		if j == i || k == len(s) || s[k] != ':' {
			i--
			continue
		}
		if isHeaderName(s[i:j], decoded) {
			return true
		}
		i--
	}
	return false
}

// isHeaderName reports whether name is an HTTP header an injection would set: one no sentence
// starts a line with (Set-Cookie, Content-Type, X-*), and when any is set, also the well-known
// one-word ones (Location, Host ...) and any hyphenated name.
func isHeaderName(name string, any bool) bool {
	var buf [32]byte
	if len(name) > len(buf) {
		return false
	}
	n := buf[:len(name)]
	for i := range n {
		n[i] = lowerByte(name[i])
	}
	switch string(n) {
	case "set-cookie", "set-cookie2", "content-length", "content-type", "transfer-encoding",
		"x-xss-protection", "content-security-policy", "access-control-allow-origin",
		"access-control-allow-credentials", "content-disposition", "x-forwarded-for",
		"x-forwarded-host", "x-original-url", "x-rewrite-url", "x-frame-options", "user-agent",
		"strict-transport-security", "cache-control", "www-authenticate", "x-content-type-options":
		return true
	case "location", "refresh", "host", "cookie", "link", "referer", "authorization", "server",
		"connection", "upgrade", "vary", "expires", "pragma", "etag", "origin", "via", "status":
		return any
	}
	if strings.HasPrefix(string(n), "x-") || strings.HasPrefix(string(n), "content-") ||
		strings.HasPrefix(string(n), "access-control-") || strings.HasPrefix(string(n), "set-") {
		return true
	}
	// Any other hyphenated name (Remote-Addr, Proxy-Authorization) when the break was encoded.
	return any && strings.IndexByte(string(n), '-') > 0 && isLetterByte(n[0])
}

// isSMTPCommand reports an SMTP command at the start of a line that an injection into a mail
// header adds: "MAIL FROM:", "RCPT TO:", and, when the line break was encoded, "EHLO", "HELO",
// "DATA" and "QUIT" on their own.
func isSMTPCommand(line string, decoded bool) bool {
	if hasPrefixFold(line, "mail from:") || hasPrefixFold(line, "rcpt to:") {
		return true
	}
	if !decoded {
		return false
	}
	for _, v := range [...]string{"ehlo ", "helo ", "data\r", "data\n", "quit\r", "quit\n"} {
		if hasPrefixFold(line, v) {
			return true
		}
	}
	return isMailCommand(line)
}

// isMailCommandValue reports a value that is itself an SMTP or IMAP command, as an injection
// into a mail client's request sends it: "MAIL FROM:<a@example.net>", "RCPT TO:<b@example.net>",
// "A1 SELECT INBOX". The IMAP command must be in capitals after its tag ("Q3 status report"
// is a note); POP3's USER, PASS and TOP are words, not counted on their own.
func isMailCommandValue(s string) bool {
	t := strings.TrimLeft(s, " \t")
	if hasPrefixFold(t, "mail from:") || hasPrefixFold(t, "rcpt to:") {
		rest := strings.TrimLeft(t[strings.IndexByte(t, ':')+1:], " \t")
		return rest != "" && (rest[0] == '<' || strings.IndexByte(rest, '@') > 0)
	}
	w := imapCommandAt(t)
	return len(w) >= 3 && isUpperWord(w)
}

// pop3Commands are the POP3 commands that take an argument, as an injected line sends them.
var pop3Commands = [...]string{"USER ", "PASS ", "RETR ", "DELE ", "TOP ", "APOP ", "UIDL "}

// imapCommands are IMAP commands, which follow a tag ("A1 LOGIN user pass").
var imapCommands = [...]string{
	"login", "select", "examine", "fetch", "store", "list", "lsub", "capability", "authenticate",
	"append", "delete", "rename", "copy", "uid", "logout", "status", "create", "subscribe", "search",
	"expunge", "noop",
}

// isMailCommand reports a POP3 command with its argument, in capitals as the protocol writes
// it, or a tagged IMAP command, opening an injected line: "USER admin", "RETR 1",
// "A1 LOGIN user pass", "a001 FETCH 1 BODY[]". The tag is a letter and digits; "I select 3"
// is no tag, and "User guide" no command.
func isMailCommand(line string) bool {
	for _, c := range pop3Commands {
		if strings.HasPrefix(line, c) && len(line) > len(c) && line[len(c)] != ' ' {
			return true
		}
	}
	return imapCommandAt(line) != ""
}

// imapCommandAt returns the IMAP command that follows a tag at the start of line ("A1 LOGIN
// user pass": "LOGIN"), as written, or "".
func imapCommandAt(line string) string {
	j := 0
	for j < len(line) && isAlnumByte(line[j]) {
		j++
	}
	if j < 2 || j > 8 || j >= len(line) || line[j] != ' ' || !isLetterByte(line[0]) || !isDigitByte(line[j-1]) {
		return ""
	}
	w := sqlIdentAt(line, j+1)
	for _, c := range imapCommands {
		if strings.EqualFold(w, c) {
			return w
		}
	}
	return ""
}

// fileTargets are the files and directories that traversal and file-inclusion attacks read,
// lower case with '/' for either slash. A match needs a boundary before it (the start, a
// slash or punctuation), so "pets/etc" or "myetc/passwd" do not count.
var fileTargets = [...]string{
	"etc/passwd", "etc/shadow", "etc/group", "etc/hosts", "etc/issue", "etc/motd",
	"etc/hostname", "etc/crontab", "etc/sudoers", "etc/fstab", "etc/resolv.conf",
	"etc/master.passwd", "etc/subuid", "etc/subgid", "etc/gshadow", "etc/security", "etc/inittab", "etc/os-release", "etc/lsb-release",
	"etc/redhat-release", "etc/httpd/", "etc/apache", "etc/nginx/", "etc/mysql/", "etc/php",
	"etc/ssh/", "etc/security/", "etc/profile", "etc/environment", "etc/init.d/",
	"etc/network/", "etc/sysconfig/", "etc/pam.d/", "etc/x11/", "etc/mail/", "etc/ftp",
	"proc/self/", "proc/version", "proc/cpuinfo", "proc/meminfo", "proc/mounts",
	"proc/net/", "proc/sched_debug", "proc/1/", "proc/cmdline", "proc/partitions", "proc/sys/",
	"proc/*/", "sys/class", "sys/kernel", "sys/devices", "sys/firmware", "sys/module",
	"var/log/", "var/www/", "var/mail/", "var/spool/", "var/lib/mysql", "usr/local/apache",
	"root/.", "home/*/.", ".bash_history", ".bash_profile", ".bashrc", ".ssh/", "id_rsa",
	"id_dsa", "authorized_keys", ".htaccess", ".htpasswd", "web-inf/", "meta-inf/",
	"wp-config.php", ".git/", ".svn/", ".env", "boot.ini", "win.ini", "system.ini",
	"windows/system32", "windows/win", "windows/repair", "windows/panther", "winnt/",
	"system32/", "inetpub/", "autoexec.bat", "php.ini", "my.cnf", "my.ini", "httpd.conf",
	"apache2.conf", "nginx.conf", "config.inc.php", "localsettings.php", "configuration.php",
	"web.config", "applicationhost.config", "dev/tcp/", "dev/udp/", "access.log", "access_log", "pearcmd",
	"error.log", "error_log", "apache/logs/", "apache2/logs/", "httpd/logs/", "nginx/logs/",
	"boot/grub/", "ntuser.dat", "systemversion.plist", "program files/", ".aws/credentials",
	".kube/config", ".docker/config.json", ".git-credentials", ".npmrc", "tomcat-users.xml",
	"server.xml", "web.xml", "php-fpm.conf", "sam.log", "repair/sam", "config/sam",
}

// fileIndex holds fileTargets and fileSchemes by their first byte, so that hasFileTarget tries
// at each position only the few that can match there. It is built once and only read.
var fileIndex = func() (ix struct{ targets, schemes [256][]string }) {
	for _, t := range fileTargets {
		ix.targets[t[0]] = append(ix.targets[t[0]], t)
	}
	for _, sc := range fileSchemes {
		ix.schemes[sc[0]] = append(ix.schemes[sc[0]], sc)
	}
	return ix
}()

// fileSchemes are the stream wrappers and URL schemes of file inclusion.
var fileSchemes = [...]string{
	"php://", "file://", "file:/", "expect://", "phar://", "zip://", "glob://", "zlib://",
	"compress.zlib://", "compress.bzip2://", "ogg://", "rar://", "ssh2.", "data://",
	"jar:file:", "jar:http", "gopher://", "dict://", "tftp://", "netdoc:/",
}

// hasFileTarget reports a path to a well-known system or configuration file, by absolute path
// as much as after a traversal (/etc/passwd, C:\Windows\win.ini, WEB-INF/web.xml), or a
// file-inclusion wrapper (php://filter, file://, expect://, data:text/html;base64,...).
func hasFileTarget(s string) bool {
	if len(s) < 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := lowerByte(s[i])
		if i > 0 && isAlnumByte(s[i-1]) && c != '.' {
			continue // not at a boundary
		}
		if c == '?' || c == '*' {
			for _, t := range fileTargets {
				if t[0] != '.' && matchPathFold(s[i:], t) {
					return true
				}
			}
			continue
		}
		for _, t := range fileIndex.targets[c] {
			if matchPathFold(s[i:], t) {
				return true
			}
		}
		for _, sc := range fileIndex.schemes[c] {
			if hasPrefixFold(s[i:], sc) {
				return true
			}
		}
		if c == 'd' && hasPrefixFold(s[i:], "data:") && isDataURI(s[i+5:]) {
			return true
		}
	}
	return false
}

// matchPathFold reports whether s starts with the pattern t, ignoring ASCII case, with '/' in
// t matching either slash (one or more) and '*' one path segment. A pattern that ends in a
// letter must end at a boundary ("etc/group" is not "etc/groups"... but "etc/passwd~" is).
func matchPathFold(s, t string) bool {
	i, literal, globs := 0, 0, 0
	for k := 0; k < len(t); k++ {
		switch tc := t[k]; tc {
		case '/':
			if i >= len(s) || (s[i] != '/' && s[i] != '\\') {
				return false
			}
			for i < len(s) && (s[i] == '/' || s[i] == '\\') {
				i++
			}
		case '*':
			for i < len(s) && s[i] != '/' && s[i] != '\\' {
				i++
			}
		default:
			switch {
			case i < len(s) && s[i] == '*':
				// A glob in the input (/et*/passwd) stands for the rest of the segment.
				for k+1 < len(t) && t[k+1] != '/' {
					k++
				}
				i++
				globs++
			case i < len(s) && s[i] == '?':
				i++ // a glob for one character: /etc/?asswd
				globs++
			case i >= len(s) || lowerByte(s[i]) != tc:
				return false
			default:
				i++
				literal++
			}
		}
	}
	if globs > 0 && (literal < 4 || strings.IndexByte(t, '/') < 0) {
		return false // globs must stand in a path, beside enough of the name to tell it
	}
	last := t[len(t)-1]
	return !isAlnumByte(last) || i == len(s) || !isLetterByte(s[i])
}

// isDataURI reports whether s, what follows "data:", is the media type of a data URI that can
// carry script or markup, or a base64 payload: "text/html,<script>", ";base64,PD9w".
func isDataURI(s string) bool {
	s = strings.TrimLeft(s, "/ ")
	for _, p := range [...]string{"text/html", "text/javascript", "text/plain;base64", "text/xml", "application/", "image/svg", ";base64,"} {
		if hasPrefixFold(s, p) {
			return true
		}
	}
	return false
}

// hasEventHandler reports an HTML event handler brought in by markup: a tag opened and, after
// any of the separators browsers accept between attributes (space, tab, line break, form
// feed, '/', a quote), on<name>= ("<x/onxxx=1", "<svg\tonload=..."); or the same handler after
// a quote that closes an attribute value (`" onmouseover=alert(1)`).
func hasEventHandler(s string) bool {
	for i := 0; i+4 < len(s); i++ {
		if (s[i] != 'o' && s[i] != 'O') || (s[i+1] != 'n' && s[i+1] != 'N') {
			continue
		}
		if i == 0 || !isHandlerSep(s[i-1]) {
			continue
		}
		j := i + 2
		for j < len(s) && isLetterByte(s[j]) {
			j++
		}
		if j-i-2 < 3 {
			continue
		}
		k := j
		for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r' || s[k] == '\f') {
			k++
		}
		if k == len(s) || s[k] != '=' {
			continue
		}
		// Inside a tag: a '<' and a letter before, with no '>' in between.
		for b := i - 1; b >= 0; b-- {
			if s[b] == '>' {
				break
			}
			if s[b] == '<' && b+1 < len(s) && isLetterByte(s[b+1]) {
				return true
			}
		}
		// After a quote that closes an attribute: the quote, then only separators.
		b := i - 1
		for b >= 0 && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r' || s[b] == '\f' || s[b] == '/') {
			b--
		}
		if b >= 0 && (s[b] == '"' || s[b] == '\'') {
			return true
		}
	}
	return false
}

func isHandlerSep(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '/' || c == '"' || c == '\''
}

// hasScriptScheme reports a javascript:, vbscript: or livescript: URI, with browsers' leniency
// (tabs, line breaks and NULs inside the scheme, any case), at the start of s or after a
// character that can precede a URL ( =, a quote, '(', white space). What follows the colon must
// be script: something at once ("javascript:alert(1)"), or a call or property after spaces
// ("javascript: alert(1)"); "JavaScript: The Good Parts" is a title.
func hasScriptScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := lowerByte(s[i])
		if c != 'j' && c != 'v' && c != 'l' {
			continue
		}
		if i > 0 && (isAlnumByte(s[i-1]) || s[i-1] == '_') {
			continue
		}
		for _, scheme := range [...]string{"javascript:", "vbscript:", "livescript:"} {
			if scheme[0] != c {
				continue
			}
			if n := matchSchemeLenient(s[i:], scheme); n > 0 && isScript(s[i+n:]) {
				return true
			}
		}
	}
	return false
}

// matchSchemeLenient matches scheme (lower case) at the start of s, skipping tabs, line breaks
// and NULs between its letters as browsers do; it returns the bytes of s consumed, or 0.
func matchSchemeLenient(s, scheme string) int {
	i := 0
	for k := 0; k < len(scheme); k++ {
		for k > 0 && i < len(s) && (s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == 0) {
			i++
		}
		if i >= len(s) || lowerByte(s[i]) != scheme[k] {
			return 0
		}
		i++
	}
	return i
}

// isScript reports whether rest, what follows a script scheme, is script rather than prose.
func isScript(rest string) bool {
	if rest == "" {
		return false
	}
	if c := rest[0]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
		return true
	}
	t := strings.TrimLeft(rest, " \t\r\n")
	j := 0
	for j < len(t) && (isAlnumByte(t[j]) || t[j] == '_' || t[j] == '$') {
		j++
	}
	return j > 0 && j < len(t) && strings.IndexByte("(.[=`", t[j]) >= 0
}

// hasSQLTiming reports the time-delay functions of blind SQL injection called with an
// argument: sleep(5), benchmark(1000000,md5(1)), pg_sleep(5), dbms_lock.sleep(5),
// randomblob(500000000), and T-SQL's waitfor delay '0:0:5'.
func hasSQLTiming(s string) bool {
	for i := 0; i < len(s); i++ {
		c := lowerByte(s[i])
		if c != 's' && c != 'b' && c != 'p' && c != 'r' && c != 'w' && c != 'd' {
			continue
		}
		if i > 0 && isLetterByte(s[i-1]) {
			continue
		}
		for _, fn := range [...]string{"sleep", "benchmark", "pg_sleep", "randomblob", "dbms_lock.sleep", "dbms_pipe.receive_message"} {
			if fn[0] != c || !hasPrefixFold(s[i:], fn) {
				continue
			}
			j := skipSQLSpace(s, i+len(fn))
			if j < len(s) && s[j] == '(' {
				k := skipSQLSpace(s, j+1)
				if k < len(s) && (isDigitByte(s[k]) || s[k] == '(' || s[k] == '@' || s[k] == '\'' || s[k] == '"' || s[k] == ')') {
					if j == i+len(fn) || sqlNumberThenClose(s, k) {
						return true // sleep(5), or sleep (5) as a whole: "sleep (8 hours)" is prose
					}
				}
			}
		}
		if c == 'w' && hasPrefixFold(s[i:], "waitfor") {
			j := skipSQLSpace(s, i+7)
			if j > i+7 && (hasPrefixFold(s[j:], "delay") || hasPrefixFold(s[j:], "time")) {
				return true
			}
		}
	}
	return false
}

// sqlNumberThenClose reports a number at s[i:] closed by ')' at once.
func sqlNumberThenClose(s string, i int) bool {
	j := i
	for j < len(s) && (isDigitByte(s[j]) || s[j] == '.') {
		j++
	}
	return j > i && j < len(s) && s[j] == ')'
}

func isDigitByte(c byte) bool { return '0' <= c && c <= '9' }

// hasStackedQuery reports a statement stacked after a ';': "; DROP TABLE users",
// "; EXEC xp_cmdshell", "; DECLARE @q", "; SHUTDOWN --", "; SELECT * FROM ...", each with what
// makes it a statement and not a sentence after a semicolon ("; update to follow").
func hasStackedQuery(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ';' {
			continue
		}
		j := skipSQLSpace(s, i+1)
		k := j
		for k < len(s) && isLetterByte(s[k]) {
			k++
		}
		if k == j {
			continue
		}
		kw := s[j:k]
		next := skipSQLSpace(s, k)
		word := func(w string) bool {
			return hasPrefixFold(s[next:], w) && (next+len(w) == len(s) || !isIdentByte(s[next+len(w)]))
		}
		if isDataStatement(s, kw, next) {
			return true
		}
		switch {
		case strings.EqualFold(kw, "update"):
			// update <table> set
			m := next
			for m < len(s) && (isIdentByte(s[m]) || s[m] == '.' || s[m] == '[' || s[m] == ']' || s[m] == '`') {
				m++
			}
			if m > next && hasPrefixFold(s[skipSQLSpace(s, m):], "set") {
				return true
			}
		case strings.EqualFold(kw, "exec"), strings.EqualFold(kw, "execute"):
			if next < len(s) && (s[next] == '(' || s[next] == '@') || word("master") || word("immediate") ||
				hasPrefixFold(s[next:], "xp_") || hasPrefixFold(s[next:], "sp_") {
				return true
			}
		case strings.EqualFold(kw, "declare"):
			if next < len(s) && s[next] == '@' {
				return true
			}
		case strings.EqualFold(kw, "shutdown"):
			if next == len(s) || s[next] == ';' || s[next] == '#' || strings.HasPrefix(s[next:], "--") || word("with") {
				return true
			}
		case strings.EqualFold(kw, "select"):
			if next < len(s) && (isDigitByte(s[next]) || strings.IndexByte("*@('\"", s[next]) >= 0) ||
				word("null") || word("version") || word("user") || word("database") || word("pg_sleep") ||
				word("sleep") || word("benchmark") || word("load_file") || word("char") || word("concat") {
				return true
			}
		case strings.EqualFold(kw, "waitfor"):
			return true
		case strings.EqualFold(kw, "desc"), strings.EqualFold(kw, "describe"):
			// desc <table> and the end of the statement: "; desc users; --".
			m := next
			for m < len(s) && (isIdentByte(s[m]) || s[m] == '.') {
				m++
			}
			if e := skipBlank(s, m); m > next && (e == len(s) || s[e] == ';' || s[e] == '#' || strings.HasPrefix(s[e:], "--")) {
				return true
			}
		case strings.EqualFold(kw, "show"):
			for _, obj := range [...]string{"tables", "databases", "schemas", "grants", "variables", "processlist"} {
				if word(obj) {
					return true
				}
			}
		}
	}
	return false
}

// isDataStatement reports a statement that changes the schema or the rows, kw being its first
// word and s[next:] what follows it: DROP/CREATE/ALTER/TRUNCATE and an object (TABLE, USER ...),
// INSERT INTO, DELETE FROM. "drop by" and "delete it" are English.
func isDataStatement(s, kw string, next int) bool {
	word := func(w string) bool {
		return hasPrefixFold(s[next:], w) && (next+len(w) == len(s) || !isIdentByte(s[next+len(w)]))
	}
	switch {
	case strings.EqualFold(kw, "drop"), strings.EqualFold(kw, "create"), strings.EqualFold(kw, "alter"), strings.EqualFold(kw, "truncate"):
		for _, obj := range [...]string{"table", "database", "user", "view", "procedure", "proc", "function", "schema", "index", "login", "trigger"} {
			if word(obj) {
				return true
			}
		}
	case strings.EqualFold(kw, "insert"):
		return word("into")
	case strings.EqualFold(kw, "delete"):
		return word("from")
	}
	return false
}

// isEmailAddress reports whether s is one e-mail address in any form RFC 5322 allows: a
// dot-atom or quoted local part ("john smith"@example.com, o'brien+shop@example.com) and a
// domain name or address literal.
func isEmailAddress(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || len(s) > 320 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '"' {
		if len(local) < 2 || local[len(local)-1] != '"' {
			return false
		}
		q := local[1 : len(local)-1]
		for i := 0; i < len(q); i++ {
			c := q[i]
			if c == '\\' && i+1 < len(q) {
				i++
				continue
			}
			if c == '"' || c == '\\' || c < 0x20 || c == 0x7f {
				return false
			}
		}
	} else if !isDotAtom(local, "!#$%&'*+/=?^_`{|}~-") {
		return false
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		for _, c := range []byte(domain[1 : len(domain)-1]) {
			if !isAlnumByte(c) && c != '.' && c != ':' {
				return false
			}
		}
		return true
	}
	return isDotAtom(domain, "-") && strings.IndexByte(domain, '.') > 0 && !strings.HasSuffix(domain, ".")
}

// isDotAtom reports whether s is atoms of letters, digits, non-ASCII and the given symbols,
// joined by single dots.
func isDotAtom(s, symbols string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnumByte(c) && c != '.' && c < 0x80 && strings.IndexByte(symbols, c) < 0 {
			return false
		}
	}
	return true
}

// isParentheticalProse reports whether s is a sentence with remarks in brackets — "while (foo)
// is bar.", "One quarter (24%) of people", "Just in case (abc)", "function(s)" — which
// libinjection can read as a function call: only words, numbers, spaces, sentence punctuation, '/', '%' and
// apostrophes within words, with each bracket opened after a space or at the start, closed, and
// holding the same, not starting with a SQL keyword; words may stand in double quotes and a
// clause may end in ';' as sentences have them. A single quote that is no apostrophe, an
// operator, a comment or a call written as one (sleep(5)) makes it something else.
func isParentheticalProse(s string) bool {
	if strings.Contains(s, "/*") || strings.Contains(s, "*/") || strings.Contains(s, "--") {
		return false
	}
	depth := 0
	prev := byte(' ')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnumByte(c), c >= 0x80, c == ' ', c == '\t', c == ',', c == '.', c == '!', c == '?', c == ':', c == '/', c == '-':
		case c == '%':
			if !isDigitByte(prev) {
				return false
			}
		case c == '\'':
			if !isLetterByte(prev) {
				return false
			}
		case c == '"':
			// A word quoted as prose quotes it: "License", (the "License");
			next := byte(' ')
			if i+1 < len(s) {
				next = s[i+1]
			}
			opening := (prev == ' ' || prev == '\t' || prev == '(') && isLetterByte(next)
			closing := (isAlnumByte(prev) || strings.IndexByte(".,!?", prev) >= 0) && strings.IndexByte(" ,.;:)!?", next) >= 0
			if !opening && !closing {
				return false
			}
		case c == ';':
			if i+1 < len(s) && s[i+1] != ' ' {
				return false
			}
		case c == '(':
			if isLetterByte(prev) && (strings.HasPrefix(s[i:], "(s)") || strings.HasPrefix(s[i:], "(es)")) {
				i = strings.IndexByte(s[i:], ')') + i // a plural: item(s)
				prev = ')'
				continue
			}
			if depth > 0 || (prev != ' ' && i != 0) {
				return false
			}
			j := i + 1
			for j < len(s) && isLetterByte(s[j]) {
				j++
			}
			if isSQLWord(s[i+1 : j]) {
				return false
			}
			depth++
		case c == ')':
			if depth == 0 || prev == '(' {
				return false
			}
			depth--
		default:
			return false
		}
		prev = c
	}
	return depth == 0
}

// isSQLWord reports whether w opens a subquery or an expression in SQL.
func isSQLWord(w string) bool {
	for _, k := range [...]string{"select", "union", "case", "if", "sleep", "benchmark", "exists", "values", "not", "null", "and", "or", "char", "concat", "ascii", "substring", "true", "false"} {
		if strings.EqualFold(w, k) {
			return true
		}
	}
	return false
}

// jsSinks are the functions and properties script injections call to prove or use their
// foothold.
var jsSinks = [...]string{
	"alert", "prompt", "confirm", "eval", "settimeout", "setinterval", "function",
	"constructor", "fromcharcode", "atob", "expression", "document.cookie", "document.write",
	"document.domain", "document.location", "window.location", "location.hash",
	"location.href", "innerhtml", "outerhtml", "importscripts", "fetch",
}

// hasScriptCall reports script written without markup, as injections into a script or an
// attribute the page opened do: a sink called (alert(1), alert`1`, eval(...)), passed or
// wrapped as a value ((alert)(1), [1].find(alert), a=alert,a(1)), or reached through a
// property (document.cookie, top['al'+'ert']), and template expressions ({{constructor...}}).
func hasScriptCall(s string) bool {
	if strings.Contains(s, "{{") && (containsFold(s, "constructor") || strings.Contains(s, "}}")) && strings.ContainsAny(s, "()") {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := lowerByte(s[i])
		if !isLetterByte(c) || (i > 0 && (isIdentByte(s[i-1]) || s[i-1] == '$')) {
			continue
		}
		for _, sink := range jsSinks {
			if sink[0] != c || !hasPrefixFold(s[i:], sink) {
				continue
			}
			j := i + len(sink)
			if j < len(s) && (isIdentByte(s[j]) || s[j] == '$') {
				continue
			}
			if strings.IndexByte(sink, '.') > 0 {
				return true // document.cookie and the like
			}
			k := j
			for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
				k++
			}
			switch {
			case k < len(s) && s[k] == '`':
				return true // a tagged template: alert`1`
			case k == j && strings.HasPrefix(s[j:], "?.("):
				return true // an optional call: alert?.(1)
			case k == j && j < len(s) && s[j] == '(' && j+1 < len(s) && s[j+1] != ' ':
				// Called at once with an argument: alert(1), eval(atob(...)); prose puts a
				// space before a bracket, and "(s)" is a plural.
				if !(j+2 < len(s) && s[j+1] == 's' && s[j+2] == ')') {
					return true
				}
			case i > 0 && (s[i-1] == '(' || s[i-1] == ',' || s[i-1] == '=' || s[i-1] == '[') &&
				j < len(s) && (s[j] == ')' || s[j] == ','):
				return true // passed as a value: (alert)(1), find(alert), a=alert,
			}
		}
	}
	if hasSinkAssignment(s) {
		return true
	}
	// A property looked up by a computed name and called: top['al'+'ert'](1), self[x](1).
	for _, obj := range [...]string{"top[", "self[", "window[", "parent[", "this[", "globalthis[", "frames[", "opener[", "document["} {
		if k := indexFold(s, obj); k >= 0 && (k == 0 || !isIdentByte(s[k-1])) {
			if e := strings.Index(s[k:], "]("); e > 0 {
				return true
			}
		}
	}
	return false
}

// hasJSFuck reports script written with only []()!+ (JSFuck and its kin), which builds any
// program from "![]", "+[]" and "!+[]": two or more of those atoms, and the value made mostly
// of those six characters.
func hasJSFuck(s string) bool {
	if strings.Count(s, "+[]")+strings.Count(s, "![]") < 2 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte("[]()!+", s[i]) >= 0 {
			n++
		}
	}
	return n*5 >= len(s)*4
}

// hasSinkAssignment reports a script sink assigned to an event handler or to a conversion
// method, which calls it without brackets: "{onerror=alert}throw 1", "valueOf=alert;x+”",
// "window.toString=eval", or to a name that is called next: "x=alert;x(1)". A log level
// ("severity=alert") is assigned to no handler and called by no one.
func hasSinkAssignment(s string) bool {
	for i := strings.IndexByte(s, '='); i > 0; {
		k := i
		for k > 0 && isIdentByte(s[k-1]) {
			k--
		}
		left := strings.ToLower(s[k:i])
		handler := left == "valueof" || left == "tostring" ||
			len(left) > 2 && strings.HasPrefix(left, "on") && domEvents[left[2:]]
		if handler && (k == 0 || strings.IndexByte("{;,.( \t", s[k-1]) >= 0) {
			j := skipBlank(s, i+1)
			for _, sink := range [...]string{"alert", "prompt", "confirm", "eval", "print"} {
				if hasPrefixFold(s[j:], sink) && (j+len(sink) == len(s) || strings.IndexByte(";},)", s[j+len(sink)]) >= 0) {
					return true
				}
			}
		}
		if !handler && k < i && (k == 0 || strings.IndexByte("{;, \t", s[k-1]) >= 0) {
			// A sink given another name and called by it: "x=alert;x(1)".
			j := skipBlank(s, i+1)
			for _, sink := range [...]string{"alert", "prompt", "confirm", "eval"} {
				if e := j + len(sink); hasPrefixFold(s[j:], sink) && e < len(s) && (s[e] == ';' || s[e] == ',') {
					if c := strings.Index(s[e:], s[k:i]+"("); c > 0 && !isIdentByte(s[e+c-1]) {
						return true
					}
				}
			}
		}
		n := strings.IndexByte(s[i+1:], '=')
		if n < 0 {
			return false
		}
		i += 1 + n
	}
	return false
}

// indexFold is strings.Index ignoring ASCII case; sub is lower case.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if lowerByte(s[i]) == sub[0] && strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// sqlFunctions are SQL functions injections call to read the database and its host; none is
// an English word, so a call of one is taken for what it is.
var sqlFunctions = [...]string{
	"database", "db_name", "current_user", "session_user", "system_user", "schema",
	"load_file", "group_concat", "concat_ws", "concat", "extractvalue", "updatexml",
	"substring", "substr", "ascii", "char", "chr", "nchar", "unhex", "hex", "md5", "sha1",
	"lo_get", "lo_import", "pg_read_file", "pg_ls_dir", "json_extract", "json_search",
	"xmltype", "sys_context", "utl_inaddr.get_host_address", "convert", "cast",
	"version", "user", "floor", "rand", "elt", "make_set", "exp", "polygon", "geometrycollection",
	"multipoint", "linestring", "name_const", "row_count", "found_rows", "connection_id",
	"last_insert_id", "getpgusername", "pg_client_encoding", "sqlite_version", "randomblob",
	"load_extension", "openrowset", "opendatasource", "openquery", "has_dbaccess",
	"is_srvrolemember", "is_member", "serverproperty", "host_name", "suser_sname",
	"user_name", "suser_name", "schema_name", "object_name", "current_database",
}

// sqlTypes are the SQL type names that convert() takes first, lower case.
var sqlTypes = [...]string{"varchar", "nvarchar", "char", "nchar", "int", "bigint", "varbinary", "binary", "text", "ntext", "sql_variant"}

// isSQLTypeAt reports an SQL type name at s[i:], followed by ',' or '(' as an argument list
// has it: "varchar,", "nvarchar(4000),".
func isSQLTypeAt(s string, i int) bool {
	w := sqlNameAt(s, i)
	for _, t := range sqlTypes {
		if strings.EqualFold(w, t) {
			k := skipSQLSpace(s, i+len(w))
			return k < len(s) && (s[k] == ',' || s[k] == '(')
		}
	}
	return false
}

// hasSQLFunctionCall reports a call of one of sqlFunctions written as SQL writes it: the name,
// optional comments, '(' and an argument list that starts as SQL does (a ')', digit,
// quote, '(', '@', '*', 0x or a keyword such as SELECT) — "user()", "char(65)",
// "extractvalue(1,", "version/**/()". "user(s)" and "Version (2.1)" are prose.
func hasSQLFunctionCall(s string) bool {
	if strings.IndexByte(s, '(') < 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := lowerByte(s[i])
		if !isLetterByte(c) || (i > 0 && (isIdentByte(s[i-1]) || s[i-1] == '.' || s[i-1] == '$')) {
			continue
		}
		for _, fn := range sqlFunctions {
			if fn[0] != c || !hasPrefixFold(s[i:], fn) {
				continue
			}
			j := i + len(fn)
			if j < len(s) && isIdentByte(s[j]) {
				continue
			}
			k := skipBlockComments(s, j)
			if k >= len(s) || s[k] != '(' {
				continue
			}
			m := skipSQLSpace(s, k+1)
			if m == len(s) {
				return k == j // "database(" cut off right after the bracket
			}
			switch a := s[m]; {
			case a == ')' || isDigitByte(a) || a == '\'' || a == '"' || a == '(' || a == '@' || a == '*' || a == '`':
				return true
			case hasPrefixFold(s[m:], "select") || hasPrefixFold(s[m:], "concat") || hasPrefixFold(s[m:], "user") || hasPrefixFold(s[m:], "version") || hasPrefixFold(s[m:], "database"):
				return true
			case (fn == "convert" || fn == "cast") && isSQLTypeAt(s, m):
				return true // convert(varchar, ...), cast(x as ...) written type first
			}
		}
	}
	return false
}

// hasSQLList reports an IN list of SQL values: "IN (1,2)", " in ('a', 'b')".
func hasSQLList(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if (s[i] != 'i' && s[i] != 'I') || (s[i+1] != 'n' && s[i+1] != 'N') || (i > 0 && isIdentByte(s[i-1])) {
			continue
		}
		k := skipSQLSpace(s, i+2)
		if k == i+2 || k >= len(s) || s[k] != '(' {
			continue
		}
		// Two or more numbers or quoted strings, separated by commas.
		items := 0
		m := k + 1
		for {
			m = skipSQLSpace(s, m)
			start := m
			if m < len(s) && (s[m] == '\'' || s[m] == '"') {
				q := s[m]
				e := strings.IndexByte(s[m+1:], q)
				if e < 0 {
					break
				}
				m += e + 2
			} else {
				if m < len(s) && s[m] == '-' {
					m++
				}
				for m < len(s) && isDigitByte(s[m]) {
					m++
				}
			}
			if m == start {
				break
			}
			items++
			m = skipSQLSpace(s, m)
			if m < len(s) && s[m] == ',' {
				m++
				continue
			}
			if m < len(s) && s[m] == ')' && items >= 2 {
				return true
			}
			break
		}
	}
	return false
}

// sqlOperatorWords are SQL's word operators and predicates, lower case.
var sqlOperatorWords = [...]string{
	"like", "ilike", "rlike", "glob", "regexp", "similar", "between", "is", "in", "not",
	"notnull", "isnull", "collate", "sounds", "escape", "div", "mod", "xor", "and", "or",
}

// hasQuoteBreakout reports a value that closes a quoted literal and goes on in SQL: a quote
// followed by a boolean operator, an operand and a comparison (' or username like x,
// z'or email notnull, 'and email ilike email), or by an SQL operator word (user'collate
// nocase, ' notnull) or an operator and an operand (x'|email) all the way to a comment that
// ends the value ('...--), or by a predicate and another literal ('1' not regexp '2'), by a
// cast ('1'::int), or by ';' and a comment or the end (';#).
func hasQuoteBreakout(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\'' && c != '"' && c != '`' {
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == ' ' || s[j] == ')' || s[j] == '\t') {
			j++
		}
		w := sqlWordAt(s, j)
		switch {
		case w == "or" || w == "and" || w == "xor":
			if hasComparisonAfter(s, j+len(w)) {
				return true
			}
			if endsInSQLComment(s[j:]) {
				return true
			}
		case w != "":
			if endsInSQLComment(s[j:]) {
				return true
			}
			// A closing quote, a predicate and another literal: 'a' not regexp 'b', 'x' like '%'.
			k := j + len(w)
			if w == "not" || w == "is" {
				k = skipSQLSpace(s, k)
				if w2 := sqlWordAt(s, k); w2 != "" && w2 != "or" && w2 != "and" {
					k += len(w2)
				}
			}
			if w != "or" && w != "and" && w != "xor" && w != "in" && k > j+len(w)-1 {
				if m := skipSQLSpace(s, k); m > k && m < len(s) && (s[m] == '\'' || s[m] == '"') && i > 0 && s[i-1] != ' ' {
					return true
				}
			}
		case j < len(s) && strings.IndexByte("|-+^&<>=/%*", s[j]) >= 0:
			// An operator glued to the quote, an operand, and a comment: x'|email--.
			if j+1 < len(s) && (isIdentByte(s[j+1]) || s[j+1] == '(') && endsInSQLComment(s[j:]) {
				return true
			}
		case j+2 < len(s) && s[j] == ':' && s[j+1] == ':' && isLetterByte(s[j+2]):
			return true // a PostgreSQL cast of the literal: '1'::int
		case j < len(s) && s[j] == ';' && strings.Count(s, s[i:i+1])%2 == 1:
			// An unbalanced quote, then ';': the literal was broken out of. A quoted word
			// ending a clause, (the "License");, has its pair.
			if k := skipSQLSpace(s, j+1); k == len(s) || s[k] == '#' || strings.HasPrefix(s[k:], "--") {
				return true
			}
		}
	}
	return false
}

// sqlWordAt returns the SQL operator word at s[i:] (lower case), or "".
func sqlWordAt(s string, i int) string {
	if i >= len(s) {
		return ""
	}
	switch lowerByte(s[i]) {
	case 'l', 'i', 'r', 'g', 's', 'b', 'n', 'c', 'e', 'd', 'm', 'x', 'a', 'o':
	default:
		return ""
	}
	for _, w := range sqlOperatorWords {
		if len(s)-i >= len(w) && strings.EqualFold(s[i:i+len(w)], w) && (i+len(w) == len(s) || !isIdentByte(s[i+len(w)])) {
			return w
		}
	}
	return ""
}

// hasComparisonAfter reports an operand then a comparison at s[i:]: " username like", "(id
// glob", " 1 between", " email = all".
func hasComparisonAfter(s string, i int) bool {
	i = skipSQLSpace(s, i)
	for i < len(s) && s[i] == '(' {
		i = skipSQLSpace(s, i+1)
	}
	start := i
	for i < len(s) && (isIdentByte(s[i]) || s[i] == '.') {
		i++
	}
	if i == start {
		return false
	}
	k := skipSQLSpace(s, i)
	if k < len(s) && strings.IndexByte("=<>!", s[k]) >= 0 {
		return true
	}
	switch sqlWordAt(s, k) {
	case "like", "ilike", "rlike", "glob", "regexp", "similar", "between", "is", "in", "notnull", "isnull", "collate", "sounds":
		return true
	}
	return false
}

// endsInSQLComment reports whether s ends in an SQL comment that cuts off the rest of a query:
// "--" at the end or before a word ("--sp_password"), or "#" at the end.
func endsInSQLComment(s string) bool {
	t := strings.TrimRight(s, " \t\r\n;")
	switch {
	case strings.HasSuffix(t, "--"), strings.HasSuffix(t, "#"):
		return true
	case strings.Contains(t, "--"):
		k := strings.LastIndex(t, "--")
		rest := t[k+2:]
		return rest != "" && !strings.ContainsAny(rest, " \t") && isLetterByte(rest[0])
	}
	return false
}

// hasNumberComment reports a number followed straight away by an SQL comment that ends the
// value or runs into a word: "1--", "1--sp_password", "1#". "10--12" is a range.
func hasNumberComment(s string) bool {
	for i := 1; i+1 < len(s); i++ {
		if s[i] != '-' || s[i+1] != '-' || !isDigitByte(s[i-1]) {
			continue
		}
		if j := i + 2; j == len(s) || isLetterByte(s[j]) {
			return true
		}
	}
	return false
}

// hasSQLStatement reports a whole statement at the start of a value, shaped as only SQL is:
// "ALTER TABLE `x` CHANGE", "CREATE TABLE Persons", "DELETE FROM users;", "INSERT INTO t
// VALUES". "Drop table tennis lessons" and "Insert into envelope" are sentences.
func hasSQLStatement(s string) bool {
	i := skipSQLSpace(s, 0)
	for i < len(s) && (s[i] == '/' || s[i] == ';' || s[i] == '(') {
		i = skipSQLSpace(s, i+1)
	}
	verb := sqlIdentAt(s, i)
	if verb == "" {
		return false
	}
	j := skipSQLSpace(s, i+len(verb))
	obj := sqlIdentAt(s, j)
	k := skipSQLSpace(s, j+len(obj))
	switch {
	case strings.EqualFold(verb, "alter") || strings.EqualFold(verb, "create") || strings.EqualFold(verb, "drop") || strings.EqualFold(verb, "truncate"):
		if !strings.EqualFold(obj, "table") && !strings.EqualFold(obj, "database") && !strings.EqualFold(obj, "view") &&
			!strings.EqualFold(obj, "function") && !strings.EqualFold(obj, "procedure") && !strings.EqualFold(obj, "user") {
			return false
		}
	case strings.EqualFold(verb, "delete") && strings.EqualFold(obj, "from"),
		strings.EqualFold(verb, "insert") && strings.EqualFold(obj, "into"),
		strings.EqualFold(verb, "merge") && strings.EqualFold(obj, "into"):
	case (strings.EqualFold(verb, "execute") || strings.EqualFold(verb, "exec")) && strings.EqualFold(obj, "immediate"):
		return k < len(s) && (s[k] == '\'' || s[k] == '"' || s[k] == ':' || s[k] == '@')
	default:
		return false
	}
	// The object's name, as SQL quotes or qualifies it, then the end of the statement or more SQL.
	name := k
	for k < len(s) && (isIdentByte(s[k]) || strings.IndexByte("`\"[].", s[k]) >= 0) {
		k++
	}
	if k == name {
		return false
	}
	quoted := strings.ContainsAny(s[name:k], "`\"[.")
	k = skipSQLSpace(s, k)
	if k == len(s) {
		return quoted || isUpperWord(verb) && isUpperWord(obj)
	}
	if s[k] == ';' || s[k] == '(' || strings.HasPrefix(s[k:], "--") || s[k] == '#' {
		return true
	}
	next := sqlIdentAt(s, k)
	for _, kw := range [...]string{"where", "values", "select", "set", "add", "change", "modify", "rename", "engine", "character", "cascade", "if", "as", "default", "returns", "soname", "using"} {
		if strings.EqualFold(next, kw) {
			return true
		}
	}
	return false
}

// sqlIdentAt returns the run of letters at s[i:].
func sqlIdentAt(s string, i int) string {
	j := i
	for j < len(s) && isLetterByte(s[j]) {
		j++
	}
	return s[i:j]
}

// isUpperWord reports whether w is all upper case, as SQL keywords are often written and
// sentences are not.
func isUpperWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if 'a' <= w[i] && w[i] <= 'z' {
			return false
		}
	}
	return w != ""
}

// hasNumberComparison reports a boolean operator followed by a comparison of two numbers, the
// probe of boolean-based blind injection: "AND 1=2", "or 2>1", "&& 3<>4", "OR 5 != 6".
func hasNumberComparison(s string) bool {
	for i := 0; i < len(s); i++ {
		var j int
		switch {
		case (s[i] == '&' || s[i] == '|') && i+1 < len(s) && s[i+1] == s[i]:
			j = i + 2
		case (i == 0 || !isIdentByte(s[i-1])) && strings.IndexByte("oOaAxXhHwW", s[i]) >= 0:
			w := sqlWordAt(s, i)
			if w != "or" && w != "and" && w != "xor" {
				w = sqlIdentAt(s, i)
				if !strings.EqualFold(w, "having") && !strings.EqualFold(w, "where") {
					continue
				}
			}
			j = i + len(w)
			if j < len(s) && s[j] != ' ' && s[j] != '(' && s[j] != '/' && s[j] != '\t' && s[j] != '+' {
				continue
			}
		default:
			continue
		}
		j = skipSQLSpace(s, j)
		for j < len(s) && s[j] == '(' {
			j++
		}
		a := j
		for j < len(s) && isDigitByte(s[j]) {
			j++
		}
		if j == a {
			continue
		}
		j = skipSQLSpace(s, j)
		op := j
		for j < len(s) && strings.IndexByte("=<>!", s[j]) >= 0 {
			j++
		}
		if j == op || j-op > 3 {
			continue
		}
		j = skipSQLSpace(s, j)
		if j < len(s) && isDigitByte(s[j]) {
			return true
		}
	}
	return false
}

// hasQuoteThenComment reports a quote (and brackets) followed only by an SQL comment that ends
// the value: "admin'--", "') -- -", "admin' #", "admin'/*". A quote and a dash that go on with words ("'on sale' --
// again") are prose.
func hasQuoteThenComment(s string) bool {
	t := strings.TrimRight(s, " \t-+")
	if !strings.Contains(s[len(t):], "--") {
		// MySQL's other comments: "admin' #", "admin'/*".
		t = strings.TrimRight(s, " \t")
		switch {
		case strings.HasSuffix(t, "#"):
			t = t[:len(t)-1]
		case strings.HasSuffix(t, "/*"):
			t = t[:len(t)-2]
		default:
			return false
		}
		t = strings.TrimRight(t, " \t")
	}
	t = strings.TrimRight(t, " \t)")
	return strings.HasSuffix(t, "'") || strings.HasSuffix(t, "\"")
}

// domEvents are the names of DOM events (after "on") that handlers injected as attributes use.
var domEvents = map[string]bool{
	"abort": true, "afterprint": true, "animationend": true, "animationiteration": true,
	"animationstart": true, "auxclick": true, "beforecopy": true, "beforecut": true,
	"beforeinput": true, "beforepaste": true, "beforeprint": true, "beforeunload": true,
	"begin": true, "blur": true, "bounce": true, "canplay": true, "canplaythrough": true,
	"change": true, "click": true, "contextmenu": true, "copy": true, "cuechange": true,
	"cut": true, "dblclick": true, "drag": true, "dragend": true, "dragenter": true,
	"dragleave": true, "dragover": true, "dragstart": true, "drop": true,
	"durationchange": true, "ended": true, "error": true, "finish": true, "focus": true,
	"focusin": true, "focusout": true, "formdata": true, "fullscreenchange": true,
	"hashchange": true, "input": true, "invalid": true, "keydown": true, "keypress": true,
	"keyup": true, "load": true, "loadeddata": true, "loadedmetadata": true, "loadend": true,
	"loadstart": true, "message": true, "mousedown": true, "mouseenter": true,
	"mouseleave": true, "mousemove": true, "mouseout": true, "mouseover": true,
	"mouseup": true, "mousewheel": true, "pagehide": true, "pageshow": true, "paste": true,
	"pause": true, "play": true, "playing": true, "pointerdown": true, "pointerenter": true,
	"pointerleave": true, "pointermove": true, "pointerout": true, "pointerover": true,
	"pointerrawupdate": true, "pointerup": true, "popstate": true, "progress": true,
	"ratechange": true, "readystatechange": true, "repeat": true, "reset": true,
	"resize": true, "scroll": true, "scrollend": true, "search": true, "seeked": true,
	"seeking": true, "select": true, "selectionchange": true, "selectstart": true,
	"show": true, "stalled": true, "storage": true, "submit": true, "suspend": true,
	"timeupdate": true, "toggle": true, "touchcancel": true, "touchend": true,
	"touchmove": true, "touchstart": true, "transitioncancel": true, "transitionend": true,
	"transitionrun": true, "transitionstart": true, "unload": true, "volumechange": true,
	"waiting": true, "webkitanimationend": true, "webkitanimationiteration": true,
	"webkitanimationstart": true, "webkittransitionend": true, "wheel": true,
}

// hasBareEventHandler reports a DOM event handler attribute injected into an unquoted
// attribute, with no tag or quote before it: " onmouseover=alert(1)", "x/onfocus=...",
// "onerror=alert;throw 1".
func hasBareEventHandler(s string) bool {
	var buf [28]byte
	for i := 0; i+3 < len(s); i++ {
		if (s[i] != 'o' && s[i] != 'O') || (s[i+1] != 'n' && s[i+1] != 'N') || i > 0 && !isHandlerSep(s[i-1]) {
			continue
		}
		j := i + 2
		for j < len(s) && isLetterByte(s[j]) {
			j++
		}
		if j-i-2 < 3 || j-i-2 > len(buf) {
			continue
		}
		k := j
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		if k == len(s) || s[k] != '=' {
			continue
		}
		name := buf[:j-i-2]
		for n := range name {
			name[n] = lowerByte(s[i+2+n])
		}
		if domEvents[string(name)] {
			return true
		}
	}
	return false
}

// hasBacktickIdentifier reports MySQL's backtick-quoted identifiers used as SQL: qualified
// (`db`.`table`), or followed by a keyword that only SQL puts there (` AS `x`, `t` REGEXP).
func hasBacktickIdentifier(s string) bool {
	for i := strings.IndexByte(s, '`'); i >= 0 && i < len(s); {
		end := strings.IndexByte(s[i+1:], '`')
		if end < 0 {
			break
		}
		j := i + 1 + end + 1 // after the closing backtick
		if j+1 < len(s) && s[j] == '.' && s[j+1] == '`' {
			return true
		}
		k := skipSQLSpace(s, j)
		if k > j {
			switch w := strings.ToLower(sqlIdentAt(s, k)); w {
			case "as", "from", "regexp", "rlike", "where", "limit", "collate", "union", "select", "set", "order", "group":
				return true
			}
		}
		i = j
	}
	return false
}

// hasSelectAtStart reports a SELECT that opens the value with what only a query puts after
// it: "SELECT (CASE ...", "select * from", "select 1,2,3", "SELECT @@version", "select null".
// "Select 7 items from the vegan range" is a sentence.
func hasSelectAtStart(s string) bool {
	i := skipSQLSpace(s, 0)
	for i < len(s) && (s[i] == '(' || s[i] == ';' || s[i] == '\'' || s[i] == '"') {
		i = skipSQLSpace(s, i+1)
	}
	if !hasPrefixFold(s[i:], "select") || i+6 < len(s) && isIdentByte(s[i+6]) {
		return false
	}
	j := skipSQLSpace(s, i+6)
	if j == i+6 && j < len(s) && s[j] != '(' && s[j] != '*' && s[j] != '@' {
		return false
	}
	switch {
	case j >= len(s):
		return false
	case s[j] == '*' || s[j] == '(' || strings.HasPrefix(s[j:], "@@"):
		return true
	case isDigitByte(s[j]):
		k := j
		for k < len(s) && isDigitByte(s[k]) {
			k++
		}
		return k == len(s) || s[k] == ',' || s[k] == ')'
	}
	w := sqlIdentAt(s, j)
	if strings.EqualFold(w, "null") || strings.EqualFold(w, "case") {
		return true
	}
	return hasSelectList(s, j, isUpperWord(s[i:i+6]))
}

// hasSelectList reports the rest of a SELECT that opened the value, from s[j], as a query and
// not a sentence: a column that only a schema names (current_user, SYSTEM_USER, t.name,
// v$version), or a FROM whose table does (all_users, master..sysdatabases, mysql.user), or a
// FROM followed by WHERE, ORDER BY, GROUP BY, LIMIT or a closing semicolon. "Select a size from
// the menu" is a sentence.
func hasSelectList(s string, j int, upper bool) bool {
	col := sqlNameAt(s, j)
	if col == "" {
		return false
	}
	// A dotted name (mysql.user) counts only in a query written as SQL is, SELECT in capitals
	// (upper): "select a plan from example.com" is a sentence with a domain.
	if isSchemaName(col, upper) && (j+len(col) == len(s) || !isLetterByte(s[j+len(col)])) {
		return true
	}
	k := indexFold(s[j:], " from ")
	if k < 0 {
		return false
	}
	// Only a short column list: names, commas and spaces.
	for _, c := range []byte(s[j : j+k]) {
		if !isIdentByte(c) && c != ',' && c != ' ' && c != '.' && c != '$' && c != '(' && c != ')' && c != '*' {
			return false
		}
	}
	t := skipSQLSpace(s, j+k+6)
	table := sqlNameAt(s, t)
	if table == "" {
		return false
	}
	if isSchemaName(table, upper) {
		return true
	}
	rest := strings.TrimSpace(s[t+len(table):])
	if rest == ";" || rest == "" && isUpperWord(sqlIdentAt(s, j)) && isUpperWord(s[j+k+1:j+k+5]) {
		return true
	}
	for _, kw := range [...]string{"where ", "order by ", "group by ", "limit "} {
		if hasPrefixFold(rest, kw) {
			return true
		}
	}
	return false
}

// sqlNameAt returns the SQL name at s[i:]: letters, digits, _, $, @ and dots.
func sqlNameAt(s string, i int) string {
	j := i
	for j < len(s) && (isIdentByte(s[j]) || s[j] == '$' || s[j] == '.' || s[j] == '@') {
		j++
	}
	return s[i:j]
}

// isSchemaName reports a name only a database schema uses: with an underscore, a dollar, an @,
// two dots (master..sysdatabases) or, when dotted is set, a dot between two names (mysql.user).
func isSchemaName(w string, dotted bool) bool {
	w = strings.TrimRight(w, ".")
	if w == "" || !isLetterByte(w[0]) && w[0] != '@' {
		return false
	}
	return strings.ContainsAny(w, "_$@") || strings.Contains(w, "..") || dotted && strings.Contains(w, ".")
}

// hasQuoteSkeleton reports a value made of quotes, operators and boolean keywords only, the
// shapes that close a string literal and open another: "' '", "'='", "'=”", "\"-\"",
// "' or ” '", "'||'". It needs two quotes, or one and an operator, and no word other than an
// SQL boolean keyword; text always has words.
func hasQuoteSkeleton(s string) bool {
	quotes, ops, spaced := 0, 0, false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case (c == '\'' || c == '"') && i > 0 && isDigitByte(s[i-1]):
			// Feet and inches (5'-10"), not a literal.
		case c == '\'' || c == '"' || c == '`':
			quotes++
			if i+2 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t') {
				k := i + 1
				for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
					k++
				}
				if k < len(s) && s[k] == c {
					spaced = true
				}
			}
		case isLetterByte(c):
			j := i
			for j < len(s) && isLetterByte(s[j]) {
				j++
			}
			if !isSQLBooleanWord(s[i:j]) {
				return false
			}
			ops++
			i = j
			continue
		case isDigitByte(c), c == ' ', c == '\t', c == '(', c == ')':
		case strings.IndexByte("=|&^*-+<>%/#;!~", c) >= 0:
			ops++
		default:
			return false
		}
		i++
	}
	return quotes >= 2 && (ops > 0 || spaced) || quotes == 1 && ops > 0 && strings.ContainsAny(s, "=|&")
}

// hasCommentSplit reports an SQL block comment glued to words on both sides, standing for a
// space or splitting a keyword: "DROP/*x*/table", "SEL/**/ECT", "1/**/OR/**/1". Prose and
// the identifiers people type put no comment inside a word.
func hasCommentSplit(s string) bool {
	for i := strings.Index(s, "/*"); i >= 0; {
		e := strings.Index(s[i+2:], "*/")
		if e < 0 {
			return false
		}
		j := i + 2 + e + 2
		if i > 0 && isAlnumByte(s[i-1]) && j < len(s) && isAlnumByte(s[j]) {
			return true
		}
		k := strings.Index(s[j:], "/*")
		if k < 0 {
			return false
		}
		i = j + k
	}
	return false
}

// mongoOperators are the query operators of MongoDB that NoSQL injections send as keys.
var mongoOperators = [...]string{
	"ne", "eq", "gt", "gte", "lt", "lte", "in", "nin", "not", "nor", "or", "and", "exists",
	"elemmatch", "regex", "where", "expr", "type", "mod", "all", "size", "text", "jsonschema",
	"function", "accumulator",
}

// hasMongoOperator reports a MongoDB query operator sent as a key: "user[$ne]=1",
// "{"$gt": ""}", "[$regex]". Money ("$10") and shell variables ($HOME) are no operator.
func hasMongoOperator(s string) bool {
	for i := strings.IndexByte(s, '$'); i >= 0; {
		if i > 0 && (s[i-1] == ' ' || s[i-1] == ',') && isBareMongoKey(s[i+1:]) {
			return true
		}
		if i > 0 && (s[i-1] == '[' || s[i-1] == '"' || s[i-1] == '\'' || s[i-1] == '{') {
			j := i + 1
			for j < len(s) && isLetterByte(s[j]) {
				j++
			}
			closed := j < len(s) && (s[j] == ']' || s[j] == ':')
			if j < len(s) && (s[j] == '"' || s[j] == '\'') {
				// A quoted key: the colon follows.
				k := skipSQLSpace(s, j+1)
				closed = k < len(s) && s[k] == ':'
			}
			if closed {
				for _, op := range mongoOperators {
					if strings.EqualFold(s[i+1:j], op) {
						return true
					}
				}
			}
		}
		k := strings.IndexByte(s[i+1:], '$')
		if k < 0 {
			return false
		}
		i += 1 + k
	}
	return false
}

// isBareMongoKey reports a MongoDB operator written as an unquoted key of a JavaScript object,
// at t (after the '$'): "where: '1 == 1'", "ne: 1". Only operators no one writes after a
// dollar sign in text count.
func isBareMongoKey(t string) bool {
	j := 0
	for j < len(t) && isLetterByte(t[j]) {
		j++
	}
	if j == 0 || j == len(t) || t[j] != ':' {
		return false
	}
	for _, op := range [...]string{"where", "ne", "gt", "gte", "lt", "lte", "nin", "regex", "expr", "elemmatch", "nor", "exists"} {
		if strings.EqualFold(t[:j], op) {
			return true
		}
	}
	return false
}

// pgTypes are the PostgreSQL types injections cast to.
var pgTypes = [...]string{
	"int", "int2", "int4", "int8", "integer", "bigint", "smallint", "text", "varchar", "char",
	"numeric", "decimal", "bool", "boolean", "float", "float4", "float8", "real", "regclass",
	"oid", "bytea", "json", "jsonb", "xml", "inet", "uuid", "name",
}

// hasPostgresCast reports a PostgreSQL cast of a literal or a bracket: "1::int",
// "'1'::text", "(select 1)::varchar". IPv6 addresses (fe80::1) and language scopes
// (std::string, Text::CSV) follow a letter.
func hasPostgresCast(s string) bool {
	for i := strings.Index(s, "::"); i >= 0; {
		if i > 0 && (isDigitByte(s[i-1]) || s[i-1] == '\'' || s[i-1] == '"' || s[i-1] == ')') {
			j := i + 2
			for j < len(s) && isAlnumByte(s[j]) {
				j++
			}
			if j == len(s) || !isIdentByte(s[j]) {
				for _, t := range pgTypes {
					if strings.EqualFold(s[i+2:j], t) {
						return true
					}
				}
			}
		}
		k := strings.Index(s[i+2:], "::")
		if k < 0 {
			return false
		}
		i += 2 + k
	}
	return false
}

// systemRoots are the top-level directories of a Unix file system that hold its
// configuration, logs, processes and programs: what an absolute path in a value reads when it
// reads the server's files (/etc/exports, /proc/swaps, /var/lib/pgsql/data/pg_hba.conf).
var systemRoots = [...]string{
	"etc", "proc", "sys", "root", "var", "usr", "opt", "boot", "bin", "sbin", "lib", "lib64",
	"logs", "srv",
}

// windowsRoots are the directories under a drive that hold Windows' and its servers' files.
var windowsRoots = [...]string{
	"windows", "winnt", "boot.ini", "inetpub", "program files", "programdata", "documents and settings",
	"users/administrator", "users/default", "users/all users", "users/public", "sysprep", "unattend",
	"xampp", "wamp", "apache", "mysql", "php", "system volume information",
}

// hasSystemPath reports an absolute path into a system directory: a Unix path whose first
// segment is one of systemRoots and that names something inside it (/etc/exports,
// //etc/x after a route), a Windows drive path into one of windowsRoots (c:/windows/debug,
// C:\Program Files\...), or a UNC path to an administrative share (\\host\c$). The first
// segment of a URL's path (https://example.com/etc/) follows a host, not a boundary.
func hasSystemPath(s string) bool {
	for i := 0; i+4 < len(s); i++ {
		c := s[i]
		if c != '/' && c != '\\' && c != ':' {
			continue
		}
		if c == ':' {
			// A drive letter alone before the colon, then a slash.
			if i == 0 || !isLetterByte(s[i-1]) || i >= 2 && (isAlnumByte(s[i-2]) || s[i-2] == '_') || s[i+1] != '/' && s[i+1] != '\\' {
				continue
			}
			rest := s[i+2:]
			for len(rest) > 0 && (rest[0] == '/' || rest[0] == '\\') {
				rest = rest[1:]
			}
			for _, r := range windowsRoots {
				if matchPathFold(rest, r) {
					if n := len(r); len(rest) == n || !isAlnumByte(rest[n]) {
						return true
					}
				}
			}
			continue
		}
		if c == '\\' && i+1 < len(s) && s[i+1] == '\\' && (i == 0 || !isAlnumByte(s[i-1])) {
			// \\host\c$\...: an administrative share.
			if k := strings.IndexByte(s[i+2:], '\\'); k > 0 && i+2+k+2 < len(s) && isLetterByte(s[i+2+k+1]) && s[i+2+k+2] == '$' {
				return true
			}
		}
		if i > 0 && (isAlnumByte(s[i-1]) || s[i-1] == '-' || s[i-1] == '_' || s[i-1] == '.' && (i < 2 || s[i-2] != '.')) {
			continue // inside a word, a host name or a path segment
		}
		for _, r := range systemRoots {
			j := i + 1 + len(r)
			if j+1 < len(s) && hasPrefixFold(s[i+1:], r) && (s[j] == '/' || s[j] == '\\') &&
				(isAlnumByte(s[j+1]) || s[j+1] == '.' || s[j+1] == '_') {
				return true
			}
		}
	}
	return false
}

// htmlElements are HTML elements that markup injected into a page uses to run script, load
// content, restyle or overlay the page, or break out of the element it lands in. Formatting
// that text pasted from a page may carry (<b>, <br>, <p>, <span>) is left out.
var htmlElements = map[string]bool{
	"a": true, "applet": true, "audio": true, "base": true, "bgsound": true, "blink": true,
	"body": true, "button": true, "details": true, "dialog": true, "embed": true, "form": true,
	"frame": true, "frameset": true, "head": true, "html": true, "iframe": true, "ilayer": true,
	"image": true, "img": true, "input": true, "isindex": true, "keygen": true, "layer": true,
	"link": true, "listing": true, "marquee": true, "math": true, "meta": true, "noembed": true,
	"noframes": true, "noscript": true, "object": true, "param": true, "plaintext": true,
	"portal": true, "script": true, "select": true, "source": true, "style": true, "svg": true,
	"template": true, "textarea": true, "title": true, "video": true, "xml": true, "xmp": true,
	"xss": true,
}

// scriptElements are the elements that run script or load a document wherever they open,
// whatever follows their name.
var scriptElements = map[string]bool{
	"script": true, "iframe": true, "frame": true, "frameset": true, "object": true, "embed": true,
	"applet": true, "svg": true, "noscript": true, "meta": true, "base": true, "style": true,
	"math": true, "xss": true, "isindex": true, "portal": true,
}

// hasHTMLTag reports HTML markup: an opening tag of one of htmlElements that closes (<img
// src=x>, <marquee>) or a closing tag (</title>). A comparison (a < b), an address
// in angle brackets (<jo@example.com>) and a generic type (List<String>) are not markup.
func hasHTMLTag(s string) bool {
	var buf [10]byte
	if k := strings.Index(s, "<!["); k >= 0 && hasPrefixFold(s[k:], "<![cdata[") {
		// A CDATA section that holds markup, to hide a tag from a filter:
		// <![CDATA[<]]>script>. Text that names the delimiters ("<![CDATA[", "]]>") holds none.
		body := s[k+9:]
		if e := strings.Index(body, "]]>"); e >= 0 {
			body = body[:e]
		}
		if strings.ContainsAny(body, "<>") {
			return true
		}
	}
	for i := strings.IndexByte(s, '<'); i >= 0 && i+2 < len(s); {
		j := i + 1
		closing := s[j] == '/'
		if closing {
			j++
		}
		k := j
		for k < len(s) && isAlnumByte(s[k]) {
			k++
		}
		if n := k - j; n > 0 && n <= len(buf) && isLetterByte(s[j]) {
			name := buf[:n]
			for m := range name {
				name[m] = lowerByte(s[j+m])
			}
			if !closing && scriptElements[string(name)] && (k == len(s) || !isAlnumByte(s[k]) && s[k] != '-' && s[k] != '_') {
				return true // <script#, <iframe/, <svg at the end: these open at once
			}
			if htmlElements[string(name)] && k < len(s) {
				switch c := s[k]; {
				case c == '>':
					return true
				case !closing && (c == ' ' || c == '/' || c == '\t' || c == '\n' || c == '\r' || c == '\f'):
					if e := strings.IndexByte(s[k:], '>'); e >= 0 || strings.IndexByte(s[k:], '=') >= 0 {
						return true
					}
				}
			}
		}
		n := strings.IndexByte(s[i+1:], '<')
		if n < 0 {
			return false
		}
		i += 1 + n
	}
	return false
}

// domSinks are the properties and calls of the DOM that script injections read or write, as
// the object before a dot and the name after it ("" for any object).
var domSinks = [...]struct{ object, name string }{
	{"document", "cookie"}, {"document", "write"}, {"document", "domain"}, {"document", "location"},
	{"document", "body"}, {"window", "location"}, {"location", "href"}, {"location", "replace"},
	{"localstorage", ""}, {"sessionstorage", ""}, {"", "innerhtml"}, {"", "outerhtml"},
	{"", "insertadjacenthtml"}, {"", "fromcharcode"}, {"", "parentnode"}, {"", "contentwindow"},
	{"", "contentdocument"}, {"", "ownerdocument"}, {"", "defaultview"},
}

// hasDOMSink reports one of domSinks, which only script names, or Firefox's -moz-binding. It
// looks at each dot once.
func hasDOMSink(s string) bool {
	for i := strings.IndexByte(s, '.'); i >= 0; {
		b := i
		for b > 0 && isLetterByte(s[b-1]) {
			b--
		}
		e := i + 1
		for e < len(s) && isLetterByte(s[e]) {
			e++
		}
		object, name := s[b:i], s[i+1:e]
		for _, d := range domSinks {
			if (d.object == "" || strings.EqualFold(object, d.object)) && (d.name == "" || strings.EqualFold(name, d.name)) {
				return true
			}
		}
		k := strings.IndexByte(s[i+1:], '.')
		if k < 0 {
			break
		}
		i += 1 + k
	}
	return strings.IndexByte(s, '-') >= 0 && containsFold(s, "-moz-binding")
}

// hasSQLProbe reports the short probes of SQL injection that test how a value is read: a
// boolean keyword and a truth value as the whole value ("AND 1", "OR true", "|| 0"), two numbers
// joined by an operator only SQL has ("1 xor 1", "1 rlike 1", "2 div 1", "1 || 1"), and a
// server variable ("@@version", "SELECT @@hostname").
func hasSQLProbe(s string) bool {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "@@") && len(t) > 2 && isLetterByte(t[2]) {
		return true
	}
	if i := strings.Index(t, " @@"); i >= 0 && i+3 < len(t) && isLetterByte(t[i+3]) {
		return true
	}
	// A keyword and a constant, nothing else.
	for _, kw := range [...]string{"and ", "or ", "xor ", "&& ", "|| ", "&&", "||"} {
		if hasPrefixFold(t, kw) {
			rest := strings.TrimSpace(t[len(kw):])
			if rest == "0" || rest == "1" || strings.EqualFold(rest, "true") || strings.EqualFold(rest, "false") ||
				strings.EqualFold(rest, "null") {
				return true
			}
			break
		}
	}
	// SQL Server's and MySQL's procedural statements.
	for i := 0; i < len(t); i++ {
		if i > 0 && t[i-1] != ';' && t[i-1] != ' ' || i > 0 && t[i-1] == ' ' && !strings.HasSuffix(strings.TrimRight(t[:i], " "), ";") {
			continue // only at the start of the value or of a statement
		}
		switch lowerByte(t[i]) {
		case 'd', 'e', 'p':
			for _, p := range [...]string{"declare @", "exec sp_", "exec xp_", "execute sp_", "execute xp_", "procedure analyse"} {
				if hasPrefixFold(t[i:], p) {
					return true
				}
			}
		}
	}
	// A number, a boolean keyword and a truth value at the end: "1 and true", "1 or false".
	if n := len(t); n > 0 && isDigitByte(t[0]) {
		for _, end := range [...]string{" and true", " and false", " or true", " or false"} {
			if len(t) > len(end) && strings.EqualFold(t[n-len(end):], end) && strings.Trim(t[:n-len(end)], "0123456789") == "" {
				return true
			}
		}
	}
	if isBareComparison(t) {
		return true
	}
	// A number, an operator of SQL's own, a number.
	i := 0
	for i < len(t) && isDigitByte(t[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	j := skipSQLSpace(t, i)
	op := sqlIdentAt(t, j)
	if op == "" && j+2 <= len(t) && (t[j:j+2] == "||" || t[j:j+2] == "&&") {
		op = t[j : j+2]
	}
	switch {
	case op == "||", op == "&&", strings.EqualFold(op, "xor"), strings.EqualFold(op, "rlike"),
		strings.EqualFold(op, "regexp"), strings.EqualFold(op, "div"), strings.EqualFold(op, "like"):
	default:
		return false
	}
	k := skipSQLSpace(t, j+len(op))
	m := k
	for m < len(t) && isDigitByte(t[m]) {
		m++
	}
	return m > k && k > j+len(op)-1 && (m == len(t) || !isAlnumByte(t[m]))
}

// isNumberThenComment reports a plain value that is a number and an SQL comment, with nothing
// or a name after it: "1--", "1--sp_password". A range written with two hyphens ("5--10") is
// not one.
func isNumberThenComment(v string) bool {
	i := 0
	for i < len(v) && isDigitByte(v[i]) {
		i++
	}
	if i == 0 || !strings.HasPrefix(v[i:], "--") {
		return false
	}
	rest := v[i+2:]
	return rest == "" || isLetterByte(rest[0])
}

// isSQLBooleanWord reports the keywords a quote skeleton may hold, in any case.
func isSQLBooleanWord(w string) bool {
	for _, k := range [...]string{"or", "and", "xor", "not", "like", "is", "null", "true", "false", "rlike", "regexp", "div"} {
		if strings.EqualFold(w, k) {
			return true
		}
	}
	return false
}

// breakoutStatements are the SQL keywords that begin a statement or a clause after a quote
// breaks out of a string literal.
var breakoutStatements = [...]string{
	"select", "union", "insert", "update", "delete", "drop", "exec", "execute", "declare",
	"waitfor", "shutdown", "truncate", "alter", "create", "having", "group", "order",
}

// hasQuoteThenStatement reports a value that opens with a quote (and a semicolon or bracket)
// followed at once by an SQL statement keyword and more: "';SELECT P", "'select H",
// "\");DROP x". A quoted word ('select' is a keyword) closes its quote after the word.
func hasQuoteThenStatement(s string) bool {
	i := skipSQLSpace(s, 0)
	if i >= len(s) || s[i] != '\'' && s[i] != '"' && s[i] != '`' {
		return false
	}
	q := s[i]
	i++
	for i < len(s) && (s[i] == ';' || s[i] == ')' || s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	w := sqlIdentAt(s, i)
	if strings.EqualFold(w, "or") || strings.EqualFold(w, "and") {
		// A boolean keyword glued to the quote first: "'or select *".
		if j := skipSQLSpace(s, i+len(w)); j > i+len(w) {
			i = j
			w = sqlIdentAt(s, i)
		}
	}
	for _, kw := range breakoutStatements {
		if strings.EqualFold(w, kw) {
			rest := s[i+len(w):]
			return rest != "" && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '(' || rest[0] == '/') &&
				strings.IndexByte(rest, q) < 0 && (hasAlnum(rest) || strings.IndexByte(rest, '*') >= 0)
		}
	}
	return false
}

// isBareComparison reports a value that is nothing but a comparison of two numbers as SQL
// writes it, the probe of a boolean condition: "1=1", "42<=>42", "11!=1", "2<>3". An
// equation of different numbers ("1=2") or arithmetic ("2+2=4") is not one.
func isBareComparison(t string) bool {
	i := 0
	for i < len(t) && isDigitByte(t[i]) {
		i++
	}
	if i == 0 || i == len(t) {
		return false
	}
	left := t[:i]
	var op string
	for _, o := range [...]string{"<=>", "!=", "<>", "="} {
		if strings.HasPrefix(t[i:], o) {
			op = o
			break
		}
	}
	if op == "" {
		return false
	}
	right := t[i+len(op):]
	if right == "" || strings.Trim(right, "0123456789") != "" {
		return false
	}
	return op != "=" || left == right
}
