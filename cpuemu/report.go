package cpuemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The checker's findings. A launch with LaunchConfig.Check set returns a
// Report in Result.Report; when the report is not clean the launch error is
// a *CheckError, whose Unwrap exposes every *Hazard, every *SyncError and
// every *MemcheckError, and the fatal error, to errors.As.

// Severity ranks a finding, as compute-sanitizer's --print-level does:
// an error is a data race, a sync error, a memory error or other
// undefined behaviour; a warning is code whose outcome depends on the
// schedule though the PTX memory model allows it, or that breaks a CUDA
// rule the PTX still completes; info is a note that is not a finding.
// SeverityFatal ranks what stops a launch (Report.Fatal), above every
// finding: no hazard or diagnostic has it, and as a print level
// (compute-sanitizer's --print-level fatal) it shows the fatal error alone.
type Severity uint8

const (
	SeverityInfo Severity = iota + 1
	SeverityWarning
	SeverityError
	SeverityFatal
)

var severityNames = [...]string{SeverityInfo: "info", SeverityWarning: "warning", SeverityError: "error", SeverityFatal: "fatal"}

func (s Severity) String() string {
	if int(s) < len(severityNames) && severityNames[s] != "" {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

// ParseSeverity reads "info", "warning" (or "warn"), "error" and
// "fatal".
func ParseSeverity(name string) (Severity, error) {
	switch name {
	case "info":
		return SeverityInfo, nil
	case "warning", "warn":
		return SeverityWarning, nil
	case "error":
		return SeverityError, nil
	case "fatal":
		return SeverityFatal, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want info, warning, error or fatal)", name)
}

// MarshalText writes the severity's name, so JSON reports carry
// "severity": "error".
func (s Severity) MarshalText() ([]byte, error) {
	if int(s) >= len(severityNames) || severityNames[s] == "" {
		return nil, fmt.Errorf("invalid severity %d", uint8(s))
	}
	return []byte(severityNames[s]), nil
}

// UnmarshalText reads what MarshalText writes.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err == nil {
		*s = v
	}
	return err
}

// Access is one side of a hazard: who touched the memory, where, and how.
type Access struct {
	Kind   string `json:"kind"` // "Read", "Write" or "Atomic"
	Site   Site   `json:"site"`
	CTA    Dim3   `json:"cta"`
	Warp   int    `json:"warp"`
	Lane   int    `json:"lane"`
	Thread Dim3   `json:"thread"`
}

func (a Access) String() string {
	return fmt.Sprintf("%s access at %s [%s] by thread %s (warp %d lane %d) in block %s", a.Kind, a.Site, a.Site.Instr, a.Thread, a.Warp, a.Lane, a.CTA)
}

// Hazard is a data race (PTX ISA §8.7.1): two accesses to overlapping bytes,
// at least one a write, by different threads, that are not morally strong
// and that no chain of synchronisation orders. At SeverityWarning it is one
// of the cases Reason explains: morally strong accesses whose outcome
// depends on the schedule, or a race that is benign in the ways the Reason
// constants say. One Hazard stands for every occurrence of its pair of
// sites; the first occurrence at the highest severity gives the details.
type Hazard struct {
	Type  string `json:"type"`  // "RAW", "WAR" or "WAW": the earlier access, then the later
	Scope string `json:"scope"` // "intra-warp", "inter-warp" (one block) or "inter-block"
	Space string `json:"space"` // "shared" or "global"
	Addr  uint64 `json:"addr"`  // shared: offset in the block's shared memory; global: device address
	Size  int    `json:"size"`  // bytes of the later access
	// Prior happened first in this run; Later is the access that found it.
	Prior Access `json:"prior"`
	Later Access `json:"later"`
	Count int    `json:"count"` // occurrences of this site pair
	// Severity is SeverityError for a data race, SeverityWarning for a
	// finding that Reason explains.
	Severity Severity `json:"severity"`
	// Reason says why a hazard is a warning (ReasonScheduleDependent,
	// ReasonRelaxedHandoff, ReasonSameValue); empty for a data race.
	Reason string `json:"reason,omitempty"`
}

