package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

// The OpenAPI 3.1 document is generated from the Go types the handlers use: the request schema
// from wire.TransactionRequest's tags (the same tags the strict decoder's rules come from), the
// answers from the other types of package wire, which the handlers answer with and the Go client
// reads. Maps keep the JSON output in sorted, stable order.

type obj = map[string]any

// OpenAPIDocument builds the OpenAPI 3.1 document of the API.
func OpenAPIDocument(version string) (map[string]any, error) {
	g := &schemaGen{schemas: obj{}}
	for _, t := range []reflect.Type{
		reflect.TypeFor[wire.TransactionRequest](),
		reflect.TypeFor[wire.PredictRequest](),
		reflect.TypeFor[wire.PredictResponse](),
		reflect.TypeFor[wire.ErrorResponse](),
		reflect.TypeFor[wire.HealthResponse](),
		reflect.TypeFor[wire.ProbeResponse](),
		reflect.TypeFor[wire.ModelInfoResponse](),
		reflect.TypeFor[wire.BlockedResponse](),
		reflect.TypeFor[wire.UnblockResponse](),
		reflect.TypeFor[wire.AuditResponse](),
		reflect.TypeFor[wire.ReloadResponse](),
		reflect.TypeFor[wire.ActivateRequest](),
		reflect.TypeFor[wire.ModelChangeResponse](),
		reflect.TypeFor[wire.CompareResponse](),
		reflect.TypeFor[wire.LogLevelBody](),
		reflect.TypeFor[wire.PredictBatchRequest](),
		reflect.TypeFor[wire.PredictBatchResponse](),
		reflect.TypeFor[wire.MetricsSummary](),
	} {
		if _, err := g.ref(t); err != nil {
			return nil, err
		}
	}
	batchPaths, err := batchOpenAPI(g)
	if err != nil {
		return nil, err
	}
	decisionPaths, err := decisionsOpenAPI(g)
	if err != nil {
		return nil, err
	}
	codes := make([]any, 0, len(fraud.Codes()))
	for _, c := range fraud.Codes() {
		codes = append(codes, string(c))
	}
	errSchema := g.schemas["ErrorResponse"].(obj)
	errSchema["properties"].(obj)["error_code"].(obj)["enum"] = codes

	firstRow := obj{}
	for _, r := range fraud.TransactionFields() {
		if r.Index >= 0 {
			firstRow[r.Name] = exampleValue(r.Example, reflect.Float64)
		}
	}
	withID := obj{"transaction_id": "txn-0001"}
	explain := obj{"explain": true, "explain_top_k": 3}
	for k, v := range firstRow {
		withID[k] = v
		explain[k] = v
	}
	// /predict and /predict/batch answer 400 for a model that cannot be explained too.
	scoring400 := func() obj {
		r := errorResponses("400")
		r400 := r["400"].(obj)
		r400["description"] = r400["description"].(string) + " With explain: true, a live model that cannot be explained (EXPLANATION_UNAVAILABLE, such as one with a tree without node covers); the same request without explain is scored."
		content := r400["content"].(obj)["application/json"].(obj)
		content["examples"] = obj{
			"validation": obj{"summary": "Invalid fields", "value": content["example"]},
			"explanation_unavailable": obj{"summary": "The live model cannot be explained", "value": errorExample(fraud.CodeExplanationUnavailable,
				"explain: the live model has a tree without node covers, which explanations need; ask without explain to be scored",
				fraud.Detail{"field": "explain", "problem": "the live model has a tree without node covers, which explanations need", "value": true})},
		}
		delete(content, "example")
		return r
	}

	predict := obj{
		"operationId": "predict",
		"summary":     "Score one transaction",
		"description": "Scores one card transaction and answers its fraud probability, the decision under the model's threshold and a risk level; with explain: true, also the explanation of the score (the explain_top_k features that moved its margin most, as exact SHAP values in log-odds). The body is decoded strictly: every field but transaction_id, explain and explain_top_k is required, unknown and duplicate fields are refused, and every bad field is reported.",
		"tags":        []any{"scoring"},
		"requestBody": obj{
			"required": true,
			"content": obj{"application/json": obj{
				"schema": ref("PredictRequest"),
				"examples": obj{
					"first_row": obj{"summary": "The first transaction of creditcard.csv", "value": firstRow},
					"with_id":   obj{"summary": "With the caller's transaction_id", "value": withID},
					"explain":   obj{"summary": "With an explanation of its three main features", "value": explain},
				},
			}},
		},
		"responses": mergeResponses(
			obj{"200": jsonResponse("The transaction's score, and its explanation when asked.", "PredictResponse")},
			errorResponses("413", "415", "503"),
			scoring400(),
		),
	}
	predictBatch := obj{
		"operationId": "predictBatch",
		"summary":     "Score up to MAX_BATCH_SIZE transactions",
		"description": "Scores a batch in one request (one request for rate limiting). Each transaction is validated on its own: an invalid one gets {index, error} in its place and the others are still scored. With explain: true at the top level, every scored transaction's result has its explanation, as for /predict. More than MAX_BATCH_SIZE transactions is a 413 with limit and received; the body may be up to MAX_BATCH_BODY_BYTES (4 MiB). For larger files use POST /batch.",
		"tags":        []any{"scoring"},
		"requestBody": obj{
			"required": true,
			"content": obj{"application/json": obj{
				"schema":  ref("PredictBatchRequest"),
				"example": obj{"transactions": []any{withID, firstRow}},
			}},
		},
		"responses": mergeResponses(
			obj{"200": jsonResponse("One result per transaction, in order, and a summary.", "PredictBatchResponse")},
			errorResponses("413", "415", "503"),
			scoring400(),
		),
	}
	get := func(id, summary, desc, schema, tag string, codes ...string) obj {
		return obj{"get": obj{
			"operationId": id,
			"summary":     summary,
			"description": desc,
			"tags":        []any{tag},
			"responses":   mergeResponses(obj{"200": jsonResponse(summary+".", schema)}, errorResponses(codes...)),
		}}
	}
	health := get("health", "Service health", "Status, uptime, background system sample, model and prediction counters. Answers 503 when unhealthy (no model loaded).", "HealthResponse", "health")
	health["get"].(obj)["responses"].(obj)["503"] = jsonResponse("Unhealthy: scoring cannot work.", "HealthResponse")
	probe := func(id, summary string, ready bool) obj {
		o := get(id, summary, summary+".", "ProbeResponse", "health")
		if ready {
			o["get"].(obj)["responses"].(obj)["503"] = jsonResponse("No model is loaded yet.", "ProbeResponse")
		}
		return o
	}
	html := func(id, summary string) obj {
		return obj{"get": obj{
			"operationId": id,
			"summary":     summary,
			"tags":        []any{"documentation"},
			"responses": mergeResponses(obj{"200": obj{
				"description": summary + ".",
				"content":     obj{"text/html": obj{"schema": obj{"type": "string"}}},
			}}, errorResponses()),
		}}
	}
	openapi := get("openapi", "This OpenAPI document", "The OpenAPI 3.1 description of the API, generated from the types that validate requests.", "", "documentation")
	openapi["get"].(obj)["responses"].(obj)["200"] = obj{
		"description": "The OpenAPI document.",
		"content":     obj{"application/json": obj{"schema": obj{"type": "object"}}},
	}

	// Every route but the probes answers 401, 403 and 429 too.
	secured := func(item obj, scope string) obj {
		for _, op := range item {
			op := op.(obj)
			for k, v := range errorResponses("401", "403", "429") {
				op["responses"].(obj)[k] = v
			}
			op["security"] = []any{obj{"apiKey": []any{}}, obj{"bearer": []any{}}}
			op["x-required-scope"] = scope
		}
		return item
	}
	post := func(id, summary, desc, schema, tag string, codes ...string) obj {
		o := get(id, summary, desc, schema, tag, codes...)
		return obj{"post": o["get"]}
	}
	unblock := obj{"delete": obj{
		"operationId": "unblockIP",
		"summary":     "Lift an address's block",
		"description": "Lifts an automatic block and forgets the address's strikes. Audited.",
		"tags":        []any{"security"},
		"parameters":  []any{obj{"name": "ip", "in": "path", "required": true, "description": "IPv4 or IPv6 address.", "schema": obj{"type": "string"}}},
		"responses":   mergeResponses(obj{"200": jsonResponse("The address was unblocked.", "UnblockResponse")}, errorResponses("400")),
	}}
	audit := get("auditLog", "The audit log", "Security events and admin actions, newest first, paged with offset and limit (at most 1000), filtered by action and time.", "AuditResponse", "security", "400", "503")
	audit["get"].(obj)["parameters"] = []any{
		obj{"name": "action", "in": "query", "description": "Only this action, such as auth_failure or ip_blocked.", "schema": obj{"type": "string"}},
		obj{"name": "since", "in": "query", "description": "Only events at or after this time (RFC 3339).", "schema": obj{"type": "string", "format": "date-time"}},
		obj{"name": "until", "in": "query", "description": "Only events before this time (RFC 3339).", "schema": obj{"type": "string", "format": "date-time"}},
		obj{"name": "offset", "in": "query", "schema": obj{"type": "integer", "minimum": 0, "default": 0}},
		obj{"name": "limit", "in": "query", "schema": obj{"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
	}

	metrics := get("metrics", "Metrics", "Prometheus text format; with Accept: application/json, a JSON summary (totals, error rate, request rate and p50/p95/p99 over a sliding window, per-route counts). Needs a key when there is a keys file, unless METRICS_PUBLIC=true.", "MetricsSummary", "health")
	metrics["get"].(obj)["responses"].(obj)["200"].(obj)["content"].(obj)["text/plain"] = obj{"schema": obj{"type": "string"}}
	logLevel := get("getLogLevel", "The log level", "The minimum level logged now.", "LogLevelBody", "admin", "503")
	setLevel := post("setLogLevel", "Change the log level", "Changes the minimum level logged, at once and without a restart. Audited.", "LogLevelBody", "admin", "400", "413", "415", "503")
	setLevel["post"].(obj)["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": ref("LogLevelBody")}}}
	logLevel["put"] = setLevel["post"]

	compareOp := get("compareModels", "Compare the live model with the shadow or challenger",
		"Over the transactions both models scored in the window (kept in memory, for the last hour and at most 100,000 transactions): each model's flag rate, the rate at which they agree, the correlation of their scores and the transactions on which they disagree most. The second score is computed off the hot path from a bounded queue; what the queue could not take is counted in dropped and never slowed an answer.",
		"CompareResponse", "models", "400")
	compareOp["get"].(obj)["parameters"] = []any{
		obj{"name": "since", "in": "query", "description": "Start of the window (RFC 3339, inclusive); default an hour before until.", "schema": obj{"type": "string", "format": "date-time"}},
		obj{"name": "until", "in": "query", "description": "End of the window (RFC 3339, exclusive); default now.", "schema": obj{"type": "string", "format": "date-time"}},
		obj{"name": "limit", "in": "query", "description": "How many disagreements to list.", "schema": obj{"type": "integer", "minimum": 0, "maximum": 100, "default": 10}},
	}
	compareOp["get"].(obj)["responses"].(obj)["409"] = obj{
		"description": "Neither SHADOW_MODEL_VERSION nor CHALLENGER_MODEL_VERSION is set (CONFLICT).",
		"headers":     obj{"X-Request-ID": obj{"$ref": "#/components/headers/X-Request-ID"}},
		"content":     obj{"application/json": obj{"schema": ref("ErrorResponse"), "example": errorExample(fraud.CodeConflict, "there is nothing to compare: set SHADOW_MODEL_VERSION or CHALLENGER_MODEL_VERSION")}},
	}

	modelSwitch422 := func(desc string) obj {
		r := errorResponses("422")
		r["422"].(obj)["description"] = desc
		r["422"].(obj)["content"].(obj)["application/json"].(obj)["example"] = errorExample(fraud.CodeUnprocessableEntity,
			"the model could not be loaded; the old model stays live: load model models/v2: canary 3: model gives probability 0.91, manifest says 0.42 (relative tolerance 1e-09)")
		return r
	}
	activate := post("activateModel", "Make a model version live",
		"Loads the named bundle under MODEL_PATH (or takes it from memory with ENABLE_MODEL_CACHING=true), checks it off to the side — format, feature list, and its canary rows scored against their expected outputs — and swaps it in atomically: requests in flight finish on the model they started with. The switch is stored in the activation history (a restart keeps it unless MODEL_VERSION is set) and audited (model_activate), and counted in fraudguard_model_reloads_total. On any failure the old model stays live.",
		"ModelChangeResponse", "models", "400", "413", "415", "503")
	activate["post"].(obj)["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{
		"schema": ref("ActivateRequest"), "example": obj{"version": "20261126-000000-1a2b3c4d"}}}}
	activateResponses := activate["post"].(obj)["responses"].(obj)
	activateResponses["404"] = obj{
		"description": "No bundle of that version under MODEL_PATH (NOT_FOUND); details list the versions there are.",
		"headers":     obj{"X-Request-ID": obj{"$ref": "#/components/headers/X-Request-ID"}},
		"content": obj{"application/json": obj{"schema": ref("ErrorResponse"), "example": errorExample(fraud.CodeNotFound,
			"no model version v9 under MODEL_PATH", fraud.Detail{"version": "v9", "available": []string{"v2", "v1"}})}},
	}
	for k, v := range modelSwitch422("The bundle fails its checks; the old model stays live (UNPROCESSABLE_ENTITY), and the message says why.") {
		activateResponses[k] = v
	}
	rollback := post("rollbackModel", "Go back to the previous model version",
		"Makes live again the version that was live before the last switch, as the stored activation history says, by the same checks and atomic swap as activateModel. A second rollback undoes the first. Audited (model_rollback).",
		"ModelChangeResponse", "models", "503")
	rollbackResponses := rollback["post"].(obj)["responses"].(obj)
	rollbackResponses["409"] = obj{
		"description": "No earlier version to go back to (CONFLICT).",
		"headers":     obj{"X-Request-ID": obj{"$ref": "#/components/headers/X-Request-ID"}},
		"content":     obj{"application/json": obj{"schema": ref("ErrorResponse"), "example": errorExample(fraud.CodeConflict, "there is no earlier model version to roll back to")}},
	}
	for k, v := range modelSwitch422("The earlier version's bundle is gone or fails its checks; the live model stays (UNPROCESSABLE_ENTITY).") {
		rollbackResponses[k] = v
	}

	doc := obj{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info": obj{
			"title":       "fraudguard API",
			"version":     version,
			"description": "Fraud scoring for card transactions in the creditcard.csv schema (Time, V1..V28, Amount). Every answer is JSON and carries an X-Request-ID header; every error has the shape of ErrorResponse.",
			"license":     obj{"name": "Apache-2.0", "identifier": "Apache-2.0"},
		},
		"tags": []any{
			obj{"name": "scoring", "description": "Fraud scores for transactions."},
			obj{"name": "batch", "description": "Background batch jobs: upload, progress, results."},
			obj{"name": "health", "description": "Health and probes."},
			obj{"name": "models", "description": "The live model, the versions under MODEL_PATH, switching between them, and the comparison of two models."},
			obj{"name": "decisions", "description": "The decision log, feedback labels and the live model's quality."},
			obj{"name": "admin", "description": "Run-time settings (admin scope)."},
			obj{"name": "security", "description": "Blocked addresses, the audit log and key rotation (admin scope)."},
			obj{"name": "documentation", "description": "This document and its viewers."},
		},
		"paths": obj{
			"/predict":               secured(obj{"post": predict}, "predict"),
			"/predict/batch":         secured(obj{"post": predictBatch}, "predict"),
			"/health":                health,
			"/health/live":           probe("healthLive", "Liveness probe", false),
			"/health/ready":          probe("healthReady", "Readiness probe", true),
			"/v2/health/live":        probe("v2HealthLive", "KServe V2 liveness probe", false),
			"/v2/health/ready":       probe("v2HealthReady", "KServe V2 readiness probe", true),
			"/models/info":           secured(get("modelInfo", "The live model", "Name, version, kind, features in order, threshold, metrics and digest of the live model bundle; its global feature importance (importance: each feature's mean |SHAP| over the reference sample stored in the bundle, measured when the bundle was written, and the trees' split gain and its share), whether it can explain its scores (explanations); and versions: every bundle under MODEL_PATH.", "ModelInfoResponse", "models", "503"), "any"),
			"/models/reload":         secured(post("reloadModel", "Reload the model", "Re-reads MODEL_PATH, loads the newest bundle (or MODEL_VERSION) off to the side, checks it (format, features, canaries) and makes it live; the old model stays live if it fails (422, counted in fraudguard_model_reloads_total{outcome=\"failure\"}). Also done on SIGHUP and, with MODEL_WATCH=true, when MODEL_PATH changes; one reload at a time. Audited.", "ReloadResponse", "models", "422", "503"), "admin"),
			"/models/activate":       secured(activate, "admin"),
			"/models/rollback":       secured(rollback, "admin"),
			"/models/compare":        secured(compareOp, "admin"),
			"/security/blocked":      secured(get("blockedIPs", "Blocked addresses", "Addresses blocked automatically after repeated strikes, with when their block ends.", "BlockedResponse", "security"), "admin"),
			"/security/blocked/{ip}": secured(unblock, "admin"),
			"/security/audit":        secured(audit, "admin"),
			"/security/keys/reload":  secured(post("reloadKeys", "Reload the API keys", "Re-reads API_KEYS_FILE; an invalid file leaves the old keys in force. Also done on SIGHUP. Audited.", "ReloadResponse", "security", "409", "422"), "admin"),
			"/metrics":               secured(metrics, "any"),
			"/admin/log-level":       secured(logLevel, "admin"),
			"/openapi.json":          secured(openapi, "any"),
			"/docs":                  secured(html("swaggerUI", "Swagger UI"), "any"),
			"/redoc":                 secured(html("redoc", "ReDoc"), "any"),
		},
		"components": obj{
			"schemas": g.schemas,
			"securitySchemes": obj{
				"apiKey": obj{"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "An API key. With API_KEYS_FILE set, every route but the probes needs one with the route's scope (x-required-scope: any, predict, batch, admin or read); without it, only admin routes do."},
				"bearer": obj{"type": "http", "scheme": "bearer", "description": "The same key as Authorization: Bearer."},
			},
			"headers": obj{
				"X-Request-ID": obj{"description": "The request's identifier: the client's when sane, else generated.", "schema": obj{"type": "string"}},
			},
		},
	}
	for _, paths := range []obj{batchPaths, decisionPaths} {
		for path, item := range paths {
			doc["paths"].(obj)[path] = item
		}
	}
	return doc, nil
}

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func jsonResponse(desc, schema string) obj {
	r := obj{
		"description": desc,
		"headers":     obj{"X-Request-ID": obj{"$ref": "#/components/headers/X-Request-ID"}},
	}
	if schema != "" {
		r["content"] = obj{"application/json": obj{"schema": ref(schema)}}
	}
	return r
}

