package gputest

import (
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// gridSyncPTX's shift(in, tmp, out, n) doubles in[i] into tmp[i], waits for
// the whole grid, and then copies tmp[(i + blockDim.x) % n], which another
// block wrote, to out[i]. Its grid barrier is cooperative_groups'
// sync_grids as nvcc 11.8 compiles it: the grid workspace's address from
// %envreg1 (high word) and %envreg2 (low word), a trap when it is null (a
// launch that is not cooperative), then thread 0 of each block adds to the
// arrival word at offset 4 with a release (block 0 adds 0x80000000 - (n -
// 1), the others 1), spins until the word's top bit flips, and reads it
// once more with an acquire; block barriers on either side. One
// dimension of grid only.
const gridSyncPTX = `
.version 7.0
.target sm_70
.address_size 64

.visible .entry shift(
	.param .u64 shift_param_0,
	.param .u64 shift_param_1,
	.param .u64 shift_param_2,
	.param .u32 shift_param_3
)
{
	.reg .pred %p<8>;
	.reg .b32 %r<20>;
	.reg .b64 %rd<16>;

	ld.param.u64 %rd1, [shift_param_0];
	ld.param.u64 %rd2, [shift_param_1];
	ld.param.u64 %rd3, [shift_param_2];
	ld.param.u32 %r1, [shift_param_3];
	cvta.to.global.u64 %rd1, %rd1;
	cvta.to.global.u64 %rd2, %rd2;
	cvta.to.global.u64 %rd3, %rd3;
	mov.u32 %r2, %ctaid.x;
	mov.u32 %r3, %ntid.x;
	mov.u32 %r4, %tid.x;
	mad.lo.s32 %r5, %r2, %r3, %r4;
	setp.ge.u32 %p1, %r5, %r1;
	@%p1 bra $L_sync;
	mul.wide.u32 %rd4, %r5, 4;
	add.s64 %rd5, %rd1, %rd4;
	ld.global.u32 %r6, [%rd5];
	shl.b32 %r6, %r6, 1;
	add.s64 %rd6, %rd2, %rd4;
	st.global.u32 [%rd6], %r6;
$L_sync:
	mov.u32 %r7, %envreg2;
	cvt.u64.u32 %rd7, %r7;
	mov.u32 %r8, %envreg1;
	cvt.u64.u32 %rd8, %r8;
	bfi.b64 %rd9, %rd8, %rd7, 32, 32;
	setp.ne.s64 %p2, %rd9, 0;
	@%p2 bra $L_valid;
	trap;
$L_valid:
	bar.sync 0;
	setp.ne.u32 %p3, %r4, 0;
	@%p3 bra $L_joined;
	mov.u32 %r9, 1;
	setp.ne.u32 %p4, %r2, 0;
	@%p4 bra $L_arrive;
	mov.u32 %r10, %nctaid.x;
	mov.u32 %r11, -2147483647;
	sub.s32 %r9, %r11, %r10;
$L_arrive:
	add.s64 %rd10, %rd9, 4;
	membar.gl;
	atom.add.release.gpu.u32 %r12, [%rd10], %r9;
$L_spin:
	ld.volatile.u32 %r13, [%rd10];
	xor.b32 %r14, %r13, %r12;
	setp.gt.s32 %p5, %r14, -1;
	@%p5 bra $L_spin;
	ld.acquire.gpu.u32 %r15, [%rd10];
$L_joined:
	bar.sync 0;
	@%p1 bra $L_done;
	add.s32 %r16, %r5, %r3;
	rem.u32 %r17, %r16, %r1;
	mul.wide.u32 %rd11, %r17, 4;
	add.s64 %rd12, %rd2, %rd11;
	ld.global.u32 %r18, [%rd12];
	mul.wide.u32 %rd13, %r5, 4;
	add.s64 %rd14, %rd3, %rd13;
	st.global.u32 [%rd14], %r18;
$L_done:
	ret;
}
`

// Cooperative launches: blocks wait for each other at a grid-wide
// barrier and read what other blocks wrote before it (by hand: out[i] =
// 2 * in[(i + block) % n]); a grid larger than the device holds at once
// is refused before anything runs.
func (s *suite) testCooperative(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	k := kernelOf(t, loadModule(t, dev, "gridsync.ptx", []byte(gridSyncPTX)), "shift")
	const block = 64
	limit, err := k.MaxCooperativeBlocks(gpu.D1(block), 0)
	must(t, err, "MaxCooperativeBlocks")
	if limit == 0 {
		t.Skip("the device cannot launch cooperatively (MaxCooperativeBlocks is 0)")
	}
	if limit < 2 {
		t.Fatalf("MaxCooperativeBlocks(%d threads) = %d: a device that launches cooperatively holds at least one block per SM", block, limit)
	}
	if _, err := k.MaxCooperativeBlocks(gpu.D1(block), -1); err == nil {
		t.Errorf("MaxCooperativeBlocks with negative shared memory: no error")
	}
	st := newStream(t, dev)
	for _, grid := range []int{1, 2, 7, min(limit, 64)} {
		n := grid*block - 5 // a partial last block
		in := words(n, uint64(n))
		for i := range in {
			in[i] &= 1<<30 - 1
		}
		din, tmp, out := alloc(t, dev, 4*n), alloc(t, dev, 4*n), alloc(t, dev, 4*n)
		must(t, din.CopyFromHost(0, kernels.WordBytes(in)), "CopyFromHost")
		cfg := gpu.LaunchConfig{Grid: gpu.D1(uint32(grid)), Block: gpu.D1(block), Cooperative: true}
		must(t, st.Launch(k, cfg, din, tmp, out, uint32(n)), "cooperative Launch of %d blocks", grid)
		must(t, st.Synchronize(), "Synchronize after the cooperative launch of %d blocks", grid)
		want := make([]uint32, n)
		for i := range want {
			want[i] = 2 * in[(i+block)%n]
		}
		wantBytes(t, out, kernels.WordBytes(want), "out of a cooperative launch of %d blocks", grid)
	}
	// One block more than the device holds at once: refused by Launch.
	n := (limit + 1) * block
	din, tmp, out := alloc(t, dev, 4*n), alloc(t, dev, 4*n), alloc(t, dev, 4*n)
	err = st.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(uint32(limit + 1)), Block: gpu.D1(block), Cooperative: true}, din, tmp, out, uint32(n))
	if wantErr(t, be, err, "a cooperative launch of %d blocks, one more than MaxCooperativeBlocks", limit+1) && !strings.Contains(err.Error(), "cooperative") {
		t.Errorf("the refusal %q does not say it is the cooperative grid's limit", err)
	}
	must(t, st.Synchronize(), "Synchronize after the refused launch")
	wantBytes(t, out, make([]byte, 4*n), "out after the refused launch (nothing ran)")
}
