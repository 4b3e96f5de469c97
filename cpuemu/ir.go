package cpuemu

// The IR: each function is lowered once to a flat slice of fixed-size ops.
// Registers are slots in a warp's register file, laid out slot-major
// (slot*32 + lane), so an op over a warp touches contiguous words. Ops hold
// slot*32 directly. Immediates and special registers (%tid.x, %laneid, ...)
// are slots too, filled when a warp starts, so every source is a slot.

// ptype is a PTX fundamental type: the kind in the high bits, the log2 of the
// size in bytes in the low bits.
type ptype uint8

const (
	kU ptype = iota << 4
	kS
	kB
	kF // .f32, .f64
	kPred
	kH  // .f16, .f16x2
	kBF // .bf16, .bf16x2
	kE4 // .e4m3, .e4m3x2
	kE5 // .e5m2, .e5m2x2
)

const (
	tU8   ptype = kU
	tU16  ptype = kU | 1
	tU32  ptype = kU | 2
	tU64  ptype = kU | 3
	tS8   ptype = kS
	tS16  ptype = kS | 1
	tS32  ptype = kS | 2
	tS64  ptype = kS | 3
	tB8   ptype = kB
	tB16  ptype = kB | 1
	tB32  ptype = kB | 2
	tB64  ptype = kB | 3
	tB128 ptype = kB | 4
	tF32  ptype = kF | 2
	tF64  ptype = kF | 3
	tPred ptype = kPred
	// The narrow floats: a packed pair (x2) takes its container's size.
	tF16    ptype = kH | 1
	tF16x2  ptype = kH | 2
	tBF16   ptype = kBF | 1
	tBF16x2 ptype = kBF | 2
	tE4M3   ptype = kE4
	tE4M3x2 ptype = kE4 | 1
	tE5M2   ptype = kE5
	tE5M2x2 ptype = kE5 | 1
)

func (t ptype) kind() ptype  { return t & 0xf0 }
func (t ptype) size() int    { return 1 << (t & 0xf) }
func (t ptype) bits() int    { return 8 << (t & 0xf) }
func (t ptype) signed() bool { return t.kind() == kS }
func (t ptype) float() bool  { return t.kind() == kF }

// narrow reports whether t is one of the narrow floats (.f16, .bf16,
// fp8), scalar or packed, which only the half-precision lowering takes.
func (t ptype) narrow() bool {
	switch t.kind() {
	case kH, kBF, kE4, kE5:
		return true
	}
	return false
}

// halfFmt is a narrow type's element format and how many elements its
// container holds.
func (t ptype) halfFmt() (halfFormat, int) {
	switch t.kind() {
	case kH:
		return fmtF16, t.size() / 2
	case kBF:
		return fmtBF16, t.size() / 2
	case kE4:
		return fmtE4M3, t.size()
	}
	return fmtE5M2, t.size()
}

var typeNames = map[string]ptype{
	"u8": tU8, "u16": tU16, "u32": tU32, "u64": tU64,
	"s8": tS8, "s16": tS16, "s32": tS32, "s64": tS64,
	"b8": tB8, "b16": tB16, "b32": tB32, "b64": tB64, "b128": tB128,
	"f32": tF32, "f64": tF64, "pred": tPred,
	"f16": tF16, "f16x2": tF16x2, "bf16": tBF16, "bf16x2": tBF16x2,
	"e4m3": tE4M3, "e4m3x2": tE4M3x2, "e5m2": tE5M2, "e5m2x2": tE5M2x2,
}

func (t ptype) String() string {
	for n, v := range typeNames {
		if v == t {
			return n
		}
	}
	return "?"
}

// State spaces.
type space uint8

const (
	spGeneric space = iota
	spGlobal
	spShared
	spLocal
	spParam  // kernel parameters (read-only)
	spParamF // per-lane function parameters and call scratch
	spConst
)

var spaceNames = [...]string{"generic", "global", "shared", "local", "param", "param", "const"}

func (s space) String() string { return spaceNames[s] }

type opcode uint8

