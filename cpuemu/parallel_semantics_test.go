package cpuemu_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// More of what blocks on several workers must keep of one worker's run:
// the instruction limit, what a failed launch reports, %clock, the schedule
// search's reference, the diagnostics' order over many blocks, and no Go
// data race from any kind of global access (under -race).

const parSemPTX = ptHeader + `
// A few instructions per thread, no memory.
.visible .entry small(.param .u64 p)
{
	.reg .b32 %r<4>;
	mov.u32 %r1, %tid.x;
	add.u32 %r2, %r1, 1;
	add.u32 %r3, %r2, 1;
	ret;
}

// Block 0 stores out of bounds at once; every other block divides by zero.
.visible .entry faultfirst(.param .u64 p_out)
{
	.reg .pred %p<2>;
	.reg .b32 %r<6>;
	.reg .b64 %rd<4>;
	ld.param.u64 %rd1, [p_out];
	mov.u32 %r2, %ctaid.x;
	setp.ne.u32 %p1, %r2, 0;
	@%p1 bra LATER;
	add.u64 %rd2, %rd1, 1048576;
	st.global.u32 [%rd2], %r2;
	ret;
LATER:
	mov.u32 %r3, 0;
	div.u32 %r4, %r2, %r3;
	ret;
}

// out[ctaid] = %clock (thread 0)
.visible .entry clk(.param .u64 p_out)
{
	.reg .b32 %r<6>;
	.reg .b64 %rd<4>;
	ld.param.u64 %rd1, [p_out];
	mov.u32 %r1, %ctaid.x;
	mov.u32 %r2, %clock;
	mul.wide.u32 %rd2, %r1, 4;
	add.u64 %rd3, %rd1, %rd2;
	st.global.u32 [%rd3], %r2;
	ret;
}

// ld.shared.u32 at address p (a 64-bit register).
.visible .entry shaddr(.param .u64 p_addr)
{
	.shared .align 4 .b8 sh[64];
	.reg .b32 %r<2>;
	.reg .b64 %rd<2>;
	ld.param.u64 %rd1, [p_addr];
	ld.shared.u32 %r1, [%rd1];
	ret;
}
.visible .entry shaddrst(.param .u64 p_addr)
{
	.shared .align 4 .b8 sh[64];
	.reg .b32 %r<2>;
	.reg .b64 %rd<2>;
	ld.param.u64 %rd1, [p_addr];
	mov.u32 %r1, 7;
	st.shared.u32 [%rd1], %r1;
	ret;
}
`

// TestParallelInstructionLimit: MaxInstructions bounds the launch's total,
// on any number of workers: one lane-instruction fewer than the launch
// runs is a *LimitError every time, even when every block ends between
// two of a worker's checkpoints, and exactly as many succeeds.
func TestParallelInstructionLimit(t *testing.T) {
	m := ptLoad(t, "rv", parSemPTX)
	const grid, block = 8, 32
	d0 := cpuemu.NewDevice()
	r0, err := m.Launch(d0, "small", cpuemu.LaunchConfig{Grid: ptD1(grid), Block: ptD1(block), Workers: 1}, ptBuf(t, d0, 4, nil))
	if err != nil {
		t.Fatal(err)
	}
	limit := r0.LaneInstructions - 1
	for _, workers := range []int{1, 8} {
		fails, oks := 0, 0
		var over int64
		for range 20 {
			d := cpuemu.NewDevice()
			cfg := cpuemu.LaunchConfig{Grid: ptD1(grid), Block: ptD1(block), Workers: workers, MaxInstructions: limit}
			res, err := m.Launch(d, "small", cfg, ptBuf(t, d, 4, nil))
			var le *cpuemu.LimitError
			if errors.As(err, &le) {
				fails++
			} else if err == nil {
				oks++
				over = res.LaneInstructions
			} else {
				t.Fatal(err)
			}
		}
		if oks > 0 {
			t.Errorf("workers=%d: %d of 20 launches ran past MaxInstructions (%d, limit %d) and succeeded", workers, oks, over, limit)
		}
		d := cpuemu.NewDevice()
		cfg := cpuemu.LaunchConfig{Grid: ptD1(grid), Block: ptD1(block), Workers: workers, MaxInstructions: limit + 1}
		if _, err := m.Launch(d, "small", cfg, ptBuf(t, d, 4, nil)); err != nil {
			t.Errorf("workers=%d: the launch with MaxInstructions its own count: %v", workers, err)
		}
	}
}

