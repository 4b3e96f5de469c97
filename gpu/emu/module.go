package emu

import (
	"slices"
	"strings"
	"sync"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
)

// module is a loaded cpuemu.Module.
type module struct {
	d    *device
	cm   *cpuemu.Module
	refs refs // pending launches of its kernels

	symMu sync.Mutex
	syms  map[string]*deviceBuffer // the variables Global has given
}

func newModule(d *device, cm *cpuemu.Module) *module { return &module{d: d, cm: cm} }

func (m *module) Name() string { return m.cm.Name() }

func (m *module) Kernels() []string {
	es := m.cm.Entries()
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.Name
	}
	slices.Sort(names) // as gpu.Module documents, as the CUDA backend does
	return names
}

func (m *module) Kernel(name string) (gpu.Kernel, error) {
	op := "kernel " + name
	if m.refs.isClosed() {
		return nil, closedErr(op, "module "+m.Name()+" is closed")
	}
	e, ok := m.cm.Entry(name)
	if !ok {
		return nil, msgErr(op, "no such kernel in module %s (it has %s)", m.Name(), strings.Join(m.Kernels(), ", "))
	}
	if e.Err != nil { // an entry the emulator cannot run; the others can
		return nil, opErr(op, e.Err)
	}
	return &kernel{m: m, entry: e}, nil
}

// Global gives the module's .global or .const variable name as a buffer
// of its size (cpuemu's Module.Global), mapping the module's variables on
// the device if no launch has. Each name gives one buffer, however often
// it is asked for, as on the CUDA backend. The buffer holds the module
// while it is used; after the module's Close it is closed too, and its
// Free refuses.
func (m *module) Global(name string) (gpu.DeviceBuffer, error) {
	op := "global " + name
	if !m.refs.acquire() {
		return nil, closedErr(op, "module "+m.Name()+" is closed")
	}
	defer m.launchDone()
	m.symMu.Lock()
	defer m.symMu.Unlock()
	if b, ok := m.syms[name]; ok {
		return b, nil
	}
	p, n, err := m.cm.Global(m.d.mem, name)
	if err != nil {
		return nil, opErr(op, err)
	}
	b := &deviceBuffer{d: m.d, ptr: p, size: n, mod: m, sym: name}
	if m.syms == nil {
		m.syms = map[string]*deviceBuffer{}
	}
	m.syms[name] = b
	return b, nil
}

// Close closes the module. Its kernels keep the Go objects alive, but
// further launches of them, Kernel, Global and uses of the buffers Global
// gave return an error wrapping gpu.ErrClosed. Launches and copies already
// queued run to completion; the module's device storage (its .global and
// .const variables) is freed when the last of them has finished, or at
// once when none is pending. Close is idempotent.
func (m *module) Close() error {
	first, idle := m.refs.close()
	if !first {
		return nil
	}
	unregister(m.d, &m.d.mods, m)
	if idle {
		m.d.mem.ReleaseModule(m.cm)
	}
	return nil
}

// launchDone drops a hold on the module: a pending launch's, or a use of
// one of its variables.
func (m *module) launchDone() {
	if m.refs.release() {
		m.d.mem.ReleaseModule(m.cm)
	}
}

// kernel is an entry of a module.
type kernel struct {
	m     *module
	entry cpuemu.Entry
}

func (k *kernel) Name() string       { return k.entry.Name }
func (k *kernel) Module() gpu.Module { return k.m }
func (k *kernel) Params() []gpu.Param {
	return append([]gpu.Param(nil), k.entry.Params...)
}

// MaxCooperativeBlocks is cpuemu's Module.CooperativeBlocks: the emulated
// device's SMs (cpuemu.DeviceSMs) times the blocks of that shape one holds.
func (k *kernel) MaxCooperativeBlocks(block gpu.Dim3, sharedBytes int) (int, error) {
	op := "cooperative blocks of " + k.entry.Name
	if sharedBytes < 0 {
		return 0, msgErr(op, "negative dynamic shared memory size %d", sharedBytes)
	}
	n, err := k.m.cm.CooperativeBlocks(k.entry.Name, cpuemu.Dim3{X: block.X, Y: block.Y, Z: block.Z}, sharedBytes)
	if err != nil {
		return 0, opErr(op, err)
	}
	return n, nil
}

// config turns a launch shape into cpuemu's, with the device's options
// and the launch's own, checking it as cpuemu will, so that a bad shape is
// an error of the call rather than of the queued work.
func (k *kernel) config(cfg gpu.LaunchConfig, opts LaunchOptions) (cpuemu.LaunchConfig, error) {
	d := k.m.d
	c := cpuemu.LaunchConfig{
		Grid:            cpuemu.Dim3{X: cfg.Grid.X, Y: cfg.Grid.Y, Z: cfg.Grid.Z},
		Block:           cpuemu.Dim3{X: cfg.Block.X, Y: cfg.Block.Y, Z: cfg.Block.Z},
		SharedBytes:     cfg.SharedBytes,
		Cooperative:     cfg.Cooperative,
		Scheduler:       d.sched,
		Seed:            d.seed,
		Check:           d.check,
		Timeout:         d.timeout,
		MaxInstructions: d.instr,
		Workers:         d.workers,
		Stdout:          d.stdout,
		PrintfBytes:     d.printf,
		Trace:           opts.Trace,
		TraceLimit:      opts.TraceLimit,
	}
	return c, k.m.cm.CheckConfig(k.entry.Name, c)
}