const (
	opNop opcode = iota
	opMov
	opAdd
	opSub
	opMul   // .lo for ints
	opMulHi // ints
	opMulWide
	opMad // .lo for ints; fma for floats
	opMadHi
	opMadWide
	opDiv
	opRem
	opAbs
	opNeg
	opMin
	opMax
	opAnd
	opOr
	opXor
	opNot
	opCnot
	opShl
	opShr
	opShf
	opLop3
	opPopc
	opClz
	opBrev
	opBfe
	opBfi
	opBfind
	opPrmt
	opSad
	opDp4a // dp4a, dp2a: typ and typ2 the a and b types
	opBmsk
	opSzext
	opHalf    // narrow-float arithmetic: typ = the packed or scalar type
	opHalfCmp // narrow-float setp/set: typ2 = the compared type
	opCvtPack // cvt.pack.sat: signed per typ; a[2] = c
	opVideo   // scalar video instruction: a[2] = c
	opAddCC   // add.cc / addc / sub.cc / subc; fCC when it writes the carry
	opSetp
	opSet
	opSelp
	opSlct
	opCvt
	opCvta   // to generic from space
	opCvtaTo // from generic to space
	opIsspacep
	opPack   // mov.bN d, {a, b, ...}
	opUnpack // mov.bN {d0, d1, ...}, a
	opFloat1 // unary float function
	opCopysign
	opTestp
	opClock
	opLd
	opSt
	opAtom
	opRed
	opFence
	opBra
	opCall
	opRet
	opExit
	opTrap
	opNanosleep
	opActivemask
	opWarpSync // bar.warp.sync
	opShfl
	opVote
	opMatch
	opRedux
	opBar // bar.sync / barrier.sync / bar.red
	opBarArrive
	opBrkpt
	opBrx     // brx.idx: aux = branch table
	opCallInd // call through a function pointer in a[0]: aux = indirect site
	// opCallBuiltin is a call to a function the emulator provides
	// (vprintf, __assertfail), see printf.go.
	opCallBuiltin
	// The asynchronous copies and mbarriers (async.go, mbarrier.go).
	opMbar     // mbarrier.*: sub = the operation; flags fParity, fNoComplete, fNoinc, fExpectTx
	opCpAsync  // cp.async and cp.async.bulk: a[0] dst, a[1] src, a[2] size, a[3] src-size or the mbarrier
	opAsyncCtl // cp.async{.bulk}.commit_group / wait_group N / wait_all: sub = the action, off = N
	opElect    // elect.sync d|p, membermask
	opCount
)

// opExec says which part of the interpreter runs an opcode.
type opExec uint8

const (
	// execLoop: a case of warp.exec's own switch (control flow, memory,
	// collectives, barriers, calls).
	execLoop opExec = iota + 1
	// execALU: warp.alu, through a fast form or aluLane.
	execALU
	// execFast: warp.alu, always through a fast form (classifyFast gives
	// every op of the opcode one).
	execFast
)

// opInfo is what the interpreter knows of an opcode: its name in dumps
// and reports, the executor that runs it, and the table (modes.go) whose
// values its sub and sub2 hold; nil when the field is not used, quantity
// when it holds a number.
type opInfo struct {
	name      string
	exec      opExec
	sub, sub2 *modeTable
}

