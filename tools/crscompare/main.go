// Command crscompare measures the test half of the attack corpus
// (internal/security/detect/testdata/corpus) against the OWASP Core Rule Set run by Coraza, at
// paranoia level 1 and 2 with the default inbound anomaly threshold of 5, and against
// fraudguard's own detector, in the four positions TestAttackCorpus uses: a query value, a path
// segment, the User-Agent and the transaction_id of a JSON body. It prints the share of attacks
// each engine refuses per class and position, the benign strings it refuses, and the mean time
// it spends per request.
//
//	cd tools/crscompare && go run .
//
// It is a module of its own so that the main module never depends on Coraza.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/security/detect"
	"github.com/fraudguard/fraudguard/internal/security/detect/corpus"
)

// firstRow is the first transaction of creditcard.csv, the body every request carries.
var firstRow = [fraud.NumFeatures]float64{0, -1.3598071336738, -0.0727811733098497, 2.53634673796914,
	1.37815522427443, -0.338320769942518, 0.462387777762292, 0.239598554061257, 0.0986979012610507,
	0.363786969611213, 0.0907941719789316, -0.551599533260813, -0.617800855762348, -0.991389847235408,
	-0.311169353699879, 1.46817697209427, -0.470400525259478, 0.207971241929242, 0.0257905801985591,
	0.403992960255733, 0.251412098239705, -0.018306777944153, 0.277837575558899, -0.110473910188767,
	0.0669280749146731, 0.128539358273528, -0.189114843888824, 0.133558376740387, -0.0210530534538215,
	149.62}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "crscompare:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("crscompare", flag.ContinueOnError)
	dir := fs.String("corpus", "../../internal/security/detect/testdata/corpus", "corpus directory")
	half := fs.String("half", corpus.HalfTest, "corpus half to measure: test, dev or all")
	if err := fs.Parse(args); err != nil {
		return err
	}
	all, err := corpus.Load(*dir)
	if err != nil {
		return err
	}
	var entries []corpus.Entry
	for _, e := range all {
		if *half == "all" || e.Half == *half {
			entries = append(entries, e)
		}
	}
	engines := []engine{}
	for _, pl := range []int{1, 2} {
		e, err := newCRS(pl)
		if err != nil {
			return err
		}
		engines = append(engines, e)
	}
	engines = append(engines, newFraudguard())
	fmt.Fprintf(stdout, "corpus %s, %s half: %d entries\n", *dir, *half, len(entries))
	for i, r := range measure(engines, entries) {
		r.print(stdout, engines[i].name)
	}
	return nil
}

// engine tells whether a request is refused.
type engine struct {
	name string
	// refuses answers for a request whose body is body (nil for none).
	refuses func(r *http.Request, body []byte, payload string, pos string) bool
}

// newCRS loads the Core Rule Set at paranoia level pl (blocking and detection), blocking at the
// default inbound anomaly threshold.
func newCRS(pl int) (engine, error) {
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().
		WithRootFS(coreruleset.FS).
		WithDirectives(fmt.Sprintf(`
Include @coraza.conf-recommended
SecRuleEngine On
SecAuditEngine Off
Include @crs-setup.conf.example
SecAction "id:900000,phase:1,pass,nolog,t:none,setvar:tx.blocking_paranoia_level=%d"
SecAction "id:900001,phase:1,pass,nolog,t:none,setvar:tx.detection_paranoia_level=%d"
Include @owasp_crs/*.conf
`, pl, pl)))
	if err != nil {
		return engine{}, fmt.Errorf("load CRS at paranoia level %d: %w", pl, err)
	}
	return engine{
		name: fmt.Sprintf("OWASP CRS %s (Coraza), paranoia level %d, anomaly threshold 5", crsVersion(), pl),
		refuses: func(r *http.Request, body []byte, _, _ string) bool {
			tx := waf.NewTransaction()
			defer func() {
				tx.ProcessLogging()
				_ = tx.Close()
			}()
			tx.ProcessConnection("192.0.2.10", 40000, "127.0.0.1", 8000)
			tx.ProcessURI(r.RequestURI, r.Method, r.Proto)
			tx.AddRequestHeader("Host", r.Host)
			for k, vs := range r.Header {
				for _, v := range vs {
					tx.AddRequestHeader(k, v)
				}
			}
			if it := tx.ProcessRequestHeaders(); it != nil {
				return true
			}
			if body != nil {
				if it, _, err := tx.WriteRequestBody(body); it != nil || err != nil {
					return it != nil
				}
			}
			it, err := tx.ProcessRequestBody()
			return err == nil && it != nil
		},
	}, nil
}

