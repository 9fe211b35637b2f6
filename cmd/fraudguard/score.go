package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/progress"
)

const scoreSummary = `Score a CSV file of card transactions (creditcard.csv schema: Time, V1..V28, Amount; an
optional transaction_id first or last and an optional Class anywhere).

  fraudguard score --file tx.csv --out scored.csv [--model-path models/] [--model-version V]
  fraudguard score --file tx.csv --out scored.csv --url http://localhost:8000 [--api-key K]

Without --url the file is scored here with the newest model bundle under --model-path (or
--model-version), on every core. With --url it is sent gzipped to that fraudguard server as a
background batch job; the command follows the job's progress and downloads its results.

The output is the input, each row's text exactly as given, with three columns appended:
fraud_probability (shortest decimal that reads back as the same float64), is_fraud (true or
false) and risk_level (low, medium, high, critical). Blank lines are left out and every row
ends with the line ending it had (CRLF or LF). When the server scores every row, both modes
give the same bytes for the same file and model.

Locally, a row that cannot be read stops the command with the file, line and column at fault,
and nothing is written. With --url the server decides: when it marks rows invalid, a fourth
column, error, holds why (the three result columns are then empty on those rows), the file is
still written, and the command exits with status 1.

Output to a file goes to a temporary file beside it, renamed into place only when complete;
--out - writes to standard output instead. Progress goes to standard error: a bar on a
terminal, a line every tenth of the work or every 5s otherwise. Interrupting the wait for a
job (Ctrl-C) leaves the job running on the server and prints its id and URLs.`

// The columns the output adds to the input's.
const (
	colProbability = dataset.ColumnProbability
	colIsFraud     = dataset.ColumnIsFraud
	colRisk        = dataset.ColumnRisk
	colError       = dataset.ColumnError
)

// Local scoring works on chunks of rows: the reader cuts the input into chunks of whole
// records, workers parse, score and format them in parallel, and the writer writes them back
// in input order.
const (
	chunkRows  = 4096
	chunkBytes = 4 << 20
	// maxRecordBytes bounds one CSV record: past it a quoted field is taken as never closed,
	// rather than reading the rest of the file into memory.
	maxRecordBytes = 1 << 20
	ioBufferSize   = 1 << 20
)

// scoreOptions are runScore's flags, checked.
type scoreOptions struct {
	file, out    string
	modelPath    string
	modelVersion string
	server       *url.URL
	apiKey       string
	poll         time.Duration
	quiet        bool
}

// runScore implements "fraudguard score".
func runScore(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("score", scoreSummary, stderr)
	file := fs.String("file", "", `CSV file of transactions to score (required); "-" reads standard input (local scoring only)`)
	out := fs.String("out", "", `CSV file to write (required); "-" writes to standard output`)
	modelPath := fs.String("model-path", defaultModelPath(getenv), "directory of model bundles (env MODEL_PATH); not with --url")
	modelVersion := fs.String("model-version", "", "version of the model bundle to use (default: the newest); not with --url")
	serverURL := fs.String("url", "", "score on this fraudguard server as a background batch job, e.g. http://localhost:8000")
	apiKey := fs.String("api-key", "", "with --url: API key with the batch scope (default: env FRAUDGUARD_API_KEY)")
	poll := fs.Duration("poll", 500*time.Millisecond, "with --url: how often to ask for the job's status")
	quiet := fs.Bool("quiet", false, "write no progress and no summary to standard error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	o := scoreOptions{file: *file, out: *out, modelPath: *modelPath, modelVersion: *modelVersion,
		apiKey: *apiKey, poll: *poll, quiet: *quiet}
	if o.file == "" {
		return usageError{errors.New(`score: --file is required: the CSV file to score, or "-" for standard input`)}
	}
	if o.out == "" {
		return usageError{errors.New(`score: --out is required: the CSV file to write, or "-" for standard output`)}
	}
	if *serverURL != "" {
		for _, name := range []string{"model-path", "model-version"} {
			if set[name] {
				return usageError{fmt.Errorf("score: --%s cannot be combined with --url, where the server's model scores; drop one of them", name)}
			}
		}
		u, err := url.Parse(*serverURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageError{fmt.Errorf("score: --url %q is not a server URL; allowed: http://host:port or https://host:port", *serverURL)}
		}
		o.server = u
		if o.file == "-" {
			return usageError{errors.New("score: --file - cannot be combined with --url: the file is read twice, to send it and to join the results to it")}
		}
		if o.apiKey == "" {
			o.apiKey = getenv("FRAUDGUARD_API_KEY")
		}
		if o.poll <= 0 {
			return usageError{fmt.Errorf("score: --poll %v is out of range; allowed: a positive duration such as 500ms", o.poll)}
		}
	} else {
		for _, name := range []string{"api-key", "poll"} {
			if set[name] {
				return usageError{fmt.Errorf("score: --%s needs --url, the server to score on", name)}
			}
		}
	}
	if err := checkScoreOut(o.file, o.out); err != nil {
		return err
	}
	if o.server != nil {
		return scoreRemote(ctx, o, stdout, stderr)
	}
	return scoreLocal(ctx, o, stdin, stdout, stderr)
}

