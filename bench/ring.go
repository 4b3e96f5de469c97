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
// allocate the ring and free it is not counted.
func Ring(dev gpu.Device, c RingCase) (RingResult, error) {
	c, err := c.withDefaults()
	if err != nil {
		return RingResult{}, err
	}
	r, err := host.NewRing(dev, host.RingOptions{Slots: c.Slots, SlotSize: c.SlotSize, Depth: c.Depth, Streams: c.Streams})
	if err != nil {
		return RingResult{}, fmt.Errorf("bench: ring of %d-byte slots, depth %d: %w", c.SlotSize, c.Depth, err)
	}
	ctx := context.Background()
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
	return res, nil
}
