package ptx

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits bound what Parse accepts.
type Limits struct {
	// MaxSourceBytes bounds the PTX text, trailing NULs aside.
	MaxSourceBytes int
	// MaxInstructions bounds the instructions of the module.
	MaxInstructions int
}

// Default limits: the largest PTX nvcc writes for one translation unit of
// real code is a few megabytes; a module past these is almost surely not
// meant for an emulator, and its parse alone would take seconds and some
// hundreds of megabytes.
const (
	DefaultMaxSourceBytes  = 64 << 20
	DefaultMaxInstructions = 2 << 20
)

// DefaultLimits are the limits Parse applies.
func DefaultLimits() Limits {
	return Limits{MaxSourceBytes: DefaultMaxSourceBytes, MaxInstructions: DefaultMaxInstructions}
}

// Parse reads a PTX module under DefaultLimits. Errors are *SyntaxError or
// *LimitError.
func Parse(src []byte) (*Module, error) { return ParseLimits(src, DefaultLimits()) }

// ParseLimits reads a PTX module under lim; a zero field means its default.
// Trailing NUL bytes are ignored: the driver API takes NUL-terminated text.
func ParseLimits(src []byte, lim Limits) (*Module, error) {
	if lim.MaxSourceBytes <= 0 {
		lim.MaxSourceBytes = DefaultMaxSourceBytes
	}
	if lim.MaxInstructions <= 0 {
		lim.MaxInstructions = DefaultMaxInstructions
	}
	for len(src) > 0 && src[len(src)-1] == 0 {
		src = src[:len(src)-1]
	}
	if len(src) > lim.MaxSourceBytes {
		return nil, &LimitError{Limit: "PTX source bytes", Value: int64(len(src)), Max: int64(lim.MaxSourceBytes)}
	}
	p := &parser{lx: newLexer(string(src)), lim: lim, m: &Module{Files: map[int]string{}, Aliases: map[string]string{}}, defined: map[string]int{}}
	if err := p.module(); err != nil {
		return nil, err
	}
	return p.m, nil
}

type parser struct {
	lx      *lexer
	m       *Module
	lim     Limits
	defined map[string]int // functions with a body: their line
	args    []Operand      // scratch for an instruction's operands
	items   int            // operands, statements and initialiser elements read
}

func (p *parser) peek() token       { return p.lx.peek(0) }
func (p *parser) peekN(k int) token { return p.lx.peek(k) }
func (p *parser) next() token       { return p.lx.next() }

func (p *parser) errf(format string, args ...any) error {
	t := p.peek()
	if t.kind == tErr {
		return &SyntaxError{t.line, t.s}
	}
	return &SyntaxError{t.line, fmt.Sprintf(format, args...)}
}

func (p *parser) is(s string) bool {
	t := p.peek()
	return (t.kind == tIdent || t.kind == tPunct || t.kind == tNum) && t.s == s
}

