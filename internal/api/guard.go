package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/ratelimit"
	"github.com/fraudguard/fraudguard/internal/security/apikey"
	"github.com/fraudguard/fraudguard/internal/security/block"
	"github.com/fraudguard/fraudguard/internal/security/detect"
	"github.com/fraudguard/fraudguard/internal/txjson"
)

// KeyAuthenticator recognises API keys.
type KeyAuthenticator interface {
	Authenticate(presented string) (apikey.Key, bool)
}

// AuditRecorder records security events and admin actions.
type AuditRecorder interface {
	Record(ctx context.Context, e fraud.AuditEvent)
	List(ctx context.Context, f fraud.AuditFilter) ([]fraud.AuditEvent, int, error)
}

// Guard holds the security parts of the server. NewServer refuses a guard with a part missing,
// naming it, unless Off switches that part off: a wiring mistake must not quietly turn security
// off.
type Guard struct {
	// Keys are the keys of API_KEYS_FILE, required when HasKeysFile is set. Without a keys file
	// (HasKeysFile false) scoring is open, only admin routes need a key, and Keys may be nil.
	Keys KeyAuthenticator
	// HasKeysFile tells whether a keys file is configured.
	HasKeysFile bool
	// Admin recognises the admin key, which has every scope. Always required.
	Admin KeyAuthenticator
	// ReloadKeys re-reads the keys file (POST /security/keys/reload, SIGHUP); required when
	// HasKeysFile is set.
	ReloadKeys func() error
	// Limiter and Limit rate-limit each client (API key, else client IP). A zero Limit lifts
	// the global limit; keys' own limits still apply through Limiter.
	Limiter ratelimit.Limiter
	Limit   ratelimit.Limit
	// Detector finds attacks; DetectOnly logs them instead of refusing.
	Detector   *detect.Detector
	DetectOnly bool
	// Blocker blocks addresses that collect strikes, and those of its deny list.
	Blocker *block.Blocker
	// ClientIP resolves the client's address behind trusted proxies. Always required.
	ClientIP *block.ClientIPResolver
	// Audit records security events and admin actions.
	Audit AuditRecorder
	// MetricsPublic lets /metrics be read without a key when there is a keys file.
	MetricsPublic bool
	// HTTPSOnly refuses plain HTTP (X-Forwarded-Proto is believed from trusted proxies only)
	// and sends HSTS.
	HTTPSOnly bool
	// Off switches parts off on purpose.
	Off GuardOff
}

// GuardOff names the parts of a Guard that are switched off on purpose; such a part must be
// nil. The service switches none off: its settings tune the parts instead
// (RATE_LIMIT_PER_MINUTE=0 lifts the global limit but keeps keys' own limits, BLOCK_THRESHOLD=0
// stops blocking on strikes but keeps IP_BLOCKLIST, SECURITY_MODE=detect audits attacks instead
// of refusing them). It is for servers built without them, such as tests of other features.
type GuardOff struct {
	// Detection: no attack detection (Detector nil).
	Detection bool
	// Blocking: no address blocking (Blocker nil); GET /security/blocked lists nothing.
	Blocking bool
	// RateLimit: no rate limit, keys' own included (Limiter nil).
	RateLimit bool
	// Audit: no audit log (Audit nil); GET /security/audit answers 503.
	Audit bool
}

