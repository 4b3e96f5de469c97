package gpu

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gpubuf/gpubuf/internal/ptx"
)

// Backend names.
const (
	BackendEmu  = "emu"  // the PTX emulator, gpubuf/cpuemu: always there
	BackendCUDA = "cuda" // NVIDIA GPUs through the CUDA driver API (build tag cuda)
)

// EnvBackend is the environment variable that forces a backend: "emu" or
// "cuda". Options.Backend, when set, wins over it.
const EnvBackend = "GPUBUF_BACKEND"

// Options choose and configure the device Open returns.
type Options struct {
	// Backend is "emu", "cuda", or "" for the environment's GPUBUF_BACKEND,
	// and failing that the best backend this binary has: cuda when it was
	// built with the tag, else emu. A backend that was asked for and cannot
	// be had is an error that says why; nothing falls back silently.
	Backend string
	// Ordinal is the GPU to open (cuda), from 0. The emulator opens a new,
	// independent device for any ordinal, so that code that spreads work
	// over devices 0..N-1 runs on N emulated devices.
	Ordinal int
	// Emu configures the emulator backend; other backends ignore it.
	Emu EmuOptions
}

// EmuOptions are the emulator's launch settings (see package cpuemu).
type EmuOptions struct {
	Scheduler string // "lockstep" (default), "roundrobin", "random" or "adversarial"
	Seed      uint64 // for the random scheduler
	Check     bool   // run every launch under the race and sync checker
	// MemoryLimit is the emulated device's memory in bytes, which its
	// device and host buffers share (Info.TotalMemory); 0 means
	// cpuemu.DefaultMemoryLimit.
	MemoryLimit int64
	// Timeout bounds each launch's wall-clock time (cpuemu's
	// LaunchConfig.Timeout); 0 means none. A launch past it fails with a
	// *cpuemu.TimeoutError inside the stream's *Error.
	Timeout time.Duration
	// MaxInstructions bounds each launch's lane-instructions (cpuemu's
	// LaunchConfig.MaxInstructions), the limit that, unlike Timeout,
	// stops a kernel at the same point on every machine; 0 means
	// cpuemu.DefaultMaxInstructions. A launch past it fails with a
	// *cpuemu.LimitError inside the stream's *Error.
	MaxInstructions int64
	// Stdout receives what each launch's printf (and a failed assert)
	// writes, once per launch when it ends, from the stream's goroutine;
	// nil discards it, so a library never writes to the process's
	// standard output unasked. One device's launches never write at
	// once; a writer shared by several devices must be safe for
	// concurrent use. (On the CUDA backend the driver prints a kernel's
	// printf to the process's standard output at synchronisation
	// points, as CUDA programs do; this field does not apply there.)
	Stdout io.Writer
	// PrintfBytes is each launch's printf buffer (cpuemu's
	// LaunchConfig.PrintfBytes): 0 means CUDA's 1 MiB.
	PrintfBytes int
	// Workers is how many goroutines run each launch's blocks (cpuemu's
	// LaunchConfig.Workers): 0 means GOMAXPROCS. Only lockstep launches
	// without the checker or printf run blocks in parallel.
	Workers int
	// MaxRegisters bounds the PTX virtual registers of a kernel with the
	// functions it calls, as each module loads (cpuemu's
	// LoadLimits.Registers): 0 means cpuemu.DefaultMaxRegisters, at most
	// cpuemu.MaxRegisters.
	MaxRegisters int
}

// Driver is a backend. Backends register themselves from an init function,
// as database/sql drivers do.
type Driver interface {
	// Open opens the device opts names.
	Open(opts Options) (Device, error)
}

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// Register makes a backend available under name. It panics when name is
// taken, as database/sql.Register does: that is a programming error.
func Register(name string, d Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if d == nil {
		panic("gpu: Register of a nil driver")
	}
	if _, dup := drivers[name]; dup {
		panic("gpu: Register called twice for backend " + name)
	}
	drivers[name] = d
}

// Backends lists the registered backends, sorted.
func Backends() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open returns a device of the backend opts (or GPUBUF_BACKEND) names, or
// the best one this binary has.
func Open(opts Options) (Device, error) {
	name := opts.Backend
	source := "Options.Backend"
	if name == "" {
		name, source = os.Getenv(EnvBackend), EnvBackend
	}
	driversMu.RLock()
	d, ok := drivers[name]
	_, haveCUDA := drivers[BackendCUDA]
	driversMu.RUnlock()
	switch {
	case name == "":
		name = BackendEmu
		if haveCUDA {
			name = BackendCUDA
		}
		driversMu.RLock()
		d, ok = drivers[name]
		driversMu.RUnlock()
		if !ok {
			return nil, &Error{Backend: name, Op: "open", Msg: "no backend is registered: import gpubuf/gpu/emu (or gpu/cuda, with -tags cuda)"}
		}
	case !ok:
		why := fmt.Sprintf("backend %q (from %s) is not in this binary; it has %s", name, source, strings.Join(Backends(), ", "))
		if name == BackendCUDA {
			why += "; build with -tags cuda for NVIDIA GPUs"
		}
		return nil, &Error{Backend: name, Op: "open", Msg: why}
	}
	return d.Open(opts)
}

