// Package config reads and checks the service configuration. Nothing else in fraudguard reads
// the environment: Load takes the command-line arguments and a getenv function.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the effective configuration of `fraudguard serve`.
type Config struct {
	Host               string
	Port               int
	ModelPath          string
	ModelVersion       string
	DataDir            string
	RateLimitPerMinute int
	AllowedHosts       []string
	CORSAllowedOrigins []string
	EnableModelCaching bool
	// ModelWatch polls MODEL_PATH every ModelWatchInterval and reloads when it changes.
	ModelWatch         bool
	ModelWatchInterval time.Duration
	// ShadowModelVersion scores every transaction a second time, off the hot path.
	ShadowModelVersion string
	// ChallengerModelVersion answers ChallengerShare percent of transactions, chosen by a
	// hash of transaction_id.
	ChallengerModelVersion string
	ChallengerShare        int
	MaxBatchSize           int
	MaxBodyBytes           int64
	MaxBatchBodyBytes      int64
	LogLevel               slog.Level
	LogFormat              string
	LogFile                string
	ShutdownTimeout        time.Duration
	ReadHeaderTimeout      time.Duration
	ReadTimeout            time.Duration
	WriteTimeout           time.Duration
	IdleTimeout            time.Duration
	// APIKeysFile is the YAML or JSON file of API keys; empty means none.
	APIKeysFile    string
	RateLimitBurst int
	TrustedProxies []netip.Prefix
	SecurityMode   string
	SecurityEngine string
	BlockThreshold int
	BlockWindow    time.Duration
	BlockDuration  time.Duration
	IPAllowlist    []netip.Prefix
	IPBlocklist    []netip.Prefix
	MetricsPublic  bool
	// Pprof serves the Go profiler under /debug/pprof/ to the admin key.
	Pprof       bool
	TLSCertFile string
	TLSKeyFile  string
	HTTPSOnly   bool
	// AuditRetentionDays is how many days stored audit events are kept; 0 keeps them forever.
	AuditRetentionDays int
	// DecisionLog records every answer of /predict and /predict/batch.
	DecisionLog bool
	// DecisionWriter is where the embedded store's decision log is written: "process" (a
	// process of its own at the lowest CPU priority) or "inline" (a goroutine of the server).
	DecisionWriter string
	// DecisionRetentionDays is how many days recorded decisions are kept; 0 keeps them forever.
	DecisionRetentionDays int
	// DriftInterval is how often the drift gauges are computed again.
	DriftInterval time.Duration
	// DriftWindow is the stretch of recorded decisions, up to now, the drift gauges measure.
	DriftWindow time.Duration

	LogMaxSizeMB        int
	LogMaxFiles         int
	OTLPEndpoint        string
	OTelServiceName     string
	HealthCheckInterval time.Duration
	// AdminAPIKey is the admin key given in the environment; empty means the key generated into
	// DATA_DIR/admin.key.
	AdminAPIKey Secret

	// Background batch jobs (POST /batch).
	BatchJobMaxRows        int
	BatchJobMaxBytes       int64
	BatchWorkers           int // 0: GOMAXPROCS
	BatchMaxConcurrentJobs int
	BatchResultTTL         time.Duration
	BatchChunkRows         int
	// BatchLease is how long a worker holds a chunk before another (on any instance) may take
	// it over: how soon the chunks of an instance that died are worked again.
	BatchLease time.Duration

	// Scale-out: PostgreSQL for jobs and the audit log instead of the embedded SQLite file, and
	// Redis for rate limits, strikes and blocks. Empty URLs keep everything in this process.
	DatabaseURL        Secret
	DBMaxConns         int
	DBMinConns         int
	DBConnectTimeout   time.Duration
	DBStatementTimeout time.Duration
	RedisURL           Secret
	RedisPoolSize      int
	// ModelSyncInterval is how often an instance on PostgreSQL polls the activation history
	// and makes live the version another instance activated.
	ModelSyncInterval time.Duration
}

// Secret is a setting that must never be logged or printed: fmt and slog show only whether it
// is set. Reveal returns the value.
type Secret string

// Reveal returns the secret's value, for the one place that uses it.
func (s Secret) Reveal() string { return string(s) }

