package emutest_test

import (
	"errors"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/cpuemu/emutest"
	"github.com/gpubuf/gpubuf/internal/kcheck"
	"github.com/gpubuf/gpubuf/kernels"
)

// Every kernel of the catalogue, with the race and sync checker on
// (kcheck.CheckRaced, at the demo's input size): a correct kernel must give
// a clean report and the reference output under every scheduler; a racy
// twin must give at least one hazard, under lockstep (which keeps the warp
// converged, so the wrong output never shows) and the other schedulers;
// divergent_syncwarp must deadlock.
func TestKernelsChecked(t *testing.T) {
	seeds := 8
	if testing.Short() {
		seeds = 2
	}
	for _, k := range kernels.All() {
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			// One checker, so one device, per kernel: launches on a device
			// take turns, launches on different devices run in parallel.
			c, err := kcheck.New(1)
			if err != nil {
				t.Fatal(err)
			}
			switch k.Expect {
			case kernels.ExpectOK:
				emutest.EverySchedule(t, seeds, func(t *testing.T, s emutest.Schedule) {
					rep := c.CheckRaced(k.Name, s)
					if rep.Err != nil {
						t.Fatalf("launch failed: %v%s", rep.Err, reportOf(rep))
					}
					if !rep.Race.Clean() {
						t.Errorf("the checker reported findings on a correct kernel:%s", reportOf(rep))
					}
					if !rep.OK {
						t.Errorf("%s", rep.Detail)
					}
				})
			case kernels.ExpectRace:
				for _, s := range emutest.Schedules(1) {
					t.Run(s.String(), func(t *testing.T) {
						rep := c.CheckRaced(k.Name, s)
						if rep.Err != nil {
							t.Fatalf("launch failed: %v%s", rep.Err, reportOf(rep))
						}
						if len(rep.Race.Hazards) == 0 {
							t.Errorf("no hazard reported on a racy twin (%s):%s", rep.Detail, reportOf(rep))
						}
						if !rep.OK {
							t.Errorf("%s", rep.Detail)
						}
					})
				}
			case kernels.ExpectDeadlock:
				rep := c.CheckRaced(k.Name, kcheck.Schedule{Scheduler: cpuemu.Lockstep})
				var dl *cpuemu.DeadlockError
				if !rep.OK || rep.Race == nil || !errors.As(rep.Race.Fatal, &dl) {
					t.Errorf("want a deadlock as the report's fatal error; got OK %v, %s, err %v%s", rep.OK, rep.Detail, rep.Err, reportOf(rep))
				}
			default:
				t.Fatalf("unknown expectation %q", k.Expect)
			}
		})
	}
}

func reportOf(rep kcheck.Report) string {
	if rep.Race == nil {
		return " (no report)"
	}
	return "\n" + emutest.ReportText(rep.Race)
}
