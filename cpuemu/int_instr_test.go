package cpuemu_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// The integer instructions real kernels use beyond the basic ones, run as
// PTX: mul24.hi and mad24.hi, extended-precision mad (mad.cc, madc), dp4a
// and dp2a, bmsk and szext, and vote and shfl without .sync in PTX older
// than ISA 6.4. Expected values are worked out by hand from the ISA.
var extIntTests = []aluTest{
	{name: "mul24.hi.u32", body: "\tmul24.hi.u32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 0xffffff, b: 0xffffff, r10: 0xfffffe00}, // (2^24-1)^2 = 0xfffffe000001
		{a: 0xff000002, b: 0x01800000, r10: 256},    // only the low 24 bits count
	}},
	{name: "mul24.hi.s32", body: "\tmul24.hi.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 0x800000, b: 0x800000, r10: 0x40000000}, // (-2^23)^2 >> 16
		{a: 0x800000, b: 0x7fffff, r10: 0xc0000080}, // -(2^46 - 2^23) >> 16
	}},
	{name: "mul24.lo.s32", body: "\tmul24.lo.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 0xffffff, b: 3, r10: 0xfffffffd}, // -1 * 3
	}},
	{name: "mad24.hi.u32", body: "\tmad24.hi.u32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0xffffff, b: 0xffffff, c: 0x1ff, r10: 0xffffffff}, // 0xfffffe00 + 0x1ff
		{a: 0xffffff, b: 0xffffff, c: 0x200, r10: 0},          // 0xfffffe00 + 0x200 wraps
	}},
	{name: "mad24.hi.sat.s32", body: "\tmad24.hi.sat.s32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x800000, b: 0x800000, c: 0x7fffffff, r10: 0x7fffffff}, // 2^30 + (2^31-1) clamps
		{a: 0x800000, b: 0x7fffff, c: 0x80000000, r10: 0x80000000}, // -(2^30-2^7) - 2^31 clamps
		{a: 0x800000, b: 0x800000, c: 5, r10: 0x40000005},
	}},
	// mad.lo.cc then madc.hi: the 64-bit a*b + c of 32-bit operands.
	{name: "mad.lo.cc+madc.hi", body: "\tmad.lo.cc.u32 %r10, %r1, %r2, %r3;\n\tmadc.hi.u32 %r11, %r1, %r2, 0;", cases: []aluCase{
		// 0xfffffffe00000001 + 0xffffffff = 0xffffffff00000000
		{a: 0xffffffff, b: 0xffffffff, c: 0xffffffff, r10: 0, r11: 0xffffffff},
		{a: 0x10000, b: 0x10000, c: 7, r10: 7, r11: 1},
		{a: 3, b: 5, c: 0xfffffff2, r10: 1, r11: 1}, // 15 + 2^32 - 14
	}},
	// madc takes the carry in and .cc gives it out: add.cc sets CF from
	// c + c, madc.lo.cc adds it to lo(a*b) + d, addc reads the new CF.
	{name: "madc.lo.cc", body: "\tadd.cc.u32 %r5, %r3, %r3;\n\tmadc.lo.cc.u32 %r10, %r1, %r2, %r4;\n\taddc.u32 %r11, 0, 0;", cases: []aluCase{
		{a: 2, b: 3, c: 0x80000000, d: 0xfffffffa, r10: 1, r11: 1}, // 6 + (2^32-6) + 1
		{a: 2, b: 3, c: 1, d: 0xfffffffa, r10: 0, r11: 1},          // 6 + (2^32-6) + 0
		{a: 2, b: 3, c: 0x80000000, d: 5, r10: 12, r11: 0},         // 6 + 5 + 1
	}},
	{name: "mad.hi.cc.s32", body: "\tmad.hi.cc.s32 %r10, %r1, %r2, %r3;\n\taddc.u32 %r11, 0, 0;", cases: []aluCase{
		{a: 0xffffffff, b: 1, c: 1, r10: 0, r11: 1}, // hi(-1) = -1; -1 + 1 carries out
		{a: 0x40000000, b: 4, c: 2, r10: 3, r11: 0}, // hi(2^32) = 1
	}},
	{name: "mad.lo.cc.u64", body: "\tmad.lo.cc.u64 %rd13, %rd10, %rd11, %rd12;\n\taddc.u32 %r11, 0, 0;", cases: []aluCase{
		{a: 1 << 63, b: 2, c: 5, rd13: 5, r11: 0},                 // lo(2^64) = 0
		{a: 1<<63 + 1, b: 2, c: 1<<64 - 2, rd13: 0, r11: 1},       // 2 + 2^64 - 2
		{a: 1 << 32, b: 1 << 32, c: ones64, rd13: ones64, r11: 0}, // lo(2^64) = 0
	}},
	// add.cc sets CF from c + c (c = 2^31: 2^32 carries out of 32 bits).
	{name: "madc.hi.cc.u64", body: "\tadd.cc.u32 %r5, %r3, %r3;\n\tmadc.hi.cc.u64 %rd13, %rd10, %rd11, %rd12;\n\taddc.u32 %r11, 0, 0;", cases: []aluCase{
		{a: 1 << 63, b: 4, c: 0x80000000, rd13: 0x80000003, r11: 0},     // hi(2^65) = 2, + 2^31 + 1
		{a: 1 << 63, b: 4, c: 0x7fffffff, rd13: 0x80000001, r11: 0},     // 2 + (2^31-1) + 0
		{a: ones64, b: ones64, c: 0x80000000, rd13: 0x7fffffff, r11: 1}, // (2^64-2) + 2^31 + 1 wraps
	}},
	{name: "dp4a.u32.u32", body: "\tdp4a.u32.u32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x01020304, b: 0x05060708, c: 10, r10: 80},             // 32+21+12+5 + 10
		{a: 0xffffffff, b: 0xffffffff, c: 0xffffffff, r10: 260099}, // 4*255*255 - 1
	}},
	{name: "dp4a.s32.u32", body: "\tdp4a.s32.u32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0xffffffff, b: 0x01020304, r10: 0xfffffff6}, // -(4+3+2+1)
	}},
	{name: "dp4a.s32.s32", body: "\tdp4a.s32.s32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x80808080, b: 0x80808080, c: 0xffffffff, r10: 65535}, // 4 * 2^14 - 1
	}},
	{name: "dp2a.lo.s32.s32", body: "\tdp2a.lo.s32.s32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0xffff8000, b: 0x7f80ff01, r10: 0xffff8001}, // -32768*1 + (-1)(-1)
	}},
	{name: "dp2a.hi.u32.s32", body: "\tdp2a.hi.u32.s32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0xffff8000, b: 0x7f80ff01, c: 100, r10: 4128741}, // 32768*(-128) + 65535*127 + 100
	}},
	{name: "bmsk", body: "\tbmsk.wrap.b32 %r10, %r1, %r2;\n\tbmsk.clamp.b32 %r11, %r1, %r2;", cases: []aluCase{
		{a: 1, b: 2, r10: 6, r11: 6},           // the ISA's example
		{a: 0, b: 32, r10: 0, r11: 0xffffffff}, // 32 wraps to 0; clamps to all
		{a: 33, b: 2, r10: 6, r11: 0},          // 33 wraps to 1; clamps to nothing
		{a: 28, b: 8, r10: 0xf0000000, r11: 0xf0000000},
	}},
	{name: "szext", body: "\tszext.wrap.s32 %r10, %r1, %r2;\n\tszext.clamp.u32 %r11, %r1, %r2;", cases: []aluCase{
		{a: 0xffffffff, b: 0, r10: 0, r11: 0},                    // N = 0
		{a: 0x80, b: 8, r10: 0xffffff80, r11: 0x80},              //
		{a: 0x12345678, b: 36, r10: 0xfffffff8, r11: 0x12345678}, // 36 wraps to 4; clamps to 32
	}},
}

