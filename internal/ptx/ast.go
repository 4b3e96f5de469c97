package ptx

import (
	"math"
	"strconv"
	"strings"
)

// The syntax tree is the parsed text of a PTX module, close to the source.

// Module is a parsed PTX module.
type Module struct {
	Version     string   // .version, "7.8"
	Target      []string // .target, "sm_70", ...
	AddressSize int      // .address_size, 0 when absent
	Vars        []*Var   // module-scope variables, in text order
	Funcs       []*Func  // .entry and .func, declarations included, in text order
	Files       map[int]string
	// Aliases maps the name of each .alias to the function it stands for.
	Aliases map[string]string
	// Directives are module-scope directives this parser reads but does
	// not interpret, in text order; a reader that cannot honour one says so.
	Directives []Directive
	// Instructions counts every instruction in the module.
	Instructions int
	// DebugStr is the .debug_str section: what a .loc's function_name
	// refers to.
	DebugStr DebugStr
}

// DebugStr is a .debug_str section's bytes and where each of its labels
// points.
type DebugStr struct {
	bytes  []byte
	labels map[string]int
}

// Lookup is the NUL-terminated string at label+off (a .loc's
// function_name: PTX ISA §11.5.4), and whether there is one.
func (d DebugStr) Lookup(label string, off int64) (string, bool) {
	at, ok := d.labels[label]
	if !ok || off < 0 || off > int64(len(d.bytes)-at) {
		return "", false
	}
	b := d.bytes[at+int(off):]
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), true
		}
	}
	return "", false // unterminated: not a string nvcc wrote
}

// Directive is a directive kept as its name and its line.
type Directive struct {
	Name string // ".foo"
	Line int
}

// Var is a declaration of one variable in a state space: .reg, .param,
// .shared, .local, .global, .const or .tex. A declaration that names
// several variables (".reg .b32 a, b<4>, c;") gives one Var each.
type Var struct {
	Space  string // reg, param, shared, local, global, const, tex
	Align  int    // .align, 0 when absent
	Type   string // b32, f16x2, pred, texref, ...
	Vec    int    // .v2/.v4/.v8 element count, 0 for a scalar
	Name   string
	Range  int   // %r<26> declares %r0..%r25: Range = 26; 0 when not a range
	Dims   []int // array dimensions; -1 for an unsized one ([])
	Extern bool  // .extern
	// Linkage is .visible, .weak or .common, "" when absent.
	Linkage string
	// PtrSpace and PtrAlign are a kernel parameter's .ptr attributes:
	// where the memory it points to lives and its alignment. They do not
	// change the parameter's own layout.
	PtrSpace string
	PtrAlign int
	Init     []InitElem // flattened, in order; nil without an initialiser
	// Fields are the name = value pairs of a .samplerref or .texref
	// initialiser.
	Fields map[string]string
	// Attributes are the names in .attribute(...): "managed" for a
	// __managed__ variable.
	Attributes []string
	Line       int
}

