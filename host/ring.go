package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
)

// Order is how completions come back.
type Order int

const (
	// Ordered delivers completions in submission order (the default).
	Ordered Order = iota
	// Unordered delivers each completion as soon as its batch is done;
	// Completion.Tag and Seq say which batch it is.
	Unordered
)

func (o Order) String() string {
	switch o {
	case Ordered:
		return "ordered"
	case Unordered:
		return "unordered"
	}
	return fmt.Sprintf("Order(%d)", int(o))
}

// ErrorPolicy is what the ring does after a batch fails on the device.
type ErrorPolicy int

const (
	// Continue delivers the failed batch with its error and keeps serving
	// the others: the failed stream is replaced and the batches queued
	// behind the failure on it are run again. (On CUDA most kernel faults
	// poison the whole context, so the batches after one fail too, each
	// with the driver's error.)
	Continue ErrorPolicy = iota
	// Stop delivers the failed batch with its error, completes every batch
	// that had not run yet with an error wrapping ErrStopped, and refuses
	// new work. Batches already running on other streams finish normally.
	Stop
)

func (p ErrorPolicy) String() string {
	switch p {
	case Continue:
		return "continue"
	case Stop:
		return "stop"
	}
	return fmt.Sprintf("ErrorPolicy(%d)", int(p))
}

// Errors of the ring. Test for them with errors.Is.
var (
	// ErrClosed: the ring was closed (or aborted) and takes no new work.
	ErrClosed = errors.New("host: ring is closed")
	// ErrStopped: a batch failed and the ring's policy is Stop.
	ErrStopped = errors.New("host: ring stopped after a failed batch")
	// ErrAborted: the batch was cancelled by Abort before it reached the
	// device.
	ErrAborted = errors.New("host: batch aborted before it ran")
)

// MaxSlots bounds the counts of a ring: Slots, Depth (and so Streams), and
// Completions and PipelineOptions.Results at twice it. The ring makes its
// queues to these sizes before it allocates a byte of its slots, so they
// must be bounded by more than the device's memory.
const MaxSlots = 1 << 16

// RingOptions configure a Ring. SlotSize is required; the rest have
// defaults.
type RingOptions struct {
	Slots    int // host slots N (default 4)
	SlotSize int // bytes per slot S (required)
	// Depth is how many batches may be on the device at once: the number
	// of device staging buffers, and of frames of the stage (default
	// Slots).
	Depth int
	// Streams is the number of streams K that batches are spread over,
	// round robin (default 2, at most Depth).
	Streams int
	// ZeroCopy maps the slots into the device's address space and hands
	// them to the stage directly: no staging copy, and a slot is busy
	// until its batch's kernels are done.
	ZeroCopy bool
	// HostFlags are extra flags for the slots' AllocHost
	// (gpu.HostWriteCombined, say).
	HostFlags gpu.HostFlags
	Order     Order
	OnError   ErrorPolicy
	// Stage is the device work per batch. Nil copies the batch to the
	// device and does nothing more (completions then carry no Result).
	Stage Stage
	// Completions is the capacity of the completion queue (default
	// Slots+Depth). When it is full, batches that complete keep their
	// frames (without a stage, their slots) until Next makes room, and
	// through them the producers wait for slots.
	Completions int
}

// Stage is the device work a ring runs on each batch.
type Stage interface {
	// NewFrame makes what one batch on the device needs (its output
	// buffers, say). The ring calls it Depth times before it starts, and
	// uses each frame for one batch at a time.
	NewFrame(dev gpu.Device) (StageFrame, error)
}

// StageFrame is a stage's device-side state of one batch in flight (the
// ring's own state of that batch, its frame, holds it).
type StageFrame interface {
	// Enqueue queues the batch's work on s. in holds the batch's b.N
	// bytes: a gpu.DeviceBuffer (the staging buffer), or in zero-copy
	// mode the mapped gpu.HostBuffer slot. Either can be passed to
	// Stream.Launch as a pointer argument.
	Enqueue(s gpu.Stream, in any, b Batch) error
	// Collect runs on the host once the queued work has completed without
	// error. What it returns is the completion's Result; it must not alias
	// the frame's memory, which the next batch reuses.
	Collect(b Batch) ([]byte, error)
	Free() error
}

