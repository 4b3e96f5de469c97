package cpuemu

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gpubuf/gpubuf/internal/ptx"
)

// modSet holds an instruction's modifiers while lowering consumes them; any
// left over at the end make the instruction unsupported, so nothing is
// silently ignored.
type modSet struct {
	types      []ptype
	typesTaken bool // the lowering read the types
	other      []string
	used       []bool
}

// typeList hands the instruction's types to its lowering.
func (ms *modSet) typeList() []ptype {
	ms.typesTaken = true
	return ms.types
}

func newModSet(in *ptx.Instr) (*modSet, error) {
	ms := &modSet{}
	for _, m := range in.Mods {
		if t, ok := typeNames[m]; ok {
			ms.types = append(ms.types, t)
			continue
		}
		if ptx.TypeSize(m) != 0 { // f16x2, bf16, tf32, ...
			return nil, &UnsupportedError{Line: in.Line, Instr: in.Op + "." + strings.Join(in.Mods, "."), What: "type ." + m}
		}
		ms.other = append(ms.other, m)
	}
	ms.used = make([]bool, len(ms.other))
	return ms, nil
}

// take consumes modifier m if present.
func (ms *modSet) take(m string) bool {
	for i, o := range ms.other {
		if o == m && !ms.used[i] {
			ms.used[i] = true
			return true
		}
	}
	return false
}

// has reports whether modifier m is present, without consuming it.
func (ms *modSet) has(m string) bool {
	for i, o := range ms.other {
		if o == m && !ms.used[i] {
			return true
		}
	}
	return false
}

// takeOne consumes the first present modifier of the list, returning its index or -1.
func (ms *modSet) takeOne(list ...string) int {
	for i, o := range ms.other {
		if ms.used[i] {
			continue
		}
		for j, m := range list {
			if o == m {
				ms.used[i] = true
				return j
			}
		}
	}
	return -1
}

// takeMode consumes the first modifier that names a value of t (other
// than its quiet one, which PTX writes no modifier for) and returns the
// value, or -1.
func (ms *modSet) takeMode(t *modeTable) int {
	for i, o := range ms.other {
		if ms.used[i] {
			continue
		}
		for v, n := range t.names {
			if o == n && v != t.quiet {
				ms.used[i] = true
				return v
			}
		}
	}
	return -1
}

func (ms *modSet) leftover() []string {
	var out []string
	for i, o := range ms.other {
		if !ms.used[i] {
			out = append(out, "."+o)
		}
	}
	return out
}

func (ms *modSet) rounding() rounding {
	r := ms.takeMode(&roundingModes)
	if r < 0 {
		return rndNone
	}
	return rounding(r)
}

// clampWrap consumes the mode of shf, bmsk, szext, vshl and vshr, .clamp
// or .wrap; ok is false when neither is there.
func (ms *modSet) clampWrap() (m clampMode, ok bool) {
	c := ms.takeMode(&clampModes)
	return clampMode(max(c, 0)), c >= 0
}

func (ms *modSet) scope() uint8 {
	switch ms.takeOne("cta", "cluster", "gpu", "sys") {
	case 0:
		return scopeCTA
	case 1:
		return scopeCluster
	case 2:
		return scopeGPU
	case 3:
		return scopeSys
	}
	return scopeNone
}

func (ms *modSet) stateSpace() (space, bool) {
	switch ms.takeOne("global", "shared", "local", "param", "const") {
	case 0:
		return spGlobal, true
	case 1:
		return spShared, true
	case 2:
		return spLocal, true
	case 3:
		return spParam, true
	case 4:
		return spConst, true
	}
	if ms.take("shared::cta") {
		return spShared, true
	}
	return spGeneric, false
}

var cacheOps = []string{"ca", "cg", "cs", "lu", "cv", "wb", "wt",
	"L1::evict_normal", "L1::evict_unchanged", "L1::evict_first", "L1::evict_last", "L1::no_allocate",
	"L2::evict_normal", "L2::evict_first", "L2::evict_last", "L2::64B", "L2::128B", "L2::256B", "L2::cache_hint"}

func (lw *lowerer) instr(in *ptx.Instr) error {
	ms, err := newModSet(in)
	if err != nil {
		return err
	}
	for _, t := range ms.types {
		if t.narrow() && !halfOps[in.Op] {
			return lw.unsupported(in, "type ."+t.String()+" on "+in.Op)
		}
	}
	o := newOp(opNop, in.Line)
	if in.Guard != "" {
		r, ok := lw.lookupReg(in.Guard)
		if !ok || r.typ != tPred {
			return lw.errAt(in.Line, "guard %s is not a predicate register", in.Guard)
		}
		o.guard = r.slot
		if in.GuardNeg {
			o.flags |= fGuardNeg
		}
	}
	if err := lw.lowerOp(in, ms, &o); err != nil {
		return err
	}
	if left := ms.leftover(); len(left) > 0 {
		return lw.unsupported(in, "modifier "+strings.Join(left, " "))
	}
	if len(ms.types) > 0 && !ms.typesTaken {
		return lw.unsupported(in, "a type on an instruction that takes none")
	}
	return nil
}

func (lw *lowerer) nargs(in *ptx.Instr, n ...int) error {
	for _, k := range n {
		if len(in.Args) == k {
			return nil
		}
	}
	return lw.errAt(in.Line, "%s takes %v operands, found %d", in.Op, n, len(in.Args))
}

func (lw *lowerer) oneType(in *ptx.Instr, ms *modSet) (ptype, error) {
	ts := ms.typeList()
	if len(ts) != 1 {
		return 0, lw.errAt(in.Line, "%s needs exactly one type, found %d", in.Op, len(ts))
	}
	return ts[0], nil
}

// srcs lowers operands args[from:] as sources of type t into o.a.
func (lw *lowerer) srcs(in *ptx.Instr, o *op, t ptype, from int) error {
	for i := from; i < len(in.Args); i++ {
		s, err := lw.src(in, in.Args[i], t)
		if err != nil {
			return err
		}
		o.a[i-from] = s
	}
	return nil
}

