package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/parquet/file"
)

// Recognise reports whether path is a backup, or the backup of a run in
// progress: it returns the file that shows it, path itself or its journal
// beside it (FilesOf), or "" when neither is a backup. A file is a backup
// when it begins with exactly a backup's header (CSV; an optional UTF-8 BOM
// and a CRLF line end are allowed) or has exactly a backup's columns
// (Parquet). This is the one test of what a backup is: a command refuses to
// write any of its outputs over one, with --overwrite too, since a backup
// may be the only way back to the marks before the run that wrote it. An
// error says that a file exists and could not be read to tell.
func Recognise(path string) (string, error) {
	for _, p := range []string{path, FilesOf(path).Journal} {
		is, err := hasBackupShape(p)
		if err != nil {
			return "", err
		}
		if is {
			return p, nil
		}
	}
	return "", nil
}

// parquetMagic begins (and ends) every Parquet file.
var parquetMagic = []byte("PAR1")

// hasBackupShape reports whether the file at path begins as a backup does;
// a missing file, a folder or an empty file is not a backup.
func hasBackupShape(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("is %s a backup? %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return false, err
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("is %s a backup? %w", path, err)
	}
	head = head[:n]
	if bytes.HasPrefix(head, parquetMagic) {
		return hasBackupColumns(f), nil
	}
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	line := strings.Join(header, ",")
	return bytes.HasPrefix(head, []byte(line+"\n")) || bytes.HasPrefix(head, []byte(line+"\r\n")), nil
}

// hasBackupColumns reports whether the Parquet file f has exactly the
// columns of a backup, in their order. A file that is not readable Parquet
// is not a backup.
func hasBackupColumns(f *os.File) (is bool) {
	defer func() {
		if recover() != nil {
			is = false // the Parquet library panics on some damaged files
		}
	}()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return false
	}
	defer pf.Close()
	sc := pf.MetaData().Schema
	if sc.NumColumns() != len(header) {
		return false
	}
	for i, h := range header {
		if sc.Column(i).Name() != h {
			return false
		}
	}
	return true
}
