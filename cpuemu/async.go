package cpuemu

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"
)

// Asynchronous copies (PTX ISA "Data Movement and Conversion Instructions:
// Asynchronous copy"): cp.async and cp.async.bulk. "An asynchronous copy
// operation performs the underlying operation asynchronously in the
// background", and "modifying the source memory location ... or reading
// from the destination memory location before the asynchronous operation
// completes, exhibits undefined behavior." So the emulator really defers
// the copy: each thread's copies wait in its queue, and their bytes land
// (the source is read and the destination written then) at a point the
// scheduler chooses between issue and completion:
//
//   - at the latest, at the wait that needs them: cp.async.wait_group N
//     lands the thread's copies of all but its N most recent groups,
//     wait_all all of them, cp.async.bulk.wait_group the bulk groups;
//     copies tracked by an mbarrier land when every live thread of the
//     block is stuck polling (mbarDeadlock would otherwise fire);
//   - earlier, at the end of a round of the block's warps: every copy
//     under the lockstep and round-robin schedulers (deterministic), each
//     with probability 1/2 under the random one (a seed replays it), none
//     under the adversarial one, which keeps copies in flight as long as
//     it can;
//   - when a thread has maxLaneCopies copies in flight and issues
//     another, its oldest lands first: hardware also bounds what a thread
//     has outstanding, and an early completion is always allowed.
//
// Completion has effects of its own: the arrive-on of a
// cp.async.mbarrier.arrive happens once the thread's earlier cp.async
// copies have landed ("upon the completion of all prior cp.async
// operations initiated by the executing thread"), and a bulk copy into
// shared memory performs complete-tx of its size on its mbarrier.
// Everything left in flight lands when the block ends.

// maxLaneCopies bounds a thread's copies in flight; maxLaneQueue the
// entries its queue keeps (landed copies stay until a wait covers them,
// for the checker).
const (
	maxLaneCopies = 64
	maxLaneQueue  = 256
)

type entryKind uint8

const (
	entCopy    entryKind = iota // cp.async
	entBulkIn                   // cp.async.bulk into shared memory, complete-tx on bar
	entBulkOut                  // cp.async.bulk into global memory, in a bulk async-group
	entArrive                   // the arrive-on of cp.async.mbarrier.arrive
)

type asyncEntry struct {
	kind    entryKind
	landed  bool
	op      int32  // the issuing instruction
	group   uint32 // its async-group: the thread's commit count at issue
	dst     uint64 // shared offset, or global address (entBulkOut)
	src     uint64 // global address, or shared offset (entBulkOut)
	size    uint32
	srcSize uint32 // bytes read from src; the rest of dst is zero-filled
	bar     *mbarObj
	issued  int64   // the step of the issuing instruction (for the trace)
	k       uint32  // the clock of the copy's write in the checker (its thread's copy lane)
	kr      uint32  // the clock of its read of the source
	rel     *vclock // what the arrive-on or complete-tx releases (checker)
}

type laneAsync struct {
	thread   int // the thread's slot in the block: warp*32 + lane
	q        []asyncEntry
	inflight int    // entries not landed
	group    uint32 // cp.async commits so far
	bulk     uint32 // cp.async.bulk commits so far
	// The checker's clocks (of the writes and of the reads) of the copies
	// dropped from q (landed, never waited for) and the newest group
	// among them.
	dropK, dropKr, dropGroup, dropBulk uint32
}

type asyncState struct {
	lanes    []laneAsync // per thread slot of the block
	inflight int
}

func (c *cta) asyncOf() *asyncState {
	if c.async == nil {
		c.async = &asyncState{lanes: make([]laneAsync, len(c.warps)*32)}
		for t := range c.async.lanes {
			c.async.lanes[t].thread = t
		}
	}
	return c.async
}

// asyncPending reports whether any copy or arrive-on is still in flight.
func (c *cta) asyncPending() bool { return c.async != nil && c.async.inflight > 0 }

