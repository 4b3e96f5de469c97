package cpuemu

import (
	"fmt"
	"math/bits"

	"github.com/gpubuf/gpubuf/internal/ptx"
)

// CUDA's device-side printf and assert. nvcc compiles printf(f, ...) to a
// call of vprintf(f, args), where args points to the arguments laid out
// as a C struct after the default promotions (char and short to int,
// float to double), and assert(e) to a call of __assertfail(message,
// file, line, function, charSize). Neither has a body in the module: the
// CUDA driver provides them, and so does the emulator, as builtins.
//
// A launch keeps what its printfs write in a buffer of
// LaunchConfig.PrintfBytes and writes it to LaunchConfig.Stdout when the
// launch ends, in the order the lanes ran their printf (within one
// instruction, in lane order). CUDA's buffer is circular and overwrites
// the oldest output when it fills; this one keeps the first output and
// drops every call from the first that does not fit, with a
// "printf-buffer-full" diagnostic, so what comes out is always a prefix
// of what the kernel printed.

// builtinID is a builtin, in an opCallBuiltin's sub (modes.go).
type builtinID uint8

const (
	builtinVprintf builtinID = iota
	builtinAssertfail
	builtinCount
)

// builtinFunc is a function without a body that the emulator provides,
// with the parameter and result types CUDA declares it with.
type builtinFunc struct {
	name   string
	params []string // the types of its .param parameters
	ret    string   // the type of its result, "" for none
}

var builtins = [builtinCount]builtinFunc{
	builtinVprintf:    {"vprintf", []string{"b64", "b64"}, "b32"},
	builtinAssertfail: {"__assertfail", []string{"b64", "b64", "b32", "b64", "b64"}, ""},
}

// builtin says whether name (or what it is an .alias of) is a builtin.
func (m *Module) builtin(name string) (builtinID, bool) {
	name = m.resolveAlias(name)
	for i, b := range builtins {
		if b.name == name {
			return builtinID(i), true
		}
	}
	return 0, false
}

// declMismatch compares the module's own declarations of builtin b (the
// functions of its name without a body: it is declared, or the call
// could not have reached it) with CUDA's: the same count of parameters,
// of the same sizes, and a result of the same size, or none where CUDA
// has none. It says what differs, "" when nothing does.
func (m *Module) declMismatch(b builtinID) string {
	bf := builtins[b]
	for _, f := range m.ast.Funcs {
		if f.Name != bf.name || f.HasBody() {
			continue
		}
		at := fmt.Sprintf("the module's declaration of %s (ptx line %d)", bf.name, f.Line)
		if len(f.Params) != len(bf.params) {
			return fmt.Sprintf("%s has %s; CUDA's takes %d", at, counted(len(f.Params), "parameter"), len(bf.params))
		}
		for i, v := range f.Params {
			if got, want := declSize(v), ptx.TypeSize(bf.params[i]); got != want {
				return fmt.Sprintf("%s: parameter %d (%s) is %s; CUDA's is .%s, %s", at, i, v.Name, sizeText(got), bf.params[i], ptx.SizeText(want))
			}
		}
		switch {
		case len(f.Rets) > 1:
			return fmt.Sprintf("%s has %d results; CUDA's has at most one", at, len(f.Rets))
		case bf.ret == "" && len(f.Rets) == 1:
			return fmt.Sprintf("%s has a result; CUDA's has none", at)
		case bf.ret != "" && len(f.Rets) == 0:
			return fmt.Sprintf("%s has no result; CUDA's returns .%s", at, bf.ret)
		case bf.ret != "":
			if got, want := declSize(f.Rets[0]), ptx.TypeSize(bf.ret); got != want {
				return fmt.Sprintf("%s: its result (%s) is %s; CUDA's is .%s, %s", at, f.Rets[0].Name, sizeText(got), bf.ret, ptx.SizeText(want))
			}
		}
	}
	return ""
}

// declSize is the size a declared parameter passes, which a call's
// argument or result must have (argSize); -1 for an unsized array.
func declSize(v *ptx.Var) int {
	if v.ArrayLen() < 0 {
		return -1
	}
	if v.Space == "reg" && v.Vec == 0 {
		if t, ok := regType(v.Type); ok {
			return t.size()
		}
	}
	return v.Size()
}

func sizeText(n int) string {
	if n < 0 {
		return "an unsized array"
	}
	return ptx.SizeText(n)
}

