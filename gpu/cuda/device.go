//go:build cuda

package cuda

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/gpubuf/gpubuf/gpu"
	"gorgonia.org/cu"
)

func init() { gpu.Register(gpu.BackendCUDA, driver{}) }

type driver struct{}

func (driver) Open(opts gpu.Options) (gpu.Device, error) { return Open(opts) }

// Open opens GPU opts.Ordinal in a context of its own. The gpu.Device it
// returns is a *Device.
func Open(opts gpu.Options) (gpu.Device, error) {
	d, err := open(opts.Ordinal)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Device is a GPU: a CUDA context on it, and everything made in it.
//
// # Threading
//
// A CUDA context is current per OS thread, and a driver call works on the
// context current to the thread that makes it. gorgonia.org/cu's Ctx keeps
// one goroutine locked to a thread with its context current and sends
// every call there over a channel and waits for the answer on another: two
// channel operations and two goroutine switches per call, usually with a
// wake-up of a parked OS thread, and every caller queues on that single
// goroutine. A launch pays that on top of its own few microseconds.
//
// Here the calling goroutine makes the call itself (see do): it locks
// itself to its OS thread for the length of the call (a few nanoseconds),
// asks the driver which context is current (cuCtxGetCurrent, one cgo
// call), and makes this device's current only when it is not. The thread
// keeps it afterwards, so the next call there pays nothing more; the Go
// runtime has few threads, so they all soon have it. The driver API is
// thread-safe, so goroutines launch into their own streams in parallel
// instead of queueing. A thread that has another context current (another
// Device's, or another library's) gets this one pushed for the call and
// popped after it, so its own is left as it was. cuda_bench_test.go
// compares the cost of a launch both ways.
//
// The other way out of the channel cost, one goroutine that owns the
// context and takes work in batches, would still pay a round trip per
// batch and serialise every stream behind it, and the gpu API has no
// batches to give it: each Launch or copy is a call of its own.
//
// # Lifetimes
//
// Every call holds a read lock on the device for its length, and Close
// takes the write lock: Close waits for the calls in progress, and the
// context is never destroyed under a call. Buffers, streams, events and
// modules are each freed once, by their Free or Close or else by the
// device's Close; a second Free or Close does nothing, and any other use
// after that is an error wrapping gpu.ErrClosed.
type Device struct {
	ordinal int
	dev     cu.Device
	ctx     cu.CUContext
	info    gpu.Info
	canMap  bool // CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY
	coop    bool // CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH
	// maxSharedOptin is the most shared memory (static and dynamic) a
	// block can have when its kernel opts in
	// (CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN).
	maxSharedOptin int
	maxThreads     int    // threads per block
	maxBlock       [3]int // block dimensions
	maxGrid        [3]int // grid dimensions

	life   sync.RWMutex // read-held by every call, write-held by Close
	closed bool         // under life

	mu      sync.Mutex // guards the sets of live objects
	modules map[*Module]struct{}
	dbufs   map[*DeviceBuffer]struct{}
	hbufs   map[*HostBuffer]struct{}
	streams map[*Stream]struct{}
	events  map[*Event]struct{}
}

var _ gpu.Device = (*Device)(nil)

// destroyed holds the contexts this package has destroyed. A destroyed
// context stays current on the threads it was current on (the driver only
// pops it from the thread that destroys it); do replaces it there rather
// than pushing over it.
var destroyed sync.Map // cu.CUContext -> struct{}

// openDevices holds every device until its Close, so that a device the
// program drops without closing it stays reachable with everything it
// holds, as its context stays alive in the driver: in particular the
// runtime.Pinner of registered host memory, which the runtime reports as
// a leak (a panic) when it is collected with pointers still pinned.
var openDevices sync.Map // *Device -> struct{}

// noContext is what cuCtxGetCurrent gives on a thread with no context.
var noContext cu.CUContext

func open(ordinal int) (*Device, error) {
	const op = "open"
	n, err := cu.NumDevices()
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if ordinal < 0 || ordinal >= n {
		return nil, usageErr(op, "no GPU %d: the CUDA driver sees %d (ordinals 0 to %d)", ordinal, n, n-1)
	}
	op2 := fmt.Sprintf("open GPU %d", ordinal)
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return nil, wrapErr(op2, err)
	}
	d := &Device{
		ordinal: ordinal,
		dev:     dev,
		modules: map[*Module]struct{}{},
		dbufs:   map[*DeviceBuffer]struct{}{},
		hbufs:   map[*HostBuffer]struct{}{},
		streams: map[*Stream]struct{}{},
		events:  map[*Event]struct{}{},
	}
	name, err := dev.Name()
	if err != nil {
		return nil, wrapErr(op2+": device name", err)
	}
	total, err := dev.TotalMem()
	if err != nil {
		return nil, wrapErr(op2+": total memory", err)
	}
	attrs := []struct {
		a    cu.DeviceAttribute
		what string
		v    *int
	}{
		{cu.ComputeCapabilityMajor, "compute capability", &d.info.ComputeCapability[0]},
		{cu.ComputeCapabilityMinor, "compute capability", &d.info.ComputeCapability[1]},
		{cu.MultiprocessorCount, "SM count", &d.info.SMCount},
		{cu.WarpSize, "warp size", &d.info.WarpSize},
		{attrMaxSharedPerBlockOptin, "opt-in shared memory per block", &d.maxSharedOptin},
		{cu.MaxThreadsPerBlock, "threads per block", &d.maxThreads},
		{cu.MaxBlockDimX, "block dimensions", &d.maxBlock[0]},
		{cu.MaxBlockDimY, "block dimensions", &d.maxBlock[1]},
		{cu.MaxBlockDimZ, "block dimensions", &d.maxBlock[2]},
		{cu.MaxGridDimX, "grid dimensions", &d.maxGrid[0]},
		{cu.MaxGridDimY, "grid dimensions", &d.maxGrid[1]},
		{cu.MaxGridDimZ, "grid dimensions", &d.maxGrid[2]},
	}
	for _, a := range attrs {
		if *a.v, err = dev.Attribute(a.a); err != nil {
			return nil, wrapErr(op2+": "+a.what, err)
		}
	}
	canMap, err := dev.Attribute(cu.CanMapHostMemory)
	if err != nil {
		return nil, wrapErr(op2+": can map host memory", err)
	}
	d.canMap = canMap != 0
	coop, err := dev.Attribute(attrCooperativeLaunch)
	if err != nil {
		return nil, wrapErr(op2+": cooperative launch", err)
	}
	d.coop = coop != 0
	d.info.Name = name
	d.info.Backend = backend
	d.info.TotalMemory = total
	d.info.Driver = "CUDA driver (version unknown)"
	if v := cu.Version(); v > 0 {
		d.info.Driver = fmt.Sprintf("CUDA driver %d.%d", v/1000, v%1000/10)
	}

	// cuCtxCreate makes the new context current to the calling thread,
	// pushed over whatever was current there; pop it again, so that the
	// thread is left as it was (do makes the context current where it
	// is needed). MapHost lets page-locked host memory be mapped into the
	// device (HostMapped).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ctx, err := dev.MakeContext(cu.SchedAuto | cu.MapHost)
	if err != nil {
		return nil, wrapErr(op2+": create context", err)
	}
	if _, err := cu.PopCurrentCtx(); err != nil {
		e := wrapErr(op2+": create context", err)
		ctx.Destroy()
		return nil, e
	}
	destroyed.Delete(ctx)
	d.ctx = ctx
	openDevices.Store(d, struct{}{})
	return d, nil
}

