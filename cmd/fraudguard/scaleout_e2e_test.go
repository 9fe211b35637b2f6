//go:build scaleout

package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/client"
	"github.com/fraudguard/fraudguard/internal/redistest"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
	"github.com/fraudguard/fraudguard/internal/store/postgres/pgtest"
	"github.com/fraudguard/fraudguard/wire"
)

// The scale-out test (make test-scaleout, scripts/scaleout.sh): three instances of the real
// binary on one PostgreSQL and one Redis, behind nginx, all on 127.0.0.1. Its four scenarios
// run in order on the same cluster; the figures it measures are logged with -v.

const (
	limitedKey = "scaleout-limited-key-0000000001"  // predict, with its own limit of limitPerMinute
	loadKey    = "scaleout-load-key-00000000000001" // predict and batch, no limit
	adminKey   = "scaleout-admin-key-0000000000001"
	// limitPerMinute is the limited key's limit: bursts of as many, then one every 100 ms.
	limitPerMinute = 600
	jobRows        = 200_000
)

type cluster struct {
	bin       string
	env       [][]string
	instances []*binaryServer
	lb        string // nginx's URL
	db        *pgtest.Server
	rd        *redistest.Server
	// top is the whole test: instances started again in a scenario must outlive it.
	top *testing.T
}

// restart starts instance i again, tied to the whole test rather than to one scenario.
func (c *cluster) restart(i int) { c.instances[i] = startBinary(c.top, c.bin, c.env[i]) }

func TestScaleOut(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		nginx = "/usr/sbin/nginx"
	}
	if _, err := os.Stat(nginx); err != nil {
		msg := "no nginx for the scale-out test (install the Debian packages with make deps)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	start := time.Now()
	c := startCluster(t, nginx)
	t.Logf("cluster up in %s: 3 instances behind nginx at %s", time.Since(start).Round(time.Millisecond), c.lb)

	t.Run("GlobalRateLimit", func(t *testing.T) { testGlobalLimit(t, c) })
	t.Run("JobAcrossInstancesSurvivesKill9", func(t *testing.T) { testJobKill9(t, c) })
	t.Run("RollingRestart", func(t *testing.T) { testRollingRestart(t, c) })
	t.Run("DependenciesDown", func(t *testing.T) { testDependenciesDown(t, c) })
	t.Logf("scale-out test: %s in all", time.Since(start).Round(time.Second))
}

