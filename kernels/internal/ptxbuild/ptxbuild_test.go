package ptxbuild

import (
	"strings"
	"testing"
)

func TestRewrite(t *testing.T) {
	in := "\tret;\n}\n" +
		"\t.file\t1 \"" + StagingDir + "/handoff.cu\"\n" +
		"\t.file\t2 \"/usr/include/sm_30_intrinsics.hpp\"\n" +
		"\t.file\t3 \"/usr/local/cuda-11.8/targets/x86_64-linux/include/crt/sm_70_rt.hpp\"\n" +
		"\t.file\t4 \"/opt/odd/place.h\"\n" +
		"\t.file\t5 \"relative.h\"\n" +
		"\t.section\t.debug_str\n"
	want := "\tret;\n}\n" +
		"\t.file\t1 \"kernels/handoff.cu\"\n" +
		"\t.file\t2 \"sm_30_intrinsics.hpp\"\n" +
		"\t.file\t3 \"crt/sm_70_rt.hpp\"\n" +
		"\t.file\t4 \"place.h\"\n" +
		"\t.file\t5 \"relative.h\"\n" +
		"\t.section\t.debug_str\n"
	got, err := Rewrite([]byte(in), "kernels")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Rewrite:\n%s\nwant:\n%s", got, want)
	}

	// The staging path anywhere else means the rewrite missed something.
	if _, err := Rewrite([]byte("// built in "+StagingDir+"\n"), "kernels"); err == nil {
		t.Error("Rewrite accepted PTX that still names the staging directory")
	}
}

func TestCommandLine(t *testing.T) {
	t.Setenv("NVCC_CCBIN", "")
	got := CommandLine("batch.cu", DefaultArch)
	want := []string{"nvcc", "-ptx", "-lineinfo", "-O3", "-arch=sm_70", "--allow-unsupported-compiler", "batch.cu", "-o", "batch.ptx"}
	if len(got) != len(want) {
		t.Fatalf("CommandLine = %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("CommandLine = %q, want %q", got, want)
		}
	}
}

func TestArch(t *testing.T) {
	for _, tc := range []struct {
		src, want, err string
	}{
		{"__global__ void k() {}\n", "sm_70", ""},
		{"// ptxbuild: arch=sm_80\n#include <cuda/barrier>\n", "sm_80", ""},
		{"#include <x>\n// ptxbuild: arch=sm_90   \n", "sm_90", ""},
		// Only a line of its own counts: not a mention inside a comment.
		{"// compile with // ptxbuild: arch=sm_80\n", "sm_70", ""},
		{"// ptxbuild: arch=sm_80\n// ptxbuild: arch=sm_90\n", "", "2 arch directives"},
		{"// ptxbuild: arch=sm_60\n", "", "want sm_70 to sm_90"},
		{"// ptxbuild: arch=sm_100\n", "", "want sm_70 to sm_90"},
	} {
		got, err := Arch([]byte(tc.src))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Arch(%q) = %q, %v; want an error containing %q", tc.src, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("Arch(%q) = %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
	got := CommandLine("async_pipeline.cu", "sm_80")
	if want := "-arch=sm_80"; got[4] != want {
		t.Errorf("CommandLine(async_pipeline.cu, sm_80) = %q: argument 4 is not %s", got, want)
	}
}
