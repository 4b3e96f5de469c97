package emu_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/gpu/emu"
	"github.com/gpubuf/gpubuf/kernels"
)

func open(t *testing.T, opts gpu.EmuOptions) gpu.Device {
	t.Helper()
	d, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu, Emu: opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// handoff loads lane_handoff's module on d and returns the kernel.
func handoff(t *testing.T, d gpu.Device, name string) gpu.Kernel {
	t.Helper()
	k, ok := kernels.Lookup(name)
	if !ok {
		t.Fatalf("no kernel %s", name)
	}
	m, err := d.LoadModule(k.File, k.PTX())
	if err != nil {
		t.Fatal(err)
	}
	kk, err := m.Kernel(name)
	if err != nil {
		t.Fatal(err)
	}
	return kk
}

func words(ws []uint32) []byte {
	b := make([]byte, 4*len(ws))
	for i, w := range ws {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

// input is n words i*7+1.
func input(n int) []uint32 {
	in := make([]uint32, n)
	for i := range in {
		in[i] = uint32(i*7 + 1)
	}
	return in
}

// slowN words of lane_handoff take tens of milliseconds to emulate (much
// longer under the race detector).
const slowN = 1 << 19

var handoffShape = gpu.LaunchConfig{Grid: gpu.D1(4), Block: gpu.D1(256)}

func newStream(t *testing.T, d gpu.Device) gpu.Stream {
	t.Helper()
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newEvent(t *testing.T, d gpu.Device) gpu.Event {
	t.Helper()
	e, err := d.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func alloc(t *testing.T, d gpu.Device, n int) gpu.DeviceBuffer {
	t.Helper()
	b, err := d.Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func allocHost(t *testing.T, d gpu.Device, n int, f gpu.HostFlags) gpu.HostBuffer {
	t.Helper()
	h, err := d.AllocHost(n, f)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func emuError(t *testing.T, err error) *gpu.Error {
	t.Helper()
	var ge *gpu.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T) is not a *gpu.Error", err, err)
	}
	if ge.Backend != gpu.BackendEmu {
		t.Errorf("error %v: backend %q, want emu", err, ge.Backend)
	}
	return ge
}

func wantClosed(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, gpu.ErrClosed) {
		t.Errorf("%s: %v, want an error wrapping gpu.ErrClosed", what, err)
		return
	}
	emuError(t, err)
}

func TestEmuOpen(t *testing.T) {
	want := gpu.Info{
		Name: "gpubuf PTX emulator", Backend: "emu", ComputeCapability: [2]int{9, 0},
		TotalMemory: 4 << 30, SMCount: cpuemu.DeviceSMs, WarpSize: 32, Driver: "cpuemu (lockstep)",
	}
	d := open(t, gpu.EmuOptions{})
	if got := d.Info(); got != want {
		t.Errorf("Info() = %+v, want %+v", got, want)
	}

	t.Setenv(gpu.EnvBackend, "emu")
	d2, err := gpu.Open(gpu.Options{Emu: gpu.EmuOptions{Scheduler: "adversarial"}})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if got := d2.Info(); got.Backend != "emu" || got.Driver != "cpuemu (adversarial)" {
		t.Errorf("via %s: Info() = %+v", gpu.EnvBackend, got)
	}

	d3, err := emu.Open(gpu.Options{Emu: gpu.EmuOptions{Scheduler: "random", Seed: 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer d3.Close()
	if got := d3.Info().Driver; got != "cpuemu (random)" {
		t.Errorf("emu.Open: Driver %q", got)
	}
	found := false
	for _, b := range gpu.Backends() {
		found = found || b == "emu"
	}
	if !found {
		t.Errorf("gpu.Backends() = %v, want emu among them", gpu.Backends())
	}
}

func TestEmuBadScheduler(t *testing.T) {
	d, err := gpu.Open(gpu.Options{Backend: "emu", Emu: gpu.EmuOptions{Scheduler: "zigzag"}})
	if err == nil {
		d.Close()
		t.Fatal("scheduler zigzag: no error")
	}
	emuError(t, err)
	if !strings.Contains(err.Error(), `"zigzag"`) {
		t.Errorf("error %q does not name the scheduler", err)
	}
}

func TestEmuAllocCopyRoundTrip(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	s := newStream(t, d)
	for _, n := range []int{1, 3, 4, 4097} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i*31 + 5)
		}
		b := alloc(t, d, n)
		if b.Size() != n || b.Ptr() == 0 {
			t.Fatalf("Alloc(%d): size %d ptr %#x", n, b.Size(), b.Ptr())
		}
		zero := make([]byte, n)
		got := make([]byte, n)
		must(t, b.CopyToHost(got, 0))
		if !bytes.Equal(got, zero) {
			t.Fatalf("Alloc(%d) is not zeroed", n)
		}
		must(t, b.CopyFromHost(0, src))
		must(t, b.CopyToHost(got, 0))
		if !bytes.Equal(got, src) {
			t.Fatalf("%d bytes: sync round trip gave %v, want %v", n, got[:min(n, 8)], src[:min(n, 8)])
		}
		// The last byte alone, and a memset of all but the first.
		last := []byte{0}
		must(t, b.CopyToHost(last, n-1))
		if last[0] != src[n-1] {
			t.Fatalf("%d bytes: last byte %d, want %d", n, last[0], src[n-1])
		}
		must(t, b.Memset(1, n-1, 0xAB))
		must(t, b.CopyToHost(got, 0))
		want := append([]byte{src[0]}, bytes.Repeat([]byte{0xAB}, n-1)...)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: after Memset(1, %d): %v", n, n-1, got[:min(n, 8)])
		}

		// Through a stream and host buffers, mapped and not.
		for _, f := range []gpu.HostFlags{0, gpu.HostMapped} {
			h := allocHost(t, d, n, f)
			back := allocHost(t, d, n, f)
			copy(h.Bytes(), src)
			must(t, s.Memset(b, 0, n, 0))
			must(t, s.CopyHtoD(b, 0, h, 0, n))
			must(t, s.CopyDtoH(back, 0, b, 0, n))
			must(t, s.Synchronize())
			if !bytes.Equal(back.Bytes(), src) {
				t.Fatalf("%d bytes, flags %d: stream round trip gave %v", n, f, back.Bytes()[:min(n, 8)])
			}
			must(t, h.Free())
			must(t, back.Free())
		}
		must(t, b.Free())
	}

	for _, n := range []int{0, -1} {
		if _, err := d.Alloc(n); err == nil {
			t.Errorf("Alloc(%d): no error", n)
		} else {
			emuError(t, err)
		}
		if _, err := d.AllocHost(n, 0); err == nil {
			t.Errorf("AllocHost(%d): no error", n)
		}
	}
	if _, err := d.Alloc(5 << 30); err == nil {
		t.Error("Alloc(5 GiB) over the emulator's memory: no error")
	} else {
		var me *cpuemu.DeviceMemoryError
		if !errors.As(err, &me) {
			t.Errorf("Alloc(5 GiB): %v, want a *cpuemu.DeviceMemoryError inside", err)
		}
	}
}

func TestEmuRangeErrors(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	s := newStream(t, d)
	b := alloc(t, d, 16)
	h := allocHost(t, d, 8, 0)
	cases := []struct {
		name string
		err  error
		msg  string
	}{
		{"CopyFromHost past the end", b.CopyFromHost(10, make([]byte, 7)), "7 bytes at offset 10 run past the end of the 16-byte device buffer"},
		{"CopyFromHost negative offset", b.CopyFromHost(-1, make([]byte, 1)), "negative offset -1"},
		{"CopyToHost past the end", b.CopyToHost(make([]byte, 17), 0), "17 bytes at offset 0 run past the end"},
		{"CopyToHost offset past the end", b.CopyToHost(make([]byte, 0), 17), "0 bytes at offset 17 run past the end"},
		{"Memset negative size", b.Memset(0, -2, 1), "negative size -2"},
		{"Memset past the end", b.Memset(8, 9, 1), "9 bytes at offset 8"},
		{"CopyHtoD host range", s.CopyHtoD(b, 0, h, 4, 5), "5 bytes at offset 4 run past the end of the 8-byte host buffer"},
		{"CopyHtoD device range", s.CopyHtoD(b, 12, h, 0, 8), "8 bytes at offset 12 run past the end of the 16-byte device buffer"},
		{"CopyDtoH negative size", s.CopyDtoH(h, 0, b, 0, -1), "negative size -1"},
		{"CopyDtoH negative offset", s.CopyDtoH(h, 0, b, -4, 4), "negative offset -4 into the device buffer"},
		{"stream Memset past the end", s.Memset(b, 16, 1, 0), "1 bytes at offset 16"},
		{"nil buffer", s.Memset(nil, 0, 1, 0), "nil device buffer"},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		emuError(t, c.err)
		if !strings.Contains(c.err.Error(), c.msg) {
			t.Errorf("%s: %q does not say %q", c.name, c.err, c.msg)
		}
	}
	// Empty copies at the end are fine.
	must(t, b.CopyFromHost(16, nil))
	must(t, s.CopyHtoD(b, 16, h, 8, 0))
	must(t, s.Synchronize())

	other := open(t, gpu.EmuOptions{})
	ob := alloc(t, other, 16)
	if err := s.CopyHtoD(ob, 0, h, 0, 8); err == nil || !strings.Contains(err.Error(), "another device") {
		t.Errorf("copy into another device's buffer: %v", err)
	}
}

// TestEmuStreamOrder queues a memset, a copy, a launch and a copy back on
// one stream without waiting in between: each must see the one before.
func TestEmuStreamOrder(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	k := handoff(t, d, "lane_handoff")
	s := newStream(t, d)
	const n = 100
	in := alloc(t, d, 4*n)
	out := alloc(t, d, 4*n)
	hin := allocHost(t, d, 4*50, 0)
	hout := allocHost(t, d, 4*n, 0)
	// Words 0..49 come from the host; words 50..99 stay 0x01010101 from
	// the memset.
	want := make([]uint32, n)
	for i := range want {
		want[i] = 0x01010101
		if i < 50 {
			want[i] = uint32(i*7 + 1)
		}
	}
	copy(hin.Bytes(), words(want[:50]))
	must(t, s.Memset(in, 0, 4*n, 0x01))
	must(t, s.CopyHtoD(in, 0, hin, 0, 4*50))
	must(t, s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(64)}, in, out, uint32(n)))
	must(t, s.CopyDtoH(hout, 0, out, 0, 4*n))
	must(t, s.Synchronize())
	if got, exp := hout.Bytes(), words(kernels.LaneHandoff(want)); !bytes.Equal(got, exp) {
		t.Fatalf("out differs from kernels.LaneHandoff: first word %#x, want %#x",
			binary.LittleEndian.Uint32(got), binary.LittleEndian.Uint32(exp))
	}
}

// TestEmuEventOrdersStreams: stream B waits on an event recorded on A
// after a slow launch, then copies the output; it must see it finished.
func TestEmuEventOrdersStreams(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	k := handoff(t, d, "lane_handoff")
	a, b := newStream(t, d), newStream(t, d)
	e := newEvent(t, d)
	if done, err := e.Query(); !done || err != nil {
		t.Fatalf("Query of an event never recorded = %v, %v; want true, nil", done, err)
	}
	inw := input(slowN)
	in := alloc(t, d, 4*slowN)
	out := alloc(t, d, 4*slowN)
	hin := allocHost(t, d, 4*slowN, 0)
	hout := allocHost(t, d, 4*slowN, 0)
	copy(hin.Bytes(), words(inw))

	must(t, a.CopyHtoD(in, 0, hin, 0, 4*slowN))
	must(t, a.Launch(k, handoffShape, in, out, uint32(slowN)))
	must(t, a.Record(e))
	if done, err := e.Query(); done || err != nil {
		t.Errorf("Query right after recording behind a slow launch = %v, %v; want false, nil", done, err)
	}
	must(t, b.Wait(e))
	must(t, b.CopyDtoH(hout, 0, out, 0, 4*slowN))
	must(t, b.Synchronize()) // B only: A's work must be done because B waited for it
	if done, err := e.Query(); !done || err != nil {
		t.Errorf("Query after the waiting stream finished = %v, %v; want true, nil", done, err)
	}
	if !bytes.Equal(hout.Bytes(), words(kernels.LaneHandoff(inw))) {
		t.Fatal("stream B copied out before stream A's launch finished")
	}
	must(t, d.Synchronize())
}

func TestEmuElapsed(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	k := handoff(t, d, "lane_handoff")
	s := newStream(t, d)
	start, end, never := newEvent(t, d), newEvent(t, d), newEvent(t, d)
	in := alloc(t, d, 4*slowN)
	out := alloc(t, d, 4*slowN)

	if _, err := end.Elapsed(start); err == nil || !strings.Contains(err.Error(), "never recorded") {
		t.Errorf("Elapsed of unrecorded events: %v", err)
	}
	must(t, s.Record(start))
	must(t, s.Launch(k, handoffShape, in, out, uint32(slowN)))
	must(t, s.Record(end))
	if _, err := end.Elapsed(start); err == nil || !strings.Contains(err.Error(), "not completed") {
		t.Errorf("Elapsed before the end event completed: %v", err)
	}
	must(t, end.Synchronize())
	el, err := end.Elapsed(start)
	if err != nil {
		t.Fatal(err)
	}
	if el <= 0 {
		t.Errorf("Elapsed over a slow launch = %v, want > 0", el)
	}
	if el2, err := start.Elapsed(start); err != nil || el2 != 0 {
		t.Errorf("start.Elapsed(start) = %v, %v; want 0", el2, err)
	}
	if _, err := never.Elapsed(start); err == nil {
		t.Error("Elapsed of an event never recorded: no error")
	}
	if err := never.Synchronize(); err != nil {
		t.Errorf("Synchronize of an event never recorded: %v", err)
	}
}

// TestEmuFault: a kernel that faults fails its stream at Synchronize, with
// the emulator's FaultError inside; later work on the stream is skipped,
// events recorded after it carry the error, and other streams go on.
func TestEmuFault(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	k := handoff(t, d, "lane_handoff")
	s, other := newStream(t, d), newStream(t, d)
	e := newEvent(t, d)
	out := alloc(t, d, 4*32)
	// in is a raw address that no allocation holds.
	must(t, s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}, uint64(0x1000), out, uint32(32)))
	must(t, s.Memset(out, 0, 4*32, 0xEE)) // skipped: it comes after the fault
	must(t, s.Record(e))
	err := s.Synchronize()
	if err == nil {
		t.Fatal("a faulting launch: Synchronize returned nil")
	}
	ge := emuError(t, err)
	if ge.Op != "launch lane_handoff" {
		t.Errorf("Op %q, want %q", ge.Op, "launch lane_handoff")
	}
	var fe *cpuemu.FaultError
	if !errors.As(err, &fe) || fe.Kind != "out of bounds" || fe.Addr != 0x1000 {
		t.Fatalf("Synchronize: %v, want an out of bounds *cpuemu.FaultError at 0x1000", err)
	}
	if err2 := s.Synchronize(); err2 != err {
		t.Errorf("the error is not sticky: second Synchronize gave %v", err2)
	}
	if done, qerr := e.Query(); !done || !errors.As(qerr, &fe) {
		t.Errorf("Query of an event recorded after the fault = %v, %v", done, qerr)
	}
	if serr := e.Synchronize(); !errors.As(serr, &fe) {
		t.Errorf("Synchronize of an event recorded after the fault = %v", serr)
	}
	got := make([]byte, 4*32)
	must(t, out.CopyToHost(got, 0))
	if !bytes.Equal(got, make([]byte, 4*32)) {
		t.Error("the memset queued after the fault ran")
	}
	if derr := d.Synchronize(); !errors.As(derr, &fe) {
		t.Errorf("Device.Synchronize = %v, want the fault", derr)
	}
	// Another stream is not affected ...
	must(t, other.Memset(out, 0, 4, 1))
	must(t, other.Synchronize())
	// ... unless it waits on work recorded after the fault.
	must(t, other.Wait(e))
	must(t, other.Memset(out, 0, 4, 2))
	if werr := other.Synchronize(); !errors.As(werr, &fe) {
		t.Errorf("a stream that waited on a failed stream's event: %v, want the fault", werr)
	}
	must(t, out.CopyToHost(got[:4], 0))
	if !bytes.Equal(got[:4], []byte{1, 1, 1, 1}) {
		t.Errorf("out starts %v, want the first memset's 1s only", got[:4])
	}
}

