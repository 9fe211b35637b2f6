// Package loadtest drives HTTP load at a fraudguard server with the vegeta library: open loop
// (a fixed rate, whatever the server's latency, so that a slow server cannot slow the
// load down and hide its queueing) or closed loop (each connection sends its next request as
// soon as the previous one is answered: the server's saturation throughput). It reports
// throughput, exact latency quantiles, status counts and errors.
package loadtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/fraudguard/fraudguard/wire"
)

// The endpoints a load test can drive.
const (
	EndpointPredict = "predict" // POST /predict, the first transaction of creditcard.csv
	EndpointBatch   = "batch"   // POST /predict/batch, BatchSize copies of it
	EndpointHealth  = "health"  // GET /health
)

// Endpoints lists the endpoint names, for messages.
var Endpoints = []string{EndpointPredict, EndpointBatch, EndpointHealth}

// The ways of making transaction ids.
const (
	IDsRandom  = "random"  // UUID version 4: 122 random bits
	IDsOrdered = "ordered" // UUID version 7: the time in milliseconds, then random bits
	// IDsFixed sends the same body every time: the cheapest load for the client, whose
	// fresh ids cost it about 1 ms of CPU a 1,000-row batch.
	IDsFixed = "fixed"
)

// IDKinds lists the ways of making transaction ids, for messages.
var IDKinds = []string{IDsRandom, IDsOrdered, IDsFixed}

// Options describe one load test.
type Options struct {
	// URL is the server's base URL, such as http://127.0.0.1:8000.
	URL string
	// Endpoint is one of Endpoints.
	Endpoint string
	// Rate is the requests per second sent whatever the answers (open loop); 0 with Max.
	Rate int
	// Max sends as fast as Connections connections can (closed loop).
	Max bool
	// Duration is how long load is sent.
	Duration time.Duration
	// Connections bounds the connections to the server (and, closed loop, is their number).
	Connections int
	// BatchSize is the transactions of one /predict/batch request.
	BatchSize int
	// APIKey is sent as X-API-Key when set.
	APIKey string
	// IDs is how transaction ids are made: IDsRandom (the default when empty), IDsOrdered or
	// IDsFixed. With the first two every transaction sent has an id of its own, as a client's
	// traffic does: the decision log's index costs more for random ids than for ids that follow
	// the clock. With IDsFixed every request is the same (transaction i of a batch is
	// txn-loadtest-i).
	IDs string
	// Timeout bounds each request; 30 s when 0.
	Timeout time.Duration
	// Progress, when set, is called about once a second with the figures so far.
	Progress func(Progress)
}

// Progress is the state of a running load test.
type Progress struct {
	Elapsed  time.Duration
	Requests int64
	Errors   int64   // transport errors and answers that are not 2xx
	Rate     float64 // requests answered per second over the last interval
}

// Latency holds latency quantiles in milliseconds.
type Latency struct {
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	Max  float64 `json:"max_ms"`
}

// Report is the outcome of a load test.
type Report struct {
	URL         string  `json:"url"`
	Endpoint    string  `json:"endpoint"`
	Mode        string  `json:"mode"` // "open" (Rate) or "closed" (Max)
	TargetRate  int     `json:"target_rate,omitempty"`
	Connections int     `json:"connections"`
	BatchSize   int     `json:"batch_size,omitempty"`
	DurationSec float64 `json:"duration_seconds"` // from the first request sent to the last answer
	Requests    int64   `json:"requests"`
	// Rate is the requests sent per second; Throughput the successful (2xx) answers per second.
	Rate       float64 `json:"rate"`
	Throughput float64 `json:"throughput"`
	// RowsPerSec is Throughput × BatchSize for the batch endpoint.
	RowsPerSec float64 `json:"rows_per_second,omitempty"`
	Success    float64 `json:"success_ratio"`
	Latency    Latency `json:"latency"`
	// Statuses counts answers by HTTP status ("0" for a request that got none).
	Statuses map[string]int64 `json:"status_codes"`
	// Errors counts each distinct error (transport errors and non-2xx statuses).
	Errors map[string]int64 `json:"errors"`
}