func startCluster(t *testing.T, nginx string) *cluster {
	dir := t.TempDir()
	c := &cluster{bin: filepath.Join(dir, "fraudguard"), top: t}
	if out, err := exec.Command("go", "build", "-o", c.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c.db = pgServer()
	dbURL := c.db.Schema(t)
	c.rd = redistest.Start(t)

	keys := filepath.Join(dir, "keys.yaml")
	hash := func(k string) string { h := sha256.Sum256([]byte(k)); return hex.EncodeToString(h[:]) }
	if err := os.WriteFile(keys, []byte(fmt.Sprintf(`keys:
  - name: limited
    sha256: %s
    scopes: [predict]
    rate_limit_per_minute: %d
  - name: load
    sha256: %s
    scopes: [predict, batch]
`, hash(limitedKey), limitPerMinute, hash(loadKey))), 0o600); err != nil {
		t.Fatal(err)
	}
	ports := make([]int, 4)
	for i := range ports {
		ports[i] = freePort(t)
	}
	for i := 0; i < 3; i++ {
		env := []string{
			"PATH=" + os.Getenv("PATH"),
			"MODEL_PATH=" + shippedModels(t),
			"DATA_DIR=" + filepath.Join(dir, fmt.Sprintf("data%d", i)),
			"API_HOST=127.0.0.1",
			"API_PORT=" + strconv.Itoa(ports[i]),
			"API_KEYS_FILE=" + keys,
			"ADMIN_API_KEY=" + adminKey,
			"DATABASE_URL=" + dbURL,
			"REDIS_URL=" + c.rd.URL(),
			"RATE_LIMIT_PER_MINUTE=0",
			"METRICS_PUBLIC=true",
			"LOG_LEVEL=INFO",
			"BATCH_CHUNK_ROWS=5000",
			"BATCH_WORKERS=1",
			"BATCH_LEASE=3s",
			"HEALTH_CHECK_INTERVAL=250ms",
			"DB_CONNECT_TIMEOUT=1s",
			"SHUTDOWN_TIMEOUT=10s",
		}
		c.env = append(c.env, env)
		c.instances = append(c.instances, startBinary(t, c.bin, env))
	}

	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(dir, ports[3], ports[:3])), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "nginx-error.log"))
	out := &sharedtest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	c.lb = fmt.Sprintf("http://127.0.0.1:%d", ports[3])
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(c.lb + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "nginx-error.log"))
			t.Fatalf("nginx not answering: %v\n%s\n%s", err, out, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// nginxConf balances over the instances. A request that failed on one instance (it refused the
// connection, or closed it while restarting) is tried on the next only when that is safe:
// always for /predict and /predict/batch, which change nothing, and for POST /batch only with an
// Idempotency-Key, which makes a second submission find the first job.
func nginxConf(dir string, port int, upstreams []int) string {
	var servers strings.Builder
	for _, p := range upstreams {
		fmt.Fprintf(&servers, "        server 127.0.0.1:%d max_fails=0;\n", p)
	}
	return fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
user root;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    client_max_body_size 200m;
    upstream fraudguard {
%[3]s        keepalive 32;
    }
    server {
        listen 127.0.0.1:%[2]d;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_request_buffering on;
        proxy_next_upstream error timeout http_502 http_503;
        proxy_next_upstream_tries 3;
        location /predict {
            proxy_next_upstream error timeout http_502 non_idempotent;
            proxy_pass http://fraudguard;
        }
        location = /batch {
            error_page 418 = @batch_once;
            if ($http_idempotency_key = "") { return 418; }
            proxy_next_upstream error timeout http_502 non_idempotent;
            proxy_pass http://fraudguard;
        }
        location @batch_once {
            proxy_next_upstream error timeout;
            proxy_pass http://fraudguard;
        }
        location / {
            proxy_pass http://fraudguard;
        }
    }
}
`, dir, port, servers.String())
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// post sends body to url with the key, and returns the status (0 for a transport error).
func post(client *http.Client, url, key, contentType, body string, header ...string) (int, string) {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-API-Key", key)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

// Scenario 1: the limited key's limit holds across the three instances, within ±5%: GCRA
// allows a burst of limitPerMinute, then limitPerMinute/60 a second.
func testGlobalLimit(t *testing.T, c *cluster) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var allowed, limited, other atomic.Int64
	const sent = 3 * limitPerMinute
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= sent {
				code, _ := post(client, c.lb+"/predict", limitedKey, "application/json", firstTransaction)
				switch code {
				case 200:
					allowed.Add(1)
				case 429:
					limited.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	want := float64(limitPerMinute) + elapsed.Seconds()*limitPerMinute/60
	got := float64(allowed.Load())
	t.Logf("limit %d/min across 3 instances: %d requests in %s, %d allowed (one bucket: %.0f; three buckets would allow up to %d), %d limited",
		limitPerMinute, sent, elapsed.Round(time.Millisecond), allowed.Load(), want, 3*limitPerMinute, limited.Load())
	if other.Load() != 0 {
		t.Errorf("%d answers were neither 200 nor 429", other.Load())
	}
	if math.Abs(got-want) > 0.05*want {
		t.Errorf("allowed: got %.0f, want %.0f ±5%%", got, want)
	}
}

// Scenario 2: a 200,000-row job submitted through nginx is worked by all three instances; one
// of them is killed with SIGKILL in the middle; the job completes with every row exactly once.
func testJobKill9(t *testing.T, c *cluster) {
	data := filepath.Join(t.TempDir(), "tx.csv")
	if out, err := exec.Command(c.bin, "gen", "--rows", strconv.Itoa(jobRows), "--seed", "7", "--out", data).CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	body, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	before := make([]float64, 3)
	for i, s := range c.instances {
		before[i] = batchRows(t, s.url)
	}
	start := time.Now()
	code, resp := post(http.DefaultClient, c.lb+"/batch", loadKey, "text/csv", string(body), "Idempotency-Key", "scaleout-job-1")
	if code != http.StatusAccepted {
		t.Fatalf("submit: got %d %s", code, resp)
	}
	id := jsonField(t, resp, "job_id")
	t.Logf("job %s: %d rows (%d MB) accepted through nginx in %s", id, jobRows, len(body)>>20, time.Since(start).Round(time.Millisecond))

	// Kill one instance once all three have scored part of the job.
	victim := 2
	deadline := time.Now().Add(60 * time.Second)
	for {
		all := true
		for i, s := range c.instances {
			all = all && batchRows(t, s.url) > before[i]
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every instance took part within 60s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := jobStatus(t, c.lb, id)
	if st.Status != wire.JobRunning {
		t.Fatalf("the job was %s before the kill: make it larger", st.Status)
	}
	killed := c.instances[victim]
	_ = killed.cmd.Process.Kill()
	<-killed.done
	t.Logf("instance %d killed with SIGKILL at %d of %d rows", victim, st.ProcessedCount, jobRows)

	waitDone := time.Now().Add(90 * time.Second)
	for {
		st = jobStatus(t, c.lb, id)
		if st.Status == wire.JobCompleted {
			break
		}
		if st.Status != wire.JobRunning || time.Now().After(waitDone) {
			t.Fatalf("job: got %+v, want it to complete", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("job completed %s after submission, %d rows", time.Since(start).Round(time.Millisecond), st.ProcessedCount)
	if st.ProcessedCount != jobRows || st.TotalCount != jobRows {
		t.Errorf("completed job: got %d of %d rows processed, want %d", st.ProcessedCount, st.TotalCount, jobRows)
	}
	for i, s := range c.instances {
		if i != victim {
			t.Logf("instance %d scored %.0f rows", i, batchRows(t, s.url)-before[i])
		}
	}
	checkEachRowOnce(t, c.lb, id, jobRows)

	// Bring the killed instance back for the scenarios that follow.
	c.restart(victim)
}

func jsonField(t *testing.T, body, field string) string {
	t.Helper()
	i := strings.Index(body, `"`+field+`":"`)
	if i < 0 {
		t.Fatalf("no %s in %s", field, body)
	}
	rest := body[i+len(field)+4:]
	return rest[:strings.IndexByte(rest, '"')]
}

