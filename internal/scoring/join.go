package scoring

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

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
	cr := csv.NewReader(bufio.NewReaderSize(results, 1<<20))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return sum, fmt.Errorf("results: reading the header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, need := range []string{dataset.ColumnRow, dataset.ColumnProbability, dataset.ColumnIsFraud, dataset.ColumnRisk} {
		if _, ok := col[need]; !ok {
			return sum, fmt.Errorf("results: no %s column in the header %q", need, strings.Join(head, ","))
		}
	}
	rowCol, probCol, fraudCol, riskCol := col[dataset.ColumnRow], col[dataset.ColumnProbability], col[dataset.ColumnIsFraud], col[dataset.ColumnRisk]
	errCol, hasErr := col[dataset.ColumnError]

	s := dataset.NewSplitter(in, name)
	buf, hdr, err := s.Next(nil)
	if err == io.EOF {
		return sum, fmt.Errorf("%s: empty file", name)
	}
	if err != nil {
		return sum, err
	}
	out := appendHeader(make([]byte, 0, 64<<10), buf, hdr, withError)
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
		res, err := cr.Read()
		if err == io.EOF {
			return sum, fmt.Errorf("results: %d rows, but %s has more (line %d)", i, name, r.Line)
		}
		if err != nil {
			return sum, fmt.Errorf("results: %w", err)
		}
		if got, err := strconv.ParseInt(res[rowCol], 10, 64); err != nil || got != i {
			return sum, fmt.Errorf("results: row %q where row %d (%s line %d) was expected", res[rowCol], i, name, r.Line)
		}
		sum.Rows++
		if hasErr && res[errCol] != "" {
			if !withError {
				return sum, fmt.Errorf("results: row %d is invalid (%s) though the job's status counted no invalid rows", i, res[errCol])
			}
			if sum.Invalid == 0 {
				sum.FirstInvalid, sum.FirstInvalidLine = res[errCol], r.Line
			}
			sum.Invalid++
			out = appendInvalidRow(out, buf, r, res[errCol])
		} else {
			p, perr := strconv.ParseFloat(res[probCol], 64)
			isFraud, ferr := strconv.ParseBool(res[fraudCol])
			if perr != nil || ferr != nil || res[riskCol] == "" {
				return sum, fmt.Errorf("results: row %d: cannot read %s %q, %s %q, %s %q", i,
					dataset.ColumnProbability, res[probCol], dataset.ColumnIsFraud, res[fraudCol], dataset.ColumnRisk, res[riskCol])
			}
			if isFraud {
				sum.Frauds++
			}
			out = appendScoredRow(out, buf, r, p, isFraud, fraud.RiskLevel(res[riskCol]), withError)
		}
		if len(out) >= flushBytes {
			if _, err := w.Write(out); err != nil {
				return sum, err
			}
			out = out[:0]
		}
	}
	if _, err := cr.Read(); err != io.EOF {
		return sum, fmt.Errorf("results: more rows than the %d of %s", sum.Rows, name)
	}
	progress.Update(sum.Rows, sum.Rows)
	_, err = w.Write(out)
	return sum, err
}
