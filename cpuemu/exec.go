package cpuemu

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"
)

// exec runs the lane group mask, all at pc, for up to steps ops. It stops
// early when the group blocks or exits. Other schedulers get control back
// at a divergent branch; lockstep instead follows the half at the lower PC,
// parks the other, and merges lanes parked at a PC when the group reaches
// it. limit is the lowest PC of the warp's other runnable lanes (noLimit if
// none): a lockstep group that jumps past it stops, so that the lanes
// behind run first. It returns the ops issued.
func (w *warp) exec(pc int32, mask uint32, steps int, limit int32, lockstep bool) int {
	l := w.c.l
	ops := l.p.ops
	r := w.r
	n := 0
	for n < steps {
		o := &ops[pc]
		l.curPC = pc // a plain int: storing the *op would cost a GC write barrier per op
		n++
		ex := mask
		if o.guard != noSlot {
			// Predicates hold 0 or 1: gather them branch-free.
			g := (*[32]uint64)(r[o.guard : o.guard+32])
			var pm uint32
			for i := range g {
				pm |= uint32(g[i]&1) << i
			}
			if o.flags&fGuardNeg != 0 {
				pm = ^pm
			}
			ex = mask & pm
		}
		l.count += int64(bits.OnesCount32(ex))
		l.wcount++
		if l.tr != nil && ex != 0 {
			l.tr.record(w, pc, o, ex)
		}
		if l.count > l.checkAt {
			l.checkpoint() // the instruction limit, or a timeout's clock
		}
		next := pc + 1
		switch o.code {
		case opBra:
			switch ex {
			case mask:
				next = o.target
			case 0:
			default:
				if !lockstep { // let the scheduler choose
					w.setPC(ex, o.target)
					w.setPC(mask&^ex, pc+1)
					return n
				}
				// Lockstep: go on with the half at the lower PC and park
				// the other; the two merge when the first reaches it.
				if o.target > pc+1 {
					w.setPC(ex, o.target)
					mask &^= ex
					limit = min(limit, o.target)
				} else {
					w.setPC(mask&^ex, pc+1)
					mask = ex
					next = o.target
					limit = min(limit, pc+1)
				}
			}
		case opExit:
			if ex != 0 {
				w.setPC(mask, pc+1)
				w.exitLanes(ex)
				return n
			}
		case opCall:
			site := &l.p.calls[o.aux]
			for m := ex; m != 0; m &= m - 1 {
				lane := bits.TrailingZeros32(m)
				w.pushCall(o, lane, pc, o.aux, site)
			}
			if ex != mask {
				w.setPC(ex, o.target)
				w.setPC(mask&^ex, pc+1)
				return n
			}
			next = o.target
		case opCallInd:
			// Lanes may call different functions: each goes its own way,
			// and the scheduler regroups them.
			site := &l.p.indirect[o.aux]
			for m := ex; m != 0; m &= m - 1 {
				lane := bits.TrailingZeros32(m)
				w.pc[lane] = w.callIndirect(o, lane, pc, site)
			}
			w.setPC(mask&^ex, pc+1)
			return n
		case opBrx:
			tbl := l.p.brTables[o.aux]
			for m := ex; m != 0; m &= m - 1 {
				lane := bits.TrailingZeros32(m)
				i := uint32(r[o.a[0]+int32(lane)])
				if int(i) >= len(tbl) {
					w.fault(o, lane, fmt.Sprintf("brx.idx index %d past its %d targets", i, len(tbl)), spGeneric, 0, 0)
				}
				w.pc[lane] = tbl[i]
			}
			w.setPC(mask&^ex, pc+1)
			return n
		case opRet:
			if ex == 0 {
				break
			}
			var ret int32 = -1
			uniform := true
			for m := ex; m != 0; m &= m - 1 {
				lane := bits.TrailingZeros32(m)
				st := w.stack[lane]
				if len(st) == 0 { // ret from the entry ends the thread
					w.setPC(mask, pc+1)
					w.exitLanes(1 << lane)
					return n
				}
				f := st[len(st)-1]
				w.stack[lane] = st[:len(st)-1]
				w.popCall(lane, f)
				w.pc[lane] = f.ret
				if ret == -1 {
					ret = f.ret
				} else if ret != f.ret {
					uniform = false
				}
			}
			if ex != mask || !uniform {
				w.setPC(mask&^ex, pc+1)
				return n
			}
			next = ret
		case opWarpSync, opShfl, opVote, opMatch, opRedux, opElect:
			if o.flags&fLegacy != 0 {
				// vote or shfl without .sync: the lanes executing it
				// together take part, and nobody waits for anyone.
				if ex != 0 {
					w.legacyCollective(o, pc, ex)
				}
				break
			}
			if ex == mask && w.convergedCollective(o, ex) {
				// Fast path: the whole group named by the mask is here,
				// at one instruction, and nobody else waits: complete the
				// rendezvous at once and keep going.
				mm := uint32(r[w.maskSlot(o)+int32(bits.TrailingZeros32(ex))])
				if o.code == opShfl {
					w.shflConverged(o, ex, mm)
					if l := w.c.l; l.chk != nil {
						l.chk.looseMeet(w, ex)
					}
					break
				}
				w.setPC(ex, pc)
				w.complete(ex, mm)
				break
			}
			w.setPC(mask, pc+1)
			if ex != 0 {
				w.arriveWarp(o, pc, ex)
			}
			return n
		case opBar, opBarArrive:
			w.setPC(mask, pc+1)
			if ex != 0 {
				w.arriveBar(o, pc, ex)
			}
			return n
		case opTrap:
			if ex != 0 {
				w.fault(o, bits.TrailingZeros32(ex), "trap", spGeneric, 0, 0)
			}
		case opBrkpt:
			if ex != 0 {
				w.fault(o, bits.TrailingZeros32(ex), "breakpoint (brkpt) with no debugger", spGeneric, 0, 0)
			}
		case opNanosleep:
			if ex != 0 && l.yields {
				w.yield = true
				w.setPC(mask, pc+1)
				return n
			}
		case opActivemask:
			for m := ex; m != 0; m &= m - 1 {
				lane := bits.TrailingZeros32(m)
				r[o.d[0]+int32(lane)] = uint64(mask)
			}
		case opLd:
			w.load(o, ex)
			if w.yield {
				w.setPC(mask, pc+1)
				return n
			}
		case opSt:
			w.store(o, ex)
			if w.c.mbars != nil {
				w.c.mbEpoch++ // a polling lane may wait for what this changes
			}
		case opAtom, opRed:
			w.atomic(o, ex)
			if w.c.mbars != nil {
				w.c.mbEpoch++
			}
			if w.yield {
				w.setPC(mask, pc+1)
				return n
			}
		case opFence:
			if l.chk != nil {
				for m := ex; m != 0; m &= m - 1 {
					l.chk.fence(o, uint32(w.id*32+bits.TrailingZeros32(m)))
				}
			}
		case opCallBuiltin:
			w.callBuiltin(o, ex)
		case opMbar:
			if ex != 0 && w.mbarrier(o, ex) {
				w.setPC(mask, pc+1)
				return n
			}
		case opCpAsync:
			if ex != 0 {
				w.cpAsync(o, ex)
			}
		case opAsyncCtl:
			if ex != 0 {
				w.asyncCtl(o, ex)
			}
		case opNop:
		default:
			w.alu(o, ex, mask)
		}
		pc = next
		if pc >= limit {
			if !lockstep || pc > limit {
				break
			}
			// Lockstep reconvergence: the lanes parked at this PC join.
			others := w.runnable() &^ mask
			limit = noLimit
			for m := others; m != 0; m &= m - 1 {
				lane := bits.TrailingZeros32(m)
				switch p := w.pc[lane]; {
				case p == pc:
					mask |= 1 << lane
				case p < limit:
					limit = p
				}
			}
			if limit < pc {
				break
			}
		}
	}
	w.setPC(mask, pc)
	return n
}

