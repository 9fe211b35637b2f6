package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/fraudguard/fraudguard/internal/api"
	"github.com/fraudguard/fraudguard/internal/batch"
	"github.com/fraudguard/fraudguard/internal/breaker"
	"github.com/fraudguard/fraudguard/internal/compare"
	"github.com/fraudguard/fraudguard/internal/config"
	"github.com/fraudguard/fraudguard/internal/decision"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/ratelimit"
	"github.com/fraudguard/fraudguard/internal/security/apikey"
	"github.com/fraudguard/fraudguard/internal/security/audit"
	"github.com/fraudguard/fraudguard/internal/security/block"
	"github.com/fraudguard/fraudguard/internal/security/detect"
	"github.com/fraudguard/fraudguard/internal/store/postgres"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
	"github.com/fraudguard/fraudguard/internal/telemetry"
	"github.com/fraudguard/fraudguard/internal/txjson"
)

// serveStore is what serve needs of a store: jobs, the audit log, a health check and Close.
type serveStore interface {
	fraud.JobStore
	fraud.AuditLog
	fraud.ModelHistory
	fraud.DecisionLog
	Ping(ctx context.Context) error
	Close() error
}

// openStore opens PostgreSQL when DATABASE_URL is set, shared with other instances, and the
// embedded SQLite file in DATA_DIR otherwise. A URL the driver cannot parse is a usage error.
func openStore(ctx context.Context, cfg config.Config) (serveStore, bool, error) {
	url := cfg.DatabaseURL.Reveal()
	if url == "" {
		s, err := sqlite.Open(ctx, sqlitePath(cfg), sqlite.Options{})
		if err != nil {
			return nil, false, fmt.Errorf("open store: %w", err)
		}
		return s, false, nil
	}
	if err := postgres.ParseURL(url); err != nil {
		return nil, false, usageError{&config.Error{Setting: "DATABASE_URL", Value: config.RedactURL(url), Allowed: err.Error()}}
	}
	s, err := postgres.Open(ctx, url, postgres.Options{
		MaxConns: int32(cfg.DBMaxConns), MinConns: int32(cfg.DBMinConns),
		ConnectTimeout: cfg.DBConnectTimeout, StatementTimeout: cfg.DBStatementTimeout,
	})
	if err != nil {
		return nil, false, fmt.Errorf("open store: %w", err)
	}
	return s, true, nil
}

// sqlitePath is the embedded store's database file.
func sqlitePath(cfg config.Config) string { return filepath.Join(cfg.DataDir, "fraudguard.db") }

// sharedState is what REDIS_URL brings: the rate limiter, and strikes and blocks shared by
// every instance.
type sharedState struct {
	limiter ratelimit.Limiter
	// blocks, gate and fallback go into block.Options; blocks is nil without Redis.
	blocks   block.Shared
	gate     block.Gate
	fallback func(error)
	// check is Redis's health check; nil without Redis.
	check func(context.Context) error
	close func()
}