func (lw *lowerer) lowerOp(in *ptx.Instr, ms *modSet, o *op) error {
	if len(ms.types) == 1 && ms.types[0].narrow() {
		switch in.Op {
		case "add", "sub", "mul", "fma", "neg", "abs", "min", "max", "ex2", "tanh":
			return lw.lowerHalf(in, ms, o)
		}
	}
	switch in.Op {
	case "mov":
		return lw.lowerMov(in, ms, o)
	case "add", "sub", "mul", "mad", "fma", "div", "rem", "min", "max", "mul24", "mad24", "addc", "subc", "sad":
		return lw.lowerArith(in, ms, o)
	case "madc":
		return lw.lowerMadCC(in, ms, o)
	case "dp4a", "dp2a":
		return lw.lowerDot(in, ms, o)
	case "bmsk", "szext":
		return lw.lowerMask(in, ms, o)
	case "abs", "neg", "not", "cnot", "popc", "clz", "brev":
		return lw.lowerUnary(in, ms, o)
	case "and", "or", "xor":
		t, err := lw.oneType(in, ms)
		if err != nil {
			return err
		}
		if t.float() || t.signed() || t.kind() == kU {
			return lw.unsupported(in, "logic ops take .b or .pred types")
		}
		o.code = map[string]opcode{"and": opAnd, "or": opOr, "xor": opXor}[in.Op]
		o.typ = t
		return lw.binary(in, o, t)
	case "shl", "shr":
		t, err := lw.oneType(in, ms)
		if err != nil {
			return err
		}
		if t.float() || t == tPred {
			return lw.unsupported(in, "shifts take integer types")
		}
		o.code, o.typ = opShl, t
		if in.Op == "shr" {
			o.code = opShr
		}
		return lw.typedOps(in, o, t, tU32) // the amount is always .u32
	case "shf":
		dir := ms.takeMode(&shfDirModes)
		if dir < 0 {
			return lw.unsupported(in, "shf needs .l or .r")
		}
		clamp, ok := ms.clampWrap()
		if !ok {
			return lw.unsupported(in, "shf needs .clamp or .wrap")
		}
		o.setShf(shfDir(dir), clamp)
		if t, err := lw.oneType(in, ms); err != nil || t != tB32 {
			return lw.unsupported(in, "shf works on .b32")
		}
		o.typ = tB32
		return lw.dstSrcs(in, o, tU32, 4)
	case "lop3":
		t, err := lw.oneType(in, ms)
		if err != nil || t != tB32 {
			return lw.unsupported(in, "lop3 works on .b32")
		}
		if err := lw.nargs(in, 5); err != nil {
			return err
		}
		if in.Args[4].Kind != ptx.OpImm || in.Args[4].Imm < 0 || in.Args[4].Imm > 255 {
			return lw.errAt(in.Line, "lop3 needs an immediate lookup table from 0 to 255")
		}
		o.setLop3(uint8(in.Args[4].Imm))
		o.typ = t
		in2 := *in
		in2.Args = in.Args[:4]
		return lw.dstSrcs(&in2, o, tU32, 4)
	case "bfe", "bfi", "bfind", "prmt":
		return lw.lowerBits(in, ms, o)
	case "vadd", "vsub", "vabsdiff", "vmin", "vmax", "vshl", "vshr", "vmad", "vset":
		return lw.lowerVideo(in, ms, o)
	case "setp", "set":
		return lw.lowerSetp(in, ms, o)
	case "selp":
		t, err := lw.oneType(in, ms)
		if err != nil {
			return err
		}
		o.code, o.typ = opSelp, t
		return lw.typedOps(in, o, t, t, tPred)
	case "slct":
		ts := ms.typeList()
		if len(ts) != 2 {
			return lw.errAt(in.Line, "slct needs two types")
		}
		o.code, o.typ, o.typ2 = opSlct, ts[0], ts[1]
		if o.typ2 != tS32 && o.typ2 != tF32 {
			return lw.unsupported(in, "slct compares .s32 or .f32")
		}
		if ms.take("ftz") {
			o.flags |= fFtz
		}
		return lw.typedOps(in, o, o.typ, o.typ, o.typ2)
	case "cvt":
		return lw.lowerCvt(in, ms, o)
	case "cvta", "isspacep":
		return lw.lowerCvta(in, ms, o)
	case "rcp", "sqrt", "rsqrt", "sin", "cos", "lg2", "ex2", "tanh":
		return lw.lowerFloat1(in, ms, o)
	case "copysign":
		t, err := lw.oneType(in, ms)
		if err != nil || !t.float() {
			return lw.unsupported(in, "copysign takes .f32 or .f64")
		}
		o.code, o.typ = opCopysign, t
		return lw.dstSrcs(in, o, t, 3)
	case "testp":
		k := ms.takeMode(&testpModes)
		t, err := lw.oneType(in, ms)
		if k < 0 || err != nil || !t.float() {
			return lw.unsupported(in, "testp needs a test and .f32 or .f64")
		}
		o.setTestp(testpMode(k))
		o.typ = t
		return lw.dstSrcs(in, o, t, 2)
	case "ld", "ldu", "st":
		return lw.lowerLdSt(in, ms, o)
	case "atom", "red":
		return lw.lowerAtom(in, ms, o)
	case "mbarrier":
		return lw.lowerMbarrier(in, ms, o)
	case "cp":
		return lw.lowerCp(in, ms, o)
	case "elect":
		return lw.lowerElect(in, ms, o)
	case "fence", "membar":
		if in.Op == "fence" && (ms.has("proxy") || ms.has("mbarrier_init")) {
			return lw.lowerFenceSpecial(in, ms, o)
		}
		o.code = opFence
		o.sem = semAcqRel
		if in.Op == "membar" {
			o.sem = semSC
			switch ms.takeOne("cta", "gl", "sys") {
			case 0:
				o.scope = scopeCTA
			case 1:
				o.scope = scopeGPU
			case 2:
				o.scope = scopeSys
			default:
				return lw.unsupported(in, "membar needs .cta, .gl or .sys")
			}
		} else {
			if ms.take("sc") {
				o.sem = semSC
			} else {
				ms.take("acq_rel")
			}
			o.scope = ms.scope()
			if o.scope == scopeNone {
				return lw.unsupported(in, "fence needs a scope")
			}
		}
		if len(in.Args) != 0 || len(ms.types) != 0 {
			return lw.unsupported(in, "fence operands")
		}
		lw.emit(*o)
		return nil
	case "bra":
		if ms.take("uni") {
			o.flags |= fUni
		}
		if err := lw.nargs(in, 1); err != nil {
			return err
		}
		if in.Args[0].Kind != ptx.OpName {
			return lw.unsupported(in, "indirect branch")
		}
		o.code = opBra
		i := lw.emit(*o)
		lw.fixups = append(lw.fixups, fixup{op: i, label: in.Args[0].Name, line: in.Line})
		return nil
	case "brx":
		return lw.lowerBrx(in, ms, o)
	case "call":
		return lw.lowerCall(in, ms, o)
	case "ret":
		ms.take("uni")
		o.code = opRet
		if lw.f.decl.Entry {
			o.code = opExit
		}
		lw.emit(*o)
		return nil
	case "exit", "trap", "brkpt":
		o.code = map[string]opcode{"exit": opExit, "trap": opTrap, "brkpt": opBrkpt}[in.Op]
		lw.emit(*o)
		return nil
	case "nanosleep":
		o.code = opNanosleep
		if _, err := lw.oneType(in, ms); err != nil {
			return err
		}
		return lw.srcsOnly(in, o, tU32, 1)
	case "prefetch", "prefetchu", "pmevent":
		// Hints with no architectural effect on results; their operand is
		// still checked.
		for ms.takeOne(append(append([]string{}, cacheOps...), "global", "local", "L1", "L2", "tensormap", "L2::evict_last", "L2::evict_normal", "mask")...) >= 0 {
		}
		if err := lw.nargs(in, 1); err != nil {
			return err
		}
		if in.Op == "pmevent" {
			if in.Args[0].Kind != ptx.OpImm {
				return lw.errAt(in.Line, "pmevent takes an immediate")
			}
		} else {
			if !isAddress(in.Args[0]) {
				return lw.errAt(in.Line, "%s needs an [address] operand", in.Op)
			}
			scratch := newOp(opNop, in.Line)
			if err := lw.address(in, &scratch, in.Args[0]); err != nil {
				return err
			}
		}
		o.code = opNop
		lw.emit(*o)
		return nil
	case "activemask":
		if _, err := lw.oneType(in, ms); err != nil {
			return err
		}
		o.code = opActivemask
		if err := lw.nargs(in, 1); err != nil {
			return err
		}
		var err error
		o.d[0], err = lw.dst(in, in.Args[0])
		if err != nil {
			return err
		}
		lw.emit(*o)
		return nil
	case "bar", "barrier":
		return lw.lowerBar(in, ms, o)
	case "shfl", "vote", "match", "redux":
		return lw.lowerWarp(in, ms, o)
	}
	return lw.unsupported(in, "unknown opcode")
}

// negPred lowers a predicate source that may be negated (!p): the op's
// fNegC flag says so.
func (lw *lowerer) negPred(in *ptx.Instr, o *op, c ptx.Operand) (int32, error) {
	if c.Neg {
		o.flags |= fNegC
		c.Neg = false
	}
	return lw.src(in, c, tPred)
}

// typedOps lowers "op d, a, b, ..." where source i has type types[i].
func (lw *lowerer) typedOps(in *ptx.Instr, o *op, types ...ptype) error {
	if err := lw.nargs(in, len(types)+1); err != nil {
		return err
	}
	var err error
	if o.d[0], err = lw.dst(in, in.Args[0]); err != nil {
		return err
	}
	for i, t := range types {
		if o.a[i], err = lw.src(in, in.Args[i+1], t); err != nil {
			return err
		}
	}
	lw.emit(*o)
	return nil
}

// dstSrcs lowers "op d, a, b, ..." with n operands in all.
func (lw *lowerer) dstSrcs(in *ptx.Instr, o *op, t ptype, n int) error {
	if err := lw.nargs(in, n); err != nil {
		return err
	}
	var err error
	if o.d[0], err = lw.dst(in, in.Args[0]); err != nil {
		return err
	}
	if err := lw.srcs(in, o, t, 1); err != nil {
		return err
	}
	lw.emit(*o)
	return nil
}

func (lw *lowerer) srcsOnly(in *ptx.Instr, o *op, t ptype, n int) error {
	if err := lw.nargs(in, n); err != nil {
		return err
	}
	if err := lw.srcs(in, o, t, 0); err != nil {
		return err
	}
	lw.emit(*o)
	return nil
}

func (lw *lowerer) binary(in *ptx.Instr, o *op, t ptype) error { return lw.dstSrcs(in, o, t, 3) }

