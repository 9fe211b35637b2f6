package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// The decision log tests: every store that keeps decisions (implements fraud.DecisionLog) must
// pass them.
var decisionTests = []struct {
	name string
	fn   func(t *testing.T, open func(t *testing.T) Store)
}{
	{"DecisionRoundTrip", testDecisionRoundTrip},
	{"DecisionsOfNewestFirst", testDecisionsOfNewestFirst},
	{"DecisionListFilters", testDecisionListFilters},
	{"DecisionPagingOverTies", testDecisionPagingOverTies},
	{"DecisionLabels", testDecisionLabels},
	{"DecisionCounts", testDecisionCounts},
	{"DecisionScanInputs", testDecisionScanInputs},
	{"DecisionScanSample", testDecisionScanSample},
	{"DecisionPurge", testDecisionPurge},
	{"DecisionReopen", testDecisionReopen},
	{"DecisionErase", testDecisionErase},
}

// mustDecisionLog is t's store as a fraud.DecisionLog, or skips t when the store keeps none.
func mustDecisionLog(t *testing.T, open func(t *testing.T) Store) fraud.DecisionLog {
	t.Helper()
	dl, ok := mustOpen(t, open).(fraud.DecisionLog)
	if !ok {
		t.Skip("the store keeps no decisions")
	}
	return dl
}

// decision is a recognisable decision of transaction id at base()+sec seconds.
func decision(id string, sec int, version string, p float64) fraud.Decision {
	d := fraud.Decision{
		TransactionID: id, RequestID: "req-" + id, Time: base().Add(time.Duration(sec) * time.Second),
		ModelVersion: version, Probability: p, Threshold: 0.5,
	}
	d.IsFraud = p >= d.Threshold
	d.Risk = fraud.RiskFor(p, d.Threshold)
	for j := range d.Features {
		d.Features[j] = float64(sec) + float64(j)/7
	}
	return d
}

func mustRecordDecisions(t testing.TB, s fraud.DecisionLog, ds ...fraud.Decision) {
	t.Helper()
	if err := s.RecordDecisions(context.Background(), ds); err != nil {
		t.Fatalf("record decisions: %v", err)
	}
}

func mustListDecisions(t testing.TB, s fraud.DecisionLog, f fraud.DecisionFilter) []fraud.Decision {
	t.Helper()
	got, err := s.ListDecisions(context.Background(), f)
	if err != nil {
		t.Fatalf("list decisions %+v: %v", f, err)
	}
	return got
}

func txIDs(ds []fraud.Decision) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.TransactionID
	}
	return out
}

func mustLabel(t testing.TB, s fraud.DecisionLog, now time.Time, ls ...fraud.LabelInput) []string {
	t.Helper()
	got, err := s.RecordLabels(context.Background(), ls, now)
	if err != nil {
		t.Fatalf("record labels: %v", err)
	}
	return got
}

func testDecisionRoundTrip(t *testing.T, open func(t *testing.T) Store) {
	s := mustDecisionLog(t, open)
	d := decision("txn-1", 0, "v1", 0.1+0.2) // 0.30000000000000004: not a short decimal
	d.Time = time.Date(2026, 11, 26, 13, 4, 5, 123456000, time.FixedZone("CET", 3600))
	d.Features[3] = math.Nextafter(1, 2)
	d.Features[29] = 1e-300
	d.Reasons = []fraud.Reason{{Feature: "V14", Contribution: -0.3015193238346317}, {Feature: "V4", Contribution: math.Nextafter(0.27, 1)}}
	mustRecordDecisions(t, s, d)
	got, err := s.DecisionsOf(context.Background(), "txn-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d decisions, want 1", len(got))
	}
	g := got[0]
	if g.ID <= 0 {
		t.Errorf("ID: got %d, want > 0", g.ID)
	}
	if math.Float64bits(g.Probability) != math.Float64bits(d.Probability) {
		t.Errorf("Probability: got %v, want %v bit for bit", g.Probability, d.Probability)
	}
	if !g.Time.Equal(d.Time) || g.Time.Location() != time.UTC {
		t.Errorf("Time: got %v, want %v in UTC", g.Time, d.Time.UTC())
	}
	if g.Features != d.Features {
		t.Errorf("Features: got %v, want %v", g.Features, d.Features)
	}
	if !slices.Equal(g.Reasons, d.Reasons) {
		t.Errorf("Reasons: got %v, want %v", g.Reasons, d.Reasons)
	}
	if g.TransactionID != d.TransactionID || g.RequestID != d.RequestID || g.ModelVersion != d.ModelVersion ||
		g.IsFraud != d.IsFraud || g.Risk != d.Risk || g.Threshold != d.Threshold || g.Label != nil {
		t.Errorf("got %+v, want %+v", g, d)
	}
	none, err := s.DecisionsOf(context.Background(), "txn-unknown")
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("unknown transaction: got %v, %v; want an empty slice", none, err)
	}
}

