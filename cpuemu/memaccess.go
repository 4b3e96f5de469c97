package cpuemu

import "encoding/binary"

// Memory access from kernels. Every access is bounds- and alignment-checked;
// a bad one raises a FaultError that aborts the launch.

func (w *warp) fault(o *op, lane int, kind string, sp space, addr uint64, size int) {
	l := w.c.l
	l.fail(&FaultError{
		Kernel: l.p.name, Kind: kind, Space: sp.String(), Addr: addr, Size: size,
		Site: l.m.site(o), CTA: w.c.id, Thread: w.tid[lane], Warp: w.id, Lane: lane,
	})
}

// decodeGeneric maps a generic address to its state space (PTX ISA §6.4.1.1).
func decodeGeneric(addr uint64) (space, uint64) {
	switch addr / windowSize {
	case sharedWindow / windowSize:
		return spShared, addr - sharedWindow
	case localWindow / windowSize:
		return spLocal, addr - localWindow
	case constWindow / windowSize:
		return spConst, addr - constWindow
	case paramWindow / windowSize:
		return spParam, addr - paramWindow
	}
	return spGlobal, addr
}

// mem returns the bytes an access of size bytes at addr touches, for a
// caller whose bytes no other worker can touch at once: shared memory,
// or printf's arguments (a printf program runs on one worker).
func (w *warp) mem(o *op, lane int, sp space, addr uint64, size, align int, write bool) []byte {
	b, _ := w.memOf(o, lane, sp, addr, size, align, write)
	return b
}

// memOf returns the bytes an access of size bytes at addr touches. write
// accesses to read-only spaces fault. align is the required alignment.
// atom says other workers may touch the bytes at once (global memory in a
// parallel launch): then they must be reached through sync/atomic.
func (w *warp) memOf(o *op, lane int, sp space, addr uint64, size, align int, write bool) (b []byte, atom bool) {
	if sp == spGeneric {
		sp, addr = decodeGeneric(addr)
	}
	if addr&(uint64(align)-1) != 0 { // align is a power of two
		w.fault(o, lane, "misaligned", sp, addr, size)
	}
	switch sp {
	case spGlobal:
		l := w.c.l
		a := l.cache
		if a == nil || addr-a.base >= uint64(len(a.data)) || addr < a.base {
			i := l.dev.find(addr)
			if i < 0 {
				w.fault(o, lane, "out of bounds", sp, addr, size)
			}
			a = l.dev.allocs[i]
			l.cache = a
		}
		off := addr - a.base
		if off+uint64(size) > uint64(len(a.data)) {
			w.fault(o, lane, "out of bounds", sp, addr, size)
		}
		if write && a.readOnly { // a module's .const variables, at their global address
			w.fault(o, lane, "write to read-only memory", spConst, addr, size)
		}
		if l.chk != nil {
			l.chk.access(w, lane, o, sp, a, off, size, write)
		}
		return a.data[off : off+uint64(size)], l.par != nil
	case spShared:
		b = w.c.shared
		if addr < uint64(len(b)) && addr+uint64(size) <= uint64(len(b)) {
			if chk := w.c.l.chk; chk != nil {
				chk.access(w, lane, o, sp, nil, addr, size, write)
			}
			w.c.trackShared(o, w, lane, addr, size, write)
		}
	case spLocal:
		n := uint64(w.c.l.p.localSize)
		if addr+uint64(size) > n || addr >= n {
			w.fault(o, lane, "out of bounds", sp, addr, size)
		}
		base := uint64(lane) * n
		return w.local[base+addr : base+addr+uint64(size)], false
	case spParamF:
		n := uint64(w.c.l.p.paramFSize)
		if addr+uint64(size) > n || addr >= n {
			w.fault(o, lane, "out of bounds", sp, addr, size)
		}
		base := uint64(lane) * n
		return w.paramF[base+addr : base+addr+uint64(size)], false
	case spParam:
		if write {
			w.fault(o, lane, "write to read-only memory", sp, addr, size)
		}
		b = w.c.l.params
	case spConst:
		if write {
			w.fault(o, lane, "write to read-only memory", sp, addr, size)
		}
		b = w.c.l.constImg
	}
	if addr >= uint64(len(b)) || addr+uint64(size) > uint64(len(b)) {
		w.fault(o, lane, "out of bounds", sp, addr, size)
	}
	return b[addr : addr+uint64(size)], false
}

// trackShared keeps a written-bit per shared byte and reports a read of
// bytes no thread of the CTA has written yet (they hold the 0xCD fill).
func (c *cta) trackShared(o *op, w *warp, lane int, addr uint64, size int, write bool) {
	init := c.sharedInit[addr : addr+uint64(size)]
	if write {
		for i := range init {
			init[i] = 1
		}
		return
	}
	if size == 4 && binary.LittleEndian.Uint32(init) == allWritten {
		return
	}
	for _, ok := range init {
		if ok == 0 {
			c.l.diag("uninitialised-shared-read", o, w, 1<<lane, "lane %d reads %d bytes of shared memory at offset %#x that no thread of the block has written", lane, size, addr)
			return
		}
	}
}

// allWritten is four bytes of sharedInit that have all been written.
const allWritten = 0x01010101
