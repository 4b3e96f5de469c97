// Package sarif writes the race and sync checker's reports as a SARIF
// 2.1.0 log, the format code scanning reads (GitHub's among others), so
// that findings land as annotations on the CUDA lines of a pull request.
//
// A Log gathers the reports of any number of checked launches (a test
// binary runs many kernels, each under several schedules) into one run of
// the tool "gpubuf", one result per distinct finding:
//
//   - a hazard (a site pair): its later access is the result's location,
//     the prior access a related location that the message links to;
//   - a sync error, a memory error, other undefined behaviour, a note;
//   - a fatal error: a memory fault, a failed assert, a deadlock, a limit.
//
// A finding seen in several launches (the same rule at the same sites) is
// one result whose occurrenceCount sums them, with the kernels and
// schedules listed in its properties. Rule ids are stable (see Rules and
// docs/ci.md); a result's level is the finding's severity: error, warning,
// or note for info.
//
// Locations are the CUDA file and line from the PTX's debug lines (nvcc
// -lineinfo), falling back to the PTX file and line. A relative path is
// relative to %SRCROOT% (uriBaseId "SRCROOT"); an absolute one under
// Options.SrcRoot is made relative to it, and one outside stays an
// absolute file: URI.
package sarif

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	gs "github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/gpubuf/gpubuf/cpuemu"
)

const (
	// ToolName is the SARIF tool.driver.name.
	ToolName = "gpubuf"
	// InformationURI is the tool's home page.
	InformationURI = "https://github.com/gpubuf/gpubuf"
	// SrcRoot is the uriBaseId of relative locations.
	SrcRoot = "SRCROOT"

	// schemaURI is where the specification (§3.13.3) says the schema is.
	schemaURI  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	modulePath = "github.com/gpubuf/gpubuf"
	// maxSchedules bounds the schedules a result lists: a test may run a
	// kernel under hundreds of seeds.
	maxSchedules = 32
)

// Launch is one checked launch to report.
type Launch struct {
	Report *cpuemu.Report
	// PTX is the PTX module's path, relative to the source root or
	// absolute: the location of a finding whose instruction has no CUDA
	// line. "" leaves such findings with the kernel's name only.
	PTX string
	// Schedule is what the launch ran under ("lockstep", "random seed
	// 3"), listed with each of its results; "" for none.
	Schedule string
}

// Options shape a Log.
type Options struct {
	// SrcRoot is the absolute directory that %SRCROOT% stands for:
	// absolute paths under it are written relative to it, and the log
	// records it in originalUriBaseIds. "" leaves absolute paths
	// absolute and the root to the reader (code scanning takes the
	// repository's root).
	SrcRoot string
	// Version is the tool version written; "" reads it from the build
	// (the gpubuf module's version, or "devel").
	Version string
	// Category, when set, is the run's runAutomationDetails.id: code
	// scanning keeps the alerts of runs of different categories apart
	// (one per test package, say). It ends in "/".
	Category string
}

// Log gathers findings. It is not safe for concurrent use.
type Log struct {
	opts     Options
	findings []*finding
	byKey    map[string]*finding
	failures []string
	launches int
}

// finding is one result: the first occurrence's text and locations, and
// what the later ones add.
type finding struct {
	rule      Rule
	level     string
	message   string
	primary   *gs.Location
	related   []*gs.Location
	props     map[string]any
	count     int
	launches  int
	kernels   []string
	schedules []string
	more      int // schedules not listed
}

// NewLog makes an empty log.
func NewLog(opts Options) *Log {
	if opts.Version == "" {
		opts.Version = toolVersion()
	}
	return &Log{opts: opts, byKey: map[string]*finding{}}
}

// Add adds a launch's findings. A nil report adds nothing.
func (l *Log) Add(ln Launch) {
	r := ln.Report
	if r == nil {
		return
	}
	l.launches++
	for _, h := range r.Hazards {
		l.addHazard(ln, h)
	}
	for _, sec := range []struct {
		name string
		ds   []cpuemu.Diagnostic
	}{{"sync", r.Sync}, {"memory", r.Memory}, {"ub", r.Other}, {"note", r.Notes}} {
		for _, d := range sec.ds {
			l.addDiagnostic(ln, sec.name, d)
		}
	}
	if r.Fatal != nil {
		l.addFatal(ln, r.Fatal)
	}
}

// AddFailure records a launch that gave no report (it could not start, or
// the emulator broke): the log then says the analysis did not succeed,
// rather than reading as clean.
func (l *Log) AddFailure(kernel string, err error) {
	l.failures = append(l.failures, fmt.Sprintf("kernel %s: %v", kernel, err))
}

