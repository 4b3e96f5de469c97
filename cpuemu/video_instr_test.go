package cpuemu_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// The scalar video instructions (PTX ISA §9.7.18.1) run through the
// emulator: each instruction shape the ISA gives (three operands, .op2
// with c, a merge into c through d's selector), selectors on a and b,
// vmad's negated sources, and operands that are immediates or special
// registers. Expected values are worked by hand from the ISA's
// pseudo-code: parts of a and b sign- or zero-extended per their type, the
// primary result clamped by .sat to the destination (or its merged part),
// then the secondary operation or the merge, the low 32 bits written.
var videoTests = []aluTest{
	// 255 + -2 and 128 + -32768.
	{name: "vadd.s32.u32.s32.sat", body: "\tvadd.s32.u32.s32.sat %r10, %r1.b0, %r2.h1;", cases: []aluCase{
		{a: 0x000000ff, b: 0xfffe0000, r10: 253},
		{a: 0x00000080, b: 0x80000000, r10: 0xffff8080},
	}},
	// 300 clamps to the byte's 255; 3 fits.
	{name: "vadd.sat merge", body: "\tvadd.u32.u32.u32.sat %r10.b1, %r1, %r2, %r3;", cases: []aluCase{
		{a: 200, b: 100, c: 0x11223344, r10: 0x1122FF44},
		{a: 1, b: 2, c: 0x11223344, r10: 0x11220344},
	}},
	{name: "vsub.min", body: "\tvsub.s32.s32.s32.min %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 1, b: 3, c: 0, r10: 0xfffffffe},          // min(-2, 0)
		{a: 1, b: 3, c: 0xfffffff0, r10: 0xfffffff0}, // min(-2, -16)
	}},
	// |5 - 9| + 100.
	{name: "vabsdiff.add", body: "\tvabsdiff.u32.u32.u32.add %r10, %r1.h0, %r2.h1, %r3;", cases: []aluCase{
		{a: 0x12340005, b: 0x00090000, c: 100, r10: 104},
	}},
	// min(-128, 5).
	{name: "vmin", body: "\tvmin.u32.s32.s32 %r10, %r1.b3, %r2.b2;", cases: []aluCase{
		{a: 0x80000000, b: 0x00050000, r10: 0xffffff80},
	}},
	// max(max(-5, -3), -10).
	{name: "vmax.max", body: "\tvmax.s32.s32.s32.max %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: u32(-5), b: u32(-3), c: u32(-10), r10: 0xfffffffd},
	}},
	{name: "vshl.clamp", body: "\tvshl.u32.u32.u32.clamp %r10, %r1, %r2;", cases: []aluCase{
		{a: 1, b: 31, r10: 0x80000000},
		{a: 1, b: 32, r10: 0},
		{a: 1, b: 1000, r10: 0},
	}},
	{name: "vshl.wrap", body: "\tvshl.u32.u32.u32.wrap %r10, %r1, %r2;", cases: []aluCase{
		{a: 1, b: 33, r10: 2},
	}},
	// -2^31 >> (63 & 31) = -1, plus 1.
	{name: "vshr.wrap.add", body: "\tvshr.s32.s32.u32.wrap.add %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x80000000, b: 63, c: 1, r10: 0},
	}},
	// -2^31 >> 16 = -32768 fits a signed half-word; >> 15 = -65536
	// clamps to -32768; >> 17 = -16384.
	{name: "vshr.sat merge", body: "\tvshr.s32.s32.u32.sat.clamp %r10.h0, %r1, %r2.b0, %r3;", cases: []aluCase{
		{a: 0x80000000, b: 0x110, c: 0xABCD1234, r10: 0xABCD8000},
		{a: 0x80000000, b: 0x10f, c: 0xABCD1234, r10: 0xABCD8000},
		{a: 0x80000000, b: 0x111, c: 0xABCD1234, r10: 0xABCDC000},
	}},
	{name: "vset.lt", body: "\tvset.s32.u32.lt %r10, %r1, %r2;", cases: []aluCase{
		{a: 0xffffffff, b: 0, r10: 1}, // -1 < 0
		{a: 0, b: 0xffffffff, r10: 1}, // 0 < 4294967295
		{a: 5, b: 5, r10: 0},
	}},
	{name: "vset.ne.add", body: "\tvset.u32.u32.ne.add %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 1, b: 2, c: 41, r10: 42},
		{a: 2, b: 2, c: 41, r10: 41},
	}},
	// 1 > -1 puts 1 in byte 3 of c.
	{name: "vset merge", body: "\tvset.u32.s32.gt %r10.b3, %r1.h0, %r2.h0, %r3;", cases: []aluCase{
		{a: 1, b: 0xffff, c: 0x00ABCDEF, r10: 0x01ABCDEF},
		{a: 0, b: 0, c: 0xFFABCDEF, r10: 0x00ABCDEF},
	}},
	// -(3*4) + 5.
	{name: "vmad -a", body: "\tvmad.s32.u32.u32 %r10, -%r1, %r2, %r3;", cases: []aluCase{
		{a: 3, b: 4, c: 5, r10: 0xfffffff9},
	}},
	{name: "vmad -a -b", body: "\tvmad.s32.s32.s32 %r10, -%r1, -%r2, %r3;", cases: []aluCase{
		{a: 3, b: 4, c: 5, r10: 17},
	}},
	// The ISA's examples. 2^30 >> 15 and (2^30 + 2^15) >> 15.
	{name: "vmad.shr15", body: "\tvmad.u32.u32.u32.shr15 %r10, %r1.h0, %r2.h0, %r3;", cases: []aluCase{
		{a: 0x8000, b: 0x8000, c: 0, r10: 0x8000},
		{a: 0xFFFF8000, b: 0x12348000, c: 0x8000, r10: 0x8001},
	}},
	// 2^32 - 2 - 1 clamps to S32_MAX; 12 - 20 = -8.
	{name: "vmad.sat -c", body: "\tvmad.s32.s32.u32.sat %r10, %r1, %r2, -%r3;", cases: []aluCase{
		{a: 0x7fffffff, b: 2, c: 1, r10: 0x7fffffff},
		{a: 3, b: 4, c: 20, r10: 0xfffffff8},
	}},
	{name: "vmad.po", body: "\tvmad.u32.u32.u32.po %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 3, b: 4, c: 5, r10: 18},
	}},
	// Immediate sources: 10 + 5; 3 * -2 + 1.
	{name: "vadd immediate", body: "\tvadd.u32.u32.u32 %r10, %r1, 5;", cases: []aluCase{{a: 10, r10: 15}}},
	{name: "vmad immediate", body: "\tvmad.s32.s32.s32 %r10, %r1, -2, %r3;", cases: []aluCase{{a: 3, c: 1, r10: 0xfffffffb}}},
	// A special register is a source; its dot is no selector. Lane i
	// adds i.
	{name: "vadd %tid.x", body: "\tvadd.u32.u32.u32 %r10, %tid.x, %r2.b1;", cases: []aluCase{
		{b: 0x0500, r10: 5},
		{b: 0x0700, r10: 8},
	}},
	// A guard: %p3 is c != 0.
	{name: "guarded vadd", body: "\t@%p3 vadd.u32.u32.u32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 1, b: 2, c: 1, r10: 3},
		{a: 1, b: 2, c: 0, r10: 0},
	}},
}

func TestVideoInstructions(t *testing.T) {
	for _, tc := range videoTests {
		t.Run(tc.name, func(t *testing.T) { runALU(t, tc) })
	}
}

// TestVideoTargets: the scalar video instructions need sm_20 and PTX ISA
// 2.0, and are refused below them.
func TestVideoTargets(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{".version 2.0\n.target sm_13\n", "vadd requires sm_20; the module targets sm_13"},
		{".version 1.4\n.target sm_20\n", "vadd requires PTX ISA 2.0; the module is 1.4"},
		{".version 2.0\n.target sm_20\n", ""},
	} {
		src := c.header + ".entry k()\n{\n\t.reg .b32 %r<4>;\n\tvadd.u32.u32.u32 %r1, %r2, %r3;\n\tret;\n}\n"
		m, err := cpuemu.Load("video", []byte(src))
		if err != nil {
			t.Fatalf("%q: %v", c.header, err)
		}
		_, err = m.Kernel("k")
		var ue *cpuemu.UnsupportedError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.header, err)
		case c.want != "" && (!errors.As(err, &ue) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: %v; want a refusal that says %q", c.header, err, c.want)
		}
	}
}
