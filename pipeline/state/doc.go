// Package state keeps, across runs, what the API last confirmed of each
// conversation (--state DIR): per app, per conversation (from_account,
// type, peer), the item hash of the merged item whose every row ended ok.
// A nightly run drops the items whose item hash is unchanged, so that it
// costs what changed, not what exists.
//
// The state is partitioned as the planner's grouping store is (by a hash
// of from_account, spill.PartitionOf), so that the run looks up only the
// partition it is planning, one at a time: the state of 100M conversations
// is never in memory whole. Each partition is a sorted file of fixed-size
// entries (a 128-bit key, a 64-bit item hash); a manifest names the files
// of the current generation with their sizes and CRC-32s, and carries its
// own checksum. A run appends the items the API confirmed to
// per-partition pending files, and at its end merges them into a new
// generation and renames the new manifest into place: a crash leaves the
// old state or the new one, never a mix, and the new one holds only
// confirmed items.
//
// The files follow those jobs: key.go (a conversation's key, an item's
// hash, the entry they make), manifest.go (the table of contents, decoded
// and checked in one place), part.go (a partition file read, checked and
// indexed for lookups), pending.go (the items a run confirmed),
// generation.go (Commit: the new generation and its manifest), folder.go
// (what a state folder may hold, and cleaning up after killed runs) and
// open.go (Open and the Store).
//
// A state folder holds only what this package writes there (folder.go
// lists it). Open refuses a folder it cannot account for whole (no
// manifest beside partition files, a manifest that does not check, a
// damaged partition file, a file it did not write) rather than take it
// for a state that holds less, and deletes only what it can prove is its
// own leftover; with --full it moves such a folder's content aside,
// deleting nothing, and starts a new state.
//
// The folder: LOCK, MANIFEST.json, gen-N/p-PPP.st (256 partitions by user,
// 24 bytes an entry: 100M conversations take 2.4 GB, about 10 MB a
// partition a planner loads), pending-*/ and set-aside-*/. Besides a
// manifest or partition file that does not check (sizes and CRC-32s are
// checked first), Open refuses a manifest of state format 1, partition
// files without a manifest and a generation more than one newer than the
// manifest's. Once everything checks, a run removes only its own leftovers
// (pending folders, MANIFEST.json.tmp, a generation one newer, partition
// files no longer named); --full moves all but LOCK and the set-aside
// folders of earlier runs to set-aside-<UTC time>/. Confirmed items go to pending files and, at the
// end of a run (after a fatal stop too, not after an interrupt), into a
// new generation.
//
// Every write goes through pipeline/durable (a new generation is a
// durable.Batch, the manifest a durable output, a set-aside a
// durable.MoveInto): this package renames and syncs nothing itself. It
// imports pipeline/mark (the items), pipeline/spill (the partitioning)
// and pipeline/durable, and nothing else of the project.
package state
