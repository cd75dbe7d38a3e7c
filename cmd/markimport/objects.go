package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"markimport/pipeline"
	"markimport/pipeline/backup"
	"markimport/pipeline/durable"
	"markimport/pipeline/durable/bucket"
	"markimport/readers/objstore"
)

// Outputs in object storage (s3://BUCKET/KEY for --report, --rejects,
// --summary, --html and --backup; s3://BUCKET/PREFIX/ for --state;
// verify's and page's report-like outputs alike, objectreports.go). Each
// is staged: the run writes it to a folder of its own in --temp-dir
// exactly as it writes a local file (journal, checkpoints, lock, rename),
// and when the run has finished it, the file is uploaded as one object
// that appears only complete (an interrupted run finishes its report, as
// on disk). What was not finished (a run stopped by its input) is not
// uploaded, so the objects already there stay as they were. Before
// anything is read or sent, every object is checked: one that exists is
// refused unless --overwrite (a backup always), and the upload at the end
// is a conditional put. The backup's journal is mirrored to KEY.journal/
// as it is made durable (bucket.Mirror), so that a rollback survives the
// container; the state is pulled from and pushed to its prefix
// (bucket.State); the report's journal is mirrored to KEY.journal/ at each
// checkpoint, from which --resume continues a killed run in a new
// container (reportmirror.go; a --backup's journal alike,
// backupmirror.go). In the place of the lock files beside
// local outputs, a run holds a lease object on each (KEY.lease,
// PREFIX/LEASE.json: owner and expiry, renewed as it goes, deleted at its
// end; see bucket.Lease).

// staged is one output in object storage and the local file it is
// written as.
type staged struct {
	flag  string
	obj   bucket.Object
	local string
}

// objectOutputs are a command's outputs in object storage.
type objectOutputs struct {
	ctx    context.Context
	store  bucket.Store
	dir    string // the staging folder, in --temp-dir
	files  []staged
	state  *bucket.State
	mirror *bucket.Mirror // the backup's journal
	backup bucket.Object
	report *reportMirror // the report's journal

	backupResumed *backupResume // the backup's journal pulled by --resume
	leases        []*bucket.Lease
	leasesDone    chan struct{} // closed when the leases are released
}

// stageObjects replaces each output flag that names an object by a local
// file in a new staging folder, and opens the store (stageOutputs). It
// does nothing when no output is in object storage.
func (r *importRun) stageObjects() error {
	f := r.importFlags
	o, err := stageOutputs(r.tempDir, []outputFlag{{"--report", &f.report}, {"--rejects", &f.rejects}, {"--summary", &f.summary}, {"--html", &f.html}, {"--backup", &f.backup}, {"--state", &f.stateDir}}, r.inputs)
	r.objects = o
	return err
}

// newObjectOutputs opens the store and makes the staging folder in
// tempDir ("": the system's).
func newObjectOutputs(tempDir string) (*objectOutputs, error) {
	ctx := context.Background()
	s, err := objstore.Shared(ctx)
	if err != nil {
		return nil, fmt.Errorf("object storage: %w", err)
	}
	dir, err := os.MkdirTemp(tempDir, "markimport-objects-*")
	if err != nil {
		return nil, fmt.Errorf("--temp-dir: %w", err)
	}
	return &objectOutputs{ctx: ctx, store: bucket.Objects(s), dir: dir}, nil
}

// stage makes the output flag, whose value *val is an object URL, a
// local file in the staging folder, and sets *val to it.
func (o *objectOutputs) stage(flag string, val *string) error {
	obj, err := bucket.Parse(*val)
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	for _, f := range o.files {
		if f.obj == obj {
			return fmt.Errorf("%s %s and %s %s are the same object: give each output its own", flag, obj, f.flag, obj)
		}
	}
	local := filepath.Join(o.dir, strings.TrimPrefix(flag, "--"), path.Base(obj.Key))
	switch flag {
	case "--state":
		if obj.Key != "" && !strings.HasSuffix(obj.Key, "/") {
			obj.Key += "/"
		}
		local = filepath.Join(o.dir, "state")
		o.state = &bucket.State{Ctx: o.ctx, Store: o.store, Prefix: obj, Local: local}
	case "--backup":
		o.backup = obj
	}
	if flag != "--state" {
		if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
			return err
		}
	}
	o.files = append(o.files, staged{flag, obj, local})
	*val = local
	return nil
}

// notInputs refuses an output that is the input, or that an input prefix
// or glob would read.
func (o *objectOutputs) notInputs(inputs []string) error {
	for _, in := range inputs {
		if !objstore.IsURL(in) {
			continue
		}
		src, err := bucket.Parse(in)
		if err != nil {
			continue // the input's own check says why
		}
		for _, f := range o.files {
			if src.Bucket == f.obj.Bucket && reads(src.Key, f.obj.Key) {
				return fmt.Errorf("%s %s is the input (--input %s) or inside it: an output never replaces an input, and the next run would read it; write it elsewhere", f.flag, f.obj, in)
			}
		}
	}
	return nil
}

