package cpuemu_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// Error paths: faults raised by kernels, launch-argument and configuration
// checks, Load-time rejections and host-side memory errors. Each is matched
// with errors.As on its typed error.

const ptFaultPTX = ptHeader + `
.shared .align 4 .b8 buf[128];
.const .align 4 .u32 cval = 5;

.visible .entry oob(
	.param .u64 oob_param_0,
	.param .u64 oob_param_1
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<8>;
	.reg .b64 	%rd<8>;

	ld.param.u64 	%rd1, [oob_param_0];
	ld.param.u64 	%rd2, [oob_param_1];
	cvta.to.global.u64 	%rd1, %rd1;
	cvta.to.global.u64 	%rd2, %rd2;
	mov.u32 	%r1, %tid.x;
	mov.u32 	%r2, %ctaid.x;
	mad.lo.s32 	%r3, %r2, 32, %r1;
	setp.gt.u32 	%p1, %r3, 45;
	@%p1 bra 	$L_done;
	mul.wide.u32 	%rd3, %r3, 4;
	add.s64 	%rd4, %rd1, %rd3;
	ld.global.u32 	%r4, [%rd4]; // OOB
	add.s64 	%rd5, %rd2, %rd3;
	st.global.u32 	[%rd5], %r4;
$L_done:
	ret;
}

.visible .entry misaligned(
	.param .u64 misaligned_param_0,
	.param .u64 misaligned_param_1
)
{
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<4>;

	ld.param.u64 	%rd1, [misaligned_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	ld.global.u32 	%r1, [%rd1+2]; // MISALIGNED
	st.global.u32 	[%rd1], %r1;
	ret;
}

.visible .entry shoob(
	.param .u64 shoob_param_0,
	.param .u64 shoob_param_1
)
{
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<4>;

	ld.param.u64 	%rd1, [shoob_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	ld.shared.u32 	%r1, [buf+128]; // SHOOB
	st.global.u32 	[%rd1], %r1;
	ret;
}

.visible .entry trapper(
	.param .u64 trapper_param_0,
	.param .u64 trapper_param_1
)
{
	.reg .pred 	%p<2>;
	.reg .b32 	%r<4>;

	mov.u32 	%r1, %tid.x;
	setp.ne.u32 	%p1, %r1, 7;
	@%p1 bra 	$L_ok;
	trap; // TRAP
$L_ok:
	ret;
}

.visible .entry misvec(
	.param .u64 misvec_param_0,
	.param .u64 misvec_param_1
)
{
	.reg .b32 	%r<6>;
	.reg .b64 	%rd<4>;

	ld.param.u64 	%rd1, [misvec_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	ld.global.v4.u32 	{%r1, %r2, %r3, %r4}, [%rd1+8]; // MISVEC
	st.global.u32 	[%rd1], %r1;
	ret;
}

.visible .entry constwrite(
	.param .u64 constwrite_param_0,
	.param .u64 constwrite_param_1
)
{
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<4>;

	mov.u64 	%rd1, cval;
	cvta.const.u64 	%rd2, %rd1;
	ld.u32 	%r1, [%rd2];
	add.s32 	%r1, %r1, 1;
	st.u32 	[%rd2], %r1; // CONSTWRITE
	ret;
}

.visible .entry nullload(
	.param .u64 nullload_param_0,
	.param .u64 nullload_param_1
)
{
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<4>;

	mov.u64 	%rd1, 0;
	ld.u32 	%r1, [%rd1]; // NULL
	ret;
}

.visible .entry localoob(
	.param .u64 localoob_param_0,
	.param .u64 localoob_param_1
)
{
	.local .align 4 .b8 	depot[16];
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<4>;

	ld.param.u64 	%rd1, [localoob_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	ld.local.u32 	%r1, [depot+16]; // LOCALOOB
	st.global.u32 	[%rd1], %r1;
	ret;
}

.visible .entry shmis(
	.param .u64 shmis_param_0,
	.param .u64 shmis_param_1
)
{
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<4>;

	ld.param.u64 	%rd1, [shmis_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r1, 1;
	st.shared.u32 	[buf], %r1;
	ld.shared.u32 	%r2, [buf+2]; // SHMIS
	st.global.u32 	[%rd1], %r2;
	ret;
}

.visible .entry shstoob(
	.param .u64 shstoob_param_0,
	.param .u64 shstoob_param_1
)
{
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<6>;

	mov.u32 	%r1, %tid.x;
	mov.u64 	%rd1, buf;
	mul.wide.u32 	%rd2, %r1, 4;
	add.s64 	%rd3, %rd1, %rd2;
	st.shared.u32 	[%rd3], %r1; // SHSTOOB
	ret;
}

.visible .entry glstoob(
	.param .u64 glstoob_param_0,
	.param .u64 glstoob_param_1
)
{
	.reg .b32 	%r<4>;
	.reg .b64 	%rd<6>;

	ld.param.u64 	%rd1, [glstoob_param_0];
	cvta.to.global.u64 	%rd1, %rd1;
	mov.u32 	%r1, %tid.x;
	mul.wide.u32 	%rd2, %r1, 4;
	add.s64 	%rd3, %rd1, %rd2;
	st.global.u32 	[%rd3], %r1; // GLSTOOB
	ret;
}

.visible .entry forever(
	.param .u64 forever_param_0,
	.param .u64 forever_param_1
)
{
	.reg .b32 	%r<4>;

	mov.u32 	%r1, 0;
$L_loop:
	add.s32 	%r1, %r1, 1;
	bra.uni 	$L_loop;
}
`

