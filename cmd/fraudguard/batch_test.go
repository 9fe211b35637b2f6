package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/client"
	"github.com/fraudguard/fraudguard/internal/progress"
	"github.com/fraudguard/fraudguard/internal/scoring"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
	"github.com/fraudguard/fraudguard/wire"
)

// TestBatchJobSurvivesKill9 runs the real binary: it kills the server with SIGKILL in the
// middle of a batch job, restarts it on the same DATA_DIR, and checks that the job completes
// and that its results, joined to the input as `score --url` joins them, are the very bytes a
// local `fraudguard score` of the same file writes. It does so three times in a row, each time
// with a new file and job on the same database.
//
// The kill point is not raced. While the upload is still being sent, the test leases one of
// the job's chunks in the database, as a worker that never commits would (the state a killed
// server leaves its chunks in), so the server cannot finish the job until it restarts and
// takes every lease back. The server is killed once the job has committed a round's share of
// its other chunks: one chunk, half of them, all of them.
func TestBatchJobSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary: not in -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fraudguard")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const rows, chunkRows = 30_000, 1000
	const chunks = rows / chunkRows
	dataDir := filepath.Join(dir, "data")
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"MODEL_PATH=" + shippedModels(t),
		"DATA_DIR=" + dataDir,
		"API_HOST=127.0.0.1",
		"API_PORT=0",
		"RATE_LIMIT_PER_MINUTE=0",
		"LOG_LEVEL=INFO",
		"BATCH_CHUNK_ROWS=" + strconv.Itoa(chunkRows),
		"BATCH_WORKERS=2",
	}

	srv := startBinary(t, bin, env)
	db := mustOpenJobDB(t, filepath.Join(dataDir, "fraudguard.db"))
	rounds := []struct {
		held   int // the chunk the test leases
		killAt int // chunks committed before the kill
	}{
		{0, 1},
		{chunks / 2, chunks / 2},
		{chunks - 2, chunks - 1},
	}
	for i, r := range rounds {
		data := filepath.Join(dir, fmt.Sprintf("tx%d.csv", i+1))
		if out, err := exec.Command(bin, "gen", "--rows", strconv.Itoa(rows), "--seed", strconv.Itoa(11+i), "--out", data).CombinedOutput(); err != nil {
			t.Fatalf("gen: %v\n%s", err, out)
		}
		local := filepath.Join(dir, fmt.Sprintf("local%d.csv", i+1))
		if out, err := exec.Command(bin, "score", "--file", data, "--out", local, "--model-path", shippedModels(t), "--quiet").CombinedOutput(); err != nil {
			t.Fatalf("score: %v\n%s", err, out)
		}
		id := submitHoldingChunk(t, srv.url, db, mustReadFile(t, data), r.held, chunkRows)
		st := killAfter(t, srv, id, int64(r.killAt*chunkRows), int64((chunks-1)*chunkRows))
		t.Logf("round %d: chunk %d held, killed the server with %d of %d rows committed", i+1, r.held, st.ProcessedCount, rows)
		srv = startBinary(t, bin, env)
		waitCompleted(t, srv.url, id, rows)
		got := joinResults(t, srv.url, id, data)
		if want := mustReadFile(t, local); !bytes.Equal(got, want) {
			t.Fatalf("round %d: the resumed job's results, joined to the input, differ from a local score: %s", i+1, firstDiff(got, want))
		}
	}
	srv.stop(t)
}

// mustOpenJobDB opens the server's database from the test, beside the running server.
func mustOpenJobDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: "_busy_timeout=30000"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// submitHoldingChunk sends the CSV file data as a job through a pipe. Once the server has
// stored chunk held of the upload, and before the rest is sent (so before the job can run),
// it leases that chunk for a day to a holder that never commits: only a restart, which takes
// back every lease, lets the job finish. It returns the job's id.
func submitHoldingChunk(t *testing.T, url string, db *sql.DB, data []byte, held, chunkRows int) string {
	t.Helper()
	// The header, the held chunk's rows and those before it, and one row more.
	cut := 0
	for range 1 + (held+1)*chunkRows + 1 {
		cut += bytes.IndexByte(data[cut:], '\n') + 1
	}
	c := mustClient(t, url)
	pr, pw := io.Pipe()
	type answer struct {
		sub *client.Submitted
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		sub, err := c.SubmitBatch(context.Background(), pr, client.SubmitOptions{ContentType: "text/csv"})
		pr.CloseWithError(errors.New("the server answered")) // ends a write it will not read
		answered <- answer{sub, err}
	}()
	fail := func(format string, args ...any) {
		t.Helper()
		pw.CloseWithError(errors.New("test failed"))
		a := <-answered
		t.Fatalf(format+" (submit: %v)", append(args, a.err)...)
	}
	if _, err := pw.Write(data[:cut]); err != nil {
		fail("sending the first %d bytes: %v", cut, err)
	}
	var job string
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := db.QueryRow(`SELECT c.job_id FROM batch_chunks c JOIN batch_jobs j ON j.id = c.job_id
			WHERE j.status = 'receiving' AND c.idx = ?`, held).Scan(&job)
		if err == nil {
			break
		}
		if !errors.Is(err, sql.ErrNoRows) {
			fail("looking for chunk %d: %v", held, err)
		}
		if time.Now().After(deadline) {
			fail("chunk %d of the upload was not stored in time", held)
		}
		time.Sleep(5 * time.Millisecond)
	}
	res, err := db.Exec(`UPDATE batch_chunks SET state = 1, lease_holder = 'kill9-test', lease_until_ns = ?, attempts = attempts + 1
		WHERE job_id = ? AND idx = ? AND state = 0`, time.Now().Add(24*time.Hour).UnixNano(), job, held)
	if err != nil {
		fail("leasing chunk %d: %v", held, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		fail("leasing chunk %d: %d rows changed (%v), want 1", held, n, err)
	}
	if _, err := pw.Write(data[cut:]); err != nil {
		fail("sending the rest: %v", err)
	}
	pw.Close()
	a := <-answered
	if a.err != nil {
		t.Fatalf("submit: %v", a.err)
	}
	if a.sub.JobID != job {
		t.Fatalf("submit: got job %s, want %s, whose chunk %d was leased", a.sub.JobID, job, held)
	}
	return job
}

