package detect

import "testing"

// TestSQLShapes checks the SQL shapes read without libinjection: a SELECT statement that opens
// the value and names schema objects, values made of quotes and operators only, and a quote
// closed before a MySQL comment; with prose and measurements that look alike.
func TestSQLShapes(t *testing.T) {
	checkShapes(t, []shapeCase{
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
		{
			name: "comment inside or between words",
			fn:   hasCommentSplit,
			hits: []string{"DROP/*comment*/sampletable", "SEL/**/ECT", "1/**/OR/**/1", "SELECT/*x*/password/**/FROM/**/Members"},
			miss: []string{"a /* note */ b", "/* header */", "x/*", "*/ok/*"},
		},
		{
			name: "MongoDB operator",
			fn:   hasMongoOperator,
			hits: []string{"username[$ne]=1", `{"username": {"$ne": null}}`, "[$regex]=.*", `{"$where": "sleep(1000)"}`},
			miss: []string{"$10 off", "cost [$5]", "echo $HOME", `{"price": "$ne"}`, "US$ne"},
		},
		{
			name: "PostgreSQL cast",
			fn:   hasPostgresCast,
			hits: []string{"1::int", "'1'::text", "(select 1)::varchar", "5::INTEGER and 1=1"},
			miss: []string{"fe80::1", "std::string", "Text::CSV", "12::30", "a::int"},
		},
		{
			name: "statement",
			fn:   hasSQLStatement,
			hits: []string{"CREATE FUNCTION sleep RETURNS integer SONAME 'lib.so'", "merge into users using x", "execute immediate 'select 1'"},
			miss: []string{"merge into one", "execute immediate orders", "create a function"},
		},
		{
			name: "short probe",
			fn:   hasSQLProbe,
			hits: []string{"AND 1", "or true", "|| 0", "1 xor 1", "1 rlike 1", "2 div 1", "1 || 1", "@@version", "SELECT @@hostname",
				"1 and true", "1 OR false", "1=1", "42<=>42", "11!=1", "2<>3", "declare @x int", "exec sp_addlogin 'x'", "1;exec xp_regread", "procedure analyse()"},
			miss: []string{"1=2", "2+2=4", "10=", "=1", "and more", "or 2", "and 7", "or 2 people", "1 or 2", "1 and 2", "rock and roll", "me@@", "a @@ b", "2 divisions"},
		},
		{
			name: "schema objects",
			fn:   hasSQLServerObject,
			hits: []string{"information_schema.tables", "pg_catalog.pg_tables", "x from mysql.user", "sys.tables", "all_tables", "v$version"},
			miss: []string{"system.tables.xlsx", "user-tables", "all tables", "my sql user"},
		},
		{
			name: "union select through comments",
			fn:   hasUnionSelect,
			hits: []string{"1 union#\ndistinctrow\vselect@.", "1 union-- x\nselect 1", "1 UNION/**/ALL/**/SELECT 1"},
			miss: []string{"union #1 select", "credit union -- select"},
		},
		{
			name: "quote then statement",
			fn:   hasQuoteThenStatement,
			hits: []string{"';SELECT P", "'select H", "\";SELECT P", "');DROP TABLE x", "' union all select 1", "'or select *"},
			miss: []string{"'select' is a keyword", "\"Order\" now", "'drop'", "' select", "Select 'x'", "'Update available soon'"},
		},
		{
			name: "number then comment",
			fn:   isNumberThenComment,
			hits: []string{"1--", "1--sp_password", "42--x"},
			miss: []string{"5--10", "a--b", "1-2", "--1"},
		},
	})
}