// maskSlot is the slot holding a collective's membermask.
func (w *warp) maskSlot(o *op) int32 {
	switch o.code {
	case opWarpSync:
		return o.a[0]
	case opShfl:
		return o.a[3]
	}
	return o.a[1] // vote, match, redux
}

// convergedCollective reports whether the lanes ex, all at collective o,
// form a complete rendezvous by themselves: one membermask, containing
// every executing lane, whose other lanes have all exited, with no lane of
// the warp waiting at another collective.
func (w *warp) convergedCollective(o *op, ex uint32) bool {
	if w.waiting != 0 {
		return false
	}
	s := w.maskSlot(o)
	first := bits.TrailingZeros32(ex)
	m := uint32(w.r[s+int32(first)])
	for x := ex; x != 0; x &= x - 1 {
		if uint32(w.r[s+int32(bits.TrailingZeros32(x))]) != m {
			return false
		}
	}
	return ex&^m == 0 && m&w.live == ex
}

// pushCall copies a call's arguments into the callee's parameters and
// pushes the return address of one lane. In a recursive program a call
// also places the callee's local variables on the lane's stack, and a
// call of an active function first saves what that function owns.
func (w *warp) pushCall(o *op, lane int, pc, call int32, site *callSite) {
	if len(w.stack[lane]) >= maxCallDepth {
		w.fault(o, lane, fmt.Sprintf("call stack overflow (more than %d nested calls)", maxCallDepth), spLocal, 0, 0)
	}
	l := w.c.l
	p := l.p
	f := callFrame{ret: pc + 1, site: call}
	if p.recursive {
		if w.active(lane, site.callee) {
			f.save = w.save(lane, site.callee)
		}
		fr := &p.frames[site.callee]
		f.sp = w.sp[lane]
		if fr.localBytes > 0 {
			base := w.sp[lane]
			if int(base)+int(fr.localBytes) > p.localSize {
				w.fault(o, lane, fmt.Sprintf("stack overflow: the calls need more than the %d bytes of local memory a thread's stack has", p.localSize-int(p.stackBase)), spLocal, uint64(base), int(fr.localBytes))
			}
			for _, a := range fr.localAddrs {
				w.r[a.slot+int32(lane)] = uint64(base) + a.off
			}
			w.sp[lane] = base + fr.localBytes
			// A new frame starts as local memory does: zeroed.
			lb := lane*p.localSize + int(base)
			clear(w.local[lb : lb+int(fr.localBytes)])
		}
	}
	w.copyArgs(lane, site.args)
	w.stack[lane] = append(w.stack[lane], f)
}

