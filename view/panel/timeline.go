package panel

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/internal/kcheck"
	"github.com/gpubuf/gpubuf/kernels"
)

// MarkKind is what a lane did at one step of the timeline.
type MarkKind int

const (
	MarkOther MarkKind = iota // any other instruction: the lane was running
	MarkWrite                 // a shared-memory write: st, atom or red .shared
	MarkRead                  // a shared-memory read: ld.shared
	MarkSync                  // a lane's arrival at __syncwarp (bar.warp.sync)
)

func (k MarkKind) String() string {
	return [...]string{"other", "write", "read", "sync"}[k]
}

// Mark is one instruction one lane of the traced warp executed.
type Mark struct {
	Step    int64 // the emulator's issue step (cpuemu.TraceEvent.Step)
	Lane    int
	Kind    MarkKind
	Op      string // e.g. "st.shared"
	Addr    uint64 // memory instructions: the address in their state space
	HasAddr bool
	PTXLine int
	Loc     string // CUDA file:line
	// Race: the race checker names this instruction (its PTX line) as one
	// side of a hazard.
	Race bool
}

// Rendezvous is one __syncwarp the warp met at: the lanes that arrived
// (the k-th bar.warp.sync of each), and the step the last one arrived at,
// when the warp goes on.
type Rendezvous struct {
	Step  int64
	Lanes uint32 // a bit per lane
	Loc   string
}

// HazardView is one of the checker's hazards, with the marks of its first
// occurrence in the trace.
type HazardView struct {
	cpuemu.Hazard
	// Key is the hazard in one line: its type and scope, then both access
	// sites with their CUDA file:line, as in
	// "RAW intra-warp: write kernels/handoff.cu:56 (lane 0) -> read kernels/handoff.cu:66 (lane 16)".
	Key string
	// PriorMark and LaterMark index Timeline.Marks: an occurrence of the
	// pair in the traced warp (the later access, and the last conflicting
	// prior access before it); -1 when the trace does not hold one.
	PriorMark, LaterMark int
}

// Role is a run of lanes that touch shared memory one way only: the
// producers (every shared access a write) or the consumers (every one a
// read).
type Role struct {
	Name   string // "producers" or "consumers"
	Lo, Hi int    // lanes Lo..Hi
}

// Timeline is the trace of one warp of a kernel run on the emulator with
// the race checker on, ready to draw.
type Timeline struct {
	Kernel   string
	Source   string // the CUDA file, e.g. "handoff.cu"
	Schedule cpuemu.Schedule
	Grid     int // blocks launched
	Block    int // threads per block
	N        int // the n parameter passed (0 when the kernel has none)
	Lanes    int // rows: 32
	// Start and End are the first and last step of the traced warp.
	Start, End int64
	Marks      []Mark // block 0, warp 0: every lane-instruction, in trace order
	Syncs      []Rendezvous
	Roles      []Role
	Hazards    []HazardView
	// Key holds Hazards' Key lines; Notes the checker's other findings
	// (sync and memory errors, undefined behaviour, a fatal error) and a
	// truncated trace, one line each.
	Key, Notes []string
	Report     *cpuemu.Report
	Truncated  bool
	// Writes, Reads and SyncArrivals count the marks of each kind.
	Writes, Reads, SyncArrivals int
}

// TimelineOptions shape NewTimelineWith's launch. Zero fields take the
// defaults.
type TimelineOptions struct {
	// N is the word count passed to a kernel with a u32 parameter named n
	// (the lane_handoff family), which is then launched as one block of
	// Block threads; default 64 (two trips of the warp's loop). Other
	// kernels run kcheck's launch and inputs unchanged, their trace cut at
	// TraceLimit.
	N     int
	Block int // default 32: one warp
	// Schedule is the emulator's scheduler; nil means adversarial, under
	// which one lane runs alone until it blocks, so a missing sync shows
	// as reads before the writes they need.
	Schedule   *cpuemu.Schedule
	TraceLimit int // default 1<<17 events
}

var (
	modMu   sync.Mutex
	modules = map[string]*cpuemu.Module{} // by PTX file
)

func loadModule(k kernels.Kernel) (*cpuemu.Module, error) {
	modMu.Lock()
	defer modMu.Unlock()
	if m, ok := modules[k.File]; ok {
		return m, nil
	}
	m, err := cpuemu.LoadKernel(k.Name)
	if err != nil {
		return nil, err
	}
	modules[k.File] = m
	return m, nil
}

// NewTimeline runs kernel (an entry of package kernels, such as
// "lane_handoff" or "lane_handoff_nosync") on the emulator with tracing and
// the race checker on, with the default TimelineOptions: one warp, 64
// words, the adversarial schedule.
func NewTimeline(kernel string) (*Timeline, error) {
	return NewTimelineWith(kernel, TimelineOptions{})
}

