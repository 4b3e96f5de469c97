package cpuemu

import "fmt"

// An op's sub and sub2 fields hold its modes, and what they hold depends
// on the opcode: the rounding of a float add, the direction and clamping
// of shf, the kind of shuffle. Each meaning is a type here with named
// values and a table of their names: the lowering reads PTX modifiers
// through the names, the IR dump prints them. opTable (ir.go) says which
// table each opcode's sub and sub2 take their values from.
//
// The lowering sets the fields only through the setters below, and the
// executors read them through the accessors, which the compiler inlines:
// no number stands for a mode anywhere else. A few fields hold a quantity
// rather than a mode (cvt.pack's width, the alignment of a .v8 access's
// first half, lop3's table and a video instruction's spec in off); their
// setters and accessors are here too. TestOpTable checks that every
// opcode has a name and an executor and that every mode value has a name;
// TestLoweredModes that the lowering writes only named values, where
// opTable says; TestModeFieldsSetHere that nothing outside this file
// writes sub or sub2, and nothing reads them but exec.go's atomics (the
// atom* operations, like the cmp* comparisons, are plain uint8 constants)
// and its accessAlign.

// modeTable names the values of one kind of mode.
type modeTable struct {
	kind  string   // what the values are, for messages
	names []string // by value
	// quiet is the value PTX writes no modifier for, which the dump
	// leaves out (no rounding, prmt's generic mode); -1 if none.
	quiet int
}

// name is value v's name, or the kind and the number when v has none.
func (t *modeTable) name(v uint8) string {
	if int(v) < len(t.names) {
		return t.names[v]
	}
	return fmt.Sprintf("%s?%d", t.kind, v)
}

// value is the value named name.
func (t *modeTable) value(name string) (uint8, bool) {
	for v, n := range t.names {
		if n == name {
			return uint8(v), true
		}
	}
	return 0, false
}

// quantity stands in opTable for a field that holds a number, not a mode.
var quantity = &modeTable{kind: "quantity", quiet: -1}

// --- float rounding: sub of add ... mad and div on floats and of cvt;
// sub2 of float1 (rounding is in alu.go) ---

var roundingModes = modeTable{"rounding", []string{
	rndNone: "none", rndRN: "rn", rndRZ: "rz", rndRM: "rm", rndRP: "rp",
	rndRNI: "rni", rndRZI: "rzi", rndRMI: "rmi", rndRPI: "rpi",
}, int(rndNone)}

func (r rounding) String() string { return roundingModes.name(uint8(r)) }

func (o *op) setRounding(r rounding) { o.sub = uint8(r) }
func (o *op) rounding() rounding     { return rounding(o.sub) }

// --- mul24 and mad24: sub2 of mul, mul.hi, mad and mad.hi ---

// mulMode says which bits of the operands an integer multiply takes.
type mulMode uint8

const (
	mulWhole mulMode = iota // mul, mad
	mul24                   // mul24, mad24: the low 24 bits of each
	mulModeCount
)

var mulModes = modeTable{"multiply", []string{mulWhole: "whole", mul24: "24"}, int(mulWhole)}

func (o *op) setMulMode(m mulMode) { o.sub2 = uint8(m) }
func (o *op) mulMode() mulMode     { return mulMode(o.sub2) }

// --- add.cc, addc, sub.cc, subc (and mad.cc, madc): sub of opAddCC ---

// carryMode is an addition with the carry flag: whether CC.CF comes in
// and whether b is subtracted (a + ~b + carry in, as the hardware does).
type carryMode uint8

const (
	carryAdd  carryMode = iota // add.cc: no carry in
	carryAddc                  // addc: CC.CF in
	carrySub                   // sub.cc: carry in 1
	carrySubc                  // subc: CC.CF in
	carryModeCount
)

var carryModes = modeTable{"carry", []string{carryAdd: "add.cc", carryAddc: "addc", carrySub: "sub.cc", carrySubc: "subc"}, -1}

// subtracts reports whether b is complemented.
func (m carryMode) subtracts() bool { return m == carrySub || m == carrySubc }

// setCarry makes o an addition with the carry flag (fCC: it writes it).
func (o *op) setCarry(m carryMode) { o.code, o.sub = opAddCC, uint8(m) }
func (o *op) carryMode() carryMode { return carryMode(o.sub) }

