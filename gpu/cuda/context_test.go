//go:build cuda

package cuda

// Contexts: none left current on a thread after a call, closing one
// device on one thread while others work on, the primary context shared,
// the context a compute mode calls for, and waits that block. Like the
// rest of the package's tests they need a driver that answers.

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
	"gorgonia.org/cu"
)

// lockedThread runs functions one after another on one goroutine locked
// to its OS thread, and gives their errors.
type lockedThread struct {
	run chan func() error
	res chan error
}

func newLockedThread(t *testing.T) *lockedThread {
	l := &lockedThread{run: make(chan func() error), res: make(chan error)}
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for f := range l.run {
			l.res <- f()
		}
	}()
	t.Cleanup(func() { close(l.run) })
	return l
}

func (l *lockedThread) do(f func() error) error {
	l.run <- f
	return <-l.res
}

// current is the context current to the calling thread, which must be
// locked; a failure of cuCtxGetCurrent panics, since it runs on a
// lockedThread, where t cannot stop the test.
func current() cu.CUContext {
	c, err := cu.CurrentContext()
	if err != nil {
		panic("cuCtxGetCurrent: " + err.Error())
	}
	return c
}

// useDevice allocates, writes, reads back and frees a little memory of d.
func useDevice(d *Device, fill byte) error {
	b, err := d.Alloc(64)
	if err != nil {
		return err
	}
	want := make([]byte, 64)
	for i := range want {
		want[i] = fill + byte(i)
	}
	if err := b.CopyFromHost(0, want); err != nil {
		return err
	}
	got := make([]byte, 64)
	if err := b.CopyToHost(got, 0); err != nil {
		return err
	}
	if string(got) != string(want) {
		return errors.New("the device gave back other bytes than it was given")
	}
	return b.Free()
}

