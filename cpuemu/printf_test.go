package cpuemu_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// printf and assert in kernels nvcc compiled (testdata/printf/printf.cu,
// see its README) and in hand-written PTX. The expected text is C's
// printf of the arguments each call passes, spelled out; the order of
// lines is the order LaunchConfig.Stdout documents for each scheduler.

var (
	printfOnce sync.Once
	printfMod  *cpuemu.Module
	printfErr  error
)

func printfModule(t *testing.T) *cpuemu.Module {
	t.Helper()
	printfOnce.Do(func() {
		path := filepath.Join("testdata", "printf", "printf.ptx")
		ptx, err := os.ReadFile(path)
		if err != nil {
			printfErr = err
			return
		}
		printfMod, printfErr = cpuemu.Load("printf.ptx", ptx)
	})
	if printfErr != nil {
		t.Fatal(printfErr)
	}
	return printfMod
}

var one = cpuemu.Dim3{X: 1, Y: 1, Z: 1}

// printfRun launches kernel with cfg and returns what it printed.
func printfRun(t *testing.T, m *cpuemu.Module, dev *cpuemu.Device, kernel string, cfg cpuemu.LaunchConfig, args ...any) (string, *cpuemu.Result, error) {
	t.Helper()
	var out bytes.Buffer
	cfg.Stdout = &out
	res, err := m.Launch(dev, kernel, cfg, args...)
	return out.String(), res, err
}

