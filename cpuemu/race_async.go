package cpuemu

import "math/bits"

// The checker's view of asynchronous copies and mbarriers.
//
// "cp.async is treated as a weak memory operation performed in the generic
// proxy" (PTX ISA, cp.async), and a copy is ordered only by the waits that
// cover it: "Writes performed by cp.async operations are made visible to
// the executing thread only after: The completion of cp.async.wait_all, or
// the completion of cp.async.wait_group on the cp.async-group in which the
// cp.async belongs to, or mbarrier.test_wait returns True on an mbarrier
// object which is tracking the completion of the cp.async operation"; and
// "cp.async.wait_group and cp.async.wait_all does not provide any ordering
// and visibility guarantees for any other memory operation apart from
// cp.async." The copy is thus not in its thread's program order: reading
// the destination, or writing the source, after the issue but before the
// wait races with it, even in the issuing thread.
//
// So each thread has a copy lane: a second clock slot of the block (the
// block's lane slots double when the program has async copies), whose
// accesses are the thread's copies. At issue the copy lane learns what
// the thread knows (the copy comes after everything before it in program
// order) and the copy's read of the source and write of the destination
// are checked and recorded as that lane's, with a clock of their own; the
// thread does not learn the copy lane's clock, so nothing the thread does
// afterwards, nor anything it passes on through barriers, is ordered after
// the copy. The copy lane's clock is learnt only by:
//
//   - the thread itself at a wait_group or wait_all covering the copy;
//   - every thread whose test_wait or try_wait observes the completion of
//     an mbarrier phase that tracked the copy: the arrive-on of
//     cp.async.mbarrier.arrive, or the complete-tx of a bulk copy, releases
//     the copy lane's clock to the phase, as an mbarrier.arrive releases
//     its thread's.
//
// The check is schedule-independent: when the bytes actually land (async.go)
// does not change what is ordered.
//
// Copies of one thread are not ordered with each other either: "There is
// no ordering between two cp.async operations that are not synchronized
// with cp.async.wait_all or cp.async.wait_group or mbarrier objects", and
// "two or more cp.async operations within a cp.async-group copying data to
// the same location results in undefined behavior". They all run on the
// thread's one copy lane, whose accesses the shadow state takes to be in
// program order, so copySelf checks a copy against that lane's earlier
// accesses that the thread had not waited for when it issued the copy.
//
// mbarrier phases: "When mbarrier.test_wait and mbarrier.try_wait operations
// with .acquire qualifier returns True, they form the acquire pattern";
// arrive forms the release pattern (.release is the default of both, .cta
// the scope). Every arrival in a phase releases its thread's clock to the
// phase, the completion makes that the phase's clock, and each wait that
// returns True for the phase acquires it.

// copyLane is the slot of thread t's copy lane.
func (c *checker) copyLane(t uint32) uint32 { return t + c.real }

// copyIssue checks and records copy e by lane of w as its thread's copy
// lane's accesses: the source read and the destination write. ga and goff
// are the global side's allocation and offset. It returns the clocks of
// the copy's read and of its write and, for a bulk copy into shared
// memory, what its complete-tx releases. The read comes first, with a
// clock of its own, so that cp.async.bulk.wait_group.read, which waits
// only for the reads of the source, can order them and not the write.
func (c *checker) copyIssue(w *warp, lane int, e *asyncEntry, ga *allocation, goff uint64) (kr, kw uint32, rel *vclock) {
	t := uint32(w.id*32 + lane)
	a := c.copyLane(t)
	ca := &c.lanes[a]
	ca.base = c.snapshot(t)
	o := &c.l.p.ops[e.op]
	kr = ca.own
	if e.kind == entBulkOut {
		c.copySelf(a, spShared, nil, e.src, int(e.size), false)
		c.accessAs(a, o, spShared, nil, e.src, int(e.size), false)
		ca.own++
		c.copySelf(a, spGlobal, ga, goff, int(e.size), true)
		c.accessAs(a, o, spGlobal, ga, goff, int(e.size), true)
	} else {
		if e.srcSize > 0 {
			c.copySelf(a, spGlobal, ga, goff, int(e.srcSize), false)
			c.accessAs(a, o, spGlobal, ga, goff, int(e.srcSize), false)
		}
		ca.own++
		c.copySelf(a, spShared, nil, e.dst, int(e.size), true)
		c.accessAs(a, o, spShared, nil, e.dst, int(e.size), true)
	}
	kw = ca.own
	if e.kind == entBulkIn {
		rel = c.snapshot(a)
	}
	ca.own++
	return kr, kw, rel
}

