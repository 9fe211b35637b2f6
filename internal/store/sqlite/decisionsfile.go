package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// decisionsFileVersion is the decisions file's schema version, kept in its user_version: 0 is a
// file not yet made. A later change of the file's schema takes the next number.
const decisionsFileVersion = 1

// decisionsFileSchema makes the decisions file: the decisions table as migration 0004 made it in
// the database before it moved here.
const decisionsFileSchema = `
CREATE TABLE IF NOT EXISTS decisions (
    id             INTEGER PRIMARY KEY,
    transaction_id TEXT    NOT NULL,
    request_id     TEXT    NOT NULL,
    time_ns        INTEGER NOT NULL,
    model_version  TEXT    NOT NULL,
    probability    REAL    NOT NULL,  -- the float64 answered, bit for bit
    is_fraud       INTEGER NOT NULL,
    risk_level     TEXT    NOT NULL,
    threshold      REAL    NOT NULL,
    inputs         BLOB    NOT NULL,  -- the 30 inputs, little-endian float64s in feature order
    reasons        TEXT               -- JSON list of {feature, contribution}; NULL when none
);
CREATE INDEX IF NOT EXISTS decisions_transaction ON decisions (transaction_id, time_ns);
CREATE INDEX IF NOT EXISTS decisions_time ON decisions (time_ns, id);
PRAGMA user_version = 1;
`

// decisionColumnList is the decisions table's columns, in order.
const decisionColumnList = `id, transaction_id, request_id, time_ns, model_version, probability, is_fraud, risk_level, threshold, inputs, reasons`

// migrateDecisions makes the decisions file (through dwrite, its write connection) when it is
// new, and moves the decisions of a database made before they had a file of their own (through
// write, the database's write connection, and abs, its path): copied in one transaction, then
// dropped from the database in another, so that a crash between the two leaves them in both and
// the next start copies none twice and drops them.
func migrateDecisions(ctx context.Context, write, dwrite *sql.DB, abs string) error {
	var version int
	if err := dwrite.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("decisions file: %w", storeError(err))
	}
	switch {
	case version > decisionsFileVersion:
		return fmt.Errorf("decisions file: its schema is version %d, newer than this binary's %d: run a newer fraudguard",
			version, decisionsFileVersion)
	case version < decisionsFileVersion:
		if err := inTx(ctx, dwrite, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, decisionsFileSchema)
			return err
		}); err != nil {
			return fmt.Errorf("decisions file: make schema: %w", storeError(err))
		}
	}

	var old int
	if err := write.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'decisions'`).Scan(&old); err != nil {
		return fmt.Errorf("decisions file: %w", storeError(err))
	}
	if old == 0 {
		return nil
	}
	conn, err := dwrite.Conn(ctx) // ATTACH holds for one connection: keep the same one throughout
	if err != nil {
		return fmt.Errorf("decisions file: %w", storeError(err))
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS moved_from`, abs); err != nil {
		return fmt.Errorf("decisions file: move decisions: %w", storeError(err))
	}
	// The transaction takes both files' write locks at BEGIN: another process opening the same
	// database at once waits, and then finds the table gone or copies nothing twice.
	tx, err := conn.BeginTx(ctx, nil)
	if err == nil {
		var still int
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM moved_from.sqlite_master WHERE type = 'table' AND name = 'decisions'`).Scan(&still)
		if err == nil && still > 0 {
			_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO main.decisions (`+decisionColumnList+`)
				SELECT `+decisionColumnList+` FROM moved_from.decisions`)
		}
		if err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
	}
	// With synchronous=NORMAL a commit is durable once checkpointed: the copy is made so
	// before the table is dropped, so that a power loss cannot keep the drop and lose the copy.
	if err == nil {
		_, err = conn.ExecContext(ctx, `PRAGMA main.wal_checkpoint(FULL)`)
	}
	if _, derr := conn.ExecContext(ctx, `DETACH DATABASE moved_from`); err == nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("decisions file: move decisions: %w", storeError(err))
	}
	if _, err := write.ExecContext(ctx, `DROP TABLE IF EXISTS main.decisions`); err != nil {
		return fmt.Errorf("decisions file: drop the moved decisions: %w", storeError(err))
	}
	vacuum, err := autoVacuum(ctx, write)
	if err == nil {
		err = reclaimFile(ctx, write, vacuum)
	}
	if err != nil {
		return fmt.Errorf("decisions file: reclaim the moved decisions' space: %w", err)
	}
	return nil
}

// inTx runs fn in a transaction of db and commits it when fn succeeds.
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Recorder stores decisions in a decisions file alone (see DecisionsFile), without the rest of
// the store: what the decision log's writer process opens, so that the only write lock it ever
// holds is that file's.
type Recorder struct {
	path   string
	db     *sql.DB
	closed atomic.Bool
}

var _ fraud.DecisionRecorder = (*Recorder)(nil)

// OpenRecorder opens the decisions file at path for RecordDecisions. The file must have been
// made by Open, at this binary's schema version: a writer never makes a file the store would not
// read. Only opts.BusyTimeout applies.
func OpenRecorder(ctx context.Context, path string, opts Options) (*Recorder, error) {
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open decisions file %q: %w", path, err)
	}
	// mode=rw: a missing file is an error, not a new empty database.
	db, err := openWriter(ctx, abs, strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10), false, "mode=rw")
	if err != nil {
		return nil, fmt.Errorf("open decisions file %q: %w", path, err)
	}
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		db.Close()
		return nil, fmt.Errorf("open decisions file %q: %w", path, storeError(err))
	}
	if version != decisionsFileVersion {
		db.Close()
		return nil, fmt.Errorf("open decisions file %q: %w", path,
			errors.New("its schema is version "+strconv.Itoa(version)+", not "+strconv.Itoa(decisionsFileVersion)+": it is made by the store of the same fraudguard"))
	}
	return &Recorder{path: path, db: db}, nil
}

// RecordDecisions stores ds in one transaction.
func (r *Recorder) RecordDecisions(ctx context.Context, ds []fraud.Decision) error {
	if r.closed.Load() {
		return errClosed("record decisions")
	}
	return recordDecisions(ctx, r.db, ds)
}

// Close closes the file. Calling it again does nothing and returns nil.
func (r *Recorder) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = r.db.ExecContext(ctx, "PRAGMA optimize")
	if err := r.db.Close(); err != nil {
		return fmt.Errorf("close decisions file %q: %w", r.path, err)
	}
	return nil
}