// Batch identifies a submitted batch.
type Batch struct {
	Seq  uint64 // submission order, from 0
	Tag  uint64 // the producer's user data, from Submit
	N    int    // bytes submitted
	Slot int    // the host slot it was submitted from
}

func (b Batch) String() string {
	return fmt.Sprintf("batch %d (tag %d, %d bytes, slot %d)", b.Seq, b.Tag, b.N, b.Slot)
}

// Completion is one entry of the completion queue.
type Completion struct {
	Batch
	// Result is what the stage's Collect returned; nil without a stage or
	// when Err is set.
	Result []byte
	// Err is the batch's own failure (a copy or kernel fault, wrapped with
	// the batch it belongs to), or for a batch that never ran an error
	// wrapping ErrAborted or ErrStopped.
	Err error
	// Latency is the time from Submit to the batch's completion.
	Latency time.Duration
}

// SlotState is what a slot is doing.
type SlotState int32

const (
	SlotFree     SlotState = iota // in the free list
	SlotFilling                   // acquired by a producer
	SlotQueued                    // submitted, waiting for a frame
	SlotInFlight                  // its copy (or, zero-copy, its kernel) is on the device, or (no stage) its completion waits to go into the completion queue
)

func (s SlotState) String() string {
	switch s {
	case SlotFree:
		return "free"
	case SlotFilling:
		return "filling"
	case SlotQueued:
		return "queued"
	case SlotInFlight:
		return "in flight"
	}
	return fmt.Sprintf("SlotState(%d)", int32(s))
}

// Slot is a page-locked host buffer of the ring, lent to one producer
// between Acquire and Submit (or Release).
type Slot struct {
	r     *Ring
	index int
	buf   gpu.HostBuffer
	state atomic.Int32 // SlotState
	// busySince is when (since the ring started, in nanoseconds) it last
	// left the free list.
	busySince atomic.Int64
}

// Bytes is the slot's memory, SlotSize bytes. Write the batch at its start.
// It must not be touched after Submit or Release.
func (s *Slot) Bytes() []byte { return s.buf.Bytes() }

// Index is the slot's number, 0..Slots-1.
func (s *Slot) Index() int { return s.index }

// Ring is a bounded ring of page-locked staging slots feeding a device.
// Its methods are safe for concurrent use: any number of producers, and
// any number of consumers calling Next.
type Ring struct {
	dev   gpu.Device
	opts  RingOptions
	slots []*Slot
	free  chan *Slot // the free list: Acquire takes from it
	// allFrames are the frames, free or not.
	allFrames []*frame
	workers   []*worker
	closing   chan struct{} // closed by Close and Abort: wakes Acquire
	stopCh    chan struct{} // closed when the policy Stop stops the ring
	abortCh   chan struct{} // closed by Abort
	// halted is set before stopCh or abortCh is closed: the dispatcher
	// reads it once a batch instead of a select on both.
	halted atomic.Bool
	cq     completionQueue
	stats  stats

	mu      sync.Mutex // guards the fields below
	closed  bool
	nextSeq uint64
	// queue holds the submitted batches that wait for the dispatcher, in
	// submission order (at most Slots of them). dispatching is set while
	// a goroutine holds the dispatcher's role: the dispatcher goroutine, or
	// a Submit that dispatches its own batch in place (see Submit). Only
	// the holder takes batches from queue, gives workers batches, or
	// touches held and heldOut, so batches reach the streams in order.
	queue       fifo[*job]
	dispatching bool
	// freeFrames are the frames no batch holds, taken in the order they
	// came back, so that batches go through every staging buffer in turn
	// as they did when frames were a channel (and as the throughput
	// benchmark's reference copies into all of them). The role's holder
	// puts the frames of the batches it completed in spare, without the
	// lock, and moves them here at its next turn under it
	// (putSpareLocked).
	freeFrames fifo[*frame]
	// dispCond wakes the dispatcher goroutine, the only one that waits on
	// it: a batch was queued with the role free, the role was given up
	// with batches queued, the ring was closed or halted, or (frameWait
	// set) a frame came back.
	dispCond  sync.Cond
	frameWait bool
	stopErr   error
	aborted   []Batch
	abortOnce sync.Once
	stopOnce  sync.Once

	dispatched sync.WaitGroup // the dispatcher and workers

	// held are batches the role's holder completed itself (see
	// worker.submit) and has not handed over yet. Handing them over a run
	// at a time, slots first and then completions, wakes a waiting
	// producer and a waiting consumer once a run instead of once a batch.
	// The dispatcher goroutine hands them over before it waits for
	// anything, and whenever it holds holdMax of them; a Submit that
	// dispatches in place hands its batch over before it gives the role
	// up.
	held    []*job
	holdMax int
	spare   []*frame // see freeFrames
	// jobs recycles jobs: one is done with once its completion is in the
	// completion queue and its frame is back (released).
	jobs       sync.Pool
	heldOut    []*job // flush's buffer
	shutdown   sync.Once
	closeErr   error
	freedSlots bool
}

