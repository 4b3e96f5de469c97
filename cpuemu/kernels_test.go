package cpuemu_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/kernels"
)

// The kernels of kernels/ run on the emulator and their outputs are compared
// with the Go references in kernels/ref.go, for several shapes, under every
// scheduler and 50 random seeds. The racy twins must go wrong under at least
// one named schedule; divergent_syncwarp must deadlock under all.

var (
	modMu   sync.Mutex
	modules = map[string]*cpuemu.Module{}
)

func module(t testing.TB, name string) *cpuemu.Module {
	t.Helper()
	k, ok := kernels.Lookup(name)
	if !ok {
		t.Fatalf("kernel %s not in the catalogue", name)
	}
	modMu.Lock()
	defer modMu.Unlock()
	if m, ok := modules[k.File]; ok {
		return m
	}
	m, err := cpuemu.Load(k.File, k.PTX())
	if err != nil {
		t.Fatalf("load %s: %v", k.File, err)
	}
	modules[k.File] = m
	return m
}

func randWords(seed uint64, n int) []uint32 {
	r := rand.New(rand.NewPCG(seed, 1))
	w := make([]uint32, n)
	for i := range w {
		w[i] = r.Uint32()
	}
	return w
}

// buf allocates a device buffer holding b (at least 4 bytes, so that empty
// inputs still have a valid pointer).
func buf(t testing.TB, d *cpuemu.Device, b []byte) cpuemu.DevicePtr {
	t.Helper()
	n := max(len(b), 4)
	p, err := d.Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(p, b); err != nil {
		t.Fatal(err)
	}
	return p
}

func read(t testing.TB, d *cpuemu.Device, p cpuemu.DevicePtr, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if err := d.Read(b, p); err != nil {
		t.Fatal(err)
	}
	return b
}

// schedule is one named scheduler configuration.
type schedule struct {
	s    cpuemu.Scheduler
	seed uint64
}

func (s schedule) String() string {
	if s.s == cpuemu.Random {
		return fmt.Sprintf("random/seed=%d", s.seed)
	}
	return s.s.String()
}

// allSchedules is every scheduler, plus 50 random seeds.
func allSchedules(seeds int) []schedule {
	out := []schedule{{cpuemu.Lockstep, 0}, {cpuemu.RoundRobin, 0}, {cpuemu.Adversarial, 0}}
	for i := range seeds {
		out = append(out, schedule{cpuemu.Random, uint64(i + 1)})
	}
	return out
}

func cfg(grid, block uint32, s schedule) cpuemu.LaunchConfig {
	return cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: grid, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: block, Y: 1, Z: 1}, Scheduler: s.s, Seed: s.seed}
}

func seedCount(t *testing.T) int {
	if testing.Short() {
		return 8
	}
	return 50
}

// runHandoff launches a lane_handoff-shaped kernel and returns out.
func runHandoff(t testing.TB, name string, in []uint32, grid, block uint32, s schedule) ([]uint32, *cpuemu.Result) {
	t.Helper()
	d := cpuemu.NewDevice()
	pin := buf(t, d, kernels.WordBytes(in))
	pout := buf(t, d, make([]byte, 4*len(in)))
	res, err := module(t, name).Launch(d, name, cfg(grid, block, s), pin, pout, uint32(len(in)))
	if err != nil {
		t.Fatalf("%s %s: %v", name, s, err)
	}
	return kernels.Words(read(t, d, pout, 4*len(in))), res
}

func TestLaneHandoffMatchesReference(t *testing.T) {
	shapes := []struct{ n, grid, block int }{{1, 1, 32}, {31, 1, 32}, {100, 1, 64}, {1000, 3, 96}, {4113, 2, 128}, {50, 4, 32}}
	for _, sh := range shapes {
		in := randWords(uint64(sh.n), sh.n)
		want := kernels.LaneHandoff(in)
		for _, s := range allSchedules(seedCount(t)) {
			got, res := runHandoff(t, "lane_handoff", in, uint32(sh.grid), uint32(sh.block), s)
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d grid=%d block=%d %s: out differs from reference at %d", sh.n, sh.grid, sh.block, s, firstDiff(got, want))
			}
			if len(res.Diagnostics) > 0 {
				t.Errorf("%s: diagnostics on a correct kernel: %v", s, res.Diagnostics)
			}
		}
	}
}

