// Package durable owns how markimport writes the files that must survive a
// crash or a power cut: reports and their journals and sidecars, the
// incremental state, backups, rejects files and summaries. It is the one
// place that renames a file or syncs one.
//
// Three shapes of file exist, and each is written one way:
//
//   - An output that appears whole or not at all (a summary, a rejects
//     file, a verify report, a finished Parquet report, a sidecar, a state
//     manifest) is made through a Destination: Create starts it, Write
//     fills it, Commit publishes it and Abort drops it; WriteFile does the
//     four for bytes already in memory. On the local disk (Disk) it is
//     written beside its final name (NAME.tmp), and Commit syncs it,
//     closes it, renames it into place and syncs the folder, so that
//     after a crash the final name holds the old file or the new one,
//     never a torn one, and the rename itself cannot be lost. Abort removes the temporary file and leaves the
//     final name as it was.
//   - A journal appended to as a run goes (a report's journal and its
//     checkpoints, a backup's journal): CreateJournal opens it, its writer
//     calls Persist when what it wrote must be durable, and Move gives it its final name, renamed
//     and the folder synced; Remove deletes a file durably.
//   - Files published together by a later output that names them (a
//     state's generation, named by its manifest): a Batch creates their
//     folder durably, writes each synced, and Seal makes the folder's
//     entries durable before the output that names them is committed.
//     MoveInto moves a folder's entries into another, durably.
//
// Every write goes through an FS. Local is the operating system's; tests
// inject one (package durabletest) that records every call in order, so
// that "synced before renamed" and "journal durable before the request
// leaves" are checked as sequences of calls rather than guessed from the
// page cache, and that fails writes on demand, as a full disk does.
//
// Destination, with the Output it creates (create, write, commit, abort),
// is the seam for other destinations such as object storage: Disk is its
// local implementation, and a store that publishes a whole object at once
// implements the same two interfaces.
//
// Errors are returned as the FS gave them, so that callers classify them
// with errors.Is (a full disk is syscall.ENOSPC); this package classifies
// the one it tolerates, a folder that cannot be synced (EINVAL), the same
// way, never by its text.
//
// The package is a leaf: it imports nothing of the project.
package durable
