package emu_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
)

// printfPTX: each thread prints its index; check asserts that its
// argument is below 3, as nvcc compiles assert(x < 3) in a kernel
// void check(int) of k.cu, line 9.
const printfPTX = `
.version 7.8
.target sm_70
.address_size 64
.extern .func (.param .b32 func_retval0) vprintf (.param .b64 vprintf_param_0, .param .b64 vprintf_param_1);
.extern .func __assertfail (.param .b64 m, .param .b64 f, .param .b32 l, .param .b64 fn, .param .b64 cs);
.global .align 1 .b8 fmt[11] = {116, 104, 114, 101, 97, 100, 32, 37, 100, 10, 0};
.global .align 1 .b8 expr[6] = {120, 32, 60, 32, 51, 0};
.global .align 1 .b8 file[5] = {107, 46, 99, 117, 0};
.global .align 1 .b8 fn[16] = {118, 111, 105, 100, 32, 99, 104, 101, 99, 107, 40, 105, 110, 116, 41, 0};

.visible .entry hello()
{
	.local .align 4 .b8 depot[4];
	.reg .b32 %r<3>;
	.reg .b64 %rd<3>;
	mov.u32 %r1, %tid.x;
	st.local.u32 [depot], %r1;
	mov.u64 %rd1, depot;
	cvta.local.u64 %rd1, %rd1;
	mov.u64 %rd2, fmt;
	cvta.global.u64 %rd2, %rd2;
	call (%r2), vprintf, (%rd2, %rd1);
	ret;
}

.visible .entry check(.param .u32 x)
{
	.reg .pred %p;
	.reg .b32 %r<2>;
	.reg .b64 %rd<4>;
	ld.param.u32 %r1, [x];
	setp.lt.u32 %p, %r1, 3;
	@%p bra OK;
	mov.u64 %rd1, expr;
	cvta.global.u64 %rd1, %rd1;
	mov.u64 %rd2, file;
	cvta.global.u64 %rd2, %rd2;
	mov.u64 %rd3, fn;
	cvta.global.u64 %rd3, %rd3;
	call __assertfail, (%rd1, %rd2, 9, %rd3, 1);
OK:
	ret;
}
`

func printfKernels(t *testing.T, d gpu.Device) (hello, check gpu.Kernel) {
	t.Helper()
	m, err := d.LoadModule("printf.ptx", []byte(printfPTX))
	if err != nil {
		t.Fatal(err)
	}
	hello, err = m.Kernel("hello")
	if err != nil {
		t.Fatal(err)
	}
	check, err = m.Kernel("check")
	if err != nil {
		t.Fatal(err)
	}
	return hello, check
}

// A device writes its kernels' printf to EmuOptions.Stdout, one launch
// after another in stream order.
func TestEmuPrintf(t *testing.T) {
	var out bytes.Buffer
	d := open(t, gpu.EmuOptions{Stdout: &out})
	hello, check := printfKernels(t, d)
	s := newStream(t, d)
	must(t, s.Launch(hello, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(3)}))
	must(t, s.Launch(hello, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(1)}))
	must(t, s.Synchronize())
	if want := "thread 0\nthread 1\nthread 2\nthread 0\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	// A failed assert fails the stream with the message, and prints it.
	out.Reset()
	must(t, s.Launch(check, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(2)}, uint32(5)))
	err := s.Synchronize()
	var ae *cpuemu.AssertError
	want := "k.cu:9: void check(int): block: [0,0,0], thread: [0,0,0] Assertion `x < 3` failed."
	if !errors.As(err, &ae) || ae.Error() != want || ae.Thread != (cpuemu.Dim3{}) {
		t.Errorf("assert: %v; want an *AssertError %q", err, want)
	}
	if got := out.String(); got != want+"\n"+strings.Replace(want, "thread: [0,0,0]", "thread: [1,0,0]", 1)+"\n" {
		t.Errorf("assert printed %q", got)
	}
}

// With a buffer of 20 bytes, two of three lines fit.
func TestEmuPrintfBytes(t *testing.T) {
	var out bytes.Buffer
	d := open(t, gpu.EmuOptions{Stdout: &out, PrintfBytes: 20})
	hello, _ := printfKernels(t, d)
	s := newStream(t, d)
	must(t, s.Launch(hello, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(3)}))
	must(t, s.Synchronize())
	if want := "thread 0\nthread 1\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	for _, n := range []int{-1, cpuemu.MaxPrintfBytes + 1} {
		if _, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu, Emu: gpu.EmuOptions{PrintfBytes: n}}); err == nil {
			t.Errorf("PrintfBytes %d: no error", n)
		}
	}
}

// Without EmuOptions.Stdout the text goes nowhere: not to the process's
// standard output.
func TestEmuPrintfNoWriter(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = saved }()
	d := open(t, gpu.EmuOptions{})
	hello, _ := printfKernels(t, d)
	s := newStream(t, d)
	must(t, s.Launch(hello, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(3)}))
	must(t, s.Synchronize())
	os.Stdout = saved
	w.Close()
	if b, _ := io.ReadAll(r); len(b) > 0 {
		t.Errorf("a device without a writer printed %q to standard output", b)
	}
}