// opTable has a row for every opcode; TestOpTable checks that none is
// missing and that each executor has the opcode among its cases.
var opTable = [opCount]opInfo{
	opNop:         {"nop", execLoop, nil, nil},
	opMov:         {"mov", execFast, nil, nil},
	opAdd:         {"add", execALU, &roundingModes, nil},
	opSub:         {"sub", execALU, &roundingModes, nil},
	opMul:         {"mul", execALU, &roundingModes, &mulModes},
	opMulHi:       {"mul.hi", execALU, nil, &mulModes},
	opMulWide:     {"mul.wide", execALU, nil, nil},
	opMad:         {"mad", execALU, &roundingModes, &mulModes},
	opMadHi:       {"mad.hi", execALU, nil, &mulModes},
	opMadWide:     {"mad.wide", execALU, nil, nil},
	opDiv:         {"div", execALU, &roundingModes, nil},
	opRem:         {"rem", execALU, nil, nil},
	opAbs:         {"abs", execALU, nil, nil},
	opNeg:         {"neg", execALU, nil, nil},
	opMin:         {"min", execALU, nil, nil},
	opMax:         {"max", execALU, nil, nil},
	opAnd:         {"and", execALU, nil, nil},
	opOr:          {"or", execALU, nil, nil},
	opXor:         {"xor", execALU, nil, nil},
	opNot:         {"not", execALU, nil, nil},
	opCnot:        {"cnot", execALU, nil, nil},
	opShl:         {"shl", execALU, nil, nil},
	opShr:         {"shr", execALU, nil, nil},
	opShf:         {"shf", execALU, &shfDirModes, &clampModes},
	opLop3:        {"lop3", execALU, nil, nil},
	opPopc:        {"popc", execALU, nil, nil},
	opClz:         {"clz", execALU, nil, nil},
	opBrev:        {"brev", execALU, nil, nil},
	opBfe:         {"bfe", execALU, nil, nil},
	opBfi:         {"bfi", execALU, nil, nil},
	opBfind:       {"bfind", execALU, nil, nil},
	opPrmt:        {"prmt", execALU, &prmtModes, nil},
	opSad:         {"sad", execALU, nil, nil},
	opDp4a:        {"dp4a", execALU, &dotModes, nil},
	opBmsk:        {"bmsk", execALU, &clampModes, nil},
	opSzext:       {"szext", execALU, &clampModes, nil},
	opHalf:        {"half", execALU, &halfFnModes, nil},
	opHalfCmp:     {"half.cmp", execALU, &cmpModes, &boolModes},
	opCvtPack:     {"cvt.pack", execALU, quantity, nil},
	opVideo:       {"video", execALU, nil, nil},
	opAddCC:       {"addc", execALU, &carryModes, nil},
	opSetp:        {"setp", execALU, &cmpModes, &boolModes},
	opSet:         {"set", execALU, &cmpModes, &boolModes},
	opSelp:        {"selp", execALU, nil, nil},
	opSlct:        {"slct", execALU, nil, nil},
	opCvt:         {"cvt", execALU, &roundingModes, nil},
	opCvta:        {"cvta", execALU, nil, nil},
	opCvtaTo:      {"cvta.to", execALU, nil, nil},
	opIsspacep:    {"isspacep", execALU, nil, nil},
	opPack:        {"pack", execALU, nil, nil},
	opUnpack:      {"unpack", execALU, nil, nil},
	opFloat1:      {"float1", execALU, &floatFnModes, &roundingModes},
	opCopysign:    {"copysign", execALU, nil, nil},
	opTestp:       {"testp", execALU, &testpModes, nil},
	opClock:       {"clock", execALU, &clockModes, nil},
	opLd:          {"ld", execLoop, nil, quantity},
	opSt:          {"st", execLoop, nil, quantity},
	opAtom:        {"atom", execLoop, &atomModes, nil},
	opRed:         {"red", execLoop, &atomModes, nil},
	opFence:       {"fence", execLoop, nil, nil},
	opBra:         {"bra", execLoop, nil, nil},
	opCall:        {"call", execLoop, nil, nil},
	opRet:         {"ret", execLoop, nil, nil},
	opExit:        {"exit", execLoop, nil, nil},
	opTrap:        {"trap", execLoop, nil, nil},
	opNanosleep:   {"nanosleep", execLoop, nil, nil},
	opActivemask:  {"activemask", execLoop, nil, nil},
	opWarpSync:    {"bar.warp.sync", execLoop, nil, nil},
	opShfl:        {"shfl", execLoop, &shflModes, nil},
	opVote:        {"vote", execLoop, &voteModes, nil},
	opMatch:       {"match", execLoop, &matchModes, nil},
	opRedux:       {"redux", execLoop, &reduxModes, nil},
	opBar:         {"bar", execLoop, &barRedModes, nil},
	opBarArrive:   {"bar.arrive", execLoop, nil, nil},
	opBrkpt:       {"brkpt", execLoop, nil, nil},
	opBrx:         {"brx.idx", execLoop, nil, nil},
	opCallInd:     {"call.indirect", execLoop, nil, nil},
	opCallBuiltin: {"call.builtin", execLoop, &builtinModes, nil},
	opMbar:        {"mbarrier", execLoop, &mbarModes, nil},
	opCpAsync:     {"cp.async", execLoop, &copyModes, nil},
	opAsyncCtl:    {"cp.async.ctl", execLoop, &asyncCtlModes, nil},
	opElect:       {"elect.sync", execLoop, nil, nil},
}

