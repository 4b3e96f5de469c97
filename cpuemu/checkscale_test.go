package cpuemu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
)

// The checker across large grids: the single-pass __threadfence reduction
// of testdata/scaling (its sum, no race in it, the race in its twin), the
// release patterns of the memory model carried across 64 blocks, and the
// bytes the checker's shadow of global memory costs per word.

const scalingDir = "testdata/scaling"

// scaleFixture is scaling.ptx loaded, with its input, the partial sums
// and the result on one device.
type scaleFixture struct {
	m       *Module
	d       *Device
	n       int
	sum     uint32 // of the input, mod 2^32
	in      DevicePtr
	partial DevicePtr
	out     DevicePtr
}

// maxScaleGrid is the most blocks the fixture's partial sums hold.
const maxScaleGrid = 1024

func newScaleFixture(t testing.TB, n int) *scaleFixture {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(scalingDir, "scaling.ptx"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load("scaling.ptx", src)
	if err != nil {
		t.Fatal(err)
	}
	f := &scaleFixture{m: m, d: NewDevice(), n: n}
	in := make([]uint32, n)
	for i := range in {
		in[i] = uint32(i)*0x9E3779B1 + 7
		f.sum += in[i]
	}
	f.in = racesAlloc(t, f.d, in)
	f.partial = racesAlloc(t, f.d, make([]uint32, maxScaleGrid))
	f.out = racesAlloc(t, f.d, make([]uint32, 1))
	return f
}

func scaleWord(t testing.TB, d *Device, p DevicePtr) uint32 {
	t.Helper()
	var b [4]byte
	if err := d.Read(b[:], p); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint32(b[:])
}

// launch runs kernel over the fixture's input with grid blocks of 256
// threads and returns the result and the launch error.
func (f *scaleFixture) launch(kernel string, grid uint32, cfg LaunchConfig) (*Result, error) {
	cfg.Grid, cfg.Block = Dim3{X: grid, Y: 1, Z: 1}, Dim3{X: 256, Y: 1, Z: 1}
	return f.m.Launch(f.d, kernel, cfg, f.in, uint32(f.n), f.partial, f.out)
}

func scaleReport(res *Result, err error) string {
	var rep *Report
	var ce *CheckError
	switch {
	case res != nil && res.Report != nil:
		rep = res.Report
	case errors.As(err, &ce):
		rep = ce.Report
	}
	if rep == nil {
		return ""
	}
	var b strings.Builder
	rep.WriteText(&b)
	return b.String()
}

// TestFenceReduceCUDA: fence_reduce sums its input at every grid size,
// checked and not, under every scheduler; the last block resets the
// ticket counter for the next launch; and the checker finds nothing, since
// the fences and the ticket order every partial before the last block's
// reads (PTX ISA §8.8, §8.9.4).
func TestFenceReduceCUDA(t *testing.T) {
	const n = 40000
	f := newScaleFixture(t, n)
	// The input is i*0x9E3779B1 + 7: its sum is 0x9E3779B1*n(n-1)/2 + 7n,
	// mod 2^32.
	k, pairs := uint32(0x9E3779B1), uint32(n*(n-1)/2)
	if want := k*pairs + 7*n; f.sum != want {
		t.Fatalf("the input sums to %#x, want %#x", f.sum, want)
	}
	count, _, err := f.m.Global(f.d, "retirement_count")
	if err != nil {
		t.Fatal(err)
	}
	scheds := []LaunchConfig{{Scheduler: Lockstep}, {Scheduler: RoundRobin}, {Scheduler: Random, Seed: 3}, {Scheduler: Adversarial}}
	for _, grid := range []uint32{1, 3, 8, 64} {
		for _, cfg := range scheds {
			for _, check := range []bool{false, true} {
				name := fmt.Sprintf("grid %d %s check %v", grid, cfg.Scheduler, check)
				if err := f.d.Write(f.out, make([]byte, 4)); err != nil {
					t.Fatal(err)
				}
				cfg.Check = check
				res, err := f.launch("fence_reduce", grid, cfg)
				if err != nil {
					t.Fatalf("%s: %v\n%s", name, err, scaleReport(res, err))
				}
				if check && !res.Report.Clean() {
					t.Fatalf("%s: report not clean:\n%s", name, scaleReport(res, err))
				}
				if got := scaleWord(t, f.d, f.out); got != f.sum {
					t.Errorf("%s: sum %#x, want %#x", name, got, f.sum)
				}
				if got := scaleWord(t, f.d, count); got != 0 {
					t.Errorf("%s: retirement_count %d after the launch, want 0", name, got)
				}
			}
		}
	}
}

// scalingMarkers gives the line of scaling.cu that ends with each marker
// comment.
func scalingMarkers(t *testing.T) map[string]int {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(scalingDir, "scaling.cu"))
	if err != nil {
		t.Fatal(err)
	}
	marks := map[string]int{}
	for i, l := range strings.Split(string(src), "\n") {
		if _, m, ok := strings.Cut(l, "// @"); ok {
			marks[strings.TrimSpace(m)] = i + 1
		}
	}
	return marks
}

