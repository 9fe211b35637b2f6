package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/fraudguard/fraudguard/internal/decision"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

// Paging of GET /decisions.
const (
	defaultDecisionLimit = 100
	maxDecisionLimit     = 1000
)

// decisionStoreOr503 returns the decision store, or answers 503 when there is none.
func (s *Server) decisionStoreOr503(w http.ResponseWriter, r *http.Request) fraud.DecisionLog {
	if s.opts.DecisionStore == nil {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeServiceUnavailable, Message: "no decision store is configured"})
	}
	return s.opts.DecisionStore
}

// storeSpan starts a client span for a store call when the request is traced.
func (s *Server) storeSpan(ctx context.Context, name string) (context.Context, func()) {
	if s.opts.Tracer == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, func() {}
	}
	ctx, span := s.opts.Tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", "sqlite")))
	return ctx, func() { span.End() }
}

// checkQuery refuses query parameters the route does not know, and parameters given twice.
func checkQuery(q url.Values, known ...string) []fraud.Detail {
	var details []fraud.Detail
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch {
		case !slices.Contains(known, name):
			details = append(details, fraud.FieldError(truncate(name), "is not a parameter of this route (known: "+strings.Join(known, ", ")+")", truncate(q.Get(name))))
		case len(q[name]) > 1:
			details = append(details, fraud.FieldError(name, "must be given once", truncate(strings.Join(q[name], ","))))
		}
	}
	return details
}

// timeParam reads an RFC 3339 time from q.
func timeParam(q url.Values, name string, dst *time.Time, details []fraud.Detail) []fraud.Detail {
	v := q.Get(name)
	if v == "" {
		return details
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return append(details, fraud.FieldError(name, "must be an RFC 3339 time such as 2026-11-26T07:00:00Z", truncate(v)))
	}
	*dst = t
	return details
}

// windowParams reads since, until and model_version, and checks that since is before until.
func windowParams(q url.Values, since, until *time.Time, version *string, details []fraud.Detail) []fraud.Detail {
	details = timeParam(q, "since", since, details)
	details = timeParam(q, "until", until, details)
	if !since.IsZero() && !until.IsZero() && !since.Before(*until) {
		details = append(details, fraud.FieldError("until", "must be after since", truncate(q.Get("until"))))
	}
	if v := q.Get("model_version"); v != "" {
		if len(v) > 128 {
			details = append(details, fraud.FieldError("model_version", "must be at most 128 characters", truncate(v)))
		}
		*version = v
	}
	return details
}

// encodeCursor makes the opaque cursor that continues a listing after d.
func encodeCursor(d fraud.Decision) string {
	return base64.RawURLEncoding.EncodeToString([]byte("d1:" + strconv.FormatInt(d.Time.UnixNano(), 10) + ":" + strconv.FormatInt(d.ID, 10)))
}

// decodeCursor reads a cursor of encodeCursor.
func decodeCursor(c string) (*fraud.DecisionCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, false
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != "d1" {
		return nil, false
	}
	ns, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return nil, false
	}
	return &fraud.DecisionCursor{Time: time.Unix(0, ns).UTC(), ID: id}, true
}

