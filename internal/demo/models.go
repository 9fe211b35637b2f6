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
	"github.com/fraudguard/fraudguard/wire"
)

// checkVersions checks GET /models/info's versions: every bundle under MODEL_PATH, newest
// first, the live one among them marked active and no other.
func checkVersions(m *wire.ModelInfoResponse) (string, error) {
	if len(m.Versions) == 0 {
		return "", errors.New("versions is empty, want at least the live bundle")
	}
	var active []string
	for i, v := range m.Versions {
		if v.Active {
			active = append(active, v.Version)
			if !v.Loaded || v.SHA256 != m.SHA256 {
				return "", fmt.Errorf("the active version %s: loaded %v, sha256 %.12s; want loaded, sha256 %.12s as the live model", v.Version, v.Loaded, v.SHA256, m.SHA256)
			}
		}
		if i > 0 && v.CreatedAt.After(m.Versions[i-1].CreatedAt) {
			return "", fmt.Errorf("versions: %s is listed after the older %s, want newest first", v.Version, m.Versions[i-1].Version)
		}
	}
	if len(active) != 1 || active[0] != m.Version {
		return "", fmt.Errorf("versions marks %v active, want the live %s alone", active, m.Version)
	}
	return fmt.Sprintf("%d version(s) under MODEL_PATH, the live one active", len(m.Versions)), nil
}

// checkImportance checks GET /models/info's importance: absent, or every feature once, in
// the order the README gives (largest mean |SHAP| first with a reference sample, largest split
// gain first without), with split-gain shares that add up to 1.
func checkImportance(m *wire.ModelInfoResponse) (string, error) {
	imp := m.Importance
	if imp == nil {
		return "no importance (the bundle has neither a reference sample nor split gains)", nil
	}
	if len(imp.Features) != len(m.Features) {
		return "", fmt.Errorf("importance lists %d features, want all %d", len(imp.Features), len(m.Features))
	}
	seen := map[string]bool{}
	share := 0.0
	hasGain := false
	key := func(f wire.FeatureImportance) *float64 {
		if imp.ReferenceRows > 0 {
			return f.MeanAbsSHAP
		}
		return f.SplitGain
	}
	for i, f := range imp.Features {
		if seen[f.Feature] || !slices.Contains(m.Features, f.Feature) {
			return "", fmt.Errorf("importance: feature %q is unknown or repeated", f.Feature)
		}
		seen[f.Feature] = true
		if (imp.ReferenceRows > 0) != (f.MeanAbsSHAP != nil) {
			return "", fmt.Errorf("importance: %s has mean_abs_shap %v with %d reference rows", f.Feature, f.MeanAbsSHAP != nil, imp.ReferenceRows)
		}
		if f.SplitGainShare != nil {
			share += *f.SplitGainShare
			hasGain = true
		}
		if k := key(f); k == nil {
			return "", fmt.Errorf("importance: %s has no figure to be ordered by", f.Feature)
		} else if i > 0 && *k > *key(imp.Features[i-1]) {
			return "", fmt.Errorf("importance: %s is listed after %s, which weighs less", f.Feature, imp.Features[i-1].Feature)
		}
	}
	if hasGain && math.Abs(share-1) > 1e-6 {
		return "", fmt.Errorf("importance: split_gain_share adds up to %v, want 1", share)
	}
	if imp.ReferenceRows > 0 {
		return fmt.Sprintf("importance over %d reference rows, %s first", imp.ReferenceRows, imp.Features[0].Feature), nil
	}
	return fmt.Sprintf("importance by split gain, %s first", imp.Features[0].Feature), nil
}

