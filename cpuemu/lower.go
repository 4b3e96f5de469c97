package cpuemu

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// UnsupportedError is an instruction, directive or construct the emulator
// does not implement. Load reports it; execution never meets one.
type UnsupportedError struct {
	Line  int    // PTX line
	Instr string // the opcode with its modifiers, e.g. "tex.2d.v4.f32.f32"
	What  string // what is unsupported
}

func (e *UnsupportedError) Error() string {
	if e.Instr == "" {
		return fmt.Sprintf("ptx line %d: unsupported: %s", e.Line, e.What)
	}
	return fmt.Sprintf("ptx line %d: unsupported instruction %s: %s", e.Line, e.Instr, e.What)
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
	spcCarry // hidden: the carry flag of add.cc/addc
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
}

// Clock-like special registers are read by opClock: sub selects which.
var clockNames = map[string]uint8{"%clock": 0, "%clock64": 1, "%globaltimer": 2, "%globaltimer_lo": 3, "%globaltimer_hi": 4}

// program is one entry lowered together with the functions it calls.
type program struct {
	name       string
	ops        []op
	nslots     int
	consts     []slotConst // slots filled with a constant
	specials   [spcCount]int32
	params     []Param
	paramSize  int
	sharedSize int // static shared bytes
	sharedDyn  int // offset of the dynamic (extern) shared array
	localSize  int // per-lane local bytes
	paramFSize int // per-lane function-parameter bytes
	calls      []callSite
	funcStart  map[string]int
	funcName   []string // per op: owning function
	regNames   []string // per slot, for dumps
}

type slotConst struct {
	slot int32
	val  uint64
}

// varInfo is where a named variable lives.
type varInfo struct {
	space space
	addr  uint64 // address in its space (global: absolute)
	size  int
	align int
}

type regInfo struct {
	slot int32
	typ  ptype
}

type lowerer struct {
	m        *Module
	p        *program
	scopes   []map[string]regInfo
	vars     []map[string]varInfo // innermost last; [0] = module scope for this program
	constOf  map[uint64]int32
	labels   map[string]int
	fixups   []fixup
	curFunc  *funcDecl
	curLoc   int32
	paramF   int
	local    int
	shared   int
	funcs    map[string]*funcDecl
	lowered  map[string]bool
	queue    []*funcDecl
	callers  map[string][]callEdge
	fparams  map[string]map[string]varInfo
	overflow bool
}

type fixup struct {
	op    int
	label string
	line  int
	fn    string
}

