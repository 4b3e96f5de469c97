package cpuemu

import (
	"math"
	"math/bits"
)

func f32(v uint64) float32  { return math.Float32frombits(uint32(v)) }
func f64(v uint64) float64  { return math.Float64frombits(v) }
func bf32(f float32) uint64 { return uint64(math.Float32bits(f)) }
func bf64(f float64) uint64 { return math.Float64bits(f) }
func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Fast forms: ops that lowering recognises as plain integer operations
// with their own loops in alu. Everything else goes through aluLane, but
// for the video instructions, whose spec alu unpacks once for all lanes.
const (
	fastNone uint8 = iota
	fastMov
	fastAdd32
	fastSub32
	fastMul32
	fastMad32
	fastAnd
	fastOr
	fastXor
	fastShl32
	fastShrU32
	fastShrS32
	fastAdd64
	fastSub64
	fastMul64
	fastShl64
	fastShrU64
	fastMinU32
	fastMaxU32
	fastMinS32
	fastMaxS32
	fastSetpU32
	fastSetpS32
	fastSetpU64
	fastSelp
	fastCvtU64U32
	fastCvtS64S32
	fastCvtU32U64
	fastMulWideU32
	fastMulWideS32
)

// classifyFast picks the fast form of o, if it has one.
func classifyFast(o *op) uint8 {
	t := o.typ
	// Of the ops with fast forms only mul24 and mad24 have a sub2.
	plain := o.mulMode() == mulWhole && o.flags&(fSat|fCC) == 0 && !t.float()
	if !plain && o.code != opMov && o.code != opSelp && o.code != opCvt && o.code != opSetp {
		return fastNone
	}
	s4, s8 := t.size() == 4, t.size() == 8
	switch o.code {
	case opMov:
		return fastMov
	case opAdd:
		if s4 {
			return fastAdd32
		} else if s8 {
			return fastAdd64
		}
	case opSub:
		if s4 {
			return fastSub32
		} else if s8 {
			return fastSub64
		}
	case opMul:
		if s4 {
			return fastMul32
		} else if s8 {
			return fastMul64
		}
	case opMad:
		if s4 {
			return fastMad32
		}
	case opAnd, opOr, opXor:
		if s4 || s8 || t == tPred {
			return map[opcode]uint8{opAnd: fastAnd, opOr: fastOr, opXor: fastXor}[o.code]
		}
	case opShl:
		if s4 {
			return fastShl32
		} else if s8 {
			return fastShl64
		}
	case opShr:
		switch {
		case s4 && t.signed():
			return fastShrS32
		case s4:
			return fastShrU32
		case s8 && !t.signed():
			return fastShrU64
		}
	case opMin, opMax:
		if s4 && o.flags&(fRelu|fNaN) == 0 {
			switch {
			case o.code == opMin && t.signed():
				return fastMinS32
			case o.code == opMin:
				return fastMinU32
			case t.signed():
				return fastMaxS32
			default:
				return fastMaxU32
			}
		}
	case opSetp:
		if o.flags&(fHasC|fFtz) == 0 && !o.typ2.float() && o.cmp() <= cmpHS {
			switch {
			case o.typ2.size() == 4 && o.typ2.signed():
				return fastSetpS32
			case o.typ2.size() == 4:
				return fastSetpU32
			case o.typ2.size() == 8 && !o.typ2.signed():
				return fastSetpU64
			}
		}
	case opSelp:
		return fastSelp
	case opCvt:
		if o.flags&(fSat|fFtz) != 0 {
			return fastNone
		}
		switch {
		case t == tU64 && (o.typ2 == tU32 || o.typ2 == tB32):
			return fastCvtU64U32
		case (t == tS64 || t == tB64) && o.typ2 == tS32:
			return fastCvtS64S32
		case (t == tU32 || t == tS32 || t == tB32) && o.typ2.size() == 8 && !o.typ2.float():
			return fastCvtU32U64
		}
	case opMulWide:
		if s4 && t.signed() {
			return fastMulWideS32
		} else if s4 {
			return fastMulWideU32
		}
	}
	return fastNone
}

