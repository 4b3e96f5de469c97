package cuda

// This file is pure Go and carries no build tag: the driver cannot tell a
// program what parameters a kernel takes, so the backend reads them from
// the PTX text itself, and the parser is built and tested everywhere, GPU
// or not.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gpubuf/gpubuf/gpu"
)

// Entry is a kernel entry point of a PTX module and its .param list.
type Entry struct {
	Name   string
	Params []gpu.Param
}

// ParseEntries reads the .entry directives of PTX text and lays out each
// entry's parameters as the driver does: a parameter is aligned to its
// .align, else to the size of its type (of the whole vector for .v2/.v4),
// and follows the one before it. Entries without a body (declarations) are
// left out, as the driver cannot launch them. The entries come in the
// order the text defines them.
//
// A parameter declaration is
//
//	.param [.align N] [.vN] .TYPE [.ptr [.SPACE] [.align N]] NAME[[N]...]
//
// where the .align after .ptr is the alignment of the memory the pointer
// points to, not of the parameter.
func ParseEntries(ptx []byte) ([]Entry, error) {
	toks, err := lexPTX(string(ptx))
	if err != nil {
		return nil, err
	}
	p := &ptxParser{toks: toks}
	var out []Entry
	depth := 0
	for !p.eof() {
		t := p.next()
		switch t.s {
		case "{":
			depth++
		case "}":
			if depth == 0 {
				return nil, p.errAt(t, "unbalanced }")
			}
			depth--
		case ".entry":
			if depth != 0 {
				return nil, p.errAt(t, ".entry inside a block")
			}
			e, hasBody, err := p.entry()
			if err != nil {
				return nil, err
			}
			if hasBody {
				out = append(out, e)
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("ptx: %d unclosed {", depth)
	}
	seen := map[string]bool{}
	for _, e := range out {
		if seen[e.Name] {
			return nil, fmt.Errorf("ptx: entry %s defined twice", e.Name)
		}
		seen[e.Name] = true
	}
	return out, nil
}

type ptxTok struct {
	s    string
	line int
}

// lexPTX splits PTX into tokens: words (directives, identifiers, numbers:
// runs of letters, digits and _ $ %, with or without a leading .), quoted
// strings, and single punctuation characters. Comments are dropped. Only
// declarations are read, so that an instruction such as ld.param.u64
// falling apart into three words does no harm.
func lexPTX(src string) ([]ptxTok, error) {
	var toks []ptxTok
	line := 1
	isWord := func(c byte) bool {
		return c == '.' || c == '_' || c == '$' || c == '%' ||
			c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for i := 0; i < len(src); {
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
				return nil, fmt.Errorf("ptx line %d: unterminated /* comment", line)
			}
			line += strings.Count(src[i:i+2+end], "\n")
			i += 2 + end + 2
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) || src[j] != '"' {
				return nil, fmt.Errorf("ptx line %d: unterminated string", line)
			}
			toks = append(toks, ptxTok{src[i : j+1], line})
			i = j + 1
		case isWord(c):
			// A . always starts a word, so that ".param.u64" reads as two
			// words as ".param .u64" does.
			j := i + 1
			for j < len(src) && isWord(src[j]) && src[j] != '.' {
				j++
			}
			toks = append(toks, ptxTok{src[i:j], line})
			i = j
		default:
			toks = append(toks, ptxTok{src[i : i+1], line})
			i++
		}
	}
	return toks, nil
}

type ptxParser struct {
	toks []ptxTok
	pos  int
}

func (p *ptxParser) eof() bool { return p.pos >= len(p.toks) }

func (p *ptxParser) peek() string {
	if p.eof() {
		return ""
	}
	return p.toks[p.pos].s
}

func (p *ptxParser) next() ptxTok {
	if p.eof() {
		return ptxTok{"", p.lastLine()}
	}
	t := p.toks[p.pos]
	p.pos++
	return t
}

func (p *ptxParser) lastLine() int {
	if len(p.toks) == 0 {
		return 1
	}
	return p.toks[len(p.toks)-1].line
}

func (p *ptxParser) errAt(t ptxTok, format string, a ...any) error {
	return fmt.Errorf("ptx line %d: %s", t.line, fmt.Sprintf(format, a...))
}

func describe(t ptxTok) string {
	if t.s == "" {
		return "end of text"
	}
	return strconv.Quote(t.s)
}

