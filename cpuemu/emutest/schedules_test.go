package emutest_test

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/cpuemu/emutest"
	"github.com/gpubuf/gpubuf/kernels"
)

var (
	lockstep    = emutest.Schedule{Scheduler: cpuemu.Lockstep}
	roundrobin  = emutest.Schedule{Scheduler: cpuemu.RoundRobin}
	adversarial = emutest.Schedule{Scheduler: cpuemu.Adversarial}
)

// neighbourInput is in[i] = 100 + i for the 32 lanes of neighbour.
func neighbourInput() []int32 {
	in := make([]int32, 32)
	for i := range in {
		in[i] = int32(100 + i)
	}
	return in
}

// runNeighbour launches testdata/neighbour.ptx's neighbour, one warp, on a
// fresh device, and returns out as the run's output.
func runNeighbour(t testing.TB, m *cpuemu.Module) func(s emutest.Schedule) emutest.Run {
	return func(s emutest.Schedule) emutest.Run {
		dev := cpuemu.NewDevice()
		buf, out := emutest.Zeroed(t, dev, 4*32), emutest.Zeroed(t, dev, 4*32)
		res := emutest.LaunchReport(t, m, dev, "neighbour", s.Config(emutest.Config(1, 32)), buf, out, emutest.Int32Buffer(t, dev, neighbourInput()))
		return emutest.Run{Result: res, Outputs: []emutest.Output{emutest.Out("out", emutest.Int32s(t, dev, out, 32))}}
	}
}

// One race seen under three schedules is one finding. Derived from the
// kernel (testdata/neighbour.ptx): lane i stores buf[i] (line 5), then
// loads buf[i-1 mod 32] (line 6) with no __syncwarp.
//   - lockstep and roundrobin keep the warp converged: all 32 stores, then
//     all 32 loads, so every load finds its neighbour's store: RAW, 32
//     times; out[0] = in[31] = 131 and out[i] = in[i-1] = 99+i.
//   - adversarial runs lane 31 alone to the end, then lane 30, ...: lane
//     i loads buf[i-1] before lane i-1 stores it, so lanes 31..1 read 0
//     and each store then meets the read before it: WAR, 31 times. Lane
//     0 runs last and loads buf[31], which lane 31 stored: RAW, once.
//     out[0] = 131, out[1..31] = 0.
//
// Merged, the hazard is one finding that all three hit, 32 times each,
// and one output difference: adversarial changed out[1..31].
func TestRunSchedulesMergesOneRace(t *testing.T) {
	m := emutest.LoadFile(t, "testdata/neighbour.ptx")
	r := emutest.RunSchedules(t, emutest.Schedules(0), runNeighbour(t, m))
	if len(r.Findings) != 1 {
		t.Fatalf("%d findings, want 1:\n%s", len(r.Findings), r)
	}
	f := r.Findings[0]
	for _, want := range []string{"hazard", "Write at neighbour.cu:5", "Read at neighbour.cu:6"} {
		if !strings.Contains(f.What, want) {
			t.Errorf("finding %q lacks %q", f.What, want)
		}
	}
	wantHits := []emutest.Hit{{Schedule: lockstep, Count: 32, Type: "RAW"}, {Schedule: roundrobin, Count: 32, Type: "RAW"}, {Schedule: adversarial, Count: 32, Type: "WAR+RAW"}}
	if !reflect.DeepEqual(f.Hits, wantHits) {
		t.Errorf("hits %+v, want %+v", f.Hits, wantHits)
	}
	if f.Severity != cpuemu.SeverityError || r.Clean() {
		t.Errorf("a data race: severity %v, clean %v", f.Severity, r.Clean())
	}
	// The merged report holds the hazard once, as lockstep reported it.
	if len(r.Report.Hazards) != 1 || r.Report.Hazards[0].Type != "RAW" || r.Report.Hazards[0].Count != 32 || r.Report.Kernel != "neighbour" {
		t.Errorf("merged report: kernel %q, hazards %+v", r.Report.Kernel, r.Report.Hazards)
	}
	if len(r.Diffs) != 1 {
		t.Fatalf("%d output differences, want 1:\n%s", len(r.Diffs), r)
	}
	d := r.Diffs[0]
	if d.Schedule != adversarial || d.Reference != lockstep || d.Output != "out" || d.Elem != "int32" ||
		!slices.Equal(d.Ranges, [][2]int{{1, 31}}) || d.Runs != 1 || d.Changed != 31 || d.Len != 32 || d.RefLen != 32 {
		t.Errorf("diff %+v", d)
	}
	if want := "schedule adversarial changed out[1..31] (31 of 32 int32s): lockstep [100 101 102 103 104 105 106 107 ...], adversarial [0 0 0 0 0 0 0 0 ...]"; d.String() != want {
		t.Errorf("diff text\n%s\nwant\n%s", d, want)
	}
	text := r.String()
	for _, want := range []string{
		"kernel neighbour: 1 distinct finding in 3 schedules (lockstep, roundrobin, adversarial); outputs differ from lockstep's under adversarial",
		"3 of 3 schedules: lockstep 32, roundrobin 32, adversarial 32 as WAR+RAW",
		"RACECHECK SUMMARY: 1 hazards displayed",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "Race reported"); n != 1 {
		t.Errorf("the race is shown %d times, want once:\n%s", n, text)
	}
}

