package dataset

import (
	"math"
	"strconv"
	"strings"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// The result columns: those score appends to its input rows, and those of a job's results.
const (
	ColumnRow         = "row"
	ColumnProbability = "fraud_probability"
	ColumnIsFraud     = "is_fraud"
	ColumnRisk        = "risk_level"
	ColumnError       = "error"
	ColumnReason1     = "reason_1"
	ColumnReason2     = "reason_2"
	ColumnReason3     = "reason_3"
)

// NumReasons is how many reason columns an explained result has: the features of largest
// |contribution|, largest first.
const NumReasons = 3

// ReasonColumns are the names of the reason columns, comma-separated, each after a comma, as
// they follow the other result columns of a header.
const ReasonColumns = "," + ColumnReason1 + "," + ColumnReason2 + "," + ColumnReason3

// EmptyReasons are the reason cells of a row that has none (an invalid row), each after a
// comma.
const EmptyReasons = ",,,"

// ResultsHeader is the header line of a job's results as CSV, without its line feed.
const ResultsHeader = ColumnRow + "," + ColumnID + "," + ColumnProbability + "," + ColumnIsFraud + "," + ColumnRisk + "," + ColumnError

// AppendField appends s as one CSV field, quoted when it must be: when it holds a comma, a
// quote, a carriage return or a line feed, or starts with a space or a tab, which many CSV
// readers would trim (encoding/csv's Writer quotes those too).
func AppendField(dst []byte, s string) []byte {
	if s == "" || !(strings.ContainsAny(s, ",\"\r\n") || s[0] == ' ' || s[0] == '\t') {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	dst = append(dst, strings.ReplaceAll(s, `"`, `""`)...)
	return append(dst, '"')
}

// AppendScores appends the three result columns of a scored row, fraud_probability,is_fraud,
// risk_level, without a leading comma. The probability is the shortest decimal that reads
// back as the same float64: the API and score write it the same way, so that their files
// agree byte for byte.
func AppendScores(dst []byte, p float64, isFraud bool, risk fraud.RiskLevel) []byte {
	dst = strconv.AppendFloat(dst, p, 'g', -1, 64)
	dst = append(dst, ',')
	dst = strconv.AppendBool(dst, isFraud)
	dst = append(dst, ',')
	return append(dst, risk...)
}

// AppendReason appends one reason cell, feature:contribution, without a leading comma: the
// feature's name and its contribution in log-odds, the shortest decimal that reads back as the
// same float64. Feature names hold no comma or quote, and neither does a number, so the cell
// never needs quoting.
func AppendReason(dst []byte, feature string, contribution float64) []byte {
	dst = append(dst, feature...)
	dst = append(dst, ':')
	return strconv.AppendFloat(dst, contribution, 'g', -1, 64)
}

// AppendResult appends one line of a job's results as CSV (see ResultsHeader): a scored row
// has its three result columns and an empty error, an invalid one only its error. With
// withReasons (a job that explains: its header ends in ReasonColumns) the line ends in
// NumReasons reason cells (AppendReason), empty for an invalid row or a missing reason.
func AppendResult(dst []byte, r *fraud.JobResult, withReasons bool) []byte {
	dst = strconv.AppendInt(dst, r.Row, 10)
	dst = append(dst, ',')
	dst = AppendField(dst, r.TransactionID)
	dst = append(dst, ',')
	if r.Error == "" {
		dst = AppendScores(dst, r.Probability, r.IsFraud, r.Risk)
		dst = append(dst, ',')
	} else {
		dst = append(dst, ",,,"...)
		dst = AppendField(dst, r.Error)
	}
	if withReasons {
		for i := range NumReasons {
			dst = append(dst, ',')
			if i < len(r.Reasons) && r.Error == "" {
				dst = AppendReason(dst, r.Reasons[i].Feature, r.Reasons[i].Contribution)
			}
		}
	}
	return append(dst, '\n')
}

// AppendRow appends one creditcard.csv line, newline included, to dst: features holds Time,
// V1..V28 and Amount in that order (fraud.NumFeatures values), fraud the Class. Time is written
// as whole seconds, V1..V28 rounded to 10 decimal places and without trailing zeros, Amount in
// cents without trailing zeros, and Class as 0 or 1. Values far from the usual range fall back
// to strconv's 'g' format with 10 digits.
func AppendRow(dst []byte, features []float64, fraud bool) []byte {
	last := len(features) - 1
	dst = appendFixed(dst, features[0], 0)
	dst = append(dst, ',')
	for _, v := range features[1:last] {
		dst = appendFixed(dst, v, 10)
		dst = append(dst, ',')
	}
	dst = appendFixed(dst, features[last], 2)
	if fraud {
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
