package detect

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/corazawaf/libinjection-go"
)

// maxDecodeRounds is how many times a value is percent-decoded while %xx sequences remain:
// enough for the double and triple encodings scanners try (%252e, %%32%65, %25252e), and one
// more for a client that escapes such a payload once again.
const maxDecodeRounds = 4

// inspectValue inspects one string for traversal and injections, as it is and decoded.
// plus decodes '+' as a space, as in a query string.
func inspectValue(v string, plus bool) (rule, ev string, hit bool) {
	if isPlain(v) {
		if rule := plainRule(v); rule != "" {
			return rule, evidence(v), true
		}
		return "", "", false
	}
	return inspectVariants(v, plus, checkAll)
}

// plainRule names the rule a plain value (see isPlain) breaks, or "": the only injections
// such a value can hold are a command sent alone, a number with an SQL comment, and a DOM
// property named alone (document.cookie, x.innerHTML).
func plainRule(v string) string {
	switch {
	case isBareCommand(v) || isBareExecutable(v):
		return RuleCmdi
	case isNumberThenComment(v):
		return RuleSQLi
	case strings.IndexByte(v, '.') >= 0 && hasDOMSink(v):
		return RuleXSS
	case strings.IndexByte(v, '_') >= 0 && hasPlainSQLObject(v):
		return RuleSQLi
	}
	return ""
}

// plainSQLObjects are the sqlObjects that are nobody's identifier but a database's, so that
// they count even in a plain value ("--sp_password", "information_schema.tables"); names such
// as all_users or user_tables may be an application's own.
var plainSQLObjects = [...]string{
	"xp_", "sp_password", "sp_executesql", "sp_configure", "sp_oacreate", "sp_makewebtask", "sp_addlogin",
	"sp_addsrvrolemember", "utl_http", "utl_inaddr", "dbms_", "information_schema", "sqlite_master",
	"pg_shadow", "pg_catalog", "msysobjects",
}

// hasPlainSQLObject reports one of plainSQLObjects at the start of a word of v.
func hasPlainSQLObject(v string) bool {
	for i := 0; i < len(v); i++ {
		if i > 0 && isAlnumByte(v[i-1]) {
			continue
		}
		c := lowerByte(v[i])
		if c != 'x' && c != 's' && c != 'u' && c != 'd' && c != 'i' && c != 'p' && c != 'm' {
			continue
		}
		for _, o := range plainSQLObjects {
			if o[0] == c && hasPrefixFold(v[i:], o) {
				if o == "xp_" && (i+3 == len(v) || !isLetterByte(v[i+3])) {
					continue
				}
				return true
			}
		}
	}
	return false
}

// bareCommands are commands that injections send as the whole value, hoping a shell runs it,
// and that no one types as data: they are no word of any language.
var bareCommands = map[string]bool{
	"whoami": true, "ipconfig": true, "ifconfig": true, "systeminfo": true, "netstat": true,
	"uname": true, "tasklist": true, "printenv": true, "getent": true, "nslookup": true,
	"lsb_release": true, "sw_vers": true, "lsmod": true, "lastlog": true, "netsh": true,
	"driverquery": true, "dnsdomainname": true, "getmac": true, "qwinsta": true,
}

// isBareExecutable reports a plain value that is a Windows executable of shellCommands, bare:
// "cmd.exe", "powershell.exe", "calc.exe".
func isBareExecutable(v string) bool {
	if len(v) < 6 || len(v) > 24 || !hasPrefixFold(v[len(v)-4:], ".exe") {
		return false
	}
	var buf [20]byte
	w := buf[:len(v)-4]
	for i := range w {
		w[i] = lowerByte(v[i])
	}
	return shellCommands[string(w)] != 0
}

// isBareCommand reports a value that is one of bareCommands alone, in any case. It allocates
// nothing.
func isBareCommand(v string) bool {
	if len(v) < 5 || len(v) > 13 {
		return false
	}
	var buf [13]byte
	w := buf[:len(v)]
	for i := 0; i < len(v); i++ {
		w[i] = lowerByte(v[i])
	}
	return bareCommands[string(w)]
}

// The checks inspectVariants applies.
const (
	// checkTraversal: dot-dot segments, NUL bytes, well-known system files and file-inclusion
	// wrappers.
	checkTraversal = 1 << iota
	// checkInjection: libinjection's SQLi and XSS, and the rules that complete it.
	checkInjection
	// checkPattern: shell and header injection, event handlers and script URIs, SQL time
	// delays and stacked statements.
	checkPattern
	// checkLooseBreaks: take any line break in the value as an injection, as in a path, which
	// cannot hold one as text.
	checkLooseBreaks
	// checkOwnValue: the value stands on its own (not a path with segments before it), so
	// libinjection's SQL verdict counts, and the value is also read as if it followed a
	// number (see injectionRule). A path's earlier segments would change how libinjection
	// reads what follows them ("models/* Andrew" is a word and a comment).
	checkOwnValue

	checkAll = checkTraversal | checkInjection | checkPattern | checkOwnValue
)