// CheckSchedules fails the test once, with the merged report.
func TestCheckSchedulesFailsOnce(t *testing.T) {
	m := emutest.LoadFile(t, "testdata/neighbour.ptx")
	f := runFake(func(tb testing.TB) { emutest.CheckSchedules(tb, emutest.Schedules(0), runNeighbour(tb, m)) })
	if !f.Failed() {
		t.Fatal("CheckSchedules passed a racy kernel")
	}
	msg := f.text()
	if n := strings.Count(msg, "Race reported"); n != 1 {
		t.Errorf("the failure shows the race %d times, want once:\n%s", n, msg)
	}
	for _, want := range []string{"3 of 3 schedules", "schedule adversarial changed out[1..31]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure lacks %q:\n%s", want, msg)
		}
	}
}

// A correct kernel passes, with nothing to report and the right output.
func TestCheckSchedulesClean(t *testing.T) {
	m := emutest.LoadKernel(t, "lane_handoff")
	const n = 300
	in := make([]uint32, n)
	for i := range in {
		in[i] = uint32(i)*2654435761 + 12345
	}
	r := emutest.CheckSchedules(t, emutest.Schedules(2), func(s emutest.Schedule) emutest.Run {
		dev := cpuemu.NewDevice()
		out := emutest.Zeroed(t, dev, 4*n)
		res := emutest.LaunchReport(t, m, dev, "lane_handoff", s.Config(emutest.Config(2, 64)), emutest.WordBuffer(t, dev, in), out, uint32(n))
		got := emutest.Words(t, dev, out, n)
		if !slices.Equal(got, kernels.LaneHandoff(in)) {
			t.Errorf("%s: lane_handoff's output differs from kernels.LaneHandoff", s)
		}
		return emutest.Run{Result: res, Outputs: []emutest.Output{emutest.Out("out", got)}}
	})
	if len(r.Findings) != 0 || len(r.Diffs) != 0 || !r.Clean() || !r.OutputsAgree() || len(r.Schedules) != 5 {
		t.Errorf("a correct kernel:\n%s", r)
	}
}

// A diagnostic is merged by kind and site: divide's 32 lanes each divide
// by zero once (neighbour.cu:11), under every schedule, and each gets the
// all-ones value the emulator gives (the PTX ISA leaves it unspecified),
// so the outputs agree.
func TestRunSchedulesMergesDiagnostics(t *testing.T) {
	m := emutest.LoadFile(t, "testdata/neighbour.ptx")
	r := emutest.RunSchedules(t, emutest.Schedules(1), func(s emutest.Schedule) emutest.Run {
		dev := cpuemu.NewDevice()
		out := emutest.Zeroed(t, dev, 4*32)
		res := emutest.LaunchReport(t, m, dev, "divide", s.Config(emutest.Config(1, 32)), out, uint32(0))
		return emutest.Run{Result: res, Outputs: []emutest.Output{emutest.Out("out", emutest.Words(t, dev, out, 32))}}
	})
	if len(r.Findings) != 1 {
		t.Fatalf("%d findings, want 1:\n%s", len(r.Findings), r)
	}
	f := r.Findings[0]
	if !strings.Contains(f.What, "integer-division-by-zero at neighbour.cu:11") {
		t.Errorf("finding %q", f.What)
	}
	var scheds []emutest.Schedule
	for _, h := range f.Hits {
		scheds = append(scheds, h.Schedule)
		if h.Count != 32 || h.Type != "" {
			t.Errorf("%s: count %d type %q, want 32 and none", h.Schedule, h.Count, h.Type)
		}
	}
	if !slices.Equal(scheds, emutest.Schedules(1)) {
		t.Errorf("hit under %v, want every schedule", scheds)
	}
	if len(r.Report.Other) != 1 || len(r.Diffs) != 0 {
		t.Errorf("merged: other %+v, diffs %v", r.Report.Other, r.Diffs)
	}
}

