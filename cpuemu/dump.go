package cpuemu

import (
	"fmt"
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
	fn := ""
	for i := range p.ops {
		if p.funcName(i) != fn {
			fn = p.funcName(i)
			fmt.Fprintf(&b, "%s:\n", fn)
		}
		fmt.Fprintf(&b, "  %4d  %s\n", i, p.formatOp(&p.ops[i]))
	}
	return b.String(), nil
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
	b.WriteString(o.code.String())
	if o.space != spGeneric || o.code == opLd || o.code == opSt {
		b.WriteString("." + o.space.String())
	}
	if o.vec > 1 {
		fmt.Fprintf(&b, ".v%d", o.vec)
	}
	switch o.code {
	case opBra, opCall, opRet, opExit, opTrap, opBrkpt, opFence, opNop, opWarpSync, opBarArrive, opCvta, opCvtaTo:
	default:
		b.WriteString("." + o.typ.String())
	}
	if o.code == opCvt || o.code == opSetp || o.code == opSet || o.code == opSlct {
		b.WriteString("." + o.typ2.String())
	}
	if o.sub != 0 || o.sub2 != 0 {
		fmt.Fprintf(&b, " mode=%d/%d", o.sub, o.sub2)
	}
	if o.flags&^fGuardNeg != 0 {
		fmt.Fprintf(&b, " flags=%#x", o.flags&^fGuardNeg)
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
	if o.code == opSt { // st keeps its values in d
		srcs = append(srcs, ops...)
		ops = nil
		sep = " "
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
		fmt.Fprintf(&b, " lut=%#x", o.off)
	case opCallBuiltin:
		fmt.Fprintf(&b, " -> %s", builtins[o.sub].name)
	}
	fmt.Fprintf(&b, "  ; ptx %d", o.line)
	return b.String()
}