func words(t *testing.T, dev *cpuemu.Device, p cpuemu.DevicePtr, n int) []int32 {
	t.Helper()
	b := ptRead(t, dev, p, 4*n)
	w := make([]int32, n)
	for i := range w {
		w[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return w
}

func hexPtr(p cpuemu.DevicePtr) string { return "0x" + strconv.FormatUint(uint64(p), 16) }

func TestPrintfKernels(t *testing.T) {
	m := printfModule(t)
	dev := cpuemu.NewDevice()
	s := ptBuf(t, dev, 16, []byte("host string\x00"))
	p := ptBuf(t, dev, 64, nil)
	ret := ptBuf(t, dev, 16, nil)
	for _, c := range []struct {
		kernel string
		args   []any
		want   string
		ret    []int32 // printf's return values, stored by the kernel
	}{
		{"conversions", []any{s, p, ret},
			"-42 42 4294967295 10 ff FF z %\n" +
				"1.500000 1.234568e+04 1.234500E-04 0.0001 1E-05 0x1p+0 -0X1P-1\n" +
				"host string|" + hexPtr(p) + "|(nil)|(null)\n" +
				"no arguments\n",
			[]int32{7, 7, 4, 0}},
		{"flags", nil,
			"[   42] [42   ] [00042] [+42] [ 42] [007] [     007] [+7    ] [+7] [7    ] [  -07]\n" +
				"[010] [0xff] [0XFF] [0] [0] [] [] [0] [     ] [    0xff] [0x0000ff] [5]\n" +
				"[   42] [7   ] [7   ] [005] [5] [    3.14]\n" +
				"[   3.142] [2.50    ] [-0003.14] [+1.2] [ 1.2] [3.] [2] [4] [-000003.14] [2.001] [100000000000000000000.000000]\n" +
				"[1.23e+04] [  1.2346E-04] [1.0e+100    ] [5.e+00] [2e+01] [0.000000e+00] [-1.000000e-300] [+1.000000e+00] [-0002.500e+00]\n" +
				"[100000] [1e+06] [0.0001] [1e-05] [123456] [1.23457e+06] [1.00000] [3.14] [0.5] [1.00] [1E-10] [0] [1.5     ] [-00001.5] [0.1] [0.3333333333]\n" +
				"[0x1p+0] [0x1.999999999999ap-4] [-0x1.4p+1] [0x1.00p+0] [0x2p+0] [0X1.FEP+7] [0x1.p+0] [0x0p+0] [0x0.0000000000001p-1022] [0x2.0p+0] [0x1.0p+0] [      0x1p+0] [+0x1p+0     ] [0x0000001p+0]\n" +
				"[    a] [b  ] [c]\n" +
				"[hello] [     hello] [hello     ] [hel] [        he] []\n" +
				"[inf] [-inf] [nan] [  inf] [nan   ] [INF] [      -inf] [+inf] [-NAN] [inf] [NAN] [ inf]\n" +
				"[0x1234] [            0xabcdef] [0xabcdef            |] [(nil)]\n",
			nil},
		{"lengths", nil,
			"1 -25536 65535 -56 44 5678 ff\n" +
				"-9223372036854775808 18446744073709551615 -1 18446744073709551615 deadbeefcafef00d DEADBEEFCAFEF00D 10 123 10000000000\n" +
				"2.500000 q 2.500000e+00\n",
			nil},
		// The brief's layout: ints at 0, 4 and 8, the double (a float,
		// promoted) at 16, the pointer at 24.
		{"layout", []any{p, int32(3)}, "3 D -3 1.500000 " + hexPtr(p) + "\n1 2 3 4.000000 e\n", nil},
		// 32 arguments print; of 33 the last and the %s after it stand
		// as written, and printf says it read 32.
		{"many", []any{ret},
			"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32\n" +
				"1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 %d|%s\n",
			[]int32{32, 32}},
	} {
		got, res, err := printfRun(t, m, dev, c.kernel, cpuemu.LaunchConfig{Grid: one, Block: one}, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.kernel, err)
		}
		if got != c.want {
			t.Errorf("%s printed\n%s\nwant\n%s", c.kernel, got, c.want)
		}
		if len(res.Diagnostics) > 0 {
			t.Errorf("%s: diagnostics %v", c.kernel, res.Diagnostics)
		}
		if c.ret != nil {
			if r := words(t, dev, ret, len(c.ret)); !slices.Equal(r, c.ret) {
				t.Errorf("%s: printf returned %v, want %v", c.kernel, r, c.ret)
			}
		}
	}
}

// The format kernel prints a format the host wrote, with one int (7).
func TestPrintfFormatFromDevice(t *testing.T) {
	m := printfModule(t)
	dev := cpuemu.NewDevice()
	ret := ptBuf(t, dev, 4*32, nil)
	buf := func(s string) cpuemu.DevicePtr { return ptBuf(t, dev, len(s), []byte(s)) }

	got, _, err := printfRun(t, m, dev, "format", cpuemu.LaunchConfig{Grid: one, Block: ptD1(32)}, buf("x=%d\n\x00"), ret)
	if err != nil || got != strings.Repeat("x=7\n", 32) {
		t.Errorf("x=%%d by 32 threads: %q, %v", got, err)
	}
	if r := words(t, dev, ret, 32); slices.ContainsFunc(r, func(v int32) bool { return v != 1 }) {
		t.Errorf("x=%%d returned %v, want 1 each", r)
	}

	// A null format: nothing printed, printf returns -1.
	got, _, err = printfRun(t, m, dev, "format", cpuemu.LaunchConfig{Grid: one, Block: one}, cpuemu.DevicePtr(0), ret)
	if err != nil || got != "" || words(t, dev, ret, 1)[0] != -1 {
		t.Errorf("null format: %q, %v, returned %d; want nothing and -1", got, err, words(t, dev, ret, 1)[0])
	}

	// Bad pointers fault with the address, at the printf's line.
	noNUL := buf("abcdefgh")
	for _, c := range []struct {
		name   string
		format cpuemu.DevicePtr
		addr   uint64
	}{
		{"a format pointer to nowhere", 0x1234, 0x1234},
		{"a format with no NUL before the end of its allocation", noNUL, uint64(noNUL) + 8},
		// %s takes the 8 bytes at offset 0, the int 7 and zeros: address 7.
		{"a %s the kernel did not pass", buf("%s\n\x00"), 7},
	} {
		got, _, err := printfRun(t, m, dev, "format", cpuemu.LaunchConfig{Grid: one, Block: one}, c.format, ret)
		var fe *cpuemu.FaultError
		if !errors.As(err, &fe) || fe.Addr != c.addr || fe.Space != "global" || fe.Site.Loc != "printf.cu:72" || fe.Site.Instr != "call vprintf" {
			t.Errorf("%s: %q, %v; want a fault at %#x, printf.cu:72, call vprintf", c.name, got, err, c.addr)
		}
	}

	// A format with no NUL in its first 64 KiB: printf returns -2
	// (CUDA's internal error), prints nothing, and says why.
	long := buf(strings.Repeat("a", 70000) + "\x00")
	got, res, err := printfRun(t, m, dev, "format", cpuemu.LaunchConfig{Grid: one, Block: one}, long, ret)
	if err != nil || got != "" || words(t, dev, ret, 1)[0] != -2 || len(res.Diagnostics) != 1 || res.Diagnostics[0].Kind != "printf-format-unterminated" {
		t.Errorf("a 70000-byte format: %q, %v, returned %d, diagnostics %v", got, err, words(t, dev, ret, 1)[0], res.Diagnostics)
	}
}

func TestPrintfStrings(t *testing.T) {
	m := printfModule(t)
	dev := cpuemu.NewDevice()
	s := ptBuf(t, dev, 5, []byte("host\x00"))
	// The block writes "abcdefg" to shared memory, __syncthreads, and
	// thread 0 prints both strings: clean under the checker.
	for _, check := range []bool{false, true} {
		got, res, err := printfRun(t, m, dev, "str", cpuemu.LaunchConfig{Grid: one, Block: ptD1(32), Check: check, Trace: true}, s)
		if err != nil || got != "host|abcdefg\n" {
			t.Errorf("check %v: %q, %v; want \"host|abcdefg\\n\"", check, got, err)
		}
		if !slices.ContainsFunc(res.Trace, func(e cpuemu.TraceEvent) bool {
			return e.Op == "call vprintf" && e.Lane == 0 && e.Loc == "printf.cu:86"
		}) {
			t.Errorf("the trace has no call vprintf by lane 0 at printf.cu:86")
		}
	}
	// A string with no NUL before the end of its allocation faults there.
	noNUL := ptBuf(t, dev, 4, []byte("abcd"))
	_, _, err := printfRun(t, m, dev, "str", cpuemu.LaunchConfig{Grid: one, Block: ptD1(8)}, noNUL)
	var fe *cpuemu.FaultError
	if !errors.As(err, &fe) || fe.Addr != uint64(noNUL)+4 {
		t.Errorf("%%s with no NUL: %v; want a fault at %#x", err, uint64(noNUL)+4)
	}
	// A string longer than the whole buffer cannot be printed: the call
	// is dropped, and the reading stops one byte past the buffer's size.
	long := ptBuf(t, dev, 201, []byte(strings.Repeat("x", 200)+"\x00"))
	got, res, err := printfRun(t, m, dev, "str", cpuemu.LaunchConfig{Grid: one, Block: ptD1(8), PrintfBytes: 64}, long)
	if err != nil || got != "" || len(res.Diagnostics) != 1 || res.Diagnostics[0].Kind != "printf-buffer-full" || res.Diagnostics[0].Count != 1 {
		t.Errorf("a 200-byte %%s in a 64-byte buffer: %q, %v, %v", got, err, res.Diagnostics)
	}
}

// printfRacePTX: lane 1 writes a string to shared memory and lane 0
// prints it, with no __syncwarp between. The printf's reads are reads: the
// checker reports the race as it would for a load.
const printfRacePTX = ptHeader + `
.extern .func (.param .b32 func_retval0) vprintf (.param .b64 vprintf_param_0, .param .b64 vprintf_param_1);
.global .align 1 .b8 fmt[4] = {37, 115, 10, 0};
.shared .align 8 .b8 msg[8];

.visible .entry racy()
{
	.local .align 8 .b8 depot[8];
	.reg .pred %p<3>;
	.reg .b32 %r<3>;
	.reg .b64 %rd<6>;

	mov.u32 %r1, %tid.x;
	setp.ne.u32 %p1, %r1, 1;
	@%p1 bra READ;
	st.shared.u32 [msg], 26984; // WRITE: "hi" and two NULs
READ:
	setp.ne.u32 %p2, %r1, 0;
	@%p2 bra DONE;
	mov.u64 %rd1, msg;
	cvta.shared.u64 %rd2, %rd1;
	mov.u64 %rd3, depot;
	st.local.u64 [%rd3], %rd2;
	cvta.local.u64 %rd4, %rd3;
	mov.u64 %rd5, fmt;
	cvta.global.u64 %rd5, %rd5;
	{
	.param .b64 param0;
	st.param.b64 [param0+0], %rd5;
	.param .b64 param1;
	st.param.b64 [param1+0], %rd4;
	.param .b32 retval0;
	call.uni (retval0), vprintf, (param0, param1); // PRINTF
	ld.param.b32 %r2, [retval0+0];
	}
DONE:
	ret;
}
`

func TestPrintfUnderChecker(t *testing.T) {
	m := ptLoad(t, "racy.ptx", printfRacePTX)
	dev := cpuemu.NewDevice()
	got, res, err := printfRun(t, m, dev, "racy", cpuemu.LaunchConfig{Grid: one, Block: ptD1(32), Check: true})
	var ce *cpuemu.CheckError
	if !errors.As(err, &ce) || got != "hi\n" {
		t.Fatalf("%q, %v; want \"hi\\n\" and a *CheckError", got, err)
	}
	hs := res.Report.Hazards
	if len(hs) != 1 || hs[0].Type != "RAW" || hs[0].Scope != "intra-warp" || hs[0].Space != "shared" ||
		hs[0].Prior.Site.PTXLine != ptLine(t, printfRacePTX, "// WRITE") || hs[0].Later.Site.PTXLine != ptLine(t, printfRacePTX, "// PRINTF") ||
		hs[0].Later.Site.Instr != "call vprintf" || hs[0].Later.Lane != 0 || hs[0].Prior.Lane != 1 {
		t.Errorf("hazards %+v; want one RAW intra-warp on shared between the st.shared and the call vprintf", hs)
	}
	// Unchecked, the same launch prints the same and reports nothing.
	if got, res, err := printfRun(t, m, dev, "racy", cpuemu.LaunchConfig{Grid: one, Block: ptD1(32)}); err != nil || got != "hi\n" || len(res.Diagnostics) != 0 {
		t.Errorf("unchecked: %q, %v, %v", got, err, res.Diagnostics)
	}
}

// The output buffer keeps the first output: from the first call that
// does not fit, every call's output is dropped, and each site that
// dropped some says how many calls it dropped.
func TestPrintfBufferFull(t *testing.T) {
	m := printfModule(t)
	dev := cpuemu.NewDevice()
	// 32 threads print "block 0 thread N\n" (17 bytes for N < 10), then
	// the same with " again". 100 bytes hold five lines: 85 bytes.
	want := "block 0 thread 0\nblock 0 thread 1\nblock 0 thread 2\nblock 0 thread 3\nblock 0 thread 4\n"
	for _, check := range []bool{false, true} {
		got, res, err := printfRun(t, m, dev, "order", cpuemu.LaunchConfig{Grid: one, Block: ptD1(32), PrintfBytes: 100, Check: check})
		if err != nil || got != want {
			t.Fatalf("check %v: %q, %v; want %q", check, got, err, want)
		}
		ds := res.Diagnostics
		if len(ds) != 2 || ds[0].Kind != "printf-buffer-full" || ds[0].Site.Loc != "printf.cu:93" || ds[0].Count != 27 || ds[0].Lanes != 1<<5 ||
			ds[1].Kind != "printf-buffer-full" || ds[1].Site.Loc != "printf.cu:94" || ds[1].Count != 32 || !strings.Contains(ds[0].Msg, "100-byte") {
			t.Errorf("check %v: diagnostics %v; want 27 calls dropped at printf.cu:93 from lane 5 on, 32 at printf.cu:94", check, ds)
		}
		if check && (len(res.Report.Notes) != 2 || !res.Report.Clean()) {
			t.Errorf("a full printf buffer is a note, not a finding: %+v", res.Report)
		}
	}
	// The default buffer holds all 64 lines.
	got, _, err := printfRun(t, m, dev, "order", cpuemu.LaunchConfig{Grid: one, Block: ptD1(32)})
	if err != nil || strings.Count(got, "\n") != 64 {
		t.Errorf("the default buffer: %d lines, %v; want 64", strings.Count(got, "\n"), err)
	}
	// The limits on the buffer's size.
	var le *cpuemu.LimitError
	if _, err := m.Launch(dev, "order", cpuemu.LaunchConfig{Grid: one, Block: one, PrintfBytes: cpuemu.MaxPrintfBytes + 1}); !errors.As(err, &le) {
		t.Errorf("PrintfBytes past the maximum: %v; want a *LimitError", err)
	}
	var ae *cpuemu.ArgError
	if _, err := m.Launch(dev, "order", cpuemu.LaunchConfig{Grid: one, Block: one, PrintfBytes: -1}); !errors.As(err, &ae) {
		t.Errorf("negative PrintfBytes: %v; want an *ArgError", err)
	}
}

// orderLine is one line the order kernel prints: the first, or again.
func orderLine(block, thread int, again bool) string {
	if again {
		return fmt.Sprintf("block %d thread %d again\n", block, thread)
	}
	return fmt.Sprintf("block %d thread %d\n", block, thread)
}

// TestPrintfOrder: the text comes in the order the lanes ran their
// printf, which each scheduler fixes: blocks in order; lockstep runs a
// warp's lanes together, in lane order, warp after warp; round-robin
// steps the warps one instruction at a time, so warp 1's first printf
// comes before warp 0's second; adversarial runs the last warp first and
// its highest lane alone to its end, then the next lower lane.
func TestPrintfOrder(t *testing.T) {
	m := printfModule(t)
	dev := cpuemu.NewDevice()
	grid := cpuemu.Dim3{X: 2, Y: 1, Z: 1}
	block := ptD1(64)
	var lockstep, roundRobin, adversarial strings.Builder
	for b := 0; b < 2; b++ {
		for w := 0; w < 2; w++ {
			for _, again := range []bool{false, true} {
				for lane := 0; lane < 32; lane++ {
					lockstep.WriteString(orderLine(b, w*32+lane, again))
				}
			}
		}
		for _, again := range []bool{false, true} {
			for tid := 0; tid < 64; tid++ {
				roundRobin.WriteString(orderLine(b, tid, again))
			}
		}
		for tid := 63; tid >= 0; tid-- {
			adversarial.WriteString(orderLine(b, tid, false) + orderLine(b, tid, true))
		}
	}
	for _, c := range []struct {
		s    cpuemu.Scheduler
		want string
	}{{cpuemu.Lockstep, lockstep.String()}, {cpuemu.RoundRobin, roundRobin.String()}, {cpuemu.Adversarial, adversarial.String()}} {
		got, _, err := printfRun(t, m, dev, "order", cpuemu.LaunchConfig{Grid: grid, Block: block, Scheduler: c.s})
		if err != nil || got != c.want {
			t.Errorf("%s: %v\n%s\nwant\n%s", c.s, err, got, c.want)
		}
	}
	// Random: another order, the same for the same seed, with every
	// line once and each thread's two lines in its program order.
	sorted := func(s string) []string {
		l := strings.SplitAfter(s, "\n")
		slices.Sort(l)
		return l
	}
	differs := false
	for seed := uint64(1); seed <= 3; seed++ {
		cfg := cpuemu.LaunchConfig{Grid: grid, Block: block, Scheduler: cpuemu.Random, Seed: seed}
		a, _, err1 := printfRun(t, m, dev, "order", cfg)
		b, _, err2 := printfRun(t, m, dev, "order", cfg)
		if err1 != nil || err2 != nil || a != b {
			t.Fatalf("random seed %d: two runs differ (%v, %v)", seed, err1, err2)
		}
		if !slices.Equal(sorted(a), sorted(lockstep.String())) {
			t.Errorf("random seed %d: not the lockstep lines in another order:\n%s", seed, a)
		}
		for bl := 0; bl < 2; bl++ {
			for tid := 0; tid < 64; tid++ {
				if strings.Index(a, orderLine(bl, tid, false)) > strings.Index(a, orderLine(bl, tid, true)) {
					t.Errorf("random seed %d: block %d thread %d printed its second line first", seed, bl, tid)
				}
			}
		}
		differs = differs || a != lockstep.String()
	}
	if !differs {
		t.Error("three random seeds all printed in lockstep's order")
	}
}

func TestAssert(t *testing.T) {
	m := printfModule(t)
	dev := cpuemu.NewDevice()
	const fn = "void check(const int *, int *)"
	in := make([]byte, 4*64)
	for i := 0; i < 64; i++ {
		binary.LittleEndian.PutUint32(in[4*i:], uint32(i))
	}
	set := func(i int, v uint32) []byte {
		b := slices.Clone(in)
		binary.LittleEndian.PutUint32(b[4*i:], v)
		return b
	}
	two := set(7, 200)
	binary.LittleEndian.PutUint32(two[4*5:], 100)
	for _, c := range []struct {
		name    string
		in      []byte
		grid    uint32
		sched   cpuemu.Scheduler
		cta     cpuemu.Dim3
		thread  cpuemu.Dim3
		printed string
		stored  []int // the threads whose out[i] = i+1 was stored before the launch stopped
	}{
		// Lockstep: the failing lanes 5 and 7 call __assertfail together;
		// both print, the error names lane 5, nothing is stored.
		{"lockstep", two, 1, cpuemu.Lockstep, cpuemu.Dim3{}, cpuemu.Dim3{X: 5},
			"printf.cu:102: " + fn + ": block: [0,0,0], thread: [5,0,0] Assertion `x < 100` failed.\n" +
				"printf.cu:102: " + fn + ": block: [0,0,0], thread: [7,0,0] Assertion `x < 100` failed.\n", nil},
		// Adversarial: lane 31 runs alone to its end, then 30, ...: lanes
		// 31 to 8 store, lane 7 fails first.
		{"adversarial", two, 1, cpuemu.Adversarial, cpuemu.Dim3{}, cpuemu.Dim3{X: 7},
			"printf.cu:102: " + fn + ": block: [0,0,0], thread: [7,0,0] Assertion `x < 100` failed.\n",
			[]int{8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}},
		// The second block's thread 3 (a[35]): block 0 ran to its end.
		{"block 1", set(35, 150), 2, cpuemu.Lockstep, cpuemu.Dim3{X: 1}, cpuemu.Dim3{X: 3},
			"printf.cu:102: " + fn + ": block: [1,0,0], thread: [3,0,0] Assertion `x < 100` failed.\n",
			[]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}},
	} {
		for _, check := range []bool{false, true} {
			a := ptBuf(t, dev, len(c.in), c.in)
			out := ptBuf(t, dev, len(c.in), nil)
			cfg := cpuemu.LaunchConfig{Grid: ptD1(c.grid), Block: ptD1(32), Scheduler: c.sched, Check: check}
			got, res, err := printfRun(t, m, dev, "check", cfg, a, out)
			var ae *cpuemu.AssertError
			if !errors.As(err, &ae) {
				t.Fatalf("%s (check %v): %v; want an *AssertError", c.name, check, err)
			}
			wantMsg := fmt.Sprintf("printf.cu:102: %s: block: [%d,0,0], thread: [%d,0,0] Assertion `x < 100` failed.", fn, c.cta.X, c.thread.X)
			if ae.Error() != wantMsg || ae.Expr != "x < 100" || ae.File != "printf.cu" || ae.Line != 102 || ae.Function != fn ||
				ae.CTA != c.cta || ae.Thread != c.thread || ae.Kernel != "check" || ae.Site.Loc != "printf.cu:102" || ae.Site.Instr != "call __assertfail" {
				t.Errorf("%s (check %v): %q %+v\nwant %q", c.name, check, ae.Error(), ae, wantMsg)
			}
			if got != c.printed {
				t.Errorf("%s (check %v) printed\n%s\nwant\n%s", c.name, check, got, c.printed)
			}
			var stored []int
			for i, v := range words(t, dev, out, len(c.in)/4) {
				if v == int32(i+1) {
					stored = append(stored, i)
				} else if v != 0 {
					t.Errorf("%s: out[%d] = %d", c.name, i, v)
				}
			}
			if !slices.Equal(stored, c.stored) {
				t.Errorf("%s (check %v): stored %v, want %v", c.name, check, stored, c.stored)
			}
			if check {
				var ce *cpuemu.CheckError
				j, _ := json.Marshal(res.Report)
				if !errors.As(err, &ce) || !strings.Contains(string(j), `"fatal":{"type":"assert"`) {
					t.Errorf("%s: a checked launch's assert: %v, report %s", c.name, err, j)
				}
			}
		}
	}
}

