package cpuemu_test

// The declaration grammar and operand forms of PTX that nvcc, cuda_fp16.h's
// inline assembly and hand-written PTX use, run on the emulator. Each
// kernel takes (in, out); the expected outputs follow from the PTX ISA's
// definitions, written as plain Go next to each case.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// ptIO is the prologue of a kernel k(in, out): %rd1 = &in[tid], %rd2 =
// &out[tid], %r0 = tid, %r9 = in[tid].
func ptIO(name, decls, body string) string {
	return ptHeader + decls + `
.visible .entry ` + name + `(
	.param .u64 ` + name + `_param_0,
	.param .u64 ` + name + `_param_1
)
{
	.reg .pred %p<8>;
	.reg .b32 %r<16>;
	.reg .b64 %rd<16>;

	ld.param.u64 %rd10, [` + name + `_param_0];
	ld.param.u64 %rd11, [` + name + `_param_1];
	cvta.to.global.u64 %rd10, %rd10;
	cvta.to.global.u64 %rd11, %rd11;
	mov.u32 %r0, %tid.x;
	mul.wide.u32 %rd12, %r0, 4;
	add.s64 %rd1, %rd10, %rd12;
	add.s64 %rd2, %rd11, %rd12;
	ld.global.u32 %r9, [%rd1];
` + body + `
	ret;
}
`
}

func ptIota(n int) []byte {
	w := make([]uint32, n)
	for i := range w {
		w[i] = uint32(i)
	}
	return ptBytes(w...)
}

func ptWant(t *testing.T, out []uint32, want func(l uint32) uint32) {
	t.Helper()
	for l := range out {
		if w := want(uint32(l)); out[l] != w {
			t.Errorf("lane %d: got %#x, want %#x", l, out[l], w)
		}
	}
}

func ptRunIO(t *testing.T, src, name string, n int, want func(l uint32) uint32) {
	t.Helper()
	m := ptLoad(t, name, src)
	ptRunAll(t, m, name, ptD1(1), ptD1(uint32(n)), 4*n, ptIota(n), func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		ptWant(t, out, want)
	})
}

// Several names in one declaration, qualifiers without a space, and
// half-precision registers as cuda_fp16.h's inline assembly writes them:
// { .reg .f16 lo, hi; mov.b32 {lo, hi}, x; ... }. out = (hi << 16 | lo)
// swapped halves of in * 0x10001 + tid.
func TestMultiNameDeclarations(t *testing.T) {
	src := ptIO("multi", "", `
	{
	.reg.b32 a, b<2>, c;
	.reg .f16 lo, hi;
	mul.lo.u32 a, %r9, 65537;
	mov.b32 {lo, hi}, a;
	mov.b32 b0, {hi, lo};
	mov.b32 b1, %r0;
	add.u32 c, b0, b1;
	st.global.u32 [%rd2], c;
	}`)
	ptRunIO(t, src, "multi", 64, func(l uint32) uint32 {
		a := l * 0x10001
		return (a>>16 | a<<16) + l
	})
}

// Vector registers (PTX ISA §5.4.2.2): a vector load into V, its
// components by .x .y .z .w and by their color names, a vector move that
// swaps, and a vector store of V. Each lane loads in[4q..4q+3] for q =
// tid&~3 / 4 ... here simply: lanes 0..15 load words 4k..4k+3 with k =
// tid/4 and keep word tid%4 of the rotated vector.
func TestVectorRegisters(t *testing.T) {
	src := ptIO("vecs", "", `
	{
	.reg .v4 .u32 v;
	.reg .v2 .u32 w;
	.reg .b32 t0, t1, t2, t3;
	shr.u32 %r1, %r0, 2;
	mul.wide.u32 %rd3, %r1, 16;
	add.s64 %rd4, %rd10, %rd3;
	ld.global.v4.u32 v, [%rd4];
	// {x, y, z, w} -> {y, z, w, x}: read all, then write.
	mov.v4.u32 {t0, t1, t2, t3}, v;
	mov.v4.u32 v, {t1, t2, t3, t0};
	mov.v2.u32 w, {v.r, v.g};
	mov.v2.u32 w, {w.y, w.x};   // swap: {v.y, v.x} = {t2, t1}
	add.u32 v.b, v.b, w.x;      // z += t2
	and.b32 %r2, %r0, 3;
	setp.eq.u32 %p1, %r2, 0;
	@%p1 st.global.v4.u32 [%rd2], v;
	}`)
	m := ptLoad(t, "vecs", src)
	// Lanes 0, 4, 8, ... store 4 words at out[lane..lane+3]; the others
	// store nothing. For block k (lane 4k): t = in[4k..4k+3] = 4k, 4k+1,
	// 4k+2, 4k+3; v = {t1, t2, t3, t0}; v.z += t2 gives t3 + t2.
	ptRunAll(t, m, "vecs", ptD1(1), ptD1(32), 4*32, ptIota(32), func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for k := uint32(0); k < 8; k++ {
			want := []uint32{4*k + 1, 4*k + 2, (4*k + 3) + (4*k + 2), 4 * k}
			for i, w := range want {
				if out[4*k+uint32(i)] != w {
					t.Errorf("out[%d] = %d, want %d", 4*k+uint32(i), out[4*k+uint32(i)], w)
				}
			}
		}
	})
}

// A register plus an immediate as a source operand: st.u64 [x], temp + 1
// stores temp + 1 (it used to store temp). Also in an ALU source and an
// address register.
func TestRegisterPlusImmediate(t *testing.T) {
	src := ptIO("regimm", "", `
	cvt.u64.u32 %rd5, %r9;
	mul.wide.u32 %rd6, %r0, 8;
	add.s64 %rd6, %rd11, %rd6;
	st.global.u64 [%rd6], %rd5 + 1;
	ld.global.u32 %r3, [%rd6];
	add.u32 %r4, %r3 + 100, %r0 - 2;
	st.global.u32 [%rd6+4], %r4;`)
	m := ptLoad(t, "regimm", src)
	// out is 8 bytes per lane: low word in+1, high word (in+1+100) + (l-2).
	ptRunAll(t, m, "regimm", ptD1(1), ptD1(32), 8*32, ptIota(32), func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptNoDiag(t, res)
		for l := uint32(0); l < 32; l++ {
			if out[2*l] != l+1 || out[2*l+1] != l+1+100+l-2 {
				t.Errorf("lane %d: %d %d, want %d %d", l, out[2*l], out[2*l+1], l+1, l+1+100+l-2)
			}
		}
	})
	// A register plus an immediate cannot be a destination.
	bad := ptIO("regimm", "", "\tadd.u32 %r1 + 1, %r2, %r3;")
	mm := ptLoad(t, "bad", bad)
	if _, err := mm.Kernel("regimm"); err == nil || !strings.Contains(err.Error(), "destination %r1+1 is not a register") {
		t.Errorf("reg+imm destination: %v", err)
	}
}

