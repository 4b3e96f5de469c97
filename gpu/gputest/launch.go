package gputest

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/internal/kcheck"
	"github.com/gpubuf/gpubuf/kernels"
)

// Memsets, copies and launches queued on one stream without a
// synchronization between them run in order.
func (s *suite) testStreamOrder(t *testing.T) {
	dev := s.device(t)
	k := loadCatalogued(t, dev, "lane_handoff")
	const n = 1000 // not a multiple of 32
	in, want := handoff(n, 21)
	hin := allocHost(t, dev, 4*n, 0)
	copy(hin.Bytes(), in)
	hout, hout2 := allocHost(t, dev, 4*n, 0), allocHost(t, dev, 4*n, 0)
	din, dout, dout2 := alloc(t, dev, 4*n), alloc(t, dev, 4*n), alloc(t, dev, 4*n)
	st := newStream(t, dev)
	must(t, st.Memset(din, 0, 4*n, 0xff), "Memset in")
	must(t, st.CopyHtoD(din, 0, hin, 0, 4*n), "CopyHtoD in")
	must(t, st.Memset(dout, 0, 4*n, 0x77), "Memset out")
	must(t, st.Launch(k, handoffConfig, din, dout, uint32(n)), "Launch lane_handoff in -> out")
	must(t, st.Memset(dout, 12, 8, 0x11), "Memset of out's words 3 and 4")
	must(t, st.Launch(k, handoffConfig, dout, dout2, uint32(n)), "Launch lane_handoff out -> out2")
	must(t, st.CopyDtoH(hout, 0, dout, 0, 4*n), "CopyDtoH out")
	must(t, st.CopyDtoH(hout2, 0, dout2, 0, 4*n), "CopyDtoH out2")
	must(t, st.Synchronize(), "Synchronize")
	copy(want[12:20], bytes.Repeat([]byte{0x11}, 8))
	want2 := kernels.WordBytes(kernels.LaneHandoff(kernels.Words(want)))
	if d := diff(hout.Bytes(), want); d != "" {
		t.Errorf("out (memset, copy, launch, memset): %s", d)
	}
	if d := diff(hout2.Bytes(), want2); d != "" {
		t.Errorf("out2 (a launch reading the first launch's output): %s", d)
	}
	must(t, st.Synchronize(), "a second Synchronize")
	must(t, dev.Synchronize(), "Device.Synchronize")
}

