package cpuemu_test

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// A kernel in which lane i writes its lane id to shared memory, syncs the
// warp, and reads its mirror lane's slot: out[i] = 31 - i.
const mirrorPTX = `
.version 7.8
.target sm_70
.address_size 64
.visible .entry mirror(.param .u64 out)
{
	.reg .b32 %r<4>;
	.reg .b64 %rd<4>;
	.shared .align 4 .b8 slots[128];
	mov.u32 %r1, %laneid;
	shl.b32 %r2, %r1, 2;
	mov.u32 %r3, slots;
	add.s32 %r3, %r3, %r2;
	st.shared.u32 [%r3], %r1;
	bar.warp.sync -1;
	sub.s32 %r2, 124, %r2;
	mov.u32 %r3, slots;
	add.s32 %r3, %r3, %r2;
	ld.shared.u32 %r1, [%r3];
	ld.param.u64 %rd1, [out];
	cvta.to.global.u64 %rd1, %rd1;
	mov.u32 %r2, %laneid;
	mul.wide.u32 %rd2, %r2, 4;
	add.s64 %rd1, %rd1, %rd2;
	st.global.u32 [%rd1], %r1;
	ret;
}
`

func Example() {
	m, err := cpuemu.Load("mirror.ptx", []byte(mirrorPTX))
	if err != nil {
		fmt.Println(err)
		return
	}
	dev := cpuemu.NewDevice()
	out, _ := dev.Alloc(4 * 32)
	res, err := m.Launch(dev, "mirror", cpuemu.LaunchConfig{
		Grid: cpuemu.Dim3{X: 1, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 32, Y: 1, Z: 1},
		Scheduler: cpuemu.Adversarial,
	}, out)
	if err != nil {
		fmt.Println(err)
		return
	}
	b := make([]byte, 4*32)
	dev.Read(b, out)
	fmt.Println(binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[4*31:]))
	// 17 instructions, each executed by 32 lanes.
	fmt.Println(res.LaneInstructions, "lane-instructions")
	// Output:
	// 31 0
	// 544 lane-instructions
}

// A launch whose arguments do not match the kernel's .param list fails
// before anything runs, with an error that names the problem.
func ExampleModule_Launch_argumentCheck() {
	m, _ := cpuemu.Load("mirror.ptx", []byte(mirrorPTX))
	_, err := m.Launch(cpuemu.NewDevice(), "mirror", cpuemu.LaunchConfig{
		Grid: cpuemu.Dim3{X: 1, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 32, Y: 1, Z: 1},
	}, uint32(7))
	var ae *cpuemu.ArgError
	fmt.Println(errors.As(err, &ae))
	fmt.Println(err)
	// Output:
	// true
	// launch mirror: argument 0 (out .u64, 8 bytes) given a 4-byte uint32
}

// The kernels that come with gpubuf load by name.
func ExampleLoadKernel() {
	m, err := cpuemu.LoadKernel("batch_reduce")
	if err != nil {
		fmt.Println(err)
		return
	}
	e, _ := m.Entry("batch_reduce")
	for _, p := range e.Params {
		fmt.Println(p.Index, p.Name, p.Type, p.Size)
	}
	_, err = cpuemu.LoadKernel("no_such_kernel")
	fmt.Println(err != nil)
	// Output:
	// 0 batch_reduce_param_0 u64 8
	// 1 batch_reduce_param_1 u64 8
	// 2 batch_reduce_param_2 u32 4
	// 3 batch_reduce_param_3 u32 4
	// true
}
