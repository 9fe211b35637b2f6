package detect

import "testing"

// TestSystemPaths checks absolute paths into system directories, Unix and Windows, and
// administrative shares; and URLs, user documents and times that look alike.
func TestSystemPaths(t *testing.T) {
	for _, v := range []string{
		"/etc/exports", "/etc/cups/cupsd.conf", "/proc/swaps", "/var/lib/pgsql/data/pg_hba.conf",
		"/usr/local/cpanel/logs", "/opt/lampp/etc/httpd.conf", "/logs/pure-ftpd.log", "x=/etc/aliases",
		"/models//etc/mtab", "c:/sysprep.inf", "c:/windows/debug/netsetup.log", "C:\\Windows\\debug\\NetSetup.log",
		"c:/users/administrator/desktop/desktop.ini", "C:\\Program Files (x86)\\FileZilla Server\\FileZilla Server.xml",
		"\\\\localhost\\c$\\windows\\win.ini", "../../etc/anything",
	} {
		if !hasSystemPath(v) {
			t.Errorf("%q: got false, want true", v)
		}
	}
	for _, v := range []string{
		"https://example.com/etc/page", "C:\\Users\\jsmith\\Documents\\invoice.pdf", "10:30/11:00",
		"/predict", "/api/v1/users/42", "etc/passwd is a file", "my-etc/x", "Plan B: /etc", "/var", "/etc/",
	} {
		if hasSystemPath(v) {
			t.Errorf("%q: got true, want false", v)
		}
	}
}
