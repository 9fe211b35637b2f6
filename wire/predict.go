package wire

// RiskLevel grades a fraud probability relative to the model's decision threshold: low,
// medium, high or critical.
type RiskLevel string

// The risk levels, from least to most risky.
const (
	RiskLow      RiskLevel = "low"
	RiskMedium   RiskLevel = "medium"
	RiskHigh     RiskLevel = "high"
	RiskCritical RiskLevel = "critical"
)

// PredictResponse is the answer of POST /predict.
type PredictResponse struct {
	TransactionID    string    `json:"transaction_id" doc:"The caller's transaction_id, or one generated for it." example:"txn-0001"`
	FraudProbability float64   `json:"fraud_probability" minimum:"0" maximum:"1" doc:"Probability that the transaction is fraudulent." example:"0.0021"`
	IsFraud          bool      `json:"is_fraud" doc:"fraud_probability >= threshold." example:"false"`
	RiskLevel        RiskLevel `json:"risk_level" enum:"low,medium,high,critical" doc:"low: p < t/2; medium: t/2 <= p < t; high: t <= p < t+(1-t)/2; critical: above, where t is the threshold." example:"low"`
	Threshold        float64   `json:"threshold" minimum:"0" maximum:"1" doc:"The model's decision threshold." example:"0.5"`
	ModelVersion     string    `json:"model_version" doc:"Version of the model bundle that scored it." example:"20261126-000000-1a2b3c4d"`
	ProcessingTimeMS float64   `json:"processing_time_ms" minimum:"0" doc:"Time spent decoding, scoring and explaining, in milliseconds." example:"0.012"`
	RequestID        string    `json:"request_id" doc:"Identifier of the request." example:"3f2b9c1e8a7d4e6f"`
	// Explanation is present only when the request asked for it.
	Explanation *Explanation `json:"explanation,omitempty" doc:"Why the model gave this score; present only when the request has explain: true."`
}

// DefaultExplainTopK is how many features an explanation lists when explain_top_k is not given.
const DefaultExplainTopK = 5

// MaxExplainTopK is the largest explain_top_k: every feature of the transaction.
const MaxExplainTopK = 30

// PredictRequest is the body of POST /predict: a transaction, and whether to explain its score.
// Its JSON is the transaction object with two more optional top-level keys.
type PredictRequest struct {
	TransactionRequest
	Explain     bool `json:"explain,omitempty" doc:"Add an explanation of the score to the answer." example:"true"`
	ExplainTopK int  `json:"explain_top_k,omitempty" minimum:"1" maximum:"30" default:"5" doc:"How many features the explanation lists, those with the largest contribution in absolute value; 30 lists every feature. Ignored without explain: true." example:"5"`
}

// Direction says which way a feature moved the score.
type Direction string

// The directions of a feature's contribution.
const (
	// IncreasesRisk is a positive contribution.
	IncreasesRisk Direction = "increases_risk"
	// DecreasesRisk is a negative or zero contribution.
	DecreasesRisk Direction = "decreases_risk"
)

// Explanation attributes a score's margin (log-odds) to the transaction's features, with exact
// SHAP values: base_value plus the contributions of all 30 features equals margin, and the
// fraud probability is 1 / (1 + exp(-margin)).
type Explanation struct {
	BaseValue float64               `json:"base_value" doc:"The model's expected margin when no feature is known, in log-odds; the same for every transaction." example:"-6.2"`
	Margin    float64               `json:"margin" doc:"The model's raw margin for this transaction, in log-odds." example:"-6.16"`
	Features  []FeatureContribution `json:"features" doc:"The explain_top_k features with the largest contribution in absolute value, largest first; ties in feature order (Time, V1..V28, Amount)."`
}

