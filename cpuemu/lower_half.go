package cpuemu

import (
	"fmt"

	"github.com/gpubuf/gpubuf/internal/ptx"
)

// The narrow floats (.f16, .f16x2, .bf16, .bf16x2 and fp8): PTX ISA
// §9.7.4 (half precision arithmetic and comparison) and §9.7.8.21 (cvt).
// Each form is taken with exactly the modifiers, and on the targets, the
// ISA's tables give for its type.

// halfOps are the opcodes whose lowering takes the narrow types; any other
// instruction with one of them is refused (mov moves their bits).
var halfOps = map[string]bool{
	"add": true, "sub": true, "mul": true, "fma": true, "neg": true, "abs": true, "min": true, "max": true,
	"ex2": true, "tanh": true, "setp": true, "set": true, "cvt": true, "mov": true,
}

// lowerHalf lowers add, sub, mul, fma, neg, abs, min, max, ex2 and tanh on
// .f16, .f16x2, .bf16 and .bf16x2.
func (lw *lowerer) lowerHalf(in *ptx.Instr, ms *modSet, o *op) error {
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	if k := t.kind(); k != kH && k != kBF {
		return lw.unsupported(in, "fp8 arithmetic (fp8 types are for cvt)")
	}
	bf := t.kind() == kBF
	name := in.Op + "." + t.String()
	fn, _ := halfFnModes.value(in.Op)
	o.setHalf(halfFn(fn))
	o.typ = t
	// .rn is the only rounding; fma requires it.
	rnd := ms.rounding()
	if rnd != rndNone && rnd != rndRN {
		return lw.unsupported(in, "half-precision arithmetic rounds to nearest (.rn) only")
	}
	ftz, sat, relu := ms.take("ftz"), ms.take("sat"), ms.take("relu")
	nan := ms.take("NaN")
	xorsign := false
	if ms.take("xorsign") {
		if !ms.take("abs") {
			return lw.unsupported(in, ".xorsign needs .abs")
		}
		xorsign = true
	}
	n := 3
	var sm, ver int
	switch in.Op {
	case "add", "sub", "mul":
		sm, ver = 53, 42
		if bf {
			sm, ver = 90, 78
		}
	case "fma":
		n = 4
		if rnd == rndNone {
			return lw.errAt(in.Line, "fma.%s needs .rn", t)
		}
		sm, ver = 53, 42
		if relu || bf {
			sm, ver = 80, 70
		}
		if sat && relu {
			return lw.unsupported(in, ".sat and .relu together")
		}
	case "neg", "abs":
		n = 2
		sm, ver = 53, 60
		if bf {
			sm, ver = 80, 70
		}
	case "min", "max":
		sm, ver = 80, 70
		if xorsign {
			sm, ver = 86, 72
		}
	case "ex2", "tanh":
		n = 2
		if !ms.take("approx") {
			return lw.unsupported(in, in.Op+" on ."+t.String()+" exists only as .approx")
		}
		sm, ver = 75, 70
		if bf {
			sm, ver = 90, 78
		}
		if in.Op == "ex2" && bf && !ftz {
			return lw.unsupported(in, "ex2.approx on .bf16 needs .ftz")
		}
	}
	// What each type may carry (§9.7.4): .ftz and .sat are .f16's; .relu
	// only fma's; .NaN and .xorsign.abs only min's and max's.
	allowed := map[string]bool{}
	switch in.Op {
	case "add", "sub", "mul":
		allowed["ftz"], allowed["sat"] = !bf, !bf
	case "fma":
		allowed["ftz"], allowed["sat"], allowed["relu"] = !bf, !bf, true
	case "neg", "abs":
		allowed["ftz"] = !bf
	case "min", "max":
		allowed["ftz"], allowed["NaN"], allowed["xorsign"] = !bf, true, true
	case "ex2":
		allowed["ftz"] = bf
	}
	quals := []struct {
		name string
		on   bool
		flag uint32
	}{{"ftz", ftz, fFtz}, {"sat", sat, fSat}, {"relu", relu, fRelu}, {"NaN", nan, fNaN}, {"xorsign", xorsign, fXorsign}}
	for _, q := range quals { // in this order, so that the error is always the same
		if q.on && !allowed[q.name] {
			return lw.unsupported(in, fmt.Sprintf(".%s on %s", q.name, name))
		}
	}
	if in.Op != "fma" && in.Op != "add" && in.Op != "sub" && in.Op != "mul" && rnd != rndNone {
		return lw.unsupported(in, "a rounding modifier on "+name)
	}
	if err := lw.require(in, sm, ver, name); err != nil {
		return err
	}
	for _, q := range quals {
		if q.on {
			o.flags |= q.flag
		}
	}
	for _, x := range in.Args {
		if err := lw.regFits(in, x, t.size(), false); err != nil {
			return err
		}
	}
	return lw.dstSrcs(in, o, t, n)
}

