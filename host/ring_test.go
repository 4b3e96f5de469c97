package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
)

// rtProduced is what a producer submitted: the tag says which producer and
// which of its batches (producer<<32 | count), n how many bytes.
type rtProduced struct {
	tag uint64
	n   int
}

// TestRingHammer runs many producers and consumers with random sizes and
// random delays, through every way in (Acquire+Submit, Produce, TryAcquire,
// Acquire+Release), and checks that every batch arrives exactly once, with
// its own bytes, in submission order when the ring is ordered, and that no
// goroutine outlives Close.
func TestRingHammer(t *testing.T) {
	perProducer := 400
	if testing.Short() {
		perProducer = 60
	}
	type check int
	const (
		echo check = iota // the result is the batch's bytes
		none              // no stage: no result
		sums              // slow_sum: the result is the sum of the batch's words, twice
	)
	cases := []struct {
		name                 string
		opts                 RingOptions
		check                check
		producers, consumers int
	}{
		{"ordered/echo/one-consumer", RingOptions{Slots: 4, SlotSize: 512, Depth: 4, Streams: 2}, echo, 8, 1},
		{"ordered/echo/many-consumers", RingOptions{Slots: 6, SlotSize: 512, Depth: 3, Streams: 3, Completions: 2}, echo, 8, 4},
		{"unordered/echo", RingOptions{Slots: 5, SlotSize: 512, Depth: 5, Streams: 2, Order: Unordered}, echo, 8, 4},
		{"ordered/no-stage", RingOptions{Slots: 3, SlotSize: 300, Depth: 2, Streams: 1}, none, 5, 3},
		// The dispatcher completes a copy it finds done itself, unless the
		// completion queue (of one) is full or another batch comes first:
		// then the worker does. Both paths, in one order.
		{"ordered/no-stage/two-streams", RingOptions{Slots: 4, SlotSize: 256, Depth: 4, Streams: 2, Completions: 1}, none, 4, 2},
		{"unordered/no-stage/one-slot", RingOptions{Slots: 1, SlotSize: 64, Order: Unordered}, none, 4, 2},
		{"ordered/zero-copy", RingOptions{Slots: 4, SlotSize: 256, Depth: 2, Streams: 2, ZeroCopy: true}, sums, 4, 1},
		{"unordered/zero-copy", RingOptions{Slots: 4, SlotSize: 256, Depth: 3, Streams: 3, ZeroCopy: true, Order: Unordered}, sums, 4, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			dev := openEmu(t)
			opts := tc.opts
			switch tc.check {
			case echo:
				opts.Stage = echoStage{opts.SlotSize}
			case sums:
				k := rtKernel(t, dev, "slow_sum")
				opts.Stage = rtSlowSum(k, func(b Batch) uint32 { return uint32(b.Tag % 97) }, nil)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			before := runtime.NumGoroutine()
			r, err := NewRing(dev, opts)
			if err != nil {
				t.Fatal(err)
			}
			produced := make([][]rtProduced, tc.producers)
			var pwg sync.WaitGroup
			for p := range tc.producers {
				pwg.Add(1)
				go func() {
					defer pwg.Done()
					rng := rand.New(rand.NewPCG(seed, uint64(p)))
					for count := 0; count < perProducer; {
						tag := uint64(p)<<32 | uint64(count)
						n := 1 + rng.IntN(opts.SlotSize)
						rtJitter(rng)
						var err error
						switch rng.IntN(4) {
						case 0: // Acquire, fill, Submit
							var s *Slot
							if s, err = r.Acquire(ctx); err == nil {
								rtFill(s.Bytes()[:n], tag)
								rtJitter(rng)
								err = r.Submit(s, n, tag)
							}
						case 1: // Produce
							err = r.Produce(ctx, tag, func(buf []byte) (int, error) {
								rtFill(buf[:n], tag)
								return n, nil
							})
						case 2: // TryAcquire until it works
							s, ok := r.TryAcquire()
							for ; !ok && ctx.Err() == nil; s, ok = r.TryAcquire() {
								runtime.Gosched()
							}
							if !ok {
								err = ctx.Err()
								break
							}
							rtFill(s.Bytes()[:n], tag)
							err = r.Submit(s, n, tag)
						case 3: // Acquire and give back unused: no batch
							var s *Slot
							if s, err = r.Acquire(ctx); err == nil {
								s.Bytes()[0] = 0xFF
								err = r.Release(s)
							}
							if err != nil {
								t.Errorf("producer %d: %v", p, err)
								return
							}
							continue
						}
						if err != nil {
							t.Errorf("producer %d, batch %d: %v", p, count, err)
							return
						}
						produced[p] = append(produced[p], rtProduced{tag, n})
						count++
					}
				}()
			}
			got := make([][]Completion, tc.consumers)
			var cwg sync.WaitGroup
			for c := range tc.consumers {
				cwg.Add(1)
				go func() {
					defer cwg.Done()
					rng := rand.New(rand.NewPCG(seed, 1000+uint64(c)))
					for {
						rtJitter(rng)
						comp, err := r.Next(ctx)
						if errors.Is(err, io.EOF) {
							return
						}
						if err != nil {
							t.Errorf("consumer %d: %v", c, err)
							return
						}
						got[c] = append(got[c], comp)
					}
				}()
			}
			pwg.Wait()
			rtClose(t, r)
			cwg.Wait()
			rtGoroutines(t, before)

			want := map[uint64]int{} // tag -> n
			var total, totalBytes int
			for _, ps := range produced {
				for _, b := range ps {
					want[b.tag] = b.n
					total++
					totalBytes += b.n
				}
			}
			if total != tc.producers*perProducer {
				t.Fatalf("%d batches submitted, want %d", total, tc.producers*perProducer)
			}
			var all []Completion
			for c, cs := range got {
				for i, comp := range cs {
					if opts.Order == Ordered && i > 0 && comp.Seq <= cs[i-1].Seq {
						t.Errorf("consumer %d got batch %d after batch %d in an ordered ring", c, comp.Seq, cs[i-1].Seq)
					}
				}
				all = append(all, cs...)
			}
			if tc.consumers == 1 && opts.Order == Ordered {
				for i, comp := range all {
					if comp.Seq != uint64(i) {
						t.Fatalf("completion %d is batch %d: out of order", i, comp.Seq)
					}
				}
			}
			seen := map[uint64]bool{}
			seqs := make([]bool, total)
			for _, comp := range all {
				n, ok := want[comp.Tag]
				switch {
				case comp.Err != nil:
					t.Errorf("%v: %v", comp.Batch, comp.Err)
					continue
				case !ok:
					t.Errorf("%v: no producer submitted tag %#x", comp.Batch, comp.Tag)
					continue
				case seen[comp.Tag]:
					t.Errorf("%v: tag %#x delivered twice", comp.Batch, comp.Tag)
					continue
				case comp.Seq >= uint64(total) || seqs[comp.Seq]:
					t.Errorf("%v: seq out of range or delivered twice", comp.Batch)
					continue
				case comp.N != n:
					t.Errorf("%v: N = %d, want %d", comp.Batch, comp.N, n)
				case comp.Slot < 0 || comp.Slot >= opts.Slots:
					t.Errorf("%v: slot out of range", comp.Batch)
				}
				seen[comp.Tag], seqs[comp.Seq] = true, true
				switch tc.check {
				case echo:
					if !bytes.Equal(comp.Result, rtBytes(comp.Tag, n)) {
						t.Errorf("%v: the device saw other bytes than the producer wrote", comp.Batch)
					}
				case none:
					if comp.Result != nil {
						t.Errorf("%v: result %d bytes without a stage", comp.Batch, len(comp.Result))
					}
				case sums:
					if err := rtCheckSums(comp); err != nil {
						t.Error(err)
					}
				}
			}
			if len(all) != total || len(seen) != total {
				t.Errorf("%d completions, %d distinct batches, for %d submitted", len(all), len(seen), total)
			}
			// Seq is the submission order: each producer's batches, which
			// it submitted one after another, have increasing seqs.
			slices.SortFunc(all, func(a, b Completion) int { return int(a.Seq) - int(b.Seq) })
			last := map[uint64]int64{}
			for _, comp := range all {
				p, count := comp.Tag>>32, int64(comp.Tag&0xFFFFFFFF)
				if prev, ok := last[p]; ok && count <= prev {
					t.Errorf("producer %d's batch %d has seq %d, after its batch %d", p, count, comp.Seq, prev)
				}
				last[p] = count
			}
			st := r.Stats()
			rtCheckStats(t, st, r.Options())
			if st.Submitted != uint64(total) || st.Completed != uint64(total) || st.Bytes != uint64(totalBytes) {
				t.Errorf("stats: submitted %d, completed %d, %d bytes; want %d, %d, %d", st.Submitted, st.Completed, st.Bytes, total, total, totalBytes)
			}
			if st.Failed != 0 || st.Cancelled != 0 {
				t.Errorf("stats: %d failed, %d cancelled; want none", st.Failed, st.Cancelled)
			}
			t.Logf("%d batches; max in flight %d, mean %.2f; mean slots busy %.2f; producers blocked %v (%d), consumers starved %v (%d); %d occupancy samples",
				total, st.MaxInFlight, st.MeanInFlight, st.MeanSlotsBusy, st.ProducerBlocked, st.BlockedAcquires, st.ConsumerStarved, st.StarvedNexts, len(st.Occupancy))
		})
	}
}

