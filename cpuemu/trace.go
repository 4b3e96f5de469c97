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
// garbage collector's headroom.
const MaxTraceLimit = 1 << 21

// tracer collects a launch's trace.
type tracer struct {
	limit     int
	events    []TraceEvent
	truncated bool
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
