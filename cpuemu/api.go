package cpuemu

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gpubuf/gpubuf/internal/ptx"
	"github.com/gpubuf/gpubuf/kernels"
)

// Module is a loaded PTX module: parsed, with every function lowered to IR
// once. An entry is linked with the functions it calls when it is first
// launched. A Module is safe for concurrent use.
type Module struct {
	name        string
	ast         *ptx.Module
	fns         []*fnIR // per function with a body, in text order
	fnIndex     map[string]int
	declNames   map[string]bool // functions declared here, defined or not
	addrTaken   []bool          // per function: its address is taken (a function pointer)
	entries     []Entry
	modVars     map[string]varInfo
	sharedSize  int // module-scope .shared bytes
	dynAlign    int // the largest .align of a module-scope .extern .shared array
	sm          int // the .target's sm_NN, 0 when it names none
	ptxVersion  int // .version as 10*major + minor, 0 when absent
	globalImage []byte
	constImage  []byte
	globalBase  uint64
	locMu       sync.Mutex
	locs        []srcLoc
	locIndex    map[srcLoc]int32
	progMu      sync.Mutex
	progs       map[string]*program
	maxSlots    int        // LoadLimits.Registers: register slots of one function or kernel
	funcSpans   []funcSpan // by first line: which function a PTX line is in
}

// srcLoc is a .loc directive: a CUDA source position.
type srcLoc = ptx.Loc

// Entry describes a kernel entry point.
type Entry struct {
	Name        string
	Params      []Param
	SharedBytes int // static shared memory per CTA
	LocalBytes  int // local memory per thread
	Ops         int // lowered instructions (with callees)
	// ReqNTID is the block shape the entry requires (.reqntid), zero when
	// it requires none; MaxNTID the most threads a block may have
	// (.maxntid), 0 when unbounded. A launch that breaks them fails, as
	// the driver's does.
	ReqNTID Dim3
	MaxNTID int64
	// Err is why the entry cannot run on the emulator: an
	// *UnsupportedError naming the instruction and its PTX line, a
	// *SyntaxError, or a *LimitError. Launch and Kernel return it; the
	// module's other entries are unaffected.
	Err error
}

// Param is one kernel parameter from the entry's .param list.
type Param = ptx.Param

// Errors of the front end, where users of the emulator find them.
type (
	// SyntaxError is PTX text that does not parse, or that names
	// something it does not define.
	SyntaxError = ptx.SyntaxError
	// LimitError is an input or a launch past a configured limit.
	LimitError = ptx.LimitError
	// ArgError is a launch whose arguments do not match the kernel's
	// .param list, or whose configuration is invalid.
	ArgError = ptx.ArgError
)

// LoadLimits bound what Load accepts. A zero field means its default.
type LoadLimits struct {
	SourceBytes  int // PTX text, default DefaultMaxSourceBytes
	Instructions int // instructions in the module, default DefaultMaxPTXInstructions
	// Registers bounds the PTX virtual registers of a function and of a
	// kernel with the functions it calls: those its .reg declarations
	// make (%r<40> is 40), not the hardware registers ptxas would
	// allocate, plus the constants the emulator keeps beside them.
	// Default DefaultMaxRegisters, at most MaxRegisters. Each costs 8
	// bytes per lane of a live block.
	Registers int
}

// Default load limits.
const (
	DefaultMaxSourceBytes     = ptx.DefaultMaxSourceBytes
	DefaultMaxPTXInstructions = ptx.DefaultMaxInstructions
	DefaultMaxRegisters       = 1 << 15
	// MaxRegisters is the most LoadLimits.Registers may ask for: at 8
	// bytes per register per lane, a block of 1024 threads holds 1 GiB
	// of them, the bound on what a launch's live blocks hold.
	MaxRegisters = 1 << 17
)

var moduleCounter atomic.Uint64

// Load parses PTX text and lowers every function, under the default
// LoadLimits. name labels errors and reports.
//
// A module whose text parses loads. An entry that uses something the
// emulator does not support fails alone, when it is asked for (Kernel,
// Launch), with an *UnsupportedError that names the entry, the
// instruction and its PTX line; Entries lists every entry with its Err.
func Load(name string, src []byte) (*Module, error) { return LoadWithLimits(name, src, LoadLimits{}) }

