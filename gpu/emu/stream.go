package emu

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
)

// stream is a FIFO of tasks run by its own goroutine. A task that cannot
// take long (a copy, a memset, an event record, a wait for a record that
// has completed) runs at once on the goroutine that queues it when the
// stream has nothing queued or running: it would run next anyway, and the
// hop to the stream's goroutine and back costs more than the task.
// Launches always go to the stream's goroutine, so that queuing one never
// waits for the kernel.
type stream struct {
	d      *device
	exited chan struct{} // closed when the goroutine ends

	mu sync.Mutex
	// work wakes the goroutine: a task is queued and none is running, or
	// the stream is closing. progress wakes Synchronize: a task finished.
	// They are apart so that a task run inline, with the goroutine idle,
	// wakes nobody who has nothing to do.
	work     sync.Cond
	progress sync.Cond
	queue    []task
	running  bool // a task is running, on the goroutine or inline
	closing  bool
	queued   uint64 // tasks ever queued
	done     uint64 // tasks finished (run or skipped)
	err      error  // the first error of the stream's work: sticky
}

// task is one queued operation.
type task struct {
	// run does the work. failed is the stream's sticky error; run is
	// called with a non-nil one only when always is set.
	run    func(failed error) error
	always bool   // run even after the stream failed (records and waits)
	free   func() // drops what the task holds (buffers, the module); may be nil
}

func newStream(d *device) *stream {
	s := &stream{d: d, exited: make(chan struct{})}
	s.work.L = &s.mu
	s.progress.L = &s.mu
	go s.loop()
	return s
}

func (s *stream) loop() {
	defer close(s.exited)
	s.mu.Lock()
	for {
		for (len(s.queue) == 0 || s.running) && !(s.closing && len(s.queue) == 0) {
			s.work.Wait()
		}
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		t := s.queue[0]
		s.queue[0] = task{}
		s.queue = s.queue[1:]
		s.running = true
		failed := s.err
		s.mu.Unlock()
		err := execute(t, failed)
		s.mu.Lock()
		s.finishLocked(err)
	}
}

// execute runs t unless the stream has failed and t is not one that runs
// anyway, and then drops what t holds.
func execute(t task, failed error) error {
	var err error
	if failed == nil || t.always {
		err = protect(t.run, failed)
	}
	if t.free != nil {
		t.free()
	}
	return err
}

// finishLocked accounts for the task that was running; s.mu is held.
func (s *stream) finishLocked(err error) {
	if err != nil && s.err == nil {
		s.err = err
	}
	s.running = false
	s.done++
	if len(s.queue) > 0 {
		s.work.Signal()
	}
	s.progress.Broadcast()
}

// protect runs run, turning a panic (a bug in this package or the
// emulator) into the stream's error instead of a crash.
func protect(run func(failed error) error, failed error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = msgErr("stream", "emulator panic: %v", r)
		}
	}()
	return run(failed)
}

// runNow runs a task that is short and never blocks (a copy, a memset, a
// wait for a completed record) at once, on the caller's goroutine, in the
// stream's place, when the stream is idle (nothing queued, nothing
// running): it would run next anyway. Nothing else on the stream runs
// until it is done, so the stream's order holds. A task that touches
// device memory (mem) runs in place only when no kernel runs or waits to
// run on the device (device.exec), so that it never waits for one. It
// reports whether it ran the task (or skipped it, the stream having failed
// and always unset: as the stream's goroutine would); when it did not,
// the caller queues the task. The task is not kept, so the caller's
// closure need not live on the heap; the caller drops what the task holds.
func (s *stream) runNow(op string, always, mem bool, run func(failed error) error) (ran bool, err error) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return false, closedErr(op, "stream is closed")
	}
	if s.running || len(s.queue) > 0 || mem && !s.d.exec.TryRLock() {
		s.mu.Unlock()
		return false, nil
	}
	s.queued++
	s.running = true
	failed := s.err
	s.mu.Unlock()
	var terr error
	if failed == nil || always {
		terr = protect(run, failed)
	}
	if mem {
		s.d.exec.RUnlock()
	}
	s.mu.Lock()
	s.finishLocked(terr)
	s.mu.Unlock()
	return true, nil
}

