package cpuemu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gpubuf/gpubuf/kernels"
)

// Module is a loaded PTX module: parsed, checked and lowered, ready to launch.
// A Module is safe for concurrent use.
type Module struct {
	name        string
	ast         *module
	progs       map[string]*program
	entries     []Entry
	globals     map[string]varInfo
	globalImage []byte
	constImage  []byte
	globalBase  uint64
	locMu       sync.Mutex
	locs        []srcLoc
	locIndex    map[srcLoc]int32
}

// Entry describes a kernel entry point.
type Entry struct {
	Name        string
	Params      []Param
	SharedBytes int // static shared memory per CTA
	LocalBytes  int // local memory per thread
	Ops         int // lowered instructions (with callees)
}

// Param is one kernel parameter from the entry's .param list.
type Param struct {
	Index  int
	Name   string
	Type   string // PTX type: u64, u32, f32, b8 (byte arrays), ...
	Size   int    // bytes
	Align  int
	Offset int // in the parameter buffer
}

var moduleCounter atomic.Uint64

// Load parses and lowers PTX text. name labels errors and reports. Every
// unsupported instruction is reported here, with its PTX line, never later.
func Load(name string, ptx []byte) (*Module, error) {
	ast, err := parse(string(ptx))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	m := &Module{name: name, ast: ast, progs: map[string]*program{}, locIndex: map[srcLoc]int32{}}
	k := moduleCounter.Add(1) % moduleSlots
	m.globalBase = moduleGlobals + k*moduleWindow
	if err := m.layoutModuleData(); err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	seen := map[string]bool{}
	for _, f := range ast.funcs {
		if seen[f.name] && f.body != nil && f.entry {
			return nil, fmt.Errorf("load %s: %w", name, &SyntaxError{f.line, "entry " + f.name + " defined twice"})
		}
		seen[f.name] = true
	}
	for _, f := range ast.funcs {
		if !f.entry {
			continue
		}
		if f.body == nil {
			continue
		}
		p, err := m.lowerEntry(f)
		if err != nil {
			return nil, fmt.Errorf("load %s: entry %s: %w", name, f.name, err)
		}
		m.progs[f.name] = p
		m.entries = append(m.entries, Entry{Name: f.name, Params: p.params, SharedBytes: p.sharedSize, LocalBytes: p.localSize, Ops: len(p.ops)})
	}
	// Functions no entry calls are still checked, so an unsupported
	// instruction anywhere in the module fails Load.
	for _, f := range ast.funcs {
		if f.entry || f.body == nil {
			continue
		}
		if _, err := m.lowerEntry(f); err != nil {
			return nil, fmt.Errorf("load %s: function %s: %w", name, f.name, err)
		}
	}
	sort.Slice(m.entries, func(i, j int) bool { return m.entries[i].Name < m.entries[j].Name })
	return m, nil
}

// Name is the name the module was loaded with.
func (m *Module) Name() string { return m.name }

// Entries lists the module's kernels, sorted by name.
func (m *Module) Entries() []Entry { return append([]Entry(nil), m.entries...) }

