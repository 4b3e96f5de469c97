// Package kcheck checks each catalogued kernel against the Go reference in
// kernels/ref.go, with generated inputs.
//
// Case gives a kernel's checked launch as data (KernelCase: launch shape,
// argument buffers and scalars, and Verify), for any launcher. Two run it:
//
//   - RunOnDevice, on any gpu.Device (the emulator backend or a GPU);
//   - Checker, on the emulator directly (package cpuemu), where it can
//     pick the schedule, search schedules for a racy twin's wrong result
//     (FindFailure), and run the race and sync checker (Checker.Race, or
//     CheckRaced), which must report nothing for a correct kernel and a
//     hazard for a racy twin.
//
// The demo command and the device conformance suite (gpu/gputest) use it.
package kcheck

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// Report is the outcome of one checked launch.
type Report struct {
	Kernel  string
	Backend string // "emu" for a Checker; the device's backend for RunOnDevice
	// Schedule is the emulator's schedule (Checker only; "" from
	// RunOnDevice, whose device chose it).
	Schedule string
	Threads  int64
	// LaneInstructions is what the emulator executed (Checker only; 0 from
	// RunOnDevice).
	LaneInstructions int64
	// Elapsed is the launch's wall-clock time: for RunOnDevice, from
	// queueing the launch to the end of the stream's Synchronize.
	Elapsed time.Duration
	// OK: the output equals the reference (correct kernels), or the
	// expected failure showed (racy twins: a wrong output, or for a twin
	// that Hangs, a deadlock; divergent: a deadlock). With the checker on,
	// a correct kernel must also have a clean report, and a racy twin is
	// OK when the checker reports a hazard, whatever its output, also when
	// the launch then deadlocked.
	//
	// RunOnDevice reports racy twins as information, not as a check: OK
	// is true whatever the output, and Detail says whether the race
	// showed. It does not launch divergent_syncwarp on a GPU, where it
	// would hang the device: Skipped and OK are true and Detail says why.
	OK      bool
	Skipped bool
	Detail  string
	Err     error // the launch error, if any (from RunOnDevice, mostly the device's *gpu.Error)
	// Diagnostics is the undefined behaviour the launch ran into
	// (Checker only).
	Diagnostics []cpuemu.Diagnostic
	// Raced says the launch ran with the race and sync checker on; Race is
	// then its report (nil only when the launch did not start).
	// RunOnDevice fills them in when an emulator device opened with
	// EmuOptions.Check returns the checker's report as a launch error.
	Raced bool
	Race  *cpuemu.Report
}

// LaneInstrPerSec is the emulator's speed on this launch.
func (r Report) LaneInstrPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.LaneInstructions) / r.Elapsed.Seconds()
}

// Schedule is a scheduler with its seed.
type Schedule = cpuemu.Schedule

// Checker holds loaded modules, one device, and the input size. Its
// methods may be called concurrently; launches on its device take turns.
type Checker struct {
	Size Size
	// Race turns the race and sync checker on for Check and FindFailure
	// (cpuemu.LaunchConfig.Check); set it before use.
	Race    bool
	dev     *cpuemu.Device
	modules map[string]*cpuemu.Module
}

// New loads every embedded PTX file.
func New(size Size) (*Checker, error) {
	if size < 1 {
		return nil, fmt.Errorf("kcheck: size %d must be at least 1", size)
	}
	c := &Checker{Size: size, dev: cpuemu.NewDevice(), modules: map[string]*cpuemu.Module{}}
	for _, f := range kernels.Files() {
		src, err := kernels.ReadFile(f)
		if err != nil {
			return nil, err
		}
		m, err := cpuemu.Load(f, src)
		if err != nil {
			return nil, err
		}
		c.modules[f] = m
	}
	return c, nil
}

// Module returns the loaded module that holds kernel.
func (c *Checker) Module(kernel string) (*cpuemu.Module, error) {
	k, ok := kernels.Lookup(kernel)
	if !ok {
		return nil, fmt.Errorf("unknown kernel %q", kernel)
	}
	return c.modules[k.File], nil
}

// Check runs kernel once under s and compares with the reference, with
// the race and sync checker on when c.Race is set.
func (c *Checker) Check(kernel string, s Schedule) Report { return c.check(kernel, s, c.Race) }

// CheckRaced is Check with the race and sync checker on, whatever c.Race
// says: Report.Race holds what it found.
func (c *Checker) CheckRaced(kernel string, s Schedule) Report { return c.check(kernel, s, true) }

