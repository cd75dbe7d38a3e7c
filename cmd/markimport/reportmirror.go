package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"markimport/pipeline/durable/bucket"
	"markimport/pipeline/report"
)

// The report's journal in object storage. A run whose --report is an
// object copies its journal, as it is checkpointed (every second, and
// when it is committed), to REPORTKEY.journal/ as a bucket.Chain: one
// segment object per checkpoint that added lines, written once and never
// changed, each proving itself and its place. The record of the input
// the journal is of goes first, as REPORTKEY.journal/meta-RUN.json, where
// RUN, named by every segment, starts with that record's SHA-256. Once the
// finished report is uploaded, the segments and the record are deleted.
//
// run --resume with such a --report, on any machine (a new container, an
// empty --temp-dir), pulls the segments into the staging folder: the
// journal rebuilt is every line the killed runs had made durable, and what
// --resume reads on disk proves it (report.Rebuilt). From there it is a
// local resume: same checks, same messages, ok rows not sent again. The
// resumed run's new lines continue the chain after the segments it
// pulled. A run killed loses at most the lines of its last second, which
// the resume sends again.

// reportMirror is the report.Mirror of a --report in object storage.
type reportMirror struct {
	o         *objectOutputs
	files     report.Files // the staged report's
	prefix    bucket.Object
	overwrite bool // a fresh run replaces a chain left by a killed run
	chain     *bucket.Chain
	meta      bucket.Object // the record of the input, once uploaded
	from      int64         // bytes of the local journal the chain holds
}

// mirrorReport makes files' journal mirrored, when the report is an
// object.
func (o *objectOutputs) mirrorReport(files *report.Files, overwrite bool) {
	if o == nil {
		return
	}
	for _, f := range o.files {
		if f.flag == "--report" {
			o.report = &reportMirror{o: o, files: *files, prefix: journalPrefix(f.obj), overwrite: overwrite}
			files.Mirror = o.report
		}
	}
}

// Durable copies the journal's bytes the chain does not hold yet as its
// next segment, the record of the input first. Once a lease of the run is
// lost it copies nothing more: the journal's prefix may be another run's
// now (the local journal goes on, and the run publishes nothing).
func (m *reportMirror) Durable(path string, size int64) error {
	if m.o.lost() != nil {
		return nil
	}
	if m.chain == nil {
		if err := m.start(); err != nil {
			return err
		}
	}
	if size <= m.from {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, size-m.from)
	if _, err := f.ReadAt(b, m.from); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := m.chain.Append(b); err != nil {
		return err
	}
	m.from = size
	return nil
}

// Resumed says the rewritten journal's size bytes are in the chain.
func (m *reportMirror) Resumed(size int64) { m.from = size }

// start begins a fresh run's chain: what a killed run left is deleted
// (--overwrite; without it the run was refused before it began), then the
// record of the input is uploaded.
func (m *reportMirror) start() error {
	ctx, st := m.o.ctx, m.o.store
	if m.overwrite {
		old, err := st.List(ctx, m.prefix)
		if err != nil {
			return err
		}
		for i := len(old) - 1; i >= 0; i-- {
			if err := st.Delete(ctx, bucket.Object{Bucket: m.prefix.Bucket, Key: old[i]}); err != nil {
				return err
			}
		}
	}
	meta, err := os.ReadFile(m.files.JournalMeta)
	if err != nil {
		return err
	}
	nonce := make([]byte, 4)
	rand.Read(nonce)
	run := runOf(meta) + "." + hex.EncodeToString(nonce)
	m.meta = m.prefix.Join("meta-" + run + ".json")
	if err := st.Put(ctx, m.meta, meta, true); err != nil {
		return fmt.Errorf("upload %s: %w", m.meta, err)
	}
	m.chain = &bucket.Chain{Ctx: ctx, Store: st, Prefix: m.prefix, Run: run}
	return nil
}

// runOf is what starts the name of a run: the SHA-256 of the record of
// its input, shortened.
func runOf(meta []byte) string {
	sum := sha256.Sum256(meta)
	return hex.EncodeToString(sum[:8])
}

// pull rebuilds the killed run's journal, its checkpoints and the record
// of its input in the staging folder from the chain, each segment and the
// record checked; a resumed run then reads them as a local journal.
func (m *reportMirror) pull(report0 bucket.Object) error {
	ctx, st := m.o.ctx, m.o.store
	chain := &bucket.Chain{Ctx: ctx, Store: st, Prefix: m.prefix}
	out, err := os.Create(m.files.Journal)
	if err != nil {
		return err
	}
	n, err := chain.Pull(out)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--resume --report %s: %w", report0, err)
	}
	if n == 0 {
		return fmt.Errorf("--resume: there is no report %s to continue (%s holds no journal of a run that did not finish)", report0, m.prefix)
	}
	m.meta = m.prefix.Join("meta-" + chain.Run + ".json")
	meta, err := st.Get(ctx, m.meta)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--resume --report %s: %s, the record of the input its journal's segments are of, is missing: the journal cannot be resumed without it", report0, m.meta)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", m.meta, err)
	}
	if !strings.HasPrefix(chain.Run, runOf(meta)+".") {
		return fmt.Errorf("--resume --report %s: %s is damaged: it is not the record its segments name (SHA-256 %s…)", report0, m.meta, strings.SplitN(chain.Run, ".", 2)[0])
	}
	if err := os.WriteFile(m.files.JournalMeta, meta, 0o644); err != nil {
		return err
	}
	m.chain = chain
	return report.Rebuilt(m.files)
}

// delete removes the chain and the record of its input, once the
// finished report is uploaded.
func (m *reportMirror) delete() error {
	if m.chain == nil {
		return nil
	}
	if err := m.chain.Delete(); err != nil {
		return err
	}
	return m.o.store.Delete(m.o.ctx, m.meta)
}

// refuseReport refuses, before anything is sent, a --report object this
// run must not replace, as a local report is refused: the journal of a
// killed run needs --resume (continue it) or --overwrite (start over).
func (o *objectOutputs) refuseReport(obj bucket.Object, found, overwrite, resume bool) error {
	segs, err := o.store.List(o.ctx, journalPrefix(obj))
	if err != nil {
		return fmt.Errorf("--report %s: %w", obj, err)
	}
	switch {
	case resume && found:
		return fmt.Errorf("--resume --report %s: the report is finished; --resume continues, from the journal it left under %s, a run that did not finish (rerun its rejects to send again the rows that did not end ok)", obj, journalPrefix(obj))
	case resume && len(segs) == 0:
		return fmt.Errorf("--resume: there is no report %s to continue (%s holds no journal of a run that did not finish)", obj, journalPrefix(obj))
	case !resume && len(segs) > 0 && !overwrite:
		return fmt.Errorf("--report %s: %s holds the report of a run that did not finish: run --resume continues it, --overwrite starts over", obj, journalPrefix(obj))
	case !resume && found && !overwrite:
		return fmt.Errorf("--report %s exists: pass --overwrite to replace it, or name another object", obj)
	}
	return nil
}

// pullReport rebuilds, for --resume, the journal of the killed run from
// its segments: the run holds the report's lease, so no other run adds to
// them meanwhile.
func (o *objectOutputs) pullReport() error {
	if o == nil || o.report == nil {
		return nil
	}
	for _, f := range o.files {
		if f.flag == "--report" {
			return o.report.pull(f.obj)
		}
	}
	return nil
}