func (h *Hazard) Error() string {
	return fmt.Sprintf("%s hazard (%s) on %s memory at %#x between %s and %s (%d occurrences)",
		h.Type, h.Scope, h.Space, h.Addr, h.Prior, h.Later, h.Count)
}

// SyncError is a misuse of a warp collective or a barrier: a membermask
// without the executing lane, lanes meeting at one rendezvous with
// different masks or qualifiers, a shuffle reading a lane that does not
// take part, a barrier reached by part of a warp or with mismatched
// thread counts. (A deadlock is the launch's fatal *DeadlockError.)
type SyncError struct{ Diagnostic }

func (e *SyncError) Error() string { return "sync error: " + e.Diagnostic.String() }

// MemcheckError is a memory error the checker reports that does not stop
// the launch: a read of shared memory no thread has written. (Out-of-bounds
// and misaligned accesses stop it: they are its fatal *FaultError.)
type MemcheckError struct{ Diagnostic }

func (e *MemcheckError) Error() string { return "memory error: " + e.Diagnostic.String() }

// Report is what the checker found in one launch.
type Report struct {
	Kernel  string       `json:"kernel"`
	Hazards []Hazard     `json:"hazards"`
	Sync    []Diagnostic `json:"sync_errors"`
	Memory  []Diagnostic `json:"memory_errors"`
	// Other undefined behaviour (division by zero, ...): reported, but
	// not a hazard, sync or memory error.
	Other []Diagnostic `json:"other"`
	// Notes are diagnostics that are not findings, such as printf
	// output dropped from a full buffer: a report with only notes is
	// clean.
	Notes []Diagnostic `json:"notes"`
	// Suppressions lists, once Suppress has been applied, every rule
	// with what it removed from the report; nil before.
	Suppressions []SuppressionUse `json:"suppressions,omitempty"`
	// Fatal is what stopped the launch early: a *FaultError,
	// *AssertError, *DeadlockError, *LimitError or *TimeoutError, or nil
	// when it ran to the end.
	Fatal error `json:"-"`
}

// syncKinds and memoryKinds sort diagnostics into the report's sections.
var syncKinds = map[string]bool{
	"mask-excludes-self": true, "rendezvous-mismatch": true, "shfl-invalid-source": true,
	"barrier-count": true, "barrier-count-mismatch": true, "barrier-not-aligned": true,
	"barrier-rearrive": true, "barrier-divergence": true, "legacy-warp-collective": true,
	"barrier-exited-threads": true,
	// mbarrier misuse and async copies (mbarrier.go, async.go)
	"mbarrier-uninitialised": true, "mbarrier-invalidated": true, "mbarrier-reinit": true,
	"mbarrier-over-arrival": true, "mbarrier-tx-count": true, "mbarrier-count-range": true,
	"mbarrier-nocomplete": true, "mbarrier-stale-phase": true, "mbarrier-bad-state": true,
	"mbarrier-not-shared": true, "cp-async-src-size": true, "cp-async-bulk-size": true,
}

// warningKinds are diagnostics at SeverityWarning: rules of CUDA that the
// PTX still completes.
var warningKinds = map[string]bool{"barrier-exited-threads": true}

var memoryKinds = map[string]bool{"uninitialised-shared-read": true}

// noteKinds are diagnostics that are not findings.
var noteKinds = map[string]bool{"printf-buffer-full": true}

func newReport(kernel string, diags []Diagnostic, fatal error) *Report {
	r := &Report{Kernel: kernel, Fatal: fatal, Hazards: []Hazard{}, Sync: []Diagnostic{}, Memory: []Diagnostic{}, Other: []Diagnostic{}, Notes: []Diagnostic{}}
	for _, d := range diags {
		if d.Severity == 0 {
			d.Severity = SeverityError
			if noteKinds[d.Kind] {
				d.Severity = SeverityInfo
			}
			if warningKinds[d.Kind] {
				d.Severity = SeverityWarning
			}
		}
		switch {
		case noteKinds[d.Kind]:
			r.Notes = append(r.Notes, d)
		case syncKinds[d.Kind]:
			r.Sync = append(r.Sync, d)
		case memoryKinds[d.Kind]:
			r.Memory = append(r.Memory, d)
		default:
			r.Other = append(r.Other, d)
		}
	}
	return r
}

