package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

// The model lifecycle.
//
// MODEL_PATH holds several bundles, one directory per version. A Manager makes one of them live
// in a Registry and switches it on request: Reload (the newest, or the pinned MODEL_VERSION),
// Activate (a named version) and Rollback (the version live before the last switch). Every
// switch follows the same steps, one at a time: the new model is loaded and checked off to the
// side (format, feature list, canaries: see Load), the switch is stored in the activation
// history, and only then is the Registry's pointer swapped. A request that already read the old
// pointer finishes on the old model; a failure at any step leaves the old model live.

// Actor says who asked for a change of the live model; it is kept in the activation history.
type Actor struct {
	// Trigger is what asked: "http", "SIGHUP", "watch" or "startup".
	Trigger string
	// KeyName and RequestID identify an HTTP request.
	KeyName   string
	RequestID string
}

// ManagerOptions are the settings of a Manager.
type ManagerOptions struct {
	// Root is MODEL_PATH, the directory of versioned bundles.
	Root string
	// Pinned is MODEL_VERSION: the version Start and Reload make live; empty means the one
	// stored as active at start-up, and the newest by created_at for Reload.
	Pinned string
	// Cache (ENABLE_MODEL_CACHING) keeps every version once loaded in memory, so switching
	// back to it needs no load; without it, only the live model and the held ones stay.
	Cache bool
	// History stores the activations; nil keeps them in memory only.
	History fraud.ModelHistory
}

// Manager switches the live model of a Registry between the bundles under a root. It is safe
// for concurrent use; changes run one at a time.
type Manager struct {
	reg     *Registry
	opts    ManagerOptions
	history fraud.ModelHistory

	change sync.Mutex // held for the whole of a change: one reload at a time

	mu      sync.Mutex // guards what follows, never held while loading
	loaded  map[string]*Model
	held    map[string]bool
	digests map[string]digestEntry
}

// digestEntry is a bundle's digest and the manifest file state it was computed for.
type digestEntry struct {
	sha256  string
	size    int64
	modTime time.Time
}

// NewManager returns a Manager of reg over the bundles under o.Root.
func NewManager(reg *Registry, o ManagerOptions) *Manager {
	h := o.History
	if h == nil {
		h = &memHistory{}
	}
	return &Manager{reg: reg, opts: o, history: h, loaded: map[string]*Model{}, held: map[string]bool{}, digests: map[string]digestEntry{}}
}

// Registry returns the registry whose live model the Manager switches.
func (mg *Manager) Registry() *Registry { return mg.reg }

// Start makes the first model live: the pinned version, else the version stored as active
// (when its bundle is still there), else the newest. It records the activation when the
// version differs from the one stored. An error leaves no model live.
func (mg *Manager) Start(ctx context.Context) (*Model, error) {
	mg.change.Lock()
	defer mg.change.Unlock()
	last, hasLast, err := mg.history.LastActivation(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the active model version: %w", err)
	}
	version := mg.opts.Pinned
	if version == "" && hasLast && bundleExists(mg.opts.Root, last.Version) {
		version = last.Version
	}
	m, err := loadChecked(mg.opts.Root, version)
	if err != nil {
		return nil, err
	}
	if !hasLast || last.Version != m.Version() {
		a := fraud.ModelActivation{Version: m.Version(), Previous: last.Version, Kind: fraud.ActivationStartup, Trigger: "startup"}
		if err := mg.history.RecordActivation(ctx, a); err != nil {
			return nil, fmt.Errorf("store the active model version: %w", err)
		}
	}
	mg.swap(m)
	return m, nil
}

// Reload re-reads the root and makes the newest bundle (or the pinned version) live, loading
// it afresh even when that version is in memory.
func (mg *Manager) Reload(ctx context.Context, by Actor) (*Model, error) {
	mg.change.Lock()
	defer mg.change.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := loadChecked(mg.opts.Root, mg.opts.Pinned)
	if err != nil {
		return nil, err
	}
	return m, mg.commit(ctx, m, fraud.ActivationReload, by)
}

