package emu_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// TestEmuInlineOnIdleStream: on a stream with nothing queued or running, a
// copy, a memset and an event record have run when the call returns (they
// run on the caller's goroutine), and a wait for a completed record takes
// on its error at once.
func TestEmuInlineOnIdleStream(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	s := newStream(t, d)
	b := alloc(t, d, 64)
	h := allocHost(t, d, 64, 0)
	for i := range h.Bytes() {
		h.Bytes()[i] = byte(3*i + 1)
	}
	want := bytes.Clone(h.Bytes())
	must(t, s.CopyHtoD(b, 0, h, 0, 64))
	// The host buffer may be written again at once: the copy has read it.
	clear(h.Bytes())
	got := make([]byte, 64)
	must(t, b.CopyToHost(got, 0))
	if !bytes.Equal(got, want) {
		t.Fatalf("device buffer right after CopyHtoD on an idle stream: % x, want % x", got[:8], want[:8])
	}
	must(t, s.CopyDtoH(h, 0, b, 0, 64))
	if !bytes.Equal(h.Bytes(), want) {
		t.Errorf("host buffer right after CopyDtoH on an idle stream: % x, want % x", h.Bytes()[:8], want[:8])
	}
	must(t, s.Memset(b, 8, 8, 0xAA))
	must(t, b.CopyToHost(got, 0))
	if !bytes.Equal(got[8:16], bytes.Repeat([]byte{0xAA}, 8)) {
		t.Errorf("bytes 8..15 right after Memset on an idle stream: % x", got[8:16])
	}
	e := newEvent(t, d)
	must(t, s.Record(e))
	if done, err := e.Query(); !done || err != nil {
		t.Errorf("Query right after Record on an idle stream = %v, %v; want true, nil", done, err)
	}
}

// TestEmuInlineWaitsItsTurn: a copy, a memset and a record queued behind a
// launch run after it, in order, not at once: a memset of the launch's
// input must not reach the launch, and a copy of its output sees it
// finished.
func TestEmuInlineWaitsItsTurn(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	k := handoff(t, d, "lane_handoff")
	s := newStream(t, d)
	inw := input(slowN)
	in, out := alloc(t, d, 4*slowN), alloc(t, d, 4*slowN)
	hin, hout := allocHost(t, d, 4*slowN, 0), allocHost(t, d, 4*slowN, 0)
	copy(hin.Bytes(), words(inw))
	e := newEvent(t, d)
	must(t, s.CopyHtoD(in, 0, hin, 0, 4*slowN))
	must(t, s.Launch(k, handoffShape, in, out, uint32(slowN)))
	// Let the stream's goroutine take the launch off the queue: the stream
	// is then running with nothing queued, the case in which a memset
	// must still wait. (Should the launch be over by then, the memset may
	// run at once, and the test checks the same.)
	time.Sleep(5 * time.Millisecond)
	must(t, s.Memset(in, 0, 4*slowN, 0)) // after the launch has read in
	must(t, s.Record(e))
	if done, err := e.Query(); done || err != nil {
		t.Errorf("Query of a record behind a slow launch, right after Record = %v, %v; want false, nil", done, err)
	}
	must(t, s.CopyDtoH(hout, 0, out, 0, 4*slowN))
	must(t, s.Synchronize())
	if !bytes.Equal(hout.Bytes(), words(kernels.LaneHandoff(inw))) {
		t.Fatal("the launch's output is wrong: the memset queued after it ran first, or the copy out ran before it finished")
	}
	got := make([]byte, 4*slowN)
	must(t, in.CopyToHost(got, 0))
	if !bytes.Equal(got, make([]byte, 4*slowN)) {
		t.Error("the memset queued after the launch did not run")
	}
}