func TestEmuCheck(t *testing.T) {
	d := open(t, gpu.EmuOptions{Check: true, Scheduler: "adversarial"})
	k := handoff(t, d, "lane_handoff_nosync")
	s := newStream(t, d)
	in, out := alloc(t, d, 4*64), alloc(t, d, 4*64)
	must(t, s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(64)}, in, out, uint32(64)))
	err := s.Synchronize()
	var ce *cpuemu.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("racy kernel under Check: %v, want a *cpuemu.CheckError", err)
	}
	var hz *cpuemu.Hazard
	if !errors.As(err, &hz) {
		t.Errorf("no *cpuemu.Hazard reachable from %v", err)
	}
	// The correct kernel is clean.
	d2 := open(t, gpu.EmuOptions{Check: true, Scheduler: "adversarial"})
	k2 := handoff(t, d2, "lane_handoff")
	s2 := newStream(t, d2)
	in2, out2 := alloc(t, d2, 4*64), alloc(t, d2, 4*64)
	must(t, s2.Launch(k2, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(64)}, in2, out2, uint32(64)))
	must(t, s2.Synchronize())
}

// TestEmuMappedHostBuffer: lane_handoff reads its input from one mapped
// host buffer and writes its output into another, with no copies.
func TestEmuMappedHostBuffer(t *testing.T) {
	for _, sched := range []string{"lockstep", "roundrobin", "random", "adversarial"} {
		t.Run(sched, func(t *testing.T) {
			d := open(t, gpu.EmuOptions{Scheduler: sched, Seed: 7})
			k := handoff(t, d, "lane_handoff")
			s := newStream(t, d)
			const n = 1000
			in := allocHost(t, d, 4*n, gpu.HostMapped)
			out := allocHost(t, d, 4*n, gpu.HostMapped|gpu.HostWriteCombined)
			if !in.Mapped() || in.DevicePtr() == 0 || in.PageLocked() || in.Size() != 4*n {
				t.Fatalf("mapped host buffer: Mapped %v DevicePtr %#x PageLocked %v Size %d", in.Mapped(), in.DevicePtr(), in.PageLocked(), in.Size())
			}
			inw := input(n)
			copy(in.Bytes(), words(inw))
			must(t, s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(2), Block: gpu.D1(96)}, in, out, uint32(n)))
			must(t, s.Synchronize())
			if !bytes.Equal(out.Bytes(), words(kernels.LaneHandoff(inw))) {
				t.Fatal("the kernel's output in the mapped host buffer differs from kernels.LaneHandoff")
			}
			// Again with new input written in place: zero-copy both ways.
			for i := range inw {
				inw[i] ^= 0xDEADBEEF
			}
			copy(in.Bytes(), words(inw))
			must(t, s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(2), Block: gpu.D1(96)}, in, out, uint32(n)))
			must(t, s.Synchronize())
			if !bytes.Equal(out.Bytes(), words(kernels.LaneHandoff(inw))) {
				t.Fatal("second launch: output differs from kernels.LaneHandoff")
			}
			must(t, in.Free())
			if in.Bytes() != nil {
				t.Error("Bytes after Free is not nil")
			}
		})
	}
	d := open(t, gpu.EmuOptions{})
	h := allocHost(t, d, 10, 0)
	if h.Mapped() || h.DevicePtr() != 0 || h.PageLocked() || len(h.Bytes()) != 10 {
		t.Errorf("plain host buffer: Mapped %v DevicePtr %#x PageLocked %v len %d", h.Mapped(), h.DevicePtr(), h.PageLocked(), len(h.Bytes()))
	}
	if _, err := d.AllocHost(10, 1<<7); err == nil {
		t.Error("AllocHost with an unknown flag: no error")
	}
}

