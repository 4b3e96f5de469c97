package cpuemu

import (
	"math/big"
	"math/rand"
	"strings"
	"testing"
)

// The scalar video instructions (PTX ISA §9.7.18.1). Every expected value
// below is worked by hand from the ISA's pseudo-code, read as
// RATIONALE.md ("Video instructions") says: inputs extended to .s33, the
// primary result an .s34, optSaturate clamping to the destination's range
// (a merge's byte or half-word) and giving an .s33, c extended per dtype,
// the low 32 bits written; vmad in 128 bits.

// vs builds a videoSpec from an instruction name as PTX writes it
// ("vadd.s32.u32.s32.sat.min") and operand marks: "a.h1", "b.b0", "d.b2"
// for selectors, "-a", "-b", "-c" for vmad's negations.
func vs(t testing.TB, name string, marks ...string) videoSpec {
	t.Helper()
	parts := strings.Split(name, ".")
	v := videoSpec{vop: videoOpNames[parts[0]]}
	var types []bool
	for _, m := range parts[1:] {
		switch m {
		case "u32", "s32":
			types = append(types, m == "s32")
		case "sat":
			v.sat = true
		case "add", "min", "max":
			v.op2 = map[string]uint8{"add": op2Add, "min": op2Min, "max": op2Max}[m]
		case "clamp", "wrap":
			v.wrap = m == "wrap"
		case "eq", "ne", "lt", "le", "gt", "ge":
			v.cmp = cmpNames[m]
		case "po":
			v.po = true
		case "shr7":
			v.scale = 7
		case "shr15":
			v.scale = 15
		default:
			t.Fatalf("%s: modifier %s", name, m)
		}
	}
	if v.vop == vSet {
		types = append([]bool{false}, types...) // d is unsigned
	}
	if len(types) != 3 {
		t.Fatalf("%s: %d types", name, len(types))
	}
	v.dSigned, v.aSigned, v.bSigned = types[0], types[1], types[2]
	for _, m := range marks {
		switch {
		case m == "-a":
			v.negA = true
		case m == "-b":
			v.negB = true
		case m == "-c":
			v.negC = true
		default:
			opnd, sel, ok := strings.Cut(m, ".")
			s, known := videoSelNames[sel]
			if !ok || !known {
				t.Fatalf("%s: mark %s", name, m)
			}
			switch opnd {
			case "a":
				v.asel = s
			case "b":
				v.bsel = s
			case "d":
				v.dsel = s
			default:
				t.Fatalf("%s: mark %s", name, m)
			}
		}
	}
	return v
}

type videoCase struct {
	name    string
	marks   []string
	a, b, c uint32
	want    uint32
}

// vm is a case's operand marks.
func vm(marks ...string) []string { return marks }

