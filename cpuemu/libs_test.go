package cpuemu_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// libKernel is a kernel of testdata/libs/libs.cu: CUB and cooperative
// groups as users call them. ref computes the output from the input, as
// the CUDA source says; in is the input in words (bytes for the
// histogram), out the output's size in words.
type libKernel struct {
	name        string
	grid, block uint32
	in          func(r *rand.Rand) []byte
	out         int
	ref         func(in []byte) []uint32
}

// libWords is n random words below 2^16, so that sums of a block stay
// exact in 32 bits.
func libWords(n int) func(r *rand.Rand) []byte {
	return func(r *rand.Rand) []byte {
		w := make([]uint32, n)
		for i := range w {
			w[i] = uint32(r.IntN(1 << 16))
		}
		return ptBytes(w...)
	}
}

// groupSums sums each run of k words.
func groupSums(k int) func([]byte) []uint32 {
	return func(in []byte) []uint32 {
		w := ptWords(in)
		out := make([]uint32, len(w)/k)
		for i, x := range w {
			out[i/k] += x
		}
		return out
	}
}

// prefix is the inclusive (or exclusive) prefix sums within each run of k
// words.
func prefix(k int, inclusive bool) func([]uint32) []uint32 {
	return func(w []uint32) []uint32 {
		out := make([]uint32, len(w))
		var s uint32
		for i, x := range w {
			if i%k == 0 {
				s = 0
			}
			if inclusive {
				s += x
				out[i] = s
			} else {
				out[i] = s
				s += x
			}
		}
		return out
	}
}

var libKernels = []libKernel{
	{name: "cub_warp_reduce", grid: 3, block: 128, in: libWords(384), out: 12, ref: groupSums(32)},
	{name: "cub_block_reduce", grid: 3, block: 128, in: libWords(384), out: 3, ref: groupSums(128)},
	{name: "cub_block_scan", grid: 2, block: 128, in: libWords(256), out: 256, ref: func(in []byte) []uint32 {
		return prefix(128, true)(prefix(128, true)(ptWords(in)))
	}},
	{name: "cub_warp_scan", grid: 2, block: 128, in: libWords(256), out: 256, ref: func(in []byte) []uint32 {
		return prefix(32, false)(ptWords(in))
	}},
	{name: "cub_block_radix_sort", grid: 2, block: 128, out: 1024,
		in: func(r *rand.Rand) []byte {
			w := make([]uint32, 1024)
			for i := range w {
				w[i] = r.Uint32()
			}
			return ptBytes(w...)
		},
		ref: func(in []byte) []uint32 {
			w := ptWords(in)
			for b := 0; b < len(w); b += 512 {
				slices.Sort(w[b : b+512])
			}
			return w
		}},
	{name: "cub_block_histogram", grid: 2, block: 128, out: 128,
		in: func(r *rand.Rand) []byte {
			b := make([]byte, 512)
			for i := range b {
				b[i] = byte(r.IntN(64))
			}
			return b
		},
		ref: func(in []byte) []uint32 {
			h := make([]uint32, 128)
			for i, v := range in {
				h[i/256*64+int(v)]++
			}
			return h
		}},
	{name: "cg_tile_reduce", grid: 3, block: 128, in: libWords(384), out: 12, ref: groupSums(32)},
	{name: "cg_tile_scan", grid: 2, block: 64, in: libWords(128), out: 128, ref: func(in []byte) []uint32 {
		return prefix(16, true)(ptWords(in))
	}},
	{name: "cg_block_tree", grid: 3, block: 128, in: libWords(384), out: 3, ref: groupSums(128)},
}

// TestLibraryKernels runs CUB and cooperative-groups kernels as nvcc 11.8
// compiled them, under every schedule with the checker on: each gives
// the result its CUDA source defines, and the checker finds nothing at
// error or warning level in library code that is correct. (A false
// positive here is one every user of CUB would meet.)
func TestLibraryKernels(t *testing.T) {
	src, err := os.ReadFile("testdata/libs/libs.ptx")
	if err != nil {
		t.Fatal(err)
	}
	m := ptLoad(t, "libs.ptx", string(src))
	for _, k := range libKernels {
		for _, s := range ptSchedules() {
			t.Run(fmt.Sprintf("%s/%s", k.name, s), func(t *testing.T) {
				t.Parallel()
				in := k.in(rand.New(rand.NewPCG(uint64(len(k.name)), 7)))
				d := cpuemu.NewDevice()
				pin := ptBuf(t, d, len(in), in)
				pout := ptBuf(t, d, 4*k.out, nil)
				cfg := s.cfg(ptD1(k.grid), ptD1(k.block))
				cfg.Check = true
				res, err := m.Launch(d, k.name, cfg, pin, pout)
				if res != nil && res.Report != nil && !res.Report.CleanAt(cpuemu.SeverityWarning) {
					var b testWriter
					res.Report.WriteText(&b)
					t.Fatalf("the checker found something in correct library code:\n%s", b)
				}
				if err != nil {
					t.Fatal(err)
				}
				got, want := ptWords(ptRead(t, d, pout, 4*k.out)), k.ref(in)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("out[%d] = %d, want %d (the CUDA source's result)", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// TestCoalescedThreadsFollowConvergence runs cg_coalesced_odd, whose odd
// lanes take cg::coalesced_threads() inside an if: the group is the lanes
// converged at that point (the CUDA programming guide, "Coalesced
// Groups"), which independent thread scheduling does not promise to be
// every odd lane. In lockstep it is, and the kernel gives each warp's
// sum of odd lanes with no finding; when the odd lanes arrive apart,
// each part is a group whose rank 0 stores its partial sum to the same
// out[warp]: weak stores by different threads with nothing between them,
// a data race (PTX ISA §8.7.1) that the checker reports at error level.
func TestCoalescedThreadsFollowConvergence(t *testing.T) {
	src, err := os.ReadFile("testdata/libs/libs.ptx")
	if err != nil {
		t.Fatal(err)
	}
	m := ptLoad(t, "libs.ptx", string(src))
	in := libWords(64)(rand.New(rand.NewPCG(1, 7)))
	var want [2]uint32
	for i, x := range ptWords(in) {
		if i%2 == 1 {
			want[i/32] += x
		}
	}
	for _, s := range []ptSched{{cpuemu.Lockstep, 0}, {cpuemu.Adversarial, 0}} {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			pin, pout := ptBuf(t, d, len(in), in), ptBuf(t, d, 8, nil)
			cfg := s.cfg(ptD1(1), ptD1(64))
			cfg.Check = true
			res, err := m.Launch(d, "cg_coalesced_odd", cfg, pin, pout)
			if s.s == cpuemu.Lockstep {
				if err != nil {
					t.Fatal(err)
				}
				if got := ptWords(ptRead(t, d, pout, 8)); got[0] != want[0] || got[1] != want[1] {
					t.Fatalf("out = %v, want %v", got, want)
				}
				return
			}
			if res == nil || len(res.Report.Hazards) == 0 {
				t.Fatalf("no hazard reported (err %v)", err)
			}
			h := res.Report.Hazards[0]
			if h.Type != "WAW" || h.Scope != "intra-warp" || h.Severity != cpuemu.SeverityError || h.Later.Site.Loc != "libs.cu:131" {
				t.Fatalf("hazard %v, want an intra-warp WAW error at libs.cu:131", &h)
			}
		})
	}
}

type testWriter struct{ b []byte }

func (w *testWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
func (w *testWriter) String() string              { return string(w.b) }
