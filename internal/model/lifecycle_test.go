package model

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// mustSaveVersion saves the test bundle as version, created hours after testCreatedAt.
func mustSaveVersion(t testing.TB, root, version string, hours int) string {
	t.Helper()
	b := testBundle(t)
	b.Manifest.Version = version
	b.Manifest.CreatedAt = testCreatedAt.Add(time.Duration(hours) * time.Hour)
	b.Manifest.Threshold = 0.1 * float64(hours+1)
	return mustSave(t, root, b)
}

// mustManager returns a started Manager over root with v1 (older) and v2 (newer).
func mustManager(t testing.TB, o ManagerOptions) *Manager {
	t.Helper()
	if o.Root == "" {
		o.Root = t.TempDir()
		mustSaveVersion(t, o.Root, "v1", 0)
		mustSaveVersion(t, o.Root, "v2", 1)
	}
	mg := NewManager(NewRegistry(), o)
	if _, err := mg.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return mg
}

func live(mg *Manager) string { return mg.Registry().Current().Version() }

func TestManagerStartsOnNewestOrPinned(t *testing.T) {
	if got := live(mustManager(t, ManagerOptions{})); got != "v2" {
		t.Errorf("unpinned: got %s live, want the newest, v2", got)
	}
	if got := live(mustManager(t, ManagerOptions{Pinned: "v1"})); got != "v1" {
		t.Errorf("pinned: got %s live, want v1", got)
	}
}

// TestManagerActivateAndRollback walks the history: activate v1, roll back to v2, roll back
// again to v1; each switch is stored with who asked.
func TestManagerActivateAndRollback(t *testing.T) {
	ctx := context.Background()
	mg := mustManager(t, ManagerOptions{})
	by := Actor{Trigger: "http", KeyName: "ops", RequestID: "r1"}
	if _, err := mg.Rollback(ctx, by); fraud.ErrorCode(err) != fraud.CodeConflict {
		t.Errorf("rollback with nothing before: got %v, want a %s error", err, fraud.CodeConflict)
	}
	m, err := mg.Activate(ctx, "v1", by)
	if err != nil || m.Version() != "v1" || live(mg) != "v1" {
		t.Fatalf("activate v1: got %v, %v; live %s", m, err, live(mg))
	}
	for _, want := range []string{"v2", "v1"} {
		if m, err := mg.Rollback(ctx, by); err != nil || m.Version() != want || live(mg) != want {
			t.Fatalf("rollback: got %v (%v), live %s; want %s", m, err, live(mg), want)
		}
	}
	h, err := mg.History(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ version, previous, kind string }{
		{"v1", "v2", fraud.ActivationRollback},
		{"v2", "v1", fraud.ActivationRollback},
		{"v1", "v2", fraud.ActivationActivate},
		{"v2", "", fraud.ActivationStartup},
	}
	if len(h) != len(want) {
		t.Fatalf("history: got %+v, want %d entries", h, len(want))
	}
	for i, w := range want {
		if h[i].Version != w.version || h[i].Previous != w.previous || h[i].Kind != w.kind {
			t.Errorf("history[%d]: got %+v, want %+v", i, h[i], w)
		}
	}
	if h[0].KeyName != "ops" || h[0].RequestID != "r1" || h[0].Trigger != "http" {
		t.Errorf("history[0]: got %+v, want who asked", h[0])
	}
}