// Calls the emulator provides must have CUDA's shape; other functions
// without a body still make their entry unsupported.
func TestBuiltinCalls(t *testing.T) {
	const decl = `
.extern .func (.param .b32 func_retval0) vprintf (.param .b64 vprintf_param_0, .param .b64 vprintf_param_1);
.extern .func (.param .b64 func_retval0) malloc (.param .b64 malloc_param_0);
.global .align 1 .b8 fmt[7] = {104, 105, 32, 37, 100, 10, 0};
`
	src := ptHeader + decl + `
.visible .entry regs(.param .u64 out)
{
	.local .align 4 .b8 depot[4];
	.reg .pred %p;
	.reg .b32 %r<4>;
	.reg .b64 %rd<6>;
	mov.u32 %r1, %tid.x;
	mov.u32 %r2, 99;
	st.local.u32 [depot], %r1;
	mov.u64 %rd1, depot;
	cvta.local.u64 %rd1, %rd1;
	mov.u64 %rd2, fmt;
	cvta.global.u64 %rd2, %rd2;
	setp.eq.u32 %p, %r1, 2;
	@%p call (%r2), vprintf, (%rd2, %rd1);
	call vprintf, (%rd2, %rd1);
	ld.param.u64 %rd3, [out];
	cvta.to.global.u64 %rd3, %rd3;
	mul.wide.u32 %rd4, %r1, 4;
	add.s64 %rd5, %rd3, %rd4;
	st.global.u32 [%rd5], %r2;
	ret;
}

.visible .entry usesmalloc()
{
	.reg .b64 %rd<2>;
	{
	.param .b64 param0;
	st.param.b64 [param0+0], 16;
	.param .b64 retval0;
	call.uni (retval0), malloc, (param0);
	}
	ret;
}

.visible .entry oneArg()
{
	.reg .b64 %rd<2>;
	.reg .b32 %r<2>;
	call (%r1), vprintf, (%rd1);
	ret;
}

.visible .entry wideResult()
{
	.reg .b64 %rd<2>;
	call (%rd1), vprintf, (%rd1, %rd1);
	ret;
}
`
	m := ptLoad(t, "builtins.ptx", src)
	// The IR: the arguments in registers, the builtin by name.
	if ir, err := m.DumpIR("regs"); err != nil || !strings.Contains(ir, "call.builtin.b32 %r2 <- %rd2, %rd1 -> vprintf") {
		t.Errorf("IR of regs (%v):\n%s", err, ir)
	}
	dev := cpuemu.NewDevice()
	out := ptBuf(t, dev, 16, nil)
	// Arguments and results in registers; a guarded call runs only where
	// its guard holds; a call may leave the result out.
	got, _, err := printfRun(t, m, dev, "regs", cpuemu.LaunchConfig{Grid: one, Block: ptD1(4)}, out)
	if want := "hi 2\nhi 0\nhi 1\nhi 2\nhi 3\n"; err != nil || got != want {
		t.Errorf("regs: %q, %v; want %q", got, err, want)
	}
	if r := words(t, dev, out, 4); !slices.Equal(r, []int32{99, 99, 1, 99}) {
		t.Errorf("regs: results %v, want [99 99 1 99]", r)
	}
	for _, c := range []struct{ entry, want string }{
		{"usesmalloc", "call to external function malloc"},
		{"oneArg", "call to vprintf passes 1 argument and 1 result; it takes 2 and 1"},
		{"wideResult", "call result 0 is 8 bytes; the parameter vprintf_retval is 4"},
	} {
		if _, err := m.Kernel(c.entry); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error saying %q", c.entry, err, c.want)
		}
	}
	var ue *cpuemu.UnsupportedError
	if _, err := m.Kernel("usesmalloc"); !errors.As(err, &ue) {
		t.Errorf("usesmalloc: %v; want an *UnsupportedError", err)
	}
}

