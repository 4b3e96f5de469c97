package cpuemu

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Lane states.
const (
	stRun  uint8 = iota
	stExit       // exited, or never existed (a partial last warp)
	stWarp       // waiting at a warp collective (bar.warp.sync, shfl, vote, match, redux)
	stBar        // waiting at a CTA barrier
)

// sharedFill is the byte uninitialised shared memory holds, so that a read
// before the write shows up as a wrong value rather than a lucky zero.
const sharedFill = 0xCD

type launch struct {
	m        *Module
	p        *program
	dev      *Device
	cfg      LaunchConfig
	params   []byte
	constImg []byte // the module's .const variables on dev
	count    int64
	wcount   int64
	maxCount int64
	// checkAt is the lane-instruction count past which exec stops to
	// check the limits: maxCount, or sooner with a Timeout, so that the
	// clock is read once per timeoutCheckInterval lane-instructions and
	// the hot loop still compares one counter with one threshold.
	checkAt  int64
	start    time.Time
	deadline time.Time // zero without a Timeout
	diags    map[diagKey]*Diagnostic
	order    []diagKey
	rng      *rand.Rand
	cache    *allocation // last global allocation hit
	clock    uint64
	curCTA   *cta
	curPC    int32 // the op being executed, for reports of emulator bugs
	printf   printfText
	// savedBytes is what active recursive calls have saved (maxSavedBytes)
	savedBytes int64
	store      ctaStore
	chk        *checker // with LaunchConfig.Check
	tr         *tracer  // with LaunchConfig.Trace
	// workspace is the address of a cooperative launch's grid workspace,
	// 0 for any other launch, as the driver gives it in %envreg1:%envreg2.
	workspace uint64
	// sch is the launch's scheduling policy (sched.go); reconverge and
	// yields are what the hot loop needs of it, read once.
	sch        scheduler
	reconverge bool
	yields     bool
	// par is what the workers of a parallel launch share, nil on one
	// worker; then this launch is one worker's copy (see worker).
	par       *parState
	published int64      // the part of count already added to par.total
	block     int64      // the linear index of the block being run
	blockW0   int64      // wcount when the block started: %clock counts from it
	runs      []blockRun // a parallel worker's blocks, each with what it counted and reported
}

// blockRun is what one block of a parallel launch counted and reported:
// the launch keeps those of the blocks up to the first that failed, as
// one worker would have run them.
type blockRun struct {
	block         int64
	count, wcount int64
	diags         map[diagKey]*Diagnostic
	order         []diagKey
}

// ctaStore holds the memory of the block being run.
type ctaStore struct {
	shared     []byte
	sharedInit []byte
	regs       []uint64
	local      []byte
	paramF     []byte
	warps      []warp
	// The block and its barriers' and warps' lists, reused likewise.
	cta      *cta
	barU32   []uint32
	barI32   []int32
	barDone  []bool
	warpList []*warp
	order    []int
}

type diagKey struct {
	kind string
	line int32
}

func newLaunch(m *Module, p *program, dev *Device, cfg LaunchConfig, params []byte) *launch {
	l := &launch{
		m: m, p: p, dev: dev, cfg: cfg, params: params,
		maxCount: cfg.MaxInstructions,
		checkAt:  cfg.MaxInstructions,
		diags:    map[diagKey]*Diagnostic{},
		rng:      rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)),
	}
	l.setScheduler()
	if cfg.Check {
		l.chk = newChecker(l)
	}
	if cfg.Trace {
		l.tr = &tracer{limit: cfg.TraceLimit}
	}
	return l
}

// abort is what the hot loop panics with; run recovers it once per launch
// (once per block when blocks run in parallel).
type abort struct{ err error }

// errCancelled stops a parallel worker's block when a block before it in
// the grid has failed: that block's error is the launch's.
var errCancelled = errors.New("cancelled: an earlier block failed")

func (l *launch) run() (res *Result, err error) {
	l.dev.mu.Lock()
	defer l.dev.mu.Unlock()
	l.startClock()
	if l.cfg.Cooperative {
		err = l.guard(l.runCooperative)
		return l.finish(err)
	}
	n := l.cfg.Grid.Count()
	if w := l.workers(); w > 1 {
		return l.runParallel(w, n)
	}
	err = l.guard(func() {
		for b := range n {
			// Blocks that run few instructions each may never reach a
			// checkpoint: read the clock between blocks too.
			l.checkClock()
			l.runBlock(b)
		}
	})
	return l.finish(err)
}

