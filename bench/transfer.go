package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// Mode is a way to get a message from host memory to a kernel.
type Mode int

const (
	// Pageable copies from ordinary Go memory (DeviceBuffer.CopyFromHost),
	// then launches the reader on the device buffer.
	Pageable Mode = iota
	// Staged copies from a page-locked HostBuffer on the stream
	// (Stream.CopyHtoD), then launches the reader on the device buffer.
	Staged
	// ZeroCopy launches the reader on a mapped HostBuffer: the kernel reads
	// host memory over the bus, with no copy.
	ZeroCopy
)

// Modes lists the modes in order.
func Modes() []Mode { return []Mode{Pageable, Staged, ZeroCopy} }

func (m Mode) String() string {
	switch m {
	case Pageable:
		return "pageable"
	case Staged:
		return "staged"
	case ZeroCopy:
		return "zero-copy"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// MarshalText writes the mode's name, for JSON.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads a mode's name.
func (m *Mode) UnmarshalText(b []byte) error {
	for _, x := range Modes() {
		if x.String() == string(b) {
			*m = x
			return nil
		}
	}
	return fmt.Errorf("bench: unknown transfer mode %q (want pageable, staged or zero-copy)", b)
}

// NotOnEmulator is why the transfer modes are not measured on the
// emulator.
const NotOnEmulator = "n/a on the emulator: all three modes are the same memory copy"

// TransferNA says why the transfer modes mean nothing on a device, or ""
// when they can be compared there. On the emulator device memory, mapped
// host memory and Go memory are all host memory, so the three modes are
// the same memory copy.
func TransferNA(info gpu.Info) string {
	if info.Backend == gpu.BackendEmu {
		return NotOnEmulator
	}
	return ""
}

// ReaderKernel is the memory-bound kernel every mode runs on the message:
// batch_reduce, one warp per record of ReaderRecordWords words.
const (
	ReaderKernel      = "batch_reduce"
	ReaderRecordWords = 1024
)

// TransferCase is one transfer measurement.
type TransferCase struct {
	Mode Mode
	Size int // message bytes: a positive multiple of 4
	Budget
}

// TransferResult is what Transfer measured. PerMessage is Elapsed/Messages
// (copy and kernel, from the host's point of view); GBps is
// Size*Messages per second of Elapsed in units of 10^9 bytes.
type TransferResult struct {
	Mode Mode `json:"mode"`
	Size int  `json:"size"`
	// Skipped: the device cannot run the mode (zero-copy without mapped
	// host memory); Reason says why, and nothing was measured.
	Skipped bool   `json:"skipped,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Messages timed (after one untimed warm-up), and their total time.
	Messages   int           `json:"messages"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	PerMessage time.Duration `json:"per_message_ns"`
	GBps       float64       `json:"gb_per_s"`
}

// Micros is the time per message in microseconds.
func (r TransferResult) Micros() float64 { return float64(r.PerMessage) / 1e3 }

// readerShape is how the reader kernel covers a message of size bytes:
// nrec records of recWords words, every word of the message read once.
func readerShape(size int) (nrec, recWords int) {
	words := size / 4
	recWords = min(ReaderRecordWords, words)
	for words%recWords != 0 {
		recWords--
	}
	return words / recWords, recWords
}

// launchShape is a 1-D launch of 256-thread blocks that gives each of
// units warps (or threads, when perThread) its own work, capped at eight
// blocks per SM: the kernels are grid-stride, so fewer blocks still cover
// everything.
func launchShape(info gpu.Info, units int, perThread bool) gpu.LaunchConfig {
	const block = 256
	per := block / 32
	if perThread {
		per = block
	}
	grid := (units + per - 1) / per
	grid = max(1, min(grid, 8*max(1, info.SMCount)))
	return gpu.LaunchConfig{Grid: gpu.D1(uint32(grid)), Block: gpu.D1(block)}
}

// Transfer measures one mode at one message size on dev: each message is
// moved by the mode and read whole by the reader kernel, and the host
// waits for the stream before the next. Time is wall clock around each
// message, from the copy (or launch) to the end of Synchronize. The
// kernel's output after the last message is checked against the Go
// reference. When the mode is ZeroCopy and dev cannot map host memory the
// result is Skipped, not an error.
func Transfer(dev gpu.Device, c TransferCase) (res TransferResult, err error) {
	res = TransferResult{Mode: c.Mode, Size: c.Size}
	switch {
	case c.Size <= 0 || c.Size%4 != 0:
		return res, fmt.Errorf("bench: transfer size %d: want a positive multiple of 4 bytes", c.Size)
	case !slices.Contains(Modes(), c.Mode):
		return res, fmt.Errorf("bench: unknown transfer mode %d", int(c.Mode))
	}
	if c.Budget, err = c.Budget.check(); err != nil {
		return res, err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("bench: transfer %s, %d bytes: %w", c.Mode, c.Size, err)
		}
	}()
	var cleanup []func() error
	defer func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			err = errors.Join(err, cleanup[i]())
		}
	}()

	k, err := loadKernel(dev, ReaderKernel)
	if err != nil {
		return res, err
	}
	cleanup = append(cleanup, k.Module().Close)
	stream, err := dev.NewStream()
	if err != nil {
		return res, err
	}
	cleanup = append(cleanup, stream.Close)

	nrec, recWords := readerShape(c.Size)
	words := patternWords(c.Size/4, uint64(c.Size))
	out, err := dev.Alloc(4 * 3 * nrec)
	if err != nil {
		return res, err
	}
	cleanup = append(cleanup, out.Free)

	var (
		in  any              // the kernel's input argument
		buf gpu.DeviceBuffer // Pageable, Staged
		hb  gpu.HostBuffer   // Staged, ZeroCopy
	)
	src := kernels.WordBytes(words)
	switch c.Mode {
	case Pageable, Staged:
		if buf, err = dev.Alloc(c.Size); err != nil {
			return res, err
		}
		cleanup = append(cleanup, buf.Free)
		in = buf
	}
	switch c.Mode {
	case Staged:
		if hb, err = dev.AllocHost(c.Size, 0); err != nil {
			return res, err
		}
	case ZeroCopy:
		if hb, err = dev.AllocHost(c.Size, gpu.HostMapped); err != nil {
			return res, err
		}
		if !hb.Mapped() {
			res.Skipped = true
			res.Reason = fmt.Sprintf("%s cannot map host memory into its address space", dev.Info().Name)
			return res, hb.Free()
		}
		in = hb
	}
	if hb != nil {
		cleanup = append(cleanup, hb.Free)
		copy(hb.Bytes(), src)
	}

	cfg := launchShape(dev.Info(), nrec, false)
	message := func() error {
		switch c.Mode {
		case Pageable:
			if err := buf.CopyFromHost(0, src); err != nil {
				return err
			}
		case Staged:
			if err := stream.CopyHtoD(buf, 0, hb, 0, c.Size); err != nil {
				return err
			}
		}
		if err := stream.Launch(k, cfg, in, out, uint32(nrec), uint32(recWords)); err != nil {
			return err
		}
		return stream.Synchronize()
	}
	if err := message(); err != nil { // warm-up: first-touch, module load
		return res, err
	}
	start := time.Now()
	for res.Messages = 0; c.more(res.Messages, start); res.Messages++ {
		if err := message(); err != nil {
			return res, err
		}
	}
	res.Elapsed = time.Since(start)
	res.PerMessage = res.Elapsed / time.Duration(res.Messages)
	res.GBps = rate(float64(c.Size)*float64(res.Messages), res.Elapsed) / 1e9

	got := make([]byte, out.Size())
	if err := out.CopyToHost(got, 0); err != nil {
		return res, err
	}
	if !slices.Equal(kernels.Words(got), kernels.BatchReduce(words, nrec, recWords)) {
		return res, fmt.Errorf("%s's output differs from the Go reference: the kernel did not read the message", ReaderKernel)
	}
	return res, nil
}

