package sim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestChecksumIsFNV1a(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 7, 100} {
		step := r.Uint64()
		pos := make([]float32, n)
		for i := range pos {
			pos[i] = r.Float32()
		}
		h := fnv.New64a()
		h.Write(binary.LittleEndian.AppendUint64(nil, step))
		for _, p := range pos {
			h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(p)))
		}
		if got, want := Checksum(step, pos), h.Sum64(); got != want {
			t.Errorf("n=%d: Checksum %#x, FNV-1a %#x", n, got, want)
		}
	}
	// Bits, not values: -0 and +0 differ; so do the step and a position.
	if Checksum(1, []float32{0}) == Checksum(1, []float32{float32(math.Copysign(0, -1))}) ||
		Checksum(1, []float32{0.5}) == Checksum(2, []float32{0.5}) {
		t.Error("Checksum misses a difference")
	}
	f := Frame{Step: 3, Pos: []float32{0.25, 0.5}}
	f.Sum = Checksum(f.Step, f.Pos)
	if !f.Consistent() {
		t.Error("a checksummed frame is not consistent")
	}
	f.Pos[1] = 0.75
	if f.Consistent() {
		t.Error("a changed frame is consistent")
	}
}

// posValue is position i of the test frames of step k: derived from the
// step, so that a frame mixing two steps shows it in its positions as well
// as in its checksum.
func posValue(k uint64, i int) float32 {
	return float32((k*7919+uint64(i)*104729)%(1<<20)) / (1 << 20)
}

func fillStep(k uint64) func(f *Frame) {
	return func(f *Frame) {
		f.Step = k
		for i := range f.Pos {
			f.Pos[i] = posValue(k, i)
		}
		f.Sum = Checksum(f.Step, f.Pos) // last
	}
}

// intact reports whether f is a whole frame: consistent, and with the
// positions of its step (all 0 for step 0, the frame before any Write).
func intact(f *Frame) bool {
	if !f.Consistent() {
		return false
	}
	for i, p := range f.Pos {
		if f.Step == 0 && p != 0 || f.Step > 0 && p != posValue(f.Step, i) {
			return false
		}
	}
	return true
}

// One goroutine interleaving writes and reads at random: the buffer fill
// gets is never the one the reader holds, Read returns the newest frame,
// fresh exactly when it is new, and three buffers in all.
func TestTripleSequential(t *testing.T) {
	tr := NewTriple(3)
	f, fresh := tr.Read()
	if f.Step != 0 || fresh || len(f.Pos) != 6 || !intact(f) {
		t.Fatalf("before any Write: step %d, fresh %v, %d positions, intact %v", f.Step, fresh, len(f.Pos), intact(f))
	}
	held := f
	seen := map[*Frame]bool{f: true}
	var written uint64
	r := rand.New(rand.NewPCG(2, 2))
	for op := range 2000 {
		if r.IntN(3) > 0 {
			written++
			tr.Write(func(f *Frame) {
				if f == held {
					t.Fatalf("op %d: Write fills the frame the reader holds", op)
				}
				seen[f] = true
				fillStep(written)(f)
			})
			continue
		}
		last := held.Step
		f, fresh := tr.Read()
		if f.Step != written || fresh != (written != last) || !intact(f) {
			t.Fatalf("op %d: Read gives step %d (fresh %v, intact %v); written %d, last read %d", op, f.Step, fresh, intact(f), written, last)
		}
		if !fresh && f != held {
			t.Fatalf("op %d: a stale Read changed buffers", op)
		}
		held = f
		seen[f] = true
	}
	if len(seen) != 3 {
		t.Errorf("%d distinct buffers, want 3", len(seen))
	}
}

type harness struct {
	reads, fresh, distinct, torn, backwards int
	lastStep, written                       uint64
	firstTorn                               string
}

