package ptx

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// The one check of launch arguments against a kernel's parameters. Every
// layer turns its own values into Args (the emulator's DevicePtr, package
// gpu's buffers, the CLI's --arg specs) and asks CheckArgs, so that the
// same argument is accepted or refused, with the same words, everywhere.

// ArgKind is what a launch argument is.
type ArgKind uint8

const (
	ArgPointer ArgKind = iota + 1 // a device address: 8 bytes
	ArgInt                        // a signed integer
	ArgUint                       // an unsigned integer
	ArgFloat                      // an IEEE float of 4 or 8 bytes
	ArgBytes                      // raw bytes passed by value (a struct)
	// ArgUintptr is a Go uintptr: refused, with the reason, because it
	// has no fixed size and holds a host address.
	ArgUintptr
)

// Arg is one launch argument.
type Arg struct {
	Kind ArgKind
	// Size is the value's size in bytes. An ArgInt or ArgUint of Size 0
	// is Go's int or uint, which CheckArg refuses: it has no fixed size.
	Size  int
	Bits  uint64 // the value; for ArgInt, sign-extended
	Bytes []byte // ArgBytes
	// Desc names what the caller gave, for messages: "uint32", "a
	// buffer", "--arg \"u32:5\"". Empty means a description from Kind.
	Desc string
}

func (a Arg) desc() string {
	if a.Desc != "" {
		return a.Desc
	}
	switch a.Kind {
	case ArgPointer:
		return "pointer"
	case ArgInt, ArgUint:
		return "integer"
	case ArgFloat:
		return "float"
	}
	return "bytes"
}

// GoArg turns a Go value into an Arg: int8 to uint64, int, uint, float32,
// float64 and []byte, and uintptr, which CheckArg refuses saying why. It
// reports false for any other type.
func GoArg(v any) (Arg, bool) {
	switch x := v.(type) {
	case int8:
		return Arg{Kind: ArgInt, Size: 1, Bits: uint64(int64(x)), Desc: "int8"}, true
	case uint8:
		return Arg{Kind: ArgUint, Size: 1, Bits: uint64(x), Desc: "uint8"}, true
	case int16:
		return Arg{Kind: ArgInt, Size: 2, Bits: uint64(int64(x)), Desc: "int16"}, true
	case uint16:
		return Arg{Kind: ArgUint, Size: 2, Bits: uint64(x), Desc: "uint16"}, true
	case int32:
		return Arg{Kind: ArgInt, Size: 4, Bits: uint64(int64(x)), Desc: "int32"}, true
	case uint32:
		return Arg{Kind: ArgUint, Size: 4, Bits: uint64(x), Desc: "uint32"}, true
	case int64:
		return Arg{Kind: ArgInt, Size: 8, Bits: uint64(x), Desc: "int64"}, true
	case uint64:
		return Arg{Kind: ArgUint, Size: 8, Bits: x, Desc: "uint64"}, true
	case int:
		return Arg{Kind: ArgInt, Bits: uint64(int64(x)), Desc: "int"}, true
	case uint:
		return Arg{Kind: ArgUint, Bits: uint64(x), Desc: "uint"}, true
	case uintptr:
		return Arg{Kind: ArgUintptr, Bits: uint64(x), Desc: "uintptr"}, true
	case float32:
		return Arg{Kind: ArgFloat, Size: 4, Bits: uint64(math.Float32bits(x)), Desc: "float32"}, true
	case float64:
		return Arg{Kind: ArgFloat, Size: 8, Bits: math.Float64bits(x), Desc: "float64"}, true
	case []byte:
		return Arg{Kind: ArgBytes, Size: len(x), Bytes: x, Desc: "[]byte"}, true
	}
	return Arg{}, false
}

// CheckArgs checks args against params: their count, and each one with
// CheckArg. Errors are *ArgError.
func CheckArgs(kernel string, params []Param, args []Arg) error {
	if err := CheckCount(kernel, params, len(args)); err != nil {
		return err
	}
	for i, a := range args {
		if err := CheckArg(kernel, params[i], a); err != nil {
			return err
		}
	}
	return nil
}

// CheckCount checks that a launch passes n arguments, one per parameter.
func CheckCount(kernel string, params []Param, n int) error {
	if n != len(params) {
		return &ArgError{Kernel: kernel, Msg: fmt.Sprintf("got %d arguments, the kernel takes %d (%s)", n, len(params), ParamList(params))}
	}
	return nil
}

