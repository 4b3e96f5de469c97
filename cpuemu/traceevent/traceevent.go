// Package traceevent writes an emulator trace in the Trace Event Format,
// the JSON that ui.perfetto.dev and chrome://tracing open.
//
// The picture:
//
//   - a process per block ("block (x,y,z)"), in the order of the blocks'
//     linear index, and in it a thread (a track) per lane that ran, named
//     "warp W lane L" and sorted by warp, then lane, so the lanes of a warp
//     sit together; a block with barriers has a "barriers" track first;
//   - every instruction a lane executed is a complete ("X") slice on its
//     track, named by its opcode: one scheduler step is one microsecond,
//     so ts is TraceEvent.Step and dur is 1, and the lanes of a lockstep
//     group line up;
//   - every release of a CTA barrier or of bar.warp.sync (__syncwarp) is
//     a slice on its block's "barriers" track, and an arrow (a flow: "s"
//     on the arrival, "f" with "bp":"e" on the release) runs from each
//     lane's arrival to the release that let it go;
//   - so is every completed phase of an mbarrier, with an arrow from each
//     arrive-on of the phase: from the lane's mbarrier.arrive, or for the
//     arrive-on a cp.async.mbarrier.arrive triggers when the lane's copies
//     land, from that instruction (the lane runs nothing at the landing);
//   - each hazard of the checker's report is an instant ("i", thread
//     scope) on the lane of its later access, at the step of its first
//     occurrence, with both sites in its args, and an arrow from the prior
//     access.
//
// Flow events bind to the slice that encloses them (PTX steps are whole
// microseconds, flows sit at a quarter or a half past), so that neither
// viewer has to break a tie between events at the same timestamp.
package traceevent

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"slices"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// Trace is what Write draws: a launch's trace, and the checker's report
// when it ran under the checker.
type Trace struct {
	Kernel    string
	Events    []cpuemu.TraceEvent
	Syncs     []cpuemu.TraceSync
	Truncated bool
	Report    *cpuemu.Report // nil: no hazards to show
}

// FromResult is the trace of a launch, with its report.
func FromResult(res *cpuemu.Result) Trace {
	return Trace{Kernel: res.Kernel, Events: res.Trace, Syncs: res.TraceSyncs, Truncated: res.TraceTruncated, Report: res.Report}
}

// Offsets within a step's microsecond. A flow starts a quarter past its
// slice's start and ends half past, so that in a step where one lane's
// arrival is the release (the last lane in) the start still comes first;
// release slices fill the second half of the step they happen in; a
// hazard's instant sits three quarters past.
const (
	flowStartAt = 0.25
	flowEndAt   = 0.5
	releaseAt   = 0.5
	instantAt   = 0.75
)

// event is one trace event. The fields are those of the Trace Event
// Format; which ones an event has depends on its phase (ph).
type event struct {
	Name string   `json:"name"`
	Cat  string   `json:"cat,omitempty"`
	Ph   string   `json:"ph"`
	Ts   float64  `json:"ts"` // microseconds
	Dur  *float64 `json:"dur,omitempty"`
	Pid  int      `json:"pid"`
	Tid  int      `json:"tid"`
	ID   int      `json:"id,omitempty"` // flows: start and end share it
	Bp   string   `json:"bp,omitempty"` // flow end: "e", bind to the enclosing slice
	S    string   `json:"s,omitempty"`  // instant's scope: "t" thread, "p" process, "g" global
	Args any      `json:"args,omitempty"`
}

type laneKey struct {
	cta        cpuemu.Dim3
	warp, lane int
}

type siteKey struct {
	laneKey
	line int
}

// writer streams events, one JSON value at a time.
type writer struct {
	w     *bufio.Writer
	n     int
	err   error
	flows int
}

func (w *writer) emit(e event) {
	if w.err != nil {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		w.err = err
		return
	}
	if w.n > 0 {
		w.w.WriteByte(',')
	}
	w.w.WriteString("\n")
	_, w.err = w.w.Write(b)
	w.n++
}

// flow draws an arrow from the slice enclosing (pid, tid, from) to the
// slice enclosing (pid2, tid2, to).
func (w *writer) flow(name, cat string, pid, tid int, from float64, pid2, tid2 int, to float64) {
	w.flows++
	w.emit(event{Name: name, Cat: cat, Ph: "s", Ts: from, Pid: pid, Tid: tid, ID: w.flows})
	w.emit(event{Name: name, Cat: cat, Ph: "f", Bp: "e", Ts: to, Pid: pid2, Tid: tid2, ID: w.flows})
}

func dur(d float64) *float64 { return &d }

