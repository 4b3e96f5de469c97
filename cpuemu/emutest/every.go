package emutest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// EverySchedule's subtests share what they have reported, so that a bug
// found under seven schedules is printed once, not seven times: a
// subtest's failing launch prints in full only the findings no sibling
// has printed, names the subtest that printed the others, and when the
// test ends it lists each finding once with the schedules that hit it.

// everyRun is one EverySchedule call's findings so far.
type everyRun struct {
	mu     sync.Mutex
	m      *merger
	shown  map[findingKey]string // the subtest that printed each finding
	failed bool
}

var (
	everyMu   sync.Mutex
	everyRuns = map[string]*everyRun{} // by the name of EverySchedule's test
)

// startEvery registers t's run of EverySchedule; its cleanup logs the
// summary of what the subtests found, when more than one reported.
func startEvery(t *testing.T) {
	run := &everyRun{m: newMerger(), shown: map[findingKey]string{}}
	everyMu.Lock()
	everyRuns[t.Name()] = run
	everyMu.Unlock()
	t.Cleanup(func() {
		everyMu.Lock()
		delete(everyRuns, t.Name())
		everyMu.Unlock()
		run.mu.Lock()
		defer run.mu.Unlock()
		r := run.m.finish()
		if !run.failed || len(r.Findings) == 0 {
			return
		}
		var b strings.Builder
		fmt.Fprintf(&b, "emutest: %d distinct finding%s in the %d schedule%s that failed:\n", len(r.Findings), plural(len(r.Findings)), len(r.Schedules), plural(len(r.Schedules)))
		for i, f := range r.Findings {
			fmt.Fprintf(&b, "  %d. %s %s: %s\n", i+1, f.Severity, f.What, f.hitText(len(r.Schedules)))
		}
		t.Log(strings.TrimRight(b.String(), "\n"))
	})
}

// everyOf is the EverySchedule run t is a subtest of, or nil.
func everyOf(t testing.TB) *everyRun {
	name := t.Name()
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return nil
	}
	everyMu.Lock()
	defer everyMu.Unlock()
	return everyRuns[name[:i]]
}

// failureText is the report a failing launch of t prints: in full, or,
// in a subtest of EverySchedule, only the findings no sibling printed.
func failureText(t testing.TB, s Schedule, rep *cpuemu.Report) string {
	run := everyOf(t)
	if run == nil {
		return reportText(rep)
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	run.failed = true
	all := run.m.r.Report
	h0, s0, m0, o0, n0, fatal0 := len(all.Hazards), len(all.Sync), len(all.Memory), len(all.Other), len(all.Notes), all.Fatal
	keys := run.m.add(s, rep)
	fresh := &cpuemu.Report{Kernel: rep.Kernel, Hazards: all.Hazards[h0:], Sync: all.Sync[s0:], Memory: all.Memory[m0:],
		Other: all.Other[o0:], Notes: all.Notes[n0:]}
	if fatal0 == nil && all.Fatal != nil {
		fresh.Fatal = all.Fatal
	}
	// Which sibling printed the findings this run repeats.
	var before []string
	seen := map[string]bool{}
	for _, k := range keys {
		if by, ok := run.shown[k]; !ok {
			run.shown[k] = t.Name()
		} else if by != t.Name() && !seen[by] {
			seen[by] = true
			before = append(before, by)
		}
	}
	if len(before) == 0 {
		return reportText(rep)
	}
	repeated := fmt.Sprintf("(the rest as %s printed; the test's log lists every schedule that hit each finding)", strings.Join(before, ", "))
	if fresh.Fatal == nil && len(fresh.Hazards)+len(fresh.Sync)+len(fresh.Memory)+len(fresh.Other)+len(fresh.Notes) == 0 {
		return "the same findings as " + strings.Join(before, ", ") + " printed; the test's log lists every schedule that hit each"
	}
	return "findings no other schedule printed:\n" + reportText(fresh) + "\n" + repeated
}