func firstDiff(a, b []uint32) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestPingpongMatchesReference(t *testing.T) {
	for _, sh := range []struct{ items, grid, block int }{{1, 1, 32}, {7, 1, 64}, {40, 2, 96}, {3, 4, 32}} {
		in := randWords(uint64(sh.items), sh.items*16)
		want := kernels.Pingpong(in)
		for _, s := range allSchedules(seedCount(t)) {
			got := runPingpong(t, "pingpong", in, sh.grid, sh.block, s)
			if !slices.Equal(got, want) {
				t.Fatalf("items=%d grid=%d block=%d %s: out differs at word %d", sh.items, sh.grid, sh.block, s, firstDiff(got, want))
			}
		}
	}
}

func runPingpong(t testing.TB, name string, in []uint32, grid, block int, s schedule) []uint32 {
	d := cpuemu.NewDevice()
	pin := buf(t, d, kernels.WordBytes(in))
	pout := buf(t, d, make([]byte, 4*len(in)))
	if _, err := module(t, name).Launch(d, name, cfg(uint32(grid), uint32(block), s), pin, pout, uint32(len(in)/16)); err != nil {
		t.Fatalf("%s %s: %v", name, s, err)
	}
	return kernels.Words(read(t, d, pout, 4*len(in)))
}

func TestWarpSpecializedMatchesReference(t *testing.T) {
	for _, sh := range []struct{ tiles, stages, grid, block int }{{1, 1, 1, 64}, {5, 2, 1, 96}, {9, 4, 2, 128}, {6, 3, 3, 64}} {
		in := randWords(uint64(sh.tiles), sh.tiles*kernels.TileWords)
		wantOut, wantSums := kernels.WarpSpecialized(in)
		for _, s := range allSchedules(seedCount(t)) {
			d := cpuemu.NewDevice()
			pin := buf(t, d, kernels.WordBytes(in))
			pout := buf(t, d, make([]byte, 4*len(in)))
			psum := buf(t, d, make([]byte, 4*len(wantSums)))
			res, err := module(t, "warp_specialized").Launch(d, "warp_specialized", cfg(uint32(sh.grid), uint32(sh.block), s), pin, pout, psum, uint32(sh.tiles), uint32(sh.stages))
			if err != nil {
				t.Fatalf("%+v %s: %v", sh, s, err)
			}
			if got := kernels.Words(read(t, d, pout, 4*len(in))); !slices.Equal(got, wantOut) {
				t.Fatalf("%+v %s: out differs at %d", sh, s, firstDiff(got, wantOut))
			}
			if got := kernels.Words(read(t, d, psum, 4*len(wantSums))); !slices.Equal(got, wantSums) {
				t.Fatalf("%+v %s: row sums differ at %d", sh, s, firstDiff(got, wantSums))
			}
			if len(res.Diagnostics) > 0 {
				t.Errorf("%s: diagnostics on a correct kernel: %v", s, res.Diagnostics)
			}
		}
	}
}

func TestBatchKernelsMatchReference(t *testing.T) {
	shapes := []struct{ nrec, recWords, grid, block int }{{1, 1, 1, 32}, {3, 33, 1, 64}, {10, 100, 2, 64}, {7, 64, 3, 96}, {5, 0, 1, 32}}
	for _, sh := range shapes {
		in := randWords(uint64(sh.nrec*1000+sh.recWords), sh.nrec*sh.recWords)
		for _, s := range allSchedules(seedCount(t)) {
			c := cfg(uint32(sh.grid), uint32(sh.block), s)
			d := cpuemu.NewDevice()
			pin := buf(t, d, kernels.WordBytes(in))

			pout := buf(t, d, make([]byte, 12*sh.nrec))
			if _, err := module(t, "batch_reduce").Launch(d, "batch_reduce", c, pin, pout, uint32(sh.nrec), uint32(sh.recWords)); err != nil {
				t.Fatal(err)
			}
			if got, want := kernels.Words(read(t, d, pout, 12*sh.nrec)), kernels.BatchReduce(in, sh.nrec, sh.recWords); !slices.Equal(got, want) {
				t.Fatalf("batch_reduce %+v %s: got %v want %v", sh, s, got[:min(6, len(got))], want[:min(6, len(want))])
			}

			pscan := buf(t, d, make([]byte, 4*len(in)))
			if _, err := module(t, "batch_scan").Launch(d, "batch_scan", c, pin, pscan, uint32(sh.nrec), uint32(sh.recWords)); err != nil {
				t.Fatal(err)
			}
			if got, want := kernels.Words(read(t, d, pscan, 4*len(in))), kernels.BatchScan(in, sh.nrec, sh.recWords); !slices.Equal(got, want) {
				t.Fatalf("batch_scan %+v %s: differs at %d", sh, s, firstDiff(got, want))
			}

			raw := kernels.WordBytes(in)
			recBytes := sh.recWords*4 - sh.recWords%3 // not a multiple of 4
			if recBytes < 0 {
				recBytes = 0
			}
			phist := buf(t, d, make([]byte, 1024))
			if _, err := module(t, "batch_histogram").Launch(d, "batch_histogram", c, pin, phist, uint32(sh.nrec), uint32(recBytes)); err != nil {
				t.Fatal(err)
			}
			wantH := kernels.BatchHistogram(raw, sh.nrec, recBytes)
			if got := kernels.Words(read(t, d, phist, 1024)); !slices.Equal(got, wantH[:]) {
				t.Fatalf("batch_histogram %+v %s: differs at bin %d", sh, s, firstDiff(got, wantH[:]))
			}

			pcrc := buf(t, d, make([]byte, 4*sh.nrec))
			if _, err := module(t, "batch_checksum").Launch(d, "batch_checksum", c, pin, pcrc, uint32(sh.nrec), uint32(recBytes)); err != nil {
				t.Fatal(err)
			}
			if got, want := kernels.Words(read(t, d, pcrc, 4*sh.nrec)), kernels.BatchChecksum(raw, sh.nrec, recBytes); !slices.Equal(got, want) {
				t.Fatalf("batch_checksum %+v %s: got %x want %x", sh, s, got, want)
			}
		}
	}
}

