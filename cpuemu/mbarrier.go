package cpuemu

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"sort"
)

// mbarrier objects (PTX ISA "Parallel Synchronization and Communication
// Instructions: mbarrier"). The ISA's rules, which this file follows:
//
//   - "An opaque mbarrier object keeps track of the following information:
//     Current phase of the mbarrier object; Count of pending arrivals for
//     the current phase; Count of expected arrivals for the next phase;
//     Count of pending asynchronous memory operations (or transactions)
//     tracked by the current phase ... tx-count." Ranges: expected 1 ..
//     2^20-1, pending 0 .. 2^20-1, tx-count -(2^20-1) .. 2^20-1.
//   - init: "Initializing the current phase to 0. Initializing the expected
//     arrival count to count. Initializing the pending arrival count to
//     count. Initializing the tx-count to 0."
//   - arrive-on: "the pending arrival count is decremented by count ... If
//     the current phase has been completed then the mbarrier transitions
//     to the next phase."
//   - "An mbarrier object completes the current phase when all of the
//     following conditions are met: The count of the pending arrivals has
//     reached zero. The tx-count has reached zero." Then, atomically, "The
//     mbarrier object transitions to the next phase. The pending arrival
//     count is reinitialized to the expected arrival count."
//   - expect-tx "increases the tx-count ... by the value specified by
//     expectCount"; complete-tx decrements it "by completeCount" and may
//     complete the phase.
//   - arrive_drop "Decrements the expected arrival count ... by count" (for
//     all later phases) then performs an arrive-on with count.
//   - cp.async.mbarrier.arrive: "Causes an arrive-on operation to be
//     triggered by the system on the mbarrier object upon the completion
//     of all prior cp.async operations initiated by the executing thread
//     ... When .noinc modifier is not specified, the pending count of the
//     mbarrier object is incremented by 1 prior to the asynchronous
//     arrive-on operation."
//   - test_wait/try_wait test "the current incomplete phase, for which
//     waitComplete returns False" or "the immediately preceding phase, for
//     which waitComplete returns True"; the .parity form names the phase
//     by its parity, so a parity other than the current phase's names the
//     preceding phase and returns True.
//   - arrive returns "an opaque 64-bit register capturing the phase of the
//     mbarrier object prior to the arrive-on operation"; pending_count of
//     such a state (from a .noComplete arrive) is "the pending count of
//     the mbarrier object prior to the arrive-on operation".
//
// The object lives in a map of the block by shared-memory offset; its 8
// bytes of shared memory hold a mirror of the state (mbarWord), so that
// memory shows something consistent, but the map is the truth: using 8
// bytes no mbarrier.init made a barrier of is a diagnostic, not a
// reinterpretation of whatever they hold.

const mbarMax = 1<<20 - 1 // the ISA's bound on each count

type mbarObj struct {
	addr     uint32 // shared-memory offset
	valid    bool   // initialised and not invalidated since
	phase    uint32 // phases completed since init: the current phase's number
	expected uint32
	pending  uint32
	tx       int32
	arrived  uint32 // arrive-on count this phase, for reports
	// observed says a test_wait or try_wait returned True for the last
	// completed phase: "For each phase of the mbarrier object, at least
	// one test_wait or try_wait operation must be performed which returns
	// True for waitComplete before an arrive-on operation in the
	// subsequent phase."
	observed bool
	initOp   int32 // the op of the last init or inval, for reports
	// The checker's clocks: released to the current phase by its
	// arrivals, and by the phase completed last.
	rel, done *vclock
}

// mbarWord is the mirror of an object's state in its 8 bytes: pending in
// bits 0-19, expected in 20-39, tx-count in 40-60 (two's complement) and
// the phase parity in bit 63.
func (b *mbarObj) word() uint64 {
	return uint64(b.pending) | uint64(b.expected)<<20 | uint64(uint32(b.tx)&(1<<21-1))<<40 | uint64(b.phase&1)<<63
}

// The state an arrive returns: the phase number in bits 0-31, the pending
// count before the arrive in 32-51, bit 62 set when the arrive was
// .noComplete (the only states pending_count may read), bit 63 set in
// every state, so that a number that is none can be told from one.
const (
	stateMark       = 1 << 63
	stateNoComplete = 1 << 62
)

