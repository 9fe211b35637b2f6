package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fraudguard/fraudguard/internal/compare"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
	"github.com/fraudguard/fraudguard/internal/telemetry"
	"github.com/fraudguard/fraudguard/wire"
)

// mustSaveVersion saves under root a logistic regression named version, created hours after
// 2026-11-26, whose intercept makes its scores its own.
func mustSaveVersion(t testing.TB, root, version string, hours int, intercept float64) string {
	t.Helper()
	var mean, coef, scale [fraud.NumFeatures]float64
	for i := range scale {
		scale[i] = 1
	}
	coef[14], coef[4], coef[12] = -1.2, 0.8, -0.6
	lr, err := model.NewLogreg(mean, scale, coef, intercept)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(lr)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := model.Save(root, model.Bundle{
		Manifest: model.Manifest{
			Name: "test", Version: version, Kind: model.KindLogreg, Threshold: 0.5,
			CreatedAt: time.Date(2026, 11, 26, hours, 0, 0, 0, time.UTC),
			Members:   []model.MemberSpec{{Kind: model.KindLogreg, File: "logreg.json", Weight: 1}},
			Canaries:  []model.Canary{{Features: firstRow}},
		},
		Files: map[string][]byte{"logreg.json": data},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// modelsRig is a server over a Manager of two versions, v1 (older) and v2 (newer, live), with
// a SQLite activation history, real metrics, the audit log and no rate limit.
type modelsRig struct {
	*guarded
	root    string
	manager *model.Manager
	metrics *prometheus.Registry
}

func mustModelsRig(t testing.TB, opts Options) *modelsRig {
	t.Helper()
	root := t.TempDir()
	mustSaveVersion(t, root, "v1", 0, -6)
	mustSaveVersion(t, root, "v2", 1, -2)
	history, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "history.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { history.Close() })
	mg := model.NewManager(model.NewRegistry(), model.ManagerOptions{Root: root, Cache: true, History: history})
	if _, err := mg.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics, err := telemetry.NewMetrics(reg, telemetry.MetricsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts.Reloader, opts.Lifecycle, opts.Metrics = mg, mg, metrics
	g := mustGuardedWith(t, false, opts, mg.Registry(), func(g *Guard) {
		g.Limiter, g.Off.RateLimit = nil, true
	})
	return &modelsRig{guarded: g, root: root, manager: mg, metrics: reg}
}

func activateBody(version string) []byte { return []byte(`{"version":"` + version + `"}`) }

func decodeChange(t testing.TB, body []byte) wire.ModelChangeResponse {
	t.Helper()
	var out wire.ModelChangeResponse
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return out
}

func predictVersion(t testing.TB, h http.Handler, body []byte) string {
	t.Helper()
	w := send(t, h, "POST", "/predict", body, "")
	if w.Code != 200 {
		t.Fatalf("predict: got %d %s", w.Code, w.Body)
	}
	return decodeBody(t, w)["model_version"].(string)
}

// TestModelActivateAndRollback switches to v1 and back over HTTP: each answer is the model
// now live, /predict follows it at once, /models/info lists both versions, and every switch
// is counted and audited.
func TestModelActivateAndRollback(t *testing.T) {
	r := mustModelsRig(t, Options{})
	row := txBody(firstRow, nil, "")
	if got := predictVersion(t, r.srv, row); got != "v2" {
		t.Fatalf("before: model_version %s, want v2", got)
	}
	w := send(t, r.srv, "POST", "/models/activate", activateBody("v1"), adminEnv)
	if w.Code != 200 {
		t.Fatalf("activate: got %d %s", w.Code, w.Body)
	}
	ch := decodeChange(t, w.Body.Bytes())
	if ch.Status != "activated" || ch.Previous != "v2" || ch.Model.Version != "v1" || !ch.Model.Active || !ch.Model.Loaded || ch.Model.SHA256 == "" || ch.Model.LoadedAt == nil {
		t.Errorf("activate: got %+v, want v1 activated after v2", ch)
	}
	if got := predictVersion(t, r.srv, row); got != "v1" {
		t.Errorf("after activate: model_version %s, want v1", got)
	}

	w = send(t, r.srv, "GET", "/models/info", nil, "")
	var info wire.ModelInfoResponse
	if err := json.Unmarshal(w.Body.Bytes(), &info); err != nil || w.Code != 200 {
		t.Fatalf("info: %d %s (%v)", w.Code, w.Body, err)
	}
	if info.Version != "v1" || len(info.Versions) != 2 {
		t.Fatalf("info: got version %s and %d versions, want v1 and 2", info.Version, len(info.Versions))
	}
	v2, v1 := info.Versions[0], info.Versions[1]
	if v2.Version != "v2" || v2.Active || !v2.Loaded || v2.Requests != 1 || v2.SHA256 == "" || v2.LoadedAt == nil {
		t.Errorf("info v2: got %+v, want inactive, loaded (cached), 1 request", v2)
	}
	if v1.Version != "v1" || !v1.Active || v1.Requests != 1 || v1.SHA256 != info.SHA256 {
		t.Errorf("info v1: got %+v, want active with 1 request and the live digest", v1)
	}

	w = send(t, r.srv, "POST", "/models/rollback", nil, adminEnv)
	if ch := decodeChange(t, w.Body.Bytes()); w.Code != 200 || ch.Status != "rolled_back" || ch.Model.Version != "v2" || ch.Previous != "v1" {
		t.Errorf("rollback: got %d %s, want v2 rolled back to", w.Code, w.Body)
	}
	if got := predictVersion(t, r.srv, row); got != "v2" {
		t.Errorf("after rollback: model_version %s, want v2", got)
	}
	if got := metricValue(t, r.metrics, "fraudguard_model_reloads_total", "outcome=success"); got != 2 {
		t.Errorf("reloads{success}: got %v, want 2", got)
	}
	for action, detail := range map[string]string{
		fraud.ActionModelActivate: "trigger=http asked=v1 version=v1 previous=v2",
		fraud.ActionModelRollback: "trigger=http version=v2 previous=v1",
	} {
		evs := r.events(t, action, 1)
		if len(evs) != 1 || evs[0].Detail != detail || evs[0].KeyName != "admin" || evs[0].Outcome != fraud.OutcomeSuccess {
			t.Errorf("%s: got %+v, want one success by admin with detail %q", action, evs, detail)
		}
	}
	h, err := r.manager.History(context.Background(), 10)
	if err != nil || len(h) != 3 || h[0].Kind != fraud.ActivationRollback || h[0].KeyName != "admin" || h[0].RequestID == "" {
		t.Errorf("history: got %+v (%v), want the rollback by admin on top of 3", h, err)
	}
}

// TestModelSwitchErrors covers every refusal of the switch routes: each answers its code and
// leaves v2 live.
func TestModelSwitchErrors(t *testing.T) {
	r := mustModelsRig(t, Options{})
	corrupt := mustSaveVersion(t, r.root, "v3", 2, -1)
	if err := os.WriteFile(filepath.Join(corrupt, "logreg.json"), []byte(`{"kind":"logreg","mean":[1,`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, body, key, contentType string
		status                             int
		code, says                         string
	}{
		{"rollback with no earlier version", "/models/rollback", "", adminEnv, "", 409, "CONFLICT", "no earlier model version"},
		{"unknown version", "/models/activate", `{"version":"v9"}`, adminEnv, "", 404, "NOT_FOUND", "no model version v9"},
		{"corrupt bundle", "/models/activate", `{"version":"v3"}`, adminEnv, "", 422, "UNPROCESSABLE_ENTITY", "member logreg.json"},
		{"path in version", "/models/activate", `{"version":"../v1"}`, adminEnv, "", 400, "VALIDATION_ERROR", "version"},
		{"no version", "/models/activate", `{}`, adminEnv, "", 400, "VALIDATION_ERROR", "version"},
		{"unknown field", "/models/activate", `{"version":"v1","force":true}`, adminEnv, "", 400, "MALFORMED_JSON", "force"},
		{"not JSON", "/models/activate", `version=v1`, adminEnv, "", 400, "MALFORMED_JSON", "the body must be"},
		{"two objects", "/models/activate", `{"version":"v1"}{}`, adminEnv, "", 400, "MALFORMED_JSON", "one object"},
		{"wrong content type", "/models/activate", `{"version":"v1"}`, adminEnv, "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE", "JSON"},
		{"no admin key", "/models/activate", `{"version":"v1"}`, "", "", 401, "UNAUTHORIZED", ""},
		{"compare without a second model", "/models/compare", "", adminEnv, "", 409, "CONFLICT", "SHADOW_MODEL_VERSION"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if strings.HasSuffix(tc.path, "compare") {
				method = "GET"
			}
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			w := send(t, r.srv, method, tc.path, body, tc.key, func(req *http.Request) {
				if tc.contentType != "" {
					req.Header.Set("Content-Type", tc.contentType)
				}
			})
			e := checkError(t, w, tc.status, tc.code)
			if msg, _ := e["message"].(string); !strings.Contains(msg+fmt.Sprint(e["details"]), tc.says) {
				t.Errorf("message %q, details %v: want %q in them", msg, e["details"], tc.says)
			}
			if live := r.manager.Registry().Current().Version(); live != "v2" {
				t.Errorf("live: got %s, want v2", live)
			}
		})
	}
	if got := metricValue(t, r.metrics, "fraudguard_model_reloads_total", "outcome=failure"); got != 3 {
		t.Errorf("reloads{failure}: got %v, want 3 (rollback, unknown version, corrupt bundle)", got)
	}
	evs := r.events(t, fraud.ActionModelActivate, 2)
	for _, e := range evs {
		if e.Outcome != fraud.OutcomeFailure || !strings.Contains(e.Detail, "error=") {
			t.Errorf("audit: got %+v, want a failure with its error", e)
		}
	}
}

// TestShadowCompare scores with a shadow model and compares: every transaction is scored by
// both, the answers are the live model's, and the report's figures are those of the pairs.
func TestShadowCompare(t *testing.T) {
	r := mustModelsRig(t, Options{})
	c, err := compare.New(prometheus.NewRegistry(), compare.Options{Mode: compare.ModeShadow, Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	shadow, err := r.manager.Hold("v1")
	if err != nil {
		t.Fatal(err)
	}
	r.srv.opts.Compare, r.srv.opts.Shadow = c, shadow
	live := r.manager.Registry().Current()
	const n = 20
	for i := range n {
		x := firstRow
		x[14] = float64(i-10) / 2
		if got := predictVersion(t, r.srv, txBody(x, map[string]any{"transaction_id": fmt.Sprintf("t%02d", i)}, "")); got != "v2" {
			t.Fatalf("answer by %s, want the live v2", got)
		}
	}
	c.Drain()
	r.clock.Advance(time.Second) // until is exclusive: the pairs were made at the clock's now
	w := send(t, r.srv, "GET", "/models/compare", nil, adminEnv)
	if w.Code != 200 {
		t.Fatalf("compare: %d %s", w.Code, w.Body)
	}
	var rep wire.CompareResponse
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Transactions != n || rep.Mode != "shadow" || len(rep.LiveVersions) != 1 || rep.LiveVersions[0] != "v2" || rep.OtherVersions[0] != "v1" {
		t.Fatalf("got %+v, want %d transactions of v2 against v1", rep, n)
	}
	var flagsA, flagsB, agree int
	var pa, pb []float64
	for i := range n {
		x := firstRow
		x[14] = float64(i-10) / 2
		a, b := live.Score(&x), shadow.Score(&x)
		flagsA += btoi(a.IsFraud)
		flagsB += btoi(b.IsFraud)
		agree += btoi(a.IsFraud == b.IsFraud)
		pa, pb = append(pa, a.Probability), append(pb, b.Probability)
	}
	if rep.LiveFlagRate != float64(flagsA)/n || rep.OtherFlagRate != float64(flagsB)/n || rep.AgreementRate != float64(agree)/n {
		t.Errorf("rates: got %v, %v, %v; want %v, %v, %v", rep.LiveFlagRate, rep.OtherFlagRate, rep.AgreementRate,
			float64(flagsA)/n, float64(flagsB)/n, float64(agree)/n)
	}
	if want := pearson(pa, pb); rep.ScoreCorrelation == nil || math.Abs(*rep.ScoreCorrelation-want) > 1e-9 || want < 0.5 {
		t.Errorf("correlation: got %v, want %v", rep.ScoreCorrelation, want)
	}
	if len(rep.TopDisagreements) != 10 || rep.TopDisagreements[0].Difference < rep.TopDisagreements[9].Difference {
		t.Errorf("top disagreements: got %+v, want 10, largest first", rep.TopDisagreements)
	}
	for _, q := range []string{"since=yesterday", "limit=1000", "since=2026-11-26T13:00:00Z&until=2026-11-26T12:00:00Z"} {
		checkError(t, send(t, r.srv, "GET", "/models/compare?"+q, nil, adminEnv), 400, "VALIDATION_ERROR")
	}
	// A window before the transactions holds none.
	w = send(t, r.srv, "GET", "/models/compare?until=2000-01-01T00:00:00Z", nil, adminEnv)
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || rep.Transactions != 0 || rep.ScoreCorrelation != nil {
		t.Errorf("an empty window: got %s", w.Body)
	}
}

// pearson is the textbook two-pass correlation, to check the one-pass one against.
func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma, mb = ma+a[i], mb+b[i]
	}
	ma, mb = ma/float64(len(a)), mb/float64(len(b))
	var cov, va, vb float64
	for i := range a {
		cov += (a[i] - ma) * (b[i] - mb)
		va += (a[i] - ma) * (a[i] - ma)
		vb += (b[i] - mb) * (b[i] - mb)
	}
	return cov / math.Sqrt(va*vb)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestShadowQueueFullDrops fills the shadow queue: the answers are unchanged and the drops are
// counted.
func TestShadowQueueFullDrops(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, err := compare.New(reg, compare.Options{Mode: compare.ModeShadow, Queue: 2})
	if err != nil {
		t.Fatal(err)
	}
	r := mustModelsRig(t, Options{Compare: c})
	shadow, _ := r.manager.Hold("v1")
	r.srv.opts.Shadow = shadow
	for range 5 {
		if got := predictVersion(t, r.srv, txBody(firstRow, nil, "")); got != "v2" {
			t.Fatalf("got %s, want v2", got)
		}
	}
	if got := metricValue(t, reg, "fraudguard_shadow_dropped_total", ""); got != 3 {
		t.Errorf("dropped: got %v, want 3", got)
	}
	c.Drain()
	if got := metricValue(t, reg, "fraudguard_shadow_scored_total", ""); got != 2 {
		t.Errorf("scored: got %v, want 2", got)
	}
}

// TestChallengerShare answers a share of transactions with the challenger, the same model for
// the same transaction_id every time, and compares them all.
func TestChallengerShare(t *testing.T) {
	c, err := compare.New(prometheus.NewRegistry(), compare.Options{Mode: compare.ModeChallenger})
	if err != nil {
		t.Fatal(err)
	}
	r := mustModelsRig(t, Options{Compare: c, ChallengerShare: 30})
	challenger, _ := r.manager.Hold("v1")
	r.srv.opts.Challenger = challenger
	const n = 400
	byChallenger := 0
	for i := range n {
		id := fmt.Sprintf("txn-%d", i)
		body := txBody(firstRow, map[string]any{"transaction_id": id}, "")
		got := predictVersion(t, r.srv, body)
		want := "v2"
		if compare.InShare(id, 30) {
			want = "v1"
			byChallenger++
		}
		if got != want {
			t.Fatalf("%s: answered by %s, want %s", id, got, want)
		}
		if again := predictVersion(t, r.srv, body); again != got {
			t.Fatalf("%s: answered by %s, then by %s", id, got, again)
		}
	}
	if byChallenger < n*20/100 || byChallenger > n*40/100 {
		t.Errorf("the challenger answered %d of %d, want about 30%%", byChallenger, n)
	}
	// A batch is answered by the live model alone.
	w := send(t, r.srv, "POST", "/predict/batch", []byte(`{"transactions":[`+string(txBody(firstRow, map[string]any{"transaction_id": "b1"}, ""))+`]}`), "")
	if w.Code != 200 || decodeBody(t, w)["model_version"] != "v2" {
		t.Errorf("batch: got %d %s, want it answered by v2", w.Code, w.Body)
	}
	c.Drain()
	rep := c.Report(time.Now().Add(-time.Hour), time.Now().Add(time.Minute), 5)
	if rep.Transactions != 2*n+1 || rep.AnsweredByOther != 2*byChallenger {
		t.Errorf("report: %d transactions, %d by the challenger; want %d and %d", rep.Transactions, rep.AnsweredByOther, 2*n+1, 2*byChallenger)
	}
}

// flipModels is a model source whose live model changes at every look: the worst case of a
// switch during a request.
type flipModels struct {
	ms [2]*model.Model
	n  atomic.Int64
}

func (f *flipModels) Current() *model.Model { return f.ms[f.n.Add(1)%2] }

// TestBatchScoredByOneVersion scores a batch while the live model changes at every look:
// every row has the probability of the version the answer names.
func TestBatchScoredByOneVersion(t *testing.T) {
	root := t.TempDir()
	a := mustLoadDir(t, mustSaveVersion(t, root, "v1", 0, -6))
	b := mustLoadDir(t, mustSaveVersion(t, root, "v2", 1, -2))
	g := mustGuardedWith(t, false, Options{}, &flipModels{ms: [2]*model.Model{a, b}}, nil)
	rows := make([]string, 50)
	for i := range rows {
		rows[i] = string(txBody(firstRow, nil, ""))
	}
	want := map[string]float64{"v1": a.Probability(&firstRow), "v2": b.Probability(&firstRow)}
	for range 4 {
		w := send(t, g.srv, "POST", "/predict/batch", []byte(`{"transactions":[`+strings.Join(rows, ",")+`]}`), "")
		var out wire.PredictBatchResponse
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != 200 {
			t.Fatalf("batch: %d %s", w.Code, w.Body)
		}
		for i, r := range out.Results {
			if r.FraudProbability != want[out.ModelVersion] {
				t.Fatalf("row %d: probability %v, want %v of %s, which the answer names", i, r.FraudProbability, want[out.ModelVersion], out.ModelVersion)
			}
		}
	}
}

func mustLoadDir(t testing.TB, dir string) *model.Model {
	t.Helper()
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