// maxCallDepth bounds a lane's nested calls.
const maxCallDepth = 1024

// maxSavedBytes bounds what the recursive calls of one launch save
// (registers and parameter frames), across all its lanes.
const maxSavedBytes = 256 << 20

// popCall copies a returning call's results back to the caller, restoring
// what a recursive call saved once the results are read, and pops the
// callee's local variables off the stack.
func (w *warp) popCall(lane int, f callFrame) {
	p := w.c.l.p
	cs := &p.calls[f.site]
	if p.recursive {
		w.sp[lane] = f.sp
	}
	if f.save == nil {
		w.copyArgs(lane, cs.rets)
		return
	}
	vals := make([][]byte, len(cs.rets))
	for i, c := range cs.rets {
		vals[i] = append([]byte(nil), w.argBytes(lane, c.from, min(c.from.size, c.to.size))...)
	}
	w.restore(lane, cs.callee, f.save)
	for i, c := range cs.rets {
		w.setArg(lane, c.to, vals[i])
	}
}

// active reports whether function fn has a frame on the lane's stack.
func (w *warp) active(lane int, fn int32) bool {
	p := w.c.l.p
	if fn == 0 {
		return true // the entry
	}
	for _, f := range w.stack[lane] {
		if p.calls[f.site].callee == fn {
			return true
		}
	}
	return false
}

// save keeps one lane's registers and parameter frame of function fn; the
// launch counts the bytes against maxSavedBytes.
func (w *warp) save(lane int, fn int32) *savedFrame {
	l := w.c.l
	p := l.p
	fr := &p.frames[fn]
	sv := &savedFrame{regs: make([]uint64, len(fr.regs))}
	for i, s := range fr.regs {
		sv.regs[i] = w.r[s+int32(lane)]
	}
	pb := lane * p.paramFSize
	sv.paramF = append([]byte(nil), w.paramF[pb+fr.paramF:pb+fr.paramEnd]...)
	l.savedBytes += sv.size()
	if l.savedBytes > maxSavedBytes {
		l.fail(&LimitError{Kernel: p.name, Limit: "bytes saved by active recursive calls", Value: l.savedBytes, Max: maxSavedBytes})
	}
	return sv
}

