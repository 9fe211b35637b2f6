package api

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fraudguard/fraudguard/internal/clocktest"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/telemetry"
)

// metricValue reads one series of a counter or gauge from reg; label is "name=value" or empty.
func metricValue(t testing.TB, reg prometheus.Gatherer, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName()+"="+lp.GetValue() == label {
					match = true
				}
			}
			if !match {
				continue
			}
			if m.Counter != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("%s{%s}: no such series", name, label)
	return 0
}

// reloadRig is a server with a keys file, a model reloader over a bundle directory and real
// metrics.
type reloadRig struct {
	*guarded
	registry *model.Registry
	live     *model.Model
	metrics  *prometheus.Registry
	clock    *clocktest.Clock
}

func mustReloadRig(t *testing.T) *reloadRig {
	t.Helper()
	m := mustModel(t)
	registry := model.NewRegistry()
	registry.Store(m)
	reg := prometheus.NewRegistry()
	clock := clocktest.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	metrics, err := telemetry.NewMetrics(reg, telemetry.MetricsOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	metrics.LoadedAtStart()
	g := mustGuardedWith(t, true, Options{
		Reloader: model.NewManager(registry, model.ManagerOptions{Root: filepath.Dir(m.Dir)}),
		Metrics:  metrics,
	}, registry, nil)
	return &reloadRig{guarded: g, registry: registry, live: m, metrics: reg, clock: clock}
}

// splitTrigger cuts an event's detail into its trigger and the rest.
func splitTrigger(t testing.TB, e fraud.AuditEvent) (trigger, rest string) {
	t.Helper()
	d, ok := strings.CutPrefix(e.Detail, "trigger=")
	if !ok {
		t.Fatalf("%s event detail %q does not start with trigger=", e.Action, e.Detail)
	}
	trigger, rest, _ = strings.Cut(d, " ")
	return trigger, rest
}

// byTrigger returns the events of action, by trigger; it fails on a trigger seen twice.
func byTrigger(t testing.TB, evs []fraud.AuditEvent) map[string]fraud.AuditEvent {
	t.Helper()
	out := map[string]fraud.AuditEvent{}
	for _, e := range evs {
		trigger, _ := splitTrigger(t, e)
		if _, dup := out[trigger]; dup {
			t.Fatalf("two %s events by %s: %+v", e.Action, trigger, evs)
		}
		out[trigger] = e
	}
	return out
}

// TestReloadOneWayForEveryTrigger reloads the keys and the model over HTTP and by SIGHUP (the
// function the signal handler runs) and checks that both triggers leave the same audit event
// and move the same counters.
func TestReloadOneWayForEveryTrigger(t *testing.T) {
	r := mustReloadRig(t)
	start := metricValue(t, r.metrics, "fraudguard_model_reload_last_success_timestamp_seconds", "")
	r.clock.Advance(time.Minute)

	if w := send(t, r.srv, "POST", "/security/keys/reload", nil, adminEnv); w.Code != 200 {
		t.Fatalf("keys reload over HTTP: got %d %s", w.Code, w.Body)
	}
	w := send(t, r.srv, "POST", "/models/reload", nil, adminEnv)
	if w.Code != 200 || decodeBody(t, w)["version"] != r.live.Version() {
		t.Fatalf("model reload over HTTP: got %d %s", w.Code, w.Body)
	}

	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- r.srv.ReloadOnSignal(ctx, sig) }()
	sig <- syscall.SIGHUP

	keys := byTrigger(t, r.events(t, fraud.ActionKeysReload, 2))
	models := byTrigger(t, r.events(t, fraud.ActionModelReload, 2))
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ReloadOnSignal: %v", err)
	}
	for action, evs := range map[string]map[string]fraud.AuditEvent{fraud.ActionKeysReload: keys, fraud.ActionModelReload: models} {
		viaHTTP, okHTTP := evs[TriggerHTTP]
		viaSignal, okSignal := evs[TriggerSignal]
		if !okHTTP || !okSignal {
			t.Fatalf("%s: got events %+v, want one by %s and one by %s", action, evs, TriggerHTTP, TriggerSignal)
		}
		_, restHTTP := splitTrigger(t, viaHTTP)
		_, restSignal := splitTrigger(t, viaSignal)
		if viaHTTP.Outcome != fraud.OutcomeSuccess || viaSignal.Outcome != fraud.OutcomeSuccess || restHTTP != restSignal {
			t.Errorf("%s: the triggers leave different events:\n http   %+v\n signal %+v", action, viaHTTP, viaSignal)
		}
		// Over HTTP the event also says who asked.
		if viaHTTP.KeyName != "admin" || viaHTTP.RequestID == "" || viaHTTP.ClientIP == "" {
			t.Errorf("%s over HTTP: got %+v, want the admin key, a request id and the client", action, viaHTTP)
		}
	}
	if _, rest := splitTrigger(t, models[TriggerSignal]); rest != "version="+r.live.Version()+" previous="+r.live.Version() {
		t.Errorf("model reload detail: got %q, want version=%s previous=%[2]s", rest, r.live.Version())
	}

	for _, name := range []string{"fraudguard_key_reloads_total", "fraudguard_model_reloads_total"} {
		if got := metricValue(t, r.metrics, name, "outcome=success"); got != 2 {
			t.Errorf("%s{success}: got %v, want 2 (one over HTTP, one by signal)", name, got)
		}
		if got := metricValue(t, r.metrics, name, "outcome=failure"); got != 0 {
			t.Errorf("%s{failure}: got %v, want 0", name, got)
		}
	}
	for _, name := range []string{"fraudguard_key_reload_last_success_timestamp_seconds", "fraudguard_model_reload_last_success_timestamp_seconds"} {
		if got := metricValue(t, r.metrics, name, ""); got != start+60 {
			t.Errorf("%s: got %v, want %v (a minute after start)", name, got, start+60)
		}
	}
}

