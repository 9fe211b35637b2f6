package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// The job tests: every store that keeps batch jobs (implements fraud.JobStore) must pass them.
var jobTests = []struct {
	name string
	fn   func(t *testing.T, open func(t *testing.T) Store)
}{
	{"JobCreateSubmitGet", testJobCreateSubmitGet},
	{"JobIdempotencyKey", testJobIdempotencyKey},
	{"JobClaimCompleteInOrder", testJobClaimCompleteInOrder},
	{"JobLeaseExpiry", testJobLeaseExpiry},
	{"JobLeaseExpirySameHolder", testJobLeaseExpirySameHolder},
	{"JobForgedHolder", testJobForgedHolder},
	{"JobRecover", testJobRecover},
	{"JobMaxRunning", testJobMaxRunning},
	{"JobCancelKeepsResults", testJobCancelKeepsResults},
	{"JobFail", testJobFail},
	{"JobList", testJobList},
	{"JobDeleteAndNotFound", testJobDeleteAndNotFound},
	{"JobPurge", testJobPurge},
	{"JobReopen", testJobReopen},
	{"JobExplainKept", testJobExplainKept},
	{"JobModelPinned", testJobModelPinned},
}

// mustJobStore is t's store as a fraud.JobStore, or skips t when the store keeps no jobs.
func mustJobStore(t *testing.T, open func(t *testing.T) Store) fraud.JobStore {
	t.Helper()
	js, ok := mustOpen(t, open).(fraud.JobStore)
	if !ok {
		t.Skip("the store keeps no batch jobs")
	}
	return js
}

// blob is a recognisable chunk payload.
func blob(job string, idx int) []byte {
	return []byte(fmt.Sprintf("%s/%d:%s", job, idx, bytes.Repeat([]byte{byte(idx)}, 100)))
}

// mustQueueJob creates a job of chunks chunks of rows rows each, created at base()+minute,
// and submits it.
func mustQueueJob(t testing.TB, s fraud.JobStore, id, owner string, minute, chunks, rows int) fraud.Job {
	t.Helper()
	ctx := context.Background()
	j, existed, err := s.CreateJob(ctx, fraud.Job{ID: id, Owner: owner, CreatedAt: base().Add(time.Duration(minute) * time.Minute)})
	if err != nil || existed {
		t.Fatalf("create job %s: %v (existed %v)", id, err, existed)
	}
	for i := 0; i < chunks; i++ {
		if err := s.AddChunk(ctx, id, fraud.ChunkInput{Index: i, FirstRow: int64(i * rows), Rows: rows, Data: blob(id, i)}); err != nil {
			t.Fatalf("add chunk %d: %v", i, err)
		}
	}
	if err := s.SubmitJob(ctx, id, int64(chunks*rows), chunks); err != nil {
		t.Fatalf("submit job %s: %v", id, err)
	}
	return j
}

func mustStart(t testing.TB, s fraud.JobStore, max int, now time.Time) []fraud.Job {
	t.Helper()
	started, err := s.StartJobs(context.Background(), max, now)
	if err != nil {
		t.Fatalf("start jobs: %v", err)
	}
	return started
}

func mustClaim(t testing.TB, s fraud.JobStore, holder string, now time.Time) (fraud.ChunkTask, bool) {
	t.Helper()
	task, ok, err := s.ClaimChunk(context.Background(), holder, now, time.Minute)
	if err != nil {
		t.Fatalf("claim chunk: %v", err)
	}
	return task, ok
}

func mustComplete(t testing.TB, s fraud.JobStore, task fraud.ChunkTask, out fraud.ChunkOutput, now time.Time) (bool, bool) {
	t.Helper()
	ok, done, err := s.CompleteChunk(context.Background(), task, out, now)
	if err != nil {
		t.Fatalf("complete chunk %d of %s: %v", task.Index, task.JobID, err)
	}
	return ok, done
}

func mustJob(t testing.TB, s fraud.JobStore, id string) fraud.Job {
	t.Helper()
	j, err := s.Job(context.Background(), id)
	if err != nil {
		t.Fatalf("job %s: %v", id, err)
	}
	return j
}

