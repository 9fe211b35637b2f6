package fraud

import "time"

// SystemInfo is a sample of the host and the process, taken in the background.
type SystemInfo struct {
	CPUPercent       float64   `json:"cpu_percent" doc:"Host CPU use over the last sampling interval, percent."`
	MemoryPercent    float64   `json:"memory_percent" doc:"Host memory in use, percent."`
	DiskUsagePercent float64   `json:"disk_usage_percent" doc:"Use of the file system holding DATA_DIR, percent."`
	Goroutines       int       `json:"goroutines" doc:"Goroutines in the process."`
	RSSBytes         uint64    `json:"rss_bytes" doc:"Resident set size of the process, bytes."`
	SampledAt        time.Time `json:"sampled_at" doc:"When the sample was taken."`
}