// runHarness runs a fast writer goroutine (frame k has step k, positions
// posValue(k, i), Sum set last) against a slow reader on this goroutine,
// which reads up to maxReads times, busy for delay after each read, for at
// most budget; with stopAtTear it stops at the first torn frame.
func runHarness(h Handoff, maxReads int, delay, budget time.Duration, stopAtTear bool) harness {
	var res harness
	var stop atomic.Bool
	var written atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := uint64(1); !stop.Load(); k++ {
			h.Write(fillStep(k))
			written.Store(k)
			runtime.Gosched() // on a single CPU, let the reader in
		}
	}()
	// Let the writer get going, so the reader meets it mid-stream.
	for written.Load() < 3 {
		time.Sleep(10 * time.Microsecond)
	}
	deadline := time.Now().Add(budget)
	var last uint64
	for res.reads < maxReads && time.Now().Before(deadline) {
		f, fresh := h.Read()
		res.reads++
		if !intact(f) {
			res.torn++
			if res.firstTorn == "" {
				res.firstTorn = fmt.Sprintf("read %d: step %d, sum %#x, checksum of its contents %#x", res.reads, f.Step, f.Sum, Checksum(f.Step, f.Pos))
			}
			if stopAtTear {
				break
			}
		} else {
			if f.Step < last {
				res.backwards++
			}
			if fresh {
				res.fresh++
				if f.Step != last {
					res.distinct++
				}
			}
			last = f.Step
		}
		// The slow part of a render loop, without time.Sleep, whose
		// granularity (often a millisecond) would make this test slow.
		// Gosched lets the writer run when there is a single CPU.
		for t0 := time.Now(); time.Since(t0) < delay; {
			runtime.Gosched()
		}
	}
	stop.Store(true)
	wg.Wait()
	res.lastStep, res.written = last, written.Load()
	return res
}

// A fast writer and a slow reader on Triple: every frame read is whole,
// steps never go backwards, the reader sees many distinct steps, and the
// writer is never held up by the reader (it writes many more frames than
// the reader reads). Run it under -race: the race detector checks the
// handoff's memory ordering too.
func TestTripleFastWriterSlowReader(t *testing.T) {
	const particles, maxReads = 256, 3000
	res := runHarness(NewTriple(particles), maxReads, 50*time.Microsecond, 3*time.Second, false)
	t.Logf("%d reads (%d fresh, %d distinct steps), last step %d; writer wrote %d frames", res.reads, res.fresh, res.distinct, res.lastStep, res.written)
	if res.torn > 0 {
		t.Errorf("%d torn frames; first: %s", res.torn, res.firstTorn)
	}
	if res.backwards > 0 {
		t.Errorf("steps went backwards %d times", res.backwards)
	}
	if want := min(res.reads/4, 200); res.distinct < want || res.reads < 200 {
		t.Errorf("%d reads saw %d distinct steps; want at least 200 reads and %d steps", res.reads, res.distinct, want)
	}
	if res.written <= uint64(res.distinct) {
		t.Errorf("the writer wrote %d frames, no more than the reader's %d distinct steps: did it wait for the reader?", res.written, res.distinct)
	}
}

// The same harness on BrokenTriple, which publishes a frame before it has
// copied it in, must catch a torn frame; and, since BrokenTriple moves
// every shared word through sync/atomic, it runs under -race without a
// data race report: the harness catches what the race detector cannot.
func TestHarnessCatchesBrokenTriple(t *testing.T) {
	const particles = 256
	res := runHarness(NewBrokenTriple(particles), 1<<30, 0, 5*time.Second, true)
	t.Logf("%d reads, writer wrote %d frames; %s", res.reads, res.written, res.firstTorn)
	if res.torn == 0 {
		t.Fatalf("the harness found no torn frame in %d reads of BrokenTriple", res.reads)
	}
}

// BrokenTriple behaves like Triple when reads and writes do not overlap:
// its bug is a race, not a wrong protocol.
func TestBrokenTripleSequential(t *testing.T) {
	tr := NewBrokenTriple(2)
	if f, fresh := tr.Read(); f.Step != 0 || fresh || !intact(f) {
		t.Fatalf("before any Write: step %d, fresh %v", f.Step, fresh)
	}
	for k := uint64(1); k <= 5; k++ {
		tr.Write(fillStep(k))
		if k%2 == 1 {
			continue
		}
		if f, fresh := tr.Read(); f.Step != k || !fresh || !intact(f) {
			t.Fatalf("after Write %d: step %d, fresh %v, intact %v", k, f.Step, fresh, intact(f))
		}
	}
	if f, fresh := tr.Read(); f.Step != 5 || !fresh || !intact(f) {
		t.Fatalf("last: step %d, fresh %v", f.Step, fresh)
	}
}
