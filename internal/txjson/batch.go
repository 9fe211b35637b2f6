package txjson

import "github.com/fraudguard/fraudguard/internal/fraud"

// Batch decodes a body of the form {"transactions": [...]}, the whole of the buffer, item by
// item. It keeps at most limit items, growing *txs and *errs as needed, with each item's field
// problems in (*errs)[i]; the items past limit are checked and counted but not kept. It
// returns the number of items sent, which the caller compares with limit.
//
// Malformed JSON is returned as a *SyntaxError, an attack as an *AttackError, and a problem
// with the envelope itself (a missing, repeated or unknown key, or transactions not being an
// array) as an *EnvelopeError.
func (d *Decoder) Batch(txs *[]fraud.Transaction, errs *[][]fraud.Detail, limit int) (int, error) {
	d.skipSpace()
	if !d.consume('{') {
		return 0, d.fail("expected a JSON object {\"transactions\": [...]}")
	}
	n, seen := 0, false
	var seenExplain [2]bool
	d.skipSpace()
	if d.consume('}') {
		return 0, &EnvelopeError{fraud.Detail{"field": "transactions", "problem": "is required"}}
	}
	for {
		d.skipSpace()
		key, err := d.stringBytes()
		if err != nil {
			return 0, err
		}
		d.skipSpace()
		if !d.consume(':') {
			return 0, d.fail("expected ':' after an object key")
		}
		d.skipSpace()
		if ek := -1; d.AllowExplain {
			if ek = explainKey(key); ek >= 0 {
				if seenExplain[ek] {
					return 0, &EnvelopeError{fraud.Detail{"field": explainKeys[ek], "problem": "duplicate field"}}
				}
				seenExplain[ek] = true
				d.loc = explainLocs[ek]
				detail, err := d.explainValue(ek)
				if err != nil {
					return 0, err
				}
				if detail != nil {
					return 0, &EnvelopeError{detail}
				}
				d.skipSpace()
				if d.consume(',') {
					continue
				}
				if !d.consume('}') {
					return 0, d.fail("expected ',' or '}' after an object value")
				}
				break
			}
		}
		switch {
		case string(key) != "transactions":
			name := Truncate(string(key))
			start := d.pos
			if err := d.skipValue(0); err != nil {
				return 0, err
			}
			return 0, &EnvelopeError{fraud.FieldError(name, "unknown field", d.echo(start))}
		case seen:
			return 0, &EnvelopeError{fraud.Detail{"field": "transactions", "problem": "duplicate field"}}
		}
		seen = true
		if !d.consume('[') {
			start := d.pos
			if err := d.skipValue(0); err != nil {
				return 0, err
			}
			return 0, &EnvelopeError{fraud.FieldError("transactions", "must be an array of transactions", d.echo(start))}
		}
		d.skipSpace()
		if !d.consume(']') {
			for {
				if n >= limit {
					// Count the rest without keeping it, to say how many were sent.
					if err := d.skipValue(0); err != nil {
						return 0, err
					}
				} else {
					if n == len(*txs) {
						*txs = append(*txs, fraud.Transaction{})
						*errs = append(*errs, nil)
					}
					(*errs)[n], err = d.object(&(*txs)[n], (*errs)[n][:0], false)
					if err != nil {
						return 0, err
					}
				}
				n++
				d.skipSpace()
				if d.consume(',') {
					d.skipSpace()
					continue
				}
				if d.consume(']') {
					break
				}
				return 0, d.fail("expected ',' or ']' in the transactions array")
			}
		}
		d.skipSpace()
		if d.consume(',') {
			continue
		}
		if !d.consume('}') {
			return 0, d.fail("expected ',' or '}' after the transactions array")
		}
		break
	}
	d.skipSpace()
	if d.pos != len(d.buf) {
		return 0, d.fail("unexpected data after the JSON object")
	}
	if !seen {
		return 0, &EnvelopeError{fraud.Detail{"field": "transactions", "problem": "is required"}}
	}
	return n, nil
}
