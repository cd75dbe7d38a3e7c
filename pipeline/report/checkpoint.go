package report

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"

	"markimport/pipeline/durable"
)

// A journal proves itself. Each time it is made durable, a record is
// appended to its checkpoints file (JOURNAL.checkpoints) and made durable in
// turn: how many bytes and lines the journal holds and the CRC-32C of those
// bytes, with a CRC-32C of the record itself. --resume believes a journal
// only as far as its last checkpoint: a journal shorter than that lost its
// tail, one whose bytes do not give the recorded checksum at some
// checkpoint was changed before it (an edited digit, a stray quote, lines
// swapped), and either is refused. What follows the last checkpoint was
// written after the last sync (about a second of results at most): nothing
// vouches for it, so its lines are dropped, said in the log, and their rows
// planned again. A finished report carries the same proof, for its whole
// file, in its .meta.json.
//
// The checksum is computed over the bytes as they leave the journal's
// buffer, so it costs a pass of the CPU's CRC instruction over what is
// written anyway.

// castagnoli is the CRC-32C table (hardware-accelerated on amd64 and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkpointsOf is the checkpoints file of the journal at path.
func checkpointsOf(journal string) string { return journal + ".checkpoints" }

// checkpoint is what a journal held when it was made durable: its first
// Size bytes, which hold Lines line ends and have the CRC-32C CRC.
type checkpoint struct {
	Size, Lines int64
	CRC         uint32
}

// tally counts and checksums the bytes written through it.
type tally struct {
	w io.Writer
	checkpoint
}

func (t *tally) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.add(p[:n])
	return n, err
}

func (t *tally) add(p []byte) {
	t.Size += int64(len(p))
	t.Lines += int64(bytes.Count(p, []byte{'\n'}))
	t.CRC = crc32.Update(t.CRC, castagnoli, p)
}

// recordLen is the length of a checkpoint record: size and lines as 20
// decimal digits, the journal's CRC-32C and the record's own as 8 hex
// digits, separated by spaces, and a line end.
const recordLen = 20 + 1 + 20 + 1 + 8 + 1 + 8 + 1

// record formats c as one checkpoint record.
func (c checkpoint) record() []byte {
	b := fmt.Appendf(make([]byte, 0, recordLen), "%020d %020d %08x ", c.Size, c.Lines, c.CRC)
	return fmt.Appendf(b, "%08x\n", crc32.Checksum(b, castagnoli))
}

// parseRecord reads one checkpoint record of recordLen bytes.
func parseRecord(b []byte) (checkpoint, bool) {
	if len(b) != recordLen || b[20] != ' ' || b[41] != ' ' || b[50] != ' ' || b[recordLen-1] != '\n' {
		return checkpoint{}, false
	}
	size, err1 := strconv.ParseUint(string(b[:20]), 10, 63)
	lines, err2 := strconv.ParseUint(string(b[21:41]), 10, 63)
	crc, err3 := strconv.ParseUint(string(b[42:50]), 16, 32)
	own, err4 := strconv.ParseUint(string(b[51:59]), 16, 32)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || uint32(own) != crc32.Checksum(b[:51], castagnoli) {
		return checkpoint{}, false
	}
	return checkpoint{Size: int64(size), Lines: int64(lines), CRC: uint32(crc)}, true
}

// checkpoints is a journal's open checkpoints file.
type checkpoints struct {
	f    durable.File
	name string // its name now (the journal and it are renamed while open)
}

// createCheckpoints creates (truncating) the checkpoints file at path.
func createCheckpoints(fsys durable.FS, path string) (*checkpoints, error) {
	f, err := durable.CreateJournal(fsys, path)
	if err != nil {
		return nil, &WriteError{Path: path, Err: err}
	}
	return &checkpoints{f: f, name: path}, nil
}

// add appends c and makes it durable. The journal's bytes it vouches for
// must be durable already.
func (c *checkpoints) add(cp checkpoint) error {
	if _, err := c.f.Write(cp.record()); err != nil {
		return newWriteError(c.name, err)
	}
	if err := durable.Persist(c.f); err != nil {
		return newWriteError(c.name, err)
	}
	return nil
}

func (c *checkpoints) close() error { return c.f.Close() }

// readCheckpoints reads the checkpoints file at path. A last record cut
// short (a power cut while it was appended; the journal's bytes it would
// have vouched for were durable, so the one before still holds) is left
// out and said in note. A whole record that fails its own check, or
// records out of order, are damage: an error.
func readCheckpoints(path string) (cps []checkpoint, note string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	for off := 0; off < len(b); off += recordLen {
		if len(b)-off < recordLen {
			note = fmt.Sprintf("the last record of %s was cut short (%d of %d bytes: a crash while it was written) and is left out", path, len(b)-off, recordLen)
			break
		}
		cp, ok := parseRecord(b[off : off+recordLen])
		if !ok {
			return nil, "", &damagedError{Path: path, Detail: fmt.Sprintf("its record %d (bytes %d to %d) fails its own check", off/recordLen+1, off+1, off+recordLen)}
		}
		if n := len(cps); n > 0 && (cp.Size < cps[n-1].Size || cp.Lines < cps[n-1].Lines || cp.Size == cps[n-1].Size && cp != cps[n-1]) {
			return nil, "", &damagedError{Path: path, Detail: fmt.Sprintf("its record %d goes back from record %d (%d bytes, %d lines, then %d bytes, %d lines)",
				n+1, n, cps[n-1].Size, cps[n-1].Lines, cp.Size, cp.Lines)}
		}
		cps = append(cps, cp)
	}
	return cps, note, nil
}