// batch_checksum runs one thread per record with no warp collective, so it
// allows any block size: partial warps included.
func TestBatchChecksumOddBlocks(t *testing.T) {
	raw := kernels.WordBytes(randWords(11, 700))
	const nrec, recBytes = 93, 29
	want := kernels.BatchChecksum(raw, nrec, recBytes)
	for _, block := range []uint32{1, 17, 48, 100} {
		for _, s := range allSchedules(seedCount(t)) {
			d := cpuemu.NewDevice()
			pin := buf(t, d, raw)
			pout := buf(t, d, make([]byte, 4*nrec))
			if _, err := module(t, "batch_checksum").Launch(d, "batch_checksum", cfg(3, block, s), pin, pout, uint32(nrec), uint32(recBytes)); err != nil {
				t.Fatalf("block %d %s: %v", block, s, err)
			}
			if got := kernels.Words(read(t, d, pout, 4*nrec)); !slices.Equal(got, want) {
				t.Fatalf("block %d %s: record %d differs", block, s, firstDiff(got, want))
			}
		}
	}
}

// TestWarpRingStallBound sweeps every producer and consumer rate from 1 to
// 16: at capacity b_min = rp + rc - gcd(rp, rc) the fused schedule runs two
// whole periods without a stall; at b_min - 1 it stalls.
func TestWarpRingStallBound(t *testing.T) {
	m := module(t, "warp_ring")
	d := cpuemu.NewDevice()
	const warps = 2
	for rp := 1; rp <= 16; rp++ {
		for rc := 1; rc <= 16; rc++ {
			bmin := kernels.BMin(rp, rc)
			total := 2 * kernels.RingPeriod(rp, rc)
			for _, capacity := range []int{bmin, bmin - 1} {
				if capacity < 1 {
					continue // rp = rc = 1: b_min - 1 = 0 is not a ring
				}
				const fill = 0xdeadbeef
				wantOut, wantStatus := kernels.WarpRingBuffers(capacity, rp, rc, total, warps, fill)
				fillBuf := make([]uint32, warps*total)
				for i := range fillBuf {
					fillBuf[i] = fill
				}
				pout := buf(t, d, kernels.WordBytes(fillBuf))
				pst := buf(t, d, make([]byte, 16*warps))
				if _, err := m.Launch(d, "warp_ring", cfg(1, 32*warps, schedule{}), pout, pst, uint32(capacity), uint32(rp), uint32(rc), uint32(total)); err != nil {
					t.Fatalf("rp=%d rc=%d C=%d: %v", rp, rc, capacity, err)
				}
				gotOut, gotStatus := kernels.Words(read(t, d, pout, 4*len(fillBuf))), kernels.Words(read(t, d, pst, 16*warps))
				if !slices.Equal(gotStatus, wantStatus) || !slices.Equal(gotOut, wantOut) {
					t.Fatalf("rp=%d rc=%d C=%d: status %v, want %v (out differs at %d)", rp, rc, capacity, gotStatus, wantStatus, firstDiff(gotOut, wantOut))
				}
				stalled := gotStatus[0] == uint32(kernels.RingStalled)
				if capacity == bmin && stalled {
					t.Errorf("rp=%d rc=%d: stalled at b_min=%d", rp, rc, bmin)
				}
				if capacity == bmin-1 && !stalled {
					t.Errorf("rp=%d rc=%d: no stall at b_min-1=%d", rp, rc, capacity)
				}
				d.Free(pout)
				d.Free(pst)
			}
		}
	}
}

