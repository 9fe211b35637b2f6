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

// mustDecode decodes body with the decoder the server uses and fails the test on malformed
// JSON. The decoder's own tests are in internal/txjson; these helpers serve the comparison with
// the OpenAPI document below.
func mustDecode(t testing.TB, body []byte) (fraud.Transaction, []fraud.Detail) {
	t.Helper()
	d := txjson.Decoder{Fields: txjson.NewFields()}
	d.Reset(body)
	var tx fraud.Transaction
	details, err := d.Transaction(&tx, nil)
	if err != nil {
		t.Fatalf("decoding %.200q: got error %v, want none", body, err)
	}
	return tx, details
}

func problems(details []fraud.Detail) map[string]string {
	out := make(map[string]string)
	for _, d := range details {
		out[fmt.Sprint(d["field"])] = fmt.Sprint(d["problem"])
	}
	return out
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
			_, details := mustDecode(t, txBody(firstRow, map[string]any{name: nil}, ""))
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
	_, details := mustDecode(t, txBody(firstRow, nil, `"extra":1`))
	if problems(details)["extra"] != "unknown field" {
		t.Errorf("unknown field accepted")
	}
}

func decodeWith(t *testing.T, name string, v any) []fraud.Detail {
	t.Helper()
	_, details := mustDecode(t, txBody(firstRow, map[string]any{name: v}, ""))
	return details
}

// TestPredictRequestAgreesWithDocument checks that the documented body of /predict is the
// transaction's fields plus explain and explain_top_k, and that the decoder the server uses
// enforces the documented types and bounds of those two.
func TestPredictRequestAgreesWithDocument(t *testing.T) {
	doc, err := OpenAPIDocument("test")
	if err != nil {
		t.Fatal(err)
	}
	schemas := doc["components"].(obj)["schemas"].(obj)
	schema := schemas["PredictRequest"].(obj)
	props := schema["properties"].(obj)
	if schema["additionalProperties"] != false {
		t.Errorf("got additionalProperties %v, want false", schema["additionalProperties"])
	}
	tx := schemas["TransactionRequest"].(obj)
	for name := range tx["properties"].(obj) {
		if _, ok := props[name]; !ok {
			t.Errorf("transaction field %s missing from PredictRequest", name)
		}
	}
	if want := len(tx["properties"].(obj)) + 2; len(props) != want {
		t.Errorf("got %d properties, want %d", len(props), want)
	}
	if !slices.Equal(schema["required"].([]any), tx["required"].([]any)) {
		t.Errorf("got required %v, want the transaction's %v", schema["required"], tx["required"])
	}
	decode := func(extra string) map[string]string {
		d := txjson.Decoder{Fields: txjson.NewFields(), AllowExplain: true}
		body := txBody(firstRow, nil, extra)
		d.Reset(body)
		var tx fraud.Transaction
		details, err := d.Transaction(&tx, nil)
		if err != nil {
			t.Fatalf("decoding %.200q: got error %v, want none", body, err)
		}
		return problems(details)
	}
	if p := props["explain"].(obj); p["type"] != "boolean" {
		t.Errorf("explain: got type %v, want boolean", p["type"])
	}
	for v, ok := range map[string]bool{"true": true, "false": true, "1": false, `"true"`: false, "null": false} {
		if got := decode(`"explain":` + v)["explain"] == ""; got != ok {
			t.Errorf("explain %s: decoder accepts %v, want %v", v, got, ok)
		}
	}
	p := props["explain_top_k"].(obj)
	lo, hi := p["minimum"].(float64), p["maximum"].(float64)
	if p["type"] != "integer" || p["default"] != float64(5) {
		t.Errorf("explain_top_k: got type %v default %v, want integer 5", p["type"], p["default"])
	}
	for _, v := range []float64{lo - 1, lo, lo + 0.5, hi, hi + 1} {
		docOK := v >= lo && v <= hi && v == math.Trunc(v)
		decOK := decode(`"explain_top_k":` + strconv.FormatFloat(v, 'g', -1, 64))["explain_top_k"] == ""
		if docOK != decOK {
			t.Errorf("explain_top_k %v: document allows %v, decoder allows %v", v, docOK, decOK)
		}
	}
	batch := schemas["PredictBatchRequest"].(obj)["properties"].(obj)
	for _, name := range []string{"explain", "explain_top_k"} {
		if _, ok := batch[name]; !ok {
			t.Errorf("PredictBatchRequest does not document %s", name)
		}
	}
}
