package emutest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// Run is what one launch under one schedule gave, for CheckSchedules and
// RunSchedules: the launch's result (from LaunchReport, so that its report
// is there whatever the checker found) and the outputs to compare across
// schedules, read back after the launch.
type Run struct {
	Result  *cpuemu.Result
	Outputs []Output
}

// Output is one output of a run: a name for messages ("out"), its bytes,
// and how to show them. An Output made with Out shows elements of its
// type; one made by hand shows bytes.
type Output struct {
	Name  string
	Bytes []byte
	elem  elemType
}

// Element is a type whose values an Output can hold and show, and whose
// slices the typed buffer helpers write and read: fixed-size integers and
// floats, little-endian on the device as on the GPU.
type Element interface {
	int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64 | float32 | float64
}

// Out is the output name holding v, compared and shown element by
// element: emutest.Out("out", emutest.Int32s(t, dev, p, n)).
func Out[T Element](name string, v []T) Output {
	b, err := binary.Append(nil, binary.LittleEndian, v)
	if err != nil { // an Element slice always encodes
		panic(fmt.Sprintf("emutest: encoding %T: %v", v, err))
	}
	return Output{Name: name, Bytes: b, elem: elemOf[T]()}
}

// elemType is how an Output shows its elements; the zero value is bytes.
type elemType struct {
	name   string
	size   int
	format func([]byte) string
}

func elemOf[T Element]() elemType {
	var z T
	return elemType{name: fmt.Sprintf("%T", z), size: binary.Size(z), format: func(b []byte) string {
		var v T
		if _, err := binary.Decode(b, binary.LittleEndian, &v); err != nil {
			return fmt.Sprintf("% x", b)
		}
		if x, ok := any(v).(uint8); ok {
			return fmt.Sprintf("%#02x", x)
		}
		return fmt.Sprint(v)
	}}
}

func (o Output) elemType() elemType {
	if o.elem.size == 0 {
		return elemType{name: "byte", size: 1, format: func(b []byte) string { return fmt.Sprintf("%#02x", b[0]) }}
	}
	return o.elem
}

// ScheduleReport is what the runs of one test under several schedules
// found: each distinct finding once, with the schedules that hit it, and
// every output that a schedule changed from the reference's.
type ScheduleReport struct {
	Kernel    string
	Schedules []Schedule // in the order they ran
	// Reference is the first schedule (lockstep in Schedules(n)): the
	// other runs' outputs are compared with its.
	Reference Schedule
	// Findings are the distinct findings, in the order of Report's
	// sections and, within one, of first appearance.
	Findings []Finding
	// Report holds each distinct finding once, as the first schedule
	// that hit it reported it, and its Fatal is the first fatal error of
	// the runs; WriteText shows it as a single launch's report.
	Report *cpuemu.Report
	// Diffs are the outputs that differ from the reference's, one per
	// schedule and output.
	Diffs []OutputDiff
}

// Finding is one distinct finding across the runs.
type Finding struct {
	// What is the finding as the first schedule that hit it reported it:
	// a hazard's or a diagnostic's Summary, or "fatal deadlock: ...".
	What     string
	Severity cpuemu.Severity
	Hits     []Hit // the schedules that hit it, in the order they ran
}

// Hit is one schedule's share of a finding.
type Hit struct {
	Schedule Schedule
	Count    int // occurrences in that run
	// Type is a hazard's type in that run ("RAW"), or its types in the
	// order seen ("WAR+RAW") when the run met the two accesses in both
	// orders; "" for other findings.
	Type string
}

// Clean reports whether no run had a finding at error level.
func (r *ScheduleReport) Clean() bool { return r.Report.Clean() }

// OutputsAgree reports whether every run gave the reference's outputs.
func (r *ScheduleReport) OutputsAgree() bool { return len(r.Diffs) == 0 }

// String is the whole report: a summary line, one line per distinct
// finding with its schedules, one per changed output, then the findings in
// the form Report.WriteText gives them (each once).
func (r *ScheduleReport) String() string {
	var b strings.Builder
	n := len(r.Findings)
	fmt.Fprintf(&b, "kernel %s: %d distinct finding%s in %d schedule%s (%s)", r.Kernel, n, plural(n), len(r.Schedules), plural(len(r.Schedules)), scheduleList(r.Schedules))
	if changed := r.changedSchedules(); len(changed) > 0 {
		fmt.Fprintf(&b, "; outputs differ from %s's under %s", r.Reference, scheduleList(changed))
	}
	b.WriteByte('\n')
	for i, f := range r.Findings {
		fmt.Fprintf(&b, "  %d. %s %s: %s\n", i+1, f.Severity, f.What, f.hitText(len(r.Schedules)))
	}
	for _, d := range r.Diffs {
		fmt.Fprintf(&b, "  %s\n", d)
	}
	if n > 0 {
		b.WriteString("each finding as the first schedule that hit it reported it:\n")
		b.WriteString(reportText(r.Report))
	}
	return strings.TrimRight(b.String(), "\n")
}

