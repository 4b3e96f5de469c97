package cpuemu_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// regKernel declares n 32-bit virtual registers (.reg .b32 %r<n>) and
// stores its last one, set to 7, to out[tid].
func regKernel(n int) string {
	return ptHeader + fmt.Sprintf(`
.visible .entry k(.param .u64 out)
{
	.reg .b32 %%r<%d>;
	.reg .b64 %%rd<4>;
	ld.param.u64 %%rd1, [out];
	mov.u32 %%r0, %%tid.x;
	mul.wide.u32 %%rd2, %%r0, 4;
	add.s64 %%rd3, %%rd1, %%rd2;
	mov.u32 %%r%d, 7;
	st.global.u32 [%%rd3], %%r%d;
	ret;
}
`, n, n-1, n-1)
}

// The limit on virtual registers says what it counts and how to raise
// it, and LoadLimits.Registers raises it.
func TestRegisterLimit(t *testing.T) {
	src := []byte(regKernel(40000))
	m, err := cpuemu.Load("regs", src)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Kernel("k")
	var le *cpuemu.LimitError
	if !errors.As(err, &le) || le.Max != cpuemu.DefaultMaxRegisters || le.Value < 40000 {
		t.Fatalf("40000 registers under the default limit: %v, want a *LimitError at %d", err, cpuemu.DefaultMaxRegisters)
	}
	for _, want := range []string{
		"PTX virtual registers and constants in function k ",
		"exceeds the limit of 32768",
		"the registers the PTX declares with .reg (%r, %rd, %f, ...; .reg .b32 %r<40> is 40)",
		"not the hardware registers ptxas allocates",
		"raise the limit with cpuemu.LoadLimits.Registers (cpuemu.LoadWithLimits), gpu.EmuOptions.MaxRegisters or gpubuf's --max-registers, at most 131072",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the limit's message lacks %q:\n%v", want, err)
		}
	}
	// Raised, the kernel runs: every lane stores 7.
	m, err = cpuemu.LoadWithLimits("regs", src, cpuemu.LoadLimits{Registers: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	dev := cpuemu.NewDevice()
	out, err := dev.Alloc(4 * 32)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Launch(dev, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32)}, out); err != nil {
		t.Fatalf("with LoadLimits.Registers 65536: %v", err)
	}
	got := make([]byte, 4*32)
	if err := dev.Read(got, out); err != nil {
		t.Fatal(err)
	}
	for i := range 32 {
		if v := binary.LittleEndian.Uint32(got[4*i:]); v != 7 {
			t.Fatalf("out[%d] = %d, want 7", i, v)
		}
	}
	// A limit lowered below what the kernel needs stops it.
	m, err = cpuemu.LoadWithLimits("regs", []byte(regKernel(100)), cpuemu.LoadLimits{Registers: 50})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Kernel("k"); !errors.As(err, &le) || le.Max != 50 {
		t.Errorf("100 registers under a limit of 50: %v", err)
	}
	// The limit itself is bounded.
	for _, n := range []int{-1, cpuemu.MaxRegisters + 1} {
		_, err := cpuemu.LoadWithLimits("regs", src, cpuemu.LoadLimits{Registers: n})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("LoadLimits.Registers %d: want 0 (the default, 32768) to 131072", n)) {
			t.Errorf("Registers %d: %v", n, err)
		}
	}
}

// A kernel whose functions each fit but whose sum does not is refused
// by the same limit, as the kernel's: k has 30000 registers and calls f,
// which has 30000 more; a limit of 40000 holds each, not both.
func TestRegisterLimitKernel(t *testing.T) {
	src := ptHeader + `
.func f()
{
	.reg .b32 %q<30000>;
	mov.u32 %q29999, 1;
	ret;
}
.visible .entry k()
{
	.reg .b32 %r<30000>;
	mov.u32 %r29999, 1;
	call f, ();
	ret;
}
`
	m, err := cpuemu.LoadWithLimits("regs", []byte(src), cpuemu.LoadLimits{Registers: 40000})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Kernel("k")
	var le *cpuemu.LimitError
	if !errors.As(err, &le) || le.Max != 40000 || le.Value < 60000 ||
		!strings.Contains(err.Error(), "kernel k: PTX virtual registers and constants of the kernel and the functions it calls") ||
		!strings.Contains(err.Error(), "not the hardware registers") {
		t.Errorf("two functions of 30000 registers under a limit of 40000: %v", err)
	}
}