// defaultModelPath is --model-path's default: MODEL_PATH, as for serve, or models/.
func defaultModelPath(getenv func(string) string) string {
	if p := getenv("MODEL_PATH"); p != "" {
		return p
	}
	return "models/"
}

// checkScoreOut rejects, before any work, an output path that is a directory or the input.
func checkScoreOut(in, out string) error {
	if isStdout(out) {
		return nil
	}
	fo, err := os.Stat(out)
	if err != nil {
		return nil // a new file
	}
	if fo.IsDir() {
		return usageError{fmt.Errorf("score: --out %q is a directory; allowed: a file path, or \"-\" for standard output", out)}
	}
	if fi, err := os.Stat(in); err == nil && os.SameFile(fi, fo) {
		return usageError{fmt.Errorf("score: --out %q is the input file; write the scores to another file", out)}
	}
	return nil
}

// newBar returns a progress bar on stderr, or one writing nowhere with --quiet.
func (o scoreOptions) newBar(stderr io.Writer, label, unit string, total int64) *progress.Bar {
	if o.quiet {
		return progress.New(io.Discard, total, progress.Options{Label: label, Unit: unit})
	}
	return progress.New(stderr, total, progress.Options{Label: label, Unit: unit, Terminal: progress.IsTerminal(stderr)})
}

// writeOutput runs write on a buffered writer over standard output or a temporary file
// renamed over path once write has succeeded.
func writeOutput(path string, stdout io.Writer, write func(w *bufio.Writer) error) error {
	run := func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, ioBufferSize)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	if isStdout(path) {
		return run(stdout)
	}
	return writeFileAtomic(path, run)
}

// openInput opens the file to score, "-" being standard input, and returns its size when it
// is known (0 otherwise) and the name that errors give it.
func openInput(path string, stdin io.Reader) (io.ReadCloser, string, int64, error) {
	if path == "-" {
		return io.NopCloser(stdin), "stdin", 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", 0, err
	}
	var size int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return f, path, size, nil
}

// ---- local scoring ----

func scoreLocal(ctx context.Context, o scoreOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	m, err := model.LoadLatest(o.modelPath, o.modelVersion)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	in, name, size, err := openInput(o.file, stdin)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	defer in.Close()

	bar := o.newBar(stderr, "scoring", "rows", size)
	var sum streamSummary
	err = writeOutput(o.out, stdout, func(w *bufio.Writer) error {
		var err error
		sum, err = scoreStream(ctx, m, in, name, w, bar, runtime.GOMAXPROCS(0))
		return err
	})
	if err != nil {
		bar.Stop()
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			if isStdout(o.out) {
				return errors.New("score: interrupted")
			}
			return fmt.Errorf("score: interrupted; nothing written to %s", o.out)
		}
		return fmt.Errorf("score: %w", err)
	}
	bar.Finish()
	if !o.quiet {
		fmt.Fprintf(stderr, "fraudguard score: %d rows, %d flagged as fraud, by model %s; wrote %s\n",
			sum.rows, sum.frauds, m.Version(), outName(o.out))
	}
	return nil
}

func outName(path string) string {
	if isStdout(path) {
		return "standard output"
	}
	return path
}

// streamSummary counts what scoreStream wrote.
type streamSummary struct {
	rows, frauds int64
}

// span locates one record in a buffer: its text is buf[start:end] and its line ending
// buf[end:next]; it starts on line line of the input.
type span struct {
	start, end, next int
	line             int
}

// chunk is a run of whole records on its way through scoreStream.
type chunk struct {
	data      []byte // the records and the blank lines between them, as read
	recs      []span
	firstLine int   // the line data starts on
	end       int64 // the input offset just past data
	readErr   error // what stopped the reader after this chunk's records, if anything

	x      [fraud.NumFeatures]float64 // the row being scored, kept here so that it never escapes per row
	out    []byte                     // the scored rows, formatted
	frauds int64
	err    error // the first problem, in input order
	done   chan struct{}
}

