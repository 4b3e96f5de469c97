package cpuemu

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/gpubuf/gpubuf/internal/ptx"
)

// Lowering turns each function of the syntax tree (package ptx) into IR
// once, with registers, labels and memory frames of its own; link.go then
// joins an entry with the functions it reaches into a program. So Load is
// linear in the module's size however the functions call each other, and
// an entry that uses something unsupported fails alone.

// UnsupportedError is an instruction, directive or construct the emulator
// does not implement. The entry that needs it fails with it when it is
// asked for (Module.Kernel, Launch); the module's other entries run.
type UnsupportedError struct {
	Entry string // the entry that reaches it; "" for a module-level construct
	Func  string // the function it is in, when not the entry itself
	Line  int    // PTX line
	Instr string // the opcode with its modifiers, e.g. "tex.2d.v4.f32.f32"
	What  string // what is unsupported
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	if e.Entry != "" {
		fmt.Fprintf(&b, "entry %s: ", e.Entry)
	}
	if e.Func != "" && e.Func != e.Entry {
		fmt.Fprintf(&b, "function %s: ", e.Func)
	}
	if e.Instr == "" {
		fmt.Fprintf(&b, "ptx line %d: unsupported: %s", e.Line, e.What)
	} else {
		fmt.Fprintf(&b, "ptx line %d: unsupported instruction %s: %s", e.Line, e.Instr, e.What)
	}
	return b.String()
}

// Special-register slot kinds, filled per lane when a warp starts.
const (
	spcTidX = iota
	spcTidY
	spcTidZ
	spcNtidX
	spcNtidY
	spcNtidZ
	spcCtaidX
	spcCtaidY
	spcCtaidZ
	spcNctaidX
	spcNctaidY
	spcNctaidZ
	spcLaneid
	spcWarpid
	spcNwarpid
	spcLanemaskEq
	spcLanemaskLt
	spcLanemaskLe
	spcLanemaskGt
	spcLanemaskGe
	spcSmid
	spcNsmid
	spcGridid
	spcEnvreg1 // the grid workspace's address, high word (cooperative launches)
	spcEnvreg2 // and low word
	spcCarry   // hidden: the carry flag of add.cc/addc
	spcCount
)

var specialNames = map[string]int{
	"%tid.x": spcTidX, "%tid.y": spcTidY, "%tid.z": spcTidZ,
	"%ntid.x": spcNtidX, "%ntid.y": spcNtidY, "%ntid.z": spcNtidZ,
	"%ctaid.x": spcCtaidX, "%ctaid.y": spcCtaidY, "%ctaid.z": spcCtaidZ,
	"%nctaid.x": spcNctaidX, "%nctaid.y": spcNctaidY, "%nctaid.z": spcNctaidZ,
	"%laneid": spcLaneid, "%warpid": spcWarpid, "%nwarpid": spcNwarpid,
	"%lanemask_eq": spcLanemaskEq, "%lanemask_lt": spcLanemaskLt, "%lanemask_le": spcLanemaskLe,
	"%lanemask_gt": spcLanemaskGt, "%lanemask_ge": spcLanemaskGe,
	"%smid": spcSmid, "%nsmid": spcNsmid, "%gridid": spcGridid,
	"%envreg1": spcEnvreg1, "%envreg2": spcEnvreg2,
}

func specialName(k int) string {
	for n, v := range specialNames {
		if v == k {
			return n
		}
	}
	return "%carry"
}

// reloc says how link rebases a constant: the offset of a function's own
// .shared, .local or call-parameter variable becomes an address of the
// program's frame, and a reference into the dynamic shared array becomes
// an offset after the program's static shared memory.
type reloc uint8

const (
	relNone reloc = iota
	relShared
	relLocal
	relParamF
	relDynShared
)

type slotConst struct {
	slot int32
	val  uint64
	rel  reloc
}

// varInfo is where a named variable lives.
type varInfo struct {
	space space
	addr  uint64 // in its space: absolute, or relative to the function's frame when rel is set
	size  int
	align int
	rel   reloc
	err   error    // a module variable that cannot be used (an .extern without a definition, a .texref)
	decl  *ptx.Var // the declaration: its element type and dimensions index it (a[i])
}

type regInfo struct {
	slot int32
	typ  ptype
}