// A fatal error is merged by kind: divergent_syncwarp deadlocks under
// every schedule (half of each warp waits at __syncwarp for the half that
// waits at __syncthreads), and the merged report keeps the first one.
func TestRunSchedulesMergesFatal(t *testing.T) {
	m := emutest.LoadKernel(t, "divergent_syncwarp")
	ss := []emutest.Schedule{lockstep, adversarial}
	r := emutest.RunSchedules(t, ss, func(s emutest.Schedule) emutest.Run {
		dev := cpuemu.NewDevice()
		out := emutest.Zeroed(t, dev, 4*64)
		res := emutest.LaunchReport(t, m, dev, "divergent_syncwarp", s.Config(emutest.Config(1, 64)), out)
		return emutest.Run{Result: res, Outputs: []emutest.Output{emutest.Out("out", emutest.Words(t, dev, out, 64))}}
	})
	var deadlock *emutest.Finding
	for i := range r.Findings {
		if strings.HasPrefix(r.Findings[i].What, "fatal deadlock") {
			deadlock = &r.Findings[i]
		}
	}
	if deadlock == nil || len(deadlock.Hits) != 2 || deadlock.Hits[0].Schedule != lockstep || deadlock.Hits[1].Schedule != adversarial {
		t.Fatalf("no deadlock finding hit by both schedules:\n%s", r)
	}
	if r.Findings[len(r.Findings)-1].What != deadlock.What {
		t.Errorf("the fatal error is not last, where WriteText shows it:\n%s", r)
	}
	var dl *cpuemu.DeadlockError
	if !errors.As(r.Report.Fatal, &dl) {
		t.Errorf("merged Fatal %v, want the deadlock", r.Report.Fatal)
	}
	// Every thread stored 1 before the syncs and none got past them.
	if len(r.Diffs) != 0 {
		t.Errorf("outputs differ: %v", r.Diffs)
	}
}