// inspectVariants applies checks to v and to each of its normalised forms, stopping at the
// first hit: v folded (see fold), then decoded (%XX, and '+' when plus is set) and folded again,
// while something changes, up to maxDecodeRounds decodings.
func inspectVariants(v string, plus bool, checks int) (rule, ev string, hit bool) {
	// A line break sent as such may be multi-line text; one that decoding or folding brought
	// in is an injection.
	rawBreaks := checks&checkLooseBreaks == 0 && strings.ContainsAny(v, "\r\n")
	s := v
	for round := 0; ; round++ {
		// A query value means what it decodes to: its raw form, '+' and all, is not text.
		encoded := plus && round == 0 && hasEscape(s, true)
		if rule = variantRule(s, checks, encoded, rawBreaks); rule != "" {
			return rule, evidence(s), true
		}
		if f, changed := fold(s); changed {
			if rule = variantRule(f, checks, encoded, rawBreaks); rule != "" {
				return rule, evidence(f), true
			}
			s = f
		}
		if round == maxDecodeRounds {
			return "", "", false
		}
		next, changed := unescapeLenient(s, plus && round == 0)
		if !changed {
			return "", "", false
		}
		if u, nested := unnestEscapes(s); nested {
			// "%%0a0a": a decoder that removes the inner escape is left with "%0a".
			if rule = variantRule(u, checks, false, rawBreaks); rule != "" {
				return rule, evidence(u), true
			}
			if u, changed := unescapeLenient(u, false); changed {
				if rule = variantRule(u, checks, false, rawBreaks); rule != "" {
					return rule, evidence(u), true
				}
			}
		}
		s = next
	}
}

// variantRule applies checks to one form of a value and names the rule that fires, or "".
// encoded tells a raw query value, which only the traversal checks read; rawBreaks that the
// value as sent held line breaks.
func variantRule(s string, checks int, encoded, rawBreaks bool) string {
	if checks&checkTraversal != 0 && (hasTraversal(s) || hasFileTarget(s) || hasSystemPath(s)) {
		return RuleTraversal
	}
	if encoded || isPlain(s) {
		return ""
	}
	if checks&checkInjection != 0 {
		if rule := injectionRule(s, checks&checkOwnValue != 0); rule != "" {
			return rule
		}
	}
	if checks&checkPattern != 0 {
		switch {
		case hasShellInjection(s), isMailCommandValue(s):
			return RuleCmdi
		case hasHeaderInjection(s, !rawBreaks):
			return RuleCRLF
		case hasSQLTiming(s), hasStackedQuery(s), hasSQLFunctionCall(s), hasSQLList(s),
			hasQuoteBreakout(s), hasNumberComment(s), hasSQLStatement(s), hasNumberComparison(s),
			hasQuoteThenComment(s), hasBacktickIdentifier(s), hasSelectAtStart(s), hasQuoteSkeleton(s),
			hasCommentSplit(s), hasMongoOperator(s), hasPostgresCast(s), hasSQLProbe(s), hasQuoteThenStatement(s),
			hasListTautology(s), hasJSONOperator(s), hasAliasFrom(s), hasFromClause(s), hasQuoteThenCall(s),
			hasVendorSQLCall(s), hasCommentThenStatement(s), hasVariableAssignment(s), hasSubquery(s),
			hasFileStatement(s), hasLooseTiming(s), hasNoSQLScript(s), hasCreateRoutine(s):
			return RuleSQLi
		case hasEventHandler(s), hasBareEventHandler(s), hasScriptScheme(s), hasScriptCall(s), hasHTMLTag(s), hasDOMSink(s), hasJSFuck(s):
			return RuleXSS
		}
	}
	return ""
}

