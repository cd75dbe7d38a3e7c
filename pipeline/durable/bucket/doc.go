// Package bucket is object storage (s3://BUCKET/KEY) as a destination of
// markimport's outputs: the durable.Destination and durable.Output of a
// store that publishes a whole object at once, the journal mirror that
// uploads a backup's journal as it is made durable, and the state kept as
// immutable objects under a prefix.
//
// What holds, and what protects it:
//
//   - An object appears only complete. An Output streams what is written
//     into an upload the store publishes at Commit (a multipart upload
//     completed, or one PUT); Abort drops the upload, and an object that
//     was there stays as it was.
//
//   - A finished object is never replaced unless asked. Whoever makes an
//     Output without overwrite has checked first (Exists) that nothing is
//     there, and the upload is published with a conditional put (If-None-
//     Match: *), so that an object that appeared meanwhile is not
//     replaced either. Stores that ignore the condition (Tencent COS
//     overwrites silently) are protected by the check alone: two runs
//     writing the same object at the same moment can then replace one
//     another's, which is why a schedule runs one job at a time.
//
//   - A backup's journal reaches the bucket before the writes it covers
//     leave: Mirror wraps the file layer the backup writes through, and
//     every time the journal is made durable (its group commit) the rows
//     appended since the last time are uploaded as one segment object,
//     KEY.journal/NNNNNNNN.csv, each a CSV with the journal's header, and
//     the sync returns only once the segment is in the bucket; the
//     checkpoint written after it goes up as KEY.journal/_NNNNNNNN.check.
//     After a kill at any moment, the segments under KEY.journal/ read as
//     one folder input are the rollback (an input folder skips names
//     starting with "_"), and a resume elsewhere rebuilds the journal from
//     them (ListMirror: the parts in order, a hole refused by name).
//
//   - The state (State): each commit uploads the partition files it wrote
//     as new objects under PREFIX/s-NNNNNNNN/ and then, last, the manifest
//     PREFIX/manifest-NNNNNNNN.json that names every object of the state.
//     Nothing is modified in place; the newest manifest is the state. A run
//     works on a local copy in the temporary folder (pulled when it
//     starts, checked object by object); the objects stay the source of
//     truth. Of two runs at once on one state, the second to commit finds
//     a manifest it did not read and is refused (ErrConcurrent): its
//     confirmed items are not stored, so the next run sends them again.
//
//   - A run holds a Lease on each location it writes, as a local run
//     locks a file beside each output: an object naming its owner and its
//     expiry, renewed as the run goes and deleted at its end, so that a
//     second run is refused and a killed run's lease expires by itself.
//     A renewal reads the object first and writes it only while it is
//     still the run's own (its owner names one run); a lease found gone,
//     another's or not a lease, or not renewed before its expiry, is lost:
//     never written or deleted again, and the
//     run checks it (Held) before it publishes or commits anything there,
//     and stops sending once one is known lost (LostC).
//
// The package imports pipeline/durable and, for Objects (the client as a
// Store), readers/objstore; the rest is written against Store, which the
// tests implement in memory.
package bucket
