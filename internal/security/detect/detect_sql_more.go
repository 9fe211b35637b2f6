package detect

import "strings"

// sqlVendorPrefixes begin the names of the routines a database ships in its own namespace:
// MySQL's and SQLite's json_ functions, PostgreSQL's pg_ and lo_, SQLite's sqlite_, Oracle's
// packages, UDFs planted for command execution (sys_eval). Lower case.
var sqlVendorPrefixes = [...]string{"json_", "sqlite_", "pg_", "lo_", "utl_", "dbms_", "sys_", "ctxsys."}

// sqlRoutines are SQLite's routines whose names carry no vendor prefix and are no word.
var sqlRoutines = [...]string{"last_insert_rowid", "total_changes", "zeroblob", "typeof", "ifnull", "nullif", "coalesce"}

// hasVendorSQLCall reports a call of a database's own routine: a name that starts with one of
// sqlVendorPrefixes, or is one of sqlRoutines, followed (perhaps after comments) by '(' and
// an SQL argument (see isSQLArgument; an empty one only for SQLite's and PostgreSQL's names,
// sqlite_version(), pg_backend_pid(), last_insert_rowid()): "json_keys('{}')",
// "pg_read_file('x')", "sys_eval('id')", "dbms_pipe.receive_message(chr(65),5)". Code in
// changelogs calls sys_lseek() and SYS_FUNC(clone); an identifier without a bracket
// (pg_user) is hasSQLServerObject's.
func hasVendorSQLCall(s string) bool {
	if strings.IndexByte(s, '(') < 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := lowerByte(s[i])
		if !isLetterByte(c) || i > 0 && (isIdentByte(s[i-1]) || s[i-1] == '.') {
			continue
		}
		prefix := ""
		for _, p := range sqlVendorPrefixes {
			if p[0] == c && hasPrefixFold(s[i:], p) {
				prefix = p
				break
			}
		}
		n := len(prefix)
		if n == 0 {
			for _, r := range sqlRoutines {
				if r[0] == c && hasPrefixFold(s[i:], r) && (i+len(r) == len(s) || !isIdentByte(s[i+len(r)])) {
					// A routine without prefix counts only glued to its bracket.
					if k := i + len(r); k < len(s) && s[k] == '(' && isSQLArgument(s, k+1, true) {
						return true
					}
				}
			}
			continue
		}
		// The rest of the name, dotted parts included: dbms_pipe.receive_message.
		j := i + n
		for j < len(s) && (isIdentByte(s[j]) || s[j] == '.' && j+1 < len(s) && isLetterByte(s[j+1])) {
			j++
		}
		if j-(i+n) < 2 {
			continue
		}
		if k := skipBlockComments(s, j); k < len(s) && s[k] == '(' && isSQLArgument(s, k+1, prefix == "sqlite_" || prefix == "pg_") {
			return true
		}
	}
	return false
}

// isSQLArgument reports an argument list at s[i:] that opens as SQL's do: a digit, a quote,
// '(', '@', '*', 0x or SELECT, or — when empty is set — a ')' at once. Code in C or
// JavaScript passes names: SYS_FUNC(clone), json_object_new(int).
func isSQLArgument(s string, i int, empty bool) bool {
	i = skipSQLSpace(s, i)
	if i >= len(s) {
		return false
	}
	switch c := s[i]; {
	case c == ')':
		return empty
	case isDigitByte(c) || c == '\'' || c == '"' || c == '(' || c == '@' || c == '*' || c == '`':
		return true
	}
	return hasPrefixFold(s[i:], "select") || hasPrefixFold(s[i:], "chr(") || hasPrefixFold(s[i:], "char(") || hasPrefixFold(s[i:], "concat(")
}

