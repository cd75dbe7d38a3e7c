package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"markimport/pipeline/mapping"
	"markimport/pipeline/mark"
	"markimport/readers"
	"markimport/sink"
)

// mapFlag collects repeated --map old=new.
type mapFlag map[string]string

func (m mapFlag) String() string {
	var pairs []string
	for from, to := range m {
		pairs = append(pairs, from+"="+to)
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ", ")
}
func (m mapFlag) Set(v string) error {
	from, to, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(from) == "" || strings.TrimSpace(to) == "" {
		return fmt.Errorf("want input_name=column, e.g. legacy_user=from_account")
	}
	m[strings.TrimSpace(from)] = strings.TrimSpace(to)
	return nil
}

// sampleFlag is --sample: a share of users, parsed when given.
type sampleFlag struct{ mark.Sample }

func (s *sampleFlag) String() string {
	if s == nil || s.Whole() {
		return ""
	}
	return strconv.FormatFloat(s.Fraction(), 'g', -1, 64)
}

func (s *sampleFlag) Set(v string) error {
	var err error
	s.Sample, err = mark.ParseSample(v)
	return err
}

// listFlag collects a repeated flag's values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	*l = append(*l, v)
	return nil
}

// importFlags are the flags of validate, run and verify.
type importFlags struct {
	profile                string        // --profile: the service profile's path
	bitOrder               mark.BitOrder // its bit order, once checked (or the built-in emulator's)
	inputs                 listFlag
	input                  string // the --input values, for messages and checks
	report, summary        string
	html                   string // --html: the sign-off page
	format, delimiter      string
	maps                   mapFlag
	mapFile                string // --map-file
	rate, rateMargin       float64
	quiet                  bool
	progressEvery          time.Duration
	memoryLimit            string
	rejects, maxInvalid    string
	logFormat              string
	sorted                 bool
	strictBits             bool
	tempDir                string
	cpuProfile, memProfile string
	overwrite              bool
	stateDir               string
	full                   bool
	backup                 string
	mode                   string
	runReport              string
	readRate               float64
	sample                 sampleFlag
	online                 bool            // validate --online
	skipUnchanged          bool            // run --skip-unchanged
	allowEmpty             bool            // an input without rows exits 0
	given                  map[string]bool // the flags the command line set
	config                 string          // --config
	settings               settingSource   // where each flag's value came from
	metricsFile            string          // --metrics-file
	metricsPush            pushURLFlag     // --metrics-push
	metricsJob             string          // --metrics-job
	metricsInstance        string          // --metrics-instance

	// run only
	fake, resume, force        bool
	fakeState                  string
	sdkappid                   string
	admin, region, endpoint    string
	usersigFile, secretKeyFile string
	sigTTL                     time.Duration
	concurrency, maxAttempts   int
	timeout                    time.Duration
}

