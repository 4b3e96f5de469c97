package cpuemu

import (
	"errors"
	"strings"
	"testing"
)

const modGlobalsPTX = `.version 7.8
.target sm_70
.address_size 64

.global .align 4 .u32 counter = 5;

.visible .entry bump(.param .u64 out)
{
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<4>;
	ld.param.u64 	%rd1, [out];
	cvta.to.global.u64 	%rd1, %rd1;
	ld.global.u32 	%r1, [counter];
	add.s32 	%r2, %r1, 1;
	st.global.u32 	[counter], %r2;
	st.global.u32 	[%rd1], %r2;
	ret;
}
`

// Each module's .global variables get an address range of their own,
// handed out in turn; a device that still holds a module on a range
// refuses a second one there instead of letting them share storage.
func TestModuleGlobalRanges(t *testing.T) {
	if constOffset < maxModuleData || moduleWindow-constOffset < maxModuleData {
		t.Fatalf("a module's range (%d bytes, .const at %d) cannot hold the most .global and .const data a module may have (%d each)", moduleWindow, constOffset, maxModuleData)
	}
	if moduleSlots < 1<<16 {
		t.Errorf("only %d module ranges", moduleSlots)
	}
	m1, err := Load("one.ptx", []byte(modGlobalsPTX))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Load("two.ptx", []byte(modGlobalsPTX))
	if err != nil {
		t.Fatal(err)
	}
	if m1.globalBase == m2.globalBase {
		t.Fatalf("two loads in a row share the range %#x", m1.globalBase)
	}
	d := NewDevice()
	out, _ := d.Alloc(4)
	cfg := LaunchConfig{Grid: Dim3{1, 1, 1}, Block: Dim3{1, 1, 1}}
	read := func() uint32 {
		b := make([]byte, 4)
		if err := d.Read(b, out); err != nil {
			t.Fatal(err)
		}
		return uint32(b[0]) | uint32(b[1])<<8
	}
	for _, m := range []*Module{m1, m2, m1} {
		if _, err := m.Launch(d, "bump", cfg, out); err != nil {
			t.Fatal(err)
		}
	}
	if got := read(); got != 7 { // m1's counter: 5 -> 6 -> 7; m2's went 5 -> 6 apart
		t.Fatalf("m1's counter reads %d after two bumps, want 7", got)
	}

	// moduleSlots loads after m1, a module lands on m1's range again. The
	// device still holds m1 there: it refuses the new one until m1 goes.
	// (No parallel test runs while this sequential one does, so nothing
	// else loads in between.)
	m1, err = Load("one-again.ptx", []byte(modGlobalsPTX))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m1.Launch(d, "bump", cfg, out); err != nil {
		t.Fatal(err)
	}
	moduleCounter.Add(moduleSlots - 1)
	m3, err := Load("three.ptx", []byte(modGlobalsPTX))
	if err != nil {
		t.Fatal(err)
	}
	if m3.globalBase != m1.globalBase {
		t.Fatalf("the load moduleSlots after one.ptx's got range %#x, not %#x", m3.globalBase, m1.globalBase)
	}
	_, err = m3.Launch(d, "bump", cfg, out)
	var me *DeviceMemoryError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "module three.ptx would share the .global range of module one-again.ptx") {
		t.Fatalf("launch on a held range: %v", err)
	}
	d.ReleaseModule(m1)
	if _, err := m3.Launch(d, "bump", cfg, out); err != nil {
		t.Fatalf("after ReleaseModule: %v", err)
	}
	if got := read(); got != 6 { // m3's own counter, from its image
		t.Fatalf("three.ptx's counter reads %d, want 6", got)
	}
}
