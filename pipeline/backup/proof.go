package backup

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// A backup proves itself: a rollback that silently restores fewer
// conversations than the run changed is the failure a backup exists to
// prevent.
//
// Every time the journal is made durable, a checkpoint is appended to its
// check file (checkOf(journal)) and made durable in turn: how many bytes
// the journal holds, how many rows (after the header), and the SHA-256 of
// those bytes, in a fixed-length text record that carries its own CRC-32C.
// Only then may the requests of the rows it covers leave. A journal
// shorter than its last checkpoint lost its end; one whose bytes do not
// give the checkpoint's SHA-256 had a line changed, removed, added or
// moved; a journal holding rows without a check file lost its proof. Each
// is refused. What follows the last checkpoint was never proven, so no
// request left on its account: --resume drops it.
//
// A finished backup carries the same proof for its whole content: a CSV
// backup in its check file (one checkpoint), a Parquet backup in its
// key-value metadata (parquetMetaKey), the checkpoint of the CSV form of
// its rows (their bytes as markimport writes them as CSV), so that one
// check serves both formats.
//
// A file claims to be a markimport backup by its shape: a CSV file whose
// first line is exactly headerLine (a byte-order mark, header, "\n"), a
// Parquet file whose columns are exactly header and whose metadata holds
// parquetMetaKey. A rejects file of a backup (the backup's columns plus
// status, code, message) does not claim to be one.

// checkOf is the check file of the CSV backup or journal at path.
func checkOf(path string) string { return path + ".check" }

// parquetMetaKey is the key-value metadata entry of a Parquet backup that
// holds its checkpoint.
const parquetMetaKey = "markimport.backup"

// castagnoli is the CRC-32C table that checks a checkpoint record.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkpoint is what a backup's CSV form held when it was made durable:
// its first Size bytes, the header and Rows rows, with the SHA-256 Sum.
type checkpoint struct {
	Size, Rows int64
	Sum        [sha256.Size]byte
}

// recordLen is the length of a checkpoint record: "backup", size and rows
// as 20 decimal digits, the SHA-256 as 64 hex digits, the record's own
// CRC-32C as 8, separated by spaces, and a line end.
const recordLen = 6 + 1 + 20 + 1 + 20 + 1 + 64 + 1 + 8 + 1

// record formats c as one checkpoint record.
func (c checkpoint) record() []byte {
	b := fmt.Appendf(make([]byte, 0, recordLen), "backup %020d %020d %x ", c.Size, c.Rows, c.Sum)
	return fmt.Appendf(b, "%08x\n", crc32.Checksum(b, castagnoli))
}

// parseRecord reads one checkpoint record of recordLen bytes.
func parseRecord(b []byte) (checkpoint, error) {
	if len(b) != recordLen || string(b[:7]) != "backup " || b[27] != ' ' || b[48] != ' ' || b[113] != ' ' || b[recordLen-1] != '\n' {
		return checkpoint{}, errors.New("not a checkpoint record")
	}
	crc, err := strconv.ParseUint(string(b[114:122]), 16, 32)
	if err != nil || uint32(crc) != crc32.Checksum(b[:114], castagnoli) {
		return checkpoint{}, errors.New("a checkpoint record that fails its CRC")
	}
	var c checkpoint
	size, err1 := strconv.ParseInt(string(b[7:27]), 10, 64)
	rows, err2 := strconv.ParseInt(string(b[28:48]), 10, 64)
	_, err3 := hex.Decode(c.Sum[:], b[49:113])
	if err1 != nil || err2 != nil || err3 != nil || size < 0 || rows < 0 {
		return checkpoint{}, errors.New("a checkpoint record with malformed numbers")
	}
	c.Size, c.Rows = size, rows
	return c, nil
}

// readCheckpoints returns the last checkpoint of the check file at path
// (nil when it holds none, or does not exist) and the length of the
// records believed. A record torn by a crash (the last, incomplete or
// failing its CRC: its sync never completed, so no request left on its
// account) is not believed: good is then shorter than the file. Any other
// damage, or checkpoints that go backwards, is an error.
func readCheckpoints(path string) (last *checkpoint, good int64, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	return parseCheckpoints(path, b)
}

