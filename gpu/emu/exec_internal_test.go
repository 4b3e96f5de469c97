package emu

import (
	"bytes"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
)

// TestInPlaceNeverWaitsForKernels: work run in place on an idle stream
// never waits for a kernel. While a launch runs it holds device.exec for
// writing (here the test holds it, as a launch does): a copy, a memset or
// a copy and record are then queued on the stream, not run on the caller's
// goroutine (where cpuemu's lock, which a running launch holds, would
// keep the caller waiting), and CopyHtoDRecord says its record is not done;
// a wait for a completed record, which touches no memory, still runs in
// place. Once the launch is over, everything queued has run, in order.
func TestInPlaceNeverWaitsForKernels(t *testing.T) {
	dd, err := Open(gpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dd.Close()
	d := dd.(*device)
	gs, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	s := gs.(*stream)
	buf, err := d.Alloc(64)
	if err != nil {
		t.Fatal(err)
	}
	h, err := d.AllocHost(64, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range h.Bytes() {
		h.Bytes()[i] = byte(3*i + 1)
	}
	want := bytes.Clone(h.Bytes())
	e, err := d.NewEventNoTiming()
	if err != nil {
		t.Fatal(err)
	}

	d.exec.Lock() // a kernel runs
	if ran, err := s.runNow("memset", false, true, func(error) error { t.Error("ran in place while a kernel ran"); return nil }); ran || err != nil {
		t.Errorf("runNow of work on memory while a kernel runs: ran %v, %v; want false, nil", ran, err)
	}
	if ran, err := s.runNow("wait", true, false, func(error) error { return nil }); !ran || err != nil {
		t.Errorf("runNow of a wait for a completed record while a kernel runs: ran %v, %v; want true, nil", ran, err)
	}
	if err := s.Memset(buf, 0, 64, 0xEE); err != nil {
		t.Fatal(err)
	}
	if done, err := s.CopyHtoDRecord(buf, 0, h, 0, 64, e); done || err != nil {
		t.Errorf("CopyHtoDRecord while a kernel runs: done %v, %v; want false, nil", done, err)
	}
	// The stream's goroutine runs what was queued, as it would behind a
	// launch on another stream.
	if err := s.Synchronize(); err != nil {
		t.Fatal(err)
	}
	d.exec.Unlock()
	got := make([]byte, 64)
	if err := buf.CopyToHost(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("device buffer: % x, want % x (the memset, then the copy)", got[:8], want[:8])
	}
	if done, err := e.Query(); !done || err != nil {
		t.Errorf("the record after the queued copy: %v, %v", done, err)
	}
	// No kernel: in place again.
	if done, err := s.CopyHtoDRecord(buf, 0, h, 0, 64, e); !done || err != nil {
		t.Errorf("CopyHtoDRecord with no kernel running: done %v, %v; want true, nil", done, err)
	}
}
