// Command markgen writes a deterministic, shuffled import file of mark
// changes for demos, tests and benchmarks: many users with a skewed number of
// conversations each, repeated rows of the same conversation (which the
// planner merges), and optionally invalid rows of every kind.
//
//	markgen -n 1000000 -seed 1 -o big.csv
//	markgen -n 1000000 -seed 1 -o big.parquet
//	markgen -analyze big.csv
//
// It owns the generator (main.go), its Parquet writer (parquet.go) and the
// analysis of a CSV file (analyze.go): the fewest requests the API allows for
// it and what a file-order streamer would send, which the benchmark compares
// with markimport's planner. That analysis is written here on purpose with
// its own simple code and its own copy of the API's limits, so that a mistake
// in the planner cannot hide in it.
//
// Imports: of the project only readers (to tell a Parquet file name the way
// markimport does); Arrow's Go module for Parquet; never pipeline or sink.
package main
