package cpuemu_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// mbarrier and cp.async (PTX ISA "mbarrier" and "cp.async"); every
// expected value is derived by hand from the ISA's rules quoted in
// mbarrier.go and async.go.

const sm90Header = ".version 8.0\n.target sm_90\n.address_size 64\n"

// TestMbarrierPhases walks one mbarrier through its phases in one thread.
func TestMbarrierPhases(t *testing.T) {
	src := sm90Header + `
.shared .align 8 .b64 bar;
.visible .entry k(.param .u64 out)
{
	.reg .pred %p<12>;
	.reg .b32 %r<24>;
	.reg .b64 %rd<12>;
	ld.param.u64 %rd1, [out];
	cvta.to.global.u64 %rd1, %rd1;
	mbarrier.init.shared.b64 [bar], 2;            // phase 0: expected 2, pending 2, tx 0
	mbarrier.arrive.noComplete.shared.b64 %rd2, [bar], 1;
	mbarrier.pending_count.b64 %r1, %rd2;         // pending before that arrive: 2
	mbarrier.test_wait.shared.b64 %p1, [bar], %rd2; // phase 0 incomplete: false
	selp.u32 %r2, 1, 0, %p1;
	mbarrier.arrive.shared.b64 %rd3, [bar];       // pending 0, tx 0: phase 0 completes
	mbarrier.test_wait.shared.b64 %p2, [bar], %rd2; // the preceding phase: true
	selp.u32 %r3, 1, 0, %p2;
	mbarrier.test_wait.parity.shared.b64 %p3, [bar], 0; // parity 0 names phase 0, done: true
	selp.u32 %r4, 1, 0, %p3;
	mbarrier.test_wait.parity.shared.b64 %p4, [bar], 1; // phase 1 is current: false
	selp.u32 %r5, 1, 0, %p4;
	mbarrier.expect_tx.relaxed.cta.shared::cta.b64 [bar], 64; // phase 1: tx 64
	mbarrier.arrive.shared.b64 %rd4, [bar], 2;    // pending 0 but tx 64: not complete
	mbarrier.try_wait.parity.shared.b64 %p5, [bar], 1, 1000;
	selp.u32 %r6, 1, 0, %p5;                      // false
	mbarrier.complete_tx.relaxed.cta.shared::cta.b64 [bar], 64; // tx 0: phase 1 completes
	mbarrier.try_wait.parity.shared.b64 %p6, [bar], 1;
	selp.u32 %r7, 1, 0, %p6;                      // true
	mbarrier.arrive_drop.noComplete.shared.b64 %rd5, [bar], 1; // phase 2: expected 1, pending 1
	mbarrier.pending_count.b64 %r8, %rd5;         // 2 before the arrive
	mbarrier.arrive.expect_tx.shared.b64 %rd6, [bar], 16; // tx 16, pending 0: not complete
	mbarrier.complete_tx.shared::cluster.b64 [bar], 16;   // phase 2 completes
	mbarrier.test_wait.parity.shared.b64 %p7, [bar], 0;   // phase 2 done, parity 0: true
	selp.u32 %r9, 1, 0, %p7;
	mbarrier.arrive.shared.b64 %rd7, [bar];       // phase 3: expected is now 1, so it completes
	mbarrier.test_wait.shared.b64 %p8, [bar], %rd7;
	selp.u32 %r10, 1, 0, %p8;                     // true
	st.global.v4.u32 [%rd1], {%r1, %r2, %r3, %r4};
	st.global.v4.u32 [%rd1+16], {%r5, %r6, %r7, %r8};
	st.global.v2.u32 [%rd1+32], {%r9, %r10};
	ret;
}
`
	m := ptLoad(t, "phases", src)
	want := []uint32{2, 0, 1, 1, 0, 0, 1, 2, 1, 1}
	for _, s := range ptSchedules() {
		d := cpuemu.NewDevice()
		out := ptBuf(t, d, 40, nil)
		cfg := s.cfg(ptD1(1), ptD1(1))
		cfg.Check = true
		res, err := m.Launch(d, "k", cfg, out)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got := ptWords(ptRead(t, d, out, 40)); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", s, got, want)
		}
		if !res.Report.Clean() {
			t.Errorf("%s: %v", s, res.Report)
		}
	}
}

