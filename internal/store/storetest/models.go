package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// The model history tests: every store that keeps the model activation history
// (implements fraud.ModelHistory) must pass them.
var modelTests = []struct {
	name string
	fn   func(t *testing.T, open func(t *testing.T) Store)
}{
	{"ModelHistoryEmpty", testModelHistoryEmpty},
	{"ModelHistoryRecordAndLast", testModelHistoryRecordAndLast},
	{"ModelHistoryListNewestFirst", testModelHistoryListNewestFirst},
	{"ModelHistoryRejectsIncomplete", testModelHistoryRejectsIncomplete},
	{"ModelHistoryLimit", testModelHistoryLimit},
	{"ModelHistoryZeroTimeIsNow", testModelHistoryZeroTimeIsNow},
	{"ModelHistoryConcurrent", testModelHistoryConcurrent},
	{"ModelHistoryReopen", testModelHistoryReopen},
}

// mustModelHistory is t's store as a fraud.ModelHistory, or skips t when the store keeps no
// model history.
func mustModelHistory(t *testing.T, open func(t *testing.T) Store) fraud.ModelHistory {
	t.Helper()
	h, ok := mustOpen(t, open).(fraud.ModelHistory)
	if !ok {
		t.Skip("the store keeps no model history")
	}
	return h
}

func mustRecordActivation(t testing.TB, h fraud.ModelHistory, a fraud.ModelActivation) {
	t.Helper()
	if err := h.RecordActivation(context.Background(), a); err != nil {
		t.Fatalf("record activation %+v: %v", a, err)
	}
}

func mustLastActivation(t testing.TB, h fraud.ModelHistory) (fraud.ModelActivation, bool) {
	t.Helper()
	a, ok, err := h.LastActivation(context.Background())
	if err != nil {
		t.Fatalf("last activation: %v", err)
	}
	return a, ok
}

func activation(minute int, version, previous, kind string) fraud.ModelActivation {
	return fraud.ModelActivation{Time: base().Add(time.Duration(minute) * time.Minute), Version: version, Previous: previous, Kind: kind, Trigger: "http"}
}

func testModelHistoryEmpty(t *testing.T, open func(t *testing.T) Store) {
	h := mustModelHistory(t, open)
	if a, ok := mustLastActivation(t, h); ok {
		t.Errorf("got %+v, want no activation in a new store", a)
	}
	got, err := h.ListActivations(context.Background(), 0)
	if err != nil || len(got) != 0 {
		t.Errorf("list: got %d (%v), want 0", len(got), err)
	}
}