// changedSchedules lists the schedules that changed an output.
func (r *ScheduleReport) changedSchedules() []Schedule {
	var ss []Schedule
	for _, d := range r.Diffs {
		if len(ss) == 0 || ss[len(ss)-1] != d.Schedule {
			ss = append(ss, d.Schedule)
		}
	}
	return ss
}

// hitText is "3 of 7 schedules: lockstep 32, roundrobin 32, adversarial
// 32 as WAR+RAW": a hit whose type differs from the first hit's says so.
func (f Finding) hitText(runs int) string {
	parts := make([]string, len(f.Hits))
	for i, h := range f.Hits {
		parts[i] = fmt.Sprintf("%s %d", h.Schedule, h.Count)
		if h.Type != f.Hits[0].Type {
			parts[i] += " as " + h.Type
		}
	}
	return fmt.Sprintf("%d of %d schedule%s: %s", len(f.Hits), runs, plural(runs), strings.Join(parts, ", "))
}

// OutputDiff is an output that one schedule changed from the
// reference's.
type OutputDiff struct {
	Schedule  Schedule
	Reference Schedule
	Output    string // its name
	Elem      string // the element type: "int32", "byte"
	// Len and RefLen are the output's lengths in elements, in this run
	// and in the reference's; elements past the shorter one count as
	// changed.
	Len, RefLen int
	Changed     int // elements that differ
	// Ranges are the first maxDiffRanges runs of changed elements, as
	// inclusive [first, last] indices; Runs counts them all.
	Ranges [][2]int
	Runs   int
	shown  []string // per range: the values, reference then this run's
}

// Bounds on what an OutputDiff keeps and shows, whatever the output's
// size: ranges, and elements per range.
const (
	maxDiffRanges = 4
	maxDiffShown  = 8
)

// String is "schedule adversarial changed out[1..31] (31 of 32 int32s):
// lockstep [100 101 ...], adversarial [0 0 ...]".
func (d OutputDiff) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schedule %s changed %s", d.Schedule, d.Output)
	for i, r := range d.Ranges {
		if i > 0 {
			b.WriteString(",")
		}
		if r[0] == r[1] {
			fmt.Fprintf(&b, "[%d]", r[0])
		} else {
			fmt.Fprintf(&b, "[%d..%d]", r[0], r[1])
		}
	}
	if more := d.Runs - len(d.Ranges); more > 0 {
		fmt.Fprintf(&b, " and %d more range%s", more, plural(more))
	}
	fmt.Fprintf(&b, " (%d of %d %ss", d.Changed, max(d.Len, d.RefLen), d.Elem)
	if d.Len != d.RefLen {
		fmt.Fprintf(&b, "; %d under %s, %d under %s", d.Len, d.Schedule, d.RefLen, d.Reference)
	}
	b.WriteString(")")
	for i, s := range d.shown {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		if len(d.shown) > 1 {
			// Which range these values are of.
			fmt.Fprintf(&b, "[%d..%d] ", d.Ranges[i][0], d.Ranges[i][1])
		}
		b.WriteString(s)
	}
	return b.String()
}

// diffOutput compares got with ref element by element.
func diffOutput(s, refSched Schedule, ref, got Output) (OutputDiff, bool) {
	et := ref.elemType()
	d := OutputDiff{Schedule: s, Reference: refSched, Output: ref.Name, Elem: et.name,
		Len: len(got.Bytes) / et.size, RefLen: len(ref.Bytes) / et.size}
	n := max(d.Len, d.RefLen)
	at := func(b []byte, i int) []byte {
		if (i+1)*et.size > len(b) {
			return nil
		}
		return b[i*et.size : (i+1)*et.size]
	}
	show := func(b []byte, lo, hi int) string {
		var vs []string
		for i := lo; i <= hi && i < lo+maxDiffShown; i++ {
			if e := at(b, i); e != nil {
				vs = append(vs, et.format(e))
			} else {
				vs = append(vs, "-")
			}
		}
		if hi-lo+1 > maxDiffShown {
			vs = append(vs, "...")
		}
		return "[" + strings.Join(vs, " ") + "]"
	}
	for i := 0; i < n; {
		if bytes.Equal(at(ref.Bytes, i), at(got.Bytes, i)) {
			i++
			continue
		}
		lo := i
		for i < n && !bytes.Equal(at(ref.Bytes, i), at(got.Bytes, i)) {
			i++
		}
		hi := i - 1
		d.Changed += hi - lo + 1
		d.Runs++
		if len(d.Ranges) < maxDiffRanges {
			d.Ranges = append(d.Ranges, [2]int{lo, hi})
			d.shown = append(d.shown, fmt.Sprintf("%s %s, %s %s", refSched, show(ref.Bytes, lo, hi), s, show(got.Bytes, lo, hi)))
		}
	}
	return d, d.Changed > 0
}

