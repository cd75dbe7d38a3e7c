package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"

	"markimport/readers"
)

// proof is what vouches for the bytes of a CSV report: the checkpoints of
// a journal, or the one record of a finished report, which must then be
// exactly as long as it says (exact).
type proof struct {
	cps             []checkpoint
	exact           bool
	path, proofPath string
}

// readProven calls fn with every record of the CSV report p.path that p
// vouches for, after its header, which must be want, and returns what
// follows (for a journal: lines written after its last checkpoint). It
// fails when the file is shorter than its proof, or its bytes are not
// those the proof records (a *damagedError), or a proven line cannot be
// read.
func readProven(p proof, want []string, fn func(line int64, rec []string) error) (tail, error) {
	f, err := os.Open(p.path)
	if err != nil {
		return tail{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return tail{}, err
	}
	var last checkpoint
	if len(p.cps) > 0 {
		last = p.cps[len(p.cps)-1]
	}
	switch size := st.Size(); {
	case size < last.Size:
		return tail{}, &damagedError{Path: p.path, Proof: p.proofPath,
			Detail: fmt.Sprintf("it lost %d bytes of its tail: it holds %d bytes, and %d bytes in %d lines were made durable", last.Size-size, size, last.Size, last.Lines)}
	case p.exact && size > last.Size:
		return tail{}, &damagedError{Path: p.path, Proof: p.proofPath, Detail: fmt.Sprintf("it holds %d bytes more than the %d written", size-last.Size, last.Size)}
	}
	v := &verifier{r: io.NewSectionReader(f, 0, last.Size), cps: p.cps, path: p.path, proof: p.proofPath}
	if last.Size > 0 {
		err := readProvenRecords(v, p.path, want, fn)
		// A line that cannot be read is damage when the checkpoints after
		// it show it (a stray quote): the reading goes on to them. The
		// last checkpoint is checked when the reading reaches it.
		if _, derr := io.Copy(io.Discard, v); v.err != nil {
			return tail{}, v.err
		} else if err == nil {
			err = derr
		}
		if err != nil {
			return tail{}, err
		}
	}
	return readTail(f, last.Size, st.Size())
}

// readProvenRecords reads the CSV records of r, which must start with the
// header want and hold records of as many fields, and calls fn with each.
func readProvenRecords(r io.Reader, path string, want []string, fn func(line int64, rec []string) error) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.FieldsPerRecord = len(want)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil || strings.Join(header, ",") != strings.Join(want, ",") {
		return fmt.Errorf("%s is not a markimport report of this input (header %s, want %s)", path, readers.Quote(strings.Join(header, ",")), strings.Join(want, ","))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		if err := fn(int64(line), rec); err != nil {
			return err
		}
	}
}

// tail is what follows the verified part of a journal: lines written after
// its last checkpoint, which nothing vouches for.
type tail struct {
	Bytes, Lines int64
	Torn         bool // it ends in a line without its line end
}

// verifier reads the first bytes of a journal that its checkpoints vouch
// for, checking each checkpoint as the reading passes it.
type verifier struct {
	r     io.Reader
	cps   []checkpoint
	k     int // the next checkpoint to check
	sum   checkpoint
	err   error
	path  string // for messages
	proof string
}

func (v *verifier) Read(p []byte) (int, error) {
	if err := v.check(); err != nil {
		return 0, err
	}
	if v.k == len(v.cps) {
		return 0, io.EOF
	}
	if left := v.cps[v.k].Size - v.sum.Size; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := v.r.Read(p)
	v.sum.Size += int64(n)
	v.sum.Lines += int64(bytes.Count(p[:n], []byte{'\n'}))
	v.sum.CRC = crc32.Update(v.sum.CRC, castagnoli, p[:n])
	if cerr := v.check(); cerr != nil {
		return n, cerr
	}
	if err == io.EOF && v.k < len(v.cps) {
		err = io.ErrUnexpectedEOF // the file was checked to be long enough
	}
	return n, err
}

// check compares the checkpoints the reading has reached.
func (v *verifier) check() error {
	for v.err == nil && v.k < len(v.cps) && v.sum.Size == v.cps[v.k].Size {
		if cp := v.cps[v.k]; v.sum != cp {
			from := int64(1)
			if v.k > 0 {
				from = v.cps[v.k-1].Lines + 1
			}
			v.err = &damagedError{Path: v.path, Proof: v.proof,
				Detail: fmt.Sprintf("it was changed at or before line %d: its lines %d to %d are not the bytes that were written (its lines before %d are)", cp.Lines, from, cp.Lines, from)}
			return v.err
		}
		v.k++
	}
	return v.err
}

// readTail measures what follows the first size bytes of f.
func readTail(f io.ReaderAt, size, end int64) (tail, error) {
	t := tail{Bytes: end - size}
	br := bufio.NewReaderSize(io.NewSectionReader(f, size, end-size), 1<<20)
	last := byte('\n')
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			last = b[len(b)-1]
			if last == '\n' {
				t.Lines++
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return t, err
		}
	}
	t.Torn = t.Bytes > 0 && last != '\n'
	return t, nil
}

// damagedError says that a report file is not what markimport wrote, and
// how it differs.
type damagedError struct {
	// Path is the damaged file; Proof the file whose record shows it (the
	// journal's checkpoints, the report's .meta.json), if another.
	Path, Proof string
	Detail      string
}

func (e *damagedError) Error() string {
	if e.Proof == "" {
		return fmt.Sprintf("%s is not what markimport wrote: %s", e.Path, e.Detail)
	}
	return fmt.Sprintf("%s is not what markimport wrote: %s (by its record in %s)", e.Path, e.Detail, e.Proof)
}
