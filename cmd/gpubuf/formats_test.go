package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/internal/schematest"
)

// validSARIF checks a file against the SARIF 2.1.0 schema that
// cpuemu/sarif ships as test data.
func validSARIF(t *testing.T, b []byte) {
	t.Helper()
	sch, err := schematest.SARIF()
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(b); err != nil {
		t.Fatalf("not SARIF 2.1.0: %v\n%s", err, b)
	}
}

// TestRaceSARIF: race --sarif writes lane_handoff_nosync's race where
// kernels/handoff.cu has it: the consumer's read of the slot at line 66
// after the producer's write at line 56, lanes of one warp with no
// __syncwarp between.
func TestRaceSARIF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "race.sarif")
	code, _, stderr := runCLI(cat([]string{"race", "--kernel", "lane_handoff_nosync", "--seeds", "0", "--sarif", path}, handoffArgs)...)
	if code != exitFail {
		t.Fatalf("exit %d, want %d (hazards)\n%s", code, exitFail, stderr)
	}
	b := readFile(t, path)
	validSARIF(t, b)
	var doc struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
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
	found := false
	for _, r := range doc.Runs[0].Results {
		if r.RuleID != "race/RAW/intra-warp" || len(r.Locations) != 1 || len(r.Related) != 1 {
			continue
		}
		pl := r.Locations[0].PhysicalLocation
		if pl.ArtifactLocation.URI == "kernels/handoff.cu" && pl.ArtifactLocation.URIBaseID == "SRCROOT" &&
			pl.Region.StartLine == 66 && r.Related[0].PhysicalLocation.Region.StartLine == 56 && r.Level == "error" {
			found = true
		}
	}
	if !found {
		t.Errorf("no race/RAW/intra-warp error at kernels/handoff.cu:66 with the write at 56:\n%s", b)
	}
}

// TestRaceSARIFClean: a clean kernel's log has no results and a
// successful invocation.
func TestRaceSARIFClean(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clean.sarif")
	code, _, stderr := runCLI(cat([]string{"race", "--kernel", "lane_handoff", "--sarif", path}, handoffArgs)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	b := readFile(t, path)
	validSARIF(t, b)
	if !bytes.Contains(b, []byte(`"results": []`)) || !bytes.Contains(b, []byte(`"executionSuccessful": true`)) {
		t.Errorf("clean log:\n%s", b)
	}
}

// TestPerfettoTrace: --trace-format perfetto writes a Trace Event Format
// object with one instruction slice per event of the native trace.
func TestPerfettoTrace(t *testing.T) {
	dir := t.TempDir()
	native, perf := filepath.Join(dir, "t.json"), filepath.Join(dir, "t.perfetto.json")
	for _, c := range []struct{ path, format string }{{native, "json"}, {perf, "perfetto"}} {
		code, _, stderr := runCLI(cat([]string{"race", "--kernel", "lane_handoff_nosync", "--seeds", "0", "--trace", c.path, "--trace-format", c.format}, handoffArgs)...)
		if code != exitFail {
			t.Fatalf("%s: exit %d, want %d\n%s", c.format, code, exitFail, stderr)
		}
	}
	var n struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(readFile(t, native), &n); err != nil || len(n.Events) == 0 {
		t.Fatalf("native trace: %v, %d events", err, len(n.Events))
	}
	var p struct {
		TraceEvents []struct {
			Ph  string `json:"ph"`
			Cat string `json:"cat"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(readFile(t, perf), &p); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range p.TraceEvents {
		count[e.Ph+" "+e.Cat]++
	}
	if count["X instr"] != len(n.Events) {
		t.Errorf("%d instruction slices, want one per native event (%d)", count["X instr"], len(n.Events))
	}
	// The race is there as an instant with its arrow, and the
	// __syncwarp-free kernel's only rendezvous is none.
	if count["i hazard"] == 0 || count["s hazard"] != count["i hazard"] || count["f hazard"] != count["i hazard"] {
		t.Errorf("hazard events: %v", count)
	}
}

// TestFormatFlags: a bad --trace-format, or perfetto without --trace, is
// bad usage; a --sarif file the command made goes when it gives up
// before the launch.
func TestFormatFlags(t *testing.T) {
	dir := t.TempDir()
	sarifPath := filepath.Join(dir, "new.sarif")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"launch", "--kernel", "lane_handoff", "--trace", filepath.Join(dir, "t"), "--trace-format", "chrome"}, `--trace-format "chrome": want json or perfetto`},
		{[]string{"race", "--kernel", "lane_handoff", "--trace-format", "perfetto"}, "--trace-format perfetto: give --trace FILE"},
		{[]string{"race", "--kernel", "lane_handoff", "--sarif", filepath.Join(dir, "no", "such", "dir.sarif")}, "--sarif"},
		// Fails after the output files are made: the made ones go.
		{[]string{"race", "--kernel", "lane_handoff", "--sarif", sarifPath, "--symbol", "nosuchvar=zero"}, "no such .global or .const variable"},
	} {
		code, _, stderr := runCLI(cat(c.args, handoffArgs)...)
		if code != exitUsage || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, exitUsage, c.msg)
		}
	}
	if _, err := os.Stat(sarifPath); !os.IsNotExist(err) {
		t.Errorf("the --sarif file the command created is still there after bad usage: %v", err)
	}
	// launch has no --sarif.
	if code, _, _ := runCLI(cat([]string{"launch", "--kernel", "lane_handoff", "--sarif", sarifPath}, handoffArgs)...); code != exitUsage {
		t.Errorf("launch --sarif: exit %d, want %d", code, exitUsage)
	}
}
