// Package decision is the decision log's writer: every answer of /predict and /predict/batch
// is queued without making the request wait, and one goroutine stores the queue in batched
// transactions. It also holds the log's retention and the model quality figures computed from
// labelled decisions.
package decision

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
)

// Defaults of Options.
const (
	DefaultQueueSize     = 16384
	DefaultBatchSize     = 1000
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultRestFactor    = 2
	// ReasonCount is how many reasons a flagged decision keeps.
	ReasonCount = 3
)

// When the writer counts the processors as busy (see Log.giveWay and Log.restFor).
const (
	// waitedLong is how long a goroutine must wait for a processor, once ready to run, to count
	// as kept waiting; on a server with processors to spare it runs within microseconds.
	waitedLong = 100 * time.Microsecond
	// lateShare: one in lateShare of the goroutines made ready during a batch kept waiting.
	lateShare = 10
	// minReady: fewer goroutines counted (the runtime times one wait in eight) are too few to
	// judge by, as in a short batch on a quiet server, where a late one is a thread slow to wake.
	minReady = 32
	// stallShare: some task waited for a CPU one stallShare-th of the batch's time or more.
	stallShare = 4
)

// drainTimeout bounds how long Run goes on storing queued decisions once its context is done.
const drainTimeout = 10 * time.Second

// Explainer explains a score: the live model.
type Explainer interface {
	Explain(x *[fraud.NumFeatures]float64, dst *model.Explanation) error
}

// Options are the optional settings of New.
type Options struct {
	// QueueSize is how many decisions wait for the writer at most; more are dropped.
	QueueSize int
	// BatchSize is the most decisions stored in one transaction.
	BatchSize int
	// FlushInterval is how long a decision waits at most before its batch is stored.
	FlushInterval time.Duration
	// RestFactor is how long the writer rests after a batch during which the processors were
	// busy (see Log.giveWay), as a multiple of the time the batch took from its first decision
	// taken to its commit (at most FlushInterval): with 2, the writer spends at most a third of
	// the time on batches while the processors are busy, and its queue, not the answers, takes
	// up the difference. With processors to spare it does not rest. Negative: never rest. 0:
	// DefaultRestFactor.
	RestFactor float64
	// Now is the clock of retention; time.Now when nil.
	Now func() time.Time
	// Recorder stores the batches instead of the store (a writer process, see package
	// process); the store still purges and reads them.
	Recorder fraud.DecisionRecorder
}

// entry is a queued decision and the model that made it, for its reasons.
type entry struct {
	d fraud.Decision
	m Explainer
}

// Log queues decisions for the store. Record never blocks: when the queue is full the
// decision is dropped and counted, so the log can never slow an answer down.
//
// The queue holds pointers to pooled entries rather than the entries themselves: a channel
// allocates its whole buffer up front, and QueueSize decisions of some 400 bytes would be held
// (and counted by the garbage collector) for the process's life, though the writer keeps the
// queue nearly empty unless it falls behind.
//
// Run is the writer. At shutdown it must be stopped after the HTTP server has drained: it
// stores what is queued before it returns.
type Log struct {
	store  fraud.DecisionLog
	rec    fraud.DecisionRecorder // the store, or Options.Recorder
	logger *slog.Logger
	opts   Options
	queue  chan *entry
	free   sync.Pool     // of *entry
	full   chan struct{} // a batch is waiting: wake the writer before its tick
	names  []string

	closed        atomic.Bool
	sched         []metrics.Sample // the scheduler's latencies, read by the writer alone
	pressure      string           // the CPU pressure file (see pressureFile); "" for none
	recorded      atomic.Int64
	rests         atomic.Int64
	dropped       atomic.Int64
	failed        atomic.Int64
	purged        atomic.Int64
	purgeFailures atomic.Int64
}

