package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/internal/schematest"
)

// nosyncArgs run lane_handoff_nosync (kernels/handoff.cu), whose report
// is one site pair: producer lane j writes its slot at handoff.cu:56 and
// consumer lane 16+j reads it at handoff.cu:66 with no __syncwarp
// between, RAW intra-warp on shared memory. With n = 1024 words, one block
// of 64 threads (2 warps, each striding by 64 words: 16 trips), the pair
// occurs 2 warps x 16 trips x 16 consumers = 512 times.
var nosyncArgs = cat([]string{"race", "--kernel", "lane_handoff_nosync", "--seeds", "0"}, handoffArgs)

func writeSupp(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.supp")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRacePrintLevel: the level decides what is printed, never the exit
// status, which follows the errors.
func TestRacePrintLevel(t *testing.T) {
	const header = "========= Error: Race reported between Write access at st.shared in kernels/handoff.cu:56"
	for _, c := range []struct {
		level  string
		shown  bool
		hidden string
	}{
		{"info", true, ""},
		{"warn", true, ""},
		{"error", true, ""},
		{"fatal", false, "========= 1 findings below print level fatal not shown"},
	} {
		code, stdout, stderr := runCLI(append(nosyncArgs, "--print-level", c.level)...)
		if code != exitFail || stdout != "" {
			t.Errorf("--print-level %s: exit %d, stdout %q; want %d and nothing", c.level, code, stdout, exitFail)
		}
		if strings.Contains(stderr, header) != c.shown || !strings.Contains(stderr, c.hidden) {
			t.Errorf("--print-level %s: hazard shown %v, want %v; want %q\n%s", c.level, !c.shown, c.shown, c.hidden, stderr)
		}
		// The summary counts the whole report whatever is shown.
		if !strings.Contains(stderr, "hazards displayed (512 errors, 0 warnings)") {
			t.Errorf("--print-level %s: summary\n%s", c.level, stderr)
		}
	}
	for _, bad := range []string{"loud", "Warning", ""} {
		code, _, stderr := runCLI(append(nosyncArgs, "--print-level", bad)...)
		if code != exitUsage || !strings.Contains(stderr, "--print-level "+bad+": want info, warn, error or fatal") {
			t.Errorf("--print-level %q: exit %d\n%s", bad, code, stderr)
		}
	}
	// launch has none of race's report flags.
	for _, f := range [][]string{{"--print-level", "error"}, {"--warnings-as-errors"}, {"--suppress", "x"}} {
		if code, _, _ := runCLI(cat([]string{"launch", "--kernel", "lane_handoff"}, handoffArgs, f)...); code != exitUsage {
			t.Errorf("launch %v: exit %d, want %d", f, code, exitUsage)
		}
	}
}

// TestRaceSuppress: a rule that names the hazard leaves a clean report
// (exit 0, no schedule search), and the report says which rule removed
// what; a rule that matches nothing is warned about; --json lists every
// rule.
func TestRaceSuppress(t *testing.T) {
	hit := writeSupp(t, "# the handoff race, by its lines\nkind=RAW file=kernels/handoff.cu lines=56-66 space=shared\n")
	miss := writeSupp(t, "kind=WAW func=nothing_here\n")
	code, stdout, stderr := runCLI(append(nosyncArgs, "--suppress", hit, "--suppress", miss)...)
	if code != exitOK || stdout != "" {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"========= Suppressed by " + hit + ":2: 1 findings, 512 occurrences: kind=RAW file=kernels/handoff.cu lines=56-66 space=shared\n",
		"========= Warning: suppression " + miss + ":1 matched nothing: kind=WAW func=nothing_here\n",
		"RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "Race reported") || strings.Contains(stderr, "reproduced") || strings.Contains(stderr, "found by the checker") {
		t.Errorf("a suppressed race was printed or searched:\n%s", stderr)
	}
	// By function: the kernel's PTX name.
	byFunc := writeSupp(t, "func=lane_handoff_nosync\n")
	if code, _, stderr := runCLI(append(nosyncArgs, "--suppress", byFunc)...); code != exitOK {
		t.Errorf("func rule: exit %d\n%s", code, stderr)
	}
	// A rule of another line range leaves the race: exit 1.
	other := writeSupp(t, "kind=RAW file=kernels/handoff.cu lines=57-66\n")
	if code, _, stderr := runCLI(append(nosyncArgs, "--suppress", other)...); code != exitFail || !strings.Contains(stderr, "Race reported") {
		t.Errorf("a rule that misses the write's line: exit %d\n%s", code, stderr)
	}

	code, stdout, stderr = runCLI(append(nosyncArgs, "--json", "--suppress", hit, "--suppress", miss)...)
	var j struct {
		Schema string
		Report struct {
			Clean        bool
			Hazards      []any
			Suppressions []cpuemu.SuppressionUse
		}
		Error any
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil || code != exitOK {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, stdout)
	}
	want := []cpuemu.SuppressionUse{
		{Rule: hit + ":2", Text: "kind=RAW file=kernels/handoff.cu lines=56-66 space=shared", Findings: 1, Occurrences: 512},
		{Rule: miss + ":1", Text: "kind=WAW func=nothing_here"},
	}
	if j.Schema != "gpubuf.race/v1" || !j.Report.Clean || len(j.Report.Hazards) != 0 || j.Error != nil ||
		len(j.Report.Suppressions) != 2 || j.Report.Suppressions[0] != want[0] || j.Report.Suppressions[1] != want[1] {
		t.Errorf("--json: %+v", j)
	}
	if !strings.Contains(stderr, "gpubuf race: warning: suppression "+miss+":1 matched nothing") {
		t.Errorf("--json: stderr lacks the unmatched rule's warning:\n%s", stderr)
	}
}

// TestRaceSuppressBadFile: a bad rule, a missing file, stop the command
// with the file and line.
func TestRaceSuppressBadFile(t *testing.T) {
	bad := writeSupp(t, "kind=RAW\nkind=RAX\n")
	if code, _, stderr := runCLI(append(nosyncArgs, "--suppress", bad)...); code != exitUsage || !strings.Contains(stderr, "--suppress: "+bad+`:2: kind "RAX"`) {
		t.Errorf("bad rule: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(append(nosyncArgs, "--suppress", filepath.Join(t.TempDir(), "none"))...); code != exitUsage || !strings.Contains(stderr, "--suppress: open") {
		t.Errorf("missing file: exit %d\n%s", code, stderr)
	}
}

// TestRaceWarningsAsErrors: a report whose only finding is a warning
// exits 0, or 1 with --warnings-as-errors; the text says "Warning" and
// counts it. The report is made by hand (a warning hazard on the clean
// lane_handoff), so the test does not depend on which code the checker
// judges a warning.
func TestRaceWarningsAsErrors(t *testing.T) {
	for _, c := range []struct {
		flags []string
		code  int
	}{
		{nil, exitOK},
		{[]string{"--warnings-as-errors"}, exitFail},
		{[]string{"--warnings-as-errors", "--print-level", "error"}, exitFail},
		{[]string{"--json"}, exitOK},
		{[]string{"--json", "--warnings-as-errors"}, exitFail},
	} {
		var errb, out bytes.Buffer
		o, code := parseLaunchFlags(true, cat([]string{"--kernel", "lane_handoff", "--seeds", "0"}, handoffArgs, c.flags), &errb)
		if o == nil {
			t.Fatalf("%v: exit %d\n%s", c.flags, code, errb.String())
		}
		entry, err := o.loadEntry()
		if err != nil {
			t.Fatal(err)
		}
		site := cpuemu.Site{PTXLine: 10, Loc: "kernels/handoff.cu:40", Instr: "ld.volatile.shared", Func: "lane_handoff"}
		rep := &cpuemu.Report{Kernel: "lane_handoff", Hazards: []cpuemu.Hazard{{
			Type: "RAW", Scope: "intra-warp", Space: "shared", Size: 4, Count: 3, Severity: cpuemu.SeverityWarning,
			Prior: cpuemu.Access{Kind: "Write", Site: site}, Later: cpuemu.Access{Kind: "Read", Site: site},
		}}, Sync: []cpuemu.Diagnostic{}, Memory: []cpuemu.Diagnostic{}, Other: []cpuemu.Diagnostic{}, Notes: []cpuemu.Diagnostic{}}
		got := o.raceReport(entry, &cpuemu.Result{Report: rep}, time.Millisecond, nil, "", &out, &errb)
		if got != c.code {
			t.Errorf("%v: exit %d, want %d\n%s", c.flags, got, c.code, errb.String())
		}
		text := errb.String()
		shown := !slicesContains(c.flags, "--json") && !slicesContains(c.flags, "error")
		if strings.Contains(text, "========= Warning: Race reported") != shown {
			t.Errorf("%v: warning block shown %v, want %v\n%s", c.flags, !shown, shown, text)
		}
		if !slicesContains(c.flags, "--json") && !strings.Contains(text, "hazards displayed (0 errors, 3 warnings)") {
			t.Errorf("%v: summary\n%s", c.flags, text)
		}
		if slicesContains(c.flags, "--json") {
			var j struct {
				Report struct{ Clean bool }
				Error  *struct{ Message string }
			}
			if err := json.Unmarshal(out.Bytes(), &j); err != nil {
				t.Fatal(err)
			}
			// "clean" is the report's (no error-level finding); "error" the verdict.
			if !j.Report.Clean || (j.Error != nil) != (c.code == exitFail) {
				t.Errorf("%v: clean %v, error %+v", c.flags, j.Report.Clean, j.Error)
			}
			if j.Error != nil && !strings.Contains(j.Error.Message, "3 hazard warnings at 1 site pairs") {
				t.Errorf("%v: error %q", c.flags, j.Error.Message)
			}
		}
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestRaceJSONConforms: what 'gpubuf race --json' prints for a clean
// kernel, a race (with its schedule search), a deadlock, a wall-clock
// timeout, printf text, and suppressions, conforms to
// docs/race-report.schema.json; a document broken in one place does not.
func TestRaceJSONConforms(t *testing.T) {
	schema, err := schematest.RaceReport("")
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, out []byte) error { return schema.Validate(out) }
	supp := writeSupp(t, "kind=RAW func=lane_handoff_nosync\nkind=WAW\n")
	spin := []string{"testdata/spin.ptx", "--grid", "1", "--block", "2", "--arg", "buf:4", "--max-instructions", "4611686018427387904", "--timeout", "50ms"}
	var racy string
	for _, run := range []struct {
		what string
		args []string
	}{
		{"clean", cat([]string{"--kernel", "lane_handoff"}, handoffArgs)},
		{"race", cat([]string{"--kernel", "lane_handoff_nosync", "--seeds", "2"}, handoffArgs)},
		{"deadlock", []string{"--kernel", "divergent_syncwarp", "--grid", "1", "--block", "32", "--arg", "buf:128"}},
		{"timeout", spin},
		{"printf", cat(helloArgs, []string{"--arg", "i32:4"})},
		{"suppressed", cat([]string{"--kernel", "lane_handoff_nosync", "--seeds", "0", "--suppress", supp}, handoffArgs)},
	} {
		_, stdout, stderr := runCLI(append([]string{"race", "--json"}, run.args...)...)
		if err := check(run.what, []byte(stdout)); err != nil {
			t.Errorf("%s: the output does not conform: %v\n%s\n%s", run.what, err, stdout, stderr)
		}
		if !strings.HasPrefix(stdout, "{\n  \"schema\": \"gpubuf.race/v1\",\n") {
			t.Errorf("%s: the output does not open with its schema:\n%.200s", run.what, stdout)
		}
		if run.what == "race" {
			racy = stdout
		}
	}
	for _, c := range []struct{ what, from, to string }{
		{"another version", `"schema": "gpubuf.race/v1"`, `"schema": "gpubuf.race/v0"`},
		{"a reproduction that is not an object", `"reproduction": {`, `"reproduction": [{`},
		{"an unknown top-level field", `"stdout": ""`, `"stdout": "", "colour": "red"`},
		{"a negative timeout", `"timeout_s": `, `"timeout_s": -`},
		{"an unknown scheduler", `"scheduler": "adversarial"`, `"scheduler": "chaos"`},
	} {
		bad := strings.Replace(racy, c.from, c.to, 1)
		if bad == racy {
			t.Errorf("%s: %q is not in the output", c.what, c.from)
			continue
		}
		if c.what == "a reproduction that is not an object" {
			bad = strings.Replace(bad, "\n  },\n  \"timeout_s\"", "\n  }],\n  \"timeout_s\"", 1)
		}
		if err := check(c.what, []byte(bad)); err == nil {
			t.Errorf("%s: the schema accepts it", c.what)
		}
	}
}
