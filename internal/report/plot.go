package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// plot is one SVG chart, laid out in Go and drawn by the page template. Every shape that
// stands for data is marked data-series in the markup, so that a test can find them.
type plot struct {
	ID, Title      string
	XLabel, YLabel string
	W, H           int
	// Frame is the plotting area.
	Frame box
	// XTicks and YTicks are grid lines with their labels.
	XTicks, YTicks []tick
	// Refs are reference lines (the diagonal, the threshold), not data.
	Refs      []line
	Polylines []polyline
	Rects     []rect
	Circles   []circle
	Legend    []legendItem
	// Desc describes the plot for screen readers.
	Desc string
}

type box struct{ X, Y, W, H float64 }

type tick struct {
	X1, Y1, X2, Y2 float64 // the grid line
	TX, TY         float64 // where the label goes
	Label          string
}

type line struct {
	X1, Y1, X2, Y2 float64
	Class          string
}

type polyline struct {
	Points string
	Class  string
	Title  string
}

type rect struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type circle struct {
	CX, CY, R float64
	Class     string
	Title     string
}

// legendItem is a swatch of Class at X with Label beside it, on the text baseline Y.
type legendItem struct {
	X, Y  float64
	Class string
	Label string
}

// X2 is where a legend line ends, YMid its height, YTop a swatch's top, TX the label's start.
func (l legendItem) X2() float64   { return l.X + 12 }
func (l legendItem) YMid() float64 { return l.Y - 4 }
func (l legendItem) YTop() float64 { return l.Y - 9 }
func (l legendItem) TX() float64   { return l.X + 18 }

// XLabelX and XLabelY place the x axis's title under the frame, YLabelY the y axis's.
func (p plot) XLabelX() float64 { return round(p.Frame.X + p.Frame.W/2) }
func (p plot) XLabelY() float64 { return round(p.Frame.Y + p.Frame.H + 36) }
func (p plot) YLabelY() float64 { return round(p.Frame.Y + p.Frame.H/2) }

// scale maps data values to pixels along one axis.
type scale struct {
	lo, hi    float64 // data, after transform; values beyond are drawn at the edge
	from, to  float64 // pixels
	transform func(float64) float64
}

func linear(lo, hi, from, to float64) scale {
	return scale{lo: lo, hi: hi, from: from, to: to, transform: func(v float64) float64 { return v }}
}

// logitScale maps probabilities by their log-odds, between the log-odds lo and hi.
func logitScale(lo, hi, from, to float64) scale {
	return scale{lo: lo, hi: hi, from: from, to: to, transform: logit}
}

func (s scale) px(v float64) float64 {
	t := s.transform(v)
	t = min(max(t, s.lo), s.hi)
	return round(s.from + (t-s.lo)/(s.hi-s.lo)*(s.to-s.from))
}

// round keeps two decimals of a pixel position: enough for the eye, short in the markup.
func round(v float64) float64 { return math.Round(v*100) / 100 }

// layout is the common frame of the square plots.
const (
	plotW, plotH                               = 440, 340
	marginL, marginR, marginT, marginB         = 56, 14, 14, 46
	frameW, frameH                     float64 = plotW - marginL - marginR, plotH - marginT - marginB
)

func newPlot(id, title, xlabel, ylabel string) plot {
	return plot{ID: id, Title: title, XLabel: xlabel, YLabel: ylabel, W: plotW, H: plotH,
		Frame: box{marginL, marginT, frameW, frameH}}
}

func (p *plot) xs() scale { return linear(0, 1, p.Frame.X, p.Frame.X+p.Frame.W) }
func (p *plot) ys() scale { return linear(0, 1, p.Frame.Y+p.Frame.H, p.Frame.Y) }

// addXTicks adds grid lines and labels at values along sx.
func (p *plot) addXTicks(sx scale, values []float64, label func(float64) string) {
	for _, v := range values {
		x := sx.px(v)
		p.XTicks = append(p.XTicks, tick{X1: x, Y1: p.Frame.Y, X2: x, Y2: p.Frame.Y + p.Frame.H,
			TX: x, TY: p.Frame.Y + p.Frame.H + 16, Label: label(v)})
	}
}

func (p *plot) addYTicks(sy scale, values []float64, label func(float64) string) {
	for _, v := range values {
		y := sy.px(v)
		p.YTicks = append(p.YTicks, tick{X1: p.Frame.X, Y1: y, X2: p.Frame.X + p.Frame.W, Y2: y,
			TX: p.Frame.X - 6, TY: y + 4, Label: label(v)})
	}
}

func points(pts []Point, sx, sy scale) string {
	var b strings.Builder
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(sx.px(p.X), 'f', -1, 64))
		b.WriteByte(',')
		b.WriteString(strconv.FormatFloat(sy.px(p.Y), 'f', -1, 64))
	}
	return b.String()
}

