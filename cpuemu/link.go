package cpuemu

import (
	"fmt"
	"slices"
	"strings"
)

// program is one entry linked with the functions it reaches: their ops
// one after another, their slots, frames and call sites rebased into one
// register file, one shared, local and parameter frame, and one table of
// calls.
type program struct {
	name       string
	ops        []op
	nslots     int
	consts     []slotConst // slots filled with a constant
	specials   [spcCount]int32
	params     []Param
	paramSize  int
	sharedSize int // static shared bytes
	sharedDyn  int // offset of the dynamic (extern) shared array
	localSize  int // per-lane local bytes
	paramFSize int // per-lane function-parameter bytes
	calls      []callSite
	indirect   []indirectSite
	brTables   [][]int32
	funcs      []string // the linked functions, entry first
	opFunc     []int32  // per op: index into funcs
	regNames   []string // per slot, for dumps
	reqntid    Dim3     // the entry's .reqntid, zero when none
	maxntid    int64    // the entry's .maxntid threads, 0 when none
	// recursive says a function may be called while it is active; then
	// frames (below) tell a call what to save, and the local variables of
	// every function but the entry live on a per-lane stack from
	// stackBase to localSize.
	recursive bool
	frames    []fnFrame // per function
	// varRuns are the runs of register-file words (start, end; slot*32
	// units) that a block starts with zeroed: every slot but the
	// constants, which nothing writes, so a worker fills them once.
	varRuns [][2]int32
	// builtins says the program calls vprintf or __assertfail, whose
	// output comes in the order the lanes ran them: its launches run
	// their blocks one at a time.
	builtins bool
	// async says the program issues asynchronous copies: the checker
	// then gives each thread a copy lane (race_async.go).
	async     bool
	stackBase int32
	dataUse   *dataUseCache // for the checker (taint.go), made with the program
}

// fnFrame is what one activation of a function owns in a recursive
// program: its registers (not the shared constants and special registers)
// and its range of the parameter frame, which a recursive call saves and
// its return restores; and its local variables, which each call places on
// the lane's stack (localAddrs are the registers that hold their
// addresses, set at the call).
type fnFrame struct {
	regs             []int32
	paramF, paramEnd int
	localBytes       int32
	localAddrs       []localAddr
}

type localAddr struct {
	slot int32
	off  uint64
}

// funcName is the name of the function op i belongs to.
func (p *program) funcName(i int) string { return p.funcs[p.opFunc[i]] }

// argLoc is where a call's argument or result lives on one side of the
// call: in the per-lane parameter frame, or in a register slot (a .reg
// parameter, a register or an immediate passed as an argument).
type argLoc struct {
	kind locKind
	off  int32 // frame offset, or slot*32
	size int
}

type locKind uint8

const (
	locParamF locKind = iota
	locSlot
)

// paramCopy copies one argument into the callee, or one result back.
type paramCopy struct{ from, to argLoc }

// callSite describes the parameter copies of a call, linked.
type callSite struct {
	args   []paramCopy // caller -> callee, before the jump
	rets   []paramCopy // callee -> caller, at ret
	callee int32       // index into program.funcs
}

// indirectSite is a call through a function pointer: the functions it
// may reach, by address.
type indirectSite struct {
	targets []indirectTarget
}

type indirectTarget struct {
	addr  uint64
	start int32 // the callee's first op
	call  int32 // index into program.calls
}

// fnCall is a call site of one function, before linking: the caller's
// side of each argument and result, and whom it calls.
type fnCall struct {
	callee  string   // a direct call's callee; "" for an indirect one
	targets []string // an indirect call's .calltargets list; nil: any function whose address is taken
	args    []argLoc
	rets    []argLoc
	op      int
}

// reach lists the functions an entry reaches, the entry first, and the
// first reason it cannot run: a function that failed to lower, or a cycle
// of calls.
func (m *Module) reach(entry *fnIR) ([]*fnIR, error) {
	order := []*fnIR{entry}
	seen := map[*fnIR]bool{entry: true}
	via := map[*fnIR]*fnIR{}
	for i := 0; i < len(order); i++ {
		f := order[i]
		if f.err != nil {
			return nil, m.entryErr(entry, f, via, f.err)
		}
		add := func(g *fnIR) {
			if !seen[g] {
				seen[g] = true
				via[g] = f
				order = append(order, g)
			}
		}
		for _, c := range f.fcalls {
			if c.callee != "" {
				add(m.fnByName(c.callee))
				continue
			}
			for _, g := range m.indirectTargets(c) {
				add(g)
			}
		}
	}
	return order, nil
}

