package cpuemu_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// coopModule loads what nvcc 11.8 made of testdata/coop/coop.cu.
func coopModule(t *testing.T) *cpuemu.Module {
	t.Helper()
	src, err := os.ReadFile("testdata/coop/coop.ptx")
	if err != nil {
		t.Fatal(err)
	}
	return ptLoad(t, "coop.ptx", string(src))
}

// coopInput is n words, fixed by seed, small enough that sums of a few
// stay far from overflow.
func coopInput(n int, seed uint64) []uint32 {
	r := rand.New(rand.NewPCG(seed, 1))
	w := make([]uint32, n)
	for i := range w {
		w[i] = uint32(r.IntN(1 << 20))
	}
	return w
}

// shiftRef is the CUDA source of shift: out[i] = 2 * in[(i + block) % n].
func shiftRef(in []uint32, block int) []uint32 {
	n := len(in)
	out := make([]uint32, n)
	for i := range out {
		out[i] = 2 * in[(i+block)%n]
	}
	return out
}

// roundsRef is the CUDA source of rounds: k rounds of dst[i] = src[i] +
// src[(i + block) % n] between a and b; the last round's dst is b when k is
// odd, else a.
func roundsRef(a []uint32, block, k int) []uint32 {
	n := len(a)
	src := append([]uint32(nil), a...)
	for range k {
		dst := make([]uint32, n)
		for i := range dst {
			dst[i] = src[i] + src[(i+block)%n]
		}
		src = dst
	}
	return src
}

func coopCfg(grid, block uint32, s cpuemu.Scheduler, check bool) cpuemu.LaunchConfig {
	return cpuemu.LaunchConfig{Grid: ptD1(grid), Block: ptD1(block), Cooperative: true, Scheduler: s, Seed: 5, Check: check}
}

// TestCooperativeCUDA runs nvcc's grid-sync kernels as cooperative
// launches under every scheduler, with and without the checker: each
// block reads what other blocks wrote before the grid sync, as the CUDA
// source computes it (shiftRef, roundsRef), and the checker finds the
// grid sync orders those accesses.
func TestCooperativeCUDA(t *testing.T) {
	m := coopModule(t)
	for _, sh := range []struct{ grid, block, n int }{{4, 64, 256}, {5, 96, 470}, {3, 32, 96}, {1, 128, 128}} {
		for _, s := range cpuemu.Schedulers() {
			for _, check := range []bool{false, true} {
				t.Run(fmt.Sprintf("%dx%d/%s/check=%v", sh.grid, sh.block, s, check), func(t *testing.T) {
					d := cpuemu.NewDevice()
					in := coopInput(sh.n, uint64(sh.n))
					pin := ptBuf(t, d, 4*sh.n, ptBytes(in...))
					tmp, out := ptBuf(t, d, 4*sh.n, nil), ptBuf(t, d, 4*sh.n, nil)
					res, err := m.Launch(d, "shift", coopCfg(uint32(sh.grid), uint32(sh.block), s, check), pin, tmp, out, int32(sh.n))
					if err != nil {
						t.Fatalf("shift: %v", err)
					}
					ptNoDiag(t, res)
					want := shiftRef(in, sh.block)
					for i, g := range ptWords(ptRead(t, d, out, 4*sh.n)) {
						if g != want[i] {
							t.Fatalf("shift out[%d] = %d, want %d", i, g, want[i])
						}
					}
					for _, k := range []int{1, 4, 5} {
						a := ptBuf(t, d, 4*sh.n, ptBytes(in...))
						b := ptBuf(t, d, 4*sh.n, nil)
						if _, err := m.Launch(d, "rounds", coopCfg(uint32(sh.grid), uint32(sh.block), s, check), a, b, int32(sh.n), int32(k)); err != nil {
							t.Fatalf("rounds %d: %v", k, err)
						}
						last := a
						if k%2 == 1 {
							last = b
						}
						want := roundsRef(in, sh.block, k)
						for i, g := range ptWords(ptRead(t, d, last, 4*sh.n)) {
							if g != want[i] {
								t.Fatalf("rounds %d: out[%d] = %d, want %d", k, i, g, want[i])
							}
						}
					}
				})
			}
		}
	}
}

