package ptx

import (
	"fmt"
	"strings"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tNum
	tStr
	tPunct
	tErr // a lexical error; s is the message
)

type token struct {
	kind tokKind
	s    string
	line int
}

// lexer splits PTX text into tokens on demand, so that a large module
// never holds all its tokens at once.
//
// Identifiers may start with a letter, '_', '$', '%' or '.', and continue
// with those and digits and dots, which keeps opcodes ("ld.global.v4.f32"),
// special registers ("%tid.x") and vector components ("v.x") whole. A word
// that starts with a dot is a directive or a qualifier and ends at the next
// dot, so ".reg.u64" reads as ".reg" ".u64", as ".reg .u64" does; "::"
// stays inside a word (".shared::cta", ".L2::cache_hint"). Numbers are
// read greedily ("0f3F800000", "0x1F", "7.8", "1.5e-3").
type lexer struct {
	src  string
	i    int
	line int
	buf  []token // lookahead, oldest first
}

func newLexer(src string) *lexer { return &lexer{src: src, line: 1} }

// peek returns the k-th token ahead (0 = the next one).
func (lx *lexer) peek(k int) token {
	for len(lx.buf) <= k {
		lx.buf = append(lx.buf, lx.scan())
	}
	return lx.buf[k]
}

func (lx *lexer) next() token {
	t := lx.peek(0)
	if t.kind != tEOF && t.kind != tErr {
		copy(lx.buf, lx.buf[1:])
		lx.buf = lx.buf[:len(lx.buf)-1]
	}
	return t
}

func (lx *lexer) scan() token {
	src := lx.src
	for lx.i < len(src) {
		i := lx.i
		c := src[i]
		switch {
		case c == '\n':
			lx.line++
			lx.i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			lx.i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				lx.i = len(src)
			} else {
				lx.i = i + end
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				lx.i = len(src)
				return token{tErr, "unterminated /* comment", lx.line}
			}
			lx.line += strings.Count(src[i:i+2+end], "\n")
			lx.i = i + end + 4
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) || src[j] != '"' {
				lx.i = len(src)
				return token{tErr, "unterminated string", lx.line}
			}
			lx.i = j + 1
			return token{tStr, src[i+1 : j], lx.line}
		case c == '%' && (i+1 >= len(src) || !isIdentChar(src[i+1])):
			lx.i++
			return token{tPunct, "%", lx.line}
		case isIdentStart(c):
			dotted := c == '.'
			j := i + 1
			for j < len(src) {
				if src[j] == '.' && dotted {
					break
				}
				if isIdentChar(src[j]) {
					j++
					continue
				}
				// Qualifiers such as .L1::evict_last, .shared::cta and
				// .L2::128B keep their "::" (PTX ISA 7.4+).
				if src[j] == ':' && j+2 < len(src) && src[j+1] == ':' && isIdentChar(src[j+2]) && src[j+2] != '.' {
					j += 3
					continue
				}
				break
			}
			lx.i = j
			return token{tIdent, src[i:j], lx.line}
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(src) && (isIdentChar(src[j]) && src[j] != '%' && src[j] != '$' || (src[j] == '+' || src[j] == '-') && (src[j-1] == 'e' || src[j-1] == 'E') && !isHexLiteral(src[i:j])) {
				j++
			}
			lx.i = j
			return token{tNum, src[i:j], lx.line}
		case strings.IndexByte(",;:{}[]()|!+-<>=@*/&^~?", c) >= 0:
			lx.i++
			return token{tPunct, src[i : i+1], lx.line}
		default:
			lx.i = len(src)
			return token{tErr, fmt.Sprintf("unexpected character %q", c), lx.line}
		}
	}
	return token{tEOF, "", lx.line}
}

func isHexLiteral(s string) bool {
	return len(s) >= 2 && s[0] == '0' && strings.IndexByte("xXfFdD", s[1]) >= 0
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c == '%' || c == '.'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
