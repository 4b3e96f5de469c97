package kcheck

import (
	"errors"
	"fmt"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// RunOnDevice runs kernel's case (Case(kernel, size)) on dev through the
// gpu.Device API only: it loads the kernel's embedded PTX module
// (dev.LoadModule), allocates the argument buffers and copies their
// initial bytes in, launches on a new stream, synchronizes it, copies the
// output buffers back and checks them with KernelCase.Verify; then it frees
// what it made (dev itself stays open).
//
// What Report.OK means depends on the kernel's catalogue entry:
//
//   - a correct kernel (ExpectOK) is OK when its output matches the Go
//     reference;
//   - a racy twin (ExpectRace) is run for information: OK is true whatever
//     its output (a real GPU may or may not show the race), and Detail
//     says whether the output differed from the reference;
//   - a kernel that deadlocks by design (ExpectDeadlock) would hang a
//     GPU, so on any backend but "emu" it is not launched: Skipped and OK
//     are true and Detail says why. On the emulator it is OK when it
//     deadlocks;
//   - a kernel built for a newer GPU than the device (kernels.Kernel.SM
//     above gpu.Info.SM: the sm_80 kernels on a Volta or Turing) is not
//     loaded: Skipped and OK are true and Detail names both.
//
// Any error from the device (setting up, launching, the launch itself,
// copying back, cleaning up) is in Report.Err, and OK is then false.
func RunOnDevice(dev gpu.Device, kernel string, size Size) Report {
	rep := Report{Kernel: kernel, Backend: dev.Info().Backend}
	kc, err := Case(kernel, size)
	if err != nil {
		rep.Err = err
		return rep
	}
	rep.Threads = kc.Threads()
	k := kc.Kernel
	if in := dev.Info(); k.SM() > in.SM() {
		rep.OK, rep.Skipped = true, true
		rep.Detail = fmt.Sprintf("skipped: %s is built for sm_%d (compute capability %d.%d or newer); the device is %d.%d",
			kernel, k.SM(), k.SM()/10, k.SM()%10, in.ComputeCapability[0], in.ComputeCapability[1])
		return rep
	}
	if k.MayHang() && rep.Backend != gpu.BackendEmu {
		why := "deadlocks by design"
		if k.Expect != kernels.ExpectDeadlock {
			why = "can deadlock (" + k.Hangs + ")"
		}
		rep.OK, rep.Skipped = true, true
		rep.Detail = fmt.Sprintf("skipped: %s %s and would hang the %s device; it runs on the emu backend only", kernel, why, rep.Backend)
		return rep
	}
	err = runCase(dev, kc, &rep)
	var dl *cpuemu.DeadlockError
	switch {
	case k.Expect == kernels.ExpectDeadlock && errors.As(err, &dl):
		rep.OK, rep.Detail = true, "deadlock, as expected"
	case k.Hangs != "" && errors.As(err, &dl):
		rep.OK, rep.Detail = true, "race showed as a deadlock: "+firstLine(dl.Error())
		if rep.Race != nil && len(rep.Race.Hazards) > 0 {
			rep.Detail += "; race reported: " + rep.Race.Hazards[0].Error()
		}
	case err != nil:
		rep.Err = err
	case k.Expect == kernels.ExpectOK:
		// rep.OK and rep.Detail are Verify's; the checker's report, if the
		// device ran one, must be clean too.
		if rep.Race != nil && !rep.Race.Clean() {
			rep.OK = false
			rep.Detail += "; but " + rep.Race.Err().Error()
		}
	case k.Expect == kernels.ExpectRace:
		if rep.OK {
			rep.Detail = "race did not show: the output matches the Go reference"
		} else {
			rep.Detail = "race showed: " + rep.Detail
		}
		if rep.Race != nil && len(rep.Race.Hazards) > 0 {
			rep.Detail += "; race reported: " + rep.Race.Hazards[0].Error()
		}
		rep.OK = true
	default:
		rep.OK = false
	}
	return rep
}

// runCase does RunOnDevice's device work and fills in rep's Elapsed, OK and
// Detail (Verify's verdict), and Raced and Race when the device returned a
// race checker report.
func runCase(dev gpu.Device, kc *KernelCase, rep *Report) (err error) {
	keep := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	m, err := dev.LoadModule(kc.Kernel.File, kc.Kernel.PTX())
	if err != nil {
		return err
	}
	defer func() { keep(m.Close()) }()
	kern, err := m.Kernel(kc.Kernel.Name)
	if err != nil {
		return err
	}
	stream, err := dev.NewStream()
	if err != nil {
		return err
	}
	defer func() { keep(stream.Close()) }()
	args := make([]any, len(kc.Args))
	bufs := make([]gpu.DeviceBuffer, len(kc.Args))
	defer func() {
		for _, b := range bufs {
			if b != nil {
				keep(b.Free())
			}
		}
	}()
	for i, a := range kc.Args {
		if a.Scalar {
			args[i] = a.Value
			continue
		}
		b, err := dev.Alloc(a.Size())
		if err != nil {
			return err
		}
		bufs[i], args[i] = b, b
		if err := b.CopyFromHost(0, a.Init); err != nil {
			return err
		}
	}
	start := time.Now()
	err = stream.Launch(kern, kc.Launch, args...)
	if err == nil {
		err = stream.Synchronize()
	}
	rep.Elapsed = time.Since(start)
	// An emulator device that runs the race and sync checker returns its
	// findings as the launch's error: they are the report's, not a failed
	// launch, unless the checker stopped the launch.
	var ce *cpuemu.CheckError
	if errors.As(err, &ce) {
		rep.Raced, rep.Race = true, ce.Report
		if ce.Report.Fatal == nil {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	var outs [][]byte
	for _, i := range kc.Outputs() {
		b := make([]byte, kc.Args[i].Size())
		if err := bufs[i].CopyToHost(b, 0); err != nil {
			return err
		}
		outs = append(outs, b)
	}
	rep.OK, rep.Detail = kc.Verify(outs)
	return nil
}
