package cpuemu_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/kernels"
)

// BenchmarkParallelBlocks launches batch_reduce over 1024 blocks on 1, 2,
// 4 and GOMAXPROCS workers, in turn within each iteration, and reports
// the speed of each ("lane-instr/s-wN") and its speed-up over one worker
// measured in the same run ("speedup-wN"). On a machine with N free cores
// the speed-up with N workers is what the emulator gets out of them.
func BenchmarkParallelBlocks(b *testing.B) {
	const nrec, recWords = 1024, 256
	m := module(b, "batch_reduce")
	d := cpuemu.NewDevice()
	in := randWords(2, nrec*recWords)
	pin, _ := d.Alloc(4 * len(in))
	d.Write(pin, kernels.WordBytes(in))
	pout, _ := d.Alloc(12 * nrec)
	counts := []int{1, 2, 4}
	if n := runtime.GOMAXPROCS(0); n > 4 {
		counts = append(counts, n)
	}
	elapsed := make([]time.Duration, len(counts))
	instr := make([]int64, len(counts))
	for b.Loop() {
		for i, w := range counts {
			cfg := cpuemu.LaunchConfig{Grid: ptD1(nrec), Block: ptD1(128), Workers: w}
			start := time.Now()
			res, err := m.Launch(d, "batch_reduce", cfg, pin, pout, uint32(nrec), uint32(recWords))
			elapsed[i] += time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			instr[i] += res.LaneInstructions
		}
	}
	for i, w := range counts {
		b.ReportMetric(float64(instr[i])/elapsed[i].Seconds(), fmt.Sprintf("lane-instr/s-w%d", w))
		if i > 0 {
			b.ReportMetric(elapsed[0].Seconds()/elapsed[i].Seconds(), fmt.Sprintf("speedup-w%d", w))
		}
	}
}
