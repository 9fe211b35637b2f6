package txjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/security/detect"
)

// firstRow is the first transaction of creditcard.csv: Time, V1..V28, Amount.
var firstRow = [fraud.NumFeatures]float64{0, -1.3598071336738, -0.0727811733098497, 2.53634673796914,
	1.37815522427443, -0.338320769942518, 0.462387777762292, 0.239598554061257, 0.0986979012610507,
	0.363786969611213, 0.0907941719789316, -0.551599533260813, -0.617800855762348, -0.991389847235408,
	-0.311169353699879, 1.46817697209427, -0.470400525259478, 0.207971241929242, 0.0257905801985591,
	0.403992960255733, 0.251412098239705, -0.018306777944153, 0.277837575558899, -0.110473910188767,
	0.0669280749146731, 0.128539358273528, -0.189114843888824, 0.133558376740387, -0.0210530534538215,
	149.62}

// omit, as a value of body's set, leaves the field out.
const omit = "\x00omit"

// body renders firstRow as a JSON object. set replaces a field's value with raw JSON (or, with
// omit, leaves the field out); a name that is not a feature (transaction_id, say) is added
// after the features. Each non-empty extra is raw "key":value text added before the closing
// brace.
func body(set map[string]string, extra ...string) []byte {
	var parts []string
	for i, name := range fraud.FeatureNames() {
		v, ok := set[name]
		if !ok {
			v = strconv.FormatFloat(firstRow[i], 'g', -1, 64)
		}
		if v != omit {
			parts = append(parts, strconv.Quote(name)+":"+v)
		}
	}
	var others []string
	for name := range set {
		if !slices.Contains(fraud.FeatureNames(), name) && set[name] != omit {
			others = append(others, name)
		}
	}
	slices.Sort(others)
	for _, name := range others {
		parts = append(parts, strconv.Quote(name)+":"+set[name])
	}
	for _, e := range extra {
		if e != "" {
			parts = append(parts, e)
		}
	}
	return []byte("{" + strings.Join(parts, ",") + "}")
}

// decode decodes one transaction with a fresh decoder and no detector.
func decode(b []byte) (fraud.Transaction, []fraud.Detail, error) {
	d := Decoder{Fields: NewFields()}
	d.Reset(b)
	var tx fraud.Transaction
	details, err := d.Transaction(&tx, nil)
	return tx, details, err
}

// mustDecode decodes b and fails the test on malformed JSON.
func mustDecode(t testing.TB, b []byte) (fraud.Transaction, []fraud.Detail) {
	t.Helper()
	tx, details, err := decode(b)
	if err != nil {
		t.Fatalf("decoding %.200q: got error %v, want none", b, err)
	}
	return tx, details
}

// problems maps each detail's field to its problem; a field named twice fails the test.
func problems(t testing.TB, details []fraud.Detail) map[string]string {
	t.Helper()
	out := make(map[string]string)
	for _, d := range details {
		f := fmt.Sprint(d["field"])
		if _, dup := out[f]; dup {
			t.Errorf("field %s reported twice: %v", f, details)
		}
		out[f] = fmt.Sprint(d["problem"])
	}
	return out
}

func sameProblems(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}

func TestTransactionValid(t *testing.T) {
	tx, details := mustDecode(t, body(map[string]string{"transaction_id": `"abc-1:2.3_x"`}))
	if len(details) > 0 {
		t.Fatalf("got details %v, want none", details)
	}
	if tx.Features != firstRow {
		t.Errorf("got features %v, want %v", tx.Features, firstRow)
	}
	if tx.ID != "abc-1:2.3_x" {
		t.Errorf("got id %q, want %q", tx.ID, "abc-1:2.3_x")
	}

	// White space wherever JSON allows it, fields in any order, escapes in keys and in the id.
	var parts []string
	for _, name := range fraud.FeatureNames()[:fraud.NumFeatures-1] {
		parts = append(parts, `"`+strings.Replace(name, "V", `\u0056`, 1)+"\" :\t2")
	}
	b := []byte(" \n{\"transaction_id\":\"\\u0061.\\u0062\",\r\n\"Amount\":1e0, " + strings.Join(parts, " ,\n") + "}\t ")
	tx, details = mustDecode(t, b)
	if len(details) > 0 {
		t.Fatalf("%s: got details %v, want none", b, details)
	}
	if tx.ID != "a.b" || tx.Features[0] != 2 || tx.Features[1] != 2 || tx.Features[fraud.NumFeatures-1] != 1 {
		t.Errorf("%s: got id %q, Time %v, V1 %v, Amount %v; want a.b, 2, 2, 1", b, tx.ID, tx.Features[0], tx.Features[1], tx.Features[fraud.NumFeatures-1])
	}

	// Reusing a decoder and a transaction: an id from the previous body does not stay.
	d := Decoder{Fields: NewFields()}
	d.Reset(body(map[string]string{"transaction_id": `"first"`}))
	if _, err := d.Transaction(&tx, nil); err != nil {
		t.Fatal(err)
	}
	d.Reset(body(nil))
	if details, err := d.Transaction(&tx, nil); err != nil || len(details) > 0 {
		t.Fatalf("second body: got %v, %v; want no error", details, err)
	}
	if tx.ID != "" {
		t.Errorf("second body without an id: got id %q, want none", tx.ID)
	}
}

