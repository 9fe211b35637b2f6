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
	ProcessingTimeMS float64   `json:"processing_time_ms" minimum:"0" doc:"Time spent decoding and scoring, in milliseconds." example:"0.012"`
	RequestID        string    `json:"request_id" doc:"Identifier of the request." example:"3f2b9c1e8a7d4e6f"`
}

// PredictBatchRequest is the body of POST /predict/batch.
type PredictBatchRequest struct {
	Transactions []TransactionRequest `json:"transactions" required:"true" doc:"The transactions to score, at most MAX_BATCH_SIZE (default 1000). Each is validated on its own."`
}

// BatchItem is one entry of a batch answer: a score, or the error of an invalid transaction.
type BatchItem struct {
	Index            int         `json:"index" doc:"Position of the transaction in the request, from 0." example:"0"`
	TransactionID    string      `json:"transaction_id,omitempty" doc:"The caller's transaction_id, or one generated for it." example:"txn-0001"`
	FraudProbability float64     `json:"fraud_probability,omitempty" minimum:"0" maximum:"1" doc:"Probability that the transaction is fraudulent." example:"0.0021"`
	IsFraud          bool        `json:"is_fraud,omitempty" doc:"fraud_probability >= threshold." example:"false"`
	RiskLevel        RiskLevel   `json:"risk_level,omitempty" enum:"low,medium,high,critical" doc:"As for /predict." example:"low"`
	Error            *BatchError `json:"error,omitempty" doc:"Why the transaction was not scored; the other fields are then absent."`
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