// injectionRule runs libinjection on s (its SQL verdict, on s as it is and after a number, only
// when ownValue is set), then the few narrow rules that cover what it leaves out: RuleSQLi,
// RuleXSS or "".
func injectionRule(s string, ownValue bool) string {
	// Without ownValue, neither libinjection's SQL verdict nor the numeric context: the narrow
	// SQL rules below and XSS still apply.
	if ownValue {
		if ok, fp := libinjection.IsSQLi(s); ok && !benignSQLi(s, fp) {
			return RuleSQLi
		}
	}
	if ownValue && hasSQLSyntax(s) && hasAlnum(s) {
		// libinjection reads a value as it is and as if it followed a quote, but not as if it
		// followed a number, as in "WHERE id = " + value: the context of " OR 1=1",
		// " ORDER BY 1--" and the like. Only verdicts whose fingerprint holds more than
		// keywords and words count, and only for values with SQL punctuation and a word or
		// number: punctuation alone ("!@#$%^&") says nothing after a number, nor does a path
		// ("/models/...": its last segment is tried alone).
		n := "1 " + s
		if ok, fp := libinjection.IsSQLi(n); ok && len(fp) > 1 && strings.ContainsAny(fp[1:], "&oU;()f1sv,") && !benignSQLi(n, fp) {
			return RuleSQLi
		}
	}
	if hasTautology(s) || hasUnionSelect(s) || hasSQLServerObject(s) || strings.Contains(s, "/*!") {
		return RuleSQLi
	}
	if libinjection.IsXSS(s) {
		return RuleXSS
	}
	// Browsers drop tabs and line breaks inside a URL scheme ("jav&#x09;ascript:"), which
	// libinjection does not.
	if strings.IndexByte(s, '<') >= 0 {
		if n, changed := stripHTMLSpace(s); changed && libinjection.IsXSS(n) {
			return RuleXSS
		}
	}
	return ""
}

// hasTautology reports a value compared with itself after a boolean keyword: "OR x=x",
// "AND 1083=1083", "or 'a'='a", "WHERE 1=1", "|| 2=2", "NOT [x]=[x]" (T-SQL quotes names in
// brackets). Prose does not compare a word with itself.
func hasTautology(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			continue
		}
		j := i
		for j > 0 && isSQLSpaceOrQuote(s[j-1]) {
			j--
		}
		end := j
		for j > 0 && isIdentByte(s[j-1]) {
			j--
		}
		left := s[j:end]
		k := i + 1
		for k < len(s) && isSQLSpaceOrQuote(s[k]) {
			k++
		}
		start := k
		for k < len(s) && isIdentByte(s[k]) {
			k++
		}
		if left == "" || !strings.EqualFold(left, s[start:k]) {
			continue
		}
		m := j
		for m > 0 && (isSQLSpaceOrQuote(s[m-1]) || s[m-1] == '(') {
			m--
		}
		if strings.HasSuffix(s[:m], "||") || strings.HasSuffix(s[:m], "&&") {
			return true
		}
		kwEnd := m
		for m > 0 && isAlnumByte(s[m-1]) {
			m--
		}
		switch kw := s[m:kwEnd]; {
		case strings.EqualFold(kw, "or"), strings.EqualFold(kw, "and"), strings.EqualFold(kw, "xor"),
			strings.EqualFold(kw, "where"), strings.EqualFold(kw, "having"), strings.EqualFold(kw, "not"):
			return true
		}
	}
	return false
}

// hasAlnum reports whether s holds an ASCII letter or digit.
func hasAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if isAlnumByte(s[i]) {
			return true
		}
	}
	return false
}

func isIdentByte(c byte) bool { return isAlnumByte(c) || c == '_' }

// isSQLSpaceOrQuote reports white space, a quote or a bracket that quotes a T-SQL name.
func isSQLSpaceOrQuote(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\'' || c == '"' || c == '`' || c == '[' || c == ']'
}

// hasUnionSelect reports "UNION [ALL|DISTINCT] SELECT" (words apart by spaces or /* */
// comments) that is not followed by a word: the skeleton of a UNION injection, which
// libinjection does not flag until columns follow. "Union Select Committee" is prose.
func hasUnionSelect(s string) bool {
	for i := 0; i+5 <= len(s); i++ {
		if !strings.EqualFold(s[i:i+5], "union") || (i > 0 && isLetterByte(s[i-1])) {
			continue
		}
		j := skipSQLSpace(s, i+5)
		if j == i+5 {
			continue
		}
		for _, q := range [...]string{"all", "distinctrow", "distinct"} {
			if j+len(q) <= len(s) && strings.EqualFold(s[j:j+len(q)], q) {
				if k := skipSQLSpace(s, j+len(q)); k > j+len(q) {
					j = k
				}
			}
		}
		if j+6 > len(s) || !strings.EqualFold(s[j:j+6], "select") {
			continue
		}
		j = skipSQLSpace(s, j+6)
		if j == len(s) || !isLetterByte(s[j]) {
			return true
		}
	}
	return false
}

