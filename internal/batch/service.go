// Package batch runs background batch scoring jobs: it takes an upload (CSV, JSON or NDJSON,
// optionally gzipped) as a stream, stores it in chunks of a few thousand rows, and scores the
// chunks with a pool of workers that claim them from the store's queue under a lease. Each
// chunk's results are committed together with the job's counters, so a job that is
// interrupted (a crash, a kill -9) resumes where it was and every input row ends with exactly
// one result.
package batch

import (
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/txjson"
)

// Defaults of Options.
const (
	DefaultMaxConcurrentJobs = 2
	DefaultMaxRows           = 5_000_000
	DefaultMaxBytes          = 1 << 30
	DefaultChunkRows         = 10_000
	DefaultResultTTL         = 24 * time.Hour
	DefaultLease             = 2 * time.Minute
	DefaultPollInterval      = 200 * time.Millisecond
)

// ModelSource gives the live model; nil while none is loaded.
type ModelSource interface {
	Current() *model.Model
}

// Metrics records what the jobs do, for /metrics.
type Metrics interface {
	// SetBatchJobs sets how many jobs have status.
	SetBatchJobs(status string, n int)
	// AddBatchRows counts rows scored.
	AddBatchRows(n int)
}

// metricsEvery is how often the job counts by status are refreshed.
const metricsEvery = 5 * time.Second

// Options are the settings of a Service; zero values take the defaults.
type Options struct {
	// Workers is the number of chunks scored at once; 0 means GOMAXPROCS.
	Workers int
	// MaxCPU caps the CPUs that batch work (parsing uploads, scoring) uses at once, so that
	// jobs never starve /predict; 0 means GOMAXPROCS-1, at least 1.
	MaxCPU int
	// MaxConcurrentJobs is how many jobs run at once; more wait, queued.
	MaxConcurrentJobs int
	// MaxRows and MaxBytes cap an upload: its rows, and its bytes both as sent and, when
	// compressed, once decompressed.
	MaxRows  int64
	MaxBytes int64
	// ChunkRows is the number of rows stored and scored as one chunk.
	ChunkRows int
	// ResultTTL is how long a finished job and its results are kept.
	ResultTTL time.Duration
	// Lease is how long a worker holds a chunk before another may take it over.
	Lease time.Duration
	// PollInterval is how often idle workers look for work they were not woken for.
	PollInterval time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// NewID makes job ids; random "job_" ids when nil.
	NewID func() string
	// Metrics records jobs and rows; nil records nothing.
	Metrics Metrics
	// Detector, when set, inspects every string of an upload for attacks; a hit refuses the
	// upload with a *txjson.AttackError and nothing of it is kept.
	Detector txjson.Inspector
	// Versions, when set, gives a model version that is not live here: a job recorded as
	// scored by another version (its first chunk taken before a switch, or on another
	// instance) is scored by that version. Without it such a job fails.
	Versions interface {
		Model(version string) (*model.Model, error)
	}
	// Tracer, when set, records a span for each chunk scored, with child spans for its
	// scoring and its store commit; nil traces nothing.
	Tracer trace.Tracer
}

// Service runs batch jobs over a store. It is safe for concurrent use.
type Service struct {
	store  fraud.JobStore
	models ModelSource
	logger *slog.Logger
	opts   Options
	holder string
	cpu    cpuGate
	names  []string // the features' names, for reasons

	work  chan struct{} // wakes idle workers
	admit chan struct{} // wakes the dispatcher

	mu       sync.Mutex
	inFlight map[string]map[*context.CancelFunc]struct{} // job id → cancels of chunks being scored
	// pins is the model each running job is scored by: the live model when this process
	// claimed the job's first chunk, so that a switch of the live model does not split a job
	// between two versions. A job resumed after a restart takes the live model then.
	pins map[string]*model.Model
	// pinMu is held while a job's model is looked up and recorded (pin).
	pinMu sync.Mutex
}

