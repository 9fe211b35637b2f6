package fraud

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/fraudguard/fraudguard/wire"
)

// Reason is one feature's part in a score: its exact SHAP contribution to the margin. It is
// the wire type.
type Reason = wire.Reason

// Label is what is known afterwards of a transaction (POST /feedback). It is the wire type.
type Label = wire.Label

// Label values.
const (
	LabelFraud = wire.LabelFraud
	LabelLegit = wire.LabelLegit
)

// Decision is one answer of /predict or /predict/batch, as the decision log keeps it.
type Decision struct {
	// ID is the store's sequence number; it orders decisions made in the same nanosecond.
	ID            int64
	TransactionID string
	RequestID     string
	Time          time.Time
	ModelVersion  string
	// Probability is the float64 answered, bit for bit.
	Probability float64
	IsFraud     bool
	Risk        RiskLevel
	Threshold   float64
	Features    [NumFeatures]float64
	// Reasons are the three leading features of a flagged decision; nil otherwise.
	Reasons []Reason
	// Label is the latest label of the transaction, nil when none; filled by reads only.
	Label *Label
}

// DecisionCursor is where a listing of decisions stopped: the last decision read.
type DecisionCursor struct {
	Time time.Time
	ID   int64
}

// DecisionFilter selects decisions: a zero field does not filter. Since is inclusive, Until
// exclusive. Listings are newest first (by time, then ID).
type DecisionFilter struct {
	Since, Until time.Time
	Risk         RiskLevel
	IsFraud      *bool
	ModelVersion string
	// Labelled keeps only decisions whose transaction has a label.
	Labelled bool
	// After continues a listing after this decision.
	After *DecisionCursor
	// Limit is the most decisions returned; it must be positive.
	Limit int
}

// LabelInput is one label given by POST /feedback.
type LabelInput struct {
	TransactionID string
	Label         string
	Source        string
	ObservedAt    time.Time
}

// Feedback results, as wire.FeedbackResult.Result says them.
const (
	FeedbackRecorded           = wire.FeedbackRecorded
	FeedbackUpdated            = wire.FeedbackUpdated
	FeedbackUnchanged          = wire.FeedbackUnchanged
	FeedbackUnknownTransaction = wire.FeedbackUnknownTransaction
)

// LabelledScore is a labelled decision reduced to what model quality is computed from.
type LabelledScore struct {
	ModelVersion string
	Probability  float64
	IsFraud      bool
	// Fraud is the latest label: true for fraud.
	Fraud bool
}

// DecisionInput is a decision reduced to what drift is computed from.
type DecisionInput struct {
	ModelVersion string
	Probability  float64
	Features     [NumFeatures]float64
}

// DecisionRecorder stores decisions.
type DecisionRecorder interface {
	// RecordDecisions stores ds in one transaction.
	RecordDecisions(ctx context.Context, ds []Decision) error
}

// DecisionLog stores decisions and their labels durably.
type DecisionLog interface {
	DecisionRecorder
	// DecisionsOf returns the decisions of a transaction, newest first; none is an empty slice.
	DecisionsOf(ctx context.Context, transactionID string) ([]Decision, error)
	// ListDecisions returns up to f.Limit decisions that match f, newest first.
	ListDecisions(ctx context.Context, f DecisionFilter) ([]Decision, error)
	// RecordLabels stores labels in one transaction and returns, for each, one of the Feedback
	// results: a label of a transaction with no decision is not stored; the same label as the
	// transaction's latest one is not stored again.
	RecordLabels(ctx context.Context, labels []LabelInput, now time.Time) ([]string, error)
	// DecisionCounts returns how many decisions each model version made in [since, until)
	// (zero bounds are open), and the labelled ones among them.
	DecisionCounts(ctx context.Context, since, until time.Time, version string) (map[string]int, []LabelledScore, error)
	// ScanDecisionInputs calls fn once for every decision in [since, until) (zero bounds are
	// open), in no set order, with its model version, probability and inputs, reading them as
	// a stream rather than all at once; fn's argument is reused between calls. With limit > 0
	// and more decisions than that in the window, it calls fn for an even sample of about
	// limit of them instead: every k-th decision in the order they were stored, from the
	// window's first to its last, so that a long window costs no more than limit reads. An
	// error of fn stops the scan and is returned as it is.
	ScanDecisionInputs(ctx context.Context, since, until time.Time, limit int, fn func(*DecisionInput) error) error
	// EraseTransaction deletes every decision and label of a transaction and returns how many
	// of each it deleted. A store that cannot do it in one transaction deletes the labels
	// first, so that erasing again finishes what a failure left.
	EraseTransaction(ctx context.Context, transactionID string) (decisions, labels int64, err error)
	// PurgeDecisionsBefore deletes the decisions older than t, and the labels of transactions
	// left without a decision, and returns how many decisions it deleted.
	PurgeDecisionsBefore(ctx context.Context, t time.Time) (int64, error)
}

// RequestOf returns the wire form of features, with transaction id id.
func RequestOf(id string, x *[NumFeatures]float64) wire.TransactionRequest {
	req := wire.TransactionRequest{TransactionID: id}
	v := reflect.ValueOf(&req).Elem()
	for _, r := range TransactionFields() {
		if r.Index >= 0 {
			v.Field(fieldIndex()[r.Index]).SetFloat(x[r.Index])
		}
	}
	return req
}

// fieldIndex maps a feature index to its field of wire.TransactionRequest.
var fieldIndex = sync.OnceValue(func() []int {
	var idx []int
	t := reflect.TypeFor[wire.TransactionRequest]()
	for i := range t.NumField() {
		if t.Field(i).Type.Kind() == reflect.Float64 {
			idx = append(idx, i)
		}
	}
	return idx
})
