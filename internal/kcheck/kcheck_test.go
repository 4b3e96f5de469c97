package kcheck

import (
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// Without the checker a racy twin under lockstep gives the right output
// (the race does not show); with it, the hazard is reported whatever the
// output, and a correct kernel's report is clean.
func TestRace(t *testing.T) {
	c, err := New(1)
	if err != nil {
		t.Fatal(err)
	}
	lockstep := Schedule{Scheduler: cpuemu.Lockstep}

	rep := c.Check("lane_handoff_nosync", lockstep)
	if rep.Err != nil || rep.OK || rep.Raced || rep.Race != nil {
		t.Errorf("unchecked: OK %v, raced %v, report %v, err %v; want a right output, so not OK, and no report (%s)", rep.OK, rep.Raced, rep.Race != nil, rep.Err, rep.Detail)
	}

	rep = c.CheckRaced("lane_handoff_nosync", lockstep)
	if rep.Err != nil || !rep.OK || !rep.Raced || rep.Race == nil || len(rep.Race.Hazards) == 0 {
		t.Fatalf("checked: OK %v, raced %v, err %v, detail %s", rep.OK, rep.Raced, rep.Err, rep.Detail)
	}
	if !strings.HasPrefix(rep.Detail, "race reported: ") {
		t.Errorf("detail %q", rep.Detail)
	}

	c.Race = true
	rep = c.Check("lane_handoff", lockstep)
	if rep.Err != nil || !rep.OK || !rep.Raced || rep.Race == nil || !rep.Race.Clean() {
		t.Errorf("lane_handoff checked: OK %v, err %v, detail %s", rep.OK, rep.Err, rep.Detail)
	}
	rep, ok := c.FindFailure("pingpong_war", 2)
	if !ok || rep.Schedule != "adversarial" || len(rep.Race.Hazards) == 0 {
		t.Errorf("FindFailure with Race: ok %v at %s, detail %s, err %v", ok, rep.Schedule, rep.Detail, rep.Err)
	}
	rep = c.Check("divergent_syncwarp", lockstep)
	if !rep.OK || rep.Race == nil || rep.Race.Fatal == nil {
		t.Errorf("divergent_syncwarp checked: OK %v, err %v, detail %s", rep.OK, rep.Err, rep.Detail)
	}
}
