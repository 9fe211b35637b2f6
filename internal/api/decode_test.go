package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/internal/txjson"
)

// firstRow is the first transaction of creditcard.csv.
var firstRow = [fraud.NumFeatures]float64{0, -1.3598071336738, -0.0727811733098497, 2.53634673796914,
	1.37815522427443, -0.338320769942518, 0.462387777762292, 0.239598554061257, 0.0986979012610507,
	0.363786969611213, 0.0907941719789316, -0.551599533260813, -0.617800855762348, -0.991389847235408,
	-0.311169353699879, 1.46817697209427, -0.470400525259478, 0.207971241929242, 0.0257905801985591,
	0.403992960255733, 0.251412098239705, -0.018306777944153, 0.277837575558899, -0.110473910188767,
	0.0669280749146731, 0.128539358273528, -0.189114843888824, 0.133558376740387, -0.0210530534538215,
	149.62}

// txBody renders a transaction body; edit changes or (with a nil value) removes fields, and
// extra is appended raw before the closing brace.
func txBody(features [fraud.NumFeatures]float64, edit map[string]any, extra string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	names := fraud.FeatureNames()
	for i, name := range names {
		v, edited := edit[name]
		if edited && v == nil {
			continue
		}
		sep()
		b.WriteString(strconv.Quote(name) + ":")
		if edited {
			if raw, ok := v.(json.RawMessage); ok {
				b.Write(raw)
			} else {
				j, _ := json.Marshal(v)
				b.Write(j)
			}
			continue
		}
		b.WriteString(strconv.FormatFloat(features[i], 'g', -1, 64))
	}
	if id, ok := edit["transaction_id"]; ok && id != nil {
		sep()
		j, _ := json.Marshal(id)
		b.WriteString(`"transaction_id":`)
		b.Write(j)
	}
	if extra != "" {
		sep()
		b.WriteString(extra)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func mustDecode(t testing.TB, body []byte) (fraud.Transaction, []fraud.Detail, error) {
	t.Helper()
	d := txjson.Decoder{Fields: txjson.NewFields()}
	d.Reset(body)
	var tx fraud.Transaction
	details, err := d.Transaction(&tx, nil)
	return tx, details, err
}

func problems(details []fraud.Detail) map[string]string {
	out := make(map[string]string)
	for _, d := range details {
		out[fmt.Sprint(d["field"])] = fmt.Sprint(d["problem"])
	}
	return out
}

func TestDecodeValid(t *testing.T) {
	tx, details, err := mustDecode(t, txBody(firstRow, map[string]any{"transaction_id": "abc-1:2.3_x"}, ""))
	if err != nil || len(details) > 0 {
		t.Fatalf("got err %v, details %v; want none", err, details)
	}
	if tx.Features != firstRow {
		t.Errorf("got features %v, want %v", tx.Features, firstRow)
	}
	if tx.ID != "abc-1:2.3_x" {
		t.Errorf("got id %q, want %q", tx.ID, "abc-1:2.3_x")
	}
}

func TestDecodeFieldErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  map[string]any
		extra string
		want  map[string]string
	}{
		{"negative amount", map[string]any{"Amount": -5}, "", map[string]string{"Amount": "must be between 0 and 100000"}},
		{"amount too high", map[string]any{"Amount": 100000.01}, "", map[string]string{"Amount": "must be between 0 and 100000"}},
		{"negative time", map[string]any{"Time": -1}, "", map[string]string{"Time": "must be >= 0"}},
		{"string number", map[string]any{"V3": "1.5"}, "", map[string]string{"V3": "must be a number"}},
		{"null", map[string]any{"V7": json.RawMessage("null")}, "", map[string]string{"V7": "must be a number"}},
		{"bool", map[string]any{"V8": true}, "", map[string]string{"V8": "must be a number"}},
		{"object", map[string]any{"V9": json.RawMessage(`{"a":[1,2]}`)}, "", map[string]string{"V9": "must be a number"}},
		{"overflow", map[string]any{"V10": json.RawMessage("1e400")}, "", map[string]string{"V10": "must be a finite number"}},
		{"missing", map[string]any{"V1": nil, "Amount": nil}, "", map[string]string{"V1": "is required", "Amount": "is required"}},
		{"unknown", nil, `"Class":1`, map[string]string{"Class": "unknown field"}},
		{"duplicate", nil, `"V1":2`, map[string]string{"V1": "duplicate field"}},
		{"case matters", nil, `"amount":1`, map[string]string{"amount": "unknown field"}},
		{"id bad chars", map[string]any{"transaction_id": "a b<script>"}, "", map[string]string{"transaction_id": "may contain only letters, digits and _-.:"}},
		{"id too long", map[string]any{"transaction_id": strings.Repeat("a", 65)}, "", map[string]string{"transaction_id": "must be 1 to 64 characters long"}},
		{"id empty", map[string]any{"transaction_id": ""}, "", map[string]string{"transaction_id": "must be 1 to 64 characters long"}},
		{"id number", map[string]any{"transaction_id": 12}, "", map[string]string{"transaction_id": "must be a string"}},
		{"every bad field", map[string]any{"Time": -1, "V2": "x", "Amount": 1e9}, `"zz":0`, map[string]string{
			"Time": "must be >= 0", "V2": "must be a number", "Amount": "must be between 0 and 100000", "zz": "unknown field"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, details, err := mustDecode(t, txBody(firstRow, tc.edit, tc.extra))
			if err != nil {
				t.Fatalf("got syntax error %v, want field errors", err)
			}
			if got := problems(details); !mapsEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for _, d := range details {
				if d["problem"] != "is required" {
					if _, ok := d["value"]; !ok {
						t.Errorf("detail %v has no value", d)
					}
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestDecodeEscapedKeyAndBoundaries(t *testing.T) {
	body := bytes.Replace(txBody(firstRow, map[string]any{"Amount": 0, "Time": 0}, ""), []byte(`"V1"`), []byte(`"V\u0031"`), 1)
	tx, details, err := mustDecode(t, body)
	if err != nil || len(details) > 0 {
		t.Fatalf("got err %v, details %v; want none", err, details)
	}
	if tx.Features[1] != firstRow[1] {
		t.Errorf("got V1 %v, want %v", tx.Features[1], firstRow[1])
	}
	_, details, _ = mustDecode(t, txBody(firstRow, map[string]any{"Amount": 100000}, ""))
	if len(details) != 0 {
		t.Errorf("Amount 100000: got %v, want it accepted", details)
	}
}

func TestDecodeMalformed(t *testing.T) {
	valid := txBody(firstRow, nil, "")
	tests := []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"spaces", "   "},
		{"array", "[1,2]"},
		{"string", `"x"`},
		{"truncated", string(valid[:len(valid)/2])},
		{"no closing brace", string(valid[:len(valid)-1])},
		{"trailing data", string(valid) + "{}"},
		{"trailing comma", `{"Time":0,}`},
		{"single quotes", `{'Time':0}`},
		{"bare word", `{"Time":NaN}`},
		{"leading zero", `{"Time":01}`},
		{"plus sign", `{"Time":+1}`},
		{"dot only", `{"Time":1.}`},
		{"bad escape", `{"transaction_id":"\x"}`},
		{"control char", "{\"transaction_id\":\"a\nb\"}"},
		{"bad utf8", "{\"transaction_id\":\"\xff\"}"},
		{"deep nesting", `{"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`},
		{"missing colon", `{"Time" 0}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := mustDecode(t, []byte(tc.body))
			var se *txjson.SyntaxError
			if !asSyntax(err, &se) {
				t.Fatalf("got %v, want a syntax error", err)
			}
			if se.Offset < 0 || se.Offset > len(tc.body) {
				t.Errorf("got offset %d, want within 0..%d", se.Offset, len(tc.body))
			}
		})
	}
}

func asSyntax(err error, se **txjson.SyntaxError) bool {
	e, ok := err.(*txjson.SyntaxError)
	*se = e
	return ok
}

func TestDecodeAllocatesNothing(t *testing.T) {
	body := txBody(firstRow, map[string]any{"transaction_id": "txn-1"}, "")
	fields := txjson.NewFields()
	var tx fraud.Transaction
	allocs := testing.AllocsPerRun(100, func() {
		d := txjson.Decoder{Fields: fields}
		d.Reset(body)
		if _, err := d.Transaction(&tx, nil); err != nil {
			t.Fatal(err)
		}
	})
	// The only allocation is the transaction_id string the caller keeps.
	if allocs > 1 {
		t.Errorf("got %v allocations per decode, want at most 1", allocs)
	}
}

// TestDecoderAgreesWithDocument checks, field by field, that the OpenAPI schema of the request
// and the decoder enforce the same rules: required fields, bounds, types, the pattern and
// unknown fields.
func TestDecoderAgreesWithDocument(t *testing.T) {
	doc, err := OpenAPIDocument("test")
	if err != nil {
		t.Fatal(err)
	}
	schema := doc["components"].(obj)["schemas"].(obj)["TransactionRequest"].(obj)
	props := schema["properties"].(obj)
	if schema["additionalProperties"] != false {
		t.Errorf("got additionalProperties %v, want false", schema["additionalProperties"])
	}
	var required []string
	for _, r := range schema["required"].([]any) {
		required = append(required, r.(string))
	}
	if len(props) != len(fraud.TransactionFields()) {
		t.Fatalf("got %d documented properties, want %d", len(props), len(fraud.TransactionFields()))
	}
	for name, p := range props {
		p := p.(obj)
		t.Run(name, func(t *testing.T) {
			// Leaving the field out is an error exactly when the document says it is required.
			_, details, _ := mustDecode(t, txBody(firstRow, map[string]any{name: nil}, ""))
			gotRequired := problems(details)[name] == "is required"
			if want := slices.Contains(required, name); gotRequired != want {
				t.Errorf("decoder requires it: %v; document: %v", gotRequired, want)
			}
			switch p["type"] {
			case "number":
				for _, bound := range []string{"minimum", "maximum"} {
					b, ok := p[bound].(float64)
					step := 1e-6
					if bound == "minimum" {
						step = -step
					}
					// Just past a documented bound is refused, the bound itself accepted.
					if ok {
						if pr := problems(decodeWith(t, name, b+step)); pr[name] == "" {
							t.Errorf("%v just past %s %v accepted", b+step, bound, b)
						}
						if pr := problems(decodeWith(t, name, b)); pr[name] != "" {
							t.Errorf("%s %v refused: %s", bound, b, pr[name])
						}
					} else if far := math.Copysign(1e300, step); problems(decodeWith(t, name, far))[name] != "" {
						t.Errorf("no %s documented but %v refused", bound, far)
					}
				}
				if pr := problems(decodeWith(t, name, "1")); pr[name] == "" {
					t.Errorf("a string accepted for a number field")
				}
			case "string":
				re := regexp.MustCompile(p["pattern"].(string))
				minLen, maxLen := int(p["minLength"].(float64)), int(p["maxLength"].(float64))
				for _, s := range []string{"a", "A-b_c.d:9", "", strings.Repeat("x", 64), strings.Repeat("x", 65), "a b", "é", "<x>", "a/b"} {
					docOK := re.MatchString(s) && len(s) >= minLen && len(s) <= maxLen
					decOK := problems(decodeWith(t, name, s))[name] == ""
					if docOK != decOK {
						t.Errorf("%q: document allows %v, decoder allows %v", s, docOK, decOK)
					}
				}
			default:
				t.Fatalf("undocumented type %v", p["type"])
			}
		})
	}
	_, details, _ := mustDecode(t, txBody(firstRow, nil, `"extra":1`))
	if problems(details)["extra"] != "unknown field" {
		t.Errorf("unknown field accepted")
	}
}

func decodeWith(t *testing.T, name string, v any) []fraud.Detail {
	t.Helper()
	_, details, err := mustDecode(t, txBody(firstRow, map[string]any{name: v}, ""))
	if err != nil {
		t.Fatalf("%s=%v: syntax error %v", name, v, err)
	}
	return details
}

// FuzzDecodeTransaction checks the decoder against encoding/json: it never panics, it accepts
// only valid JSON, and the numbers it accepts are the ones encoding/json reads.
func FuzzDecodeTransaction(f *testing.F) {
	f.Add(txBody(firstRow, nil, ""))
	f.Add(txBody(firstRow, map[string]any{"transaction_id": "t-1"}, ""))
	f.Add(txBody(firstRow, map[string]any{"Amount": -1, "V2": "x"}, `"q":[1,{"a":null}]`))
	f.Add([]byte(`{"V\u0031":1e400,"transaction_id":"\ud83d\ude00"}`))
	f.Add([]byte(`{"Time":-0.0e-0}`))
	f.Add([]byte(`[]`))
	fields := txjson.NewFields()
	f.Fuzz(func(t *testing.T, body []byte) {
		d := txjson.Decoder{Fields: fields}
		d.Reset(body)
		var tx fraud.Transaction
		details, err := d.Transaction(&tx, nil)
		if err != nil {
			if _, ok := err.(*txjson.SyntaxError); !ok {
				t.Fatalf("got error of type %T, want *txjson.SyntaxError", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("decoder accepted invalid JSON %q", body)
		}
		if len(details) > 0 {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
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
