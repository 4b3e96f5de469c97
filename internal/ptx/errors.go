package ptx

import "fmt"

// SyntaxError is PTX text that does not parse, or names something that
// does not exist.
type SyntaxError struct {
	Line int // 1-based PTX line
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("ptx line %d: %s", e.Line, e.Msg) }

// LimitError is an input or a launch that goes past a configured limit.
type LimitError struct {
	Kernel string // "" when the limit is not a kernel's
	Limit  string // what is counted, e.g. "PTX source bytes"
	Value  int64
	Max    int64
	// Hint says what is counted, where the name may mislead, and how to
	// raise the limit; "" when there is nothing to add.
	Hint string
}

func (e *LimitError) Error() string {
	k := ""
	if e.Kernel != "" {
		k = "kernel " + e.Kernel + ": "
	}
	s := fmt.Sprintf("%s%s %d exceeds the limit of %d", k, e.Limit, e.Value, e.Max)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// ArgError is a launch whose arguments do not match the kernel's .param
// list, or whose configuration is invalid.
type ArgError struct {
	Kernel string
	Msg    string
}

func (e *ArgError) Error() string { return fmt.Sprintf("launch %s: %s", e.Kernel, e.Msg) }