// TestFenceReduceNoReleaseRace: without the release fence the last block's
// reads of the other blocks' partials are unordered with their writes.
// Blocks run in order, so the last block is block grid-1; of its reads,
// those of partial[0..grid-2] race (grid-1 of them, one hazard counted
// grid-1 times), and its own partial, written before the __syncthreads,
// does not. Nothing else races.
func TestFenceReduceNoReleaseRace(t *testing.T) {
	marks := scalingMarkers(t)
	wLoc := fmt.Sprintf("scaling.cu:%d", marks["raw-write"])
	rLoc := fmt.Sprintf("scaling.cu:%d", marks["raw-read"])
	f := newScaleFixture(t, 20000)
	for _, grid := range []uint32{2, 64, 200} {
		for _, cfg := range []LaunchConfig{{Scheduler: Lockstep}, {Scheduler: Random, Seed: 9}, {Scheduler: Adversarial}} {
			name := fmt.Sprintf("grid %d %s", grid, cfg.Scheduler)
			cfg.Check = true
			res, err := f.launch("fence_reduce_norelease", grid, cfg)
			var hz *Hazard
			if !errors.As(err, &hz) {
				t.Fatalf("%s: want a hazard, got %v\n%s", name, err, scaleReport(res, err))
			}
			hs := res.Report.Hazards
			if len(hs) != 1 {
				t.Fatalf("%s: %d hazards, want 1:\n%s", name, len(hs), scaleReport(res, err))
			}
			h := hs[0]
			if h.Type != "RAW" || h.Scope != "inter-block" || h.Space != "global" || h.Count != int(grid-1) ||
				h.Prior.Site.Loc != wLoc || h.Later.Site.Loc != rLoc || h.Prior.Kind != "Write" || h.Later.Kind != "Read" ||
				h.Later.CTA.X != grid-1 || h.Prior.Thread.X != 0 {
				t.Errorf("%s: want RAW inter-block global %s -> %s by block %d, counted %d times; got\n%s", name, wLoc, rLoc, grid-1, grid-1, scaleReport(res, err))
			}
			// Thread b of the last block reads partial[b], which block b
			// wrote: the first race the report keeps is one such pair.
			if b := h.Prior.CTA.X; b >= grid-1 || h.Later.Thread.X != b || h.Addr != uint64(f.partial)+4*uint64(b) {
				t.Errorf("%s: first race between block %d's write and thread %d's read at %#x, want thread b reading partial[b] at %#x+4b", name, b, h.Later.Thread.X, h.Addr, uint64(f.partial))
			}
			if got := scaleWord(t, f.d, f.out); got != f.sum {
				t.Errorf("%s: sum %#x, want %#x", name, got, f.sum)
			}
		}
	}
}

// chainKernel is 64 blocks' thread 0 each taking a ticket from buf[0]
// with a fence before it (release) and one after (acquire, except where
// the reader leaves it out), so that every block's clock knows of every
// earlier block. Block 0 also writes buf[1] (DATA-W), before its release
// fence or after its ticket, and block 40 reads it (DATA-R) after its own
// ticket.
func chainKernel(fence string, writeEarly, readerAcquires bool) string {
	early, late := "// no early write", "// no late write"
	write := "@%p1 st.global.u32 	[%rd0+4], %r2; // DATA-W"
	if writeEarly {
		early = write
	} else {
		late = write
	}
	acquire := fence + " // ACQ"
	if !readerAcquires {
		acquire = "@%p2 bra 	$L_noacq;\n\t" + fence + " // ACQ\n$L_noacq:"
	}
	return `.version 7.8
.target sm_70
.address_size 64

.visible .entry chain(.param .u64 buf)
{
	.reg .pred 	%p<4>;
	.reg .b32 	%r<8>;
	.reg .b64 	%rd<2>;

	ld.param.u64 	%rd0, [buf];
	cvta.to.global.u64 	%rd0, %rd0;
	mov.u32 	%r0, %tid.x;
	mov.u32 	%r1, %ctaid.x;
	setp.ne.u32 	%p0, %r0, 0;
	@%p0 bra 	$L_done;
	setp.eq.u32 	%p1, %r1, 0;
	setp.eq.u32 	%p2, %r1, 40;
	mov.u32 	%r2, 42;
	` + early + `
	` + fence + ` // REL
	atom.global.add.u32 	%r3, [%rd0], 1; // TICKET
	` + acquire + `
	` + late + `
	@%p2 ld.global.u32 	%r4, [%rd0+4]; // DATA-R
	@%p2 st.global.u32 	[%rd0+8], %r4;
$L_done:
	ret;
}
`
}

