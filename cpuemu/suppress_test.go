package cpuemu_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// suppressionReport is a report built by hand, with sites as nvcc's debug
// lines give them:
//
//	h-user   RAW intra-warp shared, error, races.cu:55 -> races.cu:58 in kernel k (2 occurrences)
//	h-reduce WAW inter-warp shared, warning, both sites in
//	         /usr/local/cuda/include/cooperative_groups/details/reduce.h (lines 279 and 284),
//	         inlined from cooperative_groups::__v1::details::load_env_reg64<1u, 2u>() (100)
//	h-mixed  RAW inter-block global, error, k.cu:10 (kernel k) -> a site whose user line is
//	         k.cu:12 and whose header line is cooperative_groups.h:1450 (7)
//	d-sync   mask-excludes-self, error, races.cu:57 in header sm_30_intrinsics.hpp:110,
//	         inlined from _INTERNAL_095c582c_8_races_cu_480064a1::__syncwarp(unsigned int) (2)
//	d-mem    uninitialised-shared-read, error, k.cu:20 (3)
//	d-note   printf-buffer-full, info, k.cu:30 (1)
//
// The mangled names spell those functions by the Itanium ABI: N...E a
// nested name of length-prefixed parts, I...E template arguments (Lj1E:
// the unsigned literal 1), y unsigned long long, v no parameters, j
// unsigned int.
func suppressionReport() *cpuemu.Report {
	const (
		reduce = "/usr/local/cuda/include/cooperative_groups/details/reduce.h"
		envReg = "_ZN18cooperative_groups4__v17details14load_env_reg64ILj1ELj2EEEyv"
		syncw  = "_ZN38_INTERNAL_095c582c_8_races_cu_480064a110__syncwarpEj"
	)
	acc := func(s cpuemu.Site) cpuemu.Access { return cpuemu.Access{Kind: "Write", Site: s} }
	diag := func(kind string, sev cpuemu.Severity, count int, s cpuemu.Site) cpuemu.Diagnostic {
		return cpuemu.Diagnostic{Kind: kind, Site: s, Count: count, Severity: sev}
	}
	return &cpuemu.Report{
		Kernel: "k",
		Hazards: []cpuemu.Hazard{
			{Type: "RAW", Scope: "intra-warp", Space: "shared", Count: 2, Severity: cpuemu.SeverityError,
				Prior: acc(cpuemu.Site{Loc: "races.cu:55", Func: "k"}), Later: acc(cpuemu.Site{Loc: "races.cu:58", Func: "k"})},
			{Type: "WAW", Scope: "inter-warp", Space: "shared", Count: 100, Severity: cpuemu.SeverityWarning,
				Prior: acc(cpuemu.Site{Loc: reduce + ":279", Func: "k", InlinedFunc: envReg}), Later: acc(cpuemu.Site{Loc: reduce + ":284", Func: "k", InlinedFunc: envReg})},
			{Type: "RAW", Scope: "inter-block", Space: "global", Count: 7, Severity: cpuemu.SeverityError,
				Prior: acc(cpuemu.Site{Loc: "k.cu:10", Func: "k"}), Later: acc(cpuemu.Site{Loc: "k.cu:12", Header: "cooperative_groups.h:1450", Func: "k"})},
		},
		Sync:   []cpuemu.Diagnostic{diag("mask-excludes-self", cpuemu.SeverityError, 2, cpuemu.Site{Loc: "races.cu:57", Header: "sm_30_intrinsics.hpp:110", Func: "k", InlinedFunc: syncw})},
		Memory: []cpuemu.Diagnostic{diag("uninitialised-shared-read", cpuemu.SeverityError, 3, cpuemu.Site{Loc: "k.cu:20", Func: "k"})},
		Other:  []cpuemu.Diagnostic{},
		Notes:  []cpuemu.Diagnostic{diag("printf-buffer-full", cpuemu.SeverityInfo, 1, cpuemu.Site{Loc: "k.cu:30", Func: "k"})},
	}
}

