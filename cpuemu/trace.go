package cpuemu

import (
	"fmt"
	"math/bits"
	"strconv"
)

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
	// Addr is a memory instruction's address, in Space; an asynchronous
	// copy's destination.
	Addr uint64 `json:"addr,omitempty"`
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
// garbage collector's headroom. Barriers, mbarriers and asynchronous
// copies add at most three 64-byte TraceSync records per event (a bulk
// copy's issue, its landing and the phase its complete-tx completes), and
// only in a trace made of them.
const MaxTraceLimit = 1 << 21

// TraceSync is a step of a rendezvous in a trace. Its Kind says which:
//
//   - TraceBarrier: lanes of one warp arriving at a CTA barrier (bar.sync,
//     bar.arrive, bar.red, barrier.*) or at bar.warp.sync (__syncwarp), or
//     the rendezvous releasing them. Every lane of a release's Lanes has
//     an arrival before it, in a record of the same barrier and warp; a
//     CTA barrier's release has one record for each warp that took part,
//     at the same step.
//   - TraceMbarrier: lanes of one warp performing an arrive-on of the
//     mbarrier at shared offset Barrier in its phase Phase (mbarrier.arrive
//     and arrive_drop, or, with From set, the arrive-on that a lane's
//     cp.async.mbarrier.arrive issued at step From triggers once its
//     copies have landed), or (Release) that phase completing, with Warp
//     -1 and no Lanes: the completion is the barrier's, whichever arrival
//     or complete-tx brought it. Every arrival of a phase comes before its
//     completion, if the trace holds that.
//   - TraceCopy: lanes of one warp issuing asynchronous copies (cp.async,
//     cp.async.bulk), or (Release) copies landing: their bytes moved at
//     Step, and From is the step the lanes issued them at.
//
// The trace's viewers draw an arrow from each arrival to its release.
type TraceSync struct {
	Step    int64         `json:"step"` // the issue it happened in (TraceEvent.Step)
	Kind    TraceSyncKind `json:"kind,omitempty"`
	Release bool          `json:"release"` // false: an arrival (or a copy's issue)
	CTA     Dim3          `json:"cta"`
	Warp    int           `json:"warp"`
	Lanes   uint32        `json:"lanes"`
	// Barrier is the CTA barrier's number, 0..15, or -1 for bar.warp.sync;
	// an mbarrier's shared-memory offset; 0 for copies.
	Barrier int `json:"barrier"`
	// Phase is the mbarrier phase an arrival is in, or that completed.
	Phase uint32 `json:"phase,omitempty"`
	// From is the step of the instruction that issued an asynchronous
	// operation: a landed copy's cp.async, or the cp.async.mbarrier.arrive
	// of an arrive-on that followed copies; 0 for the others.
	From int64 `json:"from,omitempty"`
}

// TraceSyncKind says what a TraceSync records.
type TraceSyncKind uint8

const (
	TraceBarrier  TraceSyncKind = iota // a CTA barrier or bar.warp.sync
	TraceMbarrier                      // an mbarrier arrive-on or phase completion
	TraceCopy                          // an asynchronous copy's issue or landing
)

var traceSyncKinds = [...]string{"barrier", "mbarrier", "copy"}

func (k TraceSyncKind) String() string {
	if int(k) < len(traceSyncKinds) {
		return traceSyncKinds[k]
	}
	return "TraceSyncKind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText writes the kind's name, as the JSON trace shows it.
func (k TraceSyncKind) MarshalText() ([]byte, error) {
	if int(k) >= len(traceSyncKinds) {
		return nil, fmt.Errorf("cpuemu: unknown trace sync kind %d", k)
	}
	return []byte(traceSyncKinds[k]), nil
}

// UnmarshalText reads a kind's name.
func (k *TraceSyncKind) UnmarshalText(b []byte) error {
	for i, n := range traceSyncKinds {
		if string(b) == n {
			*k = TraceSyncKind(i)
			return nil
		}
	}
	return fmt.Errorf("cpuemu: unknown trace sync kind %q", b)
}

// tracer collects a launch's trace.
type tracer struct {
	limit     int
	events    []TraceEvent
	truncated bool
	// syncs are the rendezvous of the recorded events: an arrival is
	// recorded with the event of its instruction, and nothing once the
	// trace is truncated, so there are never more than three for each
	// event (see MaxTraceLimit).
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

// lanesOf records lane of warp in s: into the last record when it is the
// same but for its lanes (lanes of one issue make one record), else as a
// new one.
func (t *tracer) lanesOf(s TraceSync, lane int) {
	if t.truncated {
		return
	}
	if n := len(t.syncs); n > 0 {
		if p := &t.syncs[n-1]; p.Lanes&(1<<lane) == 0 {
			q := *p
			q.Lanes = s.Lanes
			if q == s {
				p.Lanes |= 1 << lane
				return
			}
		}
	}
	s.Lanes = 1 << lane
	t.syncs = append(t.syncs, s)
}

// mbarArrive records an arrive-on of lane of w on b, in b's current phase.
func (t *tracer) mbarArrive(w *warp, lane int, b *mbarObj) {
	t.lanesOf(TraceSync{Step: w.c.l.wcount, Kind: TraceMbarrier, CTA: w.c.id, Warp: w.id, Barrier: int(b.addr), Phase: b.phase}, lane)
}

// mbarArriveAsync records the arrive-on that thread t of c's
// cp.async.mbarrier.arrive, issued at step from, performs on b now.
func (t *tracer) mbarArriveAsync(c *cta, thread int, b *mbarObj, from int64) {
	t.lanesOf(TraceSync{Step: c.l.wcount, Kind: TraceMbarrier, CTA: c.id, Warp: thread / 32, Barrier: int(b.addr), Phase: b.phase, From: from}, thread%32)
}

// mbarPhase records b's current phase completing.
func (t *tracer) mbarPhase(c *cta, b *mbarObj) {
	if t.truncated {
		return
	}
	t.syncs = append(t.syncs, TraceSync{Step: c.l.wcount, Kind: TraceMbarrier, Release: true, CTA: c.id, Warp: -1, Barrier: int(b.addr), Phase: b.phase})
}

// copyIssue records lane of w issuing an asynchronous copy.
func (t *tracer) copyIssue(w *warp, lane int) {
	t.lanesOf(TraceSync{Step: w.c.l.wcount, Kind: TraceCopy, CTA: w.c.id, Warp: w.id}, lane)
}

// copyLand records the copy thread t of c issued at step from landing.
func (t *tracer) copyLand(c *cta, thread int, from int64) {
	t.lanesOf(TraceSync{Step: c.l.wcount, Kind: TraceCopy, Release: true, CTA: c.id, Warp: thread / 32, From: from}, thread%32)
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
		case opCpAsync:
			// The destination, which the copy writes when it lands.
			sp := spShared
			if o.copyMode() == copyBulkOut {
				sp = spGlobal
			}
			e.Space, e.Addr, e.HasAddr = sp.String(), w.r[o.a[0]+int32(lane)], true
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
	case opMbar:
		return mbarInstr(o)
	case opCpAsync:
		if m := o.copyMode(); m == copyBulkIn || m == copyBulkOut {
			return "cp.async.bulk"
		}
		return "cp.async"
	case opAsyncCtl:
		return "cp.async." + o.asyncCtl().String()
	}
	return o.code.String()
}