func testDecisionsOfNewestFirst(t *testing.T, open func(t *testing.T) Store) {
	s := mustDecisionLog(t, open)
	mustRecordDecisions(t, s, decision("a", 1, "v1", 0.1), decision("b", 2, "v1", 0.1), decision("a", 3, "v2", 0.7))
	mustRecordDecisions(t, s, decision("a", 2, "v1", 0.2))
	got, err := s.DecisionsOf(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	var secs []int
	for _, d := range got {
		secs = append(secs, int(d.Time.Sub(base())/time.Second))
	}
	if want := []int{3, 2, 1}; !slices.Equal(secs, want) {
		t.Errorf("times: got %v, want %v", secs, want)
	}
}

func testDecisionListFilters(t *testing.T, open func(t *testing.T) Store) {
	s := mustDecisionLog(t, open)
	// probabilities under threshold 0.5: 0.1 low, 0.3 medium, 0.6 high, 0.9 critical
	mustRecordDecisions(t, s,
		decision("d0", 0, "v1", 0.1), decision("d1", 1, "v1", 0.3), decision("d2", 2, "v1", 0.6),
		decision("d3", 3, "v2", 0.9), decision("d4", 4, "v2", 0.1), decision("d5", 5, "v2", 0.6))
	mustLabel(t, s, base(), fraud.LabelInput{TransactionID: "d2", Label: fraud.LabelFraud, Source: "analyst"})
	yes, no := true, false
	tests := []struct {
		name string
		f    fraud.DecisionFilter
		want []string
	}{
		{"all", fraud.DecisionFilter{}, []string{"d5", "d4", "d3", "d2", "d1", "d0"}},
		{"since", fraud.DecisionFilter{Since: base().Add(4 * time.Second)}, []string{"d5", "d4"}},
		{"until", fraud.DecisionFilter{Until: base().Add(2 * time.Second)}, []string{"d1", "d0"}},
		{"risk", fraud.DecisionFilter{Risk: fraud.RiskHigh}, []string{"d5", "d2"}},
		{"is_fraud", fraud.DecisionFilter{IsFraud: &yes}, []string{"d5", "d3", "d2"}},
		{"not is_fraud", fraud.DecisionFilter{IsFraud: &no}, []string{"d4", "d1", "d0"}},
		{"version", fraud.DecisionFilter{ModelVersion: "v1"}, []string{"d2", "d1", "d0"}},
		{"labelled", fraud.DecisionFilter{Labelled: true}, []string{"d2"}},
		{"together", fraud.DecisionFilter{ModelVersion: "v2", Risk: fraud.RiskLow, Since: base()}, []string{"d4"}},
		{"limit", fraud.DecisionFilter{Limit: 2}, []string{"d5", "d4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.f.Limit == 0 {
				tc.f.Limit = 100
			}
			if got := txIDs(mustListDecisions(t, s, tc.f)); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := s.ListDecisions(context.Background(), fraud.DecisionFilter{}); fraud.ErrorCode(err) != fraud.CodeValidation {
		t.Errorf("limit 0: got %v, want %s", err, fraud.CodeValidation)
	}
	got := mustListDecisions(t, s, fraud.DecisionFilter{Labelled: true, Limit: 1})
	if len(got) != 1 || got[0].Label == nil || got[0].Label.Label != fraud.LabelFraud || got[0].Label.Source != "analyst" {
		t.Errorf("label of d2: got %+v, want fraud by analyst", got)
	}
}

func testDecisionPagingOverTies(t *testing.T, open func(t *testing.T) Store) {
	s := mustDecisionLog(t, open)
	// Seven decisions in the same nanosecond and three around them: pages of three must walk
	// them all once, in one order, whatever the ties.
	var ds []fraud.Decision
	for i := range 7 {
		ds = append(ds, decision(fmt.Sprintf("tie-%d", i), 5, "v1", 0.1))
	}
	ds = append(ds, decision("early", 1, "v1", 0.1), decision("late", 9, "v1", 0.1))
	mustRecordDecisions(t, s, ds...)
	mustRecordDecisions(t, s, decision("tie-7", 5, "v1", 0.1))
	var seen []string
	var after *fraud.DecisionCursor
	for range 10 {
		page := mustListDecisions(t, s, fraud.DecisionFilter{Limit: 3, After: after})
		for _, d := range page {
			seen = append(seen, d.TransactionID)
		}
		if len(page) < 3 {
			break
		}
		last := page[len(page)-1]
		after = &fraud.DecisionCursor{Time: last.Time, ID: last.ID}
	}
	all := txIDs(mustListDecisions(t, s, fraud.DecisionFilter{Limit: 100}))
	if !slices.Equal(seen, all) || len(seen) != 10 {
		t.Errorf("pages: got %v, want %v (10 decisions, each once)", seen, all)
	}
	if all[0] != "late" || all[9] != "early" {
		t.Errorf("order: got %v, want late first and early last", all)
	}
}

func testDecisionLabels(t *testing.T, open func(t *testing.T) Store) {
	s := mustDecisionLog(t, open)
	mustRecordDecisions(t, s, decision("a", 1, "v1", 0.1), decision("b", 2, "v1", 0.9))
	now := base().Add(time.Hour)
	observed := base().Add(30 * time.Minute)
	got := mustLabel(t, s, now,
		fraud.LabelInput{TransactionID: "a", Label: fraud.LabelLegit, Source: "analyst", ObservedAt: observed},
		fraud.LabelInput{TransactionID: "nobody", Label: fraud.LabelFraud, Source: "analyst"},
		fraud.LabelInput{TransactionID: "b", Label: fraud.LabelFraud, Source: "chargeback"},
		fraud.LabelInput{TransactionID: "b", Label: fraud.LabelFraud, Source: "customer"},
		fraud.LabelInput{TransactionID: "a", Label: fraud.LabelFraud, Source: "chargeback"},
	)
	want := []string{fraud.FeedbackRecorded, fraud.FeedbackUnknownTransaction, fraud.FeedbackRecorded, fraud.FeedbackUnchanged, fraud.FeedbackUpdated}
	if !slices.Equal(got, want) {
		t.Errorf("results: got %v, want %v", got, want)
	}
	a, err := s.DecisionsOf(context.Background(), "a")
	if err != nil || len(a) != 1 || a[0].Label == nil {
		t.Fatalf("a: got %+v, %v; want one labelled decision", a, err)
	}
	if l := *a[0].Label; l.Label != fraud.LabelFraud || l.Source != "chargeback" || !l.ObservedAt.Equal(now) {
		t.Errorf("a's latest label: got %+v, want fraud by chargeback observed at %v (now)", l, now)
	}
	// Back to legit: updated again; the same again: unchanged.
	got = mustLabel(t, s, now, fraud.LabelInput{TransactionID: "a", Label: fraud.LabelLegit, Source: "analyst", ObservedAt: observed})
	if !slices.Equal(got, []string{fraud.FeedbackUpdated}) {
		t.Errorf("back to legit: got %v, want [updated]", got)
	}
	got = mustLabel(t, s, now, fraud.LabelInput{TransactionID: "a", Label: fraud.LabelLegit, Source: "customer"})
	if !slices.Equal(got, []string{fraud.FeedbackUnchanged}) {
		t.Errorf("legit again: got %v, want [unchanged]", got)
	}
	a, _ = s.DecisionsOf(context.Background(), "a")
	if l := a[0].Label; l == nil || l.Label != fraud.LabelLegit || !l.ObservedAt.Equal(observed) {
		t.Errorf("a's latest label: got %+v, want legit observed at %v", l, observed)
	}
	if _, err := s.RecordLabels(context.Background(), []fraud.LabelInput{{TransactionID: "a", Label: "maybe", Source: "x"}}, now); fraud.ErrorCode(err) != fraud.CodeValidation {
		t.Errorf("label maybe: got %v, want %s", err, fraud.CodeValidation)
	}
}

func testDecisionCounts(t *testing.T, open func(t *testing.T) Store) {
	s := mustDecisionLog(t, open)
	mustRecordDecisions(t, s,
		decision("a", 1, "v1", 0.1), decision("b", 2, "v1", 0.9), decision("c", 3, "v1", 0.2),
		decision("d", 4, "v2", 0.8), decision("a", 5, "v2", 0.6))
	mustLabel(t, s, base(),
		fraud.LabelInput{TransactionID: "a", Label: fraud.LabelLegit, Source: "analyst"},
		fraud.LabelInput{TransactionID: "b", Label: fraud.LabelFraud, Source: "chargeback"},
		fraud.LabelInput{TransactionID: "a", Label: fraud.LabelFraud, Source: "chargeback"})
	counts, scores, err := s.DecisionCounts(context.Background(), time.Time{}, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if counts["v1"] != 3 || counts["v2"] != 2 || len(counts) != 2 {
		t.Errorf("counts: got %v, want v1:3 v2:2", counts)
	}
	slices.SortFunc(scores, func(x, y fraud.LabelledScore) int {
		return cmp.Or(cmp.Compare(x.ModelVersion, y.ModelVersion), cmp.Compare(x.Probability, y.Probability))
	})
	// a's latest label (fraud) counts for both of its decisions.
	want := []fraud.LabelledScore{
		{ModelVersion: "v1", Probability: 0.1, IsFraud: false, Fraud: true},
		{ModelVersion: "v1", Probability: 0.9, IsFraud: true, Fraud: true},
		{ModelVersion: "v2", Probability: 0.6, IsFraud: true, Fraud: true},
	}
	if !slices.Equal(scores, want) {
		t.Errorf("labelled: got %+v, want %+v", scores, want)
	}
	counts, scores, err = s.DecisionCounts(context.Background(), base().Add(2*time.Second), base().Add(5*time.Second), "v1")
	if err != nil {
		t.Fatal(err)
	}
	if counts["v1"] != 2 || len(counts) != 1 || len(scores) != 1 || scores[0].Probability != 0.9 {
		t.Errorf("window [2s, 5s) of v1: got %v and %+v, want v1:2 and b alone", counts, scores)
	}
}

// testDecisionScanInputs checks that ScanDecisionInputs gives every decision of the window
// once, with its version, its probability and its inputs bit for bit, and stops on fn's error.
func testDecisionScanInputs(t *testing.T, open func(t *testing.T) Store) {
	s := mustDecisionLog(t, open)
	ds := []fraud.Decision{decision("a", 1, "v1", 0.1), decision("b", 2, "v1", 0.9), decision("c", 3, "v2", 0.2),
		decision("d", 4, "v2", 0.8), decision("a", 5, "v2", 0.6)}
	ds[1].Features[7] = math.Nextafter(1, 2) // read back bit for bit
	ds[2].Probability = math.Nextafter(0.2, 0)
	mustRecordDecisions(t, s, ds...)
	scan := func(since, until time.Time) []fraud.DecisionInput {
		t.Helper()
		var got []fraud.DecisionInput
		err := s.ScanDecisionInputs(context.Background(), since, until, 0, func(in *fraud.DecisionInput) error {
			got = append(got, *in)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(x, y fraud.DecisionInput) int { return cmp.Compare(x.Features[0], y.Features[0]) })
		return got
	}
	input := func(d fraud.Decision) fraud.DecisionInput {
		return fraud.DecisionInput{ModelVersion: d.ModelVersion, Probability: d.Probability, Features: d.Features}
	}
	for _, tc := range []struct {
		name         string
		since, until time.Time
		want         []fraud.Decision
	}{
		{"all", time.Time{}, time.Time{}, ds},
		{"[2s, 5s)", base().Add(2 * time.Second), base().Add(5 * time.Second), ds[1:4]},
		{"since 4s", base().Add(4 * time.Second), time.Time{}, ds[3:]},
		{"until 1s", time.Time{}, base().Add(time.Second), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scan(tc.since, tc.until)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d decisions, want %d", len(got), len(tc.want))
			}
			for i, d := range tc.want {
				if w := input(d); got[i] != w {
					t.Errorf("decision %d: got %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
	stop := errors.New("stop")
	calls := 0
	err := s.ScanDecisionInputs(context.Background(), time.Time{}, time.Time{}, 0, func(*fraud.DecisionInput) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("got error %v after %d calls, want fn's own error after 1", err, calls)
	}
}

// testDecisionScanSample checks that ScanDecisionInputs with a limit reads an even sample of
// the window, every k-th decision stored, and every decision when the window holds no more
// than the limit.
func testDecisionScanSample(t *testing.T, open func(t *testing.T) Store) {
	s := mustDecisionLog(t, open)
	ds := make([]fraud.Decision, 1000)
	for i := range ds {
		ds[i] = decision(fmt.Sprintf("t%04d", i), i, "v1", 0.5)
		ds[i].Features[0] = float64(i)
	}
	mustRecordDecisions(t, s, ds...)
	sample := func(since, until time.Time, limit int) []int {
		t.Helper()
		var got []int
		err := s.ScanDecisionInputs(context.Background(), since, until, limit, func(in *fraud.DecisionInput) error {
			got = append(got, int(in.Features[0]))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	every := func(from, to, step int) []int {
		var out []int
		for i := from; i < to; i += step {
			out = append(out, i)
		}
		return out
	}
	sec := func(n int) time.Time { return base().Add(time.Duration(n) * time.Second) }
	for _, tc := range []struct {
		name         string
		since, until time.Time
		limit        int
		want         []int
	}{
		{"all, limit 100: every 10th", time.Time{}, time.Time{}, 100, every(0, 1000, 10)},
		{"all, limit 300: every 4th", time.Time{}, time.Time{}, 300, every(0, 1000, 4)},
		{"[250s, 750s), limit 100: every 5th", sec(250), sec(750), 100, every(250, 750, 5)},
		{"[250s, 750s), limit 500: all", sec(250), sec(750), 500, every(250, 750, 1)},
		{"all, limit 1000: all", time.Time{}, time.Time{}, 1000, every(0, 1000, 1)},
		{"all, no limit", time.Time{}, time.Time{}, 0, every(0, 1000, 1)},
		{"empty window", sec(2000), sec(3000), 100, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sample(tc.since, tc.until, tc.limit); !slices.Equal(got, tc.want) {
				t.Errorf("got %d decisions %v, want %d: %v", len(got), got, len(tc.want), tc.want)
			}
		})
	}
}

func testDecisionPurge(t *testing.T, open func(t *testing.T) Store) {
	s := mustDecisionLog(t, open)
	mustRecordDecisions(t, s, decision("old", 1, "v1", 0.1), decision("both", 2, "v1", 0.1),
		decision("both", 10, "v1", 0.1), decision("new", 11, "v1", 0.1))
	mustLabel(t, s, base(),
		fraud.LabelInput{TransactionID: "old", Label: fraud.LabelFraud, Source: "analyst"},
		fraud.LabelInput{TransactionID: "both", Label: fraud.LabelFraud, Source: "analyst"})
	n, err := s.PurgeDecisionsBefore(context.Background(), base().Add(10*time.Second))
	if err != nil || n != 2 {
		t.Fatalf("purge: got %d, %v; want 2, nil", n, err)
	}
	if got := txIDs(mustListDecisions(t, s, fraud.DecisionFilter{Limit: 10})); !slices.Equal(got, []string{"new", "both"}) {
		t.Errorf("left: got %v, want [new both]", got)
	}
	// The purged transaction is unknown now, and its label gone; the other keeps its label.
	got := mustLabel(t, s, base(), fraud.LabelInput{TransactionID: "old", Label: fraud.LabelFraud, Source: "analyst"},
		fraud.LabelInput{TransactionID: "both", Label: fraud.LabelFraud, Source: "analyst"})
	if !slices.Equal(got, []string{fraud.FeedbackUnknownTransaction, fraud.FeedbackUnchanged}) {
		t.Errorf("labels after purge: got %v, want [unknown_transaction unchanged]", got)
	}
	mustRecordDecisions(t, s, decision("old", 12, "v1", 0.1))
	if d, _ := s.DecisionsOf(context.Background(), "old"); len(d) != 1 || d[0].Label != nil {
		t.Errorf("old scored again: got %+v, want one decision without the purged label", d)
	}
	if n, err := s.PurgeDecisionsBefore(context.Background(), base()); err != nil || n != 0 {
		t.Errorf("purge of nothing: got %d, %v; want 0, nil", n, err)
	}
}

func testDecisionReopen(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	dl, ok := s.(fraud.DecisionLog)
	if !ok {
		s.Close()
		t.Skip("the store keeps no decisions")
	}
	mustRecordDecisions(t, dl, decision("kept", 1, "v1", 0.75))
	mustLabel(t, dl, base(), fraud.LabelInput{TransactionID: "kept", Label: fraud.LabelLegit, Source: "customer"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	dl = mustDecisionLog(t, open)
	got, err := dl.DecisionsOf(context.Background(), "kept")
	if err != nil || len(got) != 1 || got[0].Probability != 0.75 || got[0].Label == nil || got[0].Label.Label != fraud.LabelLegit {
		t.Errorf("after reopening: got %+v, %v; want the decision and its label", got, err)
	}
}

func testDecisionErase(t *testing.T, open func(t *testing.T) Store) {
	s := mustDecisionLog(t, open)
	mustRecordDecisions(t, s, decision("gone", 1, "v1", 0.9), decision("kept", 2, "v1", 0.9), decision("gone", 3, "v1", 0.1))
	mustLabel(t, s, base(),
		fraud.LabelInput{TransactionID: "gone", Label: fraud.LabelFraud, Source: "analyst"},
		fraud.LabelInput{TransactionID: "gone", Label: fraud.LabelLegit, Source: "customer"},
		fraud.LabelInput{TransactionID: "kept", Label: fraud.LabelFraud, Source: "analyst"})
	d, l, err := s.EraseTransaction(context.Background(), "gone")
	if err != nil || d != 2 || l != 2 {
		t.Fatalf("erase: got %d decisions, %d labels, %v; want 2, 2, nil", d, l, err)
	}
	if got := txIDs(mustListDecisions(t, s, fraud.DecisionFilter{Limit: 10})); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("left: got %v, want [kept]", got)
	}
	counts, scores, err := s.DecisionCounts(context.Background(), time.Time{}, time.Time{}, "")
	if err != nil || counts["v1"] != 1 || len(scores) != 1 {
		t.Errorf("figures after erasure: got %v and %+v (%v), want kept alone", counts, scores, err)
	}
	if got := mustLabel(t, s, base(), fraud.LabelInput{TransactionID: "gone", Label: fraud.LabelFraud, Source: "analyst"}); !slices.Equal(got, []string{fraud.FeedbackUnknownTransaction}) {
		t.Errorf("label after erasure: got %v, want [unknown_transaction]", got)
	}
	if d, l, err := s.EraseTransaction(context.Background(), "gone"); err != nil || d != 0 || l != 0 {
		t.Errorf("erase again: got %d, %d, %v; want 0, 0, nil", d, l, err)
	}
}
