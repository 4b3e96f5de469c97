package cpuemu_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// The checker's warnings, on nvcc 11.8's output of
// testdata/schedule/schedule.cu (see its README): what each kernel must
// give is derived from the CUDA source and the PTX memory model, not from
// the checker's output.

var (
	schedOnce sync.Once
	schedSrc  string
	schedCU   string
)

func schedModule(t *testing.T) *cpuemu.Module {
	t.Helper()
	schedOnce.Do(func() {
		b, _ := os.ReadFile("testdata/schedule/schedule.ptx")
		schedSrc = string(b)
		c, _ := os.ReadFile("testdata/schedule/schedule.cu")
		schedCU = string(c)
	})
	if schedSrc == "" || schedCU == "" {
		t.Fatal("testdata/schedule: schedule.ptx or schedule.cu missing")
	}
	return ptLoad(t, "schedule.ptx", schedSrc)
}

// schedMarked lists the schedule.cu lines that end with marker.
func schedMarked(marker string) map[int]bool {
	out := map[int]bool{}
	for i, l := range strings.Split(schedCU, "\n") {
		if strings.HasSuffix(strings.TrimSpace(l), marker) {
			out[i+1] = true
		}
	}
	return out
}

var schedLocRE = regexp.MustCompile(`^(\S+):(\d+)$`)

// schedLoc splits a site's CUDA location into file and line.
func schedLoc(s cpuemu.Site) (string, int) {
	m := schedLocRE.FindStringSubmatch(s.Loc)
	if m == nil {
		return "", 0
	}
	n, _ := strconv.Atoi(m[2])
	return m[1], n
}

func schedLaunch(t *testing.T, m *cpuemu.Module, kernel string, cfg cpuemu.LaunchConfig, in []uint32, outWords int, extra ...any) (*cpuemu.Result, []uint32, error) {
	t.Helper()
	d := cpuemu.NewDevice()
	pin := ptBuf(t, d, 4*max(len(in), 1), ptBytes(in...))
	pout := ptBuf(t, d, 4*outWords, nil)
	args := []any{pin, pout}
	if kernel == "tile_sync_only" || kernel == "block_sync_half_exits" {
		args = []any{pout}
	}
	res, err := m.Launch(d, kernel, cfg, append(args, extra...)...)
	if cfg.Check && (res == nil || res.Report == nil) {
		t.Fatalf("%s: no report: %v", kernel, err)
	}
	return res, ptWords(ptRead(t, d, pout, 4*outWords)), err
}

func schedText(r *cpuemu.Report) string {
	var b strings.Builder
	r.WriteText(&b)
	return b.String()
}

