package cpuemu

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SyntaxError is a PTX text that does not parse.
type SyntaxError struct {
	Line int // 1-based PTX line
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("ptx line %d: %s", e.Line, e.Msg) }

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tNum
	tStr
	tPunct
)

type token struct {
	kind tokKind
	s    string
	line int
}

// lex splits PTX text into tokens. Identifiers may start with a letter, '_',
// '$', '%' or '.', and continue with those and digits and dots, which keeps
// opcodes ("ld.global.v4.f32"), directives and special registers ("%tid.x")
// whole. Numbers are read greedily ("0f3F800000", "0x1F", "7.8").
func lex(src string) ([]token, error) {
	toks := make([]token, 0, len(src)/4)
	line := 1
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, &SyntaxError{line, "unterminated /* comment"}
			}
			line += strings.Count(src[i:i+2+end], "\n")
			i += end + 4
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) || src[j] != '"' {
				return nil, &SyntaxError{line, "unterminated string"}
			}
			toks = append(toks, token{tStr, src[i+1 : j], line})
			i = j + 1
		case isIdentStart(c):
			j := i + 1
			for j < len(src) {
				if isIdentChar(src[j]) {
					j++
					continue
				}
				// Qualifiers such as .L1::evict_last and .shared::cta
				// keep their "::" (PTX ISA 7.4+).
				if src[j] == ':' && j+2 < len(src) && src[j+1] == ':' && isIdentStart(src[j+2]) {
					j += 3
					continue
				}
				break
			}
			toks = append(toks, token{tIdent, src[i:j], line})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(src) && (isIdentChar(src[j]) || ((src[j] == '+' || src[j] == '-') && (src[j-1] == 'e' || src[j-1] == 'E') && !isHexLiteral(src[i:j]))) {
				j++
			}
			toks = append(toks, token{tNum, src[i:j], line})
			i = j
		case strings.IndexByte(",;:{}[]()|!+-<>=@", c) >= 0:
			toks = append(toks, token{tPunct, src[i : i+1], line})
			i++
		default:
			return nil, &SyntaxError{line, fmt.Sprintf("unexpected character %q", c)}
		}
	}
	toks = append(toks, token{tEOF, "", line})
	return toks, nil
}

func isHexLiteral(s string) bool {
	return len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'f' || s[1] == 'F' || s[1] == 'd' || s[1] == 'D')
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c == '%' || c == '.'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

type parser struct {
	toks []token
	pos  int
	m    *module
}

// parse reads a PTX module.
func parse(src string) (*module, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, m: &module{files: map[int]string{}}}
	if err := p.module(); err != nil {
		return nil, err
	}
	return p.m, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}
