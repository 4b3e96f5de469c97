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
	MarkOther  MarkKind = iota // any other instruction: the lane was running
	MarkWrite                  // a shared-memory write: st, atom or red .shared
	MarkRead                   // a shared-memory read: ld.shared
	MarkSync                   // a lane's arrival at __syncwarp (bar.warp.sync)
	MarkArrive                 // an mbarrier arrive-on: mbarrier.arrive, arrive_drop, cp.async.mbarrier.arrive
	MarkCopy                   // an asynchronous copy's issue: cp.async, cp.async.bulk
	MarkWait                   // an mbarrier wait that polls: mbarrier.test_wait, try_wait
)

func (k MarkKind) String() string {
	return [...]string{"other", "write", "read", "sync", "arrive", "copy", "wait"}[k]
}

// Mark is one instruction one lane of a traced warp executed.
type Mark struct {
	Step    int64 // the emulator's issue step (cpuemu.TraceEvent.Step)
	Warp    int   // of block 0
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

// Row is the mark's row in the timeline: Warp*32 + Lane.
func (m Mark) Row() int { return m.Warp*32 + m.Lane }

// Rendezvous is one __syncwarp a warp met at: the lanes that arrived
// (the k-th bar.warp.sync of each), and the step the last one arrived at,
// when the warp goes on.
type Rendezvous struct {
	Step  int64
	Warp  int
	Lanes uint32 // a bit per lane
	Loc   string
}

// Phase is one completed phase of an mbarrier (from the trace's
// cpuemu.TraceMbarrier records): where it completed, and the arrive-ons
// of the shown warps that it counted.
type Phase struct {
	Barrier  int    // the mbarrier's shared-memory offset
	Phase    uint32 // the phase's number since mbarrier.init
	Step     int64  // the step it completed at
	Arrivals []Arrival
}

// Arrival is one lane's arrive-on in a phase, at Step: its
// mbarrier.arrive's, or, when From is set, the step its copies had all
// landed at, which triggered the arrive-on of its cp.async.mbarrier.arrive
// issued at From.
type Arrival struct {
	Row        int
	Step, From int64
}

// Copy is one lane's asynchronous copy: issued at Issue, its bytes moved
// at Land (the emulator chooses when, up to the wait that needs them).
type Copy struct {
	Row         int
	Issue, Land int64
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

// Role is a run of rows that touch shared memory one way only: the
// producers (every shared access a write, or any asynchronous copy) or the
// consumers (every one a read, and no copy). With one warp a row is a
// lane; with several, roles are given to whole warps.
type Role struct {
	Name   string // "producers" or "consumers"
	Lo, Hi int    // rows Lo..Hi
}

// Timeline is the trace of the first warps of block 0 of a kernel run on
// the emulator with the race checker on, ready to draw.
type Timeline struct {
	Kernel   string
	Source   string // the CUDA file, e.g. "handoff.cu"
	Schedule cpuemu.Schedule
	Grid     int // blocks launched
	Block    int // threads per block
	N        int // the n parameter passed (0 when the kernel has none)
	Tiles    int // the ntiles parameter passed (0 when the kernel has none)
	Warps    int // the warps shown: 0..Warps-1 of block 0
	Lanes    int // rows: 32 per warp
	// Start and End are the first and last step of the traced warps.
	Start, End int64
	Marks      []Mark // block 0, the shown warps: every lane-instruction, in trace order
	Syncs      []Rendezvous
	Phases     []Phase // completed mbarrier phases with an arrive-on of a shown warp
	Copies     []Copy  // the shown warps' asynchronous copies that landed
	Roles      []Role
	Hazards    []HazardView
	// Key holds Hazards' Key lines; Notes the checker's other findings
	// (sync and memory errors, undefined behaviour, a fatal error) and a
	// truncated trace, one line each.
	Key, Notes []string
	Report     *cpuemu.Report
	Truncated  bool
	// Writes, Reads, SyncArrivals, MbarArrivals and CopyIssues count the
	// marks of each kind.
	Writes, Reads, SyncArrivals, MbarArrivals, CopyIssues int
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
	// Tiles is the tile count passed to a kernel with a u32 parameter
	// named ntiles (the warp-specialised and asynchronous pipelines),
	// which is then launched as one block of kcheck's size; default 4
	// (async_pipeline's 3 stages, and one refilled).
	Tiles int
	// Warps is how many warps of block 0 the timeline shows, 1..MaxWarps;
	// default every warp of the block, at most 4.
	Warps int
	// Schedule is the emulator's scheduler; nil means adversarial, under
	// which one lane runs alone until it blocks, so a missing sync shows
	// as reads before the writes they need.
	Schedule   *cpuemu.Schedule
	TraceLimit int // default 1<<17 events
}

// MaxWarps bounds TimelineOptions.Warps: 8 warps are 256 rows.
const MaxWarps = 8

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
// the race checker on, with the default TimelineOptions: one warp and 64
// words for the lane_handoff family, one block of up to 4 warps and 4
// tiles for the pipelines, the adversarial schedule.
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
	if o.Tiles <= 0 {
		o.Tiles = 4
	}
	if o.Warps < 0 || o.Warps > MaxWarps {
		return nil, fmt.Errorf("panel: %d warps: want 1..%d", o.Warps, MaxWarps)
	}
	if o.Block > 1024 || o.N > 1<<20 || o.Tiles > 1<<10 {
		return nil, fmt.Errorf("panel: block %d, n %d, tiles %d: want at most 1024 threads, 2^20 words and 1024 tiles", o.Block, o.N, o.Tiles)
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
	tl := &Timeline{Kernel: kernel, Source: k.Source, Schedule: sched}
	grid, block := kc.Launch.Grid.X, kc.Launch.Block.X
	args := make([]any, len(kc.Args))
	for i, a := range kc.Args {
		switch {
		case a.Scalar && a.Name == "n":
			args[i] = uint32(o.N)
			tl.N = o.N
			grid, block = 1, uint32(o.Block)
		case a.Scalar && a.Name == "ntiles":
			// kcheck sized the buffers for more tiles than this.
			args[i] = uint32(min(o.Tiles, int(a.Value)))
			tl.Tiles = min(o.Tiles, int(a.Value))
			grid = 1
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
	warps := (tl.Block + 31) / 32
	switch {
	case o.Warps == 0:
		tl.Warps = min(warps, 4)
	case o.Warps > warps:
		return nil, fmt.Errorf("panel: %s: %d warps shown, but its block of %d threads has %d", kernel, o.Warps, tl.Block, warps)
	default:
		tl.Warps = o.Warps
	}
	tl.Lanes = 32 * tl.Warps
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
	tl.build(res.Trace, res.TraceSyncs)
	return tl, nil
}

// build fills the timeline in from the trace and the report.
func (tl *Timeline) build(trace []cpuemu.TraceEvent, syncs []cpuemu.TraceSync) {
	rep := tl.Report
	racy := map[int]bool{} // PTX lines a hazard names
	for _, h := range rep.Hazards {
		racy[h.Prior.Site.PTXLine] = true
		racy[h.Later.Site.PTXLine] = true
	}
	for _, e := range trace {
		if !tl.shown(e.CTA, e.Warp) {
			continue
		}
		m := Mark{Step: e.Step, Warp: e.Warp, Lane: e.Lane, Op: e.Op, Addr: e.Addr, HasAddr: e.HasAddr, PTXLine: e.PTXLine, Loc: e.Loc}
		switch {
		case e.Op == "bar.warp.sync":
			m.Kind = MarkSync
			tl.SyncArrivals++
		case e.Op == "mbarrier.arrive" || e.Op == "mbarrier.arrive_drop" || e.Op == "cp.async.mbarrier.arrive":
			m.Kind = MarkArrive
			tl.MbarArrivals++
		case e.Op == "cp.async" || e.Op == "cp.async.bulk":
			m.Kind = MarkCopy
			tl.CopyIssues++
		case e.Op == "mbarrier.test_wait" || e.Op == "mbarrier.try_wait":
			m.Kind = MarkWait
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
	tl.async(syncs)
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

// shown says whether the timeline shows warp of block cta.
func (tl *Timeline) shown(cta cpuemu.Dim3, warp int) bool {
	return cta == (cpuemu.Dim3{}) && warp >= 0 && warp < tl.Warps
}

// rendezvous groups the k-th __syncwarp arrival of every lane of a warp:
// the warp goes on at the last arrival.
func (tl *Timeline) rendezvous() {
	nth := map[int]int{}      // row -> syncs so far
	index := map[[2]int]int{} // (warp, k) -> its index in tl.Syncs
	for _, m := range tl.Marks {
		if m.Kind != MarkSync {
			continue
		}
		k := nth[m.Row()]
		nth[m.Row()]++
		i, ok := index[[2]int{m.Warp, k}]
		if !ok {
			i = len(tl.Syncs)
			index[[2]int{m.Warp, k}] = i
			tl.Syncs = append(tl.Syncs, Rendezvous{Step: m.Step, Warp: m.Warp, Loc: m.Loc})
		}
		r := &tl.Syncs[i]
		r.Lanes |= 1 << m.Lane
		r.Step = max(r.Step, m.Step)
	}
}

// async collects the shown warps' mbarrier phases and copies from the
// trace's records: each phase with its arrive-ons, each copy's issue with
// its landing (a copy the trace lost the landing of is not drawn).
func (tl *Timeline) async(syncs []cpuemu.TraceSync) {
	type phaseKey struct {
		barrier int
		phase   uint32
	}
	open := map[phaseKey][]Arrival{}
	for _, s := range syncs {
		if s.CTA != (cpuemu.Dim3{}) {
			continue
		}
		switch {
		case s.Kind == cpuemu.TraceMbarrier && s.Release:
			k := phaseKey{s.Barrier, s.Phase}
			if as := open[k]; len(as) > 0 {
				tl.Phases = append(tl.Phases, Phase{Barrier: s.Barrier, Phase: s.Phase, Step: s.Step, Arrivals: as})
			}
			delete(open, k)
		case s.Kind == cpuemu.TraceMbarrier && tl.shown(s.CTA, s.Warp):
			k := phaseKey{s.Barrier, s.Phase}
			for m := s.Lanes; m != 0; m &= m - 1 {
				open[k] = append(open[k], Arrival{Row: s.Warp*32 + bits.TrailingZeros32(m), Step: s.Step, From: s.From})
			}
		case s.Kind == cpuemu.TraceCopy && s.Release && tl.shown(s.CTA, s.Warp):
			for m := s.Lanes; m != 0; m &= m - 1 {
				tl.Copies = append(tl.Copies, Copy{Row: s.Warp*32 + bits.TrailingZeros32(m), Issue: s.From, Land: s.Step})
			}
		}
	}
}

// roles finds the runs of rows that only write, or only read, shared
// memory: lanes of one warp, or whole warps when several are shown (the
// warps of a warp-specialised kernel have one role each, though a lane of
// each may keep a little shared state of the other kind).
func (tl *Timeline) roles() {
	rows := tl.Lanes
	w, r, c := make([]bool, rows), make([]bool, rows), make([]bool, rows)
	for _, m := range tl.Marks {
		switch m.Kind {
		case MarkWrite:
			w[m.Row()] = true
		case MarkRead:
			r[m.Row()] = true
		case MarkCopy:
			c[m.Row()] = true
		}
	}
	unit := 1
	if tl.Warps > 1 {
		unit = 32
	}
	role := func(u int) string {
		var wu, ru, cu bool
		for row := u * unit; row < (u+1)*unit; row++ {
			wu, ru, cu = wu || w[row], ru || r[row], cu || c[row]
		}
		switch {
		case cu || wu && !ru:
			return "producers"
		case ru && (!wu || unit > 1):
			return "consumers"
		}
		return ""
	}
	units := rows / unit
	for u := 0; u < units; {
		name := role(u)
		hi := u
		for hi+1 < units && role(hi+1) == name {
			hi++
		}
		if name != "" {
			tl.Roles = append(tl.Roles, Role{Name: name, Lo: u * unit, Hi: (hi+1)*unit - 1})
		}
		u = hi + 1
	}
}

// occurrence finds h in the traced warp: the first execution of its later
// site, by its later lane, that a conflicting access of its prior site,
// by its prior lane, went before; and that prior access (the last one).
func (tl *Timeline) occurrence(h cpuemu.Hazard) (prior, later int) {
	if !tl.shown(h.Prior.CTA, h.Prior.Warp) || !tl.shown(h.Later.CTA, h.Later.Warp) {
		return -1, -1
	}
	size := uint64(max(h.Size, 1))
	overlaps := func(m Mark) bool { return m.HasAddr && m.Addr < h.Addr+size && h.Addr < m.Addr+size }
	last := -1
	for i, m := range tl.Marks {
		switch {
		case m.Warp == h.Prior.Warp && m.Lane == h.Prior.Lane && m.PTXLine == h.Prior.Site.PTXLine && overlaps(m):
			last = i
		case m.Warp == h.Later.Warp && m.Lane == h.Later.Lane && m.PTXLine == h.Later.Site.PTXLine && overlaps(m) && last >= 0:
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
