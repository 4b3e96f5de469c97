package gpu

import (
	"fmt"

	"github.com/gpubuf/gpubuf/internal/ptx"
)

// Arg is one kernel argument, checked against its parameter by CheckArgs.
type Arg struct {
	Param Param
	// Raw holds the value little-endian in an 8-byte holder: the CUDA
	// driver (through gorgonia.org/cu) copies exactly 8 bytes per argument.
	Raw [8]byte
	// Value is the argument as the caller gave it, converted to a device
	// address (uint64) for buffers.
	Value any
	// Buffer and Host are set when the argument was a buffer, so that a
	// backend can check it belongs to its device and is still alive.
	Buffer DeviceBuffer
	Host   HostBuffer
}

// MaxArgBytes is the widest by-value parameter a launch accepts: every
// argument travels in an 8-byte holder.
const MaxArgBytes = 8

// CheckArgs checks args against kernel's parameters with the front end's
// one checker (count, size and kind), and returns them in 8-byte holders.
// Pointer parameters (.u64/.s64/.b64) take a DeviceBuffer or a mapped
// HostBuffer; scalars take a sized integer type (int8 to uint64; never
// Go's int, uint or uintptr, which have no fixed size), float32 or
// float64 of the parameter's size, or []byte of its size.
// Errors are *Error with no Backend: the caller fills it in.
func CheckArgs(kernel string, params []Param, args []any) ([]Arg, error) {
	bad := func(format string, a ...any) error {
		return &Error{Op: "launch " + kernel, Msg: fmt.Sprintf(format, a...)}
	}
	if err := ptx.CheckCount(kernel, params, len(args)); err != nil {
		return nil, bad("%s", err.(*ptx.ArgError).Msg)
	}
	out := make([]Arg, len(args))
	for i, a := range args {
		p := params[i]
		arg := Arg{Param: p, Value: a}
		if p.Size > MaxArgBytes {
			return nil, bad("argument %d (%s) is a %d-byte by-value parameter; the most a launch passes is %d bytes", i, p.Name, p.Size, MaxArgBytes)
		}
		var pa ptx.Arg
		switch x := a.(type) {
		case DeviceBuffer:
			if x == nil {
				return nil, bad("argument %d (%s): nil buffer", i, p.Name)
			}
			pa = ptx.Arg{Kind: ptx.ArgPointer, Size: 8, Bits: x.Ptr(), Desc: "buffer"}
			arg.Buffer, arg.Value = x, x.Ptr()
		case HostBuffer:
			if x == nil {
				return nil, bad("argument %d (%s): nil host buffer", i, p.Name)
			}
			if !x.Mapped() {
				return nil, bad("argument %d (%s): host buffer is not mapped into the device (allocate it with HostMapped)", i, p.Name)
			}
			pa = ptx.Arg{Kind: ptx.ArgPointer, Size: 8, Bits: x.DevicePtr(), Desc: "host buffer"}
			arg.Host, arg.Value = x, x.DevicePtr()
		default:
			var ok bool
			if pa, ok = ptx.GoArg(a); !ok {
				return nil, bad("argument %d (%s): unsupported Go type %T (want a DeviceBuffer, a mapped HostBuffer, an integer type, float32, float64 or []byte)", i, p.Name, a)
			}
		}
		if err := ptx.CheckArg(kernel, p, pa); err != nil {
			return nil, bad("%s", err.(*ptx.ArgError).Msg)
		}
		pa.Put(arg.Raw[:p.Size])
		out[i] = arg
	}
	return out, nil
}