// TestEmuInlineAfterFailure: once a stream has failed, a copy and a memset
// on it are skipped even when it is idle, and a record carries the error,
// as for work queued behind the failure.
func TestEmuInlineAfterFailure(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	k := handoff(t, d, "lane_handoff")
	s := newStream(t, d)
	out := alloc(t, d, 4*32)
	h := allocHost(t, d, 4*32, 0)
	for i := range h.Bytes() {
		h.Bytes()[i] = 0x55
	}
	must(t, s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}, uint64(0x1000), out, uint32(32)))
	var fe *cpuemu.FaultError
	if err := s.Synchronize(); !errors.As(err, &fe) {
		t.Fatalf("Synchronize after a faulting launch: %v, want a *cpuemu.FaultError", err)
	}
	must(t, s.CopyHtoD(out, 0, h, 0, 4*32))
	must(t, s.Memset(out, 0, 4, 0xEE))
	must(t, s.CopyDtoH(h, 0, out, 0, 4*32))
	e := newEvent(t, d)
	must(t, s.Record(e))
	if done, err := e.Query(); !done || !errors.As(err, &fe) {
		t.Errorf("Query of a record on the failed, idle stream = %v, %v; want true and the fault", done, err)
	}
	got := make([]byte, 4*32)
	must(t, out.CopyToHost(got, 0))
	if !bytes.Equal(got, make([]byte, 4*32)) {
		t.Errorf("the copy or memset on the failed stream ran: out starts % x", got[:8])
	}
	if !bytes.Equal(h.Bytes(), bytes.Repeat([]byte{0x55}, 4*32)) {
		t.Errorf("the copy back on the failed stream ran: host starts % x", h.Bytes()[:8])
	}
}

// TestEmuInlineConcurrent: goroutines share one stream, each setting its
// own buffer and copying it back, while another keeps launching on it, so
// that some of their work runs at once and some queues. Each goroutine's
// work runs in its order: it always reads back what it set last.
func TestEmuInlineConcurrent(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	k := handoff(t, d, "lane_handoff")
	s := newStream(t, d)
	const n = 1024
	kin, kout := alloc(t, d, 4*n), alloc(t, d, 4*n)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(128)}, kin, kout, uint32(n)); err != nil {
				errs <- err
				return
			}
			if err := s.Synchronize(); err != nil {
				errs <- err
				return
			}
		}
	}()
	var users sync.WaitGroup
	for g := range 4 {
		users.Add(1)
		go func() {
			defer users.Done()
			b, err := d.Alloc(256)
			if err != nil {
				errs <- err
				return
			}
			h, err := d.AllocHost(256, 0)
			if err != nil {
				errs <- err
				return
			}
			e, err := d.NewEvent()
			if err != nil {
				errs <- err
				return
			}
			for i := range 300 {
				v := byte(g*64 + i%64)
				if err := errors.Join(s.Memset(b, 0, 256, v), s.CopyDtoH(h, 0, b, 0, 256), s.Record(e)); err != nil {
					errs <- err
					return
				}
				if err := e.Synchronize(); err != nil {
					errs <- err
					return
				}
				if got := h.Bytes(); !bytes.Equal(got, bytes.Repeat([]byte{v}, 256)) {
					errs <- fmt.Errorf("goroutine %d, round %d: read back % x..., want %#x", g, i, got[:4], v)
					return
				}
			}
		}()
	}
	users.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	must(t, s.Synchronize())
}

