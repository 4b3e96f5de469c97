package kcheck

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// Size scales the demo inputs: 1 is the demo's default.
type Size int

// KernelCase is one checked launch of a catalogued kernel, as data that any
// launcher can use: the launch shape, the arguments (buffers with their
// initial bytes, and scalars), and the check of the output buffers against
// the Go reference in kernels/ref.go. Case makes one; the emulator Checker
// and RunOnDevice both launch from it, so each kernel's inputs and check
// are written once.
type KernelCase struct {
	Kernel kernels.Kernel // the catalogue entry
	Size   Size
	Launch gpu.LaunchConfig
	// Args are the launch arguments in parameter order.
	Args   []Arg
	verify func(outputs [][]byte) (bool, string)
}

// Arg is one argument of a KernelCase: a device buffer (Scalar false) or a
// .u32 scalar (Scalar true).
type Arg struct {
	Name string // the parameter's name in the catalogue
	// A buffer argument is a buffer of len(Init) bytes that holds Init when
	// the kernel starts (zeros for a pure output). Output says the kernel
	// writes it and Verify wants its bytes after the launch.
	Init   []byte
	Output bool
	// A scalar argument is passed as uint32(Value).
	Scalar bool
	Value  uint32
}

// Size is a buffer argument's size in bytes (0 for a scalar).
func (a Arg) Size() int { return len(a.Init) }

// Outputs returns the indices in Args of the output buffers, in order:
// Verify takes their bytes in this order.
func (c *KernelCase) Outputs() []int {
	var out []int
	for i, a := range c.Args {
		if !a.Scalar && a.Output {
			out = append(out, i)
		}
	}
	return out
}

// Threads is the number of threads the launch runs.
func (c *KernelCase) Threads() int64 { return c.Launch.Grid.Count() * c.Launch.Block.Count() }

// Verify compares the output buffers' bytes after the launch (one slice
// per entry of Outputs, in that order; each at least as long as the
// buffer) with the Go reference. ok says whether they match; detail says
// how, or where they first differ. For divergent_syncwarp, which should
// never finish, ok is always false.
func (c *KernelCase) Verify(outputs [][]byte) (ok bool, detail string) {
	outs := c.Outputs()
	if len(outputs) != len(outs) {
		return false, fmt.Sprintf("got %d output buffers, %s has %d", len(outputs), c.Kernel.Name, len(outs))
	}
	trimmed := make([][]byte, len(outs))
	for i, ai := range outs {
		n := c.Args[ai].Size()
		if len(outputs[i]) < n {
			return false, fmt.Sprintf("output %s: got %d bytes, the buffer has %d", c.Args[ai].Name, len(outputs[i]), n)
		}
		trimmed[i] = outputs[i][:n]
	}
	return c.verify(trimmed)
}

