// Package emu is the emulator backend of package gpu: every gpu interface
// over gpubuf's PTX emulator, package cpuemu. It registers itself as
// gpu.BackendEmu ("emu") when imported:
//
//	import _ "github.com/gpubuf/gpubuf/gpu/emu"
//	dev, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu})
//
// or opens a device directly with Open.
//
// Each device is one cpuemu.Device, whose memory is an arena of checked
// allocations; it runs one launch at a time, one block after another (a
// cooperative launch: every block at once, taking turns), with the
// scheduler, seed, checker and timeout that gpu.EmuOptions name, and
// writes what its kernels printf to gpu.EmuOptions.Stdout (nowhere when
// it is nil), once per launch, when the launch ends. Device memory
// and host memory, mapped or not, count against cpuemu.DefaultMemoryLimit.
//
// Streams are ordered queues, each served by its own goroutine: copies,
// memsets, launches, event records and waits return as soon as their
// arguments are checked, and run in order later. A copy, a memset, an
// event record, or a wait for a record that has completed, queued on a
// stream with nothing queued or running, would run next anyway: it runs
// at once, on the caller's goroutine, and has completed when the call
// returns (a goroutine handoff costs more than such a task). Launches
// always run on the stream's goroutine, so queuing one never waits for
// the kernel. The first error of a
// stream's work (a fault, a deadlock, a non-clean checker report) is sticky:
// Synchronize returns it, so do Query and Synchronize of every event
// recorded on the stream after it, and the stream skips the work queued
// behind it. A stream that waits on an event recorded after a failure takes
// on that failure too, so work ordered after failed work does not run as if
// it had succeeded. Work errors are never returned by the calls that queue
// work, only call errors are (bad arguments, closed objects).
//
// Host memory allocated with gpu.HostMapped is device memory of the
// emulator exposed as a Go slice (cpuemu.Device.View): kernels read and
// write it directly, zero-copy. Without the flag a host buffer is an
// ordinary Go slice, whose size the device reserves against its memory
// limit all the same. Nothing is page-locked.
//
// Closing waits, it does not cancel: Device.Close and Stream.Close wait for
// the work already queued; DeviceBuffer.Free and HostBuffer.Free wait for
// the queued work that uses the buffer; Module.Close lets the queued
// launches of its kernels finish and frees the module after the last one.
//
// Every error is a *gpu.Error with Backend "emu", whose Err is the
// emulator's typed error where there is one (errors.As reaches
// *cpuemu.FaultError, *cpuemu.AssertError, *cpuemu.DeadlockError,
// *cpuemu.CheckError, *cpuemu.DeviceMemoryError, ...) or gpu.ErrClosed for a
// use after close.
package emu

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
)

func init() { gpu.Register(gpu.BackendEmu, driver{}) }

type driver struct{}

func (driver) Open(opts gpu.Options) (gpu.Device, error) { return Open(opts) }

// ComputeCapability is what the emulated device reports: 9.0, Hopper,
// whose size it has (cpuemu.DeviceSMs) and whose PTX it runs: the sm_80
// and sm_90 forms (cp.async, mbarrier, cp.async.bulk, elect.sync) load,
// each checked against its module's own .target, so the sm_80 kernels
// are never skipped on the emulator as they are on a Volta.
var ComputeCapability = [2]int{9, 0}

// deviceName is the device name Info reports.
const deviceName = "gpubuf PTX emulator"

// Open opens a new emulated device configured by opts.Emu; the other
// fields of opts are ignored but a negative Ordinal. Every device has its
// own memory: opening ordinals 0..N-1 gives N independent devices.
func Open(opts gpu.Options) (gpu.Device, error) {
	if opts.Ordinal < 0 {
		return nil, msgErr("open", "device ordinal %d: must not be negative", opts.Ordinal)
	}
	sched := cpuemu.Lockstep
	if opts.Emu.Scheduler != "" {
		s, err := cpuemu.ParseScheduler(opts.Emu.Scheduler)
		if err != nil {
			return nil, opErr("open", err)
		}
		sched = s
	}
	limit := opts.Emu.MemoryLimit
	switch {
	case limit == 0:
		limit = cpuemu.DefaultMemoryLimit
	case limit < 0:
		return nil, msgErr("open", "memory limit %d: must not be negative", limit)
	}
	if opts.Emu.Timeout < 0 {
		return nil, msgErr("open", "timeout %v: must not be negative", opts.Emu.Timeout)
	}
	if opts.Emu.MaxInstructions < 0 {
		return nil, msgErr("open", "instruction limit %d: must not be negative", opts.Emu.MaxInstructions)
	}
	if n := opts.Emu.PrintfBytes; n < 0 || n > cpuemu.MaxPrintfBytes {
		return nil, msgErr("open", "printf buffer of %d bytes: want 0 (CUDA's 1 MiB) to %d", n, cpuemu.MaxPrintfBytes)
	}
	if n := opts.Emu.Workers; n < 0 || n > cpuemu.MaxWorkers {
		return nil, msgErr("open", "%d workers: want 0 (GOMAXPROCS) to %d", n, cpuemu.MaxWorkers)
	}
	if n := opts.Emu.MaxRegisters; n < 0 || n > cpuemu.MaxRegisters {
		return nil, msgErr("open", "%d registers: want 0 (the default, %d) to %d", n, cpuemu.DefaultMaxRegisters, cpuemu.MaxRegisters)
	}
	mem := cpuemu.NewDevice()
	mem.SetMemoryLimit(limit)
	d := &device{
		mem:     mem,
		sched:   sched,
		seed:    opts.Emu.Seed,
		check:   opts.Emu.Check,
		timeout: opts.Emu.Timeout,
		instr:   opts.Emu.MaxInstructions,
		stdout:  opts.Emu.Stdout,
		printf:  opts.Emu.PrintfBytes,
		workers: opts.Emu.Workers,
		regs:    opts.Emu.MaxRegisters,
		info: gpu.Info{
			Name:              deviceName,
			Backend:           gpu.BackendEmu,
			ComputeCapability: ComputeCapability,
			TotalMemory:       limit,
			SMCount:           cpuemu.DeviceSMs, // what %nsmid reads and cooperative grids are sized by
			WarpSize:          32,
			Driver:            "cpuemu (" + sched.String() + ")",
		},
		streams: map[*stream]struct{}{},
		bufs:    map[*deviceBuffer]struct{}{},
		hosts:   map[*hostBuffer]struct{}{},
		mods:    map[*module]struct{}{},
	}
	return d, nil
}

