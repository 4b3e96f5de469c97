package cpuemu

// The AST is the parsed text of a PTX module, close to the source. Lowering
// (lower.go) turns each function into the compact IR that the executor runs.

// module is a parsed PTX module.
type module struct {
	version     string
	target      []string
	addressSize int
	vars        []*varDecl // module-scope .global, .const, .shared variables
	funcs       []*funcDecl
	files       map[int]string // .file index -> name
}

// varDecl is a state-space declaration: .reg, .param, .shared, .global, ...
type varDecl struct {
	space    string // reg, param, shared, local, global, const
	align    int
	typ      string // b8, u32, f32, pred, ...
	vec      int    // .v2/.v4 element count, 0 for scalars
	name     string
	arrayLen int  // elements; 0 scalar; -1 unsized ([] on an .extern)
	rangeN   int  // %r<26> declares %r0..%r25: rangeN = 26; 0 when not a range
	extern   bool // .extern
	init     []initElem
	line     int
}

// initElem is one element of a variable initialiser.
type initElem struct {
	isFloat bool
	i       int64
	f       float64
	sym     string // symbol address (generic(sym) or sym)
	generic bool
}

type funcDecl struct {
	name   string
	entry  bool
	extern bool
	params []*varDecl
	rets   []*varDecl
	body   []stmt
	line   int
}

type stmtKind uint8

const (
	stmtInstr stmtKind = iota
	stmtLabel
	stmtDecl
	stmtLoc
	stmtOpen  // {
	stmtClose // }
)

type stmt struct {
	kind  stmtKind
	label string
	decl  *varDecl
	loc   srcLoc
	instr *instr
	line  int
}

// srcLoc is a .loc directive: a CUDA source position.
type srcLoc struct {
	file, line, col int
	inlinedAt       *srcLoc
}

type instr struct {
	guard    string // predicate register, "" when unguarded
	guardNeg bool
	op       string   // opcode: "add", "ld", "shfl", ...
	mods     []string // the dot-separated modifiers, in order
	args     []operand
	line     int
}

type operandKind uint8

const (
	oReg   operandKind = iota // %r1, %tid.x, p (inline-asm names)
	oImm                      // integer literal
	oFloat                    // 0fXXXXXXXX / 0dXXXX... / decimal float
	oSym                      // label, variable or function name
	oAddr                     // [base+off]
	oVec                      // {a, b, ...}
	oList                     // (a, b, ...) in call
	oPair                     // a|b
	oSink                     // _
)

type operand struct {
	kind   operandKind
	name   string // register or symbol
	neg    bool   // !%p
	i      int64
	f      float64
	fbits  uint64
	f32    bool // 0f literal
	off    int64
	base   *operand // oAddr: the base (oReg, oSym or oImm)
	elems  []operand
	symOff int64 // sym+imm in non-address positions
}
