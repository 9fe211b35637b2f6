package dataset

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

// ResultsReader reads a job's results as CSV, the format AppendResult writes: a header naming
// at least the row, fraud_probability, is_fraud and risk_level columns (in any order, with
// transaction_id, error and the reason columns optional), then one line per input row.
type ResultsReader struct {
	cr                                   *csv.Reader
	line                                 int
	row, prob, isFraud, risk, id, errCol int
	reasons                              []int // the reason columns, when the header has them all
}

// HasReasons reports whether the header has the reason columns (ReasonColumns).
func (rr *ResultsReader) HasReasons() bool { return rr.reasons != nil }

// NewResultsReader reads the header of results and returns a reader of its rows. A missing
// header or a missing required column is an error naming it.
func NewResultsReader(results io.Reader) (*ResultsReader, error) {
	cr := csv.NewReader(bufio.NewReaderSize(results, 1<<20))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("results: no header")
	}
	if err != nil {
		return nil, fmt.Errorf("results: reading the header: %w", err)
	}
	col := make(map[string]int, len(head))
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, need := range []string{ColumnRow, ColumnProbability, ColumnIsFraud, ColumnRisk} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("results: no %s column in the header %q", need, strings.Join(head, ","))
		}
	}
	at := func(name string) int {
		if i, ok := col[name]; ok {
			return i
		}
		return -1
	}
	rr := &ResultsReader{cr: cr, line: 1,
		row: col[ColumnRow], prob: col[ColumnProbability], isFraud: col[ColumnIsFraud], risk: col[ColumnRisk],
		id: at(ColumnID), errCol: at(ColumnError)}
	for _, name := range []string{ColumnReason1, ColumnReason2, ColumnReason3} {
		if i := at(name); i >= 0 {
			rr.reasons = append(rr.reasons, i)
		}
	}
	if n := len(rr.reasons); n != 0 && n != NumReasons {
		return nil, fmt.Errorf("results: the header %q has %d of the reason columns %s", strings.Join(head, ","), n, strings.TrimPrefix(ReasonColumns, ","))
	}
	return rr, nil
}

// Next reads the next row into r. It returns io.EOF after the last one, and an error naming
// the line and the column for a row that cannot be read: a scored row needs a probability in
// [0, 1], a boolean is_fraud and a risk level; a row with an error needs only its row number.
func (rr *ResultsReader) Next(r *fraud.JobResult) error {
	rec, err := rr.cr.Read()
	if err == io.EOF {
		return io.EOF
	}
	rr.line++
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	*r = fraud.JobResult{}
	if r.Row, err = strconv.ParseInt(rec[rr.row], 10, 64); err != nil || r.Row < 0 {
		return fmt.Errorf("results line %d: %s %q is not a row number", rr.line, ColumnRow, rec[rr.row])
	}
	if rr.id >= 0 {
		r.TransactionID = rec[rr.id]
	}
	if rr.errCol >= 0 && rec[rr.errCol] != "" {
		r.Error = rec[rr.errCol]
		return nil
	}
	p, perr := strconv.ParseFloat(rec[rr.prob], 64)
	isFraud, ferr := strconv.ParseBool(rec[rr.isFraud])
	risk := fraud.RiskLevel(rec[rr.risk])
	if perr != nil || !(p >= 0 && p <= 1) || ferr != nil || risk == "" {
		return fmt.Errorf("results line %d: cannot read %s %q, %s %q, %s %q", rr.line,
			ColumnProbability, rec[rr.prob], ColumnIsFraud, rec[rr.isFraud], ColumnRisk, rec[rr.risk])
	}
	r.Probability, r.IsFraud, r.Risk = p, isFraud, risk
	for _, i := range rr.reasons {
		if rec[i] == "" {
			continue
		}
		name, num, ok := strings.Cut(rec[i], ":")
		c, err := strconv.ParseFloat(num, 64)
		if !ok || name == "" || err != nil {
			return fmt.Errorf("results line %d: reason %q is not feature:contribution", rr.line, rec[i])
		}
		r.Reasons = append(r.Reasons, wire.Reason{Feature: name, Contribution: c})
	}
	return nil
}
