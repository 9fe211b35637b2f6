package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/store/storetest"
)

func TestStore(t *testing.T) {
	// Each test of the suite gets its own file; opening again with the same t reopens it.
	var mu sync.Mutex
	paths := map[*testing.T]string{}
	storetest.Run(t, func(t *testing.T) storetest.Store {
		mu.Lock()
		path, ok := paths[t]
		if !ok {
			path = filepath.Join(t.TempDir(), "fraudguard.db")
			paths[t] = path
		}
		mu.Unlock()
		return mustOpen(t, path)
	})
}

func TestOpenCreatesPrivateFileInWALMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "fraudguard.db") // the directory is created too
	s := mustOpen(t, path)
	for _, f := range []string{path, filepath.Join(filepath.Dir(path), "fraudguard-decisions.db")} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: file mode: got %04o, want 0600", f, perm)
		}
	}
	for _, schema := range []string{"main", decisionsSchema} {
		var mode string
		if err := s.read.QueryRow("PRAGMA " + schema + ".journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" {
			t.Errorf("%s: journal mode: got %q, want wal", schema, mode)
		}
	}
	var fk int
	if err := s.write.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if fk != 1 {
		t.Errorf("foreign_keys: got %d, want 1", fk)
	}
	// The decision log rewrites its index pages often; checkpoints every 10,000 pages copy each
	// once per checkpoint instead of once per 1,000 pages written.
	var checkpoint int
	if err := s.dwrite.QueryRow("PRAGMA wal_autocheckpoint").Scan(&checkpoint); err != nil {
		t.Fatal(err)
	}
	if checkpoint != 10000 {
		t.Errorf("wal_autocheckpoint: got %d, want 10000", checkpoint)
	}
	ms, err := parseMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(context.Background()); err != nil || v != ms[len(ms)-1].version {
		t.Errorf("schema version: got %d, %v; want %d, nil", v, err, ms[len(ms)-1].version)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?x=1#y%20", "fraudguard.db")
	s := mustOpen(t, path)
	if err := s.RecordAudit(context.Background(), fraud.AuditEvent{Action: fraud.ActionAdminAccess}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at the path given: %v", err)
	}
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fraudguard.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not a database "), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path, Options{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v, want an error naming %s", err, path)
	}
	if code := fraud.ErrorCode(err); code != fraud.CodeInternal {
		t.Errorf("code: got %s, want %s", code, fraud.CodeInternal)
	}
}

func TestTwoProcessesWriteTheSameFile(t *testing.T) {
	// Two stores on one file stand for two processes: each has its own writer connection, so
	// they meet at SQLite's file lock and wait for each other within the busy timeout.
	path := filepath.Join(t.TempDir(), "fraudguard.db")
	stores := []*Store{mustOpen(t, path), mustOpen(t, path)}
	const goroutines, each = 8, 25
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[g%2]
			for i := 0; i < each; i++ {
				if err := s.RecordAudit(context.Background(), fraud.AuditEvent{Action: fraud.ActionAttackDetected, Detail: fmt.Sprintf("%d-%d", g, i)}); err != nil {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, s := range stores {
		if _, total, err := s.ListAudit(context.Background(), fraud.AuditFilter{}); err != nil || total != goroutines*each {
			t.Errorf("store %d: got total %d (%v), want %d", i, total, err, goroutines*each)
		}
	}
}

func TestReaderIsReadOnly(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "fraudguard.db"))
	_, err := s.read.Exec("DELETE FROM audit_events")
	if err == nil {
		t.Fatal("a write through the read pool: got nil, want an error")
	}
	err = wrap("delete", err)
	if code := fraud.ErrorCode(err); code != fraud.CodeServiceUnavailable || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("got %v (code %s), want a read-only %s error", err, code, fraud.CodeServiceUnavailable)
	}
}