// globalSpan checks that [addr, addr+size) lies in one global allocation
// and returns it with the offset of addr.
func (w *warp) globalSpan(o *op, lane int, addr uint64, size int, write bool) (*allocation, uint64) {
	l := w.c.l
	i := l.dev.find(addr)
	if i < 0 {
		w.fault(o, lane, "out of bounds", spGlobal, addr, size)
	}
	a := l.dev.allocs[i]
	off := addr - a.base
	if off+uint64(size) > uint64(len(a.data)) {
		w.fault(o, lane, "out of bounds", spGlobal, addr, size)
	}
	if write && a.readOnly {
		w.fault(o, lane, "write to read-only memory", spConst, addr, size)
	}
	return a, off
}

// sharedSpan checks a shared-memory span: a .shared operand's offset.
func (w *warp) sharedSpan(o *op, lane int, off uint64, size int) {
	if off >= uint64(len(w.c.shared)) || off+uint64(size) > uint64(len(w.c.shared)) {
		w.fault(o, lane, "out of bounds", spShared, off, size)
	}
}

// cpAsync issues cp.async or cp.async.bulk for the lanes ex.
func (w *warp) cpAsync(o *op, ex uint32) {
	c, l, r := w.c, w.c.l, w.r
	as := c.asyncOf()
	for x := ex; x != 0; x &= x - 1 {
		lane := bits.TrailingZeros32(x)
		t := w.id*32 + lane
		la := &as.lanes[t]
		dst, src := r[o.a[0]+int32(lane)], r[o.a[1]+int32(lane)]
		size := uint32(r[o.a[2]+int32(lane)])
		e := asyncEntry{kind: entCopy, op: l.curPC, group: la.group, dst: dst, src: src, size: size, srcSize: size, issued: l.wcount}
		align := uint64(size)
		switch o.copyMode() {
		case copyCA, copyCG:
			if s := o.a[3]; s != noSlot {
				if o.flags&fHasC != 0 { // ignore-src: "zeros will be copied to destination"
					if (r[s+int32(lane)]&1 != 0) != (o.flags&fNegC != 0) {
						e.srcSize = 0
					}
				} else if n := uint32(r[s+int32(lane)]); n > size {
					l.diag("cp-async-src-size", o, w, 1<<lane, "lane %d: cp.async src-size %d larger than its cp-size %d (undefined behaviour); %d bytes are copied", lane, n, size, size)
				} else {
					e.srcSize = n
				}
			}
		case copyBulkIn, copyBulkOut:
			// "The amount of data handled by a bulk asynchronous operation
			// must be a multiple of 16 bytes", at 16-byte aligned addresses.
			align = 16
			if size%16 != 0 || size == 0 || uint64(size) > uint64(len(c.shared)) {
				l.diag("cp-async-bulk-size", o, w, 1<<lane, "lane %d: cp.async.bulk of %d bytes: the size must be a non-zero multiple of 16 within shared memory (undefined behaviour); nothing is copied", lane, size)
				continue
			}
			e.kind, e.group = entBulkOut, la.bulk
			if o.copyMode() == copyBulkIn {
				e.kind = entBulkIn
				off, ok := w.mbarAtIn(o, spShared, lane, r[o.a[3]+int32(lane)])
				if !ok {
					continue
				}
				if e.bar = w.mbarValid(o, lane, off); e.bar == nil {
					continue
				}
			}
		}
		dsp, ssp := spShared, spGlobal
		if e.kind == entBulkOut {
			dsp, ssp = spGlobal, spShared
		}
		switch {
		case dst%align != 0:
			w.fault(o, lane, "misaligned", dsp, dst, int(size))
		case src%align != 0:
			w.fault(o, lane, "misaligned", ssp, src, int(size))
		}
		var ga *allocation
		var goff uint64
		if e.kind == entBulkOut {
			ga, goff = w.globalSpan(o, lane, dst, int(size), true)
			w.sharedSpan(o, lane, src, int(size))
		} else {
			ga, goff = w.globalSpan(o, lane, src, int(size), false)
			w.sharedSpan(o, lane, dst, int(size))
		}
		if l.chk != nil {
			e.kr, e.k, e.rel = l.chk.copyIssue(w, lane, &e, ga, goff)
		}
		if la.inflight >= maxLaneCopies {
			c.landOldest(la)
		}
		if len(la.q) >= maxLaneQueue {
			la.trim()
		}
		if l.tr != nil {
			l.tr.copyIssue(w, lane)
		}
		la.q = append(la.q, e)
		la.inflight++
		as.inflight++
		c.mbEpoch++
	}
}

