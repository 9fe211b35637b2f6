package dataset

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
)

// checkSplitterAgreesWithCSV fails when the Splitter cuts input into other records than
// encoding/csv reads from it: each record must start on the same line and end at the same
// offset, malformed records included.
func checkSplitterAgreesWithCSV(t *testing.T, input string) {
	t.Helper()
	cr := csv.NewReader(strings.NewReader(input))
	cr.FieldsPerRecord = -1
	s := NewSplitter(strings.NewReader(input), "in")
	for i := 0; ; i++ {
		_, cerr := cr.Read()
		buf, sp, serr := s.Next(nil)
		if cerr == io.EOF || serr == io.EOF {
			if cerr != serr {
				t.Fatalf("record %d: csv says %v, the splitter %v (input %q)", i, cerr, serr, input)
			}
			return
		}
		var de *Error
		if errors.As(serr, &de) {
			return // a record over MaxRecordBytes: the splitter stops, on purpose
		}
		var wantLine int
		var pe *csv.ParseError
		if errors.As(cerr, &pe) {
			wantLine = pe.StartLine
		} else {
			wantLine, _ = cr.FieldPos(0)
		}
		if sp.Line != wantLine || s.Offset() != cr.InputOffset() {
			t.Fatalf("record %d (%q): got line %d ending at %d, csv has line %d ending at %d (input %q)",
				i, buf[sp.Start:sp.End], sp.Line, s.Offset(), wantLine, cr.InputOffset(), input)
		}
	}
}

func TestSplitterAgreesWithCSV(t *testing.T) {
	for _, input := range []string{
		"",
		"a,b\n1,2\n",
		"a,b\r\n1,2\r\n",
		"a,b\n1,2",
		"a,b\n1,2\r",
		"\n\na,b\n\n\n1,2\n\r\n3,4\n",
		"a,b\n\"x\ny\",2\n3,4\n",
		"a,b\n\"x\"\"y\",2\n",
		"a,b\n1\"5,2\n3,4\n",     // a bare quote
		"a,b\n\"x\"y,2\n3,4\n",   // text after a closing quote
		"a,b\n\"x\"\r\"y\n3,4\n", // a carriage return, then a quote, after a closing quote
		"a,b\n\"x\"\r\n3,4\n",
		"a,b\n\"never closed,2\n3,4\n",
		"a,b\n1,\"\"\n2,\"\"\"\"\n",
		"a,\"b\nc\"\n\"1\",\"2\r\n3\"\r\n",
	} {
		checkSplitterAgreesWithCSV(t, input)
	}
}

func TestSplitterKeepsText(t *testing.T) {
	input := "\nh1,h2\r\n\r\n\"a\nb\",1\r\nlast,2"
	s := NewSplitter(strings.NewReader(input), "in")
	var texts []string
	var lines []int
	var buf []byte
	for {
		var sp Span
		var err error
		buf, sp, err = s.Next(buf[:0])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(buf[sp.Start:sp.End])+"|"+string(buf[sp.End:sp.Next]))
		lines = append(lines, sp.Line)
	}
	want := []string{"h1,h2|\r\n", "\"a\nb\",1|\r\n", "last,2|"}
	if strings.Join(texts, "/") != strings.Join(want, "/") || lines[0] != 2 || lines[1] != 4 || lines[2] != 6 {
		t.Errorf("got %q on lines %v, want %q on lines 2, 4, 6", texts, lines, want)
	}
}

func TestSplitterRefusesAnEndlessRecord(t *testing.T) {
	input := "a,b\n\"" + strings.Repeat("x", MaxRecordBytes+10)
	s := NewSplitter(strings.NewReader(input), "in")
	if _, _, err := s.Next(nil); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Next(nil)
	var de *Error
	if !errors.As(err, &de) || de.Line != 2 || !strings.Contains(de.Problem, "never closed") {
		t.Errorf("got %v, want an error on line 2 about a quote never closed", err)
	}
}

func FuzzSplitter(f *testing.F) {
	f.Add([]byte("a,b\n\"x\ny\",2\n1\"5,2\n\"x\"y,2\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.ContainsRune(b, '\x00') {
			return
		}
		checkSplitterAgreesWithCSV(t, string(b))
	})
}
