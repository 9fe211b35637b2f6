// Package sqlite is fraudguard's embedded default store: SQLite database files on the pure-Go
// modernc.org/sqlite driver, so the binary needs no cgo. One file (normally
// DATA_DIR/fraudguard.db) holds everything but the decision log, which has a file of its own
// beside it (see DecisionsFile): SQLite has one write lock per file, and the decision log's
// writer, which may run in a process of its own at the lowest CPU priority (see Recorder), must
// not keep the labels, the audit log or the jobs waiting while it holds it.
//
// Writes to each file go through a single connection, so writers in this process queue in Go
// instead of fighting over SQLite's file lock and never see SQLITE_BUSY; reads use a small pool
// of read-only connections with the decisions file attached, which WAL mode lets run beside
// the writers. Another process sharing a file is waited for up to the busy timeout.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
	dwrite *sql.DB // one connection to the decisions file, likewise
	read   *sql.DB // read-only connections, the decisions file attached
	now    func() time.Time
	closed atomic.Bool
	// labels serialises RecordLabels, EraseTransaction and the purge of orphan labels: each
	// reads the decisions file apart from its write to the labels, and without it an erasure or
	// a purge between the two could leave a label of a transaction without a decision.
	labels sync.Mutex
	// vacuum and dvacuum are true when the database and the decisions file run incremental
	// auto-vacuum (see reclaim).
	vacuum, dvacuum bool
}

var _ fraud.AuditLog = (*Store)(nil)

// Open opens the database at path and its decisions file (DecisionsFile(path)), creating the
// files (mode 0600) and their directory if they are missing, and brings their schema up to date
// before it returns, moving the decisions of a database made before the decisions had a file of
// their own. Both run in WAL mode, the database with foreign keys on. Errors opening or
// migrating are returned with the path for context.
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
	dabs := DecisionsFile(abs)
	if err := createFile(dabs); err != nil {
		return nil, fmt.Errorf("open sqlite store %q: %w", path, err)
	}
	s := &Store{path: path, now: opts.Now}
	fail := func(err error) (*Store, error) {
		for _, db := range []*sql.DB{s.read, s.dwrite, s.write} {
			if db != nil {
				db.Close()
			}
		}
		return nil, fmt.Errorf("open sqlite store %q: %w", path, err)
	}
	// The writers connect first: each switches its file to WAL before any reader opens it.
	if s.write, err = openWriter(ctx, abs, busy, true, ""); err != nil {
		return fail(err)
	}
	if err := migrate(ctx, s.write, ms); err != nil {
		return fail(err)
	}
	if s.vacuum, err = autoVacuum(ctx, s.write); err != nil {
		return fail(err)
	}
	if s.dwrite, err = openWriter(ctx, dabs, busy, false, ""); err != nil {
		return fail(err)
	}
	if err := migrateDecisions(ctx, s.write, s.dwrite, abs); err != nil {
		return fail(err)
	}
	if s.dvacuum, err = autoVacuum(ctx, s.dwrite); err != nil {
		return fail(err)
	}

	// The read connections attach the decisions file as decisionsSchema: a query names the
	// decisions table without its schema, and SQLite finds it there.
	drv := &sqlite.Driver{}
	drv.RegisterConnectionHook(func(conn sqlite.ExecQuerierContext, _ string) error {
		_, err := conn.ExecContext(context.Background(), "ATTACH DATABASE ? AS "+decisionsSchema,
			[]driver.NamedValue{{Ordinal: 1, Value: dabs}})
		return err
	})
	read := sql.OpenDB(connector{drv: drv, dsn: dsn(abs, "_busy_timeout="+busy+"&_foreign_keys=on&_query_only=on")})
	read.SetMaxOpenConns(opts.MaxReadConns)
	read.SetMaxIdleConns(opts.MaxReadConns)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	s.read = read
	if err := read.PingContext(ctx); err != nil {
		return fail(storeError(err))
	}
	return s, nil
}

// decisionsSchema is the name the decisions file is attached under.
const decisionsSchema = "decision_log"

// DecisionsFile returns the path of the decisions file of the database at path: beside it,
// "-decisions" added to its name before the extension (fraudguard.db: fraudguard-decisions.db).
func DecisionsFile(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-decisions" + ext
}

// openWriter opens the single write connection of the file at abs (the database when main,
// else the decisions file), with more file: URI parameters when extra is not empty, and checks
// that it works.
func openWriter(ctx context.Context, abs, busy string, main bool, extra string) (*sql.DB, error) {
	// synchronous=NORMAL is SQLite's recommended setting in WAL mode: a commit survives the
	// process being killed, and only a power loss can undo the last few.
	// Incremental auto-vacuum lets reclaim give the pages of deleted rows back to the file
	// system. The driver sets it before the journal mode, and it only takes on a new file: a
	// database made before keeps its free pages for reuse until a VACUUM.
	params := "_busy_timeout=" + busy + "&_synchronous=NORMAL&_auto_vacuum=INCREMENTAL&_journal_mode=WAL&_txlock=immediate"
	if main {
		params += "&_foreign_keys=on"
	} else {
		// temp_store=MEMORY keeps statement journals in memory: a multi-row INSERT (the
		// decision log's) would otherwise write one to a temporary file, and spend most of its
		// time there. A 16 MiB page cache (SQLite's default is 2 MiB) keeps the indexes the
		// decision log inserts into from being read back from the file on every batch. The
		// write-ahead log is copied back into the file every 10,000 pages (40 MB) rather than
		// SQLite's 1,000: the index pages are written many times between two checkpoints, and
		// each checkpoint copies a page once however often it changed.
		params += "&_pragma=temp_store(MEMORY)&_pragma=cache_size(-16384)&_pragma=wal_autocheckpoint(10000)"
	}
	if extra != "" {
		params += "&" + extra
	}
	db, err := sql.Open("sqlite", dsn(abs, params))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, storeError(err)
	}
	return db, nil
}

// autoVacuum reports whether db's file runs incremental auto-vacuum.
func autoVacuum(ctx context.Context, db *sql.DB) (bool, error) {
	var mode int
	if err := db.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return false, storeError(err)
	}
	return mode == 2, nil // INCREMENTAL
}

// connector opens connections of dsn with drv, whose connection hooks apply to them alone.
type connector struct {
	drv *sqlite.Driver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

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

// reclaim gives free pages of the database back to the file system after deletes (see
// reclaimFile).
func (s *Store) reclaim(ctx context.Context) error { return reclaimFile(ctx, s.write, s.vacuum) }

// reclaimFile gives free pages back to the file system after deletes, in steps of
// reclaimPages, and checkpoints the write-ahead log so the file shrinks. It does nothing on a
// file without incremental auto-vacuum (vacuum false). db is the file's write connection.
func reclaimFile(ctx context.Context, db *sql.DB, vacuum bool) error {
	if !vacuum {
		return nil
	}
	last := -1
	for {
		var free int
		if err := db.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&free); err != nil {
			return storeError(err)
		}
		if free == 0 || free == last { // done, or no headway to be made
			break
		}
		last = free
		if _, err := db.ExecContext(ctx, "PRAGMA incremental_vacuum("+strconv.Itoa(reclaimPages)+")"); err != nil {
			return storeError(err)
		}
	}
	_, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
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
	if err := s.dwrite.PingContext(ctx); err != nil {
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
	_, _ = s.dwrite.Exec("PRAGMA optimize")
	errs := []error{s.read.Close(), s.dwrite.Close(), s.write.Close()}
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
