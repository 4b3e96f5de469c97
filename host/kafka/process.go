package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gpubuf/gpubuf/host"
)

// done says, once, that a run's results were handed over or that it
// was dropped (ExactlyOnce: the transaction waits for every run).
func (r *run) done() {
	if r.txn != nil {
		r.txn.Done()
		r.txn = nil
	}
}

// badValue says why a value cannot be a record, or "".
func (w *Worker) badValue(v []byte) string {
	rs := w.o.Pipeline.RecordSize
	switch w.o.Framing {
	case LengthPrefixed:
		if len(v) > rs-4 {
			return fmt.Sprintf("value of %d bytes is larger than the %d-byte maximum (record size %d less the 4-byte length)", len(v), rs-4, rs)
		}
	default:
		if len(v) != rs {
			return fmt.Sprintf("value of %d bytes is not a %d-byte record", len(v), rs)
		}
	}
	return ""
}

// pack writes recs into buf as pipeline records.
func (w *Worker) pack(buf []byte, recs []*kgo.Record) {
	rs := w.o.Pipeline.RecordSize
	for i, r := range recs {
		b := buf[i*rs : (i+1)*rs]
		if w.o.Framing == LengthPrefixed {
			binary.LittleEndian.PutUint32(b, uint32(len(r.Value)))
			n := copy(b[4:], r.Value)
			clear(b[4+n:])
		} else {
			copy(b, r.Value)
		}
	}
}

// split cuts a fetched partition into runs of at most a slot's records,
// registering each (and each record that goes to the dead-letter topic)
// with the tracker in offset order. Dead letters are sent at once.
func (w *Worker) split(p kgo.FetchTopicPartition, txn *sync.WaitGroup) []*run {
	key := tp{p.Topic, p.Partition}
	if p.HighWatermark > 0 {
		w.tr.setEnd(key, p.HighWatermark)
	}
	var runs []*run
	var cur []*kgo.Record
	flush := func() {
		if len(cur) == 0 {
			return
		}
		last := cur[len(cur)-1]
		it := w.tr.add(key, cur[0].Offset, last.Offset, len(cur), last.LeaderEpoch)
		if it != nil {
			r := &run{it: it, recs: cur}
			if txn != nil {
				txn.Add(1)
				r.txn = txn
			}
			runs = append(runs, r)
		}
		cur = nil
	}
	for _, rec := range p.Records {
		w.stats.in.Add(1)
		w.stats.firstIn.CompareAndSwap(0, int64(time.Since(w.start))+1)
		why := w.badValue(rec.Value)
		if why == "" {
			cur = append(cur, rec)
			if len(cur) == w.perSlot {
				flush()
			}
			continue
		}
		flush()
		it := w.tr.add(key, rec.Offset, rec.Offset, 1, rec.LeaderEpoch)
		if it == nil || !w.tr.submit(it, nil) {
			continue
		}
		w.deliver(nil, &run{it: it, recs: []*kgo.Record{rec}}, w.deadLetters([]*kgo.Record{rec}, why), true)
	}
	flush()
	return runs
}

// feed submits the device's runs to its pipeline, in order.
func (w *Worker) feed(d *device) {
	defer close(d.fed)
	d.mu.Lock()
	ch := d.runs
	d.mu.Unlock()
	for r := range ch {
		w.submitRun(d, r)
	}
}

func (w *Worker) submitRun(d *device, r *run) {
	n := len(r.recs)
	took := false
	err := d.p.Fill(w.ctx, n, func(buf []byte) (int, error) {
		if !w.tr.submit(r.it, func() {
			d.mu.Lock()
			d.batches[d.next] = r
			d.next += uint64(n)
			d.mu.Unlock()
		}) {
			return 0, nil // revoked since it was polled: dropped uncommitted
		}
		took = true
		w.pack(buf, r.recs)
		return n, nil
	})
	switch {
	case !took:
		w.tr.drop(r.it)
		r.done()
	case err != nil:
		w.tr.finish(r.it, false)
		r.done()
		w.fail(fmt.Errorf("kafka: device %d: %w", d.idx, err))
	}
}