func (w *warp) restore(lane int, fn int32, sv *savedFrame) {
	l := w.c.l
	p := l.p
	fr := &p.frames[fn]
	for i, s := range fr.regs {
		w.r[s+int32(lane)] = sv.regs[i]
	}
	pb := lane * p.paramFSize
	copy(w.paramF[pb+fr.paramF:pb+fr.paramEnd], sv.paramF)
	l.savedBytes -= sv.size()
}

// callIndirect calls the function whose address one lane holds and
// returns where the lane goes. Calling anything else than one of the
// call's targets (indirectTargets) is a fault that says why.
func (w *warp) callIndirect(o *op, lane int, pc int32, site *indirectSite) int32 {
	p := w.c.l.p
	addr := w.r[o.a[0]+int32(lane)]
	for _, t := range site.targets {
		if t.addr == addr {
			w.pushCall(o, lane, pc, t.call, &p.calls[t.call])
			return t.start
		}
	}
	w.fault(o, lane, "call through a function pointer that "+w.c.l.m.whyNotCallable(addr), spGeneric, addr, 0)
	return 0
}

// copyArgs copies call arguments or results for one lane, between
// parameter frames and registers.
func (w *warp) copyArgs(lane int, cs []paramCopy) {
	for _, c := range cs {
		n := min(c.from.size, c.to.size)
		if c.from.kind == locSlot {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], w.r[c.from.off+int32(lane)])
			w.setArg(lane, c.to, b[:n])
			continue
		}
		w.setArg(lane, c.to, w.argBytes(lane, c.from, n))
	}
}

// argBytes is the value at one side of a call, n bytes little-endian: a
// slice of the parameter frame, or of a scratch copy of a register.
func (w *warp) argBytes(lane int, a argLoc, n int) []byte {
	if a.kind == locParamF {
		base := lane*w.c.l.p.paramFSize + int(a.off)
		return w.paramF[base : base+n]
	}
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, w.r[a.off+int32(lane)])
	return b[:n]
}

// setArg stores b at one side of a call; a register takes it
// zero-extended.
func (w *warp) setArg(lane int, a argLoc, b []byte) {
	if a.kind == locParamF {
		base := lane*w.c.l.p.paramFSize + int(a.off)
		copy(w.paramF[base:base+len(b)], b)
		return
	}
	var v [8]byte
	copy(v[:], b)
	w.r[a.off+int32(lane)] = binary.LittleEndian.Uint64(v[:])
}

// accessAlign is the alignment an ld or st needs: its whole size, which
// for the first half of a .v8 access (sub2 2) is twice its own.
func accessAlign(o *op) int {
	return o.typ.size() * int(o.vec) * max(int(o.sub2), 1)
}

func (w *warp) setPC(m uint32, pc int32) {
	for ; m != 0; m &= m - 1 {
		w.pc[bits.TrailingZeros32(m)] = pc
	}
}

// global32 returns the 4 bytes of global memory at addr for a scalar
// 32-bit access when they lie in the allocation the launch last touched,
// aligned (and, for a write, writable), or nil: then the caller takes the
// general path, which finds the allocation or reports what is wrong.
func (l *launch) global32(addr uint64, write bool) []byte {
	a := l.cache
	if a == nil || addr&3 != 0 || addr < a.base || addr-a.base+4 > uint64(len(a.data)) || write && a.readOnly {
		return nil
	}
	off := addr - a.base
	return a.data[off : off+4 : off+4]
}

// load32Shared is ld.shared of a scalar 32-bit value over the lanes ex,
// the fast path of load: a lane whose word is misaligned, out of range or
// not yet written takes the general path, which reports it.
func (w *warp) load32Shared(o *op, ex uint32) {
	r := w.r
	sh, init := w.c.shared, w.c.sharedInit
	d, a := o.d[0], o.a[0]
	signed := o.typ.signed()
	for m := ex; m != 0; m &= m - 1 {
		lane := int32(bits.TrailingZeros32(m))
		addr := r[a+lane] + uint64(o.off)
		var v uint64
		if addr&3 == 0 && addr < uint64(len(sh)) && addr+4 <= uint64(len(sh)) && binary.LittleEndian.Uint32(init[addr:addr+4]) == allWritten {
			v = uint64(binary.LittleEndian.Uint32(sh[addr : addr+4]))
		} else {
			v = uint64(binary.LittleEndian.Uint32(w.mem(o, int(lane), spShared, addr, 4, 4, false)))
		}
		if signed {
			v = uint64(int64(int32(v)))
		}
		r[d+lane] = v
	}
}