// asyncArrive queues the arrive-on of cp.async.mbarrier.arrive by lane:
// it happens when the lane's earlier copies have landed, at once if none
// is in flight.
func (c *cta) asyncArrive(o *op, w *warp, lane int, b *mbarObj) {
	as := c.asyncOf()
	la := &as.lanes[w.id*32+lane]
	e := asyncEntry{kind: entArrive, op: c.l.curPC, bar: b, issued: c.l.wcount}
	if c.l.chk != nil {
		e.rel = c.l.chk.copiesRelease(uint32(w.id*32 + lane))
	}
	if len(la.q) >= maxLaneQueue {
		la.trim()
	}
	la.q = append(la.q, e)
	la.inflight++
	as.inflight++
	c.settle(la)
}

// asyncCtl performs commit_group and wait_group for the lanes ex.
func (w *warp) asyncCtl(o *op, ex uint32) {
	c := w.c
	as := c.asyncOf()
	for x := ex; x != 0; x &= x - 1 {
		lane := bits.TrailingZeros32(x)
		t := w.id*32 + lane
		la := &as.lanes[t]
		switch o.asyncCtl() {
		case ctlCommit:
			la.group++
		case ctlBulkCommit:
			la.bulk++
		case ctlWait, ctlBulkWait, ctlBulkWaitRead:
			// "wait till only N or fewer of the most recent cp.async-groups
			// are pending and all the prior cp.async-groups committed by
			// the executing threads are complete": groups below n - N.
			// A wait covers the copies of its own kind of group: cp.async's,
			// or the bulk copies into global memory (a bulk copy into
			// shared memory completes on its mbarrier instead).
			bulk := o.asyncCtl() != ctlWait
			n, kind := la.group, entCopy
			if bulk {
				n, kind = la.bulk, entBulkOut
			}
			if uint64(n) < uint64(o.off) {
				continue
			}
			g := n - uint32(o.off)
			// The copies' writes are "made visible to the executing thread
			// only"; .read completes only the reads of the source.
			read := o.asyncCtl() == ctlBulkWaitRead
			var k uint32
			if !bulk && la.dropGroup < g || bulk && la.dropBulk < g {
				k = la.dropK
				if read {
					k = la.dropKr
				}
			}
			for i := range la.q {
				e := &la.q[i]
				if e.kind != kind || e.group >= g {
					continue
				}
				if !e.landed {
					c.land(la, i)
				}
				if read {
					k = max(k, e.kr)
				} else {
					k = max(k, e.k)
				}
			}
			c.settle(la)
			if l := c.l; l.chk != nil && k != 0 {
				l.chk.copiesAcquire(uint32(t), k)
			}
			// Entries of covered groups are done with (after .read, their
			// writes are still to be waited for).
			q := la.q[:0]
			for _, e := range la.q {
				if !read && e.landed && e.kind == kind && e.group < g {
					continue
				}
				q = append(q, e)
			}
			clear(la.q[len(q):])
			la.q = q
		}
	}
}

// trim drops the oldest landed entries of a full queue, keeping the
// newest clock among them for later waits.
func (la *laneAsync) trim() {
	q := la.q[:0]
	for i, e := range la.q {
		if e.landed && e.kind != entArrive && i < len(la.q)/2 {
			la.dropK = max(la.dropK, e.k)
			la.dropKr = max(la.dropKr, e.kr)
			if e.kind == entCopy {
				la.dropGroup = max(la.dropGroup, e.group)
			} else {
				la.dropBulk = max(la.dropBulk, e.group)
			}
			continue
		}
		q = append(q, e)
	}
	clear(la.q[len(q):])
	la.q = q
}

// landOldest lands a lane's oldest copy in flight.
func (c *cta) landOldest(la *laneAsync) {
	for i := range la.q {
		if !la.q[i].landed && la.q[i].kind != entArrive {
			c.land(la, i)
			return
		}
	}
}