// frame is one batch's device state: its staging buffer, its stage frame,
// its stream, and the events that say when its copy and its work are done.
type frame struct {
	index   int
	staging gpu.DeviceBuffer // nil in zero-copy mode
	stage   StageFrame       // nil without a stage
	w       *worker
	copied  gpu.Event // recorded after the staging copy; nil without a stage, when done says it
	done    gpu.Event // recorded after the stage's work
	// since is when (since the ring started, in nanoseconds) its batch
	// took it; -1 while it is free.
	since atomic.Int64
}

// job is a submitted batch on its way through the ring.
type job struct {
	Batch
	slot      *Slot
	submitted time.Duration // since the ring started (stats.now)
	f         *frame
	err       error // a failure found when queuing it
	synced    bool  // err came from queuing; the events may not be recorded
	// c is the completion, filled in when the batch is done and handed to
	// the completion queue.
	c Completion
	// holdsSlot: the batch, done, keeps its slot until its completion goes
	// into the completion queue (see flush).
	holdsSlot bool
}

// NewRing allocates the slots, staging buffers and streams, and starts the
// ring.
func NewRing(dev gpu.Device, opts RingOptions) (*Ring, error) {
	if dev == nil {
		return nil, errors.New("host: NewRing: nil device")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Ring{
		dev: dev, opts: o, holdMax: max(1, o.Slots/2),
		free:       make(chan *Slot, o.Slots),
		queue:      newFIFO[*job](o.Slots),
		freeFrames: newFIFO[*frame](o.Depth),
		closing:    make(chan struct{}),
		stopCh:     make(chan struct{}),
		abortCh:    make(chan struct{}),
	}
	r.dispCond.L = &r.mu
	r.stats.init()
	r.cq.init(o.Completions, o.Order == Ordered, r.stats.start, r.slotBack)
	if err := r.allocate(); err != nil {
		r.release()
		return nil, fmt.Errorf("host: NewRing: %w", err)
	}
	for _, s := range r.slots {
		r.free <- s
	}
	r.dispatched.Add(1 + len(r.workers))
	for _, w := range r.workers {
		go w.loop()
	}
	go r.dispatch()
	return r, nil
}

func (o RingOptions) withDefaults() (RingOptions, error) {
	if o.Slots == 0 {
		o.Slots = 4
	}
	if o.Slots < 0 || o.Slots > MaxSlots {
		return o, fmt.Errorf("host: RingOptions.Slots %d: want 1..%d", o.Slots, MaxSlots)
	}
	if o.SlotSize <= 0 {
		return o, fmt.Errorf("host: RingOptions.SlotSize %d: must be positive", o.SlotSize)
	}
	if o.Depth == 0 {
		o.Depth = o.Slots
	}
	if o.Depth < 0 || o.Depth > MaxSlots {
		return o, fmt.Errorf("host: RingOptions.Depth %d: want 1..%d", o.Depth, MaxSlots)
	}
	if o.Streams == 0 {
		o.Streams = min(2, o.Depth)
	}
	if o.Streams < 0 || o.Streams > o.Depth {
		return o, fmt.Errorf("host: RingOptions.Streams %d: want 1..Depth (%d)", o.Streams, o.Depth)
	}
	if o.Completions == 0 {
		o.Completions = o.Slots + o.Depth
	}
	if o.Completions < 0 || o.Completions > 2*MaxSlots {
		return o, fmt.Errorf("host: RingOptions.Completions %d: want 1..%d", o.Completions, 2*MaxSlots)
	}
	if o.Order != Ordered && o.Order != Unordered {
		return o, fmt.Errorf("host: RingOptions.Order %d: want Ordered or Unordered", int(o.Order))
	}
	if o.OnError != Continue && o.OnError != Stop {
		return o, fmt.Errorf("host: RingOptions.OnError %d: want Continue or Stop", int(o.OnError))
	}
	return o, nil
}

func (r *Ring) allocate() error {
	o := r.opts
	flags := o.HostFlags
	if o.ZeroCopy {
		flags |= gpu.HostMapped
	}
	for i := range o.Slots {
		b, err := r.dev.AllocHost(o.SlotSize, flags)
		if err != nil {
			return fmt.Errorf("slot %d: %w", i, err)
		}
		r.slots = append(r.slots, &Slot{r: r, index: i, buf: b})
		if o.ZeroCopy && !b.Mapped() {
			return fmt.Errorf("zero-copy: %s cannot map host memory into its address space", r.dev.Info().Name)
		}
	}
	for i := range o.Streams {
		s, err := r.dev.NewStream()
		if err != nil {
			return fmt.Errorf("stream %d: %w", i, err)
		}
		w := &worker{r: r, index: i, stream: s}
		w.cond.L = &w.mu
		r.workers = append(r.workers, w)
	}
	for i := range o.Depth {
		f := &frame{index: i, w: r.workers[i%len(r.workers)]}
		f.since.Store(-1)
		// Appended before its parts, so that release frees what was made.
		r.allFrames = append(r.allFrames, f)
		r.freeFrames.push(f)
		var err error
		if !o.ZeroCopy {
			if f.staging, err = r.dev.Alloc(o.SlotSize); err != nil {
				return fmt.Errorf("staging buffer %d: %w", i, err)
			}
		}
		// Without a stage the copy is the batch's last work: one event
		// says when it is done, and one record per batch is all it costs.
		if o.Stage != nil {
			if f.copied, err = gpu.NewEventNoTiming(r.dev); err != nil {
				return fmt.Errorf("event: %w", err)
			}
		}
		if f.done, err = gpu.NewEventNoTiming(r.dev); err != nil {
			return fmt.Errorf("event: %w", err)
		}
		if o.Stage != nil {
			if f.stage, err = o.Stage.NewFrame(r.dev); err != nil {
				return fmt.Errorf("stage frame %d: %w", i, err)
			}
		}
	}
	return nil
}

// release frees the streams, frames and the slots not lent out. It runs
// once every batch is done.
func (r *Ring) release() error {
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, w := range r.workers {
		keep(w.stream.Close())
	}
	for _, f := range r.allFrames {
		if f.stage != nil {
			keep(f.stage.Free())
		}
		for _, e := range []gpu.Event{f.copied, f.done} {
			if e != nil {
				keep(e.Close())
			}
		}
		if f.staging != nil {
			keep(f.staging.Free())
		}
	}
	r.mu.Lock()
	r.freedSlots = true
	r.mu.Unlock()
	for _, s := range r.slots {
		if SlotState(s.state.Load()) != SlotFilling {
			keep(s.buf.Free())
		}
	}
	return errors.Join(errs...)
}

// Options returns the ring's options, defaults filled in.
func (r *Ring) Options() RingOptions { return r.opts }

// Acquire lends a free slot to the caller, waiting while every slot is in
// use (backpressure) until ctx is done or the ring closes.
func (r *Ring) Acquire(ctx context.Context) (*Slot, error) {
	select {
	case s := <-r.free:
		return r.lend(s) // which refuses it when the ring takes no work
	default:
	}
	if err := r.admissionErr(); err != nil {
		return nil, err
	}
	start := r.stats.now()
	r.stats.blockedAcquire()
	defer func() { r.stats.addBlocked(r.stats.now() - start) }()
	select {
	case s := <-r.free:
		return r.lend(s)
	case <-ctx.Done():
		return nil, fmt.Errorf("host: Acquire: %w", ctx.Err())
	case <-r.closing:
		return nil, r.admissionErr()
	case <-r.stopCh:
		return nil, r.admissionErr()
	}
}

// TryAcquire lends a free slot if there is one; ok is false when every
// slot is in use or the ring takes no new work.
func (r *Ring) TryAcquire() (s *Slot, ok bool) {
	if r.admissionErr() != nil {
		return nil, false
	}
	select {
	case s := <-r.free:
		s, err := r.lend(s)
		return s, err == nil
	default:
		r.stats.tryFull.Add(1)
		return nil, false
	}
}

// lend marks s as the producer's, or puts it back when the ring stopped
// taking work while the caller waited.
func (r *Ring) lend(s *Slot) (*Slot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.admissionErrLocked(); err != nil {
		r.free <- s
		return nil, err
	}
	s.state.Store(int32(SlotFilling))
	r.stats.lent(r.stats.now(), s)
	return s, nil
}

func (r *Ring) admissionErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.admissionErrLocked()
}