func (p *parser) accept(s string) bool {
	if p.is(s) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(s string) error {
	if !p.accept(s) {
		return p.errf("expected %q, found %s", s, p.describe())
	}
	return nil
}

func (p *parser) describe() string {
	t := p.peek()
	switch t.kind {
	case tEOF:
		return "end of input"
	case tStr:
		return strconv.Quote(`"` + t.s + `"`)
	}
	return strconv.Quote(t.s)
}

// count adds n to the items the module holds (operands, statements and
// initialiser elements), which bound what the syntax tree takes in memory
// whatever the text looks like: MaxInstructions × itemsPerInstruction.
func (p *parser) count(n int) error {
	p.items += n
	if limit := p.lim.MaxInstructions * itemsPerInstruction; p.items > limit {
		return &LimitError{Limit: "PTX operands, statements and initialiser elements in a module", Value: int64(p.items), Max: int64(limit)}
	}
	return nil
}

// itemsPerInstruction scales the item budget: real PTX has about three
// operands and one statement per instruction.
const itemsPerInstruction = 6

// isDirective reports whether t is a word that starts with a dot.
func isDirective(t token) bool { return t.kind == tIdent && strings.HasPrefix(t.s, ".") }

func (p *parser) ident() (string, error) {
	t := p.peek()
	if t.kind != tIdent || strings.HasPrefix(t.s, ".") {
		return "", p.errf("expected a name, found %s", p.describe())
	}
	p.next()
	return t.s, nil
}

func (p *parser) module() error {
	for {
		t := p.peek()
		switch t.kind {
		case tEOF:
			return nil
		case tIdent:
		default:
			return p.errf("unexpected %s at module scope", p.describe())
		}
		switch t.s {
		case ".version":
			p.next()
			v := p.next()
			if v.kind == tErr {
				return &SyntaxError{v.line, v.s}
			}
			if v.kind != tNum {
				return &SyntaxError{v.line, ".version needs a number such as 7.8"}
			}
			p.m.Version = v.s
		case ".target":
			p.next()
			for {
				id, err := p.ident()
				if err != nil {
					return err
				}
				p.m.Target = append(p.m.Target, id)
				if !p.accept(",") {
					break
				}
			}
		case ".address_size":
			p.next()
			n, err := p.intExpr()
			if err != nil {
				return err
			}
			if n != 32 && n != 64 {
				return &SyntaxError{t.line, fmt.Sprintf(".address_size %d: only 32 and 64 exist", n)}
			}
			p.m.AddressSize = int(n)
		case ".file":
			p.next()
			n, err := p.intExpr()
			if err != nil {
				return err
			}
			s := p.next()
			if s.kind == tErr {
				return &SyntaxError{s.line, s.s}
			}
			if s.kind != tStr {
				return &SyntaxError{s.line, ".file needs a quoted name"}
			}
			p.m.Files[int(n)] = s.s
			for p.accept(",") { // timestamp, size
				if _, err := p.intExpr(); err != nil {
					return err
				}
			}
		case ".section":
			if err := p.skipSection(); err != nil {
				return err
			}
		case ".pragma":
			if err := p.skipStatement(); err != nil {
				return err
			}
		case ".alias":
			p.next()
			a, err := p.ident()
			if err != nil {
				return err
			}
			if err := p.expect(","); err != nil {
				return err
			}
			b, err := p.ident()
			if err != nil {
				return err
			}
			p.m.Aliases[a] = b
			if err := p.expect(";"); err != nil {
				return err
			}
		default:
			if err := p.moduleDecl(); err != nil {
				return err
			}
		}
	}
}

// skipStatement skips a directive up to its semicolon, over balanced
// braces.
func (p *parser) skipStatement() error {
	return p.skipBalanced(`expected ";" before end of input`, func(t token, depth int) bool {
		return t.kind == tPunct && t.s == ";" && depth <= 0
	})
}

// skipSection skips a DWARF .section: its contents do not affect
// execution. Only .debug_str is kept, for the function names .loc refers
// to (Module.DebugStr).
func (p *parser) skipSection() error {
	p.next()
	name := p.peek()
	for !p.is("{") {
		t := p.next()
		if t.kind == tEOF || t.kind == tErr {
			return &SyntaxError{t.line, ".section without a body"}
		}
	}
	end := 0 // the depth after the closing brace
	if name.kind == tIdent && name.s == ".debug_str" {
		p.next() // {: the rest is skipped from inside the body
		p.debugStr()
		end = -1
	}
	return p.skipBalanced("unterminated .section", func(t token, depth int) bool {
		return t.kind == tPunct && t.s == "}" && depth == end
	})
}

// debugStr reads the body of .section .debug_str as nvcc writes it:
// labels ("$L__info_string0:") and rows of ".b8 n, n, ..." bytes, one
// row a line, no semicolons. It stops at the first token of another form
// and leaves the rest to skipSection: the names are for reports, and a
// section it cannot read only leaves them out. The bytes are bounded by
// the source size.
func (p *parser) debugStr() {
	labels := map[string]int{}
	var b []byte
	for {
		t := p.peek()
		switch {
		case t.kind == tIdent && t.s == ".b8":
			p.next()
			for row := t.line; p.peek().line == row && p.peek().kind == tNum; {
				n, err := strconv.ParseUint(p.peek().s, 0, 8)
				if err != nil {
					p.m.DebugStr = DebugStr{bytes: b, labels: labels}
					return
				}
				b = append(b, byte(n))
				p.next()
				if !p.accept(",") {
					break
				}
			}
		case t.kind == tIdent && p.peekN(1).kind == tPunct && p.peekN(1).s == ":":
			labels[t.s] = len(b)
			p.next()
			p.next()
		default:
			p.m.DebugStr = DebugStr{bytes: b, labels: labels}
			return
		}
	}
}

// skipBalanced skips tokens, counting braces, up to and including the
// first for which done is true; eof says what end of input cut short.
func (p *parser) skipBalanced(eof string, done func(t token, depth int) bool) error {
	depth := 0
	for {
		t := p.next()
		switch {
		case t.kind == tEOF:
			return &SyntaxError{t.line, eof}
		case t.kind == tErr:
			return &SyntaxError{t.line, t.s}
		case t.kind == tPunct && t.s == "{":
			depth++
		case t.kind == tPunct && t.s == "}":
			depth--
		}
		if done(t, depth) {
			return nil
		}
	}
}

var stateSpaces = map[string]bool{".reg": true, ".param": true, ".shared": true, ".local": true, ".global": true, ".const": true, ".tex": true}

var linkages = map[string]bool{".visible": true, ".weak": true, ".common": true, ".extern": true}

// moduleDecl reads a function or module-scope variables, with their
// linkage prefixes.
func (p *parser) moduleDecl() error {
	extern, linkage := false, ""
	for t := p.peek(); t.kind == tIdent && linkages[t.s]; t = p.peek() {
		p.next()
		if t.s == ".extern" {
			extern = true
		} else {
			linkage = t.s
		}
	}
	t := p.peek()
	switch {
	case t.kind == tIdent && (t.s == ".entry" || t.s == ".func"):
		return p.function(extern, linkage)
	case t.kind == tIdent && stateSpaces[t.s] && t.s != ".reg":
		vs, err := p.varDecls(true)
		if err != nil {
			return err
		}
		for _, v := range vs {
			v.Extern, v.Linkage = extern, linkage
		}
		p.m.Vars = append(p.m.Vars, vs...)
		return p.expect(";")
	case isDirective(t) && !extern && linkage == "":
		// A directive this parser does not interpret: keep its name for
		// the reader to judge.
		p.m.Directives = append(p.m.Directives, Directive{Name: t.s, Line: t.line})
		return p.skipStatement()
	}
	return p.errf("unexpected %s at module scope", p.describe())
}

func (p *parser) function(extern bool, linkage string) error {
	kw := p.next()
	f := &Func{Entry: kw.s == ".entry", Extern: extern, Linkage: linkage, Line: kw.line}
	if err := p.skipAttributes(); err != nil {
		return err
	}
	if !f.Entry && p.is("(") { // return parameters
		rets, err := p.paramList()
		if err != nil {
			return err
		}
		f.Rets = rets
	}
	name, err := p.ident()
	if err != nil {
		return err
	}
	f.Name = name
	if p.is("(") {
		params, err := p.paramList()
		if err != nil {
			return err
		}
		f.Params = params
	}
	// Performance directives (.maxntid 256, 1, 1 / .reqntid / .minnctapersm
	// / .maxnreg / .noreturn / ...) up to the body.
	for !p.is("{") && !p.is(";") {
		t := p.peek()
		if !isDirective(t) {
			return p.errf("function %s: expected a directive, { or ;, found %s", name, p.describe())
		}
		p.next()
		if t.s == ".pragma" {
			if err := p.skipStatement(); err != nil {
				return err
			}
			continue
		}
		var nums []int64
		for p.peek().kind == tNum {
			n, err := p.intExpr()
			if err != nil {
				return err
			}
			nums = append(nums, n)
			if !p.accept(",") {
				break
			}
		}
		if f.Perf == nil {
			f.Perf = map[string][]int64{}
		}
		f.Perf[t.s[1:]] = nums
	}
	if p.accept(";") {
		p.m.Funcs = append(p.m.Funcs, f)
		return nil
	}
	if line, dup := p.defined[name]; dup {
		return &SyntaxError{kw.line, fmt.Sprintf("function %s defined twice (first at line %d)", name, line)}
	}
	p.defined[name] = kw.line
	body, err := p.block(name)
	if err != nil {
		return err
	}
	f.Body = body
	p.m.Funcs = append(p.m.Funcs, f)
	return nil
}

// attributeList reads the "( .name ... )" of a variable's .attribute:
// the names, without their dots; the values some take (.unified(a, b))
// are skipped.
func (p *parser) attributeList() ([]string, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var out []string
	depth := 1
	for depth > 0 {
		t := p.next()
		switch {
		case t.kind == tEOF || t.kind == tErr:
			return nil, &SyntaxError{t.line, "unterminated .attribute"}
		case t.kind == tPunct && t.s == "(":
			depth++
		case t.kind == tPunct && t.s == ")":
			depth--
		case depth == 1 && isDirective(t):
			out = append(out, t.s[1:])
		}
	}
	return out, nil
}

// skipAttributes skips .attribute(...) lists, which describe linking and
// do not change what the code computes.
func (p *parser) skipAttributes() error {
	for p.accept(".attribute") {
		if _, err := p.attributeList(); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) paramList() ([]*Var, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var out []*Var
	for !p.accept(")") {
		if len(out) > 0 {
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
		if !p.is(".param") && !p.is(".reg") {
			return nil, p.errf("expected .param or .reg, found %s", p.describe())
		}
		vs, err := p.varDecls(false)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
		if len(out) > 1<<16 {
			return nil, p.errf("too many parameters")
		}
	}
	return out, nil
}

// varDecls reads ".space [.align N] [.vN] .type [.ptr .space .align N]
// name[<N>][[N]...] [= init] [, name ...]" without the closing semicolon.
// The attributes may come in any order. With multi false it reads one name.
func (p *parser) varDecls(multi bool) ([]*Var, error) {
	sp := p.next()
	if !stateSpaces[sp.s] {
		return nil, &SyntaxError{sp.line, fmt.Sprintf("expected a state space, found %q", sp.s)}
	}
	proto := Var{Space: sp.s[1:], Line: sp.line}
	afterPtr := false
	for t := p.peek(); isDirective(t); t = p.peek() {
		p.next()
		switch {
		case t.s == ".align":
			n, err := p.intExpr()
			if err != nil {
				return nil, err
			}
			if n <= 0 || n&(n-1) != 0 || n > 1<<16 {
				return nil, &SyntaxError{t.line, fmt.Sprintf(".align %d is not a power of two up to 65536", n)}
			}
			if afterPtr {
				proto.PtrAlign = int(n)
			} else {
				proto.Align = int(n)
			}
		case t.s == ".v2" || t.s == ".v4" || t.s == ".v8":
			proto.Vec = int(t.s[2] - '0')
		case t.s == ".ptr":
			afterPtr = true
		case t.s == ".attribute":
			attrs, err := p.attributeList()
			if err != nil {
				return nil, err
			}
			proto.Attributes = append(proto.Attributes, attrs...)
		case afterPtr && (t.s == ".global" || t.s == ".const" || t.s == ".shared" || t.s == ".local"):
			proto.PtrSpace = t.s[1:]
		case IsType(t.s[1:]):
			if proto.Type != "" {
				return nil, &SyntaxError{t.line, fmt.Sprintf("second type %s in a declaration of .%s", t.s, proto.Type)}
			}
			proto.Type = t.s[1:]
		default:
			return nil, &SyntaxError{t.line, fmt.Sprintf("unknown type or attribute %s in a declaration", t.s)}
		}
	}
	if proto.Type == "" {
		return nil, p.errf("declaration without a type")
	}
	var out []*Var
	for {
		v := proto
		v.Line = p.peek().line
		if err := p.varName(&v); err != nil {
			return nil, err
		}
		out = append(out, &v)
		if !multi || !p.accept(",") {
			return out, nil
		}
		if len(out) > 1<<16 {
			return nil, p.errf("too many names in one declaration")
		}
	}
}

// varName reads "name[<N>][[N]...] [= init]" into v.
func (p *parser) varName(v *Var) error {
	name, err := p.ident()
	if err != nil {
		return err
	}
	v.Name = name
	if p.accept("<") {
		n, err := p.exprPrec(precAdd)
		if err != nil {
			return err
		}
		if n < 0 || n > 1<<20 {
			return p.errf("register range %s<%d> out of range", name, n)
		}
		v.Range = int(n)
		if err := p.expect(">"); err != nil {
			return err
		}
	}
	total := int64(1)
	for p.accept("[") {
		if p.accept("]") {
			v.Dims = append(v.Dims, -1)
			continue
		}
		n, err := p.intExpr()
		if err != nil {
			return err
		}
		if n == 0 {
			// ArrayLen reads 0 as "not an array", so a[0] would lay out
			// as a scalar.
			return p.errf("array %s has a dimension of length 0", name)
		}
		// n is bounded before it multiplies, so total cannot overflow.
		if n < 0 || n > 1<<31 || total*n > 1<<31 {
			return p.errf("array %s: size %d out of range", name, n)
		}
		total *= n
		v.Dims = append(v.Dims, int(n))
		if err := p.expect("]"); err != nil {
			return err
		}
		if len(v.Dims) > 8 {
			return p.errf("array %s has too many dimensions", name)
		}
	}
	if p.accept("=") {
		init, err := p.initializer(v)
		if err != nil {
			return err
		}
		v.Init = init
		// An unsized array takes its size from its initialiser.
		if len(v.Dims) == 1 && v.Dims[0] < 0 && len(init) > 0 {
			v.Dims[0] = len(init)
		}
	}
	return nil
}

// maxInitElems bounds one initialiser.
const maxInitElems = 1 << 24

func (p *parser) initializer(v *Var) ([]InitElem, error) {
	var out []InitElem
	var elem func(depth int) error
	elem = func(depth int) error {
		if depth > 16 {
			return p.errf("initialiser nested too deeply")
		}
		if p.accept("{") {
			for !p.accept("}") {
				if err := elem(depth + 1); err != nil {
					return err
				}
				if !p.accept(",") && !p.is("}") {
					return p.errf("expected ',' or '}' in an initialiser, found %s", p.describe())
				}
			}
			return nil
		}
		t := p.peek()
		switch {
		case t.kind == tIdent && t.s == "generic" && p.peekN(1).s == "(",
			t.kind == tNum && p.peekN(1).s == "(":
			e, err := p.symInit()
			if err != nil {
				return err
			}
			out = append(out, e)
		case isName(t):
			p.next()
			if p.accept("=") { // a .samplerref field: name = value
				val := p.next()
				if val.kind != tIdent && val.kind != tNum {
					return &SyntaxError{val.line, fmt.Sprintf("initialiser field %s needs a value", t.s)}
				}
				if v.Fields == nil {
					v.Fields = map[string]string{}
				}
				v.Fields[t.s] = val.s
				break
			}
			e := InitElem{Kind: InitSym, Sym: t.s}
			var err error
			if e.Int, err = p.nameOffset(); err != nil {
				return err
			}
			out = append(out, e)
		default:
			op, err := p.number()
			if err != nil {
				return err
			}
			if op.Kind == OpFloat {
				out = append(out, InitElem{Kind: InitFloat, Int: op.Imm, F32: op.F32, HexFloat: op.HexFloat})
			} else {
				out = append(out, InitElem{Kind: InitInt, Int: op.Imm})
			}
		}
		if err := p.count(1); err != nil {
			return err
		}
		if len(out) > maxInitElems {
			return p.errf("initialiser has more than %d elements", maxInitElems)
		}
		return nil
	}
	return out, elem(0)
}

// symInit reads an address in an initialiser: generic(x)+n, x+n written
// as generic(x+n), or either under a mask operator, 0xFF00(generic(x)+4).
func (p *parser) symInit() (InitElem, error) {
	e := InitElem{Kind: InitSym}
	if t := p.peek(); t.kind == tNum {
		p.next()
		m, err := ParseInt(t.s)
		if err != nil || m == 0 {
			return e, &SyntaxError{t.line, fmt.Sprintf("bad mask %q in an initialiser", t.s)}
		}
		e.Mask = uint64(m)
		if err := p.expect("("); err != nil {
			return e, err
		}
		inner, err := p.symInit0()
		if err != nil {
			return e, err
		}
		inner.Mask = e.Mask
		return inner, p.expect(")")
	}
	return p.symInit0()
}

// symInit0 reads generic(x[+n])[+n] or x[+n].
func (p *parser) symInit0() (InitElem, error) {
	e := InitElem{Kind: InitSym}
	generic := p.is("generic") && p.peekN(1).s == "("
	if generic {
		p.next()
		p.next()
		e.Generic = true
	}
	s, err := p.ident()
	if err != nil {
		return e, err
	}
	e.Sym = s
	if e.Int, err = p.nameOffset(); err != nil {
		return e, err
	}
	if generic {
		if err := p.expect(")"); err != nil {
			return e, err
		}
		off, err := p.nameOffset()
		if err != nil {
			return e, err
		}
		e.Int += off
	}
	return e, nil
}

// nameOffset reads an optional "+ expr" or "- expr" after a name.
func (p *parser) nameOffset() (int64, error) {
	var off int64
	for p.is("+") || p.is("-") {
		neg := p.next().s == "-"
		n, err := p.exprPrec(precMul)
		if err != nil {
			return 0, err
		}
		if neg {
			n = -n
		}
		off += n
	}
	return off, nil
}

// block reads a function body up to its matching '}'. Nested blocks are
// kept as open/close statements: they scope declarations.
func (p *parser) block(fn string) ([]Stmt, error) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	out := []Stmt{}
	depth := 1
	for depth > 0 {
		if err := p.count(1); err != nil {
			return nil, err
		}
		t := p.peek()
		switch {
		case t.kind == tEOF:
			return nil, p.errf("function %s: unterminated body", fn)
		case t.kind == tErr:
			return nil, &SyntaxError{t.line, t.s}
		case t.kind == tPunct && t.s == "{":
			p.next()
			depth++
			if depth > 256 {
				return nil, p.errf("blocks nested too deeply")
			}
			out = append(out, Stmt{Kind: StmtOpen, Line: t.line})
		case t.kind == tPunct && t.s == "}":
			p.next()
			depth--
			if depth > 0 {
				out = append(out, Stmt{Kind: StmtClose, Line: t.line})
			}
		case t.kind == tPunct && t.s == ";":
			p.next()
		case t.kind == tIdent && t.s == ".loc":
			l, err := p.loc()
			if err != nil {
				return nil, err
			}
			out = append(out, Stmt{Kind: StmtLoc, Loc: &l, Line: t.line})
		case t.kind == tIdent && t.s == ".pragma":
			if err := p.skipStatement(); err != nil {
				return nil, err
			}
		case t.kind == tIdent && (stateSpaces[t.s] || t.s == ".extern" && stateSpaces[p.peekN(1).s]):
			extern := p.accept(".extern")
			vs, err := p.varDecls(true)
			if err != nil {
				return nil, err
			}
			if err := p.expect(";"); err != nil {
				return nil, err
			}
			for _, v := range vs {
				v.Extern = extern
				out = append(out, Stmt{Kind: StmtDecl, Decl: v, Line: v.Line})
			}
		case t.kind == tIdent && !strings.HasPrefix(t.s, ".") && p.peekN(1).kind == tPunct && p.peekN(1).s == ":":
			p.next()
			p.next()
			s, err := p.labelled(t)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		case isDirective(t):
			p.next()
			out = append(out, Stmt{Kind: StmtDirective, Label: t.s, Line: t.line})
			if err := p.skipStatement(); err != nil {
				return nil, err
			}
		default:
			in, err := p.instruction()
			if err != nil {
				return nil, err
			}
			out = append(out, Stmt{Kind: StmtInstr, Instr: in, Line: in.Line})
		}
	}
	return out, nil
}

// labelled reads what follows "label:": a .callprototype, a
// .branchtargets or .calltargets list, or nothing (a plain label).
func (p *parser) labelled(label token) (Stmt, error) {
	s := Stmt{Kind: StmtLabel, Label: label.s, Line: label.line}
	switch {
	case p.is(".callprototype"):
		p.next()
		s.Kind = StmtProto
		pr := &Proto{}
		if p.is("(") {
			rets, err := p.paramList()
			if err != nil {
				return s, err
			}
			pr.Rets = rets
		}
		if _, err := p.ident(); err != nil { // the placeholder name, _
			return s, err
		}
		if p.is("(") {
			params, err := p.paramList()
			if err != nil {
				return s, err
			}
			pr.Params = params
		}
		for isDirective(p.peek()) { // .noreturn
			p.next()
		}
		s.Proto = pr
		return s, p.expect(";")
	case p.is(".branchtargets"), p.is(".calltargets"):
		s.Targets = &Targets{Call: p.next().s == ".calltargets"}
		s.Kind = StmtTargets
		for {
			n, err := p.ident()
			if err != nil {
				return s, err
			}
			s.Targets.Names = append(s.Targets.Names, n)
			if len(s.Targets.Names) > 1<<16 {
				return s, p.errf("too many targets")
			}
			if !p.accept(",") {
				break
			}
		}
		return s, p.expect(";")
	}
	return s, nil
}

// loc reads ".loc file line [col] [, function_name sym[+n]] [, inlined_at
// file line col ...]". The directive ends at the end of its line: it has no
// semicolon.
func (p *parser) loc() (Loc, error) {
	first := p.next()
	line := first.line
	var l Loc
	cur := &l
	readNums := func() error {
		var nums []int64
		for p.peek().line == line && (p.peek().kind == tNum || p.is("-")) {
			n, err := p.exprPrec(precUnary)
			if err != nil {
				return err
			}
			nums = append(nums, n)
		}
		if len(nums) < 2 {
			return &SyntaxError{line, ".loc needs a file and a line"}
		}
		cur.File, cur.Line = int(nums[0]), int(nums[1])
		if len(nums) > 2 {
			cur.Col = int(nums[2])
		}
		return nil
	}
	if err := readNums(); err != nil {
		return l, err
	}
	for depth := 0; p.peek().line == line && p.accept(","); depth++ {
		if depth > 64 {
			return l, &SyntaxError{line, ".loc has too many attributes"}
		}
		kw, err := p.ident()
		if err != nil {
			return l, err
		}
		switch kw {
		case "function_name":
			if cur.FuncLabel, err = p.ident(); err != nil {
				return l, err
			}
			if cur.FuncOff, err = p.nameOffset(); err != nil {
				return l, err
			}
		case "inlined_at":
			in := &Loc{}
			cur.InlinedAt = in
			cur = in
			if err := readNums(); err != nil {
				return l, err
			}
		default:
			return l, &SyntaxError{line, fmt.Sprintf("unknown .loc attribute %q", kw)}
		}
	}
	return l, nil
}

// maxOperands bounds an instruction's operands, and maxElems a brace or
// parenthesised list's elements (wgmma's accumulators are 128 registers).
const (
	maxOperands = 64
	maxElems    = 512
)

func (p *parser) instruction() (*Instr, error) {
	in := &Instr{Line: p.peek().line}
	if p.accept("@") {
		in.GuardNeg = p.accept("!")
		g, err := p.ident()
		if err != nil {
			return nil, err
		}
		in.Guard = g
	}
	t := p.peek()
	if t.kind != tIdent || strings.HasPrefix(t.s, ".") || strings.HasPrefix(t.s, "%") {
		return nil, p.errf("expected an instruction, found %s", p.describe())
	}
	p.next()
	parts := strings.Split(t.s, ".")
	in.Op = parts[0]
	for _, m := range parts[1:] {
		if m == "" {
			return nil, &SyntaxError{t.line, fmt.Sprintf("empty modifier in %q", t.s)}
		}
	}
	if len(parts) > 1 {
		in.Mods = parts[1:]
	}
	call := in.Op == "call"
	args := p.args[:0] // a scratch list, copied at its exact size below
	defer func() { p.args = args[:0] }()
	for !p.accept(";") {
		if len(args) > 0 {
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
		// vmad alone negates a source register: -a (PTX ISA §9.7.18.1.3).
		// Elsewhere a '-' begins a number, as before.
		minus := in.Op == "vmad" && p.is("-") && isRegisterName(p.peekN(1))
		if minus {
			p.next()
		}
		op, err := p.operand(call, 0)
		if err != nil {
			return nil, err
		}
		if minus {
			if op.Kind != OpName || op.Off != 0 || op.Neg {
				return nil, &SyntaxError{in.Line, "'-' applies only to a register"}
			}
			op.Minus = true
		}
		if p.accept("|") {
			second, err := p.operand(call, 0)
			if err != nil {
				return nil, err
			}
			op = Operand{Kind: OpPair, Elems: []Operand{op, second}}
		}
		args = append(args, op)
		if len(args) > maxOperands {
			return nil, p.errf("too many operands")
		}
	}
	if len(args) > 0 {
		in.Args = append(make([]Operand, 0, len(args)), args...)
	}
	p.m.Instructions++
	if p.m.Instructions > p.lim.MaxInstructions {
		return nil, &LimitError{Limit: "PTX instructions in a module", Value: int64(p.m.Instructions), Max: int64(p.lim.MaxInstructions)}
	}
	return in, nil
}

// isName reports whether t is a name (a register, variable, label or
// function) rather than a directive or WARP_SZ, which begins a number.
func isName(t token) bool {
	return t.kind == tIdent && t.s != "WARP_SZ" && !strings.HasPrefix(t.s, ".")
}

// isRegisterName reports whether t names a register (or another
// operand name) rather than beginning a number or being the sink _.
func isRegisterName(t token) bool { return isName(t) && t.s != "_" }

// startsNumber reports whether t can begin a constant expression: a
// literal, WARP_SZ, a unary operator or a parenthesis (what unary reads).
func startsNumber(t token) bool {
	return t.kind == tNum || t.kind == tIdent && t.s == "WARP_SZ" || t.kind == tPunct && strings.Contains("-+~(!", t.s)
}

// operand reads one operand at nesting depth depth. In a call,
// parentheses hold the argument and result lists; elsewhere they group a
// constant expression. An address holds a brace list at most ([tex, {x,
// y}]), and a list holds plain operands, so nesting is bounded.
func (p *parser) operand(call bool, depth int) (Operand, error) {
	t := p.peek()
	if err := p.count(1); err != nil {
		return Operand{}, err
	}
	switch {
	case t.kind == tPunct && t.s == "[" && depth == 0:
		p.next()
		return p.address()
	case t.kind == tPunct && (t.s == "{" || t.s == "(" && call) && depth <= 1:
		p.next()
		closer, kind := "}", OpVec
		if t.s == "(" {
			closer, kind = ")", OpList
		}
		op := Operand{Kind: kind}
		for !p.accept(closer) {
			if len(op.Elems) > 0 {
				if err := p.expect(","); err != nil {
					return op, err
				}
			}
			e, err := p.operand(false, depth+1)
			if err != nil {
				return op, err
			}
			op.Elems = append(op.Elems, e)
			if len(op.Elems) > maxElems {
				return op, p.errf("more than %d elements in a list", maxElems)
			}
		}
		return op, nil
	case t.kind == tPunct && t.s == "!" && isName(p.peekN(1)):
		p.next()
		op, err := p.operand(false, 2)
		if err != nil {
			return op, err
		}
		if op.Kind != OpName || op.Off != 0 {
			return op, &SyntaxError{t.line, "'!' applies only to a predicate"}
		}
		op.Neg = true
		return op, nil
	case t.kind == tIdent && t.s == "_":
		p.next()
		return Operand{Kind: OpSink}, nil
	case isName(t):
		p.next()
		op := Operand{Kind: OpName, Name: t.s}
		if depth == 0 && p.is("[") {
			return p.indices(op)
		}
		var err error
		op.Off, err = p.nameOffset()
		return op, err
	case startsNumber(t):
		return p.number()
	}
	return Operand{}, p.errf("expected an operand, found %s", p.describe())
}

// maxIndices bounds a[i][j]...: more dimensions than any declaration
// holds are a syntax error rather than an unbounded list.
const maxIndices = 8

// indices reads the [i] after an array's name: each index is a constant
// expression, a register, or a register plus or minus a constant.
func (p *parser) indices(arr Operand) (Operand, error) {
	arr.Kind = OpIndex
	for p.accept("[") {
		if len(arr.Elems) == maxIndices {
			return arr, p.errf("more than %d indices on %s", maxIndices, arr.Name)
		}
		if err := p.count(1); err != nil {
			return arr, err
		}
		var ix Operand
		if t := p.peek(); isName(t) {
			p.next()
			ix = Operand{Kind: OpName, Name: t.s}
			var err error
			if ix.Off, err = p.nameOffset(); err != nil {
				return arr, err
			}
		} else {
			n, err := p.intExpr()
			if err != nil {
				return arr, err
			}
			ix = Operand{Kind: OpImm, Imm: n}
		}
		if err := p.expect("]"); err != nil {
			return arr, err
		}
		arr.Elems = append(arr.Elems, ix)
	}
	return arr, nil
}

// address reads the inside of [ ... ]: name, number, name+imm, name-imm, or
// the texture and surface form [a, b, ...].
func (p *parser) address() (Operand, error) {
	op := Operand{Kind: OpAddr}
	t := p.peek()
	switch {
	case isName(t):
		p.next()
		op.Name = t.s
	case startsNumber(t):
		n, err := p.intExpr()
		if err != nil {
			return op, err
		}
		op.Imm, op.AddrImm = n, true
	default:
		return op, p.errf("expected an address, found %s", p.describe())
	}
	if p.is(",") {
		first := Operand{Kind: OpName, Name: op.Name}
		if op.AddrImm {
			first = Operand{Kind: OpImm, Imm: op.Imm}
		}
		op.Elems = append(op.Elems, first)
		for p.accept(",") {
			e, err := p.operand(false, 1)
			if err != nil {
				return op, err
			}
			op.Elems = append(op.Elems, e)
			if len(op.Elems) > 16 {
				return op, p.errf("too many elements in brackets")
			}
		}
		return op, p.expect("]")
	}
	var err error
	if op.Off, err = p.nameOffset(); err != nil {
		return op, err
	}
	return op, p.expect("]")
}

// isFloatLiteral reports whether a number token is a float literal:
// 0fXXXXXXXX, 0dXXXXXXXXXXXXXXXX or a decimal with a point or exponent.
func isFloatLiteral(s string) bool {
	if len(s) > 2 && s[0] == '0' && strings.IndexByte("fFdD", s[1]) >= 0 {
		return true
	}
	return !isHexLiteral(s) && strings.ContainsAny(s, ".eE")
}

// number reads a float literal, with an optional leading '-', or an
// integer constant expression. 0fXXXXXXXX is an f32 bit pattern and
// 0dXXXXXXXXXXXXXXXX an f64 one (PTX ISA §4.5.2).
func (p *parser) number() (Operand, error) {
	t0, t1 := p.peek(), p.peekN(1)
	lit := t0
	neg := false
	if t0.kind == tPunct && t0.s == "-" && t1.kind == tNum && isFloatLiteral(t1.s) {
		neg, lit = true, t1
	}
	if lit.kind != tNum || !isFloatLiteral(lit.s) {
		n, err := p.intExpr()
		return Operand{Kind: OpImm, Imm: n}, err
	}
	if neg {
		p.next()
	}
	p.next()
	s := lit.s
	switch {
	case s[1] == 'f' || s[1] == 'F':
		if len(s) != 10 {
			return Operand{}, &SyntaxError{lit.line, fmt.Sprintf("f32 literal %q needs 8 hex digits", s)}
		}
		b, err := strconv.ParseUint(s[2:], 16, 32)
		if err != nil {
			return Operand{}, &SyntaxError{lit.line, fmt.Sprintf("bad f32 literal %q", s)}
		}
		if neg {
			b ^= 1 << 31
		}
		return Operand{Kind: OpFloat, Imm: int64(b), F32: true, HexFloat: true}, nil
	case s[1] == 'd' || s[1] == 'D':
		if len(s) != 18 {
			return Operand{}, &SyntaxError{lit.line, fmt.Sprintf("f64 literal %q needs 16 hex digits", s)}
		}
		b, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return Operand{}, &SyntaxError{lit.line, fmt.Sprintf("bad f64 literal %q", s)}
		}
		if neg {
			b ^= 1 << 63
		}
		return Operand{Kind: OpFloat, Imm: int64(b), HexFloat: true}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Operand{}, &SyntaxError{lit.line, fmt.Sprintf("bad float literal %q", s)}
	}
	if neg {
		f = -f
	}
	return Operand{Kind: OpFloat, Imm: int64(math.Float64bits(f))}, nil
}

// ParseInt reads a PTX integer literal: decimal, 0x hex, 0 octal, 0b
// binary, with an optional U suffix. Literals are 64-bit (PTX ISA §4.5.1);
// one past .s64's range is a .u64, whose bits the int64 holds.
func ParseInt(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(s, "U"), "u")
	var u uint64
	var err error
	switch {
	case len(t) > 2 && (t[:2] == "0x" || t[:2] == "0X"):
		u, err = strconv.ParseUint(t[2:], 16, 64)
	case len(t) > 2 && (t[:2] == "0b" || t[:2] == "0B"):
		u, err = strconv.ParseUint(t[2:], 2, 64)
	case len(t) > 1 && t[0] == '0':
		u, err = strconv.ParseUint(t[1:], 8, 64)
	default:
		u, err = strconv.ParseUint(t, 10, 64)
	}
	if err != nil {
		return 0, fmt.Errorf("bad integer literal %q", s)
	}
	return int64(u), nil
}