// left names what a report still holds, in suppressionReport's names.
func left(r *cpuemu.Report) string {
	var names []string
	for _, h := range r.Hazards {
		switch {
		case h.Type == "WAW":
			names = append(names, "h-reduce")
		case h.Space == "shared":
			names = append(names, "h-user")
		default:
			names = append(names, "h-mixed")
		}
	}
	for range r.Sync {
		names = append(names, "d-sync")
	}
	for range r.Memory {
		names = append(names, "d-mem")
	}
	for range r.Notes {
		names = append(names, "d-note")
	}
	return strings.Join(names, " ")
}

const everything = "h-user h-reduce h-mixed d-sync d-mem d-note"

// TestSuppressMatch: one rule at a time, what it removes, and how many
// findings and occurrences it is credited with (derived from the table
// of suppressionReport).
func TestSuppressMatch(t *testing.T) {
	for _, c := range []struct {
		rule        string
		left        string
		findings    int
		occurrences int
	}{
		// by kind: a hazard type, a diagnostic kind, a list
		{"kind=RAW", "h-reduce d-sync d-mem d-note", 2, 9},
		{"kind=WAW,mask-excludes-self", "h-user h-mixed d-mem d-note", 2, 102},
		{"kind=printf-buffer-full", "h-user h-reduce h-mixed d-sync d-mem", 1, 1},
		// by severity, scope, space (scope and space only match hazards)
		{"severity=warning", "h-user h-mixed d-sync d-mem d-note", 1, 100},
		{"severity=error", "h-reduce d-note", 4, 14},
		{"scope=inter-block", "h-user h-reduce d-sync d-mem d-note", 1, 7},
		{"space=shared", "h-mixed d-sync d-mem d-note", 2, 102},
		{"space=global kind=RAW", "h-user h-reduce d-sync d-mem d-note", 1, 7},
		// by file: the glob matches the whole name or what follows a '/'
		{"file=cooperative_groups/details/*.h", "h-user h-mixed d-sync d-mem d-note", 1, 100},
		{"file=*/cooperative_groups/details/reduce.h", "h-user h-mixed d-sync d-mem d-note", 1, 100},
		{"file=reduce.h lines=279-284", "h-user h-mixed d-sync d-mem d-note", 1, 100},
		{"file=reduce.h lines=280-290", everything, 0, 0}, // 279 is out: both sites must match
		{"file=reduce.h lines=280-290 site=any", "h-user h-mixed d-sync d-mem d-note", 1, 100},
		{"file=reduce.h lines=279", everything, 0, 0}, // 284 is out
		{"file=/usr/*/reduce.h", everything, 0, 0},    // '*' does not cross a '/'
		{"file=details/reduce.*", "h-user h-mixed d-sync d-mem d-note", 1, 100},
		{"file=races.cu", "h-reduce h-mixed d-mem d-note", 2, 4}, // both sites of h-user, and d-sync's line
		{"file=races.cu lines=56-60", "h-user h-reduce h-mixed d-mem d-note", 1, 2},
		// a header line counts as a site's position too
		{"file=sm_30_intrinsics.hpp", "h-user h-reduce h-mixed d-mem d-note", 1, 2},
		{"file=cooperative_groups.h lines=1450", everything, 0, 0}, // only h-mixed's later site
		{"file=cooperative_groups.h lines=1450 site=any", "h-user h-reduce d-sync d-mem d-note", 1, 7},
		// by function: mangled, qualified name, whole demangled signature
		{"func=" + "_ZN18cooperative_groups4__v17details14load_env_reg64ILj1ELj2EEEyv", "h-user h-mixed d-sync d-mem d-note", 1, 100},
		{"func=cooperative_groups::*", "h-user h-mixed d-sync d-mem d-note", 1, 100},
		{"func=cooperative_groups::__v1::details::load_env_reg64", "h-user h-mixed d-sync d-mem d-note", 1, 100},
		{`func="unsigned long long cooperative_groups::__v1::details::load_env_reg64<1u, 2u>()"`, "h-user h-mixed d-sync d-mem d-note", 1, 100},
		{"func=*::__syncwarp", "h-user h-reduce h-mixed d-mem d-note", 1, 2},
		{"func=k", "", 6, 115}, // every site is in kernel k
		{"func=k kind=WAR", everything, 0, 0},
		{"func=load_env_reg64", everything, 0, 0}, // a glob matches the whole name
	} {
		s, err := cpuemu.ParseSuppressions("s.supp", []byte("# a comment\n\n"+c.rule+"  # why\n"))
		if err != nil {
			t.Errorf("%s: %v", c.rule, err)
			continue
		}
		r := suppressionReport()
		out := r.Suppress(s)
		if got := left(out); got != c.left {
			t.Errorf("%s: left %q, want %q", c.rule, got, c.left)
		}
		if left(r) != everything {
			t.Errorf("%s: Suppress changed the report it was given", c.rule)
		}
		want := cpuemu.SuppressionUse{Rule: "s.supp:3", Text: c.rule, Findings: c.findings, Occurrences: c.occurrences}
		if len(out.Suppressions) != 1 || out.Suppressions[0] != want {
			t.Errorf("%s: uses %+v, want %+v", c.rule, out.Suppressions, want)
		}
	}
}

