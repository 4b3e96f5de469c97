package bench

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// KernelRecordBytes is the record size of the batch kernels' inputs:
// 1024-word records for batch_reduce and batch_scan, 4096-byte records for
// batch_histogram and batch_checksum.
const KernelRecordBytes = 4096

// BatchKernels lists the batch kernels a staging ring runs on each batch.
func BatchKernels() []string {
	return []string{"batch_reduce", "batch_scan", "batch_histogram", "batch_checksum"}
}

// PipelineKernels lists the warp-specialised producer/consumer kernels on
// mbarriers: async_pipeline (cp.async into PipelineStages stages of
// PipelineTileWords-word tiles) and warp_specialized_barrier (256-word
// tiles in WarpSpecializedStages stages), each in blocks of
// PipelineBlock threads.
func PipelineKernels() []string {
	return []string{"async_pipeline", "warp_specialized_barrier"}
}

// The pipeline kernels' launch: one producer warp and three consumer
// warps a block, async_pipeline's tiles one record each.
const (
	PipelineBlock         = 128
	PipelineTileWords     = KernelRecordBytes / 4
	PipelineStages        = 4
	WarpSpecializedStages = 3
	pipelineLatency       = 5 // async_pipeline's logical clock: any values do
	pipelineWork          = 2
)

// DefaultKernels lists the kernels Kernels measures by default: the batch
// kernels, then the pipeline kernels.
func DefaultKernels() []string { return append(BatchKernels(), PipelineKernels()...) }

// KernelCase is a kernel measurement.
type KernelCase struct {
	// Names are the kernels to measure, from DefaultKernels; nil means
	// all.
	Names []string
	// Bytes is the input of one launch: a positive multiple of
	// KernelRecordBytes.
	Bytes int
	Budget
}

// Units of KernelResult.Rate.
const (
	UnitLaneInstr = "lane-instr/s"
	UnitGBps      = "GB/s"
)