func mbarState(phase, pending uint32, noComplete bool) uint64 {
	s := stateMark | uint64(phase) | uint64(pending&mbarMax)<<32
	if noComplete {
		s |= stateNoComplete
	}
	return s
}

// mbarAt resolves lane's mbarrier address: its shared-memory offset, or
// ok false after a fault-free diagnostic (an address outside shared
// memory is undefined behaviour, not a fault, in the ISA). The address is
// in o's state space (generic or shared).
func (w *warp) mbarAt(o *op, lane int, addr uint64) (uint32, bool) {
	return w.mbarAtIn(o, o.space, lane, addr)
}

// mbarAtIn is mbarAt for an address in space sp: a bulk copy's [mbar]
// operand is a shared address whatever the copy's own spaces.
func (w *warp) mbarAtIn(o *op, sp space, lane int, addr uint64) (uint32, bool) {
	if sp == spGeneric {
		sp, addr = decodeGeneric(addr)
		if sp != spShared {
			w.c.l.diag("mbarrier-not-shared", o, w, 1<<lane, "lane %d: %s on a .%s address; an mbarrier object lives in shared memory", lane, mbarInstr(o), sp)
			return 0, false
		}
	}
	if addr&7 != 0 {
		w.fault(o, lane, "misaligned", spShared, addr, 8)
	}
	if addr >= uint64(len(w.c.shared)) || addr+8 > uint64(len(w.c.shared)) {
		w.fault(o, lane, "out of bounds", spShared, addr, 8)
	}
	return uint32(addr), true
}

// mbarValid is the valid object at off, or nil after a diagnostic that
// says why there is none: never initialised, or invalidated.
func (w *warp) mbarValid(o *op, lane int, off uint32) *mbarObj {
	b := w.c.mbars[off]
	if b != nil && b.valid {
		return b
	}
	l := w.c.l
	if b == nil {
		l.diag("mbarrier-uninitialised", o, w, 1<<lane, "lane %d: %s on shared offset %#x, which no mbarrier.init has made an mbarrier object (undefined behaviour)", lane, mbarInstr(o), off)
	} else {
		l.diag("mbarrier-invalidated", o, w, 1<<lane, "lane %d: %s on the mbarrier at shared offset %#x after mbarrier.inval at %s (undefined behaviour)", lane, mbarInstr(o), off, l.m.site(&l.p.ops[b.initOp]))
	}
	return nil
}

// mbarInstr names the instruction o that uses an mbarrier, for messages.
func mbarInstr(o *op) string {
	switch {
	case o.code == opCpAsync:
		return "cp.async.bulk"
	case o.mbar() == mbCpAsyncArrive:
		return "cp.async.mbarrier.arrive"
	}
	return "mbarrier." + o.mbar().String()
}