// entryErr names the entry (and the path of calls) in a function's error.
func (m *Module) entryErr(entry, f *fnIR, via map[*fnIR]*fnIR, err error) error {
	if ue, ok := err.(*UnsupportedError); ok {
		c := *ue
		c.Entry = entry.name
		if f != entry {
			path := []string{f.name}
			for g := via[f]; g != nil && g != entry; g = via[g] {
				path = append(path, g.name)
			}
			slices.Reverse(path)
			c.Func = strings.Join(path, " -> ")
		}
		return &c
	}
	if f != entry {
		return fmt.Errorf("entry %s: function %s: %w", entry.name, f.name, err)
	}
	return fmt.Errorf("entry %s: %w", entry.name, err)
}

// indirectTargets are the functions an indirect call may reach: those of
// its .calltargets list, or else every function whose address the module
// takes, that lowered and whose parameters match the call's in number and
// size. A call through a pointer to any other function faults, saying
// why (callIndirect), so one such function elsewhere in the module does
// not stop the entry.
func (m *Module) indirectTargets(c fnCall) []*fnIR {
	match := func(g *fnIR) bool {
		if g == nil || g.err != nil || g.decl.Entry || len(g.paramLocs) != len(c.args) || len(g.retLocs) != len(c.rets) {
			return false
		}
		for i, a := range c.args {
			if g.paramLocs[i].size != a.size {
				return false
			}
		}
		for i, r := range c.rets {
			if g.retLocs[i].size != r.size {
				return false
			}
		}
		return true
	}
	var out []*fnIR
	if c.targets != nil {
		for _, n := range c.targets {
			if g := m.fnByName(n); match(g) {
				out = append(out, g)
			}
		}
		return out
	}
	for i, taken := range m.addrTaken {
		if taken && match(m.fns[i]) {
			out = append(out, m.fns[i])
		}
	}
	return out
}

// whyNotCallable says why a call through a pointer holding addr cannot go
// there.
func (m *Module) whyNotCallable(addr uint64) string {
	i := int((addr - codeWindow) / 16)
	if addr < codeWindow || (addr-codeWindow)%16 != 0 || i >= len(m.fns) {
		return "holds no function of this kernel"
	}
	f := m.fns[i]
	switch {
	case f.err != nil:
		return fmt.Sprintf("holds %s, which cannot run on the emulator: %v", f.name, f.err)
	case f.decl.Entry:
		return fmt.Sprintf("holds the entry %s", f.name)
	}
	return fmt.Sprintf("holds %s, whose parameters do not match the call's", f.name)
}

// recursive reports whether any of the functions can call itself, directly
// or through others: a cycle of direct calls, or an indirect call that may
// reach a function on a path to it. Only then do calls check whether the
// callee is already active, to save its registers and frames.
func recursive(m *Module, fns []*fnIR) bool {
	state := map[*fnIR]int{}
	var visit func(f *fnIR) bool
	visit = func(f *fnIR) bool {
		state[f] = 1
		for _, c := range f.fcalls {
			var next []*fnIR
			if c.callee != "" {
				next = []*fnIR{m.fnByName(c.callee)}
			} else {
				next = m.indirectTargets(c)
			}
			for _, g := range next {
				if state[g] == 1 || state[g] == 0 && visit(g) {
					return true
				}
			}
		}
		state[f] = 2
		return false
	}
	return visit(fns[0])
}

// frames lays out the frames of the reached functions: each one's shared,
// local and parameter variables after the one before it's. In a recursive
// program the local variables of every function but the entry go on a
// per-lane stack instead, each call's on top of its caller's: then
// stackBase is where the stack starts.
type frames struct {
	shared, local, paramF []int // per reached function: its base
	sharedSize, localSize int
	paramFSize            int
	stackBase             int
	ops                   int
}

// recursionStackBytes is the per-lane stack of a recursive program's local
// variables (CUDA's own default stack is 1 KiB per thread).
const recursionStackBytes = 16 << 10

func layoutFrames(m *Module, fns []*fnIR, recursive bool) frames {
	fr := frames{sharedSize: m.sharedSize}
	stack := false
	for i, f := range fns {
		fr.sharedSize = alignUp(fr.sharedSize, 16)
		fr.localSize = alignUp(fr.localSize, 16)
		fr.paramFSize = alignUp(fr.paramFSize, 16)
		fr.shared = append(fr.shared, fr.sharedSize)
		fr.local = append(fr.local, fr.localSize)
		fr.paramF = append(fr.paramF, fr.paramFSize)
		fr.sharedSize += f.shared
		fr.paramFSize += f.paramF
		if recursive && i > 0 {
			stack = stack || f.local > 0
		} else {
			fr.localSize += f.local
		}
		fr.ops += len(f.ops)
	}
	fr.localSize = alignUp(fr.localSize, 16)
	fr.stackBase = fr.localSize
	if stack {
		fr.localSize += recursionStackBytes
	}
	fr.paramFSize = alignUp(fr.paramFSize, 8)
	return fr
}

