package cpuemu_test

import (
	"testing"
)

// Half-precision and fp8 instructions (PTX ISA §9.7.4, §9.7.8.21-22). The
// expected bits are worked by hand from the formats' definitions: binary16
// 1.0 = 0x3C00 (exponent 15, fraction 0), 2.0 = 0x4000, 0.5 = 0x3800,
// 65504 = 0x7BFF, Inf = 0x7C00, 2^-24 = 0x0001, the canonical NaN 0x7FFF;
// bfloat16 1.0 = 0x3F80; e4m3 1.0 = 0x38 (bias 7), 448 = 0x7E; e5m2 1.0 =
// 0x3C (bias 15), 57344 = 0x7B.

const (
	hdr80 = ".version 7.0\n.target sm_80\n.address_size 64\n"
	hdr86 = ".version 7.2\n.target sm_86\n.address_size 64\n"
	hdr89 = ".version 8.1\n.target sm_89\n.address_size 64\n"
	hdr90 = ".version 8.0\n.target sm_90\n.address_size 64\n"
)

// f16 results go to %r10 through cvt.u32.u16 of %rs3.
const toR10 = "\n\tcvt.u32.u16 %r10, %rs3;"

var halfTests = []aluTest{
	{name: "add.f16", body: "\tadd.f16 %rs3, %rs1, %rs2;" + toR10, cases: []aluCase{
		{a: 0x3C00, b: 0x4000, r10: 0x4200}, // 1 + 2 = 3
		{a: 0x7BFF, b: 0x7BFF, r10: 0x7C00}, // overflow rounds to Inf
		{a: 0x3C00, b: 0x1000, r10: 0x3C00}, // 1 + 2^-11: a tie, to even
		{a: 0x3C00, b: 0x1200, r10: 0x3C01}, // 1 + 1.5·2^-11: above the tie
		{a: 0x7C00, b: 0xFC00, r10: 0x7FFF}, // Inf - Inf: the canonical NaN
		{a: 0x0001, b: 0x0001, r10: 0x0002}, // subnormals add exactly
		{a: 0x8000, b: 0x8000, r10: 0x8000}, // -0 + -0 = -0
	}},
	{name: "add.ftz.f16", body: "\tadd.ftz.f16 %rs3, %rs1, %rs2;" + toR10, cases: []aluCase{
		{a: 0x0001, b: 0x0001, r10: 0}, // subnormal inputs flushed
		{a: 0x0400, b: 0x8001, r10: 0x0400},
	}},
	{name: "add.sat.f16", body: "\tadd.sat.f16 %rs3, %rs1, %rs2;" + toR10, cases: []aluCase{
		{a: 0x3C00, b: 0x3800, r10: 0x3C00}, // 1.5 clamps to 1
		{a: 0xBC00, b: 0x3800, r10: 0},      // -0.5 clamps to 0
		{a: 0x7C00, b: 0xFC00, r10: 0},      // NaN becomes +0
	}},
	{name: "sub.f16", body: "\tsub.f16 %rs3, %rs1, %rs2;" + toR10, cases: []aluCase{
		{a: 0x3C00, b: 0x3C00, r10: 0},
		{a: 0x8000, b: 0x0000, r10: 0x8000}, // -0 - +0 = -0
	}},
	{name: "mul.f16", body: "\tmul.f16 %rs3, %rs1, %rs2;" + toR10, cases: []aluCase{
		{a: 0x4200, b: 0x3800, r10: 0x3E00}, // 3 × 0.5 = 1.5
		{a: 0x5C00, b: 0x5C00, r10: 0x7C00}, // 256 × 256 = 65536: Inf
		{a: 0x8000, b: 0x3C00, r10: 0x8000}, // -0 × 1 = -0
	}},
	// fma rounds once: (1+2^-10)^2 - (1+2^-9) = 2^-20 exactly (a subnormal,
	// 16 × 2^-24); rounding the product first would give 0.
	{name: "fma.rn.f16", body: "\tmov.b16 %rs4, %r3;\n\tfma.rn.f16 %rs3, %rs1, %rs2, %rs4;" + toR10, cases: []aluCase{
		{a: 0x4000, b: 0x4200, c: 0x3C00, r10: 0x4700}, // 2 × 3 + 1 = 7
		{a: 0x3C01, b: 0x3C01, c: 0xBC02, r10: 0x0010},
	}},
	{name: "fma.rn.relu.f16", header: hdr80, body: "\tmov.b16 %rs4, %r3;\n\tfma.rn.relu.f16 %rs3, %rs1, %rs2, %rs4;" + toR10, cases: []aluCase{
		{a: 0x3C00, b: 0xC000, c: 0x3800, r10: 0},      // 1 × -2 + 0.5 = -1.5: 0
		{a: 0x7C00, b: 0x0000, c: 0x3800, r10: 0x7FFF}, // Inf × 0: NaN stays NaN
		{a: 0x3C00, b: 0x4000, c: 0x3800, r10: 0x4100}, // 2.5
	}},
	{name: "neg.f16", body: "\tneg.f16 %rs3, %rs1;" + toR10, cases: []aluCase{{a: 0x3C00, r10: 0xBC00}, {a: 0x8000, r10: 0}}},
	{name: "abs.f16", body: "\tabs.f16 %rs3, %rs1;" + toR10, cases: []aluCase{{a: 0xBC00, r10: 0x3C00}}},
	{name: "min.f16", header: hdr80, body: "\tmin.f16 %rs3, %rs1, %rs2;" + toR10, cases: []aluCase{
		{a: 0x3C00, b: 0x7E00, r10: 0x3C00}, // a NaN operand yields the other
		{a: 0x8000, b: 0x0000, r10: 0x8000}, // -0 < +0
		{a: 0x7E00, b: 0x7E00, r10: 0x7FFF},
		{a: 0xC000, b: 0x3C00, r10: 0xC000},
	}},
	{name: "max.f16", header: hdr80, body: "\tmax.f16 %rs3, %rs1, %rs2;" + toR10, cases: []aluCase{
		{a: 0x8000, b: 0x0000, r10: 0x0000},
		{a: 0xC000, b: 0x3C00, r10: 0x3C00},
	}},
	{name: "min.NaN.f16", header: hdr80, body: "\tmin.NaN.f16 %rs3, %rs1, %rs2;" + toR10, cases: []aluCase{
		{a: 0x3C00, b: 0x7E00, r10: 0x7FFF},
	}},
	// |-2| and |3|: the smaller magnitude, 2, with the sign 1 XOR 0.
	{name: "min.xorsign.abs.f16", header: hdr86, body: "\tmin.xorsign.abs.f16 %rs3, %rs1, %rs2;" + toR10, cases: []aluCase{
		{a: 0xC000, b: 0x4200, r10: 0xC000},
		{a: 0xC000, b: 0xC200, r10: 0x4000},
	}},
	// Packed pairs: the low halves together, the high halves together.
	{name: "add.f16x2", body: "\tadd.f16x2 %r10, %r1, %r2;", cases: []aluCase{
		{a: 0x40003C00, b: 0xC0003800, r10: 0x00003E00}, // {1, 2} + {0.5, -2} = {1.5, 0}
	}},
	{name: "fma.rn.f16x2", body: "\tfma.rn.f16x2 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x40003C00, b: 0x42004000, c: 0x3C003C00, r10: 0x47004200}, // {1×2+1, 2×3+1} = {3, 7}
	}},
	{name: "setp.lt.f16x2", body: "\tsetp.lt.f16x2 %p1|%p2, %r1, %r2;\n\tselp.u32 %r10, 1, 0, %p1;\n\tselp.u32 %r11, 1, 0, %p2;", cases: []aluCase{
		{a: 0x40003C00, b: 0x42003800, r10: 0, r11: 1}, // 1 < 0.5 no; 2 < 3 yes
	}},
	{name: "setp.gt.and.f16", body: "\tsetp.gt.and.f16 %p1, %rs1, %rs2, %p3;\n\tselp.u32 %r10, 1, 0, %p1;", cases: []aluCase{
		{a: 0x4000, b: 0x3C00, c: 1, r10: 1},
		{a: 0x4000, b: 0x3C00, c: 0, r10: 0},
		{a: 0x7E00, b: 0x3C00, c: 1, r10: 0}, // NaN: ordered comparisons fail
	}},
	{name: "set.lt.u32.f16", body: "\tset.lt.u32.f16 %r10, %rs1, %rs2;", cases: []aluCase{
		{a: 0x3C00, b: 0x4000, r10: 0xFFFFFFFF},
		{a: 0x4000, b: 0x3C00, r10: 0},
	}},
	{name: "set.lt.f16x2.f16x2", body: "\tset.lt.f16x2.f16x2 %r10, %r1, %r2;", cases: []aluCase{
		{a: 0x40003C00, b: 0x3C004000, r10: 0x00003C00}, // {1 < 2, 2 < 1}: {1.0, 0.0}
	}},
	{name: "ex2.approx.f16", header: hdr80, body: "\tex2.approx.f16 %rs3, %rs1;" + toR10, cases: []aluCase{
		{a: 0x3C00, r10: 0x4000}, {a: 0xBC00, r10: 0x3800}, {a: 0xFC00, r10: 0}, // 2^1, 2^-1, 2^-Inf
	}},
	{name: "tanh.approx.f16", header: hdr80, body: "\ttanh.approx.f16 %rs3, %rs1;" + toR10, cases: []aluCase{{a: 0, r10: 0}, {a: 0x7C00, r10: 0x3C00}}},
	// bfloat16: 8-bit significands, so 1 + 2^-8 is a tie between 1 and
	// 1 + 2^-7.
	{name: "add.bf16", header: hdr90, body: "\tadd.bf16 %rs3, %rs1, %rs2;" + toR10, cases: []aluCase{
		{a: 0x3F80, b: 0x3F80, r10: 0x4000},
		{a: 0x3F80, b: 0x3B80, r10: 0x3F80},
		{a: 0x3F80, b: 0x3BC0, r10: 0x3F81}, // 1 + 1.5·2^-8
	}},
	{name: "fma.rn.bf16", header: hdr80, body: "\tmov.b16 %rs4, %r3;\n\tfma.rn.bf16 %rs3, %rs1, %rs2, %rs4;" + toR10, cases: []aluCase{
		{a: 0x3F80, b: 0x4000, c: 0x3F00, r10: 0x4020}, // 1 × 2 + 0.5 = 2.5
	}},
	// Conversions.
	{name: "cvt.f32.f16", body: "\tcvt.f32.f16 %f10, %rs1;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: 0x3555, r10: 0x3EAAA000}, // 1.0101010101b × 2^-2
		{a: 0x0001, r10: 0x33800000}, // 2^-24
	}},
	// 1 + 2^-11 + 2^-40 lies above the tie of 1 and 1 + 2^-10: rounding
	// to f32 first would land on the tie and then on 1.
	{name: "cvt.rn.f16.f64", body: "\tcvt.rn.f16.f64 %rs3, %fd1;" + toR10, cases: []aluCase{
		{a: 0x3FF0020000001000, r10: 0x3C01},
	}},
	{name: "cvt.rn.f16.s32", body: "\tcvt.rn.f16.s32 %rs3, %r1;" + toR10, cases: []aluCase{
		{a: 65519, r10: 0x7BFF}, // below the midpoint of 65504 and 2^16
		{a: 65520, r10: 0x7C00}, // the midpoint: to even, the infinity
		{a: 0xFFFFFFFF, r10: 0xBC00},
	}},
	{name: "cvt.rni.s32.f16", body: "\tcvt.rni.s32.f16 %r10, %rs1;", cases: []aluCase{
		{a: 0x4100, r10: 2}, {a: 0x4300, r10: 4}, {a: 0x7FFF, r10: 0}, // 2.5, 3.5, NaN
	}},
	// A signed result is sign-extended to the register's width (PTX ISA
	// §6.4.1), as for the f32 sources: -1.0 (0xBC00) is all ones.
	{name: "cvt.rni.s8.f16 into .b32", body: "\tcvt.rni.s8.f16 %r10, %rs1;\n\tcvt.rni.u8.f16 %r11, %rs1;", cases: []aluCase{
		{a: 0xBC00, r10: 0xffffffff, r11: 0}, // u8 of -1 clamps to 0
		{a: 0x5BF8, r10: 0x7f, r11: 0xff},    // 255: s8 clamps to 127
	}},
	{name: "cvt.rni.s16.f16 into .b32", body: "\tcvt.rni.s16.f16 %r10, %rs1;", cases: []aluCase{
		{a: 0xBC00, r10: 0xffffffff},
	}},
	{name: "cvt.rzi.s32.f16 into .b64", body: "\tcvt.rzi.s32.f16 %rd13, %rs1;", cases: []aluCase{
		{a: 0xBE00, rd13: ones64}, // -1.5 truncates to -1
	}},
	{name: "cvt.rn.bf16.f32", header: hdr80, body: "\tcvt.rn.bf16.f32 %rs3, %f1;" + toR10, cases: []aluCase{
		{a: 0x3F808000, r10: 0x3F80}, // 1 + 2^-8: a tie, to even
		{a: 0x3F80C000, r10: 0x3F81},
	}},
	{name: "cvt.rz.bf16.f32", header: hdr80, body: "\tcvt.rz.bf16.f32 %rs3, %f1;" + toR10, cases: []aluCase{{a: 0x3F81FFFF, r10: 0x3F81}}},
	{name: "cvt.rn.relu.f16.f32", header: hdr80, body: "\tcvt.rn.relu.f16.f32 %rs3, %f1;" + toR10, cases: []aluCase{
		{a: 0xC0400000, r10: 0}, {a: 0x3F800000, r10: 0x3C00}, // -3, 1
	}},
	{name: "cvt.rn.satfinite.f16.f32", header: hdr89, body: "\tcvt.rn.satfinite.f16.f32 %rs3, %f1;" + toR10, cases: []aluCase{
		{a: 0x49742400, r10: 0x7BFF}, // 1e6
		{a: 0x7F800000, r10: 0x7BFF}, // Inf
		{a: 0xFF800000, r10: 0xFBFF},
		{a: 0x7FC00000, r10: 0x7FFF}, // NaN
	}},
	// Pairs: the first source goes to the high half.
	{name: "cvt.rn.f16x2.f32", header: hdr80, body: "\tcvt.rn.f16x2.f32 %r10, %f1, %f2;", cases: []aluCase{
		{a: 0x3F800000, b: 0x40000000, r10: 0x3C004000},
	}},
	{name: "cvt.rn.satfinite.e4m3x2.f32", header: hdr89, body: "\tcvt.rn.satfinite.e4m3x2.f32 %rs3, %f1, %f2;" + toR10, cases: []aluCase{
		{a: 0x3F800000, b: 0x447A0000, r10: 0x387E}, // {1, 1000 -> 448}
	}},
	{name: "cvt.rn.satfinite.e5m2x2.f32", header: hdr89, body: "\tcvt.rn.satfinite.e5m2x2.f32 %rs3, %f1, %f2;" + toR10, cases: []aluCase{
		{a: 0x3F800000, b: 0xCE6E6B28, r10: 0x3CFB}, // {1, -1e9 -> -57344}
	}},
	{name: "cvt.rn.f16x2.e4m3x2", header: hdr89, body: "\tcvt.rn.f16x2.e4m3x2 %r10, %rs1;", cases: []aluCase{
		{a: 0x387E, r10: 0x3C005F00}, // {1, 448}
	}},
	{name: "cvt.pack.sat.u16.s32", header: hdr80, body: "\tcvt.pack.sat.u16.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 70000, b: 0xFFFFFFFB, r10: 0xFFFF0000}, // {70000 -> 65535, -5 -> 0}
	}},
	{name: "cvt.pack.sat.s16.s32", header: hdr80, body: "\tcvt.pack.sat.s16.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 40000, b: 0xFFFF63C0, r10: 0x7FFF8000}, // {40000 -> 32767, -40000 -> -32768}
	}},
	{name: "cvt.pack.sat.u8.s32.b32", header: hdr80, body: "\tcvt.pack.sat.u8.s32.b32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 300, b: 7, c: 0x1234, r10: 0x1234FF07},
	}},
	{name: "cvt.pack.sat.s4.s32.b32", header: hdr80, body: "\tcvt.pack.sat.s4.s32.b32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 100, b: 0xFFFFFF00, c: 0x1, r10: 0x178}, // {7, -8} above c = 1: 1<<8 | 0x7<<4 | 0x8
	}},
}

