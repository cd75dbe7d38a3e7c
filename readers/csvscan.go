package readers

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"unsafe"
)

// csvScanner splits RFC 4180 CSV into records in bounded memory. It reads
// what encoding/csv reads (the same fields, the same records, the same
// malformed quotes, blank lines skipped, "\r\n" read as "\n"), but a record
// costs at most what its caller lets it keep: of each field only the first
// keep(i) bytes are kept and the rest is counted, and fields beyond
// maxFields are counted and not kept at all. So a record of 16 million
// fields or a field of 300 MB is read at the speed of the disk into a few
// kilobytes, and comes out as one record whose fields' sizes say what it
// held.
type csvScanner struct {
	br    *bufio.Reader
	comma byte
	// keepOf[i] is how many bytes of field i (0-based) a record keeps;
	// keepRest of fields beyond keepOf.
	keepOf   []int
	keepRest int
	// maxFields is how many fields a record keeps; more are counted.
	maxFields int

	line int64 // physical lines read so far

	// The record being read.
	buf     []byte  // kept bytes of every kept field, one after another
	ends    []int   // end of each kept field in buf
	starts  []int   // start of each field of a plain line (plainLine)
	sizes   []int64 // the whole size of each kept field
	nfields int64   // fields seen, kept or not
	size    int64   // size of the current field so far
	err     *csvError
	started bool // the record has begun (a blank line has not)
	cr      bool // a "\r" ended the last piece of a long line
	first   int64

	slab slab // the strings of records are carved from it

	// Of the lines starting with a quote: how many were tried as plain
	// lines, how many were, and how many were not tried (tryPlain).
	quoteLines struct{ tried, plain, skipped int64 }
}

// csvError is a malformed record: a quote where none may be, or a quoted
// field that never ends.
type csvError struct {
	line  int64 // physical line of the problem (1-based)
	field int64 // field number (1-based)
	msg   string
	// unended, when not 0, is the last line of a quoted field that never
	// ends (msg is then unused): the record starts on line.
	unended int64
}

func (e *csvError) Error() string {
	msg := e.msg
	if e.unended != 0 {
		msg = fmt.Sprintf(`a quoted field of the record that starts on line %d never ends: the rest of the file (to line %d) was read as this one field`, e.line, e.unended)
	}
	return fmt.Sprintf("malformed CSV at line %d, field %d: %s", e.line, e.field, msg)
}

// shift moves the lines of e by n: a record read from the middle of a
// file, numbered from there, gets the lines of the whole file.
func (e *csvError) shift(n int64) {
	e.line += n
	if e.unended != 0 {
		e.unended += n
	}
}

// Messages of malformed records, saying what to do about them.
const (
	msgBareQuote = `a " inside a field that is not quoted (quote the whole field and double the " inside it)`
	msgQuoteEnd  = `a quoted field goes on after its closing " (a " inside a quoted field must be doubled)`
)

func newCSVScanner(br *bufio.Reader, comma byte) *csvScanner {
	return &csvScanner{br: br, comma: comma, keepRest: keepOtherBytes, maxFields: 1 << 30}
}

// record is one record as read: the kept text of each kept field, the whole
// size of each (size), and how many fields it had.
type record struct {
	fields []string
	// sizes holds each field's whole size, unless whole is set: then every
	// field was kept whole, sizes is empty, and each size is its field's
	// length.
	sizes   []int64
	whole   bool
	nfields int64
	err     *csvError
	line    int64 // physical line the record starts on
}

// size is the whole size of field i, kept or not.
func (r *record) size(i int) int64 {
	if r.whole {
		return int64(len(r.fields[i]))
	}
	return r.sizes[i]
}

// cut reports whether field i lost bytes to the keep limit.
func (r *record) cut(i int) bool { return r.size(i) > int64(len(r.fields[i])) }

// scan states within a record.
const (
	stField    = iota // at the start of a field
	stUnquoted        // in a field that is not quoted
	stQuoted          // in a quoted field
	stQuote           // just after a " in a quoted field: its end, or the first of ""
	stSkip            // after a malformed quote: the rest of the line is dropped
)