// opNames are the opcodes' names, from opTable.
var opNames = func() (n [opCount]string) {
	for c, info := range opTable {
		n[c] = info.name
	}
	return n
}()

func (o opcode) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op?"
}

// Flags on ops.
const (
	fFtz       = 1 << iota
	fSat       // .sat
	fApprox    // .approx
	fFull      // .full
	fNaN       // .NaN on min/max
	fRelu      // .relu
	fVolatile  // strong at .sys
	fNC        // ld.global.nc / ldu
	fAligned   // barrier .aligned
	fUni       // bra.uni / call.uni
	fCC        // writes the carry flag
	fNegC      // setp/bar.red: the bool operand is negated
	fHasC      // setp with a bool op; bar with a thread count
	fShiftAmt  // bfind.shiftamt
	fGuardNeg  // the guard is @!p
	fXorsign   // min/max .xorsign.abs
	fPair      // cvt of two sources into a packed pair
	fSatFinite // cvt .satfinite
	fLegacy    // vote or shfl without .sync: its membermask is the lanes that execute it together
	fParity    // mbarrier test_wait/try_wait .parity: a[1] is a phase parity, not a state
	fNoComplete
	fNoinc    // cp.async.mbarrier.arrive.noinc
	fExpectTx // mbarrier.arrive.expect_tx / arrive_drop.expect_tx
	flagEnd   // not a flag: the bit after the last
)

// flagNames are the flags' names in the IR dump, by bit.
var flagNames = [...]string{
	"ftz", "sat", "approx", "full", "NaN", "relu", "volatile", "nc", "aligned", "uni", "cc",
	"negc", "hasc", "shiftamt", "guardneg", "xorsign", "pair", "satfinite", "legacy",
	"parity", "nocomplete", "noinc", "expecttx",
}

// Memory-order semantics of ld/st/atom (for the checker: strong vs weak).
const (
	semWeak uint8 = iota
	semRelaxed
	semAcquire
	semRelease
	semAcqRel
	semVolatile
	semSC
	semCount
)

// Scopes.
const (
	scopeNone uint8 = iota
	scopeCTA
	scopeCluster
	scopeGPU
	scopeSys
	scopeCount
)

// Comparison operators for setp/set/slct.
const (
	cmpEQ uint8 = iota
	cmpNE
	cmpLT
	cmpLE
	cmpGT
	cmpGE
	cmpLO
	cmpLS
	cmpHI
	cmpHS
	cmpEQU
	cmpNEU
	cmpLTU
	cmpLEU
	cmpGTU
	cmpGEU
	cmpNUM
	cmpNAN
	cmpCount
)

// cmpNames gives a comparison by its PTX name (cmpModes, modes.go, by value).
var cmpNames = func() map[string]uint8 {
	m := map[string]uint8{}
	for v, n := range cmpModes.names {
		m[n] = uint8(v)
	}
	return m
}()

// Atomic operations.
const (
	atomAdd uint8 = iota
	atomMin
	atomMax
	atomExch
	atomCAS
	atomAnd
	atomOr
	atomXor
	atomInc
	atomDec
	atomCount
)

// op is one lowered instruction. Slot fields hold slot*32 (the base of the
// slot's 32 lanes); noSlot marks an absent operand.
type op struct {
	code   opcode
	typ    ptype // the instruction type
	typ2   ptype // second type: cvt source, setp/slct compare type
	sub    uint8 // a mode (which one opTable says): set and read through modes.go
	sub2   uint8 // a second mode, the same way
	space  space
	sem    uint8
	scope  uint8
	vec    uint8 // vector elements for ld/st (1, 2, 4)
	flags  uint32
	guard  int32 // predicate slot base, noSlot when unguarded
	d      [4]int32
	a      [4]int32
	off    int64 // address offset; lop3's table, a video instruction's spec (modes.go)
	target int32 // branch or call target (op index)
	line   int32 // PTX line
	loc    int32 // index into the module's source-location table, -1 if none
	aux    int32 // index into the program's tables: calls, indirect sites, branch tables
	fast   uint8 // fast form chosen by classifyFast, fastNone if none
}

const noSlot = -1