// TestSuppressFirstRule: a finding is credited to the first rule that
// matches; a rule that matches nothing is listed with 0, and the text
// report warns about it; the fatal error stays; suppressing every error
// makes the report clean.
func TestSuppressFirstRule(t *testing.T) {
	s, err := cpuemu.ParseSuppressions("a.supp", []byte("kind=RAW\nspace=global\nkind=WAR\nseverity=error\n"))
	if err != nil {
		t.Fatal(err)
	}
	out := suppressionReport().Suppress(s)
	want := []cpuemu.SuppressionUse{
		{Rule: "a.supp:1", Text: "kind=RAW", Findings: 2, Occurrences: 9},
		{Rule: "a.supp:2", Text: "space=global"},
		{Rule: "a.supp:3", Text: "kind=WAR"},
		{Rule: "a.supp:4", Text: "severity=error", Findings: 2, Occurrences: 5},
	}
	if len(out.Suppressions) != len(want) {
		t.Fatalf("uses %+v", out.Suppressions)
	}
	for i := range want {
		if out.Suppressions[i] != want[i] {
			t.Errorf("use %d: %+v, want %+v", i, out.Suppressions[i], want[i])
		}
	}
	if got := left(out); got != "h-reduce d-note" {
		t.Errorf("left %q", got)
	}
	if !out.Clean() || out.CleanAt(cpuemu.SeverityWarning) {
		t.Errorf("with only a warning and a note left: Clean %v, CleanAt(warning) %v; want true, false", out.Clean(), out.CleanAt(cpuemu.SeverityWarning))
	}
	var b strings.Builder
	out.WriteText(&b)
	for _, line := range []string{
		"========= Suppressed by a.supp:1: 2 findings, 9 occurrences: kind=RAW\n",
		"========= Warning: suppression a.supp:2 matched nothing: space=global\n",
		"========= Warning: suppression a.supp:3 matched nothing: kind=WAR\n",
		"========= Suppressed by a.supp:4: 2 findings, 5 occurrences: severity=error\n",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("the text report lacks %q:\n%s", line, b.String())
		}
	}
	r := suppressionReport()
	r.Fatal = os.ErrDeadlineExceeded
	if out := r.Suppress(s); out.Fatal == nil || out.Clean() {
		t.Errorf("the fatal error was suppressed")
	}
	if r.Suppress(nil) != r || r.Suppress(&cpuemu.Suppressions{}) != r {
		t.Errorf("no rules: Suppress did not give the report back")
	}
}