func ptFault(t *testing.T, err error) *cpuemu.FaultError {
	t.Helper()
	var fe *cpuemu.FaultError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v (%T), want a *FaultError", err, err)
	}
	return fe
}

// TestFaultOutOfBounds: in holds 45 words (180 bytes); threads with global
// index g <= 45 load in[g], so exactly g = 45 (block 1, thread 13, warp 0,
// lane 13) reads 4 bytes at in+180, one past the end.
func TestFaultOutOfBounds(t *testing.T) {
	m := ptLoad(t, "faults", ptFaultPTX)
	line := ptLine(t, ptFaultPTX, "// OOB")
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			in := ptBuf(t, d, 180, nil)
			out := ptBuf(t, d, 256, nil)
			_, err := m.Launch(d, "oob", s.cfg(ptD1(2), ptD1(32)), in, out)
			fe := ptFault(t, err)
			if fe.Kind != "out of bounds" || fe.Space != "global" || fe.Addr != uint64(in)+180 || fe.Size != 4 {
				t.Errorf("got kind %q space %q addr %#x size %d, want out of bounds global %#x 4", fe.Kind, fe.Space, fe.Addr, fe.Size, uint64(in)+180)
			}
			if fe.Kernel != "oob" || fe.Site.PTXLine != line || !strings.HasPrefix(fe.Site.Instr, "ld") {
				t.Errorf("got kernel %q site %+v, want oob at ptx line %d (ld)", fe.Kernel, fe.Site, line)
			}
			if fe.CTA != (cpuemu.Dim3{X: 1}) || fe.Thread != (cpuemu.Dim3{X: 13}) || fe.Warp != 0 || fe.Lane != 13 {
				t.Errorf("got CTA %v thread %v warp %d lane %d, want (1,0,0) (13,0,0) 0 13", fe.CTA, fe.Thread, fe.Warp, fe.Lane)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("ptx line %d", line)) {
				t.Errorf("message does not give the line: %v", err)
			}
		})
	}
}

// TestFaultMisaligned: ld.global.u32 at a 256-aligned allocation + 2.
func TestFaultMisaligned(t *testing.T) {
	m := ptLoad(t, "faults", ptFaultPTX)
	d := cpuemu.NewDevice()
	p := ptBuf(t, d, 64, nil)
	_, err := m.Launch(d, "misaligned", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, p, p)
	fe := ptFault(t, err)
	if fe.Kind != "misaligned" || fe.Addr != uint64(p)+2 || fe.Site.PTXLine != ptLine(t, ptFaultPTX, "// MISALIGNED") {
		t.Errorf("got %v (kind %q addr %#x line %d)", fe, fe.Kind, fe.Addr, fe.Site.PTXLine)
	}
}