// fnIR is one function lowered on its own: slots, op indices and frame
// offsets are its own, and link rebases them into a program.
type fnIR struct {
	name      string
	decl      *ptx.Func
	index     int // in Module.fns: the function's address is fnAddr(index)
	ops       []op
	nslots    int
	regNames  []string
	consts    []slotConst
	specials  [spcCount]int32 // the function's slot of each special register it reads, noSlot if none
	shared    int             // bytes of its own .shared declarations
	dynAlign  int             // the .align of its .extern .shared array, 0 if none
	local     int             // bytes of its .local declarations, per lane
	paramF    int             // bytes of its parameters and call scratch, per lane
	fcalls    []fnCall        // its call sites, with its own offsets and slots
	brTables  [][]int32       // brx.idx target lists, as its own op indices
	params    []Param         // an entry's parameters
	paramSize int
	// paramLocs and retLocs are where a .func's parameters and results
	// live: its frame for .param ones, its registers for .reg ones.
	paramLocs []argLoc
	retLocs   []argLoc
	err       error
}

type lowerer struct {
	sink     int32 // the register _ writes to, when hasSink
	hasSink  bool
	m        *Module
	f        *fnIR
	scopes   []map[string]regInfo
	ranges   []map[string]regRange // per scope, its register ranges
	vars     []map[string]varInfo  // innermost last; [0] = module scope
	constOf  map[slotConst]int32
	labels   map[string]int
	fixups   []fixup
	brFixups []brFixup
	protos   map[string]*ptx.Proto
	tables   map[string]*ptx.Stmt // .branchtargets and .calltargets by label
	curLoc   int32
	overflow bool
}

type fixup struct {
	op    int
	label string
	line  int
}

// brFixup is one label of a brx.idx table, resolved when the function's
// labels are all known.
type brFixup struct {
	table, index int
	label        string
	line         int
}

// lowerFunc lowers one function with a body. A failure is recorded in the
// result's err: it is the failure of every entry that reaches the function.
func (m *Module) lowerFunc(fn *fnIR) {
	f := fn.decl
	for i := range fn.specials {
		fn.specials[i] = noSlot
	}
	lw := &lowerer{m: m, f: fn, constOf: map[slotConst]int32{}, labels: map[string]int{}, curLoc: -1,
		protos: map[string]*ptx.Proto{}, tables: map[string]*ptx.Stmt{}}
	lw.vars = []map[string]varInfo{m.modVars}
	if err := lw.function(); err != nil {
		fn.err = err
		fn.ops = nil
	}
	f.Body = []ptx.Stmt{} // lowered: the module keeps the IR, not the text (HasBody stays true)
}

// newOp returns an op with every operand slot and the guard absent.
func newOp(code opcode, line int) op {
	o := op{code: code, line: int32(line), guard: noSlot}
	for i := range o.d {
		o.d[i], o.a[i] = noSlot, noSlot
	}
	return o
}

func alignUp(n, a int) int {
	if a <= 1 {
		return n
	}
	return (n + a - 1) / a * a
}

// place lays out variable v at the next suitably aligned offset of a
// space whose running size is *top.
func place(v *ptx.Var, sp space, top *int, rel reloc) varInfo {
	al := v.Align
	if al == 0 {
		al = max(v.ElemSize(), 1)
	}
	*top = alignUp(*top, al)
	vi := varInfo{space: sp, addr: uint64(*top), size: v.Size(), align: al, rel: rel, decl: v}
	*top += vi.size
	return vi
}

// maxFrameBytes bounds each per-lane or per-block frame a function
// declares, so that sizes stay far from overflow; launches check the
// real limits (shared and local bytes) per kernel.
const maxFrameBytes = 1 << 30

