package cpuemu_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// Warp collectives and CTA barriers (PTX ISA §9.7.12), each under every
// scheduler and a few Random seeds. Expected values are derived by hand.

// ptSched is one scheduler configuration.
type ptSched struct {
	s    cpuemu.Scheduler
	seed uint64
}

func (s ptSched) String() string { return fmt.Sprintf("%s/seed=%d", s.s, s.seed) }

func (s ptSched) cfg(grid, block cpuemu.Dim3) cpuemu.LaunchConfig {
	return cpuemu.LaunchConfig{Grid: grid, Block: block, Scheduler: s.s, Seed: s.seed}
}

// ptSchedules is every scheduler with seed 0, Random with four more seeds
// and Adversarial with a non-zero seed (which changes its lane order).
func ptSchedules() []ptSched {
	var out []ptSched
	for _, s := range cpuemu.Schedulers() {
		out = append(out, ptSched{s, 0})
	}
	for seed := uint64(1); seed <= 4; seed++ {
		out = append(out, ptSched{cpuemu.Random, seed})
	}
	return append(out, ptSched{cpuemu.Adversarial, 5})
}

// ptRunAll launches kernel under every schedule and hands each result to
// check. prep returns the arguments and the buffer to read back.
func ptRunAll(t *testing.T, m *cpuemu.Module, kernel string, grid, block cpuemu.Dim3, outBytes int, in []byte,
	check func(t *testing.T, out []uint32, res *cpuemu.Result)) {
	t.Helper()
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			pin := ptBuf(t, d, max(len(in), 128), in)
			pout := ptBuf(t, d, outBytes, nil)
			res, err := m.Launch(d, kernel, s.cfg(grid, block), pin, pout)
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			check(t, ptWords(ptRead(t, d, pout, outBytes)), res)
		})
	}
}

// ptWarpKernel wraps body in an entry k(in, out): %r0 = tid.x, %r1 =
// in[tid.x], %rd5 = &out[2*tid.x] (8 bytes per lane), %p1 = false.
func ptWarpKernel(body string) string {
	return ptHeader + `
.shared .align 4 .b8 wbuf[512];

.visible .entry k(
	.param .u64 k_param_0,
	.param .u64 k_param_1
)
{
	.reg .pred 	%p<10>;
	.reg .b32 	%r<32>;
	.reg .b64 	%rd<16>;

	ld.param.u64 	%rd1, [k_param_0];
	ld.param.u64 	%rd2, [k_param_1];
	cvta.to.global.u64 	%rd1, %rd1;
	cvta.to.global.u64 	%rd2, %rd2;
	mov.u32 	%r0, %tid.x;
	mul.wide.u32 	%rd3, %r0, 4;
	add.s64 	%rd4, %rd1, %rd3;
	ld.global.u32 	%r1, [%rd4];
	mul.wide.u32 	%rd6, %r0, 8;
	add.s64 	%rd5, %rd2, %rd6;
	setp.ne.u32 	%p1, %r0, %r0;
	// BODY
` + body + `
	// END
	ret;
}
`
}

func ptLaneInputs(f func(l int) uint32) []byte {
	w := make([]uint32, 32)
	for l := range w {
		w[l] = f(l)
	}
	return ptBytes(w...)
}

// TestShfl: lane l holds 100+l. For each case the expected source lane j and
// predicate come from §9.7.8.6: bval = b&31, cval = c&31,
// seg = c>>8 & 31, maxLane = (l&seg)|(cval&^seg), minLane = l&seg.
func TestShfl(t *testing.T) {
	const store = "\n\tselp.u32 %r3, 1, 0, %p1;\n\tst.global.v2.u32 [%rd5], {%r2, %r3};"
	cases := []struct {
		name string
		body string
		src  func(l int) (int, bool)
	}{
		{"down1.w32", "\tshfl.sync.down.b32 %r2|%p1, %r1, 1, 31, -1;", func(l int) (int, bool) {
			if l == 31 {
				return l, false
			}
			return l + 1, true
		}},
		{"down1.w16", "\tshfl.sync.down.b32 %r2|%p1, %r1, 1, 0x101f, -1;", func(l int) (int, bool) {
			if l%16 == 15 { // maxLane = segment end
				return l, false
			}
			return l + 1, true
		}},
		{"down33.masked", "\tshfl.sync.down.b32 %r2|%p1, %r1, 33, 31, -1;", func(l int) (int, bool) {
			if l == 31 { // b is masked to 1, not clamped
				return l, false
			}
			return l + 1, true
		}},
		{"down1.w8", "\tshfl.sync.down.b32 %r2|%p1, %r1, 1, 0x181f, -1;", func(l int) (int, bool) {
			if l%8 == 7 {
				return l, false
			}
			return l + 1, true
		}},
		{"up1.w32", "\tshfl.sync.up.b32 %r2|%p1, %r1, 1, 0, -1;", func(l int) (int, bool) {
			if l == 0 {
				return l, false
			}
			return l - 1, true
		}},
		{"up2.w16", "\tshfl.sync.up.b32 %r2|%p1, %r1, 2, 0x1000, -1;", func(l int) (int, bool) {
			if l%16 < 2 { // j = l-2 below the segment start
				return l, false
			}
			return l - 2, true
		}},
		{"up1.clamp31", "\tshfl.sync.up.b32 %r2|%p1, %r1, 1, 31, -1;", func(l int) (int, bool) {
			return l, false // maxLane = 31 and j = l-1 < 31 for every lane
		}},
		{"bfly1.w32", "\tshfl.sync.bfly.b32 %r2|%p1, %r1, 1, 31, -1;", func(l int) (int, bool) {
			return l ^ 1, true
		}},
		{"bfly3.w16", "\tshfl.sync.bfly.b32 %r2|%p1, %r1, 3, 0x101f, -1;", func(l int) (int, bool) {
			return l ^ 3, true
		}},
		{"bfly16.w16", "\tshfl.sync.bfly.b32 %r2|%p1, %r1, 16, 0x101f, -1;", func(l int) (int, bool) {
			if l < 16 { // j = l+16 > maxLane = 15
				return l, false
			}
			return l - 16, true // j = l-16 <= maxLane = 31
		}},
		{"idx5.w32", "\tshfl.sync.idx.b32 %r2|%p1, %r1, 5, 31, -1;", func(l int) (int, bool) {
			return 5, true
		}},
		{"idx37.w32", "\tshfl.sync.idx.b32 %r2|%p1, %r1, 37, 31, -1;", func(l int) (int, bool) {
			return 5, true // 37 & 31
		}},
		{"idx5.w16", "\tshfl.sync.idx.b32 %r2|%p1, %r1, 5, 0x101f, -1;", func(l int) (int, bool) {
			return l&16 | 5, true
		}},
		{"idx20.w16", "\tshfl.sync.idx.b32 %r2|%p1, %r1, 20, 0x101f, -1;", func(l int) (int, bool) {
			return l&16 | 4, true // j = minLane | (20 &^ 16)
		}},
		{"idx.reg.reverse", "\tmov.u32 %r5, 31;\n\tsub.s32 %r5, %r5, %r0;\n\tshfl.sync.idx.b32 %r2|%p1, %r1, %r5, 31, -1;", func(l int) (int, bool) {
			return 31 - l, true
		}},
		{"down1.alias", "\tshfl.sync.down.b32 %r1|%p1, %r1, 1, 31, -1;\n\tmov.u32 %r2, %r1;", func(l int) (int, bool) {
			if l == 31 { // gather before scatter: d may alias a
				return l, false
			}
			return l + 1, true
		}},
		{"bfly1.nopred", "\tshfl.sync.bfly.b32 %r2, %r1, 1, 31, -1;", func(l int) (int, bool) {
			return l ^ 1, false // %p1 keeps its initial false
		}},
	}
	in := ptLaneInputs(func(l int) uint32 { return uint32(100 + l) })
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := ptLoad(t, c.name, ptWarpKernel(c.body+store))
			ptRunAll(t, m, "k", ptD1(1), ptD1(32), 256, in, func(t *testing.T, out []uint32, res *cpuemu.Result) {
				ptNoDiag(t, res)
				for l := range 32 {
					j, ok := c.src(l)
					wp := uint32(0)
					if ok {
						wp = 1
					}
					if out[2*l] != uint32(100+j) || out[2*l+1] != wp {
						t.Errorf("lane %d: got (%d, p=%d), want (%d, p=%d)", l, out[2*l], out[2*l+1], 100+j, wp)
					}
				}
			})
		})
	}
}

