package main

// Argument specs for 'gpubuf launch' and 'gpubuf race': the --arg values,
// byte sizes and launch dimensions, and their check against a kernel's
// .param list.

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/internal/ptx"
)

// Spec kinds.
const (
	kindBuf   = "buf"
	kindBytes = "bytes"
	kindI8    = "i8"
	kindU8    = "u8"
	kindI16   = "i16"
	kindU16   = "u16"
	kindI32   = "i32"
	kindU32   = "u32"
	kindI64   = "i64"
	kindU64   = "u64"
	kindF32   = "f32"
	kindF64   = "f64"
)

// Buffer fills.
const (
	fillZero = "zero"
	fillIota = "iota"
	fillRand = "rand"
	fillFile = "file"
)

// maxBufBytes bounds one buffer: the emulated device holds no more.
const maxBufBytes = cpuemu.DefaultMemoryLimit

const argSpecHelp = `argument specs (one --arg per kernel parameter, in order):
  buf:BYTES[:FILL]  a device buffer, passed as a pointer (.u64/.b64 parameter)
                    BYTES: an integer > 0, optionally with a k (KiB) or M (MiB) suffix
                    FILL: zero (default); iota (32-bit little-endian words 0,1,2,...);
                    rand=SEED (bytes of math/rand/v2 PCG(SEED, 0): successive Uint64s,
                    little-endian); file=PATH (the file's bytes, zero-padded to BYTES;
                    a file longer than BYTES is an error)
  i8:V u8:V         an 8-bit integer (.u8/.s8/.b8 parameter; nvcc declares char and
                    signed char parameters .u8); decimal or 0x hex, range-checked
  i16:V u16:V       a 16-bit integer (.u16/.s16/.b16 parameter; short is .u16 too)
  i32:V u32:V       a 32-bit integer (.u32/.s32/.b32 parameter); decimal or 0x hex
  i64:V u64:V       a 64-bit integer (.u64/.s64/.b64 parameter); decimal or 0x hex
  f32:V f64:V       a float (.f32/.b32 or .f64/.b64 parameter)
  bytes:HEX         the parameter's bytes, in memory order, as hex digits (two per
                    byte, exactly the parameter's size): what a struct passed by
                    value (a .b8 array parameter) takes, e.g. bytes:0100000002000000
                    for a struct of two 32-bit ints 1 and 2; any parameter takes it
`

// argSpec is one parsed --arg.
type argSpec struct {
	Text  string // as given
	Kind  string // kindBuf, kindI32, ...
	Bytes int    // buf: size
	Fill  string // buf: fillZero, fillIota, fillRand or fillFile
	Seed  uint64 // buf rand=SEED
	Path  string // buf file=PATH
	Value any    // scalars: int8 to uint64, float32 or float64; bytes: []byte

	data []byte // buf file=PATH: the file's bytes, after load
	// flag and what name the spec in load's messages: "--arg" and "the
	// buffer's" when empty (a --symbol's fill says "--symbol" and the
	// variable).
	flag, what string
}

func (a *argSpec) isBuf() bool { return a.Kind == kindBuf }

