package cpuemu

import "math/bits"

// The scalar video instructions (PTX ISA §9.7.18.1; §9.7.16.1 in older
// editions): vadd, vsub, vabsdiff, vmin, vmax, vshl, vshr, vmad and vset.
// Each takes byte, half-word or word parts of 32-bit registers, works on
// them at a width where nothing overflows, and writes 32 bits. The
// functions here are the ISA's pseudo-code, step by step; RATIONALE.md
// ("Video instructions") says how its ambiguous steps are read.

// Video operations (videoSpec.vop).
const (
	vAdd uint8 = iota
	vSub
	vAbsdiff
	vMin
	vMax
	vShl
	vShr
	vMad
	vSet
)

var videoOpNames = map[string]uint8{
	"vadd": vAdd, "vsub": vSub, "vabsdiff": vAbsdiff, "vmin": vMin, "vmax": vMax,
	"vshl": vShl, "vshr": vShr, "vmad": vMad, "vset": vSet,
}

// Part selectors (.asel, .bsel, .dsel); selWord is none: the whole word.
const (
	selWord uint8 = iota
	selB0
	selB1
	selB2
	selB3
	selH0
	selH1
)

var videoSelNames = map[string]uint8{"b0": selB0, "b1": selB1, "b2": selB2, "b3": selB3, "h0": selH0, "h1": selH1}

// Secondary operations (.op2).
const (
	op2None uint8 = iota
	op2Add
	op2Min
	op2Max
)

// videoSpec is everything a scalar video instruction's qualifiers and
// operand selectors say; lowering packs it into op.off.
type videoSpec struct {
	vop                       uint8
	dSigned, aSigned, bSigned bool  // .dtype, .atype, .btype are .s32 (vset: d is unsigned)
	asel, bsel, dsel          uint8 // selB0 ... selH1, or selWord
	sat                       bool
	op2                       uint8 // op2None, op2Add, op2Min, op2Max
	wrap                      bool  // vshl/vshr: .wrap; .clamp otherwise
	cmp                       uint8 // vset: cmpEQ, cmpNE, cmpLT, cmpLE, cmpGT or cmpGE
	negA, negB, negC          bool  // vmad: -a, -b, -c
	po                        bool  // vmad: .po
	scale                     uint8 // vmad: 0, 7 (.shr7) or 15 (.shr15)
}

// pack and unpackVideo lay a videoSpec out in an int64, a field at a time.
func (v videoSpec) pack() int64 {
	var x uint64
	put := func(shift, width uint, val uint64) { x |= (val & (1<<width - 1)) << shift }
	b := func(f bool) uint64 { return b2u(f) }
	put(0, 4, uint64(v.vop))
	put(4, 1, b(v.dSigned))
	put(5, 1, b(v.aSigned))
	put(6, 1, b(v.bSigned))
	put(7, 3, uint64(v.asel))
	put(10, 3, uint64(v.bsel))
	put(13, 3, uint64(v.dsel))
	put(16, 1, b(v.sat))
	put(17, 2, uint64(v.op2))
	put(19, 1, b(v.wrap))
	put(20, 3, uint64(v.cmp))
	put(23, 1, b(v.negA))
	put(24, 1, b(v.negB))
	put(25, 1, b(v.negC))
	put(26, 1, b(v.po))
	put(27, 4, uint64(v.scale))
	return int64(x)
}

func unpackVideo(p int64) videoSpec {
	x := uint64(p)
	get := func(shift, width uint) uint8 { return uint8(x >> shift & (1<<width - 1)) }
	on := func(shift uint) bool { return x>>shift&1 != 0 }
	return videoSpec{
		vop: get(0, 4), dSigned: on(4), aSigned: on(5), bSigned: on(6),
		asel: get(7, 3), bsel: get(10, 3), dsel: get(13, 3),
		sat: on(16), op2: get(17, 2), wrap: on(19), cmp: get(20, 3),
		negA: on(23), negB: on(24), negC: on(25), po: on(26), scale: get(27, 4),
	}
}