// LoadWithLimits is Load with other limits on the input.
func LoadWithLimits(name string, src []byte, lim LoadLimits) (*Module, error) {
	if lim.Registers < 0 || lim.Registers > MaxRegisters {
		return nil, fmt.Errorf("load %s: LoadLimits.Registers %d: want 0 (the default, %d) to %d", name, lim.Registers, DefaultMaxRegisters, MaxRegisters)
	}
	if lim.Registers == 0 {
		lim.Registers = DefaultMaxRegisters
	}
	ast, err := ptx.ParseLimits(src, ptx.Limits{MaxSourceBytes: lim.SourceBytes, MaxInstructions: lim.Instructions})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	m := &Module{name: name, ast: ast, progs: map[string]*program{}, locIndex: map[srcLoc]int32{}, fnIndex: map[string]int{},
		sm: smOf(ast.Target), ptxVersion: versionOf(ast.Version), maxSlots: lim.Registers}
	if len(ast.Directives) > 0 {
		d := ast.Directives[0]
		return nil, fmt.Errorf("load %s: %w", name, &UnsupportedError{Line: d.Line, What: "module directive " + d.Name})
	}
	if ast.AddressSize == 32 {
		return nil, fmt.Errorf("load %s: %w", name, &UnsupportedError{Line: 1, What: ".address_size 32: the emulator's addresses are 64-bit"})
	}
	k := moduleCounter.Add(1) % moduleSlots
	m.globalBase = moduleGlobals + k*moduleWindow
	// Functions by name: a definition wins over declarations; an .alias
	// names another function.
	var defs []*ptx.Func
	m.declNames = map[string]bool{}
	for _, f := range ast.Funcs {
		m.declNames[f.Name] = true
		if f.HasBody() {
			m.fnIndex[f.Name] = len(defs)
			defs = append(defs, f)
		}
	}
	m.fns = make([]*fnIR, len(defs))
	for i, f := range defs {
		m.fns[i] = &fnIR{name: f.Name, decl: f, index: i}
	}
	m.addrTaken = make([]bool, len(defs))
	if err := m.layoutModuleData(); err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	for _, f := range m.fns {
		m.lowerFunc(f)
	}
	m.indexFuncLines()
	for i, f := range defs {
		if !f.Entry {
			continue
		}
		m.entries = append(m.entries, m.entryInfo(m.fns[i]))
	}
	sort.Slice(m.entries, func(i, j int) bool { return m.entries[i].Name < m.entries[j].Name })
	m.ast = &ptx.Module{Files: ast.Files, Aliases: ast.Aliases, DebugStr: ast.DebugStr} // the rest is lowered
	return m, nil
}

// resolveAlias is the function name stands for: name itself, or what its
// .alias chain ends at. A chain of more than 8 (a cycle) stops there.
func (m *Module) resolveAlias(name string) string {
	for range 8 {
		a, ok := m.ast.Aliases[name]
		if !ok {
			break
		}
		name = a
	}
	return name
}

// fnByName finds a function with a body by name, through .alias, or nil.
func (m *Module) fnByName(name string) *fnIR {
	if i, ok := m.fnIndex[m.resolveAlias(name)]; ok {
		return m.fns[i]
	}
	return nil
}

// declared reports whether the module declares a function of that name,
// through .alias, with or without a body.
func (m *Module) declared(name string) bool {
	return m.declNames[m.resolveAlias(name)]
}

// entryInfo describes an entry without linking it: its parameters, the
// frames of the functions it reaches, and why it cannot run, if it cannot.
func (m *Module) entryInfo(f *fnIR) Entry {
	e := Entry{Name: f.name, Params: f.params}
	e.ReqNTID, e.MaxNTID = threadBounds(f.decl)
	if f.params == nil && f.err == nil {
		e.Params = []Param{}
	}
	a, err := m.analyse(f)
	if err != nil {
		e.Err = err
		if e.Params == nil {
			ps, _, _ := ptx.Layout(f.decl.Params)
			e.Params = ps
		}
	}
	if a != nil {
		e.SharedBytes, e.LocalBytes, e.Ops = a.fr.sharedSize, a.fr.localSize, a.fr.ops
	}
	return e
}