// onResult turns a batch's result into output records (or dead letters)
// and sends them; it runs on the device pipeline's goroutine, in
// submission order.
func (w *Worker) onResult(d *device, res host.Result) {
	d.mu.Lock()
	r := d.batches[res.FirstRecord]
	delete(d.batches, res.FirstRecord)
	d.mu.Unlock()
	if r == nil {
		return
	}
	w.stats.batches.Add(1)
	if s := d.stopAfter.Load(); res.Err == nil && s >= 0 && res.FirstRecord > uint64(s) {
		res.Err = errors.New("not committed: an earlier batch on its device failed and the policy is Stop")
	}
	if res.Err != nil {
		w.stats.failedBatches.Add(1)
		if w.o.Pipeline.OnError == host.Stop {
			d.stopAfter.CompareAndSwap(-1, int64(res.FirstRecord))
			w.tr.finish(r.it, false)
			r.done()
			w.fail(fmt.Errorf("kafka: %s partition %d offsets %d-%d: %w", r.it.tp.topic, r.it.tp.part, r.it.first, r.it.last, res.Err))
			return
		}
		w.deliver(d, r, w.deadLetters(r.recs, res.Err.Error()), true)
		return
	}
	recs, err := w.outputs(r, res.Out)
	if err != nil {
		w.tr.finish(r.it, false)
		r.done()
		w.fail(err)
		return
	}
	w.deliver(d, r, recs, false)
}

// outputs are a batch's output records: one per input record, or one for
// the batch when the last stage writes per batch.
func (w *Worker) outputs(r *run, out []byte) ([]*kgo.Record, error) {
	part := strconv.Itoa(int(r.it.tp.part))
	if w.batched {
		return []*kgo.Record{{
			Topic: w.o.OutTopic, Key: []byte(part), Value: out,
			Headers: []kgo.RecordHeader{
				{Key: HeaderPartition, Value: []byte(part)},
				{Key: HeaderOffsets, Value: fmt.Appendf(nil, "%d-%d", r.it.first, r.it.last)},
			},
		}}, nil
	}
	n := len(r.recs)
	if len(out)%n != 0 {
		return nil, fmt.Errorf("kafka: a batch of %d records has %d bytes of output, not a whole number per record", n, len(out))
	}
	per := len(out) / n
	recs := make([]*kgo.Record, n)
	for i, in := range r.recs {
		recs[i] = &kgo.Record{
			Topic: w.o.OutTopic, Key: in.Key, Value: out[i*per : (i+1)*per : (i+1)*per],
			Headers: []kgo.RecordHeader{
				{Key: HeaderPartition, Value: []byte(part)},
				{Key: HeaderOffset, Value: strconv.AppendInt(nil, in.Offset, 10)},
			},
		}
	}
	return recs, nil
}

// deadLetters are the records for the dead-letter topic: each input as it
// came, with where it came from and why it was not processed.
func (w *Worker) deadLetters(in []*kgo.Record, why string) []*kgo.Record {
	out := make([]*kgo.Record, len(in))
	for i, r := range in {
		out[i] = &kgo.Record{
			Topic: w.o.DLQTopic, Key: r.Key, Value: r.Value,
			Headers: append(append([]kgo.RecordHeader(nil), r.Headers...),
				kgo.RecordHeader{Key: HeaderTopic, Value: []byte(r.Topic)},
				kgo.RecordHeader{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
				kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
				kgo.RecordHeader{Key: HeaderReason, Value: []byte(why)},
			),
		}
	}
	return out
}

// deliver sends a run's output records (or dead letters) and marks the
// run done once they are acknowledged. d is nil for dead letters found at
// poll time.
func (w *Worker) deliver(d *device, r *run, recs []*kgo.Record, dead bool) {
	n := uint64(len(recs))
	if dead {
		w.stats.deadLetters.Add(n)
		if w.o.DLQTopic == "" {
			w.tr.finish(r.it, false)
			r.done()
			w.fail(fmt.Errorf("kafka: %s partition %d offsets %d-%d cannot be processed (%s), and there is no dead-letter topic", r.it.tp.topic, r.it.tp.part, r.it.first, r.it.last, recs[0].Headers[len(recs[0].Headers)-1].Value))
			return
		}
	}
	if w.o.Sink != nil && !dead {
		err := w.o.Sink(w.ctx, recs)
		w.tr.finish(r.it, err == nil)
		r.done()
		if err != nil {
			w.fail(fmt.Errorf("kafka: sink: %w", err))
			return
		}
		w.stats.out.Add(n)
		w.stats.lastOut.Store(int64(time.Since(w.start)) + 1)
		return
	}
	if w.o.Delivery == ExactlyOnce {
		// In the transaction: End flushes, and aborts on any failure.
		for _, rec := range recs {
			w.cl.Produce(w.ctx, rec, func(_ *kgo.Record, err error) {
				if err != nil {
					w.txnErr.CompareAndSwap(nil, &err)
				}
			})
		}
		if !dead {
			w.txnOut.Add(n) // counted once the transaction commits
		}
		w.tr.finish(r.it, true)
		r.done()
		return
	}
	if d != nil {
		select {
		case d.acks <- struct{}{}:
		case <-w.ctx.Done():
		}
	}
	var left atomic.Int64
	var failed atomic.Pointer[error]
	left.Store(int64(len(recs)))
	for _, rec := range recs {
		w.cl.Produce(w.ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.CompareAndSwap(nil, &err)
			}
			if left.Add(-1) > 0 {
				return
			}
			if d != nil {
				select {
				case <-d.acks:
				default:
				}
			}
			perr := failed.Load()
			w.tr.finish(r.it, perr == nil)
			if perr != nil {
				w.stats.produceErrors.Add(1)
				w.fail(fmt.Errorf("kafka: producing the results of %s partition %d offsets %d-%d: %w", r.it.tp.topic, r.it.tp.part, r.it.first, r.it.last, *perr))
				return
			}
			if !dead {
				w.stats.out.Add(n)
				w.stats.lastOut.Store(int64(time.Since(w.start)) + 1)
			}
		})
	}
}