// errorResponses describes the error answers of an operation: the codes given, plus 404, 405
// and 500, which any request can meet.
func errorResponses(codes ...string) obj {
	examples := map[string]struct {
		desc string
		ex   obj
	}{
		"400": {"Invalid fields (VALIDATION_ERROR, one detail per bad field), malformed JSON (MALFORMED_JSON) or a Host not served (INVALID_HOST).", errorExample(fraud.CodeValidation, "2 fields are invalid",
			fraud.FieldError("Amount", "must be between 0 and 100000", -5), fraud.Detail{"field": "V3", "problem": "is required"})},
		"404": {"No such route (NOT_FOUND).", errorExample(fraud.CodeNotFound, "no such route: /nope; see /docs for the API", fraud.Detail{"path": "/nope"})},
		"405": {"Method not allowed on this path (METHOD_NOT_ALLOWED); the Allow header lists the methods.", errorExample(fraud.CodeMethodNotAllowed, "GET is not allowed on /predict; use POST", fraud.Detail{"method": "GET", "allowed": []string{"POST"}})},
		"413": {"Body too large (PAYLOAD_TOO_LARGE).", errorExample(fraud.CodePayloadTooLarge, "the request body is larger than 65536 bytes", fraud.Detail{"limit": 65536, "received": 70000})},
		"415": {"Body is not JSON (UNSUPPORTED_MEDIA_TYPE).", errorExample(fraud.CodeUnsupportedMedia, "the body must be JSON: send Content-Type: application/json", fraud.Detail{"content_type": "text/plain", "supported": []string{"application/json"}})},
		"500": {"Internal error (INTERNAL_ERROR): only the request id is told; the log has the rest.", errorExample(fraud.CodeInternal, "internal error; quote the request_id when reporting it")},
		"503": {"No model is loaded yet (MODEL_NOT_LOADED) or a dependency is down (SERVICE_UNAVAILABLE); retry_after says when to retry.", errorExample(fraud.CodeModelNotLoaded, "no model is loaded yet")},
		"401": {"No API key, or an unknown one (UNAUTHORIZED).", errorExample(fraud.CodeUnauthorized, "no API key: send it as X-API-Key or Authorization: Bearer")},
		"403": {"The key lacks the route's scope (FORBIDDEN), the request looks like an attack (SUSPICIOUS_REQUEST), the address is blocked (IP_BLOCKED, with retry_after) or plain HTTP was refused (HTTPS_REQUIRED).", errorExample(fraud.CodeForbidden, "this key lacks the admin scope", fraud.Detail{"required_scope": "admin", "key_name": "scoring-app"})},
		"409": {"Nothing to do in the server's configuration (CONFLICT).", errorExample(fraud.CodeConflict, "no API_KEYS_FILE is configured: there is nothing to reload")},
		"422": {"The new file is invalid; the old state stays in force (UNPROCESSABLE_ENTITY).", errorExample(fraud.CodeUnprocessableEntity, "the keys file is invalid; the old keys stay in force")},
		"429": {"Too many requests (RATE_LIMITED); Retry-After and retry_after say when to retry. RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset come on every answer.", errorExample(fraud.CodeRateLimited, "too many requests; slow down", fraud.Detail{"limit_per_minute": 100, "burst": 100})},
	}
	out := obj{}
	for _, c := range append(codes, "404", "405", "500") {
		e := examples[c]
		out[c] = obj{
			"description": e.desc,
			"headers":     obj{"X-Request-ID": obj{"$ref": "#/components/headers/X-Request-ID"}},
			"content":     obj{"application/json": obj{"schema": ref("ErrorResponse"), "example": e.ex}},
		}
	}
	return out
}