func (r *Ring) admissionErrLocked() error {
	switch {
	case r.stopErr != nil:
		return r.stopErr
	case r.closed:
		return ErrClosed
	}
	return nil
}

// Submit queues the first n bytes of s as a batch, tagged with tag, and
// gives the slot back to the ring. It never blocks. On error the slot is
// given back too, except when the error says s is not the caller's to
// give.
//
// Without a stage, when nothing is queued before the batch and a frame is
// free, Submit dispatches the batch itself: it queues the copy on the
// frame's stream and, when the copy is done by then (the emulator runs a
// copy on an idle stream at once, on the caller's goroutine), completes
// it, so that the batch never waits for another goroutine. It still
// waits for nothing: a frame it would have to wait for, or a copy not yet
// done, is left to the dispatcher and the stream's worker.
func (r *Ring) Submit(s *Slot, n int, tag uint64) error {
	// Everything under r.mu: two goroutines submitting one slot at once
	// must not both succeed, and Close must not free a slot being given
	// back.
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkLentLocked("Submit", s); err != nil {
		return err
	}
	if n <= 0 || n > r.opts.SlotSize {
		r.giveBackLocked(s)
		return fmt.Errorf("host: Submit: %d bytes: want 1..%d (the slot size)", n, r.opts.SlotSize)
	}
	if err := r.admissionErrLocked(); err != nil {
		r.giveBackLocked(s)
		return fmt.Errorf("host: Submit: %w", err)
	}
	now := r.stats.now()
	var f *frame
	if r.freeFrames.len() > 0 && r.opts.Stage == nil && !r.dispatching && r.queue.len() == 0 && !r.halted.Load() {
		f = r.freeFrames.pop()
	}
	j, _ := r.jobs.Get().(*job)
	if j == nil {
		j = new(job)
	}
	j.Batch = Batch{Seq: r.nextSeq, Tag: tag, N: n, Slot: s.index}
	j.slot, j.submitted = s, now
	r.nextSeq++
	r.stats.submitted.Add(1)
	if f == nil {
		s.state.Store(int32(SlotQueued))
		r.queue.push(j) // room for every slot
		if !r.dispatching {
			r.dispCond.Signal()
		}
		return nil
	}
	// The role is free and nothing is queued: j is next in order.
	r.dispatching = true
	s.state.Store(int32(SlotInFlight))
	r.stats.dispatched(now, f)
	r.mu.Unlock()
	j.f = f
	if f.w.submit(j) {
		r.hold(j)
		r.flush()
	}
	r.mu.Lock()
	r.putSpareLocked()
	r.dispatching = false
	if r.queue.len() > 0 || r.closed {
		r.dispCond.Signal()
	}
	return nil
}