// vecOperands gives the n elements of a vector operand: a brace list, or
// a vector register (PTX ISA §5.4.2.2: V is {V.x, V.y, V.z, V.w}).
func (lw *lowerer) vecOperands(v ptx.Operand, n int) ([]ptx.Operand, bool) {
	if v.Kind == ptx.OpVec {
		return v.Elems, len(v.Elems) == n
	}
	if v.Kind != ptx.OpName || v.Off != 0 || v.Neg {
		return nil, false
	}
	if regs, ok := lw.vecRegs(v.Name); !ok || len(regs) != n {
		return nil, false
	}
	out := make([]ptx.Operand, n)
	for i := range out {
		out[i] = ptx.Operand{Kind: ptx.OpName, Name: v.Name + "." + vecComponents[i]}
	}
	return out, true
}

// wholeVec turns an operand that names a whole vector register into the
// brace list of its elements; any other operand stays as it is.
func (lw *lowerer) wholeVec(o ptx.Operand) ptx.Operand {
	if o.Kind != ptx.OpName || o.Off != 0 || o.Neg || o.Minus {
		return o
	}
	regs, ok := lw.vecRegs(o.Name)
	if !ok {
		return o
	}
	elems, _ := lw.vecOperands(o, len(regs))
	return ptx.Operand{Kind: ptx.OpVec, Elems: elems}
}

// lowerVecMov lowers mov.v2/.v4: element-wise moves between vector
// registers and brace lists. Every source is read before any destination
// is written, so {a, b} <- {b, a} swaps.
func (lw *lowerer) lowerVecMov(in *ptx.Instr, o *op, t ptype, n int) error {
	ds, ok1 := lw.vecOperands(in.Args[0], n)
	as, ok2 := lw.vecOperands(in.Args[1], n)
	if !ok1 || !ok2 {
		return lw.errAt(in.Line, "mov.v%d needs vectors of %d elements", n, n)
	}
	srcs := make([]int32, n)
	for i := range n {
		s, err := lw.src(in, as[i], t)
		if err != nil {
			return err
		}
		srcs[i] = s
	}
	dsts := make([]int32, n)
	overlap := false
	for i := range n {
		d, err := lw.dst(in, ds[i])
		if err != nil {
			return err
		}
		dsts[i] = d
		overlap = overlap || slices.Contains(srcs, d)
	}
	if overlap {
		for i := range n {
			tmp := lw.tempSlot()
			mv := *o
			mv.code, mv.typ, mv.a[0], mv.d[0] = opMov, t, srcs[i], tmp
			lw.emit(mv)
			srcs[i] = tmp
		}
	}
	for i := range n {
		mv := *o
		mv.code, mv.typ, mv.a[0], mv.d[0] = opMov, t, srcs[i], dsts[i]
		lw.emit(mv)
	}
	return nil
}

func (lw *lowerer) lowerMov(in *ptx.Instr, ms *modSet, o *op) error {
	vec := ms.takeOne("v2", "v4")
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	if k := t.kind(); k == kE4 || k == kE5 {
		return lw.unsupported(in, "mov of ."+t.String()+" (fp8 types are for cvt; move the bits as .b16)")
	}
	if err := lw.nargs(in, 2); err != nil {
		return err
	}
	if vec >= 0 {
		return lw.lowerVecMov(in, o, t, 2<<vec)
	}
	// A whole vector register packs or unpacks as the list of its
	// elements: mov.b64 d, v is mov.b64 d, {v.x, v.y}.
	d, a := lw.wholeVec(in.Args[0]), lw.wholeVec(in.Args[1])
	o.typ = t
	switch {
	case d.Kind == ptx.OpVec && a.Kind == ptx.OpVec:
		return lw.errAt(in.Line, "mov.%s between two vectors needs .v2 or .v4", t)
	case d.Kind == ptx.OpVec: // mov.b64 {lo, hi}, a
		if len(d.Elems) < 2 || len(d.Elems) > 4 || t.size()%len(d.Elems) != 0 {
			return lw.errAt(in.Line, "cannot unpack .%s into %d parts", t, len(d.Elems))
		}
		o.code = opUnpack
		o.vec = uint8(len(d.Elems))
		for i, e := range d.Elems {
			if o.d[i], err = lw.dst(in, e); err != nil {
				return err
			}
		}
		if o.a[0], err = lw.src(in, a, t); err != nil {
			return err
		}
	case a.Kind == ptx.OpVec: // mov.b64 d, {lo, hi}
		if len(a.Elems) < 2 || len(a.Elems) > 4 || t.size()%len(a.Elems) != 0 {
			return lw.errAt(in.Line, "cannot pack %d parts into .%s", len(a.Elems), t)
		}
		o.code = opPack
		o.vec = uint8(len(a.Elems))
		et := ptype(kB) | ptype(bitsLog(t.size()/len(a.Elems)))
		for i, e := range a.Elems {
			if e.Kind == ptx.OpSink {
				o.a[i] = lw.constSlot(0)
				continue
			}
			if o.a[i], err = lw.src(in, e, et); err != nil {
				return err
			}
		}
		if o.d[0], err = lw.dst(in, d); err != nil {
			return err
		}
	default:
		if k, ok := clockModes.value(a.Name); ok && a.Kind == ptx.OpName {
			if a.Off != 0 {
				return lw.unsupported(in, a.Name+" plus an offset")
			}
			o.setClock(clockReg(k))
		} else {
			o.code = opMov
			if o.a[0], err = lw.src(in, a, t); err != nil {
				return err
			}
		}
		if o.d[0], err = lw.dst(in, d); err != nil {
			return err
		}
	}
	lw.emit(*o)
	return nil
}

func bitsLog(size int) int {
	n := 0
	for size > 1 {
		size >>= 1
		n++
	}
	return n
}

func (lw *lowerer) lowerArith(in *ptx.Instr, ms *modSet, o *op) error {
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	o.typ = t
	n := 3
	switch in.Op {
	case "add", "sub":
		o.code = opAdd
		if in.Op == "sub" {
			o.code = opSub
		}
		if ms.take("cc") {
			o.flags |= fCC
			o.setCarry(carryAdd)
			if in.Op == "sub" {
				o.setCarry(carrySub)
			}
		}
	case "addc", "subc":
		o.setCarry(carryAddc)
		if in.Op == "subc" {
			o.setCarry(carrySubc)
		}
		if ms.take("cc") {
			o.flags |= fCC
		}
	case "mul", "mul24":
		o.code = opMul
		if !t.float() {
			switch ms.takeOne("lo", "hi", "wide") {
			case 1:
				o.code = opMulHi
			case 2:
				o.code = opMulWide
			case -1:
				if in.Op == "mul" && t.size() > 1 {
					return lw.unsupported(in, "integer mul needs .lo, .hi or .wide")
				}
			}
			if in.Op == "mul24" {
				if o.code == opMulWide {
					return lw.unsupported(in, "mul24 takes .lo or .hi")
				}
				if t != tU32 && t != tS32 {
					return lw.unsupported(in, "mul24 takes .u32 or .s32")
				}
				o.setMulMode(mul24)
			}
		}
	case "mad", "fma", "mad24":
		o.code, n = opMad, 4
		if !t.float() {
			if in.Op == "fma" {
				return lw.unsupported(in, "fma takes float types")
			}
			if in.Op == "mad" && ms.has("cc") {
				return lw.lowerMadCC(in, ms, o)
			}
			switch ms.takeOne("lo", "hi", "wide") {
			case 1:
				o.code = opMadHi
			case 2:
				o.code = opMadWide
			case -1:
				return lw.unsupported(in, "integer mad needs .lo, .hi or .wide")
			}
			if in.Op == "mad24" {
				if o.code == opMadWide {
					return lw.unsupported(in, "mad24 takes .lo or .hi")
				}
				if t != tU32 && t != tS32 {
					return lw.unsupported(in, "mad24 takes .u32 or .s32")
				}
				o.setMulMode(mul24)
			}
		}
	case "div":
		o.code = opDiv
		if ms.take("approx") {
			o.flags |= fApprox
		} else if ms.take("full") {
			o.flags |= fFull
		}
	case "rem":
		o.code = opRem
	case "min", "max":
		o.code = opMin
		if in.Op == "max" {
			o.code = opMax
		}
		if ms.take("NaN") {
			o.flags |= fNaN
		}
		if ms.take("relu") {
			o.flags |= fRelu
		}
	case "sad":
		o.code, n = opSad, 4
	}
	if o.code == opAddCC {
		// Before the float modifiers below: an add.cc.f32 ran as an
		// integer addition with a carry, and sub.cc.rn.f32 as addc.
		name := in.Op
		if in.Op == "add" || in.Op == "sub" {
			name += ".cc"
		}
		if t != tU32 && t != tS32 && t != tU64 && t != tS64 {
			return lw.unsupported(in, name+" takes .u32, .s32, .u64 or .s64")
		}
		if t.size() == 8 {
			if err := lw.require(in, 20, 43, name+" on 64 bits"); err != nil {
				return err
			}
		}
	}
	if t.float() {
		o.setRounding(ms.rounding())
		if o.rounding() > rndRP {
			return lw.unsupported(in, "integer rounding ("+o.rounding().String()+") on a float result")
		}
		if ms.take("ftz") {
			o.flags |= fFtz
		}
		if ms.take("sat") {
			o.flags |= fSat
		}
	} else if ms.take("sat") {
		o.flags |= fSat
	}
	if o.code == opMulWide || o.code == opMadWide {
		if t.size() != 2 && t.size() != 4 {
			return lw.unsupported(in, ".wide needs a 16- or 32-bit type")
		}
	}
	if err := arithQualifiers(in, o, t); err != "" {
		return lw.unsupported(in, err)
	}
	if err := lw.nargs(in, n); err != nil {
		return err
	}
	if o.d[0], err = lw.dst(in, in.Args[0]); err != nil {
		return err
	}
	for i := 1; i < n; i++ {
		st := t
		if i == 3 && o.code == opMadWide {
			st = ptype(t.kind()) | ptype(bitsLog(t.size()*2))
		}
		if o.a[i-1], err = lw.src(in, in.Args[i], st); err != nil {
			return err
		}
	}
	if o.code == opAddCC {
		o.a[2] = lw.specialSlot(spcCarry)
		o.d[1] = o.a[2]
	}
	lw.emit(*o)
	return nil
}