// lowerEntry lowers one entry and every function it reaches.
func (m *Module) lowerEntry(f *funcDecl) (*program, error) {
	lw := &lowerer{
		m:       m,
		p:       &program{name: f.name, funcStart: map[string]int{}},
		constOf: map[uint64]int32{},
		funcs:   map[string]*funcDecl{},
		lowered: map[string]bool{},
	}
	for i := range lw.p.specials {
		lw.p.specials[i] = noSlot
	}
	for _, fn := range m.ast.funcs {
		if _, dup := lw.funcs[fn.name]; dup && fn.body == nil {
			continue
		}
		lw.funcs[fn.name] = fn
	}
	// Module-scope variables: globals and consts have fixed addresses per
	// module; shared variables are laid out per program.
	mod := map[string]varInfo{}
	for name, v := range m.globals {
		mod[name] = v
	}
	for _, v := range m.ast.vars {
		switch {
		case v.space != "shared":
		case v.extern && v.arrayLen < 0:
			// The dynamic shared array: it starts after the static part,
			// known only when the whole program is lowered (resolve).
			mod[v.name] = varInfo{space: spShared, addr: ^uint64(0), align: 16}
		default:
			mod[v.name] = lw.allocShared(v)
		}
	}
	lw.vars = []map[string]varInfo{mod}
	if err := lw.function(f); err != nil {
		return nil, err
	}
	for len(lw.queue) > 0 {
		fn := lw.queue[0]
		lw.queue = lw.queue[1:]
		if err := lw.function(fn); err != nil {
			return nil, err
		}
	}
	// Dynamic shared memory follows the static part, aligned generously.
	lw.p.sharedSize = lw.shared
	lw.p.sharedDyn = alignUp(lw.shared, 16)
	if err := lw.resolve(); err != nil {
		return nil, err
	}
	lw.p.localSize = alignUp(lw.local, 8)
	lw.p.paramFSize = alignUp(lw.paramF, 8)
	if lw.overflow {
		return nil, &LimitError{Limit: "registers and constants in a kernel", Value: maxSlots + 1, Max: maxSlots}
	}
	if err := lw.checkRecursion(f.name); err != nil {
		return nil, err
	}
	return lw.p, nil
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
func place(v *varDecl, sp space, top *int) varInfo {
	al := v.align
	if al == 0 {
		al = max(typeSize(v.typ), 1)
	}
	*top = alignUp(*top, al)
	vi := varInfo{space: sp, addr: uint64(*top), size: declSize(v), align: al}
	*top += vi.size
	return vi
}

func (lw *lowerer) allocShared(v *varDecl) varInfo { return place(v, spShared, &lw.shared) }

func declSize(v *varDecl) int {
	n := typeSize(v.typ)
	if v.vec > 0 {
		n *= v.vec
	}
	if v.arrayLen > 0 {
		n *= v.arrayLen
	}
	return n
}

func (lw *lowerer) errAt(line int, format string, args ...any) error {
	return &SyntaxError{line, fmt.Sprintf(format, args...)}
}

func (lw *lowerer) unsupported(in *instr, what string) error {
	name := in.op
	if len(in.mods) > 0 {
		name += "." + strings.Join(in.mods, ".")
	}
	return &UnsupportedError{Line: in.line, Instr: name, What: what}
}

func (lw *lowerer) function(f *funcDecl) error {
	if lw.lowered[f.name] {
		return nil
	}
	lw.lowered[f.name] = true
	if f.body == nil {
		return &UnsupportedError{Line: f.line, What: fmt.Sprintf("call to external function %s (no body in this module)", f.name)}
	}
	lw.curFunc = f
	lw.curLoc = -1
	lw.p.funcStart[f.name] = len(lw.p.ops)
	lw.labels = map[string]int{}
	fixStart := len(lw.fixups)
	lw.scopes = []map[string]regInfo{{}}
	fv := map[string]varInfo{}
	lw.vars = append(lw.vars[:1], fv)
	if f.entry {
		off := 0
		for i, pd := range f.params {
			al := pd.align
			if al == 0 {
				// A vector is aligned to its whole size (PTX ISA §5.4.5).
				al = typeSize(pd.typ) * max(pd.vec, 1)
			}
			size := declSize(pd)
			off = alignUp(off, al)
			fv[pd.name] = varInfo{space: spParam, addr: uint64(off), size: size, align: al}
			lw.p.params = append(lw.p.params, Param{Index: i, Name: pd.name, Type: pd.typ, Size: size, Align: al, Offset: off})
			off += size
		}
		lw.p.paramSize = off
	} else {
		for _, pd := range append(append([]*varDecl{}, f.params...), f.rets...) {
			if pd.space == "reg" { // .func (.reg .b32 x) f: registers as params
				return &UnsupportedError{Line: pd.line, What: fmt.Sprintf("function %s takes .reg parameters", f.name)}
			}
		}
		for name, vi := range lw.calleeParams(f) {
			fv[name] = vi
		}
	}
	for i := range f.body {
		s := &f.body[i]
		switch s.kind {
		case stmtOpen:
			lw.scopes = append(lw.scopes, map[string]regInfo{})
			lw.vars = append(lw.vars, map[string]varInfo{})
		case stmtClose:
			if len(lw.scopes) > 1 {
				lw.scopes = lw.scopes[:len(lw.scopes)-1]
				lw.vars = lw.vars[:len(lw.vars)-1]
			}
		case stmtLabel:
			if _, dup := lw.labels[s.label]; dup {
				return lw.errAt(s.line, "label %s defined twice", s.label)
			}
			lw.labels[s.label] = len(lw.p.ops)
		case stmtLoc:
			lw.curLoc = lw.m.addLoc(s.loc)
		case stmtDecl:
			if err := lw.decl(s.decl); err != nil {
				return err
			}
		case stmtInstr:
			if err := lw.instr(s.instr); err != nil {
				return err
			}
		}
	}
	// Falling off the end of a function returns; an entry's return exits.
	end := newOp(opRet, f.line)
	if f.entry {
		end.code = opExit
	}
	lw.emit(end)
	for i := fixStart; i < len(lw.fixups); i++ {
		fx := lw.fixups[i]
		if fx.fn != "" {
			continue
		}
		t, ok := lw.labels[fx.label]
		if !ok {
			return lw.errAt(fx.line, "branch to undefined label %s", fx.label)
		}
		lw.p.ops[fx.op].target = int32(t)
	}
	return nil
}

func (lw *lowerer) allocParamF(v *varDecl) varInfo { return place(v, spParamF, &lw.paramF) }

func (lw *lowerer) decl(v *varDecl) error {
	switch v.space {
	case "reg":
		t, ok := typeNames[v.typ]
		if !ok {
			return &UnsupportedError{Line: v.line, What: fmt.Sprintf("register type .%s", v.typ)}
		}
		if v.vec > 0 {
			return &UnsupportedError{Line: v.line, What: "vector registers"}
		}
		scope := lw.scopes[len(lw.scopes)-1]
		if lw.p.nslots+v.rangeN > maxSlots {
			return &LimitError{Limit: "registers in a kernel", Value: int64(lw.p.nslots + v.rangeN), Max: maxSlots}
		}
		if v.rangeN > 0 {
			for i := 0; i < v.rangeN; i++ {
				scope[fmt.Sprintf("%s%d", v.name, i)] = regInfo{lw.newSlot(fmt.Sprintf("%s%d", v.name, i)), t}
			}
		} else {
			scope[v.name] = regInfo{lw.newSlot(v.name), t}
		}
	case "shared":
		if v.extern && v.arrayLen < 0 {
			lw.vars[len(lw.vars)-1][v.name] = varInfo{space: spShared, addr: ^uint64(0), align: 16}
			return nil
		}
		lw.vars[len(lw.vars)-1][v.name] = lw.allocShared(v)
	case "local":
		lw.vars[len(lw.vars)-1][v.name] = place(v, spLocal, &lw.local)
	case "param":
		lw.vars[len(lw.vars)-1][v.name] = lw.allocParamF(v)
	default:
		return &UnsupportedError{Line: v.line, What: fmt.Sprintf(".%s variable inside a function", v.space)}
	}
	return nil
}

func (lw *lowerer) newSlot(name string) int32 {
	s := int32(lw.p.nslots)
	lw.p.nslots++
	lw.p.regNames = append(lw.p.regNames, name)
	return s * 32
}

func (lw *lowerer) constSlot(v uint64) int32 {
	if s, ok := lw.constOf[v]; ok {
		return s
	}
	if lw.p.nslots >= maxSlots {
		// Lowering reports the limit at the next declaration; until then
		// reuse slot 0 rather than grow without bound.
		lw.overflow = true
		return 0
	}
	s := lw.newSlot(fmt.Sprintf("#%d", int64(v)))
	lw.constOf[v] = s
	lw.p.consts = append(lw.p.consts, slotConst{s, v})
	return s
}

func (lw *lowerer) specialSlot(k int) int32 {
	if lw.p.specials[k] == noSlot {
		name := "%carry"
		for n, v := range specialNames {
			if v == k {
				name = n
			}
		}
		lw.p.specials[k] = lw.newSlot(name)
	}
	return lw.p.specials[k]
}

func (lw *lowerer) lookupReg(name string) (regInfo, bool) {
	for i := len(lw.scopes) - 1; i >= 0; i-- {
		if r, ok := lw.scopes[i][name]; ok {
			return r, true
		}
	}
	return regInfo{}, false
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
	lw.p.ops = append(lw.p.ops, o)
	lw.p.funcName = append(lw.p.funcName, lw.curFunc.name)
	return len(lw.p.ops) - 1
}

// src resolves a source operand of type t to a slot.
func (lw *lowerer) src(in *instr, o operand, t ptype) (int32, error) {
	switch o.kind {
	case oReg, oSym:
		if r, ok := lw.lookupReg(o.name); ok {
			return r.slot, nil
		}
		if k, ok := specialNames[o.name]; ok {
			return lw.specialSlot(k), nil
		}
		if v, ok := lw.lookupVar(o.name); ok {
			if v.addr == ^uint64(0) {
				return lw.constSlot(dynSharedSentinel + uint64(o.symOff)), nil
			}
			return lw.constSlot(v.addr + uint64(o.symOff)), nil
		}
		if _, ok := clockNames[o.name]; ok {
			return 0, lw.unsupported(in, o.name+" as an operand outside mov")
		}
		return 0, lw.errAt(in.line, "undefined name %s", o.name)
	case oImm:
		if t.float() {
			if t == tF32 {
				return lw.constSlot(uint64(math.Float32bits(float32(o.i)))), nil
			}
			return lw.constSlot(math.Float64bits(float64(o.i))), nil
		}
		return lw.constSlot(uint64(o.i)), nil
	case oFloat:
		switch {
		case t == tF32 && o.f32:
			return lw.constSlot(o.fbits), nil
		case t == tF32:
			return lw.constSlot(uint64(math.Float32bits(float32(o.f)))), nil
		case t == tF64:
			return lw.constSlot(math.Float64bits(o.f)), nil
		case t.size() == 4 && o.f32:
			return lw.constSlot(o.fbits), nil
		case t.size() == 8 && !o.f32:
			return lw.constSlot(o.fbits), nil
		}
		return 0, lw.errAt(in.line, "float literal used as .%s", t)
	}
	return 0, lw.errAt(in.line, "bad source operand for %s", in.op)
}

// The extern (dynamic) shared array's offset is known only once the whole
// program's static shared size is; references use a sentinel constant that
// resolve rewrites.
const dynSharedSentinel = 0x5eed_d15c_0000

func (lw *lowerer) dst(in *instr, o operand) (int32, error) {
	switch o.kind {
	case oSink:
		return noSlot, nil
	case oReg, oSym:
		if r, ok := lw.lookupReg(o.name); ok {
			return r.slot, nil
		}
		if _, ok := specialNames[o.name]; ok {
			return 0, lw.errAt(in.line, "cannot write special register %s", o.name)
		}
		return 0, lw.errAt(in.line, "undefined register %s", o.name)
	}
	return 0, lw.errAt(in.line, "bad destination operand for %s", in.op)
}

// resolve patches the dynamic shared sentinel constant.
func (lw *lowerer) resolve() error {
	for i := range lw.p.consts {
		if v := lw.p.consts[i].val; v >= dynSharedSentinel && v < dynSharedSentinel+1<<24 {
			lw.p.consts[i].val = v - dynSharedSentinel + uint64(lw.p.sharedDyn)
		}
	}
	for _, fx := range lw.fixups {
		if fx.fn == "" {
			continue
		}
		start, ok := lw.p.funcStart[fx.fn]
		if !ok {
			return lw.errAt(fx.line, "call to undefined function %s", fx.fn)
		}
		lw.p.ops[fx.op].target = int32(start)
	}
	return nil
}

// callEdge is a call from one function to another, at a PTX line.
type callEdge struct {
	callee string
	line   int
}

// checkRecursion rejects call cycles: each function's registers and
// parameters live at fixed places, which recursion would overwrite.
func (lw *lowerer) checkRecursion(entry string) error {
	state := map[string]int{}
	var visit func(f string, path []string) error
	visit = func(f string, path []string) error {
		state[f] = 1
		for _, e := range lw.callers[f] {
			switch state[e.callee] {
			case 1:
				return &UnsupportedError{Line: e.line, Instr: "call", What: "recursive call " + strings.Join(append(path, f, e.callee), " -> ")}
			case 0:
				if err := visit(e.callee, append(path, f)); err != nil {
					return err
				}
			}
		}
		state[f] = 2
		return nil
	}
	return visit(entry, nil)
}

// Module-level data.

// layoutModuleData assigns addresses to module-scope .global and .const
// variables and builds their initial images.
func (m *Module) layoutModuleData() error {
	m.globals = map[string]varInfo{}
	var gsize, csize int
	type pending struct {
		v  *varDecl
		vi varInfo
	}
	var all []pending
	for _, v := range m.ast.vars {
		if v.extern && v.space != "shared" {
			return &UnsupportedError{Line: v.line, What: fmt.Sprintf("external .%s variable %s", v.space, v.name)}
		}
		switch v.space {
		case "global":
			vi := place(v, spGlobal, &gsize)
			vi.addr += m.globalBase
			m.globals[v.name] = vi
			all = append(all, pending{v, vi})
		case "const":
			vi := place(v, spConst, &csize)
			m.globals[v.name] = vi
			all = append(all, pending{v, vi})
		}
	}
	if gsize > maxModuleData || csize > maxModuleData {
		return &LimitError{Limit: "module data bytes", Value: int64(max(gsize, csize)), Max: maxModuleData}
	}
	m.globalImage = make([]byte, gsize)
	m.constImage = make([]byte, csize)
	for _, pv := range all {
		img := m.globalImage
		base := pv.vi.addr - m.globalBase
		if pv.vi.space == spConst {
			img, base = m.constImage, pv.vi.addr
		}
		es := typeSize(pv.v.typ)
		t := typeNames[pv.v.typ]
		for i, e := range pv.v.init {
			at := int(base) + i*es
			if at+es > int(base)+pv.vi.size {
				return &SyntaxError{pv.v.line, fmt.Sprintf("initialiser of %s has too many elements", pv.v.name)}
			}
			var val uint64
			switch {
			case e.sym != "":
				tv, ok := m.globals[e.sym]
				if !ok {
					return &SyntaxError{pv.v.line, fmt.Sprintf("initialiser names unknown variable %s", e.sym)}
				}
				val = tv.addr
				if tv.space == spConst && e.generic {
					val += constWindow
				}
			case e.isFloat && t == tF32:
				val = uint64(math.Float32bits(float32(e.f)))
			case e.isFloat:
				val = math.Float64bits(e.f)
			default:
				val = uint64(e.i)
			}
			var buf [8]byte
			binary.LittleEndian.PutUint64(buf[:], val)
			copy(img[at:at+es], buf[:es])
		}
	}
	return nil
}

const maxModuleData = 64 << 20

// maxSlots bounds the register slots of one kernel (registers, constants
// and special registers), which keeps a warp's register file at most
// maxSlots*256 bytes.
const maxSlots = 1 << 15
