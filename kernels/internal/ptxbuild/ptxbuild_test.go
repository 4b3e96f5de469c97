package ptxbuild

import "testing"

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
	got := CommandLine("batch.cu")
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