// --- .clamp and .wrap: sub2 of shf, sub of bmsk and szext ---

// clampMode is what happens to a shift amount or a bit position past
// the width.
type clampMode uint8

const (
	modeWrap clampMode = iota
	modeClamp
	clampModeCount
)

var clampModes = modeTable{"clamp", []string{modeWrap: "wrap", modeClamp: "clamp"}, -1}

// --- shf: sub is the direction, sub2 the clamp mode ---

type shfDir uint8

const (
	shfR shfDir = iota
	shfL
	shfDirCount
)

var shfDirModes = modeTable{"shf direction", []string{shfR: "r", shfL: "l"}, -1}

func (o *op) setShf(d shfDir, c clampMode) { o.code, o.sub, o.sub2 = opShf, uint8(d), uint8(c) }
func (o *op) shfDir() shfDir               { return shfDir(o.sub) }
func (o *op) shfClamp() clampMode          { return clampMode(o.sub2) }

// setMask makes o a bmsk or an szext (code).
func (o *op) setMask(code opcode, c clampMode) { o.code, o.sub = code, uint8(c) }
func (o *op) maskClamp() clampMode             { return clampMode(o.sub) }

// --- dp4a and dp2a: sub of opDp4a ---

type dotMode uint8

const (
	dot4   dotMode = iota // dp4a
	dot2Lo                // dp2a.lo: b's low half-words
	dot2Hi                // dp2a.hi
	dotModeCount
)

var dotModes = modeTable{"dot product", []string{dot4: "dp4a", dot2Lo: "dp2a.lo", dot2Hi: "dp2a.hi"}, -1}

func (o *op) setDot(m dotMode) { o.code, o.sub = opDp4a, uint8(m) }
func (o *op) dotMode() dotMode { return dotMode(o.sub) }

// --- prmt: sub ---

type prmtMode uint8

const (
	prmtGeneric prmtMode = iota // no mode: each nibble of c selects a byte
	prmtF4E
	prmtB4E
	prmtRC8
	prmtECL
	prmtECR
	prmtRC16
	prmtModeCount
)

var prmtModes = modeTable{"prmt mode", []string{
	prmtGeneric: "generic", prmtF4E: "f4e", prmtB4E: "b4e", prmtRC8: "rc8",
	prmtECL: "ecl", prmtECR: "ecr", prmtRC16: "rc16",
}, int(prmtGeneric)}

func (o *op) setPrmt(m prmtMode) { o.code, o.sub = opPrmt, uint8(m) }
func (o *op) prmtMode() prmtMode { return prmtMode(o.sub) }

// --- narrow-float arithmetic: sub of opHalf ---

// halfFn is the operation of an opHalf.
type halfFn uint8

const (
	hAdd halfFn = iota // hAdd ... hFma in halfArith's order
	hSub
	hMul
	hFma
	hNeg
	hAbs
	hMin
	hMax
	hEx2
	hTanh
	halfFnCount
)

var halfFnModes = modeTable{"half operation", []string{
	hAdd: "add", hSub: "sub", hMul: "mul", hFma: "fma", hNeg: "neg",
	hAbs: "abs", hMin: "min", hMax: "max", hEx2: "ex2", hTanh: "tanh",
}, -1}

func (o *op) setHalf(fn halfFn) { o.code, o.sub = opHalf, uint8(fn) }
func (o *op) halfFn() halfFn    { return halfFn(o.sub) }

// --- comparisons: sub of setp, set and opHalfCmp (the cmp* constants
// are in ir.go); sub2 is the boolean operation when fHasC says there is one ---

var cmpModes = modeTable{"comparison", []string{
	cmpEQ: "eq", cmpNE: "ne", cmpLT: "lt", cmpLE: "le", cmpGT: "gt", cmpGE: "ge",
	cmpLO: "lo", cmpLS: "ls", cmpHI: "hi", cmpHS: "hs",
	cmpEQU: "equ", cmpNEU: "neu", cmpLTU: "ltu", cmpLEU: "leu", cmpGTU: "gtu", cmpGEU: "geu",
	cmpNUM: "num", cmpNAN: "nan",
}, -1}

