package cpuemu_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/internal/kcheck"
	"github.com/gpubuf/gpubuf/kernels"
)

// Blocks on several workers (LaunchConfig.Workers). The blocks of one
// launch race each other through global memory here on purpose: with
// atomics, with narrow stores into one word, with a flag one block polls
// and another sets, and with plain racing stores. Under `go test -race`
// these tests also prove that emulated global memory is reached without a
// Go data race. The expected values are derived by hand from the kernels.

const parallelPTX = ptHeader + `
// Every thread adds 1 to cnt (atom) and 1.0 to fsum (red); thread 0 of
// block b writes the byte b^0xA5 to bytes[b] and the half-word b to
// halves[b]: four blocks share each word of bytes, two each of halves.
.visible .entry count(.param .u64 p_cnt, .param .u64 p_fsum, .param .u64 p_bytes, .param .u64 p_halves)
{
	.reg .pred %p<2>;
	.reg .b32 %r<6>;
	.reg .b64 %rd<10>;
	.reg .f32 %f<2>;
	ld.param.u64 %rd1, [p_cnt];
	ld.param.u64 %rd2, [p_fsum];
	ld.param.u64 %rd3, [p_bytes];
	ld.param.u64 %rd4, [p_halves];
	atom.global.add.u32 %r1, [%rd1], 1;
	mov.f32 %f1, 0f3F800000;
	red.global.add.f32 [%rd2], %f1;
	mov.u32 %r2, %tid.x;
	setp.ne.u32 %p1, %r2, 0;
	@%p1 bra DONE;
	mov.u32 %r3, %ctaid.x;
	cvt.u64.u32 %rd5, %r3;
	add.u64 %rd6, %rd3, %rd5;
	xor.b32 %r4, %r3, 165;
	st.global.u8 [%rd6], %r4;
	shl.b64 %rd7, %rd5, 1;
	add.u64 %rd8, %rd4, %rd7;
	st.global.u16 [%rd8], %r3;
DONE:
	ret;
}

// Block 1 writes data[tid] = 3*tid+1, then (after bar.sync) thread 0
// releases flag; block 0's thread 0 spins on flag with acquire loads, and
// then every thread of block 0 copies data[tid] to out[tid].
.visible .entry poll(.param .u64 p_data, .param .u64 p_flag, .param .u64 p_out)
{
	.reg .pred %p<4>;
	.reg .b32 %r<8>;
	.reg .b64 %rd<10>;
	ld.param.u64 %rd1, [p_data];
	ld.param.u64 %rd2, [p_flag];
	ld.param.u64 %rd3, [p_out];
	mov.u32 %r1, %tid.x;
	mul.wide.u32 %rd4, %r1, 4;
	add.u64 %rd5, %rd1, %rd4;
	add.u64 %rd6, %rd3, %rd4;
	setp.eq.u32 %p3, %r1, 0;
	mov.u32 %r2, %ctaid.x;
	setp.eq.u32 %p1, %r2, 0;
	@%p1 bra CONSUME;
	mad.lo.u32 %r3, %r1, 3, 1;
	st.global.u32 [%rd5], %r3;
	bar.sync 0;
	@!%p3 bra DONE;
	mov.u32 %r4, 1;
	st.release.gpu.global.u32 [%rd2], %r4;
	bra DONE;
CONSUME:
	@!%p3 bra WAIT;
SPIN:
	ld.acquire.gpu.global.u32 %r5, [%rd2];
	setp.eq.u32 %p2, %r5, 0;
	@%p2 bra SPIN;
WAIT:
	bar.sync 0;
	ld.global.u32 %r6, [%rd5];
	st.global.u32 [%rd6], %r6;
DONE:
	ret;
}

// Every thread of every block stores its global index to one word with
// plain stores, then loads it: a data race on the device, and one the
// emulator must survive without a Go data race.
.visible .entry racy(.param .u64 p_word, .param .u64 p_out)
{
	.reg .b32 %r<6>;
	.reg .b64 %rd<6>;
	ld.param.u64 %rd1, [p_word];
	ld.param.u64 %rd2, [p_out];
	mov.u32 %r1, %ctaid.x;
	mov.u32 %r2, %ntid.x;
	mov.u32 %r3, %tid.x;
	mad.lo.u32 %r4, %r1, %r2, %r3;
	st.global.u32 [%rd1], %r4;
	ld.global.u32 %r5, [%rd1];
	mul.wide.u32 %rd3, %r4, 4;
	add.u64 %rd4, %rd2, %rd3;
	st.global.u32 [%rd4], %r5;
	ret;
}

// Blocks whose index is 2 mod 3 divide by zero at one line, blocks 4
// mod 5 at another, and blocks from p_bad on store out of bounds.
.visible .entry diags(.param .u64 p_out, .param .u32 p_bad)
{
	.reg .pred %p<4>;
	.reg .b32 %r<12>;
	.reg .b64 %rd<6>;
	ld.param.u64 %rd1, [p_out];
	ld.param.u32 %r1, [p_bad];
	mov.u32 %r2, %ctaid.x;
	mov.u32 %r3, 0;
	rem.u32 %r4, %r2, 3;
	setp.ne.u32 %p1, %r4, 2;
	@%p1 bra NEXT;
	div.u32 %r5, %r2, %r3; // DIV-A
NEXT:
	rem.u32 %r6, %r2, 5;
	setp.ne.u32 %p2, %r6, 4;
	@%p2 bra STORE;
	rem.u32 %r7, %r2, %r3; // DIV-B
STORE:
	setp.lt.u32 %p3, %r2, %r1;
	@%p3 bra DONE;
	add.u64 %rd2, %rd1, 1048576;
	st.global.u32 [%rd2], %r2; // OOB
DONE:
	ret;
}
`