var videoCases = []videoCase{
	// vadd: .s33 inputs, an .s34 sum; without .sat the low 32 bits.
	{"vadd.u32.u32.u32", nil, 5, 7, 0, 12},
	{"vadd.u32.u32.u32", nil, 0xffffffff, 1, 0, 0},                       // 2^32: low bits 0
	{"vadd.u32.u32.u32.sat", nil, 0xffffffff, 1, 0, 0xffffffff},          // 2^32 clamps to U32_MAX
	{"vadd.s32.s32.s32.sat", nil, 0x7fffffff, 1, 0, 0x7fffffff},          // 2^31 clamps to S32_MAX
	{"vadd.s32.s32.s32.sat", nil, 0x80000000, 0xffffffff, 0, 0x80000000}, // -2^31 - 1 clamps to S32_MIN
	{"vadd.u32.s32.u32.sat", nil, 0xfffffffb, 3, 0, 0},                   // -5 + 3 = -2 clamps to 0
	{"vadd.s32.u32.s32", nil, 0xffffffff, 0xffffffff, 0, 0xfffffffe},     // 4294967295 + -1
	{"vadd.s32.u32.s32.sat", nil, 0xffffffff, 0xffffffff, 0, 0x7fffffff},
	// Selectors: a = 0x11223344: .b0 0x44, .b1 0x33, .b2 0x22, .b3 0x11,
	// .h0 0x3344, .h1 0x1122; b = 0xAABBCCDD likewise.
	{"vadd.u32.u32.u32", vm("a.b0", "b.b3"), 0x11223344, 0xAABBCCDD, 0, 0x44 + 0xAA},
	{"vadd.u32.u32.u32", vm("a.b1", "b.b2"), 0x11223344, 0xAABBCCDD, 0, 0x33 + 0xBB},
	{"vadd.u32.u32.u32", vm("a.b2", "b.b1"), 0x11223344, 0xAABBCCDD, 0, 0x22 + 0xCC},
	{"vadd.u32.u32.u32", vm("a.b3", "b.b0"), 0x11223344, 0xAABBCCDD, 0, 0x11 + 0xDD},
	{"vadd.u32.u32.u32", vm("a.h0", "b.h1"), 0x11223344, 0xAABBCCDD, 0, 0x3344 + 0xAABB},
	{"vadd.u32.u32.u32", vm("a.h1", "b.h0"), 0x11223344, 0xAABBCCDD, 0, 0x1122 + 0xCCDD},
	// Signed parts sign-extend: 0xF0 is -16, 0xFFFE is -2; unsigned ones
	// do not: 240 + 65534.
	{"vadd.s32.s32.s32", vm("a.b0", "b.h1"), 0x000000F0, 0xFFFE0000, 0, 0xffffffee},
	{"vadd.u32.u32.u32", vm("a.b0", "b.h1"), 0x000000F0, 0xFFFE0000, 0, 0x100EE},
	{"vadd.u32.s32.u32", vm("a.b3", "b.b3"), 0x80000000, 0x80000000, 0, 0}, // -128 + 128
	// Merges put the low byte or half-word of the result into c.
	{"vadd.u32.u32.u32", vm("d.b0"), 200, 100, 0x12345678, 0x1234562C}, // 300 = 0x12C
	{"vadd.u32.u32.u32", vm("d.b1"), 1, 2, 0xAABBCCDD, 0xAABB03DD},
	{"vadd.u32.u32.u32", vm("d.b2"), 1, 2, 0xAABBCCDD, 0xAA03CCDD},
	{"vadd.u32.u32.u32", vm("d.b3"), 1, 2, 0xAABBCCDD, 0x03BBCCDD},
	{"vadd.u32.u32.u32", vm("d.h0"), 1, 2, 0xAABBCCDD, 0xAABB0003},
	{"vadd.u32.u32.u32", vm("d.h1"), 1, 2, 0xAABBCCDD, 0x0003CCDD},
	// .sat with a merge clamps to the selected part's range.
	{"vadd.u32.u32.u32.sat", vm("d.b0"), 200, 100, 0x12345678, 0x123456FF}, // 300 clamps to 255
	{"vadd.s32.s32.s32.sat", vm("d.b1"), 100, 100, 0, 0x00007F00},          // 200 clamps to 127
	{"vadd.s32.u32.u32.sat", vm("d.b3"), 200, 100, 0, 0x7F000000},
	{"vsub.s32.s32.s32.sat", vm("d.h1"), 0xffff8000, 1, 0x0000ABCD, 0x8000ABCD}, // -32769 clamps to -32768
	{"vsub.u32.u32.u32.sat", vm("d.h0"), 1, 2, 0xFFFFFFFF, 0xFFFF0000},          // -1 clamps to 0
	{"vadd.u32.u32.u32.sat", vm("d.h0"), 0xffff, 0xffff, 0, 0xFFFF},
	{"vsub.s32.s32.s32.sat", vm("d.b2"), 0xffffff80, 1, 0x11111111, 0x11801111}, // -129 clamps to -128
	// Secondary operations: c is extended per dtype.
	{"vadd.u32.u32.u32.add", nil, 1, 2, 10, 13},
	{"vadd.u32.u32.u32.min", nil, 10, 5, 7, 7},
	{"vadd.u32.u32.u32.max", nil, 10, 5, 7, 15},
	{"vsub.s32.s32.s32.min", nil, 1, 3, 0, 0xfffffffe},                   // min(-2, 0)
	{"vsub.s32.s32.s32.max", nil, 1, 3, 0, 0},                            // max(-2, 0)
	{"vsub.u32.s32.s32.min", nil, 1, 3, 0, 0xfffffffe},                   // tmp stays -2 without .sat
	{"vsub.u32.u32.u32.sat.min", nil, 1, 3, 7, 0},                        // -2 saturates to 0 first
	{"vadd.u32.u32.u32.sat.add", nil, 0xffffffff, 1, 5, 4},               // U32_MAX + 5, not saturated again
	{"vmax.s32.s32.s32.max", nil, 1, 2, 0xffffffff, 2},                   // c is -1
	{"vmax.u32.s32.s32.max", nil, 1, 2, 0xffffffff, 0xffffffff},          // c is 4294967295
	{"vmin.s32.s32.s32.add", nil, 0xfffffffe, 5, 0xffffffff, 0xfffffffd}, // -2 + -1
	// Without .sat, optSaturate gives the .s34 as an .s33: 0x1FFFFFFFE
	// reads as -2.
	{"vadd.u32.u32.u32.min", nil, 0xffffffff, 0xffffffff, 5, 0xfffffffe},
	// vsub, vabsdiff, vmin, vmax.
	{"vsub.u32.u32.u32", nil, 5, 7, 0, 0xfffffffe},
	{"vsub.s32.u32.s32", nil, 0xffffffff, 0xffffffff, 0, 0}, // 4294967295 - -1 = 2^32
	{"vsub.s32.u32.s32.sat", nil, 0xffffffff, 0xffffffff, 0, 0x7fffffff},
	{"vabsdiff.u32.u32.u32", nil, 5, 7, 0, 2},
	{"vabsdiff.u32.u32.u32", nil, 0, 0xffffffff, 0, 0xffffffff},
	{"vabsdiff.s32.s32.s32", nil, 0x80000000, 0x7fffffff, 0, 0xffffffff}, // 2^32 - 1
	{"vabsdiff.s32.s32.s32.sat", nil, 0x80000000, 0x7fffffff, 0, 0x7fffffff},
	{"vabsdiff.u32.s32.u32", nil, 0xffffffff, 0xffffffff, 0, 0}, // |-1 - 4294967295| = 2^32
	{"vabsdiff.u32.s32.u32.sat", nil, 0xffffffff, 0xffffffff, 0, 0xffffffff},
	{"vabsdiff.u32.s32.s32", vm("a.b0", "b.b1"), 0x00000005, 0x0000FB00, 0, 10}, // |5 - -5|
	{"vmin.s32.s32.u32", nil, 0xffffffff, 0xffffffff, 0, 0xffffffff},            // min(-1, 4294967295)
	{"vmin.u32.u32.u32", nil, 0xffffffff, 1, 0, 1},
	{"vmin.s32.s32.s32", nil, 0xffffffff, 1, 0, 0xffffffff},
	{"vmin.u32.s32.u32.sat", nil, 0xffffffff, 1, 0, 0},               // -1 clamps to 0
	{"vmax.s32.s32.u32", nil, 0xffffffff, 0x80000000, 0, 0x80000000}, // 2^31
	{"vmax.s32.s32.u32.sat", nil, 0xffffffff, 0x80000000, 0, 0x7fffffff},
	{"vmax.u32.s32.s32.sat", nil, 0xfffffffb, 0xfffffffd, 0, 0}, // max(-5, -3) clamps to 0
	{"vmax.u32.u32.u32", vm("a.h1", "b.h0"), 0x00050000, 0x00000003, 0, 5},
	// vshl/vshr: the amount is unsigned; .clamp stops it at 32, .wrap
	// keeps its low 5 bits.
	{"vshl.u32.u32.u32.clamp", nil, 1, 4, 0, 16},
	{"vshl.u32.u32.u32.clamp", nil, 1, 40, 0, 0},                                          // 1 << 32: low bits 0
	{"vshl.u32.u32.u32.clamp", nil, 1, 0xffffffff, 0, 0},                                  // amount 32
	{"vshl.u32.u32.u32.sat.clamp", nil, 1, 40, 0, 0xffffffff},                             // 2^32 clamps
	{"vshl.u32.u32.u32.wrap", nil, 1, 40, 0, 256},                                         // 40 & 31 = 8
	{"vshl.u32.u32.u32.wrap", nil, 1, 32, 0, 1},                                           // 32 & 31 = 0
	{"vshl.u32.u32.u32.clamp", vm("b.b1"), 1, 0x00000400, 0, 16},                          // amount .b1 = 4
	{"vshl.s32.s32.u32.sat.wrap", nil, 0x40000000, 1, 0, 0x7fffffff},                      // 2^31 clamps to S32_MAX
	{"vshl.s32.s32.u32.sat.wrap", nil, 0xffffffff, 31, 0, 0x80000000},                     // -2^31 fits
	{"vshl.s32.s32.u32.sat.clamp", nil, 0xffffffff, 33, 0, 0x80000000},                    // -2^32 clamps to S32_MIN
	{"vshl.u32.u32.u32.clamp", vm("a.b3", "d.b1"), 0x81000000, 1, 0xAAAAAAAA, 0xAAAA02AA}, // 0x81 << 1 = 0x102: byte 0x02
	{"vshl.u32.u32.u32.sat.clamp", vm("a.b0", "d.b0"), 0x81, 1, 0, 0xff},                  // 0x102 clamps to 255
	// 3 << 32 = 0x3_0000_0000 is -2^32 as an .s34, which .sat clamps to 0.
	{"vshl.u32.u32.u32.sat.clamp", nil, 3, 32, 0, 0},
	{"vshl.u32.u32.u32.clamp.add", nil, 3, 2, 100, 112},
	{"vshr.s32.s32.u32.clamp", nil, 0x80000000, 4, 0, 0xf8000000}, // -2^27: the sign fills
	{"vshr.s32.s32.u32.clamp", nil, 0x80000000, 100, 0, 0xffffffff},
	{"vshr.u32.u32.u32.clamp", nil, 0x80000000, 100, 0, 0},
	{"vshr.u32.u32.u32.clamp", nil, 0x80000000, 32, 0, 0},
	{"vshr.u32.u32.u32.wrap", nil, 0x80000000, 33, 0, 0x40000000},
	{"vshr.s32.s32.u32.wrap", nil, 0x80000000, 33, 0, 0xC0000000},
	{"vshr.s32.s32.u32.clamp", vm("a.h0"), 0x0000F000, 4, 0, 0xffffff00}, // -4096 >> 4
	{"vshr.u32.u32.u32.clamp", vm("a.h0"), 0x0000F000, 4, 0, 0xF00},
	{"vshr.u32.s32.u32.sat.clamp", nil, 0x80000000, 1, 0, 0},                   // -2^30 clamps to 0
	{"vshr.s32.s32.u32.clamp.max", nil, 0xffffff00, 4, 0xffffffe0, 0xfffffff0}, // max(-16, -32)
	{"vshr.u32.s32.u32.clamp.max", nil, 0xffffff00, 4, 0xffffffe0, 0xffffffe0}, // max(-16, 4294967264)
	{"vshr.s32.s32.u32.wrap", vm("b.h1"), 0x100, 0x00240000, 0, 0x10},          // 0x24 & 31 = 4
	// vset: 1 or 0, unsigned, and so is c.
	{"vset.u32.u32.eq", nil, 3, 3, 0, 1},
	{"vset.u32.u32.eq", nil, 3, 4, 0, 0},
	{"vset.u32.u32.ne", nil, 3, 4, 0, 1},
	{"vset.u32.u32.ne", nil, 3, 3, 0, 0},
	{"vset.u32.u32.lt", nil, 1, 2, 0, 1},
	{"vset.u32.u32.lt", nil, 2, 2, 0, 0},
	{"vset.u32.u32.le", nil, 2, 2, 0, 1},
	{"vset.u32.u32.le", nil, 3, 2, 0, 0},
	{"vset.u32.u32.gt", nil, 3, 2, 0, 1},
	{"vset.u32.u32.gt", nil, 2, 2, 0, 0},
	{"vset.u32.u32.ge", nil, 2, 2, 0, 1},
	{"vset.u32.u32.ge", nil, 1, 2, 0, 0},
	{"vset.s32.u32.lt", nil, 0xffffffff, 0, 0, 1},          // -1 < 0
	{"vset.u32.u32.lt", nil, 0xffffffff, 0, 0, 0},          // 4294967295 < 0
	{"vset.s32.s32.gt", nil, 0, 0xffffffff, 0, 1},          // 0 > -1
	{"vset.u32.s32.eq", nil, 0xffffffff, 0xffffffff, 0, 0}, // 4294967295 != -1
	{"vset.u32.u32.ne", vm("a.h1"), 0x12340000, 0x1234, 0, 0},
	{"vset.s32.u32.lt", vm("a.b2", "b.b2"), 0x00800000, 0x00800000, 0, 1}, // -128 < 128
	{"vset.u32.u32.eq.add", nil, 1, 1, 41, 42},
	{"vset.u32.u32.ne.min", nil, 1, 2, 0, 0},
	{"vset.s32.s32.lt.max", nil, 0, 1, 0xffffffff, 0xffffffff}, // c is 4294967295
	{"vset.u32.u32.ge", vm("d.b2"), 3, 3, 0xAABBCCDD, 0xAA01CCDD},
	{"vset.u32.u32.gt", vm("d.h1"), 3, 3, 0xAABBCCDD, 0x0000CCDD},
	// vmad: 128-bit (a*b) + c.
	{"vmad.u32.u32.u32", nil, 3, 4, 5, 17},
	{"vmad.u32.u32.u32.shr15", vm("a.h0", "b.h0"), 0xAAAA8000, 0x55558000, 0, 0x8000}, // 2^30 >> 15
	{"vmad.s32.u32.u32", vm("-a"), 3, 4, 5, 0xfffffff9},                               // ~12 + 5 + 1 = -7
	{"vmad.s32.u32.u32", vm("-b"), 3, 4, 5, 0xfffffff9},
	{"vmad.u32.u32.u32", vm("-a", "-b"), 3, 4, 5, 17}, // two negations cancel
	{"vmad.s32.u32.u32", vm("-c"), 3, 4, 5, 7},        // 12 + ~5 + 1
	{"vmad.s32.s32.s32", vm("-a", "-b", "-c"), 3, 4, 5, 7},
	{"vmad.u32.u32.u32.po", nil, 3, 4, 5, 18},
	{"vmad.u32.u32.u32.po.shr7", nil, 1, 255, 0, 2},               // 256 >> 7
	{"vmad.s32.s32.s32.po", nil, 0xffffffff, 1, 0, 0},             // -1 + 0 + 1
	{"vmad.s32.s32.s32.shr7", nil, 0xffffffff, 1, 0, 0xffffffff},  // -1 >> 7 keeps the sign
	{"vmad.s32.s32.s32.shr7", nil, 0xffffff00, 1, 0, 0xfffffffe},  // -256 >> 7
	{"vmad.s32.s32.s32.shr15", nil, 0x10000, 0x10000, 0, 0x20000}, // 2^32 >> 15
	// (2^32-1)^2 = 2^64 - 2^33 + 1; >> 15 is 2^49 - 2^18.
	{"vmad.u32.u32.u32.shr15", nil, 0xffffffff, 0xffffffff, 0, 0xFFFC0000},
	{"vmad.u32.u32.u32.sat.shr15", nil, 0xffffffff, 0xffffffff, 0, 0xffffffff},
	{"vmad.s32.s32.s32.sat", nil, 0x7fffffff, 2, 0, 0x7fffffff}, // 2^32 - 2
	{"vmad.s32.s32.s32.sat", nil, 0x80000000, 2, 0, 0x80000000}, // -2^32
	{"vmad.u32.u32.u32.sat", nil, 0x10000, 0x10000, 0, 0xffffffff},
	{"vmad.u32.u32.u32.sat", nil, 0x10000, 0xffff, 0xffff, 0xffffffff}, // 2^32 - 1 exactly
	// -(2^64 - 2^33 + 1) is below int64: its low word is 0xFFFFFFFF, and
	// .sat takes S32_MIN.
	{"vmad.s32.u32.u32", vm("-a"), 0xffffffff, 0xffffffff, 0, 0xffffffff},
	{"vmad.s32.u32.u32.sat", vm("-a"), 0xffffffff, 0xffffffff, 0, 0x80000000},
	// 2^64 - 2^33 + 1 + ~0 + 1, signed because c is negated: above int64.
	{"vmad.s32.u32.u32.sat", vm("-c"), 0xffffffff, 0xffffffff, 0, 0x7fffffff},
	{"vmad.s32.s32.u32", nil, 0xffffffff, 0xffffffff, 0, 1}, // -1 * 4294967295
	{"vmad.s32.s32.u32.sat", nil, 0xffffffff, 0xffffffff, 0, 0x80000000},
	{"vmad.s32.s32.s32", vm("a.b1", "b.h1"), 0x0000FE00, 0x00030000, 1, 0xfffffffb}, // -2 * 3 + 1
	{"vmad.u32.u32.u32", vm("a.b2", "b.b3"), 0x00020000, 0x03000000, 0, 6},
	// c is extended by the final sign: signed here (b is .s32), so
	// 0xFFFFFFFF adds -1.
	{"vmad.s32.u32.s32", nil, 2, 3, 0xffffffff, 5},
	{"vmad.u32.u32.u32.sat", nil, 2, 3, 0xffffffff, 0xffffffff}, // unsigned: 6 + 4294967295
	// -c sign-extends the complement: c = 0x80000000 gives ~c = 0x7FFFFFFF,
	// + 1 = +2^31, and c = 0xFFFFFFFF gives +1 (RATIONALE.md).
	{"vmad.s32.u32.u32.sat", vm("-c"), 0, 0, 0x80000000, 0x7fffffff},
	{"vmad.s32.u32.u32.sat", vm("-c"), 0, 0, 0xffffffff, 1},
	{"vmad.s32.u32.u32.sat.shr7", vm("-a"), 0x100, 1, 0, 0xfffffffe}, // -256 >> 7
}

