//go:build cuda

package cuda

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gpubuf/gpubuf/gpu"
	"gorgonia.org/cu"
)

// The synchronous operations (Alloc's zeroing, DeviceBuffer's copies and
// Memset) run on the legacy default stream, which does not order itself
// with the device's streams (they are created non-blocking). A host to
// device copy from pageable memory may return before the data has landed,
// and a memset returns at once, so each is followed by a synchronization
// of the default stream: when they return, the memory holds what they
// wrote, whatever stream reads it next.

// DeviceBuffer is device memory (cuMemAlloc), or a module's variable
// (Module.Global).
type DeviceBuffer struct {
	dev  *Device
	ptr  cu.DevicePtr
	size int
	live atomic.Bool
	// mod and sym name a module's variable, which the module owns.
	mod *Module
	sym string
}

var _ gpu.DeviceBuffer = (*DeviceBuffer)(nil)

// Alloc allocates n bytes of device memory, zeroed; n must be positive.
func (d *Device) Alloc(n int) (gpu.DeviceBuffer, error) {
	op := fmt.Sprintf("alloc %d bytes", n)
	if n <= 0 {
		return nil, usageErr(op, "the size must be positive")
	}
	b := &DeviceBuffer{dev: d, size: n}
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.leave()
	err := d.do(func() error {
		p, err := cu.MemAlloc(int64(n))
		if err != nil {
			return err
		}
		if err := cu.MemsetD8(p, 0, int64(n)); err != nil {
			cu.MemFree(p)
			return err
		}
		if err := cu.NoStream.Synchronize(); err != nil {
			cu.MemFree(p)
			return err
		}
		b.ptr = p
		return nil
	})
	if err != nil {
		return nil, wrapErr(op, err)
	}
	b.live.Store(true)
	track(d, d.dbufs, b)
	return b, nil
}

func (b *DeviceBuffer) Size() int   { return b.size }
func (b *DeviceBuffer) Ptr() uint64 { return uint64(b.ptr) }

// CopyFromHost copies src into the buffer at off (cuMemcpyHtoD).
func (b *DeviceBuffer) CopyFromHost(off int, src []byte) error {
	const op = "copy to device"
	if err := checkRange(op, "device buffer", off, len(src), b.size); err != nil {
		return err
	}
	return b.call(op, len(src), func() error {
		if err := cu.MemcpyHtoD(b.ptr+cu.DevicePtr(off), unsafe.Pointer(&src[0]), int64(len(src))); err != nil {
			return err
		}
		return cu.NoStream.Synchronize()
	})
}

// CopyToHost copies the buffer at off into dst (cuMemcpyDtoH).
func (b *DeviceBuffer) CopyToHost(dst []byte, off int) error {
	const op = "copy to host"
	if err := checkRange(op, "device buffer", off, len(dst), b.size); err != nil {
		return err
	}
	return b.call(op, len(dst), func() error {
		return cu.MemcpyDtoH(unsafe.Pointer(&dst[0]), b.ptr+cu.DevicePtr(off), int64(len(dst)))
	})
}

// Memset sets n bytes at off to v (cuMemsetD8).
func (b *DeviceBuffer) Memset(off, n int, v byte) error {
	const op = "memset"
	if err := checkRange(op, "device buffer", off, n, b.size); err != nil {
		return err
	}
	return b.call(op, n, func() error {
		if err := cu.MemsetD8(b.ptr+cu.DevicePtr(off), v, int64(n)); err != nil {
			return err
		}
		return cu.NoStream.Synchronize()
	})
}

