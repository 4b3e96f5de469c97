package cpuemu_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// Hand-written PTX kernels, one instruction family at a time. Every expected
// value below is derived by hand from the PTX ISA (see the comments),
// never copied from the emulator.
//
// Helpers in this file carry the "pt" prefix so that they cannot collide
// with the helpers of the other _test files of package cpuemu_test.

const ptHeader = ".version 7.8\n.target sm_70\n.address_size 64\n"

func ptD1(x uint32) cpuemu.Dim3 { return cpuemu.Dim3{X: x, Y: 1, Z: 1} }

// ptLoad loads PTX text that must be valid.
func ptLoad(t testing.TB, name, src string) *cpuemu.Module {
	t.Helper()
	m, err := cpuemu.Load(name, []byte(src))
	if err != nil {
		t.Fatalf("load %s: %v\n%s", name, err, ptNumbered(src))
	}
	return m
}

// ptNumbered prints src with line numbers, for failure messages.
func ptNumbered(src string) string {
	var b strings.Builder
	for i, l := range strings.Split(src, "\n") {
		fmt.Fprintf(&b, "%4d %s\n", i+1, l)
	}
	return b.String()
}

// ptLine is the 1-based line of the first line of src containing sub.
func ptLine(t testing.TB, src, sub string) int {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, sub) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", sub)
	return 0
}

// ptBuf allocates n zeroed bytes, then copies init into them.
func ptBuf(t testing.TB, d *cpuemu.Device, n int, init []byte) cpuemu.DevicePtr {
	t.Helper()
	p, err := d.Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(init) > 0 {
		if err := d.Write(p, init); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func ptRead(t testing.TB, d *cpuemu.Device, p cpuemu.DevicePtr, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if err := d.Read(b, p); err != nil {
		t.Fatal(err)
	}
	return b
}

func ptWords(b []byte) []uint32 {
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w
}

func ptBytes(w ...uint32) []byte {
	b := make([]byte, 4*len(w))
	for i, x := range w {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func ptF32(x float32) uint64 { return uint64(math.Float32bits(x)) }

// ptNoDiag fails when the launch reported undefined behaviour.
func ptNoDiag(t testing.TB, res *cpuemu.Result) {
	t.Helper()
	for _, d := range res.Diagnostics {
		t.Errorf("unexpected diagnostic: %s", d)
	}
}

// ptDiag returns the diagnostic of the given kind, failing when absent.
func ptDiag(t testing.TB, res *cpuemu.Result, kind string) cpuemu.Diagnostic {
	t.Helper()
	for _, d := range res.Diagnostics {
		if d.Kind == kind {
			return d
		}
	}
	t.Errorf("no %q diagnostic; got %v", kind, res.Diagnostics)
	return cpuemu.Diagnostic{}
}

// ---------------------------------------------------------------------------
// The ALU template: lane i reads the 32-byte record in[i] = {a, b, c, d}
// (four little-endian u64) into every register class, runs the body, and
// writes out[i] = {%r10, %r11, %rd13}. %r10, %r11 and %rd13 start at zero, so
// every output a body does not write must read back as zero.
//
//	%rd10 %rd11 %rd12   = a, b, c (64-bit)
//	%r1 %r2 %r3 %r4     = low words of a, b, c, d
//	%f1 %f2 %f3         = low words of a, b, c as f32
//	%fd1 %fd2           = a, b as f64
//	%rs1 %rs2           = low halves of a, b
//	%p3                 = (c != 0)

func ptALUKernel(body string) string { return ptALUKernelFor(ptHeader, body) }

// ptALUKernelFor is ptALUKernel under another .version/.target header.
func ptALUKernelFor(header, body string) string {
	return header + `
.visible .entry k(
	.param .u64 k_param_0,
	.param .u64 k_param_1
)
{
	.reg .pred 	%p<8>;
	.reg .b16 	%rs<16>;
	.reg .b32 	%r<24>;
	.reg .b64 	%rd<24>;
	.reg .f32 	%f<16>;
	.reg .f64 	%fd<16>;

	ld.param.u64 	%rd1, [k_param_0];
	ld.param.u64 	%rd2, [k_param_1];
	cvta.to.global.u64 	%rd1, %rd1;
	cvta.to.global.u64 	%rd2, %rd2;
	mov.u32 	%r0, %tid.x;
	mul.wide.u32 	%rd3, %r0, 32;
	add.s64 	%rd4, %rd1, %rd3;
	add.s64 	%rd5, %rd2, %rd3;
	ld.global.u64 	%rd10, [%rd4];
	ld.global.u64 	%rd11, [%rd4+8];
	ld.global.u64 	%rd12, [%rd4+16];
	ld.global.u32 	%r1, [%rd4];
	ld.global.u32 	%r2, [%rd4+8];
	ld.global.u32 	%r3, [%rd4+16];
	ld.global.u32 	%r4, [%rd4+24];
	ld.global.f32 	%f1, [%rd4];
	ld.global.f32 	%f2, [%rd4+8];
	ld.global.f32 	%f3, [%rd4+16];
	ld.global.f64 	%fd1, [%rd4];
	ld.global.f64 	%fd2, [%rd4+8];
	ld.global.u16 	%rs1, [%rd4];
	ld.global.u16 	%rs2, [%rd4+8];
	mov.u32 	%r10, 0;
	mov.u32 	%r11, 0;
	mov.u64 	%rd13, 0;
	setp.ne.s32 	%p3, %r3, 0;
	// BODY
` + body + `
	// END
	st.global.u32 	[%rd5], %r10;
	st.global.u32 	[%rd5+4], %r11;
	st.global.u64 	[%rd5+8], %rd13;
	ret;
}
`
}

type aluCase struct {
	a, b, c, d uint64
	r10, r11   uint32 // expected %r10, %r11
	rd13       uint64 // expected %rd13
}

type aluTest struct {
	name  string
	body  string
	cases []aluCase
	// diag is the one diagnostic kind the launch must report, diagCount
	// times; "" means no diagnostic at all.
	diag      string
	diagCount int
	// nanR10: %r10 must be an f32 NaN (NaN results are unspecified in PTX),
	// instead of equal to r10.
	nanR10 bool
	// header replaces ptHeader, for forms that need a newer target.
	header string
}

func runALU(t *testing.T, tc aluTest) {
	t.Helper()
	header := ptHeader
	if tc.header != "" {
		header = tc.header
	}
	src := ptALUKernelFor(header, tc.body)
	m := ptLoad(t, tc.name, src)
	d := cpuemu.NewDevice()
	n := len(tc.cases)
	in := make([]byte, 32*n)
	for i, c := range tc.cases {
		binary.LittleEndian.PutUint64(in[32*i:], c.a)
		binary.LittleEndian.PutUint64(in[32*i+8:], c.b)
		binary.LittleEndian.PutUint64(in[32*i+16:], c.c)
		binary.LittleEndian.PutUint64(in[32*i+24:], c.d)
	}
	pin := ptBuf(t, d, len(in), in)
	pout := ptBuf(t, d, len(in), nil)
	res, err := m.Launch(d, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(uint32(n))}, pin, pout)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	out := ptRead(t, d, pout, len(in))
	for i, c := range tc.cases {
		r10 := binary.LittleEndian.Uint32(out[32*i:])
		r11 := binary.LittleEndian.Uint32(out[32*i+4:])
		rd13 := binary.LittleEndian.Uint64(out[32*i+8:])
		ok10 := r10 == c.r10
		if tc.nanR10 {
			ok10 = math.IsNaN(float64(math.Float32frombits(r10)))
		}
		if !ok10 || r11 != c.r11 || rd13 != c.rd13 {
			t.Errorf("%s lane %d (a=%#x b=%#x c=%#x d=%#x): got r10=%#x r11=%#x rd13=%#x, want r10=%#x r11=%#x rd13=%#x (nan=%v)",
				tc.name, i, c.a, c.b, c.c, c.d, r10, r11, rd13, c.r10, c.r11, c.rd13, tc.nanR10)
		}
	}
	if tc.diag == "" {
		ptNoDiag(t, res)
		return
	}
	body0 := ptLine(t, src, "// BODY")
	end := ptLine(t, src, "// END")
	for _, dg := range res.Diagnostics {
		if dg.Kind != tc.diag {
			t.Errorf("unexpected diagnostic %s", dg)
			continue
		}
		if dg.Count != tc.diagCount {
			t.Errorf("%s: diagnostic count %d, want %d (%s)", tc.name, dg.Count, tc.diagCount, dg)
		}
		if dg.Site.PTXLine <= body0 || dg.Site.PTXLine >= end {
			t.Errorf("%s: diagnostic at ptx line %d, want inside the body (lines %d-%d)", tc.name, dg.Site.PTXLine, body0+1, end-1)
		}
	}
	ptDiag(t, res, tc.diag)
}

const (
	intMin   = 0x80000000
	intMax   = 0x7fffffff
	allOnes  = 0xffffffff
	int64Min = 0x8000000000000000
	ones64   = 0xffffffffffffffff
)

func u32(x int32) uint64 { return uint64(uint32(x)) }

// Integer arithmetic (PTX ISA §9.7.1): wrapping add/sub, mul.lo/.hi/.wide,
// mad, div/rem, min/max, abs/neg.
var intArithTests = []aluTest{
	{name: "add.s32", body: "\tadd.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 1, b: 2, r10: 3},
		{a: intMax, b: 1, r10: intMin}, // wraps, no .sat
		{a: allOnes, b: 1, r10: 0},
	}},
	{name: "add.sat.s32", body: "\tadd.sat.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: intMax, b: 1, r10: intMax},           // clamps at INT_MAX
		{a: intMin, b: allOnes, r10: intMin},     // INT_MIN + -1 clamps at INT_MIN
		{a: u32(-5), b: 3, r10: uint32(u32(-2))}, // in range: -2
	}},
	{name: "sub.s32", body: "\tsub.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 5, b: 7, r10: 0xfffffffe}, // -2
		{a: intMin, b: 1, r10: intMax},
	}},
	{name: "add.s64", body: "\tadd.s64 %rd13, %rd10, %rd11;", cases: []aluCase{
		{a: 0xffffffff, b: 1, rd13: 0x100000000}, // carry into the high word
		{a: ones64, b: 2, rd13: 1},
	}},
	{name: "add.u16", body: "\tadd.u16 %rs3, %rs1, %rs2;\n\tcvt.u32.u16 %r10, %rs3;", cases: []aluCase{
		{a: 0xffff, b: 2, r10: 1}, // 16-bit registers stay 16 bits wide
	}},
	{name: "mul.lo.s32", body: "\tmul.lo.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 0x10000, b: 0x10000, r10: 0},         // 2^32: low word 0
		{a: 3, b: u32(-2), r10: uint32(u32(-6))}, // -6
		{a: 0x12345, b: 0x10, r10: 0x123450},
	}},
	{name: "mul.hi.u32", body: "\tmul.hi.u32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 0x10000, b: 0x10000, r10: 1},          // 2^32 >> 32
		{a: allOnes, b: allOnes, r10: 0xfffffffe}, // (2^32-1)^2 = 0xfffffffe_00000001
		{a: 7, b: 9, r10: 0},
	}},
	{name: "mul.hi.s32", body: "\tmul.hi.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: allOnes, b: allOnes, r10: 0},        // -1*-1 = 1
		{a: allOnes, b: 1, r10: allOnes},        // -1 = 0xffffffff_ffffffff
		{a: intMin, b: intMin, r10: 0x40000000}, // 2^62 >> 32 = 2^30
		{a: 2, b: 0x40000000, r10: 0},           // 2^31: high word 0
	}},
	{name: "mul.wide.u32", body: "\tmul.wide.u32 %rd13, %r1, %r2;", cases: []aluCase{
		{a: allOnes, b: allOnes, rd13: 0xfffffffe00000001},
		{a: 0x10000, b: 0x10000, rd13: 0x100000000},
	}},
	{name: "mul.wide.s32", body: "\tmul.wide.s32 %rd13, %r1, %r2;", cases: []aluCase{
		{a: allOnes, b: 5, rd13: 0xfffffffffffffffb},     // -5
		{a: intMin, b: intMin, rd13: 0x4000000000000000}, // 2^62
	}},
	{name: "mul.wide.u16", body: "\tmul.wide.u16 %r10, %rs1, %rs2;", cases: []aluCase{
		{a: 0xffff, b: 0xffff, r10: 0xfffe0001},
	}},
	{name: "mul.lo.u64", body: "\tmul.lo.u64 %rd13, %rd10, %rd11;", cases: []aluCase{
		{a: 0x100000001, b: 0x100000001, rd13: 0x200000001}, // (2^32+1)^2 = 2^64 + 2^33 + 1
	}},
	{name: "mul.hi.u64", body: "\tmul.hi.u64 %rd13, %rd10, %rd11;", cases: []aluCase{
		{a: ones64, b: ones64, rd13: 0xfffffffffffffffe}, // (2^64-1)^2 = 2^128 - 2^65 + 1
		{a: 1 << 63, b: 4, rd13: 2},
	}},
	{name: "mad.lo.s32", body: "\tmad.lo.s32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 3, b: 4, c: 5, r10: 17},
		{a: 0x10000, b: 0x10000, c: 7, r10: 7},    // low word of 2^32 is 0
		{a: allOnes, b: 3, c: 1, r10: 0xfffffffe}, // -3 + 1 = -2
	}},
	{name: "mad.hi.u32", body: "\tmad.hi.u32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: allOnes, b: allOnes, c: 2, r10: 0}, // 0xfffffffe + 2 wraps to 0
	}},
	{name: "mad.wide.u32", body: "\tmad.wide.u32 %rd13, %r1, %r2, %rd12;", cases: []aluCase{
		{a: allOnes, b: allOnes, c: 0x1fffffffe, rd13: ones64}, // 0xfffffffe00000001 + 0x1fffffffe
		{a: 2, b: 3, c: 0x100000000, rd13: 0x100000006},
	}},
	{name: "mad.wide.s32", body: "\tmad.wide.s32 %rd13, %r1, %r2, %rd12;", cases: []aluCase{
		{a: u32(-2), b: 3, c: 10, rd13: 4},
		{a: u32(-2), b: 3, c: 0, rd13: 0xfffffffffffffffa}, // -6 sign-extended to 64 bits
	}},
	// div/rem: C-like truncation; x/0 and x%0 give all ones with a
	// diagnostic; INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0.
	{name: "div.u32", body: "\tdiv.u32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 7, b: 2, r10: 3},
		{a: allOnes, b: 16, r10: 0x0fffffff},
		{a: 0x80000000, b: 3, r10: 0x2aaaaaaa}, // 2147483648/3 = 715827882 (unsigned, not -715827882)
	}},
	{name: "div.u32/0", body: "\tdiv.u32 %r10, %r1, %r2;", diag: "integer-division-by-zero", diagCount: 2, cases: []aluCase{
		{a: 7, b: 0, r10: allOnes},
		{a: 9, b: 3, r10: 3},
		{a: 0, b: 0, r10: allOnes},
	}},
	{name: "div.s32", body: "\tdiv.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: u32(-7), b: 2, r10: uint32(u32(-3))}, // truncates toward zero
		{a: 7, b: u32(-2), r10: uint32(u32(-3))},
		{a: intMin, b: allOnes, r10: intMin}, // INT_MIN / -1
		{a: u32(-8), b: u32(-2), r10: 4},
	}},
	{name: "div.s32/0", body: "\tdiv.s32 %r10, %r1, %r2;", diag: "integer-division-by-zero", diagCount: 1, cases: []aluCase{
		{a: 5, b: 0, r10: allOnes},
		{a: 5, b: 5, r10: 1},
	}},
	{name: "rem.u32", body: "\trem.u32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 7, b: 2, r10: 1},
		{a: allOnes, b: 16, r10: 15},
	}},
	{name: "rem.u32/0", body: "\trem.u32 %r10, %r1, %r2;", diag: "integer-division-by-zero", diagCount: 1, cases: []aluCase{
		{a: 5, b: 0, r10: allOnes},
	}},
	{name: "rem.s32", body: "\trem.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: u32(-7), b: 2, r10: allOnes}, // -1: sign of the dividend
		{a: 7, b: u32(-2), r10: 1},
		{a: intMin, b: allOnes, r10: 0}, // INT_MIN % -1
	}},
	{name: "rem.s32/0", body: "\trem.s32 %r10, %r1, %r2;", diag: "integer-division-by-zero", diagCount: 1, cases: []aluCase{
		{a: u32(-5), b: 0, r10: allOnes},
	}},
	{name: "div.s64", body: "\tdiv.s64 %rd13, %rd10, %rd11;", cases: []aluCase{
		{a: int64Min, b: ones64, rd13: int64Min},                        // INT64_MIN / -1
		{a: uint64(0xfffffffffffffff7), b: 4, rd13: 0xfffffffffffffffe}, // -9/4 = -2
	}},
	{name: "rem.s64", body: "\trem.s64 %rd13, %rd10, %rd11;", cases: []aluCase{
		{a: int64Min, b: ones64, rd13: 0},
		{a: uint64(0xfffffffffffffff7), b: 4, rd13: ones64}, // -9 % 4 = -1
	}},
	{name: "div.u64/0", body: "\tdiv.u64 %rd13, %rd10, %rd11;", diag: "integer-division-by-zero", diagCount: 1, cases: []aluCase{
		{a: 12345, b: 0, rd13: ones64},
	}},
	{name: "min.s32", body: "\tmin.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: allOnes, b: 1, r10: allOnes}, // -1 < 1
		{a: intMin, b: intMax, r10: intMin},
	}},
	{name: "min.u32", body: "\tmin.u32 %r10, %r1, %r2;", cases: []aluCase{
		{a: allOnes, b: 1, r10: 1},
		{a: intMin, b: intMax, r10: intMax},
	}},
	{name: "max.s32", body: "\tmax.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: allOnes, b: 1, r10: 1},
		{a: intMin, b: intMax, r10: intMax},
	}},
	{name: "max.u32", body: "\tmax.u32 %r10, %r1, %r2;", cases: []aluCase{
		{a: allOnes, b: 1, r10: allOnes},
		{a: intMin, b: intMax, r10: intMin},
	}},
	{name: "min.s64", body: "\tmin.s64 %rd13, %rd10, %rd11;", cases: []aluCase{
		{a: ones64, b: 1, rd13: ones64},
	}},
	{name: "abs.s32", body: "\tabs.s32 %r10, %r1;", cases: []aluCase{
		{a: intMin, r10: intMin}, // wraps
		{a: u32(-5), r10: 5},
		{a: 5, r10: 5},
	}},
	{name: "neg.s32", body: "\tneg.s32 %r10, %r1;", cases: []aluCase{
		{a: intMin, r10: intMin},
		{a: 5, r10: uint32(u32(-5))},
		{a: 0, r10: 0},
	}},
	{name: "abs.s64", body: "\tabs.s64 %rd13, %rd10;", cases: []aluCase{
		{a: int64Min, rd13: int64Min},
		{a: ones64, rd13: 1},
	}},
	// add.cc / addc: a 64-bit add from 32-bit halves {c:a} + {d:b};
	// 0xffffffff + 1 carries into 5 + 6.
	{name: "add.cc+addc", body: "\tadd.cc.u32 %r10, %r1, %r2;\n\taddc.u32 %r11, %r3, %r4;", cases: []aluCase{
		{a: allOnes, b: 1, c: 5, d: 6, r10: 0, r11: 12},
		{a: 1, b: 1, c: 5, d: 6, r10: 2, r11: 11},
	}},
	// sub.cc then addc 0, 0 reads CC.CF. It is a true carry: a + ~b + 1
	// carries out exactly when a >= b (unsigned), so the flag is 1 then,
	// the ISA's "borrow" being !CF (ptxas' SASS agrees).
	{name: "sub.cc then addc reads the carry", body: "\tsub.cc.u32 %r10, %r1, %r2;\n\taddc.u32 %r11, 0, 0;", cases: []aluCase{
		{a: 5, b: 3, r10: 2, r11: 1},
		{a: 3, b: 3, r10: 0, r11: 1},
		{a: 3, b: 5, r10: 0xfffffffe, r11: 0},
		{a: 0, b: allOnes, r10: 1, r11: 0},
	}},
	// subc after sub.cc: {c:a} - {d:b} as a 64-bit subtraction from
	// 32-bit halves. 0x5_00000000 - 0x1_00000001 = 0x3_ffffffff.
	{name: "sub.cc+subc", body: "\tsub.cc.u32 %r10, %r1, %r2;\n\tsubc.u32 %r11, %r3, %r4;", cases: []aluCase{
		{a: 0, b: 1, c: 5, d: 1, r10: allOnes, r11: 3},
		{a: 7, b: 2, c: 5, d: 1, r10: 5, r11: 4},
		{a: 0, b: 0, c: 0, d: 0, r10: 0, r11: 0},
	}},
	// add.cc then subc: 0xffffffff + 1 carries (CF = 1), and subc computes
	// c + ~d + CF = c - d: 9 - 4 = 5; without the carry, 9 - 4 - 1 = 4.
	{name: "add.cc then subc", body: "\tadd.cc.u32 %r10, %r1, %r2;\n\tsubc.u32 %r11, %r3, %r4;", cases: []aluCase{
		{a: allOnes, b: 1, c: 9, d: 4, r10: 0, r11: 5},
		{a: 1, b: 1, c: 9, d: 4, r10: 2, r11: 4},
	}},
	// subc.cc chains: 0 - 1 - 0 with CF = 1 from sub.cc of equal values
	// gives 0xffffffff and clears CF, so the next addc adds nothing.
	{name: "subc.cc then addc", body: "\tsub.cc.u32 %r10, %r1, %r1;\n\tsubc.cc.u32 %r10, %r3, %r4;\n\taddc.u32 %r11, 0, 0;", cases: []aluCase{
		{a: 7, c: 0, d: 1, r10: allOnes, r11: 0},
		{a: 7, c: 2, d: 1, r10: 1, r11: 1},
	}},
	// sad: c + |a-b|, compared per type.
	{name: "sad.s32", body: "\tsad.s32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: allOnes, b: 1, c: 10, r10: 12}, // |-1 - 1| = 2
	}},
	{name: "sad.u32", body: "\tsad.u32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: allOnes, b: 1, c: 0, r10: 0xfffffffe},
	}},
	// mul24.lo: the low 32 bits of the product of the low 24 bits.
	{name: "mul24.lo.u32", body: "\tmul24.lo.u32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 0x01000001, b: 2, r10: 2}, // bit 24 of a is ignored
	}},
	{name: "mul24.lo.s32", body: "\tmul24.lo.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 0x00ffffff, b: 2, r10: 0xfffffffe}, // a[23:0] = -1 as a 24-bit signed value
	}},
	// cvt int -> int with .sat clamps; a wider destination register is
	// re-extended per the destination type (§6.5.1).
	{name: "cvt.sat.u8.s32", body: "\tcvt.sat.u8.s32 %r10, %r1;", cases: []aluCase{
		{a: u32(-5), r10: 0}, {a: 300, r10: 255}, {a: 100, r10: 100},
	}},
	{name: "cvt.s16.u32", body: "\tcvt.s16.u32 %r10, %r1;", cases: []aluCase{
		{a: 0x18000, r10: 0xffff8000}, // chop to 0x8000, then sign-extend
	}},
}

