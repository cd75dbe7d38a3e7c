package readers

import "io"

// Prefetch returns a Reader that reads ahead from r in a goroutine, in
// batches, so that decoding the input and working on its records use two
// cores. Close stops the goroutine and closes r.
func Prefetch(r Reader) Reader {
	p := &prefetcher{r: r, batches: make(chan batch, 4), free: make(chan []Record, 5), stop: make(chan struct{})}
	go p.loop()
	return p
}

const prefetchBatch = 1024

type batch struct {
	recs []Record
	err  error // after the records: io.EOF or a read error
}

type prefetcher struct {
	r       Reader
	batches chan batch
	free    chan []Record
	stop    chan struct{}
	done    bool

	cur  batch
	pos  int
	last error
}

func (p *prefetcher) loop() {
	defer close(p.batches)
	for {
		var recs []Record
		select {
		case recs = <-p.free:
			recs = recs[:0]
		default:
			recs = make([]Record, 0, prefetchBatch)
		}
		var err error
		for len(recs) < prefetchBatch {
			var rec Record
			rec, err = p.r.Next()
			if err != nil {
				break
			}
			recs = append(recs, rec)
		}
		select {
		case p.batches <- batch{recs, err}:
		case <-p.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// Next returns the next record, or the error that ended the input.
func (p *prefetcher) Next() (Record, error) {
	for p.pos >= len(p.cur.recs) {
		if p.last != nil {
			return Record{}, p.last
		}
		if p.cur.recs != nil {
			select {
			case p.free <- p.cur.recs:
			default:
			}
		}
		b, ok := <-p.batches
		if !ok {
			return Record{}, io.EOF
		}
		p.cur, p.pos, p.last = b, 0, b.err
	}
	rec := p.cur.recs[p.pos]
	p.pos++
	return rec, nil
}

// Close stops reading ahead and closes the underlying reader.
func (p *prefetcher) Close() error {
	if !p.done {
		p.done = true
		close(p.stop)
		for range p.batches {
		}
	}
	return p.r.Close()
}