// dynShared is where the dynamic (.extern) shared array starts: after the
// static part, aligned to 16 or to the array's own .align if larger.
func (m *Module) dynShared(fns []*fnIR, fr frames) int {
	al := max(16, m.dynAlign)
	for _, f := range fns {
		al = max(al, f.dynAlign)
	}
	return alignUp(fr.sharedSize, al)
}

// slotMap is how link places the slots of each reached function in one
// register file: each function's registers get their own; constants
// (after relocation) and special registers are shared. In a recursive
// program a non-entry function's local-variable addresses are registers
// of its own, set at each call.
type slotMap struct {
	maps     [][]int32 // per function: its slot -> the program's slot
	frames   []fnFrame
	consts   []slotConst
	specials [spcCount]int32
	names    []string
}

func (sm *slotMap) newSlot(name string) int32 {
	sm.names = append(sm.names, name)
	return int32(len(sm.names)-1) * 32
}

func assignSlots(fns []*fnIR, fr frames, recursive bool, sharedDyn int) *slotMap {
	sm := &slotMap{}
	for i := range sm.specials {
		sm.specials[i] = noSlot
	}
	constOf := map[uint64]int32{}
	for i, f := range fns {
		mp := make([]int32, f.nslots)
		fm := fnFrame{paramF: fr.paramF[i], paramEnd: fr.paramF[i] + f.paramF, localBytes: int32(alignUp(f.local, 16))}
		isConst := make([]int, f.nslots) // 1 + index into f.consts
		for ci, c := range f.consts {
			isConst[c.slot/32] = ci + 1
		}
		isSpecial := make([]int, f.nslots) // 1 + kind
		for k, s := range f.specials {
			if s != noSlot {
				isSpecial[s/32] = k + 1
			}
		}
		for s := range f.nslots {
			switch {
			case isConst[s] != 0 && recursive && i > 0 && f.consts[isConst[s]-1].rel == relLocal:
				mp[s] = sm.newSlot(f.regNames[s])
				fm.regs = append(fm.regs, mp[s])
				fm.localAddrs = append(fm.localAddrs, localAddr{slot: mp[s], off: f.consts[isConst[s]-1].val})
			case isConst[s] != 0:
				c := f.consts[isConst[s]-1]
				v := c.val
				switch c.rel {
				case relShared:
					v += uint64(fr.shared[i])
				case relLocal:
					v += uint64(fr.local[i])
				case relParamF:
					v += uint64(fr.paramF[i])
				case relDynShared:
					v += uint64(sharedDyn)
				}
				ps, ok := constOf[v]
				if !ok {
					ps = sm.newSlot(fmt.Sprintf("#%d", int64(v)))
					constOf[v] = ps
					sm.consts = append(sm.consts, slotConst{slot: ps, val: v})
				}
				mp[s] = ps
			case isSpecial[s] != 0:
				k := isSpecial[s] - 1
				if sm.specials[k] == noSlot {
					sm.specials[k] = sm.newSlot(specialName(k))
				}
				mp[s] = sm.specials[k]
			default:
				mp[s] = sm.newSlot(f.regNames[s])
				fm.regs = append(fm.regs, mp[s])
			}
		}
		sm.maps = append(sm.maps, mp)
		sm.frames = append(sm.frames, fm)
	}
	return sm
}

// analysis is what linking an entry needs to know first: the functions it
// reaches (the entry first), whether they recurse, their frames, and the
// program's registers. Load computes it for each entry's description, and
// link again when the entry is first launched: keeping it for every entry
// of a large module would cost more than computing it twice.
type analysis struct {
	fns []*fnIR
	rec bool
	fr  frames
	sm  *slotMap
}

// analyse analyses an entry; an error says why it cannot run (a function
// that did not lower, a call it cannot make, too many registers), with
// the analysis so far when the frames could be laid out.
func (m *Module) analyse(entry *fnIR) (*analysis, error) {
	fns, err := m.reach(entry)
	if err != nil {
		return nil, err
	}
	a := &analysis{fns: fns, rec: recursive(m, fns)}
	a.fr = layoutFrames(m, fns, a.rec)
	a.sm = assignSlots(fns, a.fr, a.rec, m.dynShared(fns, a.fr))
	if n := len(a.sm.names); n > m.maxSlots {
		return a, registerLimit(entry.name, "", n, m.maxSlots)
	}
	return a, nil
}

