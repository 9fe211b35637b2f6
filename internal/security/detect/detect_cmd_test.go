package detect

import "testing"

// TestCommandShapes checks the command injection shapes added to the shell rules: a command
// after a separator that opens the value, server-side includes, calls inside interpolation and
// template expressions; with text and placeholders that look alike.
func TestCommandShapes(t *testing.T) {
	checkShapes(t, []shapeCase{
		{
			name: "shell",
			fn:   hasShellInjection,
			hits: []string{"echo whoami|$0", ";env --version", ";date --file secrets.txt", "& dir /s", "nohup sleep 120 > /dev/null &", "sudo cat /etc/shadow", "xargs -n 1 ping", "; id", "& id", "& dir", "& ver", "; id #", "';  whoami ", ";echo 'test'", "|echo test", ";echo test > /tmp/x"},
			miss: []string{"Mon-Fri; free", "Tom & Jerry", "env friendly", "nice cat photos", "watch more", "sudo make me a sandwich", "costs $0", "& more/less", "Echo & the Bunnymen", "ID; 12345", "Rock & more"},
		},
		{
			name: "server-side include",
			fn:   hasSSIDirective,
			hits: []string{`<!--#exec cmd="/usr/bin/id;-->`, `<!--#include virtual="/etc/passwd"-->`, "<!--#ECHO var=x-->"},
			miss: []string{"<!-- a comment -->", "<!--#1 best-->"},
		},
		{
			name: "interpolated call",
			fn:   hasInterpolatedCall,
			hits: []string{"${@print(md5(acunetix_wvs_security_test))}", "{${system('id')}}", "${phpinfo()}"},
			miss: []string{"${name}", "${user.name}", "costs ${price} (approx)"},
		},
		{
			name: "template expression",
			fn:   hasTemplateExpression,
			hits: []string{"{{7*7}}", "${7*7}", "<%= 7*7 %>", "#{7*7}", `{{ get_user_file("/etc/passwd") }}`, "{{''.__class__}}", "{{config.items()}}"},
			miss: []string{"{{name}}", "Hello #{user}!", "{{ first_name }} (you)", "${total}", "50% off {% sale %}"},
		},
		{
			name: "sqlite dot command",
			fn:   hasSQLiteDotCommand,
			hits: []string{".shell id", ";.system ls", ".load /tmp/x.so", "x;.import /etc/passwd t"},
			miss: []string{"v1.shell", "example.com", "see .system docs", ".NET", "a.load x"},
		},
		{
			name: "windows variable",
			fn:   hasWindowsVariable,
			hits: []string{"%COMSPEC% /c dir", "%USERPROFILE%", "type %WINDIR%\\win.ini"},
			miss: []string{"50% off, 20% more", "%20", "100%"},
		},
		{
			name: "mail command",
			fn:   isMailCommand,
			hits: []string{"USER admin", "RETR 1", "A1 LOGIN user pass", "a001 FETCH 1 BODY[]"},
			miss: []string{"User guide", "I select 3", "TOP  x", "A LOGIN", "top 10 list"},
		},
		{
			name: "quoted bare command",
			fn:   hasShellInjection,
			hits: []string{"'whoami'", "\"ipconfig\"", ";'uname'"},
			miss: []string{"'hello'", "\"id\""},
		},
	})
}