// counted is "1 argument", "2 arguments".
func counted(n int, noun string) string { return fmt.Sprintf("%d %s%s", n, noun, plural(n)) }

// Printf limits.
const (
	// DefaultPrintfBytes is a launch's printf buffer when
	// LaunchConfig.PrintfBytes is 0: CUDA's default
	// (cudaLimitPrintfFifoSize).
	DefaultPrintfBytes = 1 << 20
	// MaxPrintfBytes bounds LaunchConfig.PrintfBytes: the buffer is held
	// in memory until the launch ends.
	MaxPrintfBytes = 256 << 20
	// maxFormatBytes bounds a format string, and each string
	// __assertfail prints.
	maxFormatBytes = 64 << 10
)

// lowerBuiltin lowers a direct call to vprintf or __assertfail, which
// must have the shape CUDA declares them with. The arguments are loaded
// into registers first (nvcc passes them in .param variables of the
// caller), and vprintf's result is stored back the same way, by
// ordinary ld.param and st.param ops under the call's guard, so the
// builtin op itself reads and writes registers only.
func (lw *lowerer) lowerBuiltin(in *ptx.Instr, o *op, b builtinID, rets, params []ptx.Operand) error {
	bf := builtins[b]
	// The module's declaration must be CUDA's: the emulator passes the
	// arguments as CUDA's vprintf and __assertfail take them.
	if what := lw.m.declMismatch(b); what != "" {
		return lw.unsupported(in, what)
	}
	nret := 0
	if bf.ret != "" {
		nret = 1
	}
	// vprintf's result may be left out, as a call that ignores it may.
	if len(params) != len(bf.params) || len(rets) > nret {
		return lw.errAt(in.Line, "call to %s passes %s and %s; it takes %d and %d", bf.name, counted(len(params), "argument"), counted(len(rets), "result"), len(bf.params), nret)
	}
	for i, a := range params {
		formal := &ptx.Var{Space: "param", Type: bf.params[i], Name: fmt.Sprintf("%s_param_%d", bf.name, i)}
		l, err := lw.argSrc(in, a, formal)
		if err != nil {
			return err
		}
		if err := lw.argSize(in, "argument", i, l, formal); err != nil {
			return err
		}
		if i >= len(o.a) {
			continue // __assertfail's charSize: its strings are read as bytes
		}
		o.a[i] = l.off
		if l.kind == locParamF {
			t, _ := regType(formal.Type)
			o.a[i] = lw.paramAccess(o, opLd, t, l.off, lw.tempSlot(), in.Line)
		}
	}
	o.setBuiltin(b)
	o.typ = tB32
	if len(rets) == 0 {
		lw.emit(*o)
		return nil
	}
	formal := &ptx.Var{Space: "param", Type: bf.ret, Name: bf.name + "_retval"}
	l, err := lw.argDst(in, rets[0], formal)
	if err != nil {
		return err
	}
	if err := lw.argSize(in, "result", 0, l, formal); err != nil {
		return err
	}
	if l.kind == locSlot {
		o.d[0] = l.off
		lw.emit(*o)
		return nil
	}
	o.d[0] = lw.tempSlot()
	lw.emit(*o)
	lw.paramAccess(o, opSt, tB32, l.off, o.d[0], in.Line)
	return nil
}

// paramAccess emits a load (into reg) or a store (of reg) of the
// caller's .param variable at frame offset off, under call's guard, and
// returns reg.
func (lw *lowerer) paramAccess(call *op, code opcode, t ptype, off, reg int32, line int) int32 {
	a := newOp(code, line)
	a.space, a.typ, a.vec = spParamF, t, 1
	a.guard, a.flags = call.guard, call.flags&fGuardNeg
	a.a[0] = lw.relConst(uint64(off), relParamF)
	a.d[0] = reg
	lw.emit(a)
	return reg
}

// printfText is what a launch's printfs have written so far.
type printfText struct {
	text []byte
	// full says a call's output did not fit: it and every later one
	// are dropped.
	full bool
}

// callBuiltin runs a builtin for the lanes ex, in lane order.
func (w *warp) callBuiltin(o *op, ex uint32) {
	if ex == 0 {
		return
	}
	switch o.builtin() {
	case builtinVprintf:
		for m := ex; m != 0; m &= m - 1 {
			w.vprintf(o, bits.TrailingZeros32(m))
		}
	case builtinAssertfail:
		w.assertfail(o, ex)
	}
}

