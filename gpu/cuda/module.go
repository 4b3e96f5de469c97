//go:build cuda

package cuda

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/internal/ptx"
	"gorgonia.org/cu"
)

// jitLogBytes is the size of the buffer the PTX JIT compiler writes its
// error log into.
const jitLogBytes = 16 << 10

// Module is PTX loaded into the device's context (cuModuleLoadDataEx).
//
// Its kernels keep it loaded while they are in use: a launch holds the
// module from its checks until the driver has queued it, and Close waits
// for the work queued on the device (cuCtxSynchronize) before it unloads
// the module (cuModuleUnload), so no launch of it is still in flight.
// After Close, Kernel and launches of its kernels fail with gpu.ErrClosed.
// The device's Close unloads every module.
type Module struct {
	dev     *Device
	name    string
	mod     cu.Module
	entries map[string]ptx.Entry
	names   []string             // sorted
	funcs   map[string]*function // set by LoadModule, read-only after
	vars    []string             // its .global and .const variables, sorted, for messages

	symMu sync.Mutex
	syms  map[string]*DeviceBuffer // the variables Global has given, closed with the module

	// use is read-held by Kernel and by each launch of the module's
	// kernels until it is queued, and write-held by Close to mark the
	// module closed, so that no launch is queued after Close has waited
	// for the device.
	use    sync.RWMutex
	closed bool // under use
}

// function is a kernel's handle, shared by the Kernel values of one entry.
type function struct {
	f cu.Function
	// static is the kernel's static shared memory per block
	// (CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES).
	static int
	// allowed is the dynamic shared memory a launch of it may have now
	// (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: at first at most
	// 48 KiB less its static memory); it only grows, under mu.
	allowed atomic.Int64
	mu      sync.Mutex
}

var _ gpu.Module = (*Module)(nil)

// LoadModule JIT-compiles PTX for the device (cuModuleLoadDataEx, with
// the target taken from the context). PTX whose .target is newer than the
// device (sm_80 on a 7.5) is refused before the driver sees it. When the compiler rejects it, the
// error carries the compiler's log. Each entry's parameters are read from
// the PTX text by the one front end (internal/ptx), since the driver
// cannot report them; nothing is lowered for the emulator.
func (d *Device) LoadModule(name string, src []byte) (gpu.Module, error) {
	op := "load module " + name
	src = bytes.TrimRight(src, "\x00")
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return nil, usageErr(op, "the PTX has a NUL byte at offset %d", i)
	}
	ast, err := ptx.Parse(src)
	if err != nil {
		return nil, &gpu.Error{Backend: backend, Op: op, Msg: "reading the PTX", Err: err}
	}
	// The driver JIT-compiles PTX forward only: sm_80 PTX on a Turing
	// fails with a bare CUDA_ERROR_NO_BINARY_FOR_GPU. Say which target
	// and which device instead.
	if sm, have := ast.SM(), d.info.SM(); sm > have {
		return nil, usageErr(op, "the PTX targets sm_%d (compute capability %d.%d or newer); %s is %d.%d",
			sm, sm/10, sm%10, d.info.Name, d.info.ComputeCapability[0], d.info.ComputeCapability[1])
	}
	m := &Module{dev: d, name: name, entries: map[string]ptx.Entry{}, funcs: map[string]*function{}, syms: map[string]*DeviceBuffer{}}
	for _, e := range ast.Entries() {
		m.entries[e.Name] = e
		m.names = append(m.names, e.Name)
	}
	sort.Strings(m.names)
	for _, v := range ast.Vars {
		if (v.Space == "global" || v.Space == "const") && !v.Extern && !ptx.IsOpaque(v.Type) {
			m.vars = append(m.vars, v.Name)
		}
	}
	sort.Strings(m.vars)
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.leave()
	errLog := make([]byte, jitLogBytes)
	err = d.do(func() error {
		mod, err := cu.LoadDataEx(string(src),
			&cu.JITTargetFromContext{},
			&cu.JITErrorLogBuffer{Buffer: errLog})
		if err != nil {
			return err
		}
		for _, n := range m.names {
			f, err := mod.Function(n)
			if err != nil {
				mod.Unload()
				return wrapErr("look up entry "+n, err)
			}
			fn := &function{f: f}
			allowed, err := f.Attribute(funcAttrMaxDynamicShared)
			if err == nil {
				fn.static, err = f.Attribute(cu.SharedSizeBytes)
			}
			if err != nil {
				mod.Unload()
				return wrapErr("shared memory of entry "+n, err)
			}
			fn.allowed.Store(int64(allowed))
			m.funcs[n] = fn
		}
		m.mod = mod
		return nil
	})
	if err != nil {
		e := wrapErr(op, err)
		if i := bytes.IndexByte(errLog, 0); i >= 0 {
			errLog = errLog[:i]
		}
		if log := strings.TrimSpace(string(errLog)); log != "" {
			e.Msg += "; JIT log:\n" + log
		}
		return nil, e
	}
	track(d, d.modules, m)
	return m, nil
}