// mbarrier executes an mbarrier operation (or cp.async.mbarrier.arrive)
// for the lanes ex, one lane after another as atomics are. It reports
// whether the group should hand control back: a wait failed and the
// scheduler switches lanes at polls.
func (w *warp) mbarrier(o *op, ex uint32) (yield bool) {
	c, l, r := w.c, w.c.l, w.r
	m := o.mbar()
	for x := ex; x != 0; x &= x - 1 {
		lane := bits.TrailingZeros32(x)
		t := uint32(w.id*32 + lane)
		if m == mbPendingCount {
			s := r[o.a[1]+int32(lane)]
			if s&(stateMark|stateNoComplete) != stateMark|stateNoComplete {
				l.diag("mbarrier-bad-state", o, w, 1<<lane, "lane %d: mbarrier.pending_count of %#x, which is not the state of a .noComplete arrive (undefined behaviour)", lane, s)
			}
			r[o.d[0]+int32(lane)] = s >> 32 & mbarMax
			continue
		}
		off, ok := w.mbarAt(o, lane, r[o.a[0]+int32(lane)]+uint64(o.off))
		if !ok {
			if m == mbTestWait || m == mbTryWait {
				r[o.d[0]+int32(lane)] = 0
				w.pollFailed(lane, nil, 0)
				yield = true
			}
			continue
		}
		if m == mbInit {
			c.mbarInit(o, w, lane, off, uint32(r[o.a[1]+int32(lane)]))
			continue
		}
		b := w.mbarValid(o, lane, off)
		if b == nil {
			switch m {
			case mbTestWait, mbTryWait:
				r[o.d[0]+int32(lane)] = 0
				w.pollFailed(lane, nil, off)
				yield = true
			case mbArrive, mbArriveDrop:
				r[o.d[0]+int32(lane)] = 0
			}
			continue
		}
		switch m {
		case mbInval:
			b.valid, b.initOp = false, l.curPC
			c.mbEpoch++
		case mbArrive, mbArriveDrop:
			n := uint32(1)
			if o.a[2] != noSlot && o.flags&fExpectTx == 0 {
				n = uint32(r[o.a[2]+int32(lane)])
			}
			if n == 0 || n > mbarMax {
				l.diag("mbarrier-count-range", o, w, 1<<lane, "lane %d: arrive count %d outside 1..%d (undefined behaviour); it counts as %d", lane, n, mbarMax, max(1, min(n, mbarMax)))
				n = max(1, min(n, mbarMax))
			}
			if o.flags&fExpectTx != 0 {
				// ".expect_tx specifies that an expect-tx operation is
				// performed prior to the arrive-on operation."
				c.mbarTx(o, w, lane, b, int64(uint32(r[o.a[2]+int32(lane)])))
			}
			if m == mbArriveDrop {
				if n >= b.expected {
					l.diag("mbarrier-count-range", o, w, 1<<lane, "lane %d: arrive_drop of %d leaves the mbarrier at shared offset %#x expecting no arrivals (undefined behaviour)", lane, n, off)
					b.expected = 1
				} else {
					b.expected -= n
				}
			}
			before, phase := b.pending, b.phase
			if l.tr != nil {
				l.tr.mbarArrive(w, lane, b)
			}
			if l.chk != nil && o.sem != semRelaxed {
				l.chk.mbarRelease(b, t)
			}
			completed := c.mbarArriveOn(o, w, lane, b, n)
			if completed && o.flags&fNoComplete != 0 {
				l.diag("mbarrier-nocomplete", o, w, 1<<lane, "lane %d: a .noComplete arrive completed phase %d of the mbarrier at shared offset %#x (undefined behaviour)", lane, phase, off)
			}
			r[o.d[0]+int32(lane)] = mbarState(phase, before, o.flags&fNoComplete != 0)
		case mbExpectTx:
			c.mbarTx(o, w, lane, b, int64(uint32(r[o.a[2]+int32(lane)])))
		case mbCompleteTx:
			c.mbarTx(o, w, lane, b, -int64(uint32(r[o.a[2]+int32(lane)])))
			c.mbarMaybeComplete(b)
		case mbTestWait, mbTryWait:
			var done bool
			want := b.phase // the phase waited for
			if o.flags&fParity != 0 {
				// "An even phase has integer parity 0 and an odd phase
				// has integer parity of 1": the current phase's parity
				// waits, the other names the phase before it.
				p := uint32(r[o.a[1]+int32(lane)]) & 1
				done = p != b.phase&1
				if done {
					want = b.phase - 1
				}
			} else {
				s := r[o.a[1]+int32(lane)]
				sp := uint32(s)
				switch {
				case s&stateMark == 0:
					l.diag("mbarrier-bad-state", o, w, 1<<lane, "lane %d: %s with state %#x, which no mbarrier.arrive returned (undefined behaviour)", lane, m, s)
					done = true
				case sp == b.phase:
				case sp+1 == b.phase:
					done, want = true, sp
				default:
					l.diag("mbarrier-stale-phase", o, w, 1<<lane, "lane %d: %s for phase %d of the mbarrier at shared offset %#x, now in phase %d: only the current and the preceding phase may be tested (undefined behaviour)", lane, m, sp, off, b.phase)
					done, want = sp < b.phase, sp
				}
			}
			r[o.d[0]+int32(lane)] = b2u(done)
			if !done {
				w.pollFailed(lane, b, want)
				yield = true
				continue
			}
			if w.polls != nil {
				w.polls.on[lane] = false
			}
			if want+1 == b.phase {
				b.observed = true
				if l.chk != nil && o.sem != semRelaxed {
					l.chk.acquire(t, b.done)
				}
			}
		case mbCpAsyncArrive:
			if o.flags&fNoinc == 0 {
				if b.pending >= mbarMax {
					l.diag("mbarrier-count-range", o, w, 1<<lane, "lane %d: cp.async.mbarrier.arrive raises the pending count of the mbarrier at shared offset %#x past %d (undefined behaviour)", lane, off, mbarMax)
				} else {
					b.pending++
				}
			}
			c.asyncArrive(o, w, lane, b)
		}
	}
	return yield && l.yields
}