// Entry looks up one kernel.
func (m *Module) Entry(name string) (Entry, bool) {
	for _, e := range m.entries {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

func (m *Module) addLoc(l srcLoc) int32 {
	m.locMu.Lock()
	defer m.locMu.Unlock()
	key := l
	if i, ok := m.locIndex[key]; ok && l.inlinedAt == nil {
		return i
	}
	m.locs = append(m.locs, l)
	i := int32(len(m.locs) - 1)
	if l.inlinedAt == nil {
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
	s := Site{PTXLine: int(o.line), Instr: opName(o)}
	if o.loc < 0 || int(o.loc) >= len(m.locs) {
		return s
	}
	l := m.locs[o.loc]
	at := &l
	for at.inlinedAt != nil && toolkitHeader(m.fileName(at.file)) {
		if s.Header == "" {
			s.Header = m.locString(*at)
		}
		at = at.inlinedAt
	}
	if toolkitHeader(m.fileName(at.file)) {
		s.Header = "" // nothing of the user's around it: say where it is
	}
	s.Loc = m.locString(*at)
	return s
}

func (m *Module) fileName(f int) string {
	if n, ok := m.ast.files[f]; ok {
		return n
	}
	return fmt.Sprintf("file%d", f)
}

func (m *Module) locString(l srcLoc) string { return fmt.Sprintf("%s:%d", m.fileName(l.file), l.line) }

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
)

// LaunchConfig is the shape and options of one launch.
type LaunchConfig struct {
	Grid, Block Dim3
	SharedBytes int // dynamic shared memory per CTA
	Scheduler   Scheduler
	Seed        uint64 // for Random (and the lane order of Adversarial when non-zero)
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
	// Launch return a *CheckError.
	Check bool
	// Trace records what every lane executes, in order, into
	// Result.Trace, keeping at most TraceLimit events (0 means
	// DefaultTraceLimit, and more than MaxTraceLimit is a *LimitError);
	// Result.TraceTruncated says whether more happened.
	Trace      bool
	TraceLimit int
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
}

// Ptr64 wraps a raw 64-bit value passed to a pointer parameter.
// DevicePtr, int32, uint32, int64, uint64, float32, float64, int8/16, uint8/16
// and []byte (raw bytes, for by-value structs) are accepted as arguments.

// Launch runs kernel on dev with the given arguments and waits for it. The
// arguments are checked against the entry's .param list before anything runs.
// When the kernel faults, deadlocks or hits a limit, the error comes with a
// Result that holds the counts and diagnostics up to that point.
func (m *Module) Launch(dev *Device, kernel string, cfg LaunchConfig, args ...any) (*Result, error) {
	p, ok := m.progs[kernel]
	if !ok {
		names := make([]string, len(m.entries))
		for i, e := range m.entries {
			names[i] = e.Name
		}
		return nil, &ArgError{Kernel: kernel, Msg: fmt.Sprintf("no such kernel in %s (it has %v)", m.name, names)}
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
	dev.mu.Unlock()
	if err != nil {
		return nil, err
	}
	l := newLaunch(m, p, dev, cfg, params)
	res, err := l.run()
	if l.chk == nil || res == nil {
		return res, err
	}
	var ie *InternalError
	if errors.As(err, &ie) {
		return res, err
	}
	rep := newReport(p.name, res.Diagnostics, err)
	rep.Hazards = l.chk.hazardList()
	res.Report = rep
	if rep.Clean() {
		return res, nil
	}
	return res, rep.Err()
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
	if cfg.MaxInstructions < 0 || cfg.AdversarialBound < 0 || cfg.TraceLimit < 0 || cfg.Timeout < 0 {
		return bad("negative limit")
	}
	if cfg.TraceLimit > MaxTraceLimit {
		return &LimitError{Kernel: kernel, Limit: "trace events (TraceLimit)", Value: int64(cfg.TraceLimit), Max: MaxTraceLimit}
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

// packParams lays the arguments out as the .param buffer, checking count and
// sizes against the entry.
func packParams(kernel string, p *program, args []any) ([]byte, error) {
	if len(args) != len(p.params) {
		return nil, &ArgError{Kernel: kernel, Msg: fmt.Sprintf("got %d arguments, the kernel takes %d (%s)", len(args), len(p.params), paramList(p.params))}
	}
	buf := make([]byte, p.paramSize)
	for i, a := range args {
		pr := p.params[i]
		var b []byte
		var tmp [8]byte
		put := func(n int, v uint64, kind string) error {
			if pr.Size != n {
				return &ArgError{Kernel: kernel, Msg: fmt.Sprintf("argument %d (%s .%s, %d bytes) given a %d-byte %s", i, pr.Name, pr.Type, pr.Size, n, kind)}
			}
			isFloat := pr.Type == "f32" || pr.Type == "f64"
			if kind != "float" && isFloat {
				return &ArgError{Kernel: kernel, Msg: fmt.Sprintf("argument %d (%s) is .%s, given an integer %s", i, pr.Name, pr.Type, kind)}
			}
			if kind == "float" && !isFloat && pr.Type[0] != 'b' {
				return &ArgError{Kernel: kernel, Msg: fmt.Sprintf("argument %d (%s) is .%s, given a %d-byte float", i, pr.Name, pr.Type, n)}
			}
			binary.LittleEndian.PutUint64(tmp[:], v)
			b = tmp[:n]
			return nil
		}
		var err error
		switch v := a.(type) {
		case DevicePtr:
			err = put(8, uint64(v), "pointer")
		case uint64:
			err = put(8, v, "uint64")
		case int64:
			err = put(8, uint64(v), "int64")
		case int:
			err = put(pr.Size, uint64(v), "int")
			if err == nil && pr.Size == 4 && (v < math.MinInt32 || v > math.MaxUint32) {
				err = &ArgError{Kernel: kernel, Msg: fmt.Sprintf("argument %d (%s) value %d does not fit 32 bits", i, pr.Name, v)}
			}
		case uint32:
			err = put(4, uint64(v), "uint32")
		case int32:
			err = put(4, uint64(uint32(v)), "int32")
		case uint16:
			err = put(2, uint64(v), "uint16")
		case int16:
			err = put(2, uint64(uint16(v)), "int16")
		case uint8:
			err = put(1, uint64(v), "uint8")
		case int8:
			err = put(1, uint64(uint8(v)), "int8")
		case float32:
			err = put(4, uint64(math.Float32bits(v)), "float")
		case float64:
			err = put(8, math.Float64bits(v), "float")
		case []byte:
			if len(v) != pr.Size {
				err = &ArgError{Kernel: kernel, Msg: fmt.Sprintf("argument %d (%s) is %d bytes, given %d", i, pr.Name, pr.Size, len(v))}
			}
			b = v
		default:
			err = &ArgError{Kernel: kernel, Msg: fmt.Sprintf("argument %d (%s): unsupported Go type %T", i, pr.Name, a)}
		}
		if err != nil {
			return nil, err
		}
		copy(buf[pr.Offset:], b)
	}
	return buf, nil
}

func paramList(ps []Param) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += "." + p.Type + " " + p.Name
	}
	return s
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