// output is a chunk's results: the rows' probabilities are row/1000 and one row is invalid.
func output(task fraud.ChunkTask) fraud.ChunkOutput {
	out := fraud.ChunkOutput{Data: []byte(fmt.Sprintf("results %s/%d", task.JobID, task.Index)), Processed: int64(task.Rows), Invalid: 1, Fraud: 2}
	for i := 0; i < task.Rows; i++ {
		row := task.FirstRow + int64(i)
		out.Top = append(out.Top, fraud.JobResult{Row: row, Probability: float64(row) / 1000, Risk: fraud.RiskLow})
	}
	out.Top = fraud.MergeTop(nil, out.Top, fraud.TopResults)
	return out
}

func testJobCreateSubmitGet(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	ctx := context.Background()
	created := base().Add(90 * time.Second)
	j, existed, err := s.CreateJob(ctx, fraud.Job{ID: "job_a", Owner: "team", IdempotencyKey: "k1", CreatedAt: created})
	if err != nil || existed {
		t.Fatalf("create: %v (existed %v)", err, existed)
	}
	if j.Status != fraud.JobReceiving || !j.CreatedAt.Equal(created) {
		t.Errorf("created: got %+v, want status receiving at %v", j, created)
	}
	// An upload still being received is invisible.
	if _, err := s.Job(ctx, "job_a"); fraud.ErrorCode(err) != fraud.CodeJobNotFound {
		t.Errorf("job while receiving: got %v, want %s", err, fraud.CodeJobNotFound)
	}
	for i := 0; i < 3; i++ {
		if err := s.AddChunk(ctx, "job_a", fraud.ChunkInput{Index: i, FirstRow: int64(i * 10), Rows: 10, Data: blob("job_a", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SubmitJob(ctx, "job_a", 31, 3); err == nil {
		t.Errorf("submit with a wrong row count: got nil, want an error")
	}
	if err := s.SubmitJob(ctx, "job_a", 30, 3); err != nil {
		t.Fatal(err)
	}
	got := mustJob(t, s, "job_a")
	if got.Status != fraud.JobQueued || got.Total != 30 || got.Chunks != 3 || got.Owner != "team" || got.IdempotencyKey != "k1" ||
		got.Processed != 0 || !got.StartedAt.IsZero() || !got.FinishedAt.IsZero() || got.Top == nil || len(got.Top) != 0 {
		t.Errorf("got %+v, want a queued job of 30 rows in 3 chunks owned by team", got)
	}
	if err := s.AddChunk(ctx, "job_a", fraud.ChunkInput{Index: 3, FirstRow: 30, Rows: 1, Data: []byte{1}}); fraud.ErrorCode(err) != fraud.CodeConflict {
		t.Errorf("add chunk to a queued job: got %v, want %s", err, fraud.CodeConflict)
	}
	if err := s.AddChunk(ctx, "nope", fraud.ChunkInput{Rows: 1, Data: []byte{1}}); fraud.ErrorCode(err) != fraud.CodeJobNotFound {
		t.Errorf("add chunk to an unknown job: got %v, want %s", err, fraud.CodeJobNotFound)
	}
}

func testJobIdempotencyKey(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	ctx := context.Background()
	first, existed, err := s.CreateJob(ctx, fraud.Job{ID: "job_1", Owner: "a", IdempotencyKey: "same", CreatedAt: base()})
	if err != nil || existed {
		t.Fatal(err, existed)
	}
	tests := []struct {
		name, id, owner, key string
		wantID               string
		wantExisted          bool
	}{
		{"same owner and key", "job_2", "a", "same", "job_1", true},
		{"other owner", "job_3", "b", "same", "job_3", false},
		{"other key", "job_4", "a", "other", "job_4", false},
		{"no key", "job_5", "a", "", "job_5", false},
		{"no key again", "job_6", "a", "", "job_6", false},
	}
	for _, tc := range tests {
		got, existed, err := s.CreateJob(ctx, fraud.Job{ID: tc.id, Owner: tc.owner, IdempotencyKey: tc.key, CreatedAt: base()})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.ID != tc.wantID || existed != tc.wantExisted {
			t.Errorf("%s: got %s (existed %v), want %s (existed %v)", tc.name, got.ID, existed, tc.wantID, tc.wantExisted)
		}
	}
	_ = first
}

func testJobClaimCompleteInOrder(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	now := base().Add(time.Hour)
	mustQueueJob(t, s, "job_a", "", 1, 3, 10)
	if _, ok := mustClaim(t, s, "w", now); ok {
		t.Fatalf("claimed a chunk of a queued job; want none until it starts")
	}
	started := mustStart(t, s, 2, now)
	if len(started) != 1 || started[0].ID != "job_a" || started[0].Status != fraud.JobRunning || !started[0].StartedAt.Equal(now) {
		t.Fatalf("started: got %+v, want job_a running since %v", started, now)
	}
	for i := 0; i < 3; i++ {
		task, ok := mustClaim(t, s, "w", now)
		if !ok || task.JobID != "job_a" || task.Index != i || task.FirstRow != int64(i*10) || task.Rows != 10 || task.Attempt != 1 ||
			!bytes.Equal(task.Data, blob("job_a", i)) || !task.LeaseUntil.Equal(now.Add(time.Minute)) {
			t.Fatalf("claim %d: got %+v (ok %v), want chunk %d with its input", i, task, ok, i)
		}
		stored, done := mustComplete(t, s, task, output(task), now.Add(time.Duration(i+1)*time.Second))
		if !stored || done != (i == 2) {
			t.Errorf("complete %d: got stored %v completed %v, want true %v", i, stored, done, i == 2)
		}
		if i < 2 {
			j := mustJob(t, s, "job_a")
			if j.Status != fraud.JobRunning || j.Processed != int64((i+1)*10) || j.ChunksDone != i+1 {
				t.Errorf("after chunk %d: got %+v", i, j)
			}
		}
	}
	if _, ok := mustClaim(t, s, "w", now); ok {
		t.Errorf("claimed a chunk after all were done")
	}
	j := mustJob(t, s, "job_a")
	if j.Status != fraud.JobCompleted || j.Processed != 30 || j.Invalid != 3 || j.Fraud != 6 || j.ChunksDone != 3 ||
		!j.FinishedAt.Equal(now.Add(3*time.Second)) {
		t.Errorf("completed job: got %+v", j)
	}
	if len(j.Top) != fraud.TopResults || j.Top[0].Row != 29 || j.Top[19].Row != 10 {
		t.Errorf("top: got %d rows from %v, want 20 from row 29 down to 10", len(j.Top), j.Top)
	}
	var got []string
	err := s.Results(context.Background(), "job_a", 0, 1<<62, func(c fraud.ResultChunk) error {
		got = append(got, fmt.Sprintf("%d:%d+%d:%s", c.Index, c.FirstRow, c.Rows, c.Data))
		return nil
	})
	want := []string{"0:0+10:results job_a/0", "1:10+10:results job_a/1", "2:20+10:results job_a/2"}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("results: got %v (%v), want %v", got, err, want)
	}
	got = nil
	if err := s.Results(context.Background(), "job_a", 15, 20, func(c fraud.ResultChunk) error {
		got = append(got, fmt.Sprint(c.Index))
		return nil
	}); err != nil || fmt.Sprint(got) != "[1]" {
		t.Errorf("results of rows 15..19: got chunks %v (%v), want [1]", got, err)
	}
}

func testJobLeaseExpiry(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	now := base().Add(time.Hour)
	mustQueueJob(t, s, "job_a", "", 1, 1, 5)
	mustStart(t, s, 1, now)
	first, ok := mustClaim(t, s, "w1", now)
	if !ok {
		t.Fatal("no chunk to claim")
	}
	if _, ok := mustClaim(t, s, "w2", now.Add(30*time.Second)); ok {
		t.Fatalf("claimed a chunk whose lease holds")
	}
	second, ok := mustClaim(t, s, "w2", now.Add(61*time.Second))
	if !ok || second.Index != first.Index || second.Attempt != 2 || second.Holder != "w2" {
		t.Fatalf("after the lease expired: got %+v (ok %v), want chunk %d, attempt 2, for w2", second, ok, first.Index)
	}
	if stored, _ := mustComplete(t, s, first, output(first), now.Add(62*time.Second)); stored {
		t.Errorf("the first holder completed a chunk whose lease it lost")
	}
	if stored, done := mustComplete(t, s, second, output(second), now.Add(63*time.Second)); !stored || !done {
		t.Errorf("the second holder: got stored %v completed %v, want true true", stored, done)
	}
	if stored, _ := mustComplete(t, s, second, output(second), now.Add(64*time.Second)); stored {
		t.Errorf("a chunk was completed twice")
	}
	if j := mustJob(t, s, "job_a"); j.Processed != 5 || j.ChunksDone != 1 {
		t.Errorf("got %+v, want 5 rows processed once", j)
	}
}

// testJobLeaseExpirySameHolder: a server names one holder for all its workers, so a chunk
// whose lease expired is often claimed again under the same name. Only the attempt tells the
// two leases apart: the first claim's late commit must be refused.
func testJobLeaseExpirySameHolder(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	now := base().Add(time.Hour)
	mustQueueJob(t, s, "job_a", "", 1, 1, 5)
	mustStart(t, s, 1, now)
	first, ok := mustClaim(t, s, "w", now)
	if !ok || first.Attempt != 1 {
		t.Fatalf("first claim: got %+v (ok %v), want attempt 1", first, ok)
	}
	second, ok := mustClaim(t, s, "w", now.Add(61*time.Second))
	if !ok || second.Index != first.Index || second.Holder != first.Holder || second.Attempt != 2 {
		t.Fatalf("after the lease expired: got %+v (ok %v), want chunk %d again, attempt 2, for the same holder", second, ok, first.Index)
	}
	stale := output(first)
	stale.Data = []byte("stale results")
	if stored, _ := mustComplete(t, s, first, stale, now.Add(62*time.Second)); stored {
		t.Errorf("the first claim completed the chunk after its lease expired and the same holder claimed it again")
	}
	if stored, done := mustComplete(t, s, second, output(second), now.Add(63*time.Second)); !stored || !done {
		t.Errorf("the second claim: got stored %v completed %v, want true true", stored, done)
	}
	if j := mustJob(t, s, "job_a"); j.Processed != 5 || j.ChunksDone != 1 {
		t.Errorf("got %+v, want 5 rows processed once", j)
	}
	var got []string
	if err := s.Results(context.Background(), "job_a", 0, 1<<62, func(c fraud.ResultChunk) error {
		got = append(got, string(c.Data))
		return nil
	}); err != nil || fmt.Sprint(got) != "[results job_a/0]" {
		t.Errorf("results: got %q (%v), want the second claim's only", got, err)
	}
}

// testJobForgedHolder: a lease is its holder and its attempt together (fraud.ChunkTask). A
// commit with the right chunk and attempt but another holder's name is refused, and the
// lease's own commit still goes through.
func testJobForgedHolder(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	now := base().Add(time.Hour)
	mustQueueJob(t, s, "job_a", "", 1, 1, 5)
	mustStart(t, s, 1, now)
	task, ok := mustClaim(t, s, "w1", now)
	if !ok {
		t.Fatal("no chunk to claim")
	}
	forged := task
	forged.Holder = "w2"
	if stored, _ := mustComplete(t, s, forged, output(forged), now.Add(time.Second)); stored {
		t.Errorf("a commit under another holder's name completed the chunk")
	}
	if stored, done := mustComplete(t, s, task, output(task), now.Add(2*time.Second)); !stored || !done {
		t.Errorf("the holder's commit: got stored %v completed %v, want true true", stored, done)
	}
}

func testJobRecover(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	ctx := context.Background()
	now := base().Add(time.Hour)
	mustQueueJob(t, s, "job_a", "", 1, 2, 5)
	mustStart(t, s, 1, now)
	held, _ := mustClaim(t, s, "dead", now)
	if _, _, err := s.CreateJob(ctx, fraud.Job{ID: "job_upload", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddChunk(ctx, "job_upload", fraud.ChunkInput{Rows: 1, Data: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	released, dropped, err := s.RecoverJobs(ctx)
	if err != nil || released != 1 || dropped != 1 {
		t.Fatalf("recover: got %d released, %d dropped (%v), want 1 and 1", released, dropped, err)
	}
	again, ok := mustClaim(t, s, "alive", now) // at once: no waiting for the lease
	if !ok || again.Index != held.Index || again.Attempt != 2 {
		t.Fatalf("after recovery: got %+v (ok %v), want chunk %d again", again, ok, held.Index)
	}
	if stored, _ := mustComplete(t, s, held, output(held), now); stored {
		t.Errorf("the dead holder's lease still completed the chunk")
	}
	if _, _, err := s.CreateJob(ctx, fraud.Job{ID: "job_upload", CreatedAt: now}); err != nil {
		t.Errorf("the dropped upload's id is still taken: %v", err)
	}
}

func testJobMaxRunning(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	now := base().Add(time.Hour)
	for i, id := range []string{"job_1", "job_2", "job_3"} {
		mustQueueJob(t, s, id, "", i, 1, 4)
	}
	if got := mustStart(t, s, 2, now); len(got) != 2 || got[0].ID != "job_1" || got[1].ID != "job_2" {
		t.Fatalf("start with room for 2: got %v, want job_1 and job_2", got)
	}
	if got := mustStart(t, s, 2, now); len(got) != 0 {
		t.Fatalf("start with none free: got %v, want none", got)
	}
	if j := mustJob(t, s, "job_3"); j.Status != fraud.JobQueued {
		t.Errorf("job_3: got %s, want queued", j.Status)
	}
	task, _ := mustClaim(t, s, "w", now)
	if task.JobID != "job_1" {
		t.Errorf("first claim: got %s, want the oldest job, job_1", task.JobID)
	}
	mustComplete(t, s, task, output(task), now)
	if got := mustStart(t, s, 2, now); len(got) != 1 || got[0].ID != "job_3" {
		t.Errorf("start after job_1 completed: got %v, want job_3", got)
	}
}

func testJobCancelKeepsResults(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	ctx := context.Background()
	now := base().Add(time.Hour)
	mustQueueJob(t, s, "job_a", "", 1, 3, 10)
	mustStart(t, s, 1, now)
	t0, _ := mustClaim(t, s, "w", now)
	mustComplete(t, s, t0, output(t0), now)
	t1, _ := mustClaim(t, s, "w", now)
	j, err := s.FinishJob(ctx, "job_a", fraud.JobCancelled, "", now.Add(time.Second))
	if err != nil || j.Status != fraud.JobCancelled || !j.FinishedAt.Equal(now.Add(time.Second)) || j.Processed != 10 {
		t.Fatalf("cancel: got %+v (%v), want cancelled with 10 rows processed", j, err)
	}
	if stored, _ := mustComplete(t, s, t1, output(t1), now); stored {
		t.Errorf("a chunk of a cancelled job was completed")
	}
	if _, ok := mustClaim(t, s, "w", now); ok {
		t.Errorf("claimed a chunk of a cancelled job")
	}
	n := 0
	if err := s.Results(ctx, "job_a", 0, 1<<62, func(fraud.ResultChunk) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("results after cancel: got %d chunks (%v), want the 1 scored before", n, err)
	}
	again, err := s.FinishJob(ctx, "job_a", fraud.JobFailed, "late", now.Add(time.Hour))
	if err != nil || again.Status != fraud.JobCancelled || again.Error != "" {
		t.Errorf("finishing a finished job: got %+v (%v), want it unchanged", again, err)
	}
}

func testJobFail(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	ctx := context.Background()
	now := base().Add(time.Hour)
	mustQueueJob(t, s, "job_a", "", 1, 2, 10)
	mustStart(t, s, 1, now)
	j, err := s.FinishJob(ctx, "job_a", fraud.JobFailed, "the disk is full", now)
	if err != nil || j.Status != fraud.JobFailed || j.Error != "the disk is full" {
		t.Fatalf("fail: got %+v (%v)", j, err)
	}
	if _, err := s.FinishJob(ctx, "job_a", fraud.JobCompleted, "", now); fraud.ErrorCode(err) != fraud.CodeValidation {
		t.Errorf("finish as completed: got %v, want %s", err, fraud.CodeValidation)
	}
	if _, err := s.FinishJob(ctx, "nope", fraud.JobFailed, "", now); fraud.ErrorCode(err) != fraud.CodeJobNotFound {
		t.Errorf("finish an unknown job: got %v, want %s", err, fraud.CodeJobNotFound)
	}
}

func testJobList(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		owner := "a"
		if i%2 == 1 {
			owner = "b"
		}
		mustQueueJob(t, s, fmt.Sprintf("job_%d", i), owner, i, 1, 1)
	}
	if _, _, err := s.CreateJob(ctx, fraud.Job{ID: "job_recv", Owner: "a", CreatedAt: base().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	mustStart(t, s, 1, base().Add(time.Hour))
	tests := []struct {
		name   string
		filter fraud.JobFilter
		want   []string
		total  int
	}{
		{"everyone", fraud.JobFilter{Everyone: true}, []string{"job_4", "job_3", "job_2", "job_1", "job_0"}, 5},
		{"owner a", fraud.JobFilter{Owner: "a"}, []string{"job_4", "job_2", "job_0"}, 3},
		{"owner b", fraud.JobFilter{Owner: "b"}, []string{"job_3", "job_1"}, 2},
		{"nobody", fraud.JobFilter{Owner: ""}, nil, 0},
		{"running", fraud.JobFilter{Everyone: true, Status: fraud.JobRunning}, []string{"job_0"}, 1},
		{"page", fraud.JobFilter{Everyone: true, Offset: 1, Limit: 2}, []string{"job_3", "job_2"}, 5},
		{"past the end", fraud.JobFilter{Everyone: true, Offset: 9}, nil, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := s.ListJobs(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, j := range got {
				ids = append(ids, j.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) || total != tc.total || got == nil {
				t.Errorf("got %v (total %d), want %v (total %d)", ids, total, tc.want, tc.total)
			}
		})
	}
	if _, _, err := s.ListJobs(ctx, fraud.JobFilter{Offset: -1}); fraud.ErrorCode(err) != fraud.CodeValidation {
		t.Errorf("negative offset: got %v, want %s", err, fraud.CodeValidation)
	}
}

func testJobDeleteAndNotFound(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	ctx := context.Background()
	mustQueueJob(t, s, "job_a", "", 1, 20, 3)
	if err := s.DeleteJob(ctx, "job_a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteJob(ctx, "job_a"); err != nil {
		t.Errorf("deleting again: got %v, want nil", err)
	}
	if _, err := s.Job(ctx, "job_a"); fraud.ErrorCode(err) != fraud.CodeJobNotFound {
		t.Errorf("job after delete: got %v, want %s", err, fraud.CodeJobNotFound)
	}
	err := s.Results(ctx, "job_a", 0, 10, func(fraud.ResultChunk) error { return nil })
	if fraud.ErrorCode(err) != fraud.CodeJobNotFound {
		t.Errorf("results after delete: got %v, want %s", err, fraud.CodeJobNotFound)
	}
	// The id is free again and no chunk of the old job is left.
	mustQueueJob(t, s, "job_a", "", 2, 1, 3)
	if j := mustJob(t, s, "job_a"); j.Chunks != 1 || j.Total != 3 {
		t.Errorf("recreated job: got %+v", j)
	}
}

func testJobPurge(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	ctx := context.Background()
	now := base().Add(time.Hour)
	mustQueueJob(t, s, "job_old", "", 1, 1, 2)
	mustQueueJob(t, s, "job_new", "", 2, 1, 2)
	mustQueueJob(t, s, "job_waiting", "", 3, 1, 2)
	mustStart(t, s, 2, now)
	for i := 0; i < 2; i++ {
		task, _ := mustClaim(t, s, "w", now)
		mustComplete(t, s, task, output(task), now.Add(time.Duration(i)*time.Hour)) // job_old at now, job_new an hour later
	}
	if _, _, err := s.CreateJob(ctx, fraud.Job{ID: "job_stale_upload", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	n, err := s.PurgeJobs(ctx, now.Add(30*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("purge: got %d (%v), want 2 (job_old and the stale upload)", n, err)
	}
	for id, want := range map[string]fraud.Code{"job_old": fraud.CodeJobNotFound, "job_new": "", "job_waiting": ""} {
		_, err := s.Job(ctx, id)
		if got := fraud.ErrorCode(err); (err == nil) != (want == "") || (err != nil && got != want) {
			t.Errorf("%s after purge: got %v, want code %q", id, err, want)
		}
	}
}

func testJobReopen(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	now := base().Add(time.Hour)
	mustQueueJob(t, s, "job_a", "o", 1, 2, 7)
	mustStart(t, s, 1, now)
	task, _ := mustClaim(t, s, "w", now)
	mustComplete(t, s, task, output(task), now)
	if err := s.(Store).Close(); err != nil {
		t.Fatal(err)
	}
	s = mustJobStore(t, open)
	j := mustJob(t, s, "job_a")
	if j.Status != fraud.JobRunning || j.Processed != 7 || j.ChunksDone != 1 || len(j.Top) != 7 {
		t.Fatalf("after reopening: got %+v", j)
	}
	next, ok := mustClaim(t, s, "w2", now)
	if !ok || next.Index != 1 || !bytes.Equal(next.Data, blob("job_a", 1)) {
		t.Fatalf("after reopening: claimed %+v (ok %v), want chunk 1", next, ok)
	}
}

// testJobExplainKept checks that a job's Explain is kept with it: read back, on the chunks
// claimed from it, and after the store is reopened; a job without it claims chunks without it.
func testJobExplainKept(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	ctx := context.Background()
	now := base().Add(time.Hour)
	j, _, err := s.CreateJob(ctx, fraud.Job{ID: "job_x", Owner: "o", CreatedAt: base(), Explain: true})
	if err != nil || !j.Explain {
		t.Fatalf("create: got %+v (%v), want Explain", j, err)
	}
	for i := range 2 {
		if err := s.AddChunk(ctx, "job_x", fraud.ChunkInput{Index: i, FirstRow: int64(i * 3), Rows: 3, Data: blob("job_x", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SubmitJob(ctx, "job_x", 6, 2); err != nil {
		t.Fatal(err)
	}
	mustQueueJob(t, s, "job_plain", "o", 1, 1, 3)
	if !mustJob(t, s, "job_x").Explain || mustJob(t, s, "job_plain").Explain {
		t.Fatalf("got Explain %v and %v, want true for job_x only", mustJob(t, s, "job_x").Explain, mustJob(t, s, "job_plain").Explain)
	}
	mustStart(t, s, 2, now)
	task, ok := mustClaim(t, s, "w", now)
	if !ok || task.JobID != "job_x" || !task.Explain {
		t.Fatalf("claimed %+v (ok %v), want a chunk of job_x with Explain", task, ok)
	}
	mustComplete(t, s, task, output(task), now)
	if err := s.(Store).Close(); err != nil {
		t.Fatal(err)
	}
	s = mustJobStore(t, open)
	if !mustJob(t, s, "job_x").Explain {
		t.Fatal("after reopening: got Explain false, want true")
	}
	next, ok := mustClaim(t, s, "w2", now)
	if !ok || next.JobID != "job_x" || next.Index != 1 || !next.Explain {
		t.Fatalf("after reopening: claimed %+v (ok %v), want chunk 1 of job_x with Explain", next, ok)
	}
	plain, ok := mustClaim(t, s, "w2", now)
	if !ok || plain.JobID != "job_plain" || plain.Explain {
		t.Fatalf("claimed %+v (ok %v), want a chunk of job_plain without Explain", plain, ok)
	}
}

// The first pin of a job's model wins, against pins at the same moment too; the version is
// kept with the job across a reopen.
func testJobModelPinned(t *testing.T, open func(t *testing.T) Store) {
	s := mustJobStore(t, open)
	ctx := context.Background()
	mustQueueJob(t, s, "job_m", "", 1, 2, 3)
	if v := mustJob(t, s, "job_m").ModelVersion; v != "" {
		t.Fatalf("before any pin: got model %q, want none", v)
	}
	const pinners = 8
	got := make(chan string, pinners)
	var wg sync.WaitGroup
	for i := range pinners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.PinModel(ctx, "job_m", fmt.Sprintf("v%d", i))
			if err != nil {
				t.Errorf("pin %d: %v", i, err)
			}
			got <- v
		}()
	}
	wg.Wait()
	close(got)
	first := ""
	for v := range got {
		if first == "" {
			first = v
		}
		if v == "" || v != first {
			t.Errorf("pins at once: got %q and %q, want one version for all", first, v)
		}
	}
	if v, err := s.PinModel(ctx, "job_m", "later"); err != nil || v != first {
		t.Errorf("a later pin: got %q, %v; want %q", v, err, first)
	}
	if err := s.(Store).Close(); err != nil {
		t.Fatal(err)
	}
	s = mustJobStore(t, open)
	if v := mustJob(t, s, "job_m").ModelVersion; v != first {
		t.Errorf("after reopening: got model %q, want %q", v, first)
	}
	if _, err := s.PinModel(ctx, "job_none", "v1"); fraud.ErrorCode(err) != fraud.CodeJobNotFound {
		t.Errorf("pin of an unknown job: got %v, want %s", err, fraud.CodeJobNotFound)
	}
	if _, err := s.PinModel(ctx, "job_m", ""); fraud.ErrorCode(err) != fraud.CodeValidation {
		t.Errorf("pin of no version: got %v, want %s", err, fraud.CodeValidation)
	}
}
