package cpuemu

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/ianlancetaylor/demangle"
)

// Suppressions name findings to leave out of a report: a data race inside
// a library header the user cannot change, a warning the user has
// judged. A suppression file holds one rule a line; docs/suppressions.md
// gives the format. Report.Suppress applies them, and the report then
// lists every rule with what it removed, so that a rule that matched
// nothing (a typo, a fixed bug) shows.

// Bounds on what a suppression file may be.
const (
	MaxSuppressionBytes = 1 << 20 // one file
	MaxSuppressionRules = 10000   // all files together
)

// Suppressions is a list of rules, in the order they were read: a
// finding is credited to the first rule that matches it.
type Suppressions struct {
	Rules []*SuppressionRule
}

// SuppressionRule is one rule: a finding matches when it matches every
// key the rule gives.
type SuppressionRule struct {
	Source string // where it was written: "FILE:LINE"
	Text   string // the rule as written, without its comment

	kinds    map[string]bool // hazard types and diagnostic kinds; nil: any
	severity Severity        // 0: any
	scope    string          // hazards only
	space    string          // hazards only
	file     string          // a glob over a site's CUDA file, "" for any
	lo, hi   int             // the line range within file; 0, 0 for any
	fn       string          // a glob over a site's functions, "" for any
	any      bool            // site=any: one site of a hazard suffices
}

// SuppressionUse is what one rule removed from a report.
type SuppressionUse struct {
	Rule        string `json:"rule"`        // where it was written: "FILE:LINE"
	Text        string `json:"text"`        // the rule
	Findings    int    `json:"findings"`    // hazards (site pairs) and diagnostics removed
	Occurrences int    `json:"occurrences"` // their occurrences (the sum of their counts)
}

// hazardTypes are the kinds a hazard has.
var hazardTypes = map[string]bool{"RAW": true, "WAR": true, "WAW": true}

// otherKinds are the diagnostics that are neither sync, memory nor notes:
// the report's Other section. With syncKinds, memoryKinds and noteKinds
// they are every kind a diagnostic has (a test holds the emulator to it).
var otherKinds = map[string]bool{
	"integer-division-by-zero": true, "cvta-wrong-window": true, "printf-format-unterminated": true,
}

// diagnosticKind reports whether kind is a kind some diagnostic has.
func diagnosticKind(kind string) bool {
	return syncKinds[kind] || memoryKinds[kind] || noteKinds[kind] || otherKinds[kind]
}

// LoadSuppressions reads a suppression file.
func LoadSuppressions(file string) (*Suppressions, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxSuppressionBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return ParseSuppressions(file, src)
}

