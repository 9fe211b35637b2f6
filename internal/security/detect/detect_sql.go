package detect

import "strings"

// hasListTautology reports a number compared with itself as an item of a list or a bracket,
// where SQL puts a condition and prose puts none: "b,1=1", "(2=2)", "x,'1'='1'". An equation of
// different numbers is not one (hasTautology covers the comparisons after a keyword).
func hasListTautology(s string) bool {
	for i := strings.IndexByte(s, '='); i >= 0; {
		if i > 0 && i+1 < len(s) && s[i-1] != '=' && s[i-1] != '!' && s[i-1] != '<' && s[i-1] != '>' && s[i+1] != '=' {
			l := i
			for l > 0 && (s[l-1] == ' ' || s[l-1] == '\'' || s[l-1] == '"') {
				l--
			}
			le := l
			for l > 0 && isDigitByte(s[l-1]) {
				l--
			}
			r := i + 1
			for r < len(s) && (s[r] == ' ' || s[r] == '\'' || s[r] == '"') {
				r++
			}
			rs := r
			for r < len(s) && isDigitByte(s[r]) {
				r++
			}
			if le > l && r > rs && s[l:le] == s[rs:r] && (r == len(s) || !isIdentByte(s[r]) && s[r] != '.') {
				b := l
				for b > 0 && (s[b-1] == ' ' || s[b-1] == '\'' || s[b-1] == '"') {
					b--
				}
				if b > 0 && (s[b-1] == ',' || s[b-1] == '(') {
					return true
				}
			}
		}
		k := strings.IndexByte(s[i+1:], '=')
		if k < 0 {
			return false
		}
		i += 1 + k
	}
	return false
}

// jsonOperators are PostgreSQL's and MySQL's JSON operators, longest first.
var jsonOperators = [...]string{"->>", "#>>", "->", "#>", "@>", "<@", "?|", "?&", "?", "<", ">"}

// hasJSONOperator reports a JSON literal or column compared by a JSON operator with another
// literal, as JSON-based SQL injection writes its conditions: "OR '{"a":"b"}' ? 'a'",
// "data @> '{"a":1}'", "'{"a":2}' -> '$.a' = 2". The operator stands between spaces, and a
// quoted JSON object or array is on one side of it.
func hasJSONOperator(s string) bool {
	if !strings.Contains(s, "'{") && !strings.Contains(s, "'[") {
		return false
	}
	for i := 1; i+1 < len(s); i++ {
		if s[i-1] != ' ' {
			continue
		}
		for _, op := range jsonOperators {
			if !strings.HasPrefix(s[i:], op) {
				continue
			}
			j := i + len(op)
			if j >= len(s) || s[j] != ' ' {
				break
			}
			j = skipSQLSpace(s, j)
			if j >= len(s) {
				break
			}
			before := strings.TrimRight(s[:i], " \t")
			left := before != "" && (before[len(before)-1] == '\'' || isIdentByte(before[len(before)-1]))
			right := s[j] == '\'' || hasPrefixFold(s[j:], "array[")
			jsonLeft := strings.HasSuffix(before, "}'") || strings.HasSuffix(before, "]'")
			if op == "<" || op == ">" {
				// A comparison counts only with a JSON document on its left: '{"a":2}' > '$.a'.
				if jsonLeft && s[j] == '\'' {
					return true
				}
				break
			}
			if left && right && (jsonLeft || strings.HasPrefix(s[j:], "'{") || strings.HasPrefix(s[j:], "'[")) {
				return true
			}
			break
		}
	}
	return false
}

// hasAliasFrom reports a column alias followed by FROM after a number or a quote, the tail of
// a select list that an injection completes: "1234 AS "foobar" FROM t", "6 As" from". Prose has
// no number or quote before "as ... from".
func hasAliasFrom(s string) bool {
	for i := 1; i+2 < len(s); i++ {
		if !hasPrefixFold(s[i:], "as") || isIdentByte(s[i-1]) {
			continue
		}
		b := i
		for b > 0 && (s[b-1] == ' ' || s[b-1] == '\t') {
			b--
		}
		if b == i || b == 0 || !isDigitByte(s[b-1]) && s[b-1] != '\'' && s[b-1] != '"' && s[b-1] != ')' {
			continue
		}
		j := i + 2
		if j < len(s) && isIdentByte(s[j]) {
			continue
		}
		j = skipSQLSpace(s, j)
		// The alias: quoted, bracketed or a bare name, or only its closing quote.
		switch {
		case j < len(s) && (s[j] == '"' || s[j] == '`' || s[j] == '['):
			j++
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			if j < len(s) && (s[j] == '"' || s[j] == '`' || s[j] == ']') {
				j++
			}
		default:
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
		}
		j = skipSQLSpace(s, j)
		if hasPrefixFold(s[j:], "from") && (j+4 == len(s) || !isIdentByte(s[j+4])) {
			return true
		}
	}
	return false
}