// Without the grid sync, blocks read what other blocks write unordered:
// the checker reports it between blocks, at the CUDA lines of the write and
// the read, whether the blocks run in turn (cooperative) or one after
// another. The non-cooperative run reads another block's element before
// that block writes it, so its output is wrong too.
func TestCooperativeRaceBetweenBlocks(t *testing.T) {
	m := coopModule(t)
	const grid, block, n = 4, 64, 256
	for _, coop := range []bool{true, false} {
		d := cpuemu.NewDevice()
		in := coopInput(n, 9)
		pin := ptBuf(t, d, 4*n, ptBytes(in...))
		tmp, out := ptBuf(t, d, 4*n, nil), ptBuf(t, d, 4*n, nil)
		cfg := coopCfg(grid, block, cpuemu.Lockstep, true)
		cfg.Cooperative = coop
		res, err := m.Launch(d, "shift_nosync", cfg, pin, tmp, out, int32(n))
		var ce *cpuemu.CheckError
		if !errors.As(err, &ce) || res == nil || res.Report == nil {
			t.Fatalf("cooperative %v: %v; want a *CheckError", coop, err)
		}
		found := false
		for _, h := range res.Report.Hazards {
			if h.Scope == "inter-block" && h.Space == "global" && h.Prior.CTA != h.Later.CTA &&
				hasLocs(h, "coop.cu:21", "coop.cu:23") {
				found = true
			}
		}
		if !found {
			t.Errorf("cooperative %v: no inter-block hazard between coop.cu:21 and coop.cu:23 in %+v", coop, res.Report.Hazards)
		}
		if !coop {
			// Block 0 ran to its end before block 1 wrote tmp[64..127].
			if got := ptWords(ptRead(t, d, out, 4))[0]; got != 0 {
				t.Errorf("one block after another: out[0] = %d, want 0 (block 1's element, not yet written)", got)
			}
		}
	}
}

func hasLocs(h cpuemu.Hazard, a, b string) bool {
	locs := []string{h.Prior.Site.Loc, h.Later.Site.Loc}
	return locs[0] == a && locs[1] == b || locs[0] == b && locs[1] == a
}

// A grid sync outside a cooperative launch finds no grid workspace
// (%envreg1:%envreg2 read 0, as the driver leaves them) and traps, as
// cooperative_groups' grid_group::sync does when !is_valid(): at the
// header's trap, inlined at the CUDA line of g.sync().
func TestGridSyncNeedsCooperative(t *testing.T) {
	m := coopModule(t)
	d := cpuemu.NewDevice()
	const n = 256
	pin, tmp, out := ptBuf(t, d, 4*n, nil), ptBuf(t, d, 4*n, nil), ptBuf(t, d, 4*n, nil)
	_, err := m.Launch(d, "shift", cpuemu.LaunchConfig{Grid: ptD1(4), Block: ptD1(64)}, pin, tmp, out, int32(n))
	fe := ptFault(t, err)
	if fe.Kind != "trap" || fe.Site.Loc != "coop.cu:14" || !strings.HasPrefix(fe.Site.Header, "/usr/include/cooperative_groups.h:") {
		t.Errorf("grid sync without a cooperative launch: %v (site %+v); want a trap at coop.cu:14 inside cooperative_groups.h", err, fe.Site)
	}
}

// envregPTX writes %envreg1, %envreg2 and the first 8 bytes at the address
// they make.
const envregPTX = ptHeader + `
.visible .entry env(.param .u64 out)
{
	.reg .pred %p<2>;
	.reg .b32 %r<3>;
	.reg .b64 %rd<6>;
	ld.param.u64 %rd1, [out];
	mov.u32 %r1, %envreg1;
	mov.u32 %r2, %envreg2;
	st.global.u32 [%rd1], %r1;
	st.global.u32 [%rd1+4], %r2;
	cvt.u64.u32 %rd2, %r1;
	cvt.u64.u32 %rd3, %r2;
	bfi.b64 %rd4, %rd2, %rd3, 32, 32;
	setp.eq.u64 %p1, %rd4, 0;
	@%p1 bra DONE;
	ld.global.u64 %rd5, [%rd4];
	st.global.u64 [%rd1+8], %rd5;
DONE:
	ret;
}
`