// Fail records that the analysis as a whole did not succeed, for a reason
// that belongs to no one launch (a program whose launches were never
// reported): the log then says so, rather than reading as clean.
func (l *Log) Fail(msg string) { l.failures = append(l.failures, msg) }

// Len is the number of results.
func (l *Log) Len() int { return len(l.findings) }

// level maps a severity to a SARIF level.
func level(s cpuemu.Severity) string {
	switch {
	case s >= cpuemu.SeverityError:
		return "error"
	case s == cpuemu.SeverityWarning:
		return "warning"
	}
	return "note"
}

func (l *Log) addHazard(ln Launch, h cpuemu.Hazard) {
	class, what := "race", "data race"
	if h.Severity < cpuemu.SeverityError {
		class, what = "schedule", "schedule-dependent access"
	}
	rule := ruleFor(fmt.Sprintf("%s/%s/%s", class, h.Type, h.Scope))
	later := l.location(h.Later.Site, ln.PTX, ln.Report.Kernel)
	prior := l.location(h.Prior.Site, ln.PTX, ln.Report.Kernel).WithId(1).
		WithMessage(gs.NewTextMessage(fmt.Sprintf("%s by thread %s (warp %d, lane %d, block %s)", h.Prior.Kind, h.Prior.Thread, h.Prior.Warp, h.Prior.Lane, h.Prior.CTA)))
	msg := fmt.Sprintf("%s %s (%s) on %s memory at %#x (%d bytes): %s by thread %s (warp %d, lane %d, block %s) at [%s](1)%s, then %s by thread %s (warp %d, lane %d, block %s) here, at %s%s, with nothing ordering them",
		h.Type, what, h.Scope, h.Space, h.Addr, h.Size,
		h.Prior.Kind, h.Prior.Thread, h.Prior.Warp, h.Prior.Lane, h.Prior.CTA, escapeLink(siteText(h.Prior.Site)), headerText(h.Prior.Site),
		h.Later.Kind, h.Later.Thread, h.Later.Warp, h.Later.Lane, h.Later.CTA, siteText(h.Later.Site), headerText(h.Later.Site))
	if class == "schedule" {
		msg += "; not a data race under the PTX memory model, but the outcome depends on lane scheduling (independent thread scheduling)"
	}
	msg += "."
	props := map[string]any{"type": h.Type, "scope": h.Scope, "space": h.Space, "size": h.Size}
	l.add(ln, rule, level(h.Severity), msg, later, []*gs.Location{prior}, props, h.Count)
}

func (l *Log) addDiagnostic(ln Launch, section string, d cpuemu.Diagnostic) {
	rule := ruleFor(section + "/" + slug(d.Kind))
	msg := fmt.Sprintf("%s: %s (block %s, warp %d, lanes %#08x, at %s%s).",
		d.Kind, d.Msg, d.CTA, d.Warp, d.Lanes, siteText(d.Site), headerText(d.Site))
	l.add(ln, rule, level(d.Severity), msg, l.location(d.Site, ln.PTX, ln.Report.Kernel), nil, map[string]any{"kind": d.Kind}, d.Count)
}

// faultRules name the memory faults' rules by FaultError.Kind.
var faultRules = map[string]string{
	"out of bounds":             "memory/out-of-bounds",
	"misaligned":                "memory/misaligned",
	"write to read-only memory": "memory/write-to-read-only",
}

func (l *Log) addFatal(ln Launch, err error) {
	var (
		f  *cpuemu.FaultError
		a  *cpuemu.AssertError
		d  *cpuemu.DeadlockError
		le *cpuemu.LimitError
		te *cpuemu.TimeoutError
	)
	id, site := "fatal/error", (*cpuemu.Site)(nil)
	switch {
	case errors.As(err, &f):
		id, site = "fatal/fault", &f.Site
		if f.Size > 0 {
			id = cmp.Or(faultRules[f.Kind], "memory/fault")
		}
	case errors.As(err, &a):
		id, site = "fatal/assert", &a.Site
		if a.Site.Loc == "" && a.File != "" && a.Line > 0 {
			s := a.Site
			s.Loc = fmt.Sprintf("%s:%d", a.File, a.Line)
			site = &s
		}
	case errors.As(err, &d):
		id = "sync/deadlock"
	case errors.As(err, &le):
		id = "fatal/limit"
	case errors.As(err, &te):
		id = "fatal/timeout"
	}
	var loc *gs.Location
	if site != nil {
		loc = l.location(*site, ln.PTX, ln.Report.Kernel)
	} else {
		loc = l.fileLocation(ln.PTX, ln.Report.Kernel)
	}
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	l.add(ln, ruleFor(id), "error", strings.TrimSuffix(msg, ".")+".", loc, nil, nil, 1)
}