// TestCheckerChainAcrossGrid: the release patterns of PTX ISA §8.8 carried
// across a 64-block grid, every block's clock knowing the earlier blocks
// through the tickets. Derived by hand from §8.9.4: block 0's write before
// its release fence is ordered before block 40's read after its acquire
// fence (through the release sequence of 40 read-modify-writes, or with
// fence.sc through the order of the fences); a write after block 0's
// ticket and fences is ordered before nothing, and a reader with no fence
// after its ticket acquires nothing with acq_rel fences (with fence.sc its
// release fence still follows block 0's in the fence.sc order).
func TestCheckerChainAcrossGrid(t *testing.T) {
	for _, c := range []struct {
		name                       string
		fence                      string
		writeEarly, readerAcquires bool
		race                       bool
	}{
		{"acq_rel", "fence.acq_rel.gpu;", true, true, false},
		{"acq_rel-write-after-ticket", "fence.acq_rel.gpu;", false, true, true},
		{"acq_rel-reader-without-acquire", "fence.acq_rel.gpu;", true, false, true},
		{"sc", "membar.gl;", true, true, false},
		{"sc-reader-without-acquire", "membar.gl;", true, false, false},
		{"sc-write-after-ticket", "membar.gl;", false, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := chainKernel(c.fence, c.writeEarly, c.readerAcquires)
			m, err := Load("chain.ptx", []byte(src))
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			wLine, rLine := scaleLine(t, src, "DATA-W"), scaleLine(t, src, "DATA-R")
			for _, cfg := range []LaunchConfig{{Scheduler: Lockstep}, {Scheduler: RoundRobin}, {Scheduler: Random, Seed: 2}, {Scheduler: Adversarial}} {
				d := NewDevice()
				buf := racesAlloc(t, d, make([]uint32, 4))
				cfg.Grid, cfg.Block, cfg.Check = Dim3{X: 64, Y: 1, Z: 1}, Dim3{X: 64, Y: 1, Z: 1}, true
				res, err := m.Launch(d, "chain", cfg, buf)
				if !c.race {
					if err != nil {
						t.Errorf("%s: want a clean report, got %v\n%s", cfg.Scheduler, err, scaleReport(res, err))
					}
					continue
				}
				var hz *Hazard
				if !errors.As(err, &hz) || len(res.Report.Hazards) != 1 {
					t.Fatalf("%s: want one hazard, got %v\n%s", cfg.Scheduler, err, scaleReport(res, err))
				}
				h := res.Report.Hazards[0]
				if h.Type != "RAW" || h.Scope != "inter-block" || h.Space != "global" || h.Count != 1 ||
					h.Prior.Site.PTXLine != wLine || h.Later.Site.PTXLine != rLine || h.Prior.CTA.X != 0 || h.Later.CTA.X != 40 {
					t.Errorf("%s: want RAW inter-block global, block 0 line %d -> block 40 line %d, once; got\n%s", cfg.Scheduler, wLine, rLine, scaleReport(res, err))
				}
			}
		})
	}
}

func scaleLine(t *testing.T, src, marker string) int {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("no line holds %q", marker)
	return 0
}