// pollLoop is the at-least-once consumer: it polls, cuts runs and queues
// them for their devices; a device whose queue is full gets its
// partitions paused until it has room.
func (w *Worker) pollLoop(ctx context.Context, exitWhenIdle time.Duration) {
	overflow := make([][]*run, len(w.devs))
	idle := newIdleClock(exitWhenIdle)
	for ctx.Err() == nil {
		full := w.flushOverflow(overflow)
		wait := 100 * time.Millisecond
		if full {
			wait = 5 * time.Millisecond
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		fs := w.cl.PollRecords(pctx, w.o.MaxPollRecords)
		cancel()
		if fs.IsClientClosed() {
			return
		}
		w.fetchErrors(fs)
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range w.split(p, nil) {
				di := w.deviceOf(r.it.tp)
				if len(overflow[di]) > 0 {
					overflow[di] = append(overflow[di], r)
					continue
				}
				if sent, closed := w.devs[di].trySend(r); !sent && !closed {
					overflow[di] = append(overflow[di], r)
					w.pause(di)
				}
			}
		})
		if idle.tick(w.idle(full)) {
			return
		}
	}
}

// flushOverflow queues what it can of the runs waiting for their devices,
// resuming a device's partitions once it has taken them all; it reports
// whether any device is still full.
func (w *Worker) flushOverflow(overflow [][]*run) bool {
	full := false
	for di, rs := range overflow {
		for len(rs) > 0 {
			sent, closed := w.devs[di].trySend(rs[0])
			if !sent && !closed {
				break
			}
			rs = rs[1:]
		}
		overflow[di] = rs
		if len(rs) > 0 {
			full = true
		} else {
			w.resume(di)
		}
	}
	return full
}

// pause stops fetching the partitions of device di.
func (w *Worker) pause(di int) {
	w.pausedMu.Lock()
	defer w.pausedMu.Unlock()
	if _, ok := w.pausedAt[di]; ok {
		return
	}
	m := map[string][]int32{}
	for _, l := range w.tr.lags(w.deviceOf) {
		if l.Device == di {
			m[l.Topic] = append(m[l.Topic], l.Partition)
		}
	}
	w.pausedAt[di] = time.Now()
	w.pausedParts = append(w.pausedParts, m)
	w.cl.PauseFetchPartitions(m)
	w.stats.pauses.Add(1)
}

// resume fetches device di's partitions again.
func (w *Worker) resume(di int) {
	w.pausedMu.Lock()
	defer w.pausedMu.Unlock()
	at, ok := w.pausedAt[di]
	if !ok {
		return
	}
	delete(w.pausedAt, di)
	w.pausedFor += time.Since(at)
	m := map[string][]int32{}
	for _, l := range w.tr.lags(w.deviceOf) {
		if l.Device == di {
			m[l.Topic] = append(m[l.Topic], l.Partition)
		}
	}
	// Also those paused then and revoked since: a paused partition stays
	// paused in the client until resumed.
	for _, pm := range w.pausedParts {
		for t, ps := range pm {
			for _, p := range ps {
				if w.deviceOf(tp{t, p}) == di {
					m[t] = append(m[t], p)
				}
			}
		}
	}
	w.pausedParts = w.pausedParts[:0]
	w.cl.ResumeFetchPartitions(m)
}

// fetchErrors counts the fetches' errors; the client retries them.
func (w *Worker) fetchErrors(fs kgo.Fetches) {
	fs.EachError(func(_ string, _ int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrClientClosed) {
			return
		}
		w.stats.fetchErrors.Add(1)
	})
}

// idle reports whether every assigned partition is committed up to its
// end and nothing is on its way.
func (w *Worker) idle(full bool) bool {
	if full || w.tr.busy() {
		return false
	}
	for _, l := range w.tr.lags(w.deviceOf) {
		if l.Lag != 0 {
			return false
		}
	}
	return true
}

// idleClock says when a worker has been idle for long enough; never when
// the limit is 0.
type idleClock struct {
	limit time.Duration
	since time.Time
}

