package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/redistest"
	"github.com/fraudguard/fraudguard/internal/store/postgres/pgtest"
)

// pg is the PostgreSQL server of the tests that need one, started by the first of them.
var pg struct {
	once sync.Once
	srv  *pgtest.Server
}

func pgServer() *pgtest.Server {
	pg.once.Do(func() { pg.srv = pgtest.Start() })
	return pg.srv
}

func TestMain(m *testing.M) {
	// serve starts this executable's decision-writer command; under go test that is the test
	// binary, which runs the command as the real binary would.
	if len(os.Args) > 1 && os.Args[1] == "decision-writer" {
		main()
	}
	code := m.Run()
	if pg.srv != nil {
		pg.srv.Stop()
	}
	os.Exit(code)
}

// TestServeOnPostgres runs two instances on one PostgreSQL database: a job submitted to one is
// seen and worked by both, every row scored once, and the audit log is the same from either.
func TestServeOnPostgres(t *testing.T) {
	url := pgServer().Schema(t)
	env := func() map[string]string {
		return map[string]string{"DATABASE_URL": url, "BATCH_CHUNK_ROWS": "100", "BATCH_WORKERS": "2",
			"RATE_LIMIT_PER_MINUTE": "0", "ADMIN_API_KEY": "admin-key-0123456789abcdef"}
	}
	a := mustServe(t, env())
	b := mustServe(t, env())

	var body bytes.Buffer
	body.WriteString("Time,V1,V2,V3,V4,V5,V6,V7,V8,V9,V10,V11,V12,V13,V14,V15,V16,V17,V18,V19,V20,V21,V22,V23,V24,V25,V26,V27,V28,Amount\n")
	const rows = 20000
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&body, "%d,-1.36,-0.07,2.54,1.38,-0.34,0.46,0.24,0.1,0.36,0.09,-0.55,-0.62,-0.99,%g,1.47,-0.47,0.21,0.03,0.4,0.25,-0.02,0.28,-0.11,0.07,0.13,-0.19,0.13,-0.02,%d.5\n",
			i, -float64(i%40)/4, i%300)
	}
	resp, sub := call(t, "POST", a.url+"/batch", "text/csv", body.String(), "Idempotency-Key", "pg-1")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: got %d %v", resp.StatusCode, sub)
	}
	id := sub["job_id"].(string)
	// The same key on the other instance finds the same job.
	if resp, again := call(t, "POST", b.url+"/batch", "text/csv", body.String(), "Idempotency-Key", "pg-1"); again["job_id"] != id {
		t.Errorf("resubmit on the other instance: got %d %v, want job %s", resp.StatusCode, again, id)
	}
	checkAllRows(t, b.url, id, rows)
	if st := getStatus(t, b.url, id); st.ModelVersion == "" || st.ModelVersion != liveVersion(t, a) {
		t.Errorf("job's model: got %q, want the live version %s", st.ModelVersion, liveVersion(t, a))
	}

	// Both instances' workers took part, and between them scored every row once.
	var sum float64
	for _, s := range []*liveServer{a, b} {
		n := batchRows(t, s.url)
		if n == 0 {
			t.Errorf("instance %s scored no rows of the job", s.url)
		}
		sum += n
	}
	if sum != rows {
		t.Errorf("rows scored by the two instances: got %v, want %d", sum, rows)
	}

	// A transaction scored on one instance is labelled through the other, and its decision,
	// with the label, is read back through the first.
	tx := strings.Replace(firstTransaction, `"Amount":149.62}`, `"Amount":149.62,"transaction_id":"pg-shared-1"}`, 1)
	if resp, body := call(t, "POST", a.url+"/predict", "application/json", tx); resp.StatusCode != 200 {
		t.Fatalf("predict: got %d %v", resp.StatusCode, body)
	}
	feedback := `{"labels":[{"transaction_id":"pg-shared-1","label":"fraud","source":"chargeback"}]}`
	result := ""
	for range 100 { // the decision is written by the first instance's writer, in the background
		_, fb := call(t, "POST", b.url+"/feedback", "application/json", feedback, "X-API-Key", "admin-key-0123456789abcdef")
		if rs, _ := fb["results"].([]any); len(rs) == 1 {
			result, _ = rs[0].(map[string]any)["result"].(string)
		}
		if result == "recorded" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if result != "recorded" {
		t.Fatalf("feedback through the other instance: got %q, want recorded", result)
	}
	if _, d := call(t, "GET", a.url+"/decisions/pg-shared-1", "", "", "X-API-Key", "admin-key-0123456789abcdef"); !strings.Contains(fmt.Sprint(d), "chargeback") {
		t.Errorf("decision read back through the first instance: got %v, want it labelled by the chargeback", d)
	}

	// An admin action on one instance is in the audit log read through the other.
	if resp, _ := call(t, "POST", a.url+"/models/reload", "", "", "X-API-Key", "admin-key-0123456789abcdef"); resp.StatusCode != 200 {
		t.Fatalf("reload: got %d", resp.StatusCode)
	}
	deadline := 50
	for ; deadline > 0; deadline-- {
		_, list := call(t, "GET", b.url+"/security/audit?action=model_reload", "", "", "X-API-Key", "admin-key-0123456789abcdef")
		if list["total"] == 1.0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if deadline == 0 {
		t.Errorf("the reload audited on one instance never showed on the other")
	}
}

// TestServeRejectsBadDatabaseURL: a DATABASE_URL the driver cannot use stops start-up with
// one line naming the setting (and not the password) and exit status 2; one that points at no
// server stops it too.
func TestServeRejectsBadDatabaseURL(t *testing.T) {
	models := shippedModels(t)
	for _, tc := range []struct {
		name, url string
		code      int
		want      string
	}{
		{"scheme", "mysql://u:hunter22@db/x", 2, "DATABASE_URL"},
		{"bad option", "postgres://u:hunter22@127.0.0.1:5432/x?sslmode=sometimes", 2, "DATABASE_URL"},
		{"no server", "postgres://u:hunter22@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", 1, "open store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"MODEL_PATH": models, "DATA_DIR": t.TempDir(), "DATABASE_URL": tc.url}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, nil, &stdout, &stderr)
			code := exitCode(err, &stderr)
			if code != tc.code {
				t.Fatalf("got exit %d (%v), want %d", code, err, tc.code)
			}
			msg := stderr.String()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "hunter22") || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Errorf("got stderr %q, want one line naming %s without the password", msg, tc.want)
			}
			if strings.Contains(stdout.String(), `"msg":"listening"`) {
				t.Errorf("server listened despite the bad setting")
			}
		})
	}
}

