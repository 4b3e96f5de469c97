package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// Limits of sdf's --total: items each warp consumes.
const sdfMaxTotal = 65536

// sdfWarps is how many warps each warp_ring launch of sdf runs (one block).
const sdfWarps = 2

// sdfFill is what out holds before a launch, where no item was stored.
const sdfFill = uint32(0xdeadbeef)

const sdfUsage = `usage: gpubuf sdf --rp N --rc N [--total N]
       gpubuf sdf --latency L --work T [--tiles N]

Prints b_min = r_p + r_c - gcd(r_p, r_c), the least ring capacity at which
the fused producer/consumer schedule with those rates never stalls, and
proves it on the emulator: the warp_ring kernel at capacity b_min never
stalls, and at b_min - 1 it stalls.

With --latency and --work, prints instead S_min = 1 + ceil(L/T), the least
number of stages at which an asynchronous pipeline whose copies take L
ticks and whose consumer takes T ticks per tile never makes the consumer
wait after the first tile, and proves it on the emulator: async_pipeline
run with every stage count from 1 to S_min, its logical clock checked
against the Go reference, waits with S_min - 1 stages and not with S_min.

Exits 0 when proved, 1 when not, 2 on bad input.

flags:
`

// sdfCmd is `gpubuf sdf`.
func sdfCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sdf", stderr)
	rp := fs.Int("rp", 0, fmt.Sprintf("producer rate r_p: items per producer firing, 1..%d (required)", kernels.RingMaxRate))
	rc := fs.Int("rc", 0, fmt.Sprintf("consumer rate r_c: items per consumer firing, 1..%d (required)", kernels.RingMaxRate))
	total := fs.Int("total", 0, fmt.Sprintf("items each warp consumes, 1..%d (default: enough for the proof, at least 4 periods lcm(r_p, r_c))", sdfMaxTotal))
	latency := fs.Int("latency", 0, fmt.Sprintf("pipeline: ticks L from a copy's issue to its landing, 0..%d", sdfMaxLatency))
	work := fs.Int("work", 0, fmt.Sprintf("pipeline: ticks T a consumer spends on a tile, 1..%d", sdfMaxWork))
	tiles := fs.Int("tiles", 0, fmt.Sprintf("pipeline: tiles per run, 1..%d (default: 4*S_min + 4)", sdfMaxTiles))
	// Parse errors are one line of ours; -h prints the usage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprint(stderr, sdfUsage)
			fs.PrintDefaults()
			return exitOK
		}
		fmt.Fprintf(stderr, "gpubuf sdf: %v\n", err)
		return exitUsage
	}
	if strayArg(fs, "sdf", stderr) {
		return exitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["latency"] || set["work"] || set["tiles"] {
		for _, ring := range []string{"rp", "rc", "total"} {
			if set[ring] {
				fmt.Fprintf(stderr, "gpubuf sdf: --%s is the ring's, --latency, --work and --tiles the pipeline's: give one bound's flags\n", ring)
				return exitUsage
			}
		}
		return sdfPipeline(set, *latency, *work, *tiles, stdout, stderr)
	}
	for _, r := range []struct {
		name string
		v    int
	}{{"rp", *rp}, {"rc", *rc}} {
		switch {
		case !set[r.name]:
			fmt.Fprintf(stderr, "gpubuf sdf: --%s is required (1..%d)\n", r.name, kernels.RingMaxRate)
			return exitUsage
		case r.v < 1 || r.v > kernels.RingMaxRate:
			fmt.Fprintf(stderr, "gpubuf sdf: --%s %d: must be 1..%d\n", r.name, r.v, kernels.RingMaxRate)
			return exitUsage
		}
	}
	g := gcd(*rp, *rc)
	bmin := kernels.BMin(*rp, *rc)
	period := kernels.RingPeriod(*rp, *rc)
	n := sdfDefaultTotal(*rp, *rc)
	if set["total"] {
		if *total < 1 || *total > sdfMaxTotal {
			fmt.Fprintf(stderr, "gpubuf sdf: --total %d: must be 1..%d\n", *total, sdfMaxTotal)
			return exitUsage
		}
		n = *total
	}

	fmt.Fprintf(stdout, "b_min = r_p + r_c - gcd(r_p, r_c) = %d + %d - %d = %d\n\n", *rp, *rc, g, bmin)
	if bmin > kernels.RingMaxCapacity {
		fmt.Fprintf(stdout, "not proved: b_min = %d is past warp_ring's largest capacity %d\n", bmin, kernels.RingMaxCapacity)
		return exitFail
	}

	dev, err := openDevice(gpu.BackendEmu, gpu.EmuOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf sdf: %v\n", err)
		return exitFail
	}
	defer dev.Close()
	ring, err := newRingRunner(dev)
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf sdf: %v\n", err)
		return exitFail
	}
	defer ring.close()

	tw := newTable("capacity", "result", "steps", "consumed", "in ring").alignRight(0, 2, 3, 4)
	var problems []string

	// Capacity b_min: it must not stall, and must fire at least C+1 times.
	// Between firings the ring's whole state is its count, 0..C, and the
	// next firing depends on the count alone: C+1 firings without a stall
	// pass C+2 states, so one repeats and the schedule cycles from there
	// on without ever stalling, however many items are asked for.
	hi, err := ring.run(bmin, *rp, *rc, n)
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf sdf: capacity %d: %v\n", bmin, err)
		return exitFail
	}
	tw.add(bmin, ringResultName(hi.Result), hi.Steps, hi.Consumed, hi.Count)
	switch {
	case hi.Result != kernels.RingDone:
		problems = append(problems, fmt.Sprintf("capacity %d %s after %d steps", bmin, ringResultName(hi.Result), hi.Steps))
	case int(hi.Steps) < bmin+1:
		problems = append(problems, fmt.Sprintf("capacity %d ran only %s, fewer than the %d that show it cycles; raise --total", bmin, plural(int(hi.Steps), "step"), bmin+1))
	}

	// Capacity b_min - 1: it must stall. Capacity 0 is no ring at all.
	low := bmin - 1
	var lo kernels.RingOutcome
	if low == 0 {
		tw.add(0, "stalled", "-", "-", "-")
	} else {
		lo, err = ring.run(low, *rp, *rc, n)
		if err != nil {
			fmt.Fprintf(stderr, "gpubuf sdf: capacity %d: %v\n", low, err)
			return exitFail
		}
		tw.add(low, ringResultName(lo.Result), lo.Steps, lo.Consumed, lo.Count)
		if lo.Result != kernels.RingStalled {
			problems = append(problems, fmt.Sprintf("capacity %d did not stall in %s (%s consumed); raise --total", low, plural(int(lo.Steps), "step"), plural(int(lo.Consumed), "item")))
		}
	}
	tw.write(stdout)
	fmt.Fprintln(stdout)
	if low == 0 {
		fmt.Fprintf(stdout, "capacity 0 cannot hold a single item, so it stalls by definition (outside warp_ring's capacities 1..%d: not launched)\n", kernels.RingMaxCapacity)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stdout, "not proved: %s\n", p)
		}
		return exitFail
	}
	stall := "stalls by definition"
	if low > 0 {
		stall = "stalls after " + plural(int(lo.Steps), "step")
	}
	fmt.Fprintf(stdout, "proved on the emulator (warp_ring, %d warps): capacity %d never stalls, capacity %d %s\n", sdfWarps, bmin, low, stall)
	fmt.Fprintf(stdout, "  capacity %d: %s without a stall visit %d ring states, more than the %d there are (0..%d items), so one repeats and the schedule cycles forever\n",
		bmin, plural(int(hi.Steps), "step"), hi.Steps+1, bmin+1, bmin)
	if low > 0 {
		fmt.Fprintf(stdout, "  capacity %d: stalled with %s in the ring: no room for %d more, too few to take %d\n",
			low, plural(int(lo.Count), "item"), *rp, *rc)
	}
	fmt.Fprintf(stdout, "  each warp was asked for %s; the period lcm(r_p, r_c) is %s\n", plural(n, "item"), plural(period, "item"))
	return exitOK
}

