package client_test

import (
	"bufio"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/client"
	"github.com/fraudguard/fraudguard/wire"
)

func TestPredictExplanation(t *testing.T) {
	srv := mustServer(t)
	ctx := context.Background()
	c := mustClient(t, srv.URL, keyPredict)

	p, err := c.Predict(ctx, firstRow)
	if err != nil || p.Explanation != nil {
		t.Fatalf("without the option: got %+v, %v, want no explanation", p, err)
	}
	for _, tc := range []struct{ topK, want int }{{0, wire.DefaultExplainTopK}, {1, 1}, {30, 30}} {
		p, err := c.Predict(ctx, firstRow, client.WithExplanation(tc.topK))
		if err != nil {
			t.Fatal(err)
		}
		e := p.Explanation
		if e == nil || len(e.Features) != tc.want {
			t.Fatalf("top %d: got %+v, want %d features", tc.topK, e, tc.want)
		}
		if got := 1 / (1 + math.Exp(-e.Margin)); math.Abs(got-p.FraudProbability) > 1e-12 {
			t.Errorf("sigmoid(margin) = %v, want the probability %v", got, p.FraudProbability)
		}
		if f := e.Features[0]; f.Feature == "" || (f.Contribution > 0) != (f.Direction == wire.IncreasesRisk) {
			t.Errorf("got first feature %+v", f)
		}
		if tc.want == 30 {
			sum := e.BaseValue
			for _, f := range e.Features {
				sum += f.Contribution
			}
			if math.Abs(sum-e.Margin) > 1e-6 {
				t.Errorf("base_value + contributions = %v, want the margin %v", sum, e.Margin)
			}
		}
	}
	_, err = c.Predict(ctx, firstRow, client.WithExplanation(31))
	ae := mustAPIError(t, err, 400, "VALIDATION_ERROR")
	if len(ae.Details) != 1 || ae.Details[0]["field"] != "explain_top_k" {
		t.Errorf("got details %v, want one for explain_top_k", ae.Details)
	}

	bad := firstRow
	bad.Amount = -5
	b, err := c.PredictBatch(ctx, []wire.TransactionRequest{firstRow, bad}, client.WithExplanation(3))
	if err != nil {
		t.Fatal(err)
	}
	if e := b.Results[0].Explanation; e == nil || len(e.Features) != 3 {
		t.Errorf("got first result %+v, want an explanation of 3 features", b.Results[0])
	}
	if b.Results[1].Error == nil || b.Results[1].Explanation != nil {
		t.Errorf("got second result %+v, want an error and no explanation", b.Results[1])
	}
	if b, err = c.PredictBatch(ctx, []wire.TransactionRequest{firstRow}); err != nil || b.Results[0].Explanation != nil {
		t.Errorf("batch without the option: got %+v, %v, want no explanation", b, err)
	}
}

// TestBatchExplain checks SubmitOptions.Explain: the job's results carry, for each valid row,
// the same three features and contributions as /predict's explanation of that row with
// explain_top_k 3, and none for the invalid row; the CSV results have the reason columns.
func TestBatchExplain(t *testing.T) {
	srv := mustServer(t)
	ctx := context.Background()
	p, err := mustClient(t, srv.URL, keyPredict).Predict(ctx, firstRow, client.WithExplanation(3))
	if err != nil {
		t.Fatal(err)
	}
	c := mustClient(t, srv.URL, keyBatch)
	sub, err := c.SubmitBatch(ctx, strings.NewReader(csvBody(4, true)), client.SubmitOptions{Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitBatch(ctx, sub.JobID, client.WaitOptions{Poll: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	page, err := c.BatchResults(ctx, sub.JobID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Results {
		if r.Row == 2 {
			if r.Error == "" || r.Reasons != nil {
				t.Errorf("row 2: got %+v, want an invalid row without reasons", r)
			}
			continue
		}
		if len(r.Reasons) != 3 {
			t.Fatalf("row %d: got reasons %+v, want 3", r.Row, r.Reasons)
		}
		for i, rs := range r.Reasons {
			if f := p.Explanation.Features[i]; rs.Feature != f.Feature || rs.Contribution != f.Contribution {
				t.Errorf("row %d reason %d: got %+v, want %s %v as /predict explains it", r.Row, i+1, rs, f.Feature, f.Contribution)
			}
		}
	}
	stream, err := c.BatchResultsStream(ctx, sub.JobID, client.CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	head, err := bufio.NewReader(stream).ReadString('\n')
	if want := "row,transaction_id,fraud_probability,is_fraud,risk_level,error,reason_1,reason_2,reason_3\n"; err != nil || head != want {
		t.Errorf("CSV header: got %q (%v), want %q", head, err, want)
	}
}
