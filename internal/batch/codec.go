package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

// Chunks are stored as compact binary blobs, one record per row in input order, so that a
// chunk of 10,000 rows is about 2.4 MB of input and 100 KB of results and decodes with no
// parsing at all:
//
//	chunk   = version(1 byte = 1) record*
//	input   = flags [id] (error | 30 × float64 little-endian)
//	result  = flags [id] (error | float64 little-endian probability [reasons])
//	id      = uvarint length, bytes      (when flags has flagID)
//	error   = uvarint length, bytes      (when flags has flagInvalid)
//	reasons = count(1 byte) (feature index(1 byte) float64 little-endian contribution)*
//	          (when flags has flagReasons)
//
// flagReasons came after the first release: a result chunk written before it has the flag
// clear on every row and reads as before, so version 1 still describes both.
//
// A result's flags also carry is_fraud and the risk level, so a result chunk is read without
// the model that wrote it.
const codecVersion = 1

const (
	flagInvalid = 1 << 0
	flagID      = 1 << 1
	flagFraud   = 1 << 2
	flagReasons = 1 << 3
	riskShift   = 4 // two bits: the index of the risk level in riskLevels
)

var riskLevels = [4]fraud.RiskLevel{fraud.RiskLow, fraud.RiskMedium, fraud.RiskHigh, fraud.RiskCritical}

func riskIndex(r fraud.RiskLevel) byte {
	for i, l := range riskLevels {
		if l == r {
			return byte(i)
		}
	}
	return 0
}

// chunkBuilder accumulates the encoded input rows of one chunk.
type chunkBuilder struct {
	buf  []byte
	rows int
}

func (b *chunkBuilder) reset() {
	b.buf = append(b.buf[:0], codecVersion)
	b.rows = 0
}

// addValid appends a row of features with its id ("" for none).
func (b *chunkBuilder) addValid(id []byte, x *[fraud.NumFeatures]float64) {
	flags := byte(0)
	if len(id) > 0 {
		flags |= flagID
	}
	b.buf = append(b.buf, flags)
	if len(id) > 0 {
		b.buf = binary.AppendUvarint(b.buf, uint64(len(id)))
		b.buf = append(b.buf, id...)
	}
	for _, v := range x {
		b.buf = binary.LittleEndian.AppendUint64(b.buf, math.Float64bits(v))
	}
	b.rows++
}

// addInvalid appends a row that cannot be scored, with its id ("" for none) and the reason.
func (b *chunkBuilder) addInvalid(id []byte, problem string) {
	flags := byte(flagInvalid)
	if len(id) > 0 {
		flags |= flagID
	}
	b.buf = append(b.buf, flags)
	if len(id) > 0 {
		b.buf = binary.AppendUvarint(b.buf, uint64(len(id)))
		b.buf = append(b.buf, id...)
	}
	b.buf = binary.AppendUvarint(b.buf, uint64(len(problem)))
	b.buf = append(b.buf, problem...)
	b.rows++
}

var errCorrupt = errors.New("corrupt chunk")

// chunkReader walks the records of an encoded chunk.
type chunkReader struct {
	data []byte
	off  int
}

func newChunkReader(data []byte) (chunkReader, error) {
	if len(data) == 0 || data[0] != codecVersion {
		return chunkReader{}, fmt.Errorf("%w: unknown encoding version", errCorrupt)
	}
	return chunkReader{data: data, off: 1}, nil
}

func (r *chunkReader) more() bool { return r.off < len(r.data) }