// parseCheckpoints is readCheckpoints of the bytes b of the check file
// path.
func parseCheckpoints(path string, b []byte) (last *checkpoint, good int64, err error) {
	n := len(b) / recordLen
	torn := len(b)%recordLen != 0
	for k := range n {
		c, err := parseRecord(b[k*recordLen : (k+1)*recordLen])
		if err != nil {
			if k == n-1 && !torn {
				break
			}
			return nil, 0, fmt.Errorf("%s: record %d: %v", path, k+1, err)
		}
		if last != nil && (c.Size < last.Size || c.Rows < last.Rows) {
			return nil, 0, fmt.Errorf("%s: record %d goes back from %d rows to %d", path, k+1, last.Rows, c.Rows)
		}
		last = &c
		good = int64(k+1) * recordLen
	}
	return last, good, nil
}

// tally follows the CSV form of a backup as it is written: its bytes, its
// rows and their SHA-256 so far.
type tally struct {
	size, rows int64
	h          hash.Hash
}

func newTally() tally { return tally{h: sha256.New()} }

// Write adds p to the bytes.
func (t *tally) Write(p []byte) (int, error) {
	t.h.Write(p)
	t.size += int64(len(p))
	return len(p), nil
}

// checkpoint is what the tally has seen.
func (t *tally) checkpoint() checkpoint {
	c := checkpoint{Size: t.size, Rows: t.rows}
	t.h.Sum(c.Sum[:0])
	return c
}

// ProofError says that a file claiming to be a markimport backup does not
// prove itself: what it holds is not what markimport wrote.
type ProofError struct {
	Path string
	Why  string
}

func (e *ProofError) Error() string {
	return fmt.Sprintf("the backup %s does not prove itself: %s", e.Path, e.Why)
}

// headerLine is the backup's first line as markimport writes it: a
// byte-order mark (which markimport, like most CSV readers, skips) and
// the header, ending in "\n". The mark sets the backup apart from an
// export that happens to have the same columns in the same order; an
// export written by Excel with a mark ends its lines in "\r\n".
var headerLine = bom + strings.Join(header, ",") + "\n"

// bom is the UTF-8 byte-order mark.
const bom = "\ufeff"

// claimsCSV reports whether the CSV file src starts with the backup's
// header line, byte for byte.
func claimsCSV(src source) (bool, error) {
	r, c, err := src.readerAt()
	if err != nil {
		return false, err
	}
	defer c.Close()
	b := make([]byte, len(headerLine))
	n, err := r.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return string(b[:n]) == headerLine, nil
}

// scanCSV reads the first limit bytes of the CSV backup at path (all of it
// when limit < 0) and returns their tally: bytes, rows after the header,
// SHA-256. It fails when the file is shorter than limit, when limit cuts
// a row, or when the first line is not the header.
func scanCSV(path string, limit int64) (tally, error) {
	return scanFrom(localFile(path), limit)
}

// scanFrom is scanCSV of the CSV file src.
func scanFrom(src source, limit int64) (tally, error) {
	t := newTally()
	f, err := src.open()
	if err != nil {
		return t, err
	}
	defer f.Close()
	var r io.Reader = f
	if limit >= 0 {
		r = io.LimitReader(f, limit)
	}
	br := bufio.NewReaderSize(io.TeeReader(r, &t), 1<<20)
	var rec []string
	for n := 0; ; n++ {
		rec, err = exactRecord(br, rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			return t, fmt.Errorf("record %d: %w", n+1, err)
		}
		if n == 0 {
			if strings.Join(rec, ",")+"\n" != headerLine {
				return t, errors.New("its first line is not the backup's header")
			}
			continue
		}
		t.rows++
	}
	if limit >= 0 && t.size != limit {
		return t, io.ErrUnexpectedEOF
	}
	return t, nil
}