func (o *op) setCmp(cmp uint8) { o.sub = cmp }
func (o *op) cmp() uint8       { return o.sub }

// boolMode is how a comparison combines with its predicate c.
type boolMode uint8

const (
	boolAnd boolMode = iota
	boolOr
	boolXor
	boolModeCount
)

var boolModes = modeTable{"bool operation", []string{boolAnd: "and", boolOr: "or", boolXor: "xor"}, -1}

func (o *op) setBoolMode(b boolMode) { o.sub2 = uint8(b) }
func (o *op) boolMode() boolMode     { return boolMode(o.sub2) }

// --- cvt.pack.sat: sub is the destination's width in bits, a quantity ---

// setCvtPack makes o a cvt.pack.sat to bits-bit parts (2, 4, 8 or 16).
func (o *op) setCvtPack(bits uint8) { o.code, o.sub = opCvtPack, bits }
func (o *op) packBits() uint        { return uint(o.sub) }

// --- the scalar video instructions: off holds the packed videoSpec ---

func (o *op) setVideo(v videoSpec) { o.code, o.off = opVideo, v.pack() }
func (o *op) video() videoSpec     { return unpackVideo(o.off) }

// --- lop3: off holds the lookup table ---

func (o *op) setLop3(lut uint8) { o.code, o.off = opLop3, int64(lut) }
func (o *op) lut() uint8        { return uint8(o.off) }

// --- float1: sub is the function, sub2 the rounding ---

// floatFn is the function of an opFloat1.
type floatFn uint8

const (
	fnRcp floatFn = iota
	fnSqrt
	fnRsqrt // fnRsqrt and after: .approx only
	fnSin
	fnCos
	fnLg2
	fnEx2
	fnTanh
	floatFnCount
)

var floatFnModes = modeTable{"float function", []string{
	fnRcp: "rcp", fnSqrt: "sqrt", fnRsqrt: "rsqrt", fnSin: "sin",
	fnCos: "cos", fnLg2: "lg2", fnEx2: "ex2", fnTanh: "tanh",
}, -1}

func (o *op) setFloat1(fn floatFn, r rounding) { o.code, o.sub, o.sub2 = opFloat1, uint8(fn), uint8(r) }
func (o *op) floatFn() floatFn                 { return floatFn(o.sub) }
func (o *op) fnRounding() rounding             { return rounding(o.sub2) }

// --- testp: sub ---

type testpMode uint8

const (
	testpFinite testpMode = iota
	testpInfinite
	testpNumber
	testpNotANumber
	testpNormal
	testpSubnormal
	testpModeCount
)

var testpModes = modeTable{"testp test", []string{
	testpFinite: "finite", testpInfinite: "infinite", testpNumber: "number",
	testpNotANumber: "notanumber", testpNormal: "normal", testpSubnormal: "subnormal",
}, -1}

func (o *op) setTestp(m testpMode) { o.code, o.sub = opTestp, uint8(m) }
func (o *op) testpMode() testpMode { return testpMode(o.sub) }

// --- the clock-like special registers, read by opClock: sub ---

type clockReg uint8

const (
	clkClock clockReg = iota
	clkClock64
	clkGlobaltimer
	clkGlobaltimerLo
	clkGlobaltimerHi
	clockRegCount
)

var clockModes = modeTable{"clock register", []string{
	clkClock: "%clock", clkClock64: "%clock64", clkGlobaltimer: "%globaltimer",
	clkGlobaltimerLo: "%globaltimer_lo", clkGlobaltimerHi: "%globaltimer_hi",
}, -1}

func (o *op) setClock(r clockReg) { o.code, o.sub = opClock, uint8(r) }
func (o *op) clockReg() clockReg  { return clockReg(o.sub) }

// --- ld and st: sub2 is the multiple of the access's own size whose
// alignment it checks, a quantity (accessAlign): 2 for the first half of
// a .v8 access, which checks all 32 bytes; 0 (its own) otherwise ---

func (o *op) setAlignMultiple(n uint8) { o.sub2 = n }

// --- atom and red: sub (the atom* constants are in ir.go) ---

