package host

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
)

// records makes n records of size bytes from a seeded generator.
func records(seed uint64, n, size int) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n*size)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// runPipeline pushes in through a pipeline and returns its results in the
// order they arrived.
func runPipeline(t *testing.T, opts PipelineOptions, in []byte) []Result {
	t.Helper()
	p, err := NewPipeline(openEmu(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	pushErr := make(chan error, 1)
	go func() {
		err := p.Push(context.Background(), in)
		pushErr <- errors.Join(err, p.Close())
	}()
	var got []Result
	for r := range p.Results() {
		got = append(got, r)
	}
	if err := <-pushErr; err != nil {
		t.Fatal(err)
	}
	return got
}

// reassemble checks results cover the records 0..n-1 exactly once each
// and returns their outputs joined in record order.
func reassemble(t *testing.T, res []Result, nrec int, ordered bool) [][]byte {
	t.Helper()
	byFirst := map[uint64]Result{}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("batch %d: %v", r.Seq, r.Err)
		}
		if ordered && r.Seq != uint64(i) {
			t.Fatalf("result %d has Seq %d: out of order", i, r.Seq)
		}
		if _, dup := byFirst[r.FirstRecord]; dup {
			t.Fatalf("two results start at record %d", r.FirstRecord)
		}
		byFirst[r.FirstRecord] = r
	}
	var outs [][]byte
	for next := uint64(0); next < uint64(nrec); {
		r, ok := byFirst[next]
		if !ok {
			t.Fatalf("no result starts at record %d", next)
		}
		outs = append(outs, r.Out)
		next += uint64(r.Records)
		delete(byFirst, r.FirstRecord)
	}
	if len(byFirst) != 0 {
		t.Fatalf("%d results past the last record", len(byFirst))
	}
	return outs
}

func TestPipelineKernelsMatchReferences(t *testing.T) {
	for _, k := range BatchKernels() {
		for _, zc := range []bool{false, true} {
			name := k.Spec.Name
			if zc {
				name += "/zerocopy"
			}
			t.Run(name, func(t *testing.T) {
				const recSize, nrec = 96, 300 // 96 bytes = 24 words
				in := records(1, nrec, recSize)
				// 1000-byte slots hold 10 records: 30 batches, the last full.
				res := runPipeline(t, PipelineOptions{
					Stages: []KernelSpec{k.Spec}, RecordSize: recSize, SlotSize: 1000,
					Slots: 3, Streams: 2, ZeroCopy: zc,
				}, in)
				if len(res) != 30 {
					t.Fatalf("%d results, want 30", len(res))
				}
				outs := reassemble(t, res, nrec, true)
				for i, out := range outs {
					batch := in[i*10*recSize : (i+1)*10*recSize]
					if want := k.Reference(batch, recSize); !bytes.Equal(out, want) {
						t.Fatalf("batch %d: out differs from the Go reference", i)
					}
				}
			})
		}
	}
}

// TestChecksumAgainstStdlib checks the checksum stage against hash/crc32
// directly, not through the package's own reference table.
func TestChecksumAgainstStdlib(t *testing.T) {
	k, err := BatchKernel("batch_checksum")
	if err != nil {
		t.Fatal(err)
	}
	in := []byte("123456789abcdefgh") // two records of 9 bytes would need 18
	in = append(in, 'i')
	res := runPipeline(t, PipelineOptions{Stages: []KernelSpec{k.Spec}, RecordSize: 9}, in)
	if len(res) != 1 || res[0].Records != 2 {
		t.Fatalf("results %+v", res)
	}
	w := Words(res[0].Out)
	if w[0] != 0xE3069283 { // the CRC-32C check value of "123456789"
		t.Errorf("crc of 123456789 = %#x, want 0xE3069283", w[0])
	}
	if want := crc32.Checksum([]byte("abcdefghi"), crc32.MakeTable(crc32.Castagnoli)); w[1] != want {
		t.Errorf("crc of abcdefghi = %#x, want %#x", w[1], want)
	}
}

