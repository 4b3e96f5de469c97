package ptx_test

import (
	"errors"
	"math"
	"testing"

	"github.com/gpubuf/gpubuf/internal/ptx"
)

// Go's int, uint and uintptr are refused, as encoding/binary refuses
// them: the message says that the type has no fixed size and names the Go types that fit the
// parameter's PTX type (by the type's size, PTX ISA §5.2.1).
func TestGoIntMessages(t *testing.T) {
	p := func(typ string, size int) ptx.Param { return ptx.Param{Name: "x", Type: typ, Size: size, Align: size} }
	for _, c := range []struct {
		p    ptx.Param
		v    any
		want string // the whole message; "" for accepted
	}{
		{p("u32", 4), int(7),
			"launch k: argument 0 (x .u32, 4 bytes) given int 7: int has no fixed size; use int32 or uint32 for a .u32 parameter"},
		{p("s32", 4), int(-1),
			"launch k: argument 0 (x .s32, 4 bytes) given int -1: int has no fixed size; use int32 or uint32 for a .s32 parameter"},
		{p("u64", 8), uint(math.MaxUint64),
			"launch k: argument 0 (x .u64, 8 bytes) given uint 18446744073709551615: uint has no fixed size; use int64 or uint64 for a .u64 parameter"},
		{p("b32", 4), int(-1 << 40),
			"launch k: argument 0 (x .b32, 4 bytes) given int -1099511627776: int has no fixed size; use int32, uint32 or float32 for a .b32 parameter"},
		{p("u16", 2), int(70000),
			"launch k: argument 0 (x .u16, 2 bytes) given int 70000: int has no fixed size; use int16 or uint16 for a .u16 parameter"},
		{p("f32", 4), int(1),
			"launch k: argument 0 (x .f32, 4 bytes) given int 1: int has no fixed size; use float32 for a .f32 parameter"},
		{p("f64", 8), uint(1),
			"launch k: argument 0 (x .f64, 8 bytes) given uint 1: uint has no fixed size; use float64 for a .f64 parameter"},
		{p("b8", 6), int(5),
			"launch k: argument 0 (x .b8, 6 bytes) given int 5: int has no fixed size; use a []byte of 6 bytes for a .b8 parameter"},
		{p("s64", 8), uintptr(0x1000),
			"launch k: argument 0 (x .s64, 8 bytes) given a uintptr: uintptr has no fixed size, and holds a host address that the device cannot use; use int64 or uint64 for a .s64 parameter (for a device address, pass the buffer)"},
		{p("u32", 4), uintptr(1),
			"launch k: argument 0 (x .u32, 4 bytes) given a uintptr: uintptr has no fixed size, and holds a host address that the device cannot use; use int32 or uint32 for a .u32 parameter"},
		{p("f16", 2), uintptr(1),
			"launch k: argument 0 (x .f16, 2 bytes) given a uintptr: uintptr has no fixed size, and holds a host address that the device cannot use; use a []byte of 2 bytes for a .f16 parameter"},
		{p("b64", 8), uintptr(1),
			"launch k: argument 0 (x .b64, 8 bytes) given a uintptr: uintptr has no fixed size, and holds a host address that the device cannot use; use int64, uint64 or float64 for a .b64 parameter (for a device address, pass the buffer)"},
		// A sized integer's refusal is about its size, not Go's int.
		{p("u32", 4), int64(1),
			"launch k: argument 0 (x .u32, 4 bytes) given a 8-byte int64"},
	} {
		a, ok := ptx.GoArg(c.v)
		if !ok {
			t.Fatalf("GoArg(%T) refused", c.v)
		}
		err := ptx.CheckArg("k", c.p, a)
		var ae *ptx.ArgError
		switch {
		case c.want == "" && err != nil:
			t.Errorf(".%s <- %T(%v): %v", c.p.Type, c.v, c.v, err)
		case c.want != "" && err == nil:
			t.Errorf(".%s <- %T(%v): accepted, want %q", c.p.Type, c.v, c.v, c.want)
		case c.want != "" && (err.Error() != c.want || !errors.As(err, &ae)):
			t.Errorf(".%s <- %T(%v):\n got %v\nwant %s", c.p.Type, c.v, c.v, err, c.want)
		}
	}
}