// enqueue queues t, or frees it and fails when the stream is closed.
func (s *stream) enqueue(op string, t task) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		if t.free != nil {
			t.free()
		}
		return closedErr(op, "stream is closed")
	}
	s.queued++
	s.queue = append(s.queue, t)
	if !s.running {
		s.work.Signal()
	}
	s.mu.Unlock()
	return nil
}

// sync waits for the tasks queued so far and returns the sticky error.
func (s *stream) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for target := s.queued; s.done < target; {
		s.progress.Wait()
	}
	return s.err
}

// shutdown stops the stream taking work, waits for the work queued
// (including a task running inline), and for the goroutine to end.
func (s *stream) shutdown() {
	s.mu.Lock()
	s.closing = true
	s.work.Signal()
	s.mu.Unlock()
	<-s.exited
	s.sync()
}

func (s *stream) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Synchronize waits for the work queued so far and returns the stream's
// sticky error: the first error of its work, if any.
func (s *stream) Synchronize() error {
	if s.isClosed() {
		return closedErr("synchronize", "stream is closed")
	}
	return s.sync()
}

// Close waits for the work queued so far, ends the stream's goroutine and
// makes later calls on the stream return an error wrapping gpu.ErrClosed.
// It is idempotent.
func (s *stream) Close() error {
	s.shutdown()
	unregister(s.d, &s.d.streams, s)
	return nil
}

// devBuf checks that b is a live device buffer of this device and holds it.
func (s *stream) devBuf(op string, b gpu.DeviceBuffer) (*deviceBuffer, error) {
	db, ok := b.(*deviceBuffer)
	switch {
	case b == nil || ok && db == nil:
		return nil, msgErr(op, "nil device buffer")
	case !ok:
		return nil, msgErr(op, "device buffer %T is not the emulator's", b)
	case db.d != s.d:
		return nil, msgErr(op, "device buffer belongs to another device")
	}
	return db, db.use(op)
}

// hostBuf checks that h is a live host buffer of this backend and holds
// it. Host buffers are portable: a copy may use one of another emulated
// device.
func (s *stream) hostBuf(op string, h gpu.HostBuffer) (*hostBuffer, error) {
	hb, ok := h.(*hostBuffer)
	switch {
	case h == nil || ok && hb == nil:
		return nil, msgErr(op, "nil host buffer")
	case !ok:
		return nil, msgErr(op, "host buffer %T is not the emulator's", h)
	}
	return hb, hb.use(op)
}

// holdHtoD checks a copy of n bytes from src at srcOff to dst at dstOff
// and holds both buffers; on an error it holds neither.
func (s *stream) holdHtoD(op string, dst gpu.DeviceBuffer, dstOff int, src gpu.HostBuffer, srcOff, n int) (*deviceBuffer, *hostBuffer, error) {
	db, err := s.devBuf(op, dst)
	if err != nil {
		return nil, nil, err
	}
	hb, err := s.hostBuf(op, src)
	if err != nil {
		db.drop()
		return nil, nil, err
	}
	err = checkRange(op, "device buffer", dstOff, n, db.size)
	if err == nil {
		err = checkRange(op, "host buffer", srcOff, n, len(hb.bytes))
	}
	if err != nil {
		db.drop()
		hb.refs.release()
		return nil, nil, err
	}
	return db, hb, nil
}

func (s *stream) CopyHtoD(dst gpu.DeviceBuffer, dstOff int, src gpu.HostBuffer, srcOff, n int) error {
	const op = "copy HtoD"
	db, hb, err := s.holdHtoD(op, dst, dstOff, src, srcOff, n)
	if err != nil {
		return err
	}
	ran, err := s.runNow(op, false, true, func(error) error { return db.write(op, dstOff, hb.bytes[srcOff:srcOff+n]) })
	if err != nil || ran {
		db.drop()
		hb.refs.release()
		return err
	}
	return s.enqueue(op, task{
		run:  func(error) error { return db.write(op, dstOff, hb.bytes[srcOff:srcOff+n]) },
		free: func() { db.drop(); hb.refs.release() },
	})
}