// TestEmuArgErrors: bad launches fail in the call, and nothing runs.
func TestEmuArgErrors(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	k := handoff(t, d, "lane_handoff")
	s := newStream(t, d)
	in, out := alloc(t, d, 4*32), alloc(t, d, 4*32)
	must(t, in.Memset(0, 4*32, 3))
	plain := allocHost(t, d, 4*32, 0)
	freed := alloc(t, d, 4*32)
	must(t, freed.Free())
	other := open(t, gpu.EmuOptions{})
	ob := alloc(t, other, 4*32)
	okShape := gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}
	cases := []struct {
		name string
		cfg  gpu.LaunchConfig
		args []any
		msg  string
	}{
		{"too few", okShape, []any{in, out}, "got 2 arguments, the kernel takes 3"},
		{"too many", okShape, []any{in, out, uint32(32), uint32(1)}, "got 4 arguments"},
		{"wrong size", okShape, []any{in, out, uint64(32)}, "given a 8-byte uint64"},
		{"float for int", okShape, []any{in, out, float32(32)}, "is an integer, given a float32"},
		{"int for pointer", okShape, []any{in, uint32(0), uint32(32)}, "given a 4-byte uint32"},
		{"unmapped host buffer", okShape, []any{plain, out, uint32(32)}, "not mapped"},
		{"Go int too wide", okShape, []any{in, out, math.MaxInt}, "int has no fixed size; use int32 or uint32"},
		{"Go string", okShape, []any{in, out, "32"}, "unsupported Go type string"},
		{"another device's buffer", okShape, []any{in, ob, uint32(32)}, "another device"},
		{"zero block", gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.Dim3{X: 32}}, []any{in, out, uint32(32)}, "zero dimension"},
		{"block too big", gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(2048)}, []any{in, out, uint32(32)}, "2048 threads"},
		{"too much shared", gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32), SharedBytes: 1 << 20}, []any{in, out, uint32(32)}, "shared bytes per block"},
		{"negative shared", gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32), SharedBytes: -1}, []any{in, out, uint32(32)}, "negative dynamic shared"},
	}
	for _, c := range cases {
		err := s.Launch(k, c.cfg, c.args...)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		emuError(t, err)
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %q does not say %q", c.name, err, c.msg)
		}
	}
	wantClosed(t, "launch with a freed buffer", s.Launch(k, okShape, freed, out, uint32(32)))
	if err := s.Launch(nil, okShape); err == nil {
		t.Error("nil kernel: no error")
	}
	must(t, s.Synchronize())
	got := make([]byte, 4*32)
	must(t, out.CopyToHost(got, 0))
	if !bytes.Equal(got, make([]byte, 4*32)) {
		t.Error("a rejected launch ran")
	}
}

