package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"markimport/pipeline/durable"
	"markimport/readers"
)

// Status is the fate of one input row.
type Status string

// The statuses of SPEC §5.
const (
	StatusOK       Status = "ok"
	StatusValid    Status = "valid" // dry run: the row would be sent
	StatusFailed   Status = "failed"
	StatusInvalid  Status = "invalid"
	StatusRejected Status = "rejected"
	StatusUnsent   Status = "unsent"
	// StatusUnchanged: the incremental state (--state) holds this item as
	// the API last confirmed it, so it was not sent again.
	StatusUnchanged Status = "unchanged"
	// StatusExists: insert-only mode (--mode insert) found marks on the
	// server for this conversation, so the item was not sent.
	StatusExists Status = "exists"
)

// Statuses lists every status in report order.
var Statuses = []Status{StatusOK, StatusUnchanged, StatusExists, StatusValid, StatusFailed, StatusInvalid, StatusRejected, StatusUnsent}

// Line is one line of the report: the outcome of one input row.
type Line struct {
	Row      int64
	From     string
	Type     string
	Peer     string
	Status   Status
	Code     int
	Message  string
	Attempts int
}

// Header is the report's column list.
var Header = []string{"row", "from_account", "type", "peer", "status", "code", "message", "attempts"}

// MultiHeader is the report's column list when the input has several
// files: the file of each row first, and row counts within that file.
var MultiHeader = append([]string{"file"}, Header...)

// multi returns in when it has several files (its reports name the file of
// each row), else nil.
func multi(in *readers.Input) *readers.Input {
	if in != nil && in.Multi() {
		return in
	}
	return nil
}

// headerOf is the report's header for the input in (nil: one file).
func headerOf(in *readers.Input) []string {
	if multi(in) != nil {
		return MultiHeader
	}
	return Header
}

// fileRow fills the file and row columns of rec for row and returns the
// rest of rec: with in (several files) the file's name and the row within
// it, else the row alone.
func fileRow(rec []string, in *readers.Input, row int64) []string {
	if in == nil {
		rec[0] = strconv.FormatInt(row, 10)
		return rec[1:]
	}
	name, local := in.FileRow(row)
	rec[0], rec[1] = name, strconv.FormatInt(local, 10)
	return rec[2:]
}

// Writer receives report lines as outcomes arrive. Implementations need
// not be safe for concurrent use: Run serialises calls.
type Writer interface {
	Write(Line) error
	// Sync makes what was written so far durable (flush and fsync).
	Sync() error
	Close() error
}

// Discard is a Writer that keeps nothing: a report nobody asked for.
type Discard struct{}

func (Discard) Write(Line) error { return nil }
func (Discard) Sync() error      { return nil }
func (Discard) Close() error     { return nil }

// csvFile writes CSV records to a file through a buffer: the one writer
// of the report, its journal and the verify report. It is safe for
// concurrent use, so a signal handler may sync it while a run writes. Its
// first error sticks: nothing is written after it, and every call returns
// it, so that a journal never holds lines after a gap.
type csvFile struct {
	mu   sync.Mutex
	sync func() error // makes what was flushed durable; nil: nothing to do
	buf  *bufio.Writer
	w    recordWriter
	rec  []string
	err  error
	// name, when set, says in an error which file failed.
	name func(error) error
}

// newCSVFile writes records of width fields to w; sync, when not nil,
// makes what was flushed to w durable.
func newCSVFile(w io.Writer, sync func() error, width int) *csvFile {
	buf := bufio.NewWriterSize(w, 256<<10)
	return &csvFile{sync: sync, buf: buf, w: recordWriter{buf}, rec: make([]string, width)}
}

// fail keeps the first error; c.mu is held.
func (c *csvFile) fail(err error) error {
	if err != nil && c.err == nil {
		if c.name != nil {
			err = c.name(err)
		}
		c.err = err
	}
	return c.err
}

// write appends the record fill puts into rec.
func (c *csvFile) write(fill func(rec []string)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	fill(c.rec)
	return c.fail(c.w.Write(c.rec))
}

// flush writes what is buffered to the file.
func (c *csvFile) flush() error { return c.buf.Flush() }

// recordWriter writes CSV records as encoding/csv does (comma-separated,
// "\n" line ends, a field quoted when it holds a comma, a quote, a line
// end or starts with a space, quotes doubled), straight into the buffer:
// a report of tens of millions of lines spends a third less on writing
// them than through csv.Writer.
type recordWriter struct{ b *bufio.Writer }

// Write writes one record.
func (w recordWriter) Write(rec []string) error {
	for i, f := range rec {
		if i > 0 {
			w.b.WriteByte(',')
		}
		if !needsQuotes(f) {
			w.b.WriteString(f)
			continue
		}
		w.b.WriteByte('"')
		for {
			j := strings.IndexByte(f, '"')
			if j < 0 {
				w.b.WriteString(f)
				break
			}
			w.b.WriteString(f[:j+1])
			w.b.WriteByte('"')
			f = f[j+1:]
		}
		w.b.WriteByte('"')
	}
	_, err := w.b.WriteString("\n")
	return err
}

// appendField appends one field as recordWriter.Write writes it.
func appendField(b []byte, f string) []byte {
	if !needsQuotes(f) {
		return append(b, f...)
	}
	b = append(b, '"')
	for {
		j := strings.IndexByte(f, '"')
		if j < 0 {
			b = append(b, f...)
			break
		}
		b = append(b, f[:j+1]...)
		b = append(b, '"')
		f = f[j+1:]
	}
	return append(b, '"')
}

