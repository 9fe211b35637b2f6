package detect

import "strings"

// cmdKind says how sure a command name is to be a command when it follows a shell separator.
type cmdKind uint8

const (
	// cmdStrong names are not English words: after a separator they are a command whatever
	// follows (whoami, uname, nslookup ...).
	cmdStrong cmdKind = iota + 1
	// cmdWeak names are also words (cat, type, ping, sleep, id): they count only when what
	// follows looks like a shell argument or ends the command.
	cmdWeak
	// cmdNet is Windows' net, which counts only before one of its subcommands.
	cmdNet
)

// shellCommands are the commands injections run to prove or use their foothold, Unix and
// Windows, lower case.
var shellCommands = map[string]cmdKind{
	// Identity and system information.
	"whoami": cmdStrong, "uname": cmdStrong, "ifconfig": cmdStrong, "ipconfig": cmdStrong,
	"netstat": cmdStrong, "systeminfo": cmdStrong, "tasklist": cmdStrong, "hostname": cmdStrong,
	"id": cmdWeak, "pwd": cmdStrong, "ls": cmdStrong, "dir": cmdWeak, "ps": cmdWeak, "env": cmdWeak,
	"printenv": cmdStrong, "getent": cmdStrong, "lsof": cmdStrong, "ver": cmdWeak,
	// Reading and writing files.
	"cat": cmdWeak, "type": cmdWeak, "head": cmdWeak, "tail": cmdWeak, "more": cmdWeak,
	"less": cmdWeak, "echo": cmdWeak, "printf": cmdWeak, "touch": cmdWeak, "rm": cmdWeak,
	"cp": cmdWeak, "mv": cmdWeak, "chmod": cmdStrong, "chown": cmdStrong, "mkdir": cmdStrong,
	"find": cmdWeak, "grep": cmdStrong, "awk": cmdStrong, "sed": cmdWeak, "base64": cmdStrong,
	"xxd": cmdStrong, "od": cmdWeak, "del": cmdWeak, "copy": cmdWeak, "tee": cmdWeak,
	// Network: fetching, calling back, timing.
	"ping": cmdWeak, "nslookup": cmdStrong, "dig": cmdWeak, "host": cmdWeak, "curl": cmdStrong,
	"wget": cmdStrong, "nc": cmdStrong, "ncat": cmdStrong, "netcat": cmdStrong, "telnet": cmdStrong,
	"ssh": cmdWeak, "ftp": cmdWeak, "tftp": cmdStrong, "sleep": cmdWeak, "timeout": cmdWeak,
	"certutil": cmdStrong, "bitsadmin": cmdStrong, "net": cmdNet,
	// Interpreters and shells.
	"sh": cmdStrong, "bash": cmdStrong, "zsh": cmdStrong, "ksh": cmdStrong, "csh": cmdStrong,
	"tcsh": cmdStrong, "dash": cmdWeak, "busybox": cmdStrong, "cmd": cmdWeak, "powershell": cmdStrong,
	"pwsh": cmdStrong, "perl": cmdWeak, "python": cmdWeak, "python2": cmdStrong, "python3": cmdStrong,
	"php": cmdWeak, "ruby": cmdWeak, "node": cmdWeak, "lua": cmdWeak, "eval": cmdWeak,
	"exec": cmdWeak, "wmic": cmdStrong, "mshta": cmdStrong, "rundll32": cmdStrong,
	"regsvr32": cmdStrong, "cscript": cmdStrong, "wscript": cmdStrong, "xterm": cmdStrong,
	"nohup": cmdStrong, "sudo": cmdStrong, "su": cmdWeak, "crontab": cmdStrong, "kill": cmdWeak,
	"killall": cmdStrong, "pkill": cmdStrong, "reboot": cmdWeak, "shutdown": cmdWeak,
	"useradd": cmdStrong, "passwd": cmdWeak, "expr": cmdStrong, "nmap": cmdStrong, "uptime": cmdWeak,
	"cd": cmdWeak, "alias": cmdWeak, "trap": cmdWeak, "export": cmdWeak, "unset": cmdWeak,
	"source": cmdWeak, "xargs": cmdStrong, "gcc": cmdStrong, "cc": cmdWeak, "gdb": cmdStrong,
	"irb": cmdStrong, "vim": cmdWeak, "vi": cmdWeak, "nano": cmdWeak, "top": cmdWeak,
	"date": cmdWeak, "rmt": cmdStrong, "perf": cmdWeak, "ansible": cmdStrong, "chef": cmdWeak,
	"visudo": cmdStrong, "column": cmdWeak, "fold": cmdWeak, "flock": cmdStrong,
	"base32": cmdStrong, "cpulimit": cmdStrong, "comm": cmdWeak, "uconv": cmdStrong,
	"regedit": cmdStrong, "reg": cmdWeak, "bcdboot": cmdStrong, "bcdedit": cmdStrong,
	"schtasks": cmdStrong, "sc": cmdWeak, "taskkill": cmdStrong, "vssadmin": cmdStrong,
	"iwr": cmdStrong, "iex": cmdStrong, "irm": cmdStrong, "icm": cmdStrong, "iwmi": cmdStrong,
	"invoke-webrequest": cmdStrong, "invoke-expression": cmdStrong, "invoke-restmethod": cmdStrong,
	"start-process": cmdStrong, "new-object": cmdStrong, "start-sleep": cmdStrong,
	"get-content": cmdStrong, "set-content": cmdStrong, "out-file": cmdStrong,
	"tar": cmdWeak, "zip": cmdWeak, "unzip": cmdWeak, "gzip": cmdWeak, "dd": cmdWeak,
	"strings": cmdWeak, "wc": cmdWeak, "sort": cmdWeak, "uniq": cmdWeak, "cut": cmdWeak,
	"tr": cmdWeak, "rev": cmdWeak, "tac": cmdWeak, "nl": cmdWeak, "xxd2": cmdStrong,
	"openssl": cmdStrong, "socat": cmdStrong, "mkfifo": cmdStrong, "mknod": cmdStrong,
	"ssh-keygen": cmdStrong, "scp": cmdStrong, "rsync": cmdStrong, "whois": cmdStrong,
	"traceroute": cmdStrong, "tracert": cmdStrong, "arp": cmdWeak, "route": cmdWeak,
	"ip": cmdWeak, "ss": cmdWeak, "w": cmdWeak, "who": cmdWeak, "last": cmdWeak,
	"mount": cmdWeak, "df": cmdWeak, "du": cmdWeak, "free": cmdWeak, "lsb_release": cmdStrong,
	"apt": cmdWeak, "yum": cmdWeak, "pip": cmdWeak, "npm": cmdWeak, "docker": cmdWeak,
	"kubectl": cmdStrong, "java": cmdWeak, "jrunscript": cmdStrong, "osascript": cmdStrong,
	"findstr": cmdStrong, "icacls": cmdStrong, "cacls": cmdStrong, "attrib": cmdWeak,
	"qwinsta": cmdStrong, "quser": cmdStrong, "nltest": cmdStrong, "dsquery": cmdStrong,
	"klist": cmdStrong, "cmdkey": cmdStrong, "wevtutil": cmdStrong, "fsutil": cmdStrong,
	"runas": cmdStrong, "psexec": cmdStrong, "mimikatz": cmdStrong, "procdump": cmdStrong,
	"msiexec": cmdStrong, "forfiles": cmdStrong, "pcalua": cmdStrong, "installutil": cmdStrong,
	"msbuild": cmdStrong, "regasm": cmdStrong, "odbcconf": cmdStrong,
	// Accounts, services, packages and the kernel (Unix).
	"adduser": cmdStrong, "deluser": cmdStrong, "userdel": cmdStrong, "usermod": cmdStrong,
	"groupadd": cmdStrong, "chpasswd": cmdStrong, "chage": cmdStrong, "sudoedit": cmdStrong,
	"pkexec": cmdStrong, "doas": cmdStrong, "systemctl": cmdStrong, "journalctl": cmdStrong,
	"service": cmdWeak, "iptables": cmdStrong, "ip6tables": cmdStrong, "nft": cmdStrong,
	"lsmod": cmdStrong, "insmod": cmdStrong, "modprobe": cmdStrong, "sysctl": cmdStrong,
	"dmesg": cmdStrong, "lspci": cmdStrong, "lsusb": cmdStrong, "lsblk": cmdStrong,
	"fdisk": cmdStrong, "blkid": cmdStrong, "dpkg": cmdStrong, "rpm": cmdWeak,
	"apt-get": cmdStrong, "pgrep": cmdStrong, "pidof": cmdStrong, "ldd": cmdStrong,
	"objdump": cmdStrong, "readelf": cmdStrong, "hexdump": cmdStrong, "md5sum": cmdStrong,
	"sha1sum": cmdStrong, "sha256sum": cmdStrong, "shred": cmdStrong, "readlink": cmdStrong,
	"setfacl": cmdStrong, "getfacl": cmdStrong, "chattr": cmdStrong, "lsattr": cmdStrong,
	"setcap": cmdStrong, "getcap": cmdStrong, "capsh": cmdStrong, "nsenter": cmdStrong,
	"unshare": cmdStrong, "tcpdump": cmdStrong, "tshark": cmdStrong, "masscan": cmdStrong,
	"hping3": cmdStrong, "ltrace": cmdStrong, "strace": cmdStrong, "screen": cmdWeak,
	"tmux": cmdStrong, "time": cmdWeak, "at": cmdWeak,
	// Compilers and interpreters (Unix).
	"clang": cmdStrong, "c89": cmdStrong, "c99": cmdStrong, "tcc": cmdStrong,
	"gawk": cmdStrong, "mawk": cmdStrong, "nawk": cmdStrong, "tclsh": cmdStrong,
	"wish": cmdWeak, "expect": cmdWeak, "groovy": cmdStrong, "jshell": cmdStrong,
	"rustc": cmdStrong, "ash": cmdWeak, "rbash": cmdStrong, "fish": cmdWeak, "ex": cmdWeak,
	"sqlite3": cmdStrong, "psql": cmdStrong, "mysql": cmdWeak, "redis-cli": cmdStrong,
	"smbclient": cmdStrong, "rpcclient": cmdStrong, "ldapsearch": cmdStrong, "sftp": cmdStrong,
	"rsh": cmdStrong, "rlogin": cmdStrong, "finger": cmdWeak, "knife": cmdWeak, "cscli": cmdStrong,
	"php-cgi": cmdStrong, "gem": cmdWeak, "npx": cmdStrong, "composer": cmdWeak,
	"chef-client": cmdStrong, "chef-solo": cmdStrong, "chef-shell": cmdStrong, "chef-run": cmdStrong,
	"chef-vault": cmdStrong, "chef-apply": cmdStrong, "ssh-copy-id": cmdStrong, "ssh-add": cmdStrong,
	"ssh-agent": cmdStrong, "ssh-keyscan": cmdStrong,
	// macOS.
	"launchctl": cmdStrong, "dscl": cmdStrong, "sw_vers": cmdStrong, "csrutil": cmdStrong,
	"system_profiler": cmdStrong, "defaults": cmdWeak, "security": cmdWeak,
	// Windows.
	"netsh": cmdStrong, "net1": cmdStrong, "nbtstat": cmdStrong, "getmac": cmdStrong,
	"pathping": cmdStrong, "takeown": cmdStrong, "ntdsutil": cmdStrong, "diskpart": cmdStrong,
	"diskshadow": cmdStrong, "esentutl": cmdStrong, "wbadmin": cmdStrong, "cipher": cmdWeak,
	"makecab": cmdStrong, "extrac32": cmdStrong, "expand": cmdWeak, "cmstp": cmdStrong,
	"dnscmd": cmdStrong, "winrm": cmdStrong, "winrs": cmdStrong, "wusa": cmdStrong,
	"mavinject": cmdStrong, "msxsl": cmdStrong, "ieexec": cmdStrong, "hh": cmdWeak,
	"calc": cmdWeak, "notepad": cmdWeak, "mstsc": cmdStrong, "qprocess": cmdStrong,
	"wsl": cmdStrong, "csc": cmdWeak, "tree": cmdWeak, "where": cmdWeak, "query": cmdWeak,
	"chkdsk": cmdStrong, "sfc": cmdWeak, "gpresult": cmdStrong, "auditpol": cmdStrong,
	"set": cmdWeak, "ping6": cmdStrong, "ntlmrelayx": cmdStrong, "driverquery": cmdStrong,
	"xcopy": cmdStrong, "robocopy": cmdStrong, "mountvol": cmdStrong, "assoc": cmdStrong,
	"ftype": cmdStrong, "pushd": cmdStrong, "popd": cmdStrong, "doskey": cmdStrong,
	"setx": cmdStrong, "tscon": cmdStrong, "setspn": cmdStrong, "dcdiag": cmdStrong,
	"repadmin": cmdStrong, "netdom": cmdStrong, "csvde": cmdStrong, "ldifde": cmdStrong,
	"adfind": cmdStrong, "fltmc": cmdStrong, "openfiles": cmdStrong, "vaultcmd": cmdStrong,
	"move": cmdWeak, "ren": cmdWeak, "rd": cmdWeak, "md": cmdWeak, "vol": cmdWeak,
	"start": cmdWeak, "call": cmdWeak, "cls": cmdWeak,
	// More Unix: browsers and mail in a terminal, files, archives, packages, runtimes.
	"lynx": cmdStrong, "w3m": cmdStrong, "chgrp": cmdStrong, "ln": cmdWeak, "rmdir": cmdStrong,
	"egrep": cmdStrong, "fgrep": cmdStrong, "zgrep": cmdStrong, "zcat": cmdStrong,
	"bzcat": cmdStrong, "xzcat": cmdStrong, "locate": cmdWeak, "which": cmdWeak,
	"whereis": cmdStrong, "history": cmdWeak, "sendmail": cmdStrong, "mutt": cmdStrong,
	"mailx": cmdStrong, "dnf": cmdStrong, "pacman": cmdWeak, "zypper": cmdStrong, "apk": cmdWeak,
	"bzip2": cmdStrong, "7z": cmdStrong, "unrar": cmdStrong, "cpio": cmdStrong, "javac": cmdStrong,
	"dotnet": cmdStrong, "bc": cmdWeak, "ed": cmdWeak, "emacs": cmdStrong, "pico": cmdWeak,
	"nodejs": cmdStrong, "deno": cmdStrong, "stunnel": cmdStrong, "proxychains": cmdStrong,
	"torsocks": cmdStrong, "sshpass": cmdStrong, "uuencode": cmdStrong, "uudecode": cmdStrong,
	"gpg": cmdStrong, "logger": cmdWeak, "wall": cmdWeak, "halt": cmdWeak, "poweroff": cmdStrong,
	"telinit": cmdStrong, "ionice": cmdStrong, "taskset": cmdStrong, "fuser": cmdStrong,
	"iwconfig": cmdStrong, "nmcli": cmdStrong, "hostnamectl": cmdStrong, "xdg-open": cmdStrong,
	"dbus-send": cmdStrong, "chroot": cmdStrong, "wget2": cmdStrong,
	// GTFOBins: Unix programs that run commands or read files for whoever calls them.
	"aptitude": cmdStrong, "cpan": cmdStrong, "easy_install": cmdStrong, "facter": cmdStrong,
	"iconv": cmdStrong, "jjs": cmdStrong, "jq": cmdStrong, "ldconfig": cmdStrong,
	"logsave": cmdStrong, "lwp-download": cmdStrong, "lwp-request": cmdStrong, "nroff": cmdStrong,
	"rlwrap": cmdStrong, "rpmquery": cmdStrong, "run-mailcap": cmdStrong, "run-parts": cmdStrong,
	"rvim": cmdStrong, "setarch": cmdStrong, "shuf": cmdStrong, "start-stop-daemon": cmdStrong,
	"unexpand": cmdStrong, "xz": cmdStrong, "fmt": cmdStrong, "pdb": cmdStrong, "git": cmdWeak,
	"man": cmdWeak, "mail": cmdWeak, "script": cmdWeak, "puppet": cmdWeak, "busctl": cmdStrong,
	"loginctl": cmdStrong, "networkctl": cmdStrong, "resolvectl": cmdStrong,
	// LOLBAS: Windows programs that download, run or read for whoever calls them.
	"atbroker": cmdStrong, "certoc": cmdStrong, "certreq": cmdStrong, "cmdl32": cmdStrong,
	"conhost": cmdStrong, "datasvcutil": cmdStrong, "desktopimgdownldr": cmdStrong,
	"dfsvc": cmdStrong, "diantz": cmdStrong, "eventvwr": cmdStrong, "extexport": cmdStrong,
	"gpscript": cmdStrong, "ie4uinit": cmdStrong, "ilasm": cmdStrong, "infdefaultinstall": cmdStrong,
	"mmc": cmdStrong, "mpcmdrun": cmdStrong, "msconfig": cmdStrong, "msdt": cmdStrong,
	"ngen": cmdStrong, "pcwrun": cmdStrong, "pktmon": cmdStrong, "pnputil": cmdStrong,
	"presentationhost": cmdStrong, "printbrm": cmdStrong, "rasautou": cmdStrong,
	"rdrleakdiag": cmdStrong, "regini": cmdStrong, "regsvcs": cmdStrong, "rpcping": cmdStrong,
	"runonce": cmdStrong, "runscripthelper": cmdStrong, "scriptrunner": cmdStrong,
	"stordiag": cmdStrong, "syncappvpublishingserver": cmdStrong, "ttdinject": cmdStrong,
	"tttracer": cmdStrong, "unregmp2": cmdStrong, "verclsid": cmdStrong, "wbemtest": cmdStrong,
	"winget": cmdStrong, "wlrmdr": cmdStrong, "wsreset": cmdStrong, "wuauclt": cmdStrong,
	"xwizard": cmdStrong, "jsc": cmdWeak, "vbc": cmdWeak, "accesschk": cmdStrong,
	"chkconfig": cmdStrong, "dnsdomainname": cmdStrong, "command": cmdWeak,
}

