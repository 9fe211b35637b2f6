package detect

import "testing"

// TestSQLMoreShapes checks the SQL and NoSQL shapes of detect_sql_more.go on hand-written
// attacks of each family, and on text and data that look alike.
func TestSQLMoreShapes(t *testing.T) {
	checkShapes(t, []shapeCase{
		{
			name: "vendor routine call",
			fn:   hasVendorSQLCall,
			hits: []string{
				"json_keys('{}')", "1 and json_extract('{}','$')", "pg_read_file('global/pg_hba.conf',0,1000)",
				"sys_eval('id')", "x' and dbms_pipe.receive_message('a',5)--", "sqlite_version()",
				"last_insert_rowid()", "total_changes()", "1 AND ifnull(1,2)", "lo_import/**/('/etc/passwd')",
				"CTXSYS.DRITHSX.SN(1,(select user from dual))",
			},
			miss: []string{
				"pg_user", "json_keys", "see json_ (docs)", "typeof x", "coalesce (a, b) in prose",
				"Last insert (rowid)", "my_json_keys(1)", "changes (3)", "a.pg_x(", "pg_(1)",
				"SYS_FUNC(clone)", "sys_lseek()", "json_object_new_array_ext(int)", "json_c_visit()", "changes()",
			},
		},
		{
			name: "comment then statement",
			fn:   hasCommentThenStatement,
			hits: []string{
				"# alter table users", "1-- drop table users", "'*/ truncate table t", "x'# insert into t values(1)",
				"-- delete from accounts", "--\nDROP DATABASE x", "1 -- drop table x",
			},
			miss: []string{
				"we drop -- and then the table", "#drop", "-- update users", "Tickets #create", "a -- drop",
				"Item #4 -- create a table for four", "# alter ego", "Chick-fil-A -- Drop table tennis lessons",
				"AT&T -- Insert into envelope", "Macy's -- Delete from my list",
				"Sleep Number (Select Comfort) -- Drop table tennis lessons",
			},
		},
		{
			name: "variable assignment",
			fn:   hasVariableAssignment,
			hits: []string{"SET @a=1", "set @q = 'x'", "@x:=(select 1)", "select @v := 1", "1;SET @@session.x=1"},
			miss: []string{"reset @john=", "set @john as admin", "@team = great", "a@b.com", "@x == 1", "mail me @home: 5"},
		},
		{
			name: "subquery",
			fn:   hasSubquery,
			hits: []string{
				"' in (select", "1 AND 1 IN (SELECT 1)", "exists(select * from users)", "=(select 1)", "' (select top 1",
				"'||(select user from dual)||'", "1 not (select 1)", "1 union (select 1,2)",
			},
			miss: []string{
				"Colours (select one)", "Pick a size (select below)", "(select all that apply)", "choose (selected)", "in (selection)",
				"(= (select as-array[f] x1) (f x1))",
			},
		},
		{
			name: "file statement",
			fn:   hasFileStatement,
			hits: []string{
				"' into outfile '/var/www/x.php'--", "1 INTO DUMPFILE '/tmp/x'", "load data infile '/etc/passwd' into table t",
				"LOAD DATA LOCAL INFILE 'x'", "copy (select '') to program 'nslookup x'", "COPY t FROM PROGRAM $$id$$",
			},
			miss: []string{"put it into outfiles", "load data into the file", "the program 'x' will copy", "copy to program manager", "into out file"},
		},
		{
			name: "time delay with any argument",
			fn:   hasLooseTiming,
			hits: []string{
				"sleep(__TIME__)#", "pg_sleep([SLEEPTIME])", "benchmark(a,b)", "1 or sleep(x)", "(sleep(t))",
				"' and sleep(n)='", "BENCHMARK(count,SHA1(x))", "sleep(:t)",
			},
			miss: []string{"not enough sleep(s)", "benchmark (a, b)", "benchmark(abc)", "sleep(well) tonight", "sleep (x)", "oversleep(__x)"},
		},
		{
			name: "NoSQL script",
			fn:   hasNoSQLScript,
			hits: []string{
				"db.users.find({})", "x'; db.users.drop(); '", "db.getCollection('x')", "'; return true; var x='",
				"' && this.password.match(/.*/)//", "\" || this.a == 1", "'; while(true){}", "' || sleep(5000) || '",
			},
			miss: []string{"db.example.com", "mydb.users.find(", "She said 'yes'; return later", "'a' && this", "db.users.findings"},
		},
	})
}