// lowerHalfCmp lowers setp and set that compare narrow floats:
// setp.cmp{.bop}{.ftz}.f16 p, a, b{, c}; setp....f16x2 p|q, a, b{, c}
// (p the low halves' result, q the high halves'); set.cmp{.bop}{.ftz}.dtype.stype
// with a half source or destination. bf16 comparisons need sm_90.
func (lw *lowerer) lowerHalfCmp(in *ptx.Instr, ms *modSet, o *op, cmp uint8, bop int, ftz bool) error {
	ts := ms.typeList()
	o.code = opHalfCmp
	o.setCmp(cmp)
	if in.Op == "setp" {
		if len(ts) != 1 {
			return lw.errAt(in.Line, "setp needs one type")
		}
		o.typ, o.typ2 = tPred, ts[0]
	} else {
		if len(ts) != 2 {
			return lw.errAt(in.Line, "set needs a destination and a source type")
		}
		o.typ, o.typ2 = ts[0], ts[1]
	}
	st, dt := o.typ2, o.typ
	if k := st.kind(); k != kH && k != kBF && st != tF32 {
		return lw.unsupported(in, "a comparison of ."+st.String())
	}
	_, lanes := st.halfFmt()
	if st == tF32 {
		lanes = 1
	}
	name := in.Op + "." + st.String()
	if in.Op == "set" {
		// The destination: an integer of 16 or 32 bits, f32, or the
		// source's own half type (two results for a pair).
		okDst := false
		switch {
		case lanes == 2:
			okDst = dt == st || dt == tU32 || dt == tS32
		case dt.kind() == kH || dt.kind() == kBF:
			okDst = dt.size() == 2
		default:
			okDst = dt == tU16 || dt == tS16 || dt == tU32 || dt == tS32
		}
		if !okDst || !st.narrow() && !dt.narrow() {
			return lw.unsupported(in, fmt.Sprintf("set.%s.%s", dt, st))
		}
		name = "set." + dt.String() + "." + st.String()
	} else if !st.narrow() {
		return lw.unsupported(in, "setp of ."+st.String())
	}
	if bad := cmpFits(st, cmp); bad != "" {
		return lw.unsupported(in, bad)
	}
	if ftz {
		// .ftz is on the .f16 forms (and an f32 source compared into an
		// .f16 destination); the .bf16 ones have none.
		if st.kind() != kH && st != tF32 || dt.kind() == kBF {
			return lw.unsupported(in, ".ftz on "+name)
		}
		o.flags |= fFtz
	}
	sm, ver := 53, 42
	if st.kind() == kBF || dt.kind() == kBF {
		sm, ver = 90, 78
	}
	if err := lw.require(in, sm, ver, name); err != nil {
		return err
	}
	want, err := lw.cmpOperands(in, o, bop)
	if err != nil {
		return err
	}
	for i := 1; i < 3; i++ {
		if err := lw.regFits(in, in.Args[i], st.size(), false); err != nil {
			return err
		}
	}
	if in.Op == "set" {
		if err := lw.regFits(in, in.Args[0], dt.size(), false); err != nil {
			return err
		}
	}
	d := in.Args[0]
	switch {
	case d.Kind == ptx.OpPair:
		if in.Op != "setp" || lanes != 2 {
			return lw.errAt(in.Line, "%s has one destination", name)
		}
		if o.d[0], err = lw.dst(in, d.Elems[0]); err != nil {
			return err
		}
		if o.d[1], err = lw.dst(in, d.Elems[1]); err != nil {
			return err
		}
	case in.Op == "setp" && lanes == 2:
		return lw.errAt(in.Line, "%s sets a pair of predicates, p|q", name)
	default:
		if o.d[0], err = lw.dst(in, d); err != nil {
			return err
		}
	}
	return lw.cmpSources(in, o, st, want)
}

