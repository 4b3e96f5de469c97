package host

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
)

// Fault injection. Each test says what it injects and what must follow.

// rtEchoRing opens a ring whose stage echoes each batch back.
func rtEchoRing(t *testing.T, opts RingOptions) *Ring {
	t.Helper()
	opts.Stage = echoStage{opts.SlotSize}
	r, err := NewRing(openEmu(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rtProduce submits a batch of n bytes of tag's pattern.
func rtProduce(ctx context.Context, r *Ring, tag uint64, n int) error {
	return r.Produce(ctx, tag, func(buf []byte) (int, error) {
		rtFill(buf[:n], tag)
		return n, nil
	})
}

// rtCheckEcho checks that cs are the echoes of batches tagged by their seq
// (tag == seq), of n bytes each, all without error.
func rtCheckEcho(t *testing.T, cs []Completion, want, n int) {
	t.Helper()
	if len(cs) != want {
		t.Errorf("%d completions, want %d", len(cs), want)
	}
	for i, c := range cs {
		if c.Err != nil || c.Seq != uint64(i) || c.Tag != uint64(i) || !bytes.Equal(c.Result, rtBytes(c.Tag, n)) {
			t.Errorf("completion %d: %v, err %v, result ok %v", i, c.Batch, c.Err, bytes.Equal(c.Result, rtBytes(c.Tag, n)))
		}
	}
}

// TestFaultFill: a fill callback that fails or panics. Expected: Produce
// returns an error that wraps the callback's (or, for a panic, says
// "panic" and the value), the slot goes back to the free list, nothing is
// submitted, and the ring goes on serving the other batches.
func TestFaultFill(t *testing.T) {
	errFill := errors.New("fill: no more input")
	fills := map[string]struct {
		fill func([]byte) (int, error)
		want func(error) bool
	}{
		"error": {func([]byte) (int, error) { return 0, errFill }, func(err error) bool { return errors.Is(err, errFill) }},
		"panic": {func([]byte) (int, error) { panic("fill exploded") }, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "panic") && strings.Contains(err.Error(), "fill exploded")
		}},
		"bad size": {func(b []byte) (int, error) { return len(b) + 1, nil }, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "slot size")
		}},
	}
	for name, f := range fills {
		t.Run(name, func(t *testing.T) {
			r := rtEchoRing(t, RingOptions{Slots: 2, SlotSize: 64})
			ctx := rtCtx(t)
			tag := uint64(0)
			for i := range 6 {
				if i%2 == 1 {
					// Both slots fail in turn: none may be lost.
					if err := r.Produce(ctx, 99, f.fill); !f.want(err) {
						t.Fatalf("Produce with a failing fill: %v", err)
					}
					continue
				}
				if err := rtProduce(ctx, r, tag, 64); err != nil {
					t.Fatal(err)
				}
				tag++
			}
			// Both slots are free again: the failed fills gave theirs back.
			rtWaitFor(t, "every slot free", func() bool {
				return slices.Equal(r.SlotStates(), []SlotState{SlotFree, SlotFree})
			})
			if st := r.Stats(); st.Submitted != 3 {
				t.Errorf("%d batches submitted, want 3", st.Submitted)
			}
			rtClose(t, r)
			rtCheckEcho(t, rtDrain(t, r), 3, 64)
		})
	}
}