// TestFaultMoreKinds: a v4 load must be 16-byte aligned (§6.4.1: +8 is
// not); a generic store into .const memory; a generic load of address 0;
// a .local access past the 16-byte depot.
func TestFaultMoreKinds(t *testing.T) {
	m := ptLoad(t, "faults", ptFaultPTX)
	cases := []struct{ kernel, marker, kind string }{
		{"misvec", "// MISVEC", "misaligned"},
		{"constwrite", "// CONSTWRITE", "write to read-only memory"},
		{"nullload", "// NULL", ""},
		{"localoob", "// LOCALOOB", "out of bounds"},
		{"shmis", "// SHMIS", "misaligned"},
	}
	for _, c := range cases {
		t.Run(c.kernel, func(t *testing.T) {
			d := cpuemu.NewDevice()
			p := ptBuf(t, d, 64, nil)
			_, err := m.Launch(d, c.kernel, cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, p, p)
			fe := ptFault(t, err)
			if line := ptLine(t, ptFaultPTX, c.marker); fe.Site.PTXLine != line {
				t.Errorf("fault at ptx line %d, want %d: %v", fe.Site.PTXLine, line, fe)
			}
			if c.kind != "" && fe.Kind != c.kind {
				t.Errorf("kind %q, want %q: %v", fe.Kind, c.kind, fe)
			}
		})
	}
}

// TestFaultStoresOutOfBounds: lane t stores to word t of a 128-byte shared
// buffer and of a 64-byte global allocation, 64 threads: the first faulting
// stores are lanes 32 (shared) and 16 (global). Which faulting lane is
// reported depends on the schedule, but it must be one that is out of
// bounds, and nothing may be written past the allocation.
func TestFaultStoresOutOfBounds(t *testing.T) {
	m := ptLoad(t, "faults", ptFaultPTX)
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			p := ptBuf(t, d, 64, nil)
			next := ptBuf(t, d, 64, nil)
			_, err := m.Launch(d, "shstoob", s.cfg(ptD1(1), ptD1(64)), p, p)
			fe := ptFault(t, err)
			if fe.Kind != "out of bounds" || fe.Space != "shared" || fe.Warp != 1 || fe.Site.PTXLine != ptLine(t, ptFaultPTX, "// SHSTOOB") {
				t.Errorf("shared: got %v", fe)
			}
			_, err = m.Launch(d, "glstoob", s.cfg(ptD1(1), ptD1(64)), p, p)
			fe = ptFault(t, err)
			if fe.Kind != "out of bounds" || fe.Space != "global" || fe.Thread.X < 16 || fe.Addr < uint64(p)+64 || fe.Site.PTXLine != ptLine(t, ptFaultPTX, "// GLSTOOB") {
				t.Errorf("global: got %v", fe)
			}
			if got := ptRead(t, d, next, 64); !slices.Equal(got, make([]byte, 64)) {
				t.Errorf("the neighbouring allocation changed: % x", got)
			}
		})
	}
}

// TestFaultSharedOutOfBounds: ld.shared.u32 [buf+128] with 128 bytes of
// static shared memory and none dynamic.
func TestFaultSharedOutOfBounds(t *testing.T) {
	m := ptLoad(t, "faults", ptFaultPTX)
	d := cpuemu.NewDevice()
	p := ptBuf(t, d, 64, nil)
	_, err := m.Launch(d, "shoob", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, p, p)
	fe := ptFault(t, err)
	if fe.Kind != "out of bounds" || fe.Space != "shared" || fe.Site.PTXLine != ptLine(t, ptFaultPTX, "// SHOOB") {
		t.Errorf("got %v (kind %q space %q)", fe, fe.Kind, fe.Space)
	}
}

// TestTrap: only thread 7 traps.
func TestTrap(t *testing.T) {
	m := ptLoad(t, "faults", ptFaultPTX)
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			p := ptBuf(t, d, 64, nil)
			_, err := m.Launch(d, "trapper", s.cfg(ptD1(1), ptD1(32)), p, p)
			fe := ptFault(t, err)
			if fe.Kind != "trap" || fe.Lane != 7 || fe.Thread != (cpuemu.Dim3{X: 7}) || fe.Site.PTXLine != ptLine(t, ptFaultPTX, "// TRAP") {
				t.Errorf("got %v", fe)
			}
		})
	}
}