// threadBounds reads an entry's .reqntid and .maxntid: up to three
// dimensions, the missing ones 1.
func threadBounds(f *ptx.Func) (req Dim3, maxN int64) {
	dims := func(v []int64) Dim3 {
		d := Dim3{1, 1, 1}
		for i, n := range v {
			n = max(0, min(n, 1<<31))
			switch i {
			case 0:
				d.X = uint32(n)
			case 1:
				d.Y = uint32(n)
			case 2:
				d.Z = uint32(n)
			}
		}
		return d
	}
	if v, ok := f.Perf["reqntid"]; ok && len(v) > 0 {
		req = dims(v)
	}
	if v, ok := f.Perf["maxntid"]; ok && len(v) > 0 {
		maxN = dims(v).Count()
	}
	return req, maxN
}

// Name is the name the module was loaded with.
func (m *Module) Name() string { return m.name }

// Entries lists the module's kernels, sorted by name, those that cannot
// run on the emulator included (with Err set).
func (m *Module) Entries() []Entry { return append([]Entry(nil), m.entries...) }

// Entry looks up one kernel, whether it can run or not (see Entry.Err).
func (m *Module) Entry(name string) (Entry, bool) {
	for _, e := range m.entries {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Kernel looks up a kernel that can run: a name the module lacks is an
// *ArgError that lists its entries, and an entry that cannot run returns
// its Err.
func (m *Module) Kernel(name string) (Entry, error) {
	e, ok := m.Entry(name)
	if !ok {
		names := make([]string, len(m.entries))
		for i, e := range m.entries {
			names[i] = e.Name
		}
		return Entry{}, &ArgError{Kernel: name, Msg: fmt.Sprintf("no such kernel in %s (it has %v)", m.name, names)}
	}
	if e.Err != nil {
		return e, fmt.Errorf("load %s: %w", m.name, e.Err)
	}
	return e, nil
}

// program links the named kernel, once.
func (m *Module) program(name string) (*program, error) {
	if _, err := m.Kernel(name); err != nil {
		return nil, err
	}
	m.progMu.Lock()
	defer m.progMu.Unlock()
	if p, ok := m.progs[name]; ok {
		return p, nil
	}
	p, err := m.link(m.fns[m.fnIndex[name]])
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", m.name, err)
	}
	m.progs[name] = p
	return p, nil
}

func (m *Module) addLoc(l srcLoc) int32 {
	m.locMu.Lock()
	defer m.locMu.Unlock()
	key := l
	if i, ok := m.locIndex[key]; ok && l.InlinedAt == nil {
		return i
	}
	m.locs = append(m.locs, l)
	i := int32(len(m.locs) - 1)
	if l.InlinedAt == nil {
		m.locIndex[key] = i
	}
	return i
}

// site describes op o for reports: PTX line and the CUDA file:line. For an
// inlined location (PTX ISA §11.5.4) the innermost position in the user's
// own code is given: the body of an inlined __device__ function, but not
// the line inside a CUDA header that implements __syncwarp or atomicAdd;
// that one goes to Site.Header.
func (m *Module) site(o *op) Site {
	s := Site{PTXLine: int(o.line), Instr: opName(o), Func: m.funcAt(o.line)}
	if o.loc < 0 || int(o.loc) >= len(m.locs) {
		return s
	}
	l := m.locs[o.loc]
	s.InlinedFunc = m.inlinedFunc(l)
	at := &l
	for at.InlinedAt != nil && toolkitHeader(m.fileName(at.File)) {
		if s.Header == "" {
			s.Header = m.locString(*at)
		}
		at = at.InlinedAt
	}
	if toolkitHeader(m.fileName(at.File)) {
		s.Header = "" // nothing of the user's around it: say where it is
	}
	s.Loc = m.locString(*at)
	return s
}

func (m *Module) fileName(f int) string {
	if n, ok := m.ast.Files[f]; ok {
		return n
	}
	return fmt.Sprintf("file%d", f)
}

func (m *Module) locString(l srcLoc) string { return fmt.Sprintf("%s:%d", m.fileName(l.File), l.Line) }

// toolkitHeader reports whether a .file name is one of the CUDA toolkit's
// headers (sm_30_intrinsics.hpp, crt/math_functions.hpp, ...), as nvcc
// names them with or without their include directory.
func toolkitHeader(name string) bool {
	base := name[strings.LastIndexByte(name, '/')+1:]
	if !strings.HasSuffix(base, ".h") && !strings.HasSuffix(base, ".hpp") {
		return false
	}
	switch {
	case strings.Contains(name, "/cuda/include/"), strings.Contains(name, "/cuda-"), strings.Contains(name, "/nvidia-cuda"),
		strings.HasPrefix(name, "crt/"), strings.Contains(name, "/crt/"), strings.HasPrefix(name, "cooperative_groups"),
		strings.HasPrefix(base, "cooperative_groups"), strings.Contains(name, "/cooperative_groups/"),
		strings.HasPrefix(base, "sm_"), strings.HasPrefix(base, "device_"), strings.HasPrefix(base, "cuda_"),
		strings.HasPrefix(base, "math_functions"), strings.HasPrefix(base, "vector_functions"):
		return true
	}
	return false
}

// Scheduler chooses which lanes of a warp step next.
type Scheduler int

const (
	// Lockstep runs the lanes at the lowest PC together, which reconverges
	// them after a branch without a SIMT stack. The default.
	Lockstep Scheduler = iota
	// RoundRobin steps PC groups one instruction at a time, in lane order.
	RoundRobin
	// Random steps a random lane, alone or with the lanes at its PC, for a
	// few instructions; it is reproducible from Seed.
	Random
	// Adversarial runs one lane alone until it blocks, exits, fails a CAS,
	// re-polls an unchanged address or runs AdversarialBound instructions.
	// It starts from the highest-numbered lane.
	Adversarial
)

var schedulerNames = []string{"lockstep", "roundrobin", "random", "adversarial"}

func (s Scheduler) String() string {
	if int(s) < len(schedulerNames) && s >= 0 {
		return schedulerNames[s]
	}
	return fmt.Sprintf("Scheduler(%d)", int(s))
}

// ParseScheduler reads a scheduler name.
func ParseScheduler(s string) (Scheduler, error) {
	for i, n := range schedulerNames {
		if n == s {
			return Scheduler(i), nil
		}
	}
	return 0, fmt.Errorf("unknown scheduler %q (want lockstep, roundrobin, random or adversarial)", s)
}

// Schedulers lists every scheduler.
func Schedulers() []Scheduler { return []Scheduler{Lockstep, RoundRobin, Random, Adversarial} }

// Launch limits.
const (
	DefaultMaxInstructions  = 1 << 32 // lane-instructions per launch: some seconds of emulation
	DefaultAdversarialBound = 10000
	DefaultTraceLimit       = 1 << 20   // events
	MaxSharedBytes          = 227 << 10 // per CTA, as on sm_90
	MaxThreadsPerBlock      = 1024
	MaxGridThreads          = 1 << 26
	maxLocalBytes           = 64 << 10 // per thread
	// MaxWorkers bounds LaunchConfig.Workers: each worker holds one
	// block's registers, shared and local memory.
	MaxWorkers = 1024
)

// LaunchConfig is the shape and options of one launch.
type LaunchConfig struct {
	Grid, Block Dim3
	SharedBytes int // dynamic shared memory per CTA
	Scheduler   Scheduler
	Seed        uint64 // for Random (and the lane order of Adversarial when non-zero)
	// Cooperative makes the launch cooperative, as
	// cuLaunchCooperativeKernel does: every block of the grid is resident
	// at once and the blocks run interleaved, a turn each, so that they
	// can wait for each other (cooperative_groups::this_grid().sync()),
	// and %envreg1:%envreg2 hold the address of a zeroed grid workspace,
	// freed when the launch ends. In any other launch the blocks run one
	// after another and %envreg1:%envreg2 read 0, so a grid sync finds no
	// workspace and traps. The grid must fit the emulated device at once
	// (Module.CooperativeBlocks): a larger one is a *LimitError, as the
	// driver refuses it with CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE.
	Cooperative bool
	// MaxInstructions bounds the lane-instructions of the launch; 0 means
	// DefaultMaxInstructions. A runaway kernel becomes a LimitError.
	MaxInstructions int64
	// Timeout bounds the launch's wall-clock time; 0 means none. A launch
	// still running after it stops with a *TimeoutError (with the Result
	// so far, as for a LimitError). Unlike MaxInstructions it depends on
	// the machine's speed and load, so a launch that stops here may finish
	// elsewhere. The clock is read every 2^16 lane-instructions and
	// between blocks, never per instruction, so a launch overruns its
	// Timeout by at most that much work.
	Timeout time.Duration
	// AdversarialBound is how many instructions a lane runs alone before the
	// adversarial scheduler switches; 0 means DefaultAdversarialBound.
	AdversarialBound int
	// Check turns on the race and sync checker (see race.go): vector
	// clocks per lane and shadow state per shared and global word. The
	// Result then carries a Report, and a report that is not clean makes
	// Launch return a *CheckError. A cooperative launch holds the
	// checker's state of every resident block at once, some 4n² bytes
	// for a block of n lanes (a clock per lane) plus 11 per shared byte,
	// and counts it towards the bound on the launch's emulator state (a
	// *LimitError).
	Check bool
	// Stdout receives the text the kernel's printf (and a failed
	// assert) writes, once, when the launch ends, also when it fails;
	// nil discards it. The text comes in the order the lanes ran their
	// printf: lane by lane within one instruction, so for a given
	// schedule it is always the same.
	Stdout io.Writer
	// PrintfBytes is the launch's printf buffer: 0 means
	// DefaultPrintfBytes (CUDA's 1 MiB), more than MaxPrintfBytes is a
	// *LimitError. When the text outgrows it, the first output is kept
	// and every call from the first that does not fit is dropped, with a
	// "printf-buffer-full" diagnostic. (CUDA's buffer is circular and
	// overwrites the oldest output instead.)
	PrintfBytes int
	// Trace records what every lane executes, in order, into
	// Result.Trace, keeping at most TraceLimit events (0 means
	// DefaultTraceLimit, and more than MaxTraceLimit is a *LimitError);
	// Result.TraceTruncated says whether more happened.
	Trace      bool
	TraceLimit int
	// Workers is how many goroutines run the launch's blocks; 0 means
	// GOMAXPROCS, and more than MaxWorkers is a *LimitError (fewer run
	// when 1 GiB would not hold their blocks' state). The blocks of a
	// lockstep launch without Check, Trace, printf or recursion run in
	// parallel, each block whole on one worker, so that a result that
	// does not depend on the order of atomics between blocks is the same
	// bit for bit as on one worker. Every other launch runs its blocks one
	// after another, in order (x fastest), whatever Workers says: a
	// searched or seeded schedule, the checker's verdicts, the trace and
	// printf's output then replay exactly. Cooperative launches keep
	// every block resident, taking turns.
	Workers int

	// shadowStats, when set on a checked launch, receives the measure of
	// the checker's shadow of global memory as the launch ends (tests).
	shadowStats *shadowStats
}

// Result reports a finished launch.
type Result struct {
	Kernel           string
	Threads          int64 // lanes launched
	LaneInstructions int64 // instructions executed, counted per lane whose guard was true
	WarpInstructions int64 // ops issued (one per group step)
	Diagnostics      []Diagnostic
	Report           *Report      // with LaunchConfig.Check
	Trace            []TraceEvent // with LaunchConfig.Trace
	TraceTruncated   bool         // the trace reached TraceLimit and stopped
	TraceSyncs       []TraceSync  // with LaunchConfig.Trace: barrier arrivals and releases
}

// Launch runs kernel on dev with the given arguments and waits for it. The
// arguments are checked against the entry's .param list before anything
// runs: DevicePtr for pointers; int8 to uint64, float32 and float64 for
// scalars (not Go's int, uint or uintptr, which have no fixed size); []byte of a by-value
// parameter's size (a struct).
// When the kernel faults, deadlocks or hits a limit, the error comes with a
// Result that holds the counts and diagnostics up to that point.
func (m *Module) Launch(dev *Device, kernel string, cfg LaunchConfig, args ...any) (res *Result, err error) {
	p, err := m.program(kernel)
	if err != nil {
		return nil, err
	}
	params, err := packParams(kernel, p, args)
	if err != nil {
		return nil, err
	}
	if err := checkConfig(kernel, p, &cfg); err != nil {
		return nil, err
	}
	if dev == nil {
		return nil, &ArgError{Kernel: kernel, Msg: "nil device"}
	}
	dev.launchMu.Lock()
	defer dev.launchMu.Unlock()
	dev.mu.Lock()
	err = dev.mapModule(m)
	constImg := dev.constImage(m)
	dev.mu.Unlock()
	if err != nil {
		return nil, err
	}
	l := newLaunch(m, p, dev, cfg, params)
	l.constImg = constImg
	if cfg.Cooperative {
		ws, err := dev.Alloc(gridWorkspaceBytes)
		if err != nil {
			return nil, fmt.Errorf("launch %s: the cooperative grid's workspace: %w", kernel, err)
		}
		defer dev.Free(ws)
		l.workspace = uint64(ws)
	}
	defer func() {
		// The printf text goes out whatever happened; failing to write
		// it fails a launch that did not fail otherwise.
		if werr := l.writePrintf(); werr != nil && err == nil {
			err = werr
		}
	}()
	res, err = l.run()
	if l.chk != nil {
		defer l.chk.releasePages() // after the report is made
	}
	if l.chk == nil || res == nil {
		return res, err
	}
	var ie *InternalError
	if errors.As(err, &ie) {
		return res, err
	}
	rep := newReport(p.name, res.Diagnostics, err)
	rep.Hazards = l.chk.hazardList()
	if cfg.shadowStats != nil {
		*cfg.shadowStats = l.chk.shadowStats()
	}
	res.Report = rep
	if rep.Clean() {
		return res, nil
	}
	return res, rep.Err()
}

// CheckConfig checks a launch's shape and options against the kernel and
// the emulator's limits, as Launch does before anything runs, and returns
// the same *ArgError or *LimitError: a caller that queues launches can
// refuse a bad one at once.
func (m *Module) CheckConfig(kernel string, cfg LaunchConfig) error {
	p, err := m.program(kernel)
	if err != nil {
		return err
	}
	return checkConfig(kernel, p, &cfg)
}

func checkConfig(kernel string, p *program, cfg *LaunchConfig) error {
	bad := func(format string, a ...any) error { return &ArgError{Kernel: kernel, Msg: fmt.Sprintf(format, a...)} }
	for _, d := range []struct {
		n string
		v Dim3
	}{{"grid", cfg.Grid}, {"block", cfg.Block}} {
		if d.v.X == 0 || d.v.Y == 0 || d.v.Z == 0 {
			return bad("%s %s has a zero dimension", d.n, d.v)
		}
	}
	if cfg.Block.Count() > MaxThreadsPerBlock {
		return bad("block %s has %d threads; the most is %d", cfg.Block, cfg.Block.Count(), MaxThreadsPerBlock)
	}
	// The entry's own bounds (PTX ISA §11.4): the driver refuses a launch
	// that breaks them.
	if r := p.reqntid; r != (Dim3{}) && cfg.Block != r {
		return bad("block %s: the kernel requires %s (.reqntid)", cfg.Block, r)
	}
	if p.maxntid > 0 && cfg.Block.Count() > p.maxntid {
		return bad("block %s has %d threads; the kernel allows at most %d (.maxntid)", cfg.Block, cfg.Block.Count(), p.maxntid)
	}
	if cfg.Block.Z > 64 {
		return bad("block z dimension %d exceeds 64", cfg.Block.Z)
	}
	if cfg.Grid.Y > 65535 || cfg.Grid.Z > 65535 {
		return bad("grid %s: y and z may be at most 65535", cfg.Grid)
	}
	if n := cfg.Grid.Count() * cfg.Block.Count(); n > MaxGridThreads {
		return &LimitError{Kernel: kernel, Limit: "threads in the grid", Value: n, Max: MaxGridThreads}
	}
	if cfg.SharedBytes < 0 {
		return bad("negative dynamic shared memory %d", cfg.SharedBytes)
	}
	if total := int64(p.sharedDyn) + int64(cfg.SharedBytes); total > MaxSharedBytes {
		return &LimitError{Kernel: kernel, Limit: "shared bytes per block", Value: total, Max: MaxSharedBytes}
	}
	if p.localSize > maxLocalBytes {
		return &LimitError{Kernel: kernel, Limit: "local bytes per thread", Value: int64(p.localSize), Max: maxLocalBytes}
	}
	if cfg.Scheduler < Lockstep || cfg.Scheduler > Adversarial {
		return bad("unknown scheduler %d", cfg.Scheduler)
	}
	if cfg.MaxInstructions < 0 || cfg.AdversarialBound < 0 || cfg.TraceLimit < 0 || cfg.Timeout < 0 || cfg.PrintfBytes < 0 || cfg.Workers < 0 {
		return bad("negative limit")
	}
	if cfg.TraceLimit > MaxTraceLimit {
		return &LimitError{Kernel: kernel, Limit: "trace events (TraceLimit)", Value: int64(cfg.TraceLimit), Max: MaxTraceLimit}
	}
	if cfg.PrintfBytes > MaxPrintfBytes {
		return &LimitError{Kernel: kernel, Limit: "printf buffer bytes (PrintfBytes)", Value: int64(cfg.PrintfBytes), Max: MaxPrintfBytes}
	}
	if cfg.Workers > MaxWorkers {
		return &LimitError{Kernel: kernel, Limit: "workers", Value: int64(cfg.Workers), Max: MaxWorkers}
	}
	if cfg.PrintfBytes == 0 {
		cfg.PrintfBytes = DefaultPrintfBytes
	}
	if cfg.Cooperative {
		if err := checkCooperative(kernel, p, cfg); err != nil {
			return err
		}
	}
	if cfg.MaxInstructions == 0 {
		cfg.MaxInstructions = DefaultMaxInstructions
	}
	if cfg.AdversarialBound == 0 {
		cfg.AdversarialBound = DefaultAdversarialBound
	}
	if cfg.TraceLimit == 0 {
		cfg.TraceLimit = DefaultTraceLimit
	}
	return nil
}

// packParams checks the arguments against the entry's .param list with
// the front end's one checker and lays them out as the parameter buffer.
// DevicePtr is a pointer; the other accepted types are ptx.GoArg's.
func packParams(kernel string, p *program, args []any) ([]byte, error) {
	pa := make([]ptx.Arg, len(args))
	for i, a := range args {
		if v, ok := a.(DevicePtr); ok {
			pa[i] = ptx.Arg{Kind: ptx.ArgPointer, Size: 8, Bits: uint64(v), Desc: "DevicePtr"}
			continue
		}
		var ok bool
		if pa[i], ok = ptx.GoArg(a); !ok {
			name := "?"
			if i < len(p.params) {
				name = p.params[i].Name
			}
			return nil, &ArgError{Kernel: kernel, Msg: fmt.Sprintf("argument %d (%s): unsupported Go type %T", i, name, a)}
		}
	}
	if err := ptx.CheckArgs(kernel, p.params, pa); err != nil {
		return nil, err
	}
	return ptx.Pack(p.params, p.paramSize, pa), nil
}

// LoadKernel loads the embedded PTX module (from gpubuf's kernels package)
// that holds the named kernel.
func LoadKernel(name string) (*Module, error) {
	k, ok := kernels.Lookup(name)
	if !ok {
		var names []string
		for _, k := range kernels.All() {
			names = append(names, k.Name)
		}
		return nil, fmt.Errorf("load: no embedded kernel %q (there are %s)", name, strings.Join(names, ", "))
	}
	return Load(k.File, k.PTX())
}
