package cpuemu_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
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
		{[]any{200, int8(-5), uint16(0), int16(0), out}, "argument 0 (narrow_param_0 .u8, 1 byte) given int 200: int has no fixed size; use int8 or uint8 for a .u8 parameter"},
		{[]any{uint8(0), int8(0), 65536, int16(0), out}, "argument 2 (narrow_param_2 .u16, 2 bytes) given int 65536: int has no fixed size; use int16 or uint16"},
		{[]any{uint16(1), int8(0), uint16(0), int16(0), out}, "given a 2-byte uint16"},
		{[]any{uint8(0), int8(0), int32(1), int16(0), out}, "given a 4-byte int32"},
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
		{[]any{5, b8, b24}, "argument 0 (k_param_0 .b8, 4 bytes) given int 5: int has no fixed size; use a []byte of 4 bytes for a .b8 parameter"},
		{[]any{b4, -1, b24}, "argument 1 (k_param_1 .b8, 8 bytes) given int -1: int has no fixed size"},
		{[]any{b4, b8, 7}, "argument 2 (k_param_2 .b8, 24 bytes) given int 7: int has no fixed size"},
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

// symbolBytes reads a module variable through Global and Device.Read.
func symbolBytes(t *testing.T, m *cpuemu.Module, d *cpuemu.Device, name string, size int) (cpuemu.DevicePtr, []byte) {
	t.Helper()
	p, n, err := m.Global(d, name)
	if err != nil {
		t.Fatalf("Global(%s): %v", name, err)
	}
	if n != size {
		t.Errorf("Global(%s) size %d, want %d", name, n, size)
	}
	return p, ptRead(t, d, p, n)
}

