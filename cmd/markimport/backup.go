package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"markimport/pipeline"
	"markimport/pipeline/backup"
	"markimport/pipeline/mark"
	"markimport/pipeline/readback"
	"markimport/readers"
	"markimport/readers/objstore"
	"markimport/sink"
)

// backupRun is the read-back before the writes (--backup, --mode insert):
// the gate that reads each user's marks back before its items are sent,
// and the backup's writer when there is one.
type backupRun struct {
	w     *backup.Writer // nil without --backup
	gate  *readback.Gate
	reads *sink.ReadClient
}

// forceHelp is --force's help: what it lets through, and what that risks.
const forceHelp = "import (run, verify --input) or continue (run --resume --backup) a markimport backup that does not prove itself complete and unchanged: " +
	"cut, edited, its check file missing, or missing rows of conversations the report has ok. " +
	"Risk: the conversations whose rows are missing or changed are not rolled back, or not as they were"

// readConfig is the connection of the reads: the run's, paced at
// --read-rate on a pacer of its own, since the read API's quota is not the
// write API's; departure sees each read leave (may be nil).
func (r *importRun) readConfig(write sink.Config, departure func(time.Time)) sink.Config {
	cfg := write
	cfg.Rate = r.readRate
	cfg.Concurrency = sink.DefaultConcurrency(r.readRate)
	cfg.NotBefore = time.Time{}
	cfg.OnDeparture = departure
	cfg.OnAnswer = nil              // the timeline is the writes'
	cfg.Counters = &mark.Counters{} // the summary's HTTP counts are the writes'
	cfg.BitOrder = r.bitOrder       // checked by checkProfile
	return cfg
}