// finish is the launch's outcome: its result with err, or no result for
// an emulator bug.
func (l *launch) finish(err error) (*Result, error) {
	if _, ok := err.(*InternalError); ok {
		return nil, err
	}
	return l.result(), err
}

// guard runs f, turning what the hot loop panics with into an error: the
// abort's error, or an *InternalError for anything else (an emulator bug).
func (l *launch) guard(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if a, ok := r.(abort); ok {
				err = a.err
				return
			}
			site := Site{}
			if int(l.curPC) < len(l.p.ops) {
				site = l.m.site(&l.p.ops[l.curPC])
			}
			err = &InternalError{Kernel: l.p.name, Site: site, Panic: r, Stack: string(debug.Stack())}
		}
	}()
	f()
	return nil
}

// runBlock runs block b (its linear index, x fastest) to its end.
func (l *launch) runBlock(b int64) {
	g := l.cfg.Grid
	id := Dim3{uint32(b % int64(g.X)), uint32(b / int64(g.X) % int64(g.Y)), uint32(b / (int64(g.X) * int64(g.Y)))}
	l.block = b
	l.blockW0, l.clock = l.wcount, 0
	c := l.newCTA(id)
	l.curCTA = c
	if l.chk != nil {
		l.chk.startCTA(c)
	}
	c.run()
}

// workers is how many goroutines run the launch's blocks: one unless the
// launch is lockstep without the checker, a trace or printf (see
// LaunchConfig.Workers) and its program is not recursive (whose saved
// frames are bounded per launch, maxSavedBytes), never more than it has blocks, and no more than
// maxResidentStateBytes of live blocks hold.
func (l *launch) workers() int {
	if l.cfg.Scheduler != Lockstep || l.chk != nil || l.tr != nil || l.p.builtins || l.p.recursive || !wordAtomicHost ||
		l.cfg.Grid.Count() > maxParallelBlocks {
		return 1
	}
	n := l.cfg.Workers
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	n = min(n, int(maxResidentStateBytes/max(1, blockStateBytes(l.p, &l.cfg))))
	return int(min(int64(max(n, 1)), l.cfg.Grid.Count()))
}

// maxParallelBlocks bounds the grids that run on several workers: a
// worker keeps what each of its blocks counted and reported until the
// launch ends (blockRun, some 56 bytes a block and its diagnostics), so
// that a failed launch reports as one worker would; a larger grid (up to
// MaxGridThreads blocks of one thread) runs on one worker instead.
const maxParallelBlocks = 1 << 20

// parState is what the workers of a parallel launch share. Each field is
// touched once per block or once per checkpoint, never per instruction.
type parState struct {
	next   atomic.Int64 // the next block to hand out
	failAt atomic.Int64 // the lowest block that failed; the grid's size while none has
	total  atomic.Int64 // lane-instructions the workers have published at their checkpoints
}

// blockErr is a failed block of a parallel launch.
type blockErr struct {
	block int64
	err   error
}

