// Package txjson decodes transactions from JSON strictly, without allocating on a valid body
// but for the transaction_id string it keeps. It rejects unknown and duplicate fields, tells a missing field from a zero, collects
// every bad field as a fraud.Detail instead of stopping at the first, and can inspect every
// string for attacks. Its rules come from fraud.TransactionFields, the same table the OpenAPI
// document is generated from, so /predict, /predict/batch and batch uploads agree on what a
// valid transaction is.
package txjson

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/security/detect"
)

// MaxEchoedValue caps how much of a bad value is echoed back in an error's details.
const MaxEchoedValue = 64

// SyntaxError is malformed JSON at a byte offset of the decoded buffer.
type SyntaxError struct {
	Offset  int
	Problem string
}

func (e *SyntaxError) Error() string { return e.Problem + " at offset " + strconv.Itoa(e.Offset) }

// Inspector finds attacks in one string value; *detect.Detector is the one the server uses.
type Inspector interface {
	InspectString(location, value string) (detect.Finding, bool)
}

// AttackError ends decoding when a string looks like an attack and the decoder stops on
// attacks.
type AttackError struct{ Finding detect.Finding }

func (e *AttackError) Error() string { return "attack in " + e.Finding.Location }

// EnvelopeError is a problem with the {"transactions": [...]} envelope of a batch rather than
// with one of its transactions, as a field detail.
type EnvelopeError struct{ Detail fraud.Detail }

func (e *EnvelopeError) Error() string {
	field, _ := e.Detail["field"].(string)
	problem, _ := e.Detail["problem"].(string)
	return field + " " + problem
}

// fieldRef is a request field's position in fraud.TransactionFields and its location for
// attack findings.
type fieldRef struct {
	i   int
	loc string
}

// Fields is the table of transaction fields a Decoder checks against. Build it once with
// NewFields and share it: it is read-only.
type Fields struct {
	rules []fraud.FieldRule
	index map[string]fieldRef
}

// NewFields builds the field table from fraud.TransactionFields.
func NewFields() *Fields {
	f := &Fields{rules: fraud.TransactionFields(), index: make(map[string]fieldRef)}
	for i, r := range f.rules {
		f.index[r.Name] = fieldRef{i: i, loc: "json:" + r.Name}
	}
	return f
}

// Decoder reads JSON from the buffer given to Reset. It is cheap to make: a value on the
// stack, which can be reused for the next buffer.
type Decoder struct {
	// Fields is the table to check against; it must be set.
	Fields *Fields
	// Detector, when set, inspects every string value and unknown field name for attacks,
	// after decoding and before field validation. With StopOnAttack the first finding ends
	// decoding with an *AttackError; without it, the first finding is kept (see Finding).
	Detector     Inspector
	StopOnAttack bool
	// AllowExplain makes the decoder accept the top-level keys "explain" (true or false) and
	// "explain_top_k" (an integer from 1 to wire.MaxExplainTopK) in the object Transaction
	// decodes, or in the envelope Batch decodes (never in a batch's items); Explain returns
	// them. Without it they are unknown fields, as any other key.
	AllowExplain bool

	buf     []byte
	explain Explain
	pos     int
	finding *detect.Finding
	// loc is the top-level field being decoded, for findings in nested values.
	loc string
	// scratch holds an unescaped key or string.
	scratch [128]byte
}

// Reset makes d decode buf from its start, forgetting any finding.
func (d *Decoder) Reset(buf []byte) {
	d.buf, d.pos, d.finding, d.loc, d.explain = buf, 0, nil, "", Explain{}
}

// Finding returns the first attack finding when the decoder does not stop on attacks, or nil.
func (d *Decoder) Finding() *detect.Finding { return d.finding }

// inspect runs the detector on a decoded string; it returns an *AttackError when decoding must
// stop.
func (d *Decoder) inspect(value string) error {
	if d.Detector == nil {
		return nil
	}
	f, hit := d.Detector.InspectString(d.loc, value)
	if !hit {
		return nil
	}
	if d.StopOnAttack {
		return &AttackError{f}
	}
	if d.finding == nil {
		d.finding = &f
	}
	return nil
}

