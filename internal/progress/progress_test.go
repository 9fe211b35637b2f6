package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)}
}

func TestTerminalBar(t *testing.T) {
	clock := newFakeClock()
	var out bytes.Buffer
	b := New(&out, 1000, Options{Label: "scoring", Terminal: true, Now: clock.now})

	clock.advance(time.Second)
	b.Update(250, 250_000)
	want := "\rscoring [======>                 ]  25%  250.0k rows  250.0k rows/s  ETA 3.0s"
	if got := out.String(); got != want {
		t.Fatalf("first draw:\ngot  %q\nwant %q", got, want)
	}

	// Within the redraw interval nothing is written, whatever the progress.
	out.Reset()
	clock.advance(50 * time.Millisecond)
	b.Update(300, 300_000)
	if got := out.String(); got != "" {
		t.Fatalf("redraw within %v: got %q, want nothing", DefaultRedraw, got)
	}

	// After it, the bar is redrawn in place.
	out.Reset()
	clock.advance(950 * time.Millisecond) // 2s in all
	b.Update(500, 500_000)
	want = "\rscoring [============>           ]  50%  500.0k rows  250.0k rows/s  ETA 2.0s"
	if got := out.String(); got != want {
		t.Fatalf("second draw:\ngot  %q\nwant %q", got, want)
	}

	// A shorter line is padded over the longer one it replaces.
	out.Reset()
	clock.advance(2 * time.Second) // 4s in all
	b.Update(1000, 1_000_000)
	want = "\rscoring [========================] 100%  1.00M rows  250.0k rows/s  ETA 0.0s "
	if got := out.String(); got != want {
		t.Fatalf("full bar:\ngot  %q\nwant %q", got, want)
	}

	out.Reset()
	b.Finish()
	final := "scoring: 1000000 rows in 4.0s (250.0k rows/s)"
	pad := len("scoring [========================] 100%  1.00M rows  250.0k rows/s  ETA 0.0s") - len(final)
	want = "\r" + final + strings.Repeat(" ", pad) + "\n"
	if got := out.String(); got != want {
		t.Fatalf("final line:\ngot  %q\nwant %q", got, want)
	}

	out.Reset()
	b.Update(1000, 1_000_000)
	b.Finish()
	b.Stop()
	if got := out.String(); got != "" {
		t.Fatalf("after Finish: got %q, want nothing", got)
	}
}

func TestPlainLines(t *testing.T) {
	clock := newFakeClock()
	var out bytes.Buffer
	b := New(&out, 100, Options{Label: "scoring", Now: clock.now})

	steps := []struct {
		after      time.Duration
		done, rows int64
		want       string // the line written, or ""
	}{
		{time.Second, 5, 500, ""},
		{time.Second, 10, 1000, "scoring:  10%  1.0k rows  500 rows/s  ETA 18s\n"},
		{time.Second, 15, 1500, ""},
		// Jumping over several tenths gives one line.
		{time.Second, 42, 4200, "scoring:  42%  4.2k rows  1.1k rows/s  ETA 5.5s\n"},
		// Five seconds without a new tenth give a line anyway.
		{5 * time.Second, 45, 4500, "scoring:  45%  4.5k rows  500 rows/s  ETA 11s\n"},
		{time.Second, 49, 4900, ""},
		// A new tenth within a second of the last line waits for a later one.
		{time.Second, 55, 5500, "scoring:  55%  5.5k rows  500 rows/s  ETA 9.0s\n"},
		{500 * time.Millisecond, 62, 6200, ""},
		{500 * time.Millisecond, 63, 6300, "scoring:  63%  6.3k rows  525 rows/s  ETA 7.0s\n"},
		// The last tenth is left to Finish.
		{time.Second, 100, 10000, ""},
	}
	for i, s := range steps {
		out.Reset()
		clock.advance(s.after)
		b.Update(s.done, s.rows)
		if got := out.String(); got != s.want {
			t.Errorf("step %d: got %q, want %q", i, got, s.want)
		}
	}
	out.Reset()
	b.Finish()
	if got, want := out.String(), "scoring: 10000 rows in 13s (769 rows/s)\n"; got != want {
		t.Errorf("final line: got %q, want %q", got, want)
	}
}

func TestUnknownTotal(t *testing.T) {
	clock := newFakeClock()
	var out bytes.Buffer
	b := New(&out, 0, Options{Label: "downloading", Unit: "rows", Now: clock.now})
	clock.advance(4 * time.Second)
	b.Update(0, 400)
	if got := out.String(); got != "" {
		t.Fatalf("before 5s: got %q, want nothing", got)
	}
	clock.advance(time.Second)
	b.Update(0, 500)
	if got, want := out.String(), "downloading: 500 rows  100 rows/s\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}

	// A total learnt on the way brings the share and the time left.
	out.Reset()
	b.SetTotal(1000)
	clock.advance(5 * time.Second)
	b.Update(500, 500)
	if got, want := out.String(), "downloading:  50%  500 rows  50 rows/s  ETA 10s\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestNothingDoneYet(t *testing.T) {
	clock := newFakeClock()
	var out bytes.Buffer
	b := New(&out, 10, Options{Label: "uploading", Unit: "bytes", Terminal: true, Now: clock.now})
	b.Update(0, 0)
	want := "\ruploading [>                       ]   0%  0 bytes  0 bytes/s  ETA --"
	if got := out.String(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestStop(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		update   bool
		want     string
	}{
		{"terminal after a draw ends the line", true, true, "\n"},
		{"terminal before any draw writes nothing", true, false, ""},
		{"plain writes nothing", false, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			var out bytes.Buffer
			b := New(&out, 10, Options{Label: "x", Terminal: tc.terminal, Now: clock.now})
			if tc.update {
				b.Update(1, 1)
			}
			out.Reset()
			b.Stop()
			b.Finish()
			if got := out.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	counts := []struct {
		n    float64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1.0k"}, {12345, "12.3k"}, {999_949, "999.9k"},
		{1_234_567, "1.23M"}, {3e9, "3.00G"},
	}
	for _, c := range counts {
		if got := FormatCount(c.n); got != c.want {
			t.Errorf("FormatCount(%v): got %q, want %q", c.n, got, c.want)
		}
	}
	durations := []struct {
		d    time.Duration
		want string
	}{
		{0, "0.0s"}, {400 * time.Millisecond, "0.4s"}, {9940 * time.Millisecond, "9.9s"},
		{12 * time.Second, "12s"}, {185 * time.Second, "3m05s"}, {2*time.Hour + 10*time.Minute, "2h10m"},
	}
	for _, c := range durations {
		if got := FormatDuration(c.d); got != c.want {
			t.Errorf("FormatDuration(%v): got %q, want %q", c.d, got, c.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("a bytes.Buffer: got terminal, want not")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file: got terminal, want not")
	}
}