// crsVersion reads the CRS version from the embedded rules.
func crsVersion() string {
	b, err := coreruleset.FS.Open("@owasp_crs/REQUEST-901-INITIALIZATION.conf")
	if err != nil {
		return "v4"
	}
	defer b.Close()
	data, _ := io.ReadAll(b)
	if i := bytes.Index(data, []byte("ver:'OWASP_CRS/")); i >= 0 {
		rest := data[i+len("ver:'OWASP_CRS/"):]
		if j := bytes.IndexByte(rest, '\''); j > 0 {
			return string(rest[:j])
		}
	}
	return "v4"
}

// newFraudguard is the detector the server runs, with its defaults: InspectRequest for the
// request line and headers, InspectString for the transaction_id, as the server's JSON decoder
// calls it. It does not include the server's validation of transaction_id.
func newFraudguard() engine {
	d := detect.New(detect.Options{})
	return engine{
		name: "fraudguard detector (detect.New defaults)",
		refuses: func(r *http.Request, _ []byte, payload, pos string) bool {
			if _, hit := d.InspectRequest(r); hit {
				return true
			}
			if pos == "json" {
				_, hit := d.InspectString("json:transaction_id", payload)
				return hit
			}
			return false
		},
	}
}

// position puts a payload in one place of a request, as TestAttackCorpus does.
type position struct {
	name  string
	build func(p string) (r *http.Request, body []byte, ok bool)
}

func positions() []position {
	body := txBody("")
	post := func(target string, b []byte) *http.Request {
		r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json")
		r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
		return r
	}
	return []position{
		{"query", func(p string) (*http.Request, []byte, bool) {
			return post("/predict?q="+url.QueryEscape(p), body), body, true
		}},
		{"path", func(p string) (*http.Request, []byte, bool) {
			r := httptest.NewRequest(http.MethodGet, "/models/"+url.PathEscape(p), nil)
			r.Header.Set("Accept", "application/json")
			r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0")
			return r, nil, true
		}},
		{"header", func(p string) (*http.Request, []byte, bool) {
			v := headerSafe(p)
			if v == "" {
				return nil, nil, false
			}
			r := post("/predict", body)
			r.Header.Set("User-Agent", v)
			return r, body, true
		}},
		{"json", func(p string) (*http.Request, []byte, bool) {
			b := txBody(p)
			return post("/predict", b), b, true
		}},
	}
}

// txBody is the first creditcard.csv row as a /predict body, with transaction_id when id is
// not empty.
func txBody(id string) []byte {
	m := map[string]any{}
	for i, name := range fraud.FeatureNames() {
		m[name] = firstRow[i]
	}
	if id != "" {
		m["transaction_id"] = id
	}
	b, _ := json.Marshal(m)
	return b
}

// headerSafe is a payload as a client can send it in a header: control characters
// percent-encoded, surrounding white space trimmed.
func headerSafe(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < 0x20 && c != '\t' || c == 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return strings.Trim(b.String(), " \t")
}

// tally counts one cell: requests sent and refused.
type tally struct{ sent, hit int }

func (t tally) pct() string {
	if t.sent == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(t.hit)/float64(t.sent))
}

type cellKey struct{ class, pos string }

// result is one engine's measurement.
type result struct {
	attack, attackNoCRS, benign map[cellKey]*tally
	classes, benignClasses      []string
	requests                    int
	elapsed                     time.Duration
}