// The output comparison alone, on outputs made by hand, so that every
// case is known: ranges, a length difference, the bound on what is
// shown, and element types.
func TestOutputDiffs(t *testing.T) {
	m := emutest.LoadFile(t, "testdata/neighbour.ptx")
	clean := func(s emutest.Schedule) *cpuemu.Result {
		dev := cpuemu.NewDevice()
		return emutest.LaunchReport(t, m, dev, "divide", s.Config(emutest.Config(1, 32)), emutest.Zeroed(t, dev, 4*32), uint32(1))
	}
	long := make([]uint32, 40)
	longer := slices.Clone(long)
	for i := 10; i < 30; i++ {
		longer[i] = uint32(i)
	}
	for _, c := range []struct {
		name     string
		ref, got emutest.Output
		want     string // "" for no difference
	}{
		{"equal", emutest.Out("a", []int64{-1, 2}), emutest.Out("a", []int64{-1, 2}), ""},
		{"two ranges and a longer output", emutest.Out("a", []int64{1, 2, 3, 4, 5}), emutest.Out("a", []int64{1, -9, -9, 4, 5, 6}),
			"schedule roundrobin changed a[1..2],[5] (3 of 6 int64s; 6 under roundrobin, 5 under lockstep): [1..2] lockstep [2 3], roundrobin [-9 -9]; [5..5] lockstep [-], roundrobin [6]"},
		{"at most 8 values shown", emutest.Out("w", long), emutest.Out("w", longer),
			"schedule roundrobin changed w[10..29] (20 of 40 uint32s): lockstep [0 0 0 0 0 0 0 0 ...], roundrobin [10 11 12 13 14 15 16 17 ...]"},
		{"at most 4 ranges kept", emutest.Out("b", []uint8{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), emutest.Out("b", []uint8{1, 0, 1, 0, 1, 0, 1, 0, 1, 0xff}),
			"schedule roundrobin changed b[0],[2],[4],[6] and 1 more range (6 of 10 uint8s): [0..0] lockstep [0x00], roundrobin [0x01]; [2..2] lockstep [0x00], roundrobin [0x01]; [4..4] lockstep [0x00], roundrobin [0x01]; [6..6] lockstep [0x00], roundrobin [0x01]"},
		{"float64 bits: -0 differs from 0, a NaN equals itself", emutest.Out("f", []float64{0, math.NaN(), 1.5}), emutest.Out("f", []float64{math.Copysign(0, -1), math.NaN(), 1.5}),
			"schedule roundrobin changed f[0] (1 of 3 float64s): lockstep [0], roundrobin [-0]"},
		{"raw bytes", emutest.Output{Name: "r", Bytes: []byte{1, 2}}, emutest.Output{Name: "r", Bytes: []byte{1, 0xab}},
			"schedule roundrobin changed r[1] (1 of 2 bytes): lockstep [0x02], roundrobin [0xab]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := emutest.RunSchedules(t, []emutest.Schedule{lockstep, roundrobin}, func(s emutest.Schedule) emutest.Run {
				o := c.ref
				if s == roundrobin {
					o = c.got
				}
				return emutest.Run{Result: clean(s), Outputs: []emutest.Output{o}}
			})
			switch {
			case c.want == "" && len(r.Diffs) != 0:
				t.Errorf("diffs %v, want none", r.Diffs)
			case c.want != "" && (len(r.Diffs) != 1 || r.Diffs[0].String() != c.want):
				t.Errorf("diffs %v\nwant %s", r.Diffs, c.want)
			}
			if r.Clean() != true || len(r.Findings) != 0 {
				t.Errorf("divide by 1 has findings:\n%s", r)
			}
		})
	}
}

// A clean kernel whose output still changes fails CheckSchedules: the
// checker's silence does not make a schedule-dependent result right.
func TestCheckSchedulesFailsOnOutputAlone(t *testing.T) {
	m := emutest.LoadFile(t, "testdata/neighbour.ptx")
	f := runFake(func(tb testing.TB) {
		emutest.CheckSchedules(tb, []emutest.Schedule{lockstep, adversarial}, func(s emutest.Schedule) emutest.Run {
			dev := cpuemu.NewDevice()
			res := emutest.LaunchReport(tb, m, dev, "divide", s.Config(emutest.Config(1, 32)), emutest.Zeroed(tb, dev, 4*32), uint32(1))
			return emutest.Run{Result: res, Outputs: []emutest.Output{emutest.Out("order", []int32{int32(s.Scheduler)})}}
		})
	})
	if !f.Failed() || !strings.Contains(f.text(), "0 distinct findings") || !strings.Contains(f.text(), "schedule adversarial changed order[0]") {
		t.Errorf("failed %v:\n%s", f.Failed(), f.text())
	}
}

