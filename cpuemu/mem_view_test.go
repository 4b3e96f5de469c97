package cpuemu

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestViewAliasesDeviceMemory(t *testing.T) {
	d := NewDevice()
	p, err := d.Alloc(10)
	if err != nil {
		t.Fatal(err)
	}
	v, err := d.View(p+2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 5 || cap(v) != 5 {
		t.Fatalf("View(p+2, 5): len %d cap %d, want 5 and 5", len(v), cap(v))
	}
	copy(v, "hello")
	got := make([]byte, 10)
	if err := d.Read(got, p); err != nil {
		t.Fatal(err)
	}
	if want := "\x00\x00hello\x00\x00\x00"; string(got) != want {
		t.Fatalf("after writing through the view, device holds %q, want %q", got, want)
	}
	if err := d.Write(p+3, []byte("EL")); err != nil {
		t.Fatal(err)
	}
	if string(v) != "hELlo" {
		t.Fatalf("after a device write, the view holds %q, want %q", v, "hELlo")
	}
	if _, err := d.View(p+10, 0); err == nil {
		// one past the end is not inside the allocation
		t.Fatal("View one past the end: no error")
	}
	if v, err := d.View(p, 0); err != nil || len(v) != 0 {
		t.Fatalf("View(p, 0) = %d bytes, %v; want 0 bytes, nil", len(v), err)
	}
	for _, c := range []struct {
		p DevicePtr
		n int
	}{{p, 11}, {p + 8, 3}, {p, -1}, {p + 20, 1}, {0, 1}} {
		_, err := d.View(c.p, c.n)
		var me *DeviceMemoryError
		if !errors.As(err, &me) || me.Op != "view" {
			t.Errorf("View(%#x, %d) = %v, want a view DeviceMemoryError", uint64(c.p), c.n, err)
		}
	}
	if err := d.Free(p); err != nil {
		t.Fatal(err)
	}
	if _, err := d.View(p, 1); err == nil {
		t.Fatal("View of a freed allocation: no error")
	}
}

func TestViewSeesKernelStores(t *testing.T) {
	m, err := LoadKernel("lane_handoff")
	if err != nil {
		t.Fatal(err)
	}
	d := NewDevice()
	const n = 32
	in, _ := d.Alloc(4 * n)
	out, _ := d.Alloc(4 * n)
	vin, err := d.View(in, 4*n)
	if err != nil {
		t.Fatal(err)
	}
	vout, err := d.View(out, 4*n)
	if err != nil {
		t.Fatal(err)
	}
	// in[i] = i; out[i] = mix(i) + (i+16) for i < 16, mix(i-16) ^ i above,
	// with mix(x) = x*0x9E3779B1 + 0x7F4A7C15.
	for i := range n {
		binary.LittleEndian.PutUint32(vin[4*i:], uint32(i))
	}
	cfg := LaunchConfig{Grid: Dim3{1, 1, 1}, Block: Dim3{32, 1, 1}}
	if _, err := m.Launch(d, "lane_handoff", cfg, in, out, uint32(n)); err != nil {
		t.Fatal(err)
	}
	mix := func(x uint32) uint32 { return x*0x9E3779B1 + 0x7F4A7C15 }
	for i := range n {
		want := mix(uint32(i)) + uint32(i+16)
		if i >= 16 {
			want = mix(uint32(i-16)) ^ uint32(i)
		}
		if got := binary.LittleEndian.Uint32(vout[4*i:]); got != want {
			t.Fatalf("out[%d] through the view = %#x, want %#x", i, got, want)
		}
	}
}

// counterPTX adds 1 to a .global counter (initially 5) and stores the new
// value to out.
const counterPTX = `
.version 7.8
.target sm_70
.address_size 64
.global .align 4 .b8 counter[4] = {5, 0, 0, 0};
.visible .entry bump(.param .u64 out)
{
	.reg .b32 %r<3>;
	.reg .b64 %rd<4>;
	mov.u64 %rd1, counter;
	ld.global.u32 %r1, [%rd1];
	add.s32 %r1, %r1, 1;
	st.global.u32 [%rd1], %r1;
	ld.param.u64 %rd2, [out];
	cvta.to.global.u64 %rd2, %rd2;
	st.global.u32 [%rd2], %r1;
	ret;
}
`

func TestReleaseModule(t *testing.T) {
	m, err := Load("counter.ptx", []byte(counterPTX))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDevice()
	d.ReleaseModule(m) // never launched here: nothing to do
	out, _ := d.Alloc(4)
	cfg := LaunchConfig{Grid: Dim3{1, 1, 1}, Block: Dim3{1, 1, 1}}
	bump := func() uint32 {
		t.Helper()
		if _, err := m.Launch(d, "bump", cfg, out); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 4)
		if err := d.Read(b, out); err != nil {
			t.Fatal(err)
		}
		return binary.LittleEndian.Uint32(b)
	}
	if a, b := bump(), bump(); a != 6 || b != 7 {
		t.Fatalf("two launches counted %d, %d; want 6, 7", a, b)
	}
	before := len(d.allocs)
	d.ReleaseModule(m)
	if len(d.allocs) != before-1 {
		t.Fatalf("ReleaseModule left %d allocations, want %d", len(d.allocs), before-1)
	}
	d.ReleaseModule(m) // twice: nothing more to do
	if got := bump(); got != 6 {
		t.Fatalf("after ReleaseModule the counter restarted at %d, want 6", got)
	}
}
