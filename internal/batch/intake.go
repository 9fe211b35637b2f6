package batch

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
)

// The upload formats of POST /batch.
type format int

const (
	formatJSON   format = iota // {"transactions": [...]}
	formatNDJSON               // one transaction object per line
	formatCSV                  // creditcard.csv with a header
)

// supportedContentTypes are the media types an upload may have, for error details.
func supportedContentTypes() []string {
	return []string{"text/csv", "application/json", "application/x-ndjson"}
}

// maxRecordBytes caps one NDJSON line: a transaction is well under 1 KB.
const maxRecordBytes = 64 << 10

// parseFormat maps a Content-Type to an upload format.
func parseFormat(contentType string) (format, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err == nil {
		switch strings.ToLower(mt) {
		case "text/csv", "application/csv":
			return formatCSV, nil
		case "application/json":
			return formatJSON, nil
		case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines":
			return formatNDJSON, nil
		}
	}
	shown := contentType
	if shown == "" {
		shown = "(none)"
	}
	return 0, &fraud.Error{
		Code:    fraud.CodeUnsupportedMedia,
		Message: "a batch upload must be CSV, JSON or NDJSON: send Content-Type text/csv, application/json or application/x-ndjson",
		Details: []fraud.Detail{{"content_type": shown, "supported": supportedContentTypes()}},
	}
}

// limitError is the failure of a limitReader: more than limit bytes of what.
type limitError struct {
	what  string
	limit int64
}

func (e *limitError) Error() string {
	return fmt.Sprintf("the %s is larger than %d bytes", e.what, e.limit)
}

