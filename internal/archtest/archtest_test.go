// Package archtest holds no code, only a test that keeps the imports of the module running one
// way: cmd → api, batch → model, train, security, ratelimit, stores → fraud. It reads
// `go list`, so a package added without a place in the table below, or an import against the
// direction, fails `go test ./...`.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/sharedtest"
)

const module = "github.com/fraudguard/fraudguard"

// place is where a package sits. A package may import only packages of a lower rank; when only
// is not nil its code may import only those packages of the module (an empty, non-nil list:
// none). drivers, when set, are the only import paths from outside the module and the standard
// library that its code may use (a store's database driver). Test files may import any package
// of a lower rank (the client's tests drive the real server, a store's tests use the suite),
// and the test-support packages (testOnly), which code never imports.
type place struct {
	rank     int
	only     []string
	testOnly bool
	drivers  []string
}

// none is the "imports nothing of the module" list.
var none = []string{}

// layers places every package of the module, by path relative to the module. Entries for
// packages that do not exist (yet) are allowed, so a package can be placed before it is written.
var layers = map[string]place{
	// The bottom: the public wire types the server and the client share, and a
	// standard-library helper that knows nothing of the domain.
	"wire":                {rank: 0, only: none},
	"internal/atomicfile": {rank: 0, only: none},
	// The bare net/http handler make bench compares the service with: nothing of the module.
	"tools/bare": {rank: 0, only: none},

	// The domain: its answers and events are the wire types, aliased.
	"internal/fraud": {rank: 1, only: []string{"wire"}},

	// Parts that know the domain and nothing else of the module.
	"internal/config":                 {rank: 2},
	"internal/progress":               {rank: 2},
	"internal/loadtest":               {rank: 2},
	"internal/dataset":                {rank: 2},
	"internal/telemetry":              {rank: 2},
	"internal/ratelimit":              {rank: 2},
	"internal/breaker":                {rank: 2, only: []string{"internal/fraud"}},
	"internal/security/apikey":        {rank: 2},
	"internal/security/audit":         {rank: 2},
	"internal/security/block":         {rank: 2},
	"internal/security/detect":        {rank: 2},
	"internal/security/detect/corpus": {rank: 2},
	"internal/api/docs":               {rank: 2, only: none},
	"internal/store/sqlite":           {rank: 2, only: []string{"internal/fraud"}, drivers: []string{"modernc.org/sqlite"}},
	"internal/store/postgres":         {rank: 2, only: []string{"internal/fraud"}, drivers: []string{"github.com/jackc/pgx"}},
	// The decision log's writer process, and the server's side of it: decisions, nothing else.
	"internal/decision/process": {rank: 3, only: []string{"internal/fraud"}},

	// The synthetic generator, which fits its parameters on rows read by dataset.
	"internal/synth": {rank: 3},

	// The model bundle: its canary rows come from the synthetic generator.
	"internal/model": {rank: 4},

	// Built on those: the importers, training, the one transaction decoder.
	"internal/model/xgboost":  {rank: 5},
	"internal/model/lightgbm": {rank: 5},
	"internal/train":          {rank: 5},
	"internal/txjson":         {rank: 5},
	"internal/compare":        {rank: 5},

	// Jobs, the decision log's writer and the evaluation report (which computes its figures as
	// training does), then the HTTP API, then the public client.
	"internal/batch":    {rank: 6},
	"internal/decision": {rank: 6},
	"internal/report":   {rank: 6},
	"internal/api":      {rank: 7},
	// The public client: its code imports only wire, its tests drive the real server.
	"client": {rank: 8, only: []string{"wire"}},

	// The score command's pipeline: in process through the model, or remote through the client.
	"internal/scoring": {rank: 9},
	// The demo command's steps, through the client.
	"internal/demo": {rank: 9},

	// The only place that wires everything.
	"cmd/fraudguard": {rank: 10},
	// The decision log's storage work without a server, which make bench runs beside one.
	"tools/decisionload": {rank: 10, only: []string{"internal/fraud", "internal/loadtest", "internal/store/sqlite"}},

	// Test support: imported by test files only.
	"internal/sharedtest":            {rank: 2, testOnly: true},
	"internal/clocktest":             {rank: 2, testOnly: true},
	"internal/browsertest":           {rank: 2, testOnly: true},
	"internal/telemetry/otlptest":    {rank: 2, testOnly: true},
	"internal/store/storetest":       {rank: 2, testOnly: true, only: []string{"internal/fraud"}},
	"internal/store/postgres/pgtest": {rank: 2, testOnly: true, only: none},
	"internal/redistest":             {rank: 2, testOnly: true, only: none},
	"internal/archtest":              {rank: 11, testOnly: true, only: none},
}

// pkg is what `go list -json` says of one package.
type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Error        *struct{ Err string }
}

func TestImportDirection(t *testing.T) {
	pkgs := mustList(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages of the module, want the whole module", len(pkgs))
	}
	for _, p := range pkgs {
		for _, problem := range check(p) {
			t.Error(problem)
		}
	}
}