// hasCommentThenStatement reports a statement that changes the schema or the rows after a
// comment that opens the value or follows a quote or a number: "# alter table",
// "1-- drop table users", "'*/ truncate table t", "'-- insert into". After a bracket it may
// close a parenthesis of prose: "(Select Comfort) -- Drop table tennis lessons".
// A comment hides the rest of the query that was broken out of, as a ';' does for
// hasStackedQuery; the keyword pair is what makes it SQL and not a dash in a sentence.
func hasCommentThenStatement(s string) bool {
	for i := 0; i < len(s); i++ {
		var j int
		switch {
		case s[i] == '#':
			j = i + 1
		case s[i] == '-' && i+1 < len(s) && s[i+1] == '-', s[i] == '*' && i+1 < len(s) && s[i+1] == '/':
			j = i + 2
		default:
			continue
		}
		// The comment ends a literal or a number the query held: "1-- drop", "x'# alter".
		// "Chick-fil-A -- Drop table tennis lessons" is a title and a dash.
		b := i
		for b > 0 && (s[b-1] == ' ' || s[b-1] == '\t') {
			b--
		}
		if b > 0 && !isDigitByte(s[b-1]) && strings.IndexByte("'\"`", s[b-1]) < 0 {
			continue
		}
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && isLetterByte(s[k]) {
			k++
		}
		if k == j || k == len(s) {
			continue
		}
		if next := skipSQLSpace(s, k); next > k && isDataStatement(s, s[j:k], next) {
			return true
		}
	}
	return false
}

// hasVariableAssignment reports a user variable assigned as MySQL and T-SQL write it:
// "SET @a=1", "set @q = 'x'", "@x:=(select", "select @v := 1". A handle (@john) is not
// followed by '=' or ":=".
func hasVariableAssignment(s string) bool {
	for i := strings.IndexByte(s, '@'); i >= 0; {
		j := i + 1
		if j < len(s) && s[j] == '@' {
			j++
		}
		k := j
		for k < len(s) && (isIdentByte(s[k]) || s[k] == '.') {
			k++
		}
		if k > j {
			m := k
			for m < len(s) && (s[m] == ' ' || s[m] == '\t') {
				m++
			}
			if strings.HasPrefix(s[m:], ":=") {
				return true
			}
			if m < len(s) && s[m] == '=' && (m+1 == len(s) || s[m+1] != '=') {
				b := i
				for b > 0 && (s[b-1] == ' ' || s[b-1] == '\t' || s[b-1] == '\n') {
					b--
				}
				if b < i && b >= 3 && strings.EqualFold(s[b-3:b], "set") && (b == 3 || !isIdentByte(s[b-4])) {
					return true
				}
			}
		}
		n := strings.IndexByte(s[i+1:], '@')
		if n < 0 {
			return false
		}
		i += 1 + n
	}
	return false
}

// hasSubquery reports a subquery opened where SQL compares or lists a value: "IN (SELECT",
// "exists(select", "= (select", "' (select top 1", "||(select". A parenthesis in prose
// ("colours (select one)") follows a word that is no SQL operator.
func hasSubquery(s string) bool {
	for i := strings.IndexByte(s, '('); i >= 0; {
		j := skipSQLSpace(s, i+1)
		if hasPrefixFold(s[j:], "select") && (j+6 == len(s) || !isIdentByte(s[j+6])) && isSelectList(s, j+6) {
			b := i
			for b > 0 && (s[b-1] == ' ' || s[b-1] == '\t' || s[b-1] == '\n' || s[b-1] == '+') {
				b--
			}
			if b > 0 {
				switch c := s[b-1]; {
				case c == '=' || c == '<' || c == '>' || c == '|' || c == '\'' || c == '"' || c == '`' || c == '&':
					return true
				case isLetterByte(c):
					w := b
					for w > 0 && isLetterByte(s[w-1]) {
						w--
					}
					if w == 0 || !isIdentByte(s[w-1]) {
						for _, kw := range [...]string{"in", "exists", "any", "all", "some", "not", "from", "union"} {
							if strings.EqualFold(s[w:b], kw) {
								return true
							}
						}
					}
				}
			}
		}
		n := strings.IndexByte(s[i+1:], '(')
		if n < 0 {
			return false
		}
		i += 1 + n
	}
	return false
}