// openRedis returns the instance's own rate limiter without REDIS_URL. With it, the rate
// limiter, strikes and blocks live in Redis behind one circuit breaker; while Redis is down
// the instance limits, counts and blocks on its own (counted by
// fraudguard_dependency_fallbacks_total). An instance starts even if Redis does not answer
// yet: it works on its own until Redis does.
func openRedis(ctx context.Context, cfg config.Config, metrics *telemetry.Metrics, log *slog.Logger) (sharedState, error) {
	local := ratelimit.NewLocal(time.Now, ratelimit.Memory{})
	url := cfg.RedisURL.Reveal()
	if url == "" {
		return sharedState{limiter: local, close: func() {}}, nil
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return sharedState{}, usageError{&config.Error{Setting: "REDIS_URL", Value: config.RedactURL(url), Allowed: "must be a Redis URL: " + err.Error()}}
	}
	opts.PoolSize = cfg.RedisPoolSize
	// A rate limit decision sits in every request's path: a Redis that does not answer fast
	// is treated as down (the breaker), not waited for.
	opts.DialTimeout = time.Second
	opts.ReadTimeout = 500 * time.Millisecond
	opts.WriteTimeout = 500 * time.Millisecond
	opts.MaxRetries = -1
	client := redis.NewClient(opts)
	b := breaker.New("redis", breaker.Options{Metrics: metrics, OnChange: breakerLog(log), IsFailure: breaker.AnyError})
	if err := client.Ping(ctx).Err(); err != nil {
		log.Warn("redis does not answer; rate limits and blocks are this instance's own until it does", slog.String("error", err.Error()))
	}
	fallback := func(error) { metrics.Fallback("redis") }
	return sharedState{
		limiter: &ratelimit.Fallback{
			Primary:    ratelimit.NewRedis(client, "fraudguard:ratelimit:"),
			Secondary:  local,
			Gate:       b,
			OnFallback: fallback,
		},
		blocks:   block.NewRedis(client, "fraudguard:block:"),
		gate:     b,
		fallback: fallback,
		check: func(ctx context.Context) error {
			return b.Do(func() error { return client.Ping(ctx).Err() })
		},
		close: func() { _ = client.Close() },
	}, nil
}

// followModels makes live, every interval, the version another instance activated, until ctx
// ends. A failure is logged when it starts and when it ends, not at every poll.
func followModels(ctx context.Context, models *model.Manager, interval time.Duration, metrics *telemetry.Metrics, log *slog.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		m, err := models.Follow(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			if err.Error() != failing {
				log.Warn("cannot follow the active model version", slog.String("error", err.Error()))
			}
			failing = err.Error()
			continue
		case err == nil && failing != "":
			log.Info("following the active model version again")
		}
		failing = ""
		if m != nil {
			metrics.SetModel(m.Version(), m.Manifest.Kind)
			log.Info("model switched by another instance", slog.String("version", m.Version()))
		}
	}
}

// breakerLog logs a circuit breaker's changes of state.
func breakerLog(log *slog.Logger) func(string, bool) {
	return func(dep string, open bool) {
		if open {
			log.Warn("circuit breaker open: calls skip the dependency until it answers again", slog.String("dependency", dep))
			return
		}
		log.Info("circuit breaker closed: the dependency answers again", slog.String("dependency", dep))
	}
}

// systemSampleInterval is how often /health's system figures are refreshed.
const systemSampleInterval = 5 * time.Second