// ErrorCount is the number of requests that failed: no answer, or an answer that is not 2xx.
func (r *Report) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Check reports the first thing wrong with o, as an error naming the flag.
func (o *Options) Check() error {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q is not a server URL; allowed: http://host:port or https://host:port", o.URL)
	}
	if !slices.Contains(Endpoints, o.Endpoint) {
		return fmt.Errorf("--endpoint %q is unknown; allowed: %s", o.Endpoint, strings.Join(Endpoints, ", "))
	}
	switch {
	case o.Max && o.Rate != 0:
		return errors.New("--rate and --max exclude each other: give a rate (open loop) or --max (closed loop)")
	case !o.Max && o.Rate <= 0:
		return fmt.Errorf("--rate %d: give a rate of at least 1 request per second, or --max", o.Rate)
	case o.Rate > 1_000_000:
		return fmt.Errorf("--rate %d is over 1000000 requests per second", o.Rate)
	}
	if o.Duration < 100*time.Millisecond || o.Duration > 24*time.Hour {
		return fmt.Errorf("--duration %v: allowed from 100ms to 24h", o.Duration)
	}
	if o.Connections < 1 || o.Connections > 100_000 {
		return fmt.Errorf("--connections %d: allowed from 1 to 100000", o.Connections)
	}
	if o.IDs != "" && !slices.Contains(IDKinds, o.IDs) {
		return fmt.Errorf("--ids %q is unknown; allowed: %s", o.IDs, strings.Join(IDKinds, ", "))
	}
	if o.Endpoint == EndpointBatch && (o.BatchSize < 1 || o.BatchSize > 100_000) {
		return fmt.Errorf("--batch-size %d: allowed from 1 to 100000", o.BatchSize)
	}
	return nil
}

// SampleTransaction is the first transaction of the public creditcard.csv, with id.
func SampleTransaction(id string) wire.TransactionRequest {
	return wire.TransactionRequest{
		TransactionID: id,
		Time:          0, V1: -1.3598071336738, V2: -0.0727811733098497, V3: 2.53634673796914,
		V4: 1.37815522427443, V5: -0.338320769942518, V6: 0.462387777762292,
		V7: 0.239598554061257, V8: 0.0986979012610507, V9: 0.363786969611213,
		V10: 0.0907941719789316, V11: -0.551599533260813, V12: -0.617800855762348,
		V13: -0.991389847235408, V14: -0.311169353699879, V15: 1.46817697209427,
		V16: -0.470400525259478, V17: 0.207971241929242, V18: 0.0257905801985591,
		V19: 0.403992960255733, V20: 0.251412098239705, V21: -0.018306777944153,
		V22: 0.277837575558899, V23: -0.110473910188767, V24: 0.0669280749146731,
		V25: 0.128539358273528, V26: -0.189114843888824, V27: 0.133558376740387,
		V28: -0.0210530534538215, Amount: 149.62,
	}
}

// idMark stands for a transaction id in a body template: as long as a UUID, and made of a
// character that no other part of the body holds.
const idMark = "####################################"

// targeter builds the requests of the test: the same request each time, but for the
// transaction ids, which are new in every request.
func (o *Options) targeter() (vegeta.Targeter, error) {
	base := strings.TrimRight(o.URL, "/")
	h := http.Header{}
	if o.APIKey != "" {
		h.Set("X-API-Key", o.APIKey)
	}
	fixed := o.IDs == IDsFixed
	// txID is the id written in the body: the fixed one, or the mark a fresh id replaces.
	txID := func(fixedID string) string {
		if fixed {
			return fixedID
		}
		return idMark
	}
	var (
		path string
		v    any
	)
	switch o.Endpoint {
	case EndpointHealth:
		return vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: base + "/health", Header: h}), nil
	case EndpointPredict:
		path, v = "/predict", SampleTransaction(txID("txn-loadtest"))
	default:
		txs := make([]wire.TransactionRequest, o.BatchSize)
		for i := range txs {
			txs[i] = SampleTransaction(txID("txn-loadtest-" + strconv.Itoa(i)))
		}
		path, v = "/predict/batch", wire.PredictBatchRequest{Transactions: txs}
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	h.Set("Content-Type", "application/json")
	tgt := vegeta.Target{Method: http.MethodPost, URL: base + path, Header: h}
	if fixed {
		tgt.Body = body
		return vegeta.NewStaticTargeter(tgt), nil
	}
	parts := bytes.Split(body, []byte(idMark))
	newID := AppendUUIDv4
	if o.IDs == IDsOrdered {
		newID = appendUUIDv7
	}
	return func(t *vegeta.Target) error {
		*t = tgt
		b := make([]byte, 0, len(body))
		for i, p := range parts {
			if i > 0 {
				b = newID(b)
			}
			b = append(b, p...)
		}
		t.Body = b
		return nil
	}, nil
}

