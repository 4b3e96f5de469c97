package emutest

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// Options a test sets for its own launches and its subtests': findings to
// leave out of the reports (Suppress, SuppressFile), and warnings that
// fail the test (WarningsAsErrors). They hold until the test that set
// them ends, subtests included.

// testOptions are what one test set.
type testOptions struct {
	mu               sync.Mutex
	rules            *cpuemu.Suppressions
	hits             []int // per rule: findings it removed, over every launch
	warningsAsErrors bool
}

var (
	optionsMu sync.Mutex
	options   = map[string]*testOptions{} // by test name, while the test runs
)

// optionsOf is t's own options, made (and dropped when t ends) on first
// use. At the end it logs each rule that removed nothing, as the
// CLI's report warns about them.
func optionsOf(t testing.TB) *testOptions {
	optionsMu.Lock()
	defer optionsMu.Unlock()
	if o, ok := options[t.Name()]; ok {
		return o
	}
	o := &testOptions{rules: &cpuemu.Suppressions{}}
	options[t.Name()] = o
	t.Cleanup(func() {
		optionsMu.Lock()
		delete(options, t.Name())
		optionsMu.Unlock()
		o.mu.Lock()
		defer o.mu.Unlock()
		for i, r := range o.rules.Rules {
			if o.hits[i] == 0 {
				t.Logf("emutest: warning: suppression %s matched nothing in %s: %s", r.Source, t.Name(), r.Text)
			}
		}
	})
	return o
}

// optionsFor is the options in force for t: its own and its parents'
// (a subtest's name is its parent's, "/", its own), outermost first.
func optionsFor(t testing.TB) []*testOptions {
	optionsMu.Lock()
	defer optionsMu.Unlock()
	if len(options) == 0 {
		return nil // and a stand-in TB without a Name works as before
	}
	var out []*testOptions
	name := t.Name()
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '/' {
			if o, ok := options[name[:i]]; ok {
				out = append(out, o)
			}
		}
	}
	return out
}

// Suppress leaves out of the reports of t's launches, and of its
// subtests', the findings the rules match. Each argument is one or more
// lines of a suppression file (docs/suppressions.md), for example
//
//	emutest.Suppress(t, "kind=WAW file=cooperative_groups/details/reduce.h lines=270-290 space=shared")
//
// A bad rule fails the test. When t ends, each rule that matched nothing
// in any launch is logged.
func Suppress(t testing.TB, rules ...string) {
	t.Helper()
	name := "Suppress"
	if _, file, line, ok := runtime.Caller(1); ok {
		name = fmt.Sprintf("Suppress@%s:%d", filepath.Base(file), line)
	}
	s, err := cpuemu.ParseSuppressions(name, []byte(strings.Join(rules, "\n")))
	if err != nil {
		t.Fatalf("emutest: %v", err)
		return
	}
	addRules(t, s)
}

// SuppressFile is Suppress with the rules of a suppression file (a
// relative path is relative to the test's package directory).
func SuppressFile(t testing.TB, path string) {
	t.Helper()
	s, err := cpuemu.LoadSuppressions(path)
	if err != nil {
		t.Fatalf("emutest: %v", err)
		return
	}
	addRules(t, s)
}

func addRules(t testing.TB, s *cpuemu.Suppressions) {
	t.Helper()
	o := optionsOf(t)
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.rules.Add(s); err != nil {
		t.Fatalf("emutest: %v", err)
		return
	}
	o.hits = append(o.hits, make([]int, len(s.Rules))...)
}

// WarningsAsErrors makes Launch fail t, and its subtests, on a report
// with warnings too (a schedule-dependent access, a broken
// cooperative-groups rule), not only on errors.
func WarningsAsErrors(t testing.TB) {
	o := optionsOf(t)
	o.mu.Lock()
	o.warningsAsErrors = true
	o.mu.Unlock()
}

// applyOptions gives the report with t's suppressions applied, crediting
// each rule with what it removed.
func applyOptions(t testing.TB, rep *cpuemu.Report) *cpuemu.Report {
	chain := optionsFor(t)
	all := &cpuemu.Suppressions{}
	counts := make([]int, len(chain)) // each test's rules now: more may come meanwhile
	for i, o := range chain {
		o.mu.Lock()
		all.Rules = append(all.Rules, o.rules.Rules...)
		counts[i] = len(o.rules.Rules)
		o.mu.Unlock()
	}
	if len(all.Rules) == 0 {
		return rep
	}
	out := rep.Suppress(all)
	uses := out.Suppressions[len(rep.Suppressions):]
	for i, o := range chain {
		o.mu.Lock()
		for k := range counts[i] {
			o.hits[k] += uses[k].Findings
		}
		o.mu.Unlock()
		uses = uses[counts[i]:]
	}
	return out
}

// failLevel is the least severity that fails a launch of t.
func failLevel(t testing.TB) cpuemu.Severity {
	for _, o := range optionsFor(t) {
		o.mu.Lock()
		w := o.warningsAsErrors
		o.mu.Unlock()
		if w {
			return cpuemu.SeverityWarning
		}
	}
	return cpuemu.SeverityError
}
