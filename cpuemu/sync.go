package cpuemu

import (
	"math/bits"
)

// Warp collectives: bar.warp.sync, shfl.sync, vote.sync, match.sync and
// redux.sync (PTX ISA §9.7.12.2, §9.7.8.6, §9.7.12.7, §9.7.12.8,
// §9.7.12.10). A lane waits until every non-exited lane named in the
// membermask has arrived at an instruction of the same kind with the same
// qualifiers and mask. Partners need not share a PC: a shfl in an if arm
// pairs with one in the else arm. Exited lanes count as arrived.

// legacyCollective performs vote or shfl without .sync (deprecated in PTX
// ISA 6.0, removed in 6.4 for sm_70 and later): its membermask is the
// lanes ex that execute it together. Under independent thread scheduling
// which lanes those are depends on the schedule, so every execution is
// reported.
func (w *warp) legacyCollective(o *op, pc int32, ex uint32) {
	name := o.code.String() // "vote" or "shfl"
	w.c.l.diag("legacy-warp-collective", o, w, ex,
		"%s without .sync (deprecated since PTX ISA 6.0) acts on the lanes that execute it together, here %#08x; under independent thread scheduling which lanes those are depends on the schedule: use %s.sync with a membermask", name, ex, name)
	w.setPC(ex, pc)
	w.complete(ex, ex)
}

// rendezvousKey identifies "the same instruction kind and qualifiers". A
// negated operand (vote's !p) is not a qualifier: it does not split groups.
func rendezvousKey(o *op) uint32 {
	return uint32(o.code)<<16 | uint32(o.collectiveMode())<<8 | uint32(o.typ)
}

func (w *warp) arriveWarp(o *op, pc int32, ex uint32) {
	r := w.r
	for m := ex; m != 0; m &= m - 1 {
		lane := bits.TrailingZeros32(m)
		mask := uint32(r[w.maskSlot(o)+int32(lane)])
		w.checkRendezvous(o, lane, mask)
		if mask&(1<<lane) == 0 {
			// §9.7.12.2: the executing lane must be in the mask, else the
			// behaviour is undefined. Report it and go on deterministically.
			w.c.l.diag("mask-excludes-self", o, w, 1<<lane, "lane %d executes %s with membermask %#08x, which does not contain it", lane, o.code, mask)
			if o.code == opWarpSync {
				// Nobody waits for this lane, and it has nobody to wait
				// for in a rendezvous that does not include it: it goes
				// on, whatever order the others arrive in.
				w.pc[lane] = pc + 1
				continue
			}
			// A shuffle, vote or match needs its partners' values: the
			// lane waits with the lanes of its mask and is released with
			// them; they do not wait for it.
		}
		w.pc[lane] = pc
		w.st[lane] = stWarp
		w.wsMask[lane] = mask
		w.waiting |= 1 << lane
	}
	if o.code == opWarpSync && w.c.l.tr != nil {
		w.c.l.tr.arrive(w, -1, ex&w.waiting)
	}
	w.tryRendezvous()
}

// checkRendezvous reports a lane that arrives at collective o with mask
// while a lane it names waits for it at a collective of another kind, with
// other qualifiers or with another mask: §9.7.12.2 asks every lane of the
// mask to execute the same instruction with the same mask; they can never
// meet, and a deadlock usually follows.
func (w *warp) checkRendezvous(o *op, lane int, mask uint32) {
	if mask&(1<<lane) == 0 {
		return // mask-excludes-self, reported on its own
	}
	ops := w.c.l.p.ops
	for m := mask & w.waiting &^ (1 << lane); m != 0; m &= m - 1 {
		j := bits.TrailingZeros32(m)
		jo := &ops[w.pc[j]]
		if w.wsMask[j]&(1<<lane) == 0 || w.wsMask[j] == mask && rendezvousKey(jo) == rendezvousKey(o) {
			continue
		}
		what := "membermask"
		if rendezvousKey(jo) != rendezvousKey(o) {
			what = "instruction"
		}
		w.c.l.diag("rendezvous-mismatch", o, w, 1<<lane|1<<j,
			"lane %d arrives at %s (ptx line %d) with membermask %#08x, but lane %d, which it names, waits for it at %s (ptx line %d) with membermask %#08x: a different %s",
			lane, opName(o), o.line, mask, j, opName(jo), jo.line, w.wsMask[j], what)
		return
	}
}