func parallelModule(t testing.TB) *cpuemu.Module {
	t.Helper()
	return ptLoad(t, "parallel", parallelPTX)
}

// TestParallelAtomicsAndNarrowStores: 1024 blocks of 64 threads on 1, 2
// and 8 workers. cnt ends at 65536 and fsum at 65536.0 (every partial sum
// of ones up to 2^24 is exact in float32, so the order of the adds does not
// matter), bytes[b] = b^0xA5 and halves[b] = b: no narrow store of one
// block loses another block's bytes of the same word.
func TestParallelAtomicsAndNarrowStores(t *testing.T) {
	m := parallelModule(t)
	const grid, block = 1024, 64
	for _, workers := range []int{1, 2, 8} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			d := cpuemu.NewDevice()
			cnt, fsum := ptBuf(t, d, 4, nil), ptBuf(t, d, 4, nil)
			bs, hs := ptBuf(t, d, grid, nil), ptBuf(t, d, 2*grid, nil)
			cfg := cpuemu.LaunchConfig{Grid: ptD1(grid), Block: ptD1(block), Workers: workers}
			res, err := m.Launch(d, "count", cfg, cnt, fsum, bs, hs)
			if err != nil {
				t.Fatal(err)
			}
			ptNoDiag(t, res)
			if got := ptWords(ptRead(t, d, cnt, 4))[0]; got != grid*block {
				t.Errorf("cnt = %d, want %d", got, grid*block)
			}
			if got := math.Float32frombits(ptWords(ptRead(t, d, fsum, 4))[0]); got != grid*block {
				t.Errorf("fsum = %v, want %d", got, grid*block)
			}
			b, h := ptRead(t, d, bs, grid), ptRead(t, d, hs, 2*grid)
			for i := range grid {
				if b[i] != byte(i^0xA5) {
					t.Fatalf("bytes[%d] = %#x, want %#x", i, b[i], byte(i^0xA5))
				}
				if got := uint16(h[2*i]) | uint16(h[2*i+1])<<8; got != uint16(i) {
					t.Fatalf("halves[%d] = %d, want %d", i, got, i)
				}
			}
			if want := int64(grid * block * 10); res.LaneInstructions < want {
				t.Errorf("%d lane-instructions counted, want at least %d (10 per thread)", res.LaneInstructions, want)
			}
		})
	}
}