func TestIntegerArithmetic(t *testing.T) {
	for _, tc := range intArithTests {
		t.Run(tc.name, func(t *testing.T) { runALU(t, tc) })
	}
}

// Logic, shifts and bit manipulation (§9.7.7, §9.7.1).
var bitTests = []aluTest{
	{name: "and.b32", body: "\tand.b32 %r10, %r1, %r2;", cases: []aluCase{{a: 0xf0f0f0f0, b: 0xff00ff00, r10: 0xf000f000}}},
	{name: "or.b32", body: "\tor.b32 %r10, %r1, %r2;", cases: []aluCase{{a: 0xf0f0f0f0, b: 0xff00ff00, r10: 0xfff0fff0}}},
	{name: "xor.b32", body: "\txor.b32 %r10, %r1, %r2;", cases: []aluCase{{a: 0xf0f0f0f0, b: 0xff00ff00, r10: 0x0ff00ff0}}},
	{name: "not.b32", body: "\tnot.b32 %r10, %r1;", cases: []aluCase{{a: 0xf0f0f0f0, r10: 0x0f0f0f0f}, {a: 0, r10: allOnes}}},
	{name: "cnot.b32", body: "\tcnot.b32 %r10, %r1;", cases: []aluCase{
		{a: 0, r10: 1}, {a: 5, r10: 0}, {a: intMin, r10: 0},
	}},
	{name: "and.pred", body: "\tsetp.ne.s32 %p1, %r1, 0;\n\tand.pred %p2, %p1, %p3;\n\tor.pred %p4, %p1, %p3;\n\tselp.u32 %r10, 1, 0, %p2;\n\tselp.u32 %r11, 1, 0, %p4;", cases: []aluCase{
		{a: 1, c: 1, r10: 1, r11: 1},
		{a: 1, c: 0, r10: 0, r11: 1},
		{a: 0, c: 0, r10: 0, r11: 0},
	}},
	// shl/shr: the amount is unsigned; amounts >= width give 0, or the sign
	// fill for shr.s (§9.7.7.7/.8).
	{name: "shl.b32", body: "\tshl.b32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 1, b: 31, r10: 0x80000000},
		{a: 1, b: 32, r10: 0},
		{a: 1, b: 33, r10: 0}, // not 1<<(33&31) = 2
		{a: allOnes, b: 100, r10: 0},
		{a: 3, b: 4, r10: 0x30},
	}},
	{name: "shr.u32", body: "\tshr.u32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 0x80000000, b: 31, r10: 1},
		{a: 0x80000000, b: 32, r10: 0},
		{a: allOnes, b: 0xffffffff, r10: 0},
	}},
	{name: "shr.b32", body: "\tshr.b32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 0x80000000, b: 4, r10: 0x08000000}, // logical, no sign fill
	}},
	{name: "shr.s32", body: "\tshr.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: 0x80000000, b: 31, r10: allOnes},
		{a: 0x80000000, b: 32, r10: allOnes},
		{a: 0x80000000, b: 0xffffffff, r10: allOnes},
		{a: 0x40000000, b: 40, r10: 0},
		{a: 0x80000000, b: 4, r10: 0xf8000000},
	}},
	{name: "shl.b64", body: "\tshl.b64 %rd13, %rd10, %r2;", cases: []aluCase{
		{a: 1, b: 63, rd13: 1 << 63},
		{a: 1, b: 64, rd13: 0},
		{a: 1, b: 32, rd13: 1 << 32},
	}},
	{name: "shr.s64", body: "\tshr.s64 %rd13, %rd10, %r2;", cases: []aluCase{
		{a: int64Min, b: 64, rd13: ones64},
		{a: int64Min, b: 60, rd13: 0xfffffffffffffff8},
		{a: 1 << 62, b: 70, rd13: 0},
	}},
	{name: "popc.b32", body: "\tpopc.b32 %r10, %r1;", cases: []aluCase{
		{a: 0, r10: 0}, {a: allOnes, r10: 32}, {a: 0xf0f0, r10: 8},
	}},
	{name: "popc.b64", body: "\tpopc.b64 %r10, %rd10;", cases: []aluCase{
		{a: ones64, r10: 64}, {a: 0x8000000000000001, r10: 2},
	}},
	{name: "clz.b32", body: "\tclz.b32 %r10, %r1;", cases: []aluCase{
		{a: 0, r10: 32}, {a: 1, r10: 31}, {a: 0x80000000, r10: 0}, {a: 0x00010000, r10: 15},
	}},
	{name: "clz.b64", body: "\tclz.b64 %r10, %rd10;", cases: []aluCase{
		{a: 0, r10: 64}, {a: 1, r10: 63}, {a: 0x100000000, r10: 31},
	}},
	// 0x12345678 = nibbles 1..8; reversed: nibble order 8..1 each mirrored:
	// rev(8)=1 rev(7)=e rev(6)=6 rev(5)=a rev(4)=2 rev(3)=c rev(2)=4 rev(1)=8.
	{name: "brev.b32", body: "\tbrev.b32 %r10, %r1;", cases: []aluCase{
		{a: 1, r10: 0x80000000}, {a: 0x12345678, r10: 0x1e6a2c48}, {a: 0x80000000, r10: 1},
	}},
	{name: "brev.b64", body: "\tbrev.b64 %rd13, %rd10;", cases: []aluCase{
		{a: 1, rd13: 1 << 63}, {a: 0x12345678, rd13: 0x1e6a2c4800000000},
	}},
	// bfe: pos = b&0xff, len = c&0xff; fill 0 (u) or the field's top bit
	// a[min(pos+len-1, 31)] (s); len 0 gives 0.
	{name: "bfe.u32", body: "\tbfe.u32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x12345678, b: 4, c: 8, r10: 0x67},
		{a: 0x12345678, b: 4, c: 0, r10: 0},
		{a: 0x80000000, b: 40, c: 4, r10: 0},       // pos > msb
		{a: 0xf0000000, b: 28, c: 8, r10: 0xf},     // over-long field: a >> 28
		{a: 0x12345678, b: 0x104, c: 8, r10: 0x67}, // only pos[7:0] counts
	}},
	{name: "bfe.s32", body: "\tbfe.s32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x000000f0, b: 4, c: 4, r10: allOnes},  // field 0xf, top bit set
		{a: 0x12345678, b: 4, c: 8, r10: 0x67},     // field 0x67, top bit clear
		{a: 0x80000000, b: 40, c: 4, r10: allOnes}, // pos > msb: copies of a[31]
		{a: 0xf0000000, b: 28, c: 8, r10: allOnes}, // fill = a[min(35,31)] = 1
		{a: 0x0000f000, b: 12, c: 0, r10: 0},       // len 0
	}},
	{name: "bfe.u64", body: "\tbfe.u64 %rd13, %rd10, %r2, %r3;", cases: []aluCase{
		{a: 0x123456789abcdef0, b: 32, c: 16, rd13: 0x5678},
	}},
	// bfi: f = b with bits [pos, pos+len) (cut at bit 31) from a's low bits.
	{name: "bfi.b32", body: "\tbfi.b32 %r10, %r1, %r2, %r3, %r4;", cases: []aluCase{
		{a: 0xab, b: 0x11223344, c: 8, d: 8, r10: 0x1122ab44},
		{a: allOnes, b: 0, c: 28, d: 8, r10: 0xf0000000},
		{a: allOnes, b: 0x12345678, c: 4, d: 0, r10: 0x12345678},  // len 0
		{a: allOnes, b: 0x12345678, c: 32, d: 4, r10: 0x12345678}, // pos > msb
		{a: 0x5, b: allOnes, c: 0, d: 3, r10: 0xfffffffd},
	}},
	// prmt: a = 0x03020100 (bytes 0-3 = 00 01 02 03), b = 0x87868584 (bytes
	// 4-7 = 84 85 86 87). Selector nibble k picks output byte k; bit 3 of
	// a nibble replicates the picked byte's sign.
	{name: "prmt.b32", body: "\tprmt.b32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x03020100, b: 0x87868584, c: 0x3210, r10: 0x03020100},
		{a: 0x03020100, b: 0x87868584, c: 0x7654, r10: 0x87868584},
		{a: 0x03020100, b: 0x87868584, c: 0x0123, r10: 0x00010203},
		{a: 0x03020100, b: 0x87868584, c: 0x4444, r10: 0x84848484},
		{a: 0x03020100, b: 0x87868584, c: 0xc000, r10: 0xff000000},     // byte 3: sign of byte 4 (0x84)
		{a: 0x03020100, b: 0x87868584, c: 0x8888, r10: 0},              // sign of byte 0 (0x00)
		{a: 0x03020100, b: 0x87868584, c: 0xffff3210, r10: 0x03020100}, // c[31:16] ignored
	}},
	// Modes use s = c&3. f4e: byte k = src[s+k]; b4e: src[(s-k) mod 8];
	// rc8: src[s]; ecl: src[max(k,s)]; ecr: src[min(k,s)];
	// rc16: src[2(s&1)+(k&1)].
	{name: "prmt.b32.f4e", body: "\tprmt.b32.f4e %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x03020100, b: 0x87868584, c: 1, r10: 0x84030201},
	}},
	{name: "prmt.b32.b4e", body: "\tprmt.b32.b4e %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x03020100, b: 0x87868584, c: 1, r10: 0x86870001}, // src 1,0,7,6
	}},
	{name: "prmt.b32.rc8", body: "\tprmt.b32.rc8 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x03020100, b: 0x87868584, c: 2, r10: 0x02020202},
	}},
	{name: "prmt.b32.ecl", body: "\tprmt.b32.ecl %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x03020100, b: 0x87868584, c: 2, r10: 0x03020202}, // src 2,2,2,3
	}},
	{name: "prmt.b32.ecr", body: "\tprmt.b32.ecr %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x03020100, b: 0x87868584, c: 2, r10: 0x02020100}, // src 0,1,2,2
	}},
	{name: "prmt.b32.rc16", body: "\tprmt.b32.rc16 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x03020100, b: 0x87868584, c: 1, r10: 0x03020302}, // src 2,3,2,3
	}},
	// mov.b64 {lo, hi}: the first element is the low half (§9.7.8.2).
	{name: "mov.b64.pack", body: "\tmov.b64 %rd13, {%r1, %r2};", cases: []aluCase{
		{a: 0x11111111, b: 0x22222222, rd13: 0x2222222211111111},
	}},
	{name: "mov.b64.unpack", body: "\tmov.b64 {%r10, %r11}, %rd10;", cases: []aluCase{
		{a: 0xaaaaaaaabbbbbbbb, r10: 0xbbbbbbbb, r11: 0xaaaaaaaa},
	}},
	{name: "mov.b32.pack16", body: "\tmov.b32 %r10, {%rs1, %rs2};", cases: []aluCase{
		{a: 0x1234, b: 0xabcd, r10: 0xabcd1234},
	}},
	// shf: 64-bit {b:a}; n = clamp ? min(c,32) : c&31. a = 0x12345678,
	// b = 0x9abcdef0. l: high word of {b:a} << n; r: low word of {b:a} >> n.
	{name: "shf.l.wrap", body: "\tshf.l.wrap.b32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x12345678, b: 0x9abcdef0, c: 8, r10: 0xbcdef012},
		{a: 0x12345678, b: 0x9abcdef0, c: 40, r10: 0xbcdef012}, // 40&31 = 8
		{a: 0x12345678, b: 0x9abcdef0, c: 0, r10: 0x9abcdef0},
	}},
	{name: "shf.l.clamp", body: "\tshf.l.clamp.b32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x12345678, b: 0x9abcdef0, c: 40, r10: 0x12345678}, // n = 32: a
	}},
	{name: "shf.r.wrap", body: "\tshf.r.wrap.b32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x12345678, b: 0x9abcdef0, c: 8, r10: 0xf0123456},
		{a: 0x12345678, b: 0x9abcdef0, c: 0, r10: 0x12345678},
	}},
	{name: "shf.r.clamp", body: "\tshf.r.clamp.b32 %r10, %r1, %r2, %r3;", cases: []aluCase{
		{a: 0x12345678, b: 0x9abcdef0, c: 40, r10: 0x9abcdef0}, // n = 32: b
	}},
	// lop3 bit i = imm[4a_i + 2b_i + c_i]: 0x96 = a^b^c, 0x80 = a&b&c,
	// 0xfe = a|b|c. f0^cc^aa = 96, f0&cc&aa = 80, f0|cc|aa = fe.
	{name: "lop3.b32", body: "\tlop3.b32 %r10, %r1, %r2, %r3, 0x96;\n\tlop3.b32 %r11, %r1, %r2, %r3, 0x80;\n\tlop3.b32 %r12, %r1, %r2, %r3, 0xfe;\n\tcvt.u64.u32 %rd13, %r12;", cases: []aluCase{
		{a: 0xf0f0f0f0, b: 0xcccccccc, c: 0xaaaaaaaa, r10: 0x96969696, r11: 0x80808080, rd13: 0xfefefefe},
	}},
	// bfind: index of the top 1 bit (top 0 bit for negative .s input);
	// 0xffffffff when none; .shiftamt gives 31 - index.
	{name: "bfind.u32", body: "\tbfind.u32 %r10, %r1;", cases: []aluCase{
		{a: 0x00010000, r10: 16}, {a: 0, r10: allOnes}, {a: allOnes, r10: 31},
	}},
	{name: "bfind.s32", body: "\tbfind.s32 %r10, %r1;", cases: []aluCase{
		{a: 0xfffffff0, r10: 3}, {a: allOnes, r10: allOnes}, {a: intMax, r10: 30},
	}},
	{name: "bfind.shiftamt.u32", body: "\tbfind.shiftamt.u32 %r10, %r1;", cases: []aluCase{
		{a: 0x00010000, r10: 15}, {a: 0, r10: allOnes},
	}},
}