// FeatureContribution is one feature's share of a margin.
type FeatureContribution struct {
	Feature      string    `json:"feature" doc:"The feature's name, as in the request." example:"V14"`
	Value        float64   `json:"value" doc:"The feature's value in the request." example:"-0.311169353699879"`
	Contribution float64   `json:"contribution" doc:"What the feature adds to the margin, in log-odds." example:"0.373"`
	Direction    Direction `json:"direction" enum:"increases_risk,decreases_risk" doc:"increases_risk when contribution > 0, else decreases_risk." example:"increases_risk"`
}

// PredictBatchRequest is the body of POST /predict/batch.
type PredictBatchRequest struct {
	Transactions []TransactionRequest `json:"transactions" required:"true" doc:"The transactions to score, at most MAX_BATCH_SIZE (default 1000). Each is validated on its own."`
	Explain      bool                 `json:"explain,omitempty" doc:"Add an explanation to every scored transaction's result." example:"true"`
	ExplainTopK  int                  `json:"explain_top_k,omitempty" minimum:"1" maximum:"30" default:"5" doc:"How many features each explanation lists; 30 lists every feature. Ignored without explain: true." example:"5"`
}

// BatchItem is one entry of a batch answer: a score, or the error of an invalid transaction.
type BatchItem struct {
	Index            int         `json:"index" doc:"Position of the transaction in the request, from 0." example:"0"`
	TransactionID    string      `json:"transaction_id,omitempty" doc:"The caller's transaction_id, or one generated for it." example:"txn-0001"`
	FraudProbability float64     `json:"fraud_probability,omitempty" minimum:"0" maximum:"1" doc:"Probability that the transaction is fraudulent." example:"0.0021"`
	IsFraud          bool        `json:"is_fraud,omitempty" doc:"fraud_probability >= threshold." example:"false"`
	RiskLevel        RiskLevel   `json:"risk_level,omitempty" enum:"low,medium,high,critical" doc:"As for /predict." example:"low"`
	Error            *BatchError `json:"error,omitempty" doc:"Why the transaction was not scored; the other fields are then absent."`
	// Explanation is present only when the request asked for it and the transaction was scored.
	Explanation *Explanation `json:"explanation,omitempty" doc:"As for /predict; present only when the request has explain: true and the transaction was scored."`
}

// BatchError is the error of one invalid transaction in a batch.
type BatchError struct {
	ErrorCode string   `json:"error_code" doc:"VALIDATION_ERROR." example:"VALIDATION_ERROR"`
	Details   []Detail `json:"details" doc:"One {field, problem, value} per bad field."`
}

// BatchSummary sums up a batch answer.
type BatchSummary struct {
	TotalProcessed     int     `json:"total_processed" doc:"Transactions in the request." example:"1000"`
	Valid              int     `json:"valid" doc:"Transactions scored." example:"998"`
	Invalid            int     `json:"invalid" doc:"Transactions refused." example:"2"`
	FraudCount         int     `json:"fraud_count" doc:"Scored transactions flagged as fraud." example:"3"`
	FraudRatePercent   float64 `json:"fraud_rate_percent" doc:"fraud_count / valid, percent." example:"0.3"`
	AverageProbability float64 `json:"average_probability" doc:"Mean fraud_probability of the scored transactions." example:"0.004"`
	ProcessingTimeMS   float64 `json:"processing_time_ms" doc:"Time spent decoding and scoring the batch, milliseconds." example:"4.2"`
}

// PredictBatchResponse is the answer of POST /predict/batch.
type PredictBatchResponse struct {
	Results      []BatchItem  `json:"results" doc:"One entry per transaction, in request order."`
	Summary      BatchSummary `json:"summary"`
	Threshold    float64      `json:"threshold" doc:"The model's decision threshold." example:"0.5"`
	ModelVersion string       `json:"model_version" doc:"Version of the model that scored the batch." example:"20261126-000000-1a2b3c4d"`
	RequestID    string       `json:"request_id" doc:"Identifier of the request." example:"3f2b9c1e8a7d4e6f"`
}
