// Package process runs the decision log's storage work in a process of its own, at the lowest
// CPU priority the system gives (see Lower). Storing a decision in SQLite is Go code that holds
// a processor for a whole statement; in the server it competes with the requests as an equal,
// while a process in Linux's idle scheduling class only gets a core that nothing else wants, so
// at a load the machine can carry the answers do not wait for it.
//
// Writer is the server's side: it sends each batch to the process on its standard input and
// waits for the process to say it was stored, starting the process again when it has died.
// Serve is the process's side. The stream is encoding/gob: the batches one way, one reply for
// each (and one when the process has opened its store) the other.
package process

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Defaults of Options.
const (
	DefaultRestartDelay = time.Second
	DefaultBatchTimeout = time.Minute
	DefaultStopTimeout  = 10 * time.Second
	DefaultBehindAfter  = time.Second
)

// startTimeout bounds how long a new process may take to open its store, when the caller's
// context has no deadline.
const startTimeout = 30 * time.Second

// batch is what the server sends: decisions to store in one transaction, and whether the log
// is behind (see Options.BehindAfter).
type batch struct {
	Decisions []fraud.Decision
	Behind    bool
}

// reply is what the process sends back: once when its store is open, then once for each
// batch. Err is empty on success.
type reply struct {
	Err string
}

// Options are the optional settings of New.
type Options struct {
	// RestartDelay is how long after starting a process the Writer waits at least before it
	// starts another; batches in between fail.
	RestartDelay time.Duration
	// BatchTimeout bounds how long a batch may take when its context has no deadline; a
	// process that takes longer is taken for hung, killed and started again.
	BatchTimeout time.Duration
	// StopTimeout bounds how long Close waits for the process to store what it has and exit
	// before it kills it.
	StopTimeout time.Duration
	// BehindAfter: a batch whose oldest decision was made this long ago or more tells the
	// process that it is behind (see Serve).
	BehindAfter time.Duration
	// Now is the clock decisions' ages are taken by; time.Now when nil.
	Now func() time.Time
}

// Writer stores decisions through a writer process. It is safe for concurrent use; batches
// are sent one at a time.
type Writer struct {
	command func() *exec.Cmd
	logger  *slog.Logger
	opts    Options

	mu       sync.Mutex
	proc     *child // nil: none running
	started  time.Time
	closed   bool
	late     atomic.Bool // a process runs and was last told that the log is behind
	restarts atomic.Int64
}

var _ fraud.DecisionRecorder = (*Writer)(nil)

// child is one running writer process.
type child struct {
	cmd  *exec.Cmd
	in   *os.File // its standard input
	out  *os.File // its standard output
	enc  *gob.Encoder
	dec  *gob.Decoder
	done chan struct{} // closed once it has exited; err is then its exit
	err  error
}

// New returns a Writer that runs the processes command makes (a new command each time; the
// Writer sets its standard input and output, and its process group, so that a terminal's ^C
// reaches the server alone and the process stores what the server sends it as it stops).
// Its standard error goes to logger, a line at a time.
func New(command func() *exec.Cmd, logger *slog.Logger, opts Options) *Writer {
	if opts.RestartDelay <= 0 {
		opts.RestartDelay = DefaultRestartDelay
	}
	if opts.BatchTimeout <= 0 {
		opts.BatchTimeout = DefaultBatchTimeout
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	if opts.BehindAfter <= 0 {
		opts.BehindAfter = DefaultBehindAfter
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Writer{command: command, logger: logger.With(slog.String("component", "decision writer process")), opts: opts}
}

// Start starts the process and waits until it has opened its store, unless it runs already.
func (w *Writer) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosed()
	}
	if w.proc != nil {
		return nil
	}
	return w.startLocked(ctx)
}