// check reports the first part that is missing without being switched off, or set although
// switched off.
func (g *Guard) check() error {
	parts := []struct {
		name, what string
		missing    bool
		off        bool   // switched off by Off
		offName    string // its field in GuardOff; empty when it cannot be switched off
	}{
		{"Admin", "the admin key", g.Admin == nil, false, ""},
		{"ClientIP", "the client address resolver", g.ClientIP == nil, false, ""},
		{"Detector", "attack detection", g.Detector == nil, g.Off.Detection, "Detection"},
		{"Blocker", "address blocking", g.Blocker == nil, g.Off.Blocking, "Blocking"},
		{"Limiter", "rate limiting", g.Limiter == nil, g.Off.RateLimit, "RateLimit"},
		{"Audit", "the audit log", g.Audit == nil, g.Off.Audit, "Audit"},
	}
	for _, p := range parts {
		switch {
		case p.missing && !p.off && p.offName == "":
			return fmt.Errorf("request guard: %s (%s) is missing; it cannot be switched off", p.name, p.what)
		case p.missing && !p.off:
			return fmt.Errorf("request guard: %s (%s) is missing; set it, or switch it off on purpose with Off.%s", p.name, p.what, p.offName)
		case !p.missing && p.off:
			return fmt.Errorf("request guard: %s (%s) is set but Off.%s switches it off; do one or the other", p.name, p.what, p.offName)
		}
	}
	if g.HasKeysFile {
		if g.Keys == nil {
			return errors.New("request guard: HasKeysFile is set but Keys (the keys of the keys file) is missing")
		}
		if g.ReloadKeys == nil {
			return errors.New("request guard: HasKeysFile is set but ReloadKeys (the keys file reload) is missing")
		}
	}
	return nil
}

// inspector returns the detector as the JSON decoder's Inspector: nil, not a nil pointer in an
// interface, when detection is off.
func (g *Guard) inspector() txjson.Inspector {
	if g.Detector == nil {
		return nil
	}
	return g.Detector
}

// access is who may call a route.
type access int

const (
	accessPublic    access = iota // probes: anyone
	accessAnyKey                  // any valid key when there is a keys file; open otherwise
	accessPredict                 // the predict scope
	accessBatch                   // the batch scope
	accessAdmin                   // the admin scope, always required
	accessJobDelete               // the batch scope (owner or admin) with a keys file; the admin key without
	accessRead                    // the read scope (decisions, model quality)
)

func (a access) scope() apikey.Scope {
	switch a {
	case accessPredict:
		return apikey.ScopePredict
	case accessBatch:
		return apikey.ScopeBatch
	case accessAdmin:
		return apikey.ScopeAdmin
	case accessRead:
		return apikey.ScopeRead
	}
	return ""
}

// Reasons a request from a blocked address is let through, as counted by
// fraudguard_security_block_bypassed_total.
const (
	bypassProbe = "probe"
	bypassAdmin = "admin"
)

// isBlockExempt tells the health routes on which an address block is not enforced, so that
// probes from a blocked address (a node, a load balancer) do not take the instance out.
func isBlockExempt(p string) bool {
	return p == "/health" || isProbe(p)
}

// isHealthPath tells the probe and health routes, which are neither authenticated nor rate
// limited.
func isHealthPath(p string) bool {
	return p == "/health" || strings.HasPrefix(p, "/health/") || strings.HasPrefix(p, "/v2/health/")
}