// TestShflInvalidSource: lanes 0-15 shuffle down by 1 with membermask
// 0x0000ffff while lanes 16-31 skip it. Lane 15 reads lane 16, outside the
// mask: undefined (§9.7.8.6), reported as "shfl-invalid-source". Lanes 0-14
// get 100+l+1.
func TestShflInvalidSource(t *testing.T) {
	src := ptWarpKernel(`	setp.ge.u32 	%p2, %r0, 16;
	@%p2 bra 	$L_skip;
	shfl.sync.down.b32 	%r2|%p1, %r1, 1, 31, 0x0000ffff;
	selp.u32 	%r3, 1, 0, %p1;
	st.global.v2.u32 	[%rd5], {%r2, %r3};
$L_skip:`)
	line := ptLine(t, src, "shfl.sync.down")
	m := ptLoad(t, "shflbad", src)
	in := ptLaneInputs(func(l int) uint32 { return uint32(100 + l) })
	ptRunAll(t, m, "k", ptD1(1), ptD1(32), 256, in, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		for l := range 15 {
			if out[2*l] != uint32(101+l) || out[2*l+1] != 1 {
				t.Errorf("lane %d: got (%d, p=%d), want (%d, p=1)", l, out[2*l], out[2*l+1], 101+l)
			}
		}
		for l := 16; l < 32; l++ {
			if out[2*l] != 0 || out[2*l+1] != 0 {
				t.Errorf("lane %d did not skip the shfl: %d %d", l, out[2*l], out[2*l+1])
			}
		}
		d := ptDiag(t, res, "shfl-invalid-source")
		if d.Kind != "" {
			if d.Site.PTXLine != line || d.Lanes&(1<<15) == 0 {
				t.Errorf("diagnostic %s: want ptx line %d and lane 15", d, line)
			}
		}
		for _, d := range res.Diagnostics {
			if d.Kind != "shfl-invalid-source" {
				t.Errorf("unexpected diagnostic %s", d)
			}
		}
	})
}

// TestVote: %p1 = (in[l] != 0). Outputs all/any/uni/ballot of %p1, then of
// !%p1 (§9.7.12.7): !a negates each input first.
func TestVote(t *testing.T) {
	src := ptWarpKernel(`	setp.ne.u32 	%p1, %r1, 0;
	vote.sync.all.pred 	%p2, %p1, -1;
	vote.sync.any.pred 	%p3, %p1, -1;
	vote.sync.uni.pred 	%p4, %p1, -1;
	vote.sync.ballot.b32 	%r2, %p1, -1;
	vote.sync.all.pred 	%p5, !%p1, -1;
	vote.sync.any.pred 	%p6, !%p1, -1;
	vote.sync.uni.pred 	%p7, !%p1, -1;
	vote.sync.ballot.b32 	%r3, !%p1, -1;
	selp.u32 	%r4, 1, 0, %p2;
	selp.u32 	%r5, 1, 0, %p3;
	selp.u32 	%r6, 1, 0, %p4;
	selp.u32 	%r7, 1, 0, %p5;
	selp.u32 	%r8, 1, 0, %p6;
	selp.u32 	%r9, 1, 0, %p7;
	mul.wide.u32 	%rd7, %r0, 32;
	add.s64 	%rd8, %rd2, %rd7;
	st.global.v4.u32 	[%rd8], {%r4, %r5, %r6, %r2};
	st.global.v4.u32 	[%rd8+16], {%r7, %r8, %r9, %r3};`)
	m := ptLoad(t, "vote", src)
	cases := []struct {
		name string
		in   func(l int) uint32
		want [8]uint32 // all any uni ballot, then for !p
	}{
		{"all-true", func(int) uint32 { return 1 }, [8]uint32{1, 1, 1, allOnes, 0, 0, 1, 0}},
		{"lane5", func(l int) uint32 { return b2u(l == 5) }, [8]uint32{0, 1, 0, 0x20, 0, 1, 0, 0xffffffdf}},
		{"none", func(int) uint32 { return 0 }, [8]uint32{0, 0, 1, 0, 1, 1, 1, allOnes}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ptRunAll(t, m, "k", ptD1(1), ptD1(32), 32*32, ptLaneInputs(c.in), func(t *testing.T, out []uint32, res *cpuemu.Result) {
				ptNoDiag(t, res)
				for l := range 32 {
					if got := out[8*l : 8*l+8]; !slices.Equal(got, c.want[:]) {
						t.Errorf("lane %d: got %#x, want %#x", l, got, c.want)
					}
				}
			})
		})
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// TestVoteDisjointMasks: lanes 0-15 vote with mask 0x0000ffff, lanes 16-31
// with 0xffff0000, from different instructions: two independent groups.
// Inputs: true for even lanes and for every lane >= 16. Low group: ballot
// 0x5555 (non-members give 0), all = 0. High group: ballot 0xffff0000,
// all = 1.
func TestVoteDisjointMasks(t *testing.T) {
	src := ptWarpKernel(`	setp.ne.u32 	%p1, %r1, 0;
	setp.lt.u32 	%p2, %r0, 16;
	@%p2 bra 	$L_low;
	vote.sync.ballot.b32 	%r2, %p1, 0xffff0000;
	vote.sync.all.pred 	%p3, %p1, 0xffff0000;
	bra.uni 	$L_out;
$L_low:
	vote.sync.ballot.b32 	%r2, %p1, 0x0000ffff;
	vote.sync.all.pred 	%p3, %p1, 0x0000ffff;
$L_out:
	selp.u32 	%r3, 1, 0, %p3;
	st.global.v2.u32 	[%rd5], {%r2, %r3};`)
	m := ptLoad(t, "votemask", src)
	in := ptLaneInputs(func(l int) uint32 { return b2u(l%2 == 0 || l >= 16) })
	ptRunAll(t, m, "k", ptD1(1), ptD1(32), 256, in, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for l := range 32 {
			want := []uint32{0x5555, 0}
			if l >= 16 {
				want = []uint32{0xffff0000, 1}
			}
			if got := out[2*l : 2*l+2]; !slices.Equal(got, want) {
				t.Errorf("lane %d: got %#x, want %#x", l, got, want)
			}
		}
	})
}

