package cpuemu_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// A Go int, uint or uintptr refused by a launch says why (internal/ptx's
// TestGoIntMessages has every case; this is the emulator's launch path).
func TestLaunchGoIntMessages(t *testing.T) {
	m := ptLoad(t, "goargs", ptHeader+`
.visible .entry k(.param .u32 n, .param .u64 p)
{
	ret;
}
`)
	dev := cpuemu.NewDevice()
	buf, err := dev.Alloc(4)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []any
		want string
	}{
		{[]any{int(1 << 33), buf}, "launch k: argument 0 (n .u32, 4 bytes) given int 8589934592: int has no fixed size; use int32 or uint32 for a .u32 parameter"},
		{[]any{uint32(1), uintptr(0xc000010000)}, "launch k: argument 1 (p .u64, 8 bytes) given a uintptr: uintptr has no fixed size, and holds a host address that the device cannot use; use int64 or uint64 for a .u64 parameter (for a device address, pass the buffer)"},
	} {
		_, err := m.Launch(dev, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)}, c.args...)
		var ae *cpuemu.ArgError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Launch(%T, %T): %v\nwant an *ArgError with %q", c.args[0], c.args[1], err, c.want)
		}
	}
	// Even an int whose value fits: its size is the platform's.
	if _, err := m.Launch(dev, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)}, int(5), buf); err == nil || !strings.Contains(err.Error(), "given int 5: int has no fixed size; use int32 or uint32 for a .u32 parameter") {
		t.Errorf("int 5 for a .u32: %v, want the refusal", err)
	}
}
