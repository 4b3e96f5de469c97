package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/host"
)

// runJSON runs gpubuf run with --json and decodes its summary.
func runJSON(t *testing.T, args ...string) (int, runSummary, string) {
	t.Helper()
	code, out, errs := runCLI(append([]string{"run", "--json"}, args...)...)
	var s runSummary
	if out != "" {
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("run printed no JSON (%v):\n%s\n%s", err, out, errs)
		}
	}
	return code, s, errs
}

func TestRunVerifiesEveryKernel(t *testing.T) {
	for _, k := range append(host.BatchKernelNames(), "batch_scan,batch_reduce") {
		for _, extra := range [][]string{nil, {"--zero-copy", "--unordered", "--streams", "3"}} {
			// 1000 records of 96 bytes, 10 to a 1000-byte slot: 100 batches.
			args := append([]string{"--kernel", k, "--records", "1000", "--record-size", "96", "--slot-size", "1000", "--verify"}, extra...)
			code, s, errs := runJSON(t, args...)
			if code != exitOK {
				t.Fatalf("%v: exit %d: %s", args, code, errs)
			}
			if s.Batches != 100 || s.Records != 1000 || s.Bytes != 96000 || s.Verified != 100 || s.Mismatches != 0 || s.Failed != 0 {
				t.Errorf("%v: summary %+v", args, s)
			}
		}
	}
}