// check returns what is wrong with the imports of p, one sentence each.
func check(p pkg) []string {
	name := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
	from, ok := layers[name]
	if !ok {
		return []string{fmt.Sprintf("%s has no place in internal/archtest's layer table: add it with the rank of what it imports", name)}
	}
	var problems []string
	seen := map[string]bool{}
	for _, imp := range p.Imports {
		problems = append(problems, checkImport(name, from, imp, false)...)
		seen[imp] = true
	}
	for _, imp := range slices.Concat(p.TestImports, p.XTestImports) {
		if !seen[imp] && imp != p.ImportPath {
			problems = append(problems, checkImport(name, from, imp, true)...)
			seen[imp] = true
		}
	}
	return problems
}

// checkImport returns what is wrong with package name (placed at from) importing imp.
func checkImport(name string, from place, imp string, inTest bool) []string {
	where := ""
	if inTest {
		where = " (in a test)"
	}
	rel, inModule := strings.CutPrefix(imp, module+"/")
	if !inModule {
		if from.drivers != nil && !inTest && !isStandard(imp) && !slices.ContainsFunc(from.drivers, func(d string) bool {
			return imp == d || strings.HasPrefix(imp, d+"/")
		}) {
			return []string{fmt.Sprintf("%s imports %s%s: a store imports only the domain and its driver (%s)", name, imp, where, strings.Join(from.drivers, ", "))}
		}
		return nil
	}
	to, ok := layers[rel]
	if !ok {
		return nil // reported when the imported package itself is checked
	}
	switch {
	case to.testOnly && !inTest:
		return []string{fmt.Sprintf("%s imports %s, which is for tests only", name, rel)}
	case to.testOnly:
		return nil
	case from.only != nil && !inTest && !slices.Contains(from.only, rel):
		allowed := "nothing of the module"
		if len(from.only) > 0 {
			allowed = "only " + strings.Join(from.only, ", ")
		}
		return []string{fmt.Sprintf("%s imports %s%s: it may import %s", name, rel, where, allowed)}
	case to.rank >= from.rank:
		return []string{fmt.Sprintf("%s (rank %d) imports %s (rank %d)%s: imports run from higher ranks to lower ones only", name, from.rank, rel, to.rank, where)}
	}
	return nil
}

// isStandard reports whether path is a standard-library package: its first element has no dot.
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// mustList runs `go list` on every package of the module.
func mustList(t *testing.T) []pkg {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the module's packages: %v", err)
	}
	cmd := exec.Command(gobin, "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports,Error", "./...")
	cmd.Dir = sharedtest.Root(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	pkgs, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// decode reads the stream of JSON objects `go list -json` writes.
func decode(out []byte) ([]pkg, error) {
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read go list's output: %w", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].ImportPath < pkgs[j].ImportPath })
	return pkgs, nil
}

// TestCheck shows that check catches each kind of wrong import, on made-up packages.
func TestCheck(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	tests := []struct {
		name string
		p    pkg
		want string // a part of the one problem expected; "" for none
	}{
		{"downward import", pkg{ImportPath: m("internal/api"), Imports: []string{m("internal/model"), "net/http"}}, ""},
		{"unplaced package", pkg{ImportPath: m("internal/newthing")}, "no place in internal/archtest's layer table"},
		{"upward import", pkg{ImportPath: m("internal/model"), Imports: []string{m("internal/api")}}, "imports run from higher ranks to lower ones only"},
		{"same rank", pkg{ImportPath: m("internal/model/xgboost"), Imports: []string{m("internal/model"), m("internal/train")}}, "internal/model/xgboost (rank 5) imports internal/train (rank 5)"},
		{"importing cmd", pkg{ImportPath: m("internal/api"), TestImports: []string{m("cmd/fraudguard")}}, "(in a test)"},
		{"store importing the model", pkg{ImportPath: m("internal/store/sqlite"), Imports: []string{m("internal/model")}}, "it may import only internal/fraud"},
		{"store importing another library", pkg{ImportPath: m("internal/store/sqlite"), Imports: []string{"modernc.org/sqlite/lib", "github.com/prometheus/client_golang/prometheus"}}, "a store imports only the domain and its driver"},
		{"store test using the suite", pkg{ImportPath: m("internal/store/sqlite"), XTestImports: []string{m("internal/store/storetest"), m("internal/fraud")}}, ""},
		{"test support in code", pkg{ImportPath: m("internal/batch"), Imports: []string{m("internal/clocktest")}}, "for tests only"},
		{"wire importing the domain", pkg{ImportPath: m("wire"), Imports: []string{m("internal/fraud")}}, "it may import nothing of the module"},
		{"client importing the domain", pkg{ImportPath: m("client"), Imports: []string{m("wire"), m("internal/fraud")}}, "it may import only wire"},
		{"client tests driving the server", pkg{ImportPath: m("client"), Imports: []string{m("wire")}, XTestImports: []string{m("client"), m("internal/api"), m("internal/model")}}, ""},
		{"client tests importing cmd", pkg{ImportPath: m("client"), XTestImports: []string{m("cmd/fraudguard")}}, "imports run from higher ranks to lower ones only"},
		{"cmd importing the client", pkg{ImportPath: m("cmd/fraudguard"), Imports: []string{m("client"), m("wire"), m("internal/api")}}, ""},
		{"api importing wire", pkg{ImportPath: m("internal/api"), Imports: []string{m("wire")}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := check(tc.p)
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("got %q, want no problem", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Errorf("got %q, want one problem containing %q", got, tc.want)
			}
		})
	}
}
