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
// records included, in order, their row column counting from 0. With explain, the results
// must have the reason columns, and the reasons follow the other columns as Stream writes them
// (empty on an invalid row).
func Join(ctx context.Context, in io.Reader, name string, results io.Reader, w io.Writer, withError, explain bool, progress Progress) (Summary, error) {
	var sum Summary
	rr, err := dataset.NewResultsReader(results)
	if err != nil {
		return sum, err
	}
	if explain && !rr.HasReasons() {
		return sum, fmt.Errorf("results: no reason columns (%s), though reasons were asked for", dataset.ReasonColumns[1:])
	}
	var reasons []byte
	var res fraud.JobResult

	s := dataset.NewSplitter(in, name)
	buf, hdr, err := s.Next(nil)
	if err == io.EOF {
		return sum, fmt.Errorf("%s: empty file", name)
	}
	if err != nil {
		return sum, err
	}
	out := appendHeader(make([]byte, 0, 64<<10), buf, hdr, withError, explain)
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
			out = appendInvalidRow(out, buf, r, res.Error, explain)
		} else {
			if res.IsFraud {
				sum.Frauds++
			}
			reasons = reasons[:0]
			if explain {
				if len(res.Reasons) != dataset.NumReasons {
					return sum, fmt.Errorf("results: row %d has %d reasons, want %d", i, len(res.Reasons), dataset.NumReasons)
				}
				for _, rs := range res.Reasons {
					reasons = dataset.AppendReason(append(reasons, ','), rs.Feature, rs.Contribution)
				}
			}
			out = appendScoredRow(out, buf, r, res.Probability, res.IsFraud, res.Risk, withError, reasons)
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