// limitReader fails with a *limitError once more than limit bytes have been read through it.
type limitReader struct {
	r     io.Reader
	n     int64
	limit int64
	what  string
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n > l.limit {
		return 0, &limitError{what: l.what, limit: l.limit}
	}
	if int64(len(p)) > l.limit-l.n+1 {
		p = p[:l.limit-l.n+1]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.limit {
		return n, &limitError{what: l.what, limit: l.limit}
	}
	return n, err
}

// rowLimitError is an upload with more rows than allowed.
type rowLimitError struct{ limit int64 }

func (e *rowLimitError) Error() string { return fmt.Sprintf("more than %d rows", e.limit) }

// uploadError turns what went wrong while reading an upload into the error the client gets.
func uploadError(err error) error {
	var le *limitError
	var re *rowLimitError
	var fe *fraud.Error
	switch {
	case errors.As(err, &fe):
		return err
	case errors.As(err, &le):
		return &fraud.Error{Code: fraud.CodePayloadTooLarge, Message: le.Error(),
			Details: []fraud.Detail{{"limit": le.limit, "what": le.what}}}
	case errors.As(err, &re):
		return &fraud.Error{Code: fraud.CodePayloadTooLarge, Message: "the upload has " + re.Error(),
			Details: []fraud.Detail{{"limit": re.limit, "what": "rows"}}}
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum), errors.Is(err, io.ErrUnexpectedEOF) && strings.Contains(err.Error(), "gzip"):
		return &fraud.Error{Code: fraud.CodeValidation, Message: "the body is not a valid gzip stream: " + err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return &fraud.Error{Code: fraud.CodeValidation, Message: "could not read the upload: " + err.Error()}
}

// rowSink receives the rows of an upload in order.
type rowSink interface {
	valid(ctx context.Context, id []byte, x *[fraud.NumFeatures]float64) error
	invalid(ctx context.Context, id []byte, problem string) error
}

// parser reads an upload's rows into a sink. It is made by newParser, which has already read
// and checked what precedes the rows (the CSV header, the JSON envelope), so that a bad
// header is refused before anything is stored.
type parser interface {
	rows(ctx context.Context, sink rowSink) error
}

// newParser opens an upload of format f.
func newParser(f format, r io.Reader) (parser, error) {
	switch f {
	case formatCSV:
		return newCSVParser(r)
	case formatNDJSON:
		return &ndjsonParser{r: bufio.NewReaderSize(r, maxRecordBytes), fields: newFieldTable()}, nil
	default:
		return newJSONParser(r)
	}
}

// maxHeaderBytes caps the CSV header line.
const maxHeaderBytes = 64 << 10

// csvParser reads creditcard.csv rows. The header is checked by the dataset reader, with its
// rules (Time, V1..V28, Amount in order, transaction_id first or last, Class anywhere) and
// messages; the rows are read here, so that the Class column is ignored whatever it holds
// (new transactions have no label) and every problem names its line and column.
type csvParser struct {
	csv     *csv.Reader
	columns []string
	feature []int // feature index of each position, or -1
	idCol   int   // position of transaction_id, or -1
	rules   []fraud.FieldRule
	id      *fraud.FieldRule
}

func newCSVParser(r io.Reader) (*csvParser, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	header, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, &fraud.Error{Code: fraud.CodeValidation, Message: fmt.Sprintf("the CSV header is longer than %d bytes", maxHeaderBytes)}
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	rd, err := dataset.NewReader(bytes.NewReader(header), "upload", dataset.Options{})
	if err != nil {
		var de *dataset.Error
		if errors.As(err, &de) {
			d := fraud.Detail{"line": de.Line, "problem": de.Problem}
			if de.Column != "" {
				d["field"] = de.Column
			}
			return nil, &fraud.Error{Code: fraud.CodeValidation, Message: "the CSV header is not valid: " + de.Error(), Details: []fraud.Detail{d}}
		}
		return nil, err
	}
	p := &csvParser{csv: csv.NewReader(br), columns: rd.Columns(), idCol: -1, rules: fraud.TransactionFields()}
	p.csv.ReuseRecord = true
	p.csv.FieldsPerRecord = -1 // checked per row, as a row error
	index := map[string]int{}
	for i := range p.rules {
		if p.rules[i].Index < 0 {
			p.id = &p.rules[i]
		} else {
			index[p.rules[i].Name] = i
		}
	}
	p.feature = make([]int, len(p.columns))
	for pos, col := range p.columns {
		p.feature[pos] = -1
		if i, ok := index[col]; ok {
			p.feature[pos] = i
		}
		if col == dataset.ColumnID {
			p.idCol = pos
		}
	}
	return p, nil
}

func (p *csvParser) rows(ctx context.Context, sink rowSink) error {
	var problems []string
	var x [fraud.NumFeatures]float64
	for {
		row, err := p.csv.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return err
			}
			if err := sink.invalid(ctx, nil, fmt.Sprintf("upload:%d: %v (at byte %d of the line)", pe.Line+1, pe.Err, pe.Column)); err != nil {
				return err
			}
			continue
		}
		line, _ := p.csv.FieldPos(0)
		line++ // the header is line 1
		if len(row) != len(p.columns) {
			if err := sink.invalid(ctx, nil, fmt.Sprintf("upload:%d: row has %d fields, header has %d", line, len(row), len(p.columns))); err != nil {
				return err
			}
			continue
		}
		problems = problems[:0]
		var id []byte
		if p.idCol >= 0 && row[p.idCol] != "" {
			if pr := p.id.CheckString(row[p.idCol]); pr != "" {
				problems = append(problems, "column "+dataset.ColumnID+": "+pr)
			} else {
				id = []byte(row[p.idCol])
			}
		}
		for pos, cell := range row {
			i := p.feature[pos]
			if i < 0 {
				continue
			}
			r := &p.rules[i]
			v, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
			pr := ""
			if err != nil {
				pr = "is not a number"
				if errors.Is(err, strconv.ErrRange) {
					pr = "is out of range"
				}
			} else {
				pr = r.CheckNumber(v)
			}
			if pr != "" {
				shown := cell
				if len(shown) > 40 {
					shown = shown[:40] + "..."
				}
				problems = append(problems, "column "+r.Name+": "+strconv.Quote(shown)+" "+pr)
				continue
			}
			x[r.Index] = v
		}
		if len(problems) > 0 {
			err = sink.invalid(ctx, id, "upload:"+strconv.Itoa(line)+": "+strings.Join(problems, "; "))
		} else {
			err = sink.valid(ctx, id, &x)
		}
		if err != nil {
			return err
		}
	}
}

// ndjsonParser reads one JSON object per line; blank lines are skipped. A line that is not a
// valid transaction becomes an invalid row and reading goes on.
type ndjsonParser struct {
	r      *bufio.Reader
	fields fieldTable
}