// Clean reports whether the launch ran to the end with no finding at
// error level: no data race, sync error, memory error or other undefined
// behaviour. Warnings and notes leave a report clean.
func (r *Report) Clean() bool { return r.CleanAt(SeverityError) }

// CleanAt reports whether the launch ran to the end with no finding at
// severity min or above: CleanAt(SeverityWarning) also fails on warnings.
func (r *Report) CleanAt(min Severity) bool {
	return r.Fatal == nil && r.Findings(min) == 0
}

// Findings counts the findings at severity min or above: hazards (site
// pairs) and diagnostics, notes included at SeverityInfo.
func (r *Report) Findings(min Severity) int {
	n := 0
	for _, h := range r.Hazards {
		n += b2i(h.Severity >= min)
	}
	for _, ds := range [][]Diagnostic{r.Sync, r.Memory, r.Other, r.Notes} {
		for _, d := range ds {
			n += b2i(d.Severity >= min)
		}
	}
	return n
}

// Err is nil for a clean report, else a *CheckError carrying it.
func (r *Report) Err() error { return r.ErrAt(SeverityError) }

// ErrAt is nil when CleanAt(min), else a *CheckError carrying the report:
// ErrAt(SeverityWarning) fails on warnings too.
func (r *Report) ErrAt(min Severity) error {
	if r.CleanAt(min) {
		return nil
	}
	return &CheckError{Report: r}
}

// HazardCount is the number of hazard occurrences, summed over site pairs.
func (r *Report) HazardCount() int {
	n := 0
	for _, h := range r.Hazards {
		n += h.Count
	}
	return n
}

// CheckError is a checked launch whose report is not clean.
type CheckError struct{ Report *Report }

func (e *CheckError) Error() string {
	r := e.Report
	var parts []string
	// Errors, then warnings (a CheckError holds them when a caller counts
	// warnings as errors); notes are not findings.
	for _, sev := range []Severity{SeverityError, SeverityWarning} {
		pairs, n := 0, 0
		for _, h := range r.Hazards {
			if h.Severity == sev {
				pairs, n = pairs+1, n+h.Count
			}
		}
		if pairs > 0 {
			noun := "hazards"
			if sev == SeverityWarning {
				noun = "hazard warnings"
			}
			parts = append(parts, fmt.Sprintf("%d %s at %d site pairs", n, noun, pairs))
		}
		for _, sec := range []struct {
			what string
			ds   []Diagnostic
		}{{"sync", r.Sync}, {"memory", r.Memory}, {"other undefined behaviour", r.Other}} {
			n := 0
			for _, d := range sec.ds {
				n += b2i(d.Severity == sev)
			}
			switch {
			case n == 0:
			case sev == SeverityWarning:
				parts = append(parts, fmt.Sprintf("%d %s warnings", n, sec.what))
			case sec.what == "other undefined behaviour":
				parts = append(parts, fmt.Sprintf("%d other undefined behaviours", n))
			default:
				parts = append(parts, fmt.Sprintf("%d %s errors", n, sec.what))
			}
		}
	}
	if r.Fatal != nil {
		parts = append(parts, r.Fatal.Error())
	}
	return fmt.Sprintf("kernel %s: checker: %s", r.Kernel, strings.Join(parts, "; ")) + r.firstFinding()
}

// Unwrap gives errors.As every finding.
func (e *CheckError) Unwrap() []error {
	r := e.Report
	var errs []error
	for i := range r.Hazards {
		errs = append(errs, &r.Hazards[i])
	}
	for _, d := range r.Sync {
		errs = append(errs, &SyncError{d})
	}
	for _, d := range r.Memory {
		errs = append(errs, &MemcheckError{d})
	}
	if r.Fatal != nil {
		errs = append(errs, r.Fatal)
	}
	return errs
}

const rule = "========="

// WriteText writes the report in the manner of compute-sanitizer's
// racecheck and synccheck: one block per finding, then a summary.
func (r *Report) WriteText(w io.Writer) error { return r.WriteTextAt(w, SeverityInfo) }