// netSubcommands are what Windows' net takes that injections use.
var netSubcommands = [...]string{"user", "users", "localgroup", "group", "view", "share", "use", "start", "stop", "accounts", "config", "session"}

// hasShellInjection reports a shell command injection: a separator or substitution (; | || &
// && ` $( a line break, or the start of the value) followed by a command name, bare or with a
// path (/usr/bin/id, C:\Windows\System32\whoami.exe), that is run as a command rather than
// written as a word; or a function definition as Shellshock sends it: () {.
func hasShellInjection(s string) bool {
	if hasShellSyntax(s) || hasSQLiteDotCommand(s) || hasWindowsVariable(s) {
		return true
	}
	if t := strings.Trim(s, "'\" \t;|&`"); len(t) < len(s) && isBareCommand(t) {
		return true // 'whoami', ;"whoami"
	}
	if hasCommandAfterSeparator(s) || hasAssignedCommand(s) {
		return true
	}
	if f, changed := shellFold(s); changed {
		return hasCommandAfterSeparator(f)
	}
	return false
}

// hasShellSyntax reports constructs of shells and of template and lookup languages that
// ordinary text never holds: a function definition as Shellshock and fork bombs write it
// ("() { :; };", "f(){ f|f& };f"), arithmetic expansion "$((", and Log4Shell lookups
// ("${jndi:", "${lower:j}", "${::-j}").
func hasShellSyntax(s string) bool {
	if hasShellFunction(s) || strings.Contains(s, "$((") || hasParameterExpansion(s) || hasCodeExec(s) {
		return true
	}
	if i := strings.Index(s, "{"); i >= 0 {
		for _, p := range [...]string{"{jndi:", "${::-", "${lower:", "${upper:", "${env:", "${sys:", "${java:", "${date:", "${base64:", "${main:", "${ctx:", "${marker:", "${k8s:", "${docker:", "${spring:", "${web:", "${log4j:"} {
			if containsFold(s[i:], p) {
				return true
			}
		}
	}
	return false
}

