package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/fraudguard/fraudguard/client"
	"github.com/fraudguard/fraudguard/wire"
)

// firstRow is the first transaction of creditcard.csv.
var firstRow = wire.TransactionRequest{
	TransactionID: "txn-0001",
	Time:          0, V1: -1.3598071336738, V2: -0.0727811733098497, V3: 2.53634673796914, V4: 1.37815522427443,
	V5: -0.338320769942518, V6: 0.462387777762292, V7: 0.239598554061257, V8: 0.0986979012610507,
	V9: 0.363786969611213, V10: 0.0907941719789316, V11: -0.551599533260813, V12: -0.617800855762348,
	V13: -0.991389847235408, V14: -0.311169353699879, V15: 1.46817697209427, V16: -0.470400525259478,
	V17: 0.207971241929242, V18: 0.0257905801985591, V19: 0.403992960255733, V20: 0.251412098239705,
	V21: -0.018306777944153, V22: 0.277837575558899, V23: -0.110473910188767, V24: 0.0669280749146731,
	V25: 0.128539358273528, V26: -0.189114843888824, V27: 0.133558376740387, V28: -0.0210530534538215,
	Amount: 149.62,
}

// A client scores a transaction and reads a refusal back as a *client.Error.
func Example() {
	// The real API with the shipped model, for this example; use your server's URL.
	dir, err := os.MkdirTemp("", "fraudguard-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, stop, err := startServer(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer stop()

	c, err := client.New(srv.URL, client.Options{APIKey: keyPredict})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	tx := firstRow // a wire.TransactionRequest: Time, V1..V28, Amount and an optional id
	score, err := c.Predict(ctx, tx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(score.TransactionID, score.IsFraud, score.RiskLevel)

	tx.Amount = -5
	_, err = c.Predict(ctx, tx)
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.ErrorCode, apiErr.Details[0]["field"], apiErr.Details[0]["problem"])
	}
	// Output:
	// txn-0001 false low
	// 400 VALIDATION_ERROR Amount must be between 0 and 100000
}
