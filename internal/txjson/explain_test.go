package txjson

import (
	"errors"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

// TestExplainKeys checks the explain keys of a transaction object: their values, their
// defaults, their errors, and that they are unknown fields unless AllowExplain is set.
func TestExplainKeys(t *testing.T) {
	for _, tc := range []struct {
		name     string
		extra    []string
		allow    bool
		want     Explain
		problems map[string]string
	}{
		{"absent", nil, true, Explain{TopK: wire.DefaultExplainTopK}, nil},
		{"explain", []string{`"explain":true`}, true, Explain{On: true, TopK: wire.DefaultExplainTopK}, nil},
		{"explain false", []string{`"explain":false`}, true, Explain{TopK: wire.DefaultExplainTopK}, nil},
		{"top k", []string{`"explain":true`, `"explain_top_k":3`}, true, Explain{On: true, TopK: 3}, nil},
		{"top k first", []string{`"explain_top_k":30`, `"explain":true`}, true, Explain{On: true, TopK: 30}, nil},
		{"top k 1", []string{`"explain":true`, `"explain_top_k":1`}, true, Explain{On: true, TopK: 1}, nil},
		{"top k as 2.0", []string{`"explain":true`, `"explain_top_k":2.0`}, true, Explain{On: true, TopK: 2}, nil},
		{"top k without explain", []string{`"explain_top_k":7`}, true, Explain{TopK: 7}, nil},
		{"top k 0", []string{`"explain":true`, `"explain_top_k":0`}, true, Explain{}, map[string]string{"explain_top_k": topKProblem}},
		{"top k 31", []string{`"explain":true`, `"explain_top_k":31`}, true, Explain{}, map[string]string{"explain_top_k": topKProblem}},
		{"top k -1", []string{`"explain_top_k":-1`}, true, Explain{}, map[string]string{"explain_top_k": topKProblem}},
		{"top k 2.5", []string{`"explain_top_k":2.5`}, true, Explain{}, map[string]string{"explain_top_k": topKProblem}},
		{"top k string", []string{`"explain_top_k":"5"`}, true, Explain{}, map[string]string{"explain_top_k": topKProblem}},
		{"explain string", []string{`"explain":"true"`}, true, Explain{}, map[string]string{"explain": "must be true or false"}},
		{"explain 1", []string{`"explain":1`}, true, Explain{}, map[string]string{"explain": "must be true or false"}},
		{"explain null", []string{`"explain":null`}, true, Explain{}, map[string]string{"explain": "must be true or false"}},
		{"explain twice", []string{`"explain":true`, `"explain":false`}, true, Explain{}, map[string]string{"explain": "duplicate field"}},
		{"top k twice", []string{`"explain_top_k":2`, `"explain_top_k":2`}, true, Explain{}, map[string]string{"explain_top_k": "duplicate field"}},
		{"both bad with a bad field", []string{`"explain":0`, `"explain_top_k":99`, `"Extra":1`}, true, Explain{},
			map[string]string{"explain": "must be true or false", "explain_top_k": topKProblem, "Extra": "unknown field"}},
		{"not allowed", []string{`"explain":true`, `"explain_top_k":3`}, false, Explain{},
			map[string]string{"explain": "unknown field", "explain_top_k": "unknown field"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decoder{Fields: NewFields(), AllowExplain: tc.allow}
			d.Reset(body(nil, tc.extra...))
			var tx fraud.Transaction
			details, err := d.Transaction(&tx, nil)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := problems(t, details); !sameProblems(got, tc.problems) {
				t.Fatalf("got problems %v, want %v", got, tc.problems)
			}
			if tc.problems == nil {
				if got := d.Explain(); got != tc.want {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
				if tx.Features != firstRow {
					t.Errorf("got features %v, want the first row", tx.Features)
				}
			}
		})
	}
	// A decoder reused for the next body forgets the last one's keys.
	d := Decoder{Fields: NewFields(), AllowExplain: true}
	d.Reset(body(nil, `"explain":true`, `"explain_top_k":9`))
	var tx fraud.Transaction
	if _, err := d.Transaction(&tx, nil); err != nil {
		t.Fatal(err)
	}
	d.Reset(body(nil))
	if _, err := d.Transaction(&tx, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := d.Explain(), (Explain{TopK: wire.DefaultExplainTopK}); got != want {
		t.Errorf("after a body without the keys: got %+v, want %+v", got, want)
	}
	// A malformed value is malformed JSON, as for any field.
	d.Reset(body(nil, `"explain":tru`))
	if _, err := d.Transaction(&tx, nil); !errors.As(err, new(*SyntaxError)) {
		t.Errorf("explain: tru: got %v, want a syntax error", err)
	}
}

// TestBatchExplainKeys checks the explain keys of a batch's envelope: accepted at the top level
// and applied to the whole batch, refused in its items, unknown without AllowExplain.
func TestBatchExplainKeys(t *testing.T) {
	row := string(body(nil))
	withKey := string(body(nil, `"explain":true`))
	for _, tc := range []struct {
		name    string
		body    string
		allow   bool
		want    Explain
		field   string // of an envelope error
		problem string
		item    string // problem of the second item's "explain"
	}{
		{"envelope", `{"explain":true,"transactions":[` + row + `],"explain_top_k":30}`, true, Explain{On: true, TopK: 30}, "", "", ""},
		{"envelope default", `{"transactions":[` + row + `],"explain":true}`, true, Explain{On: true, TopK: wire.DefaultExplainTopK}, "", "", ""},
		{"in an item", `{"transactions":[` + row + `,` + withKey + `]}`, true, Explain{TopK: wire.DefaultExplainTopK}, "", "", "unknown field"},
		{"bad top k", `{"transactions":[` + row + `],"explain_top_k":31}`, true, Explain{}, "explain_top_k", topKProblem, ""},
		{"bad explain", `{"explain":"yes","transactions":[` + row + `]}`, true, Explain{}, "explain", "must be true or false", ""},
		{"repeated", `{"explain":true,"explain":true,"transactions":[` + row + `]}`, true, Explain{}, "explain", "duplicate field", ""},
		{"not allowed", `{"explain":true,"transactions":[` + row + `]}`, false, Explain{}, "explain", "unknown field", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decoder{Fields: NewFields(), AllowExplain: tc.allow}
			d.Reset([]byte(tc.body))
			var txs []fraud.Transaction
			var errs [][]fraud.Detail
			n, err := d.Batch(&txs, &errs, 10)
			if tc.field != "" {
				var ee *EnvelopeError
				if !errors.As(err, &ee) || ee.Detail["field"] != tc.field || ee.Detail["problem"] != tc.problem {
					t.Fatalf("got %v, want %s %s", err, tc.field, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := d.Explain(); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if len(errs[0]) != 0 {
				t.Errorf("first item: got %v, want no problem", errs[0])
			}
			if tc.item != "" {
				if n != 2 || problems(t, errs[1])["explain"] != tc.item {
					t.Errorf("second item: got %v, want explain %s", errs[1], tc.item)
				}
			}
		})
	}
}

// TestExplainKeysAllocateNothing checks that the explain keys keep a valid body free of
// allocations.
func TestExplainKeysAllocateNothing(t *testing.T) {
	fields := NewFields()
	b := body(nil, `"explain":true`, `"explain_top_k":30`)
	var tx fraud.Transaction
	var got Explain
	allocs := testing.AllocsPerRun(100, func() {
		d := Decoder{Fields: fields, AllowExplain: true}
		d.Reset(b)
		if details, err := d.Transaction(&tx, nil); err != nil || len(details) > 0 {
			t.Fatalf("got %v %v, want a valid body", details, err)
		}
		got = d.Explain()
	})
	if allocs != 0 {
		t.Errorf("got %v allocations per decode, want 0", allocs)
	}
	if got != (Explain{On: true, TopK: 30}) {
		t.Errorf("got %+v, want explain with top k 30", got)
	}
}
