package sim

import (
	"math"
	"runtime"
	"sync/atomic"
)

// BrokenTriple is a deliberately broken Triple, for tests: it shows that
// the torn-frame check (Frame.Consistent) catches a handoff bug. Do not
// use it to move frames.
//
// Its bug: Write publishes the back buffer's index first and only then
// copies the frame into it, so a Read that takes the newest frame can copy
// it out while the writer is still copying in, and get some words of the
// new step and some of the one the buffer held before: a torn frame.
// Write yields halfway through its copy, as a preempted writer would, so
// that the tear shows on a single CPU too.
//
// Every word of the shared buffers is stored and loaded through
// sync/atomic (fill writes a private scratch frame, which Write copies in
// word by word; Read copies the front buffer out into a private frame), so
// the race detector finds nothing to report: the tear is a logical bug of
// the protocol, not a data race. That is the point of the test harness:
// -race would catch a handoff with plain unordered stores, but not this,
// and checksummed frames do.
type BrokenTriple struct {
	bufs    [3]brokenBuf
	state   atomic.Uint32 // middle index | freshBit, as in Triple
	back    int           // Write's
	front   int           // Read's
	scratch Frame         // Write's: fill writes here
	view    Frame         // Read's: Read copies the front buffer here
}

type brokenBuf struct {
	step, sum atomic.Uint64
	pos       []atomic.Uint32 // float bits
}

// NewBrokenTriple returns a BrokenTriple of frames of 2*particles
// positions, starting like NewTriple's.
func NewBrokenTriple(particles int) *BrokenTriple {
	t := &BrokenTriple{back: 0, front: 2}
	t.state.Store(1)
	sum := Checksum(0, make([]float32, 2*particles))
	for i := range t.bufs {
		t.bufs[i].pos = make([]atomic.Uint32, 2*particles)
		t.bufs[i].sum.Store(sum)
	}
	t.scratch.Pos = make([]float32, 2*particles)
	t.view.Pos = make([]float32, 2*particles)
	return t
}

// Write calls fill with a scratch frame, then publishes the back buffer
// and copies the frame into it: the wrong order.
func (t *BrokenTriple) Write(fill func(f *Frame)) {
	fill(&t.scratch)
	pub := t.back
	old := t.state.Swap(uint32(pub) | freshBit) // BUG: published before it is filled
	t.back = int(old & indexMask)
	b := &t.bufs[pub]
	b.step.Store(t.scratch.Step)
	pos := t.scratch.Pos[:min(len(t.scratch.Pos), len(b.pos))]
	for i, p := range pos {
		if i == len(pos)/2 {
			// Halfway, let other goroutines run, as a preempted writer
			// would: on a single CPU this is where the reader comes in.
			runtime.Gosched()
		}
		b.pos[i].Store(math.Float32bits(p))
	}
	b.sum.Store(t.scratch.Sum)
}

// Read takes the newest published buffer, as Triple.Read does, and copies
// it into a frame that the reader owns until its next Read.
func (t *BrokenTriple) Read() (f *Frame, fresh bool) {
	if t.state.Load()&freshBit != 0 {
		old := t.state.Swap(uint32(t.front))
		t.front, fresh = int(old&indexMask), true
	}
	b := &t.bufs[t.front]
	t.view.Step = b.step.Load()
	for i := range b.pos {
		t.view.Pos[i] = math.Float32frombits(b.pos[i].Load())
	}
	t.view.Sum = b.sum.Load()
	return &t.view, fresh
}