// newImportFlags defines the flags of validate, run and verify: every one
// for each, so that a flag of another command is refused saying whose it
// is (flagHomes), not as unknown.
func newImportFlags(name string) (*flag.FlagSet, *importFlags) {
	f := &importFlags{maps: mapFlag{}}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Var(&f.inputs, "input", "input: a file (.csv, .csv.gz, .csv.zst, .parquet; - for stdin), a folder of part files, or a quoted glob ('exports/*.parquet'); repeatable")
	fs.StringVar(&f.config, "config", "", "a TOML file of settings: flag names as keys, at the top level or in a [validate], [run] or [verify] table (or env MARKIMPORT_CONFIG); every flag may also come from MARKIMPORT_<FLAG>; the command line wins, then the environment, then the file")
	fs.StringVar(&f.report, "report", "", "report file, one line per input row: CSV, or Parquet when it ends in .parquet or .pq")
	fs.StringVar(&f.summary, "summary", "", "write the summary as JSON to this file")
	fs.StringVar(&f.html, "html", "", "write the sign-off page to this file: one HTML file, for people (the verdict, rows by status and code with samples, the sending over time, the command); needs --report")
	fs.StringVar(&f.format, "format", "", "input format csv|parquet (default: from the file name)")
	fs.StringVar(&f.delimiter, "delimiter", "", "CSV field separator: one ASCII character, or \"tab\" (default \",\", or what an Excel \"sep=\" line says)")
	fs.Var(f.maps, "map", "rename an input column: legacy_name=from_account (repeatable)")
	fs.StringVar(&f.mapFile, "map-file", "", "a TOML mapping file that makes the input's columns of another table's: per column a source column, a constant, a group flag to type, a peer by type, boolean columns to bits (go doc markimport/pipeline/mapping); not with --map")
	fs.Float64Var(&f.rate, "rate", sink.DefaultRate, "requests per second across all workers (the API allows 200)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress output, and only warnings and errors in the log")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json (one JSON object per line)")
	fs.BoolVar(&f.allowEmpty, "allow-empty", false, "an input without rows (a header only, or a folder whose parts hold none: a night without changes) exits 0 with a warning and an empty report, instead of 2")
	fs.StringVar(&f.rejects, "rejects", "", "write every row that did not end ok, with its original columns plus status, code, message (in the input's format)")
	fs.StringVar(&f.maxInvalid, "max-invalid", "", "send nothing if more rows than this are invalid or rejected: a count (100) or a share (0.5%)")
	fs.DurationVar(&f.progressEvery, "progress-every", 10*time.Second, "progress log interval when stderr is not a terminal")
	fs.StringVar(&f.metricsFile, "metrics-file", "", "write Prometheus metrics to this file (node_exporter textfile collector format: name it *.prom in the collector's folder), replaced whole at every --progress-every and at the end")
	fs.Var(&f.metricsPush, "metrics-push", "push Prometheus metrics to this Pushgateway at the end (http or https; user:password@ for basic auth, never shown)")
	fs.StringVar(&f.metricsJob, "metrics-job", "markimport", "with --metrics-push: the job label of the pushed group")
	fs.StringVar(&f.metricsInstance, "metrics-instance", "", "with --metrics-push: the instance label of the pushed group (default: the host name)")
	fs.StringVar(&f.memoryLimit, "memory-limit", "1GiB", "memory for grouping rows by user (e.g. 256MiB, 2GiB, bytes); beyond it rows spill to temporary files")
	fs.BoolVar(&f.sorted, "sorted", false, "the input is grouped by from_account: plan and send a user at a time, without grouping")
	fs.BoolVar(&f.strictBits, "strict-bits", false, "a row that sets or clears bits 4-31, which Tencent's client SDKs do not define, is invalid (without it: accepted, with one warning per run)")
	fs.StringVar(&f.tempDir, "temp-dir", "", "directory for spill files (default $TMPDIR)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	fs.StringVar(&f.memProfile, "memprofile", "", "write a heap profile to this file at the end")
	fs.StringVar(&f.stateDir, "state", "", "incremental state folder: items the API already confirmed, unchanged since, are reported unchanged and not sent; confirmed items are stored")
	fs.BoolVar(&f.full, "full", false, "with --state: send every item (a re-sync) and refresh the state")
	fs.StringVar(&f.backup, "backup", "", "before a conversation is changed, write the row that restores its marks to this file (CSV, or Parquet by name); import it to roll back")
	fs.StringVar(&f.mode, "mode", "upsert", "upsert writes every item; insert first reads each user's conversations back and does not send an item whose conversation already holds marks (reported exists)")
	fs.Float64Var(&f.readRate, "read-rate", sink.DefaultRate, "search_contact_group requests per second for --backup, --mode insert, --skip-unchanged and validate --online (the read API's own quota)")
	fs.Var(&f.sample, "sample", "a canary: only the users whose from_account hashes into this fraction (0.01: 1% of users, the same users on every run); the valid rows of the others are reported skipped (verify: not-checked)")
	fs.BoolVar(&f.overwrite, "overwrite", false, "replace existing outputs: report, summary, rejects, profiles, a backup without rows (without it, an existing output is refused: see --resume); a backup with rows, or any output over a backup, never")
	fs.BoolVar(&f.online, "online", false, "read every planned conversation back (search_contact_group, at --read-rate) and report what the import would do: would-change (the marks before and after), already, or unread; nothing is written. Needs the connection flags and --profile")
	fs.StringVar(&f.runReport, "run-report", "", "the report of the run being verified; rows it reported exists (--mode insert) are not checked")
	fs.BoolVar(&f.resume, "resume", false, "continue an interrupted run: keep the report's ok rows, send the rest")
	fs.BoolVar(&f.force, "force", false, forceHelp)
	fs.BoolVar(&f.skipUnchanged, "skip-unchanged", false, "read each user's conversations back just before sending and send no item the server already holds (reported unchanged); with --state, only what the state cannot vouch for is read")
	// The connection: run and verify; validate with --online.
	fs.StringVar(&f.profile, "profile", "", "the service profile written by markimport preflight: how the service reads StandardMark (needed by verify, validate --online, --backup, --mode insert and --skip-unchanged against an endpoint)")
	fs.BoolVar(&f.fake, "fake", false, "rehearse against the built-in emulator on loopback (no credentials needed)")
	fs.StringVar(&f.fakeState, "fake-state", "", "with --fake: the emulator starts from the marks saved in this file and (run) saves its marks there at the end, so that rehearsals follow each other (run, rollback, verify)")
	f.defineConnection(fs)
	fs.IntVar(&f.concurrency, "concurrency", 0, "requests in flight (default rate+16)")
	fs.Float64Var(&f.rateMargin, "rate-margin", sink.DefaultMargin, "share of --rate left unused as headroom for network jitter (0.01 = 1%)")
	fs.IntVar(&f.maxAttempts, "max-attempts", sink.DefaultMaxAttempts, "tries per item before it is reported failed")
	fs.DurationVar(&f.timeout, "timeout", sink.DefaultTimeout, "timeout of one HTTP request")
	return fs, f
}

// readerOptions are the readers' options from --format, --map,
// --map-file and --delimiter.
func (f *importFlags) readerOptions() (readers.Options, error) {
	o := readers.Options{Format: f.format, Map: f.maps}
	if f.mapFile != "" {
		// One way to name columns: a mapping file's target = "column" is
		// what --map does, and two that disagree would need a rule.
		if len(f.maps) > 0 {
			return o, fmt.Errorf("--map and --map-file: give one (a mapping file's from_account = \"user_id\" is --map user_id=from_account)")
		}
		m, err := mapping.Load(f.mapFile)
		if err != nil {
			return o, err
		}
		m.Configure(&o)
	}
	switch d := f.delimiter; {
	case d == "":
	case d == "tab" || d == `\t`:
		o.Delimiter = '\t'
	case len(d) == 1 && d[0] < 0x80 && d[0] != '"' && d[0] != '\r' && d[0] != '\n':
		o.Delimiter = rune(d[0])
	default:
		return o, fmt.Errorf("--delimiter %q: want one ASCII character or \"tab\"", d)
	}
	return o, nil
}

// defineConnection defines the flags that say where the service is and who
// calls it, as run, verify, validate --online and preflight take them.
func (f *importFlags) defineConnection(fs *flag.FlagSet) {
	fs.StringVar(&f.sdkappid, "sdkappid", os.Getenv("MARKIMPORT_SDKAPPID"), "the app's SDKAppID (env MARKIMPORT_SDKAPPID)")
	fs.StringVar(&f.admin, "admin", os.Getenv("MARKIMPORT_ADMIN"), "an App admin account (env MARKIMPORT_ADMIN)")
	fs.StringVar(&f.region, "region", "", "data centre: "+strings.Join(sink.RegionNames(), ", "))
	fs.StringVar(&f.endpoint, "endpoint", "", "API base URL instead of --region (https; http only on loopback)")
	fs.StringVar(&f.usersigFile, "usersig-file", "", "file holding a ready usersig (or env MARKIMPORT_USERSIG)")
	fs.StringVar(&f.secretKeyFile, "secret-key-file", "", "file holding the app's secret key (or env MARKIMPORT_SECRET_KEY)")
	fs.DurationVar(&f.sigTTL, "sig-ttl", 24*time.Hour, "lifetime of usersigs made from the secret key")
}
