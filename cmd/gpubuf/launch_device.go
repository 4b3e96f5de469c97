package main

// The steps of a launch through the device API, on the emulator or a GPU
// alike: open the device, load the kernel, make its arguments, launch,
// read the outputs back. launchCmd strings them together; the race
// command's schedule search runs them once a schedule.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/gpu/emu"
	"github.com/gpubuf/gpubuf/kernels"
)

// ptxSource gives the PTX text the command runs: the file, or the
// embedded module that holds --kernel.
func (o *launchOpts) ptxSource() (name string, ptx []byte, err error) {
	if o.file != "" {
		ptx, err = readFileLimit(o.file, maxPTXFileBytes)
		if err != nil {
			err = fmt.Errorf("PTX file: %v", err)
		}
		return o.file, ptx, err
	}
	k, ok := kernels.Lookup(o.kernel)
	if !ok {
		var names []string
		for _, k := range kernels.All() {
			names = append(names, k.Name)
		}
		return "", nil, fmt.Errorf("no embedded kernel %q (there are %s)", o.kernel, strings.Join(names, ", "))
	}
	return k.File, k.PTX(), nil
}

// emuOnly names the flags given that only the emulator can honour.
func (o *launchOpts) emuOnly() []string {
	var flags []string
	if o.sched != cpuemu.Lockstep || o.seed != 0 {
		flags = append(flags, "--scheduler/--seed")
	}
	if o.trace != "" {
		flags = append(flags, "--trace")
	}
	if o.maxInstr != 0 {
		flags = append(flags, "--max-instructions")
	}
	if o.timeoutSet {
		flags = append(flags, "--timeout")
	}
	if o.maxRegs != 0 {
		flags = append(flags, "--max-registers")
	}
	return flags
}

// emuOptions are the emulator's device settings for launches of cfg
// (the command line's, or a schedule's: cpuemu.Schedule.Config), the
// kernel's printf text going to stdout. A GPU ignores them.
func (o *launchOpts) emuOptions(cfg cpuemu.LaunchConfig, stdout io.Writer) gpu.EmuOptions {
	return gpu.EmuOptions{
		Scheduler: cfg.Scheduler.String(), Seed: cfg.Seed, Check: cfg.Check,
		Timeout: cfg.Timeout, MaxInstructions: cfg.MaxInstructions, Workers: cfg.Workers, Stdout: stdout,
		MaxRegisters: o.maxRegs,
	}
}

// launchErr is a device API error as the command words it: on the
// emulator, the emulator's own typed error, which says all there is to
// say (the API's wrapping would add "gpu emu: launch NAME:"); on a GPU
// the API's, with the driver's error name.
func launchErr(err error) error {
	var ge *gpu.Error
	if errors.As(err, &ge) && ge.Backend == gpu.BackendEmu && ge.Err != nil {
		return ge.Err
	}
	return err
}

// launchRun is one launch of the command line on a device.
type launchRun struct {
	o     *launchOpts
	dev   gpu.Device
	emu   bool // the device is the emulator
	entry kernelEntry
	mod   gpu.Module
	k     gpu.Kernel
	args  []any
	bufs  []gpu.DeviceBuffer // each --arg buffer's, nil for a scalar
	syms  map[string]gpu.DeviceBuffer
}

func newLaunchRun(o *launchOpts, dev gpu.Device, entry kernelEntry) *launchRun {
	return &launchRun{o: o, dev: dev, emu: dev.Info().Backend == gpu.BackendEmu, entry: entry}
}

// loadKernel loads the module on the device and finds the kernel. On the
// emulator an entry it cannot run is an error that says why.
func (r *launchRun) loadKernel() error {
	e := r.entry
	mod, err := r.dev.LoadModule(e.file, e.src)
	if err != nil {
		return launchErr(err)
	}
	r.mod = mod
	if r.k, err = mod.Kernel(e.Name); err != nil {
		if r.emu { // worded as cpuemu's Kernel words it
			return fmt.Errorf("load %s: %w (see 'gpubuf kernels %s')", e.file, launchErr(err), e.file)
		}
		return err
	}
	return nil
}

// checkCooperative refuses a cooperative grid the device cannot hold at
// once, with the arithmetic, before anything is allocated.
func (r *launchRun) checkCooperative() (usage bool, err error) {
	o := r.o
	if !o.coop {
		return false, nil
	}
	n, err := r.k.MaxCooperativeBlocks(gpu.Dim3(o.block), o.shared)
	if err != nil {
		return false, launchErr(err)
	}
	if o.grid.Count() <= int64(n) {
		return false, nil
	}
	in := r.dev.Info()
	return true, fmt.Errorf("--cooperative --grid %s --block %s: %d blocks; %s holds at most %d blocks of %d threads and %d dynamic shared bytes at once (%d SMs × %d)",
		o.gridText, o.blockText, o.grid.Count(), in.Name, n, o.block.Count(), o.shared, in.SMCount, n/max(in.SMCount, 1))
}

