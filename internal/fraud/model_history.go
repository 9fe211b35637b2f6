package fraud

import (
	"context"
	"time"
)

// Kinds of model activation.
const (
	// ActivationStartup is the model chosen at start-up when it differs from the one stored
	// as active (MODEL_VERSION set, or the stored version gone).
	ActivationStartup = "startup"
	// ActivationReload is POST /models/reload, SIGHUP or a change seen by MODEL_WATCH.
	ActivationReload = "reload"
	// ActivationActivate is POST /models/activate.
	ActivationActivate = "activate"
	// ActivationRollback is POST /models/rollback.
	ActivationRollback = "rollback"
)

// ModelActivation is one switch of the live model from Previous to Version.
type ModelActivation struct {
	// ID is assigned by the store, increasing with every activation recorded.
	ID int64
	// Time is when the switch happened; a zero Time is stamped by the store.
	Time time.Time
	// Version is the version made live; Previous the one live before ("" for none).
	Version  string
	Previous string
	// Kind is ActivationStartup, ActivationReload, ActivationActivate or ActivationRollback.
	Kind string
	// Trigger is what asked for it (http, SIGHUP, watch, startup); KeyName and RequestID say
	// who, over HTTP.
	Trigger   string
	KeyName   string
	RequestID string
}

// ModelHistory stores which model version is active and how it came to be: the activation
// history that lets a restart keep the active version and POST /models/rollback go back.
type ModelHistory interface {
	// RecordActivation stores a; Version and Kind are required (a VALIDATION_ERROR otherwise).
	RecordActivation(ctx context.Context, a ModelActivation) error
	// LastActivation returns the newest activation, and false when none was recorded.
	LastActivation(ctx context.Context) (ModelActivation, bool, error)
	// ListActivations returns up to limit activations, newest first (1 ≤ limit ≤ 1000; 0
	// means 100).
	ListActivations(ctx context.Context, limit int) ([]ModelActivation, error)
}