// store32Shared is st.shared of a scalar 32-bit value, store's fast path.
func (w *warp) store32Shared(o *op, ex uint32) {
	r := w.r
	sh, init := w.c.shared, w.c.sharedInit
	v, a := o.d[0], o.a[0]
	for m := ex; m != 0; m &= m - 1 {
		lane := int32(bits.TrailingZeros32(m))
		addr := r[a+lane] + uint64(o.off)
		var b []byte
		if addr&3 == 0 && addr < uint64(len(sh)) && addr+4 <= uint64(len(sh)) {
			binary.LittleEndian.PutUint32(init[addr:addr+4], allWritten)
			b = sh[addr : addr+4]
		} else {
			b = w.mem(o, int(lane), spShared, addr, 4, 4, true)
		}
		binary.LittleEndian.PutUint32(b, uint32(r[v+lane]))
	}
}

func (w *warp) load(o *op, ex uint32) {
	r := w.r
	if o.vec == 1 && o.typ.size() == 4 && !w.c.l.yields && w.c.l.chk == nil {
		if o.space == spShared {
			w.load32Shared(o, ex)
			return
		}
		l := w.c.l
		d := o.d[0]
		for m := ex; m != 0; m &= m - 1 {
			lane := int32(bits.TrailingZeros32(m))
			addr := r[o.a[0]+lane] + uint64(o.off)
			var b []byte
			atom := l.par != nil
			if o.space == spGlobal {
				b = l.global32(addr, false)
			}
			if b == nil {
				b, atom = w.memOf(o, int(lane), o.space, addr, 4, 4, false)
			}
			var v uint64
			if atom {
				v = uint64(atomic.LoadUint32(word32At(b)))
			} else {
				v = uint64(binary.LittleEndian.Uint32(b))
			}
			if o.typ.signed() {
				v = uint64(int64(int32(v)))
			}
			r[d+lane] = v
		}
		return
	}
	size := o.typ.size()
	align := accessAlign(o)
	yields := w.c.l.yields
	for m := ex; m != 0; m &= m - 1 {
		lane := bits.TrailingZeros32(m)
		addr := r[o.a[0]+int32(lane)] + uint64(o.off)
		b, atom := w.memOf(o, lane, o.space, addr, size*int(o.vec), align, false)
		for i := 0; i < int(o.vec); i++ {
			v := loadLE(b[i*size:], size, atom)
			if o.typ.signed() {
				v = uint64(sext(v, o.typ.bits()))
			}
			if d := o.d[i]; d != noSlot {
				r[d+int32(lane)] = v
			}
		}
		if yields && (o.space == spGlobal || o.space == spShared || o.space == spGeneric) {
			// A lane re-reading an unchanged location is polling: let
			// another lane run, so that spin-waits make progress as
			// independent thread scheduling guarantees they do.
			v := le(b, size)
			if w.lastAddr[lane] == addr+1 && w.lastVal[lane] == v {
				w.yield = true
			}
			w.lastAddr[lane], w.lastVal[lane] = addr+1, v
		}
	}
}

func (w *warp) store(o *op, ex uint32) {
	r := w.r
	if o.vec == 1 && o.typ.size() == 4 && w.c.l.chk == nil {
		if o.space == spShared {
			w.store32Shared(o, ex)
			return
		}
		l := w.c.l
		v := o.d[0]
		for m := ex; m != 0; m &= m - 1 {
			lane := int32(bits.TrailingZeros32(m))
			addr := r[o.a[0]+lane] + uint64(o.off)
			var b []byte
			atom := l.par != nil
			if o.space == spGlobal {
				b = l.global32(addr, true)
			}
			if b == nil {
				b, atom = w.memOf(o, int(lane), o.space, addr, 4, 4, true)
			}
			if atom {
				atomic.StoreUint32(word32At(b), uint32(r[v+lane]))
			} else {
				binary.LittleEndian.PutUint32(b, uint32(r[v+lane]))
			}
		}
		return
	}
	size := o.typ.size()
	align := accessAlign(o)
	for m := ex; m != 0; m &= m - 1 {
		lane := bits.TrailingZeros32(m)
		addr := r[o.a[0]+int32(lane)] + uint64(o.off)
		b, atom := w.memOf(o, lane, o.space, addr, size*int(o.vec), align, true)
		for i := 0; i < int(o.vec); i++ {
			storeLE(b[i*size:], size, r[o.d[i]+int32(lane)], atom)
		}
	}
}

