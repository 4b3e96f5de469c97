package driverserve

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/cpuemu/sarif"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/gpu/emu"
)

// context is a CUDA context: an emulated device and what was made in it.
type context struct {
	id      uint64
	dev     gpu.Device
	mem     *cpuemu.Device
	sticky  atomic.Uint32 // a kernel fault's CUresult: every later call returns it
	null    *stream
	streams map[uint64]*stream
	events  map[uint64]gpu.Event
	mods    map[uint64]*module
	funcs   map[uint64]*function
	hosts   map[uint64]*hostMem
	allocs  map[uint64]gpu.DeviceBuffer
	maxDyn  map[uint64]int // cuFuncSetAttribute's MAX_DYNAMIC_SHARED_SIZE_BYTES
}

type stream struct {
	id       uint64
	s        gpu.Stream
	blocking bool // synchronises with the legacy default stream
}

type module struct {
	m     gpu.Module
	funcs map[string]uint64
}

type function struct {
	k     gpu.Kernel
	entry cpuemu.Entry
	mod   uint64
}

type hostMem struct {
	hb      gpu.HostBuffer
	mapping []byte // the program's shared mapping, unmapped at free; nil when registered
	devPtr  uint64
}

func (c *context) close() {
	c.dev.Close()
	for _, h := range c.hosts {
		if h.mapping != nil {
			syscall.Munmap(h.mapping)
		}
	}
}

