package xgboost

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// decodeUBJSON decodes one Universal Binary JSON value (the format XGBoost writes for .ubj
// models) into the values decodeJSON produces: map[string]any, []any, string, bool, nil and
// numbers as int64, float32 or float64. Typed arrays of numbers ("[$d#", "[$l#", ...) become
// []float32, []float64 or []int64, which is how XGBoost stores its per-node arrays. Trailing
// bytes after the value are an error.
func decodeUBJSON(data []byte) (any, error) {
	d := ubDecoder{data: data}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(d.data) {
		return nil, fmt.Errorf("ubjson: %d bytes after the value", len(d.data)-d.pos)
	}
	return v, nil
}

// maxUBDepth bounds the nesting of containers.
const maxUBDepth = 64

// errTruncated is returned when the data ends inside a value.
var errTruncated = errors.New("ubjson: truncated: the data ends inside a value")

type ubDecoder struct {
	data []byte
	pos  int
}

func (d *ubDecoder) byte() (byte, error) {
	if d.pos >= len(d.data) {
		return 0, errTruncated
	}
	b := d.data[d.pos]
	d.pos++
	return b, nil
}

func (d *ubDecoder) bytes(n int) ([]byte, error) {
	if n < 0 || n > len(d.data)-d.pos {
		return nil, errTruncated
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

// marker returns the next type marker, skipping no-ops.
func (d *ubDecoder) marker() (byte, error) {
	for {
		m, err := d.byte()
		if err != nil || m != 'N' {
			return m, err
		}
	}
}

func (d *ubDecoder) value(depth int) (any, error) {
	m, err := d.marker()
	if err != nil {
		return nil, err
	}
	return d.typed(m, depth)
}

// typed decodes a value of type m whose marker has been read.
func (d *ubDecoder) typed(m byte, depth int) (any, error) {
	switch m {
	case 'Z':
		return nil, nil
	case 'T':
		return true, nil
	case 'F':
		return false, nil
	case 'i', 'U', 'I', 'l', 'L':
		return d.integer(m)
	case 'd':
		b, err := d.bytes(4)
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
	case 'D':
		b, err := d.bytes(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case 'C':
		b, err := d.byte()
		if err != nil {
			return nil, err
		}
		return string(rune(b)), nil
	case 'S', 'H': // a high-precision number is kept as its decimal string
		return d.str()
	case '[':
		if depth >= maxUBDepth {
			return nil, fmt.Errorf("ubjson: containers nested deeper than %d", maxUBDepth)
		}
		return d.array(depth + 1)
	case '{':
		if depth >= maxUBDepth {
			return nil, fmt.Errorf("ubjson: containers nested deeper than %d", maxUBDepth)
		}
		return d.object(depth + 1)
	}
	return nil, fmt.Errorf("ubjson: unknown type marker %q at byte %d", m, d.pos-1)
}

func (d *ubDecoder) integer(m byte) (int64, error) {
	var size int
	switch m {
	case 'i', 'U':
		size = 1
	case 'I':
		size = 2
	case 'l':
		size = 4
	case 'L':
		size = 8
	default:
		return 0, fmt.Errorf("ubjson: marker %q at byte %d is not an integer type", m, d.pos-1)
	}
	b, err := d.bytes(size)
	if err != nil {
		return 0, err
	}
	switch m {
	case 'i':
		return int64(int8(b[0])), nil
	case 'U':
		return int64(b[0]), nil
	case 'I':
		return int64(int16(binary.BigEndian.Uint16(b))), nil
	case 'l':
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// length reads a length or a count: an integer with its marker, not negative.
func (d *ubDecoder) length() (int, error) {
	m, err := d.marker()
	if err != nil {
		return 0, err
	}
	n, err := d.integer(m)
	if err != nil {
		return 0, err
	}
	if n < 0 || n > math.MaxInt32 {
		return 0, fmt.Errorf("ubjson: length %d at byte %d is out of range", n, d.pos)
	}
	return int(n), nil
}

func (d *ubDecoder) str() (string, error) {
	n, err := d.length()
	if err != nil {
		return "", err
	}
	b, err := d.bytes(n)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// header reads a container's optional element type ('$') and count ('#'); count is -1 when
// the container ends with a closing marker instead.
func (d *ubDecoder) header() (elem byte, count int, err error) {
	count = -1
	if d.pos < len(d.data) && d.data[d.pos] == '$' {
		d.pos++
		if elem, err = d.byte(); err != nil {
			return 0, 0, err
		}
		if d.pos >= len(d.data) || d.data[d.pos] != '#' {
			return 0, 0, fmt.Errorf("ubjson: typed container without a count at byte %d", d.pos)
		}
	}
	if d.pos < len(d.data) && d.data[d.pos] == '#' {
		d.pos++
		if count, err = d.length(); err != nil {
			return 0, 0, err
		}
	}
	if count >= 0 {
		// Every element takes at least a byte, but for types without a payload; bound those
		// too, so that a count cannot make us allocate more than the data could describe.
		limit := len(d.data) - d.pos
		if elem == 'Z' || elem == 'T' || elem == 'F' || elem == 'N' {
			limit = 1 << 20
		}
		if count > limit {
			return 0, 0, errTruncated
		}
	}
	return elem, count, nil
}

func (d *ubDecoder) array(depth int) (any, error) {
	elem, count, err := d.header()
	if err != nil {
		return nil, err
	}
	switch elem {
	case 'd':
		b, err := d.bytes(4 * count)
		if err != nil {
			return nil, err
		}
		out := make([]float32, count)
		for i := range out {
			out[i] = math.Float32frombits(binary.BigEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case 'D':
		b, err := d.bytes(8 * count)
		if err != nil {
			return nil, err
		}
		out := make([]float64, count)
		for i := range out {
			out[i] = math.Float64frombits(binary.BigEndian.Uint64(b[8*i:]))
		}
		return out, nil
	case 'i', 'U', 'I', 'l', 'L':
		out := make([]int64, count)
		for i := range out {
			if out[i], err = d.integer(elem); err != nil {
				return nil, err
			}
		}
		return out, nil
	case 0:
	default:
		out := make([]any, count)
		for i := range out {
			if out[i], err = d.typed(elem, depth); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if count >= 0 {
		out := make([]any, count)
		for i := range out {
			if out[i], err = d.value(depth); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var out []any
	for {
		m, err := d.marker()
		if err != nil {
			return nil, err
		}
		if m == ']' {
			return out, nil
		}
		v, err := d.typed(m, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

func (d *ubDecoder) object(depth int) (any, error) {
	elem, count, err := d.header()
	if err != nil {
		return nil, err
	}
	out := make(map[string]any)
	for i := 0; count < 0 || i < count; i++ {
		if count < 0 {
			// A key's length marker is never 'N', so no-ops can be skipped here.
			m, err := d.marker()
			if err != nil {
				return nil, err
			}
			if m == '}' {
				return out, nil
			}
			d.pos--
		}
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		var v any
		if elem != 0 {
			v, err = d.typed(elem, depth)
		} else {
			v, err = d.value(depth)
		}
		if err != nil {
			return nil, err
		}
		out[key] = v
	}
	return out, nil
}