// TestParallelFailureReport: block 0 faults at once and every other block
// divides by zero. One worker never runs blocks 1-63, so the launch
// reports the fault and no diagnostic, and counts block 0's
// lane-instructions only, on any number of workers (the other blocks may
// have run alongside; what they did is not the launch's to report).
func TestParallelFailureReport(t *testing.T) {
	m := ptLoad(t, "rv", parSemPTX)
	var want int64
	for _, workers := range []int{1, 8} {
		extra := 0
		for range 20 {
			d := cpuemu.NewDevice()
			cfg := cpuemu.LaunchConfig{Grid: ptD1(64), Block: ptD1(32), Workers: workers}
			res, err := m.Launch(d, "faultfirst", cfg, ptBuf(t, d, 4, nil))
			var fe *cpuemu.FaultError
			if !errors.As(err, &fe) || fe.CTA.X != 0 {
				t.Fatalf("got %v", err)
			}
			if len(res.Diagnostics) > 0 {
				extra++
			}
			if want == 0 {
				want = res.LaneInstructions
			} else if res.LaneInstructions != want {
				t.Fatalf("workers=%d: %d lane-instructions, one worker counts %d", workers, res.LaneInstructions, want)
			}
		}
		if extra > 0 {
			t.Errorf("workers=%d: diagnostics of blocks that never run on one worker", workers)
		}
	}
}

// TestParallelClock: %clock counts the block's own instructions, so each
// block reads the same value on any number of workers.
func TestParallelClock(t *testing.T) {
	m := ptLoad(t, "rv", parSemPTX)
	var want string
	for _, workers := range []int{1, 4} {
		d := cpuemu.NewDevice()
		out := ptBuf(t, d, 4*16, nil)
		cfg := cpuemu.LaunchConfig{Grid: ptD1(16), Block: ptD1(1024), Workers: workers}
		if _, err := m.Launch(d, "clk", cfg, out); err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(ptWords(ptRead(t, d, out, 64)))
		if want == "" {
			want = got
		} else if got != want {
			t.Errorf("%%clock: %s on %d workers, %s on one", got, workers, want)
		}
	}
}

// TestSharedAddressWrap: a 32-bit shared access at 2^64-4, whose end wraps
// round to 0, is out of bounds: a *FaultError, not an emulator bug.
func TestSharedAddressWrap(t *testing.T) {
	m := ptLoad(t, "rv", parSemPTX)
	for _, k := range []string{"shaddr", "shaddrst"} {
		d := cpuemu.NewDevice()
		cfg := cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)}
		_, err := m.Launch(d, k, cfg, ^uint64(3))
		var fe *cpuemu.FaultError
		if !errors.As(err, &fe) {
			t.Errorf("%s at 0xfff...fc: got %T %v, want a *FaultError", k, err, err)
		}
	}
}

const parLastPTX = ptHeader + `
// Thread 0 of every block stores its block index to one word, after some work.
.visible .entry last(.param .u64 p_word)
{
	.reg .pred %p<3>;
	.reg .b32 %r<8>;
	.reg .b64 %rd<3>;
	ld.param.u64 %rd1, [p_word];
	mov.u32 %r1, %tid.x;
	mov.u32 %r2, %ctaid.x;
	mov.u32 %r3, 0;
	mul.lo.u32 %r5, %r2, 37;
	rem.u32 %r5, %r5, 200;
LOOP:
	add.u32 %r3, %r3, 1;
	setp.lt.u32 %p2, %r3, %r5;
	@%p2 bra LOOP;
	setp.ne.u32 %p1, %r1, 0;
	@%p1 bra DONE;
	st.global.u32 [%rd1], %r2;
DONE:
	ret;
}
`

