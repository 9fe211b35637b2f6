// Command bare is the yardstick of make bench: the least an HTTP service in Go can do for a
// /predict request. It decodes the same JSON body as fraudguard's /predict with encoding/json
// into a struct and answers a constant score, with no model, no logging, no metrics and no
// security, so that fraudguard's throughput can be read as a share of it.
//
//	go run ./tools/bare -addr 127.0.0.1:8001
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

// transaction is the body of POST /predict.
type transaction struct {
	TransactionID string  `json:"transaction_id"`
	Time          float64 `json:"Time"`
	V1            float64 `json:"V1"`
	V2            float64 `json:"V2"`
	V3            float64 `json:"V3"`
	V4            float64 `json:"V4"`
	V5            float64 `json:"V5"`
	V6            float64 `json:"V6"`
	V7            float64 `json:"V7"`
	V8            float64 `json:"V8"`
	V9            float64 `json:"V9"`
	V10           float64 `json:"V10"`
	V11           float64 `json:"V11"`
	V12           float64 `json:"V12"`
	V13           float64 `json:"V13"`
	V14           float64 `json:"V14"`
	V15           float64 `json:"V15"`
	V16           float64 `json:"V16"`
	V17           float64 `json:"V17"`
	V18           float64 `json:"V18"`
	V19           float64 `json:"V19"`
	V20           float64 `json:"V20"`
	V21           float64 `json:"V21"`
	V22           float64 `json:"V22"`
	V23           float64 `json:"V23"`
	V24           float64 `json:"V24"`
	V25           float64 `json:"V25"`
	V26           float64 `json:"V26"`
	V27           float64 `json:"V27"`
	V28           float64 `json:"V28"`
	Amount        float64 `json:"Amount"`
}

// answer is the constant score, the same shape as fraudguard's.
var answer = []byte(`{"transaction_id":"txn-0001","fraud_probability":0.0005,"is_fraud":false,"risk_level":"low","threshold":0.5,"model_version":"bare","processing_time_ms":0,"request_id":"bare"}`)

func predict(w http.ResponseWriter, r *http.Request) {
	var tx transaction
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&tx); err != nil {
		http.Error(w, `{"error_code":"MALFORMED_JSON"}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(answer)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8001", "address to listen on (port 0 picks a free one)")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /predict", predict)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"healthy"}`)) })
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "listening on %s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	log.Fatal(srv.Serve(ln))
}