// %envreg1:%envreg2 is 0 outside a cooperative launch, and in one the
// address of a zeroed workspace of the launch, which is gone when the
// launch ends.
func TestEnvregWorkspace(t *testing.T) {
	m := ptLoad(t, "env.ptx", envregPTX)
	d := cpuemu.NewDevice()
	out := ptBuf(t, d, 16, nil)
	if _, err := m.Launch(d, "env", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, out); err != nil {
		t.Fatal(err)
	}
	if w := ptWords(ptRead(t, d, out, 16)); w[0] != 0 || w[1] != 0 {
		t.Errorf("outside a cooperative launch %%envreg1, %%envreg2 = %#x, %#x; want 0, 0", w[0], w[1])
	}
	if err := d.Memset(out, 0xff, 16); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Launch(d, "env", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1), Cooperative: true}, out); err != nil {
		t.Fatal(err)
	}
	w := ptWords(ptRead(t, d, out, 16))
	ws := cpuemu.DevicePtr(uint64(w[0])<<32 | uint64(w[1]))
	if ws == 0 || w[2] != 0 || w[3] != 0 {
		t.Errorf("in a cooperative launch: workspace %#x holding %#x %#x; want a non-null address of zeroed memory", uint64(ws), w[2], w[3])
	}
	var me *cpuemu.DeviceMemoryError
	if err := d.Read(make([]byte, 8), ws); !errors.As(err, &me) {
		t.Errorf("the workspace after the launch: read gives %v, want a *DeviceMemoryError (it is freed)", err)
	}
}

// A cooperative grid must fit the emulated device at once: 132 SMs, each
// holding at most 32 blocks, 64 warps and 228 KiB of shared memory (1 KiB
// of it reserved per block), as an H100 does. The counts are by hand.
func TestCooperativeGridLimit(t *testing.T) {
	m := coopModule(t)
	d := cpuemu.NewDevice()
	for _, c := range []struct {
		block  uint32
		shared int
		max    int
	}{
		{32, 0, 132 * 32},             // blocks per SM
		{256, 0, 132 * 8},             // 64 warps / 8
		{1024, 0, 132 * 2},            // 64 / 32
		{96, 0, 132 * 21},             // 64 / 3
		{64, 100 << 10, 132 * 2},      // 228 KiB / 101 KiB
		{64, 227 << 10, 132},          // 228 / 228
		{64, 30<<10 - 1<<10, 132 * 7}, // 228 / 30
	} {
		got, err := m.CooperativeBlocks("shift", ptD1(c.block), c.shared)
		if err != nil || got != c.max {
			t.Errorf("CooperativeBlocks(block %d, %d shared bytes) = %d, %v; want %d", c.block, c.shared, got, err, c.max)
		}
		cfg := cpuemu.LaunchConfig{Grid: ptD1(uint32(c.max + 1)), Block: ptD1(c.block), SharedBytes: c.shared, Cooperative: true}
		if err := m.CheckConfig("shift", cfg); err == nil {
			t.Errorf("block %d, %d shared bytes: a cooperative grid of %d blocks accepted", c.block, c.shared, c.max+1)
		} else {
			var le *cpuemu.LimitError
			if !errors.As(err, &le) || le.Max != int64(c.max) || le.Value != int64(c.max+1) || !strings.Contains(err.Error(), "cooperative grid") || !strings.Contains(err.Error(), "132 SMs") {
				t.Errorf("block %d: %v; want a *LimitError naming the cooperative grid's limit of %d", c.block, err, c.max)
			}
		}
		cfg.Grid = ptD1(uint32(c.max))
		if err := m.CheckConfig("shift", cfg); err != nil {
			t.Errorf("block %d, %d shared bytes: a cooperative grid of %d blocks refused: %v", c.block, c.shared, c.max, err)
		}
		cfg.Grid, cfg.Cooperative = ptD1(uint32(c.max+1)), false
		if err := m.CheckConfig("shift", cfg); err != nil {
			t.Errorf("block %d: a plain launch of %d blocks refused: %v", c.block, c.max+1, err)
		}
	}
	// The largest grid of small blocks runs: 4224 blocks of 32 threads.
	const n = 132 * 32 * 32
	in := coopInput(n, 3)
	pin, tmp, out := ptBuf(t, d, 4*n, ptBytes(in...)), ptBuf(t, d, 4*n, nil), ptBuf(t, d, 4*n, nil)
	if _, err := m.Launch(d, "shift", coopCfg(132*32, 32, cpuemu.Lockstep, false), pin, tmp, out, int32(n)); err != nil {
		t.Fatal(err)
	}
	want := shiftRef(in, 32)
	for i, g := range ptWords(ptRead(t, d, out, 4*n)) {
		if g != want[i] {
			t.Fatalf("out[%d] = %d, want %d", i, g, want[i])
		}
	}
}