// skipSQLSpace returns the index after the white space and /* */ comments at s[i:].
func skipSQLSpace(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '+' || s[i] == '\v' || s[i] == '\f':
			i++
		case s[i] == '#' || s[i] == '-' && i+1 < len(s) && s[i+1] == '-':
			// A line comment stands for white space when a line break ends it: "union#\nselect".
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return i
			}
			i += end + 1
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return len(s)
			}
			i += end + 4
		default:
			return i
		}
	}
	return i
}

func isLetterByte(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// hasSQLServerObject reports the name of a database procedure, package or catalogue that
// injections call and that no ordinary text contains: xp_cmdshell, utl_http,
// information_schema and the like.
func hasSQLServerObject(s string) bool {
	if strings.IndexByte(s, '_') < 0 && strings.IndexByte(s, '.') < 0 && strings.IndexByte(s, '$') < 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i > 0 && isIdentByte(s[i-1]) {
			continue
		}
		for _, name := range sqlObjectIndex[lowerByte(s[i])] {
			if len(s)-i >= len(name) && strings.EqualFold(s[i:i+len(name)], name) {
				return true
			}
		}
	}
	return false
}

// sqlObjects are stored procedures, packages and system catalogues of SQL Server, Oracle,
// PostgreSQL, MySQL and SQLite that injections call or read, lower case.
var sqlObjects = [...]string{
	"xp_cmdshell", "xp_regread", "xp_dirtree", "sp_password", "sp_executesql",
	"utl_http", "utl_inaddr", "dbms_pipe", "information_schema",
	"xp_reg", "xp_servicecontrol", "xp_availablemedia", "xp_fileexist", "xp_subdirs",
	"sp_addlogin", "sp_addsrvrolemember", "sp_configure", "sp_oacreate", "sp_makewebtask",
	"pg_catalog", "pg_shadow", "pg_user", "pg_database", "pg_tables", "sqlite_master",
	"sqlite_schema", "msysobjects", "mysql.user", "mysql.db", "sys.tables", "sys.objects",
	"sys.columns", "sys.databases", "sys.sql_logins", "sys.user$", "all_tables",
	"all_tab_columns", "all_users", "user_tables", "dba_users", "dba_tables", "v$version",
	"v$instance", "dbms_java", "dbms_xmlgen", "dbms_lock",
}

// sqlObjectIndex holds sqlObjects by their first byte, so that hasSQLServerObject reads a value
// once. It is built once and only read.
var sqlObjectIndex = func() (ix [256][]string) {
	for _, o := range sqlObjects {
		ix[o[0]] = append(ix[o[0]], o)
	}
	return ix
}()

// stripHTMLSpace removes tabs, line breaks and their numeric character references (&#9;,
// &#x0A;, &#0000013 ...) from s.
func stripHTMLSpace(s string) (string, bool) {
	if !strings.ContainsAny(s, "\t\n\r") && !strings.Contains(s, "&#") {
		return s, false
	}
	b := make([]byte, 0, len(s))
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\n' || c == '\r' {
			changed = true
			continue
		}
		if c == '&' && i+2 < len(s) && s[i+1] == '#' {
			if v, n := parseCharRef(s[i+2:]); n > 0 && (v == 9 || v == 10 || v == 13) {
				changed = true
				i += 1 + n
				continue
			}
		}
		b = append(b, c)
	}
	return string(b), changed
}

// parseCharRef parses the part of a numeric character reference after "&#": decimal or x-hex
// digits and an optional ';'. It returns the value and the bytes consumed (0: none).
func parseCharRef(s string) (v, n int) {
	base := 10
	if len(s) > 0 && (s[0] == 'x' || s[0] == 'X') {
		base, n = 16, 1
	}
	start := n
	for n < len(s) && n-start < 8 {
		c := s[n]
		if !('0' <= c && c <= '9' || base == 16 && isHex(c)) {
			break
		}
		v = v*base + int(unhex(c))
		n++
	}
	if n == start {
		return 0, 0
	}
	if n < len(s) && s[n] == ';' {
		n++
	}
	return v, n
}

// hasSQLSyntax reports whether s holds a character or sequence that SQL gives a meaning and
// prose rarely uses: quotes, comparisons, brackets, statement and comment markers.
func hasSQLSyntax(s string) bool {
	return strings.ContainsAny(s, "=<>()'\"`;#*@|&,") || strings.Contains(s, "--") || strings.Contains(s, "/*")
}

