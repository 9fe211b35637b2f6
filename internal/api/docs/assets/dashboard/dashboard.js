// The fraudguard dashboard: it polls the API every few seconds and draws what it reads. It
// sends the key given in the page, kept in sessionStorage (this tab only), as X-API-Key.
// Every request is to this server by a relative URL; the page's Content-Security-Policy
// allows no other.
(function () {
  "use strict";

  var POLL_MS = 3000;
  var KEY = "fraudguard.dashboard.key";
  var HISTORY = 60; // points of the traffic chart
  // Drift scans every decision of its window in the store, so it is read over the last hour
  // and every tenth poll only.
  var DRIFT_EVERY = 10;
  var DRIFT_WINDOW_MS = 3600 * 1000;
  var $ = function (id) { return document.getElementById(id); };

  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function key() { return sessionStorage.getItem(KEY) || ""; }

  function showKeyForm(reason) {
    $("key-form").hidden = false;
    $("key-forget").hidden = !key();
    setStatus(reason, true);
  }

  $("key-form").addEventListener("submit", function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("key-input").value.trim());
    $("key-input").value = "";
    $("key-form").hidden = true;
    $("key-forget").hidden = false;
    poll();
  });
  $("key-forget").addEventListener("click", function () {
    sessionStorage.removeItem(KEY);
    $("key-forget").hidden = true;
    poll();
  });

  function setStatus(text, bad) {
    $("status").textContent = text;
    $("status").className = bad ? "status bad" : "status";
  }

  // get reads a JSON route; an error answer rejects with the API's error body.
  function get(path, accept) {
    var headers = { "Accept": accept || "application/json" };
    if (key()) { headers["X-API-Key"] = key(); }
    return fetch(path, { headers: headers, cache: "no-store", credentials: "omit" }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) {
          var err = new Error(body.message || ("HTTP " + r.status));
          err.status = r.status;
          err.code = body.error_code;
          throw err;
        }
        return body;
      });
    });
  }

  function panelState(id, state, message) {
    var p = $(id);
    p.dataset.state = state;
    var note = p.querySelector(".note");
    if (!note) {
      note = document.createElement("p");
      note.className = "note";
      p.appendChild(note);
    }
    note.textContent = message || "";
    note.hidden = !message;
  }

  var authProblem = false;
  function failed(panel, err) {
    if (err.status === 401 || err.status === 403) { authProblem = true; }
    panelState(panel, "error", err.message);
  }

  function fmt(v, digits) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits); }

  function text(tag, content, cls) {
    var el = document.createElement(tag);
    el.textContent = content;
    if (cls) { el.className = cls; }
    return el;
  }

  function table(head, rows) {
    var t = document.createElement("table");
    var tr = document.createElement("tr");
    head.forEach(function (h) { tr.appendChild(text("th", h)); });
    t.appendChild(tr);
    rows.forEach(function (row) { t.appendChild(row); });
    return t;
  }

  function row(cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (c) { tr.appendChild(typeof c === "string" ? text("td", c) : c); });
    return tr;
  }

  // Charts.
  var traffic = new Chart($("chart-traffic"), {
    type: "line",
    data: { labels: [], datasets: [
      { label: "requests/s", data: [], yAxisID: "rps", borderColor: "#1f77b4" },
      { label: "p50 ms", data: [], yAxisID: "ms", borderColor: "#2ca02c" },
      { label: "p95 ms", data: [], yAxisID: "ms", borderColor: "#ff7f0e" },
      { label: "p99 ms", data: [], yAxisID: "ms", borderColor: "#d62728" }
    ] },
    options: { pointRadius: 0, scales: { rps: { position: "left", beginAtZero: true }, ms: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } } } }
  });
  var scores = new Chart($("chart-scores"), {
    type: "bar",
    data: { labels: [], datasets: [{ label: "decisions by fraud_probability", data: [], backgroundColor: "#9467bd" }] },
    options: { scales: { y: { beginAtZero: true } } }
  });
  var RISKS = ["low", "medium", "high", "critical"];
  var risk = new Chart($("chart-risk"), {
    type: "bar",
    data: { labels: RISKS, datasets: [{ label: "decisions", data: [0, 0, 0, 0], backgroundColor: ["#2ca02c", "#bcbd22", "#ff7f0e", "#d62728"] }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } }
  });
  var drift = new Chart($("chart-drift"), {
    data: { labels: [], datasets: [
      { type: "bar", label: "PSI", data: [], backgroundColor: [] },
      { type: "line", label: "0.1: moderate", data: [], borderColor: "#ff7f0e", borderDash: [6, 4], pointRadius: 0 },
      { type: "line", label: "0.2: significant", data: [], borderColor: "#d62728", borderDash: [6, 4], pointRadius: 0 }
    ] },
    options: { scales: { y: { beginAtZero: true } } }
  });

  function pollTraffic() {
    return get("/metrics").then(function (m) {
      $("traffic-figures").textContent = fmt(m.requests_per_second, 2) + " requests/s; p50 " + fmt(m.p50_ms, 2) +
        " ms, p95 " + fmt(m.p95_ms, 2) + " ms, p99 " + fmt(m.p99_ms, 2) + " ms over " + m.window_seconds + " s; " +
        m.total_predictions + " transactions scored since start";
      var d = traffic.data;
      d.labels.push(new Date().toLocaleTimeString());
      [m.requests_per_second, m.p50_ms, m.p95_ms, m.p99_ms].forEach(function (v, i) { d.datasets[i].data.push(v); });
      if (d.labels.length > HISTORY) {
        d.labels.shift();
        d.datasets.forEach(function (ds) { ds.data.shift(); });
      }
      traffic.update();
      panelState("panel-traffic", "ok");
    }).catch(function (e) { failed("panel-traffic", e); });
  }

  function pollModel() {
    return get("/models/info").then(function (m) {
      $("model-version").textContent = "model " + m.version + " (" + m.kind + ", threshold " + fmt(m.threshold, 3) + ")";
      $("model-version").dataset.state = "ok";
    }).catch(function (e) {
      $("model-version").textContent = "model: " + e.message;
      $("model-version").dataset.state = "error";
    });
  }

  // The last 24 hours' decisions, up to 1,000 of the newest: fraud rate, scores and levels.
  function pollDecisions() {
    var since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
    return get("/decisions?limit=1000&since=" + encodeURIComponent(since)).then(function (r) {
      var ds = r.decisions, flagged = 0, bins = new Array(10).fill(0), levels = [0, 0, 0, 0];
      ds.forEach(function (d) {
        if (d.is_fraud) { flagged++; }
        bins[Math.min(9, Math.floor(d.fraud_probability * 10))]++;
        var l = RISKS.indexOf(d.risk_level);
        if (l >= 0) { levels[l]++; }
      });
      var more = r.next_cursor ? " (the newest 1,000)" : "";
      $("fraud-figures").textContent = ds.length ? "fraud rate " + fmt(100 * flagged / ds.length, 2) + "% of " + ds.length +
        " decisions in the last 24 h" + more : "no decision in the last 24 h";
      scores.data.labels = bins.map(function (_, i) { return (i / 10).toFixed(1) + "–" + ((i + 1) / 10).toFixed(1); });
      scores.data.datasets[0].data = bins;
      scores.update();
      $("risk-figures").textContent = RISKS.map(function (l, i) { return l + " " + levels[i]; }).join(", ");
      risk.data.datasets[0].data = levels;
      risk.update();
      panelState("panel-fraud", "ok");
      panelState("panel-risk", "ok");
    }).catch(function (e) { failed("panel-fraud", e); failed("panel-risk", e); });
  }

  function showRecord(id) {
    get("/decisions/" + encodeURIComponent(id)).then(function (r) {
      $("record").textContent = JSON.stringify(r, null, 2);
      $("record").hidden = false;
    }).catch(function (e) {
      $("record").textContent = e.message;
      $("record").hidden = false;
    });
  }

  function pollFlagged() {
    return get("/decisions?is_fraud=true&limit=10").then(function (r) {
      var rows = r.decisions.map(function (d) {
        var link = document.createElement("td");
        var a = text("button", d.transaction_id, "link");
        a.type = "button";
        a.addEventListener("click", function () { showRecord(d.transaction_id); });
        link.appendChild(a);
        var reasons = (d.reasons || []).map(function (x) { return x.feature + " " + (x.contribution >= 0 ? "+" : "") + fmt(x.contribution, 2); }).join(", ");
        return row([link, new Date(d.time).toLocaleString(), fmt(d.fraud_probability, 4), d.risk_level, reasons || "–"]);
      });
      var box = $("flagged");
      box.replaceChildren(rows.length ? table(["transaction_id", "time", "probability", "risk", "reasons"], rows) : text("p", "no flagged decision recorded"));
      panelState("panel-flagged", "ok");
    }).catch(function (e) { failed("panel-flagged", e); });
  }

  function pollJobs() {
    return get("/batch?limit=10").then(function (r) {
      var box = $("jobs");
      if (!r.jobs.length) {
        box.replaceChildren(text("p", "no background job"));
      } else {
        box.replaceChildren.apply(box, r.jobs.map(function (j) {
          var div = document.createElement("div");
          div.className = "job";
          div.appendChild(text("span", j.job_id + " — " + j.status + ", " + j.processed_count + " of " + j.total_count + " rows, " + j.fraud_count + " flagged"));
          var bar = document.createElement("progress");
          bar.max = 100;
          bar.value = j.progress_percent;
          bar.textContent = fmt(j.progress_percent, 1) + "%";
          div.appendChild(bar);
          return div;
        }));
      }
      panelState("panel-jobs", "ok");
    }).catch(function (e) { failed("panel-jobs", e); });
  }

  function pollQuality() {
    return get("/models/performance").then(function (r) {
      var rows = r.versions.map(function (v) {
        return row([v.model_version, String(v.decisions), String(v.labelled), String(v.frauds), fmt(v.precision, 3),
          fmt(v.recall, 3), fmt(v.f1, 3), fmt(v.roc_auc, 3), fmt(v.average_precision, 3)]);
      });
      $("quality").replaceChildren(rows.length ? table(["version", "decisions", "labelled", "frauds", "precision", "recall", "F1", "ROC AUC", "AP"], rows) : text("p", "no decision recorded"));
      panelState("panel-quality", "ok");
    }).catch(function (e) { failed("panel-quality", e); });
  }

  function pollDrift() {
    var since = new Date(Date.now() - DRIFT_WINDOW_MS).toISOString();
    return get("/models/drift?since=" + encodeURIComponent(since)).then(function (r) {
      var names = r.features.map(function (f) { return f.feature; }).concat(["score"]);
      var psi = r.features.map(function (f) { return f.psi; }).concat([r.score.psi]);
      drift.data.labels = names;
      drift.data.datasets[0].data = psi;
      drift.data.datasets[0].backgroundColor = psi.map(function (v) { return v > 0.2 ? "#d62728" : v > 0.1 ? "#ff7f0e" : "#1f77b4"; });
      drift.data.datasets[1].data = names.map(function () { return 0.1; });
      drift.data.datasets[2].data = names.map(function () { return 0.2; });
      drift.update();
      var over = names.filter(function (_, i) { return psi[i] > 0.2; });
      $("drift-figures").textContent = r.count + " decisions; score PSI " + fmt(r.score.psi, 3) +
        (over.length ? "; above 0.2: " + over.join(", ") : "; nothing above 0.2");
      panelState("panel-drift", "ok");
    }).catch(function (e) { failed("panel-drift", e); });
  }

  var running = false, polls = 0;
  function poll() {
    if (running) { return; }
    running = true;
    authProblem = false;
    var reads = [pollModel(), pollTraffic(), pollDecisions(), pollFlagged(), pollJobs(), pollQuality()];
    if (polls++ % DRIFT_EVERY === 0 || $("panel-drift").dataset.state !== "ok") { reads.push(pollDrift()); }
    Promise.all(reads).then(function () {
      running = false;
      if (authProblem) {
        showKeyForm(key() ? "this key cannot read everything: give one with the read scope" : "an API key is needed");
      } else {
        $("key-form").hidden = true;
        setStatus("updated " + new Date().toLocaleTimeString(), false);
      }
    });
  }

  poll();
  setInterval(poll, POLL_MS);
})();