// Calls with .reg parameters and results, several results, registers and
// immediates as arguments (PTX ISA §9.7.11.5), and an .alias.
func TestRegisterCalls(t *testing.T) {
	src := ptIO("regcall", `
.func (.reg .b32 q, .reg .b32 r) divmod(.reg .b32 a, .reg .b32 b)
{
	div.u32 q, a, b;
	rem.u32 r, a, b;
	ret;
}
.func (.param .b32 s) sum3(.param .b32 x, .reg .b32 y, .param .b64 z)
{
	.reg .b32 %t<4>;
	.reg .b64 %u;
	ld.param.b32 %t1, [x];
	ld.param.b64 %u, [z];
	cvt.u32.u64 %t2, %u;
	add.u32 %t3, %t1, y;
	add.u32 %t3, %t3, %t2;
	st.param.b32 [s], %t3;
	ret;
}
.alias plus3, sum3;
`, `
	{
	.reg .b32 q, r;
	.param .b32 s;
	.param .b32 x;
	.param .b64 z;
	call (q, r), divmod, (%r9, 7);
	st.param.b32 [x], q;
	st.param.b64 [z], 1000;
	call (s), plus3, (x, r, z);
	ld.param.b32 %r5, [s];
	st.global.u32 [%rd2], %r5;
	}`)
	ptRunIO(t, src, "regcall", 64, func(l uint32) uint32 { return l/7 + l%7 + 1000 })
}

// Calls through function pointers: a __device__ table of functions
// (.global .u64 ops[] = {f, g}) called with a .callprototype, and a
// function address taken with mov and called with .calltargets.
func TestIndirectCalls(t *testing.T) {
	src := ptIO("indirect", `
.func (.param .b32 r) add1(.param .b32 x)
{
	.reg .b32 %t<3>;
	ld.param.b32 %t1, [x];
	add.u32 %t2, %t1, 1;
	st.param.b32 [r], %t2;
	ret;
}
.func (.param .b32 r) twice(.param .b32 x)
{
	.reg .b32 %t<3>;
	ld.param.b32 %t1, [x];
	shl.b32 %t2, %t1, 1;
	st.param.b32 [r], %t2;
	ret;
}
.func (.reg .b32 r) square(.reg .b32 x)
{
	mul.lo.u32 r, x, x;
	ret;
}
.global .align 8 .u64 ops[2] = {add1, twice};
`, `
	and.b32 %r1, %r0, 1;
	mul.wide.u32 %rd3, %r1, 8;
	mov.u64 %rd4, ops;
	add.s64 %rd4, %rd4, %rd3;
	ld.global.u64 %rd5, [%rd4];
	{
	.param .b32 x;
	.param .b32 r;
	proto: .callprototype (.param .b32 _) _ (.param .b32 _);
	st.param.b32 [x], %r9;
	call (r), %rd5, (x), proto;
	ld.param.b32 %r2, [r];
	}
	mov.u64 %rd6, square;
	{
	.reg .b32 sq;
	targets: .calltargets square;
	call (sq), %rd6, (%r2), targets;
	add.u32 %r3, sq, %r2;
	}
	st.global.u32 [%rd2], %r3;`)
	ptRunIO(t, src, "indirect", 64, func(l uint32) uint32 {
		v := l + 1 // add1 for even lanes
		if l&1 == 1 {
			v = 2 * l // twice for odd ones
		}
		return v*v + v
	})
}

// brx.idx jumps to the index-th label of a .branchtargets list: lanes
// diverge three ways and reconverge.
func TestBrxIdx(t *testing.T) {
	src := ptIO("brx", "", `
	rem.u32 %r1, %r0, 3;
	ts: .branchtargets L0, L1, L2;
	brx.idx %r1, ts;
L0:
	mov.u32 %r2, 100;
	bra.uni done;
L1:
	mov.u32 %r2, 200;
	bra.uni done;
L2:
	mov.u32 %r2, 300;
done:
	add.u32 %r3, %r2, %r9;
	st.global.u32 [%rd2], %r3;`)
	ptRunIO(t, src, "brx", 64, func(l uint32) uint32 { return 100*(l%3+1) + l })

	// An index past the list is a fault, not a jump into the unknown.
	bad := ptIO("brx", "", `
	ts: .branchtargets L0;
	brx.idx %r0, ts;
L0:
	st.global.u32 [%rd2], %r0;`)
	m := ptLoad(t, "brx-bad", bad)
	d := cpuemu.NewDevice()
	in, out := ptBuf(t, d, 4*32, nil), ptBuf(t, d, 4*32, nil)
	_, err := m.Launch(d, "brx", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)}, in, out)
	var fe *cpuemu.FaultError
	if !errors.As(err, &fe) || !strings.Contains(fe.Kind, "brx.idx index 1 past its 1 targets") {
		t.Errorf("brx.idx past the list: %v", err)
	}
}

// WARP_SZ, nvcc's spelling of warpSize, is the immediate 32.
func TestWarpSz(t *testing.T) {
	src := ptIO("warpsz", "", `
	mov.u32 %r1, WARP_SZ;
	rem.u32 %r2, %r0, WARP_SZ;
	mad.lo.u32 %r3, %r1, 1000, %r2;
	st.global.u32 [%rd2], %r3;`)
	ptRunIO(t, src, "warpsz", 64, func(l uint32) uint32 { return 32000 + l%32 })
}

