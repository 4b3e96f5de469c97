package cpuemu

import (
	"fmt"
	"unsafe"
)

// Cooperative launches: the grid's blocks are all resident at once and
// take turns, so that they can wait for each other at a grid-wide
// barrier (cooperative_groups::this_grid().sync(), which spins on an
// arrival word of the driver's grid workspace).

// The emulated device's size, which bounds a cooperative grid: DeviceSMs
// multiprocessors (as %nsmid says), each holding at most MaxBlocksPerSM
// blocks, MaxWarpsPerSM warps and SharedBytesPerSM bytes of shared memory
// at once, of which each block takes ReservedSharedPerBlock besides its
// own, as an sm_90 (H100 SXM) does. Registers do not limit it: the
// emulator has no register file to share.
const (
	DeviceSMs              = 132
	MaxBlocksPerSM         = 32
	MaxWarpsPerSM          = 64
	SharedBytesPerSM       = 228 << 10
	ReservedSharedPerBlock = 1 << 10
)

// gridWorkspaceBytes is the size of the grid workspace of a cooperative
// launch: cooperative_groups' grid_workspace, a size word and the
// barrier's arrival word.
const gridWorkspaceBytes = 8

// maxResidentStateBytes bounds what the emulator holds for the blocks of
// one launch that are live at once: their registers, local memory, call
// frames and shared memory (blockStateBytes), and under LaunchConfig.Check
// the race checker's state of each (checkerBlockBytes). A cooperative
// grid larger than that is refused; a parallel launch runs on fewer
// workers, one at least.
const maxResidentStateBytes = 1 << 30

// blockStateBytes is what the emulator holds for one live block of p's
// shape: registers, local memory and parameter frames per lane, and
// shared memory.
func blockStateBytes(p *program, cfg *LaunchConfig) int64 {
	lanes := (cfg.Block.Count() + 31) / 32 * 32
	shared := int64(p.sharedDyn) + int64(cfg.SharedBytes)
	return lanes*(int64(p.nslots)*8+int64(p.localSize)+int64(p.paramFSize)) + shared
}

// CooperativeBlocks is the most blocks a cooperative launch of kernel may
// have with blocks of the given shape and sharedBytes of dynamic shared
// memory each: DeviceSMs times the blocks one SM holds at once, as
// cudaOccupancyMaxActiveBlocksPerMultiprocessor counts them (registers
// aside) times the SM count. It is 0 when not one block fits an SM, as
// when sharedBytes is more than an SM's shared memory. A block with a
// zero dimension or more than MaxThreadsPerBlock threads, or a negative
// sharedBytes, is an *ArgError.
func (m *Module) CooperativeBlocks(kernel string, block Dim3, sharedBytes int) (int, error) {
	p, err := m.program(kernel)
	if err != nil {
		return 0, err
	}
	bad := func(format string, a ...any) error {
		return &ArgError{Kernel: kernel, Msg: "cooperative blocks: " + fmt.Sprintf(format, a...)}
	}
	switch {
	case block.X == 0 || block.Y == 0 || block.Z == 0:
		return 0, bad("block %s has a zero dimension", block)
	case block.Count() > MaxThreadsPerBlock:
		return 0, bad("block %s has %d threads; the most is %d", block, block.Count(), MaxThreadsPerBlock)
	case sharedBytes < 0:
		return 0, bad("negative dynamic shared memory %d", sharedBytes)
	}
	return cooperativeBlocks(p, block, sharedBytes), nil
}

// blocksPerSM is how many blocks of the shape one SM holds at once: 0
// for an empty block, or one that needs more warps or shared memory than
// an SM has.
func blocksPerSM(p *program, block Dim3, sharedBytes int) int {
	warps := (block.Count() + 31) / 32
	if warps == 0 || warps > MaxWarpsPerSM || sharedBytes < 0 {
		return 0
	}
	// Compared before adding, so that a huge sharedBytes cannot overflow.
	if int64(sharedBytes) > int64(SharedBytesPerSM)-ReservedSharedPerBlock-int64(p.sharedDyn) {
		return 0
	}
	n := min(MaxBlocksPerSM, MaxWarpsPerSM/int(warps))
	shared := p.sharedDyn + sharedBytes + ReservedSharedPerBlock // at least 1 KiB
	return min(n, SharedBytesPerSM/shared)
}

func cooperativeBlocks(p *program, block Dim3, sharedBytes int) int {
	return DeviceSMs * blocksPerSM(p, block, sharedBytes)
}

