//go:build race

package cpuemu

// raceDetector says the tests run under -race, which makes the oracle
// tests of the ALU several times slower: they sample less then.
const raceDetector = true
