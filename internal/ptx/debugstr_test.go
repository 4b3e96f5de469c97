package ptx_test

import (
	"testing"

	"github.com/gpubuf/gpubuf/internal/ptx"
)

// debugStrModule is shaped as nvcc writes debug line info (PTX ISA
// §11.5.4: function_name is a label, plus an optional offset, into
// .debug_str, which holds NUL-terminated names). The bytes spell, by the
// ASCII table: "_Z1fv" (95 90 49 102 118) and "_Z1gi" (95 90 49 103 105).
const debugStrModule = `.version 7.8
.target sm_70
.address_size 64
.file 1 "k.cu"
.file 2 "/usr/include/h.h"
.visible .entry k()
{
	.loc 2 7 3, function_name $L__info_string0, inlined_at 1 4 2
	ret;
	.loc 2 9 1, function_name $L__info_string1+3, inlined_at 1 5 2
	ret;
}
	.section	.debug_str
	{
$L__info_string0:
.b8 95,90,49,102
.b8 118,0
$L__info_string1:
.b8 95,90,49,103,105,0
	}
`

func TestDebugStr(t *testing.T) {
	m := mustParse(t, debugStrModule)
	var locs []ptx.Loc
	for _, s := range m.Funcs[0].Body {
		if s.Kind == ptx.StmtLoc {
			locs = append(locs, *s.Loc)
		}
	}
	if len(locs) != 2 {
		t.Fatalf("got %d .loc statements, want 2", len(locs))
	}
	for _, c := range []struct {
		label string
		off   int64
		want  string
		ok    bool
	}{
		{locs[0].FuncLabel, locs[0].FuncOff, "_Z1fv", true},
		{locs[1].FuncLabel, locs[1].FuncOff, "gi", true}, // +3 skips "_Z1"
		{"$L__info_string1", 0, "_Z1gi", true},
		{"$L__info_string1", 5, "", true},  // the terminating NUL alone
		{"$L__info_string1", 6, "", false}, // past the end
		{"$L__info_string1", -1, "", false},
		{"$L__nowhere", 0, "", false},
	} {
		got, ok := m.DebugStr.Lookup(c.label, c.off)
		if got != c.want || ok != c.ok {
			t.Errorf("Lookup(%q, %d) = %q, %v; want %q, %v", c.label, c.off, got, ok, c.want, c.ok)
		}
	}
	if locs[0].FuncLabel != "$L__info_string0" || locs[0].FuncOff != 0 || locs[1].FuncOff != 3 {
		t.Errorf("locs = %+v", locs)
	}
}

// TestDebugStrUnread: a .debug_str the reader does not know how to read
// (another directive, a value out of byte range, an unterminated string)
// costs the names only; the module still parses, and what comes after the
// section is still read.
func TestDebugStrUnread(t *testing.T) {
	for name, body := range map[string]string{
		"other directive": "$L__s:\n.b32 7\n.b8 65,0\n",
		"out of range":    "$L__s:\n.b8 300,0\n",
		"unterminated":    "$L__s:\n.b8 65,66\n",
		"empty":           "",
	} {
		src := ".version 7.8\n.target sm_70\n.address_size 64\n.section .debug_str\n{\n" + body + "}\n.visible .entry after()\n{\n\tret;\n}\n"
		m, err := ptx.Parse([]byte(src))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(m.Funcs) != 1 || m.Funcs[0].Name != "after" {
			t.Errorf("%s: the entry after the section was not read: %+v", name, m.Funcs)
		}
		if s, ok := m.DebugStr.Lookup("$L__s", 0); ok {
			t.Errorf("%s: Lookup = %q, want none", name, s)
		}
	}
}
