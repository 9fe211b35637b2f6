package api

import (
	"context"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/decision"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

// TestDriftRoute measures a window of recorded decisions against the shipped model's training
// distribution: the default window is the last 24 hours, the inputs count every decision and
// the score the live version's only; an Amount above every training bin gives the PSI of all
// the mass in the last bin.
func TestDriftRoute(t *testing.T) {
	store := mustSQLite(t)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	m := mustShippedModel(t)
	s := mustServer(t, Options{DecisionStore: store, Now: func() time.Time { return now }}, staticModels{m})
	var x [fraud.NumFeatures]float64
	x[fraud.NumFeatures-1] = 5000 // Amount, above the training's top edge
	at := func(id string, ago time.Duration, version string, p float64) fraud.Decision {
		return fraud.Decision{TransactionID: id, Time: now.Add(-ago), ModelVersion: version, Probability: p, Risk: fraud.RiskLow, Threshold: 0.5, Features: x}
	}
	recordAt(t, store, at("a", time.Hour, m.Version(), 0.5), at("b", 2*time.Hour, "older", 0.5), at("c", 48*time.Hour, m.Version(), 0.5))

	w := do(t, s, request{method: "GET", path: "/models/drift"})
	if w.Code != 200 {
		t.Fatalf("drift: %d %s", w.Code, w.Body)
	}
	var got wire.DriftResponse
	mustUnmarshal(t, w.Body.Bytes(), &got)
	if got.Count != 2 || got.Score.Count != 1 || got.ModelVersion != m.Version() || !got.Until.Equal(now) || !got.Since.Equal(now.Add(-24*time.Hour)) {
		t.Fatalf("got count %d, score count %d, version %s, window %s..%s; want 2, 1, %s, the last 24 hours",
			got.Count, got.Score.Count, got.ModelVersion, got.Since, got.Until, m.Version())
	}
	if len(got.Features) != fraud.NumFeatures-1 || got.Features[0].Feature != "V1" || got.Features[28].Feature != "Amount" {
		t.Fatalf("got features %+v, want V1..V28 and Amount", got.Features)
	}
	amount := m.Drift().Features[28].Shares
	actual := make([]float64, len(amount))
	actual[len(actual)-1] = 1
	if want := decision.PSI(amount, actual); got.Features[28].PSI == nil || math.Abs(*got.Features[28].PSI-want) > 1e-12 || want < 2 {
		t.Errorf("Amount: got PSI %v, want %v", got.Features[28].PSI, want)
	}
	if got.Score.PSI == nil || *got.Score.PSI <= 0.2 {
		t.Errorf("score: got PSI %v, want a large one for 0.5 against the model's training scores", got.Score.PSI)
	}

	w = do(t, s, request{method: "GET", path: "/models/drift?since=2026-11-20T00:00:00Z&until=2026-11-27T12:00:00Z"})
	mustUnmarshal(t, w.Body.Bytes(), &got)
	if w.Code != 200 || got.Count != 3 || got.Score.Count != 2 {
		t.Errorf("a week: got %d, count %d, score count %d, want 200, 3, 2", w.Code, got.Count, got.Score.Count)
	}
	w = do(t, s, request{method: "GET", path: "/models/drift?until=2026-11-20T00:00:00Z"})
	mustUnmarshal(t, w.Body.Bytes(), &got)
	if w.Code != 200 || got.Count != 0 || got.Features[3].PSI != nil || got.Score.PSI != nil {
		t.Errorf("an empty window: got %d %s, want count 0 and null figures", w.Code, w.Body)
	}
}

// TestDriftRouteRefusals: every bad parameter is named; a model without a training
// distribution is 409 saying so.
func TestDriftRouteRefusals(t *testing.T) {
	s := mustServer(t, Options{DecisionStore: mustSQLite(t)}, staticModels{mustShippedModel(t)})
	for _, tc := range []struct {
		query  string
		fields []string
	}{
		{"since=yesterday&until=2026-13-01&window=1", []string{"since", "until", "window"}},
		{"since=2026-11-27T00:00:00Z&until=2026-11-26T00:00:00Z", []string{"until"}},
		{"since=2999-01-01T00:00:00Z", []string{"since"}},
		{"since=2026-11-27T00:00:00Z&since=2026-11-26T00:00:00Z", []string{"since"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			w := do(t, s, request{method: "GET", path: "/models/drift?" + tc.query})
			body := decodeBody(t, w)
			if w.Code != 400 || body["error_code"] != "VALIDATION_ERROR" {
				t.Fatalf("got %d %s, want 400 VALIDATION_ERROR", w.Code, w.Body)
			}
			var fields []string
			for _, d := range body["details"].([]any) {
				fields = append(fields, d.(map[string]any)["field"].(string))
			}
			slices.Sort(fields)
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("got fields %v, want %v", fields, tc.fields)
			}
		})
	}
	old := mustServer(t, Options{DecisionStore: mustSQLite(t)}, staticModels{mustModel(t)})
	w := do(t, old, request{method: "GET", path: "/models/drift"})
	if body := decodeBody(t, w); w.Code != 409 || body["error_code"] != "CONFLICT" || !strings.Contains(body["message"].(string), "has no training distribution") {
		t.Errorf("a bundle without bins: got %d %s, want 409 CONFLICT saying it has no training distribution", w.Code, w.Body)
	}
}

