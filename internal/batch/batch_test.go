package batch

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/security/detect"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
	"github.com/fraudguard/fraudguard/internal/txjson"
	"github.com/fraudguard/fraudguard/wire"
)

// The first transaction of creditcard.csv.
var firstRow = [fraud.NumFeatures]float64{0, -1.3598071336738, -0.0727811733098497, 2.53634673796914, 1.37815522427443, -0.338320769942518,
	0.462387777762292, 0.239598554061257, 0.0986979012610507, 0.363786969611213, 0.0907941719789316, -0.551599533260813,
	-0.617800855762348, -0.991389847235408, -0.311169353699879, 1.46817697209427, -0.470400525259478, 0.207971241929242,
	0.0257905801985591, 0.403992960255733, 0.251412098239705, -0.018306777944153, 0.277837575558899, -0.110473910188767,
	0.0669280749146731, 0.128539358273528, -0.189114843888824, 0.133558376740387, -0.0210530534538215, 149.62}

// row i of the test inputs: the first real transaction, shifted so that every row differs.
func testRow(i int) [fraud.NumFeatures]float64 {
	x := firstRow
	x[0] = float64(i)
	x[14] = -float64(i%50) / 5 // V14 drives the fraud score
	x[29] = float64(i%1000) + 0.25
	return x
}

func csvHeader(withID bool) string {
	h := strings.Join(fraud.FeatureNames(), ",") + ",Class"
	if withID {
		h = "transaction_id," + h
	}
	return h + "\n"
}

func csvLine(i int, withID bool) string {
	x := testRow(i)
	var b strings.Builder
	if withID {
		fmt.Fprintf(&b, "t%d,", i)
	}
	for _, v := range x {
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		b.WriteByte(',')
	}
	b.WriteString("0\n")
	return b.String()
}

func jsonObject(i int) string {
	x := testRow(i)
	var b strings.Builder
	fmt.Fprintf(&b, `{"transaction_id":"t%d"`, i)
	for j, name := range fraud.FeatureNames() {
		fmt.Fprintf(&b, `,%q:%s`, name, strconv.FormatFloat(x[j], 'g', -1, 64))
	}
	b.WriteString("}")
	return b.String()
}

func mustModel(t testing.TB) *model.Model {
	t.Helper()
	m, err := model.LoadLatest(filepath.Join("..", "..", "models"), "")
	if err != nil {
		t.Fatalf("load the shipped model: %v", err)
	}
	return m
}

type fixedModel struct{ m *model.Model }

func (f fixedModel) Current() *model.Model { return f.m }