// checkerBlockBytes estimates the race checker's state (race.go) for one
// resident block of lanes lane slots (its warps × 32) and shared bytes
// of shared memory, from the sizes of its data structures: a shadow cell
// per 4-byte word of shared memory (44 bytes on 64-bit machines); per
// lane its laneState and one vector clock of its own, a 4-byte entry per
// lane of the block in chunks of a warp's lanes (a fence, and a release
// store, take a snapshot of the lane's clock that is the lane's alone,
// though it shares most chunks with other clocks; the clocks lanes share
// after a sync are fewer), so the clocks grow at most with the square of
// the block's size; and the block's own clocks (its start, one per named
// barrier and its fence.sc order). Read sets of words that many lanes
// read and the shadow of global memory are not per block, and not
// counted.
func checkerBlockBytes(lanes, shared int64) int64 {
	clock := int64(unsafe.Sizeof(vclock{})) + lanes/32*int64(unsafe.Sizeof(&chunk{})+unsafe.Sizeof(chunk{}))
	cells := (shared + 3) / 4 * int64(unsafe.Sizeof(cell{}))
	perLane := int64(unsafe.Sizeof(laneState{})) + clock
	block := int64(unsafe.Sizeof(ctaCheck{})) + int64(2+len(ctaCheck{}.bar))*clock
	return cells + lanes*perLane + block
}

// checkCooperative refuses a cooperative grid that the emulated device
// cannot hold at once, or whose resident blocks the emulator cannot hold.
func checkCooperative(kernel string, p *program, cfg *LaunchConfig) error {
	per := blocksPerSM(p, cfg.Block, cfg.SharedBytes)
	if n := cfg.Grid.Count(); n > int64(DeviceSMs*per) {
		return &LimitError{Kernel: kernel, Value: n, Max: int64(DeviceSMs * per),
			Limit: fmt.Sprintf("blocks in a cooperative grid, all resident at once (the emulated device holds %d SMs × %d blocks of %d threads and %d shared bytes)",
				DeviceSMs, per, cfg.Block.Count(), p.sharedDyn+cfg.SharedBytes)}
	}
	lanes := (cfg.Block.Count() + 31) / 32 * 32
	shared := int64(p.sharedDyn) + int64(cfg.SharedBytes)
	perBlock := blockStateBytes(p, cfg)
	what := "bytes of emulator state for the resident blocks of a cooperative grid (registers, local and shared memory)"
	if cfg.Check {
		perBlock += checkerBlockBytes(lanes, shared)
		what = "bytes of emulator state for the resident blocks of a cooperative grid (registers, local and shared memory, and the race checker's clocks and shadow cells)"
	}
	if total := perBlock * cfg.Grid.Count(); total > maxResidentStateBytes {
		return &LimitError{Kernel: kernel, Limit: what, Value: total, Max: maxResidentStateBytes}
	}
	return nil
}

// runCooperative runs every block of the grid at once: each takes a turn
// in a round (a quantum of ops per warp: about as many as a spinning lane
// needs to see that it spins), in linear order, the reverse under the
// adversarial scheduler and a shuffle under the random one, until all
// have ended. A block that cannot move is deadlocked, whatever the others
// do: nothing outside a block completes its barriers and collectives.
func (l *launch) runCooperative() {
	g := l.cfg.Grid
	ctas := make([]*cta, 0, g.Count())
	for z := uint32(0); z < g.Z; z++ {
		for y := uint32(0); y < g.Y; y++ {
			for x := uint32(0); x < g.X; x++ {
				c := l.newCTA(Dim3{x, y, z})
				if l.chk != nil {
					c.chk = l.chk.newCTACheck(c)
				}
				ctas = append(ctas, c)
			}
		}
	}
	order := make([]int, len(ctas))
	for {
		l.checkClock()
		l.sch.order(order)
		alive := false
		for _, i := range order {
			c := ctas[i]
			if c == nil {
				continue
			}
			l.enterCTA(c)
			progress, live := c.round()
			if !live {
				if l.chk != nil {
					l.chk.endCTA(c)
				}
				ctas[c.linear()] = nil // its memory can go
				continue
			}
			alive = true
			if !progress {
				l.fail(c.deadlock())
			}
		}
		if !alive {
			return
		}
	}
}

// enterCTA gives block c the turn: the checker takes up its state.
func (l *launch) enterCTA(c *cta) {
	l.curCTA = c
	if l.chk != nil {
		l.chk.enter(c)
	}
}

// linear is the block's index in the grid, x fastest.
func (c *cta) linear() int {
	g := c.l.cfg.Grid
	return int(c.id.X) + int(c.id.Y)*int(g.X) + int(c.id.Z)*int(g.X)*int(g.Y)
}