// benignSQLi reports whether a libinjection SQLi verdict with fingerprint fp is a known false
// positive on ordinary text:
//   - a word followed by a comment ("nc": "models/* Andrew", "admin--"), which breaks out of
//     nothing and adds nothing;
//   - a dash written "--" between two words ("Info-ZIP--must be marked") with no quote about,
//     when the text read with a dash there is not SQL;
//   - a number followed by " -- " and more words ("7-Eleven -- open late", "Save 50% -- today
//     only") is prose with a dash, which libinjection reads as a number and a comment ("1c");
//     a number and a comment that ends the value ("1 --") is still flagged;
//   - an e-mail address in any legal form ("john smith"@example.com), whose quotes and
//     symbols are the address's own;
//   - a sentence with a remark in brackets or a word in double quotes ("while (foo) is bar.",
//     "One quarter (24%) of people", `"You" is you, if ...`), which libinjection reads as a
//     function call or a string (see isParentheticalProse), unless it holds a SELECT with a
//     FROM or a UNION;
//   - a sentence that happens to parse as a statement ("Select 7 items from the vegan range",
//     fingerprint E1nkn) is not an injection when it holds nothing but words, numbers, spaces,
//     sentence punctuation and apostrophes within words: with no quote, operator, comment or
//     bracket it can neither break out of a literal nor be stacked onto a query.
func benignSQLi(s, fp string) bool {
	if isEmailAddress(s) || isEmailAddress(strings.TrimPrefix(s, "1 ")) {
		return true
	}
	if (strings.IndexByte(fp, '(') >= 0 || strings.IndexByte(s, '"') >= 0) && isParentheticalProse(s) && !hasSelectSkeleton(s) {
		return true
	}
	if fp == "nc" {
		return true // a word and a comment: nothing broken out of, nothing after
	}
	if !strings.ContainsAny(s, "'\"`") && hasDashBetweenWords(s) {
		// "Info-ZIP--must be marked": a dash written as two hyphens between words, which
		// libinjection reads as a comment. Read as a dash, is it still SQL?
		if ok, _ := libinjection.IsSQLi(strings.ReplaceAll(s, "--", " - ")); !ok {
			return true
		}
	}
	switch {
	case fp == "1c":
		i := strings.Index(s, " -- ")
		return i >= 0 && strings.IndexFunc(s[i+4:], isWordRune) >= 0
	case strings.HasPrefix(fp, "E"):
		return isProse(s)
	}
	return false
}

// hasDashBetweenWords reports "--" with a letter on each side.
func hasDashBetweenWords(s string) bool {
	for i := 1; i+2 < len(s); i++ {
		if s[i] == '-' && s[i+1] == '-' && isLetterByte(s[i-1]) && isLetterByte(s[i+2]) {
			return true
		}
	}
	return false
}

// hasSelectSkeleton reports SELECT with FROM or UNION anywhere in s: a query, however wordy.
func hasSelectSkeleton(s string) bool {
	return containsFold(s, "select") && (containsFold(s, "from") || containsFold(s, "union"))
}

// isProse reports whether s is only letters, digits, spaces, ",.!?:" and apostrophes that
// follow a letter (O'Neill's, kids').
func isProse(s string) bool {
	prev := ' '
	for _, r := range s {
		switch {
		case isWordRune(r), r == ' ', strings.ContainsRune(",.!?:", r):
		case r == '\'' && unicode.IsLetter(prev):
		default:
			return false
		}
		prev = r
	}
	return true
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// isPlainByte reports whether c is one of [A-Za-z0-9_.:-]: the characters of identifiers,
// numbers, timestamps and host names, none of which can open an injection.
func isPlainByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == ':' || c == '-'
}

// isPlain reports whether s is made only of [A-Za-z0-9_.:-].
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isPlainByte(s[i]) {
			return false
		}
	}
	return true
}

// isPlainPath reports whether p is made only of [A-Za-z0-9_.:~/-] without a "..".
func isPlainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; !isPlainByte(c) && c != '/' && c != '~' {
			return false
		}
	}
	return !strings.Contains(p, "..")
}

// isPlainList reports whether v is a list of plain tokens and token=token pairs separated by
// commas or semicolons (and spaces next to them): forwarded-for lists, trace ids, versions.
func isPlainList(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isPlainByte(c) || c == '=' || c == ',' || c == ';' {
			continue
		}
		if c != ' ' {
			return false
		}
		// A space must sit between a separator and a token, or at an end.
		j := i
		for j > 0 && v[j-1] == ' ' {
			j--
		}
		k := i
		for k < len(v) && v[k] == ' ' {
			k++
		}
		if j > 0 && k < len(v) && v[j-1] != ',' && v[j-1] != ';' && v[k] != ',' && v[k] != ';' {
			return false
		}
		i = k - 1
	}
	return true
}

