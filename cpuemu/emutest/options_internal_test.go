package emutest

import (
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// nameTB is a TB with a name and cleanups, for the options' bookkeeping.
type nameTB struct {
	testing.TB
	name     string
	cleanups []func()
}

func (n *nameTB) Name() string        { return n.name }
func (n *nameTB) Helper()             {}
func (n *nameTB) Cleanup(f func())    { n.cleanups = append(n.cleanups, f) }
func (n *nameTB) Logf(string, ...any) {}

// warningReport has one finding: a warning hazard (3 occurrences).
func warningReport() *cpuemu.Report {
	site := cpuemu.Site{Loc: "k.cu:5", Func: "k"}
	return &cpuemu.Report{Kernel: "k", Hazards: []cpuemu.Hazard{{Type: "RAW", Scope: "intra-warp", Space: "shared", Count: 3,
		Severity: cpuemu.SeverityWarning, Prior: cpuemu.Access{Site: site}, Later: cpuemu.Access{Site: site}}}}
}

// A warning fails a launch only under WarningsAsErrors, set on the test
// or a parent; a suppressed warning fails nothing, and its rule is
// credited.
func TestWarningLevel(t *testing.T) {
	p := &nameTB{name: "TestWarn"}
	c := &nameTB{name: "TestWarn/sub"}
	if failLevel(c) != cpuemu.SeverityError || warningReport().ErrAt(failLevel(c)) != nil {
		t.Errorf("a warning fails a test without WarningsAsErrors")
	}
	WarningsAsErrors(p)
	if failLevel(c) != cpuemu.SeverityWarning || warningReport().ErrAt(failLevel(c)) == nil {
		t.Errorf("WarningsAsErrors on the parent: the subtest's level is %v", failLevel(c))
	}
	Suppress(c, "severity=warning file=k.cu")
	rep := applyOptions(c, warningReport())
	if len(rep.Hazards) != 0 || rep.ErrAt(failLevel(c)) != nil {
		t.Errorf("the suppressed warning is still there: %+v", rep.Hazards)
	}
	if o := optionsOf(c); o.hits[0] != 1 {
		t.Errorf("the rule was credited with %d findings, want 1", o.hits[0])
	}
	for _, tb := range []*nameTB{c, p} {
		for i := len(tb.cleanups) - 1; i >= 0; i-- {
			tb.cleanups[i]()
		}
	}
	if failLevel(c) != cpuemu.SeverityError || len(optionsFor(c)) != 0 {
		t.Errorf("the options outlived their tests")
	}
}
