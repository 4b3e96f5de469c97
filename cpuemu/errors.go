package cpuemu

import (
	"fmt"
	"strings"
	"time"
)

// Dim3 is a 1-3D extent or index.
type Dim3 struct {
	X uint32 `json:"x"`
	Y uint32 `json:"y"`
	Z uint32 `json:"z"`
}

func (d Dim3) String() string { return fmt.Sprintf("(%d,%d,%d)", d.X, d.Y, d.Z) }

// Count is X*Y*Z.
func (d Dim3) Count() int64 { return int64(d.X) * int64(d.Y) * int64(d.Z) }

// Site is where in the kernel something happened.
type Site struct {
	PTXLine int    `json:"ptx_line"` // line in the PTX text
	Loc     string `json:"loc"`      // CUDA "file:line" from .loc/.file, "" without debug lines
	Instr   string `json:"instr"`    // the opcode, e.g. "st.shared"
	// Header is the line inside a CUDA toolkit header (the body of
	// __syncwarp, atomicAdd, ...) when the instruction comes from one
	// inlined into the user's code at Loc; "" otherwise.
	Header string `json:"header,omitempty"`
	// Func is the PTX function (the kernel entry or a .func) that holds
	// the instruction, by its PTX name: mangled, for C++.
	Func string `json:"func,omitempty"`
	// InlinedFunc is the function whose body the instruction's CUDA line
	// is in, when that function was inlined into Func: the linkage name
	// .loc's function_name gives (PTX ISA §11.5.4). "" when the line is
	// Func's own, or the PTX has no debug names.
	InlinedFunc string `json:"inlined_func,omitempty"`
}

func (s Site) String() string {
	if s.Loc != "" {
		return fmt.Sprintf("%s (ptx line %d)", s.Loc, s.PTXLine)
	}
	return fmt.Sprintf("ptx line %d", s.PTXLine)
}

// FaultError is a memory fault or trap raised by a kernel. It aborts the launch.
type FaultError struct {
	Kernel string
	Kind   string // "out of bounds", "misaligned", "write to read-only memory", "trap", ...
	Space  string // state space of the access
	Addr   uint64
	Size   int
	Site   Site
	CTA    Dim3
	Thread Dim3
	Warp   int
	Lane   int
}

func (e *FaultError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kernel %s: %s", e.Kernel, e.Kind)
	if e.Size > 0 {
		fmt.Fprintf(&b, " %s access of %d bytes at %#x", e.Space, e.Size, e.Addr)
	}
	fmt.Fprintf(&b, " at %s, block %s thread %s (warp %d lane %d)", e.Site, e.CTA, e.Thread, e.Warp, e.Lane)
	return b.String()
}

// AssertError is a kernel's failed assert(): CUDA's __assertfail, which
// prints its message with the kernel's printf output and stops the
// launch. It names the first lane (in lane order) of the first group
// that failed; the printf output has every failing lane of that group.
type AssertError struct {
	Kernel   string
	Expr     string // the expression that was false, as written: "x < 100"
	File     string // the CUDA source file, as __FILE__ names it
	Line     int    // its line
	Function string // the function, as __PRETTY_FUNCTION__ names it: "void k(int *)"
	Site     Site   // the call of __assertfail
	CTA      Dim3
	Thread   Dim3
	Warp     int
	Lane     int
}

// Error is CUDA's message, word for word:
//
//	k.cu:12: void k(int *): block: [0,0,0], thread: [5,0,0] Assertion `x < 100` failed.
func (e *AssertError) Error() string {
	return fmt.Sprintf("%s:%d: %s: block: [%d,%d,%d], thread: [%d,%d,%d] Assertion `%s` failed.",
		e.File, e.Line, e.Function, e.CTA.X, e.CTA.Y, e.CTA.Z, e.Thread.X, e.Thread.Y, e.Thread.Z, e.Expr)
}

// DeadlockError is a CTA whose live lanes all wait forever.
type DeadlockError struct {
	Kernel  string
	CTA     Dim3
	Waiters []string // one line per group of waiting lanes: who waits where, on whom
}

func (e *DeadlockError) Error() string {
	return fmt.Sprintf("kernel %s: deadlock in block %s: every live lane waits forever:\n  %s", e.Kernel, e.CTA, strings.Join(e.Waiters, "\n  "))
}

// InternalError is a Go panic inside the emulator: a bug in the emulator, not
// in the kernel.
type InternalError struct {
	Kernel string
	Site   Site
	Panic  any
	Stack  string
}

func (e *InternalError) Error() string {
	return fmt.Sprintf("emulator bug while running kernel %s at %s: %v", e.Kernel, e.Site, e.Panic)
}

// Diagnostic is undefined behaviour the kernel ran into. Execution goes on
// deterministically; diagnostics are attached to the launch result.
type Diagnostic struct {
	Kind  string `json:"kind"` // e.g. "mask-excludes-self", "shfl-invalid-source"
	Msg   string `json:"message"`
	Site  Site   `json:"site"`
	CTA   Dim3   `json:"cta"`
	Warp  int    `json:"warp"`
	Lanes uint32 `json:"lanes"` // lanes involved, in the first occurrence
	Count int    `json:"count"` // occurrences of this kind at this site
	// Severity is SeverityError for a finding and SeverityInfo for a
	// note, unless the diagnostic's kind says otherwise.
	Severity Severity `json:"severity"`
}

func (d Diagnostic) String() string {
	return fmt.Sprintf("%s at %s: %s (block %s warp %d lanes %#08x, %d times)", d.Kind, d.Site, d.Msg, d.CTA, d.Warp, d.Lanes, d.Count)
}

// TimeoutError is a launch that ran past LaunchConfig.Timeout, a limit on
// wall-clock time. Unlike the instruction limit (*LimitError) it depends
// on the machine's speed and load: the same launch may finish on a faster
// machine, and a run that stops here does not replay.
type TimeoutError struct {
	Kernel           string
	Timeout          time.Duration // the limit
	Elapsed          time.Duration // how long the launch had run when it was stopped
	LaneInstructions int64         // executed by then
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("kernel %s: stopped by the wall-clock timeout of %v after %v (%d lane-instructions)",
		e.Kernel, e.Timeout, e.Elapsed.Round(time.Millisecond), e.LaneInstructions)
}