// A call reaches a builtin, or a function, through a chain of .alias
// directives, and a name an alias chain leads to a function without a
// body is that external function.
func TestCallsThroughAliasChains(t *testing.T) {
	src := ptHeader + `
.extern .func (.param .b32 func_retval0) vprintf (.param .b64 vprintf_param_0, .param .b64 vprintf_param_1);
.extern .func (.param .b64 func_retval0) malloc (.param .b64 malloc_param_0);
.alias say, vprintf;
.alias shout, say;
.alias alloc, malloc;
.alias allocate, alloc;
.global .align 1 .b8 fmt[7] = {104, 105, 32, 37, 100, 10, 0};
.func (.param .b32 r) seven()
{
	st.param.b32 [r], 7;
	ret;
}
.alias sept, seven;
.alias siete, sept;

.visible .entry k()
{
	.local .align 4 .b8 depot[4];
	.reg .b32 %r<4>;
	.reg .b64 %rd<4>;
	{
	.param .b32 rv;
	call (rv), siete, ();
	ld.param.b32 %r1, [rv];
	}
	st.local.u32 [depot], %r1;
	mov.u64 %rd1, depot;
	cvta.local.u64 %rd1, %rd1;
	mov.u64 %rd2, fmt;
	cvta.global.u64 %rd2, %rd2;
	call (%r2), shout, (%rd2, %rd1);
	ret;
}

.visible .entry usesmalloc()
{
	.reg .b64 %rd<2>;
	call (%rd1), allocate, (%rd1);
	ret;
}
`
	m := ptLoad(t, "aliases.ptx", src)
	got, _, err := printfRun(t, m, cpuemu.NewDevice(), "k", cpuemu.LaunchConfig{Grid: one, Block: ptD1(1)})
	if want := "hi 7\n"; err != nil || got != want {
		t.Errorf("k: %q, %v; want %q", got, err, want)
	}
	var ue *cpuemu.UnsupportedError
	if _, err := m.Kernel("usesmalloc"); !errors.As(err, &ue) || !strings.Contains(err.Error(), "call to external function allocate") {
		t.Errorf("usesmalloc: %v; want an *UnsupportedError saying the call is to an external function", err)
	}
}