// Transaction decodes one JSON object, the whole of the buffer, into tx. Field problems are
// appended to errs and the result returned; malformed JSON is returned as a *SyntaxError, an
// attack (when the decoder stops on attacks) as an *AttackError. On a valid body it allocates
// nothing but tx.ID.
func (d *Decoder) Transaction(tx *fraud.Transaction, errs []fraud.Detail) ([]fraud.Detail, error) {
	errs, err := d.object(tx, errs, d.AllowExplain)
	if err != nil {
		return errs, err
	}
	d.skipSpace()
	if d.pos != len(d.buf) {
		return errs, d.fail("unexpected data after the JSON object")
	}
	return errs, nil
}

// object decodes one transaction object starting at d.pos (after optional white space); with
// explain, it also takes the explain keys (see AllowExplain).
func (d *Decoder) object(tx *fraud.Transaction, errs []fraud.Detail, explain bool) ([]fraud.Detail, error) {
	var seen uint64
	var seenExplain [2]bool
	tx.ID = ""
	d.skipSpace()
	if !d.consume('{') {
		if d.pos >= len(d.buf) {
			return errs, d.fail("empty body: expected a JSON object")
		}
		return errs, d.fail("expected a JSON object")
	}
	d.skipSpace()
	if d.consume('}') {
		return d.missing(seen, errs), nil
	}
	for {
		d.skipSpace()
		key, err := d.stringBytes()
		if err != nil {
			return errs, err
		}
		ref, known := d.Fields.index[string(key)]
		i := ref.i
		ek := -1
		if !known && explain {
			ek = explainKey(key)
		}
		var name string
		if ek >= 0 {
			d.loc = explainLocs[ek]
		} else if !known {
			name = Truncate(string(key))
			d.loc = "json:" + name
			if err := d.inspect(string(key)); err != nil {
				return errs, err
			}
		} else {
			d.loc = ref.loc
		}
		d.skipSpace()
		if !d.consume(':') {
			return errs, d.fail("expected ':' after an object key")
		}
		d.skipSpace()
		switch {
		case ek >= 0:
			if seenExplain[ek] {
				start := d.pos
				if err := d.skipValue(0); err != nil {
					return errs, err
				}
				errs = append(errs, fraud.FieldError(explainKeys[ek], "duplicate field", d.echo(start)))
				break
			}
			seenExplain[ek] = true
			detail, err := d.explainValue(ek)
			if err != nil {
				return errs, err
			}
			if detail != nil {
				errs = append(errs, detail)
			}
		case !known:
			start := d.pos
			if err := d.skipValue(0); err != nil {
				return errs, err
			}
			errs = append(errs, fraud.FieldError(name, "unknown field", d.echo(start)))
		case seen&(1<<i) != 0:
			start := d.pos
			if err := d.skipValue(0); err != nil {
				return errs, err
			}
			errs = append(errs, fraud.FieldError(d.Fields.rules[i].Name, "duplicate field", d.echo(start)))
		default:
			seen |= 1 << i
			errs, err = d.field(&d.Fields.rules[i], tx, errs)
			if err != nil {
				return errs, err
			}
		}
		d.skipSpace()
		if d.consume(',') {
			continue
		}
		if d.consume('}') {
			return d.missing(seen, errs), nil
		}
		if d.pos >= len(d.buf) {
			return errs, d.fail("unexpected end of JSON: object not closed")
		}
		return errs, d.fail("expected ',' or '}' after an object value")
	}
}