// rtFaultStage runs fault_if on each batch, which faults when the batch's
// first word is 0xDEADBEEF and otherwise reports its first word and its
// word count. slow, when set, also runs slow_sum with that many spins on
// the batch before it (to keep the stream busy while later batches queue
// behind). enqueued counts the times each seq was queued on a stream.
func rtFaultStage(t *testing.T, dev gpu.Device, slow func(Batch) uint32, enqueued *sync.Map) rtStage {
	fault := rtKernel(t, dev, "fault_if")
	sum := rtKernel(t, dev, "slow_sum")
	return rtStage{out: 8, run: func(s gpu.Stream, in any, out gpu.DeviceBuffer, b Batch) error {
		if enqueued != nil {
			n, _ := enqueued.LoadOrStore(b.Seq, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
		}
		if slow != nil {
			if spins := slow(b); spins > 0 {
				if err := s.Launch(sum, rtWarp, in, out, uint32(b.N/4), spins); err != nil {
					return err
				}
			}
		}
		return s.Launch(fault, rtWarp, in, out, uint32(b.N/4))
	}}
}

const rtPoison = 0xDEADBEEF

// rtProduceFault submits batch tag (n bytes of its pattern), poisoned
// (first word 0xDEADBEEF) when poison is set.
func rtProduceFault(ctx context.Context, r *Ring, tag uint64, n int, poison bool) error {
	return r.Produce(ctx, tag, func(buf []byte) (int, error) {
		rtFill(buf[:n], tag)
		if poison {
			binary.LittleEndian.PutUint32(buf, rtPoison)
		}
		return n, nil
	})
}

// rtCheckFaultResult checks a fault_if result of a healthy batch.
func rtCheckFaultResult(c Completion) error {
	if c.Err != nil {
		return fmt.Errorf("%v: %v", c.Batch, c.Err)
	}
	want := make([]byte, 8)
	binary.LittleEndian.PutUint32(want, rtWord(c.Tag, 0))
	binary.LittleEndian.PutUint32(want[4:], uint32(c.N/4))
	if !bytes.Equal(c.Result, want) {
		return fmt.Errorf("%v: result %x, want %x", c.Batch, c.Result, want)
	}
	return nil
}

// rtIsFault reports whether err is the emulator's memory fault.
func rtIsFault(err error) bool {
	var fe *cpuemu.FaultError
	return errors.As(err, &fe)
}

// TestFaultKernelContinue: one batch's kernel faults (an out-of-bounds
// store) under the policy Continue. Expected: that batch alone is
// delivered with the fault (a *cpuemu.FaultError, and the message names
// the batch); every other batch completes with its correct result, those
// queued behind the fault on its stream included (they are run again on a
// fresh stream: with one stream, the batch before the fault keeps the
// stream busy so that later ones queue up behind it, and the test checks
// they were queued twice); Stats count one failure and a replaced stream;
// the ring is not stopped.
func TestFaultKernelContinue(t *testing.T) {
	const total, bad = 24, 9
	for _, streams := range []int{1, 2} {
		t.Run(fmt.Sprintf("streams=%d", streams), func(t *testing.T) {
			dev := openEmu(t)
			var enqueued sync.Map
			slow := func(b Batch) uint32 {
				if b.Seq == bad-1 {
					return 200000
				}
				return 0
			}
			stage := rtFaultStage(t, dev, slow, &enqueued)
			before := runtime.NumGoroutine()
			r, err := NewRing(dev, RingOptions{Slots: 8, SlotSize: 128, Depth: 4, Streams: streams, OnError: Continue, Stage: stage})
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				for i := range total {
					if err := rtProduceFault(rtCtx(t), r, uint64(i), 4*(1+i), i == bad); err != nil {
						t.Error(err)
					}
				}
				r.Close()
			}()
			cs := rtDrain(t, r)
			if len(cs) != total {
				t.Fatalf("%d completions, want %d", len(cs), total)
			}
			for i, c := range cs {
				if c.Seq != uint64(i) || c.Tag != uint64(i) {
					t.Fatalf("completion %d is %v", i, c.Batch)
				}
				if i == bad {
					if !rtIsFault(c.Err) || !strings.Contains(c.Err.Error(), fmt.Sprintf("batch %d ", bad)) {
						t.Errorf("the poisoned batch: err %v; want a *cpuemu.FaultError naming batch %d", c.Err, bad)
					}
					if c.Result != nil {
						t.Errorf("the failed batch has a result")
					}
					continue
				}
				if err := rtCheckFaultResult(c); err != nil {
					t.Error(err)
				}
			}
			st := r.Stats()
			if st.Failed != 1 || st.StreamsReplaced < 1 || st.Cancelled != 0 || st.Completed != total {
				t.Errorf("stats: %d failed, %d streams replaced, %d cancelled, %d completed; want 1, >=1, 0, %d", st.Failed, st.StreamsReplaced, st.Cancelled, st.Completed, total)
			}
			if r.Err() != nil {
				t.Errorf("Err() = %v under Continue", r.Err())
			}
			rtGoroutines(t, before) // the failed stream was closed too
			var rerun []uint64
			enqueued.Range(func(k, v any) bool {
				if v.(*atomic.Int32).Load() > 1 {
					rerun = append(rerun, k.(uint64))
				}
				return true
			})
			slices.Sort(rerun)
			t.Logf("batches run again after the fault: %v", rerun)
			if streams == 1 && (len(rerun) == 0 || rerun[0] != bad+1) {
				t.Errorf("one stream: batches run again %v; want those right after batch %d, queued behind it while batch %d spun", rerun, bad, bad-1)
			}
			if slices.ContainsFunc(rerun, func(s uint64) bool { return s <= bad }) {
				t.Errorf("batches run again %v: none up to the failed one should be", rerun)
			}
		})
	}
}

