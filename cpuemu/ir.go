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
	opDp4a // dp4a, dp2a: sub 0 dp4a, 1 dp2a.lo, 2 dp2a.hi; typ and typ2 the a and b types
	opBmsk
	opSzext
	opHalf    // narrow-float arithmetic: sub = hAdd..., typ = the packed or scalar type
	opHalfCmp // narrow-float setp/set: typ2 = the compared type
	opCvtPack // cvt.pack.sat: sub = the destination's bits, signed per typ; a[2] = c
	opVideo   // scalar video instruction: off = its videoSpec, packed; a[2] = c
	opAddCC   // add.cc / addc / sub.cc / subc: sub = 0 add.cc, 1 addc, 2 sub.cc, 3 subc; flag .cc on addc/subc
	opSetp
	opSet
	opSelp
	opSlct
	opCvt
	opCvta   // to generic: sub = space
	opCvtaTo // from generic: sub = space
	opIsspacep
	opPack   // mov.bN d, {a, b, ...}
	opUnpack // mov.bN {d0, d1, ...}, a
	opFloat1 // unary float function: sub = fn
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
	// (vprintf, __assertfail): sub = builtin, see printf.go.
	opCallBuiltin
	opCount
)

var opNames = [...]string{
	"nop", "mov", "add", "sub", "mul", "mul.hi", "mul.wide", "mad", "mad.hi", "mad.wide", "div", "rem",
	"abs", "neg", "min", "max", "and", "or", "xor", "not", "cnot", "shl", "shr", "shf", "lop3", "popc", "clz",
	"brev", "bfe", "bfi", "bfind", "prmt", "sad", "dp4a", "bmsk", "szext", "half", "half.cmp", "cvt.pack", "video", "addc", "setp", "set", "selp", "slct", "cvt", "cvta",
	"cvta.to", "isspacep", "pack", "unpack", "float1", "copysign", "testp", "clock", "ld", "st", "atom", "red",
	"fence", "bra", "call", "ret", "exit", "trap", "nanosleep", "activemask", "bar.warp.sync", "shfl", "vote",
	"match", "redux", "bar", "bar.arrive", "brkpt", "brx.idx", "call.indirect",
	"call.builtin",
}

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
)

// Narrow-float operations (opHalf's sub).
const (
	hAdd uint8 = iota
	hSub
	hMul
	hFma
	hNeg
	hAbs
	hMin
	hMax
	hEx2
	hTanh
)

// Memory-order semantics of ld/st/atom (for the checker: strong vs weak).
const (
	semWeak uint8 = iota
	semRelaxed
	semAcquire
	semRelease
	semAcqRel
	semVolatile
	semSC
)

// Scopes.
const (
	scopeNone uint8 = iota
	scopeCTA
	scopeCluster
	scopeGPU
	scopeSys
)

// float1 functions.
const (
	fnRcp uint8 = iota
	fnSqrt
	fnRsqrt
	fnSin
	fnCos
	fnLg2
	fnEx2
	fnTanh
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
)

var cmpNames = map[string]uint8{
	"eq": cmpEQ, "ne": cmpNE, "lt": cmpLT, "le": cmpLE, "gt": cmpGT, "ge": cmpGE,
	"lo": cmpLO, "ls": cmpLS, "hi": cmpHI, "hs": cmpHS,
	"equ": cmpEQU, "neu": cmpNEU, "ltu": cmpLTU, "leu": cmpLEU, "gtu": cmpGTU, "geu": cmpGEU,
	"num": cmpNUM, "nan": cmpNAN,
}

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
)

var atomNames = map[string]uint8{
	"add": atomAdd, "min": atomMin, "max": atomMax, "exch": atomExch, "cas": atomCAS,
	"and": atomAnd, "or": atomOr, "xor": atomXor, "inc": atomInc, "dec": atomDec,
}

// op is one lowered instruction. Slot fields hold slot*32 (the base of the
// slot's 32 lanes); noSlot marks an absent operand.
type op struct {
	code   opcode
	typ    ptype // the instruction type
	typ2   ptype // second type: cvt source, setp/slct compare type
	sub    uint8 // mode: cmp, rounding, shfl mode, atom op, float fn, space for cvta, ...
	sub2   uint8 // second mode: setp bool op, cvt rounding, ...
	space  space
	sem    uint8
	scope  uint8
	vec    uint8 // vector elements for ld/st (1, 2, 4)
	flags  uint32
	guard  int32 // predicate slot base, noSlot when unguarded
	d      [4]int32
	a      [4]int32
	off    int64 // address offset or immediate
	target int32 // branch or call target (op index)
	line   int32 // PTX line
	loc    int32 // index into the module's source-location table, -1 if none
	aux    int32 // index into the program's tables: calls, indirect sites, branch tables
	fast   uint8 // fast form chosen by classifyFast, fastNone if none
}

const noSlot = -1