// hasEscape reports whether s holds a valid %XX sequence, or a '+' when plus is set.
func hasEscape(s string, plus bool) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) || plus && s[i] == '+' {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// unescapeLenient decodes every valid %XX sequence of s, and '+' as a space when plus is set,
// leaving malformed escapes as they are (net/url would refuse the whole string, which is
// exactly what an evasion wants). It allocates only when there is something to decode.
func unescapeLenient(s string, plus bool) (string, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			n++
			i += 2
		} else if plus && s[i] == '+' {
			n++
		}
	}
	if n == 0 {
		return s, false
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case plus && c == '+':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

// unnestEscapes removes every %XX escape that stands inside another, between a '%' and two
// hex digits ("%%0a0a" becomes "%0a", "%%2e2e" "%2e"), as a filter that strips the inner
// escape once leaves the outer for the next decoder. It reports whether there was one, and
// allocates only then.
func unnestEscapes(s string) (string, bool) {
	i := strings.Index(s, "%%")
	if i < 0 || !isNested(s, i) {
		return s, false
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && isNested(s, i) {
			b = append(b, '%')
			i += 3 // the inner escape
			continue
		}
		b = append(b, s[i])
	}
	return string(b), true
}

// isNested reports whether s[i:] is '%', an escape %XX and two hex digits.
func isNested(s string, i int) bool {
	return i+5 < len(s) && s[i] == '%' && s[i+1] == '%' && isHex(s[i+2]) && isHex(s[i+3]) && isHex(s[i+4]) && isHex(s[i+5])
}

// queryUnescapeLenient decodes a query string name for a Finding's location.
func queryUnescapeLenient(s string) string {
	u, _ := unescapeLenient(s, true)
	return u
}

// Classes of path characters for hasTraversal.
const (
	clsOther = iota
	clsWord  // an ASCII letter or digit
	clsDot   // '.' and its overlong and full-width forms
	clsSlash // '/', '\' and their overlong, full-width and look-alike forms
	clsNUL
)

// pathClass classifies the character at s[i] and returns its width in bytes. The overlong
// UTF-8 forms (%c0%ae, %c0%af, %c1%9c, %e0%80%ae) are what old decoders turned into dots and
// slashes after checking for them.
func pathClass(s string, i int) (cls, width int) {
	c := s[i]
	switch {
	case c == '.':
		return clsDot, 1
	case c == '/' || c == '\\':
		return clsSlash, 1
	case c == 0:
		return clsNUL, 1
	case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9':
		return clsWord, 1
	case c < 0xc0:
		return clsOther, 1
	}
	rest := s[i:]
	switch {
	case strings.HasPrefix(rest, "\xc0\xae"):
		return clsDot, 2
	case strings.HasPrefix(rest, "\xc0\xaf"), strings.HasPrefix(rest, "\xc1\x9c"):
		return clsSlash, 2
	case strings.HasPrefix(rest, "\xe0\x80\xae"), strings.HasPrefix(rest, "\xef\xbc\x8e"):
		return clsDot, 3
	case strings.HasPrefix(rest, "\xe0\x80\xaf"), strings.HasPrefix(rest, "\xef\xbc\x8f"),
		strings.HasPrefix(rest, "\xef\xbc\xbc"), strings.HasPrefix(rest, "\xe2\x88\x95"),
		strings.HasPrefix(rest, "\xe2\x88\x96"):
		return clsSlash, 3
	}
	return clsOther, 1
}

// hasTraversalByte reports whether s holds a byte a traversal needs: a dot, a NUL, or the
// lead byte of an overlong or full-width dot (0xc0, 0xe0, 0xef).
func hasTraversalByte(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.', 0x00, 0xc0, 0xe0, 0xef:
			return true
		}
	}
	return false
}

// hasTraversal reports whether s holds a NUL byte or a dot-dot path segment: two or more dots
// that follow the start of s, a slash or punctuation (not a word: "wait.../" is text) and
// precede a slash, or that follow a slash and end s or precede a NUL, '%', ';', '?' or '#'.
// A value that is only dots counts when it is "..": "..." alone is an ellipsis.
func hasTraversal(s string) bool {
	if !hasTraversalByte(s) {
		return false
	}
	prev := clsSlash // the start of s is a boundary
	start := true
	for i := 0; i < len(s); {
		cls, w := pathClass(s, i)
		if cls == clsNUL {
			return true
		}
		if cls != clsDot {
			prev, start = cls, false
			i += w
			continue
		}
		dots, j := 0, i
		for j < len(s) {
			c, w := pathClass(s, j)
			if c != clsDot {
				break
			}
			dots++
			j += w
		}
		if dots >= 2 && prev != clsWord {
			if j == len(s) {
				if (start && dots == 2) || (!start && prev == clsSlash) {
					return true
				}
			} else if next, _ := pathClass(s, j); next == clsSlash {
				return true
			} else if prev == clsSlash && (next == clsNUL || strings.IndexByte("%;?#", s[j]) >= 0) {
				return true
			}
		}
		prev, start = clsDot, false
		i = j
	}
	return false
}

