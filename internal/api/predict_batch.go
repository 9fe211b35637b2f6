package api

import (
	"encoding/json"
	"errors"
	"github.com/fraudguard/fraudguard/internal/compare"
	"net/http"
	"strconv"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/txjson"
	"github.com/fraudguard/fraudguard/wire"
)

// batchScratch is the per-request working memory of /predict/batch, pooled.
type batchScratch struct {
	body   []byte
	txs    []fraud.Transaction
	errs   [][]fraud.Detail
	scores []fraud.Score
	expls  []model.Explanation // when the request asks for explanations
}

func (s *Server) handlePredictBatch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if err := requireJSON(r); err != nil {
		s.errs.write(w, r, err)
		return
	}
	sc := s.batchBufs.Get().(*batchScratch)
	defer s.batchBufs.Put(sc)
	body, err := readBody(r, s.opts.MaxBatchBodyBytes, sc.body[:0])
	sc.body = body[:0]
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	d := txjson.Decoder{Fields: s.fields, Detector: s.guardCfg.inspector(), StopOnAttack: !s.guardCfg.DetectOnly, AllowExplain: true}
	d.Reset(body)
	n, err := s.decodeBatch(&d, sc)
	if f := d.Finding(); f != nil {
		s.attack(w, r, *f) // detect-only: audited and let through
	}
	if err != nil {
		var ae *txjson.AttackError
		var fe *fraud.Error
		switch {
		case errors.As(err, &ae):
			s.attack(w, r, ae.Finding)
		case errors.As(err, &fe):
			s.errs.write(w, r, fe)
		default:
			s.errs.write(w, r, malformed(err))
		}
		return
	}
	m := s.models.Current()
	if m == nil {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeModelNotLoaded, Message: "no model is loaded yet", RetryAfter: 5})
		return
	}
	ex := d.Explain()
	if ex.On {
		// Explained before any is scored, so that a model that cannot be explained answers
		// the error alone.
		for len(sc.expls) < n {
			sc.expls = append(sc.expls, model.Explanation{})
		}
		for i := range n {
			if len(sc.errs[i]) > 0 {
				continue
			}
			if err := m.Explain(&sc.txs[i].Features, &sc.expls[i]); err != nil {
				s.errs.write(w, r, explainFailed(err))
				return
			}
		}
	} else {
		ex.TopK = 0
	}
	// A batch is answered by one version, the live model; the shadow or challenger scores its
	// rows a second time.
	var other *model.Model
	if s.opts.Compare != nil {
		other = s.opts.Challenger
		if other == nil {
			other = s.opts.Shadow
		}
	}
	sum := wire.BatchSummary{TotalProcessed: n}
	reqID := requestID(w)
	now := s.opts.Now()
	var probSum float64
	sc.scores = sc.scores[:0]
	for i := range n {
		if len(sc.errs[i]) > 0 {
			sum.Invalid++
			sc.scores = append(sc.scores, fraud.Score{})
			if s.metrics != nil {
				s.metrics.PredictionFailed("invalid")
			}
			continue
		}
		score := m.Score(&sc.txs[i].Features)
		sc.scores = append(sc.scores, score)
		if sc.txs[i].ID == "" {
			sc.txs[i].ID = newTransactionID(s.opts.Now())
		}
		if other != nil {
			s.opts.Compare.Offer(&compare.Job{TransactionID: sc.txs[i].ID, Features: sc.txs[i].Features, Answer: score, Model: other})
		}
		if s.opts.Decisions != nil {
			s.opts.Decisions.Record(newDecision(sc.txs[i].ID, &sc.txs[i].Features, score, reqID, now), m)
		}
		sum.Valid++
		probSum += score.Probability
		if score.IsFraud {
			sum.FraudCount++
		}
		if s.metrics != nil {
			s.metrics.ObservePrediction(score.Probability, score.IsFraud)
		}
	}
	if sum.Valid > 0 {
		sum.FraudRatePercent = 100 * float64(sum.FraudCount) / float64(sum.Valid)
		sum.AverageProbability = probSum / float64(sum.Valid)
	}
	elapsed := time.Since(start)
	sum.ProcessingTimeMS = float64(elapsed.Microseconds()) / 1000
	out := s.appendBatchResponse(body[:0], sc, n, ex.TopK, sum, m.Threshold(), m.Version(), reqID)
	sc.body = out[:0]
	w.Header()["Content-Type"] = jsonContentType
	w.Write(out)
	s.predictions.Add(int64(sum.Valid))
	m.CountRequest(int64(sum.Valid))
}

