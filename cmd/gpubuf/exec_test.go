package main

import (
	"bytes"
	"encoding/json"
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
	return buildDriverProgram(t, filepath.Join("..", "..", "examples", "driver", name+".c"))
}

// buildDriverProgram is buildDriverExample for the C program src.
func buildDriverProgram(t *testing.T, src string) (gpubuf, prog string) {
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
	prog = filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".c"))
	// Link against the library just built: its soname is libcuda.so.1.
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

// TestExecSARIFHandoff: exec --sarif writes the handoff's two races as
// SARIF results where handoff.cu has them: thread 32 (warp 1) reads the
// flag and the data at line 12 after thread 0 (warp 0) wrote them at
// lines 9 and 8, two warps of one block with nothing ordering them
// (race/RAW/inter-warp, errors). Without --check the exit status stays 0.
func TestExecSARIFHandoff(t *testing.T) {
	gpubuf, prog := buildDriverExample(t, "handoff")
	path := filepath.Join(t.TempDir(), "handoff.sarif")
	cmd := exec.Command(gpubuf, "exec", "--sarif", path, prog, filepath.Join("..", "..", "examples", "driver", "handoff.ptx"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gpubuf exec --sarif handoff: %v, want exit status 0\n%s", err, out)
	}
	b := readFile(t, path)
	validSARIF(t, b)
	var doc struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful bool `json:"executionSuccessful"`
			} `json:"invocations"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				Related []struct {
					PhysicalLocation struct {
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"relatedLocations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 || len(doc.Runs[0].Invocations) != 1 || !doc.Runs[0].Invocations[0].ExecutionSuccessful {
		t.Fatalf("want one run with one successful invocation:\n%s", b)
	}
	got := map[[2]int]bool{}
	for _, r := range doc.Runs[0].Results {
		if r.RuleID != "race/RAW/inter-warp" || r.Level != "error" || len(r.Locations) != 1 || len(r.Related) != 1 {
			t.Errorf("unexpected result %+v", r)
			continue
		}
		pl := r.Locations[0].PhysicalLocation
		if pl.ArtifactLocation.URI != "handoff.cu" {
			t.Errorf("result at %q, want handoff.cu", pl.ArtifactLocation.URI)
		}
		got[[2]int{r.Related[0].PhysicalLocation.Region.StartLine, pl.Region.StartLine}] = true
	}
	for _, want := range [][2]int{{9, 12}, {8, 12}} {
		if !got[want] {
			t.Errorf("no race/RAW/inter-warp error at handoff.cu:%d after the write at line %d:\n%s", want[1], want[0], b)
		}
	}
	if len(doc.Runs[0].Results) != 2 {
		t.Errorf("%d results, want 2", len(doc.Runs[0].Results))
	}
}

// TestExecSARIFNoDriver: a program that never starts the driver leaves
// a log that says nothing was analysed, not one that reads as clean.
func TestExecSARIFNoDriver(t *testing.T) {
	gpubuf, _ := buildDriverExample(t, "handoff")
	path := filepath.Join(t.TempDir(), "none.sarif")
	if out, err := exec.Command(gpubuf, "exec", "--sarif", path, "true").CombinedOutput(); err != nil {
		t.Fatalf("gpubuf exec --sarif true: %v\n%s", err, out)
	}
	b := readFile(t, path)
	validSARIF(t, b)
	if !bytes.Contains(b, []byte(`"executionSuccessful": false`)) || !bytes.Contains(b, []byte("never started the CUDA driver")) {
		t.Errorf("log of a program without launches:\n%s", b)
	}
}

// TestExecLibCheck runs testdata/driver/libcheck.c, whose checks of
// registered memory, occupancy and the JIT log have their expected
// values worked out in its comments.
func TestExecLibCheck(t *testing.T) {
	gpubuf, prog := buildDriverProgram(t, filepath.Join("testdata", "driver", "libcheck.c"))
	out, err := exec.Command(gpubuf, "exec", prog).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "libcheck: PASSED\n") {
		t.Fatalf("gpubuf exec libcheck: %v\n%s", err, out)
	}
}

// TestExecBadScheduler: a scheduler the emulator does not have is bad
// usage, said before the program starts (the program, /bin/false here,
// would otherwise run and exit 1).
func TestExecBadScheduler(t *testing.T) {
	code, out, errs := runCLI("exec", "--scheduler", "bogus", "/bin/false")
	if code != exitUsage || out != "" || !strings.Contains(errs, `--scheduler: unknown scheduler "bogus"`) {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2 and the scheduler named", code, out, errs)
	}
}
