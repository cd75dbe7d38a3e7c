package report

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"markimport/pipeline/durable"
	"markimport/pipeline/mark"
	"markimport/readers"
)

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
	// mirror, once set, is told of every checkpoint.
	mirror Mirror
}

// createCSV creates (truncating) a CSV report at path and its checkpoints
// file, through fsys (nil: the disk), for the input in (nil: one file), and
// makes its header durable at once: a run killed before its first lines
// still leaves a report that --resume takes.
func createCSV(fsys durable.FS, path string, in *readers.Input) (*CSV, error) {
	f, err := durable.CreateJournal(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("create report: %w", err)
	}
	cps, err := createCheckpoints(fsys, checkpointsOf(path))
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
	if err := durable.Persist(r.file); err != nil {
		return err
	}
	if err := r.cps.add(r.tally.checkpoint); err != nil {
		return err
	}
	if r.mirror != nil {
		return r.mirror.Durable(r.path, r.tally.Size)
	}
	return nil
}

// mirrorTo has every checkpoint from now on told to m, starting with one
// of everything written so far.
func (r *CSV) mirrorTo(m Mirror) error {
	r.mu.Lock()
	r.mirror = m
	r.mu.Unlock()
	return r.flushSync()
}

// renamed records that the file and its checkpoints now have the names of
// the journal at path, for messages.
func (r *CSV) renamed(path string) {
	r.mu.Lock()
	r.path, r.cps.name = path, checkpointsOf(path)
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

// AppendItemLines appends to dst the lines of every row of items, of user
// from, with the outcome of l (its status, code, message and attempts;
// its row, user, type and peer are not used): byte for byte what Write
// writes for them one at a time, but with the columns between the row and
// the peer (the user's and the type's) formatted once a type, and the
// columns after the peer once for all the items, not once an item (most
// items of a night have one row, and so has each conversation beyond the
// limit). It changes nothing in r, so that several goroutines may format
// while one writes; WriteLines writes the result.
func (r *CSV) AppendItemLines(dst []byte, from string, items []mark.Item, l Line) []byte {
	// Where ",from,type," was first formatted in dst for the types 0 to
	// 2, c2c (1) and group (2) among them (an end of 0: not yet; a type
	// above 2 is formatted each time), and the columns after the peer.
	var conv, convEnd [3]int
	outcome, outcomeEnd := -1, -1
	for i := range items {
		it := &items[i]
		tail, end := -1, -1
		for _, row := range it.Rows {
			dst = r.appendRow(dst, row)
			if tail >= 0 {
				dst = append(dst, dst[tail:end]...)
				continue
			}
			tail = len(dst)
			if t := int(it.Conv.Type); t < len(conv) && convEnd[t] > 0 {
				dst = append(dst, dst[conv[t]:convEnd[t]]...)
			} else {
				dst = append(dst, ',')
				dst = appendField(dst, from)
				dst = append(dst, ',')
				dst = appendField(dst, it.Conv.TypeName())
				dst = append(dst, ',')
				if t < len(conv) {
					conv[t], convEnd[t] = tail, len(dst)
				}
			}
			dst = appendField(dst, it.Conv.Peer)
			if outcome >= 0 {
				dst = append(dst, dst[outcome:outcomeEnd]...)
			} else {
				outcome = len(dst)
				dst = appendOutcome(dst, l)
				outcomeEnd = len(dst)
			}
			end = len(dst)
		}
	}
	return dst
}

// appendRow appends the row's columns: its number, or with several files
// the file's name and the row's number in it.
func (r *CSV) appendRow(dst []byte, row int64) []byte {
	if r.in == nil {
		return strconv.AppendInt(dst, row, 10)
	}
	name, local := r.in.FileRow(row)
	dst = appendField(dst, name)
	dst = append(dst, ',')
	return strconv.AppendInt(dst, local, 10)
}

// appendOutcome appends the columns after the peer, from the comma before
// the status to the line's end.
func appendOutcome(dst []byte, l Line) []byte {
	dst = append(dst, ',')
	dst = appendField(dst, string(l.Status))
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(l.Code), 10)
	dst = append(dst, ',')
	dst = appendField(dst, l.Message)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(l.Attempts), 10)
	return append(dst, '\n')
}

// WriteLines writes lines that AppendItemLines formatted.
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

// WriteError says that a report file could not be written or made
// durable. Path is the file's name on disk now.
type WriteError struct {
	Path string
	Err  error
}

// Error says which file could not be written, and why.
func (e *WriteError) Error() string { return fmt.Sprintf("cannot write %s: %v", e.Path, e.Err) }

// Unwrap is the error of the file system.
func (e *WriteError) Unwrap() error { return e.Err }

// newWriteError names path in err: an *os.PathError names the file as it
// was opened, which may be a temporary name since renamed.
func newWriteError(path string, err error) error {
	var we *WriteError
	if errors.As(err, &we) {
		return err
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return &WriteError{Path: path, Err: err}
}
