// Package fraud holds the domain of fraudguard: transactions, scores, error codes and the
// few interfaces that several packages implement. It imports nothing of the project but the
// public wire types, which some domain types are.
package fraud

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/fraudguard/fraudguard/wire"
)

// NumFeatures is the number of model inputs in a transaction: Time, V1..V28 and Amount.
const NumFeatures = 30

// Transaction is one card transaction as the models see it: its optional identifier and its
// features in creditcard.csv order (see FeatureNames).
type Transaction struct {
	ID       string
	Features [NumFeatures]float64
}

// FieldKind tells a number field from a string field.
type FieldKind int

// The kinds of request field.
const (
	KindNumber FieldKind = iota
	KindString
)

// FieldRule is the contract of one request field, read from TransactionRequest's tags.
type FieldRule struct {
	Name      string
	Kind      FieldKind
	Index     int // position in Transaction.Features; -1 for the identifier
	Required  bool
	HasMin    bool
	Min       float64
	HasMax    bool
	Max       float64
	MinLength int
	MaxLength int
	Pattern   string
	Doc       string
	Example   string
}

// CheckNumber returns what is wrong with v for this field, or "" when it is allowed.
func (r *FieldRule) CheckNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "must be a finite number"
	}
	if r.HasMin && v < r.Min {
		if r.HasMax {
			return "must be between " + formatBound(r.Min) + " and " + formatBound(r.Max)
		}
		return "must be >= " + formatBound(r.Min)
	}
	if r.HasMax && v > r.Max {
		if r.HasMin {
			return "must be between " + formatBound(r.Min) + " and " + formatBound(r.Max)
		}
		return "must be <= " + formatBound(r.Max)
	}
	return ""
}

// CheckString returns what is wrong with s for this field, or "" when it is allowed. The only
// string field, transaction_id, allows letters, digits and _-.: — checked by hand, not by
// regexp, because it runs on the hot path.
func (r *FieldRule) CheckString(s string) string {
	if len(s) < r.MinLength || (r.MaxLength > 0 && len(s) > r.MaxLength) {
		return fmt.Sprintf("must be %d to %d characters long", r.MinLength, r.MaxLength)
	}
	if !IsIDString(s) {
		return "may contain only letters, digits and _-.:"
	}
	return ""
}

// IsIDString reports whether s holds only the characters allowed in identifiers:
// ASCII letters, digits and _-.:
func IsIDString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '-', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

func formatBound(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

var rulesOnce = sync.OnceValue(buildRules)

// TransactionFields returns the request fields in TransactionRequest order. The slice is shared
// and must not be modified.
func TransactionFields() []FieldRule { return rulesOnce() }

// FeatureNames returns the model input names in order: Time, V1..V28, Amount.
func FeatureNames() []string {
	names := make([]string, 0, NumFeatures)
	for _, r := range TransactionFields() {
		if r.Index >= 0 {
			names = append(names, r.Name)
		}
	}
	return names
}

func buildRules() []FieldRule {
	t := reflect.TypeFor[wire.TransactionRequest]()
	rules := make([]FieldRule, 0, t.NumField())
	next := 0
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		r := FieldRule{
			Name:     name,
			Required: f.Tag.Get("required") == "true",
			Pattern:  f.Tag.Get("pattern"),
			Doc:      f.Tag.Get("doc"),
			Example:  f.Tag.Get("example"),
			Index:    -1,
		}
		switch f.Type.Kind() {
		case reflect.Float64:
			r.Kind = KindNumber
			r.Index = next
			next++
		case reflect.String:
			r.Kind = KindString
		default:
			panic("fraud: unsupported field kind in TransactionRequest: " + f.Name)
		}
		if s := f.Tag.Get("minimum"); s != "" {
			r.HasMin, r.Min = true, mustFloat(s)
		}
		if s := f.Tag.Get("maximum"); s != "" {
			r.HasMax, r.Max = true, mustFloat(s)
		}
		if s := f.Tag.Get("minLength"); s != "" {
			r.MinLength = int(mustFloat(s))
		}
		if s := f.Tag.Get("maxLength"); s != "" {
			r.MaxLength = int(mustFloat(s))
		}
		rules = append(rules, r)
	}
	if next != NumFeatures {
		panic(fmt.Sprintf("fraud: TransactionRequest has %d numeric fields, want %d", next, NumFeatures))
	}
	return rules
}

func mustFloat(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		panic("fraud: bad number in TransactionRequest tag: " + s)
	}
	return v
}