func testModelHistoryRecordAndLast(t *testing.T, open func(t *testing.T) Store) {
	h := mustModelHistory(t, open)
	when := time.Date(2026, 11, 26, 13, 4, 5, 123456000, time.FixedZone("CET", 3600))
	want := fraud.ModelActivation{Time: when, Version: "v2", Previous: "v1", Kind: fraud.ActivationActivate,
		Trigger: "http", KeyName: "ops", RequestID: "req-9"}
	mustRecordActivation(t, h, activation(0, "v1", "", fraud.ActivationStartup))
	mustRecordActivation(t, h, want)
	got, ok := mustLastActivation(t, h)
	if !ok {
		t.Fatal("got no activation, want v2")
	}
	if got.ID <= 0 {
		t.Errorf("ID: got %d, want > 0", got.ID)
	}
	if !got.Time.Equal(when) || got.Time.Location() != time.UTC {
		t.Errorf("Time: got %v, want %v in UTC", got.Time, when.UTC())
	}
	want.ID, want.Time = got.ID, got.Time
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// testModelHistoryListNewestFirst records activations whose times go backwards: the order is
// the order of recording (the ID), which is what rollback needs, not the clock's.
func testModelHistoryListNewestFirst(t *testing.T, open func(t *testing.T) Store) {
	h := mustModelHistory(t, open)
	versions := []string{"a", "b", "c", "d"}
	prev := ""
	for i, v := range versions {
		mustRecordActivation(t, h, activation(10-i, v, prev, fraud.ActivationReload))
		prev = v
	}
	got, err := h.ListActivations(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(versions) {
		t.Fatalf("got %d activations, want %d", len(got), len(versions))
	}
	for i, a := range got {
		if want := versions[len(versions)-1-i]; a.Version != want {
			t.Errorf("activation %d: got version %s, want %s", i, a.Version, want)
		}
		if i > 0 && a.ID >= got[i-1].ID {
			t.Errorf("activation %d: ID %d not below %d", i, a.ID, got[i-1].ID)
		}
	}
	if last, _ := mustLastActivation(t, h); last.Version != "d" || last.Previous != "c" {
		t.Errorf("last: got %+v, want d after c", last)
	}
}

func testModelHistoryRejectsIncomplete(t *testing.T, open func(t *testing.T) Store) {
	h := mustModelHistory(t, open)
	for _, a := range []fraud.ModelActivation{
		{Time: base(), Kind: fraud.ActivationActivate},
		{Time: base(), Version: "v1"},
		{Time: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), Version: "v1", Kind: fraud.ActivationActivate},
	} {
		err := h.RecordActivation(context.Background(), a)
		if code := fraud.ErrorCode(err); err == nil || code != fraud.CodeValidation {
			t.Errorf("%+v: got error %v (code %s), want code %s", a, err, code, fraud.CodeValidation)
		}
	}
	if a, ok := mustLastActivation(t, h); ok {
		t.Errorf("got %+v, want nothing stored", a)
	}
}

func testModelHistoryLimit(t *testing.T, open func(t *testing.T) Store) {
	h := mustModelHistory(t, open)
	for i := range 5 {
		mustRecordActivation(t, h, activation(i, fmt.Sprintf("v%d", i), "", fraud.ActivationReload))
	}
	ctx := context.Background()
	got, err := h.ListActivations(ctx, 2)
	if err != nil || len(got) != 2 || got[0].Version != "v4" || got[1].Version != "v3" {
		t.Errorf("limit 2: got %+v (%v), want v4, v3", got, err)
	}
	for _, bad := range []int{-1, 1001} {
		if _, err := h.ListActivations(ctx, bad); fraud.ErrorCode(err) != fraud.CodeValidation {
			t.Errorf("limit %d: got %v, want a %s error", bad, err, fraud.CodeValidation)
		}
	}
}

func testModelHistoryZeroTimeIsNow(t *testing.T, open func(t *testing.T) Store) {
	h := mustModelHistory(t, open)
	before := time.Now().Add(-time.Second)
	mustRecordActivation(t, h, fraud.ModelActivation{Version: "v1", Kind: fraud.ActivationStartup})
	after := time.Now().Add(time.Second)
	got, _ := mustLastActivation(t, h)
	if got.Time.Before(before) || got.Time.After(after) {
		t.Errorf("Time: got %v, want between %v and %v", got.Time, before, after)
	}
}

func testModelHistoryConcurrent(t *testing.T, open func(t *testing.T) Store) {
	h := mustModelHistory(t, open)
	const writers, each = 4, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := h.RecordActivation(context.Background(), activation(i, fmt.Sprintf("w%d-%d", w, i), "", fraud.ActivationReload)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got, err := h.ListActivations(context.Background(), 1000)
	if err != nil || len(got) != writers*each {
		t.Errorf("got %d activations (%v), want %d", len(got), err, writers*each)
	}
}

func testModelHistoryReopen(t *testing.T, open func(t *testing.T) Store) {
	h := mustModelHistory(t, open)
	mustRecordActivation(t, h, activation(0, "v1", "", fraud.ActivationStartup))
	mustRecordActivation(t, h, activation(1, "v2", "v1", fraud.ActivationActivate))
	if err := h.(Store).Close(); err != nil {
		t.Fatal(err)
	}
	h = mustModelHistory(t, open)
	if got, ok := mustLastActivation(t, h); !ok || got.Version != "v2" || got.Previous != "v1" {
		t.Errorf("after reopening: got %+v (%v), want v2 after v1", got, ok)
	}
}