// A call leaves the thread's current context as it found it: none, here.
func TestContextNotLeftCurrent(t *testing.T) {
	d := openTest(t)
	closeTest(t, d)
	th := newLockedThread(t)
	var before, after cu.CUContext
	if err := th.do(func() error {
		before = current()
		if err := useDevice(d, 1); err != nil {
			return err
		}
		after = current()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("after the device's calls the thread has context %v current, before %v", after, before)
	}
}

// A panic inside a call still pops the context.
func TestPanicPopsContext(t *testing.T) {
	d := openTest(t)
	closeTest(t, d)
	th := newLockedThread(t)
	var before, after cu.CUContext
	var recovered any
	th.do(func() error {
		before = current()
		func() {
			defer func() { recovered = recover() }()
			d.do(func() error { panic("inside a driver call") })
		}()
		after = current()
		return nil
	})
	if recovered == nil {
		t.Fatal("the panic did not come out of do")
	}
	if after != before {
		t.Errorf("after a panic in do the thread has context %v current, before %v: the push was not popped", after, before)
	}
}

// Closing one device from another thread leaves the threads that used it
// with nothing of it current: another device works on each of them at
// once, and the closed one says ErrClosed.
func TestCloseOnAnotherThread(t *testing.T) {
	a := openTest(t)
	closeTest(t, a) // closed below; a second Close does nothing
	b := openTest(t)
	closeTest(t, b)
	const threads = 4
	ths := make([]*lockedThread, threads)
	for i := range ths {
		ths[i] = newLockedThread(t)
		if err := ths[i].do(func() error {
			if err := useDevice(a, byte(i)); err != nil {
				return err
			}
			return useDevice(b, byte(i))
		}); err != nil {
			t.Fatalf("thread %d, before the close: %v", i, err)
		}
	}
	closer := newLockedThread(t)
	if err := closer.do(a.Close); err != nil {
		t.Fatalf("closing device a on another thread: %v", err)
	}
	for i, th := range ths {
		if err := th.do(func() error {
			before := current()
			if err := useDevice(b, byte(10+i)); err != nil {
				return err
			}
			if after := current(); after != before {
				return errors.New("device b's calls changed the thread's current context")
			}
			if _, err := a.Alloc(16); !errors.Is(err, gpu.ErrClosed) {
				return errors.New("Alloc on the closed device a did not say ErrClosed")
			}
			return nil
		}); err != nil {
			t.Errorf("thread %d, after device a's close: %v", i, err)
		}
	}
}

// Devices in the primary context share it; closing one releases only its
// reference, and the other goes on working.
func TestPrimaryContextShared(t *testing.T) {
	a, err := openIn(0, primaryContext)
	if err != nil {
		t.Fatal(err)
	}
	b, err := openIn(0, primaryContext)
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	if a.ctx != b.ctx {
		t.Errorf("two devices in GPU 0's primary context have contexts %v and %v", a.ctx, b.ctx)
	}
	if !strings.Contains(a.Info().Driver, "primary context") {
		t.Errorf("Info().Driver = %q, want it to say the device works in the primary context", a.Info().Driver)
	}
	if _, active, err := a.dev.PrimaryCtxState(); err != nil || active == 0 {
		t.Errorf("primary context state: active %d, %v; want it active while retained", active, err)
	}
	if err := newLockedThread(t).do(a.Close); err != nil {
		t.Fatalf("closing device a on another thread: %v", err)
	}
	for i := range 3 {
		if err := newLockedThread(t).do(func() error { return useDevice(b, byte(i)) }); err != nil {
			t.Errorf("device b after a's close, thread %d: %v", i, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if a.mode != computeModeExclusiveProcess {
		// The driver resets the primary context after the last release;
		// in exclusive-process mode another test's device may hold it.
		if _, active, err := a.dev.PrimaryCtxState(); err != nil || active != 0 {
			t.Errorf("primary context state after both releases: active %d, %v; want inactive", active, err)
		}
	}
}

// The device works in the context its GPU's compute mode calls for, and
// its waits block.
func TestComputeModeAndScheduling(t *testing.T) {
	d := openTest(t)
	closeTest(t, d)
	mode, err := d.dev.Attribute(cu.ComputeMode)
	if err != nil {
		t.Fatal(err)
	}
	want, err := contextFor(0, mode)
	if err != nil {
		t.Fatalf("GPU 0 opened in a compute mode contextFor refuses: %v", err)
	}
	if d.kind != want {
		t.Errorf("compute mode %s: context kind %d, want %d", computeModeName(mode), d.kind, want)
	}
	if !strings.Contains(d.Info().Driver, "built with cuda.h 1") {
		t.Errorf("Info().Driver = %q, want the cuda.h version", d.Info().Driver)
	}
	if d.kind != ownContext {
		t.Skipf("the GPU is in %s: the primary context keeps the flags its first user gave it", computeModeName(mode))
	}
	var flags cu.ContextFlags
	if err := d.do(func() error {
		var err error
		flags, err = cu.CurrentFlags()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if flags&cu.SchedMask != cu.SchedBlockingSync {
		t.Errorf("context flags %#x: scheduling %#x, want CU_CTX_SCHED_BLOCKING_SYNC (%#x)", flags, flags&cu.SchedMask, cu.SchedBlockingSync)
	}
}

// An event without timing orders and waits, and Elapsed refuses it; the
// host ring finds NewEventNoTiming as it finds the emulator's.
func TestEventNoTiming(t *testing.T) {
	d := openTest(t)
	closeTest(t, d)
	var dev gpu.Device = d
	nt, ok := dev.(interface{ NewEventNoTiming() (gpu.Event, error) })
	if !ok {
		t.Fatal("the cuda device has no NewEventNoTiming")
	}
	st, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := nt.NewEventNoTiming()
	if err != nil {
		t.Fatal(err)
	}
	timed, err := d.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	buf, err := d.Alloc(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []gpu.Event{timed, e} {
		if err := st.Memset(buf, 0, 1<<20, 7); err != nil {
			t.Fatal(err)
		}
		if err := st.Record(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Synchronize(); err != nil {
		t.Fatal(err)
	}
	if done, err := e.Query(); !done || err != nil {
		t.Errorf("Query after Synchronize: %v, %v; want done", done, err)
	}
	for _, c := range []struct {
		name       string
		end, start gpu.Event
	}{{"untimed end", e, timed}, {"untimed start", timed, e}} {
		if _, err := c.end.Elapsed(c.start); err == nil || !strings.Contains(err.Error(), "without timing") {
			t.Errorf("Elapsed with an %s: %v, want an error saying it has no timing", c.name, err)
		}
	}
	if _, err := timed.Elapsed(timed); err != nil {
		t.Errorf("Elapsed of a timed event from itself: %v", err)
	}
}