// rtJitter is a random delay: mostly none, sometimes a yield, now and then
// a sleep of up to 200 µs.
func rtJitter(rng *rand.Rand) {
	switch rng.IntN(16) {
	case 0:
		time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
	case 1, 2, 3:
		runtime.Gosched()
	}
}

// rtCheckStats checks what holds for the stats of every closed ring that
// completed every batch it took.
func rtCheckStats(t *testing.T, st Stats, o RingOptions) {
	t.Helper()
	if st.MaxInFlight > o.Depth || st.InFlight != 0 {
		t.Errorf("stats: %d in flight at most, %d now; want at most Depth=%d, and 0", st.MaxInFlight, st.InFlight, o.Depth)
	}
	if st.Submitted > 0 && st.MaxInFlight < 1 {
		t.Errorf("stats: batches went through but MaxInFlight is %d", st.MaxInFlight)
	}
	if st.Slots != [4]int{o.Slots, 0, 0, 0} || st.SlotsBusy != 0 {
		t.Errorf("stats: slots by state %v (%d busy) after Close; want all %d free", st.Slots, st.SlotsBusy, o.Slots)
	}
	if st.MeanInFlight < 0 || st.MeanInFlight > float64(o.Depth) || st.MeanSlotsBusy < 0 || st.MeanSlotsBusy > float64(o.Slots) {
		t.Errorf("stats: mean in flight %.2f (Depth %d), mean slots busy %.2f (Slots %d)", st.MeanInFlight, o.Depth, st.MeanSlotsBusy, o.Slots)
	}
	if len(st.Occupancy) == 0 || len(st.Occupancy) > maxSamples {
		t.Errorf("stats: %d occupancy samples, want 1..%d", len(st.Occupancy), maxSamples)
	}
	for i, s := range st.Occupancy {
		if s.SlotsBusy < 0 || s.SlotsBusy > o.Slots || s.InFlight < 0 || s.InFlight > o.Depth || (i > 0 && s.At < st.Occupancy[i-1].At) || s.At > st.Elapsed {
			t.Errorf("stats: occupancy sample %d of %d is %+v (Slots %d, Depth %d, elapsed %v)", i, len(st.Occupancy), s, o.Slots, o.Depth, st.Elapsed)
			break
		}
	}
	if st.Completed > 0 && (st.MeanLatency <= 0 || st.MaxLatency < st.MeanLatency) {
		t.Errorf("stats: latency mean %v, max %v", st.MeanLatency, st.MaxLatency)
	}
	if st.Bytes > 0 && st.Throughput <= 0 {
		t.Errorf("stats: %d bytes but throughput %v", st.Bytes, st.Throughput)
	}
}

