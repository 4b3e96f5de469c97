package cpuemu

import (
	"fmt"
	"unsafe"
)

// Adopt makes b, memory the caller owns, an allocation of d's global
// memory, and returns its device address: kernels launched on d read and
// write b itself, with the same checks as memory of Alloc. It is how a
// driver serving another process maps that process's page-locked host
// memory (a shared mapping) into the emulated device, zero-copy. b must be
// 8-byte aligned (a page-aligned mapping is), for the emulator's word
// accesses. Its bytes count against the memory limit until Free; Free
// forgets b, and the caller then owns it alone again.
func (d *Device) Adopt(b []byte) (DevicePtr, error) {
	n := len(b)
	if n <= 0 {
		return 0, &DeviceMemoryError{Op: "adopt", Size: int64(n), Msg: "size must be positive"}
	}
	if p := uintptrOf(b); p%8 != 0 {
		return 0, &DeviceMemoryError{Op: "adopt", Size: int64(n), Msg: fmt.Sprintf("memory at host address %#x is not 8-byte aligned", p)}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.charge("adopt", int64(n), false); err != nil {
		return 0, err
	}
	base := d.next
	d.next = (base + uint64(n) + 256 + 255) &^ 255
	d.allocs = append(d.allocs, &allocation{base: base, data: b[:n:n]})
	return DevicePtr(base), nil
}

// InUse is the bytes d holds allocated and reserved: what cuMemGetInfo
// subtracts from the limit.
func (d *Device) InUse() (inUse, limit int64) {
	d.acct.Lock()
	defer d.acct.Unlock()
	return d.inUse, d.limit
}

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