// alu runs the arithmetic, logic, comparison and conversion ops over the
// lanes in ex.
func (w *warp) alu(o *op, ex, mask uint32) {
	if ex == 0 {
		return
	}
	r := w.r
	d, a, b, c := o.d[0], o.a[0], o.a[1], o.a[2]
	var dd, aa, bb, cc []uint64
	if d != noSlot {
		dd = r[d : d+32 : d+32]
	}
	if a != noSlot {
		aa = r[a : a+32 : a+32]
	}
	if b != noSlot {
		bb = r[b : b+32 : b+32]
	}
	if c != noSlot {
		cc = r[c : c+32 : c+32]
	}
	if ex == ^uint32(0) && o.fast != fastNone && w.aluFull(o) {
		return
	}
	switch o.fast {
	case fastMov:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = aa[i]
		}
	case fastAdd32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(uint32(aa[i]) + uint32(bb[i]))
		}
	case fastSub32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(uint32(aa[i]) - uint32(bb[i]))
		}
	case fastMul32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(uint32(aa[i]) * uint32(bb[i]))
		}
	case fastMad32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(uint32(aa[i])*uint32(bb[i]) + uint32(cc[i]))
		}
	case fastAnd:
		k := ^uint64(0) >> (64 - o.typ.bits())
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = aa[i] & bb[i] & k
		}
	case fastOr:
		k := ^uint64(0) >> (64 - o.typ.bits())
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = (aa[i] | bb[i]) & k
		}
	case fastXor:
		k := ^uint64(0) >> (64 - o.typ.bits())
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = (aa[i] ^ bb[i]) & k
		}
	case fastShl32: // Go shifts by >= the width give 0, as PTX's do (§9.7.8.2)
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(uint32(aa[i]) << uint32(bb[i]))
		}
	case fastShrU32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(uint32(aa[i]) >> uint32(bb[i]))
		}
	case fastShrS32: // and shr.s by >= 32 fills with the sign, as Go's does
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(uint32(int32(aa[i]) >> uint32(bb[i])))
		}
	case fastAdd64:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = aa[i] + bb[i]
		}
	case fastSub64:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = aa[i] - bb[i]
		}
	case fastMul64:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = aa[i] * bb[i]
		}
	case fastShl64:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = aa[i] << uint32(bb[i])
		}
	case fastShrU64:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = aa[i] >> uint32(bb[i])
		}
	case fastMinU32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(min(uint32(aa[i]), uint32(bb[i])))
		}
	case fastMaxU32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(max(uint32(aa[i]), uint32(bb[i])))
		}
	case fastMinS32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(uint32(min(int32(aa[i]), int32(bb[i]))))
		}
	case fastMaxS32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(uint32(max(int32(aa[i]), int32(bb[i]))))
		}
	case fastSetpU32, fastSetpS32, fastSetpU64:
		// Branch-free: the comparison's truth table over (less, equal,
		// greater) is a 3-bit mask indexed by [x >= y] + [x > y].
		table := uint64(cmpTable[o.cmp()])
		if dd == nil { // only the complement is wanted: rare
			for m := ex; m != 0; m &= m - 1 {
				w.aluLane(o, int32(bits.TrailingZeros32(m)), mask)
			}
			return
		}
		switch o.fast {
		case fastSetpU32:
			for m := ex; m != 0; m &= m - 1 {
				i := bits.TrailingZeros32(m) & 31
				x, y := uint32(aa[i]), uint32(bb[i])
				dd[i] = table >> (b2u(x >= y) + b2u(x > y)) & 1
			}
		case fastSetpS32:
			for m := ex; m != 0; m &= m - 1 {
				i := bits.TrailingZeros32(m) & 31
				x, y := int32(aa[i]), int32(bb[i])
				dd[i] = table >> (b2u(x >= y) + b2u(x > y)) & 1
			}
		default:
			for m := ex; m != 0; m &= m - 1 {
				i := bits.TrailingZeros32(m) & 31
				x, y := aa[i], bb[i]
				dd[i] = table >> (b2u(x >= y) + b2u(x > y)) & 1
			}
		}
		if e := o.d[1]; e != noSlot {
			qq := r[e : e+32 : e+32]
			for m := ex; m != 0; m &= m - 1 {
				i := bits.TrailingZeros32(m) & 31
				qq[i] = dd[i] ^ 1
			}
		}
	case fastSelp:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			if cc[i]&1 != 0 {
				dd[i] = aa[i]
			} else {
				dd[i] = bb[i]
			}
		}
	case fastCvtU64U32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(uint32(aa[i]))
		}
	case fastCvtS64S32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(int64(int32(aa[i])))
		}
	case fastCvtU32U64:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(uint32(aa[i]))
		}
	case fastMulWideU32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(uint32(aa[i])) * uint64(uint32(bb[i]))
		}
	case fastMulWideS32:
		for m := ex; m != 0; m &= m - 1 {
			i := bits.TrailingZeros32(m) & 31
			dd[i] = uint64(int64(int32(aa[i])) * int64(int32(bb[i])))
		}
	default:
		if o.code == opVideo { // its spec unpacked once, not per lane
			v := unpackVideo(o.off) // not o.video(): its copy would cost alu 16 bytes of frame
			for m := ex; m != 0; m &= m - 1 {
				i := bits.TrailingZeros32(m) & 31
				var ci uint32 // c, read by a secondary operation, a merge or vmad
				if cc != nil {
					ci = uint32(cc[i])
				}
				dd[i] = uint64(video(v, uint32(aa[i]), uint32(bb[i]), ci))
			}
			return
		}
		for m := ex; m != 0; m &= m - 1 {
			w.aluLane(o, int32(bits.TrailingZeros32(m)), mask)
		}
	}
}