func TestEmuModule(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	k, _ := kernels.Lookup("lane_handoff")
	m, err := d.LoadModule(k.File, k.PTX())
	if err != nil {
		t.Fatal(err)
	}
	if m.Name() != k.File {
		t.Errorf("Name %q, want %q", m.Name(), k.File)
	}
	want := []string{"lane_handoff", "lane_handoff_badmask", "lane_handoff_nosync"}
	if got := m.Kernels(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Kernels() = %v, want %v", got, want)
	}
	_, err = m.Kernel("nope")
	if err == nil || !strings.Contains(err.Error(), strings.Join(want, ", ")) {
		t.Errorf("Kernel(nope): %v, want the entries listed", err)
	}
	kk, err := m.Kernel("lane_handoff")
	if err != nil {
		t.Fatal(err)
	}
	ps := kk.Params()
	if len(ps) != 3 || ps[0].Type != "u64" || ps[0].Size != 8 || ps[2].Type != "u32" || ps[2].Size != 4 || ps[2].Offset != 16 {
		t.Errorf("Params() = %+v", ps)
	}
	if kk.Module() != m || kk.Name() != "lane_handoff" {
		t.Error("kernel's Module or Name wrong")
	}
	if _, err := d.LoadModule("bad.ptx", []byte(".version 7.8\n.target sm_70\nthis is not ptx")); err == nil {
		t.Error("loading garbage: no error")
	} else {
		emuError(t, err)
	}

	// Close with a launch pending: the launch completes, later ones fail.
	s := newStream(t, d)
	in, out := alloc(t, d, 4*slowN), alloc(t, d, 4*slowN)
	inw := input(slowN)
	must(t, in.CopyFromHost(0, words(inw)))
	must(t, s.Launch(kk, handoffShape, in, out, uint32(slowN)))
	must(t, m.Close())
	must(t, m.Close())
	wantClosed(t, "launch after module Close", s.Launch(kk, handoffShape, in, out, uint32(slowN)))
	_, err = m.Kernel("lane_handoff")
	wantClosed(t, "Kernel after module Close", err)
	must(t, s.Synchronize())
	got := make([]byte, 4*slowN)
	must(t, out.CopyToHost(got, 0))
	if !bytes.Equal(got, words(kernels.LaneHandoff(inw))) {
		t.Error("the launch pending at module Close did not complete")
	}
}

