// Package dataset reads transactions in the creditcard.csv schema: a header row naming the
// columns Time, V1..V28 and Amount in that order, optionally an identifier column
// (transaction_id) first or last, a label column (Class) anywhere and, when the caller names
// one, a column of row weights anywhere, then one row per transaction.
//
// It is the one place that reads and writes such rows. Reader streams a file row by row without
// allocating per row beyond what encoding/csv needs, under the training rules or (CheckRules)
// the API's; ReadAll loads a labelled file column by column for training; Splitter cuts a file
// into records whose text is kept as it is, where encoding/csv ends them, so that they can be
// parsed in parallel and written back unchanged; AppendField, AppendScores and AppendResult
// write result columns, and ResultsReader reads a job's results back. Every problem with a
// transaction file's content is reported as an *Error naming the file, the line and the column.
package dataset

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// The names of the optional columns.
const (
	ColumnID    = "transaction_id"
	ColumnClass = "Class"
)

// Error is a problem with a file's content. Line is 1-based (the header is line 1); 0 means the
// problem concerns the whole file. Column is the header name of the column at fault, or "".
type Error struct {
	File    string
	Line    int
	Column  string
	Problem string
	// Err is the underlying error, if any (a *csv.ParseError's cause, say).
	Err error
}

// Error formats e as "file:line: column C: problem", leaving out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Column != "" {
		b.WriteString("column ")
		b.WriteString(e.Column)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Options are the optional settings of a Reader.
type Options struct {
	// RequireClass makes a header without a Class column an error.
	RequireClass bool
	// IgnoreClass reads past the Class column whatever it holds: new transactions have no
	// label. Record.Class is then -1.
	IgnoreClass bool
	// CheckRules checks every cell against the request rules of fraud.TransactionFields (the
	// bounds of Time and Amount, transaction_id's length and characters), as the API does,
	// and makes the *Error of a bad row list every bad cell ("column V1: ...; column Amount:
	// ..."), its Column left empty, instead of stopping at the first.
	CheckRules bool
	// WeightColumn, when not empty, names a column of row weights that the file must have:
	// finite numbers >= 0, how many transactions each row stands for. It may be anywhere in
	// the header but cannot be a feature, Class or transaction_id. Without it every row
	// weighs 1 and a column of that name is unknown.
	WeightColumn string
}

// Record is one row of a file.
type Record struct {
	// Line is the line on which the row starts.
	Line int
	// ID is the transaction_id cell, or "" when the file has no such column. It shares memory
	// with the row's text: strings.Clone it before keeping many of them.
	ID string
	// Features holds Time, V1..V28 and Amount, in fraud.FeatureNames order.
	Features [fraud.NumFeatures]float64
	// Class is the label, 0 (normal) or 1 (fraud), or -1 when the file has no Class column.
	Class int
	// Weight is the row's weight from Options.WeightColumn, or 1 without one.
	Weight float64
}

// Reader reads the rows of one creditcard.csv-style file. It is not safe for concurrent use.
type Reader struct {
	name     string
	csv      *csv.Reader
	columns  []string // header names, by position
	feature  []int    // feature index of each position, or -1
	idCol    int      // position of transaction_id, or -1
	classCol int      // position of Class, or -1
	wCol     int      // position of the weight column, or -1

	ignoreClass bool
	rules       []*fraud.FieldRule // with CheckRules: the rule of each feature, by index
	idRule      *fraud.FieldRule   // with CheckRules: transaction_id's rule
	problems    []string           // with CheckRules: the bad cells of the current row
}

// NewReader reads and checks the header of r, whose name (a file name, say) prefixes every
// error. A missing, unknown, duplicate or misplaced column is an *Error on line 1 naming the
// column; an empty input is an *Error too.
func NewReader(r io.Reader, name string, opts Options) (*Reader, error) {
	c := csv.NewReader(r)
	c.ReuseRecord = true
	c.FieldsPerRecord = -1 // checked here, with a clearer message than csv.ErrFieldCount
	rd := &Reader{name: name, csv: c, idCol: -1, classCol: -1, wCol: -1, ignoreClass: opts.IgnoreClass}
	if opts.CheckRules {
		rd.rules = make([]*fraud.FieldRule, fraud.NumFeatures)
		fields := fraud.TransactionFields()
		for i := range fields {
			if fields[i].Index >= 0 {
				rd.rules[fields[i].Index] = &fields[i]
			} else {
				rd.idRule = &fields[i]
			}
		}
	}
	header, err := c.Read()
	if err == io.EOF {
		return nil, &Error{File: name, Line: 1, Problem: "empty file: no header row"}
	}
	if err != nil {
		return nil, rd.wrap(err)
	}
	if err := rd.parseHeader(header, opts); err != nil {
		return nil, err
	}
	return rd, nil
}