// sdfDefaultTotal is how many items each warp consumes when --total is not
// given: at least 4 periods and 64 items, and at least 16*(b_min+1), so
// that at capacity b_min the consumer alone fires more than b_min+1 times
// (the proof's bound; rc <= 16).
func sdfDefaultTotal(rp, rc int) int {
	return max(4*kernels.RingPeriod(rp, rc), 64, kernels.RingMaxRate*(kernels.BMin(rp, rc)+1))
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// plural is "1 step", "2 steps".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func ringResultName(r kernels.RingResult) string {
	switch r {
	case kernels.RingDone:
		return "done"
	case kernels.RingStalled:
		return "stalled"
	case kernels.RingBadParams:
		return "bad params"
	}
	return fmt.Sprintf("result %d", uint32(r))
}

// kernelRunner launches one catalogued kernel on a device, on a stream
// of its own: what sdf's proofs run.
type kernelRunner struct {
	dev    gpu.Device
	mod    gpu.Module
	kern   gpu.Kernel
	stream gpu.Stream
}

func newKernelRunner(dev gpu.Device, name string) (*kernelRunner, error) {
	k, ok := kernels.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%s is not in the kernel catalogue", name)
	}
	m, err := dev.LoadModule(k.File, k.PTX())
	if err != nil {
		return nil, err
	}
	kern, err := m.Kernel(k.Name)
	if err != nil {
		m.Close()
		return nil, err
	}
	s, err := dev.NewStream()
	if err != nil {
		m.Close()
		return nil, err
	}
	return &kernelRunner{dev: dev, mod: m, kern: kern, stream: s}, nil
}