// aluFull runs the common fast forms over a whole warp: a plain loop over
// 32 lanes, which the compiler keeps free of bounds checks and the CPU
// overlaps, instead of a walk over the bits of the lane mask. It reports
// whether o was one of them; alu runs the others.
func (w *warp) aluFull(o *op) bool {
	r := w.r
	lanes := func(s int32) *[32]uint64 { return (*[32]uint64)(r[s : s+32]) }
	switch o.fast {
	case fastMov:
		d, a := lanes(o.d[0]), lanes(o.a[0])
		*d = *a
	case fastAdd32:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = uint64(uint32(a[i]) + uint32(b[i]))
		}
	case fastAdd64:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = a[i] + b[i]
		}
	case fastSub32:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = uint64(uint32(a[i]) - uint32(b[i]))
		}
	case fastMul32:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = uint64(uint32(a[i]) * uint32(b[i]))
		}
	case fastMad32:
		d, a, b, c := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1]), lanes(o.a[2])
		for i := range d {
			d[i] = uint64(uint32(a[i])*uint32(b[i]) + uint32(c[i]))
		}
	case fastAnd, fastOr, fastXor:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		k := ^uint64(0) >> (64 - o.typ.bits())
		switch o.fast {
		case fastAnd:
			for i := range d {
				d[i] = a[i] & b[i] & k
			}
		case fastOr:
			for i := range d {
				d[i] = (a[i] | b[i]) & k
			}
		default:
			for i := range d {
				d[i] = (a[i] ^ b[i]) & k
			}
		}
	case fastShl32:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = uint64(uint32(a[i]) << uint32(b[i]))
		}
	case fastShl64:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = a[i] << uint32(b[i])
		}
	case fastShrU32:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = uint64(uint32(a[i]) >> uint32(b[i]))
		}
	case fastShrS32:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = uint64(uint32(int32(a[i]) >> uint32(b[i])))
		}
	case fastShrU64:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = a[i] >> uint32(b[i])
		}
	case fastSub64:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = a[i] - b[i]
		}
	case fastMul64:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = a[i] * b[i]
		}
	case fastMinU32:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = uint64(min(uint32(a[i]), uint32(b[i])))
		}
	case fastMaxU32:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = uint64(max(uint32(a[i]), uint32(b[i])))
		}
	case fastMinS32:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = uint64(uint32(min(int32(a[i]), int32(b[i]))))
		}
	case fastMaxS32:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = uint64(uint32(max(int32(a[i]), int32(b[i]))))
		}
	case fastSetpU32, fastSetpS32, fastSetpU64:
		if o.d[0] == noSlot || o.d[1] != noSlot {
			return false
		}
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		table := uint64(cmpTable[o.cmp()])
		switch o.fast {
		case fastSetpU32:
			for i := range d {
				x, y := uint32(a[i]), uint32(b[i])
				d[i] = table >> (b2u(x >= y) + b2u(x > y)) & 1
			}
		case fastSetpS32:
			for i := range d {
				x, y := int32(a[i]), int32(b[i])
				d[i] = table >> (b2u(x >= y) + b2u(x > y)) & 1
			}
		default:
			for i := range d {
				x, y := a[i], b[i]
				d[i] = table >> (b2u(x >= y) + b2u(x > y)) & 1
			}
		}
	case fastSelp:
		d, a, b, c := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1]), lanes(o.a[2])
		for i := range d {
			v := b[i]
			if c[i]&1 != 0 {
				v = a[i]
			}
			d[i] = v
		}
	case fastCvtU64U32, fastCvtU32U64:
		d, a := lanes(o.d[0]), lanes(o.a[0])
		for i := range d {
			d[i] = uint64(uint32(a[i]))
		}
	case fastCvtS64S32:
		d, a := lanes(o.d[0]), lanes(o.a[0])
		for i := range d {
			d[i] = uint64(int64(int32(a[i])))
		}
	case fastMulWideU32:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = uint64(uint32(a[i])) * uint64(uint32(b[i]))
		}
	case fastMulWideS32:
		d, a, b := lanes(o.d[0]), lanes(o.a[0]), lanes(o.a[1])
		for i := range d {
			d[i] = uint64(int64(int32(a[i])) * int64(int32(b[i])))
		}
	default:
		return false
	}
	return true
}

