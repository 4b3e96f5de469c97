package ptx

// TypeSize is the size in bytes of a PTX fundamental or opaque type named
// without its dot ("u32", "f16x2", "texref"), and 0 for a name that is not
// a type or has no size in memory (.pred). Packed types take their whole
// container: .f16x2 and .tf32 are 4 bytes, .e4m3x2 is 2, .e2m1x2 is 1.
func TypeSize(t string) int {
	switch t {
	case "b8", "u8", "s8", "e4m3", "e5m2", "e2m1x2":
		return 1
	case "b16", "u16", "s16", "f16", "bf16", "e4m3x2", "e5m2x2", "e2m3x2", "e3m2x2", "ue8m0x2":
		return 2
	case "b32", "u32", "s32", "f32", "f16x2", "bf16x2", "tf32":
		return 4
	case "b64", "u64", "s64", "f64":
		return 8
	case "b128":
		return 16
	case "texref", "samplerref", "surfref":
		return 8 // a 64-bit handle
	}
	return 0
}

// IsType reports whether t (without its dot) names a PTX type.
func IsType(t string) bool { return t == "pred" || TypeSize(t) != 0 }

// IsOpaque reports whether t is one of the opaque texture, sampler and
// surface reference types.
func IsOpaque(t string) bool { return t == "texref" || t == "samplerref" || t == "surfref" }

// IsFloat reports whether t is a floating-point type: an argument of t
// takes a float, never an integer.
func IsFloat(t string) bool {
	switch t {
	case "f16", "bf16", "f32", "f64", "f16x2", "bf16x2", "tf32":
		return true
	}
	return false
}

// IsBits reports whether t is an untyped bit container (.b8 ... .b128),
// which takes an integer or a float of its size.
func IsBits(t string) bool { return len(t) > 1 && t[0] == 'b' && t != "bf16" && t != "bf16x2" }
