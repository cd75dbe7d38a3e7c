package readers

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// A damaged page can decode without an error into wrong values: a value
// whose bytes changed inside a page reads as another value (see
// TestParquetStatsCorruptPlainValue), and arrow-go up to v18.8.0 returned
// zeros for a DELTA_BINARY_PACKED page whose header declares fewer values
// than the page holds. Importing marks for the wrong users is worse than
// stopping, so the id columns (from_account, to_account, to_group_id) are
// checked against the min/max statistics of their column chunks, where the
// file has them and they can be trusted: a value outside them is an
// *InputError. (List columns check instead that every defined level has
// its value, see listReader. The text columns textReader reads are checked
// the same way as their values are decoded, see textReader.add.)
//
// Which statistics are trusted: arrow-go reads the min_value/max_value
// fields only when the file declares a column order (TYPE_ORDER, as
// parquet-mr since 1.10, Arrow C++ and arrow-go write), and else the
// deprecated min/max fields; it also drops the statistics of writer
// versions known to compute them wrong. The deprecated fields were computed
// with signed comparisons, right for signed integers only, so they are
// trusted for signed integer columns only; unsigned integers and byte
// arrays need min_value/max_value. Byte arrays compare bytewise (unsigned
// lexicographic, the order of UTF-8 and of the Parquet spec). An empty byte
// array is never checked: arrow-go's own writer, up to v18.8.0, left empty
// values out of the statistics of dictionary columns (UpdateFromArrow
// skipped them), so a valid file can have "" below its min_value (the
// fixture arrow_dictionary_empty_ids.parquet is one).

// parquetCheckStats switches the check; benchmarks turn it off to measure
// its cost.
var parquetCheckStats = true

// statsCheck checks one id column against the statistics of its column
// chunk in each row group.
type statsCheck struct {
	starts []int64        // the first row (0-based) of each row group, and the end of the last
	bounds []*statsBounds // of each row group; nil where there are none to trust
}

type statsKind int

const (
	statsSigned statsKind = iota
	statsUnsigned
	statsBytes
)

// statsBounds are the trusted min and max of one column chunk.
type statsBounds struct {
	kind       statsKind
	lo, hi     int64  // statsSigned
	ulo, uhi   uint64 // statsUnsigned
	blo, bhi   string // statsBytes
	loKey      uint64 // prefixKey(blo)
	hiKey      uint64 // prefixKey(bhi)
	rowGroup   int    // 0-based
	rowGroups  int
	minS, maxS string // for messages
}

// newStatsCheck returns the check of the column whose leaf is column leaf
// of the file and which reads as arrow type dt, or nil when no row group
// has statistics to trust. Malformed statistics are not trusted (arrow can
// panic decoding them).
func newStatsCheck(pf *file.Reader, leaf int, dt arrow.DataType) *statsCheck {
	kind, ok := statsKindOf(dt)
	if !ok {
		return nil
	}
	md := pf.MetaData()
	descr := md.Schema.Column(leaf)
	n := pf.NumRowGroups()
	c := &statsCheck{starts: make([]int64, n+1), bounds: make([]*statsBounds, n)}
	found := false
	for i := range n {
		rg := md.RowGroup(i)
		c.starts[i+1] = c.starts[i] + rg.NumRows()
		b := chunkBounds(rg, leaf, descr, kind)
		if b != nil {
			b.rowGroup, b.rowGroups = i, n
			c.bounds[i] = b
			found = true
		}
	}
	if !found {
		return nil
	}
	return c
}

// statsKindOf says how values of arrow type dt compare, or false when they
// are not checked.
func statsKindOf(dt arrow.DataType) (statsKind, bool) {
	switch t := dt.(type) {
	case arrow.ExtensionType:
		return statsKindOf(t.StorageType())
	case *arrow.DictionaryType:
		return statsKindOf(t.ValueType)
	}
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW,
		arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW:
		return statsBytes, true
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		return statsSigned, true
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return statsUnsigned, true
	}
	return 0, false
}

