package main

// Exit codes: the one table, printed by --help.
const (
	exitOK          = 0   // every row ok (or valid in a dry run)
	exitSomeNotOK   = 1   // some rows are not ok: see the report
	exitUsage       = 2   // usage, configuration or input error, or an output that cannot be written; nothing was sent
	exitFatal       = 3   // stopped: a fatal API error, an endpoint never reached, or a report or backup that cannot be written
	exitInterrupted = 130 // interrupted; the report is flushed and --resume continues
)

const exitCodesHelp = `Exit codes:
  0    every row ok (validate: every row valid)
  1    some rows are not ok (failed, invalid, rejected or unsent): see the report
  2    usage, configuration or input error, or an output that may not be
       replaced, is locked, or cannot be written: nothing was sent
  3    stopped by a fatal API error (credentials, region, edition), or because the
       report or the --backup journal could not be written (a full disk): see the
       message, fix, --resume
  130  interrupted (SIGINT, SIGTERM or SIGHUP): the report is flushed; run again with --resume
  verify: 0 every checked row matches; 1 some rows are mismatch, missing or unread
`
