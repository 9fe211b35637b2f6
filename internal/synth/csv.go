package synth

import (
	"bufio"
	"context"
	"io"
	"strings"

	"github.com/fraudguard/fraudguard/internal/dataset"
)

// WriteCSV writes the Header line and then every row left in g to w, and returns the number of
// rows written. It checks ctx every few thousand rows and returns ctx's error once it is done;
// w then holds a prefix of the output, so callers that must not leave partial files write to a
// temporary one (as cmd/fraudguard gen does).
func WriteCSV(ctx context.Context, w io.Writer, g *Generator) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	if _, err := bw.WriteString(strings.Join(Header(), ",") + "\n"); err != nil {
		return 0, err
	}
	buf := make([]byte, 0, 1024)
	var row Row
	n := 0
	for g.Next(&row) {
		if n%8192 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		buf = AppendRow(buf[:0], &row)
		if _, err := bw.Write(buf); err != nil {
			return n, err
		}
		n++
	}
	if err := ctx.Err(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// AppendRow appends r as one creditcard.csv line, newline included, to dst, as
// dataset.AppendRow writes it.
func AppendRow(dst []byte, r *Row) []byte {
	return dataset.AppendRow(dst, r.Features[:], r.Fraud)
}
