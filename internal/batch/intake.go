package batch

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/txjson"
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
	var ae *txjson.AttackError
	if errors.As(err, &ae) {
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

// newParser opens an upload of format f. With a detector, every string of the upload (a JSON
// string value or field name, a CSV transaction_id) is inspected for attacks before it is
// validated, and the first finding refuses the whole upload with a *txjson.AttackError.
func newParser(f format, r io.Reader, det txjson.Inspector) (parser, error) {
	dec := txjson.Decoder{Fields: txjson.NewFields(), Detector: det, StopOnAttack: true}
	switch f {
	case formatCSV:
		p, err := newCSVParser(r)
		if p != nil {
			p.det = det
		}
		return p, err
	case formatNDJSON:
		return &ndjsonParser{r: bufio.NewReaderSize(r, maxRecordBytes), rec: record{dec: dec}}, nil
	default:
		p, err := newJSONParser(r)
		if p != nil {
			p.rec.dec = dec
		}
		return p, err
	}
}

// csvParser reads creditcard.csv rows with the dataset reader, under the API's rules: the
// Class column is ignored whatever it holds (new transactions have no label), every cell is
// checked as /predict checks it, and a bad row becomes an invalid row naming its line and every
// bad cell, and reading goes on.
type csvParser struct {
	rd  *dataset.Reader
	det txjson.Inspector
	id  *fraud.FieldRule
	buf []byte // the current row's transaction_id
}

func newCSVParser(r io.Reader) (*csvParser, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	header, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, &fraud.Error{Code: fraud.CodeValidation, Message: fmt.Sprintf("the CSV header is longer than %d bytes", br.Size())}
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	// The header is read again by the dataset reader, from a copy: ReadSlice's bytes are
	// overwritten by the next read.
	rd, err := dataset.NewReader(io.MultiReader(bytes.NewReader(bytes.Clone(header)), br), "upload", dataset.Options{IgnoreClass: true, CheckRules: true})
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
	p := &csvParser{rd: rd}
	fields := fraud.TransactionFields()
	for i := range fields {
		if fields[i].Index < 0 {
			p.id = &fields[i]
		}
	}
	return p, nil
}

func (p *csvParser) rows(ctx context.Context, sink rowSink) error {
	// Declared once: both escape (to the sink, to errors.As), and a row must not allocate.
	var rec dataset.Record
	var de *dataset.Error
	for {
		var err error
		rec, err = p.rd.Next()
		if err == io.EOF {
			return nil
		}
		de = nil
		if err != nil && !errors.As(err, &de) {
			return err // reading the upload failed
		}
		var id []byte
		if rec.ID != "" {
			if p.det != nil {
				if f, hit := p.det.InspectString("csv:"+dataset.ColumnID, rec.ID); hit {
					return &txjson.AttackError{Finding: f}
				}
			}
			if de == nil || p.id.CheckString(rec.ID) == "" {
				p.buf = append(p.buf[:0], rec.ID...)
				id = p.buf
			}
		}
		if de != nil {
			err = sink.invalid(ctx, id, de.Error())
		} else {
			err = sink.valid(ctx, id, &rec.Features)
		}
		if err != nil {
			return err
		}
	}
}

// record decodes one transaction object of an upload, reusing its buffers from one record to
// the next.
type record struct {
	dec  txjson.Decoder
	tx   fraud.Transaction
	errs []fraud.Detail
	err  error
	id   []byte
}

// decode decodes b and reports whether it is a valid transaction; when it is not, problem
// says why. Either way rec.id is the valid transaction_id it held, if any.
func (rec *record) decode(b []byte) bool {
	rec.dec.Reset(b)
	rec.errs, rec.err = rec.dec.Transaction(&rec.tx, rec.errs[:0])
	rec.id = append(rec.id[:0], rec.tx.ID...)
	return rec.err == nil && len(rec.errs) == 0
}

func (rec *record) problem() string { return rowProblem(rec.errs, rec.err) }

// send decodes b and hands it to sink as a valid or an invalid row. An invalid row's problem
// starts with where (its line or position), which is only built then.
func (rec *record) send(ctx context.Context, sink rowSink, b []byte, where func() string) error {
	if rec.decode(b) {
		return sink.valid(ctx, rec.id, &rec.tx.Features)
	}
	var ae *txjson.AttackError
	if errors.As(rec.err, &ae) {
		return ae
	}
	return sink.invalid(ctx, rec.id, where()+": "+rec.problem())
}

// rowProblem is the problem text of a record that did not decode: its JSON syntax error, or
// every field problem, joined.
func rowProblem(details []fraud.Detail, err error) string {
	if err != nil {
		return "malformed JSON record: " + err.Error()
	}
	var b strings.Builder
	for i, d := range details {
		if i > 0 {
			b.WriteString("; ")
		}
		field, _ := d["field"].(string)
		problem, _ := d["problem"].(string)
		if problem == "unknown field" {
			// The name is the client's, whatever it holds.
			field = strconv.Quote(field)
		}
		b.WriteString(field + " " + problem)
	}
	return b.String()
}

// ndjsonParser reads one JSON object per line; blank lines are skipped. A line that is not a
// valid transaction becomes an invalid row and reading goes on.
type ndjsonParser struct {
	r   *bufio.Reader
	rec record
}

func (p *ndjsonParser) rows(ctx context.Context, sink rowSink) error {
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
		if len(bytes.TrimSpace(b)) > 0 {
			if err := p.rec.send(ctx, sink, b, func() string { return "line " + strconv.Itoa(line) }); err != nil {
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
	dec *json.Decoder
	rec record
}

func newJSONParser(r io.Reader) (*jsonParser, error) {
	p := &jsonParser{dec: json.NewDecoder(bufio.NewReaderSize(r, 256<<10)), rec: record{dec: txjson.Decoder{Fields: txjson.NewFields()}}}
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
	for i := 0; p.dec.More(); i++ {
		raw = raw[:0]
		if err := p.dec.Decode(&raw); err != nil {
			return p.malformed(err)
		}
		if err := p.rec.send(ctx, sink, raw, func() string { return "transactions[" + strconv.Itoa(i) + "]" }); err != nil {
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
