package synth

import (
	"bufio"
	"context"
	"io"
	"math"
	"strconv"
	"strings"
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

// AppendRow appends r as one creditcard.csv line, newline included, to dst: Time as whole
// seconds, V1..V28 rounded to 10 decimal places (more than the synthetic values mean) and
// written without trailing zeros, Amount in cents without trailing zeros, and Class as 0 or 1.
// Values far from the usual range fall back to strconv's 'g' format with 10 digits.
func AppendRow(dst []byte, r *Row) []byte {
	dst = appendFixed(dst, r.Features[timeIndex], 0)
	dst = append(dst, ',')
	for _, v := range r.Features[1:amountIndex] {
		dst = appendFixed(dst, v, 10)
		dst = append(dst, ',')
	}
	dst = appendFixed(dst, r.Features[amountIndex], 2)
	if r.Fraud {
		return append(dst, ',', '1', '\n')
	}
	return append(dst, ',', '0', '\n')
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10}

// appendFixed appends v rounded to decimals places (at most 10) without trailing zeros. It
// formats through integers, several times faster than strconv's general float formatting,
// which dominates the cost of writing a row.
func appendFixed(dst []byte, v float64, decimals int) []byte {
	a := math.Abs(v)
	if v == 0 {
		return append(dst, '0')
	}
	// Below 1e-4 too few digits would survive; above 1e8 the scaled value could overflow.
	if !(a >= 1e-4 && a < 1e8) {
		return strconv.AppendFloat(dst, v, 'g', 10, 64)
	}
	scale := pow10[decimals]
	n := uint64(math.Round(a * scale))
	if n == 0 {
		return append(dst, '0')
	}
	if v < 0 {
		dst = append(dst, '-')
	}
	unit := uint64(scale)
	dst = strconv.AppendUint(dst, n/unit, 10)
	frac := n % unit
	if frac == 0 {
		return dst
	}
	var digits [10]byte
	for i := decimals - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	end := decimals
	for digits[end-1] == '0' {
		end--
	}
	dst = append(dst, '.')
	return append(dst, digits[:end]...)
}
