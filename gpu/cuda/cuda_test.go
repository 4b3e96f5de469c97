//go:build cuda

package cuda

// These tests need an NVIDIA GPU: a binary that imports gorgonia.org/cu
// exits in cu's init when the driver finds none.

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/gpu/gputest"
	"github.com/gpubuf/gpubuf/kernels"
	"gorgonia.org/cu"
)

func openTest(t *testing.T) *Device {
	t.Helper()
	dev, err := Open(gpu.Options{Ordinal: 0})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return dev.(*Device)
}

// closeTest closes d when t ends and checks that Close succeeds.
func closeTest(t *testing.T, d gpu.Device) {
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// The conformance suite of package gpu.
func TestConformance(t *testing.T) {
	gputest.Run(t, func(t *testing.T) gpu.Device { return openTest(t) })
}

func TestRegistered(t *testing.T) {
	if !contains(gpu.Backends(), gpu.BackendCUDA) {
		t.Fatalf("backends %v lack cuda", gpu.Backends())
	}
	dev, err := gpu.Open(gpu.Options{Backend: gpu.BackendCUDA})
	if err != nil {
		t.Fatal(err)
	}
	closeTest(t, dev)
	if _, ok := dev.(*Device); !ok {
		t.Errorf("gpu.Open gave a %T", dev)
	}
}

func TestOpenBadOrdinal(t *testing.T) {
	for _, o := range []int{-1, 1 << 20} {
		_, err := Open(gpu.Options{Ordinal: o})
		var ge *gpu.Error
		if !errors.As(err, &ge) || ge.Backend != gpu.BackendCUDA || !strings.Contains(err.Error(), "no GPU") {
			t.Errorf("Open(ordinal %d) = %v, want an error saying there is no such GPU", o, err)
		}
	}
}

// A driver error carries the driver's name and text for it.
func TestDriverErrorNames(t *testing.T) {
	d := openTest(t)
	closeTest(t, d)
	st, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := d.NewEvent()
	b, _ := d.NewEvent()
	_, err = b.Elapsed(a) // neither recorded
	var ge *gpu.Error
	if !errors.As(err, &ge) || !strings.HasPrefix(ge.Code, "CUDA_ERROR_") || ge.Msg == "" || ge.Op == "" {
		t.Errorf("Elapsed of unrecorded events: %#v, want a driver error name and text", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// A PTX the JIT compiler rejects gives its log.
func TestJITLog(t *testing.T) {
	d := openTest(t)
	closeTest(t, d)
	const bad = `.version 7.0
.target sm_70
.address_size 64

.visible .entry broken(
	.param .u64 broken_param_0
)
{
	.reg .b32 %r<2>;
	mov.u32 %r1, %undeclared;
	ret;
}
`
	_, err := d.LoadModule("broken.ptx", []byte(bad))
	var ge *gpu.Error
	if !errors.As(err, &ge) || !strings.HasPrefix(ge.Code, "CUDA_ERROR_") || !strings.Contains(ge.Msg, "JIT log") || !strings.Contains(ge.Msg, "undeclared") {
		t.Errorf("LoadModule of PTX with an undeclared register: %v, want the driver's error with the JIT log naming it", err)
	}
}

// dynPTX reverses a block's thread ids through dynamic shared memory at the
// top of its words: thread t writes t+1 to word words-1-t, and after the
// barrier reads word words-ntid+t, which thread ntid-1-t wrote.
const dynPTX = `.version 7.0
.target sm_70
.address_size 64

.extern .shared .align 4 .b8 dyn[];

.visible .entry dyn_reverse(
	.param .u64 dyn_reverse_param_0,
	.param .u32 dyn_reverse_param_1
)
{
	.reg .b32 %r<10>;
	.reg .b64 %rd<8>;

	ld.param.u64 %rd1, [dyn_reverse_param_0];
	ld.param.u32 %r1, [dyn_reverse_param_1];
	mov.u32 %r2, %tid.x;
	mov.u32 %r3, %ntid.x;
	mov.u64 %rd2, dyn;
	sub.u32 %r4, %r1, %r2;
	sub.u32 %r4, %r4, 1;
	mul.wide.u32 %rd3, %r4, 4;
	add.u64 %rd3, %rd2, %rd3;
	add.u32 %r5, %r2, 1;
	st.shared.u32 [%rd3], %r5;
	bar.sync 0;
	sub.u32 %r6, %r1, %r3;
	add.u32 %r6, %r6, %r2;
	mul.wide.u32 %rd4, %r6, 4;
	add.u64 %rd4, %rd2, %rd4;
	ld.shared.u32 %r7, [%rd4];
	cvta.to.global.u64 %rd5, %rd1;
	mul.wide.u32 %rd6, %r2, 4;
	add.u64 %rd5, %rd5, %rd6;
	st.global.u32 [%rd5], %r7;
	ret;
}
`

// Launches with more than 48 KiB of dynamic shared memory opt in by
// themselves; more than the device allows is refused.
func TestDynamicSharedAbove48K(t *testing.T) {
	d := openTest(t)
	closeTest(t, d)
	if d.maxSharedOptin <= 48<<10 {
		t.Skipf("the device allows a block only %d bytes of shared memory", d.maxSharedOptin)
	}
	m, err := d.LoadModule("dyn.ptx", []byte(dynPTX))
	if err != nil {
		t.Fatal(err)
	}
	k, err := m.Kernel("dyn_reverse")
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	const threads = 256
	out, err := d.Alloc(4 * threads)
	if err != nil {
		t.Fatal(err)
	}
	for _, bytes := range []int{4 * threads, 48 << 10, 64 << 10, d.maxSharedOptin / 4 * 4, 64 << 10} {
		if err := out.Memset(0, 4*threads, 0); err != nil {
			t.Fatal(err)
		}
		cfg := gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(threads), SharedBytes: bytes}
		if err := st.Launch(k, cfg, out, uint32(bytes/4)); err != nil {
			t.Fatalf("%d bytes of dynamic shared memory: %v", bytes, err)
		}
		if err := st.Synchronize(); err != nil {
			t.Fatalf("%d bytes: %v", bytes, err)
		}
		got := make([]byte, 4*threads)
		if err := out.CopyToHost(got, 0); err != nil {
			t.Fatal(err)
		}
		w := kernels.Words(got)
		for i, v := range w {
			if v != uint32(threads-i) {
				t.Fatalf("%d bytes: out[%d] = %d, want %d", bytes, i, v, threads-i)
			}
		}
	}
	cfg := gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(threads), SharedBytes: d.maxSharedOptin + 4}
	if err := st.Launch(k, cfg, out, uint32(cfg.SharedBytes/4)); err == nil {
		t.Errorf("a launch with %d bytes of dynamic shared memory, over the device's %d: no error", cfg.SharedBytes, d.maxSharedOptin)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMaxPotentialBlockSize(t *testing.T) {
	d := openTest(t)
	closeTest(t, d)
	kc, _ := kernels.Lookup("batch_reduce")
	m, err := d.LoadModule(kc.File, kc.PTX())
	if err != nil {
		t.Fatal(err)
	}
	k, err := m.Kernel(kc.Name)
	if err != nil {
		t.Fatal(err)
	}
	grid, block, err := k.(*Kernel).MaxPotentialBlockSize(0)
	if err != nil {
		t.Fatal(err)
	}
	if grid < d.Info().SMCount || block <= 0 || block > d.maxThreads || block%d.Info().WarpSize != 0 {
		t.Errorf("MaxPotentialBlockSize(0) = grid %d, block %d; want a grid of at least %d SMs and a block of whole warps up to %d",
			grid, block, d.Info().SMCount, d.maxThreads)
	}
	if _, _, err := k.(*Kernel).MaxPotentialBlockSize(-1); err == nil {
		t.Errorf("MaxPotentialBlockSize(-1): no error")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.(*Kernel).MaxPotentialBlockSize(0); !errors.Is(err, gpu.ErrClosed) {
		t.Errorf("MaxPotentialBlockSize after the module's Close: %v, want ErrClosed", err)
	}
}

// Go memory registered with the driver is copied to asynchronously and,
// mapped, read by a kernel.
func TestRegisterHost(t *testing.T) {
	d := openTest(t)
	closeTest(t, d)
	const n = 1 << 16 // whole pages of its own
	kc, _ := kernels.Lookup("lane_handoff")
	m, err := d.LoadModule(kc.File, kc.PTX())
	if err != nil {
		t.Fatal(err)
	}
	k, _ := m.Kernel(kc.Name)
	mem := make([]byte, n)
	words := make([]uint32, n/4)
	for i := range words {
		words[i] = uint32(i*2654435761 + 7)
	}
	copy(mem, kernels.WordBytes(words))
	want := kernels.WordBytes(kernels.LaneHandoff(words))
	h, err := d.RegisterHost(mem, gpu.HostMapped)
	if err != nil {
		t.Fatal(err)
	}
	if &h.Bytes()[0] != &mem[0] || !h.PageLocked() {
		t.Fatal("a registered buffer's Bytes is not the memory registered, or it is not page-locked")
	}
	din, _ := d.Alloc(n)
	dout, _ := d.Alloc(n)
	st, _ := d.NewStream()
	if err := st.CopyHtoD(din, 0, h, 0, n); err != nil {
		t.Fatal(err)
	}
	cfg := gpu.LaunchConfig{Grid: gpu.D1(64), Block: gpu.D1(256)}
	if err := st.Launch(k, cfg, din, dout, uint32(n/4)); err != nil {
		t.Fatal(err)
	}
	if h.Mapped() {
		if err := st.Launch(k, cfg, h, din, uint32(n/4)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Synchronize(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, n)
	if err := dout.CopyToHost(got, 0); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("lane_handoff of registered memory copied to the device: wrong output")
	}
	if h.Mapped() {
		if err := din.CopyToHost(got, 0); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("lane_handoff reading mapped registered memory: wrong output")
		}
	}
	if err := h.Free(); err != nil {
		t.Fatal(err)
	}
	if err := h.Free(); err != nil {
		t.Errorf("a second Free: %v", err)
	}
	if h.Bytes() != nil {
		t.Errorf("Bytes after Free is not nil")
	}
	if err := st.CopyHtoD(din, 0, h, 0, 1); !errors.Is(err, gpu.ErrClosed) {
		t.Errorf("a copy from unregistered memory: %v, want ErrClosed", err)
	}
	// The memory is the caller's again, and can be registered again.
	h2, err := d.RegisterHost(mem, 0)
	if err != nil {
		t.Fatalf("registering the memory again: %v", err)
	}
	if h2.Mapped() {
		t.Errorf("registered without HostMapped, the buffer is mapped")
	}
	if _, err := d.RegisterHost(make([]byte, n), gpu.HostWriteCombined); err == nil {
		t.Errorf("RegisterHost(HostWriteCombined): no error")
	}
	if _, err := d.RegisterHost(nil, 0); err == nil {
		t.Errorf("RegisterHost(nil): no error")
	}
	st.Close()
	m.Close()
	// h2 is left for the device's Close to unregister.
}

// A thread that has another context current keeps it: the device's calls
// push their own over it and pop it again.
func TestForeignContextKept(t *testing.T) {
	a := openTest(t)
	closeTest(t, a)
	b := openTest(t)
	closeTest(t, b)
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		before, err := cu.CurrentContext()
		if err != nil {
			done <- err
			return
		}
		// Leave the thread as it was, for the tests that use it next.
		defer cu.SetCurrentContext(before)
		if err := cu.SetCurrentContext(b.ctx); err != nil {
			done <- err
			return
		}
		buf, err := a.Alloc(64)
		if err != nil {
			done <- err
			return
		}
		if err := buf.Memset(0, 64, 1); err != nil {
			done <- err
			return
		}
		cur, err := cu.CurrentContext()
		if err != nil {
			done <- err
			return
		}
		if cur != b.ctx {
			done <- errors.New("a call on device a left its context current in place of b's")
			return
		}
		done <- buf.Free()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A thread where a closed device's context was current works for a new
// device.
func TestStaleContext(t *testing.T) {
	a := openTest(t)
	run := make(chan func() error)
	res := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for f := range run {
			res <- f()
		}
	}()
	defer close(run)
	run <- func() error { _, err := a.Alloc(16); return err } // a current here
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := openTest(t)
	closeTest(t, b)
	run <- func() error {
		buf, err := b.Alloc(16)
		if err != nil {
			return err
		}
		if err := buf.CopyFromHost(0, []byte{1, 2, 3}); err != nil {
			return err
		}
		return buf.Free()
	}
	if err := <-res; err != nil {
		t.Fatalf("a call on a thread where a closed device's context was current: %v", err)
	}
}

// Many goroutines launch into streams of their own at once.
func TestConcurrentLaunches(t *testing.T) {
	d := openTest(t)
	closeTest(t, d)
	kc, _ := kernels.Lookup("lane_handoff")
	m, err := d.LoadModule(kc.File, kc.PTX())
	if err != nil {
		t.Fatal(err)
	}
	k, _ := m.Kernel(kc.Name)
	const n = 4096
	words := make([]uint32, n)
	for i := range words {
		words[i] = uint32(i)
	}
	want := string(kernels.WordBytes(kernels.LaneHandoff(words)))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := d.NewStream()
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			in, _ := d.Alloc(4 * n)
			out, _ := d.Alloc(4 * n)
			defer in.Free()
			defer out.Free()
			if err := in.CopyFromHost(0, kernels.WordBytes(words)); err != nil {
				errs <- err
				return
			}
			for i := 0; i < 50; i++ {
				if err := st.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(8), Block: gpu.D1(128)}, in, out, uint32(n)); err != nil {
					errs <- err
					return
				}
			}
			if err := st.Synchronize(); err != nil {
				errs <- err
				return
			}
			got := make([]byte, 4*n)
			if err := out.CopyToHost(got, 0); err != nil {
				errs <- err
				return
			}
			if string(got) != want {
				errs <- errors.New("wrong output")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