// Release gives a slot back without submitting it (its producer had
// nothing to send, or failed).
func (r *Ring) Release(s *Slot) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkLentLocked("Release", s); err != nil {
		return err
	}
	r.giveBackLocked(s)
	return nil
}

func (r *Ring) checkLentLocked(op string, s *Slot) error {
	switch {
	case s == nil:
		return fmt.Errorf("host: %s: nil slot", op)
	case s.r != r:
		return fmt.Errorf("host: %s: slot %d belongs to another ring", op, s.index)
	case SlotState(s.state.Load()) != SlotFilling:
		return fmt.Errorf("host: %s: slot %d is %s, not lent to a producer (submitted or released twice?)", op, s.index, SlotState(s.state.Load()))
	}
	return nil
}

// giveBack returns a slot to the free list, or frees it when the ring
// was shut down while it was lent out.
func (r *Ring) giveBack(s *Slot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.giveBackLocked(s)
}

func (r *Ring) giveBackLocked(s *Slot) {
	s.state.Store(int32(SlotFree))
	r.stats.freed(r.stats.now(), s)
	r.putFreeLocked(s)
}

// putFreeLocked puts s, marked free, in the free list, or frees it when
// the ring was shut down while it was lent out; r.mu is held.
func (r *Ring) putFreeLocked(s *Slot) {
	if r.freedSlots {
		s.buf.Free()
		return
	}
	r.free <- s // room for every slot: never blocks
}