// Case returns the checked launch of the catalogued kernel at the given
// input size. Inputs are pseudo-random but fixed by the kernel's name, so
// every call gives the same case.
func Case(kernel string, size Size) (*KernelCase, error) {
	if size < 1 {
		return nil, fmt.Errorf("kcheck: size %d must be at least 1", size)
	}
	k, ok := kernels.Lookup(kernel)
	if !ok {
		return nil, fmt.Errorf("kcheck: unknown kernel %q", kernel)
	}
	c := &KernelCase{Kernel: k, Size: size,
		Launch: gpu.LaunchConfig{Grid: gpu.D1(2), Block: gpu.D1(128)}}
	n := int(size)
	rng := rand.New(rand.NewPCG(uint64(len(kernel)), 42))
	in := func(b []byte) { c.Args = append(c.Args, Arg{Name: k.Params[len(c.Args)].Name, Init: b}) }
	out := func(b []byte) { c.Args = append(c.Args, Arg{Name: k.Params[len(c.Args)].Name, Init: b, Output: true}) }
	u32 := func(v int) {
		c.Args = append(c.Args, Arg{Name: k.Params[len(c.Args)].Name, Scalar: true, Value: uint32(v)})
	}
	switch kernel {
	case "lane_handoff", "lane_handoff_nosync", "lane_handoff_badmask":
		src := randWords(rng, 4000*n+17)
		in(kernels.WordBytes(src))
		out(make([]byte, 4*len(src)))
		u32(len(src))
		c.verify = func(o [][]byte) (bool, string) { return compare(kernels.Words(o[0]), kernels.LaneHandoff(src)) }
	case "pingpong", "pingpong_war":
		src := randWords(rng, 16*(200*n+3))
		in(kernels.WordBytes(src))
		out(make([]byte, 4*len(src)))
		u32(len(src) / 16)
		c.verify = func(o [][]byte) (bool, string) { return compare(kernels.Words(o[0]), kernels.Pingpong(src)) }
	case "warp_ring":
		const warps, capacity, rp, rc = 8, 7, 5, 3
		total := 300 * n
		const fill = uint32(0xdeadbeef)
		init := make([]uint32, warps*total)
		for i := range init {
			init[i] = fill
		}
		c.Launch.Grid, c.Launch.Block = gpu.D1(1), gpu.D1(32*warps)
		out(kernels.WordBytes(init))
		out(make([]byte, 16*warps))
		u32(capacity)
		u32(rp)
		u32(rc)
		u32(total)
		c.verify = func(o [][]byte) (bool, string) {
			wantOut, wantSt := kernels.WarpRingBuffers(capacity, rp, rc, total, warps, fill)
			if ok, d := compare(kernels.Words(o[1]), wantSt); !ok {
				return false, "status: " + d
			}
			return compare(kernels.Words(o[0]), wantOut)
		}
	case "warp_specialized", "warp_specialized_barrier":
		tiles := 24 * n
		src := randWords(rng, tiles*kernels.TileWords)
		in(kernels.WordBytes(src))
		out(make([]byte, 4*len(src)))
		out(make([]byte, 4*tiles*kernels.TileRows))
		u32(tiles)
		u32(3)
		c.verify = func(o [][]byte) (bool, string) {
			wantOut, wantSums := kernels.WarpSpecialized(src)
			if ok, d := compare(kernels.Words(o[0]), wantOut); !ok {
				return false, "out: " + d
			}
			return compare(kernels.Words(o[1]), wantSums)
		}
	case "async_pipeline", "async_pipeline_nowait", "async_pipeline_early_empty", "async_pipeline_full_parity", "async_pipeline_parity":
		// 100-word tiles: not a multiple of a warp's 32, so the consumers'
		// last trip is partial; three consumer warps; more tiles per
		// block than stages, so every stage is refilled many times.
		const tileWords, stages, latency, work = 100, 3, 5, 2
		tiles := 40 * n
		if kernel == "async_pipeline_full_parity" {
			// One round: each stage is filled once, so every wrong-parity
			// wait asks about the phase before phase 0 and returns at once
			// (a race). In a later round a consumer that comes to its
			// wait after the copy landed would wait for the next phase,
			// which needs its own release: a deadlock.
			tiles = stages * int(c.Launch.Grid.X)
		}
		src := randWords(rng, tiles*tileWords)
		in(kernels.WordBytes(src))
		out(make([]byte, 4*3*tiles))
		out(make([]byte, 4*2*tiles))
		u32(tiles)
		u32(tileWords)
		u32(stages)
		u32(latency)
		u32(work)
		grid := int(c.Launch.Grid.X)
		c.verify = func(o [][]byte) (bool, string) {
			if k.Expect == kernels.ExpectDeadlock {
				return false, "finished, but it should deadlock"
			}
			if ok, d := compare(kernels.Words(o[0]), kernels.BatchReduce(src, tiles, tileWords)); !ok {
				return false, "sums: " + d
			}
			if ok, d := compare(kernels.Words(o[1]), kernels.AsyncPipelineTimeline(tiles, grid, stages, latency, work)); !ok {
				return false, "timeline: " + d
			}
			return true, "matches the Go reference"
		}
	case "batch_reduce", "batch_scan":
		nrec, recWords := 64*n, 100
		src := randWords(rng, nrec*recWords)
		outWords := 3 * nrec
		if kernel == "batch_scan" {
			outWords = len(src)
		}
		in(kernels.WordBytes(src))
		out(make([]byte, 4*outWords))
		u32(nrec)
		u32(recWords)
		c.verify = func(o [][]byte) (bool, string) {
			want := kernels.BatchReduce(src, nrec, recWords)
			if kernel == "batch_scan" {
				want = kernels.BatchScan(src, nrec, recWords)
			}
			return compare(kernels.Words(o[0]), want)
		}
	case "batch_histogram", "batch_checksum":
		nrec, recBytes := 64*n, 301
		raw := make([]byte, nrec*recBytes)
		for i := range raw {
			raw[i] = byte(rng.IntN(256) & rng.IntN(256)) // skewed, so bins collide in a warp
		}
		outWords := 256
		if kernel == "batch_checksum" {
			outWords = nrec
		}
		in(raw)
		out(make([]byte, 4*outWords))
		u32(nrec)
		u32(recBytes)
		c.verify = func(o [][]byte) (bool, string) {
			if kernel == "batch_checksum" {
				return compare(kernels.Words(o[0]), kernels.BatchChecksum(raw, nrec, recBytes))
			}
			h := kernels.BatchHistogram(raw, nrec, recBytes)
			return compare(kernels.Words(o[0]), h[:])
		}
	case "particles_step":
		// Not a multiple of 32, so the last group is short; more particles
		// than threads, so the grid-stride loop reuses the shared tile.
		np := 1000*n + 13
		const dt = float32(0.05)
		src := randParticles(rng, np)
		in(kernels.WordBytes(floatWords(src)))
		out(make([]byte, 4*len(src)))
		u32(np)
		u32(int(math.Float32bits(dt)))
		c.verify = func(o [][]byte) (bool, string) {
			return compare(kernels.Words(o[0]), floatWords(kernels.ParticlesStep(src, dt)))
		}
	case "divergent_syncwarp":
		c.Launch.Grid, c.Launch.Block = gpu.D1(1), gpu.D1(64)
		out(make([]byte, 4*64))
		c.verify = func([][]byte) (bool, string) { return false, "finished, but it should deadlock" }
	default:
		return nil, fmt.Errorf("kcheck: no inputs defined for kernel %q", kernel)
	}
	if len(c.Args) != len(k.Params) {
		return nil, fmt.Errorf("kcheck: %s: the case has %d arguments, the catalogue %d parameters", kernel, len(c.Args), len(k.Params))
	}
	return c, nil
}