// WriteTextAt is WriteText showing only the findings at severity min or
// above, as compute-sanitizer's --print-level: SeverityError leaves out
// warnings and notes, SeverityFatal every finding but the fatal error.
// Each block's header names its severity (Error, Warning; a sync or
// memory finding's "Sync error", "Sync warning"; a note's "Note"). The
// summary lines count the whole report, shown or not, and a line says
// how many findings the level left out. RACECHECK counts the site pairs
// shown, then hazard occurrences at error and at warning level;
// SYNCCHECK and MEMCHECK count errors, and add their warnings when there
// are some.
func (r *Report) WriteTextAt(w io.Writer, min Severity) error {
	var b strings.Builder
	hidden, shown := 0, 0
	for _, h := range r.Hazards {
		if h.Severity < min {
			hidden++
			continue
		}
		shown++
		fmt.Fprintf(&b, "%s %s: Race reported between %s access at %s in %s\n", rule, severityTitle(h.Severity), h.Prior.Kind, h.Prior.Site.Instr, locOrLine(h.Prior.Site))
		fmt.Fprintf(&b, "%s     and %s access at %s in %s [%d hazards]\n", rule, h.Later.Kind, h.Later.Site.Instr, locOrLine(h.Later.Site), h.Count)
		fmt.Fprintf(&b, "%s     %s %s, %s memory at %#x (%d bytes)\n", rule, h.Type, h.Scope, h.Space, h.Addr, h.Size)
		for _, a := range []struct {
			n string
			a Access
		}{{"first", h.Prior}, {"then", h.Later}} {
			fmt.Fprintf(&b, "%s     %-5s %-6s by thread %s, warp %d lane %d, block %s, ptx line %d\n",
				rule, a.n, a.a.Kind, a.a.Thread, a.a.Warp, a.a.Lane, a.a.CTA, a.a.Site.PTXLine)
		}
		if h.Reason != "" {
			fmt.Fprintf(&b, "%s     %s\n", rule, h.Reason)
		}
		b.WriteString(rule + "\n")
	}
	for _, sec := range []struct {
		title string
		ds    []Diagnostic
	}{{"Sync", r.Sync}, {"Memory", r.Memory}, {"Undefined behaviour", r.Other}, {"Note", r.Notes}} {
		for _, d := range sec.ds {
			if d.Severity < min {
				hidden++
				continue
			}
			fmt.Fprintf(&b, "%s %s: %s at %s in %s [%d times]\n", rule, diagTitle(sec.title, d.Severity), d.Kind, d.Site.Instr, locOrLine(d.Site), d.Count)
			fmt.Fprintf(&b, "%s     %s\n", rule, d.Msg)
			fmt.Fprintf(&b, "%s     block %s, warp %d, lanes %s, ptx line %d\n", rule, d.CTA, d.Warp, laneList(d.Lanes), d.Site.PTXLine)
			b.WriteString(rule + "\n")
		}
	}
	var f *FaultError
	switch {
	case errors.As(r.Fatal, &f) && f.Size > 0:
		// In the manner of memcheck: what, where, who, and why.
		fmt.Fprintf(&b, "%s Memory error: Invalid __%s__ access of size %d bytes at %s in %s\n", rule, f.Space, f.Size, f.Site.Instr, locOrLine(f.Site))
		fmt.Fprintf(&b, "%s     by thread %s, warp %d lane %d, block %s, ptx line %d\n", rule, f.Thread, f.Warp, f.Lane, f.CTA, f.Site.PTXLine)
		fmt.Fprintf(&b, "%s     address %#x is %s; the launch stopped here\n", rule, f.Addr, f.Kind)
		b.WriteString(rule + "\n")
	case r.Fatal != nil:
		fmt.Fprintf(&b, "%s Fatal: %s\n", rule, strings.ReplaceAll(r.Fatal.Error(), "\n", "\n"+rule+"     "))
		b.WriteString(rule + "\n")
	}
	r.writeSuppressions(&b)
	if hidden > 0 {
		fmt.Fprintf(&b, "%s %d findings below print level %s not shown\n", rule, hidden, min)
	}
	hazErr, hazWarn := 0, 0
	for _, h := range r.Hazards {
		switch h.Severity {
		case SeverityError:
			hazErr += h.Count
		case SeverityWarning:
			hazWarn += h.Count
		}
	}
	fmt.Fprintf(&b, "%s RACECHECK SUMMARY: %d hazards displayed (%d errors, %d warnings)\n", rule, shown, hazErr, hazWarn)
	fmt.Fprintf(&b, "%s SYNCCHECK SUMMARY: %s\n", rule, errorsWarnings(r.Sync, 0))
	fmt.Fprintf(&b, "%s MEMCHECK SUMMARY: %s\n", rule, errorsWarnings(r.Memory, b2i(isMemFault(r.Fatal))))
	_, err := io.WriteString(w, b.String())
	return err
}