// An event orders streams: work queued on a stream after Wait(e) sees all
// the work before e's Record on another stream.
func (s *suite) testEvents(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	r := s.newLongRing(t, dev)
	a, b := newStream(t, dev), newStream(t, dev)
	start, done := newEvent(t, dev), newEvent(t, dev)
	n := 4 * r.total
	hout := allocHost(t, dev, n+16, 0)

	must(t, a.Record(start), "Record start on A")
	r.launch(t, a)
	must(t, a.Record(done), "Record done on A")
	must(t, b.Wait(done), "B waits for done")
	// An event recorded on B after the Wait completes after done. (It
	// touches no memory: a backend may serialize copies with launches,
	// but not event records.)
	waited := newEvent(t, dev)
	must(t, b.Record(waited), "Record waited on B")
	must(t, waited.Synchronize(), "waited.Synchronize")
	ok, err := done.Query()
	must(t, err, "Query done")
	if !ok {
		t.Errorf("done.Query() = false after an event recorded on stream B after B.Wait(done) completed")
	}
	must(t, b.CopyDtoH(hout, 0, r.out, 0, n), "CopyDtoH of out on B")
	must(t, b.CopyDtoH(hout, n, r.status, 0, 16), "CopyDtoH of status on B")
	must(t, b.Synchronize(), "Synchronize B")
	r.check(t, hout.Bytes())
	must(t, done.Synchronize(), "done.Synchronize")
	el, err := done.Elapsed(start)
	must(t, err, "done.Elapsed(start)")
	if el < 0 {
		t.Errorf("done.Elapsed(start) = %v, want >= 0", el)
	}
	t.Logf("warp_ring, total %d: %v by events", r.total, el)
	if after, err := waited.Elapsed(done); err != nil || after < 0 {
		t.Errorf("waited.Elapsed(done) = %v, %v; want >= 0: B waited for done", after, err)
	}
	must(t, a.Synchronize(), "Synchronize A")

	fresh := newEvent(t, dev)
	ok, err = fresh.Query()
	must(t, err, "Query of an event never recorded")
	if !ok {
		t.Errorf("Query of an event never recorded = false, want true")
	}
	_, err = fresh.Elapsed(start)
	wantErr(t, be, err, "Elapsed of an event never recorded")
	_, err = done.Elapsed(fresh)
	wantErr(t, be, err, "Elapsed from an event never recorded")

	// Event.Synchronize waits for the launch before the event.
	must(t, r.out.Memset(0, n, 0xab), "Memset out")
	must(t, r.status.Memset(0, 16, 0), "Memset status")
	r.launch(t, a)
	must(t, a.Record(done), "Record done again")
	must(t, done.Synchronize(), "done.Synchronize")
	r.check(t, r.readBack(t))
	ok, err = done.Query()
	if err != nil || !ok {
		t.Errorf("done.Query() after done.Synchronize() = %v, %v; want true", ok, err)
	}

	// Device.Synchronize waits for every stream.
	must(t, r.out.Memset(0, n, 0xab), "Memset out")
	must(t, r.status.Memset(0, 16, 0), "Memset status")
	r.launch(t, b)
	must(t, dev.Synchronize(), "Device.Synchronize")
	r.check(t, r.readBack(t))
}

// Every correct kernel of the catalogue matches its Go reference.
func (s *suite) testKernels(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	for _, k := range kernels.All() {
		if k.Expect != kernels.ExpectOK {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			rep := kcheck.RunOnDevice(dev, k.Name, 1)
			if rep.Skipped && rep.OK && k.SM() > dev.Info().SM() {
				t.Skip(rep.Detail) // built for a newer GPU: the report says which
			}
			switch {
			case rep.Err != nil:
				t.Errorf("%v", rep.Err)
			case rep.Skipped || !rep.OK:
				t.Errorf("OK %v, skipped %v: %s", rep.OK, rep.Skipped, rep.Detail)
			}
			if rep.Backend != be {
				t.Errorf("report names backend %q, want %q", rep.Backend, be)
			}
		})
	}
}

// A kernel reads its input from, and writes its output to, mapped host
// memory.
func (s *suite) testZeroCopy(t *testing.T) {
	dev := s.device(t)
	k := loadCatalogued(t, dev, "lane_handoff")
	const n = 2000
	in, want := handoff(n, 31)
	hin := allocHost(t, dev, 4*n, gpu.HostMapped)
	if !hin.Mapped() {
		t.Skip("the device cannot map host memory: AllocHost(HostMapped) gave an unmapped buffer")
	}
	copy(hin.Bytes(), in)
	hout := allocHost(t, dev, 4*n, gpu.HostMapped)
	if !hout.Mapped() {
		t.Fatal("a second AllocHost(HostMapped) gave an unmapped buffer")
	}
	din, dout := alloc(t, dev, 4*n), alloc(t, dev, 4*n)
	must(t, din.CopyFromHost(0, in), "CopyFromHost")
	st := newStream(t, dev)
	must(t, st.Launch(k, handoffConfig, hin, dout, uint32(n)), "Launch from mapped host memory")
	must(t, st.Launch(k, handoffConfig, din, hout, uint32(n)), "Launch to mapped host memory")
	must(t, st.Synchronize(), "Synchronize")
	wantBytes(t, dout, want, "output of the launch that read mapped host memory")
	if d := diff(hout.Bytes(), want); d != "" {
		t.Errorf("mapped host memory a launch wrote: %s", d)
	}
}

