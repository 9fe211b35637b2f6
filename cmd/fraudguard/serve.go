package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fraudguard/fraudguard/internal/api"
	"github.com/fraudguard/fraudguard/internal/config"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/telemetry"
)

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

	logger, logw, err := telemetry.NewLogger(telemetry.LogOptions{Level: cfg.LogLevel, Format: cfg.LogFormat, File: cfg.LogFile, Stdout: stdout})
	if err != nil {
		return usageError{&config.Error{Setting: "LOG_FILE", Value: cfg.LogFile, Allowed: "must be a file that can be opened for appending: " + err.Error()}}
	}
	defer logw.Close()
	log := logger.With(slog.String("component", "serve"))
	log.LogAttrs(ctx, slog.LevelInfo, "configuration", cfg.LogAttrs()...)
	if !cfg.EnableModelCaching {
		log.Warn("ENABLE_MODEL_CACHING=false has no effect: the parsed model is always held in memory")
	}

	registry := model.NewRegistry()
	m, err := model.LoadLatest(cfg.ModelPath, cfg.ModelVersion)
	if err != nil {
		log.Error("model load failed", slog.String("error", err.Error()))
		return fmt.Errorf("load model: %w", err)
	}
	registry.Store(m)
	log.Info("model loaded", slog.String("version", m.Version()), slog.String("kind", m.Manifest.Kind),
		slog.String("dir", m.Dir), slog.String("sha256", m.SHA256))

	sampler := telemetry.NewSystemSampler(logger, cfg.DataDir, systemSampleInterval)
	handler, err := api.NewServer(logger, api.Options{
		Version:            version,
		MaxBodyBytes:       cfg.MaxBodyBytes,
		AllowedHosts:       cfg.AllowedHosts,
		CORSAllowedOrigins: cfg.CORSAllowedOrigins,
	}, registry, sampler)
	if err != nil {
		return fmt.Errorf("build API: %w", err)
	}

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
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("version", version))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	g.Go(func() error { return sampler.Run(gctx) })
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down", slog.Duration("timeout", cfg.ShutdownTimeout))
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		log.Info("stopped")
		return nil
	})
	return g.Wait()
}