// The legacy reduction: every finding is a warning that its reads of a
// neighbour's slot (the @sched lines) race with that neighbour's
// volatile update, morally strong and unordered, the value read being
// added and stored; nothing is an error. With __syncwarp between reads
// and writes, nothing at all.
func TestCheckerScheduleDependentWarning(t *testing.T) {
	m := schedModule(t)
	in := make([]uint32, 64)
	sum := uint32(0)
	for i := range in {
		in[i] = uint32(1) << (i % 16) // distinct partial sums: a lost update shows
		sum += in[i]
	}
	sched := schedMarked("// @sched")
	if len(sched) != 5 {
		t.Fatalf("schedule.cu: %d @sched lines, want 5", len(sched))
	}
	for _, s := range ptSchedules() {
		cfg := s.cfg(ptD1(1), ptD1(32))
		cfg.Check = true
		res, _, err := schedLaunch(t, m, "legacy_reduce", cfg, in, 1)
		rep := res.Report
		if err != nil || !rep.Clean() || len(rep.Hazards) == 0 {
			t.Fatalf("%s: want warnings only, got %v\n%s", s, err, schedText(rep))
		}
		for _, h := range rep.Hazards {
			_, pl := schedLoc(h.Prior.Site)
			_, ll := schedLoc(h.Later.Site)
			if h.Severity != cpuemu.SeverityWarning || h.Reason != cpuemu.ReasonScheduleDependent || h.Scope != "intra-warp" || !sched[pl] || !sched[ll] {
				t.Errorf("%s: unexpected hazard %v (severity %s, reason %q)", s, &h, h.Severity, h.Reason)
			}
		}
		if !strings.Contains(schedText(rep), "Warning: Race reported") || strings.Contains(schedText(rep), "Error: Race") {
			t.Errorf("%s: the text report must head each hazard Warning:\n%s", s, schedText(rep))
		}
		res, out, err := schedLaunch(t, m, "legacy_reduce_fixed", cfg, in, 1)
		if err != nil || len(res.Report.Hazards) != 0 || out[0] != sum {
			t.Errorf("%s: fixed: out %d (want %d), %v\n%s", s, out[0], sum, err, schedText(res.Report))
		}
	}

	// The schedule search reproduces the warning as a differing output:
	// lockstep runs each step's loads before its stores and sums right.
	run := func(s cpuemu.Schedule) ([]byte, error) {
		cfg := s.Config(cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)})
		_, out, err := schedLaunch(t, m, "legacy_reduce", cfg, in, 1)
		return ptBytes(out...), err
	}
	sr, err := cpuemu.SearchSchedules(8, run)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(sr.Reference); got != sum {
		t.Errorf("lockstep sum %d, want %d", got, sum)
	}
	if !sr.Found || !sr.Replayed || bytes.Equal(sr.Output, sr.Reference) {
		t.Errorf("search: found %v replayed %v: want a schedule whose sum differs from %d", sr.Found, sr.Replayed, sum)
	}
}

// CUDA's own synchronisation gives no finding: a multi-warp tile's sync
// (atomicOr and a volatile spin whose value only decides the loop) and
// the grid sync (atom.add.release.gpu, a volatile spin, ld.acquire.gpu).
func TestCheckerSynchronisationSilent(t *testing.T) {
	m := schedModule(t)
	for _, s := range ptSchedules() {
		cfg := s.cfg(ptD1(2), ptD1(256))
		cfg.Check = true
		res, out, err := schedLaunch(t, m, "tile_sync_only", cfg, nil, 512, int32(3))
		if err != nil || len(res.Report.Hazards) != 0 || len(res.Diagnostics) != 0 {
			t.Errorf("%s: tile sync: want no finding, got %v\n%s", s, err, schedText(res.Report))
		}
		for i, g := range out {
			if want := uint32(3 * (i % 256 % 128)); g != want {
				t.Fatalf("%s: out[%d] = %d, want %d", s, i, g, want)
			}
		}
	}
	cm := coopModule(t)
	for _, s := range cpuemu.Schedulers() {
		d := cpuemu.NewDevice()
		in := coopInput(256, 256)
		pin := ptBuf(t, d, 4*256, ptBytes(in...))
		tmp, out := ptBuf(t, d, 4*256, nil), ptBuf(t, d, 4*256, nil)
		res, err := cm.Launch(d, "shift", coopCfg(4, 64, s, true), pin, tmp, out, int32(256))
		if err != nil || res.Report == nil || len(res.Report.Hazards) != 0 {
			t.Errorf("%s: grid sync: want no finding, got %v", s, err)
		}
	}
}

