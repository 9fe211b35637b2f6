// Package sqlite is fraudguard's embedded default store: one SQLite database file (normally
// DATA_DIR/fraudguard.db) on the pure-Go modernc.org/sqlite driver, so the binary needs no cgo.
//
// Writes go through a single connection, so writers in this process queue in Go instead of
// fighting over SQLite's file lock and never see SQLITE_BUSY; reads use a small pool of
// read-only connections, which WAL mode lets run beside the writer. Another process sharing the
// file is waited for up to the busy timeout.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Defaults of Options.
const (
	DefaultBusyTimeout  = 5 * time.Second
	DefaultMaxReadConns = 4
)

// Options are the optional settings of Open. The zero value is ready to use.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock held by another process before it
	// fails; 0 means DefaultBusyTimeout.
	BusyTimeout time.Duration
	// MaxReadConns caps the read-only connections; 0 means DefaultMaxReadConns.
	MaxReadConns int
	// Now stamps audit events recorded without a time; nil means time.Now.
	Now func() time.Time
}

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	path   string
	write  *sql.DB // one connection: every write transaction in this process queues for it
	read   *sql.DB // read-only connections
	now    func() time.Time
	closed atomic.Bool
	// vacuum is true when the database runs incremental auto-vacuum (see reclaim).
	vacuum bool
}

var _ fraud.AuditLog = (*Store)(nil)

// Open opens the database at path, creating the file (mode 0600) and its directory if they are
// missing, and brings its schema up to date before it returns. The database runs in WAL mode
// with foreign keys on. Errors opening or migrating are returned with the path for context.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite store: no path given")
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if opts.MaxReadConns <= 0 {
		opts.MaxReadConns = DefaultMaxReadConns
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ms, err := parseMigrations(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %q: %w", path, err)
	}
	if err := createFile(abs); err != nil {
		return nil, fmt.Errorf("open sqlite store %q: %w", path, err)
	}

	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	// synchronous=NORMAL is SQLite's recommended setting in WAL mode: a commit survives the
	// process being killed, and only a power loss can undo the last few.
	common := "_busy_timeout=" + busy + "&_foreign_keys=on&_synchronous=NORMAL"
	// Incremental auto-vacuum lets reclaim give the pages of deleted jobs back to the file
	// system. The driver sets it before the journal mode, and it only takes on a new file: a
	// database made before keeps its free pages for reuse until a VACUUM.
	// temp_store=MEMORY keeps statement journals in memory: a multi-row INSERT (the decision
	// log's) would otherwise write one to a temporary file, and spend most of its time there.
	// A 16 MiB page cache (SQLite's default is 2 MiB) keeps the indexes the decision log
	// inserts into from being read back from the file on every batch. The write-ahead log is
	// copied back into the file every 10,000 pages (40 MB) rather than SQLite's 1,000: the
	// decision log's index pages are written many times between two checkpoints, and each
	// checkpoint copies a page once however often it changed.
	write, err := sql.Open("sqlite", dsn(abs, common+"&_auto_vacuum=INCREMENTAL&_journal_mode=WAL&_txlock=immediate&_pragma=temp_store(MEMORY)&_pragma=cache_size(-16384)&_pragma=wal_autocheckpoint(10000)"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %q: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	s := &Store{path: path, write: write, now: opts.Now}
	// The writer connects first: it switches the file to WAL before any reader opens it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite store %q: %w", path, storeError(err))
	}
	if err := migrate(ctx, write, ms); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite store %q: %w", path, err)
	}
	var vacuum int
	if err := write.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&vacuum); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite store %q: %w", path, storeError(err))
	}
	s.vacuum = vacuum == 2 // INCREMENTAL

	read, err := sql.Open("sqlite", dsn(abs, common+"&_query_only=on"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite store %q: %w", path, err)
	}
	read.SetMaxOpenConns(opts.MaxReadConns)
	read.SetMaxIdleConns(opts.MaxReadConns)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	s.read = read
	if err := read.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite store %q: %w", path, storeError(err))
	}
	return s, nil
}

// createFile creates the database file with owner-only permissions if it does not exist yet:
// SQLite would create it with the umask's (often world-readable) mode, and its -wal and -shm
// files copy the main file's mode.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// dsn builds a file: URI, so a path holding '?', '#' or '%' is not mistaken for parameters.
func dsn(abs, params string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: params}
	return u.String()
}

// reclaimPages is how many free pages one incremental_vacuum step hands back, so that a large
// reclaim holds the single writer connection only briefly at a time.
const reclaimPages = 2048

// reclaim gives free pages back to the file system after deletes, in steps of reclaimPages,
// and checkpoints the write-ahead log so the file shrinks. It does nothing on a database
// without incremental auto-vacuum.
func (s *Store) reclaim(ctx context.Context) error {
	if !s.vacuum {
		return nil
	}
	last := -1
	for {
		var free int
		if err := s.write.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&free); err != nil {
			return storeError(err)
		}
		if free == 0 || free == last { // done, or no headway to be made
			break
		}
		last = free
		if _, err := s.write.ExecContext(ctx, "PRAGMA incremental_vacuum("+strconv.Itoa(reclaimPages)+")"); err != nil {
			return storeError(err)
		}
	}
	_, err := s.write.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	return storeError(err)
}

// Path returns the database file's path as given to Open.
func (s *Store) Path() string { return s.path }

// Ping checks that the database can be read and written to, for health checks.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed("ping")
	}
	if err := s.write.PingContext(ctx); err != nil {
		return wrap("ping", err)
	}
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return wrap("ping", err)
	}
	return nil
}

// Close closes the database. Calling it again does nothing and returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	// optimize is cheap and keeps the query planner's statistics fresh across restarts.
	_, _ = s.write.Exec("PRAGMA optimize")
	var errs []error
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	errs = append(errs, s.write.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite store %q: %w", s.path, err)
	}
	return nil
}

func errClosed(op string) error {
	return fmt.Errorf("%s: %w", op, fraud.Errorf(fraud.CodeServiceUnavailable, "the store is closed"))
}

// wrap adds the operation to err and turns a driver error into a domain error.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, storeError(err))
}

// storeError turns SQLite's errors about the database file's state into a fraud.Error with
// CodeServiceUnavailable, which a client may retry, keeping the driver's error in the chain for
// the log. Context errors and anything else pass through unchanged.
func storeError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	var domain *fraud.Error
	switch se.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		domain = fraud.Errorf(fraud.CodeServiceUnavailable, "the database is busy")
		domain.RetryAfter = 1
	case sqlite3.SQLITE_FULL:
		domain = fraud.Errorf(fraud.CodeServiceUnavailable, "the disk holding the database is full")
	case sqlite3.SQLITE_READONLY:
		domain = fraud.Errorf(fraud.CodeServiceUnavailable, "the database is read-only")
	case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM:
		domain = fraud.Errorf(fraud.CodeServiceUnavailable, "the database file cannot be read or written")
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		domain = fraud.Errorf(fraud.CodeInternal, "the database file is damaged")
	default:
		return err
	}
	return fmt.Errorf("%w: %w", domain, err)
}