func runServe(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return usageError{err}
		}
		if errors.Is(err, errHelp) {
			return errHelp
		}
		return usageError{err}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return usageError{&config.Error{Setting: "DATA_DIR", Value: cfg.DataDir, Allowed: "must be a directory that can be created and written: " + err.Error()}}
	}

	level := new(slog.LevelVar)
	level.Set(cfg.LogLevel)
	logger, logw, err := telemetry.NewLogger(telemetry.LogOptions{Level: level, Format: cfg.LogFormat, File: cfg.LogFile,
		MaxSizeMB: cfg.LogMaxSizeMB, MaxFiles: cfg.LogMaxFiles, Stdout: stdout})
	if err != nil {
		return usageError{&config.Error{Setting: "LOG_FILE", Value: cfg.LogFile, Allowed: "must be a file that can be opened for appending: " + err.Error()}}
	}
	defer logw.Close()
	log := logger.With(slog.String("component", "serve"))
	log.LogAttrs(ctx, slog.LevelInfo, "configuration", cfg.LogAttrs()...)

	keys, err := apikey.NewRing(cfg.APIKeysFile)
	if err != nil {
		return usageError{&config.Error{Setting: "API_KEYS_FILE", Value: cfg.APIKeysFile, Allowed: "must be a valid keys file: " + err.Error()}}
	}
	admin, adminSrc, err := apikey.AdminKey(cfg.AdminAPIKey.Reveal(), cfg.DataDir, nil)
	if err != nil {
		return fmt.Errorf("admin key: %w", err)
	}
	switch {
	case adminSrc.Path == "":
		log.Info("admin key from ADMIN_API_KEY")
	case adminSrc.Generated:
		log.Warn("admin key generated; read it from the file (it is never logged)", slog.String("path", adminSrc.Path))
	default:
		log.Info("admin key read from file", slog.String("path", adminSrc.Path))
	}

	store, sharedDB, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()

	registry := model.NewRegistry()
	models := model.NewManager(registry, model.ManagerOptions{
		Root: cfg.ModelPath, Pinned: cfg.ModelVersion, Cache: cfg.EnableModelCaching, History: store,
	})
	m, err := models.Start(ctx)
	if err != nil {
		log.Error("model load failed", slog.String("error", err.Error()))
		return fmt.Errorf("load model: %w", err)
	}
	log.Info("model loaded", slog.String("version", m.Version()), slog.String("kind", m.Manifest.Kind),
		slog.String("dir", m.Dir), slog.String("sha256", m.SHA256))
	for _, w := range m.Warnings {
		log.Warn("model loaded with a warning", slog.String("version", m.Version()), slog.String("warning", w))
	}

	sampler := telemetry.NewSystemSampler(logger, cfg.DataDir, systemSampleInterval)
	tracing, err := telemetry.NewTracing(ctx, telemetry.TracingOptions{
		Endpoint: cfg.OTLPEndpoint, ServiceName: cfg.OTelServiceName, ServiceVersion: version,
		Logger: logger.With(slog.String("component", "tracing")),
	})
	if err != nil {
		return usageError{&config.Error{Setting: "OTEL_EXPORTER_OTLP_ENDPOINT", Value: cfg.OTLPEndpoint, Allowed: err.Error()}}
	}
	defer func() { // for the returns before the lifecycle runs; a no-op after it flushed
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), api.DefaultFlushTimeout)
		defer cancel()
		_ = tracing.Shutdown(sctx)
	}()

	promReg := prometheus.NewRegistry()
	metrics, err := telemetry.NewMetrics(promReg, telemetry.MetricsOptions{})
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	second, err := secondModel(cfg, models, promReg)
	if err != nil {
		return err
	}
	metrics.SetModel(m.Version(), m.Manifest.Kind)
	metrics.LoadedAtStart()
	metrics.WatchTracing(tracing)
	metrics.WatchLog(logw)

	// On a shared PostgreSQL every call goes through a circuit breaker: while the database is
	// down, job routes answer 503 at once with a retry time and /predict never waits on it.
	var jobStore breaker.Storer = store
	if sharedDB {
		jobStore = breaker.NewStore(store, breaker.New("postgres", breaker.Options{
			Metrics: metrics, OnChange: breakerLog(log),
		}))
	}
	shared, err := openRedis(ctx, cfg, metrics, log)
	if err != nil {
		return err
	}
	defer shared.close()

	detector := detect.New(detect.Options{})
	var uploadDetector txjson.Inspector // uploads are only inspected in block mode
	if cfg.SecurityMode != "detect" {
		uploadDetector = detector
	}
	jobs := batch.New(jobStore, registry, logger, batch.Options{
		Workers:           cfg.BatchWorkers,
		MaxConcurrentJobs: cfg.BatchMaxConcurrentJobs,
		MaxRows:           int64(cfg.BatchJobMaxRows),
		MaxBytes:          cfg.BatchJobMaxBytes,
		ChunkRows:         cfg.BatchChunkRows,
		ResultTTL:         cfg.BatchResultTTL,
		Lease:             cfg.BatchLease,
		Versions:          models,
		Metrics:           metrics,
		Tracer:            tracing.Tracer(),
		Detector:          uploadDetector,
	})
	// This process is the only one working the embedded store's job queue: before it listens,
	// it takes back the chunks and uploads a previous run left when it died. On a shared store
	// the chunks it held could as well be another instance's: their leases expire instead.
	if !sharedDB {
		if err := jobs.Recover(ctx); err != nil {
			return err
		}
	}

	auditor := audit.New(jobStore, logger, time.Now, 4096)
	metrics.WatchAudit(auditor)
	// With the embedded store, a process of its own at the lowest CPU priority writes the
	// decision log (DECISION_WRITER=process), so that the answers never wait for its work.
	var decisionOpts decision.Options
	closeWriter := func(context.Context) error { return nil }
	if !sharedDB && cfg.DecisionLog && cfg.DecisionWriter == "process" {
		w, err := startDecisionWriter(ctx, sqlitePath(cfg), logger)
		if err != nil {
			log.Warn("the decision log is written by the server itself", slog.String("error", err.Error()))
		} else {
			decisionOpts.Recorder, closeWriter = w, w.Close
			metrics.WatchWriterProcess(w)
			defer w.Close(context.Background()) // for the returns before the lifecycle stops it; a no-op after
		}
	}
	decisions := decision.New(jobStore, logger, decisionOpts)
	metrics.WatchDecisions(decisions)
	var recorder api.DecisionRecorder // DECISION_LOG=false records nothing; what is stored stays readable
	if cfg.DecisionLog {
		recorder = decisions
	}
	guard := api.Guard{
		HasKeysFile:   cfg.APIKeysFile != "",
		Keys:          keys,
		Admin:         admin,
		ReloadKeys:    keys.Reload,
		Limiter:       shared.limiter,
		Limit:         ratelimit.Limit{PerMinute: cfg.RateLimitPerMinute, Burst: cfg.RateLimitBurst},
		Detector:      detector,
		DetectOnly:    cfg.SecurityMode == "detect",
		ClientIP:      block.NewClientIPResolver(cfg.TrustedProxies),
		Audit:         auditor,
		MetricsPublic: cfg.MetricsPublic,
		HTTPSOnly:     cfg.HTTPSOnly,
	}
	blockFor := cfg.BlockDuration
	if cfg.BlockThreshold == 0 {
		blockFor = 0 // never block on strikes; the static lists still apply
	}
	guard.Blocker = block.New(time.Now, block.Options{
		Threshold: cfg.BlockThreshold, Window: cfg.BlockWindow, Duration: blockFor,
		Allow: cfg.IPAllowlist, Deny: cfg.IPBlocklist,
		Shared: shared.blocks, Gate: shared.gate, OnFallback: shared.fallback,
	})
	checks := []api.Check{{Name: "store", Probe: jobStore.Ping}}
	if shared.check != nil {
		checks = append(checks, api.Check{Name: "redis", Probe: shared.check})
	}
	handler, err := api.NewServer(logger, api.Options{
		Version:            version,
		MaxBodyBytes:       cfg.MaxBodyBytes,
		MaxBatchSize:       cfg.MaxBatchSize,
		MaxBatchBodyBytes:  cfg.MaxBatchBodyBytes,
		AllowedHosts:       cfg.AllowedHosts,
		CORSAllowedOrigins: cfg.CORSAllowedOrigins,
		Reloader:           models,
		Lifecycle:          models,
		LogLevel:           level,
		Metrics:            metrics,
		MetricsHandler:     metrics.Handler(),
		Tracer:             tracing.Tracer(),
		Propagator:         tracing.Propagator(),
		Checks:             checks,
		Jobs:               jobs,
		Pprof:              cfg.Pprof,
		Compare:            second.compare,
		Shadow:             second.shadow,
		Challenger:         second.challenger,
		ChallengerShare:    cfg.ChallengerShare,
		Decisions:          recorder,
		DecisionStore:      jobStore,
	}, registry, sampler, guard)
	if err != nil {
		return fmt.Errorf("build API: %w", err)
	}

	// SIGHUP reloads the keys and the model (by the same path as the admin routes). It is caught
	// before the port opens: its default action would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.With(slog.String("component", "http")).Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			ln.Close()
			return usageError{&config.Error{Setting: "TLS_CERT_FILE", Value: cfg.TLSCertFile, Allowed: "must be a PEM certificate matching TLS_KEY_FILE: " + err.Error()}}
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	scheme := "http"
	if srv.TLSConfig != nil {
		scheme = "https"
	}
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("scheme", scheme), slog.String("version", version))

	background := []api.Task{
		{Name: "system sampler", Run: sampler.Run},
		{Name: "health checks", Run: func(ctx context.Context) error { return handler.RunHealthChecks(ctx, cfg.HealthCheckInterval) }},
		{Name: "SIGHUP reload", Run: func(ctx context.Context) error { return handler.ReloadOnSignal(ctx, hup) }},
		{Name: "audit retention", Run: func(ctx context.Context) error {
			return auditor.Retain(ctx, time.Duration(cfg.AuditRetentionDays)*24*time.Hour, audit.PurgeInterval)
		}},
		{Name: "drift gauges", Run: func(ctx context.Context) error {
			return handler.RunDriftGauges(ctx, cfg.DriftInterval, cfg.DriftWindow, metrics.SetDrift)
		}},
	}
	if cfg.ModelWatch {
		// A change in MODEL_PATH reloads by the same path as SIGHUP and POST /models/reload.
		background = append(background, api.Task{Name: "model watch", Run: func(ctx context.Context) error {
			return model.Watch(ctx, cfg.ModelPath, cfg.ModelWatchInterval, func(ctx context.Context) {
				if _, err := handler.ReloadModel(ctx, api.TriggerWatch); err != nil {
					log.Warn("reload on a change in MODEL_PATH failed; the old model stays", slog.String("error", err.Error()))
				} else {
					log.Info("reloaded on a change in MODEL_PATH")
				}
			})
		}})
	}
	if sharedDB {
		// Instances sharing PostgreSQL follow each other's switches by polling the
		// activation history (MODEL_SYNC_INTERVAL).
		background = append(background, api.Task{Name: "model follow", Run: func(ctx context.Context) error {
			return followModels(ctx, models, cfg.ModelSyncInterval, metrics, log)
		}})
	}
	if second.compare != nil {
		background = append(background, api.Task{Name: "second scoring", Run: second.compare.Run})
	}
	lc := &api.Lifecycle{
		Server:       srv,
		Listener:     ln,
		DrainTimeout: cfg.ShutdownTimeout,
		Logger:       log,
		Background: append(background, api.Task{Name: "decision retention", Run: func(ctx context.Context) error {
			return decisions.Retain(ctx, time.Duration(cfg.DecisionRetentionDays)*24*time.Hour, decision.PurgeInterval)
		}}),
		Workers: []api.Task{{Name: "batch workers", Run: jobs.Run}},
		Writers: []api.Task{{Name: "audit writer", Run: auditor.Run}, {Name: "decision log writer", Run: decisions.Run}},
		Flush:   []api.Step{{Name: "trace exporter", Do: tracing.Shutdown}},
		Close: []api.Step{{Name: "decision writer process", Do: closeWriter},
			{Name: "store", Do: func(context.Context) error { return store.Close() }}},
	}
	return lc.Run(ctx)
}

