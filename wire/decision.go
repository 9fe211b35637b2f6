package wire

import "time"

// Decision is one answer of /predict or /predict/batch as the decision log keeps it.
type Decision struct {
	TransactionID string    `json:"transaction_id" doc:"The transaction's identifier, as answered (the caller's, or the generated txn_ one)." example:"txn-0001"`
	RequestID     string    `json:"request_id" doc:"The request that answered it." example:"2a121993921a4f12292a3ab2cb0a0706"`
	Time          time.Time `json:"time" doc:"When it was answered (UTC)."`
	ModelVersion  string    `json:"model_version" doc:"The model version that scored it." example:"20261126-000000-573a24c8"`
	// FraudProbability is the very float64 that was answered.
	FraudProbability float64   `json:"fraud_probability" doc:"The probability answered, exactly (the same float64)." example:"0.0005616704496164728"`
	IsFraud          bool      `json:"is_fraud" doc:"The decision answered." example:"false"`
	RiskLevel        RiskLevel `json:"risk_level" enum:"low,medium,high,critical" doc:"The risk level answered." example:"low"`
	Threshold        float64   `json:"threshold" doc:"The model's threshold at the time." example:"0.12739949093274297"`
	// Inputs are the 30 inputs scored; their transaction_id is left empty.
	Inputs TransactionRequest `json:"inputs" doc:"The 30 inputs scored (Time, V1..V28, Amount)."`
	// Reasons are the three features of largest |contribution| of a flagged transaction; nil
	// for one not flagged, or when the model cannot be explained.
	Reasons []Reason `json:"reasons,omitempty" doc:"For a flagged transaction (is_fraud), the 3 features of largest |contribution| to its margin, largest first, ties in feature order; absent otherwise, and when the model cannot be explained."`
	// Label is the latest label given by POST /feedback, nil when none.
	Label *Label `json:"label,omitempty" doc:"The latest label given by POST /feedback; absent when none."`
}

// DecisionsResponse is the answer of GET /decisions/{transaction_id} and GET /decisions.
type DecisionsResponse struct {
	Decisions []Decision `json:"decisions" doc:"The records, newest first."`
	// NextCursor continues the listing of GET /decisions; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty" doc:"GET /decisions only: pass as cursor to read the next page; absent on the last page."`
}

// EraseResponse is the answer of DELETE /decisions/{transaction_id}.
type EraseResponse struct {
	TransactionID    string `json:"transaction_id" doc:"The transaction erased." example:"txn-0001"`
	DecisionsDeleted int64  `json:"decisions_deleted" doc:"Its decisions deleted." example:"1"`
	LabelsDeleted    int64  `json:"labels_deleted" doc:"Its labels deleted, the history included." example:"2"`
}

// Label values.
const (
	LabelFraud = "fraud"
	LabelLegit = "legit"
)

// Label is what is known afterwards of a transaction: fraud or legitimate, by whom and when.
type Label struct {
	Label      string    `json:"label" enum:"fraud,legit" doc:"fraud or legit." example:"fraud"`
	Source     string    `json:"source" doc:"Who said so: chargeback, analyst, customer or another word." example:"chargeback"`
	ObservedAt time.Time `json:"observed_at" doc:"When it was observed (UTC)."`
}

// FeedbackRequest is the body of POST /feedback.
type FeedbackRequest struct {
	Labels []FeedbackLabel `json:"labels" required:"true" doc:"Up to MAX_BATCH_SIZE labels."`
}

// FeedbackLabel is one label of POST /feedback.
type FeedbackLabel struct {
	TransactionID string     `json:"transaction_id" required:"true" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9_.:-]{1,64}$" doc:"The transaction labelled, as answered." example:"txn-0001"`
	Label         string     `json:"label" required:"true" enum:"fraud,legit" doc:"fraud or legit." example:"fraud"`
	Source        string     `json:"source" required:"true" minLength:"1" maxLength:"64" pattern:"^[a-z0-9_-]{1,64}$" doc:"Who said so: chargeback, analyst, customer or another lower-case word." example:"chargeback"`
	ObservedAt    *time.Time `json:"observed_at,omitempty" doc:"When it was observed (RFC 3339); now when absent."`
}