// CheckArg checks one argument against its parameter:
//   - a pointer takes an 8-byte integer or bit parameter (.u64, .s64, .b64);
//   - an integer takes an integer or bit parameter of its size (Go's int
//     and uint have none, and are refused with the types to use);
//   - a float takes a float or bit parameter of its size;
//   - raw bytes take any parameter of their size, and are all an array or
//     vector parameter (a struct passed by value) takes: one value cannot
//     say what its elements are.
func CheckArg(kernel string, p Param, a Arg) error {
	bad := func(format string, v ...any) error {
		return &ArgError{Kernel: kernel, Msg: fmt.Sprintf("argument %d (%s .%s, %s) ", p.Index, p.Name, p.Type, SizeText(p.Size)) + fmt.Sprintf(format, v...)}
	}
	if a.Kind == ArgUintptr {
		return bad("given a uintptr: uintptr has no fixed size, and holds a host address that the device cannot use; use %s for a .%s parameter%s",
			GoTypes(p), p.Type, bufferHint(p))
	}
	if a.Size == 0 && (a.Kind == ArgInt || a.Kind == ArgUint) {
		// Go's int and uint are 4 or 8 bytes by platform, as
		// encoding/binary refuses them for: a parameter has one size.
		return bad("given %s %d: %s has no fixed size; use %s for a .%s parameter", a.desc(), intValue(a), a.desc(), GoTypes(p), p.Type)
	}
	return checkArg(p, a, bad)
}

// bufferHint adds, for a parameter that can hold a pointer, that a
// device address is passed as its buffer.
func bufferHint(p Param) string {
	if p.Size == 8 && TypeSize(p.Type) == 8 && !IsFloat(p.Type) {
		return " (for a device address, pass the buffer)"
	}
	return ""
}

// GoTypes names the fixed-size Go types that parameter p takes, for
// messages: "int32 or uint32" for .u32 and .s32, "int32, uint32 or
// float32" for .b32, "float32" for .f32, and "a []byte of 6 bytes" for an
// array or a struct (or a float Go has no type for).
func GoTypes(p Param) string {
	n := TypeSize(p.Type)
	switch {
	case n == 0 || p.Size > n || n > 8:
		return "a []byte of " + SizeText(p.Size)
	case p.Type == "f32":
		return "float32"
	case p.Type == "f64":
		return "float64"
	case IsFloat(p.Type):
		return "a []byte of " + SizeText(p.Size)
	case IsBits(p.Type) && n >= 4:
		return fmt.Sprintf("int%d, uint%d or float%d", 8*n, 8*n, 8*n)
	}
	return fmt.Sprintf("int%d or uint%d", 8*n, 8*n)
}

// checkArg is CheckArg's rules; bad makes its *ArgError.
func checkArg(p Param, a Arg, bad func(format string, v ...any) error) error {
	isFloat := IsFloat(p.Type)
	if a.Kind == ArgBytes {
		if len(a.Bytes) != p.Size {
			return bad("given %d bytes", len(a.Bytes))
		}
		return nil
	}
	if n := TypeSize(p.Type); n > 0 && p.Size > n {
		what := a.desc()
		if a.Kind == ArgInt || a.Kind == ArgUint {
			what = fmt.Sprintf("%s %d", what, intValue(a))
		}
		return bad("is an array or a struct, given %s (pass its bytes)", what)
	}
	switch a.Kind {
	case ArgPointer:
		if p.Size != 8 {
			return bad("given a 8-byte %s", a.desc())
		}
		if isFloat {
			return bad("is a float, given a %s", a.desc())
		}
		return nil
	case ArgInt, ArgUint:
		if isFloat {
			return bad("is a float, given an integer %s", a.desc())
		}
		if a.Size != p.Size {
			return bad("given a %d-byte %s", a.Size, a.desc())
		}
		return nil
	case ArgFloat:
		if a.Size != p.Size {
			return bad("given a %d-byte %s", a.Size, a.desc())
		}
		if !isFloat && !IsBits(p.Type) {
			return bad("is an integer, given a %s", a.desc())
		}
		return nil
	}
	return bad("given an argument of unknown kind")
}

func intValue(a Arg) any {
	if a.Kind == ArgInt {
		return int64(a.Bits)
	}
	return a.Bits
}

// Pack lays checked arguments out as the parameter buffer of size bytes.
func Pack(params []Param, size int, args []Arg) []byte {
	buf := make([]byte, size)
	for i, a := range args {
		p := params[i]
		a.Put(buf[p.Offset : p.Offset+p.Size])
	}
	return buf
}

// Put writes a checked argument's value into dst, its parameter's bytes:
// raw bytes as they are, a number little-endian in its low min(len, 8)
// bytes.
func (a Arg) Put(dst []byte) {
	if a.Kind == ArgBytes {
		copy(dst, a.Bytes)
		return
	}
	var tmp [8]byte
	binary.LittleEndian.PutUint64(tmp[:], a.Bits)
	copy(dst, tmp[:min(len(dst), 8)])
}

// Fits lists the kinds of argument that parameter p takes, among the
// kinds given, in their order: the CLI uses it to say "it takes i32 or
// u32".
func Fits(p Param, kinds map[string]Arg, order []string) []string {
	var out []string
	for _, k := range order {
		if CheckArg("", p, kinds[k]) == nil {
			out = append(out, k)
		}
	}
	return out
}

// OrList writes "a", "a or b", "a, b or c".
func OrList(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

// SizeText is "1 byte" or "n bytes", for messages about sizes.
func SizeText(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