// TestInstructionLimit: an endless loop with MaxInstructions 10000.
func TestInstructionLimit(t *testing.T) {
	m := ptLoad(t, "faults", ptFaultPTX)
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			p := ptBuf(t, d, 64, nil)
			cfg := s.cfg(ptD1(1), ptD1(32))
			cfg.MaxInstructions = 10000
			_, err := m.Launch(d, "forever", cfg, p, p)
			var le *cpuemu.LimitError
			if !errors.As(err, &le) {
				t.Fatalf("got %v, want a *LimitError", err)
			}
			if le.Max != 10000 || le.Value <= 10000 {
				t.Errorf("got %v", le)
			}
		})
	}
}

// TestStoreToKernelParam: kernel parameters are read-only (§5.1.6.1); a
// st.param to one is rejected at Load or faults at Launch.
func TestStoreToKernelParam(t *testing.T) {
	src := ptHeader + `
.visible .entry stp(
	.param .u32 stp_param_0
)
{
	.reg .b32 	%r<2>;

	mov.u32 	%r1, 5;
	st.param.u32 	[stp_param_0], %r1; // STP
	ret;
}
`
	line := ptLine(t, src, "// STP")
	m, err := cpuemu.Load("stp", []byte(src))
	if err != nil {
		var se *cpuemu.SyntaxError
		var ue *cpuemu.UnsupportedError
		if !errors.As(err, &se) && !errors.As(err, &ue) {
			t.Fatalf("load: %v (%T), want a SyntaxError or UnsupportedError", err, err)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("ptx line %d", line)) {
			t.Errorf("load error does not name line %d: %v", line, err)
		}
		return
	}
	_, err = m.Launch(cpuemu.NewDevice(), "stp", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, uint32(1))
	fe := ptFault(t, err)
	if fe.Site.PTXLine != line || fe.Space != "param" {
		t.Errorf("got %v (space %q)", fe, fe.Space)
	}
}

const ptArgPTX = ptHeader + `
.visible .entry put(
	.param .u64 put_param_0,
	.param .u32 put_param_1
)
{
	.reg .b32 	%r<2>;
	.reg .b64 	%rd<3>;

	ld.param.u64 	%rd1, [put_param_0];
	ld.param.u32 	%r1, [put_param_1];
	cvta.to.global.u64 	%rd2, %rd1;
	st.global.u32 	[%rd2], %r1;
	ret;
}
`

// TestArgErrors: argument and configuration mistakes are *ArgError, found
// before the kernel runs (the sentinel in out stays). A correct launch then
// writes n.
func TestArgErrors(t *testing.T) {
	m := ptLoad(t, "put", ptArgPTX)
	d := cpuemu.NewDevice()
	out := ptBuf(t, d, 4, ptBytes(0xaaaaaaaa))
	ok := cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}
	cases := []struct {
		name   string
		kernel string
		cfg    cpuemu.LaunchConfig
		args   []any
	}{
		{"too few", "put", ok, []any{out}},
		{"too many", "put", ok, []any{out, uint32(1), uint32(2)}},
		{"uint32 for .u64", "put", ok, []any{uint32(5), uint32(1)}},
		{"uint64 for .u32", "put", ok, []any{out, uint64(1)}},
		{"float32 for .u32", "put", ok, []any{out, float32(1)}},
		{"string", "put", ok, []any{out, "1"}},
		{"grid x 0", "put", cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 0, Y: 1, Z: 1}, Block: ptD1(1)}, []any{out, uint32(1)}},
		{"grid z 0", "put", cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 1, Y: 1, Z: 0}, Block: ptD1(1)}, []any{out, uint32(1)}},
		{"block y 0", "put", cpuemu.LaunchConfig{Grid: ptD1(1), Block: cpuemu.Dim3{X: 32, Y: 0, Z: 1}}, []any{out, uint32(1)}},
		{"block 2048", "put", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(2048)}, []any{out, uint32(1)}},
		{"block 32x32x2", "put", cpuemu.LaunchConfig{Grid: ptD1(1), Block: cpuemu.Dim3{X: 32, Y: 32, Z: 2}}, []any{out, uint32(1)}},
		{"unknown kernel", "nope", ok, []any{out, uint32(1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := d.Write(out, ptBytes(0xaaaaaaaa)); err != nil {
				t.Fatal(err)
			}
			res, err := m.Launch(d, c.kernel, c.cfg, c.args...)
			var ae *cpuemu.ArgError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, %v (%T), want an *ArgError", res, err, err)
			}
			if ae.Kernel != c.kernel {
				t.Errorf("ArgError.Kernel = %q, want %q", ae.Kernel, c.kernel)
			}
			if got := ptWords(ptRead(t, d, out, 4))[0]; got != 0xaaaaaaaa {
				t.Errorf("the kernel ran: out = %#x", got)
			}
		})
	}
	if _, err := m.Launch(nil, "put", ok, out, uint32(1)); err == nil {
		t.Errorf("nil device: no error")
	}
	if _, err := m.Launch(d, "put", ok, out, uint32(9)); err != nil {
		t.Fatal(err)
	}
	if got := ptWords(ptRead(t, d, out, 4))[0]; got != 9 {
		t.Errorf("valid launch wrote %d, want 9", got)
	}
}

