package cpuemu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gpubuf/gpubuf/kernels"
)

// The race and sync checker against the classic bugs of
// testdata/races/races.cu (see its README): every NAME_bug kernel must be
// reported, naming the CUDA lines its markers point at, and its NAME_fixed
// twin must give a clean report, under every scheduler. Then the racy twins
// of kernels/ must be reported with both CUDA lines of their race.
//
// A hazard's Prior is the access that ran first in this schedule, so which
// side is Prior is the scheduler's choice: a read-after-write bug whose
// read runs first is a write after read in that run. The tests accept both
// orders and check that Type agrees with the order (write then read: RAW;
// read then write: WAR).

const racesDir = "testdata/races"

// racesSchedules is lockstep, round-robin, adversarial and random seeds 1-5.
func racesSchedules() []racesSched {
	out := []racesSched{{Lockstep, 0}, {RoundRobin, 0}, {Adversarial, 0}}
	for seed := uint64(1); seed <= 5; seed++ {
		out = append(out, racesSched{Random, seed})
	}
	return out
}

type racesSched struct {
	s    Scheduler
	seed uint64
}

func (s racesSched) String() string {
	if s.s == Random {
		return fmt.Sprintf("random-%d", s.seed)
	}
	return s.s.String()
}

// racesHazard is a hazard a buggy kernel must show: one access at a line
// of writes, one at a line of reads (or, for atomics, both at atomics),
// in either order.
type racesHazard struct {
	Type   string // in the bug's natural order: RAW (write first) or WAR (read first)
	Scope  string
	Space  string
	writes []int // CUDA lines of the write side
	reads  []int // CUDA lines of the read side
	atomic []int // CUDA lines of atomics racing with each other
}

// racesCase is one bug and its fix in races.cu.
type racesCase struct {
	name  string // kernels NAME_bug and NAME_fixed
	grid  uint32
	block uint32
	args  func(t *testing.T, d *Device, grid, block uint32) []any
	// hazard: the hazard the bug must show, by markers; nil for none.
	hazard *racesHazard
	// hazardOptional: the bug is a sync error; a hazard it lets through is
	// allowed (at the marked lines) but not required.
	hazardOptional bool
	// syncWant: the bug must show one of these sync error kinds (at an
	// @sync line), or deadlock if deadlockOK. syncAllow: further kinds
	// tolerated as consequences of the same bug.
	syncWant   []string
	syncAllow  []string
	deadlockOK bool
	// syncLanes: lanes one syncWant diagnostic must name.
	syncLanes uint32
	// checkFixed inspects the fixed twin's memory after a clean run.
	checkFixed func(t *testing.T, d *Device, args []any, grid, block uint32)
}

// --- races.cu markers ---

var (
	racesKernelRE = regexp.MustCompile(`extern "C" __global__ void (\w+)\(`)
	racesMarkRE   = regexp.MustCompile(`^\s*[^/\s].*//\s*(@[a-z-]+)\b`)
)

// racesMarkers maps kernel name → marker → CUDA lines (1-based) in the
// kernel's body, from source text. A marker is a "// @name" comment after
// code on its line; it belongs to the kernel whose extern "C" __global__
// line came last.
func racesMarkers(src string) map[string]map[string][]int {
	out := map[string]map[string][]int{}
	cur := ""
	for i, line := range strings.Split(src, "\n") {
		if m := racesKernelRE.FindStringSubmatch(line); m != nil {
			cur = m[1]
			out[cur] = map[string][]int{}
			continue
		}
		if m := racesMarkRE.FindStringSubmatch(line); m != nil && cur != "" {
			out[cur][m[1]] = append(out[cur][m[1]], i+1)
		}
	}
	return out
}

var (
	racesOnce    sync.Once
	racesMod     *Module
	racesMarks   map[string]map[string][]int
	racesSource  *racesSrc
	racesLoadErr error
)

// racesModule loads races.ptx, and finds the markers of races.cu.
func racesModule(t *testing.T) (*Module, map[string]map[string][]int, *racesSrc) {
	t.Helper()
	racesOnce.Do(func() {
		src, err := os.ReadFile(filepath.Join(racesDir, "races.cu"))
		if err != nil {
			racesLoadErr = err
			return
		}
		racesMarks = racesMarkers(string(src))
		ptx, err := os.ReadFile(filepath.Join(racesDir, "races.ptx"))
		if err != nil {
			racesLoadErr = err
			return
		}
		racesSource = racesParsePTX("races.cu", string(ptx))
		racesMod, racesLoadErr = Load("races.ptx", ptx)
	})
	if racesLoadErr != nil {
		t.Fatal(racesLoadErr)
	}
	return racesMod, racesMarks, racesSource
}