// TestTwoStages chains batch_scan into batch_reduce: the reduce of each
// record's prefix sums has the record's total as its max (for records
// whose sum does not wrap) and the sum of the prefix sums as its sum.
func TestTwoStages(t *testing.T) {
	scan, _ := BatchKernel("batch_scan")
	red, _ := BatchKernel("batch_reduce")
	const recWords, nrec = 8, 40
	in := make([]byte, 4*recWords*nrec)
	for r := range nrec {
		for i := range recWords {
			binary.LittleEndian.PutUint32(in[4*(r*recWords+i):], uint32(r+i+1))
		}
	}
	res := runPipeline(t, PipelineOptions{Stages: []KernelSpec{scan.Spec, red.Spec}, RecordSize: 4 * recWords, SlotSize: 4 * recWords * 16}, in)
	outs := reassemble(t, res, nrec, true)
	var all []uint32
	for _, o := range outs {
		all = append(all, Words(o)...)
	}
	if len(all) != 3*nrec {
		t.Fatalf("%d words, want %d", len(all), 3*nrec)
	}
	for r := range nrec {
		// Record r is r+1, r+2, ..., r+8; prefix sums p_i = i*r + i(i+1)/2.
		var sum, total uint32
		for i := 1; i <= recWords; i++ {
			p := uint32(i*r + i*(i+1)/2)
			sum += p
			total = p
		}
		lo := uint32(r + 1)
		if got := all[3*r : 3*r+3]; got[0] != sum || got[1] != lo || got[2] != total {
			t.Fatalf("record %d: {sum,min,max} = %v, want {%d,%d,%d}", r, got, sum, lo, total)
		}
	}
}