// CooperativeBlocks refuses shapes no launch may have with an *ArgError
// naming the problem, rather than dividing by zero (-1024 shared bytes
// cancel the 1 KiB reserved per block) or counting negative blocks; a
// dynamic shared size larger than an SM's 228 KiB fits no block: 0.
func TestCooperativeBlocksBadShape(t *testing.T) {
	m := coopModule(t)
	for _, c := range []struct {
		block  cpuemu.Dim3
		shared int
		want   string
	}{
		{ptD1(64), -1024, "negative dynamic shared memory -1024"},
		{ptD1(64), -5000, "negative dynamic shared memory -5000"},
		{ptD1(64), math.MinInt, "negative dynamic shared memory"},
		{ptD1(0), 0, "zero dimension"},
		{cpuemu.Dim3{X: 32, Y: 0, Z: 1}, 0, "zero dimension"},
		{ptD1(1025), 0, "1025 threads; the most is 1024"},
		{cpuemu.Dim3{X: 1 << 16, Y: 1 << 16, Z: 1}, 0, "4294967296 threads; the most is 1024"},
	} {
		n, err := m.CooperativeBlocks("shift", c.block, c.shared)
		var ae *cpuemu.ArgError
		if n != 0 || !errors.As(err, &ae) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CooperativeBlocks(block %s, %d shared bytes) = %d, %v; want an *ArgError saying %q", c.block, c.shared, n, err, c.want)
		}
	}
	for _, shared := range []int{228<<10 - 1<<10 + 1, 1 << 40, math.MaxInt} {
		if n, err := m.CooperativeBlocks("shift", ptD1(64), shared); n != 0 || err != nil {
			t.Errorf("CooperativeBlocks(block 64, %d shared bytes) = %d, %v; want 0: no block fits an SM", shared, n, err)
		}
	}
}

// Under Check the race checker's state of every resident block counts
// towards the 1 GiB bound: per block of 1024 lanes, a 4 KiB vector clock
// (plus its 40-byte header) and a 40-byte laneState per lane, some 4.2
// MiB, times the 264 blocks the device holds is 1.1 GiB; without Check
// the same grid holds a few hundred bytes per lane, and 200 checked
// blocks hold some 0.85 GiB.
func TestCooperativeCheckerState(t *testing.T) {
	m := coopModule(t)
	cfg := coopCfg(132*2, 1024, cpuemu.Lockstep, true)
	var le *cpuemu.LimitError
	if err := m.CheckConfig("shift", cfg); !errors.As(err, &le) || le.Max != 1<<30 || le.Value <= 1<<30 || !strings.Contains(err.Error(), "race checker") {
		t.Errorf("a checked cooperative grid of 264 blocks of 1024 threads: %v; want the state limit, counting the race checker", err)
	}
	cfg.Check = false
	if err := m.CheckConfig("shift", cfg); err != nil {
		t.Errorf("264 blocks of 1024 threads without Check: %v", err)
	}
	cfg.Check, cfg.Grid = true, ptD1(200)
	if err := m.CheckConfig("shift", cfg); err != nil {
		t.Errorf("a checked grid of 200 blocks of 1024 threads: %v", err)
	}
}

// Deadlock detection holds in a cooperative grid: a block whose lanes all
// wait at collectives that cannot complete is reported, while the other
// blocks are still running. A block that returns before the grid sync
// leaves the others spinning until the instruction limit.
func TestCooperativeDeadlock(t *testing.T) {
	src := ptHeader + `
.visible .entry stuck(.param .u64 out)
{
	.reg .pred %p<4>;
	.reg .b32 %r<4>;
	.reg .b64 %rd<4>;
	mov.u32 %r1, %ctaid.x;
	mov.u32 %r2, %tid.x;
	setp.ne.u32 %p1, %r1, 2;
	@%p1 bra DONE;
	setp.lt.u32 %p2, %r2, 16;
	@%p2 bra LOW;
	vote.sync.all.pred %p3, %p2, 0xffffffff; // HIGH: not the same collective as LOW's
	bra DONE;
LOW:
	bar.warp.sync 0xffffffff; // LOW
DONE:
	ret;
}
`
	m := ptLoad(t, "stuck.ptx", src)
	d := cpuemu.NewDevice()
	out := ptBuf(t, d, 4, nil)
	for _, s := range cpuemu.Schedulers() {
		_, err := m.Launch(d, "stuck", coopCfg(4, 32, s, false), out)
		var de *cpuemu.DeadlockError
		if !errors.As(err, &de) || de.CTA != (cpuemu.Dim3{X: 2, Y: 0, Z: 0}) {
			t.Errorf("%s: %v; want a deadlock of block 2", s, err)
		}
	}
	cm := coopModule(t)
	_, err := cm.Launch(d, "early_exit", cpuemu.LaunchConfig{Grid: ptD1(3), Block: ptD1(32), Cooperative: true, MaxInstructions: 1 << 20}, out)
	var le *cpuemu.LimitError
	if !errors.As(err, &le) || le.Limit != "lane-instructions" {
		t.Errorf("early_exit: %v; want the instruction limit", err)
	}
}

