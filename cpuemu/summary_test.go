package cpuemu

import (
	"errors"
	"strings"
	"testing"
)

// A CheckError's text names its first finding by both sites, with a
// count, after the counts; errors.As still reaches the whole report. The
// test holds what follows the counts ("" when nothing may follow).
func TestCheckErrorFirstFinding(t *testing.T) {
	w := Site{PTXLine: 40, Loc: "a.cu:12", Instr: "st.shared.u32"}
	r := Site{PTXLine: 44, Loc: "a.cu:14", Instr: "ld.shared.u32"}
	raw := Hazard{Type: "RAW", Scope: "intra-warp", Space: "shared", Prior: Access{Kind: "Write", Site: w}, Later: Access{Kind: "Read", Site: r}, Count: 120, Severity: SeverityError}
	warn := raw
	warn.Type, warn.Severity, warn.Count = "WAW", SeverityWarning, 1
	warn.Later = Access{Kind: "Write", Site: w}
	mask := Diagnostic{Kind: "mask-excludes-self", Msg: "lane 3 executes bar.warp.sync with membermask 0x00000001, which does not contain it", Site: Site{PTXLine: 20, Loc: "a.cu:5"}, Count: 1, Severity: SeverityError}
	for _, c := range []struct {
		name string
		r    *Report
		want string
	}{
		{"one hazard", &Report{Kernel: "k", Hazards: []Hazard{raw}},
			"; first: RAW hazard (intra-warp, shared memory) between Write at a.cu:12 (ptx line 40) and Read at a.cu:14 (ptx line 44), 120 times"},
		// The first at the highest severity: the warning comes first in
		// the report, the error is named.
		{"an error after a warning", &Report{Kernel: "k", Hazards: []Hazard{warn, raw}, Sync: []Diagnostic{mask}},
			"; first: RAW hazard (intra-warp, shared memory) between Write at a.cu:12 (ptx line 40) and Read at a.cu:14 (ptx line 44), 120 times; 2 more findings in the report"},
		{"a sync error alone", &Report{Kernel: "k", Sync: []Diagnostic{mask}},
			"; first: sync error mask-excludes-self at a.cu:5 (ptx line 20): lane 3 executes bar.warp.sync with membermask 0x00000001, which does not contain it, 1 time"},
		{"a fatal error alone", &Report{Kernel: "k", Fatal: &DeadlockError{Kernel: "k", Waiters: []string{"w"}}},
			""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := error(&CheckError{Report: c.r})
			msg := err.Error()
			after := ""
			if i := strings.Index(msg, "; first: "); i >= 0 {
				after = msg[i:]
			}
			if !strings.HasPrefix(msg, "kernel k: checker: ") || after != c.want {
				t.Errorf("got\n%s\nwant the counts, then\n%s", msg, c.want)
			}
			var ce *CheckError
			if !errors.As(err, &ce) || ce.Report != c.r {
				t.Errorf("errors.As does not give the report")
			}
		})
	}
}