// tryRendezvous completes every group of waiting lanes whose members have
// all arrived (or exited).
func (w *warp) tryRendezvous() {
	ops := w.c.l.p.ops
	waiting := w.waiting
	for waiting != 0 {
		first := bits.TrailingZeros32(waiting)
		mask := w.wsMask[first]
		key := rendezvousKey(&ops[w.pc[first]])
		var group uint32
		for m := waiting; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			if w.wsMask[lane] == mask && rendezvousKey(&ops[w.pc[lane]]) == key {
				group |= 1 << lane
			}
		}
		waiting &^= group
		need := mask & w.live
		if need&^group != 0 {
			// Not everyone is here yet. Lanes of the mask that wait at
			// another collective may still come; if they never do, the
			// deadlock report shows who waits where with which mask.
			continue
		}
		w.complete(group, mask)
	}
}

// shflInvalid reports lane reading lane src, which does not take part
// in shfl o: §9.7.8.6 leaves the value undefined. Hardware reads that
// lane's register as it is; so does the emulator, and it says so.
func (w *warp) shflInvalid(o *op, lane, src int, mask uint32) {
	why, of := "is not in the membermask", "membermask %#08x"
	switch {
	case o.flags&fLegacy != 0: // no membermask: the lanes executing it together
		why, of = "has exited or is not executing this shfl with it", "lanes %#08x execute it"
	case mask&(1<<src) != 0:
		why = "has exited or is not active"
	}
	w.c.l.diag("shfl-invalid-source", o, w, 1<<lane, "lane %d reads lane %d, which %s ("+of+")", lane, src, why, mask)
}

// shflConverged is shfl o run by the lanes group, all at o and forming
// its whole rendezvous by themselves (convergedCollective): complete's
// work without looking up each lane's instruction or moving PCs, one
// loop per mode. The values are read before any is written, as d may be
// a.
func (w *warp) shflConverged(o *op, group, mask uint32) {
	r := w.r
	in := *(*[32]uint64)(r[o.a[0] : o.a[0]+32])
	aa := &in
	bb := (*[32]uint64)(r[o.a[1] : o.a[1]+32])
	cc := (*[32]uint64)(r[o.a[2] : o.a[2]+32])
	dd := (*[32]uint64)(r[o.d[0] : o.d[0]+32])
	var preds [32]uint64
	pp := &preds
	if o.d[1] != noSlot {
		pp = (*[32]uint64)(r[o.d[1] : o.d[1]+32])
	}
	switch o.shflMode() {
	case shflUp:
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			j, ok := shflUpSrc(lane, uint32(bb[lane]), uint32(cc[lane]))
			if !ok {
				j = lane
			} else if group&(1<<(j&31)) == 0 {
				w.shflInvalid(o, lane, j, mask)
			}
			dd[lane], pp[lane] = uint64(uint32(aa[j&31])), b2u(ok)
		}
	case shflDown:
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			j, ok := shflDownSrc(lane, uint32(bb[lane]), uint32(cc[lane]))
			if !ok {
				j = lane
			} else if group&(1<<(j&31)) == 0 {
				w.shflInvalid(o, lane, j, mask)
			}
			dd[lane], pp[lane] = uint64(uint32(aa[j&31])), b2u(ok)
		}
	case shflBfly:
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			j, ok := shflBflySrc(lane, uint32(bb[lane]), uint32(cc[lane]))
			if !ok {
				j = lane
			} else if group&(1<<(j&31)) == 0 {
				w.shflInvalid(o, lane, j, mask)
			}
			dd[lane], pp[lane] = uint64(uint32(aa[j&31])), b2u(ok)
		}
	default: // shflIdx
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			j, ok := shflIdxSrc(lane, uint32(bb[lane]), uint32(cc[lane]))
			if !ok {
				j = lane
			} else if group&(1<<(j&31)) == 0 {
				w.shflInvalid(o, lane, j, mask)
			}
			dd[lane], pp[lane] = uint64(uint32(aa[j&31])), b2u(ok)
		}
	}
}

