package cpuemu_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// TestReadmeListsTheInstructions keeps the README's claim about which PTX
// runs exact: every opcode it lists is one the lowering knows, and every
// other opcode of the PTX ISA is refused as unknown.
func TestReadmeListsTheInstructions(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	const start = "- **instructions:** `"
	i := strings.Index(text, start)
	if i < 0 {
		t.Fatal("README has no instruction list")
	}
	j := strings.Index(text[i+len(start):], "`")
	listed := strings.Fields(text[i+len(start) : i+len(start)+j])
	known := func(op string) bool {
		src := ptHeader + ".visible .entry k() {\n\t.reg .b32 %r<2>;\n\t" + op + ".u32 %r1;\n\tret;\n}\n"
		m, err := cpuemu.Load("op", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		_, err = m.Kernel("k")
		return err == nil || !strings.Contains(err.Error(), "unknown opcode")
	}
	for _, op := range listed {
		if !known(op) {
			t.Errorf("the README lists %s, which the emulator does not know", op)
		}
	}
	// The rest of the PTX ISA 8.x opcodes.
	for _, op := range []string{"tex", "tld4", "txq", "suld", "sust", "sured", "suq", "istypep", "mma", "wmma", "ldmatrix",
		"stmatrix", "movmatrix", "cp", "mbarrier", "elect", "griddepcontrol", "setmaxnreg", "vadd", "vsub", "vabsdiff",
		"vmin", "vmax", "vshl", "vshr", "vmad", "vset", "vadd2", "vadd4", "vsub2", "vsub4", "vavrg2", "vavrg4",
		"vabsdiff2", "vabsdiff4", "vmin2", "vmin4", "vmax2", "vmax4", "vset2", "vset4", "dp4a", "dp2a", "bmsk", "szext", "fns",
		"madc", "cvt.pack", "createpolicy", "discard", "applypriority", "alloca", "stackrestore", "stacksave", "multimem",
		"tensormap", "getctarank", "mapa", "st.async", "red.async", "clusterlaunchcontrol", "tcgen05", "wgmma", "ld.global.nc.v8"} {
		name := strings.SplitN(op, ".", 2)[0]
		if slices.Contains(listed, name) {
			continue
		}
		if known(name) {
			t.Errorf("the emulator knows %s, which the README does not list", name)
		}
	}
}