// next reads the next record into rec, reusing its memory (the strings of
// rec are fresh each time and may be kept). It returns io.EOF when the
// input ends before another record, or a read error of the input.
func (s *csvScanner) next(rec *record) error {
	s.buf, s.ends, s.sizes = s.buf[:0], s.ends[:0], s.sizes[:0]
	s.nfields, s.size, s.err, s.started, s.cr = 0, 0, nil, false, false
	s.first = s.line + 1
	st := stField
	for {
		p, rerr := s.br.ReadSlice('\n')
		if rerr != nil && rerr != bufio.ErrBufferFull && rerr != io.EOF {
			return rerr
		}
		nl := len(p) > 0 && p[len(p)-1] == '\n'
		if nl {
			s.line++
		}
		if !s.started {
			// Blank lines between records are skipped, as encoding/csv does.
			if nl && (len(p) == 1 || len(p) == 2 && p[0] == '\r') {
				if rerr == io.EOF {
					return io.EOF
				}
				s.first = s.line + 1
				continue
			}
			if rerr == io.EOF && (len(p) == 0 || len(p) == 1 && p[0] == '\r') {
				return io.EOF
			}
			s.started = true
			if nl && s.tryPlain(p, rec) {
				return nil
			}
		}
		ended := false
		st, ended = s.scan(p, nl, rerr == io.EOF, st)
		if ended {
			break
		}
		if rerr == io.EOF {
			// The input ends inside the record.
			switch st {
			case stQuoted:
				if s.err == nil {
					s.err = &csvError{line: s.first, field: s.nfields + 1, unended: s.line + 1}
				}
				s.endField()
			case stSkip:
			default:
				s.endField()
			}
			break
		}
	}
	s.finish(rec)
	return nil
}

// tryPlain reads the record that is line p (with its "\n") as a plain
// line, when it may be one. A line that starts with a quote is tried only
// while most such lines have been plain: in a file quoted throughout whose
// fields hold doubled quotes or line breaks, the general scanner reads
// each line alone, not after a plain reading that fails half-way. One in
// quotedRetry of them is tried still, so that a file whose first lines
// are such lines and whose others are not comes back to plain lines.
// Which lines are tried changes the time a line takes, never its record.
func (s *csvScanner) tryPlain(p []byte, rec *record) bool {
	if p[0] != '"' {
		return s.plainLine(p[:len(p)-1], rec)
	}
	q := &s.quoteLines
	retry := false
	if q.tried >= quotedTrial && 2*q.plain < q.tried {
		if q.skipped++; q.skipped%quotedRetry != 0 {
			return false
		}
		retry = true
	}
	ok := s.plainLine(p[:len(p)-1], rec)
	if retry && ok {
		q.tried, q.plain = 0, 0 // plain lines again: a new trial
	}
	q.tried++
	if ok {
		q.plain++
	}
	return ok
}

// Lines that start with a quote are tried as plain lines for the first
// quotedTrial of them, then while at least half were plain, and then one
// in quotedRetry, which starts a new trial when it is plain.
const (
	quotedTrial = 64
	quotedRetry = 1024
)

