package api

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/clocktest"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/model"
	"github.com/fraudguard/fraudguard/internal/ratelimit"
	"github.com/fraudguard/fraudguard/internal/security/apikey"
	"github.com/fraudguard/fraudguard/internal/security/audit"
	"github.com/fraudguard/fraudguard/internal/security/block"
	"github.com/fraudguard/fraudguard/internal/security/detect"
	"github.com/fraudguard/fraudguard/internal/store/sqlite"
)

// The keys of the test key set, by name.
const (
	keyPredict = "fg_predict_key_0123456789abcdef"
	keyBatch   = "fg_batch_key_0123456789abcdef00"
	keyAdmin   = "fg_admin_in_file_0123456789abcd"
	keyNoScope = "fg_slow_key_0123456789abcdef000"
	adminEnv   = "admin-from-environment-0123"
)

// testKeyEntries are the entries of the test key set.
func testKeyEntries() []apikey.Entry {
	return []apikey.Entry{
		{Name: "scoring-app", SHA256: apikey.Hash(keyPredict), Scopes: []string{"predict"}},
		{Name: "risk-team", SHA256: apikey.Hash(keyBatch), Scopes: []string{"batch"}},
		{Name: "ops", SHA256: apikey.Hash(keyAdmin), Scopes: []string{"admin"}},
		{Name: "slow-partner", SHA256: apikey.Hash(keyNoScope), Scopes: []string{"predict"}, RateLimitPerMinute: 2},
	}
}