// TestHalfRegisterWidths: a packed half result needs a 32-bit register (a
// 16-bit one would lose the high half); cvt lets a register be wider.
func TestHalfRegisterWidths(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"cvt.rn.f16x2.f32 %rs1, %f1, %f1;", "register %rs1 is .b16 (2 bytes); the instruction's type takes 4"},
		{"cvt.rn.f16.f32 %r1, %f1;", ""},
		{"cvt.f32.f16 %f1, %r1;", ""},
	} {
		if c.want != "" {
			ptRefuses(t, hdr80, c.body, c.want)
			continue
		}
		m := ptLoad(t, "w", hdr80+".visible .entry k(.param .u64 p)\n{\n\t.reg .b16 %rs<2>;\n\t.reg .b32 %r<2>;\n\t.reg .f32 %f<2>;\n\t"+c.body+"\n\tret;\n}\n")
		if _, err := m.Kernel("k"); err != nil {
			t.Errorf("%s: %v", c.body, err)
		}
	}
}

func TestHalfInstructions(t *testing.T) {
	for _, tc := range halfTests {
		t.Run(tc.name, func(t *testing.T) { runALU(t, tc) })
	}
}

// TestHalfQualifierErrorStable: a form with two qualifiers its type lacks
// is refused naming the first of them, every time.
func TestHalfQualifierErrorStable(t *testing.T) {
	for range 20 {
		ptRefuses(t, hdr90, "add.ftz.sat.bf16 %rs1, %rs2, %rs3;", ".ftz on add.bf16")
	}
}
