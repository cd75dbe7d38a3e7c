package readers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// checkRegularFile refuses a path that is not a regular file, naming what
// it is: Parquet's footer is at the end, so it needs a file it can seek in.
func checkRegularFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	mode := st.Mode()
	if mode.IsRegular() {
		return nil
	}
	var kind string
	switch {
	case mode.IsDir():
		kind = "a directory"
	case mode&os.ModeNamedPipe != 0:
		kind = "a FIFO (named pipe)"
	case mode&os.ModeCharDevice != 0:
		kind = "a character device"
	case mode&os.ModeDevice != 0:
		kind = "a block device"
	case mode&os.ModeSocket != 0:
		kind = "a socket"
	default:
		kind = "not a regular file (mode " + mode.String() + ")"
	}
	return fmt.Errorf("Parquet needs a seekable regular file, and %s is %s: write it to a file first", path, kind)
}

// checkParquetFraming gives the common ways of not being a Parquet file a
// clear message before the footer is decoded.
func checkParquetFraming(f io.ReaderAt, size int64) error {
	if size == 0 {
		return errors.New("empty file: not a Parquet file")
	}
	head := make([]byte, min(size, 16))
	if _, err := f.ReadAt(head, 0); err != nil && err != io.EOF {
		return err
	}
	tail := make([]byte, 4)
	if size >= 12 {
		if _, err := f.ReadAt(tail, size-4); err != nil && err != io.EOF {
			return err
		}
	}
	// A file with an encrypted footer starts and ends with PARE; arrow
	// would ask for keys, which markimport has no way to take.
	if bytes.HasPrefix(head, parquetMagicEncrypted) || bytes.Equal(tail, parquetMagicEncrypted) {
		return errors.New("encrypted Parquet (magic PARE) is not supported: export it without encryption")
	}
	if !bytes.HasPrefix(head, parquetMagic) {
		return fmt.Errorf("not a Parquet file: it starts with %s, not PAR1 (for CSV, name it .csv or use --format csv)", Quote(string(head)))
	}
	if size < 12 || !bytes.Equal(tail, parquetMagic) {
		return fmt.Errorf("truncated or corrupt Parquet file: no PAR1 footer at the end of its %d bytes", size)
	}
	return nil
}

// DropArrowSchema removes the arrow schema that arrow-based writers
// (pyarrow, arrow-go, DuckDB) store in the footer, and reports whether
// there was one. It only picks arrow container types for the same values
// (large_string for string, dictionary for a dictionary-encoded column),
// which make no difference to the text read here; and decoding it trusts
// its flatbuffer, so a damaged one can exhaust memory, which no recover
// catches.
func DropArrowSchema(pf *file.Reader) bool {
	md := pf.MetaData()
	if md == nil || md.FileMetaData == nil {
		return false
	}
	kv := md.FileMetaData.KeyValueMetadata
	kept := kv[:0:0]
	for _, e := range kv {
		if e != nil && e.Key != "ARROW:schema" {
			kept = append(kept, e)
		}
	}
	md.FileMetaData.KeyValueMetadata = kept
	return len(kept) != len(kv)
}