// add records a finding, or counts another occurrence of one already
// recorded: the same rule at the same locations.
func (l *Log) add(ln Launch, rule Rule, lvl, msg string, primary *gs.Location, related []*gs.Location, props map[string]any, count int) {
	key := rule.ID + "\x00" + locKey(primary)
	for _, r := range related {
		key += "\x00" + locKey(r)
	}
	f, ok := l.byKey[key]
	if !ok {
		f = &finding{rule: rule, level: lvl, message: msg, primary: primary, related: related, props: props}
		l.byKey[key] = f
		l.findings = append(l.findings, f)
	}
	f.count += max(count, 1)
	f.launches++
	if k := ln.Report.Kernel; !slices.Contains(f.kernels, k) {
		f.kernels = append(f.kernels, k)
	}
	if s := ln.Schedule; s != "" && !slices.Contains(f.schedules, s) {
		if len(f.schedules) < maxSchedules {
			f.schedules = append(f.schedules, s)
		} else {
			f.more++
		}
	}
}

// locKey identifies a location for merging: its file, line, and the PTX
// line (two instructions on one CUDA line are two sites).
func locKey(loc *gs.Location) string {
	var b strings.Builder
	if p := loc.PhysicalLocation; p != nil {
		if a := p.ArtifactLocation; a != nil && a.URI != nil {
			b.WriteString(*a.URI)
		}
		if p.Region != nil && p.Region.StartLine != nil {
			fmt.Fprintf(&b, ":%d", *p.Region.StartLine)
		}
	}
	for _, ll := range loc.LogicalLocations {
		if ll.FullyQualifiedName != nil {
			b.WriteString("|" + *ll.FullyQualifiedName)
		}
	}
	if v, ok := loc.Properties["ptx_line"]; ok {
		fmt.Fprintf(&b, "#%v", v)
	}
	return b.String()
}

// siteText is where a site is, for a message: its CUDA line, or its PTX
// line, with the instruction.
func siteText(s cpuemu.Site) string {
	where := s.Loc
	if where == "" {
		where = fmt.Sprintf("ptx line %d", s.PTXLine)
	}
	if s.Instr != "" {
		where += " (" + s.Instr + ")"
	}
	return where
}

func headerText(s cpuemu.Site) string {
	if s.Header == "" {
		return ""
	}
	return ", inside " + s.Header
}

