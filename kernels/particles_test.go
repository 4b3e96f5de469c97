package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/cpuemu/emutest"
	"github.com/gpubuf/gpubuf/kernels"
)

// The cases below use dyadic values, so every step is exact and the
// expected values follow from the specification by hand:
//
//	a = (0.5 - p) + 0.5*(c - p),  v' = v + a*dt,  p' = p + v'*dt, then the walls.
func TestParticlesStepByHand(t *testing.T) {
	below1 := math.Float32frombits(0x3f7fffff)
	for _, tc := range []struct {
		name string
		in   []float32
		dt   float32
		want []float32
	}{
		{"at rest in the centre", []float32{0.5, 0.5, 0, 0}, 0.5, []float32{0.5, 0.5, 0, 0}},
		// Alone, so c = p: a = 0.25; v' = 0.125; p' = 0.25 + 0.0625.
		{"pulled to the centre", []float32{0.25, 0.75, 0, 0}, 0.5, []float32{0.3125, 0.6875, 0.125, -0.125}},
		// x: a = -0.375, v' = 0.3125, p' = 1.03125 -> 2 - p' = 0.96875, v' = -0.3125.
		// y: a = 0.375, v' = -0.875 + 0.1875 = -0.6875, p' = 0.125 - 0.34375 = -0.21875 -> 0.21875, v' = 0.6875.
		{"both walls", []float32{0.875, 0.125, 0.5, -0.875}, 0.5, []float32{0.96875, 0.21875, -0.3125, 0.6875}},
		// x: v' = 10, p' = 5.5 -> 2 - 5.5 = -3.5 -> clamped to 0.
		// y: v' = -10, p' = -4.5 -> 4.5 -> clamped below 1.
		{"overshoot clamps", []float32{0.5, 0.5, 10, -10}, 0.5, []float32{0, below1, -10, 10}},
		// One group, centroid (0.5, 0.5): p0 gets a = 0.25 + 0.125.
		{"group pull", []float32{0.25, 0.5, 0, 0, 0.75, 0.5, 0, 0}, 0.5,
			[]float32{0.34375, 0.5, 0.1875, 0, 0.65625, 0.5, -0.1875, 0}},
		// A partial particle at the end is ignored.
		{"partial", []float32{0.5, 0.5, 0, 0, 0.25}, 0.5, []float32{0.5, 0.5, 0, 0}},
	} {
		got := kernels.ParticlesStep(tc.in, tc.dt)
		if !bitsEqual(got, tc.want) {
			t.Errorf("%s: ParticlesStep(%v, %v) = %v, want %v", tc.name, tc.in, tc.dt, got, tc.want)
		}
	}

	// Groups are 32 particles: the 33rd is alone in its group, so only the
	// centre pulls it. The first 32 sit at x = 0.25 (centroid 0.25).
	in := make([]float32, 4*33)
	for i := range 33 {
		in[4*i], in[4*i+1] = 0.25, 0.5
	}
	in[4*32] = 0.75
	got := kernels.ParticlesStep(in, 0.5)
	if got[0] != 0.3125 || got[2] != 0.125 || got[4*31] != 0.3125 {
		t.Errorf("group 0: particle 0 %v, particle 31 %v; want x 0.3125, vx 0.125", got[:4], got[4*31:4*32])
	}
	// a = -0.25, v' = -0.125, p' = 0.6875; in a group of 33 the centroid
	// would have pulled it further left.
	if got[4*32] != 0.6875 || got[4*32+2] != -0.125 {
		t.Errorf("particle 32 = %v, want x 0.6875, vx -0.125 (alone in group 1)", got[4*32:])
	}
}

// Positions stay in [0,1) and nothing turns NaN over many steps of a
// random start, fast particles included.
func TestParticlesStepStaysInBox(t *testing.T) {
	p := randomParticles(rand.New(rand.NewPCG(1, 2)), 500)
	for step := range 200 {
		p = kernels.ParticlesStep(p, 1.0/60)
		for i := 0; i < len(p); i += 4 {
			for j, v := range p[i : i+4] {
				if v != v || j < 2 && (v < 0 || v >= 1) {
					t.Fatalf("step %d, particle %d: %v", step+1, i/4, p[i:i+4])
				}
			}
		}
	}
}

// The kernel on the emulator, with the race and sync checker on, equals
// the Go reference bit for bit over several steps (ping-pong between two
// buffers, as a simulation runs it), for sizes around the group and tile
// boundaries, launch shapes from one warp to a full block, and every kind
// of scheduler.
func TestParticlesStepOnEmulator(t *testing.T) {
	m := emutest.LoadKernel(t, "particles_step")
	const steps = 4
	dt := float32(1.0 / 30)
	shapes := []struct{ grid, block uint32 }{{1, 32}, {2, 64}, {3, 128}, {1, 1024}}
	schedules := []emutest.Schedule{
		{Scheduler: cpuemu.Lockstep}, {Scheduler: cpuemu.RoundRobin},
		{Scheduler: cpuemu.Adversarial}, {Scheduler: cpuemu.Random, Seed: 7},
	}
	for i, n := range []int{1, 31, 32, 33, 100, 700} {
		shape := shapes[i%len(shapes)]
		s := schedules[i%len(schedules)]
		t.Run(fmt.Sprintf("n=%d/grid=%d/block=%d/%s", n, shape.grid, shape.block, s), func(t *testing.T) {
			t.Parallel()
			start := randomParticles(rand.New(rand.NewPCG(uint64(n), 3)), n)
			dev := cpuemu.NewDevice()
			bufs := [2]cpuemu.DevicePtr{emutest.FloatBuffer(t, dev, start), emutest.Zeroed(t, dev, 16*n)}
			want := start
			for step := range steps {
				in, out := bufs[step%2], bufs[(step+1)%2]
				emutest.Launch(t, m, dev, "particles_step", s.Config(emutest.Config(shape.grid, shape.block)),
					in, out, uint32(n), math.Float32bits(dt))
				want = kernels.ParticlesStep(want, dt)
				got := emutest.Floats(t, dev, out, 4*n)
				if i, ok := firstBitDiff(got, want); !ok {
					t.Fatalf("step %d: float %d (particle %d) is %v (%#x), reference %v (%#x)",
						step+1, i, i/4, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
				}
			}
		})
	}
}

func randomParticles(r *rand.Rand, n int) []float32 {
	p := make([]float32, 4*n)
	for i := range n {
		speed := float32(1)
		if i%29 == 0 {
			speed = 50 // overshoots the box in one step
		}
		p[4*i], p[4*i+1] = r.Float32(), r.Float32()
		p[4*i+2], p[4*i+3] = speed*(2*r.Float32()-1), speed*(2*r.Float32()-1)
	}
	return p
}

func bitsEqual(a, b []float32) bool {
	_, ok := firstBitDiff(a, b)
	return ok && len(a) == len(b)
}

// firstBitDiff returns the first index where a and b differ in their bits
// (or the shorter length), and whether they are equal.
func firstBitDiff(a, b []float32) (int, bool) {
	for i := range min(len(a), len(b)) {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i, false
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b)), false
	}
	return 0, true
}