// arithQualifiers checks the qualifiers the PTX ISA allows only with some
// types (§9.7.1, §9.7.3), so that none is accepted and then ignored.
func arithQualifiers(in *ptx.Instr, o *op, t ptype) string {
	f := o.flags
	switch {
	case in.Op == "rem" && t.float():
		return "rem takes integer types"
	case o.code == opSad && (t.kind() != kU && t.kind() != kS || t.size() < 2):
		return "sad takes .u16, .u32, .u64, .s16, .s32 or .s64"
	case (o.code == opMin || o.code == opMax) && o.rounding() != rndNone:
		return "." + o.rounding().String() + " on " + in.Op + ": min and max take no rounding modifier"
	case f&fFtz != 0 && t != tF32:
		return ".ftz applies to .f32 only"
	case f&(fApprox|fFull) != 0 && t != tF32:
		return ".approx and .full division are .f32 only"
	case f&(fApprox|fFull) != 0 && o.rounding() != rndNone:
		return ".approx or .full division takes no rounding modifier"
	case f&fNaN != 0 && t != tF32:
		return ".NaN applies to .f32 here (.f16 and .bf16 are not supported)"
	case f&fRelu != 0 && t != tS32:
		return ".relu applies to .s32 here (.s16x2, .f16 and .bf16 are not supported)"
	case f&fSat != 0 && t.float() && (t != tF32 || o.code != opAdd && o.code != opSub && o.code != opMul && o.code != opMad):
		return ".sat applies to .f32 add, sub, mul, mad and fma"
	case f&fSat != 0 && !t.float() && (t != tS32 || o.code != opAdd && o.code != opSub && o.code != opMadHi):
		return ".sat applies to add.s32, sub.s32 and mad.hi.s32"
	}
	return ""
}

func (lw *lowerer) lowerUnary(in *ptx.Instr, ms *modSet, o *op) error {
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	o.typ = t
	o.code = map[string]opcode{"abs": opAbs, "neg": opNeg, "not": opNot, "cnot": opCnot, "popc": opPopc, "clz": opClz, "brev": opBrev}[in.Op]
	if t.float() {
		if o.code != opAbs && o.code != opNeg {
			return lw.unsupported(in, "float type")
		}
		if ms.take("ftz") {
			if t != tF32 {
				return lw.unsupported(in, ".ftz applies to .f32 only")
			}
			o.flags |= fFtz
		}
	}
	return lw.dstSrcs(in, o, t, 2)
}

func (lw *lowerer) lowerBits(in *ptx.Instr, ms *modSet, o *op) error {
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	o.typ = t
	switch in.Op {
	case "bfe":
		o.code = opBfe
		return lw.typedOps(in, o, t, tU32, tU32)
	case "bfi":
		o.code = opBfi
		return lw.typedOps(in, o, t, t, tU32, tU32)
	case "bfind":
		o.code = opBfind
		if ms.take("shiftamt") {
			o.flags |= fShiftAmt
		}
		return lw.dstSrcs(in, o, t, 2)
	case "prmt":
		o.setPrmt(prmtMode(max(ms.takeMode(&prmtModes), int(prmtGeneric))))
		return lw.dstSrcs(in, o, tU32, 4)
	}
	return lw.unsupported(in, "unknown bit-field operation")
}

// cmpFits says what is wrong with comparison cmp on type t, or "": floats
// take eq..ge, their unordered forms equ..geu, num and nan; signed
// integers eq..ge; unsigned ones those and lo, ls, hi, hs; bit-size types
// eq and ne (PTX ISA, setp: "Operators for Signed Integer, Unsigned
// Integer, and Bit-Size Types" and "for Floating-Point Types").
func cmpFits(t ptype, cmp uint8) string {
	name := cmpModes.name(cmp)
	switch {
	case t.float() || t.narrow():
		if cmp >= cmpLO && cmp <= cmpHS {
			return "." + name + " compares unsigned integers, not ." + t.String()
		}
	case cmp >= cmpEQU:
		return "." + name + " compares floats, not ." + t.String()
	case t.signed() && cmp >= cmpLO:
		return "." + name + " compares unsigned integers, not ." + t.String() + " (use ." + [...]string{"lt", "le", "gt", "ge"}[cmp-cmpLO] + ")"
	case t.kind() == kB && cmp != cmpEQ && cmp != cmpNE:
		return "a bit-size type (." + t.String() + ") compares with .eq and .ne only"
	}
	return ""
}

func (lw *lowerer) lowerSetp(in *ptx.Instr, ms *modSet, o *op) error {
	cmp := ms.takeMode(&cmpModes)
	if cmp < 0 {
		return lw.unsupported(in, "missing comparison")
	}
	o.setCmp(uint8(cmp))
	bop := ms.takeMode(&boolModes)
	ftz := ms.take("ftz")
	for _, t := range ms.types {
		if t.narrow() {
			return lw.lowerHalfCmp(in, ms, o, uint8(cmp), bop, ftz)
		}
	}
	if in.Op == "setp" {
		o.code, o.typ = opSetp, tPred
		t, err := lw.oneType(in, ms)
		if err != nil {
			return err
		}
		o.typ2 = t
	} else {
		o.code = opSet
		ts := ms.typeList()
		if len(ts) != 2 {
			return lw.errAt(in.Line, "set needs a destination and a source type")
		}
		o.typ, o.typ2 = ts[0], ts[1]
	}
	if bad := cmpFits(o.typ2, o.cmp()); bad != "" {
		return lw.unsupported(in, bad)
	}
	if ftz {
		if o.typ2 != tF32 {
			return lw.unsupported(in, ".ftz applies to .f32 only")
		}
		o.flags |= fFtz
	}
	want, err := lw.cmpOperands(in, o, bop)
	if err != nil {
		return err
	}
	d := in.Args[0]
	if d.Kind == ptx.OpPair {
		if o.code != opSetp {
			return lw.errAt(in.Line, "set has one destination")
		}
		if o.d[0], err = lw.dst(in, d.Elems[0]); err != nil {
			return err
		}
		if o.d[1], err = lw.dst(in, d.Elems[1]); err != nil {
			return err
		}
	} else if o.d[0], err = lw.dst(in, d); err != nil {
		return err
	}
	return lw.cmpSources(in, o, o.typ2, want)
}

// cmpOperands takes a comparison's bool operation (-1 for none) and
// checks its operand count: d, a, b and, with a bool operation, {!}c.
func (lw *lowerer) cmpOperands(in *ptx.Instr, o *op, bop int) (int, error) {
	want := 3
	if bop >= 0 {
		want = 4
		o.flags |= fHasC
		o.setBoolMode(boolMode(bop))
	}
	return want, lw.nargs(in, want)
}

