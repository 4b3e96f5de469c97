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