func TestPipelineUnorderedAndSink(t *testing.T) {
	k, _ := BatchKernel("batch_reduce")
	const recSize, nrec = 64, 200
	in := records(3, nrec, recSize)
	var got []Result
	p, err := NewPipeline(openEmu(t), PipelineOptions{
		Stages: []KernelSpec{k.Spec}, RecordSize: recSize, SlotSize: 7 * recSize,
		Order: Unordered, Streams: 3, Slots: 5,
		Sink: func(r Result) { got = append(got, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Results() != nil {
		t.Fatal("Results() is not nil with a Sink")
	}
	if err := p.Push(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	outs := reassemble(t, got, nrec, false)
	var first uint64
	for i, o := range outs {
		n := min(7, nrec-int(first))
		want := k.Reference(in[int(first)*recSize:(int(first)+n)*recSize], recSize)
		if !bytes.Equal(o, want) {
			t.Fatalf("batch %d differs from the reference", i)
		}
		first += uint64(n)
	}
}

func TestPipelineFill(t *testing.T) {
	k, _ := BatchKernel("batch_checksum")
	p, err := NewPipeline(openEmu(t), PipelineOptions{Stages: []KernelSpec{k.Spec}, RecordSize: 4, SlotSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Fill(ctx, 0, func(b []byte) (int, error) { copy(b, "abcdefgh"); return 2, nil }); err != nil {
		t.Fatal(err)
	}
	if err := p.Fill(ctx, 0, func(b []byte) (int, error) { panic("producer bug") }); err == nil || !strings.Contains(err.Error(), "producer bug") {
		t.Fatalf("panicking fill: err = %v", err)
	}
	if err := p.Fill(ctx, 0, func(b []byte) (int, error) { return 5, nil }); err == nil || !strings.Contains(err.Error(), "want 0..4") {
		t.Fatalf("fill of too many records: err = %v", err)
	}
	if err := p.Fill(ctx, 1, func(b []byte) (int, error) { copy(b, "wxyz"); return 1, nil }); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	tab := crc32.MakeTable(crc32.Castagnoli)
	var res []Result
	for r := range p.Results() {
		res = append(res, r)
	}
	if len(res) != 2 || res[0].FirstRecord != 0 || res[0].Records != 2 || res[1].FirstRecord != 2 || res[1].Records != 1 {
		t.Fatalf("results %+v", res)
	}
	if w := Words(res[0].Out); w[0] != crc32.Checksum([]byte("abcd"), tab) || w[1] != crc32.Checksum([]byte("efgh"), tab) {
		t.Errorf("first batch %x", w)
	}
	if w := Words(res[1].Out); w[0] != crc32.Checksum([]byte("wxyz"), tab) {
		t.Errorf("second batch %x", w)
	}
}

func TestPipelineBadOptions(t *testing.T) {
	dev := openEmu(t)
	red, _ := BatchKernel("batch_reduce")
	cases := []struct {
		opts PipelineOptions
		want string
	}{
		{PipelineOptions{RecordSize: 4}, "no Stages"},
		{PipelineOptions{Stages: []KernelSpec{red.Spec}}, "RecordSize 0"},
		{PipelineOptions{Stages: []KernelSpec{red.Spec}, RecordSize: -4}, "RecordSize -4"},
		{PipelineOptions{Stages: []KernelSpec{red.Spec}, RecordSize: 64, SlotSize: 32}, "smaller than one 64-byte record"},
		{PipelineOptions{Stages: []KernelSpec{red.Spec}, RecordSize: 6}, "not a multiple of 4"},
		{PipelineOptions{Stages: []KernelSpec{{Name: "x"}}, RecordSize: 4}, "no PTX"},
		{PipelineOptions{Stages: []KernelSpec{{Name: "nope", PTX: red.Spec.PTX, Unit: 4, OutPerRecord: 4}}, RecordSize: 4}, "nope"},
		{PipelineOptions{Stages: []KernelSpec{red.Spec}, RecordSize: 4, Slots: -1}, "Slots -1"},
		{PipelineOptions{Stages: []KernelSpec{red.Spec}, RecordSize: 4, Slots: 1 << 40}, "Slots 1099511627776: want 1..65536"},
		{PipelineOptions{Stages: []KernelSpec{red.Spec}, RecordSize: 4, Results: 1 << 40}, "Results 1099511627776: want 1..131072"},
		{PipelineOptions{Stages: []KernelSpec{red.Spec}, RecordSize: 4, Depth: 1 << 40}, "Depth 1099511627776: want 1..65536"},
	}
	for _, c := range cases {
		p, err := NewPipeline(dev, c.opts)
		if err == nil {
			p.Close()
			t.Errorf("%+v: no error", c.opts)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %q does not say %q", err, c.want)
		}
	}
	p, err := NewPipeline(dev, PipelineOptions{Stages: []KernelSpec{red.Spec}, RecordSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Push(context.Background(), make([]byte, 12)); err == nil || !strings.Contains(err.Error(), "not a whole number of 8-byte records (4 left over)") {
		t.Errorf("Push of 12 bytes: %v", err)
	}
}

// gridSpy is a device of a given backend and SM count whose streams
// report every launch's grid.
type gridSpy struct {
	gpu.Device
	backend string
	sms     int
	mu      *sync.Mutex
	grid    *[]uint32
}

func (d gridSpy) Info() gpu.Info {
	in := d.Device.Info()
	in.Backend, in.SMCount = d.backend, d.sms
	return in
}

func (d gridSpy) NewStream() (gpu.Stream, error) {
	s, err := d.Device.NewStream()
	return gridSpyStream{s, d}, err
}

type gridSpyStream struct {
	gpu.Stream
	d gridSpy
}

func (s gridSpyStream) Launch(k gpu.Kernel, cfg gpu.LaunchConfig, args ...any) error {
	s.d.mu.Lock()
	*s.d.grid = append(*s.d.grid, cfg.Grid.X)
	s.d.mu.Unlock()
	return s.Stream.Launch(k, cfg, args...)
}

// TestPipelineGrid: a stage's grid is a warp a record, 128 threads a block,
// capped by default at 8 blocks for each processor that runs them (a GPU's
// SMs; on the emulator, whatever SM count it reports, the GOMAXPROCS
// goroutines that run its blocks, each block set up anew), or at the
// spec's MaxBlocks; the output is the same whatever the grid.
func TestPipelineGrid(t *testing.T) {
	reduce, err := BatchKernel("batch_reduce")
	if err != nil {
		t.Fatal(err)
	}
	const recSize = 64
	// Slots of 4096 records (1024 blocks uncapped), then 10 (3 blocks).
	const nrec = 4096 + 10
	in := records(3, nrec, recSize)
	emuCap := uint32(min(8*runtime.GOMAXPROCS(0), 1024))
	for _, c := range []struct {
		backend        string
		sms, maxBlocks int
		want           []uint32
	}{
		{gpu.BackendEmu, 132, 0, []uint32{emuCap, 3}}, // the emulator's SM count, not its goroutines
		{gpu.BackendCUDA, 3, 0, []uint32{24, 3}},      // 8 per SM
		{gpu.BackendCUDA, 0, 0, []uint32{8, 3}},       // a device that does not say
		{gpu.BackendCUDA, 200, 0, []uint32{1024, 3}},  // the cap is above what the batch needs
		{gpu.BackendCUDA, 3, 5, []uint32{5, 3}},       // the spec's own cap
	} {
		t.Run(fmt.Sprintf("%s,sms=%d,max=%d", c.backend, c.sms, c.maxBlocks), func(t *testing.T) {
			var (
				mu   sync.Mutex
				grid []uint32
			)
			dev := gridSpy{Device: openEmu(t), backend: c.backend, sms: c.sms, mu: &mu, grid: &grid}
			spec := reduce.Spec
			spec.MaxBlocks = c.maxBlocks
			p, err := NewPipeline(dev, PipelineOptions{Stages: []KernelSpec{spec}, RecordSize: recSize, SlotSize: 4096 * recSize, Slots: 2, Streams: 1})
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				if err := p.Push(context.Background(), in); err != nil {
					t.Error(err)
				}
				if err := p.Close(); err != nil {
					t.Error(err)
				}
			}()
			var res []Result
			for r := range p.Results() {
				res = append(res, r)
			}
			outs := reassemble(t, res, nrec, true)
			if want := reduce.Reference(in, recSize); !bytes.Equal(bytes.Join(outs, nil), want) {
				t.Error("output differs from the Go reference")
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(grid, c.want) {
				t.Errorf("grids %v, want %v", grid, c.want)
			}
		})
	}
}

// TestPipelineCloseIgnoresIdleConsumer: Close and Abort return while the
// consumer reads nothing from Results, with more results pending than its
// buffer holds, and every result stays readable afterwards, in order:
// none is dropped. Each call runs under a limit that fails the test
// rather than hanging it.
func TestPipelineCloseIgnoresIdleConsumer(t *testing.T) {
	k, err := BatchKernel("batch_checksum")
	if err != nil {
		t.Fatal(err)
	}
	const rs, perBatch, batches = 64, 4, 5
	in := records(11, perBatch*batches, rs)
	for _, abort := range []bool{false, true} {
		// Results holds 1; the other 4 wait in the ring (2 slots, depth
		// 2, and its completion queue of 4) and the goroutine that
		// delivers them.
		p, err := NewPipeline(openEmu(t), PipelineOptions{
			Stages: []KernelSpec{k.Spec}, RecordSize: rs, SlotSize: perBatch * rs, Slots: 2, Results: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Push(rtCtx(t), in); err != nil {
			t.Fatalf("abort %v: Push of %d batches with nobody reading: %v", abort, batches, err)
		}
		var aborted []Batch
		done := make(chan error, 1)
		go func() {
			if abort {
				var err error
				aborted, err = p.Abort()
				done <- err
				return
			}
			done <- p.Close()
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("abort %v: %v", abort, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("abort %v: Close/Abort has not returned after 10 s: it waits for a consumer that reads nothing", abort)
		}
		// Every batch's result is still there, in submission order, and
		// Results is closed after the last.
		var got []Result
		timeout := time.After(10 * time.Second)
	read:
		for {
			select {
			case r, ok := <-p.Results():
				if !ok {
					break read
				}
				got = append(got, r)
			case <-timeout:
				t.Fatalf("abort %v: Results not closed 10 s after Close, %d results read", abort, len(got))
			}
		}
		if len(got) != batches {
			t.Fatalf("abort %v: %d results after Close, want %d: results were dropped", abort, len(got), batches)
		}
		cancelled := map[uint64]bool{}
		for _, b := range aborted {
			cancelled[b.Seq] = true
		}
		for i, r := range got {
			if r.Seq != uint64(i) || r.FirstRecord != uint64(i*perBatch) || r.Records != perBatch {
				t.Errorf("abort %v: result %d is batch %d, records %d+%d; want batch %d, records %d+%d", abort, i, r.Seq, r.FirstRecord, r.Records, i, i*perBatch, perBatch)
			}
			switch {
			case cancelled[r.Seq]:
				if !errors.Is(r.Err, ErrAborted) {
					t.Errorf("abort %v: batch %d, cancelled by Abort, has error %v; want ErrAborted", abort, r.Seq, r.Err)
				}
			case r.Err != nil:
				t.Errorf("abort %v: batch %d: %v", abort, r.Seq, r.Err)
			default:
				// The kernel's Go reference, as the other pipeline tests.
				want := k.Reference(in[i*perBatch*rs:(i+1)*perBatch*rs], rs)
				if !bytes.Equal(r.Out, want) {
					t.Errorf("abort %v: batch %d's output differs from the reference", abort, r.Seq)
				}
			}
		}
		if !abort && len(aborted) != 0 {
			t.Errorf("Close cancelled %d batches", len(aborted))
		}
	}
}
