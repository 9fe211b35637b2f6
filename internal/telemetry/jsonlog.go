package telemetry

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// jsonHandler writes the lines slog's JSON handler writes, byte for byte, at a fraction of
// the cost for the common case: a record whose attributes are strings, integers, finite
// floats, booleans, durations and times, without groups. That is every access log line, one a
// request. Anything else (a group, a value of kind Any or LogValuer, a float that is not
// finite, an empty key, a year outside 0–9999) goes to slog's own handler, which writes to the
// same writer; so does everything after WithGroup.
//
// Unlike slog's handler it takes no lock around a write: w must be safe for concurrent use,
// as AsyncWriter is.
type jsonHandler struct {
	w     io.Writer // takes each line in one Write, from many goroutines at once (AsyncWriter)
	level slog.Leveler
	slow  slog.Handler
	pre   []byte // the attributes given to WithAttrs, formatted: `,"key":value` each
	// simple is false when an attribute given to WithAttrs cannot be formatted here: then
	// every record goes to slow.
	simple bool
}

// newJSONHandler returns the handler, for a w safe for concurrent use. With AddSource or
// ReplaceAttr in opts, which it does not do itself, every record goes to slog's handler.
func newJSONHandler(w io.Writer, opts *slog.HandlerOptions) *jsonHandler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	level := opts.Level
	if level == nil {
		level = slog.LevelInfo
	}
	simple := !opts.AddSource && opts.ReplaceAttr == nil
	return &jsonHandler{w: w, level: level, slow: slog.NewJSONHandler(w, opts), simple: simple}
}

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func (h *jsonHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *jsonHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.simple {
		return h.slow.Handle(ctx, r)
	}
	bp := lineBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 16<<10 {
			lineBufs.Put(bp)
		}
	}()
	b := append((*bp)[:0], '{')
	if !r.Time.IsZero() {
		t := r.Time.Round(0)
		if y := t.Year(); y < 0 || y >= 10000 {
			return h.slow.Handle(ctx, r)
		}
		b = append(b, `"time":"`...)
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	b = append(b, `"level":`...)
	b = appendJSONString(b, r.Level.String())
	b = append(b, `,"msg":`...)
	b = appendJSONString(b, r.Message)
	b = append(b, h.pre...)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		b, ok = appendAttr(b, a)
		return ok
	})
	if !ok {
		*bp = b[:0]
		return h.slow.Handle(ctx, r)
	}
	b = append(b, '}', '\n')
	*bp = b[:0]
	_, err := h.w.Write(b)
	return err
}

func (h *jsonHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	n := &jsonHandler{w: h.w, level: h.level, slow: h.slow.WithAttrs(as), simple: h.simple}
	n.pre = append([]byte(nil), h.pre...)
	for _, a := range as {
		var ok bool
		if n.pre, ok = appendAttr(n.pre, a); !ok {
			n.simple = false
		}
	}
	return n
}

func (h *jsonHandler) WithGroup(name string) slog.Handler {
	return h.slow.WithGroup(name)
}

// appendAttr appends `,"key":value` and reports true, or reports false when a is not one it
// formats as slog would.
func appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	if a.Key == "" {
		return b, false
	}
	b = append(b, ',')
	b = appendJSONString(b, a.Key)
	b = append(b, ':')
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		b = appendJSONString(b, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return b, false
		}
		b = appendJSONFloat(b, f)
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		b = strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindTime:
		t := v.Time()
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	default:
		return b, false
	}
	return b, true
}

// appendJSONFloat formats a finite f as encoding/json does (which slog's JSON handler calls):
// the shortest representation, in exponent form only below 1e-6 or from 1e21 on, with a
// two-digit exponent cleaned of its leading zero.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b) - start
		if n >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
			b[len(b)-2] = b[len(b)-1]
			b = b[:len(b)-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted and escaped as slog's JSON handler does: ", \ and control
// characters escaped, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped, HTML characters not.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