func (m *Module) Name() string { return m.name }

// closedErr is the error of op on the module after its Close: the
// package's closedErr, naming the module.
func (m *Module) closedErr(op string) error {
	e := closedErr(op)
	e.Msg = "module " + m.name + " was closed"
	return e
}

// Kernels lists the module's entries, sorted.
func (m *Module) Kernels() []string { return append([]string(nil), m.names...) }

// Kernel looks up an entry.
func (m *Module) Kernel(name string) (gpu.Kernel, error) {
	op := "kernel " + name
	m.use.RLock()
	defer m.use.RUnlock()
	if m.closed {
		return nil, m.closedErr(op)
	}
	f, ok := m.funcs[name]
	if !ok {
		list := "it has none"
		if len(m.names) > 0 {
			list = "its entries: " + strings.Join(m.names, ", ")
		}
		return nil, usageErr(op, "module %s has no entry %q; %s", m.name, name, list)
	}
	if err := m.entries[name].Err; err != nil {
		return nil, &gpu.Error{Backend: backend, Op: op, Msg: "reading its .param list", Err: err}
	}
	return &Kernel{mod: m, fn: f, name: name, params: m.entries[name].Params, launchOp: "launch " + name}, nil
}

// Global gives the module's .global or .const variable name as a buffer
// of its size at its device address (cuModuleGetGlobal). The module owns
// it: its Free refuses, and the module's Close closes it. Each name gives
// one buffer, however often it is asked for.
func (m *Module) Global(name string) (gpu.DeviceBuffer, error) {
	op := "global " + name
	d := m.dev
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.leave()
	m.use.RLock()
	defer m.use.RUnlock()
	if m.closed {
		return nil, m.closedErr(op)
	}
	m.symMu.Lock()
	defer m.symMu.Unlock()
	if b, ok := m.syms[name]; ok {
		return b, nil
	}
	var p cu.DevicePtr
	var n int64
	if err := d.do(func() error {
		var err error
		p, n, err = m.mod.Global(name)
		return err
	}); err != nil {
		e := wrapErr(op, err)
		if !slices.Contains(m.vars, name) { // CUDA_ERROR_NOT_FOUND, as a rule
			list := "none"
			if len(m.vars) > 0 {
				list = strings.Join(m.vars, ", ")
			}
			e.Msg += fmt.Sprintf(" (module %s: its .global and .const variables are %s)", m.name, list)
		}
		return nil, e
	}
	b := &DeviceBuffer{dev: d, ptr: p, size: int(n), mod: m, sym: name}
	b.live.Store(true)
	m.syms[name] = b
	return b, nil
}