func TestExtendedIntegerInstructions(t *testing.T) {
	for _, tc := range extIntTests {
		t.Run(tc.name, func(t *testing.T) { runALU(t, tc) })
	}
}

// TestExtendedIntegerTargets: each form is refused below the target and
// PTX version that the ISA gives for it, and its malformed variants are
// refused with what is wrong.
func TestExtendedIntegerTargets(t *testing.T) {
	for _, c := range []struct{ header, body, want string }{
		{".version 7.5\n.target sm_70\n", "bmsk.wrap.b32 %r1, %r2, %r3;", "bmsk requires PTX ISA 7.6; the module is 7.5"},
		{".version 7.8\n.target sm_60\n", "dp4a.u32.u32 %r1, %r2, %r3, %r4;", "dp4a requires sm_61; the module targets sm_60"},
		{".version 4.2\n.target sm_70\n", "mad.lo.cc.u64 %rd1, %rd2, %rd3, %rd1;", "requires PTX ISA 4.3"},
		{"", "mul24.wide.u32 %rd1, %r2, %r3;", "mul24 takes .lo or .hi"},
		{"", "mul24.lo.u16 %rs1, %rs2, %rs3;", "mul24 takes .u32 or .s32"},
		{"", "mad24.hi.u64 %rd1, %rd2, %rd3, %rd1;", "mad24 takes .u32 or .s32"},
		{"", "mad24.lo.sat.s32 %r1, %r2, %r3, %r4;", ".sat applies to add.s32, sub.s32 and mad.hi.s32"},
		{"", "mad.wide.cc.u32 %rd1, %r2, %r3, %rd1;", "needs .lo or .hi"},
		{"", "madc.u32 %r1, %r2, %r3, %r4;", "needs .lo or .hi"},
		{"", "madc.lo.u16 %rs1, %rs2, %rs3, %rs1;", "takes .u32, .s32, .u64 or .s64"},
		{"", "mad.lo.cc.sat.s32 %r1, %r2, %r3, %r4;", "modifier .sat"},
		{"", "dp4a.u32 %r1, %r2, %r3, %r4;", "two types, each .u32 or .s32"},
		{"", "dp4a.u32.f32 %r1, %r2, %r3, %r4;", "two types, each .u32 or .s32"},
		{"", "dp2a.u32.u32 %r1, %r2, %r3, %r4;", "dp2a needs .lo or .hi"},
		{"", "bmsk.b32 %r1, %r2, %r3;", "bmsk needs .clamp or .wrap"},
		{"", "bmsk.wrap.u32 %r1, %r2, %r3;", "bmsk takes .b32"},
		{"", "szext.clamp.b32 %r1, %r2, %r3;", "szext takes .u32 or .s32"},
		{"", "match.any.b32 %r1, %r2;", "match needs .sync"},
		{".version 6.4\n.target sm_70\n", "vote.any.pred %p1, %p2;", "vote without .sync: PTX ISA 6.4 removed it for sm_70 and later (the module is 6.4); use vote.sync"},
		{".version 7.0\n.target sm_75\n", "shfl.idx.b32 %r1, %r2, 0, 31;", "shfl without .sync: PTX ISA 6.4 removed it"},
		{".version 6.0\n.target sm_20\n", "shfl.idx.b32 %r1, %r2, 0, 31;", "shfl requires sm_30"},
		{".target sm_70\n", "vote.any.pred %p1, %p2;", "(the module is no .version)"},
	} {
		header := c.header
		if header == "" {
			header = ptHeader
		} else {
			header += ".address_size 64\n"
		}
		ptUnsupported(t, header, c.body, c.want)
	}
	// The legacy forms have no membermask operand (a syntax error).
	legacy := ".version 6.0\n.target sm_70\n.address_size 64\n"
	ptRefuses(t, legacy, "shfl.idx.b32 %r1, %r2, 0, 31, -1;", "shfl takes [4] operands, found 5")
	ptRefuses(t, legacy, "vote.any.pred %p1, %p2, -1;", "vote takes [2] operands, found 3")
}

