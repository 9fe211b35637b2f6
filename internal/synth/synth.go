// Package synth generates synthetic card transactions in the creditcard.csv schema (Time,
// V1..V28, Amount, Class) whose per-class feature distributions resemble the real data set.
//
// The model behind it is small and fitted offline (see Fit). For each class: a Gaussian mixture
// with full covariance over [V1..V28, log1p(Amount)], which carries the dependence between
// features; a table of quantiles per feature, through which each mixture draw is mapped so that
// every feature's distribution (long tails and Amount's spikes at 1.00 and 0.00 included)
// matches the fitted data; and an hourly rate of transactions by time of day. Only these
// summaries ship with the binary, as params.json (see DefaultParams); no real row does.
//
// Rows come out in increasing Time order over the fitted span (two days by default), like the
// real file, and are produced one at a time, so the number of rows is bounded by disk, not memory.
// For a given Params, seed, fraud rate and row count the output is the same on every run.
package synth

import "github.com/fraudguard/fraudguard/internal/fraud"

// Dim is the dimension of the feature model: V1..V28 and log1p(Amount).
const Dim = 29

// MaxAmount is the largest Amount in the real data set; generated amounts never exceed it.
const MaxAmount = 25691.16

// DefaultTimeSpan is the span of Time in the real data set, in seconds (two days).
const DefaultTimeSpan = 172792

// DefaultFraudRate is the share of fraud in the real data set (492 of 284,807).
const DefaultFraudRate = 0.00172

// Row is one transaction: its features in creditcard.csv order (Time, V1..V28, Amount, see
// fraud.FeatureNames) and its label.
type Row struct {
	Features [fraud.NumFeatures]float64
	Fraud    bool
}

// Positions of Time and Amount in Row.Features.
const (
	timeIndex   = 0
	amountIndex = fraud.NumFeatures - 1
)