// cmpSources lowers a comparison's a and b, of type t, and its {!}c when
// it has one (want 4), then emits it.
func (lw *lowerer) cmpSources(in *ptx.Instr, o *op, t ptype, want int) error {
	var err error
	for i := 1; i < 3; i++ {
		if o.a[i-1], err = lw.src(in, in.Args[i], t); err != nil {
			return err
		}
	}
	if want == 4 {
		if o.a[2], err = lw.negPred(in, o, in.Args[3]); err != nil {
			return err
		}
	}
	lw.emit(*o)
	return nil
}

func (lw *lowerer) lowerCvt(in *ptx.Instr, ms *modSet, o *op) error {
	if ms.take("pack") {
		return lw.lowerCvtPack(in, ms, o)
	}
	o.code = opCvt
	o.setRounding(ms.rounding())
	if ms.take("ftz") {
		o.flags |= fFtz
	}
	if ms.take("sat") {
		o.flags |= fSat
	}
	ts := ms.typeList()
	if len(ts) != 2 {
		return lw.errAt(in.Line, "cvt needs a destination and a source type")
	}
	o.typ, o.typ2 = ts[0], ts[1]
	if o.typ == tPred || o.typ2 == tPred || o.typ == tB128 || o.typ2 == tB128 {
		return lw.unsupported(in, "cvt of this type")
	}
	if o.flags&fFtz != 0 && o.typ != tF32 && o.typ2 != tF32 {
		return lw.unsupported(in, ".ftz applies to conversions from or to .f32")
	}
	if o.typ.narrow() || o.typ2.narrow() {
		return lw.lowerCvtNarrow(in, ms, o)
	}
	if need := cvtRounding(o.typ, o.typ2, o.rounding()); need != "" {
		return lw.errAt(in.Line, "cvt.%s.%s takes %s", o.typ, o.typ2, need)
	}
	return lw.dstSrcs(in, o, o.typ2, 2)
}

// cvtRounding says what rounding modifier a scalar cvt from st to dt
// lacks or has too many, or "" when r is right (PTX ISA §9.7.8.21):
// integer rounding is required from a float to an integer and optional
// between floats of one format (it rounds to an integral value); float
// rounding is required from an integer to a float and from a float to a
// narrower or another one of its size (f16 and bf16); any other rounding
// is illegal.
func cvtRounding(dt, st ptype, r rounding) string {
	dF, sF := dt.float() || dt.narrow(), st.float() || st.narrow()
	intR, floatR := r >= rndRNI, r >= rndRN && r <= rndRP
	lossy := dF && sF && (dt.size() < st.size() || dt.size() == st.size() && dt != st)
	switch {
	case sF && !dF:
		if !intR {
			return "an integer rounding modifier (.rni, .rzi, .rmi or .rpi)"
		}
	case dF && (!sF || lossy):
		if !floatR {
			return "a float rounding modifier (.rn, .rz, .rm or .rp)"
		}
	case dF && dt == st:
		if floatR {
			return "no float rounding modifier (.rni, .rzi, .rmi or .rpi round to an integral value)"
		}
	default:
		if r != rndNone {
			return "no rounding modifier"
		}
	}
	return ""
}

func (lw *lowerer) lowerCvta(in *ptx.Instr, ms *modSet, o *op) error {
	to := ms.take("to")
	sp, ok := ms.stateSpace()
	if !ok {
		return lw.unsupported(in, "needs a state space")
	}
	o.space = sp
	if in.Op == "isspacep" { // isspacep.space p, a: no type
		if len(ms.types) != 0 {
			return lw.unsupported(in, "isspacep takes no type")
		}
		o.code, o.typ = opIsspacep, tPred
		return lw.dstSrcs(in, o, tU64, 2)
	}
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	o.typ = t
	switch {
	case to:
		o.code = opCvtaTo
	default:
		o.code = opCvta
	}
	return lw.dstSrcs(in, o, t, 2)
}

func (lw *lowerer) lowerFloat1(in *ptx.Instr, ms *modSet, o *op) error {
	k, _ := floatFnModes.value(in.Op)
	fn := floatFn(k)
	if ms.take("approx") {
		o.flags |= fApprox
	}
	rnd := ms.rounding()
	o.setFloat1(fn, rnd)
	if ms.take("ftz") {
		o.flags |= fFtz
	}
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	if !t.float() {
		return lw.unsupported(in, "type")
	}
	o.typ = t
	approxOnly := fn >= fnRsqrt
	if (o.flags&fApprox != 0) == (rnd != rndNone) {
		return lw.unsupported(in, "needs exactly one of .approx or a rounding modifier")
	}
	if approxOnly && o.flags&fApprox == 0 {
		return lw.unsupported(in, in.Op+" exists only as .approx")
	}
	if t == tF64 && o.flags&fApprox != 0 && !(fn == fnRcp && o.flags&fFtz != 0 || fn == fnRsqrt) {
		return lw.unsupported(in, ".approx.f64")
	}
	if t == tF64 && o.flags&fFtz != 0 && o.flags&fApprox == 0 {
		return lw.unsupported(in, ".ftz applies to .f32 only (and to rcp.approx.ftz.f64, rsqrt.approx.ftz.f64)")
	}
	if rnd > rndRP {
		return lw.unsupported(in, "integer rounding ("+rnd.String()+") on a float result")
	}
	if fn == fnTanh && t != tF32 {
		return lw.unsupported(in, "tanh.approx is .f32 only")
	}
	return lw.dstSrcs(in, o, t, 2)
}

func (lw *lowerer) lowerLdSt(in *ptx.Instr, ms *modSet, o *op) error {
	o.code = opLd
	if in.Op == "st" {
		o.code = opSt
	}
	if in.Op == "ldu" {
		o.flags |= fNC
	}
	switch {
	case ms.take("volatile"):
		o.sem = semVolatile
		o.scope = scopeSys
	case ms.take("relaxed"):
		o.sem = semRelaxed
	case ms.take("acquire"):
		o.sem = semAcquire
	case ms.take("release"):
		o.sem = semRelease
	default:
		ms.take("weak")
	}
	if o.sem != semWeak && o.sem != semVolatile {
		if o.scope = ms.scope(); o.scope == scopeNone {
			return lw.unsupported(in, "a strong ld/st needs a scope")
		}
		if o.code == opLd && o.sem == semRelease || o.code == opSt && o.sem == semAcquire {
			return lw.unsupported(in, "ordering")
		}
	}
	o.space, _ = ms.stateSpace()
	if o.space == spParam && !lw.f.decl.Entry {
		o.space = spParamF
	}
	if ms.take("nc") {
		o.flags |= fNC
	}
	for ms.takeOne(cacheOps...) >= 0 {
	}
	o.vec = 1
	switch ms.takeOne("v2", "v4", "v8") {
	case 0:
		o.vec = 2
	case 1:
		o.vec = 4
	case 2:
		o.vec = 8
	}
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	if t == tPred || t == tB128 {
		return lw.unsupported(in, "type")
	}
	if o.vec == 8 {
		// PTX ISA 8.8: 256-bit accesses, .v8 of 32-bit elements, from
		// sm_100, in the global space.
		if t.size() != 4 || in.Op == "ldu" {
			return lw.unsupported(in, ".v8 takes 32-bit elements (a 256-bit access)")
		}
		if o.space != spGlobal {
			return lw.unsupported(in, ".v8 accesses the .global space")
		}
		if err := lw.require(in, 100, 88, in.Op+".v8"); err != nil {
			return err
		}
	}
	o.typ = t
	// .L2::cache_hint takes a 64-bit cache policy after the operands: a
	// hint that does not change what the access does.
	n := 2
	if slices.Contains(in.Mods, "L2::cache_hint") {
		n = 3
		if len(in.Args) == 3 {
			if _, err := lw.src(in, in.Args[2], tB64); err != nil {
				return err
			}
		}
	}
	if err := lw.nargs(in, n); err != nil {
		return err
	}
	addr, val := in.Args[1], in.Args[0]
	if o.code == opSt {
		addr, val = in.Args[0], in.Args[1]
	}
	if !isAddress(addr) {
		return lw.errAt(in.Line, "%s needs an [address] operand", in.Op)
	}
	if err := lw.address(in, o, addr); err != nil {
		return err
	}
	elems := []ptx.Operand{val}
	if o.vec > 1 {
		var ok bool
		if elems, ok = lw.vecOperands(val, int(o.vec)); !ok {
			return lw.errAt(in.Line, "%s.v%d needs a vector of %d registers", in.Op, o.vec, o.vec)
		}
	}
	var slots [8]int32
	for i, e := range elems {
		if o.code == opLd {
			slots[i], err = lw.dst(in, e)
		} else if e.Kind == ptx.OpSink {
			return lw.errAt(in.Line, "st stores every element: _ is for destinations")
		} else {
			slots[i], err = lw.src(in, e, t)
		}
		if err != nil {
			return err
		}
	}
	if o.vec <= 4 {
		copy(o.d[:], slots[:o.vec])
		lw.emit(*o)
		return nil
	}
	// A .v8 access is two .v4 ones, 16 bytes apart; the first checks the
	// alignment of all 32. Its 32-bit destinations cannot be the 64-bit
	// address register the second reads.
	o.vec = 4
	o.setAlignMultiple(2)
	copy(o.d[:], slots[:4])
	lw.emit(*o)
	o.setAlignMultiple(0)
	o.off += 16
	copy(o.d[:], slots[4:])
	lw.emit(*o)
	return nil
}