// CheckSchedules runs a launch once under each schedule, through run, and
// fails the test once, with a ScheduleReport, when any run has a finding
// at error level (or a warning, after WarningsAsErrors(t)) or when a schedule changes an output from the first
// schedule's. run prepares fresh inputs (a new device and buffers: a racy
// run must not feed the next), launches with LaunchReport under
// s.Config(cfg), and returns the result with the outputs to compare.
//
// With a clean report, an output that changes with the schedule is a bug
// the checker does not see as a race (an order of atomics the test
// assumed, or a schedule-dependent warning), so it fails the test too;
// a test that expects findings or differing outputs calls RunSchedules.
//
// It returns the report (nil when a run failed the test on its own).
func CheckSchedules(t testing.TB, schedules []Schedule, run func(s Schedule) Run) *ScheduleReport {
	t.Helper()
	r := RunSchedules(t, schedules, run)
	if r == nil {
		return nil
	}
	if !r.Report.CleanAt(failLevel(t)) || !r.OutputsAgree() {
		t.Errorf("emutest: %s", r)
	}
	return r
}

// RunSchedules runs a launch under each schedule as CheckSchedules does
// and returns the merged report whatever it found. It fails the test only
// when there is nothing to compare: no schedules, a run that returned no
// checker report, or runs whose outputs do not match in number or name.
func RunSchedules(t testing.TB, schedules []Schedule, run func(s Schedule) Run) *ScheduleReport {
	t.Helper()
	if len(schedules) == 0 || run == nil {
		t.Fatalf("emutest: RunSchedules needs at least one schedule and a run function")
		return nil
	}
	m := newMerger()
	var ref []Output
	for i, s := range schedules {
		got := run(s)
		if got.Result == nil || got.Result.Report == nil {
			t.Fatalf("emutest: the run under %s returned no checker report (launch with LaunchReport)", s)
			return nil
		}
		if i == 0 {
			m.r.Kernel = got.Result.Report.Kernel
			m.r.Report.Kernel = m.r.Kernel
			m.r.Reference = s
			ref = got.Outputs
		} else if err := sameOutputs(ref, got.Outputs); err != nil {
			t.Fatalf("emutest: the run under %s: %v", s, err)
			return nil
		} else {
			for j := range ref {
				if d, ok := diffOutput(s, schedules[0], ref[j], got.Outputs[j]); ok {
					m.r.Diffs = append(m.r.Diffs, d)
				}
			}
		}
		m.add(s, got.Result.Report)
	}
	return m.finish()
}

// sameOutputs checks that a run returned the reference's outputs: their
// number, names and element types.
func sameOutputs(ref, got []Output) error {
	names := func(os []Output) string {
		s := make([]string, len(os))
		for i, o := range os {
			s[i] = o.Name + " " + o.elemType().name
		}
		return "[" + strings.Join(s, ", ") + "]"
	}
	if len(ref) != len(got) {
		return fmt.Errorf("outputs %s; the first run's were %s", names(got), names(ref))
	}
	for i := range ref {
		if ref[i].Name != got[i].Name || ref[i].elemType().name != got[i].elemType().name {
			return fmt.Errorf("outputs %s; the first run's were %s", names(got), names(ref))
		}
	}
	return nil
}

// merger gathers the runs' findings by identity.
//
// A hazard is the unordered pair of its two accesses (kind and site): one
// schedule meets the write first (RAW), another the read (WAR), and they
// are one race. A diagnostic is its section, kind and site; a fatal error
// is its kind, and its site where it has one.
type merger struct {
	r     *ScheduleReport
	index map[findingKey]*finding
	fs    []*finding // in order of first appearance
}

type finding struct {
	Finding
	rank int // the report section: hazards, sync, memory, other, notes, fatal
}

type findingKey struct {
	rank int
	a, b accessKey
}

type accessKey struct {
	kind string
	site cpuemu.Site
}