// TestLegacyVoteShfl: in PTX ISA 6.0, vote and shfl without .sync act on
// the lanes that execute them together. Lanes 0-4 take one side of a
// branch and the others the other side; each group votes and shuffles
// among itself, and each execution is reported as a diagnostic.
//
// out[2*lane] = vote.ballot of (lane odd) in the lane's group, out[2*lane+1]
// = (vote.all of lane < 3) << 8 | (vote.any of lane == 4) << 9 |
// shfl.idx of lane*10 from lane 0 of the group... see the expected values.
func TestLegacyVoteShfl(t *testing.T) {
	src := `.version 6.0
.target sm_70
.address_size 64
.visible .entry k(.param .u64 in, .param .u64 out)
{
	.reg .pred %p<8>;
	.reg .b32 %r<16>;
	.reg .b64 %rd<8>;
	ld.param.u64 %rd1, [out];
	cvta.to.global.u64 %rd1, %rd1;
	mov.u32 %r0, %tid.x;
	mul.wide.u32 %rd2, %r0, 8;
	add.s64 %rd3, %rd1, %rd2;
	and.b32 %r1, %r0, 1;
	setp.eq.u32 %p1, %r1, 1;     // lane odd
	setp.lt.u32 %p2, %r0, 3;     // lane < 3
	setp.eq.u32 %p3, %r0, 4;     // lane == 4
	mul.lo.u32 %r2, %r0, 10;
	setp.lt.u32 %p4, %r0, 5;
	@%p4 bra low;
	vote.ballot.b32 %r3, %p1;
	vote.all.pred %p5, %p2;
	vote.any.pred %p6, %p3;
	shfl.idx.b32 %r4, %r2, 5, 31;  // from lane 5
	bra done;
low:
	vote.ballot.b32 %r3, %p1;
	vote.all.pred %p5, %p2;
	vote.any.pred %p6, %p3;
	shfl.idx.b32 %r4, %r2, 0, 31;  // from lane 0
done:
	selp.u32 %r5, 256, 0, %p5;
	selp.u32 %r6, 512, 0, %p6;
	or.b32 %r4, %r4, %r5;
	or.b32 %r4, %r4, %r6;
	st.global.v2.u32 [%rd3], {%r3, %r4};
	ret;
}
`
	m := ptLoad(t, "legacy", src)
	d := cpuemu.NewDevice()
	in := ptBuf(t, d, 4, nil)
	out := ptBuf(t, d, 8*32, nil)
	res, err := m.Launch(d, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)}, in, out)
	if err != nil {
		t.Fatal(err)
	}
	w := ptWords(ptRead(t, d, out, 8*32))
	for lane := uint32(0); lane < 32; lane++ {
		var ballot, rest uint32
		if lane < 5 {
			ballot = 1<<1 | 1<<3 // odd lanes of 0-4
			// all of lane < 3 over lanes 0-4: false; any of lane == 4: true; lane 0's 0
			rest = 512 | 0
		} else {
			ballot = 0xaaaaaaaa &^ 0x1f // odd lanes of 5-31
			// all of lane < 3 over lanes 5-31: false; any of lane == 4: false; lane 5's 50
			rest = 50
		}
		if w[2*lane] != ballot || w[2*lane+1] != rest {
			t.Errorf("lane %d: ballot %#x, rest %#x; want %#x, %#x", lane, w[2*lane], w[2*lane+1], ballot, rest)
		}
	}
	var n int
	named := map[string]int{} // the collective each names
	for _, dg := range res.Diagnostics {
		if dg.Kind != "legacy-warp-collective" {
			t.Errorf("unexpected diagnostic %s", dg)
			continue
		}
		if !strings.Contains(dg.Msg, "deprecated since PTX ISA 6.0") {
			t.Errorf("diagnostic %s does not say it is deprecated", dg)
		}
		for _, op := range []string{"vote", "shfl"} {
			if strings.HasPrefix(dg.Msg, op+" without .sync") && strings.Contains(dg.Msg, "use "+op+".sync") {
				named[op]++
			}
		}
		n++
	}
	if n != 8 { // four collectives on each side of the branch
		t.Errorf("%d legacy-warp-collective diagnostics, want 8: %v", n, res.Diagnostics)
	}
	if named["vote"] != 6 || named["shfl"] != 2 {
		t.Errorf("diagnostics name vote %d times and shfl %d; want 6 and 2: %v", named["vote"], named["shfl"], res.Diagnostics)
	}
	// The race checker counts it among the sync findings.
	res, err = m.Launch(d, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32), Check: true}, in, out)
	var ce *cpuemu.CheckError
	if !errors.As(err, &ce) || len(res.Report.Sync) != 8 {
		t.Errorf("under the checker: %v; want a report with 8 sync findings", err)
	}
}

