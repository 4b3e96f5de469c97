package emutest

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// The typed buffer helpers: for each element type, one to allocate device
// memory holding a slice and one to read n elements back, little-endian as
// on the GPU. Buffer and Read are the raw-byte pair; WordBuffer and Words
// are uint32's, FloatBuffer and Floats float32's. All go through
// bufferOf and valuesAt.

// Int32Buffer allocates device memory holding v.
func Int32Buffer(t testing.TB, dev *cpuemu.Device, v []int32) cpuemu.DevicePtr {
	t.Helper()
	return bufferOf(t, dev, v)
}

// Int32s reads n int32s at p.
func Int32s(t testing.TB, dev *cpuemu.Device, p cpuemu.DevicePtr, n int) []int32 {
	t.Helper()
	return valuesAt[int32](t, dev, p, n)
}

// Int64Buffer allocates device memory holding v.
func Int64Buffer(t testing.TB, dev *cpuemu.Device, v []int64) cpuemu.DevicePtr {
	t.Helper()
	return bufferOf(t, dev, v)
}

// Int64s reads n int64s at p.
func Int64s(t testing.TB, dev *cpuemu.Device, p cpuemu.DevicePtr, n int) []int64 {
	t.Helper()
	return valuesAt[int64](t, dev, p, n)
}

// Uint64Buffer allocates device memory holding v.
func Uint64Buffer(t testing.TB, dev *cpuemu.Device, v []uint64) cpuemu.DevicePtr {
	t.Helper()
	return bufferOf(t, dev, v)
}

// Uint64s reads n uint64s at p.
func Uint64s(t testing.TB, dev *cpuemu.Device, p cpuemu.DevicePtr, n int) []uint64 {
	t.Helper()
	return valuesAt[uint64](t, dev, p, n)
}

// Float64Buffer allocates device memory holding v.
func Float64Buffer(t testing.TB, dev *cpuemu.Device, v []float64) cpuemu.DevicePtr {
	t.Helper()
	return bufferOf(t, dev, v)
}

// Float64s reads n float64s at p.
func Float64s(t testing.TB, dev *cpuemu.Device, p cpuemu.DevicePtr, n int) []float64 {
	t.Helper()
	return valuesAt[float64](t, dev, p, n)
}

// bufferOf allocates device memory holding v, little-endian.
func bufferOf[T Element](t testing.TB, dev *cpuemu.Device, v []T) cpuemu.DevicePtr {
	t.Helper()
	return Buffer(t, dev, Out("", v).Bytes)
}

// valuesAt reads n elements of type T at p.
func valuesAt[T Element](t testing.TB, dev *cpuemu.Device, p cpuemu.DevicePtr, n int) []T {
	t.Helper()
	var z T
	size := binary.Size(z)
	if n < 0 || n > math.MaxInt/size {
		t.Fatalf("emutest: reading %d %Ts: want 0 or more, and fewer than fill the address space", n, z)
		return nil
	}
	v := make([]T, n)
	if _, err := binary.Decode(Read(t, dev, p, size*n), binary.LittleEndian, v); err != nil {
		t.Fatalf("emutest: decoding %d %Ts: %v", n, z, err)
		return nil
	}
	return v
}