// New returns a Log that stores decisions in store.
func New(store fraud.DecisionLog, logger *slog.Logger, opts Options) *Log {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.RestFactor == 0 {
		opts.RestFactor = DefaultRestFactor
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	rec := opts.Recorder
	if rec == nil {
		rec = store
	}
	return &Log{
		store:    store,
		rec:      rec,
		logger:   logger.With(slog.String("component", "decisions")),
		opts:     opts,
		queue:    make(chan *entry, opts.QueueSize),
		full:     make(chan struct{}, 1),
		names:    fraud.FeatureNames(),
		sched:    []metrics.Sample{{Name: "/sched/latencies:seconds"}},
		pressure: pressureFile(),
	}
}

// Record queues d, made by model m (nil: no reasons). It never blocks, and takes d by value so
// that the caller's copy stays on its stack. d's Reasons are set by the writer, off the
// request's path, for a flagged decision. The writer is not woken for each decision (waking a
// sleeping goroutine costs more than the rest of recording): it comes every FlushInterval, or
// when a whole batch is waiting.
func (l *Log) Record(d fraud.Decision, m Explainer) {
	if l.closed.Load() {
		l.dropped.Add(1)
		return
	}
	e, _ := l.free.Get().(*entry)
	if e == nil {
		e = new(entry)
	}
	e.d, e.m = d, m
	select {
	case l.queue <- e:
		if len(l.queue) >= l.opts.BatchSize {
			select {
			case l.full <- struct{}{}:
			default: // already signalled
			}
		}
	default:
		l.release(e)
		l.dropped.Add(1)
	}
}

// release returns e to the pool, holding nothing.
func (l *Log) release(e *entry) {
	*e = entry{}
	l.free.Put(e)
}

// Run stores queued decisions until ctx is done: every FlushInterval, or as soon as a batch
// is waiting, it stores what is queued in transactions of up to BatchSize. It then refuses new
// decisions and stores what is queued (within a few seconds) before it returns.
func (l *Log) Run(ctx context.Context) error {
	batch := make([]fraud.Decision, 0, l.opts.BatchSize)
	tick := time.NewTicker(l.opts.FlushInterval)
	defer tick.Stop()
	store := context.WithoutCancel(ctx)
	for {
		select {
		case <-tick.C:
		case <-l.full:
		case <-ctx.Done():
			l.closed.Store(true)
			drain, cancel := context.WithTimeout(store, drainTimeout)
			defer cancel()
			l.take(drain, batch, -1, ctx.Done())
			return nil
		}
		l.take(store, batch, len(l.queue), ctx.Done())
	}
}

// take takes n decisions from the queue (n < 0: until it is empty) and stores them in
// transactions of up to BatchSize. Taking only what was there when it began lets a writer that
// cannot keep up leave the rest to the queue, where a full queue drops and counts it. After each
// transaction it gives way to busy requests (see giveWay), until stop is closed.
func (l *Log) take(ctx context.Context, batch []fraud.Decision, n int, stop <-chan struct{}) {
	var b began
	for n != 0 {
		select {
		case e := <-l.queue:
			if len(batch) == 0 {
				b = l.begin()
			}
			batch = append(batch, l.complete(e))
			l.release(e)
			if len(batch) == cap(batch) {
				batch = l.flush(ctx, batch)
				l.giveWay(b, stop)
			}
			if n > 0 {
				n--
			}
		default:
			n = 0
		}
	}
	if len(batch) > 0 {
		l.flush(ctx, batch)
		l.giveWay(b, stop)
	}
}

// complete adds the reasons of a flagged decision: the ReasonCount features of largest
// |contribution|. A model that cannot be explained (no covers) gives none.
func (l *Log) complete(e *entry) fraud.Decision {
	if !e.d.IsFraud || e.m == nil {
		return e.d
	}
	return l.withReasons(e)
}

// withReasons is complete for a flagged decision; it is apart so that the others are not
// moved to the heap for the explainer.
func (l *Log) withReasons(e *entry) fraud.Decision {
	d := e.d
	var ex model.Explanation
	if err := e.m.Explain(&d.Features, &ex); err != nil {
		return d
	}
	var idx [fraud.NumFeatures]int
	top := model.TopFeatures(&ex.Contributions, ReasonCount, &idx)
	d.Reasons = make([]fraud.Reason, len(top))
	for i, j := range top {
		d.Reasons[i] = fraud.Reason{Feature: l.names[j], Contribution: ex.Contributions[j]}
	}
	return d
}

func (l *Log) flush(ctx context.Context, batch []fraud.Decision) []fraud.Decision {
	if len(batch) == 0 {
		return batch
	}
	if err := l.rec.RecordDecisions(ctx, batch); err != nil {
		l.failed.Add(int64(len(batch)))
		l.logger.Error("decisions not stored", slog.Int("count", len(batch)), slog.String("error", err.Error()))
	} else {
		l.recorded.Add(int64(len(batch)))
	}
	clear(batch) // let go of the reasons
	return batch[:0]
}

// began is when a batch began, and the scheduler's counts then.
type began struct {
	at          time.Time
	ready, late uint64
	stalled     time.Duration // cpuStalled then, when known
	stallKnown  bool
}

func (l *Log) begin() began {
	ready, late := l.schedCounts()
	stalled, known := cpuStalled(l.pressure)
	return began{at: time.Now(), ready: ready, late: late, stalled: stalled, stallKnown: known}
}

// schedCounts returns how many goroutines have been made ready to run so far, and how many of
// them waited waitedLong or more for a processor (the runtime's /sched/latencies histogram: a
// sample, the runtime times one in eight of a goroutine's waits).
func (l *Log) schedCounts() (ready, late uint64) {
	metrics.Read(l.sched)
	if l.sched[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0, 0
	}
	h := l.sched[0].Value.Float64Histogram()
	for i, n := range h.Counts {
		ready += n
		if h.Buckets[i] >= waitedLong.Seconds() { // bucket i holds [Buckets[i], Buckets[i+1])
			late += n
		}
	}
	return ready, late
}

// giveWay lets busy requests have the processors after a batch begun at b. The processors are
// busy when, since b, a tenth or more of the goroutines made ready waited waitedLong or more to
// run (requests, on a busy server, or the writer itself behind them), or when tasks of its
// cgroup (or, without one, of the machine) waited for a CPU a quarter of the time or more
// (Linux's pressure stall information, see pressureFile: the load beside the server, which Go's
// scheduler does not see). The writer then rests (see restFor) before the next batch, so that
// its queue, not the answers, takes up what it cannot store in its share (a full queue drops
// and counts). It does not rest while closing: the
// drain stores what is queued as fast as it can. A rest ends when stop is closed.
func (l *Log) giveWay(b began, stop <-chan struct{}) {
	if l.closed.Load() {
		return
	}
	busy := time.Since(b.at)
	ready, late := l.schedCounts()
	var stalled time.Duration
	if b.stallKnown {
		if now, ok := cpuStalled(l.pressure); ok {
			stalled = now - b.stalled
		}
	}
	rest := l.restFor(busy, ready-b.ready, late-b.late, stalled)
	if rest <= 0 {
		return
	}
	select {
	case <-stop:
		return
	default:
	}
	l.rests.Add(1)
	t := time.NewTimer(rest)
	defer t.Stop()
	select {
	case <-t.C:
	case <-stop:
	}
}

// restFor is the rest after a batch that took busy, while ready goroutines were counted made
// ready to run and late of them waited long for a processor, and tasks of its cgroup (or the
// machine) waited stalled for a CPU: RestFactor × busy (at most FlushInterval) when there were minReady or more
// and a tenth or more were late, or when stalled is a quarter of busy or more; else none.
func (l *Log) restFor(busy time.Duration, ready, late uint64, stalled time.Duration) time.Duration {
	waited := ready >= minReady && late*lateShare >= ready
	if l.opts.RestFactor < 0 || busy <= 0 || !(waited || stalled*stallShare >= busy) {
		return 0
	}
	return min(time.Duration(float64(busy)*l.opts.RestFactor), l.opts.FlushInterval)
}

// Recorded returns how many decisions were stored.
func (l *Log) Recorded() int64 { return l.recorded.Load() }

// Rests returns how many times the writer rested to let requests run (see Options.RestFactor).
func (l *Log) Rests() int64 { return l.rests.Load() }

// Dropped returns how many decisions were not queued because the queue was full or closed.
func (l *Log) Dropped() int64 { return l.dropped.Load() }

// Failed returns how many decisions the store refused.
func (l *Log) Failed() int64 { return l.failed.Load() }

// Purged returns how many stored decisions retention has deleted.
func (l *Log) Purged() int64 { return l.purged.Load() }

// PurgeFailures returns how many purges the store failed.
func (l *Log) PurgeFailures() int64 { return l.purgeFailures.Load() }

// PurgeInterval is how often Retain purges after its first purge at start.
const PurgeInterval = time.Hour

// Retain keeps the decisions of the last keep and deletes older ones (and the labels of
// transactions left without a decision): once at once, then every interval until ctx is done.
// keep 0 keeps every decision. A failed purge is logged and counted, and tried again at the
// next interval.
func (l *Log) Retain(ctx context.Context, keep, interval time.Duration) error {
	if keep <= 0 {
		<-ctx.Done()
		return nil
	}
	_, _ = l.Purge(ctx, keep)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			_, _ = l.Purge(ctx, keep)
		}
	}
}

// Purge deletes the decisions older than keep and returns how many it deleted.
func (l *Log) Purge(ctx context.Context, keep time.Duration) (int64, error) {
	cutoff := l.opts.Now().Add(-keep).UTC()
	n, err := l.store.PurgeDecisionsBefore(ctx, cutoff)
	l.purged.Add(n)
	if err != nil {
		l.purgeFailures.Add(1)
		l.logger.Error("decisions not purged", slog.Int64("deleted", n), slog.Time("before", cutoff), slog.String("error", err.Error()))
		return n, fmt.Errorf("purge decisions before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	if n > 0 {
		l.logger.Info("decisions purged", slog.Int64("deleted", n), slog.Time("before", cutoff))
	}
	return n, nil
}
