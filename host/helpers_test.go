package host

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
	_ "github.com/gpubuf/gpubuf/gpu/emu"
)

// openEmu opens an emulator device for a test and closes it at its end.
func openEmu(t interface {
	Fatal(...any)
	Cleanup(func())
}) gpu.Device {
	dev, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

// echoStage copies each batch back from the device: a batch's result is
// its own bytes, as the device saw them. Staged rings only.
type echoStage struct{ size int }

func (e echoStage) NewFrame(dev gpu.Device) (StageFrame, error) {
	out, err := dev.AllocHost(e.size, 0)
	if err != nil {
		return nil, err
	}
	return &echoFrame{out: out}, nil
}

type echoFrame struct {
	out gpu.HostBuffer
	n   int
}

func (f *echoFrame) Enqueue(s gpu.Stream, in any, b Batch) error {
	f.n = b.N
	switch in := in.(type) {
	case gpu.DeviceBuffer:
		return s.CopyDtoH(f.out, 0, in, 0, b.N)
	}
	return fmt.Errorf("echoStage: input %T", in)
}

func (f *echoFrame) Collect(b Batch) ([]byte, error) {
	return append([]byte(nil), f.out.Bytes()[:f.n]...), nil
}

func (f *echoFrame) Free() error { return f.out.Free() }

// The helpers below serve the ring's tests (ring_test.go, fault_test.go,
// ring_bench_test.go); their names start with rt so that they stay clear of
// the pipeline's.

// rtWord is word i of the batch tagged tag: what producers write, and what
// consumers check against. Every batch's content follows from its tag.
func rtWord(tag uint64, i int) uint32 {
	x := tag*0x9E3779B97F4A7C15 + uint64(i+1)*0xBF58476D1CE4E5B9
	x ^= x >> 29
	x *= 0x94D049BB133111EB
	return uint32(x ^ x>>32)
}

// rtFill writes the pattern of tag over all of buf (a trailing partial
// word gets the low bytes of its word).
func rtFill(buf []byte, tag uint64) {
	for i := 0; i < len(buf); i += 4 {
		var w [4]byte
		binary.LittleEndian.PutUint32(w[:], rtWord(tag, i/4))
		copy(buf[i:], w[:])
	}
}

// rtBytes is the first n bytes of tag's pattern.
func rtBytes(tag uint64, n int) []byte {
	b := make([]byte, n)
	rtFill(b, tag)
	return b
}

// rtSum is the sum (mod 2^32) of the first nwords words of tag's pattern:
// what slow_sum reports for the batch.
func rtSum(tag uint64, nwords int) uint32 {
	var s uint32
	for i := range nwords {
		s += rtWord(tag, i)
	}
	return s
}

// rtKernel loads host/testdata/testkernels.ptx (slow_sum and fault_if, see
// testkernels.cu) on dev and returns the kernel named name.
func rtKernel(t testing.TB, dev gpu.Device, name string) gpu.Kernel {
	t.Helper()
	ptx, err := os.ReadFile("testdata/testkernels.ptx")
	if err != nil {
		t.Fatal(err)
	}
	m, err := dev.LoadModule("testkernels", ptx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	k, err := m.Kernel(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rtWarp is the launch shape of the test kernels: one warp.
var rtWarp = gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}

// rtStage is a Stage made of functions. Each frame has an out-byte device
// buffer that is filled with 0xA5 before each batch (so that a result left
// over from the frame's previous batch cannot pass for a new one), then
// run queues the batch's work, then out is copied back, and Collect
// returns the copy (after collect's delay, when set).
type rtStage struct {
	out int
	run func(s gpu.Stream, in any, out gpu.DeviceBuffer, b Batch) error
	// collect, when set, runs at the start of Collect (to delay a batch,
	// or to fail it).
	collect func(b Batch) error
}

func (st rtStage) NewFrame(dev gpu.Device) (StageFrame, error) {
	out, err := dev.Alloc(st.out)
	if err != nil {
		return nil, err
	}
	host, err := dev.AllocHost(st.out, 0)
	if err != nil {
		out.Free()
		return nil, err
	}
	return &rtFrame{st: st, out: out, host: host}, nil
}

type rtFrame struct {
	st   rtStage
	out  gpu.DeviceBuffer
	host gpu.HostBuffer
}

func (f *rtFrame) Enqueue(s gpu.Stream, in any, b Batch) error {
	if err := s.Memset(f.out, 0, f.st.out, 0xA5); err != nil {
		return err
	}
	if f.st.run != nil {
		if err := f.st.run(s, in, f.out, b); err != nil {
			return err
		}
	}
	return s.CopyDtoH(f.host, 0, f.out, 0, f.st.out)
}

func (f *rtFrame) Collect(b Batch) ([]byte, error) {
	if f.st.collect != nil {
		if err := f.st.collect(b); err != nil {
			return nil, err
		}
	}
	return append([]byte(nil), f.host.Bytes()...), nil
}

func (f *rtFrame) Free() error {
	return errors.Join(f.out.Free(), f.host.Free())
}

// rtSlowSum is a stage that runs slow_sum on each batch's whole words with
// spins(b) spins; the result is the two sums, before and after the spin.
// launched, when set, is called with the stream just after the launch (to
// record an event that completes with the kernel).
func rtSlowSum(k gpu.Kernel, spins func(Batch) uint32, launched func(s gpu.Stream, b Batch) error) rtStage {
	return rtStage{out: 8, run: func(s gpu.Stream, in any, out gpu.DeviceBuffer, b Batch) error {
		if err := s.Launch(k, rtWarp, in, out, uint32(b.N/4), spins(b)); err != nil {
			return err
		}
		if launched != nil {
			return launched(s, b)
		}
		return nil
	}}
}

// rtCheckSums checks a slow_sum result against the batch's tag.
func rtCheckSums(c Completion) error {
	if len(c.Result) != 8 {
		return fmt.Errorf("%v: result %d bytes, want 8", c.Batch, len(c.Result))
	}
	want := rtSum(c.Tag, c.N/4)
	before, after := binary.LittleEndian.Uint32(c.Result), binary.LittleEndian.Uint32(c.Result[4:])
	if before != want || after != want {
		return fmt.Errorf("%v: the kernel summed %#x before its spin and %#x after it, want %#x for both: its input changed under it", c.Batch, before, after, want)
	}
	return nil
}

// rtGoroutines waits up to 2 s for the goroutine count to come back to
// before (taken before NewRing), and fails with every stack when it does
// not: the ring leaked goroutines.
func rtGoroutines(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%d goroutines before NewRing, %d two seconds after Close: leaked\n%s", before, n, buf)
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rtWaitFor polls cond every 100 µs until it holds, failing the test when
// it has not after 5 s.
func rtWaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// rtNext is Next with a 20 s limit, so that a lost batch fails a test
// instead of hanging it.
func rtNext(r *Ring) (Completion, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return r.Next(ctx)
}

// rtDrain takes every completion until io.EOF. It may run on any
// goroutine: an error other than io.EOF fails the test (without stopping
// it) and ends the drain.
func rtDrain(t testing.TB, r *Ring) []Completion {
	t.Helper()
	var out []Completion
	for {
		c, err := rtNext(r)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Errorf("Next after %d completions: %v", len(out), err)
			return out
		}
		out = append(out, c)
	}
}

// rtCtx is a context for a test's blocking calls that gives up after 20 s,
// so that a lost slot or batch fails the test instead of hanging it.
func rtCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rtClose closes r, failing the test when Close fails or takes over 20 s
// (a batch that never completes). Call it from the test's goroutine.
func rtClose(t testing.TB, r *Ring) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- r.Close() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close has not returned after 20 s: a batch never completes")
	}
}

// rtSpyDevice wraps a device so that a test sees each device operation
// that reads host memory: right after each CopyHtoD from a host buffer,
// and each Launch that is passed one (a mapped slot, zero-copy), its
// streams record an event, and read gets the buffer and the event, which
// completes when that operation has (and before anything queued after
// it, the ring's own events included).
type rtSpyDevice struct {
	gpu.Device
	read func(buf gpu.HostBuffer, done gpu.Event)
}

func (d rtSpyDevice) NewStream() (gpu.Stream, error) {
	s, err := d.Device.NewStream()
	if err != nil {
		return nil, err
	}
	return rtSpyStream{Stream: s, d: d}, nil
}

type rtSpyStream struct {
	gpu.Stream
	d rtSpyDevice
}

func (s rtSpyStream) CopyHtoD(dst gpu.DeviceBuffer, dstOff int, src gpu.HostBuffer, srcOff, n int) error {
	if err := s.Stream.CopyHtoD(dst, dstOff, src, srcOff, n); err != nil {
		return err
	}
	return s.mark(src)
}

func (s rtSpyStream) Launch(k gpu.Kernel, cfg gpu.LaunchConfig, args ...any) error {
	if err := s.Stream.Launch(k, cfg, args...); err != nil {
		return err
	}
	for _, a := range args {
		if h, ok := a.(gpu.HostBuffer); ok {
			if err := s.mark(h); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s rtSpyStream) mark(h gpu.HostBuffer) error {
	e, err := s.d.NewEvent()
	if err != nil {
		return err
	}
	if err := s.Stream.Record(e); err != nil {
		return err
	}
	s.d.read(h, e)
	return nil
}