// TestMatch (§9.7.12.8): in[l] = l%3. match.any gives the lanes with my
// value: l%3==0 -> bits 0,3,...,30 = 0x49249249; 1 -> 0x92492492;
// 2 -> 0x24924924. The values differ, so match.all gives 0 and p = 0.
// With every value 7, match.any = match.all = 0xffffffff and p = 1. The
// b64 form compares all 64 bits: (l%3)<<32 | 5 gives the same groups.
func TestMatch(t *testing.T) {
	src := ptWarpKernel(`	match.any.sync.b32 	%r2, %r1, -1;
	match.all.sync.b32 	%r3|%p2, %r1, -1;
	selp.u32 	%r4, 1, 0, %p2;
	cvt.u64.u32 	%rd7, %r1;
	shl.b64 	%rd8, %rd7, 32;
	or.b64 	%rd9, %rd8, 5;
	match.any.sync.b64 	%r5, %rd9, -1;
	mul.wide.u32 	%rd10, %r0, 16;
	add.s64 	%rd11, %rd2, %rd10;
	st.global.v4.u32 	[%rd11], {%r2, %r3, %r4, %r5};`)
	m := ptLoad(t, "match", src)
	groups := []uint32{0x49249249, 0x92492492, 0x24924924}
	t.Run("mod3", func(t *testing.T) {
		ptRunAll(t, m, "k", ptD1(1), ptD1(32), 32*16, ptLaneInputs(func(l int) uint32 { return uint32(l % 3) }),
			func(t *testing.T, out []uint32, res *cpuemu.Result) {
				ptNoDiag(t, res)
				for l := range 32 {
					want := []uint32{groups[l%3], 0, 0, groups[l%3]}
					if got := out[4*l : 4*l+4]; !slices.Equal(got, want) {
						t.Errorf("lane %d: got %#x, want %#x", l, got, want)
					}
				}
			})
	})
	t.Run("uniform", func(t *testing.T) {
		ptRunAll(t, m, "k", ptD1(1), ptD1(32), 32*16, ptLaneInputs(func(int) uint32 { return 7 }),
			func(t *testing.T, out []uint32, res *cpuemu.Result) {
				ptNoDiag(t, res)
				for l := range 32 {
					want := []uint32{allOnes, allOnes, 1, allOnes}
					if got := out[4*l : 4*l+4]; !slices.Equal(got, want) {
						t.Errorf("lane %d: got %#x, want %#x", l, got, want)
					}
				}
			})
	})
}

// TestCollectivesWithExitedLanes: lanes 16-31 write 0xdead and exit; lanes
// 0-15 then use membermask -1. Exited lanes count as arrived,
// so nothing deadlocks: bar.warp.sync orders the shared stores (lane l reads
// (l^1)+1), ballot of true = 0x0000ffff, vote.all = 1, match.all on 7 gives
// d = 0x0000ffff and p = 1, match.any on l%2 gives 0x5555 / 0xaaaa.
func TestCollectivesWithExitedLanes(t *testing.T) {
	src := ptWarpKernel(`	setp.ge.u32 	%p2, %r0, 16;
	@%p2 bra 	$L_exit;
	mov.u64 	%rd7, wbuf;
	mul.wide.u32 	%rd8, %r0, 4;
	add.s64 	%rd9, %rd7, %rd8;
	add.s32 	%r2, %r0, 1;
	st.shared.u32 	[%rd9], %r2;
	bar.warp.sync 	-1;
	xor.b32 	%r3, %r0, 1;
	mul.wide.u32 	%rd10, %r3, 4;
	add.s64 	%rd11, %rd7, %rd10;
	ld.shared.u32 	%r4, [%rd11];
	setp.eq.u32 	%p3, %r0, %r0;
	vote.sync.ballot.b32 	%r5, %p3, -1;
	vote.sync.all.pred 	%p4, %p3, -1;
	selp.u32 	%r6, 1, 0, %p4;
	mov.u32 	%r7, 7;
	match.all.sync.b32 	%r8|%p5, %r7, -1;
	selp.u32 	%r9, 1, 0, %p5;
	and.b32 	%r10, %r0, 1;
	match.any.sync.b32 	%r11, %r10, -1;
	mul.wide.u32 	%rd12, %r0, 32;
	add.s64 	%rd13, %rd2, %rd12;
	st.global.v4.u32 	[%rd13], {%r4, %r5, %r6, %r8};
	st.global.v2.u32 	[%rd13+16], {%r9, %r11};
	ret;
$L_exit:
	mul.wide.u32 	%rd12, %r0, 32;
	add.s64 	%rd13, %rd2, %rd12;
	mov.u32 	%r12, 0xdead;
	st.global.u32 	[%rd13], %r12;
	exit;`)
	m := ptLoad(t, "exited", src)
	ptRunAll(t, m, "k", ptD1(1), ptD1(32), 32*32, nil, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for l := range 32 {
			want := []uint32{0xdead, 0, 0, 0, 0, 0}
			if l < 16 {
				want = []uint32{uint32(l^1) + 1, 0xffff, 1, 0xffff, 1, 0x5555 << (l & 1)}
			}
			if got := out[8*l : 8*l+6]; !slices.Equal(got, want) {
				t.Errorf("lane %d: got %#x, want %#x", l, got, want)
			}
		}
	})
}