// execFunctions are the functions of PHP, Python, Ruby, Perl, Node and Java that run a shell
// command or evaluate code, lower case.
var execFunctions = [...]string{
	"system", "passthru", "shell_exec", "exec", "popen", "proc_open", "pcntl_exec",
	"assert", "create_function", "call_user_func", "preg_replace", "os.system", "os.popen",
	"subprocess.", "__import__", "child_process", "execsync", "spawnsync",
	"runtime.getruntime", "processbuilder", "io.popen", "kernel.exec", "open3.",
}

// hasCodeExec reports server-side code that runs commands: a PHP open tag (<?php, <?=) or a
// call of one of execFunctions with an argument that code, not prose, gives it
// (system('id'), shell_exec($_GET[c]), __import__("os")).
func hasCodeExec(s string) bool {
	if containsFold(s, "<?php") || strings.Contains(s, "<?=") || hasSSIDirective(s) || hasInterpolatedCall(s) || hasTemplateExpression(s) {
		return true
	}
	if !strings.ContainsAny(s, "(.") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := lowerByte(s[i])
		if !isLetterByte(c) && c != '_' || i > 0 && (isIdentByte(s[i-1]) || s[i-1] == '$') {
			continue
		}
		for _, fn := range execFunctions {
			if fn[0] != c || !hasPrefixFold(s[i:], fn) {
				continue
			}
			j := i + len(fn)
			if fn[len(fn)-1] == '.' || strings.Contains(fn, ".") && j < len(s) && (s[j] == '(' || s[j] == '.') {
				return true // os.system(, subprocess.check_output, Runtime.getRuntime().exec
			}
			if fn == "__import__" || fn == "child_process" || fn == "processbuilder" {
				return true
			}
			if j+1 < len(s) && s[j] == '(' && strings.IndexByte("'\"`$[", s[j+1]) >= 0 {
				return true
			}
		}
	}
	return false
}

// hasParameterExpansion reports a shell parameter expansion with an operator, which only a
// shell reads: ${HOME:0:1}, ${x#{}}, ${PATH%/*}, ${test//a/b}, or an empty one such as ${cmd}
// next to a word (c${u}rl).
func hasParameterExpansion(s string) bool {
	for i := strings.Index(s, "${"); i >= 0; {
		j := i + 2
		for j < len(s) && (isIdentByte(s[j])) {
			j++
		}
		if j > i+2 && j < len(s) && strings.IndexByte("}#%:/^,", s[j]) >= 0 {
			return true
		}
		k := strings.Index(s[i+2:], "${")
		if k < 0 {
			break
		}
		i += 2 + k
	}
	return false
}

