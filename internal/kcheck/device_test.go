package kcheck_test

import (
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/gpu/emu"
	"github.com/gpubuf/gpubuf/internal/kcheck"
	"github.com/gpubuf/gpubuf/kernels"
)

func openEmu(t *testing.T, opts gpu.EmuOptions) gpu.Device {
	t.Helper()
	dev, err := emu.Open(gpu.Options{Backend: gpu.BackendEmu, Emu: opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return dev
}

// Every case's arguments follow the catalogue's parameters, and Verify
// accepts the reference output and rejects a changed one.
func TestCase(t *testing.T) {
	for _, k := range kernels.All() {
		c, err := kcheck.Case(k.Name, 1)
		if err != nil {
			t.Fatalf("%s: %v", k.Name, err)
		}
		if len(c.Args) != len(k.Params) {
			t.Fatalf("%s: %d arguments for %d parameters", k.Name, len(c.Args), len(k.Params))
		}
		for i, a := range c.Args {
			p := k.Params[i]
			if a.Name != p.Name || a.Scalar != (p.Type == kernels.TypeU32) || !a.Scalar && a.Size() == 0 {
				t.Errorf("%s: argument %d %+v does not fit parameter %+v", k.Name, i, a, p)
			}
		}
		if len(c.Outputs()) == 0 || c.Threads() <= 0 || c.Threads()%32 != 0 {
			t.Errorf("%s: outputs %v, threads %d", k.Name, c.Outputs(), c.Threads())
		}
		if ok, _ := c.Verify(nil); ok {
			t.Errorf("%s: Verify(nil) is ok", k.Name)
		}
	}
	if _, err := kcheck.Case("no_such_kernel", 1); err == nil {
		t.Error("Case of an unknown kernel: no error")
	}
	if _, err := kcheck.Case("lane_handoff", 0); err == nil {
		t.Error("Case of size 0: no error")
	}

	c, err := kcheck.Case("lane_handoff", 2)
	if err != nil {
		t.Fatal(err)
	}
	in := kernels.Words(c.Args[0].Init)
	if int(c.Args[2].Value) != len(in) || c.Args[1].Size() != 4*len(in) || c.Outputs()[0] != 1 {
		t.Fatalf("lane_handoff case: n %d for %d input words, out %d bytes", c.Args[2].Value, len(in), c.Args[1].Size())
	}
	want := kernels.WordBytes(kernels.LaneHandoff(in))
	if ok, detail := c.Verify([][]byte{want}); !ok {
		t.Errorf("Verify of the reference output: %s", detail)
	}
	want[4*7+2] ^= 0x40
	if ok, detail := c.Verify([][]byte{want}); ok || !strings.Contains(detail, "first at 7") {
		t.Errorf("Verify of an output with word 7 changed: ok %v, %s", ok, detail)
	}
}

func TestRunOnDevice(t *testing.T) {
	dev := openEmu(t, gpu.EmuOptions{Scheduler: "adversarial"})
	for _, k := range kernels.All() {
		rep := kcheck.RunOnDevice(dev, k.Name, 1)
		if rep.Err != nil || !rep.OK || rep.Skipped || rep.Backend != gpu.BackendEmu || rep.Threads == 0 {
			t.Errorf("%s: OK %v, skipped %v, backend %q, threads %d, err %v: %s", k.Name, rep.OK, rep.Skipped, rep.Backend, rep.Threads, rep.Err, rep.Detail)
		}
		var prefix string
		switch k.Expect {
		case kernels.ExpectOK:
			prefix = "matches the Go reference"
		case kernels.ExpectRace:
			// The adversarial schedule shows every twin's race but one:
			// in async_pipeline_early_empty the consumer thread whose early
			// release completes the phase runs on alone and reads the stage
			// before the producer can refill it. async_pipeline_full_parity
			// shows as a deadlock: a consumer comes to its wrong-parity wait
			// after the copy landed.
			prefix = "race showed"
			if k.Name == "async_pipeline_early_empty" {
				prefix = "race did not show"
			}
		case kernels.ExpectDeadlock:
			prefix = "deadlock, as expected"
		}
		if !strings.HasPrefix(rep.Detail, prefix) {
			t.Errorf("%s: detail %q, want it to start with %q", k.Name, rep.Detail, prefix)
		}
	}
	if rep := kcheck.RunOnDevice(dev, "no_such_kernel", 1); rep.Err == nil || rep.OK {
		t.Errorf("unknown kernel: OK %v, err %v", rep.OK, rep.Err)
	}
}

// A racy twin under lockstep gives the right output: information, not a
// failure.
func TestRunOnDeviceRaceHidden(t *testing.T) {
	dev := openEmu(t, gpu.EmuOptions{Scheduler: "lockstep"})
	rep := kcheck.RunOnDevice(dev, "lane_handoff_nosync", 1)
	if rep.Err != nil || !rep.OK || rep.Detail != "race did not show: the output matches the Go reference" {
		t.Errorf("OK %v, err %v: %s", rep.OK, rep.Err, rep.Detail)
	}
}

// On a device opened with the checker on, the checker's report is the
// Report's.
func TestRunOnDeviceChecked(t *testing.T) {
	dev := openEmu(t, gpu.EmuOptions{Check: true})
	rep := kcheck.RunOnDevice(dev, "pingpong_war", 1)
	if rep.Err != nil || !rep.OK || !rep.Raced || rep.Race == nil || len(rep.Race.Hazards) == 0 || !strings.Contains(rep.Detail, "race reported: ") {
		t.Errorf("pingpong_war: OK %v, raced %v, err %v: %s", rep.OK, rep.Raced, rep.Err, rep.Detail)
	}
	rep = kcheck.RunOnDevice(dev, "pingpong", 1)
	if rep.Err != nil || !rep.OK {
		t.Errorf("pingpong: OK %v, err %v: %s", rep.OK, rep.Err, rep.Detail)
	}
}

// notEmu is a device of another backend, as far as RunOnDevice can tell.
type notEmu struct{ gpu.Device }

func (d notEmu) Info() gpu.Info {
	i := d.Device.Info()
	i.Backend = gpu.BackendCUDA
	return i
}

// divergent_syncwarp, async_pipeline_parity and async_pipeline_full_parity
// would hang a GPU: they are skipped there.
func TestRunOnDeviceSkipsDeadlock(t *testing.T) {
	dev := notEmu{openEmu(t, gpu.EmuOptions{})}
	for _, k := range []struct{ name, why string }{
		{"divergent_syncwarp", "deadlocks by design"},
		{"async_pipeline_parity", "deadlocks by design"},
		{"async_pipeline_full_parity", "can deadlock (a consumer that reaches its wrong-parity wait after the copy has landed"},
	} {
		rep := kcheck.RunOnDevice(dev, k.name, 1)
		if !rep.Skipped || !rep.OK || rep.Err != nil || rep.Backend != gpu.BackendCUDA || !strings.HasPrefix(rep.Detail, "skipped: "+k.name+" "+k.why) {
			t.Errorf("%s: OK %v, skipped %v, backend %q, err %v: %s", k.name, rep.OK, rep.Skipped, rep.Backend, rep.Err, rep.Detail)
		}
	}
	if rep := kcheck.RunOnDevice(dev, "lane_handoff", 1); rep.Skipped || !rep.OK {
		t.Errorf("lane_handoff: OK %v, skipped %v: %s", rep.OK, rep.Skipped, rep.Detail)
	}
}

// oldGPU is a device of compute capability 7.5, as far as RunOnDevice can
// tell.
type oldGPU struct{ gpu.Device }

func (d oldGPU) Info() gpu.Info {
	i := d.Device.Info()
	i.Backend, i.ComputeCapability = gpu.BackendCUDA, [2]int{7, 5}
	return i
}

// The sm_80 kernels are not loaded on a Turing: skipped, saying why; the
// sm_70 ones run.
func TestRunOnDeviceSkipsNewerTarget(t *testing.T) {
	dev := oldGPU{openEmu(t, gpu.EmuOptions{})}
	for _, name := range []string{"async_pipeline", "warp_specialized_barrier", "async_pipeline_nowait"} {
		rep := kcheck.RunOnDevice(dev, name, 1)
		want := "skipped: " + name + " is built for sm_80 (compute capability 8.0 or newer); the device is 7.5"
		if !rep.Skipped || !rep.OK || rep.Err != nil || rep.Detail != want {
			t.Errorf("%s: OK %v, skipped %v, err %v: %q, want %q", name, rep.OK, rep.Skipped, rep.Err, rep.Detail, want)
		}
	}
	if rep := kcheck.RunOnDevice(dev, "warp_specialized", 1); rep.Skipped || !rep.OK {
		t.Errorf("warp_specialized on 7.5: OK %v, skipped %v: %s", rep.OK, rep.Skipped, rep.Detail)
	}
}
