package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/client"
	"github.com/fraudguard/fraudguard/wire"
)

// TestBatchJobSurvivesKill9 runs the real binary: it submits a 300,000-row job, kills the
// server with SIGKILL while the job is between 10% and 90% done, restarts it on the same
// DATA_DIR and checks that the job completes with exactly one result for every input row. It
// does so three times in a row, each time with a new job on the same database.
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
	const rows = 300_000
	data := filepath.Join(dir, "tx.csv")
	if out, err := exec.Command(bin, "gen", "--rows", strconv.Itoa(rows), "--seed", "11", "--out", data).CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	upload, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"MODEL_PATH=" + shippedModels(t),
		"DATA_DIR=" + dataDir,
		"API_HOST=127.0.0.1",
		"API_PORT=0",
		"RATE_LIMIT_PER_MINUTE=0",
		"LOG_LEVEL=INFO",
		// Small chunks and one worker: the job takes long enough to be caught in the middle.
		"BATCH_CHUNK_ROWS=1000",
		"BATCH_WORKERS=1",
	}

	srv := startBinary(t, bin, env)
	for round := 1; round <= 3; round++ {
		id := submitJob(t, srv.url, upload)
		progress := killMidJob(t, srv, id, []float64{20, 50, 75}[round-1])
		t.Logf("round %d: killed the server at %.1f%%", round, progress)
		srv = startBinary(t, bin, env)
		checkAllRows(t, srv.url, id, rows)
	}
	srv.stop(t)
}

type binaryServer struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan struct{}
}

// startBinary starts `bin serve` and waits until it is ready.
func startBinary(t *testing.T, bin string, env []string) *binaryServer {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	logs := &syncBuffer{}
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

func submitJob(t *testing.T, url string, body []byte) string {
	t.Helper()
	sub, err := mustClient(t, url).SubmitBatch(context.Background(), bytes.NewReader(body), client.SubmitOptions{ContentType: "text/csv"})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return sub.JobID
}

func getStatus(t *testing.T, url, id string) *wire.BatchStatusResponse {
	t.Helper()
	st, err := mustClient(t, url).BatchStatus(context.Background(), id)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return st
}

// killMidJob sends SIGKILL to the server once the job is at least target% and at most 90%
// done, and returns the progress it had.
func killMidJob(t *testing.T, s *binaryServer, id string, target float64) float64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st := getStatus(t, s.url, id)
		if st.ProgressPercent >= target && st.ProgressPercent <= 90 {
			if err := s.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-s.done
			return st.ProgressPercent
		}
		if st.Status == wire.JobCompleted || st.ProgressPercent > 90 {
			t.Fatalf("the job reached %.1f%% (%s) before it could be killed", st.ProgressPercent, st.Status)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("the job did not reach %.0f%% in time:\n%s", target, s.logs)
	return 0
}

// checkAllRows waits for the job to complete and checks its results: rows 0..n-1, each once.
func checkAllRows(t *testing.T, url, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := getStatus(t, url, id)
		if st.Status == wire.JobCompleted {
			if st.ProcessedCount != int64(n) || st.TotalCount != int64(n) || st.InvalidCount != 0 {
				t.Fatalf("completed job: got %+v, want %d rows processed, none invalid", st, n)
			}
			break
		}
		if st.Status != wire.JobRunning && st.Status != wire.JobQueued || time.Now().After(deadline) {
			t.Fatalf("job after restart: got %+v, want it to complete", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
