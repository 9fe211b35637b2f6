// Package storetest is the one test suite every fraudguard store must pass, so that the code
// above the stores need not know which one it has (today there is one, the embedded SQLite
// store; a scale-out store added later must pass the same suite). A store's own test calls Run with a
// function that opens a fresh database for each test.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// Store is what the suite needs of a store: the audit log (with its retention), a health check
// and Close.
type Store interface {
	fraud.AuditLog
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	// Close releases the store; a second call must do nothing.
	Close() error
}

// The page sizes every store's ListAudit must use.
const (
	// DefaultAuditLimit is the page size for a zero AuditFilter.Limit.
	DefaultAuditLimit = 100
	// MaxAuditLimit is the largest page; a larger Limit is cut to it.
	MaxAuditLimit = 1000
)

// Run runs the suite against the store that open returns.
//
// open must return a store over the database that belongs to t: empty the first time it is
// called with a given t, and the same database again when it is called with that t after the
// store was closed (that is how durability is tested). Tests run in parallel, each with its own
// t. Run closes every store it opens. Stores must keep event times to at least the microsecond.
// A store that keeps batch jobs (fraud.JobStore) must pass the job tests too, and one that keeps
// the model activation history (fraud.ModelHistory) the model history tests, and those that hold
// decisions (fraud.DecisionLog) the decision tests; others skip them.
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) Store)
	}{
		{"RecordAndList", testRecordAndList},
		{"ZeroTimeIsNow", testZeroTimeIsNow},
		{"RejectsEventWithoutAction", testRejectsEventWithoutAction},
		{"FilterByAction", testFilterByAction},
		{"FilterByTimeRange", testFilterByTimeRange},
		{"NewestFirst", testNewestFirst},
		{"PagingAndTotal", testPagingAndTotal},
		{"LimitDefaultAndCap", testLimitDefaultAndCap},
		{"RejectsNegativePaging", testRejectsNegativePaging},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Reopen", testReopen},
		{"CanceledContext", testCanceledContext},
		{"Purge", testPurge},
	}
	tests = append(tests, jobTests...)
	tests = append(tests, modelTests...)
	tests = append(tests, decisionTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

// base is the time the suite's events are placed around.
func base() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }

func testRecordAndList(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	// A non-UTC zone and microseconds: the store must keep the instant and hand it back in UTC.
	when := time.Date(2026, 11, 26, 13, 4, 5, 123456000, time.FixedZone("CET", 3600))
	want := fraud.AuditEvent{
		Time: when, RequestID: "req-1", ClientIP: "203.0.113.7", KeyName: "checkout",
		Action: fraud.ActionAuthFailure, Outcome: fraud.OutcomeDenied, Detail: "bad key on POST /predict",
	}
	mustRecord(t, s, want)
	got, total := mustList(t, s, fraud.AuditFilter{})
	if total != 1 || len(got) != 1 {
		t.Fatalf("got %d events (total %d), want 1 (total 1)", len(got), total)
	}
	e := got[0]
	if e.ID <= 0 {
		t.Errorf("ID: got %d, want > 0", e.ID)
	}
	if !e.Time.Equal(when) || e.Time.Location() != time.UTC {
		t.Errorf("Time: got %v, want %v in UTC", e.Time, when.UTC())
	}
	want.ID, want.Time = e.ID, e.Time
	if e != want {
		t.Errorf("got %+v, want %+v", e, want)
	}
}

func testZeroTimeIsNow(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	before := time.Now().Add(-time.Second)
	mustRecord(t, s, fraud.AuditEvent{Action: fraud.ActionModelReload, Outcome: fraud.OutcomeSuccess})
	after := time.Now().Add(time.Second)
	got, _ := mustList(t, s, fraud.AuditFilter{})
	if len(got) != 1 {
		t.Fatalf("got %d events, want 1", len(got))
	}
	if got[0].Time.Before(before) || got[0].Time.After(after) {
		t.Errorf("Time: got %v, want between %v and %v", got[0].Time, before, after)
	}
}

