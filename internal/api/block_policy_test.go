package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/ratelimit"
	"github.com/fraudguard/fraudguard/internal/telemetry"
)

// mustMetrics gives g's server real Prometheus metrics on a fresh registry, and returns it.
func mustMetrics(t testing.TB, g *guarded) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := telemetry.NewMetrics(reg, telemetry.MetricsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g.srv.metrics = m
	return reg
}

// counterValue reads the counter name{label=value} from reg; 0 when there is no such series.
func counterValue(t testing.TB, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// mustBlock strikes ip until it is blocked (5 attacks, the threshold of mustGuarded).
func mustBlock(t testing.TB, g *guarded, ip string) {
	t.Helper()
	for range 5 {
		checkError(t, send(t, g.srv, "GET", "/models/info?id=1'+OR+'1'='1", nil, "", from(ip)), 403, "SUSPICIOUS_REQUEST")
	}
	checkError(t, send(t, g.srv, "GET", "/models/info", nil, "", from(ip)), 403, "IP_BLOCKED")
}

// TestRateLimitIsNotAStrike sends a burst of 500 from one address: the first 100 are
// answered, the rest are 429s, and none of them blocks the address.
func TestRateLimitIsNotAStrike(t *testing.T) {
	g := mustGuarded(t, false, func(g *Guard) { g.Limit = ratelimit.Limit{PerMinute: 100, Burst: 100} })
	body := txBody(firstRow, nil, "")
	client := from("192.0.2.77")
	counts := map[int]int{}
	for range 500 {
		counts[send(t, g.srv, "POST", "/predict", body, "", client).Code]++
	}
	if fmt.Sprint(counts) != "map[200:100 429:400]" {
		t.Errorf("burst of 500: got %v, want map[200:100 429:400]", counts)
	}
	if bl := g.srv.guardCfg.Blocker.List(context.Background()); len(bl) != 0 {
		t.Errorf("got blocked %+v, want no block for going over the rate limit", bl)
	}
	// Once the budget is back, the client is served again at once.
	g.clock.Advance(time.Minute)
	if w := send(t, g.srv, "POST", "/predict", body, "", client); w.Code != 200 {
		t.Errorf("after a minute: got %d %s, want 200", w.Code, w.Body)
	}
}

// TestBlockSparesProbesAndAdmin checks that a blocked address still gets the health probes
// and, with the admin key, the admin routes (to lift its own block), that both are counted,
// the admin requests audited, and everything else refused.
func TestBlockSparesProbesAndAdmin(t *testing.T) {
	for _, withKeys := range []bool{false, true} {
		t.Run(fmt.Sprintf("keys file %v", withKeys), func(t *testing.T) {
			g := mustGuarded(t, withKeys, nil)
			reg := mustMetrics(t, g)
			const ip = "203.0.113.88"
			mustBlock(t, g, ip)

			for _, path := range []string{"/health", "/health/live", "/health/ready", "/v2/health/live", "/v2/health/ready"} {
				if w := send(t, g.srv, "GET", path, nil, "", from(ip)); w.Code != 200 {
					t.Errorf("GET %s from a blocked address: got %d %s, want 200", path, w.Code, w.Body)
				}
			}
			if got := counterValue(t, reg, "fraudguard_security_block_bypassed_total", "reason", "probe"); got != 5 {
				t.Errorf("probe bypasses: got %v, want 5", got)
			}
			// Only the probes: a path under /health that is not one, and every other route,
			// stay refused; so does a key without the admin scope, or a wrong one.
			for _, c := range []struct{ method, path, key string }{
				{"GET", "/health/anything", ""},
				{"GET", "/v2/health", ""},
				{"GET", "/models/info", ""},
				{"POST", "/predict", keyPredict},
				{"GET", "/security/blocked", "fg_not_a_real_key"},
				{"GET", "/security/blocked", keyBatch},
			} {
				checkError(t, send(t, g.srv, c.method, c.path, nil, c.key, from(ip)), 403, "IP_BLOCKED")
			}

			// Detection still applies to a probe from a blocked address.
			checkError(t, send(t, g.srv, "GET", "/health/live?x=<script>alert(1)</script>", nil, "", from(ip)), 403, "SUSPICIOUS_REQUEST")

			adminKey := adminEnv
			if withKeys {
				adminKey = keyAdmin // a key of the file with the admin scope
			}
			if w := send(t, g.srv, "GET", "/security/blocked", nil, adminKey, from(ip)); w.Code != 200 {
				t.Errorf("admin list from the blocked address: got %d %s, want 200", w.Code, w.Body)
			}
			if w := send(t, g.srv, "DELETE", "/security/blocked/"+ip, nil, adminKey, from(ip)); w.Code != 200 {
				t.Errorf("admin unblock from the blocked address: got %d %s, want 200", w.Code, w.Body)
			}
			if got := counterValue(t, reg, "fraudguard_security_block_bypassed_total", "reason", "admin"); got != 2 {
				t.Errorf("admin bypasses: got %v, want 2", got)
			}
			if w := send(t, g.srv, "GET", "/models/info", nil, keyBatch, from(ip)); w.Code != 200 {
				t.Errorf("after the unblock: got %d %s, want 200", w.Code, w.Body)
			}
			found := 0
			for _, e := range g.events(t, fraud.ActionAdminAccess, 4) {
				if e.ClientIP == ip && strings.Contains(e.Detail, "although the address is blocked") {
					found++
				}
			}
			if found != 2 {
				t.Errorf("got %d audited admin requests through the block, want 2", found)
			}
		})
	}
}

// TestProbeAttackStrikes checks that attacks on the probes count towards a block like any.
func TestProbeAttackStrikes(t *testing.T) {
	g := mustGuarded(t, false, nil)
	const ip = "203.0.113.89"
	for range 5 {
		checkError(t, send(t, g.srv, "GET", "/health/ready", nil, "", from(ip),
			func(r *http.Request) { r.Header.Set("User-Agent", "sqlmap/1.7.2#stable (https://sqlmap.org)") }), 403, "SUSPICIOUS_REQUEST")
	}
	checkError(t, send(t, g.srv, "POST", "/predict", txBody(firstRow, nil, ""), "", from(ip)), 403, "IP_BLOCKED")
	if w := send(t, g.srv, "GET", "/health/ready", nil, "", from(ip)); w.Code != 200 {
		t.Errorf("clean probe from the blocked address: got %d, want 200", w.Code)
	}
}