// mustKeyRing writes the test key set to a keys file and loads it as the service does.
func mustKeyRing(t testing.TB) *apikey.Ring {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.yaml")
	for _, e := range testKeyEntries() {
		if err := apikey.Append(path, e); err != nil {
			t.Fatal(err)
		}
	}
	ring, err := apikey.NewRing(path)
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func mustAdmin(t testing.TB) *apikey.Set {
	t.Helper()
	ks, _, err := apikey.AdminKey(adminEnv, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// bareGuard is a guard with only the parts that cannot be switched off (the admin key and the
// client address resolver) and every other part switched off, for tests of other features.
func bareGuard(t testing.TB) Guard {
	t.Helper()
	return Guard{
		Admin:    mustAdmin(t),
		ClientIP: block.NewClientIPResolver(nil),
		Off:      GuardOff{Detection: true, Blocking: true, RateLimit: true, Audit: true},
	}
}

// guarded is a server with the whole security chain over real parts: a key set, the admin key,
// the in-process limiter and blocker on a fake clock, the detector and a SQLite audit store.
type guarded struct {
	srv     *Server
	clock   *clocktest.Clock
	auditor *audit.Auditor
	store   *sqlite.Store
	keys    *apikey.Ring // nil without a keys file
	cancel  context.CancelFunc
	done    chan error
}

func mustGuarded(t testing.TB, withKeys bool, mutate func(*Guard)) *guarded {
	t.Helper()
	return mustGuardedWith(t, withKeys, Options{}, nil, mutate)
}

// mustGuardedWith is mustGuarded with options and a model source (staticModels of mustModel when
// nil); opts.Now is set to the fake clock.
func mustGuardedWith(t testing.TB, withKeys bool, opts Options, models ModelSource, mutate func(*Guard)) *guarded {
	t.Helper()
	clock := clocktest.New(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "fraudguard.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	auditor := audit.New(store, logger, clock.Now, 1024)
	g := Guard{
		Admin:    mustAdmin(t),
		Limiter:  ratelimit.NewLocal(clock.Now, ratelimit.Memory{}),
		Limit:    ratelimit.Limit{PerMinute: 1000},
		Detector: detect.New(detect.Options{}),
		Blocker:  block.New(clock.Now, block.Options{Threshold: 5, Window: time.Minute, Duration: 10 * time.Minute}),
		ClientIP: block.NewClientIPResolver(mustPrefixes(t, "10.0.0.0/8")),
		Audit:    auditor,
	}
	var ring *apikey.Ring
	if withKeys {
		ring = mustKeyRing(t)
		g.Keys, g.HasKeysFile, g.ReloadKeys = ring, true, ring.Reload
	}
	if mutate != nil {
		mutate(&g)
	}
	if opts.Version == "" {
		opts.Version = "t"
	}
	opts.Now = clock.Now
	if models == nil {
		models = staticModels{mustModel(t)}
	}
	s, err := NewServer(logger, opts, models, fixedSystem{}, g)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gd := &guarded{srv: s, clock: clock, auditor: auditor, store: store, keys: ring, cancel: cancel, done: make(chan error, 1)}
	go func() { gd.done <- auditor.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-gd.done
		store.Close()
	})
	return gd
}

// events returns the stored audit events of action once at least want of them are there (the
// auditor stores them in the background), or what there is after 10 s.
func (g *guarded) events(t testing.TB, action string, want int) []fraud.AuditEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, _, err := g.store.ListAudit(context.Background(), fraud.AuditFilter{Action: action, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) >= want || time.Now().After(deadline) {
			return evs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustPrefixes(t testing.TB, s string) []netip.Prefix {
	t.Helper()
	p, err := block.ParsePrefixes(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// from sets the peer address.
func from(ip string) func(*http.Request) {
	return func(r *http.Request) { r.RemoteAddr = ip + ":40000" }
}

func send(t testing.TB, h http.Handler, method, path string, body []byte, key string, opts ...func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	hdr := map[string]string{}
	if key != "" {
		hdr["X-API-Key"] = key
	}
	var bodyReader *strings.Reader
	if body != nil {
		bodyReader = strings.NewReader(string(body))
	}
	var r *http.Request
	if bodyReader != nil {
		r = httptest.NewRequest(method, path, bodyReader)
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.RemoteAddr = "198.51.100.10:40000"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	for _, o := range opts {
		o(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestAuthMatrix checks every route against {no key, bad key, wrong scope, right scope}.
func TestAuthMatrix(t *testing.T) {
	g := mustGuarded(t, true, nil)
	predictBody := txBody(firstRow, nil, "")
	routes := []struct {
		method, path string
		body         []byte
		right, wrong string // keys with and without the needed scope; "" when any key will do
		public       bool
	}{
		{"POST", "/predict", predictBody, keyPredict, keyBatch, false},
		{"GET", "/health", nil, "", "", true},
		{"GET", "/health/live", nil, "", "", true},
		{"GET", "/health/ready", nil, "", "", true},
		{"GET", "/v2/health/live", nil, "", "", true},
		{"GET", "/v2/health/ready", nil, "", "", true},
		{"GET", "/models/info", nil, keyBatch, "", false},
		{"POST", "/models/reload", nil, keyAdmin, keyPredict, false},
		{"GET", "/security/blocked", nil, keyAdmin, keyPredict, false},
		{"DELETE", "/security/blocked/203.0.113.1", nil, keyAdmin, keyBatch, false},
		{"GET", "/security/audit", nil, keyAdmin, keyPredict, false},
		{"POST", "/security/keys/reload", nil, keyAdmin, keyPredict, false},
		{"GET", "/openapi.json", nil, keyPredict, "", false},
		{"GET", "/docs", nil, keyPredict, "", false},
		{"GET", "/redoc", nil, keyBatch, "", false},
		{"GET", "/docs/assets/docs.css", nil, keyBatch, "", false},
	}
	for i, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			ip := from("203.0.113." + strconv.Itoa(100+i)) // own address: strikes stay apart
			cases := []struct {
				name, key string
				want      int
			}{
				{"no key", "", 401},
				{"bad key", "fg_not_a_real_key", 401},
				{"wrong scope", rt.wrong, 403},
				{"right scope", rt.right, 0},
				{"admin key from the environment", adminEnv, 0},
			}
			for _, c := range cases {
				if c.name == "wrong scope" && rt.wrong == "" {
					continue
				}
				if c.name == "right scope" && rt.right == "" {
					continue
				}
				w := send(t, g.srv, rt.method, rt.path, rt.body, c.key, ip)
				switch {
				case rt.public:
					if w.Code == 401 || w.Code == 403 {
						t.Errorf("%s: public route answered %d", c.name, w.Code)
					}
				case c.want == 0:
					if w.Code == 401 || w.Code == 403 {
						t.Errorf("%s: got %d %s, want it let through", c.name, w.Code, w.Body)
					}
				default:
					code := map[int]string{401: "UNAUTHORIZED", 403: "FORBIDDEN"}[c.want]
					if w.Code != c.want || decodeBody(t, w)["error_code"] != code {
						t.Errorf("%s: got %d %s, want %d %s", c.name, w.Code, w.Body, c.want, code)
					}
					challenge := w.Header().Get("WWW-Authenticate")
					if want := map[int]string{401: `Bearer realm="fraudguard"`}[c.want]; challenge != want {
						t.Errorf("%s: got WWW-Authenticate %q, want %q", c.name, challenge, want)
					}
				}
			}
		})
	}
	if evs := g.events(t, fraud.ActionAuthFailure, 1); len(evs) == 0 || evs[0].ClientIP == "" || evs[0].RequestID == "" {
		t.Errorf("auth failures not audited with client and request id: %+v", evs)
	}
	if evs := g.events(t, fraud.ActionAdminAccess, 1); len(evs) == 0 || (evs[0].KeyName != "ops" && evs[0].KeyName != "admin") {
		t.Errorf("admin access not audited with the key name: %+v", evs)
	}
}

func TestWithoutKeysFileScoringIsOpenAdminIsNot(t *testing.T) {
	g := mustGuarded(t, false, nil)
	if w := send(t, g.srv, "POST", "/predict", txBody(firstRow, nil, ""), ""); w.Code != 200 {
		t.Errorf("predict without keys file: got %d, want 200", w.Code)
	}
	if w := send(t, g.srv, "GET", "/models/info", nil, ""); w.Code != 200 {
		t.Errorf("models/info without keys file: got %d, want 200", w.Code)
	}
	if w := send(t, g.srv, "GET", "/security/blocked", nil, ""); w.Code != 401 {
		t.Errorf("admin route without key: got %d, want 401", w.Code)
	}
	// Deleting a job is an admin action when no keys tell owners apart.
	if w := send(t, g.srv, "DELETE", "/batch/job_x", nil, ""); w.Code != 401 {
		t.Errorf("job deletion without key: got %d, want 401", w.Code)
	}
	if w := send(t, g.srv, "DELETE", "/batch/job_x", nil, adminEnv); w.Code == 401 || w.Code == 403 {
		t.Errorf("job deletion with the admin key: got %d, want it let through", w.Code)
	}
	if w := send(t, g.srv, "GET", "/security/blocked", nil, "wrong"); w.Code != 401 {
		t.Errorf("admin route with a bad key: got %d, want 401", w.Code)
	}
	w := send(t, g.srv, "GET", "/security/blocked", nil, "", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+adminEnv) })
	if w.Code != 200 {
		t.Errorf("admin route with the admin key as Bearer: got %d, want 200", w.Code)
	}
}

// TestRateLimitExact checks the limit, the headers and Retry-After on a fake clock.
func TestRateLimitExact(t *testing.T) {
	g := mustGuarded(t, true, func(g *Guard) { g.Limit = ratelimit.Limit{PerMinute: 60, Burst: 5} })
	body := txBody(firstRow, nil, "")
	for i := range 5 {
		w := send(t, g.srv, "POST", "/predict", body, keyPredict)
		if w.Code != 200 {
			t.Fatalf("request %d: got %d", i, w.Code)
		}
		if got := w.Header().Get("RateLimit-Remaining"); got != strconv.Itoa(4-i) || w.Header().Get("RateLimit-Limit") != "5" {
			t.Errorf("request %d: got RateLimit-Remaining %q Limit %q, want %d and 5", i, got, w.Header().Get("RateLimit-Limit"), 4-i)
		}
	}
	w := send(t, g.srv, "POST", "/predict", body, keyPredict)
	b := checkError(t, w, 429, "RATE_LIMITED")
	if w.Header().Get("Retry-After") != "1" || b["retry_after"] != 1.0 {
		t.Errorf("got Retry-After %q retry_after %v, want 1", w.Header().Get("Retry-After"), b["retry_after"])
	}
	// Probes are never limited.
	if w := send(t, g.srv, "GET", "/health/ready", nil, ""); w.Code != 200 {
		t.Errorf("probe while limited: got %d", w.Code)
	}
	g.clock.Advance(time.Second)
	if w := send(t, g.srv, "POST", "/predict", body, keyPredict); w.Code != 200 {
		t.Errorf("after 1s: got %d, want 200", w.Code)
	}
	// A key's own limit wins over the default: slow-partner has 2 a minute.
	codes := []int{}
	for range 3 {
		codes = append(codes, send(t, g.srv, "POST", "/predict", body, keyNoScope).Code)
	}
	if fmt.Sprint(codes) != "[200 200 429]" {
		t.Errorf("key with its own limit: got %v, want [200 200 429]", codes)
	}
	// Clients without a key are limited by address, each on its own.
	g2 := mustGuarded(t, false, func(g *Guard) { g.Limit = ratelimit.Limit{PerMinute: 60, Burst: 1} })
	if send(t, g2.srv, "POST", "/predict", body, "", from("192.0.2.1")).Code != 200 ||
		send(t, g2.srv, "POST", "/predict", body, "", from("192.0.2.1")).Code != 429 ||
		send(t, g2.srv, "POST", "/predict", body, "", from("192.0.2.2")).Code != 200 {
		t.Error("per-address limits are not separate")
	}
}

// TestForwardedForSpoofing checks that X-Forwarded-For from an untrusted peer changes nothing,
// while a trusted proxy's is believed.
func TestForwardedForSpoofing(t *testing.T) {
	g := mustGuarded(t, false, func(g *Guard) { g.Limit = ratelimit.Limit{PerMinute: 60, Burst: 1} })
	body := txBody(firstRow, nil, "")
	spoof := func(xff string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Forwarded-For", xff) }
	}
	if w := send(t, g.srv, "POST", "/predict", body, "", from("192.0.2.50"), spoof("1.1.1.1")); w.Code != 200 {
		t.Fatalf("first: got %d", w.Code)
	}
	// A new forged address each time does not buy a new budget.
	if w := send(t, g.srv, "POST", "/predict", body, "", from("192.0.2.50"), spoof("2.2.2.2")); w.Code != 429 {
		t.Errorf("forged X-Forwarded-For from an untrusted peer: got %d, want 429", w.Code)
	}
	// Behind a trusted proxy (10.0.0.0/8) each real client has its own budget.
	if w := send(t, g.srv, "POST", "/predict", body, "", from("10.1.1.1"), spoof("192.0.2.60")); w.Code != 200 {
		t.Errorf("client behind proxy: got %d, want 200", w.Code)
	}
	if w := send(t, g.srv, "POST", "/predict", body, "", from("10.1.1.1"), spoof("192.0.2.61")); w.Code != 200 {
		t.Errorf("second client behind the same proxy: got %d, want 200", w.Code)
	}
}

// TestAttacksAreRefusedAndBlock sends attacks in the query, a header and the JSON body, checks
// each is a 403 SUSPICIOUS_REQUEST, then that enough strikes block the address.
func TestAttacksAreRefusedAndBlock(t *testing.T) {
	g := mustGuarded(t, false, nil)
	attacker := from("203.0.113.66")
	cases := []struct {
		name string
		do   func() *httptest.ResponseRecorder
	}{
		{"sqli in query", func() *httptest.ResponseRecorder {
			return send(t, g.srv, "GET", "/models/info?id=1'+OR+'1'='1", nil, "", attacker)
		}},
		{"xss in header", func() *httptest.ResponseRecorder {
			return send(t, g.srv, "GET", "/health", nil, "", attacker, func(r *http.Request) { r.Header.Set("X-Note", "<script>alert(1)</script>") })
		}},
		{"hostile transaction_id", func() *httptest.ResponseRecorder {
			return send(t, g.srv, "POST", "/predict", txBody(firstRow, map[string]any{"transaction_id": "1' OR '1'='1' --"}, ""), "", attacker)
		}},
		{"hostile unknown field", func() *httptest.ResponseRecorder {
			return send(t, g.srv, "POST", "/predict", txBody(firstRow, nil, `"note":"<img src=x onerror=alert(1)>"`), "", attacker)
		}},
		{"traversal", func() *httptest.ResponseRecorder {
			return send(t, g.srv, "GET", "/docs/assets/..%2f..%2fetc%2fpasswd", nil, "", attacker)
		}},
	}
	for _, c := range cases {
		w := c.do()
		checkError(t, w, 403, "SUSPICIOUS_REQUEST")
	}
	// Five strikes within a minute: the address is now blocked, even for a clean request.
	w := send(t, g.srv, "GET", "/models/info", nil, "", attacker)
	b := checkError(t, w, 403, "IP_BLOCKED")
	if b["retry_after"] != 600.0 {
		t.Errorf("got retry_after %v, want 600", b["retry_after"])
	}
	// Other clients are unaffected.
	if w := send(t, g.srv, "GET", "/models/info", nil, "", from("203.0.113.67")); w.Code != 200 {
		t.Errorf("other client: got %d", w.Code)
	}
	if evs := g.events(t, fraud.ActionIPBlocked, 1); len(evs) != 1 || evs[0].ClientIP != "203.0.113.66" {
		t.Errorf("got block events %+v, want one for 203.0.113.66", evs)
	}
	if evs := g.events(t, fraud.ActionAttackDetected, 5); len(evs) != 5 {
		t.Errorf("got %d attack events, want 5", len(evs))
	}
	// The admin sees the block and lifts it.
	list := decodeBody(t, send(t, g.srv, "GET", "/security/blocked", nil, adminEnv))
	if bl, _ := list["blocked"].([]any); len(bl) != 1 || bl[0].(map[string]any)["ip"] != "203.0.113.66" {
		t.Errorf("got blocked list %v", list)
	}
	if w := send(t, g.srv, "DELETE", "/security/blocked/203.0.113.66", nil, adminEnv); w.Code != 200 {
		t.Errorf("unblock: got %d %s", w.Code, w.Body)
	}
	if w := send(t, g.srv, "GET", "/models/info", nil, "", attacker); w.Code != 200 {
		t.Errorf("after unblock: got %d", w.Code)
	}
	if w := send(t, g.srv, "DELETE", "/security/blocked/203.0.113.66", nil, adminEnv); w.Code != 404 {
		t.Errorf("unblock of an address not blocked: got %d, want 404", w.Code)
	}
	if w := send(t, g.srv, "DELETE", "/security/blocked/not-an-ip", nil, adminEnv); w.Code != 400 {
		t.Errorf("unblock of garbage: got %d, want 400", w.Code)
	}
	if evs := g.events(t, fraud.ActionIPUnblocked, 1); len(evs) != 1 {
		t.Errorf("got %d unblock events, want 1", len(evs))
	}
}

func TestDetectModeLetsThrough(t *testing.T) {
	g := mustGuarded(t, false, func(g *Guard) { g.DetectOnly = true })
	w := send(t, g.srv, "POST", "/predict", txBody(firstRow, map[string]any{"transaction_id": "x"}, `"n":"1 UNION SELECT password FROM users"`), "")
	if w.Code != 400 || decodeBody(t, w)["error_code"] != "VALIDATION_ERROR" {
		t.Errorf("detect mode: got %d %s, want the ordinary 400 for the unknown field", w.Code, w.Body)
	}
	if evs := g.events(t, fraud.ActionAttackDetected, 1); len(evs) != 1 || evs[0].Outcome != fraud.OutcomeSuccess {
		t.Errorf("detect mode: got events %+v, want one let-through attack", evs)
	}
}

func TestAuditEndpoint(t *testing.T) {
	g := mustGuarded(t, true, nil)
	for range 3 {
		send(t, g.srv, "GET", "/models/info", nil, "bad-key")
	}
	g.events(t, fraud.ActionAuthFailure, 3)
	body := decodeBody(t, send(t, g.srv, "GET", "/security/audit?action=auth_failure&limit=2", nil, keyAdmin))
	evs, _ := body["events"].([]any)
	if body["total"] != 3.0 || len(evs) != 2 || body["limit"] != 2.0 {
		t.Errorf("got %v, want 2 of 3 auth failures", body)
	}
	for _, q := range []string{"limit=0", "limit=abc", "offset=-1", "since=yesterday"} {
		if w := send(t, g.srv, "GET", "/security/audit?"+q, nil, keyAdmin); w.Code != 400 {
			t.Errorf("%s: got %d, want 400", q, w.Code)
		}
	}
}

func TestSecurityHeadersAndHTTPSOnly(t *testing.T) {
	g := mustGuarded(t, false, nil)
	w := send(t, g.srv, "GET", "/health", nil, "")
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	// The docs page has the policy its bundle needs.
	w = send(t, g.srv, "GET", "/redoc", nil, "")
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "blob:") || !strings.Contains(csp, "'self'") {
		t.Errorf("redoc CSP %q lacks 'self' and blob: workers", csp)
	}
	h := mustGuarded(t, false, func(g *Guard) { g.HTTPSOnly = true })
	checkError(t, send(t, h.srv, "GET", "/health", nil, ""), 403, "HTTPS_REQUIRED")
	// A forged X-Forwarded-Proto from an untrusted peer is not believed.
	checkError(t, send(t, h.srv, "GET", "/health", nil, "", func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "https") }), 403, "HTTPS_REQUIRED")
	w = send(t, h.srv, "GET", "/health", nil, "", from("10.0.0.9"), func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "https") })
	if w.Code != 200 || !strings.Contains(w.Header().Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("through a trusted proxy: got %d HSTS %q", w.Code, w.Header().Get("Strict-Transport-Security"))
	}
	w = send(t, h.srv, "GET", "/health", nil, "", func(r *http.Request) { r.TLS = &tls.ConnectionState{} })
	if w.Code != 200 {
		t.Errorf("over TLS: got %d", w.Code)
	}
}

func TestModelReload(t *testing.T) {
	m := mustModel(t)
	var reloads int
	g := mustGuarded(t, false, nil)
	g.srv.reloader = reloaderFunc(func(ctx context.Context) (*model.Model, error) {
		reloads++
		if reloads == 2 {
			return nil, fmt.Errorf("bundle broken")
		}
		return m, nil
	})
	w := send(t, g.srv, "POST", "/models/reload", nil, adminEnv)
	if w.Code != 200 || decodeBody(t, w)["version"] != m.Version() {
		t.Errorf("reload: got %d %s", w.Code, w.Body)
	}
	w = send(t, g.srv, "POST", "/models/reload", nil, adminEnv)
	checkError(t, w, 422, "UNPROCESSABLE_ENTITY")
	if evs := g.events(t, fraud.ActionModelReload, 2); len(evs) != 2 {
		t.Errorf("got %d reload events, want 2", len(evs))
	}
}

func TestKeysReloadWithoutFile(t *testing.T) {
	g := mustGuarded(t, false, nil)
	checkError(t, send(t, g.srv, "POST", "/security/keys/reload", nil, adminEnv), 409, "CONFLICT")
}

// BenchmarkPredictSecured measures /predict with the whole security chain (key check, rate
// limit, blocker, detector on the request and the body's strings); compare BenchmarkPredict.
func BenchmarkPredictSecured(b *testing.B) {
	g := mustGuarded(b, true, func(g *Guard) {
		g.Limiter = ratelimit.NewLocal(time.Now, ratelimit.Memory{})
		g.Limit = ratelimit.Limit{PerMinute: 1 << 30}
	})
	g.srv.logger = slog.New(slog.NewJSONHandler(discardLog{}, nil))
	g.srv.handler = g.srv.routes()
	benchPredict(b, g.srv, map[string]string{
		"X-API-Key":  keyPredict,
		"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	})
}

type discardLog struct{}

func (discardLog) Write(p []byte) (int, error) { return len(p), nil }

// reloaderFunc is a ModelReloader made of a function, for faults.
type reloaderFunc func(ctx context.Context) (*model.Model, error)

func (f reloaderFunc) Reload(ctx context.Context, _ model.Actor) (*model.Model, error) {
	return f(ctx)
}

// TestGuardRefusesMissingPart checks that NewServer refuses a guard with a part missing, naming
// it, unless Guard.Off switches that part off, and refuses a part both set and switched off.
func TestGuardRefusesMissingPart(t *testing.T) {
	ring, models := mustKeyRing(t), staticModels{mustModel(t)}
	detector := detect.New(detect.Options{})
	full := func() Guard {
		return Guard{
			Keys: ring, HasKeysFile: true, ReloadKeys: ring.Reload,
			Admin:    mustAdmin(t),
			Limiter:  ratelimit.NewLocal(time.Now, ratelimit.Memory{}),
			Detector: detector,
			Blocker:  block.New(time.Now, block.Options{}),
			ClientIP: block.NewClientIPResolver(nil),
			Audit:    &memAudit{},
		}
	}
	build := func(g Guard) error {
		_, err := NewServer(slog.New(slog.DiscardHandler), Options{Version: "t"}, models, fixedSystem{}, g)
		return err
	}
	if err := build(full()); err != nil {
		t.Fatalf("a full guard: %v", err)
	}
	tests := []struct {
		name string
		edit func(*Guard)
		want string // in the error; empty: no error
	}{
		{"no admin key", func(g *Guard) { g.Admin = nil }, "Admin"},
		{"no client address resolver", func(g *Guard) { g.ClientIP = nil }, "ClientIP"},
		{"no detector", func(g *Guard) { g.Detector = nil }, "Off.Detection"},
		{"no blocker", func(g *Guard) { g.Blocker = nil }, "Off.Blocking"},
		{"no limiter", func(g *Guard) { g.Limiter = nil }, "Off.RateLimit"},
		{"no audit", func(g *Guard) { g.Audit = nil }, "Off.Audit"},
		{"keys file without keys", func(g *Guard) { g.Keys = nil }, "Keys"},
		{"keys file without reload", func(g *Guard) { g.ReloadKeys = nil }, "ReloadKeys"},
		{"no keys file, no keys", func(g *Guard) { g.Keys, g.HasKeysFile, g.ReloadKeys = nil, false, nil }, ""},
		{"detection off on purpose", func(g *Guard) { g.Detector, g.Off.Detection = nil, true }, ""},
		{"blocking off on purpose", func(g *Guard) { g.Blocker, g.Off.Blocking = nil, true }, ""},
		{"rate limit off on purpose", func(g *Guard) { g.Limiter, g.Off.RateLimit = nil, true }, ""},
		{"audit off on purpose", func(g *Guard) { g.Audit, g.Off.Audit = nil, true }, ""},
		{"detector set but off", func(g *Guard) { g.Off.Detection = true }, "Detector"},
		{"audit set but off", func(g *Guard) { g.Off.Audit = true }, "Audit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := full()
			tc.edit(&g)
			err := build(g)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "request guard")):
				t.Errorf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
}
