package emutest_test

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/cpuemu/emutest"
	"github.com/gpubuf/gpubuf/kernels"
)

// fakeTB records failures instead of failing the test; Fatal stops the
// goroutine, as testing's does. Calls the recorder does not define reach
// the nil embedded TB and panic, so emutest can only use these.
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msgs   []string
}

func (f *fakeTB) Helper()      {}
func (f *fakeTB) Name() string { return "fake" }
func (f *fakeTB) Logf(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf(format, a...))
}
func (f *fakeTB) Log(a ...any) { f.Logf("%s", fmt.Sprint(a...)) }
func (f *fakeTB) Fail() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = true
}
func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}
func (f *fakeTB) FailNow()                       { f.Fail(); runtime.Goexit() }
func (f *fakeTB) Errorf(format string, a ...any) { f.Logf(format, a...); f.Fail() }
func (f *fakeTB) Error(a ...any)                 { f.Log(a...); f.Fail() }
func (f *fakeTB) Fatalf(format string, a ...any) { f.Errorf(format, a...); f.FailNow() }
func (f *fakeTB) Fatal(a ...any)                 { f.Error(a...); f.FailNow() }

func (f *fakeTB) text() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.msgs, "\n")
}

// runFake runs body with a fakeTB in its own goroutine, so that Fatal can
// end it, and returns the recorder.
func runFake(body func(t testing.TB)) *fakeTB {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		body(f)
	}()
	<-done
	return f
}

// handoff launches a lane_handoff-shaped kernel on n generated words.
func handoff(t testing.TB, launch func(testing.TB, *cpuemu.Module, *cpuemu.Device, string, cpuemu.LaunchConfig, ...any) *cpuemu.Result,
	kernel string, cfg cpuemu.LaunchConfig, n int) (in, out []uint32, res *cpuemu.Result) {
	t.Helper()
	m := emutest.LoadKernel(t, kernel)
	dev := cpuemu.NewDevice()
	in = make([]uint32, n)
	for i := range in {
		in[i] = uint32(i)*2654435761 + 12345
	}
	pin := emutest.WordBuffer(t, dev, in)
	pout := emutest.Zeroed(t, dev, 4*n)
	res = launch(t, m, dev, kernel, cfg, pin, pout, uint32(n))
	if res == nil {
		return in, nil, nil
	}
	return in, emutest.Words(t, dev, pout, n), res
}

// The point of emutest: a racy kernel fails the test, and the failure
// carries the checker's report.
func TestLaunchFailsOnRace(t *testing.T) {
	var res *cpuemu.Result
	f := runFake(func(tb testing.TB) {
		_, _, res = handoff(tb, emutest.Launch, "lane_handoff_nosync", emutest.Config(1, 64), 300)
	})
	if !f.Failed() {
		t.Fatalf("Launch passed a test on lane_handoff_nosync; log:\n%s", f.text())
	}
	if res != nil {
		t.Errorf("Launch returned a result after failing the test")
	}
	msg := f.text()
	for _, want := range []string{"Race reported", "lane_handoff_nosync", "lockstep", "RACECHECK SUMMARY"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure message lacks %q:\n%s", want, msg)
		}
	}
}

// LaunchReport hands the same report back without failing.
func TestLaunchReportOnRace(t *testing.T) {
	for _, k := range []string{"lane_handoff_nosync", "lane_handoff_badmask"} {
		t.Run(k, func(t *testing.T) {
			t.Parallel()
			_, _, res := handoff(t, emutest.LaunchReport, k, emutest.Config(2, 64), 500)
			if len(res.Report.Hazards) == 0 {
				t.Fatalf("no hazard reported:\n%s", emutest.ReportText(res.Report))
			}
			if res.Report.Clean() || res.Report.Err() == nil {
				t.Errorf("a report with hazards is clean")
			}
			h := res.Report.Hazards[0]
			if h.Space != "shared" || h.Scope != "intra-warp" {
				t.Errorf("hazard %v: want an intra-warp hazard on shared memory", &h)
			}
		})
	}
}

// The correct kernel passes under every schedule, with the right output.
func TestLaunchClean(t *testing.T) {
	emutest.EverySchedule(t, 3, func(t *testing.T, s emutest.Schedule) {
		t.Parallel()
		in, out, res := handoff(t, emutest.Launch, "lane_handoff", s.Config(emutest.Config(2, 96)), 777)
		if !res.Report.Clean() {
			t.Fatal("Launch returned an unclean report")
		}
		if want := kernels.LaneHandoff(in); !slices.Equal(out, want) {
			t.Errorf("lane_handoff output differs from kernels.LaneHandoff")
		}
	})
}

