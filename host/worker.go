package host

import (
	"fmt"
	"sync"

	"github.com/gpubuf/gpubuf/gpu"
)

// worker owns one stream. It queues batches' device work on it, then waits
// for that work in the stream's own order, so that when an event fails,
// the batch it belongs to is the first one waited for that has not
// completed: every earlier batch of the stream is done.
type worker struct {
	r     *Ring
	index int

	mu     sync.Mutex
	cond   sync.Cond
	stream gpu.Stream
	queue  []*job // queued on stream, not yet waited for
	busy   bool   // the goroutine is waiting for (or completing) a batch
	closed bool
	broken error // policy Stop: the stream failed; later batches do not run
}

// submit queues j's copy and stage on the stream, and reports whether j
// is done and the caller is to complete it (Ring.hold). Called by the
// holder of the dispatcher's role, in submission order, with j counted in
// flight.
//
// When the ring has no stage, j's copy is done by the time it is queued
// (the emulator runs a copy and an event record at once on an idle
// stream), and nothing else of the stream's is being waited for, the
// caller completes j itself instead of waking the worker for it: the
// worker would only have found its event done and done the same. Only the
// role's holder gives the worker batches, so the worker stays idle
// meanwhile. A stage's Collect is the caller's code, which may take its
// time: it always runs on the worker, so that it holds back no other
// stream's batches.
func (w *worker) submit(j *job) (done bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	finished := false
	if w.broken == nil {
		finished = w.enqueue(j)
	}
	// finished implies no stage and no error; it is false when broken.
	done = finished && !w.busy && len(w.queue) == 0
	if !done {
		w.queue = append(w.queue, j)
		w.cond.Signal()
	}
	return done
}

// succeeded reports whether e's last record has completed without error.
func succeeded(e gpu.Event) bool {
	done, err := e.Query()
	return done && err == nil
}

// enqueue queues j's work on the current stream; w.mu is held.
//
// It reports whether j's work has completed without error by the time it
// returns (its done event has), which only a batch without a stage may
// have: the emulator copies on an idle stream at once. A stream that copies
// and records in one call (copyRecorder, the emulator's) says so itself;
// any other is asked (Event.Query).
func (w *worker) enqueue(j *job) (finished bool) {
	r, f, s := w.r, j.f, w.stream
	j.err, j.synced = nil, false
	if cr, ok := s.(copyRecorder); ok && f.stage == nil && !r.opts.ZeroCopy {
		done, err := cr.CopyHtoDRecord(f.staging, 0, j.slot.buf, 0, j.N, f.done)
		if err != nil {
			j.err, j.synced = fmt.Errorf("queue copy to device and record its event: %w", err), true
		}
		return done && err == nil
	}
	in := any(j.slot.buf)
	if !r.opts.ZeroCopy {
		if err := s.CopyHtoD(f.staging, 0, j.slot.buf, 0, j.N); err != nil {
			j.err, j.synced = fmt.Errorf("queue copy to device: %w", err), true
			return
		}
		in = f.staging
	}
	if f.copied != nil {
		if err := s.Record(f.copied); err != nil {
			j.err, j.synced = fmt.Errorf("record copy event: %w", err), true
			return
		}
	}
	if f.stage != nil {
		if err := f.stage.Enqueue(s, in, j.Batch); err != nil {
			// Nothing more is queued for j; the done event still tells
			// when what was queued has finished reading the slot.
			j.err = fmt.Errorf("queue stage: %w", err)
		}
	}
	if err := s.Record(f.done); err != nil {
		if j.err == nil {
			j.err = fmt.Errorf("record done event: %w", err)
		}
		j.synced = true
		return false
	}
	return f.stage == nil && j.err == nil && succeeded(f.done)
}

// copyRecorder is a stream that copies a batch to the device and records
// an event after it in one call, and says whether the event has completed
// without error by the time it returns (the emulator's streams).
type copyRecorder interface {
	CopyHtoDRecord(dst gpu.DeviceBuffer, dstOff int, src gpu.HostBuffer, srcOff, n int, e gpu.Event) (done bool, err error)
}