func (s *stream) CopyDtoH(dst gpu.HostBuffer, dstOff int, src gpu.DeviceBuffer, srcOff, n int) error {
	const op = "copy DtoH"
	hb, err := s.hostBuf(op, dst)
	if err != nil {
		return err
	}
	db, err := s.devBuf(op, src)
	if err != nil {
		hb.refs.release()
		return err
	}
	err = checkRange(op, "host buffer", dstOff, n, len(hb.bytes))
	if err == nil {
		err = checkRange(op, "device buffer", srcOff, n, db.size)
	}
	ran := false
	if err == nil {
		ran, err = s.runNow(op, false, true, func(error) error { return db.read(op, hb.bytes[dstOff:dstOff+n], srcOff) })
	}
	if err != nil || ran {
		db.drop()
		hb.refs.release()
		return err
	}
	return s.enqueue(op, task{
		run:  func(error) error { return db.read(op, hb.bytes[dstOff:dstOff+n], srcOff) },
		free: func() { db.drop(); hb.refs.release() },
	})
}

func (s *stream) Memset(dst gpu.DeviceBuffer, off, n int, b byte) error {
	const op = "memset"
	db, err := s.devBuf(op, dst)
	if err != nil {
		return err
	}
	err = checkRange(op, "device buffer", off, n, db.size)
	ran := false
	if err == nil {
		ran, err = s.runNow(op, false, true, func(error) error { return db.memset(op, off, n, b) })
	}
	if err != nil || ran {
		db.drop()
		return err
	}
	return s.enqueue(op, task{
		run:  func(error) error { return db.memset(op, off, n, b) },
		free: db.drop,
	})
}

// Launch checks the arguments with gpu.CheckArgs and the shape as cpuemu
// will, holds the module and the buffers, and queues the launch.
func (s *stream) Launch(k gpu.Kernel, cfg gpu.LaunchConfig, args ...any) error {
	return s.LaunchWith(k, cfg, LaunchOptions{}, args...)
}

// LaunchWith is Launch with the emulator's own options for this launch.
func (s *stream) LaunchWith(k gpu.Kernel, cfg gpu.LaunchConfig, opts LaunchOptions, args ...any) error {
	kk, ok := k.(*kernel)
	switch {
	case k == nil || ok && kk == nil:
		return msgErr("launch", "nil kernel")
	case !ok:
		return msgErr("launch", "kernel %T is not the emulator's", k)
	}
	name := kk.entry.Name
	op := "launch " + name
	if kk.m.d != s.d {
		return msgErr(op, "kernel belongs to another device")
	}
	checked, err := gpu.CheckArgs(name, kk.entry.Params, args)
	if err != nil {
		return ownErr(err)
	}
	ccfg, err := kk.config(cfg, opts)
	if err != nil {
		return opErr(op, err)
	}
	var held []func() // what free releases
	free := func() {
		for _, release := range held {
			release()
		}
	}
	values := make([]any, len(checked))
	for i, a := range checked {
		switch {
		case a.Buffer != nil:
			db, ok := a.Buffer.(*deviceBuffer)
			if !ok || db.d != s.d {
				free()
				return msgErr(op, "argument %d (%s): device buffer belongs to another device", i, a.Param.Name)
			}
			if !db.hold() {
				free()
				return closedErr(op, fmt.Sprintf("argument %d (%s): %s", i, a.Param.Name, db.gone()))
			}
			held = append(held, db.drop)
			values[i] = db.ptr
		case a.Host != nil:
			hb, ok := a.Host.(*hostBuffer)
			if !ok || hb.d != s.d {
				free()
				return msgErr(op, "argument %d (%s): host buffer is not mapped into this device", i, a.Param.Name)
			}
			if !hb.refs.acquire() {
				free()
				return closedErr(op, fmt.Sprintf("argument %d (%s): host buffer was freed", i, a.Param.Name))
			}
			held = append(held, func() { hb.refs.release() })
			values[i] = hb.ptr
		default:
			values[i] = a.Value
		}
	}
	m := kk.m
	if !m.refs.acquire() {
		free()
		return closedErr(op, "module "+m.Name()+" is closed")
	}
	var after func(*cpuemu.Result, error) error
	if opts.Result != nil {
		after = func(res *cpuemu.Result, err error) error { opts.Result(res); return err }
	}
	return s.enqueue(op, task{
		run:  s.launchRun(op, m, name, ccfg, values, after),
		free: func() { free(); m.launchDone() },
	})
}