// NewTimelineWith is NewTimeline with a chosen launch. The checker's
// findings are the timeline's content, not an error: the error is for a
// kernel that cannot be launched at all.
func NewTimelineWith(kernel string, o TimelineOptions) (*Timeline, error) {
	if o.N <= 0 {
		o.N = 64
	}
	if o.Block <= 0 {
		o.Block = 32
	}
	if o.TraceLimit <= 0 {
		o.TraceLimit = 1 << 17
	}
	sched := cpuemu.Schedule{Scheduler: cpuemu.Adversarial}
	if o.Schedule != nil {
		sched = *o.Schedule
	}
	k, ok := kernels.Lookup(kernel)
	if !ok {
		return nil, fmt.Errorf("panel: unknown kernel %q", kernel)
	}
	kc, err := kcheck.Case(kernel, 1)
	if err != nil {
		return nil, fmt.Errorf("panel: %w", err)
	}
	m, err := loadModule(k)
	if err != nil {
		return nil, fmt.Errorf("panel: %w", err)
	}
	dev := cpuemu.NewDevice()
	tl := &Timeline{Kernel: kernel, Source: k.Source, Schedule: sched, Lanes: 32}
	grid, block := kc.Launch.Grid.X, kc.Launch.Block.X
	args := make([]any, len(kc.Args))
	for i, a := range kc.Args {
		switch {
		case a.Scalar && a.Name == "n":
			args[i] = uint32(o.N)
			tl.N = o.N
			grid, block = 1, uint32(o.Block)
		case a.Scalar:
			args[i] = a.Value
		default:
			p, err := dev.Alloc(max(a.Size(), 4))
			if err == nil {
				err = dev.Write(p, a.Init)
			}
			if err != nil {
				return nil, fmt.Errorf("panel: %s: argument %s: %w", kernel, a.Name, err)
			}
			args[i] = p
		}
	}
	tl.Grid, tl.Block = int(grid), int(block)
	cfg := cpuemu.LaunchConfig{
		Grid:        cpuemu.Dim3{X: grid, Y: max(kc.Launch.Grid.Y, 1), Z: max(kc.Launch.Grid.Z, 1)},
		Block:       cpuemu.Dim3{X: block, Y: max(kc.Launch.Block.Y, 1), Z: max(kc.Launch.Block.Z, 1)},
		SharedBytes: kc.Launch.SharedBytes,
		Scheduler:   sched.Scheduler, Seed: sched.Seed,
		Check: true, Trace: true, TraceLimit: o.TraceLimit,
	}
	res, err := m.Launch(dev, kernel, cfg, args...)
	if res == nil || res.Report == nil {
		if err == nil {
			err = errors.New("the checked launch returned no report")
		}
		return nil, fmt.Errorf("panel: %s: %w", kernel, err)
	}
	tl.Report = res.Report
	tl.Truncated = res.TraceTruncated
	tl.build(res.Trace)
	return tl, nil
}

// build fills the timeline in from the trace and the report.
func (tl *Timeline) build(trace []cpuemu.TraceEvent) {
	rep := tl.Report
	racy := map[int]bool{} // PTX lines a hazard names
	for _, h := range rep.Hazards {
		racy[h.Prior.Site.PTXLine] = true
		racy[h.Later.Site.PTXLine] = true
	}
	for _, e := range trace {
		if e.CTA != (cpuemu.Dim3{}) || e.Warp != 0 {
			continue
		}
		m := Mark{Step: e.Step, Lane: e.Lane, Op: e.Op, Addr: e.Addr, HasAddr: e.HasAddr, PTXLine: e.PTXLine, Loc: e.Loc}
		switch {
		case e.Op == "bar.warp.sync":
			m.Kind = MarkSync
			tl.SyncArrivals++
		case e.Space == "shared" && strings.HasPrefix(e.Op, "ld"):
			m.Kind = MarkRead
			tl.Reads++
		case e.Space == "shared" && (strings.HasPrefix(e.Op, "st") || strings.HasPrefix(e.Op, "atom") || strings.HasPrefix(e.Op, "red")):
			m.Kind = MarkWrite
			tl.Writes++
		}
		m.Race = e.HasAddr && racy[e.PTXLine]
		tl.Marks = append(tl.Marks, m)
	}
	if len(tl.Marks) > 0 {
		tl.Start, tl.End = tl.Marks[0].Step, tl.Marks[0].Step
		for _, m := range tl.Marks {
			tl.Start, tl.End = min(tl.Start, m.Step), max(tl.End, m.Step)
		}
	}
	tl.rendezvous()
	tl.roles()
	for _, h := range rep.Hazards {
		hv := HazardView{Hazard: h, Key: hazardKey(h)}
		hv.PriorMark, hv.LaterMark = tl.occurrence(h)
		tl.Hazards = append(tl.Hazards, hv)
		tl.Key = append(tl.Key, hv.Key)
	}
	for _, sec := range []struct {
		name string
		ds   []cpuemu.Diagnostic
	}{{"sync error", rep.Sync}, {"memory error", rep.Memory}, {"undefined behaviour", rep.Other}} {
		for _, d := range sec.ds {
			tl.Notes = append(tl.Notes, fmt.Sprintf("%s: %s at %s (lanes %s, %d×)", sec.name, d.Kind, siteLoc(d.Site), laneSet(d.Lanes), d.Count))
		}
	}
	if rep.Fatal != nil {
		tl.Notes = append(tl.Notes, "stopped: "+firstLine(rep.Fatal.Error()))
	}
	if tl.Truncated {
		tl.Notes = append(tl.Notes, "the trace was cut at its limit: later steps are not shown")
	}
}