func TestVideoTable(t *testing.T) {
	for _, c := range videoCases {
		v := vs(t, c.name, c.marks...)
		if got := video(v, c.a, c.b, c.c); got != c.want {
			t.Errorf("%s %v a=%#x b=%#x c=%#x: got %#x, want %#x", c.name, c.marks, c.a, c.b, c.c, got, c.want)
		}
		if u := unpackVideo(v.pack()); u != v {
			t.Errorf("%s %v: packed and unpacked to %+v", c.name, c.marks, u)
		}
	}
}

// refVideo is an oracle for video: the ISA's pseudo-code (§9.7.18.1)
// transcribed with big integers, each typed variable of the pseudo-code
// (.s33, .s34, tmp[127:0], a 64-bit result) wrapped to its width where
// it is assigned.
func refVideo(v videoSpec, a, b, c uint32) uint32 {
	pow2 := func(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }
	// asWidth is x held in an n-bit variable: signed in [-2^(n-1), 2^(n-1)),
	// unsigned in [0, 2^n).
	asWidth := func(x *big.Int, n uint, signed bool) *big.Int {
		r := new(big.Int).Mod(x, pow2(n))
		if signed && r.Cmp(pow2(n-1)) >= 0 {
			r.Sub(r, pow2(n))
		}
		return r
	}
	// partSelectSignExtend: the bytes of x, little-endian, picked by sel.
	part := func(x uint32, signed bool, sel uint8) *big.Int {
		bytes := []int64{int64(x & 0xff), int64(x >> 8 & 0xff), int64(x >> 16 & 0xff), int64(x >> 24)}
		var val int64
		var width uint
		switch sel {
		case selB0, selB1, selB2, selB3:
			val, width = bytes[sel-selB0], 8
		case selH0:
			val, width = bytes[0]|bytes[1]<<8, 16
		case selH1:
			val, width = bytes[2]|bytes[3]<<8, 16
		default:
			val, width = int64(x), 32
		}
		return asWidth(big.NewInt(val), width, signed)
	}
	clamp := func(x *big.Int, lo, hi int64) *big.Int {
		if x.Cmp(big.NewInt(lo)) < 0 {
			return big.NewInt(lo)
		}
		if x.Cmp(big.NewInt(hi)) > 0 {
			return big.NewInt(hi)
		}
		return x
	}
	low32 := func(x *big.Int) uint32 { return uint32(asWidth(x, 32, false).Uint64()) }

	if v.vop == vMad {
		ta, tb := part(a, v.aSigned, v.asel), part(b, v.bSigned, v.bsel)
		negAB := v.negA != v.negB
		signedFinal := v.aSigned || v.bSigned || negAB || v.negC
		tmp := asWidth(new(big.Int).Mul(ta, tb), 128, true)
		lsb := int64(0)
		cc := c
		if v.po {
			lsb = 1
		} else if negAB {
			tmp = asWidth(new(big.Int).Not(tmp), 128, true)
			lsb = 1
		} else if v.negC {
			cc = ^c
			lsb = 1
		}
		c128 := big.NewInt(int64(cc))
		if signedFinal {
			c128 = big.NewInt(int64(int32(cc)))
		}
		tmp = asWidth(new(big.Int).Add(new(big.Int).Add(tmp, c128), big.NewInt(lsb)), 128, true)
		result := tmp
		if v.scale != 0 {
			// (tmp >> scale) & 0xffffffffffffffff, read with the final sign.
			result = asWidth(new(big.Int).Rsh(tmp, uint(v.scale)), 64, signedFinal)
		}
		if v.sat {
			if signedFinal {
				result = clamp(result, -1<<31, 1<<31-1)
			} else {
				result = clamp(result, 0, 1<<32-1)
			}
		}
		return low32(result)
	}

	ta := part(a, v.aSigned, v.asel)
	var tb *big.Int
	if v.vop == vShl || v.vop == vShr {
		tb = part(b, false, v.bsel)
		if !v.wrap && tb.Cmp(big.NewInt(32)) > 0 {
			tb = big.NewInt(32)
		}
		if v.wrap {
			tb = new(big.Int).And(tb, big.NewInt(0x1f))
		}
	} else {
		tb = part(b, v.bSigned, v.bsel)
	}
	var tmp *big.Int
	switch v.vop {
	case vAdd:
		tmp = new(big.Int).Add(ta, tb)
	case vSub:
		tmp = new(big.Int).Sub(ta, tb)
	case vAbsdiff:
		tmp = new(big.Int).Abs(new(big.Int).Sub(ta, tb))
	case vMin:
		tmp = ta
		if tb.Cmp(ta) < 0 {
			tmp = tb
		}
	case vMax:
		tmp = ta
		if tb.Cmp(ta) > 0 {
			tmp = tb
		}
	case vShl:
		tmp = new(big.Int).Lsh(ta, uint(tb.Uint64()))
	case vShr:
		tmp = new(big.Int).Rsh(ta, uint(tb.Uint64())) // floor: the sign fills
	case vSet:
		r := ta.Cmp(tb)
		ok := map[uint8]bool{cmpEQ: r == 0, cmpNE: r != 0, cmpLT: r < 0, cmpLE: r <= 0, cmpGT: r > 0, cmpGE: r >= 0}[v.cmp]
		tmp = big.NewInt(0)
		if ok {
			tmp = big.NewInt(1)
		}
	}
	tmp = asWidth(tmp, 34, true) // the .s34 intermediate
	// optSaturate(tmp, sat, isSigned(dtype), dsel), an .s33.
	if v.sat {
		var bitsOf uint = 32
		switch v.dsel {
		case selB0, selB1, selB2, selB3:
			bitsOf = 8
		case selH0, selH1:
			bitsOf = 16
		}
		if v.dSigned {
			tmp = clamp(tmp, -1<<(bitsOf-1), 1<<(bitsOf-1)-1)
		} else {
			tmp = clamp(tmp, 0, 1<<bitsOf-1)
		}
	}
	tmp = asWidth(tmp, 33, true)
	tc := part(c, v.dSigned, selWord) // c's sign follows dtype
	switch {
	case v.op2 == op2Add:
		return low32(new(big.Int).Add(tmp, tc))
	case v.op2 == op2Min:
		if tc.Cmp(tmp) < 0 {
			return low32(tc)
		}
		return low32(tmp)
	case v.op2 == op2Max:
		if tc.Cmp(tmp) > 0 {
			return low32(tc)
		}
		return low32(tmp)
	}
	// optMerge: tmp's low byte or half-word into c at dsel.
	var mask, shift uint32
	switch v.dsel {
	case selB0, selB1, selB2, selB3:
		mask, shift = 0xff, 8*uint32(v.dsel-selB0)
	case selH0, selH1:
		mask, shift = 0xffff, 16*uint32(v.dsel-selH0)
	default:
		return low32(tmp)
	}
	return low32(tmp)&mask<<shift | c&^(mask<<shift)
}