// TestFaultKernelStop: one batch's kernel faults under the policy Stop.
// Expected: every batch before it completes normally; it is delivered with
// the fault; every later batch either completed on another stream before
// the stop or is delivered with an error wrapping ErrStopped (with one
// stream: all of them); Err() wraps ErrStopped and the fault; Acquire,
// TryAcquire, Produce and Submit then refuse with ErrStopped; Close
// succeeds and every submitted batch was delivered once.
func TestFaultKernelStop(t *testing.T) {
	const total, bad = 24, 6
	for _, streams := range []int{1, 2} {
		t.Run(fmt.Sprintf("streams=%d", streams), func(t *testing.T) {
			dev := openEmu(t)
			slow := func(b Batch) uint32 {
				if b.Seq == bad-1 {
					return 200000
				}
				return 0
			}
			stage := rtFaultStage(t, dev, slow, nil)
			before := runtime.NumGoroutine()
			r, err := NewRing(dev, RingOptions{Slots: 8, SlotSize: 64, Depth: 4, Streams: streams, OnError: Stop, Stage: stage})
			if err != nil {
				t.Fatal(err)
			}
			ctx := rtCtx(t)
			held, err := r.Acquire(ctx) // submitted after the stop
			if err != nil {
				t.Fatal(err)
			}
			var submitted atomic.Int64
			var produceErr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := range total {
					if err := rtProduceFault(ctx, r, uint64(i), 32, i == bad); err != nil {
						produceErr = err
						return
					}
					submitted.Add(1)
				}
			}()
			var cs []Completion
			for len(cs) <= bad {
				c, err := rtNext(r)
				if err != nil {
					t.Fatal(err)
				}
				cs = append(cs, c)
			}
			// The failed batch is delivered: the ring has stopped.
			if err := r.Err(); !errors.Is(err, ErrStopped) || !rtIsFault(err) {
				t.Errorf("Err() = %v; want it to wrap ErrStopped and the fault", err)
			}
			if _, err := r.Acquire(ctx); !errors.Is(err, ErrStopped) {
				t.Errorf("Acquire after the stop: %v, want ErrStopped", err)
			}
			if s, ok := r.TryAcquire(); ok {
				t.Errorf("TryAcquire after the stop lent slot %d", s.Index())
			}
			if err := rtProduce(ctx, r, 1000, 8); !errors.Is(err, ErrStopped) {
				t.Errorf("Produce after the stop: %v, want ErrStopped", err)
			}
			if err := r.Submit(held, 8, 1001); !errors.Is(err, ErrStopped) {
				t.Errorf("Submit after the stop: %v, want ErrStopped", err)
			}
			<-done
			if !errors.Is(produceErr, ErrStopped) {
				t.Errorf("the producer stopped with %v, want ErrStopped", produceErr)
			}
			rtClose(t, r)
			cs = append(cs, rtDrain(t, r)...)
			if n := submitted.Load(); int64(len(cs)) != n || n <= bad || n == total {
				t.Fatalf("%d completions for %d batches submitted; want one each, past batch %d and short of %d", len(cs), n, bad, total)
			}
			var stopped, ranLater int
			for i, c := range cs {
				if c.Seq != uint64(i) {
					t.Fatalf("completion %d is %v", i, c.Batch)
				}
				switch {
				case i < bad:
					if err := rtCheckFaultResult(c); err != nil {
						t.Error(err)
					}
				case i == bad:
					if !rtIsFault(c.Err) || errors.Is(c.Err, ErrStopped) {
						t.Errorf("the poisoned batch: %v; want its fault", c.Err)
					}
				case c.Err == nil:
					ranLater++
					if err := rtCheckFaultResult(c); err != nil {
						t.Error(err)
					}
				case errors.Is(c.Err, ErrStopped):
					stopped++
				default:
					t.Errorf("%v after the failed batch: %v; want ErrStopped or success", c.Batch, c.Err)
				}
			}
			if streams == 1 && ranLater > 0 {
				t.Errorf("one stream: %d batches after the failed one ran", ranLater)
			}
			// One stream: the batches after the failed one were behind it.
			// Two: they may all have reached the other stream, and run,
			// before the stop (a producer the kernels' workers keep off the
			// processors for a while, say): only then may none be stopped.
			if stopped == 0 && (streams == 1 || ranLater < len(cs)-bad-1) {
				t.Errorf("no batch was stopped (%d of %d after the failed one ran)", ranLater, len(cs)-bad-1)
			}
			st := r.Stats()
			if st.Failed != 1 || st.Cancelled != uint64(stopped) || st.Completed != uint64(len(cs)) {
				t.Errorf("stats: %d failed, %d cancelled, %d completed; want 1, %d, %d", st.Failed, st.Cancelled, st.Completed, stopped, len(cs))
			}
			if st.Slots != [4]int{8, 0, 0, 0} {
				t.Errorf("slots after Close: %v", st.Slots)
			}
			rtGoroutines(t, before)
		})
	}
}