// TestReloadFailureKeepsOldState breaks the keys file and the model bundle and reloads by both
// triggers: the old keys and model stay, the failures are counted and audited, and HTTP
// answers 422 with a message that says so.
func TestReloadFailureKeepsOldState(t *testing.T) {
	r := mustReloadRig(t)
	if err := os.WriteFile(r.keys.Path(), []byte("keys:\n  - name: x\n    sha256: nothex\n    scopes: [predict]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(r.live.Dir, "logreg.json")); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Minute)

	body := checkError(t, send(t, r.srv, "POST", "/security/keys/reload", nil, adminEnv), 422, "UNPROCESSABLE_ENTITY")
	if msg, _ := body["message"].(string); !strings.Contains(msg, "the old keys stay in force") || !strings.Contains(msg, "sha256") {
		t.Errorf("keys reload message: %q, want why and that the old keys stay", msg)
	}
	body = checkError(t, send(t, r.srv, "POST", "/models/reload", nil, adminEnv), 422, "UNPROCESSABLE_ENTITY")
	if msg, _ := body["message"].(string); !strings.Contains(msg, "the old model stays live") || !strings.Contains(msg, "logreg.json") {
		t.Errorf("model reload message: %q, want why and that the old model stays", msg)
	}
	err := r.srv.Reload(context.Background(), TriggerSignal)
	if err == nil || !strings.Contains(err.Error(), "keys file") || !strings.Contains(err.Error(), "model") {
		t.Errorf("Reload by signal: got %v, want both failures", err)
	}

	if r.registry.Current() != r.live {
		t.Error("the live model changed after failed reloads")
	}
	if w := send(t, r.srv, "POST", "/predict", txBody(firstRow, nil, ""), keyPredict); w.Code != 200 {
		t.Errorf("an old key after failed reloads: got %d %s, want 200", w.Code, w.Body)
	}
	for _, action := range []string{fraud.ActionKeysReload, fraud.ActionModelReload} {
		evs := byTrigger(t, r.events(t, action, 2))
		for _, trigger := range []string{TriggerHTTP, TriggerSignal} {
			e, ok := evs[trigger]
			_, rest := splitTrigger(t, e)
			if !ok || e.Outcome != fraud.OutcomeFailure || !strings.HasPrefix(rest, "error=") {
				t.Errorf("%s by %s: got %+v, want a failure with its error", action, trigger, e)
			}
		}
	}
	for _, name := range []string{"fraudguard_key_reloads_total", "fraudguard_model_reloads_total"} {
		if got := metricValue(t, r.metrics, name, "outcome=failure"); got != 2 {
			t.Errorf("%s{failure}: got %v, want 2", name, got)
		}
		if got := metricValue(t, r.metrics, name, "outcome=success"); got != 0 {
			t.Errorf("%s{success}: got %v, want 0", name, got)
		}
	}
	start := float64(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).Unix())
	for _, name := range []string{"fraudguard_key_reload_last_success_timestamp_seconds", "fraudguard_model_reload_last_success_timestamp_seconds"} {
		if got := metricValue(t, r.metrics, name, ""); got != start {
			t.Errorf("%s: got %v, want the start-up time %v (failures do not move it)", name, got, start)
		}
	}
}

// TestReloadOnSignalWithoutKeysFile reloads only the model: there are no keys to reload, and
// nothing about keys is counted or audited.
func TestReloadOnSignalWithoutKeysFile(t *testing.T) {
	m := mustModel(t)
	registry := model.NewRegistry()
	registry.Store(m)
	reg := prometheus.NewRegistry()
	metrics, err := telemetry.NewMetrics(reg, telemetry.MetricsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := mustGuardedWith(t, false, Options{Reloader: model.NewManager(registry, model.ManagerOptions{Root: filepath.Dir(m.Dir)}), Metrics: metrics}, registry, nil)
	if err := g.srv.Reload(context.Background(), TriggerSignal); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got := metricValue(t, reg, "fraudguard_key_reloads_total", "outcome=success") + metricValue(t, reg, "fraudguard_key_reloads_total", "outcome=failure"); got != 0 {
		t.Errorf("key reloads counted without a keys file: %v", got)
	}
	if got := metricValue(t, reg, "fraudguard_model_reloads_total", "outcome=success"); got != 1 {
		t.Errorf("model reloads: got %v, want 1", got)
	}
	g.events(t, fraud.ActionModelReload, 1)
	if evs, _, _ := g.store.ListAudit(context.Background(), fraud.AuditFilter{Action: fraud.ActionKeysReload}); len(evs) != 0 {
		t.Errorf("keys reload audited without a keys file: %+v", evs)
	}
}