func (s *Server) dispatch(req *request) ([]uint64, []byte, error) {
	if req.op < opHello || req.op > opCopyHtoDMerge || req.op == opDeviceInfo {
		return nil, nil, fail(cuNotSupported, "unknown op %d: this gpubuf speaks driver protocol %d with ops %d to %d", req.op, Version, opHello, opCopyHtoDMerge)
	}
	switch req.op {
	case opHello:
		return s.hello(req)
	case opDeviceAttr:
		if err := need(req, 1); err != nil {
			return nil, nil, err
		}
		v, ok := deviceAttr(req.words[0])
		if !ok {
			return nil, nil, fail(cuInvalidValue, "device attribute %d is not one the CUDA 11.8 driver knows", req.words[0])
		}
		return []uint64{uint64(v)}, nil, nil
	case opCtxCreate:
		return s.ctxCreate()
	case opFinish:
		// The library's atexit hook: the program is ending, and gpubuf
		// exec reads the SARIF log once it has.
		if err := s.writeSARIF(); err != nil {
			return nil, nil, fail(cuUnknown, "%v", err)
		}
		return []uint64{uint64(s.errs.Load())}, nil, nil
	}
	if err := need(req, 1); err != nil {
		return nil, nil, err
	}
	c, err := s.ctx(req.words[0])
	if err != nil {
		return nil, nil, err
	}
	if req.op == opCtxDestroy {
		c.close()
		delete(s.ctxs, c.id)
		return nil, nil, nil
	}
	if code := c.sticky.Load(); code != 0 {
		return nil, nil, fail(code, "the context is unusable after an earlier kernel fault (%d), as on a GPU", code)
	}
	w := req.words
	switch req.op {
	case opWait:
		if err := need(req, 5); err != nil {
			return nil, nil, err
		}
		return nil, nil, s.wait(c, w[1], w[2], w[3], w[4])
	case opModuleLoad:
		return s.moduleLoad(c, req.data)
	case opModuleUnload:
		if err := need(req, 2); err != nil {
			return nil, nil, err
		}
		m, ok := c.mods[w[1]]
		if !ok {
			return nil, nil, fail(cuInvalidHandle, "no module %#x in this context", w[1])
		}
		delete(c.mods, w[1])
		for _, f := range m.funcs {
			delete(c.funcs, f)
		}
		return nil, nil, m.m.Close()
	case opModuleFunction:
		return s.moduleFunction(c, req)
	case opModuleGlobal:
		if err := need(req, 2); err != nil {
			return nil, nil, err
		}
		m, ok := c.mods[w[1]]
		if !ok {
			return nil, nil, fail(cuInvalidHandle, "no module %#x in this context", w[1])
		}
		if len(req.data) > maxNameBytes {
			return nil, nil, fail(cuInvalidValue, "a global's name of %d bytes: at most %d", len(req.data), maxNameBytes)
		}
		b, err := m.m.Global(string(req.data))
		if err != nil {
			return nil, nil, fail(cuNotFound, "%v", err)
		}
		return []uint64{b.Ptr(), uint64(b.Size())}, nil, nil
	case opFuncAttr, opFuncSetAttr:
		return s.funcAttr(c, req)
	case opMemAlloc:
		if err := need(req, 2); err != nil {
			return nil, nil, err
		}
		if w[1] == 0 || w[1] > uint64(c.dev.Info().TotalMemory) {
			return nil, nil, fail(cuOutOfMemory, "alloc of %d bytes: the emulated device has %d", w[1], c.dev.Info().TotalMemory)
		}
		b, err := c.dev.Alloc(int(w[1]))
		if err != nil {
			return nil, nil, err
		}
		c.allocs[b.Ptr()] = b
		return []uint64{b.Ptr()}, nil, nil
	case opMemFree:
		if err := need(req, 2); err != nil {
			return nil, nil, err
		}
		b, ok := c.allocs[w[1]]
		if !ok {
			return nil, nil, fail(cuInvalidValue, "free of %#x: not the start of an allocation of this context", w[1])
		}
		delete(c.allocs, w[1])
		return nil, nil, b.Free()
	case opMemInfo:
		used, limit := c.mem.InUse()
		return []uint64{uint64(limit - used), uint64(limit)}, nil, nil
	case opHostAlloc:
		return s.hostAlloc(c, req)
	case opHostRegister:
		if err := need(req, 3); err != nil {
			return nil, nil, err
		}
		if w[1] == 0 || w[1] > uint64(c.dev.Info().TotalMemory) {
			return nil, nil, fail(cuOutOfMemory, "register of %d bytes: the emulated device has %d", w[1], c.dev.Info().TotalMemory)
		}
		hb, err := c.dev.AllocHost(int(w[1]), gpu.HostMapped)
		if err != nil {
			return nil, nil, err
		}
		id := s.id()
		c.hosts[id] = &hostMem{hb: hb, devPtr: hb.DevicePtr()}
		return []uint64{id, hb.DevicePtr()}, nil, nil
	case opHostFree:
		if err := need(req, 2); err != nil {
			return nil, nil, err
		}
		h, ok := c.hosts[w[1]]
		if !ok {
			return nil, nil, fail(cuInvalidValue, "no host memory %#x in this context", w[1])
		}
		delete(c.hosts, w[1])
		err := h.hb.Free() // waits for the queued work that uses it
		if h.mapping != nil {
			syscall.Munmap(h.mapping)
		}
		return nil, nil, err
	case opCopyHtoD, opCopyDtoH, opCopyDtoD, opMemset, opCopyHtoDMerge:
		return nil, nil, s.copy(c, req)
	case opStreamCreate:
		if err := need(req, 2); err != nil {
			return nil, nil, err
		}
		st, err := c.dev.NewStream()
		if err != nil {
			return nil, nil, err
		}
		id := s.id()
		c.streams[id] = &stream{id: id, s: st, blocking: w[1]&1 == 0} // CU_STREAM_NON_BLOCKING = 1
		return []uint64{id}, nil, nil
	case opStreamDestroy:
		if err := need(req, 2); err != nil {
			return nil, nil, err
		}
		st, ok := c.streams[w[1]]
		if !ok {
			return nil, nil, fail(cuInvalidHandle, "no stream %#x in this context", w[1])
		}
		delete(c.streams, w[1])
		// cuStreamDestroy returns at once; the work queued runs on.
		go st.s.Close()
		return nil, nil, nil
	case opStreamWaitEvent:
		if err := need(req, 3); err != nil {
			return nil, nil, err
		}
		st, err := c.stream(w[1])
		if err != nil {
			return nil, nil, err
		}
		ev, ok := c.events[w[2]]
		if !ok {
			return nil, nil, fail(cuInvalidHandle, "no event %#x in this context", w[2])
		}
		return nil, nil, st.s.Wait(ev)
	case opEventCreate:
		if err := need(req, 2); err != nil {
			return nil, nil, err
		}
		var ev gpu.Event
		if w[1]&2 != 0 { // CU_EVENT_DISABLE_TIMING
			ev, err = gpu.NewEventNoTiming(c.dev)
		} else {
			ev, err = c.dev.NewEvent()
		}
		if err != nil {
			return nil, nil, err
		}
		id := s.id()
		c.events[id] = ev
		return []uint64{id}, nil, nil
	case opEventRecord:
		if err := need(req, 3); err != nil {
			return nil, nil, err
		}
		ev, ok := c.events[w[1]]
		if !ok {
			return nil, nil, fail(cuInvalidHandle, "no event %#x in this context", w[1])
		}
		st, err := c.stream(w[2])
		if err != nil {
			return nil, nil, err
		}
		if err := c.order(st); err != nil {
			return nil, nil, err
		}
		return nil, nil, st.s.Record(ev)
	case opEventElapsed:
		if err := need(req, 3); err != nil {
			return nil, nil, err
		}
		start, ok1 := c.events[w[1]]
		end, ok2 := c.events[w[2]]
		if !ok1 || !ok2 {
			return nil, nil, fail(cuInvalidHandle, "no such event in this context")
		}
		if done, err := end.Query(); err == nil && !done {
			return nil, nil, fail(cuNotReady, "the end event has not completed")
		}
		if done, err := start.Query(); err == nil && !done {
			return nil, nil, fail(cuNotReady, "the start event has not completed")
		}
		d, err := end.Elapsed(start)
		if err != nil {
			return nil, nil, fail(cuInvalidHandle, "%v", err)
		}
		return []uint64{f32bits(float32(d) / float32(time.Millisecond))}, nil, nil
	case opEventDestroy:
		if err := need(req, 2); err != nil {
			return nil, nil, err
		}
		ev, ok := c.events[w[1]]
		if !ok {
			return nil, nil, fail(cuInvalidHandle, "no event %#x in this context", w[1])
		}
		delete(c.events, w[1])
		return nil, nil, ev.Close()
	case opLaunch:
		return nil, nil, s.launch(c, req)
	case opOccupancy:
		if err := need(req, 4); err != nil {
			return nil, nil, err
		}
		f, ok := c.funcs[w[1]]
		if !ok {
			return nil, nil, fail(cuInvalidHandle, "no function %#x in this context", w[1])
		}
		if w[2] == 0 || w[2] > 1024 {
			return nil, nil, fail(cuInvalidValue, "occupancy of a block of %d threads: want 1 to 1024", w[2])
		}
		if w[3] > cpuemu.MaxSharedBytes {
			// Not one block fits an SM: no error, as the occupancy
			// calculator answers; cuOccupancyMaxPotentialBlockSize asks
			// with what the program's callback gives.
			return []uint64{0}, nil, nil
		}
		n, err := f.k.MaxCooperativeBlocks(gpu.D1(uint32(w[2])), int(w[3]))
		if err != nil {
			return nil, nil, err
		}
		return []uint64{uint64(n / cpuemu.DeviceSMs)}, nil, nil
	}
	return nil, nil, fail(cuNotSupported, "unknown op %d", req.op)
}