func newMerger() *merger {
	return &merger{
		r: &ScheduleReport{Report: &cpuemu.Report{Hazards: []cpuemu.Hazard{}, Sync: []cpuemu.Diagnostic{},
			Memory: []cpuemu.Diagnostic{}, Other: []cpuemu.Diagnostic{}, Notes: []cpuemu.Diagnostic{}}},
		index: map[findingKey]*finding{},
	}
}

func hazardKey(h *cpuemu.Hazard) findingKey {
	a, b := accessKey{h.Prior.Kind, h.Prior.Site}, accessKey{h.Later.Kind, h.Later.Site}
	if accessLess(b, a) {
		a, b = b, a
	}
	return findingKey{a: a, b: b}
}

func accessLess(x, y accessKey) bool {
	if x.site.PTXLine != y.site.PTXLine {
		return x.site.PTXLine < y.site.PTXLine
	}
	return x.kind < y.kind
}

// hit counts one occurrence group of the finding k in the run under s,
// and reports whether the finding is new.
func (m *merger) hit(s Schedule, k findingKey, what string, sev cpuemu.Severity, count int, typ string) bool {
	f, seen := m.index[k]
	if !seen {
		f = &finding{Finding: Finding{What: what, Severity: sev}, rank: k.rank}
		m.index[k] = f
		m.fs = append(m.fs, f)
	}
	if n := len(f.Hits); n > 0 && f.Hits[n-1].Schedule == s {
		// The same race met in both orders in one run.
		h := &f.Hits[n-1]
		h.Count += count
		if typ != "" && !slices.Contains(strings.Split(h.Type, "+"), typ) {
			h.Type += "+" + typ
		}
		return false
	}
	f.Hits = append(f.Hits, Hit{Schedule: s, Count: count, Type: typ})
	return !seen
}

// add merges one run's report and returns the keys of its findings, in
// the report's order.
func (m *merger) add(s Schedule, rep *cpuemu.Report) []findingKey {
	m.r.Schedules = append(m.r.Schedules, s)
	var keys []findingKey
	for i := range rep.Hazards {
		h := &rep.Hazards[i]
		k := hazardKey(h)
		keys = append(keys, k)
		if m.hit(s, k, h.Summary(), h.Severity, h.Count, h.Type) {
			m.r.Report.Hazards = append(m.r.Report.Hazards, *h)
		}
	}
	for rank, sec := range []struct {
		ds   []cpuemu.Diagnostic
		into *[]cpuemu.Diagnostic
	}{1: {rep.Sync, &m.r.Report.Sync}, 2: {rep.Memory, &m.r.Report.Memory}, 3: {rep.Other, &m.r.Report.Other}, 4: {rep.Notes, &m.r.Report.Notes}} {
		for _, d := range sec.ds {
			k := findingKey{rank: rank, a: accessKey{d.Kind, d.Site}}
			keys = append(keys, k)
			if m.hit(s, k, d.Summary(), d.Severity, d.Count, "") {
				*sec.into = append(*sec.into, d)
			}
		}
	}
	if rep.Fatal != nil {
		kind, site := fatalKind(rep.Fatal)
		k := findingKey{rank: 5, a: accessKey{kind, site}}
		keys = append(keys, k)
		if m.hit(s, k, "fatal "+kind+": "+firstLine(rep.Fatal.Error()), cpuemu.SeverityError, 1, "") && m.r.Report.Fatal == nil {
			m.r.Report.Fatal = rep.Fatal
		}
	}
	return keys
}

// finish lays the findings out in the order of the report's sections, as
// WriteText shows them, each section in order of first appearance.
func (m *merger) finish() *ScheduleReport {
	fs := slices.Clone(m.fs)
	slices.SortStableFunc(fs, func(a, b *finding) int { return a.rank - b.rank })
	m.r.Findings = make([]Finding, len(fs))
	for i, f := range fs {
		m.r.Findings[i] = f.Finding
	}
	return m.r
}

// fatalKind names what stopped a launch, and where when it says.
func fatalKind(err error) (string, cpuemu.Site) {
	var (
		f  *cpuemu.FaultError
		a  *cpuemu.AssertError
		d  *cpuemu.DeadlockError
		l  *cpuemu.LimitError
		to *cpuemu.TimeoutError
	)
	switch {
	case errors.As(err, &f):
		return "fault " + f.Kind, f.Site
	case errors.As(err, &a):
		return "assert", a.Site
	case errors.As(err, &d):
		return "deadlock", cpuemu.Site{}
	case errors.As(err, &l):
		return "limit " + l.Limit, cpuemu.Site{}
	case errors.As(err, &to):
		return "timeout", cpuemu.Site{}
	}
	return fmt.Sprintf("%T", err), cpuemu.Site{}
}

func scheduleList(ss []Schedule) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.String()
	}
	return strings.Join(names, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