func (c *Checker) check(kernel string, s Schedule, race bool) Report {
	rep := Report{Kernel: kernel, Backend: gpu.BackendEmu, Schedule: s.String(), Raced: race}
	kc, err := Case(kernel, c.Size)
	if err != nil {
		rep.Err = err
		return rep
	}
	k := kc.Kernel
	m := c.modules[k.File]
	var bufs []cpuemu.DevicePtr
	defer func() {
		for _, p := range bufs {
			c.dev.Free(p)
		}
	}()
	args := make([]any, len(kc.Args))
	ptrs := make([]cpuemu.DevicePtr, len(kc.Args))
	for i, a := range kc.Args {
		if a.Scalar {
			args[i] = a.Value
			continue
		}
		p, err := c.dev.Alloc(a.Size())
		if err == nil {
			bufs = append(bufs, p)
			err = c.dev.Write(p, a.Init)
		}
		if err != nil {
			rep.Err = fmt.Errorf("kcheck: %s: argument %s: %w", kernel, a.Name, err)
			return rep
		}
		args[i], ptrs[i] = p, p
	}
	verify := func() (bool, string) {
		var outs [][]byte
		for _, i := range kc.Outputs() {
			b := make([]byte, kc.Args[i].Size())
			if err := c.dev.Read(b, ptrs[i]); err != nil {
				return false, fmt.Sprintf("reading %s back: %v", kc.Args[i].Name, err)
			}
			outs = append(outs, b)
		}
		return kc.Verify(outs)
	}
	cfg := cpuemu.LaunchConfig{Scheduler: s.Scheduler, Seed: s.Seed, Check: race,
		Grid: emuDim(kc.Launch.Grid), Block: emuDim(kc.Launch.Block), SharedBytes: kc.Launch.SharedBytes}
	start := time.Now()
	res, err := m.Launch(c.dev, kernel, cfg, args...)
	rep.Elapsed = time.Since(start)
	rep.Threads = kc.Threads()
	if res != nil {
		rep.LaneInstructions = res.LaneInstructions
		rep.Diagnostics = res.Diagnostics
		rep.Race = res.Report
	}
	// The checker's findings are the report's, not a failed launch: the
	// kernel ran to the end and its output can still be compared.
	var ce *cpuemu.CheckError
	if errors.As(err, &ce) && ce.Report.Fatal == nil {
		err = nil
	}
	var dl *cpuemu.DeadlockError
	switch {
	case k.Expect == kernels.ExpectDeadlock && errors.As(err, &dl):
		rep.OK, rep.Detail = true, "deadlock, as expected"
	case k.Hangs != "" && errors.As(err, &dl):
		// A twin that may hang: under the checker its hazard is what
		// counts; without it, the deadlock is how the bug showed.
		rep.OK, rep.Detail = true, "deadlocked, as it can: "+firstLine(dl.Error())
		if race {
			rep.OK = rep.Race != nil && len(rep.Race.Hazards) > 0
			if rep.OK {
				rep.Detail = "race reported: " + rep.Race.Hazards[0].Error() + "; then " + rep.Detail
			} else {
				rep.Detail = "no hazard reported; " + rep.Detail
			}
		}
	case err != nil:
		rep.Err = err
	case race && rep.Race == nil:
		rep.Err = fmt.Errorf("kernel %s: the checked launch returned no report", kernel)
	default:
		match, detail := verify()
		switch k.Expect {
		case kernels.ExpectOK:
			rep.OK, rep.Detail = match, detail
			if match && len(rep.Diagnostics) > 0 {
				rep.OK, rep.Detail = false, "right result, but undefined behaviour: "+rep.Diagnostics[0].String()
			}
			if race && !rep.Race.Clean() {
				if match {
					rep.Detail = "right result, but " + rep.Race.Err().Error()
				} else {
					rep.Detail += "; and " + rep.Race.Err().Error()
				}
				rep.OK = false
			}
		case kernels.ExpectRace:
			if race {
				rep.OK = len(rep.Race.Hazards) > 0
				if rep.OK {
					rep.Detail = "race reported: " + rep.Race.Hazards[0].Error()
				} else {
					rep.Detail = "no hazard reported; output " + detail
				}
				break
			}
			rep.OK = !match
			if match {
				rep.Detail = "right result under this schedule (the race did not show)"
			} else {
				rep.Detail = "wrong result, as expected: " + detail
			}
		default:
			rep.Detail = detail
		}
	}
	return rep
}

// FindFailure searches schedules for one under which a racy twin gives a
// wrong result (or, with c.Race, a reported hazard): adversarial first,
// then round-robin, then random seeds 1..seeds.
func (c *Checker) FindFailure(kernel string, seeds int) (Report, bool) {
	var last Report
	for i := -1; i <= seeds; i++ {
		s := Schedule{Scheduler: cpuemu.Random, Seed: uint64(i)}
		switch i {
		case -1:
			s = Schedule{Scheduler: cpuemu.Adversarial}
		case 0:
			s = Schedule{Scheduler: cpuemu.RoundRobin}
		}
		last = c.Check(kernel, s)
		if last.OK || last.Err != nil {
			return last, last.OK
		}
	}
	return last, false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func emuDim(d gpu.Dim3) cpuemu.Dim3 { return cpuemu.Dim3{X: d.X, Y: d.Y, Z: d.Z} }
