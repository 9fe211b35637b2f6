package client

import (
	"context"
	"net/http"

	"github.com/fraudguard/fraudguard/wire"
)

// PredictOption changes what Predict and PredictBatch ask of the server.
type PredictOption func(*predictOptions)

type predictOptions struct {
	explain bool
	topK    int
}

// WithExplanation asks for the explanation of every score: the topK features (1 to
// wire.MaxExplainTopK) that moved its margin most, in the answer's Explanation. A topK of 0
// asks for the server's default, wire.DefaultExplainTopK. A live model that cannot be explained
// answers an *Error with error_code EXPLANATION_UNAVAILABLE; the same call without this option
// is scored.
func WithExplanation(topK int) PredictOption {
	return func(o *predictOptions) { o.explain, o.topK = true, topK }
}

func predictOpts(opts []PredictOption) predictOptions {
	var o predictOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Predict scores one transaction (POST /predict). A transaction with bad fields is an *Error
// with error_code VALIDATION_ERROR and one detail per bad field. It is retried.
func (c *Client) Predict(ctx context.Context, tx wire.TransactionRequest, opts ...PredictOption) (*wire.PredictResponse, error) {
	o := predictOpts(opts)
	req := wire.PredictRequest{TransactionRequest: tx, Explain: o.explain, ExplainTopK: o.topK}
	return sendJSON[wire.PredictResponse](ctx, c, http.MethodPost, true, req, "predict")
}

// PredictBatch scores up to the server's MAX_BATCH_SIZE transactions in one request (POST
// /predict/batch). An invalid transaction gets an error in its place in the answer; the others
// are still scored. It is retried.
func (c *Client) PredictBatch(ctx context.Context, txs []wire.TransactionRequest, opts ...PredictOption) (*wire.PredictBatchResponse, error) {
	if txs == nil {
		txs = []wire.TransactionRequest{}
	}
	o := predictOpts(opts)
	req := wire.PredictBatchRequest{Transactions: txs, Explain: o.explain, ExplainTopK: o.topK}
	return sendJSON[wire.PredictBatchResponse](ctx, c, http.MethodPost, true, req, "predict", "batch")
}
