package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/host"
)

// RingCase is one ring measurement.
type RingCase struct {
	SlotSize int // bytes per slot; every batch fills its slot (required)
	Depth    int // batches on the device at once (required)
	Slots    int // host slots; 0 means Depth
	Streams  int // streams the batches are spread over; 0 means min(2, Depth)
	Budget       // batches to send, or how long to send them
}

// RingResult is what Ring measured. Bytes is Batches*SlotSize, GBps is
// Bytes per second of Elapsed in units of 10^9 bytes.
type RingResult struct {
	SlotSize int `json:"slot_size"`
	Depth    int `json:"depth"`
	Slots    int `json:"slots"`
	Streams  int `json:"streams"`
	// Batches completed, and their bytes.
	Batches int   `json:"batches"`
	Bytes   int64 `json:"bytes"`
	// Elapsed runs from the producer's first Acquire to the consumer's
	// receipt of the last completion.
	Elapsed       time.Duration `json:"elapsed_ns"`
	GBps          float64       `json:"gb_per_s"`
	BatchesPerSec float64       `json:"batches_per_s"`
	// MeanLatency and MaxLatency are Submit to completion.
	MeanLatency time.Duration `json:"mean_latency_ns"`
	MaxLatency  time.Duration `json:"max_latency_ns"`
	// ProducerBlocked is the time the producer waited for a free slot.
	ProducerBlocked time.Duration `json:"producer_blocked_ns"`
	// MeanInFlight is the time-weighted mean of batches on the device.
	MeanInFlight float64 `json:"mean_in_flight"`
	// PerBatch is Elapsed/Batches.
	PerBatch time.Duration `json:"per_batch_ns"`
	// OwnPerBatch is the ring's own work per batch: Elapsed/Batches of the
	// same ring (slot size, slots, depth, streams; one producer, one
	// consumer) on streams that do no device work, whose copies and
	// events are done the moment they are queued. It is what the ring
	// itself costs a batch (its goroutines, locks, queues and stats) with
	// the device taken out: on a GPU, where the driver's calls make most
	// of PerBatch, the part the ring can change. OwnBatches batches were
	// timed for it.
	OwnPerBatch time.Duration `json:"own_per_batch_ns"`
	OwnBatches  int           `json:"own_batches"`
}

func (c RingCase) withDefaults() (RingCase, error) {
	switch {
	case c.SlotSize <= 0:
		return c, fmt.Errorf("bench: ring slot size %d: must be positive", c.SlotSize)
	case c.Depth <= 0:
		return c, fmt.Errorf("bench: ring depth %d: must be positive", c.Depth)
	case c.Slots < 0:
		return c, fmt.Errorf("bench: ring slots %d: must not be negative", c.Slots)
	case c.Streams < 0:
		return c, fmt.Errorf("bench: ring streams %d: must not be negative", c.Streams)
	}
	if c.Slots == 0 {
		c.Slots = c.Depth
	}
	if c.Streams == 0 {
		c.Streams = min(2, c.Depth)
	}
	c.Streams = min(c.Streams, c.Depth)
	var err error
	c.Budget, err = c.Budget.check()
	return c, err
}

// Ring measures a copy-only host.Ring on dev: one producer goroutine
// acquires each slot, writes the batch number into its first bytes (the
// rest of the slot is sent as it is) and submits all SlotSize bytes; one
// consumer takes the completions. A failed batch is an error. The time to
// allocate the ring, to write every slot whole once before the clock
// starts, and to free the ring is not counted. Then it measures the
// ring's own work per batch (RingResult.OwnPerBatch) the same way on
// streams that do no work, for the same number of batches when the budget
// is a count, else for a quarter of its duration.
func Ring(dev gpu.Device, c RingCase) (RingResult, error) {
	c, err := c.withDefaults()
	if err != nil {
		return RingResult{}, err
	}
	res, err := runRing(dev, c)
	if err != nil {
		return res, err
	}
	own := c
	if own.Budget.N == 0 {
		own.Budget.Duration /= 4
	}
	o, err := runRing(workless{dev}, own)
	if err != nil {
		return res, fmt.Errorf("bench: the ring's own work: %w", err)
	}
	res.OwnPerBatch, res.OwnBatches = o.PerBatch, o.Batches
	return res, nil
}