// scoreStream scores the CSV input in, named name in errors, and writes the header and the
// scored rows to w. The first problem in input order — a bad header or row (a *dataset.Error
// naming line and column), a read or write failure, ctx being cancelled — stops it.
func scoreStream(ctx context.Context, m *model.Model, in io.Reader, name string, w io.Writer, bar *progress.Bar, workers int) (streamSummary, error) {
	var sum streamSummary
	s := newSplitter(in, name)
	prefix, hdr, err := s.header()
	if err != nil && err != io.EOF {
		return sum, err
	}
	// The header alone, with the blank lines before it, goes through the dataset reader so that
	// its problems are reported the usual way; an empty input is one of them.
	if _, err := dataset.NewReader(bytes.NewReader(prefix), name, dataset.Options{}); err != nil {
		return sum, err
	}
	header := prefix[hdr.start:hdr.next]
	headerLines := bytes.Count(header, []byte{'\n'})
	if _, err := w.Write(appendOutputHeader(nil, prefix, hdr, false)); err != nil {
		return sum, err
	}

	workers = max(workers, 1)
	inflight := 2*workers + 2
	free := make(chan *chunk, inflight)
	for range inflight {
		free <- &chunk{}
	}
	ordered := make(chan *chunk, inflight) // never full: there are only inflight chunks
	work := make(chan *chunk)
	g, gctx := errgroup.WithContext(ctx)

	g.Go(func() error {
		defer close(ordered)
		defer close(work)
		for {
			var c *chunk
			select {
			case c = <-free:
			case <-gctx.Done():
				return gctx.Err()
			}
			more := s.fill(c)
			if len(c.recs) == 0 && c.readErr == nil {
				return nil
			}
			c.done = make(chan struct{})
			ordered <- c
			select {
			case work <- c:
			case <-gctx.Done():
				return gctx.Err()
			}
			if !more {
				return nil
			}
		}
	})
	for range workers {
		g.Go(func() error {
			for c := range work {
				scoreChunk(m, name, header, headerLines, c)
			}
			return nil
		})
	}
	g.Go(func() error {
		for c := range ordered {
			select {
			case <-c.done:
			case <-gctx.Done():
				return gctx.Err()
			}
			if c.err != nil {
				return c.err
			}
			if _, err := w.Write(c.out); err != nil {
				return err
			}
			sum.rows += int64(len(c.recs))
			sum.frauds += c.frauds
			bar.Update(c.end, sum.rows)
			free <- c
		}
		return gctx.Err()
	})
	err = g.Wait()
	return sum, err
}

// scoreChunk parses, scores and formats the records of c, leaving the outcome in c and
// closing c.done. Each chunk gets its own dataset reader, fed the header and then the chunk,
// so that chunks are parsed in parallel; the line numbers of its errors are moved back to
// where the chunk sits in the input.
func scoreChunk(m *model.Model, name string, header []byte, headerLines int, c *chunk) {
	defer close(c.done)
	c.out, c.frauds, c.err = c.out[:0], 0, nil
	rd, err := dataset.NewReader(io.MultiReader(bytes.NewReader(header), bytes.NewReader(c.data)), name, dataset.Options{})
	if err != nil {
		c.err = fmt.Errorf("%s: the header read differently the second time: %w", name, err)
		return
	}
	shift := c.firstLine - headerLines - 1 // from the chunk reader's lines to the input's
	for i := range c.recs {
		r := &c.recs[i]
		rec, err := rd.Next()
		if err != nil {
			c.err = shiftLines(err, shift, name, r.line)
			return
		}
		if rec.Line+shift != r.line {
			c.err = &dataset.Error{File: name, Line: r.line, Problem: fmt.Sprintf("internal error: the CSV reader started a record on line %d", rec.Line+shift)}
			return
		}
		c.x = rec.Features
		sc := m.Score(&c.x)
		if sc.IsFraud {
			c.frauds++
		}
		c.out = appendScoredRow(c.out, c.data, *r, sc.Probability, sc.IsFraud, string(sc.Risk), false)
	}
	c.err = c.readErr
}

// shiftLines moves the line of a *dataset.Error by shift; io.EOF, which means the reader saw
// fewer records than the splitter, becomes an error at line.
func shiftLines(err error, shift int, name string, line int) error {
	if err == io.EOF {
		return &dataset.Error{File: name, Line: line, Problem: "internal error: the CSV reader found no record here"}
	}
	var de *dataset.Error
	if errors.As(err, &de) {
		moved := *de
		if moved.Line > 0 {
			moved.Line += shift
		}
		return &moved
	}
	return err
}

