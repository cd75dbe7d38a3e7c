// Package backup is the read-back before a run's writes: it writes, before
// a run changes a conversation, the row that puts back what the run changes
// there (run --backup FILE), so that a migration can be undone by importing
// the backup; and it holds back the items of conversations that already
// hold marks (run --mode insert). One read serves both (Gate).
//
// For every item the run will send, the conversation's marks are read back
// first (search_contact_group, on the read API's own quota), and Restore
// turns the item and the marks read into a restore row: the bits the item
// sets or clears are set back where they were 1 and cleared where they
// were 0, bits it does not touch are not mentioned, and the previous
// custom mark is written back when the item writes one. A conversation the
// server does not hold yet is restored to no marks (the API cannot delete
// a conversation). An item that changes nothing on the server needs no
// row.
//
// The backup is a markimport input (CSV, or Parquet by its name). While a
// run goes on, rows are appended to a CSV journal beside it, FILE.journal.csv,
// and made durable (fsync, several users' rows at a time), then proven by a
// durable checkpoint (check.go), before the requests that change their
// conversations are sent; an item that would change nothing is not sent,
// so that every request has its conversation's row. When the run ends the
// journal becomes FILE (an interrupted run leaves the journal). A resumed
// run (--resume) continues the journal, or the finished backup, and never
// reads again a conversation that already has a row: a row always holds
// the marks from before the first change. Every write goes through the
// durable.FS of Files (the disk, or a test's recorder).
package backup