// Texture references at module scope and an uncalled .extern .func do not
// stop a module from loading: only an entry that uses them fails, with the
// line of the use. (vprintf and __assertfail have no body either, but the
// emulator provides them: see printf_test.go.)
func TestModuleDeclarationsFailOnlyWhereUsed(t *testing.T) {
	decls := `
.global .texref tex0;
.global .samplerref smp = { filter_mode = nearest };
.extern .func (.param .b64 func_retval0) malloc(.param .b64 malloc_param_0);
.extern .global .align 4 .u32 elsewhere;
`
	ok := ptIO("ok", decls, "\tst.global.u32 [%rd2], %r9;")
	usesTex := strings.Replace(ptIO("ok", decls, "\tmov.u64 %rd3, tex0; // USE\n\tst.global.u32 [%rd2], %r9;"), ".entry ok(", ".entry usestex(", 1)
	usesTex = strings.ReplaceAll(usesTex, "ok_param", "usestex_param")
	usesExt := strings.ReplaceAll(strings.Replace(ptIO("ok", "", "\tld.global.u32 %r1, [elsewhere]; // USE\n\tst.global.u32 [%rd2], %r1;"), ".entry ok(", ".entry usesext(", 1), "ok_param", "usesext_param")
	callsMalloc := strings.ReplaceAll(strings.Replace(ptIO("ok", "", `
	{
	.param .b64 p0;
	.param .b64 rv;
	st.param.b64 [p0], 16;
	call.uni (rv), malloc, (p0); // USE
	}`), ".entry ok(", ".entry malloc16(", 1), "ok_param", "malloc16_param")
	src := ok + usesTex[len(ptHeader)+len(decls):] + usesExt[len(ptHeader):] + callsMalloc[len(ptHeader):]
	m := ptLoad(t, "decls", src)
	ptRunAll(t, m, "ok", ptD1(1), ptD1(32), 4*32, ptIota(32), func(t *testing.T, out []uint32, res *cpuemu.Result) {
		ptWant(t, out, func(l uint32) uint32 { return l })
	})
	lines := strings.Split(src, "\n")
	useLine := func(entry string) int {
		in := false
		for i, l := range lines {
			in = in || strings.Contains(l, ".entry "+entry+"(")
			if in && strings.Contains(l, "// USE") {
				return i + 1
			}
		}
		t.Fatalf("no USE line in %s", entry)
		return 0
	}
	for entry, what := range map[string]string{"usestex": "texture, sampler or surface reference tex0", "usesext": "external .global variable elsewhere", "malloc16": "external function malloc"} {
		_, err := m.Kernel(entry)
		var ue *cpuemu.UnsupportedError
		if !errors.As(err, &ue) || ue.Entry != entry || ue.Line != useLine(entry) || !strings.Contains(err.Error(), what) {
			t.Errorf("%s: %v; want an *UnsupportedError at line %d naming %q", entry, err, useLine(entry), what)
		}
	}
}

// A call through a pointer that holds no function is a fault.
func TestIndirectCallFaults(t *testing.T) {
	src := ptIO("badcall", `
.func (.param .b32 r) f(.param .b32 x)
{
	st.param.b32 [r], 1;
	ret;
}
.global .u64 fp = f;
`, `
	cvt.u64.u32 %rd3, %r9;
	{
	.param .b32 x;
	.param .b32 r;
	proto: .callprototype (.param .b32 _) _ (.param .b32 _);
	st.param.b32 [x], 0;
	call (r), %rd3, (x), proto;
	}`)
	m := ptLoad(t, "badcall", src)
	d := cpuemu.NewDevice()
	in, out := ptBuf(t, d, 4*32, ptIota(32)), ptBuf(t, d, 4*32, nil)
	_, err := m.Launch(d, "badcall", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)}, in, out)
	var fe *cpuemu.FaultError
	if !errors.As(err, &fe) || !strings.Contains(fe.Kind, "holds no function") {
		t.Errorf("call through 0..31: %v", err)
	}
}