// decodeBatch decodes {"transactions": [...]} into sc, item by item; an item's field errors
// stay with the item. It returns the number of items.
func (s *Server) decodeBatch(d *txjson.Decoder, sc *batchScratch) (int, error) {
	limit := s.opts.MaxBatchSize
	n, err := d.Batch(&sc.txs, &sc.errs, limit)
	if err != nil {
		var ee *txjson.EnvelopeError
		if errors.As(err, &ee) {
			return 0, invalid([]fraud.Detail{ee.Detail})
		}
		return 0, err
	}
	if n > limit {
		return 0, &fraud.Error{
			Code:    fraud.CodePayloadTooLarge,
			Message: "a batch holds at most " + strconv.Itoa(limit) + " transactions; use POST /batch for more",
			Details: []fraud.Detail{{"limit": limit, "received": n}},
		}
	}
	if n == 0 {
		return 0, invalid([]fraud.Detail{{"field": "transactions", "problem": "must hold at least one transaction", "value": []any{}}})
	}
	return n, nil
}

// appendBatchResponse encodes a wire.PredictBatchResponse by hand; with topK > 0, each scored
// item has its explanation from sc.expls.
func (s *Server) appendBatchResponse(b []byte, sc *batchScratch, n, topK int, sum wire.BatchSummary, threshold float64, version, reqID string) []byte {
	b = append(b, `{"results":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		if len(sc.errs[i]) > 0 {
			b = append(b, `,"error":{"error_code":"VALIDATION_ERROR","details":`...)
			b = appendDetails(b, sc.errs[i])
			b = append(b, "}}"...)
			continue
		}
		id := sc.txs[i].ID // given, or generated when scored
		score := &sc.scores[i]
		b = append(b, `,"transaction_id":`...)
		b = appendString(b, id)
		b = append(b, `,"fraud_probability":`...)
		b = strconv.AppendFloat(b, score.Probability, 'g', -1, 64)
		b = append(b, `,"is_fraud":`...)
		b = strconv.AppendBool(b, score.IsFraud)
		b = append(b, `,"risk_level":"`...)
		b = append(b, score.Risk...)
		b = append(b, '"')
		if topK > 0 {
			b = append(b, `,"explanation":`...)
			b = appendExplanation(b, s.names, &sc.expls[i], &sc.txs[i].Features, topK)
		}
		b = append(b, '}')
	}
	b = append(b, `],"summary":{"total_processed":`...)
	b = strconv.AppendInt(b, int64(sum.TotalProcessed), 10)
	b = append(b, `,"valid":`...)
	b = strconv.AppendInt(b, int64(sum.Valid), 10)
	b = append(b, `,"invalid":`...)
	b = strconv.AppendInt(b, int64(sum.Invalid), 10)
	b = append(b, `,"fraud_count":`...)
	b = strconv.AppendInt(b, int64(sum.FraudCount), 10)
	b = append(b, `,"fraud_rate_percent":`...)
	b = strconv.AppendFloat(b, sum.FraudRatePercent, 'g', -1, 64)
	b = append(b, `,"average_probability":`...)
	b = strconv.AppendFloat(b, sum.AverageProbability, 'g', -1, 64)
	b = append(b, `,"processing_time_ms":`...)
	b = strconv.AppendFloat(b, sum.ProcessingTimeMS, 'f', 3, 64)
	b = append(b, `},"threshold":`...)
	b = strconv.AppendFloat(b, threshold, 'g', -1, 64)
	b = append(b, `,"model_version":`...)
	b = appendString(b, version)
	b = append(b, `,"request_id":`...)
	b = appendString(b, reqID)
	return append(b, "}\n"...)
}

// appendDetails encodes field errors, which are rare: encoding/json is fine here.
func appendDetails(b []byte, details []fraud.Detail) []byte {
	j, err := json.Marshal(details)
	if err != nil {
		return append(b, "[]"...)
	}
	return append(b, j...)
}