// TestParallelPolling: block 0 waits for a flag that block 1 releases
// after writing the data. On two workers both blocks are live at once and
// block 0 copies 3*tid+1. On one worker block 0 runs first and alone, as
// on a GPU with one free SM: it spins until the instruction limit, which
// is a *LimitError, not a hang.
func TestParallelPolling(t *testing.T) {
	m := parallelModule(t)
	const block = 128
	for _, workers := range []int{2, 1} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			d := cpuemu.NewDevice()
			data, flag, out := ptBuf(t, d, 4*block, nil), ptBuf(t, d, 4, nil), ptBuf(t, d, 4*block, nil)
			cfg := cpuemu.LaunchConfig{Grid: ptD1(2), Block: ptD1(block), Workers: workers, MaxInstructions: 1 << 22}
			_, err := m.Launch(d, "poll", cfg, data, flag, out)
			if workers == 1 {
				var le *cpuemu.LimitError
				if !errors.As(err, &le) {
					t.Fatalf("got %v, want a *LimitError for the spin", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range ptWords(ptRead(t, d, out, 4*block)) {
				if v != uint32(3*i+1) {
					t.Fatalf("out[%d] = %d, want %d", i, v, 3*i+1)
				}
			}
		})
	}
}

// TestParallelRacyStores: 64 blocks store to one word with plain stores
// and read it back. Each thread reads some thread's index (its own or a
// later store's), never a torn or made-up value, and the word ends holding
// one of the indexes.
func TestParallelRacyStores(t *testing.T) {
	m := parallelModule(t)
	const grid, block = 64, 64
	d := cpuemu.NewDevice()
	word, out := ptBuf(t, d, 4, nil), ptBuf(t, d, 4*grid*block, nil)
	cfg := cpuemu.LaunchConfig{Grid: ptD1(grid), Block: ptD1(block), Workers: 4}
	if _, err := m.Launch(d, "racy", cfg, word, out); err != nil {
		t.Fatal(err)
	}
	if w := ptWords(ptRead(t, d, word, 4))[0]; w >= grid*block {
		t.Errorf("the word holds %d, which no thread stored", w)
	}
	for i, v := range ptWords(ptRead(t, d, out, 4*grid*block)) {
		if v >= grid*block {
			t.Fatalf("thread %d read %d, which no thread stored", i, v)
		}
	}
}

// TestParallelDiagnosticsAndFaults: the diagnostics and the fault of a
// parallel launch are those of the same launch on one worker, in the same
// order with the same counts: the first division by zero at DIV-A is in
// block 2, at DIV-B in block 4, each counted once per lane of each block
// that reaches it; the fault is block 40's, the first block that stores
// out of bounds, however the workers happen to interleave.
func TestParallelDiagnosticsAndFaults(t *testing.T) {
	m := parallelModule(t)
	const grid, block, bad = 64, 32, 40
	lineA, lineB, lineOOB := ptLine(t, parallelPTX, "DIV-A"), ptLine(t, parallelPTX, "DIV-B"), ptLine(t, parallelPTX, "// OOB")
	var seq *cpuemu.Result
	for _, workers := range []int{1, 8, 8, 8} {
		d := cpuemu.NewDevice()
		out := ptBuf(t, d, 4, nil)
		cfg := cpuemu.LaunchConfig{Grid: ptD1(grid), Block: ptD1(block), Workers: workers}
		res, err := m.Launch(d, "diags", cfg, out, uint32(bad))
		var fe *cpuemu.FaultError
		if !errors.As(err, &fe) {
			t.Fatalf("workers=%d: got %v, want a *FaultError", workers, err)
		}
		if fe.CTA != (cpuemu.Dim3{X: bad}) || fe.Site.PTXLine != lineOOB || fe.Kind != "out of bounds" {
			t.Errorf("workers=%d: fault %v, want block %d's out-of-bounds store at line %d", workers, fe, bad, lineOOB)
		}
		// Blocks below 40 all run; what blocks from 40 on did is dropped.
		var nA, nB int
		for b := range bad {
			if b%3 == 2 {
				nA += block
			}
			if b%5 == 4 {
				nB += block
			}
		}
		if len(res.Diagnostics) != 2 {
			t.Fatalf("workers=%d: diagnostics %v, want two", workers, res.Diagnostics)
		}
		a, b := res.Diagnostics[0], res.Diagnostics[1]
		if a.Site.PTXLine != lineA || a.CTA.X != 2 || a.Count != nA || b.Site.PTXLine != lineB || b.CTA.X != 4 || b.Count != nB {
			t.Errorf("workers=%d: diagnostics %v %v, want line %d from block 2 (count %d), then line %d from block 4 (count %d)", workers, a, b, lineA, nA, lineB, nB)
		}
		if workers == 1 {
			seq = res
			continue
		}
		if !reflect.DeepEqual(res, seq) {
			t.Errorf("workers=%d: result %+v, one worker's %+v", workers, res, seq)
		}
	}
	// Without the fault, every count is exact and the results equal.
	var want *cpuemu.Result
	for _, workers := range []int{1, 8} {
		d := cpuemu.NewDevice()
		cfg := cpuemu.LaunchConfig{Grid: ptD1(grid), Block: ptD1(block), Workers: workers}
		res, err := m.Launch(d, "diags", cfg, ptBuf(t, d, 4, nil), uint32(grid))
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = res
			continue
		}
		if !reflect.DeepEqual(res, want) {
			t.Errorf("8 workers: %+v\none worker: %+v", res, want)
		}
	}
}

