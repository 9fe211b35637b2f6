package wire

import "time"

// JobStatus is where a background batch job is in its life: queued, running, and then
// completed, failed or cancelled.
type JobStatus string

// The statuses a job shows through the API.
const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobCompleted JobStatus = "completed"
	JobFailed    JobStatus = "failed"
	JobCancelled JobStatus = "cancelled"
)

// Finished reports whether s is a final status: completed, failed or cancelled.
func (s JobStatus) Finished() bool {
	return s == JobCompleted || s == JobFailed || s == JobCancelled
}

// BatchSubmitResponse is the answer of POST /batch.
type BatchSubmitResponse struct {
	JobID      string    `json:"job_id" doc:"The job's identifier." example:"job_5f0c2a7e9b1d4c3a8e6f7a21"`
	Status     JobStatus `json:"status" enum:"queued,running,completed,failed,cancelled" doc:"The job's status now: queued for a new job." example:"queued"`
	StatusURL  string    `json:"status_url" doc:"Where to follow its progress." example:"/batch/job_5f0c2a7e9b1d4c3a8e6f7a21/status"`
	ResultsURL string    `json:"results_url" doc:"Where to download its results." example:"/batch/job_5f0c2a7e9b1d4c3a8e6f7a21/results"`
}

// BatchStatusResponse is the answer of GET /batch/{job_id}/status, and an entry of GET /batch.
type BatchStatusResponse struct {
	JobID               string      `json:"job_id" doc:"The job's identifier." example:"job_5f0c2a7e9b1d4c3a8e6f7a21"`
	Status              JobStatus   `json:"status" enum:"queued,running,completed,failed,cancelled" doc:"queued (waiting for one of BATCH_MAX_CONCURRENT_JOBS), running, or finished: completed, failed (see error) or cancelled." example:"running"`
	ProgressPercent     float64     `json:"progress_percent" minimum:"0" maximum:"100" doc:"Share of the rows processed." example:"42.5"`
	ProcessedCount      int64       `json:"processed_count" doc:"Rows processed so far, invalid ones included." example:"425000"`
	TotalCount          int64       `json:"total_count" doc:"Rows in the upload." example:"1000000"`
	InvalidCount        int64       `json:"invalid_count" doc:"Rows that could not be scored (malformed line or record, bad field); each has an error in the results." example:"3"`
	FraudCount          int64       `json:"fraud_count" doc:"Rows flagged as fraud so far." example:"731"`
	CreatedAt           time.Time   `json:"created_at" doc:"When the upload was received."`
	StartedAt           *time.Time  `json:"started_at" doc:"When scoring started; null while queued."`
	FinishedAt          *time.Time  `json:"finished_at" doc:"When the job ended; null until then."`
	EstimatedCompletion *time.Time  `json:"estimated_completion" doc:"When a running job should finish at its pace so far; null otherwise."`
	Error               *string     `json:"error" doc:"Why a failed job failed; null otherwise." example:"storing the results of rows 0 to 9999 failed: the disk holding the database is full"`
	PartialResults      []JobResult `json:"partial_results,omitempty" doc:"The highest-risk rows scored so far, most risky first, at most 20. Left out of listings."`
	ModelVersion        string      `json:"model_version,omitempty" doc:"The model version the job is scored by, on whichever instance works a chunk: the one live where its first chunk was taken. Left out until then." example:"20261126-000000-439a6fec"`
}

// BatchListResponse is the answer of GET /batch.
type BatchListResponse struct {
	Jobs   []BatchStatusResponse `json:"jobs" doc:"Matching jobs, newest first: the caller's own, or everyone's for an admin key."`
	Total  int                   `json:"total" doc:"How many jobs match in all."`
	Offset int                   `json:"offset" doc:"Offset of the first job returned."`
	Limit  int                   `json:"limit" doc:"Most jobs returned."`
}

// BatchResultsResponse is the answer of GET /batch/{job_id}/results as JSON.
type BatchResultsResponse struct {
	JobID   string      `json:"job_id" doc:"The job's identifier." example:"job_5f0c2a7e9b1d4c3a8e6f7a21"`
	Status  JobStatus   `json:"status" enum:"queued,running,completed,failed,cancelled" doc:"The job's status: results of an unfinished job are the rows scored so far." example:"completed"`
	Offset  int64       `json:"offset" doc:"First row asked for." example:"0"`
	Limit   int64       `json:"limit" doc:"Most rows returned." example:"1000"`
	Total   int64       `json:"total" doc:"Rows in the upload." example:"1000000"`
	Results []JobResult `json:"results" doc:"Results of rows offset..offset+limit-1 scored so far, in input order."`
}

// BatchDeleteResponse is the answer of DELETE /batch/{job_id}.
type BatchDeleteResponse struct {
	JobID   string    `json:"job_id" doc:"The job's identifier." example:"job_5f0c2a7e9b1d4c3a8e6f7a21"`
	Status  JobStatus `json:"status" enum:"queued,running,completed,failed,cancelled" doc:"The job's status afterwards: cancelled for a job that was queued or running." example:"cancelled"`
	Deleted bool      `json:"deleted" doc:"True when the job had already finished and it was deleted with its results; false when it was cancelled (its results so far are kept until BATCH_RESULT_TTL)." example:"false"`
}

// JobResult is the outcome of one input row of a job: in the JSON and NDJSON results, and
// (the highest-risk rows) in a job's partial results.
type JobResult struct {
	// Row is the 0-based position of the row in the input.
	Row           int64     `json:"row" doc:"0-based number of the row in the input (header lines not counted)." example:"0"`
	TransactionID string    `json:"transaction_id" doc:"The row's transaction_id, or empty when the input has none." example:"txn-0001"`
	Probability   float64   `json:"fraud_probability" minimum:"0" maximum:"1" doc:"Probability that the transaction is fraudulent; 0 for an invalid row." example:"0.0021"`
	IsFraud       bool      `json:"is_fraud" doc:"fraud_probability >= the model's threshold." example:"false"`
	Risk          RiskLevel `json:"risk_level,omitempty" enum:"low,medium,high,critical" doc:"Risk level, as for /predict; absent for an invalid row." example:"low"`
	// Error is why the row could not be scored; "" for a scored row.
	Error string `json:"error,omitempty" doc:"Why the row could not be scored (malformed line or record, bad field); absent for a scored row." example:""`
	// Reasons are the row's reasons, for a job submitted with explain=true; nil otherwise and
	// for an invalid row.
	Reasons []Reason `json:"reasons,omitempty" doc:"For a job submitted with explain=true, the 3 features of largest |contribution| to the row's margin, largest first, ties in feature order (as /predict's explanation.features); absent otherwise and for an invalid row."`
}

// Reason is one feature's part in a row's score: its exact SHAP contribution to the margin.
type Reason struct {
	Feature      string  `json:"feature" doc:"The feature: Time, V1..V28 or Amount." example:"V14"`
	Contribution float64 `json:"contribution" doc:"Its contribution to the margin, in log-odds (positive raises the risk)." example:"-0.3015193238346317"`
}