// linear orders blocks as the launch numbers them: x fastest.
func cmpDim(a, b cpuemu.Dim3) int {
	return cmp.Or(cmp.Compare(a.Z, b.Z), cmp.Compare(a.Y, b.Y), cmp.Compare(a.X, b.X))
}

// Write writes t as a Trace Event Format JSON object. Lanes and blocks
// that left no event have no track.
func Write(out io.Writer, t Trace) error {
	w := &writer{w: bufio.NewWriter(out)}
	other, err := json.Marshal(map[string]any{
		"kernel":    t.Kernel,
		"truncated": t.Truncated,
		"time_unit": "1 us = 1 scheduler step (one warp's issue of one instruction)",
	})
	if err != nil {
		return err
	}
	w.w.WriteString(`{"otherData":`)
	w.w.Write(other)
	w.w.WriteString(`,"traceEvents":[`)

	// The tracks: blocks in launch order, lanes by warp then lane, and a
	// barriers track for each block with a release.
	lanes := map[laneKey]bool{}
	for _, e := range t.Events {
		lanes[laneKey{e.CTA, e.Warp, e.Lane}] = true
	}
	sorted := make([]laneKey, 0, len(lanes))
	for k := range lanes {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, func(a, b laneKey) int {
		return cmp.Or(cmpDim(a.cta, b.cta), cmp.Compare(a.warp, b.warp), cmp.Compare(a.lane, b.lane))
	})
	hasBar := map[cpuemu.Dim3]bool{}
	for _, s := range t.Syncs {
		if s.Release && s.Kind != cpuemu.TraceCopy {
			hasBar[s.CTA] = true
		}
	}
	// Numbers: pids from 1 in block order, tids from 1 across the whole
	// trace (the viewers key threads by tid, and a tid in two processes
	// reads as a thread that moved), each block's barriers track before
	// its lanes. A process's metadata names its first thread, as a
	// process's main thread.
	pid := map[cpuemu.Dim3]int{}
	tid := map[laneKey]int{}
	barTid := map[cpuemu.Dim3]int{}
	next := 1
	for _, k := range sorted {
		if _, ok := pid[k.cta]; !ok {
			pid[k.cta] = len(pid) + 1
			p := pid[k.cta]
			w.emit(event{Name: "process_name", Ph: "M", Pid: p, Tid: next, Args: map[string]any{"name": "block " + k.cta.String()}})
			w.emit(event{Name: "process_sort_index", Ph: "M", Pid: p, Tid: next, Args: map[string]any{"sort_index": p}})
			if hasBar[k.cta] {
				barTid[k.cta] = next
				w.emit(event{Name: "thread_name", Ph: "M", Pid: p, Tid: next, Args: map[string]any{"name": "barriers"}})
				w.emit(event{Name: "thread_sort_index", Ph: "M", Pid: p, Tid: next, Args: map[string]any{"sort_index": 0}})
				next++
			}
		}
		p := pid[k.cta]
		tid[k] = next
		w.emit(event{Name: "thread_name", Ph: "M", Pid: p, Tid: next, Args: map[string]any{"name": fmt.Sprintf("warp %d lane %d", k.warp, k.lane)}})
		w.emit(event{Name: "thread_sort_index", Ph: "M", Pid: p, Tid: next, Args: map[string]any{"sort_index": 1 + 32*k.warp + k.lane}})
		next++
	}

	for _, e := range t.Events {
		k := laneKey{e.CTA, e.Warp, e.Lane}
		args := map[string]any{"pc": e.PC, "ptx_line": e.PTXLine}
		if e.Loc != "" {
			args["loc"] = e.Loc
		}
		if e.HasAddr {
			args["space"] = e.Space
			args["addr"] = fmt.Sprintf("%#x", e.Addr)
		}
		w.emit(event{Name: e.Op, Cat: "instr", Ph: "X", Ts: float64(e.Step), Dur: dur(1), Pid: pid[e.CTA], Tid: tid[k], Args: args})
	}

	w.syncs(t, pid, tid, barTid)
	w.hazards(t, pid, tid)

	if w.err != nil {
		return w.err
	}
	w.w.WriteString("\n]}\n")
	return w.w.Flush()
}

// release is one rendezvous completing: a bar.warp.sync group, or a CTA
// barrier with the records of every warp that took part (consecutive, at
// one step).
type release struct {
	kind    cpuemu.TraceSyncKind
	barrier int
	warps   []cpuemu.TraceSync
	ts, dur float64
}

type blockStep struct {
	cta  cpuemu.Dim3
	step int64
}