// reads reports whether an input key (an object, a prefix, a glob) reads
// the object key or an object the output writes beside it.
func reads(input, key string) bool {
	if strings.ContainsAny(input, "*?[") {
		for _, k := range []string{key, key + ".check", key + ".lease"} {
			if ok, _ := path.Match(input, k); ok {
				return true
			}
		}
		return false
	}
	return input == "" || input == key || strings.HasPrefix(key, strings.TrimSuffix(input, "/")+"/")
}

// refuseExisting refuses, before anything is sent, an object that would
// be replaced: a backup (or a killed run's backup journal) always,
// anything else without --overwrite.
func (o *objectOutputs) refuseExisting(overwrite, resume bool) error {
	for _, f := range o.files {
		if f.flag == "--state" {
			continue
		}
		found, err := o.store.Exists(o.ctx, f.obj)
		if err != nil {
			return fmt.Errorf("%s %s: %w", f.flag, f.obj, err)
		}
		if f.flag == "--report" {
			if err := o.refuseReport(f.obj, found, overwrite, resume); err != nil {
				return err
			}
			continue
		}
		switch {
		case f.flag == "--backup" && found:
			return fmt.Errorf("--backup %s exists: a backup is never replaced, with --overwrite neither (it may be the only way back to the marks before the run that wrote it); name a new --backup object", f.obj)
		case f.flag == "--backup" && resume:
			// pullBackup continues the journal, or says there is none.
		case f.flag == "--backup":
			segs, err := o.store.List(o.ctx, journalPrefix(f.obj))
			if err != nil {
				return fmt.Errorf("--backup %s: %w", f.obj, err)
			}
			n := 0
			for _, k := range segs {
				if strings.HasSuffix(k, ".csv") {
					n++
				}
			}
			if len(segs) > 0 {
				return fmt.Errorf("--backup %s: %s holds the journal of a run that did not finish (%d segments), the way back to the marks before it: restore from it (markimport run --input %s) and name a new --backup object", f.obj, journalPrefix(f.obj), n, journalPrefix(f.obj))
			}
		case found && !overwrite:
			return fmt.Errorf("%s %s exists: pass --overwrite to replace it, or name another object", f.flag, f.obj)
		}
	}
	return nil
}

// leaseTTL is how long a lease of a run killed stays in the way (hooks
// may shorten it in tests).
const leaseTTL = 2 * time.Minute

// leaseOf is where the lease of an output is: beside it (KEY.lease), or
// in the state's prefix (LEASE.json).
func leaseOf(f staged) bucket.Object {
	if f.flag == "--state" {
		return f.obj.Join("LEASE.json")
	}
	return bucket.Object{Bucket: f.obj.Bucket, Key: f.obj.Key + ".lease"}
}

// takeLeases takes the lease of every output, as the local disk's outputs
// are locked, and returns what releases them.
func (o *objectOutputs) takeLeases(ttl time.Duration) (release func(), err error) {
	if ttl <= 0 {
		ttl = leaseTTL
	}
	// The owner names this run and no other (a lease is judged the run's
	// by it): a container's pid is often 1, and a restarted one keeps its
	// host name, so a random part comes after.
	host, _ := os.Hostname()
	owner := fmt.Sprintf("markimport pid %d on %s since %s (%s)", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339), rand.Text()[:12])
	var held []*bucket.Lease
	o.leasesDone = make(chan struct{})
	release = func() {
		close(o.leasesDone)
		for _, l := range held {
			l.Release()
		}
	}
	for _, f := range o.files {
		l, err := bucket.TakeLease(o.ctx, o.store, leaseOf(f), owner, ttl)
		if err != nil {
			release()
			return nil, fmt.Errorf("%s %s: %w", f.flag, f.obj, err)
		}
		held = append(held, l)
	}
	o.leases = held
	return release, nil
}

// leasesHalt is the pipeline's Halt of o's leases: done once one of them
// is lost, its LostError then the cause.
type leasesHalt struct {
	done chan struct{}
	once sync.Once
	err  pipeline.Stop // set before done is closed, read after
}

func (h *leasesHalt) Done() <-chan struct{} { return h.done }

// Err is the lost lease's error once Done is closed (nil before).
func (h *leasesHalt) Err() pipeline.Stop {
	select {
	case <-h.done:
		return h.err
	default:
		return nil
	}
}

// halt returns the Halt of o's leases (nil when o holds none): a
// goroutine per lease waits for it to be lost, or for the leases to be
// released.
func (o *objectOutputs) halt() pipeline.Halt {
	if o == nil || len(o.leases) == 0 {
		return nil
	}
	h := &leasesHalt{done: make(chan struct{})}
	for _, l := range o.leases {
		go func() {
			select {
			case <-l.LostC():
				h.once.Do(func() {
					var le *bucket.LostError
					if errors.As(l.Lost(), &le) {
						h.err = le
					}
					close(h.done)
				})
			case <-o.leasesDone:
			}
		}()
	}
	return h
}

// lost returns the first of o's leases known lost (no read: a renewal
// found it, or its expiry passed), or nil.
func (o *objectOutputs) lost() error {
	for _, l := range o.leases {
		if err := l.Lost(); err != nil {
			return err
		}
	}
	return nil
}