// batchRows reads fraudguard_batch_rows_total from the server's /metrics.
func batchRows(t *testing.T, url string) float64 {
	t.Helper()
	return metricValue(t, url, "fraudguard_batch_rows_total")
}

// TestServeSharedRateLimit: two instances on one Redis allow between them what one allows.
func TestServeSharedRateLimit(t *testing.T) {
	rd := redistest.Start(t)
	env := func() map[string]string {
		return map[string]string{"REDIS_URL": rd.URL(), "RATE_LIMIT_PER_MINUTE": "30", "RATE_LIMIT_BURST": "30"}
	}
	servers := []*liveServer{mustServe(t, env()), mustServe(t, env())}
	allowed, limited := 0, 0
	start := time.Now()
	for i := 0; i < 90; i++ {
		resp, body := call(t, "POST", servers[i%2].url+"/predict", "application/json", firstTransaction)
		switch resp.StatusCode {
		case http.StatusOK:
			allowed++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("request %d: got %d %v", i, resp.StatusCode, body)
		}
	}
	// 30 at once, and one more for each 2 s the loop took (well under one, unless the machine
	// is very busy).
	if most := 31 + int(time.Since(start)/(2*time.Second)); allowed < 30 || allowed > most {
		t.Errorf("allowed by two instances: got %d (limited %d), want 30 to %d (one bucket, not two)", allowed, limited, most)
	}

	// Without Redis each instance still limits, on its own: a fresh bucket of 30 each.
	rd.Kill()
	for _, s := range servers {
		allowed = 0
		start := time.Now()
		for i := 0; i < 40; i++ {
			resp, body := call(t, "POST", s.url+"/predict", "application/json", firstTransaction)
			switch resp.StatusCode {
			case http.StatusOK:
				allowed++
			case http.StatusTooManyRequests:
			default:
				t.Fatalf("without redis, request %d: got %d %v", i, resp.StatusCode, body)
			}
		}
		if most := 31 + int(time.Since(start)/(2*time.Second)); allowed < 30 || allowed > most {
			t.Errorf("without redis, allowed by %s: got %d of 40, want 30 to %d (its own limiter)", s.url, allowed, most)
		}
	}
}