// plainLine reads a record that is one whole line, body (without its
// "\n"), when none of its fields holds a quote beyond the two around a
// quoted one and none is cut to its keep limit, the common case: its text
// is copied once, delimiters and quotes included, and the fields are
// sliced from it. It reads what scan reads of such a line; otherwise it
// returns false having changed nothing, and scan reads the line.
func (s *csvScanner) plainLine(body []byte, rec *record) bool {
	if n := len(body); n > 0 && body[n-1] == '\r' {
		body = body[:n-1] // "\r\n" ends the line
	}
	// The bounds of each field, checked against its keep limit before
	// anything is copied. The line is looked at eight bytes at a time,
	// for its delimiters and its quotes at once: its fields are short,
	// and a search call for each costs more than the bytes. A quote
	// opens a quoted field, read to its closing quote with one search.
	ends, starts := s.ends[:0], s.starts[:0]
	start := 0
	commas := swarOnes * uint64(s.comma)
	i := 0
	ended := false // a quoted field ended the line
	for i+8 <= len(body) {
		w := binary.LittleEndian.Uint64(body[i:])
		cm, qm := zeroBytes(w^commas), zeroBytes(w^swarQuotes)
		if qm != 0 {
			// Only the delimiters before the quote end fields.
			cm &= 1<<(bits.TrailingZeros64(qm)&^7) - 1
		}
		for ; cm != 0; cm &= cm - 1 {
			end := i + bits.TrailingZeros64(cm)/8
			if !s.fieldEnd(&ends, &starts, start, end) {
				return false
			}
			start = end + 1
		}
		if qm == 0 {
			i += 8
			continue
		}
		next, ok := s.quotedField(body, &ends, &starts, start, i+bits.TrailingZeros64(qm)/8)
		if !ok {
			return false
		}
		if next > len(body) {
			ended = true
			break
		}
		start, i = next, next
	}
	for ; !ended && i < len(body); i++ {
		switch body[i] {
		case '"':
			next, ok := s.quotedField(body, &ends, &starts, start, i)
			if !ok {
				return false
			}
			ended = next > len(body)
			start, i = next, next-1
		case s.comma:
			if !s.fieldEnd(&ends, &starts, start, i) {
				return false
			}
			start = i + 1
		}
	}
	if !ended && !s.fieldEnd(&ends, &starts, start, len(body)) {
		return false
	}
	s.ends, s.starts = ends, starts
	all := s.slab.text(body)
	rec.fields = slices.Grow(rec.fields[:0], len(ends))[:len(ends)]
	for k, end := range ends {
		rec.fields[k] = all[starts[k]:end]
	}
	// fieldEnd let no field past its keep limit: each is whole.
	rec.sizes, rec.whole = rec.sizes[:0], true
	rec.nfields = int64(len(ends))
	rec.err = nil
	rec.line = s.first
	return true
}

// quotedField reads, for plainLine, the field of body that starts at start
// and whose first quote is at q: a quoted field when q is start, whose
// closing quote is followed by the delimiter or the line's end. It returns
// where the next field starts (past the end of body when the field ends the
// line), or false, with s.ends and s.starts emptied, for any other field
// with a quote (a quote inside an unquoted field, a doubled quote, a quote
// followed by anything else or never closed on this line), which the
// general scanner reads.
func (s *csvScanner) quotedField(body []byte, ends, starts *[]int, start, q int) (int, bool) {
	fail := func() (int, bool) {
		s.ends, s.starts = (*ends)[:0], (*starts)[:0]
		return 0, false
	}
	if q != start {
		return fail()
	}
	j := bytes.IndexByte(body[q+1:], '"')
	if j < 0 {
		return fail()
	}
	closing := q + 1 + j
	after := closing + 1
	if after < len(body) && body[after] != s.comma {
		return fail()
	}
	if !s.fieldEnd(ends, starts, q+1, closing) {
		return 0, false
	}
	return after + 1, true
}

// fieldEnd appends the bounds of a plain line's field, unless the field is
// longer than its keep limit or one too many: then it empties s.ends and
// s.starts and reports false, and the line goes to the general scanner.
func (s *csvScanner) fieldEnd(ends, starts *[]int, start, end int) bool {
	keep := s.keepRest
	if len(*ends) < len(s.keepOf) {
		keep = s.keepOf[len(*ends)]
	}
	if end-start > keep || len(*ends) >= s.maxFields {
		s.ends, s.starts = (*ends)[:0], (*starts)[:0]
		return false
	}
	*ends = append(*ends, end)
	*starts = append(*starts, start)
	return true
}

const (
	swarOnes   = 0x0101010101010101
	swarQuotes = swarOnes * '"'
	swarLow7   = 0x7F7F7F7F7F7F7F7F
)

