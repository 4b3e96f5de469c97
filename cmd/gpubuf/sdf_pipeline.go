package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// Limits of sdf's pipeline flags: S_min = 1 + ceil(L/T) must fit the
// kernel's 8 stages for a proof, so L beyond 7*T is refused as not
// provable (exit 1), and these bounds only keep the clock's arithmetic far
// from 2^32.
const (
	sdfMaxLatency = 1 << 16
	sdfMaxWork    = 1 << 12
	sdfMaxTiles   = 4096
)

// sdfTileWords is the tile each pipeline run of sdf copies: 32 words, one
// 16-byte cp.async for each of 8 producer lanes. sdfPipelineBlock is one
// producer and one consumer warp.
const (
	sdfTileWords     = 32
	sdfPipelineBlock = 64
)

// sdfPipeline is `gpubuf sdf --latency L --work T [--tiles N]`.
func sdfPipeline(set map[string]bool, latency, work, tiles int, stdout, stderr io.Writer) int {
	switch {
	case !set["latency"]:
		fmt.Fprintf(stderr, "gpubuf sdf: --latency is required with --work (0..%d)\n", sdfMaxLatency)
		return exitUsage
	case !set["work"]:
		fmt.Fprintf(stderr, "gpubuf sdf: --work is required with --latency (1..%d)\n", sdfMaxWork)
		return exitUsage
	case latency < 0 || latency > sdfMaxLatency:
		fmt.Fprintf(stderr, "gpubuf sdf: --latency %d: must be 0..%d\n", latency, sdfMaxLatency)
		return exitUsage
	case work < 1 || work > sdfMaxWork:
		fmt.Fprintf(stderr, "gpubuf sdf: --work %d: must be 1..%d\n", work, sdfMaxWork)
		return exitUsage
	case set["tiles"] && (tiles < 1 || tiles > sdfMaxTiles):
		fmt.Fprintf(stderr, "gpubuf sdf: --tiles %d: must be 1..%d\n", tiles, sdfMaxTiles)
		return exitUsage
	}
	l, w := uint32(latency), uint32(work)
	smin := kernels.PipelineSMin(l, w)
	ceil := smin - 1
	fmt.Fprintf(stdout, "S_min = 1 + ceil(L / T) = 1 + ceil(%d / %d) = 1 + %d = %d\n\n", latency, work, ceil, smin)
	if smin > kernels.PipelineMaxStages {
		fmt.Fprintf(stdout, "not proved: S_min = %d is past async_pipeline's largest stage count %d\n", smin, kernels.PipelineMaxStages)
		return exitFail
	}
	if !set["tiles"] {
		tiles = 4*smin + 4
	}

	dev, err := openDevice(gpu.BackendEmu, gpu.EmuOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf sdf: %v\n", err)
		return exitFail
	}
	defer dev.Close()
	pr, err := newPipelineRunner(dev)
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf sdf: %v\n", err)
		return exitFail
	}
	defer pr.close()

	tw := newTable("stages", "tiles", "waits", "first wait", "consumer idle").alignRight(0, 1, 2, 4)
	type run struct{ waits, first, idle int }
	runs := map[int]run{}
	for s := 1; s <= smin; s++ {
		tl, err := pr.run(tiles, s, l, w)
		if err != nil {
			fmt.Fprintf(stderr, "gpubuf sdf: %d stages: %v\n", s, err)
			return exitFail
		}
		waits, first := kernels.PipelineWaits(tl, w)
		idle := 0 // ticks the consumer waited after the first tile
		for i := 1; 2*i+1 < len(tl); i++ {
			idle += int(tl[2*i+1] - (tl[2*i-1] + w))
		}
		runs[s] = run{waits, first, idle}
		f := "-"
		if first >= 0 {
			f = fmt.Sprintf("tile %d", first)
		}
		tw.add(s, tiles, waits, f, idle)
	}
	tw.write(stdout)
	fmt.Fprintln(stdout)

	var problems []string
	hi, lo := runs[smin], runs[smin-1]
	if hi.waits != 0 {
		problems = append(problems, fmt.Sprintf("%d stages: the consumer waited %d times, first at tile %d", smin, hi.waits, hi.first))
	}
	if tiles < smin+1 {
		problems = append(problems, fmt.Sprintf("%s run, too few to reach tile %d, the first to reuse a stage; raise --tiles", plural(tiles, "tile"), smin))
	}
	if smin > 1 && lo.waits == 0 {
		problems = append(problems, fmt.Sprintf("%d stages: the consumer never waited in %s; raise --tiles", smin-1, plural(tiles, "tile")))
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stdout, "not proved: %s\n", p)
		}
		return exitFail
	}
	fmt.Fprintf(stdout, "proved on the emulator (async_pipeline, one producer and one consumer warp, %d-word tiles): %s never make the consumer wait after the first tile", sdfTileWords, plural(smin, "stage"))
	if smin > 1 {
		fmt.Fprintf(stdout, ", %s do (first at tile %d)", plural(smin-1, "stage"), lo.first)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "  tile %d is the first to reuse a stage; from there on, while no tile waits, ready(i) and done(i-1) both advance by T = %d per tile, so tile %d not waiting means no tile ever does\n", smin, work, smin)
	if smin == 1 {
		fmt.Fprintln(stdout, "  with L = 0 a copy lands as it is issued: one stage suffices, and fewer is no pipeline")
	}
	return exitOK
}

