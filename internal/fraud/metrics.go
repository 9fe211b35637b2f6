package fraud

// MetricsSummary is the JSON summary of GET /metrics (Accept: application/json): the figures an
// operator reads at a glance. Percentiles cover a sliding window of recent requests.
type MetricsSummary struct {
	TotalRequests         int64            `json:"total_requests" doc:"Requests answered since start."`
	TotalPredictions      int64            `json:"total_predictions" doc:"Transactions scored since start."`
	ErrorCount            int64            `json:"error_count" doc:"Answers with a 5xx status since start."`
	ErrorRate             float64          `json:"error_rate" doc:"error_count / total_requests, 0..1."`
	RequestsPerSecond     float64          `json:"requests_per_second" doc:"Mean request rate over the sliding window."`
	AverageResponseTimeMS float64          `json:"average_response_time_ms" doc:"Mean response time over the sliding window, milliseconds."`
	P50MS                 float64          `json:"p50_ms" doc:"Median response time over the sliding window, milliseconds."`
	P95MS                 float64          `json:"p95_ms" doc:"95th percentile response time over the sliding window, milliseconds."`
	P99MS                 float64          `json:"p99_ms" doc:"99th percentile response time over the sliding window, milliseconds."`
	WindowSeconds         int              `json:"window_seconds" doc:"Length of the sliding window, seconds."`
	UptimeSeconds         float64          `json:"uptime_seconds" doc:"Seconds since start."`
	Endpoints             map[string]int64 `json:"endpoints" doc:"Requests since start per route, as \"METHOD /route\"."`
}