// launchRun is a queued launch's work: it runs kernel name of m on the
// device, holding device.exec for writing for the whole run, and turns a
// launch error into the stream's. after, when not nil, is given the result
// and that error, and returns the error the launch ends with.
func (s *stream) launchRun(op string, m *module, name string, ccfg cpuemu.LaunchConfig, values []any, after func(*cpuemu.Result, error) error) func(error) error {
	return func(error) error {
		s.d.exec.Lock()
		defer s.d.exec.Unlock()
		res, err := m.cm.Launch(s.d.mem, name, ccfg, values...)
		if err != nil {
			err = opErr(op, err)
		}
		if after != nil {
			return after(res, err)
		}
		return err
	}
}

// event is an event; each Record makes a new record, or reuses the last
// one when it has completed and nobody but the event holds it.
type event struct {
	d     *device
	timed bool // its records carry their time (NewEvent, not NewEventNoTiming)

	mu     sync.Mutex
	cur    *record     // the last Record's; nil before the first
	closed atomic.Bool // set once; read without the lock
}

// record is one Record of an event: it completes when its stream reaches it.
// Most records complete before anyone waits for them (a record on an idle
// stream completes as it is made), so the channel a waiter sleeps on is
// made only by a waiter that comes first.
//
// Whoever reads a record that has completed reads it under its event's
// lock, as a snapshot; only one that waits for a record not yet completed
// (Synchronize, or a stream's Wait) keeps a pointer to it, and marks it
// held, under the same lock. A completed record not held is the event's
// alone, and the event's next Record may write it anew.
type record struct {
	done atomic.Bool   // set on completion; at and err are set before
	at   time.Duration // since epoch
	err  error         // the stream's sticky error when it got there
	held bool          // a waiter keeps it; guarded by its event's mu

	mu   sync.Mutex
	wake chan struct{} // made by the first waiter before completion; closed on it
}

// complete marks r completed at at, carrying err.
func (r *record) complete(at time.Duration, err error) {
	r.mu.Lock()
	r.at, r.err = at, err
	r.done.Store(true)
	if r.wake != nil {
		close(r.wake)
	}
	r.mu.Unlock()
}

// wait waits for r to complete.
func (r *record) wait() {
	if r.done.Load() {
		return
	}
	r.mu.Lock()
	if r.done.Load() {
		r.mu.Unlock()
		return
	}
	if r.wake == nil {
		r.wake = make(chan struct{})
	}
	wake := r.wake
	r.mu.Unlock()
	<-wake
}

// epoch is the origin of the records' times: a monotonic clock read
// (time.Since) costs half a time.Now.
var epoch = time.Now()

// ev checks that e is an open event of this device.
func (s *stream) ev(op string, e gpu.Event) (*event, error) {
	ev, ok := e.(*event)
	switch {
	case e == nil || ok && ev == nil:
		return nil, msgErr(op, "nil event")
	case !ok:
		return nil, msgErr(op, "event %T is not the emulator's", e)
	case ev.d != s.d:
		return nil, msgErr(op, "event belongs to another device")
	}
	return ev, ev.check(op)
}