func (w *Writer) startLocked(ctx context.Context) error {
	w.started = time.Now()
	cmd := w.command()
	inR, inW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start decision writer process: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return fmt.Errorf("start decision writer process: %w", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, &lineLogger{logger: w.logger}
	cmd.SysProcAttr = procAttr()
	err = cmd.Start()
	inR.Close() // the process's ends
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return fmt.Errorf("start decision writer process: %w", err)
	}
	c := &child{cmd: cmd, in: inW, out: outR, enc: gob.NewEncoder(inW), dec: gob.NewDecoder(outR), done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	// The first reply says whether the process could open its store.
	var hello reply
	err = c.deadline(ctx, startTimeout)
	if err == nil {
		err = c.dec.Decode(&hello)
	}
	if err == nil && hello.Err != "" {
		err = errors.New(hello.Err)
	}
	if err != nil {
		_ = c.stop(w.opts.StopTimeout)
		return fmt.Errorf("start decision writer process: %w", c.failure(err))
	}
	w.proc = c
	w.late.Store(false) // a new process starts in the idle class
	w.logger.Info("started", slog.Int("pid", cmd.Process.Pid))
	go w.watch(c)
	return nil
}

// watch waits for c to exit, and when it exits on its own between batches, says so and lets
// the next batch start another: no batch is lost to a process that dies while it waits.
func (w *Writer) watch(c *child) {
	<-c.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.proc != c { // stopped by RecordDecisions or Close, or taken out by RecordDecisions
		return
	}
	w.exitedLocked(c)
}

// exitedLocked takes c, which has exited on its own between batches, out of service.
func (w *Writer) exitedLocked(c *child) {
	w.proc = nil
	w.late.Store(false) // no process, none behind
	c.in.Close()
	c.out.Close()
	w.logger.Error("exited", slog.String("error", c.failure(errors.New("between batches")).Error()))
}

// RecordDecisions sends ds to the process and returns once it has stored them. When there is
// no process it starts one, at most one every RestartDelay; a process that fails to answer is
// stopped, and the next batch starts another.
func (w *Writer) RecordDecisions(ctx context.Context, ds []fraud.Decision) error {
	if len(ds) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosed()
	}
	if c := w.proc; c != nil {
		select {
		case <-c.done: // it died, and the watcher has not taken it out yet
			w.exitedLocked(c)
		default:
		}
	}
	if w.proc == nil {
		if wait := w.opts.RestartDelay - time.Since(w.started); wait > 0 {
			return fmt.Errorf("record decisions: %w", fraud.Errorf(fraud.CodeServiceUnavailable,
				"the decision writer process is not running; it is started again in %s", wait.Round(time.Millisecond)))
		}
		again := !w.started.IsZero()
		if err := w.startLocked(ctx); err != nil {
			return fmt.Errorf("record decisions: %w", err)
		}
		if again {
			w.restarts.Add(1)
		}
	}
	c := w.proc
	waited := w.waited(ds)
	late := waited >= w.opts.BehindAfter
	err := c.deadline(ctx, w.opts.BatchTimeout)
	if err == nil {
		err = c.enc.Encode(batch{Decisions: ds, Behind: late})
	}
	var r reply
	if err == nil {
		err = c.dec.Decode(&r)
	}
	if err != nil {
		_ = c.stop(w.opts.StopTimeout)
		w.proc = nil
		w.late.Store(false) // no process, none behind
		err = c.failure(err)
		w.logger.Error("stopped", slog.String("error", err.Error()))
		return fmt.Errorf("record decisions: decision writer process: %w", err)
	}
	if late != w.late.Load() {
		w.late.Store(late)
		if late {
			w.logger.Warn("behind: out of the idle class to nice 19 until it catches up", slog.Duration("oldest_waited", waited))
		} else {
			w.logger.Info("caught up: back in the idle class")
		}
	}
	if r.Err != "" {
		return fmt.Errorf("record decisions: decision writer process: %s", r.Err)
	}
	return nil
}

// waited returns how long ago the oldest decision of ds was made.
func (w *Writer) waited(ds []fraud.Decision) time.Duration {
	oldest := ds[0].Time
	for _, d := range ds[1:] {
		if d.Time.Before(oldest) {
			oldest = d.Time
		}
	}
	return w.opts.Now().Sub(oldest)
}

