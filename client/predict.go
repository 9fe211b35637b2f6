package client

import (
	"context"
	"net/http"

	"github.com/fraudguard/fraudguard/wire"
)

// Predict scores one transaction (POST /predict). A transaction with bad fields is an *Error
// with error_code VALIDATION_ERROR and one detail per bad field. It is retried.
func (c *Client) Predict(ctx context.Context, tx wire.TransactionRequest) (*wire.PredictResponse, error) {
	return sendJSON[wire.PredictResponse](ctx, c, http.MethodPost, true, tx, "predict")
}

// PredictBatch scores up to the server's MAX_BATCH_SIZE transactions in one request (POST
// /predict/batch). An invalid transaction gets an error in its place in the answer; the others
// are still scored. It is retried.
func (c *Client) PredictBatch(ctx context.Context, txs []wire.TransactionRequest) (*wire.PredictBatchResponse, error) {
	if txs == nil {
		txs = []wire.TransactionRequest{}
	}
	return sendJSON[wire.PredictBatchResponse](ctx, c, http.MethodPost, true, wire.PredictBatchRequest{Transactions: txs}, "predict", "batch")
}