// TestServeDependenciesDown stops Redis, then PostgreSQL, under an instance: /predict never
// fails, /health says degraded, job submission answers 503 SERVICE_UNAVAILABLE with a
// retry_after while the database is down, and both recover by themselves within 5 s of
// coming back.
func TestServeDependenciesDown(t *testing.T) {
	rd := redistest.Start(t)
	db := pgtest.Start() // its own server: this test stops it
	t.Cleanup(db.Stop)
	s := mustServe(t, map[string]string{"REDIS_URL": rd.URL(), "DATABASE_URL": db.Schema(t),
		"RATE_LIMIT_PER_MINUTE": "1000000", "HEALTH_CHECK_INTERVAL": "200ms", "DB_CONNECT_TIMEOUT": "1s"})
	predict := func(when string) {
		t.Helper()
		if resp, body := call(t, "POST", s.url+"/predict", "application/json", firstTransaction); resp.StatusCode != http.StatusOK {
			t.Fatalf("/predict %s: got %d %v", when, resp.StatusCode, body)
		}
	}
	health := func() string {
		_, h := call(t, "GET", s.url+"/health", "", "")
		st, _ := h["status"].(string)
		return st
	}
	waitFor := func(what string, within time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !ok() {
			predict("while waiting for " + what)
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s", what, within)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	const csvBody = "Time,V1,V2,V3,V4,V5,V6,V7,V8,V9,V10,V11,V12,V13,V14,V15,V16,V17,V18,V19,V20,V21,V22,V23,V24,V25,V26,V27,V28,Amount\n" +
		"0,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,5\n"
	submit := func() (int, map[string]any) {
		resp, body := call(t, "POST", s.url+"/batch", "text/csv", csvBody)
		return resp.StatusCode, body
	}

	waitFor("healthy at start", 5*time.Second, func() bool { return health() == "healthy" })
	predict("with everything up")

	rd.Kill()
	waitFor("degraded without redis", 5*time.Second, func() bool { return health() == "degraded" })
	for range 20 {
		predict("without redis")
	}
	if n := metricValue(t, s.url, `fraudguard_dependency_fallbacks_total{dependency="redis"}`); n <= 0 {
		t.Errorf("fallbacks to the instance's own limiter: got %v, want > 0", n)
	}
	rd.Restart(t)
	back := time.Now()
	waitFor("healthy with redis back", 5*time.Second, func() bool { return health() == "healthy" })
	t.Logf("redis: healthy again %s after it came back", time.Since(back).Round(time.Millisecond))

	db.Kill(t)
	waitFor("degraded without postgres", 5*time.Second, func() bool { return health() == "degraded" })
	var code int
	var body map[string]any
	waitFor("503 on submission without postgres", 5*time.Second, func() bool {
		code, body = submit()
		return code == http.StatusServiceUnavailable
	})
	if body["error_code"] != "SERVICE_UNAVAILABLE" || body["retry_after"] == nil {
		t.Errorf("submission without postgres: got %d %v, want SERVICE_UNAVAILABLE with retry_after", code, body)
	}
	start := time.Now()
	for range 20 {
		predict("without postgres")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("20 predictions without postgres took %s: they must not wait on it", d)
	}
	db.Restart(t)
	back = time.Now()
	waitFor("submission accepted with postgres back", 5*time.Second, func() bool {
		code, body = submit()
		return code == http.StatusAccepted
	})
	waitFor("healthy with postgres back", 5*time.Second, func() bool { return health() == "healthy" })
	t.Logf("postgres: healthy again %s after it came back", time.Since(back).Round(time.Millisecond))
}

// metricValue reads one sample, by its name and labels as exposed, from /metrics.
func metricValue(t *testing.T, url, sample string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s %q: %v", sample, v, err)
			}
			return n
		}
	}
	return 0
}

// TestServeFollowsActivationOnPostgres: a version activated through one instance is live on
// the other within 5 s (it polls the activation history every MODEL_SYNC_INTERVAL).
func TestServeFollowsActivationOnPostgres(t *testing.T) {
	root := t.TempDir()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	copyVersion(t, root, "v1", day)
	copyVersion(t, root, "v2", day.Add(24*time.Hour))
	const admin = "admin-key-for-the-follow-test"
	url := pgServer().Schema(t)
	env := func() map[string]string {
		return map[string]string{"MODEL_PATH": root, "DATABASE_URL": url, "ADMIN_API_KEY": admin, "RATE_LIMIT_PER_MINUTE": "0", "MODEL_SYNC_INTERVAL": "200ms"}
	}
	a := mustServe(t, env())
	b := mustServe(t, env())
	if va, vb := liveVersion(t, a), liveVersion(t, b); va != "v2" || vb != "v2" {
		t.Fatalf("at start: %s and %s live, want v2 on both", va, vb)
	}
	for _, tc := range []struct{ on, other *liveServer }{{a, b}, {b, a}} {
		want := "v1"
		if liveVersion(t, tc.on) == "v1" {
			want = "v2"
		}
		resp, body := call(t, "POST", tc.on.url+"/models/activate", "application/json", `{"version":"`+want+`"}`, "X-API-Key", admin)
		if resp.StatusCode != 200 {
			t.Fatalf("activate %s: %d %v", want, resp.StatusCode, body)
		}
		start := time.Now()
		for liveVersion(t, tc.other) != want {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("%s activated on one instance, not live on the other after 5s", want)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s live on the other instance %s after its activation", want, time.Since(start).Round(time.Millisecond))
	}
}

// TestProbe: the container health check exits 0 on a ready server, 1 on a route that is not
// 200 or a server that is not there.
func TestProbe(t *testing.T) {
	s := mustServe(t, nil)
	for _, tc := range []struct {
		url  string
		code int
	}{
		{s.url + "/health/ready", 0},
		{s.url + "/nowhere", 1},
		{"http://127.0.0.1:1/health/ready", 1},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"probe", "--url", tc.url, "--timeout", "2s"}, func(string) string { return "" }, nil, &stdout, &stderr)
		if code := exitCode(err, &stderr); code != tc.code {
			t.Errorf("probe %s: got exit %d (%v), want %d", tc.url, code, err, tc.code)
		}
	}
}