// complete performs a collective for its participants. Each participant
// uses the operands of its own instruction (they may sit at different PCs);
// values are gathered before any result is written, so d may alias a.
func (w *warp) complete(group, mask uint32) {
	l := w.c.l
	ops := l.p.ops
	r := w.r
	first := &ops[w.pc[bits.TrailingZeros32(group)]]
	switch first.code {
	case opShfl:
		var vals, preds [32]uint64
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			o := &ops[w.pc[lane]]
			b, c := uint32(r[o.a[1]+int32(lane)]), uint32(r[o.a[2]+int32(lane)])
			src, ok := shflSource(uint8(o.shflMode()), lane, b, c)
			if ok && group&(1<<src) == 0 {
				w.shflInvalid(o, lane, src, mask)
			}
			vals[lane] = r[o.a[0]+int32(src)]
			preds[lane] = b2u(ok)
		}
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			o := &ops[w.pc[lane]]
			r[o.d[0]+int32(lane)] = uint64(uint32(vals[lane]))
			if o.d[1] != noSlot {
				r[o.d[1]+int32(lane)] = preds[lane]
			}
		}
	case opVote:
		var ballot uint32
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			o := &ops[w.pc[lane]]
			v := r[o.a[0]+int32(lane)]&1 != 0
			if o.flags&fNegC != 0 {
				v = !v
			}
			if v {
				ballot |= 1 << lane
			}
		}
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			o := &ops[w.pc[lane]]
			var res uint64
			switch o.voteMode() {
			case voteAll:
				res = b2u(ballot == group)
			case voteAny:
				res = b2u(ballot != 0)
			case voteUni:
				res = b2u(ballot == 0 || ballot == group)
			case voteBallot: // non-members and exited lanes give 0
				res = uint64(ballot)
			}
			r[o.d[0]+int32(lane)] = res
		}
	case opMatch:
		var vals [32]uint64
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			o := &ops[w.pc[lane]]
			vals[lane] = trunc(r[o.a[0]+int32(lane)], o.typ.bits())
		}
		allSame := true
		v0 := vals[bits.TrailingZeros32(group)]
		for m := group; m != 0; m &= m - 1 {
			if vals[bits.TrailingZeros32(m)] != v0 {
				allSame = false
			}
		}
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			o := &ops[w.pc[lane]]
			var res uint64
			var p bool
			if o.matchMode() == matchAny {
				var same uint32
				for k := group; k != 0; k &= k - 1 {
					j := bits.TrailingZeros32(k)
					if vals[j] == vals[lane] {
						same |= 1 << j
					}
				}
				res = uint64(same)
			} else if allSame {
				res, p = uint64(group), true
			}
			r[o.d[0]+int32(lane)] = res
			if o.d[1] != noSlot {
				r[o.d[1]+int32(lane)] = b2u(p)
			}
		}
	case opElect:
		// "elect.sync elects one predicated active leader thread from
		// among a set of threads specified by membermask. laneid of the
		// elected thread is returned in the 32-bit destination operand d
		// ... The predicate destination p is set to True for the leader
		// thread, and False for all other threads" (PTX ISA 8.0). The
		// leader is the lowest lane taking part, so the same lanes elect
		// the same leader under every schedule.
		leader := bits.TrailingZeros32(group)
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			o := &ops[w.pc[lane]]
			r[o.d[0]+int32(lane)] = uint64(leader)
			r[o.d[1]+int32(lane)] = b2u(lane == leader)
		}
	case opRedux:
		var acc uint64
		firstLane := true
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			o := &ops[w.pc[lane]]
			v := uint64(uint32(r[o.a[0]+int32(lane)]))
			if firstLane {
				acc, firstLane = v, false
				continue
			}
			switch o.reduxOp() {
			case reduxAdd:
				acc = uint64(uint32(acc + v))
			case reduxMin:
				if lessThan(o.typ, v, acc) {
					acc = v
				}
			case reduxMax:
				if lessThan(o.typ, acc, v) {
					acc = v
				}
			case reduxAnd:
				acc &= v
			case reduxOr:
				acc |= v
			case reduxXor:
				acc ^= v
			}
		}
		for m := group; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			o := &ops[w.pc[lane]]
			r[o.d[0]+int32(lane)] = acc
		}
	}
	// bar.warp.sync orders the participants' memory accesses: that
	// matters to the checker; execution here is sequentially consistent.
	if l.chk != nil {
		if first.code == opWarpSync {
			l.chk.warpSync(w, group)
		} else {
			l.chk.looseMeet(w, group)
		}
	}
	if first.code == opWarpSync && l.tr != nil {
		l.tr.warpRelease(w, group)
	}
	for m := group; m != 0; m &= m - 1 {
		lane := bits.TrailingZeros32(m)
		w.st[lane] = stRun
		w.pc[lane]++
	}
	w.waiting &^= group
}