func (r *chunkReader) bytes() ([]byte, error) {
	n, k := binary.Uvarint(r.data[r.off:])
	if k <= 0 || n > uint64(len(r.data)-r.off-k) {
		return nil, fmt.Errorf("%w: bad length at byte %d", errCorrupt, r.off)
	}
	r.off += k
	b := r.data[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

func (r *chunkReader) header() (flags byte, id []byte, err error) {
	flags = r.data[r.off]
	r.off++
	if flags&flagID != 0 {
		if id, err = r.bytes(); err != nil {
			return 0, nil, err
		}
	}
	return flags, id, nil
}

// nextInput decodes the next input row into x; problem is set for an invalid row. id and
// problem share memory with the chunk.
func (r *chunkReader) nextInput(x *[fraud.NumFeatures]float64) (id, problem []byte, err error) {
	flags, id, err := r.header()
	if err != nil {
		return nil, nil, err
	}
	if flags&flagInvalid != 0 {
		problem, err = r.bytes()
		return id, problem, err
	}
	if len(r.data)-r.off < fraud.NumFeatures*8 {
		return nil, nil, fmt.Errorf("%w: truncated row at byte %d", errCorrupt, r.off)
	}
	for i := range x {
		x[i] = math.Float64frombits(binary.LittleEndian.Uint64(r.data[r.off:]))
		r.off += 8
	}
	return id, nil, nil
}

// appendResult encodes one result row; reasons, when not nil, are the indices of the features
// given as reasons and c their contributions, by feature index.
func appendResult(b []byte, id []byte, p float64, isFraud bool, risk fraud.RiskLevel, reasons []int, c *[fraud.NumFeatures]float64) []byte {
	flags := riskIndex(risk) << riskShift
	if isFraud {
		flags |= flagFraud
	}
	if reasons != nil {
		flags |= flagReasons
	}
	if len(id) > 0 {
		flags |= flagID
	}
	b = append(b, flags)
	if len(id) > 0 {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p))
	if reasons != nil {
		b = append(b, byte(len(reasons)))
		for _, j := range reasons {
			b = append(b, byte(j))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c[j]))
		}
	}
	return b
}

// appendInvalidResult encodes the result of a row that could not be scored.
func appendInvalidResult(b []byte, id, problem []byte) []byte {
	flags := byte(flagInvalid)
	if len(id) > 0 {
		flags |= flagID
	}
	b = append(b, flags)
	if len(id) > 0 {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	b = binary.AppendUvarint(b, uint64(len(problem)))
	return append(b, problem...)
}

// nextResult decodes the next result row into res (Row is left to the caller); names are the
// features' names in model order, for the reasons. The strings are copies only when they are
// not empty; Reasons is a new slice for a row that has them, nil otherwise.
func (r *chunkReader) nextResult(res *fraud.JobResult, names []string) error {
	flags, id, err := r.header()
	if err != nil {
		return err
	}
	res.TransactionID = string(id)
	if flags&flagInvalid != 0 {
		problem, err := r.bytes()
		if err != nil {
			return err
		}
		res.Probability, res.IsFraud, res.Risk, res.Error, res.Reasons = 0, false, "", string(problem), nil
		return nil
	}
	if len(r.data)-r.off < 8 {
		return fmt.Errorf("%w: truncated result at byte %d", errCorrupt, r.off)
	}
	res.Probability = math.Float64frombits(binary.LittleEndian.Uint64(r.data[r.off:]))
	r.off += 8
	res.IsFraud = flags&flagFraud != 0
	res.Risk = riskLevels[(flags>>riskShift)&3]
	res.Error = ""
	res.Reasons = nil
	if flags&flagReasons == 0 {
		return nil
	}
	if r.off >= len(r.data) {
		return fmt.Errorf("%w: truncated reasons at byte %d", errCorrupt, r.off)
	}
	n := int(r.data[r.off])
	r.off++
	if n > len(names) || len(r.data)-r.off < 9*n {
		return fmt.Errorf("%w: truncated reasons at byte %d", errCorrupt, r.off)
	}
	res.Reasons = make([]wire.Reason, n)
	for i := range res.Reasons {
		j := int(r.data[r.off])
		if j >= len(names) {
			return fmt.Errorf("%w: reason feature %d at byte %d", errCorrupt, j, r.off)
		}
		res.Reasons[i] = wire.Reason{Feature: names[j], Contribution: math.Float64frombits(binary.LittleEndian.Uint64(r.data[r.off+1:]))}
		r.off += 9
	}
	return nil
}