// mbarKernel is a block kernel k(in, out) around body: %r0 = tid.x,
// %rd1 = in, %rd2 = out (global), bar a shared mbarrier, buf 512 shared
// bytes.
func mbarKernel(header, body string) string {
	return header + `
.shared .align 8 .b64 bar;
.shared .align 16 .b8 buf[512];
.visible .entry k(.param .u64 in, .param .u64 out)
{
	.reg .pred %p<12>;
	.reg .b32 %r<32>;
	.reg .b64 %rd<16>;
	ld.param.u64 %rd1, [in];
	ld.param.u64 %rd2, [out];
	cvta.to.global.u64 %rd1, %rd1;
	cvta.to.global.u64 %rd2, %rd2;
	mov.u32 %r0, %tid.x;
	mul.wide.u32 %rd3, %r0, 4;
	add.s64 %rd4, %rd1, %rd3;    // &in[t]
	add.s64 %rd5, %rd2, %rd3;    // &out[t]
	mov.u32 %r1, buf;
	shl.b32 %r2, %r0, 2;
	add.s32 %r3, %r1, %r2;       // &buf[t]
` + body + `
	ret;
}
`
}

// TestMbarrierDeadlock: 32 threads arrive on a barrier expecting 64, then
// spin as libcu++ does (test_wait, nanosleep): the launch ends in a
// DeadlockError naming the barrier, the phase and the counts, under
// every scheduler, not in the instruction limit.
func TestMbarrierDeadlock(t *testing.T) {
	m := ptLoad(t, "dl", mbarKernel(ptHeader80, `
	setp.ne.u32 %p1, %r0, 0;
	@%p1 bra SKIP;
	mbarrier.init.shared.b64 [bar], 64;
SKIP:
	bar.sync 0;
	mbarrier.arrive.shared.b64 %rd6, [bar];
WAIT:
	mbarrier.test_wait.shared.b64 %p2, [bar], %rd6;
	@%p2 bra DONE;
	nanosleep.u32 20;
	bra.uni WAIT;
DONE:
	st.global.u32 [%rd5], %r0;
`))
	for _, s := range ptSchedules() {
		d := cpuemu.NewDevice()
		in, out := ptBuf(t, d, 128, nil), ptBuf(t, d, 128, nil)
		_, err := m.Launch(d, "k", s.cfg(ptD1(1), ptD1(32)), in, out)
		var de *cpuemu.DeadlockError
		if !errors.As(err, &de) {
			t.Fatalf("%s: got %v, want a DeadlockError", s, err)
		}
		msg := err.Error()
		for _, w := range []string{"lanes 0-31 poll the mbarrier at shared offset 0x0", "phase 0 (parity 0)", "32 of 64 arrivals came, tx-count 0"} {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q lacks %q", s, msg, w)
			}
		}
	}
}

const ptHeader80 = ".version 7.8\n.target sm_80\n.address_size 64\n"

// TestCpAsyncGroups: each thread copies in[t] into buf[t] with cp.async,
// waits for its group and writes buf[t] to out[t]; the 16-byte copy with
// src-size 4 zero-fills the other 12 bytes ("remaining bytes in
// destination dst are filled with zeros").
func TestCpAsyncGroups(t *testing.T) {
	m := ptLoad(t, "groups", mbarKernel(ptHeader80, `
	cp.async.ca.shared.global [%r3], [%rd4], 4;
	cp.async.commit_group;
	cp.async.wait_group 0;
	ld.shared.u32 %r4, [%r3];
	setp.ne.u32 %p1, %r0, 0;
	@%p1 bra STORE;
	cp.async.cg.shared.global.L2::128B [buf+256], [%rd1+16], 16, 4;
	cp.async.wait_all;
	ld.shared.v4.u32 {%r5, %r6, %r7, %r8}, [buf+256];
	add.u32 %r4, %r5, %r6;
	add.u32 %r4, %r4, %r7;
	add.u32 %r4, %r4, %r8;       // in[4] + 0 + 0 + 0
STORE:
	st.global.u32 [%rd5], %r4;
`))
	in := make([]uint32, 32)
	for i := range in {
		in[i] = uint32(100 + i)
	}
	for _, s := range ptSchedules() {
		d := cpuemu.NewDevice()
		pin, pout := ptBuf(t, d, 128, ptBytes(in...)), ptBuf(t, d, 128, nil)
		cfg := s.cfg(ptD1(1), ptD1(32))
		cfg.Check = true
		res, err := m.Launch(d, "k", cfg, pin, pout)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		got := ptWords(ptRead(t, d, pout, 128))
		want := append([]uint32{104}, in[1:]...)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", s, got, want)
		}
		if !res.Report.Clean() {
			t.Errorf("%s: %v", s, res.Report)
		}
	}
}