// TestSyncwarpMaskExcludesSelf: every lane runs bar.warp.sync 0xfffffffe,
// whose mask leaves out lane 0: undefined (§9.7.12.2), reported as
// "mask-excludes-self" naming lane 0, and execution goes on: a full
// bar.warp.sync -1 afterwards completes and every lane stores 1. That one
// UB is the only thing to report: lanes 1-31 agree with each other, so no
// other diagnostic (such as a rendezvous mismatch caused by the
// emulator's own treatment of lane 0) is expected.
func TestSyncwarpMaskExcludesSelf(t *testing.T) {
	src := ptWarpKernel(`	bar.warp.sync 	0xfffffffe;
	bar.warp.sync 	-1;
	mov.u32 	%r2, 1;
	st.global.u32 	[%rd5], %r2;`)
	line := ptLine(t, src, "0xfffffffe")
	m := ptLoad(t, "excl", src)
	ptRunAll(t, m, "k", ptD1(1), ptD1(32), 256, nil, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		for l := range 32 {
			if out[2*l] != 1 {
				t.Errorf("lane %d did not finish", l)
			}
		}
		d := ptDiag(t, res, "mask-excludes-self")
		if d.Kind != "" && (d.Site.PTXLine != line || d.Lanes != 1) {
			t.Errorf("diagnostic %s: want ptx line %d, lanes 0x1", d, line)
		}
		for _, d := range res.Diagnostics {
			if d.Kind != "mask-excludes-self" {
				t.Errorf("secondary diagnostic after the one UB: %s", d)
			}
		}
	})
}

// TestShflAcrossIfElse: even lanes run the bfly shfl in the if arm and add
// 1000, odd lanes the one in the else arm and add 2000. The two arms pair up
// (same opcode, qualifiers and mask): even l gets 100+(l+1)+1000,
// odd l gets 100+(l-1)+2000.
func TestShflAcrossIfElse(t *testing.T) {
	src := ptWarpKernel(`	and.b32 	%r5, %r0, 1;
	setp.eq.u32 	%p2, %r5, 0;
	@%p2 bra 	$L_even;
	shfl.sync.bfly.b32 	%r2|%p1, %r1, 1, 31, -1;
	add.s32 	%r2, %r2, 2000;
	bra.uni 	$L_join;
$L_even:
	shfl.sync.bfly.b32 	%r2|%p1, %r1, 1, 31, -1;
	add.s32 	%r2, %r2, 1000;
$L_join:
	selp.u32 	%r3, 1, 0, %p1;
	st.global.v2.u32 	[%rd5], {%r2, %r3};`)
	m := ptLoad(t, "ifelse", src)
	in := ptLaneInputs(func(l int) uint32 { return uint32(100 + l) })
	ptRunAll(t, m, "k", ptD1(1), ptD1(32), 256, in, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for l := range 32 {
			want := uint32(100 + (l ^ 1) + 1000)
			if l%2 == 1 {
				want = uint32(100 + (l ^ 1) + 2000)
			}
			if out[2*l] != want || out[2*l+1] != 1 {
				t.Errorf("lane %d: got (%d, p=%d), want (%d, p=1)", l, out[2*l], out[2*l+1], want)
			}
		}
	})
}

const ptBarPTX = ptHeader + `
.shared .align 4 .b8 sbuf[512];
.shared .align 4 .b8 sbuf2[128];

.visible .entry crosswarp(
	.param .u64 crosswarp_param_0
)
{
	.reg .b32 	%r<8>;
	.reg .b64 	%rd<12>;

	ld.param.u64 	%rd1, [crosswarp_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r0, %tid.x;
	mov.u64 	%rd2, sbuf;
	mul.wide.u32 	%rd3, %r0, 4;
	add.s64 	%rd4, %rd2, %rd3;
	mad.lo.s32 	%r1, %r0, 2, 1;
	st.shared.u32 	[%rd4], %r1;
	bar.sync 	0;
	add.s32 	%r2, %r0, 32;
	and.b32 	%r2, %r2, 127;
	mul.wide.u32 	%rd5, %r2, 4;
	add.s64 	%rd6, %rd2, %rd5;
	ld.shared.u32 	%r3, [%rd6];
	add.s64 	%rd7, %rd1, %rd3;
	st.global.u32 	[%rd7], %r3;
	ret;
}

.visible .entry named(
	.param .u64 named_param_0
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<8>;
	.reg .b64 	%rd<12>;

	ld.param.u64 	%rd1, [named_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r0, %tid.x;
	and.b32 	%r1, %r0, 31;
	mul.wide.u32 	%rd2, %r1, 4;
	mov.u64 	%rd3, sbuf;
	add.s64 	%rd4, %rd3, %rd2;
	mov.u64 	%rd5, sbuf2;
	add.s64 	%rd6, %rd5, %rd2;
	mul.wide.u32 	%rd7, %r0, 4;
	add.s64 	%rd8, %rd1, %rd7;
	setp.ge.u32 	%p1, %r0, 32;
	@%p1 bra 	$L_consumer;
	add.s32 	%r2, %r1, 500;
	st.shared.u32 	[%rd4], %r2;
	bar.arrive 	1, 64;
	bar.sync 	2, 64;
	ld.shared.u32 	%r3, [%rd6];
	st.global.u32 	[%rd8], %r3;
	ret;
$L_consumer:
	bar.sync 	1, 64;
	ld.shared.u32 	%r4, [%rd4];
	st.global.u32 	[%rd8], %r4;
	add.s32 	%r5, %r1, 700;
	st.shared.u32 	[%rd6], %r5;
	bar.arrive 	2, 64;
	ret;
}

.visible .entry barred(
	.param .u64 barred_param_0
)
{
	.reg .pred 	%p<8>;
	.reg .b32 	%r<12>;
	.reg .b64 	%rd<6>;

	ld.param.u64 	%rd1, [barred_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r0, %tid.x;
	rem.u32 	%r1, %r0, 3;
	setp.eq.u32 	%p1, %r1, 0;
	bar.red.popc.u32 	%r2, 0, %p1;
	bar.red.popc.u32 	%r3, 0, !%p1;
	setp.lt.u32 	%p2, %r0, 127;
	bar.red.and.pred 	%p3, 0, %p2;
	bar.red.or.pred 	%p4, 0, %p2;
	setp.lt.u32 	%p5, %r0, 128;
	bar.red.and.pred 	%p6, 0, %p5;
	selp.u32 	%r4, 1, 0, %p3;
	selp.u32 	%r5, 1, 0, %p4;
	selp.u32 	%r6, 1, 0, %p6;
	mul.wide.u32 	%rd2, %r0, 32;
	add.s64 	%rd3, %rd1, %rd2;
	st.global.v4.u32 	[%rd3], {%r2, %r3, %r4, %r5};
	st.global.u32 	[%rd3+16], %r6;
	ret;
}
`