// scannerToken reports the scanner a User-Agent names, if any: a known tool name as a whole
// word (so "vega/1.0" would match "vega" but "veganism" would not), case-insensitive.
func scannerToken(ua string) (string, bool) {
	var buf [40]byte
	for i := 0; i < len(ua); {
		if !isAlnumByte(ua[i]) {
			i++
			continue
		}
		j := i
		for j < len(ua) && isAlnumByte(ua[j]) {
			j++
		}
		if j-i >= 3 && j-i <= len(buf) {
			w := buf[:j-i]
			for k := range w {
				w[k] = lowerByte(ua[i+k])
			}
			if scannerWords[string(w)] && !genericClientWord(ua, i, string(w)) {
				return string(w), true
			}
		}
		i = j
	}
	// Signatures that are not a single word.
	for i := 0; i < len(ua); i++ {
		for _, p := range scannerPhraseIndex[lowerByte(ua[i])] {
			if len(ua)-i >= len(p) && strings.EqualFold(ua[i:i+len(p)], p) {
				return p, true
			}
		}
	}
	return "", false
}

// genericClientWord reports the scanner words that are also part of an ordinary client's name:
// python-httpx (the Python library, not ProjectDiscovery's httpx), aws-xray (the AWS SDK).
func genericClientWord(ua string, i int, w string) bool {
	switch w {
	case "httpx":
		return i >= 7 && strings.EqualFold(ua[i-7:i], "python-")
	case "xray":
		return i >= 4 && strings.EqualFold(ua[i-4:i], "aws-")
	}
	return false
}

// scannerWords are the attack tools, vulnerability scanners, callback services and
// self-announcing Internet survey scanners whose User-Agent names them, as lower-case words.
// The list follows the OWASP Core Rule Set's scanners-user-agents.data, with the tools it
// leaves out that announce themselves too; it holds no search-engine crawler and no generic
// HTTP client (curl, python-requests, Go-http-client, Java, okhttp, Wget, PowerShell ...).
var scannerWords = map[string]bool{
	// Injection and fuzzing tools.
	"sqlmap": true, "havij": true, "sqlninja": true, "ghauri": true, "jsql": true, "bsqlbf": true,
	"commix": true, "xsstrike": true, "xsser": true, "dalfox": true, "sstimap": true, "tplmap": true,
	"tinja": true, "fimap": true, "lfisuite": true, "lfimap": true, "kadimus": true, "dotdotpwn": true,
	"wfuzz": true, "ffuf": true, "jbrofuzz": true, "bfac": true, "graphw00f": true, "whatwaf": true,
	"wafw00f": true, "shortscan": true, "noseyparker": true, "trufflehog": true,
	// Content discovery and crawling for attack surface.
	"dirbuster": true, "gobuster": true, "feroxbuster": true, "dirsearch": true, "dirb": true,
	"gospider": true, "hakrawler": true, "crawlergo": true,
	// Vulnerability scanners and web proxies.
	"nikto": true, "nuclei": true, "jaeles": true, "xray": true, "httpx": true,
	"projectdiscovery": true, "acunetix": true, "netsparker": true, "invicti": true,
	"appscan": true, "appspider": true, "webinspect": true, "burp": true, "burpsuite": true,
	"zap": true, "owasp": true, "arachni": true, "w3af": true, "skipfish": true, "wapiti": true,
	"ironwasp": true, "paros": true, "webshag": true,
	"webbandit": true, "libwhisker": true, "whatweb": true, "wpscan": true, "wprecon": true,
	"wpprobe": true, "joomscan": true, "droopescan": true, "cmsmap": true, "nettacker": true,
	"detectify": true, "nessus": true, "openvas": true, "qualys": true, "qualysguard": true,
	"tenable": true, "nexpose": true, "tsunamisecurityscanner": true, "sysscan": true,
	"morfeus": true, "jorgee": true, "zmeu": true, "mozlila": true, "hexometer": true,
	"betabot": true, "netlab360": true, "sitelockspider": true, "securityagent": true,
	"probely": true,
	// Password guessing.
	"brutus": true,
	// Port and service scanners.
	"nmap": true, "masscan": true, "zgrab": true, "zmap": true,
	// Out-of-band callback markers.
	"interactsh": true, "oast": true, "oastify": true, "burpcollaborator": true,
	"canarytokens": true, "dnslog": true,
	// Internet-wide survey scanners that announce themselves.
	"censys": true, "censysinspect": true, "shodan": true, "internetmeasurement": true,
	"expanse": true, "scaninfo": true, "l9explore": true, "l9tcpid": true, "leakix": true,
	"netsystemsresearch": true, "stretchoid": true, "onyphe": true, "binaryedge": true,
	"shadowserver": true, "criminalip": true, "internetcensus": true, "researchscan": true,
	"netcraftsurveyagent": true, "modat": true, "fofa": true, "zoomeye": true,
	"netcraft": true, "xpanse": true, "rapid7": true,
	// Older and less common web attack tools (the Core Rule Set's earlier scanner list and
	// others of their kind).
	"cgichk": true, "datacha0s": true, "inspath": true, "jaascois": true,
	"mysqloit": true, "nsauditor": true, "pmafind": true,
	"springenwerk": true, "uil2pn": true, "voideye": true, "whcc": true, "grendel": true,
	"gootkit": true, "webvulnscan": true,
	"nosqlmap": true, "sqlsus": true, "bbqsql": true, "dsss": true, "dsxs": true,
	"xsshunter": true, "ssrfmap": true, "gopherus": true, "jexboss": true, "ysoserial": true,
	"cmseek": true, "blindelephant": true, "golismero": true, "uniscan": true, "vulnx": true,
	"pocsuite": true, "pocsuite3": true, "afrog": true, "vulmap": true,
	"fscan": true, "dismap": true, "xsrfprobe": true,
	"h2csmuggler": true, "padbuster": true, "davtest": true, "weevely": true,
	"testssl": true, "sslyze": true, "sslscan": true, "wpforce": true,
	// Reconnaissance and exploitation frameworks (Kali Linux, ProjectDiscovery and others).
	"metasploit": true, "meterpreter": true, "msf": true, "sn1per": true, "osmedeus": true,
	"reconftw": true, "spiderfoot": true, "theharvester": true,
	"subfinder": true, "sublist3r": true, "assetfinder": true, "naabu": true,
	"dnsx": true, "tlsx": true, "cariddi": true, "waybackurls": true,
	"httprobe": true, "arjun": true, "paramspider": true, "kiterunner": true, "dirhunt": true,
	"dnsrecon": true, "dnsenum": true, "enum4linux": true, "smbmap": true,
	"crackmapexec": true, "netexec": true, "impacket": true, "evilginx": true, "gophish": true,
	"rustscan": true, "unicornscan": true, "hping": true, "hping3": true, "bbot": true,
	"patator": true, "ncrack": true, "hashcat": true, "cewl": true,
	"zgrab2": true, "httpx2": true, "webscarab": true, "zollard": true, "fhscan": true,
	"cansina": true, "brutespray": true, "xenotix": true, "sqlbrute": true,
}

