package emu

import (
	"fmt"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
)

// Alloc allocates n zeroed bytes of emulated device memory.
func (d *device) Alloc(n int) (gpu.DeviceBuffer, error) {
	if n <= 0 {
		return nil, msgErr("alloc", "size %d: must be positive", n)
	}
	if d.isClosed() {
		return nil, closedErr("alloc", "device is closed")
	}
	p, err := d.mem.Alloc(n)
	if err != nil {
		return nil, opErr("alloc", err)
	}
	b := &deviceBuffer{d: d, ptr: p, size: n}
	if err := register(d, &d.bufs, b, "alloc"); err != nil {
		d.mem.Free(p)
		return nil, err
	}
	return b, nil
}

// deviceBuffer is one cpuemu allocation, or a module's variable (see
// module.Global).
type deviceBuffer struct {
	d    *device
	ptr  cpuemu.DevicePtr
	size int
	refs refs
	// mod and sym name a module's variable: the module owns its storage,
	// and its users hold the module (mod.refs) instead of refs.
	mod *module
	sym string
}

func (b *deviceBuffer) Size() int   { return b.size }
func (b *deviceBuffer) Ptr() uint64 { return uint64(b.ptr) }

// hold adds a user of the buffer's memory, unless it is gone; drop ends
// the use.
func (b *deviceBuffer) hold() bool {
	if b.mod != nil {
		return b.mod.refs.acquire()
	}
	return b.refs.acquire()
}

func (b *deviceBuffer) drop() {
	if b.mod != nil {
		b.mod.launchDone()
		return
	}
	b.refs.release()
}

// gone says why the buffer cannot be used any more.
func (b *deviceBuffer) gone() string {
	if b.mod != nil {
		return fmt.Sprintf("module %s, whose variable %s the device buffer is, is closed", b.mod.Name(), b.sym)
	}
	return "device buffer was freed"
}

func (b *deviceBuffer) use(op string) error {
	if !b.hold() {
		return closedErr(op, b.gone())
	}
	return nil
}

func (b *deviceBuffer) CopyFromHost(off int, src []byte) error {
	const op = "copy to device buffer"
	if err := b.use(op); err != nil {
		return err
	}
	defer b.drop()
	if err := checkRange(op, "device buffer", off, len(src), b.size); err != nil {
		return err
	}
	return b.write(op, off, src)
}

func (b *deviceBuffer) CopyToHost(dst []byte, off int) error {
	const op = "copy from device buffer"
	if err := b.use(op); err != nil {
		return err
	}
	defer b.drop()
	if err := checkRange(op, "device buffer", off, len(dst), b.size); err != nil {
		return err
	}
	return b.read(op, dst, off)
}

func (b *deviceBuffer) Memset(off, n int, v byte) error {
	const op = "memset"
	if err := b.use(op); err != nil {
		return err
	}
	defer b.drop()
	if err := checkRange(op, "device buffer", off, n, b.size); err != nil {
		return err
	}
	return b.memset(op, off, n, v)
}

// write, read and memset do the copies of a buffer whose range is checked
// and which the caller holds.
func (b *deviceBuffer) write(op string, off int, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	if err := b.d.mem.Write(b.ptr+cpuemu.DevicePtr(off), src); err != nil {
		return opErr(op, err)
	}
	return nil
}

func (b *deviceBuffer) read(op string, dst []byte, off int) error {
	if len(dst) == 0 {
		return nil
	}
	if err := b.d.mem.Read(dst, b.ptr+cpuemu.DevicePtr(off)); err != nil {
		return opErr(op, err)
	}
	return nil
}

func (b *deviceBuffer) memset(op string, off, n int, v byte) error {
	if n == 0 {
		return nil
	}
	if err := b.d.mem.Memset(b.ptr+cpuemu.DevicePtr(off), v, n); err != nil {
		return opErr(op, err)
	}
	return nil
}