// syncs draws the releases and the arrows from the arrivals.
func (w *writer) syncs(t Trace, pid map[cpuemu.Dim3]int, tid map[laneKey]int, barTid map[cpuemu.Dim3]int) {
	// Group the records into releases; starts[i] is the release that
	// record i begins.
	var rels []release
	starts := map[int]int{}
	perStep := map[blockStep]int{}
	for i, s := range t.Syncs {
		if !s.Release || s.Kind == cpuemu.TraceCopy {
			continue
		}
		if n := len(rels); n > 0 && s.Kind == cpuemu.TraceBarrier && s.Barrier >= 0 && i > 0 && t.Syncs[i-1].Release {
			r := &rels[n-1]
			if f := r.warps[0]; r.kind == s.Kind && r.barrier == s.Barrier && f.Step == s.Step && f.CTA == s.CTA {
				r.warps = append(r.warps, s)
				continue
			}
		}
		starts[i] = len(rels)
		rels = append(rels, release{kind: s.Kind, barrier: s.Barrier, warps: []cpuemu.TraceSync{s}})
		perStep[blockStep{s.CTA, s.Step}]++
	}
	// The releases of one block at one step share the step's second
	// half, so that none encloses another.
	seen := map[blockStep]int{}
	for i := range rels {
		r := &rels[i]
		k := blockStep{r.warps[0].CTA, r.warps[0].Step}
		r.dur = (1 - releaseAt) / float64(perStep[k])
		r.ts = float64(k.step) + releaseAt + float64(seen[k])*r.dur
		seen[k]++
	}

	type pendKey struct {
		laneKey
		barrier int
	}
	pending := map[pendKey]int64{} // the step each waiting lane arrived at
	// An mbarrier phase's arrive-ons, by block, barrier and phase.
	type phaseKey struct {
		cta     cpuemu.Dim3
		barrier int
		phase   uint32
	}
	type arrival struct {
		lk   laneKey
		step int64 // the arrive-on's instruction
		from bool  // triggered by cp.async.mbarrier.arrive
	}
	arrivals := map[phaseKey][]arrival{}
	for i, s := range t.Syncs {
		if s.Kind == cpuemu.TraceCopy {
			continue
		}
		if s.Kind == cpuemu.TraceMbarrier {
			pk := phaseKey{s.CTA, s.Barrier, s.Phase}
			if !s.Release {
				step := s.Step
				if s.From > 0 {
					step = s.From
				}
				for m := s.Lanes; m != 0; m &= m - 1 {
					arrivals[pk] = append(arrivals[pk], arrival{laneKey{s.CTA, s.Warp, bits.TrailingZeros32(m)}, step, s.From > 0})
				}
				continue
			}
			r := rels[starts[i]]
			p, bt := pid[s.CTA], barTid[s.CTA]
			name := fmt.Sprintf("mbarrier %#x phase %d complete", s.Barrier, s.Phase)
			flowName := fmt.Sprintf("mbarrier %#x", s.Barrier)
			w.emit(event{Name: name, Cat: "sync", Ph: "X", Ts: r.ts, Dur: dur(r.dur), Pid: p, Tid: bt,
				Args: map[string]any{"mbarrier": fmt.Sprintf("%#x", s.Barrier), "phase": s.Phase, "arrive_ons": len(arrivals[pk])}})
			for _, a := range arrivals[pk] {
				fn := flowName
				if a.from {
					fn += " (cp.async.mbarrier.arrive)"
				}
				if ltid, ok := tid[a.lk]; ok {
					w.flow(fn, "sync", p, ltid, float64(a.step)+flowStartAt, p, bt, r.ts+r.dur/2)
				}
			}
			delete(arrivals, pk)
			continue
		}
		if !s.Release {
			for m := s.Lanes; m != 0; m &= m - 1 {
				pending[pendKey{laneKey{s.CTA, s.Warp, bits.TrailingZeros32(m)}, s.Barrier}] = s.Step
			}
			continue
		}
		ri, ok := starts[i]
		if !ok {
			continue // drawn with the release's first record
		}
		r := rels[ri]
		name := fmt.Sprintf("bar.warp.sync release (warp %d)", s.Warp)
		flowName := "bar.warp.sync"
		if r.barrier >= 0 {
			name = fmt.Sprintf("barrier %d release", r.barrier)
			flowName = fmt.Sprintf("barrier %d", r.barrier)
		}
		lanes := map[string]string{}
		for _, ws := range r.warps {
			lanes[fmt.Sprintf("warp %d", ws.Warp)] = fmt.Sprintf("%#08x", ws.Lanes)
		}
		args := map[string]any{"lanes": lanes}
		if r.barrier >= 0 {
			args["barrier"] = r.barrier
		}
		p, bt := pid[s.CTA], barTid[s.CTA]
		w.emit(event{Name: name, Cat: "sync", Ph: "X", Ts: r.ts, Dur: dur(r.dur), Pid: p, Tid: bt, Args: args})
		for _, ws := range r.warps {
			for m := ws.Lanes; m != 0; m &= m - 1 {
				lk := laneKey{ws.CTA, ws.Warp, bits.TrailingZeros32(m)}
				pk := pendKey{lk, ws.Barrier}
				at, ok := pending[pk]
				if !ok {
					continue
				}
				delete(pending, pk)
				w.flow(flowName, "sync", p, tid[lk], float64(at)+flowStartAt, p, bt, r.ts+r.dur/2)
			}
		}
	}
}

