package sarif_test

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/cpuemu/sarif"
	"github.com/gpubuf/gpubuf/internal/schematest"
)

// The expectations here come from the SARIF 2.1.0 specification (OASIS,
// errata 01) and its JSON schema, shipped verbatim in testdata (from
// oasis-tcs/sarif-spec, Schemata/sarif-schema-2.1.0.json): a result's
// level is "none", "note", "warning" or "error"; physicalLocation names an
// artifactLocation (uri, uriBaseId) and a region (startLine from 1); a
// message's embedded link "[text](n)" names the related location whose id
// is n (§3.11.6).

// validate checks doc against the SARIF 2.1.0 schema, formats included
// (uri, uri-reference, date-time).
func validate(doc []byte) error {
	s, err := schematest.SARIF()
	if err != nil {
		return err
	}
	return s.Validate(doc)
}

func write(t *testing.T, l *sarif.Log) ([]byte, map[string]any) {
	t.Helper()
	var b bytes.Buffer
	if err := l.Write(&b); err != nil {
		t.Fatal(err)
	}
	if err := validate(b.Bytes()); err != nil {
		t.Fatalf("the log does not conform to the SARIF 2.1.0 schema: %v\n%s", err, b.Bytes())
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), doc
}

func d3(x uint32) cpuemu.Dim3 { return cpuemu.Dim3{X: x} }

// report is a hand-made report with one finding of each kind.
func report() *cpuemu.Report {
	return &cpuemu.Report{
		Kernel: "k",
		Hazards: []cpuemu.Hazard{{
			Type: "RAW", Scope: "intra-warp", Space: "shared", Addr: 0x40, Size: 4, Count: 128, Severity: cpuemu.SeverityError,
			Prior: cpuemu.Access{Kind: "Write", Site: cpuemu.Site{PTXLine: 30, Loc: "src/k.cu:12", Instr: "st.shared"}, Lane: 0, Thread: d3(0)},
			Later: cpuemu.Access{Kind: "Read", Site: cpuemu.Site{PTXLine: 34, Loc: "src/k.cu:14", Instr: "ld.shared"}, Lane: 1, Thread: d3(1)},
		}, {
			Type: "RAW", Scope: "intra-warp", Space: "shared", Addr: 0x80, Size: 4, Count: 5, Severity: cpuemu.SeverityWarning,
			Prior: cpuemu.Access{Kind: "Write", Site: cpuemu.Site{PTXLine: 40, Loc: "/repo/src/red.cu:7", Instr: "st.volatile.shared"}},
			Later: cpuemu.Access{Kind: "Read", Site: cpuemu.Site{PTXLine: 41, Instr: "ld.volatile.shared"}, Lane: 16, Thread: d3(16)},
		}},
		Sync:   []cpuemu.Diagnostic{{Kind: "barrier-divergence", Msg: "lanes 16-31 of warp 0 exited", Site: cpuemu.Site{PTXLine: 50, Loc: "/usr/include/x.h:3", Instr: "bar"}, Count: 1, Severity: cpuemu.SeverityError}},
		Memory: []cpuemu.Diagnostic{{Kind: "uninitialised-shared-read", Msg: "read of unwritten shared memory", Site: cpuemu.Site{PTXLine: 60, Loc: "src/k.cu:20", Instr: "ld.shared"}, Count: 2, Severity: cpuemu.SeverityError}},
		Other:  []cpuemu.Diagnostic{{Kind: "integer-division-by-zero", Msg: "div by zero", Site: cpuemu.Site{PTXLine: 70, Loc: `C:\work\k.cu:9`, Instr: "div"}, Count: 1, Severity: cpuemu.SeverityError}},
		Notes:  []cpuemu.Diagnostic{{Kind: "printf-buffer-full", Msg: "dropped", Site: cpuemu.Site{PTXLine: 80, Instr: "call vprintf"}, Count: 1, Severity: cpuemu.SeverityInfo}},
		Fatal: &cpuemu.FaultError{Kernel: "k", Kind: "out of bounds", Space: "global", Addr: 0x1000, Size: 4,
			Site: cpuemu.Site{PTXLine: 90, Loc: "src/k.cu:30", Instr: "st.global"}},
	}
}