// isSelectList reports a select list at s[i:] that SQL's is: it opens with a digit, '*', '@',
// a quote or a bracket, or with a word that FROM follows before the subquery closes.
// "(= (select as-array[f] x))" is a solver's, "(select one)" a sentence's.
func isSelectList(s string, i int) bool {
	i = skipSQLSpace(s, i)
	if i == len(s) {
		return true // cut off after the keyword: "' in (select"
	}
	if c := s[i]; isDigitByte(c) || strings.IndexByte("*@'\"`(", c) >= 0 {
		return true
	}
	rest := s[i:]
	if e := strings.IndexByte(rest, ')'); e >= 0 {
		rest = rest[:e]
	}
	for _, w := range [...]string{"from", "top"} {
		if k := indexFold(rest, w); k >= 0 && (k == 0 || !isIdentByte(rest[k-1])) && (k+len(w) == len(rest) || !isIdentByte(rest[k+len(w)])) {
			return true
		}
	}
	return false
}

// hasFileStatement reports SQL that reads or writes the server's files or runs a program:
// "INTO OUTFILE", "into dumpfile", "LOAD DATA [LOCAL] INFILE", PostgreSQL's
// "COPY ... TO PROGRAM '...'" and "FROM PROGRAM '...'".
func hasFileStatement(s string) bool {
	for i := 0; i < len(s); i++ {
		switch lowerByte(s[i]) {
		case 'i', 'l', 'p':
		default:
			continue
		}
		if i > 0 && isIdentByte(s[i-1]) {
			continue
		}
		switch {
		case hasPrefixFold(s[i:], "into"):
			j := skipSQLSpace(s, i+4)
			for _, w := range [...]string{"outfile", "dumpfile"} {
				if j > i+4 && hasPrefixFold(s[j:], w) && (j+len(w) == len(s) || !isIdentByte(s[j+len(w)])) {
					return true
				}
			}
		case hasPrefixFold(s[i:], "load"):
			j := skipSQLSpace(s, i+4)
			if j > i+4 && hasPrefixFold(s[j:], "data") {
				j = skipSQLSpace(s, j+4)
				if hasPrefixFold(s[j:], "local") {
					j = skipSQLSpace(s, j+5)
				}
				if hasPrefixFold(s[j:], "infile") {
					return true
				}
			}
		case hasPrefixFold(s[i:], "program"):
			j := skipSQLSpace(s, i+7)
			if j > i+7 && j < len(s) && (s[j] == '\'' || s[j] == '$') && containsFold(s[:i], "copy") {
				return true
			}
		}
	}
	return false
}

// hasLooseTiming reports the time-delay calls of blind injection with an argument that is not
// a number (hasSQLTiming's): "benchmark(n,md5(1))" with any arguments, "sleep(__TIME__)",
// "pg_sleep([SLEEPTIME])", "sleep(@t)" — a placeholder, variable or bind parameter — and
// "or sleep(x)" after an SQL operator.
func hasLooseTiming(s string) bool {
	for i := 0; i < len(s); i++ {
		c := lowerByte(s[i])
		if c != 's' && c != 'b' && c != 'p' || i > 0 && isIdentByte(s[i-1]) {
			continue
		}
		var fn string
		for _, f := range [...]string{"sleep", "pg_sleep", "benchmark"} {
			if f[0] == c && hasPrefixFold(s[i:], f) {
				fn = f
				break
			}
		}
		j := i + len(fn)
		if fn == "" || j >= len(s) || s[j] != '(' {
			continue
		}
		k := j + 1
		if fn == "benchmark" {
			// benchmark(count, expression): a comma inside the bracket.
			if e := strings.IndexByte(s[k:], ')'); e > 0 && strings.IndexByte(s[k:k+e], ',') > 0 {
				return true
			}
			continue
		}
		if k < len(s) && strings.IndexByte("_[$:{?", s[k]) >= 0 {
			return true
		}
		e := strings.IndexByte(s[k:], ')')
		if e <= 0 || !isLetterByte(s[k]) {
			continue
		}
		for m := k; m < k+e; m++ {
			if !isIdentByte(s[m]) {
				e = -1
				break
			}
		}
		if e < 0 {
			continue
		}
		b := i
		for b > 0 && (s[b-1] == ' ' || s[b-1] == '\t') {
			b--
		}
		if b > 0 && strings.IndexByte("(,=|&'\"", s[b-1]) >= 0 {
			return true
		}
		w := b
		for w > 0 && isLetterByte(s[w-1]) {
			w--
		}
		for _, kw := range [...]string{"or", "and", "xor", "select", "rlike", "if", "then", "else", "where"} {
			if strings.EqualFold(s[w:b], kw) {
				return true
			}
		}
	}
	return false
}

