package gputest

import (
	"slices"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// symbolsPTX has a __device__ counter (zero, as PTX zero-initialises
// .global variables without an initialiser) and a __constant__ table with
// an initialiser, and kernels that use them: bump adds its step to the
// counter from every thread, addto adds to the word its pointer names,
// lookup writes table[tid % 4] to out[tid].
const symbolsPTX = `
.version 7.0
.target sm_70
.address_size 64

.global .align 4 .u32 counter;
.const .align 4 .b8 table[16] = {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0};

.visible .entry bump(
	.param .u32 bump_param_0
)
{
	.reg .b32 %r<3>;
	.reg .b64 %rd<2>;

	ld.param.u32 %r1, [bump_param_0];
	mov.u64 %rd1, counter;
	atom.global.add.u32 %r2, [%rd1], %r1;
	ret;
}

.visible .entry addto(
	.param .u64 addto_param_0,
	.param .u32 addto_param_1
)
{
	.reg .b32 %r<3>;
	.reg .b64 %rd<3>;

	ld.param.u64 %rd1, [addto_param_0];
	ld.param.u32 %r1, [addto_param_1];
	cvta.to.global.u64 %rd2, %rd1;
	atom.global.add.u32 %r2, [%rd2], %r1;
	ret;
}

.visible .entry lookup(
	.param .u64 lookup_param_0
)
{
	.reg .b32 %r<4>;
	.reg .b64 %rd<7>;

	ld.param.u64 %rd1, [lookup_param_0];
	cvta.to.global.u64 %rd2, %rd1;
	mov.u32 %r1, %tid.x;
	and.b32 %r2, %r1, 3;
	mul.wide.u32 %rd3, %r2, 4;
	mov.u64 %rd4, table;
	add.s64 %rd4, %rd4, %rd3;
	ld.const.u32 %r3, [%rd4];
	mul.wide.u32 %rd5, %r1, 4;
	add.s64 %rd6, %rd2, %rd5;
	st.global.u32 [%rd6], %r3;
	ret;
}
`

// loadSymbols loads symbolsPTX on dev; the module closes when t ends.
func loadSymbols(t *testing.T, dev gpu.Device) gpu.Module {
	t.Helper()
	return loadModule(t, dev, "symbols.ptx", []byte(symbolsPTX))
}

func kernelOf(t *testing.T, m gpu.Module, name string) gpu.Kernel {
	t.Helper()
	k, err := m.Kernel(name)
	must(t, err, "Kernel(%s)", name)
	return k
}

func global(t *testing.T, m gpu.Module, name string, size int) gpu.DeviceBuffer {
	t.Helper()
	b, err := m.Global(name)
	must(t, err, "Global(%s)", name)
	if b.Size() != size {
		t.Fatalf("Global(%s).Size() = %d, want %d", name, b.Size(), size)
	}
	return b
}

// Module variables: a __device__ counter set and read from the host
// around launches, synchronously and on a stream, and passed to a kernel
// as a pointer; a __constant__ table the host replaces and a kernel reads;
// a copy per device; errors for names that are not variables; a
// variable's buffer that the module owns.
func (s *suite) testSymbols(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	m := loadSymbols(t, dev)
	bump, addto, lookup := kernelOf(t, m, "bump"), kernelOf(t, m, "addto"), kernelOf(t, m, "lookup")
	st := newStream(t, dev)
	sync := func(what string) { t.Helper(); must(t, st.Synchronize(), "Synchronize after %s", what) }

	counter := global(t, m, "counter", 4)
	wantBytes(t, counter, kernels.WordBytes([]uint32{0}), "counter before any launch")
	must(t, counter.CopyFromHost(0, kernels.WordBytes([]uint32{100})), "CopyFromHost to counter")
	must(t, st.Launch(bump, gpu.LaunchConfig{Grid: gpu.D1(2), Block: gpu.D1(64)}, uint32(3)), "Launch bump")
	sync("bump")
	wantBytes(t, counter, kernels.WordBytes([]uint32{100 + 128*3}), "counter after 128 threads added 3 to 100")
	// One name gives one buffer, however often it is asked for.
	if again := global(t, m, "counter", 4); again != counter || again.Ptr() != counter.Ptr() {
		t.Errorf("Global(counter) twice: buffers %p and %p at addresses %#x and %#x; want the same buffer", counter, again, counter.Ptr(), again.Ptr())
	}

	// On a stream: copy in, bump, add through the variable's address,
	// copy out.
	hin, hout := allocHost(t, dev, 4, 0), allocHost(t, dev, 4, 0)
	copy(hin.Bytes(), kernels.WordBytes([]uint32{1000}))
	must(t, st.CopyHtoD(counter, 0, hin, 0, 4), "CopyHtoD to counter")
	must(t, st.Launch(bump, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}, uint32(1)), "Launch bump")
	must(t, st.Launch(addto, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(1)}, counter, uint32(7)), "Launch addto with counter as its pointer")
	must(t, st.CopyDtoH(hout, 0, counter, 0, 4), "CopyDtoH from counter")
	sync("the stream's copies and launches")
	if got := kernels.Words(hout.Bytes())[0]; got != 1000+32+7 {
		t.Errorf("counter = %d after 1000, 32 adds of 1 and one of 7; want 1039", got)
	}

	// __constant__ table: its initialiser, then what the host writes.
	table := global(t, m, "table", 16)
	wantBytes(t, table, kernels.WordBytes([]uint32{1, 2, 3, 4}), "table before any launch (its initialiser)")
	out := alloc(t, dev, 4*8)
	look := func(want ...uint32) {
		t.Helper()
		must(t, st.Launch(lookup, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(8)}, out), "Launch lookup")
		sync("lookup")
		wantBytes(t, out, kernels.WordBytes(append(want, want...)), "lookup's out (table[tid %% 4])")
	}
	look(1, 2, 3, 4)
	must(t, table.CopyFromHost(0, kernels.WordBytes([]uint32{10, 20, 30, 40})), "CopyFromHost to table")
	look(10, 20, 30, 40)
	copy(hin.Bytes(), kernels.WordBytes([]uint32{99}))
	must(t, st.CopyHtoD(table, 8, hin, 0, 4), "CopyHtoD to table[2]")
	look(10, 20, 99, 40)

	// Another device has its own copies, from the initialisers.
	dev2 := s.device(t)
	m2 := loadSymbols(t, dev2)
	wantBytes(t, global(t, m2, "counter", 4), kernels.WordBytes([]uint32{0}), "the other device's counter")
	wantBytes(t, global(t, m2, "table", 16), kernels.WordBytes([]uint32{1, 2, 3, 4}), "the other device's table")
	wantBytes(t, counter, kernels.WordBytes([]uint32{1039}), "counter, after the other device loaded the module")

	// Names that are not variables of the module.
	for _, name := range []string{"nosuch", "bump"} {
		_, err := m.Global(name)
		if wantErr(t, be, err, "Global(%s)", name) && !hasAll(err.Error(), name, "counter", "table") {
			t.Errorf("Global(%s): error %q does not name it and list the module's variables", name, err)
		}
	}
	// The module owns the variable: Free refuses, and it stays usable.
	err := counter.Free()
	if wantErr(t, be, err, "Free of a module's variable") && !hasAll(err.Error(), "counter", "symbols.ptx") {
		t.Errorf("Free of counter: error %q does not name the variable and its module", err)
	}
	wantBytes(t, counter, kernels.WordBytes([]uint32{1039}), "counter after the refused Free")

	// Closing the module closes its variables.
	other := loadSymbols(t, dev)
	addtoOther := kernelOf(t, other, "addto")
	must(t, m.Close(), "Close symbols.ptx")
	wantClosed(t, be, counter.CopyToHost(make([]byte, 4), 0), "CopyToHost of a closed module's variable")
	wantClosed(t, be, table.CopyFromHost(0, make([]byte, 4)), "CopyFromHost to a closed module's variable")
	wantClosed(t, be, counter.Memset(0, 4, 0), "Memset of a closed module's variable")
	wantClosed(t, be, st.CopyHtoD(counter, 0, hin, 0, 4), "CopyHtoD to a closed module's variable")
	wantClosed(t, be, st.CopyDtoH(hout, 0, table, 0, 4), "CopyDtoH from a closed module's variable")
	wantClosed(t, be, st.Launch(addtoOther, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(1)}, counter, uint32(1)), "Launch with a closed module's variable")
	_, err = m.Global("counter")
	wantClosed(t, be, err, "Global of a closed module")
	sync("the refused calls")
	if got := slices.Clone(hout.Bytes()); !slices.Equal(got, kernels.WordBytes([]uint32{1039})) {
		t.Errorf("host buffer %v after refused copies, want it unchanged", got)
	}

	// Closing the device closes them too.
	counter2 := global(t, m2, "counter", 4)
	must(t, dev2.Close(), "Close the other device")
	wantClosed(t, be, counter2.CopyToHost(make([]byte, 4), 0), "CopyToHost of a variable on a closed device")
	_, err = m2.Global("table")
	wantClosed(t, be, err, "Global of a module of a closed device")
}
