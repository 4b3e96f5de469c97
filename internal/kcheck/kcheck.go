// Package kcheck runs each catalogued kernel on the emulator with generated
// inputs and checks its outputs against the Go reference in kernels/ref.go.
// The demo command and the benchmarks use it. With the race and sync
// checker on (Checker.Race, or CheckRaced) it also checks what the checker
// reports: nothing for a correct kernel, a hazard for a racy twin.
package kcheck

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/kernels"
)

// Report is the outcome of one checked launch.
type Report struct {
	Kernel           string
	Schedule         string
	Threads          int64
	LaneInstructions int64
	Elapsed          time.Duration
	// OK: the output equals the reference (correct kernels), or the
	// expected failure showed (racy twins: a wrong output; divergent: a
	// deadlock). With the checker on, a correct kernel must also have a
	// clean report, and a racy twin is OK when the checker reports a
	// hazard, whatever its output.
	OK          bool
	Detail      string
	Err         error               // the launch error, if any
	Diagnostics []cpuemu.Diagnostic // undefined behaviour the launch ran into
	// Raced says the launch ran with the race and sync checker on; Race is
	// then its report (nil only when the launch did not start).
	Raced bool
	Race  *cpuemu.Report
}

// LaneInstrPerSec is the emulator's speed on this launch.
func (r Report) LaneInstrPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.LaneInstructions) / r.Elapsed.Seconds()
}

// Schedule is a scheduler with its seed.
type Schedule = cpuemu.Schedule

// Size scales the demo inputs: 1 is the demo's default.
type Size int

// Checker holds loaded modules, one device, and the input size. Its
// methods may be called concurrently; launches on its device take turns.
type Checker struct {
	Size Size
	// Race turns the race and sync checker on for Check and FindFailure
	// (cpuemu.LaunchConfig.Check); set it before use.
	Race    bool
	dev     *cpuemu.Device
	modules map[string]*cpuemu.Module
}

// New loads every embedded PTX file.
func New(size Size) (*Checker, error) {
	if size < 1 {
		return nil, fmt.Errorf("kcheck: size %d must be at least 1", size)
	}
	c := &Checker{Size: size, dev: cpuemu.NewDevice(), modules: map[string]*cpuemu.Module{}}
	for _, f := range kernels.Files() {
		src, err := kernels.ReadFile(f)
		if err != nil {
			return nil, err
		}
		m, err := cpuemu.Load(f, src)
		if err != nil {
			return nil, err
		}
		c.modules[f] = m
	}
	return c, nil
}

// Module returns the loaded module that holds kernel.
func (c *Checker) Module(kernel string) (*cpuemu.Module, error) {
	k, ok := kernels.Lookup(kernel)
	if !ok {
		return nil, fmt.Errorf("unknown kernel %q", kernel)
	}
	return c.modules[k.File], nil
}

// Check runs kernel once under s and compares with the reference, with
// the race and sync checker on when c.Race is set.
func (c *Checker) Check(kernel string, s Schedule) Report { return c.check(kernel, s, c.Race) }

// CheckRaced is Check with the race and sync checker on, whatever c.Race
// says: Report.Race holds what it found.
func (c *Checker) CheckRaced(kernel string, s Schedule) Report { return c.check(kernel, s, true) }