var unitTicks = []float64{0, 0.2, 0.4, 0.6, 0.8, 1}

// probabilityTicks are the probabilities marked on a log-odds axis.
var probabilityTicks = []float64{1e-5, 1e-4, 1e-3, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999}

func fmtTick(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// niceTicks returns 0 and multiples of a 1-2-5 step up to at least hi, at most about n of them.
func niceTicks(hi float64, n int) []float64 {
	if !(hi > 0) {
		return []float64{0, 1}
	}
	raw := hi / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for k := 0; ; k++ {
		v := float64(k) * step
		out = append(out, v)
		if v >= hi {
			break
		}
	}
	return out
}

// rocPlot draws the ROC curve, the diagonal of a model that guesses, and the threshold's
// operating point.
func rocPlot(e *Evaluation) plot {
	p := newPlot("roc", "ROC curve", "false-positive rate (share of normal transactions flagged)", "true-positive rate (recall)")
	sx, sy := p.xs(), p.ys()
	p.addXTicks(sx, unitTicks, fmtTick)
	p.addYTicks(sy, unitTicks, fmtTick)
	p.Refs = append(p.Refs, line{sx.px(0), sy.px(0), sx.px(1), sy.px(1), "ref"})
	p.Polylines = append(p.Polylines, polyline{Points: points(e.ROC, sx, sy), Class: "curve",
		Title: fmt.Sprintf("ROC-AUC %.4f", e.Metrics.ROCAUC)})
	c := e.Metrics.Confusion
	fpr := c.FP / e.NormalWeight
	p.Circles = append(p.Circles, circle{CX: sx.px(fpr), CY: sy.px(e.Metrics.Recall), R: 5, Class: "mark",
		Title: fmt.Sprintf("threshold %s: false-positive rate %.4g, recall %.4f", fmtProb(e.Threshold), fpr, e.Metrics.Recall)})
	p.Desc = fmt.Sprintf("ROC curve, area %.4f", e.Metrics.ROCAUC)
	return p
}

// prPlot draws the precision-recall curve, the precision of flagging everything, and the
// threshold's operating point.
func prPlot(e *Evaluation) plot {
	p := newPlot("pr", "Precision-recall curve", "recall (share of fraud caught)", "precision (share of alerts that are fraud)")
	sx, sy := p.xs(), p.ys()
	p.addXTicks(sx, unitTicks, fmtTick)
	p.addYTicks(sy, unitTicks, fmtTick)
	base := e.FraudWeight / (e.FraudWeight + e.NormalWeight)
	p.Refs = append(p.Refs, line{sx.px(0), sy.px(base), sx.px(1), sy.px(base), "ref"})
	p.Polylines = append(p.Polylines, polyline{Points: points(e.PR, sx, sy), Class: "curve",
		Title: fmt.Sprintf("average precision %.4f", e.Metrics.AUPRC)})
	p.Circles = append(p.Circles, circle{CX: sx.px(e.Metrics.Recall), CY: sy.px(e.Metrics.Precision), R: 5, Class: "mark",
		Title: fmt.Sprintf("threshold %s: recall %.4f, precision %.4f", fmtProb(e.Threshold), e.Metrics.Recall, e.Metrics.Precision)})
	p.Desc = fmt.Sprintf("precision-recall curve, average precision %.4f", e.Metrics.AUPRC)
	return p
}

// distributionPlot draws each class's share of weight by score bin, on a log-odds axis.
func distributionPlot(e *Evaluation) plot {
	p := newPlot("distribution", "Score distribution by class", "fraud probability (log-odds scale)", "share of the class")
	p.W = 2*plotW - 60
	p.Frame.W = float64(p.W) - marginL - marginR
	hi := distributionLo + DistributionBins*distributionStep
	sx := logitScale(distributionLo, hi, p.Frame.X, p.Frame.X+p.Frame.W)
	var top float64
	for _, b := range e.Distribution {
		top = max(top, b.Normal, b.Fraud)
	}
	yt := niceTicks(top, 5)
	sy := linear(0, yt[len(yt)-1], p.Frame.Y+p.Frame.H, p.Frame.Y)
	p.addXTicks(sx, probabilityTicks, fmtTick)
	p.addYTicks(sy, yt, fmtTick)
	bw := p.Frame.W / DistributionBins
	for k, b := range e.Distribution {
		x := round(p.Frame.X + float64(k)*bw)
		for _, s := range []struct {
			v     float64
			class string
			name  string
		}{{b.Normal, "normal", "normal"}, {b.Fraud, "fraud", "fraud"}} {
			if s.v <= 0 {
				continue
			}
			y := sy.px(s.v)
			p.Rects = append(p.Rects, rect{X: x, Y: y, W: round(bw), H: round(p.Frame.Y + p.Frame.H - y), Class: s.class,
				Title: fmt.Sprintf("%s: %.3g%% of the class scores between %s and %s", s.name, 100*s.v, fmtProb(sigmoid(b.Lo)), fmtProb(sigmoid(b.Hi)))})
		}
	}
	tx := sx.px(e.Threshold)
	p.Refs = append(p.Refs, line{tx, p.Frame.Y, tx, p.Frame.Y + p.Frame.H, "threshold"})
	p.Legend = []legendItem{
		{p.Frame.X + 10, p.Frame.Y + 14, "normal", "normal"},
		{p.Frame.X + 10, p.Frame.Y + 32, "fraud", "fraud"},
		{p.Frame.X + 10, p.Frame.Y + 50, "threshold", "threshold " + fmtProb(e.Threshold)},
	}
	p.Desc = "score distributions of normal and fraud transactions"
	return p
}

// calibrationLim bounds the calibration plot's axes, in log-odds.
const calibrationLim = 10.0

// calibrationPlot draws each bin's observed fraud rate against its mean prediction on log-odds
// axes, where a calibrated model lies on the diagonal. A bin with no fraud (or no normal row)
// has an observed rate of 0 (or 1), off any log-odds axis: it is drawn hollow on the edge.
func calibrationPlot(e *Evaluation) plot {
	p := newPlot("calibration", "Calibration", "mean predicted probability (log-odds scale)", "observed fraud rate (log-odds scale)")
	sx := logitScale(-calibrationLim, calibrationLim, p.Frame.X, p.Frame.X+p.Frame.W)
	sy := logitScale(-calibrationLim, calibrationLim, p.Frame.Y+p.Frame.H, p.Frame.Y)
	ticks := []float64{1e-4, 1e-3, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999}
	p.addXTicks(sx, ticks, fmtTick)
	p.addYTicks(sy, ticks, fmtTick)
	p.Refs = append(p.Refs, line{sx.px(0), sy.px(0), sx.px(1), sy.px(1), "ref"})
	var pts []Point
	var most int
	for _, b := range e.Calibration {
		most = max(most, b.Rows)
	}
	for _, b := range e.Calibration {
		if math.IsNaN(b.Predicted) {
			continue
		}
		pts = append(pts, Point{b.Predicted, b.Observed})
		class := "mark"
		if b.Observed == 0 || b.Observed == 1 {
			class = "mark edge"
		}
		p.Circles = append(p.Circles, circle{CX: sx.px(b.Predicted), CY: sy.px(b.Observed),
			R: round(2.5 + 5*math.Sqrt(float64(b.Rows)/float64(most))), Class: class,
			Title: fmt.Sprintf("scores %s to %s: %d rows, mean prediction %.4g, observed fraud rate %.4g", fmtProb(b.Lo), fmtProb(b.Hi), b.Rows, b.Predicted, b.Observed)})
	}
	if len(pts) > 1 {
		p.Polylines = append(p.Polylines, polyline{Points: points(pts, sx, sy), Class: "curve thin"})
	}
	p.Desc = "calibration: observed fraud rate against mean prediction, by bin"
	return p
}

// importancePlot draws each feature's mean |contribution| as a horizontal bar.
func importancePlot(imp Importance) plot {
	const rowH = 15
	n := len(imp.Features)
	p := plot{ID: "importance", Title: "Feature importance", XLabel: "mean |SHAP contribution| (log-odds)", YLabel: "",
		W: plotW + 120, H: marginT + n*rowH + marginB}
	p.Frame = box{marginL, marginT, float64(p.W) - marginL - marginR - 50, float64(n * rowH)}
	var top float64
	for _, f := range imp.Features {
		top = max(top, f.MeanAbs)
	}
	xt := niceTicks(top, 5)
	sx := linear(0, xt[len(xt)-1], p.Frame.X, p.Frame.X+p.Frame.W)
	p.addXTicks(sx, xt, fmtTick)
	for k, f := range imp.Features {
		y := p.Frame.Y + float64(k*rowH)
		p.YTicks = append(p.YTicks, tick{X1: p.Frame.X, Y1: y + rowH/2, X2: p.Frame.X, Y2: y + rowH/2, TX: p.Frame.X - 6, TY: y + rowH/2 + 4, Label: f.Name})
		w := sx.px(f.MeanAbs) - p.Frame.X
		if w <= 0 {
			continue
		}
		p.Rects = append(p.Rects, rect{X: p.Frame.X, Y: round(y + 2), W: round(w), H: rowH - 4, Class: "bar",
			Title: fmt.Sprintf("%s: %.4g", f.Name, f.MeanAbs)})
	}
	p.Desc = "mean absolute SHAP contribution of each feature"
	return p
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// fmtProb writes a probability with enough digits to tell thresholds apart.
func fmtProb(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