func TestFullDatabaseIsServiceUnavailable(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "fraudguard.db"))
	ctx := context.Background()
	// Cap the file at its current size, as a full disk would.
	var pages int
	if err := s.write.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = s.RecordAudit(ctx, fraud.AuditEvent{Action: fraud.ActionAttackDetected, Detail: strings.Repeat("x", 8192)})
	}
	if code := fraud.ErrorCode(err); code != fraud.CodeServiceUnavailable || !strings.Contains(err.Error(), "full") {
		t.Errorf("got %v (code %s), want a %s error saying the database is full", err, code, fraud.CodeServiceUnavailable)
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fraudguard.db")
	for i := 0; i < 3; i++ {
		s := mustOpen(t, path)
		var n int
		if err := s.read.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
			t.Fatal(err)
		}
		ms, err := parseMigrations(migrationFiles, "migrations")
		if err != nil {
			t.Fatal(err)
		}
		if n != len(ms) {
			t.Errorf("open %d: got %d rows in schema_migrations, want %d", i+1, n, len(ms))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestJobsBeforeReasonsStayReadable stores a job in a database made by the migrations before
// the reasons column, then opens it with them all: the job reads back, without Explain.
func TestJobsBeforeReasonsStayReadable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fraudguard.db")
	ms, err := parseMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if ms[2].name != "0003_batch_jobs_reasons" {
		t.Fatalf("migration 3 is %s, want 0003_batch_jobs_reasons", ms[2].name)
	}
	db := mustRawDB(t, path)
	if err := migrate(ctx, db, ms[:2]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO batch_jobs (id, owner, status, total_count, processed_count, created_ns, finished_ns) VALUES ('job_old', 'o', 'completed', 5, 5, 1, 2)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := mustOpen(t, path)
	j, err := s.Job(ctx, "job_old")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != fraud.JobCompleted || j.Total != 5 || j.Explain {
		t.Errorf("got %+v, want the completed job of 5 rows without Explain", j)
	}
}

func TestMigrateAppliesNewStepsAndRollsBackFailedOnes(t *testing.T) {
	ctx := context.Background()
	db := mustRawDB(t, filepath.Join(t.TempDir(), "m.db"))
	step1 := migration{1, "0001_a", "CREATE TABLE a (x INTEGER);"}
	step2 := migration{2, "0002_b", "CREATE TABLE b (x INTEGER); INSERT INTO b VALUES (1);"}
	bad := migration{3, "0003_bad", "CREATE TABLE c (x INTEGER); THIS IS NOT SQL;"}

	if err := migrate(ctx, db, []migration{step1}); err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, []migration{step1, step2}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM b").Scan(&n); err != nil || n != 1 {
		t.Errorf("step 2: got %d rows in b (%v), want 1", n, err)
	}
	err := migrate(ctx, db, []migration{step1, step2, bad})
	if err == nil || !strings.Contains(err.Error(), "0003_bad") {
		t.Fatalf("a bad step: got %v, want an error naming 0003_bad", err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE name = 'c'").Scan(&n); err != nil || n != 0 {
		t.Errorf("the failed step left table c behind (%d, %v)", n, err)
	}
	if err := db.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&n); err != nil || n != 2 {
		t.Errorf("version after a failed step: got %d (%v), want 2", n, err)
	}
	// A binary that knows fewer steps than the database has must not use it.
	err = migrate(ctx, db, []migration{step1})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("an older binary: got %v, want an error saying the database is newer", err)
	}
}

// TestMigrateAppliesALowerVersionAddedLater is the case of two changes made side by side: a
// database that had 1, 2 and 4 gets 3 when the binary that knows it opens it.
func TestMigrateAppliesALowerVersionAddedLater(t *testing.T) {
	ctx := context.Background()
	db := mustRawDB(t, filepath.Join(t.TempDir(), "m.db"))
	step := func(v int, table string) migration {
		return migration{v, fmt.Sprintf("%04d_%s", v, table), "CREATE TABLE " + table + " (x INTEGER);"}
	}
	if err := migrate(ctx, db, []migration{step(1, "a"), step(2, "b"), step(4, "d")}); err != nil {
		t.Fatal(err)
	}
	all := []migration{step(1, "a"), step(2, "b"), step(3, "c"), step(4, "d")}
	if err := migrate(ctx, db, all); err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, all); err != nil {
		t.Fatalf("a second run: %v", err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE name = 'c'").Scan(&n); err != nil || n != 1 {
		t.Errorf("table c: got %d (%v), want 1: the late step 3 was not applied", n, err)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != 4 {
		t.Errorf("schema_migrations: got %d rows (%v), want 4", n, err)
	}
}

func TestParseMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		wantErr string
	}{
		{"ordered by number", []string{"0002_b.sql", "0001_a.sql", "README.md"}, ""},
		{"repeat", []string{"0001_a.sql", "0001_b.sql"}, "same version 1"},
		{"no number", []string{"a.sql"}, "NNNN_description.sql"},
		{"zero", []string{"0000_a.sql"}, "NNNN_description.sql"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tc.files {
				fsys["m/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			ms, err := parseMigrations(fsys, "m")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(ms) != 2 || ms[0].version != 1 || ms[1].name != "0002_b" {
					t.Errorf("got %+v, want 0001_a then 0002_b", ms)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	if _, err := parseMigrations(migrationFiles, "migrations"); err != nil {
		t.Errorf("the shipped migrations: %v", err)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "fraudguard.db"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	errs := map[string]error{
		"ping":   s.Ping(ctx),
		"record": s.RecordAudit(ctx, fraud.AuditEvent{Action: fraud.ActionAdminAccess}),
	}
	_, _, errs["list"] = s.ListAudit(ctx, fraud.AuditFilter{})
	_, errs["purge"] = s.PurgeAuditBefore(ctx, time.Now())
	for op, err := range errs {
		if code := fraud.ErrorCode(err); code != fraud.CodeServiceUnavailable {
			t.Errorf("%s after close: got %v (code %s), want code %s", op, err, code, fraud.CodeServiceUnavailable)
		}
	}
}

func TestLockedDatabaseIsServiceUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fraudguard.db")
	s, err := Open(context.Background(), path, Options{BusyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	// Another process holds the write lock: a second handle with an open write transaction.
	other := mustRawDB(t, path)
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = conn.ExecContext(context.Background(), "ROLLBACK") }()

	err = s.RecordAudit(context.Background(), fraud.AuditEvent{Action: fraud.ActionAdminAccess})
	var fe *fraud.Error
	if !errors.As(err, &fe) || fe.Code != fraud.CodeServiceUnavailable || fe.RetryAfter != 1 {
		t.Fatalf("got %v, want a %s error with RetryAfter 1", err, fraud.CodeServiceUnavailable)
	}
	if !strings.Contains(err.Error(), "record audit event") {
		t.Errorf("got %q, want the operation named", err)
	}
}

func TestStoreErrorPassesOtherErrorsThrough(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"canceled", context.Canceled},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded)},
		{"plain", errors.New("something else")},
	}
	for _, tc := range tests {
		if got := storeError(tc.err); got != tc.err {
			t.Errorf("%s: got %v, want the error unchanged", tc.name, got)
		}
	}
	if storeError(nil) != nil {
		t.Errorf("nil: got an error, want nil")
	}
}