func compare(got, want []uint32) (bool, string) {
	if slices.Equal(got, want) {
		return true, "matches the Go reference"
	}
	if len(got) != len(want) {
		return false, fmt.Sprintf("%d words, reference has %d", len(got), len(want))
	}
	bad := 0
	first := -1
	for i := range got {
		if got[i] != want[i] {
			bad++
			if first < 0 {
				first = i
			}
		}
	}
	return false, fmt.Sprintf("%d of %d words differ, first at %d: %#x, reference %#x", bad, len(got), first, got[first], want[first])
}

func randWords(r *rand.Rand, n int) []uint32 {
	w := make([]uint32, n)
	for i := range w {
		w[i] = r.Uint32()
	}
	return w
}

// randParticles returns n particles {x, y, vx, vy} for particles_step:
// positions in [0,1), velocities in [-2,2), and every 37th particle so
// fast (|v| up to 40) that it overshoots a wall by more than the box, so
// that every branch of the reflection runs.
func randParticles(r *rand.Rand, n int) []float32 {
	p := make([]float32, 4*n)
	for i := range n {
		speed := float32(2)
		if i%37 == 0 {
			speed = 40
		}
		p[4*i] = r.Float32()
		p[4*i+1] = r.Float32()
		p[4*i+2] = speed * (2*r.Float32() - 1)
		p[4*i+3] = speed * (2*r.Float32() - 1)
	}
	return p
}

// floatWords returns the IEEE-754 bits of f, so that float outputs are
// compared bit for bit.
func floatWords(f []float32) []uint32 {
	w := make([]uint32, len(f))
	for i, v := range f {
		w[i] = math.Float32bits(v)
	}
	return w
}
