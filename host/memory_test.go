package host

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
)

// TestRingOverDeviceMemory: a ring or pipeline whose slots, staging
// buffers and frames do not fit the device's memory fails to construct
// with the allocation's error (cpuemu's *DeviceMemoryError inside a *gpu.Error,
// on the emulator, whose host buffers count against its memory), and
// gives back everything it had allocated.
func TestRingOverDeviceMemory(t *testing.T) {
	const limit, slot = 1 << 20, 256 << 10
	dev, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu, Emu: gpu.EmuOptions{MemoryLimit: limit}})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	reduce, err := BatchKernel("batch_reduce")
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for _, c := range []struct {
		name string
		new  func() (func(), error)
		want string
	}{
		{"5 slots of 256K", func() (func(), error) {
			r, err := NewRing(dev, RingOptions{Slots: 5, SlotSize: slot, Depth: 1})
			return func() { r.Close() }, err
		}, "slot 4"},
		{"2 slots and 4 staging buffers of 256K", func() (func(), error) {
			r, err := NewRing(dev, RingOptions{Slots: 2, SlotSize: slot, Depth: 4})
			return func() { r.Close() }, err
		}, "staging buffer 2"},
		{"5 mapped slots of 256K", func() (func(), error) {
			r, err := NewRing(dev, RingOptions{Slots: 5, SlotSize: slot, ZeroCopy: true})
			return func() { r.Close() }, err
		}, "slot 4"},
		{"a pipeline of 2 slots, 2 staging buffers and 2 frames", func() (func(), error) {
			p, err := NewPipeline(dev, PipelineOptions{Stages: []KernelSpec{reduce.Spec}, RecordSize: 64, SlotSize: slot, Slots: 2, Depth: 2})
			return func() { p.Close() }, err
		}, "staging buffer 1"},
	} {
		closeIt, err := c.new()
		if err == nil {
			closeIt()
			t.Errorf("%s in %d bytes: no error", c.name, limit)
			continue
		}
		var me *cpuemu.DeviceMemoryError
		var ge *gpu.Error
		if !errors.As(err, &me) || !errors.As(err, &ge) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s in %d bytes: %v; want a *gpu.Error wrapping *cpuemu.DeviceMemoryError, at %s", c.name, limit, err, c.want)
		}
		// Everything it allocated is free again: the whole limit fits.
		b, err := dev.Alloc(limit)
		if err != nil {
			t.Fatalf("after %s failed: the device's whole memory: %v", c.name, err)
		}
		if err := b.Free(); err != nil {
			t.Fatal(err)
		}
	}
	rtGoroutines(t, before)
}