func ptRunOut(t *testing.T, m *cpuemu.Module, kernel string, block uint32, outBytes int, check func(t *testing.T, out []uint32, res *cpuemu.Result)) {
	t.Helper()
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			p := ptBuf(t, d, outBytes, nil)
			res, err := m.Launch(d, kernel, s.cfg(ptD1(1), ptD1(block)), p)
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			check(t, ptWords(ptRead(t, d, p, outBytes)), res)
		})
	}
}

// TestBarSyncAcrossWarps: 128 threads (4 warps); thread t stores 2t+1 in
// sbuf[t], bar.sync 0, then reads another warp's slot (t+32)%128:
// 2((t+32)%128)+1.
func TestBarSyncAcrossWarps(t *testing.T) {
	m := ptLoad(t, "bars", ptBarPTX)
	ptRunOut(t, m, "crosswarp", 128, 512, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for i, v := range out {
			if want := uint32(2*((i+32)%128) + 1); v != want {
				t.Errorf("thread %d: got %d, want %d", i, v, want)
			}
		}
	})
}

// TestNamedBarriers: warp 0 fills sbuf with 500+l and bar.arrive 1, 64;
// warp 1 bar.sync 1, 64 and reads it (out[32+l] = 500+l), then fills sbuf2
// with 700+l and bar.arrive 2, 64 while warp 0 waits in bar.sync 2, 64 and
// reads it (out[l] = 700+l).
func TestNamedBarriers(t *testing.T) {
	m := ptLoad(t, "bars", ptBarPTX)
	ptRunOut(t, m, "named", 64, 256, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for i, v := range out {
			want := uint32(700 + i)
			if i >= 32 {
				want = uint32(500 + i - 32)
			}
			if v != want {
				t.Errorf("thread %d: got %d, want %d", i, v, want)
			}
		}
	})
}

// TestBarRed: 128 threads. popc of (t%3 == 0): t = 0,3,...,126 -> 43; of
// the negation 128-43 = 85; and.pred of (t < 127) = 0, or.pred = 1;
// and.pred of (t < 128) = 1. Every thread gets the same values.
func TestBarRed(t *testing.T) {
	m := ptLoad(t, "bars", ptBarPTX)
	ptRunOut(t, m, "barred", 128, 128*32, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for i := range 128 {
			want := []uint32{43, 85, 0, 1, 1}
			if got := out[8*i : 8*i+5]; !slices.Equal(got, want) {
				t.Errorf("thread %d: got %d, want %d", i, got, want)
			}
		}
	})
}

const ptDeadlockPTX = ptHeader + `
.visible .entry dl(
	.param .u64 dl_param_0
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<4>;

	mov.u32 	%r0, %tid.x;
	setp.lt.u32 	%p1, %r0, 16;
	@%p1 bra 	$L_low;
	bar.sync 	0;
	bra.uni 	$L_end;
$L_low:
	bar.warp.sync 	-1;
$L_end:
	ret;
}
`

// TestDeadlockReport: lanes 0-15 wait in bar.warp.sync -1 for lanes 16-31,
// which wait in bar.sync 0 for lanes 0-15: a *DeadlockError whose Waiters
// name both groups with their PTX lines.
func TestDeadlockReport(t *testing.T) {
	m := ptLoad(t, "dl", ptDeadlockPTX)
	warpLine := ptLine(t, ptDeadlockPTX, "bar.warp.sync")
	barLine := ptLine(t, ptDeadlockPTX, "bar.sync \t0")
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			p := ptBuf(t, d, 4, nil)
			_, err := m.Launch(d, "dl", s.cfg(ptD1(1), ptD1(32)), p)
			var dl *cpuemu.DeadlockError
			if !errors.As(err, &dl) {
				t.Fatalf("got %v, want a *DeadlockError", err)
			}
			if dl.Kernel != "dl" || dl.CTA != (cpuemu.Dim3{}) {
				t.Errorf("kernel %q CTA %v", dl.Kernel, dl.CTA)
			}
			var sawWarp, sawBar bool
			for _, w := range dl.Waiters {
				if strings.Contains(w, "bar.warp.sync") && strings.Contains(w, "0-15") && strings.Contains(w, fmt.Sprintf("ptx line %d", warpLine)) {
					sawWarp = true
				}
				if strings.Contains(w, "barrier 0") && strings.Contains(w, "16-31") && strings.Contains(w, fmt.Sprintf("ptx line %d", barLine)) {
					sawBar = true
				}
			}
			if !sawWarp || !sawBar {
				t.Errorf("waiters do not name both groups (bar.warp.sync lanes 0-15 at line %d: %v; barrier 0 lanes 16-31 at line %d: %v):\n%s",
					warpLine, sawWarp, barLine, sawBar, strings.Join(dl.Waiters, "\n"))
			}
		})
	}
}

// ptSpinPTX: lane WAITER polls a shared flag with ld.volatile.shared until
// lane SETTER stores 1 into it. Thread 0 zeroes the flag before a bar.sync.
func ptSpinPTX(waiter, setter int) string {
	return fmt.Sprintf(ptHeader+`
.shared .align 4 .u32 flag;

.visible .entry spin(
	.param .u64 spin_param_0
)
{
	.reg .pred 	%%p<6>;
	.reg .b32 	%%r<8>;
	.reg .b64 	%%rd<4>;

	ld.param.u64 	%%rd1, [spin_param_0];
	cvta.to.global.u64 	%%rd1, %%rd1;
	mov.u32 	%%r0, %%tid.x;
	setp.ne.u32 	%%p4, %%r0, 0;
	@%%p4 bra 	$L_init;
	mov.u32 	%%r1, 0;
	st.shared.u32 	[flag], %%r1;
$L_init:
	bar.sync 	0;
	setp.eq.u32 	%%p1, %%r0, %d;
	@%%p1 bra 	$L_wait;
	setp.ne.u32 	%%p2, %%r0, %d;
	@%%p2 bra 	$L_done;
	mov.u32 	%%r2, 1;
	st.volatile.shared.u32 	[flag], %%r2;
	bra.uni 	$L_done;
$L_wait:
	ld.volatile.shared.u32 	%%r3, [flag];
	setp.eq.u32 	%%p3, %%r3, 0;
	@%%p3 bra 	$L_wait;
	st.global.u32 	[%%rd1], %%r3;
$L_done:
	ret;
}
`, waiter, setter)
}