// Produce acquires a slot, lets fill write the batch into it, and submits
// the n bytes fill reports. When fill fails or panics the slot is given
// back and nothing is submitted; a panic comes back as an error.
func (r *Ring) Produce(ctx context.Context, tag uint64, fill func(buf []byte) (n int, err error)) (err error) {
	s, err := r.Acquire(ctx)
	if err != nil {
		return err
	}
	n, err := callFill(fill, s.Bytes())
	if err != nil {
		r.giveBack(s)
		return fmt.Errorf("host: Produce: fill of slot %d: %w", s.index, err)
	}
	return r.Submit(s, n, tag)
}

func callFill(fill func([]byte) (int, error), buf []byte) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fill(buf)
}

// Next returns the next completion, waiting until there is one, ctx is
// done, or the ring is shut down and every completion has been taken
// (io.EOF).
func (r *Ring) Next(ctx context.Context) (Completion, error) {
	c, moved, now, waited, err := r.cq.pop(ctx)
	if moved != nil {
		r.released(now, []*job{moved})
	}
	if waited > 0 {
		r.stats.addStarved(waited)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("host: Next: %w", err)
	}
	return c, err
}

// Err is the error that stopped the ring (policy Stop), or nil.
func (r *Ring) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopErr
}

// Close stops taking work, waits until every submitted batch has completed
// and been queued for Next, and frees the ring's device memory. Producers
// waiting in Acquire get ErrClosed. Completions not yet taken stay
// available to Next, which then returns io.EOF. Slots still lent out are
// freed when their producers give them back. Close is idempotent.
func (r *Ring) Close() error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.closing)
		r.dispCond.Signal()
	}
	r.mu.Unlock()
	// Close must not wait for a consumer.
	if moved := r.cq.unbound(nil); len(moved) > 0 {
		r.released(r.stats.now(), moved)
	}
	return r.wait()
}

// Abort stops taking work and cancels every submitted batch that has not
// reached the device yet: each is delivered with an error wrapping
// ErrAborted, and returned here, in submission order. Batches already on
// the device complete normally. Abort then frees the ring as Close does.
func (r *Ring) Abort() ([]Batch, error) {
	r.abortOnce.Do(func() {
		r.halted.Store(true)
		close(r.abortCh)
		r.wakeDispatcher()
	})
	err := r.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Batch(nil), r.aborted...), err
}

func (r *Ring) wait() error {
	r.dispatched.Wait()
	r.shutdown.Do(func() {
		r.closeErr = r.release()
		r.stats.finish()
		r.cq.finish()
	})
	return r.closeErr
}

