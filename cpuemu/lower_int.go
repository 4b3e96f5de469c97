package cpuemu

import "github.com/gpubuf/gpubuf/internal/ptx"

// Integer instructions beyond add/mul/mad: extended-precision mad
// (mad.cc, madc), the dot products dp4a and dp2a, bmsk and szext.

// lowerMadCC lowers mad{.lo,.hi}.cc and madc{.lo,.hi}{.cc} (the ISA's
// Extended-Precision Arithmetic Instructions): d = (a*b).lo or .hi + c,
// plus CC.CF for madc, with the carry out of that addition written to
// CC.CF when .cc is given. It becomes a multiply into a hidden register
// and an add.cc or addc, which carries exactly as the addition does.
func (lw *lowerer) lowerMadCC(in *ptx.Instr, ms *modSet, o *op) error {
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	if t != tU32 && t != tS32 && t != tU64 && t != tS64 {
		return lw.unsupported(in, in.Op+" with a carry takes .u32, .s32, .u64 or .s64")
	}
	mode := ms.takeOne("lo", "hi")
	if mode < 0 {
		return lw.unsupported(in, in.Op+" with a carry needs .lo or .hi")
	}
	cc := ms.take("cc") // always there for mad: lowerArith sends only mad.cc here
	version := 0
	if t.size() == 8 {
		version = 43 // 64-bit mad.cc and madc came with PTX ISA 4.3
	}
	if err := lw.require(in, 20, version, in.Op+" with a carry"); err != nil {
		return err
	}
	if err := lw.nargs(in, 4); err != nil {
		return err
	}
	mul := *o
	mul.code, mul.typ = opMul, t
	if mode == 1 {
		mul.code = opMulHi
	}
	for i := 0; i < 2; i++ {
		if mul.a[i], err = lw.src(in, in.Args[i+1], t); err != nil {
			return err
		}
	}
	mul.d[0] = lw.tempSlot()
	lw.emit(mul)

	o.typ = t
	o.setCarry(carryAdd) // mad.cc: no carry in
	if in.Op == "madc" {
		o.setCarry(carryAddc)
	}
	if cc {
		o.flags |= fCC
	}
	if o.d[0], err = lw.dst(in, in.Args[0]); err != nil {
		return err
	}
	o.a[0] = mul.d[0]
	if o.a[1], err = lw.src(in, in.Args[3], t); err != nil {
		return err
	}
	o.a[2] = lw.specialSlot(spcCarry)
	o.d[1] = o.a[2]
	lw.emit(*o)
	return nil
}

// lowerDot lowers dp4a.atype.btype and dp2a.mode.atype.btype (PTX ISA 5.0,
// sm_61). d and c are .u32 when both types are, else .s32; the sum wraps.
func (lw *lowerer) lowerDot(in *ptx.Instr, ms *modSet, o *op) error {
	o.setDot(dot4)
	if in.Op == "dp2a" {
		switch ms.takeOne("lo", "hi") {
		case 0:
			o.setDot(dot2Lo)
		case 1:
			o.setDot(dot2Hi)
		default:
			return lw.unsupported(in, "dp2a needs .lo or .hi")
		}
	}
	ts := ms.typeList()
	if len(ts) != 2 || ts[0] != tU32 && ts[0] != tS32 || ts[1] != tU32 && ts[1] != tS32 {
		return lw.unsupported(in, in.Op+" takes two types, each .u32 or .s32 (.atype.btype)")
	}
	if err := lw.require(in, 61, 50, in.Op); err != nil {
		return err
	}
	o.typ, o.typ2 = ts[0], ts[1]
	ct := tS32
	if ts[0] == tU32 && ts[1] == tU32 {
		ct = tU32
	}
	return lw.typedOps(in, o, o.typ, o.typ2, ct)
}

// lowerMask lowers bmsk.mode.b32 and szext.mode.type (PTX ISA 7.6, sm_70).
func (lw *lowerer) lowerMask(in *ptx.Instr, ms *modSet, o *op) error {
	clamp, ok := ms.clampWrap()
	if !ok {
		return lw.unsupported(in, in.Op+" needs .clamp or .wrap")
	}
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	if err := lw.require(in, 70, 76, in.Op); err != nil {
		return err
	}
	o.typ = t
	if in.Op == "bmsk" {
		if t != tB32 {
			return lw.unsupported(in, "bmsk takes .b32")
		}
		o.setMask(opBmsk, clamp)
		return lw.typedOps(in, o, tU32, tU32)
	}
	if t != tU32 && t != tS32 {
		return lw.unsupported(in, "szext takes .u32 or .s32")
	}
	o.setMask(opSzext, clamp)
	return lw.typedOps(in, o, t, tU32)
}