// selField is where part selector sel lies in a word: bit shift and
// width; selWord (or any other value) is the whole word.
func selField(sel uint8) (shift uint, width int) {
	switch sel {
	case selB0, selB1, selB2, selB3:
		return 8 * uint(sel-selB0), 8
	case selH0, selH1:
		return 16 * uint(sel-selH0), 16
	}
	return 0, 32
}

// partSelect is the ISA's partSelectSignExtend: the byte, half-word or
// word sel names in x, sign-extended if signed and zero-extended if not,
// as an .s33 value.
func partSelect(x uint32, signed bool, sel uint8) int64 {
	shift, width := selField(sel)
	v := uint64(x >> shift)
	if signed {
		return sext(v, width)
	}
	return int64(trunc(v, width))
}

// videoSaturate is optSaturate: with .sat, tmp clamped to the range of
// the destination, which a merge narrows to its byte or half-word
// (§9.7.18.1). The result is an .s33.
func videoSaturate(tmp int64, sat, signed bool, dsel uint8) int64 {
	if sat {
		_, width := selField(dsel)
		lo, hi := int64(0), int64(1)<<width-1
		if signed {
			lo, hi = -1<<(width-1), 1<<(width-1)-1
		}
		tmp = min(max(tmp, lo), hi)
	}
	return sext(uint64(tmp), 33)
}

// videoMerge is optMerge: tmp's low byte or half-word put in place dsel
// of c, the rest of c kept.
func videoMerge(dsel uint8, tmp int64, c uint32) uint32 {
	shift, width := selField(dsel)
	if width == 32 {
		return uint32(tmp)
	}
	mask := uint32(trunc(^uint64(0), width)) << shift
	return uint32(tmp)<<shift&mask | c&^mask
}

// video evaluates a scalar video instruction on one lane's a, b and c (c
// is read only by a secondary operation, a merge, or vmad).
func video(v videoSpec, a, b, c uint32) uint32 {
	if v.vop == vMad {
		return videoMad(v, a, b, c)
	}
	ta := partSelect(a, v.aSigned, v.asel)
	var tmp int64 // the .s34 intermediate
	if v.vop == vShl || v.vop == vShr {
		// §9.7.18.1.2: the amount is .u32; .clamp stops it at 32, .wrap
		// keeps its low five bits. ta is an .s33, so vshr is arithmetic:
		// a signed a fills with its sign, an unsigned one with zeros.
		n := partSelect(b, false, v.bsel)
		if v.wrap {
			n &= 0x1f
		} else {
			n = min(n, 32)
		}
		if v.vop == vShl {
			tmp = sext(uint64(ta<<n), 34) // the low 34 bits, as the ISA's .s34 result keeps
		} else {
			tmp = ta >> n
		}
	} else {
		tb := partSelect(b, v.bSigned, v.bsel)
		switch v.vop {
		case vAdd:
			tmp = ta + tb
		case vSub:
			tmp = ta - tb
		case vAbsdiff:
			tmp = ta - tb
			if tmp < 0 {
				tmp = -tmp
			}
		case vMin:
			tmp = min(ta, tb)
		case vMax:
			tmp = max(ta, tb)
		case vSet:
			// §9.7.18.1.4: the comparison's 1 or 0 is unsigned, and so
			// are d and c; vset has no .sat. The .s33 values compare
			// exactly as .s64 ones.
			tmp = int64(b2u(compareInt(tS64, v.cmp, uint64(ta), uint64(tb))))
		}
	}
	tmp = videoSaturate(tmp, v.sat, v.dSigned, v.dsel)
	switch {
	case v.op2 != op2None:
		// optSecOp: c is an .s33, extended per the destination's type.
		tc := partSelect(c, v.dSigned, selWord)
		switch v.op2 {
		case op2Add:
			tmp += tc
		case op2Min:
			tmp = min(tmp, tc)
		case op2Max:
			tmp = max(tmp, tc)
		}
		return uint32(tmp) // the low 32 bits are written
	case v.dsel != selWord:
		return videoMerge(v.dsel, tmp, c)
	}
	return uint32(tmp)
}