func testRejectsEventWithoutAction(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	err := s.RecordAudit(context.Background(), fraud.AuditEvent{Time: base(), Outcome: fraud.OutcomeDenied})
	if code := fraud.ErrorCode(err); err == nil || code != fraud.CodeValidation {
		t.Errorf("got error %v (code %s), want code %s", err, code, fraud.CodeValidation)
	}
	if _, total := mustList(t, s, fraud.AuditFilter{}); total != 0 {
		t.Errorf("total: got %d, want 0", total)
	}
}

func testFilterByAction(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	actions := []string{fraud.ActionAuthFailure, fraud.ActionIPBlocked, fraud.ActionAuthFailure, fraud.ActionModelReload, fraud.ActionAuthFailure}
	for i, a := range actions {
		mustRecord(t, s, event(i, a))
	}
	tests := []struct {
		action string
		want   int
	}{
		{fraud.ActionAuthFailure, 3},
		{fraud.ActionIPBlocked, 1},
		{fraud.ActionModelReload, 1},
		{fraud.ActionJobDelete, 0},
		{"", 5},
	}
	for _, tc := range tests {
		got, total := mustList(t, s, fraud.AuditFilter{Action: tc.action})
		if total != tc.want || len(got) != tc.want {
			t.Errorf("action %q: got %d events (total %d), want %d", tc.action, len(got), total, tc.want)
		}
		for _, e := range got {
			if tc.action != "" && e.Action != tc.action {
				t.Errorf("action %q: got an event with action %q", tc.action, e.Action)
			}
		}
	}
}

func testFilterByTimeRange(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	for i := 0; i < 10; i++ { // one event a minute from base
		mustRecord(t, s, event(i, fraud.ActionAttackDetected))
	}
	at := func(min int) time.Time { return base().Add(time.Duration(min) * time.Minute) }
	tests := []struct {
		name         string
		since, until time.Time
		want         []int // the minutes of the events returned, newest first
	}{
		{"open", time.Time{}, time.Time{}, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{"since is inclusive", at(7), time.Time{}, []int{9, 8, 7}},
		{"until is exclusive", time.Time{}, at(2), []int{1, 0}},
		{"both", at(3), at(6), []int{5, 4, 3}},
		{"between events", at(3).Add(time.Second), at(4).Add(-time.Second), nil},
		{"empty range", at(6), at(3), nil},
		{"before all", time.Time{}, base().Add(-time.Hour), nil},
		{"one microsecond after", at(4).Add(time.Microsecond), at(5).Add(time.Microsecond), []int{5}},
		{"far bounds", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{"zone of the bound", at(8).In(time.FixedZone("PST", -8*3600)), time.Time{}, []int{9, 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, total := mustList(t, s, fraud.AuditFilter{Since: tc.since, Until: tc.until})
			var minutes []int
			for _, e := range got {
				minutes = append(minutes, int(e.Time.Sub(base())/time.Minute))
			}
			if fmt.Sprint(minutes) != fmt.Sprint(tc.want) || total != len(tc.want) {
				t.Errorf("got minutes %v (total %d), want %v (total %d)", minutes, total, tc.want, len(tc.want))
			}
		})
	}
}

func testNewestFirst(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	// Recorded out of time order, and two events share a time: ties go to the later ID.
	for _, e := range []struct {
		detail string
		minute int
	}{{"b", 2}, {"a", 1}, {"d", 4}, {"c1", 3}, {"c2", 3}} {
		mustRecord(t, s, fraud.AuditEvent{Time: base().Add(time.Duration(e.minute) * time.Minute), Action: fraud.ActionAdminAccess, Detail: e.detail})
	}
	got, _ := mustList(t, s, fraud.AuditFilter{})
	var details []string
	for _, e := range got {
		details = append(details, e.Detail)
	}
	want := []string{"d", "c2", "c1", "b", "a"}
	if fmt.Sprint(details) != fmt.Sprint(want) {
		t.Errorf("got order %v, want %v", details, want)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.Equal(got[i-1].Time) && got[i].ID >= got[i-1].ID {
			t.Errorf("tie at %v: got ID %d after ID %d, want descending IDs", got[i].Time, got[i].ID, got[i-1].ID)
		}
	}
}

func testPagingAndTotal(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	for i := 0; i < 25; i++ {
		a := fraud.ActionAuthFailure
		if i%5 == 0 {
			a = fraud.ActionIPBlocked
		}
		mustRecord(t, s, event(i, a))
	}
	tests := []struct {
		name             string
		filter           fraud.AuditFilter
		wantLen, wantTot int
		wantFirstMinute  int
	}{
		{"first page", fraud.AuditFilter{Limit: 10}, 10, 25, 24},
		{"second page", fraud.AuditFilter{Limit: 10, Offset: 10}, 10, 25, 14},
		{"last page", fraud.AuditFilter{Limit: 10, Offset: 20}, 5, 25, 4},
		{"past the end", fraud.AuditFilter{Limit: 10, Offset: 25}, 0, 25, -1},
		{"far past the end", fraud.AuditFilter{Limit: 10, Offset: 1000}, 0, 25, -1},
		{"filtered page", fraud.AuditFilter{Action: fraud.ActionIPBlocked, Limit: 2, Offset: 1}, 2, 5, 15},
		{"filtered and ranged", fraud.AuditFilter{Action: fraud.ActionAuthFailure, Since: base().Add(10 * time.Minute), Limit: 3}, 3, 12, 24},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, total := mustList(t, s, tc.filter)
			if len(got) != tc.wantLen || total != tc.wantTot {
				t.Fatalf("got %d events (total %d), want %d (total %d)", len(got), total, tc.wantLen, tc.wantTot)
			}
			if got == nil {
				t.Errorf("got a nil slice, want an empty one")
			}
			if len(got) > 0 {
				if m := int(got[0].Time.Sub(base()) / time.Minute); m != tc.wantFirstMinute {
					t.Errorf("first event: got minute %d, want %d", m, tc.wantFirstMinute)
				}
			}
		})
	}
	// The pages together are every event once.
	seen := map[int64]bool{}
	for off := 0; off < 25; off += 10 {
		page, _ := mustList(t, s, fraud.AuditFilter{Limit: 10, Offset: off})
		for _, e := range page {
			if seen[e.ID] {
				t.Errorf("event %d on two pages", e.ID)
			}
			seen[e.ID] = true
		}
	}
	if len(seen) != 25 {
		t.Errorf("pages held %d distinct events, want 25", len(seen))
	}
}