// TestRefusedForms: every qualifier the lowering accepts changes what the
// instruction does, or the instruction is refused: forms the PTX ISA does
// not define for the type, and forms the emulator does not implement, each
// name what is wrong.
func TestRefusedForms(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"rem.f32 %f1, %f2, %f3;", "rem takes integer types"},
		{"add.ftz.f64 %fd1, %fd2, %fd3;", ".ftz applies to .f32 only"},
		{"abs.ftz.f64 %fd1, %fd2;", ".ftz applies to .f32 only"},
		{"setp.eq.ftz.s32 %p1, %r1, %r2;", ".ftz applies to .f32 only"},
		{"sqrt.rn.ftz.f64 %fd1, %fd2;", ".ftz applies to .f32 only"},
		{"div.approx.f64 %fd1, %fd2, %fd3;", ".approx and .full division are .f32 only"},
		{"div.approx.rn.f32 %f1, %f2, %f3;", "takes no rounding modifier"},
		{"max.NaN.f64 %fd1, %fd2, %fd3;", ".NaN applies to .f32"},
		{"max.NaN.s32 %r1, %r2, %r3;", ".NaN applies to .f32"},
		{"max.relu.f32 %f1, %f2, %f3;", ".relu applies to .s32"},
		{"min.relu.u32 %r1, %r2, %r3;", ".relu applies to .s32"},
		{"add.sat.u32 %r1, %r2, %r3;", ".sat applies to add.s32"},
		{"mul.lo.sat.s32 %r1, %r2, %r3;", ".sat applies to add.s32"},
		{"add.sat.f64 %fd1, %fd2, %fd3;", ".sat applies to .f32"},
		{"add.rni.f32 %f1, %f2, %f3;", "integer rounding (rni) on a float result"},
		{"sqrt.rzi.f32 %f1, %f2;", "integer rounding (rzi) on a float result"},
		{"cvt.rn.s32.f32 %r1, %f1;", "takes an integer rounding modifier"},
		{"cvt.rzi.f32.s32 %f1, %r1;", "takes a float rounding modifier"},
		{"cvt.f32.f64 %f1, %fd1;", "takes a float rounding modifier"},
		{"cvt.rn.f32.f32 %f1, %f2;", "takes no float rounding modifier"},
		{"cvt.rn.f64.f32 %fd1, %f1;", "cvt.f64.f32 takes no rounding modifier"},
		{"cvt.rn.u32.s32 %r1, %r2;", "takes no rounding modifier"},
		{"cvt.ftz.u32.s64 %r1, %rd1;", ".ftz applies to conversions from or to .f32"},
		{"lop3.b32 %r1, %r2, %r3, %r4, 256;", "lookup table from 0 to 255"},
		{"bar.sync.u32 0;", "a type on an instruction that takes none"},
		{"red.global.add.noftz.f32 [%rd1], %f1;", "modifier .noftz"},
		{"mov.u32 %r1, %envreg3;", "special register %envreg3"},
		{"selp.b32 %r1, %r2, %r3, !%p1;", "a negated operand (!%p1)"},
		{"add.bf16 %rs1, %rs2, %rs3;", "add.bf16 requires sm_90; the module targets sm_70"},
		{"add.rz.f16 %rs1, %rs2, %rs3;", "rounds to nearest (.rn) only"},
		{"fma.rn.sat.relu.f16 %rs1, %rs2, %rs3, %rs1;", ".sat and .relu together"},
		{"add.relu.f16 %rs1, %rs2, %rs3;", ".relu on add.f16"},
		{"min.xorsign.abs.f16 %rs1, %rs2, %rs3;", "requires sm_86"},
		{"ld.global.f16 %rs1, [%rd1];", "type .f16 on ld"},
		{"cvt.rn.e4m3x2.f32 %rs1, %f1, %f2;", "takes .satfinite"},
		{"foo.sync %r1;", "unknown opcode"},
		{"st.v2.u32 [%rd1], {%r1, _};", "_ is for destinations"},
		{"mov.u32 %r1, %clock+4;", "%clock plus an offset"},
		{"prefetch.global.L1 [nosuch];", "undefined name nosuch"},
		{"add.u32 %r1, %r2, 0f3F800000;", "float literal used as .u32"},
		{"setp.lo.f32 %p1, %f1, %f2;", ".lo compares unsigned integers, not .f32"},
		{"setp.hi.f16 %p1, %rs1, %rs2;", ".hi compares unsigned integers, not .f16"},
		{"setp.equ.u32 %p1, %r1, %r2;", ".equ compares floats, not .u32"},
		{"set.nan.u32.s32 %r1, %r2, %r3;", ".nan compares floats, not .s32"},
		{"setp.lo.s32 %p1, %r1, %r2;", ".lo compares unsigned integers, not .s32 (use .lt)"},
		{"setp.lt.b32 %p1, %r1, %r2;", "a bit-size type (.b32) compares with .eq and .ne only"},
		{"set.eq.f32.f16 %f1, %rs1, %rs2;", "set.f32.f16"},
		{"set.eq.ftz.bf16.f32 %rs1, %f1, %f2;", ".ftz on set.bf16.f32"},
		{"cvt.rn.sat.relu.f16.f32 %rs1, %f1;", ".sat on cvt.f16.f32 with .relu"},
		{"add.f16x2 %rs1, %r2, %r2;", "register %rs1 is .b16 (2 bytes); the instruction's type takes 4"},
		{"add.f16 %rs1, %rs2, %r3;", "register %r3 is .b32 (4 bytes); the instruction's type takes 2"},
		{"setp.eq.f16x2 %p1|%p2, %rs1, %r2;", "register %rs1 is .b16"},
		{"cvt.rn.f16x2.f32 %rs1, %f1, %f2;", "requires sm_80"}, // a target check first; then the width, below
		{"cvt.rn.ftz.relu.f16.f32 %rs1, %f1;", ".ftz on cvt.f16.f32 with .relu"},
		{"cvt.rz.ftz.bf16x2.f32 %r1, %f1, %f2;", ".ftz on cvt.bf16x2.f32"},
		{"cvt.ftz.f32.bf16 %f1, %rs1;", "cvt.f32.bf16 requires sm_90"},
		{"mov.b16 %rs1, %rs2;\n\tmov.e4m3x2 %rs1, %rs2;", "fp8 types are for cvt"},
		// The scalar video instructions, in the ISA's forms only.
		{"vadd.f32.f32.f32 %f1, %f2, %f3;", "type .f32: the video instructions take .u32 and .s32"},
		{"vadd.u32.u32 %r1, %r2, %r3;", "vadd needs 3 types"},
		{"vset.u32.u32.u32.lt %r1, %r2, %r3;", "vset needs 2 types"},
		{"vadd.u32.u32.u32 %r1, %r2.b4, %r3;", "selector .b4 on %r2"},
		{"vadd.u32.u32.u32 %r1, %r2.x, %r3;", "selector .x on %r2"},
		{"vadd.u32.u32.u32.add %r1.b0, %r2, %r3, %r4;", "a destination selector together with a secondary operation"},
		{"vadd.u32.u32.u32 %r1, %r2, %r3, %r4;", "takes a fourth operand only with"},
		{"vadd.u32.u32.u32.min %r1, %r2, %r3;", "needs its operand c"},
		{"vadd.u32.u32.u32 %r1.h0, %r2, %r3;", "merges into c"},
		{"vadd.u32.u32.u32.add %r1, %r2, %r3, %r4.b0;", "a selector on %r4.b0: vadd c takes none"},
		{"vadd.u32.u32.u32.add.min %r1, %r2, %r3, %r4;", "modifier .min"},
		{"vadd.u32.u32.u32 %r1, %r2, %r3, %r4, %r5;", "vadd takes 3 operands, or 4"},
		{"vadd.u32.u32.u32 %r1, %r2, 0f3F800000;", "float literal used as .u32"},
		{"vadd.u32.u32.u32.shr7 %r1, %r2, %r3;", "modifier .shr7"},
		{"vsub.u32.u32.u32.clamp %r1, %r2, %r3;", "modifier .clamp"},
		{"vshl.u32.u32.s32.clamp %r1, %r2, %r3;", "shift amount is .u32"},
		{"vshl.u32.u32.u32 %r1, %r2, %r3;", "needs a mode, .clamp or .wrap"},
		{"vshr.u32.u32.u32.clamp.wrap %r1, %r2, %r3;", "modifier .wrap"},
		{"vset.u32.u32.lt.sat %r1, %r2, %r3;", "vset takes no .sat"},
		{"vset.u32.u32.lo %r1, %r2, %r3;", "vset needs a comparison"},
		{"vmad.u32.u32.u32.po %r1, -%r2, %r3, %r4;", "a negated source with .po"},
		{"vmad.u32.u32.u32.po %r1, %r2, %r3, -%r4;", "a negated source with .po"},
		{"vmad.s32.s32.s32 %r1, -%r2, %r3, -%r4;", "negating both (a*b) and c"},
		{"vmad.u32.u32.u32 %r1.b0, %r2, %r3, %r4;", "a selector on %r1.b0: vmad d takes none"},
		{"vmad.u32.u32.u32 %r1, %r2, %r3, %r4.h1;", "a selector on %r4.h1: vmad c takes none"},
		{"vmad.u32.u32.u32.add %r1, %r2, %r3, %r4;", "modifier .add"},
		{"vmad.u32.u32.u32.shr7.shr15 %r1, %r2, %r3, %r4;", "modifier .shr15"},
		{"vmad.u32.u32.u32 %r1, %r2, %r3;", "vmad takes 4 operands"},
		{"vmad.u32.u32.u32 -%r1, %r2, %r3, %r4;", "destination -%r1 is not a register"},
		{"vmad.u32.u32.u32 %r1, %r2, %r3, %rs1;", "register %rs1 is .b16: the video instructions take 32-bit integer registers"},
		{"vadd.u32.u32.u32 %rd1, %r2, %r3;", "register %rd1 is .b64"},
		{"vadd.u32.u32.u32 %r1, %f1.h0, %r3;", "register %f1 is .f32"},
		{"vadd.u32.u32.u32 _, %r2, %r3;", "_ as the destination"},
		{"vadd2.u32.u32.u32 %r1, %r2, %r3, %r4;", "unknown opcode"},
		{"vsub4.u32.u32.u32 %r1, %r2, %r3, %r4;", "unknown opcode"},
		{"vavrg2.u32.u32.u32 %r1, %r2, %r3, %r4;", "unknown opcode"},
		{"vset2.u32.u32.lt %r1, %r2, %r3, %r4;", "unknown opcode"},
	} {
		ptRefuses(t, ptHeader, c.body, c.want)
	}
}