// widePTX has a 16-byte by-value parameter, which no launch can pass.
const widePTX = `
.version 7.0
.target sm_70
.address_size 64

.visible .entry wide(
	.param .align 8 .b8 wide_param_0[16],
	.param .u64 wide_param_1
)
{
	.reg .b64 %rd<4>;

	ld.param.u64 %rd1, [wide_param_0];
	ld.param.u64 %rd2, [wide_param_1];
	cvta.to.global.u64 %rd3, %rd2;
	st.global.u64 [%rd3], %rd1;
	ret;
}
`

func loadWide(t *testing.T, dev gpu.Device) gpu.Kernel {
	t.Helper()
	return kernelOf(t, loadModule(t, dev, "wide.ptx", []byte(widePTX)), "wide")
}

func (s *suite) testModule(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	lh, _ := kernels.Lookup("lane_handoff")
	m := loadModule(t, dev, "handoff.ptx", lh.PTX())
	if m.Name() != "handoff.ptx" {
		t.Errorf("module Name %q, want handoff.ptx", m.Name())
	}
	var entries []string
	for _, k := range kernels.All() {
		if k.File == "handoff.ptx" {
			entries = append(entries, k.Name)
		}
	}
	slices.Sort(entries)
	if got := m.Kernels(); !slices.Equal(got, entries) {
		t.Errorf("Kernels() = %v, want %v", got, entries)
	}
	k, err := m.Kernel("lane_handoff")
	must(t, err, "Kernel(lane_handoff)")
	if k.Name() != "lane_handoff" || k.Module() == nil || k.Module().Name() != "handoff.ptx" {
		t.Errorf("kernel Name %q, of module %v", k.Name(), k.Module())
	}
	wantParams := []gpu.Param{
		{Index: 0, Name: "lane_handoff_param_0", Type: "u64", Size: 8, Align: 8, Offset: 0},
		{Index: 1, Name: "lane_handoff_param_1", Type: "u64", Size: 8, Align: 8, Offset: 8},
		{Index: 2, Name: "lane_handoff_param_2", Type: "u32", Size: 4, Align: 4, Offset: 16},
	}
	if got := k.Params(); !slices.Equal(got, wantParams) {
		t.Errorf("Params() = %+v, want %+v", got, wantParams)
	}
	_, err = m.Kernel("no_such_kernel")
	if wantErr(t, be, err, "Kernel(no_such_kernel)") && !hasAll(err.Error(), entries...) {
		t.Errorf("Kernel(no_such_kernel): error %q does not list the module's entries", err)
	}
	_, err = dev.LoadModule("garbage.ptx", []byte("this is not PTX\n"))
	wantErr(t, be, err, "LoadModule of garbage")

	wide := loadWide(t, dev)
	wantWide := []gpu.Param{
		{Index: 0, Name: "wide_param_0", Type: "b8", Size: 16, Align: 8, Offset: 0},
		{Index: 1, Name: "wide_param_1", Type: "u64", Size: 8, Align: 8, Offset: 16},
	}
	if got := wide.Params(); !slices.Equal(got, wantWide) {
		t.Errorf("wide: Params() = %+v, want %+v", got, wantWide)
	}
}