// appendOutputHeader appends the input's header (without the blank lines that may precede it)
// and the names of the added columns.
func appendOutputHeader(dst, buf []byte, hdr span, withError bool) []byte {
	dst = append(dst, buf[hdr.start:hdr.end]...)
	dst = append(dst, ","+colProbability+","+colIsFraud+","+colRisk...)
	if withError {
		dst = append(dst, ","+colError...)
	}
	return appendEOL(dst, buf[hdr.end:hdr.next])
}

// appendScoredRow appends a record's text followed by its three result columns and, with
// errorCell, an empty error column.
func appendScoredRow(dst, buf []byte, r span, p float64, isFraud bool, risk string, errorCell bool) []byte {
	dst = append(dst, buf[r.start:r.end]...)
	dst = appendResult(dst, p, isFraud, risk)
	if errorCell {
		dst = append(dst, ',')
	}
	return appendEOL(dst, buf[r.end:r.next])
}

func appendResult(dst []byte, p float64, isFraud bool, risk string) []byte {
	return dataset.AppendScores(append(dst, ','), p, isFraud, fraud.RiskLevel(risk))
}

// appendEOL ends a row the way its record ended: CRLF stays CRLF, anything else (LF, or
// nothing on a last line) becomes LF.
func appendEOL(dst, eol []byte) []byte {
	if len(eol) == 2 && eol[0] == '\r' {
		return append(dst, '\r', '\n')
	}
	return append(dst, '\n')
}

// ---- splitting records ----

// splitter cuts a CSV input into whole records without parsing their fields, at the places
// encoding/csv (and so the dataset reader) ends them: at a line feed outside quotes. Blank
// lines, which encoding/csv skips, are kept in the buffer (they count for line numbers) but
// are not records. On input the CSV reader accepts both agree record for record; on any other
// the dataset reader reports the problem.
type splitter struct {
	name string
	r    *bufio.Reader
	line int   // lines read so far
	off  int64 // bytes read so far
	eof  bool
	err  error // a read failure, returned from then on
}

func newSplitter(r io.Reader, name string) *splitter {
	return &splitter{name: name, r: bufio.NewReaderSize(r, ioBufferSize)}
}

// header reads the first record, with any blank lines before it, into a new buffer.
func (s *splitter) header() ([]byte, span, error) {
	buf, hdr, err := s.next(nil)
	return buf, hdr, err
}

// fill reads up to chunkRows records, or about chunkBytes, into c and reports whether there
// may be more. A read failure is left in c.readErr, to be reported after c's records.
func (s *splitter) fill(c *chunk) bool {
	c.data, c.recs, c.readErr = c.data[:0], c.recs[:0], nil
	c.firstLine = s.line + 1
	defer func() { c.end = s.off }()
	for len(c.recs) < chunkRows && len(c.data) < chunkBytes {
		var r span
		var err error
		c.data, r, err = s.next(c.data)
		if err == io.EOF {
			return false
		}
		if err != nil {
			c.readErr = err
			return false
		}
		c.recs = append(c.recs, r)
	}
	return true
}

// next appends the next record, and the blank lines before it, to buf. It returns io.EOF at
// the end of the input.
func (s *splitter) next(buf []byte) ([]byte, span, error) {
	for {
		if s.err != nil {
			return buf, span{}, s.err
		}
		if s.eof {
			return buf, span{}, io.EOF
		}
		start, line, quotes := len(buf), s.line+1, 0
	record:
		for {
			part, err := s.r.ReadSlice('\n')
			buf = append(buf, part...)
			s.off += int64(len(part))
			quotes += countQuotes(part)
			switch err {
			case nil:
				s.line++
				if quotes%2 == 0 {
					break record
				}
			case bufio.ErrBufferFull:
			case io.EOF:
				if len(part) > 0 {
					s.line++
				}
				s.eof = true
				break record
			default:
				s.err = fmt.Errorf("read %s: %w", s.name, err)
				return buf, span{}, s.err
			}
			if len(buf)-start > maxRecordBytes {
				s.err = &dataset.Error{File: s.name, Line: line,
					Problem: fmt.Sprintf("record longer than %d bytes: is a quoted field never closed?", maxRecordBytes)}
				return buf, span{}, s.err
			}
		}
		r := span{start: start, end: len(buf), next: len(buf), line: line}
		switch {
		case r.end > start && buf[r.end-1] == '\n':
			r.end--
			if r.end > start && buf[r.end-1] == '\r' {
				r.end--
			}
		case r.end > start && buf[r.end-1] == '\r' && s.eof:
			r.end-- // encoding/csv drops a carriage return just before the end
		}
		if r.end == r.start {
			continue // a blank line
		}
		return buf, r, nil
	}
}

