package security

import "testing"

// TestSQLShapes checks the SQL shapes read without libinjection: a SELECT statement that opens
// the value and names schema objects, values made of quotes and operators only, and a quote
// closed before a MySQL comment; with prose and measurements that look alike.
func TestSQLShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(string) bool
		hits []string
		miss []string
	}{
		{
			name: "select statement",
			fn:   hasSelectAtStart,
			hits: []string{
				"SELECT username FROM all_users ORDER BY username;", "SELECT current_user;", "SELECT SYSTEM_USER",
				"SELECT name FROM master..sysdatabases", "select datname from pg_database", "SELECT host, user FROM mysql.user",
				"SELECT name FROM syscolumns WHERE id = (SELECT id FROM sysobjects WHERE name = 'mytable')",
				"SELECT banner FROM v$version", "select table_name from information_schema.tables",
			},
			miss: []string{
				"Select a size from the menu", "select a plan from example.com", "Please select one from the list below.",
				"SELECT is a keyword", "select from", "Select All", "Select the size from 3 options",
			},
		},
		{
			name: "quote skeleton",
			fn:   hasQuoteSkeleton,
			hits: []string{"' '", "\" \"", "'='", "'=''", "\"='", "'-'", "' or '' '", "'||'", "' or ''-'", "'=0--+", "'&'"},
			miss: []string{"''", "\"\"", "'", "5'-10\"", "O'Brien", "\"quoted\"", "'90s", "6' 2\""},
		},
		{
			name: "quote then comment",
			fn:   hasQuoteThenComment,
			hits: []string{"admin' #", "admin'/*", "admin'--", "') -- -", "admin\" #"},
			miss: []string{"'on sale' -- again", "item #", "Joe's #1", "a # b"},
		},
	} {
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