// TestIntrinsicsCUDA runs what nvcc 11.8 made of testdata/intrinsics/
// intrinsics.cu (dp4a, dp2a, add.cc/addc, mad.lo.cc/madc) against Go
// computations of the CUDA documentation's definitions.
func TestIntrinsicsCUDA(t *testing.T) {
	src, err := os.ReadFile("testdata/intrinsics/intrinsics.ptx")
	if err != nil {
		t.Fatal(err)
	}
	m := ptLoad(t, "intrinsics.ptx", string(src))
	d := cpuemu.NewDevice()
	launch := func(t *testing.T, kernel string, n int, args ...any) {
		t.Helper()
		res, err := m.Launch(d, kernel, cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(uint32(n)), Check: true}, args...)
		if err != nil {
			t.Fatalf("%s: %v", kernel, err)
		}
		ptNoDiag(t, res)
	}
	words := []uint32{0, 1, 0xffffffff, 0x80808080, 0x7f7f7f7f, 0x01020304, 0xfedcba98, 0x12345678, 0x80000000, 0xffff8000, 0x7f80ff01, 0x0a0b0c0d}
	t.Run("dots", func(t *testing.T) {
		n := len(words) * len(words)
		a, b := make([]uint32, n), make([]uint32, n)
		for i := range n {
			a[i], b[i] = words[i/len(words)], words[i%len(words)]
		}
		pa, pb := ptBuf(t, d, 4*n, ptBytes(a...)), ptBuf(t, d, 4*n, ptBytes(b...))
		out := ptBuf(t, d, 16*n, nil)
		launch(t, "_Z4dotsPKiS0_Pi", n, pa, pb, out)
		got := ptWords(ptRead(t, d, out, 16*n))
		for i := range n {
			x, y := a[i], b[i]
			// __dp4a(int, int, int) and the unsigned overload; __dp2a_lo
			// of ints with 7, __dp2a_hi of unsigneds with 5 (CUDA Math
			// API: "two-way dot product of 16-bit and 8-bit elements").
			s4, u4 := int32(i), uint32(i)
			for k := 0; k < 4; k++ {
				s4 += int32(int8(x>>(8*k))) * int32(int8(y>>(8*k)))
				u4 += uint32(uint8(x>>(8*k))) * uint32(uint8(y>>(8*k)))
			}
			s2 := int32(7) + int32(int16(x))*int32(int8(y)) + int32(int16(x>>16))*int32(int8(y>>8))
			u2 := uint32(5) + uint32(uint16(x))*uint32(uint8(y>>16)) + uint32(uint16(x>>16))*uint32(uint8(y>>24))
			want := []uint32{uint32(s4), u4, uint32(s2), u2}
			for k := range want {
				if got[4*i+k] != want[k] {
					t.Errorf("dots(%#x, %#x)[%d] = %#x, want %#x", x, y, k, got[4*i+k], want[k])
				}
			}
		}
	})
	t.Run("128-bit multiply-add", func(t *testing.T) {
		vals := []uint64{0, 1, 2, 0xffffffff, 1 << 32, 1 << 63, ones64, 0x123456789abcdef0, 0xfedcba9876543210, 0x00000000ffffffff}
		n := len(vals) * len(vals)
		a, b, c := make([]byte, 8*n), make([]byte, 8*n), make([]byte, 8*n)
		for i := range n {
			binary.LittleEndian.PutUint64(a[8*i:], vals[i/len(vals)])
			binary.LittleEndian.PutUint64(b[8*i:], vals[i%len(vals)])
			binary.LittleEndian.PutUint64(c[8*i:], vals[(i*7)%len(vals)])
		}
		out := ptBuf(t, d, 16*n, nil)
		launch(t, "_Z4widePKyS0_S0_Py", n, ptBuf(t, d, 8*n, a), ptBuf(t, d, 8*n, b), ptBuf(t, d, 8*n, c), out)
		got := ptRead(t, d, out, 16*n)
		mod := new(big.Int).Lsh(big.NewInt(1), 128)
		for i := range n {
			x := new(big.Int).SetUint64(binary.LittleEndian.Uint64(a[8*i:]))
			y := new(big.Int).SetUint64(binary.LittleEndian.Uint64(b[8*i:]))
			z := new(big.Int).SetUint64(binary.LittleEndian.Uint64(c[8*i:]))
			p := x.Mul(x, y)
			p.Add(p, z).Mod(p, mod)
			lo := new(big.Int).And(p, new(big.Int).SetUint64(ones64)).Uint64()
			hi := new(big.Int).Rsh(p, 64).Uint64()
			if g0, g1 := binary.LittleEndian.Uint64(got[16*i:]), binary.LittleEndian.Uint64(got[16*i+8:]); g0 != lo || g1 != hi {
				t.Errorf("case %d: got %#x:%#x, want %#x:%#x", i, g1, g0, hi, lo)
			}
		}
	})
	t.Run("double sin of large arguments", func(t *testing.T) {
		// CUDA's sin has a maximum error of 2 ulp (CUDA C++ Programming
		// Guide, "Double-Precision Floating-Point Functions"). Large
		// arguments take CUDA's slow path, which reduces them with a
		// chain of mad.lo.cc and madc.hi.cc: a carry lost there is far
		// more than a few ulp. The references are sin of each argument
		// computed with 1200 significant digits (mpmath), rounded to 25;
		// Go's math.Sin is not used: it is 26 ulp off at MaxFloat64.
		cases := []struct {
			x    float64
			want string
		}{
			{0.5, "0.4794255386042030002732879"},
			{3, "0.1411200080598672221007448"},
			{1e6, "-0.3499935021712929521176525"},
			{1e9, "0.5458434494486995642443873"},
			{123456789.123, "0.9998429395520450524493086"},
			{1e15, "0.8582727931702358355238864"},
			{-3e15, "-0.04589291910471781631776614"},
			{1e22, "-0.8522008497671888017727059"},
			{1e100, "-0.3806377310050286660718709"},
			{-1e200, "0.6439687185395057647634533"},
			{1e300, "-0.8178819121159085970458853"},
			{math.MaxFloat64, "0.004961954789184061790502671"},
			{0x1p60, "-0.8306492176372546505752818"},
			{0x1p1000, "-0.1592017030862424382400486"},
		}
		in := make([]byte, 8*len(cases))
		for i, c := range cases {
			binary.LittleEndian.PutUint64(in[8*i:], math.Float64bits(c.x))
		}
		out := ptBuf(t, d, len(in), nil)
		launch(t, "_Z6bigsinPKdPd", len(cases), ptBuf(t, d, len(in), in), out)
		got := ptRead(t, d, out, len(in))
		for i, c := range cases {
			g := math.Float64frombits(binary.LittleEndian.Uint64(got[8*i:]))
			w, err := strconv.ParseFloat(c.want, 64)
			if err != nil {
				t.Fatal(err)
			}
			ulp := math.Nextafter(math.Abs(w), math.Inf(1)) - math.Abs(w)
			if math.Abs(g-w) > 2.5*ulp {
				t.Errorf("sin(%g) = %.17g, want %s (within 2 ulp)", c.x, g, c.want)
			}
		}
	})
}