// makeArgs allocates and fills the buffers, and maps the module's
// variables the command names and sets those of --symbol. resolve sizes
// the --symbol fills to their variables and reads their files, the first
// time; a later run (a schedule of the search) reuses them.
func (r *launchRun) makeArgs(resolve bool) error {
	o := r.o
	r.args = make([]any, len(o.specs))
	r.bufs = make([]gpu.DeviceBuffer, len(o.specs))
	for i := range o.specs {
		s := &o.specs[i]
		if !s.isBuf() {
			r.args[i] = s.Value
			continue
		}
		b, err := r.dev.Alloc(s.Bytes)
		if err == nil {
			err = b.CopyFromHost(0, s.contents())
		}
		if err != nil {
			return fmt.Errorf("--arg %q: %v", s.Text, launchErr(err))
		}
		r.args[i], r.bufs[i] = b, b
	}
	r.syms = map[string]gpu.DeviceBuffer{}
	global := func(name string) (int, error) {
		b, err := r.mod.Global(name)
		if err != nil {
			return 0, launchErr(err)
		}
		r.syms[name] = b
		return b.Size(), nil
	}
	if resolve {
		if err := o.resolveSymbols(global); err != nil {
			return err
		}
	} else {
		for _, name := range o.symbolNames() {
			if _, err := global(name); err != nil {
				return err
			}
		}
	}
	for _, sp := range o.syms {
		if err := r.syms[sp.Name].CopyFromHost(0, sp.fill.contents()); err != nil {
			return fmt.Errorf("--symbol %q: %v", sp.Text, launchErr(err))
		}
	}
	return nil
}

// launch runs the kernel on a stream of its own and waits for it. On the
// emulator it gives the emulator's Result (nil when the launch never
// started), with a trace when trace is set. started says whether the
// launch was queued, so that the kernel ran, perhaps to a failure; a
// launch refused by its call (a bad argument) did not start.
func (r *launchRun) launch(trace bool) (res *cpuemu.Result, elapsed time.Duration, started bool, err error) {
	o := r.o
	st, err := r.dev.NewStream()
	if err != nil {
		return nil, 0, false, err
	}
	defer st.Close()
	cfg := gpu.LaunchConfig{Grid: gpu.Dim3(o.grid), Block: gpu.Dim3(o.block), SharedBytes: o.shared, Cooperative: o.coop}
	start := time.Now()
	if l, ok := st.(emu.Launcher); ok && r.emu {
		opts := emu.LaunchOptions{Trace: trace, TraceLimit: o.traceLimit, Result: func(x *cpuemu.Result) { res = x }}
		err = l.LaunchWith(r.k, cfg, opts, r.args...)
	} else {
		err = st.Launch(r.k, cfg, r.args...)
	}
	if err != nil {
		return nil, 0, false, err
	}
	err = st.Synchronize()
	return res, time.Since(start), true, err
}

// output reads back an --out's bytes: an argument's buffer, or a module
// variable's.
func (r *launchRun) output(out outSpec) ([]byte, error) {
	var src gpu.DeviceBuffer
	if out.Sym != "" {
		src = r.syms[out.Sym]
	} else {
		src = r.bufs[out.Arg]
	}
	b := make([]byte, src.Size())
	return b, launchErr(src.CopyToHost(b, 0))
}

// writeOutputs writes every --out file from what the kernel left.
func (r *launchRun) writeOutputs() ([]outJSON, error) {
	var outs []outJSON
	for _, out := range r.o.outs {
		if out.Sym == "" && out.Arg < 0 {
			continue // the trace file
		}
		b, err := r.output(out)
		if err == nil {
			err = os.WriteFile(out.Path, b, 0o644)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", out.flagText(), err)
		}
		outs = append(outs, outJSON{Arg: out.Arg, Symbol: out.Sym, Path: out.Path, Bytes: len(b)})
	}
	return outs, nil
}

// state is every buffer's final bytes, then every variable's, which the
// schedule search compares across schedules.
func (r *launchRun) state() ([]byte, error) {
	var all []byte
	for i, b := range r.bufs {
		if b == nil {
			continue
		}
		out, err := r.output(outSpec{Arg: i})
		if err != nil {
			return nil, err
		}
		all = append(all, out...)
	}
	for _, name := range r.o.symbolNames() {
		out, err := r.output(outSpec{Arg: -1, Sym: name})
		if err != nil {
			return nil, err
		}
		all = append(all, out...)
	}
	return all, nil
}
