package readers

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// A Parquet column becomes the same text the CSV reader would give for the
// same data. Every known column accepts text (string or binary, plain,
// large, view or dictionary-encoded; bytes are kept verbatim) and integers
// of any width (written in decimal). set_mark and clear_mark also accept
// lists of integers, written "[1,2]". A null is "". Anything else (a double,
// a date, a struct, a list of strings) is refused when the file is opened,
// so a wrong export is an input error and not a file of invalid rows.

// checkParquetType reports whether values of type dt can be read as field f.
func checkParquetType(f Field, dt arrow.DataType) error {
	if isScalarType(dt) {
		return nil
	}
	if f == SetMark || f == ClearMark {
		if elem, ok := listElem(dt); ok && isIntType(elem) {
			return nil
		}
		return fmt.Errorf("type %s is not supported: %s needs a list of integers, text or an integer", dt, f)
	}
	return fmt.Errorf("type %s is not supported: %s needs text (string or binary) or an integer", dt, f)
}

// isScalarType reports whether dt is text, an integer, or all-null.
func isScalarType(dt arrow.DataType) bool {
	switch t := dt.(type) {
	case arrow.ExtensionType:
		return isScalarType(t.StorageType())
	case *arrow.DictionaryType:
		return isScalarType(t.ValueType)
	}
	switch dt.ID() {
	case arrow.NULL,
		arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW,
		arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW:
		return true
	}
	return isIntType(dt)
}

func isIntType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

// listElem returns the element type of a list-like type (not a map).
func listElem(dt arrow.DataType) (arrow.DataType, bool) {
	switch t := dt.(type) {
	case *arrow.ListType:
		return t.Elem(), true
	case *arrow.LargeListType:
		return t.Elem(), true
	case *arrow.FixedSizeListType:
		return t.Elem(), true
	case *arrow.ListViewType:
		return t.Elem(), true
	case *arrow.LargeListViewType:
		return t.Elem(), true
	case arrow.ExtensionType:
		return listElem(t.StorageType())
	}
	return nil, false
}

// cellWriter appends the text of row i of one column to buf. A null appends
// nothing.
type cellWriter func(buf []byte, i int) []byte

func appendNothing(buf []byte, _ int) []byte { return buf }

// newCellWriter returns the writer for one column of a record batch. The
// column's type has passed checkParquetType, so an unexpected array type is
// an internal error.
func newCellWriter(arr arrow.Array) (cellWriter, error) {
	if arr.NullN() == arr.Len() {
		return appendNothing, nil
	}
	switch a := arr.(type) {
	case array.ExtensionArray:
		return newCellWriter(a.Storage())
	case *array.Null:
		return appendNothing, nil
	case *array.String:
		return func(buf []byte, i int) []byte {
			if a.IsNull(i) {
				return buf
			}
			return append(buf, a.Value(i)...)
		}, nil
	case *array.LargeString:
		return func(buf []byte, i int) []byte {
			if a.IsNull(i) {
				return buf
			}
			return append(buf, a.Value(i)...)
		}, nil
	case *array.StringView:
		return func(buf []byte, i int) []byte {
			if a.IsNull(i) {
				return buf
			}
			return append(buf, a.Value(i)...)
		}, nil
	case *array.Binary:
		return func(buf []byte, i int) []byte {
			if a.IsNull(i) {
				return buf
			}
			return append(buf, a.Value(i)...)
		}, nil
	case *array.LargeBinary:
		return func(buf []byte, i int) []byte {
			if a.IsNull(i) {
				return buf
			}
			return append(buf, a.Value(i)...)
		}, nil
	case *array.BinaryView:
		return func(buf []byte, i int) []byte {
			if a.IsNull(i) {
				return buf
			}
			return append(buf, a.Value(i)...)
		}, nil
	case *array.Dictionary:
		values, err := newCellWriter(a.Dictionary())
		if err != nil {
			return nil, err
		}
		return func(buf []byte, i int) []byte {
			if a.IsNull(i) {
				return buf
			}
			return values(buf, a.GetValueIndex(i))
		}, nil
	case array.ListLike:
		if _, ok := a.(*array.Map); ok {
			break
		}
		elems, err := newElemWriter(a.ListValues())
		if err != nil {
			return nil, err
		}
		return func(buf []byte, i int) []byte {
			if a.IsNull(i) {
				return buf
			}
			start, end := a.ValueOffsets(i)
			buf = append(buf, '[')
			for j := start; j < end; j++ {
				if j > start {
					buf = append(buf, ',')
				}
				buf = elems(buf, int(j))
			}
			return append(buf, ']')
		}, nil
	}
	if w, ok := newIntWriter(arr, false); ok {
		return w, nil
	}
	return nil, fmt.Errorf("unexpected array type %s", arr.DataType())
}

// newElemWriter returns the writer for the integer elements of a list, in
// which a null is written "null" so that validation rejects the row instead
// of silently dropping a bit.
func newElemWriter(arr arrow.Array) (cellWriter, error) {
	if w, ok := newIntWriter(arr, true); ok {
		return w, nil
	}
	return nil, fmt.Errorf("unexpected list element type %s", arr.DataType())
}

func newIntWriter(arr arrow.Array, nullWord bool) (cellWriter, bool) {
	switch a := arr.(type) {
	case *array.Int8:
		return signedWriter(a, a.Int8Values(), nullWord), true
	case *array.Int16:
		return signedWriter(a, a.Int16Values(), nullWord), true
	case *array.Int32:
		return signedWriter(a, a.Int32Values(), nullWord), true
	case *array.Int64:
		return signedWriter(a, a.Int64Values(), nullWord), true
	case *array.Uint8:
		return unsignedWriter(a, a.Uint8Values(), nullWord), true
	case *array.Uint16:
		return unsignedWriter(a, a.Uint16Values(), nullWord), true
	case *array.Uint32:
		return unsignedWriter(a, a.Uint32Values(), nullWord), true
	case *array.Uint64:
		return unsignedWriter(a, a.Uint64Values(), nullWord), true
	}
	return nil, false
}

func signedWriter[T int8 | int16 | int32 | int64](a arrow.Array, values []T, nullWord bool) cellWriter {
	return func(buf []byte, i int) []byte {
		if a.IsNull(i) {
			if nullWord {
				return append(buf, "null"...)
			}
			return buf
		}
		return strconv.AppendInt(buf, int64(values[i]), 10)
	}
}

func unsignedWriter[T uint8 | uint16 | uint32 | uint64](a arrow.Array, values []T, nullWord bool) cellWriter {
	return func(buf []byte, i int) []byte {
		if a.IsNull(i) {
			if nullWord {
				return append(buf, "null"...)
			}
			return buf
		}
		return strconv.AppendUint(buf, uint64(values[i]), 10)
	}
}