// ptRefuses checks that an entry whose body is body, under header (its
// .version and .target lines and .address_size), loads and is refused
// with an *UnsupportedError or *SyntaxError that says want and names the
// body's last line. The entry declares %p<4>, %rs<8>, %r<8>, %f<4>,
// %rd<4> and %fd<4>.
func ptRefuses(t *testing.T, header, body, want string) {
	t.Helper()
	ptRefusal(t, header, body, want, false)
}

// ptUnsupported is ptRefuses for an *UnsupportedError alone.
func ptUnsupported(t *testing.T, header, body, want string) {
	t.Helper()
	ptRefusal(t, header, body, want, true)
}

func ptRefusal(t *testing.T, header, body, want string, unsupportedOnly bool) {
	t.Helper()
	src := header + `.visible .entry k(.param .u64 p)
{
	.reg .pred %p<4>;
	.reg .b16 %rs<8>;
	.reg .b32 %r<8>;
	.reg .f32 %f<4>;
	.reg .b64 %rd<4>;
	.reg .f64 %fd<4>;
	` + body + ` // HERE
	ret;
}
`
	m, err := cpuemu.Load("forms", []byte(src))
	if err != nil {
		t.Errorf("%s: Load: %v", body, err)
		return
	}
	_, err = m.Kernel("k")
	var ue *cpuemu.UnsupportedError
	var se *cpuemu.SyntaxError
	if err == nil || !strings.Contains(err.Error(), want) || !errors.As(err, &ue) && (unsupportedOnly || !errors.As(err, &se)) {
		t.Errorf("%s: %v; want a refusal that says %q", body, err, want)
		return
	}
	if line := ptLine(t, src, "// HERE"); !strings.Contains(err.Error(), fmt.Sprintf("ptx line %d", line)) {
		t.Errorf("%s: %v does not name line %d", body, err, line)
	}
}

// TestAcceptedHints: hints that do not change what an instruction does are
// accepted, with their operands: .L2::cache_hint's cache policy, eviction
// priorities, .uni.
func TestAcceptedHints(t *testing.T) {
	src := ptIO("hints", "", `
	mov.u64 %rd3, 0;
	ld.global.L1::evict_last.L2::cache_hint.u32 %r1, [%rd1], %rd3;
	st.global.L2::cache_hint.u32 [%rd2], %r1, %rd3;
	bra.uni done;
done:`)
	ptRunIO(t, src, "hints", 32, func(l uint32) uint32 { return l })
}

// TestReqntid: a launch whose block breaks the entry's .reqntid or
// .maxntid fails, as the driver's does.
func TestReqntid(t *testing.T) {
	src := ptHeader + `
.visible .entry req(.param .u64 p) .reqntid 64, 2
{
	ret;
}
.visible .entry mx(.param .u64 p) .maxntid 128, 1, 1
{
	ret;
}
`
	m := ptLoad(t, "req", src)
	d := cpuemu.NewDevice()
	p := ptBuf(t, d, 4, nil)
	launch := func(k string, b cpuemu.Dim3) error {
		_, err := m.Launch(d, k, cpuemu.LaunchConfig{Grid: ptD1(1), Block: b}, p)
		return err
	}
	if e, _ := m.Entry("req"); e.ReqNTID != (cpuemu.Dim3{X: 64, Y: 2, Z: 1}) {
		t.Errorf("ReqNTID = %v", e.ReqNTID)
	}
	if err := launch("req", cpuemu.Dim3{X: 64, Y: 2, Z: 1}); err != nil {
		t.Errorf("the required shape: %v", err)
	}
	var ae *cpuemu.ArgError
	if err := launch("req", cpuemu.Dim3{X: 128, Y: 1, Z: 1}); !errors.As(err, &ae) || !strings.Contains(err.Error(), "requires (64,2,1) (.reqntid)") {
		t.Errorf("another shape of as many threads: %v", err)
	}
	if err := launch("mx", ptD1(128)); err != nil {
		t.Errorf("128 threads under .maxntid 128: %v", err)
	}
	if err := launch("mx", cpuemu.Dim3{X: 65, Y: 2, Z: 1}); !errors.As(err, &ae) || !strings.Contains(err.Error(), "at most 128 (.maxntid)") {
		t.Errorf("130 threads under .maxntid 128: %v", err)
	}
}

