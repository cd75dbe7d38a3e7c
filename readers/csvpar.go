package readers

import (
	"bufio"
	"context"
	"io"
	"math"
	"os"
	"runtime"
	"sync"
)

// A CSV file on local disk, uncompressed, can be parsed by several
// goroutines at once: its data rows are cut into chunks of a few MiB, each
// chunk is parsed by a worker, and the records are handed on in file order
// by the reader's Next, numbered as the one-thread reader numbers them.
//
// Where a chunk's first record starts cannot be known from the chunk
// alone: a quoted field may hold line ends, so a line start may be in the
// middle of a record. Neither can it be known from the parity of the
// quotes before it, because a malformed record (a bare quote, text after a
// closing quote) ends at its line's end whatever its quotes. So a worker
// guesses: it starts at the chunk's first line start, as if a record began
// there, and parses on past the chunk's end to the end of its last record.
// The guess is checked when the records are handed on, against the end of
// the true records before it: the scanner keeps nothing from one record to
// the next but its line count, so a parse started where a true record
// starts yields the true records from there on. Chunk 0 starts after the
// header, a true start. A later chunk's records are taken from the first
// one that starts where the true records before it ended (at once, unless
// a record crosses the cut, or blank lines follow it); records before it
// are dropped. If none does, the chunk is parsed again from that point,
// so the result is exact whatever the file holds, and only a file whose
// quoted fields cross many cuts (and do not fall back into step at the
// next line end, as a misread quoted field does) is parsed twice. Line
// numbers of malformed records are counted from the chunk's start and
// moved by the true line count at the record where the two agree.
//
// Memory is bounded: at most parConfig.ahead chunks are queued, a worker
// hands its records on in batches of parBatchLen through a channel of two
// batches, and blocks until the reader takes them. Close, or the end of
// the context the file was opened under (Ctrl-C), stops every worker.

// parConfig says how a parallel read cuts and parses a file.
type parConfig struct {
	chunk   int64 // bytes of a chunk
	workers int   // goroutines that parse chunks
	ahead   int   // chunks queued beyond the one being handed on
	// min is the fewest bytes of rows a file must have to be read in
	// parallel: below it, starting the workers costs more than it saves.
	min int64
}

// parallelCSV is the parallel read of a file opened with Options that do
// not set one (tests set small chunks and two workers or more).
//
// It is off below 4 cores (GOMAXPROCS): there the read stage's three
// goroutines (decoding, validating, grouping) already keep both cores
// busy, so workers add CPU (the records' hand-off, about a tenth more CPU
// for a validate) and no core to run it on. Measured on 2 shared cores, 1M
// rows, validate and validate --report, 14 pairs each in turns against
// the one-thread build: wall time 1.05 and 1.15 times (medians of the
// pairs' ratios, load 6-7), CPU 0.67-0.74 s against 0.75-0.80 s. From 4
// cores, the workers are the cores the other stages leave (GOMAXPROCS-2).
func parallelCSV() parConfig {
	workers := 0
	if n := runtime.GOMAXPROCS(0); n >= 4 {
		workers = n - 2
	}
	return parConfig{chunk: 4 << 20, workers: workers, ahead: 4, min: 8 << 20}
}

// parBatchLen is how many records a batch of a worker holds at most.
const parBatchLen = 512

// parBatch is records parsed from one stretch of a chunk.
type parBatch struct {
	from, fromLine int64 // the offset before the first record, and the line count there
	recs           []Record
	errs           []*csvError // of each record: a malformed one's problem, else nil
	raws           []string    // every field of every record, one after another
	rawAt          []int       // the end of record i's fields in raws
	ends           []int64     // the offset after record i
	lines          []int64     // the lines read after record i, from the chunk's start
	err            error       // a read error after the records
	last           bool        // the chunk's last batch
	atEOF          bool        // the parse reached the file's end: no record follows
}

// callAt is where record k of b starts, before any blank lines, and the
// line count there (k = len(b.recs): after the last record).
func (b *parBatch) callAt(k int) (int64, int64) {
	if k == 0 {
		return b.from, b.fromLine
	}
	return b.ends[k-1], b.lines[k-1]
}

// parChunk is one chunk: its bytes from, to its first line end at or
// after until (the file's end for the last chunk), and its batches.
type parChunk struct {
	from, until int64
	exact       bool // from is where a true record starts: no line start to look for
	out         chan *parBatch
	stop        chan struct{} // closed when its records are no longer wanted
}

// parReader reads the data rows of a file in parallel chunks.
type parReader struct {
	f        *os.File
	size     int64
	comma    byte
	shape    *csvShape
	keepRest int
	maxField int

	order chan *parChunk // every chunk, in file order
	work  chan *parChunk // chunks for the workers
	done  chan struct{}  // closed by close: every goroutine returns
	halt  sync.Once
	wg    sync.WaitGroup
	ctx   context.Context
	// unhook undoes the stop at ctx's end.
	unhook func() bool
	free   sync.Pool // of *parBatch

	cur    *parChunk
	b      *parBatch
	i      int   // next record of b
	synced bool  // cur's records are the true ones from b on
	off    int64 // what moves cur's line counts to the file's
	pos    int64 // where the true records handed on so far end
	line   int64 // the lines there
	eof    bool
	// reparsed counts the chunks parsed again (tests look at it).
	reparsed int
}