// Bad arguments are rejected by Launch itself, before anything is queued.
func (s *suite) testArgErrors(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	k := loadCatalogued(t, dev, "lane_handoff")
	wide := loadWide(t, dev)
	const n = 100
	in, want := handoff(n, 41)
	din, dout := alloc(t, dev, 4*n), alloc(t, dev, 4*n)
	must(t, din.CopyFromHost(0, in), "CopyFromHost")
	unmapped := allocHost(t, dev, 4*n, 0)
	if unmapped.Mapped() {
		t.Fatal("AllocHost without HostMapped gave a mapped buffer")
	}
	freed, err := dev.Alloc(4 * n)
	must(t, err, "Alloc")
	must(t, freed.Free(), "Free")
	other := alloc(t, s.device(t), 4*n)
	st := newStream(t, dev)
	cases := []struct {
		what   string
		k      gpu.Kernel
		cfg    gpu.LaunchConfig
		args   []any
		closed bool
	}{
		{what: "2 arguments for 3", args: []any{din, dout}},
		{what: "4 arguments for 3", args: []any{din, dout, uint32(n), uint32(0)}},
		{what: "no arguments", args: nil},
		{what: "int64 for a .u32", args: []any{din, dout, int64(n)}},
		{what: "uint64 for a .u32", args: []any{din, dout, uint64(n)}},
		{what: "float32 for a .u32", args: []any{din, dout, float32(n)}},
		{what: "float64 for a .u32", args: []any{din, dout, float64(n)}},
		{what: "a Go int that does not fit a .u32", args: []any{din, dout, math.MaxInt}},
		{what: "uint32 for a pointer", args: []any{uint32(0), dout, uint32(n)}},
		{what: "nil for a pointer", args: []any{nil, dout, uint32(n)}},
		{what: "an unmapped host buffer for a pointer", args: []any{unmapped, dout, uint32(n)}},
		{what: "a freed buffer", args: []any{din, freed, uint32(n)}, closed: true},
		{what: "another device's buffer", args: []any{other, dout, uint32(n)}},
		{what: "a value for a 16-byte by-value parameter", k: wide, args: []any{uint64(1), dout}},
		{what: "a buffer for a 16-byte by-value parameter", k: wide, args: []any{din, dout}},
		{what: "a block of 0 threads", cfg: gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(0)}, args: []any{din, dout, uint32(n)}},
		{what: "a block of 2048 threads", cfg: gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(2048)}, args: []any{din, dout, uint32(n)}},
		{what: "a grid of 0 blocks", cfg: gpu.LaunchConfig{Grid: gpu.D1(0), Block: gpu.D1(32)}, args: []any{din, dout, uint32(n)}},
	}
	for _, c := range cases {
		kern, cfg := c.k, c.cfg
		if kern == nil {
			kern = k
		}
		if cfg == (gpu.LaunchConfig{}) {
			cfg = handoffConfig
		}
		err := st.Launch(kern, cfg, c.args...)
		if c.closed {
			wantClosed(t, be, err, "Launch with %s", c.what)
		} else {
			wantErr(t, be, err, "Launch with %s", c.what)
		}
	}
	must(t, st.Synchronize(), "Synchronize after the rejected launches")
	wantBytes(t, dout, make([]byte, 4*n), "out after rejected launches (none should have run)")
	must(t, st.Launch(k, handoffConfig, din, dout, uint32(n)), "a good launch after the rejected ones")
	must(t, st.Synchronize(), "Synchronize")
	wantBytes(t, dout, want, "out of the good launch")
}

// PTX built for a newer GPU than the device is refused at LoadModule with
// an error that names the target and the device's compute capability, as
// the driver's own JIT (which compiles forward only) would refuse it less
// clearly. The emulator runs every target it can parse, so it has nothing
// to refuse.
func (s *suite) testNewerTarget(t *testing.T) {
	dev := s.device(t)
	in := dev.Info()
	if in.Backend == gpu.BackendEmu {
		t.Skip("the emulator loads PTX of every target it parses, checking each instruction against its module's .target")
	}
	sm := in.SM() + 10
	src := strings.Replace(widePTX, ".target sm_70", fmt.Sprintf(".target sm_%d", sm), 1)
	m, err := dev.LoadModule("newer.ptx", []byte(src))
	if err == nil {
		m.Close()
		t.Fatalf("LoadModule of sm_%d PTX on compute capability %d.%d: no error", sm, in.ComputeCapability[0], in.ComputeCapability[1])
	}
	wantErr(t, in.Backend, err, "LoadModule of sm_%d PTX", sm)
	if want := fmt.Sprintf("sm_%d", sm); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the target %s", err, want)
	}
	if want := fmt.Sprintf("%d.%d", in.ComputeCapability[0], in.ComputeCapability[1]); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the device's compute capability %s", err, want)
	}
}
