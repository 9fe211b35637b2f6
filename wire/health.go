package wire

import "time"

// The statuses of HealthResponse.
const (
	StatusHealthy   = "healthy"
	StatusDegraded  = "degraded"
	StatusUnhealthy = "unhealthy"
)

// HealthResponse is the answer of GET /health.
type HealthResponse struct {
	Status                string             `json:"status" enum:"healthy,degraded,unhealthy" doc:"healthy; degraded (scoring works, but a non-essential dependency such as the store is failing, or memory or disk use is at or above 95%); unhealthy (no model, or an essential dependency failing: scoring cannot work)." example:"healthy"`
	UptimeSeconds         float64            `json:"uptime_seconds" doc:"Seconds since the server started." example:"42.5"`
	Version               string             `json:"version" doc:"fraudguard build version." example:"dev"`
	SystemInfo            SystemInfo         `json:"system_info" doc:"Host and process figures, sampled in the background."`
	ModelsLoaded          int                `json:"models_loaded" doc:"Number of models loaded (0 or 1)." example:"1"`
	ModelVersion          string             `json:"model_version" doc:"Version of the live model; empty when none." example:"20261126-000000-1a2b3c4d"`
	TotalPredictions      int64              `json:"total_predictions" doc:"Transactions scored since start." example:"1234"`
	AverageResponseTimeMS float64            `json:"average_response_time_ms" doc:"Mean time spent decoding and scoring one /predict request, milliseconds." example:"0.015"`
	Dependencies          []DependencyStatus `json:"dependencies" doc:"Each dependency's last background check."`
}

// DependencyStatus is the last check of one dependency.
type DependencyStatus struct {
	Name      string    `json:"name" doc:"The dependency checked: today the store." example:"store"`
	Status    string    `json:"status" enum:"ok,failing" doc:"ok, or failing." example:"ok"`
	Essential bool      `json:"essential" doc:"Whether scoring needs it: a failing essential dependency makes the service unhealthy, any other degraded."`
	LatencyMS float64   `json:"latency_ms" doc:"How long the check took, milliseconds." example:"0.2"`
	Error     string    `json:"error,omitempty" doc:"Why it failed."`
	CheckedAt time.Time `json:"checked_at" doc:"When it was checked."`
}

// ProbeResponse is the answer of the liveness and readiness probes.
type ProbeResponse struct {
	Status string `json:"status" enum:"ok,not_ready" doc:"ok, or not_ready while no model is loaded." example:"ok"`
}

// SystemInfo is a sample of the host and the process, taken in the background.
type SystemInfo struct {
	CPUPercent       float64   `json:"cpu_percent" doc:"Host CPU use over the last sampling interval, percent."`
	MemoryPercent    float64   `json:"memory_percent" doc:"Host memory in use, percent."`
	DiskUsagePercent float64   `json:"disk_usage_percent" doc:"Use of the file system holding DATA_DIR, percent."`
	Goroutines       int       `json:"goroutines" doc:"Goroutines in the process."`
	RSSBytes         uint64    `json:"rss_bytes" doc:"Resident set size of the process, bytes."`
	SampledAt        time.Time `json:"sampled_at" doc:"When the sample was taken."`
}

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