func TestBitOperations(t *testing.T) {
	for _, tc := range bitTests {
		t.Run(tc.name, func(t *testing.T) { runALU(t, tc) })
	}
}

// setp with every integer comparison (§9.7.5.2). Three lanes compare
// (0xffffffff, 1), (1, 0xffffffff) and (5, 5); signed the first is -1 < 1,
// unsigned it is 4294967295 > 1.
func TestSetpIntegerComparisons(t *testing.T) {
	want := map[string][3]uint32{
		"eq.s32": {0, 0, 1}, "ne.s32": {1, 1, 0},
		"lt.s32": {1, 0, 0}, "le.s32": {1, 0, 1}, "gt.s32": {0, 1, 0}, "ge.s32": {0, 1, 1},
		"lo.u32": {0, 1, 0}, "ls.u32": {0, 1, 1}, "hi.u32": {1, 0, 0}, "hs.u32": {1, 0, 1},
		"lt.u32": {0, 1, 0}, "gt.u32": {1, 0, 0},
		"eq.b32": {0, 0, 1}, "ne.b32": {1, 1, 0},
	}
	for cmp, w := range want {
		t.Run(cmp, func(t *testing.T) {
			runALU(t, aluTest{name: "setp." + cmp, body: "\tsetp." + cmp + " %p1, %r1, %r2;\n\tselp.u32 %r10, 1, 0, %p1;", cases: []aluCase{
				{a: allOnes, b: 1, r10: w[0]},
				{a: 1, b: allOnes, r10: w[1]},
				{a: 5, b: 5, r10: w[2]},
			}})
		})
	}
	// 16-bit: 0x8000 is -32768 signed, 32768 unsigned.
	runALU(t, aluTest{name: "setp.16", body: "\tsetp.lt.s16 %p1, %rs1, %rs2;\n\tsetp.lo.u16 %p2, %rs1, %rs2;\n\tselp.u32 %r10, 1, 0, %p1;\n\tselp.u32 %r11, 1, 0, %p2;", cases: []aluCase{
		{a: 0x8000, b: 1, r10: 1, r11: 0},
		{a: 1, b: 0x8000, r10: 0, r11: 1},
	}})
	// Immediate operands.
	runALU(t, aluTest{name: "setp.imm", body: "\tsetp.gt.s32 %p1, %r1, -5;\n\tsetp.hi.u32 %p2, %r1, -5;\n\tselp.u32 %r10, 1, 0, %p1;\n\tselp.u32 %r11, 1, 0, %p2;", cases: []aluCase{
		{a: 0, r10: 1, r11: 0},       // 0 > -5; 0 < 0xfffffffb
		{a: allOnes, r10: 1, r11: 1}, // -1 > -5; 0xffffffff > 0xfffffffb
		{a: u32(-6), r10: 0, r11: 0}, // -6 < -5; 0xfffffffa < 0xfffffffb
	}})
	// 64-bit: INT64_MIN < 0 signed, > 0 unsigned.
	runALU(t, aluTest{name: "setp.64", body: "\tsetp.lt.s64 %p1, %rd10, %rd11;\n\tsetp.lo.u64 %p2, %rd10, %rd11;\n\tselp.u32 %r10, 1, 0, %p1;\n\tselp.u32 %r11, 1, 0, %p2;", cases: []aluCase{
		{a: int64Min, b: 0, r10: 1, r11: 0},
		{a: 0x100000000, b: 0xffffffff, r10: 0, r11: 0}, // the high word decides
	}})
}