func (w *worker) close() {
	w.mu.Lock()
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
}

func (w *worker) loop() {
	defer w.r.dispatched.Done()
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.closed {
			w.cond.Wait()
		}
		if len(w.queue) == 0 {
			w.mu.Unlock()
			return
		}
		j := w.queue[0]
		w.queue[0] = nil
		w.queue = w.queue[1:]
		s, broken := w.stream, w.broken
		w.busy = true
		w.mu.Unlock()
		if broken != nil {
			w.notRun(j, broken)
		} else {
			w.run(j, s)
		}
		w.mu.Lock()
		w.busy = false
		w.mu.Unlock()
	}
}

// run waits for j's device work and completes it.
func (w *worker) run(j *job, s gpu.Stream) {
	r, f := w.r, j.f
	if j.synced {
		// The events may not have been recorded: wait for the stream.
		if err := s.Synchronize(); err != nil {
			w.failed(j, false, err)
			return
		}
		r.giveBack(j.slot)
		r.finishJob(j, nil, fmt.Errorf("%v: %w", j.Batch, j.err))
		return
	}
	slotBack := false
	var err error
	if f.copied != nil {
		err = f.copied.Synchronize()
	}
	if err == nil && f.copied != nil && !r.opts.ZeroCopy {
		// The copy has read the slot: producers may have it again while
		// the kernel works on the staging buffer.
		r.giveBack(j.slot)
		slotBack = true
	}
	if err == nil {
		err = f.done.Synchronize()
	}
	if err != nil {
		w.failed(j, slotBack, err)
		return
	}
	if !slotBack {
		r.giveBack(j.slot)
	}
	if j.err != nil {
		r.finishJob(j, nil, fmt.Errorf("%v: %w", j.Batch, j.err))
		return
	}
	var result []byte
	if f.stage != nil {
		if result, err = collect(f.stage, j.Batch); err != nil {
			err = fmt.Errorf("%v: collect: %w", j.Batch, err)
		}
	}
	r.finishJob(j, result, err)
}

func collect(f StageFrame, b Batch) (res []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return f.Collect(b)
}

// failed handles the stream failing in j's work: j is delivered with the
// error, then the policy decides what becomes of the stream and the
// batches queued behind j on it, which the stream will now skip.
func (w *worker) failed(j *job, slotBack bool, cause error) {
	r := w.r
	if !slotBack {
		r.giveBack(j.slot)
	}
	r.stats.failed.Add(1)
	if r.opts.OnError == Stop {
		r.stop(j.Batch, cause)
		w.mu.Lock()
		w.broken = r.Err()
		w.mu.Unlock()
		r.finishJob(j, nil, fmt.Errorf("%v: %w", j.Batch, cause))
		return
	}
	b := j.Batch
	r.finishJob(j, nil, fmt.Errorf("%v: %w", b, cause)) // j is the ring's again

	// Continue: run the batches behind j again on a fresh stream.
	w.mu.Lock()
	defer w.mu.Unlock()
	fresh, err := r.dev.NewStream()
	if err != nil {
		// The device cannot go on: stop, whatever the policy.
		r.stop(b, fmt.Errorf("%w (and no new stream could replace the failed one: %v)", cause, err))
		w.broken = r.Err()
		return
	}
	old := w.stream
	w.stream = fresh
	old.Close() // its queued work was skipped; the stream is dead
	r.stats.streamsReplaced.Add(1)
	for _, q := range w.queue {
		w.enqueue(q)
	}
}

// notRun completes a batch that was queued behind a failure on a stream
// the policy Stop abandoned.
func (w *worker) notRun(j *job, why error) {
	// What was queued for it before the failure is skipped, but wait for
	// the stream to say so before the slot is written again.
	_ = j.f.done.Synchronize()
	w.r.giveBack(j.slot)
	w.r.finishJob(j, nil, fmt.Errorf("%v not run: %w", j.Batch, why))
}
