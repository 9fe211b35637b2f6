package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeWritesDecisionsInAProcess: with the embedded store, a process of its own writes the
// decision log, at the lowest CPU priority; the answers are readable as before, and the process
// stores what is queued and exits when the server stops.
func TestServeWritesDecisionsInAProcess(t *testing.T) {
	s := mustServe(t, nil)
	m := regexp.MustCompile(`"component":"decision writer process","pid":(\d+)`).FindStringSubmatch(s.logs.String())
	if m == nil {
		t.Fatalf("no decision writer process started:\n%s", s.logs)
	}
	pid, _ := strconv.Atoi(m[1])
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(cmdline, []byte("decision-writer\x00--db\x00")) || pid == os.Getpid() {
		t.Errorf("process %d runs %q: want the decision-writer command", pid, cmdline)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	if nice, policy := f[19-3], f[41-3]; policy != "5" && nice != "19" {
		t.Errorf("process %d: policy %s, nice %s; want SCHED_IDLE (5) or nice 19", pid, policy, nice)
	}

	if environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err != nil || len(environ) != 0 {
		t.Errorf("process %d's environment: got %q, %v; want none (the server's secrets stay out of it)", pid, environ, err)
	}
	// A service manager may send SIGTERM to every process of the service: the writer goes on
	// until the server has sent it the last batch.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	const n = 20
	for i := range n {
		if resp, body := call(t, "POST", s.url+"/predict", "application/json", withID(fmt.Sprintf("txn-proc-%d", i))); resp.StatusCode != 200 {
			t.Fatalf("predict: %d %v", resp.StatusCode, body)
		}
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Errorf("the decision writer process %d ended after SIGTERM: %v", pid, err)
	}
	if m := regexp.MustCompile(`"component":"decision writer process","pid":(\d+)`).FindAllStringSubmatch(s.logs.String(), -1); len(m) != 1 {
		t.Errorf("%d processes started, want the one, which SIGTERM did not stop:\n%s", len(m), s.logs)
	}
	s.stop(t) // the drain stores what is queued through the process, which then exits
	if !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		t.Errorf("the decision writer process %d still runs after the server stopped", pid)
	}
	s2 := mustServe(t, map[string]string{"DATA_DIR": dataDirOf(t, s)})
	_, body := call(t, "GET", s2.url+"/decisions?limit=100", "", "")
	if got := len(body["decisions"].([]any)); got != n {
		t.Errorf("after a restart: %d decisions stored, want %d", got, n)
	}
}

// dataDirOf is the DATA_DIR s logged in its configuration.
func dataDirOf(t *testing.T, s *liveServer) string {
	t.Helper()
	m := regexp.MustCompile(`"data_dir":"([^"]+)"`).FindStringSubmatch(s.logs.String())
	if m == nil {
		t.Fatalf("no data_dir in the log:\n%s", s.logs)
	}
	return m[1]
}

func TestServeWritesDecisionsInlineWhenAsked(t *testing.T) {
	s := mustServe(t, map[string]string{"DECISION_WRITER": "inline"})
	if strings.Contains(s.logs.String(), "decision writer process") {
		t.Errorf("DECISION_WRITER=inline started a process:\n%s", s.logs)
	}
	if resp, body := call(t, "POST", s.url+"/predict", "application/json", withID("txn-inline")); resp.StatusCode != 200 {
		t.Fatalf("predict: %d %v", resp.StatusCode, body)
	}
	deadline := time.Now().Add(time.Second)
	for {
		if resp, _ := call(t, "GET", s.url+"/decisions/txn-inline", "", ""); resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not readable a second after the answer")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDecisionWriterRefusesBadArguments(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "fraudguard-decisions.db")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file", []string{"decision-writer"}, 2, "--db"},
		{"unknown flag", []string{"decision-writer", "--db", missing, "--fast"}, 2, "-fast"},
		{"extra argument", []string{"decision-writer", "--db", missing, "more"}, 2, `"more"`},
		{"file not made by serve", []string{"decision-writer", "--db", missing}, 1, missing},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := exitCode(run(context.Background(), c.args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr), &stderr)
			if code != c.code || !strings.Contains(stderr.String(), c.want) {
				t.Errorf("exit %d, stderr %q: want exit %d naming %s", code, stderr.String(), c.code, c.want)
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a decisions file was made (%v)", err)
	}
}