// stop applies the policy Stop after b failed.
func (r *Ring) stop(b Batch, cause error) {
	r.stopOnce.Do(func() {
		r.mu.Lock()
		r.stopErr = fmt.Errorf("%w: %v failed: %w", ErrStopped, b, cause)
		r.mu.Unlock()
		r.halted.Store(true)
		close(r.stopCh)
		r.wakeDispatcher()
	})
}

// wakeDispatcher wakes the dispatcher goroutine to see that the ring has
// halted.
func (r *Ring) wakeDispatcher() {
	r.mu.Lock()
	r.dispCond.Broadcast()
	r.mu.Unlock()
}

// SlotStates is a snapshot of every slot's state.
func (r *Ring) SlotStates() []SlotState {
	out := make([]SlotState, len(r.slots))
	for i, s := range r.slots {
		out[i] = SlotState(s.state.Load())
	}
	return out
}

// dispatch moves queued batches, in order, onto free frames and their
// streams. It ends when the ring is closed, nothing is queued, and no
// Submit is dispatching.
func (r *Ring) dispatch() {
	defer r.dispatched.Done()
	defer func() {
		r.flush()
		for _, w := range r.workers {
			w.close()
		}
	}()
	for mine := false; ; mine = true {
		j, ok := r.nextJob(mine)
		if !ok {
			return
		}
		if r.cancelled(j) {
			continue
		}
		f := r.takeFrame()
		if f == nil { // halted while it waited
			r.cancelled(j)
			continue
		}
		j.f = f
		j.slot.state.Store(int32(SlotInFlight))
		r.stats.dispatched(r.stats.now(), f)
		if f.w.submit(j) {
			r.hold(j)
		}
		if len(r.held) >= r.holdMax {
			r.flush()
		}
	}
}

// takeFrame gives the dispatcher goroutine a free frame, waiting for one;
// nil when the ring halts meanwhile.
func (r *Ring) takeFrame() *frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.putSpareLocked()
	for r.freeFrames.len() == 0 {
		if r.halted.Load() {
			return nil
		}
		// About to wait: hand over what it holds first.
		r.mu.Unlock()
		r.flush()
		r.mu.Lock()
		r.putSpareLocked()
		if r.freeFrames.len() > 0 {
			break
		}
		r.frameWait = true
		r.dispCond.Wait()
		r.frameWait = false
	}
	return r.freeFrames.pop()
}

// putSpareLocked moves the spare frames of the role's holder (its caller)
// to the free ones; r.mu is held.
func (r *Ring) putSpareLocked() {
	for _, f := range r.spare {
		r.freeFrames.push(f)
	}
	clear(r.spare)
	r.spare = r.spare[:0]
}

// nextJob gives the dispatcher goroutine the oldest queued batch, and the
// dispatcher's role with it. mine says whether the goroutine holds the
// role already: it keeps it from one batch to the next while batches are
// queued. When none is, it hands over what it holds, gives the role up,
// and waits for a batch and the role. ok is false once the ring is closed
// and nothing is queued or being dispatched.
func (r *Ring) nextJob(mine bool) (j *job, ok bool) {
	r.mu.Lock()
	if mine && r.queue.len() == 0 {
		r.mu.Unlock()
		r.flush() // about to wait for work
		r.mu.Lock()
		r.putSpareLocked()
		if r.queue.len() == 0 {
			r.dispatching = false
			mine = false
		}
	}
	if !mine {
		for r.queue.len() == 0 || r.dispatching {
			if r.closed && r.queue.len() == 0 && !r.dispatching {
				r.mu.Unlock()
				return nil, false
			}
			r.dispCond.Wait()
		}
		r.dispatching = true
	}
	j = r.queue.pop()
	r.mu.Unlock()
	return j, true
}

// hold completes j on the role's holder: its work has completed without
// error. Its slot, frame and completion wait in r.held for the next flush:
// until then it counts as in flight, as a batch a worker is completing
// does.
func (r *Ring) hold(j *job) {
	r.held = append(r.held, j)
}

