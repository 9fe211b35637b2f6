// Package browsertest runs pages in headless Chromium for tests: the DOM after
// their scripts ran, and screenshots to look at.
//
// Chromium comes from the Debian package chromium (`make deps`). Without it the
// tests that need it skip, except under CI=true, where they fail: CI must not
// pass by skipping them.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Timeout bounds one Chromium run.
const Timeout = 60 * time.Second

// VirtualTimeBudget is the page time, in milliseconds, that Chromium lets
// pass before it dumps the DOM or takes the screenshot. Virtual time waits
// for network requests (such as a page's XHR for its OpenAPI document) and
// skips timers ahead, so a page settles in well under this in real time.
const VirtualTimeBudget = 15000

const missing = "chromium not found: run 'make deps' to install it"

// Require returns the path of the chromium binary. When there is none it
// skips the test, or fails it when the environment variable CI is "true".
func Require(t testing.TB) string {
	t.Helper()
	return require(t, exec.LookPath, os.Getenv)
}

func require(t testing.TB, lookPath func(string) (string, error), getenv func(string) string) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if path, err := lookPath(name); err == nil {
			return path
		}
	}
	if getenv("CI") == "true" {
		t.Fatal(missing)
	}
	t.Skip(missing)
	return ""
}

// DumpDOM loads url in headless Chromium and returns the DOM once the page
// has settled (see VirtualTimeBudget), serialised as HTML. It fails the test
// if Chromium fails or prints nothing.
func DumpDOM(t testing.TB, url string) string {
	t.Helper()
	out := run(t, append(baseArgs(t), "--dump-dom", url))
	if len(bytes.TrimSpace(out)) == 0 {
		t.Fatalf("chromium --dump-dom %s printed nothing", url)
	}
	return string(out)
}

// Screenshot loads url in headless Chromium and saves a 1280×2000 PNG of the
// settled page at path, for a person to look at.
func Screenshot(t testing.TB, url, path string) {
	t.Helper()
	// Chromium may fail without saying so; a picture left from an earlier
	// run must not pass for this one.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	run(t, append(baseArgs(t), "--screenshot="+path, "--window-size=1280,2000", "--hide-scrollbars", url))
	if info, err := os.Stat(path); err != nil || info.Size() == 0 {
		t.Fatalf("chromium --screenshot wrote no picture at %s (stat: %v)", path, err)
	}
}

// baseArgs keeps Chromium off the network and away from state shared with
// other runs. The --disable flags stop most of its own requests, but not all
// (it still asks for the time, component updates and signed-in accounts), so
// every host but loopback is made unresolvable as well: neither Chromium nor
// a page under test reaches another machine, and no DNS query leaves.
func baseArgs(t testing.TB) []string {
	return []string{
		"--headless",
		"--no-sandbox", // tests run as root in containers, where the sandbox cannot start
		"--disable-gpu",
		"--disable-quic",
		"--no-first-run",
		"--disable-background-networking",
		"--disable-component-update",
		"--disable-sync",
		"--user-data-dir=" + t.TempDir(),
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
		"--virtual-time-budget=" + strconv.Itoa(VirtualTimeBudget),
	}
}

// DumpDOMConsole is DumpDOM that also returns what the page wrote to the browser's console,
// one message a line as Chromium logs it: script errors and logs, requests refused by a
// Content-Security-Policy, resources that failed to load, malformed SVG attributes. A page
// that needs none of these leaves the list empty.
func DumpDOMConsole(t testing.TB, url string) (dom string, console []string) {
	t.Helper()
	out, log := runLog(t, append(baseArgs(t), "--enable-logging=stderr", "--v=0", "--dump-dom", url))
	if len(bytes.TrimSpace(out)) == 0 {
		t.Fatalf("chromium --dump-dom %s printed nothing", url)
	}
	return string(out), consoleLines(log)
}

// consoleLines picks the console messages out of Chromium's log, which tags them
// ":CONSOLE" ("[pid:tid:time:INFO:CONSOLE:12] \"message\", source: url (12)").
func consoleLines(log []byte) []string {
	var out []string
	for _, line := range strings.Split(string(log), "\n") {
		if _, msg, ok := strings.Cut(line, ":CONSOLE"); ok {
			if _, after, ok := strings.Cut(msg, "] "); ok {
				msg = after
			}
			out = append(out, msg)
		}
	}
	return out
}

func run(t testing.TB, args []string) []byte {
	t.Helper()
	out, _ := runLog(t, args)
	return out
}

// runLog runs Chromium with args and returns its standard output and its log (standard error).
func runLog(t testing.TB, args []string) (stdout, stderr []byte) {
	t.Helper()
	bin := Require(t)
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, bin, args...)
	var out, log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &log
	// Chromium's helper processes inherit its output; do not wait on them
	// for long once it has gone.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		t.Fatalf("chromium %s: timed out after %v\n%s", strings.Join(args, " "), Timeout, tail(log.Bytes()))
	case err != nil && !errors.Is(err, exec.ErrWaitDelay): // ErrWaitDelay: Chromium itself exited 0
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, tail(log.Bytes()))
	}
	return out.Bytes(), log.Bytes()
}

// tail keeps the end of Chromium's log, where the reason it failed is.
func tail(b []byte) []byte {
	const limit = 4000
	if len(b) > limit {
		return b[len(b)-limit:]
	}
	return b
}