// runParallel runs the grid's n blocks on w workers. Each worker takes the
// next block from a shared counter and runs it whole with its own copy of
// the launch's mutable state (counts, diagnostics, the block's buffers).
// When a block fails, the blocks after it stop and the blocks before it
// run on, so the error returned is the one of the first failing block, as
// on one worker.
func (l *launch) runParallel(w int, n int64) (*Result, error) {
	ps := &parState{}
	ps.failAt.Store(n)
	ws := make([]*launch, w)
	errs := make([]blockErr, w)
	var wg sync.WaitGroup
	for i := range ws {
		wl := l.worker(ps)
		ws[i] = wl
		wg.Go(func() {
			for {
				b := ps.next.Add(1) - 1
				if b >= n || b > ps.failAt.Load() {
					return
				}
				count, wcount := wl.count, wl.wcount
				err := wl.guard(func() {
					wl.checkClock()
					wl.runBlock(b)
				})
				wl.runs = append(wl.runs, blockRun{block: b, count: wl.count - count, wcount: wl.wcount - wcount, diags: wl.diags, order: wl.order})
				if len(wl.order) > 0 {
					wl.diags, wl.order = map[diagKey]*Diagnostic{}, nil
				}
				if err == nil {
					continue
				}
				if err != errCancelled {
					errs[i] = blockErr{b, err}
					for {
						f := ps.failAt.Load()
						if b >= f || ps.failAt.CompareAndSwap(f, b) {
							break
						}
					}
				}
				return
			}
		})
	}
	wg.Wait()
	var first *blockErr
	for i := range errs {
		if e := &errs[i]; e.err != nil && (first == nil || e.block < first.block) {
			first = e
		}
	}
	last := n - 1
	if first != nil {
		last = first.block
	}
	l.merge(ws, last)
	if first == nil {
		if l.count > l.maxCount {
			// Blocks that ended between two checkpoints: the limit is on
			// the launch's total, whatever the workers saw.
			return l.finish(&LimitError{Kernel: l.p.name, Limit: "lane-instructions", Value: l.count, Max: l.maxCount})
		}
		return l.finish(nil)
	}
	if te, ok := first.err.(*TimeoutError); ok {
		te.LaneInstructions = l.count // the launch's, not the worker's
	}
	return l.finish(first.err)
}

// worker is a copy of the launch for one worker of a parallel launch: the
// configuration and the device are shared, the counts, diagnostics and
// the block's buffers are its own.
func (l *launch) worker(ps *parState) *launch {
	// The hot loop writes the counts on every instruction: padding keeps
	// two workers' copies off one cache line.
	type padded struct {
		_ [64]byte
		l launch
		_ [64]byte
	}
	pl := &padded{}
	wl := &pl.l
	*wl = launch{
		m: l.m, p: l.p, dev: l.dev, cfg: l.cfg, params: l.params, constImg: l.constImg,
		maxCount: l.maxCount, start: l.start, deadline: l.deadline, workspace: l.workspace,
		diags: map[diagKey]*Diagnostic{},
		rng:   rand.New(rand.NewPCG(l.cfg.Seed, 0x9e3779b97f4a7c15)),
		par:   ps,
	}
	wl.checkAt = min(wl.maxCount, timeoutCheckInterval)
	wl.setScheduler()
	return wl
}

// merge adds the workers' counts and diagnostics, of the blocks up to
// last, to the launch's: what one worker would have counted and reported
// running those blocks in order (the blocks after a failing block stop or
// never start on one worker). A diagnostic's first report is the one from
// the lowest block, and they come in the order one worker reports them:
// by the block that first reported each, then in that block's order.
func (l *launch) merge(ws []*launch, last int64) {
	var runs []blockRun
	for _, wl := range ws {
		for _, r := range wl.runs {
			if r.block <= last {
				runs = append(runs, r)
			}
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].block < runs[j].block })
	for _, r := range runs {
		l.count += r.count
		l.wcount += r.wcount
		for _, k := range r.order {
			d := r.diags[k]
			if f, ok := l.diags[k]; ok {
				f.Count += d.Count
				continue
			}
			l.diags[k] = d
			l.order = append(l.order, k)
		}
	}
}

// timeoutCheckInterval is how many lane-instructions a launch with a
// Timeout runs between two readings of the clock: about a millisecond of
// emulation at the usual speeds, and a clock reading (some tens of
// nanoseconds) per interval costs nothing measurable.
const timeoutCheckInterval = 1 << 16

// startClock starts the launch's wall-clock limit, if it has one.
func (l *launch) startClock() {
	l.start = time.Now()
	if l.cfg.Timeout > 0 {
		l.deadline = l.start.Add(l.cfg.Timeout)
		l.checkAt = min(l.maxCount, l.count+timeoutCheckInterval)
	}
}

// checkpoint runs when the lane-instruction count passes checkAt: it
// raises the instruction limit or the timeout, whichever was reached (the
// instruction limit first, being deterministic), and sets the next
// checkpoint.
func (l *launch) checkpoint() {
	if l.par != nil {
		l.parCheckpoint()
		return
	}
	if l.count > l.maxCount {
		l.fail(&LimitError{Kernel: l.p.name, Limit: "lane-instructions", Value: l.count, Max: l.maxCount})
	}
	l.checkClock()
	l.checkAt = min(l.maxCount, l.count+timeoutCheckInterval)
}

