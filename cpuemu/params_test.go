package cpuemu_test

import (
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// Parameters are laid out as the driver does: each aligned to its .align,
// else to its type's size, a vector to its whole size (offsets by hand).
func TestEntryParamLayout(t *testing.T) {
	m := ptLoad(t, "params", ptHeader+`
.visible .entry k(
	.param .u32 a,
	.param .v2 .u32 b,
	.param .align 8 .b8 c[12],
	.param .b8 d,
	.param .v4 .u16 e
)
{
	ret;
}
`)
	e, ok := m.Entry("k")
	if !ok {
		t.Fatal("no entry k")
	}
	want := []cpuemu.Param{
		{Index: 0, Name: "a", Type: "u32", Size: 4, Align: 4, Offset: 0},
		{Index: 1, Name: "b", Type: "u32", Size: 8, Align: 8, Offset: 8},
		{Index: 2, Name: "c", Type: "b8", Size: 12, Align: 8, Offset: 16},
		{Index: 3, Name: "d", Type: "b8", Size: 1, Align: 1, Offset: 28},
		{Index: 4, Name: "e", Type: "u16", Size: 8, Align: 8, Offset: 32},
	}
	if len(e.Params) != len(want) {
		t.Fatalf("params %+v", e.Params)
	}
	for i, p := range e.Params {
		if p != want[i] {
			t.Errorf("param %d = %+v, want %+v", i, p, want[i])
		}
	}
}
