package gputest_test

import (
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/gpu/emu"
	"github.com/gpubuf/gpubuf/gpu/gputest"
)

// The suite on the emulator backend, which every build has.
func TestEmu(t *testing.T) {
	gputest.Run(t, func(t *testing.T) gpu.Device {
		dev, err := emu.Open(gpu.Options{Backend: gpu.BackendEmu})
		if err != nil {
			t.Fatalf("emu.Open: %v", err)
		}
		return dev
	})
}