// field decodes the value of a known field.
func (d *Decoder) field(r *fraud.FieldRule, tx *fraud.Transaction, errs []fraud.Detail) ([]fraud.Detail, error) {
	start := d.pos
	if d.pos >= len(d.buf) {
		return errs, d.fail("unexpected end of JSON: value expected")
	}
	c := d.buf[d.pos]
	switch r.Kind {
	case fraud.KindNumber:
		if c == '-' || (c >= '0' && c <= '9') {
			v, err := d.number()
			if err != nil {
				return errs, err
			}
			if p := r.CheckNumber(v); p != "" {
				errs = append(errs, fraud.FieldError(r.Name, p, d.echo(start)))
			}
			tx.Features[r.Index] = v
			return errs, nil
		}
		if err := d.skipValue(0); err != nil {
			return errs, err
		}
		return append(errs, fraud.FieldError(r.Name, "must be a number", d.echo(start))), nil
	default: // KindString
		if c != '"' {
			if err := d.skipValue(0); err != nil {
				return errs, err
			}
			return append(errs, fraud.FieldError(r.Name, "must be a string", d.echo(start))), nil
		}
		b, err := d.stringBytes()
		if err != nil {
			return errs, err
		}
		s := string(b)
		if err := d.inspect(s); err != nil {
			return errs, err
		}
		if p := r.CheckString(s); p != "" {
			return append(errs, fraud.FieldError(r.Name, p, Truncate(s))), nil
		}
		tx.ID = s
		return errs, nil
	}
}

// missing appends a "required" error for every required field not seen.
func (d *Decoder) missing(seen uint64, errs []fraud.Detail) []fraud.Detail {
	for i := range d.Fields.rules {
		if d.Fields.rules[i].Required && seen&(1<<i) == 0 {
			errs = append(errs, fraud.Detail{"field": d.Fields.rules[i].Name, "problem": "is required"})
		}
	}
	return errs
}

// echo returns the JSON value that starts at start and ends at d.pos, for an error's details:
// a scalar decoded (a string cut by Truncate, so a long string is echoed as its first
// MaxEchoedValue bytes, without its quote), an object or array as the start of its JSON text.
// Only error paths call it; the body's size cap bounds what it decodes.
func (d *Decoder) echo(start int) any {
	raw := d.buf[start:d.pos]
	if len(raw) > MaxEchoedValue && raw[0] != '"' {
		return Truncate(string(raw))
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	if s, ok := v.(string); ok {
		return Truncate(s)
	}
	return v
}

// Truncate cuts s to at most MaxEchoedValue bytes at a rune boundary, marking the cut with an
// ellipsis, for echoing client text in error details.
func Truncate(s string) string {
	if len(s) <= MaxEchoedValue {
		return s
	}
	cut := MaxEchoedValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func (d *Decoder) fail(problem string) error { return &SyntaxError{Offset: d.pos, Problem: problem} }

func (d *Decoder) skipSpace() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *Decoder) consume(c byte) bool {
	if d.pos < len(d.buf) && d.buf[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// number scans a JSON number at d.pos under the JSON grammar and parses it. A number too large
// for float64 parses as ±Inf, which the field rule then rejects as not finite.
func (d *Decoder) number() (float64, error) {
	start := d.pos
	b := d.buf
	i := d.pos
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		d.pos = i
		return 0, d.fail("invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.pos = i
			return 0, d.fail("invalid number: digit expected after '.'")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.pos = i
			return 0, d.fail("invalid number: digit expected in exponent")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.pos = i
	v, err := strconv.ParseFloat(string(b[start:i]), 64)
	if err != nil {
		// Only a range error is possible after the scan above: v is ±Inf or ±0.
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, &SyntaxError{Offset: start, Problem: "invalid number"}
		}
	}
	return v, nil
}

// stringBytes reads a JSON string at d.pos and returns its unescaped bytes. The result aliases
// the input or d.scratch and is valid until the next call. Strings longer than the scratch
// buffer that need unescaping are truncated at a rune boundary (they are only ever echoed in
// errors or rejected by length rules).
func (d *Decoder) stringBytes() ([]byte, error) {
	if !d.consume('"') {
		if d.pos >= len(d.buf) {
			return nil, d.fail("unexpected end of JSON: string expected")
		}
		return nil, d.fail("expected a string")
	}
	start := d.pos
	b := d.buf
	// Fast path: no escapes.
	for i := start; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			d.pos = i + 1
			if !utf8.Valid(b[start:i]) {
				return nil, &SyntaxError{Offset: start, Problem: "invalid UTF-8 in string"}
			}
			return b[start:i], nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			d.pos = i
			return nil, d.fail("control character in string")
		}
	}
	out := d.scratch[:0]
	i := start
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			d.pos = i + 1
			if !utf8.Valid(out) {
				return nil, &SyntaxError{Offset: start, Problem: "invalid UTF-8 in string"}
			}
			return out, nil
		case c < 0x20:
			d.pos = i
			return nil, d.fail("control character in string")
		case c != '\\':
			out = appendCapped(out, c)
			i++
			continue
		}
		i++
		if i >= len(b) {
			break
		}
		switch b[i] {
		case '"', '\\', '/':
			out = appendCapped(out, b[i])
			i++
		case 'b':
			out, i = appendCapped(out, '\b'), i+1
		case 'f':
			out, i = appendCapped(out, '\f'), i+1
		case 'n':
			out, i = appendCapped(out, '\n'), i+1
		case 'r':
			out, i = appendCapped(out, '\r'), i+1
		case 't':
			out, i = appendCapped(out, '\t'), i+1
		case 'u':
			r, n, ok := readUnicodeEscape(b[i-1:])
			if !ok {
				d.pos = i
				return nil, d.fail("invalid \\u escape in string")
			}
			var tmp [utf8.UTFMax]byte
			for _, x := range tmp[:utf8.EncodeRune(tmp[:], r)] {
				out = appendCapped(out, x)
			}
			i += n - 1
		default:
			d.pos = i
			return nil, d.fail("invalid escape in string")
		}
	}
	d.pos = len(b)
	return nil, d.fail("unexpected end of JSON: string not closed")
}