// --- launching ---

func racesAlloc(t testing.TB, d *Device, words []uint32) DevicePtr {
	t.Helper()
	b := make([]byte, 4*max(len(words), 1))
	for i, w := range words {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	p, err := d.Alloc(len(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(p, b); err != nil {
		t.Fatal(err)
	}
	return p
}

func racesReadWords(t *testing.T, d *Device, p DevicePtr, n int) []uint32 {
	t.Helper()
	b := make([]byte, 4*n)
	if err := d.Read(b, p); err != nil {
		t.Fatal(err)
	}
	w := make([]uint32, n)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w
}

// racesInOut is (in, out) with one word per thread each.
func racesInOut(t *testing.T, d *Device, grid, block uint32) []any {
	n := int(grid * block)
	in := make([]uint32, n)
	for i := range in {
		in[i] = uint32(i)*0x9E3779B1 + 7
	}
	return []any{racesAlloc(t, d, in), racesAlloc(t, d, make([]uint32, n))}
}

// racesLaunch runs kernel with the checker on and returns its report and
// the launch error.
func racesLaunch(t *testing.T, m *Module, d *Device, kernel string, grid, block uint32, s racesSched, args []any) (*Report, error) {
	t.Helper()
	cfg := LaunchConfig{
		Grid: Dim3{X: grid, Y: 1, Z: 1}, Block: Dim3{X: block, Y: 1, Z: 1},
		Scheduler: s.s, Seed: s.seed, Check: true,
	}
	res, err := m.Launch(d, kernel, cfg, args...)
	var rep *Report
	if res != nil {
		rep = res.Report
	}
	var ce *CheckError
	if rep == nil && errors.As(err, &ce) {
		rep = ce.Report
	}
	if rep == nil {
		t.Fatalf("%s: no checker report (launch error: %v)", kernel, err)
	}
	return rep, err
}

// racesLog writes the report into the test log.
func racesLog(t *testing.T, r *Report) {
	t.Helper()
	var b strings.Builder
	if err := r.WriteText(&b); err == nil {
		t.Logf("report:\n%s", b.String())
	}
}

// --- matching ---

// racesLine splits a Site.Loc "file:line" into the file's base name and
// the line; ok is false for a Loc of another shape.
func racesLine(loc string) (file string, line int, ok bool) {
	i := strings.LastIndexByte(loc, ':')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(loc[i+1:])
	if err != nil {
		return "", 0, false
	}
	return path.Base(loc[:i]), n, true
}

// racesSrc is a CUDA file and the PTX compiled from it: where each PTX
// line's code was inlined from. Site.Loc names the innermost position of
// inlined code, which for CUDA's own functions (__syncwarp,
// atomicAdd_block, ...) is a line of a CUDA header; the user's line is then
// the inlined_at position of the .loc that covers the instruction.
type racesSrc struct {
	file    string           // base name, e.g. "races.cu"
	callers map[int]racesPos // PTX line → the call site its inlined code came from
}

type racesPos struct {
	file string // base name
	line int
}

var (
	racesLocRE  = regexp.MustCompile(`^\s*\.loc\s+\d+\s+\d+\s+\d+(?:,.*\binlined_at\s+(\d+)\s+(\d+)\s+\d+)?`)
	racesFileRE = regexp.MustCompile(`^\s*\.file\s+(\d+)\s+"([^"]*)"`)
)

// racesParsePTX reads the .file and .loc directives of ptx, compiled from
// file (a base name).
func racesParsePTX(file, ptx string) *racesSrc {
	lines := strings.Split(ptx, "\n")
	files := map[string]string{}
	for _, l := range lines {
		if m := racesFileRE.FindStringSubmatch(l); m != nil {
			files[m[1]] = path.Base(m[2])
		}
	}
	s := &racesSrc{file: file, callers: map[int]racesPos{}}
	var cur *racesPos
	for i, l := range lines {
		if m := racesLocRE.FindStringSubmatch(l); m != nil {
			cur = nil
			if m[1] != "" {
				n, _ := strconv.Atoi(m[2])
				cur = &racesPos{files[m[1]], n}
			}
			continue
		}
		if cur != nil {
			s.callers[i+1] = *cur
		}
	}
	return s
}

// line is the line of s.file that site stands for: its Loc, or, when Loc
// is in another file (a header), the line that inlined it.
func (s *racesSrc) line(site Site) (int, bool) {
	if f, n, ok := racesLine(site.Loc); ok && f == s.file {
		return n, true
	}
	if c, ok := s.callers[site.PTXLine]; ok && c.file == s.file {
		return c.line, true
	}
	return 0, false
}

// at reports whether site stands for one of lines of s.file.
func (s *racesSrc) at(site Site, lines []int) bool {
	n, ok := s.line(site)
	return ok && slices.Contains(lines, n)
}

// racesMatch says why h is not an instance of want in src, or "" if it is.
func racesMatch(h Hazard, want *racesHazard, src *racesSrc) string {
	if h.Scope != want.Scope {
		return fmt.Sprintf("scope %s, want %s", h.Scope, want.Scope)
	}
	if h.Space != want.Space {
		return fmt.Sprintf("space %s, want %s", h.Space, want.Space)
	}
	if h.Count < 1 {
		return fmt.Sprintf("count %d, want >= 1", h.Count)
	}
	p, l := h.Prior, h.Later
	if len(want.atomic) > 0 {
		// Two atomics: the type of an atomic-atomic race is the
		// checker's choice (both read and write).
		for _, a := range []Access{p, l} {
			if a.Kind != "Atomic" {
				return fmt.Sprintf("%s access, want Atomic", a.Kind)
			}
			if !src.at(a.Site, want.atomic) {
				return fmt.Sprintf("atomic at %s, want %s:%v", a.Site, src.file, want.atomic)
			}
		}
		if h.Type != "RAW" && h.Type != "WAR" && h.Type != "WAW" {
			return fmt.Sprintf("type %q", h.Type)
		}
		return ""
	}
	var typ string
	switch {
	case src.at(p.Site, want.writes) && src.at(l.Site, want.reads):
		typ = "RAW"
		if p.Kind != "Write" || l.Kind != "Read" {
			return fmt.Sprintf("kinds %s then %s at write then read lines", p.Kind, l.Kind)
		}
	case src.at(p.Site, want.reads) && src.at(l.Site, want.writes):
		typ = "WAR"
		if p.Kind != "Read" || l.Kind != "Write" {
			return fmt.Sprintf("kinds %s then %s at read then write lines", p.Kind, l.Kind)
		}
	default:
		return fmt.Sprintf("sites %s then %s, want writes %s:%v and reads %s:%v in either order",
			p.Site, l.Site, src.file, want.writes, src.file, want.reads)
	}
	if h.Type != typ {
		return fmt.Sprintf("type %s for a %s then a %s, want %s", h.Type, p.Kind, l.Kind, typ)
	}
	if p.CTA == l.CTA && p.Thread == l.Thread {
		return "both sides are one thread"
	}
	return ""
}

// racesCheckHazards asserts that r shows want (unless optional) and no
// other hazard, and that errors.As finds a *Hazard in err.
func racesCheckHazards(t *testing.T, r *Report, err error, want *racesHazard, optional bool, src *racesSrc) {
	t.Helper()
	found := false
	for _, h := range r.Hazards {
		if want == nil {
			t.Errorf("unexpected hazard: %v", &h)
			continue
		}
		if why := racesMatch(h, want, src); why != "" {
			t.Errorf("hazard %v: %s", &h, why)
			continue
		}
		found = true
		if h.Type != want.Type && len(want.atomic) == 0 {
			t.Logf("%s bug seen as %s: its %s ran first in this schedule", want.Type, h.Type, strings.ToLower(h.Prior.Kind))
		}
	}
	if want != nil && !found && !optional {
		t.Errorf("no %s %s hazard on %s memory between %s lines %v and %v", want.Type, want.Scope, want.Space, src.file, want.writes, want.reads)
	}
	if len(r.Hazards) > 0 {
		var hz *Hazard
		if !errors.As(err, &hz) {
			t.Errorf("errors.As(err, *Hazard) failed on %T %v", err, err)
		} else if hz.Count < 1 {
			t.Errorf("hazard from errors.As has count %d", hz.Count)
		}
	}
}

// --- the classic cases ---

func racesCases(marks map[string]map[string][]int) []racesCase {
	mk := func(kernel, name string) []int { return marks[kernel+"_bug"][name] }
	raw := func(name, scope, space string) *racesHazard {
		return &racesHazard{Type: "RAW", Scope: scope, Space: space, writes: mk(name, "@raw-write"), reads: mk(name, "@raw-read")}
	}
	return []racesCase{
		{name: "lane0_gather", grid: 1, block: 64, args: racesInOut, hazard: raw("lane0_gather", "intra-warp", "shared")},
		{
			name: "syncwarp_mask", grid: 1, block: 64, args: racesInOut,
			hazard: raw("syncwarp_mask", "intra-warp", "shared"), hazardOptional: true,
			syncWant: []string{"mask-excludes-self"}, syncLanes: 1 << 16,
		},
		{
			name: "barrier_divergence", grid: 1, block: 64, args: racesInOut,
			syncWant:   []string{"barrier-not-aligned", "barrier-divergence"},
			syncAllow:  []string{"barrier-rearrive", "barrier-count-mismatch"},
			deadlockOK: true,
		},
		{name: "cross_warp", grid: 1, block: 64, args: racesInOut, hazard: raw("cross_warp", "inter-warp", "shared")},
		{name: "shfl_handoff", grid: 1, block: 64, args: racesInOut, hazard: raw("shfl_handoff", "intra-warp", "shared")},
		{
			name: "war_overwrite", grid: 1, block: 64, args: racesInOut,
			hazard: &racesHazard{Type: "WAR", Scope: "intra-warp", Space: "shared",
				writes: mk("war_overwrite", "@war-write"), reads: mk("war_overwrite", "@war-read")},
		},
		{
			name: "global_publish", grid: 4, block: 64,
			args: func(t *testing.T, d *Device, grid, block uint32) []any {
				return []any{racesAlloc(t, d, make([]uint32, 2*grid))}
			},
			hazard: raw("global_publish", "inter-block", "global"),
			checkFixed: func(t *testing.T, d *Device, args []any, grid, block uint32) {
				out := racesReadWords(t, d, args[0].(DevicePtr), int(2*grid))
				for b := range grid {
					if out[grid+b] != (42+b)*2 {
						t.Errorf("out[%d] = %d, want %d", grid+b, out[grid+b], (42+b)*2)
					}
				}
			},
		},
		{
			name: "atomic_scope", grid: 4, block: 64,
			args: func(t *testing.T, d *Device, grid, block uint32) []any {
				return []any{racesAlloc(t, d, []uint32{0})}
			},
			hazard: &racesHazard{Type: "WAW", Scope: "inter-block", Space: "global", atomic: mk("atomic_scope", "@atomic")},
			checkFixed: func(t *testing.T, d *Device, args []any, grid, block uint32) {
				if got := racesReadWords(t, d, args[0].(DevicePtr), 1)[0]; got != grid*block {
					t.Errorf("counter = %d, want %d", got, grid*block)
				}
			},
		},
		{
			name: "message_pass", grid: 2, block: 32,
			args: func(t *testing.T, d *Device, grid, block uint32) []any {
				return []any{racesAlloc(t, d, []uint32{0}), racesAlloc(t, d, []uint32{0}), racesAlloc(t, d, make([]uint32, grid))}
			},
			hazard: raw("message_pass", "inter-block", "global"),
			checkFixed: func(t *testing.T, d *Device, args []any, grid, block uint32) {
				if got := racesReadWords(t, d, args[2].(DevicePtr), int(grid))[1]; got != 1234 {
					t.Errorf("out[1] = %d, want 1234", got)
				}
			},
		},
	}
}

// TestRacesClassic runs each bug of races.cu and its fix under every
// scheduler with the checker on.
func TestRacesClassic(t *testing.T) {
	m, marks, src := racesModule(t)
	cases := racesCases(marks)
	// Every _bug kernel has a case and a _fixed twin, and its markers
	// are where the case looks for them.
	names := map[string]bool{}
	for _, c := range cases {
		names[c.name] = true
		bug := marks[c.name+"_bug"]
		if bug == nil {
			t.Fatalf("races.cu has no kernel %s_bug", c.name)
		}
		if _, ok := marks[c.name+"_fixed"]; !ok {
			t.Fatalf("races.cu has no kernel %s_fixed", c.name)
		}
		if len(marks[c.name+"_fixed"]) != 0 {
			t.Errorf("%s_fixed has markers %v; only bugs are marked", c.name, marks[c.name+"_fixed"])
		}
		if h := c.hazard; h != nil && len(h.atomic) == 0 && (len(h.writes) == 0 || len(h.reads) == 0) {
			t.Fatalf("%s_bug: markers for both sides missing: %v", c.name, bug)
		}
		if h := c.hazard; h != nil && len(h.atomic) == 0 && (h.writes[0] < h.reads[0]) != (h.Type == "RAW") {
			t.Fatalf("%s_bug: a %s bug whose markers are in the other order", c.name, h.Type)
		}
		if len(c.syncWant) > 0 && len(bug["@sync"]) == 0 {
			t.Fatalf("%s_bug: no @sync marker", c.name)
		}
	}
	for k := range marks {
		if n, ok := strings.CutSuffix(k, "_bug"); ok && !names[n] {
			t.Errorf("races.cu kernel %s has no test case", k)
		}
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range racesSchedules() {
				t.Run("bug/"+s.String(), func(t *testing.T) { racesBug(t, m, marks, src, c, s) })
				t.Run("fixed/"+s.String(), func(t *testing.T) { racesFixed(t, m, c, s) })
			}
		})
	}
}

func racesBug(t *testing.T, m *Module, marks map[string]map[string][]int, src *racesSrc, c racesCase, s racesSched) {
	kernel := c.name + "_bug"
	d := NewDevice()
	r, err := racesLaunch(t, m, d, kernel, c.grid, c.block, s, c.args(t, d, c.grid, c.block))
	if r.Clean() {
		t.Fatalf("clean report for a bug")
	}
	defer func() {
		if t.Failed() {
			racesLog(t, r)
		}
	}()
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Errorf("launch error %T %v, want a *CheckError", err, err)
	}
	racesCheckHazards(t, r, err, c.hazard, c.hazardOptional, src)

	// Sync errors: one of syncWant at an @sync line (or a deadlock),
	// nothing outside syncWant and syncAllow.
	ok := false
	for _, dg := range r.Sync {
		switch {
		case slices.Contains(c.syncWant, dg.Kind):
			if !src.at(dg.Site, marks[kernel]["@sync"]) {
				t.Errorf("sync error %s at %s, want at races.cu:%v", dg.Kind, dg.Site, marks[kernel]["@sync"])
				continue
			}
			if dg.Lanes&c.syncLanes != c.syncLanes {
				t.Errorf("sync error %s names lanes %#08x, want %#08x among them", dg.Kind, dg.Lanes, c.syncLanes)
				continue
			}
			if dg.Count < 1 {
				t.Errorf("sync error %s count %d", dg.Kind, dg.Count)
			}
			ok = true
		case slices.Contains(c.syncAllow, dg.Kind):
		default:
			t.Errorf("unexpected sync error %s", dg)
		}
	}
	var dl *DeadlockError
	switch {
	case r.Fatal == nil:
	case c.deadlockOK && errors.As(r.Fatal, &dl):
		ok = true
	default:
		t.Errorf("fatal error %T: %v", r.Fatal, r.Fatal)
	}
	if len(c.syncWant) > 0 {
		if !ok {
			t.Errorf("no sync error of kinds %v (or deadlock: %v)", c.syncWant, c.deadlockOK)
		}
		if len(r.Sync) > 0 {
			var se *SyncError
			if !errors.As(err, &se) {
				t.Errorf("errors.As(err, *SyncError) failed on %v", err)
			}
		}
	}

	// A racy read may find shared memory nobody wrote yet: allowed, at a
	// read marker only. Nothing else.
	reads := append(append([]int{}, marks[kernel]["@raw-read"]...), marks[kernel]["@war-read"]...)
	for _, dg := range r.Memory {
		if dg.Kind != "uninitialised-shared-read" || !src.at(dg.Site, reads) {
			t.Errorf("unexpected memory error %s", dg)
		}
	}
	for _, dg := range r.Other {
		t.Errorf("unexpected diagnostic %s", dg)
	}
}

