// Package breaker puts a circuit breaker (sony/gobreaker) around a shared dependency —
// PostgreSQL, Redis — so that while it is down calls fail at once instead of each waiting out
// a connection timeout, and the caller can fall back or answer 503 with a retry time. After
// OpenFor one call is let through; if it succeeds the breaker closes again, so a dependency
// that comes back is used again within about OpenFor.
package breaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Defaults of Options.
const (
	DefaultFailures = 3
	DefaultOpenFor  = 2 * time.Second
)

// Metrics records the breaker's state; telemetry.Metrics implements it.
type Metrics interface {
	SetBreakerOpen(dep string, open bool)
}

// Options are the settings of New; zero values take the defaults.
type Options struct {
	// Failures in a row open the breaker.
	Failures uint32
	// OpenFor is how long the breaker stays open before it lets one call through to try.
	OpenFor time.Duration
	// Metrics, when set, is told every change of state.
	Metrics Metrics
	// OnChange, when set, is called on every change of state (for a log line).
	OnChange func(name string, open bool)
	// IsFailure tells the errors that count against the dependency; nil means Failure.
	IsFailure func(err error) bool
}

// Breaker is a circuit breaker around one dependency. It is safe for concurrent use.
type Breaker struct {
	name  string
	retry int
	cb    *gobreaker.CircuitBreaker[struct{}]
}

// New returns a closed breaker for the dependency name.
func New(name string, opts Options) *Breaker {
	if opts.Failures == 0 {
		opts.Failures = DefaultFailures
	}
	if opts.OpenFor <= 0 {
		opts.OpenFor = DefaultOpenFor
	}
	if opts.Metrics != nil {
		opts.Metrics.SetBreakerOpen(name, false)
	}
	if opts.IsFailure == nil {
		opts.IsFailure = Failure
	}
	b := &Breaker{name: name, retry: int(math.Ceil(opts.OpenFor.Seconds()))}
	b.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     opts.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= opts.Failures },
		// Only the dependency's own failures count: a caller that gave up, or an answer such
		// as "no such job", says nothing about whether the dependency is up.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		IsSuccessful: func(err error) bool {
			return err == nil || !opts.IsFailure(err)
		},
		OnStateChange: func(name string, _, to gobreaker.State) {
			open := to != gobreaker.StateClosed
			if opts.Metrics != nil {
				opts.Metrics.SetBreakerOpen(name, open)
			}
			if opts.OnChange != nil {
				opts.OnChange(name, open)
			}
		},
	})
	return b
}

// Failure reports whether err says the dependency is down or too slow: a SERVICE_UNAVAILABLE
// error (what the stores make of connection failures) or a deadline. Answers such as "no such
// job" are not failures.
func Failure(err error) bool {
	return fraud.ErrorCode(err) == fraud.CodeServiceUnavailable || errors.Is(err, context.DeadlineExceeded)
}

// ErrOpen is wrapped by the error Do returns while the breaker is open.
var ErrOpen = errors.New("circuit breaker open")

// Do calls fn unless the breaker is open. While it is open, Do returns at once a
// SERVICE_UNAVAILABLE *fraud.Error with a RetryAfter of the time the breaker stays open,
// wrapping ErrOpen.
func (b *Breaker) Do(fn func() error) error {
	_, err := b.cb.Execute(func() (struct{}, error) { return struct{}{}, fn() })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		fe := fraud.Errorf(fraud.CodeServiceUnavailable, "%s is unavailable", b.name)
		fe.RetryAfter = b.retry
		return fmt.Errorf("%w: %w", fe, ErrOpen)
	}
	return err
}

// Open reports whether the breaker is keeping calls from the dependency (open or half-open).
func (b *Breaker) Open() bool { return b.cb.State() != gobreaker.StateClosed }

// Name is the dependency's name.
func (b *Breaker) Name() string { return b.name }

// AnyError counts every error as a failure, for a dependency whose calls have no expected
// errors (the rate limit script in Redis).
func AnyError(err error) bool { return err != nil }