func (p *ndjsonParser) rows(ctx context.Context, sink rowSink) error {
	var rec rowDecoder
	for line := 1; ; line++ {
		b, err := p.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = p.r.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return err
			}
			if err := sink.invalid(ctx, nil, fmt.Sprintf("line %d: the record is longer than %d bytes", line, maxRecordBytes)); err != nil {
				return err
			}
			if err == io.EOF {
				return nil
			}
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			if serr := rec.decode(t, &p.fields, true); serr != nil {
				serr = sink.invalid(ctx, rec.id, "line "+strconv.Itoa(line)+": "+rec.problem())
				if serr != nil {
					return serr
				}
			} else if err := sink.valid(ctx, rec.id, &rec.x); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// jsonParser reads {"transactions": [...]}, one element at a time. A syntax error ends the
// upload (the rest cannot be told apart); an element that is not a valid transaction becomes
// an invalid row.
type jsonParser struct {
	dec    *json.Decoder
	fields fieldTable
}

func newJSONParser(r io.Reader) (*jsonParser, error) {
	p := &jsonParser{dec: json.NewDecoder(bufio.NewReaderSize(r, 256<<10)), fields: newFieldTable()}
	if err := p.expectDelim('{'); err != nil {
		return nil, err
	}
	if err := p.openArray(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *jsonParser) malformed(err error) error {
	var le *limitError
	if errors.As(err, &le) || !isJSONError(err) {
		return err
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &fraud.Error{Code: fraud.CodeMalformedJSON, Message: "the body is not valid JSON: " + err.Error(),
		Details: []fraud.Detail{{"offset": p.dec.InputOffset(), "problem": err.Error()}}}
}

func isJSONError(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func (p *jsonParser) expectDelim(d json.Delim) error {
	tok, err := p.dec.Token()
	if err != nil {
		return p.malformed(err)
	}
	if tok != d {
		return &fraud.Error{Code: fraud.CodeMalformedJSON, Message: fmt.Sprintf("the body must be an object {\"transactions\": [...]}: found %v where %q was expected", tok, string(d)),
			Details: []fraud.Detail{{"offset": p.dec.InputOffset()}}}
	}
	return nil
}

// openArray reads up to the '[' of the transactions array; the envelope allows no other key.
func (p *jsonParser) openArray() error {
	tok, err := p.dec.Token()
	if err != nil {
		return p.malformed(err)
	}
	key, ok := tok.(string)
	if !ok {
		return &fraud.Error{Code: fraud.CodeValidation, Message: "the body has no transactions array",
			Details: []fraud.Detail{fraud.FieldError("transactions", "is required", nil)}}
	}
	if key != "transactions" {
		return &fraud.Error{Code: fraud.CodeValidation, Message: "unknown field " + strconv.Quote(key) + ": the body is {\"transactions\": [...]}",
			Details: []fraud.Detail{fraud.FieldError(key, "unknown field", nil)}}
	}
	return p.expectDelim('[')
}

func (p *jsonParser) rows(ctx context.Context, sink rowSink) error {
	var raw json.RawMessage
	var rec rowDecoder
	for i := 0; p.dec.More(); i++ {
		raw = raw[:0]
		if err := p.dec.Decode(&raw); err != nil {
			return p.malformed(err)
		}
		where := "transactions[" + strconv.Itoa(i) + "]"
		if err := rec.decode(raw, &p.fields, false); err != nil {
			if err := sink.invalid(ctx, rec.id, where+": "+rec.problem()); err != nil {
				return err
			}
			continue
		}
		if err := sink.valid(ctx, rec.id, &rec.x); err != nil {
			return err
		}
	}
	if err := p.expectDelim(']'); err != nil {
		return err
	}
	tok, err := p.dec.Token()
	if err != nil {
		return p.malformed(err)
	}
	if key, ok := tok.(string); ok {
		return &fraud.Error{Code: fraud.CodeValidation, Message: "unknown field " + strconv.Quote(key) + ": the body is {\"transactions\": [...]}",
			Details: []fraud.Detail{fraud.FieldError(key, "unknown field", nil)}}
	}
	if tok != json.Delim('}') {
		return &fraud.Error{Code: fraud.CodeMalformedJSON, Message: "the body must end after the transactions array"}
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return &fraud.Error{Code: fraud.CodeMalformedJSON, Message: "the body has data after its end",
			Details: []fraud.Detail{{"offset": p.dec.InputOffset()}}}
	}
	return nil
}

// fieldTable finds a transaction field's rule by its JSON name.
type fieldTable struct {
	rules []fraud.FieldRule
	index map[string]int
}

func newFieldTable() fieldTable {
	rules := fraud.TransactionFields()
	index := make(map[string]int, len(rules))
	for i, r := range rules {
		index[r.Name] = i
	}
	return fieldTable{rules: rules, index: index}
}

// errRow marks a record with problems; rowDecoder.problem says which.
var errRow = errors.New("invalid record")

// rowDecoder decodes one flat JSON transaction object strictly: every feature is required and
// must be a finite number within its bounds, transaction_id is optional, and unknown or
// repeated fields are refused. Every problem is collected.
type rowDecoder struct {
	x        [fraud.NumFeatures]float64
	seen     [64]bool
	id       []byte
	problems []string
}

func (d *rowDecoder) problem() string { return strings.Join(d.problems, "; ") }

// decode parses b, which must be one JSON object (checked unless trusted, when b comes from
// a json.Decoder that has checked it already).
func (d *rowDecoder) decode(b []byte, ft *fieldTable, check bool) error {
	d.id = d.id[:0]
	d.problems = d.problems[:0]
	clear(d.seen[:])
	if check && !json.Valid(b) {
		d.problems = append(d.problems, "malformed JSON record")
		return errRow
	}
	s := scanner{b: b}
	s.ws()
	if !s.consume('{') {
		d.problems = append(d.problems, "a transaction must be a JSON object")
		return errRow
	}
	s.ws()
	if !s.consume('}') {
		for {
			s.ws()
			key, ok := s.str()
			if !ok {
				d.problems = append(d.problems, "malformed JSON record")
				return errRow
			}
			s.ws()
			s.consume(':')
			s.ws()
			i, known := ft.index[string(key)]
			switch {
			case !known:
				d.problems = append(d.problems, strconv.Quote(string(key))+" unknown field")
				s.skip()
			case d.seen[i]:
				d.problems = append(d.problems, string(key)+" repeated field")
				s.skip()
			default:
				d.seen[i] = true
				d.field(&ft.rules[i], &s)
			}
			s.ws()
			if s.consume(',') {
				continue
			}
			if s.consume('}') {
				break
			}
			d.problems = append(d.problems, "malformed JSON record")
			return errRow
		}
	}
	for i := range ft.rules {
		r := &ft.rules[i]
		if r.Required && !d.seen[i] {
			d.problems = append(d.problems, r.Name+" is required")
		}
	}
	if len(d.problems) > 0 {
		return errRow
	}
	return nil
}

// field decodes the value of field r at s.
func (d *rowDecoder) field(r *fraud.FieldRule, s *scanner) {
	if r.Kind == fraud.KindString {
		v, ok := s.str()
		if !ok {
			d.problems = append(d.problems, r.Name+" must be a string")
			s.skip()
			return
		}
		if pr := r.CheckString(string(v)); pr != "" {
			d.problems = append(d.problems, r.Name+" "+pr)
			return
		}
		d.id = append(d.id, v...)
		return
	}
	num, ok := s.number()
	if !ok {
		d.problems = append(d.problems, r.Name+" must be a number")
		s.skip()
		return
	}
	v, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		d.problems = append(d.problems, r.Name+" is out of range")
		return
	}
	if pr := r.CheckNumber(v); pr != "" {
		d.problems = append(d.problems, r.Name+" "+pr)
		return
	}
	d.x[r.Index] = v
}

// scanner walks a JSON value that is known to be well formed.
type scanner struct {
	b   []byte
	off int
}

func (s *scanner) ws() {
	for s.off < len(s.b) {
		switch s.b[s.off] {
		case ' ', '\t', '\n', '\r':
			s.off++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.off < len(s.b) && s.b[s.off] == c {
		s.off++
		return true
	}
	return false
}

// str reads a string; one with escapes is unescaped into a new slice.
func (s *scanner) str() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	start := s.off
	escaped := false
	for s.off < len(s.b) {
		switch s.b[s.off] {
		case '\\':
			escaped = true
			s.off += 2
			continue
		case '"':
			raw := s.b[start:s.off]
			s.off++
			if !escaped {
				return raw, true
			}
			var out string
			if err := json.Unmarshal(s.b[start-1:s.off], &out); err != nil {
				return nil, false
			}
			return []byte(out), true
		}
		s.off++
	}
	return nil, false
}

// number reads a JSON number.
func (s *scanner) number() ([]byte, bool) {
	start := s.off
	for s.off < len(s.b) {
		c := s.b[s.off]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			s.off++
			continue
		}
		break
	}
	return s.b[start:s.off], s.off > start
}

// skip passes over one value of any kind.
func (s *scanner) skip() {
	depth := 0
	for s.off < len(s.b) {
		switch c := s.b[s.off]; c {
		case '"':
			s.str()
			if depth == 0 {
				return
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return
			}
			depth--
			if depth == 0 {
				s.off++
				return
			}
		case ',':
			if depth == 0 {
				return
			}
		}
		s.off++
	}
}