// parallel reads the rows of f, whose first read bytes are read, in
// parallel chunks when cfg (nil: parallelCSV) says it pays: with two
// workers or more, and enough rows. A file whose lines end in a lone "\r"
// is read by the one thread that turns them into "\n".
func (c *CSVReader) parallel(ctx context.Context, f *os.File, read int64, cfg *parConfig) {
	conf := parallelCSV()
	if cfg != nil {
		conf = *cfg
	}
	if conf.workers < 2 || c.s.br != c.buf {
		return
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return
	}
	dataStart := read - int64(c.buf.Buffered())
	if st.Size()-dataStart < conf.min {
		return
	}
	c.startParallel(ctx, f, st.Size(), dataStart, c.s.line, conf)
}

// startParallel makes c read its rows in parallel chunks of f, whose
// size is size and whose rows start at dataStart, after line lines.
// ctx ends the workers.
func (c *CSVReader) startParallel(ctx context.Context, f *os.File, size, dataStart, line int64, cfg parConfig) {
	p := &parReader{f: f, size: size, comma: c.comma, shape: c.shape, keepRest: c.s.keepRest, maxField: c.s.maxFields,
		order: make(chan *parChunk, cfg.ahead), work: make(chan *parChunk), done: make(chan struct{}), ctx: ctx,
		pos: dataStart, line: line}
	p.free.New = func() any { return new(parBatch) }
	c.par = p
	p.unhook = context.AfterFunc(ctx, p.stop)
	p.wg.Add(1 + cfg.workers)
	go func() {
		defer p.wg.Done()
		p.feed(dataStart, cfg.chunk)
	}()
	for range cfg.workers {
		go func() {
			defer p.wg.Done()
			for ck := range p.work {
				p.parse(ck)
			}
		}()
	}
}

// feed cuts the rows into chunks, in order, until the file's end.
func (p *parReader) feed(start, chunk int64) {
	defer close(p.work)
	defer close(p.order)
	for from := start; ; from += chunk {
		until := from + chunk
		if until >= p.size {
			until = math.MaxInt64
		}
		ck := &parChunk{from: from, until: until, exact: from == start, out: make(chan *parBatch, 2), stop: make(chan struct{})}
		for _, ch := range []chan *parChunk{p.order, p.work} {
			select {
			case ch <- ck:
			case <-p.done:
				return
			}
		}
		if until == math.MaxInt64 {
			return
		}
	}
}

// parse parses chunk ck into its batches: from its first line start (or
// from itself, when exact) to the end of the first record that ends at or
// after until.
func (p *parReader) parse(ck *parChunk) {
	defer close(ck.out)
	from := ck.from
	if !ck.exact {
		from-- // a line end just before the cut makes the cut a line start
	}
	cr := &countingReader{r: io.NewSectionReader(p.f, from, p.size-from)}
	br := csvBuffers.Get().(*bufio.Reader)
	br.Reset(cr)
	defer func() { br.Reset(nil); csvBuffers.Put(br) }()
	pos := func() int64 { return from + cr.n - int64(br.Buffered()) }
	b := p.batch(0, 0)
	send := func() bool {
		select {
		case ck.out <- b:
			return true
		case <-ck.stop:
		case <-p.done:
		}
		return false
	}
	if !ck.exact {
		for {
			_, err := br.ReadSlice('\n')
			if err == nil || err == io.EOF {
				break
			}
			if err != bufio.ErrBufferFull {
				b.err, b.last = err, true
				send()
				return
			}
		}
	}
	b.from = pos()
	s := newCSVScanner(br, p.comma)
	s.keepOf, s.keepRest, s.maxFields = p.shape.keepOf, p.keepRest, p.maxField
	var rec record
	var xbuf []byte
	for {
		if pos() >= ck.until {
			b.last = true
			send()
			return
		}
		err := s.next(&rec)
		if err != nil {
			if err != io.EOF {
				b.err = err
			}
			b.last, b.atEOF = true, err == io.EOF
			send()
			return
		}
		b.recs = append(b.recs, p.shape.record(&rec, &xbuf))
		b.errs = append(b.errs, rec.err)
		b.raws = append(b.raws, rec.fields...)
		b.rawAt = append(b.rawAt, len(b.raws))
		end := pos()
		b.ends = append(b.ends, end)
		b.lines = append(b.lines, s.line)
		if len(b.recs) == parBatchLen {
			if !send() {
				return
			}
			b = p.batch(end, s.line)
		}
	}
}

// batch returns an empty batch that starts at from, after line lines.
func (p *parReader) batch(from, line int64) *parBatch {
	b := p.free.Get().(*parBatch)
	*b = parBatch{from: from, fromLine: line, recs: b.recs[:0], errs: b.errs[:0], raws: b.raws[:0], rawAt: b.rawAt[:0],
		ends: b.ends[:0], lines: b.lines[:0]}
	return b
}