func mustStore(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "fraudguard.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mustService starts a service over store with small chunks and fast polling, and stops it
// when t ends.
func mustService(t testing.TB, store fraud.JobStore, m *model.Model, opts Options) *Service {
	t.Helper()
	if opts.ChunkRows == 0 {
		opts.ChunkRows = 7
	}
	opts.PollInterval = 5 * time.Millisecond
	s := New(store, fixedModel{m}, slog.New(slog.DiscardHandler), opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func mustSubmit(t testing.TB, s *Service, body []byte, ctype string) fraud.Job {
	t.Helper()
	j, _, err := s.Submit(context.Background(), bytes.NewReader(body), fraud.JobUpload{ContentType: ctype})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return j
}

func mustFinish(t testing.TB, s *Service, id string) fraud.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		j, err := s.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status.Finished() {
			return j
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("job %s did not finish in time", id)
	return fraud.Job{}
}

func mustResults(t testing.TB, s *Service, id string) []fraud.JobResult {
	t.Helper()
	var out []fraud.JobResult
	if err := s.Results(context.Background(), id, 0, 0, func(r *fraud.JobResult) error { out = append(out, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestCodecRoundTrip(t *testing.T) {
	var b chunkBuilder
	b.reset()
	x := testRow(3)
	b.addValid([]byte("tx-1"), &x)
	b.addInvalid(nil, "line 4: V3 is not a number")
	b.addValid(nil, &firstRow)
	rd, err := newChunkReader(b.buf)
	if err != nil {
		t.Fatal(err)
	}
	var got [fraud.NumFeatures]float64
	id, problem, err := rd.nextInput(&got)
	if err != nil || string(id) != "tx-1" || problem != nil || got != x {
		t.Errorf("row 0: got %q %q %v (%v)", id, problem, got, err)
	}
	id, problem, err = rd.nextInput(&got)
	if err != nil || id != nil || string(problem) != "line 4: V3 is not a number" {
		t.Errorf("row 1: got %q %q (%v)", id, problem, err)
	}
	id, _, err = rd.nextInput(&got)
	if err != nil || id != nil || got != firstRow || rd.more() {
		t.Errorf("row 2: got %q %v (%v), more %v", id, got, err, rd.more())
	}

	res := appendResult([]byte{codecVersion}, []byte("a"), 0.875, true, fraud.RiskCritical, nil, nil)
	res = appendInvalidResult(res, nil, []byte("bad"))
	res = appendResult(res, nil, 0.01, false, fraud.RiskMedium, nil, nil)
	rd, _ = newChunkReader(res)
	want := []fraud.JobResult{
		{TransactionID: "a", Probability: 0.875, IsFraud: true, Risk: fraud.RiskCritical},
		{Error: "bad"},
		{Probability: 0.01, Risk: fraud.RiskMedium},
	}
	for i, w := range want {
		var r fraud.JobResult
		if err := rd.nextResult(&r, fraud.FeatureNames()); err != nil || !reflect.DeepEqual(r, w) {
			t.Errorf("result %d: got %+v (%v), want %+v", i, r, err, w)
		}
	}
	for _, bad := range [][]byte{nil, {9}, {codecVersion, flagID, 200}, {codecVersion, 0, 1, 2}} {
		rd, err := newChunkReader(bad)
		if err == nil {
			_, _, err = rd.nextInput(&got)
		}
		if !errors.Is(err, errCorrupt) {
			t.Errorf("%v: got %v, want a corrupt chunk error", bad, err)
		}
	}
}

// TestFormats submits the same rows in every format and checks that each row is scored
// exactly as the model scores it, in input order.
func TestFormats(t *testing.T) {
	m := mustModel(t)
	const n = 40
	var csvBody, csvNoID, ndjson, jsonBody strings.Builder
	csvBody.WriteString(csvHeader(true))
	csvNoID.WriteString(csvHeader(false))
	jsonBody.WriteString(`{"transactions": [`)
	for i := 0; i < n; i++ {
		csvBody.WriteString(csvLine(i, true))
		csvNoID.WriteString(csvLine(i, false))
		ndjson.WriteString(jsonObject(i) + "\n")
		if i > 0 {
			jsonBody.WriteString(",\n")
		}
		jsonBody.WriteString(jsonObject(i))
	}
	jsonBody.WriteString("]}")
	tests := []struct {
		name, ctype string
		body        []byte
		gzip        bool
		ids         bool
	}{
		{"csv", "text/csv", []byte(csvBody.String()), false, true},
		{"csv without ids", "text/csv; charset=utf-8", []byte(csvNoID.String()), false, false},
		{"csv gzip", "text/csv", []byte(csvBody.String()), true, true},
		{"ndjson", "application/x-ndjson", []byte(ndjson.String()), false, true},
		{"json", "application/json", []byte(jsonBody.String()), false, true},
		{"json gzip", "application/json", []byte(jsonBody.String()), true, true},
	}
	store := mustStore(t)
	s := mustService(t, store, m, Options{Workers: 2})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, enc := tc.body, ""
			if tc.gzip {
				body, enc = gzipped(t, body), "gzip"
			}
			j, _, err := s.Submit(context.Background(), bytes.NewReader(body), fraud.JobUpload{ContentType: tc.ctype, ContentEncoding: enc})
			if err != nil {
				t.Fatal(err)
			}
			if j.Status != fraud.JobQueued && j.Status != fraud.JobRunning || j.Total != n || j.Chunks != (n+6)/7 {
				t.Fatalf("submitted: got %+v, want a queued job of %d rows in %d chunks", j, n, (n+6)/7)
			}
			j = mustFinish(t, s, j.ID)
			if j.Status != fraud.JobCompleted || j.Processed != n || j.Invalid != 0 || j.ProgressPercent() != 100 {
				t.Fatalf("finished: got %+v, want completed with %d rows", j, n)
			}
			res := mustResults(t, s, j.ID)
			if len(res) != n {
				t.Fatalf("got %d results, want %d", len(res), n)
			}
			frauds := int64(0)
			for i, r := range res {
				x := testRow(i)
				want := m.Score(&x)
				wantID := ""
				if tc.ids {
					wantID = "t" + strconv.Itoa(i)
				}
				if r.Row != int64(i) || r.TransactionID != wantID || r.Probability != want.Probability || r.IsFraud != want.IsFraud || r.Risk != want.Risk || r.Error != "" {
					t.Errorf("row %d: got %+v, want id %q %+v", i, r, wantID, want)
				}
				if r.IsFraud {
					frauds++
				}
			}
			if j.Fraud != frauds {
				t.Errorf("fraud count: got %d, want %d", j.Fraud, frauds)
			}
			if len(j.Top) != fraud.TopResults || j.Top[0].Probability < j.Top[19].Probability {
				t.Errorf("top: got %v, want 20 rows, most risky first", j.Top)
			}
			for _, top := range j.Top {
				if !reflect.DeepEqual(top, res[top.Row]) {
					t.Errorf("top row %d: got %+v, want %+v", top.Row, top, res[top.Row])
				}
			}
		})
	}
}

// TestBadRows: malformed lines and records, and invalid values, become per-row errors; the
// job completes and counts them.
func TestBadRows(t *testing.T) {
	m := mustModel(t)
	good := csvLine(1, true)
	tests := []struct {
		name, ctype, body string
		wantErrs          map[int]string // row → part of its error
		rows              int
	}{
		{"csv", "text/csv", csvHeader(true) + good + "t2,1,2,3\n" + strings.Replace(good, "-1.3598071336738", "abc", 1) +
			strings.Replace(good, ",1.25,0", ",-5,0", 1) + "bad id!," + good[3:] + strings.Replace(good, ",0\n", ",\n", 1) +
			strings.Replace(good, ",0\n", ",unknown\n", 1) + `"t9","0",` + good[10:], map[int]string{
			1: "upload:3: row has 4 fields", 2: `upload:4: column V1: "abc" is not a number`, 3: `column Amount: "-5" must be between 0 and 100000`,
			4: "column transaction_id: may contain only"}, 8},
		{"ndjson", "application/x-ndjson", jsonObject(0) + "\n{\"Time\": 1,\n" + `{"Time":"x"}` + "\n\n" +
			strings.Replace(jsonObject(3), `"V2"`, `"V99"`, 1) + "\n" + strings.Replace(jsonObject(4), `"Amount":4.25`, `"Amount":-1`, 1) + "\n" + jsonObject(5) + "\n",
			map[int]string{1: "malformed JSON record", 2: "Time must be a number", 3: `"V99" unknown field`, 4: "Amount must be between"}, 6},
		{"json", "application/json", `{"transactions":[` + jsonObject(0) + `,{"V1":1},[],` + strings.Replace(jsonObject(3), `"t3"`, `7`, 1) + `]}`,
			map[int]string{1: "Time is required", 2: "expected a JSON object", 3: "transaction_id must be a string"}, 4},
	}
	s := mustService(t, mustStore(t), m, Options{Workers: 1})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := mustFinish(t, s, mustSubmit(t, s, []byte(tc.body), tc.ctype).ID)
			if j.Status != fraud.JobCompleted || j.Total != int64(tc.rows) || j.Invalid != int64(len(tc.wantErrs)) {
				t.Fatalf("got %+v, want completed with %d rows, %d invalid", j, tc.rows, len(tc.wantErrs))
			}
			for _, r := range mustResults(t, s, j.ID) {
				want, bad := tc.wantErrs[int(r.Row)]
				if bad != (r.Error != "") || !strings.Contains(r.Error, want) {
					t.Errorf("row %d: got error %q, want one containing %q", r.Row, r.Error, want)
				}
				if bad && (r.Risk != "" || r.Probability != 0) {
					t.Errorf("invalid row %d: got a score %+v", r.Row, r)
				}
			}
		})
	}
}

// TestRefusedUploads: a bad media type, header or document, and an upload over a limit, are
// refused with nothing left stored.
func TestRefusedUploads(t *testing.T) {
	m := mustModel(t)
	rows := func(n int) string {
		var b strings.Builder
		b.WriteString(csvHeader(true))
		for i := 0; i < n; i++ {
			b.WriteString(csvLine(i, true))
		}
		return b.String()
	}
	bomb := gzipped(t, []byte(csvHeader(false)+strings.Repeat("0", 4<<20)))
	tests := []struct {
		name, ctype, enc string
		body             []byte
		code             fraud.Code
		detail           string
	}{
		{"media type", "text/plain", "", []byte(rows(1)), fraud.CodeUnsupportedMedia, "supported"},
		{"no media type", "", "", []byte(rows(1)), fraud.CodeUnsupportedMedia, "supported"},
		{"encoding", "text/csv", "br", []byte(rows(1)), fraud.CodeUnsupportedMedia, "content_encoding"},
		{"unknown column", "text/csv", "", []byte(strings.Replace(rows(2), "V7", "Merchant", 1)), fraud.CodeValidation, "Merchant"},
		{"empty", "text/csv", "", nil, fraud.CodeValidation, "empty"},
		{"header only", "text/csv", "", []byte(csvHeader(true)), fraud.CodeValidation, "no transactions"},
		{"too many rows", "text/csv", "", []byte(rows(30)), fraud.CodePayloadTooLarge, "rows"},
		{"too many bytes", "text/csv", "", []byte(rows(2) + strings.Repeat("\n", 64<<10)), fraud.CodePayloadTooLarge, "request body"},
		{"gzip bomb", "text/csv", "gzip", bomb, fraud.CodePayloadTooLarge, "decompressed"},
		{"not gzip", "text/csv", "gzip", []byte(rows(1)), fraud.CodeValidation, "gzip"},
		{"json syntax", "application/json", "", []byte(`{"transactions":[` + jsonObject(1) + `,{"Time":1,]}`), fraud.CodeMalformedJSON, "offset"},
		{"json truncated", "application/json", "", []byte(`{"transactions":[` + jsonObject(1)), fraud.CodeMalformedJSON, ""},
		{"json envelope", "application/json", "", []byte(`[` + jsonObject(1) + `]`), fraud.CodeMalformedJSON, ""},
		{"json unknown key", "application/json", "", []byte(`{"rows":[]}`), fraud.CodeValidation, "rows"},
		{"json key after", "application/json", "", []byte(`{"transactions":[` + jsonObject(1) + `],"x":1}`), fraud.CodeValidation, "x"},
		{"json trailing data", "application/json", "", []byte(`{"transactions":[` + jsonObject(1) + `]} {}`), fraud.CodeMalformedJSON, ""},
	}
	store := mustStore(t)
	s := mustService(t, store, m, Options{Workers: 1, MaxRows: 25, MaxBytes: 48 << 10})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.Submit(context.Background(), bytes.NewReader(tc.body), fraud.JobUpload{ContentType: tc.ctype, ContentEncoding: tc.enc})
			var fe *fraud.Error
			if !errors.As(err, &fe) || fe.Code != tc.code {
				t.Fatalf("got %v, want a %s error", err, tc.code)
			}
			if !strings.Contains(fmt.Sprint(fe.Message, fe.Details), tc.detail) {
				t.Errorf("got %q %v, want it to mention %q", fe.Message, fe.Details, tc.detail)
			}
			mustHoldNoJobs(t, store)
		})
	}
}

