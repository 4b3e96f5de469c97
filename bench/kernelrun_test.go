package bench

import (
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
)

// TestKernelRunArgs: each kernel's parameters, as its catalogue entry
// declares them, and its launch, worked out by hand for 8 KiB of input.
func TestKernelRunArgs(t *testing.T) {
	for _, c := range []struct {
		name        string
		outLens     []int
		scalars     []uint32
		grid, block uint32
	}{
		// 2 records of 1024 words, a warp each: one block of 256.
		{"batch_reduce", []int{4 * 3 * 2}, []uint32{2, 1024}, 1, 256},
		// 2 tiles of 1024 words: sums 3 words a tile, timeline 2; a block
		// a tile, of one producer and three consumer warps.
		{"async_pipeline", []int{24, 16}, []uint32{2, 1024, PipelineStages, 5, 2}, 2, 128},
		// 8 tiles of 256 words: out as large as in, 8 row sums a tile.
		{"warp_specialized_barrier", []int{8192, 4 * 8 * 8}, []uint32{8, WarpSpecializedStages}, 8, 128},
	} {
		r, err := newKernelRun(c.name, 8192)
		if err != nil {
			t.Fatal(err)
		}
		cfg := r.shape(gpu.Info{SMCount: 1})
		if !slices.Equal(r.outLens, c.outLens) || !slices.Equal(r.scalars, c.scalars) || cfg.Grid.X != c.grid || cfg.Block.X != c.block {
			t.Errorf("%s: outputs %v, scalars %v, grid %d, block %d; want %v, %v, %d, %d", c.name, r.outLens, r.scalars, cfg.Grid.X, cfg.Block.X, c.outLens, c.scalars, c.grid, c.block)
		}
		if a := r.args("in", []any{"o"}); len(a) != 2+len(r.scalars) || a[0] != "in" || a[1] != "o" {
			t.Errorf("%s: args %v", c.name, a)
		}
		// Outputs of zeros are not the kernel's: the check says so.
		r.cfg = cfg
		outs := make([][]byte, len(r.outLens))
		for i, n := range r.outLens {
			outs[i] = make([]byte, n)
		}
		if err := r.verify(outs, 1); err == nil || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s: zero outputs verify: %v", c.name, err)
		}
	}
}
