package client_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/client"
	"github.com/fraudguard/fraudguard/wire"
)

func TestDecisionsFeedbackAndPerformance(t *testing.T) {
	srv := mustServer(t)
	ctx := context.Background()
	scorer := mustClient(t, srv.URL, keyPredict)
	reader := mustClient(t, srv.URL, keyRead)

	tx := firstRow
	tx.TransactionID = "txn-client-1"
	p, err := scorer.Predict(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	var got *wire.DecisionsResponse
	deadline := time.Now().Add(time.Second)
	for {
		got, err = reader.Decisions(ctx, "txn-client-1")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("not readable within a second: %v", err)
	}
	if len(got.Decisions) != 1 || math.Float64bits(got.Decisions[0].FraudProbability) != math.Float64bits(p.FraudProbability) ||
		got.Decisions[0].Inputs.V1 != tx.V1 || got.Decisions[0].Inputs.Amount != tx.Amount {
		t.Errorf("got %+v, want the answer %+v and its inputs", got.Decisions, p)
	}

	_, err = reader.Decisions(ctx, "txn-never")
	mustAPIError(t, err, 404, "NOT_FOUND")
	_, err = scorer.ListDecisions(ctx, client.DecisionQuery{})
	mustAPIError(t, err, 403, "FORBIDDEN")

	fb, err := scorer.Feedback(ctx, []wire.FeedbackLabel{
		{TransactionID: "txn-client-1", Label: wire.LabelFraud, Source: "chargeback"},
		{TransactionID: "txn-never", Label: wire.LabelLegit, Source: "analyst"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(fb.Results) != 2 || fb.Results[0].Result != wire.FeedbackRecorded || fb.Results[1].Result != wire.FeedbackUnknownTransaction {
		t.Errorf("feedback: got %+v, want recorded and unknown_transaction", fb.Results)
	}
	_, err = scorer.Feedback(ctx, []wire.FeedbackLabel{{TransactionID: "txn-client-1", Label: "maybe", Source: "analyst"}})
	ae := mustAPIError(t, err, 400, "VALIDATION_ERROR")
	if len(ae.Details) != 1 || ae.Details[0]["field"] != "labels[0].label" {
		t.Errorf("details: got %v, want labels[0].label", ae.Details)
	}

	yes := true
	page, err := reader.ListDecisions(ctx, client.DecisionQuery{Limit: 10, Since: time.Now().Add(-time.Hour), IsFraud: &yes})
	if err != nil || len(page.Decisions) != 0 {
		t.Errorf("flagged decisions: got %+v, %v; want none (the first row is not flagged)", page, err)
	}
	page, err = reader.ListDecisions(ctx, client.DecisionQuery{Limit: 10, ModelVersion: p.ModelVersion, RiskLevel: p.RiskLevel})
	if err != nil || len(page.Decisions) != 1 || page.Decisions[0].Label == nil || page.Decisions[0].Label.Label != wire.LabelFraud {
		t.Errorf("listed: got %+v, %v; want txn-client-1 labelled fraud", page, err)
	}
	_, err = reader.ListDecisions(ctx, client.DecisionQuery{Cursor: "nonsense"})
	mustAPIError(t, err, 400, "VALIDATION_ERROR")

	if _, err := reader.EraseDecisions(ctx, "txn-client-1"); err == nil {
		t.Error("erasure with a read key: got no error, want 403")
	} else {
		mustAPIError(t, err, 403, "FORBIDDEN")
	}

	perf, err := reader.ModelPerformance(ctx, client.PerformanceQuery{ModelVersion: p.ModelVersion})
	if err != nil {
		t.Fatal(err)
	}
	if len(perf.Versions) != 1 || perf.Versions[0].Labelled != 1 || perf.Versions[0].Frauds != 1 || perf.Versions[0].ROCAUC != nil {
		t.Errorf("performance: got %+v, want one labelled fraud and no roc_auc (one class)", perf.Versions)
	}

	admin := mustClient(t, srv.URL, keyAdmin)
	erased, err := admin.EraseDecisions(ctx, "txn-client-1")
	if err != nil || erased.DecisionsDeleted != 1 || erased.LabelsDeleted != 1 {
		t.Errorf("erase: got %+v, %v; want 1 decision and 1 label deleted", erased, err)
	}
	_, err = reader.Decisions(ctx, "txn-client-1")
	mustAPIError(t, err, 404, "NOT_FOUND")
	_, err = admin.EraseDecisions(ctx, "txn-client-1")
	mustAPIError(t, err, 404, "NOT_FOUND")
}