// TestFrontendCUDA loads what nvcc 11.8 made of testdata/frontend/
// frontend.cu: every entry that uses only what the emulator implements runs
// under the checker and matches the CUDA source; each of the others fails
// alone, with the reason the README's list of what does not run gives.
func TestFrontendCUDA(t *testing.T) {
	src, err := os.ReadFile("testdata/frontend/frontend.ptx")
	if err != nil {
		t.Fatal(err)
	}
	m := ptLoad(t, "frontend.ptx", string(src))
	refused := map[string]string{
		"_Z6texobjyPf": "unsupported instruction tex.1d",
	}
	for _, e := range m.Entries() {
		want, bad := refused[e.Name]
		switch {
		case bad && (e.Err == nil || !strings.Contains(e.Err.Error(), want)):
			t.Errorf("%s: %v; want it refused with %q", e.Name, e.Err, want)
		case !bad && e.Err != nil:
			t.Errorf("%s: %v", e.Name, e.Err)
		}
	}
	if len(m.Entries()) != 16 {
		t.Errorf("%d entries, want 16", len(m.Entries()))
	}
	d := cpuemu.NewDevice()
	launch := func(t *testing.T, kernel string, block, shared int, args ...any) {
		t.Helper()
		cfg := cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(uint32(block)), SharedBytes: shared, Check: true}
		res, err := m.Launch(d, kernel, cfg, args...)
		if err != nil {
			t.Fatalf("%s: %v", kernel, err)
		}
		ptNoDiag(t, res)
	}
	check := func(t *testing.T, p cpuemu.DevicePtr, n int, want func(i uint32) uint32) {
		t.Helper()
		for i, g := range ptWords(ptRead(t, d, p, 4*n)) {
			if w := want(uint32(i)); g != w {
				t.Errorf("out[%d] = %d (%#x), want %d (%#x)", i, g, g, w, w)
			}
		}
	}
	out := ptBuf(t, d, 4*64, nil)
	out2 := ptBuf(t, d, 4*64, nil)
	t.Run("warpSize", func(t *testing.T) {
		launch(t, "_Z6warpszPi", 64, 0, out)
		check(t, out, 64, func(i uint32) uint32 { return i%32 + 32 })
	})
	t.Run("function pointers", func(t *testing.T) {
		launch(t, "_Z4fptrPi", 32, 0, out)
		check(t, out, 32, func(i uint32) uint32 {
			if i&1 == 1 {
				return 2 * i // twice
			}
			return i + 1 // add1
		})
	})
	t.Run("recursion", func(t *testing.T) {
		launch(t, "_Z5recurPi", 32, 0, out)
		facts := []uint32{1, 1, 2, 6, 24, 120, 720, 5040}
		check(t, out, 32, func(i uint32) uint32 { return facts[i&7] })
	})
	t.Run("recursion with pointers to locals", func(t *testing.T) {
		// rec(0, 3, k) = a3[k] + a2[k] + a1[k] with an[i] = 10n + i: each
		// activation reads its caller's array through a pointer.
		launch(t, "_Z6recptrPi", 32, 0, out)
		check(t, out, 32, func(i uint32) uint32 { return 60 + 3*(i&3) })
	})
	t.Run("pointers in initialisers", func(t *testing.T) {
		// *pk.p = g[1] = 2, *pg = g[2] = 3, mv = 5, pk.c = 1.
		launch(t, "_Z8pointersPi", 32, 0, out)
		check(t, out, 32, func(uint32) uint32 { return 2 + 3 + 5 + 1 })
	})
	t.Run("half precision", func(t *testing.T) {
		// c[i] = a[i] + b[i] with a[i] = i and b[i] = 0.25, all exact in
		// binary16 (f16Bits writes a value by the format's definition).
		var ab, bb []byte
		for i := range 32 {
			ab = binary.LittleEndian.AppendUint16(ab, f16Bits(float64(i)))
			bb = binary.LittleEndian.AppendUint16(bb, f16Bits(0.25))
		}
		a, b, c := ptBuf(t, d, 64, ab), ptBuf(t, d, 64, bb), ptBuf(t, d, 64, nil)
		launch(t, "_Z6halvesP6__halfS0_S0_", 32, 0, a, b, c)
		got := ptRead(t, d, c, 64)
		for i := range 32 {
			if g, w := binary.LittleEndian.Uint16(got[2*i:]), f16Bits(float64(i)+0.25); g != w {
				t.Errorf("c[%d] = %#04x, want %#04x", i, g, w)
			}
		}
	})
	t.Run("switch", func(t *testing.T) {
		launch(t, "_Z2swPii", 32, 0, out, int32(3))
		vals := []uint32{11, 23, 37, 41, 53, 67, 79}
		check(t, out, 32, func(i uint32) uint32 { return vals[(i+3)%7] })
	})
	t.Run("struct by value", func(t *testing.T) {
		// struct S { int a; float b; double c; char d[5]; }: a at 0, b at
		// 4, c at 8, d at 16; 24 bytes, aligned to 8.
		s := make([]byte, 24)
		binary.LittleEndian.PutUint32(s[0:], 100)
		binary.LittleEndian.PutUint32(s[4:], math.Float32bits(2.75))
		binary.LittleEndian.PutUint64(s[8:], math.Float64bits(1000.9))
		copy(s[16:], "abcde")
		launch(t, "_Z5byval1SPi", 32, 0, s, out)
		check(t, out, 32, func(i uint32) uint32 { return 100 + 2 + 1000 + uint32("abcde"[i%5]) })
	})
	t.Run("constant and device data", func(t *testing.T) {
		launch(t, "_Z6constsPfPi", 32, 0, out, out2)
		coef := []float32{1.5, 2.5, 3.5, 4.5}
		check(t, out, 32, func(i uint32) uint32 { return math.Float32bits(coef[i&3] * 2) })
		table := []uint32{7, 11, 13, 17}
		check(t, out2, 32, func(i uint32) uint32 { return table[i&3] })
	})
	t.Run("local array", func(t *testing.T) {
		launch(t, "_Z8localarrPii", 32, 0, out, int32(5))
		check(t, out, 32, func(i uint32) uint32 { return 5 * (7 * i & 15) })
	})
	t.Run("dynamic shared memory", func(t *testing.T) {
		launch(t, "_Z9dynsharedPf", 64, 256, out)
		check(t, out, 64, func(i uint32) uint32 { return math.Float32bits(float32(63 - i)) })
	})
	t.Run("double sin", func(t *testing.T) {
		// CUDA's sin is within 2 ulp; Go's math.Sin is within 1 of the
		// true value for these small arguments.
		outD := ptBuf(t, d, 8*32, nil)
		launch(t, "_Z4dsinPd", 32, 0, outD)
		b := ptRead(t, d, outD, 8*32)
		for i := 0; i < 32; i++ {
			g := math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
			w := math.Sin(float64(i) * 0.5)
			if ulp := math.Nextafter(math.Abs(w), math.Inf(1)) - math.Abs(w); math.Abs(g-w) > 3*ulp {
				t.Errorf("sin(%g) = %.17g, want %.17g", float64(i)*0.5, g, w)
			}
		}
	})
	t.Run("printf", func(t *testing.T) {
		// Unchecked: every thread stores out[0] (a race the checker
		// would rightly report).
		got, res, err := printfRun(t, m, d, "_Z6printsPi", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(4)}, out)
		if err != nil || got != "lane 0\nlane 1\nlane 2\nlane 3\n" {
			t.Errorf("%q, %v", got, err)
		}
		ptNoDiag(t, res)
	})
	t.Run("assert", func(t *testing.T) {
		launch(t, "_Z7assertsPi", 32, 0, out)
		check(t, out, 32, func(uint32) uint32 { return 2 })
		_, _, err := printfRun(t, m, d, "_Z7assertsPi", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)}, cpuemu.DevicePtr(0))
		var ae *cpuemu.AssertError
		if want := "frontend.cu:70: void asserts(int *): block: [0,0,0], thread: [0,0,0] Assertion `out != nullptr` failed."; !errors.As(err, &ae) || err.Error() != want {
			t.Errorf("asserts(nullptr): %v; want %q", err, want)
		}
	})
	t.Run("grid sync", func(t *testing.T) {
		// out[blockIdx.x] = 1 before the grid sync: a cooperative launch
		// of 4 blocks runs, a plain one traps at the sync. (Every thread
		// of a block stores its 1: a race the checker would report.)
		if err := d.Memset(out, 0, 4*64); err != nil {
			t.Fatal(err)
		}
		cfg := cpuemu.LaunchConfig{Grid: ptD1(4), Block: ptD1(32), Cooperative: true}
		res, err := m.Launch(d, "_Z8gridsyncPi", cfg, out)
		if err != nil {
			t.Fatal(err)
		}
		ptNoDiag(t, res)
		check(t, out, 8, func(i uint32) uint32 { return b2u(i < 4) })
		cfg.Cooperative = false
		if _, err := m.Launch(d, "_Z8gridsyncPi", cfg, out); ptFault(t, err).Kind != "trap" {
			t.Errorf("a plain launch: %v, want a trap", err)
		}
	})
}

