package cpuemu_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// severityReport is a report built by hand with findings of every
// severity: an error hazard (2 occurrences), a warning hazard (5), an
// error and a warning sync finding, a warning memory finding, an error
// of the other kind, and a note.
func severityReport(fatal error) *cpuemu.Report {
	site := func(loc string, line int) cpuemu.Site {
		return cpuemu.Site{PTXLine: line, Loc: loc, Instr: "st.shared", Func: "k"}
	}
	acc := func(kind string, s cpuemu.Site, lane int) cpuemu.Access {
		return cpuemu.Access{Kind: kind, Site: s, Lane: lane, Thread: cpuemu.Dim3{X: uint32(lane), Y: 1, Z: 1}, CTA: cpuemu.Dim3{X: 0, Y: 0, Z: 0}}
	}
	diag := func(kind string, sev cpuemu.Severity, count int) cpuemu.Diagnostic {
		return cpuemu.Diagnostic{Kind: kind, Msg: kind + " happened", Site: site("k.cu:9", 90), Count: count, Severity: sev, Lanes: 1}
	}
	return &cpuemu.Report{
		Kernel: "k",
		Hazards: []cpuemu.Hazard{
			{Type: "RAW", Scope: "intra-warp", Space: "shared", Addr: 4, Size: 4, Prior: acc("Write", site("k.cu:3", 30), 1), Later: acc("Read", site("k.cu:4", 40), 0), Count: 2, Severity: cpuemu.SeverityError},
			{Type: "WAW", Scope: "inter-warp", Space: "shared", Addr: 8, Size: 4, Prior: acc("Write", site("k.cu:5", 50), 0), Later: acc("Write", site("k.cu:5", 50), 1), Count: 5, Severity: cpuemu.SeverityWarning},
		},
		Sync:   []cpuemu.Diagnostic{diag("barrier-divergence", cpuemu.SeverityError, 1), diag("barrier-not-aligned", cpuemu.SeverityWarning, 3)},
		Memory: []cpuemu.Diagnostic{diag("uninitialised-shared-read", cpuemu.SeverityWarning, 1)},
		Other:  []cpuemu.Diagnostic{diag("integer-division-by-zero", cpuemu.SeverityError, 1)},
		Notes:  []cpuemu.Diagnostic{diag("printf-buffer-full", cpuemu.SeverityInfo, 1)},
		Fatal:  fatal,
	}
}

// TestWriteTextAt checks which blocks each print level shows, their
// headers, and the summary, which counts the whole report whatever is
// shown: RACECHECK the pairs shown, then hazard occurrences 2 (error) and
// 5 (warning); SYNCCHECK 1 error and 1 warning; MEMCHECK 0 errors and 1
// warning. Seven findings in all: at warning level the note is left out
// (1), at error level also the 3 warnings (4), at fatal level all 7.
func TestWriteTextAt(t *testing.T) {
	headers := []string{
		"========= Error: Race reported between Write access at st.shared in k.cu:3",
		"========= Warning: Race reported between Write access at st.shared in k.cu:5",
		"========= Sync error: barrier-divergence at st.shared in k.cu:9 [1 times]",
		"========= Sync warning: barrier-not-aligned at st.shared in k.cu:9 [3 times]",
		"========= Memory warning: uninitialised-shared-read at st.shared in k.cu:9 [1 times]",
		"========= Undefined behaviour: integer-division-by-zero at st.shared in k.cu:9 [1 times]",
		"========= Note: printf-buffer-full at st.shared in k.cu:9 [1 times]",
	}
	summary := func(shown int) string {
		return "========= RACECHECK SUMMARY: " + strconv.Itoa(shown) + " hazards displayed (2 errors, 5 warnings)\n" +
			"========= SYNCCHECK SUMMARY: 1 errors, 1 warnings\n" +
			"========= MEMCHECK SUMMARY: 0 errors, 1 warnings\n"
	}
	for _, c := range []struct {
		level  cpuemu.Severity
		shown  []int // indices into headers
		pairs  int
		hidden string
	}{
		{cpuemu.SeverityInfo, []int{0, 1, 2, 3, 4, 5, 6}, 2, ""},
		{cpuemu.SeverityWarning, []int{0, 1, 2, 3, 4, 5}, 2, "========= 1 findings below print level warning not shown\n"},
		{cpuemu.SeverityError, []int{0, 2, 5}, 1, "========= 4 findings below print level error not shown\n"},
		{cpuemu.SeverityFatal, nil, 0, "========= 7 findings below print level fatal not shown\n"},
	} {
		var b strings.Builder
		if err := severityReport(nil).WriteTextAt(&b, c.level); err != nil {
			t.Fatal(err)
		}
		got := b.String()
		for i, h := range headers {
			want := false
			for _, s := range c.shown {
				want = want || s == i
			}
			if strings.Contains(got, h+"\n") != want {
				t.Errorf("level %s: header %q shown %v, want %v\n%s", c.level, h, !want, want, got)
			}
		}
		if tail := c.hidden + summary(c.pairs); !strings.HasSuffix(got, tail) {
			t.Errorf("level %s: the text does not end with\n%s\ngot\n%s", c.level, tail, got)
		}
	}
	// The fatal error is shown at every level, fatal included.
	var b strings.Builder
	severityReport(errors.New("it stopped")).WriteTextAt(&b, cpuemu.SeverityFatal)
	if !strings.HasPrefix(b.String(), "========= Fatal: it stopped\n=========\n") {
		t.Errorf("fatal level with a fatal error: got\n%s", b.String())
	}
	// WriteText is WriteTextAt(info).
	var all, info strings.Builder
	severityReport(nil).WriteText(&all)
	severityReport(nil).WriteTextAt(&info, cpuemu.SeverityInfo)
	if all.String() != info.String() {
		t.Errorf("WriteText differs from WriteTextAt(info)")
	}
}