// TestFaultStage: the stage itself misbehaves, on the host: Enqueue fails
// for batch 3, Collect fails for batch 5 and panics for batch 7. Expected:
// those batches carry the error (the panic as an error naming it), the
// others complete correctly, and the ring keeps going (nothing counts as
// a device failure, no stream is replaced).
func TestFaultStage(t *testing.T) {
	dev := openEmu(t)
	errCollect := errors.New("collect refused")
	stage := rtStage{out: 8,
		run: func(s gpu.Stream, in any, out gpu.DeviceBuffer, b Batch) error {
			if b.Seq == 3 {
				return errors.New("enqueue refused")
			}
			return s.Memset(out, 0, 8, byte(b.Tag))
		},
		collect: func(b Batch) error {
			switch b.Seq {
			case 5:
				return errCollect
			case 7:
				panic("collect exploded")
			}
			return nil
		}}
	r, err := NewRing(dev, RingOptions{Slots: 3, SlotSize: 8, Stage: stage})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := range 10 {
			if err := rtProduce(rtCtx(t), r, uint64(i), 8); err != nil {
				t.Error(err)
			}
		}
		r.Close()
	}()
	cs := rtDrain(t, r)
	if len(cs) != 10 {
		t.Fatalf("%d completions, want 10", len(cs))
	}
	for i, c := range cs {
		var ok bool
		switch i {
		case 3:
			ok = c.Err != nil && strings.Contains(c.Err.Error(), "enqueue refused")
		case 5:
			ok = errors.Is(c.Err, errCollect)
		case 7:
			ok = c.Err != nil && strings.Contains(c.Err.Error(), "panic") && strings.Contains(c.Err.Error(), "collect exploded")
		default:
			ok = c.Err == nil && bytes.Equal(c.Result, bytes.Repeat([]byte{byte(i)}, 8))
		}
		if !ok || c.Seq != uint64(i) {
			t.Errorf("completion %d: %v, err %v, result %x", i, c.Batch, c.Err, c.Result)
		}
	}
	if st := r.Stats(); st.Failed != 0 || st.StreamsReplaced != 0 || st.Completed != 10 {
		t.Errorf("stats: %d failed, %d streams replaced, %d completed", st.Failed, st.StreamsReplaced, st.Completed)
	}
}