// parseArgSpec reads one --arg value. It reads no file: see load.
func parseArgSpec(s string) (argSpec, error) {
	a := argSpec{Text: s}
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return a, fmt.Errorf("--arg %q: want KIND:VALUE, KIND one of buf, i8, u8, i16, u16, i32, u32, i64, u64, f32, f64, bytes", s)
	}
	a.Kind = kind
	bad := func(format string, v ...any) (argSpec, error) {
		return a, fmt.Errorf("--arg %q: %s", s, fmt.Sprintf(format, v...))
	}
	switch kind {
	case kindBuf:
		size, fill, hasFill := strings.Cut(rest, ":")
		n, err := parseBytes(size)
		if err != nil {
			return bad("buffer size: %v", err)
		}
		if n == 0 {
			return bad("buffer size must be > 0")
		}
		a.Bytes = int(n)
		a.Fill = fillZero
		if !hasFill {
			return a, nil
		}
		if err := a.parseFill(fill); err != nil {
			return bad("%v", err)
		}
		return a, nil
	case kindI8, kindI16, kindI32, kindI64:
		v, err := parseInt(rest, intBits[kind])
		if err != nil {
			return bad("%v", err)
		}
		switch kind {
		case kindI8:
			a.Value = int8(v)
		case kindI16:
			a.Value = int16(v)
		case kindI32:
			a.Value = int32(v)
		default:
			a.Value = v
		}
		return a, nil
	case kindU8, kindU16, kindU32, kindU64:
		v, err := parseUint(rest, intBits[kind])
		if err != nil {
			return bad("%v", err)
		}
		switch kind {
		case kindU8:
			a.Value = uint8(v)
		case kindU16:
			a.Value = uint16(v)
		case kindU32:
			a.Value = uint32(v)
		default:
			a.Value = v
		}
		return a, nil
	case kindF32, kindF64:
		bits := 32
		if kind == kindF64 {
			bits = 64
		}
		if strings.TrimSpace(rest) != rest || rest == "" {
			return bad("want a number")
		}
		v, err := strconv.ParseFloat(rest, bits)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return bad("%s out of range for %s", rest, kind)
			}
			return bad("%q is not a number", rest)
		}
		if bits == 32 {
			a.Value = float32(v)
		} else {
			a.Value = v
		}
		return a, nil
	case kindBytes:
		b, err := parseHexBytes(rest)
		if err != nil {
			return bad("%v", err)
		}
		a.Value = b
		return a, nil
	}
	return a, fmt.Errorf("--arg %q: unknown kind %q (want buf, i8, u8, i16, u16, i32, u32, i64, u64, f32, f64 or bytes)", s, kind)
}

// parseHexBytes reads a bytes: spec's HEX: two hex digits per byte, at
// most a kernel parameter buffer's worth.
func parseHexBytes(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("want hex digits, two per byte")
	}
	if len(s) > 2*ptx.MaxParamBytes {
		return nil, fmt.Errorf("%d hex digits: a parameter is at most %d bytes (%d digits)", len(s), ptx.MaxParamBytes, 2*ptx.MaxParamBytes)
	}
	for i, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return nil, fmt.Errorf("%q at offset %d is not a hex digit (want two hex digits per byte, no 0x)", c, i)
		}
	}
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("%d hex digits, an odd count: want two per byte", len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// intBits is the width of each integer spec kind.
var intBits = map[string]int{kindI8: 8, kindU8: 8, kindI16: 16, kindU16: 16, kindI32: 32, kindU32: 32, kindI64: 64, kindU64: 64}

// aBits writes "a 32-bit", "an 8-bit".
func aBits(bits int) string {
	if bits == 8 {
		return "an 8-bit"
	}
	return fmt.Sprintf("a %d-bit", bits)
}

// parseFill reads a buffer's FILL: zero, iota, rand=SEED or file=PATH.
func (a *argSpec) parseFill(fill string) error {
	name, val, hasVal := strings.Cut(fill, "=")
	switch {
	case name == fillZero && !hasVal, name == fillIota && !hasVal:
		a.Fill = name
	case name == fillRand && hasVal:
		seed, err := parseUint(val, 64)
		if err != nil {
			return fmt.Errorf("rand seed: %v", err)
		}
		a.Fill, a.Seed = fillRand, seed
	case name == fillFile && hasVal:
		if val == "" {
			return fmt.Errorf("file= needs a path")
		}
		a.Fill, a.Path = fillFile, val
	case name == fillRand || name == fillFile:
		return fmt.Errorf("fill %s needs a value: %s=...", name, name)
	default:
		return fmt.Errorf("unknown fill %q (want zero, iota, rand=SEED or file=PATH)", fill)
	}
	return nil
}

// splitNumber separates an integer's sign, base and digits: decimal, or
// hexadecimal after 0x.
func splitNumber(s string) (neg bool, digits string, base int, err error) {
	t := s
	if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		neg = t[0] == '-'
		t = t[1:]
	}
	base = 10
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
		base = 16
		t = t[2:]
	}
	if t == "" {
		return false, "", 0, fmt.Errorf("%q is not an integer", s)
	}
	for _, c := range t {
		ok := c >= '0' && c <= '9' || base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')
		if !ok {
			return false, "", 0, fmt.Errorf("%q is not an integer (decimal or 0x hex)", s)
		}
	}
	return neg, t, base, nil
}

