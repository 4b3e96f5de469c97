package cpuemu

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// DumpIR writes the lowered IR of a kernel, one op per line, for tests and
// debugging: index, guard, opcode with its types and modes, operands (as
// register names, #constants and [base+off] addresses), and the PTX line.
func (m *Module) DumpIR(kernel string) (string, error) {
	p, err := m.program(kernel)
	if err != nil {
		return "", fmt.Errorf("dump: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "kernel %s: %d ops, %d slots, params %d bytes, shared %d bytes, local %d bytes/lane\n",
		p.name, len(p.ops), p.nslots, p.paramSize, p.sharedSize, p.localSize)
	for _, pr := range p.params {
		fmt.Fprintf(&b, "  param %d %s .%s size %d offset %d\n", pr.Index, pr.Name, pr.Type, pr.Size, pr.Offset)
	}
	q := *p
	q.regNames = m.varAddrNames(p)
	fn := ""
	for i := range p.ops {
		if p.funcName(i) != fn {
			fn = p.funcName(i)
			fmt.Fprintf(&b, "%s:\n", fn)
		}
		fmt.Fprintf(&b, "  %4d  %s\n", i, q.formatOp(&p.ops[i]))
	}
	return b.String(), nil
}

// varAddrNames is p's register names with each constant that is the
// address of one of the module's .global variables named by the
// variable, #&table or #&table+8. The address itself depends on how many
// modules the process loaded before this one (each has a window of its
// own), so a dump that printed it would differ from run to run.
func (m *Module) varAddrNames(p *program) []string {
	names, copied := p.regNames, false
	for _, c := range p.consts {
		for n, vi := range m.modVars {
			if vi.err != nil || vi.space != spGlobal || c.val < vi.addr || c.val-vi.addr >= uint64(vi.size) {
				continue
			}
			if !copied {
				names, copied = slices.Clone(names), true
			}
			names[c.slot/32] = "#&" + n
			if off := c.val - vi.addr; off != 0 {
				names[c.slot/32] += fmt.Sprintf("+%d", off)
			}
		}
	}
	return names
}

func (p *program) slotName(s int32) string {
	if s == noSlot {
		return "_"
	}
	return p.regNames[s/32]
}

func (p *program) formatOp(o *op) string {
	var b strings.Builder
	if o.guard != noSlot {
		b.WriteString("@")
		if o.flags&fGuardNeg != 0 {
			b.WriteString("!")
		}
		b.WriteString(p.slotName(o.guard) + " ")
	}
	b.WriteString(mnemonic(o))
	if o.sem != semWeak {
		b.WriteString("." + semModes.name(o.sem))
	}
	if o.scope != scopeNone {
		b.WriteString("." + scopeModes.name(o.scope))
	}
	if o.space != spGeneric || o.code == opLd || o.code == opSt {
		b.WriteString("." + o.space.String())
	}
	if o.vec > 1 {
		fmt.Fprintf(&b, ".v%d", o.vec)
	}
	switch o.code {
	case opBra, opCall, opCallInd, opBrx, opRet, opExit, opTrap, opBrkpt, opFence, opNop, opWarpSync, opBarArrive,
		opCvta, opCvtaTo, opActivemask, opNanosleep, opVideo, opCvtPack: // no type, or one the mnemonic gives
	case opBar:
		if o.barRed() != barNoRed {
			b.WriteString("." + o.typ.String())
		}
	default:
		b.WriteString("." + o.typ.String())
	}
	switch o.code {
	case opCvt, opSetp, opSet, opSlct, opHalfCmp, opDp4a:
		b.WriteString("." + o.typ2.String())
	}
	if f := o.flags &^ fGuardNeg; f != 0 {
		var names []string
		for i, n := range flagNames {
			if f&(1<<i) != 0 {
				names = append(names, n)
			}
		}
		b.WriteString(" flags=" + strings.Join(names, ","))
	}
	if (o.code == opLd || o.code == opSt) && o.alignMultiple() > 1 {
		fmt.Fprintf(&b, " align=%d", accessAlign(o))
	}
	var ops []string
	for _, d := range o.d {
		if d != noSlot {
			ops = append(ops, p.slotName(d))
		}
	}
	sep := " <- "
	if len(ops) == 0 {
		sep = " "
	}
	var srcs []string
	isMem := o.code == opLd || o.code == opSt || o.code == opAtom || o.code == opRed
	for i, a := range o.a {
		if a == noSlot {
			continue
		}
		if i == 0 && isMem {
			srcs = append(srcs, fmt.Sprintf("[%s%+d]", p.slotName(a), o.off))
			continue
		}
		srcs = append(srcs, p.slotName(a))
	}
	switch o.code {
	case opSt: // st keeps its values in d
		srcs = append(srcs, ops...)
		ops = nil
		sep = " "
	case opVideo: // the part selectors and vmad's negations go with their operands
		v := o.video()
		ops[0] += videoSelName(v.dsel)
		srcs[0] = videoNeg(v.negA) + srcs[0] + videoSelName(v.asel)
		srcs[1] = videoNeg(v.negB) + srcs[1] + videoSelName(v.bsel)
		if len(srcs) > 2 {
			srcs[2] = videoNeg(v.negC) + srcs[2]
		}
	case opClock:
		srcs = append(srcs, clockModes.name(uint8(o.clockReg())))
	}
	if len(ops) > 0 {
		b.WriteString(" " + strings.Join(ops, ", "))
	}
	if len(srcs) > 0 {
		b.WriteString(sep + strings.Join(srcs, ", "))
	}
	switch o.code {
	case opBra, opCall:
		fmt.Fprintf(&b, " -> %d", o.target)
	case opLop3:
		fmt.Fprintf(&b, " lut=%#x", o.lut())
	case opCallBuiltin:
		fmt.Fprintf(&b, " -> %s", builtins[o.builtin()].name)
	}
	fmt.Fprintf(&b, "  ; ptx %d", o.line)
	return b.String()
}

// mnemonic is an op's opcode with its modes by name, in PTX's words where
// they fit: shf.l.wrap, addc, mul24.hi, setp.lt.and, float1.rcp.rn.
func mnemonic(o *op) string {
	name := o.code.String()
	switch o.code {
	case opAddCC: // add.cc, addc, sub.cc, subc
		return carryModes.name(uint8(o.carryMode()))
	case opDp4a: // dp4a, dp2a.lo, dp2a.hi
		return dotModes.name(uint8(o.dotMode()))
	case opMul, opMulHi, opMad, opMadHi:
		if o.mulMode() == mul24 { // integers only: no rounding
			base, part, _ := strings.Cut(name, ".")
			return base + "24." + cmp.Or(part, "lo")
		}
	case opBar:
		if r := o.barRed(); r != barNoRed {
			return "bar.red." + barRedModes.name(uint8(r))
		}
		return name
	case opCvtPack: // cvt.pack.sat.s8: the parts' type; typ says only their sign
		sign := "u"
		if o.typ.signed() {
			sign = "s"
		}
		return fmt.Sprintf("cvt.pack.sat.%s%d", sign, o.packBits())
	case opVideo:
		return o.video().String()
	case opClock, opCallBuiltin: // the register is the source, the builtin the target
		return name
	}
	for _, m := range o.modeNames() {
		name += "." + m
	}
	return name
}

// String is a video instruction's opcode with its types and modifiers, as
// PTX writes them; its operands carry the selectors.
func (v videoSpec) String() string {
	var b strings.Builder
	for n, k := range videoOpNames {
		if k == v.vop {
			b.WriteString(n)
		}
	}
	typ := func(signed bool) string {
		if signed {
			return ".s32"
		}
		return ".u32"
	}
	if v.vop != vSet {
		b.WriteString(typ(v.dSigned))
	}
	b.WriteString(typ(v.aSigned) + typ(v.bSigned))
	if v.po {
		b.WriteString(".po")
	}
	if v.sat {
		b.WriteString(".sat")
	}
	switch v.vop {
	case vShl, vShr:
		if v.wrap {
			b.WriteString(".wrap")
		} else {
			b.WriteString(".clamp")
		}
	case vSet:
		b.WriteString("." + cmpModes.name(v.cmp))
	case vMad:
		if v.scale != 0 {
			fmt.Fprintf(&b, ".shr%d", v.scale)
		}
	}
	if v.op2 != op2None {
		b.WriteString("." + [...]string{op2Add: "add", op2Min: "min", op2Max: "max"}[v.op2])
	}
	return b.String()
}

// videoSelName is a part selector as PTX writes it after an operand.
func videoSelName(sel uint8) string {
	for n, s := range videoSelNames {
		if s == sel {
			return "." + n
		}
	}
	return "" // selWord
}

func videoNeg(neg bool) string {
	if neg {
		return "-"
	}
	return ""
}
