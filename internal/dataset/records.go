package dataset

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// MaxRecordBytes bounds one record read by a Splitter: past it a quoted field is taken as
// never closed, rather than reading the rest of the input into memory.
const MaxRecordBytes = 1 << 20

// Span locates one record in a buffer: its text is buf[Start:End] and its line ending
// buf[End:Next]; it starts on line Line of the input.
type Span struct {
	Start, End, Next int
	Line             int
}

// Splitter cuts a CSV input into records, keeping each record's text exactly as it is, without
// parsing its fields. It ends a record where encoding/csv (and so Reader, and the server's
// intake, which counts rows by it) ends it, malformed records included: at a line feed outside
// a quoted field, and at the end of the line of a record with a stray quote. Blank lines,
// which encoding/csv skips, are kept in the buffer (they count for line numbers) but are not
// records. Cut records can be parsed apart, in parallel, by Readers fed the header first.
type Splitter struct {
	name string
	r    *bufio.Reader
	line int   // lines read so far
	off  int64 // bytes read so far
	eof  bool
	err  error // a read failure, returned from then on
}

// NewSplitter returns a Splitter of r, whose name prefixes its errors.
func NewSplitter(r io.Reader, name string) *Splitter {
	return &Splitter{name: name, r: bufio.NewReaderSize(r, 1<<20)}
}

// Offset returns how many bytes of the input have been read.
func (s *Splitter) Offset() int64 { return s.off }

// Line returns how many lines of the input have been read.
func (s *Splitter) Line() int { return s.line }

// The states of a record's scan, as encoding/csv parses it with LazyQuotes off.
const (
	fieldStart = iota // at the start of a field
	unquoted          // in a field that does not start with a quote
	quoted            // in a quoted field
	quoteSeen         // just after a quote in a quoted field: its end, or half of ""
	quoteCR           // a carriage return after a quoted field's end
	stray             // after a stray quote: encoding/csv ends the record with the line
)

// scan moves state st over b, which ends at the latest at a line feed, and returns the state
// after it. A line feed leaves a quoted field open and ends any other state (fieldStart).
func scan(st int, b []byte) int {
	if (st == fieldStart || st == unquoted || st == stray) && bytes.IndexByte(b, '"') < 0 {
		if len(b) > 0 && b[len(b)-1] == '\n' {
			return fieldStart
		}
		if st == fieldStart && len(b) > 0 {
			return unquoted // the exact state does not matter without quotes: no record ends here
		}
		return st
	}
	for _, c := range b {
		switch st {
		case fieldStart:
			switch c {
			case '"':
				st = quoted
			case ',', '\n':
			default:
				st = unquoted
			}
		case unquoted:
			switch c {
			case ',', '\n':
				st = fieldStart
			case '"':
				st = stray
			}
		case quoted:
			if c == '"' {
				st = quoteSeen
			}
		case quoteSeen:
			switch c {
			case '"':
				st = quoted
			case ',', '\n':
				st = fieldStart
			case '\r':
				st = quoteCR
			default:
				st = stray
			}
		case quoteCR: // ends the record before a line feed; anything else makes it a stray
			if c == '\n' {
				st = fieldStart
			} else {
				st = stray
			}
		case stray:
			if c == '\n' {
				st = fieldStart
			}
		}
	}
	return st
}

// Next appends the next record, and the blank lines before it, to buf and returns buf and
// where the record lies in it. It returns io.EOF at the end of the input; a record longer than
// MaxRecordBytes is an *Error.
func (s *Splitter) Next(buf []byte) ([]byte, Span, error) {
	for {
		if s.err != nil {
			return buf, Span{}, s.err
		}
		if s.eof {
			return buf, Span{}, io.EOF
		}
		start, line, st := len(buf), s.line+1, fieldStart
	record:
		for {
			part, err := s.r.ReadSlice('\n')
			buf = append(buf, part...)
			s.off += int64(len(part))
			st = scan(st, part)
			if len(buf)-start > MaxRecordBytes {
				s.err = &Error{File: s.name, Line: line,
					Problem: fmt.Sprintf("record longer than %d bytes: is a quoted field never closed?", MaxRecordBytes)}
				return buf, Span{}, s.err
			}
			switch err {
			case nil:
				s.line++
				if st != quoted {
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
				return buf, Span{}, s.err
			}
		}
		r := Span{Start: start, End: len(buf), Next: len(buf), Line: line}
		switch {
		case r.End > start && buf[r.End-1] == '\n':
			r.End--
			if r.End > start && buf[r.End-1] == '\r' {
				r.End--
			}
		case r.End > start && buf[r.End-1] == '\r' && s.eof:
			r.End-- // encoding/csv drops a carriage return just before the end
		}
		if r.End == r.Start {
			continue // a blank line
		}
		return buf, r, nil
	}
}
