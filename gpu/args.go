package gpu

import (
	"encoding/binary"
	"fmt"
	"math"
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

// CheckArgs checks args against kernel's parameters (count, size and kind)
// and returns them in 8-byte holders. Pointer parameters (.u64/.b64/.s64)
// take a DeviceBuffer or a mapped HostBuffer; scalars take an integer type
// (int8 to uint64), float32 or float64 of the parameter's size. Errors are
// *Error with no Backend: the caller fills it in.
func CheckArgs(kernel string, params []Param, args []any) ([]Arg, error) {
	bad := func(format string, a ...any) error {
		return &Error{Op: "launch " + kernel, Msg: fmt.Sprintf(format, a...)}
	}
	if len(args) != len(params) {
		return nil, bad("got %d arguments, the kernel takes %d (%s)", len(args), len(params), paramList(params))
	}
	out := make([]Arg, len(args))
	for i, a := range args {
		p := params[i]
		arg := Arg{Param: p}
		if p.Size > MaxArgBytes {
			return nil, bad("argument %d (%s) is a %d-byte by-value parameter; the most a launch passes is %d bytes", i, p.Name, p.Size, MaxArgBytes)
		}
		isFloat := p.Type == "f32" || p.Type == "f64"
		want := func(size int, kind string) error {
			if p.Size != size {
				return bad("argument %d (%s .%s, %d bytes) given a %d-byte %s", i, p.Name, p.Type, p.Size, size, kind)
			}
			return nil
		}
		var err error
		var v uint64
		switch x := a.(type) {
		case DeviceBuffer:
			if x == nil {
				return nil, bad("argument %d (%s): nil buffer", i, p.Name)
			}
			if err = want(8, "pointer"); err == nil && isFloat {
				err = bad("argument %d (%s) is .%s, given a buffer", i, p.Name, p.Type)
			}
			v, arg.Buffer = x.Ptr(), x
		case HostBuffer:
			if x == nil {
				return nil, bad("argument %d (%s): nil host buffer", i, p.Name)
			}
			if !x.Mapped() {
				return nil, bad("argument %d (%s): host buffer is not mapped into the device (allocate it with HostMapped)", i, p.Name)
			}
			if err = want(8, "pointer"); err == nil && isFloat {
				err = bad("argument %d (%s) is .%s, given a host buffer", i, p.Name, p.Type)
			}
			v, arg.Host = x.DevicePtr(), x
		case int8:
			err, v = want(1, "int8"), uint64(uint8(x))
		case uint8:
			err, v = want(1, "uint8"), uint64(x)
		case int16:
			err, v = want(2, "int16"), uint64(uint16(x))
		case uint16:
			err, v = want(2, "uint16"), uint64(x)
		case int32:
			err, v = want(4, "int32"), uint64(uint32(x))
		case uint32:
			err, v = want(4, "uint32"), uint64(x)
		case int64:
			err, v = want(8, "int64"), uint64(x)
		case uint64:
			err, v = want(8, "uint64"), x
		case float32:
			err, v = want(4, "float32"), uint64(math.Float32bits(x))
		case float64:
			err, v = want(8, "float64"), math.Float64bits(x)
		default:
			return nil, bad("argument %d (%s): unsupported Go type %T (want a DeviceBuffer, a mapped HostBuffer, an 8- to 64-bit integer type, float32 or float64)", i, p.Name, a)
		}
		if err != nil {
			return nil, err
		}
		switch a.(type) {
		case int8, uint8, int16, uint16, int32, uint32, int64, uint64:
			if isFloat {
				return nil, bad("argument %d (%s) is .%s, given an integer %T", i, p.Name, p.Type, a)
			}
		case float32, float64:
			if !isFloat && p.Type[0] != 'b' {
				return nil, bad("argument %d (%s) is .%s, given a %T", i, p.Name, p.Type, a)
			}
		}
		binary.LittleEndian.PutUint64(arg.Raw[:], v)
		arg.Value = a
		if arg.Buffer != nil || arg.Host != nil {
			arg.Value = v
		}
		out[i] = arg
	}
	return out, nil
}

func paramList(ps []Param) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += "." + p.Type + " " + p.Name
	}
	return s
}