func racesFixed(t *testing.T, m *Module, c racesCase, s racesSched) {
	kernel := c.name + "_fixed"
	d := NewDevice()
	args := c.args(t, d, c.grid, c.block)
	r, err := racesLaunch(t, m, d, kernel, c.grid, c.block, s, args)
	if !r.Clean() || err != nil {
		racesLog(t, r)
		t.Fatalf("fixed kernel: error %v", err)
	}
	if c.checkFixed != nil {
		c.checkFixed(t, d, args, c.grid, c.block)
	}
}

// --- the racy twins of kernels/ ---

// racesSourceLines finds the lines of kernels/<source> that contain text.
func racesSourceLines(t *testing.T, source, text string) []int {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "kernels", source))
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for i, line := range strings.Split(string(src), "\n") {
		if strings.Contains(line, text) {
			out = append(out, i+1)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no line contains %q", source, text)
	}
	return out
}

// TestRacesKernelTwins: the racy twins of the kernels package are reported
// with the right hazard and both CUDA lines under every scheduler, and
// divergent_syncwarp deadlocks.
func TestRacesKernelTwins(t *testing.T) {
	const block = 64
	handoffArgs := func(t *testing.T, d *Device) []any {
		in := make([]uint32, block)
		for i := range in {
			in[i] = uint32(i) * 2654435761
		}
		return []any{racesAlloc(t, d, in), racesAlloc(t, d, make([]uint32, block)), uint32(block)}
	}
	pingpongArgs := func(t *testing.T, d *Device) []any {
		const nitems = 4 // two per warp: the buffer is reused
		in := make([]uint32, nitems*16)
		for i := range in {
			in[i] = uint32(i)*40503 + 1
		}
		return []any{racesAlloc(t, d, in), racesAlloc(t, d, make([]uint32, nitems*16)), uint32(nitems)}
	}
	twins := []struct {
		name        string
		typ         string
		write, read string // text of the racing statements in the source
		args        func(t *testing.T, d *Device) []any
	}{
		{"lane_handoff_nosync", "RAW", "*slot = produce(x)", "const unsigned t = *slot;", handoffArgs},
		{"lane_handoff_badmask", "RAW", "*slot = produce(x)", "const unsigned t = *slot;", handoffArgs},
		{"pingpong_war", "WAR", "buf[k % kBuffers][j] = produce(", "out[item * kHalf + j] = b[j] + rotl(", pingpongArgs},
	}
	seen := map[string]bool{}
	for _, tw := range twins {
		seen[tw.name] = true
		k, ok := kernels.Lookup(tw.name)
		if !ok || k.Expect != kernels.ExpectRace {
			t.Fatalf("%s is not a racy twin in the catalogue", tw.name)
		}
		m, err := LoadKernel(tw.name)
		if err != nil {
			t.Fatal(err)
		}
		src := racesParsePTX(k.Source, string(k.PTX()))
		want := &racesHazard{
			Type: tw.typ, Scope: "intra-warp", Space: "shared",
			writes: racesSourceLines(t, k.Source, tw.write),
			reads:  racesSourceLines(t, k.Source, tw.read),
		}
		t.Run(tw.name, func(t *testing.T) {
			t.Parallel()
			for _, s := range racesSchedules() {
				t.Run(s.String(), func(t *testing.T) {
					d := NewDevice()
					r, err := racesLaunch(t, m, d, tw.name, 1, block, s, tw.args(t, d))
					defer func() {
						if t.Failed() {
							racesLog(t, r)
						}
					}()
					if r.Fatal != nil || len(r.Sync) > 0 || len(r.Other) > 0 {
						t.Errorf("want hazards only; fatal %v, sync %v, other %v", r.Fatal, r.Sync, r.Other)
					}
					racesCheckHazards(t, r, err, want, false, src)
					for _, dg := range r.Memory {
						if dg.Kind != "uninitialised-shared-read" || !src.at(dg.Site, want.reads) {
							t.Errorf("unexpected memory error %s", dg)
						}
					}
				})
			}
		})
	}
	t.Run("divergent_syncwarp", func(t *testing.T) {
		t.Parallel()
		m, err := LoadKernel("divergent_syncwarp")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range racesSchedules() {
			t.Run(s.String(), func(t *testing.T) {
				d := NewDevice()
				r, err := racesLaunch(t, m, d, "divergent_syncwarp", 1, block, s, []any{racesAlloc(t, d, make([]uint32, block))})
				var dl *DeadlockError
				if !errors.As(r.Fatal, &dl) {
					racesLog(t, r)
					t.Fatalf("Report.Fatal = %T %v, want a *DeadlockError", r.Fatal, r.Fatal)
				}
				if !errors.As(err, &dl) {
					t.Errorf("errors.As(err, *DeadlockError) failed on %T %v", err, err)
				}
			})
		}
	})
	// Every racy twin of the catalogue is covered here, or, for the
	// asynchronous pipeline's, in async_kernels_test.go.
	for _, k := range kernels.All() {
		if k.Expect == kernels.ExpectRace && !seen[k.Name] && !strings.HasPrefix(k.Name, "async_pipeline_") {
			t.Errorf("racy twin %s has no case in TestRacesKernelTwins", k.Name)
		}
	}
}
