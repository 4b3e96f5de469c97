package emu_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
)

// Through the device API, a refused Go int or uintptr says why:
// lane_handoff takes (.u64 in, .u64 out, .u32 n).
func TestEmuGoIntMessages(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	k := handoff(t, d, "lane_handoff")
	s := newStream(t, d)
	in, out := alloc(t, d, 4*64), alloc(t, d, 4*64)
	cfg := gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(64)}
	for _, c := range []struct {
		args []any
		want string
	}{
		{[]any{in, out, int(-1 << 40)}, "gpu emu: launch lane_handoff: argument 2 (lane_handoff_param_2 .u32, 4 bytes) given int -1099511627776: int has no fixed size; use int32 or uint32 for a .u32 parameter"},
		{[]any{uintptr(0x1000), out, uint32(64)}, "gpu emu: launch lane_handoff: argument 0 (lane_handoff_param_0 .u64, 8 bytes) given a uintptr: uintptr has no fixed size, and holds a host address that the device cannot use; use int64 or uint64 for a .u64 parameter (for a device address, pass the buffer)"},
	} {
		err := s.Launch(k, cfg, c.args...)
		var ge *gpu.Error
		if !errors.As(err, &ge) || err.Error() != c.want {
			t.Errorf("got  %v\nwant %s", err, c.want)
		}
	}
	if err := s.Launch(k, cfg, in, out, int(64)); err == nil || !strings.Contains(err.Error(), "given int 64: int has no fixed size; use int32 or uint32") {
		t.Errorf("an int that fits the .u32: %v, want the refusal", err)
	}
}