func (p *parser) errf(format string, args ...any) error {
	return &SyntaxError{p.peek().line, fmt.Sprintf(format, args...)}
}
func (p *parser) is(s string) bool {
	t := p.peek()
	return t.kind != tStr && t.kind != tEOF && t.s == s
}
func (p *parser) accept(s string) bool {
	if p.is(s) {
		p.pos++
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
	if t.kind == tEOF {
		return "end of input"
	}
	return strconv.Quote(t.s)
}
func (p *parser) ident() (string, error) {
	t := p.peek()
	if t.kind != tIdent {
		return "", p.errf("expected a name, found %s", p.describe())
	}
	p.pos++
	return t.s, nil
}
func (p *parser) intLit() (int64, error) {
	neg := p.accept("-")
	t := p.peek()
	if t.kind != tNum {
		return 0, p.errf("expected a number, found %s", p.describe())
	}
	p.pos++
	v, err := parseInt(t.s)
	if err != nil {
		return 0, &SyntaxError{t.line, err.Error()}
	}
	if neg {
		v = -v
	}
	return v, nil
}

// parseInt reads a PTX integer literal: decimal, 0x hex, 0 octal, 0b binary,
// with an optional U suffix. Literals are 64-bit (PTX ISA §4.5.1).
func parseInt(s string) (int64, error) {
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

func (p *parser) module() error {
	for p.peek().kind != tEOF {
		t := p.peek()
		if t.kind != tIdent {
			return p.errf("unexpected %s at module scope", p.describe())
		}
		switch t.s {
		case ".version":
			p.next()
			v := p.next()
			if v.kind != tNum {
				return &SyntaxError{v.line, ".version needs a number"}
			}
			p.m.version = v.s
		case ".target":
			p.next()
			for {
				id, err := p.ident()
				if err != nil {
					return err
				}
				p.m.target = append(p.m.target, id)
				if !p.accept(",") {
					break
				}
			}
		case ".address_size":
			p.next()
			n, err := p.intLit()
			if err != nil {
				return err
			}
			if n != 32 && n != 64 {
				return p.errf(".address_size %d: only 32 and 64 exist", n)
			}
			p.m.addressSize = int(n)
		case ".file":
			p.next()
			n, err := p.intLit()
			if err != nil {
				return err
			}
			s := p.next()
			if s.kind != tStr {
				return &SyntaxError{s.line, ".file needs a quoted name"}
			}
			p.m.files[int(n)] = s.s
			for p.accept(",") { // timestamp, size
				if _, err := p.intLit(); err != nil {
					return err
				}
			}
		case ".section":
			if err := p.skipSection(); err != nil {
				return err
			}
		case ".pragma":
			if err := p.skipTo(";"); err != nil {
				return err
			}
		default:
			if err := p.moduleDecl(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *parser) skipTo(s string) error {
	for !p.is(s) {
		if p.peek().kind == tEOF {
			return p.errf("expected %q before end of input", s)
		}
		p.next()
	}
	p.next()
	return nil
}

// skipSection skips a DWARF .section: its contents do not affect execution.
func (p *parser) skipSection() error {
	p.next()
	for !p.is("{") {
		if p.peek().kind == tEOF {
			return p.errf(".section without a body")
		}
		p.next()
	}
	depth := 0
	for {
		t := p.next()
		switch {
		case t.kind == tEOF:
			return &SyntaxError{t.line, "unterminated .section"}
		case t.kind == tPunct && t.s == "{":
			depth++
		case t.kind == tPunct && t.s == "}":
			depth--
			if depth == 0 {
				return nil
			}
		}
	}
}

// moduleDecl reads a function or a module-scope variable, with its linkage
// prefixes (.visible, .extern, .weak, .common).
func (p *parser) moduleDecl() error {
	extern := false
	for {
		switch {
		case p.accept(".visible"), p.accept(".weak"), p.accept(".common"):
			continue
		case p.accept(".extern"):
			extern = true
			continue
		}
		break
	}
	switch {
	case p.is(".entry"), p.is(".func"):
		return p.function(extern)
	case p.is(".global"), p.is(".const"), p.is(".shared"):
		v, err := p.varDecl()
		if err != nil {
			return err
		}
		v.extern = extern
		p.m.vars = append(p.m.vars, v)
		return p.expect(";")
	}
	return p.errf("unexpected %s at module scope", p.describe())
}

func (p *parser) function(extern bool) error {
	kw := p.next()
	f := &funcDecl{entry: kw.s == ".entry", extern: extern, line: kw.line}
	if !f.entry && p.is("(") { // return parameters
		rets, err := p.paramList()
		if err != nil {
			return err
		}
		f.rets = rets
	}
	name, err := p.ident()
	if err != nil {
		return err
	}
	f.name = name
	if p.is("(") {
		params, err := p.paramList()
		if err != nil {
			return err
		}
		f.params = params
	}
	// Performance-tuning directives (.maxntid, .reqntid, .minnctapersm,
	// .maxnreg, .noreturn, ...) do not change what the code computes.
	for !p.is("{") && !p.is(";") {
		if p.peek().kind == tEOF {
			return p.errf("function %s has no body", name)
		}
		p.next()
	}
	if p.accept(";") {
		f.extern = true
		p.m.funcs = append(p.m.funcs, f)
		return nil
	}
	body, err := p.block()
	if err != nil {
		return err
	}
	f.body = body
	p.m.funcs = append(p.m.funcs, f)
	return nil
}

func (p *parser) paramList() ([]*varDecl, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var out []*varDecl
	for !p.accept(")") {
		if len(out) > 0 {
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
		if !p.is(".param") && !p.is(".reg") {
			return nil, p.errf("expected .param, found %s", p.describe())
		}
		v, err := p.varDecl()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

var stateSpaces = map[string]bool{".reg": true, ".param": true, ".shared": true, ".local": true, ".global": true, ".const": true}

// varDecl reads ".space [.align N] [.ptr...] [.vN] .type name[<N>|[N]] [= init]",
// without the closing semicolon.
func (p *parser) varDecl() (*varDecl, error) {
	sp := p.next()
	if !stateSpaces[sp.s] {
		return nil, &SyntaxError{sp.line, fmt.Sprintf("expected a state space, found %q", sp.s)}
	}
	v := &varDecl{space: sp.s[1:], line: sp.line}
	for {
		t := p.peek()
		if t.kind != tIdent || !strings.HasPrefix(t.s, ".") {
			break
		}
		p.next()
		switch {
		case t.s == ".align":
			n, err := p.intLit()
			if err != nil {
				return nil, err
			}
			if n <= 0 || n&(n-1) != 0 || n > 1<<16 {
				return nil, &SyntaxError{t.line, fmt.Sprintf(".align %d is not a power of two", n)}
			}
			v.align = int(n)
		case t.s == ".v2" || t.s == ".v4" || t.s == ".v8":
			v.vec = int(t.s[2] - '0')
		case t.s == ".ptr" || t.s == ".global" || t.s == ".const" || t.s == ".shared" || t.s == ".local" || t.s == ".param":
			// .ptr.space.align N attributes on kernel params: informational.
			if p.is(".align") {
				p.next()
				if _, err := p.intLit(); err != nil {
					return nil, err
				}
			}
		default:
			if typeSize(t.s[1:]) == 0 && t.s != ".pred" {
				return nil, &SyntaxError{t.line, fmt.Sprintf("unknown type or attribute %q in declaration", t.s)}
			}
			v.typ = t.s[1:]
		}
	}
	if v.typ == "" {
		return nil, p.errf("declaration without a type")
	}
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	v.name = name
	if p.accept("<") {
		n, err := p.intLit()
		if err != nil {
			return nil, err
		}
		if n < 0 || n > 1<<20 {
			return nil, p.errf("register range %s<%d> out of range", name, n)
		}
		v.rangeN = int(n)
		if err := p.expect(">"); err != nil {
			return nil, err
		}
	}
	dims := 0
	for p.accept("[") {
		if p.accept("]") {
			v.arrayLen = -1
			continue
		}
		n, err := p.intLit()
		if err != nil {
			return nil, err
		}
		if n < 0 || n > 1<<31 {
			return nil, p.errf("array size %d out of range", n)
		}
		if dims == 0 {
			v.arrayLen = int(n)
		} else {
			v.arrayLen *= int(n)
			if v.arrayLen > 1<<31 {
				return nil, p.errf("array too large")
			}
		}
		dims++
		if err := p.expect("]"); err != nil {
			return nil, err
		}
	}
	if p.accept("=") {
		init, err := p.initializer()
		if err != nil {
			return nil, err
		}
		v.init = init
	}
	return v, nil
}

func (p *parser) initializer() ([]initElem, error) {
	var out []initElem
	var elem func() error
	elem = func() error {
		if p.accept("{") {
			for !p.accept("}") {
				if err := elem(); err != nil {
					return err
				}
				if !p.accept(",") && !p.is("}") {
					return p.errf("expected ',' or '}' in initialiser, found %s", p.describe())
				}
			}
			return nil
		}
		t := p.peek()
		switch {
		case t.kind == tIdent && t.s == "generic":
			p.next()
			if err := p.expect("("); err != nil {
				return err
			}
			s, err := p.ident()
			if err != nil {
				return err
			}
			if err := p.expect(")"); err != nil {
				return err
			}
			out = append(out, initElem{sym: s, generic: true})
		case t.kind == tIdent:
			p.next()
			out = append(out, initElem{sym: t.s})
		default:
			op, err := p.number()
			if err != nil {
				return err
			}
			if op.kind == oFloat {
				out = append(out, initElem{isFloat: true, f: op.f})
			} else {
				out = append(out, initElem{i: op.i})
			}
		}
		if len(out) > 1<<24 {
			return p.errf("initialiser too long")
		}
		return nil
	}
	return out, elem()
}

// block reads statements up to the matching '}'. Nested blocks are kept as
// open/close statements: they scope register declarations.
func (p *parser) block() ([]stmt, error) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	var out []stmt
	depth := 1
	for depth > 0 {
		t := p.peek()
		switch {
		case t.kind == tEOF:
			return nil, p.errf("unterminated function body")
		case t.kind == tPunct && t.s == "{":
			p.next()
			depth++
			out = append(out, stmt{kind: stmtOpen, line: t.line})
		case t.kind == tPunct && t.s == "}":
			p.next()
			depth--
			if depth > 0 {
				out = append(out, stmt{kind: stmtClose, line: t.line})
			}
		case t.kind == tPunct && t.s == ";":
			p.next()
		case t.kind == tIdent && t.s == ".loc":
			l, err := p.loc()
			if err != nil {
				return nil, err
			}
			out = append(out, stmt{kind: stmtLoc, loc: l, line: t.line})
		case t.kind == tIdent && t.s == ".pragma":
			if err := p.skipTo(";"); err != nil {
				return nil, err
			}
		case t.kind == tIdent && (stateSpaces[t.s] || t.s == ".extern" && stateSpaces[p.toks[p.pos+1].s]):
			extern := p.accept(".extern")
			v, err := p.varDecl()
			if err == nil {
				v.extern = extern
			}
			if err != nil {
				return nil, err
			}
			if err := p.expect(";"); err != nil {
				return nil, err
			}
			out = append(out, stmt{kind: stmtDecl, decl: v, line: t.line})
		case t.kind == tIdent && p.toks[p.pos+1].kind == tPunct && p.toks[p.pos+1].s == ":":
			p.pos += 2
			out = append(out, stmt{kind: stmtLabel, label: t.s, line: t.line})
		default:
			in, err := p.instruction()
			if err != nil {
				return nil, err
			}
			out = append(out, stmt{kind: stmtInstr, instr: in, line: in.line})
		}
	}
	return out, nil
}

// loc reads ".loc file line col [, function_name sym[+n]] [, inlined_at file line col ...]".
// The directive ends at the end of its line: it has no semicolon.
func (p *parser) loc() (srcLoc, error) {
	first := p.next()
	line := first.line
	var nums []int64
	var l srcLoc
	var cur *srcLoc = &l
	readNums := func() error {
		nums = nums[:0]
		for p.peek().line == line && (p.peek().kind == tNum || p.is("-")) {
			n, err := p.intLit()
			if err != nil {
				return err
			}
			nums = append(nums, n)
		}
		if len(nums) < 2 {
			return &SyntaxError{line, ".loc needs a file and a line"}
		}
		cur.file, cur.line = int(nums[0]), int(nums[1])
		if len(nums) > 2 {
			cur.col = int(nums[2])
		}
		return nil
	}
	if err := readNums(); err != nil {
		return l, err
	}
	for p.peek().line == line && p.accept(",") {
		kw, err := p.ident()
		if err != nil {
			return l, err
		}
		switch kw {
		case "function_name":
			if _, err := p.ident(); err != nil {
				return l, err
			}
			if p.accept("+") {
				if _, err := p.intLit(); err != nil {
					return l, err
				}
			}
		case "inlined_at":
			in := &srcLoc{}
			cur.inlinedAt = in
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

func (p *parser) instruction() (*instr, error) {
	in := &instr{line: p.peek().line}
	if p.accept("@") {
		in.guardNeg = p.accept("!")
		g, err := p.ident()
		if err != nil {
			return nil, err
		}
		in.guard = g
	}
	t := p.peek()
	if t.kind != tIdent || strings.HasPrefix(t.s, ".") || strings.HasPrefix(t.s, "%") {
		return nil, p.errf("expected an instruction, found %s", p.describe())
	}
	p.next()
	parts := strings.Split(t.s, ".")
	in.op = parts[0]
	for _, m := range parts[1:] {
		if m == "" {
			return nil, &SyntaxError{t.line, fmt.Sprintf("empty modifier in %q", t.s)}
		}
	}
	in.mods = parts[1:]
	for !p.accept(";") {
		if len(in.args) > 0 {
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
		op, err := p.operand()
		if err != nil {
			return nil, err
		}
		if p.accept("|") {
			second, err := p.operand()
			if err != nil {
				return nil, err
			}
			op = operand{kind: oPair, elems: []operand{op, second}}
		}
		in.args = append(in.args, op)
		if len(in.args) > 64 {
			return nil, p.errf("too many operands")
		}
	}
	return in, nil
}

func (p *parser) operand() (operand, error) {
	t := p.peek()
	switch {
	case t.kind == tPunct && t.s == "[":
		p.next()
		return p.address()
	case t.kind == tPunct && (t.s == "{" || t.s == "("):
		p.next()
		closer := "}"
		kind := oVec
		if t.s == "(" {
			closer, kind = ")", oList
		}
		op := operand{kind: kind}
		for !p.accept(closer) {
			if len(op.elems) > 0 {
				if err := p.expect(","); err != nil {
					return op, err
				}
			}
			e, err := p.operand()
			if err != nil {
				return op, err
			}
			op.elems = append(op.elems, e)
			if len(op.elems) > 64 {
				return op, p.errf("too many elements")
			}
		}
		return op, nil
	case t.kind == tPunct && t.s == "!":
		p.next()
		op, err := p.operand()
		if err != nil {
			return op, err
		}
		if op.kind != oReg && op.kind != oSym {
			return op, &SyntaxError{t.line, "'!' applies only to a predicate"}
		}
		op.neg = true
		return op, nil
	case t.kind == tPunct && t.s == "-", t.kind == tNum:
		return p.number()
	case t.kind == tIdent:
		p.next()
		if t.s == "_" {
			return operand{kind: oSink}, nil
		}
		kind := oSym
		if strings.HasPrefix(t.s, "%") {
			kind = oReg
		}
		op := operand{kind: kind, name: t.s}
		if kind == oSym && (p.is("+") || p.is("-")) && p.toks[p.pos+1].kind == tNum {
			neg := p.next().s == "-"
			n, err := p.intLit()
			if err != nil {
				return op, err
			}
			if neg {
				n = -n
			}
			op.symOff = n
		}
		return op, nil
	}
	return operand{}, p.errf("expected an operand, found %s", p.describe())
}

// address reads the inside of [ ... ]: reg, sym, imm, reg+imm, sym+imm, reg+-imm.
func (p *parser) address() (operand, error) {
	op := operand{kind: oAddr}
	t := p.peek()
	switch {
	case t.kind == tIdent:
		p.next()
		kind := oSym
		if strings.HasPrefix(t.s, "%") {
			kind = oReg
		}
		op.base = &operand{kind: kind, name: t.s}
	case t.kind == tNum || t.kind == tPunct && t.s == "-":
		n, err := p.intLit()
		if err != nil {
			return op, err
		}
		op.base = &operand{kind: oImm, i: n}
	default:
		return op, p.errf("expected an address, found %s", p.describe())
	}
	if p.is(",") {
		// [a, b, ...]: the texture and surface forms. Parsed so that
		// lowering can name the instruction as unsupported.
		op.elems = append(op.elems, *op.base)
		for p.accept(",") {
			e, err := p.operand()
			if err != nil {
				return op, err
			}
			op.elems = append(op.elems, e)
			if len(op.elems) > 16 {
				return op, p.errf("too many elements in brackets")
			}
		}
		return op, p.expect("]")
	}
	for p.is("+") || p.is("-") {
		neg := p.next().s == "-"
		n, err := p.intLit()
		if err != nil {
			return op, err
		}
		if neg {
			n = -n
		}
		op.off += n
	}
	return op, p.expect("]")
}

// number reads an integer or float literal, with an optional leading '-'.
// 0fXXXXXXXX is an f32 bit pattern, 0dXXXXXXXXXXXXXXXX an f64 one (§4.5.2).
func (p *parser) number() (operand, error) {
	neg := p.accept("-")
	t := p.next()
	if t.kind != tNum {
		return operand{}, &SyntaxError{t.line, fmt.Sprintf("expected a number, found %q", t.s)}
	}
	s := t.s
	if len(s) > 2 && (s[:2] == "0f" || s[:2] == "0F") {
		if len(s) != 10 {
			return operand{}, &SyntaxError{t.line, fmt.Sprintf("f32 literal %q needs 8 hex digits", s)}
		}
		b, err := strconv.ParseUint(s[2:], 16, 32)
		if err != nil {
			return operand{}, &SyntaxError{t.line, fmt.Sprintf("bad f32 literal %q", s)}
		}
		f := float64(math.Float32frombits(uint32(b)))
		if neg {
			f = -f
			b ^= 1 << 31
		}
		return operand{kind: oFloat, f: f, fbits: b, f32: true}, nil
	}
	if len(s) > 2 && (s[:2] == "0d" || s[:2] == "0D") {
		if len(s) != 18 {
			return operand{}, &SyntaxError{t.line, fmt.Sprintf("f64 literal %q needs 16 hex digits", s)}
		}
		b, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return operand{}, &SyntaxError{t.line, fmt.Sprintf("bad f64 literal %q", s)}
		}
		if neg {
			b ^= 1 << 63
		}
		return operand{kind: oFloat, f: math.Float64frombits(b), fbits: b}, nil
	}
	if strings.ContainsAny(s, ".eE") && !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return operand{}, &SyntaxError{t.line, fmt.Sprintf("bad float literal %q", s)}
		}
		if neg {
			f = -f
		}
		return operand{kind: oFloat, f: f, fbits: math.Float64bits(f)}, nil
	}
	v, err := parseInt(s)
	if err != nil {
		return operand{}, &SyntaxError{t.line, err.Error()}
	}
	if neg {
		v = -v
	}
	return operand{kind: oImm, i: v}, nil
}

// typeSize is the size in bytes of a PTX fundamental type, 0 if unknown.
func typeSize(t string) int {
	switch t {
	case "b8", "u8", "s8", "e4m3x2", "e5m2x2":
		if t[0] == 'e' {
			return 2
		}
		return 1
	case "b16", "u16", "s16", "f16", "bf16":
		return 2
	case "b32", "u32", "s32", "f32", "f16x2", "bf16x2", "tf32":
		return 4
	case "b64", "u64", "s64", "f64":
		return 8
	case "b128":
		return 16
	case "pred":
		return 1
	}
	return 0
}
