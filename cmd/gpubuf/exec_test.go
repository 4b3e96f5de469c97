package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildDriverExample builds gpubuf, the library beside it, and the C
// example name against cuda.h, in a temporary directory; it skips when
// there is no C compiler or cuda.h.
func buildDriverExample(t *testing.T, name string) (gpubuf, prog string) {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no C compiler")
	}
	if _, err := os.Stat("/usr/include/cuda.h"); err != nil {
		t.Skip("cuda.h not found: run ./test.sh, which installs nvidia-cuda-dev")
	}
	dir := t.TempDir()
	gpubuf = filepath.Join(dir, "gpubuf")
	if out, err := exec.Command("go", "build", "-o", gpubuf, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := exec.Command(gpubuf, "driver-lib", "--out", dir).CombinedOutput(); err != nil {
		t.Fatalf("driver-lib: %v\n%s", err, out)
	}
	prog = filepath.Join(dir, name)
	// Link against the library just built: its soname is libcuda.so.1.
	src := filepath.Join("..", "..", "examples", "driver", name+".c")
	if out, err := exec.Command("cc", "-o", prog, src, "-L"+dir, "-l:libcuda.so.1").CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	return gpubuf, prog
}

// TestExecVectorAdd: c = a + b with a[i] = i, b[i] = 2i over 1000 floats
// sums to 3 * 999 * 1000 / 2 = 1498500.
func TestExecVectorAdd(t *testing.T) {
	gpubuf, prog := buildDriverExample(t, "vectoradd")
	cmd := exec.Command(gpubuf, "exec", prog, filepath.Join("..", "..", "examples", "driver", "vectoradd.ptx"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gpubuf exec vectoradd: %v\n%s", err, out)
	}
	for _, want := range []string{"device: gpubuf emulator\n", "vectorAdd: 1000 elements, sum 1498500, PASSED\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestExecCheckHandoff: the racy handoff under --check reports the race
// between the flag's write (handoff.cu:9) and its read (line 12), and the
// data's (lines 8 and 12), and exits 1.
func TestExecCheckHandoff(t *testing.T) {
	gpubuf, prog := buildDriverExample(t, "handoff")
	cmd := exec.Command(gpubuf, "exec", "--check", prog, filepath.Join("..", "..", "examples", "driver", "handoff.ptx"))
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("gpubuf exec --check handoff: %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{
		"Race reported between Write access at st.global in handoff.cu:9\n",
		"and Read access at ld.global in handoff.cu:12",
		"Race reported between Write access at st.global in handoff.cu:8\n",
		"RACECHECK SUMMARY: 2 hazards displayed (2 errors, 0 warnings)",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Without --check the same program exits 0.
	if out, err := exec.Command(gpubuf, "exec", prog, filepath.Join("..", "..", "examples", "driver", "handoff.ptx")).CombinedOutput(); err != nil {
		t.Errorf("gpubuf exec handoff: %v\n%s", err, out)
	}
}