// CTA barriers (PTX ISA §9.7.12.1): a thread arriving waits for all
// non-exited threads of its warp; then the warp counts as arrived. The
// barrier completes when arrived warps × 32 reach the thread count b, or,
// without b, when every warp with a live thread has arrived. .sync waits for
// completion, .arrive does not.

func (w *warp) arriveBar(o *op, pc int32, ex uint32) {
	c := w.c
	r := w.r
	for m := ex; m != 0; m &= m - 1 {
		lane := bits.TrailingZeros32(m)
		id := uint32(r[o.a[0]+int32(lane)])
		if id >= 16 {
			w.fault(o, lane, "barrier id out of range 0..15", spGeneric, uint64(id), 0)
		}
		b := &c.bars[id]
		count := 0
		if o.flags&fHasC != 0 {
			count = int(uint32(r[o.a[1]+int32(lane)]))
			if count == 0 || count%32 != 0 {
				w.c.l.diag("barrier-count", o, w, 1<<lane, "thread count %d of barrier %d is not a positive multiple of 32", count, id)
			}
		}
		if !b.anyArriv {
			b.anyArriv = true
			b.count = count
			b.red, b.redInit = 0, false
			b.firstPC, b.firstWarp = pc, w.id
		} else {
			if b.count != count {
				w.c.l.diag("barrier-count-mismatch", o, w, 1<<lane, "barrier %d reached with thread count %d and %d in one generation", id, b.count, count)
			}
		}
		// .aligned asks every thread of a warp to execute the same barrier
		// instruction (§9.7.12.1). Warps that name a thread count may use
		// different ones, as warp-specialised producers and consumers do;
		// a barrier over the whole block (__syncthreads) must be one
		// instruction for all, or the block diverged at it.
		if b.arrived[w.id] == 0 && count == 0 && o.flags&fAligned != 0 && pc != b.firstPC {
			w.c.l.diag("barrier-not-aligned", o, w, 1<<lane, "warps %d and %d reach aligned barrier %d over the whole block from different instructions (ptx lines %d and %d)", b.firstWarp, w.id, id, c.l.p.ops[b.firstPC].line, o.line)
		}
		if b.arrived[w.id] == 0 {
			b.warpPC[w.id] = pc
			b.liveAt[w.id] = w.live
		} else if o.flags&fAligned != 0 && b.warpPC[w.id] != pc {
			w.c.l.diag("barrier-not-aligned", o, w, 1<<lane, "lanes of warp %d reach aligned barrier %d from different instructions (ptx lines %d and %d)", w.id, id, c.l.p.ops[b.warpPC[w.id]].line, o.line)
		}
		if b.arrived[w.id]&(1<<lane) != 0 {
			w.c.l.diag("barrier-rearrive", o, w, 1<<lane, "lane %d reached barrier %d again before it completed", lane, id)
		}
		b.arrived[w.id] |= 1 << lane
		if c.l.chk != nil {
			c.l.chk.barArrive(int(id), uint32(w.id*32+lane))
		}
		if red := o.barRed(); red != barNoRed {
			p := r[o.a[2]+int32(lane)]&1 != 0
			if o.flags&fNegC != 0 {
				p = !p
			}
			switch red {
			case barRedPopc:
				b.red += uint32(b2u(p))
			case barRedAnd:
				if !b.redInit {
					b.red = 1
				}
				b.red &= uint32(b2u(p))
			case barRedOr:
				b.red |= uint32(b2u(p))
			}
			b.redInit = true
		}
		if c.l.tr != nil {
			c.l.tr.arrive(w, int(id), 1<<lane)
		}
		w.barID[lane] = uint8(id)
		w.pc[lane] = pc
		if o.code == opBar {
			w.st[lane] = stBar
			w.barWait |= 1 << lane
		} else {
			w.pc[lane] = pc + 1
		}
		c.checkBar(int(id))
	}
}