// zeroBytes has the top bit of each byte of w that is zero set, and no
// other bit: exact, with no borrow from one byte to the next.
func zeroBytes(w uint64) uint64 {
	return ^((w&swarLow7 + swarLow7) | w | swarLow7)
}

// scan consumes one piece of a line (the whole line when nl, else a part of
// a long line, or, with eof, the end of the input) in state st. It returns
// the state after it, and whether the record ended.
func (s *csvScanner) scan(p []byte, nl, eof bool, st int) (int, bool) {
	// A "\r" before the line's end, or before the end of the input, is part
	// of the line end.
	pc := piece{body: p, nl: nl, end: nl || eof}
	if nl {
		pc.body = p[:len(p)-1]
	}
	if s.cr {
		if st = s.heldCR(&pc, st); st == stSkip {
			return stSkip, nl
		}
	}
	// A "\r" that ends a piece of a long line is only known to be part of
	// a line end with the next piece: it waits.
	if !pc.end && len(pc.body) > 0 && pc.body[len(pc.body)-1] == '\r' && st != stSkip {
		pc.body = pc.body[:len(pc.body)-1]
		s.cr = true
	}
	i, stop, ended := 0, false, false
	for {
		switch st {
		case stSkip:
			return stSkip, nl
		case stField:
			st, i, stop = pc.fieldStart(i)
		case stUnquoted:
			// Inline, not a call: most fields of most files are not
			// quoted, and a call a field cost the reader a fifth of its
			// speed (BenchmarkCSVRead).
			rest := pc.body[i:]
			j := bytes.IndexByte(rest, s.comma)
			field := rest
			if j >= 0 {
				field = rest[:j]
			} else if pc.end && len(field) > 0 && field[len(field)-1] == '\r' {
				field = field[:len(field)-1] // "\r\n" ends the line
			}
			if bytes.IndexByte(field, '"') >= 0 {
				s.fail(s.line0(nl), msgBareQuote)
				return stSkip, nl
			}
			s.add(field)
			if j >= 0 {
				s.endField()
				i += j + 1
				st = stField
				continue
			}
			if nl {
				s.endField()
				return stField, true
			}
			return stUnquoted, false
		case stQuoted:
			st, i, stop = s.quoted(pc, i)
		case stQuote:
			st, i, stop, ended = s.afterQuote(pc, i)
		}
		if stop {
			return st, ended
		}
	}
}

// piece is the part of a line scan consumes: body, without its line end;
// nl, the line's end follows; end, the line or the input ends after it.
type piece struct {
	body    []byte
	nl, end bool
}

// heldCR settles the "\r" that ended the last piece of a long line: part
// of the line end when this piece ends the line at once, else a byte of
// the field (or, after a closing quote, a malformed record: stSkip).
func (s *csvScanner) heldCR(pc *piece, st int) int {
	s.cr = false
	if len(pc.body) == 0 && pc.end {
		return st
	}
	switch st {
	case stField:
		s.add(cr) // a field that starts with "\r", not quoted
		return stUnquoted
	case stUnquoted, stQuoted:
		s.add(cr)
	case stQuote:
		s.fail(s.line0(pc.nl), msgQuoteEnd)
		return stSkip
	}
	return st
}

// fieldStart begins a field at i: quoted or not, or (stop) in the next
// piece when this one ends first. Like quoted and afterQuote, it returns
// the state after it and where the piece goes on, taking the piece and
// returning by value, in registers.
func (pc piece) fieldStart(i int) (st, next int, stop bool) {
	if i == len(pc.body) && !pc.end {
		return stField, i, true // the field starts in the next piece
	}
	if i < len(pc.body) && pc.body[i] == '"' {
		return stQuoted, i + 1, false
	}
	return stUnquoted, i, false
}

