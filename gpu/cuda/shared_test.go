//go:build cuda

package cuda

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// staticDynPTX has 40 KiB of static shared memory (stat) and dynamic
// shared memory (dyn) of a size its second parameter gives in words.
// Thread t writes t+1 to static word 10239-t and 2(t+1) to dynamic word
// words-1-t; after the barrier it adds what thread p = ntid-1-t wrote to
// both and stores the sum, 3(ntid-t), to out[t]. So both areas are used at
// their tops, and the dynamic one ends where the launch says it does.
const staticDynPTX = `.version 7.0
.target sm_70
.address_size 64

.extern .shared .align 4 .b8 dyn[];
.shared .align 4 .b8 stat[40960];

.visible .entry static_dyn(
	.param .u64 static_dyn_param_0,
	.param .u32 static_dyn_param_1
)
{
	.reg .b32 %r<12>;
	.reg .b64 %rd<10>;

	ld.param.u64 %rd1, [static_dyn_param_0];
	ld.param.u32 %r1, [static_dyn_param_1];
	mov.u32 %r2, %tid.x;
	mov.u32 %r3, %ntid.x;
	add.u32 %r4, %r2, 1;
	mov.u32 %r5, 10239;
	sub.u32 %r5, %r5, %r2;
	mov.u64 %rd2, stat;
	mul.wide.u32 %rd3, %r5, 4;
	add.u64 %rd3, %rd2, %rd3;
	st.shared.u32 [%rd3], %r4;
	sub.u32 %r6, %r1, %r2;
	sub.u32 %r6, %r6, 1;
	mov.u64 %rd4, dyn;
	mul.wide.u32 %rd5, %r6, 4;
	add.u64 %rd5, %rd4, %rd5;
	shl.b32 %r7, %r4, 1;
	st.shared.u32 [%rd5], %r7;
	bar.sync 0;
	sub.u32 %r8, %r3, %r2;
	sub.u32 %r8, %r8, 1;
	mov.u32 %r9, 10239;
	sub.u32 %r9, %r9, %r8;
	mul.wide.u32 %rd6, %r9, 4;
	add.u64 %rd6, %rd2, %rd6;
	ld.shared.u32 %r10, [%rd6];
	sub.u32 %r9, %r1, %r8;
	sub.u32 %r9, %r9, 1;
	mul.wide.u32 %rd7, %r9, 4;
	add.u64 %rd7, %rd4, %rd7;
	ld.shared.u32 %r11, [%rd7];
	add.u32 %r10, %r10, %r11;
	cvta.to.global.u64 %rd8, %rd1;
	mul.wide.u32 %rd9, %r2, 4;
	add.u64 %rd8, %rd8, %rd9;
	st.global.u32 [%rd8], %r10;
	ret;
}
`

const staticShared = 40 << 10

// A kernel with 40 KiB of static shared memory launches with 16 KiB of
// dynamic (56 KiB in all: past the 48 KiB a block has without opting in,
// though the dynamic part alone is not) and with all the device allows;
// a word more is refused before the driver is asked, naming the static
// memory; and the occupancy calculator is asked about such blocks only
// after the kernel has opted in.
func TestSharedStaticPlusDynamic(t *testing.T) {
	d := openTest(t)
	closeTest(t, d)
	if d.maxSharedOptin < staticShared+16<<10 {
		t.Skipf("the device allows a block only %d bytes of shared memory", d.maxSharedOptin)
	}
	m, err := d.LoadModule("static_dyn.ptx", []byte(staticDynPTX))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	k, err := m.Kernel("static_dyn")
	if err != nil {
		t.Fatal(err)
	}
	kk := k.(*Kernel)
	if kk.fn.static != staticShared {
		t.Errorf("CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = %d, want the PTX's %d", kk.fn.static, staticShared)
	}
	// Without opting in, a block has at most 48 KiB in all.
	if got := kk.fn.allowed.Load(); got > 48<<10-staticShared {
		t.Errorf("CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES before any launch = %d, more than 48 KiB less the static %d",
			got, staticShared)
	}
	most := (d.maxSharedOptin - staticShared) / 4 * 4
	// The calculator first, on a kernel that has not opted in yet.
	if _, block, err := kk.MaxPotentialBlockSize(16 << 10); err != nil || block <= 0 {
		t.Errorf("MaxPotentialBlockSize(16 KiB) with 40 KiB static: block %d, %v; want a block size", block, err)
	}
	if got := kk.fn.allowed.Load(); got < 16<<10 {
		t.Errorf("after MaxPotentialBlockSize(16 KiB) the kernel is allowed %d bytes of dynamic shared memory: it did not opt in", got)
	}
	if _, _, err := kk.MaxPotentialBlockSize(most + 4); err == nil || !strings.Contains(err.Error(), "static") {
		t.Errorf("MaxPotentialBlockSize past the device's limit: %v, want an error naming the static memory", err)
	}
	st, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const threads = 256
	out, err := d.Alloc(4 * threads)
	if err != nil {
		t.Fatal(err)
	}
	for _, dyn := range []int{16 << 10, 4 * threads, most} {
		if err := out.Memset(0, 4*threads, 0); err != nil {
			t.Fatal(err)
		}
		cfg := gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(threads), SharedBytes: dyn}
		if err := st.Launch(k, cfg, out, uint32(dyn/4)); err != nil {
			t.Fatalf("40 KiB static and %d bytes of dynamic shared memory: %v", dyn, err)
		}
		if err := st.Synchronize(); err != nil {
			t.Fatalf("%d bytes: %v", dyn, err)
		}
		got := make([]byte, 4*threads)
		if err := out.CopyToHost(got, 0); err != nil {
			t.Fatal(err)
		}
		for i, v := range kernels.Words(got) {
			if want := uint32(3 * (threads - i)); v != want {
				t.Fatalf("%d bytes: out[%d] = %d, want %d", dyn, i, v, want)
			}
		}
	}
	cfg := gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(threads), SharedBytes: most + 4}
	err = st.Launch(k, cfg, out, uint32(cfg.SharedBytes/4))
	var ge *gpu.Error
	if !errors.As(err, &ge) || ge.Code != "" || !strings.Contains(ge.Msg, "static") {
		t.Errorf("a launch with %d bytes of dynamic shared memory on top of 40 KiB static: %v, want a refusal before the driver, naming the static memory", cfg.SharedBytes, err)
	}
}