// checkEachRowOnce downloads the job's results as CSV through nginx and checks that rows
// 0..n-1 each appear exactly once, scored.
func checkEachRowOnce(t *testing.T, lb, id string, n int) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", lb+"/batch/"+id+"/results", nil)
	req.Header.Set("Accept", "text/csv")
	req.Header.Set("X-API-Key", loadKey)
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
		if err != nil || row < 0 || row >= n || seen[row] || rec[2] == "" {
			t.Fatalf("result %d: row %q (seen before: %v), score %q", count, rec[0], row >= 0 && row < n && seen[row], rec[2])
		}
		seen[row] = true
		count++
	}
	if count != n {
		t.Fatalf("got %d results, want %d", count, n)
	}
}

// load sends requests through nginx until stop is closed and counts the failures: /predict
// all the time and, now and then, a small job with an Idempotency-Key.
// smallJob is a one-row job.
const smallJob = "Time,V1,V2,V3,V4,V5,V6,V7,V8,V9,V10,V11,V12,V13,V14,V15,V16,V17,V18,V19,V20,V21,V22,V23,V24,V25,V26,V27,V28,Amount\n" +
	"0,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,5\n"

type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   []string
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startLoad(lb string, workers int) *load {
	l := &load{stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				var code int
				var body string
				want := 200
				if w == 0 && i%50 == 0 {
					code, body = post(client, lb+"/batch", loadKey, "text/csv", smallJob, "Idempotency-Key", fmt.Sprintf("load-%d-%d", time.Now().UnixNano(), i))
					want = 202
				} else {
					code, body = post(client, lb+"/predict", loadKey, "application/json", firstTransaction)
				}
				if code == want {
					l.ok.Add(1)
					continue
				}
				l.failed.Add(1)
				l.mu.Lock()
				if len(l.failures) < 5 {
					l.failures = append(l.failures, fmt.Sprintf("%d %s", code, body))
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *load) end(t *testing.T, what string) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("%s: %d requests answered, %d failed", what, l.ok.Load(), l.failed.Load())
	if l.failed.Load() != 0 {
		t.Errorf("%s: %d requests failed; first: %v", what, l.failed.Load(), l.failures)
	}
}

// Scenario 3: each instance in turn is stopped (SIGTERM: it drains) and started again while
// clients keep sending; no request fails.
func testRollingRestart(t *testing.T, c *cluster) {
	l := startLoad(c.lb, 4)
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	for i := range c.instances {
		c.instances[i].stop(t)
		c.restart(i)
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("rolling restart of 3 instances in %s", time.Since(start).Round(time.Millisecond))
	l.end(t, "rolling restart")
}

// Scenario 4: Redis, then PostgreSQL, stops under load: /predict never fails; both come back
// and every instance is healthy again within 5 s.
func testDependenciesDown(t *testing.T, c *cluster) {
	predictOnly := startPredictLoad(c.lb, 4)
	c.rd.Kill()
	time.Sleep(2 * time.Second)
	c.rd.Restart(t)
	back := time.Now()
	c.waitHealthy(t, "redis back")
	t.Logf("redis: every instance healthy %s after it came back", time.Since(back).Round(time.Millisecond))

	c.db.Kill(t)
	time.Sleep(time.Second)
	code, body := post(http.DefaultClient, c.lb+"/batch", loadKey, "text/csv", smallJob, "Idempotency-Key", "while-db-down")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "SERVICE_UNAVAILABLE") || !strings.Contains(body, "retry_after") {
		t.Errorf("submission without postgres: got %d %s, want 503 SERVICE_UNAVAILABLE with retry_after", code, body)
	}
	time.Sleep(time.Second)
	c.db.Restart(t)
	back = time.Now()
	c.waitHealthy(t, "postgres back")
	t.Logf("postgres: every instance healthy %s after it came back", time.Since(back).Round(time.Millisecond))
	predictOnly.end(t, "redis and postgres stopped in turn")
}

func startPredictLoad(lb string, workers int) *load {
	l := &load{stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				code, body := post(client, lb+"/predict", loadKey, "application/json", firstTransaction)
				if code == 200 {
					l.ok.Add(1)
					continue
				}
				l.failed.Add(1)
				l.mu.Lock()
				if len(l.failures) < 5 {
					l.failures = append(l.failures, fmt.Sprintf("%d %s", code, body))
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// waitHealthy waits, at most 5 s, until every instance's /health says healthy.
func (c *cluster) waitHealthy(t *testing.T, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for i, s := range c.instances {
		for {
			select {
			case <-s.done:
				t.Fatalf("%s: instance %d has exited:\n%s", what, i, s.logs)
			default:
			}
			_, h := call(t, "GET", s.url+"/health", "", "")
			if h["status"] == "healthy" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: instance %d not healthy within 5s: %v", what, i, h["dependencies"])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// jobStatus reads a job's status through nginx with the load key.
func jobStatus(t *testing.T, lb, id string) *wire.BatchStatusResponse {
	t.Helper()
	cl, err := client.New(lb, client.Options{APIKey: loadKey, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := cl.BatchStatus(context.Background(), id)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return st
}