// runRing is one measurement of Ring.
func runRing(dev gpu.Device, c RingCase) (RingResult, error) {
	r, err := host.NewRing(dev, host.RingOptions{Slots: c.Slots, SlotSize: c.SlotSize, Depth: c.Depth, Streams: c.Streams})
	if err != nil {
		return RingResult{}, fmt.Errorf("bench: ring of %d-byte slots, depth %d: %w", c.SlotSize, c.Depth, err)
	}
	ctx := context.Background()
	// Write every slot whole first, untimed: a page never written reads
	// as the kernel's one zero page, which a copy reads from cache, much
	// faster than memory.
	var slots []*host.Slot
	for range c.Slots {
		s, err := r.Acquire(ctx)
		if err != nil {
			return RingResult{}, errors.Join(fmt.Errorf("bench: ring of %d-byte slots, depth %d: %w", c.SlotSize, c.Depth, err), r.Close())
		}
		b := s.Bytes()
		for i := range b {
			b[i] = byte(i)
		}
		slots = append(slots, s)
	}
	for _, s := range slots {
		if err := r.Release(s); err != nil {
			return RingResult{}, errors.Join(fmt.Errorf("bench: ring of %d-byte slots, depth %d: %w", c.SlotSize, c.Depth, err), r.Close())
		}
	}
	produced := make(chan error, 1)
	start := time.Now()
	go func() {
		var err error
		var tag [8]byte
		for i := 0; c.more(i, start); i++ {
			s, aerr := r.Acquire(ctx)
			if aerr != nil {
				err = aerr
				break
			}
			binary.LittleEndian.PutUint64(tag[:], uint64(i))
			copy(s.Bytes(), tag[:])
			if err = r.Submit(s, c.SlotSize, uint64(i)); err != nil {
				break
			}
		}
		// Close waits for every submitted batch; its completions stay
		// for the consumer, which then gets io.EOF.
		produced <- errors.Join(err, r.Close())
	}()

	res := RingResult{SlotSize: c.SlotSize, Depth: c.Depth, Slots: c.Slots, Streams: c.Streams}
	var failed error
	last := start
	for {
		comp, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			failed = errors.Join(failed, err)
			break
		}
		last = time.Now()
		if comp.Err != nil {
			if failed == nil {
				failed = comp.Err
			}
			continue
		}
		res.Batches++
		res.Bytes += int64(comp.N)
	}
	if err := errors.Join(<-produced, failed); err != nil {
		return res, fmt.Errorf("bench: ring of %d-byte slots, depth %d: %w", c.SlotSize, c.Depth, err)
	}
	st := r.Stats()
	res.Elapsed = last.Sub(start)
	res.GBps = rate(float64(res.Bytes), res.Elapsed) / 1e9
	res.BatchesPerSec = rate(float64(res.Batches), res.Elapsed)
	res.MeanLatency, res.MaxLatency = st.MeanLatency, st.MaxLatency
	res.ProducerBlocked = st.ProducerBlocked
	res.MeanInFlight = st.MeanInFlight
	if res.Batches > 0 {
		res.PerBatch = res.Elapsed / time.Duration(res.Batches)
	}
	return res, nil
}

// workless is dev with streams that do no work: every copy, memset,
// launch and wait is done the moment it is queued, and so is every event
// record. Memory still comes from dev.
type workless struct{ gpu.Device }

func (d workless) NewStream() (gpu.Stream, error) { return worklessStream{}, nil }
func (d workless) NewEvent() (gpu.Event, error)   { return worklessEvent{}, nil }

type worklessStream struct{}

func (worklessStream) CopyHtoD(gpu.DeviceBuffer, int, gpu.HostBuffer, int, int) error { return nil }
func (worklessStream) CopyDtoH(gpu.HostBuffer, int, gpu.DeviceBuffer, int, int) error { return nil }
func (worklessStream) Memset(gpu.DeviceBuffer, int, int, byte) error                  { return nil }
func (worklessStream) Launch(gpu.Kernel, gpu.LaunchConfig, ...any) error              { return nil }
func (worklessStream) Record(gpu.Event) error                                         { return nil }
func (worklessStream) Wait(gpu.Event) error                                           { return nil }
func (worklessStream) Synchronize() error                                             { return nil }
func (worklessStream) Close() error                                                   { return nil }

type worklessEvent struct{}

func (worklessEvent) Query() (bool, error)                     { return true, nil }
func (worklessEvent) Synchronize() error                       { return nil }
func (worklessEvent) Elapsed(gpu.Event) (time.Duration, error) { return 0, nil }
func (worklessEvent) Close() error                             { return nil }