func (lw *lowerer) errAt(line int, format string, args ...any) error {
	return &SyntaxError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (lw *lowerer) unsupported(in *ptx.Instr, what string) error {
	return &UnsupportedError{Func: lw.f.name, Line: in.Line, Instr: in.Name(), What: what}
}

func (lw *lowerer) unsupportedAt(line int, what string) error {
	return &UnsupportedError{Func: lw.f.name, Line: line, What: what}
}

func (lw *lowerer) function() error {
	f := lw.f.decl
	fn := lw.f
	lw.scopes = []map[string]regInfo{{}}
	lw.ranges = []map[string]regRange{nil}
	fv := map[string]varInfo{}
	lw.vars = append(lw.vars[:1], fv)
	if f.Entry {
		ps, size, err := ptx.Layout(f.Params)
		if err != nil {
			return err
		}
		for i, pd := range f.Params {
			p := ps[i]
			fv[pd.Name] = varInfo{space: spParam, addr: uint64(p.Offset), size: p.Size, align: p.Align, decl: pd}
		}
		fn.params, fn.paramSize = ps, size
	} else {
		// A .func's .param parameters and results come first in its
		// frame, its .reg ones are registers of its own.
		var err error
		if fn.paramLocs, err = lw.formals(f.Params, fv); err != nil {
			return err
		}
		if fn.retLocs, err = lw.formals(f.Rets, fv); err != nil {
			return err
		}
	}
	// Prototypes and target lists are found before the code that uses
	// them, wherever they stand in the body.
	for i := range f.Body {
		s := &f.Body[i]
		switch s.Kind {
		case ptx.StmtProto:
			lw.protos[s.Label] = s.Proto
		case ptx.StmtTargets:
			lw.tables[s.Label] = s
		}
	}
	for i := range f.Body {
		s := &f.Body[i]
		switch s.Kind {
		case ptx.StmtOpen:
			lw.scopes = append(lw.scopes, map[string]regInfo{})
			lw.ranges = append(lw.ranges, nil)
			lw.vars = append(lw.vars, map[string]varInfo{})
		case ptx.StmtClose:
			if len(lw.scopes) > 1 {
				lw.scopes = lw.scopes[:len(lw.scopes)-1]
				lw.ranges = lw.ranges[:len(lw.ranges)-1]
				lw.vars = lw.vars[:len(lw.vars)-1]
			}
		case ptx.StmtLabel:
			if _, dup := lw.labels[s.Label]; dup {
				return lw.errAt(s.Line, "label %s defined twice", s.Label)
			}
			lw.labels[s.Label] = len(fn.ops)
		case ptx.StmtLoc:
			lw.curLoc = lw.m.addLoc(*s.Loc)
		case ptx.StmtDecl:
			if err := lw.decl(s.Decl); err != nil {
				return err
			}
		case ptx.StmtInstr:
			if err := lw.instr(s.Instr); err != nil {
				return err
			}
		case ptx.StmtProto, ptx.StmtTargets:
		case ptx.StmtDirective:
			return lw.unsupportedAt(s.Line, "directive "+s.Label+" inside a function")
		}
		if lw.overflow || fn.nslots > lw.m.maxSlots {
			return registerLimit("", fn.name, fn.nslots, lw.m.maxSlots)
		}
	}
	// Falling off the end of a function returns; an entry's return exits.
	end := newOp(opRet, f.Line)
	if f.Entry {
		end.code = opExit
	}
	lw.emit(end)
	for _, fx := range lw.fixups {
		t, ok := lw.labels[fx.label]
		if !ok {
			return lw.errAt(fx.line, "branch to undefined label %s", fx.label)
		}
		fn.ops[fx.op].target = int32(t)
	}
	for _, fx := range lw.brFixups {
		t, ok := lw.labels[fx.label]
		if !ok {
			return lw.errAt(fx.line, ".branchtargets names undefined label %s", fx.label)
		}
		fn.brTables[fx.table][fx.index] = int32(t)
	}
	if fn.shared > maxFrameBytes || fn.local > maxFrameBytes || fn.paramF > maxFrameBytes {
		return &LimitError{Limit: "bytes of variables in function " + fn.name, Value: int64(max(fn.shared, fn.local, fn.paramF)), Max: maxFrameBytes}
	}
	return nil
}

// formals declares a .func's parameters or results: a .param one takes a
// place in the frame, a .reg one a register.
func (lw *lowerer) formals(vars []*ptx.Var, fv map[string]varInfo) ([]argLoc, error) {
	var out []argLoc
	for _, pd := range vars {
		switch pd.Space {
		case "param":
			if pd.ArrayLen() < 0 || ptx.TypeSize(pd.Type) == 0 {
				return nil, lw.unsupportedAt(pd.Line, fmt.Sprintf("parameter %s of type .%s without a size", pd.Name, pd.Type))
			}
			vi := place(pd, spParamF, &lw.f.paramF, relParamF)
			fv[pd.Name] = vi
			out = append(out, argLoc{kind: locParamF, off: int32(vi.addr), size: vi.size})
		case "reg":
			if pd.Range > 0 || len(pd.Dims) > 0 {
				return nil, lw.unsupportedAt(pd.Line, fmt.Sprintf(".reg parameter %s that is a range or an array", pd.Name))
			}
			if err := lw.decl(pd); err != nil {
				return nil, err
			}
			if pd.Vec > 0 {
				// A vector passes as its elements, each a register: a
				// call's vector argument expands the same way.
				whole, _ := lw.lookupReg(pd.Name)
				regs, _ := lw.vecRegs(pd.Name)
				for _, r := range regs {
					out = append(out, argLoc{kind: locSlot, off: r, size: whole.typ.size()})
				}
				continue
			}
			r, _ := lw.lookupReg(pd.Name)
			out = append(out, argLoc{kind: locSlot, off: r.slot, size: r.typ.size()})
		default:
			return nil, lw.errAt(pd.Line, "parameter %s is .%s", pd.Name, pd.Space)
		}
	}
	return out, nil
}

// regType is the register type of a declaration: the fundamental types,
// and the packed and opaque ones as bit containers of their size.
func regType(t string) (ptype, bool) {
	if pt, ok := typeNames[t]; ok {
		return pt, true
	}
	switch ptx.TypeSize(t) {
	case 1:
		return tB8, true
	case 2:
		return tB16, true
	case 4:
		return tB32, true
	case 8:
		return tB64, true
	}
	return 0, false
}

// vecComponents names the components of a vector register, .x .y .z .w;
// the ISA's color names .r .g .b .a are their synonyms.
var vecComponents = [4]string{"x", "y", "z", "w"}
var colorComponents = map[string]int{"r": 0, "g": 1, "b": 2, "a": 3, "x": 0, "y": 1, "z": 2, "w": 3}

func (lw *lowerer) decl(v *ptx.Var) error {
	switch v.Space {
	case "reg":
		t, ok := regType(v.Type)
		if !ok || t == tB128 {
			return lw.unsupportedAt(v.Line, fmt.Sprintf("register type .%s", v.Type))
		}
		if len(v.Dims) > 0 {
			return lw.unsupportedAt(v.Line, fmt.Sprintf("register array %s", v.Name))
		}
		if v.Vec > 4 || v.Vec > 0 && t == tPred {
			return lw.unsupportedAt(v.Line, fmt.Sprintf("vector register .v%d .%s", v.Vec, v.Type))
		}
		scope := lw.scopes[len(lw.scopes)-1]
		n := max(v.Range, 1) * max(v.Vec, 1)
		if lw.f.nslots+n > lw.m.maxSlots {
			return registerLimit("", lw.f.name, lw.f.nslots+n, lw.m.maxSlots)
		}
		declare := func(name string) {
			if v.Vec == 0 {
				scope[name] = regInfo{lw.newSlot(name), t}
				return
			}
			for i := 0; i < v.Vec; i++ {
				c := name + "." + vecComponents[i]
				scope[c] = regInfo{lw.newSlot(c), t}
			}
			scope[name] = regInfo{noSlot, t} // the whole vector: see vecRegs
		}
		switch {
		case v.Range > 0 && v.Vec == 0:
			// %r<N>: N registers in a row, looked up by number (lookupReg)
			// rather than N names in the scope.
			base := lw.newSlot(v.Name + "0")
			for i := 1; i < v.Range; i++ {
				lw.newSlot(v.Name + strconv.Itoa(i))
			}
			if lw.ranges[len(lw.ranges)-1] == nil {
				lw.ranges[len(lw.ranges)-1] = map[string]regRange{}
			}
			lw.ranges[len(lw.ranges)-1][v.Name] = regRange{base: base, n: v.Range, typ: t}
		case v.Range > 0:
			for i := 0; i < v.Range; i++ {
				declare(v.Name + strconv.Itoa(i))
			}
		default:
			declare(v.Name)
		}
	case "shared":
		if v.Extern && v.ArrayLen() < 0 {
			lw.vars[len(lw.vars)-1][v.Name] = varInfo{space: spShared, align: 16, rel: relDynShared, decl: v}
			lw.f.dynAlign = max(lw.f.dynAlign, v.Align)
			return nil
		}
		lw.vars[len(lw.vars)-1][v.Name] = place(v, spShared, &lw.f.shared, relShared)
	case "local":
		lw.vars[len(lw.vars)-1][v.Name] = place(v, spLocal, &lw.f.local, relLocal)
	case "param":
		lw.vars[len(lw.vars)-1][v.Name] = place(v, spParamF, &lw.f.paramF, relParamF)
	default:
		return lw.unsupportedAt(v.Line, fmt.Sprintf(".%s variable %s inside a function", v.Space, v.Name))
	}
	return nil
}

func (lw *lowerer) newSlot(name string) int32 {
	s := int32(lw.f.nslots)
	lw.f.nslots++
	lw.f.regNames = append(lw.f.regNames, name)
	return s * 32
}

func (lw *lowerer) constSlot(v uint64) int32 { return lw.relConst(v, relNone) }

func (lw *lowerer) relConst(v uint64, rel reloc) int32 {
	key := slotConst{val: v, rel: rel}
	if s, ok := lw.constOf[key]; ok {
		return s
	}
	if lw.f.nslots >= lw.m.maxSlots {
		// function() reports the limit after this statement; until then
		// reuse slot 0 rather than grow without bound.
		lw.overflow = true
		return 0
	}
	s := lw.newSlot(fmt.Sprintf("#%d", int64(v)))
	key.slot = s
	lw.constOf[slotConst{val: v, rel: rel}] = s
	lw.f.consts = append(lw.f.consts, key)
	return s
}

func (lw *lowerer) specialSlot(k int) int32 {
	if lw.f.specials[k] == noSlot {
		lw.f.specials[k] = lw.newSlot(specialName(k))
	}
	return lw.f.specials[k]
}

// tempSlot is a hidden register for a value the lowering computes, such
// as a register-plus-immediate operand.
func (lw *lowerer) tempSlot() int32 { return lw.newSlot(fmt.Sprintf("%%tmp%d", lw.f.nslots)) }

// regRange is a register range %r<N> of one scope.
type regRange struct {
	base int32 // the slot of %r0
	n    int
	typ  ptype
}

func (lw *lowerer) lookupReg(name string) (regInfo, bool) {
	// A range's member is its prefix and a number in plain decimal.
	prefix, idx := name, -1
	if k := len(name); k > 0 && name[k-1] >= '0' && name[k-1] <= '9' {
		j := k
		for j > 0 && name[j-1] >= '0' && name[j-1] <= '9' {
			j--
		}
		if n, err := strconv.Atoi(name[j:]); err == nil && (name[j] != '0' || j == k-1) {
			prefix, idx = name[:j], n
		}
	}
	for i := len(lw.scopes) - 1; i >= 0; i-- {
		if r, ok := lw.scopes[i][name]; ok {
			return r, true
		}
		if idx >= 0 {
			if rr, ok := lw.ranges[i][prefix]; ok && idx < rr.n {
				return regInfo{rr.base + int32(idx)*32, rr.typ}, true
			}
		}
	}
	// A vector register's component may be named by its color (.r .g .b .a).
	if dot := strings.LastIndexByte(name, '.'); dot > 0 {
		if c, ok := colorComponents[name[dot+1:]]; ok && name[dot+1:] != vecComponents[c] {
			return lw.lookupReg(name[:dot+1] + vecComponents[c])
		}
	}
	return regInfo{}, false
}

// vecRegs gives the component registers of a vector register, or false.
func (lw *lowerer) vecRegs(name string) ([]int32, bool) {
	r, ok := lw.lookupReg(name)
	if !ok || r.slot != noSlot {
		return nil, false
	}
	var out []int32
	for _, c := range vecComponents {
		if cr, ok := lw.lookupReg(name + "." + c); ok {
			out = append(out, cr.slot)
		}
	}
	return out, true
}

func (lw *lowerer) lookupVar(name string) (varInfo, bool) {
	for i := len(lw.vars) - 1; i >= 0; i-- {
		if v, ok := lw.vars[i][name]; ok {
			return v, true
		}
	}
	return varInfo{}, false
}

func (lw *lowerer) emit(o op) int {
	o.loc = lw.curLoc
	o.fast = classifyFast(&o)
	lw.f.ops = append(lw.f.ops, o)
	return len(lw.f.ops) - 1
}

// varConst is the slot of a variable's address plus off.
func (lw *lowerer) varConst(v varInfo, off int64) int32 {
	return lw.relConst(v.addr+uint64(off), v.rel)
}

// regFits checks a register operand's width against the want bytes of the
// instruction's type: exactly, or at least that many where the ISA lets
// the register be wider (ld, st and cvt: §6.4.1, "Operand Size Exceeding
// Instruction-Type Size"). A narrower register would lose bits. Other
// operands (immediates, names that are not registers) pass.
func (lw *lowerer) regFits(in *ptx.Instr, x ptx.Operand, want int, wider bool) error {
	if x.Kind == ptx.OpPair || x.Kind == ptx.OpVec {
		for _, e := range x.Elems {
			if err := lw.regFits(in, e, want, wider); err != nil {
				return err
			}
		}
		return nil
	}
	if x.Kind != ptx.OpName {
		return nil
	}
	r, ok := lw.lookupReg(x.Name)
	if !ok || r.slot == noSlot || r.typ == tPred {
		return nil
	}
	if got := r.typ.size(); got < want || got > want && !wider {
		return lw.unsupported(in, fmt.Sprintf("register %s is .%s (%d bytes); the instruction's type takes %d", x.Name, r.typ, got, want))
	}
	return nil
}

// src resolves a source operand of type t to a slot.
func (lw *lowerer) src(in *ptx.Instr, o ptx.Operand, t ptype) (int32, error) {
	if o.Neg {
		return 0, lw.unsupported(in, "a negated operand (!"+o.Name+") here")
	}
	if o.Minus { // only vmad negates a source, and it clears the flag
		return 0, lw.unsupported(in, "a negated source (-"+o.Name+") here")
	}
	switch o.Kind {
	case ptx.OpIndex: // an array element as a value is its address
		if t.float() || t == tPred || t.size() < 4 {
			return 0, lw.errAt(in.Line, "%s: an element's address is an integer of 32 or 64 bits, not .%s", o.Name, t)
		}
		slot, _, err := lw.elementAddr(in, o)
		return slot, err
	case ptx.OpName:
		_, isReg := lw.lookupReg(o.Name)
		_, isSpecial := specialNames[o.Name]
		if !isReg && !isSpecial {
			if v, ok := lw.lookupVar(o.Name); ok { // a variable's address, plus the offset
				if v.err != nil {
					return 0, lw.withLine(v.err, in)
				}
				return lw.varConst(v, o.Off), nil
			}
		}
		s, err := lw.nameSrc(in, o.Name, t)
		if err != nil || o.Off == 0 {
			return s, err
		}
		if lw.m.fnByName(o.Name) != nil {
			return 0, lw.unsupported(in, "an offset from a function's address")
		}
		// A register plus an immediate: compute it into a hidden register
		// before the instruction.
		if t.float() || t == tPred {
			return 0, lw.errAt(in.Line, "%s%+d: a register plus an immediate must be an integer", o.Name, o.Off)
		}
		at := ptype(kU) | t&0xf
		add := newOp(opAdd, in.Line)
		add.typ = at
		add.a[0], add.a[1] = s, lw.constSlot(uint64(o.Off))
		add.d[0] = lw.tempSlot()
		lw.emit(add)
		return add.d[0], nil
	case ptx.OpImm:
		if t.float() {
			if t == tF32 {
				return lw.constSlot(uint64(math.Float32bits(float32(o.Imm)))), nil
			}
			if t == tF64 {
				return lw.constSlot(math.Float64bits(float64(o.Imm))), nil
			}
		}
		return lw.constSlot(uint64(o.Imm)), nil
	case ptx.OpFloat:
		switch {
		case t == tF32 && o.F32:
			return lw.constSlot(o.Bits()), nil
		case t == tF32:
			return lw.constSlot(uint64(math.Float32bits(float32(o.Float())))), nil
		case t == tF64 && o.HexFloat && o.F32:
			return 0, lw.errAt(in.Line, "a 0f literal (f32 bits) used as .f64")
		case t == tF64:
			return lw.constSlot(math.Float64bits(o.Float())), nil
		case t.kind() == kB && t.size() == 4 && o.F32:
			return lw.constSlot(o.Bits()), nil
		case t.kind() == kB && t.size() == 8 && o.HexFloat && !o.F32:
			return lw.constSlot(o.Bits()), nil
		}
		return 0, lw.errAt(in.Line, "float literal used as .%s", t)
	}
	return 0, lw.errAt(in.Line, "bad source operand for %s", in.Op)
}

// nameSrc resolves a name: a register, a special register, a variable's
// address, or a function's address.
func (lw *lowerer) nameSrc(in *ptx.Instr, name string, t ptype) (int32, error) {
	if r, ok := lw.lookupReg(name); ok {
		if r.slot == noSlot {
			return 0, lw.errAt(in.Line, "vector register %s used where a scalar is needed", name)
		}
		return r.slot, nil
	}
	if k, ok := specialNames[name]; ok {
		return lw.specialSlot(k), nil
	}
	if v, ok := lw.lookupVar(name); ok {
		if v.err != nil {
			return 0, lw.withLine(v.err, in)
		}
		return lw.varConst(v, 0), nil
	}
	if f := lw.m.fnByName(name); f != nil {
		lw.m.addrTaken[f.index] = true
		return lw.constSlot(fnAddr(f.index)), nil
	}
	if _, ok := clockModes.value(name); ok {
		return 0, lw.unsupported(in, name+" as an operand outside mov")
	}
	if strings.HasPrefix(name, "%envreg") || strings.HasPrefix(name, "%pm") || strings.HasPrefix(name, "%cluster") ||
		strings.HasPrefix(name, "%nclusterid") || strings.HasPrefix(name, "%is_explicit_cluster") ||
		strings.HasPrefix(name, "%dynamic_smem_size") || strings.HasPrefix(name, "%total_smem_size") ||
		strings.HasPrefix(name, "%aggr_smem_size") || strings.HasPrefix(name, "%reserved_smem") ||
		strings.HasPrefix(name, "%current_graph_exec") {
		return 0, lw.unsupported(in, "special register "+name)
	}
	return 0, lw.errAt(in.Line, "undefined name %s", name)
}

// withLine gives a module variable's error the line of the instruction
// that uses it.
func (lw *lowerer) withLine(err error, in *ptx.Instr) error {
	if ue, ok := err.(*UnsupportedError); ok {
		c := *ue
		c.Func, c.Line, c.Instr = lw.f.name, in.Line, in.Name()
		return &c
	}
	return err
}

func (lw *lowerer) dst(in *ptx.Instr, o ptx.Operand) (int32, error) {
	switch o.Kind {
	case ptx.OpSink:
		// _ discards the result: it goes to a register nobody reads, so
		// that no instruction has to know it has no destination.
		if !lw.hasSink {
			lw.sink, lw.hasSink = lw.tempSlot(), true
		}
		return lw.sink, nil
	case ptx.OpName:
		if o.Neg || o.Minus || o.Off != 0 {
			return 0, lw.errAt(in.Line, "destination %s is not a register", operandText(o))
		}
		if r, ok := lw.lookupReg(o.Name); ok {
			if r.slot == noSlot {
				return 0, lw.errAt(in.Line, "vector register %s used where a scalar is needed", o.Name)
			}
			return r.slot, nil
		}
		if _, ok := specialNames[o.Name]; ok {
			return 0, lw.errAt(in.Line, "cannot write special register %s", o.Name)
		}
		return 0, lw.errAt(in.Line, "undefined register %s", o.Name)
	}
	return 0, lw.errAt(in.Line, "bad destination operand for %s", in.Op)
}

func operandText(o ptx.Operand) string {
	s := o.Name
	if o.Neg {
		s = "!" + s
	}
	if o.Minus {
		s = "-" + s
	}
	if o.Off != 0 {
		s += fmt.Sprintf("%+d", o.Off)
	}
	return s
}

// Module-level data.

// fnAddr is the address of the function with index i: a generic address
// in a window no memory lives in, so that a load from it faults.
func fnAddr(i int) uint64 { return codeWindow + uint64(i)*16 }

// layoutModuleData assigns addresses to module-scope variables and builds
// the .global and .const images. A variable the emulator cannot provide
// (an .extern without a definition, a texture reference) is kept with an
// error, which an entry meets only when it uses the variable.
func (m *Module) layoutModuleData() error {
	m.modVars = map[string]varInfo{}
	var gsize, csize int
	type pending struct {
		v  *ptx.Var
		vi varInfo
	}
	var all []pending
	defined := map[string]bool{}
	for _, v := range m.ast.Vars {
		if !v.Extern {
			defined[v.Name] = true
		}
	}
	for _, v := range m.ast.Vars {
		if v.Extern && defined[v.Name] {
			continue // a declaration of a variable defined here
		}
		// __managed__ memory is global memory the host also reaches; the
		// emulator's global memory is that already.
		attrsOK := true
		for _, a := range v.Attributes {
			attrsOK = attrsOK && a == "managed"
		}
		switch {
		case !attrsOK:
			m.modVars[v.Name] = varInfo{err: &UnsupportedError{Line: v.Line, What: fmt.Sprintf("variable %s with .attribute(.%s)", v.Name, strings.Join(v.Attributes, ", ."))}}
		case ptx.IsOpaque(v.Type) || v.Space == "tex":
			m.modVars[v.Name] = varInfo{err: &UnsupportedError{Line: v.Line, What: fmt.Sprintf("texture, sampler or surface reference %s", v.Name)}}
		case v.Space == "shared":
			if v.Extern && v.ArrayLen() < 0 {
				// The dynamic shared array: it starts after the static part.
				m.modVars[v.Name] = varInfo{space: spShared, align: 16, rel: relDynShared, decl: v}
				m.dynAlign = max(m.dynAlign, v.Align)
				continue
			}
			m.modVars[v.Name] = place(v, spShared, &m.sharedSize, relNone)
		case v.Extern:
			m.modVars[v.Name] = varInfo{err: &UnsupportedError{Line: v.Line, What: fmt.Sprintf("external .%s variable %s (defined in another module)", v.Space, v.Name)}}
		case v.Space == "global":
			vi := place(v, spGlobal, &gsize, relNone)
			vi.addr += m.globalBase
			m.modVars[v.Name] = vi
			all = append(all, pending{v, vi})
		case v.Space == "const":
			vi := place(v, spConst, &csize, relNone)
			m.modVars[v.Name] = vi
			all = append(all, pending{v, vi})
		default:
			m.modVars[v.Name] = varInfo{err: &UnsupportedError{Line: v.Line, What: fmt.Sprintf(".%s variable %s at module scope", v.Space, v.Name)}}
		}
		if gsize > maxModuleData || csize > maxModuleData || m.sharedSize > maxModuleData {
			return &LimitError{Limit: "module data bytes", Value: int64(max(gsize, csize, m.sharedSize)), Max: maxModuleData}
		}
	}
	m.globalImage = make([]byte, gsize)
	m.constImage = make([]byte, csize)
	for _, pv := range all {
		if err := m.initVar(pv.v, pv.vi); err != nil {
			m.modVars[pv.v.Name] = varInfo{err: err}
		}
	}
	return nil
}

// initVar writes a variable's initialiser into its image.
func (m *Module) initVar(v *ptx.Var, vi varInfo) error {
	img, base := m.globalImage, vi.addr-m.globalBase
	if vi.space == spConst {
		img, base = m.constImage, vi.addr
	}
	es := ptx.TypeSize(v.Type)
	t, _ := regType(v.Type)
	for i, e := range v.Init {
		at := int(base) + i*es
		if at+es > int(base)+vi.size {
			return &SyntaxError{Line: v.Line, Msg: fmt.Sprintf("initialiser of %s has %d elements, more than its %d", v.Name, len(v.Init), vi.size/max(es, 1))}
		}
		var val uint64
		switch e.Kind {
		case ptx.InitSym:
			if tv, ok := m.modVars[e.Sym]; ok && tv.err == nil && tv.rel == relNone && tv.space != spShared {
				val = tv.addr + uint64(e.Int)
				if tv.space == spConst && e.Generic {
					val += constWindow
				}
			} else if f := m.fnByName(e.Sym); f != nil && e.Int == 0 {
				m.addrTaken[f.index] = true
				val = fnAddr(f.index)
			} else {
				return &UnsupportedError{Line: v.Line, What: fmt.Sprintf("initialiser of %s names %s, which is not a .global or .const variable or a function of this module", v.Name, e.Sym)}
			}
			if e.Mask != 0 { // the address's bits under the mask, at bit 0
				val = val & e.Mask >> bits.TrailingZeros64(e.Mask)
			}
		case ptx.InitFloat:
			switch {
			case es == 4 && e.HexFloat && e.F32, es == 8 && e.HexFloat && !e.F32:
				val = uint64(e.Int)
			case t == tF32:
				val = uint64(math.Float32bits(float32(e.Float())))
			case t == tF64:
				val = math.Float64bits(e.Float())
			default:
				return &UnsupportedError{Line: v.Line, What: fmt.Sprintf("float initialiser of .%s variable %s", v.Type, v.Name)}
			}
		case ptx.InitInt:
			val = uint64(e.Int)
			if t == tF32 {
				val = uint64(math.Float32bits(float32(e.Int)))
			} else if t == tF64 {
				val = math.Float64bits(float64(e.Int))
			}
		}
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], val)
		if es > 8 {
			return &UnsupportedError{Line: v.Line, What: fmt.Sprintf("initialiser of .%s variable %s", v.Type, v.Name)}
		}
		copy(img[at:at+es], buf[:es])
	}
	return nil
}

