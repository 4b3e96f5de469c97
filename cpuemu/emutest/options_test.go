package emutest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu/emutest"
)

// optTB is a fakeTB with a name and cleanups, which emutest's options
// need; cleanup runs them as testing does at the end of a test.
type optTB struct {
	*fakeTB
	name     string
	cleanups []func()
}

func (o *optTB) Name() string     { return o.name }
func (o *optTB) Cleanup(f func()) { o.cleanups = append(o.cleanups, f) }
func (o *optTB) cleanup() {
	for i := len(o.cleanups) - 1; i >= 0; i-- {
		o.cleanups[i]()
	}
	o.cleanups = nil
}

// runOpt runs body with an optTB named name in its own goroutine (so
// that Fatal can end it), then its cleanups.
func runOpt(name string, body func(t *optTB)) *optTB {
	o := &optTB{fakeTB: &fakeTB{}, name: name}
	runFake(func(testing.TB) { body(o) })
	o.cleanup()
	return o
}

// lane_handoff_nosync's one finding is a RAW on shared memory in the
// kernel itself (kernels/handoff.cu:56 and 66), so a rule by kind, by
// function or by file and lines removes it and Launch passes.
func TestSuppressPasses(t *testing.T) {
	for _, rule := range []string{
		"kind=RAW",
		"func=lane_handoff_nosync",
		"file=kernels/handoff.cu lines=56-66 space=shared",
	} {
		o := runOpt("TestX", func(tb *optTB) {
			emutest.Suppress(tb, rule)
			if _, _, res := handoff(tb, emutest.Launch, "lane_handoff_nosync", emutest.Config(1, 64), 300); res == nil || len(res.Report.Hazards) != 0 {
				tb.Errorf("Launch gave %v", res)
			}
		})
		if o.Failed() || strings.Contains(o.text(), "matched nothing") {
			t.Errorf("%s: the suppressed race failed the test, or the rule was not counted:\n%s", rule, o.text())
		}
	}
	// A rule that misses (another kind, a line range without the write)
	// leaves the race, and Launch fails; the rule is logged at the end.
	for _, rule := range []string{"kind=WAR", "file=kernels/handoff.cu lines=57-66"} {
		o := runOpt("TestX", func(tb *optTB) {
			emutest.Suppress(tb, rule)
			handoff(tb, emutest.Launch, "lane_handoff_nosync", emutest.Config(1, 64), 300)
		})
		if !o.Failed() || !strings.Contains(o.text(), "Race reported") {
			t.Errorf("%s: Launch passed the race:\n%s", rule, o.text())
		}
		if !strings.Contains(o.text(), "emutest: warning: suppression Suppress@options_test.go:") ||
			!strings.Contains(o.text(), "matched nothing in TestX: "+rule) {
			t.Errorf("%s: no warning for the rule that matched nothing:\n%s", rule, o.text())
		}
	}
}

// A parent's rules hold in its subtests (whose names extend the parent's
// with "/"), and end with the parent; another test's do not.
func TestSuppressSubtests(t *testing.T) {
	parent := &optTB{fakeTB: &fakeTB{}, name: "TestP"}
	runFake(func(testing.TB) { emutest.Suppress(parent, "kind=RAW") })
	for _, c := range []struct {
		name string
		fail bool
	}{{"TestP/lockstep", false}, {"TestP/a/b", false}, {"TestPx", true}, {"TestQ/lockstep", true}} {
		o := runOpt(c.name, func(tb *optTB) {
			handoff(tb, emutest.Launch, "lane_handoff_nosync", emutest.Config(1, 64), 300)
		})
		if o.Failed() != c.fail {
			t.Errorf("%s under TestP's rules: failed %v, want %v\n%s", c.name, o.Failed(), c.fail, o.text())
		}
	}
	parent.cleanup()
	if strings.Contains(parent.text(), "matched nothing") {
		t.Errorf("the subtests' matches were not credited to the parent's rule:\n%s", parent.text())
	}
	o := runOpt("TestP/after", func(tb *optTB) {
		handoff(tb, emutest.Launch, "lane_handoff_nosync", emutest.Config(1, 64), 300)
	})
	if !o.Failed() {
		t.Errorf("TestP's rules outlived it")
	}
}

// Bad rules, and files, fail the test where they are given.
func TestSuppressBad(t *testing.T) {
	o := runOpt("TestB", func(tb *optTB) { emutest.Suppress(tb, "kind=RAW", "kind=RAX") })
	if !o.Failed() || !strings.Contains(o.text(), `options_test.go:`) || !strings.Contains(o.text(), `:2: kind "RAX"`) {
		t.Errorf("bad rule: %s", o.text())
	}
	p := filepath.Join(t.TempDir(), "r.supp")
	if err := os.WriteFile(p, []byte("# ok\nscope=warp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o = runOpt("TestB", func(tb *optTB) { emutest.SuppressFile(tb, p) })
	if !o.Failed() || !strings.Contains(o.text(), p+`:2: scope "warp"`) {
		t.Errorf("bad file: %s", o.text())
	}
	good := filepath.Join(t.TempDir(), "g.supp")
	if err := os.WriteFile(good, []byte("kind=RAW func=lane_handoff_*\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o = runOpt("TestB", func(tb *optTB) {
		emutest.SuppressFile(tb, good)
		handoff(tb, emutest.Launch, "lane_handoff_nosync", emutest.Config(1, 64), 300)
	})
	if o.Failed() {
		t.Errorf("SuppressFile: %s", o.text())
	}
}

// WarningsAsErrors leaves a clean kernel passing (which kernels warn is
// the checker's; options_internal_test.go holds a warning to it).
func TestWarningsAsErrorsClean(t *testing.T) {
	o := runOpt("TestW", func(tb *optTB) {
		emutest.WarningsAsErrors(tb)
		handoff(tb, emutest.Launch, "lane_handoff", emutest.Config(1, 64), 300)
	})
	if o.Failed() {
		t.Errorf("%s", o.text())
	}
}