func (s *Server) handleDecisionList(w http.ResponseWriter, r *http.Request) {
	store := s.decisionStoreOr503(w, r)
	if store == nil {
		return
	}
	q := r.URL.Query()
	details := checkQuery(q, "since", "until", "risk_level", "is_fraud", "model_version", "limit", "cursor")
	f := fraud.DecisionFilter{Limit: defaultDecisionLimit}
	details = windowParams(q, &f.Since, &f.Until, &f.ModelVersion, details)
	if v := q.Get("risk_level"); v != "" {
		switch fraud.RiskLevel(v) {
		case fraud.RiskLow, fraud.RiskMedium, fraud.RiskHigh, fraud.RiskCritical:
			f.Risk = fraud.RiskLevel(v)
		default:
			details = append(details, fraud.FieldError("risk_level", "must be low, medium, high or critical", truncate(v)))
		}
	}
	if v := q.Get("is_fraud"); v != "" {
		switch v {
		case "true", "false":
			b := v == "true"
			f.IsFraud = &b
		default:
			details = append(details, fraud.FieldError("is_fraud", "must be true or false", truncate(v)))
		}
	}
	details = intParam(q.Get("limit"), "limit", 1, maxDecisionLimit, &f.Limit, details)
	if v := q.Get("cursor"); v != "" {
		after, ok := decodeCursor(v)
		if !ok {
			details = append(details, fraud.FieldError("cursor", "is not a cursor this server gave: pass next_cursor of the previous page as it is", truncate(v)))
		}
		f.After = after
	}
	if len(details) > 0 {
		s.errs.write(w, r, invalid(details))
		return
	}
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	ctx, end := s.storeSpan(r.Context(), "store.list_decisions")
	ds, err := store.ListDecisions(ctx, f)
	end()
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	out := wire.DecisionsResponse{Decisions: make([]wire.Decision, 0, min(len(ds), limit))}
	if len(ds) > limit {
		ds = ds[:limit]
		out.NextCursor = encodeCursor(ds[limit-1])
	}
	for i := range ds {
		out.Decisions = append(out.Decisions, wireDecision(&ds[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleDecisionGet(w http.ResponseWriter, r *http.Request) {
	store := s.decisionStoreOr503(w, r)
	if store == nil {
		return
	}
	id := r.PathValue("transaction_id")
	if rule := transactionIDRule(); rule.CheckString(id) != "" {
		s.errs.write(w, r, invalid([]fraud.Detail{fraud.FieldError("transaction_id", rule.CheckString(id), truncate(id))}))
		return
	}
	if details := checkQuery(r.URL.Query()); len(details) > 0 {
		s.errs.write(w, r, invalid(details))
		return
	}
	ctx, end := s.storeSpan(r.Context(), "store.decisions_of")
	ds, err := store.DecisionsOf(ctx, id)
	end()
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	if len(ds) == 0 {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeNotFound,
			Message: "no decision is recorded for transaction " + id + " (never scored, purged, or not stored yet)",
			Details: []fraud.Detail{{"transaction_id": id}}})
		return
	}
	out := wire.DecisionsResponse{Decisions: make([]wire.Decision, 0, len(ds))}
	for i := range ds {
		out.Decisions = append(out.Decisions, wireDecision(&ds[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleDecisionErase(w http.ResponseWriter, r *http.Request) {
	store := s.decisionStoreOr503(w, r)
	if store == nil {
		return
	}
	id := r.PathValue("transaction_id")
	if rule := transactionIDRule(); rule.CheckString(id) != "" {
		s.errs.write(w, r, invalid([]fraud.Detail{fraud.FieldError("transaction_id", rule.CheckString(id), truncate(id))}))
		return
	}
	if details := checkQuery(r.URL.Query()); len(details) > 0 {
		s.errs.write(w, r, invalid(details))
		return
	}
	ctx, end := s.storeSpan(r.Context(), "store.erase_transaction")
	decisions, labels, err := store.EraseTransaction(ctx, id)
	end()
	if err != nil {
		s.audit(r, w, fraud.ActionDecisionErase, fraud.OutcomeFailure, "transaction "+id+": "+err.Error())
		s.errs.write(w, r, err)
		return
	}
	if decisions == 0 && labels == 0 {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeNotFound,
			Message: "nothing is recorded for transaction " + id + " (never scored, purged, or erased)",
			Details: []fraud.Detail{{"transaction_id": id}}})
		return
	}
	s.audit(r, w, fraud.ActionDecisionErase, fraud.OutcomeSuccess, fmt.Sprintf("transaction %s: %d decisions and %d labels deleted", id, decisions, labels))
	writeJSON(w, http.StatusOK, wire.EraseResponse{TransactionID: id, DecisionsDeleted: decisions, LabelsDeleted: labels})
}

// transactionIDRule is the rule of the transaction_id field.
func transactionIDRule() *fraud.FieldRule {
	rules := fraud.TransactionFields()
	for i := range rules {
		if rules[i].Name == "transaction_id" {
			return &rules[i]
		}
	}
	panic("api: wire.TransactionRequest has no transaction_id")
}

func wireDecision(d *fraud.Decision) wire.Decision {
	return wire.Decision{
		TransactionID: d.TransactionID, RequestID: d.RequestID, Time: d.Time, ModelVersion: d.ModelVersion,
		FraudProbability: d.Probability, IsFraud: d.IsFraud, RiskLevel: d.Risk, Threshold: d.Threshold,
		Inputs: fraud.RequestOf("", &d.Features), Reasons: d.Reasons, Label: d.Label,
	}
}

func (s *Server) handleFeedback(w http.ResponseWriter, r *http.Request) {
	store := s.decisionStoreOr503(w, r)
	if store == nil {
		return
	}
	if err := requireJSON(r); err != nil {
		s.errs.write(w, r, err)
		return
	}
	if details := checkQuery(r.URL.Query()); len(details) > 0 {
		s.errs.write(w, r, invalid(details))
		return
	}
	body, err := readBody(r, s.opts.MaxBatchBodyBytes, nil)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	var in wire.FeedbackRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		s.errs.write(w, r, feedbackDecodeError(err))
		return
	}
	if dec.More() {
		s.errs.write(w, r, &fraud.Error{Code: fraud.CodeMalformedJSON, Message: "the body must be one JSON object"})
		return
	}
	if len(in.Labels) > s.opts.MaxBatchSize {
		s.errs.write(w, r, &fraud.Error{
			Code:    fraud.CodePayloadTooLarge,
			Message: "feedback holds at most " + strconv.Itoa(s.opts.MaxBatchSize) + " labels (MAX_BATCH_SIZE)",
			Details: []fraud.Detail{{"limit": s.opts.MaxBatchSize, "received": len(in.Labels)}},
		})
		return
	}
	now := s.opts.Now().UTC()
	labels, details := checkLabels(in.Labels, now)
	if len(details) > 0 {
		s.errs.write(w, r, invalid(details))
		return
	}
	ctx, end := s.storeSpan(r.Context(), "store.record_labels")
	results, err := store.RecordLabels(ctx, labels, now)
	end()
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	out := wire.FeedbackResponse{Results: make([]wire.FeedbackResult, len(labels))}
	counts := map[string]int{}
	for i, res := range results {
		out.Results[i] = wire.FeedbackResult{Index: i, TransactionID: labels[i].TransactionID, Result: res}
		counts[res]++
	}
	s.audit(r, w, fraud.ActionFeedback, fraud.OutcomeSuccess, fmt.Sprintf("%d labels: %d recorded, %d updated, %d unchanged, %d unknown_transaction",
		len(labels), counts[fraud.FeedbackRecorded], counts[fraud.FeedbackUpdated], counts[fraud.FeedbackUnchanged], counts[fraud.FeedbackUnknownTransaction]))
	writeJSON(w, http.StatusOK, out)
}

// feedbackDecodeError explains why a feedback body could not be decoded.
func feedbackDecodeError(err error) *fraud.Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &fraud.Error{Code: fraud.CodeMalformedJSON, Message: "the body is not valid JSON: " + se.Error(),
			Details: []fraud.Detail{{"offset": se.Offset, "problem": se.Error()}}}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		return invalid([]fraud.Detail{{"field": field, "problem": "must be " + jsonKind(te.Type.String())}})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid([]fraud.Detail{{"field": truncate(name), "problem": "is not a known field (known: labels; in a label: transaction_id, label, source, observed_at)"}})
	case strings.Contains(err.Error(), "parsing time"):
		return invalid([]fraud.Detail{{"field": "observed_at", "problem": "must be an RFC 3339 time such as 2026-11-26T07:00:00Z"}})
	}
	return &fraud.Error{Code: fraud.CodeMalformedJSON, Message: "the body is not valid JSON: " + err.Error()}
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "wire."), strings.HasPrefix(goType, "*time."), strings.HasPrefix(goType, "time."):
		return "an object or string of its kind"
	}
	return "of type " + goType
}

// checkLabels checks every label and returns them as the store takes them, or every problem.
func checkLabels(in []wire.FeedbackLabel, now time.Time) ([]fraud.LabelInput, []fraud.Detail) {
	var details []fraud.Detail
	if in == nil {
		return nil, []fraud.Detail{{"field": "labels", "problem": "is required"}}
	}
	if len(in) == 0 {
		return nil, []fraud.Detail{{"field": "labels", "problem": "must hold at least one label", "value": []any{}}}
	}
	idRule := transactionIDRule()
	out := make([]fraud.LabelInput, len(in))
	for i, l := range in {
		at := func(f string) string { return "labels[" + strconv.Itoa(i) + "]." + f }
		switch {
		case l.TransactionID == "":
			details = append(details, fraud.Detail{"field": at("transaction_id"), "problem": "is required"})
		case idRule.CheckString(l.TransactionID) != "":
			details = append(details, fraud.FieldError(at("transaction_id"), idRule.CheckString(l.TransactionID), truncate(l.TransactionID)))
		}
		if l.Label != fraud.LabelFraud && l.Label != fraud.LabelLegit {
			details = append(details, fraud.FieldError(at("label"), "must be fraud or legit", truncate(l.Label)))
		}
		if !isSource(l.Source) {
			details = append(details, fraud.FieldError(at("source"), "must be 1 to 64 lower-case letters, digits, _ or -, such as chargeback, analyst or customer", truncate(l.Source)))
		}
		observed := now
		if l.ObservedAt != nil {
			observed = l.ObservedAt.UTC()
			if observed.After(now.Add(5 * time.Minute)) {
				details = append(details, fraud.FieldError(at("observed_at"), "must not be in the future", l.ObservedAt.Format(time.RFC3339Nano)))
			}
		}
		out[i] = fraud.LabelInput{TransactionID: l.TransactionID, Label: l.Label, Source: l.Source, ObservedAt: observed}
	}
	return out, details
}

func isSource(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Server) handlePerformance(w http.ResponseWriter, r *http.Request) {
	store := s.decisionStoreOr503(w, r)
	if store == nil {
		return
	}
	q := r.URL.Query()
	details := checkQuery(q, "since", "until", "model_version")
	var since, until time.Time
	var version string
	details = windowParams(q, &since, &until, &version, details)
	if len(details) > 0 {
		s.errs.write(w, r, invalid(details))
		return
	}
	ctx, end := s.storeSpan(r.Context(), "store.decision_counts")
	counts, scores, err := store.DecisionCounts(ctx, since, until, version)
	end()
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.PerformanceResponse{Versions: decision.Performance(counts, scores)})
}