// TestVariablePlusOffset: a variable's name plus an offset is the
// variable's address plus the offset, in a mov as in an address.
func TestVariablePlusOffset(t *testing.T) {
	src := ptIO("varoff", `
.global .align 4 .u32 tbl[4] = {10, 20, 30, 40};
`, `
	{
	.shared .align 4 .b8 sm[64];
	mov.u64 %rd3, tbl+8;
	ld.global.u32 %r1, [%rd3];      // tbl[2] = 30
	ld.global.u32 %r2, [tbl+12];    // tbl[3] = 40
	mov.u32 %r3, sm+16;
	mov.u32 %r4, sm;
	sub.u32 %r5, %r3, %r4;          // 16
	add.u32 %r6, %r1, %r2;
	add.u32 %r6, %r6, %r5;
	st.global.u32 [%rd2], %r6;
	}`)
	ptRunIO(t, src, "varoff", 32, func(uint32) uint32 { return 30 + 40 + 16 })
}

// TestIndirectCallTargets: an indirect call links only the functions
// whose address is taken, that lower, and whose parameters match the
// call's; a function elsewhere in the module that cannot run (it calls
// free) does not stop the entry, and calling it, or one of another shape,
// through a pointer faults with the reason.
func TestIndirectCallTargets(t *testing.T) {
	src := ptIO("targets", `
.extern .func free(.param .b64 free_param_0);
.func (.param .b32 r) sq(.param .b32 x)
{
	.reg .b32 %t<3>;
	ld.param.b32 %t1, [x];
	mul.lo.u32 %t2, %t1, %t1;
	st.param.b32 [r], %t2;
	ret;
}
.func (.param .b32 r) uses_free(.param .b32 x)
{
	{
	.param .b64 p;
	st.param.b64 [p], 0;
	call.uni free, (p);
	}
	st.param.b32 [r], 0;
	ret;
}
.func (.param .b64 r) wide(.param .b64 x)
{
	st.param.b64 [r], 0;
	ret;
}
.global .align 8 .u64 fns[3] = {sq, uses_free, wide};
`, `
	mul.wide.u32 %rd3, %r9, 8;
	mov.u64 %rd4, fns;
	add.s64 %rd4, %rd4, %rd3;
	ld.global.u64 %rd5, [%rd4];
	{
	.param .b32 x;
	.param .b32 r;
	proto: .callprototype (.param .b32 _) _ (.param .b32 _);
	st.param.b32 [x], 7;
	call (r), %rd5, (x), proto;
	ld.param.b32 %r2, [r];
	}
	st.global.u32 [%rd2], %r2;`)
	m := ptLoad(t, "targets", src)
	if _, err := m.Kernel("targets"); err != nil {
		t.Fatalf("the entry: %v", err)
	}
	for _, c := range []struct {
		in   uint32 // which table entry lane 0 calls
		want string
	}{{1, "holds uses_free, which cannot run on the emulator"}, {2, "holds wide, whose parameters do not match"}} {
		d := cpuemu.NewDevice()
		in, out := ptBuf(t, d, 4, ptBytes(c.in)), ptBuf(t, d, 4, nil)
		_, err := m.Launch(d, "targets", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, in, out)
		var fe *cpuemu.FaultError
		if !errors.As(err, &fe) || !strings.Contains(fe.Kind, c.want) {
			t.Errorf("through fns[%d]: %v; want a fault that %s", c.in, err, c.want)
		}
	}
	d := cpuemu.NewDevice()
	in, out := ptBuf(t, d, 4, ptBytes(0)), ptBuf(t, d, 4, nil)
	if _, err := m.Launch(d, "targets", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, in, out); err != nil {
		t.Fatal(err)
	}
	if got := ptWords(ptRead(t, d, out, 4))[0]; got != 49 {
		t.Errorf("sq(7) = %d", got)
	}
}

// TestCallShapes: a call's arguments and results must have their
// parameters' sizes, a vector .reg parameter takes a vector, and a result
// cannot be _.
func TestCallShapes(t *testing.T) {
	for _, c := range []struct{ decls, body, want string }{
		{".func f(.param .b32 x) { ret; }", "{ .param .b64 a; st.param.b64 [a], 1; call.uni f, (a); }", "call argument 0 is 8 bytes; the parameter x is 4"},
		{".func (.param .b64 r) f() { ret; }", "{ .param .b32 rv; call.uni (rv), f, (); }", "call result 0 is 4 bytes; the parameter r is 8"},
		{".func f(.reg .v2 .b32 x) { ret; }", "call.uni f, (%r1);", "the parameter x is a .v2 .b32 register; pass a vector register or a brace list of 2 elements"},
		{".func f(.reg .v2 .b32 x) { ret; }", "call.uni f, ({%r1, %rd1});", "element %rd1 is 8 bytes; the parameter x's elements are 4"},
		{".func (.reg .v2 .b32 r) f() { ret; }", "call.uni ({%r1, _}), f, ();", "a call result cannot be _"},
		// Counts and sizes of one are singular.
		{".func (.param .b32 r) f() { ret; }", "{ .param .b8 rv; call.uni (rv), f, (); }", "call result 0 is 1 byte; the parameter r is 4"},
		{".func f(.param .b32 x) { ret; }", "{ .param .b8 a; st.param.b8 [a], 1; call.uni f, (a); }", "call argument 0 is 1 byte; the parameter x is 4"},
		{".func f(.param .b32 x, .param .b32 y) { ret; }", "call.uni f, (%r1);", "call to f passes 1 argument and 0 results; it takes 2 and 0"},
		{".func (.param .b32 r) f() { ret; }", "call.uni (%r1, %r2), f, ();", "call to f passes 0 arguments and 2 results; it takes 0 and 1"},
		{".func (.param .b32 r) f(.param .b32 x) { ret; }", "call.uni (%r1), f, (%r1, %r2);", "call to f passes 2 arguments and 1 result; it takes 1 and 1"},
		{".func f(.param .b32 x) { ret; }", "{ .reg .b8 %c; mov.b8 %c, 1; call.uni f, (%c); }", "call argument %c is 1 byte; the parameter x is 4"},
		{".func f(.reg .v2 .b16 x) { ret; }", "{ .reg .b8 %c; mov.b8 %c, 1; call.uni f, ({%c, %c}); }", "element %c is 1 byte; the parameter x's elements are 2"},
		// A call's result cannot be _; a register passed for a .reg
		// parameter has the parameter's size.
		{".func (.reg .b32 r) f(.reg .b32 x) { add.u32 r, x, 1; ret; }", "call (_), f, (%r1);", "a call result cannot be _"},
		{".func (.reg .b32 r) f(.reg .b32 x) { add.u32 r, x, 1; ret; }", "call (%r2), f, (%rd1);", "call argument %rd1 is 8 bytes; the parameter x is 4"},
		{".func (.reg .b32 r) f(.reg .b32 x) { add.u32 r, x, 1; ret; }", "call (%rd1), f, (%r1);", "call result 0 is 8 bytes; the parameter r is 4"},
		// A prototype's unsized array takes no argument a call can pass.
		{"", "{ .param .b32 x; .reg .b64 %q; mov.u64 %q, 0;\n\tproto: .callprototype _ (.param .b8 _[]);\n\tcall %q, (x), proto; }", "call argument 0 is 4 bytes; the parameter _ is an unsized array"},
	} {
		ptRefuses(t, ptHeader+c.decls+"\n", c.body, c.want)
	}
}

