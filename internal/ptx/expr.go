package ptx

import "strings"

// Integer constant expressions (PTX ISA §4.6): literals and WARP_SZ,
// unary + - ! ~, the binary operators * / % + - << >> < > <= >= == != &
// ^ | && ||, the conditional ?:, and parentheses, with C's precedence.
// Each value is a signed .s64 or an unsigned .u64 (§4.6.2): a literal is
// signed unless it has a U suffix or does not fit .s64; an operation with
// an unsigned operand is unsigned, which decides division, remainder,
// right shifts and comparisons; comparisons and ! give a signed 0 or 1.
// Arithmetic wraps at 64 bits; a division by zero is an error.

// cval is a value of a constant expression.
type cval struct {
	v int64
	u bool // unsigned (.u64)
}

// Binding strength of the binary operators, weakest first.
const (
	precCond = iota + 1 // ?:
	precLOr
	precLAnd
	precOr
	precXor
	precAnd
	precEq
	precRel
	precShift
	precAdd
	precMul
	precUnary
)

// intExpr reads an integer constant expression.
func (p *parser) intExpr() (int64, error) { return p.exprPrec(precCond) }

func (p *parser) exprPrec(min int) (int64, error) {
	x, err := p.exprIn(min, 0)
	return x.v, err
}

// binop returns the binary operator ahead, its precedence and its length
// in tokens, or prec 0 when none. Two-character operators come as two
// tokens.
func (p *parser) binop() (string, int, int) {
	t := p.peek()
	if t.kind != tPunct {
		return "", 0, 0
	}
	n := p.peekN(1)
	pair := n.kind == tPunct && n.line == t.line
	switch t.s {
	case "?":
		return "?", precCond, 1
	case "|":
		if pair && n.s == "|" {
			return "||", precLOr, 2
		}
		return "|", precOr, 1
	case "&":
		if pair && n.s == "&" {
			return "&&", precLAnd, 2
		}
		return "&", precAnd, 1
	case "^":
		return "^", precXor, 1
	case "=":
		if pair && n.s == "=" {
			return "==", precEq, 2
		}
	case "!":
		if pair && n.s == "=" {
			return "!=", precEq, 2
		}
	case "<", ">":
		switch {
		case pair && n.s == t.s:
			return t.s + t.s, precShift, 2
		case pair && n.s == "=":
			return t.s + "=", precRel, 2
		}
		return t.s, precRel, 1
	case "+", "-":
		return t.s, precAdd, 1
	case "*", "/", "%":
		return t.s, precMul, 1
	}
	return "", 0, 0
}

func b2i(b bool) cval {
	if b {
		return cval{v: 1}
	}
	return cval{}
}

func (p *parser) exprIn(min, depth int) (cval, error) {
	if depth > 64 {
		return cval{}, p.errf("constant expression nested too deeply")
	}
	x, err := p.unary(depth)
	if err != nil {
		return cval{}, err
	}
	for {
		op, prec, n := p.binop()
		if prec == 0 || prec < min {
			return x, nil
		}
		line := p.peek().line
		for range n {
			p.next()
		}
		if op == "?" {
			// c ? a : b (right-associative).
			a, err := p.exprIn(precCond, depth+1)
			if err != nil {
				return cval{}, err
			}
			if err := p.expect(":"); err != nil {
				return cval{}, err
			}
			b, err := p.exprIn(precCond, depth+1)
			if err != nil {
				return cval{}, err
			}
			u := a.u || b.u
			if x.v != 0 {
				x = cval{a.v, u}
			} else {
				x = cval{b.v, u}
			}
			continue
		}
		y, err := p.exprIn(prec+1, depth+1)
		if err != nil {
			return cval{}, err
		}
		if x, err = apply(op, x, y, line); err != nil {
			return cval{}, err
		}
	}
}

