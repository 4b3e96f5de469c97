package emu

import (
	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
)

// LaunchOptions are what one launch on the emulator may ask beyond
// gpu.LaunchConfig and the device's gpu.EmuOptions: what only an emulator
// can give, and so what package gpu does not name.
type LaunchOptions struct {
	// Trace records every lane's instructions into the Result, keeping at
	// most TraceLimit events (0: cpuemu.DefaultTraceLimit; more than
	// cpuemu.MaxTraceLimit is an error of the Launch call), as cpuemu's
	// LaunchConfig.Trace does.
	Trace      bool
	TraceLimit int
	// Result, when not nil, is given the launch's cpuemu.Result once it
	// has run: its threads, lane- and warp-instructions, diagnostics,
	// the checker's report (gpu.EmuOptions.Check) and the trace. A launch
	// that fails gives what it had done by then, as cpuemu's Launch does,
	// or nil when it never started. It is called on the stream's
	// goroutine before the work queued after the launch runs, so it has
	// been called when the stream's Synchronize returns; a launch skipped
	// because earlier work of its stream failed never calls it.
	Result func(*cpuemu.Result)
}

// Launcher is implemented by the emulator's streams: Launch with the
// launch's LaunchOptions. Find it with a type assertion on a gpu.Stream of
// a device whose Info().Backend is gpu.BackendEmu.
type Launcher interface {
	LaunchWith(k gpu.Kernel, cfg gpu.LaunchConfig, opts LaunchOptions, args ...any) error
}

var _ Launcher = (*stream)(nil)