// cmpTable gives, per integer comparison, which of less (bit 0), equal
// (bit 1) and greater (bit 2) make it true.
var cmpTable = [...]uint8{
	cmpEQ: 0b010, cmpNE: 0b101, cmpLT: 0b001, cmpLE: 0b011, cmpGT: 0b100, cmpGE: 0b110,
	cmpLO: 0b001, cmpLS: 0b011, cmpHI: 0b100, cmpHS: 0b110,
}

// aluLane evaluates op o for one lane.
func (w *warp) aluLane(o *op, lane int32, mask uint32) {
	r := w.r
	t := o.typ
	nb := t.bits()
	get := func(s int32) uint64 { return r[s+lane] }
	// opt reads an operand some forms of an op lack; absent, it is 0.
	opt := func(s int32) uint64 {
		if s == noSlot {
			return 0
		}
		return r[s+lane]
	}
	set := func(v uint64) { r[o.d[0]+lane] = v }
	rnd := o.rounding()
	ftz := o.flags&fFtz != 0
	sat := o.flags&fSat != 0
	switch o.code {
	case opAdd, opSub, opMul, opMad:
		if t.float() {
			x, y := get(o.a[0]), get(o.a[1])
			if t == tF32 {
				var v float32
				switch o.code {
				case opAdd:
					v = addF32(f32(x), f32(y), rnd, ftz)
				case opSub:
					v = subF32(f32(x), f32(y), rnd, ftz)
				case opMul:
					v = mulF32(f32(x), f32(y), rnd, ftz)
				case opMad:
					v = fmaF32(f32(x), f32(y), f32(get(o.a[2])), rnd, ftz)
				}
				if sat {
					v = satF32(v)
				}
				set(bf32(canon32(v)))
				return
			}
			var v float64
			switch o.code {
			case opAdd:
				v = addF64(f64(x), f64(y), rnd)
			case opSub:
				v = subF64(f64(x), f64(y), rnd)
			case opMul:
				v = mulF64(f64(x), f64(y), rnd)
			case opMad:
				v = fmaF64(f64(x), f64(y), f64(get(o.a[2])), rnd)
			}
			if sat {
				v = satF64(v)
			}
			set(bf64(v))
			return
		}
		x, y := get(o.a[0]), get(o.a[1])
		if o.mulMode() == mul24 { // the low 24 bits of each operand
			x, y = low24(x, t.signed()), low24(y, t.signed())
		}
		switch o.code {
		case opAdd:
			if sat && t == tS32 {
				set(uint64(uint32(addSatS32(int32(x), int32(y)))))
				return
			}
			set(trunc(x+y, nb))
		case opSub:
			if sat && t == tS32 {
				set(uint64(uint32(subSatS32(int32(x), int32(y)))))
				return
			}
			set(trunc(x-y, nb))
		case opMul:
			set(trunc(x*y, nb))
		case opMad:
			set(trunc(x*y+get(o.a[2]), nb))
		}
	case opMulHi:
		if o.mulMode() == mul24 {
			set(uint64(mul24Hi(uint32(get(o.a[0])), uint32(get(o.a[1])), t.signed())))
			return
		}
		set(mulHi(get(o.a[0]), get(o.a[1]), nb, t.signed()))
	case opMulWide:
		set(mulWide(get(o.a[0]), get(o.a[1]), nb, t.signed()))
	case opMadHi:
		var h uint64
		if o.mulMode() == mul24 {
			h = uint64(mul24Hi(uint32(get(o.a[0])), uint32(get(o.a[1])), t.signed()))
		} else {
			h = mulHi(get(o.a[0]), get(o.a[1]), nb, t.signed())
		}
		if sat && t == tS32 { // mad.hi.sat.s32 = clamp(hi32(a*b) + c)
			v := int64(int32(h)) + int64(int32(get(o.a[2])))
			set(uint64(uint32(int32(max(math.MinInt32, min(math.MaxInt32, v))))))
			return
		}
		set(trunc(h+get(o.a[2]), nb))
	case opMadWide:
		set(trunc(mulWide(get(o.a[0]), get(o.a[1]), nb, t.signed())+get(o.a[2]), 2*nb))
	case opAddCC:
		// addc and subc take the carry flag in, add.cc 0 and sub.cc 1.
		cin := get(o.a[2]) & 1
		switch o.carryMode() {
		case carryAdd:
			cin = 0
		case carrySub:
			cin = 1
		}
		v, cout := addCarry(get(o.a[0]), get(o.a[1]), cin, nb, o.carryMode().subtracts())
		set(v)
		if o.flags&fCC != 0 {
			r[o.d[1]+lane] = cout
		}
	case opDiv, opRem:
		x, y := get(o.a[0]), get(o.a[1])
		if t.float() {
			if t == tF32 {
				var v float32
				switch {
				case o.flags&fApprox != 0:
					v = divApproxF32(f32(x), f32(y), ftz)
				case o.flags&fFull != 0:
					v = divFullF32(f32(x), f32(y), ftz)
				default:
					v = divF32(f32(x), f32(y), rnd, ftz)
				}
				set(bf32(canon32(v)))
			} else {
				set(bf64(divF64(f64(x), f64(y), rnd)))
			}
			return
		}
		q, rem, byZero := divInt(x, y, nb, t.signed())
		if byZero {
			w.c.l.diag("integer-division-by-zero", o, w, 1<<lane, "%s by zero gives an unspecified value (here all ones)", o.code)
		}
		if o.code == opDiv {
			set(q)
		} else {
			set(rem)
		}
	case opAbs, opNeg:
		x := get(o.a[0])
		switch {
		case t == tF32:
			if ftz {
				x = bf32(ftz32(f32(x)))
			}
			if o.code == opAbs {
				set(x &^ (1 << 31) & 0xffffffff)
			} else {
				set((x ^ 1<<31) & 0xffffffff)
			}
		case t == tF64:
			if o.code == opAbs {
				set(x &^ (1 << 63))
			} else {
				set(x ^ 1<<63)
			}
		default:
			v := sext(x, nb)
			if o.code == opAbs && v < 0 || o.code == opNeg {
				v = -v
			}
			set(trunc(uint64(v), nb))
		}
	case opMin, opMax:
		x, y := get(o.a[0]), get(o.a[1])
		nan := o.flags&fNaN != 0
		switch t {
		case tF32:
			fx, fy := f32(x), f32(y)
			if ftz {
				fx, fy = ftz32(fx), ftz32(fy)
			}
			if o.code == opMin {
				set(bf32(canon32(minF32(fx, fy, nan))))
			} else {
				set(bf32(canon32(maxF32(fx, fy, nan))))
			}
		case tF64:
			if o.code == opMin {
				set(bf64(minF64(f64(x), f64(y), nan)))
			} else {
				set(bf64(maxF64(f64(x), f64(y), nan)))
			}
		default:
			less := lessThan(t, x, y)
			v := y
			if less == (o.code == opMin) {
				v = x
			}
			v = trunc(v, nb)
			if o.flags&fRelu != 0 && sext(v, nb) < 0 {
				v = 0
			}
			set(v)
		}
	case opAnd, opOr, opXor:
		x, y := get(o.a[0]), get(o.a[1])
		var v uint64
		switch o.code {
		case opAnd:
			v = x & y
		case opOr:
			v = x | y
		default:
			v = x ^ y
		}
		if t == tPred {
			v &= 1
		}
		set(trunc(v, nb))
	case opNot:
		if t == tPred {
			set(get(o.a[0]) ^ 1)
		} else {
			set(trunc(^get(o.a[0]), nb))
		}
	case opCnot:
		set(b2u(trunc(get(o.a[0]), nb) == 0))
	case opShl, opShr:
		x, n := get(o.a[0]), uint32(get(o.a[1]))
		if n > uint32(nb) {
			n = uint32(nb)
		}
		switch {
		case o.code == opShl:
			if n >= uint32(nb) {
				set(0)
			} else {
				set(trunc(x<<n, nb))
			}
		case t.signed():
			if n >= uint32(nb) {
				n = uint32(nb) - 1
			}
			set(trunc(uint64(sext(x, nb)>>n), nb))
		default:
			if n >= uint32(nb) {
				set(0)
			} else {
				set(trunc(x, nb) >> n)
			}
		}
	case opShf:
		set(uint64(shf(uint32(get(o.a[0])), uint32(get(o.a[1])), uint32(get(o.a[2])), o.shfDir() == shfL, o.shfClamp() == modeClamp)))
	case opLop3:
		set(uint64(lop3(uint32(get(o.a[0])), uint32(get(o.a[1])), uint32(get(o.a[2])), o.lut())))
	case opPopc:
		set(uint64(bits.OnesCount64(trunc(get(o.a[0]), nb))))
	case opClz:
		x := trunc(get(o.a[0]), nb)
		set(uint64(bits.LeadingZeros64(x) - (64 - nb)))
	case opBrev:
		if nb == 64 {
			set(brev64(get(o.a[0])))
		} else {
			set(uint64(brev32(uint32(get(o.a[0])))))
		}
	case opBfe:
		pos, ln := uint32(get(o.a[1])), uint32(get(o.a[2]))
		if nb == 64 {
			set(bfe64(get(o.a[0]), pos, ln, t.signed()))
		} else {
			set(uint64(bfe32(uint32(get(o.a[0])), pos, ln, t.signed())))
		}
	case opBfi:
		pos, ln := uint32(get(o.a[2])), uint32(get(o.a[3]))
		if nb == 64 {
			set(bfi64(get(o.a[0]), get(o.a[1]), pos, ln))
		} else {
			set(uint64(bfi32(uint32(get(o.a[0])), uint32(get(o.a[1])), pos, ln)))
		}
	case opBfind:
		if nb == 64 {
			set(uint64(bfind64(get(o.a[0]), t.signed(), o.flags&fShiftAmt != 0)))
		} else {
			set(uint64(bfind32(uint32(get(o.a[0])), t.signed(), o.flags&fShiftAmt != 0)))
		}
	case opDp4a:
		a, b, c := uint32(get(o.a[0])), uint32(get(o.a[1])), uint32(get(o.a[2]))
		if o.dotMode() == dot4 {
			set(uint64(dp4a(a, b, c, o.typ.signed(), o.typ2.signed())))
		} else {
			set(uint64(dp2a(a, b, c, o.typ.signed(), o.typ2.signed(), o.dotMode() == dot2Hi)))
		}
	case opBmsk:
		set(uint64(bmsk(uint32(get(o.a[0])), uint32(get(o.a[1])), o.maskClamp() == modeClamp)))
	case opSzext:
		set(uint64(szext(uint32(get(o.a[0])), uint32(get(o.a[1])), o.maskClamp() == modeClamp, o.typ.signed())))
	case opPrmt:
		set(uint64(prmt(uint32(get(o.a[0])), uint32(get(o.a[1])), uint32(get(o.a[2])), uint8(o.prmtMode()))))
	case opSad:
		x, y := get(o.a[0]), get(o.a[1])
		var diff uint64
		if lessThan(t, x, y) {
			diff = y - x
		} else {
			diff = x - y
		}
		set(trunc(get(o.a[2])+diff, nb))
	case opSetp, opSet:
		tv := compare(o.typ2, o.cmp(), get(o.a[0]), get(o.a[1]), ftz)
		p, q := cmpBoolOp(o, tv, opt(o.a[2])), cmpBoolOp(o, !tv, opt(o.a[2]))
		if o.code == opSetp {
			set(b2u(p))
			if o.d[1] != noSlot {
				r[o.d[1]+lane] = b2u(q)
			}
			return
		}
		set(setValue(t, p))
	case opSelp:
		if get(o.a[2])&1 != 0 {
			set(get(o.a[0]))
		} else {
			set(get(o.a[1]))
		}
	case opSlct:
		cv := get(o.a[2])
		var ge bool
		if o.typ2 == tF32 {
			f := f32(cv)
			if ftz {
				f = ftz32(f)
			}
			ge = f >= 0 // -0 >= 0 holds; NaN fails, giving b
		} else {
			ge = int32(cv) >= 0
		}
		if ge {
			set(get(o.a[0]))
		} else {
			set(get(o.a[1]))
		}
	case opCvt:
		if o.typ.narrow() || o.typ2.narrow() {
			set(cvtNarrow(o, get(o.a[0]), opt(o.a[1])))
			return
		}
		set(cvt(o, get(o.a[0])))
	case opCvtPack:
		set(cvtPack(o, get(o.a[0]), get(o.a[1]), opt(o.a[2])))
	case opHalf:
		set(halfOp(o, get(o.a[0]), opt(o.a[1]), opt(o.a[2])))
	case opHalfCmp:
		lo, hi := halfCmp(o, get(o.a[0]), get(o.a[1]), opt(o.a[2]))
		if o.typ == tPred {
			set(b2u(lo))
			if o.d[1] != noSlot {
				r[o.d[1]+lane] = b2u(hi)
			}
			return
		}
		if o.typ2 == tF16x2 || o.typ2 == tBF16x2 { // one result per half
			set(setValue(o.typ, lo)&0xffff | setValue(o.typ, hi)&0xffff<<16)
			return
		}
		set(setValue(o.typ, lo))
	case opCvta:
		x := get(o.a[0])
		switch o.space {
		case spShared:
			x = uint64(uint32(x)) + sharedWindow
		case spLocal:
			x = uint64(uint32(x)) + localWindow
		case spConst:
			x += constWindow
		case spParam:
			x += paramWindow
		}
		set(trunc(x, nb))
	case opCvtaTo:
		x := get(o.a[0])
		sp, off := decodeGeneric(x)
		if sp != o.space && !(o.space == spGlobal && sp == spGlobal) {
			w.c.l.diag("cvta-wrong-window", o, w, 1<<lane, "generic address %#x is not in the .%s window (it is %s)", x, o.space, sp)
		}
		set(trunc(off, nb))
	case opIsspacep:
		sp, _ := decodeGeneric(get(o.a[0]))
		set(b2u(sp == o.space))
	case opPack:
		eb := nb / int(o.vec)
		var v uint64
		for i := int(o.vec) - 1; i >= 0; i-- {
			v = v<<eb | trunc(get(o.a[i]), eb)
		}
		set(trunc(v, nb))
	case opUnpack:
		eb := nb / int(o.vec)
		x := get(o.a[0])
		for i := 0; i < int(o.vec); i++ {
			if o.d[i] != noSlot {
				r[o.d[i]+lane] = trunc(x>>(i*eb), eb)
			}
		}
	case opFloat1:
		set(float1(o, get(o.a[0])))
	case opCopysign:
		if t == tF32 {
			set(bf32(copysignF32(f32(get(o.a[0])), f32(get(o.a[1])))))
		} else {
			set(bf64(copysignF64(f64(get(o.a[0])), f64(get(o.a[1])))))
		}
	case opTestp:
		if t == tF32 {
			set(b2u(testpF32(uint8(o.testpMode()), f32(get(o.a[0])))))
		} else {
			set(b2u(testp(uint8(o.testpMode()), f64(get(o.a[0])))))
		}
	case opClock:
		// The block's own count (the launch's in a cooperative grid), so
		// that a block reads the same clock on any number of workers.
		l := w.c.l
		l.clock++
		v := uint64(l.wcount-l.blockW0) + l.clock
		switch o.clockReg() {
		case clkClock:
			v = uint64(uint32(v))
		case clkGlobaltimerLo:
			v = uint64(uint32(v))
		case clkGlobaltimerHi:
			v >>= 32
		}
		set(v)
	default:
		w.c.l.fail(&InternalError{Kernel: w.c.l.p.name, Site: w.c.l.m.site(o), Panic: "no executor for " + o.code.String()})
	}
}

