package txjson

import (
	"math"
	"strconv"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

// Explain is what a request asked of explanations (see Decoder.AllowExplain).
type Explain struct {
	// On is the value of "explain": true asks for an explanation.
	On bool
	// TopK is the value of "explain_top_k", or wire.DefaultExplainTopK when it was not given.
	TopK int
}

// Explain returns the explain keys of the last body decoded, with TopK defaulted.
func (d *Decoder) Explain() Explain {
	e := d.explain
	if e.TopK == 0 {
		e.TopK = wire.DefaultExplainTopK
	}
	return e
}

// explainKeys are the names of the explain keys, in the order explainKey numbers them.
var explainKeys = [2]string{"explain", "explain_top_k"}

// explainLocs are the keys' locations for attack findings.
var explainLocs = [2]string{"json:explain", "json:explain_top_k"}

// explainKey returns the position of key in explainKeys, or -1.
func explainKey(key []byte) int {
	for i, k := range explainKeys {
		if string(key) == k {
			return i
		}
	}
	return -1
}

// topKProblem is the problem of a bad explain_top_k.
var topKProblem = "must be an integer between 1 and " + strconv.Itoa(wire.MaxExplainTopK)

// explainValue decodes the value of explain key ek at d.pos into d.explain. A bad value is
// returned as a field detail; malformed JSON as the error.
func (d *Decoder) explainValue(ek int) (fraud.Detail, error) {
	start := d.pos
	if d.pos >= len(d.buf) {
		return nil, d.fail("unexpected end of JSON: value expected")
	}
	c := d.buf[d.pos]
	if ek == 0 {
		switch c {
		case 't':
			if err := d.literal("true"); err != nil {
				return nil, err
			}
			d.explain.On = true
			return nil, nil
		case 'f':
			if err := d.literal("false"); err != nil {
				return nil, err
			}
			d.explain.On = false
			return nil, nil
		}
		if err := d.skipValue(0); err != nil {
			return nil, err
		}
		return fraud.FieldError(explainKeys[0], "must be true or false", d.echo(start)), nil
	}
	if c == '-' || (c >= '0' && c <= '9') {
		v, err := d.number()
		if err != nil {
			return nil, err
		}
		if v != math.Trunc(v) || v < 1 || v > wire.MaxExplainTopK {
			return fraud.FieldError(explainKeys[1], topKProblem, d.echo(start)), nil
		}
		d.explain.TopK = int(v)
		return nil, nil
	}
	if err := d.skipValue(0); err != nil {
		return nil, err
	}
	return fraud.FieldError(explainKeys[1], topKProblem, d.echo(start)), nil
}
