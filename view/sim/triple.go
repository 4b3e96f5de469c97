package sim

import (
	"math"
	"sync/atomic"
)

// Frame is one simulation step's output, as the renderer consumes it.
type Frame struct {
	Step uint64
	Pos  []float32 // x0, y0, x1, y1, ... in [0,1)
	Sum  uint64    // Checksum(Step, Pos)
}

// FNV-1a, 64-bit.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// Checksum is the 64-bit FNV-1a hash of step's 8 bytes and then each
// position's 4 IEEE-754 bytes, all little-endian. A frame that mixes two
// steps (a torn frame) fails it with overwhelming likelihood.
func Checksum(step uint64, pos []float32) uint64 {
	h := uint64(fnvOffset)
	for range 8 {
		h = (h ^ step&0xff) * fnvPrime
		step >>= 8
	}
	for _, p := range pos {
		b := math.Float32bits(p)
		h = (h ^ uint64(b&0xff)) * fnvPrime
		h = (h ^ uint64(b>>8&0xff)) * fnvPrime
		h = (h ^ uint64(b>>16&0xff)) * fnvPrime
		h = (h ^ uint64(b>>24)) * fnvPrime
	}
	return h
}

// Consistent reports whether f's checksum matches its step and positions:
// false for a torn frame, one assembled from parts of different steps.
func (f *Frame) Consistent() bool { return f.Sum == Checksum(f.Step, f.Pos) }

// Handoff hands frames from one writer goroutine to one reader goroutine:
// Triple, or the deliberately broken BrokenTriple.
type Handoff interface {
	Write(fill func(f *Frame))
	Read() (f *Frame, fresh bool)
}

// The packed state word of a Triple: the index (0, 1 or 2) of the middle
// buffer, and the fresh bit, set when the middle buffer holds a frame the
// reader has not taken yet.
const (
	indexMask = 3
	freshBit  = 4
)

// Triple is a triple buffer: the writer always has a back buffer to fill,
// the reader always gets the newest complete frame, neither ever waits,
// and an atomic swap of a packed index word (sync/atomic) hands frames
// over. One goroutine may call Write and one (another, or the same) Read.
//
// Of the three buffers, one is the writer's (back), one the reader's
// (front), and one is in the middle, named by the state word. Write fills
// back, then swaps it into the middle with the fresh bit set and takes the
// old middle as its next back. Read, when the fresh bit is set, swaps its
// front into the middle with the bit clear and takes the old middle, the
// newest published frame, as its front.
//
// Why a frame never tears: back, front and the middle are always three
// different buffers, because each swap exchanges a buffer its caller owns
// for the one in the middle in a single atomic step, so the writer never
// fills the buffer the reader holds, nor the reader sees one being filled.
// The swaps also order the memory: the writer's stores into a frame happen
// before the Swap that publishes it, which happens before the reader's
// Swap that takes it (it reads the value the writer stored); and the
// reader's loads from its front happen before the Swap that gives that
// buffer back, which happens before the writer's Swap that takes it as its
// next back. So a reader sees every store of the frame and no store of a
// later one, and the race detector sees ordered accesses only.
//
// Nothing waits: a Write never blocks (when the reader is slow, the writer
// overwrites the unread middle frame on its next publish: the reader skips
// steps, it never sees a half-written one), and a Read never blocks.
type Triple struct {
	bufs  [3]Frame
	state atomic.Uint32 // middle index | freshBit
	back  int           // the writer's buffer; only Write touches it
	front int           // the reader's buffer; only Read touches it
}

// NewTriple returns a triple buffer of frames of 2*particles positions.
// Until the first Write, Read returns a frame of step 0 with every
// position 0 (consistent, and not fresh).
func NewTriple(particles int) *Triple {
	t := &Triple{back: 0, front: 2}
	t.state.Store(1)
	for i := range t.bufs {
		t.bufs[i].Pos = make([]float32, 2*particles)
		t.bufs[i].Sum = Checksum(0, t.bufs[i].Pos)
	}
	return t
}

// Write calls fill with the back buffer, which holds an older frame (fill
// must set Step, Pos and Sum; Pos has the length NewTriple gave it, and
// fill may replace it), then publishes it as the newest frame. Only one
// goroutine may call Write.
func (t *Triple) Write(fill func(f *Frame)) {
	fill(&t.bufs[t.back])
	old := t.state.Swap(uint32(t.back) | freshBit)
	t.back = int(old & indexMask)
}

// Read returns the newest published frame. The reader owns it until its
// next Read, and must not change it. fresh says whether it is new since
// the last Read (or, on the first Read, whether anything was written).
// Only one goroutine may call Read.
func (t *Triple) Read() (f *Frame, fresh bool) {
	// Only Read clears the fresh bit, so if it is set now it is still set
	// at the Swap below, and the Swap takes a published frame: the newest,
	// even if the writer published again in between.
	if t.state.Load()&freshBit != 0 {
		old := t.state.Swap(uint32(t.front))
		t.front, fresh = int(old&indexMask), true
	}
	return &t.bufs[t.front], fresh
}