// isAddress reports whether a is a memory operand: [address], or an array
// element a[i], which stands for [a + i*size].
func isAddress(a ptx.Operand) bool { return a.Kind == ptx.OpAddr || a.Kind == ptx.OpIndex }

// maxIndexStride bounds an index's stride, so that a register index is
// scaled by a 32-bit multiply and a constant one cannot overflow.
const maxIndexStride = 1 << 30

// element resolves an array element a[i][j]... (PTX ISA "Arrays as
// operands") to its array, the constant part of its byte offset and, when
// an index is a register, a slot that holds the rest (noSlot otherwise).
// Each index counts elements of its dimension: a[i] of .b16 a[4] is 2*i
// bytes in, a[i] of .b32 a[4][3] is 12*i. A 32-bit register index is
// zero-extended, or sign-extended when it is .s32.
func (lw *lowerer) element(in *ptx.Instr, a ptx.Operand) (varInfo, int64, int32, error) {
	v, ok := lw.lookupVar(a.Name)
	if !ok {
		if _, isReg := lw.lookupReg(a.Name); isReg {
			return v, 0, noSlot, lw.errAt(in.Line, "%s is a register, not an array: index memory with [%s+offset]", a.Name, a.Name)
		}
		return v, 0, noSlot, lw.errAt(in.Line, "undefined name %s", a.Name)
	}
	if v.err != nil {
		return v, 0, noSlot, lw.withLine(v.err, in)
	}
	d := v.decl
	if d == nil || len(a.Elems) > len(d.Dims) {
		return v, 0, noSlot, lw.errAt(in.Line, "%s has %d dimensions; %d indices given", a.Name, len(dimsOf(d)), len(a.Elems))
	}
	var off int64
	idx := int32(noSlot)
	for k, ix := range a.Elems {
		stride := int64(d.ElemSize())
		for _, n := range d.Dims[k+1:] {
			stride *= int64(max(n, 0))
			if stride > maxIndexStride {
				return v, 0, noSlot, lw.errAt(in.Line, "%s: an element of more than %d bytes", a.Name, maxIndexStride)
			}
		}
		c := ix.Imm
		if ix.Kind == ptx.OpName {
			c = ix.Off
		}
		if c > maxIndexStride || c < -maxIndexStride {
			return v, 0, noSlot, lw.errAt(in.Line, "%s: index %d is out of range", a.Name, c)
		}
		off += c * stride
		if ix.Kind != ptx.OpName {
			continue
		}
		r, ok := lw.lookupReg(ix.Name)
		if !ok || r.slot == noSlot || r.typ.float() || r.typ == tPred || r.typ.size() < 4 {
			return v, 0, noSlot, lw.errAt(in.Line, "%s: the index %s is not a 32- or 64-bit integer register", a.Name, ix.Name)
		}
		term := newOp(opMulWide, in.Line)
		term.typ = tU32
		if r.typ == tS32 {
			term.typ = tS32
		}
		if r.typ.size() == 8 {
			term.code, term.typ = opMul, tU64
		}
		term.a[0], term.a[1] = r.slot, lw.constSlot(uint64(stride))
		term.d[0] = lw.tempSlot()
		lw.emit(term)
		if idx == noSlot {
			idx = term.d[0]
			continue
		}
		sum := newOp(opAdd, in.Line)
		sum.typ = tU64
		sum.a[0], sum.a[1], sum.d[0] = idx, term.d[0], lw.tempSlot()
		lw.emit(sum)
		idx = sum.d[0]
	}
	return v, off, idx, nil
}

func dimsOf(d *ptx.Var) []int {
	if d == nil {
		return nil
	}
	return d.Dims
}

// elementAddr is the address of an array element in a slot: the
// variable's address plus its offset, plus the register part if any.
func (lw *lowerer) elementAddr(in *ptx.Instr, a ptx.Operand) (int32, varInfo, error) {
	v, off, idx, err := lw.element(in, a)
	if err != nil {
		return 0, v, err
	}
	base := lw.varConst(v, off)
	if idx == noSlot {
		return base, v, nil
	}
	sum := newOp(opAdd, in.Line)
	sum.typ = tU64
	sum.a[0], sum.a[1], sum.d[0] = base, idx, lw.tempSlot()
	lw.emit(sum)
	return sum.d[0], v, nil
}

// address lowers [base+off], or an array element a[i], into o.a[0] and
// o.off. A variable name resolves to its address in its own space; when
// the instruction names no space the variable's space is used.
func (lw *lowerer) address(in *ptx.Instr, o *op, a ptx.Operand) error {
	if a.Kind == ptx.OpIndex {
		slot, v, err := lw.elementAddr(in, a)
		if err != nil {
			return err
		}
		o.a[0], o.off = slot, 0
		return lw.addressSpace(in, o, a.Name, v)
	}
	if len(a.Elems) > 0 {
		return lw.unsupported(in, "a bracketed operand list (texture or surface access)")
	}
	o.off = a.Off
	if a.AddrImm {
		o.a[0] = lw.constSlot(uint64(a.Imm))
		return nil
	}
	if r, ok := lw.lookupReg(a.Name); ok {
		if r.slot == noSlot {
			return lw.errAt(in.Line, "vector register %s used as an address", a.Name)
		}
		o.a[0] = r.slot
		return nil
	}
	if _, ok := specialNames[a.Name]; ok {
		o.a[0] = lw.specialSlot(specialNames[a.Name])
		return nil
	}
	v, ok := lw.lookupVar(a.Name)
	if !ok {
		if lw.m.fnByName(a.Name) != nil {
			return lw.unsupported(in, "an access to a function's code")
		}
		return lw.errAt(in.Line, "undefined name %s", a.Name)
	}
	if v.err != nil {
		return lw.withLine(v.err, in)
	}
	o.a[0] = lw.varConst(v, 0)
	return lw.addressSpace(in, o, a.Name, v)
}

// addressSpace gives an access through variable v the variable's space
// when the instruction names none, and refuses another one.
func (lw *lowerer) addressSpace(in *ptx.Instr, o *op, name string, v varInfo) error {
	if o.space == spGeneric {
		o.space = v.space
	} else if o.space != v.space && !(o.space == spParam && v.space == spParamF) {
		return lw.errAt(in.Line, "%s is a .%s variable, accessed as .%s", name, v.space, o.space)
	}
	if o.space == spParam && v.space == spParamF {
		o.space = spParamF
	}
	return nil
}

func (lw *lowerer) lowerAtom(in *ptx.Instr, ms *modSet, o *op) error {
	code := opAtom
	if in.Op == "red" {
		code = opRed
	}
	o.code = code
	o.sem = semRelaxed
	switch ms.takeOne("relaxed", "acquire", "release", "acq_rel") {
	case 1:
		o.sem = semAcquire
	case 2:
		o.sem = semRelease
	case 3:
		o.sem = semAcqRel
	}
	o.scope = ms.scope()
	if o.scope == scopeNone {
		o.scope = scopeGPU // §9.7.12.4: the default scope is .gpu
	}
	o.space, _ = ms.stateSpace()
	if o.space != spGeneric && o.space != spGlobal && o.space != spShared {
		return lw.unsupported(in, "atomics work on .global and .shared")
	}
	m := ms.takeMode(&atomModes)
	if m < 0 {
		return lw.unsupported(in, "missing atomic operation")
	}
	k := uint8(m)
	o.setAtom(code, k)
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	if t.size() < 4 || t == tB128 {
		return lw.unsupported(in, "atomic type")
	}
	if t.float() && k != atomAdd && k != atomExch && k != atomMin && k != atomMax {
		return lw.unsupported(in, "float atomic operation")
	}
	o.typ = t
	args := in.Args
	if o.code == opAtom {
		if len(args) < 1 {
			return lw.errAt(in.Line, "atom needs a destination")
		}
		if o.d[0], err = lw.dst(in, args[0]); err != nil {
			return err
		}
		args = args[1:]
	}
	want := 2
	if k == atomCAS {
		want = 3
		if o.code == opRed {
			return lw.unsupported(in, "red.cas")
		}
	}
	if len(args) != want {
		return lw.errAt(in.Line, "%s.%s takes %d operands after the destination", in.Op, in.Mods, want)
	}
	if !isAddress(args[0]) {
		return lw.errAt(in.Line, "%s needs an [address] operand", in.Op)
	}
	if err := lw.address(in, o, args[0]); err != nil {
		return err
	}
	for i := 1; i < want; i++ {
		if o.a[i], err = lw.src(in, args[i], t); err != nil {
			return err
		}
	}
	lw.emit(*o)
	return nil
}