// stepActivateLive calls POST /models/activate with the version already live. That changes
// nothing that serves: the server finds the live model in memory (re-scoring its canary
// rows), stores it again in the registry, so requests keep being scored by the very same
// model (its loaded_at and request count go on), and records no switch in the activation
// history, since the version does not change, so that a later rollback goes where it would
// have gone. The call leaves an audit event (model_activate) and counts as a successful
// reload in fraudguard_model_reloads_total. The one risk is a switch made by someone else
// between reading the live version and the call: the answer's previous then names another
// version, which the step makes live again before it fails.
func stepActivateLive(ctx context.Context, d *Demo) (string, error) {
	if d.Admin == nil {
		return "", skipped("needs --admin-key")
	}
	before, err := d.Admin.ModelInfo(ctx)
	if err != nil {
		return "", err
	}
	r, err := d.Admin.ActivateModel(ctx, before.Version)
	if client.ErrorCode(err) == "NOT_FOUND" {
		return "", skipped(fmt.Sprintf("the live version %s has no bundle under MODEL_PATH any more (404): nothing to activate", before.Version))
	}
	if err != nil {
		return "", err
	}
	if r.Previous != before.Version {
		// Someone else switched in between, and this call undid it: put theirs back.
		if _, err := d.Admin.ActivateModel(ctx, r.Previous); err != nil {
			return "", fmt.Errorf("%s was made live while the demo activated %s, which replaced it; making %s live again failed: %w", r.Previous, before.Version, r.Previous, err)
		}
		return "", fmt.Errorf("%s was made live while the demo activated %s; %s is live again", r.Previous, before.Version, r.Previous)
	}
	got := r.Model
	if r.Status != "activated" || got.Version != before.Version || got.SHA256 != before.SHA256 || got.LoadedAt == nil || !got.LoadedAt.Equal(before.LoadedAt) {
		return "", fmt.Errorf("got %s of %s (sha256 %.12s, loaded %v), want %s still serving as loaded at %v", r.Status, got.Version, got.SHA256, got.LoadedAt, before.Version, before.LoadedAt.Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("%s activated while live: the same model serves (same sha256 and loaded_at), no switch recorded", got.Version), nil
}

// stepRollback, with --rollback, calls POST /models/rollback twice: the first makes live the
// version live before the last switch, the second undoes it, so the version that served before
// the step serves after it. With no earlier version the server answers 409, which is its
// documented answer.
func stepRollback(ctx context.Context, d *Demo) (string, error) {
	switch {
	case d.Admin == nil:
		return "", skipped("needs --admin-key")
	case !d.cfg.Rollback:
		return "", skipped("not asked for (--rollback): it makes another version live for a moment")
	}
	before, err := d.Admin.ModelInfo(ctx)
	if err != nil {
		return "", err
	}
	first, err := d.Admin.RollbackModel(ctx)
	if client.ErrorCode(err) == "CONFLICT" {
		var ae *client.Error
		errors.As(err, &ae)
		return fmt.Sprintf("nothing to roll back to: 409 CONFLICT (%s); %s still live", ae.Message, before.Version), nil
	}
	if err != nil {
		return "", err
	}
	if first.Status != "rolled_back" || first.Previous != before.Version || first.Model.Version == before.Version {
		return "", fmt.Errorf("the rollback answered %s from %s to %s, want rolled_back from the live %s to another version", first.Status, first.Previous, first.Model.Version, before.Version)
	}
	second, err := d.Admin.RollbackModel(ctx)
	if err != nil {
		return "", fmt.Errorf("%s is live after the rollback, and the second rollback failed (activate %s to put it back): %w", first.Model.Version, before.Version, err)
	}
	if second.Model.Version != before.Version {
		return "", fmt.Errorf("the second rollback made %s live, want %s back", second.Model.Version, before.Version)
	}
	return fmt.Sprintf("%s → %s → %s: the second rollback undid the first", before.Version, first.Model.Version, second.Model.Version), nil
}

// stepCompare calls GET /models/compare. A server with neither a shadow nor a challenger has
// nothing to compare and says so with a 409, the expected answer under the defaults.
func stepCompare(ctx context.Context, d *Demo) (string, error) {
	if d.Admin == nil {
		return "", skipped("needs --admin-key")
	}
	r, err := d.Admin.CompareModels(ctx, client.CompareQuery{Limit: 3})
	if client.ErrorCode(err) == "CONFLICT" {
		var ae *client.Error
		errors.As(err, &ae)
		if !strings.Contains(ae.Message, "SHADOW_MODEL_VERSION") || !strings.Contains(ae.Message, "CHALLENGER_MODEL_VERSION") {
			return "", fmt.Errorf("got 409 %q, want it to say that there is no shadow or challenger to compare with", ae.Message)
		}
		return "no second model configured: 409 CONFLICT, as expected (" + ae.Message + ")", nil
	}
	if err != nil {
		return "", err
	}
	if r.Mode != "shadow" && r.Mode != "challenger" {
		return "", fmt.Errorf("mode %q, want shadow or challenger", r.Mode)
	}
	if r.AgreementRate < 0 || r.AgreementRate > 1 || len(r.TopDisagreements) > 3 {
		return "", fmt.Errorf("agreement rate %v with %d disagreements listed, want a rate in [0, 1] and at most 3", r.AgreementRate, len(r.TopDisagreements))
	}
	return fmt.Sprintf("%s %v against %v: %d transactions, agreement %.4f", r.Mode, r.LiveVersions, r.OtherVersions, r.Transactions, r.AgreementRate), nil
}
