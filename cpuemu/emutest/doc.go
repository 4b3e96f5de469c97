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
package emutest