// TestSpinWaitTerminates: the waiter must see the flag. The adversarial
// scheduler starts from lane 31, so with lane 31 waiting it must switch
// lanes when the polled address is unchanged, not after
// AdversarialBound, which is set out of reach; MaxInstructions turns a
// livelock into a *LimitError quickly.
func TestSpinWaitTerminates(t *testing.T) {
	for _, pair := range [][2]int{{0, 31}, {31, 0}} {
		m := ptLoad(t, "spin", ptSpinPTX(pair[0], pair[1]))
		for _, s := range ptSchedules() {
			t.Run(fmt.Sprintf("wait%d-set%d/%s", pair[0], pair[1], s), func(t *testing.T) {
				d := cpuemu.NewDevice()
				p := ptBuf(t, d, 4, nil)
				cfg := s.cfg(ptD1(1), ptD1(32))
				cfg.MaxInstructions = 200000
				cfg.AdversarialBound = 1 << 30
				_, err := m.Launch(d, "spin", cfg, p)
				if err != nil {
					t.Fatalf("%v", err)
				}
				if got := ptWords(ptRead(t, d, p, 4))[0]; got != 1 {
					t.Errorf("waiter stored %d, want 1", got)
				}
			})
		}
	}
}

// TestSyncwarpMaskExcludesSelfKeepsRunning: after lane 0 executes
// bar.warp.sync 0xfffffffe (excluded from its own mask: reported UB),
// execution must go on for lane 0 too: lanes 1-31 spin until lane 0 sets
// a shared flag after the barrier. If lane 0 were held in the barrier until
// the other lanes exit, the spin would never end (a *LimitError here).
func TestSyncwarpMaskExcludesSelfKeepsRunning(t *testing.T) {
	src := ptWarpKernel(`	setp.ne.u32 	%p2, %r0, 0;
	@%p2 bra 	$L_zeroed;
	mov.u32 	%r2, 0;
	st.shared.u32 	[wbuf], %r2;
$L_zeroed:
	bar.warp.sync 	-1;
	bar.warp.sync 	0xfffffffe;
	@%p2 bra 	$L_spin;
	mov.u32 	%r3, 1;
	st.volatile.shared.u32 	[wbuf], %r3;
	bra.uni 	$L_done;
$L_spin:
	ld.volatile.shared.u32 	%r4, [wbuf];
	setp.eq.u32 	%p3, %r4, 0;
	@%p3 bra 	$L_spin;
$L_done:
	mov.u32 	%r5, 1;
	st.global.u32 	[%rd5], %r5;`)
	m := ptLoad(t, "exclspin", src)
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			pin := ptBuf(t, d, 128, nil)
			pout := ptBuf(t, d, 256, nil)
			cfg := s.cfg(ptD1(1), ptD1(32))
			cfg.MaxInstructions = 200000
			res, err := m.Launch(d, "k", cfg, pin, pout)
			if err != nil {
				t.Fatalf("%v", err)
			}
			ptDiag(t, res, "mask-excludes-self")
			out := ptWords(ptRead(t, d, pout, 256))
			for l := range 32 {
				if out[2*l] != 1 {
					t.Errorf("lane %d did not finish", l)
				}
			}
		})
	}
}

const ptBarMorePTX = ptHeader + `
.shared .align 4 .b8 xbuf[512];

.visible .entry exitwarp(
	.param .u64 exitwarp_param_0
)
{
	.reg .pred 	%p<4>;
	.reg .b32 	%r<12>;
	.reg .b64 	%rd<12>;

	ld.param.u64 	%rd1, [exitwarp_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r0, %tid.x;
	shr.u32 	%r1, %r0, 5;
	setp.eq.u32 	%p1, %r1, 1;
	@%p1 exit;
	mov.u64 	%rd2, xbuf;
	mul.wide.u32 	%rd3, %r0, 4;
	add.s64 	%rd4, %rd2, %rd3;
	mad.lo.s32 	%r2, %r0, 2, 1;
	st.shared.u32 	[%rd4], %r2;
	bar.sync 	0;
	and.b32 	%r3, %r0, 31;
	mul.wide.u32 	%rd5, %r3, 4;
	add.s64 	%rd6, %rd2, %rd5;
	ld.shared.u32 	%r4, [%rd6];
	ld.shared.u32 	%r5, [%rd6+256];
	mul.wide.u32 	%rd7, %r0, 8;
	add.s64 	%rd8, %rd1, %rd7;
	st.global.v2.u32 	[%rd8], {%r4, %r5};
	ret;
}

.visible .entry unreachable(
	.param .u64 unreachable_param_0
)
{
	bar.sync 	1, 96; // UNREACHABLE
	ret;
}

.visible .entry partial(
	.param .u64 partial_param_0
)
{
	.reg .pred 	%p<4>;
	.reg .b32 	%r<12>;
	.reg .b64 	%rd<8>;

	ld.param.u64 	%rd1, [partial_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r0, %tid.x;
	setp.eq.u32 	%p1, %r0, %r0;
	vote.sync.ballot.b32 	%r1, %p1, -1;
	vote.sync.all.pred 	%p2, %p1, -1;
	selp.u32 	%r2, 1, 0, %p2;
	bar.warp.sync 	-1;
	shfl.sync.bfly.b32 	%r3|%p3, %r0, 1, 31, -1;
	selp.u32 	%r4, 1, 0, %p3;
	mul.wide.u32 	%rd2, %r0, 16;
	add.s64 	%rd3, %rd1, %rd2;
	st.global.v4.u32 	[%rd3], {%r1, %r2, %r3, %r4};
	ret;
}

.visible .entry loops(
	.param .u64 loops_param_0
)
{
	.reg .pred 	%p<4>;
	.reg .b32 	%r<12>;
	.reg .b64 	%rd<8>;

	ld.param.u64 	%rd1, [loops_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r0, %tid.x;
	mov.u32 	%r1, 0;
	mov.u32 	%r2, 0;
$L_loop:
	add.s32 	%r2, %r2, %r1;
	add.s32 	%r1, %r1, 1;
	setp.le.u32 	%p1, %r1, %r0;
	@%p1 bra 	$L_loop;
	and.b32 	%r3, %r0, 3;
	setp.eq.u32 	%p2, %r3, 0;
	@%p2 bra 	$L_skip;
	add.s32 	%r2, %r2, 1000;
$L_skip:
	bar.warp.sync 	-1;
	shfl.sync.idx.b32 	%r4, %r2, 0, 31, -1;
	mul.wide.u32 	%rd2, %r0, 8;
	add.s64 	%rd3, %rd1, %rd2;
	st.global.v2.u32 	[%rd3], {%r2, %r4};
	ret;
}
`

