package ptx_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/internal/ptx"
)

// TestCheckArg: which argument each kind of parameter takes. The rules
// are the driver's (a parameter is bytes of its size) plus kind checks
// that catch a float passed for an integer and the reverse.
func TestCheckArg(t *testing.T) {
	p := func(typ string, size int) ptx.Param { return ptx.Param{Name: "x", Type: typ, Size: size, Align: size} }
	ptr := ptx.Arg{Kind: ptx.ArgPointer, Size: 8, Bits: 0x1000}
	i32 := ptx.Arg{Kind: ptx.ArgInt, Size: 4, Bits: 5}
	u64 := ptx.Arg{Kind: ptx.ArgUint, Size: 8, Bits: 5}
	f32 := ptx.Arg{Kind: ptx.ArgFloat, Size: 4}
	f64 := ptx.Arg{Kind: ptx.ArgFloat, Size: 8}
	intAny := func(v int64) ptx.Arg { return ptx.Arg{Kind: ptx.ArgInt, Bits: uint64(v), Desc: "int"} }
	uintAny := func(v uint64) ptx.Arg { return ptx.Arg{Kind: ptx.ArgUint, Bits: v} }
	bytes3 := ptx.Arg{Kind: ptx.ArgBytes, Size: 3, Bytes: []byte{1, 2, 3}}
	for _, c := range []struct {
		p    ptx.Param
		a    ptx.Arg
		want string // "" for accepted
	}{
		{p("u64", 8), ptr, ""},
		{p("s64", 8), ptr, ""},
		{p("b64", 8), ptr, ""},
		{p("f64", 8), ptr, "is a float"},
		{p("u32", 4), ptr, "given a 8-byte pointer"},
		{p("u32", 4), i32, ""},
		{p("s32", 4), i32, ""},
		{p("b32", 4), i32, ""},
		{p("f32", 4), i32, "is a float, given an integer"},
		{p("u64", 8), i32, "given a 4-byte integer"},
		{p("u64", 8), u64, ""},
		{p("f32", 4), f32, ""},
		{p("b32", 4), f32, ""},
		{p("u32", 4), f32, "is an integer"},
		{p("f32", 4), f64, "given a 8-byte float"},
		{p("f64", 8), f64, ""},
		{p("f16", 2), f32, "given a 4-byte float"},
		{p("u8", 1), intAny(255), "given int 255: int has no fixed size; use int8 or uint8 for a .u8 parameter"},

		{p("s8", 1), intAny(-128), "given int -128: int has no fixed size"},

		{p("u32", 4), intAny(-1), "given int -1: int has no fixed size; use int32 or uint32 for a .u32 parameter"},
		{p("u32", 4), uintAny(1 << 32), "given integer 4294967296: integer has no fixed size"},
		{p("u64", 8), uintAny(1 << 63), "use int64 or uint64 for a .u64 parameter"},
		{p("b8", 16), intAny(5), "given int 5: int has no fixed size; use a []byte of 16 bytes for a .b8 parameter"},
		// An array of a scalar's size is still an array: a sized value
		// does not say what its elements are.
		{p("b8", 4), intAny(5), "use a []byte of 4 bytes"},
		{p("b8", 8), intAny(-1), "use a []byte of 8 bytes"},
		{p("b8", 4), i32, "is an array or a struct, given integer 5"},
		{p("b8", 8), ptr, "is an array or a struct, given pointer"},
		{p("b8", 4), f32, "is an array or a struct, given float"},
		{p("u32", 8), u64, "is an array or a struct"}, // .v2 .u32
		{p("b8", 8), ptx.Arg{Kind: ptx.ArgBytes, Size: 8, Bytes: make([]byte, 8)}, ""},
		// The narrow integers: a sized value of their width, of either
		// signedness.
		{p("u8", 1), ptx.Arg{Kind: ptx.ArgUint, Size: 1, Bits: 200}, ""},
		{p("s8", 1), ptx.Arg{Kind: ptx.ArgInt, Size: 1, Bits: uint64(1<<64 - 5)}, ""},
		{p("u8", 1), ptx.Arg{Kind: ptx.ArgUint, Size: 2, Bits: 200}, "given a 2-byte integer"},
		{p("s8", 1), i32, "given a 4-byte integer"},

		{p("s16", 2), uintAny(1 << 16), "use int16 or uint16 for a .s16 parameter"},
		{p("s16", 2), ptx.Arg{Kind: ptx.ArgInt, Size: 2, Bits: uint64(1<<64 - 1)}, ""},
		{p("u16", 2), f32, "given a 4-byte float"},
		{p("s64", 8), ptr, ""}, // a pointer declared signed
		{p("b8", 3), bytes3, ""},
		{p("b8", 4), bytes3, "given 3 bytes"},
		{p("f32", 3), bytes3, ""}, // raw bytes go anywhere of their size
	} {
		err := ptx.CheckArg("k", c.p, c.a)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v <- %+v: %v", c.p, c.a, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v <- %+v: got %v, want an error containing %q", c.p, c.a, err, c.want)
		}
		var ae *ptx.ArgError
		if err != nil && (!errors.As(err, &ae) || ae.Kernel != "k") {
			t.Errorf("%v is not an *ArgError of kernel k", err)
		}
	}
}