func TestEmuUseAfterClose(t *testing.T) {
	d, err := gpu.Open(gpu.Options{Backend: "emu"})
	if err != nil {
		t.Fatal(err)
	}
	k := handoff(t, d, "lane_handoff")
	s := newStream(t, d)
	e := newEvent(t, d)
	b := alloc(t, d, 64)
	h := allocHost(t, d, 64, gpu.HostMapped)

	// Free: idempotent; later uses fail with ErrClosed.
	fb := alloc(t, d, 8)
	must(t, fb.Free())
	must(t, fb.Free())
	wantClosed(t, "CopyFromHost after Free", fb.CopyFromHost(0, []byte{1}))
	wantClosed(t, "CopyToHost after Free", fb.CopyToHost(make([]byte, 1), 0))
	wantClosed(t, "Memset after Free", fb.Memset(0, 1, 0))
	wantClosed(t, "stream copy after Free", s.CopyHtoD(fb, 0, h, 0, 8))
	fh := allocHost(t, d, 8, 0)
	must(t, fh.Free())
	wantClosed(t, "stream copy from a freed host buffer", s.CopyHtoD(b, 0, fh, 0, 8))

	// A closed stream and event.
	s2 := newStream(t, d)
	must(t, s2.Close())
	must(t, s2.Close())
	wantClosed(t, "Memset on a closed stream", s2.Memset(b, 0, 1, 0))
	wantClosed(t, "Synchronize of a closed stream", s2.Synchronize())
	e2 := newEvent(t, d)
	must(t, e2.Close())
	wantClosed(t, "Record of a closed event", s.Record(e2))
	_, err = e2.Query()
	wantClosed(t, "Query of a closed event", err)

	must(t, d.Close())
	must(t, d.Close())
	_, err = d.Alloc(8)
	wantClosed(t, "Alloc", err)
	_, err = d.AllocHost(8, 0)
	wantClosed(t, "AllocHost", err)
	_, err = d.NewStream()
	wantClosed(t, "NewStream", err)
	_, err = d.NewEvent()
	wantClosed(t, "NewEvent", err)
	_, err = d.LoadModule("x", nil)
	wantClosed(t, "LoadModule", err)
	wantClosed(t, "Synchronize", d.Synchronize())
	wantClosed(t, "stream Launch", s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}, b, b, uint32(1)))
	wantClosed(t, "stream Record", s.Record(e))
	wantClosed(t, "stream Synchronize", s.Synchronize())
	_, err = e.Query()
	wantClosed(t, "event Query", err)
	wantClosed(t, "event Synchronize", e.Synchronize())
	wantClosed(t, "buffer copy", b.CopyFromHost(0, []byte{1}))
	_, err = k.Module().Kernel("lane_handoff")
	wantClosed(t, "Kernel", err)
	must(t, b.Free())
	must(t, h.Free())
	must(t, s.Close())
	must(t, e.Close())
}