// TestEmuRecordReuse: a record on an idle stream completes at once and
// writes the event's last record anew when that one is the event's alone,
// so that recording and querying an event on an idle stream allocates
// nothing; a record that a waiter holds is never written anew. Here a
// stream waits on a record that completes without error while the stream
// is still busy; the event is then recorded again on an idle stream that
// has failed, which makes a record carrying the fault: the waiting stream
// must take on its own record's outcome (none), not the fault.
func TestEmuRecordReuse(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	s := newStream(t, d)
	e := newEvent(t, d)
	must(t, s.Record(e))
	if allocs := testing.AllocsPerRun(100, func() {
		if err := s.Record(e); err != nil {
			t.Fatal(err)
		}
		if done, err := e.Query(); !done || err != nil {
			t.Fatalf("Query after Record on an idle stream = %v, %v", done, err)
		}
	}); allocs != 0 {
		t.Errorf("Record and Query on an idle stream: %v allocations, want 0", allocs)
	}
	start := newEvent(t, d)
	must(t, s.Record(start))
	time.Sleep(time.Millisecond)
	must(t, s.Record(e)) // written anew: its time moves on
	if el, err := e.Elapsed(start); err != nil || el < time.Millisecond {
		t.Errorf("Elapsed from start to e recorded 1 ms later = %v, %v", el, err)
	}

	k := handoff(t, d, "lane_handoff")
	a, b, failed := newStream(t, d), newStream(t, d), newStream(t, d)
	in, out := alloc(t, d, 4*slowN), alloc(t, d, 4*slowN)
	// The failed stream: a launch that faults.
	must(t, failed.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}, uint64(0x1000), out, uint32(32)))
	var fe *cpuemu.FaultError
	if err := failed.Synchronize(); !errors.As(err, &fe) {
		t.Fatalf("Synchronize after a faulting launch: %v", err)
	}
	// a: a slow launch, then the record; b: another slow launch (launches
	// take turns on the device, so b's runs after a's), then the wait.
	must(t, a.Launch(k, handoffShape, in, out, uint32(slowN)))
	must(t, a.Record(e))
	must(t, b.Launch(k, handoffShape, in, out, uint32(slowN)))
	must(t, b.Wait(e))
	held := make(chan error, 1)
	go func() { held <- e.Synchronize() }()
	for done, _ := e.Query(); !done; done, _ = e.Query() {
		time.Sleep(100 * time.Microsecond)
	}
	must(t, failed.Record(e)) // while b's launch runs, before its wait
	if done, err := e.Query(); !done || !errors.As(err, &fe) {
		t.Errorf("Query of the record on the failed stream = %v, %v; want true and the fault", done, err)
	}
	if err := b.Synchronize(); err != nil {
		t.Errorf("the stream that waited on a record completed without error failed: %v", err)
	}
	if err := <-held; err != nil {
		t.Errorf("Synchronize of a record that completed without error: %v", err)
	}
}

// copyRecorder and noTiming are the emulator's methods beyond gpu.Stream
// and gpu.Device that host's ring finds by type assertion.
type copyRecorder interface {
	CopyHtoDRecord(dst gpu.DeviceBuffer, dstOff int, src gpu.HostBuffer, srcOff, n int, e gpu.Event) (bool, error)
}

type noTiming interface {
	NewEventNoTiming() (gpu.Event, error)
}