// parCheckpoint is a parallel worker's checkpoint, every
// timeoutCheckInterval lane-instructions: it publishes its count to the
// launch's total, which the instruction limit bounds, stops its block when
// an earlier block has failed, and reads the clock.
func (l *launch) parCheckpoint() {
	total := l.par.total.Add(l.count - l.published)
	l.published = l.count
	if total > l.maxCount {
		l.fail(&LimitError{Kernel: l.p.name, Limit: "lane-instructions", Value: total, Max: l.maxCount})
	}
	if l.par.failAt.Load() < l.block {
		l.fail(errCancelled)
	}
	l.checkClock()
	// Check again after the interval, or sooner when the launch's total
	// may cross the limit before that.
	l.checkAt = l.count + min(timeoutCheckInterval, l.maxCount-total+1)
}

// checkClock raises a *TimeoutError when the launch is past its deadline.
func (l *launch) checkClock() {
	if l.deadline.IsZero() {
		return
	}
	if now := time.Now(); !now.Before(l.deadline) {
		l.fail(&TimeoutError{Kernel: l.p.name, Timeout: l.cfg.Timeout, Elapsed: now.Sub(l.start), LaneInstructions: l.count})
	}
}

func (l *launch) result() *Result {
	res := &Result{Kernel: l.p.name, Threads: l.cfg.Grid.Count() * l.cfg.Block.Count(), LaneInstructions: l.count, WarpInstructions: l.wcount}
	for _, k := range l.order {
		res.Diagnostics = append(res.Diagnostics, *l.diags[k])
	}
	if l.tr != nil {
		res.Trace, res.TraceTruncated, res.TraceSyncs = l.tr.events, l.tr.truncated, l.tr.syncs
	}
	return res
}

func (l *launch) fail(err error) { panic(abort{err}) }

// diag records undefined behaviour at op o, deduplicated by kind and site.
func (l *launch) diag(kind string, o *op, w *warp, lanes uint32, format string, args ...any) {
	k := diagKey{kind, o.line}
	if d, ok := l.diags[k]; ok {
		d.Count++
		return
	}
	d := &Diagnostic{Kind: kind, Msg: fmt.Sprintf(format, args...), Site: l.m.site(o), Lanes: lanes, Count: 1}
	if w != nil {
		d.CTA, d.Warp = w.c.id, w.id
	}
	l.diags[k] = d
	l.order = append(l.order, k)
}

// warn is diag for a finding at SeverityWarning.
func (l *launch) warn(kind string, o *op, w *warp, lanes uint32, format string, args ...any) {
	l.diag(kind, o, w, lanes, format, args...)
	l.diags[diagKey{kind, o.line}].Severity = SeverityWarning
}

type cta struct {
	l          *launch
	id         Dim3
	shared     []byte
	sharedInit []byte // per shared byte: 1 once written since the block started
	warps      []*warp
	bars       [16]barState
	nlive      int   // warps with a live lane
	order      []int // the order of the warps' turns in a round
	// chk is the checker's state of the block while another block of a
	// cooperative grid has the turn.
	chk *ctaCheck
	// The block's mbarrier objects by shared offset and its async copies
	// in flight (mbarrier.go, async.go), nil until the first is made.
	mbars map[uint32]*mbarObj
	async *asyncState
	// mbEpoch counts changes to mbarriers, async copies and memory once
	// the block has an mbarrier; mbPolled says a wait has failed.
	mbEpoch  uint64
	mbPolled bool
}

type barState struct {
	gen       uint32
	arrived   []uint32 // per warp: lanes arrived this generation
	done      []bool   // per warp: the warp has arrived
	nwarps    int
	count     int      // expected threads, 0 = every live warp
	warpPC    []int32  // per warp: the barrier instruction its first lane used
	liveAt    []uint32 // per warp: its live lanes when its first lane arrived
	firstPC   int32    // the instruction of the generation's first arrival
	firstWarp int      // and its warp
	red       uint32   // bar.red accumulator: popc count, or and/or
	redInit   bool
	anyArriv  bool
}

type callFrame struct {
	ret  int32
	site int32
	sp   int32       // a recursive program's stack pointer before the call
	save *savedFrame // the callee's state before a recursive call, nil otherwise
}

