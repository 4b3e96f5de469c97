package emutest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu/emutest"
)

// TestEveryScheduleRacyHelper is run by TestEveryScheduleReportsOnce in a
// child process (its failure is the point): lane_handoff_nosync under
// every schedule of Schedules(4), each subtest failing through Launch.
func TestEveryScheduleRacyHelper(t *testing.T) {
	if os.Getenv("GPUBUF_EMUTEST_EVERY_HELPER") != "1" {
		t.Skip("run by TestEveryScheduleReportsOnce")
	}
	emutest.EverySchedule(t, 4, func(t *testing.T, s emutest.Schedule) {
		cfg := emutest.Config(1, 64)
		cfg.Scheduler, cfg.Seed = s.Scheduler, s.Seed
		handoff(t, emutest.Launch, "lane_handoff_nosync", cfg, 300)
	})
}

// TestEveryScheduleReportsOnce: lane_handoff_nosync's race (the
// consumer's read at handoff.cu:66 of the slot the producer wrote at
// handoff.cu:56, no __syncwarp between) fails all 7 subtests of
// EverySchedule(t, 4), yet its report is printed in full once; the
// other subtests name the first, and the test's log lists the finding
// once with the 7 schedules.
func TestEveryScheduleReportsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary again")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestEveryScheduleRacyHelper$")
	cmd.Env = append(os.Environ(), "GPUBUF_EMUTEST_EVERY_HELPER=1")
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err == nil {
		t.Fatalf("the racy helper passed:\n%s", text)
	}
	if n := strings.Count(text, "--- FAIL: TestEveryScheduleRacyHelper/"); n != 7 {
		t.Errorf("%d subtests failed, want 7:\n%s", n, text)
	}
	full := strings.Count(text, "and Read access at ld.shared in kernels/handoff.cu:66")
	full += strings.Count(text, "and Write access at st.shared in kernels/handoff.cu:56")
	if full != 1 {
		t.Errorf("the race's full report printed %d times, want once:\n%s", full, text)
	}
	if n := strings.Count(text, "printed; the test's log lists every schedule"); n < 6 {
		t.Errorf("%d subtests refer to the first's report, want at least 6:\n%s", n, text)
	}
	if !strings.Contains(text, "distinct finding") || !strings.Contains(text, "7 of 7 schedules") {
		t.Errorf("no summary listing the finding's 7 schedules:\n%s", text)
	}
}