// setp.cmp.bop p|q, a, b, {!}c: t = cmp(a,b); p = bop(t, c'), q = bop(!t, c')
// where c' is c or !c (§9.7.5.2). %p3 = (c != 0).
func TestSetpBoolOp(t *testing.T) {
	runALU(t, aluTest{name: "setp.lt.and.neg", body: "\tsetp.lt.and.s32 %p1|%p2, %r1, %r2, !%p3;\n\tselp.u32 %r10, 1, 0, %p1;\n\tselp.u32 %r11, 1, 0, %p2;", cases: []aluCase{
		{a: 1, b: 2, c: 0, r10: 1, r11: 0}, // t=1, !c=1: p = 1&1, q = 0&1
		{a: 2, b: 1, c: 0, r10: 0, r11: 1}, // t=0: q = 1&1
		{a: 1, b: 2, c: 1, r10: 0, r11: 0}, // !c=0: both false
		{a: 2, b: 1, c: 7, r10: 0, r11: 0},
	}})
	runALU(t, aluTest{name: "setp.eq.or", body: "\tsetp.eq.or.u32 %p1|%p2, %r1, %r2, %p3;\n\tselp.u32 %r10, 1, 0, %p1;\n\tselp.u32 %r11, 1, 0, %p2;", cases: []aluCase{
		{a: 4, b: 4, c: 0, r10: 1, r11: 0},
		{a: 4, b: 5, c: 0, r10: 0, r11: 1},
		{a: 4, b: 4, c: 1, r10: 1, r11: 1}, // q = !t | c = 1, not !p
		{a: 4, b: 5, c: 1, r10: 1, r11: 1},
	}})
	runALU(t, aluTest{name: "setp.eq.xor", body: "\tsetp.eq.xor.u32 %p1|%p2, %r1, %r2, %p3;\n\tselp.u32 %r10, 1, 0, %p1;\n\tselp.u32 %r11, 1, 0, %p2;", cases: []aluCase{
		{a: 4, b: 4, c: 1, r10: 0, r11: 1}, // t=1: p = 1^1, q = 0^1
		{a: 4, b: 5, c: 1, r10: 1, r11: 0},
		{a: 4, b: 4, c: 0, r10: 1, r11: 0},
	}})
	runALU(t, aluTest{name: "setp.pair", body: "\tsetp.gt.s32 %p1|%p2, %r1, %r2;\n\tselp.u32 %r10, 1, 0, %p1;\n\tselp.u32 %r11, 1, 0, %p2;", cases: []aluCase{
		{a: 3, b: 2, r10: 1, r11: 0},
		{a: 2, b: 3, r10: 0, r11: 1},
	}})
	runALU(t, aluTest{name: "setp.sink", body: "\tsetp.gt.s32 _|%p2, %r1, %r2;\n\tselp.u32 %r11, 1, 0, %p2;", cases: []aluCase{
		{a: 3, b: 2, r11: 0},
		{a: 2, b: 3, r11: 1},
	}})
}

func TestSelp(t *testing.T) {
	runALU(t, aluTest{name: "selp.b32", body: "\tselp.b32 %r10, %r1, %r2, %p3;", cases: []aluCase{
		{a: 11, b: 22, c: 1, r10: 11},
		{a: 11, b: 22, c: 0, r10: 22},
	}})
	runALU(t, aluTest{name: "selp.b64", body: "\tselp.b64 %rd13, %rd10, %rd11, %p3;", cases: []aluCase{
		{a: 0x1111111122222222, b: 3, c: 5, rd13: 0x1111111122222222},
		{a: 0x1111111122222222, b: 3, c: 0, rd13: 3},
	}})
	runALU(t, aluTest{name: "selp.neg", body: "\tsetp.eq.s32 %p1, %r3, 0;\n\t@!%p1 mov.u32 %r10, 1;\n\t@%p1 mov.u32 %r11, 1;", cases: []aluCase{
		{c: 0, r10: 0, r11: 1},
		{c: 9, r10: 1, r11: 0},
	}})
}

var (
	f32NaN  = ptF32(float32(math.NaN()))
	f32Inf  = ptF32(float32(math.Inf(1)))
	f32NInf = ptF32(float32(math.Inf(-1)))
)

// Floating point (§9.7.3). Values are exact or rounded by hand.
var floatTests = []aluTest{
	{name: "add.f32", body: "\tadd.f32 %f10, %f1, %f2;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: ptF32(1.5), b: ptF32(2.25), r10: 0x40700000}, // 3.75
		{a: ptF32(1), b: 0x33800000, r10: 0x3f800000},    // 1 + 2^-24: tie, to even = 1
		{a: ptF32(1), b: 0x34400000, r10: 0x3f800002},    // 1 + 1.5 ulp: tie, to even = 1 + 2 ulp
		{a: 0x80000000, b: 0x80000000, r10: 0x80000000},  // -0 + -0 = -0
		{a: 0x80000000, b: 0, r10: 0},                    // -0 + +0 = +0 (.rn)
	}},
	{name: "add.f32.inf", body: "\tadd.f32 %f10, %f1, %f2;\n\tmov.b32 %r10, %f10;", nanR10: true, cases: []aluCase{
		{a: f32Inf, b: f32NInf},
	}},
	{name: "mul.f32", body: "\tmul.f32 %f10, %f1, %f2;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: ptF32(1.5), b: ptF32(-2), r10: 0xc0400000},    // -3
		{a: ptF32(0), b: ptF32(-1), r10: 0x80000000},      // -0
		{a: ptF32(1e30), b: ptF32(1e30), r10: 0x7f800000}, // overflow to +Inf
	}},
	// fma.rn.f32 rounds once. Lane 0: a = b = 1+2^-12, c = -1:
	// a*b + c = 2^-11 + 2^-24 exactly = 0x3a000400 (an unfused mul would
	// round a*b to 1+2^-11 and give 0x3a000000).
	// Lane 1: a = 2^-24(1+2^-15) = 0x33800100, b = 1-2^-15 = 0x3f7ffe00,
	// c = 1+2^-23 = 0x3f800001: exact sum 1 + 2^-23 + 2^-24 - 2^-54 lies
	// just below the midpoint between 0x3f800001 and 0x3f800002, so the
	// answer is 0x3f800001; rounding first to f64 (1+3*2^-24, a tie) and
	// then to f32 (to even) would give 0x3f800002.
	{name: "fma.rn.f32", body: "\tfma.rn.f32 %f10, %f1, %f2, %f3;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: 0x3f800800, b: 0x3f800800, c: ptF32(-1), r10: 0x3a000400},
		{a: 0x33800100, b: 0x3f7ffe00, c: 0x3f800001, r10: 0x3f800001},
		{a: ptF32(2), b: ptF32(3), c: ptF32(4), r10: ptF32u(10)},
	}},
	{name: "add.f64", body: "\tadd.f64 %fd10, %fd1, %fd2;\n\tmov.b64 %rd13, %fd10;", cases: []aluCase{
		{a: math.Float64bits(0.1), b: math.Float64bits(0.2), rd13: 0x3fd3333333333334},
	}},
	// float -> int: round per modifier, then saturate; NaN -> 0 (§9.7.8.21).
	{name: "cvt.rzi.s32.f32", body: "\tcvt.rzi.s32.f32 %r10, %f1;", cases: []aluCase{
		{a: ptF32(2.7), r10: 2}, {a: ptF32(-2.7), r10: uint32(u32(-2))},
	}},
	{name: "cvt.rni.s32.f32", body: "\tcvt.rni.s32.f32 %r10, %f1;", cases: []aluCase{
		{a: ptF32(2.5), r10: 2}, // ties to even
		{a: ptF32(3.5), r10: 4},
		{a: ptF32(-2.7), r10: uint32(u32(-3))},
		{a: f32NaN, r10: 0},
		{a: ptF32(1e10), r10: intMax},
		{a: ptF32(-1e10), r10: intMin},
		{a: f32Inf, r10: intMax},
	}},
	{name: "cvt.rmi.s32.f32", body: "\tcvt.rmi.s32.f32 %r10, %f1;", cases: []aluCase{
		{a: ptF32(-2.5), r10: uint32(u32(-3))}, {a: ptF32(2.9), r10: 2},
	}},
	{name: "cvt.rpi.s32.f32", body: "\tcvt.rpi.s32.f32 %r10, %f1;", cases: []aluCase{
		{a: ptF32(2.1), r10: 3}, {a: ptF32(-2.9), r10: uint32(u32(-2))},
	}},
	{name: "cvt.rzi.u32.f32", body: "\tcvt.rzi.u32.f32 %r10, %f1;", cases: []aluCase{
		{a: ptF32(-5), r10: 0},        // negative saturates to 0
		{a: ptF32(5e9), r10: allOnes}, // > UINT_MAX
		{a: ptF32(3.99), r10: 3},
	}},
	// int -> float: 2^24+1 and 2^24+3 are ties between neighbours 2 apart.
	{name: "cvt.rn.f32.s32", body: "\tcvt.rn.f32.s32 %f10, %r1;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: u32(-3), r10: 0xc0400000},
		{a: 16777217, r10: 0x4b800000}, // 2^24+1 -> 2^24 (even)
		{a: 16777219, r10: 0x4b800002}, // 2^24+3 -> 2^24+4 (even)
		{a: intMin, r10: 0xcf000000},   // -2^31 exactly
	}},
	{name: "cvt.rz.f32.s32", body: "\tcvt.rz.f32.s32 %f10, %r1;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: 16777219, r10: 0x4b800001}, // 2^24+3 -> 2^24+2 (toward zero)
	}},
	{name: "cvt.rn.f32.u32", body: "\tcvt.rn.f32.u32 %f10, %r1;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: allOnes, r10: 0x4f800000}, // 2^32-1 -> 2^32, not -1.0
	}},
	// int -> int: chop or extend (§6.5.1).
	{name: "cvt.u32.u64", body: "\tcvt.u32.u64 %r10, %rd10;", cases: []aluCase{
		{a: 0x123456789abcdef0, r10: 0x9abcdef0},
	}},
	{name: "cvt.s64.s32", body: "\tcvt.s64.s32 %rd13, %r1;", cases: []aluCase{
		{a: intMin, rd13: 0xffffffff80000000}, {a: 5, rd13: 5}, {a: allOnes, rd13: ones64},
	}},
	{name: "cvt.u64.u32", body: "\tcvt.u64.u32 %rd13, %r1;", cases: []aluCase{
		{a: intMin, rd13: 0x80000000},
	}},
	{name: "cvt.s32.s8", body: "\tcvt.s32.s8 %r10, %r1;", cases: []aluCase{
		{a: 0xff, r10: allOnes}, {a: 0x17f, r10: 0x7f},
	}},
	{name: "cvt.u32.u16", body: "\tcvt.u32.u16 %r10, %r1;", cases: []aluCase{
		{a: 0xabcd1234, r10: 0x1234},
	}},
	// NaN -> int under the refined rule of ISA 8.x: 0 for an
	// f32 source and a 32-bit destination, else 1<<(N-1).
	{name: "cvt.rzi.s32.f64.nan", body: "\tcvt.rzi.s32.f64 %r10, %fd1;", cases: []aluCase{
		{a: math.Float64bits(math.NaN()), r10: intMin},
	}},
	{name: "cvt.rzi.s64.f32.nan", body: "\tcvt.rzi.s64.f32 %rd13, %f1;", cases: []aluCase{
		{a: f32NaN, rd13: int64Min},
	}},
	{name: "cvt.rzi.u32.f32.nan", body: "\tcvt.rzi.u32.f32 %r10, %f1;", cases: []aluCase{
		{a: f32NaN, r10: 0},
	}},
	{name: "cvt.rn.f32.f64", body: "\tcvt.rn.f32.f64 %f10, %fd1;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: math.Float64bits(0.1), r10: 0x3dcccccd},
	}},
	{name: "div.rn.f32", body: "\tdiv.rn.f32 %f10, %f1, %f2;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: ptF32(1), b: ptF32(3), r10: 0x3eaaaaab},   // 1/3 rounds up
		{a: ptF32(1), b: 0x80000000, r10: 0xff800000}, // 1/-0 = -Inf
		{a: ptF32(-6), b: ptF32(4), r10: 0xbfc00000},  // -1.5
	}},
	{name: "sqrt.rn.f32", body: "\tsqrt.rn.f32 %f10, %f1;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: ptF32(2), r10: 0x3fb504f3}, {a: ptF32(16), r10: 0x40800000}, {a: 0x80000000, r10: 0x80000000},
	}},
	{name: "sqrt.rn.f32.neg", body: "\tsqrt.rn.f32 %f10, %f1;\n\tmov.b32 %r10, %f10;", nanR10: true, cases: []aluCase{
		{a: ptF32(-1)},
	}},
	// min/max: one NaN gives the other operand; -0 < +0.
	{name: "min.f32", body: "\tmin.f32 %f10, %f1, %f2;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: f32NaN, b: ptF32(1), r10: 0x3f800000},
		{a: ptF32(1), b: f32NaN, r10: 0x3f800000},
		{a: 0x80000000, b: 0, r10: 0x80000000},
		{a: 0, b: 0x80000000, r10: 0x80000000},
	}},
	{name: "max.f32", body: "\tmax.f32 %f10, %f1, %f2;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: f32NaN, b: ptF32(-1), r10: 0xbf800000},
		{a: 0x80000000, b: 0, r10: 0},
		{a: 0, b: 0x80000000, r10: 0},
	}},
	// copysign d, a, b = b with a's sign (the reverse of C's order).
	{name: "copysign.f32", body: "\tcopysign.f32 %f10, %f1, %f2;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: ptF32(-1), b: ptF32(2), r10: 0xc0000000},
		{a: ptF32(1), b: ptF32(-3), r10: 0x40400000},
	}},
	// testp.normal: ±0 counts as normal; subnormal, Inf and NaN do not.
	{name: "testp.f32", body: "\ttestp.normal.f32 %p1, %f1;\n\ttestp.subnormal.f32 %p2, %f1;\n\tselp.u32 %r10, 1, 0, %p1;\n\tselp.u32 %r11, 1, 0, %p2;", cases: []aluCase{
		{a: 0, r10: 1, r11: 0},
		{a: 0x80000000, r10: 1, r11: 0},
		{a: ptF32(1), r10: 1, r11: 0},
		{a: 1, r10: 0, r11: 1},
		{a: f32Inf, r10: 0, r11: 0},
		{a: f32NaN, r10: 0, r11: 0},
	}},
	// set: true is 0xffffffff for an integer destination, 1.0f for f32.
	{name: "set.lt.u32.s32", body: "\tset.lt.u32.s32 %r10, %r1, %r2;", cases: []aluCase{
		{a: allOnes, b: 1, r10: allOnes}, {a: 1, b: allOnes, r10: 0},
	}},
	{name: "set.lt.f32.s32", body: "\tset.lt.f32.s32 %f10, %r1, %r2;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: allOnes, b: 1, r10: 0x3f800000}, {a: 1, b: allOnes, r10: 0},
	}},
}