// TestSearchReferenceOneWorker: a schedule search as the race command runs
// it, with Workers left at 0. Every schedule runs the blocks in order, so
// no schedule changes which block stores last: the search must find
// nothing, which it can only if its lockstep reference runs on one worker
// too (Schedule.Config sees to that).
func TestSearchReferenceOneWorker(t *testing.T) {
	m := ptLoad(t, "parlast", parLastPTX)
	base := cpuemu.LaunchConfig{Grid: ptD1(64), Block: ptD1(32)}
	found := 0
	for range 20 {
		run := func(s cpuemu.Schedule) ([]byte, error) {
			d := cpuemu.NewDevice()
			p := ptBuf(t, d, 4, nil)
			_, err := m.Launch(d, "last", s.Config(base), p)
			return ptRead(t, d, p, 4), err
		}
		sr, err := cpuemu.SearchSchedules(2, run)
		if err != nil {
			t.Fatal(err)
		}
		if sr.Found {
			found++
		}
	}
	if found > 0 {
		t.Errorf("%d of 20 searches report a schedule-dependent output that no schedule causes", found)
	}
}

const parAccessPTX = ptHeader + `
.global .align 8 .b8 gvar[64];
.visible .entry everything(.param .u64 p_buf)
{
	.reg .pred %p<4>;
	.reg .b16 %h<4>;
	.reg .b32 %r<20>;
	.reg .b64 %rd<20>;
	.reg .f32 %f<4>;
	.reg .f64 %fd<4>;
	ld.param.u64 %rd1, [p_buf];
	mov.u32 %r1, %tid.x;
	mov.u32 %r2, %ctaid.x;
	// plain scalar stores and loads of every size
	st.global.u8 [%rd1+1], %r1;
	st.global.u16 [%rd1+2], %r1;
	st.global.u32 [%rd1+4], %r1;
	cvt.u64.u32 %rd2, %r1;
	st.global.u64 [%rd1+8], %rd2;
	ld.global.u8 %r3, [%rd1+1];
	ld.global.u16 %r4, [%rd1+2];
	ld.global.u32 %r5, [%rd1+4];
	ld.global.u64 %rd3, [%rd1+8];
	ld.global.s8 %r3, [%rd1+1];
	ld.global.s16 %r4, [%rd1+2];
	ld.global.s32 %r5, [%rd1+4];
	// vectors
	st.global.v2.u32 [%rd1+16], {%r1, %r2};
	st.global.v4.u32 [%rd1+32], {%r1, %r2, %r1, %r2};
	st.global.v2.u64 [%rd1+48], {%rd2, %rd2};
	st.global.v4.u8 [%rd1+64], {%r1, %r2, %r1, %r2};
	st.global.v2.u16 [%rd1+68], {%r1, %r2};
	ld.global.v2.u32 {%r6, %r7}, [%rd1+16];
	ld.global.v4.u32 {%r6, %r7, %r8, %r9}, [%rd1+32];
	ld.global.v2.u64 {%rd4, %rd5}, [%rd1+48];
	ld.global.v4.u8 {%r6, %r7, %r8, %r9}, [%rd1+64];
	ld.global.v2.u16 {%r6, %r7}, [%rd1+68];
	ld.global.nc.u32 %r10, [%rd1+4];
	ld.global.nc.v2.u32 {%r6, %r7}, [%rd1+16];
	ldu.global.u32 %r10, [%rd1+4];
	ld.volatile.global.u32 %r10, [%rd1+4];
	ld.relaxed.gpu.global.u32 %r10, [%rd1+4];
	st.relaxed.gpu.global.u32 [%rd1+4], %r10;
	// generic
	cvta.global.u64 %rd6, %rd1;
	st.u8 [%rd6+1], %r1;
	st.u16 [%rd6+2], %r1;
	st.u32 [%rd6+4], %r1;
	st.u64 [%rd6+8], %rd2;
	ld.u8 %r3, [%rd6+1];
	ld.u16 %r3, [%rd6+2];
	ld.u32 %r3, [%rd6+4];
	ld.u64 %rd3, [%rd6+8];
	ld.v4.u32 {%r6, %r7, %r8, %r9}, [%rd6+32];
	st.v4.u32 [%rd6+32], {%r6, %r7, %r8, %r9};
	// module global variable
	mov.u64 %rd7, gvar;
	st.global.u32 [gvar+4], %r1;
	ld.global.u32 %r11, [gvar+4];
	st.global.u8 [gvar+9], %r1;
	ld.global.u8 %r11, [gvar+9];
	cvta.global.u64 %rd8, %rd7;
	st.u32 [%rd8+12], %r1;
	ld.u32 %r11, [%rd8+12];
	// atomics
	atom.global.add.u32 %r12, [%rd1+80], 1;
	atom.global.add.u64 %rd9, [%rd1+88], 1;
	atom.global.cas.b32 %r12, [%rd1+96], %r1, %r2;
	atom.global.cas.b64 %rd9, [%rd1+104], %rd2, %rd3;
	atom.global.exch.b32 %r12, [%rd1+112], %r1;
	atom.global.inc.u32 %r12, [%rd1+116], 17;
	atom.global.dec.u32 %r12, [%rd1+120], 17;
	atom.global.min.s32 %r12, [%rd1+124], %r1;
	atom.global.max.u64 %rd9, [%rd1+128], %rd2;
	mov.f32 %f1, 0f3F800000;
	atom.global.add.f32 %f2, [%rd1+136], %f1;
	mov.f64 %fd1, 0d3FF0000000000000;
	atom.global.add.f64 %fd2, [%rd1+144], %fd1;
	red.global.add.u32 [%rd1+80], 1;
	red.global.or.b32 [%rd1+152], %r1;
	atom.add.u32 %r12, [%rd6+80], 1;
	atom.global.add.u32 %r12, [gvar+16], 1;
	// mixing atomic and plain on the same word
	st.global.u32 [%rd1+80], %r1;
	ld.global.u32 %r12, [%rd1+136];
	st.global.u8 [%rd1+81], %r1;
	ret;
}
`