// savedFrame is one lane's registers and parameter frame of a function,
// saved when the function is called again while active.
type savedFrame struct {
	regs   []uint64
	paramF []byte
}

func (sv *savedFrame) size() int64 { return int64(8*len(sv.regs) + len(sv.paramF)) }

type warp struct {
	c       *cta
	id      int
	r       []uint64
	pc      [32]int32
	st      [32]uint8
	wsMask  [32]uint32 // mask of the collective a lane waits at
	barID   [32]uint8
	live    uint32 // lanes that exist and have not exited
	waiting uint32 // lanes in stWarp
	barWait uint32 // lanes in stBar
	exist   uint32 // lanes that exist in this warp
	local   []byte // localSize bytes per lane
	paramF  []byte // paramFSize bytes per lane
	stack   [32][]callFrame
	sp      [32]int32 // a recursive program's stack pointer, per lane
	tid     [32]Dim3

	rr       int  // round-robin cursor
	adv      int  // adversarial: the lane running alone, -1 none
	advRun   int  // instructions the adversarial lane has run
	yield    bool // the running lane asked to be switched out
	lastAddr [32]uint64
	lastVal  [32]uint64

	// polls are the lanes' failed mbarrier waits (mbarrier.go), nil
	// until one fails.
	polls *lanePolls
}

func (l *launch) newCTA(id Dim3) *cta {
	p := l.p
	b := l.cfg.Block
	nthreads := int(b.Count())
	nw := (nthreads + 31) / 32
	// The blocks a worker runs come one after another, so they share one
	// set of buffers, reset here to the state a new block starts in; the
	// blocks of a cooperative grid are all resident, each with its own.
	st := &l.store
	if l.cfg.Cooperative {
		st = new(ctaStore)
	}
	fresh := st.regs == nil
	if fresh {
		st.shared = make([]byte, p.sharedDyn+l.cfg.SharedBytes)
		st.sharedInit = make([]byte, len(st.shared))
		st.regs = make([]uint64, nw*p.nslots*32)
		st.local = make([]byte, nw*32*p.localSize)
		st.paramF = make([]byte, nw*32*p.paramFSize)
		st.warps = make([]warp, nw)
	} else {
		// The constants stay as the first block found them; every other
		// register starts at zero again.
		clear(st.sharedInit)
		for wi := range nw {
			r := st.regs[wi*p.nslots*32 : (wi+1)*p.nslots*32]
			for _, run := range p.varRuns {
				clear(r[run[0]:run[1]])
			}
		}
		clear(st.local)
		clear(st.paramF)
	}
	// A worker's blocks also share the block itself: its barriers' per-warp
	// state and its lists of warps. A block of a large grid may run only a
	// few thousand instructions, and its setup then counts.
	nb := len(cta{}.bars)
	if fresh {
		st.cta = new(cta)
		st.barU32 = make([]uint32, 2*nb*nw)
		st.barI32 = make([]int32, nb*nw)
		st.barDone = make([]bool, nb*nw)
		st.warpList = make([]*warp, 0, nw)
		st.order = make([]int, nw)
	} else {
		clear(st.barU32)
		clear(st.barI32)
		clear(st.barDone)
	}
	c := st.cta
	*c = cta{l: l, id: id, shared: st.shared, sharedInit: st.sharedInit, order: st.order, warps: st.warpList[:0]}
	for i := range c.shared {
		c.shared[i] = sharedFill
	}
	u32, i32, done := st.barU32, st.barI32, st.barDone
	for i := range c.bars {
		c.bars[i].arrived = u32[(2*i)*nw : (2*i+1)*nw : (2*i+1)*nw]
		c.bars[i].liveAt = u32[(2*i+1)*nw : (2*i+2)*nw : (2*i+2)*nw]
		c.bars[i].done = done[i*nw : (i+1)*nw : (i+1)*nw]
		c.bars[i].warpPC = i32[i*nw : (i+1)*nw : (i+1)*nw]
	}
	regs, local, paramF := st.regs, st.local, st.paramF
	for wi := 0; wi < nw; wi++ {
		w := &st.warps[wi]
		*w = warp{c: c, id: wi, adv: -1,
			r:      regs[wi*p.nslots*32 : (wi+1)*p.nslots*32 : (wi+1)*p.nslots*32],
			local:  local[wi*32*p.localSize : (wi+1)*32*p.localSize],
			paramF: paramF[wi*32*p.paramFSize : (wi+1)*32*p.paramFSize],
		}
		for lane := 0; lane < 32; lane++ {
			t := wi*32 + lane
			w.pc[lane] = 0 // the entry's first op: link puts the entry first
			if t >= nthreads {
				w.st[lane] = stExit
				continue
			}
			w.exist |= 1 << lane
			w.tid[lane] = Dim3{uint32(t) % b.X, uint32(t) / b.X % b.Y, uint32(t) / (b.X * b.Y)}
		}
		w.live = w.exist
		for lane := range w.sp {
			w.sp[lane] = p.stackBase
		}
		if fresh {
			for _, k := range p.consts {
				for lane := 0; lane < 32; lane++ {
					w.r[int(k.slot)+lane] = k.val
				}
			}
		}
		for k, s := range p.specials {
			if s == noSlot {
				continue
			}
			r := w.r[s : s+32 : s+32]
			switch k {
			case spcTidX, spcTidY, spcTidZ, spcLaneid, spcLanemaskEq, spcLanemaskLt, spcLanemaskLe, spcLanemaskGt, spcLanemaskGe:
				for lane := range r {
					r[lane] = l.special(k, w, lane)
				}
			default: // the same in every lane
				v := l.special(k, w, 0)
				for lane := range r {
					r[lane] = v
				}
			}
		}
		c.warps = append(c.warps, w)
	}
	c.nlive = nw
	return c
}