// Misuse fails the test and says what is wrong.
func TestRunSchedulesMisuse(t *testing.T) {
	m := emutest.LoadFile(t, "testdata/neighbour.ptx")
	launch := func(tb testing.TB, s emutest.Schedule) *cpuemu.Result {
		dev := cpuemu.NewDevice()
		return emutest.LaunchReport(tb, m, dev, "divide", s.Config(emutest.Config(1, 32)), emutest.Zeroed(tb, dev, 4*32), uint32(1))
	}
	for _, c := range []struct {
		name string
		ss   []emutest.Schedule
		run  func(tb testing.TB) func(emutest.Schedule) emutest.Run
		want string
	}{
		{"no schedules", nil, func(tb testing.TB) func(emutest.Schedule) emutest.Run {
			return func(s emutest.Schedule) emutest.Run { return emutest.Run{Result: launch(tb, s)} }
		}, "at least one schedule"},
		{"no report", emutest.Schedules(0), func(tb testing.TB) func(emutest.Schedule) emutest.Run {
			return func(s emutest.Schedule) emutest.Run { return emutest.Run{Result: &cpuemu.Result{}} }
		}, "the run under lockstep returned no checker report"},
		{"outputs change", emutest.Schedules(0), func(tb testing.TB) func(emutest.Schedule) emutest.Run {
			return func(s emutest.Schedule) emutest.Run {
				o := emutest.Out("out", []int32{1})
				if s == adversarial {
					o = emutest.Out("out", []uint32{1})
				}
				return emutest.Run{Result: launch(tb, s), Outputs: []emutest.Output{o}}
			}
		}, "the run under adversarial: outputs [out uint32]; the first run's were [out int32]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := runFake(func(tb testing.TB) { emutest.RunSchedules(tb, c.ss, c.run(tb)) })
			if !f.Failed() || !strings.Contains(f.text(), c.want) {
				t.Errorf("failed %v, want a message with %q:\n%s", f.Failed(), c.want, f.text())
			}
		})
	}
}

// The typed buffers write little-endian and read back what they wrote;
// the bytes are derived by hand.
func TestTypedBuffers(t *testing.T) {
	dev := cpuemu.NewDevice()
	for _, c := range []struct {
		name string
		p    cpuemu.DevicePtr
		want []byte
		back func(p cpuemu.DevicePtr) any
		vals any
	}{
		{"int32", emutest.Int32Buffer(t, dev, []int32{-2, 0x01020304}), []byte{0xfe, 0xff, 0xff, 0xff, 4, 3, 2, 1},
			func(p cpuemu.DevicePtr) any { return emutest.Int32s(t, dev, p, 2) }, []int32{-2, 0x01020304}},
		{"int64", emutest.Int64Buffer(t, dev, []int64{-2}), []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			func(p cpuemu.DevicePtr) any { return emutest.Int64s(t, dev, p, 1) }, []int64{-2}},
		{"uint64", emutest.Uint64Buffer(t, dev, []uint64{0x0102030405060708}), []byte{8, 7, 6, 5, 4, 3, 2, 1},
			func(p cpuemu.DevicePtr) any { return emutest.Uint64s(t, dev, p, 1) }, []uint64{0x0102030405060708}},
		// 1.5 is 0x3FF8000000000000 in IEEE 754 binary64.
		{"float64", emutest.Float64Buffer(t, dev, []float64{1.5}), []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x3f},
			func(p cpuemu.DevicePtr) any { return emutest.Float64s(t, dev, p, 1) }, []float64{1.5}},
		// 1.5 is 0x3FC00000 in binary32.
		{"float32", emutest.FloatBuffer(t, dev, []float32{1.5}), []byte{0, 0, 0xc0, 0x3f},
			func(p cpuemu.DevicePtr) any { return emutest.Floats(t, dev, p, 1) }, []float32{1.5}},
	} {
		if got := emutest.Read(t, dev, c.p, len(c.want)); !slices.Equal(got, c.want) {
			t.Errorf("%s: bytes % x, want % x", c.name, got, c.want)
		}
		if got := c.back(c.p); !reflect.DeepEqual(got, c.vals) {
			t.Errorf("%s: read back %v, want %v", c.name, got, c.vals)
		}
	}
	p := emutest.Int64Buffer(t, dev, []int64{1, 2})
	for _, c := range []struct {
		name string
		read func(tb testing.TB)
	}{
		{"past the allocation", func(tb testing.TB) { emutest.Int64s(tb, dev, p, 3) }},
		{"negative count", func(tb testing.TB) { emutest.Uint64s(tb, dev, p, -1) }},
		{"a count that overflows", func(tb testing.TB) { emutest.Float64s(tb, dev, p, math.MaxInt/4) }},
		{"raw bytes, huge", func(tb testing.TB) { emutest.Read(tb, dev, p, math.MaxInt) }},
	} {
		if f := runFake(c.read); !f.Failed() {
			t.Errorf("%s: passed", c.name)
		}
	}
}