func (c *Checker) check(kernel string, s Schedule, race bool) Report {
	rep := Report{Kernel: kernel, Schedule: s.String(), Raced: race}
	k, ok := kernels.Lookup(kernel)
	if !ok {
		rep.Err = fmt.Errorf("unknown kernel %q", kernel)
		return rep
	}
	m := c.modules[k.File]
	var bufs []cpuemu.DevicePtr
	alloc := func(b []byte) cpuemu.DevicePtr {
		p, err := c.dev.Alloc(max(len(b), 4))
		if err == nil {
			err = c.dev.Write(p, b)
		}
		if err != nil {
			panic(err) // the checker's own sizes are small; this is a bug
		}
		bufs = append(bufs, p)
		return p
	}
	defer func() {
		for _, p := range bufs {
			c.dev.Free(p)
		}
	}()
	read := func(p cpuemu.DevicePtr, n int) []uint32 {
		b := make([]byte, 4*n)
		if err := c.dev.Read(b, p); err != nil {
			panic(err)
		}
		return kernels.Words(b)
	}
	n := int(c.Size)
	rng := rand.New(rand.NewPCG(uint64(len(kernel)), 42))
	cfg := cpuemu.LaunchConfig{Scheduler: s.Scheduler, Seed: s.Seed, Check: race,
		Grid: cpuemu.Dim3{X: 2, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 128, Y: 1, Z: 1}}
	var args []any
	var verify func() (bool, string)
	switch kernel {
	case "lane_handoff", "lane_handoff_nosync", "lane_handoff_badmask":
		in := randWords(rng, 4000*n+17)
		pin, pout := alloc(kernels.WordBytes(in)), alloc(make([]byte, 4*len(in)))
		args = []any{pin, pout, uint32(len(in))}
		verify = func() (bool, string) { return compare(read(pout, len(in)), kernels.LaneHandoff(in)) }
	case "pingpong", "pingpong_war":
		in := randWords(rng, 16*(200*n+3))
		pin, pout := alloc(kernels.WordBytes(in)), alloc(make([]byte, 4*len(in)))
		args = []any{pin, pout, uint32(len(in) / 16)}
		verify = func() (bool, string) { return compare(read(pout, len(in)), kernels.Pingpong(in)) }
	case "warp_ring":
		const warps, capacity, rp, rc = 8, 7, 5, 3
		total := 300 * n
		fill := uint32(0xdeadbeef)
		init := make([]uint32, warps*total)
		for i := range init {
			init[i] = fill
		}
		pout, pst := alloc(kernels.WordBytes(init)), alloc(make([]byte, 16*warps))
		cfg.Grid, cfg.Block = cpuemu.Dim3{X: 1, Y: 1, Z: 1}, cpuemu.Dim3{X: 32 * warps, Y: 1, Z: 1}
		args = []any{pout, pst, uint32(capacity), uint32(rp), uint32(rc), uint32(total)}
		verify = func() (bool, string) {
			wantOut, wantSt := kernels.WarpRingBuffers(capacity, rp, rc, total, warps, fill)
			if ok, d := compare(read(pst, 4*warps), wantSt); !ok {
				return false, "status: " + d
			}
			return compare(read(pout, len(init)), wantOut)
		}
	case "warp_specialized":
		tiles := 24 * n
		in := randWords(rng, tiles*kernels.TileWords)
		pin, pout, psum := alloc(kernels.WordBytes(in)), alloc(make([]byte, 4*len(in))), alloc(make([]byte, 4*tiles*kernels.TileRows))
		args = []any{pin, pout, psum, uint32(tiles), uint32(3)}
		verify = func() (bool, string) {
			wantOut, wantSums := kernels.WarpSpecialized(in)
			if ok, d := compare(read(pout, len(in)), wantOut); !ok {
				return false, "out: " + d
			}
			return compare(read(psum, len(wantSums)), wantSums)
		}
	case "batch_reduce", "batch_scan":
		nrec, recWords := 64*n, 100
		in := randWords(rng, nrec*recWords)
		pin := alloc(kernels.WordBytes(in))
		outWords := 3 * nrec
		if kernel == "batch_scan" {
			outWords = len(in)
		}
		pout := alloc(make([]byte, 4*outWords))
		args = []any{pin, pout, uint32(nrec), uint32(recWords)}
		verify = func() (bool, string) {
			want := kernels.BatchReduce(in, nrec, recWords)
			if kernel == "batch_scan" {
				want = kernels.BatchScan(in, nrec, recWords)
			}
			return compare(read(pout, outWords), want)
		}
	case "batch_histogram", "batch_checksum":
		nrec, recBytes := 64*n, 301
		raw := make([]byte, nrec*recBytes)
		for i := range raw {
			raw[i] = byte(rng.IntN(256) & rng.IntN(256)) // skewed, so bins collide in a warp
		}
		pin := alloc(raw)
		outWords := 256
		if kernel == "batch_checksum" {
			outWords = nrec
		}
		pout := alloc(make([]byte, 4*outWords))
		args = []any{pin, pout, uint32(nrec), uint32(recBytes)}
		verify = func() (bool, string) {
			if kernel == "batch_checksum" {
				return compare(read(pout, nrec), kernels.BatchChecksum(raw, nrec, recBytes))
			}
			h := kernels.BatchHistogram(raw, nrec, recBytes)
			return compare(read(pout, 256), h[:])
		}
	case "divergent_syncwarp":
		cfg.Grid, cfg.Block = cpuemu.Dim3{X: 1, Y: 1, Z: 1}, cpuemu.Dim3{X: 64, Y: 1, Z: 1}
		args = []any{alloc(make([]byte, 4*64))}
		verify = func() (bool, string) { return false, "finished, but it should deadlock" }
	default:
		rep.Err = fmt.Errorf("kcheck: no inputs defined for kernel %q", kernel)
		return rep
	}
	start := time.Now()
	res, err := m.Launch(c.dev, kernel, cfg, args...)
	rep.Elapsed = time.Since(start)
	rep.Threads = cfg.Grid.Count() * cfg.Block.Count()
	if res != nil {
		rep.LaneInstructions = res.LaneInstructions
		rep.Diagnostics = res.Diagnostics
		rep.Race = res.Report
	}
	// The checker's findings are the report's, not a failed launch: the
	// kernel ran to the end and its output can still be compared.
	var ce *cpuemu.CheckError
	if errors.As(err, &ce) && ce.Report.Fatal == nil {
		err = nil
	}
	var dl *cpuemu.DeadlockError
	switch {
	case k.Expect == kernels.ExpectDeadlock && errors.As(err, &dl):
		rep.OK, rep.Detail = true, "deadlock, as expected"
	case err != nil:
		rep.Err = err
	case race && rep.Race == nil:
		rep.Err = fmt.Errorf("kernel %s: the checked launch returned no report", kernel)
	default:
		match, detail := verify()
		switch k.Expect {
		case kernels.ExpectOK:
			rep.OK, rep.Detail = match, detail
			if match && len(rep.Diagnostics) > 0 {
				rep.OK, rep.Detail = false, "right result, but undefined behaviour: "+rep.Diagnostics[0].String()
			}
			if race && !rep.Race.Clean() {
				if match {
					rep.Detail = "right result, but " + rep.Race.Err().Error()
				} else {
					rep.Detail += "; and " + rep.Race.Err().Error()
				}
				rep.OK = false
			}
		case kernels.ExpectRace:
			if race {
				rep.OK = len(rep.Race.Hazards) > 0
				if rep.OK {
					rep.Detail = "race reported: " + rep.Race.Hazards[0].Error()
				} else {
					rep.Detail = "no hazard reported; output " + detail
				}
				break
			}
			rep.OK = !match
			if match {
				rep.Detail = "right result under this schedule (the race did not show)"
			} else {
				rep.Detail = "wrong result, as expected: " + detail
			}
		default:
			rep.Detail = detail
		}
	}
	return rep
}