// TestNumberRanges checks each numeric field at and past its bounds: Time >= 0, Amount in
// [0, 100000], V1..V28 any finite number.
func TestNumberRanges(t *testing.T) {
	const (
		finite  = "must be a finite number"
		amount  = "must be between 0 and 100000"
		nonNeg  = "must be >= 0"
		maxF64  = "1.7976931348623157e308"
		pastMax = "1.8e308"
	)
	type check struct {
		raw  string
		want string  // the problem; "" when accepted
		val  float64 // the value read, when accepted
	}
	cases := map[string][]check{
		"Time": {{"0", "", 0}, {"-0", "", 0}, {"1e-400", "", 0}, {"-1e-400", "", 0}, {"172792", "", 172792}, {maxF64, "", math.MaxFloat64},
			{"-1e-9", nonNeg, 0}, {"-1", nonNeg, 0}, {"-" + maxF64, nonNeg, 0}, {pastMax, finite, 0}, {"-1e400", finite, 0}},
		"Amount": {{"0", "", 0}, {"-0", "", 0}, {"0.01", "", 0.01}, {"100000", "", 100000}, {"1e5", "", 100000},
			{"-0.01", amount, 0}, {"-1e-9", amount, 0}, {"100000.00001", amount, 0}, {"1e9", amount, 0}, {pastMax, finite, 0}, {"-1e400", finite, 0}},
	}
	for i := 1; i <= 28; i++ {
		cases["V"+strconv.Itoa(i)] = []check{{"0", "", 0}, {"-" + maxF64, "", -math.MaxFloat64}, {maxF64, "", math.MaxFloat64},
			{"-123.456e-7", "", -123.456e-7}, {"1e400", finite, 0}, {"-1e400", finite, 0}, {"1" + strings.Repeat("0", 400), finite, 0}}
	}
	if len(cases) != fraud.NumFeatures {
		t.Fatalf("got cases for %d fields, want %d", len(cases), fraud.NumFeatures)
	}
	for i, name := range fraud.FeatureNames() {
		for _, c := range cases[name] {
			tx, details := mustDecode(t, body(map[string]string{name: c.raw}))
			want := map[string]string{}
			if c.want != "" {
				want[name] = c.want
			}
			if got := problems(t, details); !sameProblems(got, want) {
				t.Errorf("%s=%.40s: got %v, want %v", name, c.raw, got, want)
				continue
			}
			if c.want == "" && tx.Features[i] != c.val {
				t.Errorf("%s=%.40s: read %v, want %v", name, c.raw, tx.Features[i], c.val)
			}
			if c.want != "" && details[0]["value"] == nil {
				t.Errorf("%s=%.40s: detail %v does not echo the value", name, c.raw, details[0])
			}
		}
	}
}

// TestNotANumber checks the spellings of NaN and infinity: JSON has none, so a bare one is
// malformed and a quoted one is a string where a number is wanted.
func TestNotANumber(t *testing.T) {
	for _, bare := range []string{"NaN", "nan", "Infinity", "-Infinity", "+Inf", "inf", "0x10", "1_000", ".5", "1e", "--1"} {
		_, _, err := decode(body(map[string]string{"V4": bare}))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("V4=%s: got %v, want a syntax error", bare, err)
		}
	}
	for _, quoted := range []string{`"NaN"`, `"Infinity"`, `"-Inf"`, `"1.5"`} {
		_, details := mustDecode(t, body(map[string]string{"V4": quoted}))
		if got, want := problems(t, details), map[string]string{"V4": "must be a number"}; !sameProblems(got, want) {
			t.Errorf("V4=%s: got %v, want %v", quoted, got, want)
		}
	}
}

