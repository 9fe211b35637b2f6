package model

import (
	"fmt"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Importance is a model's global feature importance, in fraud.FeatureNames order.
type Importance struct {
	// ReferenceRows counts the rows of the bundle's reference sample; 0 without one.
	ReferenceRows int
	// MeanAbsSHAP holds each feature's mean |SHAP value| in log-odds over the reference sample,
	// weighted (see ReferenceInfo.MeanAbsSHAP); nil when the bundle has no reference sample.
	MeanAbsSHAP []float64
	// SplitGain holds the gain of the splits on each feature, summed over every tree of every
	// tree member (see TreeEnsemble.SplitGain), unweighted by the members' weights: it says how
	// much each feature lowered the training loss, not how much it moves the margin. Nil when
	// no tree member records a gain (a logistic regression alone, or trees written before
	// gains were kept).
	SplitGain []float64
}

// Importance returns the model's global importance, read from the bundle and its members when
// it was loaded. Its slices are shared: callers must not modify them.
func (m *Model) Importance() Importance { return m.importance }

// ExplainError returns nil when Explain can explain the model's margins, and otherwise the
// error Explain gives every row, wrapping ErrNoCovers (a tree without node covers) or
// errors.ErrUnsupported (a member of a kind that has no explanation).
func (m *Model) ExplainError() error { return m.explainErr }

// prepareImportance sets what Importance and ExplainError return, once the members are built.
func (m *Model) prepareImportance() {
	var x [fraud.NumFeatures]float64
	var e Explanation
	if err := m.Explain(&x, &e); err != nil {
		m.explainErr = fmt.Errorf("the model cannot be explained: %w", err)
	}
	imp := Importance{}
	if ref := m.Manifest.Reference; ref != nil {
		imp.ReferenceRows = ref.Rows
		imp.MeanAbsSHAP = ref.MeanAbsSHAP
	}
	var gain [fraud.NumFeatures]float64
	found := false
	for _, mem := range m.members {
		if t, ok := mem.(*TreeEnsemble); ok {
			g, has := t.SplitGain()
			if has {
				found = true
				for j := range gain {
					gain[j] += g[j]
				}
			}
		}
	}
	if found {
		imp.SplitGain = gain[:]
	}
	m.importance = imp
}

// formatNeeded returns the oldest bundle format that holds a model of manifest man whose
// importance is imp: 3 when the manifest has a drift section, 2 when a tree member has split
// gains or the manifest has a reference section, else 1.
func formatNeeded(man Manifest, imp Importance) int {
	if man.Drift != nil {
		return 3
	}
	if man.Reference != nil || imp.SplitGain != nil {
		return 2
	}
	return 1
}

// formatReason says what a bundle holds that needs format version v.
func formatReason(v int) string {
	if v == 3 {
		return "a training distribution (drift section)"
	}
	return "split gains or a reference sample"
}