// TestVideoOracle checks video against refVideo on random forms and
// operands, edge values often.
func TestVideoOracle(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	edges := []uint32{0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 31, 32, 33}
	word := func() uint32 {
		switch rng.Intn(4) {
		case 0:
			return edges[rng.Intn(len(edges))]
		case 1:
			return edges[rng.Intn(len(edges))] << (8 * rng.Intn(4))
		}
		return rng.Uint32()
	}
	n := 300000
	if testing.Short() {
		n = 30000
	}
	for i := 0; i < n; i++ {
		v := videoSpec{vop: uint8(rng.Intn(9)), dSigned: rng.Intn(2) == 0, aSigned: rng.Intn(2) == 0, bSigned: rng.Intn(2) == 0,
			asel: uint8(rng.Intn(7)), bsel: uint8(rng.Intn(7)), sat: rng.Intn(2) == 0}
		switch v.vop {
		case vShl, vShr:
			v.bSigned, v.wrap = false, rng.Intn(2) == 0
		case vSet:
			v.dSigned, v.sat, v.cmp = false, false, uint8(rng.Intn(6))
		case vMad:
			v.negA, v.negB, v.negC, v.po = rng.Intn(2) == 0, rng.Intn(2) == 0, rng.Intn(2) == 0, rng.Intn(4) == 0
			v.scale = []uint8{0, 7, 15}[rng.Intn(3)]
		}
		if v.vop != vMad {
			if v.op2 = uint8(rng.Intn(4)); v.op2 == op2None {
				v.dsel = uint8(rng.Intn(7))
			}
		}
		a, b, c := word(), word(), word()
		if got, want := video(v, a, b, c), refVideo(v, a, b, c); got != want {
			t.Fatalf("%+v a=%#x b=%#x c=%#x: got %#x, oracle %#x", v, a, b, c, got, want)
		}
	}
}

// TestVideoTableAgainstOracle: the hand-worked table and the oracle
// agree, so each checks the other's reading of the pseudo-code.
func TestVideoTableAgainstOracle(t *testing.T) {
	for _, c := range videoCases {
		if got := refVideo(vs(t, c.name, c.marks...), c.a, c.b, c.c); got != c.want {
			t.Errorf("%s %v a=%#x b=%#x c=%#x: oracle %#x, table %#x", c.name, c.marks, c.a, c.b, c.c, got, c.want)
		}
	}
}