func (s *Server) hello(req *request) ([]uint64, []byte, error) {
	if req.fd < 0 || len(req.words) < 2 || req.words[1] != StagingSize {
		return nil, nil, fail(cuNotInitialized, "hello without the %d-byte staging area", StagingSize)
	}
	b, err := syscall.Mmap(req.fd, 0, StagingSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fail(cuNotInitialized, "mapping the staging area: %v", err)
	}
	s.stage = b
	limit := s.cfg.Emu.MemoryLimit
	if limit == 0 {
		limit = cpuemu.DefaultMemoryLimit
	}
	return []uint64{Version, uint64(limit), uint64(emu.ComputeCapability[0]), uint64(emu.ComputeCapability[1])}, []byte(DeviceName), nil
}

func (s *Server) ctxCreate() ([]uint64, []byte, error) {
	dev, err := emu.Open(gpu.Options{Backend: gpu.BackendEmu, Emu: s.cfg.Emu})
	if err != nil {
		return nil, nil, err
	}
	mem, err := emu.Memory(dev)
	if err != nil {
		return nil, nil, err
	}
	null, err := dev.NewStream()
	if err != nil {
		return nil, nil, err
	}
	c := &context{id: s.id(), dev: dev, mem: mem, streams: map[uint64]*stream{}, events: map[uint64]gpu.Event{},
		mods: map[uint64]*module{}, funcs: map[uint64]*function{}, hosts: map[uint64]*hostMem{},
		allocs: map[uint64]gpu.DeviceBuffer{}, maxDyn: map[uint64]int{}}
	c.null = &stream{s: null, blocking: true}
	s.ctxs[c.id] = c
	return []uint64{c.id}, nil, nil
}