// check fails when the event or its device is closed.
func (e *event) check(op string) error {
	switch {
	case e.closed.Load():
		return closedErr(op, "event is closed")
	case e.d.isClosed():
		return closedErr(op, "device is closed")
	}
	return nil
}

// recordState is a snapshot of an event's last record.
type recordState struct {
	recorded bool          // false before the first Record
	done     bool          // it has completed
	at       time.Duration // when, since epoch (done)
	err      error         // the error it carries (done)
	r        *record       // the record, held for the caller when hold is asked and it has not completed
}

// last snapshots e's last record; with hold, a record not yet completed is
// marked held and returned for the caller to wait on.
func (e *event) last(hold bool) recordState {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.cur
	switch {
	case r == nil:
		return recordState{}
	case r.done.Load():
		return recordState{recorded: true, done: true, at: r.at, err: r.err}
	}
	st := recordState{recorded: true}
	if hold {
		r.held = true
		st.r = r
	}
	return st
}

// Record queues a record of e: it completes, with the time the stream
// reached it, when the work queued before it has, and carries the
// stream's sticky error. On an idle stream it completes at once, in the
// stream's place, and then writes anew the event's last record when that
// one has completed and nobody waits on it: no task, and no allocation.
func (s *stream) Record(e gpu.Event) error {
	const op = "record"
	ev, err := s.ev(op, e)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return closedErr(op, "stream is closed")
	}
	if !s.running && len(s.queue) == 0 {
		// The stream is idle: the record is reached now. Counted as a task
		// run and done at once, so that Synchronize sees it.
		s.queued++
		s.done++
		failed := s.err
		s.mu.Unlock()
		ev.completedNow(failed)
		return nil
	}
	s.mu.Unlock()
	return s.recordQueued(op, ev)
}

// recordQueued queues a record of ev behind the stream's work.
func (s *stream) recordQueued(op string, ev *event) error {
	r := new(record)
	if err := s.enqueue(op, task{
		always: true,
		run: func(failed error) error {
			r.complete(ev.now(), failed)
			return nil
		},
	}); err != nil {
		return err
	}
	ev.mu.Lock()
	ev.cur = r
	ev.mu.Unlock()
	return nil
}

// now is the time a record of e completes at: none for an event without
// timing, which reads no clock.
func (e *event) now() time.Duration {
	if !e.timed {
		return 0
	}
	return time.Since(epoch)
}

// completedNow makes e's last record one that completed now carrying err,
// recorded in the stream's place on an idle stream: the last record written
// anew when it has completed and no waiter holds it.
func (e *event) completedNow(err error) {
	at := e.now()
	e.mu.Lock()
	if r := e.cur; r != nil && r.done.Load() && !r.held {
		r.at, r.err = at, err
	} else {
		r = &record{at: at, err: err}
		r.done.Store(true)
		e.cur = r
	}
	e.mu.Unlock()
}

// CopyHtoDRecord queues a copy from host to device memory and then a
// record of e, as CopyHtoD and Record do one after the other, and reports
// whether that record had completed without error when it returned. On an
// idle stream, no kernel running on the device, both run at once, the copy
// on the caller's goroutine, under one turn of the stream's lock, and done
// is true unless the stream has failed (or the copy did). It is not part of gpu.Stream: a caller that
// would copy, record and query at once (host's ring) finds it with a type
// assertion.
func (s *stream) CopyHtoDRecord(dst gpu.DeviceBuffer, dstOff int, src gpu.HostBuffer, srcOff, n int, e gpu.Event) (done bool, err error) {
	const op = "copy HtoD"
	ev, err := s.ev("record", e)
	if err != nil {
		return false, err
	}
	db, hb, err := s.holdHtoD(op, dst, dstOff, src, srcOff, n)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	if closing := s.closing; closing || s.running || len(s.queue) > 0 || !s.d.exec.TryRLock() {
		s.mu.Unlock()
		db.drop()
		hb.refs.release()
		if closing {
			return false, closedErr(op, "stream is closed")
		}
		// Busy, or a kernel runs: queued as the two calls queue them.
		if err := s.CopyHtoD(dst, dstOff, src, srcOff, n); err != nil {
			return false, err
		}
		return false, s.Record(e)
	}
	// Idle: the copy runs now, in the stream's place, and the record is
	// reached as it ends, before anything queued meanwhile.
	s.queued += 2
	s.running = true
	failed := s.err
	s.mu.Unlock()
	var terr error
	if failed == nil {
		terr = protect(func(error) error { return db.write(op, dstOff, hb.bytes[srcOff:srcOff+n]) }, nil)
	}
	s.d.exec.RUnlock()
	db.drop()
	hb.refs.release()
	s.mu.Lock()
	s.finishLocked(terr)
	s.done++ // the record
	failed = s.err
	s.mu.Unlock()
	ev.completedNow(failed)
	return failed == nil, nil
}