func TestPack(t *testing.T) {
	m := mustParse(t, `.entry k(.param .u8 a, .param .u64 b, .param .align 4 .b8 s[6], .param .f32 c) { ret; }`)
	e := m.Entries()[0]
	var args []ptx.Arg
	for _, v := range []any{uint8(0xAB), uint64(0x0102030405060708), []byte{1, 2, 3, 4, 5, 6}, float32(1)} {
		a, ok := ptx.GoArg(v)
		if !ok {
			t.Fatalf("GoArg(%T)", v)
		}
		args = append(args, a)
	}
	if err := ptx.CheckArgs("k", e.Params, args); err != nil {
		t.Fatal(err)
	}
	// a at 0; b aligned to 8; s (align 4) at 16; c at 24: 28 bytes.
	want := []byte{0xAB, 0, 0, 0, 0, 0, 0, 0,
		8, 7, 6, 5, 4, 3, 2, 1,
		1, 2, 3, 4, 5, 6, 0, 0,
		0, 0, 0x80, 0x3F}
	if e.ParamBytes != 28 {
		t.Errorf("ParamBytes = %d, want 28", e.ParamBytes)
	}
	if got := ptx.Pack(e.Params, e.ParamBytes, args); !bytes.Equal(got, want) {
		t.Errorf("Pack = % x\nwant   % x", got, want)
	}
	if err := ptx.CheckArgs("k", e.Params, args[:3]); err == nil || !strings.Contains(err.Error(), "got 3 arguments, the kernel takes 4 (.u8 a, .u64 b, .b8 s[6], .f32 c)") {
		t.Errorf("count: %v", err)
	}
	if _, ok := ptx.GoArg("x"); ok {
		t.Error("GoArg(string) accepted")
	}
}

func TestFits(t *testing.T) {
	kinds := map[string]ptx.Arg{
		"buf": {Kind: ptx.ArgPointer, Size: 8}, "i32": {Kind: ptx.ArgInt, Size: 4}, "u64": {Kind: ptx.ArgUint, Size: 8},
		"f32": {Kind: ptx.ArgFloat, Size: 4}, "f64": {Kind: ptx.ArgFloat, Size: 8},
	}
	order := []string{"buf", "i32", "u64", "f32", "f64"}
	for typ, want := range map[string]string{"b64": "buf, u64 or f64", "u32": "i32", "b32": "i32 or f32", "f64": "f64", "b8": ""} {
		size := ptx.TypeSize(typ)
		if got := ptx.OrList(ptx.Fits(ptx.Param{Type: typ, Size: size}, kinds, order)); got != want {
			t.Errorf(".%s takes %q, want %q", typ, got, want)
		}
	}
}