// held returns nil while the run holds the lease of every output, read
// from the store, and else the first lease lost: nothing is published
// or committed where another run may be writing.
func (o *objectOutputs) held() error {
	for _, l := range o.leases {
		if err := l.Held(); err != nil {
			return err
		}
	}
	return nil
}

// journalPrefix is where the journal segments of the output b go (the
// backup's, the report's): KEY.journal/.
func journalPrefix(b bucket.Object) bucket.Object {
	return bucket.Object{Bucket: b.Bucket, Key: b.Key + ".journal/"}
}

// mirrorBackup is the file layer of the backup's journal: fsys, with each
// group commit uploaded as a segment before the requests it covers leave.
func (o *objectOutputs) mirrorBackup(journal, check string, fsys durable.FS) durable.FS {
	if o == nil || o.backup.Key == "" {
		return fsys
	}
	o.mirror = &bucket.Mirror{FS: fsys, Ctx: o.ctx, Store: o.store, Path: journal, Check: check, Segments: journalPrefix(o.backup)}
	if o.backupResumed != nil {
		o.mirror.Continue(o.backupResumed.segments, []byte(backup.PartHeader()))
	}
	return o.mirror
}

// publish uploads each finished output (its local file exists) as its
// object, the summary last; the backup's journal segments are deleted once
// the finished backup is there. It returns the first error; a lease lost
// (held) publishes nothing.
func (o *objectOutputs) publish(overwrite bool) error {
	if err := o.held(); err != nil {
		return err
	}
	dst := bucket.NewDestination(o.ctx, o.store, bucket.Parse, overwrite)
	// A backup is never replaced, --overwrite or not.
	backups := bucket.NewDestination(o.ctx, o.store, bucket.Parse, false)
	var first error
	put := func(local string, obj bucket.Object) bool {
		if _, err := os.Stat(local); err != nil {
			return false // not finished: what is in the bucket stays
		}
		to := dst
		if obj.Bucket == o.backup.Bucket && strings.HasPrefix(obj.Key, o.backup.Key) && o.backup.Key != "" {
			to = backups
		}
		if err := bucket.UploadFile(to, local, obj.String()); err != nil {
			first = cmpErr(first, err)
			return false
		}
		return true
	}
	for _, f := range o.files {
		switch f.flag {
		case "--state", "--summary", "--html": // written after the run's end
		case "--backup":
			put(f.local+".check", bucket.Object{Bucket: f.obj.Bucket, Key: f.obj.Key + ".check"})
			if put(f.local, f.obj) && o.mirror != nil {
				o.removeBackupJournal()
			}
		case "--report":
			if put(f.local, f.obj) && o.report != nil {
				first = cmpErr(first, o.report.delete())
			}
		default:
			put(f.local, f.obj)
		}
	}
	return first
}

// publishSummary uploads the summary and the page, each once written,
// and returns the first error.
func (o *objectOutputs) publishSummary(overwrite bool) error {
	if err := o.held(); err != nil {
		return err
	}
	dst := bucket.NewDestination(o.ctx, o.store, bucket.Parse, overwrite)
	var first error
	for _, flag := range []string{"--summary", "--html"} {
		for _, f := range o.files {
			if _, err := os.Stat(f.local); f.flag == flag && err == nil {
				first = cmpErr(first, bucket.UploadFile(dst, f.local, f.obj.String()))
			}
		}
	}
	return first
}

// uploadSummary uploads a --summary and an --html of o once written, and
// returns the exit code: code, or at least 1 when one could not be.
func (c *command) uploadSummary(o *objectOutputs, code int) int {
	if o == nil {
		return code
	}
	if err := o.publishSummary(c.overwrite); err != nil {
		var le *bucket.LostError
		if errors.As(err, &le) {
			// Said in full above, with the exit code.
			c.tell(slog.LevelError, fmt.Sprintf("summary: not uploaded (the lease of %s was lost)", le.Object), "")
		} else {
			c.tell(slog.LevelError, "summary: "+err.Error(), "")
		}
		return max(code, exitSomeNotOK)
	}
	return code
}

// close removes the staging folder.
func (o *objectOutputs) close() { os.RemoveAll(o.dir) }

func cmpErr(first, err error) error {
	if first == nil {
		return err
	}
	return first
}

// pullState fills the local copy of a --state in object storage.
func (r *importRun) pullState() error {
	if r.objects == nil || r.objects.state == nil {
		return nil
	}
	st := r.objects.state
	notice, err := st.Pull(r.full)
	if err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	if notice != "" {
		r.log.Warn("--state: " + notice)
	}
	return nil
}

// stateError names the state's objects, not the local copy, in a message
// of the state package.
func (o *objectOutputs) stateError(err error) error {
	if o == nil || o.state == nil {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), o.state.Local, strings.TrimSuffix(o.state.Prefix.String(), "/")))
}

// pushState uploads what the state's commit wrote.
func (o *objectOutputs) pushState() error {
	if o == nil || o.state == nil {
		return nil
	}
	if err := o.held(); err != nil {
		return err
	}
	return o.state.Push()
}