// loadLE reads a little-endian value of size bytes, atomically when atom.
func loadLE(b []byte, size int, atom bool) uint64 {
	if atom {
		return atomicLoad(b, size)
	}
	return le(b, size)
}

// storeLE writes v's low size bytes little-endian, atomically when atom.
func storeLE(b []byte, size int, v uint64, atom bool) {
	if atom {
		atomicStore(b, size, v)
		return
	}
	putLE(b, size, v)
}

// atomic performs atom/red lane by lane, in lane order (PTX ISA §9.7.12.4:
// each lane's operation is atomic; their order is unspecified). In a
// parallel launch each lane's read-modify-write of global memory is a
// compare-and-swap loop, atomic against the other workers.
func (w *warp) atomic(o *op, ex uint32) {
	r := w.r
	size := o.typ.size()
	for m := ex; m != 0; m &= m - 1 {
		lane := bits.TrailingZeros32(m)
		addr := r[o.a[0]+int32(lane)] + uint64(o.off)
		b, atom := w.memOf(o, lane, o.space, addr, size, size, true)
		x := r[o.a[1]+int32(lane)]
		var old uint64
		for {
			old = loadLE(b, size, atom)
			nv := w.atomResult(o, lane, old, x)
			if !atom {
				putLE(b, size, nv)
				break
			}
			if atomicCAS(b, size, old, nv) {
				break
			}
		}
		if o.code == opAtom {
			r[o.d[0]+int32(lane)] = old
		}
	}
}

// atomResult is what atom or red o by lane leaves in a location that held
// old, with x its operand.
func (w *warp) atomResult(o *op, lane int, old, x uint64) uint64 {
	t := o.typ
	switch o.sub {
	case atomAdd:
		switch t {
		case tF32:
			return uint64(math.Float32bits(canon32(math.Float32frombits(uint32(old)) + math.Float32frombits(uint32(x)))))
		case tF64:
			return math.Float64bits(math.Float64frombits(old) + math.Float64frombits(x))
		}
		return old + x
	case atomMin, atomMax:
		less := lessThan(t, x, old)
		if o.sub == atomMax {
			less = lessThan(t, old, x)
		}
		if less {
			return x
		}
		return old
	case atomExch:
		return x
	case atomCAS:
		if trunc(old, t.bits()) == trunc(x, t.bits()) {
			return w.r[o.a[2]+int32(lane)]
		}
		if w.c.l.yields {
			w.yield = true // a failed CAS is a spin: let another lane run
		}
		return old
	case atomAnd:
		return old & x
	case atomOr:
		return old | x
	case atomXor:
		return old ^ x
	case atomInc: // ((old >= x) ? 0 : old+1), unsigned 32-bit
		if uint32(old) >= uint32(x) {
			return 0
		}
		return uint64(uint32(old) + 1)
	case atomDec: // ((old == 0 || old > x) ? x : old-1)
		if uint32(old) == 0 || uint32(old) > uint32(x) {
			return uint64(uint32(x))
		}
		return uint64(uint32(old) - 1)
	}
	return old
}

// lessThan compares two values of type t: a < b.
func lessThan(t ptype, a, b uint64) bool {
	switch {
	case t == tF32:
		return math.Float32frombits(uint32(a)) < math.Float32frombits(uint32(b))
	case t == tF64:
		return math.Float64frombits(a) < math.Float64frombits(b)
	case t.signed():
		return sext(a, t.bits()) < sext(b, t.bits())
	}
	return trunc(a, t.bits()) < trunc(b, t.bits())
}

// noLimit is the limit of a lane group that no other lane's PC bounds.
const noLimit = int32(1 << 30)