func countQuotes(b []byte) int {
	n := 0
	for {
		i := bytes.IndexByte(b, '"')
		if i < 0 {
			return n
		}
		n++
		b = b[i+1:]
	}
}

// ---- remote scoring ----

// batchClient talks to a fraudguard server's batch API.
type batchClient struct {
	base   *url.URL
	apiKey string
	http   *http.Client
}

// batchAccepted is the answer to POST /batch.
type batchAccepted struct {
	JobID      string `json:"job_id"`
	Status     string `json:"status"`
	StatusURL  string `json:"status_url"`
	ResultsURL string `json:"results_url"`
}

// batchStatus is the answer to GET /batch/{job_id}/status.
type batchStatus struct {
	JobID           string          `json:"job_id"`
	Status          string          `json:"status"`
	ProgressPercent float64         `json:"progress_percent"`
	ProcessedCount  int64           `json:"processed_count"`
	TotalCount      int64           `json:"total_count"`
	InvalidCount    int64           `json:"invalid_count"`
	FraudCount      int64           `json:"fraud_count"`
	Error           json.RawMessage `json:"error"`
}

// errorText returns the status's error as text, whether the server sent a string or an
// error object.
func (st batchStatus) errorText() string {
	if len(st.Error) == 0 || string(st.Error) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(st.Error, &s) == nil {
		return s
	}
	var e serverError
	if json.Unmarshal(st.Error, &e) == nil && e.Message != "" {
		return e.Error()
	}
	return string(st.Error)
}

// serverError is an error answer of the API: its JSON body, or the start of whatever body
// came instead.
type serverError struct {
	Status     int              `json:"-"`
	ErrorCode  string           `json:"error_code"`
	Message    string           `json:"message"`
	Details    []map[string]any `json:"details"`
	RequestID  string           `json:"request_id"`
	RetryAfter int              `json:"retry_after"`
}

func (e *serverError) Error() string {
	var b strings.Builder
	b.WriteString("server: ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d ", e.Status)
	}
	if e.ErrorCode != "" {
		b.WriteString(e.ErrorCode)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	for _, d := range e.Details {
		b.WriteString("; ")
		if f, ok := d["field"]; ok {
			fmt.Fprintf(&b, "%v: %v", f, d["problem"])
		} else {
			data, _ := json.Marshal(d)
			b.Write(data)
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	return b.String()
}

// retryable reports whether asking again later may succeed.
func (e *serverError) retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable ||
		e.Status == http.StatusBadGateway || e.Status == http.StatusGatewayTimeout
}

// readServerError builds the error of a response that is not a success.
func readServerError(resp *http.Response) *serverError {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &serverError{}
	if json.Unmarshal(data, e) != nil || (e.Message == "" && e.ErrorCode == "") {
		e = &serverError{Message: strings.TrimSpace(string(data))}
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "..."
		}
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
	}
	e.Status = resp.StatusCode
	if e.RetryAfter == 0 {
		e.RetryAfter, _ = strconv.Atoi(resp.Header.Get("Retry-After"))
	}
	return e
}

// resolve turns a URL the server gave (often a path) into an absolute one; fallback is used
// when the server gave none.
func (c *batchClient) resolve(ref string, fallback ...string) string {
	if ref == "" {
		return c.base.JoinPath(fallback...).String()
	}
	u, err := url.Parse(ref)
	if err != nil {
		return c.base.JoinPath(fallback...).String()
	}
	return c.base.ResolveReference(u).String()
}

