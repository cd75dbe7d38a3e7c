package main

import (
	"time"

	"markimport/pipeline/backup"
	"markimport/pipeline/mark"
	"markimport/sink"
)

// backupRun is the backup of a run (--backup): its writer, locked, and the
// gate that reads each user's marks back before its items are sent.
type backupRun struct {
	w       *backup.Writer
	gate    *backup.Gate
	release func()
}

// readConfig is the connection of --backup's reads: the run's, paced at
// --read-rate on a pacer of its own, since the read API's quota is not the
// write API's.
func (r *importRun) readConfig(write sink.Config) sink.Config {
	cfg := write
	cfg.Rate = r.readRate
	cfg.Concurrency = sink.DefaultConcurrency(r.readRate)
	cfg.NotBefore = time.Time{}
	cfg.OnDeparture = testReadDepartures
	cfg.Counters = &mark.Counters{} // the summary's HTTP counts are the writes'
	return cfg
}

// startBackup locks the backup and starts it: a fresh journal, or with
// --resume the one the interrupted run left (or its finished backup).
func (r *importRun) startBackup(readCfg sink.Config) (*backupRun, error) {
	files := backup.FilesOf(r.backup)
	release, err := lockFile(files.Lock, "the backup "+r.backup, "--backup")
	if err != nil {
		return nil, err
	}
	var w *backup.Writer
	if r.resume {
		w, err = backup.Resume(files, r.log.Warn)
	} else {
		w, err = backup.Create(files)
	}
	if err != nil {
		release()
		return nil, err
	}
	if w.Kept() > 0 {
		r.log.Info("backup continued", "path", r.backup, "rows_already", w.Kept())
	}
	reads, err := sink.NewReadClient(readCfg)
	if err != nil {
		w.Abandon()
		release()
		return nil, err
	}
	return &backupRun{w: w, gate: &backup.Gate{Marks: reads, Backup: w}, release: release}, nil
}
