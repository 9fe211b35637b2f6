package dataset

import (
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
)

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

// AppendResult appends one line of a job's results as CSV (see ResultsHeader): a scored row
// has its three result columns and an empty error, an invalid one only its error.
func AppendResult(dst []byte, r *fraud.JobResult) []byte {
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
	return append(dst, '\n')
}
