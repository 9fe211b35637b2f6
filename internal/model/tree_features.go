package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// ErrUnnamedFeatures is wrapped by MapFeatures' error when the model's features have no names
// (or only placeholders such as f0, f1, ...) and mapping them by position was not asked for.
var ErrUnnamedFeatures = errors.New("the model's features are unnamed")

// MapFeatures returns the TreeOptions.FeatureMap of an imported model with n features named
// names (nil when the model has no names). placeholder reports the names a library makes up
// for unnamed features (XGBoost's f0, f1, ...); it may be nil.
//
// When every name is a transaction feature (fraud.FeatureNames), features map by name, even
// with positional set. When the features are unnamed, they map by position if positional is
// set and there are exactly fraud.NumFeatures of them; otherwise the error wraps
// ErrUnnamedFeatures. Names that are neither transaction features nor placeholders are an
// error that lists them.
func MapFeatures(names []string, n int, positional bool, placeholder func(i int, name string) bool) ([]int, error) {
	want := fraud.FeatureNames()
	schema := fmt.Sprintf("%s, %s..%s, %s", want[0], want[1], want[len(want)-2], want[len(want)-1])
	if names != nil && len(names) != n {
		return nil, fmt.Errorf("the model names %d features but has %d", len(names), n)
	}
	if n == 0 {
		return nil, errors.New("the model has no features")
	}
	unnamed := names == nil
	if !unnamed && placeholder != nil {
		unnamed = true
		for i, name := range names {
			if !placeholder(i, name) {
				unnamed = false
				break
			}
		}
	}
	if unnamed {
		if !positional {
			return nil, fmt.Errorf("%w (%d features%s): they can map onto the transaction features (%s) only by position, which must be asked for",
				ErrUnnamedFeatures, n, describeNames(names), schema)
		}
		if n != fraud.NumFeatures {
			return nil, fmt.Errorf("the model has %d unnamed features; mapping by position needs exactly %d (%s)", n, fraud.NumFeatures, schema)
		}
		fm := make([]int, n)
		for i := range fm {
			fm[i] = i
		}
		return fm, nil
	}
	fm := make([]int, n)
	var unknown []string
	seen := make(map[string]int, n)
	for i, name := range names {
		if j, dup := seen[name]; dup {
			return nil, fmt.Errorf("the model names features %d and %d both %q", j, i, name)
		}
		seen[name] = i
		k := slices.Index(want, name)
		if k < 0 {
			unknown = append(unknown, fmt.Sprintf("%q", name))
			continue
		}
		fm[i] = k
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("model features not in the transaction schema (%s): %s", schema, strings.Join(unknown, ", "))
	}
	return fm, nil
}

func describeNames(names []string) string {
	if len(names) == 0 {
		return " without names"
	}
	if len(names) == 1 {
		return " named " + names[0]
	}
	return fmt.Sprintf(" named %s..%s", names[0], names[len(names)-1])
}