// TestSymbolsCUDA runs nvcc's kernels of testdata/symbols around host
// reads and writes of their module variables: a __device__ counter that
// the kernel bumps atomically, and a __constant__ table and scale with
// initial values that the host replaces. Expected values are the CUDA
// source's arithmetic, by hand; each device has its own copy.
func TestSymbolsCUDA(t *testing.T) {
	m := symbolsModule(t)
	d, d2 := cpuemu.NewDevice(), cpuemu.NewDevice()
	word := func(b []byte) uint32 { return ptWords(b)[0] }

	// __device__ unsigned int counter, seen: zero before any launch.
	pc, b := symbolBytes(t, m, d, "counter", 4)
	if word(b) != 0 {
		t.Errorf("counter starts at %d, want 0", word(b))
	}
	ps, _ := symbolBytes(t, m, d, "seen", 4)
	if pc == ps {
		t.Fatalf("counter and seen share the address %#x", uint64(pc))
	}
	if err := d.Write(pc, ptBytes(100)); err != nil {
		t.Fatal(err)
	}
	// 2 blocks of 64 threads each add 3: 100 + 128*3.
	if _, err := m.Launch(d, "bump", cpuemu.LaunchConfig{Grid: ptD1(2), Block: ptD1(64), Check: true}, uint32(3)); err != nil {
		t.Fatal(err)
	}
	if _, b := symbolBytes(t, m, d, "counter", 4); word(b) != 484 {
		t.Errorf("counter = %d after 128 adds of 3 to 100, want 484", word(b))
	}
	// Thread 0 of block 0 saw some value the counter went through: 100
	// plus a multiple of 3, below the end.
	if _, b := symbolBytes(t, m, d, "seen", 4); word(b) < 100 || word(b) >= 484 || (word(b)-100)%3 != 0 {
		t.Errorf("seen = %d, not one of 100, 103, ..., 481", word(b))
	}
	if err := d.Write(pc, ptBytes(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Launch(d, "bump", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)}, uint32(1)); err != nil {
		t.Fatal(err)
	}
	if _, b := symbolBytes(t, m, d, "counter", 4); word(b) != 32 {
		t.Errorf("counter = %d after a host write of 0 and 32 adds of 1, want 32", word(b))
	}
	// The other device's counter is its own: still 0, then 5*32.
	if _, b := symbolBytes(t, m, d2, "counter", 4); word(b) != 0 {
		t.Errorf("the second device's counter = %d, want 0", word(b))
	}
	if _, err := m.Launch(d2, "bump", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)}, uint32(5)); err != nil {
		t.Fatal(err)
	}
	if _, b := symbolBytes(t, m, d2, "counter", 4); word(b) != 160 {
		t.Errorf("the second device's counter = %d, want 160", word(b))
	}
	if _, b := symbolBytes(t, m, d, "counter", 4); word(b) != 32 {
		t.Errorf("a launch on the second device changed the first's counter to %d", word(b))
	}

	// __constant__ int table[8] = {1..8}; float scale = 0.5f: out[i] =
	// table[i % 8] * scale.
	const n = 40
	lookup := func(dev *cpuemu.Device, table []uint32, scale float32) {
		t.Helper()
		out := ptBuf(t, dev, 4*n, nil)
		if _, err := m.Launch(dev, "lookup", cpuemu.LaunchConfig{Grid: ptD1(2), Block: ptD1(32), Check: true}, out, int32(n)); err != nil {
			t.Fatal(err)
		}
		for i, g := range ptWords(ptRead(t, dev, out, 4*n)) {
			if w := math.Float32bits(float32(int32(table[i%8])) * scale); g != w {
				t.Errorf("out[%d] = %v, want %v", i, math.Float32frombits(g), math.Float32frombits(w))
			}
		}
	}
	pt, b := symbolBytes(t, m, d, "table", 32)
	if got, want := ptWords(b), []uint32{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(got, want) {
		t.Errorf("table starts as %v, want its initialiser %v", got, want)
	}
	pscale, b := symbolBytes(t, m, d, "scale", 4)
	if math.Float32frombits(word(b)) != 0.5 {
		t.Errorf("scale starts as %v, want 0.5", math.Float32frombits(word(b)))
	}
	lookup(d, []uint32{1, 2, 3, 4, 5, 6, 7, 8}, 0.5)
	newTable := []uint32{10, 20, 30, 40, 50, 60, 70, 0xfffffffd} // the last is -3
	if err := d.Write(pt, ptBytes(newTable...)); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(pscale, ptBytes(math.Float32bits(-2))); err != nil {
		t.Fatal(err)
	}
	lookup(d, newTable, -2)
	lookup(d2, []uint32{1, 2, 3, 4, 5, 6, 7, 8}, 0.5) // the other device: the initialisers
	if _, b := symbolBytes(t, m, d, "table", 32); !slices.Equal(ptWords(b), newTable) {
		t.Errorf("table reads back %v, want %v", ptWords(b), newTable)
	}

	// The module's storage is not an allocation to free; ReleaseModule
	// drops it, and the next Global maps it again from the initialisers.
	var me *cpuemu.DeviceMemoryError
	if err := d.Free(pt); !errors.As(err, &me) {
		t.Errorf("Free of a __constant__ variable: %v, want a *DeviceMemoryError", err)
	}
	d.ReleaseModule(m)
	if err := d.Write(pc, ptBytes(1)); !errors.As(err, &me) {
		t.Errorf("a write to a released module's counter: %v, want a *DeviceMemoryError", err)
	}
	if _, b := symbolBytes(t, m, d, "table", 32); !slices.Equal(ptWords(b), []uint32{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Errorf("table after ReleaseModule reads %v, want its initialiser", ptWords(b))
	}
	lookup(d, []uint32{1, 2, 3, 4, 5, 6, 7, 8}, 0.5)
}

// A kernel cannot write a .const variable, neither by its const-space
// name nor through the address Global gives, but reads it through that
// address; the host writes it.
func TestConstReadOnlyToKernels(t *testing.T) {
	src := ptHeader + `
.const .align 4 .u32 k[2] = {7, 9};

.visible .entry readptr(.param .u64 p, .param .u64 out)
{
	.reg .b32 %r<4>;
	.reg .b64 %rd<4>;
	ld.param.u64 %rd1, [p];
	ld.param.u64 %rd2, [out];
	ld.global.u32 %r1, [%rd1+4];
	ld.const.u32 %r2, [k];
	add.u32 %r3, %r1, %r2;
	st.global.u32 [%rd2], %r3;
	ret;
}

.visible .entry writeptr(.param .u64 p)
{
	.reg .b32 %r<2>;
	.reg .b64 %rd<2>;
	ld.param.u64 %rd1, [p];
	mov.u32 %r1, 1;
	st.global.u32 [%rd1], %r1; // STORE
	ret;
}

.visible .entry atomptr(.param .u64 p)
{
	.reg .b32 %r<2>;
	.reg .b64 %rd<2>;
	ld.param.u64 %rd1, [p];
	atom.global.add.u32 %r1, [%rd1], 1; // ATOM
	ret;
}

.visible .entry writeconst()
{
	.reg .b32 %r<2>;
	mov.u32 %r1, 1;
	st.const.u32 [k], %r1; // CONST
	ret;
}
`
	m := ptLoad(t, "const.ptx", src)
	d := cpuemu.NewDevice()
	pk, size, err := m.Global(d, "k")
	if err != nil || size != 8 {
		t.Fatalf("Global(k) = %#x, %d, %v", uint64(pk), size, err)
	}
	out := ptBuf(t, d, 4, nil)
	cfg := cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}
	if _, err := m.Launch(d, "readptr", cfg, pk, out); err != nil {
		t.Fatal(err)
	}
	if got := ptWords(ptRead(t, d, out, 4))[0]; got != 9+7 {
		t.Errorf("k[1] through its address + k[0] = %d, want 16", got)
	}
	if err := d.Write(pk, ptBytes(100, 200)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Launch(d, "readptr", cfg, pk, out); err != nil {
		t.Fatal(err)
	}
	if got := ptWords(ptRead(t, d, out, 4))[0]; got != 300 {
		t.Errorf("after the host wrote {100, 200}: %d, want 300", got)
	}
	for _, c := range []struct {
		kernel, mark string
		args         []any
	}{
		{"writeptr", "// STORE", []any{pk}},
		{"atomptr", "// ATOM", []any{pk}},
		{"writeconst", "// CONST", nil},
	} {
		_, err := m.Launch(d, c.kernel, cfg, c.args...)
		fe := ptFault(t, err)
		if fe.Kind != "write to read-only memory" || fe.Site.PTXLine != ptLine(t, src, c.mark) {
			t.Errorf("%s: %v; want a write to read-only memory at ptx line %d", c.kernel, err, ptLine(t, src, c.mark))
		}
	}
	if got := ptWords(ptRead(t, d, pk, 8)); !slices.Equal(got, []uint32{100, 200}) {
		t.Errorf("k = %v after the refused stores, want [100 200]", got)
	}
}

// Global refuses, with a *SymbolError, every name that is not a .global or
// .const variable the emulator provides.
func TestGlobalErrors(t *testing.T) {
	src := ptHeader + `
.global .align 4 .u32 g;
.const .align 4 .u32 c;
.shared .align 4 .u32 sh;
.extern .global .align 4 .u32 ext;
.global .texref tex;

.visible .entry k()
{
	ret;
}
`
	m := ptLoad(t, "errs.ptx", src)
	d := cpuemu.NewDevice()
	for _, c := range []struct {
		dev        *cpuemu.Device
		name, want string
		cause      bool // wraps the emulator's *UnsupportedError
	}{
		{d, "nosuch", "module errs.ptx: variable nosuch: no such .global or .const variable (the module has c, g)", false},
		{d, "k", "variable k: is a function, not a .global or .const variable (the module has c, g)", false},
		{d, "sh", "variable sh: is a .shared variable; only .global and .const variables have a device address", false},
		{d, "ext", fmt.Sprintf("variable ext: cannot be used on the emulator: ptx line %d: unsupported: external .global variable ext (defined in another module)", ptLine(t, src, "ext;")), true},
		{d, "tex", "variable tex: cannot be used on the emulator", true},
		{nil, "g", "variable g: nil device", false},
	} {
		p, n, err := m.Global(c.dev, c.name)
		var se *cpuemu.SymbolError
		if !errors.As(err, &se) || se.Name != c.name || !strings.Contains(err.Error(), c.want) || p != 0 || n != 0 {
			t.Errorf("Global(%s) = %#x, %d, %v; want a *SymbolError with %q", c.name, uint64(p), n, err, c.want)
		}
		var ue *cpuemu.UnsupportedError
		if errors.As(err, &ue) != c.cause {
			t.Errorf("Global(%s): %v; wraps an *UnsupportedError: %v, want %v", c.name, err, !c.cause, c.cause)
		}
	}
	empty := ptLoad(t, "empty.ptx", ptHeader+".visible .entry k()\n{\n\tret;\n}\n")
	if _, _, err := empty.Global(d, "x"); err == nil || !strings.Contains(err.Error(), "variable x: no such .global or .const variable (the module has none)") {
		t.Errorf("Global in a module without variables: %v", err)
	}
}
