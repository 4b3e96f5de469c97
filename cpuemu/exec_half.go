package cpuemu

import (
	"math"
	"math/bits"
)

// Execution of the narrow floats (see lower_half.go): each element of a
// packed pair is computed on its own, the low half from the low halves.

// halfOp is opHalf on one lane: a, b, c are the operands' registers.
func halfOp(o *op, a, b, c uint64) uint64 {
	f, lanes := o.typ.halfFmt()
	var out uint64
	for i := range lanes {
		sh := uint(16 * i)
		x, y, z := a>>sh&0xffff, b>>sh&0xffff, c>>sh&0xffff
		out |= halfElem(o, f, x, y, z) << sh
	}
	return out
}

func halfElem(o *op, f halfFormat, x, y, z uint64) uint64 {
	ftz := o.flags&fFtz != 0
	if ftz {
		x, y, z = f.halfFTZ(x), f.halfFTZ(y), f.halfFTZ(z)
	}
	var r uint64 // canonical when NaN: halfArith and fromF64 see to it
	switch fn := o.halfFn(); fn {
	case hAdd, hSub, hMul, hFma: // halfArith numbers them the same
		r = f.halfArith(int(fn-hAdd), x, y, z, rndRN, false)
	case hNeg:
		return x ^ f.signBit() // the sign bit, whatever the value
	case hAbs:
		return x &^ f.signBit()
	case hMin, hMax:
		return halfMinMax(f, x, y, fn == hMax, o.flags&fNaN != 0, o.flags&fXorsign != 0)
	case hEx2:
		r = f.fromF64(math.Exp2(f.toF64(x)), rndRN, false)
	case hTanh:
		r = f.fromF64(math.Tanh(f.toF64(x)), rndRN, false)
	}
	switch {
	case o.flags&fSat != 0:
		r = halfSat(f, r)
	case o.flags&fRelu != 0:
		r = halfRelu(f, r)
	}
	if ftz {
		r = f.halfFTZ(r)
	}
	return r
}

// halfSat clamps to [0, 1]; NaN becomes +0 (.sat).
func halfSat(f halfFormat, b uint64) uint64 {
	v := f.toF64(b)
	switch {
	case v != v || v <= 0:
		return 0
	case v > 1:
		return f.fromF64(1, rndRN, false)
	}
	return b
}

// halfRelu clamps a negative result to +0; NaN stays the canonical NaN
// (.relu).
func halfRelu(f halfFormat, b uint64) uint64 {
	if f.isNaN(b) {
		return f.nan()
	}
	if b&f.signBit() != 0 {
		return 0
	}
	return b
}

// halfMinMax is min and max of the narrow floats (§9.7.4.8-9): a NaN
// operand yields the other (both NaN, or either with .NaN: the canonical
// NaN); -0 is less than +0. With .xorsign.abs the magnitudes are compared
// and the result takes the XOR of the operands' signs.
func halfMinMax(f halfFormat, x, y uint64, isMax, nanProp, xorsign bool) uint64 {
	var sign uint64
	if xorsign {
		sign = (x ^ y) & f.signBit()
		x, y = x&^f.signBit(), y&^f.signBit()
	}
	xn, yn := f.isNaN(x), f.isNaN(y)
	var r uint64
	switch {
	case xn && yn, (xn || yn) && nanProp:
		return f.nan()
	case xn:
		r = y
	case yn:
		r = x
	default:
		vx, vy := f.toF64(x), f.toF64(y)
		less := vx < vy || vx == vy && x&f.signBit() != 0 && y&f.signBit() == 0
		if less != isMax {
			r = x
		} else {
			r = y
		}
	}
	return r | sign
}

// halfCmpElem compares one element of each operand (setp/set).
func halfCmpElem(st ptype, cmp uint8, x, y uint64, ftz bool) bool {
	if st == tF32 {
		return compare(tF32, cmp, x, y, ftz)
	}
	f, _ := st.halfFmt()
	if ftz {
		x, y = f.halfFTZ(x), f.halfFTZ(y)
	}
	return compareFloat(cmp, f.toF64(x), f.toF64(y))
}

// halfCmp is opHalfCmp on one lane: the elements' results, low first,
// each combined with c by the boolean operation when there is one.
func halfCmp(o *op, a, b, c uint64) (lo, hi bool) {
	st := o.typ2
	_, lanes := st.halfFmt()
	if st == tF32 {
		lanes = 1
	}
	ftz := o.flags&fFtz != 0
	res := [2]bool{}
	for i := range lanes {
		sh := uint(16 * i)
		x, y := a, b
		if st != tF32 {
			x, y = a>>sh&0xffff, b>>sh&0xffff
		}
		res[i] = cmpBoolOp(o, halfCmpElem(st, o.cmp(), x, y, ftz), c)
	}
	return res[0], res[1]
}

// cmpBoolOp combines a setp or set comparison's result v with its {!}c
// by its boolean operation, when it has one.
func cmpBoolOp(o *op, v bool, c uint64) bool {
	if o.flags&fHasC == 0 {
		return v
	}
	cv := c&1 != 0
	if o.flags&fNegC != 0 {
		cv = !cv
	}
	return boolOp(o.boolMode(), v, cv)
}