func errorExample(code fraud.Code, msg string, details ...fraud.Detail) obj {
	ds := make([]any, 0, len(details))
	for _, d := range details {
		ds = append(ds, map[string]any(d))
	}
	ex := obj{
		"error_code": string(code),
		"message":    msg,
		"details":    ds,
		"request_id": "3f2b9c1e8a7d4e6f0a1b2c3d4e5f6a7b",
		"timestamp":  "2026-11-26T07:00:00Z",
	}
	switch code {
	case fraud.CodeModelNotLoaded:
		ex["retry_after"] = 5
	case fraud.CodeRateLimited:
		ex["retry_after"] = 1
	}
	return ex
}

func mergeResponses(parts ...obj) obj {
	out := obj{}
	for _, p := range parts {
		for k, v := range p {
			out[k] = v
		}
	}
	return out
}

// schemaGen turns Go struct types into JSON Schemas under components/schemas.
type schemaGen struct {
	schemas obj
}

var timeType = reflect.TypeFor[time.Time]()

// ref registers struct type t (once) and returns a reference to it.
func (g *schemaGen) ref(t reflect.Type) (obj, error) {
	name := t.Name()
	if _, ok := g.schemas[name]; ok {
		return ref(name), nil
	}
	g.schemas[name] = obj{} // reserve the name against recursion
	s, err := g.object(t)
	if err != nil {
		return nil, err
	}
	g.schemas[name] = s
	return ref(name), nil
}

