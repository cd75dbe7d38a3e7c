package readers

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// Files with list layouts pqarrow does not write, in chunks too big to
// hold, are written with arrow's low-level column writer.

// listLayout is a Parquet list column layout and the definition level of
// each state a row's list can be in (-1 where the layout cannot hold it).
type listLayout struct {
	name                             string
	node                             func(name string, elem schema.Node) schema.Node
	elemRep                          parquet.Repetition // of the element node
	nullList, empty, nullElem, value int16
}

func mustNode(n schema.Node, err error) schema.Node {
	if err != nil {
		panic(err)
	}
	return n
}

var (
	optional = parquet.Repetitions.Optional
	required = parquet.Repetitions.Required
	repeated = parquet.Repetitions.Repeated
)

var listLayouts = []listLayout{
	{
		name: "3-level optional list of optional elements",
		node: func(name string, elem schema.Node) schema.Node {
			list := mustNode(schema.NewGroupNode("list", repeated, schema.FieldList{elem}, -1))
			return mustNode(schema.NewGroupNodeLogical(name, optional, schema.FieldList{list}, schema.NewListLogicalType(), -1))
		},
		elemRep: optional, nullList: 0, empty: 1, nullElem: 2, value: 3,
	},
	{
		name: "3-level required list of required elements",
		node: func(name string, elem schema.Node) schema.Node {
			list := mustNode(schema.NewGroupNode("list", repeated, schema.FieldList{elem}, -1))
			return mustNode(schema.NewGroupNodeLogical(name, required, schema.FieldList{list}, schema.NewListLogicalType(), -1))
		},
		elemRep: required, nullList: -1, empty: 0, nullElem: -1, value: 1,
	},
	{
		name: "2-level optional group (LIST) { repeated int element }",
		node: func(name string, elem schema.Node) schema.Node {
			return mustNode(schema.NewGroupNodeConverted(name, optional, schema.FieldList{elem}, schema.ConvertedTypes.List, -1))
		},
		elemRep: repeated, nullList: 0, empty: 1, nullElem: -1, value: 2,
	},
	{
		name: "bare repeated int",
		node: func(name string, elem schema.Node) schema.Node {
			return elem // the element node, named as the column
		},
		elemRep: repeated, nullList: -1, empty: 0, nullElem: -1, value: 1,
	},
	{
		name: "Hive repeated group bag { optional int array_element }",
		node: func(name string, elem schema.Node) schema.Node {
			bag := mustNode(schema.NewGroupNode("bag", repeated, schema.FieldList{elem}, -1))
			return mustNode(schema.NewGroupNodeConverted(name, optional, schema.FieldList{bag}, schema.ConvertedTypes.List, -1))
		},
		elemRep: optional, nullList: 0, empty: 1, nullElem: 2, value: 3,
	},
}

// elemType is an integer element type: physical type, logical type and
// how its values print.
type elemType struct {
	name    string
	phys    parquet.Type
	logical schema.LogicalType
	show    func(v int64) string
	// value maps a random number to a value of the type (as stored).
	value func(r uint64) int64
}

var elemTypes = []elemType{
	{"int32", parquet.Types.Int32, schema.NoLogicalType{}, func(v int64) string { return strconv.FormatInt(v, 10) },
		func(r uint64) int64 { return int64(int32(r)) }},
	{"int64", parquet.Types.Int64, schema.NoLogicalType{}, func(v int64) string { return strconv.FormatInt(v, 10) },
		func(r uint64) int64 { return int64(r) }},
	{"INT_8", parquet.Types.Int32, schema.NewIntLogicalType(8, true), func(v int64) string { return strconv.FormatInt(v, 10) },
		func(r uint64) int64 { return int64(int8(r)) }},
	{"INT_16", parquet.Types.Int32, schema.NewIntLogicalType(16, true), func(v int64) string { return strconv.FormatInt(v, 10) },
		func(r uint64) int64 { return int64(int16(r)) }},
	{"UINT_8", parquet.Types.Int32, schema.NewIntLogicalType(8, false), func(v int64) string { return strconv.FormatUint(uint64(uint8(v)), 10) },
		func(r uint64) int64 { return int64(uint8(r)) }},
	{"UINT_16", parquet.Types.Int32, schema.NewIntLogicalType(16, false), func(v int64) string { return strconv.FormatUint(uint64(uint16(v)), 10) },
		func(r uint64) int64 { return int64(uint16(r)) }},
	{"UINT_32", parquet.Types.Int32, schema.NewIntLogicalType(32, false), func(v int64) string { return strconv.FormatUint(uint64(uint32(v)), 10) },
		func(r uint64) int64 { return int64(int32(uint32(r))) }},
	{"UINT_64", parquet.Types.Int64, schema.NewIntLogicalType(64, false), func(v int64) string { return strconv.FormatUint(uint64(v), 10) },
		func(r uint64) int64 { return int64(r) }},
}

