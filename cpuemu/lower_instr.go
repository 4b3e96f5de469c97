package cpuemu

import (
	"fmt"
	"strings"
)

// modSet holds an instruction's modifiers while lowering consumes them; any
// left over at the end make the instruction unsupported, so nothing is
// silently ignored.
type modSet struct {
	types []ptype
	other []string
	used  []bool
}

func newModSet(in *instr) (*modSet, error) {
	ms := &modSet{}
	for _, m := range in.mods {
		if t, ok := typeNames[m]; ok {
			ms.types = append(ms.types, t)
			continue
		}
		if typeSize(m) != 0 { // f16x2, bf16, tf32, ...
			return nil, &UnsupportedError{Line: in.line, Instr: in.op + "." + strings.Join(in.mods, "."), What: "type ." + m}
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

// takeName consumes the first modifier that names an entry of names and
// returns its value, or -1.
func (ms *modSet) takeName(names map[string]uint8) int {
	for i, o := range ms.other {
		if v, ok := names[o]; ok && !ms.used[i] {
			ms.used[i] = true
			return int(v)
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

var roundNames = []string{"rn", "rz", "rm", "rp", "rni", "rzi", "rmi", "rpi"}

func (ms *modSet) rounding() rounding {
	i := ms.takeOne(roundNames...)
	if i < 0 {
		return rndNone
	}
	return rounding(i + 1)
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
		ms.takeOne("cta", "cluster") // .shared::cta spelled .shared.cta is not PTX; tolerate ::cta below
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

func (lw *lowerer) instr(in *instr) error {
	ms, err := newModSet(in)
	if err != nil {
		return err
	}
	o := newOp(opNop, in.line)
	if in.guard != "" {
		r, ok := lw.lookupReg(in.guard)
		if !ok || r.typ != tPred {
			return lw.errAt(in.line, "guard %s is not a predicate register", in.guard)
		}
		o.guard = r.slot
		if in.guardNeg {
			o.flags |= fGuardNeg
		}
	}
	if err := lw.lowerOp(in, ms, &o); err != nil {
		return err
	}
	if left := ms.leftover(); len(left) > 0 {
		return lw.unsupported(in, "modifier "+strings.Join(left, " "))
	}
	return nil
}

func (lw *lowerer) nargs(in *instr, n ...int) error {
	for _, k := range n {
		if len(in.args) == k {
			return nil
		}
	}
	return lw.errAt(in.line, "%s takes %v operands, found %d", in.op, n, len(in.args))
}

func (lw *lowerer) oneType(in *instr, ms *modSet) (ptype, error) {
	if len(ms.types) != 1 {
		return 0, lw.errAt(in.line, "%s needs exactly one type, found %d", in.op, len(ms.types))
	}
	return ms.types[0], nil
}

// srcs lowers operands args[from:] as sources of type t into o.a.
func (lw *lowerer) srcs(in *instr, o *op, t ptype, from int) error {
	for i := from; i < len(in.args); i++ {
		s, err := lw.src(in, in.args[i], t)
		if err != nil {
			return err
		}
		o.a[i-from] = s
	}
	return nil
}

func (lw *lowerer) lowerOp(in *instr, ms *modSet, o *op) error {
	switch in.op {
	case "mov":
		return lw.lowerMov(in, ms, o)
	case "add", "sub", "mul", "mad", "fma", "div", "rem", "min", "max", "mul24", "mad24", "addc", "subc", "sad":
		return lw.lowerArith(in, ms, o)
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
		o.code = map[string]opcode{"and": opAnd, "or": opOr, "xor": opXor}[in.op]
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
		if in.op == "shr" {
			o.code = opShr
		}
		return lw.typedOps(in, o, t, tU32) // the amount is always .u32
	case "shf":
		o.code = opShf
		switch ms.takeOne("l", "r") {
		case 0:
			o.sub = 1
		case 1:
		default:
			return lw.unsupported(in, "shf needs .l or .r")
		}
		switch ms.takeOne("clamp", "wrap") {
		case 0:
			o.sub2 = 1
		case 1:
		default:
			return lw.unsupported(in, "shf needs .clamp or .wrap")
		}
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
		if in.args[4].kind != oImm {
			return lw.errAt(in.line, "lop3 needs an immediate lookup table")
		}
		o.code, o.typ, o.off = opLop3, t, in.args[4].i&0xff
		in2 := *in
		in2.args = in.args[:4]
		return lw.dstSrcs(&in2, o, tU32, 4)
	case "bfe", "bfi", "bfind", "prmt":
		return lw.lowerBits(in, ms, o)
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
		if len(ms.types) != 2 {
			return lw.errAt(in.line, "slct needs two types")
		}
		o.code, o.typ, o.typ2 = opSlct, ms.types[0], ms.types[1]
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
		if err != nil || !t.float() || t == tF16 {
			return lw.unsupported(in, "copysign takes .f32 or .f64")
		}
		o.code, o.typ = opCopysign, t
		return lw.dstSrcs(in, o, t, 3)
	case "testp":
		k := ms.takeOne("finite", "infinite", "number", "notanumber", "normal", "subnormal")
		t, err := lw.oneType(in, ms)
		if k < 0 || err != nil || !t.float() || t == tF16 {
			return lw.unsupported(in, "testp needs a test and .f32 or .f64")
		}
		o.code, o.typ, o.sub = opTestp, t, uint8(k)
		return lw.dstSrcs(in, o, t, 2)
	case "ld", "ldu", "st":
		return lw.lowerLdSt(in, ms, o)
	case "atom", "red":
		return lw.lowerAtom(in, ms, o)
	case "fence", "membar":
		o.code = opFence
		o.sem = semAcqRel
		if in.op == "membar" {
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
		if len(in.args) != 0 || len(ms.types) != 0 {
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
		if in.args[0].kind != oSym {
			return lw.unsupported(in, "indirect branch")
		}
		o.code = opBra
		i := lw.emit(*o)
		lw.fixups = append(lw.fixups, fixup{op: i, label: in.args[0].name, line: in.line})
		return nil
	case "brx":
		return lw.unsupported(in, "indirect branch through a label table")
	case "call":
		return lw.lowerCall(in, ms, o)
	case "ret":
		ms.take("uni")
		o.code = opRet
		if lw.curFunc.entry {
			o.code = opExit
		}
		lw.emit(*o)
		return nil
	case "exit", "trap", "brkpt":
		o.code = map[string]opcode{"exit": opExit, "trap": opTrap, "brkpt": opBrkpt}[in.op]
		lw.emit(*o)
		return nil
	case "nanosleep":
		o.code = opNanosleep
		if _, err := lw.oneType(in, ms); err != nil {
			return err
		}
		return lw.srcsOnly(in, o, tU32, 1)
	case "prefetch", "prefetchu", "pmevent":
		// Hints with no architectural effect on results.
		for ms.takeOne(append(append([]string{}, cacheOps...), "global", "local", "L1", "L2", "tensormap", "L2::evict_last", "L2::evict_normal")...) >= 0 {
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
		o.d[0], err = lw.dst(in, in.args[0])
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

// typedOps lowers "op d, a, b, ..." where source i has type types[i].
func (lw *lowerer) typedOps(in *instr, o *op, types ...ptype) error {
	if err := lw.nargs(in, len(types)+1); err != nil {
		return err
	}
	var err error
	if o.d[0], err = lw.dst(in, in.args[0]); err != nil {
		return err
	}
	for i, t := range types {
		if o.a[i], err = lw.src(in, in.args[i+1], t); err != nil {
			return err
		}
	}
	lw.emit(*o)
	return nil
}

// dstSrcs lowers "op d, a, b, ..." with n operands in all.
func (lw *lowerer) dstSrcs(in *instr, o *op, t ptype, n int) error {
	if err := lw.nargs(in, n); err != nil {
		return err
	}
	var err error
	if o.d[0], err = lw.dst(in, in.args[0]); err != nil {
		return err
	}
	if err := lw.srcs(in, o, t, 1); err != nil {
		return err
	}
	lw.emit(*o)
	return nil
}

func (lw *lowerer) srcsOnly(in *instr, o *op, t ptype, n int) error {
	if err := lw.nargs(in, n); err != nil {
		return err
	}
	if err := lw.srcs(in, o, t, 0); err != nil {
		return err
	}
	lw.emit(*o)
	return nil
}

func (lw *lowerer) binary(in *instr, o *op, t ptype) error { return lw.dstSrcs(in, o, t, 3) }

func (lw *lowerer) lowerMov(in *instr, ms *modSet, o *op) error {
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	if err := lw.nargs(in, 2); err != nil {
		return err
	}
	d, a := in.args[0], in.args[1]
	o.typ = t
	switch {
	case d.kind == oVec: // mov.b64 {lo, hi}, a
		if len(d.elems) < 2 || len(d.elems) > 4 || t.size()%len(d.elems) != 0 {
			return lw.errAt(in.line, "cannot unpack .%s into %d parts", t, len(d.elems))
		}
		o.code = opUnpack
		o.vec = uint8(len(d.elems))
		for i, e := range d.elems {
			if o.d[i], err = lw.dst(in, e); err != nil {
				return err
			}
		}
		if o.a[0], err = lw.src(in, a, t); err != nil {
			return err
		}
	case a.kind == oVec: // mov.b64 d, {lo, hi}
		if len(a.elems) < 2 || len(a.elems) > 4 || t.size()%len(a.elems) != 0 {
			return lw.errAt(in.line, "cannot pack %d parts into .%s", len(a.elems), t)
		}
		o.code = opPack
		o.vec = uint8(len(a.elems))
		et := ptype(kB) | ptype(bitsLog(t.size()/len(a.elems)))
		for i, e := range a.elems {
			if e.kind == oSink {
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
		if k, ok := clockNames[a.name]; ok && a.kind == oReg {
			o.code, o.sub = opClock, k
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

func (lw *lowerer) lowerArith(in *instr, ms *modSet, o *op) error {
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	o.typ = t
	n := 3
	switch in.op {
	case "add", "sub":
		o.code = opAdd
		if in.op == "sub" {
			o.code = opSub
		}
		if ms.take("cc") {
			o.code, o.flags = opAddCC, o.flags|fCC
			if in.op == "sub" {
				o.sub = 2
			}
		}
	case "addc", "subc":
		o.code = opAddCC
		o.sub = 1
		if in.op == "subc" {
			o.sub = 3
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
				if in.op == "mul" && t.size() > 1 {
					return lw.unsupported(in, "integer mul needs .lo, .hi or .wide")
				}
			}
			if in.op == "mul24" {
				if o.code != opMul {
					return lw.unsupported(in, "mul24.hi")
				}
				o.sub2 = 24 // 24-bit operands; see exec
			}
		}
	case "mad", "fma", "mad24":
		o.code, n = opMad, 4
		if !t.float() {
			if in.op == "fma" {
				return lw.unsupported(in, "fma takes float types")
			}
			switch ms.takeOne("lo", "hi", "wide") {
			case 1:
				o.code = opMadHi
			case 2:
				o.code = opMadWide
			case -1:
				return lw.unsupported(in, "integer mad needs .lo, .hi or .wide")
			}
			if in.op == "mad24" {
				if o.code != opMad {
					return lw.unsupported(in, "mad24.hi")
				}
				o.sub2 = 24 // 24-bit operands; see exec
			}
			if ms.take("cc") {
				return lw.unsupported(in, "mad.cc")
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
		if in.op == "max" {
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
	if t.float() {
		if t == tF16 {
			return lw.unsupported(in, "half-precision arithmetic")
		}
		o.sub = uint8(ms.rounding())
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
	if err := lw.nargs(in, n); err != nil {
		return err
	}
	if o.d[0], err = lw.dst(in, in.args[0]); err != nil {
		return err
	}
	for i := 1; i < n; i++ {
		st := t
		if i == 3 && o.code == opMadWide {
			st = ptype(t.kind()) | ptype(bitsLog(t.size()*2))
		}
		if o.a[i-1], err = lw.src(in, in.args[i], st); err != nil {
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

func (lw *lowerer) lowerUnary(in *instr, ms *modSet, o *op) error {
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	o.typ = t
	o.code = map[string]opcode{"abs": opAbs, "neg": opNeg, "not": opNot, "cnot": opCnot, "popc": opPopc, "clz": opClz, "brev": opBrev}[in.op]
	if t.float() {
		if o.code != opAbs && o.code != opNeg || t == tF16 {
			return lw.unsupported(in, "float type")
		}
		if ms.take("ftz") {
			o.flags |= fFtz
		}
	}
	return lw.dstSrcs(in, o, t, 2)
}

func (lw *lowerer) lowerBits(in *instr, ms *modSet, o *op) error {
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	o.typ = t
	switch in.op {
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
		o.code = opPrmt
		if i := ms.takeOne("f4e", "b4e", "rc8", "ecl", "ecr", "rc16"); i >= 0 {
			o.sub = uint8(i + 1)
		}
		return lw.dstSrcs(in, o, tU32, 4)
	}
	return lw.unsupported(in, "unknown bit-field operation")
}

func (lw *lowerer) lowerSetp(in *instr, ms *modSet, o *op) error {
	cmp := ms.takeName(cmpNames)
	if cmp < 0 {
		return lw.unsupported(in, "missing comparison")
	}
	o.sub = uint8(cmp)
	bop := ms.takeOne("and", "or", "xor")
	if ms.take("ftz") {
		o.flags |= fFtz
	}
	if in.op == "setp" {
		o.code, o.typ = opSetp, tPred
		t, err := lw.oneType(in, ms)
		if err != nil {
			return err
		}
		o.typ2 = t
	} else {
		o.code = opSet
		if len(ms.types) != 2 {
			return lw.errAt(in.line, "set needs a destination and a source type")
		}
		o.typ, o.typ2 = ms.types[0], ms.types[1]
	}
	want := 3
	if bop >= 0 {
		want = 4
		o.flags |= fHasC
		o.sub2 = uint8(bop)
	}
	if err := lw.nargs(in, want); err != nil {
		return err
	}
	var err error
	d := in.args[0]
	if d.kind == oPair {
		if o.code != opSetp {
			return lw.errAt(in.line, "set has one destination")
		}
		if o.d[0], err = lw.dst(in, d.elems[0]); err != nil {
			return err
		}
		if o.d[1], err = lw.dst(in, d.elems[1]); err != nil {
			return err
		}
	} else if o.d[0], err = lw.dst(in, d); err != nil {
		return err
	}
	for i := 1; i < 3; i++ {
		if o.a[i-1], err = lw.src(in, in.args[i], o.typ2); err != nil {
			return err
		}
	}
	if want == 4 {
		c := in.args[3]
		if c.neg {
			o.flags |= fNegC
		}
		if o.a[2], err = lw.src(in, c, tPred); err != nil {
			return err
		}
	}
	lw.emit(*o)
	return nil
}

func (lw *lowerer) lowerCvt(in *instr, ms *modSet, o *op) error {
	o.code = opCvt
	o.sub = uint8(ms.rounding())
	if ms.take("ftz") {
		o.flags |= fFtz
	}
	if ms.take("sat") {
		o.flags |= fSat
	}
	if len(ms.types) != 2 {
		return lw.errAt(in.line, "cvt needs a destination and a source type")
	}
	o.typ, o.typ2 = ms.types[0], ms.types[1]
	if o.typ == tPred || o.typ2 == tPred || o.typ == tB128 || o.typ2 == tB128 {
		return lw.unsupported(in, "cvt of this type")
	}
	r := rounding(o.sub)
	dF, sF := o.typ.float(), o.typ2.float()
	switch {
	case dF && sF && o.typ.size() < o.typ2.size(), !dF && sF, dF && !sF:
		if r == rndNone && !(dF && sF) {
			return lw.errAt(in.line, "cvt.%s.%s needs a rounding modifier", o.typ, o.typ2)
		}
	}
	if err := lw.nargs(in, 2); err != nil {
		return err
	}
	var err error
	if o.d[0], err = lw.dst(in, in.args[0]); err != nil {
		return err
	}
	if o.a[0], err = lw.src(in, in.args[1], o.typ2); err != nil {
		return err
	}
	lw.emit(*o)
	return nil
}

func (lw *lowerer) lowerCvta(in *instr, ms *modSet, o *op) error {
	to := ms.take("to")
	sp, ok := ms.stateSpace()
	if !ok {
		return lw.unsupported(in, "needs a state space")
	}
	o.space = sp
	if in.op == "isspacep" { // isspacep.space p, a: no type
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

func (lw *lowerer) lowerFloat1(in *instr, ms *modSet, o *op) error {
	o.code = opFloat1
	o.sub = map[string]uint8{"rcp": fnRcp, "sqrt": fnSqrt, "rsqrt": fnRsqrt, "sin": fnSin, "cos": fnCos, "lg2": fnLg2, "ex2": fnEx2, "tanh": fnTanh}[in.op]
	if ms.take("approx") {
		o.flags |= fApprox
	}
	o.sub2 = uint8(ms.rounding())
	if ms.take("ftz") {
		o.flags |= fFtz
	}
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	if !t.float() || t == tF16 {
		return lw.unsupported(in, "type")
	}
	o.typ = t
	approxOnly := o.sub >= fnRsqrt
	if (o.flags&fApprox != 0) == (o.sub2 != 0) {
		return lw.unsupported(in, "needs exactly one of .approx or a rounding modifier")
	}
	if approxOnly && o.flags&fApprox == 0 {
		return lw.unsupported(in, in.op+" exists only as .approx")
	}
	if t == tF64 && o.flags&fApprox != 0 && !(o.sub == fnRcp && o.flags&fFtz != 0 || o.sub == fnRsqrt) {
		return lw.unsupported(in, ".approx.f64")
	}
	if o.sub == fnTanh && t != tF32 {
		return lw.unsupported(in, "tanh.approx is .f32 only")
	}
	return lw.dstSrcs(in, o, t, 2)
}

func (lw *lowerer) lowerLdSt(in *instr, ms *modSet, o *op) error {
	o.code = opLd
	if in.op == "st" {
		o.code = opSt
	}
	if in.op == "ldu" {
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
	if o.space == spParam && lw.curFunc != nil && !lw.curFunc.entry {
		o.space = spParamF
	}
	if ms.take("nc") {
		o.flags |= fNC
	}
	for ms.takeOne(cacheOps...) >= 0 {
	}
	o.vec = 1
	switch ms.takeOne("v2", "v4") {
	case 0:
		o.vec = 2
	case 1:
		o.vec = 4
	}
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	if t == tPred || t == tB128 {
		return lw.unsupported(in, "type")
	}
	o.typ = t
	if err := lw.nargs(in, 2); err != nil {
		return err
	}
	addr, val := in.args[1], in.args[0]
	if o.code == opSt {
		addr, val = in.args[0], in.args[1]
	}
	if addr.kind != oAddr {
		return lw.errAt(in.line, "%s needs an [address] operand", in.op)
	}
	if err := lw.address(in, o, addr); err != nil {
		return err
	}
	elems := []operand{val}
	if o.vec > 1 {
		if val.kind != oVec || len(val.elems) != int(o.vec) {
			return lw.errAt(in.line, "%s.v%d needs a vector of %d registers", in.op, o.vec, o.vec)
		}
		elems = val.elems
	}
	for i, e := range elems {
		if o.code == opLd {
			o.d[i], err = lw.dst(in, e)
		} else if e.kind == oSink {
			o.d[i] = lw.constSlot(0)
		} else {
			o.d[i], err = lw.src(in, e, t)
		}
		if err != nil {
			return err
		}
	}
	lw.emit(*o)
	return nil
}

// address lowers [base+off] into o.a[0] and o.off. A variable name resolves
// to its address in its own space; when the instruction names no space the
// variable's space is used.
func (lw *lowerer) address(in *instr, o *op, a operand) error {
	if len(a.elems) > 0 {
		return lw.unsupported(in, "a bracketed operand list")
	}
	o.off = a.off
	b := a.base
	switch b.kind {
	case oImm:
		o.a[0] = lw.constSlot(uint64(b.i))
		return nil
	case oReg, oSym:
		if r, ok := lw.lookupReg(b.name); ok {
			o.a[0] = r.slot
			return nil
		}
		v, ok := lw.lookupVar(b.name)
		if !ok {
			return lw.errAt(in.line, "undefined name %s", b.name)
		}
		if v.addr == ^uint64(0) {
			o.a[0] = lw.constSlot(dynSharedSentinel)
		} else {
			o.a[0] = lw.constSlot(v.addr)
		}
		if o.space == spGeneric {
			o.space = v.space
		} else if o.space != v.space && !(o.space == spParam && v.space == spParamF) {
			return lw.errAt(in.line, "%s is a .%s variable, accessed as .%s", b.name, v.space, o.space)
		}
		if o.space == spParam && v.space == spParamF {
			o.space = spParamF
		}
		return nil
	}
	return lw.errAt(in.line, "bad address")
}

func (lw *lowerer) lowerAtom(in *instr, ms *modSet, o *op) error {
	o.code = opAtom
	if in.op == "red" {
		o.code = opRed
	}
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
	k := ms.takeName(atomNames)
	if k < 0 {
		return lw.unsupported(in, "missing atomic operation")
	}
	o.sub = uint8(k)
	if ms.take("noftz") {
		// add.noftz.f16 etc.: no subnormal flushing; our f32 add never flushes.
	}
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	if t.size() < 4 || t == tB128 || t == tF16 {
		return lw.unsupported(in, "atomic type")
	}
	if t.float() && o.sub != atomAdd && o.sub != atomExch && o.sub != atomMin && o.sub != atomMax {
		return lw.unsupported(in, "float atomic operation")
	}
	o.typ = t
	args := in.args
	if o.code == opAtom {
		if len(args) < 1 {
			return lw.errAt(in.line, "atom needs a destination")
		}
		if o.d[0], err = lw.dst(in, args[0]); err != nil {
			return err
		}
		args = args[1:]
	}
	want := 2
	if o.sub == atomCAS {
		want = 3
		if o.code == opRed {
			return lw.unsupported(in, "red.cas")
		}
	}
	if len(args) != want {
		return lw.errAt(in.line, "%s.%s takes %d operands after the destination", in.op, in.mods, want)
	}
	if args[0].kind != oAddr {
		return lw.errAt(in.line, "%s needs an [address] operand", in.op)
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

func (lw *lowerer) lowerCall(in *instr, ms *modSet, o *op) error {
	if ms.take("uni") {
		o.flags |= fUni
	}
	args := in.args
	var rets, params []operand
	if len(args) > 0 && args[0].kind == oList {
		rets = args[0].elems
		args = args[1:]
	}
	if len(args) == 0 || args[0].kind != oSym {
		return lw.unsupported(in, "indirect call")
	}
	name := args[0].name
	args = args[1:]
	if len(args) > 0 && args[0].kind == oList {
		params = args[0].elems
		args = args[1:]
	}
	if len(args) != 0 {
		return lw.unsupported(in, "call with a prototype or target list")
	}
	f, ok := lw.funcs[name]
	if !ok {
		return lw.errAt(in.line, "call to undefined function %s", name)
	}
	if f.entry {
		return lw.errAt(in.line, "call to an entry (%s)", name)
	}
	if f.body == nil {
		return &UnsupportedError{Line: in.line, Instr: "call", What: fmt.Sprintf("external function %s (no body in this module)", name)}
	}
	if len(params) != len(f.params) || len(rets) != len(f.rets) {
		return lw.errAt(in.line, "call to %s passes %d args and %d results; it takes %d and %d", name, len(params), len(rets), len(f.params), len(f.rets))
	}
	if lw.callers == nil {
		lw.callers = map[string][]callEdge{}
	}
	lw.callers[lw.curFunc.name] = append(lw.callers[lw.curFunc.name], callEdge{name, in.line})
	// The callee's parameters live at fixed per-lane offsets (no recursion).
	site := callSite{}
	calleeVars := lw.calleeParams(f)
	for i, a := range params {
		v, ok := lw.lookupVar(a.name)
		if a.kind != oSym || !ok || v.space != spParamF {
			return lw.unsupported(in, "call argument that is not a .param variable")
		}
		cv := calleeVars[f.params[i].name]
		site.args = append(site.args, paramCopy{from: int(v.addr), to: int(cv.addr), size: min(v.size, cv.size)})
	}
	for i, r := range rets {
		v, ok := lw.lookupVar(r.name)
		if r.kind != oSym || !ok || v.space != spParamF {
			return lw.unsupported(in, "call result that is not a .param variable")
		}
		cv := calleeVars[f.rets[i].name]
		site.rets = append(site.rets, paramCopy{from: int(cv.addr), to: int(v.addr), size: min(v.size, cv.size)})
	}
	o.code = opCall
	o.aux = int32(len(lw.p.calls))
	lw.p.calls = append(lw.p.calls, site)
	i := lw.emit(*o)
	lw.fixups = append(lw.fixups, fixup{op: i, fn: name, line: in.line})
	if !lw.lowered[name] {
		lw.queue = append(lw.queue, f)
	}
	return nil
}

// calleeParams gives the per-lane parameter addresses of a .func, assigning
// them on first use; function() reuses the same assignment.
func (lw *lowerer) calleeParams(f *funcDecl) map[string]varInfo {
	if lw.fparams == nil {
		lw.fparams = map[string]map[string]varInfo{}
	}
	if m, ok := lw.fparams[f.name]; ok {
		return m
	}
	m := map[string]varInfo{}
	for _, pd := range append(append([]*varDecl{}, f.params...), f.rets...) {
		m[pd.name] = lw.allocParamF(pd)
	}
	lw.fparams[f.name] = m
	return m
}

func (lw *lowerer) lowerBar(in *instr, ms *modSet, o *op) error {
	ms.take("cta")
	if ms.take("warp") {
		if !ms.take("sync") {
			return lw.unsupported(in, "bar.warp needs .sync")
		}
		o.code = opWarpSync
		return lw.srcsOnly(in, o, tB32, 1)
	}
	aligned := in.op == "bar" || ms.take("aligned")
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
		o.sub = 1 + uint8(ms.takeOne("popc", "and", "or"))
		if o.sub == 0 {
			return lw.unsupported(in, "bar.red needs .popc, .and or .or")
		}
	default:
		if in.op == "bar" && len(ms.other) == 0 { // plain "bar 0" is bar.sync
			o.code = opBar
			break
		}
		return lw.unsupported(in, "barrier operation")
	}
	args := in.args
	if o.sub > 0 {
		t, err := lw.oneType(in, ms)
		if err != nil {
			return err
		}
		o.typ = t
		if len(args) < 3 {
			return lw.errAt(in.line, "bar.red needs a destination, a barrier and a predicate")
		}
		var err2 error
		if o.d[0], err2 = lw.dst(in, args[0]); err2 != nil {
			return err2
		}
		c := args[len(args)-1]
		if c.neg {
			o.flags |= fNegC
		}
		if o.a[2], err2 = lw.src(in, c, tPred); err2 != nil {
			return err2
		}
		args = args[1 : len(args)-1]
	}
	if len(args) < 1 || len(args) > 2 {
		return lw.errAt(in.line, "%s takes a barrier and an optional thread count", in.op)
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
		return lw.errAt(in.line, "bar.arrive needs a thread count")
	}
	lw.emit(*o)
	return nil
}

func (lw *lowerer) lowerWarp(in *instr, ms *modSet, o *op) error {
	if !ms.take("sync") {
		return lw.unsupported(in, "only the .sync form (sm_70+) of warp collectives is supported")
	}
	t, err := lw.oneType(in, ms)
	if err != nil {
		return err
	}
	o.typ = t
	args := in.args
	dst := func() error {
		d := args[0]
		if d.kind == oPair {
			if o.d[0], err = lw.dst(in, d.elems[0]); err != nil {
				return err
			}
			o.d[1], err = lw.dst(in, d.elems[1])
			return err
		}
		o.d[0], err = lw.dst(in, d)
		return err
	}
	switch in.op {
	case "shfl":
		o.code = opShfl
		m := ms.takeOne("up", "down", "bfly", "idx")
		if m < 0 {
			return lw.unsupported(in, "shfl mode")
		}
		o.sub = uint8(m)
		if t.size() != 4 {
			return lw.unsupported(in, "shfl.sync works on 32-bit values")
		}
		if err := lw.nargs(in, 5); err != nil {
			return err
		}
		if err := dst(); err != nil {
			return err
		}
		for i := 1; i < 5; i++ {
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
		switch in.op {
		case "vote":
			o.code, srcType = opVote, tPred
			m := ms.takeOne("all", "any", "uni", "ballot")
			if m < 0 {
				return lw.unsupported(in, "vote mode")
			}
			o.sub = uint8(m)
			if (m == 3) != (t == tB32) {
				return lw.unsupported(in, "vote.ballot gives .b32, the others .pred")
			}
			if len(args) > 1 && args[1].neg {
				o.flags |= fNegC
			}
		case "match":
			o.code = opMatch
			m := ms.takeOne("any", "all")
			if m < 0 {
				return lw.unsupported(in, "match mode")
			}
			o.sub = uint8(m)
			if t != tB32 && t != tB64 {
				return lw.unsupported(in, "match takes .b32 or .b64")
			}
		case "redux":
			o.code = opRedux
			m := ms.takeOne("add", "min", "max", "and", "or", "xor")
			if m < 0 {
				return lw.unsupported(in, "redux operation")
			}
			o.sub = uint8(m)
		}
		if err := lw.nargs(in, 3); err != nil {
			return err
		}
		if err := dst(); err != nil {
			return err
		}
		if o.a[0], err = lw.src(in, args[1], srcType); err != nil {
			return err
		}
		if o.a[1], err = lw.src(in, args[2], tB32); err != nil {
			return err
		}
	}
	lw.emit(*o)
	return nil
}