// special is the value special register k (spc*) holds in one lane of
// warp w of the block being made.
func (l *launch) special(k int, w *warp, lane int) uint64 {
	b, g, id, wi := l.cfg.Block, l.cfg.Grid, w.c.id, w.id
	t := w.tid[lane]
	var v uint64
	switch k {
	case spcTidX:
		v = uint64(t.X)
	case spcTidY:
		v = uint64(t.Y)
	case spcTidZ:
		v = uint64(t.Z)
	case spcNtidX:
		v = uint64(b.X)
	case spcNtidY:
		v = uint64(b.Y)
	case spcNtidZ:
		v = uint64(b.Z)
	case spcCtaidX:
		v = uint64(id.X)
	case spcCtaidY:
		v = uint64(id.Y)
	case spcCtaidZ:
		v = uint64(id.Z)
	case spcNctaidX:
		v = uint64(g.X)
	case spcNctaidY:
		v = uint64(g.Y)
	case spcNctaidZ:
		v = uint64(g.Z)
	case spcLaneid:
		v = uint64(lane)
	case spcWarpid:
		v = uint64(wi)
	case spcNwarpid:
		v = 64
	case spcLanemaskEq:
		v = 1 << lane
	case spcLanemaskLt:
		v = 1<<lane - 1
	case spcLanemaskLe:
		v = uint64(uint32(2<<lane - 1))
	case spcLanemaskGt:
		v = uint64(uint32(0xfffffffe << lane))
	case spcLanemaskGe:
		v = uint64(uint32(0xffffffff << lane))
	case spcSmid:
		v = uint64(int64(id.X)+int64(id.Y)*int64(g.X)) % DeviceSMs
	case spcNsmid:
		v = DeviceSMs
	case spcGridid:
		v = 1
	case spcEnvreg1: // the driver's grid workspace (cooperative_groups/details/driver_abi.h)
		v = l.workspace >> 32
	case spcEnvreg2:
		v = l.workspace & 0xffffffff
	}
	return v
}

// run runs the block to its end.
func (c *cta) run() {
	for {
		progress, alive := c.round()
		if !alive {
			return
		}
		if !progress {
			c.l.fail(c.deadlock())
		}
	}
}

