// Package gputest is the conformance suite of the gpu device API. Run
// checks a backend's gpu.Device against the behaviour package gpu
// documents, through the gpu interfaces only, so the same suite runs on
// every backend: on the emulator in this package's own tests, and on a GPU
// in gpu/cuda's (built with -tags cuda).
//
// Every expectation comes from outside the backend: bytes computed by hand
// in the test, and the Go references of package kernels (through
// internal/kcheck for the catalogued kernels).
package gputest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// Run runs the suite as subtests of t. open returns a new device of the
// backend under test for one subtest, or stops that subtest (t.Fatal, or
// t.Skip where the backend cannot be had); Run closes every device it
// gets, and checks that Close succeeds, when the subtest ends. The suite
// never skips because of an error: a subtest skips only where the device
// lacks an optional feature (mapped host memory), and says so.
func Run(t *testing.T, open func(t *testing.T) gpu.Device) {
	s := &suite{open: open}
	t.Run("Info", s.testInfo)
	t.Run("Alloc", s.testAlloc)
	t.Run("SyncCopy", s.testSyncCopy)
	t.Run("HostBuffer", s.testHostBuffer)
	t.Run("AsyncCopy", s.testAsyncCopy)
	t.Run("StreamOrder", s.testStreamOrder)
	t.Run("Events", s.testEvents)
	t.Run("Kernels", s.testKernels)
	t.Run("ZeroCopy", s.testZeroCopy)
	t.Run("Module", s.testModule)
	t.Run("NewerTarget", s.testNewerTarget)
	t.Run("Symbols", s.testSymbols)
	t.Run("Cooperative", s.testCooperative)
	t.Run("ArgErrors", s.testArgErrors)
	t.Run("Closed", s.testClosed)
}

type suite struct {
	open func(t *testing.T) gpu.Device
	// ringTotal is the warp_ring total that makes a launch long (see
	// longRing), measured once on the first device that needs it.
	ringTotal int
}

// device opens a device for t and closes it when t ends.
func (s *suite) device(t *testing.T) gpu.Device {
	t.Helper()
	dev := s.open(t)
	if dev == nil {
		t.Fatal("open returned a nil device")
	}
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Errorf("closing the device: %v", err)
		}
	})
	return dev
}

// must stops t when err is not nil.
func must(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

// wantErr checks that err is an error of the backend: a *gpu.Error that
// names it and the operation. It reports whether err was an error at all.
func wantErr(t *testing.T, backend string, err error, format string, args ...any) bool {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	if err == nil {
		t.Errorf("%s: no error", what)
		return false
	}
	var ge *gpu.Error
	switch {
	case !errors.As(err, &ge):
		t.Errorf("%s: error %q (%T) is not a *gpu.Error", what, err, err)
	case ge.Backend != backend:
		t.Errorf("%s: error %q names backend %q, the device's is %q", what, err, ge.Backend, backend)
	case ge.Op == "":
		t.Errorf("%s: error %q names no operation", what, err)
	}
	return true
}

// wantClosed checks that err is the backend's use-after-close error.
func wantClosed(t *testing.T, backend string, err error, format string, args ...any) {
	t.Helper()
	if wantErr(t, backend, err, format, args...) && !errors.Is(err, gpu.ErrClosed) {
		t.Errorf("%s: error %q is not gpu.ErrClosed", fmt.Sprintf(format, args...), err)
	}
}

// wantFreed checks the result of freeing (or closing) something the second
// time, or after its device closed: nothing, or ErrClosed.
func wantFreed(t *testing.T, backend string, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		wantClosed(t, backend, err, format, args...)
	}
}

// pattern returns n pseudo-random bytes, fixed by seed.
func pattern(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// words returns n pseudo-random words, fixed by seed.
func words(n int, seed uint64) []uint32 {
	r := rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))
	w := make([]uint32, n)
	for i := range w {
		w[i] = r.Uint32()
	}
	return w
}