// TestSinkDestination: _ as the destination of any instruction discards
// its result (PTX ISA §9.7, "sink symbol"); the rest runs.
func TestSinkDestination(t *testing.T) {
	for _, body := range []string{
		"add.u32 _, %r9, 1;",
		"mul.wide.u32 _, %r9, %r9;",
		"setp.eq.u32 _|%p1, %r9, 3;",
		"atom.global.add.u32 _, [%rd2], 0;",
		"cvt.rn.f32.u32 _, %r9;",
		"dp4a.u32.u32 _, %r9, %r9, %r9;",
		"mad.lo.cc.u32 _, %r9, %r9, %r9;",
	} {
		src := ptIO("sink", "", "\t"+body+"\n\tst.global.u32 [%rd2], %r9;")
		ptRunIO(t, src, "sink", 32, func(l uint32) uint32 { return l })
	}
}

// TestV8Access: ld.global.v8 and st.global.v8 of 32-bit elements (PTX ISA
// 8.8, sm_100) move 32 bytes, which must be 32-byte aligned; other forms
// of .v8 are refused.
func TestV8Access(t *testing.T) {
	src := `.version 8.8
.target sm_100
.address_size 64
.visible .entry k(.param .u64 in, .param .u64 out, .param .u64 skew)
{
	.reg .b32 %r<8>;
	.reg .f32 %f<8>;
	.reg .b64 %rd<8>;
	ld.param.u64 %rd1, [in];
	ld.param.u64 %rd2, [out];
	ld.param.u64 %rd3, [skew];
	add.u64 %rd1, %rd1, %rd3;
	ld.global.v8.u32 {%r0, %r1, %r2, %r3, %r4, %r5, %r6, %r7}, [%rd1];
	st.global.v8.b32 [%rd2], {%r7, %r6, %r5, %r4, %r3, %r2, %r1, %r0};
	ret;
}
`
	m := ptLoad(t, "v8", src)
	d := cpuemu.NewDevice()
	words := []uint32{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}
	in := ptBuf(t, d, 48, ptBytes(words...))
	out := ptBuf(t, d, 32, nil)
	if _, err := m.Launch(d, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, in, out, uint64(0)); err != nil {
		t.Fatal(err)
	}
	got := ptWords(ptRead(t, d, out, 32))
	for i, g := range got {
		if g != words[7-i] {
			t.Errorf("out[%d] = %d, want %d", i, g, words[7-i])
		}
	}
	// 16 bytes in: aligned for a .v4, not for a .v8.
	_, err := m.Launch(d, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, in, out, uint64(16))
	var fe *cpuemu.FaultError
	if !errors.As(err, &fe) || fe.Kind != "misaligned" {
		t.Errorf("a .v8 load 16 bytes into a buffer: %v; want a misaligned fault", err)
	}
	for _, c := range []struct{ header, body, want string }{
		{".version 8.8\n.target sm_100\n", "ld.global.v8.u16 {%rs0, %rs1, %rs2, %rs3, %rs4, %rs5, %rs6, %rs7}, [%rd1];", ".v8 takes 32-bit elements"},
		{".version 8.8\n.target sm_100\n", "ld.shared.v8.u32 {%r0, %r1, %r2, %r3, %r4, %r5, %r6, %r7}, [%rd1];", ".v8 accesses the .global space"},
		{".version 8.7\n.target sm_100\n", "ld.global.v8.u32 {%r0, %r1, %r2, %r3, %r4, %r5, %r6, %r7}, [%rd1];", "ld.v8 requires PTX ISA 8.8"},
		{".version 8.8\n.target sm_90\n", "st.global.v8.u32 [%rd1], {%r0, %r1, %r2, %r3, %r4, %r5, %r6, %r7};", "st.v8 requires sm_100"},
		{".version 8.8\n.target sm_100\n", "ld.global.v8.u32 {%r0, %r1, %r2, %r3}, [%rd1];", "needs a vector of 8 registers"},
	} {
		ptRefuses(t, c.header+".address_size 64\n", c.body, c.want)
	}
}

// TestLegacyShflInactiveSource: a shfl without .sync that reads a lane not
// executing it with the reader is reported as such (it has no membermask).
func TestLegacyShflInactiveSource(t *testing.T) {
	src := `.version 6.0
.target sm_70
.address_size 64
.visible .entry k(.param .u64 out)
{
	.reg .pred %p<2>;
	.reg .b32 %r<4>;
	mov.u32 %r0, %tid.x;
	setp.lt.u32 %p1, %r0, 4;
	@!%p1 bra done;
	shfl.idx.b32 %r1, %r0, 7, 31;  // lane 7 is not among lanes 0-3
done:
	ret;
}
`
	m := ptLoad(t, "legacyshfl", src)
	d := cpuemu.NewDevice()
	res, err := m.Launch(d, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)}, ptBuf(t, d, 4, nil))
	if err != nil {
		t.Fatal(err)
	}
	dg := ptDiag(t, res, "shfl-invalid-source")
	if !strings.Contains(dg.Msg, "lane 0 reads lane 7, which has exited or is not executing this shfl with it (lanes 0x0000000f execute it)") {
		t.Errorf("%s", dg)
	}
}