func TestRunTableOutput(t *testing.T) {
	code, out, errs := runCLI("run", "--records", "500", "--record-size", "64", "--slot-size", "4K", "--verify", "--kernel", "batch_reduce")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// 4096/64 = 64 records a batch: 500 records make 8 batches.
	for _, want := range []string{"batch_reduce on ", "batches           8", "records           500", "bytes             32000", "verified          8 of 8 batches match", "producer blocked", "consumer starved", "in flight"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestRunSyntheticRecords checks the generated records independently of
// the pipeline: the sum of the per-batch histograms is the histogram of
// the records made one at a time, whatever the slot size.
func TestRunSyntheticRecords(t *testing.T) {
	const n, rs = 300, 40
	var want [256]uint64
	rec := make([]byte, rs)
	for i := range n {
		synthRecord(rec, 9, uint64(i))
		for _, b := range rec {
			want[b]++
		}
	}
	for _, slot := range []string{"40", "400", "4000", "1M"} {
		var got [256]uint64
		old := batchKernel
		batchKernel = func(name string) (host.BatchKernelInfo, error) {
			k, err := host.BatchKernel(name)
			ref := k.Reference
			k.Reference = func(in []byte, rs int) []byte {
				out := ref(in, rs)
				for b, c := range host.Words(out) {
					got[b] += uint64(c)
				}
				return out
			}
			return k, err
		}
		code, s, errs := runJSON(t, "--kernel", "batch_histogram", "--records", "300", "--record-size", "40", "--seed", "9", "--slot-size", slot, "--verify")
		batchKernel = old
		if code != exitOK || s.Verified != s.Batches {
			t.Fatalf("slot %s: exit %d, %+v: %s", slot, code, s, errs)
		}
		if got != want {
			t.Errorf("slot %s: the records' byte histogram differs from the generator's", slot)
		}
	}
}

func TestRunInputFileAndStdin(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 64*50)
	for i := range data {
		data[i] = byte(i * 7)
	}
	path := filepath.Join(dir, "records.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, s, errs := runJSON(t, "--input", path, "--record-size", "64", "--slot-size", "640", "--verify")
	if code != exitOK || s.Records != 50 || s.Batches != 5 || s.Verified != 5 {
		t.Fatalf("file: exit %d %+v %s", code, s, errs)
	}

	stdin = bytes.NewReader(data)
	defer func() { stdin = os.Stdin }()
	code, s, errs = runJSON(t, "--input", "-", "--record-size", "64", "--slot-size", "1000", "--verify", "--kernel", "batch_histogram")
	// 1000-byte slots hold 15 records: 15+15+15+5.
	if code != exitOK || s.Records != 50 || s.Batches != 4 || s.Verified != 4 {
		t.Fatalf("stdin: exit %d %+v %s", code, s, errs)
	}

	stdin = bytes.NewReader(data[:64*3+10])
	code, _, errs = runJSON(t, "--input", "-", "--record-size", "64")
	if code != exitUsage || !strings.Contains(errs, "stdin: 202 bytes is not a whole number of 64-byte records (10 bytes left over)") {
		t.Errorf("partial record on stdin: exit %d, %q", code, errs)
	}
}

func TestRunBadInput(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "odd.bin")
	os.WriteFile(odd, make([]byte, 100), 0o644)
	empty := filepath.Join(dir, "empty.bin")
	os.WriteFile(empty, nil, 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--record-size", "0"}, "--record-size 0: must be positive"},
		{[]string{"--record-size", "-8"}, "--record-size -8: must be positive"},
		{[]string{"--slot-size", "0"}, "--slot-size 0: must be positive"},
		{[]string{"--slot-size", "100", "--record-size", "256"}, "--slot-size 100 is smaller than one 256-byte record"},
		{[]string{"--records", "0"}, "--records 0: must be positive"},
		{[]string{"--slots", "0"}, "--slots 0: want 1..65536"},
		{[]string{"--slots", "65537"}, "--slots 65537: want 1..65536"},
		{[]string{"--depth", "-1"}, "--depth -1: want 1..65536"},
		{[]string{"--depth", "1000000000000"}, "--depth 1000000000000: want 1..65536"},
		{[]string{"--ptx", "testdata/fault_on_dead.ptx", "--kernel", "fault_on_dead", "--unit", "4", "--out-per-record", "4294967297"}, "--out-per-record 4294967297: want at most 4294967296 bytes"},
		{[]string{"--ptx", "testdata/fault_on_dead.ptx", "--kernel", "fault_on_dead", "--unit", "4", "--out-per-batch", "1000000000000"}, "--out-per-batch 1000000000000: want at most 4294967296 bytes"},
		{[]string{"--streams", "-1"}, "--streams -1: must be positive"},
		{[]string{"--streams", "5", "--slots", "4"}, "--streams 5: at most one stream per batch on the device"},
		{[]string{"--streams", "2", "--slots", "4", "--depth", "1"}, "--streams 2: at most one stream per batch on the device (--depth, default --slots: 1)"},
		{[]string{"--input", filepath.Join(dir, "missing.bin")}, "missing.bin: no such file"},
		{[]string{"--input", odd, "--record-size", "64"}, "100 bytes is not a whole number of 64-byte records (36 bytes left over)"},
		{[]string{"--input", empty}, "is empty: no records"},
		{[]string{"--kernel", "batch_frobnicate"}, `"batch_frobnicate" is not a batch kernel`},
		{[]string{"--kernel", "batch_reduce", "--record-size", "10"}, "records of 10 bytes are not a multiple of 4"},
		{[]string{"--kernel", "batch_histogram,batch_reduce"}, "only the last kernel may"},
		{[]string{"--on-error", "shrug"}, `--on-error "shrug"`},
		{[]string{"--progress", "maybe"}, `--progress "maybe"`},
		{[]string{"--backend", "abacus"}, `"abacus"`},
		{[]string{"--ptx", "testdata/fault_on_dead.ptx", "--kernel", "fault_on_dead"}, "--unit 0"},
		{[]string{"--ptx", "testdata/fault_on_dead.ptx", "--kernel", "fault_on_dead", "--unit", "4", "--verify"}, "--verify needs the Go references"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		code, out, errs := runCLI(append([]string{"run"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("run %v: exit %d, stderr %q, want exit 2 and %q", c.args, code, errs, c.want)
		}
	}
}

func TestRunVerifyMismatchExitsOne(t *testing.T) {
	old := batchKernel
	defer func() { batchKernel = old }()
	batchKernel = func(name string) (host.BatchKernelInfo, error) {
		k, err := host.BatchKernel(name)
		ref := k.Reference
		k.Reference = func(in []byte, rs int) []byte {
			out := ref(in, rs)
			out[5] ^= 1 // a reference that disagrees with the kernel
			return out
		}
		return k, err
	}
	code, s, errs := runJSON(t, "--kernel", "batch_reduce", "--records", "100", "--record-size", "32", "--verify")
	if code != exitFail || s.Mismatches != 1 || !strings.Contains(errs, "differ from the Go reference") || !strings.Contains(errs, "word 1 is") {
		t.Errorf("exit %d, %+v, %q", code, s, errs)
	}
}

// TestRunKernelFault runs a kernel that faults on batches whose first
// word is 0xDEADBEEF: the second of three batches.
func TestRunKernelFault(t *testing.T) {
	dir := t.TempDir()
	in := make([]byte, 3*64)
	for b := range 3 {
		for i := range 16 {
			binary.LittleEndian.PutUint32(in[64*b+4*i:], uint32(b+1))
		}
	}
	binary.LittleEndian.PutUint32(in[64:], 0xDEADBEEF)
	path := filepath.Join(dir, "in.bin")
	os.WriteFile(path, in, 0o644)
	code, s, errs := runJSON(t, "--ptx", "testdata/fault_on_dead.ptx", "--kernel", "fault_on_dead", "--unit", "4", "--out-per-batch", "4",
		"--input", path, "--record-size", "16", "--slot-size", "64")
	if code != exitFail || s.Batches != 3 || s.Failed != 1 || !strings.HasPrefix(s.FirstError, "batch 1 ") || !strings.Contains(s.FirstError, "out of bounds") {
		t.Errorf("exit %d, %+v, %q", code, s, errs)
	}
	if !strings.Contains(errs, "1 batch(es) failed") {
		t.Errorf("stderr %q", errs)
	}
}

// TestRunRingTooBig: a ring whose slots and frames cannot fit the
// emulator's 4 GiB is refused at start, naming its flags, before anything
// is allocated (the emulator counts host slots as device memory).
func TestRunRingTooBig(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		// 4.9 GiB of 1 MiB slots and as many frames.
		{[]string{"--slots", "5000", "--slot-size", "1M"}, "--slots 5000, --slot-size 1M, --depth 5000 (--slots): the ring needs 9.9 GiB, more than the 4.0 GiB"},
		// 8 GiB of slots, and 8 frames of a 1 GiB staging buffer and 16 MiB
		// of checksums (and their host copy): 16.25 GiB.
		{[]string{"--slot-size", "1G", "--slots", "8"}, "--slots 8, --slot-size 1G, --depth 8 (--slots): the ring needs 16.2 GiB"},
		// 4 GiB of slots, and 4 frames of 1 GiB staging buffers.
		{[]string{"--slot-size", "1G"}, "--slots 4, --slot-size 1G, --depth 4 (--slots): the ring needs 8.1 GiB"},
		// The frames alone: 3000 of 2 MiB staging buffers and 2 MiB outputs.
		{[]string{"--slots", "1", "--depth", "3000", "--slot-size", "2M", "--kernel", "batch_scan"}, "--slots 1, --slot-size 2M, --depth 3000: the ring needs"},
	} {
		code, out, errs := runCLI(append([]string{"run", "--records", "10"}, c.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(errs, c.want) || !strings.Contains(errs, "lower --slots, --slot-size or --depth") {
			t.Errorf("run %v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
	}
}

// smallEmu is an emulator whose Info claims 4 GiB while it holds 1 MiB:
// the check at start passes, and the allocation itself fails.
type smallEmu struct{ gpu.Device }

func (d smallEmu) Info() gpu.Info {
	i := d.Device.Info()
	i.TotalMemory = 4 << 30
	return i
}

// TestRunAllocationFails: an allocation that fails while the ring is set
// up exits 2 too, naming the flags that size the ring.
func TestRunAllocationFails(t *testing.T) {
	old := runDevice
	defer func() { runDevice = old }()
	runDevice = func(backend string, emu gpu.EmuOptions) (gpu.Device, error) {
		emu.MemoryLimit = 1 << 20
		d, err := openDevice(backend, emu)
		return smallEmu{d}, err
	}
	code, out, errs := runCLI("run", "--records", "10", "--slots", "5", "--slot-size", "256K", "--depth", "1")
	if code != exitUsage || out != "" || !strings.Contains(errs, "--slots 5, --slot-size 256K, --depth 1: the ring does not fit:") ||
		!strings.Contains(errs, "slot 4") || !strings.Contains(errs, "over the device memory limit") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming the flags and the failed allocation", code, errs)
	}
	// What fits in that 1 MiB runs.
	if code, _, errs := runCLI("run", "--records", "10", "--slots", "2", "--slot-size", "128K", "--depth", "2"); code != exitOK {
		t.Errorf("a ring that fits: exit %d, %s", code, errs)
	}
}

// TestRunMemoryCheckByBackend: host slots count against the device's
// memory on the emulator only; on a GPU they are host memory.
func TestRunMemoryCheckByBackend(t *testing.T) {
	o := runOpts{slots: 5000, slotSize: 1 << 20, recordSize: 256, depth: 4}
	k, err := host.BatchKernel("batch_checksum")
	if err != nil {
		t.Fatal(err)
	}
	stages := []host.KernelSpec{k.Spec}
	// 4 frames of a 1 MiB staging buffer and 4096 4-byte checksums.
	gpuInfo := gpu.Info{Name: "a GPU", Backend: gpu.BackendCUDA, TotalMemory: 4<<20 + 4*4*4096}
	if msg := o.checkMemory(stages, gpuInfo); msg != "" {
		t.Errorf("on a GPU with room for the frames: %s", msg)
	}
	gpuInfo.TotalMemory--
	if msg := o.checkMemory(stages, gpuInfo); !strings.Contains(msg, "the ring needs 4.1 MiB") || strings.Contains(msg, "slots (") {
		t.Errorf("on a GPU one byte short: %q", msg)
	}
	// The emulator adds 5000 MiB of slots and the frames' host copies.
	emuInfo := gpu.Info{Name: "gpubuf PTX emulator", Backend: gpu.BackendEmu, TotalMemory: 5000<<20 + 4<<20 + 2*4*4*4096}
	if msg := o.checkMemory(stages, emuInfo); msg != "" {
		t.Errorf("on the emulator with room for it all: %s", msg)
	}
	emuInfo.TotalMemory--
	if msg := o.checkMemory(stages, emuInfo); !strings.Contains(msg, "4.9 GiB of slots") {
		t.Errorf("on the emulator one byte short: %q", msg)
	}
}

// TestRunDepthOne: a depth of one batch on the device takes one stream
// without being told; the default two shrink to it.
func TestRunDepthOne(t *testing.T) {
	code, s, errs := runJSON(t, "--records", "100", "--record-size", "64", "--slot-size", "1K", "--slots", "4", "--depth", "1", "--verify")
	if code != exitOK || s.Batches != 7 || s.Verified != 7 || s.MaxInFlight != 1 {
		t.Errorf("--depth 1: exit %d, %+v, %s", code, s, errs)
	}
}

// TestRunDefaultStreamsFollowDepth: without --streams the ring takes the
// API's default, two streams or fewer for a depth of one, so a one-slot
// or depth-one ring runs; --streams asked for past the depth is refused
// naming the flag the user gave.
func TestRunDefaultStreamsFollowDepth(t *testing.T) {
	for _, args := range [][]string{
		{"--slots", "1"},
		{"--slots", "4", "--depth", "1"},
		{"--slots", "1", "--streams", "1"},
		{"--slots", "3", "--depth", "2", "--streams", "2"},
	} {
		code, s, errs := runJSON(t, append([]string{"--records", "50", "--record-size", "64", "--slot-size", "640", "--verify"}, args...)...)
		// 10 records a slot: 5 batches, each checked.
		if code != exitOK || s.Batches != 5 || s.Verified != 5 {
			t.Errorf("%q: exit %d, %d batches, %d verified; want 0, 5, 5\n%s", args, code, s.Batches, s.Verified, errs)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--slots", "1", "--streams", "2"}, "--streams 2: at most one stream per batch on the device (--depth, default --slots: 1)"},
		{[]string{"--slots", "2", "--streams", "0"}, "--streams 0: must be positive"},
	} {
		code, out, errs := runCLI(append([]string{"run", "--records", "10"}, c.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
	}
}

// endless is a reader that never ends: byte i of it is i*7 mod 256.
type endless struct{ off int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte((e.off + i) * 7)
	}
	e.off += len(p)
	return len(p), nil
}

// TestRunInputRecordsLimit: with --input, --records N reads the first N
// records and no more, so an endless input (/dev/zero, a pipe that is
// never closed) ends; a shorter input is read whole, and a part record
// past the N is never read, so it is no error.
func TestRunInputRecordsLimit(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 64*50+10) // 50 records and 10 bytes
	for i := range data {
		data[i] = byte(i * 7)
	}
	path := filepath.Join(dir, "records.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin = os.Stdin }()
	for _, c := range []struct {
		name, input  string
		in           io.Reader
		records      string
		want, wantBt uint64 // records, batches of 10
	}{
		{"/dev/zero", "/dev/zero", nil, "37", 37, 4},
		{"endless stdin", "-", &endless{}, "25", 25, 3},
		{"file, first 30", path, nil, "30", 30, 3},
		{"file, first 50", path, nil, "50", 50, 5},
	} {
		if _, err := os.Stat(c.input); c.input != "-" && err != nil {
			t.Logf("%s: %v; skipped", c.name, err)
			continue
		}
		stdin = c.in
		done := make(chan struct{})
		var code int
		var s runSummary
		var errs string
		go func() {
			defer close(done)
			code, s, errs = runJSON(t, "--input", c.input, "--records", c.records, "--record-size", "64", "--slot-size", "640", "--verify")
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s --records %s: still running after 20 s: --records is not honoured", c.name, c.records)
		}
		if code != exitOK || s.Records != c.want || s.Batches != c.wantBt || s.Verified != c.wantBt {
			t.Errorf("%s --records %s: exit %d, %d records in %d batches, %d verified; want %d in %d\n%s",
				c.name, c.records, code, s.Records, s.Batches, s.Verified, c.want, c.wantBt, errs)
		}
	}
	// Past the whole records, the part record is read and refused, as
	// without --records; --records must be positive with --input too.
	for _, c := range []struct{ records, want string }{
		{"51", "3210 bytes is not a whole number of 64-byte records (10 bytes left over)"},
		{"0", "--records 0: must be positive"},
	} {
		code, _, errs := runJSON(t, "--input", path, "--records", c.records, "--record-size", "64")
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("--records %s: exit %d, %q; want exit 2 and %q", c.records, code, errs, c.want)
		}
	}
}