// do sends a request with the API key and returns the response if it is a success; any other
// answer is a *serverError.
func (c *batchClient) do(ctx context.Context, method, target string, body io.Reader, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.apiKey != "" {
		req.Header.Set("X-API-Key", c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, readServerError(resp)
	}
	return resp, nil
}

// getJSON GETs target and decodes its JSON answer into v; it returns the answer's header.
func (c *batchClient) getJSON(ctx context.Context, target string, v any) (http.Header, error) {
	resp, err := c.do(ctx, http.MethodGet, target, nil, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %w", target, err)
	}
	return resp.Header, nil
}

// submit sends the file as a new job, gzipped on the fly while it is read.
func (c *batchClient) submit(ctx context.Context, f io.Reader, bar *progress.Bar) (batchAccepted, error) {
	var acc batchAccepted
	pr, pw := io.Pipe()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		_, err := io.Copy(zw, &countingReader{r: f, report: func(n int64) { bar.Update(n, n) }})
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err) // nil: the body ends
	}()
	target := c.base.JoinPath("batch").String()
	resp, err := c.do(ctx, http.MethodPost, target, pr, http.Header{
		"Content-Type":     {"text/csv"},
		"Content-Encoding": {"gzip"},
		"Accept":           {"application/json"},
	})
	// The server may answer before it has read everything (to refuse the upload, say).
	pr.CloseWithError(errors.New("upload stopped"))
	<-copied
	if err != nil {
		return acc, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&acc); err != nil {
		return acc, fmt.Errorf("POST %s: reading the answer: %w", target, err)
	}
	if acc.JobID == "" {
		return acc, fmt.Errorf("POST %s: the answer has no job_id", target)
	}
	return acc, nil
}

// countingReader reports how many bytes have been read so far.
type countingReader struct {
	r      io.Reader
	n      int64
	report func(n int64)
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.n += int64(n)
	cr.report(cr.n)
	return n, err
}

// maxPollFailures is how many status requests in a row may fail (network, 5xx, no answer
// within statusTimeout) before the wait is given up; the job keeps running either way. Being
// rate limited is not a failure.
const (
	maxPollFailures = 5
	statusTimeout   = 30 * time.Second
)

// wait polls the job's status every poll until it has finished, and returns the last status.
func (c *batchClient) wait(ctx context.Context, statusURL string, poll time.Duration, bar *progress.Bar) (batchStatus, error) {
	failures := 0
	for {
		var st batchStatus
		rctx, cancel := context.WithTimeout(ctx, statusTimeout)
		header, err := c.getJSON(rctx, statusURL, &st)
		cancel()
		delay := poll
		if err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			var se *serverError
			if errors.As(err, &se) && !se.retryable() {
				return st, err
			}
			if se != nil && se.Status == http.StatusTooManyRequests {
				delay = max(delay, time.Duration(se.RetryAfter)*time.Second)
			} else if failures++; failures >= maxPollFailures {
				return st, fmt.Errorf("%d status requests in a row failed, the last with: %w", failures, err)
			} else if se != nil && se.RetryAfter > 0 {
				delay = max(delay, time.Duration(se.RetryAfter)*time.Second)
			}
		} else {
			failures = 0
			delay = pace(poll, header)
			// The share comes from the server, in hundredths of a percent; the rate from the
			// rows it has scored.
			bar.Update(int64(st.ProgressPercent*100), st.ProcessedCount)
			if done, err := jobOutcome(st); done || err != nil {
				return st, err
			}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, ctx.Err()
		case <-t.C:
		}
	}
}

// jobOutcome tells from a status whether the job has finished, and if it has not completed,
// why.
func jobOutcome(st batchStatus) (bool, error) {
	switch fraud.JobStatus(st.Status) {
	case fraud.JobCompleted:
		return true, nil
	case fraud.JobFailed:
		msg := st.errorText()
		if msg == "" {
			msg = "no reason given"
		}
		return true, fmt.Errorf("the job failed on the server: %s", msg)
	case fraud.JobCancelled:
		return true, errors.New("the job was cancelled on the server")
	}
	return false, nil
}

// pace returns how long to wait before the next status request: poll, or longer once the
// RateLimit headers say that less than half of the client's budget is left, so that
// following a job spends at most half of the rate fraudguard allows (its RateLimit-Limit is
// the requests per minute) and never runs into the limit, whose hits count towards blocking
// the client's address.
func pace(poll time.Duration, h http.Header) time.Duration {
	limit, err := strconv.Atoi(h.Get("RateLimit-Limit"))
	if err != nil || limit <= 0 {
		return poll
	}
	remaining, err := strconv.Atoi(h.Get("RateLimit-Remaining"))
	if err != nil || remaining >= limit/2 {
		return poll
	}
	return max(poll, 2*time.Minute/time.Duration(limit))
}