func TestManagerActivateRefuses(t *testing.T) {
	ctx := context.Background()
	mg := mustManager(t, ManagerOptions{})
	corrupt := mustSaveVersion(t, mg.opts.Root, "v3", 2)
	if err := os.WriteFile(filepath.Join(corrupt, "logreg.json"), []byte(`{"kind":"logreg","mean":[1,`), 0o644); err != nil {
		t.Fatal(err)
	}
	offCanary := mustSaveVersion(t, mg.opts.Root, "v4", 3)
	editManifest(t, offCanary, func(m map[string]any) {
		c := m["canaries"].([]any)[0].(map[string]any)
		c["probability"] = 0.999
	})
	tests := []struct {
		version  string
		wantCode fraud.Code // "" for a plain error: the bundle failed its checks
		wantText string
	}{
		{"nope", fraud.CodeNotFound, "no model version nope"},
		{"../v1", fraud.CodeValidation, "invalid version"},
		{"v3", "", "member logreg.json"},
		{"v4", "", "canary 0"},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			_, err := mg.Activate(ctx, tc.version, Actor{})
			if err == nil || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wantText)
			}
			var fe *fraud.Error
			if isFraud := asFraudError(err, &fe); (tc.wantCode == "") == isFraud || (isFraud && fe.Code != tc.wantCode) {
				t.Errorf("got %#v, want code %q", err, tc.wantCode)
			}
			if live(mg) != "v2" {
				t.Errorf("live: got %s after a refused switch, want v2", live(mg))
			}
		})
	}
	// A corrupt newest bundle fails a reload too, and v2 stays.
	if _, err := mg.Reload(ctx, Actor{}); err == nil || live(mg) != "v2" {
		t.Errorf("reload onto a corrupt newest bundle: got %v, live %s; want an error and v2", err, live(mg))
	}
	if h, _ := mg.History(ctx, 10); len(h) != 1 {
		t.Errorf("history: got %+v, want the start-up alone", h)
	}
}

func asFraudError(err error, fe **fraud.Error) bool {
	e, ok := err.(*fraud.Error)
	if ok {
		*fe = e
	}
	return ok
}

// TestManagerCaching checks ENABLE_MODEL_CACHING: with it, a version once loaded is kept and
// switched back to without loading (the same *Model); without it, only the live one and the
// held ones stay.
func TestManagerCaching(t *testing.T) {
	ctx := context.Background()
	for _, cache := range []bool{true, false} {
		mg := mustManager(t, ManagerOptions{Cache: cache})
		first := mg.Registry().Current()
		if _, err := mg.Activate(ctx, "v1", Actor{}); err != nil {
			t.Fatal(err)
		}
		loaded := map[string]bool{}
		for _, v := range mg.Versions() {
			loaded[v.Version] = v.Loaded
		}
		if loaded["v2"] != cache || !loaded["v1"] {
			t.Errorf("cache %v: loaded %v, want v1 and, only with caching, v2", cache, loaded)
		}
		again, err := mg.Activate(ctx, "v2", Actor{})
		if err != nil {
			t.Fatal(err)
		}
		if (again == first) != cache {
			t.Errorf("cache %v: switching back reused the loaded model: %v", cache, again == first)
		}
	}
	mg := mustManager(t, ManagerOptions{Cache: false})
	if _, err := mg.Hold("v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := mg.Reload(ctx, Actor{}); err != nil {
		t.Fatal(err)
	}
	for _, v := range mg.Versions() {
		if !v.Loaded {
			t.Errorf("%s: not loaded, want v2 live and v1 held", v.Version)
		}
	}
}

// TestManagerRestartKeepsActiveVersion starts a second Manager on the first one's history:
// it takes the stored version, unless a version is pinned, which it records.
func TestManagerRestartKeepsActiveVersion(t *testing.T) {
	ctx := context.Background()
	h := &memHistory{}
	mg := mustManager(t, ManagerOptions{History: h})
	if _, err := mg.Activate(ctx, "v1", Actor{}); err != nil {
		t.Fatal(err)
	}
	if got := live(mustManager(t, ManagerOptions{Root: mg.opts.Root, History: h})); got != "v1" {
		t.Errorf("restart: got %s, want the stored v1", got)
	}
	if got := live(mustManager(t, ManagerOptions{Root: mg.opts.Root, History: h, Pinned: "v2"})); got != "v2" {
		t.Errorf("restart pinned: got %s, want v2", got)
	}
	last, _, _ := h.LastActivation(ctx)
	if last.Version != "v2" || last.Previous != "v1" || last.Kind != fraud.ActivationStartup {
		t.Errorf("last activation: got %+v, want a start-up switch from v1 to v2", last)
	}
	// The stored version gone, the newest is taken.
	if err := os.RemoveAll(filepath.Join(mg.opts.Root, "v2")); err != nil {
		t.Fatal(err)
	}
	if got := live(mustManager(t, ManagerOptions{Root: mg.opts.Root, History: h})); got != "v1" {
		t.Errorf("restart with the stored version gone: got %s, want v1", got)
	}
}