// TestBarSyncWithExitedWarp: warp 1 of 4 exits at once; exited threads
// release the barrier (§9.7.12.1), so bar.sync 0 completes for
// warps 0, 2 and 3. Each thread t then reads the slots of warp 0 and warp 2
// at lane t&31: 2(t&31)+1 and 2((t&31)+64)+1.
func TestBarSyncWithExitedWarp(t *testing.T) {
	m := ptLoad(t, "barmore", ptBarMorePTX)
	ptRunOut(t, m, "exitwarp", 128, 128*8, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for i := range 128 {
			want := []uint32{uint32(2*(i&31) + 1), uint32(2*((i&31)+64) + 1)}
			if i/32 == 1 {
				want = []uint32{0, 0}
			}
			if got := out[2*i : 2*i+2]; !slices.Equal(got, want) {
				t.Errorf("thread %d: got %d, want %d", i, got, want)
			}
		}
	})
}

// TestNamedBarrierUnreachableCount: bar.sync 1, 96 in a 64-thread block can
// never complete: a *DeadlockError, not a hang.
func TestNamedBarrierUnreachableCount(t *testing.T) {
	m := ptLoad(t, "barmore", ptBarMorePTX)
	line := ptLine(t, ptBarMorePTX, "// UNREACHABLE")
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			p := ptBuf(t, d, 4, nil)
			_, err := m.Launch(d, "unreachable", s.cfg(ptD1(1), ptD1(64)), p)
			var dl *cpuemu.DeadlockError
			if !errors.As(err, &dl) {
				t.Fatalf("got %v, want a *DeadlockError", err)
			}
			if !strings.Contains(dl.Error(), fmt.Sprintf("ptx line %d", line)) || !strings.Contains(dl.Error(), "barrier 1") {
				t.Errorf("report does not name barrier 1 at line %d:\n%v", line, dl)
			}
		})
	}
}

// TestPartialWarp: a 48-thread block; warp 1 has lanes 0-15 only. Missing
// lanes count as arrived: membermask -1 works. Ballot of true:
// warp 0 0xffffffff, warp 1 0x0000ffff; vote.all = 1; bfly 1 swaps
// neighbours (all sources exist): t^1, p = 1.
func TestPartialWarp(t *testing.T) {
	m := ptLoad(t, "barmore", ptBarMorePTX)
	ptRunOut(t, m, "partial", 48, 48*16, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for i := range 48 {
			want := []uint32{allOnes, 1, uint32(i ^ 1), 1}
			if i >= 32 {
				want[0] = 0xffff
			}
			if got := out[4*i : 4*i+4]; !slices.Equal(got, want) {
				t.Errorf("thread %d: got %#x, want %#x", i, got, want)
			}
		}
	})
}

// TestNestedDivergence: lanes split on bit 0, then on bit 1 inside each
// arm, then on bit 4 after the inner join; each path adds its own
// constant: v = 1 (bit0=0) or 2, then +10 (bit1=0) or +20, then +100 for
// lanes >= 16. After the joins the warp is whole again: ballot(v > 100) =
// 0xffff0000 and lane 31's value is broadcast (2+20+100 = 122).
func TestNestedDivergence(t *testing.T) {
	src := ptWarpKernel(`	mov.u32 	%r2, 0;
	and.b32 	%r3, %r0, 1;
	setp.eq.u32 	%p2, %r3, 0;
	and.b32 	%r4, %r0, 2;
	setp.eq.u32 	%p3, %r4, 0;
	@%p2 bra 	$L_even;
	add.s32 	%r2, %r2, 2;
	@%p3 bra 	$L_odd_b0;
	add.s32 	%r2, %r2, 20;
	bra.uni 	$L_join;
$L_odd_b0:
	add.s32 	%r2, %r2, 10;
	bra.uni 	$L_join;
$L_even:
	add.s32 	%r2, %r2, 1;
	@!%p3 bra 	$L_even_b1;
	add.s32 	%r2, %r2, 10;
	bra.uni 	$L_join;
$L_even_b1:
	add.s32 	%r2, %r2, 20;
$L_join:
	setp.lt.u32 	%p4, %r0, 16;
	@%p4 bra 	$L_low;
	add.s32 	%r2, %r2, 100;
$L_low:
	setp.gt.u32 	%p5, %r2, 100;
	vote.sync.ballot.b32 	%r5, %p5, -1;
	shfl.sync.idx.b32 	%r6, %r2, 31, 31, -1;
	mul.wide.u32 	%rd7, %r0, 12;
	add.s64 	%rd8, %rd2, %rd7;
	st.global.u32 	[%rd8], %r2;
	st.global.u32 	[%rd8+4], %r5;
	st.global.u32 	[%rd8+8], %r6;`)
	m := ptLoad(t, "nested", src)
	ptRunAll(t, m, "k", ptD1(1), ptD1(32), 32*12, nil, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for l := range 32 {
			v := uint32(1)
			if l&1 != 0 {
				v = 2
			}
			if l&2 == 0 {
				v += 10
			} else {
				v += 20
			}
			if l >= 16 {
				v += 100
			}
			want := []uint32{v, 0xffff0000, 122}
			if got := out[3*l : 3*l+3]; !slices.Equal(got, want) {
				t.Errorf("lane %d: got %d, want %d", l, got, want)
			}
		}
	})
}

// TestDivergentLoop: lane t loops t+1 times summing 0..t = t(t+1)/2, lanes
// with t%4 != 0 add 1000; they reconverge at bar.warp.sync and lane 0's
// sum (0) is broadcast with shfl.idx.
func TestDivergentLoop(t *testing.T) {
	m := ptLoad(t, "barmore", ptBarMorePTX)
	ptRunOut(t, m, "loops", 32, 32*8, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for i := range 32 {
			want := uint32(i * (i + 1) / 2)
			if i%4 != 0 {
				want += 1000
			}
			if out[2*i] != want || out[2*i+1] != 0 {
				t.Errorf("lane %d: got (%d, %d), want (%d, 0)", i, out[2*i], out[2*i+1], want)
			}
		}
	})
}