// apply is one binary operation of §4.6.2.
func apply(op string, x, y cval, line int) (cval, error) {
	u := x.u || y.u
	ux, uy := uint64(x.v), uint64(y.v)
	switch op {
	case "||":
		return b2i(x.v != 0 || y.v != 0), nil
	case "&&":
		return b2i(x.v != 0 && y.v != 0), nil
	case "|":
		return cval{x.v | y.v, u}, nil
	case "^":
		return cval{x.v ^ y.v, u}, nil
	case "&":
		return cval{x.v & y.v, u}, nil
	case "==":
		return b2i(x.v == y.v), nil
	case "!=":
		return b2i(x.v != y.v), nil
	case "<", ">", "<=", ">=":
		var less, eq bool
		if u {
			less, eq = ux < uy, ux == uy
		} else {
			less, eq = x.v < y.v, x.v == y.v
		}
		switch op {
		case "<":
			return b2i(less), nil
		case ">":
			return b2i(!less && !eq), nil
		case "<=":
			return b2i(less || eq), nil
		}
		return b2i(!less), nil
	case "<<", ">>":
		// The result has the left operand's type; the amount is
		// unsigned, and 64 or more shifts everything out.
		n := uy
		if op == "<<" {
			if n >= 64 {
				return cval{0, x.u}, nil
			}
			return cval{int64(ux << n), x.u}, nil
		}
		if x.u {
			if n >= 64 {
				return cval{0, true}, nil
			}
			return cval{int64(ux >> n), true}, nil
		}
		return cval{x.v >> min(n, 63), false}, nil
	case "+":
		return cval{x.v + y.v, u}, nil
	case "-":
		return cval{x.v - y.v, u}, nil
	case "*":
		return cval{x.v * y.v, u}, nil
	}
	// "/" and "%"
	if y.v == 0 {
		return cval{}, &SyntaxError{line, "division by zero in a constant expression"}
	}
	if u {
		if op == "/" {
			return cval{int64(ux / uy), true}, nil
		}
		return cval{int64(ux % uy), true}, nil
	}
	if y.v == -1 { // MinInt64 / -1 wraps, as the ISA says of all overflow
		if op == "/" {
			return cval{-x.v, false}, nil
		}
		return cval{0, false}, nil
	}
	if op == "/" {
		return cval{x.v / y.v, false}, nil
	}
	return cval{x.v % y.v, false}, nil
}

func (p *parser) unary(depth int) (cval, error) {
	if depth > 64 {
		return cval{}, p.errf("constant expression nested too deeply")
	}
	t := p.peek()
	switch {
	case t.kind == tPunct && (t.s == "-" || t.s == "+" || t.s == "~" || t.s == "!"):
		p.next()
		x, err := p.unary(depth + 1)
		if err != nil {
			return cval{}, err
		}
		switch t.s {
		case "-":
			x.v = -x.v
		case "~":
			x.v = ^x.v
		case "!":
			x = b2i(x.v == 0)
		}
		return x, nil
	case t.kind == tPunct && t.s == "(":
		p.next()
		x, err := p.exprIn(precCond, depth+1)
		if err != nil {
			return cval{}, err
		}
		return x, p.expect(")")
	case t.kind == tIdent && t.s == "WARP_SZ":
		p.next()
		return cval{v: 32}, nil // PTX ISA §10: the warp size, an immediate
	case t.kind == tNum:
		if isFloatLiteral(t.s) {
			return cval{}, p.errf("float literal %s where an integer is expected", t.s)
		}
		p.next()
		n, u, err := parseIntLiteral(t.s)
		if err != nil {
			return cval{}, &SyntaxError{t.line, err.Error()}
		}
		return cval{n, u}, nil
	}
	return cval{}, p.errf("expected a number, found %s", p.describe())
}

// parseIntLiteral reads an integer literal and says whether it is
// unsigned: a U suffix, or a value past .s64's range (§4.6.2).
func parseIntLiteral(s string) (int64, bool, error) {
	v, err := ParseInt(s)
	if err != nil {
		return 0, false, err
	}
	u := strings.HasSuffix(s, "U") || strings.HasSuffix(s, "u") || v < 0
	return v, u, nil
}