// guard is the security middleware: client address, blocked addresses, attack detection,
// key identification and rate limiting. Authorisation by scope happens per route (authorize),
// once the route is known.
func (s *Server) guard(next http.Handler) http.Handler {
	g := &s.guardCfg
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := stateOf(w)
		if g.ClientIP != nil {
			st.clientIP = g.ClientIP.ClientIP(r)
		}
		if g.HTTPSOnly {
			if !s.isHTTPS(r, st.peerTrusted(g)) {
				s.errs.write(w, r, &fraud.Error{Code: fraud.CodeHTTPSRequired, Message: "this server answers over HTTPS only"})
				return
			}
			w.Header().Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		bypassed := ""
		if g.Blocker != nil && st.clientIP.IsValid() {
			if blocked, retry := g.Blocker.Check(r.Context(), st.clientIP); blocked {
				// A block must not take the service down: the orchestrator's probes still get
				// their answer, and an operator with the admin key can still reach the
				// service from that address, to lift the block among other things.
				switch {
				case isBlockExempt(r.URL.Path):
					bypassed = bypassProbe
				case s.identify(r, st) && st.key.Has(apikey.ScopeAdmin):
					bypassed = bypassAdmin
				default:
					if s.metrics != nil {
						s.metrics.SecurityBlocked("ip_blocked")
					}
					s.errs.write(w, r, &fraud.Error{Code: fraud.CodeIPBlocked, Message: "this address is blocked", RetryAfter: ratelimit.Seconds(retry)})
					return
				}
				if s.metrics != nil {
					s.metrics.SecurityBlockBypassed(bypassed)
				}
			}
		}
		if g.Detector != nil {
			if f, hit := g.Detector.InspectRequest(r); hit {
				if s.attack(w, r, f) {
					return
				}
			}
		}
		if bypassed == "" {
			s.identify(r, st)
		}
		if bypassed == bypassAdmin {
			s.audit(r, w, fraud.ActionAdminAccess, fraud.OutcomeSuccess, r.Method+" "+r.URL.Path+": let through although the address is blocked")
		}
		if g.Limiter != nil && !isHealthPath(r.URL.Path) {
			if !s.rateLimit(w, r, st) {
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// identify reads the key the request presents, if any, and records on st whether it is valid
// and whose it is. It reports whether a valid key was presented.
func (s *Server) identify(r *http.Request, st *responseWriter) bool {
	g := &s.guardCfg
	presented := presentedKey(r)
	if presented == "" {
		return false
	}
	st.presented = true
	if g.Admin != nil {
		st.key, st.hasKey = g.Admin.Authenticate(presented)
	}
	if !st.hasKey && g.Keys != nil {
		st.key, st.hasKey = g.Keys.Authenticate(presented)
	}
	return st.hasKey
}

// attack handles a detector finding: audit, strike, and (in block mode) a 403. It reports
// whether the request was refused.
func (s *Server) attack(w http.ResponseWriter, r *http.Request, f detect.Finding) bool {
	g := &s.guardCfg
	outcome := fraud.OutcomeBlocked
	if g.DetectOnly {
		outcome = fraud.OutcomeSuccess // logged, let through
	}
	s.audit(r, w, fraud.ActionAttackDetected, outcome, f.Rule+" in "+f.Location+": "+f.Evidence)
	s.strike(r, w, "attack:"+f.Rule)
	if g.DetectOnly {
		return false
	}
	if s.metrics != nil {
		s.metrics.SecurityBlocked("attack_" + f.Rule)
	}
	s.errs.write(w, r, &fraud.Error{
		Code:    fraud.CodeSuspiciousRequest,
		Message: "the request looks like an attack and was refused",
		Details: []fraud.Detail{{"rule": f.Rule, "location": f.Location}},
	})
	return true
}

// rateLimit spends one request of the client's budget and sets the RateLimit headers. It
// reports whether the request may go on.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request, st *responseWriter) bool {
	g := &s.guardCfg
	lim := g.Limit
	key := st.clientKey()
	if st.hasKey && st.key.RateLimitPerMinute > 0 {
		lim = ratelimit.Limit{PerMinute: st.key.RateLimitPerMinute, Burst: st.key.RateLimitPerMinute}
	}
	d, err := g.Limiter.Allow(r.Context(), key, lim)
	if err != nil {
		// A limiter that cannot answer must not take the service down with it.
		s.logger.Warn("rate limiter unavailable", "error", err.Error(), "request_id", requestID(w))
		return true
	}
	if lim.PerMinute <= 0 {
		return true
	}
	h := w.Header()
	h["Ratelimit-Limit"] = []string{strconv.Itoa(d.Limit)}
	h["Ratelimit-Remaining"] = []string{strconv.Itoa(d.Remaining)}
	h["Ratelimit-Reset"] = []string{strconv.Itoa(ratelimit.Seconds(d.Reset))}
	if d.Allowed {
		return true
	}
	if s.metrics != nil {
		s.metrics.RateLimited()
	}
	// Going over the limit earns 429s, not strikes: a client in a burst is not an attacker,
	// and a block would turn its next minute of retries into 403s.
	s.errs.write(w, r, &fraud.Error{
		Code:       fraud.CodeRateLimited,
		Message:    "too many requests; slow down",
		Details:    []fraud.Detail{{"limit_per_minute": lim.PerMinute, "burst": d.Limit}},
		RetryAfter: max(1, ratelimit.Seconds(d.RetryAfter)),
	})
	return false
}

// strike counts a strike against the client's address and audits a resulting block.
func (s *Server) strike(r *http.Request, w http.ResponseWriter, reason string) {
	g := &s.guardCfg
	st := stateOf(w)
	if g.Blocker == nil || !st.clientIP.IsValid() {
		return
	}
	if g.Blocker.Strike(r.Context(), st.clientIP, reason) {
		s.audit(r, w, fraud.ActionIPBlocked, fraud.OutcomeSuccess, "blocked after repeated strikes; last: "+reason)
	}
}

// audit records an event about the current request.
func (s *Server) audit(r *http.Request, w http.ResponseWriter, action, outcome, detail string) {
	if s.guardCfg.Audit == nil {
		return
	}
	st := stateOf(w)
	e := fraud.AuditEvent{
		RequestID: requestID(w),
		ClientIP:  st.clientKeyIP(),
		Action:    action,
		Outcome:   outcome,
		Detail:    detail,
	}
	if st.hasKey {
		e.KeyName = st.key.Name
	}
	s.guardCfg.Audit.Record(r.Context(), e)
}

// authorize wraps a route's handler with its access rule.
func (s *Server) authorize(a access, h http.Handler) http.Handler {
	if a == accessPublic {
		return h
	}
	g := &s.guardCfg
	if a == accessJobDelete {
		// Deleting a job is an admin action unless keys tell owners apart.
		a = accessAdmin
		if g.HasKeysFile {
			a = accessBatch
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := stateOf(w)
		open := a != accessAdmin && !g.HasKeysFile
		if open {
			h.ServeHTTP(w, r)
			return
		}
		if !st.hasKey {
			problem := "no API key: send it as X-API-Key or Authorization: Bearer"
			if st.presented {
				problem = "the API key is not valid"
			}
			s.audit(r, w, fraud.ActionAuthFailure, fraud.OutcomeDenied, r.Method+" "+r.URL.Path+": "+problem)
			s.strike(r, w, "auth")
			s.errs.write(w, r, &fraud.Error{Code: fraud.CodeUnauthorized, Message: problem})
			return
		}
		if scope := a.scope(); scope != "" && !st.key.Has(scope) {
			s.audit(r, w, fraud.ActionForbidden, fraud.OutcomeDenied, r.Method+" "+r.URL.Path+": key lacks scope "+string(scope))
			s.strike(r, w, "auth")
			s.errs.write(w, r, &fraud.Error{Code: fraud.CodeForbidden, Message: "this key lacks the " + string(scope) + " scope",
				Details: []fraud.Detail{{"required_scope": string(scope), "key_name": st.key.Name}}})
			return
		}
		if a == accessAdmin {
			s.audit(r, w, fraud.ActionAdminAccess, fraud.OutcomeSuccess, r.Method+" "+r.URL.Path)
		}
		h.ServeHTTP(w, r)
	})
}

// presentedKey reads the key from X-API-Key or Authorization: Bearer.
func presentedKey(r *http.Request) string {
	if v := r.Header["X-Api-Key"]; len(v) > 0 && v[0] != "" {
		return v[0]
	}
	if v := r.Header["Authorization"]; len(v) > 0 {
		if len(v[0]) > 7 && strings.EqualFold(v[0][:7], "bearer ") {
			return strings.TrimSpace(v[0][7:])
		}
	}
	return ""
}

// isHTTPS tells whether the request came over TLS, directly or (per a trusted proxy's
// X-Forwarded-Proto) to the proxy.
func (s *Server) isHTTPS(r *http.Request, peerTrusted bool) bool {
	if r.TLS != nil {
		return true
	}
	return peerTrusted && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// peerTrusted tells whether the socket peer is a trusted proxy.
func (rw *responseWriter) peerTrusted(g *Guard) bool {
	if g.ClientIP == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(rw.remoteAddr)
	return err == nil && g.ClientIP.IsTrusted(ap.Addr().Unmap())
}