// TestRunDriftGauges checks that the gauges get the route's figures at once and again on every
// tick, and nil for a model without a training distribution.
func TestRunDriftGauges(t *testing.T) {
	store := mustSQLite(t)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	m := mustShippedModel(t)
	var x [fraud.NumFeatures]float64
	x[fraud.NumFeatures-1] = 5000
	recordAt(t, store,
		fraud.Decision{TransactionID: "a", Time: now.Add(-time.Minute), ModelVersion: m.Version(), Probability: 0.5, Risk: fraud.RiskLow, Threshold: 0.5, Features: x},
		fraud.Decision{TransactionID: "b", Time: now.Add(-2 * time.Hour), ModelVersion: m.Version(), Probability: 0.5, Risk: fraud.RiskLow, Threshold: 0.5, Features: x})
	for _, tc := range []struct {
		name  string
		model staticModels
		count int // -1: nil
	}{
		{"with bins", staticModels{m}, 1},
		{"without bins", staticModels{mustModel(t)}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustServer(t, Options{DecisionStore: store, Now: func() time.Time { return now }}, tc.model)
			got := make(chan *wire.DriftResponse, 10)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- s.RunDriftGauges(ctx, 10*time.Millisecond, time.Hour, func(r *wire.DriftResponse) {
					select {
					case got <- r:
					default: // the test has read enough
					}
				})
			}()
			for range 2 { // the first at once, the second on a tick
				select {
				case r := <-got:
					switch {
					case tc.count < 0 && r != nil:
						t.Errorf("got %+v, want nil", r)
					case tc.count >= 0 && (r == nil || r.Count != tc.count || r.Features[28].PSI == nil || *r.Features[28].PSI < 2):
						t.Errorf("got %+v, want the hour's %d decision with Amount far off", r, tc.count)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("no measurement within 5 s")
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("got %v, want nil at the end", err)
			}
		})
	}
}

// TestDashboardPage checks the page's strict Content-Security-Policy and that every file it
// names is served by a relative URL from this server.
func TestDashboardPage(t *testing.T) {
	s := mustServer(t, Options{}, staticModels{mustModel(t)})
	w := do(t, s, request{method: "GET", path: "/dashboard"})
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("got %d %s, want the HTML page", w.Code, w.Header().Get("Content-Type"))
	}
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "connect-src 'self';", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows something unsafe", csp)
	}
	body := w.Body.String()
	srcs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(srcs) < 3 {
		t.Fatalf("got %d files named, want the icon, the style and two scripts", len(srcs))
	}
	for _, m := range srcs {
		if m[1] == "data:," {
			continue
		}
		if !strings.HasPrefix(m[1], "/dashboard/assets/") {
			t.Errorf("%s: not a file of this server's dashboard", m[1])
			continue
		}
		if w := do(t, s, request{method: "GET", path: m[1]}); w.Code != 200 || w.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%s: got %d, %q, want 200 cached for good", m[1], w.Code, w.Header().Get("Cache-Control"))
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
		t.Errorf("the page has inline script or style, which its policy refuses")
	}
}
