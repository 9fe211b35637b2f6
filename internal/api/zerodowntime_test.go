package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/compare"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/wire"
)

// loadResult is what the load saw.
type loadResult struct {
	requests, non200 int
	versions         map[string]int
	problems         []string // the first few unexpected answers
	elapsed          time.Duration
}

// driveLoad posts to url+"/predict" at about rate requests a second, from workers
// connections, until ctx ends. Every tenth request is a /predict/batch of batchRows copies of
// the same row: each of its rows must have the probability want[version] of the version that
// answered it, so a batch scored by two versions is caught.
func driveLoad(ctx context.Context, url string, rate, workers, batchRows int, want map[string]float64) loadResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}, Timeout: 10 * time.Second}
	one := txBody(firstRow, nil, "")
	rows := make([]string, batchRows)
	for i := range rows {
		rows[i] = string(one)
	}
	batch := []byte(`{"transactions":[` + strings.Join(rows, ",") + `]}`)

	ticks := make(chan int, workers)
	var mu sync.Mutex
	res := loadResult{versions: map[string]int{}}
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(res.problems) < 5 {
			res.problems = append(res.problems, fmt.Sprintf(format, args...))
		}
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range ticks {
				path, body := "/predict", one
				if i%10 == 9 {
					path, body = "/predict/batch", batch
				}
				resp, err := client.Post(url+path, "application/json", bytes.NewReader(body))
				if err != nil {
					problem("%s: %v", path, err)
					mu.Lock()
					res.requests++
					res.non200++
					mu.Unlock()
					continue
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				version := ""
				if resp.StatusCode == 200 {
					if path == "/predict" {
						var p wire.PredictResponse
						_ = json.Unmarshal(data, &p)
						version = p.ModelVersion
					} else {
						var b wire.PredictBatchResponse
						_ = json.Unmarshal(data, &b)
						version = b.ModelVersion
						for j, r := range b.Results {
							if r.Error != nil || r.FraudProbability != want[version] {
								problem("batch answered by %s: row %d is %+v, want probability %v", version, j, r, want[version])
								break
							}
						}
					}
				} else {
					problem("%s: %d %s", path, resp.StatusCode, data)
				}
				mu.Lock()
				res.requests++
				if resp.StatusCode != 200 {
					res.non200++
				}
				res.versions[version]++
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	// A tick every millisecond sends what is due by now, so a late tick is caught up on.
	tick := time.NewTicker(time.Millisecond)
	for sent := 0; ctx.Err() == nil; {
		select {
		case <-ctx.Done():
			continue
		case <-tick.C:
		}
		for due := int(time.Since(start) * time.Duration(rate) / time.Second); sent < due && ctx.Err() == nil; sent++ {
			ticks <- sent
		}
	}
	tick.Stop()
	close(ticks)
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// TestZeroDowntimeReload drives /predict at about 1,000 requests a second over real HTTP
// while the live model is switched 20 times between v1 and v2 (without caching, so each switch
// loads the bundle again), and a corrupt newest bundle is offered halfway: not one answer is
// other than 200, every answer names v1 or v2, every batch is scored by one version, and the
// corrupt bundle is refused and counted.
func TestZeroDowntimeReload(t *testing.T) {
	r := mustModelsRig(t, Options{})
	srv := httptest.NewServer(r.srv)
	defer srv.Close()
	want := map[string]float64{}
	for _, v := range []string{"v1", "v2"} {
		m, err := model.Load(filepath.Join(r.root, v))
		if err != nil {
			t.Fatal(err)
		}
		want[v] = m.Probability(&firstRow)
	}
	if want["v1"] == want["v2"] {
		t.Fatal("the two versions score the row alike: the test could not tell them apart")
	}

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan loadResult, 1)
	go func() { done <- driveLoad(ctx, srv.URL, 1000, 32, 20, want) }()
	time.Sleep(100 * time.Millisecond)

	admin := func(path string, body []byte) *http.Response {
		req, _ := http.NewRequest("POST", srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", adminEnv)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	switches, refused := 0, 0
	for i := range 20 {
		version := []string{"v1", "v2"}[i%2]
		var resp *http.Response
		if version == "v2" && i%4 == 1 {
			resp = admin("/models/reload", nil) // the newest: v2
		} else {
			resp = admin("/models/activate", activateBody(version))
		}
		if resp.StatusCode != 200 {
			t.Errorf("switch %d to %s: got %d", i, version, resp.StatusCode)
		}
		switches++
		if i == 10 {
			// A half-written bundle, newer than both: its manifest is there, its member cut.
			dir := filepath.Join(r.root, "v3")
			if err := os.CopyFS(dir, os.DirFS(filepath.Join(r.root, "v2"))); err != nil {
				t.Fatal(err)
			}
			editJSON(t, filepath.Join(dir, model.ManifestFile), func(m map[string]any) {
				m["version"], m["created_at"] = "v3", "2026-11-27T00:00:00Z"
			})
			if err := os.Truncate(filepath.Join(dir, "logreg.json"), 40); err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct {
				path string
				body []byte
			}{{"/models/reload", nil}, {"/models/activate", activateBody("v3")}} {
				if resp := admin(p.path, p.body); resp.StatusCode != 422 {
					t.Errorf("%s onto the half-written v3: got %d, want 422", p.path, resp.StatusCode)
				} else {
					refused++
				}
			}
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	stop()
	res := <-done

	t.Logf("%d requests in %v (%.0f/s) across %d switches: %v", res.requests, res.elapsed.Round(time.Millisecond),
		float64(res.requests)/res.elapsed.Seconds(), switches, res.versions)
	if res.non200 != 0 || len(res.problems) > 0 {
		t.Errorf("%d answers were not 200; first problems: %q", res.non200, res.problems)
	}
	for v := range res.versions {
		if v != "v1" && v != "v2" {
			t.Errorf("an answer named model_version %q, want v1 or v2", v)
		}
	}
	if res.versions["v1"] == 0 || res.versions["v2"] == 0 {
		t.Errorf("answers by version %v: want both, or the switches did not happen under load", res.versions)
	}
	if res.requests < 500 {
		t.Errorf("only %d requests: the load did not run", res.requests)
	}
	if got := metricValue(t, r.metrics, "fraudguard_model_reloads_total", "outcome=failure"); got != float64(refused) || refused != 2 {
		t.Errorf("reloads{failure}: got %v, want the 2 refusals of v3", got)
	}
	if got := metricValue(t, r.metrics, "fraudguard_model_reloads_total", "outcome=success"); got != 20 {
		t.Errorf("reloads{success}: got %v, want 20", got)
	}
}

// editJSON rewrites a JSON object file through f.
func editJSON(t testing.TB, path string, f func(map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPredictDuringReloads is the zero-downtime test at full speed (run it without
// -race): /predict through the whole chain from every core while another goroutine switches
// the live model between v1 and v2 without pause. Compare with BenchmarkPredict for the cost
// of the switching; any answer other than 200 fails it.
func BenchmarkPredictDuringReloads(b *testing.B) {
	r := mustModelsRig(b, Options{})
	body := txBody(firstRow, nil, "")
	ctx, stop := context.WithCancel(context.Background())
	var switches atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			if _, err := r.manager.Activate(ctx, []string{"v1", "v2"}[i%2], model.Actor{Trigger: "bench"}); err != nil && ctx.Err() == nil {
				b.Error(err)
				return
			}
			switches.Add(1)
		}
	})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("POST", "/predict", nil)
		req.Header.Set("Content-Type", "application/json")
		br := bytes.NewReader(body)
		req.Body = io.NopCloser(br)
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			br.Reset(body)
			clear(w.h)
			w.code = 0
			r.srv.ServeHTTP(w, req)
			if w.code != 200 {
				b.Errorf("got status %d", w.code)
				return
			}
		}
	})
	b.StopTimer()
	stop()
	wg.Wait()
	b.ReportMetric(float64(switches.Load())/b.Elapsed().Seconds(), "switches/s")
}

// BenchmarkPredictShadow is /predict with a shadow model: the answer hands the transaction to
// the comparer's queue and does not wait for its second score. Compare with
// BenchmarkPredictDuringReloads' set-up without a shadow (and with BenchmarkPredict).
func BenchmarkPredictShadow(b *testing.B) {
	for _, shadow := range []bool{false, true} {
		b.Run(fmt.Sprintf("shadow=%v", shadow), func(b *testing.B) {
			r := mustModelsRig(b, Options{})
			if shadow {
				c, err := compare.New(nil, compare.Options{Mode: compare.ModeShadow})
				if err != nil {
					b.Fatal(err)
				}
				m, err := r.manager.Hold("v1")
				if err != nil {
					b.Fatal(err)
				}
				ctx, stop := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- c.Run(ctx) }()
				b.Cleanup(func() {
					stop()
					<-done
					b.ReportMetric(float64(c.Dropped())/float64(b.N), "dropped/op")
				})
				r.srv.opts.Compare, r.srv.opts.Shadow = c, m
			}
			benchPredictPath(b, r.srv, "/predict", txBody(firstRow, map[string]any{"transaction_id": "txn-bench"}, ""))
		})
	}
}
