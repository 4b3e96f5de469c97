package cpuemu_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// symbolsModule loads what nvcc 11.8 made of testdata/symbols/symbols.cu.
func symbolsModule(t *testing.T) *cpuemu.Module {
	t.Helper()
	src, err := os.ReadFile("testdata/symbols/symbols.ptx")
	if err != nil {
		t.Fatal(err)
	}
	return ptLoad(t, "symbols.ptx", string(src))
}

// TestNarrowParams: nvcc declares unsigned char, signed char, unsigned
// short and short parameters .u8, .u8, .u16 and .u16, and the kernel
// loads each with its own signedness (ld.param.s8 for signed char). The
// values are widened to 32 bits as C does: by hand, 200, -5, 65535 and
// -32768.
func TestNarrowParams(t *testing.T) {
	m := symbolsModule(t)
	d := cpuemu.NewDevice()
	out := ptBuf(t, d, 16, nil)
	cfg := cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)}
	want := []uint32{200, 0xfffffffb, 65535, 0xffff8000}
	for _, args := range [][]any{
		{uint8(200), int8(-5), uint16(65535), int16(-32768), out},
		{200, -5, 65535, -32768, out},                          // Go ints that fit
		{int8(-56), uint8(251), int16(-1), uint16(32768), out}, // the same bits
	} {
		if err := d.Memset(out, 0, 16); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Launch(d, "narrow", cfg, args...); err != nil {
			t.Fatalf("narrow %v: %v", args[:4], err)
		}
		for i, g := range ptWords(ptRead(t, d, out, 16)) {
			if g != want[i] {
				t.Errorf("narrow %v: out[%d] = %#x, want %#x", args[:4], i, g, want[i])
			}
		}
	}
	for _, c := range []struct {
		args []any
		want string
	}{
		{[]any{256, -5, 0, 0, out}, "argument 0 (narrow_param_0 .u8, 1 bytes) given int 256, which does not fit 8 bits"},
		{[]any{0, -129, 0, 0, out}, "given int -129, which does not fit 8 bits"},
		{[]any{0, 0, 65536, 0, out}, "given int 65536, which does not fit 16 bits"},
		{[]any{0, 0, 0, -32769, out}, "given int -32769, which does not fit 16 bits"},
		{[]any{uint16(1), 0, 0, 0, out}, "given a 2-byte uint16"},
		{[]any{0, 0, int32(1), 0, out}, "given a 4-byte int32"},
	} {
		_, err := m.Launch(d, "narrow", cfg, c.args...)
		var ae *cpuemu.ArgError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("narrow %v: %v; want an *ArgError with %q", c.args[:4], err, c.want)
		}
	}
}

// TestIntForByteArray: a Go int (or any single value) for a by-value
// struct parameter (a .b8 array) is an *ArgError, whatever the array's
// size, and never a panic or a launch that fills the struct's first
// bytes.
func TestIntForByteArray(t *testing.T) {
	m := ptLoad(t, "structs", ptHeader+`
.visible .entry k(
	.param .align 4 .b8 k_param_0[4],
	.param .align 8 .b8 k_param_1[8],
	.param .align 8 .b8 k_param_2[24]
)
{
	ret;
}
`)
	d := cpuemu.NewDevice()
	cfg := cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}
	b4, b8, b24 := make([]byte, 4), make([]byte, 8), make([]byte, 24)
	if _, err := m.Launch(d, "k", cfg, b4, b8, b24); err != nil {
		t.Fatalf("the structs' bytes: %v", err)
	}
	for _, c := range []struct {
		args []any
		want string
	}{
		{[]any{5, b8, b24}, "argument 0 (k_param_0 .b8, 4 bytes) is an array or a struct, given int 5 (pass its bytes)"},
		{[]any{b4, -1, b24}, "argument 1 (k_param_1 .b8, 8 bytes) is an array or a struct, given int -1"},
		{[]any{b4, b8, 7}, "argument 2 (k_param_2 .b8, 24 bytes) is an array or a struct, given int 7"},
		{[]any{uint32(5), b8, b24}, "is an array or a struct, given uint32 5"},
		{[]any{b4, uint64(1), b24}, "is an array or a struct, given uint64 1"},
		{[]any{b4, cpuemu.DevicePtr(0x1000), b24}, "is an array or a struct, given DevicePtr"},
		{[]any{float32(1), b8, b24}, "is an array or a struct, given float32"},
		{[]any{b4, b4, b24}, "argument 1 (k_param_1 .b8, 8 bytes) given 4 bytes"},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("Launch %T %T %T panicked: %v", c.args[0], c.args[1], c.args[2], r)
				}
			}()
			res, err := m.Launch(d, "k", cfg, c.args...)
			var ae *cpuemu.ArgError
			if res != nil || !errors.As(err, &ae) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Launch %T %T %T: %v, %v; want no result and an *ArgError with %q", c.args[0], c.args[1], c.args[2], res, err, c.want)
			}
		}()
	}
}