// headerHint lists the columns a file may have, for error messages.
const headerHint = "want Time, V1..V28, Amount in that order, an optional Class and an optional transaction_id first or last"

func (rd *Reader) parseHeader(header []string, opts Options) error {
	names := fraud.FeatureNames()
	index := make(map[string]int, len(names))
	for i, n := range names {
		index[n] = i
	}
	if w := opts.WeightColumn; w != "" {
		if _, ok := index[w]; ok || w == ColumnID || w == ColumnClass {
			return &Error{File: rd.name, Line: 1, Column: w, Problem: "cannot be the weight column: it is a feature, the label or the identifier"}
		}
	}
	rd.columns = make([]string, len(header))
	rd.feature = make([]int, len(header))
	seen := make(map[string]bool, len(header))
	next := 0 // the feature expected next
	for pos, raw := range header {
		col := strings.TrimSpace(raw)
		if pos == 0 {
			col = strings.TrimPrefix(col, "\ufeff") // a byte-order mark left by spreadsheet exports
		}
		rd.columns[pos] = col
		rd.feature[pos] = -1
		herr := func(problem string) error {
			shown := col
			if shown == "" {
				shown = fmt.Sprintf("#%d", pos+1)
			}
			return &Error{File: rd.name, Line: 1, Column: shown, Problem: problem}
		}
		if seen[col] {
			return herr("duplicate column")
		}
		seen[col] = true
		switch {
		case col == ColumnID:
			if pos != 0 && pos != len(header)-1 {
				return herr("transaction_id must be the first or the last column")
			}
			rd.idCol = pos
		case col == ColumnClass:
			rd.classCol = pos
		case opts.WeightColumn != "" && col == opts.WeightColumn:
			rd.wCol = pos
		case col == "":
			return herr("empty column name (" + headerHint + ")")
		default:
			fi, ok := index[col]
			if !ok {
				for _, known := range append(names, ColumnID, ColumnClass) {
					if strings.EqualFold(known, col) {
						return herr(fmt.Sprintf("unknown column (did you mean %q?)", known))
					}
				}
				return herr("unknown column (" + headerHint + ")")
			}
			if fi != next {
				if fi < next || headerHas(header[pos+1:], names[next]) {
					return herr(fmt.Sprintf("out of order: expected %s at this position", names[next]))
				}
				return &Error{File: rd.name, Line: 1, Column: names[next],
					Problem: fmt.Sprintf("missing (found %s where %s was expected)", col, names[next])}
			}
			rd.feature[pos] = fi
			next++
		}
	}
	if next < len(names) {
		return &Error{File: rd.name, Line: 1, Column: names[next], Problem: "missing (" + headerHint + ")"}
	}
	if opts.RequireClass && rd.classCol < 0 {
		return &Error{File: rd.name, Line: 1, Column: ColumnClass, Problem: "missing (a Class column of 0/1 labels is required here)"}
	}
	if opts.WeightColumn != "" && rd.wCol < 0 {
		return &Error{File: rd.name, Line: 1, Column: opts.WeightColumn, Problem: "missing (named as the column of row weights)"}
	}
	return nil
}

func headerHas(header []string, name string) bool {
	for _, h := range header {
		if strings.TrimSpace(h) == name {
			return true
		}
	}
	return false
}

// Name returns the name given to NewReader.
func (rd *Reader) Name() string { return rd.name }

// Columns returns the header's column names, by position. The slice must not be modified.
func (rd *Reader) Columns() []string { return rd.columns }

// HasClass reports whether the file has a Class column.
func (rd *Reader) HasClass() bool { return rd.classCol >= 0 }

// HasID reports whether the file has a transaction_id column.
func (rd *Reader) HasID() bool { return rd.idCol >= 0 }

// HasWeight reports whether the file has the weight column named in the options.
func (rd *Reader) HasWeight() bool { return rd.wCol >= 0 }