// lowerCvtNarrow lowers a cvt whose source or destination is a narrow
// float (§9.7.8.21):
//
//	cvt{.rnd}{.sat}.dtype.atype d, a       f16/bf16 with f32, f64, integers, each other
//	cvt.frnd2{.relu}{.satfinite}.{f16,bf16}.f32 d, a          frnd2 = .rn or .rz
//	cvt.frnd2{.relu}{.satfinite}.{f16x2,bf16x2}.f32 d, a, b   a to the high half
//	cvt.rn.satfinite{.relu}.{e4m3x2,e5m2x2}.f32 d, a, b       a to the high byte
//	cvt.rn.satfinite{.relu}.{e4m3x2,e5m2x2}.f16x2 d, a
//	cvt.rn{.relu}.f16x2.{e4m3x2,e5m2x2} d, a
//
// The rounding follows the ISA's table for the scalar forms, as for the
// wide floats.
func (lw *lowerer) lowerCvtNarrow(in *ptx.Instr, ms *modSet, o *op) error {
	dt, st := o.typ, o.typ2
	r := o.rounding()
	relu, satfinite := ms.take("relu"), ms.take("satfinite")
	name := "cvt." + dt.String() + "." + st.String()
	isPair := func(t ptype) bool { return t == tF16x2 || t == tBF16x2 }
	isF8 := func(t ptype) bool { return t.kind() == kE4 || t.kind() == kE5 }
	n := 2
	var sm, ver int
	switch {
	case isF8(dt) || isF8(st):
		if dt == tE4M3 || dt == tE5M2 || st == tE4M3 || st == tE5M2 {
			return lw.unsupported(in, "a scalar fp8 conversion (fp8 comes in pairs, .e4m3x2 and .e5m2x2)")
		}
		switch {
		case isF8(dt) && st == tF32:
			n = 3
			o.flags |= fPair
		case isF8(dt) && st == tF16x2, dt == tF16x2 && isF8(st):
		default:
			return lw.unsupported(in, name)
		}
		if r != rndRN {
			return lw.errAt(in.Line, "%s takes .rn", name)
		}
		if isF8(dt) && !satfinite {
			return lw.errAt(in.Line, "%s takes .satfinite", name)
		}
		if dt == tF16x2 && satfinite {
			return lw.unsupported(in, ".satfinite on "+name)
		}
		sm, ver = 89, 81
		if lw.m.sm >= 90 {
			sm, ver = 90, 78
		}
	case isPair(dt):
		if st != tF32 {
			return lw.unsupported(in, name)
		}
		n = 3
		o.flags |= fPair
		fallthrough
	case relu || satfinite:
		if st != tF32 || dt.kind() != kH && dt.kind() != kBF {
			return lw.unsupported(in, ".relu and .satfinite convert .f32 to .f16 or .bf16 here, not "+name)
		}
		if r != rndRN && r != rndRZ {
			return lw.errAt(in.Line, "%s takes .rn or .rz", name)
		}
		sm, ver = 80, 70
		if satfinite {
			ver = 81
		}
	case isPair(st):
		return lw.unsupported(in, name)
	default:
		// Scalar f16 and bf16: the wide floats' rounding table.
		if need := cvtRounding(dt, st, r); need != "" {
			return lw.errAt(in.Line, "%s takes %s", name, need)
		}
		// f16 converts everywhere; bf16 from f32 with .rn or .rz, and to
		// f32, from sm_80; any other bf16 conversion from sm_90.
		switch {
		case dt == tBF16 && st == tF32 && (r == rndRN || r == rndRZ):
			sm, ver = 80, 70
		case dt == tF32 && st == tBF16:
			sm, ver = 80, 71
		case dt == tBF16 || st == tBF16:
			sm, ver = 90, 78
		}
	}
	// .ftz and .sat belong to the scalar form cvt{.rnd}{.ftz}{.sat}; the
	// .relu, .satfinite, pair and fp8 forms have neither.
	if special := relu || satfinite || isPair(dt) || isF8(dt) || isF8(st); special && o.flags&(fFtz|fSat) != 0 {
		q := ".ftz"
		if o.flags&fSat != 0 {
			q = ".sat"
		}
		return lw.unsupported(in, q+" on "+name+" with .relu, .satfinite or a pair")
	}
	if o.flags&fFtz != 0 && dt == tF32 && st == tBF16 {
		sm, ver = 90, 78 // cvt.ftz.f32.bf16 came after the plain form
	}
	if relu {
		o.flags |= fRelu
	}
	if satfinite {
		o.flags |= fSatFinite
	}
	if err := lw.require(in, sm, ver, name); err != nil {
		return err
	}
	if err := lw.nargs(in, n); err != nil {
		return err
	}
	for i, x := range in.Args {
		size := dt.size()
		if i > 0 {
			size = st.size()
		}
		if err := lw.regFits(in, x, size, true); err != nil {
			return err
		}
	}
	return lw.dstSrcs(in, o, st, n)
}

// lowerCvtPack lowers cvt.pack.sat.{u16,s16}.s32 d, a, b and
// cvt.pack.sat.{u8,s8,u4,s4,u2,s2}.s32.b32 d, a, b, c (§9.7.8.22, sm_72).
func (lw *lowerer) lowerCvtPack(in *ptx.Instr, ms *modSet, o *op) error {
	if !ms.take("sat") {
		return lw.errAt(in.Line, "cvt.pack needs .sat")
	}
	narrow := ms.takeOne("u2", "s2", "u4", "s4")
	ts := ms.typeList()
	var dt ptype
	var bits uint8 // the width of each destination part
	switch {
	case narrow >= 0 && len(ts) == 2 && ts[0] == tS32 && ts[1] == tB32:
		bits = uint8(2 << (narrow / 2))
		if narrow%2 == 1 {
			dt = tS32
		} else {
			dt = tU32
		}
	case narrow < 0 && len(ts) == 3 && (ts[0] == tU8 || ts[0] == tS8) && ts[1] == tS32 && ts[2] == tB32:
		bits, dt = 8, ts[0]
	case narrow < 0 && len(ts) == 2 && (ts[0] == tU16 || ts[0] == tS16) && ts[1] == tS32:
		bits, dt = 16, ts[0]
	default:
		return lw.unsupported(in, "cvt.pack form")
	}
	o.setCvtPack(bits)
	o.typ = tU32
	if dt.signed() {
		o.typ = tS32
	}
	if err := lw.require(in, 72, 65, "cvt.pack"); err != nil {
		return err
	}
	n := 3
	if bits < 16 {
		n = 4
	}
	return lw.dstSrcs(in, o, tB32, n)
}
