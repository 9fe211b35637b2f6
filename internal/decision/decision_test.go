package decision

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
)

// fakeStore is a fraud.DecisionLog of function fields; unset ones panic.
type fakeStore struct {
	fraud.DecisionLog
	record func(ctx context.Context, ds []fraud.Decision) error
	purge  func(ctx context.Context, t time.Time) (int64, error)
}

func (f *fakeStore) RecordDecisions(ctx context.Context, ds []fraud.Decision) error {
	return f.record(ctx, ds)
}

func (f *fakeStore) PurgeDecisionsBefore(ctx context.Context, t time.Time) (int64, error) {
	return f.purge(ctx, t)
}

// memStore keeps what it is given.
type memStore struct {
	mu      sync.Mutex
	batches [][]fraud.Decision
}

func (m *memStore) store() *fakeStore {
	return &fakeStore{record: func(_ context.Context, ds []fraud.Decision) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.batches = append(m.batches, append([]fraud.Decision(nil), ds...))
		return nil
	}}
}

func (m *memStore) all() []fraud.Decision {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []fraud.Decision
	for _, b := range m.batches {
		out = append(out, b...)
	}
	return out
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// run starts l's writer and returns a function that stops it and waits for it.
func run(t *testing.T, l *Log) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func dec(id string, p float64) fraud.Decision {
	d := fraud.Decision{TransactionID: id, Probability: p, Threshold: 0.5, ModelVersion: "v1", Time: time.Unix(1, 0)}
	d.IsFraud = p >= 0.5
	d.Risk = fraud.RiskFor(p, 0.5)
	for j := range d.Features {
		d.Features[j] = float64(j)
	}
	return d
}

// explainer gives contribution j = weight[j] for every transaction.
type explainer struct{ weight [fraud.NumFeatures]float64 }

func (e *explainer) Explain(_ *[fraud.NumFeatures]float64, dst *model.Explanation) error {
	dst.Contributions = e.weight
	return nil
}

type noCovers struct{}

func (noCovers) Explain(*[fraud.NumFeatures]float64, *model.Explanation) error {
	return model.ErrNoCovers
}

func TestRecordStoresInBatchesWithReasons(t *testing.T) {
	mem := &memStore{}
	l := New(mem.store(), discard(), Options{BatchSize: 4, FlushInterval: time.Hour})
	stop := run(t, l)
	ex := &explainer{}
	ex.weight[3] = 0.5   // V3
	ex.weight[14] = -0.9 // V14
	ex.weight[29] = 0.2  // Amount
	ex.weight[1] = -0.2  // V1: ties with Amount, and comes first in feature order
	for i := range 9 {
		p := 0.1
		if i%2 == 1 {
			p = 0.9
		}
		l.Record(dec(string(rune('a'+i)), p), ex)
	}
	l.Record(dec("flagged-unexplained", 0.9), noCovers{})
	l.Record(dec("flagged-no-model", 0.9), nil)
	// A full batch wakes the writer at once: at least two batches of 4 are stored without
	// waiting for the hour.
	waitFor(t, func() bool { return len(mem.all()) >= 8 })
	stop()
	got := mem.all()
	if len(got) != 11 || l.Recorded() != 11 || l.Dropped() != 0 || l.Failed() != 0 {
		t.Fatalf("stored %d, recorded %d, dropped %d, failed %d; want 11, 11, 0, 0", len(got), l.Recorded(), l.Dropped(), l.Failed())
	}
	for i, b := range mem.batches {
		if len(b) > 4 {
			t.Errorf("batch %d holds %d decisions, want at most BatchSize 4", i, len(b))
		}
	}
	for i, d := range got {
		switch {
		case d.TransactionID == "flagged-unexplained" || d.TransactionID == "flagged-no-model" || !d.IsFraud:
			if d.Reasons != nil {
				t.Errorf("%s: got reasons %v, want none", d.TransactionID, d.Reasons)
			}
		default:
			want := []fraud.Reason{{Feature: "V14", Contribution: -0.9}, {Feature: "V3", Contribution: 0.5}, {Feature: "V1", Contribution: -0.2}}
			if len(d.Reasons) != 3 || d.Reasons[0] != want[0] || d.Reasons[1] != want[1] || d.Reasons[2] != want[2] {
				t.Errorf("decision %d: got reasons %v, want %v", i, d.Reasons, want)
			}
		}
	}
	// After the stop nothing is queued: it is counted as dropped.
	l.Record(dec("late", 0.1), nil)
	if l.Dropped() != 1 {
		t.Errorf("dropped after stop: got %d, want 1", l.Dropped())
	}
}

func TestFlushInterval(t *testing.T) {
	mem := &memStore{}
	l := New(mem.store(), discard(), Options{FlushInterval: 20 * time.Millisecond})
	run(t, l)
	start := time.Now()
	l.Record(dec("one", 0.1), nil)
	waitFor(t, func() bool { return len(mem.all()) == 1 })
	if d := time.Since(start); d > time.Second {
		t.Errorf("one decision took %v to be stored, want well under a second", d)
	}
}

func TestRecorderStoresInsteadOfTheStore(t *testing.T) {
	mem := &memStore{}
	store := &fakeStore{} // its RecordDecisions is unset: a call panics
	l := New(store, discard(), Options{FlushInterval: 20 * time.Millisecond, Recorder: mem.store()})
	run(t, l)
	l.Record(dec("one", 0.1), nil)
	waitFor(t, func() bool { return len(mem.all()) == 1 })
	if l.Recorded() != 1 {
		t.Errorf("recorded: got %d, want 1", l.Recorded())
	}
}

// TestQueueFullDropsWithoutWaiting holds the store (a fault: a stalled disk) so the queue fills;
// Record must go on returning at once, and count what it could not queue.
func TestQueueFullDropsWithoutWaiting(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	total := 0
	store := &fakeStore{record: func(_ context.Context, ds []fraud.Decision) error {
		<-release
		mu.Lock()
		total += len(ds)
		mu.Unlock()
		return nil
	}}
	l := New(store, discard(), Options{QueueSize: 8, BatchSize: 2, FlushInterval: time.Hour})
	stop := run(t, l)
	// The writer takes 2 and blocks in the store; 8 more fill the queue; the rest are dropped.
	const n = 1000
	start := time.Now()
	for i := range n {
		l.Record(dec("x", float64(i%10)/10), nil)
		if i == 1 {
			waitFor(t, func() bool { return len(l.queue) == 0 })
		}
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("%d records with the store stalled took %v, want them not to wait", n, d)
	}
	if got, want := l.Dropped(), int64(n-2-8); got != want {
		t.Errorf("dropped: got %d, want %d", got, want)
	}
	close(release)
	stop()
	if l.Recorded() != 10 || total != 10 {
		t.Errorf("recorded: got %d (store saw %d), want 10", l.Recorded(), total)
	}
}

func TestStoreFailureCounted(t *testing.T) {
	store := &fakeStore{record: func(context.Context, []fraud.Decision) error { return errors.New("disk full") }}
	l := New(store, discard(), Options{})
	stop := run(t, l)
	l.Record(dec("a", 0.1), nil)
	l.Record(dec("b", 0.1), nil)
	stop()
	if l.Failed() != 2 || l.Recorded() != 0 {
		t.Errorf("failed %d, recorded %d; want 2, 0", l.Failed(), l.Recorded())
	}
}

func TestPurge(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var cutoffs []time.Time
	fail := false
	store := &fakeStore{purge: func(_ context.Context, t time.Time) (int64, error) {
		cutoffs = append(cutoffs, t)
		if fail {
			return 1, errors.New("busy")
		}
		return 7, nil
	}}
	l := New(store, discard(), Options{Now: func() time.Time { return now }})
	n, err := l.Purge(context.Background(), 30*24*time.Hour)
	if err != nil || n != 7 || l.Purged() != 7 {
		t.Errorf("purge: got %d, %v (purged %d); want 7, nil, 7", n, err, l.Purged())
	}
	if want := now.Add(-30 * 24 * time.Hour); len(cutoffs) != 1 || !cutoffs[0].Equal(want) {
		t.Errorf("cutoff: got %v, want %v", cutoffs, want)
	}
	fail = true
	if _, err := l.Purge(context.Background(), time.Hour); err == nil || l.PurgeFailures() != 1 || l.Purged() != 8 {
		t.Errorf("failed purge: got %v, failures %d, purged %d; want an error, 1, 8", err, l.PurgeFailures(), l.Purged())
	}
}

func TestRetainZeroKeepsEverything(t *testing.T) {
	store := &fakeStore{purge: func(context.Context, time.Time) (int64, error) {
		t.Error("purged with retention 0")
		return 0, nil
	}}
	l := New(store, discard(), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.Retain(ctx, 0, time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

// TestPerformanceHandChecked is a small set worked out by hand.
func TestPerformanceHandChecked(t *testing.T) {
	// v1: probabilities and labels (F fraud, L legit), is_fraud at threshold 0.5:
	//   0.9 F flagged, 0.8 L flagged, 0.6 F flagged, 0.4 F, 0.4 L, 0.1 L
	// TP 2, FP 1, FN 1: precision 2/3, recall 2/3, f1 2/3.
	// ROC AUC: pairs (F, L) = 3 × 3 = 9; 0.9 beats all 3 L; 0.6 beats 0.4 and 0.1 (2); 0.4 F
	// beats 0.1 and ties 0.4 (1.5): (3 + 2 + 1.5) / 9 = 6.5/9.
	// AP, from the top: 0.9 → P 1, R 1/3; 0.8 → R unchanged; 0.6 → P 2/3, R 2/3;
	// 0.4 (F and L together) → P 3/5, R 1: 1/3·1 + 1/3·2/3 + 1/3·3/5 = (15 + 10 + 9)/45 = 34/45.
	ls := func(p float64, f bool) fraud.LabelledScore {
		return fraud.LabelledScore{ModelVersion: "v1", Probability: p, IsFraud: p >= 0.5, Fraud: f}
	}
	scores := []fraud.LabelledScore{ls(0.4, false), ls(0.9, true), ls(0.8, false), ls(0.6, true), ls(0.4, true), ls(0.1, false),
		{ModelVersion: "v2", Probability: 0.2, Fraud: false}}
	got := Performance(map[string]int{"v1": 12, "v2": 5, "v3": 4}, scores)
	if len(got) != 3 || got[0].ModelVersion != "v1" || got[1].ModelVersion != "v2" || got[2].ModelVersion != "v3" {
		t.Fatalf("versions: got %+v, want v1, v2, v3", got)
	}
	v1 := got[0]
	if v1.Decisions != 12 || v1.Labelled != 6 || v1.Frauds != 3 || v1.LabelledShare != 0.5 {
		t.Errorf("v1 counts: got %+v", v1)
	}
	for _, c := range []struct {
		name string
		got  *float64
		want float64
	}{
		{"precision", v1.Precision, 2.0 / 3}, {"recall", v1.Recall, 2.0 / 3}, {"f1", v1.F1, 2.0 / 3},
		{"roc_auc", v1.ROCAUC, 6.5 / 9}, {"average_precision", v1.AveragePrecision, 34.0 / 45},
	} {
		if c.got == nil || math.Abs(*c.got-c.want) > 1e-12 {
			t.Errorf("v1 %s: got %v, want %v", c.name, deref(c.got), c.want)
		}
	}
	// v2: one legit label, nothing flagged: no figure can be computed.
	v2 := got[1]
	if v2.Labelled != 1 || v2.Frauds != 0 || v2.Precision != nil || v2.Recall != nil || v2.F1 != nil || v2.ROCAUC != nil || v2.AveragePrecision != nil {
		t.Errorf("v2: got %+v, want only counts", v2)
	}
	if v3 := got[2]; v3.Labelled != 0 || v3.LabelledShare != 0 || v3.Decisions != 4 {
		t.Errorf("v3: got %+v, want 4 decisions and no label", v3)
	}
}

// TestPerformanceAgainstDirect compares with the definitions computed the slow way: every
// (fraud, legit) pair for ROC AUC, every distinct threshold for average precision.
func TestPerformanceAgainstDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		n := 1 + rng.IntN(200)
		var scores []fraud.LabelledScore
		for range n {
			p := float64(rng.IntN(20)) / 20 // many ties
			scores = append(scores, fraud.LabelledScore{ModelVersion: "v", Probability: p, IsFraud: p >= 0.5, Fraud: rng.Float64() < p})
		}
		got := Performance(map[string]int{"v": n}, scores)[0]
		auc, ap, okAUC, okAP := direct(scores)
		if okAUC != (got.ROCAUC != nil) || (okAUC && math.Abs(*got.ROCAUC-auc) > 1e-12) {
			t.Errorf("round %d: roc_auc got %v, want %v (defined %v)", round, deref(got.ROCAUC), auc, okAUC)
		}
		if okAP != (got.AveragePrecision != nil) || (okAP && math.Abs(*got.AveragePrecision-ap) > 1e-12) {
			t.Errorf("round %d: average_precision got %v, want %v (defined %v)", round, deref(got.AveragePrecision), ap, okAP)
		}
	}
}

func direct(scores []fraud.LabelledScore) (auc, ap float64, okAUC, okAP bool) {
	var pos, neg int
	for _, s := range scores {
		if s.Fraud {
			pos++
		} else {
			neg++
		}
	}
	if pos > 0 && neg > 0 {
		var sum float64
		for _, a := range scores {
			for _, b := range scores {
				if a.Fraud && !b.Fraud {
					switch {
					case a.Probability > b.Probability:
						sum++
					case a.Probability == b.Probability:
						sum += 0.5
					}
				}
			}
		}
		auc, okAUC = sum/float64(pos*neg), true
	}
	if pos > 0 {
		thresholds := map[float64]bool{}
		for _, s := range scores {
			thresholds[s.Probability] = true
		}
		var ts []float64
		for v := range thresholds {
			ts = append(ts, v)
		}
		// highest first
		for i := range ts {
			for j := i + 1; j < len(ts); j++ {
				if ts[j] > ts[i] {
					ts[i], ts[j] = ts[j], ts[i]
				}
			}
		}
		prevR := 0.0
		for _, th := range ts {
			var tp, fp int
			for _, s := range scores {
				if s.Probability >= th {
					if s.Fraud {
						tp++
					} else {
						fp++
					}
				}
			}
			r := float64(tp) / float64(pos)
			ap += (r - prevR) * float64(tp) / float64(tp+fp)
			prevR = r
		}
		okAP = true
	}
	return auc, ap, okAUC, okAP
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(time.Millisecond)
	}
}