// TestCpAsyncEarlyRead: reading the destination before the wait is a
// hazard with the copy (naming both lines) under the checker, and under
// the adversarial scheduler, which keeps copies in flight, it reads the
// stale fill.
func TestCpAsyncEarlyRead(t *testing.T) {
	m := ptLoad(t, "early", mbarKernel(ptHeader80, `
	cp.async.ca.shared.global [%r3], [%rd4], 4;
	ld.shared.u32 %r4, [%r3];
	cp.async.wait_all;
	st.global.u32 [%rd5], %r4;
`))
	d := cpuemu.NewDevice()
	pin, pout := ptBuf(t, d, 128, ptBytes(7)), ptBuf(t, d, 128, nil)
	cfg := cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1), Scheduler: cpuemu.Adversarial, Check: true}
	res, err := m.Launch(d, "k", cfg, pin, pout)
	if err == nil {
		t.Fatalf("no finding: %v", res.Report)
	}
	if got := ptWords(ptRead(t, d, pout, 4))[0]; got != 0xcdcdcdcd {
		t.Errorf("early read got %#x, want the stale fill 0xcdcdcdcd", got)
	}
	hs := res.Report.Hazards
	if len(hs) != 1 || hs[0].Type != "RAW" || hs[0].Prior.Site.PTXLine != 24 || hs[0].Later.Site.PTXLine != 25 {
		t.Errorf("hazards %+v, want one RAW from the cp.async (line 24) to the ld (line 25)", hs)
	}
}

// TestNvccAsync runs what nvcc 11.8 makes of cuda_pipeline.h,
// cuda::pipeline and cuda::barrier (testdata/async) under every schedule
// with the checker: right results, clean reports.
func TestNvccAsync(t *testing.T) {
	cases := []struct {
		file, kernel string
		block        uint32
		inWords      int
		want         func(in []uint32) []uint32
	}{
		{"pipeline_copy", "pipe_copy", 64, 4 * 128, func(in []uint32) []uint32 {
			out := make([]uint32, 4*64)
			for i := range out {
				out[i] = in[i] + in[4*64+i]
			}
			return out
		}},
		{"cuda_pipeline", "pl_copy", 128, 256, func(in []uint32) []uint32 {
			out := make([]uint32, 128)
			for i := range out {
				out[i] = in[i] + in[128+i]
			}
			return out
		}},
		{"barrier_copy", "bar_copy", 128, 128, func(in []uint32) []uint32 {
			out := make([]uint32, 128)
			for i := range out {
				out[i] = in[(i+1)%128]
			}
			return out
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			src, err := os.ReadFile("testdata/async/" + tc.file + ".ptx")
			if err != nil {
				t.Fatal(err)
			}
			m := ptLoad(t, tc.file, string(src))
			in := make([]uint32, tc.inWords)
			for i := range in {
				in[i] = uint32(i*7 + 3)
			}
			want := tc.want(in)
			for _, s := range ptSchedules() {
				d := cpuemu.NewDevice()
				pin, pout := ptBuf(t, d, 4*len(in), ptBytes(in...)), ptBuf(t, d, 4*len(want), nil)
				args := []any{pin, pout}
				if tc.kernel != "bar_copy" {
					args = append(args, int32(0))
				}
				cfg := s.cfg(ptD1(1), ptD1(tc.block))
				cfg.Check = true
				res, err := m.Launch(d, tc.kernel, cfg, args...)
				if err != nil {
					t.Fatalf("%s: %v", s, err)
				}
				if got := ptWords(ptRead(t, d, pout, 4*len(want))); !slices.Equal(got, want) {
					t.Errorf("%s: got %v, want %v", s, got[:8], want[:8])
				}
				if !res.Report.Clean() {
					t.Errorf("%s: %v", s, res.Report)
				}
			}
		})
	}
}