// Feedback results.
const (
	FeedbackRecorded           = "recorded"
	FeedbackUpdated            = "updated"
	FeedbackUnchanged          = "unchanged"
	FeedbackUnknownTransaction = "unknown_transaction"
)

// FeedbackResponse is the answer of POST /feedback.
type FeedbackResponse struct {
	Results []FeedbackResult `json:"results" doc:"One result per label, in order."`
}

// FeedbackResult is what became of one label.
type FeedbackResult struct {
	Index         int    `json:"index" doc:"The label's position in the request." example:"0"`
	TransactionID string `json:"transaction_id" doc:"The transaction labelled." example:"txn-0001"`
	Result        string `json:"result" enum:"recorded,updated,unchanged,unknown_transaction" doc:"recorded (its first label), updated (the label changed; the history is kept), unchanged (the same label again) or unknown_transaction (never seen, or purged)." example:"recorded"`
}

// PerformanceResponse is the answer of GET /models/performance.
type PerformanceResponse struct {
	Versions []VersionPerformance `json:"versions" doc:"One entry per model version with decisions in the window, by version."`
}

// VersionPerformance is a model version's quality on its labelled decisions (latest label
// wins). A figure that cannot be computed (no positives, or one class only) is null.
type VersionPerformance struct {
	ModelVersion     string   `json:"model_version" doc:"The model version." example:"20261126-000000-573a24c8"`
	Decisions        int      `json:"decisions" doc:"Decisions of this version in the window." example:"1000"`
	Labelled         int      `json:"labelled" doc:"Of those, how many have a label." example:"120"`
	Frauds           int      `json:"frauds" doc:"Of those, how many are labelled fraud." example:"8"`
	Precision        *float64 `json:"precision" doc:"Labelled fraud among labelled decisions with is_fraud; null when none has is_fraud."`
	Recall           *float64 `json:"recall" doc:"Decisions with is_fraud among labelled frauds; null when no fraud is labelled."`
	F1               *float64 `json:"f1" doc:"Harmonic mean of precision and recall (0 when both are 0); null when either is null."`
	ROCAUC           *float64 `json:"roc_auc" doc:"Area under the ROC curve of the stored probabilities, ties counted half; null with one class only."`
	AveragePrecision *float64 `json:"average_precision" doc:"Average precision as scikit-learn defines it (unweighted, a step at each distinct score); null when no fraud is labelled."`
	LabelledShare    float64  `json:"labelled_share" doc:"labelled / decisions." example:"0.12"`
}

// DriftResponse is the answer of GET /models/drift: how far the inputs and probabilities
// answered in a window lie from the live model's training distribution.
type DriftResponse struct {
	ModelVersion string         `json:"model_version" doc:"The live model, whose training distribution the window is compared with." example:"20261126-000000-a44351dc"`
	Since        time.Time      `json:"since" doc:"Start of the window (inclusive)." example:"2026-11-26T07:00:00Z"`
	Until        time.Time      `json:"until" doc:"End of the window (exclusive)." example:"2026-11-27T07:00:00Z"`
	Count        int            `json:"count" doc:"Decisions the inputs' figures are over, of every model version: every decision in the window, or an even sample of about 100,000 of them (every k-th stored) when it holds more." example:"1000"`
	Features     []FeatureDrift `json:"features" doc:"One entry per input, V1..V28 then Amount (Time is left out: it always drifts)."`
	Score        ScoreDrift     `json:"score" doc:"The drift of the probabilities the live model answered."`
}

// FeatureDrift is one input's population stability index over a window.
type FeatureDrift struct {
	Feature string   `json:"feature" doc:"The input." example:"V14"`
	PSI     *float64 `json:"psi" doc:"Population stability index of the input's values in the window against its training distribution: Σ (a − e)·ln(a/e) over its quantile bins, shares below 0.0001 raised to it. Below 0.1 little change, 0.1 to 0.2 a moderate one, above 0.2 a significant one. Null when the window has no decision." example:"0.031"`
}

// ScoreDrift is the population stability index of the live model's probabilities over a window.
type ScoreDrift struct {
	Count int      `json:"count" doc:"Decisions of the live model version in the window: the probabilities compared." example:"1000"`
	PSI   *float64 `json:"psi" doc:"Population stability index of those probabilities against the model's own on its training rows; null when count is 0." example:"0.012"`
}