// i128 is a 128-bit two's complement integer, vmad's tmp[127:0].
type i128 struct{ hi, lo uint64 }

func i128of(x int64) i128 { return i128{uint64(x >> 63), uint64(x)} }

func (x i128) add(y i128) i128 {
	lo, carry := bits.Add64(x.lo, y.lo, 0)
	hi, _ := bits.Add64(x.hi, y.hi, carry)
	return i128{hi, lo}
}

// sar shifts right by n (0 < n < 64), filling with the sign bit if
// signed and with zeros if not.
func (x i128) sar(n uint, signed bool) i128 {
	lo := x.lo>>n | x.hi<<(64-n)
	if signed {
		return i128{uint64(int64(x.hi) >> n), lo}
	}
	return i128{x.hi >> n, lo}
}

// mul128 is the exact product of two int64s.
func mul128(x, y int64) i128 {
	hi, lo := bits.Mul64(uint64(x), uint64(y))
	if x < 0 {
		hi -= uint64(y)
	}
	if y < 0 {
		hi -= uint64(x)
	}
	return i128{hi, lo}
}

// clampSigned32 and clampUnsigned32 are CLAMP(x, S32_MAX, S32_MIN) and
// CLAMP(x, U32_MAX, U32_MIN), x read as signed or unsigned.
func (x i128) clampSigned32() uint32 {
	if x.hi != uint64(int64(x.lo)>>63) { // outside int64: its sign decides
		if int64(x.hi) < 0 {
			return 0x80000000
		}
		return 0x7fffffff
	}
	return uint32(int32(min(max(int64(x.lo), -0x80000000), 0x7fffffff)))
}

func (x i128) clampUnsigned32() uint32 {
	if x.hi != 0 || x.lo > 0xffffffff {
		return 0xffffffff
	}
	return uint32(x.lo)
}

// videoMad is vmad (§9.7.18.1.3): (a*b) + c, each product negated
// when exactly one of a and b is, or c negated, or plus one (.po), scaled
// down by 7 or 15 bits, saturated to the final result's 32-bit range.
// The lowering refuses what the ISA forbids (negation with .po, negating
// both the product and c); this follows the pseudo-code's if-else chain
// whatever it is given.
func videoMad(v videoSpec, a, b, c uint32) uint32 {
	ta := partSelect(a, v.aSigned, v.asel)
	tb := partSelect(b, v.bSigned, v.bsel)
	negAB := v.negA != v.negB
	signedFinal := v.aSigned || v.bSigned || negAB || v.negC
	tmp := mul128(ta, tb)
	lsb := int64(0)
	switch {
	case v.po:
		lsb = 1
	case negAB:
		tmp = i128{^tmp.hi, ^tmp.lo}
		lsb = 1
	case v.negC:
		c = ^c
		lsb = 1
	}
	// c128 = signedFinal ? sext32(c) : zext(c): the pseudo-code extends
	// the possibly complemented c by the final sign, so -c reads c as an
	// .s32 whenever c is negated.
	c128 := int64(c)
	if signedFinal {
		c128 = int64(int32(c))
	}
	tmp = tmp.add(i128of(c128)).add(i128of(lsb))
	if v.scale != 0 {
		// The shifted value has at most 59 significant bits, so the ISA's
		// mask to 64 bits keeps it whole.
		tmp = tmp.sar(uint(v.scale), signedFinal)
	}
	if v.sat {
		if signedFinal {
			return tmp.clampSigned32()
		}
		return tmp.clampUnsigned32()
	}
	return uint32(tmp.lo)
}