func TestPurgeInBatches(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "fraudguard.db"))
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := purgeBatch*2 + 10
	tx, err := s.write.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := tx.Exec("INSERT INTO audit_events (time_ns, action) VALUES (?, ?)", base.Add(time.Duration(i)*time.Second).UnixNano(), fraud.ActionAuthFailure); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	keep := 7
	got, err := s.PurgeAuditBefore(ctx, base.Add(time.Duration(n-keep)*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got != int64(n-keep) {
		t.Errorf("purged: got %d, want %d", got, n-keep)
	}
	if _, total, err := s.ListAudit(ctx, fraud.AuditFilter{}); err != nil || total != keep {
		t.Errorf("left: got %d (%v), want %d", total, err, keep)
	}
}

// TestDeleteJobGivesSpaceBack deletes a large job and checks the database file shrinks: the
// pages it held go back to the file system instead of waiting for reuse.
func TestDeleteJobGivesSpaceBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fraudguard.db")
	s := mustOpen(t, path)
	ctx := context.Background()
	size := func() int64 {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if _, _, err := s.CreateJob(ctx, fraud.Job{ID: "big", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	for i := range 160 {
		if err := s.AddChunk(ctx, "big", fraud.ChunkInput{Index: i, FirstRow: int64(i * 100), Rows: 100, Data: chunk}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.write.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	before := size()
	if before < 10<<20 {
		t.Fatalf("the database holds %d bytes with a 10 MiB job in it", before)
	}
	if err := s.DeleteJob(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	if after := size(); after > before/10 {
		t.Errorf("the file is %d bytes after deleting the job, %d before: want the space given back", after, before)
	}
}

// TestOldDatabaseWithoutAutoVacuum opens a database made without incremental auto-vacuum, as
// before it was turned on: deleting still works, and the free pages stay for reuse.
func TestOldDatabaseWithoutAutoVacuum(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw := mustRawDB(t, path)
	if _, err := raw.Exec("CREATE TABLE unrelated (x)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	s := mustOpen(t, path)
	ctx := context.Background()
	var mode int
	if err := s.write.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil || mode != 0 {
		t.Fatalf("auto_vacuum: got %d (%v), want 0 on a database that had tables", mode, err)
	}
	mustQueueJobRows(t, s, "j", 5)
	if err := s.DeleteJob(ctx, "j"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Job(ctx, "j"); err == nil {
		t.Error("the job is still there")
	}
}

// mustQueueJobRows creates and submits a job of chunks one-row chunks.
func mustQueueJobRows(t testing.TB, s *Store, id string, chunks int) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := s.CreateJob(ctx, fraud.Job{ID: id, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i := range chunks {
		if err := s.AddChunk(ctx, id, fraud.ChunkInput{Index: i, FirstRow: int64(i), Rows: 1, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SubmitJob(ctx, id, int64(chunks), chunks); err != nil {
		t.Fatal(err)
	}
}

// mustOpen opens the store at path and closes it when t ends.
func mustOpen(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// mustRawDB opens a plain database handle on path, as another process would.
func mustRawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, "_busy_timeout=50"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