func ptF32u(x float32) uint32 { return math.Float32bits(x) }

func TestFloatArithmeticAndConversion(t *testing.T) {
	for _, tc := range floatTests {
		t.Run(tc.name, func(t *testing.T) { runALU(t, tc) })
	}
}

// Float comparisons: ordered ones are false on NaN (ne too), unordered ones
// true; -0 == +0 (§9.7.5.2). Lanes compare (NaN,1), (1,NaN), (1,2), (0,-0).
func TestSetpFloatNaN(t *testing.T) {
	want := map[string][4]uint32{
		"eq": {0, 0, 0, 1}, "ne": {0, 0, 1, 0}, "lt": {0, 0, 1, 0}, "ge": {0, 0, 0, 1},
		"equ": {1, 1, 0, 1}, "neu": {1, 1, 1, 0}, "ltu": {1, 1, 1, 0}, "geu": {1, 1, 0, 1}, "gtu": {1, 1, 0, 0},
		"num": {0, 0, 1, 1}, "nan": {1, 1, 0, 0},
	}
	for cmp, w := range want {
		t.Run(cmp, func(t *testing.T) {
			runALU(t, aluTest{name: "setp." + cmp + ".f32", body: "\tsetp." + cmp + ".f32 %p1, %f1, %f2;\n\tselp.u32 %r10, 1, 0, %p1;", cases: []aluCase{
				{a: f32NaN, b: ptF32(1), r10: w[0]},
				{a: ptF32(1), b: f32NaN, r10: w[1]},
				{a: ptF32(1), b: ptF32(2), r10: w[2]},
				{a: ptF32(0), b: ptF32(float32(math.Copysign(0, -1))), r10: w[3]},
			}})
		})
	}
}

// More widths, saturation and rounding corners, each derived by hand:
//   - cvt.rzi.s32.f32: 0x4effffff = 2^31-128 fits; 2^31 and below -2^31
//     saturate. cvt.rzi.u64.f64: -2 -> 0, 2^64 -> all ones, 2^53+2 exact.
//   - mul.hi.s64: -1*1 = -1 (high word all ones); (-2^63)^2 = 2^126.
//   - 16-bit div/shr/max keep 16-bit semantics (INT16_MIN / -1 = INT16_MIN).
//   - bfe.s64: pos 70 > 63 gives copies of bit 63; an over-long field from
//     bit 60 of 0x1234... is 1 (fill = bit 63 = 0).
//   - .ftz: 2^-70 squared = 2^-140 = subnormal 0x200, flushed to a zero of
//     the product's sign; subnormal inputs are flushed before the add.
//   - f16: 65520 is the midpoint between 65504 and 65536: .rn overflows to
//     Inf (0x7c00), .rz stays at 65504 (0x7bff); f16 0x0001 = 2^-24.
//   - slct: .s32 tests c >= 0 as an integer, .f32 as a float (-0 >= 0,
//     NaN picks b).
//   - cvt.rmi/.rzi.f32.f32 are floorf/truncf: -0.5 -> -1 and -0.
//   - int -> float ties go to even: 2^53+1 -> 2^53, 2^53+3 -> 2^53+4;
//     2^64-1 -> 2^64 (0x5f800000).
//   - .sat clamps to [0, 1] and maps NaN to +0.
var moreTests = []aluTest{
	{name: "cvt.rzi.s32.f32.big", body: "\tcvt.rzi.s32.f32 %r10, %f1;", cases: []aluCase{
		{a: 0x4effffff, r10: 0x7fffff80}, {a: 0x4f000000, r10: intMax}, {a: 0xcf000000, r10: intMin}, {a: 0xcf000001, r10: intMin},
	}},
	{name: "cvt.rzi.u64.f64", body: "\tcvt.rzi.u64.f64 %rd13, %fd1;", cases: []aluCase{
		{a: 0xc000000000000000, rd13: 0}, {a: 0x43f0000000000000, rd13: ones64}, {a: 0x4340000000000001, rd13: 0x20000000000002},
	}},
	{name: "mul.hi.s64", body: "\tmul.hi.s64 %rd13, %rd10, %rd11;", cases: []aluCase{
		{a: ones64, b: 1, rd13: ones64}, {a: int64Min, b: int64Min, rd13: 0x4000000000000000},
	}},
	{name: "div.s16", body: "\tdiv.s16 %rs3, %rs1, %rs2;\n\tcvt.u32.u16 %r10, %rs3;", cases: []aluCase{
		{a: 0x8000, b: 0xffff, r10: 0x8000}, {a: 0xfff9, b: 2, r10: 0xfffd},
	}},
	{name: "shr.s16", body: "\tshr.s16 %rs3, %rs1, %r2;\n\tcvt.u32.u16 %r10, %rs3;", cases: []aluCase{
		{a: 0x8000, b: 16, r10: 0xffff}, {a: 0x8000, b: 4, r10: 0xf800},
	}},
	{name: "bfe.s64", body: "\tbfe.s64 %rd13, %rd10, %r2, %r3;", cases: []aluCase{
		{a: int64Min, b: 70, c: 4, rd13: ones64}, {a: 0xf0, b: 4, c: 4, rd13: ones64}, {a: 0x123456789abcdef0, b: 60, c: 8, rd13: 1},
	}},
	{name: "mul.ftz.f32", body: "\tmul.ftz.f32 %f10, %f1, %f2;\n\tmov.b32 %r10, %f10;\n\tmul.f32 %f11, %f1, %f2;\n\tmov.b32 %r11, %f11;", cases: []aluCase{
		{a: 0x1c800000, b: 0x1c800000, r10: 0, r11: 0x200}, // 2^-70 squared = 2^-140
		{a: 0x9c800000, b: 0x1c800000, r10: 0x80000000, r11: 0x80000200},
	}},
	{name: "add.ftz.f32.in", body: "\tadd.ftz.f32 %f10, %f1, %f2;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: 0x00000001, b: 0x00000001, r10: 0}, {a: 0x00400000, b: 0x00400000, r10: 0},
	}},
	{name: "cvt.f16", body: "\tcvt.rn.f16.f32 %rs3, %f1;\n\tcvt.u32.u16 %r10, %rs3;\n\tcvt.rz.f16.f32 %rs4, %f1;\n\tcvt.u32.u16 %r11, %rs4;", cases: []aluCase{
		{a: ptF32(1), r10: 0x3c00, r11: 0x3c00}, {a: ptF32(65520), r10: 0x7c00, r11: 0x7bff}, {a: ptF32(65504), r10: 0x7bff, r11: 0x7bff}, {a: ptF32(1e6), r10: 0x7c00, r11: 0x7bff},
	}},
	{name: "cvt.f32.f16", body: "\tcvt.f32.f16 %f10, %rs1;\n\tmov.b32 %r10, %f10;", cases: []aluCase{
		{a: 0x3c00, r10: 0x3f800000}, {a: 0x0001, r10: 0x33800000}, {a: 0xfc00, r10: 0xff800000},
	}},
	{name: "mov.u16.tid", body: "\tmov.u16 %rs3, %tid.x;\n\tcvt.u32.u16 %r10, %rs3;", cases: []aluCase{{r10: 0}, {r10: 1}}},
	{name: "and.b16", body: "\tand.b16 %rs3, %rs1, -32768;\n\tcvt.u32.u16 %r10, %rs3;", cases: []aluCase{{a: 0xffff, r10: 0x8000}}},
	{name: "cvt.u16.u32", body: "\tcvt.u16.u32 %rs3, %r1;\n\tcvt.u32.u16 %r10, %rs3;", cases: []aluCase{{a: 0x12345678, r10: 0x5678}}},
	{name: "rem.u64", body: "\trem.u64 %rd13, %rd10, %rd11;", cases: []aluCase{{a: ones64, b: 10, rd13: 5}}},
	{name: "max.s16", body: "\tmax.s16 %rs3, %rs1, %rs2;\n\tcvt.u32.u16 %r10, %rs3;", cases: []aluCase{{a: 0x8000, b: 1, r10: 1}}},
	{name: "mad.lo.u64", body: "\tmad.lo.u64 %rd13, %rd10, %rd11, %rd12;", cases: []aluCase{{a: 1 << 63, b: 2, c: 7, rd13: 7}}},
	{name: "slct", body: "\tslct.b32.s32 %r10, %r1, %r2, %r3;\n\tslct.b32.f32 %r11, %r1, %r2, %f3;", cases: []aluCase{
		{a: 1, b: 2, c: 0, r10: 1, r11: 1}, {a: 1, b: 2, c: 0x80000000, r10: 2, r11: 1}, {a: 1, b: 2, c: f32NaN, r10: 1, r11: 2}, {a: 1, b: 2, c: 0xbf800000, r10: 2, r11: 2},
	}},
	{name: "rcp.rn.f32", body: "\trcp.rn.f32 %f10, %f1;\n\tmov.b32 %r10, %f10;", cases: []aluCase{{a: ptF32(4), r10: 0x3e800000}, {a: 0x80000000, r10: 0xff800000}}},
	{name: "div.full", body: "\tdiv.full.f32 %f10, %f1, %f2;\n\tmov.b32 %r10, %f10;", cases: []aluCase{{a: ptF32(6), b: ptF32(3), r10: 0x40000000}}},
	{name: "abs.f32", body: "\tabs.f32 %f10, %f1;\n\tmov.b32 %r10, %f10;\n\tneg.f32 %f11, %f1;\n\tmov.b32 %r11, %f11;", cases: []aluCase{{a: 0x80000000, r10: 0, r11: 0}, {a: 0xbf800000, r10: 0x3f800000, r11: 0x3f800000}}},
	{name: "add.sat.f32", body: "\tadd.sat.f32 %f10, %f1, %f2;\n\tmov.b32 %r10, %f10;", cases: []aluCase{{a: ptF32(0.75), b: ptF32(0.5), r10: 0x3f800000}, {a: ptF32(-1), b: ptF32(0.5), r10: 0}}},
	{name: "cvt.rmi.f32.f32", body: "\tcvt.rmi.f32.f32 %f10, %f1;\n\tmov.b32 %r10, %f10;", cases: []aluCase{{a: ptF32(-0.5), r10: 0xbf800000}, {a: ptF32(0.5), r10: 0}}},
	{name: "cvt.rzi.f32.f32", body: "\tcvt.rzi.f32.f32 %f10, %f1;\n\tmov.b32 %r10, %f10;", cases: []aluCase{{a: ptF32(-0.5), r10: 0x80000000}}},
	{name: "cvt.rn.f64.s64", body: "\tcvt.rn.f64.s64 %fd10, %rd10;\n\tmov.b64 %rd13, %fd10;", cases: []aluCase{{a: 0x20000000000001, rd13: 0x4340000000000000}, {a: 0x20000000000003, rd13: 0x4340000000000002}}},
	{name: "cvt.rn.f32.u64", body: "\tcvt.rn.f32.u64 %f10, %rd10;\n\tmov.b32 %r10, %f10;", cases: []aluCase{{a: ones64, r10: 0x5f800000}, {a: 0x1000001, r10: 0x4b800000}}},
	{name: "cvt.sat.f32", body: "\tcvt.sat.f32.f32 %f10, %f1;\n\tmov.b32 %r10, %f10;", cases: []aluCase{{a: ptF32(2), r10: 0x3f800000}, {a: f32NaN, r10: 0}}},
	{name: "set.f32.f32", body: "\tset.gtu.u32.f32 %r10, %f1, %f2;", cases: []aluCase{{a: f32NaN, b: ptF32(1), r10: allOnes}}},
}

