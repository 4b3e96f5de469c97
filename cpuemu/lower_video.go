package cpuemu

import (
	"fmt"
	"strings"

	"github.com/gpubuf/gpubuf/internal/ptx"
)

// The scalar video instructions (PTX ISA §9.7.18.1), each in exactly the
// forms the ISA gives:
//
//	vop.dtype.atype.btype{.sat}       d, a{.asel}, b{.bsel};
//	vop.dtype.atype.btype{.sat}.op2   d, a{.asel}, b{.bsel}, c;
//	vop.dtype.atype.btype{.sat}       d.dsel, a{.asel}, b{.bsel}, c;
//
// for vadd, vsub, vabsdiff, vmin and vmax; vshl and vshr the same with
// .dtype.atype.u32 and a .clamp or .wrap mode after .sat; vset.atype.btype.cmp
// in the same three shapes without .sat; and
//
//	vmad.dtype.atype.btype{.sat}{.scale}     d, {-}a{.asel}, {-}b{.bsel}, {-}c;
//	vmad.dtype.atype.btype.po{.sat}{.scale}  d, a{.asel}, b{.bsel}, c;
//
// The SIMD forms (vadd2, vadd4, ...) are not lowered: they stay unknown
// opcodes.

// lowerVideo lowers vadd, vsub, vabsdiff, vmin, vmax, vshl, vshr, vmad and
// vset to one opVideo.
func (lw *lowerer) lowerVideo(in *ptx.Instr, ms *modSet, o *op) error {
	v := videoSpec{vop: videoOpNames[in.Op]}
	// Types: .dtype.atype.btype, or vset's .atype.btype, each .u32 or .s32.
	ts := ms.typeList()
	want, shape := 3, ".dtype.atype.btype"
	if v.vop == vSet {
		want, shape = 2, ".atype.btype"
	}
	if len(ts) != want {
		return lw.errAt(in.Line, "%s needs %d types, %s; found %d", in.Op, want, shape, len(ts))
	}
	for _, t := range ts {
		if t != tU32 && t != tS32 {
			return lw.unsupported(in, fmt.Sprintf("type .%s: the video instructions take .u32 and .s32", t))
		}
	}
	if v.vop == vSet {
		v.aSigned, v.bSigned = ts[0] == tS32, ts[1] == tS32
	} else {
		v.dSigned, v.aSigned, v.bSigned = ts[0] == tS32, ts[1] == tS32, ts[2] == tS32
	}
	o.typ = ts[0]
	if v.vop == vSet {
		o.typ = tU32 // vset's result is unsigned
	}

	// Modifiers.
	switch v.vop {
	case vShl, vShr:
		if v.bSigned {
			return lw.unsupported(in, in.Op+"'s shift amount is .u32 (.dtype.atype.u32)")
		}
		clamp, ok := ms.clampWrap()
		if !ok {
			return lw.unsupported(in, in.Op+" needs a mode, .clamp or .wrap")
		}
		v.wrap = clamp == modeWrap
	case vSet:
		cmp := ms.takeMode(&cmpModes)
		if cmp < 0 || cmp > int(cmpGE) { // not .lo .ls .hi .hs nor the float ones
			return lw.unsupported(in, "vset needs a comparison, .eq .ne .lt .le .gt or .ge")
		}
		v.cmp = uint8(cmp)
		if ms.take("sat") {
			return lw.unsupported(in, "vset takes no .sat")
		}
	case vMad:
		v.po = ms.take("po")
		switch ms.takeOne("shr7", "shr15") {
		case 0:
			v.scale = 7
		case 1:
			v.scale = 15
		}
	}
	if v.vop != vSet {
		v.sat = ms.take("sat")
	}
	if v.vop != vMad {
		v.op2 = uint8(ms.takeOne("add", "min", "max") + 1) // op2None when absent
	}
	if v.sat {
		o.flags |= fSat
	}

	// Operands: d{.dsel}, a{.asel}, b{.bsel} and, in two of the three
	// shapes and always for vmad, c.
	n := len(in.Args)
	switch {
	case v.vop == vMad && n != 4:
		return lw.errAt(in.Line, "vmad takes 4 operands, found %d", n)
	case n != 3 && n != 4:
		return lw.errAt(in.Line, "%s takes 3 operands, or 4 with .op2 or a destination selector; found %d", in.Op, n)
	case in.Args[0].Kind == ptx.OpSink:
		return lw.unsupported(in, "_ as the destination: the video instructions write a register")
	}
	d, dsel, err := lw.videoSel(in, in.Args[0], "d", v.vop != vMad)
	if err != nil {
		return err
	}
	a, asel, err := lw.videoSel(in, in.Args[1], "a", true)
	if err != nil {
		return err
	}
	b, bsel, err := lw.videoSel(in, in.Args[2], "b", true)
	if err != nil {
		return err
	}
	v.dsel, v.asel, v.bsel = dsel, asel, bsel
	switch {
	case v.vop == vMad:
	case v.op2 != op2None && v.dsel != selWord:
		return lw.unsupported(in, "a destination selector together with a secondary operation (.add, .min, .max): the ISA gives one or the other")
	case n == 4 && v.op2 == op2None && v.dsel == selWord:
		return lw.errAt(in.Line, "%s takes a fourth operand only with a secondary operation (.add, .min, .max) or a destination selector (d.b0 ... d.h1)", in.Op)
	case n == 3 && v.op2 != op2None:
		return lw.errAt(in.Line, "%s with a secondary operation needs its operand c", in.Op)
	case n == 3 && v.dsel != selWord:
		return lw.errAt(in.Line, "%s with a destination selector merges into c: it needs a fourth operand", in.Op)
	}
	var c ptx.Operand
	if n == 4 {
		if c, _, err = lw.videoSel(in, in.Args[3], "c", false); err != nil {
			return err
		}
	}

	// vmad's negations: (a*b) is negated when exactly one of a and b is,
	// and the ISA allows negating (a*b) or c, not both, and nothing with
	// .po (§9.7.18.1.3).
	if v.vop == vMad {
		v.negA, v.negB, v.negC = a.Minus, b.Minus, c.Minus
		a.Minus, b.Minus, c.Minus = false, false, false
		switch {
		case v.po && (v.negA || v.negB || v.negC):
			return lw.unsupported(in, "a negated source with .po")
		case v.negA != v.negB && v.negC:
			return lw.unsupported(in, "negating both (a*b) and c: vmad negates one or the other")
		}
	}

	if err := lw.require(in, 20, 20, in.Op); err != nil {
		return err
	}
	o.setVideo(v)
	for _, x := range []ptx.Operand{d, a, b, c}[:n] {
		if err := lw.videoReg(in, x); err != nil {
			return err
		}
	}
	if o.d[0], err = lw.dst(in, d); err != nil {
		return err
	}
	for i, x := range []ptx.Operand{a, b, c}[:n-1] {
		if o.a[i], err = lw.src(in, x, tU32); err != nil {
			return err
		}
	}
	lw.emit(*o)
	return nil
}