func scoreRemote(ctx context.Context, o scoreOptions, stdout, stderr io.Writer) error {
	c := &batchClient{base: o.server, apiKey: o.apiKey, http: &http.Client{}}
	f, name, size, err := openInput(o.file, nil)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	up := o.newBar(stderr, "uploading", "bytes", size)
	acc, err := c.submit(ctx, f, up)
	f.Close()
	if err != nil {
		up.Stop()
		if ctx.Err() != nil {
			return errors.New("score: interrupted while sending the file; no job was started")
		}
		return fmt.Errorf("score: sending %s to %s: %w", name, c.base.Redacted(), err)
	}
	up.Finish()
	statusURL := c.resolve(acc.StatusURL, "batch", acc.JobID, "status")
	resultsURL := c.resolve(acc.ResultsURL, "batch", acc.JobID, "results")
	if !o.quiet {
		fmt.Fprintf(stderr, "fraudguard score: job %s accepted; status at %s\n", acc.JobID, statusURL)
	}
	// later tells how to pick the job up again after the command gave up on it.
	later := func(what string) error {
		return fmt.Errorf("score: %s; job %s stays on the server: status at %s, results at %s (Accept: text/csv)",
			what, acc.JobID, statusURL, resultsURL)
	}

	sc := o.newBar(stderr, "scoring", "rows", 100*100)
	st, err := c.wait(ctx, statusURL, o.poll, sc)
	if err != nil {
		sc.Stop()
		if ctx.Err() != nil {
			return later("stopped waiting for the job")
		}
		if st.Status == string(fraud.JobFailed) || st.Status == string(fraud.JobCancelled) {
			return fmt.Errorf("score: job %s: %w", acc.JobID, err)
		}
		return later(fmt.Sprintf("following the job: %v", err))
	}
	sc.Finish()

	down := o.newBar(stderr, "downloading", "rows", st.TotalCount)
	var sum joinSummary
	err = writeOutput(o.out, stdout, func(w *bufio.Writer) error {
		resp, err := c.do(ctx, http.MethodGet, resultsURL, nil, http.Header{"Accept": {"text/csv"}})
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		parse, err := os.Open(o.file)
		if err != nil {
			return err
		}
		defer parse.Close()
		raw, err := os.Open(o.file)
		if err != nil {
			return err
		}
		defer raw.Close()
		sum, err = joinResults(ctx, parse, raw, name, resp.Body, w, st.InvalidCount > 0, down)
		return err
	})
	if err != nil {
		down.Stop()
		left := "nothing written to " + o.out
		if isStdout(o.out) {
			left = "standard output is incomplete"
		}
		if ctx.Err() != nil {
			return later("interrupted while downloading the results; " + left)
		}
		return later(fmt.Sprintf("downloading the results: %v; %s", err, left))
	}
	down.Finish()
	if !o.quiet {
		fmt.Fprintf(stderr, "fraudguard score: job %s: %d rows, %d flagged as fraud, %d invalid; wrote %s\n",
			acc.JobID, sum.rows, sum.frauds, sum.invalid, outName(o.out))
	}
	if sum.invalid > 0 {
		return fmt.Errorf("score: %d of %d rows could not be scored (the first, %s:%d: %s); the error column of %s says why for each",
			sum.invalid, sum.rows, name, sum.firstInvalidLine, sum.firstInvalid, outName(o.out))
	}
	return nil
}

// joinSummary counts what joinResults wrote.
type joinSummary struct {
	rows, frauds, invalid int64
	firstInvalid          string
	firstInvalidLine      int
}