// pipelineRunner launches async_pipeline.
type pipelineRunner struct{ *kernelRunner }

func newPipelineRunner(dev gpu.Device) (*pipelineRunner, error) {
	r, err := newKernelRunner(dev, "async_pipeline")
	if err != nil {
		return nil, err
	}
	return &pipelineRunner{r}, nil
}

// run launches async_pipeline on one block with the given stages, checks
// its sums and timeline against the Go references, and returns the
// timeline.
func (r *pipelineRunner) run(tiles, stages int, latency, work uint32) (tl []uint32, err error) {
	keep := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	in := make([]uint32, tiles*sdfTileWords)
	for i := range in {
		in[i] = uint32(i)*0x9E3779B1 + 1
	}
	bufs := make([]gpu.DeviceBuffer, 3)
	for i, n := range []int{4 * len(in), 12 * tiles, 8 * tiles} {
		if bufs[i], err = r.dev.Alloc(n); err != nil {
			return nil, err
		}
		defer func(b gpu.DeviceBuffer) { keep(b.Free()) }(bufs[i])
	}
	if err := bufs[0].CopyFromHost(0, kernels.WordBytes(in)); err != nil {
		return nil, err
	}
	cfg := gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(sdfPipelineBlock)}
	if err := r.stream.Launch(r.kern, cfg, bufs[0], bufs[1], bufs[2], uint32(tiles), uint32(sdfTileWords), uint32(stages), latency, work); err != nil {
		return nil, err
	}
	if err := r.stream.Synchronize(); err != nil {
		return nil, err
	}
	sums, tlb := make([]byte, 12*tiles), make([]byte, 8*tiles)
	if err := bufs[1].CopyToHost(sums, 0); err != nil {
		return nil, err
	}
	if err := bufs[2].CopyToHost(tlb, 0); err != nil {
		return nil, err
	}
	if got, want := kernels.Words(sums), kernels.BatchReduce(in, tiles, sdfTileWords); !slices.Equal(got, want) {
		return nil, fmt.Errorf("sums differ from the Go reference (first tile %d)", wordDiff(got, want)/3)
	}
	tl = kernels.Words(tlb)
	if want := kernels.AsyncPipelineTimeline(tiles, 1, stages, latency, work); !slices.Equal(tl, want) {
		i := wordDiff(tl, want) / 2
		return nil, fmt.Errorf("tile %d: {ready, start} = %v, the Go reference says %v", i, tl[2*i:2*i+2], want[2*i:2*i+2])
	}
	return tl, nil
}

// wordDiff is the index of the first word where a and b differ.
func wordDiff(a, b []uint32) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}
