// Package spill holds the valid changes of an input while it is read,
// grouped by hash partition of the user, within a memory budget: each
// change is encoded compactly and appended to its partition, in memory up
// to the budget and in unlinked temporary files beyond it. Planning then
// takes the partitions one by one and decodes each, grouped by user in
// order of first appearance, the same whether it was held or spilled.
// PartitionOf is the partitioning, which the incremental state shares.
//
// It imports pipeline/mark (the changes it holds) and nothing else of the
// project; its temporary files are scratch space, unlinked at once, never
// outputs, so they do not go through pipeline/durable.
package spill