// TestEmuCopyHtoDRecord: a copy and a record of an event in one call. On
// an idle stream both are done when it returns, which it says; behind a
// launch they wait their turn, in order, and it says they are not done; on
// a failed stream the copy is skipped and the record carries the fault;
// bad arguments and a closed stream fail as CopyHtoD and Record fail.
func TestEmuCopyHtoDRecord(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	s := newStream(t, d)
	cr, ok := s.(copyRecorder)
	if !ok {
		t.Fatalf("the emulator's stream %T has no CopyHtoDRecord", s)
	}
	b := alloc(t, d, 64)
	h := allocHost(t, d, 64, 0)
	for i := range h.Bytes() {
		h.Bytes()[i] = byte(5*i + 3)
	}
	want := bytes.Clone(h.Bytes())
	e := newEvent(t, d)
	if done, err := cr.CopyHtoDRecord(b, 0, h, 0, 64, e); !done || err != nil {
		t.Fatalf("on an idle stream: done %v, %v; want true, nil", done, err)
	}
	clear(h.Bytes()) // the copy has read it
	got := make([]byte, 64)
	must(t, b.CopyToHost(got, 0))
	if !bytes.Equal(got, want) {
		t.Fatalf("device buffer after CopyHtoDRecord: % x, want % x", got[:8], want[:8])
	}
	if done, err := e.Query(); !done || err != nil {
		t.Errorf("Query after CopyHtoDRecord on an idle stream = %v, %v", done, err)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		if done, err := cr.CopyHtoDRecord(b, 0, h, 0, 64, e); !done || err != nil {
			t.Fatal(done, err)
		}
	}); allocs != 0 {
		t.Errorf("CopyHtoDRecord on an idle stream: %v allocations, want 0", allocs)
	}

	// Behind a slow launch: the copy into the launch's input waits for it.
	k := handoff(t, d, "lane_handoff")
	inw := input(slowN)
	in, out := alloc(t, d, 4*slowN), alloc(t, d, 4*slowN)
	hin, hout := allocHost(t, d, 4*slowN, 0), allocHost(t, d, 4*slowN, 0)
	copy(hin.Bytes(), words(inw))
	must(t, s.CopyHtoD(in, 0, hin, 0, 4*slowN))
	must(t, s.Launch(k, handoffShape, in, out, uint32(slowN)))
	zero := allocHost(t, d, 4*slowN, 0)
	if done, err := cr.CopyHtoDRecord(in, 0, zero, 0, 4*slowN, e); done || err != nil {
		t.Errorf("behind a launch: done %v, %v; want false, nil", done, err)
	}
	must(t, e.Synchronize())
	must(t, s.CopyDtoH(hout, 0, out, 0, 4*slowN))
	must(t, s.Synchronize())
	if !bytes.Equal(hout.Bytes(), words(kernels.LaneHandoff(inw))) {
		t.Fatal("the launch saw the copy queued after it")
	}

	// A failed stream skips the copy; the record carries the fault.
	f := newStream(t, d)
	must(t, f.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}, uint64(0x1000), out, uint32(32)))
	var fe *cpuemu.FaultError
	if err := f.Synchronize(); !errors.As(err, &fe) {
		t.Fatalf("Synchronize after a faulting launch: %v", err)
	}
	must(t, b.Memset(0, 64, 0))
	if done, err := f.(copyRecorder).CopyHtoDRecord(b, 0, allocHost(t, d, 64, 0), 0, 64, e); done || err != nil {
		t.Errorf("on a failed stream: done %v, %v; want false, nil", done, err)
	}
	if done, err := e.Query(); !done || !errors.As(err, &fe) {
		t.Errorf("Query of its record = %v, %v; want true and the fault", done, err)
	}
	must(t, b.CopyToHost(got, 0))
	if !bytes.Equal(got, make([]byte, 64)) {
		t.Error("the copy on a failed stream ran")
	}

	// Misuse.
	if _, err := cr.CopyHtoDRecord(b, 8, h, 0, 64, e); err == nil {
		t.Error("a copy past the device buffer's end: no error")
	}
	if _, err := cr.CopyHtoDRecord(b, 0, h, 0, 64, nil); err == nil {
		t.Error("a nil event: no error")
	}
	must(t, s.Close())
	if _, err := cr.CopyHtoDRecord(b, 0, h, 0, 64, e); !errors.Is(err, gpu.ErrClosed) {
		t.Errorf("on a closed stream: %v, want gpu.ErrClosed", err)
	}
}

// TestEmuEventNoTiming: an event made without timing orders and waits as
// any other, carries a failed stream's error, and has no time for Elapsed.
func TestEmuEventNoTiming(t *testing.T) {
	d := open(t, gpu.EmuOptions{})
	nt, ok := d.(noTiming)
	if !ok {
		t.Fatalf("the emulator's device %T has no NewEventNoTiming", d)
	}
	e, err := nt.NewEventNoTiming()
	must(t, err)
	timed := newEvent(t, d)
	s := newStream(t, d)
	must(t, s.Record(timed))
	must(t, s.Record(e))
	if done, err := e.Query(); !done || err != nil {
		t.Errorf("Query = %v, %v", done, err)
	}
	must(t, e.Synchronize())
	if _, err := e.Elapsed(timed); err == nil {
		t.Error("Elapsed to an event without timing: no error")
	}
	if _, err := timed.Elapsed(e); err == nil {
		t.Error("Elapsed from an event without timing: no error")
	}
	// A stream waits on it as on any event.
	k := handoff(t, d, "lane_handoff")
	in, out := alloc(t, d, 4*slowN), alloc(t, d, 4*slowN)
	must(t, s.Launch(k, handoffShape, in, out, uint32(slowN)))
	must(t, s.Record(e))
	other := newStream(t, d)
	must(t, other.Wait(e))
	must(t, other.Record(timed))
	if done, _ := timed.Query(); done {
		t.Error("a record behind a wait on a record behind a slow launch completed at once")
	}
	must(t, other.Synchronize())
	if done, err := e.Query(); !done || err != nil {
		t.Errorf("after the wait: Query = %v, %v", done, err)
	}
	must(t, nt.(gpu.Device).Close())
	if _, err := nt.NewEventNoTiming(); !errors.Is(err, gpu.ErrClosed) {
		t.Errorf("NewEventNoTiming on a closed device: %v", err)
	}
}
