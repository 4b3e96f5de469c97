package kafka

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gpubuf/gpubuf/host"
)

// counters are a Worker's running counts.
type counters struct {
	in, out, deadLetters atomic.Uint64
	// firstIn and lastOut are when (nanoseconds since the worker
	// started, plus one; 0 for never) the first record was polled and
	// the last result went out: the active window the rates cover.
	firstIn, lastOut       atomic.Int64
	batches, failedBatches atomic.Uint64
	rebalances, abandoned  atomic.Uint64
	pauses, fetchErrors    atomic.Uint64
	produceErrors          atomic.Uint64
	transactions, aborted  atomic.Uint64
	mu                     sync.Mutex // guards the commit counts
	commits, commitErrors  uint64
	commitSum, commitMax   time.Duration
}

func (c *counters) commitDone(d time.Duration, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		c.commitErrors++
		return
	}
	c.commits++
	c.commitSum += d
	c.commitMax = max(c.commitMax, d)
}

// Stats describe a Worker's life so far.
type Stats struct {
	Delivery string        `json:"delivery"`
	Elapsed  time.Duration `json:"-"`
	// RecordsIn counts the records polled, RecordsOut the results
	// acknowledged (AtLeastOnce, or taken by the Sink) or committed in a
	// transaction (ExactlyOnce), DeadLetters the records sent to the dead-letter topic.
	RecordsIn   uint64 `json:"records_in"`
	RecordsOut  uint64 `json:"records_out"`
	DeadLetters uint64 `json:"dead_letters"`
	// InPerSec and OutPerSec are per second of the active window, from
	// the first record polled to the last result out.
	InPerSec  float64 `json:"records_in_per_s"`
	OutPerSec float64 `json:"records_out_per_s"`
	// Batches counts the results of the devices, FailedBatches those that
	// failed (a kernel fault, say).
	Batches       uint64 `json:"batches"`
	FailedBatches uint64 `json:"failed_batches"`
	// Partitions are the assigned partitions with their lag; Lag is their
	// sum (partitions of unknown lag left out).
	Partitions []PartitionLag `json:"partitions"`
	Lag        int64          `json:"lag"`
	// Devices are each device's batches in flight and ring statistics.
	Devices []DeviceStats `json:"devices"`
	// Commits counts the offset commits (ExactlyOnce: committed
	// transactions), CommitErrors those that failed; CommitLatency is
	// their mean and CommitLatencyMax their longest.
	Commits          uint64        `json:"commits"`
	CommitErrors     uint64        `json:"commit_errors"`
	CommitLatency    time.Duration `json:"commit_latency_ns"`
	CommitLatencyMax time.Duration `json:"commit_latency_max_ns"`
	// Transactions and Aborted count the committed and aborted
	// transactions (ExactlyOnce).
	Transactions uint64 `json:"transactions"`
	Aborted      uint64 `json:"aborted_transactions"`
	// Rebalances counts the assignment changes this worker saw (assigned,
	// revoked or lost); Abandoned the batches a revoke gave up waiting for.
	Rebalances uint64 `json:"rebalances"`
	Abandoned  uint64 `json:"abandoned_batches"`
	// Paused is the time fetching was paused for a full device, Pauses how
	// many times.
	Paused time.Duration `json:"paused_ns"`
	Pauses uint64        `json:"pauses"`
	// MaxHeldRecords is the most input records held at once (polled and
	// not yet done with); HeldRecordsBound the bound it stays under.
	MaxHeldRecords   int    `json:"max_held_records"`
	HeldRecordsBound int    `json:"held_records_bound"`
	FetchErrors      uint64 `json:"fetch_errors"`
	ProduceErrors    uint64 `json:"produce_errors"`
}

// DeviceStats are one device's share of a Worker.
type DeviceStats struct {
	Device      int        `json:"device"`
	InFlight    int        `json:"in_flight"`
	MaxInFlight int        `json:"max_in_flight"`
	Ring        host.Stats `json:"-"`
}

// Stats returns the worker's statistics so far.
func (w *Worker) Stats() Stats {
	c := &w.stats
	st := Stats{
		Delivery:         w.o.Delivery.String(),
		Elapsed:          time.Since(w.start),
		RecordsIn:        c.in.Load(),
		RecordsOut:       c.out.Load(),
		DeadLetters:      c.deadLetters.Load(),
		Batches:          c.batches.Load(),
		FailedBatches:    c.failedBatches.Load(),
		Transactions:     c.transactions.Load(),
		Aborted:          c.aborted.Load(),
		Rebalances:       c.rebalances.Load(),
		Abandoned:        c.abandoned.Load(),
		Pauses:           c.pauses.Load(),
		FetchErrors:      c.fetchErrors.Load(),
		ProduceErrors:    c.produceErrors.Load(),
		Partitions:       w.tr.lags(w.deviceOf),
		MaxHeldRecords:   w.tr.heldMax(),
		HeldRecordsBound: w.o.HeldRecordsBound(),
	}
	st.InPerSec, st.OutPerSec = activeRates(st.RecordsIn, st.RecordsOut, c.firstIn.Load(), c.lastOut.Load(), int64(st.Elapsed)+1)
	slices.SortFunc(st.Partitions, func(a, b PartitionLag) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
	for _, l := range st.Partitions {
		if l.Lag > 0 {
			st.Lag += l.Lag
		}
	}
	c.mu.Lock()
	st.Commits, st.CommitErrors, st.CommitLatencyMax = c.commits, c.commitErrors, c.commitMax
	if c.commits > 0 {
		st.CommitLatency = c.commitSum / time.Duration(c.commits)
	}
	c.mu.Unlock()
	w.pausedMu.Lock()
	st.Paused = w.pausedFor
	for _, at := range w.pausedAt {
		st.Paused += time.Since(at)
	}
	w.pausedMu.Unlock()
	for _, d := range w.devs {
		ds := DeviceStats{Device: d.idx}
		if d.ring != nil {
			ds.Ring = d.ring.Stats()
			ds.InFlight, ds.MaxInFlight = ds.Ring.InFlight, ds.Ring.MaxInFlight
		}
		st.Devices = append(st.Devices, ds)
	}
	return st
}

// activeRates are the records in and results out per second of the active
// window, from the first record polled (first) to the last result out
// (last), or to now while results are still owed: a worker that waits
// idle before it exits, or for its first record, does not count the wait.
// Times are nanoseconds since the worker started, plus one; 0 is never.
func activeRates(in, out uint64, first, last, now int64) (inPerSec, outPerSec float64) {
	if first <= 0 {
		return 0, 0
	}
	end := now
	if last > first && out >= in {
		end = last
	}
	secs := time.Duration(end - first).Seconds()
	if secs <= 0 {
		return 0, 0
	}
	return float64(in) / secs, float64(out) / secs
}