// startGate starts the read-back: with --backup (locked by claim) it
// starts the backup (a fresh journal, or with --resume the one the
// interrupted run left, or its finished backup, which must prove
// themselves and hold the row of every conversation the report has ok:
// done).
func (r *importRun) startGate(readCfg sink.Config, done mark.Rows) (*backupRun, error) {
	b := &backupRun{}
	if r.backup != "" {
		files := backup.FilesOf(r.backup)
		files.FS = r.objects.mirrorBackup(files.Journal, files.JournalCheck, r.hooks.backupFS)
		var err error
		if r.resume {
			b.w, err = backup.Resume(files, r.force, r.log.Warn)
			if err == nil {
				err = r.checkResumed(b.w, done)
			}
		} else {
			b.w, err = backup.Create(files)
		}
		if err != nil {
			if b.w != nil {
				b.w.Keep()
			}
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
	b.gate = &readback.Gate{Marks: reads, Backup: b.w, InsertOnly: r.mode == "insert", SkipSame: r.skipUnchanged, Preview: r.online}
	return b, nil
}

// checkResumed refuses to continue a backup that lacks the row of a
// conversation the report being resumed has ok, unless --force.
func (r *importRun) checkResumed(w *backup.Writer, done mark.Rows) error {
	err := w.CheckResumed(r.in, r.ropts, done)
	var ue *backup.UnbackedError
	if !errors.As(err, &ue) {
		return err
	}
	if r.force {
		r.log.Warn("--force: continuing a backup that lacks rows of conversations the report has ok; those conversations cannot be rolled back", "rows", ue.Rows, "conversations", ue.Conversations, "first", strings.Join(ue.First, ", "))
		return nil
	}
	return fmt.Errorf("--resume --backup: the report %s and the backup disagree: %v. Put back the backup (and its .check file) from a copy taken before it was damaged, or pass --force to continue knowing that those conversations cannot be rolled back", r.report, err)
}

// endBackup closes the backup once the run is over: finished (renamed into
// place, or converted to Parquet) when the run ended, kept as its journal
// for --resume when it was interrupted, or it or the report could not be
// written. Its error, if the run has none yet, becomes the run's.
func (r *importRun) endBackup(ctx context.Context, bk *backupRun, sum *pipeline.Summary, runErr *error, reportFailed bool) {
	if bk == nil || bk.w == nil {
		return
	}
	sum.BackupRows = bk.w.Rows()
	if ctx.Err() != nil || reportFailed || bk.w.Err() != nil {
		// The journal stays, durable and proven as far as its checkpoints
		// go, and a valid input; --resume continues it. The exit does not
		// wait for a conversion.
		if err := bk.w.Keep(); err != nil && *runErr == nil {
			*runErr = err
		}
		r.log.Info("backup journal kept for --resume", "path", bk.w.Journal(), "rows_this_run", bk.w.Rows())
		return
	}
	// The backup holds the rows of every conversation a request may have
	// changed; a later --resume continues it.
	if err := bk.w.Finish(); err != nil {
		r.keepFirst(runErr, err, "%v")
		return
	}
	r.log.Info("backup written", "path", r.backup, "rows", bk.w.Kept()+bk.w.Rows(), "rows_this_run", bk.w.Rows(), "read_requests", sum.ReadRequests)
}

// checkBackupInputs refuses an input file that claims to be a markimport
// backup (its exact header, or its Parquet metadata) and does not prove
// itself: importing it would restore fewer conversations, or other marks,
// than the backup held. An object in a bucket is proven as a file is, its
// check file the object KEY.check. --force lets it through, with a
// warning.
func (c *command) checkBackupInputs(ctx context.Context) error {
	for i := range c.in.Parts {
		p := &c.in.Parts[i]
		if p.Path == "-" || strings.HasSuffix(p.Path, ".gz") || strings.HasSuffix(p.Path, ".zst") {
			continue // markimport never writes a backup there
		}
		parquet := c.in.Format == readers.Parquet
		var err error
		if _, _, ok := p.Object(); ok {
			err = checkBackupObject(ctx, p, parquet)
		} else {
			err = backup.CheckInput(p.Path, parquet)
		}
		var pe *backup.ProofError
		switch {
		case err == nil:
		case !errors.As(err, &pe):
			return fmt.Errorf("--input %s: %w", p.Path, err)
		case c.force:
			c.log.Warn("--force: importing a backup that does not prove itself; conversations whose rows are missing or changed are not restored as they were", "input", p.Path, "why", pe.Why)
		default:
			return fmt.Errorf("--input: %v. Importing it would restore fewer conversations, or other marks, than the backup held; "+
				"put back the file (and its .check) from a copy, or pass --force to import it as it is", err)
		}
	}
	return nil
}

// maxCheckObject is the largest check object read: a finished backup's
// holds one checkpoint, a journal's one per group commit.
const maxCheckObject = 64 << 20

// checkBackupObject is backup.CheckInput for an input part that is an
// object.
func checkBackupObject(ctx context.Context, p *readers.Part, parquet bool) error {
	s, err := storedBackup(ctx, p)
	if err != nil {
		return err
	}
	return backup.CheckStored(s, parquet)
}

// storedBackup is the object part p as its proof reads it: by ranges and
// streamed, never copied to disk, each read of the version the input was
// resolved to (one replaced since is an error, as when the input is
// read); its check file is the object KEY.check.
func storedBackup(ctx context.Context, p *readers.Part) (backup.Stored, error) {
	etag, size, _ := p.Object()
	loc, err := objstore.Parse(p.Path)
	if err != nil {
		return backup.Stored{}, err
	}
	store, err := objstore.Shared(ctx)
	if err != nil {
		return backup.Stored{}, err
	}
	return backup.Stored{
		Name: p.Path,
		Size: size,
		At:   store.ReaderAt(ctx, loc, objstore.Info{Key: loc.Key, Size: size, ETag: etag}),
		Open: func() (io.ReadCloser, error) {
			rc, now, err := store.Open(ctx, loc)
			if err != nil {
				return nil, err
			}
			if now.ETag != etag || now.Size != size {
				rc.Close()
				return nil, fmt.Errorf("%s changed since the input was listed (ETag %s, %d bytes then; ETag %s, %d bytes now): run again on what the bucket holds now", loc, etag, size, now.ETag, now.Size)
			}
			return rc, nil
		},
		Check: func() ([]byte, error) {
			check := objstore.Location{Bucket: loc.Bucket, Key: loc.Key + ".check"}
			rc, _, err := store.Open(ctx, check)
			if errors.Is(err, objstore.ErrNotExist) {
				return nil, fmt.Errorf("%s: %w", check, fs.ErrNotExist)
			}
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			b, err := io.ReadAll(io.LimitReader(rc, maxCheckObject+1))
			if err == nil && len(b) > maxCheckObject {
				err = fmt.Errorf("%s holds more than %d MiB: not a check file markimport wrote", check, maxCheckObject>>20)
			}
			return b, err
		},
	}, nil
}