// TransferReport is a transfer sweep: every mode at every size, and x*.
type TransferReport struct {
	// NA says why nothing was measured (see TransferNA); the other fields
	// are then empty.
	NA      string           `json:"na,omitempty"`
	Sizes   []int            `json:"sizes,omitempty"`
	Results []TransferResult `json:"results,omitempty"` // by size, then mode
	// Crossover is x*, from FindCrossover.
	Crossover Crossover `json:"crossover"`
}

// Result returns the measurement of mode at size.
func (r TransferReport) Result(mode Mode, size int) (TransferResult, bool) {
	for _, x := range r.Results {
		if x.Mode == mode && x.Size == size {
			return x, true
		}
	}
	return TransferResult{}, false
}

// TransferSweep measures every mode at every size (sorted, duplicates
// dropped) and finds x*. On a device where the modes mean nothing
// (TransferNA) it measures nothing and returns the reason in NA.
func TransferSweep(dev gpu.Device, sizes []int, b Budget) (TransferReport, error) {
	if na := TransferNA(dev.Info()); na != "" {
		return TransferReport{NA: na}, nil
	}
	return transferSweep(dev, sizes, b)
}

func transferSweep(dev gpu.Device, sizes []int, b Budget) (TransferReport, error) {
	rep := TransferReport{Sizes: slices.Compact(slices.Sorted(slices.Values(sizes)))}
	for _, size := range rep.Sizes {
		for _, m := range Modes() {
			r, err := Transfer(dev, TransferCase{Mode: m, Size: size, Budget: b})
			if err != nil {
				return rep, err
			}
			rep.Results = append(rep.Results, r)
		}
	}
	rep.Crossover = FindCrossover(rep.Results)
	return rep, nil
}

