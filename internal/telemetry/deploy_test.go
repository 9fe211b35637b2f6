package telemetry

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"
)

// The files in deploy/ are checked here, beside the metrics they name, so that renaming a
// metric without updating the alerts or the dashboard fails the build.

// mustRepoRoot is the directory holding go.mod, found by walking up from the test's directory.
func mustRepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// mustPromtool is the path of promtool. Without it the test is skipped, except in CI, where
// the checks must run.
func mustPromtool(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err == nil {
		return path
	}
	const msg = "promtool not found: run 'make deps' to install it"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func TestPromtool(t *testing.T) {
	t.Parallel()
	promtool := mustPromtool(t)
	root := mustRepoRoot(t)
	tests := []struct {
		name string
		args []string
	}{
		{"check rules", []string{"check", "rules", "deploy/prometheus/alerts.yml"}},
		{"test rules", []string{"test", "rules", "deploy/prometheus/alerts_test.yml"}},
		{"check config", []string{"check", "config", "deploy/prometheus/prometheus.yml"}},
		{"check compose config", []string{"check", "config", "deploy/prometheus/prometheus.compose.yml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), promtool, tc.args...)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("promtool %s: %v\n%s", strings.Join(tc.args, " "), err, out)
			}
		})
	}
}

// exportedMetricNames are the series names a scrape of fraudguard can hold: every family that
// NewMetrics registers, with the _bucket, _sum and _count series of histograms and summaries,
// and the `up` series Prometheus adds.
func exportedMetricNames(t testing.TB) map[string]bool {
	t.Helper()
	m, reg, _ := mustMetrics(t, 0, time.Now())
	exercise(m) // a vec shows up only once it has a series
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	names := map[string]bool{"up": true}
	for _, f := range families {
		name := f.GetName()
		names[name] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			names[name+"_bucket"] = true
			fallthrough
		case dto.MetricType_SUMMARY:
			names[name+"_sum"] = true
			names[name+"_count"] = true
		}
	}
	return names
}

func TestExportedMetricNames(t *testing.T) {
	t.Parallel()
	names := exportedMetricNames(t)
	for _, want := range []string{
		"fraudguard_http_request_duration_seconds_bucket", "fraudguard_fraud_probability_count",
		"go_gc_duration_seconds_sum", "process_cpu_seconds_total", "up",
	} {
		if !names[want] {
			t.Errorf("%s: missing from the exported names", want)
		}
	}
	// Exercising must reach every metric NewMetrics registers: compare with what the
	// registry describes.
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg, MetricsOptions{}); err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		reg.Describe(ch)
		close(ch)
	}()
	for d := range ch {
		// Desc has no getter; its String holds fqName: "name".
		s := d.String()
		i := strings.Index(s, `fqName: "`)
		if i < 0 {
			t.Fatalf("unexpected Desc format: %s", s)
		}
		name := s[i+len(`fqName: "`):]
		name = name[:strings.IndexByte(name, '"')]
		if strings.HasPrefix(name, "fraudguard_") && !names[name] {
			t.Errorf("%s: registered but not exercised, so the deploy checks cannot see it", name)
		}
	}
}

// isPromqlWord reports whether w (lower case) is a PromQL word that is not a metric name: an
// aggregation operator, a keyword or a set operator. Functions are told apart by the "(" that
// follows them.
func isPromqlWord(w string) bool {
	switch w {
	case "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
		"bottomk", "topk", "quantile", "limitk", "limit_ratio",
		"by", "without", "on", "ignoring", "group_left", "group_right",
		"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan":
		return true
	}
	return false
}

// promqlMetricNames returns the metric names expr selects, in order of appearance. It is a
// tokenizer, not a parser: it skips strings, label matchers ({...}), ranges ([...]), numbers,
// durations, Grafana variables ($var, ${var}), the label lists of by/without/on/ignoring/
// group_left/group_right, functions (a name followed by "(") and isPromqlWord's words.
func promqlMetricNames(expr string) []string {
	var names []string
	isStart := func(c byte) bool { return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
	isPart := func(c byte) bool { return isStart(c) || '0' <= c && c <= '9' }
	// skipTo returns the index after the bracket closing the one at i, skipping strings.
	skipTo := func(i int, open, close byte) int {
		depth := 0
		for ; i < len(expr); i++ {
			switch c := expr[i]; c {
			case '"', '\'', '`':
				i = skipString(expr, i) - 1
			case open:
				depth++
			case close:
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(expr, i)
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '{':
			i = skipTo(i, '{', '}')
		case c == '[':
			i = skipTo(i, '[', ']')
		case c == '$':
			i++
			if i < len(expr) && expr[i] == '{' {
				i = skipTo(i, '{', '}')
			}
			for i < len(expr) && isPart(expr[i]) {
				i++
			}
		case '0' <= c && c <= '9' || c == '.':
			for i < len(expr) && (isPart(expr[i]) || expr[i] == '.') {
				i++
			}
		case isStart(c):
			start := i
			for i < len(expr) && isPart(expr[i]) {
				i++
			}
			word := expr[start:i]
			next := i
			for next < len(expr) && strings.IndexByte(" \t\r\n", expr[next]) >= 0 {
				next++
			}
			followedByParen := next < len(expr) && expr[next] == '('
			switch lower := strings.ToLower(word); {
			case followedByParen && slices.Contains([]string{"by", "without", "on", "ignoring", "group_left", "group_right"}, lower):
				i = skipTo(next, '(', ')') // a label list
			case isPromqlWord(lower), followedByParen:
				// an operator or a function
			default:
				names = append(names, word)
			}
		default:
			i++
		}
	}
	return names
}

// skipString returns the index after the string literal starting at i.
func skipString(s string, i int) int {
	quote := s[i]
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quote != '`' {
				i++
			}
		case quote:
			return i + 1
		}
	}
	return i
}

func TestPromqlMetricNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want []string
	}{
		{`up == 0`, []string{"up"}},
		{`up{job="fraudguard"} == 0`, []string{"up"}},
		{`sum by (job, instance) (rate(a_total{status=~"5..", route="/x{y}"}[5m])) / sum by (job, instance) (rate(a_total[5m])) > 0.05`,
			[]string{"a_total", "a_total"}},
		{`histogram_quantile(0.99, sum by (le) (rate(h_bucket{route="/predict"}[$__rate_interval])))`, []string{"h_bucket"}},
		{`sum(rate(x[1h] offset 1d)) without (instance) and on (job) group_left (kind) info_metric`, []string{"x", "info_metric"}},
		{"max by(status) (g)\n# a comment naming not_a_metric\n", []string{"g"}},
		{`label_replace(m, "dst", "$1", "src", "(.*)") * 1e3 + ${var} - $var`, []string{"m"}},
		{`job:fraud_ratio:rate15m > 3 * job:fraud_ratio:rate24h AND nan`, []string{"job:fraud_ratio:rate15m", "job:fraud_ratio:rate24h"}},
		{`count(count by (version) (model_info)) BY (job)`, []string{"model_info"}},
		{`sum(rate(a[5m] @ start()))`, []string{"a"}},
	}
	for _, tc := range tests {
		if got := promqlMetricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("promqlMetricNames(%q): got %q, want %q", tc.expr, got, tc.want)
		}
	}
}

// rulesFile is the part of a Prometheus rules file the checks read.
type rulesFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRulesUseExportedMetrics(t *testing.T) {
	t.Parallel()
	root := mustRepoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rf rulesFile
	if err := yaml.Unmarshal(data, &rf); err != nil {
		t.Fatalf("parse alerts.yml: %v", err)
	}
	known := exportedMetricNames(t)
	// Recording rules add names that later rules may use.
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				known[r.Record] = true
			}
		}
	}
	alerts := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			if r.Alert != "" {
				alerts[r.Alert] = true
			}
			names := promqlMetricNames(r.Expr)
			if len(names) == 0 {
				t.Errorf("rule %s: no metric found in %q", name, r.Expr)
			}
			for _, n := range names {
				if !known[n] {
					t.Errorf("rule %s: %s is not a metric fraudguard exports", name, n)
				}
			}
		}
	}
	for _, want := range []string{
		"FraudguardHighErrorRate", "FraudguardPredictLatencyHigh", "FraudguardFraudRateSpike",
		"FraudguardInstanceDown", "FraudguardBatchBacklog", "FraudguardScoringErrors",
		"FraudguardModelReloadFailed", "FraudguardKeyReloadFailed", "FraudguardAuditEventsLost",
	} {
		if !alerts[want] {
			t.Errorf("alert %s: missing from alerts.yml", want)
		}
	}
}

// dashboardPanel is the part of a Grafana panel the checks read; rows nest panels.
type dashboardPanel struct {
	Title   string           `json:"title"`
	Type    string           `json:"type"`
	Panels  []dashboardPanel `json:"panels"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

func TestDashboardUsesExportedMetrics(t *testing.T) {
	t.Parallel()
	root := mustRepoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "fraudguard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string           `json:"uid"`
		Panels []dashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("parse fraudguard.json: %v", err)
	}
	known := exportedMetricNames(t)
	used := map[string]bool{}
	var targets int
	var walk func(ps []dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q: no targets", p.Title)
			}
			for _, tg := range p.Targets {
				targets++
				names := promqlMetricNames(tg.Expr)
				if len(names) == 0 {
					t.Errorf("panel %q target %s: no metric found in %q", p.Title, tg.RefID, tg.Expr)
				}
				for _, n := range names {
					used[n] = true
					if !known[n] {
						t.Errorf("panel %q target %s: %s is not a metric fraudguard exports", p.Title, tg.RefID, n)
					}
				}
			}
		}
	}
	walk(dash.Panels)
	if targets == 0 {
		t.Fatal("dashboard has no targets")
	}
	// Every fraudguard metric is on the dashboard somewhere.
	for n := range known {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
		if !strings.HasPrefix(n, "fraudguard_") || base != n && known[base] {
			continue
		}
		if !used[n] && !used[n+"_bucket"] {
			t.Errorf("%s: exported but on no dashboard panel", n)
		}
	}
}
