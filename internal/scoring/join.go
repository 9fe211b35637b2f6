package scoring

import (
	"context"
	"fmt"
	"io"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
)

// flushBytes is how much output Join gathers before writing it.
const flushBytes = 512 << 10

// Join writes the input in, named name, with each row's results from a job's results CSV
// (dataset.ResultsHeader's columns) appended; withError adds the error column, filled for the
// rows the server could not score. The results must hold one row per input record, malformed
// records included, in order, their row column counting from 0.
func Join(ctx context.Context, in io.Reader, name string, results io.Reader, w io.Writer, withError bool, progress Progress) (Summary, error) {
	var sum Summary
	rr, err := dataset.NewResultsReader(results)
	if err != nil {
		return sum, err
	}
	var res fraud.JobResult

	s := dataset.NewSplitter(in, name)
	buf, hdr, err := s.Next(nil)
	if err == io.EOF {
		return sum, fmt.Errorf("%s: empty file", name)
	}
	if err != nil {
		return sum, err
	}
	out := appendHeader(make([]byte, 0, 64<<10), buf, hdr, withError, false)
	for i := int64(0); ; i++ {
		if i%ChunkRows == 0 {
			if err := ctx.Err(); err != nil {
				return sum, err
			}
			progress.Update(i, i)
		}
		var r dataset.Span
		buf, r, err = s.Next(buf[:0])
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, err
		}
		err = rr.Next(&res)
		if err == io.EOF {
			return sum, fmt.Errorf("results: %d rows, but %s has more (line %d)", i, name, r.Line)
		}
		if err != nil {
			return sum, err
		}
		if res.Row != i {
			return sum, fmt.Errorf("results: row %d where row %d (%s line %d) was expected", res.Row, i, name, r.Line)
		}
		sum.Rows++
		if res.Error != "" {
			if !withError {
				return sum, fmt.Errorf("results: row %d is invalid (%s) though the job's status counted no invalid rows", i, res.Error)
			}
			if sum.Invalid == 0 {
				sum.FirstInvalid, sum.FirstInvalidLine = res.Error, r.Line
			}
			sum.Invalid++
			out = appendInvalidRow(out, buf, r, res.Error, false)
		} else {
			if res.IsFraud {
				sum.Frauds++
			}
			out = appendScoredRow(out, buf, r, res.Probability, res.IsFraud, res.Risk, withError, nil)
		}
		if len(out) >= flushBytes {
			if _, err := w.Write(out); err != nil {
				return sum, err
			}
			out = out[:0]
		}
	}
	if err := rr.Next(&res); err != io.EOF {
		return sum, fmt.Errorf("results: more rows than the %d of %s", sum.Rows, name)
	}
	progress.Update(sum.Rows, sum.Rows)
	_, err = w.Write(out)
	return sum, err
}
