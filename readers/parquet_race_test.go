//go:build race

package readers

// raceEnabled says the tests run under the race detector, which slows
// decoding down about tenfold.
const raceEnabled = true