// hazards draws each hazard of the report at its first occurrence: an
// instant on the later access's lane and an arrow from the prior access.
// The report does not say at which step that was, so it is found in the
// trace: the first event of the later lane at the later site, on the
// hazard's space and bytes, that comes after an event of the prior lane at
// the prior site on those bytes (the access the shadow memory remembered).
// A hazard whose accesses the trace does not hold (it was truncated) is a
// global instant at the start.
func (w *writer) hazards(t Trace, pid map[cpuemu.Dim3]int, tid map[laneKey]int) {
	if t.Report == nil || len(t.Report.Hazards) == 0 {
		return
	}
	want := map[siteKey][]int{}
	for _, h := range t.Report.Hazards {
		want[siteKey{laneKey{h.Prior.CTA, h.Prior.Warp, h.Prior.Lane}, h.Prior.Site.PTXLine}] = nil
		want[siteKey{laneKey{h.Later.CTA, h.Later.Warp, h.Later.Lane}, h.Later.Site.PTXLine}] = nil
	}
	for i, e := range t.Events {
		k := siteKey{laneKey{e.CTA, e.Warp, e.Lane}, e.PTXLine}
		if v, ok := want[k]; ok {
			want[k] = append(v, i)
		}
	}
	for _, h := range t.Report.Hazards {
		pk := laneKey{h.Prior.CTA, h.Prior.Warp, h.Prior.Lane}
		lk := laneKey{h.Later.CTA, h.Later.Warp, h.Later.Lane}
		priors := want[siteKey{pk, h.Prior.Site.PTXLine}]
		laters := want[siteKey{lk, h.Later.Site.PTXLine}]
		// The conflict's bytes: the later access's, and for the prior
		// (whose size the report does not give) any access starting
		// within reach of the word the conflict was found in.
		word := h.Addr &^ 3
		touches := func(e cpuemu.TraceEvent, size uint64) bool {
			return e.HasAddr && e.Space == h.Space && e.Addr < word+4 && e.Addr+size > word
		}
		prior, later := -1, -1
		for _, li := range laters {
			le := t.Events[li]
			if !touches(le, uint64(max(h.Size, 1))) {
				continue
			}
			// The latest prior access before it (in trace order, which
			// is execution order), on the same bytes.
			p := -1
			for _, pi := range priors {
				if pi >= li {
					break
				}
				if touches(t.Events[pi], maxAccess) {
					p = pi
				}
			}
			if p >= 0 {
				prior, later = p, li
				break
			}
		}
		name := fmt.Sprintf("%s hazard (%s)", h.Type, h.Scope)
		args := map[string]any{
			"type": h.Type, "scope": h.Scope, "space": h.Space, "addr": fmt.Sprintf("%#x", h.Addr), "size": h.Size,
			"count": h.Count, "severity": h.Severity.String(),
			"prior": accessArgs(h.Prior), "later": accessArgs(h.Later),
		}
		if later < 0 {
			args["traced"] = false
			w.emit(event{Name: name, Cat: "hazard", Ph: "i", S: "g", Ts: 0, Pid: 1, Tid: 1, Args: args})
			continue
		}
		pe, le := t.Events[prior], t.Events[later]
		w.emit(event{Name: name, Cat: "hazard", Ph: "i", S: "t", Ts: float64(le.Step) + instantAt, Pid: pid[lk.cta], Tid: tid[lk], Args: args})
		w.flow(name, "hazard", pid[pk.cta], tid[pk], float64(pe.Step)+flowStartAt, pid[lk.cta], tid[lk], float64(le.Step)+flowEndAt)
	}
}

// maxAccess is the widest access a PTX instruction makes (a v4 of
// 64-bit values): how far before a word a prior access may start and
// still reach into it.
const maxAccess = 32

func accessArgs(a cpuemu.Access) map[string]any {
	m := map[string]any{
		"kind": a.Kind, "instr": a.Site.Instr, "ptx_line": a.Site.PTXLine,
		"block": a.CTA.String(), "thread": a.Thread.String(), "warp": a.Warp, "lane": a.Lane,
	}
	if a.Site.Loc != "" {
		m["loc"] = a.Site.Loc
	}
	return m
}
