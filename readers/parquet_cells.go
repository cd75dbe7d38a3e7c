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

// checkExtraType reports whether values of type dt can be read as a
// column beyond the known ones (Options.Extra): text, an integer, or a
// boolean, written "true" or "false".
func checkExtraType(dt arrow.DataType) error {
	if isScalarType(dt) || dt.ID() == arrow.BOOL {
		return nil
	}
	if t, ok := dt.(*arrow.DictionaryType); ok && t.ValueType.ID() == arrow.BOOL {
		return nil
	}
	return fmt.Errorf("type %s is not supported: want text (string or binary), an integer or a boolean", dt)
}

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

// cellWriter appends the text of row i of one column to buf and says
// whether the value was cut. A null appends nothing. A record keeps at most
// keepBytes of a value and keepListElements of a list (see limits.go): the
// writer appends only that much, so a hostile value of megabytes is never
// copied, and returns what was left out for the record's Problem.
type cellWriter func(buf []byte, i int) ([]byte, cellCut)

// cellCut says what a cellWriter left out of a value; the zero value means
// the value was appended whole.
type cellCut struct {
	size  int64 // the value's size in bytes, when it was cut to keepBytes
	elems int64 // the list's number of elements, when more than keepListElements
}

// problem is the record's Problem for a value cut to kept.
func (c cellCut) problem(kept []byte) string {
	if c.elems > 0 {
		return tooManyElements(c.elems)
	}
	return TooLong(c.size, string(kept))
}

func appendNothing(buf []byte, _ int) ([]byte, cellCut) { return buf, cellCut{} }

// appendKept appends at most keepBytes of v. The value itself stays in
// arrow's buffers (the page it was decoded from); only the kept part is
// copied into the record.
func appendKept[T string | []byte](buf []byte, v T) ([]byte, cellCut) {
	if len(v) <= keepBytes {
		return append(buf, v...), cellCut{}
	}
	return append(buf, v[:keepBytes]...), cellCut{size: int64(len(v))}
}

// textArray is an arrow array of strings or bytes.
type textArray[T string | []byte] interface {
	arrow.Array
	Value(i int) T
}

func textWriter[T string | []byte, A textArray[T]](a A) cellWriter {
	return func(buf []byte, i int) ([]byte, cellCut) {
		if a.IsNull(i) {
			return buf, cellCut{}
		}
		return appendKept(buf, a.Value(i))
	}
}

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
	case *array.Boolean:
		// Only an extra column may be boolean (checkExtraType).
		return func(buf []byte, i int) ([]byte, cellCut) {
			if a.IsNull(i) {
				return buf, cellCut{}
			}
			return strconv.AppendBool(buf, a.Value(i)), cellCut{}
		}, nil
	case *array.String:
		// The common case, written out: the generic's method calls are
		// indirect, and this runs for every cell; a batch without nulls
		// needs no look at its validity bitmap.
		if a.NullN() == 0 {
			return func(buf []byte, i int) ([]byte, cellCut) {
				return appendKept(buf, a.Value(i))
			}, nil
		}
		return func(buf []byte, i int) ([]byte, cellCut) {
			if a.IsNull(i) {
				return buf, cellCut{}
			}
			return appendKept(buf, a.Value(i))
		}, nil
	case *array.LargeString:
		return textWriter[string](a), nil
	case *array.StringView:
		return textWriter[string](a), nil
	case *array.Binary:
		return textWriter[[]byte](a), nil
	case *array.LargeBinary:
		return textWriter[[]byte](a), nil
	case *array.BinaryView:
		return textWriter[[]byte](a), nil
	case *array.Dictionary:
		values, err := newCellWriter(a.Dictionary())
		if err != nil {
			return nil, err
		}
		return func(buf []byte, i int) ([]byte, cellCut) {
			if a.IsNull(i) {
				return buf, cellCut{}
			}
			return values(buf, a.GetValueIndex(i))
		}, nil
	case array.ListLike:
		if _, ok := a.(*array.Map); ok {
			break
		}
		return listCellWriter(a)
	}
	if w, ok := newIntWriter(arr, false); ok {
		return w, nil
	}
	return nil, fmt.Errorf("unexpected array type %s", arr.DataType())
}

// listCellWriter writes an arrow list the way the reader writes the list
// columns it reads itself (parquet_lists.go), within the same limits: at
// most keepListElements elements, and keepBytes of text.
func listCellWriter(a array.ListLike) (cellWriter, error) {
	elems, err := newElemWriter(a.ListValues())
	if err != nil {
		return nil, err
	}
	return func(buf []byte, i int) ([]byte, cellCut) {
		if a.IsNull(i) {
			return buf, cellCut{}
		}
		start, end := a.ValueOffsets(i)
		row := len(buf)
		buf = append(buf, '[')
		for j := start; j < min(end, start+keepListElements); j++ {
			if j > start {
				buf = append(buf, ',')
			}
			buf, _ = elems(buf, int(j))
		}
		var cut cellCut
		if n := end - start; n > keepListElements {
			cut.elems = n
		} else {
			buf = append(buf, ']')
		}
		if n := len(buf) - row; n > keepBytes {
			if cut.elems == 0 {
				cut.size = int64(n)
			}
			buf = buf[:row+keepBytes]
		}
		return buf, cut
	}, nil
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

// An integer is at most 20 characters: never cut.

func signedWriter[T int8 | int16 | int32 | int64](a arrow.Array, values []T, nullWord bool) cellWriter {
	return func(buf []byte, i int) ([]byte, cellCut) {
		if a.IsNull(i) {
			if nullWord {
				return append(buf, "null"...), cellCut{}
			}
			return buf, cellCut{}
		}
		return strconv.AppendInt(buf, int64(values[i]), 10), cellCut{}
	}
}

func unsignedWriter[T uint8 | uint16 | uint32 | uint64](a arrow.Array, values []T, nullWord bool) cellWriter {
	return func(buf []byte, i int) ([]byte, cellCut) {
		if a.IsNull(i) {
			if nullWord {
				return append(buf, "null"...), cellCut{}
			}
			return buf, cellCut{}
		}
		return strconv.AppendUint(buf, uint64(values[i]), 10), cellCut{}
	}
}