// TestEntryUnsupported: a module whose text parses loads; an entry that
// uses something unsupported fails alone, when it is asked for, with an
// *UnsupportedError that names the entry, the instruction and its PTX line,
// and the module's other entries run.
func TestEntryUnsupported(t *testing.T) {
	good := `
.visible .entry good(
	.param .u64 good_param_0
)
{
	.reg .b32 	%r<2>;
	.reg .b64 	%rd<3>;

	ld.param.u64 	%rd1, [good_param_0];
	cvta.to.global.u64 	%rd2, %rd1;
	mov.u32 	%r1, 42;
	st.global.u32 	[%rd2], %r1;
	ret;
}
`
	cases := []struct {
		name, instr, marker, fn, src string
	}{
		{"tex", "tex", "// UNSUP", "", ptHeader + `
.visible .entry bad(
	.param .u64 bad_param_0
)
{
	.reg .f32 	%f<8>;
	.reg .b64 	%rd<2>;

	ld.param.u64 	%rd1, [bad_param_0];
	mov.f32 	%f5, 0f00000000;
	mov.f32 	%f6, 0f00000000;
	tex.2d.v4.f32.f32 	{%f1, %f2, %f3, %f4}, [%rd1, {%f5, %f6}]; // UNSUP
	ret;
}
` + good},
		{"foo.bar", "foo", "// UNSUP", "", ptHeader + good + `
.visible .entry bad(
	.param .u64 bad_param_0
)
{
	.reg .b32 	%r<2>;

	mov.u32 	%r1, 1;
	foo.bar 	%r1; // UNSUP
	ret;
}
`},
		// In a function the entry calls: the error names both.
		{"in a callee", "foo", "// UNSUP", "helper", ptHeader + `
.func helper(
	.param .b32 helper_param_0
)
{
	.reg .b32 	%r<2>;

	ld.param.b32 	%r1, [helper_param_0];
	foo.bar 	%r1; // UNSUP
	ret;
}
` + good + `
.visible .entry bad(
	.param .u64 bad_param_0
)
{
	{
	.param .b32 param0;
	st.param.b32 	[param0+0], 1;
	call.uni helper, (param0);
	}
	ret;
}
`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			line := ptLine(t, c.src, c.marker)
			m, err := cpuemu.Load(c.name, []byte(c.src))
			if err != nil {
				t.Fatalf("Load: %v; want the module to load", err)
			}
			_, err = m.Kernel("bad")
			var ue *cpuemu.UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("Kernel(bad) = %v (%T), want an *UnsupportedError", err, err)
			}
			if ue.Line != line || ue.Entry != "bad" {
				t.Errorf("UnsupportedError line %d entry %q, want %d and bad (%v)", ue.Line, ue.Entry, line, err)
			}
			if c.fn != "" && ue.Func != c.fn {
				t.Errorf("UnsupportedError.Func = %q, want %q", ue.Func, c.fn)
			}
			if !strings.Contains(ue.Instr+" "+ue.What, c.instr) || !strings.Contains(err.Error(), c.instr) || !strings.Contains(err.Error(), "entry bad") {
				t.Errorf("error does not name %q and the entry: instr %q what %q: %v", c.instr, ue.Instr, ue.What, err)
			}
			dev := cpuemu.NewDevice()
			out := ptBuf(t, dev, 4, nil)
			cfg := cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 1, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 1, Y: 1, Z: 1}}
			if _, err := m.Launch(dev, "bad", cfg, out); !errors.As(err, &ue) {
				t.Errorf("Launch(bad) = %v, want the *UnsupportedError", err)
			}
			if _, err := m.Launch(dev, "good", cfg, out); err != nil {
				t.Fatalf("Launch(good): %v", err)
			}
			if b := ptRead(t, dev, out, 4); b[0] != 42 {
				t.Errorf("good wrote %v, want 42", b)
			}
			es := m.Entries()
			if len(es) != 2 || es[0].Name != "bad" || es[0].Err == nil || es[1].Name != "good" || es[1].Err != nil {
				t.Errorf("Entries() = %+v; want bad (with Err) and good", es)
			}
		})
	}
	// A function no entry calls does not matter, whatever it holds.
	src := ptHeader + `
.func helper()
{
	foo.bar;
	ret;
}
` + good
	m, err := cpuemu.Load("uncalled", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Kernel("good"); err != nil {
		t.Errorf("Kernel(good) = %v", err)
	}
}