// TestWarpRingUnderEverySchedule: the ring's result (items, order, stall
// position) does not depend on how its lanes are scheduled.
func TestWarpRingUnderEverySchedule(t *testing.T) {
	m := module(t, "warp_ring")
	for _, c := range []struct{ capacity, rp, rc int }{{4, 2, 3}, {3, 2, 3}, {20, 16, 5}, {7, 5, 3}} {
		total := 2 * kernels.RingPeriod(c.rp, c.rc)
		const warps, fill = 3, 0xdeadbeef
		wantOut, wantStatus := kernels.WarpRingBuffers(c.capacity, c.rp, c.rc, total, warps, fill)
		init := make([]uint32, warps*total)
		for i := range init {
			init[i] = fill
		}
		for _, s := range allSchedules(seedCount(t)) {
			d := cpuemu.NewDevice()
			pout := buf(t, d, kernels.WordBytes(init))
			pst := buf(t, d, make([]byte, 16*warps))
			if _, err := m.Launch(d, "warp_ring", cfg(1, 32*warps, s), pout, pst, uint32(c.capacity), uint32(c.rp), uint32(c.rc), uint32(total)); err != nil {
				t.Fatalf("%+v %s: %v", c, s, err)
			}
			if got := kernels.Words(read(t, d, pst, 16*warps)); !slices.Equal(got, wantStatus) {
				t.Fatalf("%+v %s: status %v, want %v", c, s, got, wantStatus)
			}
			if got := kernels.Words(read(t, d, pout, 4*len(init))); !slices.Equal(got, wantOut) {
				t.Fatalf("%+v %s: out differs at %d", c, s, firstDiff(got, wantOut))
			}
		}
	}
}

// TestRacyTwinsGoWrong: each racy twin gives a wrong result under at least
// one named schedule, which is the race reproduced.
func TestRacyTwinsGoWrong(t *testing.T) {
	in := randWords(7, 256)
	wantH := kernels.LaneHandoff(in)
	for _, name := range []string{"lane_handoff_nosync", "lane_handoff_badmask"} {
		found := ""
		for _, s := range allSchedules(50) {
			got, _ := runHandoff(t, name, in, 1, 64, s)
			if !slices.Equal(got, wantH) {
				found = s.String()
				break
			}
		}
		if found == "" {
			t.Errorf("%s: right result under every schedule", name)
		} else {
			t.Logf("%s goes wrong under %s", name, found)
		}
	}
	inP := randWords(9, 16*12)
	wantP := kernels.Pingpong(inP)
	found := ""
	for _, s := range allSchedules(50) {
		if got := runPingpong(t, "pingpong_war", inP, 1, 64, s); !slices.Equal(got, wantP) {
			found = s.String()
			break
		}
	}
	if found == "" {
		t.Errorf("pingpong_war: right result under every schedule")
	} else {
		t.Logf("pingpong_war goes wrong under %s", found)
	}
}

// TestRacyTwinReplaysFromSeed: the schedule that breaks a racy twin gives
// the same wrong output every time it is replayed.
func TestRacyTwinReplaysFromSeed(t *testing.T) {
	in := randWords(7, 256)
	want := kernels.LaneHandoff(in)
	for seed := uint64(1); seed <= 50; seed++ {
		s := schedule{cpuemu.Random, seed}
		first, _ := runHandoff(t, "lane_handoff_nosync", in, 1, 64, s)
		if slices.Equal(first, want) {
			continue
		}
		for range 3 {
			again, _ := runHandoff(t, "lane_handoff_nosync", in, 1, 64, s)
			if !slices.Equal(again, first) {
				t.Fatalf("%s: replay gave a different output", s)
			}
		}
		return
	}
	t.Fatal("no random seed in 1..50 breaks lane_handoff_nosync")
}

func TestDivergentSyncwarpDeadlocksUnderEverySchedule(t *testing.T) {
	m := module(t, "divergent_syncwarp")
	for _, s := range allSchedules(seedCount(t)) {
		d := cpuemu.NewDevice()
		out := buf(t, d, make([]byte, 4*64))
		_, err := m.Launch(d, "divergent_syncwarp", cfg(1, 64, s), out)
		var dl *cpuemu.DeadlockError
		if !errors.As(err, &dl) {
			t.Fatalf("%s: got %v, want a deadlock", s, err)
		}
		if len(dl.Waiters) == 0 {
			t.Fatalf("%s: deadlock report names no waiters", s)
		}
	}
}
