package demo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/client"
	"github.com/fraudguard/fraudguard/internal/loadtest"
	"github.com/fraudguard/fraudguard/wire"
)

// readableWithin is how soon after its answer a decision can be read back, as the README
// promises (the writer stores the queue every 100 ms).
const readableWithin = time.Second

// feedbackSource is the source of the demo's labels, so that an operator can tell them apart.
const feedbackSource = "demo"

// errNoRead skips the read steps once the key was refused the read scope: each refusal is a
// strike against the address.
var errNoRead = skipped("the key lacks the read scope (403 FORBIDDEN): give --api-key of a key with it")

// readRefused notes a 403 FORBIDDEN on a read route and turns it into a skip.
func (d *Demo) readRefused(err error) error {
	if client.ErrorCode(err) != "FORBIDDEN" {
		return err
	}
	d.mu.Lock()
	d.noRead = true
	d.mu.Unlock()
	return errNoRead
}

func (d *Demo) canRead() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.noRead
}

// lookup reads the decisions of id, answered at answered (this machine's clock), trying again
// while none is stored, until a second after the answer. It returns how many tries it took.
func (d *Demo) lookup(ctx context.Context, id string, answered time.Time) (*wire.DecisionsResponse, int, error) {
	for tries := 1; ; tries++ {
		r, err := d.C.Decisions(ctx, id)
		if client.ErrorCode(err) != "NOT_FOUND" {
			return r, tries, d.readRefused(err)
		}
		if late := time.Since(answered); late > readableWithin {
			return nil, tries, fmt.Errorf("%s is not readable %v after its answer, want within %v (is DECISION_LOG=false?): %w", id, late.Round(time.Millisecond), readableWithin, err)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, tries, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// stepDecisionLookup reads back the predict step's answer with GET /decisions/{transaction_id}:
// the very probability, decision, model version and request, and the inputs scored.
func stepDecisionLookup(ctx context.Context, d *Demo) (string, error) {
	d.mu.Lock()
	p, at := d.scored, d.scoredAt
	d.mu.Unlock()
	if p == nil {
		return "", skipped("no transaction was scored")
	}
	r, tries, err := d.lookup(ctx, p.TransactionID, at)
	if err != nil {
		return "", err
	}
	late := time.Since(at)
	when := fmt.Sprintf("%v after its answer, at the first try", late.Round(time.Millisecond))
	if tries > 1 {
		when = fmt.Sprintf("%v after its answer, at try %d", late.Round(time.Millisecond), tries)
	}
	if len(r.Decisions) != 1 {
		return "", fmt.Errorf("%s has %d decisions, want its one", p.TransactionID, len(r.Decisions))
	}
	got := r.Decisions[0]
	want := sampleInputs()
	if got.TransactionID != p.TransactionID || math.Float64bits(got.FraudProbability) != math.Float64bits(p.FraudProbability) ||
		got.IsFraud != p.IsFraud || got.RiskLevel != p.RiskLevel || got.Threshold != p.Threshold ||
		got.ModelVersion != p.ModelVersion || got.RequestID != p.RequestID || got.Inputs != want || got.Label != nil {
		return "", fmt.Errorf("got %+v, want the answer %+v, its inputs and no label", got, p)
	}
	d.mu.Lock()
	d.firstTime = got.Time
	d.mu.Unlock()
	return fmt.Sprintf("%s read back %s: the same probability (bit for bit), decision, version, request id and inputs", p.TransactionID, when), nil
}

// batchRows are the transaction numbers of the predict/batch step, and the one it makes invalid.
const (
	batchFirst   = 100
	batchRows    = 50
	batchInvalid = 10
)

// stepDecisionList finds the batch's 49 decisions with GET /decisions: a batch's decisions
// share one time, so the window [that time, a microsecond later) holds them, whatever the
// clocks of this machine and the server say.
func stepDecisionList(ctx context.Context, d *Demo) (string, error) {
	if !d.canRead() {
		return "", errNoRead
	}
	d.mu.Lock()
	at := d.batchAt
	d.mu.Unlock()
	if at.IsZero() {
		return "", skipped("no batch was scored")
	}
	one, _, err := d.lookup(ctx, d.txID(batchFirst), at)
	if err != nil {
		return "", err
	}
	if len(one.Decisions) != 1 {
		return "", fmt.Errorf("%s has %d decisions, want 1", d.txID(batchFirst), len(one.Decisions))
	}
	first := one.Decisions[0]
	want := map[string]bool{}
	for i := range batchRows {
		if i != batchInvalid {
			want[d.txID(batchFirst+i)] = true
		}
	}
	q := client.DecisionQuery{Since: first.Time, Until: first.Time.Add(time.Microsecond), ModelVersion: first.ModelVersion, Limit: 100}
	found, pages := 0, 0
	for pages < 3 {
		page, err := d.C.ListDecisions(ctx, q)
		if err != nil {
			return "", d.readRefused(err)
		}
		pages++
		for i, dec := range page.Decisions {
			if dec.Time.Before(q.Since) || !dec.Time.Before(q.Until) || dec.ModelVersion != q.ModelVersion {
				return "", fmt.Errorf("%s (%v, %s) is outside the window asked for", dec.TransactionID, dec.Time, dec.ModelVersion)
			}
			if i > 0 && dec.Time.After(page.Decisions[i-1].Time) {
				return "", errors.New("the decisions are not newest first")
			}
			if dec.TransactionID == d.txID(batchFirst+batchInvalid) {
				return "", fmt.Errorf("%s, refused as invalid, is listed as a decision", dec.TransactionID)
			}
			if want[dec.TransactionID] {
				found++
				delete(want, dec.TransactionID)
			}
		}
		if len(want) == 0 || page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for id := range want {
			missing = append(missing, id)
		}
		slices.Sort(missing)
		return "", fmt.Errorf("%d of the batch's 49 decisions listed in %d page(s); missing %s", found, pages, strings.Join(missing[:min(3, len(missing))], ", "))
	}
	return fmt.Sprintf("the batch's %d decisions listed in its instant (%s), row %d (invalid) not among them", found, first.Time.Format(time.RFC3339Nano), batchInvalid), nil
}

// stepFeedback labels the predict step's transaction, the first row of creditcard.csv,
// legitimate, which it is: a true label, so that the live model's quality figures are not
// skewed by a demo. The same label again is unchanged, and an id of this run that was never
// scored is unknown.
func stepFeedback(ctx context.Context, d *Demo) (string, error) {
	d.mu.Lock()
	p := d.scored
	d.mu.Unlock()
	if p == nil {
		return "", skipped("no transaction was scored")
	}
	id, unscored := p.TransactionID, d.txID(0) // no step sends transaction 0
	r, err := d.C.Feedback(ctx, []wire.FeedbackLabel{
		{TransactionID: id, Label: wire.LabelLegit, Source: feedbackSource},
		{TransactionID: id, Label: wire.LabelLegit, Source: feedbackSource},
		{TransactionID: unscored, Label: wire.LabelLegit, Source: feedbackSource},
	})
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	d.labelled = append(d.labelled, id)
	d.mu.Unlock()
	want := []wire.FeedbackResult{
		{Index: 0, TransactionID: id, Result: wire.FeedbackRecorded},
		{Index: 1, TransactionID: id, Result: wire.FeedbackUnchanged},
		{Index: 2, TransactionID: unscored, Result: wire.FeedbackUnknownTransaction},
	}
	if !slices.Equal(r.Results, want) {
		return "", fmt.Errorf("got %+v, want %+v", r.Results, want)
	}
	if !d.canRead() {
		return id + " labelled legit (recorded, then unchanged; not read back: the key lacks the read scope); " + unscored + ", never scored, unknown_transaction", nil
	}
	back, err := d.C.Decisions(ctx, id)
	if err != nil {
		return "", d.readRefused(err)
	}
	if len(back.Decisions) != 1 || back.Decisions[0].Label == nil || back.Decisions[0].Label.Label != wire.LabelLegit || back.Decisions[0].Label.Source != feedbackSource {
		return "", fmt.Errorf("%s read back with %+v, want its decision labelled legit by %s", id, back.Decisions, feedbackSource)
	}
	return fmt.Sprintf("%s labelled legit (recorded, then unchanged, and read back); %s, never scored, unknown_transaction", id, unscored), nil
}

// stepPerformanceQuality reads GET /models/performance over the window from the demo's first
// decision (the server's clock): its decisions are counted, its label among the labelled.
func stepPerformanceQuality(ctx context.Context, d *Demo) (string, error) {
	if !d.canRead() {
		return "", errNoRead
	}
	d.mu.Lock()
	since, labelled := d.firstTime, len(d.labelled)
	d.mu.Unlock()
	if since.IsZero() {
		return "", skipped("no decision of this run was read back")
	}
	r, err := d.C.ModelPerformance(ctx, client.PerformanceQuery{Since: since})
	if err != nil {
		return "", d.readRefused(err)
	}
	var decisions, withLabel int
	var parts []string
	for _, v := range r.Versions {
		decisions += v.Decisions
		withLabel += v.Labelled
		if v.Labelled > v.Decisions || v.Frauds > v.Labelled || v.LabelledShare < 0 || v.LabelledShare > 1 {
			return "", fmt.Errorf("%s: %d labelled of %d decisions, %d frauds, share %v: inconsistent", v.ModelVersion, v.Labelled, v.Decisions, v.Frauds, v.LabelledShare)
		}
		parts = append(parts, fmt.Sprintf("%s: %d decisions, %d labelled, ROC AUC %s", v.ModelVersion, v.Decisions, v.Labelled, figure(v.ROCAUC)))
	}
	// At least this run's: the predict step's, the batch's 49 valid rows (the explained one
	// too, when the model explains).
	if minimum := 1 + batchRows - 1; decisions < minimum || withLabel < labelled {
		return "", fmt.Errorf("%d decisions and %d labelled since %s, want at least this run's %d and %d", decisions, withLabel, since.Format(time.RFC3339Nano), minimum, labelled)
	}
	return "since the demo's first decision: " + strings.Join(parts, "; "), nil
}

// figure writes a quality figure, or null when it cannot be computed.
func figure(v *float64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%.3f", *v)
}

// stepDecisionErase erases, with the admin key, the transactions the demo labelled, so that
// its labels do not stay in the live model's quality figures. Its other decisions stay, as any
// answer does, until DECISION_RETENTION_DAYS: erasing each would cost an admin request and an
// audit event per transaction.
func stepDecisionErase(ctx context.Context, d *Demo) (string, error) {
	d.mu.Lock()
	ids := slices.Clone(d.labelled)
	d.mu.Unlock()
	switch {
	case len(ids) == 0:
		return "", skipped("no transaction was labelled")
	case d.Admin == nil:
		return "", skipped(fmt.Sprintf("needs --admin-key: the label of %s stays until DECISION_RETENTION_DAYS", strings.Join(ids, ", ")))
	}
	for _, id := range ids {
		r, err := d.Admin.EraseDecisions(ctx, id)
		if err != nil {
			return "", err
		}
		if r.TransactionID != id || r.DecisionsDeleted != 1 || r.LabelsDeleted != 1 {
			return "", fmt.Errorf("got %+v, want %s's one decision and one label deleted", r, id)
		}
		if _, err := d.Admin.Decisions(ctx, id); client.ErrorCode(err) != "NOT_FOUND" {
			return "", fmt.Errorf("%s after its erasure: got %v, want 404 NOT_FOUND", id, err)
		}
	}
	return strings.Join(ids, ", ") + ": its decision and label deleted, and no longer found (404)", nil
}

// sampleInputs are the inputs of the sample transaction, as the decision log keeps them
// (without a transaction_id).
func sampleInputs() wire.TransactionRequest {
	return loadtest.SampleTransaction("")
}