// needsQuotes is encoding/csv's rule for a comma-separated field.
func needsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f == `\.` {
		return true
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	// encoding/csv also quotes a field that starts with a space.
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}

// flushSync flushes and fsyncs.
func (c *csvFile) flushSync() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if err := c.flush(); err != nil {
		return c.fail(err)
	}
	if c.sync == nil {
		return nil
	}
	return c.fail(c.sync())
}

// CSV writes the report as CSV, appending to a file so that what was
// written before a crash stays readable: the journal of a run. Each time it
// is made durable, a checkpoint of what it holds is appended to its
// checkpoints file (see checkpoint.go).
type CSV struct {
	*csvFile
	file  durable.File
	tally *tally
	cps   *checkpoints
	in    *readers.Input // an input of several files, or nil
	path  string         // the file's name now: it is renamed while open
}

// CreateCSV creates (truncating) a CSV report at path and its checkpoints
// file, through fsys (nil: the disk), for the input in (nil: one file), and
// makes its header durable at once: a run killed before its first lines
// still leaves a report that --resume takes.
func CreateCSV(fsys durable.FS, path string, in *readers.Input) (*CSV, error) {
	f, err := durable.Or(fsys).OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create report: %w", err)
	}
	cps, err := createCheckpoints(fsys, CheckpointsOf(path))
	if err != nil {
		f.Close()
		return nil, err
	}
	r := newCSV(f, cps, path, in)
	r.w.Write(headerOf(in))
	if err := r.flushSync(); err != nil {
		r.closeFiles()
		return nil, err
	}
	return r, nil
}

// newCSV writes the report to f, which is at its start, checkpointing it
// in cps.
func newCSV(f durable.File, cps *checkpoints, path string, in *readers.Input) *CSV {
	r := &CSV{file: f, tally: &tally{w: f}, cps: cps, in: multi(in), path: path}
	r.csvFile = newCSVFile(r.tally, r.syncFile, len(headerOf(in)))
	r.csvFile.name = func(err error) error { return newWriteError(r.path, err) }
	return r
}

// syncFile makes the bytes written durable, then records them in a
// checkpoint; r.mu is held, and every line is flushed.
func (r *CSV) syncFile() error {
	if err := r.file.Sync(); err != nil {
		return err
	}
	return r.cps.add(r.tally.checkpoint)
}

// renamed records that the file and its checkpoints now have the names of
// the journal at path, for messages.
func (r *CSV) renamed(path string) {
	r.mu.Lock()
	r.path, r.cps.name = path, CheckpointsOf(path)
	r.mu.Unlock()
}

// written is what the file holds: its length, line ends and CRC-32C, once
// it is closed.
func (r *CSV) written() checkpoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tally.checkpoint
}

// Err is the error that stopped the writing, if any: no line was written
// after it.
func (r *CSV) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Write appends one line.
func (r *CSV) Write(l Line) error {
	return r.write(func(rec []string) {
		rec = fileRow(rec, r.in, l.Row)
		rec[0] = l.From
		rec[1] = l.Type
		rec[2] = l.Peer
		rec[3] = string(l.Status)
		rec[4] = strconv.Itoa(l.Code)
		rec[5] = l.Message
		rec[6] = strconv.Itoa(l.Attempts)
	})
}

// AppendLines appends to dst the lines of l for each of rows (l.Row is
// not used), byte for byte what Write writes for them one at a time, but
// with the columns after the row formatted once: a night of tens of
// millions of unchanged rows reports them a user's items at a time. It
// changes nothing in r, so that several goroutines may format while one
// writes; WriteLines writes the result.
func (r *CSV) AppendLines(dst []byte, l Line, rows []int64) []byte {
	// The columns after the row are formatted after the first row's, and
	// copied from there after the others'.
	tail, end := -1, -1
	for _, row := range rows {
		if r.in == nil {
			dst = strconv.AppendInt(dst, row, 10)
		} else {
			name, local := r.in.FileRow(row)
			dst = appendField(dst, name)
			dst = append(dst, ',')
			dst = strconv.AppendInt(dst, local, 10)
		}
		if tail >= 0 {
			dst = append(dst, dst[tail:end]...)
			continue
		}
		tail = len(dst)
		dst = append(dst, ',')
		dst = appendField(dst, l.From)
		dst = append(dst, ',')
		dst = appendField(dst, l.Type)
		dst = append(dst, ',')
		dst = appendField(dst, l.Peer)
		dst = append(dst, ',')
		dst = appendField(dst, string(l.Status))
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(l.Code), 10)
		dst = append(dst, ',')
		dst = appendField(dst, l.Message)
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(l.Attempts), 10)
		dst = append(dst, '\n')
		end = len(dst)
	}
	return dst
}

// WriteLines writes lines that AppendLines formatted.
func (r *CSV) WriteLines(b []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	_, err := r.buf.Write(b)
	return r.fail(err)
}

// Sync flushes buffered lines, fsyncs the file and records a checkpoint.
func (r *CSV) Sync() error { return r.flushSync() }

// Close syncs and closes the file and its checkpoints.
func (r *CSV) Close() error {
	err := r.flushSync()
	if cerr := r.closeFiles(); err == nil {
		err = cerr
	}
	return err
}

func (r *CSV) closeFiles() error {
	err := r.file.Close()
	if cerr := r.cps.close(); err == nil {
		err = cerr
	}
	return err
}