// flagKernel: block 0's thread 0 writes buf[1] (DATA-W), fences and sets
// the flag buf[0]; block 40's thread 0 spins on the flag, fences (or not)
// and reads buf[1] (DATA-R). Every other block's thread 0 first takes
// tickets from buf[2] between fence.sc, so the clocks know many blocks.
func flagKernel(readerFence bool) string {
	acq := "fence.acq_rel.gpu; // ACQ"
	if !readerFence {
		acq = "// no acquire fence"
	}
	return `.version 7.8
.target sm_70
.address_size 64

.visible .entry flag(.param .u64 buf)
{
	.reg .pred 	%p<4>;
	.reg .b32 	%r<8>;
	.reg .b64 	%rd<2>;

	ld.param.u64 	%rd0, [buf];
	cvta.to.global.u64 	%rd0, %rd0;
	mov.u32 	%r0, %tid.x;
	mov.u32 	%r1, %ctaid.x;
	setp.ne.u32 	%p0, %r0, 0;
	@%p0 bra 	$L_done;
	membar.gl;
	atom.global.add.u32 	%r3, [%rd0+8], 1;
	membar.gl;
	setp.eq.u32 	%p1, %r1, 0;
	@%p1 bra 	$L_writer;
	setp.ne.u32 	%p2, %r1, 40;
	@%p2 bra 	$L_done;
$L_spin:
	atom.global.add.u32 	%r4, [%rd0], 0;
	setp.eq.u32 	%p3, %r4, 0;
	@%p3 bra 	$L_spin;
	` + acq + `
	ld.global.u32 	%r5, [%rd0+4]; // DATA-R
	st.global.u32 	[%rd0+12], %r5;
	bra.uni 	$L_done;
$L_writer:
	mov.u32 	%r2, 42;
	st.global.u32 	[%rd0+4], %r2; // DATA-W
	fence.acq_rel.gpu;
	atom.global.exch.b32 	%r6, [%rd0], 1;
$L_done:
	ret;
}
`
}

// TestCheckerFlagCooperative is message passing between block 0 and block
// 40 of a cooperative grid of 64, whose blocks interleave: with the
// reader's fence the write is ordered before the read (§8.9.4: block 0's
// release pattern, block 40's acquire pattern, the read of the flag
// seeing the exchange); without it, it is not. The fence.sc between each
// block's tickets do not order block 0's later write.
func TestCheckerFlagCooperative(t *testing.T) {
	for _, fenced := range []bool{true, false} {
		src := flagKernel(fenced)
		m, err := Load("flag.ptx", []byte(src))
		if err != nil {
			t.Fatalf("%v\n%s", err, src)
		}
		wLine, rLine := scaleLine(t, src, "DATA-W"), scaleLine(t, src, "DATA-R")
		for _, coop := range []bool{false, true} {
			for _, cfg := range []LaunchConfig{{Scheduler: Lockstep}, {Scheduler: Random, Seed: 4}, {Scheduler: Adversarial}} {
				name := fmt.Sprintf("fence %v cooperative %v %s", fenced, coop, cfg.Scheduler)
				d := NewDevice()
				buf := racesAlloc(t, d, make([]uint32, 4))
				cfg.Grid, cfg.Block, cfg.Check, cfg.Cooperative = Dim3{X: 64, Y: 1, Z: 1}, Dim3{X: 64, Y: 1, Z: 1}, true, coop
				res, err := m.Launch(d, "flag", cfg, buf)
				if fenced {
					if err != nil {
						t.Errorf("%s: want a clean report, got %v\n%s", name, err, scaleReport(res, err))
					}
					continue
				}
				var hz *Hazard
				if !errors.As(err, &hz) || len(res.Report.Hazards) != 1 {
					t.Fatalf("%s: want one hazard, got %v\n%s", name, err, scaleReport(res, err))
				}
				h := res.Report.Hazards[0]
				if h.Type != "RAW" || h.Scope != "inter-block" || h.Count != 1 || h.Prior.Site.PTXLine != wLine ||
					h.Later.Site.PTXLine != rLine || h.Prior.CTA.X != 0 || h.Later.CTA.X != 40 {
					t.Errorf("%s: want RAW inter-block, block 0 line %d -> block 40 line %d, once; got\n%s", name, wLine, rLine, scaleReport(res, err))
				}
			}
		}
	}
}

// ownKernel: every thread writes its own element of buf (a byte or a
// word), and reads it back.
func ownKernel(typ string, size int) string {
	return fmt.Sprintf(`.version 7.8
.target sm_70
.address_size 64

.visible .entry own(.param .u64 buf)
{
	.reg .b32 	%%r<6>;
	.reg .b64 	%%rd<4>;

	ld.param.u64 	%%rd0, [buf];
	cvta.to.global.u64 	%%rd0, %%rd0;
	mov.u32 	%%r0, %%tid.x;
	mov.u32 	%%r1, %%ctaid.x;
	mov.u32 	%%r2, %%ntid.x;
	mad.lo.u32 	%%r3, %%r1, %%r2, %%r0;
	mul.wide.u32 	%%rd1, %%r3, %d;
	add.s64 	%%rd2, %%rd0, %%rd1;
	st.global.%s 	[%%rd2], %%r3;
	ld.global.%s 	%%r4, [%%rd2];
	ret;
}
`, size, typ, typ)
}