// KernelResult is what Kernels measured of one kernel. PerLaunch is
// Elapsed/Launches; GBps is InputBytes*Launches per second of Elapsed in
// units of 10^9 bytes; LaneInstrPerSec is LaneInstr*Launches per second
// of Elapsed.
type KernelResult struct {
	Kernel     string `json:"kernel"`
	InputBytes int    `json:"input_bytes"`
	// Backend is "emu" when the kernel ran in cpuemu directly, else the
	// device's backend.
	Backend string `json:"backend"`
	// Unit is the rate that means something on the backend:
	// UnitLaneInstr on the emulator, UnitGBps on a GPU.
	Unit     string        `json:"unit"`
	Launches int           `json:"launches"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	// PerLaunch is the mean time of one launch: wall clock on the
	// emulator, the device's event timing on a GPU.
	PerLaunch time.Duration `json:"per_launch_ns"`
	GBps      float64       `json:"gb_per_s"`
	// LaneInstr is the lane-instructions of one launch (emulator only).
	LaneInstr       int64   `json:"lane_instr,omitempty"`
	LaneInstrPerSec float64 `json:"lane_instr_per_s,omitempty"`
}

// Rate is the result in its Unit.
func (r KernelResult) Rate() float64 {
	if r.Unit == UnitLaneInstr {
		return r.LaneInstrPerSec
	}
	return r.GBps
}

// kernelRun is one kernel's launch with its inputs and the check of its
// output after n launches. Its parameters are the input buffer, the
// output buffers and then the .u32 scalars, in that order, as every
// kernel Kernels measures declares them.
type kernelRun struct {
	name    string
	in      []byte
	outLens []int    // bytes of each output buffer
	scalars []uint32 // after the buffers
	// shape is the launch on a device with info's processors; cfg the
	// one the measurement chose with it.
	shape  func(info gpu.Info) gpu.LaunchConfig
	cfg    gpu.LaunchConfig
	verify func(outs [][]byte, launches int) error
}

func newKernelRun(name string, size int) (*kernelRun, error) {
	if size <= 0 || size%KernelRecordBytes != 0 {
		return nil, fmt.Errorf("bench: kernel input %d bytes: want a positive multiple of %d", size, KernelRecordBytes)
	}
	nrec := size / KernelRecordBytes
	words := patternWords(size/4, uint64(size)+uint64(len(name)))
	r := &kernelRun{name: name, in: kernels.WordBytes(words)}
	want := func(refs ...[]uint32) func([][]byte, int) error {
		return func(outs [][]byte, _ int) error {
			for i, ref := range refs {
				if !slices.Equal(kernels.Words(outs[i]), ref) {
					return fmt.Errorf("%s's output %d differs from the Go reference", name, i)
				}
			}
			return nil
		}
	}
	// The batch kernels: (in, out, nrec, rec), a warp per record but for
	// batch_checksum's thread per record, and batch_histogram's warp per
	// 32 bytes (grid-stride).
	batch := func(rec, outLen, units int, perThread bool) {
		r.outLens, r.scalars = []int{outLen}, []uint32{uint32(nrec), uint32(rec)}
		r.shape = func(info gpu.Info) gpu.LaunchConfig { return launchShape(info, units, perThread) }
	}
	// The pipeline kernels: blocks of a producer warp and three consumer
	// warps, as many as there are tiles, up to 8 per processor.
	pipeline := func(tiles int) {
		r.shape = func(info gpu.Info) gpu.LaunchConfig {
			grid := max(1, min(tiles, 8*max(1, info.SMCount)))
			return gpu.LaunchConfig{Grid: gpu.D1(uint32(grid)), Block: gpu.D1(PipelineBlock)}
		}
	}
	switch name {
	case "batch_reduce":
		batch(KernelRecordBytes/4, 4*3*nrec, nrec, false)
		r.verify = want(kernels.BatchReduce(words, nrec, KernelRecordBytes/4))
	case "batch_scan":
		batch(KernelRecordBytes/4, size, nrec, false)
		r.verify = want(kernels.BatchScan(words, nrec, KernelRecordBytes/4))
	case "batch_checksum":
		batch(KernelRecordBytes, 4*nrec, nrec, true)
		r.verify = want(kernels.BatchChecksum(r.in, nrec, KernelRecordBytes))
	case "batch_histogram":
		// The histogram accumulates over the launches.
		batch(KernelRecordBytes, 4*256, (len(r.in)+31)/32, false)
		h := kernels.BatchHistogram(r.in, nrec, KernelRecordBytes)
		r.verify = func(outs [][]byte, launches int) error {
			got := kernels.Words(outs[0])
			for b, n := range h {
				if got[b] != n*uint32(launches) {
					return fmt.Errorf("%s: bin %d counts %d after %d launches, the Go reference %d per launch", name, b, got[b], launches, n)
				}
			}
			return nil
		}
	case "async_pipeline":
		// (in, sums, timeline, ntiles, tile_words, stages, latency, work):
		// a record a tile.
		tiles := nrec
		pipeline(tiles)
		r.outLens = []int{4 * 3 * tiles, 4 * 2 * tiles}
		r.scalars = []uint32{uint32(tiles), PipelineTileWords, PipelineStages, pipelineLatency, pipelineWork}
		sums := kernels.BatchReduce(words, tiles, PipelineTileWords)
		r.verify = func(outs [][]byte, launches int) error {
			// The timeline depends on the grid, which the device chose.
			return want(sums, kernels.AsyncPipelineTimeline(tiles, int(r.cfg.Grid.X), PipelineStages, pipelineLatency, pipelineWork))(outs, launches)
		}
	case "warp_specialized_barrier":
		// (in, out, row_sums, ntiles, stages): 256-word tiles.
		tiles := size / 4 / kernels.TileWords
		pipeline(tiles)
		out, sums := kernels.WarpSpecialized(words)
		r.outLens = []int{size, 4 * tiles * kernels.TileRows}
		r.scalars = []uint32{uint32(tiles), WarpSpecializedStages}
		r.verify = want(out, sums)
	default:
		return nil, fmt.Errorf("bench: %q is not a kernel bench measures (want one of %v)", name, DefaultKernels())
	}
	return r, nil
}

// args are the launch's arguments: in, the outputs, the scalars.
func (r *kernelRun) args(in any, outs []any) []any {
	a := append([]any{in}, outs...)
	for _, v := range r.scalars {
		a = append(a, v)
	}
	return a
}

// Kernels measures each kernel c names on c.Bytes of input per launch, one
// launch after another, and checks its output against the Go reference.
// On the emulator (dev's backend "emu") the kernels run in cpuemu
// directly, under the lockstep scheduler, which counts their
// lane-instructions; the rate is lane-instr/s. On a GPU they run on dev,
// each launch timed by events, and the rate is GB/s of input.
func Kernels(dev gpu.Device, c KernelCase) ([]KernelResult, error) {
	names := c.Names
	if names == nil {
		names = DefaultKernels()
	}
	b, err := c.Budget.check()
	if err != nil {
		return nil, err
	}
	var out []KernelResult
	for _, name := range names {
		run, err := newKernelRun(name, c.Bytes)
		if err != nil {
			return out, err
		}
		var r KernelResult
		if dev.Info().Backend == gpu.BackendEmu {
			r, err = run.emulate(b)
		} else {
			r, err = run.onDevice(dev, b)
		}
		if err != nil {
			return out, fmt.Errorf("bench: kernel %s on %d bytes: %w", name, c.Bytes, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// emulate runs the kernel in cpuemu, timing each launch by wall clock.
func (r *kernelRun) emulate(b Budget) (res KernelResult, err error) {
	res = KernelResult{Kernel: r.name, InputBytes: len(r.in), Backend: gpu.BackendEmu, Unit: UnitLaneInstr}
	kk, _ := kernels.Lookup(r.name)
	m, err := cpuemu.Load(kk.File, kk.PTX())
	if err != nil {
		return res, err
	}
	dev := cpuemu.NewDevice()
	defer dev.ReleaseModule(m)
	in, err := dev.Alloc(len(r.in))
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, dev.Free(in)) }()
	outs := make([]any, len(r.outLens))
	for i, n := range r.outLens {
		out, aerr := dev.Alloc(n)
		if aerr != nil {
			return res, aerr
		}
		defer func() { err = errors.Join(err, dev.Free(out)) }()
		outs[i] = out
	}
	if err := dev.Write(in, r.in); err != nil {
		return res, err
	}
	r.cfg = r.shape(gpu.Info{SMCount: 1})
	cfg := cpuemu.LaunchConfig{
		Grid:  cpuemu.Dim3{X: r.cfg.Grid.X, Y: 1, Z: 1},
		Block: cpuemu.Dim3{X: r.cfg.Block.X, Y: 1, Z: 1},
	}
	args := r.args(in, outs)
	// A warm-up launch, not timed; the histogram then starts from zero.
	if _, err := m.Launch(dev, r.name, cfg, args...); err != nil {
		return res, err
	}
	for i, out := range outs {
		if err := dev.Memset(out.(cpuemu.DevicePtr), 0, r.outLens[i]); err != nil {
			return res, err
		}
	}
	start := time.Now()
	for res.Launches = 0; b.more(res.Launches, start); res.Launches++ {
		lr, err := m.Launch(dev, r.name, cfg, args...)
		if err != nil {
			return res, err
		}
		if res.Launches == 0 {
			res.LaneInstr = lr.LaneInstructions
		} else if lr.LaneInstructions != res.LaneInstr {
			return res, fmt.Errorf("launch %d ran %d lane-instructions, the first %d: the same launch should count the same", res.Launches, lr.LaneInstructions, res.LaneInstr)
		}
	}
	res.Elapsed = time.Since(start)
	got := make([][]byte, len(outs))
	for i, out := range outs {
		got[i] = make([]byte, r.outLens[i])
		if err := dev.Read(got[i], out.(cpuemu.DevicePtr)); err != nil {
			return res, err
		}
	}
	if err := r.verify(got, res.Launches); err != nil {
		return res, err
	}
	res.finish()
	return res, nil
}

// onDevice runs the kernel on dev, timing each launch with events.
func (r *kernelRun) onDevice(dev gpu.Device, b Budget) (res KernelResult, err error) {
	res = KernelResult{Kernel: r.name, InputBytes: len(r.in), Backend: dev.Info().Backend, Unit: UnitGBps}
	var cleanup []func() error
	defer func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			err = errors.Join(err, cleanup[i]())
		}
	}()
	k, err := loadKernel(dev, r.name)
	if err != nil {
		return res, err
	}
	cleanup = append(cleanup, k.Module().Close)
	in, err := dev.Alloc(len(r.in))
	if err != nil {
		return res, err
	}
	cleanup = append(cleanup, in.Free)
	outs := make([]gpu.DeviceBuffer, len(r.outLens))
	for i, n := range r.outLens {
		if outs[i], err = dev.Alloc(n); err != nil {
			return res, err
		}
		cleanup = append(cleanup, outs[i].Free)
	}
	outArgs := make([]any, len(outs))
	for i, o := range outs {
		outArgs[i] = o
	}
	args := r.args(in, outArgs)
	if err := in.CopyFromHost(0, r.in); err != nil {
		return res, err
	}
	stream, err := dev.NewStream()
	if err != nil {
		return res, err
	}
	cleanup = append(cleanup, stream.Close)
	var ev [2]gpu.Event
	for i := range ev {
		if ev[i], err = dev.NewEvent(); err != nil {
			return res, err
		}
		cleanup = append(cleanup, ev[i].Close)
	}
	r.cfg = r.shape(dev.Info())
	cfg := r.cfg
	launch := func() (time.Duration, error) {
		if err := stream.Record(ev[0]); err != nil {
			return 0, err
		}
		if err := stream.Launch(k, cfg, args...); err != nil {
			return 0, err
		}
		if err := stream.Record(ev[1]); err != nil {
			return 0, err
		}
		if err := ev[1].Synchronize(); err != nil {
			return 0, err
		}
		return ev[1].Elapsed(ev[0])
	}
	// A warm-up launch, not timed; the histogram then starts from zero.
	if _, err := launch(); err != nil {
		return res, err
	}
	for i, out := range outs {
		if err := out.Memset(0, r.outLens[i], 0); err != nil {
			return res, err
		}
	}
	start := time.Now()
	for res.Launches = 0; b.more(res.Launches, start); res.Launches++ {
		d, err := launch()
		if err != nil {
			return res, err
		}
		res.Elapsed += d
	}
	got := make([][]byte, len(outs))
	for i, out := range outs {
		got[i] = make([]byte, r.outLens[i])
		if err := out.CopyToHost(got[i], 0); err != nil {
			return res, err
		}
	}
	if err := r.verify(got, res.Launches); err != nil {
		return res, err
	}
	res.finish()
	return res, nil
}

func (res *KernelResult) finish() {
	if res.Launches > 0 {
		res.PerLaunch = res.Elapsed / time.Duration(res.Launches)
	}
	res.GBps = rate(float64(res.InputBytes)*float64(res.Launches), res.Elapsed) / 1e9
	if res.LaneInstr > 0 {
		res.LaneInstrPerSec = rate(float64(res.LaneInstr)*float64(res.Launches), res.Elapsed)
	}
}