// chunkBounds returns the trusted bounds of one column chunk, or nil.
func chunkBounds(rg *metadata.RowGroupMetaData, leaf int, descr *schema.Column, kind statsKind) (b *statsBounds) {
	defer func() {
		if recover() != nil {
			b = nil
		}
	}()
	typeOrder := descr.ColumnOrder() == parquet.ColumnOrders.TypeDefinedOrder
	order := descr.SortOrder()
	switch kind {
	case statsSigned:
		// The deprecated fields are right for signed integers.
		if order != schema.SortSIGNED {
			return nil
		}
	case statsUnsigned, statsBytes:
		if !typeOrder || order != schema.SortUNSIGNED {
			return nil
		}
	}
	cc, err := rg.ColumnChunk(leaf)
	if err != nil {
		return nil
	}
	st, err := cc.Statistics()
	if err != nil || st == nil || !st.HasMinMax() {
		return nil
	}
	enc, err := st.Encode()
	if err != nil || !enc.HasMin || !enc.HasMax {
		return nil
	}
	b = &statsBounds{kind: kind}
	switch phys := descr.PhysicalType(); {
	case phys == parquet.Types.Int32 && kind != statsBytes:
		if len(enc.Min) != 4 || len(enc.Max) != 4 {
			return nil
		}
		lo, hi := int32(binary.LittleEndian.Uint32(enc.Min)), int32(binary.LittleEndian.Uint32(enc.Max))
		if kind == statsSigned {
			b.lo, b.hi = int64(lo), int64(hi)
		} else {
			b.ulo, b.uhi = uint64(uint32(lo)), uint64(uint32(hi))
		}
	case phys == parquet.Types.Int64 && kind != statsBytes:
		if len(enc.Min) != 8 || len(enc.Max) != 8 {
			return nil
		}
		lo, hi := binary.LittleEndian.Uint64(enc.Min), binary.LittleEndian.Uint64(enc.Max)
		if kind == statsSigned {
			b.lo, b.hi = int64(lo), int64(hi)
		} else {
			b.ulo, b.uhi = lo, hi
		}
	case phys == parquet.Types.ByteArray && kind == statsBytes:
		b.blo, b.bhi = string(enc.Min), string(enc.Max)
	default:
		return nil
	}
	// Statistics with min above max contradict themselves: not trusted.
	switch kind {
	case statsSigned:
		if b.lo > b.hi {
			return nil
		}
		b.minS, b.maxS = strconv.FormatInt(b.lo, 10), strconv.FormatInt(b.hi, 10)
	case statsUnsigned:
		if b.ulo > b.uhi {
			return nil
		}
		b.minS, b.maxS = strconv.FormatUint(b.ulo, 10), strconv.FormatUint(b.uhi, 10)
	case statsBytes:
		// arrow-go's writer leaves the max of a chunk out when it is longer
		// than its limit (4096 bytes), and its reader then gives an empty
		// max (it cannot tell a missing max_value from an empty one), which
		// every value but "" is above. So an empty max is not trusted. The
		// cost: a chunk whose values really are all empty or null, from a
		// writer that counts "" in its statistics (Arrow C++, parquet-mr),
		// is not checked, and a damaged page of it that decodes to as many
		// non-empty ids would go unnoticed.
		if b.blo > b.bhi || b.bhi == "" {
			return nil
		}
		b.minS, b.maxS = b.blo, b.bhi
		b.loKey, b.hiKey = prefixKey(b.blo), prefixKey(b.bhi)
	}
	return b
}

// statsError is a decoded value outside the statistics of its column chunk.
type statsError struct {
	row    int64 // 1-based, in the file
	bounds *statsBounds
	value  string
}

func (e *statsError) Error() string {
	b := e.bounds
	return fmt.Sprintf("row group %d of %d (numbered from 1): decoded value %s is outside the statistics of its column chunk (min %s, max %s): the page is damaged, or the Parquet library decoded it wrong",
		b.rowGroup+1, b.rowGroups, Quote(e.value), Quote(b.minS), Quote(b.maxS))
}

// check looks for a value outside the statistics in arr, which holds the
// rows from first (0-based) on, and returns the first one found.
func (c *statsCheck) check(arr arrow.Array, first int64) *statsError {
	n := int64(arr.Len())
	for rg, b := range c.bounds {
		if b == nil {
			continue
		}
		from, to := max(c.starts[rg], first), min(c.starts[rg+1], first+n)
		if from >= to {
			continue
		}
		if i := b.firstOutside(arr, int(from-first), int(to-first)); i >= 0 {
			w, err := newCellWriter(arr)
			var text []byte
			if err == nil {
				text, _ = w(nil, i)
			}
			return &statsError{row: first + int64(i) + 1, bounds: b, value: string(text)}
		}
	}
	return nil
}