// TestFaultContextCancelled: the producers' context is cancelled while
// they wait on a full ring (no consumer yet). Expected: every blocked
// producer returns an error wrapping context.Canceled at once; no slot is
// lost (all free again once the batches are through); every batch
// submitted before the cancellation is delivered exactly once, intact; a
// Next waiting with a cancelled context returns context.Canceled; the ring
// still works with a live context.
func TestFaultContextCancelled(t *testing.T) {
	const producers = 3
	r := rtEchoRing(t, RingOptions{Slots: 2, SlotSize: 32, Depth: 1, Completions: 1})
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var submitted []uint64
	errs := make(chan error, producers)
	for p := range producers {
		go func() {
			for i := 0; ; i++ {
				tag := uint64(p)<<32 | uint64(i)
				if err := rtProduce(ctx, r, tag, 32); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				submitted = append(submitted, tag)
				mu.Unlock()
			}
		}()
	}
	// Full: completions queue (1), one batch waiting to deliver, both
	// slots submitted; every producer waits in Acquire.
	rtWaitFor(t, "every producer to block", func() bool { return r.Stats().BlockedAcquires >= producers })
	time.Sleep(5 * time.Millisecond)
	cancel()
	for range producers {
		select {
		case err := <-errs:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("a producer returned %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a producer is still blocked after its context was cancelled")
		}
	}
	mu.Lock()
	want := slices.Clone(submitted)
	mu.Unlock()
	if len(want) < 3 {
		t.Fatalf("%d batches submitted before the ring filled; want at least Slots+Depth+Completions-1 = 3", len(want))
	}
	var got []Completion
	for range want {
		c, err := rtNext(r)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if _, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context and nothing to take: %v, want context.Canceled", err)
	}
	rtWaitFor(t, "every slot free", func() bool { return slices.Equal(r.SlotStates(), []SlotState{SlotFree, SlotFree}) })
	if err := rtProduce(rtCtx(t), r, 1<<40, 32); err != nil {
		t.Fatalf("Produce with a live context after the cancellation: %v", err)
	}
	want = append(want, 1<<40)
	rtClose(t, r)
	got = append(got, rtDrain(t, r)...)
	if len(got) != len(want) {
		t.Fatalf("%d completions for %d batches submitted", len(got), len(want))
	}
	for i, c := range got {
		if c.Err != nil || c.Seq != uint64(i) || !bytes.Equal(c.Result, rtBytes(c.Tag, 32)) {
			t.Errorf("completion %d: %v, err %v", i, c.Batch, c.Err)
		}
	}
	var gotTags []uint64
	for _, c := range got {
		gotTags = append(gotTags, c.Tag)
	}
	slices.Sort(gotTags)
	slices.Sort(want)
	if !slices.Equal(gotTags, want) {
		t.Errorf("delivered tags %x, submitted %x", gotTags, want)
	}
}