func TestMissingFields(t *testing.T) {
	for _, name := range fraud.FeatureNames() {
		_, details := mustDecode(t, body(map[string]string{name: omit}))
		if got, want := problems(t, details), map[string]string{name: "is required"}; !sameProblems(got, want) {
			t.Errorf("without %s: got %v, want %v", name, got, want)
		}
	}
	// transaction_id is optional.
	if _, details := mustDecode(t, body(nil)); len(details) > 0 {
		t.Errorf("without transaction_id: got %v, want none", details)
	}
	// An empty object misses every feature, in field order.
	_, details := mustDecode(t, []byte("{ }"))
	var got []string
	for _, d := range details {
		if d["problem"] != "is required" {
			t.Errorf("empty object: got %v, want only missing fields", d)
		}
		got = append(got, fmt.Sprint(d["field"]))
	}
	if !slices.Equal(got, fraud.FeatureNames()) {
		t.Errorf("empty object: got missing %v, want %v", got, fraud.FeatureNames())
	}
}

func TestUnknownAndDuplicateFields(t *testing.T) {
	long := strings.Repeat("k", 100)
	tests := []struct {
		name  string
		extra string
		field string
		want  string
		value any
	}{
		{"unknown", `"Class":1`, "Class", "unknown field", 1.0},
		{"case matters", `"amount":5`, "amount", "unknown field", 5.0},
		{"empty key", `"":"x"`, "", "unknown field", "x"},
		{"nested value", `"meta":{"a":[1,{"b":null}]}`, "meta", "unknown field", map[string]any{"a": []any{1.0, map[string]any{"b": nil}}}},
		{"long key", `"` + long + `":true`, long[:MaxEchoedValue] + "…", "unknown field", true},
		{"duplicate number", `"V1":2`, "V1", "duplicate field", 2.0},
		{"duplicate by escape", `"V\u0031":3`, "V1", "duplicate field", 3.0},
		{"duplicate Amount of another type", `"Amount":"x"`, "Amount", "duplicate field", "x"},
		{"duplicate id", `"transaction_id":"b"`, "transaction_id", "duplicate field", "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx, details := mustDecode(t, body(map[string]string{"transaction_id": `"a"`}, tc.extra))
			if len(details) != 1 || details[0]["field"] != tc.field || details[0]["problem"] != tc.want {
				t.Fatalf("got %v, want one detail: %s %s", details, tc.field, tc.want)
			}
			if got, _ := json.Marshal(details[0]["value"]); string(got) != mustJSON(t, tc.value) {
				t.Errorf("got value %s, want %s", got, mustJSON(t, tc.value))
			}
			// The first occurrence is the one read.
			if tx.Features != firstRow || tx.ID != "a" {
				t.Errorf("got %v, id %q; want the first occurrences", tx.Features, tx.ID)
			}
		})
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWrongTypes(t *testing.T) {
	for _, tc := range []struct {
		field, raw, want string
	}{
		{"Time", `"0"`, "must be a number"},
		{"V7", `null`, "must be a number"},
		{"V8", `true`, "must be a number"},
		{"V9", `{"a":[1,2]}`, "must be a number"},
		{"V10", `[1]`, "must be a number"},
		{"Amount", `""`, "must be a number"},
		{"transaction_id", `12`, "must be a string"},
		{"transaction_id", `null`, "must be a string"},
		{"transaction_id", `false`, "must be a string"},
		{"transaction_id", `["a"]`, "must be a string"},
		{"transaction_id", `{"id":"a"}`, "must be a string"},
	} {
		_, details := mustDecode(t, body(map[string]string{tc.field: tc.raw}))
		if got, want := problems(t, details), map[string]string{tc.field: tc.want}; !sameProblems(got, want) {
			t.Errorf("%s=%s: got %v, want %v", tc.field, tc.raw, got, want)
			continue
		}
		var want any
		if err := json.Unmarshal([]byte(tc.raw), &want); err != nil {
			t.Fatal(err)
		}
		if got := mustJSON(t, details[0]["value"]); got != mustJSON(t, want) {
			t.Errorf("%s=%s: echoed %s, want the value as sent", tc.field, tc.raw, got)
		}
	}
}

// TestTransactionIDPattern checks ^[A-Za-z0-9_.:-]{1,64}$ character by character and at its
// lengths.
func TestTransactionIDPattern(t *testing.T) {
	const (
		chars  = "may contain only letters, digits and _-.:"
		length = "must be 1 to 64 characters long"
	)
	allowed := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-"
	for _, c := range allowed {
		if _, details := mustDecode(t, body(map[string]string{"transaction_id": strconv.Quote("x" + string(c))})); len(details) > 0 {
			t.Errorf("%q: got %v, want accepted", "x"+string(c), details)
		}
	}
	for c := rune(0x20); c < 0x7f; c++ {
		if strings.ContainsRune(allowed, c) {
			continue
		}
		id := "x" + string(c) + "y"
		_, details := mustDecode(t, body(map[string]string{"transaction_id": strconv.Quote(id)}))
		if got, want := problems(t, details), map[string]string{"transaction_id": chars}; !sameProblems(got, want) {
			t.Errorf("%q: got %v, want %v", id, got, want)
		}
	}
	for _, tc := range []struct{ raw, want, id string }{
		{`"é"`, chars, ""},
		{`"a\u00e9"`, chars, ""},
		{`"a\tb"`, chars, ""},
		{`"a\u0000"`, chars, ""},
		{`"\u0041-1"`, "", "A-1"},
		{`"a"`, "", "a"},
		{strconv.Quote(strings.Repeat("x", 64)), "", strings.Repeat("x", 64)},
		{`""`, length, ""},
		{strconv.Quote(strings.Repeat("x", 65)), length, ""},
	} {
		tx, details := mustDecode(t, body(map[string]string{"transaction_id": tc.raw}))
		want := map[string]string{}
		if tc.want != "" {
			want["transaction_id"] = tc.want
		}
		if got := problems(t, details); !sameProblems(got, want) {
			t.Errorf("%.70s: got %v, want %v", tc.raw, got, want)
		}
		if tx.ID != tc.id {
			t.Errorf("%.70s: got id %q, want %q", tc.raw, tx.ID, tc.id)
		}
	}
}

// TestOversizedValues checks values far over what a field allows: refused, echoed cut to
// MaxEchoedValue bytes, never kept.
func TestOversizedValues(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	cut := strings.Repeat("x", MaxEchoedValue) + "…"
	for _, tc := range []struct {
		name, field, raw, extra, want string
	}{
		{"long id", "transaction_id", strconv.Quote(huge), "", "must be 1 to 64 characters long"},
		{"long escaped id", "transaction_id", `"` + strings.Repeat(`\u0078`, 1000) + `"`, "", "must be 1 to 64 characters long"},
		{"long unknown value", "note", "", `"note":"` + huge + `"`, "unknown field"},
		{"long string for a number", "V5", strconv.Quote(huge), "", "must be a number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := map[string]string{}
			if tc.raw != "" {
				set[tc.field] = tc.raw
			}
			tx, details := mustDecode(t, body(set, tc.extra))
			if got, want := problems(t, details), map[string]string{tc.field: tc.want}; !sameProblems(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			// A string is echoed decoded: its first MaxEchoedValue bytes and an ellipsis.
			if v, _ := details[0]["value"].(string); v != cut {
				t.Errorf("echoed %d bytes (%.20q...), want the first %d of the value and an ellipsis", len(v), v, MaxEchoedValue)
			}
			if tx.ID != "" {
				t.Errorf("kept id of %d bytes, want none", len(tx.ID))
			}
		})
	}
	// A string whose JSON text, quotes included, is just over the cap is echoed whole.
	for _, n := range []int{MaxEchoedValue - 1, MaxEchoedValue} {
		s := strings.Repeat("y", n)
		_, details := mustDecode(t, body(nil, `"note":"`+s+`"`))
		if v, _ := details[0]["value"].(string); v != s {
			t.Errorf("unknown field with %d characters: echoed %q, want %q", n, v, s)
		}
	}
	// A long value of another kind is echoed as the start of its JSON text.
	_, details := mustDecode(t, body(nil, `"list":[`+strings.Repeat("1,", 1000)+`1]`))
	if v, _ := details[0]["value"].(string); v != "["+strings.Repeat("1,", (MaxEchoedValue-1)/2)+"1…" {
		t.Errorf("long array: echoed %.80v, want its first %d bytes and an ellipsis", details[0]["value"], MaxEchoedValue)
	}
	// A cut never splits a character.
	if got := Truncate(strings.Repeat("é", 40)); got != strings.Repeat("é", MaxEchoedValue/2)+"…" {
		t.Errorf("Truncate of 40 é: got %q", got)
	}
	if got := Truncate("short"); got != "short" {
		t.Errorf("Truncate(short): got %q", got)
	}
}

// TestEveryErrorCollected checks that one body with a problem in every field gets one detail
// per field, in the order of the body, missing fields last — not only the first.
func TestEveryErrorCollected(t *testing.T) {
	set := map[string]string{
		"Time":           "-1",
		"Amount":         "1e9",
		"V3":             `"x"`,
		"V4":             "1e400",
		"V5":             omit,
		"V28":            omit,
		"transaction_id": `"a b"`,
	}
	for i := 6; i <= 27; i++ {
		set["V"+strconv.Itoa(i)] = "null"
	}
	_, details := mustDecode(t, body(set, `"zz":0`, `"V1":7`))
	var want [][2]string
	for _, name := range fraud.FeatureNames() {
		switch {
		case name == "Time":
			want = append(want, [2]string{name, "must be >= 0"})
		case name == "Amount":
			want = append(want, [2]string{name, "must be between 0 and 100000"})
		case name == "V3":
			want = append(want, [2]string{name, "must be a number"})
		case name == "V4":
			want = append(want, [2]string{name, "must be a finite number"})
		case set[name] == "null":
			want = append(want, [2]string{name, "must be a number"})
		}
	}
	want = append(want,
		[2]string{"transaction_id", "may contain only letters, digits and _-.:"},
		[2]string{"zz", "unknown field"},
		[2]string{"V1", "duplicate field"},
		[2]string{"V5", "is required"},
		[2]string{"V28", "is required"})
	var got [][2]string
	for _, d := range details {
		got = append(got, [2]string{fmt.Sprint(d["field"]), fmt.Sprint(d["problem"])})
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %d details %v,\nwant %d %v", len(got), got, len(want), want)
	}
	// The caller's slice is appended to, not replaced.
	d := Decoder{Fields: NewFields()}
	d.Reset(body(map[string]string{"Time": "-1"}))
	var tx fraud.Transaction
	prior := []fraud.Detail{{"field": "earlier"}}
	details, err := d.Transaction(&tx, prior)
	if err != nil || len(details) != 2 || details[0]["field"] != "earlier" || details[1]["field"] != "Time" {
		t.Errorf("got %v, %v; want the earlier detail then Time's", details, err)
	}
}

func TestMalformed(t *testing.T) {
	valid := body(nil)
	tests := []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"spaces", "   "},
		{"array", "[1,2]"},
		{"string", `"x"`},
		{"null", `null`},
		{"truncated", string(valid[:len(valid)/2])},
		{"truncated in a key", `{"Ti`},
		{"truncated after a key", `{"Time"`},
		{"truncated after a colon", `{"Time":`},
		{"no closing brace", string(valid[:len(valid)-1])},
		{"trailing data", string(valid) + "{}"},
		{"trailing comma", `{"Time":0,}`},
		{"missing comma", `{"Time":0 "V1":1}`},
		{"single quotes", `{'Time':0}`},
		{"bare key", `{Time:0}`},
		{"bare word", `{"Time":NaN}`},
		{"leading zero", `{"Time":01}`},
		{"plus sign", `{"Time":+1}`},
		{"dot only", `{"Time":1.}`},
		{"bad literal", `{"x":nul}`},
		{"bad escape", `{"transaction_id":"\x"}`},
		{"short unicode escape", `{"transaction_id":"\u00"}`},
		{"control char", "{\"transaction_id\":\"a\nb\"}"},
		{"bad utf8", "{\"transaction_id\":\"\xff\"}"},
		{"bad utf8 in a key", "{\"\xfe\":1}"},
		{"unclosed string", `{"transaction_id":"abc`},
		{"deep nesting", `{"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`},
		{"deep objects", `{"x":` + strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100) + `}`},
		{"missing colon", `{"Time" 0}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decode([]byte(tc.body))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a syntax error", err)
			}
			if se.Offset < 0 || se.Offset > len(tc.body) {
				t.Errorf("got offset %d, want within 0..%d", se.Offset, len(tc.body))
			}
			if se.Problem == "" || !strings.Contains(se.Error(), strconv.Itoa(se.Offset)) {
				t.Errorf("got %q, want a problem and its offset", se.Error())
			}
		})
	}
}

// TestDecodeAllocatesNothing backs the README's "decoding one transaction: 0 allocations (1
// when transaction_id is given: the string kept)".
func TestDecodeAllocatesNothing(t *testing.T) {
	fields := NewFields()
	for _, tc := range []struct {
		name string
		body []byte
		want float64
	}{
		{"without transaction_id", body(nil), 0},
		{"with transaction_id", body(map[string]string{"transaction_id": `"txn-1"`}), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tx fraud.Transaction
			errs := make([]fraud.Detail, 0, 4)
			var err error
			allocs := testing.AllocsPerRun(100, func() {
				d := Decoder{Fields: fields}
				d.Reset(tc.body)
				var details []fraud.Detail
				details, err = d.Transaction(&tx, errs[:0])
				if err == nil && len(details) > 0 {
					err = fmt.Errorf("details %v", details)
				}
			})
			if err != nil {
				t.Fatalf("got %v, want a valid body", err)
			}
			if allocs != tc.want {
				t.Errorf("got %v allocations per decode, want %v", allocs, tc.want)
			}
		})
	}
}

// fakeInspector finds an attack in every string that contains "ATTACK".
type fakeInspector struct{ seen []string }

func (f *fakeInspector) InspectString(location, value string) (detect.Finding, bool) {
	f.seen = append(f.seen, location+"="+value)
	if strings.Contains(value, "ATTACK") {
		return detect.Finding{Rule: detect.RuleSQLi, Location: location, Evidence: value}, true
	}
	return detect.Finding{}, false
}

// TestInspection checks that every string reaches the detector — values, unknown keys, strings
// nested in unknown values — before validation, and what each mode does with a finding.
func TestInspection(t *testing.T) {
	b := body(map[string]string{"transaction_id": `"id ATTACK"`}, `"x ATTACK":1`, `"meta":{"k ATTACK":["v ATTACK"]}`)
	t.Run("stop", func(t *testing.T) {
		ins := &fakeInspector{}
		d := Decoder{Fields: NewFields(), Detector: ins, StopOnAttack: true}
		d.Reset(b)
		var tx fraud.Transaction
		_, err := d.Transaction(&tx, nil)
		var ae *AttackError
		if !errors.As(err, &ae) || ae.Finding.Location != "json:transaction_id" || ae.Error() != "attack in json:transaction_id" {
			t.Fatalf("got %v, want an attack in json:transaction_id", err)
		}
	})
	t.Run("record", func(t *testing.T) {
		ins := &fakeInspector{}
		d := Decoder{Fields: NewFields(), Detector: ins}
		d.Reset(b)
		var tx fraud.Transaction
		details, err := d.Transaction(&tx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if f := d.Finding(); f == nil || f.Location != "json:transaction_id" {
			t.Errorf("got finding %v, want the first one, in json:transaction_id", f)
		}
		want := []string{"json:transaction_id=id ATTACK", "json:x ATTACK=x ATTACK", "json:meta=meta", "json:meta=k ATTACK", "json:meta=v ATTACK"}
		if !slices.Equal(ins.seen, want) {
			t.Errorf("inspected %q, want %q", ins.seen, want)
		}
		// Decoding went on: the bad id and the unknown fields are still reported.
		if got := problems(t, details); len(got) != 3 || got["transaction_id"] == "" || got["x ATTACK"] != "unknown field" || got["meta"] != "unknown field" {
			t.Errorf("got %v, want the id and two unknown fields", got)
		}
		d.Reset(body(nil))
		if d.Finding() != nil {
			t.Errorf("Reset kept the finding")
		}
	})
}

func TestBatch(t *testing.T) {
	row := string(body(nil))
	bad := string(body(map[string]string{"Amount": "-1", "V2": omit}))
	t.Run("items", func(t *testing.T) {
		b := `{"transactions":[` + row + "," + bad + "," + string(body(map[string]string{"transaction_id": `"t3"`})) + "]}"
		d := Decoder{Fields: NewFields()}
		d.Reset([]byte(b))
		var txs []fraud.Transaction
		var errs [][]fraud.Detail
		n, err := d.Batch(&txs, &errs, 10)
		if err != nil || n != 3 || len(txs) != 3 || len(errs) != 3 {
			t.Fatalf("got n %d, %d txs, %d errs, err %v; want 3 of each", n, len(txs), len(errs), err)
		}
		if len(errs[0]) != 0 || len(errs[2]) != 0 || txs[2].ID != "t3" || txs[0].Features != firstRow {
			t.Errorf("valid items: got %v, %v, %+v", errs[0], errs[2], txs[2])
		}
		if got, want := problems(t, errs[1]), map[string]string{"Amount": "must be between 0 and 100000", "V2": "is required"}; !sameProblems(got, want) {
			t.Errorf("second item: got %v, want %v", got, want)
		}
	})
	t.Run("over the limit", func(t *testing.T) {
		b := `{"transactions":[` + strings.Repeat(row+",", 4) + row + "]}"
		d := Decoder{Fields: NewFields()}
		d.Reset([]byte(b))
		var txs []fraud.Transaction
		var errs [][]fraud.Detail
		n, err := d.Batch(&txs, &errs, 2)
		if err != nil || n != 5 || len(txs) != 2 {
			t.Errorf("got n %d, %d kept, err %v; want 5 sent, 2 kept", n, len(txs), err)
		}
	})
	for _, tc := range []struct {
		name, body, field, problem string
	}{
		{"empty object", `{}`, "transactions", "is required"},
		{"other key", `{"rows":[]}`, "rows", "unknown field"},
		{"repeated key", `{"transactions":[],"transactions":[]}`, "transactions", "duplicate field"},
		{"not an array", `{"transactions":{"Time":0}}`, "transactions", "must be an array of transactions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decoder{Fields: NewFields()}
			d.Reset([]byte(tc.body))
			var txs []fraud.Transaction
			var errs [][]fraud.Detail
			_, err := d.Batch(&txs, &errs, 10)
			var ee *EnvelopeError
			if !errors.As(err, &ee) || ee.Detail["field"] != tc.field || ee.Detail["problem"] != tc.problem {
				t.Errorf("got %v, want %s %s", err, tc.field, tc.problem)
			}
		})
	}
	for _, malformed := range []string{``, `[]`, `{"transactions":[` + row, `{"transactions":[` + row + `]`, `{"transactions":[]}x`, `{"transactions":[1 2]}`} {
		d := Decoder{Fields: NewFields()}
		d.Reset([]byte(malformed))
		var txs []fraud.Transaction
		var errs [][]fraud.Detail
		_, err := d.Batch(&txs, &errs, 10)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%.60q: got %v, want a syntax error", malformed, err)
		}
	}
}

// FuzzDecodeTransaction checks the decoder against encoding/json: it never panics, it accepts
// only valid JSON, and the numbers it accepts are the ones encoding/json reads.
func FuzzDecodeTransaction(f *testing.F) {
	f.Add(body(nil))
	f.Add(body(map[string]string{"transaction_id": `"t-1"`}))
	f.Add(body(map[string]string{"Amount": "-1", "V2": `"x"`}, `"q":[1,{"a":null}]`))
	f.Add([]byte(`{"V\u0031":1e400,"transaction_id":"\ud83d\ude00"}`))
	f.Add([]byte(`{"Time":-0.0e-0}`))
	f.Add([]byte(`[]`))
	fields := NewFields()
	f.Fuzz(func(t *testing.T, b []byte) {
		d := Decoder{Fields: fields}
		d.Reset(b)
		var tx fraud.Transaction
		details, err := d.Transaction(&tx, nil)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("got error of type %T, want *SyntaxError", err)
			}
			return
		}
		if !json.Valid(b) {
			t.Fatalf("decoder accepted invalid JSON %q", b)
		}
		if len(details) > 0 {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("encoding/json refuses what the decoder accepted: %v", err)
		}
		for i, name := range fraud.FeatureNames() {
			if got, want := tx.Features[i], m[name]; got != want {
				t.Fatalf("%s: got %v, encoding/json reads %v", name, got, want)
			}
		}
		if id, ok := m["transaction_id"]; ok && id != tx.ID {
			t.Fatalf("transaction_id: got %q, encoding/json reads %q", tx.ID, id)
		}
	})
}