// joinResults writes the input, named name, with each row's results from the job's results
// CSV appended; withError adds the error column. parse and raw read the input twice over (see
// csvRecords). The results must hold one row per input record, in order, their row column
// counting from 0.
func joinResults(ctx context.Context, parse, raw io.Reader, name string, results io.Reader, w io.Writer, withError bool, bar *progress.Bar) (joinSummary, error) {
	var sum joinSummary
	cr := csv.NewReader(bufio.NewReaderSize(results, ioBufferSize))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return sum, fmt.Errorf("results: reading the header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, need := range []string{"row", colProbability, colIsFraud, colRisk} {
		if _, ok := col[need]; !ok {
			return sum, fmt.Errorf("results: no %s column in the header %q", need, strings.Join(head, ","))
		}
	}
	rowCol, probCol, fraudCol, riskCol := col["row"], col[colProbability], col[colIsFraud], col[colRisk]
	errCol, hasErr := col[colError]

	recs := newCSVRecords(parse, raw, name)
	buf, hdr, err := recs.next()
	if err == io.EOF {
		return sum, fmt.Errorf("%s: empty file", name)
	}
	if err != nil {
		return sum, err
	}
	out := appendOutputHeader(make([]byte, 0, 64<<10), buf, hdr, withError)
	for i := int64(0); ; i++ {
		if i%chunkRows == 0 {
			if err := ctx.Err(); err != nil {
				return sum, err
			}
			bar.Update(i, i)
		}
		var r span
		buf, r, err = recs.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, err
		}
		res, err := cr.Read()
		if err == io.EOF {
			return sum, fmt.Errorf("results: %d rows, but %s has more (line %d)", i, name, r.line)
		}
		if err != nil {
			return sum, fmt.Errorf("results: %w", err)
		}
		if got, err := strconv.ParseInt(res[rowCol], 10, 64); err != nil || got != i {
			return sum, fmt.Errorf("results: row %q where row %d (%s line %d) was expected", res[rowCol], i, name, r.line)
		}
		sum.rows++
		if hasErr && res[errCol] != "" {
			if !withError {
				return sum, fmt.Errorf("results: row %d is invalid (%s) though the job's status counted no invalid rows", i, res[errCol])
			}
			if sum.invalid == 0 {
				sum.firstInvalid, sum.firstInvalidLine = res[errCol], r.line
			}
			sum.invalid++
			out = append(out, buf[r.start:r.end]...)
			out = append(out, ",,,,"...)
			out = dataset.AppendField(out, res[errCol])
			out = appendEOL(out, buf[r.end:r.next])
		} else {
			p, perr := strconv.ParseFloat(res[probCol], 64)
			isFraud, ferr := strconv.ParseBool(res[fraudCol])
			if perr != nil || ferr != nil || res[riskCol] == "" {
				return sum, fmt.Errorf("results: row %d: cannot read %s %q, %s %q, %s %q", i,
					colProbability, res[probCol], colIsFraud, res[fraudCol], colRisk, res[riskCol])
			}
			if isFraud {
				sum.frauds++
			}
			out = appendScoredRow(out, buf, r, p, isFraud, res[riskCol], withError)
		}
		if len(out) >= ioBufferSize/2 {
			if _, err := w.Write(out); err != nil {
				return sum, err
			}
			out = out[:0]
		}
	}
	if _, err := cr.Read(); err != io.EOF {
		return sum, fmt.Errorf("results: more rows than the %d of %s", sum.rows, name)
	}
	bar.Update(sum.rows, sum.rows)
	_, err = w.Write(out)
	return sum, err
}

// csvRecords reads a CSV input record by record exactly as encoding/csv does — and so as the
// server's dataset reader does, which counts rows by it, malformed records included — and gives
// each record's text as it is in the input. encoding/csv parses one reader over the input and
// says where each record ends; the text is copied from a second reader by those offsets.
type csvRecords struct {
	name string
	cr   *csv.Reader
	raw  *bufio.Reader
	off  int64
	buf  []byte
}

func newCSVRecords(parse, raw io.Reader, name string) *csvRecords {
	cr := csv.NewReader(bufio.NewReaderSize(parse, ioBufferSize))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return &csvRecords{name: name, cr: cr, raw: bufio.NewReaderSize(raw, ioBufferSize)}
}

// next returns a buffer holding the next record, malformed or not, and where it lies in it:
// its text without the blank lines before it, and its line ending. The buffer is reused by the
// next call. At the end of the input it returns io.EOF.
func (r *csvRecords) next() ([]byte, span, error) {
	_, err := r.cr.Read()
	if err == io.EOF {
		return nil, span{}, io.EOF
	}
	var line int
	var pe *csv.ParseError
	switch {
	case err == nil:
		line, _ = r.cr.FieldPos(0)
	case errors.As(err, &pe):
		line = pe.StartLine
	default:
		return nil, span{}, fmt.Errorf("read %s: %w", r.name, err)
	}
	end := r.cr.InputOffset()
	n := int(end - r.off)
	if cap(r.buf) < n {
		r.buf = make([]byte, n, 2*n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.raw, r.buf); err != nil {
		return nil, span{}, fmt.Errorf("read %s: %w", r.name, err)
	}
	r.off = end
	b := r.buf
	sp := span{end: len(b), next: len(b), line: line}
	for { // blank lines, which encoding/csv skips
		if sp.start < len(b) && b[sp.start] == '\n' {
			sp.start++
		} else if sp.start+1 < len(b) && b[sp.start] == '\r' && b[sp.start+1] == '\n' {
			sp.start += 2
		} else {
			break
		}
	}
	if sp.end > sp.start && b[sp.end-1] == '\n' {
		sp.end--
	}
	if sp.end > sp.start && b[sp.end-1] == '\r' {
		// Before a line feed, or dropped by encoding/csv at the very end of the input.
		sp.end--
	}
	return b, sp, nil
}