// The resident blocks of a cooperative grid each hold their own state, so
// their sum is bounded: a recursive kernel's 16 KiB stack per thread
// reaches the bound well within the blocks the device holds (rec keeps a
// local array in each activation).
func TestCooperativeStateLimit(t *testing.T) {
	src, err := os.ReadFile("testdata/frontend/frontend.ptx")
	if err != nil {
		t.Fatal(err)
	}
	m := ptLoad(t, "frontend.ptx", string(src))
	cfg := cpuemu.LaunchConfig{Grid: ptD1(132 * 32), Block: ptD1(32), Cooperative: true}
	var le *cpuemu.LimitError
	// 4224 blocks × 32 threads × more than 16 KiB > 1 GiB.
	if err := m.CheckConfig("_Z6recptrPi", cfg); !errors.As(err, &le) || !strings.Contains(err.Error(), "bytes of emulator state for the resident blocks of a cooperative grid") || le.Max != 1<<30 {
		t.Errorf("a cooperative grid of 4224 recursive blocks: %v; want the state limit", err)
	}
	cfg.Grid = ptD1(64) // 64 × 32 × ~17 KiB: some 35 MiB
	if err := m.CheckConfig("_Z6recptrPi", cfg); err != nil {
		t.Errorf("64 recursive blocks: %v", err)
	}
}

// TestGridSyncOrdersBlocks: a grid sync is a happens-before edge between
// blocks (its release sequence of atomic adds on the arrival word, read
// with an acquire, and the block barriers around it). Every block writes
// tmp, grid-syncs, then reads an element another block wrote: clean under
// every schedule of ptSchedules, right results; the twin without the grid
// sync is an inter-block hazard between the write and the read (coop.cu
// lines 21 and 23) under every schedule.
func TestGridSyncOrdersBlocks(t *testing.T) {
	m := coopModule(t)
	const grid, block, n = 3, 64, 192
	in := coopInput(n, 3)
	for _, s := range ptSchedules() {
		for _, kernel := range []string{"shift", "shift_nosync"} {
			t.Run(s.String()+"/"+kernel, func(t *testing.T) {
				d := cpuemu.NewDevice()
				pin := ptBuf(t, d, 4*n, ptBytes(in...))
				tmp, out := ptBuf(t, d, 4*n, nil), ptBuf(t, d, 4*n, nil)
				cfg := s.cfg(ptD1(grid), ptD1(block))
				cfg.Cooperative, cfg.Check = true, true
				res, err := m.Launch(d, kernel, cfg, pin, tmp, out, int32(n))
				if kernel == "shift" {
					if err != nil {
						t.Fatalf("%v", err)
					}
					ptNoDiag(t, res)
					want := shiftRef(in, block)
					for i, g := range ptWords(ptRead(t, d, out, 4*n)) {
						if g != want[i] {
							t.Fatalf("out[%d] = %d, want %d", i, g, want[i])
						}
					}
					return
				}
				var ce *cpuemu.CheckError
				if !errors.As(err, &ce) {
					t.Fatalf("%v; want a *CheckError", err)
				}
				for _, h := range res.Report.Hazards {
					if h.Scope == "inter-block" && h.Prior.CTA != h.Later.CTA && hasLocs(h, "coop.cu:21", "coop.cu:23") {
						return
					}
				}
				t.Errorf("no inter-block hazard between coop.cu:21 and coop.cu:23 in %+v", res.Report.Hazards)
			})
		}
	}
}
