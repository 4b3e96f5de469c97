package cpuemu

import "math/bits"

// Schedulers. A scheduler decides, for one block, the order of the warps'
// turns in a round and how many ops each turn issues, and, within a warp,
// which lanes run together next and for how many ops. The block consults
// it once per round and once per turn, the warp once per lane group:
// never per op. What the hot loop needs to know of it is read once into
// the launch (reconverge, yields). A new scheduler is a new type here and
// a case in setScheduler.
type scheduler interface {
	// order fills order with the warps' turns in the next round.
	order(order []int)
	// quantum is how many ops a warp issues in its turn.
	quantum() int
	// group picks, among the warp's runnable lanes run, the lanes that run
	// together (all at pc), for at most steps ops of the budget left in
	// the turn. limit is the lowest PC of the warp's other runnable lanes
	// under a reconverging scheduler, noLimit otherwise.
	group(w *warp, run uint32, budget int) (pc int32, mask uint32, steps int, limit int32)
	// ran tells the scheduler the group issued n ops.
	ran(w *warp, n int)
}

// setScheduler gives the launch the scheduler its configuration names.
func (l *launch) setScheduler() {
	switch l.cfg.Scheduler {
	case RoundRobin:
		l.sch = roundRobin{}
	case Random:
		l.sch = random{l}
	case Adversarial:
		l.sch = adversarial{l}
	default:
		l.sch = lockstep{}
	}
	// Lockstep follows one half of a divergent branch and merges the
	// halves where they meet; the others hand control back at a branch.
	l.reconverge = l.cfg.Scheduler == Lockstep
	// The adversarial scheduler runs one lane alone: a lane that polls
	// (rereads an unchanged location, fails a CAS, sleeps) hands over.
	l.yields = l.cfg.Scheduler == Adversarial
}

// lockstepQuantum is how many ops a warp issues under the lockstep and
// adversarial schedulers before the CTA scheduler moves on.
const lockstepQuantum = 1 << 12

// identity fills order with 0, 1, ...
func identity(order []int) {
	for i := range order {
		order[i] = i
	}
}

// lockstep runs the lanes at the lowest PC together, as a SIMT stack
// would, with the warps in order and long turns.
type lockstep struct{}

func (lockstep) order(order []int) { identity(order) }
func (lockstep) quantum() int      { return lockstepQuantum }
func (lockstep) ran(*warp, int)    {}
func (lockstep) group(w *warp, run uint32, budget int) (pc int32, mask uint32, steps int, limit int32) {
	pc, limit = noLimit, noLimit
	for m := run; m != 0; m &= m - 1 {
		if p := w.pc[bits.TrailingZeros32(m)]; p < pc {
			pc = p
		}
	}
	for m := run; m != 0; m &= m - 1 {
		lane := bits.TrailingZeros32(m)
		if p := w.pc[lane]; p == pc {
			mask |= 1 << lane
		} else if p < limit {
			limit = p
		}
	}
	return pc, mask, budget, limit
}

// roundRobin interleaves as finely as it can: one op per warp turn, and
// within a warp one op per group, the groups taken in lane order.
type roundRobin struct{}

func (roundRobin) order(order []int) { identity(order) }
func (roundRobin) quantum() int      { return 1 }
func (roundRobin) ran(*warp, int)    {}
func (roundRobin) group(w *warp, run uint32, budget int) (pc int32, mask uint32, steps int, limit int32) {
	lane := nextLane(run, w.rr)
	pc = w.pc[lane]
	mask = w.atPC(run, pc)
	w.rr = 31 - bits.LeadingZeros32(mask)
	return pc, mask, 1, noLimit
}

// random shuffles the warps' turns, gives each 1..64 ops, and runs a
// random lane alone or with the lanes at its PC for 1..4 ops: a seed
// replays it exactly.
type random struct{ l *launch }

func (s random) order(order []int) {
	identity(order)
	s.l.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
}
func (s random) quantum() int { return 1 + s.l.rng.IntN(64) }
func (random) ran(*warp, int) {}
func (s random) group(w *warp, run uint32, budget int) (pc int32, mask uint32, steps int, limit int32) {
	rng := s.l.rng
	k := rng.IntN(bits.OnesCount32(run))
	m := run
	for ; k > 0; k-- {
		m &= m - 1
	}
	lane := bits.TrailingZeros32(m)
	pc = w.pc[lane]
	if rng.IntN(2) == 0 {
		mask = 1 << lane
	} else {
		mask = w.atPC(run, pc)
	}
	return pc, mask, 1 + rng.IntN(4), noLimit
}

// adversarial runs one lane alone for up to AdversarialBound ops, or
// until it polls, the warps in reverse order: the schedule under which a
// missing __syncwarp shows.
type adversarial struct{ l *launch }

func (adversarial) order(order []int) {
	for i := range order {
		order[i] = len(order) - 1 - i
	}
}
func (adversarial) quantum() int { return lockstepQuantum }
func (s adversarial) group(w *warp, run uint32, budget int) (pc int32, mask uint32, steps int, limit int32) {
	if w.adv < 0 || run&(1<<w.adv) == 0 || w.yield {
		w.adv = w.pickAdversarial(run)
		w.advRun = 0
		w.yield = false
	}
	return w.pc[w.adv], 1 << w.adv, min(budget, s.l.cfg.AdversarialBound-w.advRun), noLimit
}
func (s adversarial) ran(w *warp, n int) {
	w.advRun += n
	if w.advRun >= s.l.cfg.AdversarialBound {
		w.yield = true
	}
}

// pickAdversarial chooses the lane to run alone: the highest-numbered
// runnable lane, or after a yield the next lower one (cyclically), so that a
// spinning lane hands over. A non-zero seed rotates the starting lane.
func (w *warp) pickAdversarial(run uint32) int {
	if w.adv >= 0 && w.yield {
		for i := 1; i <= 32; i++ {
			lane := (w.adv - i + 64) % 32
			if run&(1<<lane) != 0 {
				return lane
			}
		}
	}
	rot := int(w.c.l.cfg.Seed % 32)
	for i := 0; i < 32; i++ {
		lane := (31 - i - rot + 64) % 32
		if run&(1<<lane) != 0 {
			return lane
		}
	}
	return bits.TrailingZeros32(run)
}

func nextLane(run uint32, after int) int {
	for i := 1; i <= 32; i++ {
		lane := (after + i) % 32
		if run&(1<<lane) != 0 {
			return lane
		}
	}
	return bits.TrailingZeros32(run)
}

func (w *warp) atPC(run uint32, pc int32) uint32 {
	var m uint32
	for x := run; x != 0; x &= x - 1 {
		lane := bits.TrailingZeros32(x)
		if w.pc[lane] == pc {
			m |= 1 << lane
		}
	}
	return m
}
