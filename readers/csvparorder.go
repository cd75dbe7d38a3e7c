package readers

import (
	"errors"
	"io"
	"math"
)

// The records of a parallel read, handed on in file order (see
// csvpar.go): from each chunk, those from the first one that starts where
// the true records before it ended.

// next hands on the next true record to c, or io.EOF.
func (p *parReader) next(c *CSVReader) (Record, error) {
	for {
		if p.eof {
			c.raw = nil
			return Record{}, io.EOF
		}
		if p.b == nil {
			if err := p.receive(c); err != nil {
				c.raw = nil
				return Record{}, err
			}
			continue
		}
		b := p.b
		if p.i < len(b.recs) {
			k := p.i
			p.i++
			rec := b.recs[k]
			if e := b.errs[k]; e != nil {
				e.shift(p.off)
				rec.Problem = e.Error()
			}
			p.pos, p.line = b.ends[k], b.lines[k]+p.off
			c.row++
			rec.Row = c.row
			start := 0
			if k > 0 {
				start = b.rawAt[k-1]
			}
			c.raw = b.raws[start:b.rawAt[k]]
			return rec, nil
		}
		p.b = nil
		rerr, last, atEOF := b.err, b.last, b.atEOF
		p.free.Put(b)
		if rerr != nil {
			c.row++
			c.raw = nil
			return Record{}, &InputError{Path: c.path, Row: c.row, Err: rerr}
		}
		if last {
			// The true records reach the file's end (a quoted field that
			// never ends may take the rest of it): no chunk after it holds
			// one.
			if atEOF || p.cur.until == math.MaxInt64 {
				p.eof = true
			}
			p.cur = nil
		}
	}
}

// receive takes the next batch of the chunk being handed on (the next
// chunk, when it is done) into p.b, from its first true record: a batch
// before the true records' end is dropped, and a chunk that never falls
// into step is parsed again from there.
func (p *parReader) receive(c *CSVReader) error {
	if p.cur == nil {
		ck, ok := wait(p, p.order)
		if !ok {
			return p.stopped(c)
		}
		p.cur, p.synced = ck, false
	}
	b, ok := wait(p, p.cur.out)
	if !ok {
		return p.stopped(c)
	}
	p.b, p.i = b, 0
	if p.synced {
		return nil
	}
	for k := 0; k <= len(b.recs); k++ {
		at, line := b.callAt(k)
		if at == p.pos {
			p.synced, p.off, p.i = true, p.line-line, k
			return nil
		}
		if at > p.pos {
			break
		}
	}
	if at, _ := b.callAt(len(b.recs)); at < p.pos && !b.last && b.err == nil {
		p.b = nil // all before the true records' end: the next batch may fall into step
		p.free.Put(b)
		return nil
	}
	// Out of step: parse the chunk again from where the true records end.
	p.b = nil
	p.free.Put(b)
	close(p.cur.stop)
	p.reparsed++
	ck := &parChunk{from: p.pos, until: p.cur.until, exact: true, out: make(chan *parBatch, 2), stop: make(chan struct{})}
	p.cur = ck
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.parse(ck)
	}()
	return nil
}

// wait receives from ch, or returns false once the read is stopped.
func wait[T any](p *parReader, ch chan T) (T, bool) {
	select {
	case v, ok := <-ch:
		return v, ok
	case <-p.done:
		var zero T
		return zero, false
	}
}

// stopped is the error of a read whose workers were stopped: the
// context's end, or a Close before the rows ended.
func (p *parReader) stopped(c *CSVReader) error {
	err := p.ctx.Err()
	if err == nil {
		err = errReadClosed
	}
	return &InputError{Path: c.path, Row: c.row + 1, Err: err}
}

// stop tells every goroutine of the read to return.
func (p *parReader) stop() { p.halt.Do(func() { close(p.done) }) }

// close stops every goroutine of the read and waits for them.
func (p *parReader) close() {
	p.stop()
	p.unhook()
	p.wg.Wait()
}

// errReadClosed is the error of a read whose reader was closed.
var errReadClosed = errors.New("the reader was closed")
