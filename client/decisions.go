package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fraudguard/fraudguard/wire"
)

// Decisions returns the recorded decisions of a transaction, newest first (GET
// /decisions/{transaction_id}; read scope). None recorded is a 404 *Error with NOT_FOUND.
func (c *Client) Decisions(ctx context.Context, transactionID string) (*wire.DecisionsResponse, error) {
	return getJSON[wire.DecisionsResponse](ctx, c, nil, "decisions", transactionID)
}

// EraseDecisions deletes every decision and label of a transaction (DELETE
// /decisions/{transaction_id}; admin). Nothing recorded is a 404 *Error with NOT_FOUND. It is
// not retried: a second call would answer 404.
func (c *Client) EraseDecisions(ctx context.Context, transactionID string) (*wire.EraseResponse, error) {
	return sendJSON[wire.EraseResponse](ctx, c, http.MethodDelete, false, nil, "decisions", transactionID)
}

// DecisionQuery selects decisions; zero fields are left to the server (no bounds, any risk
// level, flagged or not, any version, 100 a page, the first page).
type DecisionQuery struct {
	Since        time.Time
	Until        time.Time
	RiskLevel    wire.RiskLevel
	IsFraud      *bool
	ModelVersion string
	Limit        int
	// Cursor is the NextCursor of the page before.
	Cursor string
}

// ListDecisions returns a page of decisions, newest first (GET /decisions; read scope). Its
// NextCursor, set as the next query's Cursor, reads the next page; it is empty on the last.
func (c *Client) ListDecisions(ctx context.Context, q DecisionQuery) (*wire.DecisionsResponse, error) {
	v := url.Values{}
	setWindow(v, q.Since, q.Until, q.ModelVersion)
	if q.RiskLevel != "" {
		v.Set("risk_level", string(q.RiskLevel))
	}
	if q.IsFraud != nil {
		v.Set("is_fraud", strconv.FormatBool(*q.IsFraud))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	return getJSON[wire.DecisionsResponse](ctx, c, v, "decisions")
}

// Feedback labels transactions (POST /feedback; predict scope) and returns one result per
// label. It is not retried: after a lost answer, a second call would store a label again where
// the labels of the call changed a transaction's label back and forth.
func (c *Client) Feedback(ctx context.Context, labels []wire.FeedbackLabel) (*wire.FeedbackResponse, error) {
	if labels == nil {
		labels = []wire.FeedbackLabel{}
	}
	return sendJSON[wire.FeedbackResponse](ctx, c, http.MethodPost, false, wire.FeedbackRequest{Labels: labels}, "feedback")
}

// PerformanceQuery selects the decisions model quality is computed on; zero fields are open.
type PerformanceQuery struct {
	Since        time.Time
	Until        time.Time
	ModelVersion string
}

// ModelPerformance returns each model version's quality on its labelled decisions (GET
// /models/performance; read scope).
func (c *Client) ModelPerformance(ctx context.Context, q PerformanceQuery) (*wire.PerformanceResponse, error) {
	v := url.Values{}
	setWindow(v, q.Since, q.Until, q.ModelVersion)
	return getJSON[wire.PerformanceResponse](ctx, c, v, "models", "performance")
}

func setWindow(v url.Values, since, until time.Time, version string) {
	if !since.IsZero() {
		v.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	if !until.IsZero() {
		v.Set("until", until.UTC().Format(time.RFC3339Nano))
	}
	if version != "" {
		v.Set("model_version", version)
	}
}