// mongoMethods are the collection methods of the MongoDB shell, lower case.
var mongoMethods = [...]string{
	"find", "findone", "insert", "insertone", "insertmany", "remove", "update", "updateone",
	"updatemany", "deleteone", "deletemany", "drop", "aggregate", "count", "mapreduce",
}

// hasNoSQLScript reports server-side JavaScript of NoSQL injection: a MongoDB shell call
// ("db.users.find(", "db.getCollection("), or a quoted literal broken out of into script
// ("'; return true; var x='", "' && this.password.match(", "'|| this.a"): an odd quote, which
// closes the literal the query opened.
func hasNoSQLScript(s string) bool {
	for i := strings.Index(s, "db."); i >= 0; {
		if i == 0 || !isIdentByte(s[i-1]) {
			j := i + 3
			k := j
			for k < len(s) && isIdentByte(s[k]) {
				k++
			}
			if strings.HasPrefix(s[k:], "(") && strings.EqualFold(s[j:k], "getcollection") {
				return true
			}
			if k > j && k < len(s) && s[k] == '.' {
				m := k + 1
				for m < len(s) && isLetterByte(s[m]) {
					m++
				}
				if m < len(s) && s[m] == '(' {
					for _, meth := range mongoMethods {
						if strings.EqualFold(s[k+1:m], meth) {
							return true
						}
					}
				}
			}
		}
		n := strings.Index(s[i+1:], "db.")
		if n < 0 {
			break
		}
		i += 1 + n
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\'' && s[i] != '"' || strings.Count(s[:i+1], s[i:i+1])%2 == 0 {
			continue // not a quote, or one that closes a literal the value opened itself
		}
		j := i + 1
		for j < len(s) && s[j] == ' ' {
			j++
		}
		switch {
		case j < len(s) && s[j] == ';':
			j++
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if hasPrefixFold(s[j:], "return ") || hasPrefixFold(s[j:], "while(") || hasPrefixFold(s[j:], "sleep(") {
				return true
			}
		case strings.HasPrefix(s[j:], "&&") || strings.HasPrefix(s[j:], "||"):
			j += 2
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if strings.HasPrefix(s[j:], "this.") || hasPrefixFold(s[j:], "sleep(") {
				return true
			}
		}
	}
	return false
}

// skipBlockComments returns the index after the /* */ comments that start at s[k:]: they may
// stand between a name and its bracket, where a space is prose's.
func skipBlockComments(s string, k int) int {
	for strings.HasPrefix(s[k:], "/*") {
		e := strings.Index(s[k+2:], "*/")
		if e < 0 {
			break
		}
		k += e + 4
	}
	return k
}

// hasCreateRoutine reports the definition of a function, procedure or trigger, which an
// injection sends to plant code: "CREATE OR REPLACE FUNCTION f() RETURNS", "create function
// sys_exec returns string soname 'x.so'", "create procedure p(". "Create function keys for
// the menu" has no bracket and no RETURNS.
func hasCreateRoutine(s string) bool {
	for i := indexFold(s, "create"); i >= 0; {
		if i == 0 || !isIdentByte(s[i-1]) {
			j := skipSQLSpace(s, i+6)
			if hasPrefixFold(s[j:], "or") {
				if k := skipSQLSpace(s, j+2); k > j+2 && hasPrefixFold(s[k:], "replace") {
					j = skipSQLSpace(s, k+7)
				}
			}
			for _, obj := range [...]string{"function", "procedure", "trigger"} {
				if !hasPrefixFold(s[j:], obj) {
					continue
				}
				k := skipSQLSpace(s, j+len(obj))
				m := k
				for m < len(s) && (isIdentByte(s[m]) || s[m] == '.') {
					m++
				}
				if k == j+len(obj) || m == k {
					break
				}
				if m < len(s) && s[m] == '(' {
					return true
				}
				if e := skipSQLSpace(s, m); hasPrefixFold(s[e:], "returns") {
					return true
				}
			}
		}
		n := indexFold(s[i+1:], "create")
		if n < 0 {
			return false
		}
		i += 1 + n
	}
	return false
}