var atomModes = modeTable{"atomic operation", []string{
	atomAdd: "add", atomMin: "min", atomMax: "max", atomExch: "exch", atomCAS: "cas",
	atomAnd: "and", atomOr: "or", atomXor: "xor", atomInc: "inc", atomDec: "dec",
}, -1}

// setAtom makes o an atom or a red (code) doing k.
func (o *op) setAtom(code opcode, k uint8) { o.code, o.sub = code, k }
func (o *op) atomOp() uint8                { return o.sub }

// --- warp collectives: sub ---

type shflMode uint8

const (
	shflUp shflMode = iota
	shflDown
	shflBfly
	shflIdx
	shflModeCount
)

var shflModes = modeTable{"shfl mode", []string{shflUp: "up", shflDown: "down", shflBfly: "bfly", shflIdx: "idx"}, -1}

func (o *op) setShfl(m shflMode) { o.code, o.sub = opShfl, uint8(m) }
func (o *op) shflMode() shflMode { return shflMode(o.sub) }

type voteMode uint8

const (
	voteAll voteMode = iota
	voteAny
	voteUni
	voteBallot
	voteModeCount
)

var voteModes = modeTable{"vote mode", []string{voteAll: "all", voteAny: "any", voteUni: "uni", voteBallot: "ballot"}, -1}

func (o *op) setVote(m voteMode) { o.code, o.sub = opVote, uint8(m) }
func (o *op) voteMode() voteMode { return voteMode(o.sub) }

type matchMode uint8

const (
	matchAny matchMode = iota
	matchAll
	matchModeCount
)

var matchModes = modeTable{"match mode", []string{matchAny: "any", matchAll: "all"}, -1}

func (o *op) setMatch(m matchMode) { o.code, o.sub = opMatch, uint8(m) }
func (o *op) matchMode() matchMode { return matchMode(o.sub) }

type reduxOp uint8

const (
	reduxAdd reduxOp = iota
	reduxMin
	reduxMax
	reduxAnd
	reduxOr
	reduxXor
	reduxOpCount
)

var reduxModes = modeTable{"redux operation", []string{
	reduxAdd: "add", reduxMin: "min", reduxMax: "max", reduxAnd: "and", reduxOr: "or", reduxXor: "xor",
}, -1}

func (o *op) setRedux(k reduxOp) { o.code, o.sub = opRedux, uint8(k) }
func (o *op) reduxOp() reduxOp   { return reduxOp(o.sub) }

// collectiveMode is a warp collective's mode, whatever its kind, for
// rendezvousKey: collectives of different modes do not meet. (They keep
// nothing in sub2.)
func (o *op) collectiveMode() uint8 { return o.sub }

// --- bar.red: sub of opBar ---

// barRed is the reduction of a bar.red, or barNoRed for bar.sync.
type barRed uint8

const (
	barNoRed barRed = iota
	barRedPopc
	barRedAnd
	barRedOr
	barRedCount
)

var barRedModes = modeTable{"barrier reduction", []string{barNoRed: "none", barRedPopc: "popc", barRedAnd: "and", barRedOr: "or"}, int(barNoRed)}

func (o *op) setBarRed(r barRed) { o.sub = uint8(r) }
func (o *op) barRed() barRed     { return barRed(o.sub) }

// --- builtins: sub of opCallBuiltin (builtinID is in printf.go) ---

var builtinModes = func() modeTable {
	t := modeTable{kind: "builtin", quiet: -1}
	for _, b := range builtins {
		t.names = append(t.names, b.name)
	}
	return t
}()

func (o *op) setBuiltin(b builtinID) { o.code, o.sub = opCallBuiltin, uint8(b) }
func (o *op) builtin() builtinID     { return builtinID(o.sub) }

// --- memory-order semantics and scopes (op.sem and op.scope; the
// constants are in ir.go), named for the dump ---

var semModes = modeTable{"semantics", []string{
	semWeak: "weak", semRelaxed: "relaxed", semAcquire: "acquire", semRelease: "release",
	semAcqRel: "acq_rel", semVolatile: "volatile", semSC: "sc",
}, int(semWeak)}

var scopeModes = modeTable{"scope", []string{
	scopeNone: "none", scopeCTA: "cta", scopeCluster: "cluster", scopeGPU: "gpu", scopeSys: "sys",
}, int(scopeNone)}

