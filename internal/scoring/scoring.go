// Package scoring scores CSV files of transactions the way "fraudguard score" does: locally,
// in parallel, the output being the input rows as given with the result columns appended
// (Stream); or remotely, by sending the file to the server as a batch job through the client
// (Submit, Outcome) and joining the job's results, read back from the server, to the input
// rows (Join). Both write the same bytes for the same file and model. Rows are cut by
// dataset.Splitter and parsed by dataset.Reader; result columns are written by dataset.
package scoring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
)

// Progress is told how far the work has got: done in its own unit (input bytes for Stream,
// rows for Join), and the rows written.
type Progress interface {
	Update(done, rows int64)
}

// Stream works on chunks of rows: the reader cuts the input into chunks of whole records,
// workers parse, score and format them in parallel, and the writer writes them back in input
// order. A chunk holds at most ChunkRows records, or about chunkBytes.
const (
	ChunkRows  = 4096
	chunkBytes = 4 << 20
)

// Summary counts the rows written.
type Summary struct {
	Rows, Frauds int64
	// Invalid counts the rows the server could not score (Join only); FirstInvalid is the
	// first one's error and FirstInvalidLine its line in the input.
	Invalid          int64
	FirstInvalid     string
	FirstInvalidLine int
}

// chunk is a run of whole records on its way through Stream.
type chunk struct {
	data      []byte // the records and the blank lines between them, as read
	recs      []dataset.Span
	firstLine int   // the line data starts on
	end       int64 // the input offset just past data
	readErr   error // what stopped the reader after this chunk's records, if anything

	x       [fraud.NumFeatures]float64 // the row being scored, kept here so that it never escapes per row
	expl    model.Explanation          // with explain, the row's explanation
	idx     [fraud.NumFeatures]int     // with explain, its features in order of |contribution|
	reasons []byte                     // with explain, the row's reason cells
	out     []byte                     // the scored rows, formatted
	frauds  int64
	err     error // the first problem, in input order
	done    chan struct{}
}