// TestFaultSlowConsumer: a consumer much slower than the producers.
// Expected: the producers block (ProducerBlocked > 0) instead of piling up
// work: at any moment, the batches submitted and not yet taken by Next
// number at most Slots + Depth + Completions (+1 for the one the consumer
// has in hand), and the completion queue never holds more than its
// capacity. Every batch still arrives, in order, intact.
func TestFaultSlowConsumer(t *testing.T) {
	const producers = 4
	perProducer := 30
	if testing.Short() {
		perProducer = 15
	}
	opts := RingOptions{Slots: 4, SlotSize: 128, Depth: 2, Streams: 2, Completions: 2}
	r := rtEchoRing(t, opts)
	var submitted, taken atomic.Int64
	var maxOutstanding, maxPending atomic.Int64
	bound := int64(opts.Slots + opts.Depth + opts.Completions + 1)
	note := func(m *atomic.Int64, v int64) {
		for old := m.Load(); v > old && !m.CompareAndSwap(old, v); old = m.Load() {
		}
	}
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProducer {
				tag := uint64(p)<<32 | uint64(i)
				if err := rtProduce(rtCtx(t), r, tag, 1+i*4); err != nil {
					t.Error(err)
					return
				}
				note(&maxOutstanding, submitted.Add(1)-taken.Load())
			}
		}()
	}
	var closing atomic.Bool
	done := make(chan struct{})
	go func() { wg.Wait(); closing.Store(true); r.Close(); close(done) }()
	n := 0
	for {
		// Close lifts the queue's bound (it must not wait for the
		// consumer): count only what was read before Close began.
		if p := int64(r.cq.pending()); !closing.Load() {
			note(&maxPending, p)
		}
		time.Sleep(time.Millisecond) // the slow consumer
		c, err := rtNext(r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		taken.Add(1)
		if c.Err != nil || c.Seq != uint64(n) || !bytes.Equal(c.Result, rtBytes(c.Tag, 1+int(c.Tag&0xFFFF)*4)) {
			t.Errorf("completion %d: %v, err %v", n, c.Batch, c.Err)
		}
		n++
	}
	<-done
	if n != producers*perProducer {
		t.Errorf("%d completions, want %d", n, producers*perProducer)
	}
	st := r.Stats()
	rtCheckStats(t, st, r.Options())
	if st.ProducerBlocked <= 0 || st.BlockedAcquires == 0 {
		t.Errorf("ProducerBlocked %v (%d Acquires): the producers should have waited for the slow consumer", st.ProducerBlocked, st.BlockedAcquires)
	}
	if m := maxOutstanding.Load(); m > bound {
		t.Errorf("up to %d batches submitted and not taken; want at most %d: the ring must not buffer without bound", m, bound)
	}
	if m := maxPending.Load(); m > int64(opts.Completions) {
		t.Errorf("up to %d completions waiting for Next, capacity %d", m, opts.Completions)
	}
	t.Logf("max outstanding %d (bound %d), max pending %d, producers blocked %v over %d Acquires", maxOutstanding.Load(), bound, maxPending.Load(), st.ProducerBlocked, st.BlockedAcquires)
}

