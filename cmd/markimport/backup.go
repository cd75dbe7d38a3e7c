package main

import (
	"time"

	"markimport/pipeline/backup"
	"markimport/pipeline/mark"
	"markimport/sink"
)

// backupRun is the read-back before the writes (--backup, --mode insert):
// the gate that reads each user's marks back before its items are sent,
// and the backup's writer when there is one.
type backupRun struct {
	w     *backup.Writer // nil without --backup
	gate  *backup.Gate
	reads *sink.ReadClient
}

// readConfig is the connection of the reads: the run's, paced at
// --read-rate on a pacer of its own, since the read API's quota is not the
// write API's; departure sees each read leave (may be nil).
func (r *importRun) readConfig(write sink.Config, departure func(time.Time)) sink.Config {
	cfg := write
	cfg.Rate = r.readRate
	cfg.Concurrency = sink.DefaultConcurrency(r.readRate)
	cfg.NotBefore = time.Time{}
	cfg.OnDeparture = departure
	cfg.Counters = &mark.Counters{} // the summary's HTTP counts are the writes'
	return cfg
}

// startGate starts the read-back: with --backup (locked by claim) it
// starts the backup (a fresh journal, or with --resume the one the
// interrupted run left, or its finished backup).
func (r *importRun) startGate(readCfg sink.Config) (*backupRun, error) {
	b := &backupRun{}
	if r.backup != "" {
		files := backup.FilesOf(r.backup)
		var err error
		if r.resume {
			b.w, err = backup.Resume(files, r.log.Warn)
		} else {
			b.w, err = backup.Create(files)
		}
		if err != nil {
			return nil, err
		}
		if b.w.Kept() > 0 {
			r.log.Info("backup continued", "path", r.backup, "rows_already", b.w.Kept())
		}
	}
	reads, err := sink.NewReadClient(readCfg)
	if err != nil {
		if b.w != nil {
			b.w.Abandon()
		}
		return nil, err
	}
	b.reads = reads
	b.gate = &backup.Gate{Marks: reads, Backup: b.w, InsertOnly: r.mode == "insert"}
	return b, nil
}
