// Package progress reports the progress of a long command on one writer (stderr): on a terminal
// as a bar redrawn in place with the rate and the time left, elsewhere (a log, a pipe) as a
// plain line at every tenth of the work or every few seconds.
package progress

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults of Options.
const (
	// DefaultRedraw is the least time between two redraws of the bar: about ten a second.
	DefaultRedraw = 100 * time.Millisecond
	// DefaultEvery is the most time between two plain lines.
	DefaultEvery = 5 * time.Second
)

// barWidth is the number of cells of the drawn bar.
const barWidth = 24

// minPlainGap is the least time between two plain lines for new tenths, so that quick work
// writes its final line and little else.
const minPlainGap = time.Second

// Options are a Bar's settings; the zero value works.
type Options struct {
	// Label starts every line, "scoring" say.
	Label string
	// Unit names what the count counts, for the rate: "rows" (the default).
	Unit string
	// Terminal selects the bar redrawn in place with \r; otherwise plain lines are written.
	Terminal bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Redraw is the least time between two redraws on a terminal; 0 means DefaultRedraw.
	Redraw time.Duration
	// Every is the most time between two plain lines; 0 means DefaultEvery.
	Every time.Duration
}

// Bar reports the progress of one piece of work. Progress is measured twice: done out of total
// gives the share and the time left (it may count bytes, say, when the number of rows is not
// known in advance), and count is the number of things handled, whose rate is shown.
//
// A Bar is not safe for concurrent use: one goroutine updates it.
type Bar struct {
	w     io.Writer
	opts  Options
	total int64

	start    time.Time
	done     int64
	count    int64
	lastDraw time.Time // when the last line was written; zero before the first
	lastStep int       // in plain mode, the last tenth reported
	drawn    int       // on a terminal, the length of the line on screen; 0 when none
	ended    bool
	buf      []byte
}

// New starts a bar writing to w for work of total units; total <= 0 means unknown, and then
// neither share nor time left is shown. The clock starts now.
func New(w io.Writer, total int64, opts Options) *Bar {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Unit == "" {
		opts.Unit = "rows"
	}
	if opts.Redraw <= 0 {
		opts.Redraw = DefaultRedraw
	}
	if opts.Every <= 0 {
		opts.Every = DefaultEvery
	}
	return &Bar{w: w, opts: opts, total: total, start: opts.Now()}
}

// SetTotal changes the amount of work, when it becomes known (or known better) on the way.
func (b *Bar) SetTotal(total int64) { b.total = total }

// Update records that done units out of the total are finished and count things handled, and
// writes a line when one is due: on a terminal at most once per Redraw, otherwise when a new
// tenth of the work is reached (but not within a second of the last line) or Every has passed
// since the last line.
func (b *Bar) Update(done, count int64) {
	if b.ended {
		return
	}
	b.done, b.count = done, count
	now := b.opts.Now()
	if b.opts.Terminal {
		if b.lastDraw.IsZero() || now.Sub(b.lastDraw) >= b.opts.Redraw {
			b.draw(now)
		}
		return
	}
	step := -1
	if b.total > 0 {
		step = int(min(10*done/b.total, 10))
	}
	// The last tenth is left to Finish, which says the same and more.
	since := now.Sub(b.lastLine())
	if (step > b.lastStep && step < 10 && since >= minPlainGap) || since >= b.opts.Every {
		b.lastStep = max(b.lastStep, step)
		b.plain(now)
	}
}

// lastLine is when a plain line was last written, counting the start as one.
func (b *Bar) lastLine() time.Time {
	if b.lastDraw.IsZero() {
		return b.start
	}
	return b.lastDraw
}

// Finish writes the final line: the count, the time taken and the mean rate. Later calls do
// nothing.
func (b *Bar) Finish() {
	if b.ended {
		return
	}
	b.ended = true
	elapsed := b.opts.Now().Sub(b.start)
	line := b.buf[:0]
	line = append(line, b.opts.Label...)
	line = append(line, ": "...)
	line = strconv.AppendInt(line, b.count, 10)
	line = append(line, ' ')
	line = append(line, b.opts.Unit...)
	line = append(line, " in "...)
	line = append(line, FormatDuration(elapsed)...)
	line = append(line, " ("...)
	line = append(line, FormatCount(rate(b.count, elapsed))...)
	line = append(line, ' ')
	line = append(line, b.opts.Unit...)
	line = append(line, "/s)"...)
	b.buf = b.emit(line, true)
}