func TestMoreArithmetic(t *testing.T) {
	for _, tc := range moreTests {
		t.Run(tc.name, func(t *testing.T) { runALU(t, tc) })
	}
}

// ---------------------------------------------------------------------------
// Memory: vectors, shared, sub-word, generic, local.

const ptVectorPTX = ptHeader + `
.visible .entry vec(
	.param .u64 vec_param_0,
	.param .u64 vec_param_1
)
{
	.reg .b32 	%r<8>;
	.reg .b64 	%rd<12>;

	ld.param.u64 	%rd1, [vec_param_0];
	ld.param.u64 	%rd2, [vec_param_1];
	cvta.to.global.u64 	%rd1, %rd1;
	cvta.to.global.u64 	%rd2, %rd2;
	mov.u32 	%r0, %tid.x;
	mul.wide.u32 	%rd3, %r0, 32;
	add.s64 	%rd4, %rd1, %rd3;
	add.s64 	%rd5, %rd2, %rd3;
	ld.global.v4.u32 	{%r1, %r2, %r3, %r4}, [%rd4];
	st.global.v4.u32 	[%rd5], {%r4, %r3, %r2, %r1};
	ld.global.v2.u64 	{%rd6, %rd7}, [%rd4+16];
	st.global.v2.u64 	[%rd5+16], {%rd7, %rd6};
	ret;
}
`

// TestVectorLoadStore: each lane reverses the four words of its first 16
// bytes (v4.u32) and swaps the two u64 of its second 16 bytes (v2.u64).
func TestVectorLoadStore(t *testing.T) {
	m := ptLoad(t, "vec", ptVectorPTX)
	d := cpuemu.NewDevice()
	const n = 8
	in := make([]uint32, 8*n)
	for i := range in {
		in[i] = uint32(0x1000*i + 7)
	}
	pin := ptBuf(t, d, 4*len(in), ptBytes(in...))
	pout := ptBuf(t, d, 4*len(in), nil)
	res, err := m.Launch(d, "vec", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(n)}, pin, pout)
	if err != nil {
		t.Fatal(err)
	}
	ptNoDiag(t, res)
	out := ptWords(ptRead(t, d, pout, 4*len(in)))
	for l := range n {
		w := in[8*l : 8*l+8]
		// v4: words 3,2,1,0; v2.u64: u64 1 (words 6,7) then u64 0 (words 4,5).
		want := []uint32{w[3], w[2], w[1], w[0], w[6], w[7], w[4], w[5]}
		if got := out[8*l : 8*l+8]; !slices.Equal(got, want) {
			t.Errorf("lane %d: got %#x, want %#x", l, got, want)
		}
	}
}

const ptSharedPTX = ptHeader + `
.shared .align 4 .b8 buf[128];

.visible .entry sh(
	.param .u64 sh_param_0
)
{
	.reg .b32 	%r<8>;
	.reg .b64 	%rd<10>;

	ld.param.u64 	%rd1, [sh_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r1, %tid.x;
	mov.u64 	%rd3, buf;
	mul.wide.u32 	%rd4, %r1, 4;
	add.s64 	%rd5, %rd3, %rd4;
	mul.lo.s32 	%r2, %r1, 3;
	st.shared.u32 	[%rd5], %r2;
	bar.sync 	0;
	mov.u32 	%r3, 31;
	sub.s32 	%r3, %r3, %r1;
	mul.wide.u32 	%rd6, %r3, 4;
	add.s64 	%rd7, %rd3, %rd6;
	ld.shared.u32 	%r4, [%rd7];
	ld.shared.u32 	%r5, [buf+124];
	mul.wide.u32 	%rd8, %r1, 8;
	add.s64 	%rd9, %rd1, %rd8;
	st.global.v2.u32 	[%rd9], {%r4, %r5};
	ret;
}
`

// TestSharedLoadStore: lane t stores 3t in buf[t]; after bar.sync it reads
// buf[31-t] = 3(31-t) and buf[31] (through [buf+124]) = 93. Two CTAs have
// separate buffers and the same results.
func TestSharedLoadStore(t *testing.T) {
	m := ptLoad(t, "sh", ptSharedPTX)
	d := cpuemu.NewDevice()
	pout := ptBuf(t, d, 2*32*8, nil)
	res, err := m.Launch(d, "sh", cpuemu.LaunchConfig{Grid: ptD1(2), Block: ptD1(32)}, pout)
	if err != nil {
		t.Fatal(err)
	}
	ptNoDiag(t, res)
	out := ptWords(ptRead(t, d, pout, 2*32*8))
	// Both CTAs write out[0..63] (the index ignores ctaid): same values.
	for l := range 32 {
		if out[2*l] != uint32(3*(31-l)) || out[2*l+1] != 93 {
			t.Errorf("lane %d: got (%d, %d), want (%d, 93)", l, out[2*l], out[2*l+1], 3*(31-l))
		}
	}
}

const ptSubwordPTX = ptHeader + `
.visible .entry sub(
	.param .u64 sub_param_0,
	.param .u64 sub_param_1
)
{
	.reg .b16 	%rs<4>;
	.reg .b32 	%r<12>;
	.reg .b64 	%rd<8>;

	ld.param.u64 	%rd1, [sub_param_0];
	ld.param.u64 	%rd2, [sub_param_1];
	cvta.to.global.u64 	%rd1, %rd1;
	cvta.to.global.u64 	%rd2, %rd2;
	ld.global.s8 	%r1, [%rd1];
	ld.global.u8 	%r2, [%rd1];
	ld.global.s8 	%r3, [%rd1+1];
	ld.global.s16 	%r4, [%rd1+2];
	ld.global.u16 	%r5, [%rd1+2];
	ld.global.s16 	%r6, [%rd1+6];
	ld.global.s8 	%rs1, [%rd1+4];
	cvt.u32.u16 	%r7, %rs1;
	ld.global.s8 	%rd3, [%rd1];
	st.global.v4.u32 	[%rd2], {%r1, %r2, %r3, %r4};
	st.global.v2.u32 	[%rd2+16], {%r5, %r6};
	st.global.u32 	[%rd2+24], %r7;
	st.global.u64 	[%rd2+32], %rd3;
	mov.u32 	%r8, 4660;
	st.global.u8 	[%rd2+41], %r8;
	mov.u32 	%r9, 305419896;
	st.global.u16 	[%rd2+44], %r9;
	ret;
}
`

// TestSubwordLoadStore: in = 80 7f 00 80 ff ff 34 12.
// s8 [0] = 0xffffff80, u8 [0] = 0x80, s8 [1] = 0x7f, s16 [2] = 0x8000 ->
// 0xffff8000, u16 [2] = 0x8000, s16 [6] = 0x1234, s8 [4] into a 16-bit
// register = 0xffff (zero-extended by cvt.u32.u16), s8 [0] into a 64-bit
// register = 0xffffffffffffff80. st.u8 4660 (0x1234) writes one byte 0x34;
// st.u16 0x12345678 writes 78 56. The bytes around them keep 0xaa.
func TestSubwordLoadStore(t *testing.T) {
	m := ptLoad(t, "sub", ptSubwordPTX)
	d := cpuemu.NewDevice()
	pin := ptBuf(t, d, 8, []byte{0x80, 0x7f, 0x00, 0x80, 0xff, 0xff, 0x34, 0x12})
	fill := make([]byte, 48)
	for i := range fill {
		fill[i] = 0xaa
	}
	pout := ptBuf(t, d, 48, fill)
	res, err := m.Launch(d, "sub", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, pin, pout)
	if err != nil {
		t.Fatal(err)
	}
	ptNoDiag(t, res)
	out := ptRead(t, d, pout, 48)
	w := ptWords(out[:28])
	want := []uint32{0xffffff80, 0x80, 0x7f, 0xffff8000, 0x8000, 0x1234, 0xffff}
	if !slices.Equal(w, want) {
		t.Errorf("32-bit loads: got %#x, want %#x", w, want)
	}
	if got := binary.LittleEndian.Uint64(out[32:]); got != 0xffffffffffffff80 {
		t.Errorf("ld.s8 into a 64-bit register: got %#x", got)
	}
	tail := out[40:48]
	wantTail := []byte{0xaa, 0x34, 0xaa, 0xaa, 0x78, 0x56, 0xaa, 0xaa}
	if !slices.Equal(tail, wantTail) {
		t.Errorf("sub-word stores: got % x, want % x", tail, wantTail)
	}
}

const ptGenericPTX = ptHeader + `
.shared .align 4 .b8 gbuf[128];

.visible .entry gen(
	.param .u64 gen_param_0,
	.param .u64 gen_param_1
)
{
	.local .align 4 .b8 	depot[16];
	.reg .pred 	%p<6>;
	.reg .b32 	%r<20>;
	.reg .b64 	%rd<24>;

	ld.param.u64 	%rd1, [gen_param_0];
	ld.param.u64 	%rd2, [gen_param_1];
	cvta.to.global.u64 	%rd15, %rd2;
	mov.u32 	%r1, %tid.x;
	mov.u64 	%rd3, gbuf;
	cvta.shared.u64 	%rd4, %rd3;
	mul.wide.u32 	%rd5, %r1, 4;
	add.s64 	%rd6, %rd4, %rd5;
	add.s32 	%r2, %r1, 100;
	st.u32 	[%rd6], %r2;
	bar.sync 	0;
	xor.b32 	%r3, %r1, 1;
	mul.wide.u32 	%rd7, %r3, 4;
	add.s64 	%rd8, %rd3, %rd7;
	ld.shared.u32 	%r4, [%rd8];
	add.s64 	%rd9, %rd4, %rd7;
	ld.u32 	%r5, [%rd9];
	mov.u64 	%rd10, depot;
	cvta.local.u64 	%rd11, %rd10;
	mul.lo.s32 	%r6, %r1, 7;
	st.u32 	[%rd11+4], %r6;
	bar.sync 	0;
	ld.local.u32 	%r7, [depot+4];
	add.s64 	%rd12, %rd1, %rd5;
	ld.u32 	%r8, [%rd12];
	cvta.to.shared.u64 	%rd13, %rd4;
	setp.eq.s64 	%p1, %rd13, %rd3;
	selp.u32 	%r9, 1, 0, %p1;
	mul.wide.u32 	%rd14, %r1, 48;
	add.s64 	%rd16, %rd15, %rd14;
	st.global.v4.u32 	[%rd16], {%r4, %r5, %r7, %r8};
	st.global.u32 	[%rd16+16], %r9;
	ret;
}
`

// TestGenericAddressing (§6.4.1.1): generic stores into shared through
// cvta.shared land in the CTA's shared buffer (read back both with
// ld.shared and a generic ld of the neighbour's slot: (t^1)+100); a generic
// store through cvta.local of a .local depot is per thread (every lane
// stores 7t at the same generic address and reads back its own 7t); a
// generic ld through the raw pointer parameter reads global in[t] = 1000+t;
// cvta.to.shared undoes cvta.shared.
func TestGenericAddressing(t *testing.T) {
	m := ptLoad(t, "gen", ptGenericPTX)
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			in := make([]uint32, 32)
			for i := range in {
				in[i] = uint32(1000 + i)
			}
			pin := ptBuf(t, d, 128, ptBytes(in...))
			pout := ptBuf(t, d, 32*48, nil)
			res, err := m.Launch(d, "gen", s.cfg(ptD1(1), ptD1(32)), pin, pout)
			if err != nil {
				t.Fatal(err)
			}
			ptNoDiag(t, res)
			out := ptWords(ptRead(t, d, pout, 32*48))
			for l := range 32 {
				want := []uint32{uint32(l^1) + 100, uint32(l^1) + 100, uint32(7 * l), uint32(1000 + l), 1}
				if got := out[12*l : 12*l+5]; !slices.Equal(got, want) {
					t.Errorf("lane %d: got %d, want %d", l, got, want)
				}
			}
		})
	}
}