// round gives each warp of the block a turn: a quantum of ops, in the
// scheduler's order. It reports whether any op was issued, and whether
// the block has a live lane. A live block that issues nothing is
// deadlocked: its lanes wait at barriers and collectives that only its
// own lanes can complete.
func (c *cta) round() (progress, alive bool) {
	order := c.order
	sch := c.l.sch
	sch.order(order)
	for _, wi := range order {
		w := c.warps[wi]
		if w.live != 0 {
			alive = true
		}
		if w.runnable() == 0 {
			continue
		}
		if w.runQuantum(sch.quantum()) > 0 {
			progress = true
		}
	}
	if c.async != nil || c.mbPolled {
		progress = c.afterRound(progress, alive)
	}
	return progress, alive
}

// runnable is the set of lanes that can step: live, and not waiting at a
// collective or a barrier.
func (w *warp) runnable() uint32 { return w.live &^ (w.waiting | w.barWait) }

// runQuantum lets the scheduler pick lane groups and run them until
// quantum ops are issued or no lane can run. It returns the ops issued.
func (w *warp) runQuantum(quantum int) int {
	sch := w.c.l.sch
	reconverge := w.c.l.reconverge
	issued := 0
	for issued < quantum {
		run := w.runnable()
		if run == 0 {
			break
		}
		pc, mask, steps, limit := sch.group(w, run, quantum-issued)
		n := w.exec(pc, mask, steps, limit, reconverge)
		issued += n
		sch.ran(w, n)
	}
	return issued
}

// exitLanes marks lanes exited and lets barriers and collectives that were
// waiting only for them complete (exited lanes count as arrived, §9.7.12.1
// and the CUDA Programming Guide on __syncwarp).
func (w *warp) exitLanes(m uint32) {
	for x := m; x != 0; x &= x - 1 {
		w.st[bits.TrailingZeros32(x)] = stExit
	}
	w.live &^= m
	if w.live == 0 {
		w.c.nlive--
	}
	w.c.mbEpoch++
	w.tryRendezvous()
	for id := range w.c.bars {
		if w.c.bars[id].anyArriv {
			w.c.checkBar(id)
		}
	}
}

func (c *cta) deadlock() error {
	var lines []string
	for _, w := range c.warps {
		groups := map[string]uint32{}
		var keys []string
		for lane := 0; lane < 32; lane++ {
			var k string
			o := &c.l.p.ops[w.pc[lane]]
			switch w.st[lane] {
			case stWarp:
				k = fmt.Sprintf("warp %d: lanes %%s wait at %s (mask %#08x) at %s", w.id, o.code, w.wsMask[lane], c.l.m.site(o))
			case stBar:
				k = fmt.Sprintf("warp %d: lanes %%s wait at barrier %d at %s", w.id, w.barID[lane], c.l.m.site(o))
			default:
				continue
			}
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] |= 1 << lane
		}
		for _, k := range keys {
			line := fmt.Sprintf(k, laneList(groups[k]))
			lane := bits.TrailingZeros32(groups[k])
			if w.st[lane] == stWarp {
				missing := w.wsMask[lane] & w.live &^ groups[k]
				if missing != 0 {
					line += fmt.Sprintf(", for lanes %s", laneList(missing))
					var where []string
					for x := missing; x != 0; x &= x - 1 {
						ml := bits.TrailingZeros32(x)
						mo := &c.l.p.ops[w.pc[ml]]
						where = append(where, fmt.Sprintf("lane %d at %s %s", ml, mo.code, c.l.m.site(mo)))
						if len(where) == 2 {
							break
						}
					}
					line += " (" + strings.Join(where, "; ") + ")"
				}
			} else {
				b := &c.bars[w.barID[lane]]
				need := "every live warp"
				if b.count > 0 {
					need = fmt.Sprintf("%d threads", b.count)
				}
				line += fmt.Sprintf(", %d warps arrived, it needs %s", b.nwarps, need)
			}
			lines = append(lines, line)
		}
	}
	sort.Strings(lines)
	return &DeadlockError{Kernel: c.l.p.name, CTA: c.id, Waiters: lines}
}

// laneList writes a lane mask as ranges: "0-15,20".
func laneList(m uint32) string {
	var parts []string
	for lane := 0; lane < 32; {
		if m&(1<<lane) == 0 {
			lane++
			continue
		}
		end := lane
		for end+1 < 32 && m&(1<<(end+1)) != 0 {
			end++
		}
		if end == lane {
			parts = append(parts, fmt.Sprint(lane))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", lane, end))
		}
		lane = end + 1
	}
	return strings.Join(parts, ",")
}