type device struct {
	mem     *cpuemu.Device
	info    gpu.Info
	sched   cpuemu.Scheduler
	seed    uint64
	check   bool
	timeout time.Duration
	instr   int64     // lane-instructions per launch (gpu.EmuOptions.MaxInstructions)
	stdout  io.Writer // printf's text (gpu.EmuOptions.Stdout)
	printf  int       // printf buffer bytes
	workers int       // goroutines per launch (cpuemu.LaunchConfig.Workers)
	regs    int       // cpuemu.LoadLimits.Registers of each module; 0 the default
	// exec keeps work run in place off running kernels: a launch holds it
	// for writing while it runs (cpuemu's memory is then locked for its
	// whole run), and a copy or memset run in place on its caller's
	// goroutine holds it for reading, taken only if it can be had at once
	// (TryRLock), so that a caller never waits for a kernel of another
	// stream; it queues the work on its stream instead.
	exec sync.RWMutex

	mu sync.Mutex // guards what follows; closed is also read without it
	// closed is set once, under mu; isClosed reads it without the lock,
	// which every event record and query asks.
	closed  atomic.Bool
	streams map[*stream]struct{}
	bufs    map[*deviceBuffer]struct{}
	hosts   map[*hostBuffer]struct{}
	mods    map[*module]struct{}
}

func (d *device) Info() gpu.Info { return d.info }

func (d *device) isClosed() bool { return d.closed.Load() }

// register adds x to one of the device's sets unless the device is closed.
// register adds x to one of d's sets. The set is passed by address and
// read under d.mu, because Close replaces d's sets.
func register[T comparable](d *device, set *map[T]struct{}, x T, op string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() {
		return closedErr(op, "device is closed")
	}
	(*set)[x] = struct{}{}
	return nil
}

func unregister[T comparable](d *device, set *map[T]struct{}, x T) {
	d.mu.Lock()
	delete(*set, x)
	d.mu.Unlock()
}

func (d *device) LoadModule(name string, ptx []byte) (gpu.Module, error) {
	op := "load module " + name
	if d.isClosed() {
		return nil, closedErr(op, "device is closed")
	}
	cm, err := cpuemu.LoadWithLimits(name, ptx, cpuemu.LoadLimits{Registers: d.regs})
	if err != nil {
		return nil, opErr(op, err)
	}
	m := newModule(d, cm)
	if err := register(d, &d.mods, m, op); err != nil {
		return nil, err
	}
	return m, nil
}

func (d *device) NewStream() (gpu.Stream, error) {
	s := newStream(d)
	if err := register(d, &d.streams, s, "new stream"); err != nil {
		s.shutdown()
		return nil, err
	}
	return s, nil
}

func (d *device) NewEvent() (gpu.Event, error) {
	if d.isClosed() {
		return nil, closedErr("new event", "device is closed")
	}
	return &event{d: d, timed: true}, nil
}

// NewEventNoTiming makes an event whose records carry no time, as CUDA's
// CU_EVENT_DISABLE_TIMING makes one: Elapsed refuses it, and recording it
// reads no clock. It is not part of gpu.Device: gpu.NewEventNoTiming finds
// it for a caller that only orders and waits with its events (host's ring).
func (d *device) NewEventNoTiming() (gpu.Event, error) {
	if d.isClosed() {
		return nil, closedErr("new event", "device is closed")
	}
	return &event{d: d}, nil
}

// Synchronize waits for the work queued so far on every stream and returns
// the first stream's sticky error, if any.
func (d *device) Synchronize() error {
	d.mu.Lock()
	if d.closed.Load() {
		d.mu.Unlock()
		return closedErr("synchronize", "device is closed")
	}
	streams := make([]*stream, 0, len(d.streams))
	for s := range d.streams {
		streams = append(streams, s)
	}
	d.mu.Unlock()
	var first error
	for _, s := range streams {
		if err := s.sync(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close waits for the work queued on every stream to finish (it does not
// cancel it), ends the streams, frees every buffer and module, and makes
// every later call on the device or anything it made return an error
// wrapping gpu.ErrClosed. Frees still succeed, doing nothing. Close is
// idempotent.
func (d *device) Close() error {
	d.mu.Lock()
	if d.closed.Load() {
		d.mu.Unlock()
		return nil
	}
	d.closed.Store(true)
	streams, bufs, hosts, mods := d.streams, d.bufs, d.hosts, d.mods
	d.streams, d.bufs, d.hosts, d.mods = map[*stream]struct{}{}, map[*deviceBuffer]struct{}{}, map[*hostBuffer]struct{}{}, map[*module]struct{}{}
	d.mu.Unlock()
	var errs []error
	for s := range streams {
		s.shutdown()
	}
	for b := range bufs {
		errs = append(errs, b.Free())
	}
	for h := range hosts {
		errs = append(errs, h.Free())
	}
	for m := range mods {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}
