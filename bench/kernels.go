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

// BatchKernels lists the kernels Kernels measures by default: the batch
// kernels a staging ring runs on each batch.
func BatchKernels() []string {
	return []string{"batch_reduce", "batch_scan", "batch_histogram", "batch_checksum"}
}

// KernelCase is a kernel measurement.
type KernelCase struct {
	// Names are the kernels to measure, from BatchKernels; nil means all.
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
// output after n launches.
type kernelRun struct {
	name   string
	in     []byte
	outLen int // bytes
	nrec   uint32
	rec    uint32 // words (reduce, scan) or bytes (histogram, checksum)
	// perThread: one thread per record (checksum); else per warp.
	perThread bool
	verify    func(out []byte, launches int) error
}

func newKernelRun(name string, size int) (*kernelRun, error) {
	if size <= 0 || size%KernelRecordBytes != 0 {
		return nil, fmt.Errorf("bench: kernel input %d bytes: want a positive multiple of %d", size, KernelRecordBytes)
	}
	nrec := size / KernelRecordBytes
	words := patternWords(size/4, uint64(size)+uint64(len(name)))
	r := &kernelRun{name: name, in: kernels.WordBytes(words), nrec: uint32(nrec)}
	want := func(ref []uint32) func([]byte, int) error {
		return func(out []byte, _ int) error {
			if !slices.Equal(kernels.Words(out), ref) {
				return fmt.Errorf("%s's output differs from the Go reference", name)
			}
			return nil
		}
	}
	switch name {
	case "batch_reduce", "batch_scan":
		r.rec = KernelRecordBytes / 4
		if name == "batch_reduce" {
			r.outLen = 4 * 3 * nrec
			r.verify = want(kernels.BatchReduce(words, nrec, int(r.rec)))
		} else {
			r.outLen = size
			r.verify = want(kernels.BatchScan(words, nrec, int(r.rec)))
		}
	case "batch_checksum":
		r.rec, r.perThread, r.outLen = KernelRecordBytes, true, 4*nrec
		r.verify = want(kernels.BatchChecksum(r.in, nrec, KernelRecordBytes))
	case "batch_histogram":
		// The histogram accumulates over the launches.
		r.rec, r.outLen = KernelRecordBytes, 4*256
		h := kernels.BatchHistogram(r.in, nrec, KernelRecordBytes)
		r.verify = func(out []byte, launches int) error {
			got := kernels.Words(out)
			for b, n := range h {
				if got[b] != n*uint32(launches) {
					return fmt.Errorf("%s: bin %d counts %d after %d launches, the Go reference %d per launch", name, b, got[b], launches, n)
				}
			}
			return nil
		}
	default:
		return nil, fmt.Errorf("bench: %q is not a batch kernel (want one of %v)", name, BatchKernels())
	}
	return r, nil
}

// units is how many warps (or threads) the launch wants.
func (r *kernelRun) units() int {
	if r.name == "batch_histogram" {
		return (len(r.in) + 31) / 32 // a warp per 32 bytes, grid-stride
	}
	return int(r.nrec)
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
		names = BatchKernels()
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
	out, err := dev.Alloc(r.outLen)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, dev.Free(out)) }()
	if err := dev.Write(in, r.in); err != nil {
		return res, err
	}
	shape := launchShape(gpu.Info{SMCount: 1}, r.units(), r.perThread)
	cfg := cpuemu.LaunchConfig{
		Grid:  cpuemu.Dim3{X: shape.Grid.X, Y: 1, Z: 1},
		Block: cpuemu.Dim3{X: shape.Block.X, Y: 1, Z: 1},
	}
	// A warm-up launch, not timed; the histogram then starts from zero.
	if _, err := m.Launch(dev, r.name, cfg, in, out, r.nrec, r.rec); err != nil {
		return res, err
	}
	if err := dev.Memset(out, 0, r.outLen); err != nil {
		return res, err
	}
	start := time.Now()
	for res.Launches = 0; b.more(res.Launches, start); res.Launches++ {
		lr, err := m.Launch(dev, r.name, cfg, in, out, r.nrec, r.rec)
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
	got := make([]byte, r.outLen)
	if err := dev.Read(got, out); err != nil {
		return res, err
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
	out, err := dev.Alloc(r.outLen)
	if err != nil {
		return res, err
	}
	cleanup = append(cleanup, out.Free)
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
	cfg := launchShape(dev.Info(), r.units(), r.perThread)
	launch := func() (time.Duration, error) {
		if err := stream.Record(ev[0]); err != nil {
			return 0, err
		}
		if err := stream.Launch(k, cfg, in, out, r.nrec, r.rec); err != nil {
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
	if err := out.Memset(0, r.outLen, 0); err != nil {
		return res, err
	}
	start := time.Now()
	for res.Launches = 0; b.more(res.Launches, start); res.Launches++ {
		d, err := launch()
		if err != nil {
			return res, err
		}
		res.Elapsed += d
	}
	got := make([]byte, r.outLen)
	if err := out.CopyToHost(got, 0); err != nil {
		return res, err
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