// Close waits for the work queued on the device, so that no launch of
// the module is in flight, and unloads the module. It is idempotent.
func (m *Module) Close() error {
	op := "close module " + m.name
	d := m.dev
	if d.enter(op) != nil {
		return nil // the device's Close unloaded it
	}
	defer d.leave()
	if !m.markClosed() {
		return nil
	}
	untrack(d, d.modules, m)
	var err error
	if derr := d.do(func() error { err = m.unload(true); return nil }); derr != nil {
		return wrapErr(op, derr)
	}
	if err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// markClosed marks the module closed, with the variables Global gave,
// once the launches in progress are queued; it reports whether it was
// open.
func (m *Module) markClosed() bool {
	m.use.Lock()
	defer m.use.Unlock()
	if m.closed {
		return false
	}
	m.closed = true
	m.symMu.Lock()
	for _, b := range m.syms {
		b.live.Store(false)
	}
	m.symMu.Unlock()
	return true
}

// unload unloads the module (cuModuleUnload), after waiting for the
// context's work (cuCtxSynchronize) if wait; the context must be current.
// It unloads even when the wait reports an error (a fault of the work),
// and reports that error.
func (m *Module) unload(wait bool) error {
	var serr error
	if wait {
		serr = cu.Synchronize()
	}
	if err := m.mod.Unload(); err != nil {
		return err
	}
	if serr != nil {
		return wrapErr("synchronize", serr)
	}
	return nil
}

// Kernel is an entry point of a module.
type Kernel struct {
	mod      *Module
	fn       *function
	name     string
	params   []gpu.Param
	launchOp string // "launch NAME", for Launch's errors
}

var _ gpu.Kernel = (*Kernel)(nil)

func (k *Kernel) Name() string        { return k.name }
func (k *Kernel) Module() gpu.Module  { return k.mod }
func (k *Kernel) Params() []gpu.Param { return append([]gpu.Param(nil), k.params...) }

// MaxPotentialBlockSize is the block size that gives the kernel the most
// resident warps per SM when each block has dynSMem bytes of dynamic
// shared memory, and the smallest grid that reaches that occupancy on the
// whole device (cuOccupancyMaxPotentialBlockSize). When dynSMem is more
// than the kernel is allowed now (at most 48 KiB less its static shared
// memory, until a launch or a query raised it), the kernel opts in to it
// first, as a launch would, so that the calculator counts blocks with
// that much.
func (k *Kernel) MaxPotentialBlockSize(dynSMem int) (minGrid, block int, err error) {
	err = k.occupancy("occupancy of "+k.name, dynSMem, func() error {
		if err := k.allowDynShared(dynSMem); err != nil {
			return err
		}
		var err error
		minGrid, block, err = occupancyMaxPotentialBlockSize(k.fn.f, dynSMem)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return minGrid, block, nil
}

// MaxCooperativeBlocks is the most blocks a cooperative launch of the
// kernel may have: the blocks of that shape and dynamic shared memory one
// SM holds at once (cuOccupancyMaxActiveBlocksPerMultiprocessor) times
// the SMs, or 0 when the device cannot launch cooperatively
// (CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH).
func (k *Kernel) MaxCooperativeBlocks(block gpu.Dim3, sharedBytes int) (int, error) {
	var n int
	err := k.occupancy("cooperative blocks of "+k.name, sharedBytes, func() error {
		var err error
		n, err = k.cooperativeBlocks(block, sharedBytes)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// occupancy runs query, an occupancy query of the kernel for blocks with
// dynSMem bytes of dynamic shared memory, with the context current and
// the module open; op names it in errors.
func (k *Kernel) occupancy(op string, dynSMem int, query func() error) error {
	if dynSMem < 0 {
		return usageErr(op, "negative dynamic shared memory size %d", dynSMem)
	}
	m := k.mod
	// The device's lock before the module's, as everywhere.
	if err := m.dev.enter(op); err != nil {
		return err
	}
	defer m.dev.leave()
	m.use.RLock()
	defer m.use.RUnlock()
	if m.closed {
		return m.closedErr(op)
	}
	if err := m.dev.do(query); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// cooperativeBlocks is MaxCooperativeBlocks' count; the context must be
// current. Shared memory past what the kernel is allowed now is opted in
// to first (allowDynShared), so that the occupancy calculator counts the
// memory a launch will have.
func (k *Kernel) cooperativeBlocks(block gpu.Dim3, sharedBytes int) (int, error) {
	d := k.mod.dev
	if !d.coop {
		return 0, nil
	}
	if err := k.allowDynShared(sharedBytes); err != nil {
		return 0, err
	}
	per, err := k.fn.f.MaxActiveBlocksPerMultiProcessor(int(block.Count()), int64(sharedBytes))
	if err != nil {
		return 0, err
	}
	return per * d.info.SMCount, nil
}

// allowDynShared lets the function launch with n bytes of dynamic shared
// memory: past what it is allowed now, it must opt in
// (cuFuncSetAttribute, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES),
// and static and dynamic memory together may not pass the device's
// opt-in limit (sharedPlan). The context must be current.
func (k *Kernel) allowDynShared(n int) error {
	f := k.fn
	if n >= 0 && int64(n) <= f.allowed.Load() {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	optin := k.mod.dev.maxSharedOptin
	raise, problem := sharedPlan(f.static, n, int(f.allowed.Load()), optin)
	if problem != "" {
		return usageErr("", "%s", problem)
	}
	if raise == 0 {
		return nil
	}
	if err := funcSetMaxDynamicShared(f.f, raise); err != nil {
		e := wrapErr("", err)
		e.Msg += fmt.Sprintf(" (letting the kernel have %d bytes of dynamic shared memory; it has %d static, and the device allows a block at most %d in all)",
			raise, f.static, optin)
		return e
	}
	f.allowed.Store(int64(raise))
	return nil
}