// TestLoadSyntaxError: malformed PTX gives a *SyntaxError with its line.
func TestLoadSyntaxError(t *testing.T) {
	cases := []struct{ name, src string }{
		{"missing operand", ptHeader + `
.visible .entry k(
	.param .u64 k_param_0
)
{
	.reg .b32 	%r<4>;

	mov.u32 	%r1, 1;
	add.s32 	%r2, %r1, ; // BAD
	ret;
}
`},
		{"bad address", ptHeader + `
.visible .entry k(
	.param .u64 k_param_0
)
{
	.reg .b32 	%r<4>;

	ld.param.u32 	%r1, [k_param_0; // BAD
	ret;
}
`},
		{"bad entry header", ptHeader + `
.visible .entry k(
	.param .u64 k_param_0 .param // BAD
)
{
	ret;
}
`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			line := ptLine(t, c.src, "// BAD")
			_, err := cpuemu.Load(c.name, []byte(c.src))
			var se *cpuemu.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("got %v (%T), want a *SyntaxError", err, err)
			}
			if se.Line != line {
				t.Errorf("SyntaxError.Line = %d, want %d (%v)", se.Line, line, err)
			}
		})
	}
}

// TestMemoryErrors: host-side calls past an allocation or over the device
// limit are *DeviceMemoryError.
func TestMemoryErrors(t *testing.T) {
	isMem := func(t *testing.T, what string, err error) {
		t.Helper()
		var me *cpuemu.DeviceMemoryError
		if !errors.As(err, &me) {
			t.Errorf("%s: got %v (%T), want a *DeviceMemoryError", what, err, err)
		}
	}
	d := cpuemu.NewDevice()
	d.SetMemoryLimit(1024)
	p, err := d.Alloc(512)
	if err != nil {
		t.Fatal(err)
	}
	q, err := d.Alloc(512)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Alloc(1)
	isMem(t, "alloc over the limit", err)
	if err := d.Free(q); err != nil {
		t.Fatal(err)
	}
	_, err = d.Alloc(600)
	isMem(t, "alloc of 600 with 512 free", err)
	if _, err := d.Alloc(512); err != nil {
		t.Errorf("alloc after free: %v", err)
	}
	_, err = d.Alloc(0)
	isMem(t, "alloc 0", err)

	// Reserved bytes count against the same limit as allocations.
	r := cpuemu.NewDevice()
	r.SetMemoryLimit(1024)
	if _, err := r.Alloc(512); err != nil {
		t.Fatal(err)
	}
	isMem(t, "reserve past the limit", r.Reserve(513))
	if err := r.Reserve(500); err != nil {
		t.Fatalf("reserve 500 of the 512 left: %v", err)
	}
	_, err = r.Alloc(13)
	isMem(t, "alloc past the limit with bytes reserved", err)
	isMem(t, "unreserve more than reserved", r.Unreserve(501))
	isMem(t, "unreserve 0", r.Unreserve(0))
	isMem(t, "reserve 0", r.Reserve(0))
	if err := r.Unreserve(500); err != nil {
		t.Fatalf("unreserve 500: %v", err)
	}
	if _, err := r.Alloc(512); err != nil {
		t.Errorf("alloc of the 512 left after unreserve: %v", err)
	}

	isMem(t, "write past the end", d.Write(p+500, make([]byte, 13)))
	if err := d.Write(p+500, make([]byte, 12)); err != nil {
		t.Errorf("write up to the end: %v", err)
	}
	isMem(t, "read past the end", d.Read(make([]byte, 513), p))
	isMem(t, "write into the guard gap", d.Write(p+512, []byte{1}))
	isMem(t, "free twice", d.Free(q))
	isMem(t, "free inside", d.Free(p+4))
	isMem(t, "write to an unknown pointer", d.Write(cpuemu.DevicePtr(12345), []byte{1}))
}