// severityTitle is a hazard block's header word.
func severityTitle(s Severity) string {
	switch s {
	case SeverityWarning:
		return "Warning"
	case SeverityInfo:
		return "Info"
	}
	return "Error"
}

// diagTitle is a diagnostic block's header: "Sync error", "Memory
// warning", "Undefined behaviour", a note's "Note"; a finding of another
// severity than its section's usual one says so ("Note (error)").
func diagTitle(section string, s Severity) string {
	switch section {
	case "Sync", "Memory":
		return section + " " + s.String()
	case "Note":
		if s == SeverityInfo {
			return section
		}
	default:
		if s == SeverityError {
			return section
		}
	}
	return fmt.Sprintf("%s (%s)", section, s)
}

// errorsWarnings is a summary line's count: "N errors", with ", M
// warnings" when there are some; extra errors are added (the fatal fault
// a memcheck line counts).
func errorsWarnings(ds []Diagnostic, extra int) string {
	e, w := extra, 0
	for _, d := range ds {
		switch d.Severity {
		case SeverityError:
			e++
		case SeverityWarning:
			w++
		}
	}
	if w == 0 {
		return fmt.Sprintf("%d errors", e)
	}
	return fmt.Sprintf("%d errors, %d warnings", e, w)
}

func locOrLine(s Site) string {
	if s.Loc != "" {
		return s.Loc
	}
	return fmt.Sprintf("ptx line %d", s.PTXLine)
}

func isMemFault(err error) bool {
	var f *FaultError
	return errors.As(err, &f) && f.Size > 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ReportSchema names the version of the JSON form of a report (and of
// 'gpubuf race --json', which holds one): docs/race-report.md describes
// it, docs/race-report.schema.json is its JSON Schema. Within v1, fields
// are only added; a field removed, renamed or given another meaning
// makes v2.
const ReportSchema = "gpubuf.race/v1"

// reportJSON is the JSON form of a Report: the fatal error as its type and
// text.
type reportJSON struct {
	Schema string `json:"schema"`
	*reportAlias
	Clean bool       `json:"clean"`
	Fatal *fatalJSON `json:"fatal"`
}

type reportAlias Report

type fatalJSON struct {
	Type    string `json:"type"` // "fault", "assert", "deadlock", "limit", "timeout" or "error"
	Message string `json:"message"`
}

// MarshalJSON writes the report for tools.
func (r *Report) MarshalJSON() ([]byte, error) {
	j := reportJSON{Schema: ReportSchema, reportAlias: (*reportAlias)(r), Clean: r.Clean()}
	if r.Fatal != nil {
		t := "error"
		var (
			f  *FaultError
			a  *AssertError
			d  *DeadlockError
			l  *LimitError
			to *TimeoutError
		)
		switch {
		case errors.As(r.Fatal, &f):
			t = "fault"
		case errors.As(r.Fatal, &a):
			t = "assert"
		case errors.As(r.Fatal, &d):
			t = "deadlock"
		case errors.As(r.Fatal, &l):
			t = "limit"
		case errors.As(r.Fatal, &to):
			t = "timeout"
		}
		j.Fatal = &fatalJSON{Type: t, Message: r.Fatal.Error()}
	}
	return json.Marshal(j)
}