func testLimitDefaultAndCap(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	n := MaxAuditLimit + 1
	for i := 0; i < n; i++ {
		mustRecord(t, s, fraud.AuditEvent{Time: base().Add(time.Duration(i) * time.Second), Action: fraud.ActionAttackDetected})
	}
	tests := []struct {
		name  string
		limit int
		want  int
	}{
		{"zero is the default", 0, DefaultAuditLimit},
		{"small", 7, 7},
		{"the cap", MaxAuditLimit, MaxAuditLimit},
		{"above the cap", 5 * MaxAuditLimit, MaxAuditLimit},
	}
	for _, tc := range tests {
		got, total := mustList(t, s, fraud.AuditFilter{Limit: tc.limit})
		if len(got) != tc.want || total != n {
			t.Errorf("%s: got %d events (total %d), want %d (total %d)", tc.name, len(got), total, tc.want, n)
		}
	}
}

func testRejectsNegativePaging(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	for _, f := range []fraud.AuditFilter{{Offset: -1}, {Limit: -1}} {
		_, _, err := s.ListAudit(context.Background(), f)
		if code := fraud.ErrorCode(err); err == nil || code != fraud.CodeValidation {
			t.Errorf("%+v: got error %v (code %s), want code %s", f, err, code, fraud.CodeValidation)
		}
	}
}