// rendezvous groups the k-th __syncwarp arrival of every lane: the warp
// goes on at the last arrival.
func (tl *Timeline) rendezvous() {
	nth := map[int]int{} // lane -> syncs so far
	for _, m := range tl.Marks {
		if m.Kind != MarkSync {
			continue
		}
		k := nth[m.Lane]
		nth[m.Lane]++
		if k == len(tl.Syncs) {
			tl.Syncs = append(tl.Syncs, Rendezvous{Step: m.Step, Loc: m.Loc})
		}
		r := &tl.Syncs[k]
		r.Lanes |= 1 << m.Lane
		r.Step = max(r.Step, m.Step)
	}
}

// roles finds the runs of lanes that only write, or only read, shared
// memory.
func (tl *Timeline) roles() {
	var w, r [32]bool
	for _, m := range tl.Marks {
		switch m.Kind {
		case MarkWrite:
			w[m.Lane] = true
		case MarkRead:
			r[m.Lane] = true
		}
	}
	role := func(l int) string {
		switch {
		case w[l] && !r[l]:
			return "producers"
		case r[l] && !w[l]:
			return "consumers"
		}
		return ""
	}
	for l := 0; l < 32; {
		name := role(l)
		hi := l
		for hi+1 < 32 && role(hi+1) == name {
			hi++
		}
		if name != "" {
			tl.Roles = append(tl.Roles, Role{Name: name, Lo: l, Hi: hi})
		}
		l = hi + 1
	}
}

// occurrence finds h in the traced warp: the first execution of its later
// site, by its later lane, that a conflicting access of its prior site,
// by its prior lane, went before; and that prior access (the last one).
func (tl *Timeline) occurrence(h cpuemu.Hazard) (prior, later int) {
	if h.Prior.CTA != (cpuemu.Dim3{}) || h.Later.CTA != (cpuemu.Dim3{}) || h.Prior.Warp != 0 || h.Later.Warp != 0 {
		return -1, -1
	}
	size := uint64(max(h.Size, 1))
	overlaps := func(m Mark) bool { return m.HasAddr && m.Addr < h.Addr+size && h.Addr < m.Addr+size }
	last := -1
	for i, m := range tl.Marks {
		switch {
		case m.Lane == h.Prior.Lane && m.PTXLine == h.Prior.Site.PTXLine && overlaps(m):
			last = i
		case m.Lane == h.Later.Lane && m.PTXLine == h.Later.Site.PTXLine && overlaps(m) && last >= 0:
			return last, i
		}
	}
	return -1, -1
}

// hazardKey is h in one line.
func hazardKey(h cpuemu.Hazard) string {
	n := "1 occurrence"
	if h.Count != 1 {
		n = fmt.Sprintf("%d occurrences", h.Count)
	}
	return fmt.Sprintf("%s %s: %s %s (lane %d) -> %s %s (lane %d), %s %#x, %s",
		h.Type, h.Scope, strings.ToLower(h.Prior.Kind), siteLoc(h.Prior.Site), h.Prior.Lane,
		strings.ToLower(h.Later.Kind), siteLoc(h.Later.Site), h.Later.Lane, h.Space, h.Addr, n)
}

// siteLoc is a site's CUDA file:line, or its PTX line without one.
func siteLoc(s cpuemu.Site) string {
	if s.Loc != "" {
		return s.Loc
	}
	return fmt.Sprintf("ptx line %d", s.PTXLine)
}

// laneSet writes a lane mask as "16-31" or "0,3".
func laneSet(mask uint32) string {
	var parts []string
	for m := mask; m != 0; {
		lo := bits.TrailingZeros32(m)
		hi := lo
		for hi+1 < 32 && mask&(1<<(hi+1)) != 0 {
			hi++
		}
		if hi > lo {
			parts = append(parts, fmt.Sprintf("%d-%d", lo, hi))
		} else {
			parts = append(parts, fmt.Sprint(lo))
		}
		m &^= (1<<(hi+1) - 1)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