// TestRingSlotReuse: a slot is handed to a producer again only once the
// last device operation that reads it has completed: its copy when batches
// are staged, its kernel in zero-copy mode. The ring runs on a spy device
// whose streams record an event right after every operation that reads a
// host buffer (a copy from it, or a kernel launched on it); a producer that
// is handed a slot whose last such event has not completed fails the test.
// The stage runs slow_sum, which sums its input, spins, and sums it again,
// and producers write a new batch over the whole slot the moment they get
// it: a kernel whose two sums differ, or are not those of its own batch,
// read a slot (or a staging buffer) that changed under it, and fails the
// test too.
//
// When staged, the slot comes back as soon as the copy is done, while the
// kernel still runs on the staging buffer: the test also checks that this
// overlap happens (producers refill a slot whose last batch's kernel is
// still running), which is what staging is for.
func TestRingSlotReuse(t *testing.T) {
	const (
		producers = 3
		batches   = 8 // per producer
	)
	spins := uint32(100000) // about 4 ms on the emulator (40 ms under -race)
	for _, zeroCopy := range []bool{false, true} {
		name := map[bool]string{false: "staged", true: "zero-copy"}[zeroCopy]
		t.Run(name, func(t *testing.T) {
			dev := openEmu(t)
			k := rtKernel(t, dev, "slow_sum")
			var (
				mu         sync.Mutex
				lastRead   = map[gpu.HostBuffer]gpu.Event{} // slot buffer -> done event of the last operation that read it
				slotKernel = map[int]gpu.Event{}            // slot -> its last batch's "kernel done" event
				events     []gpu.Event
			)
			spy := rtSpyDevice{Device: dev, read: func(buf gpu.HostBuffer, done gpu.Event) {
				mu.Lock()
				defer mu.Unlock()
				lastRead[buf] = done
				events = append(events, done)
			}}
			launched := func(s gpu.Stream, b Batch) error {
				e, err := dev.NewEvent()
				if err != nil {
					return err
				}
				mu.Lock()
				events = append(events, e)
				slotKernel[b.Slot] = e
				mu.Unlock()
				return s.Record(e)
			}
			stage := rtSlowSum(k, func(Batch) uint32 { return spins }, launched)
			r, err := NewRing(spy, RingOptions{Slots: 3, SlotSize: 1024, Depth: 2, Streams: 2, ZeroCopy: zeroCopy, Stage: stage})
			if err != nil {
				t.Fatal(err)
			}
			var early, overlap, reads atomic.Int64
			var wg sync.WaitGroup
			for p := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range batches {
						s, err := r.Acquire(rtCtx(t))
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						reader, kernel := lastRead[s.buf], slotKernel[s.Index()]
						mu.Unlock()
						if reader != nil {
							reads.Add(1)
							if done, _ := reader.Query(); !done {
								early.Add(1)
							}
						}
						if kernel != nil {
							if done, _ := kernel.Query(); !done {
								overlap.Add(1)
							}
						}
						tag := uint64(p)<<32 | uint64(i)
						n := 4 * (1 + (p*batches+i)%256)
						rtFill(s.Bytes(), tag) // the whole slot, at once
						if err := r.Submit(s, n, tag); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			var cs []Completion
			done := make(chan struct{})
			go func() { defer close(done); cs = rtDrain(t, r) }()
			wg.Wait()
			rtClose(t, r)
			<-done
			for _, e := range events {
				e.Close()
			}
			if len(cs) != producers*batches {
				t.Fatalf("%d completions, want %d", len(cs), producers*batches)
			}
			for _, c := range cs {
				if c.Err != nil {
					t.Errorf("%v: %v", c.Batch, c.Err)
				} else if err := rtCheckSums(c); err != nil {
					t.Error(err)
				}
			}
			if n := reads.Load(); n < producers*batches-3 {
				t.Fatalf("only %d acquisitions found a read of the slot to check: the spy device saw no %s", n, map[bool]string{false: "copies", true: "launches on the slots"}[zeroCopy])
			}
			if n := early.Load(); n > 0 {
				t.Errorf("%d times a producer was handed a slot whose last reader (%s) had not completed", n, map[bool]string{false: "the copy", true: "the kernel"}[zeroCopy])
			}
			if n := overlap.Load(); !zeroCopy && n == 0 {
				t.Errorf("staged: no slot was refilled while the kernel of its last batch ran; the slot should be free once its copy is done")
			} else {
				t.Logf("slots refilled while their last batch's kernel ran: %d", n)
			}
		})
	}
}

// TestRingUnorderedTags: an unordered ring delivers a batch as soon as it
// is done, and Tag and Seq say which one it is; an ordered ring holds it
// back until the batches before it are delivered. Batch 0's Collect takes
// 100 ms, batch 1 (on the other stream) is quick: unordered, batch 1 comes
// first; ordered, batch 0 does.
func TestRingUnorderedTags(t *testing.T) {
	for _, order := range []Order{Unordered, Ordered} {
		t.Run(order.String(), func(t *testing.T) {
			dev := openEmu(t)
			stage := rtStage{out: 16,
				run: func(s gpu.Stream, in any, out gpu.DeviceBuffer, b Batch) error {
					return s.Memset(out, 0, 16, byte(b.Tag))
				},
				collect: func(b Batch) error {
					if b.Seq == 0 {
						time.Sleep(100 * time.Millisecond)
					}
					return nil
				}}
			r, err := NewRing(dev, RingOptions{Slots: 4, SlotSize: 16, Depth: 2, Streams: 2, Order: order, Stage: stage})
			if err != nil {
				t.Fatal(err)
			}
			tags := []uint64{0xA0, 0xB1, 0xC2, 0xD3}
			for i, tag := range tags {
				if err := r.Produce(rtCtx(t), tag, func(buf []byte) (int, error) { return 1 + i, nil }); err != nil {
					t.Fatal(err)
				}
			}
			rtClose(t, r)
			cs := rtDrain(t, r)
			if len(cs) != len(tags) {
				t.Fatalf("%d completions, want %d", len(cs), len(tags))
			}
			var order2 []uint64
			for _, c := range cs {
				order2 = append(order2, c.Seq)
				if c.Err != nil || c.Tag != tags[c.Seq] || c.N != int(c.Seq)+1 || !bytes.Equal(c.Result, bytes.Repeat([]byte{byte(tags[c.Seq])}, 16)) {
					t.Errorf("completion %+v: want tag %#x, N %d, result 16 bytes of %#x", c, tags[c.Seq], c.Seq+1, byte(tags[c.Seq]))
				}
			}
			t.Logf("delivered in the order %v", order2)
			pos := func(seq uint64) int { return slices.Index(order2, seq) }
			if order == Unordered && pos(1) > pos(0) {
				t.Errorf("unordered: batch 1 (done at once) was delivered after batch 0 (100 ms in Collect): order %v", order2)
			}
			if order == Ordered && !slices.Equal(order2, []uint64{0, 1, 2, 3}) {
				t.Errorf("ordered: delivered in the order %v", order2)
			}
		})
	}
}

// TestRingTryAcquireFull: TryAcquire takes free slots without waiting, and
// reports false (counted in FullTryAcquires) when every slot is lent out,
// then true again once a slot comes back.
func TestRingTryAcquireFull(t *testing.T) {
	dev := openEmu(t)
	r, err := NewRing(dev, RingOptions{Slots: 2, SlotSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var held []*Slot
	for range 2 {
		s, ok := r.TryAcquire()
		if !ok {
			t.Fatal("TryAcquire failed with a free slot")
		}
		held = append(held, s)
	}
	if held[0].Index() == held[1].Index() {
		t.Fatalf("both TryAcquires got slot %d", held[0].Index())
	}
	if !slices.Equal(r.SlotStates(), []SlotState{SlotFilling, SlotFilling}) {
		t.Errorf("slot states %v, want both filling", r.SlotStates())
	}
	start := time.Now()
	for range 3 {
		if s, ok := r.TryAcquire(); ok || s != nil {
			t.Fatalf("TryAcquire on a full ring: %v, %v", s, ok)
		}
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("TryAcquire on a full ring took %v: it must not wait", d)
	}
	if st := r.Stats(); st.FullTryAcquires != 3 || st.BlockedAcquires != 0 {
		t.Errorf("FullTryAcquires %d, BlockedAcquires %d; want 3, 0", st.FullTryAcquires, st.BlockedAcquires)
	}
	if err := r.Release(held[1]); err != nil {
		t.Fatal(err)
	}
	s, ok := r.TryAcquire()
	if !ok || s.Index() != held[1].Index() {
		t.Fatalf("TryAcquire after a Release: %v, %v; want slot %d", s, ok, held[1].Index())
	}
	for _, s := range []*Slot{held[0], s} {
		if err := r.Release(s); err != nil {
			t.Fatal(err)
		}
	}
	rtClose(t, r)
	if s, ok := r.TryAcquire(); ok || s != nil {
		t.Errorf("TryAcquire after Close: %v, %v", s, ok)
	}
}

// TestRingAcquireDeadline: Acquire on a full ring waits until its context's
// deadline and returns an error wrapping context.DeadlineExceeded; the
// wait counts as a blocked Acquire.
func TestRingAcquireDeadline(t *testing.T) {
	dev := openEmu(t)
	r, err := NewRing(dev, RingOptions{Slots: 1, SlotSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, err := r.Acquire(rtCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	const wait = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	start := time.Now()
	s2, err := r.Acquire(ctx)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || s2 != nil {
		t.Fatalf("Acquire on a full ring: %v, %v; want an error wrapping context.DeadlineExceeded", s2, err)
	}
	if took < wait-5*time.Millisecond {
		t.Errorf("Acquire gave up after %v, before its %v deadline", took, wait)
	}
	st := r.Stats()
	if st.BlockedAcquires != 1 || st.ProducerBlocked < wait-5*time.Millisecond || st.ProducerBlocked > took+time.Second {
		t.Errorf("BlockedAcquires %d, ProducerBlocked %v; want 1 and about %v", st.BlockedAcquires, st.ProducerBlocked, took)
	}
	// A slot given back while an Acquire waits goes to it.
	got := make(chan *Slot)
	go func() {
		s, err := r.Acquire(rtCtx(t))
		if err != nil {
			t.Error(err)
		}
		got <- s
	}()
	rtWaitFor(t, "the second Acquire to block", func() bool { return r.Stats().BlockedAcquires == 2 })
	if err := r.Submit(s, 8, 0); err != nil {
		t.Fatal(err)
	}
	if s2 := <-got; s2 == nil || s2.Index() != s.Index() {
		t.Fatalf("the waiting Acquire got %v", s2)
	}
	if err := r.Release(s); err != nil {
		t.Fatal(err)
	}
}

// TestRingSubmitMisuse: Submit and Release with a bad size, twice, with a
// slot of another ring or nil, return clear errors and never panic; a bad
// size gives the slot back, and none of them loses or duplicates a batch.
func TestRingSubmitMisuse(t *testing.T) {
	dev := openEmu(t)
	r, err := NewRing(dev, RingOptions{Slots: 2, SlotSize: 16, Stage: echoStage{16}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewRing(dev, RingOptions{Slots: 1, SlotSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := rtCtx(t)
	wantErr := func(what string, err error, words ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		for _, w := range words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", what, err, w)
			}
		}
	}
	for _, n := range []int{0, -1, 17} {
		s, err := r.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(fmt.Sprintf("Submit of %d bytes", n), r.Submit(s, n, 0), fmt.Sprint(n), "1..16")
		if st := SlotState(s.state.Load()); st != SlotFree {
			t.Errorf("slot %d is %v after a Submit of %d bytes failed; want it given back", s.Index(), st, n)
		}
	}
	s, err := r.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	copy(s.Bytes(), "abcd")
	if err := r.Submit(s, 4, 7); err != nil {
		t.Fatal(err)
	}
	wantErr("second Submit of a slot", r.Submit(s, 4, 8), "not lent")
	wantErr("Release of a submitted slot", r.Release(s), "not lent")
	wantErr("Submit(nil)", r.Submit(nil, 4, 0), "nil slot")
	wantErr("Release(nil)", r.Release(nil), "nil slot")
	alien, err := other.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantErr("Submit of another ring's slot", r.Submit(alien, 4, 0), "another ring")
	wantErr("Release of another ring's slot", r.Release(alien), "another ring")
	if err := other.Release(alien); err != nil {
		t.Fatalf("the other ring's slot was taken from it: %v", err)
	}
	s, err = r.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Release(s); err != nil {
		t.Fatal(err)
	}
	wantErr("second Release", r.Release(s), "not lent")
	rtClose(t, r)
	cs := rtDrain(t, r)
	if len(cs) != 1 || cs[0].Err != nil || cs[0].Tag != 7 || string(cs[0].Result) != "abcd" {
		t.Fatalf("completions %+v; want the one batch, tag 7, \"abcd\"", cs)
	}
	if st := r.Stats(); st.Submitted != 1 || st.Completed != 1 {
		t.Errorf("stats: %d submitted, %d completed; want 1, 1", st.Submitted, st.Completed)
	}
}

// TestNewRingBadOptions: NewRing refuses bad options and a nil device with
// an error naming the problem, and leaves nothing running.
func TestNewRingBadOptions(t *testing.T) {
	dev := openEmu(t)
	before := runtime.NumGoroutine()
	cases := []struct {
		opts RingOptions
		want string
	}{
		{RingOptions{}, "SlotSize"},
		{RingOptions{SlotSize: -1}, "SlotSize"},
		{RingOptions{Slots: -1, SlotSize: 8}, "Slots"},
		{RingOptions{SlotSize: 8, Depth: -2}, "Depth"},
		{RingOptions{SlotSize: 8, Depth: 2, Streams: 3}, "Streams"},
		{RingOptions{SlotSize: 8, Streams: -1}, "Streams"},
		{RingOptions{SlotSize: 8, Completions: -1}, "Completions"},
		// Counts past MaxSlots are refused before the ring makes its
		// queues: these would need terabytes of them.
		{RingOptions{SlotSize: 8, Slots: 1 << 40}, "Slots 1099511627776: want 1..65536"},
		{RingOptions{SlotSize: 8, Slots: 1<<16 + 1}, "Slots 65537: want 1..65536"},
		{RingOptions{SlotSize: 8, Depth: 1 << 40}, "Depth 1099511627776: want 1..65536"},
		{RingOptions{SlotSize: 8, Completions: 1 << 40}, "Completions 1099511627776: want 1..131072"},
		{RingOptions{SlotSize: 8, Order: 5}, "Order"},
		{RingOptions{SlotSize: 8, OnError: 9}, "OnError"},
		{RingOptions{SlotSize: 8, HostFlags: 1 << 10}, "host flags"},
		{RingOptions{SlotSize: 8, Stage: rtStage{out: -1}}, "stage frame"},
	}
	for _, tc := range cases {
		r, err := NewRing(dev, tc.opts)
		if err == nil {
			r.Close()
			t.Errorf("NewRing(%+v): no error", tc.opts)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewRing(%+v): %v; want it to name %s", tc.opts, err, tc.want)
		}
	}
	if _, err := NewRing(nil, RingOptions{SlotSize: 8}); err == nil || !strings.Contains(err.Error(), "nil device") {
		t.Errorf("NewRing(nil device): %v", err)
	}
	rtGoroutines(t, before)
	// The defaults.
	r, err := NewRing(dev, RingOptions{SlotSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if o := r.Options(); o.Slots != 4 || o.Depth != 4 || o.Streams != 2 || o.Completions != 8 || o.Order != Ordered || o.OnError != Continue {
		t.Errorf("defaults: %+v", o)
	}
}

// TestRingConsumerStarved: with a slow producer the consumer waits in
// Next, which the stats count (ConsumerStarved, StarvedNexts), and the
// producer, which finds a free slot every time (4 slots, a batch every
// 2 ms), never waits.
func TestRingConsumerStarved(t *testing.T) {
	dev := openEmu(t)
	r, err := NewRing(dev, RingOptions{Slots: 4, SlotSize: 32, Stage: echoStage{32}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	go func() {
		for i := range n {
			time.Sleep(2 * time.Millisecond)
			err := r.Produce(rtCtx(t), uint64(i), func(buf []byte) (int, error) {
				rtFill(buf, uint64(i))
				return len(buf), nil
			})
			if err != nil {
				t.Error(err)
			}
		}
		r.Close()
	}()
	cs := rtDrain(t, r)
	if len(cs) != n {
		t.Fatalf("%d completions, want %d", len(cs), n)
	}
	for i, c := range cs {
		if c.Err != nil || c.Seq != uint64(i) || c.Tag != uint64(i) || !bytes.Equal(c.Result, rtBytes(uint64(i), 32)) {
			t.Errorf("completion %d: %+v", i, c)
		}
	}
	st := r.Stats()
	rtCheckStats(t, st, r.Options())
	if st.ConsumerStarved < n*time.Millisecond || st.StarvedNexts < n/2 {
		t.Errorf("ConsumerStarved %v over %d Nexts; want at least %v: the producer sleeps 2 ms before each batch", st.ConsumerStarved, st.StarvedNexts, n*time.Millisecond)
	}
	if st.BlockedAcquires != 0 || st.ProducerBlocked != 0 {
		t.Errorf("the producer blocked %d times (%v) on an empty ring", st.BlockedAcquires, st.ProducerBlocked)
	}
	if st.Bytes != n*32 || st.Completed != n {
		t.Errorf("stats: %d bytes, %d completed; want %d, %d", st.Bytes, st.Completed, n*32, n)
	}
}

// TestRingOccupancyBounded: a long run keeps at most maxSamples occupancy
// samples, thinned (more state changes, far enough apart to be sampled,
// than that), in time order, spanning the run.
func TestRingOccupancyBounded(t *testing.T) {
	const batches = 1500
	dev := openEmu(t)
	r, err := NewRing(dev, RingOptions{Slots: 2, SlotSize: 8, Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		// Every state change more than the initial 50 µs sample stride
		// apart: each would be a sample if none were thinned.
		for i := range batches {
			s, err := r.Acquire(rtCtx(t))
			if err != nil {
				t.Error(err)
				break
			}
			for start := time.Now(); time.Since(start) < 60*time.Microsecond; {
				// Spin: a 60 µs Sleep takes far longer.
			}
			if err := r.Submit(s, 8, uint64(i)); err != nil {
				t.Error(err)
			}
		}
		r.Close()
	}()
	cs := rtDrain(t, r)
	if len(cs) != batches {
		t.Fatalf("%d completions, want %d", len(cs), batches)
	}
	st := r.Stats()
	rtCheckStats(t, st, r.Options())
	if n := len(st.Occupancy); n < maxSamples/2 {
		t.Errorf("%d occupancy samples of a %v run with %d state changes; want them kept up to %d", n, st.Elapsed, batches*4, maxSamples)
	}
	r.stats.mu.Lock()
	stride := r.stats.sampleStride
	r.stats.mu.Unlock()
	if stride <= 50*time.Microsecond {
		t.Errorf("the samples were never thinned (stride %v) though each of %d batches had a change 60 µs after the last", stride, batches)
	}
	t.Logf("%d samples, stride %v, over %v", len(st.Occupancy), stride, st.Elapsed)
	if last := st.Occupancy[len(st.Occupancy)-1].At; last < st.Elapsed/2 {
		t.Errorf("the samples end at %v of a %v run", last, st.Elapsed)
	}
}

// TestRingNextContext: Next returns when its context is done, with an
// error wrapping the context's, and after Close and the last completion
// returns io.EOF, again and again.
func TestRingNextContext(t *testing.T) {
	dev := openEmu(t)
	r, err := NewRing(dev, RingOptions{Slots: 2, SlotSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := r.Next(ctx)
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Next after its context was cancelled: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return when its context was cancelled")
	}
	if err := r.Produce(rtCtx(t), 1, func(b []byte) (int, error) { return 8, nil }); err != nil {
		t.Fatal(err)
	}
	rtClose(t, r)
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	c, err := r.Next(ctx) // cancelled, but a completion is there
	if err != nil || c.Tag != 1 {
		t.Errorf("Next with a completion waiting: %+v, %v", c, err)
	}
	for range 2 {
		if _, err := r.Next(rtCtx(t)); err != io.EOF {
			t.Errorf("Next after the last completion of a closed ring: %v, want io.EOF", err)
		}
	}
	if _, err := r.Acquire(rtCtx(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire after Close: %v, want ErrClosed", err)
	}
	if err := r.Produce(rtCtx(t), 2, func(b []byte) (int, error) { return 1, nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Produce after Close: %v, want ErrClosed", err)
	}
}

// TestRingConcurrentDoubleSubmit submits one slot from many goroutines at
// once: exactly one Submit may succeed, and exactly one batch arrive.
func TestRingConcurrentDoubleSubmit(t *testing.T) {
	dev := openEmu(t)
	for range 20 {
		r, err := NewRing(dev, RingOptions{Slots: 2, SlotSize: 16})
		if err != nil {
			t.Fatal(err)
		}
		s, err := r.Acquire(rtCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var ok atomic.Int32
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if i%2 == 0 {
					err = r.Submit(s, 4, 7)
				} else {
					err = r.Release(s)
				}
				if err == nil {
					ok.Add(1)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d of 8 Submit/Release calls of one slot succeeded, want 1", ok.Load())
		}
		rtClose(t, r)
		if st := r.Stats(); st.Slots[SlotFree] != 2 {
			t.Fatalf("after Close: slots %v, want both free", st.Slots)
		}
	}
}

// TestRingPending counts completions that wait for Next.
func TestRingPending(t *testing.T) {
	r, err := NewRing(openEmu(t), RingOptions{Slots: 4, SlotSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := r.Produce(rtCtx(t), uint64(i), func(b []byte) (int, error) { return 8, nil }); err != nil {
			t.Fatal(err)
		}
	}
	rtWaitFor(t, "3 completions pending", func() bool { return r.Stats().Pending == 3 })
	if _, err := r.Next(rtCtx(t)); err != nil {
		t.Fatal(err)
	}
	if p := r.Stats().Pending; p != 2 {
		t.Fatalf("Pending = %d after one Next, want 2", p)
	}
	rtClose(t, r)
}

// TestRingSlotBackBeforeCompletion: a batch is delivered only once its
// slot is free again, also when the dispatcher completes copies itself and
// hands them over a run at a time: with every slot submitted, each Next
// leaves one more slot that TryAcquire takes without waiting.
func TestRingSlotBackBeforeCompletion(t *testing.T) {
	for _, opts := range []RingOptions{
		{Slots: 4, SlotSize: 64, Streams: 1},
		{Slots: 8, SlotSize: 64, Streams: 2},
		{Slots: 5, SlotSize: 64, Streams: 2, Order: Unordered},
	} {
		t.Run(fmt.Sprintf("slots=%d,streams=%d,%v", opts.Slots, opts.Streams, opts.Order), func(t *testing.T) {
			r, err := NewRing(openEmu(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := rtCtx(t)
			for round := range 200 {
				for i := range opts.Slots {
					if err := r.Produce(ctx, uint64(i), func([]byte) (int, error) { return 64, nil }); err != nil {
						t.Fatal(err)
					}
				}
				var taken []*Slot
				for i := range opts.Slots {
					c, err := r.Next(ctx)
					if err != nil || c.Err != nil {
						t.Fatalf("round %d: Next: %v, %v", round, err, c.Err)
					}
					s, ok := r.TryAcquire()
					if !ok {
						t.Fatalf("round %d: after %d completions, %d slots taken back, TryAcquire found no free slot", round, i+1, len(taken))
					}
					taken = append(taken, s)
				}
				for _, s := range taken {
					if err := r.Release(s); err != nil {
						t.Fatal(err)
					}
				}
			}
			rtClose(t, r)
		})
	}
}

// countingStage is echoStage counting its Collects.
type countingStage struct {
	echoStage
	collected *atomic.Int64
}

func (s countingStage) NewFrame(dev gpu.Device) (StageFrame, error) {
	f, err := s.echoStage.NewFrame(dev)
	if err != nil {
		return nil, err
	}
	return countingFrame{f.(*echoFrame), s.collected}, nil
}

type countingFrame struct {
	*echoFrame
	collected *atomic.Int64
}

func (f countingFrame) Collect(b Batch) ([]byte, error) {
	defer f.collected.Add(1)
	return f.echoFrame.Collect(b)
}

// TestRingFullQueueParks: with a completion queue of one and no consumer,
// the streams' workers still finish every batch the frames hold (they
// park the completions that do not fit, each keeping its frame, instead of
// waiting for room): the first batch's completion goes in and frees its
// frame for a fifth batch, and the Depth batches then in the frames all
// complete. The frames then run out, the slots with them, and TryAcquire
// fails; each Next lets one parked batch in and frees its frame; every
// batch arrives intact, in order when ordered.
func TestRingFullQueueParks(t *testing.T) {
	for _, order := range []Order{Ordered, Unordered} {
		t.Run(order.String(), func(t *testing.T) {
			var collected atomic.Int64
			opts := RingOptions{Slots: 4, SlotSize: 64, Depth: 4, Streams: 2, Completions: 1, Order: order,
				Stage: countingStage{echoStage{64}, &collected}}
			r, err := NewRing(openEmu(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := rtCtx(t)
			// Depth batches fill the frames, one more the frame the first
			// frees, and Slots more wait for frames.
			total := opts.Depth + 1 + opts.Slots
			for i := range total {
				if err := rtProduce(ctx, r, uint64(i), 64); err != nil {
					t.Fatal(err)
				}
			}
			rtWaitFor(t, "a Collect for every batch in a frame, and the one delivered", func() bool { return collected.Load() == int64(opts.Depth+1) })
			st := r.Stats()
			if st.Pending != 1 || st.InFlight != opts.Depth {
				t.Errorf("with the queue full: %d pending, %d in flight; want 1 and %d", st.Pending, st.InFlight, opts.Depth)
			}
			if s, ok := r.TryAcquire(); ok {
				t.Error("TryAcquire found a free slot with every frame parked and every slot submitted")
				r.Release(s)
			}
			var got []Completion
			for range total {
				c, err := rtNext(r)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, c)
			}
			rtClose(t, r)
			if order == Unordered {
				slices.SortFunc(got, func(a, b Completion) int { return int(a.Seq) - int(b.Seq) })
			}
			rtCheckEcho(t, got, total, 64) // in Seq order
			rtCheckStats(t, r.Stats(), r.Options())
		})
	}
}

// TestRingSubmitInPlace: without a stage, a Submit on an idle ring
// dispatches and completes its batch itself (the emulator copies on an
// idle stream at once): when Submit returns, the completion waits for
// Next and the slot is free, with no other goroutine needed.
func TestRingSubmitInPlace(t *testing.T) {
	r, err := NewRing(openEmu(t), RingOptions{Slots: 2, SlotSize: 64, Streams: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := rtCtx(t)
	for i := range 50 {
		s, err := r.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rtFill(s.Bytes(), uint64(i))
		if err := r.Submit(s, 64, uint64(i)); err != nil {
			t.Fatal(err)
		}
		if st := r.Stats(); st.Pending != 1 || st.SlotsBusy != 0 || st.InFlight != 0 {
			t.Fatalf("batch %d: right after Submit, %d pending, %d slots busy, %d in flight; want 1, 0, 0", i, st.Pending, st.SlotsBusy, st.InFlight)
		}
		c, err := r.Next(ctx)
		if err != nil || c.Err != nil || c.Seq != uint64(i) || c.Tag != uint64(i) {
			t.Fatalf("batch %d: %v, %v, %v", i, c.Batch, c.Err, err)
		}
	}
	rtClose(t, r)
	rtCheckStats(t, r.Stats(), r.Options())
}

// TestRingHaltWhileSubmitting: producers submit without pause to a ring
// without a stage, so that batches go both through Submits that dispatch
// them in place and through the dispatcher, while Abort or Close comes at
// a random moment. Expected: every batch Submit accepted is delivered
// exactly once, run or (Abort) with ErrAborted, and Abort's list is the
// aborted ones; ordered rings deliver in Seq order; the slots are all free
// afterwards and no goroutine is left.
func TestRingHaltWhileSubmitting(t *testing.T) {
	for _, abort := range []bool{false, true} {
		for _, order := range []Order{Ordered, Unordered} {
			t.Run(fmt.Sprintf("abort=%v/%v", abort, order), func(t *testing.T) {
				for round := range 20 {
					dev := openEmu(t)
					before := runtime.NumGoroutine()
					r, err := NewRing(dev, RingOptions{Slots: 4, SlotSize: 64, Depth: 2, Streams: 2, Order: order})
					if err != nil {
						t.Fatal(err)
					}
					var accepted atomic.Int64
					var pwg sync.WaitGroup
					for p := range 3 {
						pwg.Add(1)
						go func() {
							defer pwg.Done()
							for i := 0; ; i++ {
								s, err := r.Acquire(context.Background())
								if err != nil {
									return
								}
								if err := r.Submit(s, 64, uint64(p)<<32|uint64(i)); err != nil {
									return
								}
								accepted.Add(1)
							}
						}()
					}
					var got []Completion
					done := make(chan struct{})
					go func() { defer close(done); got = rtDrain(t, r) }()
					time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
					var aborted []Batch
					if abort {
						if aborted, err = r.Abort(); err != nil {
							t.Fatal(err)
						}
					} else {
						rtClose(t, r)
					}
					pwg.Wait()
					<-done
					if int64(len(got)) != accepted.Load() {
						t.Fatalf("round %d: %d completions for %d batches accepted", round, len(got), accepted.Load())
					}
					var gotAborted []Batch
					seen := map[uint64]bool{}
					for i, c := range got {
						if seen[c.Seq] {
							t.Fatalf("round %d: %v delivered twice", round, c.Batch)
						}
						seen[c.Seq] = true
						if order == Ordered && i > 0 && c.Seq <= got[i-1].Seq {
							t.Fatalf("round %d: batch %d after batch %d", round, c.Seq, got[i-1].Seq)
						}
						switch {
						case abort && errors.Is(c.Err, ErrAborted):
							gotAborted = append(gotAborted, c.Batch)
						case c.Err != nil:
							t.Fatalf("round %d: %v: %v", round, c.Batch, c.Err)
						}
					}
					slices.SortFunc(gotAborted, func(a, b Batch) int { return int(a.Seq) - int(b.Seq) })
					if !slices.Equal(aborted, gotAborted) {
						t.Fatalf("round %d: Abort returned %v; the completions with ErrAborted are %v", round, aborted, gotAborted)
					}
					rtCheckStats(t, r.Stats(), r.Options())
					rtGoroutines(t, before)
				}
			})
		}
	}
}

// TestRingStatsMeans: the time-weighted means add up each slot's busy
// time, counted while it is still busy and once it is free again. One slot
// of two is held 20 ms, no batch runs.
func TestRingStatsMeans(t *testing.T) {
	r, err := NewRing(openEmu(t), RingOptions{Slots: 2, SlotSize: 8, Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := rtCtx(t)
	s, err := r.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	st := r.Stats()
	if busy := time.Duration(st.MeanSlotsBusy * float64(st.Elapsed)); busy < 20*time.Millisecond || st.SlotsBusy != 1 || st.Slots[SlotFilling] != 1 {
		t.Errorf("with a slot held 20 ms: %v of slot time busy, %d busy now (%v); want at least 20 ms and 1 filling", busy, st.SlotsBusy, st.Slots)
	}
	if err := r.Release(s); err != nil {
		t.Fatal(err)
	}
	rtClose(t, r)
	st = r.Stats()
	rtCheckStats(t, st, r.Options())
	if busy := time.Duration(st.MeanSlotsBusy * float64(st.Elapsed)); busy < 20*time.Millisecond || busy > st.Elapsed {
		t.Errorf("a slot held 20 ms of %v: %v of slot time busy", st.Elapsed, busy)
	}
	if st.MeanInFlight != 0 || st.MaxInFlight != 0 {
		t.Errorf("no batch ran, but %.3f in flight on average, %d at most", st.MeanInFlight, st.MaxInFlight)
	}
}

// TestRingNoStageParksSlots: without a stage, a batch completed where it
// was dispatched frees its frame at once; when the completion queue cannot
// take its completion, the batch keeps its slot instead, and gives it back
// as Next lets it in. With a queue of one and no consumer, the producers
// therefore run out of slots, not frames (nothing is left queued for the
// dispatcher); each Next frees one slot; every batch arrives in order.
func TestRingNoStageParksSlots(t *testing.T) {
	for _, order := range []Order{Ordered, Unordered} {
		t.Run(order.String(), func(t *testing.T) {
			opts := RingOptions{Slots: 4, SlotSize: 16, Depth: 2, Streams: 1, Completions: 1, Order: order}
			r, err := NewRing(openEmu(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := rtCtx(t)
			// One completion in the queue, then one parked per slot.
			total := 1 + opts.Slots
			for i := range total {
				s, ok := r.TryAcquire()
				if !ok {
					t.Fatalf("batch %d: no free slot", i)
				}
				rtFill(s.Bytes(), uint64(i))
				if err := r.Submit(s, 16, uint64(i)); err != nil {
					t.Fatal(err)
				}
			}
			if s, ok := r.TryAcquire(); ok {
				t.Error("a free slot with every slot's batch parked")
				r.Release(s)
			}
			st := r.Stats()
			if st.Pending != 1 || st.InFlight != 0 || st.Slots[SlotInFlight] != opts.Slots {
				t.Errorf("%d pending, %d in flight, slots %v; want 1, 0, all %d held by parked batches", st.Pending, st.InFlight, st.Slots, opts.Slots)
			}
			for i := range total {
				c, err := r.Next(ctx)
				if err != nil || c.Err != nil {
					t.Fatalf("Next %d: %v, %v", i, err, c.Err)
				}
				if order == Ordered && c.Seq != uint64(i) {
					t.Errorf("completion %d is batch %d", i, c.Seq)
				}
				if want := min(i+1, opts.Slots); r.Stats().Slots[SlotFree] != want {
					t.Errorf("after %d Nexts, %d free slots; want %d", i+1, r.Stats().Slots[SlotFree], want)
				}
			}
			rtClose(t, r)
			rtCheckStats(t, r.Stats(), r.Options())
		})
	}
}

// dstSpyDevice records the device buffer of every CopyHtoD on its streams.
type dstSpyDevice struct {
	gpu.Device
	mu   *sync.Mutex
	dsts *[]uint64
}

func (d dstSpyDevice) NewStream() (gpu.Stream, error) {
	s, err := d.Device.NewStream()
	if err != nil {
		return nil, err
	}
	return dstSpyStream{s, d}, nil
}

type dstSpyStream struct {
	gpu.Stream
	d dstSpyDevice
}

func (s dstSpyStream) CopyHtoD(dst gpu.DeviceBuffer, dstOff int, src gpu.HostBuffer, srcOff, n int) error {
	s.d.mu.Lock()
	*s.d.dsts = append(*s.d.dsts, dst.Ptr())
	s.d.mu.Unlock()
	return s.Stream.CopyHtoD(dst, dstOff, src, srcOff, n)
}

// TestRingFramesInTurn: frames are taken in the order they came back, so
// that one batch after another goes through every staging buffer in turn
// (what BenchmarkRingThroughput's reference copy does too), also when each
// batch completes where it is submitted.
func TestRingFramesInTurn(t *testing.T) {
	var mu sync.Mutex
	var dsts []uint64
	const depth = 3
	r, err := NewRing(dstSpyDevice{openEmu(t), &mu, &dsts}, RingOptions{Slots: 2, SlotSize: 8, Depth: depth, Streams: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := rtCtx(t)
	for i := range 4 * depth {
		if err := rtProduce(ctx, r, uint64(i), 8); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rtClose(t, r)
	mu.Lock()
	defer mu.Unlock()
	for i := depth; i < len(dsts); i++ {
		if dsts[i] != dsts[i-depth] || dsts[i] == dsts[i-1] {
			t.Fatalf("staging buffers of successive batches: %x; want the %d in turn", dsts, depth)
		}
	}
}