// TestSuppressionSyntax: what a file may say, and the errors (with file
// and line) for what it may not.
func TestSuppressionSyntax(t *testing.T) {
	good := `# CUDA 11.8's multi-warp cg::reduce: its inter-warp WAW is ordered by atomics
kind=WAW file=cooperative_groups/details/reduce.h lines=270-290 space=shared

   severity=warning site=any func="cooperative_groups::*"   # trailing comment
kind=RAW,WAR,barrier-not-aligned scope=inter-warp
`
	s, err := cpuemu.ParseSuppressions("good.supp", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range s.Rules {
		got = append(got, r.Source+" "+r.Text)
	}
	want := []string{
		"good.supp:2 kind=WAW file=cooperative_groups/details/reduce.h lines=270-290 space=shared",
		`good.supp:4 severity=warning site=any func="cooperative_groups::*"`,
		"good.supp:5 kind=RAW,WAR,barrier-not-aligned scope=inter-warp",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, c := range []struct{ src, err string }{
		{"kind=RAW\nkind=RAX", `bad.supp:2: kind "RAX": not a hazard type`},
		{"kind=raw", `bad.supp:1: kind "raw"`},
		{"kind=RAW,", `bad.supp:1: kind "": not a hazard type`},
		{"kind=", "bad.supp:1: kind has no value"},
		{"colour=red", `bad.supp:1: unknown key "colour" (want kind, severity, scope, space, file, lines, func, site)`},
		{"RAW", `bad.supp:1: "RAW" is not key=value`},
		{"kind=RAW shared", `bad.supp:1: "shared" is not key=value`},
		{"kind=RAW kind=WAR", "bad.supp:1: kind given twice"},
		{"severity=fatal", `bad.supp:1: severity "fatal": want info, warning or error`},
		{"severity=high", `bad.supp:1: severity "high"`},
		{"scope=block", `bad.supp:1: scope "block": want intra-warp, inter-warp or inter-block`},
		{"space=local", `bad.supp:1: space "local": want shared or global`},
		{"file=a.cu lines=0", `bad.supp:1: lines "0": want N or N-M, 1 <= N <= M`},
		{"file=a.cu lines=9-3", `bad.supp:1: lines "9-3"`},
		{"file=a.cu lines=3-", `bad.supp:1: lines "3-"`},
		{"file=a.cu lines=x", `bad.supp:1: lines "x"`},
		{"lines=3", "bad.supp:1: lines needs file"},
		{"file=[a.cu", `bad.supp:1: file "[a.cu": bad glob`},
		{"func=[", `bad.supp:1: func "[": bad glob`},
		{"site=either", `bad.supp:1: site "either": want any or both`},
		{`func="abc`, "bad.supp:1: func: unterminated or malformed quoted value"},
		{`func="a"b`, "bad.supp:1: func: text after the quoted value"},
		{"\n\n=RAW", `bad.supp:3: "=RAW" is not key=value`},
		{strings.Repeat("#", cpuemu.MaxSuppressionBytes+1), "bad.supp: more than 1048576 bytes"},
		{strings.Repeat("kind=RAW\n", cpuemu.MaxSuppressionRules+1), "bad.supp:10001: more than 10000 rules"},
	} {
		_, err := cpuemu.ParseSuppressions("bad.supp", []byte(c.src))
		if err == nil || !strings.HasPrefix(err.Error(), c.err) {
			src := c.src
			if len(src) > 40 {
				src = src[:40] + "..."
			}
			t.Errorf("%q: error %v, want one starting %q", src, err, c.err)
		}
	}

	// Add bounds the rules of several files together.
	big, err := cpuemu.ParseSuppressions("big.supp", []byte(strings.Repeat("kind=RAW\n", cpuemu.MaxSuppressionRules)))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Add(s); err == nil {
		t.Errorf("Add went past %d rules", cpuemu.MaxSuppressionRules)
	}
	one := &cpuemu.Suppressions{}
	if err := one.Add(s); err != nil || len(one.Rules) != 3 {
		t.Errorf("Add: %v, %d rules", err, len(one.Rules))
	}
}

// TestLoadSuppressions reads a file, and names it in errors.
func TestLoadSuppressions(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.supp")
	if err := os.WriteFile(p, []byte("kind=WAW\nspace=heap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cpuemu.LoadSuppressions(p); err == nil || !strings.HasPrefix(err.Error(), p+":2: space \"heap\"") {
		t.Errorf("error %v", err)
	}
	if _, err := cpuemu.LoadSuppressions(filepath.Join(dir, "none.supp")); err == nil {
		t.Errorf("a missing file gave no error")
	}
}

// TestSuppressRealReport: syncwarp_mask_bug (races.cu) reports a
// mask-excludes-self sync error at races.cu:57, inside the inlined
// __syncwarp of sm_30_intrinsics.hpp, and the RAW it lets through
// (races.cu:55 -> 58). Suppressing __syncwarp's sync error leaves the
// race; suppressing the race's lines too makes the report clean.
func TestSuppressRealReport(t *testing.T) {
	m := racesPTX(t)
	rep, err := reportLaunch(m, map[string]string{"kernel": "syncwarp_mask_bug", "grid": "1", "block": "64", "args": "iota:64,zeros:64"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Hazards) != 1 || len(rep.Sync) != 1 {
		t.Fatalf("the kernel's report changed: %d hazards, %d sync errors", len(rep.Hazards), len(rep.Sync))
	}
	s, err := cpuemu.ParseSuppressions("r.supp", []byte("kind=mask-excludes-self func=*::__syncwarp\n"))
	if err != nil {
		t.Fatal(err)
	}
	out := rep.Suppress(s)
	if len(out.Sync) != 0 || len(out.Hazards) != 1 || out.Clean() {
		t.Errorf("__syncwarp rule: %d sync errors, %d hazards left, clean %v; want 0, 1, false", len(out.Sync), len(out.Hazards), out.Clean())
	}
	s2, err := cpuemu.ParseSuppressions("r2.supp", []byte("kind=RAW file=races.cu lines=55-58 func=syncwarp_mask_bug\n"))
	if err != nil {
		t.Fatal(err)
	}
	if out := out.Suppress(s2); !out.Clean() || len(out.Suppressions) != 2 || out.Suppressions[1].Occurrences != 2 {
		t.Errorf("both rules: clean %v, uses %+v; want clean, the RAW's 2 occurrences credited", out.Clean(), out.Suppressions)
	}
}

// TestDiagnosticKindsKnown holds the list of kinds a suppression may name
// to the kinds the emulator reports: every l.diag("kind", ...) in the
// package's source must be a kind ParseSuppressions accepts.
func TestDiagnosticKindsKnown(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\bdiag\("([a-z0-9-]+)"`)
	kinds := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			kinds[m[1]] = true
		}
	}
	if len(kinds) < 10 {
		t.Fatalf("found only %d diagnostic kinds in the source: the pattern no longer fits", len(kinds))
	}
	var names []string
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, err := cpuemu.ParseSuppressions("k.supp", []byte("kind="+k)); err != nil {
			t.Errorf("the emulator reports kind %s, which a suppression cannot name: %v", k, err)
		}
	}
}

// TestSuppressionDocExamples: the examples of docs/suppressions.md parse,
// and the one for races.cu's inlined __syncwarp, by its demangled
// signature, removes syncwarp_mask_bug's sync error.
func TestSuppressionDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/suppressions.md")
	if err != nil {
		t.Fatal(err)
	}
	_, ex, ok := strings.Cut(string(doc), "## Examples\n\n```\n")
	ex, _, ok2 := strings.Cut(ex, "```")
	if !ok || !ok2 {
		t.Fatal("docs/suppressions.md has no Examples code block")
	}
	s, err := cpuemu.ParseSuppressions("examples", []byte(ex))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rules) != 5 {
		t.Fatalf("%d example rules, want 5", len(s.Rules))
	}
	m := racesPTX(t)
	rep, err := reportLaunch(m, map[string]string{"kernel": "syncwarp_mask_bug", "grid": "1", "block": "64", "args": "iota:64,zeros:64"})
	if err != nil {
		t.Fatal(err)
	}
	out := rep.Suppress(s)
	if len(out.Sync) != 0 || out.Suppressions[4].Findings != 1 || len(out.Hazards) != 1 {
		t.Errorf("the __syncwarp example: %d sync errors and %d hazards left, uses %+v", len(out.Sync), len(out.Hazards), out.Suppressions)
	}
}