func TestManagerVersions(t *testing.T) {
	mg := mustManager(t, ManagerOptions{})
	if err := os.MkdirAll(filepath.Join(mg.opts.Root, "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mg.opts.Root, "broken", ManifestFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	mg.Registry().Current().CountRequest(3)
	vs := mg.Versions()
	if len(vs) != 3 || vs[0].Version != "v2" || vs[1].Version != "v1" {
		t.Fatalf("got %+v, want v2, v1 and broken", vs)
	}
	v2, v1, broken := vs[0], vs[1], vs[2]
	if !v2.Active || !v2.Loaded || v2.Requests != 3 || v2.LoadedAt == nil || v2.SHA256 != mg.Registry().Current().SHA256 || v2.Kind != KindLogreg {
		t.Errorf("v2: got %+v, want active, loaded, 3 requests, its digest", v2)
	}
	want, err := BundleDigest(filepath.Join(mg.opts.Root, "v1"))
	if err != nil {
		t.Fatal(err)
	}
	if v1.Active || v1.Loaded || v1.LoadedAt != nil || v1.SHA256 != want || !v1.CreatedAt.Equal(testCreatedAt) {
		t.Errorf("v1: got %+v, want not active, not loaded, sha256 %s", v1, want)
	}
	if broken.Error == "" || broken.Version != "broken" {
		t.Errorf("broken: got %+v, want its manifest error", broken)
	}
}

// TestLoadAcceptsBundleWithoutCanaries: a bundle written before canaries loads, saying so.
func TestLoadAcceptsBundleWithoutCanaries(t *testing.T) {
	dir := mustSave(t, t.TempDir(), testBundle(t))
	editManifest(t, dir, func(m map[string]any) { delete(m, "canaries") })
	m := mustLoad(t, dir)
	if len(m.Warnings) != 1 || m.Warnings[0] != NoCanariesWarning {
		t.Errorf("warnings: got %q, want the no-canaries warning", m.Warnings)
	}
	if m := mustLoad(t, mustSave(t, t.TempDir(), testBundle(t))); len(m.Warnings) != 0 {
		t.Errorf("a bundle with canaries: got warnings %q, want none", m.Warnings)
	}
}

func TestWatchFiresOnceAChangeSettles(t *testing.T) {
	root := t.TempDir()
	mustSaveVersion(t, root, "v1", 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fired := make(chan struct{}, 10)
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, root, 10*time.Millisecond, func(context.Context) { fired <- struct{}{} })
	}()
	time.Sleep(50 * time.Millisecond)
	if len(fired) != 0 {
		t.Fatalf("fired %d times with nothing changed", len(fired))
	}
	mustSaveVersion(t, root, "v2", 1)
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("a new bundle was not noticed")
	}
	time.Sleep(50 * time.Millisecond)
	if len(fired) != 0 {
		t.Errorf("fired %d more times for one change", len(fired))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch: %v", err)
	}
}