// decisionsOpenAPI describes the decision log's routes.
func decisionsOpenAPI(g *schemaGen) (obj, error) {
	for _, t := range []reflect.Type{
		reflect.TypeFor[wire.DecisionsResponse](),
		reflect.TypeFor[wire.FeedbackRequest](),
		reflect.TypeFor[wire.FeedbackResponse](),
		reflect.TypeFor[wire.PerformanceResponse](),
		reflect.TypeFor[wire.EraseResponse](),
	} {
		if _, err := g.ref(t); err != nil {
			return nil, err
		}
	}
	op := func(id, summary, desc, scope string, ok obj, codes ...string) obj {
		return obj{
			"operationId":      id,
			"summary":          summary,
			"description":      desc,
			"tags":             []any{"decisions"},
			"responses":        mergeResponses(ok, errorResponses(append(codes, "401", "403", "429", "503")...)),
			"security":         []any{obj{"apiKey": []any{}}, obj{"bearer": []any{}}},
			"x-required-scope": scope,
		}
	}
	bad := func(o obj, msg string, d ...fraud.Detail) obj {
		r := o["responses"].(obj)["400"].(obj)
		r["content"].(obj)["application/json"].(obj)["example"] = errorExample(fraud.CodeValidation, msg, d...)
		return o
	}
	window := []any{
		obj{"name": "since", "in": "query", "description": "Only decisions at or after this time (RFC 3339).", "schema": obj{"type": "string", "format": "date-time"}},
		obj{"name": "until", "in": "query", "description": "Only decisions before this time (RFC 3339); must be after since.", "schema": obj{"type": "string", "format": "date-time"}},
		obj{"name": "model_version", "in": "query", "description": "Only decisions of this model version.", "schema": obj{"type": "string", "maxLength": 128}},
	}
	list := bad(op("listDecisions", "List decisions",
		"Recorded answers of /predict and /predict/batch, newest first (by time, then by the order stored), filtered, a page at a time: next_cursor, passed back as cursor, reads the next page; it is absent on the last. Unknown parameters, bad times, an unknown risk_level, is_fraud other than true or false, a limit out of 1..1000 and a cursor this server did not give are 400, every bad one reported.",
		"read", obj{"200": jsonResponse("A page of decisions.", "DecisionsResponse")}, "400"),
		"2 fields are invalid", fraud.FieldError("risk_level", "must be low, medium, high or critical", "severe"),
		fraud.FieldError("limit", "must be a whole number from 1 to 1000", "5000"))
	list["parameters"] = append(slices.Clone(window),
		obj{"name": "risk_level", "in": "query", "description": "Only this risk level.", "schema": obj{"type": "string", "enum": []any{"low", "medium", "high", "critical"}}},
		obj{"name": "is_fraud", "in": "query", "description": "Only flagged (true) or unflagged (false) decisions.", "schema": obj{"type": "boolean"}},
		obj{"name": "limit", "in": "query", "schema": obj{"type": "integer", "minimum": 1, "maximum": maxDecisionLimit, "default": defaultDecisionLimit}},
		obj{"name": "cursor", "in": "query", "description": "next_cursor of the previous page, as it is.", "schema": obj{"type": "string"}},
	)
	get := op("getDecisions", "A transaction's decisions",
		"Every recorded answer for the transaction, newest first, with its inputs, the reasons of a flagged one and the transaction's latest label. A decision is readable within a second of its answer. 404 NOT_FOUND when none is recorded (never scored, purged, or DECISION_LOG=false).",
		"read", obj{"200": jsonResponse("The transaction's decisions.", "DecisionsResponse")}, "400")
	get["parameters"] = []any{obj{"name": "transaction_id", "in": "path", "required": true, "description": "The transaction's identifier, as answered.", "schema": obj{"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"}}}
	notFound := errorResponses()["404"].(obj)
	notFound["description"] = "No decision is recorded for the transaction, or no such route (NOT_FOUND)."
	notFound["content"].(obj)["application/json"].(obj)["example"] = errorExample(fraud.CodeNotFound,
		"no decision is recorded for transaction txn-0001 (never scored, purged, or not stored yet)", fraud.Detail{"transaction_id": "txn-0001"})
	get["responses"].(obj)["404"] = notFound
	erase := op("eraseDecisions", "Erase a transaction",
		"Deletes every decision and label of the transaction, for a data-protection request; the figures of /models/performance and the export are computed without them from then on. A decision answered after the erasure, or still waiting in the decision log's queue (up to 100 ms), is recorded anew. 404 NOT_FOUND when nothing is recorded. Audited (decision_erase).",
		"admin", obj{"200": jsonResponse("What was deleted.", "EraseResponse")}, "400")
	erase["parameters"] = get["parameters"]
	eraseNotFound := errorResponses()["404"].(obj)
	eraseNotFound["description"] = "Nothing is recorded for the transaction, or no such route (NOT_FOUND)."
	eraseNotFound["content"].(obj)["application/json"].(obj)["example"] = errorExample(fraud.CodeNotFound,
		"nothing is recorded for transaction txn-0001 (never scored, purged, or erased)", fraud.Detail{"transaction_id": "txn-0001"})
	erase["responses"].(obj)["404"] = eraseNotFound
	feedback := bad(op("postFeedback", "Label transactions",
		"Records what was learnt afterwards of transactions: fraud or legit, by whom (source) and when (observed_at, now when absent). Up to MAX_BATCH_SIZE labels in a body of up to MAX_BATCH_BODY_BYTES (more is 413). Each label gets a result: recorded (its first label), updated (the label changed; the history is kept, the latest counts), unchanged (the same label again: nothing is stored) or unknown_transaction (no decision is recorded for it: never scored, or purged). Labels are stored before the answer, so /models/performance counts them at once. Unknown fields and bad labels are 400, every bad label reported. Audited (feedback).",
		"predict", obj{"200": jsonResponse("One result per label, in order.", "FeedbackResponse")}, "400", "413", "415"),
		"1 field is invalid", fraud.FieldError("labels[0].label", "must be fraud or legit", "maybe"))
	feedback["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{
		"schema":  ref("FeedbackRequest"),
		"example": obj{"labels": []any{obj{"transaction_id": "txn-0001", "label": "fraud", "source": "chargeback", "observed_at": "2026-11-27T09:30:00Z"}, obj{"transaction_id": "txn-0002", "label": "legit", "source": "analyst"}}},
	}}}
	perf := bad(op("modelPerformance", "Live model quality",
		"Each model version's quality on its decisions in the window that have a label (the latest label of the transaction wins): precision, recall and f1 at each decision's own is_fraud, roc_auc (ties counted half) and average_precision (as scikit-learn defines it) of the stored probabilities, computed exactly when asked. A figure that cannot be computed (no fraud labelled, no flagged decision, one class only) is null. Without since and until, every stored decision counts.",
		"read", obj{"200": jsonResponse("One entry per model version.", "PerformanceResponse")}, "400"),
		"1 field is invalid", fraud.FieldError("since", "must be an RFC 3339 time such as 2026-11-26T07:00:00Z", "yesterday"))
	perf["parameters"] = window
	return obj{
		"/decisions":                  obj{"get": list},
		"/decisions/{transaction_id}": obj{"get": get, "delete": erase},
		"/feedback":                   obj{"post": feedback},
		"/models/performance":         obj{"get": perf},
	}, nil
}