// TestLogFields: each finding is a result with the rule, level, location
// and related location the specification and docs/ci.md give it.
func TestLogFields(t *testing.T) {
	l := sarif.NewLog(sarif.Options{SrcRoot: "/repo", Version: "1.2.3"})
	l.Add(sarif.Launch{Report: report(), PTX: "build/k.ptx", Schedule: "lockstep"})
	_, doc := write(t, l)

	if schematest.At(doc, "version") != "2.1.0" {
		t.Errorf("version %v", schematest.At(doc, "version"))
	}
	run := schematest.At(doc, "runs", 0)
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"tool", "driver", "name"}, "gpubuf"},
		{[]any{"tool", "driver", "version"}, "1.2.3"},
		{[]any{"tool", "driver", "informationUri"}, "https://github.com/gpubuf/gpubuf"},
		{[]any{"originalUriBaseIds", "SRCROOT", "uri"}, "file:///repo/"},
		{[]any{"invocations", 0, "executionSuccessful"}, true},
	} {
		if got := schematest.At(run, c.path...); got != c.want {
			t.Errorf("run %v = %v, want %v", c.path, got, c.want)
		}
	}

	type want struct {
		rule, level, uri, base string
		line                   float64 // 0: no region
		count                  float64
	}
	wants := []want{
		// The race: at the later access, a relative path under SRCROOT.
		{"race/RAW/intra-warp", "error", "src/k.cu", "SRCROOT", 14, 128},
		// A warning hazard: the later access has no CUDA line, so the
		// PTX file and line.
		{"schedule/RAW/intra-warp", "warning", "build/k.ptx", "SRCROOT", 41, 5},
		// A toolkit header outside the root: an absolute file URI.
		{"sync/barrier-divergence", "error", "file:///usr/include/x.h", "", 3, 1},
		{"memory/uninitialised-shared-read", "error", "src/k.cu", "SRCROOT", 20, 2},
		// A Windows path keeps its drive.
		{"ub/integer-division-by-zero", "error", "file:///C:/work/k.cu", "", 9, 1},
		// info is a note.
		{"note/printf-buffer-full", "note", "build/k.ptx", "SRCROOT", 80, 1},
		{"memory/out-of-bounds", "error", "src/k.cu", "SRCROOT", 30, 1},
	}
	results, _ := schematest.At(run, "results").([]any)
	if len(results) != len(wants) {
		t.Fatalf("%d results, want %d", len(results), len(wants))
	}
	rules, _ := schematest.At(run, "tool", "driver", "rules").([]any)
	for i, w := range wants {
		r := results[i]
		al := schematest.At(r, "locations", 0, "physicalLocation", "artifactLocation")
		var base any
		if w.base != "" {
			base = w.base
		}
		var line any
		if w.line > 0 {
			line = w.line
		}
		got := []any{schematest.At(r, "ruleId"), schematest.At(r, "level"), schematest.At(al, "uri"), schematest.At(al, "uriBaseId"),
			schematest.At(r, "locations", 0, "physicalLocation", "region", "startLine"), schematest.At(r, "occurrenceCount")}
		exp := []any{w.rule, w.level, w.uri, base, line, w.count}
		if !slices.Equal(got, exp) {
			t.Errorf("result %d: %v, want %v", i, got, exp)
		}
		// ruleIndex points at the rule, which carries its help.
		idx, _ := schematest.At(r, "ruleIndex").(float64)
		if int(idx) >= len(rules) || schematest.At(rules[int(idx)], "id") != w.rule {
			t.Errorf("result %d: ruleIndex %v does not name %s", i, schematest.At(r, "ruleIndex"), w.rule)
		}
		if schematest.At(r, "locations", 0, "logicalLocations", 0, "fullyQualifiedName") != "k" {
			t.Errorf("result %d: no kernel as its logical location", i)
		}
	}
	for _, r := range rules {
		for _, f := range []string{"name", "shortDescription", "fullDescription", "help"} {
			if schematest.At(r, f) == nil {
				t.Errorf("rule %v without %s", schematest.At(r, "id"), f)
			}
		}
	}
	// The race's prior access is the related location with id 1, which
	// the message links to.
	race := results[0]
	if got := schematest.At(race, "relatedLocations", 0, "id"); got != 1.0 {
		t.Errorf("related location id %v, want 1", got)
	}
	if got := schematest.At(race, "relatedLocations", 0, "physicalLocation", "region", "startLine"); got != 12.0 {
		t.Errorf("related location line %v, want 12", got)
	}
	msg, _ := schematest.At(race, "message", "text").(string)
	if !strings.Contains(msg, "at [src/k.cu:12 (st.shared)](1)") || !strings.Contains(msg, "128 occurrences") {
		t.Errorf("race message %q lacks the link to the prior access or the count", msg)
	}
	if msg, _ := schematest.At(results[1], "message", "text").(string); !strings.Contains(msg, "not a data race under the PTX memory model") {
		t.Errorf("warning message %q does not say why it is one", msg)
	}
}

// TestLogMerges: the same finding in several launches is one result that
// counts them all and lists their schedules.
func TestLogMerges(t *testing.T) {
	l := sarif.NewLog(sarif.Options{})
	for _, s := range []string{"lockstep", "adversarial", "lockstep"} {
		r := report()
		r.Sync, r.Memory, r.Other, r.Notes, r.Fatal = nil, nil, nil, nil, nil
		r.Hazards = r.Hazards[:1]
		l.Add(sarif.Launch{Report: r, PTX: "k.ptx", Schedule: s})
	}
	_, doc := write(t, l)
	results, _ := schematest.At(doc, "runs", 0, "results").([]any)
	if len(results) != 1 {
		t.Fatalf("%d results, want 1", len(results))
	}
	r := results[0]
	if got := schematest.At(r, "occurrenceCount"); got != 3*128.0 {
		t.Errorf("occurrenceCount %v, want %d", got, 3*128)
	}
	if got := schematest.At(r, "properties", "launches"); got != 3.0 {
		t.Errorf("launches %v, want 3", got)
	}
	scheds, _ := schematest.At(r, "properties", "schedules").([]any)
	if !slices.Equal(scheds, []any{"lockstep", "adversarial"}) {
		t.Errorf("schedules %v, want [lockstep adversarial]", scheds)
	}
	// Without a root, no originalUriBaseIds.
	if schematest.At(doc, "runs", 0, "originalUriBaseIds") != nil {
		t.Error("originalUriBaseIds without a SrcRoot")
	}
}

