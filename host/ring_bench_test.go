package host

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkRingThroughput measures the ring's staging alone: no stage
// (the device work of a batch is its copy to the staging buffer), one
// consumer that takes each completion and drops it, and producers that
// Acquire and Submit whole slots without filling them (their fill is left
// out). In the same run it measures single-thread copy() of the same bytes
// (the ring's own slots, in turn, into Depth destinations of the same
// size: the ring's working set) and reports both rates and their ratio,
// ring/copy. The goals are ring/copy >= 0.95 at 1 MiB slots and >= 0.7 at
// 64 KiB.
//
// A second reference, chan, is the floor of any design that hands each
// batch from the goroutine that copies it to another: one goroutine does
// the same copies and sends each batch's number over a buffered channel as
// deep as the ring's completion queue to the benchmark's goroutine, which
// receives them as it takes the ring's completions. The benchmark reports
// its rate, chan/copy and ring/chan: a ring/copy short of a goal that
// chan/copy misses too is the cost of a goroutine handoff on that
// machine, not of the ring.
//
// The three take turns, a round of about 128 MiB each, and each rate is
// over all its rounds: the machine's memory bandwidth drifts from one
// second to the next, and on a shared machine so does the CPU time the
// benchmark gets, so the ring and its references must see the same drift.
//
// Beside the rates it reports the process's CPU time (all threads, where
// the system says) per batch of the ring's rounds and of the copy's, and
// their ratio the same way round, ring/copy-cpu: what the ring spends on
// top of the copy, whatever share of the machine the benchmark gets.
//
// On the emulator a staging copy is one memmove into cpuemu memory under
// the device's lock, so copies never overlap: more streams only hide the
// per-batch costs (stream ops, events, goroutine handoffs) behind other
// batches' copies.
func BenchmarkRingThroughput(b *testing.B) {
	configs := []struct{ slots, depth, streams, producers int }{
		{4, 4, 1, 1},
		{4, 4, 2, 1},
		{8, 8, 1, 1},
		{8, 8, 2, 2},
	}
	for _, size := range []int{64 << 10, 1 << 20, 4 << 20} {
		for _, c := range configs {
			name := fmt.Sprintf("slot=%dKiB/slots=%d,depth=%d,streams=%d,producers=%d", size>>10, c.slots, c.depth, c.streams, c.producers)
			b.Run(name, func(b *testing.B) {
				benchThroughput(b, RingOptions{Slots: c.slots, SlotSize: size, Depth: c.depth, Streams: c.streams}, c.producers)
			})
		}
	}
}

// benchRoundBytes is the bytes of one round of a throughput benchmark, the
// ring's or its reference's.
const benchRoundBytes = 128 << 20