// TestParallelEveryAccessKind: 64 blocks on 4 workers reach the same
// global words through every kind of access the emulator has (each size,
// vectors, .nc, volatile and relaxed, generic addresses, a module
// variable, every atom and red), mixed with plain stores. Under -race it
// proves none of them is a plain Go access while blocks run in parallel.
func TestParallelEveryAccessKind(t *testing.T) {
	m := ptLoad(t, "paraccess", parAccessPTX)
	d := cpuemu.NewDevice()
	p := ptBuf(t, d, 256, nil)
	cfg := cpuemu.LaunchConfig{Grid: ptD1(64), Block: ptD1(64), Workers: 4}
	res, err := m.Launch(d, "everything", cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	ptNoDiag(t, res)
}

const parMergePTX = ptHeader + `
// Block b: if b%3==1 divides by zero at A then B; if b%3==2 at B then C;
// blocks b%7==5 at D first. Warps differ too.
.visible .entry mix(.param .u64 p)
{
	.reg .pred %p<6>;
	.reg .b32 %r<12>;
	mov.u32 %r1, %ctaid.x;
	mov.u32 %r2, 0;
	rem.u32 %r3, %r1, 7;
	setp.ne.u32 %p1, %r3, 5;
	@%p1 bra S1;
	div.u32 %r4, %r1, %r2; // D
S1:
	rem.u32 %r5, %r1, 3;
	setp.eq.u32 %p2, %r5, 1;
	@%p2 bra ONE;
	setp.eq.u32 %p3, %r5, 2;
	@%p3 bra TWO;
	ret;
ONE:
	div.u32 %r6, %r1, %r2; // A
	rem.u32 %r7, %r1, %r2; // B1
	ret;
TWO:
	rem.u32 %r8, %r1, %r2; // B2
	div.s32 %r9, %r1, %r2; // C
	ret;
}
`

// TestParallelDiagnosticOrder: 200 blocks report divisions by zero at
// five sites, which come first in a different block for each; on 8 workers
// the result (diagnostics, their order, counts and first blocks) is one
// worker's, 29 times out of 29.
func TestParallelDiagnosticOrder(t *testing.T) {
	m := ptLoad(t, "parmerge", parMergePTX)
	var want *cpuemu.Result
	for i := range 30 {
		workers := 8
		if i == 0 {
			workers = 1
		}
		d := cpuemu.NewDevice()
		res, err := m.Launch(d, "mix", cpuemu.LaunchConfig{Grid: ptD1(200), Block: ptD1(64), Workers: workers}, ptBuf(t, d, 4, nil))
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = res
			if len(res.Diagnostics) != 5 {
				t.Fatalf("one worker: %d diagnostics, want 5 (A, B1, B2, C, D)", len(res.Diagnostics))
			}
			continue
		}
		if !reflect.DeepEqual(res, want) {
			t.Fatalf("run %d differs:\n%+v\n%+v", i, res, want)
		}
	}
}
