package emutest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/internal/schematest"
)

// resetSARIF forgets the SARIF file of earlier tests, as a fresh test
// binary would start.
func resetSARIF() {
	sarifOut.mu.Lock()
	defer sarifOut.mu.Unlock()
	sarifOut.path, sarifOut.log, sarifOut.written, sarifOut.failed, sarifOut.ptx = "", nil, false, false, nil
}

// readSARIF reads a log, checks it against the SARIF 2.1.0 schema (the
// copy cpuemu/sarif ships) and decodes it.
func readSARIF(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sch, err := schematest.SARIF()
	if err == nil {
		err = sch.Validate(b)
	}
	if err != nil {
		t.Fatalf("%s is not SARIF 2.1.0: %v\n%s", path, err, b)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestSARIFEnv: with GPUBUF_SARIF set, the checked launches of a test
// binary accumulate in one log: testdata/waw.ptx's WAW (its store is at
// line 16, and the PTX has no CUDA lines) under two schedules is one
// result that counts both, located in the PTX file relative to the
// module's root; a clean launch adds nothing.
func TestSARIFEnv(t *testing.T) {
	resetSARIF()
	t.Cleanup(resetSARIF)
	path := filepath.Join(t.TempDir(), "out.sarif")
	t.Setenv(SARIFEnv, path)

	m := LoadFile(t, "testdata/waw.ptx")
	for _, s := range []Schedule{{Scheduler: cpuemu.Lockstep}, {Scheduler: cpuemu.Adversarial}} {
		res := LaunchReport(t, m, cpuemu.NewDevice(), "waw", s.Config(Config(1, 2)))
		if len(res.Report.Hazards) != 1 {
			t.Fatalf("%s: hazards %+v, want the one WAW", s, res.Report.Hazards)
		}
	}
	Launch(t, m, cpuemu.NewDevice(), "clean", Config(1, 32))

	doc := readSARIF(t, path)
	results, _ := schematest.At(doc, "runs", 0, "results").([]any)
	if len(results) != 1 {
		t.Fatalf("%d results, want 1", len(results))
	}
	r := results[0]
	got := []any{schematest.At(r, "ruleId"), schematest.At(r, "occurrenceCount"), schematest.At(r, "properties", "launches"),
		schematest.At(r, "locations", 0, "physicalLocation", "artifactLocation", "uri"),
		schematest.At(r, "locations", 0, "physicalLocation", "artifactLocation", "uriBaseId"),
		schematest.At(r, "locations", 0, "physicalLocation", "region", "startLine")}
	// One occurrence (lane 1's store after lane 0's) in each launch.
	want := []any{"race/WAW/intra-warp", 2.0, 2.0, "cpuemu/emutest/testdata/waw.ptx", "SRCROOT", 16.0}
	if !slices.Equal(got, want) {
		t.Errorf("result %v, want %v", got, want)
	}
	scheds, _ := schematest.At(r, "properties", "schedules").([]any)
	if !slices.Equal(scheds, []any{"lockstep", "adversarial"}) {
		t.Errorf("schedules %v", scheds)
	}
	if schematest.At(doc, "runs", 0, "automationDetails") != nil {
		t.Error("a single file's run has a category")
	}
}

// TestSARIFEnvDir: GPUBUF_SARIF naming a directory gets a file named
// after the test binary's package, written at the first launch even when
// it is clean, with the package as the run's category.
func TestSARIFEnvDir(t *testing.T) {
	resetSARIF()
	t.Cleanup(resetSARIF)
	dir := t.TempDir()
	t.Setenv(SARIFEnv, dir+string(filepath.Separator))

	m := LoadFile(t, "testdata/waw.ptx")
	Launch(t, m, cpuemu.NewDevice(), "clean", Config(1, 32))
	doc := readSARIF(t, filepath.Join(dir, "github.com_gpubuf_gpubuf_cpuemu_emutest.sarif"))
	if n := len(schematest.At(doc, "runs", 0, "results").([]any)); n != 0 {
		t.Errorf("%d results from a clean launch", n)
	}
	if got := schematest.At(doc, "runs", 0, "automationDetails", "id"); got != "gpubuf-emutest/github.com/gpubuf/gpubuf/cpuemu/emutest/" {
		t.Errorf("category %v", got)
	}
	if got := schematest.At(doc, "runs", 0, "invocations", 0, "executionSuccessful"); got != true {
		t.Errorf("executionSuccessful %v", got)
	}
}

// TestSARIFEnvUnset: without GPUBUF_SARIF nothing is gathered.
func TestSARIFEnvUnset(t *testing.T) {
	resetSARIF()
	t.Setenv(SARIFEnv, "")
	m := LoadFile(t, "testdata/waw.ptx")
	LaunchReport(t, m, cpuemu.NewDevice(), "waw", Config(1, 2))
	sarifOut.mu.Lock()
	defer sarifOut.mu.Unlock()
	if sarifOut.log != nil || sarifOut.ptx != nil {
		t.Error("findings gathered without GPUBUF_SARIF")
	}
}