// Free waits for the queued work that uses the buffer, then frees it.
// Later uses return an error wrapping gpu.ErrClosed. Free is idempotent.
// A module's variable is not freed: it lives as long as its module.
func (b *deviceBuffer) Free() error {
	if b.mod != nil {
		return msgErr("free", "the device buffer is variable %s of module %s: the module owns it, and closing the module frees it", b.sym, b.mod.Name())
	}
	first, _ := b.refs.close()
	if !first {
		return nil
	}
	b.refs.wait()
	unregister(b.d, &b.d.bufs, b)
	if err := b.d.mem.Free(b.ptr); err != nil {
		return opErr("free", err)
	}
	return nil
}

// AllocHost allocates n bytes of host memory. With gpu.HostMapped they are
// emulated device memory that kernels read and write directly; otherwise
// an ordinary Go slice, whose bytes the device reserves (cpuemu's
// Device.Reserve) before the slice is made. Either way they count against
// the device's memory limit, so that no size a caller asks for is
// unbounded. gpu.HostWriteCombined changes nothing on the emulator.
func (d *device) AllocHost(n int, flags gpu.HostFlags) (gpu.HostBuffer, error) {
	const op = "alloc host"
	if n <= 0 {
		return nil, msgErr(op, "size %d: must be positive", n)
	}
	if unknown := flags &^ (gpu.HostMapped | gpu.HostWriteCombined); unknown != 0 {
		return nil, msgErr(op, "unknown host flags %#x", uint(unknown))
	}
	if d.isClosed() {
		return nil, closedErr(op, "device is closed")
	}
	h := &hostBuffer{d: d}
	if flags&gpu.HostMapped != 0 {
		p, err := d.mem.Alloc(n)
		if err != nil {
			return nil, opErr(op, err)
		}
		v, err := d.mem.View(p, n)
		if err != nil {
			d.mem.Free(p)
			return nil, opErr(op, err)
		}
		h.ptr, h.bytes, h.mapped = p, v, true
	} else {
		if err := d.mem.Reserve(n); err != nil {
			return nil, opErr(op, err)
		}
		h.bytes = make([]byte, n)
	}
	if err := register(d, &d.hosts, h, op); err != nil {
		h.release()
		return nil, err
	}
	return h, nil
}

// release gives the buffer's bytes back to the device.
func (h *hostBuffer) release() error {
	if h.mapped {
		return h.d.mem.Free(h.ptr)
	}
	return h.d.mem.Unreserve(len(h.bytes))
}

// hostBuffer is host memory: a view of a cpuemu allocation when mapped.
type hostBuffer struct {
	d      *device
	bytes  []byte
	mapped bool
	ptr    cpuemu.DevicePtr // when mapped
	refs   refs
}

// Bytes is the memory; nil after Free.
func (h *hostBuffer) Bytes() []byte {
	if h.refs.isClosed() {
		return nil
	}
	return h.bytes
}

func (h *hostBuffer) Size() int        { return len(h.bytes) }
func (h *hostBuffer) PageLocked() bool { return false }

// Mapped and DevicePtr are nil-safe: gpu.CheckArgs calls them on whatever
// it is given.
func (h *hostBuffer) Mapped() bool { return h != nil && h.mapped }
func (h *hostBuffer) DevicePtr() uint64 {
	if h == nil {
		return 0
	}
	return uint64(h.ptr)
}

func (h *hostBuffer) use(op string) error {
	if !h.refs.acquire() {
		return closedErr(op, "host buffer was freed")
	}
	return nil
}

// Free waits for the queued work that uses the buffer, then frees it.
// Later uses return an error wrapping gpu.ErrClosed. Free is idempotent.
func (h *hostBuffer) Free() error {
	first, _ := h.refs.close()
	if !first {
		return nil
	}
	h.refs.wait()
	unregister(h.d, &h.d.hosts, h)
	if err := h.release(); err != nil {
		return opErr("free host", err)
	}
	return nil
}