// entry parses what follows .entry: the name, the parameter list, the
// performance directives, and the body (skipped) or the ; of a
// declaration.
func (p *ptxParser) entry() (Entry, bool, error) {
	nt := p.next()
	if !isIdent(nt.s) {
		return Entry{}, false, p.errAt(nt, ".entry: expected a name, found %s", describe(nt))
	}
	e := Entry{Name: nt.s, Params: []gpu.Param{}}
	if p.peek() == "(" {
		p.next()
		off := 0
		for p.peek() != ")" {
			if len(e.Params) > 0 {
				if t := p.next(); t.s != "," {
					return Entry{}, false, p.errAt(t, "entry %s: expected , or ) in the parameter list, found %s", e.Name, describe(t))
				}
			}
			prm, err := p.param(e.Name)
			if err != nil {
				return Entry{}, false, err
			}
			off = (off + prm.Align - 1) / prm.Align * prm.Align
			prm.Offset = off
			off += prm.Size
			e.Params = append(e.Params, prm)
		}
		p.next() // )
	}
	// Performance directives (.maxntid 256, 1, 1 / .reqntid / .minnctapersm
	// / .maxnreg / .noreturn / .pragma "...";) up to the body.
	for {
		t := p.next()
		switch t.s {
		case "{":
			depth := 1
			for depth > 0 {
				b := p.next()
				switch b.s {
				case "":
					return Entry{}, false, p.errAt(t, "entry %s: unclosed body", e.Name)
				case "{":
					depth++
				case "}":
					depth--
				}
			}
			return e, true, nil
		case ";":
			return e, false, nil
		case "":
			return Entry{}, false, p.errAt(t, "entry %s: no body", e.Name)
		case ".entry", ".func":
			return Entry{}, false, p.errAt(t, "entry %s: no body before %s", e.Name, t.s)
		}
	}
}

// param parses one ".param ..." declaration of an entry's list.
func (p *ptxParser) param(entry string) (gpu.Param, error) {
	t := p.next()
	if t.s != ".param" {
		return gpu.Param{}, p.errAt(t, "entry %s: expected .param, found %s", entry, describe(t))
	}
	var prm gpu.Param
	vec := 1
	afterPtr := false
	for strings.HasPrefix(p.peek(), ".") {
		a := p.next()
		switch {
		case a.s == ".align":
			n, err := p.intLit(entry)
			if err != nil {
				return gpu.Param{}, err
			}
			if n <= 0 || n&(n-1) != 0 {
				return gpu.Param{}, p.errAt(a, "entry %s: .align %d is not a power of two", entry, n)
			}
			if !afterPtr {
				prm.Align = n
			}
		case a.s == ".ptr":
			afterPtr = true
		case a.s == ".global" || a.s == ".const" || a.s == ".shared" || a.s == ".local":
			if !afterPtr {
				return gpu.Param{}, p.errAt(a, "entry %s: state space %s outside a .ptr attribute", entry, a.s)
			}
		case a.s == ".v2" || a.s == ".v4":
			vec = int(a.s[2] - '0')
		default:
			size := ptxTypeSize(a.s[1:])
			if size == 0 {
				return gpu.Param{}, p.errAt(a, "entry %s: unknown type or attribute %s in a .param", entry, a.s)
			}
			if prm.Type != "" {
				return gpu.Param{}, p.errAt(a, "entry %s: second type %s in a .param", entry, a.s)
			}
			prm.Type = a.s[1:]
			prm.Size = size
		}
	}
	nt := p.next()
	if prm.Type == "" {
		return gpu.Param{}, p.errAt(nt, "entry %s: .param without a type", entry)
	}
	if !isIdent(nt.s) {
		return gpu.Param{}, p.errAt(nt, "entry %s: expected a parameter name, found %s", entry, describe(nt))
	}
	prm.Name = nt.s
	prm.Size *= vec
	if prm.Align == 0 {
		prm.Align = prm.Size
	}
	for p.peek() == "[" {
		p.next()
		n, err := p.intLit(entry)
		if err != nil {
			return gpu.Param{}, err
		}
		if n <= 0 || n > 1<<20 {
			return gpu.Param{}, p.errAt(nt, "entry %s: parameter %s: array length %d", entry, prm.Name, n)
		}
		if t := p.next(); t.s != "]" {
			return gpu.Param{}, p.errAt(t, "entry %s: parameter %s: expected ], found %s", entry, prm.Name, describe(t))
		}
		prm.Size *= n
		if prm.Size > 1<<20 {
			return gpu.Param{}, p.errAt(nt, "entry %s: parameter %s is too large", entry, prm.Name)
		}
	}
	return prm, nil
}

func (p *ptxParser) intLit(entry string) (int, error) {
	t := p.next()
	s := strings.TrimSuffix(t.s, "U")
	n, err := strconv.ParseInt(s, 0, 32)
	if err != nil || s == "" || s[0] < '0' || s[0] > '9' {
		return 0, p.errAt(t, "entry %s: expected an integer, found %s", entry, describe(t))
	}
	return int(n), nil
}

// isIdent reports whether s is a PTX identifier:
// [a-zA-Z][a-zA-Z0-9_$]* or [_$%][a-zA-Z0-9_$]+.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	if !letter && !(len(s) > 1 && (c == '_' || c == '$' || c == '%')) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// ptxTypeSize is the size in bytes of a PTX fundamental type, 0 for one
// that is not a .param type.
func ptxTypeSize(t string) int {
	switch t {
	case "b8", "u8", "s8":
		return 1
	case "b16", "u16", "s16", "f16", "bf16":
		return 2
	case "b32", "u32", "s32", "f32", "f16x2", "bf16x2":
		return 4
	case "b64", "u64", "s64", "f64":
		return 8
	case "b128":
		return 16
	}
	return 0
}