// checkBar counts warps whose live lanes have all arrived, and releases
// the waiters when the barrier is complete.
func (c *cta) checkBar(id int) {
	b := &c.bars[id]
	if !b.anyArriv {
		return
	}
	for _, w := range c.warps {
		if !b.done[w.id] && b.arrived[w.id] != 0 && b.arrived[w.id]&w.live == w.live {
			b.done[w.id] = true
			b.nwarps++
			// An aligned barrier must be reached by every thread of the
			// warp (§9.7.12.1): lanes that were live when the warp's first
			// lane arrived, and exited instead, diverged at it.
			if gone := b.liveAt[w.id] &^ b.arrived[w.id]; gone != 0 {
				if o := &c.l.p.ops[b.warpPC[w.id]]; o.flags&fAligned != 0 {
					c.l.diag("barrier-divergence", o, w, gone, "lanes %s of warp %d exited while lanes %s of their warp waited at aligned barrier %d: every thread of the warp must reach it", laneList(gone), w.id, laneList(b.arrived[w.id]), id)
				}
			}
		}
	}
	complete := false
	if b.count > 0 {
		complete = b.nwarps*32 >= b.count
	} else {
		complete = b.nwarps >= c.nlive
	}
	if !complete {
		return
	}
	if b.count == 0 {
		c.exitedAtBarrier(id)
	}
	if c.l.chk != nil {
		c.l.chk.barComplete(id, c)
	}
	if c.l.tr != nil {
		c.l.tr.barRelease(c, id)
	}
	ops := c.l.p.ops
	for _, w := range c.warps {
		for lane := 0; lane < 32; lane++ {
			if w.st[lane] == stBar && int(w.barID[lane]) == id {
				o := &ops[w.pc[lane]]
				if o.barRed() != barNoRed && o.d[0] != noSlot {
					w.r[o.d[0]+int32(lane)] = uint64(b.red)
				}
				w.st[lane] = stRun
				w.barWait &^= 1 << lane
				w.pc[lane]++
			}
		}
		b.arrived[w.id] = 0
		b.done[w.id] = false
	}
	b.nwarps = 0
	b.anyArriv = false
	b.gen++
}

// exitedAtBarrier warns when a barrier over the whole block that is not
// .aligned completes while some threads of the block have exited: the
// PTX completes it, counting only the threads that have not exited
// (§9.7.12.1), but cooperative groups' thread_block::sync(), which is
// such a barrier.sync, must be called by every thread of the group.
// (An .aligned barrier, __syncthreads, is checked per warp instead:
// barrier-divergence.)
func (c *cta) exitedAtBarrier(id int) {
	o := &c.l.p.ops[c.bars[id].firstPC]
	if o.flags&fAligned != 0 {
		return
	}
	n := int(c.l.cfg.Block.Count())
	for _, w := range c.warps {
		exist := uint32(1<<min(32, n-w.id*32) - 1)
		if gone := exist &^ w.live; gone != 0 {
			c.l.warn("barrier-exited-threads", o, w, gone, "threads of the block exited (lanes %s of warp %d the first) while the others completed barrier %d, which is not .aligned: the PTX completes it without them, but cooperative groups' sync() must be called by every thread of the group", laneList(gone), w.id, id)
			return
		}
	}
}