// TestDynamicSharedAlignment: the dynamic shared array starts after the
// static part, aligned to its own .align when that is more than 16.
func TestDynamicSharedAlignment(t *testing.T) {
	src := ptIO("dynal", `
.extern .shared .align 128 .b8 smem[];
`, `
	{
	.shared .align 4 .u32 st;
	mov.u32 %r1, smem;
	mov.u32 %r2, st;
	sub.u32 %r3, %r1, %r2;
	st.global.u32 [%rd2], %r3;
	}`)
	ptRunIO(t, src, "dynal", 32, func(uint32) uint32 { return 128 }) // st at 0, 4 bytes; smem at 128
	_, err := cpuemu.Load("as32", []byte(".version 7.8\n.target sm_70\n.address_size 32\n"))
	var ue *cpuemu.UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), ".address_size 32") {
		t.Errorf(".address_size 32: %v", err)
	}
}

// f16Bits encodes v, which must be zero or a normal binary16 number that
// the format represents exactly: sign, exponent biased by 15, and the 10
// fraction bits of v / 2^e - 1.
func f16Bits(v float64) uint16 {
	if v == 0 {
		return 0
	}
	var sign uint16
	if v < 0 {
		sign, v = 0x8000, -v
	}
	e := int(math.Floor(math.Log2(v)))
	frac := (v/math.Ldexp(1, e) - 1) * 1024
	return sign | uint16(e+15)<<10 | uint16(frac)
}

// TestArrayOperands: an array element as an operand (PTX ISA "Arrays as
// operands"): in ld and st it is the element, in mov its address. Each
// index counts elements of its dimension; a register index is scaled too.
func TestArrayOperands(t *testing.T) {
	src := ptIO("arr", `
.const .align 8 .b16 cp[4] = {10, 20, 30, 40};
.global .align 4 .u32 g2[2][3] = {{1, 2, 3}, {4, 5, 6}};
`, `
	{
	.reg .b16 %h<4>;
	.reg .s32 %s<4>;
	ld.const.b16 %h1, cp[3];              // 40
	cvt.u32.u16 %r1, %h1;
	and.b32 %r2, %r0, 1;                  // 0 or 1
	ld.global.u32 %r3, g2[%r2][2];        // 3 or 6
	mov.u64 %rd3, g2[1][1];
	mov.u64 %rd4, g2;
	sub.u64 %rd5, %rd3, %rd4;             // 16
	cvt.u32.u64 %r4, %rd5;
	mov.s32 %s1, -1;
	ld.global.u32 %r5, g2[1][%s1+1];      // g2[1][0] = 4
	add.u32 %r6, %r1, %r3;
	add.u32 %r6, %r6, %r4;
	add.u32 %r6, %r6, %r5;
	st.global.u32 [%rd2], %r6;
	}`)
	ptRunIO(t, src, "arr", 32, func(l uint32) uint32 { return 40 + 3 + 3*(l&1) + 16 + 4 })

	for _, c := range []struct{ decl, body, want string }{
		{"", "ld.global.u32 %r1, %rd1[0];", "%rd1 is a register, not an array"},
		{".global .u32 g[4];", "ld.global.u32 %r1, g[0][1];", "g has 1 dimensions; 2 indices given"},
		{".global .u32 s;", "ld.global.u32 %r1, s[0];", "s has 0 dimensions; 1 indices given"},
		{".global .u32 g[4];", "ld.global.u32 %r1, g[%p1];", "the index %p1 is not a 32- or 64-bit integer register"},
		{".global .u32 g[4];", "mov.u16 %rs1, g[1];", "an element's address is an integer of 32 or 64 bits"},
		{".global .u32 g[4];", "ld.shared.u32 %r1, g[1];", "g is a .global variable, accessed as .shared"},
	} {
		ptRefuses(t, ptHeader+c.decl+"\n", c.body, c.want)
	}
}

// TestVectorRegParams: a function's .reg parameters and results may be
// vectors (.reg .v2 .u32 x); a call passes a vector register or a brace
// list, and mov packs a whole vector register into a scalar and back.
// The second call's results show the packing kept v.x in the low word.
func TestVectorRegParams(t *testing.T) {
	src := ptIO("vreg", `
.func (.reg .v2 .u32 out) sum2(.reg .v2 .u32 in)
{
	.reg .u32 s;
	add.u32 s, in.x, in.y;
	mov.v2.u32 out, {s, in.x};
	ret;
}
`, `
	{
	.reg .v2 .u32 v, w;
	.reg .b64 packed;
	add.u32 %r1, %r9, 1;
	add.u32 %r2, %r9, 2;
	call (v), sum2, ({%r1, %r2});         // v = {2in+3, in+1}
	mov.b64 packed, v;                    // v.x low, v.y high
	mov.b64 w, packed;
	call ({%r3, %r4}), sum2, (w);         // {3in+4, 2in+3}: w.x is v.x
	mad.lo.u32 %r5, %r4, 100, %r3;
	st.global.u32 [%rd2], %r5;
	}`)
	ptRunIO(t, src, "vreg", 32, func(l uint32) uint32 { return (2*l+3)*100 + 3*l + 4 })
}
