package emu

import (
	"strings"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
)

// module is a loaded cpuemu.Module.
type module struct {
	d    *device
	cm   *cpuemu.Module
	refs refs // pending launches of its kernels
}

func newModule(d *device, cm *cpuemu.Module) *module { return &module{d: d, cm: cm} }

func (m *module) Name() string { return m.cm.Name() }

func (m *module) Kernels() []string {
	es := m.cm.Entries()
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.Name
	}
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
	return &kernel{m: m, entry: e, params: e.Params}, nil
}

// Close closes the module. Its kernels keep the Go objects alive, but
// further launches of them, and Kernel, return an error wrapping
// gpu.ErrClosed. Launches already queued run to completion; the module's
// device storage (its .global variables) is freed when the last of them
// has finished, or at once when none is pending. Close is idempotent.
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

// launchDone drops a pending launch's hold on the module.
func (m *module) launchDone() {
	if m.refs.release() {
		m.d.mem.ReleaseModule(m.cm)
	}
}

// kernel is an entry of a module.
type kernel struct {
	m      *module
	entry  cpuemu.Entry
	params []gpu.Param
}

func (k *kernel) Name() string       { return k.entry.Name }
func (k *kernel) Module() gpu.Module { return k.m }
func (k *kernel) Params() []gpu.Param {
	return append([]gpu.Param(nil), k.params...)
}

// config turns a launch shape into cpuemu's, with the device's options,
// checking it as cpuemu will, so that a bad shape is an error of the call
// rather than of the queued work.
func (k *kernel) config(cfg gpu.LaunchConfig) (cpuemu.LaunchConfig, error) {
	d := k.m.d
	c := cpuemu.LaunchConfig{
		Grid:        cpuemu.Dim3{X: cfg.Grid.X, Y: cfg.Grid.Y, Z: cfg.Grid.Z},
		Block:       cpuemu.Dim3{X: cfg.Block.X, Y: cfg.Block.Y, Z: cfg.Block.Z},
		SharedBytes: cfg.SharedBytes,
		Scheduler:   d.sched,
		Seed:        d.seed,
		Check:       d.check,
		Timeout:     d.timeout,
		Stdout:      d.stdout,
		PrintfBytes: d.printf,
	}
	return c, k.m.cm.CheckConfig(k.entry.Name, c)
}