// mustHoldNoJobs checks that no job, not even an upload being received, is stored.
func mustHoldNoJobs(t testing.TB, store *sqlite.Store) {
	t.Helper()
	if n, err := store.PurgeJobs(context.Background(), time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("got %d jobs left stored (%v), want none", n, err)
	}
}

func TestIdempotencyKey(t *testing.T) {
	s := mustService(t, mustStore(t), mustModel(t), Options{})
	body := csvHeader(false) + csvLine(1, false)
	submit := func(owner, key string) (fraud.Job, bool) {
		j, existed, err := s.Submit(context.Background(), strings.NewReader(body), fraud.JobUpload{Owner: owner, IdempotencyKey: key, ContentType: "text/csv"})
		if err != nil {
			t.Fatal(err)
		}
		return j, existed
	}
	first, existed := submit("a", "k")
	if existed {
		t.Fatal("the first submission was found existing")
	}
	again, existed := submit("a", "k")
	if !existed || again.ID != first.ID {
		t.Errorf("retry: got %s (existed %v), want %s", again.ID, existed, first.ID)
	}
	if other, existed := submit("b", "k"); existed || other.ID == first.ID {
		t.Errorf("another owner's key: got %s (existed %v), want a new job", other.ID, existed)
	}
}

// gateStore holds chunk completions until the gate opens, and fails them on demand.
type gateStore struct {
	fraud.JobStore
	gate     chan struct{}
	fail     atomic.Bool
	attempts atomic.Int64
}