// Restarts returns how many times a process was started again after the first.
func (w *Writer) Restarts() int64 { return w.restarts.Load() }

// Behind reports whether the running process was last told that the log is behind: it is out of
// the idle class, at nice 19.
func (w *Writer) Behind() bool { return w.late.Load() }

// Pid returns the running process's ID, 0 when none runs.
func (w *Writer) Pid() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.proc == nil {
		return 0
	}
	return w.proc.cmd.Process.Pid
}

// Close ends the process's input, so that it stores what it has and exits, waits for it (at
// most StopTimeout, then it is killed) and refuses batches from then on. It returns an error
// when the process did not exit cleanly.
func (w *Writer) Close(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	c := w.proc
	w.proc = nil
	w.late.Store(false) // no process, none behind
	if c == nil {
		return nil
	}
	if err := c.stop(w.opts.StopTimeout); err != nil {
		return fmt.Errorf("stop decision writer process: %w", err)
	}
	return nil
}

// deadline sets the pipes' deadline from ctx's, or timeout from now when it has none.
func (c *child) deadline(ctx context.Context, timeout time.Duration) error {
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Now().Add(timeout)
	}
	if err := c.in.SetWriteDeadline(d); err != nil {
		return err
	}
	return c.out.SetReadDeadline(d)
}

// stop closes the process's input, waits up to timeout for it to exit and kills it if it has
// not, and returns how it exited (nil for a clean exit).
func (c *child) stop(timeout time.Duration) error {
	c.in.Close()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	c.out.Close()
	return c.err
}

// failure is err, a failure to talk to the process, with how the process exited when it has.
func (c *child) failure(err error) error {
	select {
	case <-c.done:
		if c.err != nil {
			return fmt.Errorf("%w (process: %v)", err, c.err)
		}
		return fmt.Errorf("%w (process exited)", err)
	default:
		return err
	}
}

func errClosed() error {
	return fmt.Errorf("record decisions: %w", fraud.Errorf(fraud.CodeServiceUnavailable, "the decision writer is closed"))
}

// lineLogger logs what the process writes to its standard error, a line at a time.
type lineLogger struct {
	logger *slog.Logger
	buf    []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		line, rest, ok := bytes.Cut(l.buf, []byte("\n"))
		if !ok {
			break
		}
		if len(line) > 0 {
			l.logger.Warn("process says", slog.String("line", string(line)))
		}
		l.buf = append(l.buf[:0], rest...)
	}
	if len(l.buf) > 64<<10 { // a line too long to wait for: log what there is
		l.logger.Warn("process says", slog.String("line", string(l.buf)))
		l.buf = l.buf[:0]
	}
	return len(p), nil
}

// Serve is the process's side: it writes a reply for opened (nil: the store is open; else why
// it is not, and Serve returns it), then reads batches from r until r ends or ctx is done,
// stores each with rec and writes a reply for it to w. Before a batch that says the log is
// behind, or the first that says it no longer is, it calls behind (when not nil) with that:
// the process's priority rises while it catches up (see Behind and Lower). It returns nil at
// the end of r, and an error when r holds something else than batches or w cannot be written.
func Serve(ctx context.Context, r io.Reader, w io.Writer, rec fraud.DecisionRecorder, opened error, behind func(bool)) error {
	enc, dec := gob.NewEncoder(w), gob.NewDecoder(r)
	if opened != nil {
		_ = enc.Encode(reply{Err: opened.Error()})
		return opened
	}
	if err := enc.Encode(reply{}); err != nil {
		return fmt.Errorf("write reply: %w", err)
	}
	was := false
	for ctx.Err() == nil {
		var b batch
		if err := dec.Decode(&b); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read batch: not a decision stream from fraudguard serve: %w", err)
		}
		if b.Behind != was && behind != nil {
			behind(b.Behind)
		}
		was = b.Behind
		var out reply
		if err := rec.RecordDecisions(context.WithoutCancel(ctx), b.Decisions); err != nil {
			out.Err = err.Error()
		}
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("write reply: %w", err)
		}
	}
	return nil
}