func (g *schemaGen) object(t reflect.Type) (obj, error) {
	props := obj{}
	var required []any
	// An embedded struct's fields are the type's own, as encoding/json sees them.
	var fields []reflect.StructField
	for _, f := range reflect.VisibleFields(t) {
		if !(f.Anonymous && f.Type.Kind() == reflect.Struct) {
			fields = append(fields, f)
		}
	}
	explicit := false
	for _, f := range fields {
		explicit = explicit || f.Tag.Get("required") != ""
	}
	for _, f := range fields {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		s, err := g.schema(f.Type)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		if _, isRef := s["$ref"]; isRef && f.Tag.Get("doc") != "" {
			s = obj{"allOf": []any{s}}
		}
		for _, kv := range []struct{ tag, key string }{{"doc", "description"}, {"pattern", "pattern"}, {"format", "format"}} {
			if v := f.Tag.Get(kv.tag); v != "" {
				s[kv.key] = v
			}
		}
		for _, kv := range []struct{ tag, key string }{{"minimum", "minimum"}, {"maximum", "maximum"}, {"minLength", "minLength"}, {"maxLength", "maxLength"}} {
			if v := f.Tag.Get(kv.tag); v != "" {
				n, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return nil, fmt.Errorf("%s.%s: bad %s tag %q", t.Name(), f.Name, kv.tag, v)
				}
				s[kv.key] = n
			}
		}
		if v := f.Tag.Get("enum"); v != "" {
			var vals []any
			for _, e := range strings.Split(v, ",") {
				vals = append(vals, e)
			}
			s["enum"] = vals
		}
		kind := f.Type.Kind()
		if kind == reflect.Pointer {
			kind = f.Type.Elem().Kind()
		}
		if v := f.Tag.Get("example"); v != "" {
			s["examples"] = []any{exampleValue(v, kind)}
		}
		if v := f.Tag.Get("default"); v != "" {
			s["default"] = exampleValue(v, kind)
		}
		props[name] = s
		if (explicit && f.Tag.Get("required") == "true") || (!explicit && !strings.Contains(opts, "omitempty")) {
			required = append(required, name)
		}
	}
	o := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	if explicit {
		// A request type: the decoder refuses unknown fields.
		o["additionalProperties"] = false
	}
	return o, nil
}

func (g *schemaGen) schema(t reflect.Type) (obj, error) {
	if t == timeType {
		return obj{"type": "string", "format": "date-time"}, nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.String:
		return obj{"type": "string"}, nil
	case reflect.Bool:
		return obj{"type": "boolean"}, nil
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint32:
		return obj{"type": "integer"}, nil
	case reflect.Float64, reflect.Float32:
		return obj{"type": "number"}, nil
	case reflect.Slice:
		items, err := g.schema(t.Elem())
		if err != nil {
			return nil, err
		}
		return obj{"type": "array", "items": items}, nil
	case reflect.Map:
		return obj{"type": "object"}, nil
	case reflect.Interface:
		return obj{}, nil
	case reflect.Struct:
		return g.ref(t)
	}
	return nil, fmt.Errorf("no schema for type %s", t)
}

// exampleValue turns an example tag into a value of the field's JSON type.
func exampleValue(v string, k reflect.Kind) any {
	switch k {
	case reflect.Float64, reflect.Float32, reflect.Int, reflect.Int64, reflect.Uint64:
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return n
		}
	case reflect.Bool:
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return v
}

func digestHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
