package backup

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// A CSV reader takes "\r\n" inside a quoted field for "\n" (encoding/csv
// does, and so does markimport's), so a custom mark holding "\r\n" cannot
// come back exactly from a CSV backup: the gate holds such a conversation
// unsent rather than back it up wrong. A Parquet backup holds any value:
// its journal is read back for the conversion by exactRecord, which keeps
// every byte.

// Faithful reports whether the backup gives the row back exactly when it
// is read as an input.
func (w *Writer) Faithful(r *Row) bool {
	return w.parquet || !strings.Contains(r.Custom, "\r\n")
}

// exactRecord reads one record of the CSV encoding/csv.Writer writes (a
// field is quoted when it needs to be, a quote inside doubled, a record
// ends in "\n") and keeps every byte of its fields. It returns io.EOF at
// the end.
func exactRecord(br *bufio.Reader, rec []string) ([]string, error) {
	rec = rec[:0]
	var f strings.Builder
	if _, err := br.Peek(1); err == io.EOF {
		return nil, io.EOF
	}
	for {
		f.Reset()
		c, err := br.ReadByte()
		if err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		if c == '"' {
			for {
				c, err := br.ReadByte()
				if err != nil {
					return nil, io.ErrUnexpectedEOF
				}
				if c == '"' {
					if next, _ := br.Peek(1); len(next) == 1 && next[0] == '"' {
						br.ReadByte()
						f.WriteByte('"')
						continue
					}
					break
				}
				f.WriteByte(c)
			}
			if c, err = br.ReadByte(); err != nil {
				return nil, io.ErrUnexpectedEOF
			}
		} else {
			for c != ',' && c != '\n' {
				if c == '"' || c == '\r' {
					return nil, errors.New("a bare quote or carriage return in an unquoted field")
				}
				f.WriteByte(c)
				if c, err = br.ReadByte(); err != nil {
					return nil, io.ErrUnexpectedEOF
				}
			}
		}
		rec = append(rec, f.String())
		switch c {
		case ',':
			continue
		case '\n':
			return rec, nil
		default:
			return nil, errors.New("a quoted field followed by something else than a comma or a newline")
		}
	}
}
