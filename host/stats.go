package host

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Stats describe a ring's life so far (or, after Close, all of it).
type Stats struct {
	Submitted uint64 // batches submitted
	Completed uint64 // batches delivered to the completion queue, failures included
	Failed    uint64 // batches whose copy or kernel failed on the device
	Cancelled uint64 // batches aborted, or not run after a Stop
	Bytes     uint64 // input bytes of the batches that completed without error
	Elapsed   time.Duration
	// Throughput is Bytes per second of Elapsed.
	Throughput float64

	// ProducerBlocked is the total time producers waited in Acquire for a
	// free slot: the ring was full (backpressure). BlockedAcquires counts
	// the Acquires that waited, FullTryAcquires the TryAcquires that found
	// no slot (overflows).
	ProducerBlocked time.Duration
	BlockedAcquires uint64
	FullTryAcquires uint64
	// ConsumerStarved is the total time Next waited for a completion.
	ConsumerStarved time.Duration
	StarvedNexts    uint64

	// InFlight is the number of batches on the device now, MaxInFlight
	// the most at once, MeanInFlight the time-weighted mean. A batch
	// counts from the moment it takes a frame until its completion goes
	// into the completion queue and the frame is free again.
	InFlight     int
	MaxInFlight  int
	MeanInFlight float64
	// SlotsBusy counts the slots not free now (filling, queued or in
	// flight), MeanSlotsBusy is its time-weighted mean, and Slots holds
	// the count in each SlotState now.
	SlotsBusy     int
	MeanSlotsBusy float64
	Slots         [4]int
	// Pending is the number of completions done and waiting for Next.
	Pending int
	// Occupancy samples SlotsBusy and InFlight over time, at most
	// maxSamples of them, evenly thinned on long runs.
	Occupancy []OccupancySample

	// Latency of the completed batches, Submit to completion.
	MeanLatency, MaxLatency time.Duration
	// StreamsReplaced counts streams replaced after a failure (policy
	// Continue).
	StreamsReplaced uint64
}

// OccupancySample is the ring's occupancy at one moment.
type OccupancySample struct {
	At        time.Duration // since the ring started
	SlotsBusy int
	InFlight  int
}

const maxSamples = 1024

// stats keeps a ring's statistics without a lock on the way of a batch:
// counts are atomics, and the time-weighted means are sums of intervals,
// each slot's busy time and each batch's time in flight added as it ends
// (every slot and frame remembers when its interval began), which need no
// order among the goroutines that add them. The occupancy samples take a
// lock, only when the sample stride has passed since the last one. What
// the completion queue delivers (completed, bytes, latencies) it counts
// itself, under its own lock.
type stats struct {
	start           time.Time
	submitted       atomic.Uint64
	failed          atomic.Uint64
	tryFull         atomic.Uint64
	streamsReplaced atomic.Uint64
	blocked         atomic.Int64 // nanoseconds
	blockedN        atomic.Uint64
	starved         atomic.Int64 // nanoseconds
	starvedN        atomic.Uint64

	busy        atomic.Int32 // slots not free
	inFlight    atomic.Int32
	maxInFlight atomic.Int32
	// busyNanos and flightNanos are the slots' busy time and the batches'
	// time in flight, of the intervals that have ended.
	busyNanos   atomic.Int64
	flightNanos atomic.Int64

	ended atomic.Bool
	end   atomic.Int64 // since start, in nanoseconds; set when the ring is shut down

	// nextSample is when (since start, in nanoseconds) a change is next
	// sampled.
	nextSample   atomic.Int64
	mu           sync.Mutex // guards the samples
	samples      []OccupancySample
	sampleStride time.Duration // minimum spacing of samples; doubles on thinning
}

func (s *stats) init() {
	s.start = time.Now()
	s.sampleStride = 50 * time.Microsecond
	s.samples = append(s.samples, OccupancySample{})
	s.nextSample.Store(int64(s.sampleStride))
}

// now is the time since the ring started. Every time the ring keeps is
// one of these: a monotonic clock read, half the price of time.Now, which
// the ring pays a few times per batch.
func (s *stats) now() time.Duration { return time.Since(s.start) }

// clamp is now, or the end once the ring has shut down: after it (a
// producer gives back a slot it held across Close, say) time stands at its
// end.
func (s *stats) clamp(now time.Duration) time.Duration {
	if s.ended.Load() {
		return min(now, time.Duration(s.end.Load()))
	}
	return now
}

// lent accounts for slot sl leaving the free list at now.
func (s *stats) lent(now time.Duration, sl *Slot) {
	sl.busySince.Store(int64(now))
	s.busy.Add(1)
	s.sample(now)
}

// freed accounts for slot sl going back to the free list at now.
func (s *stats) freed(now time.Duration, sl *Slot) {
	s.busyNanos.Add(int64(s.clamp(now)) - sl.busySince.Load())
	s.busy.Add(-1)
	s.sample(now)
}

// dispatched accounts for a batch taking frame f at now.
func (s *stats) dispatched(now time.Duration, f *frame) {
	f.since.Store(int64(now))
	n := s.inFlight.Add(1)
	for m := s.maxInFlight.Load(); n > m && !s.maxInFlight.CompareAndSwap(m, n); m = s.maxInFlight.Load() {
	}
	s.sample(now)
}

