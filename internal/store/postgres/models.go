package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

var _ fraud.ModelHistory = (*Store)(nil)

// Limits of ListActivations, the same as the embedded store's.
const (
	// DefaultActivationLimit is the page size when the limit is 0.
	DefaultActivationLimit = 100
	// MaxActivationLimit is the largest page ListActivations returns.
	MaxActivationLimit = 1000
)

// RecordActivation stores a with a new ID. A zero a.Time is stamped with the store's clock.
func (s *Store) RecordActivation(ctx context.Context, a fraud.ModelActivation) error {
	if s.closed.Load() {
		return errClosed("record model activation")
	}
	var details []fraud.Detail
	if strings.TrimSpace(a.Version) == "" {
		details = append(details, fraud.FieldError("version", "is required", a.Version))
	}
	if strings.TrimSpace(a.Kind) == "" {
		details = append(details, fraud.FieldError("kind", "is required", a.Kind))
	}
	if a.Time.IsZero() {
		a.Time = s.now()
	}
	ns, ok := unixNano(a.Time)
	if !ok {
		details = append(details, fraud.FieldError("time", "is out of range", a.Time.UTC().Format(time.RFC3339Nano)))
	}
	if len(details) > 0 {
		return fmt.Errorf("record model activation: %w", &fraud.Error{Code: fraud.CodeValidation, Message: "invalid model activation", Details: details})
	}
	_, err := s.pool.Exec(ctx,
		`INSERT INTO model_activations (time_ns, version, previous, kind, trigger, key_name, request_id)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ns, a.Version, a.Previous, a.Kind, a.Trigger, a.KeyName, a.RequestID)
	return wrap("record model activation", err)
}

const activationColumns = "id, time_ns, version, previous, kind, trigger, key_name, request_id"

func scanActivation(row pgx.Row) (fraud.ModelActivation, error) {
	var a fraud.ModelActivation
	var ns int64
	err := row.Scan(&a.ID, &ns, &a.Version, &a.Previous, &a.Kind, &a.Trigger, &a.KeyName, &a.RequestID)
	a.Time = time.Unix(0, ns).UTC()
	return a, err
}

// LastActivation returns the newest activation (by ID), and false when there is none.
func (s *Store) LastActivation(ctx context.Context) (fraud.ModelActivation, bool, error) {
	if s.closed.Load() {
		return fraud.ModelActivation{}, false, errClosed("last model activation")
	}
	a, err := scanActivation(s.pool.QueryRow(ctx, "SELECT "+activationColumns+" FROM model_activations ORDER BY id DESC LIMIT 1"))
	if errors.Is(err, pgx.ErrNoRows) {
		return fraud.ModelActivation{}, false, nil
	}
	if err != nil {
		return fraud.ModelActivation{}, false, wrap("last model activation", err)
	}
	return a, true, nil
}

// ListActivations returns up to limit activations, newest first. A limit of 0 means
// DefaultActivationLimit; a negative one or one above MaxActivationLimit is a VALIDATION_ERROR.
func (s *Store) ListActivations(ctx context.Context, limit int) ([]fraud.ModelActivation, error) {
	if s.closed.Load() {
		return nil, errClosed("list model activations")
	}
	if limit == 0 {
		limit = DefaultActivationLimit
	}
	if limit < 0 || limit > MaxActivationLimit {
		return nil, fmt.Errorf("list model activations: %w", fraud.Errorf(fraud.CodeValidation, "limit must be from 1 to %d", MaxActivationLimit))
	}
	rows, err := s.pool.Query(ctx, "SELECT "+activationColumns+" FROM model_activations ORDER BY id DESC LIMIT $1", limit)
	if err != nil {
		return nil, wrap("list model activations", err)
	}
	defer rows.Close()
	var out []fraud.ModelActivation
	for rows.Next() {
		a, err := scanActivation(rows)
		if err != nil {
			return nil, wrap("list model activations", err)
		}
		out = append(out, a)
	}
	return out, wrap("list model activations", rows.Err())
}