const maxModuleData = 64 << 20

// registerLimit is the error of a function (fn) or a kernel with the
// functions it calls (kernel) that needs more register slots than the
// module's LoadLimits.Registers. Its hint says what is counted, since a
// CUDA programmer reads "registers" as the hardware's (at most 255 a
// thread), and how to raise the limit.
func registerLimit(kernel, fn string, n, max int) *LimitError {
	what := "PTX virtual registers and constants of the kernel and the functions it calls"
	if fn != "" {
		what = "PTX virtual registers and constants in function " + fn
	}
	return &LimitError{Kernel: kernel, Limit: what, Value: int64(n), Max: int64(max),
		Hint: fmt.Sprintf("these are the registers the PTX declares with .reg (%%r, %%rd, %%f, ...; .reg .b32 %%r<40> is 40) and the constants the emulator keeps beside them, not the hardware registers ptxas allocates; raise the limit with cpuemu.LoadLimits.Registers (cpuemu.LoadWithLimits), gpu.EmuOptions.MaxRegisters or gpubuf's --max-registers, at most %d", MaxRegisters)}
}

// smOf reads the sm_NN of a .target list ("sm_90a" counts as 90), 0 when
// there is none.
func smOf(targets []string) int { return ptx.TargetSM(targets) }

// versionOf reads .version M.N as 10*M + N, 0 when absent or odd.
func versionOf(v string) int {
	maj, min, ok := strings.Cut(v, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil || b > 9 {
		return 0
	}
	return 10*a + b
}

// require refuses a form that needs a newer target or PTX version than
// the module declares (ptxas refuses it too); a module without .target or
// .version is not checked.
func (lw *lowerer) require(in *ptx.Instr, sm, version int, what string) error {
	if s := lw.m.sm; sm > 0 && s > 0 && s < sm {
		return lw.unsupported(in, fmt.Sprintf("%s requires sm_%d; the module targets sm_%d", what, sm, s))
	}
	if v := lw.m.ptxVersion; version > 0 && v > 0 && v < version {
		return lw.unsupported(in, fmt.Sprintf("%s requires PTX ISA %d.%d; the module is %d.%d", what, version/10, version%10, v/10, v%10))
	}
	return nil
}
