package cpuemu_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/kernels"
)

// FuzzLoadLaunch mutates real nvcc PTX (the embedded kernels and the
// ordinary and racy test modules), loads it, and launches every entry
// that loads, on small buffers, with and without the checker. The
// emulator must never break: no panic and no *InternalError; every error
// is one a load or a launch documents; an entry that Kernel accepts
// launches or fails with a launch error, never with a load error.
func FuzzLoadLaunch(f *testing.F) {
	for _, name := range kernels.Files() {
		src, err := kernels.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, uint8(0))
	}
	for _, p := range []string{"testdata/ordinary/ordinary.ptx", "testdata/races/races.ptx", "testdata/ir/callseq.ptx", "testdata/frontend/frontend.ptx"} {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, uint8(1))
	}
	f.Add([]byte(ptChain(20)), uint8(2))
	f.Fuzz(func(t *testing.T, src []byte, shape uint8) {
		m, err := cpuemu.Load("fuzz.ptx", src)
		if err != nil {
			if !loadErr(err) {
				t.Fatalf("Load: untyped error %T: %v", err, err)
			}
			return
		}
		for _, e := range m.Entries() {
			if _, err := m.Kernel(e.Name); (err == nil) != (e.Err == nil) {
				t.Fatalf("entry %s: Err %v but Kernel says %v", e.Name, e.Err, err)
			}
			if e.Err != nil {
				if !loadErr(e.Err) {
					t.Fatalf("entry %s: untyped error %T: %v", e.Name, e.Err, e.Err)
				}
				continue
			}
			dev := cpuemu.NewDevice()
			args := make([]any, len(e.Params))
			for i, p := range e.Params {
				switch {
				case p.Size == 8 && p.Type != "f64":
					ptr, err := dev.Alloc(4096)
					if err != nil {
						t.Fatal(err)
					}
					args[i] = ptr
				case p.Type == "f32":
					args[i] = float32(1.5)
				case p.Type == "f64":
					args[i] = 2.5
				case p.Size <= 8:
					b := make([]byte, p.Size)
					b[0] = 37 // a small count
					args[i] = b
				default:
					args[i] = make([]byte, p.Size)
				}
			}
			cfg := cpuemu.LaunchConfig{
				Grid: cpuemu.Dim3{X: 1 + uint32(shape&1), Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 32 << (shape >> 1 & 1), Y: 1, Z: 1},
				Scheduler: cpuemu.Scheduler(shape >> 2 & 3), Seed: uint64(shape), Check: shape&16 != 0,
				MaxInstructions: 200_000, Timeout: 5 * time.Second,
			}
			_, err := m.Launch(dev, e.Name, cfg, args...)
			var ie *cpuemu.InternalError
			if errors.As(err, &ie) {
				t.Fatalf("entry %s: emulator bug: %v\n%s", e.Name, err, ie.Stack)
			}
			if err != nil && !launchErr(err) {
				t.Fatalf("entry %s: untyped launch error %T: %v", e.Name, err, err)
			}
		}
	})
}

func loadErr(err error) bool {
	var se *cpuemu.SyntaxError
	var ue *cpuemu.UnsupportedError
	var le *cpuemu.LimitError
	return errors.As(err, &se) || errors.As(err, &ue) || errors.As(err, &le)
}

func launchErr(err error) bool {
	var (
		ae *cpuemu.ArgError
		fe *cpuemu.FaultError
		de *cpuemu.DeadlockError
		le *cpuemu.LimitError
		te *cpuemu.TimeoutError
		ce *cpuemu.CheckError
		me *cpuemu.DeviceMemoryError
	)
	return errors.As(err, &ae) || errors.As(err, &fe) || errors.As(err, &de) || errors.As(err, &le) ||
		errors.As(err, &te) || errors.As(err, &ce) || errors.As(err, &me)
}