// hasCommandAfterSeparator reports a command name run after a separator or at the start.
func hasCommandAfterSeparator(s string) bool {
	if shellCommandAt(s, 0, '^') {
		return true
	}
	for i := 0; i < len(s); i++ {
		var sep byte
		start := i + 1
		switch c := s[i]; c {
		case '&', '|':
			sep = c
			if i+1 < len(s) && s[i+1] == c {
				// && and ||: a second command, whatever the first did.
				sep, start = 'A', i+2
				i++
			}
		case ';', '`', '\n', '\r':
			sep = c
		case '$':
			if i+1 < len(s) && s[i+1] == '(' {
				sep, start = '$', i+2
			}
		case '\\':
			// A line break written as \n, as payload lists and some decoders give it.
			if i+1 < len(s) && (s[i+1] == 'n' || s[i+1] == 'r') {
				sep, start = '\n', i+2
			}
		case '!':
			// vi's and ex's shell escape: ":!id", "silent \!whoami".
			if i > 0 && (s[i-1] == ':' || s[i-1] == '\\') {
				sep = '!'
			}
		case '=':
			// A PowerShell or shell variable given a command's output: $c = New-Object ...
			if isVariableAssignment(s[:i]) && i+1 < len(s) && s[i+1] == ' ' {
				sep = '='
			}
		}
		if sep != 0 && shellCommandAtLead(s, start, sep, sep != '`' && sep != '$' && isLeadSeparator(s[:i])) {
			return true
		}
	}
	return false
}

// shellCommandAt reports whether a command is run at s[i:], after separator sep ('^' for the
// start of the value).
func shellCommandAt(s string, i int, sep byte) bool { return shellCommandAtLead(s, i, sep, false) }

// isLeadSeparator reports whether before, what precedes a separator, is nothing but quotes,
// brackets and white space: the separator opens the value (";id", "'; whoami", "& dir"), as
// it does when a value is appended to a command line and as text never starts.
func isLeadSeparator(before string) bool {
	for i := 0; i < len(before); i++ {
		if strings.IndexByte(" \t'\")", before[i]) < 0 {
			return false
		}
	}
	return true
}

// shellCommandAtLead is shellCommandAt; lead tells a separator that opens the value, after which
// a command name that is also a word counts when it ends the value or a comment follows it
// ("; id", "& ver #"), and echo and printf count with any argument ("|echo test").
func shellCommandAtLead(s string, i int, sep byte, lead bool) bool {
	// What may stand between a separator and the command: more separator characters, white
	// space, $IFS, quotes, brackets and braces.
	brace, spaced := false, false
	for i < len(s) {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			spaced = true
			i++
		case c == '\'' || c == '"' || c == '(':
			i++
		case c == '{':
			brace = true
			i++
		case sep != '^' && (c == ';' || c == '|' || c == '&' || c == '`' || c == '\n' || c == '\r'):
			i++
		case c == '$' && hasPrefixFold(s[i:], "${ifs}"):
			i += 6
		case c == '$' && hasPrefixFold(s[i:], "$ifs"):
			i += 4
		default:
			goto word
		}
	}
	return false
word:
	// The shell itself as a command after a pipe: echo whoami|$0.
	if sep == '|' && i+1 < len(s) && s[i] == '$' && s[i+1] == '0' && (i+2 == len(s) || !isAlnumByte(s[i+2])) {
		return true
	}
	// A variable run as a command after a separator: a=nc&&$a -nlvp 555.
	if sep != '^' && sep != '&' && i+1 < len(s) && s[i] == '$' && isLetterByte(s[i+1]) {
		j := i + 1
		for j < len(s) && isIdentByte(s[j]) {
			j++
		}
		rest := s[j:]
		return rest == "" || endsCommand(rest) || shellArgument(rest, false, false, false)
	}
	// An optional path: any absolute Unix path whose last directory is a bin (globs allowed:
	// /???/??t), or a Windows system directory.
	pathed, globbed := false, false
	if sep != '^' {
		// A bin directory without its root after a separator: |usr/bin/id.
		for _, dir := range [...]string{"usr/sbin/", "usr/bin/", "sbin/", "bin/"} {
			if hasPrefixFold(s[i:], dir) {
				i += len(dir)
				pathed = true
				break
			}
		}
	}
	if !pathed && i < len(s) && (s[i] == '/' || s[i] == '\\' || (i+2 < len(s) && isLetterByte(s[i]) && s[i+1] == ':' && (s[i+2] == '\\' || s[i+2] == '/'))) {
		j := i
		last := -1
		for j < len(s) && (isAlnumByte(s[j]) || strings.IndexByte("/\\_-.:?*", s[j]) >= 0) {
			if s[j] == '/' || s[j] == '\\' {
				last = j
			}
			j++
		}
		if last < 0 {
			return false
		}
		dir := strings.ToLower(strings.ReplaceAll(s[i:last+1], "\\", "/"))
		globbed = strings.ContainsAny(dir, "?*") && isGlobbedBinDir(dir)
		if !globbed && !strings.HasSuffix(dir, "bin/") && !strings.HasSuffix(dir, "system32/") && !strings.HasSuffix(dir, "syswow64/") {
			return false
		}
		pathed = true
		i = last + 1
	}
	j := i
	for j < len(s) && (isAlnumByte(s[j]) || s[j] == '_' || s[j] == '-' || pathed && (s[j] == '?' || s[j] == '*')) {
		j++
	}
	for j > i && s[j-1] == '-' {
		j--
	}
	if j == i || j-i > 24 {
		return false
	}
	if pathed && strings.ContainsAny(s[i:j], "?*") {
		return true // a globbed command in a bin directory: /bin/ca? /et*/passwd
	}
	var buf [24]byte
	name := buf[:j-i]
	for k := range name {
		name[k] = lowerByte(s[i+k])
	}
	kind := shellCommands[string(name)]
	if h := strings.IndexByte(string(name), '-'); kind == 0 && h > 0 {
		// ansible-playbook, chef-client, ssh-copy-id: a tool's family name.
		if shellCommands[string(name[:h])] == cmdStrong {
			kind = cmdStrong
		} else if powerShellVerbs[string(name[:h])] && isCmdletNoun(name[h+1:]) {
			// A PowerShell cmdlet, Verb-Noun: Get-ChildItem, Set-ExecutionPolicy. A noun in
			// camel case (ChildItem, WmiObject) is no English word.
			kind = cmdWeak
			if isCamelCase(s[i+h+1 : j]) {
				kind = cmdStrong
			}
		} else {
			j = i + h
			kind = shellCommands[string(name[:h])]
			if kind != 0 {
				return false // cat-friendly: a word
			}
		}
	}
	if kind == 0 && j-i > 2 && isDigitByte(name[len(name)-1]) {
		// A versioned binary: gcc10, php7 (and python3.11, gcc7.4 below).
		k := len(name)
		for k > 0 && isDigitByte(name[k-1]) {
			k--
		}
		if k >= 2 {
			kind = shellCommands[string(name[:k])]
		}
	}
	if kind == 0 {
		if pathed && globbed {
			return true
		}
		return isWindowsFor(string(name), s[j:], sep == '^')
	}
	if isDigitByte(name[len(name)-1]) {
		for j+1 < len(s) && s[j] == '.' && isDigitByte(s[j+1]) {
			j += 2
			for j < len(s) && isDigitByte(s[j]) {
				j++
			}
		}
	}
	if j+1 < len(s) && s[j] == '/' && (kind == cmdStrong && isGluedSwitch(s[j:], 6) || gluedSwitchCommands[string(name)] && isGluedSwitch(s[j:], 2)) {
		return true // ipconfig/all, dir/s: a Windows switch glued to the command
	}
	// Windows executables: whoami.exe, cmd.exe.
	if hasPrefixFold(s[j:], ".exe") || hasPrefixFold(s[j:], ".com") && (j+4 == len(s) || !isAlnumByte(s[j+4])) {
		j += 4
		pathed = true
	}
	if j < len(s) && (isAlnumByte(s[j]) || s[j] == '_' || s[j] == '.' || s[j] == '/' || s[j] == '@') ||
		j+1 < len(s) && s[j] == '\'' && isLetterByte(s[j+1]) {
		return false // part of a longer word (cat's), a version (curl/8.4), a file name or a host
	}
	rest := s[j:]
	if kind == cmdStrong && isPowerShellCommand(name) && strings.HasPrefix(strings.TrimLeft(rest, " \t"), "(") {
		return true // IEX(New-Object Net.WebClient)..., Invoke-Expression (...)
	}
	switch {
	case kind == cmdNet:
		return netSubcommand(rest)
	case toolSubcommand(string(name), rest):
		return true // reg query, wmic os get, netsh firewall, launchctl list
	case pathed:
		return true
	case lookupCommands[string(name)] && looksUpCommand(rest):
		return true // which gcc, man nmap: a command looked up
	case wrapperCommands[string(name)] && wrapsCommand(rest):
		return true // nohup sleep 120, sudo whoami, xargs cat
	case sep == '^':
		// At the start of a value a command needs an argument only a shell would give it
		// ("ls -la", "cat /etc/passwd", "ls${IFS}-la"), or, for a name that is no word, to be
		// the whole value or to end at a separator ("whoami", "uname;").
		if kind == cmdStrong && (rest == "" || endsCommand(rest) && rest[0] != '"' && rest[0] != '\'' && rest[0] != ')') {
			return true
		}
		if kind == cmdStrong && rest != "" && rest[0] != '"' && rest[0] != '\'' && rest[0] != ')' && shellArgument(rest, false, false, numericCommand(string(name))) {
			return true
		}
		return !endsCommand(rest) && (shellArgument(rest, false, true, false) || hostArgument(rest)) || hasPrefixFold(rest, "${ifs}") || hasPrefixFold(rest, "$ifs")
	case kind == cmdStrong, sep == '$', sep == '`':
		return true // a command substituted: $(echo am), `cat x`
	}
	// A weak name: it must end the command, or take an argument that only a shell would give
	// it. A lone & followed by a word at the very end ("Tom & cat") is prose.
	// Nor does a word that ends a sentence after "; " or " & " ("Mon-Fri; free"), nor one of a
	// list such as a User-Agent's "(Windows; U; nl; rv:1.9)", where nl, tr and id are locales.
	if endsCommand(rest) {
		if spaced && (sep == ';' || sep == '&') && !lead {
			return rest != "" && rest[0] != ';' && rest[0] != ')'
		}
		return true
	}
	if lead {
		if t := strings.TrimLeft(rest, " \t"); t == "" || strings.IndexByte("#;|&\n\r", t[0]) >= 0 ||
			len(t) < len(rest) && (hasPrefixFold(t, "--") && len(t) > 2 && isLetterByte(t[2]) || isShortOption(t)) {
			return true // "; id ", "; id #", ";env --version", "; ls -la", "& dir /s"
		}
		if (string(name) == "echo" || string(name) == "printf") && (rest[0] == ' ' || rest[0] == '\t') {
			return true
		}
	}
	return shellArgument(rest, brace, false, numericCommand(string(name)))
}