// flush hands over the batches the role's holder holds, with one clock
// read and one wake-up for the lot. Without a stage nothing reads a frame
// once its copy is done, so their frames come back at once; each batch
// keeps its slot until its completion goes into the completion queue,
// which gives the slot back first (a batch is delivered only once its slot
// is free, as the workers do it). A completion the queue cannot take yet
// is parked with its slot: the producers then wait for slots, not the
// batches behind it for frames, and nobody need wake the dispatcher to
// give those batches frames.
func (r *Ring) flush() {
	if len(r.held) == 0 {
		return
	}
	now := r.stats.now()
	for _, j := range r.held {
		j.c = Completion{Batch: j.Batch, Latency: now - j.submitted}
		j.holdsSlot = true
		r.stats.released(now, j.f)
		r.spare = append(r.spare, j.f)
		j.f = nil
	}
	r.heldOut = r.cq.deliver(r.held, r.heldOut[:0], now)
	r.released(now, r.heldOut)
	clear(r.heldOut)
	r.heldOut = r.heldOut[:0]
	clear(r.held)
	r.held = r.held[:0]
}

// slotBack gives back, at now, the slot of a batch whose completion goes
// into the completion queue, under the queue's lock. No r.mu: the ring's
// slots are freed (release) only once every batch is delivered, so the
// free list takes it.
func (r *Ring) slotBack(s *Slot, now time.Duration) {
	s.state.Store(int32(SlotFree))
	r.stats.freed(now, s)
	r.free <- s // room for every slot: never blocks
}

// released accounts, at now, for the jobs whose completions went into the
// completion queue, gives their frames back, and recycles the jobs.
func (r *Ring) released(now time.Duration, js []*job) {
	if len(js) == 0 {
		return
	}
	var frames bool
	for _, j := range js {
		if j.f != nil {
			r.stats.released(now, j.f)
			frames = true
		}
	}
	if frames {
		r.mu.Lock()
		for _, j := range js {
			if j.f != nil {
				r.freeFrames.push(j.f)
			}
		}
		if r.frameWait {
			r.dispCond.Signal()
		}
		r.mu.Unlock()
	}
	for _, j := range js {
		*j = job{}
		r.jobs.Put(j)
	}
}

// cancelled completes j without running it when the ring was aborted or
// stopped, and reports whether it did.
func (r *Ring) cancelled(j *job) bool {
	if !r.halted.Load() {
		return false
	}
	// Its completion may have to wait for those the dispatcher holds.
	r.flush()
	var err error
	select {
	case <-r.abortCh:
		err = fmt.Errorf("%v: %w", j.Batch, ErrAborted)
		r.mu.Lock()
		r.aborted = append(r.aborted, j.Batch)
		r.mu.Unlock()
	case <-r.stopCh:
		err = fmt.Errorf("%v not run: %w", j.Batch, r.Err())
	default:
		return false
	}
	r.giveBack(j.slot)
	r.finishJob(j, nil, err)
	return true
}

// finishJob delivers j's completion (in order, when the ring is ordered);
// its frame comes back once the completion is in the queue.
func (r *Ring) finishJob(j *job, result []byte, err error) {
	now := r.stats.now()
	j.c = Completion{Batch: j.Batch, Result: result, Err: err, Latency: now - j.submitted}
	var buf [4]*job
	r.released(now, r.cq.deliver([]*job{j}, buf[:0], now))
}

// fifo is a first-in first-out queue of at most its capacity.
type fifo[T any] struct {
	buf     []T
	head, n int
}

func newFIFO[T any](capacity int) fifo[T] { return fifo[T]{buf: make([]T, capacity)} }

func (q *fifo[T]) len() int { return q.n }

// push adds x; the queue must have room.
func (q *fifo[T]) push(x T) {
	q.buf[(q.head+q.n)%len(q.buf)] = x
	q.n++
}

// pop takes the oldest; the queue must not be empty.
func (q *fifo[T]) pop() T {
	var zero T
	x := q.buf[q.head]
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return x
}