// Activate makes version live. A version that is not a valid name is a VALIDATION_ERROR, one
// with no bundle under the root a NOT_FOUND *fraud.Error; a bundle that fails its checks is a
// plain error, and the live model stays.
func (mg *Manager) Activate(ctx context.Context, version string, by Actor) (*Model, error) {
	if err := CheckVersion(version); err != nil {
		return nil, &fraud.Error{Code: fraud.CodeValidation, Message: "invalid version: " + err.Error(),
			Details: []fraud.Detail{fraud.FieldError("version", "must be 1 to 128 letters, digits, '_', '-' or '.', not starting with '.' or '-'", version)}}
	}
	mg.change.Lock()
	defer mg.change.Unlock()
	if !bundleExists(mg.opts.Root, version) {
		return nil, &fraud.Error{Code: fraud.CodeNotFound, Message: "no model version " + version + " under MODEL_PATH",
			Details: []fraud.Detail{{"version": version, "available": mg.versionNames()}}}
	}
	m, err := mg.get(version)
	if err != nil {
		return nil, err
	}
	return m, mg.commit(ctx, m, fraud.ActivationActivate, by)
}

// Rollback makes live the version that was live before the last switch, as the activation
// history says. With no earlier version it is a CONFLICT *fraud.Error. A second rollback
// returns to where the first started.
func (mg *Manager) Rollback(ctx context.Context, by Actor) (*Model, error) {
	mg.change.Lock()
	defer mg.change.Unlock()
	last, ok, err := mg.history.LastActivation(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the activation history: %w", err)
	}
	if !ok || last.Previous == "" {
		return nil, &fraud.Error{Code: fraud.CodeConflict, Message: "there is no earlier model version to roll back to"}
	}
	if cur := mg.reg.Current(); cur != nil && cur.Version() != last.Version {
		// The history's last switch is not what is live (a store shared by another server):
		// going back to its Previous would not be a rollback of this server's switch.
		return nil, &fraud.Error{Code: fraud.CodeConflict, Message: fmt.Sprintf("the last stored switch made %s live, but %s is live here: activate the version wanted instead", last.Version, cur.Version())}
	}
	if !bundleExists(mg.opts.Root, last.Previous) {
		return nil, fmt.Errorf("version %s, live before the last switch, is no longer under MODEL_PATH", last.Previous)
	}
	m, err := mg.get(last.Previous)
	if err != nil {
		return nil, err
	}
	return m, mg.commit(ctx, m, fraud.ActivationRollback, by)
}

// Follow makes live the version that the activation history names as active, when another
// server sharing the history (PostgreSQL) switched to it, and records nothing: the switch is
// already stored. It returns the model made live, or nil when the live version is already the
// active one. A version whose bundle is not under this server's root is an error, and the live
// model stays.
func (mg *Manager) Follow(ctx context.Context) (*Model, error) {
	mg.change.Lock()
	defer mg.change.Unlock()
	// Read under the change lock: a switch this server makes is stored before the lock is
	// released, so what is read here is never older than the live model.
	last, ok, err := mg.history.LastActivation(ctx)
	if err != nil || !ok {
		return nil, err
	}
	if cur := mg.reg.Current(); cur != nil && cur.Version() == last.Version {
		return nil, nil
	}
	if !bundleExists(mg.opts.Root, last.Version) {
		return nil, fmt.Errorf("version %s, made active by another server, is not under MODEL_PATH here", last.Version)
	}
	m, err := mg.get(last.Version)
	if err != nil {
		return nil, err
	}
	mg.swap(m)
	return m, nil
}