func (g *gateStore) CompleteChunk(ctx context.Context, t fraud.ChunkTask, out fraud.ChunkOutput, now time.Time) (bool, bool, error) {
	if g.gate != nil {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return false, false, ctx.Err()
		}
	}
	g.attempts.Add(1)
	if g.fail.Load() {
		return false, false, fmt.Errorf("complete chunk: %w", fraud.Errorf(fraud.CodeServiceUnavailable, "the disk holding the database is full"))
	}
	return g.JobStore.CompleteChunk(ctx, t, out, now)
}

func waitStatus(t testing.TB, s *Service, id string, want fraud.JobStatus) fraud.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := s.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == want {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: got status %s, want %s", id, j.Status, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestStoreFailureFailsJob: results that cannot be stored fail the job with the reason;
// nothing is silently dropped.
func TestStoreFailureFailsJob(t *testing.T) {
	store := &gateStore{JobStore: mustStore(t)}
	s := mustService(t, store, mustModel(t), Options{Workers: 1, ChunkRows: 5})
	var body strings.Builder
	body.WriteString(csvHeader(true))
	for i := 0; i < 20; i++ {
		body.WriteString(csvLine(i, true))
	}
	store.fail.Store(true)
	j := mustFinish(t, s, mustSubmit(t, s, []byte(body.String()), "text/csv").ID)
	if j.Status != fraud.JobFailed || !strings.Contains(j.Error, "the disk holding the database is full") || !strings.Contains(j.Error, "rows 0 to 4") {
		t.Errorf("got %+v, want failed, saying the disk is full for rows 0 to 4", j)
	}
	if n := store.attempts.Load(); n != 3 {
		t.Errorf("attempts to store the chunk: got %d, want 3", n)
	}
	if j.Processed != 0 || len(mustResults(t, s, j.ID)) != 0 {
		t.Errorf("got %d rows processed, want 0", j.Processed)
	}
}

// TestConcurrencyAndCancel: with one job at a time the second waits, queued; cancelling the
// first stops it, keeps its results so far and lets the second run.
func TestConcurrencyAndCancel(t *testing.T) {
	store := &gateStore{JobStore: mustStore(t), gate: make(chan struct{})}
	s := mustService(t, store, mustModel(t), Options{Workers: 2, MaxConcurrentJobs: 1, ChunkRows: 5})
	var body strings.Builder
	body.WriteString(csvHeader(true))
	for i := 0; i < 50; i++ {
		body.WriteString(csvLine(i, true))
	}
	first := mustSubmit(t, s, []byte(body.String()), "text/csv")
	second := mustSubmit(t, s, []byte(body.String()), "text/csv")
	waitStatus(t, s, first.ID, fraud.JobRunning)
	if j, _ := s.Job(context.Background(), second.ID); j.Status != fraud.JobQueued {
		t.Fatalf("second job: got %s, want queued while the first runs", j.Status)
	}
	store.gate <- struct{}{} // one chunk of the first job completes
	deadline := time.Now().Add(5 * time.Second)
	for j, _ := s.Job(context.Background(), first.ID); j.ChunksDone < 1 && time.Now().Before(deadline); j, _ = s.Job(context.Background(), first.ID) {
		time.Sleep(time.Millisecond)
	}
	j, err := s.Cancel(context.Background(), first.ID)
	if err != nil || j.Status != fraud.JobCancelled {
		t.Fatalf("cancel: got %+v (%v)", j, err)
	}
	close(store.gate)
	j = mustFinish(t, s, first.ID)
	res := mustResults(t, s, first.ID)
	// Two workers race for the gate: the one chunk that completed may be any of the first
	// two, but it is one whole chunk.
	if j.Status != fraud.JobCancelled || j.Processed != 5 || len(res) != 5 || res[0].Row%5 != 0 || res[4].Row != res[0].Row+4 {
		t.Errorf("cancelled job: got %+v with %d results, want one whole chunk of 5 rows scored before the cancel", j, len(res))
	}
	if j := mustFinish(t, s, second.ID); j.Status != fraud.JobCompleted || j.Processed != 50 {
		t.Errorf("second job: got %+v, want completed", j)
	}
	if again, err := s.Cancel(context.Background(), first.ID); err != nil || again.Status != fraud.JobCancelled {
		t.Errorf("cancelling again: got %+v (%v)", again, err)
	}
	if err := s.Delete(context.Background(), first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Job(context.Background(), first.ID); fraud.ErrorCode(err) != fraud.CodeJobNotFound {
		t.Errorf("after delete: got %v, want %s", err, fraud.CodeJobNotFound)
	}
}

// TestResumeAfterCrash: a chunk held by a process that died is scored again by the next one,
// and every row ends with exactly one result.
func TestResumeAfterCrash(t *testing.T) {
	m := mustModel(t)
	store := mustStore(t)
	// The first process queues the job, starts it and dies holding a chunk.
	first := New(store, fixedModel{m}, slog.New(slog.DiscardHandler), Options{ChunkRows: 4})
	var body strings.Builder
	body.WriteString(csvHeader(true))
	for i := 0; i < 18; i++ {
		body.WriteString(csvLine(i, true))
	}
	j := mustSubmit(t, first, []byte(body.String()), "text/csv")
	now := time.Now()
	if _, err := store.StartJobs(context.Background(), 1, now); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := store.ClaimChunk(context.Background(), "dead", now, time.Hour); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	// The next one recovers and finishes without waiting an hour for the lease.
	second := New(store, fixedModel{m}, slog.New(slog.DiscardHandler), Options{ChunkRows: 4, PollInterval: 5 * time.Millisecond})
	if err := second.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); second.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	j = mustFinish(t, second, j.ID)
	res := mustResults(t, second, j.ID)
	if j.Status != fraud.JobCompleted || len(res) != 18 {
		t.Fatalf("got %+v with %d results, want completed with 18", j, len(res))
	}
	for i, r := range res {
		if r.Row != int64(i) {
			t.Fatalf("result %d: got row %d", i, r.Row)
		}
	}
}

func TestResultsRange(t *testing.T) {
	s := mustService(t, mustStore(t), mustModel(t), Options{ChunkRows: 4})
	var body strings.Builder
	body.WriteString(csvHeader(true))
	for i := 0; i < 10; i++ {
		body.WriteString(csvLine(i, true))
	}
	id := mustFinish(t, s, mustSubmit(t, s, []byte(body.String()), "text/csv").ID).ID
	tests := []struct {
		from, to int64
		want     string
	}{
		{0, 0, "[0 1 2 3 4 5 6 7 8 9]"},
		{3, 6, "[3 4 5]"},
		{9, 100, "[9]"},
		{10, 20, "[]"},
	}
	for _, tc := range tests {
		rows := []int64{}
		if err := s.Results(context.Background(), id, tc.from, tc.to, func(r *fraud.JobResult) error { rows = append(rows, r.Row); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(rows) != tc.want {
			t.Errorf("rows %d..%d: got %v, want %s", tc.from, tc.to, rows, tc.want)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Results(context.Background(), id, 0, 0, func(*fraud.JobResult) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("an error from fn: got %v after %d rows, want it back after 1", err, n)
	}
}

func TestEstimatedCompletion(t *testing.T) {
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	now := start.Add(10 * time.Second)
	tests := []struct {
		name string
		job  fraud.Job
		want time.Time
	}{
		{"a quarter in 10s", fraud.Job{Status: fraud.JobRunning, StartedAt: start, Total: 100, Processed: 25}, now.Add(30 * time.Second)},
		{"nothing yet", fraud.Job{Status: fraud.JobRunning, StartedAt: start, Total: 100}, time.Time{}},
		{"queued", fraud.Job{Status: fraud.JobQueued, Total: 100}, time.Time{}},
		{"completed", fraud.Job{Status: fraud.JobCompleted, StartedAt: start, Total: 100, Processed: 100}, time.Time{}},
	}
	for _, tc := range tests {
		if got := tc.job.EstimatedCompletion(now); !got.Equal(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLimitReader(t *testing.T) {
	for _, size := range []int{0, 9, 10, 11, 100} {
		lr := &limitReader{r: bytes.NewReader(make([]byte, size)), limit: 10, what: "x"}
		n, err := io.Copy(io.Discard, lr)
		var le *limitError
		if tooBig := size > 10; tooBig != errors.As(err, &le) || (!tooBig && (err != nil || n != int64(size))) {
			t.Errorf("%d bytes: got %d, %v", size, n, err)
		}
	}
}

func FuzzRecord(f *testing.F) {
	f.Add([]byte(jsonObject(1)))
	f.Add([]byte(`{"Time":1,"V1":"x","a":{"b":[1,"]"]},"transaction_id":"a\"b"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[1,2]`))
	rec := record{dec: txjson.Decoder{Fields: txjson.NewFields()}}
	f.Fuzz(func(t *testing.T, b []byte) {
		if rec.decode(b) {
			for i, v := range rec.tx.Features {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("feature %d: got %v from a valid record", i, v)
				}
			}
		} else if rec.problem() == "" {
			t.Fatalf("an invalid record %q without a reason", b)
		}
	})
}

// fakeMetrics records the batch metrics.
type fakeMetrics struct {
	mu   sync.Mutex
	jobs map[string]int
	rows int
}

func (f *fakeMetrics) SetBatchJobs(status string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs[status] = n
}

func (f *fakeMetrics) AddBatchRows(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows += n
}

func TestMetrics(t *testing.T) {
	m := &fakeMetrics{jobs: map[string]int{}}
	s := mustService(t, mustStore(t), mustModel(t), Options{Metrics: m})
	body := csvHeader(true) + csvLine(1, true) + "t2,1,2\n" + csvLine(3, true)
	mustFinish(t, s, mustSubmit(t, s, []byte(body), "text/csv").ID)
	// The job reads as completed as soon as its last chunk is stored, a moment before the
	// worker counts that chunk's rows: wait for the count.
	rows := func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.rows
	}
	for deadline := time.Now().Add(5 * time.Second); rows() < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows != 2 {
		t.Errorf("rows: got %d, want the 2 valid ones", m.rows)
	}
	if _, ok := m.jobs["running"]; !ok || len(m.jobs) != 5 {
		t.Errorf("job gauges: got %v, want all five statuses set", m.jobs)
	}
}

// countSink counts rows.
type countSink struct{ ok, bad int }

func (c *countSink) valid(ctx context.Context, id []byte, x *[fraud.NumFeatures]float64) error {
	c.ok++
	return nil
}

func (c *countSink) invalid(ctx context.Context, id []byte, problem string) error {
	if problem == "" {
		return errors.New("an invalid row without a reason")
	}
	c.bad++
	return nil
}

func FuzzUploadParsers(f *testing.F) {
	f.Add(byte(formatCSV), []byte(csvHeader(true)+csvLine(1, true)+"t2,\"1\n2\",3\n"))
	f.Add(byte(formatNDJSON), []byte(jsonObject(1)+"\n{\"Time\":\n"))
	f.Add(byte(formatJSON), []byte(`{"transactions":[`+jsonObject(1)+`,{}]}`))
	f.Fuzz(func(t *testing.T, kind byte, b []byte) {
		p, err := newParser(format(kind%3), bytes.NewReader(b), nil)
		if err != nil {
			return
		}
		var c countSink
		_ = p.rows(context.Background(), &c)
	})
}

// BenchmarkIntake measures reading 1000 rows of an NDJSON, a JSON and a CSV upload into a sink
// that only counts them: the cost of decoding and checking, without the store.
func BenchmarkIntake(b *testing.B) {
	var nd, js, cs strings.Builder
	js.WriteString(`{"transactions":[`)
	cs.WriteString(csvHeader(true))
	for i := range 1000 {
		cs.WriteString(csvLine(i, true))
		nd.WriteString(jsonObject(i) + "\n")
		if i > 0 {
			js.WriteByte(',')
		}
		js.WriteString(jsonObject(i))
	}
	js.WriteString("]}")
	for _, tc := range []struct {
		name string
		f    format
		body []byte
	}{{"ndjson", formatNDJSON, []byte(nd.String())}, {"json", formatJSON, []byte(js.String())}, {"csv", formatCSV, []byte(cs.String())}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				p, err := newParser(tc.f, bytes.NewReader(tc.body), nil)
				if err != nil {
					b.Fatal(err)
				}
				var c countSink
				if err := p.rows(context.Background(), &c); err != nil || c.ok != 1000 {
					b.Fatalf("got %d valid rows (%v), want 1000", c.ok, err)
				}
			}
		})
	}
}

// TestHostileUploadsAreRefused checks that with a detector an attack in any string of an
// upload refuses the whole upload and keeps nothing of it.
func TestHostileUploadsAreRefused(t *testing.T) {
	store := mustStore(t)
	s := mustService(t, store, mustModel(t), Options{Detector: detect.New(detect.Options{})})
	hostileCSV := csvHeader(true) + csvLine(1, true) + strings.Replace(csvLine(2, true), "t2", `"1' OR '1'='1"`, 1)
	tests := []struct {
		name, ctype, body string
	}{
		{"csv id", "text/csv", hostileCSV},
		{"ndjson id", "application/x-ndjson", jsonObject(1) + "\n" + strings.Replace(jsonObject(2), "{", `{"transaction_id":"<script>alert(1)</script>",`, 1) + "\n"},
		{"json unknown field", "application/json", `{"transactions":[` + jsonObject(1) + `,` + strings.Replace(jsonObject(2), "{", `{"note":"1 UNION SELECT password FROM users--",`, 1) + `]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.Submit(context.Background(), strings.NewReader(tc.body), fraud.JobUpload{ContentType: tc.ctype})
			var ae *txjson.AttackError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an attack error", err)
			}
			mustHoldNoJobs(t, store)
		})
	}
	// Ordinary uploads still pass.
	j := mustSubmit(t, s, []byte(csvHeader(true)+csvLine(1, true)+csvLine(2, true)), "text/csv")
	if j := mustFinish(t, s, j.ID); j.Status != fraud.JobCompleted || j.Invalid != 0 {
		t.Errorf("clean upload: got %+v", j)
	}
}

// TestExplainSurvivesRestart submits a job with Explain, lets its first process die holding a
// chunk, and finishes it in a second one: every scored row carries the three features of
// largest |contribution| in the model's explanation (sorted here independently of
// model.TopFeatures), the invalid row none; a job without Explain carries none.
func TestExplainSurvivesRestart(t *testing.T) {
	m := mustModel(t)
	store := mustStore(t)
	first := New(store, fixedModel{m}, slog.New(slog.DiscardHandler), Options{ChunkRows: 4})
	var body strings.Builder
	body.WriteString(csvHeader(true))
	for i := 0; i < 10; i++ {
		if i == 5 {
			body.WriteString("bad,1,2\n")
			continue
		}
		body.WriteString(csvLine(i, true))
	}
	j, _, err := first.Submit(context.Background(), strings.NewReader(body.String()), fraud.JobUpload{ContentType: "text/csv", Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	plain := mustSubmit(t, first, []byte(body.String()), "text/csv")
	now := time.Now()
	if _, err := store.StartJobs(context.Background(), 2, now); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := store.ClaimChunk(context.Background(), "dead", now, time.Hour); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	second := New(store, fixedModel{m}, slog.New(slog.DiscardHandler), Options{ChunkRows: 4, PollInterval: 5 * time.Millisecond})
	if err := second.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); second.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	if j = mustFinish(t, second, j.ID); j.Status != fraud.JobCompleted || !j.Explain {
		t.Fatalf("got %+v, want a completed job with Explain", j)
	}
	names := fraud.FeatureNames()
	for i, r := range mustResults(t, second, j.ID) {
		if i == 5 {
			if r.Error == "" || r.Reasons != nil {
				t.Errorf("row 5: got %+v, want an invalid row without reasons", r)
			}
			continue
		}
		x := testRow(i)
		var e model.Explanation
		if err := m.Explain(&x, &e); err != nil {
			t.Fatal(err)
		}
		order := make([]int, fraud.NumFeatures)
		for k := range order {
			order[k] = k
		}
		sort.SliceStable(order, func(a, b int) bool {
			return math.Abs(e.Contributions[order[a]]) > math.Abs(e.Contributions[order[b]])
		})
		var want []wire.Reason
		for _, k := range order[:3] {
			want = append(want, wire.Reason{Feature: names[k], Contribution: e.Contributions[k]})
		}
		if !reflect.DeepEqual(r.Reasons, want) {
			t.Errorf("row %d: got reasons %+v, want %+v", i, r.Reasons, want)
		}
	}
	mustFinish(t, second, plain.ID)
	for _, r := range mustResults(t, second, plain.ID) {
		if r.Reasons != nil {
			t.Fatalf("a job without Explain: row %d has reasons %+v", r.Row, r.Reasons)
		}
	}
}

// TestCodecReasons round-trips a result with reasons beside one without (as a chunk written
// before reasons existed holds), and refuses truncated reasons.
func TestCodecReasons(t *testing.T) {
	var c [fraud.NumFeatures]float64
	c[14], c[4], c[29] = -1.5, 0.25, 1e-9
	names := fraud.FeatureNames()
	res := appendResult([]byte{codecVersion}, []byte("a"), 0.5, true, fraud.RiskHigh, []int{14, 29, 4}, &c)
	res = appendResult(res, nil, 0.01, false, fraud.RiskLow, nil, nil)
	rd, err := newChunkReader(res)
	if err != nil {
		t.Fatal(err)
	}
	want := []fraud.JobResult{
		{TransactionID: "a", Probability: 0.5, IsFraud: true, Risk: fraud.RiskHigh,
			Reasons: []wire.Reason{{Feature: "V14", Contribution: -1.5}, {Feature: "Amount", Contribution: 1e-9}, {Feature: "V4", Contribution: 0.25}}},
		{Probability: 0.01, Risk: fraud.RiskLow},
	}
	for i, w := range want {
		var r fraud.JobResult
		if err := rd.nextResult(&r, names); err != nil || !reflect.DeepEqual(r, w) {
			t.Errorf("result %d: got %+v (%v), want %+v", i, r, err, w)
		}
	}
	whole := appendResult([]byte{codecVersion}, nil, 0.5, true, fraud.RiskHigh, []int{14}, &c)
	for _, bad := range [][]byte{whole[:len(whole)-1], whole[:len(whole)-9]} {
		rd, _ := newChunkReader(bad)
		var r fraud.JobResult
		if err := rd.nextResult(&r, names); !errors.Is(err, errCorrupt) {
			t.Errorf("%x: got %v, want errCorrupt", bad, err)
		}
	}
}
