package demo

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/wire"
)

func ptr(v float64) *float64 { return &v }

// infoWith is a GET /models/info answer of three features with imp as its importance.
func infoWith(imp *wire.ModelImportance) *wire.ModelInfoResponse {
	return &wire.ModelInfoResponse{Version: "v2", SHA256: "aa", Features: []string{"Time", "V1", "Amount"}, Importance: imp}
}

func TestCheckImportance(t *testing.T) {
	byShap := func(a, b, c float64) *wire.ModelImportance {
		return &wire.ModelImportance{ReferenceRows: 500, Features: []wire.FeatureImportance{
			{Feature: "V1", MeanAbsSHAP: ptr(a), SplitGain: ptr(1), SplitGainShare: ptr(0.5)},
			{Feature: "Amount", MeanAbsSHAP: ptr(b), SplitGain: ptr(1), SplitGainShare: ptr(0.25)},
			{Feature: "Time", MeanAbsSHAP: ptr(c), SplitGain: ptr(1), SplitGainShare: ptr(0.25)},
		}}
	}
	gainOnly := &wire.ModelImportance{Features: []wire.FeatureImportance{
		{Feature: "V1", SplitGain: ptr(3), SplitGainShare: ptr(0.6)},
		{Feature: "Time", SplitGain: ptr(2), SplitGainShare: ptr(0.4)},
		{Feature: "Amount", SplitGain: ptr(0), SplitGainShare: ptr(0)},
	}}
	repeated := byShap(3, 2, 1)
	repeated.Features[2].Feature = "V1"
	shares := byShap(3, 2, 1)
	shares.Features[0].SplitGainShare = ptr(0.9)
	noShap := byShap(3, 2, 1)
	noShap.Features[1].MeanAbsSHAP = nil
	short := byShap(3, 2, 1)
	short.Features = short.Features[:2]
	for _, tc := range []struct {
		name string
		imp  *wire.ModelImportance
		want string // in the detail, or in the error when bad
		bad  bool
	}{
		{"by mean |SHAP|", byShap(3, 2, 1), "over 500 reference rows, V1 first", false},
		{"ties allowed", byShap(2, 2, 1), "V1 first", false},
		{"by split gain without a reference sample", gainOnly, "by split gain, V1 first", false},
		{"absent", nil, "no importance", false},
		{"out of order", byShap(1, 2, 3), "weighs less", true},
		{"a feature repeated", repeated, "unknown or repeated", true},
		{"shares not adding up to 1", shares, "adds up to", true},
		{"mean |SHAP| missing with reference rows", noShap, "mean_abs_shap", true},
		{"a feature missing", short, "want all 3", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := checkImportance(infoWith(tc.imp))
			if tc.bad {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("got %q, %v; want an error about %q", got, err, tc.want)
				}
				return
			}
			if err != nil || !strings.Contains(got, tc.want) {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestCheckVersions(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	v := func(name string, days int, active bool) wire.ModelVersion {
		return wire.ModelVersion{Version: name, CreatedAt: day.AddDate(0, 0, days), Active: active, Loaded: active, SHA256: "aa"}
	}
	for _, tc := range []struct {
		name     string
		versions []wire.ModelVersion
		bad      string
	}{
		{"the live one active", []wire.ModelVersion{v("v3", 2, false), v("v2", 1, true), v("v1", 0, false)}, ""},
		{"none", nil, "empty"},
		{"none active", []wire.ModelVersion{v("v2", 1, false)}, "want the live v2 alone"},
		{"another active", []wire.ModelVersion{v("v3", 2, true)}, "want the live v2 alone"},
		{"two active", []wire.ModelVersion{v("v3", 2, true), v("v2", 1, true)}, "want the live v2 alone"},
		{"oldest first", []wire.ModelVersion{v("v1", 0, false), v("v2", 1, true)}, "newest first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := infoWith(nil)
			m.Versions = tc.versions
			_, err := checkVersions(m)
			if (err != nil) != (tc.bad != "") || (err != nil && !strings.Contains(err.Error(), tc.bad)) {
				t.Errorf("got %v, want an error about %q", err, tc.bad)
			}
		})
	}
}

// TestActivateLivePutsBackAnotherSwitch plays a server on which another version was made
// live between the demo's read of the live version and its activation: the step must make
// that version live again, and fail saying so.
func TestActivateLivePutsBackAnotherSwitch(t *testing.T) {
	var activated []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "GET /models/info":
			json.NewEncoder(w).Encode(wire.ModelInfoResponse{Version: "v2", SHA256: "aa"})
		case "POST /models/activate":
			var in wire.ActivateRequest
			json.NewDecoder(r.Body).Decode(&in)
			previous := "v3" // switched to by someone else just before the demo's call
			if len(activated) > 0 {
				previous = activated[len(activated)-1]
			}
			activated = append(activated, in.Version)
			json.NewEncoder(w).Encode(wire.ModelChangeResponse{Status: "activated", Previous: previous, Model: wire.ModelVersion{Version: in.Version}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	d, err := New(Config{URL: srv.URL, AdminKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = stepActivateLive(context.Background(), d)
	if err == nil || !strings.Contains(err.Error(), "v3 is live again") {
		t.Errorf("got %v, want a failure saying v3 is live again", err)
	}
	if !slices.Equal(activated, []string{"v2", "v3"}) {
		t.Errorf("activated %v, want v2 then v3 back", activated)
	}
}