// link builds the program of one entry.
func (m *Module) link(entry *fnIR) (*program, error) {
	a, err := m.analyse(entry)
	if err != nil {
		return nil, err
	}
	fns, rec, fr := a.fns, a.rec, a.fr
	p := &program{
		name: entry.name, params: entry.params, paramSize: entry.paramSize,
		sharedSize: fr.sharedSize, sharedDyn: m.dynShared(fns, fr),
		localSize: fr.localSize, paramFSize: fr.paramFSize,
		ops:       make([]op, 0, fr.ops),
		opFunc:    make([]int32, 0, fr.ops),
		recursive: rec, stackBase: int32(fr.stackBase), dataUse: new(dataUseCache),
	}
	p.reqntid, p.maxntid = threadBounds(entry.decl)
	index := map[*fnIR]int{}
	starts := make([]int, len(fns))
	n := 0
	for i, f := range fns {
		index[f] = i
		starts[i] = n
		p.funcs = append(p.funcs, f.name)
		n += len(f.ops)
	}
	sm := a.sm
	maps := sm.maps
	p.frames, p.consts, p.specials, p.regNames, p.nslots = sm.frames, sm.consts, sm.specials, sm.names, len(sm.names)
	p.varRuns = variableRuns(p.nslots, p.consts)
	slot := func(i int, s int32) int32 {
		if s == noSlot {
			return noSlot
		}
		return maps[i][s/32]
	}
	loc := func(i int, a argLoc) argLoc {
		if a.kind == locSlot {
			a.off = slot(i, a.off)
		} else {
			a.off += int32(fr.paramF[i])
		}
		return a
	}
	copies := func(ci int, from []argLoc, ti int, to []argLoc) []paramCopy {
		out := make([]paramCopy, len(from))
		for k := range from {
			out[k] = paramCopy{from: loc(ci, from[k]), to: loc(ti, to[k])}
		}
		return out
	}
	for i, f := range fns {
		base := int32(starts[i])
		tableBase := int32(len(p.brTables))
		for _, tbl := range f.brTables {
			t := make([]int32, len(tbl))
			for k, x := range tbl {
				t[k] = x + base
			}
			p.brTables = append(p.brTables, t)
		}
		callOf := map[int]fnCall{}
		for _, c := range f.fcalls {
			callOf[c.op] = c
		}
		for oi, o := range f.ops {
			for k := range o.d {
				o.d[k] = slot(i, o.d[k])
				o.a[k] = slot(i, o.a[k])
			}
			o.guard = slot(i, o.guard)
			switch o.code {
			case opBra:
				o.target += base
			case opBrx:
				o.aux += tableBase
			case opCall:
				c := callOf[oi]
				g := m.fnByName(c.callee)
				gi := index[g]
				o.target = int32(starts[gi])
				o.aux = int32(len(p.calls))
				p.calls = append(p.calls, callSite{args: copies(i, c.args, gi, g.paramLocs), rets: copies(gi, g.retLocs, i, c.rets), callee: int32(gi)})
			case opCallBuiltin:
				p.builtins = true
			case opCpAsync:
				p.async = true
			case opCallInd:
				c := callOf[oi]
				site := indirectSite{}
				for _, g := range m.indirectTargets(c) {
					gi := index[g]
					site.targets = append(site.targets, indirectTarget{addr: fnAddr(g.index), start: int32(starts[gi]), call: int32(len(p.calls))})
					p.calls = append(p.calls, callSite{args: copies(i, c.args, gi, g.paramLocs), rets: copies(gi, g.retLocs, i, c.rets), callee: int32(gi)})
				}
				o.aux = int32(len(p.indirect))
				p.indirect = append(p.indirect, site)
			}
			p.ops = append(p.ops, o)
			p.opFunc = append(p.opFunc, int32(i))
		}
	}
	return p, nil
}

// variableRuns gives the runs of a warp's register file, in words, that
// hold no constant: the slots a new block must zero.
func variableRuns(nslots int, consts []slotConst) [][2]int32 {
	isConst := make([]bool, nslots)
	for _, k := range consts {
		isConst[k.slot/32] = true
	}
	var runs [][2]int32
	for i := 0; i < nslots; {
		if isConst[i] {
			i++
			continue
		}
		j := i
		for j < nslots && !isConst[j] {
			j++
		}
		runs = append(runs, [2]int32{int32(32 * i), int32(32 * j)})
		i = j
	}
	return runs
}
