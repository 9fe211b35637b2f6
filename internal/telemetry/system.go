package telemetry

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"

	"github.com/fraudguard/fraudguard/wire"
)

// SystemSampler samples the host and the process in the background, so that /health reads a
// recent figure instead of measuring on each request.
type SystemSampler struct {
	diskPath string
	interval time.Duration
	logger   *slog.Logger
	proc     *process.Process
	latest   atomic.Pointer[wire.SystemInfo]
}

// NewSystemSampler samples the file system holding diskPath every interval. It takes a first
// sample before returning.
func NewSystemSampler(logger *slog.Logger, diskPath string, interval time.Duration) *SystemSampler {
	s := &SystemSampler{diskPath: diskPath, interval: interval, logger: logger.With(slog.String("component", "sampler"))}
	if p, err := process.NewProcess(int32(os.Getpid())); err == nil {
		s.proc = p
	}
	cpu.Percent(0, false) // prime the CPU counter: the next call measures from here
	s.sample(context.Background())
	return s
}

// Run samples until ctx is done.
func (s *SystemSampler) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.sample(ctx)
		}
	}
}

// System returns the latest sample.
func (s *SystemSampler) System() wire.SystemInfo { return *s.latest.Load() }

func (s *SystemSampler) sample(ctx context.Context) {
	info := wire.SystemInfo{Goroutines: runtime.NumGoroutine(), SampledAt: time.Now().UTC()}
	if v, err := cpu.PercentWithContext(ctx, 0, false); err == nil && len(v) == 1 {
		info.CPUPercent = round2(v[0])
	}
	if vm, err := mem.VirtualMemoryWithContext(ctx); err == nil {
		info.MemoryPercent = round2(vm.UsedPercent)
	}
	if du, err := disk.UsageWithContext(ctx, s.diskPath); err == nil {
		info.DiskUsagePercent = round2(du.UsedPercent)
	} else {
		s.logger.Debug("disk usage", slog.String("path", s.diskPath), slog.String("error", err.Error()))
	}
	if s.proc != nil {
		if mi, err := s.proc.MemoryInfoWithContext(ctx); err == nil {
			info.RSSBytes = mi.RSS
		}
	}
	s.latest.Store(&info)
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
