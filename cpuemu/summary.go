package cpuemu

import (
	"fmt"
	"strings"
)

// One-line forms of findings, for a launch error's text and for tools that
// list findings (emutest's cross-schedule report): what and where, by both
// sites, without who (thread, lane, address), which WriteText gives.

// Summary is the hazard by its two sites: "RAW hazard (intra-warp, shared
// memory) between Write at k.cu:12 (ptx line 40) and Read at k.cu:14 (ptx
// line 44)".
func (h *Hazard) Summary() string {
	return fmt.Sprintf("%s hazard (%s, %s memory) between %s at %s and %s at %s",
		h.Type, h.Scope, h.Space, h.Prior.Kind, h.Prior.Site, h.Later.Kind, h.Later.Site)
}

// Summary is the diagnostic by its report section, kind and site: "sync
// error mask-excludes-self at k.cu:5 (ptx line 20): lane 3 executes ...".
func (d Diagnostic) Summary() string {
	return fmt.Sprintf("%s %s at %s: %s", diagSection(d.Kind), d.Kind, d.Site, d.Msg)
}

// diagSection is the report section a diagnostic's kind puts it in, as
// newReport sorts them.
func diagSection(kind string) string {
	switch {
	case noteKinds[kind]:
		return "note"
	case syncKinds[kind]:
		return "sync error"
	case memoryKinds[kind]:
		return "memory error"
	}
	return "undefined behaviour"
}

// firstFinding is what a *CheckError adds to its counts: "; first: " and
// the first finding at the report's highest severity, in WriteText's
// order, with its count, and how many findings more the report holds: an
// error message names one place to look, and errors.As (*CheckError)
// gives the whole report. It is "" when the report has no finding (only
// a fatal error, which the counts already say).
func (r *Report) firstFinding() string {
	var first string
	var best Severity
	total := 0
	consider := func(sev Severity, text func() string) {
		total++
		if total == 1 || sev > best {
			best, first = sev, text()
		}
	}
	for i := range r.Hazards {
		h := &r.Hazards[i]
		consider(h.Severity, func() string { return fmt.Sprintf("%s, %d time%s", h.Summary(), h.Count, plural(h.Count)) })
	}
	for _, ds := range [][]Diagnostic{r.Sync, r.Memory, r.Other} {
		for _, d := range ds {
			consider(d.Severity, func() string { return fmt.Sprintf("%s, %d time%s", d.Summary(), d.Count, plural(d.Count)) })
		}
	}
	if total == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("; first: " + firstLine(first))
	if more := total - 1; more > 0 {
		fmt.Fprintf(&b, "; %d more finding%s in the report", more, plural(more))
	}
	return b.String()
}
