package emu_test

import (
	"errors"
	"os"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// TestEmuCooperative runs nvcc's grid-sync kernel (cpuemu's testdata)
// through the device API: cooperatively, under the checker, it is clean
// and right; launched plainly it traps at the grid sync, on the stream; a
// grid the emulated device cannot hold at once (132 SMs × 8 blocks of 256
// threads, by hand) is refused by Launch with cpuemu's *LimitError.
func TestEmuCooperative(t *testing.T) {
	src, err := os.ReadFile("../../cpuemu/testdata/coop/coop.ptx")
	if err != nil {
		t.Fatal(err)
	}
	d := open(t, gpu.EmuOptions{Check: true, Scheduler: "random", Seed: 3})
	m, err := d.LoadModule("coop.ptx", src)
	must(t, err)
	k, err := m.Kernel("shift")
	must(t, err)
	if n, err := k.MaxCooperativeBlocks(gpu.D1(256), 0); n != 132*8 || err != nil {
		t.Errorf("MaxCooperativeBlocks(256 threads) = %d, %v; want %d", n, err, 132*8)
	}
	const grid, block, n = 6, 64, 6*64 - 3
	in := input(n)
	din, tmp, out := alloc(t, d, 4*n), alloc(t, d, 4*n), alloc(t, d, 4*n)
	must(t, din.CopyFromHost(0, words(in)))
	s := newStream(t, d)
	cfg := gpu.LaunchConfig{Grid: gpu.D1(grid), Block: gpu.D1(block), Cooperative: true}
	must(t, s.Launch(k, cfg, din, tmp, out, int32(n)))
	must(t, s.Synchronize())
	got := make([]byte, 4*n)
	must(t, out.CopyToHost(got, 0))
	for i, w := range kernels.Words(got) {
		if want := 2 * in[(i+block)%n]; w != want {
			t.Fatalf("out[%d] = %d, want %d", i, w, want)
		}
	}

	big := cfg
	big.Grid, big.Block = gpu.D1(132*8+1), gpu.D1(256)
	var le *cpuemu.LimitError
	if err := s.Launch(k, big, din, tmp, out, int32(n)); !errors.As(err, &le) || le.Max != 132*8 {
		t.Errorf("a cooperative grid of %d blocks of 256 threads: %v; want a *cpuemu.LimitError of %d", 132*8+1, err, 132*8)
	}

	cfg.Cooperative = false
	must(t, s.Launch(k, cfg, din, tmp, out, int32(n)))
	var fe *cpuemu.FaultError
	if err := s.Synchronize(); !errors.As(err, &fe) || fe.Kind != "trap" {
		t.Errorf("a plain launch of a grid sync: %v; want a trap", err)
	}
}