// isGlobbedBinDir reports whether dir ("/???/", "/u?r/b*/") is, with its globs, a directory
// that holds commands: each of its one to three segments matches usr, bin, sbin or local.
func isGlobbedBinDir(dir string) bool {
	segs := strings.Split(strings.Trim(dir, "/"), "/")
	if len(segs) == 0 || len(segs) > 3 {
		return false
	}
	for _, seg := range segs {
		ok := false
		for _, name := range [...]string{"usr", "bin", "sbin", "local"} {
			if globMatch(seg, name) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// globMatch reports whether the shell glob pattern (with ? and *) matches name.
func globMatch(pattern, name string) bool {
	if pattern == "" {
		return name == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(name); i++ {
			if globMatch(pattern[1:], name[i:]) {
				return true
			}
		}
		return false
	case '?':
		return name != "" && globMatch(pattern[1:], name[1:])
	}
	return name != "" && lowerByte(pattern[0]) == name[0] && globMatch(pattern[1:], name[1:])
}

// isWindowsFor reports cmd's for loop: "for /f ...", "FOR %a IN (...)". At the start of a
// value (start) the loop must be whole, with its set and its command: "for /f "usebackq" %v
// in (`command`) do command".
func isWindowsFor(name, rest string, start bool) bool {
	if name != "for" {
		return false
	}
	t := strings.TrimLeft(rest, " \t")
	if len(t) == len(rest) || len(t) < 2 || t[0] != '%' && (t[0] != '/' || !isLetterByte(t[1])) {
		return false
	}
	if !start {
		return true
	}
	in := indexFold(t, " in (")
	return in > 0 && indexFold(t[in:], ") do ") > 0
}

// gluedSwitchCommands are the Windows commands that are also words and take a switch glued to
// their name (dir/s, del/q).
var gluedSwitchCommands = map[string]bool{"dir": true, "del": true, "attrib": true, "tree": true, "ver": true}

// isGluedSwitch reports whether t, what follows a command name, is a Windows switch of one to
// max letters ending there: "/all", "/s", "/r file.txt". "/8.4" is a version, "/lib/x" a path.
func isGluedSwitch(t string, max int) bool {
	j := 1
	for j < len(t) && isLetterByte(t[j]) {
		j++
	}
	return j > 1 && j <= max+1 && (j == len(t) || t[j] == ' ' || t[j] == '\t' || endsCommand(t[j:]))
}

// endsCommand reports whether rest, what follows a command name, ends the command at once:
// the end of the value, or a separator, substitution end, redirection or quote.
func endsCommand(rest string) bool {
	if rest == "" {
		return true
	}
	switch rest[0] {
	case ';', '|', '&', '`', ')', '\n', '\r', '<', '>', '"', '\'', '$', '}':
		return true
	case '\\':
		return len(rest) > 1 && (rest[1] == 'n' || rest[1] == 'r') // a line break written as \n
	}
	return false
}

// toolSubcommands are the subcommands of system tools that injections run to read the system:
// a tool's name followed by one of them is a command, though the name may be a word (reg, sc,
// ip, security, defaults).
var toolSubcommands = map[string][]string{
	"reg":       {"query", "add", "delete", "save", "export", "import", "load", "copy"},
	"sc":        {"query", "queryex", "qc", "create", "config", "start", "stop", "delete", "sdshow"},
	"wmic":      {"os", "qfe", "useraccount", "process", "service", "computersystem", "bios", "logicaldisk", "nicconfig", "startup", "group", "share", "product", "/node"},
	"netsh":     {"firewall", "advfirewall", "wlan", "interface", "http", "winhttp", "wfp", "portproxy", "dump", "int"},
	"launchctl": {"list", "load", "unload", "bootstrap", "bootout", "submit", "print"},
	"dscl":      {".", "localhost", "-read", "-list", "-readall"},
	"systemctl": {"status", "start", "stop", "restart", "enable", "disable", "list-units", "list-unit-files", "show"},
	"defaults":  {"read", "write", "delete", "domains", "export"},
	"security":  {"dump-keychain", "find-generic-password", "find-internet-password", "list-keychains", "dump-trust-settings"},
	"ip":        {"addr", "a", "route", "r", "link", "neigh", "n", "-a", "-4", "-6"},
	"ps":        {"aux", "ax", "axjf", "-aux"},
	"getent":    {"passwd", "group", "shadow", "hosts"},
	"service":   {"--status-all"},
	"git":       {"clone", "pull", "fetch", "init", "config", "remote", "log", "show", "submodule"},
}

// toolSubcommand reports whether rest, what follows the command name, is white space and one of
// name's toolSubcommands, ending there or followed by white space.
func toolSubcommand(name, rest string) bool {
	subs := toolSubcommands[name]
	if subs == nil {
		return false
	}
	t := strings.TrimLeft(rest, " \t")
	if len(t) == len(rest) {
		return false
	}
	for _, sub := range subs {
		if hasPrefixFold(t, sub) && (len(t) == len(sub) || t[len(sub)] == ' ' || t[len(sub)] == '\t' || endsCommand(t[len(sub):])) {
			return true
		}
	}
	return false
}

// shellArgument reports whether rest, what follows a command name, is an argument only a shell
// command would take: an option (-la, /c), a path, a variable, a redirection, a host name or
// address, a number that ends the command (sleep 5), or, inside braces, a comma. strict leaves
// out numbers and host names, which prose also puts after a word; numeric lets a plain number
// count, for the commands that take one (sleep 5).
func shellArgument(rest string, brace, strict, numeric bool) bool {
	if rest == "" {
		return false
	}
	if endsCommand(rest) {
		return true
	}
	if brace && rest[0] == ',' {
		return true
	}
	i := 0
	for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t' || rest[i] == '+') {
		i++
	}
	if hasPrefixFold(rest, "${ifs}") || hasPrefixFold(rest, "$ifs") {
		return true
	}
	if i == 0 || i == len(rest) {
		return false
	}
	tok := rest[i:]
	end := strings.IndexAny(tok, " \t;|&`)\n\r<>")
	word := tok
	if end >= 0 {
		word = tok[:end]
	}
	switch c := tok[0]; {
	case c == '-' && len(word) > 1 && isAlnumByte(word[1]):
		return true
	case c == '/' || c == '\\' || c == '$' || c == '~' || c == '<' || c == '>':
		return true
	case c == '`':
		return !strict && strings.IndexByte(tok[1:], '`') >= 0 // a substitution, not `quoted'
	case c == '|' || c == ';' || c == '&':
		return !strict // "cmd | x" is a pipe; "Echo & the Bunnymen" a name
	case c == '.' && len(word) > 1 && (word[1] == '/' || word[1] == '.'):
		return true
	case c == '\'' || c == '"':
		return len(tok) > 1 && (tok[1] == '/' || tok[1] == '-' || tok[1] == '$' || !strict && isQuotedCommand(tok[1:]))
	case isLetterByte(c) && len(word) > 2 && word[1] == ':' && (word[2] == '\\' || word[2] == '/'):
		return true // C:\
	}
	if strict {
		return false
	}
	if k := strings.Index(word, "://"); k > 0 && isLetterByte(word[0]) && k+3 < len(word) {
		return true // a URL: curl http://x/a.sh, wget https://...
	}
	// A number or a dotted host or address, ending the command: sleep 5; ping 127.0.0.1;
	// nslookup x.oast.me.
	digits, dots, letters := 0, 0, 0
	for k := 0; k < len(word); k++ {
		switch c := word[k]; {
		case '0' <= c && c <= '9':
			digits++
		case c == '.':
			dots++
		case isLetterByte(c) || c == '-' || c == '_':
			letters++
		default:
			return false
		}
	}
	after := ""
	if end >= 0 {
		after = strings.TrimLeft(tok[end:], " \t")
	}
	if after != "" && !endsCommand(after) && after[0] != '-' {
		return false
	}
	switch {
	case digits > 0 && letters == 0 && dots == 0:
		return numeric // sleep 5; "ID 12345" is prose
	case digits > 0 && letters == 0 && dots == 3:
		return true // an IPv4 address
	case dots >= 1 && letters > 0 && word[len(word)-1] != '.':
		return true
	}
	return false
}

// numericCommand reports the commands whose argument is a plain number: sleep 5, kill 1.
func numericCommand(name string) bool {
	switch name {
	case "sleep", "timeout", "kill", "usleep", "exit":
		return true
	}
	return false
}

// hostArgument reports whether rest is white space and then a host name or IPv4 address that
// ends the command: " 127.0.0.1", " x.oast.me;". A plain or decimal number is not one.
func hostArgument(rest string) bool {
	t := strings.TrimLeft(rest, " \t")
	if len(t) == len(rest) {
		return false
	}
	end := strings.IndexAny(t, " \t;|&`)\n\r<>")
	if end >= 0 {
		if after := strings.TrimLeft(t[end:], " \t"); after != "" && !endsCommand(after) && after[0] != '-' {
			return false
		}
		t = t[:end]
	}
	dots, letters := 0, 0
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == '.':
			dots++
		case isLetterByte(c) || c == '-':
			letters++
		case !isDigitByte(c):
			return false
		}
	}
	return t != "" && t[len(t)-1] != '.' && (dots == 3 && letters == 0 || dots >= 1 && letters > 0)
}

