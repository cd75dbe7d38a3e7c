package main

import (
	"fmt"

	"markimport/pipeline/backup"
	"markimport/pipeline/durable/bucket"
)

// The backup's journal in object storage, resumed. A run whose --backup is
// an object mirrors its journal to KEY.journal/ as it is made durable
// (bucket.Mirror): segment NNNNNNNN.csv with the rows of one group commit,
// then _NNNNNNNN.check with the checkpoint that proves the journal
// through it, both before any request of those rows leaves.
//
// run --resume with such a --backup, on any machine, pulls the parts into
// the staging folder and rebuilds the journal and its check file as the
// killed run had them durable, each part proven by its checkpoint
// (backup.Rebuild: the length and SHA-256 of the whole journal through
// it), so that a part damaged, of another run, or missing in the middle is
// refused naming it. A last segment without its check (a kill between
// the two uploads: no request left on its account) is not believed and is
// marked dropped; its conversations are read again. From there it is a
// local resume (backup.Resume, and the check that the backup holds the
// row of every conversation the report has ok); the journal's next
// segment follows the last one in the bucket, and the finished backup
// KEY and KEY.check hold the rows of both runs.

// backupResume is what the mirror of a resumed backup continues from.
type backupResume struct {
	segments int // segments in the bucket, the last dropped or not
}

// pullBackup rebuilds, for --resume, the journal of the killed run's
// backup from its parts; the run holds the backup's lease, so no other
// run adds to them meanwhile.
func (o *objectOutputs) pullBackup() error {
	if o == nil || o.backup.Key == "" {
		return nil
	}
	var local string
	for _, f := range o.files {
		if f.flag == "--backup" {
			local = f.local
		}
	}
	prefix := journalPrefix(o.backup)
	parts, err := bucket.ListMirror(o.ctx, o.store, prefix)
	if err != nil {
		return fmt.Errorf("--resume --backup %s: %w", o.backup, err)
	}
	if len(parts) == 0 {
		return fmt.Errorf("--resume: there is no backup %s (nor its journal under %s) to continue: the run being resumed wrote none, so a backup started now could record marks that run already changed; resume without --backup, or start a new run with a new backup", o.backup, prefix)
	}
	files := backup.FilesOf(local)
	rb, err := backup.StartRebuild(files)
	if err != nil {
		return err
	}
	last := parts[len(parts)-1]
	for _, p := range parts {
		jp := backup.JournalPart{Name: p.Check.String(), CheckName: p.Check.String()}
		if p.HasSegment {
			jp.Name = p.Segment.String()
			if jp.Rows, err = o.store.Get(o.ctx, p.Segment); err != nil {
				rb.Abort()
				return fmt.Errorf("read %s: %w", p.Segment, err)
			}
		}
		if p.HasCheck {
			if jp.Check, err = o.store.Get(o.ctx, p.Check); err != nil {
				rb.Abort()
				return fmt.Errorf("read %s: %w", p.Check, err)
			}
			if bucket.IsDropped(jp.Check) {
				jp.Check = nil
			}
		}
		if err := rb.Add(jp); err != nil {
			rb.Abort()
			return fmt.Errorf("--resume --backup %s: %w", o.backup, err)
		}
	}
	if err := rb.Finish(); err != nil {
		return fmt.Errorf("--resume --backup %s: %w", o.backup, err)
	}
	if !last.HasCheck {
		if err := bucket.DropSegment(o.ctx, o.store, prefix, last.N); err != nil {
			return err
		}
	}
	o.backupResumed = &backupResume{segments: last.N}
	return nil
}

// removeBackupJournal deletes the journal's parts once the finished
// backup is in the bucket, the last first, so that an interrupted delete
// leaves a shorter journal, not one with a hole.
func (o *objectOutputs) removeBackupJournal() {
	prefix := journalPrefix(o.backup)
	for n := o.mirror.Uploaded(); n >= 0; n-- {
		o.store.Delete(o.ctx, prefix.Join(bucket.CheckName(n)))
		if n > 0 {
			o.store.Delete(o.ctx, prefix.Join(bucket.SegmentName(n)))
		}
	}
}
