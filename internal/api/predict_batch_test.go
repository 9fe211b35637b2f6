package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/fraudguard/fraudguard/wire"
	"strings"
	"testing"
)

func batchBody(items ...[]byte) []byte {
	return []byte(`{"transactions":[` + string(bytes.Join(items, []byte(","))) + `]}`)
}

func TestPredictBatch(t *testing.T) {
	m := mustModel(t)
	s := mustServer(t, Options{MaxBatchSize: 5}, staticModels{m})
	fraudy := firstRow
	fraudy[14] = -12
	body := batchBody(
		txBody(firstRow, map[string]any{"transaction_id": "a-1"}, ""),
		txBody(firstRow, map[string]any{"Amount": -1, "V2": nil}, ""),
		txBody(fraudy, map[string]any{"transaction_id": "a-3"}, ""),
	)
	w := do(t, s, request{method: "POST", path: "/predict/batch", body: body})
	if w.Code != 200 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	var resp wire.PredictBatchResponse
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&resp); err != nil {
		t.Fatalf("answer does not match wire.PredictBatchResponse: %v", err)
	}
	if len(resp.Results) != 3 {
		t.Fatalf("got %d results, want 3", len(resp.Results))
	}
	for i, r := range resp.Results {
		if r.Index != i {
			t.Errorf("result %d has index %d", i, r.Index)
		}
	}
	if r := resp.Results[0]; r.TransactionID != "a-1" || r.FraudProbability != m.Probability(&firstRow) || r.Error != nil {
		t.Errorf("first result: %+v", r)
	}
	if r := resp.Results[1]; r.Error == nil || r.Error.ErrorCode != "VALIDATION_ERROR" || len(r.Error.Details) != 2 || r.TransactionID != "" {
		t.Errorf("invalid item: %+v", r)
	}
	if r := resp.Results[2]; !r.IsFraud || r.RiskLevel != "critical" {
		t.Errorf("fraud-like item: %+v", r)
	}
	sum := resp.Summary
	wantAvg := (m.Probability(&firstRow) + m.Probability(&fraudy)) / 2
	if sum.TotalProcessed != 3 || sum.Valid != 2 || sum.Invalid != 1 || sum.FraudCount != 1 || sum.FraudRatePercent != 50 || sum.AverageProbability != wantAvg {
		t.Errorf("got summary %+v", sum)
	}
	if resp.ModelVersion != m.Version() || resp.RequestID != w.Header().Get("X-Request-ID") {
		t.Errorf("got version %q request id %q", resp.ModelVersion, resp.RequestID)
	}
}

func TestPredictBatchErrors(t *testing.T) {
	s := mustServer(t, Options{MaxBatchSize: 3, MaxBatchBodyBytes: 64 << 10}, staticModels{mustModel(t)})
	row := txBody(firstRow, nil, "")
	tests := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"too many", string(batchBody(row, row, row, row, row)), 413, "PAYLOAD_TOO_LARGE"},
		{"too big", `{"transactions":[` + strings.Repeat(string(row)+",", 200) + string(row) + `]}`, 413, "PAYLOAD_TOO_LARGE"},
		{"empty", `{"transactions":[]}`, 400, "VALIDATION_ERROR"},
		{"missing", `{}`, 400, "VALIDATION_ERROR"},
		{"unknown key", `{"transactions":[],"x":1}`, 400, "VALIDATION_ERROR"},
		{"not an array", `{"transactions":{"Time":0}}`, 400, "VALIDATION_ERROR"},
		{"array body", `[` + string(row) + `]`, 400, "MALFORMED_JSON"},
		{"broken item", `{"transactions":[{"Time":]}`, 400, "MALFORMED_JSON"},
		{"trailing", string(batchBody(row)) + "x", 400, "MALFORMED_JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := do(t, s, request{method: "POST", path: "/predict/batch", body: []byte(tc.body)})
			body := checkError(t, w, tc.status, tc.code)
			if tc.name == "too many" {
				d := body["details"].([]any)[0].(map[string]any)
				if d["limit"] != 3.0 || d["received"] != 5.0 {
					t.Errorf("got details %v, want limit 3 received 5", d)
				}
			}
		})
	}
}

func TestPredictBatchHostileID(t *testing.T) {
	g := mustGuarded(t, false, nil)
	body := batchBody(txBody(firstRow, nil, ""), txBody(firstRow, map[string]any{"transaction_id": "<script>alert(1)</script>"}, ""))
	checkError(t, send(t, g.srv, "POST", "/predict/batch", body, ""), 403, "SUSPICIOUS_REQUEST")
}

// BenchmarkPredictBatch scores batches of 1000 real-looking rows through the whole chain and
// reports rows per second.
func BenchmarkPredictBatch(b *testing.B) {
	s := mustServer(b, Options{}, staticModels{mustModel(b)})
	rows := make([][]byte, 1000)
	for i := range rows {
		x := firstRow
		x[0] = float64(i)
		x[29] = float64(i%500) + 0.99
		rows[i] = txBody(x, map[string]any{"transaction_id": fmt.Sprintf("txn-%06d", i)}, "")
	}
	benchPredictPath(b, s, "/predict/batch", batchBody(rows...))
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "rows/s")
}