// ArrayLen is the element count: 0 for a scalar, -1 for an unsized array
// (an .extern array, or one whose size no initialiser gave), else the
// product of the dimensions.
func (v *Var) ArrayLen() int {
	if len(v.Dims) == 0 {
		return 0
	}
	n := 1
	for _, d := range v.Dims {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// ElemSize is the size of one element: the type's size times the vector
// length.
func (v *Var) ElemSize() int { return TypeSize(v.Type) * max(v.Vec, 1) }

// Size is the variable's size in bytes; an unsized array counts as empty.
func (v *Var) Size() int { return v.ElemSize() * max(v.ArrayLen(), 1) }

// InitElem is one element of a variable's initialiser.
type InitElem struct {
	Kind InitKind
	// F32 and HexFloat describe an InitFloat: a 0fXXXXXXXX literal (F32,
	// HexFloat), a 0dXXXXXXXXXXXXXXXX one (HexFloat), or a decimal one.
	F32, HexFloat bool
	Generic       bool // InitSym: generic(sym)
	// Int is an InitInt's value, an InitFloat's bits (of an f32 when F32,
	// else of an f64) or an InitSym's offset (sym+Int).
	Int int64
	Sym string // InitSym: a variable or function whose address is the value
	// Mask, when not 0, is an InitSym's mask operator (PTX ISA 7.1,
	// 0xFF00(generic(x)+4)): the value is the address's bits under the
	// mask, shifted down to bit 0. nvcc writes these for the bytes of a
	// pointer in a packed struct.
	Mask uint64
}

// Float is an InitFloat's value.
func (e InitElem) Float() float64 { return floatOf(e.Int, e.F32) }

// InitKind says what an initialiser element is.
type InitKind uint8

const (
	InitInt InitKind = iota
	InitFloat
	InitSym
)

// Func is an .entry or a .func.
type Func struct {
	Name    string
	Entry   bool
	Extern  bool   // .extern, or a declaration without a body
	Linkage string // .visible, .weak, .common or "" (.extern sets Extern)
	Params  []*Var
	Rets    []*Var
	Body    []Stmt // nil for a declaration
	// Perf holds the performance directives between the parameter list
	// and the body (.maxntid, .reqntid, .minnctapersm, .maxnreg,
	// .noreturn, ...), by name without the dot, each with its numbers.
	Perf map[string][]int64
	Line int
}

// HasBody reports whether f is a definition rather than a declaration.
func (f *Func) HasBody() bool { return f.Body != nil }

// StmtKind says what a statement of a function body is.
type StmtKind uint8

const (
	StmtInstr     StmtKind = iota
	StmtLabel              // Label:
	StmtDecl               // a variable declaration (one Var)
	StmtLoc                // .loc
	StmtOpen               // { opens a scope
	StmtClose              // } closes it
	StmtProto              // Label: .callprototype ...
	StmtTargets            // Label: .branchtargets ... or .calltargets ...
	StmtDirective          // another directive, kept by name
)

// Stmt is one statement of a function body.
type Stmt struct {
	Kind StmtKind
	Line int
	// Label is a StmtLabel's, StmtProto's or StmtTargets' label, or a
	// StmtDirective's name (".foo").
	Label   string
	Decl    *Var
	Loc     *Loc
	Instr   *Instr
	Proto   *Proto
	Targets *Targets
}

// Targets is a .branchtargets list of labels or a .calltargets list of
// functions.
type Targets struct {
	Names []string
	Call  bool // .calltargets
}

// Proto is a .callprototype: the shape of an indirect call's callee.
type Proto struct {
	Params []*Var
	Rets   []*Var
}

// Loc is a .loc directive: a CUDA source position, and where it was
// inlined.
type Loc struct {
	File, Line, Col int
	// FuncLabel and FuncOff are function_name's label+offset into
	// .debug_str: the function this position is in, when it was inlined
	// (Module.DebugStr.Lookup reads it); "" without function_name.
	FuncLabel string
	FuncOff   int64
	InlinedAt *Loc
}

// Instr is one instruction.
type Instr struct {
	Guard    string // predicate register, "" when unguarded
	GuardNeg bool   // @!p
	Op       string // opcode: "add", "ld", "shfl", ...
	Mods     []string
	Args     []Operand
	Line     int
}

// Name is the opcode with its modifiers, as written: "ld.global.v4.f32".
func (in *Instr) Name() string {
	n := in.Op
	for _, m := range in.Mods {
		n += "." + m
	}
	return n
}

// OperandKind says what an operand is.
type OperandKind uint8

const (
	OpName  OperandKind = iota // a register, variable, label or function: %r1, x, v.x, $L__BB0_1
	OpImm                      // an integer (or constant expression)
	OpFloat                    // 0fXXXXXXXX, 0dXXXX..., or a decimal float
	OpAddr                     // [base+off], or [a, b, ...] for textures and surfaces
	OpVec                      // {a, b, ...}
	OpList                     // (a, b, ...), in call
	OpPair                     // a|b
	OpSink                     // _
	// OpIndex is an array element, a[i] or a[i][j] (PTX ISA "Arrays as
	// operands"): Name is the array, Elems its indices, each an OpImm or
	// an OpName register with an optional Off. It stands for the
	// element in ld, st and atom, and for its address elsewhere.
	OpIndex
)

// Operand is one operand of an instruction.
type Operand struct {
	Kind  OperandKind
	Neg   bool // !p
	Minus bool // -a: a negated source, vmad only
	// F32 and HexFloat describe an OpFloat: a 0fXXXXXXXX literal (F32,
	// HexFloat), a 0dXXXXXXXXXXXXXXXX one (HexFloat), or a decimal one.
	F32, HexFloat bool
	// AddrImm says an OpAddr's base is the number Imm rather than Name.
	AddrImm bool
	Name    string // OpName; an OpAddr's base name
	// Off is the constant added to a name (x+4, %r1+1) or to an
	// address's base.
	Off int64
	// Imm is an OpImm's value, the number of an [imm] address, or an
	// OpFloat's bits (of an f32 when F32, else of an f64).
	Imm   int64
	Elems []Operand // OpVec, OpList, OpPair; an OpAddr's [a, b, ...] list
}

// Float is an OpFloat's value.
func (o *Operand) Float() float64 { return floatOf(o.Imm, o.F32) }

// Bits is an OpFloat's bits: an f32's when F32, else an f64's.
func (o *Operand) Bits() uint64 { return uint64(o.Imm) }

func floatOf(bits int64, f32 bool) float64 {
	if f32 {
		return float64(math.Float32frombits(uint32(bits)))
	}
	return math.Float64frombits(uint64(bits))
}

// SM is the module's target as a number: 80 for .target sm_80 (a suffix
// such as sm_90a's is dropped), 0 when no target names an SM. A GPU of
// compute capability major.minor runs it when 10*major+minor is at least
// SM (the driver JIT-compiles PTX forward, never back).
func (m *Module) SM() int { return TargetSM(m.Target) }

// TargetSM is SM for a .target list.
func TargetSM(targets []string) int {
	for _, t := range targets {
		if n, ok := strings.CutPrefix(t, "sm_"); ok {
			n = strings.TrimRight(n, "abf")
			if v, err := strconv.Atoi(n); err == nil {
				return v
			}
		}
	}
	return 0
}
