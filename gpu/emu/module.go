package emu

import (
	"fmt"
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
	ps := make([]gpu.Param, len(e.Params))
	for i, p := range e.Params {
		ps[i] = gpu.Param{Name: p.Name, Type: p.Type, Size: p.Size, Align: p.Align, Offset: p.Offset}
	}
	return &kernel{m: m, entry: e, params: ps}, nil
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
	}
	name := k.entry.Name
	bad := func(format string, a ...any) error {
		return &cpuemu.ArgError{Kernel: name, Msg: fmt.Sprintf(format, a...)}
	}
	switch {
	case cfg.Grid.X == 0 || cfg.Grid.Y == 0 || cfg.Grid.Z == 0:
		return c, bad("grid %s has a zero dimension", cfg.Grid)
	case cfg.Block.X == 0 || cfg.Block.Y == 0 || cfg.Block.Z == 0:
		return c, bad("block %s has a zero dimension", cfg.Block)
	case cfg.Block.Count() > cpuemu.MaxThreadsPerBlock:
		return c, bad("block %s has %d threads; the most is %d", cfg.Block, cfg.Block.Count(), cpuemu.MaxThreadsPerBlock)
	case cfg.Block.Z > 64:
		return c, bad("block z dimension %d exceeds 64", cfg.Block.Z)
	case cfg.Grid.Y > 65535 || cfg.Grid.Z > 65535:
		return c, bad("grid %s: y and z may be at most 65535", cfg.Grid)
	case cfg.Grid.Count()*cfg.Block.Count() > cpuemu.MaxGridThreads:
		return c, &cpuemu.LimitError{Kernel: name, Limit: "threads in the grid", Value: cfg.Grid.Count() * cfg.Block.Count(), Max: cpuemu.MaxGridThreads}
	case cfg.SharedBytes < 0:
		return c, bad("negative dynamic shared memory %d", cfg.SharedBytes)
	}
	// The dynamic shared array starts at the static size rounded up to 16.
	if total := int64((k.entry.SharedBytes+15)&^15) + int64(cfg.SharedBytes); total > cpuemu.MaxSharedBytes {
		return c, &cpuemu.LimitError{Kernel: name, Limit: "shared bytes per block", Value: total, Max: cpuemu.MaxSharedBytes}
	}
	return c, nil
}
