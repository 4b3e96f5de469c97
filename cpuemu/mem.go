package cpuemu

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"sync"
)

// DevicePtr is an address in the emulated device's global memory.
type DevicePtr uint64

// The emulated address map. Generic addresses (PTX ISA §6.4.1.1) carry their
// space in the top bits: windows for shared, local, const and param memory,
// module variables, and the global allocations.
const (
	sharedWindow  = 1 << 44
	localWindow   = 2 << 44
	constWindow   = 3 << 44
	paramWindow   = 4 << 44
	codeWindow    = 5 << 44 // function addresses (function pointers); no memory lives here
	moduleGlobals = 6 << 44 // each module's .global and .const variables get a moduleWindow range
	globalBase    = 7 << 44
	windowSize    = 1 << 44
	// moduleWindow is the address range of one module's .global
	// variables, then (at constOffset) its .const variables, each at most
	// maxModuleData; Load hands the ranges out in turn, and a device
	// refuses to map two live modules onto one range.
	moduleWindow = 1 << 27
	constOffset  = moduleWindow / 2
	moduleSlots  = (globalBase - moduleGlobals) / moduleWindow
)

// Device is the emulator's device memory: an arena of allocations. A launch
// sees only the allocations of the Device it runs on, and every access is
// bounds- and alignment-checked.
type Device struct {
	mu       sync.Mutex    // guards the arena; a launch holds it throughout
	allocs   []*allocation // sorted by base
	next     uint64
	modules  map[*Module]*moduleMap
	launchMu sync.Mutex // one launch at a time per device

	// acct guards the accounts, apart from mu, so that reserving host
	// memory never waits for a launch. Taken after mu, never before.
	acct     sync.Mutex
	inUse    int64 // bytes allocated, and reserved
	reserved int64 // bytes reserved (see Reserve)
	limit    int64
}

type allocation struct {
	base uint64
	data []byte // from newMemory: aligned host words, for parallel launches
	// readOnly marks a module's .const variables: the host writes them
	// (Write, as cudaMemcpyToSymbol does), kernels only read them.
	readOnly bool
}

// moduleMap is a module's storage on one device: its .global and .const
// variables, each nil when the module has none. Kernels of the module
// launched on the device read its .const variables here, so a host
// write to them is seen by later launches on this device only.
type moduleMap struct {
	global, cnst *allocation
}

// DefaultMemoryLimit bounds the bytes a Device may allocate (and reserve).
const DefaultMemoryLimit = 4 << 30

// NewDevice returns an empty emulated device with the default memory limit.
func NewDevice() *Device {
	return &Device{next: globalBase, limit: DefaultMemoryLimit, modules: map[*Module]*moduleMap{}}
}

// SetMemoryLimit changes the most bytes the device may hold allocated and
// reserved.
func (d *Device) SetMemoryLimit(n int64) { d.acct.Lock(); d.limit = n; d.acct.Unlock() }

// charge counts n more bytes in use, or fails when they do not fit.
func (d *Device) charge(op string, n int64, reserve bool) error {
	d.acct.Lock()
	defer d.acct.Unlock()
	if d.inUse+n > d.limit {
		return &DeviceMemoryError{Op: op, Size: n, Msg: fmt.Sprintf("over the device memory limit (%d of %d bytes in use)", d.inUse, d.limit)}
	}
	d.inUse += n
	if reserve {
		d.reserved += n
	}
	return nil
}

// DeviceMemoryError is a bad host-side memory call: an unknown pointer, a copy
// past the end of an allocation, an allocation over the limit.
type DeviceMemoryError struct {
	Op   string
	Ptr  DevicePtr
	Size int64
	Msg  string
}

func (e *DeviceMemoryError) Error() string {
	return fmt.Sprintf("%s %#x (%d bytes): %s", e.Op, uint64(e.Ptr), e.Size, e.Msg)
}

