package gpu

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

// fakeBuf is a DeviceBuffer at a fixed address, for argument checks.
type fakeBuf struct{ ptr uint64 }

func (b fakeBuf) Size() int                      { return 16 }
func (b fakeBuf) Ptr() uint64                    { return b.ptr }
func (b fakeBuf) CopyFromHost(int, []byte) error { return nil }
func (b fakeBuf) CopyToHost([]byte, int) error   { return nil }
func (b fakeBuf) Memset(int, int, byte) error    { return nil }
func (b fakeBuf) Free() error                    { return nil }

type fakeHost struct{ mapped bool }

func (h fakeHost) Bytes() []byte     { return nil }
func (h fakeHost) Size() int         { return 0 }
func (h fakeHost) Mapped() bool      { return h.mapped }
func (h fakeHost) DevicePtr() uint64 { return 0x5000 }
func (h fakeHost) PageLocked() bool  { return true }
func (h fakeHost) Free() error       { return nil }

func TestCheckArgsHolders(t *testing.T) {
	params := []Param{
		{Name: "p", Type: "u64", Size: 8}, {Name: "h", Type: "u64", Size: 8},
		{Name: "a", Type: "u32", Size: 4}, {Name: "b", Type: "s32", Size: 4},
		{Name: "c", Type: "f32", Size: 4}, {Name: "d", Type: "f64", Size: 8},
		{Name: "e", Type: "u8", Size: 1}, {Name: "f", Type: "s16", Size: 2},
		{Name: "g", Type: "u64", Size: 8},
	}
	args, err := CheckArgs("k", params, []any{fakeBuf{0x1234}, fakeHost{true}, uint32(7), int32(-2), float32(1.5), float64(-0.25), uint8(200), int16(-3), uint64(1 << 40)})
	if err != nil {
		t.Fatal(err)
	}
	want := []uint64{0x1234, 0x5000, 7, 0xfffffffe, uint64(math.Float32bits(1.5)), math.Float64bits(-0.25), 200, 0xfffd, 1 << 40}
	for i, a := range args {
		if got := binary.LittleEndian.Uint64(a.Raw[:]); got != want[i] {
			t.Errorf("arg %d (%s): holder %#x, want %#x", i, a.Param.Name, got, want[i])
		}
	}
	if args[0].Buffer == nil || args[1].Host == nil || args[0].Value != uint64(0x1234) {
		t.Errorf("buffer args: %+v %+v", args[0], args[1])
	}
}

func TestCheckArgsErrors(t *testing.T) {
	u32 := []Param{{Name: "n", Type: "u32", Size: 4}}
	ptr := []Param{{Name: "p", Type: "u64", Size: 8}}
	f32 := []Param{{Name: "x", Type: "f32", Size: 4}}
	wide := []Param{{Name: "s", Type: "b8", Size: 16}}
	for _, c := range []struct {
		params []Param
		args   []any
		frag   string
	}{
		{u32, nil, "got 0 arguments, the kernel takes 1"},
		{u32, []any{int64(1)}, "given a 8-byte int64"},
		{u32, []any{float32(1)}, "(n .u32, 4 bytes) is an integer, given a float32"},
		{f32, []any{uint32(1)}, "(x .f32, 4 bytes) is a float, given an integer uint32"},
		{u32, []any{fakeBuf{1}}, "given a 8-byte buffer"},
		{ptr, []any{fakeHost{false}}, "not mapped"},
		{ptr, []any{"x"}, "unsupported Go type string"},
		{u32, []any{1 << 33}, "int 8589934592: int has no fixed size"},
		{wide, []any{uint64(0)}, "16-byte by-value parameter"},
	} {
		_, err := CheckArgs("k", c.params, c.args)
		var ge *Error
		if !errors.As(err, &ge) || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.frag)
		}
	}
}