// Model returns version, from memory or loaded, without making it live or holding it: the
// model a batch job started with, to score the job's chunks that this server works.
func (mg *Manager) Model(version string) (*Model, error) {
	if err := CheckVersion(version); err != nil {
		return nil, err
	}
	if cur := mg.reg.Current(); cur != nil && cur.Version() == version {
		return cur, nil
	}
	if !bundleExists(mg.opts.Root, version) {
		return nil, fmt.Errorf("model version %s is not under MODEL_PATH", version)
	}
	return mg.get(version)
}

// Hold loads version (or finds it in memory) and keeps it there whatever Cache says: the
// shadow and challenger models. It does not make it live.
func (mg *Manager) Hold(version string) (*Model, error) {
	if err := CheckVersion(version); err != nil {
		return nil, err
	}
	mg.change.Lock()
	defer mg.change.Unlock()
	m, err := mg.get(version)
	if err != nil {
		return nil, err
	}
	mg.mu.Lock()
	mg.loaded[version], mg.held[version] = m, true
	mg.mu.Unlock()
	return m, nil
}

// History returns up to limit activations, newest first.
func (mg *Manager) History(ctx context.Context, limit int) ([]fraud.ModelActivation, error) {
	return mg.history.ListActivations(ctx, limit)
}

// get returns version from memory, its canaries re-scored, or loads it.
func (mg *Manager) get(version string) (*Model, error) {
	mg.mu.Lock()
	m := mg.loaded[version]
	mg.mu.Unlock()
	if m != nil {
		if err := m.checkCanaries(); err != nil {
			return nil, fmt.Errorf("model %s in memory: %w", version, err)
		}
		return m, nil
	}
	return loadChecked(mg.opts.Root, version)
}

// loadChecked is LoadLatest, refusing a bundle whose manifest names another version than its
// directory: activating one name must not put another live.
func loadChecked(root, version string) (*Model, error) {
	m, err := LoadLatest(root, version)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Base(m.Dir); dir != m.Version() {
		return nil, fmt.Errorf("load model %s: the manifest says version %q, the directory is %q", m.Dir, m.Version(), dir)
	}
	return m, nil
}

// commit stores the switch to m (when the version changes) and makes m live.
func (mg *Manager) commit(ctx context.Context, m *Model, kind string, by Actor) error {
	prev := ""
	if cur := mg.reg.Current(); cur != nil {
		prev = cur.Version()
	}
	if prev != m.Version() {
		a := fraud.ModelActivation{Version: m.Version(), Previous: prev, Kind: kind, Trigger: by.Trigger, KeyName: by.KeyName, RequestID: by.RequestID}
		if err := mg.history.RecordActivation(ctx, a); err != nil {
			return fmt.Errorf("store the switch to %s: %w", m.Version(), err)
		}
	}
	mg.swap(m)
	return nil
}

// swap makes m live and drops from memory what Cache does not keep.
func (mg *Manager) swap(m *Model) {
	mg.reg.Store(m)
	mg.mu.Lock()
	defer mg.mu.Unlock()
	mg.loaded[m.Version()] = m
	if !mg.opts.Cache {
		for v := range mg.loaded {
			if v != m.Version() && !mg.held[v] {
				delete(mg.loaded, v)
			}
		}
	}
}

// Versions describes every bundle under the root, newest first: from its manifest, and from
// memory when it is loaded. A bundle whose manifest cannot be read is listed with its error.
func (mg *Manager) Versions() []wire.ModelVersion {
	infos := ScanBundles(mg.opts.Root)
	cur := mg.reg.Current()
	out := make([]wire.ModelVersion, 0, len(infos))
	for _, b := range infos {
		v := wire.ModelVersion{Version: b.Version, Name: b.Name, Kind: b.Kind, CreatedAt: b.CreatedAt, Metrics: b.Metrics, Error: b.Err}
		mg.mu.Lock()
		m := mg.loaded[b.Version]
		mg.mu.Unlock()
		if cur != nil && cur.Version() == b.Version {
			m = cur
			v.Active = true
		}
		if m != nil {
			v.Loaded, v.SHA256, v.Requests, v.Warnings = true, m.SHA256, m.Requests(), m.Warnings
			t := m.LoadedAt
			v.LoadedAt = &t
		} else if b.Err == "" {
			v.SHA256 = mg.digest(b)
		}
		out = append(out, v)
	}
	return out
}

