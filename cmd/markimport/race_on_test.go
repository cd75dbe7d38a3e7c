//go:build race

package main

// raceDetector is true when the tests run with -race. The race detector
// slows the program down many times and makes its timing unrepresentative,
// so the per-second rate assertions only run without it (make test runs
// those tests a second time without -race).
const raceDetector = true