// diff describes where got and want first differ, or returns "".
func diff(got, want []byte) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d bytes, want %d", len(got), len(want))
	}
	bad, first := 0, -1
	for i := range got {
		if got[i] != want[i] {
			bad++
			if first < 0 {
				first = i
			}
		}
	}
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d bytes differ, first at %d: %#02x, want %#02x", bad, len(got), first, got[first], want[first])
}

// readAll copies all of b back to the host.
func readAll(t *testing.T, b gpu.DeviceBuffer) []byte {
	t.Helper()
	got := make([]byte, b.Size())
	must(t, b.CopyToHost(got, 0), "CopyToHost of the whole %d-byte buffer", b.Size())
	return got
}

// wantBytes checks that b holds want.
func wantBytes(t *testing.T, b gpu.DeviceBuffer, want []byte, format string, args ...any) {
	t.Helper()
	if d := diff(readAll(t, b), want); d != "" {
		t.Errorf("%s: %s", fmt.Sprintf(format, args...), d)
	}
}

// loadCatalogued loads the embedded PTX module that holds kernel and
// returns the kernel; the module closes when t ends.
func loadCatalogued(t *testing.T, dev gpu.Device, kernel string) gpu.Kernel {
	t.Helper()
	k, ok := kernels.Lookup(kernel)
	if !ok {
		t.Fatalf("no kernel %q in the catalogue", kernel)
	}
	return kernelOf(t, loadModule(t, dev, k.File, k.PTX()), kernel)
}

// loadModule loads src on dev as module name; the module closes when t
// ends.
func loadModule(t *testing.T, dev gpu.Device, name string, src []byte) gpu.Module {
	t.Helper()
	m, err := dev.LoadModule(name, src)
	must(t, err, "LoadModule(%s)", name)
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("closing module %s: %v", name, err)
		}
	})
	return m
}

// newStream makes a stream that closes when t ends.
func newStream(t *testing.T, dev gpu.Device) gpu.Stream {
	t.Helper()
	s, err := dev.NewStream()
	must(t, err, "NewStream")
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing a stream: %v", err)
		}
	})
	return s
}

// newEvent makes an event that closes when t ends.
func newEvent(t *testing.T, dev gpu.Device) gpu.Event {
	t.Helper()
	e, err := dev.NewEvent()
	must(t, err, "NewEvent")
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("closing an event: %v", err)
		}
	})
	return e
}

// alloc allocates n device bytes that are freed when t ends.
func alloc(t *testing.T, dev gpu.Device, n int) gpu.DeviceBuffer {
	t.Helper()
	b, err := dev.Alloc(n)
	must(t, err, "Alloc(%d)", n)
	t.Cleanup(func() {
		if err := b.Free(); err != nil {
			t.Errorf("freeing a %d-byte buffer: %v", n, err)
		}
	})
	return b
}

// allocHost allocates n host bytes that are freed when t ends.
func allocHost(t *testing.T, dev gpu.Device, n int, flags gpu.HostFlags) gpu.HostBuffer {
	t.Helper()
	h, err := dev.AllocHost(n, flags)
	must(t, err, "AllocHost(%d, %#x)", n, flags)
	if h.Size() != n || len(h.Bytes()) != n {
		t.Fatalf("AllocHost(%d, %#x): Size %d, len(Bytes) %d", n, flags, h.Size(), len(h.Bytes()))
	}
	t.Cleanup(func() {
		if err := h.Free(); err != nil {
			t.Errorf("freeing a %d-byte host buffer: %v", n, err)
		}
	})
	return h
}

// The long launch: warp_ring with one warp runs its schedule serially, so
// its time grows with total on every backend. Elsewhere than in the
// events tests it is just a launch that is still running when the test
// goes on.
const (
	ringCap, ringRP, ringRC = 7, 5, 3
	ringFill                = 0xabababab // the out buffer's bytes before the launch: 0xab
	ringTarget              = 60 * time.Millisecond
	ringMinTotal            = 256
	ringMaxTotal            = 1 << 20
)

