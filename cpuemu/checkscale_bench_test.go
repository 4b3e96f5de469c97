package cpuemu

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkCheckScaling runs the single-pass __threadfence reduction of
// testdata/scaling (fence_reduce) over 2^20 words at 8 to 256 blocks of
// 256 threads, without and with the race checker, under lockstep, both on
// one worker. It
// reports how many times longer the checked launch takes ("x-overhead";
// the aim is at most 10 at every size), the checked launch's time per
// lane-instruction, and the bytes of the checker's shadow of global memory
// per word the kernel touched (all at full width here).
//
//	go test ./cpuemu -run XXX -bench CheckScaling -benchtime 5x
func BenchmarkCheckScaling(b *testing.B) {
	for _, grid := range []uint32{8, 16, 32, 64, 256} {
		b.Run(fmt.Sprintf("blocks=%d", grid), func(b *testing.B) {
			f := newScaleFixture(b, 1<<20)
			var plain, check time.Duration
			var instr int64
			var st shadowStats
			for b.Loop() {
				start := time.Now()
				// One worker, as the checked launch runs on: like with like.
				if _, err := f.launch("fence_reduce", grid, LaunchConfig{Workers: 1}); err != nil {
					b.Fatal(err)
				}
				plain += time.Since(start)
				start = time.Now()
				res, err := f.launch("fence_reduce", grid, LaunchConfig{Check: true, shadowStats: &st})
				check += time.Since(start)
				if err != nil {
					b.Fatalf("%v\n%s", err, scaleReport(res, err))
				}
				instr += res.LaneInstructions
			}
			b.ReportMetric(check.Seconds()/plain.Seconds(), "x-overhead")
			b.ReportMetric(float64(check.Nanoseconds())/float64(instr), "ns/checked-lane-instr")
			b.ReportMetric(float64(st.Bytes)/float64(st.Words), "shadow-B/word")
		})
	}
}