// copiesRelease is what the arrive-on of a cp.async.mbarrier.arrive by
// thread t releases: its copies issued so far ("All cp.async operations
// requested prior, in program order, to cp.async.mbarrier.arrive").
func (c *checker) copiesRelease(t uint32) *vclock {
	a := c.copyLane(t)
	if c.lanes[a].own <= 1 {
		return nil // no copy issued
	}
	v := c.clone(c.lanes[a].base)
	v.raise(a, c.lanes[a].own-1)
	return v
}

// copiesAcquire makes thread t know its copies up to clock k: a wait_group
// covering them completed.
func (c *checker) copiesAcquire(t, k uint32) {
	v := c.clone(c.zero)
	v.raise(c.copyLane(t), k)
	c.acquire(t, v)
}

// mbarRelease releases lane t's clock to the current phase of b.
func (c *checker) mbarRelease(b *mbarObj, t uint32) {
	b.rel = c.joinAny(b.rel, c.snapshot(t))
	c.lanes[t].own++
}

// copySelf reports the conflicts of an access by copy lane a (a copy's
// read of its source or write of its destination, about to be recorded)
// with the lane's earlier accesses, its thread's earlier copies, that no
// wait had ordered before the copy's issue: those with a clock above what
// the thread knew of its copy lane then. The shadow's own checks skip
// them, taking one lane's accesses to be in program order.
func (c *checker) copySelf(a uint32, sp space, ga *allocation, off uint64, size int, write bool) {
	ca := &c.lanes[a]
	var known uint32
	if ch := ca.base.w[a/32]; ch != nil {
		known = ch[a%32]
	}
	if ca.own <= known+1 {
		return // every earlier copy of the thread was waited for
	}
	var flags uint8
	if write {
		flags = accWrite
	}
	e := access{tid: c.base + a + 1, clk: ca.own, op: c.l.curPC, flags: flags}
	for end := off + uint64(size); off < end; {
		hi := min(end, (off|3)+1)
		e.mask = uint8((1<<(hi-off) - 1) << (off & 3))
		e.span = e.mask
		ce := c.cellAt(sp, ga, off)
		if ce.rs < 0 {
			bs := &c.split[-ce.rs-1]
			eb := e
			eb.mask = 0xF
			// One prior counts once per word, as in checkSplit.
			c.seen, c.checking = c.seen[:0], true
			for m := e.mask; m != 0; m &= m - 1 {
				b := bits.TrailingZeros8(m)
				c.copySelfUnit(&bs[b], eb, a, known, sp, off&^3+uint64(b), size)
			}
			c.checking = false
		} else {
			c.copySelfUnit(&ce.shadow, e, a, known, sp, off, size)
		}
		off = hi
	}
}

// copySelfUnit is copySelf on one word's shadow, or one byte's.
func (c *checker) copySelfUnit(sh *shadow, e access, a, known uint32, sp space, addr uint64, size int) {
	mine := func(p access) bool { return p.tid == e.tid && p.mask&e.mask != 0 && p.clk > known }
	if mine(sh.w) {
		c.found(sh.w, e, a, sp, addr, size)
	}
	if e.flags&accWrite == 0 {
		return
	}
	if mine(sh.r) {
		c.found(sh.r, e, a, sp, addr, size)
	}
	if sh.rs > 0 {
		rs := &c.sets[sh.rs-1]
		for _, r := range rs.list {
			if mine(r) {
				c.found(r, e, a, sp, addr, size)
			}
		}
		if rs.dense != nil && rs.cta == c.cta && mine(rs.dense[a]) {
			c.found(rs.dense[a], e, a, sp, addr, size)
		}
	}
}