// second is the model that scores transactions a second time, and its comparer.
type second struct {
	compare            *compare.Comparer
	shadow, challenger *model.Model
}

// secondModel loads SHADOW_MODEL_VERSION or CHALLENGER_MODEL_VERSION, held in memory beside
// the live model; with neither, there is nothing to compare.
func secondModel(cfg config.Config, models *model.Manager, reg prometheus.Registerer) (second, error) {
	var out second
	version, mode, setting := cfg.ShadowModelVersion, compare.ModeShadow, "SHADOW_MODEL_VERSION"
	if cfg.ChallengerModelVersion != "" {
		version, mode, setting = cfg.ChallengerModelVersion, compare.ModeChallenger, "CHALLENGER_MODEL_VERSION"
	}
	if version == "" {
		return out, nil
	}
	m, err := models.Hold(version)
	if err != nil {
		return out, usageError{&config.Error{Setting: setting, Value: version, Allowed: "must be a model version under MODEL_PATH that loads: " + err.Error()}}
	}
	if out.compare, err = compare.New(reg, compare.Options{Mode: mode}); err != nil {
		return out, fmt.Errorf("comparer: %w", err)
	}
	if mode == compare.ModeChallenger {
		out.challenger = m
	} else {
		out.shadow = m
	}
	return out, nil
}
