package cpuemu

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// Global memory shared by parallel workers.
//
// When the blocks of a launch run on several goroutines, two blocks may
// touch one word of global memory at once: legally (atomics, a flag one
// block polls and another sets, fence-ordered partial sums) or because
// the kernel races. Plain Go loads and stores from several goroutines
// would be a Go data race, undefined in Go's memory model and fatal under
// `go test -race`. So a parallel launch reaches global memory only through
// sync/atomic, a word at a time: a 4- or 8-byte access is one atomic load
// or store, a 1- or 2-byte store a compare-and-swap of the word around it,
// and an atom or red a compare-and-swap loop. A vector access is one
// atomic access per element, which the PTX memory model allows (§8.2.2: a
// vector access is a set of scalar accesses in no particular order).
// Shared, local and parameter memory belong to one block, and so to one
// worker, and keep their plain accesses; so does every launch on one
// worker.
//
// Go's atomics are sequentially consistent, stronger than any order PTX
// asks for, so a fence needs no work of its own. On amd64 an atomic load
// is a plain load and an atomic store an XCHG; see RATIONALE.md for what
// that costs.
//
// The words are read in the host's byte order, so the atomic path needs
// a little-endian host (the PTX byte order); elsewhere launches run on one
// worker.

// wordAtomicHost says the host is little-endian, so a word of emulated
// memory can be read with one host load.
var wordAtomicHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// newMemory returns n zeroed bytes of emulated memory, 8-byte aligned in
// the host's memory and padded to a multiple of 8 bytes, so that any
// naturally aligned access of up to 8 bytes, and the 4-byte word around a
// narrower one, is an aligned host word.
func newMemory(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	w := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), n)
}

// word32At is the host word holding b[0], which must be 4-byte aligned.
func word32At(b []byte) *uint32 { return (*uint32)(unsafe.Pointer(unsafe.SliceData(b))) }

// wordAround is the aligned 4-byte host word containing b[0] and the bit
// offset of b[0] in it. b must lie in memory from newMemory.
func wordAround(b []byte) (*uint32, uint) {
	p := unsafe.Pointer(unsafe.SliceData(b))
	k := uintptr(p) & 3
	return (*uint32)(unsafe.Add(p, -int(k))), uint(k) * 8
}

// atomicLoad reads the size (1, 2, 4 or 8) bytes at b, naturally aligned,
// as one atomic access.
func atomicLoad(b []byte, size int) uint64 {
	switch size {
	case 8:
		return atomic.LoadUint64((*uint64)(unsafe.Pointer(unsafe.SliceData(b))))
	case 4:
		return uint64(atomic.LoadUint32(word32At(b)))
	}
	w, sh := wordAround(b)
	return uint64(atomic.LoadUint32(w)>>sh) & (1<<(8*size) - 1)
}

// atomicStore writes v's low size bytes at b, naturally aligned, as one
// atomic access; a narrow store replaces its bytes of the word around it
// and leaves the others as other workers left them.
func atomicStore(b []byte, size int, v uint64) {
	switch size {
	case 8:
		atomic.StoreUint64((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), v)
		return
	case 4:
		atomic.StoreUint32(word32At(b), uint32(v))
		return
	}
	w, sh := wordAround(b)
	mask := uint32(1<<(8*size)-1) << sh
	for {
		old := atomic.LoadUint32(w)
		if atomic.CompareAndSwapUint32(w, old, old&^mask|uint32(v)<<sh&mask) {
			return
		}
	}
}

// atomicCAS replaces the size bytes at b with nv if they hold old, as one
// atomic step, and reports whether it did.
func atomicCAS(b []byte, size int, old, nv uint64) bool {
	switch size {
	case 8:
		return atomic.CompareAndSwapUint64((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), old, nv)
	case 4:
		return atomic.CompareAndSwapUint32(word32At(b), uint32(old), uint32(nv))
	}
	w, sh := wordAround(b)
	mask := uint32(1<<(8*size)-1) << sh
	for {
		cur := atomic.LoadUint32(w)
		if (cur&mask)>>sh != uint32(old) {
			return false
		}
		if atomic.CompareAndSwapUint32(w, cur, cur&^mask|uint32(nv)<<sh&mask) {
			return true
		}
	}
}
