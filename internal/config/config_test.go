package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(nil, env(map[string]string{"MODEL_PATH": dir}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"host", c.Host, "0.0.0.0"},
		{"port", c.Port, 8000},
		{"data dir", c.DataDir, "data/"},
		{"rate limit", c.RateLimitPerMinute, 100},
		{"allowed hosts", strings.Join(c.AllowedHosts, ","), "*"},
		{"cors", len(c.CORSAllowedOrigins), 0},
		{"caching", c.EnableModelCaching, true},
		{"batch", c.MaxBatchSize, 1000},
		{"body", c.MaxBodyBytes, int64(64 << 10)},
		{"level", c.LogLevel, slog.LevelInfo},
		{"format", c.LogFormat, "json"},
		{"file", c.LogFile, ""},
		{"shutdown", c.ShutdownTimeout, 15 * time.Second},
		{"audit retention", c.AuditRetentionDays, 90},
		{"decision log", c.DecisionLog, true},
		{"decision writer", c.DecisionWriter, "process"},
		{"decision retention", c.DecisionRetentionDays, 30},
		{"drift interval", c.DriftInterval, 5 * time.Minute},
		{"drift window", c.DriftWindow, time.Hour},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	dir := t.TempDir()
	c, err := Load([]string{"--api-port=9001", "--log-format", "text"},
		env(map[string]string{"MODEL_PATH": dir, "API_PORT": "9000", "LOG_FORMAT": "json", "LOG_LEVEL": "debug",
			"CORS_ALLOWED_ORIGINS": "https://a.example, http://b.example:8080", "MAX_BODY_BYTES": "1MiB"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9001 || c.LogFormat != "text" || c.LogLevel != slog.LevelDebug || len(c.CORSAllowedOrigins) != 2 || c.MaxBodyBytes != 1<<20 {
		t.Errorf("got port %d format %s level %v cors %v body %d; want 9001 text DEBUG 2 origins 1MiB",
			c.Port, c.LogFormat, c.LogLevel, c.CORSAllowedOrigins, c.MaxBodyBytes)
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		setting string
	}{
		{"port not a number", map[string]string{"API_PORT": "eighty"}, nil, "API_PORT"},
		{"port too big", map[string]string{"API_PORT": "70000"}, nil, "API_PORT"},
		{"log format", map[string]string{"LOG_FORMAT": "xml"}, nil, "LOG_FORMAT"},
		{"log level", map[string]string{"LOG_LEVEL": "LOUD"}, nil, "LOG_LEVEL"},
		{"model path missing", map[string]string{"MODEL_PATH": dir + "/nope"}, nil, "MODEL_PATH"},
		{"rate limit negative", map[string]string{"RATE_LIMIT_PER_MINUTE": "-1"}, nil, "RATE_LIMIT_PER_MINUTE"},
		{"batch zero", map[string]string{"MAX_BATCH_SIZE": "0"}, nil, "MAX_BATCH_SIZE"},
		{"body size", map[string]string{"MAX_BODY_BYTES": "lots"}, nil, "MAX_BODY_BYTES"},
		{"shutdown", map[string]string{"SHUTDOWN_TIMEOUT": "15"}, nil, "SHUTDOWN_TIMEOUT"},
		{"caching", map[string]string{"ENABLE_MODEL_CACHING": "maybe"}, nil, "ENABLE_MODEL_CACHING"},
		{"model watch", map[string]string{"MODEL_WATCH": "often"}, nil, "MODEL_WATCH"},
		{"model watch interval", map[string]string{"MODEL_WATCH_INTERVAL": "5"}, nil, "MODEL_WATCH_INTERVAL"},
		{"challenger share too big", map[string]string{"CHALLENGER_SHARE": "101", "CHALLENGER_MODEL_VERSION": "v2"}, nil, "CHALLENGER_SHARE"},
		{"challenger share without a challenger", map[string]string{"CHALLENGER_SHARE": "10"}, nil, "CHALLENGER_SHARE"},
		{"shadow and challenger", map[string]string{"SHADOW_MODEL_VERSION": "v1", "CHALLENGER_MODEL_VERSION": "v2"}, nil, "SHADOW_MODEL_VERSION"},
		{"cors origin", map[string]string{"CORS_ALLOWED_ORIGINS": "example.com"}, nil, "CORS_ALLOWED_ORIGINS"},
		{"allowed hosts", map[string]string{"ALLOWED_HOSTS": "bad host"}, nil, "ALLOWED_HOSTS"},
		{"flag", nil, []string{"--api-port=x"}, "--api-port"},
		{"audit retention negative", map[string]string{"AUDIT_RETENTION_DAYS": "-1"}, nil, "AUDIT_RETENTION_DAYS"},
		{"audit retention too long", map[string]string{"AUDIT_RETENTION_DAYS": "36501"}, nil, "AUDIT_RETENTION_DAYS"},
		{"audit retention not days", map[string]string{"AUDIT_RETENTION_DAYS": "90d"}, nil, "AUDIT_RETENTION_DAYS"},
		{"decision log", map[string]string{"DECISION_LOG": "sometimes"}, nil, "DECISION_LOG"},
		{"decision writer", map[string]string{"DECISION_WRITER": "thread"}, nil, "DECISION_WRITER"},
		{"drift interval zero", map[string]string{"DRIFT_INTERVAL": "0s"}, nil, "DRIFT_INTERVAL"},
		{"drift window not a duration", map[string]string{"DRIFT_WINDOW": "1 day"}, nil, "DRIFT_WINDOW"},
		{"decision retention negative", map[string]string{"DECISION_RETENTION_DAYS": "-1"}, nil, "DECISION_RETENTION_DAYS"},
		{"decision retention not days", map[string]string{"DECISION_RETENTION_DAYS": "30d"}, nil, "DECISION_RETENTION_DAYS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := map[string]string{"MODEL_PATH": dir}
			for k, v := range tc.env {
				e[k] = v
			}
			_, err := Load(tc.args, env(e), io.Discard)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *config.Error", err)
			}
			if ce.Setting != tc.setting {
				t.Errorf("got setting %q, want %q", ce.Setting, tc.setting)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tc.setting) {
				t.Errorf("got message %q, want one line naming %s", msg, tc.setting)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out strings.Builder
	_, err := Load([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("got %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-api-port", "API_PORT", "-shutdown-timeout", "SHUTDOWN_TIMEOUT"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{{"65536", 65536, true}, {"64KiB", 65536, true}, {"4MiB", 4 << 20, true}, {"1GiB", 1 << 30, true}, {"12B", 12, true}, {"-1", 0, false}, {"x", 0, false}, {"1.5MiB", 0, false}}
	for _, tc := range tests {
		got, err := ParseBytes(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseBytes(%q): got %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestAPIKeysFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("keys.yaml", "keys:\n  - name: checkout\n    sha256: "+strings.Repeat("ab", 32)+"\n    scopes: [predict]\n")
	tests := []struct {
		name    string
		file    string
		wantErr string // empty: valid
	}{
		{"unset", "", ""},
		{"valid", good, ""},
		{"missing", filepath.Join(dir, "none.yaml"), "no such file"},
		{"bad extension", write("keys.txt", ""), "must end in .yaml, .yml or .json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(nil, env(map[string]string{"MODEL_PATH": dir, "API_KEYS_FILE": tc.file}), io.Discard)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.APIKeysFile != tc.file {
					t.Errorf("APIKeysFile: got %q, want %q", c.APIKeysFile, tc.file)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Setting != "API_KEYS_FILE" {
				t.Fatalf("got %v, want a *config.Error for API_KEYS_FILE", err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, tc.wantErr) {
				t.Errorf("got %q, want one line containing %q", msg, tc.wantErr)
			}
		})
	}
	// The flag works too.
	c, err := Load([]string{"--api-keys-file", good}, env(map[string]string{"MODEL_PATH": dir}), io.Discard)
	if err != nil || c.APIKeysFile != good {
		t.Errorf("--api-keys-file: got %q, %v; want %q", c.APIKeysFile, err, good)
	}
}

func TestAdminAPIKeyIsNeverShown(t *testing.T) {
	dir := t.TempDir()
	const key = "s3cret-admin-key-0123456789"
	c, err := Load(nil, env(map[string]string{"MODEL_PATH": dir, "ADMIN_API_KEY": key}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminAPIKey.Reveal() != key {
		t.Errorf("Reveal: got %q, want the key", c.AdminAPIKey.Reveal())
	}

	// Not in the start-up log line, whatever the handler.
	var logs strings.Builder
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		slog.New(h).LogAttrs(context.Background(), slog.LevelInfo, "configuration", c.LogAttrs()...)
		slog.New(h).Info("config", "cfg", c, "key", c.AdminAPIKey)
	}
	// Nor when the whole Config is printed.
	printed := logs.String() + fmt.Sprintf("%v %+v %#v %s", c, c, c, c.AdminAPIKey)
	if strings.Contains(printed, key) {
		t.Errorf("the admin key was shown:\n%s", printed)
	}
	if !strings.Contains(logs.String(), `"admin_api_key":"(set)"`) {
		t.Errorf("log: want admin_api_key (set) in:\n%s", logs.String())
	}

	c, err = Load(nil, env(map[string]string{"MODEL_PATH": dir}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var attr string
	for _, a := range c.LogAttrs() {
		if a.Key == "admin_api_key" {
			attr = a.Value.String()
		}
	}
	if c.AdminAPIKey != "" || attr != "(unset)" {
		t.Errorf("unset: got %q, logged %q; want empty, (unset)", c.AdminAPIKey.Reveal(), attr)
	}
}

func TestAdminAPIKeyRules(t *testing.T) {
	dir := t.TempDir()
	const short = "too-short-key"
	_, err := Load(nil, env(map[string]string{"MODEL_PATH": dir, "ADMIN_API_KEY": short}), io.Discard)
	var ce *Error
	if !errors.As(err, &ce) || ce.Setting != "ADMIN_API_KEY" {
		t.Fatalf("got %v, want a *config.Error for ADMIN_API_KEY", err)
	}
	if msg := err.Error(); strings.Contains(msg, short) || !strings.Contains(msg, "at least 16 characters") {
		t.Errorf("got %q, want the rule and not the key", msg)
	}
	// Secrets are not flags: a command line shows in the process list.
	_, err = Load([]string{"--admin-api-key", "a-long-enough-admin-key"}, env(map[string]string{"MODEL_PATH": dir}), io.Discard)
	if err == nil {
		t.Errorf("--admin-api-key: got nil, want an unknown-flag error")
	}
	var out strings.Builder
	if _, err := Load([]string{"--help"}, env(nil), &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ADMIN_API_KEY") || strings.Contains(out.String(), "-admin-api-key") {
		t.Errorf("usage: want ADMIN_API_KEY listed as environment only:\n%s", out.String())
	}
}

func TestBatchSettings(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(nil, env(map[string]string{"MODEL_PATH": dir}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.BatchJobMaxRows != 5_000_000 || c.BatchJobMaxBytes != 1<<30 || c.BatchWorkers != 0 || c.BatchMaxConcurrentJobs != 2 ||
		c.BatchResultTTL != 24*time.Hour || c.BatchChunkRows != 10_000 {
		t.Errorf("defaults: got rows %d, bytes %d, workers %d, jobs %d, ttl %v, chunk %d; want 5000000, 1GiB, 0, 2, 24h, 10000",
			c.BatchJobMaxRows, c.BatchJobMaxBytes, c.BatchWorkers, c.BatchMaxConcurrentJobs, c.BatchResultTTL, c.BatchChunkRows)
	}
	c, err = Load([]string{"--batch-workers", "1", "--batch-result-ttl", "72h"}, env(map[string]string{"MODEL_PATH": dir,
		"BATCH_JOB_MAX_ROWS": "300000", "BATCH_JOB_MAX_BYTES": "256MiB", "BATCH_MAX_CONCURRENT_JOBS": "4", "BATCH_CHUNK_ROWS": "2000"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.BatchJobMaxRows != 300_000 || c.BatchJobMaxBytes != 256<<20 || c.BatchWorkers != 1 || c.BatchMaxConcurrentJobs != 4 ||
		c.BatchResultTTL != 72*time.Hour || c.BatchChunkRows != 2000 {
		t.Errorf("set: got %+v", c)
	}
	tests := []struct{ setting, value string }{
		{"BATCH_JOB_MAX_ROWS", "0"},
		{"BATCH_JOB_MAX_BYTES", "100"},
		{"BATCH_JOB_MAX_BYTES", "1TiB"},
		{"BATCH_WORKERS", "-1"},
		{"BATCH_MAX_CONCURRENT_JOBS", "0"},
		{"BATCH_RESULT_TTL", "10s"},
		{"BATCH_RESULT_TTL", "forever"},
		{"BATCH_CHUNK_ROWS", "10"},
	}
	for _, tc := range tests {
		_, err := Load(nil, env(map[string]string{"MODEL_PATH": dir, tc.setting: tc.value}), io.Discard)
		var ce *Error
		if !errors.As(err, &ce) || ce.Setting != tc.setting || ce.Value != tc.value {
			t.Errorf("%s=%s: got %v, want a *config.Error naming it", tc.setting, tc.value, err)
		}
	}
}

func TestAuditRetention(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		env, flag string
		want      int
	}{{"0", "", 0}, {"365", "", 365}, {"30", "7", 7}} {
		var args []string
		if tc.flag != "" {
			args = []string{"--audit-retention-days", tc.flag}
		}
		c, err := Load(args, env(map[string]string{"MODEL_PATH": dir, "AUDIT_RETENTION_DAYS": tc.env}), io.Discard)
		if err != nil {
			t.Fatalf("AUDIT_RETENTION_DAYS=%s %v: %v", tc.env, args, err)
		}
		if c.AuditRetentionDays != tc.want {
			t.Errorf("AUDIT_RETENTION_DAYS=%s %v: got %d, want %d", tc.env, args, c.AuditRetentionDays, tc.want)
		}
	}
	_, err := Load(nil, env(map[string]string{"MODEL_PATH": dir, "AUDIT_RETENTION_DAYS": "-1"}), io.Discard)
	if want := "must be a whole number from 0 to 36500"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error saying %q", err, want)
	}
}

func TestScaleOutSettings(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(nil, env(map[string]string{"MODEL_PATH": dir}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "" || c.RedisURL != "" || c.DBMaxConns != 10 || c.DBMinConns != 1 || c.RedisPoolSize != 10 ||
		c.DBConnectTimeout != 5*time.Second || c.DBStatementTimeout != 30*time.Second || c.BatchLease != 2*time.Minute {
		t.Errorf("defaults: got %+v", c)
	}
	const pw = "pg-pass-word-1234"
	c, err = Load(nil, env(map[string]string{"MODEL_PATH": dir,
		"DATABASE_URL": "postgres://fg:" + pw + "@127.0.0.1:5432/fg?sslmode=disable", "DB_MAX_CONNS": "20", "DB_MIN_CONNS": "4",
		"REDIS_URL": "redis://:" + pw + "@127.0.0.1:6379/0", "REDIS_POOL_SIZE": "30", "BATCH_LEASE": "5s"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.DBMaxConns != 20 || c.DBMinConns != 4 || c.RedisPoolSize != 30 || c.BatchLease != 5*time.Second ||
		!strings.HasPrefix(c.DatabaseURL.Reveal(), "postgres://fg:") || !strings.HasPrefix(c.RedisURL.Reveal(), "redis://") {
		t.Errorf("set: got %+v", c)
	}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).LogAttrs(context.Background(), slog.LevelInfo, "configuration", c.LogAttrs()...)
	if strings.Contains(logs.String(), pw) || !strings.Contains(logs.String(), "127.0.0.1:5432") {
		t.Errorf("log: want the URLs without their password:\n%s", logs.String())
	}

	for _, tc := range []struct {
		name, setting, value, want string
	}{
		{"database scheme", "DATABASE_URL", "mysql://u:" + pw + "@db/x", "postgres:// or postgresql://"},
		{"database host", "DATABASE_URL", "postgres:///x", "must name a host"},
		{"database port", "DATABASE_URL", "postgres://u:" + pw + "@db:99999/x", "from 1 to 65535"},
		{"database garbage", "DATABASE_URL", "postgres://u:" + pw + "@db:5432/x%zz", "must be a URL"},
		{"redis scheme", "REDIS_URL", "http://cache:6379", "redis:// or rediss://"},
		{"redis port", "REDIS_URL", "redis://cache:port", "must be a URL"},
		{"pool", "REDIS_POOL_SIZE", "0", "from 1 to 10000"},
		{"min above max", "DB_MIN_CONNS", "50", "must not be more than DB_MAX_CONNS"},
		{"lease", "BATCH_LEASE", "100ms", "from 1s to 1h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(nil, env(map[string]string{"MODEL_PATH": dir, tc.setting: tc.value}), io.Discard)
			var ce *Error
			if !errors.As(err, &ce) || ce.Setting != tc.setting {
				t.Fatalf("got %v, want a *config.Error for %s", err, tc.setting)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, pw) {
				t.Errorf("got %q, want %q in it and no password", msg, tc.want)
			}
		})
	}
	// URLs hold passwords: they are not flags.
	if _, err := Load([]string{"--database-url", "postgres://db/x"}, env(map[string]string{"MODEL_PATH": dir}), io.Discard); err == nil {
		t.Errorf("--database-url: got nil, want an unknown-flag error")
	}
}