// String returns "(set)" or "(unset)", never the value.
func (s Secret) String() string {
	if s == "" {
		return "(unset)"
	}
	return "(set)"
}

// GoString is String, so %#v does not print the value either.
func (s Secret) GoString() string { return s.String() }

// LogValue is String, so slog does not print the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText is String, so encoders do not write the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Error is a configuration mistake: the setting (environment variable or flag), the value given
// and what is allowed. Its message is one line.
type Error struct {
	Setting string
	Value   string
	Allowed string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid configuration: %s=%q: %s", e.Setting, e.Value, e.Allowed)
}

// setting is one configuration entry: its environment name, default and parser.
type setting struct {
	env   string
	def   string
	usage string
	set   func(c *Config, v string) error // returns the "allowed" text on a bad value
}

// secret reports whether the setting must never be shown: it is read from the environment
// only, and errors and logs mask its value.
func (s setting) secret() bool {
	return s.env == "ADMIN_API_KEY" || s.env == "DATABASE_URL" || s.env == "REDIS_URL"
}

// shown is v as an error may quote it: a URL without its password, other secrets not at all.
func (s setting) shown(v string) string {
	switch s.env {
	case "DATABASE_URL", "REDIS_URL":
		return RedactURL(v)
	}
	if s.secret() {
		return "(hidden)"
	}
	return v
}

// RedactURL returns a URL with its password replaced by xxxxx, for logs and errors; a value
// that does not parse as a URL is hidden whole.
func RedactURL(v string) string {
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil {
		return "(hidden: not a URL)"
	}
	return u.Redacted()
}

// serviceURL checks a DATABASE_URL or REDIS_URL: one of schemes, a host, and a numeric port
// if one is given. The driver parses the rest when serve starts, and a mistake it finds stops
// start-up too.
func serviceURL(v string, schemes []string, example string) error {
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("must be a URL such as %s", example)
	}
	ok := false
	for _, sc := range schemes {
		ok = ok || u.Scheme == sc
	}
	if !ok {
		return fmt.Errorf("must be a %s:// URL such as %s", strings.Join(schemes, ":// or "), example)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("must name a host, such as %s", example)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q must be a number from 1 to 65535", p)
		}
	}
	return nil
}

// flagName turns an environment name into its flag: API_PORT → api-port.
func (s setting) flagName() string { return strings.ToLower(strings.ReplaceAll(s.env, "_", "-")) }