// measure sends every entry in every position to each engine in turn, so that a busy machine
// slows all engines alike.
func measure(engines []engine, entries []corpus.Entry) []*result {
	results := make([]*result, len(engines))
	for i := range results {
		results[i] = &result{attack: map[cellKey]*tally{}, attackNoCRS: map[cellKey]*tally{}, benign: map[cellKey]*tally{}}
	}
	add := func(m map[cellKey]*tally, k cellKey, hit bool) {
		if m[k] == nil {
			m[k] = &tally{}
		}
		m[k].sent++
		if hit {
			m[k].hit++
		}
	}
	seen, seenBenign := map[string]bool{}, map[string]bool{}
	for _, pos := range positions() {
		for _, e := range entries {
			if e.Kind == corpus.KindAttack && e.Class == "scanner" && pos.name != "header" {
				continue
			}
			if _, _, ok := pos.build(e.Payload); !ok {
				continue
			}
			k := cellKey{e.Class, pos.name}
			for i, eng := range engines {
				req, body, _ := pos.build(e.Payload)
				start := time.Now()
				hit := eng.refuses(req, body, e.Payload, pos.name)
				r := results[i]
				r.elapsed += time.Since(start)
				r.requests++
				if e.Kind == corpus.KindBenign {
					add(r.benign, k, hit)
					continue
				}
				add(r.attack, k, hit)
				if !strings.Contains(e.Source, "/crs-") {
					add(r.attackNoCRS, k, hit)
				}
			}
			if e.Kind == corpus.KindBenign {
				seenBenign[e.Class] = true
			} else {
				seen[e.Class] = true
			}
		}
	}
	var classes, benignClasses []string
	for c := range seen {
		classes = append(classes, c)
	}
	for c := range seenBenign {
		benignClasses = append(benignClasses, c)
	}
	sort.Strings(classes)
	sort.Strings(benignClasses)
	for _, r := range results {
		r.classes, r.benignClasses = classes, benignClasses
	}
	return results
}

// print writes the result as Markdown tables.
func (r *result) print(w io.Writer, name string) {
	pos := positions()
	fmt.Fprintf(w, "\n### %s\n\nmean %.1f µs per request over %d requests\n\n", name,
		float64(r.elapsed.Microseconds())/float64(max(1, r.requests)), r.requests)
	table := func(title string, m map[cellKey]*tally) {
		fmt.Fprintf(w, "%s\n\n| class |", title)
		for _, p := range pos {
			fmt.Fprintf(w, " %s |", p.name)
		}
		fmt.Fprintf(w, "\n| --- |%s\n", strings.Repeat(" ---: |", len(pos)))
		var total tally
		for _, c := range r.classes {
			fmt.Fprintf(w, "| %s |", c)
			for _, p := range pos {
				t := m[cellKey{c, p.name}]
				if t == nil {
					fmt.Fprint(w, " - |")
					continue
				}
				total.sent += t.sent
				total.hit += t.hit
				fmt.Fprintf(w, " %s of %d |", t.pct(), t.sent)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "| all | %s of %d requests |%s\n\n", total.pct(), total.sent, strings.Repeat(" |", len(pos)-1))
	}
	table("Attacks refused:", r.attack)
	table("Attacks refused, rows from CRS's own regression tests left out:", r.attackNoCRS)
	fmt.Fprintf(w, "Benign strings refused:\n\n| kind |")
	for _, p := range pos {
		fmt.Fprintf(w, " %s |", p.name)
	}
	fmt.Fprintf(w, "\n| --- |%s\n", strings.Repeat(" ---: |", len(pos)))
	var total tally
	for _, c := range r.benignClasses {
		fmt.Fprintf(w, "| %s |", c)
		for _, p := range pos {
			t := r.benign[cellKey{c, p.name}]
			if t == nil {
				fmt.Fprint(w, " - |")
				continue
			}
			total.sent += t.sent
			total.hit += t.hit
			fmt.Fprintf(w, " %d of %d |", t.hit, t.sent)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| all | %d of %d requests |%s\n", total.hit, total.sent, strings.Repeat(" |", len(pos)-1))
}