// quoted reads a quoted field from i to its next quote, or to the
// piece's end, where the field goes on ("\r\n" inside it read as "\n").
func (s *csvScanner) quoted(pc piece, i int) (st, next int, stop bool) {
	rest := pc.body[i:]
	j := bytes.IndexByte(rest, '"')
	if j >= 0 {
		s.add(rest[:j])
		return stQuote, i + j + 1, false
	}
	if pc.nl {
		if len(rest) > 0 && rest[len(rest)-1] == '\r' {
			rest = rest[:len(rest)-1]
		}
		s.add(rest)
		s.add(newline)
	} else {
		s.add(rest)
	}
	return stQuoted, i, true
}

// afterQuote reads what follows a quote inside a quoted field: a second
// quote (a quote of the field), the delimiter or the line's end (the
// field's end), or anything else (a malformed record).
func (s *csvScanner) afterQuote(pc piece, i int) (st, next int, stop, ended bool) {
	if i == len(pc.body) {
		if pc.nl {
			s.endField()
			return stField, i, true, true
		}
		// The end of the input (the caller ends the field), or a long
		// line cut right after the quote: the next piece decides.
		return stQuote, i, true, false
	}
	switch c := pc.body[i]; {
	case c == '"':
		s.add(quote)
		return stQuoted, i + 1, false, false
	case c == s.comma:
		s.endField()
		return stField, i + 1, false, false
	case c == '\r' && pc.end && i == len(pc.body)-1:
		s.endField()
		return stField, i, true, true
	}
	s.fail(s.line0(pc.nl), msgQuoteEnd)
	return stSkip, i, true, pc.nl
}

var (
	newline = []byte{'\n'}
	cr      = []byte{'\r'}
	quote   = []byte{'"'}
)

// line0 is the physical line of a piece being scanned.
func (s *csvScanner) line0(nl bool) int64 {
	if nl {
		return s.line
	}
	return s.line + 1
}

// add appends b to the current field, within its keep limit.
func (s *csvScanner) add(b []byte) {
	s.size += int64(len(b))
	if s.nfields >= int64(s.maxFields) {
		return
	}
	start := 0
	if n := len(s.ends); n > 0 {
		start = s.ends[n-1]
	}
	keep := s.keepRest
	if s.nfields < int64(len(s.keepOf)) {
		keep = s.keepOf[s.nfields]
	}
	room := keep - (len(s.buf) - start)
	if room <= 0 {
		return
	}
	if len(b) > room {
		b = b[:room]
	}
	s.buf = append(s.buf, b...)
}

// endField closes the current field.
func (s *csvScanner) endField() {
	if s.nfields < int64(s.maxFields) {
		s.ends = append(s.ends, len(s.buf))
		s.sizes = append(s.sizes, s.size)
	}
	s.nfields++
	s.size = 0
}

// fail marks the record malformed (the first problem wins).
func (s *csvScanner) fail(line int64, msg string) {
	if s.err == nil {
		s.err = &csvError{line: line, field: s.nfields + 1, msg: msg}
	}
}

// finish hands the record over: one string holds every kept field.
func (s *csvScanner) finish(rec *record) {
	all := s.slab.text(s.buf)
	rec.fields = rec.fields[:0]
	start := 0
	for _, end := range s.ends {
		rec.fields = append(rec.fields, all[start:end])
		start = end
	}
	rec.sizes, rec.whole = append(rec.sizes[:0], s.sizes...), false
	rec.nfields = s.nfields
	rec.err = s.err
	rec.line = s.first
}

// slabSize is the size of the slabs the strings of records are carved
// from; a record longer than a sixteenth of it has a string of its own.
const slabSize = 64 << 10

// slab carves the strings of records from 64 KiB blocks: one allocation
// for the records of about 64 KiB of text instead of one each (an
// allocation a record was a tenth of a validate's time). The bytes of a
// block are never written again once carved, so its strings stay as they
// were; a block lives as long as any of them.
type slab struct{ b []byte }

// text returns a string of b's bytes, carved from the current block.
func (s *slab) text(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > slabSize/16 {
		return string(b)
	}
	if len(s.b)+len(b) > cap(s.b) {
		s.b = make([]byte, 0, slabSize)
	}
	start := len(s.b)
	s.b = append(s.b, b...)
	return unsafe.String(&s.b[start], len(b))
}