// countRows counts the complete rows of the CSV file src, for messages:
// how many a damaged backup still holds.
func countRows(src source) int64 {
	f, err := src.open()
	if err != nil {
		return 0
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var rec []string
	n := int64(-1) // the header
	for {
		if rec, err = exactRecord(br, rec); err != nil {
			return max(n, 0)
		}
		n++
	}
}

// proveCSV checks the CSV backup (or journal) at path against its last
// checkpoint cp: its first cp.Size bytes must hold the header and cp.Rows
// rows with the SHA-256 cp.Sum. It returns the tally of those bytes, to
// continue from, and how many bytes follow them (never proven).
func proveCSV(path string, cp checkpoint) (tally, int64, error) {
	return proveFrom(localFile(path), cp)
}

// proveFrom is proveCSV of the CSV file src.
func proveFrom(src source, cp checkpoint) (tally, int64, error) {
	path := src.name()
	size, err := src.size()
	if err != nil {
		return tally{}, 0, err
	}
	if size < cp.Size {
		return tally{}, 0, &ProofError{Path: path, Why: fmt.Sprintf("it holds %d bytes (%d rows), its check %s proves %d bytes (%d rows): it lost its end, and with it the rows of conversations the run changed",
			size, countRows(src), checkOf(path), cp.Size, cp.Rows)}
	}
	t, err := scanFrom(src, cp.Size)
	if err != nil || t.rows != cp.Rows || t.checkpoint().Sum != cp.Sum {
		why := fmt.Sprintf("its first %d bytes are not those its check %s proves (%d rows, sha256 %.12x…): a row was changed, removed, added or moved", cp.Size, checkOf(path), cp.Rows, cp.Sum)
		if err != nil {
			why += " (" + err.Error() + ")"
		}
		return tally{}, 0, &ProofError{Path: path, Why: why}
	}
	return t, size - cp.Size, nil
}

// CheckInput checks an input file before it is imported (run, verify):
// nil when it does not claim to be a markimport backup (see the shape
// above) or proves itself, else a *ProofError saying what is wrong. A
// journal's unproven end (a run killed between its two syncs) is refused
// too: --resume --backup settles it.
func CheckInput(path string, parquet bool) error {
	return checkInput(localFile(path), parquet)
}

// checkInput is CheckInput of the file src.
func checkInput(src source, parquet bool) error {
	path := src.name()
	if parquet {
		_, err := proveParquetFrom(src)
		return err
	}
	claimed, err := claimsCSV(src)
	if err != nil || !claimed {
		return err
	}
	cp, err := lastCheckpoint(src)
	if err != nil {
		return &ProofError{Path: path, Why: fmt.Sprintf("its check file is damaged: %v", err)}
	}
	if cp == nil {
		return &ProofError{Path: path, Why: fmt.Sprintf("it starts as a markimport backup does (a byte-order mark and the backup's header) but has no check file %s (the file that proves its rows complete and unchanged): it was copied without it, or is not the file markimport wrote", checkOf(path))}
	}
	_, extra, err := proveFrom(src, *cp)
	if err != nil {
		return err
	}
	if extra > 0 {
		return &ProofError{Path: path, Why: fmt.Sprintf("it holds %d bytes after the %d rows its check %s proves: rows were added, or a run was killed before it could prove its last rows (then continue that run with --resume --backup, which drops them: none of their requests was sent)",
			extra, cp.Rows, checkOf(path))}
	}
	return nil
}

// proveBytes checks that data (a CSV form, written by this process) is
// what cp proves: a conversion reads its journal back through it.
func proveBytes(path string, t *tally, cp checkpoint) error {
	if got := t.checkpoint(); got != cp {
		return &ProofError{Path: path, Why: fmt.Sprintf("it holds %d bytes and %d rows (sha256 %.12x…), its check proves %d bytes and %d rows (sha256 %.12x…)",
			got.Size, got.Rows, got.Sum, cp.Size, cp.Rows, cp.Sum)}
	}
	return nil
}

// lastCheckpoint is the last checkpoint of the check file of src, nil when
// there is none.
func lastCheckpoint(src source) (*checkpoint, error) {
	b, err := src.check()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cp, _, err := parseCheckpoints(checkOf(src.name()), b)
	return cp, err
}