// netSubcommand reports whether rest starts with white space and one of net's subcommands.
func netSubcommand(rest string) bool {
	t := strings.TrimLeft(rest, " \t+")
	if len(t) == len(rest) {
		return false
	}
	for _, sub := range netSubcommands {
		if hasPrefixFold(t, sub) && (len(t) == len(sub) || !isAlnumByte(t[len(sub)])) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case; prefix is lower case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// hasShellFunction reports a shell function definition: "()" not after a letter-word that
// makes it a call or a JavaScript function ("function(){", "alert()"), or after any name
// when a space follows the brace as the shell needs, then "{" and a command: "() { :; };",
// "f(){ f|f& };f", "test() { test | test & }".
func hasShellFunction(s string) bool {
	for i := strings.Index(s, "()"); i >= 0; {
		j := i + 2
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j+1 < len(s) && s[j] == '{' {
			k := i
			for k > 0 && isIdentByte(s[k-1]) {
				k--
			}
			name := s[k:i]
			switch {
			case strings.EqualFold(name, "function"):
			case s[j+1] == ':' || s[j+1] == '_':
				return true
			case s[j+1] == ' ' || s[j+1] == '\t':
				// name() { cmd ... }: the shell's syntax.
				if strings.IndexByte(s[j:], '}') > 0 {
					return true
				}
			}
		}
		k := strings.Index(s[i+2:], "()")
		if k < 0 {
			break
		}
		i += 2 + k
	}
	return false
}

// shellFold removes what shells drop from a word before running it, which evasions put inside
// command names: empty quotes, backticks and substitutions (a quote or backtick doubled, $()),
// special and positional parameters ($@, $*, $1 ...), a backslash before a letter, quotes
// between letters (w'h'o'am'i), and it turns $IFS into a space. It reports whether anything
// changed.
func shellFold(s string) (string, bool) {
	if !strings.ContainsAny(s, "'\"`$\\") {
		return s, false
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case (c == '\'' || c == '"' || c == '`') && i+1 < len(s) && s[i+1] == c:
			i++
		case c == '$' && i+1 < len(s) && s[i+1] == '(' && i+2 < len(s) && s[i+2] == ')':
			i += 2
		case c == '$' && i+1 < len(s) && strings.IndexByte("@*!?-_$#0123456789", s[i+1]) >= 0:
			i++
		case c == '$' && hasPrefixFold(s[i:], "${ifs}"):
			b = append(b, ' ')
			i += 5
		case c == '$' && hasPrefixFold(s[i:], "$ifs"):
			b = append(b, ' ')
			i += 3
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i++ // a line continuation
		case c == '\\' && i+1 < len(s) && isAlnumByte(s[i+1]):
		case (c == '\'' || c == '"') && i > 0 && isAlnumByte(s[i-1]) && i+1 < len(s) && isAlnumByte(s[i+1]):
		default:
			b = append(b, c)
		}
	}
	if len(b) == len(s) {
		return s, false
	}
	return string(b), true
}

// ssiDirectives are the server-side include directives that run commands or read files.
var ssiDirectives = [...]string{"exec", "include", "echo", "config", "set", "printenv", "fsize", "flastmod", "if", "elif"}

// hasSSIDirective reports a server-side include directive: <!--#exec cmd="id"-->,
// <!--#include virtual="/etc/passwd"-->.
func hasSSIDirective(s string) bool {
	for i := strings.Index(s, "<!--#"); i >= 0; {
		w := sqlIdentAt(s, i+5)
		for _, d := range ssiDirectives {
			if strings.EqualFold(w, d) {
				return true
			}
		}
		k := strings.Index(s[i+5:], "<!--#")
		if k < 0 {
			return false
		}
		i += 5 + k
	}
	return false
}

// hasInterpolatedCall reports a function called inside string interpolation, which PHP and
// template languages evaluate: ${@print(md5(1))}, {${system('id')}}, ${phpinfo()}. A
// placeholder (${name}) calls nothing.
func hasInterpolatedCall(s string) bool {
	for i := strings.Index(s, "${"); i >= 0; {
		j := i + 2
		if j < len(s) && s[j] == '@' {
			j++
		}
		k := j
		for k < len(s) && (isIdentByte(s[k]) || s[k] == '.') {
			k++
		}
		if k > j && k < len(s) && s[k] == '(' && strings.IndexByte(s[k:], '}') > 0 {
			return true
		}
		n := strings.Index(s[i+2:], "${")
		if n < 0 {
			return false
		}
		i += 2 + n
	}
	return false
}

// templateOpeners open an expression of a server-side template language: Jinja2, Twig and
// Handlebars ({{ }}), Jinja2 statements ({% %}), ERB and JSP (<%= %>), Ruby and Spring
// (#{ }), and EL and Freemarker (${ }).
var templateOpeners = [...]struct{ open, close string }{
	{"{{", "}}"}, {"{%", "%}"}, {"<%=", "%>"}, {"<%", "%>"}, {"#{", "}"}, {"${", "}"},
}

// hasTemplateExpression reports a template expression that computes or calls, as template
// injection probes do: {{7*7}}, ${7*7}, {{ get_user_file("/etc/passwd") }},
// {{”.__class__}}, <%= system("id") %>. A placeholder ({{name}}, ${user.name}) computes
// nothing.
func hasTemplateExpression(s string) bool {
	for _, t := range templateOpeners {
		for i := strings.Index(s, t.open); i >= 0; {
			body := s[i+len(t.open):]
			end := strings.Index(body, t.close)
			if end < 0 {
				break
			}
			body = body[:end]
			if strings.Contains(body, "__") || strings.IndexByte(body, '(') > 0 && strings.IndexByte(body, ')') > 0 ||
				isArithmeticProbe(body) {
				return true
			}
			k := strings.Index(s[i+len(t.open):], t.open)
			if k < 0 {
				break
			}
			i += len(t.open) + k
		}
	}
	return false
}

// isArithmeticProbe reports a product of two numbers, template injection's first probe: 7*7,
// 7 * '7'.
func isArithmeticProbe(body string) bool {
	b := strings.Trim(body, " \t'\"")
	k := strings.IndexByte(b, '*')
	if k <= 0 {
		return false
	}
	l, r := strings.Trim(b[:k], " \t'\""), strings.Trim(b[k+1:], " \t'\"")
	return l != "" && r != "" && strings.Trim(l, "0123456789") == "" && strings.Trim(r, "0123456789") == ""
}

// hasSQLiteDotCommand reports one of the sqlite3 shell's dot commands that run programs or read
// and load files, at the start of the value or of a statement: ".shell id", ";.system ls",
// ".load /tmp/x.so", ".import /etc/passwd t".
func hasSQLiteDotCommand(s string) bool {
	for i := strings.IndexByte(s, '.'); i >= 0; {
		before := strings.TrimRight(s[:i], " \t")
		if before == "" || strings.IndexByte(";\n\r|&", before[len(before)-1]) >= 0 {
			w := sqlIdentAt(s, i+1)
			for _, c := range [...]string{"shell", "system", "load", "import", "output", "once", "read"} {
				if e := i + 1 + len(w); strings.EqualFold(w, c) && e < len(s) && (s[e] == ' ' || s[e] == '\t') {
					return true
				}
			}
		}
		k := strings.IndexByte(s[i+1:], '.')
		if k < 0 {
			return false
		}
		i += 1 + k
	}
	return false
}

// windowsVariables are the environment variables of Windows that command injections expand
// to reach a shell or a file.
var windowsVariables = [...]string{
	"%comspec%", "%systemroot%", "%windir%", "%userprofile%", "%systemdrive%", "%programfiles%",
	"%programdata%", "%appdata%", "%localappdata%", "%allusersprofile%", "%username%",
	"%userdomain%", "%computername%", "%homepath%", "%temp%", "%tmp%", "%path%", "%psmodulepath%",
}

// hasWindowsVariable reports one of windowsVariables.
func hasWindowsVariable(s string) bool {
	if strings.Count(s, "%") < 2 {
		return false
	}
	for i := strings.IndexByte(s, '%'); i >= 0; {
		for _, v := range windowsVariables {
			if len(s)-i >= len(v) && strings.EqualFold(s[i:i+len(v)], v) {
				return true
			}
		}
		k := strings.IndexByte(s[i+1:], '%')
		if k < 0 {
			return false
		}
		i += 1 + k
	}
	return false
}

// wrapperCommands run the command that follows them.
var wrapperCommands = map[string]bool{
	"nohup": true, "sudo": true, "doas": true, "xargs": true, "timeout": true, "nice": true,
	"env": true, "busybox": true, "setsid": true, "stdbuf": true, "strace": true, "chroot": true,
	"watch": true, "runas": true, "exec": true, "eval": true, "powershell": true, "pwsh": true, "cmd": true,
}

// wrapsCommand reports whether rest, what follows a wrapper command, is white space, options
// and another command of shellCommands: " sleep 120", " -n 5 cat /etc/passwd".
func wrapsCommand(rest string) bool {
	i := 0
	for i < len(rest) {
		for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
			i++
		}
		if i < len(rest) && (rest[i] == '-' || rest[i] == '/') && !(rest[i] == '/' && strings.HasPrefix(rest[i:], "/bin")) {
			for i < len(rest) && rest[i] != ' ' && rest[i] != '\t' {
				i++ // an option, or its value after a digit run
			}
			continue
		}
		if i < len(rest) && isDigitByte(rest[i]) {
			for i < len(rest) && rest[i] != ' ' && rest[i] != '\t' {
				i++
			}
			continue
		}
		break
	}
	if i == 0 || i >= len(rest) {
		return false
	}
	j := i
	for j < len(rest) && (isAlnumByte(rest[j]) || rest[j] == '-' || rest[j] == '_') {
		j++
	}
	if j-i < 2 || j-i > 16 || j < len(rest) && !(rest[j] == ' ' || rest[j] == '\t' || endsCommand(rest[j:])) {
		return false
	}
	var buf [16]byte
	w := buf[:j-i]
	for k := range w {
		w[k] = lowerByte(rest[i+k])
	}
	return shellCommands[string(w)] != 0
}