// call runs f for operation op on the live buffer, unless n is 0.
func (b *DeviceBuffer) call(op string, n int, f func() error) error {
	d := b.dev
	if err := d.enter(op); err != nil {
		return err
	}
	defer d.leave()
	if !b.live.Load() {
		return b.goneErr(op, "the device buffer")
	}
	if n == 0 {
		return nil
	}
	if err := d.do(f); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// goneErr is the error of a use of the buffer after its Free, or after
// its module's Close.
func (b *DeviceBuffer) goneErr(op, what string) *gpu.Error {
	if b.mod != nil {
		return &gpu.Error{Backend: backend, Op: op, Msg: fmt.Sprintf("%s is variable %s of module %s, which was closed", what, b.sym, b.mod.name), Err: gpu.ErrClosed}
	}
	return &gpu.Error{Backend: backend, Op: op, Msg: what + " was freed", Err: gpu.ErrClosed}
}

// Free frees the memory (cuMemFree). It is idempotent. A module's
// variable is not freed: it lives as long as its module.
func (b *DeviceBuffer) Free() error {
	if b.mod != nil {
		return usageErr("free device memory", "the device buffer is variable %s of module %s: the module owns it, and closing the module frees it", b.sym, b.mod.name)
	}
	d := b.dev
	if d.enter("free device memory") != nil {
		return nil // the device's Close freed it
	}
	defer d.leave()
	if !b.live.Swap(false) {
		return nil
	}
	untrack(d, d.dbufs, b)
	if err := d.do(func() error { return cu.MemFree(b.ptr) }); err != nil {
		return wrapErr("free device memory", err)
	}
	return nil
}

// HostBuffer is page-locked host memory: allocated (cuMemHostAlloc) by
// AllocHost, or the caller's memory registered (cuMemHostRegister) by
// RegisterHost.
type HostBuffer struct {
	dev        *Device
	p          unsafe.Pointer
	size       int
	dptr       uint64
	mapped     bool
	registered bool
	pin        runtime.Pinner // registered: keeps the caller's memory where it is
	live       atomic.Bool

	// mu orders Bytes against the buffer's retirement (by its Free or
	// the device's Close): Bytes read-holds it, and retirement
	// write-holds it while it marks the buffer gone, so that Bytes gives
	// the memory only before that, and nil after.
	mu   sync.RWMutex
	mem  []byte      // registered: the caller's memory; under mu
	lent atomic.Bool // Bytes has given out memory from AllocHost
}

var _ gpu.HostBuffer = (*HostBuffer)(nil)

// AllocHost allocates n bytes of page-locked host memory
// (cuMemHostAlloc), zeroed; n must be positive. It is always portable (page-locked for every
// context); mapped into the device's address space when flags has
// gpu.HostMapped and the device can map host memory (Mapped says whether
// it is); write-combined only when flags has gpu.HostWriteCombined.
func (d *Device) AllocHost(n int, flags gpu.HostFlags) (gpu.HostBuffer, error) {
	op := fmt.Sprintf("alloc %d bytes of host memory", n)
	if n <= 0 {
		return nil, usageErr(op, "the size must be positive")
	}
	if flags&^(gpu.HostMapped|gpu.HostWriteCombined) != 0 {
		return nil, usageErr(op, "unknown flags %#x", uint(flags))
	}
	h := &HostBuffer{dev: d, size: n, mapped: flags&gpu.HostMapped != 0 && d.canMap}
	cflags := uint(hostAllocPortable)
	if h.mapped {
		cflags |= hostAllocDeviceMap
	}
	if flags&gpu.HostWriteCombined != 0 {
		cflags |= hostAllocWriteCombined
	}
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.leave()
	err := d.do(func() error {
		p, err := memHostAlloc(n, cflags)
		if err != nil {
			return err
		}
		if h.mapped {
			if h.dptr, err = memHostDevicePointer(p); err != nil {
				memFreeHost(p)
				return err
			}
		}
		h.p = p
		return nil
	})
	if err != nil {
		return nil, wrapErr(op, err)
	}
	clear(unsafe.Slice((*byte)(h.p), n))
	h.live.Store(true)
	track(d, d.hbufs, h)
	return h, nil
}

// RegisterHost page-locks the caller's memory b (cuMemHostRegister) so that
// streams copy to and from it asynchronously, as with AllocHost's memory,
// and, when flags has gpu.HostMapped and the device can map host memory,
// maps it into the device's address space. gpu.HostWriteCombined is an
// error: only allocated memory can be write-combined. Free unregisters b;
// b itself stays the caller's.
//
// The driver keeps b's address after the call, and its DMA engines read
// and write the pages behind it, so b must stay where it is until Free.
// For Go memory this relies on two things: Go's garbage collector never
// moves a heap object, and b escapes to the heap here (the buffer keeps
// it), so it is never on a goroutine stack, whose memory does move. On top
// of that, b's object is pinned with a runtime.Pinner until Free, which is
// what cgo's rules ask of Go memory that C code keeps, and the buffer
// keeps b reachable until then. Registration is by whole pages, and two
// registrations may not share one: register memory that no other
// registration touches, such as a slice of 32 KiB or more made for the
// purpose (Go gives such an allocation whole pages of its own), or memory
// from outside the Go heap (mmap).
func (d *Device) RegisterHost(b []byte, flags gpu.HostFlags) (gpu.HostBuffer, error) {
	op := fmt.Sprintf("register %d bytes of host memory", len(b))
	if len(b) == 0 {
		return nil, usageErr(op, "nothing to register")
	}
	if flags&gpu.HostWriteCombined != 0 {
		return nil, usageErr(op, "registered memory cannot be write-combined; allocate it with AllocHost")
	}
	if flags&^gpu.HostMapped != 0 {
		return nil, usageErr(op, "unknown flags %#x", uint(flags))
	}
	h := &HostBuffer{dev: d, size: len(b), mem: b, p: unsafe.Pointer(&b[0]), registered: true,
		mapped: flags&gpu.HostMapped != 0 && d.canMap}
	cflags := uint(hostRegisterPortable)
	if h.mapped {
		cflags |= hostRegisterDeviceMap
	}
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.leave()
	h.pin.Pin(&b[0])
	err := d.do(func() error {
		if err := memHostRegister(h.p, h.size, cflags); err != nil {
			return err
		}
		if h.mapped {
			var err error
			if h.dptr, err = memHostDevicePointer(h.p); err != nil {
				memHostUnregister(h.p)
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.pin.Unpin()
		return nil, wrapErr(op, err)
	}
	h.live.Store(true)
	track(d, d.hbufs, h)
	return h, nil
}

// Bytes is the memory; nil after Free. Memory from AllocHost is the
// context's: once Bytes has given it out, the device's Close refuses
// until the buffer is freed (see Device.Close).
func (h *HostBuffer) Bytes() []byte {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if !h.live.Load() {
		return nil
	}
	if h.registered {
		return h.mem
	}
	h.lent.Store(true)
	return unsafe.Slice((*byte)(h.p), h.size)
}

func (h *HostBuffer) Size() int         { return h.size }
func (h *HostBuffer) Mapped() bool      { return h.mapped }
func (h *HostBuffer) DevicePtr() uint64 { return h.dptr }
func (h *HostBuffer) PageLocked() bool  { return true }

// Free frees the memory (cuMemFreeHost), or unregisters registered memory
// (cuMemHostUnregister). It is idempotent.
func (h *HostBuffer) Free() error {
	d := h.dev
	op := "free host memory"
	if h.registered {
		op = "unregister host memory"
	}
	if d.enter(op) != nil {
		return nil // the device's Close released it
	}
	defer d.leave()
	h.mu.Lock()
	retired := h.retireLocked()
	h.mu.Unlock()
	if !retired {
		return nil
	}
	untrack(d, d.hbufs, h)
	if err := d.do(h.releaseMem); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// retireLocked marks the buffer gone, once, and reports whether this was
// the time; h.mu is held. The memory is released after, by releaseMem.
func (h *HostBuffer) retireLocked() bool {
	if !h.live.Swap(false) {
		return false
	}
	h.mem = nil
	return true
}

// releaseMem frees or unregisters the memory of a retired buffer; the
// context must be current. Registered memory stays pinned for Go's
// runtime until the driver has let it go.
func (h *HostBuffer) releaseMem() error {
	if h.registered {
		err := memHostUnregister(h.p)
		h.pin.Unpin()
		return err
	}
	return memFreeHost(h.p)
}

// checkRange checks that [off, off+n) lies within size bytes.
func checkRange(op, what string, off, n, size int) error {
	if off < 0 || n < 0 || off > size || n > size-off {
		return usageErr(op, "%d bytes at offset %d are outside the %s's %d bytes", n, off, what, size)
	}
	return nil
}