// scannerPhrases are signatures that are not a single word.
var scannerPhrases = [...]string{
	"fuzz faster", "(hydra)", "interact.sh", ".oast.", "internet-measurement",
	"n-stalker", "bewica-security-scan", "graphql-cop", "yeswehack", "compatible; panoptic",
	"mozilla/5.g", "user-agent:", "domino hunter", "internet ninja", "teh forest lobster",
	"toata dragostea", "get-minimal", "core-project/", "s.t.a.l.k.e.r", "security scan",
	"security analyzer", "project sonar", "palo alto networks", "thc-", "nmap scripting",
	"sql power injector", "this is an exploit", "xmlrpc exploit", "hash grabber", "auto-rooter",
	"cobalt strike",
}

// scannerPhraseIndex holds scannerPhrases by their first byte, so that scannerToken reads a
// User-Agent once. It is built once and only read.
var scannerPhraseIndex = func() (ix [256][]string) {
	for _, p := range scannerPhrases {
		ix[p[0]] = append(ix[p[0]], p)
	}
	return ix
}()

func isAlnumByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// containsFold reports whether s contains sub, ignoring ASCII case; sub is lower case.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if lowerByte(s[i]) == sub[0] && strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// evidence quotes a value for Finding.Evidence.
func evidence(s string) string { return sanitize(s, maxEvidence) }

// sanitize returns at most limit bytes of s, with control characters and invalid UTF-8
// replaced by '?' and "..." appended when cut: safe to put in a log line. The result never
// shares memory with s, which may be a caller's reused buffer.
func sanitize(s string, limit int) string {
	clean := len(s) <= limit
	for i := 0; clean && i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			clean = false
		}
	}
	if clean {
		return strings.Clone(s)
	}
	var b strings.Builder
	b.Grow(min(len(s), limit) + 3)
	for _, r := range s {
		n := utf8.RuneLen(r)
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (0x80 <= r && r < 0xa0) {
			r, n = '?', 1
		}
		if b.Len()+n > limit {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