// do runs f, a sequence of driver calls, with the device's context current
// to the OS thread that runs it: see Device's comment on threading.
func (d *Device) do(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cur, err := cu.CurrentContext()
	if err != nil {
		return wrapErr("get current context", err)
	}
	switch {
	case cur == d.ctx:
		err := f()
		if isResult(err, cu.ContextIsDestroyed) {
			// The thread holds a destroyed context whose handle the
			// driver has reused for ours: make ours current for real.
			if err := cu.SetCurrentContext(d.ctx); err != nil {
				return wrapErr("set current context", err)
			}
			return f()
		}
		return err
	case cur == noContext:
		if err := cu.SetCurrentContext(d.ctx); err != nil {
			return wrapErr("set current context", err)
		}
		return f()
	}
	if _, stale := destroyed.Load(cur); stale {
		if err := cu.SetCurrentContext(d.ctx); err != nil {
			return wrapErr("set current context", err)
		}
		return f()
	}
	if err := cu.PushCurrentCtx(d.ctx); err != nil {
		return wrapErr("push context", err)
	}
	err = f()
	if _, perr := cu.PopCurrentCtx(); perr != nil && err == nil {
		err = wrapErr("pop context", perr)
	}
	return err
}

// enter begins a call: it read-locks the device, or fails when it is
// closed. leave ends it.
func (d *Device) enter(op string) error {
	d.life.RLock()
	if d.closed {
		d.life.RUnlock()
		return closedErr(op)
	}
	return nil
}