// TestParallelSameAsSequential: every catalogued kernel's outputs and
// result (counts, diagnostics) are the same bit for bit on one worker and
// on several. The racy twins are left out: their outcome depends on the
// schedule, as on a GPU.
func TestParallelSameAsSequential(t *testing.T) {
	for _, k := range kernels.All() {
		if k.Racy() {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			kc, err := kcheck.Case(k.Name, 3)
			if err != nil {
				t.Fatal(err)
			}
			m := module(t, k.Name)
			var wantOut [][]byte
			var wantRes *cpuemu.Result
			for _, workers := range []int{1, 2, 8} {
				d := cpuemu.NewDevice()
				args := make([]any, len(kc.Args))
				ptrs := make([]cpuemu.DevicePtr, len(kc.Args))
				for i, a := range kc.Args {
					if a.Scalar {
						args[i] = a.Value
						continue
					}
					ptrs[i] = buf(t, d, a.Init)
					args[i] = ptrs[i]
				}
				g, b := kc.Launch.Grid, kc.Launch.Block
				cfg := cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: g.X, Y: g.Y, Z: g.Z}, Block: cpuemu.Dim3{X: b.X, Y: b.Y, Z: b.Z},
					SharedBytes: kc.Launch.SharedBytes, Workers: workers}
				res, err := m.Launch(d, k.Name, cfg, args...)
				if err != nil {
					t.Fatalf("workers=%d: %v", workers, err)
				}
				var outs [][]byte
				for _, i := range kc.Outputs() {
					outs = append(outs, read(t, d, ptrs[i], kc.Args[i].Size()))
				}
				if ok, detail := kc.Verify(outs); !ok {
					t.Errorf("workers=%d: %s", workers, detail)
				}
				if wantRes == nil {
					wantOut, wantRes = outs, res
					continue
				}
				for i := range outs {
					if !bytes.Equal(outs[i], wantOut[i]) {
						t.Errorf("workers=%d: output %d differs from one worker's", workers, i)
					}
				}
				if !reflect.DeepEqual(res, wantRes) {
					t.Errorf("workers=%d: result %+v, one worker's %+v", workers, res, wantRes)
				}
			}
		})
	}
}