func settings() []setting {
	return []setting{
		{"API_HOST", "0.0.0.0", "address to listen on", func(c *Config, v string) error {
			if v != "" && net.ParseIP(v) == nil && !validHostname(v) {
				return errors.New("must be an IP address or host name")
			}
			c.Host = v
			return nil
		}},
		{"API_PORT", "8000", "TCP port to listen on (0 picks a free port)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 65535 {
				return errors.New("must be a port number from 0 to 65535")
			}
			c.Port = n
			return nil
		}},
		{"MODEL_PATH", "models/", "directory holding model bundles", func(c *Config, v string) error {
			if v == "" {
				return errors.New("must name an existing directory")
			}
			c.ModelPath = v
			return nil
		}},
		{"MODEL_VERSION", "", "model version to serve (empty: the newest by created_at)", func(c *Config, v string) error {
			c.ModelVersion = v
			return nil
		}},
		{"DATA_DIR", "data/", "directory for the embedded store and generated keys (created if missing)", func(c *Config, v string) error {
			if v == "" {
				return errors.New("must name a directory")
			}
			c.DataDir = v
			return nil
		}},
		{"RATE_LIMIT_PER_MINUTE", "100", "requests per minute per client (0 turns limiting off)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 10_000_000 {
				return errors.New("must be a whole number from 0 to 10000000")
			}
			c.RateLimitPerMinute = n
			return nil
		}},
		{"ALLOWED_HOSTS", "*", "comma-separated Host header values served (* = any, *.example.com = subdomains)", func(c *Config, v string) error {
			hosts := splitList(v)
			if len(hosts) == 0 {
				return errors.New("must list at least one host name, or *")
			}
			for _, h := range hosts {
				if h != "*" && !validHostname(strings.TrimPrefix(h, "*.")) && net.ParseIP(h) == nil {
					return fmt.Errorf("%q is not a host name, *.domain or *", h)
				}
			}
			c.AllowedHosts = hosts
			return nil
		}},
		{"CORS_ALLOWED_ORIGINS", "", "comma-separated origins allowed by CORS (empty: no CORS; * = any)", func(c *Config, v string) error {
			origins := splitList(v)
			for _, o := range origins {
				if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
					return fmt.Errorf("%q is not an origin such as https://app.example.com, or *", o)
				}
			}
			c.CORSAllowedOrigins = origins
			return nil
		}},
		{"ENABLE_MODEL_CACHING", "true", "keep every model version once loaded in memory, for instant switching (false: only the live one, and the shadow or challenger)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("must be true or false")
			}
			c.EnableModelCaching = b
			return nil
		}},
		{"MODEL_WATCH", "false", "reload the model when MODEL_PATH changes (polled every MODEL_WATCH_INTERVAL)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("must be true or false")
			}
			c.ModelWatch = b
			return nil
		}},
		{"MODEL_WATCH_INTERVAL", "5s", "how often MODEL_WATCH polls MODEL_PATH", durationSetter(func(c *Config) *time.Duration { return &c.ModelWatchInterval })},
		{"SHADOW_MODEL_VERSION", "", "a model version that scores every transaction too, off the hot path, for GET /models/compare (empty: none)", func(c *Config, v string) error {
			c.ShadowModelVersion = v
			return nil
		}},
		{"CHALLENGER_MODEL_VERSION", "", "a model version that answers CHALLENGER_SHARE percent of /predict transactions (empty: none)", func(c *Config, v string) error {
			c.ChallengerModelVersion = v
			return nil
		}},
		{"CHALLENGER_SHARE", "0", "percentage (0-100) of /predict transactions the challenger answers, chosen by a hash of transaction_id", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				return errors.New("must be a whole number from 0 to 100")
			}
			c.ChallengerShare = n
			return nil
		}},
		{"MAX_BATCH_SIZE", "1000", "most transactions in one /predict/batch request", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100_000 {
				return errors.New("must be a whole number from 1 to 100000")
			}
			c.MaxBatchSize = n
			return nil
		}},
		{"MAX_BODY_BYTES", "64KiB", "largest body of a single-transaction request (bytes, or with KiB/MiB)", func(c *Config, v string) error {
			n, err := ParseBytes(v)
			if err != nil || n < 1024 || n > 64<<20 {
				return errors.New("must be a size from 1KiB to 64MiB, such as 65536 or 64KiB")
			}
			c.MaxBodyBytes = n
			return nil
		}},
		{"MAX_BATCH_BODY_BYTES", "4MiB", "largest body of a /predict/batch request (bytes, or with KiB/MiB)", func(c *Config, v string) error {
			n, err := ParseBytes(v)
			if err != nil || n < 1024 || n > 256<<20 {
				return errors.New("must be a size from 1KiB to 256MiB, such as 4MiB")
			}
			c.MaxBatchBodyBytes = n
			return nil
		}},
		{"LOG_LEVEL", "INFO", "DEBUG, INFO, WARN or ERROR", func(c *Config, v string) error {
			var l slog.Level
			if err := l.UnmarshalText([]byte(v)); err != nil || strings.ContainsAny(v, "+-") {
				return errors.New("must be DEBUG, INFO, WARN or ERROR")
			}
			c.LogLevel = l
			return nil
		}},
		{"LOG_FORMAT", "json", "json or text", func(c *Config, v string) error {
			v = strings.ToLower(v)
			if v != "json" && v != "text" {
				return errors.New("must be json or text")
			}
			c.LogFormat = v
			return nil
		}},
		{"LOG_FILE", "", "file to append logs to (empty: standard output)", func(c *Config, v string) error {
			c.LogFile = v
			return nil
		}},
		{"SHUTDOWN_TIMEOUT", "15s", "how long shutdown waits for in-flight requests", durationSetter(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
		{"READ_HEADER_TIMEOUT", "5s", "time allowed to read request headers (slow-header guard)", durationSetter(func(c *Config) *time.Duration { return &c.ReadHeaderTimeout })},
		{"READ_TIMEOUT", "30s", "time allowed to read a whole request", durationSetter(func(c *Config) *time.Duration { return &c.ReadTimeout })},
		{"WRITE_TIMEOUT", "60s", "time allowed to write a response", durationSetter(func(c *Config) *time.Duration { return &c.WriteTimeout })},
		{"IDLE_TIMEOUT", "120s", "how long an idle keep-alive connection stays open", durationSetter(func(c *Config) *time.Duration { return &c.IdleTimeout })},
		{"API_KEYS_FILE", "", "YAML or JSON file of API keys: name, sha256, scopes, rate_limit_per_minute (empty: no keys file)", func(c *Config, v string) error {
			c.APIKeysFile = v
			return nil
		}},
		{"ADMIN_API_KEY", "", "the admin API key, at least 16 characters; environment only, never logged (empty: generate one into DATA_DIR/admin.key)", func(c *Config, v string) error {
			if v != "" && len(v) < MinAdminKeyLength {
				return fmt.Errorf("must be at least %d characters (or empty, to use a generated key in DATA_DIR/admin.key)", MinAdminKeyLength)
			}
			c.AdminAPIKey = Secret(v)
			return nil
		}},
		{"RATE_LIMIT_BURST", "0", "requests a client may make at once (0: the per-minute figure)", intSetter(0, 10_000_000, func(c *Config) *int { return &c.RateLimitBurst })},
		{"TRUSTED_PROXIES", "", "CIDRs of proxies whose X-Forwarded-For and X-Forwarded-Proto are believed", prefixSetter(func(c *Config) *[]netip.Prefix { return &c.TrustedProxies })},
		{"SECURITY_MODE", "block", "block: refuse requests that look like attacks (403); detect: log and audit them only", func(c *Config, v string) error {
			v = strings.ToLower(v)
			if v != "block" && v != "detect" {
				return errors.New("must be block or detect")
			}
			c.SecurityMode = v
			return nil
		}},
		{"SECURITY_ENGINE", "libinjection", "attack detector: libinjection (the only engine in this build)", func(c *Config, v string) error {
			if strings.ToLower(v) != "libinjection" {
				return errors.New("must be libinjection (OWASP CRS is not built in)")
			}
			c.SecurityEngine = "libinjection"
			return nil
		}},
		{"BLOCK_THRESHOLD", "20", "strikes (refused attacks, failed authentication; not rate-limit hits) within BLOCK_WINDOW that block an address (0: never block)", intSetter(0, 1_000_000, func(c *Config) *int { return &c.BlockThreshold })},
		{"BLOCK_WINDOW", "1m", "window in which BLOCK_THRESHOLD strikes block an address", durationSetter(func(c *Config) *time.Duration { return &c.BlockWindow })},
		{"BLOCK_DURATION", "15m", "how long an address stays blocked", durationSetter(func(c *Config) *time.Duration { return &c.BlockDuration })},
		{"IP_ALLOWLIST", "", "CIDRs never blocked", prefixSetter(func(c *Config) *[]netip.Prefix { return &c.IPAllowlist })},
		{"IP_BLOCKLIST", "", "CIDRs always refused (403 IP_BLOCKED)", prefixSetter(func(c *Config) *[]netip.Prefix { return &c.IPBlocklist })},
		{"METRICS_PUBLIC", "false", "let /metrics be read without a key when API_KEYS_FILE is set", boolSetter(func(c *Config) *bool { return &c.MetricsPublic })},
		{"PPROF", "false", "serve the Go profiler at /debug/pprof/ (admin key only)", boolSetter(func(c *Config) *bool { return &c.Pprof })},
		{"TLS_CERT_FILE", "", "PEM certificate chain: serve HTTPS (TLS 1.2+) with TLS_KEY_FILE", func(c *Config, v string) error { c.TLSCertFile = v; return nil }},
		{"TLS_KEY_FILE", "", "PEM private key of TLS_CERT_FILE", func(c *Config, v string) error { c.TLSKeyFile = v; return nil }},
		{"LOG_MAX_SIZE_MB", "100", "rotate LOG_FILE when it reaches this many megabytes", intSetter(1, 100_000, func(c *Config) *int { return &c.LogMaxSizeMB })},
		{"LOG_MAX_FILES", "5", "rotated log files kept (0: keep all)", intSetter(0, 10_000, func(c *Config) *int { return &c.LogMaxFiles })},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "", "OTLP/HTTP collector for traces, such as http://127.0.0.1:4318 (empty: tracing off)", func(c *Config, v string) error {
			if v != "" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
				return errors.New("must be an http:// or https:// URL, such as http://127.0.0.1:4318")
			}
			c.OTLPEndpoint = v
			return nil
		}},
		{"OTEL_SERVICE_NAME", "fraudguard", "service name on exported spans", func(c *Config, v string) error { c.OTelServiceName = v; return nil }},
		{"HEALTH_CHECK_INTERVAL", "2s", "how often /health's dependency checks run in the background", durationSetter(func(c *Config) *time.Duration { return &c.HealthCheckInterval })},
		{"HTTPS_ONLY", "false", "refuse plain HTTP (X-Forwarded-Proto believed from TRUSTED_PROXIES only) and send HSTS", boolSetter(func(c *Config) *bool { return &c.HTTPSOnly })},
		{"AUDIT_RETENTION_DAYS", "90", "days stored audit events are kept; older ones are deleted at start-up and then hourly (0: keep forever)", intSetter(0, 36_500, func(c *Config) *int { return &c.AuditRetentionDays })},
		{"DECISION_LOG", "true", "record every answer of /predict and /predict/batch in the decision log (GET /decisions)", boolSetter(func(c *Config) *bool { return &c.DecisionLog })},
		{"DECISION_WRITER", "process", "with the embedded store, who writes the decision log: process (a process of its own at the lowest CPU priority, so that the answers never wait for it) or inline (a goroutine of the server)", func(c *Config, v string) error {
			v = strings.ToLower(v)
			if v != "process" && v != "inline" {
				return errors.New("must be process or inline")
			}
			c.DecisionWriter = v
			return nil
		}},
		{"DRIFT_INTERVAL", "5m", "how often fraudguard_feature_psi and fraudguard_score_psi are computed again from the decision log", durationSetter(func(c *Config) *time.Duration { return &c.DriftInterval })},
		{"DRIFT_WINDOW", "1h", "the recorded decisions, up to now, the drift gauges measure", durationSetter(func(c *Config) *time.Duration { return &c.DriftWindow })},
		{"DECISION_RETENTION_DAYS", "30", "days recorded decisions and their labels are kept; older ones are deleted at start-up and then hourly (0: keep forever)", intSetter(0, 36_500, func(c *Config) *int { return &c.DecisionRetentionDays })},
		{"BATCH_JOB_MAX_ROWS", "5000000", "most rows in one POST /batch upload", intSetter(1, 100_000_000, func(c *Config) *int { return &c.BatchJobMaxRows })},
		{"BATCH_JOB_MAX_BYTES", "1GiB", "largest POST /batch upload, as sent and decompressed (bytes, or with KiB/MiB/GiB)", func(c *Config, v string) error {
			n, err := ParseBytes(v)
			if err != nil || n < 1<<10 || n > 64<<30 {
				return errors.New("must be a size from 1KiB to 64GiB, such as 1GiB")
			}
			c.BatchJobMaxBytes = n
			return nil
		}},
		{"BATCH_WORKERS", "0", "batch job chunks scored at once (0: one per CPU, GOMAXPROCS)", intSetter(0, 1024, func(c *Config) *int { return &c.BatchWorkers })},
		{"BATCH_MAX_CONCURRENT_JOBS", "2", "batch jobs running at once; more wait, queued", intSetter(1, 1000, func(c *Config) *int { return &c.BatchMaxConcurrentJobs })},
		{"BATCH_RESULT_TTL", "24h", "how long a finished batch job and its results are kept", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Minute || d > 90*24*time.Hour {
				return errors.New("must be a duration from 1m to 2160h (90 days), such as 24h")
			}
			c.BatchResultTTL = d
			return nil
		}},
		{"BATCH_CHUNK_ROWS", "10000", "rows stored and scored as one chunk of a batch job", intSetter(100, 1_000_000, func(c *Config) *int { return &c.BatchChunkRows })},
		{"BATCH_LEASE", "2m", "how long a worker holds a batch chunk before another worker, on any instance, may take it over", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second || d > time.Hour {
				return errors.New("must be a duration from 1s to 1h, such as 2m")
			}
			c.BatchLease = d
			return nil
		}},
		{"DATABASE_URL", "", "PostgreSQL for jobs and the audit log, shared by every instance, such as postgres://fraudguard:secret@db:5432/fraudguard (empty: the embedded SQLite file in DATA_DIR)", func(c *Config, v string) error {
			if v != "" {
				if err := serviceURL(v, []string{"postgres", "postgresql"}, "postgres://user:password@host:5432/db"); err != nil {
					return err
				}
			}
			c.DatabaseURL = Secret(v)
			return nil
		}},
		{"DB_MAX_CONNS", "10", "most PostgreSQL connections this instance opens", intSetter(1, 1000, func(c *Config) *int { return &c.DBMaxConns })},
		{"DB_MIN_CONNS", "1", "PostgreSQL connections kept open while idle (at most DB_MAX_CONNS)", intSetter(0, 1000, func(c *Config) *int { return &c.DBMinConns })},
		{"DB_CONNECT_TIMEOUT", "5s", "how long one PostgreSQL connection attempt may take", durationSetter(func(c *Config) *time.Duration { return &c.DBConnectTimeout })},
		{"DB_STATEMENT_TIMEOUT", "30s", "PostgreSQL's statement_timeout for this instance's statements", durationSetter(func(c *Config) *time.Duration { return &c.DBStatementTimeout })},
		{"REDIS_URL", "", "Redis for rate limits, strikes and IP blocks shared by every instance, such as redis://:secret@cache:6379/0 (empty: kept in this process)", func(c *Config, v string) error {
			if v != "" {
				if err := serviceURL(v, []string{"redis", "rediss"}, "redis://:password@host:6379/0"); err != nil {
					return err
				}
			}
			c.RedisURL = Secret(v)
			return nil
		}},
		{"MODEL_SYNC_INTERVAL", "1s", "with DATABASE_URL, how often an instance polls the activation history and makes live a version another instance activated (a switch reaches every instance within this and a load)", durationSetter(func(c *Config) *time.Duration { return &c.ModelSyncInterval })},
		{"REDIS_POOL_SIZE", "10", "most Redis connections this instance opens", intSetter(1, 10_000, func(c *Config) *int { return &c.RedisPoolSize })},
	}
}

