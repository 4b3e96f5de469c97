// Package emutest runs PTX kernels on the cpuemu emulator from Go tests,
// with the race and sync checker on, and fails the test with the checker's
// full report when a launch is not clean.
//
// A typical test loads a module, fills some device buffers, launches the
// kernel under every scheduler and compares the output:
//
//	func TestScale(t *testing.T) {
//		m := emutest.LoadFile(t, "testdata/scale.ptx")
//		emutest.EverySchedule(t, 8, func(t *testing.T, s emutest.Schedule) {
//			dev := cpuemu.NewDevice()
//			in := emutest.WordBuffer(t, dev, []uint32{1, 2, 3})
//			out := emutest.Zeroed(t, dev, 4*3)
//			emutest.Launch(t, m, dev, "scale", s.Config(emutest.Config(1, 32)), in, out, uint32(3))
//			got := emutest.Words(t, dev, out, 3)
//			...
//		})
//	}
//
// Launch forces LaunchConfig.Check on. Any hazard, sync error, memory error,
// other undefined behaviour, or fatal error (fault, deadlock, limit) fails
// the test with the report in the form Report.WriteText gives it, in the
// manner of compute-sanitizer; so does a launch that could not start (an
// argument error) or an emulator bug. LaunchReport runs the same checked
// launch but hands the report back, for tests that expect findings.
//
// The schedulers interleave lanes differently: Lockstep keeps a warp
// converged, RoundRobin alternates PC groups one instruction at a time,
// Adversarial runs one lane alone as long as it can, and Random is
// reproducible from a seed. The checker reports a race whichever way the
// run went, but a kernel's output (and a deadlock) can depend on the
// schedule, so Schedules and EverySchedule cover all of them.
//
// EverySchedule gives each schedule a subtest of its own, so a race seen
// under seven schedules fails seven subtests; Launch prints its report in
// full in the first only, the others name that subtest (and print in full
// what it did not have), and the test's log ends with each distinct
// finding and the schedules that hit it. CheckSchedules runs them in one
// test instead: run prepares fresh
// buffers, launches with LaunchReport and returns the outputs to compare,
// and the test fails once, listing each distinct finding with the
// schedules that hit it and each output that a schedule changed from the
// first schedule's, element by element:
//
//	emutest.CheckSchedules(t, emutest.Schedules(4), func(s emutest.Schedule) emutest.Run {
//		dev := cpuemu.NewDevice()
//		in := emutest.Int32Buffer(t, dev, input)
//		out := emutest.Zeroed(t, dev, 4*n)
//		res := emutest.LaunchReport(t, m, dev, "scan", s.Config(emutest.Config(1, 32)), in, out)
//		return emutest.Run{Result: res, Outputs: []emutest.Output{emutest.Out("out", emutest.Int32s(t, dev, out, n))}}
//	})
//
// A hazard is one finding across schedules whichever of its two accesses
// came first (RAW under one schedule, WAR under another); a diagnostic is
// its kind and site. RunSchedules returns the same ScheduleReport without
// failing, for a test that expects a race and wants to know whether it
// changed the result.
//
// The typed buffer helpers (WordBuffer and Words for uint32, Int32Buffer
// and Int32s, Int64Buffer, Uint64Buffer, FloatBuffer for float32,
// Float64Buffer, ...) write and read little-endian, as the GPU does;
// Buffer and Read are the raw bytes.
package emutest
