package main

import (
	"strings"
	"testing"
)

// asyncArgs is async_pipeline's arguments for one block of a producer and
// two consumer warps: 8 tiles of 36 words (1152 bytes in), sums and
// timeline for 8 tiles, 2 stages, latency 3, work 2.
var asyncArgs = []string{"--grid", "1", "--block", "96", "--arg", "buf:1152:iota", "--arg", "buf:96", "--arg", "buf:64",
	"--arg", "u32:8", "--arg", "u32:36", "--arg", "u32:2", "--arg", "u32:3", "--arg", "u32:2"}

// gpubuf race on the async pipeline: the correct kernel is clean, each
// racing twin is reported with the cp.async's line and the stage read's
// and reproduced by the schedule search, the parity twin deadlocks naming
// empty[0] and its phase.
func TestRaceAsyncPipeline(t *testing.T) {
	code, stdout, stderr := runCLI(cat([]string{"race", "--kernel", "async_pipeline"}, asyncArgs)...)
	if code != exitOK || !strings.Contains(stderr, "RACECHECK SUMMARY: 0 hazards") {
		t.Errorf("async_pipeline: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, name := range []string{"async_pipeline_nowait", "async_pipeline_early_empty"} {
		code, stdout, stderr := runCLI(cat([]string{"race", "--kernel", name, "--seeds", "30"}, asyncArgs)...)
		if code != exitFail {
			t.Errorf("%s: exit %d, want %d\n%s\n%s", name, code, exitFail, stdout, stderr)
		}
		for _, want := range []string{"at cp.async in kernels/async_pipeline.cu:", "at ld.shared in kernels/async_pipeline.cu:",
			"inter-warp, shared memory", "reproduced: output differs from lockstep under"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: report lacks %q:\n%s", name, want, stderr)
			}
		}
	}
	code, stdout, stderr = runCLI(cat([]string{"race", "--kernel", "async_pipeline_parity"}, asyncArgs)...)
	if code != exitFail || !strings.Contains(stderr, "poll the mbarrier at shared offset 0x40") ||
		!strings.Contains(stderr, "for phase 0 (parity 0), which cannot complete: 0 of 64 arrivals came") {
		t.Errorf("async_pipeline_parity: exit %d, want %d and a deadlock on empty[0] phase 0\n%s\n%s", code, exitFail, stdout, stderr)
	}
}