// digest returns b's BundleDigest, computed again only when its manifest changed.
func (mg *Manager) digest(b BundleInfo) string {
	st, err := os.Stat(filepath.Join(b.Dir, ManifestFile))
	if err != nil {
		return ""
	}
	mg.mu.Lock()
	e, ok := mg.digests[b.Version]
	mg.mu.Unlock()
	if ok && e.size == st.Size() && e.modTime.Equal(st.ModTime()) {
		return e.sha256
	}
	sum, err := BundleDigest(b.Dir)
	if err != nil {
		return ""
	}
	mg.mu.Lock()
	mg.digests[b.Version] = digestEntry{sha256: sum, size: st.Size(), modTime: st.ModTime()}
	mg.mu.Unlock()
	return sum
}

func (mg *Manager) versionNames() []string {
	var names []string
	for _, b := range ScanBundles(mg.opts.Root) {
		names = append(names, b.Version)
	}
	return names
}

// checkCanaries re-scores the model's canaries against its manifest.
func (m *Model) checkCanaries() error {
	for i, c := range m.Manifest.Canaries {
		if got := m.Probability(&c.Features); !canaryMatches(got, c.Probability) {
			return fmt.Errorf("canary %d: model gives probability %.17g, manifest says %.17g", i, got, c.Probability)
		}
	}
	return nil
}

func bundleExists(root, version string) bool {
	if CheckVersion(version) != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(root, version, ManifestFile))
	return err == nil
}

// BundleInfo describes a bundle from its manifest alone.
type BundleInfo struct {
	Version   string
	Dir       string
	Name      string
	Kind      string
	CreatedAt time.Time
	Metrics   Evaluation
	// Err says why the manifest could not be read; the other fields but Version and Dir are
	// then empty.
	Err string
}

// ScanBundles lists the bundles under root, newest first by created_at (ties: the greater
// directory name first): the subdirectories holding a manifest.json, hidden ones (Save's
// temporary directories) left out. It reads only the manifests, without checking them.
func ScanBundles(root string) []BundleInfo {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []BundleInfo
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		b := BundleInfo{Version: e.Name(), Dir: dir}
		var head struct {
			Name      string     `json:"name"`
			Kind      string     `json:"kind"`
			CreatedAt time.Time  `json:"created_at"`
			Metrics   Evaluation `json:"metrics"`
		}
		if err == nil {
			err = json.Unmarshal(data, &head)
		}
		if err != nil {
			b.Err = ManifestFile + ": " + err.Error()
		} else {
			b.Name, b.Kind, b.CreatedAt, b.Metrics = head.Name, head.Kind, head.CreatedAt, head.Metrics
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b BundleInfo) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.Version, a.Version)
	})
	return out
}

// memHistory is the activation history of a Manager without a store.
type memHistory struct {
	mu  sync.Mutex
	all []fraud.ModelActivation
}

func (h *memHistory) RecordActivation(_ context.Context, a fraud.ModelActivation) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if a.Time.IsZero() {
		a.Time = time.Now()
	}
	a.ID = int64(len(h.all) + 1)
	h.all = append(h.all, a)
	return nil
}

func (h *memHistory) LastActivation(context.Context) (fraud.ModelActivation, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.all) == 0 {
		return fraud.ModelActivation{}, false, nil
	}
	return h.all[len(h.all)-1], true, nil
}

func (h *memHistory) ListActivations(_ context.Context, limit int) ([]fraud.ModelActivation, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if limit <= 0 {
		limit = 100
	}
	out := make([]fraud.ModelActivation, 0, min(limit, len(h.all)))
	for i := len(h.all) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, h.all[i])
	}
	return out, nil
}