// killAfter sends SIGKILL to the server once the job has committed minRows rows or more, and
// returns its status then. One of the job's chunks is held, so the job cannot finish: until
// the kill it must be running, with no more than maxRows rows committed.
func killAfter(t *testing.T, s *binaryServer, id string, minRows, maxRows int64) *wire.BatchStatusResponse {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := getStatus(t, s.url, id)
		if st.Status != wire.JobQueued && st.Status != wire.JobRunning || st.ProcessedCount > maxRows {
			t.Fatalf("job with a chunk held: got %+v, want it running with at most %d rows processed", st, maxRows)
		}
		if st.ProcessedCount >= minRows {
			if err := s.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-s.done
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job did not commit %d rows in time: got %+v\n%s", minRows, st, s.logs)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// joinResults downloads the job's results as CSV and joins them to the input file, as
// `score --url` does.
func joinResults(t *testing.T, url, id, input string) []byte {
	t.Helper()
	ctx := context.Background()
	results, err := mustClient(t, url).BatchResultsStream(ctx, id, client.CSV)
	if err != nil {
		t.Fatalf("results: %v", err)
	}
	defer results.Close()
	in, err := os.Open(input)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out bytes.Buffer
	if _, err := scoring.Join(ctx, in, input, results, &out, false, false, progress.New(io.Discard, 0, progress.Options{})); err != nil {
		t.Fatalf("joining the results to %s: %v", input, err)
	}
	return out.Bytes()
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want []byte) string {
	gl, wl := bytes.SplitAfter(got, []byte("\n")), bytes.SplitAfter(want, []byte("\n"))
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w []byte
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if !bytes.Equal(g, w) {
			return fmt.Sprintf("line %d: got %q, want %q", i+1, g, w)
		}
	}
	return "no line differs"
}

type binaryServer struct {
	cmd  *exec.Cmd
	url  string
	logs *sharedtest.Buffer
	done chan struct{}
}

// startBinary starts `bin serve` and waits until it is ready.
func startBinary(t *testing.T, bin string, env []string) *binaryServer {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	logs := &sharedtest.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &binaryServer{cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	addrRE := regexp.MustCompile(`"msg":"listening"[^\n]*?"addr":"([^"]+)"`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && s.url == "" {
		select {
		case <-s.done:
			t.Fatalf("server exited before it was ready:\n%s", logs)
		default:
		}
		if m := addrRE.FindStringSubmatch(logs.String()); m != nil {
			s.url = "http://" + m[1]
		}
		time.Sleep(5 * time.Millisecond)
	}
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.url + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("server not ready:\n%s", logs)
	return nil
}

// stop ends the server with SIGTERM and waits for it.
func (s *binaryServer) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Errorf("server did not stop on SIGTERM:\n%s", s.logs)
	}
}

// mustClient is a client of the server at url, without retries: a test must see every failure.
func mustClient(t testing.TB, url string) *client.Client {
	t.Helper()
	c, err := client.New(url, client.Options{MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func getStatus(t *testing.T, url, id string) *wire.BatchStatusResponse {
	t.Helper()
	st, err := mustClient(t, url).BatchStatus(context.Background(), id)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return st
}

// waitCompleted waits for the job to complete with n rows processed, none invalid.
func waitCompleted(t *testing.T, url, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := getStatus(t, url, id)
		if st.Status == wire.JobCompleted {
			if st.ProcessedCount != int64(n) || st.TotalCount != int64(n) || st.InvalidCount != 0 {
				t.Fatalf("completed job: got %+v, want %d rows processed, none invalid", st, n)
			}
			return
		}
		if st.Status != wire.JobRunning && st.Status != wire.JobQueued || time.Now().After(deadline) {
			t.Fatalf("job: got %+v, want it to complete", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkAllRows waits for the job to complete and checks its results: rows 0..n-1, each once.
func checkAllRows(t *testing.T, url, id string, n int) {
	t.Helper()
	waitCompleted(t, url, id, n)
	req, _ := http.NewRequestWithContext(context.Background(), "GET", url+"/batch/"+id+"/results", nil)
	req.Header.Set("Accept", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := csv.NewReader(bufio.NewReader(resp.Body))
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil {
		t.Fatalf("results header: %v", err)
	}
	seen := make([]bool, n)
	count := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		row, err := strconv.Atoi(rec[0])
		if err != nil || row < 0 || row >= n {
			t.Fatalf("result %d: bad row %q", count, rec[0])
		}
		if seen[row] {
			t.Fatalf("row %d has two results", row)
		}
		if rec[2] == "" || rec[5] != "" {
			t.Fatalf("row %d: got %v, want a score", row, rec)
		}
		seen[row] = true
		count++
	}
	if count != n {
		missing := -1
		for i, ok := range seen {
			if !ok {
				missing = i
				break
			}
		}
		t.Fatalf("got %d results, want %d (first missing row: %d)", count, n, missing)
	}
}

// TestServeBatchEndToEnd runs a small gzipped job through run(): upload, progress, results as
// NDJSON and paged JSON, an upload over the row limit, and an unknown job.
func TestServeBatchEndToEnd(t *testing.T) {
	s := mustServe(t, map[string]string{"BATCH_CHUNK_ROWS": "100", "BATCH_JOB_MAX_ROWS": "600", "RATE_LIMIT_PER_MINUTE": "0"})
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	fmt.Fprintln(zw, "transaction_id,Time,V1,V2,V3,V4,V5,V6,V7,V8,V9,V10,V11,V12,V13,V14,V15,V16,V17,V18,V19,V20,V21,V22,V23,V24,V25,V26,V27,V28,Amount")
	for i := 0; i < 550; i++ {
		fmt.Fprintf(zw, "tx-%d,%d,-1.36,-0.07,2.54,1.38,-0.34,0.46,0.24,0.1,0.36,0.09,-0.55,-0.62,-0.99,%g,1.47,-0.47,0.21,0.03,0.4,0.25,-0.02,0.28,-0.11,0.07,0.13,-0.19,0.13,-0.02,%d.5\n",
			i, i, -float64(i%40)/4, i%300)
	}
	zw.Close()
	req, _ := http.NewRequest("POST", s.url+"/batch", bytes.NewReader(body.Bytes()))
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sub map[string]any
	json.NewDecoder(resp.Body).Decode(&sub)
	resp.Body.Close()
	if resp.StatusCode != 202 || sub["status_url"] == nil {
		t.Fatalf("submit: got %d %v", resp.StatusCode, sub)
	}
	id := sub["job_id"].(string)
	checkAllRows(t, s.url, id, 550)

	resp, body2 := call(t, "GET", s.url+"/batch/"+id+"/results?offset=540&limit=20", "", "")
	if res, _ := body2["results"].([]any); resp.StatusCode != 200 || len(res) != 10 || res[0].(map[string]any)["transaction_id"] != "tx-540" {
		t.Errorf("paged results: got %d %v", resp.StatusCode, body2)
	}
	_, st := call(t, "GET", s.url+"/batch/"+id+"/status", "", "")
	if top, _ := st["partial_results"].([]any); len(top) != 20 || st["progress_percent"] != 100.0 {
		t.Errorf("status: got %v, want 20 partial results and 100%% progress", st)
	}

	var big bytes.Buffer
	big.WriteString("Time,V1,V2,V3,V4,V5,V6,V7,V8,V9,V10,V11,V12,V13,V14,V15,V16,V17,V18,V19,V20,V21,V22,V23,V24,V25,V26,V27,V28,Amount\n")
	for i := 0; i < 601; i++ {
		big.WriteString("0,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,5\n")
	}
	resp, errBody := call(t, "POST", s.url+"/batch", "text/csv", big.String())
	if resp.StatusCode != 413 || errBody["error_code"] != "PAYLOAD_TOO_LARGE" {
		t.Errorf("601 rows: got %d %v, want 413", resp.StatusCode, errBody)
	}
	if _, list := call(t, "GET", s.url+"/batch", "", ""); list["total"] != 1.0 {
		t.Errorf("jobs after the refused upload: got %v, want only the first", list)
	}
	if resp, body := call(t, "GET", s.url+"/batch/job_nope/status", "", ""); resp.StatusCode != 404 || body["error_code"] != "JOB_NOT_FOUND" {
		t.Errorf("unknown job: got %d %v", resp.StatusCode, body)
	}
}
