package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fraudguard/fraudguard/internal/browsertest"
	"github.com/fraudguard/fraudguard/internal/dataset"
	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

// TestDashboardRendersOffline runs the real service, scores real transactions (frauds among
// them), labels them and runs a background job, then opens /dashboard in headless Chromium,
// which reaches loopback only: every panel must show data, the console must stay empty (no
// script error, no request refused by the Content-Security-Policy, nothing that failed to
// load), and the page must have read every route it draws from this server.
func TestDashboardRendersOffline(t *testing.T) {
	browsertest.Require(t)
	s := mustServe(t, map[string]string{"RATE_LIMIT_PER_MINUTE": "0"})

	tbl, err := dataset.ReadAll(context.Background(), sharedtest.Data(t, "creditcard-sample-train.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// 40 normal rows and every fraud up to 10, with their labels.
	var txs, labels, csv []string
	frauds, normals := 0, 0
	names := fraud.FeatureNames()
	for i := range tbl.Labels {
		isFraud := tbl.Labels[i] == 1
		if isFraud && frauds >= 10 || !isFraud && normals >= 40 {
			continue
		}
		if isFraud {
			frauds++
		} else {
			normals++
		}
		id := fmt.Sprintf("dash-%d", i)
		fields := []string{`"transaction_id":"` + id + `"`}
		var cells []string
		for j, name := range names {
			v, _ := json.Marshal(tbl.Columns[j][i])
			fields = append(fields, `"`+name+`":`+string(v))
			cells = append(cells, string(v))
		}
		txs = append(txs, "{"+strings.Join(fields, ",")+"}")
		csv = append(csv, strings.Join(cells, ","))
		label := map[bool]string{true: "fraud", false: "legit"}[isFraud]
		labels = append(labels, `{"transaction_id":"`+id+`","label":"`+label+`","source":"chargeback"}`)
	}
	if resp, body := call(t, "POST", s.url+"/predict/batch", "application/json", `{"transactions":[`+strings.Join(txs, ",")+`]}`); resp.StatusCode != 200 {
		t.Fatalf("predict/batch: %d %v", resp.StatusCode, body)
	} else if n := body["summary"].(map[string]any)["fraud_count"].(float64); n == 0 {
		t.Fatalf("no transaction flagged among %d frauds: the flagged panel would be empty", frauds)
	}
	resp, job := call(t, "POST", s.url+"/batch", "text/csv", strings.Join(names, ",")+"\n"+strings.Join(csv, "\n")+"\n")
	if resp.StatusCode != 202 {
		t.Fatalf("batch: %d %v", resp.StatusCode, job)
	}
	// Labels go in once the decisions are stored (within a second).
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, fb := call(t, "POST", s.url+"/feedback", "application/json", `{"labels":[`+strings.Join(labels, ",")+`]}`)
		results, _ := fb["results"].([]any)
		if len(results) == len(labels) && !strings.Contains(fmt.Sprint(results), "unknown_transaction") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("feedback: decisions not stored within 5 s: %v", fb)
		}
		time.Sleep(50 * time.Millisecond)
	}

	dom, console := browsertest.DumpDOMConsole(t, s.url+"/dashboard")
	if len(console) > 0 {
		t.Errorf("console: got %d messages, want none:\n%s", len(console), strings.Join(console, "\n"))
	}
	for _, panel := range []string{"panel-traffic", "panel-fraud", "panel-risk", "panel-jobs", "panel-flagged", "panel-quality", "panel-drift"} {
		if !regexp.MustCompile(`id="` + panel + `"[^>]*data-state="ok"`).MatchString(dom) {
			m := regexp.MustCompile(`(?s)<section[^>]*id="` + panel + `".*?</section>`).FindString(dom)
			t.Errorf("%s: no data shown: %s", panel, m)
		}
	}
	for _, want := range []string{
		`data-state="ok">model 20`, // the model version
		"requests/s; p50",          // traffic figures
		"fraud rate ",              // the fraud rate
		"<progress",                // a job's progress bar
		">dash-",                   // a flagged transaction_id
		"<th>ROC AUC</th>",         // the quality table
		fmt.Sprintf("%d decisions; score PSI", len(txs)), // drift over what was scored
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`<td>(?:V\d+|Time|Amount) [+-]`).FindString(dom); m == "" {
		t.Errorf("the flagged decisions show no reasons")
	}
	// The browser read every route the page draws, from this server: the access log has them.
	for _, route := range []string{"/dashboard", "/metrics", "/models/info", "/decisions", "/batch", "/models/performance", "/models/drift"} {
		if !slices.ContainsFunc(strings.Split(s.logs.String(), "\n"), func(l string) bool {
			return strings.Contains(l, `"method":"GET","route":"`+route+`"`) && strings.Contains(l, `"status":200`) && strings.Contains(l, "HeadlessChrome")
		}) {
			t.Errorf("the access log has no 200 for GET %s", route)
		}
	}
}

// TestDashboardAsksForAKey runs the service with a keys file: the page loads without a key,
// reads nothing, and shows the form that asks for one.
func TestDashboardAsksForAKey(t *testing.T) {
	browsertest.Require(t)
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "keys.yaml")
	mustCreateKey(t, "--name", "analyst", "--scopes", "read", "--file", keysFile)
	s := mustServe(t, map[string]string{"API_KEYS_FILE": keysFile, "DATA_DIR": filepath.Join(dir, "data"), "BLOCK_THRESHOLD": "0"})
	dom, _ := browsertest.DumpDOMConsole(t, s.url+"/dashboard") // the console has the 401s
	if !regexp.MustCompile(`<form id="key-form">`).MatchString(dom) {
		t.Errorf("the key form is hidden: %s", regexp.MustCompile(`<form[^>]*>`).FindString(dom))
	}
	if !strings.Contains(dom, "an API key is needed") {
		t.Errorf("the page does not say a key is needed")
	}
	if strings.Contains(dom, `data-state="ok"`) {
		t.Errorf("a panel shows data without a key")
	}
}
