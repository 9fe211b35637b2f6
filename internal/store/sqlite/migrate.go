package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// The schema's history: migrations/NNNN_name.sql, applied in order of NNNN. To change the schema,
// add the next file; never edit one that has been released.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one step of the schema.
type migration struct {
	version int
	name    string
	sql     string
}

// parseMigrations reads the NNNN_name.sql files of dir, sorted by version. Versions must be
// positive and not repeat, so a mistake in a new file fails every test at once. A gap is
// allowed: changes made side by side take the numbers they will have once merged, and migrate
// applies a lower number that arrives later (see migrate).
func parseMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlite migrations: %s: name must be NNNN_description.sql", name)
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("sqlite migrations: %w", err)
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("sqlite migrations: %s and %s have the same version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// migrate applies the migrations that db has not had yet (by version, so a lower version that
// was added after a higher one had been applied still runs), each in its own transaction together
// with its row in schema_migrations, so a failed step leaves the schema at the step before. The
// transactions take the write lock at BEGIN, so two processes opening the same new file apply
// each step once. A database newer than this binary is refused rather than used blind.
func migrate(ctx context.Context, db *sql.DB, ms []migration) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", storeError(err))
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	for _, m := range ms {
		if err := applyMigration(ctx, db, m, latest); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration, latest int) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.name, storeError(err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var current, applied int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0), COALESCE(SUM(version = ?), 0) FROM schema_migrations", m.version).Scan(&current, &applied); err != nil {
		return fmt.Errorf("read schema version: %w", storeError(err))
	}
	if current > latest {
		return fmt.Errorf("the database's schema is version %d, newer than this fraudguard knows (%d): run a newer fraudguard", current, latest)
	}
	if applied > 0 {
		return tx.Rollback()
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, storeError(err))
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", m.version, m.name); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, storeError(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, storeError(err))
	}
	return nil
}

// SchemaVersion returns the newest migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if s.closed.Load() {
		return 0, errClosed("schema version")
	}
	var v int
	if err := s.read.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, wrap("schema version", err)
	}
	return v, nil
}