func TestFingerprintSeesBundleChanges(t *testing.T) {
	root := t.TempDir()
	dir := mustSaveVersion(t, root, "v1", 0)
	a := Fingerprint(root)
	if err := os.MkdirAll(filepath.Join(root, ".v2.tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if Fingerprint(root) != a {
		t.Error("a hidden temporary directory changed the fingerprint")
	}
	if err := os.WriteFile(filepath.Join(dir, "logreg.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if Fingerprint(root) == a {
		t.Error("a rewritten member file did not change the fingerprint")
	}
}

func TestManagerRefusesMisnamedBundle(t *testing.T) {
	mg := mustManager(t, ManagerOptions{})
	dir := mustSaveVersion(t, mg.opts.Root, "v3", 2)
	if err := os.Rename(dir, filepath.Join(mg.opts.Root, "v4")); err != nil {
		t.Fatal(err)
	}
	_, err := mg.Activate(context.Background(), "v4", Actor{})
	if err == nil || !strings.Contains(err.Error(), `the manifest says version "v3"`) || live(mg) != "v2" {
		t.Errorf("got %v, live %s; want a refusal naming both versions, v2 live", err, live(mg))
	}
}

// TestManagerOneChangeAtATime switches from many goroutines at once: the history must read as
// one chain, each switch starting from the version the one before made live.
func TestManagerOneChangeAtATime(t *testing.T) {
	ctx := context.Background()
	// A slow store widens the window in which two unserialised switches would both start
	// from the same version.
	mg := mustManager(t, ManagerOptions{History: slowHistory{&memHistory{}}})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				var err error
				switch (g + i) % 3 {
				case 0:
					_, err = mg.Activate(ctx, "v1", Actor{})
				case 1:
					_, err = mg.Reload(ctx, Actor{})
				default:
					_, err = mg.Rollback(ctx, Actor{})
				}
				if err != nil && fraud.ErrorCode(err) != fraud.CodeConflict {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	h, err := mg.History(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) < 2 {
		t.Fatalf("history: %d entries, want switches", len(h))
	}
	for i := 0; i+1 < len(h); i++ {
		if h[i].Previous != h[i+1].Version {
			t.Fatalf("history[%d] %+v does not follow history[%d] %+v", i, h[i], i+1, h[i+1])
		}
	}
	if live(mg) != h[0].Version {
		t.Errorf("live %s, history says %s", live(mg), h[0].Version)
	}
}

// slowHistory is a memHistory whose writes take a millisecond.
type slowHistory struct{ *memHistory }

func (h slowHistory) RecordActivation(ctx context.Context, a fraud.ModelActivation) error {
	time.Sleep(time.Millisecond)
	return h.memHistory.RecordActivation(ctx, a)
}

// Two servers sharing one history: a switch on one is followed by the other, which records
// nothing of its own; Model gives a version without making it live.
func TestManagerFollowsSharedHistory(t *testing.T) {
	ctx := context.Background()
	h := &memHistory{}
	a := mustManager(t, ManagerOptions{History: h})
	b := mustManager(t, ManagerOptions{Root: a.opts.Root, History: h})
	if m, err := b.Follow(ctx); m != nil || err != nil {
		t.Fatalf("follow with nothing to follow: got %v, %v; want nil, nil", m, err)
	}
	if _, err := a.Activate(ctx, "v1", Actor{Trigger: "http"}); err != nil {
		t.Fatal(err)
	}
	before, _ := h.ListActivations(ctx, 0)
	m, err := b.Follow(ctx)
	if err != nil || m == nil || m.Version() != "v1" || live(b) != "v1" {
		t.Fatalf("follow: got %v, %v (live %s); want v1 made live", m, err, live(b))
	}
	if after, _ := h.ListActivations(ctx, 0); len(after) != len(before) {
		t.Errorf("follow recorded an activation: %d before, %d after", len(before), len(after))
	}
	if m, err := b.Follow(ctx); m != nil || err != nil {
		t.Errorf("follow again: got %v, %v; want nothing to do", m, err)
	}
	if m, err := b.Model("v2"); err != nil || m.Version() != "v2" || live(b) != "v1" {
		t.Errorf("Model(v2): got %v, %v with %s live; want v2, v1 still live", m, err, live(b))
	}
	if _, err := b.Model("v9"); err == nil {
		t.Errorf("Model of a missing version: got nil error")
	}
	// A version this server does not have stays an error, and its live model stays.
	if err := h.RecordActivation(ctx, fraud.ModelActivation{Version: "v9", Kind: fraud.ActivationActivate}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Follow(ctx); err == nil || live(b) != "v1" {
		t.Errorf("follow to a missing version: got %v with %s live; want an error, v1 live", err, live(b))
	}
}
