package cpuemu

import "sort"

// The functions a report names for a site: the PTX function that holds
// the instruction, and the inlined function its CUDA line is in.

// funcSpan is the PTX lines a function's instructions lie on. nvcc and
// hand-written PTX alike write each function's body whole, so the spans
// of a module's functions do not overlap.
type funcSpan struct {
	first, last int32
	name        string
}

// indexFuncLines records every lowered function's span of lines, for
// funcAt.
func (m *Module) indexFuncLines() {
	for _, f := range m.fns {
		s := funcSpan{first: -1, name: f.name}
		for i := range f.ops {
			l := f.ops[i].line
			if l <= 0 {
				continue // made by the lowering, not on a line of its own
			}
			if s.first < 0 || l < s.first {
				s.first = l
			}
			s.last = max(s.last, l)
		}
		if s.first >= 0 {
			m.funcSpans = append(m.funcSpans, s)
		}
	}
	sort.Slice(m.funcSpans, func(i, j int) bool { return m.funcSpans[i].first < m.funcSpans[j].first })
}

// funcAt is the name of the function whose instructions include PTX line
// line, or "".
func (m *Module) funcAt(line int32) string {
	i := sort.Search(len(m.funcSpans), func(i int) bool { return m.funcSpans[i].last >= line })
	if i < len(m.funcSpans) && m.funcSpans[i].first <= line {
		return m.funcSpans[i].name
	}
	return ""
}

// inlinedFunc is the linkage name of the function l's position is in
// when that function was inlined (.loc's function_name, PTX ISA
// §11.5.4), or "".
func (m *Module) inlinedFunc(l srcLoc) string {
	if l.FuncLabel == "" {
		return ""
	}
	name, _ := m.ast.DebugStr.Lookup(l.FuncLabel, l.FuncOff)
	return name
}