// ParseSuppressions reads the rules of a suppression file; name is the
// file's, for Source and errors. An error names the file and line.
func ParseSuppressions(name string, src []byte) (*Suppressions, error) {
	if len(src) > MaxSuppressionBytes {
		return nil, fmt.Errorf("%s: more than %d bytes: a suppression file is a list of rules", name, MaxSuppressionBytes)
	}
	s := &Suppressions{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(nil, MaxSuppressionBytes+1)
	for n := 1; sc.Scan(); n++ {
		where := fmt.Sprintf("%s:%d", name, n)
		r, err := parseRule(where, sc.Text())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if r == nil {
			continue
		}
		if len(s.Rules) == MaxSuppressionRules {
			return nil, fmt.Errorf("%s: more than %d rules", where, MaxSuppressionRules)
		}
		s.Rules = append(s.Rules, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// Add appends o's rules to s, as a second --suppress file does.
func (s *Suppressions) Add(o *Suppressions) error {
	if len(s.Rules)+len(o.Rules) > MaxSuppressionRules {
		return fmt.Errorf("more than %d suppression rules in all", MaxSuppressionRules)
	}
	s.Rules = append(s.Rules, o.Rules...)
	return nil
}

// ruleKeys are the keys a rule may give, in the order errors list them.
const ruleKeys = "kind, severity, scope, space, file, lines, func, site"

// parseRule reads one line: nil for a blank or comment line.
func parseRule(where, line string) (*SuppressionRule, error) {
	r := &SuppressionRule{Source: where}
	seen := map[string]bool{}
	var text []string
	for rest := strings.TrimSpace(line); rest != "" && rest[0] != '#'; rest = strings.TrimSpace(rest) {
		key, val, ok := strings.Cut(rest, "=")
		if !ok || key == "" || strings.ContainsAny(key, " \t\"#") {
			word, _, _ := strings.Cut(rest, " ")
			return nil, fmt.Errorf("%q is not key=value", word)
		}
		rest = val
		if strings.HasPrefix(val, `"`) {
			q, err := strconv.QuotedPrefix(val)
			if err != nil {
				return nil, fmt.Errorf("%s: unterminated or malformed quoted value", key)
			}
			rest = val[len(q):]
			val, _ = strconv.Unquote(q)
			text = append(text, key+"="+q)
		} else {
			end := strings.IndexAny(val, " \t")
			if end < 0 {
				end = len(val)
			}
			val, rest = val[:end], val[end:]
			text = append(text, key+"="+val)
		}
		if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
			return nil, fmt.Errorf("%s: text after the quoted value", key)
		}
		if seen[key] {
			return nil, fmt.Errorf("%s given twice", key)
		}
		seen[key] = true
		if err := r.set(key, val); err != nil {
			return nil, err
		}
	}
	if len(seen) == 0 {
		return nil, nil
	}
	if seen["lines"] && !seen["file"] {
		return nil, fmt.Errorf("lines needs file: a line range is a range in one file")
	}
	r.Text = strings.Join(text, " ")
	return r, nil
}

// set reads one key's value.
func (r *SuppressionRule) set(key, val string) error {
	if val == "" {
		return fmt.Errorf("%s has no value", key)
	}
	switch key {
	case "kind":
		r.kinds = map[string]bool{}
		for _, k := range strings.Split(val, ",") {
			if !hazardTypes[k] && !diagnosticKind(k) {
				return fmt.Errorf("kind %q: not a hazard type (RAW, WAR, WAW) or a diagnostic kind (docs/suppressions.md lists them)", k)
			}
			r.kinds[k] = true
		}
	case "severity":
		s, err := ParseSeverity(val)
		if err != nil || s == SeverityFatal {
			return fmt.Errorf("severity %q: want info, warning or error (a fatal error cannot be suppressed)", val)
		}
		r.severity = s
	case "scope":
		if val != "intra-warp" && val != "inter-warp" && val != "inter-block" {
			return fmt.Errorf("scope %q: want intra-warp, inter-warp or inter-block", val)
		}
		r.scope = val
	case "space":
		if val != "shared" && val != "global" {
			return fmt.Errorf("space %q: want shared or global", val)
		}
		r.space = val
	case "file":
		if _, err := path.Match(val, ""); err != nil {
			return fmt.Errorf("file %q: bad glob: %v", val, err)
		}
		r.file = val
	case "lines":
		lo, hi, isRange := strings.Cut(val, "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 1 || b < a {
			return fmt.Errorf("lines %q: want N or N-M, 1 <= N <= M", val)
		}
		r.lo, r.hi = a, b
	case "func":
		if _, err := path.Match(val, ""); err != nil {
			return fmt.Errorf("func %q: bad glob: %v", val, err)
		}
		r.fn = val
	case "site":
		if val != "any" && val != "both" {
			return fmt.Errorf("site %q: want any or both", val)
		}
		r.any = val == "any"
	default:
		return fmt.Errorf("unknown key %q (want %s)", key, ruleKeys)
	}
	return nil
}

// matchSite reports whether s is at the rule's file and lines and in its
// function (each when given).
func (r *SuppressionRule) matchSite(s Site) bool {
	if r.file != "" {
		ok := false
		for _, pos := range []string{s.Loc, s.Header} {
			i := strings.LastIndexByte(pos, ':') // "file:line"
			if i < 0 {
				continue
			}
			file, line := pos[:i], pos[i+1:]
			if !matchFile(r.file, file) {
				continue
			}
			if r.lo > 0 {
				n, err := strconv.Atoi(line)
				if err != nil || n < r.lo || n > r.hi {
					continue
				}
			}
			ok = true
			break
		}
		if !ok {
			return false
		}
	}
	if r.fn != "" {
		ok := false
		for _, f := range []string{s.InlinedFunc, s.Func} {
			if f != "" && matchFunc(r.fn, f) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// matchFile matches the glob against the file's whole name or any part
// of it after a '/', so that "cooperative_groups/details/*.h" matches
// /usr/local/cuda/include/cooperative_groups/details/reduce.h as nvcc
// names it.
func matchFile(glob, file string) bool {
	for {
		if ok, _ := path.Match(glob, file); ok {
			return true
		}
		i := strings.IndexByte(file, '/')
		if i < 0 {
			return false
		}
		file = file[i+1:]
	}
}

// matchFunc matches the glob against a function's name as the PTX gives
// it (mangled, for C++), its qualified name without parameters or
// template arguments ("cooperative_groups::__v1::details::sync_grids"),
// and its whole demangled signature.
func matchFunc(glob, name string) bool {
	if ok, _ := path.Match(glob, name); ok {
		return true
	}
	for _, opts := range [][]demangle.Option{{demangle.NoParams, demangle.NoTemplateParams}, nil} {
		d, err := demangle.ToString(name, opts...)
		if err != nil {
			return false // not a mangled name
		}
		if ok, _ := path.Match(glob, d); ok {
			return true
		}
	}
	return false
}

func (r *SuppressionRule) matchHazard(h *Hazard) bool {
	switch {
	case r.kinds != nil && !r.kinds[h.Type],
		r.severity != 0 && h.Severity != r.severity,
		r.scope != "" && h.Scope != r.scope,
		r.space != "" && h.Space != r.space:
		return false
	}
	if r.any {
		return r.matchSite(h.Prior.Site) || r.matchSite(h.Later.Site)
	}
	return r.matchSite(h.Prior.Site) && r.matchSite(h.Later.Site)
}

func (r *SuppressionRule) matchDiagnostic(d *Diagnostic) bool {
	switch {
	case r.kinds != nil && !r.kinds[d.Kind],
		r.severity != 0 && d.Severity != r.severity,
		r.scope != "" || r.space != "": // a hazard's properties
		return false
	}
	return r.matchSite(d.Site)
}

// Suppress gives a copy of r without the findings s's rules match, its
// Suppressions listing every rule of s with what it removed (rules that
// removed nothing included). The fatal error stays: what stopped the
// launch cannot be suppressed. A nil or empty s gives r itself.
func (r *Report) Suppress(s *Suppressions) *Report {
	if s == nil || len(s.Rules) == 0 {
		return r
	}
	out := *r
	uses := make([]SuppressionUse, len(s.Rules))
	for i, ru := range s.Rules {
		uses[i] = SuppressionUse{Rule: ru.Source, Text: ru.Text}
	}
	credit := func(match func(*SuppressionRule) bool, count int) bool {
		for i, ru := range s.Rules {
			if match(ru) {
				uses[i].Findings++
				uses[i].Occurrences += count
				return true
			}
		}
		return false
	}
	out.Hazards = []Hazard{}
	for i := range r.Hazards {
		h := &r.Hazards[i]
		if !credit(func(ru *SuppressionRule) bool { return ru.matchHazard(h) }, h.Count) {
			out.Hazards = append(out.Hazards, *h)
		}
	}
	keep := func(ds []Diagnostic) []Diagnostic {
		kept := []Diagnostic{}
		for i := range ds {
			d := &ds[i]
			if !credit(func(ru *SuppressionRule) bool { return ru.matchDiagnostic(d) }, d.Count) {
				kept = append(kept, *d)
			}
		}
		return kept
	}
	out.Sync, out.Memory, out.Other, out.Notes = keep(r.Sync), keep(r.Memory), keep(r.Other), keep(r.Notes)
	out.Suppressions = append(append([]SuppressionUse{}, r.Suppressions...), uses...)
	return &out
}

// writeSuppressions writes what each rule removed, and a warning for each
// rule that removed nothing.
func (r *Report) writeSuppressions(b *strings.Builder) {
	for _, u := range r.Suppressions {
		if u.Findings == 0 {
			fmt.Fprintf(b, "%s Warning: suppression %s matched nothing: %s\n", rule, u.Rule, u.Text)
			continue
		}
		fmt.Fprintf(b, "%s Suppressed by %s: %d findings, %d occurrences: %s\n", rule, u.Rule, u.Findings, u.Occurrences, u.Text)
	}
}