// Alloc reserves n bytes of zeroed global memory, aligned to 256 bytes as
// cuMemAlloc's are.
func (d *Device) Alloc(n int) (DevicePtr, error) {
	if n <= 0 {
		return 0, &DeviceMemoryError{Op: "alloc", Size: int64(n), Msg: "size must be positive"}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.charge("alloc", int64(n), false); err != nil {
		return 0, err
	}
	base := d.next
	// A 256-byte guard gap after each allocation turns small overruns into
	// faults instead of silent writes into a neighbour.
	d.next = (base + uint64(n) + 256 + 255) &^ 255
	a := &allocation{base: base, data: newMemory(n)}
	d.allocs = append(d.allocs, a)
	return DevicePtr(base), nil
}

// Free releases an allocation made by Alloc.
func (d *Device) Free(p DevicePtr) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := d.find(uint64(p))
	if i < 0 || d.allocs[i].base != uint64(p) || d.allocs[i].base < globalBase {
		return &DeviceMemoryError{Op: "free", Ptr: p, Msg: "not the start of a live allocation"}
	}
	d.acct.Lock()
	d.inUse -= int64(len(d.allocs[i].data))
	d.acct.Unlock()
	d.allocs = append(d.allocs[:i], d.allocs[i+1:]...)
	return nil
}

// Reserve counts n bytes held outside the device against its memory
// limit, as Alloc counts an allocation, without allocating them: a backend
// that keeps its host buffers in Go memory reserves them here, so that
// they are bounded by the same limit as device memory. Over the limit it
// fails with a *DeviceMemoryError, as Alloc does. Unreserve gives them back.
// Unlike Alloc, neither waits for a launch in progress.
func (d *Device) Reserve(n int) error {
	if n <= 0 {
		return &DeviceMemoryError{Op: "reserve", Size: int64(n), Msg: "size must be positive"}
	}
	return d.charge("reserve", int64(n), true)
}

// Unreserve gives back n bytes of a Reserve.
func (d *Device) Unreserve(n int) error {
	d.acct.Lock()
	defer d.acct.Unlock()
	if n <= 0 || int64(n) > d.reserved {
		return &DeviceMemoryError{Op: "unreserve", Size: int64(n), Msg: fmt.Sprintf("not within the %d bytes reserved", d.reserved)}
	}
	d.inUse -= int64(n)
	d.reserved -= int64(n)
	return nil
}

// find returns the index of the allocation containing addr, or -1.
func (d *Device) find(addr uint64) int {
	i := sort.Search(len(d.allocs), func(i int) bool { return d.allocs[i].base > addr }) - 1
	if i < 0 {
		return -1
	}
	a := d.allocs[i]
	if addr-a.base < uint64(len(a.data)) || addr == a.base {
		return i
	}
	return -1
}

func (d *Device) span(op string, p DevicePtr, n int) ([]byte, error) {
	if n < 0 {
		return nil, &DeviceMemoryError{Op: op, Ptr: p, Size: int64(n), Msg: "negative size"}
	}
	i := d.find(uint64(p))
	if i < 0 {
		return nil, &DeviceMemoryError{Op: op, Ptr: p, Size: int64(n), Msg: "not inside a live allocation"}
	}
	a := d.allocs[i]
	off := uint64(p) - a.base
	if off+uint64(n) > uint64(len(a.data)) {
		return nil, &DeviceMemoryError{Op: op, Ptr: p, Size: int64(n), Msg: fmt.Sprintf("runs past the end of its %d-byte allocation", len(a.data))}
	}
	return a.data[off : off+uint64(n)], nil
}

// Write copies host bytes to device memory at p.
func (d *Device) Write(p DevicePtr, src []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := d.span("write", p, len(src))
	if err != nil {
		return err
	}
	copy(b, src)
	return nil
}

// Read copies device memory at p into dst.
func (d *Device) Read(dst []byte, p DevicePtr) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := d.span("read", p, len(dst))
	if err != nil {
		return err
	}
	copy(dst, b)
	return nil
}

// Memset fills n bytes at p with v.
func (d *Device) Memset(p DevicePtr, v byte, n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := d.span("memset", p, n)
	if err != nil {
		return err
	}
	for i := range b {
		b[i] = v
	}
	return nil
}