// lowerCall lowers a direct call, "call (rets), f, (args);", or one
// through a function pointer, "call (rets), %rd, (args), L;" where L labels
// a .callprototype or a .calltargets list (PTX ISA §9.7.11.5). Arguments
// may be .param variables, registers or immediates, and results .param
// variables or registers; the callee's parameters may be .param or .reg.
func (lw *lowerer) lowerCall(in *ptx.Instr, ms *modSet, o *op) error {
	if ms.take("uni") {
		o.flags |= fUni
	}
	args := in.Args
	var rets, params []ptx.Operand
	if len(args) > 0 && args[0].Kind == ptx.OpList {
		rets = args[0].Elems
		args = args[1:]
	}
	if len(args) == 0 || args[0].Kind != ptx.OpName || args[0].Off != 0 || args[0].Neg {
		return lw.errAt(in.Line, "call needs a function or a function pointer")
	}
	target := args[0]
	args = args[1:]
	if len(args) > 0 && args[0].Kind == ptx.OpList {
		params = args[0].Elems
		args = args[1:]
	}
	var fc fnCall
	var formalParams, formalRets []*ptx.Var
	_, isReg := lw.lookupReg(target.Name)
	if f := lw.m.fnByName(target.Name); f != nil && !isReg {
		if len(args) != 0 {
			return lw.errAt(in.Line, "a direct call to %s takes no prototype or target list", target.Name)
		}
		if f.decl.Entry {
			return lw.errAt(in.Line, "call to an entry (%s)", target.Name)
		}
		fc.callee = f.name
		formalParams, formalRets = f.decl.Params, f.decl.Rets
		o.code = opCall
	} else if lw.m.declared(target.Name) && !isReg {
		if b, ok := lw.m.builtin(target.Name); ok && len(args) == 0 {
			return lw.lowerBuiltin(in, o, b, rets, params)
		}
		return lw.unsupported(in, fmt.Sprintf("call to external function %s (no body in this module)", target.Name))
	} else {
		if len(args) != 1 || args[0].Kind != ptx.OpName {
			return lw.errAt(in.Line, "a call through %s needs a .callprototype or .calltargets label after its arguments", target.Name)
		}
		label := args[0].Name
		if pr, ok := lw.protos[label]; ok {
			formalParams, formalRets = pr.Params, pr.Rets
		} else if t, ok := lw.tables[label]; ok && t.Targets.Call {
			fc.targets = t.Targets.Names
			for _, n := range t.Targets.Names {
				g := lw.m.fnByName(n)
				if g == nil {
					return lw.unsupported(in, fmt.Sprintf(".calltargets names %s, which has no body in this module", n))
				}
				lw.m.addrTaken[g.index] = true
				formalParams, formalRets = g.decl.Params, g.decl.Rets
			}
		} else {
			return lw.errAt(in.Line, "%s is not a .callprototype or .calltargets label of this function", label)
		}
		var err error
		if o.a[0], err = lw.src(in, target, tU64); err != nil {
			return err
		}
		o.code = opCallInd
	}
	if len(params) != len(formalParams) || len(rets) != len(formalRets) {
		return lw.errAt(in.Line, "call to %s passes %s and %s; it takes %d and %d", target.Name, counted(len(params), "argument"), counted(len(rets), "result"), len(formalParams), len(formalRets))
	}
	for i, a := range params {
		if f := formalParams[i]; f.Space == "reg" && f.Vec > 0 {
			ls, err := lw.vecArgs(in, "argument", i, a, f, false)
			if err != nil {
				return err
			}
			fc.args = append(fc.args, ls...)
			continue
		}
		l, err := lw.argSrc(in, a, formalParams[i])
		if err != nil {
			return err
		}
		if err := lw.argSize(in, "argument", i, l, formalParams[i]); err != nil {
			return err
		}
		fc.args = append(fc.args, l)
	}
	for i, r := range rets {
		if f := formalRets[i]; f.Space == "reg" && f.Vec > 0 {
			ls, err := lw.vecArgs(in, "result", i, r, f, true)
			if err != nil {
				return err
			}
			fc.rets = append(fc.rets, ls...)
			continue
		}
		l, err := lw.argDst(in, r, formalRets[i])
		if err != nil {
			return err
		}
		if err := lw.argSize(in, "result", i, l, formalRets[i]); err != nil {
			return err
		}
		fc.rets = append(fc.rets, l)
	}
	fc.op = lw.emit(*o)
	lw.f.fcalls = append(lw.f.fcalls, fc)
	return nil
}

// vecArgs expands a call's argument or result for a vector .reg parameter
// (.reg .v2 .u32 x) into its elements: a vector register or a brace list
// of as many registers (or, for an argument, immediates) of the element's
// size, which pass one by one as the callee's formals do (formals).
func (lw *lowerer) vecArgs(in *ptx.Instr, what string, i int, a ptx.Operand, formal *ptx.Var, result bool) ([]argLoc, error) {
	t, ok := regType(formal.Type)
	elems, okv := lw.vecOperands(a, formal.Vec)
	if !ok || !okv {
		return nil, lw.errAt(in.Line, "call %s %d: the parameter %s is a .v%d .%s register; pass a vector register or a brace list of %d elements", what, i, formal.Name, formal.Vec, formal.Type, formal.Vec)
	}
	out := make([]argLoc, len(elems))
	for k, e := range elems {
		if e.Kind == ptx.OpName {
			if r, ok := lw.lookupReg(e.Name); ok && r.slot != noSlot && r.typ.size() != t.size() {
				return nil, lw.errAt(in.Line, "call %s %d: element %s is %s; the parameter %s's elements are %s", what, i, e.Name, ptx.SizeText(r.typ.size()), formal.Name, ptx.SizeText(t.size()))
			}
		}
		var s int32
		var err error
		if result {
			if e.Kind == ptx.OpSink {
				return nil, lw.errAt(in.Line, "a call result cannot be _")
			}
			s, err = lw.dst(in, e)
		} else {
			s, err = lw.src(in, e, t)
		}
		if err != nil {
			return nil, err
		}
		out[k] = argLoc{kind: locSlot, off: s, size: t.size()}
	}
	return out, nil
}

// argSize checks that a call's argument or result has the size of the
// callee's (or the prototype's) parameter: PTX passes them as they are,
// so a mismatch would cut or pad a value.
func (lw *lowerer) argSize(in *ptx.Instr, what string, i int, l argLoc, formal *ptx.Var) error {
	if want := declSize(formal); l.size != want {
		return lw.errAt(in.Line, "call %s %d is %s; the parameter %s is %s", what, i, ptx.SizeText(l.size), formal.Name, sizeText(want))
	}
	return nil
}

// argSrc is where a call argument comes from: a .param variable of the
// caller, a register, or an immediate of the parameter's type.
func (lw *lowerer) argSrc(in *ptx.Instr, a ptx.Operand, formal *ptx.Var) (argLoc, error) {
	if a.Kind == ptx.OpName && a.Off == 0 {
		if v, ok := lw.lookupVar(a.Name); ok && v.space == spParamF {
			return argLoc{kind: locParamF, off: int32(v.addr), size: v.size}, nil
		}
	}
	t, ok := regType(formal.Type)
	if !ok || formal.Vec > 0 || len(formal.Dims) > 0 {
		return argLoc{}, lw.unsupported(in, fmt.Sprintf("a register or immediate passed to parameter %s of type .%s", formal.Name, formal.Type))
	}
	if a.Kind == ptx.OpName {
		if reg, ok := lw.lookupReg(a.Name); ok && reg.slot != noSlot && reg.typ.size() != t.size() {
			return argLoc{}, lw.errAt(in.Line, "call argument %s is %s; the parameter %s is %s", a.Name, ptx.SizeText(reg.typ.size()), formal.Name, ptx.SizeText(t.size()))
		}
	}
	s, err := lw.src(in, a, t)
	if err != nil {
		return argLoc{}, err
	}
	return argLoc{kind: locSlot, off: s, size: t.size()}, nil
}