func (e elemType) node(name string, rep parquet.Repetition) schema.Node {
	return mustNode(schema.NewPrimitiveNodeLogical(name, rep, e.logical, e.phys, -1, -1))
}

// lowColumn is one column of a file written with the low-level writer: its
// schema node, and how to write rows [from, to) of it.
type lowColumn struct {
	node  schema.Node
	write func(cw file.ColumnChunkWriter, from, to int) error
}

// writeLowLevel writes nrows rows of cols at path, in row groups of at
// most rgRows rows.
func writeLowLevel(t testing.TB, path string, nrows, rgRows int, cols []lowColumn, props ...parquet.WriterProperty) {
	t.Helper()
	fields := make(schema.FieldList, len(cols))
	for i, c := range cols {
		fields[i] = c.node
	}
	root := mustNode(schema.NewGroupNode("schema", required, fields, -1)).(*schema.GroupNode)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props = append([]parquet.WriterProperty{parquet.WithCreatedBy("markimport tests (low-level writer)")}, props...)
	w, err := file.NewParquetWriterWithError(f, root, file.WithWriterProps(parquet.NewWriterProperties(props...)))
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	for from := 0; from < nrows || from == 0; from += rgRows {
		to := min(from+rgRows, nrows)
		rg := w.AppendRowGroup()
		for _, c := range cols {
			cw, err := rg.NextColumn()
			if err != nil {
				t.Fatal(err)
			}
			if err := c.write(cw, from, to); err != nil {
				t.Fatalf("write %s: %v", c.node.Name(), err)
			}
		}
		if err := rg.Close(); err != nil {
			t.Fatal(err)
		}
		if nrows == 0 {
			break
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// stringColumn is a required byte-array column of the values text(i).
func stringColumn(name string, text func(i int) string) lowColumn {
	return lowColumn{
		node: mustNode(schema.NewPrimitiveNodeLogical(name, required, schema.StringLogicalType{}, parquet.Types.ByteArray, -1, -1)),
		write: func(cw file.ColumnChunkWriter, from, to int) error {
			vals := make([]parquet.ByteArray, 0, to-from)
			for i := from; i < to; i++ {
				vals = append(vals, parquet.ByteArray(text(i)))
			}
			_, err := cw.(*file.ByteArrayColumnChunkWriter).WriteBatch(vals, nil, nil)
			return err
		},
	}
}

// listColumn is a list column in layout lay of elements of type et whose
// row i is rows[i]: nil a null list, else its elements (nil a null one).
func listColumn(name string, lay listLayout, et elemType, rows [][]*int64) lowColumn {
	return lowColumn{
		node: lay.node(name, et.node(listElemName(lay, name), lay.elemRep)),
		write: func(cw file.ColumnChunkWriter, from, to int) error {
			var defs, reps []int16
			var vals []int64
			for _, row := range rows[from:to] {
				switch {
				case row == nil:
					defs, reps = append(defs, lay.nullList), append(reps, 0)
				case len(row) == 0:
					defs, reps = append(defs, lay.empty), append(reps, 0)
				}
				for k, e := range row {
					rep := int16(1)
					if k == 0 {
						rep = 0
					}
					reps = append(reps, rep)
					if e == nil {
						defs = append(defs, lay.nullElem)
					} else {
						defs = append(defs, lay.value)
						vals = append(vals, *e)
					}
				}
			}
			return writeInts(cw, vals, defs, reps)
		},
	}
}

func listElemName(lay listLayout, name string) string {
	if lay.name == "bare repeated int" {
		return name
	}
	return "element"
}

// writeInts writes int64 values to an INT32 or INT64 column chunk.
func writeInts(cw file.ColumnChunkWriter, vals []int64, defs, reps []int16) error {
	switch w := cw.(type) {
	case *file.Int32ColumnChunkWriter:
		v32 := make([]int32, len(vals))
		for i, v := range vals {
			v32[i] = int32(v)
		}
		_, err := w.WriteBatch(v32, defs, reps)
		return err
	case *file.Int64ColumnChunkWriter:
		_, err := w.WriteBatch(vals, defs, reps)
		return err
	}
	return fmt.Errorf("unexpected column writer %T", cw)
}

// wantListText is the text a record holds for a list row, and the cut.
func wantListText(row []*int64, show func(int64) string) (string, cellCut) {
	if row == nil {
		return "", cellCut{}
	}
	b := []byte{'['}
	for k, e := range row[:min(len(row), keepListElements)] {
		if k > 0 {
			b = append(b, ',')
		}
		if e == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, show(*e)...)
		}
	}
	var cut cellCut
	if len(row) > keepListElements {
		cut.elems = int64(len(row))
	} else {
		b = append(b, ']')
	}
	if len(b) > keepBytes {
		if cut.elems == 0 {
			cut.size = int64(len(b))
		}
		b = b[:keepBytes]
	}
	return string(b), cut
}