// Crossover is x*: the smallest measured message size from which on the
// staged copy beats zero-copy, at that size and at every larger size
// measured.
type Crossover struct {
	Found bool `json:"found"`
	Size  int  `json:"size,omitempty"` // x*, when Found
	// AtSmallest: staged wins at every size measured, so x* is at or below
	// the smallest.
	AtSmallest bool `json:"at_smallest,omitempty"`
	// Why, when not Found: staged never beats zero-copy from some size
	// on up to the largest measured, or zero-copy was not measured.
	Why string `json:"why,omitempty"`
}

// FindCrossover finds x* among results (any order; sizes measured in both
// Staged and ZeroCopy count). It reports "none in the range" honestly when
// the staged copy does not beat zero-copy at the largest size measured.
func FindCrossover(results []TransferResult) Crossover {
	staged, zero := map[int]time.Duration{}, map[int]time.Duration{}
	var skipped string
	for _, r := range results {
		switch {
		case r.Skipped:
			if r.Mode == ZeroCopy {
				skipped = r.Reason
			}
		case r.Mode == Staged:
			staged[r.Size] = r.PerMessage
		case r.Mode == ZeroCopy:
			zero[r.Size] = r.PerMessage
		}
	}
	var sizes []int
	for s := range staged {
		if _, ok := zero[s]; ok {
			sizes = append(sizes, s)
		}
	}
	slices.Sort(sizes)
	if len(sizes) == 0 {
		why := "zero-copy and staged copy were not both measured at any size"
		if skipped != "" {
			why = "zero-copy not measured: " + skipped
		}
		return Crossover{Why: why}
	}
	// Walk down from the largest size while staged wins.
	i := len(sizes)
	for i > 0 && staged[sizes[i-1]] < zero[sizes[i-1]] {
		i--
	}
	if i == len(sizes) {
		return Crossover{Why: fmt.Sprintf("none in the range: zero-copy is as fast as the staged copy or faster at %s, the largest size measured", SizeString(sizes[len(sizes)-1]))}
	}
	return Crossover{Found: true, Size: sizes[i], AtSmallest: i == 0}
}

// SizeString writes a byte count with a binary suffix when it divides
// evenly: 4096 is "4 KiB", 1000 is "1000 B".
func SizeString(n int) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d %s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d B", n)
}

// loadKernel loads the PTX module that holds the catalogued kernel name
// and looks the kernel up; close its Module when done.
func loadKernel(dev gpu.Device, name string) (gpu.Kernel, error) {
	kk, ok := kernels.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("no kernel %q in the catalogue", name)
	}
	m, err := dev.LoadModule(kk.File, kk.PTX())
	if err != nil {
		return nil, err
	}
	k, err := m.Kernel(name)
	if err != nil {
		return nil, errors.Join(err, m.Close())
	}
	return k, nil
}

// patternWords is n pseudo-random words, fixed by seed.
func patternWords(n int, seed uint64) []uint32 {
	g := rand.New(rand.NewPCG(seed, 0))
	w := make([]uint32, n)
	for i := range w {
		w[i] = g.Uint32()
	}
	return w
}
