package cpuemu

import (
	"os"
	"testing"
)

func TestToolkitHeader(t *testing.T) {
	for name, want := range map[string]bool{
		"sm_30_intrinsics.hpp":                           true,
		"/usr/include/sm_30_intrinsics.hpp":              true,
		"crt/math_functions.hpp":                         true,
		"/usr/local/cuda-11.8/include/crt/sm_70_rt.hpp":  true,
		"device_atomic_functions.hpp":                    true,
		"/opt/cuda/include/cuda_fp16.hpp":                true,
		"/usr/include/cooperative_groups.h":              true,
		"/usr/include/cooperative_groups/details/sync.h": true,
		"cooperative_groups/details/helpers.h":           true,
		"races.cu":                                       false,
		"/home/me/src/details/sync.h":                    false,
		"kernels/handoff.cu":                             false,
		"my_helpers.h":                                   false,
		"/home/me/src/ring.cuh":                          false,
		"/home/me/src/sm_utils.cu":                       false,
	} {
		if got := toolkitHeader(name); got != want {
			t.Errorf("toolkitHeader(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestSiteFuncs checks the functions a site names, in coop.ptx: line 43
// (cvt.u64.u32 %rd7) is in entry shift, under ".loc 3 66 41,
// function_name $L__info_string2", whose .debug_str bytes spell, by the
// ASCII table, _ZN18cooperative_groups4__v17details14load_env_reg64ILj1ELj2EEEyv
// (cooperative_groups::details::load_env_reg64<1, 2>); line 57 is shift's
// own code (".loc 1 12 9": no function_name); line 269 is in entry rounds
// (lines 229-387).
func TestSiteFuncs(t *testing.T) {
	src, err := os.ReadFile("testdata/coop/coop.ptx")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load("coop.ptx", src)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		line          int32
		func_, inline string
	}{
		{43, "shift", "_ZN18cooperative_groups4__v17details14load_env_reg64ILj1ELj2EEEyv"},
		{57, "shift", ""},
		{269, "rounds", ""},
	} {
		var s *Site
		for _, f := range m.fns {
			for i := range f.ops {
				if f.ops[i].line == c.line {
					site := m.site(&f.ops[i])
					s = &site
				}
			}
		}
		if s == nil {
			t.Fatalf("no instruction at ptx line %d", c.line)
		}
		if s.Func != c.func_ || s.InlinedFunc != c.inline {
			t.Errorf("ptx line %d: Func %q InlinedFunc %q, want %q and %q", c.line, s.Func, s.InlinedFunc, c.func_, c.inline)
		}
	}
}

// TestFuncAt: a .func and an entry, and lines outside both (the header,
// the gap between them, past the end).
func TestFuncAt(t *testing.T) {
	src := `.version 7.8
.target sm_70
.address_size 64
.func (.reg .b32 r) helper(.reg .b32 a)
{
	add.s32 r, a, 1;
	ret;
}

.visible .entry k(.param .u64 p)
{
	.reg .b32 %x;
	mov.u32 %x, 1;
	ret;
}
`
	m, err := Load("f.ptx", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for line, want := range map[int32]string{1: "", 6: "helper", 7: "helper", 9: "", 13: "k", 14: "k", 40: ""} {
		if got := m.funcAt(line); got != want {
			t.Errorf("funcAt(%d) = %q, want %q", line, got, want)
		}
	}
}
