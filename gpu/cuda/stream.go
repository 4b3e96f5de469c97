//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gpubuf/gpubuf/gpu"
	"gorgonia.org/cu"
)

// Stream is a CUDA stream, created non-blocking: it does not wait for, nor
// hold up, the legacy default stream.
type Stream struct {
	dev  *Device
	st   cu.Stream
	live atomic.Bool
}

var _ gpu.Stream = (*Stream)(nil)

// NewStream makes a stream (cuStreamCreate, CU_STREAM_NON_BLOCKING).
func (d *Device) NewStream() (gpu.Stream, error) {
	const op = "new stream"
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.leave()
	s := &Stream{dev: d}
	err := d.do(func() error {
		var err error
		s.st, err = cu.MakeStream(cu.NonBlocking)
		return err
	})
	if err != nil {
		return nil, wrapErr(op, err)
	}
	s.live.Store(true)
	track(d, d.streams, s)
	return s, nil
}

// begin enters the device for op on the live stream; end with leave.
func (s *Stream) begin(op string) error {
	if err := s.dev.enter(op); err != nil {
		return err
	}
	if !s.live.Load() {
		s.dev.leave()
		return closedErr(op)
	}
	return nil
}

// deviceBuffer is b as this device's live buffer.
func (d *Device) deviceBuffer(op, what string, b gpu.DeviceBuffer) (*DeviceBuffer, error) {
	db, ok := b.(*DeviceBuffer)
	switch {
	case !ok || db == nil:
		return nil, usageErr(op, "%s is a %T, not a buffer of the cuda backend", what, b)
	case db.dev != d:
		return nil, usageErr(op, "%s belongs to another device", what)
	case !db.live.Load():
		return nil, db.goneErr(op, what)
	}
	return db, nil
}

// hostBuffer is h as this device's live host buffer.
func (d *Device) hostBuffer(op, what string, h gpu.HostBuffer) (*HostBuffer, error) {
	hb, ok := h.(*HostBuffer)
	switch {
	case !ok || hb == nil:
		return nil, usageErr(op, "%s is a %T, not a host buffer of the cuda backend", what, h)
	case hb.dev != d:
		return nil, usageErr(op, "%s belongs to another device", what)
	case !hb.live.Load():
		return nil, &gpu.Error{Backend: backend, Op: op, Msg: what + " was freed", Err: gpu.ErrClosed}
	}
	return hb, nil
}

