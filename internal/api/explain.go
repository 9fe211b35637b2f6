package api

import (
	"errors"
	"math"
	"strconv"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/wire"
)

// explained is an explanation asked for, and how many features to list.
type explained struct {
	e    model.Explanation
	topK int
}

// explainFailed turns an error of model.Explain into the answer: a model that cannot be
// explained is the request's problem (it may ask again without explain), anything else a bug.
func explainFailed(err error) error {
	var why string
	switch {
	case errors.Is(err, model.ErrNoCovers):
		why = "the live model has a tree without node covers, which explanations need"
	case errors.Is(err, errors.ErrUnsupported):
		why = "the live model has a member of a kind that cannot be explained"
	default:
		return err
	}
	return &fraud.Error{
		Code:    fraud.CodeExplanationUnavailable,
		Message: "explain: " + why + "; ask without explain to be scored",
		Details: []fraud.Detail{{"field": "explain", "problem": why, "value": true}},
	}
}

// appendExplanation encodes a wire.Explanation by hand, listing the topK features of e; names
// are the features' names in model order.
func appendExplanation(b []byte, names []string, e *model.Explanation, x *[fraud.NumFeatures]float64, topK int) []byte {
	b = append(b, `{"base_value":`...)
	b = appendNumber(b, e.BaseValue)
	b = append(b, `,"margin":`...)
	b = appendNumber(b, e.Margin)
	b = append(b, `,"features":[`...)
	var idx [fraud.NumFeatures]int
	for n, j := range model.TopFeatures(&e.Contributions, topK, &idx) {
		if n > 0 {
			b = append(b, ',')
		}
		c := e.Contributions[j]
		dir := wire.DecreasesRisk
		if c > 0 {
			dir = wire.IncreasesRisk
		}
		b = append(b, `{"feature":"`...)
		b = append(b, names[j]...)
		b = append(b, `","value":`...)
		b = appendNumber(b, x[j])
		b = append(b, `,"contribution":`...)
		b = appendNumber(b, c)
		b = append(b, `,"direction":"`...)
		b = append(b, dir...)
		b = append(b, `"}`...)
	}
	return append(b, "]}"...)
}

// appendNumber appends v as a JSON number. The inputs are finite and so are the model's
// margins; a non-finite value, which JSON cannot hold, is written as null rather than as
// invalid JSON.
func appendNumber(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
