package cpuemu

import "testing"

// TestWorkersBound: a parallel launch runs on no more workers than the
// blocks it has, and than maxResidentStateBytes of live blocks hold: a
// block of 1024 threads with 64 KiB of local memory each holds 64 MiB and
// its registers, a little more, so 1 GiB holds 15 of them, whatever
// Workers asks.
func TestWorkersBound(t *testing.T) {
	const src = `.version 7.8
.target sm_70
.address_size 64
.visible .entry big(.param .u64 p)
{
	.local .align 4 .b8 buf[65536];
	.reg .b32 %r<2>;
	.reg .b64 %rd<2>;
	mov.u64 %rd1, buf;
	mov.u32 %r1, 1;
	st.local.u32 [%rd1+65532], %r1;
	ret;
}
`
	m, err := Load("big", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.program("big")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		grid, block uint32
		workers     int
		want        int
	}{
		{64, 1024, 64, 15},
		{64, 1024, 8, 8},
		{4, 1024, 64, 4},
		{64, 32, 64, 64},
		{maxParallelBlocks + 1, 32, 8, 1}, // past the grids whose blocks' reports a launch keeps
	} {
		cfg := LaunchConfig{Grid: Dim3{c.grid, 1, 1}, Block: Dim3{c.block, 1, 1}, Workers: c.workers}
		if err := checkConfig("big", p, &cfg); err != nil {
			t.Fatal(err)
		}
		if b := blockStateBytes(p, &cfg); c.block == 1024 && (b <= 64<<20 || b > 65<<20) {
			t.Errorf("a block of 1024 threads holds %d bytes, want 64 MiB of local memory and some registers", b)
		}
		l := newLaunch(m, p, NewDevice(), cfg, nil)
		if got := l.workers(); got != c.want {
			t.Errorf("grid %d, block %d, Workers %d: %d workers, want %d (%d bytes a block)", c.grid, c.block, c.workers, got, c.want, blockStateBytes(p, &cfg))
		}
	}
	// The same launch on 64 workers, run: it finishes, on 15 of them.
	d := NewDevice()
	out, _ := d.Alloc(4)
	if _, err := m.Launch(d, "big", LaunchConfig{Grid: Dim3{64, 1, 1}, Block: Dim3{1024, 1, 1}, Workers: 64}, out); err != nil {
		t.Fatal(err)
	}
}