// isShortOption reports whether t starts with a short option, one to three letters after a
// dash or (Windows) a slash, ending there: "-la", "-m 5", "/s". "-rated" is a word.
func isShortOption(t string) bool {
	if len(t) < 2 || t[0] != '-' && t[0] != '/' {
		return false
	}
	j := 1
	for j < len(t) && isLetterByte(t[j]) {
		j++
	}
	return j > 1 && j <= 4 && (j == len(t) || t[j] == ' ' || t[j] == '\t' || endsCommand(t[j:]))
}

// isQuotedCommand reports whether t, what follows the quote that opens an argument, is a
// command line: a command and an argument only a shell gives it, or a command that is no word
// alone: trap 'rm -rf x', sh -c "id", eval 'whoami'.
func isQuotedCommand(t string) bool {
	j := 0
	for j < len(t) && (isAlnumByte(t[j]) || t[j] == '_' || t[j] == '-') {
		j++
	}
	if j < 2 || j > 16 {
		return false
	}
	var buf [16]byte
	w := buf[:j]
	for k := range w {
		w[k] = lowerByte(t[k])
	}
	kind := shellCommands[string(w)]
	rest := t[j:]
	switch {
	case kind == 0 || kind == cmdNet:
		return false
	case kind == cmdStrong && rest != "" && (rest[0] == '\'' || rest[0] == '"'):
		return true
	}
	return rest != "" && (rest[0] == ' ' || rest[0] == '\t') && shellArgument(rest, false, true, false)
}