func appendCapped(out []byte, c byte) []byte {
	if len(out) < cap(out) {
		return append(out, c)
	}
	return out
}

// readUnicodeEscape reads \uXXXX (and a following low surrogate when XXXX is a high one) at the
// start of b, returning the rune and the bytes read.
func readUnicodeEscape(b []byte) (rune, int, bool) {
	r, ok := hex4(b)
	if !ok {
		return 0, 0, false
	}
	if utf16.IsSurrogate(r) {
		if r2, ok := hex4(b[6:]); ok && len(b) >= 12 && b[6] == '\\' {
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				return dec, 12, true
			}
		}
		return utf8.RuneError, 6, true
	}
	return r, 6, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// maxDepth bounds nesting in skipped values, so a hostile body cannot exhaust the stack.
const maxDepth = 64

// skipValue skips one JSON value of any kind, checking its syntax.
func (d *Decoder) skipValue(depth int) error {
	if depth > maxDepth {
		return d.fail("JSON nested too deeply")
	}
	d.skipSpace()
	if d.pos >= len(d.buf) {
		return d.fail("unexpected end of JSON: value expected")
	}
	switch c := d.buf[d.pos]; {
	case c == '"':
		b, err := d.stringBytes()
		if err == nil && d.Detector != nil {
			err = d.inspect(string(b))
		}
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := d.number()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '{':
		d.pos++
		d.skipSpace()
		if d.consume('}') {
			return nil
		}
		for {
			d.skipSpace()
			b, err := d.stringBytes()
			if err != nil {
				return err
			}
			if d.Detector != nil {
				if err := d.inspect(string(b)); err != nil {
					return err
				}
			}
			d.skipSpace()
			if !d.consume(':') {
				return d.fail("expected ':' after an object key")
			}
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			d.skipSpace()
			if d.consume(',') {
				continue
			}
			if d.consume('}') {
				return nil
			}
			return d.fail("expected ',' or '}' in object")
		}
	case c == '[':
		d.pos++
		d.skipSpace()
		if d.consume(']') {
			return nil
		}
		for {
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			d.skipSpace()
			if d.consume(',') {
				continue
			}
			if d.consume(']') {
				return nil
			}
			return d.fail("expected ',' or ']' in array")
		}
	default:
		return d.fail("invalid character " + strconv.QuoteRune(rune(c)) + " where a value was expected")
	}
}

func (d *Decoder) literal(lit string) error {
	if len(d.buf)-d.pos >= len(lit) && string(d.buf[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return nil
	}
	return d.fail("invalid literal")
}
