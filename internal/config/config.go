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
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/security"
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
	MaxBatchSize       int
	MaxBodyBytes       int64
	LogLevel           slog.Level
	LogFormat          string
	LogFile            string
	ShutdownTimeout    time.Duration
	ReadHeaderTimeout  time.Duration
	ReadTimeout        time.Duration
	WriteTimeout       time.Duration
	IdleTimeout        time.Duration
	// APIKeysFile is the YAML or JSON file of API keys; empty means none.
	APIKeysFile string
	// AdminAPIKey is the admin key given in the environment; empty means the key generated into
	// DATA_DIR/admin.key.
	AdminAPIKey Secret
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
func (s setting) secret() bool { return s.env == "ADMIN_API_KEY" }

// shown is v as an error may quote it.
func (s setting) shown(v string) string {
	if s.secret() {
		return "(hidden)"
	}
	return v
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
		{"ENABLE_MODEL_CACHING", "true", "kept for compatibility: the parsed model is always held in memory; false only logs a warning", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("must be true or false")
			}
			c.EnableModelCaching = b
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
			if v != "" && len(v) < security.MinAdminKeyLength {
				return fmt.Errorf("must be at least %d characters (or empty, to use a generated key in DATA_DIR/admin.key)", security.MinAdminKeyLength)
			}
			c.AdminAPIKey = Secret(v)
			return nil
		}},
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
	// The keys file is checked by the code that will load it, so a start-up with a broken file
	// fails here with one line. (config imports security for this; security takes its settings
	// as arguments and must never import config.)
	if c.APIKeysFile != "" {
		if _, err := security.LoadKeys(c.APIKeysFile); err != nil {
			return &Error{Setting: "API_KEYS_FILE", Value: c.APIKeysFile, Allowed: "must be a readable, valid keys file: " + keysProblem(err, c.APIKeysFile)}
		}
	}
	return nil
}

// keysProblem is LoadKeys's error without the file name it starts with, which Error already
// shows as the value.
func keysProblem(err error, path string) string {
	msg := err.Error()
	for _, prefix := range []string{fmt.Sprintf("keys file %q: ", path), "keys file: "} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			return rest
		}
	}
	return msg
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
		slog.Int("max_batch_size", c.MaxBatchSize),
		slog.Int64("max_body_bytes", c.MaxBodyBytes),
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
	}
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
