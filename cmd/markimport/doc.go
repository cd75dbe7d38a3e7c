// Command markimport imports conversation marks into Tencent Cloud IM in
// bulk through the mark_contact REST API. Run `markimport help` for usage.
//
// The package is the command line and nothing else: it parses each
// command's flags into one configuration, checks them together, claims the
// files it will write, wires the pieces the other packages provide, and
// turns how a command ended into an exit code and the messages a user
// reads. The work itself (reading, validating, planning, sending,
// reporting) belongs to pipeline and the packages below it.
//
// By job:
//
//   - main.go and app.go: the process (signals, the one exit) and the
//     dispatch of a command line; exit.go the exit codes, the one table
//     --help prints; version.go the version line.
//   - flags.go and command.go: parsing the flags of validate, run and
//     verify into a command; flaghelp.go: which command takes which flag
//     (refusing the others, naming whose they are) and each command's -h;
//     settings.go: flags from MARKIMPORT_<FLAG> and a --config TOML file,
//     and the config command.
//   - importcheck.go: validate's and run's checks of the flags, one check a
//     job, before anything is opened; claim.go, outputs.go and lock.go:
//     every output claimed (locked, never an input, never a file it must
//     not replace) before anything is sent.
//   - importcmd.go: setting a run up (connection, state, report journal,
//     read-back) and running the pipeline; importend.go: finishing it
//     (backup, journal, state, rejects), the exit code and what is said
//     about it.
//   - objects.go: outputs and the state in object storage (s3://), staged
//     in --temp-dir and published through pipeline/durable/bucket;
//     objectreports.go: verify's and page's outputs staged the same way,
//     and the files that must stay local (--metrics-file, profiles);
//     reportmirror.go and backupmirror.go: a report's and a backup's
//     journal mirrored to the bucket as it is made durable, and pulled
//     back for --resume.
//   - verify.go: the verify command; backup.go: --backup and --mode insert
//     as run wires them, and the proof of a backup read as an input (a
//     file, or an object against KEY.check); client.go and pace.go: the
//     connection and the pace kept across runs; profile.go: the --profile
//     that reads of marks need; fake.go: --fake and fake-server;
//     preflight.go: the preflight command; pagecmd.go: the page command.
//   - summary.go, progress.go, logging.go, stream.go: what a command
//     prints and writes about itself; limits.go: sizes as flags take them,
//     the grouping's budget in --memory-limit and the CPU and heap
//     profiles; heappace.go: the collector paced by the live heap while
//     little is held; metrics.go: its Prometheus
//     metrics (--metrics-file, --metrics-push), from the counters during
//     the command and from its summary at the end.
//   - hooks.go: what a caller in-process injects (the tests); testhooks.go,
//     built only with the markimport_testhooks tag, lets the tests crash a
//     real binary while it writes its state.
//
// Outputs, as claim.go, outputs.go and lock.go hold them: each output's
// FILE.lock is an flock (a dead process's lock is dropped with it), and an
// output the input would read (inside an input folder, folders reached
// through links included, or matched by its glob: --input 'out/*.csv' with
// --report out/report.csv) is refused, since a killed run's journal would
// be read as input the next night.
//
// # The summary
//
// What --summary writes, as JSON, field by field:
//
//   - run_id, started_at, ended_at, input, dry_run, rows: the id every log
//     line carries; UTC times of the run; the input path; true for
//     validate; input rows read
//   - statuses, failure_codes: rows per status; rows per non-zero code
//     (50002, 51008, API codes, -1 no usable answer, -2 an answer not
//     believed)
//   - users, conversations, requests_planned, requests_sent, items_sent:
//     the input's users and merged conversations (those --state finds
//     unchanged and outside --sample included); mark_contact requests
//     planned, and those that left at least once, and their items
//   - http_requests, http_requests_by_code, retries, throttled,
//     throttled_by_code: every request put on the wire, and by how its
//     try ended; retries among them; throttled answers, and by code
//   - elapsed_seconds, read_seconds, send_seconds, requests_per_second,
//     estimated_send_seconds: the whole run; reading the input whole
//     before planning (not --sorted); the sending phase; requests over the
//     time from the first to the last request sent; requests planned /
//     --rate
//   - requests_to_change, resumed_ok_rows, requests_saved: validate
//     --online: mark_contact requests the would-change rows take, at the
//     lower bound; rows already ok when a --resume run started; with
//     --state or --mode insert, requests the items not sent would have
//     taken
//   - read_requests, backup_rows, read_to_write: --backup or --mode
//     insert: search_contact_group requests; restore rows written; the
//     read-to-write window per user (users, p50_seconds, p99_seconds,
//     max_seconds)
//   - stopped, stop_message: why sending stopped early: interrupted,
//     fatal: CODE (e.g. fatal: 70009), fatal: unreachable, fatal: http (a
//     redirect, a 404), report (not writable), backup (its journal not
//     writable), lease (a lease in object storage lost), max-invalid,
//     error (any other error that stopped it); then in words, with the fix
//   - sample, users_left_out: the share of users --sample kept (1: every
//     user); users outside it, whose valid rows are skipped (verify:
//     not-checked)
//   - spilled, peak_rss_bytes, exit_code, notes: true when grouping
//     spilled to temporary files; the most memory the process held
//     (Linux); the process's exit code; only when stdout or stderr could
//     not be written: per stream, from when, writes dropped
//   - timeline: run, verify: per interval (1 s, doubled past 600 points)
//     requests, throttled, items_ok, items_failed, latency_p50_ms,
//     latency_p99_ms
//   - command, command_line, version, profile, backup, rollback_command:
//     how it was run (secrets masked), for the sign-off page
//
// Imports: pipeline and its sub-packages (backup, durable,
// durable/bucket, mapping, mark, metrics, page, preflight, readback,
// rejects, report, state, timeline), readers and readers/objstore, sink
// and sink/fakeim. Nothing imports this package.
package main