const ptIsspacepPTX = ptHeader + `
.shared .align 4 .b8 ibuf[16];

.visible .entry isp(
	.param .u64 isp_param_0
)
{
	.local .align 4 .b8 	idepot[16];
	.reg .pred 	%p<8>;
	.reg .b32 	%r<8>;
	.reg .b64 	%rd<8>;

	ld.param.u64 	%rd1, [isp_param_0];
	mov.u64 	%rd2, ibuf;
	cvta.shared.u64 	%rd3, %rd2;
	mov.u64 	%rd4, idepot;
	cvta.local.u64 	%rd5, %rd4;
	isspacep.shared 	%p1, %rd3;
	isspacep.global 	%p2, %rd1;
	isspacep.local 	%p3, %rd3;
	isspacep.local 	%p4, %rd5;
	isspacep.global 	%p5, %rd5;
	selp.u32 	%r1, 1, 0, %p1;
	selp.u32 	%r2, 1, 0, %p2;
	selp.u32 	%r3, 1, 0, %p3;
	selp.u32 	%r4, 1, 0, %p4;
	selp.u32 	%r5, 1, 0, %p5;
	cvta.to.global.u64 	%rd6, %rd1;
	st.global.v4.u32 	[%rd6], {%r1, %r2, %r3, %r4};
	st.global.u32 	[%rd6+16], %r5;
	ret;
}
`