// TestEmuCloseWaits: Close with a slow launch in flight returns after it
// has finished.
func TestEmuCloseWaits(t *testing.T) {
	d, err := gpu.Open(gpu.Options{Backend: "emu"})
	if err != nil {
		t.Fatal(err)
	}
	k := handoff(t, d, "lane_handoff")
	s := newStream(t, d)
	in := allocHost(t, d, 4*slowN, gpu.HostMapped)
	out := allocHost(t, d, 4*slowN, gpu.HostMapped)
	inw := input(slowN)
	copy(in.Bytes(), words(inw))
	outBytes := out.Bytes() // still readable Go memory after Close
	must(t, s.Launch(k, handoffShape, in, out, uint32(slowN)))
	must(t, d.Close())
	if !bytes.Equal(outBytes, words(kernels.LaneHandoff(inw))) {
		t.Fatal("Close returned before the launch in flight finished")
	}
	if out.Bytes() != nil {
		t.Error("a host buffer's Bytes after device Close is not nil")
	}
}

// TestEmuConcurrent runs several streams from several goroutines, with
// synchronous copies into a buffer a launch on another stream is using.
func TestEmuConcurrent(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	k := handoff(t, d, "lane_handoff")
	const n = 4096
	shared := alloc(t, d, 4*n)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := d.NewStream()
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			inw := input(n)
			for i := range inw {
				inw[i] += uint32(g)
			}
			in, _ := d.Alloc(4 * n)
			out, _ := d.Alloc(4 * n)
			h, _ := d.AllocHost(4*n, 0)
			defer in.Free()
			defer out.Free()
			defer h.Free()
			copy(h.Bytes(), words(inw))
			for range 3 {
				if err := s.CopyHtoD(in, 0, h, 0, 4*n); err != nil {
					errs <- err
					return
				}
				if err := s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(2), Block: gpu.D1(128)}, in, out, uint32(n)); err != nil {
					errs <- err
					return
				}
				if err := s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}, shared, shared, uint32(0)); err != nil {
					errs <- err
					return
				}
				if err := shared.CopyFromHost(4*g, []byte{1, 2, 3, 4}); err != nil {
					errs <- err
					return
				}
				if err := s.CopyDtoH(h, 0, out, 0, 4*n); err != nil {
					errs <- err
					return
				}
				if err := s.Synchronize(); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(h.Bytes(), words(kernels.LaneHandoff(inw))) {
					errs <- errors.New("wrong output")
					return
				}
				copy(h.Bytes(), words(inw))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	must(t, d.Synchronize())
}

