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
//     --help prints.
//   - flags.go and command.go: parsing the flags of validate, run and
//     verify into a command.
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
//     and the files that must stay local (--metrics-file, profiles).
//   - verify.go: the verify command; backup.go: --backup and --mode insert
//     as run wires them, and the proof of a backup read as an input (a
//     file, or an object against KEY.check); client.go and pace.go: the connection and the
//     pace kept across runs; fake.go: --fake and fake-server.
//   - summary.go, progress.go, logging.go, stream.go, limits.go: what a
//     command prints and writes about itself; metrics.go: its Prometheus
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
// Imports: pipeline and its sub-packages (backup, durable, mark, report,
// state), readers, sink and sink/fakeim. Nothing imports this package.
package main
