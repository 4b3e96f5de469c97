package bench_test

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/bench"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/gpu/emu"
)

func openEmu(t *testing.T) gpu.Device {
	t.Helper()
	dev, err := emu.Open(gpu.Options{Backend: gpu.BackendEmu})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return dev
}

// fakeGPU is the emulator dressed as a GPU backend: the code paths a GPU
// takes, on memory that works everywhere.
type fakeGPU struct{ gpu.Device }

func (d fakeGPU) Info() gpu.Info {
	i := d.Device.Info()
	i.Backend, i.Name = gpu.BackendCUDA, "fake GPU"
	return i
}

// noMap is a device that cannot map host memory.
type noMap struct{ gpu.Device }

func (d noMap) AllocHost(n int, f gpu.HostFlags) (gpu.HostBuffer, error) {
	return d.Device.AllocHost(n, f&^gpu.HostMapped)
}

// near reports whether got is want within a relative 1e-9 (float rounding
// of the same quotient computed two ways).
func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(math.Abs(want), 1e-300)
}

func TestRing(t *testing.T) {
	dev := openEmu(t)
	for _, c := range []struct {
		in                   bench.RingCase
		slots, streams, want int
	}{
		{bench.RingCase{SlotSize: 4096, Depth: 2, Budget: bench.Budget{N: 20}}, 2, 2, 20},
		{bench.RingCase{SlotSize: 100, Depth: 1, Budget: bench.Budget{N: 7}}, 1, 1, 7},
		{bench.RingCase{SlotSize: 3, Depth: 3, Slots: 5, Streams: 9, Budget: bench.Budget{N: 11}}, 5, 3, 11},
	} {
		r, err := bench.Ring(dev, c.in)
		if err != nil {
			t.Fatalf("%+v: %v", c.in, err)
		}
		if r.SlotSize != c.in.SlotSize || r.Depth != c.in.Depth || r.Slots != c.slots || r.Streams != c.streams {
			t.Errorf("%+v: result describes slot size %d, depth %d, slots %d, streams %d", c.in, r.SlotSize, r.Depth, r.Slots, r.Streams)
		}
		if r.Batches != c.want || r.Bytes != int64(c.want*c.in.SlotSize) {
			t.Errorf("%+v: %d batches, %d bytes; want %d batches of %d bytes", c.in, r.Batches, r.Bytes, c.want, c.in.SlotSize)
		}
		if r.Elapsed <= 0 || !near(r.GBps, float64(r.Bytes)/r.Elapsed.Seconds()/1e9) || !near(r.BatchesPerSec, float64(r.Batches)/r.Elapsed.Seconds()) {
			t.Errorf("%+v: %v elapsed, %g GB/s, %g batches/s: not bytes and batches over the time", c.in, r.Elapsed, r.GBps, r.BatchesPerSec)
		}
		if r.MeanLatency <= 0 || r.MaxLatency < r.MeanLatency || r.MaxLatency > r.Elapsed {
			t.Errorf("%+v: latency mean %v, max %v, in %v", c.in, r.MeanLatency, r.MaxLatency, r.Elapsed)
		}
		if r.PerBatch != r.Elapsed/time.Duration(r.Batches) {
			t.Errorf("%+v: %v per batch, %v for %d batches", c.in, r.PerBatch, r.Elapsed, r.Batches)
		}
		// The ring's own work: as many batches, on streams that do no work.
		if r.OwnBatches != c.want || r.OwnPerBatch <= 0 {
			t.Errorf("%+v: the ring's own work: %d batches, %v each; want %d batches", c.in, r.OwnBatches, r.OwnPerBatch, c.want)
		}
	}
	// A duration budget runs at least two batches, and for about as long.
	r, err := bench.Ring(dev, bench.RingCase{SlotSize: 1024, Depth: 2, Budget: bench.Budget{Duration: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Batches < 2 || r.Elapsed < 20*time.Millisecond {
		t.Errorf("20ms budget: %d batches in %v", r.Batches, r.Elapsed)
	}
	// The ring's own work runs for a quarter of it: 5 ms, less what
	// OwnPerBatch, a whole number of nanoseconds, leaves off each batch.
	if r.OwnBatches < 2 || r.OwnPerBatch <= 0 || time.Duration(r.OwnBatches)*(r.OwnPerBatch+1) < 5*time.Millisecond {
		t.Errorf("20ms budget: the ring's own work: %d batches of %v", r.OwnBatches, r.OwnPerBatch)
	}
	for _, c := range []bench.RingCase{
		{SlotSize: 0, Depth: 2},
		{SlotSize: 64, Depth: 0},
		{SlotSize: 64, Depth: 2, Slots: -1},
		{SlotSize: 64, Depth: 2, Budget: bench.Budget{N: -1}},
	} {
		if _, err := bench.Ring(dev, c); err == nil {
			t.Errorf("Ring(%+v): no error", c)
		}
	}
}

func TestTransfer(t *testing.T) {
	dev := openEmu(t)
	for _, m := range bench.Modes() {
		for _, size := range []int{4, 12, 8192, 4100} {
			r, err := bench.Transfer(dev, bench.TransferCase{Mode: m, Size: size, Budget: bench.Budget{N: 3}})
			if err != nil {
				t.Fatalf("%s, %d bytes: %v", m, size, err)
			}
			if r.Mode != m || r.Size != size || r.Skipped || r.Messages != 3 {
				t.Errorf("%s, %d bytes: %+v", m, size, r)
			}
			if r.Elapsed <= 0 || r.PerMessage != r.Elapsed/3 || !near(r.GBps, float64(3*size)/r.Elapsed.Seconds()/1e9) || !near(r.Micros(), float64(r.PerMessage)/1e3) {
				t.Errorf("%s, %d bytes: %v for 3 messages, %v each, %g GB/s", m, size, r.Elapsed, r.PerMessage, r.GBps)
			}
		}
	}
	r, err := bench.Transfer(noMap{dev}, bench.TransferCase{Mode: bench.ZeroCopy, Size: 4096, Budget: bench.Budget{N: 1}})
	if err != nil || !r.Skipped || !strings.Contains(r.Reason, "cannot map host memory") || r.Messages != 0 {
		t.Errorf("zero-copy on a device that cannot map: %+v, %v", r, err)
	}
	if r, err := bench.Transfer(noMap{dev}, bench.TransferCase{Mode: bench.Staged, Size: 4096, Budget: bench.Budget{N: 1}}); err != nil || r.Skipped {
		t.Errorf("staged on a device that cannot map: %+v, %v", r, err)
	}
	for _, c := range []bench.TransferCase{
		{Mode: bench.Staged, Size: 0},
		{Mode: bench.Staged, Size: -8},
		{Mode: bench.Staged, Size: 6},
		{Mode: bench.Mode(7), Size: 64},
		{Mode: bench.Pageable, Size: 64, Budget: bench.Budget{Duration: -time.Second}},
	} {
		if _, err := bench.Transfer(dev, c); err == nil {
			t.Errorf("Transfer(%+v): no error", c)
		}
	}
}

func TestTransferSweep(t *testing.T) {
	dev := openEmu(t)
	rep, err := bench.TransferSweep(dev, []int{4096}, bench.Budget{N: 1})
	if err != nil || rep.NA != bench.NotOnEmulator || len(rep.Results) != 0 || rep.Crossover.Found {
		t.Errorf("on the emulator: %+v, %v", rep, err)
	}
	if na := bench.TransferNA(fakeGPU{dev}.Info()); na != "" {
		t.Errorf("TransferNA of a GPU: %q", na)
	}

	rep, err = bench.TransferSweep(fakeGPU{dev}, []int{16384, 4096, 16384, 8192}, bench.Budget{N: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.NA != "" || !slices.Equal(rep.Sizes, []int{4096, 8192, 16384}) || len(rep.Results) != 3*len(bench.Modes()) {
		t.Fatalf("sweep: NA %q, sizes %v, %d results", rep.NA, rep.Sizes, len(rep.Results))
	}
	for _, size := range rep.Sizes {
		for _, m := range bench.Modes() {
			if r, ok := rep.Result(m, size); !ok || r.Messages != 2 {
				t.Errorf("%s at %d: %+v, %v", m, size, r, ok)
			}
		}
	}
	if got, want := rep.Crossover, bench.FindCrossover(rep.Results); got != want {
		t.Errorf("crossover %+v, FindCrossover says %+v", got, want)
	}
}

func TestFindCrossover(t *testing.T) {
	type row struct {
		size         int
		staged, zero time.Duration
		zeroSkipped  bool
	}
	results := func(rows ...row) []bench.TransferResult {
		var out []bench.TransferResult
		// Largest first: the order of results must not matter.
		for i := len(rows) - 1; i >= 0; i-- {
			r := rows[i]
			out = append(out, bench.TransferResult{Mode: bench.Pageable, Size: r.size, PerMessage: time.Nanosecond})
			out = append(out, bench.TransferResult{Mode: bench.Staged, Size: r.size, PerMessage: r.staged})
			out = append(out, bench.TransferResult{Mode: bench.ZeroCopy, Size: r.size, PerMessage: r.zero, Skipped: r.zeroSkipped, Reason: "no mapping"})
		}
		return out
	}
	for _, c := range []struct {
		name string
		in   []bench.TransferResult
		want bench.Crossover
		why  string
	}{
		{"crosses", results(row{4096, 20, 10, false}, row{16384, 30, 25, false}, row{65536, 40, 50, false}, row{262144, 60, 200, false}),
			bench.Crossover{Found: true, Size: 65536}, ""},
		{"staged wins once below the crossing", results(row{4096, 20, 10, false}, row{16384, 5, 25, false}, row{65536, 60, 50, false}, row{262144, 60, 200, false}),
			bench.Crossover{Found: true, Size: 262144}, ""},
		{"staged wins everywhere", results(row{4096, 1, 10, false}, row{8192, 2, 20, false}),
			bench.Crossover{Found: true, Size: 4096, AtSmallest: true}, ""},
		{"never", results(row{4096, 20, 10, false}, row{8192, 40, 20, false}),
			bench.Crossover{}, "none in the range"},
		{"a tie is no win", results(row{4096, 20, 10, false}, row{8192, 20, 20, false}),
			bench.Crossover{}, "none in the range"},
		{"zero-copy skipped", results(row{4096, 20, 0, true}),
			bench.Crossover{}, "zero-copy not measured: no mapping"},
		{"nothing", nil, bench.Crossover{}, "not both measured"},
	} {
		got := bench.FindCrossover(c.in)
		why := got.Why
		got.Why = ""
		if got != c.want || !strings.Contains(why, c.why) || (c.why == "") != (why == "") {
			t.Errorf("%s: %+v (why %q), want %+v and a why with %q", c.name, got, why, c.want, c.why)
		}
	}
}

func TestKernels(t *testing.T) {
	dev := openEmu(t)
	rs, err := bench.Kernels(dev, bench.KernelCase{Bytes: 8192, Budget: bench.Budget{N: 2}})
	if err != nil {
		t.Fatal(err)
	}
	names := func(rs []bench.KernelResult) []string {
		var n []string
		for _, r := range rs {
			n = append(n, r.Kernel)
		}
		return n
	}
	if !slices.Equal(names(rs), bench.DefaultKernels()) {
		t.Fatalf("kernels %v, want %v", names(rs), bench.DefaultKernels())
	}
	for _, r := range rs {
		secs := r.Elapsed.Seconds()
		if r.Unit != bench.UnitLaneInstr || r.Backend != gpu.BackendEmu || r.InputBytes != 8192 || r.Launches != 2 || r.LaneInstr <= 0 ||
			r.PerLaunch != r.Elapsed/2 || !near(r.LaneInstrPerSec, float64(2*r.LaneInstr)/secs) || !near(r.GBps, 2*8192/secs/1e9) || r.Rate() != r.LaneInstrPerSec {
			t.Errorf("emulator: %+v", r)
		}
	}
	// Twice the input, more instructions: the count is the kernel's work.
	big, err := bench.Kernels(dev, bench.KernelCase{Names: []string{"batch_reduce"}, Bytes: 16384, Budget: bench.Budget{N: 1}})
	if err != nil || len(big) != 1 || big[0].LaneInstr <= rs[0].LaneInstr {
		t.Errorf("batch_reduce on 16K: %+v, %v; on 8K it ran %d lane-instructions", big, err, rs[0].LaneInstr)
	}

	// The GPU path: events, GB/s, and the histogram that accumulates over
	// three launches checked against three times the reference.
	rs, err = bench.Kernels(fakeGPU{dev}, bench.KernelCase{Bytes: 8192, Budget: bench.Budget{N: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(rs), bench.DefaultKernels()) {
		t.Fatalf("kernels %v", names(rs))
	}
	for _, r := range rs {
		if r.Unit != bench.UnitGBps || r.Backend != gpu.BackendCUDA || r.Launches != 3 || r.LaneInstr != 0 || r.LaneInstrPerSec != 0 ||
			r.Elapsed <= 0 || r.PerLaunch != r.Elapsed/3 || !near(r.GBps, 3*8192/r.Elapsed.Seconds()/1e9) || r.Rate() != r.GBps {
			t.Errorf("GPU path: %+v", r)
		}
	}

	for _, c := range []struct {
		c    bench.KernelCase
		frag string
	}{
		{bench.KernelCase{Bytes: 1000}, "multiple of 4096"},
		{bench.KernelCase{Bytes: 0}, "multiple of 4096"},
		{bench.KernelCase{Names: []string{"lane_handoff"}, Bytes: 4096}, `"lane_handoff" is not a kernel bench measures`},
		{bench.KernelCase{Bytes: 4096, Budget: bench.Budget{N: -2}}, "negative"},
	} {
		if _, err := bench.Kernels(dev, c.c); err == nil || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("Kernels(%+v): %v, want an error with %q", c.c, err, c.frag)
		}
	}
}

func TestSizeString(t *testing.T) {
	for n, want := range map[int]string{4096: "4 KiB", 1 << 20: "1 MiB", 3 << 30: "3 GiB", 1000: "1000 B", 1536: "1536 B", 0: "0 B"} {
		if got := bench.SizeString(n); got != want {
			t.Errorf("SizeString(%d) = %q, want %q", n, got, want)
		}
	}
}

// Results survive a JSON round trip: what gpubuf bench --json prints can be
// read back and plotted.
func TestResultsJSON(t *testing.T) {
	in := sample()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"mode":"zero-copy"`) {
		t.Errorf("modes are not written by name: %.300s", b)
	}
	var out bench.Results
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Transfer == nil || !slices.Equal(out.Transfer.Results, in.Transfer.Results) || out.Transfer.Crossover != in.Transfer.Crossover ||
		!slices.Equal(out.Ring, in.Ring) || !slices.Equal(out.Kernels, in.Kernels) {
		t.Errorf("round trip changed the results:\n%+v\n%+v", in, out)
	}
	var m bench.Mode
	if err := json.Unmarshal([]byte(`"dma"`), &m); err == nil {
		t.Error("mode \"dma\" read without error")
	}
}