func (d *Device) leave() { d.life.RUnlock() }

// call is enter, do and leave, with the error wrapped for op.
func (d *Device) call(op string, f func() error) error {
	if err := d.enter(op); err != nil {
		return err
	}
	defer d.leave()
	if err := d.do(f); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

func (d *Device) Info() gpu.Info { return d.info }

// Synchronize waits for the work of every stream (cuCtxSynchronize), and
// reports the first error of that work, such as a kernel fault.
func (d *Device) Synchronize() error { return d.call("synchronize", cu.Synchronize) }

// Close waits for all work queued on the device's streams to finish
// (cuCtxSynchronize), then destroys the events and streams, unloads the
// modules, frees the device and host memory and unregisters registered
// host memory that were not freed, and destroys the context. It first
// waits for the device's calls in progress on other goroutines. An error
// of the work (a kernel fault) or of a release is reported, and the rest
// is released regardless. Close is idempotent.
func (d *Device) Close() error {
	d.life.Lock()
	defer d.life.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	add := func(op string, err error) {
		if err != nil {
			errs = append(errs, wrapErr(op, err))
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	add("close", d.do(func() error {
		add("close: synchronize", cu.Synchronize())
		for e := range d.events {
			e.live.Store(false)
			add("close: destroy event", cu.DestroyEvent(&e.ev))
		}
		for s := range d.streams {
			s.live.Store(false)
			add("close: destroy stream", s.st.Destroy())
		}
		for m := range d.modules {
			m.markClosed()
			add("close: unload module "+m.name, m.unload(false))
		}
		for b := range d.dbufs {
			b.live.Store(false)
			add("close: free device memory", cu.MemFree(b.ptr))
		}
		for h := range d.hbufs {
			add("close: free host memory", h.release())
		}
		return nil
	}))
	clear(d.events)
	clear(d.streams)
	clear(d.modules)
	clear(d.dbufs)
	clear(d.hbufs)
	destroyed.Store(d.ctx, struct{}{})
	ctx := d.ctx
	add("close: destroy context", ctx.Destroy())
	openDevices.Delete(d)
	return joinErrs("close", errs)
}

// track and untrack add and remove live objects in d's sets.
func track[T comparable](d *Device, set map[T]struct{}, x T) {
	d.mu.Lock()
	set[x] = struct{}{}
	d.mu.Unlock()
}

func untrack[T comparable](d *Device, set map[T]struct{}, x T) {
	d.mu.Lock()
	delete(set, x)
	d.mu.Unlock()
}