// A deadlock fails the test too, as does a launch that cannot start.
func TestLaunchFailsOnDeadlockAndArgs(t *testing.T) {
	m := emutest.LoadKernel(t, "divergent_syncwarp")
	f := runFake(func(tb testing.TB) {
		dev := cpuemu.NewDevice()
		emutest.Launch(tb, m, dev, "divergent_syncwarp", emutest.Config(1, 64), emutest.Zeroed(tb, dev, 4*64))
	})
	if !f.Failed() || !strings.Contains(f.text(), "deadlock") {
		t.Errorf("divergent_syncwarp: failed %v, message:\n%s", f.Failed(), f.text())
	}
	f = runFake(func(tb testing.TB) {
		emutest.Launch(tb, m, cpuemu.NewDevice(), "divergent_syncwarp", emutest.Config(1, 64), uint32(1))
	})
	if !f.Failed() || !strings.Contains(f.text(), "argument 0") {
		t.Errorf("bad argument: failed %v, message:\n%s", f.Failed(), f.text())
	}
	f = runFake(func(tb testing.TB) {
		emutest.LaunchReport(tb, m, cpuemu.NewDevice(), "no_such_kernel", emutest.Config(1, 64))
	})
	if !f.Failed() || !strings.Contains(f.text(), "no such kernel") {
		t.Errorf("unknown kernel: failed %v, message:\n%s", f.Failed(), f.text())
	}
	f = runFake(func(tb testing.TB) { emutest.LoadKernel(tb, "no_such_kernel") })
	if !f.Failed() {
		t.Errorf("LoadKernel of an unknown kernel passed")
	}
	f = runFake(func(tb testing.TB) { emutest.LoadFile(tb, "testdata/does-not-exist.ptx") })
	if !f.Failed() {
		t.Errorf("LoadFile of a missing file passed")
	}
	f = runFake(func(tb testing.TB) { emutest.Load(tb, "bad.ptx", []byte(".version 7.8\n.target sm_70\nnot ptx")) })
	if !f.Failed() {
		t.Errorf("Load of bad PTX passed")
	}
	// A module with an entry the emulator cannot run loads; launching
	// that entry fails the test and says why, with its PTX line (7).
	mixed := emutest.Load(t, "mixed.ptx", []byte(`.version 7.8
.target sm_70
.address_size 64
.visible .entry tex(.param .u64 p)
{
	.reg .f32 %f<5>;
	tex.1d.v4.f32.s32 {%f1, %f2, %f3, %f4}, [p, {0}];
	ret;
}
.visible .entry ok(.param .u64 p)
{
	ret;
}
`))
	f = runFake(func(tb testing.TB) {
		dev := cpuemu.NewDevice()
		emutest.Launch(tb, mixed, dev, "tex", emutest.Config(1, 32), emutest.Zeroed(tb, dev, 4))
	})
	if !f.Failed() || !strings.Contains(f.text(), "cannot run on the emulator") || !strings.Contains(f.text(), "ptx line 7: unsupported instruction tex.1d") {
		t.Errorf("an entry that cannot run: failed %v, message:\n%s", f.Failed(), f.text())
	}
	dev := cpuemu.NewDevice()
	emutest.Launch(t, mixed, dev, "ok", emutest.Config(1, 32), emutest.Zeroed(t, dev, 4))
}

func TestSchedules(t *testing.T) {
	var names []string
	for _, s := range emutest.Schedules(2) {
		names = append(names, s.String())
		if c := s.Config(emutest.Config(3, 64)); c.Scheduler != s.Scheduler || c.Seed != s.Seed || c.Grid.X != 3 || c.Block.X != 64 {
			t.Errorf("%s: Config gives %+v", s, c)
		}
	}
	want := []string{"lockstep", "roundrobin", "adversarial", "random seed 1", "random seed 2"}
	if !slices.Equal(names, want) {
		t.Errorf("Schedules(2) = %q, want %q", names, want)
	}
	if s := (emutest.Schedule{Scheduler: cpuemu.Adversarial, Seed: 4}); s.String() != "adversarial seed 4" {
		t.Errorf("adversarial seed 4 is named %q", s)
	}
}

func TestBuffers(t *testing.T) {
	dev := cpuemu.NewDevice()
	p := emutest.WordBuffer(t, dev, []uint32{1, 0xdeadbeef})
	if got := emutest.Words(t, dev, p, 2); !slices.Equal(got, []uint32{1, 0xdeadbeef}) {
		t.Errorf("Words = %#x", got)
	}
	if got := emutest.Read(t, dev, p, 5); !slices.Equal(got, []byte{1, 0, 0, 0, 0xef}) {
		t.Errorf("Read = %#x", got)
	}
	q := emutest.FloatBuffer(t, dev, []float32{1.5, -2})
	if got := emutest.Floats(t, dev, q, 2); !slices.Equal(got, []float32{1.5, -2}) {
		t.Errorf("Floats = %v", got)
	}
	if got := emutest.Words(t, dev, emutest.Buffer(t, dev, nil), 1); got[0] != 0 {
		t.Errorf("an empty Buffer holds %#x", got)
	}
	f := runFake(func(tb testing.TB) { emutest.Read(tb, dev, p, 1<<20) })
	if !f.Failed() {
		t.Errorf("reading past an allocation passed")
	}
}

func TestEveryScheduleNamesSubtests(t *testing.T) {
	var got []string
	emutest.EverySchedule(t, 1, func(t *testing.T, s emutest.Schedule) {
		got = append(got, t.Name()[strings.LastIndexByte(t.Name(), '/')+1:])
	})
	if want := []string{"lockstep", "roundrobin", "adversarial", "random-seed-1"}; !slices.Equal(got, want) {
		t.Errorf("subtests %q, want %q", got, want)
	}
}
