package report

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
)

// Report is everything the page shows.
type Report struct {
	Info       Info
	Evaluation *Evaluation
	Importance Importance
}

// Info says what was evaluated, in words for the page's heading.
type Info struct {
	// ModelName, ModelVersion and ModelKind come from the bundle's manifest.
	ModelName, ModelVersion, ModelKind string
	// Data names the labelled file.
	Data string
	// Rows says which of its rows were scored ("every row", "the 673 latest rows ...").
	Rows string
	// Weighting says how the rows were weighted, or is "" when every row weighs 1.
	Weighting string
}

// Importance is the global feature importance of a model on a set of rows: the weighted mean
// of |SHAP contribution| (log-odds) of each feature, the exact explanations Model.Explain
// gives.
type Importance struct {
	// Features holds every feature, largest importance first (ties in feature order); it is
	// nil when Unavailable is set.
	Features []FeatureImportance
	// Rows is how many rows were explained, of Of.
	Rows, Of int
	// Unavailable says why the model has no importance (a tree without node covers), or
	// is "".
	Unavailable string
}

// FeatureImportance is one feature's mean |SHAP contribution|, in log-odds.
type FeatureImportance struct {
	Name    string
	MeanAbs float64
}

// Options are Build's optional settings.
type Options struct {
	// ImportanceRows bounds the rows explained for feature importance (0: DefaultImportanceRows);
	// beyond it an evenly spaced sample of the rows is explained.
	ImportanceRows int
	// Workers is how many rows are explained at once (0: GOMAXPROCS).
	Workers int
}

// DefaultImportanceRows is how many rows feature importance explains at most by default: an
// explanation of the shipped model costs about half a millisecond, and the mean over 10,000
// evenly spaced rows moves by well under the bars' resolution.
const DefaultImportanceRows = 10000

// explainChunk is how many rows one worker explains at a time; the sums are added chunk by
// chunk in row order, so the result does not depend on the number of workers.
const explainChunk = 256

// NormalWeights returns the weight of each of rows of tbl: its table weight (1 without a weight
// column), times normalWeight for a normal row.
func NormalWeights(tbl *dataset.Table, rows []int, normalWeight float64) []float64 {
	w := make([]float64, len(rows))
	for k, i := range rows {
		w[k] = tbl.Weight(i)
		if tbl.Labels[i] == 0 {
			w[k] *= normalWeight
		}
	}
	return w
}

// AllRows returns the indices of every row of tbl.
func AllRows(tbl *dataset.Table) []int {
	rows := make([]int, tbl.Rows())
	for i := range rows {
		rows[i] = i
	}
	return rows
}

// Build scores rows of tbl with m and evaluates them, weighted by weights (one per row of
// rows), at m's threshold, and computes the feature importance over them.
func Build(ctx context.Context, m *model.Model, tbl *dataset.Table, rows []int, weights []float64, info Info, opts Options) (*Report, error) {
	if len(weights) != len(rows) {
		return nil, fmt.Errorf("report: %d weights for %d rows", len(weights), len(rows))
	}
	scores := make([]float64, len(rows))
	labels := make([]uint8, len(rows))
	var x [fraud.NumFeatures]float64
	for k, i := range rows {
		if k%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		row(tbl, i, &x)
		scores[k] = m.Probability(&x)
		labels[k] = tbl.Labels[i]
	}
	ev, err := Evaluate(scores, labels, weights, m.Threshold())
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	imp, err := ComputeImportance(ctx, m, tbl, rows, weights, opts)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return &Report{Info: info, Evaluation: ev, Importance: imp}, nil
}

// ComputeImportance explains rows of tbl (an evenly spaced sample of them beyond
// opts.ImportanceRows) with m and returns each feature's mean |contribution|, weighted by
// weights (unweighted when the sample weighs nothing). A model that cannot be explained (a
// tree without node covers, a member of a kind without explanations) gets an Importance that
// says so, not an error.
func ComputeImportance(ctx context.Context, m *model.Model, tbl *dataset.Table, rows []int, weights []float64, opts Options) (Importance, error) {
	limit := opts.ImportanceRows
	if limit <= 0 {
		limit = DefaultImportanceRows
	}
	sample, sw := rows, weights
	if len(rows) > limit {
		sample, sw = make([]int, limit), make([]float64, limit)
		for k := range sample {
			j := int(int64(k) * int64(len(rows)) / int64(limit))
			sample[k], sw[k] = rows[j], weights[j]
		}
	}
	imp := Importance{Rows: len(sample), Of: len(rows)}
	if len(sample) == 0 {
		imp.Unavailable = "no rows to explain"
		return imp, nil
	}
	var x [fraud.NumFeatures]float64
	var e model.Explanation
	row(tbl, sample[0], &x)
	if err := m.Explain(&x, &e); err != nil {
		if errors.Is(err, model.ErrNoCovers) || errors.Is(err, errors.ErrUnsupported) {
			imp.Rows = 0
			imp.Unavailable = err.Error()
			return imp, nil
		}
		return imp, err
	}
	if !slices.ContainsFunc(sw, func(w float64) bool { return w > 0 }) {
		sw = nil // nothing weighs: every row alike
	}

	chunks := (len(sample) + explainChunk - 1) / explainChunk
	sums := make([][fraud.NumFeatures + 1]float64, chunks) // the last slot sums the weights
	errs := make([]error, chunks)
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, chunks) {
		wg.Go(func() {
			var x [fraud.NumFeatures]float64
			var e model.Explanation
			for c := range next {
				s := &sums[c]
				for k := c * explainChunk; k < min((c+1)*explainChunk, len(sample)); k++ {
					row(tbl, sample[k], &x)
					if err := m.Explain(&x, &e); err != nil {
						errs[c] = err
						break
					}
					w := 1.0
					if sw != nil {
						w = sw[k]
					}
					for j, v := range e.Contributions {
						s[j] += w * math.Abs(v)
					}
					s[fraud.NumFeatures] += w
				}
			}
		})
	}
	for c := range chunks {
		if ctx.Err() != nil {
			break
		}
		next <- c
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return imp, err
	}
	var total [fraud.NumFeatures + 1]float64
	for c := range chunks {
		if errs[c] != nil {
			return imp, errs[c]
		}
		for j, v := range sums[c] {
			total[j] += v
		}
	}
	names := fraud.FeatureNames()
	for j, name := range names {
		imp.Features = append(imp.Features, FeatureImportance{Name: name, MeanAbs: total[j] / total[fraud.NumFeatures]})
	}
	slices.SortStableFunc(imp.Features, func(a, b FeatureImportance) int {
		switch {
		case a.MeanAbs > b.MeanAbs:
			return -1
		case a.MeanAbs < b.MeanAbs:
			return 1
		}
		return 0
	})
	return imp, nil
}

// row sets x to row i of tbl.
func row(tbl *dataset.Table, i int, x *[fraud.NumFeatures]float64) {
	for j := range x {
		x[j] = tbl.Columns[j][i]
	}
}