// TestCheckerShadowBytes measures the checker's shadow of global memory
// per word a kernel touches. A word touched only at full width costs its
// cell (44 bytes on 64-bit machines) and its share of the shadow pages
// (1024 cells, allocated as touched): at most 50 bytes for dense data,
// where the issue found about 50. A word whose four bytes four threads
// write and read back also costs a read set, since the four reads are
// unordered and none may stand for another: 56 bytes, with up to as much
// again in the pool's spare capacity, and 16 per read kept.
func TestCheckerShadowBytes(t *testing.T) {
	cellB, setB, accB := int64(unsafe.Sizeof(cell{})), int64(unsafe.Sizeof(readSet{})), int64(unsafe.Sizeof(access{}))
	if cellB > 44 {
		t.Errorf("a shadow cell is %d bytes, want at most 44", cellB)
	}
	perWord := func(st shadowStats) float64 { return float64(st.Bytes) / float64(st.Words) }

	// The reduction: every input word read once, grid partials written
	// and read, the result and the ticket counter.
	const n, grid = 1 << 16, 64
	f := newScaleFixture(t, n)
	var st shadowStats
	if res, err := f.launch("fence_reduce", grid, LaunchConfig{Check: true, shadowStats: &st}); err != nil {
		t.Fatalf("%v\n%s", err, scaleReport(res, err))
	}
	if st.Words != n+grid+2 {
		t.Errorf("fence_reduce: %d words touched, want %d", st.Words, n+grid+2)
	}
	if b := perWord(st); b > 50 {
		t.Errorf("fence_reduce: %.1f shadow bytes per word touched, want at most 50 (%+v)", b, st)
	}
	t.Logf("fence_reduce: %.1f bytes per word (%+v)", perWord(st), st)

	// Own words and own bytes, 16 pages of 1024 words, all touched.
	for _, c := range []struct {
		typ  string
		size int
		max  int64
	}{
		{"u32", 4, 50},
		{"u8", 1, cellB + 2*setB + 4*accB},
	} {
		src := ownKernel(c.typ, c.size)
		m, err := Load("own.ptx", []byte(src))
		if err != nil {
			t.Fatalf("%v\n%s", err, src)
		}
		d := NewDevice()
		const words = 16 * pageCells
		threads := words * 4 / c.size
		buf := racesAlloc(t, d, make([]uint32, words))
		var st shadowStats
		cfg := LaunchConfig{Grid: Dim3{X: uint32(threads / 256), Y: 1, Z: 1}, Block: Dim3{X: 256, Y: 1, Z: 1}, Check: true, shadowStats: &st}
		if res, err := m.Launch(d, "own", cfg, buf); err != nil {
			t.Fatalf("%s: %v\n%s", c.typ, err, scaleReport(res, err))
		}
		if st.Words != words {
			t.Errorf("%s: %d words touched, want %d", c.typ, st.Words, words)
		}
		if b := perWord(st); b > float64(c.max) {
			t.Errorf("%s: %.1f shadow bytes per word touched, want at most %d (%+v)", c.typ, b, c.max, st)
		}
		t.Logf("%s: %.1f bytes per word (%+v)", c.typ, perWord(st), st)
	}
}

// TestFenceReduceParallel: the reduction on 2 and 8 workers, 64 and 256
// blocks, four times each. The blocks race each other for the ticket
// (atomicInc) and publish their partial sums behind __threadfence; the
// last block to draw one must see every partial, whatever the workers'
// interleaving, and reset the counter. Under -race this also shows the
// fences, the atomics and the partial sums' plain stores and loads cross
// workers without a Go data race.
func TestFenceReduceParallel(t *testing.T) {
	f := newScaleFixture(t, 1<<14)
	count, _, err := f.m.Global(f.d, "retirement_count")
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{2, 8} {
		for _, grid := range []uint32{64, 256} {
			for i := range 4 {
				if err := f.d.Write(f.out, make([]byte, 4)); err != nil {
					t.Fatal(err)
				}
				if _, err := f.launch("fence_reduce", grid, LaunchConfig{Workers: workers}); err != nil {
					t.Fatal(err)
				}
				if got := scaleWord(t, f.d, f.out); got != f.sum {
					t.Fatalf("workers %d, grid %d, run %d: sum %#x, want %#x", workers, grid, i, got, f.sum)
				}
				if got := scaleWord(t, f.d, count); got != 0 {
					t.Fatalf("workers %d, grid %d, run %d: retirement_count %d after the launch, want 0", workers, grid, i, got)
				}
			}
		}
	}
}
