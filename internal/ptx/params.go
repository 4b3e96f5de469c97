package ptx

import (
	"fmt"
	"strings"
)

// Param is one parameter of a kernel entry, laid out as the driver lays
// out the parameter buffer.
type Param struct {
	Index  int    `json:"index"`
	Name   string `json:"name"`
	Type   string `json:"type"` // PTX type without the dot: u64, u32, f32, b8 (byte arrays), ...
	Size   int    `json:"size"` // bytes, vector and array included
	Align  int    `json:"align"`
	Offset int    `json:"offset"` // in the parameter buffer
}

// Entry is a kernel entry point of a module and its parameters. Err is why
// its .param list cannot be laid out (a predicate parameter, say); the
// entry cannot be launched then.
type Entry struct {
	Name       string
	Params     []Param
	ParamBytes int // the parameter buffer's size
	Err        error
}

// Entries lists the module's kernel entries that have a body, in text
// order, each with its parameter layout.
func (m *Module) Entries() []Entry {
	var out []Entry
	for _, f := range m.Funcs {
		if !f.Entry || !f.HasBody() {
			continue
		}
		ps, n, err := Layout(f.Params)
		out = append(out, Entry{Name: f.Name, Params: ps, ParamBytes: n, Err: err})
	}
	return out
}

// Layout lays out a kernel's .param list as the driver does: each
// parameter is aligned to its .align, else to its element's size (a
// vector's whole size, PTX ISA §5.4.5), and follows the one before it.
// It returns the parameters and the buffer's size.
func Layout(vars []*Var) ([]Param, int, error) {
	ps := make([]Param, 0, len(vars))
	off := 0
	for i, v := range vars {
		switch {
		case v.Space != "param":
			return nil, 0, &SyntaxError{v.Line, fmt.Sprintf("parameter %s is .%s; a kernel's parameters are .param", v.Name, v.Space)}
		case TypeSize(v.Type) == 0:
			return nil, 0, &SyntaxError{v.Line, fmt.Sprintf("parameter %s: .%s has no size in memory", v.Name, v.Type)}
		case v.ArrayLen() < 0:
			return nil, 0, &SyntaxError{v.Line, fmt.Sprintf("parameter %s is an array without a size", v.Name)}
		case v.Range > 0:
			return nil, 0, &SyntaxError{v.Line, fmt.Sprintf("parameter %s<%d>: a range declares registers, not parameters", v.Name, v.Range)}
		}
		al := v.Align
		if al == 0 {
			al = v.ElemSize()
		}
		size := v.Size()
		off = (off + al - 1) / al * al
		if off+size > MaxParamBytes {
			return nil, 0, &LimitError{Limit: "parameter bytes of a kernel", Value: int64(off + size), Max: MaxParamBytes}
		}
		ps = append(ps, Param{Index: i, Name: v.Name, Type: v.Type, Size: size, Align: al, Offset: off})
		off += size
	}
	return ps, off, nil
}

// MaxParamBytes bounds a kernel's parameter buffer, and so any one
// parameter: the driver takes 4 KiB, and 32 764 bytes from CUDA 12.1 on
// Volta and newer.
const MaxParamBytes = 32764

// ParamList writes ".u64 in, .u32 n" for messages.
func ParamList(ps []Param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("." + p.Type + " " + p.Name)
		if n := TypeSize(p.Type); n > 0 && p.Size > n {
			fmt.Fprintf(&b, "[%d]", p.Size/n) // an array, or a vector's elements
		}
	}
	return b.String()
}