// TestDeadlockNamesTheBlock: only block 1 of 3 splits its warp between
// bar.warp.sync -1 and bar.sync 0; the report names block (1,0,0).
func TestDeadlockNamesTheBlock(t *testing.T) {
	src := ptHeader + `
.visible .entry dl2(
	.param .u64 dl2_param_0
)
{
	.reg .pred 	%p<3>;
	.reg .b32 	%r<4>;

	mov.u32 	%r0, %tid.x;
	mov.u32 	%r1, %ctaid.x;
	setp.lt.u32 	%p1, %r0, 16;
	setp.eq.u32 	%p2, %r1, 1;
	and.pred 	%p1, %p1, %p2;
	@%p1 bra 	$L_low;
	bar.sync 	0;
	bra.uni 	$L_end;
$L_low:
	bar.warp.sync 	-1;
$L_end:
	ret;
}
`
	m := ptLoad(t, "dl2", src)
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			p := ptBuf(t, d, 4, nil)
			_, err := m.Launch(d, "dl2", s.cfg(ptD1(3), ptD1(32)), p)
			var dl *cpuemu.DeadlockError
			if !errors.As(err, &dl) {
				t.Fatalf("got %v, want a *DeadlockError", err)
			}
			if dl.CTA != (cpuemu.Dim3{X: 1}) {
				t.Errorf("deadlock reported in block %v, want (1,0,0)", dl.CTA)
			}
		})
	}
}

// TestVoteAcrossIfElse: even lanes vote true in the if arm, odd lanes vote
// false in the else arm, same qualifiers and mask: one rendezvous,
// so every lane gets ballot 0x55555555 and any = 1, all = 0.
func TestVoteAcrossIfElse(t *testing.T) {
	src := ptWarpKernel(`	and.b32 	%r5, %r0, 1;
	setp.eq.u32 	%p2, %r5, 0;
	@%p2 bra 	$L_even;
	setp.ne.u32 	%p3, %r0, %r0;
	vote.sync.ballot.b32 	%r2, %p3, -1;
	vote.sync.any.pred 	%p4, %p3, -1;
	vote.sync.all.pred 	%p5, %p3, -1;
	bra.uni 	$L_join;
$L_even:
	setp.eq.u32 	%p3, %r0, %r0;
	vote.sync.ballot.b32 	%r2, %p3, -1;
	vote.sync.any.pred 	%p4, %p3, -1;
	vote.sync.all.pred 	%p5, %p3, -1;
$L_join:
	selp.u32 	%r3, 1, 0, %p4;
	selp.u32 	%r4, 1, 0, %p5;
	mul.wide.u32 	%rd7, %r0, 12;
	add.s64 	%rd8, %rd2, %rd7;
	st.global.u32 	[%rd8], %r2;
	st.global.u32 	[%rd8+4], %r3;
	st.global.u32 	[%rd8+8], %r4;`)
	m := ptLoad(t, "voteifelse", src)
	ptRunAll(t, m, "k", ptD1(1), ptD1(32), 32*12, nil, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for l := range 32 {
			if got, want := out[3*l:3*l+3], []uint32{0x55555555, 1, 0}; !slices.Equal(got, want) {
				t.Errorf("lane %d: got %#x, want %#x", l, got, want)
			}
		}
	})
}

// TestVoteNegatedAcrossIfElse: odd lanes vote on !p (p false, so true),
// even lanes on p (true): a negated operand is not a qualifier, so the two
// arms form one rendezvous and every lane sees all = 1, ballot = 0xffffffff.
func TestVoteNegatedAcrossIfElse(t *testing.T) {
	src := ptWarpKernel(`	and.b32 	%r5, %r0, 1;
	setp.eq.u32 	%p2, %r5, 0;
	@%p2 bra 	$L_even;
	setp.ne.u32 	%p3, %r0, %r0;
	vote.sync.ballot.b32 	%r2, !%p3, -1;
	vote.sync.all.pred 	%p5, !%p3, -1;
	bra.uni 	$L_join;
$L_even:
	setp.eq.u32 	%p3, %r0, %r0;
	vote.sync.ballot.b32 	%r2, %p3, -1;
	vote.sync.all.pred 	%p5, %p3, -1;
$L_join:
	selp.u32 	%r4, 1, 0, %p5;
	mul.wide.u32 	%rd7, %r0, 8;
	add.s64 	%rd8, %rd2, %rd7;
	st.global.u32 	[%rd8], %r2;
	st.global.u32 	[%rd8+4], %r4;`)
	m := ptLoad(t, "votenegifelse", src)
	ptRunAll(t, m, "k", ptD1(1), ptD1(32), 32*8, nil, func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for l := range 32 {
			if got, want := out[2*l:2*l+2], []uint32{0xffffffff, 1}; !slices.Equal(got, want) {
				t.Errorf("lane %d: got %#x, want %#x", l, got, want)
			}
		}
	})
}

// TestRandomSchedulerReproducible: Random is reproducible from Seed (api.go):
// two launches with the same seed return the olds of atom.exch in the same
// lanes and the same instruction counts.
func TestRandomSchedulerReproducible(t *testing.T) {
	m := ptLoad(t, "atoms", ptAtomPTX)
	run := func(seed uint64) ([]uint32, *cpuemu.Result) {
		d := cpuemu.NewDevice()
		cnt := make([]uint32, 17)
		cnt[9] = allOnes
		pc := ptBuf(t, d, 68, ptBytes(cnt...))
		po := ptBuf(t, d, 3*256, nil)
		res, err := m.Launch(d, "atoms", ptSched{cpuemu.Random, seed}.cfg(ptD1(2), ptD1(32)), pc, po)
		if err != nil {
			t.Fatal(err)
		}
		return ptWords(ptRead(t, d, po, 3*256)), res
	}
	for seed := uint64(1); seed <= 3; seed++ {
		a, ra := run(seed)
		b, rb := run(seed)
		if !slices.Equal(a, b) || ra.LaneInstructions != rb.LaneInstructions || ra.WarpInstructions != rb.WarpInstructions {
			t.Errorf("seed %d: two runs differ (lane instructions %d/%d, warp instructions %d/%d)", seed,
				ra.LaneInstructions, rb.LaneInstructions, ra.WarpInstructions, rb.WarpInstructions)
		}
	}
}