// Next returns the next row. At the end of the input it returns io.EOF; a bad row is an *Error
// naming its line and column. Rows after an error may still be read.
func (rd *Reader) Next() (Record, error) {
	var rec Record
	row, err := rd.csv.Read()
	if err != nil {
		if err == io.EOF {
			return rec, io.EOF
		}
		return rec, rd.wrap(err)
	}
	rec.Line, _ = rd.csv.FieldPos(0)
	if len(row) != len(rd.columns) {
		return rec, &Error{File: rd.name, Line: rec.Line,
			Problem: fmt.Sprintf("row has %d fields, header has %d", len(row), len(rd.columns))}
	}
	rec.Class = -1
	rec.Weight = 1
	if rd.rules != nil {
		return rec, rd.checkRow(&rec, row)
	}
	for pos, cell := range row {
		switch {
		case rd.feature[pos] >= 0:
			v, perr := parseNumber(cell)
			if perr != "" {
				return rec, rd.cellError(pos, cell, perr)
			}
			rec.Features[rd.feature[pos]] = v
		case pos == rd.classCol && rd.ignoreClass:
		case pos == rd.classCol:
			switch strings.TrimSpace(cell) {
			case "0", "0.0":
				rec.Class = 0
			case "1", "1.0":
				rec.Class = 1
			default:
				return rec, rd.cellError(pos, cell, "is not a class label (want 0 or 1)")
			}
		case pos == rd.idCol:
			rec.ID = cell
		case pos == rd.wCol:
			v, perr := parseNumber(cell)
			if perr == "" && v < 0 {
				perr = "is not a weight (want a number >= 0)"
			}
			if perr != "" {
				return rec, rd.cellError(pos, cell, perr)
			}
			rec.Weight = v
		}
	}
	return rec, nil
}

// checkRow fills rec from row under CheckRules: every cell is checked against its request
// rule, and a bad row's *Error lists all of its bad cells, transaction_id first. rec.ID is
// set even then.
func (rd *Reader) checkRow(rec *Record, row []string) error {
	rd.problems = rd.problems[:0]
	if rd.idCol >= 0 {
		rec.ID = row[rd.idCol]
		if rec.ID != "" {
			if pr := rd.idRule.CheckString(rec.ID); pr != "" {
				rd.problems = append(rd.problems, "column "+ColumnID+": "+pr)
			}
		}
	}
	for pos, cell := range row {
		fi := rd.feature[pos]
		switch {
		case fi >= 0:
			r := rd.rules[fi]
			v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
			var pr string
			switch {
			case errors.Is(err, strconv.ErrRange):
				pr = "is out of range"
			case err != nil:
				pr = "is not a number"
			default:
				pr = r.CheckNumber(v)
			}
			if pr != "" {
				rd.problems = append(rd.problems, "column "+r.Name+": "+strconv.Quote(shorten(cell))+" "+pr)
				continue
			}
			rec.Features[fi] = v
		case pos == rd.wCol:
			v, perr := parseNumber(cell)
			if perr == "" && v < 0 {
				perr = "is not a weight (want a number >= 0)"
			}
			if perr != "" {
				rd.problems = append(rd.problems, "column "+rd.columns[pos]+": "+strconv.Quote(shorten(cell))+" "+perr)
				continue
			}
			rec.Weight = v
		}
	}
	if len(rd.problems) > 0 {
		return &Error{File: rd.name, Line: rec.Line, Problem: strings.Join(rd.problems, "; ")}
	}
	return nil
}

// shorten cuts a cell quoted in an error to 40 bytes.
func shorten(cell string) string {
	const maxShown = 40
	if len(cell) > maxShown {
		return cell[:maxShown] + "..."
	}
	return cell
}

// parseNumber parses a finite number, returning a problem description instead of an error so
// that the common path allocates nothing.
func parseNumber(cell string) (float64, string) {
	v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return 0, "is out of range"
		}
		return 0, "is not a number"
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, "is not a finite number"
	}
	return v, ""
}

func (rd *Reader) cellError(pos int, cell, problem string) *Error {
	line, _ := rd.csv.FieldPos(pos)
	return &Error{File: rd.name, Line: line, Column: rd.columns[pos], Problem: strconv.Quote(shorten(cell)) + " " + problem}
}

