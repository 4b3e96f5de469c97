package emu_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
)

// TestEmuHostMemoryLimit: host buffers, mapped or not, count against the
// device's memory limit with its device buffers; one past it fails with
// cpuemu's *DeviceMemoryError inside a *gpu.Error, before any memory is made,
// and Free gives the bytes back.
func TestEmuHostMemoryLimit(t *testing.T) {
	const limit, part = 1 << 20, 600 << 10 // two parts do not fit
	d := open(t, gpu.EmuOptions{MemoryLimit: limit})
	if got := d.Info().TotalMemory; got != limit {
		t.Errorf("TotalMemory %d with MemoryLimit %d", got, limit)
	}
	overLimit := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s past the memory limit: no error", what)
			return
		}
		emuError(t, err)
		var me *cpuemu.DeviceMemoryError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "over the device memory limit") {
			t.Errorf("%s past the memory limit: %v, want a *cpuemu.DeviceMemoryError saying so", what, err)
		}
	}
	for _, first := range []gpu.HostFlags{0, gpu.HostMapped} {
		h := allocHost(t, d, part, first)
		for _, f := range []gpu.HostFlags{0, gpu.HostMapped} {
			_, err := d.AllocHost(part, f)
			overLimit(fmt.Sprintf("AllocHost(%d, %d) after AllocHost(%d, %d)", part, f, part, first), err)
		}
		_, err := d.Alloc(part)
		overLimit(fmt.Sprintf("Alloc(%d) after AllocHost(%d, %d)", part, part, first), err)
		must(t, h.Free())
		must(t, h.Free()) // idempotent: gives nothing back twice
		for _, f := range []gpu.HostFlags{0, gpu.HostMapped} {
			h := allocHost(t, d, part, f)
			_, err := d.AllocHost(part, 0)
			overLimit("AllocHost after Free and AllocHost", err)
			must(t, h.Free())
		}
	}
	// The whole limit, in host memory, and nothing more.
	h := allocHost(t, d, limit, 0)
	_, err := d.AllocHost(1, 0)
	overLimit("AllocHost(1) with the whole limit held", err)
	must(t, h.Free())

	// On the default device, a host buffer past its 4 GiB fails at once,
	// without making the slice.
	_, err = open(t, gpu.EmuOptions{}).AllocHost(5<<30, 0)
	overLimit("AllocHost(5 GiB)", err)

	for _, o := range []gpu.EmuOptions{{MemoryLimit: -1}, {Workers: -1}, {Workers: cpuemu.MaxWorkers + 1}} {
		if d, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu, Emu: o}); err == nil {
			d.Close()
			t.Errorf("%+v: no error", o)
		} else {
			emuError(t, err)
		}
	}
}

// TestEmuTimeout: EmuOptions.Timeout reaches every launch: a kernel that
// never ends fails its stream with cpuemu's *TimeoutError, and the stream
// and device go on working.
func TestEmuTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	d := open(t, gpu.EmuOptions{Timeout: timeout})
	// The CLI's spin kernel never ends: one loop that branches back to
	// itself.
	spin, err := os.ReadFile("../../cmd/gpubuf/testdata/spin.ptx")
	must(t, err)
	m, err := d.LoadModule("spin.ptx", spin)
	must(t, err)
	k, err := m.Kernel("spin")
	must(t, err)
	b := alloc(t, d, 4)
	s := newStream(t, d)
	must(t, s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}, b))
	err = s.Synchronize()
	emuError(t, err)
	var te *cpuemu.TimeoutError
	if !errors.As(err, &te) || te.Timeout != timeout || te.Elapsed < timeout {
		t.Fatalf("spin with a %v timeout: %v, want a *cpuemu.TimeoutError", timeout, err)
	}
	// A kernel that ends is not affected.
	h := handoff(t, d, "lane_handoff")
	in, out := alloc(t, d, 4*64), alloc(t, d, 4*64)
	s2 := newStream(t, d)
	must(t, s2.Launch(h, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(64)}, in, out, uint32(64)))
	must(t, s2.Synchronize())

	if d, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu, Emu: gpu.EmuOptions{Timeout: -time.Second}}); err == nil {
		d.Close()
		t.Error("Timeout -1s: no error")
	} else {
		emuError(t, err)
	}
}
