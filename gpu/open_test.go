//go:build !cuda

package gpu_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
	_ "github.com/gpubuf/gpubuf/gpu/emu"
)

// In a build without the cuda tag the emulator is the only backend: Open
// picks it, and asking for cuda is an error that says how to get it.
func TestOpenChoosesABackend(t *testing.T) {
	t.Setenv(gpu.EnvBackend, "")
	dev, err := gpu.Open(gpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b := dev.Info().Backend; b != gpu.BackendEmu {
		t.Errorf("default backend %q, want emu", b)
	}
	if err := dev.Close(); err != nil {
		t.Error(err)
	}
	if got := gpu.Backends(); len(got) != 1 || got[0] != gpu.BackendEmu {
		t.Errorf("Backends() = %q", got)
	}

	for _, c := range []struct {
		opt, env, frag string
	}{
		{"cuda", "", "build with -tags cuda"},
		{"", "cuda", "(from GPUBUF_BACKEND)"},
		{"tpu", "", `backend "tpu" (from Options.Backend) is not in this binary; it has emu`},
		{"", "tpu", `backend "tpu" (from GPUBUF_BACKEND)`},
	} {
		t.Setenv(gpu.EnvBackend, c.env)
		_, err := gpu.Open(gpu.Options{Backend: c.opt})
		var ge *gpu.Error
		if !errors.As(err, &ge) || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("Open(%q) with %s=%q: %v, want an error containing %q", c.opt, gpu.EnvBackend, c.env, err, c.frag)
		}
	}

	// Options.Backend wins over the environment.
	t.Setenv(gpu.EnvBackend, "cuda")
	dev, err = gpu.Open(gpu.Options{Backend: gpu.BackendEmu})
	if err != nil {
		t.Fatal(err)
	}
	dev.Close()
}

// The emulator opens an independent device for each ordinal: memory
// allocated on one does not count against another's limit; a negative
// ordinal is refused.
func TestOpenEmuOrdinals(t *testing.T) {
	const limit = 1 << 20
	var devs []gpu.Device
	for i := range 2 {
		d, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu, Ordinal: i, Emu: gpu.EmuOptions{MemoryLimit: limit}})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		devs = append(devs, d)
	}
	// Three quarters of the limit on each: together more than one device
	// holds, so they must not share memory.
	for i, d := range devs {
		if _, err := d.Alloc(3 * limit / 4); err != nil {
			t.Errorf("device %d: %v", i, err)
		}
	}
	if _, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu, Ordinal: -1}); err == nil || !strings.Contains(err.Error(), "ordinal -1") {
		t.Errorf("ordinal -1: %v; want an error naming it", err)
	}
}