// TestFaultCloseWhileBlocked: Close while producers wait in Acquire on a
// full ring and no consumer runs. Expected: Close does not wait for a
// consumer; the blocked producers return ErrClosed; a producer holding a
// slot across Close gets ErrClosed from Submit, and its Release still
// works; every batch submitted before Close is delivered, then Next says
// io.EOF; no goroutine is left behind.
func TestFaultCloseWhileBlocked(t *testing.T) {
	const producers = 3
	dev := openEmu(t)
	before := runtime.NumGoroutine()
	r, err := NewRing(dev, RingOptions{Slots: 3, SlotSize: 16, Depth: 1, Completions: 1, Stage: echoStage{16}})
	if err != nil {
		t.Fatal(err)
	}
	held, err := r.Acquire(rtCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var submitted atomic.Int64
	errs := make(chan error, producers)
	for p := range producers {
		go func() {
			for i := 0; ; i++ {
				if err := rtProduce(rtCtx(t), r, uint64(p)<<32|uint64(i), 16); err != nil {
					errs <- err
					return
				}
				submitted.Add(1)
			}
		}()
	}
	rtWaitFor(t, "every producer to block", func() bool { return r.Stats().BlockedAcquires >= producers })
	closed := make(chan error)
	go func() { closed <- r.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for a consumer")
	}
	for range producers {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("a blocked producer returned %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a producer is still blocked after Close")
		}
	}
	if err := r.Submit(held, 16, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit of a slot held across Close: %v, want ErrClosed", err)
	}
	if err := r.Release(held); err == nil {
		t.Errorf("Release of a slot that Submit already gave back: no error")
	}
	cs := rtDrain(t, r)
	if int64(len(cs)) != submitted.Load() || len(cs) == 0 {
		t.Errorf("%d completions for %d batches submitted", len(cs), submitted.Load())
	}
	for i, c := range cs {
		if c.Err != nil || c.Seq != uint64(i) || !bytes.Equal(c.Result, rtBytes(c.Tag, 16)) {
			t.Errorf("completion %d: %v, err %v", i, c.Batch, c.Err)
		}
	}
	rtGoroutines(t, before)

	// A slot held across Close and Released after it.
	r2, err := NewRing(dev, RingOptions{Slots: 2, SlotSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	s, err := r2.Acquire(rtCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	rtClose(t, r2)
	if err := r2.Release(s); err != nil {
		t.Errorf("Release of a slot held across Close: %v", err)
	}
	if st := r2.Stats(); st.Slots != [4]int{2, 0, 0, 0} {
		t.Errorf("slots after the late Release: %v", st.Slots)
	}
	rtGoroutines(t, before)
}

// TestFaultAbort: Abort while batches wait behind slow kernels. Expected:
// the batches already on the device (two, Depth) complete normally; every
// later batch is delivered with ErrAborted; Abort returns exactly the
// aborted ones, in submission order; every batch is delivered once; the
// completed ones form a prefix of the submission order, the aborted ones
// the rest; the ring then refuses work with ErrClosed; and a second Abort
// returns the same list.
func TestFaultAbort(t *testing.T) {
	const total = 8
	for _, order := range []Order{Ordered, Unordered} {
		t.Run(order.String(), func(t *testing.T) {
			dev := openEmu(t)
			before := runtime.NumGoroutine()
			k := rtKernel(t, dev, "slow_sum")
			r, err := NewRing(dev, RingOptions{Slots: total, SlotSize: 64, Depth: 2, Streams: 2, Order: order,
				Stage: rtSlowSum(k, func(Batch) uint32 { return 400000 }, nil)})
			if err != nil {
				t.Fatal(err)
			}
			for i := range total {
				if err := rtProduce(rtCtx(t), r, uint64(i), 64); err != nil {
					t.Fatal(err)
				}
			}
			rtWaitFor(t, "two batches on the device", func() bool { return r.Stats().InFlight == 2 })
			aborted, err := r.Abort()
			if err != nil {
				t.Fatal(err)
			}
			cs := rtDrain(t, r)
			if len(cs) != total {
				t.Fatalf("%d completions, want %d", len(cs), total)
			}
			seen := make([]bool, total)
			var gotAborted []Batch
			var ran int
			for _, c := range cs {
				if seen[c.Seq] {
					t.Fatalf("%v delivered twice", c.Batch)
				}
				seen[c.Seq] = true
				switch {
				case errors.Is(c.Err, ErrAborted):
					gotAborted = append(gotAborted, c.Batch)
				case c.Err != nil:
					t.Errorf("%v: %v", c.Batch, c.Err)
				default:
					ran++
					if err := rtCheckSums(c); err != nil {
						t.Error(err)
					}
				}
			}
			slices.SortFunc(gotAborted, func(a, b Batch) int { return int(a.Seq) - int(b.Seq) })
			if !slices.Equal(aborted, gotAborted) {
				t.Errorf("Abort returned %v; the completions with ErrAborted are %v", aborted, gotAborted)
			}
			if ran < 2 || ran == total {
				t.Errorf("%d batches ran; want the 2 on the device at Abort, and not all %d", ran, total)
			}
			for i, b := range aborted {
				if b.Seq != uint64(ran+i) {
					t.Errorf("aborted %v; want batches %d..%d, the ones after those that ran", aborted, ran, total-1)
					break
				}
			}
			st := r.Stats()
			if st.Cancelled != uint64(len(aborted)) || st.Completed != total {
				t.Errorf("stats: %d cancelled, %d completed; want %d, %d", st.Cancelled, st.Completed, len(aborted), total)
			}
			if again, err := r.Abort(); err != nil || !slices.Equal(again, aborted) {
				t.Errorf("second Abort: %v, %v", again, err)
			}
			if err := rtProduce(rtCtx(t), r, 99, 8); !errors.Is(err, ErrClosed) {
				t.Errorf("Produce after Abort: %v, want ErrClosed", err)
			}
			rtGoroutines(t, before)
		})
	}
}