// Size is the size of the allocation that starts at p, or an error.
func (d *Device) Size(p DevicePtr) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := d.find(uint64(p))
	if i < 0 || d.allocs[i].base != uint64(p) {
		return 0, &DeviceMemoryError{Op: "size", Ptr: p, Msg: "not the start of a live allocation"}
	}
	return len(d.allocs[i].data), nil
}

// mapModule gives a module's .global and .const variables their storage
// on this device, initialised from the module's images, on the module's
// first launch here (or its first Global). The .global variables lie at
// the module's range, the .const ones constOffset above it.
func (d *Device) mapModule(m *Module) error {
	if d.modules[m] != nil || len(m.globalImage) == 0 && len(m.constImage) == 0 {
		return nil
	}
	for other := range d.modules {
		if other.globalBase == m.globalBase {
			// Load hands out moduleSlots ranges in turn: this device still
			// holds a module loaded that many loads before m.
			return &DeviceMemoryError{Op: "map module", Ptr: DevicePtr(m.globalBase), Size: int64(len(m.globalImage)),
				Msg: fmt.Sprintf("module %s would share the .global range of module %s, still mapped on this device (ReleaseModule it first)", m.name, other.name)}
		}
	}
	mm := &moduleMap{}
	if len(m.globalImage) > 0 {
		mm.global = &allocation{base: m.globalBase, data: newMemory(len(m.globalImage))}
		copy(mm.global.data, m.globalImage)
		d.insert(mm.global)
	}
	if len(m.constImage) > 0 {
		mm.cnst = &allocation{base: m.globalBase + constOffset, data: newMemory(len(m.constImage)), readOnly: true}
		copy(mm.cnst.data, m.constImage)
		d.insert(mm.cnst)
	}
	d.modules[m] = mm
	return nil
}

// insert adds an allocation at its place in the sorted list.
func (d *Device) insert(a *allocation) {
	i := sort.Search(len(d.allocs), func(i int) bool { return d.allocs[i].base > a.base })
	d.allocs = append(d.allocs, nil)
	copy(d.allocs[i+1:], d.allocs[i:])
	d.allocs[i] = a
}

// constImage is the storage of m's .const variables on d, once mapped.
func (d *Device) constImage(m *Module) []byte {
	if mm := d.modules[m]; mm != nil && mm.cnst != nil {
		return mm.cnst.data
	}
	return nil
}

func le(b []byte, size int) uint64 {
	switch size {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	default:
		return binary.LittleEndian.Uint64(b)
	}
}

func putLE(b []byte, size int, v uint64) {
	switch size {
	case 1:
		b[0] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(v))
	default:
		binary.LittleEndian.PutUint64(b, v)
	}
}

// View returns the live backing bytes of [p, p+n), which must lie inside
// one live allocation. The slice aliases device memory: what kernels
// launched on d store there shows through it, and what is written through
// it the next launch loads. It stays valid until the allocation is freed,
// after which it is ordinary Go memory, no longer seen by d. Accesses
// through it are not serialised with launches: the caller must not touch
// it while a launch that uses those bytes runs (d's Write, Read and Memset
// wait for a running launch; a View does not).
func (d *Device) View(p DevicePtr, n int) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := d.span("view", p, n)
	if err != nil {
		return nil, err
	}
	return b[:n:n], nil
}

// ReleaseModule frees the storage of m's .global and .const variables on
// d, which m's first launch on d (or Global) made from the module's initial
// images. A later launch of m on d starts again from those images. It does
// nothing when m was never mapped on d or has no such variables. It must
// not be called while a launch of m on d runs.
func (d *Device) ReleaseModule(m *Module) {
	d.mu.Lock()
	defer d.mu.Unlock()
	mm := d.modules[m]
	if mm == nil {
		return
	}
	delete(d.modules, m)
	d.allocs = slices.DeleteFunc(d.allocs, func(a *allocation) bool { return a == mm.global || a == mm.cnst })
}