// TestEmuNoGoroutineLeak: closing streams and devices ends their
// goroutines.
func TestEmuNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 3 {
		d, err := gpu.Open(gpu.Options{Backend: "emu"})
		if err != nil {
			t.Fatal(err)
		}
		b := alloc(t, d, 64)
		for i := range 10 {
			s := newStream(t, d)
			must(t, s.Memset(b, 0, 64, byte(i)))
			if i%2 == 0 {
				must(t, s.Close())
			}
		}
		must(t, d.Close())
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before+2 {
		t.Errorf("%d goroutines before, %d after closing every device", before, after)
	}
}

// TestEmuTypedNilArgs: a nil buffer is an error, not a panic.
func TestEmuTypedNilArgs(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	k := handoff(t, d, "lane_handoff")
	s := newStream(t, d)
	out := alloc(t, d, 4*32)
	var nilDev gpu.DeviceBuffer
	var nilHost gpu.HostBuffer
	for _, a := range []any{nilDev, nilHost} {
		if err := s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}, a, out, uint32(32)); err == nil {
			t.Errorf("nil buffer argument %T: no error", a)
		}
	}
	if err := s.CopyHtoD(out, 0, nilHost, 0, 1); err == nil {
		t.Error("CopyHtoD from a nil host buffer: no error")
	}
}