// wrap turns a csv syntax error into an *Error; other errors (I/O) keep their identity.
func (rd *Reader) wrap(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		e := &Error{File: rd.name, Line: pe.Line, Problem: pe.Err.Error(), Err: pe.Err}
		if pe.Column > 0 && pe.Line == pe.StartLine {
			e.Problem = fmt.Sprintf("%s (at byte %d of the line)", pe.Err, pe.Column)
		}
		return e
	}
	return fmt.Errorf("read %s: %w", rd.name, err)
}

// Table is a labelled file loaded in memory, column by column.
type Table struct {
	// Name names the data: the file's base name when read by ReadAll.
	Name string
	// Columns holds each feature's values by row, in fraud.FeatureNames order: Columns[0] are
	// the times.
	Columns [fraud.NumFeatures][]float64
	// Labels holds each row's class: 0 normal, 1 fraud.
	Labels []uint8
	// Lines holds the line on which each row starts, to point back into the file.
	Lines []int
	// Weights holds each row's weight when the file was read with a weight column
	// (ReadAllWith), and is nil otherwise: every row then weighs 1.
	Weights []float64
	// WeightColumn names the column Weights came from, or is "".
	WeightColumn string
}

// Rows returns the number of rows.
func (t *Table) Rows() int { return len(t.Labels) }

// Times returns the Time column.
func (t *Table) Times() []float64 { return t.Columns[0] }

// Weight returns row i's weight: Weights[i], or 1 when the table has no weights.
func (t *Table) Weight(i int) float64 {
	if t.Weights == nil {
		return 1
	}
	return t.Weights[i]
}

// Frauds returns the number of rows labelled 1.
func (t *Table) Frauds() int {
	n := 0
	for _, y := range t.Labels {
		n += int(y)
	}
	return n
}

// ReadAll loads the labelled file at path for training. The file must have a Class column, at
// least one row and both classes; like every content problem, their absence is an *Error.
// Errors name the file by path, as given; the table by its base name.
func ReadAll(ctx context.Context, path string) (*Table, error) {
	return ReadAllWith(ctx, path, Options{})
}

// ReadAllWith is ReadAll with options: with a WeightColumn the table's Weights hold that
// column, and each class must then have a positive total weight. A Class column is required
// whatever opts.RequireClass says.
func ReadAllWith(ctx context.Context, path string, opts Options) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := ReadFromWith(ctx, f, path, opts)
	if err != nil {
		return nil, err
	}
	t.Name = filepath.Base(path)
	return t, nil
}

// ReadFrom is ReadAll on an open input, named name in errors and in the table.
func ReadFrom(ctx context.Context, r io.Reader, name string) (*Table, error) {
	return ReadFromWith(ctx, r, name, Options{})
}

// ReadFromWith is ReadAllWith on an open input, named name in errors and in the table.
func ReadFromWith(ctx context.Context, r io.Reader, name string, opts Options) (*Table, error) {
	opts.RequireClass = true
	rd, err := NewReader(r, name, opts)
	if err != nil {
		return nil, err
	}
	t := &Table{Name: name, WeightColumn: opts.WeightColumn}
	for i := 0; ; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for j, v := range rec.Features {
			t.Columns[j] = append(t.Columns[j], v)
		}
		t.Labels = append(t.Labels, uint8(rec.Class))
		t.Lines = append(t.Lines, rec.Line)
		if rd.HasWeight() {
			t.Weights = append(t.Weights, rec.Weight)
		}
	}
	if t.Rows() == 0 {
		return nil, &Error{File: name, Line: 2, Problem: "no rows: the file has a header but no transactions"}
	}
	switch frauds := t.Frauds(); frauds {
	case 0, t.Rows():
		return nil, &Error{File: name, Column: ColumnClass,
			Problem: fmt.Sprintf("only one class (%d) present in %d rows: training and evaluation need both normal (0) and fraud (1) rows", t.Labels[0], t.Rows())}
	}
	if t.Weights != nil {
		var sum [2]float64
		for i, y := range t.Labels {
			sum[y] += t.Weights[i]
		}
		for class, s := range sum {
			if !(s > 0) || math.IsInf(s, 0) {
				return nil, &Error{File: name, Column: opts.WeightColumn,
					Problem: fmt.Sprintf("the weights of class %d rows sum to %g: training needs a positive, finite total weight for each class", class, s)}
			}
		}
	}
	return t, nil
}
