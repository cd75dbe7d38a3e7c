package main

// Exit codes: the one table, printed by --help.
const (
	exitOK          = 0   // every row ok (or valid in a dry run)
	exitSomeNotOK   = 1   // some rows are not ok: see the report
	exitUsage       = 2   // usage, configuration or input error; nothing was sent
	exitFatal       = 3   // the API answered with an error that stops the run, or the backup cannot be written
	exitInterrupted = 130 // interrupted; the report is flushed and --resume continues
)

const exitCodesHelp = `Exit codes:
  0    every row ok (validate: every row valid)
  1    some rows are not ok (failed, invalid, rejected or unsent): see the report
  2    usage, configuration or input error: nothing was sent
  3    stopped by a fatal API error (credentials, region, edition), or the --backup journal
       could not be written (a full disk): see the message
  130  interrupted (SIGINT/SIGTERM): the report is flushed; run again with --resume
  verify: 0 every checked row matches; 1 some rows are mismatch, missing or unread
`
