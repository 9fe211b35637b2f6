package telemetry

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"
)

// TestJSONHandlerWritesWhatSlogWrites logs the same records through the fast handler and
// slog's own JSON handler and wants the same bytes, for every kind of value and the strings
// JSON must escape.
func TestJSONHandlerWritesWhatSlogWrites(t *testing.T) {
	at := time.Date(2026, 12, 6, 4, 36, 0, 123456000, time.UTC)
	strs := []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f", "<script>&amp;</script>",
		"é ü 日本", "\u2028\u2029", "bad \xff\xfe utf8", "trailing \xe2\x82"}
	floats := []float64{0, math.Copysign(0, -1), 1, 0.001, 1.5, 123.456, 1e-6, 9.99e-7, 1e-9, 1.234e-12, 1e20, 1e21, 1.5e300, -2.5e-8, math.MaxFloat64, math.SmallestNonzeroFloat64}
	var records [][]slog.Attr
	for _, s := range strs {
		records = append(records, []slog.Attr{slog.String("s", s), slog.String(s+"k", "v")})
	}
	for _, f := range floats {
		records = append(records, []slog.Attr{slog.Float64("duration_ms", f)})
	}
	records = append(records,
		[]slog.Attr{slog.Int("status", 200), slog.Int64("bytes", -7), slog.Uint64("u", math.MaxUint64), slog.Bool("ok", true),
			slog.Bool("no", false), slog.Duration("d", 1500*time.Millisecond), slog.Time("at", at), slog.Time("local", at.In(time.FixedZone("X", 3600)))},
		// Formatted by slog's handler: the fast one must hand these over whole.
		[]slog.Attr{slog.String("before", "x"), slog.Float64("nan", math.NaN())},
		[]slog.Attr{slog.Float64("inf", math.Inf(1))},
		[]slog.Attr{slog.Any("err", errors.New("boom")), slog.Int("after", 1)},
		[]slog.Attr{slog.Group("g", slog.Int("a", 1)), slog.Any("m", map[string]int{"x": 1})},
		[]slog.Attr{{}, slog.String("k", "v")},
		[]slog.Attr{slog.Time("far", time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC))},
		nil,
	)
	for _, with := range [][]slog.Attr{nil, {slog.String("component", "api")}, {slog.Any("bad", struct{ A int }{1})}} {
		for _, level := range []slog.Level{slog.LevelInfo, slog.LevelError, slog.LevelWarn + 2} {
			for _, as := range records {
				for _, zero := range []bool{false, true} {
					var fast, want bytes.Buffer
					opts := &slog.HandlerOptions{Level: slog.LevelDebug}
					var hf, hs slog.Handler = newJSONHandler(&fast, opts), slog.NewJSONHandler(&want, opts)
					if with != nil {
						hf, hs = hf.WithAttrs(with), hs.WithAttrs(with)
					}
					tm := at
					if zero {
						tm = time.Time{}
					}
					for _, h := range []slog.Handler{hf, hs} {
						r := slog.NewRecord(tm, level, "request \"x\"", 0)
						r.AddAttrs(as...)
						if err := h.Handle(context.Background(), r); err != nil {
							t.Fatal(err)
						}
					}
					if fast.String() != want.String() {
						t.Errorf("with %v, level %v, attrs %v:\n got %s\nwant %s", with, level, as, fast.String(), want.String())
					}
				}
			}
		}
	}
}

func TestJSONHandlerLevelAndGroups(t *testing.T) {
	var fast, want bytes.Buffer
	lv := new(slog.LevelVar)
	lv.Set(slog.LevelWarn)
	hf := newJSONHandler(&fast, &slog.HandlerOptions{Level: lv})
	hs := slog.NewJSONHandler(&want, &slog.HandlerOptions{Level: lv})
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if hf.Enabled(context.Background(), l) != hs.Enabled(context.Background(), l) {
			t.Errorf("level %v: enabled %v, slog says %v", l, hf.Enabled(context.Background(), l), hs.Enabled(context.Background(), l))
		}
	}
	lv.Set(slog.LevelDebug)
	if !hf.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("a level changed at run time is not followed")
	}
	at := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for _, h := range []slog.Handler{hf.WithAttrs([]slog.Attr{slog.Int("n", 1)}).WithGroup("req"), hs.WithAttrs([]slog.Attr{slog.Int("n", 1)}).WithGroup("req")} {
		r := slog.NewRecord(at, slog.LevelInfo, "m", 0)
		r.AddAttrs(slog.String("path", "/predict"))
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if fast.String() != want.String() {
		t.Errorf("in a group:\n got %s\nwant %s", fast.String(), want.String())
	}
}

// TestJSONHandlerOptionsItDoesNotDo checks that with AddSource or ReplaceAttr, which the fast
// path does not do, the lines are slog's own, and that nil options are slog's defaults.
func TestJSONHandlerOptionsItDoesNotDo(t *testing.T) {
	upper := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "msg" {
			a.Value = slog.StringValue("REQUEST")
		}
		return a
	}
	for _, opts := range []*slog.HandlerOptions{nil, {AddSource: true}, {ReplaceAttr: upper}} {
		var fast, want bytes.Buffer
		for _, h := range []slog.Handler{newJSONHandler(&fast, opts), slog.NewJSONHandler(&want, opts)} {
			if h.Enabled(context.Background(), slog.LevelDebug) {
				t.Errorf("options %+v: debug enabled, want INFO as the least level", opts)
			}
			r := slog.NewRecord(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "request", 0)
			r.AddAttrs(slog.String("path", "/predict"))
			if err := h.Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
		if fast.String() != want.String() {
			t.Errorf("options %+v:\n got %s\nwant %s", opts, fast.String(), want.String())
		}
	}
}