func newIdleClock(limit time.Duration) *idleClock { return &idleClock{limit: limit} }

func (c *idleClock) tick(idle bool) bool {
	if c.limit <= 0 {
		return false
	}
	if !idle {
		c.since = time.Time{}
		return false
	}
	if c.since.IsZero() {
		c.since = time.Now()
	}
	return time.Since(c.since) >= c.limit
}

// pollTransactions is the exactly-once consumer: each poll's records are
// run, and their results produced, in one transaction that also commits
// their offsets; nothing is polled while a transaction is open, so the
// offsets the session commits (everything polled) are exactly those
// processed.
func (w *Worker) pollTransactions(ctx context.Context, exitWhenIdle time.Duration) {
	idle := newIdleClock(exitWhenIdle)
	aborts := 0
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fs := w.sess.PollRecords(pctx, w.o.MaxPollRecords)
		cancel()
		if fs.IsClientClosed() {
			return
		}
		w.fetchErrors(fs)
		if fs.NumRecords() == 0 {
			if idle.tick(w.idle(false)) {
				return
			}
			continue
		}
		idle.tick(false)
		if err := w.sess.Begin(); err != nil {
			w.fail(fmt.Errorf("kafka: begin transaction: %w", err))
			return
		}
		w.txnErr.Store(nil)
		w.txnOut.Store(0)
		var wg sync.WaitGroup
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range w.split(p, &wg) {
				d := w.devs[w.deviceOf(r.it.tp)]
				select {
				case d.runs <- r:
				case <-ctx.Done():
					w.tr.drop(r.it)
					r.done()
				}
			}
		})
		wg.Wait()
		try := kgo.TryCommit
		if w.txnErr.Load() != nil || w.Err() != nil || ctx.Err() != nil {
			try = kgo.TryAbort
		}
		start := time.Now()
		committed, err := w.sess.End(w.ctx, try)
		w.tr.clearItems()
		if err != nil {
			w.fail(fmt.Errorf("kafka: end transaction: %w", err))
			return
		}
		if !committed {
			w.stats.aborted.Add(1)
			if perr := w.txnErr.Load(); perr != nil {
				w.stats.produceErrors.Add(1)
				if aborts++; aborts >= 5 {
					w.fail(fmt.Errorf("kafka: %d transactions in a row aborted; the last produce error: %w", aborts, *perr))
					return
				}
			}
			continue
		}
		aborts = 0
		w.stats.commitDone(time.Since(start), true)
		w.stats.transactions.Add(1)
		w.stats.out.Add(w.txnOut.Load())
		w.stats.lastOut.Store(int64(time.Since(w.start)) + 1)
		w.noteCommitted()
	}
}

// noteCommitted copies the client's committed offsets into the tracker.
func (w *Worker) noteCommitted() {
	for t, ps := range w.cl.CommittedOffsets() {
		for p, eo := range ps {
			w.tr.setCommitted(tp{t, p}, eo.Offset)
		}
	}
}

// commitLoop commits the acknowledged offsets every CommitInterval.
func (w *Worker) commitLoop(ctx context.Context) {
	t := time.NewTicker(w.o.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.commitMu.Lock()
		w.commitLocked(ctx, w.tr.committable())
		w.commitMu.Unlock()
	}
}

// commitLocked commits, synchronously, the offset after each given run;
// w.commitMu is held.
func (w *Worker) commitLocked(ctx context.Context, m map[tp]item) {
	if len(m) == 0 || w.crashed.Load() {
		return
	}
	offs := map[string]map[int32]kgo.EpochOffset{}
	for p, it := range m {
		if offs[p.topic] == nil {
			offs[p.topic] = map[int32]kgo.EpochOffset{}
		}
		offs[p.topic][p.part] = kgo.EpochOffset{Epoch: it.epoch, Offset: it.last + 1}
	}
	start := time.Now()
	w.cl.CommitOffsetsSync(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			w.stats.commitDone(time.Since(start), false)
			return
		}
		ok := true
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if kerr.ErrorForCode(p.ErrorCode) != nil {
					ok = false
					continue
				}
				key := tp{t.Topic, p.Partition}
				if it, found := m[key]; found {
					w.tr.committed(key, it.gen, it.last+1)
				}
			}
		}
		w.stats.commitDone(time.Since(start), ok)
	})
}

// watchEnds keeps the assigned partitions' end offsets and committed
// offsets fresh, for the lag.
func (w *Worker) watchEnds(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		ends, err := w.adm.ListEndOffsets(ctx, w.o.Topics...)
		if err == nil {
			ends.Each(func(o kadm.ListedOffset) {
				if o.Err == nil {
					w.tr.setEnd(tp{o.Topic, o.Partition}, o.Offset)
				}
			})
		}
		w.noteCommitted()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