// parseUint reads an unsigned integer of the given bits, decimal or 0x hex.
func parseUint(s string, bits int) (uint64, error) {
	neg, digits, base, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil || v > math.MaxUint64>>(64-bits) {
		return 0, fmt.Errorf("%s out of range for %s unsigned integer", s, aBits(bits))
	}
	if neg && v != 0 {
		return 0, fmt.Errorf("%s out of range for %s unsigned integer (negative)", s, aBits(bits))
	}
	return v, nil
}

// parseInt reads a signed integer of the given bits, decimal or 0x hex.
func parseInt(s string, bits int) (int64, error) {
	neg, digits, base, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(digits, base, 64)
	limit := uint64(1) << (bits - 1) // the magnitude of the most negative value
	if err != nil || v > limit || !neg && v == limit {
		return 0, fmt.Errorf("%s out of range for %s signed integer", s, aBits(bits))
	}
	if neg {
		return int64(-v), nil // two's complement: -(1<<63) wraps to itself
	}
	return int64(v), nil
}

// parseBytes reads a byte count: a decimal integer, optionally with a k
// (KiB) or M (MiB) suffix. Zero is allowed here; callers reject it where it
// is not.
func parseBytes(s string) (int64, error) {
	mult := int64(1)
	t := s
	switch {
	case strings.HasSuffix(t, "k"), strings.HasSuffix(t, "K"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "M"):
		mult, t = 1<<20, t[:len(t)-1]
	}
	if t == "" {
		return 0, fmt.Errorf("%q is not a byte count", s)
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a byte count (an integer, optionally with a k or M suffix)", s)
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v > maxBufBytes/mult {
		return 0, fmt.Errorf("%s is more than the emulated device's %d bytes", s, int64(maxBufBytes))
	}
	return v * mult, nil
}

// parseDim reads a launch dimension X[,Y[,Z]]; missing components are 1.
func parseDim(s string) (cpuemu.Dim3, error) {
	parts := strings.Split(s, ",")
	if len(parts) > 3 {
		return cpuemu.Dim3{}, fmt.Errorf("%q: want X[,Y[,Z]]", s)
	}
	v := [3]uint32{1, 1, 1}
	for i, p := range parts {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 32)
		if err != nil {
			return cpuemu.Dim3{}, fmt.Errorf("%q: %q is not a positive 32-bit integer", s, p)
		}
		if n == 0 {
			return cpuemu.Dim3{}, fmt.Errorf("%q: dimension %c is 0; each must be at least 1", s, "xyz"[i])
		}
		v[i] = uint32(n)
	}
	return cpuemu.Dim3{X: v[0], Y: v[1], Z: v[2]}, nil
}

// load reads the file of a file=PATH fill and checks that it fits.
func (a *argSpec) load() error {
	if a.Kind != kindBuf || a.Fill != fillFile {
		return nil
	}
	// Reading stops one byte past the buffer: a longer file is an error
	// whatever its length, and an endless one (/dev/zero) is no different.
	b, err := readFileLimit(a.Path, int64(a.Bytes))
	flag, what := a.flag, a.what
	if flag == "" {
		flag, what = "--arg", "the buffer's"
	}
	var long *tooLongError
	switch {
	case errors.As(err, &long) && long.Size >= 0:
		return fmt.Errorf("%s %q: file %s is %d bytes, more than %s %d", flag, a.Text, a.Path, long.Size, what, a.Bytes)
	case errors.As(err, &long):
		return fmt.Errorf("%s %q: file %s is more than %s %d bytes", flag, a.Text, a.Path, what, a.Bytes)
	case err != nil:
		return fmt.Errorf("%s %q: %v", flag, a.Text, err)
	}
	a.data = b
	return nil
}

// contents is the initial contents of a buffer spec: the same bytes every
// call.
func (a *argSpec) contents() []byte {
	b := make([]byte, a.Bytes)
	switch a.Fill {
	case fillIota:
		var w [4]byte
		for i := 0; i < len(b); i += 4 {
			binary.LittleEndian.PutUint32(w[:], uint32(i/4))
			copy(b[i:], w[:])
		}
	case fillRand:
		r := rand.NewPCG(a.Seed, 0)
		var w [8]byte
		for i := 0; i < len(b); i += 8 {
			binary.LittleEndian.PutUint64(w[:], r.Uint64())
			copy(b[i:], w[:])
		}
	case fillFile:
		copy(b, a.data)
	}
	return b
}

