package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/store/postgres/pgtest"
	"github.com/fraudguard/fraudguard/internal/store/storetest"
)

var server *pgtest.Server

func TestMain(m *testing.M) {
	server = pgtest.Start()
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

func TestStore(t *testing.T) {
	// Each test of the suite gets its own schema; opening again with the same t reopens it.
	var mu sync.Mutex
	urls := map[*testing.T]string{}
	storetest.Run(t, func(t *testing.T) storetest.Store {
		mu.Lock()
		u, ok := urls[t]
		mu.Unlock()
		if !ok {
			u = server.Schema(t)
			mu.Lock()
			urls[t] = u
			mu.Unlock()
		}
		return mustOpen(t, u)
	})
}

func mustOpen(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Instances starting at once on a new database: every one opens, and each migration is
// applied once.
func TestConcurrentMigrations(t *testing.T) {
	url := server.Schema(t)
	const instances = 6
	errs := make(chan error, instances)
	var wg sync.WaitGroup
	for range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), url, Options{MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("open: %v", err)
		}
	}
	s := mustOpen(t, url)
	var n, distinct int
	if err := s.pool.QueryRow(context.Background(), "SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	ms, err := parseMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || distinct != len(ms) {
		t.Errorf("schema_migrations: got %d rows (%d versions), want %d", n, distinct, len(ms))
	}
	if v, err := s.SchemaVersion(context.Background()); err != nil || v != len(ms) {
		t.Errorf("schema version: got %d, %v; want %d", v, err, len(ms))
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	url := server.Schema(t)
	s := mustOpen(t, url)
	if _, err := s.pool.Exec(context.Background(), "INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future')"); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), url, Options{})
	if err == nil {
		t.Fatal("open: got nil, want an error for a schema newer than the binary")
	}
}

// Workers of several instances (here, stores with their own pools and holders) share one
// job: every chunk is scored exactly once, and more than one holder takes part.
func TestWorkersOfManyInstancesShareAJob(t *testing.T) {
	url := server.Schema(t)
	const instances, chunks = 3, 60
	stores := make([]*Store, instances)
	for i := range stores {
		stores[i] = mustOpen(t, url)
	}
	ctx := context.Background()
	now := time.Now()
	s := stores[0]
	if _, _, err := s.CreateJob(ctx, fraud.Job{ID: "job_shared", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i := range chunks {
		if err := s.AddChunk(ctx, "job_shared", fraud.ChunkInput{Index: i, FirstRow: int64(i * 10), Rows: 10, Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SubmitJob(ctx, "job_shared", chunks*10, chunks); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	byHolder := map[string]int{}
	seen := map[int]int{}
	var wg sync.WaitGroup
	for i, st := range stores {
		for w := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				holder := fmt.Sprintf("instance-%d", i)
				for {
					if _, err := st.StartJobs(ctx, 1, time.Now()); err != nil {
						t.Errorf("start: %v", err)
						return
					}
					task, ok, err := st.ClaimChunk(ctx, holder, time.Now(), time.Minute)
					if err != nil {
						t.Errorf("claim: %v", err)
						return
					}
					if !ok {
						j, err := st.Job(ctx, "job_shared")
						if err != nil || j.Status == fraud.JobCompleted {
							return
						}
						time.Sleep(5 * time.Millisecond)
						continue
					}
					time.Sleep(time.Duration(w+1) * time.Millisecond) // scoring
					stored, _, err := st.CompleteChunk(ctx, task, fraud.ChunkOutput{Data: []byte{1}, Processed: int64(task.Rows)}, time.Now())
					if err != nil || !stored {
						t.Errorf("complete chunk %d: stored %v, %v", task.Index, stored, err)
						return
					}
					mu.Lock()
					byHolder[holder]++
					seen[task.Index]++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	j, err := s.Job(ctx, "job_shared")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != fraud.JobCompleted || j.Processed != chunks*10 || j.ChunksDone != chunks {
		t.Errorf("job: got %s, %d rows, %d chunks done; want completed, %d, %d", j.Status, j.Processed, j.ChunksDone, chunks*10, chunks)
	}
	for i := range chunks {
		if seen[i] != 1 {
			t.Errorf("chunk %d scored %d times, want 1", i, seen[i])
		}
	}
	if len(byHolder) < 2 {
		t.Errorf("chunks by instance: got %v, want more than one instance taking part", byHolder)
	}
}

// A server that is gone is a SERVICE_UNAVAILABLE error, which callers may retry.
func TestUnreachableServerIsUnavailable(t *testing.T) {
	_, err := Open(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable", Options{ConnectTimeout: time.Second})
	if err == nil {
		t.Fatal("open: got nil, want an error")
	}
	var fe *fraud.Error
	if !errors.As(err, &fe) || fe.Code != fraud.CodeServiceUnavailable {
		t.Errorf("got %v, want a %s error", err, fraud.CodeServiceUnavailable)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"postgres://u:p@127.0.0.1:5432/db?sslmode=disable", true},
		{"postgresql://127.0.0.1/db", true},
		{"postgres://u:secret@127.0.0.1:notaport/db", false},
		{"postgres://127.0.0.1/db?sslmode=sometimes", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			err := ParseURL(tc.url)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok %v", err, tc.ok)
			}
		})
	}
}