// TestParallelManyBlocks: batch_reduce over 256 blocks, and the
// benchmarks' launches of lane_handoff, pingpong and warp_specialized
// (8 to 16 blocks), give the same bytes and the same result on 1, 4 and
// 8 workers.
func TestParallelManyBlocks(t *testing.T) {
	const nrec, recWords = 256, 64
	reduce := func(d *cpuemu.Device) (cpuemu.LaunchConfig, []any) {
		in := kernels.WordBytes(randWords(9, nrec*recWords))
		return cpuemu.LaunchConfig{Grid: ptD1(nrec), Block: ptD1(64)}, []any{buf(t, d, in), buf(t, d, make([]byte, 12*nrec)), uint32(nrec), uint32(recWords)}
	}
	for _, c := range []struct {
		kernel string
		setup  func(d *cpuemu.Device) (cpuemu.LaunchConfig, []any)
	}{
		{"batch_reduce", reduce},
		{"lane_handoff", handoffSetup},
		{"pingpong", pingpongSetup},
		{"warp_specialized", warpSpecializedSetup},
	} {
		m := module(t, c.kernel)
		var want []byte
		var wantRes *cpuemu.Result
		for _, workers := range []int{1, 4, 8} {
			d := cpuemu.NewDevice()
			cfg, args := c.setup(d)
			cfg.Workers = workers
			res, err := m.Launch(d, c.kernel, cfg, args...)
			if err != nil {
				t.Fatal(err)
			}
			// Every buffer argument, in order: inputs and outputs.
			var got []byte
			for _, a := range args {
				if p, ok := a.(cpuemu.DevicePtr); ok {
					n, err := d.Size(p)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, read(t, d, p, n)...)
				}
			}
			if want == nil {
				want, wantRes = got, res
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s, workers=%d: memory differs from one worker's", c.kernel, workers)
			}
			if !reflect.DeepEqual(res, wantRes) {
				t.Errorf("%s, workers=%d: result %+v, one worker's %+v", c.kernel, workers, res, wantRes)
			}
		}
	}
}

// TestWorkersLimits: a negative or too large Workers is refused before
// anything runs.
func TestWorkersLimits(t *testing.T) {
	m := parallelModule(t)
	d := cpuemu.NewDevice()
	p := ptBuf(t, d, 4, nil)
	_, err := m.Launch(d, "racy", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1), Workers: -1}, p, ptBuf(t, d, 4, nil))
	var ae *cpuemu.ArgError
	if !errors.As(err, &ae) {
		t.Errorf("Workers -1: got %v, want an *ArgError", err)
	}
	_, err = m.Launch(d, "racy", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1), Workers: cpuemu.MaxWorkers + 1}, p, ptBuf(t, d, 4, nil))
	var le *cpuemu.LimitError
	if !errors.As(err, &le) || le.Limit != "workers" {
		t.Errorf("Workers %d: got %v, want a *LimitError on workers", cpuemu.MaxWorkers+1, err)
	}
}

// TestBlockStartsClean: a worker reuses one register file for its blocks,
// keeping the constants and zeroing the rest. Each block reads %r1 before
// writing it (undefined in PTX; the emulator gives 0) and then leaves 77
// and 0x12345 in %r1 and %r3: every block of 16, on one worker and on
// four, must still read 0, and the immediates must still hold.
func TestBlockStartsClean(t *testing.T) {
	const src = ptHeader + `
.visible .entry clean(.param .u64 p_out)
{
	.reg .b32 %r<5>;
	.reg .b64 %rd<5>;
	ld.param.u64 %rd1, [p_out];
	mov.u32 %r2, %r1;
	mov.u32 %r4, %ctaid.x;
	mul.wide.u32 %rd2, %r4, 8;
	add.u64 %rd3, %rd1, %rd2;
	st.global.u32 [%rd3], %r2;
	mov.u32 %r1, 77;
	add.u32 %r3, %r1, 0x12345;
	st.global.u32 [%rd3+4], %r3;
	ret;
}
`
	m := ptLoad(t, "clean", src)
	for _, workers := range []int{1, 4} {
		d := cpuemu.NewDevice()
		out := ptBuf(t, d, 8*16, nil)
		if _, err := m.Launch(d, "clean", cpuemu.LaunchConfig{Grid: ptD1(16), Block: ptD1(64), Workers: workers}, out); err != nil {
			t.Fatal(err)
		}
		w := ptWords(ptRead(t, d, out, 8*16))
		for b := range 16 {
			if w[2*b] != 0 || w[2*b+1] != 77+0x12345 {
				t.Errorf("workers=%d, block %d: read %#x before writing (want 0), computed %#x (want %#x)", workers, b, w[2*b], w[2*b+1], 77+0x12345)
			}
		}
	}
}