// maxAssignments bounds the shell variables hasAssignedCommand follows in one value.
const maxAssignments = 4

// hasAssignedCommand reports a command built from a variable the value itself assigns, the
// evasion that hides a command name from word lists: "a=whoami;$a", "v='u';cu$v\\rl x",
// "garb=adduse[r];$garb pizza", "alias x=env&x whoami", "set FOO=1& echo %FOO%". A variable
// assigned at the start of the value or of a command (after ; & | or a line break, or after
// alias, export, set or declare) and then expanded where a command starts, or glued to letters,
// or (for an alias) run as a command. A query string's "a=1&b=$a" expands nothing there.
func hasAssignedCommand(s string) bool {
	if strings.IndexByte(s, '=') < 0 {
		return false
	}
	// cmd's variables: set NAME=value, then %NAME%.
	for i := indexFold(s, "set "); i >= 0; {
		if i == 0 || s[i-1] == ' ' || strings.IndexByte(";&|\n\r(", s[i-1]) >= 0 {
			j := skipBlank(s, i+4)
			if k := assignedName(s, j); k > 0 && strings.Contains(s[k:], "%"+s[j:k]+"%") {
				return true
			}
		}
		k := indexFold(s[i+4:], "set ")
		if k < 0 {
			break
		}
		i += 4 + k
	}
	var names [maxAssignments]string
	var alias [maxAssignments]bool
	n := 0
	for i := 0; i < len(s) && n < maxAssignments; i++ {
		if i > 0 && strings.IndexByte(";&|\n\r", s[i-1]) < 0 && !(s[i-1] == ' ' && commandStart(s[:i-1])) {
			continue
		}
		j := skipBlank(s, i)
		isAlias := false
		for _, kw := range [...]string{"alias", "export", "declare", "local"} {
			if hasPrefixFold(s[j:], kw) && j+len(kw) < len(s) && (s[j+len(kw)] == ' ' || s[j+len(kw)] == '\t') {
				isAlias = kw == "alias"
				j = skipBlank(s, j+len(kw))
				break
			}
		}
		k := assignedName(s, j)
		if k < 0 {
			continue
		}
		names[n], alias[n] = s[j:k], isAlias
		n++
		i = k
	}
	for a := 0; a < n; a++ {
		name := names[a]
		for i := strings.Index(s, name); i >= 0; {
			end := i + len(name)
			if end == len(s) || !isIdentByte(s[end]) {
				if alias[a] && i > 0 && strings.IndexByte(";&|\n\r", s[i-1]) >= 0 && (end == len(s) || s[end] != '=') {
					return true // the alias run as a command
				}
				if !alias[a] && i > 0 && s[i-1] == '$' {
					p := i - 1
					q := strings.TrimRight(s[:p], " \t")
					if q != "" && strings.IndexByte(";&|\n\r`(", q[len(q)-1]) >= 0 ||
						p > 0 && isLetterByte(s[p-1]) || end < len(s) && isLetterByte(s[end]) {
						return true // ;$a, cu$v, $v\rl: expanded where a command is
					}
				}
			}
			k := strings.Index(s[i+1:], name)
			if k < 0 {
				break
			}
			i += 1 + k
		}
	}
	return false
}

// assignedName returns the end of a variable name assigned at s[j:] ("name=value"; the value
// not empty nor a comparison), or -1.
func assignedName(s string, j int) int {
	k := j
	for k < len(s) && isIdentByte(s[k]) {
		k++
	}
	if k == j || k-j > 32 || k+1 >= len(s) || s[k] != '=' || s[k+1] == ' ' || s[k+1] == '=' || isDigitByte(s[j]) {
		return -1
	}
	return k
}

// commandStart reports whether before, what precedes a space, ends a command or a cmd
// conditional, after which a new command starts: "if not defined BAR".
func commandStart(before string) bool {
	return before == "" || strings.IndexByte(";&|\n\r", before[len(before)-1]) >= 0
}

// skipBlank returns the index after the spaces and tabs at s[i:].
func skipBlank(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// powerShellVerbs are the approved verbs of PowerShell's cmdlet names (Verb-Noun), lower case.
var powerShellVerbs = map[string]bool{
	"get": true, "set": true, "new": true, "remove": true, "invoke": true, "start": true,
	"stop": true, "add": true, "out": true, "write": true, "import": true, "export": true,
	"convertto": true, "convertfrom": true, "select": true, "where": true, "foreach": true,
	"test": true, "enable": true, "disable": true, "copy": true, "move": true, "rename": true,
	"clear": true, "register": true, "unregister": true, "resolve": true, "restart": true,
	"send": true, "receive": true, "update": true, "install": true, "uninstall": true,
	"find": true, "save": true, "read": true, "mount": true, "dismount": true, "enter": true,
	"grant": true, "revoke": true, "unblock": true, "compress": true, "expand": true,
}

// isCmdletNoun reports whether w (lower case), what follows a PowerShell verb and its hyphen,
// can be a cmdlet's noun: letters only, four or more, and not a word that English hyphenates
// after such a verb (get-together).
func isCmdletNoun(w []byte) bool {
	if len(w) < 4 {
		return false // add-on, set-up, write-off, stop-gap
	}
	for _, c := range w {
		if !isLetterByte(c) {
			return false
		}
	}
	switch string(w) {
	case "together", "going", "well", "away", "ahead", "back", "down", "over", "through", "along":
		return false
	}
	return true
}

// isCamelCase reports whether w has an upper-case letter after its first and a lower-case one:
// "ChildItem", "WmiObject", as .NET names are written and words are not.
func isCamelCase(w string) bool {
	upper, lower := false, false
	for k := 0; k < len(w); k++ {
		switch {
		case 'A' <= w[k] && w[k] <= 'Z':
			upper = upper || k > 0
		case 'a' <= w[k] && w[k] <= 'z':
			lower = true
		}
	}
	return upper && lower
}

// isPowerShellCommand reports a PowerShell cmdlet name (Verb-Noun) or one of its aliases that
// evaluate or fetch, lower case.
func isPowerShellCommand(name []byte) bool {
	switch string(name) {
	case "iex", "iwr", "irm", "icm":
		return true
	}
	h := strings.IndexByte(string(name), '-')
	return h > 0 && powerShellVerbs[string(name[:h])]
}

// isVariableAssignment reports whether before, what precedes an '=', ends in a variable and
// spaces: "$client ", "$x".
func isVariableAssignment(before string) bool {
	t := strings.TrimRight(before, " \t")
	k := len(t)
	for k > 0 && isIdentByte(t[k-1]) {
		k--
	}
	return k < len(t) && k > 0 && t[k-1] == '$' && (k == 1 || !isIdentByte(t[k-2]))
}

// lookupCommands find or describe another command: which gcc, whereis nc, man nmap.
var lookupCommands = map[string]bool{"which": true, "whereis": true, "man": true, "type": true, "command": true, "where": true}

// looksUpCommand reports whether rest is white space (and "-v" for command) and a command that
// is no word (cmdStrong), ending there: " gcc", " -v nc". "which cat is yours" looks up a cat.
func looksUpCommand(rest string) bool {
	t := strings.TrimLeft(rest, " \t")
	if len(t) == len(rest) {
		return false
	}
	if hasPrefixFold(t, "-v ") {
		t = strings.TrimLeft(t[3:], " \t")
	}
	j := 0
	for j < len(t) && (isAlnumByte(t[j]) || t[j] == '_' || t[j] == '-') {
		j++
	}
	if j < 2 || j > 16 || j < len(t) && !endsCommand(t[j:]) && t[j] != ' ' && t[j] != '\t' {
		return false
	}
	var buf [16]byte
	w := buf[:j]
	for k := range w {
		w[k] = lowerByte(t[k])
	}
	return shellCommands[string(w)] == cmdStrong
}