// proseDeterminers are the words that follow "from" in sentences ("from the group by the
// lake"), which a table name is not.
var proseDeterminers = [...]string{
	"the", "a", "an", "this", "that", "these", "those", "my", "your", "our", "their", "his",
	"her", "its", "each", "every", "one", "all", "any", "some", "home", "work", "here", "there",
	"now", "then", "me", "us", "them", "him", "you",
}

// hasFromClause reports FROM, a table name and the clause SQL puts after it: "FROM users WHERE
// id=", "FROM termine GROUP BY tag1", "FROM t ORDER BY 1", "FROM t LIMIT 1": the body of a query
// that an injection supplies. The WHERE clause needs its comparison, and a word that sentences
// put after "from" is no table.
func hasFromClause(s string) bool {
	for i := 0; i+4 < len(s); i++ {
		if (s[i] != 'f' && s[i] != 'F') || !hasPrefixFold(s[i:], "from") || i > 0 && isIdentByte(s[i-1]) {
			continue
		}
		j := skipSQLSpace(s, i+4)
		if j == i+4 {
			continue
		}
		k := j
		for k < len(s) && (isIdentByte(s[k]) || s[k] == '.' || s[k] == '`' || s[k] == '[' || s[k] == ']') {
			k++
		}
		if k == j || k == len(s) || !isLetterByte(s[j]) && s[j] != '`' && s[j] != '[' {
			continue
		}
		table := s[j:k]
		determiner := false
		for _, w := range proseDeterminers {
			if strings.EqualFold(table, w) {
				determiner = true
				break
			}
		}
		if determiner {
			continue
		}
		m := skipSQLSpace(s, k)
		if m == k {
			continue
		}
		w := sqlIdentAt(s, m)
		n := skipSQLSpace(s, m+len(w))
		switch {
		case strings.EqualFold(w, "where"):
			if hasComparisonAfter(s, n) {
				return true
			}
		case strings.EqualFold(w, "group"), strings.EqualFold(w, "order"):
			if strings.EqualFold(sqlIdentAt(s, n), "by") {
				p := skipSQLSpace(s, n+2)
				if p > n+2 && p < len(s) && isIdentByte(s[p]) {
					return true
				}
			}
		case strings.EqualFold(w, "limit"):
			if n < len(s) && isDigitByte(s[n]) {
				return true
			}
		}
	}
	return false
}

// hasQuoteThenCall reports a quote that closes a literal followed by a boolean keyword and a
// function call that is itself compared or joined to more conditions, blind injection's test of
// a value: "1' and starts_with(password) and 'true", "x' or ascii(substr(user,1,1)) > 64". A
// quote after a letter (an apostrophe: "parents' and friend(s)") is not one.
func hasQuoteThenCall(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\'' && c != '"' || i > 0 && isLetterByte(s[i-1]) {
			continue
		}
		j := skipSQLSpace(s, i+1)
		if j == i+1 {
			continue
		}
		w := sqlWordAt(s, j)
		if w != "and" && w != "or" {
			continue
		}
		k := skipSQLSpace(s, j+len(w))
		fn := k
		for k < len(s) && isIdentByte(s[k]) {
			k++
		}
		if k == fn || k >= len(s) || s[k] != '(' {
			continue
		}
		// The call's closing bracket, then a comparison, a boolean keyword or a comment.
		depth, m := 0, k
		for ; m < len(s); m++ {
			if s[m] == '(' {
				depth++
			} else if s[m] == ')' {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if m == len(s) {
			continue
		}
		n := skipSQLSpace(s, m+1)
		switch {
		case n < len(s) && strings.IndexByte("=<>!", s[n]) >= 0:
			return true
		case sqlWordAt(s, n) == "and" || sqlWordAt(s, n) == "or":
			return true
		case endsInSQLComment(s[n:]) && n < len(s):
			return true
		}
	}
	return false
}