// TestIsspacep (§9.7.8.19: "isspacep.space p, a;", no type): a generic
// shared address is in .shared and not .local; the pointer parameter is
// global; a generic local address is .local and not .global.
func TestIsspacep(t *testing.T) {
	m := ptLoad(t, "isp", ptIsspacepPTX)
	d := cpuemu.NewDevice()
	p := ptBuf(t, d, 32, nil)
	res, err := m.Launch(d, "isp", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, p)
	if err != nil {
		t.Fatal(err)
	}
	ptNoDiag(t, res)
	if got, want := ptWords(ptRead(t, d, p, 20)), []uint32{1, 1, 0, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// ---------------------------------------------------------------------------
// Atomics.

const ptAtomPTX = ptHeader + `
.shared .align 4 .u32 scount;

.visible .entry atoms(
	.param .u64 atoms_param_0,
	.param .u64 atoms_param_1
)
{
	.reg .pred 	%p<4>;
	.reg .b32 	%r<32>;
	.reg .b64 	%rd<16>;
	.reg .f32 	%f<2>;

	ld.param.u64 	%rd1, [atoms_param_0];
	ld.param.u64 	%rd2, [atoms_param_1];
	cvta.to.global.u64 	%rd1, %rd1;
	cvta.to.global.u64 	%rd2, %rd2;
	mov.u32 	%r1, %tid.x;
	mov.u32 	%r2, %ctaid.x;
	mad.lo.s32 	%r3, %r2, 32, %r1;
	mul.wide.u32 	%rd3, %r3, 4;
	add.s64 	%rd4, %rd2, %rd3;
	setp.ne.s32 	%p1, %r1, 0;
	@%p1 bra 	$L_zeroed;
	mov.u32 	%r4, 0;
	st.shared.u32 	[scount], %r4;
$L_zeroed:
	bar.sync 	0;
	atom.global.add.u32 	%r5, [%rd1], 1;
	st.global.u32 	[%rd4], %r5;
	atom.global.exch.b32 	%r6, [%rd1+4], %r3;
	st.global.u32 	[%rd4+256], %r6;
	add.s32 	%r7, %r3, -32;
	atom.global.min.s32 	%r8, [%rd1+8], %r7;
	mul.lo.s32 	%r9, %r3, 3;
	atom.global.max.u32 	%r10, [%rd1+12], %r9;
	atom.global.inc.u32 	%r11, [%rd1+16], 9;
	atom.global.dec.u32 	%r12, [%rd1+20], 9;
$L_cas:
	ld.volatile.global.u32 	%r13, [%rd1+24];
	add.s32 	%r14, %r13, 1;
	atom.global.cas.b32 	%r15, [%rd1+24], %r13, %r14;
	setp.ne.s32 	%p2, %r15, %r13;
	@%p2 bra 	$L_cas;
	red.global.add.u32 	[%rd1+28], 2;
	mov.u32 	%r16, 1;
	shl.b32 	%r17, %r16, %r1;
	atom.global.or.b32 	%r18, [%rd1+32], %r17;
	not.b32 	%r19, %r17;
	atom.global.and.b32 	%r20, [%rd1+36], %r19;
	mov.u64 	%rd5, 4294967296;
	atom.global.add.u64 	%rd6, [%rd1+40], %rd5;
	add.s32 	%r21, %r3, 1;
	atom.global.cas.b32 	%r22, [%rd1+48], 0, %r21;
	st.global.u32 	[%rd4+512], %r22;
	atom.shared.add.u32 	%r23, [scount], %r1;
	bar.sync 	0;
	@%p1 bra 	$L_done;
	ld.shared.u32 	%r24, [scount];
	mul.wide.u32 	%rd7, %r2, 4;
	add.s64 	%rd8, %rd1, %rd7;
	st.global.u32 	[%rd8+56], %r24;
$L_done:
	atom.global.add.f32 	%f1, [%rd1+64], 0f3F000000;
	ret;
}
`

// TestAtomics runs 64 threads (2 CTAs of 32) under every scheduler. By hand:
//
//	[0]  add 1 x64                    = 64, and the olds are 0..63 once each
//	[4]  exch gid: olds ∪ {final} = {0 (initial)} ∪ {0..63}
//	[8]  min.s32 of gid-32 from 0     = -32
//	[12] max.u32 of 3*gid             = 189
//	[16] inc bound 9 x64 from 0: cycle of 10, 64 mod 10 = 4
//	[20] dec bound 9 x64 from 0: 0->9->8..., (-64) mod 10 = 6
//	[24] CAS-loop increment x64       = 64
//	[28] red.add 2 x64                = 128
//	[32] or 1<<tid.x                  = 0xffffffff
//	[36] and ~(1<<tid.x) from all ones = 0
//	[40] add.u64 2^32 x64             = 64<<32
//	[48] cas(0 -> gid+1): one winner, it saw 0; every other lane saw the winner's gid+1
//	[56+4c] shared add of tid.x in CTA c = 0+...+31 = 496
//	[64] add.f32 0.5 x64 = 32.0 (exact at every step) = 0x42000000
func TestAtomics(t *testing.T) {
	m := ptLoad(t, "atoms", ptAtomPTX)
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			cnt := make([]uint32, 17)
			cnt[9] = allOnes // [36]
			pc := ptBuf(t, d, 68, ptBytes(cnt...))
			po := ptBuf(t, d, 3*256, nil)
			res, err := m.Launch(d, "atoms", s.cfg(ptD1(2), ptD1(32)), pc, po)
			if err != nil {
				t.Fatal(err)
			}
			ptNoDiag(t, res)
			c := ptWords(ptRead(t, d, pc, 68))
			check := func(name string, got, want uint32) {
				if got != want {
					t.Errorf("%s: got %#x (%d), want %#x (%d)", name, got, int32(got), want, int32(want))
				}
			}
			check("add", c[0], 64)
			check("min.s32", c[2], uint32(u32(-32)))
			check("max.u32", c[3], 189)
			check("inc", c[4], 4)
			check("dec", c[5], 6)
			check("cas loop", c[6], 64)
			check("red.add", c[7], 128)
			check("or", c[8], allOnes)
			check("and", c[9], 0)
			if got := uint64(c[10]) | uint64(c[11])<<32; got != 64<<32 {
				t.Errorf("add.u64: got %#x, want %#x", got, uint64(64)<<32)
			}
			check("shared add cta 0", c[14], 496)
			check("shared add cta 1", c[15], 496)
			check("add.f32", c[16], 0x42000000)
			o := ptWords(ptRead(t, d, po, 3*256))
			olds := slices.Clone(o[:64])
			slices.Sort(olds)
			for i, v := range olds {
				if v != uint32(i) {
					t.Errorf("atom.add olds sorted: index %d holds %d, want the set 0..63", i, v)
					break
				}
			}
			ex := append(slices.Clone(o[64:128]), c[1])
			slices.Sort(ex)
			wantEx := []uint32{0}
			for i := range 64 {
				wantEx = append(wantEx, uint32(i))
			}
			if !slices.Equal(ex, wantEx) {
				t.Errorf("exch: olds plus final = %v, want {0} + 0..63", ex)
			}
			final := c[12]
			winners := 0
			for g, v := range o[128:192] {
				switch {
				case v == 0:
					winners++
					if uint32(g+1) != final {
						t.Errorf("cas: lane %d saw 0 but the final value is %d", g, final)
					}
				case v != final:
					t.Errorf("cas: lane %d saw %d, want the winner's %d", g, v, final)
				}
			}
			if winners != 1 {
				t.Errorf("cas: %d winners, want 1", winners)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Calls.

const ptCallPTX = ptHeader + `
.func  (.param .b32 func_retval0) madd1(
	.param .b32 madd1_param_0,
	.param .b32 madd1_param_1
)
{
	.reg .b32 	%r<4>;

	ld.param.b32 	%r1, [madd1_param_0];
	ld.param.b32 	%r2, [madd1_param_1];
	mad.lo.s32 	%r3, %r1, %r2, 1;
	st.param.b32 	[func_retval0+0], %r3;
	ret;
}

.visible .entry calls(
	.param .u64 calls_param_0
)
{
	.reg .b32 	%r<8>;
	.reg .b64 	%rd<6>;

	ld.param.u64 	%rd1, [calls_param_0];
	cvta.to.global.u64 	%rd2, %rd1;
	mov.u32 	%r1, %tid.x;
	mov.u32 	%r2, 3;
	{ // callseq 0, 0
	.reg .b32 temp_param_reg;
	.param .b32 param0;
	st.param.b32 	[param0+0], %r1;
	.param .b32 param1;
	st.param.b32 	[param1+0], %r2;
	.param .b32 retval0;
	call.uni (retval0), 
	madd1, 
	(
	param0, 
	param1
	);
	ld.param.b32 	%r3, [retval0+0];
	} // callseq 0
	mul.wide.u32 	%rd3, %r1, 4;
	add.s64 	%rd4, %rd2, %rd3;
	st.global.u32 	[%rd4], %r3;
	ret;
}
`

const ptRecursePTX = ptHeader + `
.func  (.param .b32 func_retval0) fact(
	.param .b32 fact_param_0
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<6>;

	ld.param.b32 	%r1, [fact_param_0];
	setp.lt.u32 	%p1, %r1, 2;
	@%p1 bra 	$L_base;
	add.s32 	%r2, %r1, -1;
	{ // callseq 1, 0
	.reg .b32 temp_param_reg;
	.param .b32 param0;
	st.param.b32 	[param0+0], %r2;
	.param .b32 retval0;
	call // RECURSE
	(retval0), 
	fact, 
	(
	param0
	);
	ld.param.b32 	%r3, [retval0+0];
	} // callseq 1
	mul.lo.s32 	%r4, %r3, %r1;
	st.param.b32 	[func_retval0+0], %r4;
	ret;
$L_base:
	mov.u32 	%r5, 1;
	st.param.b32 	[func_retval0+0], %r5;
	ret;
}

.visible .entry recurse(
	.param .u64 recurse_param_0
)
{
	.reg .b32 	%r<8>;
	.reg .b64 	%rd<6>;

	ld.param.u64 	%rd1, [recurse_param_0];
	cvta.to.global.u64 	%rd2, %rd1;
	mov.u32 	%r1, %tid.x;
	and.b32 	%r4, %r1, 7;
	{ // callseq 2, 0
	.param .b32 param0;
	st.param.b32 	[param0+0], %r4;
	.param .b32 retval0;
	call (retval0), fact, (param0);
	ld.param.b32 	%r5, [retval0+0];
	}
	mul.wide.u32 	%rd3, %r1, 4;
	add.s64 	%rd4, %rd2, %rd3;
	st.global.u32 	[%rd4], %r5;
	ret;
}
`

// TestFuncCall: madd1(t, 3) = 3t+1 through nvcc's callseq block
// (call.uni (retval0), f, (param0, param1), spread over several lines).
func TestFuncCall(t *testing.T) {
	m := ptLoad(t, "calls", ptCallPTX)
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			p := ptBuf(t, d, 32*4, nil)
			res, err := m.Launch(d, "calls", s.cfg(ptD1(1), ptD1(32)), p)
			if err != nil {
				t.Fatal(err)
			}
			ptNoDiag(t, res)
			out := ptWords(ptRead(t, d, p, 32*4))
			for l := range 32 {
				if out[l] != uint32(3*l+1) {
					t.Errorf("lane %d: got %d, want %d", l, out[l], 3*l+1)
				}
			}
		})
	}
}

// TestRecursiveCall: PTX allows recursion (§7.1). fact(t&7) recurses up to
// 7 deep with per-lane depths: 1 1 2 6 24 120 720 5040. The emulator may
// decline recursion, but then only with an *UnsupportedError that names
// the PTX line of the recursive call (Load's contract: every unsupported
// construct is reported with its line).
func TestRecursiveCall(t *testing.T) {
	m, err := cpuemu.Load("recurse", []byte(ptRecursePTX))
	if err != nil {
		var ue *cpuemu.UnsupportedError
		if !errors.As(err, &ue) {
			t.Fatalf("load: %v (%T), want success or an *UnsupportedError", err, err)
		}
		if line := ptLine(t, ptRecursePTX, "// RECURSE"); ue.Line != line {
			t.Errorf("UnsupportedError.Line = %d, want %d, the recursive call: %v", ue.Line, line, err)
		}
		return
	}
	facts := []uint32{1, 1, 2, 6, 24, 120, 720, 5040}
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			p := ptBuf(t, d, 32*4, nil)
			res, err := m.Launch(d, "recurse", s.cfg(ptD1(1), ptD1(32)), p)
			if err != nil {
				t.Fatal(err)
			}
			ptNoDiag(t, res)
			out := ptWords(ptRead(t, d, p, 32*4))
			for l := range 32 {
				if out[l] != facts[l&7] {
					t.Errorf("lane %d: got %d, want %d", l, out[l], facts[l&7])
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Special registers.

const ptSregPTX = ptHeader + `
.visible .entry sregs(
	.param .u64 sregs_param_0
)
{
	.reg .b32 	%r<32>;
	.reg .b64 	%rd<6>;

	ld.param.u64 	%rd1, [sregs_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r1, %tid.x;
	mov.u32 	%r2, %tid.y;
	mov.u32 	%r3, %tid.z;
	mov.u32 	%r4, %ntid.x;
	mov.u32 	%r5, %ntid.y;
	mov.u32 	%r6, %ntid.z;
	mov.u32 	%r7, %ctaid.x;
	mov.u32 	%r8, %ctaid.y;
	mov.u32 	%r9, %ctaid.z;
	mov.u32 	%r10, %nctaid.x;
	mov.u32 	%r11, %nctaid.y;
	mov.u32 	%r12, %nctaid.z;
	mov.u32 	%r13, %laneid;
	mov.u32 	%r14, %warpid;
	mov.u32 	%r15, %lanemask_lt;
	mov.u32 	%r16, %lanemask_eq;
	mov.u32 	%r17, %lanemask_le;
	mov.u32 	%r18, %lanemask_ge;
	mov.u32 	%r19, %lanemask_gt;
	mad.lo.s32 	%r20, %r5, %r3, %r2;
	mad.lo.s32 	%r20, %r4, %r20, %r1;
	mad.lo.s32 	%r21, %r10, %r8, %r7;
	mul.lo.s32 	%r22, %r4, %r5;
	mul.lo.s32 	%r22, %r22, %r6;
	mad.lo.s32 	%r23, %r21, %r22, %r20;
	mul.wide.u32 	%rd2, %r23, 80;
	add.s64 	%rd3, %rd1, %rd2;
	st.global.v4.u32 	[%rd3], {%r1, %r2, %r3, %r4};
	st.global.v4.u32 	[%rd3+16], {%r5, %r6, %r7, %r8};
	st.global.v4.u32 	[%rd3+32], {%r9, %r10, %r11, %r12};
	st.global.v4.u32 	[%rd3+48], {%r13, %r14, %r15, %r16};
	st.global.v4.u32 	[%rd3+64], {%r17, %r18, %r19, %r20};
	ret;
}
`

// TestSpecialRegisters: grid (2,3,1), block (4,2,8) = 64 threads = 2 warps
// per CTA. Linear thread l = x + 4(y + 2z); lane = l%32, warp = l/32;
// lanemask_lt = (1<<lane)-1, eq = 1<<lane,
// le = (2<<lane)-1, ge = ^0<<lane, gt = ^1<<lane (§10).
func TestSpecialRegisters(t *testing.T) {
	m := ptLoad(t, "sregs", ptSregPTX)
	d := cpuemu.NewDevice()
	const per = 20
	p := ptBuf(t, d, 6*64*4*per, nil)
	res, err := m.Launch(d, "sregs", cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 2, Y: 3, Z: 1}, Block: cpuemu.Dim3{X: 4, Y: 2, Z: 8}}, p)
	if err != nil {
		t.Fatal(err)
	}
	ptNoDiag(t, res)
	if res.Threads != 6*64 {
		t.Errorf("Threads = %d, want 384", res.Threads)
	}
	out := ptWords(ptRead(t, d, p, 6*64*4*per))
	for cy := range 3 {
		for cx := range 2 {
			for z := range 8 {
				for y := range 2 {
					for x := range 4 {
						l := x + 4*(y+2*z)
						lane := uint32(l % 32)
						g := (cx+2*cy)*64 + l
						want := []uint32{uint32(x), uint32(y), uint32(z), 4, 2, 8, uint32(cx), uint32(cy), 0, 2, 3, 1,
							lane, uint32(l / 32), 1<<lane - 1, 1 << lane, uint32(2<<lane - 1), 0xffffffff << lane, 0xfffffffe << lane, uint32(l)}
						if got := out[per*g : per*g+per]; !slices.Equal(got, want) {
							t.Errorf("block (%d,%d) thread (%d,%d,%d):\n got %#x\nwant %#x", cx, cy, x, y, z, got, want)
						}
					}
				}
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Instruction counts.

const ptCountPTX = ptHeader + `
.visible .entry cnt(
	.param .u64 cnt_param_0
)
{
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<6>;

	ld.param.u64 	%rd1, [cnt_param_0];
	mov.u32 	%r1, %tid.x;
	mul.wide.u32 	%rd2, %r1, 4;
	add.s64 	%rd3, %rd1, %rd2;
	st.u32 	[%rd3], %r1;
	ret;
}

.visible .entry cntg(
	.param .u64 cntg_param_0
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<6>;

	ld.param.u64 	%rd1, [cntg_param_0];
	mov.u32 	%r1, %tid.x;
	mul.wide.u32 	%rd2, %r1, 4;
	add.s64 	%rd3, %rd1, %rd2;
	setp.lt.u32 	%p1, %r1, 10;
	@%p1 st.u32 	[%rd3], %r1;
	ret;
}
`

// TestLaneInstructionCount: cnt runs 6 instructions per thread (ld.param,
// mov, mul.wide, add, st, ret): 6 x 64 = 384 lane-instructions, and under
// Lockstep 6 issues per warp x 2 warps = 12 warp-instructions. cntg runs
// 6 unguarded instructions (ld.param, mov, mul.wide, add, setp, ret) per
// thread plus the @%p1 st for the 10 threads with tid < 10: 6*64 + 10 = 394.
func TestLaneInstructionCount(t *testing.T) {
	m := ptLoad(t, "cnt", ptCountPTX)
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			p := ptBuf(t, d, 256, nil)
			res, err := m.Launch(d, "cnt", s.cfg(ptD1(1), ptD1(64)), p)
			if err != nil {
				t.Fatal(err)
			}
			if res.LaneInstructions != 384 {
				t.Errorf("cnt: LaneInstructions = %d, want 384", res.LaneInstructions)
			}
			if s.s == cpuemu.Lockstep && res.WarpInstructions != 12 {
				t.Errorf("cnt: WarpInstructions = %d, want 12", res.WarpInstructions)
			}
			res, err = m.Launch(d, "cntg", s.cfg(ptD1(1), ptD1(64)), p)
			if err != nil {
				t.Fatal(err)
			}
			if res.LaneInstructions != 394 {
				t.Errorf("cntg: LaneInstructions = %d, want 394", res.LaneInstructions)
			}
			out := ptWords(ptRead(t, d, p, 256))
			for i, v := range out {
				if v != uint32(i) {
					t.Errorf("out[%d] = %d", i, v)
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Dynamic shared memory and parser coverage.

// ptDynSharedPTX declares the dynamic array at module scope, as nvcc does
// for `extern __shared__` (it follows the static part).
const ptDynSharedPTX = ptHeader + `
.shared .align 4 .b8 dstat[8];
.extern .shared .align 16 .b8 dyn[];

.visible .entry dynsh(
	.param .u64 dynsh_param_0
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<8>;
	.reg .b64 	%rd<8>;

	ld.param.u64 	%rd1, [dynsh_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r0, %tid.x;
	setp.ne.u32 	%p1, %r0, 0;
	@%p1 bra 	$L_stat;
	mov.u32 	%r1, 21845;
	st.shared.u32 	[dstat], %r1;
	st.shared.u32 	[dstat+4], %r1;
$L_stat:
	mov.u64 	%rd2, dyn;
	mul.wide.u32 	%rd3, %r0, 4;
	add.s64 	%rd4, %rd2, %rd3;
	add.s32 	%r2, %r0, 1000;
	st.shared.u32 	[%rd4], %r2; // DYNSTORE
	bar.sync 	0;
	add.s32 	%r3, %r0, 1;
	and.b32 	%r3, %r3, 31;
	mul.wide.u32 	%rd5, %r3, 4;
	add.s64 	%rd6, %rd2, %rd5;
	ld.shared.u32 	%r4, [%rd6];
	ld.shared.u32 	%r5, [dstat+4];
	mul.wide.u32 	%rd7, %r0, 8;
	add.s64 	%rd7, %rd1, %rd7;
	st.global.v2.u32 	[%rd7], {%r4, %r5};
	ret;
}
`

// TestDynamicShared: with SharedBytes 128, lane t stores 1000+t in dyn[t]
// and reads dyn[(t+1)%32]; the static dstat (21845 = 0x5555) is not
// overlapped. With SharedBytes 64, lanes 16-31 store past the dynamic part:
// an "out of bounds" shared fault at the store.
func TestDynamicShared(t *testing.T) {
	m := ptLoad(t, "dynsh", ptDynSharedPTX)
	if e, ok := m.Entry("dynsh"); !ok || e.SharedBytes < 8 {
		t.Errorf("entry: %+v, want 8 static shared bytes", e)
	}
	d := cpuemu.NewDevice()
	p := ptBuf(t, d, 256, nil)
	res, err := m.Launch(d, "dynsh", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32), SharedBytes: 128}, p)
	if err != nil {
		t.Fatal(err)
	}
	ptNoDiag(t, res)
	out := ptWords(ptRead(t, d, p, 256))
	for l := range 32 {
		if out[2*l] != uint32(1000+(l+1)%32) || out[2*l+1] != 0x5555 {
			t.Errorf("lane %d: got (%d, %#x), want (%d, 0x5555)", l, out[2*l], out[2*l+1], 1000+(l+1)%32)
		}
	}
	_, err = m.Launch(d, "dynsh", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32), SharedBytes: 64}, p)
	var fe *cpuemu.FaultError
	if !errors.As(err, &fe) || fe.Kind != "out of bounds" || fe.Space != "shared" || fe.Site.PTXLine != ptLine(t, ptDynSharedPTX, "// DYNSTORE") || fe.Lane < 16 {
		t.Errorf("64 dynamic bytes: got %v, want an out of bounds shared fault at the store by a lane >= 16", err)
	}
}

// TestCacheHintsParse: cache operators and eviction-priority qualifiers
// (PTX 7.4+, sm_70: ld.global.L1::evict_last) do not change semantics;
// Load must accept them or at worst report them unsupported,
// never call valid PTX a syntax error.
func TestCacheHintsParse(t *testing.T) {
	src := ptHeader + `
.visible .entry hints(
	.param .u64 hints_param_0
)
{
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<4>;

	ld.param.u64 	%rd1, [hints_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	ld.global.ca.u32 	%r1, [%rd1];
	ld.global.L1::evict_last.u32 	%r2, [%rd1+4]; // HINT
	add.s32 	%r3, %r1, %r2;
	st.global.wb.u32 	[%rd1+8], %r3;
	ret;
}
`
	m, err := cpuemu.Load("hints", []byte(src))
	if err != nil {
		var ue *cpuemu.UnsupportedError
		if !errors.As(err, &ue) || ue.Line != ptLine(t, src, "// HINT") {
			t.Fatalf("load: %v (%T), want success (or an *UnsupportedError at the hinted load)", err, err)
		}
		return
	}
	d := cpuemu.NewDevice()
	p := ptBuf(t, d, 12, ptBytes(3, 4, 0))
	if _, err := m.Launch(d, "hints", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, p); err != nil {
		t.Fatal(err)
	}
	if got := ptWords(ptRead(t, d, p, 12))[2]; got != 7 {
		t.Errorf("3 + 4 = %d", got)
	}
}

// TestConcurrentLaunches: a Module is safe for concurrent use. Eight
// goroutines launch the atomics kernel, two per device on four devices
// (launches on one device serialise), each on its own buffers; every
// launch must get the hand-derived counts of TestAtomics. Run with -race.
func TestConcurrentLaunches(t *testing.T) {
	m := ptLoad(t, "atoms", ptAtomPTX)
	devs := []*cpuemu.Device{cpuemu.NewDevice(), cpuemu.NewDevice(), cpuemu.NewDevice(), cpuemu.NewDevice()}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			d := devs[g%4]
			cnt := make([]uint32, 17)
			cnt[9] = allOnes
			pc, err := d.Alloc(68)
			if err == nil {
				err = d.Write(pc, ptBytes(cnt...))
			}
			var po cpuemu.DevicePtr
			if err == nil {
				po, err = d.Alloc(3 * 256)
			}
			if err == nil {
				s := ptSchedules()[g%len(ptSchedules())]
				_, err = m.Launch(d, "atoms", s.cfg(ptD1(2), ptD1(32)), pc, po)
			}
			if err == nil {
				b := make([]byte, 68)
				err = d.Read(b, pc)
				c := ptWords(b)
				if err == nil && (c[0] != 64 || c[6] != 64 || c[7] != 128 || c[14] != 496 || c[15] != 496) {
					err = fmt.Errorf("goroutine %d: counters %v", g, c)
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