// FindFailure searches schedules for one under which a racy twin gives a
// wrong result (or, with c.Race, a reported hazard): adversarial first,
// then round-robin, then random seeds 1..seeds.
func (c *Checker) FindFailure(kernel string, seeds int) (Report, bool) {
	cands := []Schedule{{Scheduler: cpuemu.Adversarial}, {Scheduler: cpuemu.RoundRobin}}
	for i := 1; i <= seeds; i++ {
		cands = append(cands, Schedule{Scheduler: cpuemu.Random, Seed: uint64(i)})
	}
	var last Report
	for _, s := range cands {
		last = c.Check(kernel, s)
		if last.OK || last.Err != nil {
			return last, last.OK
		}
	}
	return last, false
}

func compare(got, want []uint32) (bool, string) {
	if slices.Equal(got, want) {
		return true, "matches the Go reference"
	}
	if len(got) != len(want) {
		return false, fmt.Sprintf("%d words, reference has %d", len(got), len(want))
	}
	bad := 0
	first := -1
	for i := range got {
		if got[i] != want[i] {
			bad++
			if first < 0 {
				first = i
			}
		}
	}
	return false, fmt.Sprintf("%d of %d words differ, first at %d: %#x, reference %#x", bad, len(got), first, got[first], want[first])
}

func randWords(r *rand.Rand, n int) []uint32 {
	w := make([]uint32, n)
	for i := range w {
		w[i] = r.Uint32()
	}
	return w
}