// Wait makes the work queued after it wait for e's last Record (as of this
// call) to complete. Waiting on an event never recorded does nothing. When
// that record carries an error, the stream takes it on.
func (s *stream) Wait(e gpu.Event) error {
	const op = "wait"
	ev, err := s.ev(op, e)
	if err != nil {
		return err
	}
	st := ev.last(true)
	if !st.recorded {
		if s.isClosed() {
			return closedErr(op, "stream is closed")
		}
		return nil
	}
	if st.done { // the wait cannot block
		wait := func(failed error) error {
			if failed == nil {
				return st.err
			}
			return nil
		}
		if ran, err := s.runNow(op, true, false, wait); err != nil || ran {
			return err
		}
		return s.enqueue(op, task{always: true, run: wait})
	}
	r := st.r
	return s.enqueue(op, task{always: true, run: func(failed error) error {
		r.wait()
		if failed == nil {
			return r.err
		}
		return nil
	}})
}

// Query reports whether e's last Record has completed (true for an event
// never recorded); a completed record returns the error it carries.
func (e *event) Query() (bool, error) {
	if err := e.check("query"); err != nil {
		return false, err
	}
	st := e.last(false)
	if !st.recorded {
		return true, nil
	}
	if !st.done {
		return false, nil
	}
	return true, st.err
}

// Synchronize waits for e's last Record to complete and returns the error
// it carries. It returns at once for an event never recorded.
func (e *event) Synchronize() error {
	if err := e.check("synchronize event"); err != nil {
		return err
	}
	st := e.last(true)
	switch {
	case !st.recorded:
		return nil
	case st.done:
		return st.err
	}
	st.r.wait()
	return st.r.err
}

// Elapsed is the time from start's last Record's completion to e's. Both
// must have been recorded and have completed without error.
func (e *event) Elapsed(start gpu.Event) (time.Duration, error) {
	const op = "elapsed"
	if err := e.check(op); err != nil {
		return 0, err
	}
	st, ok := start.(*event)
	switch {
	case start == nil || ok && st == nil:
		return 0, msgErr(op, "nil start event")
	case !ok:
		return 0, msgErr(op, "start event %T is not the emulator's", start)
	case st.d != e.d:
		return 0, msgErr(op, "start event belongs to another device")
	}
	if err := st.check(op); err != nil {
		return 0, err
	}
	if !e.timed || !st.timed {
		return 0, msgErr(op, "an event made without timing has no time")
	}
	rs, re := st.last(false), e.last(false)
	for _, c := range []struct {
		which string
		r     recordState
	}{{"start", rs}, {"end", re}} {
		switch {
		case !c.r.recorded:
			return 0, msgErr(op, "the %s event was never recorded", c.which)
		case !c.r.done:
			return 0, msgErr(op, "the %s event has not completed", c.which)
		case c.r.err != nil:
			return 0, c.r.err
		}
	}
	return re.at - rs.at, nil
}

// Close closes the event: later calls with it return an error wrapping
// gpu.ErrClosed. Records already queued still complete, so streams waiting
// on them go on. Close is idempotent.
func (e *event) Close() error {
	e.closed.Store(true)
	return nil
}