// Stop ends the bar without a final line, when the work failed: on a terminal it moves past
// the bar so that what is written next starts on a line of its own. Later calls do nothing.
func (b *Bar) Stop() {
	if b.ended {
		return
	}
	b.ended = true
	if b.opts.Terminal && b.drawn > 0 {
		io.WriteString(b.w, "\n")
	}
}

// draw redraws the bar in place.
func (b *Bar) draw(now time.Time) {
	line := append(b.buf[:0], b.opts.Label...)
	line = append(line, ' ')
	if b.total > 0 {
		filled := int(min(barWidth*b.done/b.total, barWidth))
		line = append(line, '[')
		for i := range barWidth {
			switch {
			case i < filled:
				line = append(line, '=')
			case i == filled:
				line = append(line, '>')
			default:
				line = append(line, ' ')
			}
		}
		line = append(line, "] "...)
	}
	line = b.appendStats(line, now)
	b.buf = b.emit(line, false)
	b.lastDraw = now
}

// plain writes one plain line.
func (b *Bar) plain(now time.Time) {
	line := append(b.buf[:0], b.opts.Label...)
	line = append(line, ": "...)
	line = b.appendStats(line, now)
	b.buf = b.emit(line, true)
	b.lastDraw = now
}

// appendStats appends "45%  450.0k rows  150.0k rows/s  ETA 4s", leaving out the share and
// the time left when the total is unknown.
func (b *Bar) appendStats(line []byte, now time.Time) []byte {
	elapsed := now.Sub(b.start)
	if b.total > 0 {
		pct := min(100*b.done/b.total, 100)
		line = fmt.Appendf(line, "%3d%%  ", pct)
	}
	line = append(line, FormatCount(float64(b.count))...)
	line = append(line, ' ')
	line = append(line, b.opts.Unit...)
	line = append(line, "  "...)
	line = append(line, FormatCount(rate(b.count, elapsed))...)
	line = append(line, ' ')
	line = append(line, b.opts.Unit...)
	line = append(line, "/s"...)
	if b.total > 0 {
		line = append(line, "  ETA "...)
		if b.done <= 0 || elapsed <= 0 {
			line = append(line, "--"...)
		} else {
			left := time.Duration(float64(elapsed) * float64(max(b.total-b.done, 0)) / float64(b.done))
			line = append(line, FormatDuration(left)...)
		}
	}
	return line
}

// emit writes line: on a terminal over the previous one (padding with spaces what a longer
// previous line left), ending it when final; otherwise as a line of its own.
func (b *Bar) emit(line []byte, final bool) []byte {
	n := len(line)
	if b.opts.Terminal {
		out := make([]byte, 0, n+b.drawn+2)
		out = append(out, '\r')
		out = append(out, line...)
		if pad := b.drawn - n; pad > 0 {
			out = append(out, strings.Repeat(" ", pad)...)
		}
		b.drawn = n
		if final {
			out = append(out, '\n')
			b.drawn = 0
		}
		b.w.Write(out)
		return line
	}
	b.w.Write(append(line, '\n'))
	return line
}

func rate(count int64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(count) / elapsed.Seconds()
}

// FormatCount writes n briefly: "950", "12.3k", "1.23M".
func FormatCount(n float64) string {
	switch {
	case n < 1000:
		return strconv.FormatFloat(n, 'f', 0, 64)
	case n < 1e6:
		return strconv.FormatFloat(n/1e3, 'f', 1, 64) + "k"
	case n < 1e9:
		return strconv.FormatFloat(n/1e6, 'f', 2, 64) + "M"
	default:
		return strconv.FormatFloat(n/1e9, 'f', 2, 64) + "G"
	}
}

// FormatDuration writes d briefly: "0.4s", "12s", "3m05s", "2h10m".
func FormatDuration(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Minute:
		return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + "s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	default:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}

// IsTerminal reports whether w is a terminal (a character device), where a bar redrawn in
// place makes sense.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
