//go:build !race

package cpuemu

const raceDetector = false