// escapeLink escapes the characters an embedded link's text may not hold
// (SARIF 2.1.0 §3.11.6).
func escapeLink(s string) string {
	return strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`).Replace(s)
}

// location is a site's location: its CUDA file and line, else the PTX
// file and line, with the kernel as the logical location and the PTX line
// and instruction in its properties.
func (l *Log) location(s cpuemu.Site, ptx, kernel string) *gs.Location {
	file, line := splitLoc(s.Loc)
	if file == "" {
		file, line = ptx, s.PTXLine
	}
	loc := l.fileLocation(file, kernel)
	if loc.PhysicalLocation != nil && line > 0 {
		loc.PhysicalLocation.WithRegion(gs.NewRegion().WithStartLine(line))
	}
	loc.Properties = gs.Properties{"ptx_line": s.PTXLine}
	if s.Instr != "" {
		loc.Properties["instruction"] = s.Instr
	}
	return loc
}

// fileLocation is a location in file (no line), or only the kernel when
// file is "".
func (l *Log) fileLocation(file, kernel string) *gs.Location {
	loc := gs.NewLocation()
	if kernel != "" {
		loc.AddLogicalLocations(gs.NewLogicalLocation().WithName(kernel).WithFullyQualifiedName(kernel).WithKind("function"))
	}
	if file == "" {
		return loc
	}
	uri, base := l.uri(file)
	al := gs.NewSimpleArtifactLocation(uri)
	if base != "" {
		al.WithUriBaseId(base)
	}
	return loc.WithPhysicalLocation(gs.NewPhysicalLocation().WithArtifactLocation(al))
}

// splitLoc splits a CUDA "file:line" at its last colon (a Windows path
// has one of its own); a Loc without a positive line is not one.
func splitLoc(loc string) (string, int) {
	i := strings.LastIndexByte(loc, ':')
	if i <= 0 {
		return "", 0
	}
	n, err := strconv.Atoi(loc[i+1:])
	if err != nil || n <= 0 {
		return "", 0
	}
	return loc[:i], n
}

// uri turns a file name from the PTX (or the command line) into a URI and
// its base: relative to SRCROOT, or an absolute file: URI.
func (l *Log) uri(file string) (string, string) {
	p := strings.ReplaceAll(file, `\`, "/")
	drive := len(p) >= 3 && p[1] == ':' && p[2] == '/' && (p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z')
	if !drive && !strings.HasPrefix(p, "/") {
		p = path.Clean(p)
		return (&url.URL{Path: p}).String(), SrcRoot
	}
	if root := l.opts.SrcRoot; root != "" {
		r := strings.TrimSuffix(strings.ReplaceAll(filepath.Clean(root), `\`, "/"), "/")
		if c := path.Clean(p); strings.HasPrefix(c, r+"/") {
			return (&url.URL{Path: c[len(r)+1:]}).String(), SrcRoot
		}
	}
	if drive {
		p = "/" + p
	}
	return (&url.URL{Scheme: "file", Path: path.Clean(p)}).String(), ""
}

// Write writes the log as SARIF 2.1.0 JSON.
func (l *Log) Write(w io.Writer) error {
	rep, err := l.sarif()
	if err != nil {
		return err
	}
	if err := rep.PrettyWrite(w); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// sarif builds the log: one run, its rules those the results use, in the
// order of Rules (then by id), so that the same findings give the same
// file.
func (l *Log) sarif() (*gs.Report, error) {
	rep, err := gs.New(gs.Version210)
	if err != nil {
		return nil, err
	}
	rep.Schema = schemaURI
	run := gs.NewRunWithInformationURI(ToolName, InformationURI)
	run.Tool.Driver.WithVersion(l.opts.Version)
	if l.opts.SrcRoot != "" {
		root := strings.ReplaceAll(filepath.Clean(l.opts.SrcRoot), `\`, "/")
		if !strings.HasPrefix(root, "/") {
			root = "/" + root // a Windows drive
		}
		u := (&url.URL{Scheme: "file", Path: strings.TrimSuffix(root, "/") + "/"}).String()
		run.WithOriginalUriBaseIds(map[string]*gs.ArtifactLocation{SrcRoot: gs.NewSimpleArtifactLocation(u)})
	}
	if l.opts.Category != "" {
		run.WithAutomationDetails(gs.NewRunAutomationDetails().WithID(l.opts.Category))
	}
	order := map[string]int{}
	for i, r := range Rules() {
		order[r.ID] = i
	}
	var used []Rule
	for _, f := range l.findings {
		if !slices.ContainsFunc(used, func(r Rule) bool { return r.ID == f.rule.ID }) {
			used = append(used, f.rule)
		}
	}
	slices.SortFunc(used, func(a, b Rule) int {
		oa, ka := order[a.ID]
		ob, kb := order[b.ID]
		switch {
		case ka && kb:
			return oa - ob
		case ka != kb:
			if ka {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	for _, r := range used {
		run.AddRule(r.ID).WithName(r.Name).
			WithShortDescription(gs.NewMultiformatMessageString(r.Short)).
			WithFullDescription(gs.NewMultiformatMessageString(r.Full)).
			WithHelp(gs.NewMultiformatMessageString(r.Help)).
			WithHelpURI(InformationURI + "/blob/main/docs/ci.md#rules").
			WithDefaultConfiguration(gs.NewReportingConfiguration().WithLevel(r.Level))
	}
	for _, f := range l.findings {
		// The first occurrence's text, and the count of them all.
		msg := fmt.Sprintf("%s Kernel %s: %s", f.message, strings.Join(f.kernels, ", "), plural(f.count, "occurrence"))
		if f.launches > 1 {
			msg += fmt.Sprintf(" in %d launches", f.launches)
		}
		res := gs.NewRuleResult(f.rule.ID).WithLevel(f.level).WithMessage(gs.NewTextMessage(msg + ".")).
			WithLocations([]*gs.Location{f.primary}).WithOccurrenceCount(f.count)
		if len(f.related) > 0 {
			res.WithRelatedLocations(f.related)
		}
		props := gs.Properties{"kernels": f.kernels, "launches": f.launches}
		for k, v := range f.props {
			props[k] = v
		}
		if len(f.schedules) > 0 {
			props["schedules"] = f.schedules
			if f.more > 0 {
				props["more_schedules"] = f.more
			}
		}
		res.Properties = props
		run.AddResult(res)
	}
	inv := run.AddInvocation(len(l.failures) == 0)
	for _, msg := range l.failures {
		inv.AddTToolExecutionNotification(gs.NewNotification().WithLevel("error").WithTextMessage(msg))
	}
	rep.AddRun(run)
	return rep, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// toolVersion is the gpubuf module's version in this build.
func toolVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Path == modulePath && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == modulePath && d.Version != "" {
			return d.Version
		}
	}
	return "devel"
}