// AppendUUIDv4 appends a random UUID (RFC 9562, version 4) to b: the ids of --ids random.
func AppendUUIDv4(b []byte) []byte {
	hi, lo := rand.Uint64(), rand.Uint64()
	hi = hi&^(0xf<<12) | 4<<12 // version
	lo = lo&^(0x3<<62) | 2<<62 // variant
	return appendUUID(b, hi, lo)
}

// appendUUIDv7 appends a UUID whose first 48 bits are the Unix time in milliseconds (RFC 9562,
// version 7), so that ids sent later sort later.
func appendUUIDv7(b []byte) []byte {
	hi, lo := rand.Uint64(), rand.Uint64()
	hi = uint64(time.Now().UnixMilli())<<16 | hi&0xfff | 7<<12
	lo = lo&^(0x3<<62) | 2<<62
	return appendUUID(b, hi, lo)
}

// appendUUID appends the 128 bits hi, lo to b as a UUID: 8-4-4-4-12 lowercase hex digits.
func appendUUID(b []byte, hi, lo uint64) []byte {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], hi)
	binary.BigEndian.PutUint64(raw[8:], lo)
	for i, group := range [][]byte{raw[:4], raw[4:6], raw[6:8], raw[8:10], raw[10:]} {
		if i > 0 {
			b = append(b, '-')
		}
		b = hex.AppendEncode(b, group)
	}
	return b
}

// Run sends the load o describes and reports on it. Cancelling ctx stops the load early; the
// report then covers what was sent.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	tr, err := o.targeter()
	if err != nil {
		return nil, err
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = vegeta.DefaultTimeout
	}
	opts := []func(*vegeta.Attacker){
		vegeta.Connections(o.Connections),
		vegeta.MaxConnections(o.Connections),
		vegeta.KeepAlive(true),
		vegeta.HTTP2(false),
		vegeta.Timeout(timeout),
		vegeta.MaxBody(0), // the answers are read and discarded, not kept
	}
	pacer := vegeta.Pacer(vegeta.ConstantPacer{Freq: o.Rate, Per: time.Second})
	mode := "open"
	if o.Max {
		mode = "closed"
		pacer = vegeta.ConstantPacer{} // no pacing: each worker sends when its answer is in
		opts = append(opts, vegeta.Workers(uint64(o.Connections)), vegeta.MaxWorkers(uint64(o.Connections)))
	} else {
		// Enough workers for the rate at a few milliseconds per answer; more are started
		// when answers are slower, so the rate holds (open loop).
		opts = append(opts, vegeta.Workers(uint64(min(o.Connections, max(10, o.Rate/100)))))
	}
	atk := vegeta.NewAttacker(opts...)
	results := atk.Attack(tr, pacer, o.Duration, "")

	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			atk.Stop()
		case <-stopped:
		}
	}()
	defer close(stopped)

	expect := o.Rate // requests to expect, for the latency slice's first size
	if o.Max {
		expect = 20_000
	}
	var (
		latencies = make([]time.Duration, 0, min((int(o.Duration.Seconds())+1)*expect, 1<<24))
		rep       = &Report{URL: o.URL, Endpoint: o.Endpoint, Mode: mode, TargetRate: o.Rate, Connections: o.Connections,
			Statuses: map[string]int64{}, Errors: map[string]int64{}}
		first, last time.Time
		nErr        int64
	)
	if o.Endpoint == EndpointBatch {
		rep.BatchSize = o.BatchSize
	}
	var tick <-chan time.Time
	if o.Progress != nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tick = t.C
	}
	start := time.Now()
	var lastCount int64
	lastTick := start
	var okCount int64
	for done := false; !done; {
		select {
		case r, ok := <-results:
			if !ok {
				done = true
				break
			}
			latencies = append(latencies, r.Latency)
			if first.IsZero() || r.Timestamp.Before(first) {
				first = r.Timestamp
			}
			if end := r.End(); end.After(last) {
				last = end
			}
			rep.Statuses[strconv.Itoa(int(r.Code))]++
			if r.Code >= 200 && r.Code <= 299 && r.Error == "" {
				okCount++
			} else {
				nErr++
				msg := r.Error
				if msg == "" {
					msg = strconv.Itoa(int(r.Code)) + " " + http.StatusText(int(r.Code))
				}
				rep.Errors[msg]++
			}
		case now := <-tick:
			n := int64(len(latencies))
			o.Progress(Progress{Elapsed: now.Sub(start), Requests: n, Errors: nErr,
				Rate: float64(n-lastCount) / now.Sub(lastTick).Seconds()})
			lastCount, lastTick = n, now
		}
	}
	rep.Requests = int64(len(latencies))
	if rep.Requests == 0 {
		return rep, errors.New("no request was sent")
	}
	span := last.Sub(first).Seconds()
	rep.DurationSec = span
	if span > 0 {
		rep.Rate = float64(rep.Requests) / span
		rep.Throughput = float64(okCount) / span
	}
	rep.RowsPerSec = rep.Throughput * float64(rep.BatchSize)
	rep.Success = float64(okCount) / float64(rep.Requests)
	rep.Latency = quantiles(latencies)
	return rep, nil
}