// longRing is a long warp_ring launch, ready to queue.
type longRing struct {
	k           gpu.Kernel
	total       int
	out, status gpu.DeviceBuffer
}

// longTotal returns the warp_ring total that makes a launch last about
// ringTarget on this backend, measured the first time on a device of its
// own.
func (s *suite) longTotal(t *testing.T) int {
	t.Helper()
	if s.ringTotal == 0 {
		s.calibrate(t, s.device(t))
	}
	return s.ringTotal
}

// newLongRing loads warp_ring and allocates its buffers (out filled with
// 0xab bytes) for a long launch.
func (s *suite) newLongRing(t *testing.T, dev gpu.Device) *longRing {
	t.Helper()
	if s.ringTotal == 0 {
		s.calibrate(t, dev)
	}
	r := &longRing{k: loadCatalogued(t, dev, "warp_ring"), total: s.ringTotal}
	r.alloc(t, dev)
	return r
}

// calibrate sets s.ringTotal from the time of a short launch on dev.
func (s *suite) calibrate(t *testing.T, dev gpu.Device) {
	t.Helper()
	r := &longRing{k: loadCatalogued(t, dev, "warp_ring"), total: ringMinTotal}
	st := newStream(t, dev)
	var took time.Duration
	// The second launch is timed: the first may pay for loading the
	// module lazily.
	for range 2 {
		r.alloc(t, dev)
		start := time.Now()
		r.launch(t, st)
		must(t, st.Synchronize(), "Synchronize after the calibrating warp_ring launch")
		took = max(time.Since(start), time.Microsecond)
		r.check(t, r.readBack(t))
	}
	s.ringTotal = min(ringMaxTotal, max(ringMinTotal, int(int64(ringMinTotal)*int64(ringTarget)/int64(took))))
	t.Logf("a long launch: warp_ring with one warp and total %d (total %d took %v)", s.ringTotal, ringMinTotal, took)
}

func (r *longRing) alloc(t *testing.T, dev gpu.Device) {
	t.Helper()
	r.out, r.status = alloc(t, dev, 4*r.total), alloc(t, dev, 16)
	must(t, r.out.Memset(0, 4*r.total, 0xab), "Memset of warp_ring's out")
}

func (r *longRing) config() gpu.LaunchConfig {
	return gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}
}

func (r *longRing) launch(t *testing.T, st gpu.Stream) {
	t.Helper()
	must(t, st.Launch(r.k, r.config(), r.out, r.status, uint32(ringCap), uint32(ringRP), uint32(ringRC), uint32(r.total)), "Launch warp_ring")
}

// want returns warp_ring's out and status bytes after the launch.
func (r *longRing) want() (out, status []byte) {
	o, st := kernels.WarpRingBuffers(ringCap, ringRP, ringRC, r.total, 1, ringFill)
	return kernels.WordBytes(o), kernels.WordBytes(st)
}

func (r *longRing) readBack(t *testing.T) []byte {
	t.Helper()
	return append(readAll(t, r.out), readAll(t, r.status)...)
}

// check compares out followed by status with the reference.
func (r *longRing) check(t *testing.T, got []byte) {
	t.Helper()
	o, st := r.want()
	if d := diff(got, append(o, st...)); d != "" {
		t.Errorf("warp_ring (total %d) out and status: %s", r.total, d)
	}
}

// handoff is the input and expected output of a lane_handoff launch of n
// words.
func handoff(n int, seed uint64) (in, want []byte) {
	w := words(n, seed)
	return kernels.WordBytes(w), kernels.WordBytes(kernels.LaneHandoff(w))
}

var handoffConfig = gpu.LaunchConfig{Grid: gpu.D1(2), Block: gpu.D1(128)}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