// land performs entry i of a lane's queue: its bytes move now. What it
// reports names the thread that issued the entry.
func (c *cta) land(la *laneAsync, i int) {
	e := &la.q[i]
	e.landed = true
	la.inflight--
	c.async.inflight--
	c.mbEpoch++
	l := c.l
	if l.tr != nil && e.kind != entArrive {
		l.tr.copyLand(c, la.thread, e.issued)
	}
	switch e.kind {
	case entCopy, entBulkIn:
		dst := c.shared[e.dst : e.dst+uint64(e.size)]
		if e.srcSize > 0 {
			a := l.dev.allocs[l.dev.find(e.src)]
			off := e.src - a.base
			copyFrom(dst[:e.srcSize], a.data[off:off+uint64(e.srcSize)], l.par != nil)
		}
		clear(dst[e.srcSize:])
		for j := e.dst; j < e.dst+uint64(e.size); j++ {
			c.sharedInit[j] = 1
		}
		if e.kind == entBulkIn && e.bar.valid {
			if l.chk != nil {
				e.bar.rel = l.chk.joinAny(e.bar.rel, e.rel)
			}
			c.mbarTx(&l.p.ops[e.op], c.warps[la.thread/32], la.thread%32, e.bar, -int64(e.size))
			c.mbarMaybeComplete(e.bar)
		}
	case entBulkOut:
		a := l.dev.allocs[l.dev.find(e.dst)]
		off := e.dst - a.base
		copyTo(a.data[off:off+uint64(e.size)], c.shared[e.src:e.src+uint64(e.size)], l.par != nil)
	case entArrive:
		if e.bar.valid {
			if l.tr != nil {
				l.tr.mbarArriveAsync(c, la.thread, e.bar, e.issued)
			}
			if l.chk != nil {
				e.bar.rel = l.chk.joinAny(e.bar.rel, e.rel)
			}
			c.mbarArriveOn(&l.p.ops[e.op], c.warps[la.thread/32], la.thread%32, e.bar, 1)
		}
	}
}

// settle fires the arrive-ons of a lane's queue whose earlier cp.async
// copies have all landed.
func (c *cta) settle(la *laneAsync) {
	copying := false
	for i := range la.q {
		e := &la.q[i]
		switch {
		case e.landed:
		case e.kind == entArrive && !copying:
			c.land(la, i)
		case e.kind == entCopy:
			copying = true
		}
	}
}

// afterRound lands copies as the scheduler chooses (see the top of this
// file) and reports a deadlock of lanes polling mbarriers.
func (c *cta) afterRound(progress, alive bool) bool {
	l := c.l
	if c.asyncPending() {
		all := !alive || l.cfg.Scheduler == Lockstep || l.cfg.Scheduler == RoundRobin
		if (all || l.cfg.Scheduler == Random) && c.landInFlight(!all) {
			progress = true
		}
	}
	if !alive || !c.mbPolled {
		return progress
	}
	if c.mbarStuck() {
		if c.asyncPending() {
			// Every thread waits on something only the copies in flight
			// can bring: they land now.
			c.landInFlight(false)
			return true
		}
		l.fail(c.mbarDeadlock())
	}
	return progress
}

// landInFlight lands the block's copies in flight, each with probability
// 1/2 when coin, and fires the arrive-ons that waited for them. It
// reports whether a copy landed.
func (c *cta) landInFlight(coin bool) (landed bool) {
	for t := range c.async.lanes {
		la := &c.async.lanes[t]
		for i := range la.q {
			if !la.q[i].landed && la.q[i].kind != entArrive && (!coin || c.l.rng.IntN(2) == 0) {
				c.land(la, i)
				landed = true
			}
		}
		c.settle(la)
	}
	return landed
}

// copyFrom and copyTo move a copy's bytes; global memory is touched a
// word at a time through sync/atomic when other workers may touch it (a
// copy's size and addresses are multiples of 4).
func copyFrom(dst, src []byte, atom bool) {
	if !atom {
		copy(dst, src)
		return
	}
	for i := 0; i+4 <= len(src); i += 4 {
		binary.LittleEndian.PutUint32(dst[i:], atomic.LoadUint32(word32At(src[i:i+4])))
	}
	copy(dst[len(src)&^3:], src[len(src)&^3:])
}

func copyTo(dst, src []byte, atom bool) {
	if !atom {
		copy(dst, src)
		return
	}
	for i := 0; i+4 <= len(src); i += 4 {
		atomic.StoreUint32(word32At(dst[i:i+4]), binary.LittleEndian.Uint32(src[i:]))
	}
	copy(dst[len(src)&^3:], src[len(src)&^3:])
}