// setValue is what set writes for one element's result: 1.0 in a float
// destination (f32 or a half type), all ones in an integer one.
func setValue(dt ptype, v bool) uint64 {
	if !v {
		return 0
	}
	switch {
	case dt.kind() == kH || dt.kind() == kBF:
		f, _ := dt.halfFmt()
		return f.fromF64(1, rndRN, false)
	case dt == tF32:
		return bf32(1)
	case dt.size() == 2:
		return 0xffff
	}
	return 0xffffffff
}

// elemBits is the width of one element of a type for conversions: the
// narrow floats' own, the whole register for the others.
func elemBits(t ptype) uint {
	if t.narrow() {
		f, _ := t.halfFmt()
		return f.bits()
	}
	return uint(t.bits())
}

// narrowValue reads one element of a conversion's source as a float64:
// exactly for floats; for an integer, rounded to odd at 53 bits, which
// rounds correctly to any narrow format after.
func narrowValue(st ptype, x uint64, ftz bool) float64 {
	switch {
	case st.narrow():
		f, _ := st.halfFmt()
		return f.toF64(x)
	case st.float():
		return widenFloat(st, x, ftz)
	}
	m, neg := aluIntSource(x, st.bits(), st.signed())
	var v float64
	if n := bits.Len64(m); n <= 53 {
		v = float64(m)
	} else {
		sh := uint(n - 53)
		t := m >> sh
		if m&(1<<sh-1) != 0 {
			t |= 1 // sticky: round to odd
		}
		v = math.Ldexp(float64(t), int(sh))
	}
	if neg {
		v = -v
	}
	return v
}

// cvtNarrowElem converts one element where the source or the destination
// is a narrow float (§9.7.8.21): the rounding the lowering checked, .sat
// (to [0, 1] for a float destination), .relu and .satfinite (a narrow
// destination: negatives to +0; an infinity or an overflow to the largest
// finite value), .ftz on an f32 side.
func cvtNarrowElem(o *op, x uint64) uint64 {
	dt, st := o.typ, o.typ2
	r := o.rounding()
	ftz, sat := o.flags&fFtz != 0, o.flags&fSat != 0
	v := narrowValue(st, x, ftz)
	switch {
	case dt.narrow():
		f, _ := dt.halfFmt()
		if r >= rndRNI { // same-size float: round to an integral value
			v = roundIntegral64(v, r)
		}
		b := f.fromF64(v, r, o.flags&fSatFinite != 0)
		if f.isNaN(b) {
			b = f.nan()
		}
		if sat {
			b = halfSat(f, b)
		}
		if o.flags&fRelu != 0 {
			b = halfRelu(f, b)
		}
		return b
	case dt == tF32:
		out := float32(v) // exact: every narrow value is an f32
		if ftz {
			out = ftz32(out)
		}
		if sat {
			out = satF32(out)
		}
		return bf32(canon32(out))
	case dt == tF64:
		if sat {
			v = satF64(v)
		}
		return bf64(v)
	}
	w := cvtFloatToInt(v, true, r, dt.bits(), dt.signed())
	if sat && !dt.signed() && v < 0 {
		w = 0
	}
	if dt.signed() {
		return uint64(sext(w, dt.bits()))
	}
	return w
}

// cvtNarrow is opCvt on one lane when a narrow float is involved: element
// by element for a packed pair, or two sources (a the high element, b the
// low) into a pair (fPair).
func cvtNarrow(o *op, a, b uint64) uint64 {
	dw, sw := elemBits(o.typ), elemBits(o.typ2)
	dmask, smask := uint64(1)<<dw-1, uint64(1)<<sw-1
	if sw == 64 {
		smask = ^uint64(0)
	}
	if o.flags&fPair != 0 {
		return cvtNarrowElem(o, a&smask)&dmask<<dw | cvtNarrowElem(o, b&smask)&dmask
	}
	n := uint(o.typ.bits()) / dw
	if o.typ2.narrow() {
		n = max(n, uint(o.typ2.bits())/sw)
	}
	if n == 1 && !o.typ.narrow() {
		// One element into an integer or a wide float: a signed result
		// stays sign-extended to the register's width, as every cvt's
		// does (PTX ISA §6.4.1, "Operand Size Exceeding Instruction-Type
		// Size").
		return cvtNarrowElem(o, a&smask)
	}
	var out uint64
	for i := range n {
		out |= (cvtNarrowElem(o, a>>(i*sw)&smask) & dmask) << (i * dw)
	}
	return out
}

// cvtPack is cvt.pack.sat (§9.7.8.22): a and b saturated to the
// destination's n bits (signed or not), a above b, and for the narrow
// forms the low bits of c above both.
func cvtPack(o *op, a, b, c uint64) uint64 {
	n := o.packBits()
	signed := o.typ.signed()
	sat := func(x uint64) uint64 {
		v := sext(x, 32)
		lo, hi := int64(0), int64(1)<<n-1
		if signed {
			lo, hi = -(int64(1) << (n - 1)), int64(1)<<(n-1)-1
		}
		return uint64(max(lo, min(hi, v))) & (1<<n - 1)
	}
	d := sat(a)<<n | sat(b)
	if n < 16 {
		d |= c << (2 * n)
	}
	return d & 0xffffffff
}
