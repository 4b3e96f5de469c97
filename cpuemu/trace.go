package cpuemu

import "math/bits"

// TraceEvent is one instruction one lane executed, in the order the
// scheduler ran them. Lanes that run an instruction together (a lockstep
// group) give one event each, with the same Step.
type TraceEvent struct {
	Step  int64  `json:"step"` // the issue this lane took part in; ascending
	CTA   Dim3   `json:"cta"`
	Warp  int    `json:"warp"`
	Lane  int    `json:"lane"`
	PC    int    `json:"pc"` // index of the lowered instruction
	Op    string `json:"op"` // e.g. "st", "bar.warp.sync"
	Space string `json:"space,omitempty"`
	Addr  uint64 `json:"addr,omitempty"` // memory instructions: the address, in Space
	// HasAddr tells a memory instruction at address 0 from the others.
	HasAddr bool   `json:"has_addr,omitempty"`
	PTXLine int    `json:"ptx_line"`
	Loc     string `json:"loc,omitempty"` // CUDA file:line
}

// MaxTraceLimit bounds LaunchConfig.TraceLimit. A TraceEvent is 120 bytes,
// and the op name and CUDA location strings it holds are made per
// instruction, so a trace of single-lane steps (the random and adversarial
// schedulers) holds about 255 bytes per event: 2^21 events are about half a
// GiB live, and about 1 GiB at the peak of the slice's growth with the
// garbage collector's headroom. Barriers add at most two 48-byte
// TraceSync records per event, and only in a trace made of barriers.
const MaxTraceLimit = 1 << 21

// TraceSync is a step of a rendezvous in a trace: lanes of one warp
// arriving at a CTA barrier (bar.sync, bar.arrive, bar.red, barrier.*) or
// at bar.warp.sync (__syncwarp), or the rendezvous releasing them. Every
// lane of a release's Lanes has an arrival before it, in a record of the
// same barrier and warp; a CTA barrier's release has one record for each
// warp that took part, at the same step. The trace's viewers draw an
// arrow from each arrival to its release.
type TraceSync struct {
	Step    int64  `json:"step"`    // the issue it happened in (TraceEvent.Step)
	Release bool   `json:"release"` // false: an arrival
	CTA     Dim3   `json:"cta"`
	Warp    int    `json:"warp"`
	Lanes   uint32 `json:"lanes"`
	// Barrier is the CTA barrier's number, 0..15, or -1 for bar.warp.sync.
	Barrier int `json:"barrier"`
}

// tracer collects a launch's trace.
type tracer struct {
	limit     int
	events    []TraceEvent
	truncated bool
	// syncs are the rendezvous of the recorded events: an arrival is
	// recorded with the event of its instruction, and nothing once the
	// trace is truncated, so there are never more than events.
	syncs []TraceSync
}

// arrive records lanes of w arriving at CTA barrier bar, or at
// bar.warp.sync when bar is -1. Lanes of one issue at one barrier make
// one record.
func (t *tracer) arrive(w *warp, bar int, lanes uint32) {
	if t.truncated || lanes == 0 {
		return
	}
	step := w.c.l.wcount
	if n := len(t.syncs); n > 0 {
		if s := &t.syncs[n-1]; !s.Release && s.Step == step && s.CTA == w.c.id && s.Warp == w.id && s.Barrier == bar {
			s.Lanes |= lanes
			return
		}
	}
	t.syncs = append(t.syncs, TraceSync{Step: step, CTA: w.c.id, Warp: w.id, Lanes: lanes, Barrier: bar})
}

// warpRelease records bar.warp.sync releasing group. Lanes that did not
// wait (the converged fast path completes a rendezvous without queueing
// its lanes) arrive at this step.
func (t *tracer) warpRelease(w *warp, group uint32) {
	t.arrive(w, -1, group&^w.waiting)
	t.release(w, -1, group)
}

// barRelease records CTA barrier id releasing the lanes that arrived at
// it, one record per warp.
func (t *tracer) barRelease(c *cta, id int) {
	for _, w := range c.warps {
		t.release(w, id, c.bars[id].arrived[w.id])
	}
}

func (t *tracer) release(w *warp, bar int, lanes uint32) {
	if t.truncated || lanes == 0 {
		return
	}
	t.syncs = append(t.syncs, TraceSync{Step: w.c.l.wcount, Release: true, CTA: w.c.id, Warp: w.id, Lanes: lanes, Barrier: bar})
}

// record adds one event per lane of ex executing op o at pc.
func (t *tracer) record(w *warp, pc int32, o *op, ex uint32) {
	l := w.c.l
	site := l.m.site(o)
	for m := ex; m != 0; m &= m - 1 {
		if len(t.events) >= t.limit {
			t.truncated = true
			return
		}
		lane := bits.TrailingZeros32(m)
		e := TraceEvent{Step: l.wcount, CTA: w.c.id, Warp: w.id, Lane: lane, PC: int(pc), Op: opName(o), PTXLine: site.PTXLine, Loc: site.Loc}
		switch o.code {
		case opLd, opSt, opAtom, opRed:
			sp, addr := o.space, w.r[o.a[0]+int32(lane)]+uint64(o.off)
			if sp == spGeneric {
				sp, addr = decodeGeneric(addr)
			}
			e.Space, e.Addr, e.HasAddr = sp.String(), addr, true
		}
		t.events = append(t.events, e)
	}
}

// opName is an instruction's name with its state space, as in "st.shared".
func opName(o *op) string {
	switch o.code {
	case opLd, opSt, opAtom, opRed:
		if o.space != spGeneric {
			return o.code.String() + "." + o.space.String()
		}
	case opCallBuiltin:
		return "call " + builtins[o.builtin()].name
	}
	return o.code.String()
}