// released accounts for frame f coming back at now, its batch's
// completion in the completion queue.
func (s *stats) released(now time.Duration, f *frame) {
	s.flightNanos.Add(int64(s.clamp(now)) - f.since.Load())
	s.inFlight.Add(-1)
	s.sample(now)
}

// sample records the occupancy at now when the stride has passed since
// the last sample.
func (s *stats) sample(now time.Duration) {
	if int64(now) < s.nextSample.Load() {
		return
	}
	s.mu.Lock()
	s.sampleLocked(now)
	s.mu.Unlock()
}

// sampleLocked records the occupancy at now; s.mu is held.
func (s *stats) sampleLocked(now time.Duration) {
	at := s.clamp(now)
	if n := len(s.samples); n > 0 {
		at = max(at, s.samples[n-1].At) // samplers may come out of turn
	}
	if len(s.samples) == maxSamples {
		// Keep every other sample: the series stays even and bounded.
		for i := range maxSamples / 2 {
			s.samples[i] = s.samples[2*i]
		}
		s.samples = s.samples[:maxSamples/2]
		s.sampleStride *= 2
	}
	s.samples = append(s.samples, OccupancySample{At: at, SlotsBusy: int(s.busy.Load()), InFlight: int(s.inFlight.Load())})
	s.nextSample.Store(int64(at + s.sampleStride))
}

// blockedAcquire counts an Acquire that waits, as it starts to wait;
// addBlocked adds its wait when it is over.
func (s *stats) blockedAcquire() { s.blockedN.Add(1) }

func (s *stats) addBlocked(d time.Duration) { s.blocked.Add(int64(d)) }

func (s *stats) addStarved(d time.Duration) {
	s.starved.Add(int64(d))
	s.starvedN.Add(1)
}

// finish marks the end of the ring's time, with a last sample.
func (s *stats) finish() {
	now := s.now()
	s.mu.Lock()
	s.sampleLocked(now)
	s.end.Store(int64(now))
	s.ended.Store(true)
	s.mu.Unlock()
}

// deliveredCounts are what the completion queue counts of the completions
// that go in.
type deliveredCounts struct {
	completed  uint64
	cancelled  uint64
	bytes      uint64
	latencySum time.Duration
	latencyMax time.Duration
}

func (d *deliveredCounts) count(c *Completion) {
	d.completed++
	switch {
	case c.Err == nil:
		d.bytes += uint64(c.N)
	case errors.Is(c.Err, ErrAborted) || errors.Is(c.Err, ErrStopped):
		d.cancelled++
	}
	d.latencySum += c.Latency
	d.latencyMax = max(d.latencyMax, c.Latency)
}

// Stats returns the ring's statistics so far. Once the ring is closed they
// are exact; while batches move, the means may be off by the slots and
// batches that change state as they are read.
func (r *Ring) Stats() Stats {
	s := &r.stats
	elapsed := s.now()
	if s.ended.Load() {
		elapsed = time.Duration(s.end.Load())
	}
	// The intervals that have ended, then those still open, up to now.
	busyArea, flightArea := float64(s.busyNanos.Load()), float64(s.flightNanos.Load())
	var slots [4]int
	for _, sl := range r.slots {
		st := SlotState(sl.state.Load())
		slots[st]++
		if st != SlotFree {
			busyArea += float64(max(0, int64(elapsed)-sl.busySince.Load()))
		}
	}
	for _, f := range r.allFrames {
		if since := f.since.Load(); since >= 0 {
			flightArea += float64(max(0, int64(elapsed)-since))
		}
	}
	d, pending := r.cq.counts()
	s.mu.Lock()
	samples := append([]OccupancySample(nil), s.samples...)
	s.mu.Unlock()
	st := Stats{
		Submitted:       s.submitted.Load(),
		Completed:       d.completed,
		Failed:          s.failed.Load(),
		Cancelled:       d.cancelled,
		Bytes:           d.bytes,
		Elapsed:         elapsed,
		ProducerBlocked: time.Duration(s.blocked.Load()),
		BlockedAcquires: s.blockedN.Load(),
		FullTryAcquires: s.tryFull.Load(),
		ConsumerStarved: time.Duration(s.starved.Load()),
		StarvedNexts:    s.starvedN.Load(),
		InFlight:        int(s.inFlight.Load()),
		MaxInFlight:     int(s.maxInFlight.Load()),
		SlotsBusy:       len(r.slots) - slots[SlotFree],
		Slots:           slots,
		Occupancy:       samples,
		MaxLatency:      d.latencyMax,
		StreamsReplaced: s.streamsReplaced.Load(),
		Pending:         pending,
	}
	if secs := elapsed.Seconds(); secs > 0 {
		st.Throughput = float64(d.bytes) / secs
		st.MeanSlotsBusy = min(busyArea/float64(elapsed), float64(len(r.slots)))
		st.MeanInFlight = min(flightArea/float64(elapsed), float64(len(r.allFrames)))
	}
	if d.completed > 0 {
		st.MeanLatency = d.latencySum / time.Duration(d.completed)
	}
	return st
}
