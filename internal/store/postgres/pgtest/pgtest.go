// Package pgtest gives tests a PostgreSQL database of their own: FRAUDGUARD_TEST_POSTGRES_URL's
// server when it is set, or else a throwaway server this package starts from the Debian
// binaries (make deps) in a temporary directory on 127.0.0.1, with durability off for speed.
// Each test gets a fresh schema, so tests run in parallel on one server. Without either, tests
// skip with a message naming make deps; with CI=true they fail instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable that points the tests at a running server instead.
const EnvURL = "FRAUDGUARD_TEST_POSTGRES_URL"

// Server is a PostgreSQL server for tests.
type Server struct {
	// URL is the server's admin URL (its postgres database).
	URL  string
	dir  string // the data directory of a server this package started; "" otherwise
	bin  string
	as   string // the user the server runs as when the tests run as root
	opts string // the server's options (port, socket directory, settings)
	err  error  // why there is no server
}

// Start returns the server of EnvURL, or starts one. It never fails: a Server without a
// server records why, and Schema then skips (or, under CI=true, fails) each test.
func Start() *Server {
	if u := os.Getenv(EnvURL); u != "" {
		return &Server{URL: u}
	}
	s := &Server{}
	s.err = s.start()
	return s
}

// Stop stops a server Start started and removes its files.
func (s *Server) Stop() {
	if s.dir == "" {
		return
	}
	_ = s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
	_ = os.RemoveAll(s.dir)
}

// Kill stops a server Start started at once (pg_ctl's immediate mode), as a crash would; its
// files stay, for Restart. It is for tests of what happens while the database is down.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if s.dir == "" {
		t.Skipf("the server of %s is not this test's to stop", EnvURL)
	}
	if err := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop"); err != nil {
		t.Fatalf("stop postgres: %v", err)
	}
}

// Restart starts a server that Kill stopped, on the same port.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-o", s.opts, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "start"); err != nil {
		t.Fatalf("restart postgres: %v", err)
	}
}

// Schema returns the URL of a new, empty schema (the URL's search_path) on the server, dropped
// when t ends.
func (s *Server) Schema(t testing.TB) string {
	t.Helper()
	if s.err != nil {
		msg := fmt.Sprintf("no PostgreSQL for this test (install the Debian packages with make deps, or set %s): %v", EnvURL, s.err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	name := "t_" + randomHex(8)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, s.URL)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
	})
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Server) start() error {
	bin, err := findBin()
	if err != nil {
		return err
	}
	s.bin = bin
	dir, err := os.MkdirTemp("", "fraudguard-pg-")
	if err != nil {
		return err
	}
	s.dir = dir
	if os.Geteuid() == 0 {
		// The server refuses to run as root: run it as the postgres user the package made.
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root, and no postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
		s.as = "postgres"
	}
	data := filepath.Join(dir, "data")
	if err := s.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		s.Stop()
		return err
	}
	port, err := freePort()
	if err != nil {
		s.Stop()
		return err
	}
	s.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port, dir)
	if err := s.run("pg_ctl", "-D", data, "-o", s.opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		s.Stop()
		return fmt.Errorf("%w\n%s", err, log)
	}
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return nil
}

// run runs one of the server's programs, as the server's user.
func (s *Server) run(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	prog := filepath.Join(s.bin, name)
	cmd := exec.CommandContext(ctx, prog, args...)
	if s.as != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", s.as, "--", prog}, args...)...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

var findOnce = sync.OnceValues(func() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errors.New("pg_ctl and initdb not found (Debian package postgresql)")
})

// findBin finds the directory of initdb and pg_ctl.
func findBin() (string, error) { return findOnce() }

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
