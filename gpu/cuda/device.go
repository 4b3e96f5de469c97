//go:build cuda

package cuda

import (
	"fmt"
	"runtime"
	"slices"
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
// itself to its OS thread for the length of the call, pushes the device's
// context on the thread's stack of current contexts (cuCtxPushCurrent),
// makes its driver calls, and pops the context again (cuCtxPopCurrent,
// deferred, so that a panic pops it too): two cgo calls per call, and the
// thread is left with whatever was current before, another Device's
// context, another library's, or none. The driver API is thread-safe, so
// goroutines launch into their own streams in parallel instead of
// queueing. cuda_bench_test.go compares the cost of a launch both ways.
//
// Leaving the context current where a call ran, as this package once did
// to save the push and the pop, is wrong: cuCtxDestroy pops a context only
// from the thread that destroys it, every other thread keeps a destroyed
// context current (CUDA_ERROR_CONTEXT_IS_DESTROYED for the next call that
// uses it), and a later context may get the same handle back, so no test
// of the handle can tell the live one from the dead. Since the context is
// current nowhere between calls, Close destroys a context no thread holds.
//
// The other way out of the channel cost, one goroutine that owns the
// context and takes work in batches, would still pay a round trip per
// batch and serialise every stream behind it, and the gpu API has no
// batches to give it: each Launch or copy is a call of its own.
//
// # Contexts and compute modes
//
// A Device has a context of its own (cuCtxCreate), so that two Devices,
// even on one GPU, share no work, error or synchronisation, as two
// emulated devices share none. A GPU in exclusive-process compute mode
// (CU_COMPUTEMODE_EXCLUSIVE_PROCESS, common on cloud nodes) allows one
// context per process, so there every Device on it works in the GPU's
// primary context (cuDevicePrimaryCtxRetain), which the CUDA runtime uses
// too: Devices and runtime libraries in one process then share it, a
// kernel fault in one's work poisons it for all, and Synchronize and
// Close wait for everyone's work. Close releases it
// (cuDevicePrimaryCtxRelease), and the driver destroys it after the last
// release. Another process holding the GPU, or a context of another
// library's in this process, still makes Open fail, with an error that
// names the mode; go test must then run one test binary at a time (-p 1),
// as test.sh does. A GPU in compute-prohibited mode cannot be opened.
//
// Waits block: the context is made with CU_CTX_SCHED_BLOCKING_SYNC, and
// events with CU_EVENT_BLOCKING_SYNC, so that a goroutine waiting for the
// GPU sleeps instead of spinning a core that producers need (the default,
// CU_CTX_SCHED_AUTO, spins whenever the process has no more contexts than
// the machine has cores). A primary context already active when the
// device opens keeps the flags its first user gave it.
//
// # Lifetimes
//
// Every call holds a read lock on the device for its length, and Close
// takes the write lock: Close waits for the calls in progress, and the
// context is never destroyed under a call. Buffers, streams, events and
// modules are each freed once, by their Free or Close or else by the
// device's Close; a second Free or Close does nothing, and any other use
// after that is an error wrapping gpu.ErrClosed. Host memory from
// AllocHost is the context's, and dies with it: Close refuses, with an
// error wrapping ErrHostMemoryInUse, while such a buffer whose Bytes were
// taken is not freed (see Close).
type Device struct {
	ordinal int
	dev     cu.Device
	ctx     cu.CUContext
	kind    contextKind // ownContext or primaryContext
	mode    int         // CU_DEVICE_ATTRIBUTE_COMPUTE_MODE at open
	info    gpu.Info
	canMap  bool // CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY
	coop    bool // CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH
	// maxSharedOptin is the most shared memory (static and dynamic) a
	// block can have when its kernel opts in
	// (CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, or
	// MAX_SHARED_MEMORY_PER_BLOCK where that is more).
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

// openDevices holds every device until its Close, so that a device the
// program drops without closing it stays reachable with everything it
// holds, as its context stays alive in the driver: in particular the
// runtime.Pinner of registered host memory, which the runtime reports as
// a leak (a panic) when it is collected with pointers still pinned.
var openDevices sync.Map // *Device -> struct{}

func open(ordinal int) (*Device, error) {
	return openIn(ordinal, modeContext)
}

// modeContext asks openIn for the context the GPU's compute mode calls
// for (contextFor).
const modeContext contextKind = -1

// openIn opens GPU ordinal in a context of the kind given, or of the kind
// its compute mode calls for (modeContext). Tests choose the kind, since
// they cannot change a GPU's mode.
func openIn(ordinal int, kind contextKind) (*Device, error) {
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
	var sharedPerBlock int
	attrs := []struct {
		a    cu.DeviceAttribute
		what string
		v    *int
	}{
		{cu.ComputeMode, "compute mode", &d.mode},
		{cu.ComputeCapabilityMajor, "compute capability", &d.info.ComputeCapability[0]},
		{cu.ComputeCapabilityMinor, "compute capability", &d.info.ComputeCapability[1]},
		{cu.MultiprocessorCount, "SM count", &d.info.SMCount},
		{cu.WarpSize, "warp size", &d.info.WarpSize},
		{cu.MaxSharedMemoryPerBlock, "shared memory per block", &sharedPerBlock},
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
	d.maxSharedOptin = max(d.maxSharedOptin, sharedPerBlock)
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
	if kind == modeContext {
		if kind, err = contextFor(ordinal, d.mode); err != nil {
			return nil, &gpu.Error{Backend: backend, Op: op2, Msg: err.Error()}
		}
	}
	d.kind = kind
	if err := d.makeContext(); err != nil {
		e := wrapErr(op2, err)
		if d.mode != computeModeDefault {
			e.Msg += fmt.Sprintf(" (the GPU is in %s", computeModeName(d.mode))
			if d.mode == computeModeExclusiveProcess {
				e.Msg += ", which allows one context on it, of one process: another process, or a context of another library's in this one, holds it"
			}
			e.Msg += ")"
		}
		return nil, e
	}
	d.info.Driver = d.driverText()
	openDevices.Store(d, struct{}{})
	return d, nil
}

// makeContext makes or retains the device's context, by its kind.
func (d *Device) makeContext() error {
	if d.kind == primaryContext {
		// Its flags are chosen only while nobody uses it; once active, it
		// keeps those its first user gave it. A driver may refuse with
		// CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE when another thread activated
		// it in between: then too its flags stand.
		_, active, err := d.dev.PrimaryCtxState()
		if err != nil {
			return wrapErr("primary context state", err)
		}
		if active == 0 {
			if err := d.dev.SetPrimaryCtxFlags(cu.SchedBlockingSync); err != nil && !isResult(err, cu.PrimaryContextActive) {
				return wrapErr("set the primary context's flags", err)
			}
		}
		ctx, err := d.dev.RetainPrimaryCtx()
		if err != nil {
			return wrapErr("retain the primary context", err)
		}
		d.ctx = ctx
		return nil
	}
	// cuCtxCreate makes the new context current to the calling thread,
	// pushed over whatever was current there; pop it again, so that the
	// thread is left as it was (do pushes the context for each call).
	// MapHost lets page-locked host memory be mapped into the device
	// (HostMapped).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ctx, err := d.dev.MakeContext(cu.SchedBlockingSync | cu.MapHost)
	if err != nil {
		return wrapErr("create context", err)
	}
	if _, err := cu.PopCurrentCtx(); err != nil {
		e := wrapErr("create context", err)
		ctx.Destroy()
		return e
	}
	d.ctx = ctx
	return nil
}

// driverText is Info.Driver: the driver's version, the version of the
// cuda.h the build took, and the primary context where the device works
// in it.
func (d *Device) driverText() string {
	s := "CUDA driver (version unknown)"
	if v := cu.Version(); v > 0 {
		s = fmt.Sprintf("CUDA driver %d.%d", v/1000, v%1000/10)
	}
	s += fmt.Sprintf(", built with cuda.h %d.%d", headerVersion/1000, headerVersion%1000/10)
	if d.kind == primaryContext {
		s += fmt.Sprintf(", in the GPU's primary context (%s)", computeModeName(d.mode))
	}
	return s
}

// do runs f, a sequence of driver calls, with the device's context pushed
// on the OS thread that runs it, and pops it again, also when f panics:
// see Device's comment on threading. An error of the pop is reported when
// f had none.
func (d *Device) do(f func() error) (err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.PushCurrentCtx(d.ctx); err != nil {
		return wrapErr("push context", err)
	}
	defer func() {
		if _, perr := cu.PopCurrentCtx(); perr != nil && err == nil {
			err = wrapErr("pop context", perr)
		}
	}()
	return f()
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
// host memory that were not freed, and destroys the context (or releases
// the primary context). It first waits for the device's calls in progress
// on other goroutines. An error of the work (a kernel fault) or of a
// release is reported, and the rest is released regardless. Close is
// idempotent.
//
// Host memory from AllocHost belongs to the context and is unmapped with
// it, unlike the emulator's, which is Go memory: a slice from its Bytes
// would then fault. So while a buffer from AllocHost whose Bytes were
// taken is not freed, Close refuses: it returns an error wrapping
// ErrHostMemoryInUse that lists the buffers, and leaves the device open
// and working. Free such buffers first: close a host.Ring or
// host.Pipeline before its device. Buffers whose Bytes were never taken,
// and registered memory (RegisterHost), which is the caller's, do not
// hold Close up.
func (d *Device) Close() error {
	d.life.Lock()
	defer d.life.Unlock()
	if d.closed {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.retireHostBuffers(); err != nil {
		return err
	}
	d.closed = true
	var errs []error
	add := func(op string, err error) {
		if err != nil {
			errs = append(errs, wrapErr(op, err))
		}
	}
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
			add("close: free host memory", h.releaseMem())
		}
		return nil
	}))
	clear(d.events)
	clear(d.streams)
	clear(d.modules)
	clear(d.dbufs)
	clear(d.hbufs)
	switch d.kind {
	case primaryContext:
		add("close: release the primary context", d.dev.ReleasePrimaryCtx())
	default:
		ctx := d.ctx
		add("close: destroy context", ctx.Destroy())
	}
	openDevices.Delete(d)
	return joinErrs("close", errs)
}

// retireHostBuffers marks every host buffer of the device gone, so that
// Bytes gives nil from now on, or, when one from AllocHost has given its
// memory out, marks none and refuses with ErrHostMemoryInUse. Each
// buffer's lock is held from the check to the mark, so that no Bytes
// slips in between. d.mu is held.
func (d *Device) retireHostBuffers() error {
	held := make([]*HostBuffer, 0, len(d.hbufs))
	for h := range d.hbufs {
		h.mu.Lock()
		held = append(held, h)
	}
	var lent []int
	for _, h := range held {
		if h.lent.Load() {
			lent = append(lent, h.size)
		}
	}
	if len(lent) > 0 {
		for _, h := range held {
			h.mu.Unlock()
		}
		slices.Sort(lent)
		return &gpu.Error{Backend: backend, Op: "close", Msg: lentHostMessage(lent), Err: ErrHostMemoryInUse}
	}
	for _, h := range held {
		h.retireLocked()
		h.mu.Unlock()
	}
	return nil
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
