package ptx

// Integer constant expressions (PTX ISA §4.6): literals, WARP_SZ, unary
// - + ~ !, the binary operators below with C's precedence, and
// parentheses. Arithmetic is 64-bit and wraps, as the ISA says; a division
// by zero is an error.

// Binding strength of the binary operators, weakest first.
const (
	precOr = iota + 1
	precXor
	precAnd
	precShift
	precAdd
	precMul
	precUnary
)

// intExpr reads an integer constant expression. ('|' also joins the two
// destinations of a pair, %r|%p, but those are names, never numbers.)
func (p *parser) intExpr() (int64, error) { return p.exprPrec(precOr) }

// binop returns the binary operator ahead, its precedence and its length in
// tokens, or prec 0 when none.
func (p *parser) binop(parens int) (string, int, int) {
	t := p.peek()
	if t.kind != tPunct {
		return "", 0, 0
	}
	switch t.s {
	case "|":
		return "|", precOr, 1
	case "^":
		return "^", precXor, 1
	case "&":
		return "&", precAnd, 1
	case "<", ">":
		if n := p.peekN(1); n.kind == tPunct && n.s == t.s {
			return t.s + t.s, precShift, 2
		}
	case "+", "-":
		return t.s, precAdd, 1
	case "*", "/", "%":
		return t.s, precMul, 1
	}
	return "", 0, 0
}

func (p *parser) exprPrec(min int) (int64, error) { return p.exprIn(min, 0, 0) }

func (p *parser) exprIn(min, parens, depth int) (int64, error) {
	if depth > 64 {
		return 0, p.errf("constant expression nested too deeply")
	}
	x, err := p.unary(parens, depth)
	if err != nil {
		return 0, err
	}
	for {
		op, prec, n := p.binop(parens)
		if prec == 0 || prec < min {
			return x, nil
		}
		line := p.peek().line
		for range n {
			p.next()
		}
		y, err := p.exprIn(prec+1, parens, depth+1)
		if err != nil {
			return 0, err
		}
		switch op {
		case "|":
			x |= y
		case "^":
			x ^= y
		case "&":
			x &= y
		case "<<":
			x = int64(uint64(x) << (uint64(y) & 63))
		case ">>":
			x >>= uint64(y) & 63
		case "+":
			x += y
		case "-":
			x -= y
		case "*":
			x *= y
		case "/", "%":
			if y == 0 {
				return 0, &SyntaxError{line, "division by zero in a constant expression"}
			}
			if y == -1 { // avoid the MinInt64 / -1 trap; wraps as the ISA says
				if op == "/" {
					x = -x
				} else {
					x = 0
				}
				continue
			}
			if op == "/" {
				x /= y
			} else {
				x %= y
			}
		}
	}
}

func (p *parser) unary(parens, depth int) (int64, error) {
	if depth > 64 {
		return 0, p.errf("constant expression nested too deeply")
	}
	t := p.peek()
	switch {
	case t.kind == tPunct && (t.s == "-" || t.s == "+" || t.s == "~" || t.s == "!"):
		p.next()
		x, err := p.unary(parens, depth+1)
		if err != nil {
			return 0, err
		}
		switch t.s {
		case "-":
			x = -x
		case "~":
			x = ^x
		case "!":
			if x == 0 {
				x = 1
			} else {
				x = 0
			}
		}
		return x, nil
	case t.kind == tPunct && t.s == "(":
		p.next()
		x, err := p.exprIn(precOr, parens+1, depth+1)
		if err != nil {
			return 0, err
		}
		return x, p.expect(")")
	case t.kind == tIdent && t.s == "WARP_SZ":
		p.next()
		return 32, nil // PTX ISA §10: the warp size, an immediate
	case t.kind == tNum:
		if isFloatLiteral(t.s) {
			return 0, p.errf("float literal %s where an integer is expected", t.s)
		}
		p.next()
		n, err := ParseInt(t.s)
		if err != nil {
			return 0, &SyntaxError{t.line, err.Error()}
		}
		return n, nil
	}
	return 0, p.errf("expected a number, found %s", p.describe())
}
