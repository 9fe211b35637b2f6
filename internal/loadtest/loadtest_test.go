package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/wire"
)

func TestCheck(t *testing.T) {
	good := Options{URL: "http://127.0.0.1:8000", Endpoint: EndpointPredict, Rate: 10, Duration: time.Second, Connections: 4, BatchSize: 10}
	tests := []struct {
		name string
		edit func(*Options)
		want string // in the error; empty: none
	}{
		{"good", func(*Options) {}, ""},
		{"closed loop", func(o *Options) { o.Rate, o.Max = 0, true }, ""},
		{"no URL", func(o *Options) { o.URL = "" }, "--url"},
		{"not http", func(o *Options) { o.URL = "ftp://x" }, "--url"},
		{"unknown endpoint", func(o *Options) { o.Endpoint = "predicts" }, "--endpoint"},
		{"rate and max", func(o *Options) { o.Max = true }, "exclude each other"},
		{"neither rate nor max", func(o *Options) { o.Rate = 0 }, "--rate 0"},
		{"negative rate", func(o *Options) { o.Rate = -5 }, "--rate -5"},
		{"too short", func(o *Options) { o.Duration = time.Millisecond }, "--duration"},
		{"no connections", func(o *Options) { o.Connections = 0 }, "--connections"},
		{"batch of none", func(o *Options) { o.Endpoint, o.BatchSize = EndpointBatch, 0 }, "--batch-size"},
		{"ordered ids", func(o *Options) { o.IDs = IDsOrdered }, ""},
		{"fixed ids", func(o *Options) { o.IDs = IDsFixed }, ""},
		{"unknown ids", func(o *Options) { o.IDs = "uuid" }, "--ids"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			err := o.Check()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestQuantiles(t *testing.T) {
	ds := make([]time.Duration, 0, 1000)
	for i := 1000; i >= 1; i-- { // 1..1000 ms, in reverse
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := quantiles(ds)
	want := Latency{Mean: 500.5, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestRunOpenLoop drives a server that refuses every fourth request and checks the counts,
// the request sent and the rate held.
func TestRunOpenLoop(t *testing.T) {
	var n atomic.Int64
	var bad atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tx wire.TransactionRequest
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/predict" || r.Header.Get("X-API-Key") != "k" || json.Unmarshal(body, &tx) != nil || tx.Amount != 149.62 {
			bad.Store(r.Method + " " + r.URL.Path + " " + string(body))
		}
		if n.Add(1)%4 == 0 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	var ticks atomic.Int64
	rep, err := Run(context.Background(), Options{URL: srv.URL, Endpoint: EndpointPredict, Rate: 200, Duration: 1500 * time.Millisecond,
		Connections: 8, APIKey: "k", Progress: func(Progress) { ticks.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if b := bad.Load(); b != nil {
		t.Errorf("the server got %v, want POST /predict with the key and the sample transaction", b)
	}
	if rep.Requests < 250 || rep.Requests > 310 {
		t.Errorf("got %d requests in 1.5 s at 200/s, want about 300", rep.Requests)
	}
	if got, want := rep.Statuses["429"], rep.Requests/4; got != want {
		t.Errorf("got %d answers 429, want %d", got, want)
	}
	if rep.Statuses["200"]+rep.Statuses["429"] != rep.Requests || rep.ErrorCount() != rep.Statuses["429"] {
		t.Errorf("statuses %v and errors %v do not add up to %d requests", rep.Statuses, rep.Errors, rep.Requests)
	}
	if rep.Success < 0.74 || rep.Success > 0.76 {
		t.Errorf("got success %.3f, want 0.75", rep.Success)
	}
	if rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.P99 || rep.Latency.P99 > rep.Latency.Max {
		t.Errorf("latencies out of order: %+v", rep.Latency)
	}
	if ticks.Load() == 0 {
		t.Error("no progress reported")
	}
	if !strings.Contains(rep.Text(), "429 Too Many Requests") {
		t.Errorf("the text report does not name the error:\n%s", rep.Text())
	}
}

// TestRunClosedLoop checks that --max keeps exactly Connections requests in flight and
// counts batch rows.
func TestRunClosedLoop(t *testing.T) {
	var inFlight, peak atomic.Int64
	var rows atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
		}
		var req wire.PredictBatchRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err == nil {
			rows.Store(int64(len(req.Transactions)))
		}
		time.Sleep(5 * time.Millisecond)
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	rep, err := Run(context.Background(), Options{URL: srv.URL, Endpoint: EndpointBatch, Max: true, Duration: time.Second, Connections: 3, BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	if peak.Load() != 3 {
		t.Errorf("got at most %d requests in flight, want 3", peak.Load())
	}
	if rows.Load() != 7 {
		t.Errorf("got batches of %d rows, want 7", rows.Load())
	}
	if rep.Mode != "closed" || rep.ErrorCount() != 0 || rep.RowsPerSec != rep.Throughput*7 {
		t.Errorf("got %+v", rep)
	}
	// 3 connections at 5 ms an answer: at most about 600 a second.
	if rep.Throughput > 650 || rep.Throughput < 100 {
		t.Errorf("got %.0f req/s, want at most 600", rep.Throughput)
	}
}

// uuidPattern is a UUID of version v and RFC 9562's variant, in lowercase hex.
func uuidPattern(v int) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`^[0-9a-f]{8}-[0-9a-f]{4}-%d[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, v))
}

// TestTransactionIDs checks that every transaction sent has an id of its own, a version 4
// UUID by default and a version 7 one, in the order sent, with IDsOrdered, in /predict and
// in /predict/batch alike; and that IDsFixed sends the same ids every time.
func TestTransactionIDs(t *testing.T) {
	for _, tc := range []struct {
		ids, endpoint string
		version       int // 0: fixed
	}{
		{"", EndpointPredict, 4},
		{IDsOrdered, EndpointPredict, 7},
		{IDsRandom, EndpointBatch, 4},
		{IDsOrdered, EndpointBatch, 7},
		{IDsFixed, EndpointPredict, 0},
		{IDsFixed, EndpointBatch, 0},
	} {
		t.Run(tc.endpoint+"/"+tc.ids, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			var bad atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var txs []wire.TransactionRequest
				var err error
				if tc.endpoint == EndpointBatch {
					var req wire.PredictBatchRequest
					err = json.NewDecoder(r.Body).Decode(&req)
					txs = req.Transactions
				} else {
					var tx wire.TransactionRequest
					err = json.NewDecoder(r.Body).Decode(&tx)
					txs = append(txs, tx)
				}
				if err != nil {
					bad.Store(err.Error())
				}
				mu.Lock()
				for _, tx := range txs {
					if tx.Amount != 149.62 || tx.V28 != -0.0210530534538215 {
						bad.Store("the transaction is not the sample's")
					}
					got = append(got, tx.TransactionID)
				}
				mu.Unlock()
				w.Write([]byte(`{}`))
			}))
			defer srv.Close()
			// Closed loop on one connection: one worker, so the requests are built and sent in turn.
			o := Options{URL: srv.URL, Endpoint: tc.endpoint, Max: true, Duration: 300 * time.Millisecond, Connections: 1, BatchSize: 3, IDs: tc.ids}
			if _, err := Run(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			if b := bad.Load(); b != nil {
				t.Fatal(b)
			}
			if len(got) < 20 {
				t.Fatalf("got %d transactions in 0.3 s as fast as one connection goes, want at least 20", len(got))
			}
			if tc.version == 0 {
				for i, id := range got {
					want := "txn-loadtest"
					if tc.endpoint == EndpointBatch {
						want += "-" + strconv.Itoa(i%o.BatchSize)
					}
					if id != want {
						t.Fatalf("transaction %d has id %q, want %q", i, id, want)
					}
				}
				return
			}
			seen := map[string]bool{}
			re := uuidPattern(tc.version)
			for i, id := range got {
				if !re.MatchString(id) {
					t.Fatalf("transaction %d has id %q, want a version %d UUID", i, id, tc.version)
				}
				if seen[id] {
					t.Fatalf("id %q sent twice", id)
				}
				seen[id] = true
			}
			if tc.version == 7 {
				// One worker builds and sends in turn, so the ids' milliseconds never go back.
				for i := 1; i < len(got); i++ {
					if got[i][:13] < got[i-1][:13] {
						t.Fatalf("id %q sent after %q: its time is earlier", got[i], got[i-1])
					}
				}
				ms, err := strconv.ParseInt(strings.ReplaceAll(got[0][:13], "-", ""), 16, 64)
				if err != nil || time.Since(time.UnixMilli(ms)).Abs() > time.Minute {
					t.Errorf("id %q does not start with the time it was sent", got[0])
				}
			}
		})
	}
}
