package cpuemu

import "sync"

// Which strong loads' values a program uses as data: the checker's test of
// whether unordered, morally strong accesses are schedule-dependent
// (race.go, found). A value read by a strong load (ld .relaxed, .acquire,
// .volatile) is used as data when it flows, through registers, into the
// value a store, an atomic or printf writes. A value that only decides a
// branch or a guard (a spin-wait's poll) is not: control dependence is
// not followed, and a predicate taints only what selp, set or another
// instruction computes from it.
//
// The analysis is static and flow-insensitive, once per program: each
// strong load site has a bit, each register slot the set of sites whose
// values may reach it; an instruction's destinations get the union of its
// sources', until nothing changes. Registers nvcc reuses (loop-carried
// values) merge their uses, and local memory and the call parameter frame
// are one pool: both can only add uses, so the analysis over-approximates,
// and a spin whose poll flows into a store through a reused register or a
// local spill warns. Weak loads and atomics taint nothing, so the checker's
// fast path pays nothing, and a program with no strong load is not
// analysed at all.

// dataUseCache holds a program's dataUses, made on its first checked
// launch.
type dataUseCache struct {
	once sync.Once
	use  []bool
}

// dataUses gives, per op, whether the op is a strong load whose value the
// program uses as data; nil when it has no strong load.
func (p *program) dataUses() []bool {
	p.dataUse.once.Do(func() { p.dataUse.use = p.findDataUses() })
	return p.dataUse.use
}

func (p *program) findDataUses() []bool {
	var sites []int32 // op index per strong-load bit
	for i := range p.ops {
		if o := &p.ops[i]; o.code == opLd && o.sem != semWeak {
			sites = append(sites, int32(i))
		}
	}
	if len(sites) == 0 {
		return nil
	}
	nw := (len(sites) + 63) / 64
	taint := make([]uint64, p.nslots*nw) // per slot: the sites that may reach it
	pool := make([]uint64, nw)           // what local memory and the parameter frame may hold
	used := make([]uint64, nw)           // sites used as data
	slot := func(s int32) []uint64 {
		if s < 0 || int(s/32) >= p.nslots {
			return nil
		}
		i := int(s/32) * nw
		return taint[i : i+nw]
	}
	changed := false
	or := func(dst, src []uint64) {
		if dst == nil || src == nil {
			return
		}
		for k, x := range src {
			if dst[k]|x != dst[k] {
				dst[k] |= x
				changed = true
			}
		}
	}
	siteBit := map[int32]int{}
	for b, i := range sites {
		siteBit[i] = b
	}
	spill := func(sp space) bool { return sp == spLocal || sp == spParamF }
	copyArgs := func(cs []paramCopy) {
		for _, pc := range cs {
			var src []uint64
			if pc.from.kind == locSlot {
				src = slot(pc.from.off)
			} else {
				src = pool
			}
			if pc.to.kind == locSlot {
				or(slot(pc.to.off), src)
			} else {
				or(pool, src)
			}
		}
	}
	for first := true; first || changed; first = false {
		changed = false
		for i := range p.ops {
			o := &p.ops[i]
			switch o.code {
			case opLd:
				if b, ok := siteBit[int32(i)]; ok {
					for _, d := range o.d {
						if t := slot(d); t != nil && t[b/64]&(1<<(b%64)) == 0 {
							t[b/64] |= 1 << (b % 64)
							changed = true
						}
					}
				} else if spill(o.space) {
					for _, d := range o.d {
						or(slot(d), pool)
					}
				}
			case opSt:
				for k := 0; k < int(o.vec) && k < len(o.d); k++ {
					if spill(o.space) {
						or(pool, slot(o.d[k]))
					} else {
						or(used, slot(o.d[k]))
					}
				}
			case opAtom, opRed:
				// a[0] is the address; the rest are the values written.
				for _, a := range o.a[1:] {
					or(used, slot(a))
				}
			case opCallBuiltin:
				// printf and assert read their arguments from the
				// parameter frame and local memory.
				or(used, pool)
			case opCall:
				cs := &p.calls[o.aux]
				copyArgs(cs.args)
				copyArgs(cs.rets)
			case opCallInd:
				for _, t := range p.indirect[o.aux].targets {
					cs := &p.calls[t.call]
					copyArgs(cs.args)
					copyArgs(cs.rets)
				}
			default:
				if opTable[o.code].exec == execLoop && !collective(o.code) {
					continue
				}
				// ALU instructions and warp collectives: every source
				// reaches every destination.
				for _, d := range o.d {
					dt := slot(d)
					for _, a := range o.a {
						or(dt, slot(a))
					}
				}
			}
		}
	}
	out := make([]bool, len(p.ops))
	for b, i := range sites {
		out[i] = used[b/64]&(1<<(b%64)) != 0
	}
	return out
}

// collective reports whether code is a warp collective that computes its
// destinations from its sources (shfl, vote, match, redux, bar.red).
func collective(code opcode) bool {
	switch code {
	case opShfl, opVote, opMatch, opRedux, opBar:
		return true
	}
	return false
}
