package docs

import (
	"net/http"
	"strings"
)

const dashboardHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fraudguard dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{asset "dashboard/dashboard.css"}}">
</head>
<body>
<header>
<h1>fraudguard</h1>
<span id="model-version" class="pill" data-panel="model">model …</span>
<span id="status" class="status">starting</span>
<form id="key-form" hidden>
<label>API key with the read scope <input id="key-input" type="password" autocomplete="off" required></label>
<button type="submit">Use for this tab</button>
</form>
<button id="key-forget" type="button" hidden>Forget the key</button>
</header>
<main>
<section class="panel" id="panel-traffic"><h2>Requests and latency</h2><p class="figures" id="traffic-figures">…</p><div class="chart"><canvas id="chart-traffic"></canvas></div></section>
<section class="panel" id="panel-fraud"><h2>Fraud rate and scores</h2><p class="figures" id="fraud-figures">…</p><div class="chart"><canvas id="chart-scores"></canvas></div></section>
<section class="panel" id="panel-risk"><h2>Risk levels</h2><p class="figures" id="risk-figures">…</p><div class="chart"><canvas id="chart-risk"></canvas></div></section>
<section class="panel" id="panel-jobs"><h2>Background jobs</h2><div id="jobs">…</div></section>
<section class="panel wide" id="panel-flagged"><h2>Latest flagged decisions</h2><div id="flagged">…</div><pre id="record" hidden></pre></section>
<section class="panel" id="panel-quality"><h2>Model quality (from feedback)</h2><div id="quality">…</div></section>
<section class="panel wide" id="panel-drift"><h2>Drift per input (PSI, last hour)</h2><p class="figures" id="drift-figures">…</p><div class="chart tall"><canvas id="chart-drift"></canvas></div></section>
</main>
<script src="{{asset "chart.js/chart.umd.min.js"}}"></script>
<script src="{{asset "dashboard/dashboard.js"}}"></script>
</body>
</html>
`

// DashboardPolicy is the dashboard's Content-Security-Policy: its script, style and data come
// from this server only, nothing is inline, nothing may frame it, and it sends no form.
const DashboardPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// DashboardPage returns the handler of the dashboard page, loading its files from
// assetsPrefix (a path on this server where DashboardAssets is mounted, with a trailing
// slash). The page holds no data: its script reads the API with the key the user gives,
// kept in sessionStorage for the tab only.
func DashboardPage(assetsPrefix string) http.Handler {
	if !strings.HasPrefix(assetsPrefix, "/") {
		panic("docs: the dashboard's assets must be a path on this server") // its policy allows 'self' only
	}
	return &page{tmpl: newPageTemplate(dashboardHTML, assetsPrefix), policy: DashboardPolicy}
}

// DashboardAssets returns the handler of the files the dashboard loads — its own script and
// style and Chart.js — and no other, on the terms of Assets.
func DashboardAssets(notFound http.Handler) http.Handler {
	return Assets(notFound, "dashboard/", "chart.js/")
}
