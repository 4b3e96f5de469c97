package emutest_test

import (
	"fmt"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/cpuemu/emutest"
)

// exampleT stands in for the *testing.T a real test has: a failure panics
// with the message (for a launch, the checker's full report).
type exampleT struct{ testing.TB }

func (exampleT) Helper()                        {}
func (exampleT) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

// Two kernels nvcc compiled from ordinary CUDA (cpuemu/testdata/ordinary),
// launched with the race and sync checker on: saxpy, and block_sum, a
// shared-memory tree reduction with __syncthreads, under several schedules.
func Example() {
	var t testing.TB = exampleT{} // in a test: its *testing.T
	m := emutest.LoadFile(t, "../testdata/ordinary/ordinary.ptx")
	dev := cpuemu.NewDevice()

	// saxpy(n, a, x, y): y[i] = a*x[i] + y[i] for i < n.
	x := emutest.FloatBuffer(t, dev, []float32{1, 2, 3, 4, 5})
	y := emutest.FloatBuffer(t, dev, []float32{10, 20, 30, 40, 50})
	emutest.Launch(t, m, dev, "saxpy", emutest.Config(1, 32), int32(5), float32(2), x, y)
	fmt.Println("saxpy", emutest.Floats(t, dev, y, 5))

	// block_sum(in, out, n): each block of 32 threads sums its 32 inputs.
	in := make([]float32, 64)
	for i := range in {
		in[i] = float32(i + 1)
	}
	pin := emutest.FloatBuffer(t, dev, in)
	out := emutest.Zeroed(t, dev, 4*2)
	cfg := emutest.Config(2, 32)
	cfg.SharedBytes = 4 * 32 // extern __shared__ float s[blockDim.x]
	for _, s := range emutest.Schedules(1) {
		res := emutest.Launch(t, m, dev, "block_sum", s.Config(cfg), pin, out, int32(64))
		fmt.Println("block_sum", s, emutest.Floats(t, dev, out, 2), res.Report.Clean())
	}
	// Output:
	// saxpy [12 24 36 48 60]
	// block_sum lockstep [528 1552] true
	// block_sum roundrobin [528 1552] true
	// block_sum adversarial [528 1552] true
	// block_sum random seed 1 [528 1552] true
}

// neighbour (testdata/neighbour.ptx) has lane i store buf[i] and then,
// with no __syncwarp, load buf[i-1]. Run under three schedules, the race
// is one finding, and the comparison shows that it changes the result
// under the adversarial scheduler, which runs lane 31 alone first.
func ExampleRunSchedules() {
	var t testing.TB = exampleT{}
	m := emutest.LoadFile(t, "testdata/neighbour.ptx")
	in := make([]int32, 32)
	for i := range in {
		in[i] = int32(100 + i)
	}
	r := emutest.RunSchedules(t, emutest.Schedules(0), func(s emutest.Schedule) emutest.Run {
		dev := cpuemu.NewDevice()
		buf, out := emutest.Zeroed(t, dev, 4*32), emutest.Zeroed(t, dev, 4*32)
		res := emutest.LaunchReport(t, m, dev, "neighbour", s.Config(emutest.Config(1, 32)), buf, out, emutest.Int32Buffer(t, dev, in))
		return emutest.Run{Result: res, Outputs: []emutest.Output{emutest.Out("out", emutest.Int32s(t, dev, out, 32))}}
	})
	for _, f := range r.Findings {
		fmt.Println(f.Severity, f.What)
		for _, h := range f.Hits {
			fmt.Printf("  %s: %d %s\n", h.Schedule, h.Count, h.Type)
		}
	}
	for _, d := range r.Diffs {
		fmt.Println(d)
	}
	// Output:
	// error RAW hazard (intra-warp, global memory) between Write at neighbour.cu:5 (ptx line 46) and Read at neighbour.cu:6 (ptx line 52)
	//   lockstep: 32 RAW
	//   roundrobin: 32 RAW
	//   adversarial: 32 WAR+RAW
	// schedule adversarial changed out[1..31] (31 of 32 int32s): lockstep [100 101 102 103 104 105 106 107 ...], adversarial [0 0 0 0 0 0 0 0 ...]
}