// CopyHtoD queues a copy of n bytes from src at srcOff to dst at dstOff
// (cuMemcpyHtoDAsync).
func (s *Stream) CopyHtoD(dst gpu.DeviceBuffer, dstOff int, src gpu.HostBuffer, srcOff, n int) error {
	const op = "copy HtoD"
	if err := s.begin(op); err != nil {
		return err
	}
	defer s.dev.leave()
	db, err := s.dev.deviceBuffer(op, "destination", dst)
	if err != nil {
		return err
	}
	hb, err := s.dev.hostBuffer(op, "source", src)
	if err != nil {
		return err
	}
	if err := checkRange(op, "destination", dstOff, n, db.size); err != nil {
		return err
	}
	if err := checkRange(op, "source", srcOff, n, hb.size); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := s.dev.do(func() error {
		return cu.MemcpyHtoDAsync(db.ptr+cu.DevicePtr(dstOff), unsafe.Add(hb.p, srcOff), int64(n), s.st)
	}); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// CopyDtoH queues a copy of n bytes from src at srcOff to dst at dstOff
// (cuMemcpyDtoHAsync).
func (s *Stream) CopyDtoH(dst gpu.HostBuffer, dstOff int, src gpu.DeviceBuffer, srcOff, n int) error {
	const op = "copy DtoH"
	if err := s.begin(op); err != nil {
		return err
	}
	defer s.dev.leave()
	hb, err := s.dev.hostBuffer(op, "destination", dst)
	if err != nil {
		return err
	}
	db, err := s.dev.deviceBuffer(op, "source", src)
	if err != nil {
		return err
	}
	if err := checkRange(op, "destination", dstOff, n, hb.size); err != nil {
		return err
	}
	if err := checkRange(op, "source", srcOff, n, db.size); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := s.dev.do(func() error {
		return cu.MemcpyDtoHAsync(unsafe.Add(hb.p, dstOff), db.ptr+cu.DevicePtr(srcOff), int64(n), s.st)
	}); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// Memset queues setting n bytes of dst at off to v (cuMemsetD8Async).
func (s *Stream) Memset(dst gpu.DeviceBuffer, off, n int, v byte) error {
	const op = "memset"
	if err := s.begin(op); err != nil {
		return err
	}
	defer s.dev.leave()
	db, err := s.dev.deviceBuffer(op, "destination", dst)
	if err != nil {
		return err
	}
	if err := checkRange(op, "destination", off, n, db.size); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := s.dev.do(func() error {
		return cu.MemsetD8Async(db.ptr+cu.DevicePtr(off), v, int64(n), s.st)
	}); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// Launch queues kernel k (cuLaunchKernel). The launch shape is checked
// against the device's limits, the arguments against the kernel's .param
// list (gpu.CheckArgs), and buffers against this device and their
// lifetimes, before anything is queued; each argument goes to the driver
// in an 8-byte holder. A launch with more than 48 KiB of dynamic shared
// memory first lets the kernel have that much
// (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES).
func (s *Stream) Launch(k gpu.Kernel, cfg gpu.LaunchConfig, args ...any) error {
	kk, ok := k.(*Kernel)
	if !ok || kk == nil {
		return usageErr("launch", "the kernel is a %T, not a kernel of the cuda backend", k)
	}
	op := kk.launchOp
	d := s.dev
	if err := s.begin(op); err != nil {
		return err
	}
	defer d.leave()
	m := kk.mod
	if m.dev != d {
		return usageErr(op, "the kernel was loaded on another device")
	}
	m.use.RLock()
	defer m.use.RUnlock()
	if m.closed {
		return m.closedErr(op)
	}
	if err := d.checkConfig(op, cfg, kk.fn.static); err != nil {
		return err
	}
	holders, err := gpu.CheckArgs(kk.name, kk.params, args)
	if err != nil {
		var ge *gpu.Error
		if errors.As(err, &ge) && ge.Backend == "" {
			ge.Backend = backend
		}
		return err
	}
	ptrs := make([]unsafe.Pointer, len(holders))
	for i := range holders {
		a := &holders[i]
		// The checks again, to say what is wrong, only when something is.
		what := func() string { return fmt.Sprintf("argument %d (%s)", i, a.Param.Name) }
		if a.Buffer != nil {
			if b, ok := a.Buffer.(*DeviceBuffer); !ok || b.dev != d || !b.live.Load() {
				_, err := d.deviceBuffer(op, what(), a.Buffer)
				return err
			}
		}
		if a.Host != nil {
			if h, ok := a.Host.(*HostBuffer); !ok || h.dev != d || !h.live.Load() {
				_, err := d.hostBuffer(op, what(), a.Host)
				return err
			}
		}
		ptrs[i] = unsafe.Pointer(&a.Raw)
	}
	if cfg.Cooperative {
		return kk.launchCooperative(op, s, cfg, ptrs)
	}
	err = d.do(func() error {
		if err := kk.allowDynShared(cfg.SharedBytes); err != nil {
			return err
		}
		return kk.fn.f.Launch(int(cfg.Grid.X), int(cfg.Grid.Y), int(cfg.Grid.Z),
			int(cfg.Block.X), int(cfg.Block.Y), int(cfg.Block.Z),
			cfg.SharedBytes, s.st, ptrs)
	})
	if err != nil {
		e := wrapErr(op, err)
		e.Msg += fmt.Sprintf(" (grid %v, block %v, %d bytes of dynamic shared memory)", cfg.Grid, cfg.Block, cfg.SharedBytes)
		return e
	}
	return nil
}

// launchCooperative queues a cooperative launch of k
// (cuLaunchCooperativeKernel) after checking that the device can launch
// cooperatively and holds the grid at once, so that a refusal names the
// limit; the driver checks again.
func (k *Kernel) launchCooperative(op string, s *Stream, cfg gpu.LaunchConfig, ptrs []unsafe.Pointer) error {
	d := s.dev
	if !d.coop {
		return usageErr(op, "the device cannot launch cooperatively (CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH is 0)")
	}
	err := d.do(func() error {
		limit, err := k.cooperativeBlocks(cfg.Block, cfg.SharedBytes)
		if err != nil {
			return err
		}
		if n := cfg.Grid.Count(); n > int64(limit) {
			e := resultError("", errCooperativeTooLarge)
			e.Msg += fmt.Sprintf(": a cooperative grid of %d blocks; the device holds at most %d at once (%d SMs × %d blocks of %d threads and %d bytes of dynamic shared memory)",
				n, limit, d.info.SMCount, limit/max(1, d.info.SMCount), cfg.Block.Count(), cfg.SharedBytes)
			return e
		}
		return launchCooperative(k.fn.f, cfg.Grid, cfg.Block, cfg.SharedBytes, s.st, ptrs)
	})
	if err != nil {
		e := wrapErr(op, err)
		e.Msg += fmt.Sprintf(" (cooperative grid %v, block %v, %d bytes of dynamic shared memory)", cfg.Grid, cfg.Block, cfg.SharedBytes)
		return e
	}
	return nil
}

// checkConfig checks a launch shape against the device's limits, for a
// kernel with static bytes of static shared memory.
func (d *Device) checkConfig(op string, cfg gpu.LaunchConfig, static int) error {
	for _, c := range []struct {
		what string
		dim  gpu.Dim3
		max  [3]int
	}{{"grid", cfg.Grid, d.maxGrid}, {"block", cfg.Block, d.maxBlock}} {
		for i, n := range []uint32{c.dim.X, c.dim.Y, c.dim.Z} {
			switch {
			case n == 0:
				return usageErr(op, "%s %v has a zero dimension", c.what, c.dim)
			case int64(n) > int64(c.max[i]):
				return usageErr(op, "%s %v: its %c dimension is over the device's %d", c.what, c.dim, "xyz"[i], c.max[i])
			}
		}
	}
	if n := cfg.Block.Count(); n > int64(d.maxThreads) {
		return usageErr(op, "block %v has %d threads; the device allows %d", cfg.Block, n, d.maxThreads)
	}
	if problem := sharedProblem(static, cfg.SharedBytes, d.maxSharedOptin); problem != "" {
		return usageErr(op, "%s", problem)
	}
	return nil
}

// Record records e in the stream (cuEventRecord).
func (s *Stream) Record(e gpu.Event) error {
	const op = "record event"
	if err := s.begin(op); err != nil {
		return err
	}
	defer s.dev.leave()
	ev, err := s.dev.event(op, "the event", e)
	if err != nil {
		return err
	}
	if err := s.dev.do(func() error { return ev.ev.Record(s.st) }); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// Wait makes the work queued after it wait for e (cuStreamWaitEvent).
func (s *Stream) Wait(e gpu.Event) error {
	const op = "wait for event"
	if err := s.begin(op); err != nil {
		return err
	}
	defer s.dev.leave()
	ev, err := s.dev.event(op, "the event", e)
	if err != nil {
		return err
	}
	if err := s.dev.do(func() error { return s.st.Wait(ev.ev, 0) }); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// Synchronize waits for the work queued so far (cuStreamSynchronize).
func (s *Stream) Synchronize() error {
	const op = "synchronize stream"
	if err := s.begin(op); err != nil {
		return err
	}
	defer s.dev.leave()
	if err := s.dev.do(s.st.Synchronize); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// Close waits for the stream's work (reporting its error, if any) and
// destroys the stream (cuStreamDestroy). It is idempotent.
func (s *Stream) Close() error {
	const op = "close stream"
	d := s.dev
	if d.enter(op) != nil {
		return nil // the device's Close destroyed it
	}
	defer d.leave()
	if !s.live.Swap(false) {
		return nil
	}
	untrack(d, d.streams, s)
	var serr, derr error
	if err := d.do(func() error {
		serr = s.st.Synchronize()
		derr = s.st.Destroy()
		return nil
	}); err != nil {
		return wrapErr(op, err)
	}
	if serr != nil {
		return wrapErr(op+": synchronize", serr)
	}
	if derr != nil {
		return wrapErr(op, derr)
	}
	return nil
}

// Event is a CUDA event. Waits for it block (CU_EVENT_BLOCKING_SYNC): see
// Device's comment on threading.
type Event struct {
	dev   *Device
	ev    cu.Event
	timed bool // its records carry their time (NewEvent, not NewEventNoTiming)
	live  atomic.Bool
}

var _ gpu.Event = (*Event)(nil)

// NewEvent makes an event that records time, for Elapsed (cuEventCreate,
// CU_EVENT_BLOCKING_SYNC).
func (d *Device) NewEvent() (gpu.Event, error) {
	return d.newEvent(true)
}

// NewEventNoTiming makes an event whose records carry no time
// (cuEventCreate, CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING): a
// record takes no timestamp, and Elapsed refuses it. It is
// not part of gpu.Device: a caller that only orders and waits with its
// events (host's ring) finds it with a type assertion, as on the
// emulator.
func (d *Device) NewEventNoTiming() (gpu.Event, error) {
	return d.newEvent(false)
}

func (d *Device) newEvent(timed bool) (gpu.Event, error) {
	const op = "new event"
	if err := d.enter(op); err != nil {
		return nil, err
	}
	defer d.leave()
	e := &Event{dev: d, timed: timed}
	flags := cu.BlockingSyncEvent
	if !timed {
		flags |= cu.DisableTiming
	}
	err := d.do(func() error {
		var err error
		e.ev, err = cu.MakeEvent(flags)
		return err
	})
	if err != nil {
		return nil, wrapErr(op, err)
	}
	e.live.Store(true)
	track(d, d.events, e)
	return e, nil
}

// event is e as this device's live event.
func (d *Device) event(op, what string, e gpu.Event) (*Event, error) {
	ev, ok := e.(*Event)
	switch {
	case !ok || ev == nil:
		return nil, usageErr(op, "%s is a %T, not an event of the cuda backend", what, e)
	case ev.dev != d:
		return nil, usageErr(op, "%s belongs to another device", what)
	case !ev.live.Load():
		return nil, &gpu.Error{Backend: backend, Op: op, Msg: what + " was closed", Err: gpu.ErrClosed}
	}
	return ev, nil
}

func (e *Event) begin(op string) error {
	if err := e.dev.enter(op); err != nil {
		return err
	}
	if !e.live.Load() {
		e.dev.leave()
		return closedErr(op)
	}
	return nil
}

// Query reports whether the work before the event's last record has
// completed (cuEventQuery): true for an event never recorded.
func (e *Event) Query() (bool, error) {
	const op = "query event"
	if err := e.begin(op); err != nil {
		return false, err
	}
	defer e.dev.leave()
	var qerr error
	if err := e.dev.do(func() error { qerr = e.ev.Query(); return nil }); err != nil {
		return false, wrapErr(op, err)
	}
	switch {
	case qerr == nil:
		return true, nil
	case isResult(qerr, cu.NotReady):
		return false, nil
	}
	return false, wrapErr(op, qerr)
}

// Synchronize waits for the work before the event's last record
// (cuEventSynchronize).
func (e *Event) Synchronize() error {
	const op = "synchronize event"
	if err := e.begin(op); err != nil {
		return err
	}
	defer e.dev.leave()
	if err := e.dev.do(e.ev.Synchronize); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// Elapsed is the time from start's completion to e's
// (cuEventElapsedTime), to about half a microsecond.
func (e *Event) Elapsed(start gpu.Event) (time.Duration, error) {
	const op = "elapsed time"
	if err := e.begin(op); err != nil {
		return 0, err
	}
	defer e.dev.leave()
	st, err := e.dev.event(op, "the start event", start)
	if err != nil {
		return 0, err
	}
	if !e.timed || !st.timed {
		return 0, usageErr(op, "an event made without timing (NewEventNoTiming) has no time")
	}
	var ms float64
	if err := e.dev.do(func() error {
		var err error
		ms, err = st.ev.Elapsed(e.ev)
		return err
	}); err != nil {
		return 0, wrapErr(op, err)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// Close destroys the event (cuEventDestroy). It is idempotent.
func (e *Event) Close() error {
	const op = "close event"
	d := e.dev
	if d.enter(op) != nil {
		return nil // the device's Close destroyed it
	}
	defer d.leave()
	if !e.live.Swap(false) {
		return nil
	}
	untrack(d, d.events, e)
	if err := d.do(func() error { return cu.DestroyEvent(&e.ev) }); err != nil {
		return wrapErr(op, err)
	}
	return nil
}