// Info describes a device.
type Info struct {
	Name              string
	Backend           string
	ComputeCapability [2]int // major, minor
	TotalMemory       int64  // bytes
	SMCount           int
	WarpSize          int
	// Driver is the backend's version text: the CUDA driver version, or
	// the emulator's.
	Driver string
}

// SM is the compute capability as a PTX target number, 10*major+minor:
// the device runs PTX whose .target is sm_N for every N up to SM.
func (i Info) SM() int { return 10*i.ComputeCapability[0] + i.ComputeCapability[1] }

func (i Info) String() string {
	return fmt.Sprintf("%s (%s backend, compute capability %d.%d, %d SMs, warp %d, %.1f GiB)",
		i.Name, i.Backend, i.ComputeCapability[0], i.ComputeCapability[1], i.SMCount, i.WarpSize, float64(i.TotalMemory)/(1<<30))
}

// Device is one GPU, or the emulator. Its methods are safe for concurrent
// use. Close waits for the work of every stream to finish, then frees
// everything the device made; calls after Close return ErrClosed. Close is
// idempotent.
type Device interface {
	Info() Info
	// LoadModule loads PTX text. name labels errors.
	LoadModule(name string, ptx []byte) (Module, error)
	// Alloc allocates n bytes of device memory, zeroed.
	Alloc(n int) (DeviceBuffer, error)
	// AllocHost allocates n bytes of host memory for transfers: page-locked
	// on a GPU (portable, and mapped into the device's address space
	// when flags ask and the device can), ordinary Go memory on the
	// emulator.
	AllocHost(n int, flags HostFlags) (HostBuffer, error)
	// NewStream makes a stream: a FIFO of copies, launches and event
	// operations that runs asynchronously to the caller.
	NewStream() (Stream, error)
	// NewEvent makes an event, for ordering streams and timing them.
	NewEvent() (Event, error)
	// Synchronize waits for the work of every stream.
	Synchronize() error
	Close() error
}

// HostFlags select what AllocHost gives.
type HostFlags uint

const (
	// HostMapped maps the buffer into the device's address space, for
	// kernels that read it directly (zero-copy). HostBuffer.Mapped says
	// whether it happened.
	HostMapped HostFlags = 1 << iota
	// HostWriteCombined makes the buffer write-combined: fast for the host
	// to write and the device to read, very slow for the host to read.
	// Only on request.
	HostWriteCombined
)

// Module is loaded PTX. Its kernels keep it alive: Close frees it when no
// kernel of it is in use any more (a pending launch included).
type Module interface {
	Name() string
	// Kernel looks up an entry; the error lists the module's entries.
	Kernel(name string) (Kernel, error)
	Kernels() []string // entry names, sorted
	// Global gives the module's variable name, a .global or .const
	// variable of its PTX (a __device__ or __constant__ variable of its
	// CUDA source: the PTX name, mangled where C++ mangles it), as a
	// DeviceBuffer of the variable's size at its device address
	// (cuModuleGetGlobal). Copy to and from it, synchronously or on a
	// stream, to set and read the variable between launches, as
	// cudaMemcpyToSymbol and cudaMemcpyFromSymbol do; pass it to a
	// kernel for the variable's address. The host may write a __constant__
	// variable; kernels only read it.
	//
	// One name gives one buffer, however often it is asked for, owned by
	// the module with the variable's memory: the buffer's Free refuses,
	// and once the module is closed every use of the buffer is an error
	// wrapping ErrClosed. A name that is not such a variable of the
	// module is an error that lists the ones it has.
	Global(name string) (DeviceBuffer, error)
	Close() error
}

// Kernel is an entry point of a module.
type Kernel interface {
	Name() string
	Params() []Param
	Module() Module
	// MaxCooperativeBlocks is the most blocks a cooperative launch of
	// the kernel may have with blocks of that shape and sharedBytes of
	// dynamic shared memory each: the blocks one SM holds at once
	// (cuOccupancyMaxActiveBlocksPerMultiprocessor) times the device's
	// SMs; 0 when the device cannot launch cooperatively. On the
	// emulator, the SMs and their size are cpuemu's (DeviceSMs, ...).
	MaxCooperativeBlocks(block Dim3, sharedBytes int) (int, error)
}

// Param is one .param of a kernel entry, laid out as the driver lays out
// the parameter buffer: Index, Name, Type (the PTX type: u64, u32, f32,
// b8 for byte arrays, ...), Size and Align in bytes, and Offset.
type Param = ptx.Param