// CUDA 11.8's experimental multi-warp cg::reduce (a tile of 128 threads,
// block_tile_memory) on 64 blocks of 256 threads: right on every
// schedule, and no error-level finding. Per the PTX memory model it has
// data races (RATIONALE.md, "Warnings: ..."): each warp's lanes all store
// the warp's sum to its slot (reduce.h:279), weak writes unordered with
// each other (§8.7.1), but of the same value, so the outcome does not
// depend on their order (ReasonSameValue); and the warps hand their slots
// to the last warp and back through relaxed atomicOr/atomicAnd and a
// volatile spin with no fence, which gives no synchronizes-with edge
// (§8.8, §8.9.4): those races are warnings with ReasonRelaxedHandoff.
func TestCheckerMultiWarpReduce(t *testing.T) {
	m := schedModule(t)
	const blocks, threads = 64, 256
	in := make([]uint32, blocks*threads)
	for i := range in {
		in[i] = uint32(i*7 + 3)
	}
	scheds := []ptSched{ptSchedules()[0], {cpuemu.Adversarial, 5}, {cpuemu.Random, 2}}
	for _, s := range scheds {
		cfg := s.cfg(ptD1(blocks), ptD1(threads))
		cfg.Check = true
		res, out, err := schedLaunch(t, m, "tile_reduce", cfg, in, blocks*threads/128)
		rep := res.Report
		if err != nil || !rep.Clean() {
			t.Fatalf("%s: want no error-level finding, got %v\n%s", s, err, schedText(rep))
		}
		for j, g := range out {
			var want uint32
			for _, x := range in[128*j : 128*j+128] {
				want += x
			}
			if g != want {
				t.Fatalf("%s: tile %d sum %d, want %d", s, j, g, want)
			}
		}
		same, handoff := 0, 0
		for _, h := range rep.Hazards {
			pf, pl := schedLoc(h.Prior.Site)
			lf, ll := schedLoc(h.Later.Site)
			switch {
			case h.Severity != cpuemu.SeverityWarning:
				t.Errorf("%s: %v is not a warning", s, &h)
			case h.Reason == cpuemu.ReasonSameValue:
				// Every lane of a warp stores the warp's sum to its slot.
				if h.Type != "WAW" || h.Scope != "intra-warp" || pf != "reduce.h" || pl != 279 || lf != "reduce.h" || ll != 279 {
					t.Errorf("%s: same-value warning %v: want the WAW of reduce.h:279 within a warp", s, &h)
				}
				same++
			case h.Reason == cpuemu.ReasonRelaxedHandoff:
				if h.Scope != "inter-warp" {
					t.Errorf("%s: handoff warning %v: want inter-warp", s, &h)
				}
				handoff++
			default:
				t.Errorf("%s: unexpected reason %q on %v", s, h.Reason, &h)
			}
		}
		if same != 1 || handoff == 0 {
			t.Errorf("%s: %d same-value and %d handoff warnings, want 1 and some\n%s", s, same, handoff, schedText(rep))
		}
	}
}

// cg::this_thread_block().sync() is a barrier.sync without .aligned: when
// the upper half of a block of 128 returns, the lower half's sync still
// completes (the PTX counts only threads that have not exited), and the
// checker warns that every thread of the group must call sync().
func TestCheckerBarrierExitedThreads(t *testing.T) {
	m := schedModule(t)
	for _, s := range ptSchedules() {
		cfg := s.cfg(ptD1(1), ptD1(128))
		cfg.Check = true
		res, out, err := schedLaunch(t, m, "block_sync_half_exits", cfg, nil, 128)
		if err != nil || !res.Report.Clean() {
			t.Fatalf("%s: want a clean report (a warning only), got %v", s, err)
		}
		d := ptDiag(t, res, "barrier-exited-threads")
		if d.Severity != cpuemu.SeverityWarning && d.Severity != 0 {
			t.Errorf("%s: severity %s, want warning", s, d.Severity)
		}
		if len(res.Report.Sync) != 1 || res.Report.Sync[0].Severity != cpuemu.SeverityWarning || res.Report.Sync[0].Lanes != ^uint32(0) || res.Report.Sync[0].Warp < 2 {
			t.Errorf("%s: want one warning naming a whole warp of the upper half, got %v", s, res.Report.Sync)
		}
		if !strings.Contains(res.Report.Sync[0].Site.Instr, "bar") {
			t.Errorf("%s: site %v is not the barrier", s, res.Report.Sync[0].Site)
		}
		for i, g := range out {
			want := uint32(2)
			if i >= 64 {
				want = 0
			}
			if g != want {
				t.Fatalf("%s: out[%d] = %d, want %d", s, i, g, want)
			}
		}
	}
}