// MinAdminKeyLength is the shortest ADMIN_API_KEY accepted.
const MinAdminKeyLength = 16

func prefixSetter(field func(c *Config) *[]netip.Prefix) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []netip.Prefix
		for _, item := range splitList(v) {
			if strings.Contains(item, "/") {
				p, err := netip.ParsePrefix(item)
				if err != nil {
					return fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or an address", item)
				}
				out = append(out, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(item)
			if err != nil {
				return fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or an address", item)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
		*field(c) = out
		return nil
	}
}

func boolSetter(field func(c *Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		*field(c) = b
		return nil
	}
}

func intSetter(lo, hi int, field func(c *Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
		}
		*field(c) = n
		return nil
	}
}

func durationSetter(field func(c *Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 24*time.Hour {
			return errors.New("must be a duration from 1ms to 24h, such as 15s or 2m")
		}
		*field(c) = d
		return nil
	}
}

// Load builds the configuration: defaults, then the environment (through getenv), then flags in
// args, which override the environment. It checks every value, that MODEL_PATH is an existing
// directory and that API_KEYS_FILE, when set, is a valid keys file. A bad value returns a *Error; --help returns flag.ErrHelp after printing usage to
// usageOut.
func Load(args []string, getenv func(string) string, usageOut io.Writer) (Config, error) {
	var c Config
	all := settings()
	for _, s := range all {
		if err := s.set(&c, s.def); err != nil {
			panic(fmt.Sprintf("config: default of %s is invalid: %v", s.env, err))
		}
	}
	for _, s := range all {
		v, ok := lookup(getenv, s.env)
		if !ok {
			continue
		}
		if err := s.set(&c, v); err != nil {
			return Config{}, &Error{Setting: s.env, Value: s.shown(v), Allowed: err.Error()}
		}
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	var flagErr *Error
	for _, s := range all {
		s := s
		if s.secret() {
			continue // a flag's value shows in the process list
		}
		fs.Func(s.flagName(), fmt.Sprintf("%s (env %s, default %q)", s.usage, s.env, s.def), func(v string) error {
			if err := s.set(&c, v); err != nil {
				flagErr = &Error{Setting: "--" + s.flagName(), Value: v, Allowed: err.Error()}
				return flagErr
			}
			return nil
		})
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: fraudguard serve [flags]\n\nRun the HTTP scoring service. Every flag can also be set through its environment variable; flags win.\n\nflags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\nenvironment only:\n")
		for _, s := range all {
			if s.secret() {
				fmt.Fprintf(fs.Output(), "  %s\n    \t%s\n", s.env, s.usage)
			}
		}
	}
	if err := fs.Parse(args); err != nil {
		if flagErr != nil {
			return Config{}, flagErr
		}
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, &Error{Setting: "arguments", Value: fs.Arg(0), Allowed: "serve takes flags only"}
	}
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// validate checks what depends on the machine or on several settings.
func (c *Config) validate() error {
	st, err := os.Stat(c.ModelPath)
	if err != nil || !st.IsDir() {
		return &Error{Setting: "MODEL_PATH", Value: c.ModelPath, Allowed: "must be an existing directory holding model bundles"}
	}
	if c.ShadowModelVersion != "" && c.ChallengerModelVersion != "" {
		return &Error{Setting: "SHADOW_MODEL_VERSION", Value: c.ShadowModelVersion, Allowed: "SHADOW_MODEL_VERSION and CHALLENGER_MODEL_VERSION cannot both be set: /models/compare compares the live model with one other"}
	}
	if c.ChallengerShare > 0 && c.ChallengerModelVersion == "" {
		return &Error{Setting: "CHALLENGER_SHARE", Value: strconv.Itoa(c.ChallengerShare), Allowed: "needs CHALLENGER_MODEL_VERSION"}
	}
	// The keys file's content is checked by serve, which loads it before binding the port;
	// here only that it is there.
	if c.APIKeysFile != "" {
		ext := strings.ToLower(filepath.Ext(c.APIKeysFile))
		if ext != ".yaml" && ext != ".yml" && ext != ".json" {
			return &Error{Setting: "API_KEYS_FILE", Value: c.APIKeysFile, Allowed: "must end in .yaml, .yml or .json"}
		}
		if st, err := os.Stat(c.APIKeysFile); err != nil || !st.Mode().IsRegular() {
			return &Error{Setting: "API_KEYS_FILE", Value: c.APIKeysFile, Allowed: "must be an existing keys file (no such file)"}
		}
	}
	if c.DBMinConns > c.DBMaxConns {
		return &Error{Setting: "DB_MIN_CONNS", Value: strconv.Itoa(c.DBMinConns), Allowed: fmt.Sprintf("must not be more than DB_MAX_CONNS (%d)", c.DBMaxConns)}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return &Error{Setting: "TLS_CERT_FILE", Value: c.TLSCertFile, Allowed: "TLS_CERT_FILE and TLS_KEY_FILE must be set together"}
	}
	for _, f := range []struct{ name, path string }{{"TLS_CERT_FILE", c.TLSCertFile}, {"TLS_KEY_FILE", c.TLSKeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return &Error{Setting: f.name, Value: f.path, Allowed: "must be an existing PEM file"}
		}
	}
	return nil
}

// Addr returns the listen address host:port.
func (c *Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// LogAttrs returns the effective configuration as log attributes, for the start-up log line.
// Secrets show only whether they are set.
func (c *Config) LogAttrs() []slog.Attr {
	return []slog.Attr{
		slog.String("api_host", c.Host),
		slog.Int("api_port", c.Port),
		slog.String("model_path", c.ModelPath),
		slog.String("model_version", c.ModelVersion),
		slog.String("data_dir", c.DataDir),
		slog.Int("rate_limit_per_minute", c.RateLimitPerMinute),
		slog.Any("allowed_hosts", c.AllowedHosts),
		slog.Any("cors_allowed_origins", c.CORSAllowedOrigins),
		slog.Bool("enable_model_caching", c.EnableModelCaching),
		slog.Bool("model_watch", c.ModelWatch),
		slog.Duration("model_watch_interval", c.ModelWatchInterval),
		slog.String("shadow_model_version", c.ShadowModelVersion),
		slog.String("challenger_model_version", c.ChallengerModelVersion),
		slog.Int("challenger_share", c.ChallengerShare),
		slog.Int("max_batch_size", c.MaxBatchSize),
		slog.Int64("max_body_bytes", c.MaxBodyBytes),
		slog.Int64("max_batch_body_bytes", c.MaxBatchBodyBytes),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
		slog.String("log_file", c.LogFile),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Duration("read_header_timeout", c.ReadHeaderTimeout),
		slog.Duration("read_timeout", c.ReadTimeout),
		slog.Duration("write_timeout", c.WriteTimeout),
		slog.Duration("idle_timeout", c.IdleTimeout),
		slog.String("api_keys_file", c.APIKeysFile),
		slog.String("admin_api_key", c.AdminAPIKey.String()),
		slog.Int("rate_limit_burst", c.RateLimitBurst),
		slog.Any("trusted_proxies", prefixStrings(c.TrustedProxies)),
		slog.String("security_mode", c.SecurityMode),
		slog.String("security_engine", c.SecurityEngine),
		slog.Int("block_threshold", c.BlockThreshold),
		slog.Duration("block_window", c.BlockWindow),
		slog.Duration("block_duration", c.BlockDuration),
		slog.Any("ip_allowlist", prefixStrings(c.IPAllowlist)),
		slog.Any("ip_blocklist", prefixStrings(c.IPBlocklist)),
		slog.Bool("metrics_public", c.MetricsPublic),
		slog.Bool("pprof", c.Pprof),
		slog.String("tls_cert_file", c.TLSCertFile),
		slog.String("tls_key_file", c.TLSKeyFile),
		slog.Bool("https_only", c.HTTPSOnly),
		slog.Int("audit_retention_days", c.AuditRetentionDays),
		slog.Bool("decision_log", c.DecisionLog),
		slog.String("decision_writer", c.DecisionWriter),
		slog.Int("decision_retention_days", c.DecisionRetentionDays),
		slog.Duration("drift_interval", c.DriftInterval),
		slog.Duration("drift_window", c.DriftWindow),
		slog.Int("log_max_size_mb", c.LogMaxSizeMB),
		slog.Int("log_max_files", c.LogMaxFiles),
		slog.String("otel_exporter_otlp_endpoint", c.OTLPEndpoint),
		slog.String("otel_service_name", c.OTelServiceName),
		slog.Duration("health_check_interval", c.HealthCheckInterval),
		slog.Int("batch_job_max_rows", c.BatchJobMaxRows),
		slog.Int64("batch_job_max_bytes", c.BatchJobMaxBytes),
		slog.Int("batch_workers", c.BatchWorkers),
		slog.Int("batch_max_concurrent_jobs", c.BatchMaxConcurrentJobs),
		slog.Duration("batch_result_ttl", c.BatchResultTTL),
		slog.Int("batch_chunk_rows", c.BatchChunkRows),
		slog.Duration("batch_lease", c.BatchLease),
		slog.String("database_url", RedactURL(c.DatabaseURL.Reveal())),
		slog.Int("db_max_conns", c.DBMaxConns),
		slog.Int("db_min_conns", c.DBMinConns),
		slog.Duration("db_connect_timeout", c.DBConnectTimeout),
		slog.Duration("db_statement_timeout", c.DBStatementTimeout),
		slog.String("redis_url", RedactURL(c.RedisURL.Reveal())),
		slog.Int("redis_pool_size", c.RedisPoolSize),
		slog.Duration("model_sync_interval", c.ModelSyncInterval),
	}
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// ParseBytes parses a size: a whole number of bytes, or one with a KiB, MiB or GiB suffix.
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