// TestLaunchLimits: shared memory beyond MaxSharedBytes and a grid beyond
// MaxGridThreads are *LimitError; negative dynamic shared memory and an
// unknown scheduler are *ArgError; none of them runs the kernel.
func TestLaunchLimits(t *testing.T) {
	m := ptLoad(t, "put", ptArgPTX)
	d := cpuemu.NewDevice()
	out := ptBuf(t, d, 4, ptBytes(0xaaaaaaaa))
	limits := []cpuemu.LaunchConfig{
		{Grid: ptD1(1), Block: ptD1(1), SharedBytes: cpuemu.MaxSharedBytes + 1},
		{Grid: ptD1(cpuemu.MaxGridThreads/1024 + 1), Block: ptD1(1024)},
		{Grid: ptD1(1), Block: ptD1(1), Trace: true, TraceLimit: 1<<21 + 1},
		{Grid: ptD1(1), Block: ptD1(1), TraceLimit: 1 << 30},
	}
	for i, cfg := range limits {
		_, err := m.Launch(d, "put", cfg, out, uint32(1))
		var le *cpuemu.LimitError
		if !errors.As(err, &le) {
			t.Errorf("limit case %d: got %v, want a *LimitError", i, err)
		}
	}
	if got := ptWords(ptRead(t, d, out, 4))[0]; got != 0xaaaaaaaa {
		t.Errorf("a launch past a limit ran the kernel: out = %#x", got)
	}
	// The ceiling itself is allowed.
	if _, err := m.Launch(d, "put", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1), Trace: true, TraceLimit: 1 << 21}, out, uint32(1)); err != nil {
		t.Errorf("TraceLimit 1<<21: %v", err)
	}
	if _, err := m.Launch(d, "put", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1), TraceLimit: 1<<21 + 1}, out, uint32(1)); err == nil ||
		!strings.Contains(err.Error(), "TraceLimit") || !strings.Contains(err.Error(), "2097152") {
		t.Errorf("TraceLimit past the ceiling: %v, want an error naming TraceLimit and 2097152", err)
	}
	if err := d.Write(out, ptBytes(0xaaaaaaaa)); err != nil {
		t.Fatal(err)
	}
	args := []cpuemu.LaunchConfig{
		{Grid: ptD1(1), Block: ptD1(1), SharedBytes: -1},
		{Grid: ptD1(1), Block: ptD1(1), Scheduler: cpuemu.Scheduler(99)},
		{Grid: ptD1(1), Block: ptD1(1), MaxInstructions: -1},
	}
	for i, cfg := range args {
		_, err := m.Launch(d, "put", cfg, out, uint32(1))
		var ae *cpuemu.ArgError
		if !errors.As(err, &ae) {
			t.Errorf("arg case %d: got %v, want an *ArgError", i, err)
		}
	}
	if got := ptWords(ptRead(t, d, out, 4))[0]; got != 0xaaaaaaaa {
		t.Errorf("a rejected launch ran: out = %#x", got)
	}
}