func boolOp(k boolMode, x, y bool) bool {
	switch k {
	case boolAnd:
		return x && y
	case boolOr:
		return x || y
	}
	return x != y
}

func compareInt(t ptype, cmp uint8, a, b uint64) bool {
	if int(cmp) >= len(cmpTable) {
		return false // float-only comparisons on integers: lowering's types decide
	}
	var idx uint8
	if nb := t.bits(); t.signed() {
		x, y := sext(a, nb), sext(b, nb)
		idx = uint8(b2u(x >= y) + b2u(x > y))
	} else {
		x, y := trunc(a, nb), trunc(b, nb)
		idx = uint8(b2u(x >= y) + b2u(x > y))
	}
	return cmpTable[cmp]>>idx&1 != 0
}

// compare evaluates a setp/set comparison (PTX ISA §9.7.5, §9.3.1): ordered
// float comparisons are false on NaN, the unordered ones true.
func compare(t ptype, cmp uint8, a, b uint64, ftz bool) bool {
	if !t.float() {
		return compareInt(t, cmp, a, b)
	}
	var x, y float64
	if t == tF32 {
		fa, fb := f32(a), f32(b)
		if ftz {
			fa, fb = ftz32(fa), ftz32(fb)
		}
		x, y = float64(fa), float64(fb)
	} else {
		x, y = f64(a), f64(b)
	}
	return compareFloat(cmp, x, y)
}