// quantiles gives the exact latency quantiles of ds (nearest rank), which it sorts.
func quantiles(ds []time.Duration) Latency {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(ds)))) - 1
		return ms(ds[max(0, min(i, len(ds)-1))])
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Latency{
		Mean: ms(sum / time.Duration(len(ds))),
		P50:  at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999),
		Max: ms(ds[len(ds)-1]),
	}
}

// Text writes the report for a person.
func (r *Report) Text() string {
	var b bytes.Buffer
	mode := fmt.Sprintf("open loop at %d req/s", r.TargetRate)
	if r.Mode == "closed" {
		mode = "closed loop (as fast as answers come)"
	}
	fmt.Fprintf(&b, "%s %s, %s, %d connections, %.1f s\n", r.Endpoint, r.URL, mode, r.Connections, r.DurationSec)
	fmt.Fprintf(&b, "requests    %d (%.1f req/s sent)\n", r.Requests, r.Rate)
	fmt.Fprintf(&b, "throughput  %.1f req/s answered 2xx", r.Throughput)
	if r.BatchSize > 0 {
		fmt.Fprintf(&b, " (%.0f rows/s at %d rows a request)", r.RowsPerSec, r.BatchSize)
	}
	fmt.Fprintf(&b, "\nsuccess     %.2f%%\n", 100*r.Success)
	l := r.Latency
	fmt.Fprintf(&b, "latency ms  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n", l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	codes := make([]string, 0, len(r.Statuses))
	for c := range r.Statuses {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	b.WriteString("statuses   ")
	for _, c := range codes {
		fmt.Fprintf(&b, " %s: %d", c, r.Statuses[c])
	}
	b.WriteString("\n")
	if len(r.Errors) == 0 {
		b.WriteString("errors      none\n")
		return b.String()
	}
	msgs := make([]string, 0, len(r.Errors))
	for m := range r.Errors {
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool { return r.Errors[msgs[i]] > r.Errors[msgs[j]] })
	fmt.Fprintf(&b, "errors      %d\n", r.ErrorCount())
	for i, m := range msgs {
		if i == 10 {
			fmt.Fprintf(&b, "  ... and %d more kinds\n", len(msgs)-10)
			break
		}
		fmt.Fprintf(&b, "  %d × %s\n", r.Errors[m], m)
	}
	return b.String()
}
