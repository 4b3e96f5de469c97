package cpuemu

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/kernels"
)

// The asynchronous pipeline of kernels/async_pipeline.cu and the
// cuda::barrier warp_specialized under the checker: the correct kernels
// are clean and match their Go references under every schedule; each twin
// shows its bug with both CUDA lines (the producer's cp.async and the
// consumer's read of the stage), or deadlocks naming the barrier and the
// phase.

// asyncPipelineLaunch is one block of a producer warp and two consumer
// warps over 8 tiles of 36 words (9 copies of 16 bytes: lanes 9-31 of
// the producer copy nothing) through 2 stages, so every stage is refilled
// three times.
const (
	apBlock     = 96
	apTiles     = 8
	apTileWords = 36
	apStages    = 2
	apLatency   = 3
	apWork      = 2
)

func apArgs(t *testing.T, d *Device) (in []uint32, args []any) {
	in = make([]uint32, apTiles*apTileWords)
	for i := range in {
		in[i] = uint32(i)*0x9E3779B1 + 12345
	}
	args = []any{racesAlloc(t, d, in), racesAlloc(t, d, make([]uint32, 3*apTiles)), racesAlloc(t, d, make([]uint32, 2*apTiles)),
		uint32(apTiles), uint32(apTileWords), uint32(apStages), uint32(apLatency), uint32(apWork)}
	return in, args
}

func TestAsyncPipelineClean(t *testing.T) {
	for _, name := range []string{"async_pipeline", "warp_specialized_barrier"} {
		m, err := LoadKernel(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			for _, s := range racesSchedules() {
				t.Run(s.String(), func(t *testing.T) {
					d := NewDevice()
					var args []any
					var check func()
					if name == "async_pipeline" {
						var in []uint32
						in, args = apArgs(t, d)
						check = func() {
							sums := racesReadWords(t, d, args[1].(DevicePtr), 3*apTiles)
							if want := kernels.BatchReduce(in, apTiles, apTileWords); !slices.Equal(sums, want) {
								t.Errorf("sums %v, want %v", sums, want)
							}
							tl := racesReadWords(t, d, args[2].(DevicePtr), 2*apTiles)
							if want := kernels.AsyncPipelineTimeline(apTiles, 1, apStages, apLatency, apWork); !slices.Equal(tl, want) {
								t.Errorf("timeline %v, want %v", tl, want)
							}
						}
					} else {
						const tiles = 6
						in := make([]uint32, tiles*kernels.TileWords)
						for i := range in {
							in[i] = uint32(i) * 2654435761
						}
						args = []any{racesAlloc(t, d, in), racesAlloc(t, d, make([]uint32, len(in))), racesAlloc(t, d, make([]uint32, tiles*kernels.TileRows)), uint32(tiles), uint32(2)}
						check = func() {
							wantOut, wantSums := kernels.WarpSpecialized(in)
							if got := racesReadWords(t, d, args[1].(DevicePtr), len(in)); !slices.Equal(got, wantOut) {
								t.Errorf("out differs from WarpSpecialized")
							}
							if got := racesReadWords(t, d, args[2].(DevicePtr), len(wantSums)); !slices.Equal(got, wantSums) {
								t.Errorf("row_sums %v, want %v", got, wantSums)
							}
						}
					}
					r, err := racesLaunch(t, m, d, name, 1, apBlock, s, args)
					if err != nil || !r.Clean() {
						racesLog(t, r)
						t.Fatalf("error %v", err)
					}
					check()
				})
			}
		})
	}
}

// The twins whose only bug is the stage's read racing with its copy:
// every hazard is between the cp.async and that read, in either order.
func TestAsyncPipelineTwins(t *testing.T) {
	src := "async_pipeline.cu"
	want := &racesHazard{Scope: "inter-warp", Space: "shared",
		writes: racesSourceLines(t, src, "cp.async.cg.shared.global"),
		reads:  racesSourceLines(t, src, "const unsigned x = stage[base + lane];"),
	}
	for _, tw := range []struct{ name, typ string }{
		{"async_pipeline_nowait", "RAW"},
		{"async_pipeline_early_empty", "WAR"},
	} {
		k, ok := kernels.Lookup(tw.name)
		if !ok || k.Expect != kernels.ExpectRace {
			t.Fatalf("%s is not a racy twin in the catalogue", tw.name)
		}
		m, err := LoadKernel(tw.name)
		if err != nil {
			t.Fatal(err)
		}
		psrc := racesParsePTX(k.Source, string(k.PTX()))
		w := *want
		w.Type = tw.typ
		t.Run(tw.name, func(t *testing.T) {
			for _, s := range racesSchedules() {
				t.Run(s.String(), func(t *testing.T) {
					d := NewDevice()
					_, args := apArgs(t, d)
					r, err := racesLaunch(t, m, d, tw.name, 1, apBlock, s, args)
					defer func() {
						if t.Failed() {
							racesLog(t, r)
						}
					}()
					if r.Fatal != nil || len(r.Sync) > 0 || len(r.Other) > 0 {
						t.Errorf("want hazards only; fatal %v, sync %v, other %v", r.Fatal, r.Sync, r.Other)
					}
					racesCheckHazards(t, r, err, &w, false, psrc)
					for _, dg := range r.Memory {
						if dg.Kind != "uninitialised-shared-read" || !psrc.at(dg.Site, w.reads) {
							t.Errorf("unexpected memory error %s", dg)
						}
					}
				})
			}
		})
	}
}