// compareFloat is a float comparison on exact values.
func compareFloat(cmp uint8, x, y float64) bool {
	nan := math.IsNaN(x) || math.IsNaN(y)
	switch cmp {
	case cmpEQ:
		return !nan && x == y
	case cmpNE:
		return !nan && x != y
	case cmpLT:
		return !nan && x < y
	case cmpLE:
		return !nan && x <= y
	case cmpGT:
		return !nan && x > y
	case cmpGE:
		return !nan && x >= y
	case cmpEQU:
		return nan || x == y
	case cmpNEU:
		return nan || x != y
	case cmpLTU:
		return nan || x < y
	case cmpLEU:
		return nan || x <= y
	case cmpGTU:
		return nan || x > y
	case cmpGEU:
		return nan || x >= y
	case cmpNUM:
		return !nan
	case cmpNAN:
		return nan
	}
	return false
}

// cvt converts one value between the integers and the wide floats (PTX
// ISA §9.7.8.18, rules in §6.5); cvtNarrow takes the narrow floats.
func cvt(o *op, x uint64) uint64 {
	dt, st := o.typ, o.typ2
	rnd := o.rounding()
	ftz := o.flags&fFtz != 0
	sat := o.flags&fSat != 0
	switch {
	case !dt.float() && !st.float():
		v := cvtInt(x, st.bits(), st.signed(), dt.bits(), dt.signed(), sat)
		if dt.signed() {
			return uint64(sext(v, dt.bits()))
		}
		return v
	case !dt.float(): // float -> int
		v := cvtFloatToInt(widenFloat(st, x, ftz), st != tF64, rnd, dt.bits(), dt.signed())
		if dt.signed() {
			return uint64(sext(v, dt.bits()))
		}
		return v
	case !st.float(): // int -> float
		switch dt {
		case tF32:
			v := cvtIntToF32(x, st.bits(), st.signed(), rnd)
			if sat {
				v = satF32(v)
			}
			return bf32(v)
		default:
			v := cvtIntToF64(x, st.bits(), st.signed(), rnd)
			if sat {
				v = satF64(v)
			}
			return bf64(v)
		}
	}
	// float -> float
	v := widenFloat(st, x, ftz)
	switch dt {
	case tF32:
		var out float32
		if st == tF32 && rnd >= rndRNI {
			out = roundIntegral32(float32(v), rnd)
		} else {
			out = cvtF64toF32(v, rnd, ftz, false)
		}
		if sat {
			out = satF32(out)
		}
		if ftz {
			out = ftz32(out)
		}
		return bf32(canon32(out))
	default:
		if st == tF64 && rnd >= rndRNI {
			v = roundIntegral64(v, rnd)
		}
		if sat {
			v = satF64(v)
		}
		return bf64(v)
	}
}