// alignMultiple is an ld or st's multiple (setAlignMultiple).
func (o *op) alignMultiple() uint8 { return o.sub2 }

// modeNames names o's modes, sub's then sub2's, by the tables opTable
// gives its opcode; quiet values are left out, and so is a comparison's
// boolean operation when it has none (fHasC). A value in a field that
// holds no mode, which the lowering should never write, shows as a
// number.
func (o *op) modeNames() []string {
	info := &opTable[o.code]
	var out []string
	for i, v := range [2]uint8{o.sub, o.sub2} {
		t := [2]*modeTable{info.sub, info.sub2}[i]
		switch {
		case t == nil:
			if v != 0 {
				out = append(out, fmt.Sprintf("%s=%d", [2]string{"sub", "sub2"}[i], v))
			}
		case t == quantity || int(v) == t.quiet:
		case t == &boolModes && o.flags&fHasC == 0:
		default:
			out = append(out, t.name(v))
		}
	}
	return out
}

// --- mbarrier operations: sub of opMbar (mbarrier.go) ---

type mbarOp uint8

const (
	mbInit mbarOp = iota
	mbInval
	mbArrive     // mbarrier.arrive{.expect_tx}{.noComplete}
	mbArriveDrop // mbarrier.arrive_drop{.expect_tx}{.noComplete}
	mbExpectTx
	mbCompleteTx
	mbTestWait
	mbTryWait
	mbPendingCount
	mbCpAsyncArrive // cp.async.mbarrier.arrive{.noinc}
	mbarOpCount
)

var mbarModes = modeTable{"mbarrier operation", []string{
	mbInit: "init", mbInval: "inval", mbArrive: "arrive", mbArriveDrop: "arrive_drop",
	mbExpectTx: "expect_tx", mbCompleteTx: "complete_tx", mbTestWait: "test_wait", mbTryWait: "try_wait",
	mbPendingCount: "pending_count", mbCpAsyncArrive: "cp.async.arrive",
}, -1}

func (m mbarOp) String() string { return mbarModes.name(uint8(m)) }

func (o *op) setMbar(m mbarOp) { o.sub = uint8(m) }
func (o *op) mbar() mbarOp     { return mbarOp(o.sub) }

// --- asynchronous copies: sub of opCpAsync (async.go) ---

type copyMode uint8

const (
	copyCA      copyMode = iota // cp.async.ca.shared.global: 4, 8 or 16 bytes
	copyCG                      // cp.async.cg.shared.global: 16 bytes
	copyBulkIn                  // cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes
	copyBulkOut                 // cp.async.bulk.global.shared::cta.bulk_group
	copyModeCount
)

var copyModes = modeTable{"copy", []string{
	copyCA: "ca", copyCG: "cg", copyBulkIn: "bulk.shared.global", copyBulkOut: "bulk.global.shared",
}, -1}

func (m copyMode) String() string { return copyModes.name(uint8(m)) }

func (o *op) setCopy(m copyMode) { o.sub = uint8(m) }
func (o *op) copyMode() copyMode { return copyMode(o.sub) }

// --- async-group control: sub of opAsyncCtl; off holds wait_group's N ---

type asyncCtl uint8

const (
	ctlCommit asyncCtl = iota
	ctlWait            // wait_group N (wait_all is commit then wait_group 0)
	ctlBulkCommit
	ctlBulkWait     // cp.async.bulk.wait_group N
	ctlBulkWaitRead // cp.async.bulk.wait_group.read N
	asyncCtlCount
)

var asyncCtlModes = modeTable{"async-group action", []string{
	ctlCommit: "commit_group", ctlWait: "wait_group", ctlBulkCommit: "bulk.commit_group",
	ctlBulkWait: "bulk.wait_group", ctlBulkWaitRead: "bulk.wait_group.read",
}, -1}

func (a asyncCtl) String() string { return asyncCtlModes.name(uint8(a)) }

func (o *op) setAsyncCtl(a asyncCtl) { o.sub = uint8(a) }
func (o *op) asyncCtl() asyncCtl     { return asyncCtl(o.sub) }