// async_pipeline_parity: the producer's first wait on empty[0] (shared
// offset 0x40, after the 8 full barriers) asks for phase 0, which only the
// 64 consumer threads can complete, and they wait on full[0] (offset 0)
// phase 0 for a tile never sent. Every schedule deadlocks, naming both.
func TestAsyncPipelineProducerParityDeadlocks(t *testing.T) {
	m, err := LoadKernel("async_pipeline_parity")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range racesSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := NewDevice()
			_, args := apArgs(t, d)
			r, err := racesLaunch(t, m, d, "async_pipeline_parity", 1, apBlock, s, args)
			var dl *DeadlockError
			if !errors.As(r.Fatal, &dl) || !errors.As(err, &dl) {
				racesLog(t, r)
				t.Fatalf("Fatal %v, err %v: want a *DeadlockError", r.Fatal, err)
			}
			msg := dl.Error()
			for _, want := range []string{
				"warp 0: lanes 0-31 poll the mbarrier at shared offset 0x40 at kernels/async_pipeline.cu:",
				"for phase 0 (parity 0), which cannot complete: 0 of 64 arrivals came, tx-count 0",
				"warp 1: lanes 0-31 poll the mbarrier at shared offset 0x0 at kernels/async_pipeline.cu:",
				"warp 2: lanes 0-31 poll the mbarrier at shared offset 0x0 at kernels/async_pipeline.cu:",
				"for phase 0 (parity 0), which cannot complete: 0 of 32 arrivals came, tx-count 0",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("deadlock report lacks %q:\n%s", want, msg)
				}
			}
			if len(r.Hazards) > 0 {
				t.Errorf("hazards in a pipeline that never copied: %v", r.Hazards)
			}
		})
	}
}

// async_pipeline_full_parity: a consumer's wait with the wrong parity asks
// for the phase before the one it needs. When it comes before the copy
// lands, that phase is complete and the wait returns at once: the read of
// the stage races with the copy (the ISA's test_wait.parity: true when the
// parity is not the current phase's). When it comes after, the phase it
// asks for is the next one, which needs its own release: a deadlock on a
// full barrier. And consumers that never wait can release stages ahead of
// the producer, so that its parity waits on "empty" alias a phase two
// ahead: a deadlock on an empty barrier. Under every schedule the race is
// reported with both lines; a deadlock, where the schedule brings one,
// names one of the pipeline's barriers (shared offsets 0x0-0x78) and a
// phase.
func TestAsyncPipelineFullParity(t *testing.T) {
	const name = "async_pipeline_full_parity"
	k, _ := kernels.Lookup(name)
	if k.Expect != kernels.ExpectRace || k.Hangs == "" {
		t.Fatalf("%s: Expect %q, Hangs %q: want a racy twin that may hang", name, k.Expect, k.Hangs)
	}
	m, err := LoadKernel(name)
	if err != nil {
		t.Fatal(err)
	}
	psrc := racesParsePTX(k.Source, string(k.PTX()))
	copies := racesSourceLines(t, k.Source, "cp.async.cg.shared.global")
	reads := racesSourceLines(t, k.Source, "const unsigned x = stage[base + lane];")
	for _, s := range racesSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := NewDevice()
			_, args := apArgs(t, d)
			r, _ := racesLaunch(t, m, d, name, 1, apBlock, s, args)
			found := false
			for _, h := range r.Hazards {
				if h.Space == "shared" && h.Scope == "inter-warp" &&
					(psrc.at(h.Prior.Site, copies) && psrc.at(h.Later.Site, reads) && h.Type == "RAW" ||
						psrc.at(h.Prior.Site, reads) && psrc.at(h.Later.Site, copies) && h.Type == "WAR") {
					found = true
				}
			}
			if !found {
				racesLog(t, r)
				t.Fatalf("no hazard between the cp.async (lines %v) and the stage's read (lines %v)", copies, reads)
			}
			var dl *DeadlockError
			if errors.As(r.Fatal, &dl) {
				ok := false
				for off := 0; off < 16*8; off += 8 {
					if strings.Contains(dl.Error(), fmt.Sprintf("poll the mbarrier at shared offset %#x at", off)) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("deadlock on none of the pipeline's barriers:\n%s", dl)
				}
			} else if r.Fatal != nil {
				t.Errorf("fatal %v: want a deadlock or nothing", r.Fatal)
			}
		})
	}
}
