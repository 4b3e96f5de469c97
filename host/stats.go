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

type stats struct {
	start           time.Time
	submitted       atomic.Uint64
	failed          atomic.Uint64
	tryFull         atomic.Uint64
	streamsReplaced atomic.Uint64

	mu           sync.Mutex
	end          time.Duration // since start; set when the ring is shut down
	ended        bool
	completed    uint64
	cancelled    uint64
	bytes        uint64
	latencySum   time.Duration
	latencyMax   time.Duration
	blocked      time.Duration
	blockedN     uint64
	starved      time.Duration
	starvedN     uint64
	slots        [4]int
	inFlight     int
	maxInFlight  int
	last         time.Duration // since start, of the last occupancy change
	busyArea     float64       // integral of SlotsBusy over time, in slot-nanoseconds
	flightArea   float64
	samples      []OccupancySample
	sampleStride time.Duration // minimum spacing of samples; doubles on thinning
}

func (s *stats) init(slots int) {
	s.start = time.Now()
	s.slots[SlotFree] = slots
	s.sampleStride = 50 * time.Microsecond
	s.samples = append(s.samples, OccupancySample{})
}

func (s *stats) busyLocked() int {
	return s.slots[SlotFilling] + s.slots[SlotQueued] + s.slots[SlotInFlight]
}

// now is the time since the ring started. Every time the ring keeps is
// one of these: a monotonic clock read, half the price of time.Now, which
// the ring pays a few times per batch.
func (s *stats) now() time.Duration { return time.Since(s.start) }

// advanceLocked accounts for the time since the last occupancy change.
// After the ring has shut down (a producer gives back a slot it held
// across Close, say) time stands at its end.
func (s *stats) advanceLocked(now time.Duration) {
	if s.ended {
		now = min(now, s.end)
	}
	dt := float64(now - s.last)
	s.busyArea += float64(s.busyLocked()) * dt
	s.flightArea += float64(s.inFlight) * dt
	s.last = now
}

func (s *stats) sampleLocked(at time.Duration) {
	if s.ended {
		at = min(at, s.end)
	}
	if n := len(s.samples); n > 0 && at-s.samples[n-1].At < s.sampleStride {
		s.samples[n-1].SlotsBusy, s.samples[n-1].InFlight = s.busyLocked(), s.inFlight
		return
	}
	if len(s.samples) == maxSamples {
		// Keep every other sample: the series stays even and bounded.
		for i := range maxSamples / 2 {
			s.samples[i] = s.samples[2*i]
		}
		s.samples = s.samples[:maxSamples/2]
		s.sampleStride *= 2
	}
	s.samples = append(s.samples, OccupancySample{At: at, SlotsBusy: s.busyLocked(), InFlight: s.inFlight})
}

// moved accounts, at now, for a slot moving from one state to another
// (none when from == to) and for the batches in flight changing by
// inflight: one clock read and one lock for both.
func (s *stats) moved(now time.Duration, from, to SlotState, inflight int) {
	if from == to && inflight == 0 {
		return
	}
	s.mu.Lock()
	s.advanceLocked(now)
	s.slots[from]--
	s.slots[to]++
	s.inFlight += inflight
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.sampleLocked(now)
	s.mu.Unlock()
}

// movedRun accounts, at now, for slots moving to one state: from[st]
// of them from state st.
func (s *stats) movedRun(now time.Duration, from [4]int, to SlotState) {
	s.mu.Lock()
	s.advanceLocked(now)
	for st, n := range from {
		s.slots[st] -= n
		s.slots[to] += n
	}
	s.sampleLocked(now)
	s.mu.Unlock()
}

// delivered accounts, at now, for the completions of js going into the
// completion queue; those with a frame were on the device.
func (s *stats) delivered(now time.Duration, js []*job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inflight := 0
	for _, j := range js {
		if j.f != nil {
			inflight++
		}
		s.countLocked(j.c)
	}
	if inflight > 0 {
		s.advanceLocked(now)
		s.inFlight -= inflight
		s.sampleLocked(now)
	}
}

func (s *stats) countLocked(c Completion) {
	s.completed++
	switch {
	case c.Err == nil:
		s.bytes += uint64(c.N)
	case errors.Is(c.Err, ErrAborted) || errors.Is(c.Err, ErrStopped):
		s.cancelled++
	}
	s.latencySum += c.Latency
	s.latencyMax = max(s.latencyMax, c.Latency)
}

func (s *stats) blockedAcquire() {
	s.mu.Lock()
	s.blockedN++
	s.mu.Unlock()
}

func (s *stats) addBlocked(d time.Duration) {
	s.mu.Lock()
	s.blocked += d
	s.mu.Unlock()
}

func (s *stats) addStarved(d time.Duration) {
	s.mu.Lock()
	s.starved += d
	s.starvedN++
	s.mu.Unlock()
}

func (s *stats) finish() {
	now := s.now()
	s.mu.Lock()
	s.advanceLocked(now)
	s.end, s.ended = now, true
	s.mu.Unlock()
}

// Stats returns the ring's statistics so far.
func (r *Ring) Stats() Stats {
	s := &r.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	elapsed := s.now()
	if s.ended {
		elapsed = s.end
	}
	// The areas up to now, without moving s.last.
	dt := float64(elapsed - s.last)
	busyArea := s.busyArea + float64(s.busyLocked())*dt
	flightArea := s.flightArea + float64(s.inFlight)*dt
	st := Stats{
		Submitted:       s.submitted.Load(),
		Completed:       s.completed,
		Failed:          s.failed.Load(),
		Cancelled:       s.cancelled,
		Bytes:           s.bytes,
		Elapsed:         elapsed,
		ProducerBlocked: s.blocked,
		BlockedAcquires: s.blockedN,
		FullTryAcquires: s.tryFull.Load(),
		ConsumerStarved: s.starved,
		StarvedNexts:    s.starvedN,
		InFlight:        s.inFlight,
		MaxInFlight:     s.maxInFlight,
		SlotsBusy:       s.busyLocked(),
		Slots:           s.slots,
		Occupancy:       append([]OccupancySample(nil), s.samples...),
		MaxLatency:      s.latencyMax,
		StreamsReplaced: s.streamsReplaced.Load(),
		Pending:         r.cq.pending(),
	}
	if secs := elapsed.Seconds(); secs > 0 {
		st.Throughput = float64(s.bytes) / secs
		st.MeanSlotsBusy = busyArea / float64(elapsed)
		st.MeanInFlight = flightArea / float64(elapsed)
	}
	if s.completed > 0 {
		st.MeanLatency = s.latencySum / time.Duration(s.completed)
	}
	return st
}