// TestDOMSinkPlain checks that a DOM property named alone, without any bracket or quote, is read
// as script, and that dotted identifiers and host names are not.
func TestDOMSinkPlain(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"document.cookie", true}, {"document.domain", true}, {"x.innerHTML", true}, {"window.location", true},
		{"api.example.com", false}, {"document.pdf", false}, {"v1.2.3", false}, {"location.city", false}, {"TX-2026.12.05", false},
	} {
		rule, _, hit := inspectValue(tc.v, false)
		if hit != tc.want || hit && rule != RuleXSS {
			t.Errorf("inspectValue(%q) = %q, %v; want xss %v", tc.v, rule, hit, tc.want)
		}
	}
}

// TestCDATA checks that a CDATA section holding markup is markup, and that text naming its
// delimiters is not.
func TestCDATA(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"<![CDATA[<]]>script>alert(1)<![CDATA[<]]>/script>", true}, {`<svg><![CDATA[><image xlink:href="]]>`, true},
		{"a <! b", false}, {"[[CDATA]]", false}, {`"<![CDATA[", "]]>"`, false}, {"x<![cdata[y]]>", false},
	} {
		if got := hasHTMLTag(tc.v); got != tc.want {
			t.Errorf("hasHTMLTag(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

// TestBracketTautology checks a T-SQL name in brackets compared with itself, and the NOT
// that sqlmap's boolean tests put before it.
func TestBracketTautology(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"AND [RANDNUM]=[RANDNUM]", true}, {"OR NOT [x]=[x]", true}, {"and not 5=5", true},
		{"[a]=[b] or", false}, {"not [1] = [2]", false}, {"notes [a]=[a]", false}, {"nothing a=a", false},
	} {
		if got := hasTautology(tc.v); got != tc.want {
			t.Errorf("hasTautology(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

// TestSQLMoreStatements checks stacked DESC and SHOW statements, routine definitions and the
// database objects that count even in a plain value.
func TestSQLMoreStatements(t *testing.T) {
	checkShapes(t, []shapeCase{
		{
			name: "stacked desc and show",
			fn:   hasStackedQuery,
			hits: []string{"'; desc users; --", "1;describe accounts", "x'; show tables--", "1; SHOW GRANTS", "';desc mysql.user#"},
			miss: []string{"Tea; desc: green", "Sold out; show more later", "a; describe the room to me", "then; show users how", "Menu; show columns of prices"},
		},
		{
			name: "routine definition",
			fn:   hasCreateRoutine,
			hits: []string{
				"create or replace function f() returns int", "CREATE FUNCTION sys_exec RETURNS string SONAME 'lib.so'",
				"x'; create procedure p(@a int) as", "create trigger t returns",
			},
			miss: []string{"Create function keys for the menu", "create a function", "we create functions (and more)", "recreate function x("},
		},
		{
			name: "plain database object",
			fn:   hasPlainSQLObject,
			hits: []string{"--sp_password", "xp_cmdshell", "information_schema.tables", "dbms_pipe.receive_message", "1-pg_shadow"},
			miss: []string{"xp_", "xp_1", "all_users", "user_tables", "exp_points", "wasp_password", "display_mode"},
		},
	})
}

// TestScriptMore checks DOM traversal properties and optional calls of a script sink.
func TestScriptMore(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"x.parentNode.removeChild(x)", true}, {"frames[0].contentWindow.alert(1)", true}, {"alert?.(1)", true},
		{"a.ownerDocument", true}, {"parent node", false}, {"alert? (yes)", false}, {"Is this an alert?", false},
	} {
		got := hasScriptCall(tc.v) || hasDOMSink(tc.v)
		if got != tc.want {
			t.Errorf("script in %q = %v, want %v", tc.v, got, tc.want)
		}
	}
}

// TestScriptAliasAndMongoKeys checks a sink called through another name and MongoDB
// operators written as bare keys.
func TestScriptAliasAndMongoKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(string) bool
		v    string
		want bool
	}{
		{"alias", hasSinkAssignment, "x=alert;x(1)", true},
		{"alias", hasSinkAssignment, "a=1;f=eval,f('1')", true},
		{"alias", hasSinkAssignment, "severity=alert; level(2)", false},
		{"alias", hasSinkAssignment, "x=alert;max(1)", false},
		{"mongo", hasMongoOperator, "true, $where: '1 == 1'", true},
		{"mongo", hasMongoOperator, "{ $ne: 1 }", true},
		{"mongo", hasMongoOperator, "Price: $10, $gt: no", true},
		{"mongo", hasMongoOperator, "a $5 fee: paid", false},
		{"mongo", hasMongoOperator, "Total $amount: 12", false},
	} {
		if got := tc.fn(tc.v); got != tc.want {
			t.Errorf("%s %q = %v, want %v", tc.name, tc.v, got, tc.want)
		}
	}
}