// firstOutside returns the index of the first value of arr[from:to] outside
// the bounds, or -1.
func (b *statsBounds) firstOutside(arr arrow.Array, from, to int) int {
	switch a := arr.(type) {
	case array.ExtensionArray:
		return b.firstOutside(a.Storage(), from, to)
	case *array.Dictionary:
		dict := a.Dictionary()
		for i := from; i < to; i++ {
			if a.IsValid(i) {
				j := a.GetValueIndex(i)
				if b.firstOutside(dict, j, j+1) >= 0 {
					return i
				}
			}
		}
		return -1
	case *array.String:
		// The common case, without the generic's indirect calls, and
		// most values decided by their first 8 bytes (see prefixKey).
		if b.kind != statsBytes {
			return -1
		}
		nulls := a.NullN() > 0
		for i := from; i < to; i++ {
			v := a.Value(i)
			if k := prefixKey(v); k > b.loKey && k < b.hiKey {
				continue
			}
			if len(v) > 0 && (v < b.blo || v > b.bhi) && !(nulls && a.IsNull(i)) {
				return i
			}
		}
		return -1
	case *array.LargeString:
		return textOutside[string](a, b, from, to)
	case *array.StringView:
		return textOutside[string](a, b, from, to)
	case *array.Binary:
		return textOutside[[]byte](a, b, from, to)
	case *array.LargeBinary:
		return textOutside[[]byte](a, b, from, to)
	case *array.BinaryView:
		return textOutside[[]byte](a, b, from, to)
	case *array.Int8:
		return intOutside(a, a.Int8Values(), b, from, to)
	case *array.Int16:
		return intOutside(a, a.Int16Values(), b, from, to)
	case *array.Int32:
		return intOutside(a, a.Int32Values(), b, from, to)
	case *array.Int64:
		return intOutside(a, a.Int64Values(), b, from, to)
	case *array.Uint8:
		return uintOutside(a, a.Uint8Values(), b, from, to)
	case *array.Uint16:
		return uintOutside(a, a.Uint16Values(), b, from, to)
	case *array.Uint32:
		return uintOutside(a, a.Uint32Values(), b, from, to)
	case *array.Uint64:
		return uintOutside(a, a.Uint64Values(), b, from, to)
	}
	return -1
}

func textOutside[T string | []byte, A textArray[T]](a A, b *statsBounds, from, to int) int {
	if b.kind != statsBytes {
		return -1
	}
	lo, hi := b.blo, b.bhi
	nulls := a.NullN() > 0
	for i := from; i < to; i++ {
		if nulls && a.IsNull(i) {
			continue
		}
		v := a.Value(i)
		// Converting to string only to compare does not allocate.
		if len(v) > 0 && (string(v) < lo || string(v) > hi) {
			return i
		}
	}
	return -1
}

func intOutside[T int8 | int16 | int32 | int64](a arrow.Array, values []T, b *statsBounds, from, to int) int {
	if b.kind != statsSigned {
		return -1
	}
	nulls := a.NullN() > 0
	for i := from; i < to; i++ {
		if v := int64(values[i]); (v < b.lo || v > b.hi) && !(nulls && a.IsNull(i)) {
			return i
		}
	}
	return -1
}

func uintOutside[T uint8 | uint16 | uint32 | uint64](a arrow.Array, values []T, b *statsBounds, from, to int) int {
	if b.kind != statsUnsigned {
		return -1
	}
	nulls := a.NullN() > 0
	for i := from; i < to; i++ {
		if v := uint64(values[i]); (v < b.ulo || v > b.uhi) && !(nulls && a.IsNull(i)) {
			return i
		}
	}
	return -1
}

// prefixKey is the first 8 bytes of s, zero-padded, as a big-endian
// number. If prefixKey(v) > prefixKey(lo) then v > lo, and if
// prefixKey(v) < prefixKey(hi) then v < hi: the first byte where the padded
// forms differ is a real byte of v (resp. hi), so either the strings differ
// there too or the shorter one is a prefix of the other. One integer
// comparison each way then decides most values without comparing strings.
func prefixKey[T ~string | ~[]byte](s T) uint64 {
	if len(s) >= 8 {
		return uint64(s[0])<<56 | uint64(s[1])<<48 | uint64(s[2])<<40 | uint64(s[3])<<32 |
			uint64(s[4])<<24 | uint64(s[5])<<16 | uint64(s[6])<<8 | uint64(s[7])
	}
	var k uint64
	for i := range 8 {
		k <<= 8
		if i < len(s) {
			k |= uint64(s[i])
		}
	}
	return k
}
