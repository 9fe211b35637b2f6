// Package postgres is fraudguard's scale-out store: jobs and their queue, and the audit log, in
// PostgreSQL through a pgx connection pool, so that several instances share them. It passes
// the same suite (storetest) as the embedded SQLite store.
//
// Every instance's workers take chunks from the one queue with FOR UPDATE SKIP LOCKED, so all
// of them work a job at once; a chunk whose holder died is taken again when its lease expires.
// The schema is brought up to date when the store opens, under an advisory lock, so instances
// starting together apply each migration once.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Defaults of Options.
const (
	DefaultMaxConns         = 10
	DefaultConnectTimeout   = 5 * time.Second
	DefaultStatementTimeout = 30 * time.Second
)

// Options are the optional settings of Open. The zero value is ready to use.
type Options struct {
	// MaxConns caps the pool's connections; 0 means DefaultMaxConns.
	MaxConns int32
	// MinConns is how many connections the pool keeps open when idle, at most MaxConns.
	MinConns int32
	// ConnectTimeout bounds one connection attempt; 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// StatementTimeout is the server's statement_timeout for every connection; 0 means
	// DefaultStatementTimeout.
	StatementTimeout time.Duration
	// Now stamps audit events recorded without a time; nil means time.Now.
	Now func() time.Time
}

// Store is the PostgreSQL store. It is safe for concurrent use, by many processes at once.
type Store struct {
	pool   *pgxpool.Pool
	now    func() time.Time
	closed atomic.Bool
}

var (
	_ fraud.AuditLog = (*Store)(nil)
	_ fraud.JobStore = (*Store)(nil)
)

// ParseURL checks a postgres:// URL (or key=value string) without connecting, so that a bad
// DATABASE_URL stops start-up with a clear message. The error never holds the password.
func ParseURL(url string) error {
	_, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	return nil
}

// Open connects to the database at url, checks that it answers, and brings its schema up to
// date before it returns.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	opts.MinConns = max(0, min(opts.MinConns, opts.MaxConns))
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.StatementTimeout <= 0 {
		opts.StatementTimeout = DefaultStatementTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ms, err := parseMigrations(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: parse database url: %w", err)
	}
	cfg.MaxConns = opts.MaxConns
	cfg.MinConns = opts.MinConns
	cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(opts.StatementTimeout.Milliseconds())
	cfg.ConnConfig.RuntimeParams["application_name"] = "fraudguard"
	// A connection that has sat idle is checked before use, so a restarted server costs one
	// failed check rather than a failed request.
	cfg.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store %s: %w", describe(cfg), err)
	}
	s := &Store{pool: pool, now: opts.Now}
	cctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	err = pool.Ping(cctx)
	cancel()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store %s: %w", describe(cfg), storeError(err))
	}
	if err := migrate(ctx, pool, ms); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store %s: %w", describe(cfg), err)
	}
	return s, nil
}

// describe names the database of cfg for errors and logs, without the password.
func describe(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// Ping checks that the database answers, for health checks.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed("ping")
	}
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return wrap("ping", err)
	}
	return nil
}

// Close closes the pool. Calling it again does nothing and returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.pool.Close()
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

// storeError turns errors that say the database cannot be reached or is overloaded into a
// fraud.Error with CodeServiceUnavailable, which a client may retry, keeping the driver's error
// in the chain for the log. Context errors and anything else pass through unchanged.
func storeError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var domain *fraud.Error
	var pe *pgconn.PgError
	var ne net.Error
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &pe):
		switch pe.Code[:2] {
		case "08", "53", "57": // connection, resources, operator intervention (shutdown)
			domain = fraud.Errorf(fraud.CodeServiceUnavailable, "the database is unavailable")
			domain.RetryAfter = 1
		case "40": // serialization failure, deadlock: another transaction won
			domain = fraud.Errorf(fraud.CodeServiceUnavailable, "the database is busy")
			domain.RetryAfter = 1
		default:
			return err
		}
	case errors.As(err, &ce), errors.As(err, &ne), pgconn.SafeToRetry(err):
		domain = fraud.Errorf(fraud.CodeServiceUnavailable, "the database cannot be reached")
		domain.RetryAfter = 1
	default:
		return err
	}
	return fmt.Errorf("%w: %w", domain, err)
}