// New returns a Service over store that scores with the models' live model. Run runs its
// workers.
func New(store fraud.JobStore, models ModelSource, logger *slog.Logger, opts Options) *Service {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxCPU <= 0 {
		opts.MaxCPU = max(1, runtime.GOMAXPROCS(0)-1)
	}
	if opts.MaxConcurrentJobs <= 0 {
		opts.MaxConcurrentJobs = DefaultMaxConcurrentJobs
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = DefaultChunkRows
	}
	if opts.ResultTTL <= 0 {
		opts.ResultTTL = DefaultResultTTL
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = func() string { return "job_" + randomHex(12) }
	}
	return &Service{
		store:    store,
		models:   models,
		logger:   logger.With(slog.String("component", "batch")),
		opts:     opts,
		holder:   "worker-" + randomHex(8),
		names:    fraud.FeatureNames(),
		cpu:      make(cpuGate, opts.MaxCPU),
		work:     make(chan struct{}, opts.Workers),
		admit:    make(chan struct{}, 1),
		inFlight: make(map[string]map[*context.CancelFunc]struct{}),
		pins:     make(map[string]*model.Model),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// Recover takes back what a previous run of this process left behind when it died: chunks it
// had leased go back to the queue at once (instead of when their lease expires), and uploads
// it was still receiving are deleted. Only the sole worker process of the store may call it,
// before it starts serving and working.
func (s *Service) Recover(ctx context.Context) error {
	released, dropped, err := s.store.RecoverJobs(ctx)
	if err != nil {
		return fmt.Errorf("recover batch jobs: %w", err)
	}
	if released > 0 || dropped > 0 {
		s.logger.Info("recovered batch jobs", slog.Int64("chunks_released", released), slog.Int("uploads_dropped", dropped))
	}
	return nil
}

// Run runs the dispatcher, which starts queued jobs while fewer than MaxConcurrentJobs run,
// the workers, and the purge of expired jobs, until ctx ends. Workers then finish the chunk
// they are scoring (commit included) before Run returns.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2 + s.opts.Workers)
	go func() { defer wg.Done(); s.dispatch(ctx) }()
	go func() { defer wg.Done(); s.purge(ctx) }()
	for range s.opts.Workers {
		go func() { defer wg.Done(); s.worker(ctx) }()
	}
	wg.Wait()
	return nil
}

func (s *Service) wakeWorkers() {
	for range s.opts.Workers {
		select {
		case s.work <- struct{}{}:
		default:
			return
		}
	}
}

func (s *Service) wakeDispatcher() {
	select {
	case s.admit <- struct{}{}:
	default:
	}
}

// dispatch admits queued jobs.
func (s *Service) dispatch(ctx context.Context) {
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	var counted time.Time
	for {
		if s.opts.Metrics != nil && time.Since(counted) >= metricsEvery {
			s.countJobs(ctx)
			counted = time.Now()
		}
		started, err := s.store.StartJobs(ctx, s.opts.MaxConcurrentJobs, s.opts.Now())
		if err != nil && ctx.Err() == nil {
			s.logger.Error("start jobs", slog.String("error", err.Error()))
		}
		for _, j := range started {
			s.logger.Info("job started", slog.String("job_id", j.ID), slog.Int64("rows", j.Total), slog.Int("chunks", j.Chunks))
		}
		if len(started) > 0 {
			s.wakeWorkers()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.admit:
		case <-t.C:
		}
	}
}

// countJobs sets the job gauges from the store.
func (s *Service) countJobs(ctx context.Context) {
	for _, st := range []fraud.JobStatus{fraud.JobQueued, fraud.JobRunning, fraud.JobCompleted, fraud.JobFailed, fraud.JobCancelled} {
		_, n, err := s.store.ListJobs(ctx, fraud.JobFilter{Everyone: true, Status: st, Limit: 1})
		if err != nil {
			return
		}
		s.opts.Metrics.SetBatchJobs(string(st), n)
	}
}

// purge deletes finished jobs older than ResultTTL, every tenth of it (at most every ten
// minutes, at least every second).
func (s *Service) purge(ctx context.Context) {
	every := min(max(s.opts.ResultTTL/10, time.Second), 10*time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.store.PurgeJobs(ctx, s.opts.Now().Add(-s.opts.ResultTTL))
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.Error("purge jobs", slog.String("error", err.Error()))
		case n > 0:
			s.logger.Info("purged expired jobs", slog.Int("jobs", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// worker claims and scores chunks until ctx ends.
func (s *Service) worker(ctx context.Context) {
	idle := time.NewTimer(s.opts.PollInterval)
	defer idle.Stop()
	wait := func(d time.Duration) bool {
		idle.Reset(d)
		select {
		case <-ctx.Done():
			return false
		case <-s.work:
		case <-idle.C:
		}
		return true
	}
	var buf []byte
	for ctx.Err() == nil {
		m := s.models.Current()
		if m == nil {
			if !wait(s.opts.PollInterval) {
				return
			}
			continue
		}
		task, ok, err := s.store.ClaimChunk(ctx, s.holder, s.opts.Now(), s.opts.Lease)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.logger.Error("claim chunk", slog.String("error", err.Error()))
			if !wait(time.Second) {
				return
			}
			continue
		}
		if !ok {
			if !wait(s.opts.PollInterval) {
				return
			}
			continue
		}
		pinned, err := s.pin(ctx, task.JobID, m)
		if err != nil {
			if errors.Is(err, errPinned) {
				s.fail(ctx, task.JobID, err.Error())
				continue
			}
			// The store did not answer: the chunk's lease expires and it is taken again.
			if ctx.Err() == nil {
				s.logger.Error("pin the job's model", slog.String("job_id", task.JobID), slog.String("error", err.Error()))
			}
			if !wait(time.Second) {
				return
			}
			continue
		}
		buf = s.process(ctx, pinned, task, buf)
	}
}

// process scores a claimed chunk and commits its results. A cancelled job's chunk is dropped;
// shutting down is not a cancellation: the chunk is finished and committed first.
func (s *Service) process(ctx context.Context, m *model.Model, task fraud.ChunkTask, buf []byte) []byte {
	jobCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	s.track(task.JobID, &cancel)
	defer s.untrack(task.JobID, &cancel)

	chunkSpan := noSpan
	if s.opts.Tracer != nil {
		jobCtx, chunkSpan = s.opts.Tracer.Start(jobCtx, "batch.chunk", trace.WithAttributes(
			attribute.String("batch.job_id", task.JobID), attribute.Int("batch.chunk", task.Index),
			attribute.Int("batch.rows", task.Rows), attribute.String("model.version", m.Version())))
	}
	defer chunkSpan.End()
	scoreSpan := s.child(jobCtx, "model.score_chunk")
	out, err := score(jobCtx, s.cpu, m, task, buf[:0])
	scoreSpan.End()
	if jobCtx.Err() != nil {
		return out.Data
	}
	log := s.logger.With(slog.String("job_id", task.JobID), slog.Int("chunk", task.Index))
	if errors.Is(err, errExplain) {
		s.fail(jobCtx, task.JobID, fmt.Sprintf("the job asks for reasons and the live model cannot give them: %v", err))
		return out.Data
	}
	if err != nil {
		s.fail(jobCtx, task.JobID, fmt.Sprintf("chunk %d cannot be read: %v", task.Index, err))
		return out.Data
	}
	var ok, completed bool
	for attempt := 0; ; attempt++ {
		storeSpan := s.child(jobCtx, "store.complete_chunk")
		ok, completed, err = s.store.CompleteChunk(jobCtx, task, out, s.opts.Now())
		if err != nil {
			storeSpan.RecordError(err)
			storeSpan.SetStatus(codes.Error, "store error")
		}
		storeSpan.End()
		if err == nil || attempt == 2 || jobCtx.Err() != nil {
			break
		}
		log.Warn("storing chunk results failed; retrying", slog.String("error", err.Error()))
		time.Sleep(time.Duration(100<<(2*attempt)) * time.Millisecond)
	}
	switch {
	case err != nil:
		chunkSpan.SetStatus(codes.Error, "storing results failed")
		log.Error("storing chunk results failed", slog.String("error", err.Error()))
		s.fail(jobCtx, task.JobID, fmt.Sprintf("storing the results of rows %d to %d failed: %s", task.FirstRow, task.FirstRow+int64(task.Rows)-1, reason(err)))
	case !ok:
		log.Info("chunk lease lost; its results were dropped")
	default:
		if s.opts.Metrics != nil {
			s.opts.Metrics.AddBatchRows(int(out.Processed - out.Invalid))
		}
		if completed {
			s.unpin(task.JobID)
			s.logger.Info("job completed", slog.String("job_id", task.JobID))
			s.wakeDispatcher()
		}
	}
	return out.Data
}

// noSpan stands in when tracing is off.
var noSpan = trace.SpanFromContext(context.Background())

// child starts a child span of the chunk's span, or returns noSpan when tracing is off.
func (s *Service) child(ctx context.Context, name string) trace.Span {
	if s.opts.Tracer == nil {
		return noSpan
	}
	_, span := s.opts.Tracer.Start(ctx, name)
	return span
}

// reason is the client-facing part of a store error.
func reason(err error) string {
	var fe *fraud.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

// fail ends a job as failed with the reason and stops its other chunks.
func (s *Service) fail(ctx context.Context, jobID, why string) {
	if _, err := s.store.FinishJob(ctx, jobID, fraud.JobFailed, why, s.opts.Now()); err != nil {
		s.logger.Error("marking job failed", slog.String("job_id", jobID), slog.String("reason", why), slog.String("error", err.Error()))
	} else {
		s.logger.Error("job failed", slog.String("job_id", jobID), slog.String("reason", why))
	}
	s.cancelInFlight(jobID)
	s.unpin(jobID)
	s.wakeDispatcher()
}

// pin returns the model jobID is scored by: the version recorded with the job (PinModel), which
// is the live model where the job's first chunk was taken, on this server or another sharing
// the store. This server's choice is kept in pins, so that a switch of the live model does not
// split a job between two versions.
func (s *Service) pin(ctx context.Context, jobID string, live *model.Model) (*model.Model, error) {
	// One pin at a time in this process: a second worker on the same job waits for the first
	// and takes its model, rather than ask the store with a live model that switched meanwhile.
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	s.mu.Lock()
	m, ok := s.pins[jobID]
	s.mu.Unlock()
	if ok {
		return m, nil
	}
	v, err := s.store.PinModel(ctx, jobID, live.Version())
	if err != nil {
		return nil, err
	}
	m = live
	if v != live.Version() {
		if s.opts.Versions == nil {
			return nil, fmt.Errorf("%w: the job is scored by model %s, and this server has only %s live", errPinned, v, live.Version())
		}
		if m, err = s.opts.Versions.Model(v); err != nil {
			return nil, fmt.Errorf("%w: the job is scored by model %s: %w", errPinned, v, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pins[jobID] = m
	return m, nil
}

// errPinned is wrapped by pin's error when the job's model cannot be had here.
var errPinned = errors.New("the job's model is not available")

// unpin forgets the model of a job that has ended.
func (s *Service) unpin(jobID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pins, jobID)
}

func (s *Service) track(jobID string, cancel *context.CancelFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.inFlight[jobID]
	if m == nil {
		m = make(map[*context.CancelFunc]struct{})
		s.inFlight[jobID] = m
	}
	m[cancel] = struct{}{}
}

func (s *Service) untrack(jobID string, cancel *context.CancelFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inFlight[jobID], cancel)
	if len(s.inFlight[jobID]) == 0 {
		delete(s.inFlight, jobID)
	}
}

func (s *Service) cancelInFlight(jobID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.inFlight[jobID] {
		(*c)()
	}
}

// cpuGate holds one token per CPU that batch work may use. Parsing and scoring hold a token
// while they compute and hand it back every few hundred rows (and around store I/O), so
// /predict always finds a CPU within well under a millisecond.
type cpuGate chan struct{}

// acquire takes a token, or fails when ctx ends first.
func (g cpuGate) acquire(ctx context.Context) error {
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g cpuGate) release() { <-g }

// yield hands the token back and takes it again, behind whoever waits for one, and lets
// other goroutines run meanwhile.
func (g cpuGate) yield(ctx context.Context) error {
	g.release()
	runtime.Gosched()
	return g.acquire(ctx)
}

// yieldEvery is how many rows batch work handles between yields.
const yieldEvery = 256

// errExplain is wrapped by score's error when the model cannot explain a row of a job that
// asks for reasons (the live model was replaced by one without node covers, say).
var errExplain = errors.New("explain")

// score scores a chunk into out (reusing its buffer), under the CPU gate. It stops early,
// with ctx's error, when the job is cancelled.
func score(ctx context.Context, gate cpuGate, m *model.Model, task fraud.ChunkTask, buf []byte) (out fraud.ChunkOutput, err error) {
	if err := gate.acquire(ctx); err != nil {
		return fraud.ChunkOutput{Data: buf}, err
	}
	defer gate.release()
	out = fraud.ChunkOutput{Data: append(buf, codecVersion)}
	rd, err := newChunkReader(task.Data)
	if err != nil {
		return out, err
	}
	threshold := m.Threshold()
	var top topKeeper
	var x [fraud.NumFeatures]float64
	var e model.Explanation
	var idx [fraud.NumFeatures]int
	var reasons []int // nil without explain
	n := 0
	for ; rd.more(); n++ {
		if n%yieldEvery == yieldEvery-1 {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			if err := gate.yield(ctx); err != nil {
				return out, err
			}
		}
		id, problem, err := rd.nextInput(&x)
		if err != nil {
			return out, err
		}
		if problem != nil {
			out.Data = appendInvalidResult(out.Data, id, problem)
			out.Invalid++
			continue
		}
		p := m.Probability(&x)
		isFraud := p >= threshold
		risk := fraud.RiskFor(p, threshold)
		if task.Explain {
			if err := m.Explain(&x, &e); err != nil {
				return out, fmt.Errorf("%w: %w", errExplain, err)
			}
			reasons = model.TopFeatures(&e.Contributions, dataset.NumReasons, &idx)
		}
		out.Data = appendResult(out.Data, id, p, isFraud, risk, reasons, &e.Contributions)
		if isFraud {
			out.Fraud++
		}
		top.offer(task.FirstRow+int64(n), id, p, isFraud, risk)
	}
	if n != task.Rows {
		return out, fmt.Errorf("%w: %d rows, want %d", errCorrupt, n, task.Rows)
	}
	out.Processed = int64(n)
	out.Top = fraud.MergeTop(nil, top.rows, fraud.TopResults)
	return out, nil
}

// topKeeper keeps the fraud.TopResults most risky rows offered to it.
type topKeeper struct {
	rows []fraud.JobResult
	low  int // index of the least risky kept row, once full
}

func (t *topKeeper) offer(row int64, id []byte, p float64, isFraud bool, risk fraud.RiskLevel) {
	if len(t.rows) == fraud.TopResults && p <= t.rows[t.low].Probability {
		return
	}
	r := fraud.JobResult{Row: row, TransactionID: string(id), Probability: p, IsFraud: isFraud, Risk: risk}
	if len(t.rows) < fraud.TopResults {
		t.rows = append(t.rows, r)
	} else {
		t.rows[t.low] = r
	}
	if len(t.rows) == fraud.TopResults {
		t.low = 0
		for i := range t.rows {
			if t.rows[i].Probability < t.rows[t.low].Probability ||
				(t.rows[i].Probability == t.rows[t.low].Probability && t.rows[i].Row > t.rows[t.low].Row) {
				t.low = i
			}
		}
	}
}

// Submit reads an upload as a stream and stores it as a new queued job, or, when the owner
// already has a job with up.IdempotencyKey, returns that job and true without reading the
// rows (the content type, encoding and CSV header or JSON envelope are still read and checked
// first, so a retry must resend the same kind of upload). A bad content type or header, or a malformed JSON document, is refused before
// anything is stored; an upload over MaxRows or MaxBytes is refused with
// CodePayloadTooLarge and everything stored of it is deleted. Malformed CSV lines and
// NDJSON records, and invalid transactions, become invalid rows of the job.
func (s *Service) Submit(ctx context.Context, body io.Reader, up fraud.JobUpload) (fraud.Job, bool, error) {
	f, err := parseFormat(up.ContentType)
	if err != nil {
		return fraud.Job{}, false, err
	}
	var r io.Reader = &limitReader{r: body, limit: s.opts.MaxBytes, what: "request body"}
	switch strings.ToLower(strings.TrimSpace(up.ContentEncoding)) {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fraud.Job{}, false, uploadError(err)
		}
		defer zr.Close()
		r = &limitReader{r: zr, limit: s.opts.MaxBytes, what: "decompressed request body"}
	default:
		return fraud.Job{}, false, &fraud.Error{Code: fraud.CodeUnsupportedMedia,
			Message: "Content-Encoding " + up.ContentEncoding + " is not supported: send gzip or nothing",
			Details: []fraud.Detail{{"content_encoding": up.ContentEncoding, "supported": []string{"gzip", "identity"}}}}
	}
	p, err := newParser(f, r, s.opts.Detector)
	if err != nil {
		return fraud.Job{}, false, uploadError(err)
	}
	job, existed, err := s.store.CreateJob(ctx, fraud.Job{ID: s.opts.NewID(), Owner: up.Owner, IdempotencyKey: up.IdempotencyKey, CreatedAt: s.opts.Now(), Explain: up.Explain})
	if err != nil || existed {
		return job, existed, err
	}
	sink := &chunkSink{store: s.store, jobID: job.ID, maxRows: s.opts.MaxRows, chunkRows: s.opts.ChunkRows, gate: s.cpu}
	sink.b.reset()
	err = sink.take(ctx)
	if err == nil {
		err = p.rows(ctx, sink)
	}
	if err == nil {
		err = sink.flush(ctx)
	}
	sink.drop()
	if err == nil && sink.total == 0 {
		err = &fraud.Error{Code: fraud.CodeValidation, Message: "the upload has no transactions"}
	}
	if err == nil {
		err = s.store.SubmitJob(ctx, job.ID, sink.total, sink.index)
	}
	if err != nil {
		// Nothing of a refused upload stays stored, even when the client has gone away.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if derr := s.store.DeleteJob(dctx, job.ID); derr != nil {
			s.logger.Error("deleting a refused upload", slog.String("job_id", job.ID), slog.String("error", derr.Error()))
		}
		return fraud.Job{}, false, uploadError(err)
	}
	s.logger.Info("job queued", slog.String("job_id", job.ID), slog.String("owner", up.Owner),
		slog.Int64("rows", sink.total), slog.Int("chunks", sink.index))
	s.wakeDispatcher()
	job, err = s.store.Job(ctx, job.ID)
	return job, false, err
}

// chunkSink stores the rows of an upload a chunk at a time.
type chunkSink struct {
	store     fraud.JobStore
	jobID     string
	b         chunkBuilder
	index     int
	first     int64
	total     int64
	maxRows   int64
	chunkRows int
	gate      cpuGate // held while parsing, handed back around store writes
	held      bool
}

func (c *chunkSink) take(ctx context.Context) error {
	err := c.gate.acquire(ctx)
	c.held = err == nil
	return err
}

func (c *chunkSink) drop() {
	if c.held {
		c.gate.release()
		c.held = false
	}
}

// room counts a row against the limit, yielding the CPU every few hundred rows.
func (c *chunkSink) room(ctx context.Context) error {
	if c.total >= c.maxRows {
		return &rowLimitError{limit: c.maxRows}
	}
	c.total++
	if c.total%yieldEvery == 0 {
		c.drop()
		runtime.Gosched()
		return c.take(ctx)
	}
	return nil
}

func (c *chunkSink) valid(ctx context.Context, id []byte, x *[fraud.NumFeatures]float64) error {
	if err := c.room(ctx); err != nil {
		return err
	}
	c.b.addValid(id, x)
	if c.b.rows >= c.chunkRows {
		return c.flush(ctx)
	}
	return nil
}

func (c *chunkSink) invalid(ctx context.Context, id []byte, problem string) error {
	if err := c.room(ctx); err != nil {
		return err
	}
	c.b.addInvalid(id, problem)
	if c.b.rows >= c.chunkRows {
		return c.flush(ctx)
	}
	return nil
}

func (c *chunkSink) flush(ctx context.Context) error {
	if c.b.rows == 0 {
		return nil
	}
	held := c.held
	c.drop()
	err := c.store.AddChunk(ctx, c.jobID, fraud.ChunkInput{Index: c.index, FirstRow: c.first, Rows: c.b.rows, Data: c.b.buf})
	if err != nil {
		return err
	}
	if held {
		if err := c.take(ctx); err != nil {
			return err
		}
	}
	c.first += int64(c.b.rows)
	c.index++
	c.b.reset()
	return nil
}

// Job returns a job.
func (s *Service) Job(ctx context.Context, jobID string) (fraud.Job, error) {
	return s.store.Job(ctx, jobID)
}

// List returns the jobs that match f, newest first, and how many match in all.
func (s *Service) List(ctx context.Context, f fraud.JobFilter) ([]fraud.Job, int, error) {
	return s.store.ListJobs(ctx, f)
}

// Cancel cancels a queued or running job: chunks being scored stop, results so far stay. A
// job that has already finished is returned as it is.
func (s *Service) Cancel(ctx context.Context, jobID string) (fraud.Job, error) {
	before, err := s.store.Job(ctx, jobID)
	if err != nil {
		return fraud.Job{}, err
	}
	j, err := s.store.FinishJob(ctx, jobID, fraud.JobCancelled, "", s.opts.Now())
	if err != nil {
		return fraud.Job{}, err
	}
	s.cancelInFlight(jobID)
	s.unpin(jobID)
	s.wakeDispatcher()
	if !before.Status.Finished() && j.Status == fraud.JobCancelled {
		s.logger.Info("job cancelled", slog.String("job_id", jobID))
	}
	return j, nil
}

// Delete deletes a job with its results, cancelling it first if it is still going.
func (s *Service) Delete(ctx context.Context, jobID string) error {
	if _, err := s.Cancel(ctx, jobID); err != nil {
		return err
	}
	return s.store.DeleteJob(ctx, jobID)
}

// Results calls fn with the results of rows from..to-1 scored so far, in input order; rows of
// chunks not scored yet are skipped. The result passed to fn is reused between calls.
func (s *Service) Results(ctx context.Context, jobID string, from, to int64, fn func(*fraud.JobResult) error) error {
	if to <= 0 {
		to = math.MaxInt64
	}
	var res fraud.JobResult
	return s.store.Results(ctx, jobID, from, to, func(c fraud.ResultChunk) error {
		rd, err := newChunkReader(c.Data)
		if err != nil {
			return fmt.Errorf("job %s chunk %d: %w", jobID, c.Index, err)
		}
		for i := 0; i < c.Rows; i++ {
			if err := rd.nextResult(&res, s.names); err != nil {
				return fmt.Errorf("job %s chunk %d: %w", jobID, c.Index, err)
			}
			res.Row = c.FirstRow + int64(i)
			if res.Row < from {
				continue
			}
			if res.Row >= to {
				return nil
			}
			if err := fn(&res); err != nil {
				return err
			}
		}
		return nil
	})
}