func benchThroughput(b *testing.B, opts RingOptions, producers int) {
	b.StopTimer() // the framework times the ring's rounds alone
	size := opts.SlotSize
	b.SetBytes(int64(size))
	dev := openEmu(b)
	r, err := NewRing(dev, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	// Warm up: fill every slot once and run them through every staging
	// buffer, so that no page is first touched while timed.
	for i := range 2 * opts.Slots * opts.Depth {
		if err := r.Produce(ctx, 0, func(buf []byte) (int, error) { rtFill(buf, uint64(i)); return size, nil }); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}

	// The reference: single-thread copy() from the ring's slots.
	dst := make([][]byte, opts.Depth)
	for i := range dst {
		dst[i] = make([]byte, size)
		rtFill(dst[i], 0) // fault the pages in
	}
	// withSlots lends the ring's slots to a reference round.
	withSlots := func(round func(src [][]byte) time.Duration) time.Duration {
		var src [][]byte
		var slots []*Slot
		for range opts.Slots {
			s, err := r.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			slots = append(slots, s)
			src = append(src, s.Bytes())
		}
		d := round(src)
		for _, s := range slots {
			if err := r.Release(s); err != nil {
				b.Fatal(err)
			}
		}
		return d
	}
	copyRound := func(n int) time.Duration {
		return withSlots(func(src [][]byte) time.Duration {
			start := time.Now()
			for i := range n {
				copy(dst[i%len(dst)], src[i%len(src)])
			}
			return time.Since(start)
		})
	}
	// The floor of a handoff: the same copies on another goroutine, each
	// batch's number sent over a channel as deep as the completion queue.
	chanRound := func(n int) time.Duration {
		return withSlots(func(src [][]byte) time.Duration {
			ch := make(chan int, r.Options().Completions)
			start := time.Now()
			go func() {
				for i := range n {
					copy(dst[i%len(dst)], src[i%len(src)])
					ch <- i
				}
			}()
			for range n {
				<-ch
			}
			return time.Since(start)
		})
	}
	ringRound := func(n int) time.Duration {
		b.StartTimer()
		defer b.StopTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for p := range producers {
			np := n / producers
			if p < n%producers {
				np++
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range np {
					s, err := r.Acquire(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					if err := r.Submit(s, size, 0); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		for range n {
			c, err := r.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if c.Err != nil {
				b.Fatal(c.Err)
			}
		}
		d := time.Since(start)
		wg.Wait()
		return d
	}

	round := max(1, benchRoundBytes/size)
	var copyTime, chanTime, ringTime, copyCPU, chanCPU, ringCPU time.Duration
	cpuOK := true
	cpu := func(round func(int) time.Duration, n int, wall, used *time.Duration) {
		c0, ok0 := cpuTime()
		*wall += round(n)
		c1, ok1 := cpuTime()
		*used += c1 - c0
		cpuOK = cpuOK && ok0 && ok1
	}
	for done := 0; done < b.N; {
		n := min(round, b.N-done)
		cpu(copyRound, n, &copyTime, &copyCPU)
		cpu(chanRound, n, &chanTime, &chanCPU)
		cpu(ringRound, n, &ringTime, &ringCPU)
		done += n
	}

	bytes := float64(b.N) * float64(size)
	ringRate, copyRate := bytes/ringTime.Seconds()/1e9, bytes/copyTime.Seconds()/1e9
	chanRate := bytes / chanTime.Seconds() / 1e9
	b.ReportMetric(ringRate, "ring-GB/s")
	b.ReportMetric(copyRate, "copy-GB/s")
	b.ReportMetric(chanRate, "chan-GB/s")
	b.ReportMetric(ringRate/copyRate, "ring/copy")
	b.ReportMetric(chanRate/copyRate, "chan/copy")
	b.ReportMetric(ringRate/chanRate, "ring/chan")
	if cpuOK && ringCPU > 0 && copyCPU > 0 {
		b.ReportMetric(float64(ringCPU.Nanoseconds())/float64(b.N), "ring-cpu-ns/batch")
		b.ReportMetric(float64(copyCPU.Nanoseconds())/float64(b.N), "copy-cpu-ns/batch")
		b.ReportMetric(copyCPU.Seconds()/ringCPU.Seconds(), "ring/copy-cpu")
	}
}

// BenchmarkRingHandoff measures what the ring costs per slot when the
// batch is tiny (64 bytes: the copy is next to nothing): one producer
// goroutine Acquires and Submits, one consumer takes each completion. In
// the same run a Go buffered channel carries the same number of 64-byte
// slots the same way (a free channel and a full one, as many slots as the
// ring has), and the benchmark reports both in ns per slot, the ring's
// overhead over the channels, and their ratio, ring/chan. The two take
// turns, rounds of 4096 slots, as in BenchmarkRingThroughput.
func BenchmarkRingHandoff(b *testing.B) {
	for _, c := range []struct{ slots, streams int }{{8, 2}, {8, 1}} {
		b.Run(fmt.Sprintf("slots=%d,streams=%d", c.slots, c.streams), func(b *testing.B) {
			benchHandoff(b, RingOptions{Slots: c.slots, SlotSize: 64, Streams: c.streams})
		})
	}
}

func benchHandoff(b *testing.B, opts RingOptions) {
	b.StopTimer()
	// The channel pair.
	free := make(chan []byte, opts.Slots)
	full := make(chan []byte, opts.Slots)
	for range opts.Slots {
		free <- make([]byte, opts.SlotSize)
	}
	chanRound := func(n int) time.Duration {
		start := time.Now()
		go func() {
			for range n {
				s := <-free
				full <- s
			}
		}()
		for range n {
			free <- <-full
		}
		return time.Since(start)
	}

	dev := openEmu(b)
	r, err := NewRing(dev, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	ringRound := func(n int) time.Duration {
		b.StartTimer()
		defer b.StopTimer()
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range n {
				s, err := r.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				if err := r.Submit(s, opts.SlotSize, 0); err != nil {
					b.Error(err)
					return
				}
			}
		}()
		for range n {
			if _, err := r.Next(ctx); err != nil {
				b.Fatal(err)
			}
		}
		d := time.Since(start)
		<-done
		return d
	}

	const round = 4096
	var chanTime, ringTime time.Duration
	for done := 0; done < b.N; {
		n := min(round, b.N-done)
		chanTime += chanRound(n)
		ringTime += ringRound(n)
		done += n
	}

	ringNs := float64(ringTime.Nanoseconds()) / float64(b.N)
	chanNs := float64(chanTime.Nanoseconds()) / float64(b.N)
	b.ReportMetric(ringNs, "ring-ns/slot")
	b.ReportMetric(chanNs, "chan-ns/slot")
	b.ReportMetric(ringNs-chanNs, "overhead-ns/slot")
	b.ReportMetric(ringNs/chanNs, "ring/chan")
}