// fill reads up to ChunkRows records, or about chunkBytes, from s into c and reports whether
// there may be more. A read failure is left in c.readErr, to be reported after c's records.
func (c *chunk) fill(s *dataset.Splitter) bool {
	c.data, c.recs, c.readErr = c.data[:0], c.recs[:0], nil
	c.firstLine = s.Line() + 1
	defer func() { c.end = s.Offset() }()
	for len(c.recs) < ChunkRows && len(c.data) < chunkBytes {
		var r dataset.Span
		var err error
		c.data, r, err = s.Next(c.data)
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

// Stream scores the CSV input in, named name in errors, with m on workers goroutines, and
// writes the header and the scored rows to w. With explain, each row also gets the reason
// columns (dataset.ReasonColumns): the dataset.NumReasons features of largest |contribution|
// in m's explanation of its margin, in model.TopFeatures order, as feature:contribution; a
// model that cannot be explained is an error (wrapping model.ErrNoCovers or
// errors.ErrUnsupported) before anything is written. The first problem in input order — a bad
// header or row (a *dataset.Error naming line and column), a read or write failure, ctx being
// cancelled — stops it.
func Stream(ctx context.Context, m *model.Model, in io.Reader, name string, w io.Writer, progress Progress, workers int, explain bool) (Summary, error) {
	var sum Summary
	if explain {
		if err := CanExplain(m); err != nil {
			return sum, err
		}
	}
	s := dataset.NewSplitter(in, name)
	prefix, hdr, err := s.Next(nil)
	if err != nil && err != io.EOF {
		return sum, err
	}
	// The header alone, with the blank lines before it, goes through the dataset reader so that
	// its problems are reported the usual way; an empty input is one of them.
	if _, err := dataset.NewReader(bytes.NewReader(prefix), name, dataset.Options{}); err != nil {
		return sum, err
	}
	header := prefix[hdr.Start:hdr.Next]
	headerLines := bytes.Count(header, []byte{'\n'})
	if _, err := w.Write(appendHeader(nil, prefix, hdr, false, explain)); err != nil {
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
			more := c.fill(s)
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
	names := fraud.FeatureNames()
	for range workers {
		g.Go(func() error {
			for c := range work {
				scoreChunk(m, name, header, headerLines, c, names, explain)
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
			sum.Rows += int64(len(c.recs))
			sum.Frauds += c.frauds
			progress.Update(c.end, sum.Rows)
			free <- c
		}
		return gctx.Err()
	})
	err = g.Wait()
	return sum, err
}

// CanExplain returns nil when m can explain its margins, and otherwise Explain's error,
// wrapping model.ErrNoCovers or errors.ErrUnsupported: whether a model can be explained does
// not depend on the row, so one row tells for all.
func CanExplain(m *model.Model) error {
	var x [fraud.NumFeatures]float64
	var e model.Explanation
	if err := m.Explain(&x, &e); err != nil {
		return fmt.Errorf("model %s cannot be explained: %w", m.Version(), err)
	}
	return nil
}

// scoreChunk parses, scores and formats the records of c, leaving the outcome in c and
// closing c.done; with explain, names are the features' names, for the reason cells. Each chunk gets its own dataset reader, fed the header and then the chunk,
// so that chunks are parsed in parallel; the line numbers of its errors are moved back to
// where the chunk sits in the input.
func scoreChunk(m *model.Model, name string, header []byte, headerLines int, c *chunk, names []string, explain bool) {
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
			c.err = shiftLines(err, shift, name, r.Line)
			return
		}
		if rec.Line+shift != r.Line {
			c.err = &dataset.Error{File: name, Line: r.Line, Problem: fmt.Sprintf("internal error: the CSV reader started a record on line %d", rec.Line+shift)}
			return
		}
		c.x = rec.Features
		sc := m.Score(&c.x)
		if sc.IsFraud {
			c.frauds++
		}
		c.reasons = c.reasons[:0]
		if explain {
			if err := m.Explain(&c.x, &c.expl); err != nil {
				c.err = &dataset.Error{File: name, Line: r.Line, Problem: fmt.Sprintf("explain: %v", err)}
				return
			}
			for _, j := range model.TopFeatures(&c.expl.Contributions, dataset.NumReasons, &c.idx) {
				c.reasons = dataset.AppendReason(append(c.reasons, ','), names[j], c.expl.Contributions[j])
			}
		}
		c.out = appendScoredRow(c.out, c.data, *r, sc.Probability, sc.IsFraud, sc.Risk, false, c.reasons)
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

// appendHeader appends the input's header (without the blank lines that may precede it) and
// the names of the added columns: the results, the error with withError, then the reasons with
// withReasons.
func appendHeader(dst, buf []byte, hdr dataset.Span, withError, withReasons bool) []byte {
	dst = append(dst, buf[hdr.Start:hdr.End]...)
	dst = append(dst, ","+dataset.ColumnProbability+","+dataset.ColumnIsFraud+","+dataset.ColumnRisk...)
	if withError {
		dst = append(dst, ","+dataset.ColumnError...)
	}
	if withReasons {
		dst = append(dst, dataset.ReasonColumns...)
	}
	return appendEOL(dst, buf[hdr.End:hdr.Next])
}

// appendScoredRow appends a record's text followed by its three result columns, with
// errorCell an empty error column, and then reasons: the reason cells, each after its comma,
// or nothing.
func appendScoredRow(dst, buf []byte, r dataset.Span, p float64, isFraud bool, risk fraud.RiskLevel, errorCell bool, reasons []byte) []byte {
	dst = append(dst, buf[r.Start:r.End]...)
	dst = dataset.AppendScores(append(dst, ','), p, isFraud, risk)
	if errorCell {
		dst = append(dst, ',')
	}
	dst = append(dst, reasons...)
	return appendEOL(dst, buf[r.End:r.Next])
}

// appendInvalidRow appends a record's text followed by empty result columns, its error and,
// with withReasons, empty reason cells.
func appendInvalidRow(dst, buf []byte, r dataset.Span, problem string, withReasons bool) []byte {
	dst = append(dst, buf[r.Start:r.End]...)
	dst = append(dst, ",,,,"...)
	dst = dataset.AppendField(dst, problem)
	if withReasons {
		dst = append(dst, dataset.EmptyReasons...)
	}
	return appendEOL(dst, buf[r.End:r.Next])
}

// appendEOL ends a row the way its record ended: CRLF stays CRLF, anything else (LF, or
// nothing on a last line) becomes LF.
func appendEOL(dst, eol []byte) []byte {
	if len(eol) == 2 && eol[0] == '\r' {
		return append(dst, '\r', '\n')
	}
	return append(dst, '\n')
}