// argDst is where a call result goes: a .param variable or a register.
func (lw *lowerer) argDst(in *ptx.Instr, r ptx.Operand, formal *ptx.Var) (argLoc, error) {
	if r.Kind == ptx.OpName && r.Off == 0 {
		if v, ok := lw.lookupVar(r.Name); ok && v.space == spParamF {
			return argLoc{kind: locParamF, off: int32(v.addr), size: v.size}, nil
		}
	}
	if r.Kind == ptx.OpSink {
		return argLoc{}, lw.errAt(in.Line, "a call result cannot be _")
	}
	s, err := lw.dst(in, r)
	if err != nil {
		return argLoc{}, err
	}
	reg, _ := lw.lookupReg(r.Name)
	return argLoc{kind: locSlot, off: s, size: reg.typ.size()}, nil
}

// lowerBrx lowers "brx.idx{.uni} index, tlist;": a jump to the index-th
// label of a .branchtargets list (PTX ISA §9.7.11.3).
func (lw *lowerer) lowerBrx(in *ptx.Instr, ms *modSet, o *op) error {
	if !ms.take("idx") {
		return lw.unsupported(in, "brx needs .idx")
	}
	if ms.take("uni") {
		o.flags |= fUni
	}
	if err := lw.nargs(in, 2); err != nil {
		return err
	}
	t, ok := lw.tables[in.Args[1].Name]
	if in.Args[1].Kind != ptx.OpName || !ok || t.Targets.Call {
		return lw.errAt(in.Line, "brx.idx needs a .branchtargets label, found %s", operandText(in.Args[1]))
	}
	var err error
	if o.a[0], err = lw.src(in, in.Args[0], tU32); err != nil {
		return err
	}
	o.code = opBrx
	o.aux = int32(len(lw.f.brTables))
	lw.f.brTables = append(lw.f.brTables, make([]int32, len(t.Targets.Names)))
	lw.emit(*o)
	for k, label := range t.Targets.Names {
		lw.brFixups = append(lw.brFixups, brFixup{table: int(o.aux), index: k, label: label, line: t.Line})
	}
	return nil
}

func (lw *lowerer) lowerBar(in *ptx.Instr, ms *modSet, o *op) error {
	ms.take("cta")
	if ms.take("warp") {
		if !ms.take("sync") {
			return lw.unsupported(in, "bar.warp needs .sync")
		}
		o.code = opWarpSync
		return lw.srcsOnly(in, o, tB32, 1)
	}
	aligned := in.Op == "bar" || ms.take("aligned")
	if aligned {
		o.flags |= fAligned
	}
	switch ms.takeOne("sync", "arrive", "red") {
	case 0:
		o.code = opBar
	case 1:
		o.code = opBarArrive
	case 2:
		o.code = opBar
		red := ms.takeMode(&barRedModes)
		if red < 0 {
			return lw.unsupported(in, "bar.red needs .popc, .and or .or")
		}
		o.setBarRed(barRed(red))
	default:
		if in.Op == "bar" && len(ms.other) == 0 { // plain "bar 0" is bar.sync
			o.code = opBar
			break
		}
		return lw.unsupported(in, "barrier operation")
	}
	args := in.Args
	if o.barRed() != barNoRed {
		t, err := lw.oneType(in, ms)
		if err != nil {
			return err
		}
		o.typ = t
		if len(args) < 3 {
			return lw.errAt(in.Line, "bar.red needs a destination, a barrier and a predicate")
		}
		var err2 error
		if o.d[0], err2 = lw.dst(in, args[0]); err2 != nil {
			return err2
		}
		if o.a[2], err2 = lw.negPred(in, o, args[len(args)-1]); err2 != nil {
			return err2
		}
		args = args[1 : len(args)-1]
	}
	if len(args) < 1 || len(args) > 2 {
		return lw.errAt(in.Line, "%s takes a barrier and an optional thread count", in.Op)
	}
	var err error
	if o.a[0], err = lw.src(in, args[0], tU32); err != nil {
		return err
	}
	if len(args) == 2 {
		o.flags |= fHasC
		if o.a[1], err = lw.src(in, args[1], tU32); err != nil {
			return err
		}
	} else if o.code == opBarArrive {
		return lw.errAt(in.Line, "bar.arrive needs a thread count")
	}
	lw.emit(*o)
	return nil
}

func (lw *lowerer) lowerWarp(in *ptx.Instr, ms *modSet, o *op) error {
	legacy := !ms.take("sync")
	nmask := 1 // the membermask operand, last; a legacy form has none
	if legacy {
		if err := lw.legacyWarp(in); err != nil {
			return err
		}
		o.flags |= fLegacy
		nmask = 0
	}
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	o.typ = t
	args := in.Args
	dst := func() error {
		d := args[0]
		if d.Kind == ptx.OpPair {
			if o.d[0], err = lw.dst(in, d.Elems[0]); err != nil {
				return err
			}
			o.d[1], err = lw.dst(in, d.Elems[1])
			return err
		}
		o.d[0], err = lw.dst(in, d)
		return err
	}
	switch in.Op {
	case "shfl":
		m := ms.takeMode(&shflModes)
		if m < 0 {
			return lw.unsupported(in, "shfl mode")
		}
		o.setShfl(shflMode(m))
		if t.size() != 4 {
			return lw.unsupported(in, "shfl.sync works on 32-bit values")
		}
		if err := lw.nargs(in, 4+nmask); err != nil {
			return err
		}
		if err := dst(); err != nil {
			return err
		}
		for i := 1; i < 4+nmask; i++ {
			st := tB32
			if i == 1 {
				st = t
			}
			if o.a[i-1], err = lw.src(in, args[i], st); err != nil {
				return err
			}
		}
	case "vote", "match", "redux":
		// d[|p], a, membermask
		srcType := t
		switch in.Op {
		case "vote":
			srcType = tPred
			m := ms.takeMode(&voteModes)
			if m < 0 {
				return lw.unsupported(in, "vote mode")
			}
			o.setVote(voteMode(m))
			if (o.voteMode() == voteBallot) != (t == tB32) {
				return lw.unsupported(in, "vote.ballot gives .b32, the others .pred")
			}
		case "match":
			m := ms.takeMode(&matchModes)
			if m < 0 {
				return lw.unsupported(in, "match mode")
			}
			o.setMatch(matchMode(m))
			if t != tB32 && t != tB64 {
				return lw.unsupported(in, "match takes .b32 or .b64")
			}
		case "redux":
			m := ms.takeMode(&reduxModes)
			if m < 0 {
				return lw.unsupported(in, "redux operation")
			}
			o.setRedux(reduxOp(m))
		}
		if err := lw.nargs(in, 2+nmask); err != nil {
			return err
		}
		if err := dst(); err != nil {
			return err
		}
		if o.code == opVote {
			o.a[0], err = lw.negPred(in, o, args[1])
		} else {
			o.a[0], err = lw.src(in, args[1], srcType)
		}
		if err != nil {
			return err
		}
		if !legacy {
			if o.a[1], err = lw.src(in, args[2], tB32); err != nil {
				return err
			}
		}
	}
	lw.emit(*o) // a legacy form's membermask slot stays noSlot
	return nil
}

// legacyWarp checks vote or shfl without .sync, which PTX ISA 6.4 removed
// for sm_70 and later targets. It lowers as the .sync form without the
// membermask operand; execution uses the lanes that execute the
// instruction together.
func (lw *lowerer) legacyWarp(in *ptx.Instr) error {
	if in.Op != "vote" && in.Op != "shfl" {
		return lw.unsupported(in, in.Op+" needs .sync")
	}
	// Allowed before PTX ISA 6.4, and on targets before sm_70; a module
	// that says neither is not known to be either.
	if v, sm := lw.m.ptxVersion, lw.m.sm; !(v > 0 && v < 64) && !(sm > 0 && sm < 70) {
		ver := "no .version"
		if v > 0 {
			ver = fmt.Sprintf("%d.%d", v/10, v%10)
		}
		return lw.unsupported(in, fmt.Sprintf("%s without .sync: PTX ISA 6.4 removed it for sm_70 and later (the module is %s); use %s.sync", in.Op, ver, in.Op))
	}
	if in.Op == "shfl" {
		return lw.require(in, 30, 30, "shfl")
	}
	return nil
}