// videoSel splits a part selector off a video operand: %r1.h1 is %r1 and
// selH1. An operand that takes no selector (vmad's d, any c) refuses one;
// a name that is whole with its dot (%tid.x, a vector register's %v.x)
// has none.
func (lw *lowerer) videoSel(in *ptx.Instr, x ptx.Operand, what string, takes bool) (ptx.Operand, uint8, error) {
	dot := strings.LastIndexByte(x.Name, '.')
	if x.Kind != ptx.OpName || dot < 0 || lw.isName(x.Name) {
		return x, selWord, nil
	}
	base, suffix := x.Name[:dot], x.Name[dot+1:]
	sel, ok := videoSelNames[suffix]
	switch {
	case !ok && !lw.isName(base):
		return x, selWord, nil // lw.src or lw.dst says it is undefined
	case !ok:
		return x, 0, lw.unsupported(in, fmt.Sprintf("selector .%s on %s (the selectors are .b0 .b1 .b2 .b3 .h0 .h1)", suffix, base))
	case !takes:
		return x, 0, lw.unsupported(in, fmt.Sprintf("a selector on %s: %s %s takes none", x.Name, in.Op, what))
	}
	x.Name = base
	return x, sel, nil
}

// videoReg refuses a register that is not a 32-bit integer one: "all
// scalar video instructions operate on 32-bit register operands", and
// PTX's operand rules (§5.4) want a .u32 or .s32 operand in a register of
// that size.
func (lw *lowerer) videoReg(in *ptx.Instr, x ptx.Operand) error {
	if x.Kind != ptx.OpName {
		return nil
	}
	r, ok := lw.lookupReg(x.Name)
	if !ok || r.slot == noSlot {
		return nil // not a register, or a whole vector: src and dst say so
	}
	if k := r.typ.kind(); r.typ.size() != 4 || k != kU && k != kS && k != kB {
		return lw.unsupported(in, fmt.Sprintf("register %s is .%s: the video instructions take 32-bit integer registers", x.Name, r.typ))
	}
	return nil
}

// isName reports whether name is a register, a special register or a
// variable, as written.
func (lw *lowerer) isName(name string) bool {
	if _, ok := lw.lookupReg(name); ok {
		return true
	}
	if _, ok := specialNames[name]; ok {
		return true
	}
	_, ok := lw.lookupVar(name)
	return ok
}