// The module's own declaration of vprintf or __assertfail must have
// CUDA's shape, (.param .b32 r) vprintf(.param .b64 fmt, .param .b64
// args) and __assertfail(.param .b64 msg, .param .b64 file, .param .b32
// line, .param .b64 func, .param .b64 charSize), whatever its calls pass:
// the emulator passes what CUDA's take. A mismatch makes the entry that
// calls it unsupported, saying what differs.
func TestBuiltinDeclarations(t *testing.T) {
	const vcall = "call (%r1), vprintf, (%rd1, %rd2);"
	const acall = "call __assertfail, (%rd1, %rd1, %r1, %rd1, %rd1);"
	for _, c := range []struct{ decl, call, want string }{
		{".extern .func vprintf(.param .b32 x);", vcall,
			"the module's declaration of vprintf (ptx line 4) has 1 parameter; CUDA's takes 2"},
		{".extern .func (.param .b32 r) vprintf(.param .b64 f);", vcall,
			"has 1 parameter; CUDA's takes 2"},
		{".extern .func (.param .b32 r) vprintf(.param .b64 f, .param .b64 a, .param .b64 b);", vcall,
			"has 3 parameters; CUDA's takes 2"},
		{".extern .func (.param .b32 r) vprintf(.param .b64 f, .param .b32 a);", vcall,
			"parameter 1 (a) is 4 bytes; CUDA's is .b64, 8 bytes"},
		{".extern .func (.param .b32 r) vprintf(.param .b8 f[], .param .b64 a);", vcall,
			"parameter 0 (f) is an unsized array; CUDA's is .b64, 8 bytes"},
		{".extern .func (.param .b64 r) vprintf(.param .b64 f, .param .b64 a);", "call (%rd3), vprintf, (%rd1, %rd2);",
			"its result (r) is 8 bytes; CUDA's is .b32, 4 bytes"},
		{".extern .func vprintf(.param .b64 f, .param .b64 a);", "call vprintf, (%rd1, %rd2);",
			"has no result; CUDA's returns .b32"},
		{".extern .func (.param .b32 r) __assertfail(.param .b64 m, .param .b64 f, .param .b32 l, .param .b64 fn, .param .b64 cs);", acall,
			"the module's declaration of __assertfail (ptx line 4) has a result; CUDA's has none"},
		{".extern .func __assertfail(.param .b64 m, .param .b64 f, .param .b64 l, .param .b64 fn, .param .b64 cs);", acall,
			"parameter 2 (l) is 8 bytes; CUDA's is .b32, 4 bytes"},
		{".extern .func __assertfail(.param .b64 m, .param .b64 f, .param .b32 l, .param .b64 fn);", acall,
			"has 4 parameters; CUDA's takes 5"},
	} {
		src := ptHeader + c.decl + `
.visible .entry k()
{
	.reg .b32 %r<2>;
	.reg .b64 %rd<4>;
	mov.u32 %r1, 0;
	mov.u64 %rd1, 0;
	mov.u64 %rd2, 0;
	` + c.call + `
	ret;
}
`
		m := ptLoad(t, "decl.ptx", src)
		_, err := m.Kernel("k")
		var ue *cpuemu.UnsupportedError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n%s\n%v; want an *UnsupportedError saying %q", c.decl, c.call, err, c.want)
		}
	}
}

// A writer that fails makes the launch fail, after it ran.
func TestPrintfWriteError(t *testing.T) {
	m := printfModule(t)
	dev := cpuemu.NewDevice()
	for _, check := range []bool{false, true} {
		res, err := m.Launch(dev, "order", cpuemu.LaunchConfig{Grid: one, Block: one, Stdout: failWriter{}, Check: check})
		if err == nil || !strings.Contains(err.Error(), "disk full") || res == nil || res.LaneInstructions == 0 || check && !res.Report.Clean() {
			t.Errorf("check %v: %v, %v; want the writer's error with the result (and a clean report)", check, res, err)
		}
	}
	// Without a writer the text is dropped, and nothing fails.
	if _, err := m.Launch(dev, "order", cpuemu.LaunchConfig{Grid: one, Block: one}); err != nil {
		t.Error(err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