// paramDesc names a kernel parameter in messages.
func paramDesc(p ptx.Param) string {
	return fmt.Sprintf("parameter %d (%s .%s, %s)", p.Index, p.Name, p.Type, ptx.SizeText(p.Size))
}

// specKinds is what each spec kind passes, for the front end's argument
// checker, and specOrder the order messages list them in.
var (
	specKinds = map[string]ptx.Arg{
		kindBuf: {Kind: ptx.ArgPointer, Size: 8}, kindI8: {Kind: ptx.ArgInt, Size: 1}, kindU8: {Kind: ptx.ArgUint, Size: 1},
		kindI16: {Kind: ptx.ArgInt, Size: 2}, kindU16: {Kind: ptx.ArgUint, Size: 2}, kindI32: {Kind: ptx.ArgInt, Size: 4}, kindU32: {Kind: ptx.ArgUint, Size: 4},
		kindI64: {Kind: ptx.ArgInt, Size: 8}, kindU64: {Kind: ptx.ArgUint, Size: 8}, kindF32: {Kind: ptx.ArgFloat, Size: 4},
		kindF64: {Kind: ptx.ArgFloat, Size: 8},
	}
	specOrder = []string{kindBuf, kindI8, kindU8, kindI16, kindU16, kindI32, kindU32, kindI64, kindU64, kindF32, kindF64}
)

// fits reports whether spec s can be passed to parameter p, and if not,
// which kinds could: those of specKinds that fit, or else bytes:HEX of
// the parameter's size, which any parameter takes. The front end's
// checker decides.
func fits(s argSpec, p ptx.Param) (bool, string) {
	a := specKinds[s.Kind]
	if s.Kind == kindBytes {
		b := s.Value.([]byte)
		a = ptx.Arg{Kind: ptx.ArgBytes, Size: len(b), Bytes: b}
	}
	if ptx.CheckArg("", p, a) == nil {
		return true, ""
	}
	want := ptx.Fits(p, specKinds, specOrder)
	if len(want) == 0 || s.Kind == kindBytes {
		return false, fmt.Sprintf("it takes bytes:HEX of %s (%d hex digits)", ptx.SizeText(p.Size), 2*p.Size)
	}
	return false, "it takes " + ptx.OrList(want)
}

// specDesc says what a spec passes, for messages.
func specDesc(s argSpec) string {
	if s.Kind == kindBytes {
		return ptx.SizeText(len(s.Value.([]byte)))
	}
	return kindDesc(s.Kind)
}

// kindDesc says what a spec kind passes, for messages.
func kindDesc(k string) string {
	switch k {
	case kindBuf:
		return "a buffer (an 8-byte pointer)"
	case kindI8, kindU8:
		return "a 1-byte integer"
	case kindI16, kindU16:
		return "a 2-byte integer"
	case kindI32, kindU32:
		return "a 4-byte integer"
	case kindI64, kindU64:
		return "an 8-byte integer"
	case kindF32:
		return "a 4-byte float"
	case kindF64:
		return "an 8-byte float"
	}
	return k
}

// checkSpecs checks the specs against the entry's .param list: their count,
// and each one's kind against its parameter's type and size.
func checkSpecs(e kernelEntry, specs []argSpec) error {
	if len(specs) != len(e.Params) {
		var list []string
		for _, p := range e.Params {
			list = append(list, fmt.Sprintf("%d: %s .%s", p.Index, p.Name, p.Type))
		}
		msg := fmt.Sprintf("kernel %s takes %d arguments (%s), %d --arg given", e.Name, len(e.Params), strings.Join(list, ", "), len(specs))
		if len(specs) < len(e.Params) {
			msg += "; missing " + paramDesc(e.Params[len(specs)])
		} else {
			msg += fmt.Sprintf("; --arg %q has no parameter", specs[len(e.Params)].Text)
		}
		return fmt.Errorf("%s", msg)
	}
	for i, s := range specs {
		p := e.Params[i]
		if ok, want := fits(s, p); !ok {
			return fmt.Errorf("kernel %s %s: --arg %q is %s; %s", e.Name, paramDesc(p), s.Text, specDesc(s), want)
		}
	}
	return nil
}