// mbarInit performs mbarrier.init by lane of w at shared offset off.
func (c *cta) mbarInit(o *op, w *warp, lane int, off, count uint32) {
	l := c.l
	if c.mbars == nil {
		c.mbars = map[uint32]*mbarObj{}
	}
	b := c.mbars[off]
	if b != nil && b.valid {
		l.diag("mbarrier-reinit", o, w, 1<<lane, "lane %d: mbarrier.init on the valid mbarrier at shared offset %#x (initialised at %s) without mbarrier.inval first (undefined behaviour)", lane, off, l.m.site(&l.p.ops[b.initOp]))
	}
	if count == 0 || count > mbarMax {
		l.diag("mbarrier-count-range", o, w, 1<<lane, "lane %d: mbarrier.init count %d outside 1..%d (undefined behaviour); it counts as %d", lane, count, mbarMax, max(1, min(count, mbarMax)))
		count = max(1, min(count, mbarMax))
	}
	if b == nil {
		b = &mbarObj{addr: off}
		c.mbars[off] = b
	}
	*b = mbarObj{addr: off, valid: true, expected: count, pending: count, initOp: l.curPC, observed: true}
	// The object's bytes count as written: reading them is no read of
	// uninitialised memory (it is undefined behaviour of its own).
	for i := off; i < off+8; i++ {
		c.sharedInit[i] = 1
	}
	c.mbarSync(b)
}

// mbarSync writes an object's mirror word and notes the change.
func (c *cta) mbarSync(b *mbarObj) {
	binary.LittleEndian.PutUint64(c.shared[b.addr:b.addr+8], b.word())
	c.mbEpoch++
}

// mbarTx adds delta to an object's tx-count, reporting a count outside the
// ISA's range (an underflow when more bytes complete than were expected).
func (c *cta) mbarTx(o *op, w *warp, lane int, b *mbarObj, delta int64) {
	nt := int64(b.tx) + delta
	if nt < -mbarMax || nt > mbarMax {
		what := "overflows"
		if nt < 0 {
			what = "underflows"
		}
		c.l.diag("mbarrier-tx-count", o, w, 1<<lane, "lane %d: the tx-count of the mbarrier at shared offset %#x %s: %d %+d leaves the range -%d..%d (undefined behaviour)", lane, b.addr, what, b.tx, delta, mbarMax, mbarMax)
		nt = max(-mbarMax, min(nt, mbarMax))
	}
	b.tx = int32(nt)
	c.mbarSync(b)
}

// mbarArriveOn performs an arrive-on with count n and reports whether it
// completed the phase. An arrive-on in a phase whose predecessor no wait
// has observed is more arrivals than the barrier expects, as is a count
// larger than the arrivals pending.
func (c *cta) mbarArriveOn(o *op, w *warp, lane int, b *mbarObj, n uint32) bool {
	l := c.l
	switch {
	case n > b.pending:
		l.diag("mbarrier-over-arrival", o, w, 1<<lane, "lane %d: arrive-on with count %d on the mbarrier at shared offset %#x, which has %d arrivals pending in phase %d (%d expected): more arrivals than expected (undefined behaviour)", lane, n, b.addr, b.pending, b.phase, b.expected)
		n = b.pending
	case !b.observed:
		l.diag("mbarrier-over-arrival", o, w, 1<<lane, "lane %d: arrive-on in phase %d of the mbarrier at shared offset %#x before any test_wait or try_wait observed phase %d complete: more arrivals than the %d expected, or an arrival ahead of the wait (undefined behaviour)", lane, b.phase, b.addr, b.phase-1, b.expected)
		b.observed = true // once per phase
	}
	b.pending -= n
	b.arrived += n
	return c.mbarMaybeComplete(b)
}

// mbarMaybeComplete completes the current phase when its pending arrivals
// and its tx-count have both reached zero.
func (c *cta) mbarMaybeComplete(b *mbarObj) bool {
	if b.pending != 0 || b.tx != 0 {
		c.mbarSync(b)
		return false
	}
	if c.l.tr != nil {
		c.l.tr.mbarPhase(c, b)
	}
	b.phase++
	b.pending = b.expected
	b.arrived = 0
	b.observed = false
	b.done, b.rel = b.rel, nil
	c.mbarSync(b)
	return true
}

