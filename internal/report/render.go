package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
)

//go:embed report.html.tmpl
var pageTemplate string

// ContentSecurityPolicy is the page's own policy, in a meta element: no script, no request of
// any kind, only its inline styles. A page opened from disk or mail thus stays what it was
// written as, and a test that sees no policy violation in the browser's console knows the page
// asked for nothing.
const ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":    fmtPct,
	"fig":    fmtFig,
	"prob":   fmtProb,
	"count":  fmtCount,
	"per10k": fmtPer10k,
	"int":    fmtInt,
}).Parse(pageTemplate))

// view is what the template reads.
type view struct {
	*Report
	CSP                           string
	ROC, PR, Dist, Cal, ImpPlot   plot
	HasImportance                 bool
	FalsePositiveRate, Prevalence float64
}

// Render writes r as one self-contained HTML page: inline styles and SVG, no script, no
// external resource.
func Render(w io.Writer, r *Report) error {
	e := r.Evaluation
	if e == nil {
		return fmt.Errorf("render report: no evaluation")
	}
	v := view{
		Report: r, CSP: ContentSecurityPolicy,
		ROC: rocPlot(e), PR: prPlot(e), Dist: distributionPlot(e), Cal: calibrationPlot(e),
		HasImportance:     len(r.Importance.Features) > 0,
		FalsePositiveRate: e.Metrics.Confusion.FP / e.NormalWeight,
		Prevalence:        e.FraudWeight / (e.FraudWeight + e.NormalWeight),
	}
	if v.HasImportance {
		v.ImpPlot = importancePlot(r.Importance)
	}
	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}

// fmtPct writes a share as a percentage, "—" when it is undefined.
func fmtPct(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(100*v, 'f', 2, 64) + "%"
}

// fmtFig writes a figure in [0, 1] to four decimals, "—" when undefined.
func fmtFig(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// fmtCount writes a weighted count: whole numbers with thousands separators, small ones
// with their decimals.
func fmtCount(v float64) string {
	if v != math.Trunc(v) && v < 100 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	return fmtInt(int64(math.Round(v)))
}

// fmtPer10k writes a rate per 10,000 transactions.
func fmtPer10k(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// fmtInt writes an integer with thousands separators.
func fmtInt(v any) string {
	var n int64
	switch v := v.(type) {
	case int:
		n = int64(v)
	case int64:
		n = v
	case float64:
		n = int64(math.Round(v))
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