func testConcurrentWriters(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	const writers, each = 50, 20
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				e := fraud.AuditEvent{
					Time:   base().Add(time.Duration(w*each+i) * time.Millisecond),
					Action: fraud.ActionAttackDetected, Outcome: fraud.OutcomeBlocked,
					Detail: fmt.Sprintf("w%d-%d", w, i),
				}
				if err := s.RecordAudit(context.Background(), e); err != nil {
					t.Errorf("writer %d, event %d: %v", w, i, err)
					return
				}
			}
		}()
	}
	// Readers at the same time must neither fail nor block the writers.
	done := make(chan struct{})
	var readers sync.WaitGroup
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, _, err := s.ListAudit(context.Background(), fraud.AuditFilter{Limit: 10}); err != nil {
					t.Errorf("reader: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	readers.Wait()

	got, total := mustList(t, s, fraud.AuditFilter{Limit: MaxAuditLimit})
	if total != writers*each || len(got) != writers*each {
		t.Fatalf("got %d events (total %d), want %d", len(got), total, writers*each)
	}
	ids := map[int64]bool{}
	details := map[string]bool{}
	for _, e := range got {
		if ids[e.ID] {
			t.Errorf("ID %d given twice", e.ID)
		}
		ids[e.ID] = true
		details[e.Detail] = true
	}
	if len(details) != writers*each {
		t.Errorf("got %d distinct events, want %d", len(details), writers*each)
	}
}

func testReopen(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	want := event(1, fraud.ActionKeysReload)
	mustRecord(t, s, want)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: got %v, want nil", err)
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Errorf("ping after close: got nil, want an error")
	}

	s = mustOpen(t, open)
	got, total := mustList(t, s, fraud.AuditFilter{})
	if total != 1 || len(got) != 1 || got[0].Detail != want.Detail || !got[0].Time.Equal(want.Time) {
		t.Fatalf("after reopening: got %+v (total %d), want the one event recorded before", got, total)
	}
	// New events get new IDs after a reopen.
	mustRecord(t, s, event(2, fraud.ActionKeysReload))
	got, _ = mustList(t, s, fraud.AuditFilter{})
	if len(got) != 2 || got[0].ID <= got[1].ID {
		t.Errorf("after reopening: got IDs %v, want a new, larger ID first", ids(got))
	}
}

func testCanceledContext(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.RecordAudit(ctx, event(0, fraud.ActionAdminAccess)); err == nil {
		t.Errorf("record with a canceled context: got nil, want an error")
	}
	if _, _, err := s.ListAudit(ctx, fraud.AuditFilter{}); err == nil {
		t.Errorf("list with a canceled context: got nil, want an error")
	}
}

func testPurge(t *testing.T, open func(t *testing.T) Store) {
	s := mustOpen(t, open)
	for i := 0; i < 10; i++ {
		mustRecord(t, s, event(i, fraud.ActionAuthFailure))
	}
	n, err := s.PurgeAuditBefore(context.Background(), base().Add(4*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("purged: got %d, want 4", n)
	}
	got, total := mustList(t, s, fraud.AuditFilter{})
	if total != 6 || len(got) != 6 {
		t.Fatalf("after purge: got %d events (total %d), want 6", len(got), total)
	}
	if oldest := got[5].Time; !oldest.Equal(base().Add(4 * time.Minute)) {
		t.Errorf("after purge: got oldest %v, want %v", oldest, base().Add(4*time.Minute))
	}
	if n, err := s.PurgeAuditBefore(context.Background(), base()); err != nil || n != 0 {
		t.Errorf("purging again: got %d, %v; want 0, nil", n, err)
	}
}

// event is an audit event i minutes after base.
func event(i int, action string) fraud.AuditEvent {
	return fraud.AuditEvent{
		Time:      base().Add(time.Duration(i) * time.Minute),
		RequestID: fmt.Sprintf("req-%d", i),
		ClientIP:  "198.51.100.1",
		Action:    action,
		Outcome:   fraud.OutcomeDenied,
		Detail:    fmt.Sprintf("event %d", i),
	}
}

func ids(es []fraud.AuditEvent) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// mustOpen opens t's store and closes it when t ends.
func mustOpen(t *testing.T, open func(t *testing.T) Store) Store {
	t.Helper()
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func mustRecord(t testing.TB, s Store, e fraud.AuditEvent) {
	t.Helper()
	if err := s.RecordAudit(context.Background(), e); err != nil {
		t.Fatalf("record %+v: %v", e, err)
	}
}

func mustList(t testing.TB, s Store, f fraud.AuditFilter) ([]fraud.AuditEvent, int) {
	t.Helper()
	got, total, err := s.ListAudit(context.Background(), f)
	if err != nil {
		t.Fatalf("list %+v: %v", f, err)
	}
	return got, total
}