// pollFailed notes that lane's wait on phase want of b returned False (b
// nil: there is no valid object). A block whose live lanes all poll
// phases nothing left can complete is deadlocked (mbarDeadlock).
func (w *warp) pollFailed(lane int, b *mbarObj, want uint32) {
	c := w.c
	c.mbPolled = true
	if w.polls == nil {
		w.polls = new(lanePolls)
	}
	p := &w.polls.lane[lane]
	if w.polls.on[lane] && p.epoch == c.mbEpoch && p.obj == b && p.phase == want {
		p.fails++
	} else {
		*p = lanePoll{obj: b, phase: want, epoch: c.mbEpoch, fails: 1}
	}
	p.op = c.l.curPC
	w.polls.on[lane] = true
	if w.c.l.yields {
		w.yield = true
	}
}

// lanePolls are the failed mbarrier waits of a warp's lanes.
type lanePolls struct {
	on   [32]bool // the lane's last wait failed
	lane [32]lanePoll
}

// lanePoll is a lane's last failed wait: the object (nil: none was valid),
// the phase waited for, the wait's op, the block's mbEpoch then, and how
// many times in a row it failed since.
type lanePoll struct {
	obj   *mbarObj
	phase uint32
	op    int32
	epoch uint64
	fails uint32
}

// mbarStuckPolls is how many times in a row, with no change to any
// mbarrier, async copy or memory of the block in between, every polling
// lane must have failed its wait before the block counts as deadlocked.
// A loop that tries a few times and then does something else is thus not
// taken for a deadlock; libcu++'s waits (test_wait or try_wait with
// nanosleep back-off, forever) are.
const mbarStuckPolls = 3

// mbarStuck reports whether every live lane of the block waits at a
// barrier or collective, or polls an mbarrier phase that has not
// completed, at least mbarStuckPolls times since the block's last change,
// with one lane polling at least. Then only copies in flight can change
// anything; with none, the block is deadlocked (mbarDeadlock).
func (c *cta) mbarStuck() bool {
	polls := 0
	for _, w := range c.warps {
		for m := w.live &^ (w.waiting | w.barWait); m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			if w.polls == nil || !w.polls.on[lane] {
				return false
			}
			p := &w.polls.lane[lane]
			if p.epoch != c.mbEpoch || p.fails < mbarStuckPolls {
				return false
			}
			if b := p.obj; b != nil && (b.phase != p.phase || !b.valid) {
				return false
			}
			polls++
		}
	}
	return polls > 0
}

// mbarDeadlock is the deadlock of a stuck block: the barriers and
// collectives its lanes wait at, and for each group of polling lanes the
// mbarrier, the phase they wait for, the arrivals that came and those
// expected, and the tx-count.
func (c *cta) mbarDeadlock() error {
	err := c.deadlock().(*DeadlockError)
	type key struct {
		b     *mbarObj
		phase uint32
		warp  int
	}
	groups := map[key]uint32{}
	var keys []key
	for _, w := range c.warps {
		for m := w.live &^ (w.waiting | w.barWait); m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			if w.polls == nil || !w.polls.on[lane] {
				continue
			}
			p := &w.polls.lane[lane]
			k := key{p.obj, p.phase, w.id}
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] |= 1 << lane
		}
	}
	var lines []string
	for _, k := range keys {
		lanes := groups[k]
		if k.b == nil {
			lines = append(lines, fmt.Sprintf("warp %d: lanes %s poll an mbarrier at an address no valid mbarrier object is at", k.warp, laneList(lanes)))
			continue
		}
		b := k.b
		w := c.warps[k.warp]
		o := &c.l.p.ops[w.polls.lane[bits.TrailingZeros32(lanes)].op]
		lines = append(lines, fmt.Sprintf("warp %d: lanes %s poll the mbarrier at shared offset %#x at %s for phase %d (parity %d), which cannot complete: %d of %d arrivals came, tx-count %d",
			k.warp, laneList(lanes), b.addr, c.l.m.site(o), k.phase, k.phase&1, b.arrived, b.arrived+b.pending, b.tx))
	}
	sort.Strings(lines)
	err.Waiters = append(err.Waiters, lines...)
	sort.Strings(err.Waiters)
	return err
}