// TestCheckErrorCounts: the error text counts errors and warnings apart
// (notes are not findings), in the order errors, then warnings.
func TestCheckErrorCounts(t *testing.T) {
	// The counts, then the first finding at the highest severity and how
	// many more the report holds (6 findings: 3 errors, 3 warnings).
	first := "; first: RAW hazard (intra-warp, shared memory) between Write at k.cu:3 (ptx line 30) and Read at k.cu:4 (ptx line 40), 2 times"
	want := "kernel k: checker: 2 hazards at 1 site pairs; 1 sync errors; 1 other undefined behaviours; " +
		"5 hazard warnings at 1 site pairs; 1 sync warnings; 1 memory warnings" + first + "; 5 more findings in the report"
	if got := (&cpuemu.CheckError{Report: severityReport(nil)}).Error(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A report of errors only reads as before severities.
	r := severityReport(nil)
	r.Hazards, r.Sync, r.Memory, r.Other = r.Hazards[:1], r.Sync[:1], nil, nil
	if got, want := (&cpuemu.CheckError{Report: r}).Error(), "kernel k: checker: 2 hazards at 1 site pairs; 1 sync errors"+first+"; 1 more finding in the report"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestCleanAtLevels: warnings leave a report clean at error level, not at
// warning level; nothing but a fatal error fails it at fatal level.
func TestCleanAtLevels(t *testing.T) {
	r := severityReport(nil)
	r.Hazards, r.Sync, r.Other = r.Hazards[1:], r.Sync[1:], nil // warnings and a note left
	for _, c := range []struct {
		level cpuemu.Severity
		clean bool
	}{{cpuemu.SeverityInfo, false}, {cpuemu.SeverityWarning, false}, {cpuemu.SeverityError, true}, {cpuemu.SeverityFatal, true}} {
		if got := r.CleanAt(c.level); got != c.clean {
			t.Errorf("CleanAt(%s) = %v, want %v", c.level, got, c.clean)
		}
	}
	r.Fatal = errors.New("stopped")
	if r.CleanAt(cpuemu.SeverityFatal) {
		t.Errorf("CleanAt(fatal) with a fatal error is true")
	}
	for name, want := range map[string]cpuemu.Severity{"info": cpuemu.SeverityInfo, "warn": cpuemu.SeverityWarning, "warning": cpuemu.SeverityWarning, "error": cpuemu.SeverityError, "fatal": cpuemu.SeverityFatal} {
		if got, err := cpuemu.ParseSeverity(name); got != want || err != nil {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := cpuemu.ParseSeverity("Warning"); err == nil {
		t.Errorf("ParseSeverity(Warning) took a name it does not list")
	}
}

// TestReportJSONSeverity: in real reports, every hazard and every sync
// error carries "severity" ("error": all of races.cu's bugs are data races
// and sync errors), and the report names its schema.
func TestReportJSONSeverity(t *testing.T) {
	m := racesPTX(t)
	hazards, syncs := 0, 0
	for _, k := range []map[string]string{
		{"kernel": "syncwarp_mask_bug", "grid": "1", "block": "64", "args": "iota:64,zeros:64"},
		{"kernel": "barrier_divergence_bug", "grid": "1", "block": "64", "args": "iota:64,zeros:64"},
		{"kernel": "global_publish_bug", "grid": "4", "block": "64", "args": "zeros:8"},
	} {
		rep, err := reportLaunch(m, k)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Schema  string           `json:"schema"`
			Hazards []map[string]any `json:"hazards"`
			Sync    []map[string]any `json:"sync_errors"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Schema != "gpubuf.race/v1" {
			t.Errorf("%s: schema %q", k["kernel"], doc.Schema)
		}
		for _, f := range append(doc.Hazards, doc.Sync...) {
			if f["severity"] != "error" {
				t.Errorf("%s: finding without severity error: %v", k["kernel"], f)
			}
		}
		hazards += len(doc.Hazards)
		syncs += len(doc.Sync)
	}
	if hazards == 0 || syncs == 0 {
		t.Fatalf("the kernels gave %d hazards and %d sync errors: the test checked nothing", hazards, syncs)
	}
}