// vprintf formats one lane's printf and keeps its text. It returns, as
// CUDA's does, the number of arguments it read: -1 for a null format,
// and -2 (CUDA's "internal error") for a format with no NUL in its first
// maxFormatBytes.
func (w *warp) vprintf(o *op, lane int) {
	l := w.c.l
	r := w.r
	mem := &laneMem{w: w, o: o, lane: lane, args: r[o.a[1]+int32(lane)]}
	ret := -1
	if f := r[o.a[0]+int32(lane)]; f != 0 {
		format, ok := mem.cstring(f, maxFormatBytes)
		if !ok {
			ret = -2
			l.diag("printf-format-unterminated", o, w, 1<<lane, "lane %d's printf format has no NUL in its first %d bytes: nothing printed, printf returns -2", lane, maxFormatBytes)
		} else {
			room := 0
			if !l.printf.full {
				room = l.cfg.PrintfBytes - len(l.printf.text)
			}
			text, n, over := formatPrintf(format, mem, room, l.cfg.PrintfBytes)
			l.keepPrintf(o, w, lane, text, over)
			ret = n
		}
	}
	if d := o.d[0]; d != noSlot {
		r[d+int32(lane)] = uint64(uint32(int32(ret)))
	}
}

// keepPrintf adds one call's text to the launch's output, or drops it
// (and every later call's) when it does not fit.
func (l *launch) keepPrintf(o *op, w *warp, lane int, text []byte, over bool) {
	if over || l.printf.full || len(l.printf.text)+len(text) > l.cfg.PrintfBytes {
		l.printf.full = true
		l.diag("printf-buffer-full", o, w, 1<<lane,
			"printf output dropped: the launch's %d-byte printf buffer (LaunchConfig.PrintfBytes) is full; the output before the first dropped call is kept, every later call's is dropped", l.cfg.PrintfBytes)
		return
	}
	l.printf.text = append(l.printf.text, text...)
}

// assertfail prints CUDA's message for every lane of ex that failed its
// assertion, then stops the launch with the first lane's *AssertError.
func (w *warp) assertfail(o *op, ex uint32) {
	l := w.c.l
	var first *AssertError
	for m := ex; m != 0; m &= m - 1 {
		lane := bits.TrailingZeros32(m)
		mem := &laneMem{w: w, o: o, lane: lane}
		str := func(slot int32) string {
			s, _ := mem.cstring(w.r[slot+int32(lane)], maxFormatBytes)
			return string(s)
		}
		e := &AssertError{
			Kernel: l.p.name, Expr: str(o.a[0]), File: str(o.a[1]), Line: int(int32(w.r[o.a[2]+int32(lane)])), Function: str(o.a[3]),
			Site: l.m.site(o), CTA: w.c.id, Thread: w.tid[lane], Warp: w.id, Lane: lane,
		}
		l.keepPrintf(o, w, lane, []byte(e.Error()+"\n"), false)
		if first == nil {
			first = e
		}
	}
	l.fail(first)
}

// writePrintf writes what the launch's printfs kept to LaunchConfig.Stdout.
func (l *launch) writePrintf() error {
	if l.cfg.Stdout == nil || len(l.printf.text) == 0 {
		return nil
	}
	n, err := l.cfg.Stdout.Write(l.printf.text)
	if err == nil && n < len(l.printf.text) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(l.printf.text))
	}
	if err != nil {
		return fmt.Errorf("kernel %s: writing its printf output: %w", l.p.name, err)
	}
	return nil
}

// laneMem reads one lane's printf arguments and strings from device
// memory, through its generic addressing: a bad pointer faults, and the
// race checker sees every read.
type laneMem struct {
	w    *warp
	o    *op
	lane int
	args uint64 // the argument buffer
	off  uint64 // the next argument's offset in it
}

func (m *laneMem) arg(size int) uint64 {
	m.off = (m.off + uint64(size) - 1) &^ uint64(size-1)
	b := m.w.mem(m.o, m.lane, spGeneric, m.args+m.off, size, 1, false)
	m.off += uint64(size)
	return le(b, size)
}

func (m *laneMem) cstring(addr uint64, max int) ([]byte, bool) {
	var s []byte
	for i := 0; i < max; i++ {
		c := m.w.mem(m.o, m.lane, spGeneric, addr+uint64(i), 1, 1, false)[0]
		if c == 0 {
			return s, true
		}
		s = append(s, c)
	}
	return s, false
}