func (r *kernelRunner) close() {
	r.stream.Close()
	r.mod.Close()
}

// ringRunner launches warp_ring.
type ringRunner struct{ *kernelRunner }

func newRingRunner(dev gpu.Device) (*ringRunner, error) {
	r, err := newKernelRunner(dev, "warp_ring")
	if err != nil {
		return nil, err
	}
	return &ringRunner{r}, nil
}

// run launches warp_ring with sdfWarps warps, checks every warp's status
// words and out against the Go reference (kernels.WarpRingBuffers), and
// returns the outcome they agree on.
func (r *ringRunner) run(capacity, rp, rc, total int) (o kernels.RingOutcome, err error) {
	keep := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	init := make([]uint32, sdfWarps*total)
	for i := range init {
		init[i] = sdfFill
	}
	out, err := r.dev.Alloc(4 * len(init))
	if err != nil {
		return o, err
	}
	defer func() { keep(out.Free()) }()
	if err := out.CopyFromHost(0, kernels.WordBytes(init)); err != nil {
		return o, err
	}
	status, err := r.dev.Alloc(16 * sdfWarps)
	if err != nil {
		return o, err
	}
	defer func() { keep(status.Free()) }()
	cfg := gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32 * sdfWarps)}
	if err := r.stream.Launch(r.kern, cfg, out, status, uint32(capacity), uint32(rp), uint32(rc), uint32(total)); err != nil {
		return o, err
	}
	if err := r.stream.Synchronize(); err != nil {
		return o, err
	}
	gotOut := make([]byte, 4*len(init))
	if err := out.CopyToHost(gotOut, 0); err != nil {
		return o, err
	}
	gotSt := make([]byte, 16*sdfWarps)
	if err := status.CopyToHost(gotSt, 0); err != nil {
		return o, err
	}
	wantOut, wantSt := kernels.WarpRingBuffers(capacity, rp, rc, total, sdfWarps, sdfFill)
	st := kernels.Words(gotSt)
	for w := range sdfWarps {
		if got, want := st[4*w:4*w+4], wantSt[4*w:4*w+4]; !slices.Equal(got, want) {
			return o, fmt.Errorf("warp %d: status {result, steps, consumed, in ring} = %v, the Go reference says %v", w, got, want)
		}
	}
	if words := kernels.Words(gotOut); !slices.Equal(words, wantOut) {
		i := 0
		for words[i] == wantOut[i] {
			i++
		}
		return o, fmt.Errorf("warp %d: out[%d] = %#x, the Go reference says %#x", i/total, i, words[i], wantOut[i])
	}
	return kernels.RingOutcome{Result: kernels.RingResult(st[0]), Steps: st[1], Consumed: st[2], Count: st[3]}, nil
}