// TestEmuEntryThatCannotRun: a module with an entry the emulator cannot
// run loads and lists it; Kernel of that entry says why, and the other
// entry launches.
func TestEmuEntryThatCannotRun(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	m, err := d.LoadModule("mixed.ptx", []byte(`.version 7.8
.target sm_70
.address_size 64
.visible .entry tex(.param .u64 p)
{
	.reg .f32 %f<5>;
	tex.1d.v4.f32.s32 {%f1, %f2, %f3, %f4}, [p, {0}];
	ret;
}
.visible .entry ok(.param .u64 p)
{
	ret;
}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Kernels(), " "); got != "ok tex" {
		t.Errorf("Kernels() = %s", got)
	}
	_, err = m.Kernel("tex")
	var ue *cpuemu.UnsupportedError
	var ge *gpu.Error
	if !errors.As(err, &ue) || !errors.As(err, &ge) || ue.Entry != "tex" || ue.Line != 7 {
		t.Errorf("Kernel(tex) = %v; want a *gpu.Error wrapping the *UnsupportedError of line 7", err)
	}
	k, err := m.Kernel("ok")
	if err != nil {
		t.Fatal(err)
	}
	buf, _ := d.Alloc(4)
	s, _ := d.NewStream()
	if err := s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}, buf); err != nil {
		t.Fatal(err)
	}
	if err := s.Synchronize(); err != nil {
		t.Fatal(err)
	}
}

// TestEmuKernelsSorted: Kernels lists a module's entries sorted by name,
// as gpu.Module documents, whatever their order in the PTX.
func TestEmuKernelsSorted(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	src := ".version 7.0\n.target sm_70\n.address_size 64\n.visible .entry zeta() { ret; }\n.visible .entry alpha() { ret; }\n.visible .entry mid() { ret; }\n"
	m, err := d.LoadModule("order.ptx", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Kernels(), " "); got != "alpha mid zeta" {
		t.Errorf("Kernels() = %s, want alpha mid zeta", got)
	}
}

// TestNewEventNoTimingFindsTheDevices: gpu.NewEventNoTiming gives the
// emulator's untimed event, which orders work but whose Elapsed refuses
// (as CUDA's CU_EVENT_DISABLE_TIMING), while NewEvent's is timed.
func TestNewEventNoTimingFindsTheDevices(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	s := newStream(t, d)
	untimed, err := gpu.NewEventNoTiming(d)
	if err != nil {
		t.Fatal(err)
	}
	timed, err := d.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []gpu.Event{timed, untimed} {
		if err := s.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := untimed.Synchronize(); err != nil {
		t.Fatal(err)
	}
	if _, err := untimed.Elapsed(timed); err == nil || !strings.Contains(err.Error(), "without timing") {
		t.Errorf("Elapsed of an untimed event: %v, want a refusal", err)
	}
	if _, err := timed.Elapsed(timed); err != nil {
		t.Errorf("Elapsed of a timed event: %v", err)
	}
}