// DeviceBuffer is device memory.
type DeviceBuffer interface {
	Size() int
	// Ptr is the device address: what a kernel's pointer parameter gets.
	Ptr() uint64
	// CopyFromHost and CopyToHost copy synchronously between the buffer
	// at off and ordinary Go memory; they wait for nothing else.
	CopyFromHost(off int, src []byte) error
	CopyToHost(dst []byte, off int) error
	// Memset sets n bytes at off to b, synchronously.
	Memset(off, n int, b byte) error
	Free() error
}

// HostBuffer is host memory for transfers (see Device.AllocHost).
type HostBuffer interface {
	// Bytes is the memory. It must not be used after Free, and must not
	// be written while a copy or a kernel that reads it is in flight.
	Bytes() []byte
	Size() int
	// Mapped reports whether kernels can read it directly; DevicePtr is
	// then its device address, else 0.
	Mapped() bool
	DevicePtr() uint64
	PageLocked() bool
	Free() error
}

// Stream is a FIFO of asynchronous operations. Errors in a call (bad
// arguments, a closed stream) come back at once. Errors of the work itself
// (a kernel fault, say) come back from Synchronize, and from Query or
// Synchronize of an event recorded after the failed work; the stream then
// skips its later work. (On CUDA such an error also poisons the context:
// every later call of the device fails with it.)
type Stream interface {
	// CopyHtoD copies n bytes from src at srcOff to dst at dstOff.
	CopyHtoD(dst DeviceBuffer, dstOff int, src HostBuffer, srcOff, n int) error
	// CopyDtoH copies n bytes from src at srcOff to dst at dstOff.
	CopyDtoH(dst HostBuffer, dstOff int, src DeviceBuffer, srcOff, n int) error
	// Memset sets n bytes of dst at off to b.
	Memset(dst DeviceBuffer, off, n int, b byte) error
	// Launch queues kernel k. The arguments are checked against its
	// .param list (count, size, kind) before anything is queued:
	// DeviceBuffer and mapped HostBuffer for pointers; int8 to uint64,
	// float32 and float64 for scalars (not Go's int, uint or uintptr,
	// which have no fixed size);
	// []byte of a by-value parameter's size. CheckArgs says more.
	Launch(k Kernel, cfg LaunchConfig, args ...any) error
	// Record records e: it completes when the work queued before it has.
	Record(e Event) error
	// Wait makes the work queued after it wait for e.
	Wait(e Event) error
	// Synchronize waits for the work queued so far.
	Synchronize() error
	Close() error
}

// Event marks a point in a stream.
type Event interface {
	// Query reports whether the work before the event's last Record has
	// completed (true for an event never recorded).
	Query() (bool, error)
	Synchronize() error
	// Elapsed is the time from start's completion to this event's. Both
	// must have been recorded and completed.
	Elapsed(start Event) (time.Duration, error)
	Close() error
}

// Dim3 is a grid or block shape.
type Dim3 struct{ X, Y, Z uint32 }

// D1 is a 1-D shape.
func D1(x uint32) Dim3 { return Dim3{x, 1, 1} }

func (d Dim3) String() string { return fmt.Sprintf("(%d,%d,%d)", d.X, d.Y, d.Z) }

// Count is X*Y*Z.
func (d Dim3) Count() int64 { return int64(d.X) * int64(d.Y) * int64(d.Z) }

// LaunchConfig is the shape of a launch.
type LaunchConfig struct {
	Grid, Block Dim3
	SharedBytes int // dynamic shared memory per block
	// Cooperative launches the grid cooperatively
	// (cuLaunchCooperativeKernel): all its blocks are resident at once,
	// so they may wait for each other at a grid-wide barrier
	// (cooperative_groups::this_grid().sync()), which traps in any other
	// launch. The grid may have at most Kernel.MaxCooperativeBlocks
	// blocks; a larger one is refused (CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE).
	Cooperative bool
}

// ErrClosed is returned by calls on a closed device, module, stream,
// event or buffer.
var ErrClosed = errors.New("gpu: use after close")

// Error is a failed call: the backend, the operation, and the driver's
// error name and text (CUDA_ERROR_OUT_OF_MEMORY, "out of memory") or the
// emulator's typed error in Err.
type Error struct {
	Backend string
	Op      string // "alloc", "launch lane_handoff", "copy HtoD", ...
	Code    string // the driver's error name, "" for the emulator
	Msg     string
	Err     error // the underlying error, if any (cpuemu's typed errors)
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gpu %s: %s", e.Backend, e.Op)
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Msg != "" {
		fmt.Fprintf(&b, ": %s", e.Msg)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// NewEventNoTiming makes an event that only orders work, never timed:
// the device's own untimed event where it has one (a CUDA event with
// CU_EVENT_DISABLE_TIMING, an emulated event that skips the clock), else
// an ordinary one. Elapsed may refuse such an event.
func NewEventNoTiming(d Device) (Event, error) {
	if nt, ok := d.(interface{ NewEventNoTiming() (Event, error) }); ok {
		return nt.NewEventNoTiming()
	}
	return d.NewEvent()
}
