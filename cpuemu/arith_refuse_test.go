package cpuemu_test

import "testing"

// TestArithTypeRefusals: forms the lowering accepted and got wrong, found
// when each mode got a name (add.cc wrote its rounding where the carry
// mode lives): the carry instructions on other types than .u32, .s32,
// .u64 and .s64 (a float one ran as an integer addition with a carry, and
// sub.cc.rn.f32 as addc), a rounding on min or max (ignored), sad on a
// float or 8-bit type (an integer sad of the bits).
func TestArithTypeRefusals(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"add.cc.f32 %f1, %f2, %f3;", "add.cc takes .u32, .s32, .u64 or .s64"},
		{"sub.cc.rn.f32 %f1, %f2, %f3;", "sub.cc takes .u32, .s32, .u64 or .s64"},
		{"addc.cc.f64 %fd1, %fd2, %fd3;", "addc takes .u32, .s32, .u64 or .s64"},
		{"subc.u16 %rs1, %rs2, %rs3;", "subc takes .u32, .s32, .u64 or .s64"},
		{"add.cc.b32 %r1, %r2, %r3;", "add.cc takes .u32, .s32, .u64 or .s64"},
		{"min.rn.f32 %f1, %f2, %f3;", ".rn on min: min and max take no rounding modifier"},
		{"max.rz.f64 %fd1, %fd2, %fd3;", ".rz on max: min and max take no rounding modifier"},
		{"sad.f32 %f1, %f2, %f3, %f1;", "sad takes .u16, .u32, .u64, .s16, .s32 or .s64"},
		{"sad.b32 %r1, %r2, %r3, %r1;", "sad takes .u16, .u32, .u64, .s16, .s32 or .s64"},
	} {
		ptUnsupported(t, ptHeader, c.body, c.want)
	}
	// 64-bit carries came with PTX ISA 4.3.
	ptUnsupported(t, ".version 4.2\n.target sm_70\n.address_size 64\n", "add.cc.u64 %rd1, %rd2, %rd3;", "add.cc on 64 bits requires PTX ISA 4.3")
}