func (s *Server) ctx(id uint64) (*context, error) {
	c, ok := s.ctxs[id]
	switch {
	case ok:
		return c, nil
	case id == 0:
		return nil, fail(cuInvalidContext, "no context is current")
	case id > 0x1000 && id <= s.nextID:
		return nil, fail(cuContextIsDestroyed, "context %#x was destroyed", id)
	}
	return nil, fail(cuInvalidContext, "%#x is not a context", id)
}

func (c *context) stream(id uint64) (*stream, error) {
	if id == 0 || id == 1 || id == 2 { // NULL, CU_STREAM_LEGACY, CU_STREAM_PER_THREAD
		return c.null, nil
	}
	st, ok := c.streams[id]
	if !ok {
		return nil, fail(cuInvalidHandle, "no stream %#x in this context", id)
	}
	return st, nil
}

// order gives work about to be queued on st the legacy default stream's
// ordering: work on the default stream waits for the work queued before
// it on every blocking stream, and work on a blocking stream waits for
// the work queued before it on the default stream.
func (c *context) order(st *stream) error {
	link := func(from, to *stream) error {
		ev, err := gpu.NewEventNoTiming(c.dev)
		if err != nil {
			return err
		}
		defer ev.Close()
		if err := from.s.Record(ev); err != nil {
			return err
		}
		return to.s.Wait(ev)
	}
	if st == c.null {
		for _, t := range c.streams {
			if t.blocking {
				if err := link(t, c.null); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if st.blocking {
		return link(c.null, st)
	}
	return nil
}

// wait serves GB_WAIT: a query answers at once; a blocking wait waits up
// to waitSlice and then answers NOT_READY with a ticket the library
// passes back, so that no call holds the library's socket for long.
func (s *Server) wait(c *context, kind, handle, mode, ticket uint64) error {
	var sync func() error
	var query func() (bool, error)
	switch kind {
	case 1: // context
		sync = c.dev.Synchronize
		query = func() (bool, error) {
			for _, st := range append(c.streamList(), c.null) {
				if done, err := streamQuery(c, st); err != nil || !done {
					return done, err
				}
			}
			return true, nil
		}
	case 2:
		st, err := c.stream(handle)
		if err != nil {
			return err
		}
		sync = st.s.Synchronize
		query = func() (bool, error) { return streamQuery(c, st) }
	case 3:
		ev, ok := c.events[handle]
		if !ok {
			return fail(cuInvalidHandle, "no event %#x in this context", handle)
		}
		sync, query = ev.Synchronize, ev.Query
	default:
		return fail(cuInvalidValue, "wait kind %d", kind)
	}
	if mode == 1 {
		done, err := query()
		if err != nil {
			return c.fault(err)
		}
		if !done {
			return fail(cuNotReady, "not ready")
		}
		return nil
	}
	ch, ok := s.tickets[ticket]
	if ticket == 0 {
		ch = make(chan error, 1)
		go func() { ch <- sync() }()
		ticket = s.id()
		s.tickets[ticket] = ch
	} else if !ok {
		return fail(cuInvalidValue, "unknown wait ticket %d", ticket)
	}
	timer := time.NewTimer(waitSlice)
	defer timer.Stop()
	select {
	case err := <-ch:
		delete(s.tickets, ticket)
		if err != nil {
			return c.fault(err)
		}
		return nil
	case <-timer.C:
		return &notReady{ticket: ticket}
	}
}

// fault makes a kernel fault the context's sticky error.
func (c *context) fault(err error) error {
	if code := codeOf(err); isKernelFault(code) {
		c.sticky.CompareAndSwap(0, code)
	}
	return err
}

func (c *context) streamList() []*stream {
	out := make([]*stream, 0, len(c.streams))
	for _, st := range c.streams {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func streamQuery(c *context, st *stream) (bool, error) {
	ev, err := gpu.NewEventNoTiming(c.dev)
	if err != nil {
		return false, err
	}
	defer ev.Close()
	if err := st.s.Record(ev); err != nil {
		return false, err
	}
	return ev.Query()
}

func (s *Server) moduleLoad(c *context, ptx []byte) ([]uint64, []byte, error) {
	if i := bytes.IndexByte(ptx, 0); i >= 0 {
		ptx = ptx[:i]
	}
	if !bytes.Contains(ptx, []byte(".version")) || !bytes.Contains(ptx, []byte(".target")) {
		return nil, nil, fail(cuInvalidImage, "the image is not PTX text (cubin and fatbin images need a GPU)")
	}
	id := s.id()
	m, err := c.dev.LoadModule(fmt.Sprintf("module %#x", id), ptx)
	if err != nil {
		return nil, nil, jitErr(err.Error())
	}
	// The driver's JIT compiles every entry at load, so a broken one fails
	// the load, not the cuModuleGetFunction after it: link each entry now
	// (the emulator lowers them at load and links on first use; asking an
	// entry's cooperative blocks links it).
	var log []string
	for _, name := range m.Kernels() {
		k, err := m.Kernel(name)
		if err == nil {
			_, err = k.MaxCooperativeBlocks(gpu.D1(1), 0)
		}
		if err != nil {
			// The emulator's own message, without the device API's
			// wrapping; it names the entry when lowering failed.
			var ge *gpu.Error
			if errors.As(err, &ge) && ge.Err != nil {
				err = ge.Err
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "entry "+name+":") {
				msg = "entry " + name + ": " + msg
			}
			log = append(log, msg)
		}
	}
	if len(log) > 0 {
		m.Close()
		return nil, nil, jitErr(strings.Join(log, "\n"))
	}
	c.mods[id] = &module{m: m, funcs: map[string]uint64{}}
	return []uint64{id}, nil, nil
}

// jitErr is a module the emulator cannot load: CUDA_ERROR_INVALID_PTX, as
// the driver's JIT answers, with the emulator's messages as the answer's
// bytes, which the library writes to CU_JIT_ERROR_LOG_BUFFER.
func jitErr(log string) error {
	if len(log) > maxJITLog {
		log = log[:maxJITLog-len(" …")] + " …"
	}
	return &callErr{code: cuInvalidPTX, msg: "the PTX does not load: " + log, data: []byte(log)}
}

func (s *Server) moduleFunction(c *context, req *request) ([]uint64, []byte, error) {
	if err := need(req, 2); err != nil {
		return nil, nil, err
	}
	m, ok := c.mods[req.words[1]]
	if !ok {
		return nil, nil, fail(cuInvalidHandle, "no module %#x in this context", req.words[1])
	}
	if len(req.data) > maxNameBytes {
		return nil, nil, fail(cuInvalidValue, "a function's name of %d bytes: at most %d", len(req.data), maxNameBytes)
	}
	name := string(req.data)
	id, ok := m.funcs[name]
	if !ok {
		k, err := m.m.Kernel(name)
		if err != nil {
			return nil, nil, fail(cuNotFound, "%v", err)
		}
		entry, err := emu.KernelEntry(k)
		if err != nil {
			return nil, nil, err
		}
		if len(entry.Params) > maxParams {
			return nil, nil, fail(cuNotSupported, "kernel %s has %d parameters; the library passes at most %d", name, len(entry.Params), maxParams)
		}
		id = s.id()
		m.funcs[name] = id
		c.funcs[id] = &function{k: k, entry: entry, mod: req.words[1]}
	}
	f := c.funcs[id]
	out := []uint64{id, uint64(len(f.entry.Params))}
	for _, p := range f.entry.Params {
		out = append(out, uint64(p.Offset)<<32|uint64(p.Size))
	}
	return out, nil, nil
}

func (s *Server) funcAttr(c *context, req *request) ([]uint64, []byte, error) {
	if err := need(req, 3); err != nil {
		return nil, nil, err
	}
	w := req.words
	f, ok := c.funcs[w[1]]
	if !ok {
		return nil, nil, fail(cuInvalidHandle, "no function %#x in this context", w[1])
	}
	const maxDynamic = 8 // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
	if req.op == opFuncSetAttr {
		if err := need(req, 4); err != nil {
			return nil, nil, err
		}
		v := int64(w[3])
		switch w[2] {
		case maxDynamic:
			if v < 0 || v+int64(f.entry.SharedBytes) > cpuemu.MaxSharedBytes {
				return nil, nil, fail(cuInvalidValue, "%d bytes of dynamic shared memory with %d static: over the %d a block may have", v, f.entry.SharedBytes, cpuemu.MaxSharedBytes)
			}
			c.maxDyn[w[1]] = int(v)
			return nil, nil, nil
		case 9: // PREFERRED_SHARED_MEMORY_CARVEOUT: a hint
			return nil, nil, nil
		}
		return nil, nil, fail(cuInvalidValue, "function attribute %d cannot be set", w[2])
	}
	maxThreads := int64(1024)
	if f.entry.MaxNTID > 0 && f.entry.MaxNTID < maxThreads {
		maxThreads = f.entry.MaxNTID
	}
	dyn, ok := c.maxDyn[w[1]]
	if !ok {
		dyn = 48<<10 - f.entry.SharedBytes
	}
	vals := map[uint64]int64{
		0: maxThreads,                 // MAX_THREADS_PER_BLOCK
		1: int64(f.entry.SharedBytes), // SHARED_SIZE_BYTES
		2: 0,                          // CONST_SIZE_BYTES
		3: int64(f.entry.LocalBytes),  // LOCAL_SIZE_BYTES
		4: 32,                         // NUM_REGS: the emulator has no register allocation
		5: 70,                         // PTX_VERSION: the sm_70 target
		6: 70,                         // BINARY_VERSION
		7: 0,                          // CACHE_MODE_CA
		8: int64(dyn),                 // MAX_DYNAMIC_SHARED_SIZE_BYTES
		9: -1,                         // PREFERRED_SHARED_MEMORY_CARVEOUT
	}
	v, ok := vals[w[2]]
	if !ok {
		return nil, nil, fail(cuInvalidValue, "function attribute %d", w[2])
	}
	return []uint64{uint64(v)}, nil, nil
}

func (s *Server) hostAlloc(c *context, req *request) ([]uint64, []byte, error) {
	if err := need(req, 3); err != nil {
		return nil, nil, err
	}
	n := req.words[1]
	if req.fd < 0 {
		return nil, nil, fail(cuInvalidValue, "host alloc without its shared memory")
	}
	if n == 0 || n > uint64(c.dev.Info().TotalMemory) {
		return nil, nil, fail(cuOutOfMemory, "host alloc of %d bytes: the emulated device has %d", n, c.dev.Info().TotalMemory)
	}
	b, err := syscall.Mmap(req.fd, 0, int(n), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fail(cuOutOfMemory, "mapping %d bytes of host memory: %v", n, err)
	}
	hb, err := emu.AdoptHost(c.dev, b)
	if err != nil {
		syscall.Munmap(b)
		return nil, nil, err
	}
	id := s.id()
	c.hosts[id] = &hostMem{hb: hb, mapping: b, devPtr: hb.DevicePtr()}
	return []uint64{id, hb.DevicePtr()}, nil, nil
}

// copy serves the copies and memsets: each is queued on its stream and
// done there on the device's memory at whatever addresses it names, as
// the driver's are.
func (s *Server) copy(c *context, req *request) error {
	w := req.words
	if err := need(req, 4); err != nil {
		return err
	}
	st, err := c.stream(w[1])
	if err != nil {
		return err
	}
	mem := c.mem
	var op string
	var run func() error
	switch req.op {
	case opCopyHtoD: // dst, host id (0: staging), offset, n
		if err := need(req, 6); err != nil {
			return err
		}
		dst, n := cpuemu.DevicePtr(w[2]), w[5]
		src, err := s.hostBytes(c, w[3], w[4], n)
		if err != nil {
			return err
		}
		if w[3] == 0 {
			src = append([]byte(nil), src...) // the staging area is reused at once
		}
		op, run = "copy HtoD", func() error { return mem.Write(dst, src) }
	case opCopyDtoH: // host id (0: staging), offset, src, n
		if err := need(req, 6); err != nil {
			return err
		}
		src, n := cpuemu.DevicePtr(w[4]), w[5]
		dst, err := s.hostBytes(c, w[2], w[3], n)
		if err != nil {
			return err
		}
		op, run = "copy DtoH", func() error { return mem.Read(dst, src) }
	case opCopyHtoDMerge: // dst, n; staging: n new bytes, then the n they replace
		dst, n := cpuemu.DevicePtr(w[2]), w[3]
		if n > StagingSize/2 {
			return fail(cuInvalidValue, "merge of %d bytes: the staging area holds %d and their base", n, StagingSize/2)
		}
		// Only the bytes the program changed are written: a kernel's
		// writes to the others, not yet copied out, stay.
		b, err := s.hostBytes(c, 0, 0, 2*n)
		if err != nil {
			return err
		}
		src, base := append([]byte(nil), b[:n]...), b[n:]
		op, run = "merge HtoD", func() error {
			for i := 0; i < len(src); {
				if src[i] == base[i] {
					i++
					continue
				}
				j := i + 1
				for j < len(src) && src[j] != base[j] {
					j++
				}
				if err := mem.Write(dst+cpuemu.DevicePtr(i), src[i:j]); err != nil {
					return err
				}
				i = j
			}
			return nil
		}
	case opCopyDtoD: // dst, src, n
		if err := need(req, 5); err != nil {
			return err
		}
		dst, src, n := cpuemu.DevicePtr(w[2]), cpuemu.DevicePtr(w[3]), w[4]
		if n > MaxPayload*64 {
			return fail(cuInvalidValue, "copy of %d bytes", n)
		}
		op, run = "copy DtoD", func() error {
			buf := make([]byte, n)
			if err := mem.Read(buf, src); err != nil {
				return err
			}
			return mem.Write(dst, buf)
		}
	case opMemset: // dst, value, element size, count
		if err := need(req, 6); err != nil {
			return err
		}
		dst, v, elem, n := cpuemu.DevicePtr(w[2]), w[3], w[4], w[5]
		if elem != 1 && elem != 2 && elem != 4 || n > uint64(c.dev.Info().TotalMemory) {
			return fail(cuInvalidValue, "memset of %d elements of %d bytes", n, elem)
		}
		if elem > 1 && uint64(dst)%elem != 0 {
			return fail(cuInvalidValue, "memset of %d-byte elements at %#x: misaligned", elem, uint64(dst))
		}
		op = "memset"
		run = func() error {
			if elem == 1 {
				return mem.Memset(dst, byte(v), int(n))
			}
			buf := make([]byte, n*elem)
			for i := uint64(0); i < n*elem; i++ {
				buf[i] = byte(v >> (8 * (i % elem)))
			}
			return mem.Write(dst, buf)
		}
	}
	if err := c.order(st); err != nil {
		return err
	}
	return emu.Do(st.s, op, run)
}

// hostBytes is n bytes at off of host memory id, or of the staging area
// when id is 0.
func (s *Server) hostBytes(c *context, id, off, n uint64) ([]byte, error) {
	var b []byte
	if id == 0 {
		b = s.stage
	} else {
		h, ok := c.hosts[id]
		if !ok || h.mapping == nil {
			return nil, fail(cuInvalidValue, "no host memory %#x in this context", id)
		}
		b = h.mapping
	}
	if off > uint64(len(b)) || n > uint64(len(b))-off {
		return nil, fail(cuInvalidValue, "%d bytes at offset %d run past the %d-byte host memory", n, off, len(b))
	}
	return b[off : off+n], nil
}

func (s *Server) launch(c *context, req *request) error {
	if err := need(req, 11); err != nil {
		return err
	}
	w := req.words
	f, ok := c.funcs[w[1]]
	if !ok {
		return fail(cuInvalidHandle, "no function %#x in this context", w[1])
	}
	st, err := c.stream(w[9])
	if err != nil {
		return err
	}
	for _, v := range w[2:8] {
		if v == 0 || v > math.MaxUint32 {
			return fail(cuInvalidValue, "launch %s: grid and block dimensions must be 1 to 2^32-1", f.entry.Name)
		}
	}
	shared := w[8]
	limit := uint64(48<<10 - f.entry.SharedBytes)
	if d, ok := c.maxDyn[w[1]]; ok {
		limit = uint64(d)
	}
	if shared > limit {
		return fail(cuInvalidValue, "launch %s: %d bytes of dynamic shared memory; the function allows %d (cuFuncSetAttribute MAX_DYNAMIC_SHARED_SIZE_BYTES raises it)", f.entry.Name, shared, limit)
	}
	params := make([][]byte, len(f.entry.Params))
	pos := 0
	for i, p := range f.entry.Params {
		if pos+p.Size > len(req.data) {
			return fail(cuInvalidValue, "launch %s: %d bytes of parameters; the kernel's take more", f.entry.Name, len(req.data))
		}
		params[i] = req.data[pos : pos+p.Size]
		pos += p.Size
	}
	cfg := gpu.LaunchConfig{
		Grid:        gpu.Dim3{X: uint32(w[2]), Y: uint32(w[3]), Z: uint32(w[4])},
		Block:       gpu.Dim3{X: uint32(w[5]), Y: uint32(w[6]), Z: uint32(w[7])},
		SharedBytes: int(shared),
		Cooperative: w[10] != 0,
	}
	if err := c.order(st); err != nil {
		return err
	}
	err = emu.LaunchRaw(st.s, f.k, cfg, params, func(res *cpuemu.Result, err error) error {
		s.report(f.entry.Name, res, err)
		var ce *cpuemu.CheckError
		if errors.As(err, &ce) {
			// The checker reports; like compute-sanitizer, it does not
			// fail the launch.
			return nil
		}
		if err != nil {
			if s.cfg.Log != nil {
				fmt.Fprintf(s.cfg.Log, "gpubuf driver: %v\n", err)
			}
			c.fault(err)
		}
		return err
	})
	if err != nil {
		var ge *gpu.Error
		if errors.As(err, &ge) && ge.Err == nil && !errors.Is(err, gpu.ErrClosed) {
			msg := err.Error()
			switch {
			case bytes.Contains([]byte(msg), []byte("cooperative")):
				return fail(cuCoopTooLarge, "%s", msg)
			case bytes.Contains([]byte(msg), []byte("threads")), bytes.Contains([]byte(msg), []byte("shared")):
				return fail(cuInvalidValue, "%s", msg)
			}
		}
		return err
	}
	return nil
}

// report writes a checked launch's findings to the report writer in
// compute-sanitizer's form, counts its errors, and adds them to the SARIF
// log. A checked launch that gave no report (it failed before running)
// goes into the SARIF log as a failure, so that the log never reads as
// clean for it.
func (s *Server) report(kernel string, res *cpuemu.Result, err error) {
	if !s.cfg.Emu.Check {
		return
	}
	var rep *cpuemu.Report
	if res != nil {
		rep = res.Report
	}
	var ce *cpuemu.CheckError
	if rep == nil && errors.As(err, &ce) {
		rep = ce.Report
	}
	s.repMu.Lock()
	defer s.repMu.Unlock()
	if s.sarif != nil {
		if rep != nil {
			s.sarif.Add(sarif.Launch{Report: rep, Schedule: s.schedule()})
		} else {
			if err == nil {
				err = errors.New("no checker report")
			}
			s.sarif.AddFailure(kernel, err)
		}
	}
	if rep == nil || rep.CleanAt(cpuemu.SeverityWarning) {
		return
	}
	s.errs.Add(int64(rep.Findings(cpuemu.SeverityError)))
	rep.WriteText(s.cfg.Report)
}

// schedule names the scheduler the launches ran under, for the SARIF log.
func (s *Server) schedule() string {
	name := s.cfg.Emu.Scheduler
	if name == "" {
		name = "lockstep"
	}
	sched, err := cpuemu.ParseScheduler(name)
	if err != nil {
		return name
	}
	return cpuemu.Schedule{Scheduler: sched, Seed: s.cfg.Emu.Seed}.String()
}