// widenFloat reads a float register of type t as a float64 (exact), with
// .ftz flushing a subnormal f32 input.
func widenFloat(t ptype, x uint64, ftz bool) float64 {
	switch t {
	case tF32:
		v := f32(x)
		if ftz {
			v = ftz32(v)
		}
		return float64(v)
	}
	return f64(x)
}

func float1(o *op, x uint64) uint64 {
	ftz := o.flags&fFtz != 0
	approx := o.flags&fApprox != 0
	rnd := o.fnRounding()
	if o.typ == tF64 {
		v := f64(x)
		switch {
		case o.floatFn() == fnRcp && approx:
			return bf64(rcpApproxFtzF64(v))
		case o.floatFn() == fnRsqrt:
			return bf64(rsqrtApproxF64(v))
		case o.floatFn() == fnRcp:
			return bf64(rcpF64(v, rnd))
		default:
			return bf64(sqrtF64(v, rnd))
		}
	}
	v := f32(x)
	var out float32
	switch o.floatFn() {
	case fnRcp:
		if approx {
			out = rcpApproxF32(v, ftz)
		} else {
			out = rcpF32(v, rnd, ftz)
		}
	case fnSqrt:
		if approx {
			out = sqrtApproxF32(v, ftz)
		} else {
			out = sqrtF32(v, rnd, ftz)
		}
	case fnRsqrt:
		out = rsqrtApproxF32(v, ftz)
	case fnSin:
		out = sinApproxF32(v, ftz)
	case fnCos:
		out = cosApproxF32(v, ftz)
	case fnLg2:
		out = lg2ApproxF32(v, ftz)
	case fnEx2:
		out = ex2ApproxF32(v, ftz)
	case fnTanh:
		out = tanhApproxF32(v, ftz)
	}
	return bf32(canon32(out))
}