// TestLogFailure: a launch without a report makes the invocation
// unsuccessful, with the reason, instead of a clean-looking log.
func TestLogFailure(t *testing.T) {
	l := sarif.NewLog(sarif.Options{})
	l.AddFailure("k", os.ErrNotExist)
	_, doc := write(t, l)
	inv := schematest.At(doc, "runs", 0, "invocations", 0)
	if schematest.At(inv, "executionSuccessful") != false {
		t.Errorf("executionSuccessful %v, want false", schematest.At(inv, "executionSuccessful"))
	}
	if msg, _ := schematest.At(inv, "toolExecutionNotifications", 0, "message", "text").(string); !strings.Contains(msg, "kernel k") {
		t.Errorf("notification %q", msg)
	}
}

// tinyPTX: two lanes store to one shared word in one lockstep issue.
const tinyPTX = `.version 7.8
.target sm_70
.address_size 64

.visible .entry tiny()
{
	.reg .b32 	%r<2>;
	.shared .align 4 .b32 word;

	mov.u32 	%r0, %tid.x;
	st.shared.u32 	[word], %r0;
	ret;
}
`

// TestLogLaunch: a checked launch's own report, without debug lines, is
// a WAW at the PTX file's line 11 (the store), lane 1 after lane 0.
func TestLogLaunch(t *testing.T) {
	m, err := cpuemu.Load("tiny.ptx", []byte(tinyPTX))
	if err != nil {
		t.Fatal(err)
	}
	res, _ := m.Launch(cpuemu.NewDevice(), "tiny", cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 1, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 2, Y: 1, Z: 1}, Check: true})
	if res == nil || res.Report == nil {
		t.Fatal("no report")
	}
	l := sarif.NewLog(sarif.Options{})
	l.Add(sarif.Launch{Report: res.Report, PTX: "tiny.ptx"})
	_, doc := write(t, l)
	r := schematest.At(doc, "runs", 0, "results", 0)
	got := []any{schematest.At(r, "ruleId"), schematest.At(r, "level"), schematest.At(r, "locations", 0, "physicalLocation", "artifactLocation", "uri"),
		schematest.At(r, "locations", 0, "physicalLocation", "region", "startLine"), schematest.At(r, "relatedLocations", 0, "physicalLocation", "region", "startLine")}
	want := []any{"race/WAW/intra-warp", "error", "tiny.ptx", 11.0, 11.0}
	if !slices.Equal(got, want) {
		t.Errorf("result %v, want %v", got, want)
	}
}

// TestSchemaRejects: the schema check fails documents that break SARIF,
// so the tests above can fail.
func TestSchemaRejects(t *testing.T) {
	l := sarif.NewLog(sarif.Options{})
	l.Add(sarif.Launch{Report: report(), PTX: "k.ptx"})
	var b bytes.Buffer
	if err := l.Write(&b); err != nil {
		t.Fatal(err)
	}
	good := b.String()
	for _, c := range []struct{ name, from, to string }{
		{"unknown level", `"level": "error"`, `"level": "fatal"`},
		{"wrong version", `"version": "2.1.0"`, `"version": "2.2.0"`},
		{"line 0", `"startLine": 14`, `"startLine": 0`},
		{"unknown result property", `"ruleId": "race/RAW/intra-warp"`, `"rule_id": "race/RAW/intra-warp"`},
		{"uri not a URI reference", `"uri": "src/k.cu"`, `"uri": "a b:c"`},
	} {
		bad := strings.Replace(good, c.from, c.to, 1)
		if bad == good {
			t.Errorf("%s: %q not in the log", c.name, c.from)
			continue
		}
		if validate([]byte(bad)) == nil {
			t.Errorf("%s: the schema check accepted it", c.name)
		}
	}
}

// TestRules: every rule is complete, ids are unique, and docs/ci.md lists
// each one.
func TestRules(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range sarif.Rules() {
		if seen[r.ID] {
			t.Errorf("rule %s twice", r.ID)
		}
		seen[r.ID] = true
		if r.Name == "" || r.Short == "" || r.Full == "" || r.Help == "" {
			t.Errorf("rule %s lacks text: %+v", r.ID, r)
		}
		if r.Level != "error" && r.Level != "warning" && r.Level != "note" {
			t.Errorf("rule %s: level %q", r.ID, r.Level)
		}
		if !bytes.Contains(doc, []byte("`"+r.ID+"`")) {
			t.Errorf("docs/ci.md does not list rule %s", r.ID)
		}
	}
}
