package gputest

import (
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// Use after close is gpu.ErrClosed; closing twice is fine.
func (s *suite) testClosed(t *testing.T) {
	t.Run("DeviceBuffer", s.testClosedBuffer)
	t.Run("HostBuffer", s.testClosedHost)
	t.Run("Stream", s.testClosedStream)
	t.Run("Event", s.testClosedEvent)
	t.Run("Module", s.testClosedModule)
	t.Run("ModuleInFlight", s.testClosedModuleInFlight)
	t.Run("Device", s.testClosedDevice)
	t.Run("DeviceInFlight", s.testClosedDeviceInFlight)
}

func (s *suite) testClosedBuffer(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	st := newStream(t, dev)
	h := allocHost(t, dev, 16, 0)
	b, err := dev.Alloc(64)
	must(t, err, "Alloc")
	must(t, b.Free(), "Free")
	wantClosed(t, be, b.CopyFromHost(0, []byte{1}), "CopyFromHost to a freed buffer")
	wantClosed(t, be, b.CopyToHost(make([]byte, 1), 0), "CopyToHost from a freed buffer")
	wantClosed(t, be, b.Memset(0, 1, 0), "Memset of a freed buffer")
	wantClosed(t, be, st.CopyHtoD(b, 0, h, 0, 1), "CopyHtoD to a freed buffer")
	wantClosed(t, be, st.CopyDtoH(h, 0, b, 0, 1), "CopyDtoH from a freed buffer")
	wantClosed(t, be, st.Memset(b, 0, 1, 0), "stream Memset of a freed buffer")
	wantFreed(t, be, b.Free(), "a second Free")
	must(t, st.Synchronize(), "Synchronize")
}

func (s *suite) testClosedHost(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	st := newStream(t, dev)
	k := loadCatalogued(t, dev, "lane_handoff")
	d := alloc(t, dev, 16)
	h, err := dev.AllocHost(16, gpu.HostMapped)
	must(t, err, "AllocHost")
	must(t, h.Free(), "Free")
	wantClosed(t, be, st.CopyHtoD(d, 0, h, 0, 1), "CopyHtoD from a freed host buffer")
	wantClosed(t, be, st.CopyDtoH(h, 0, d, 0, 1), "CopyDtoH to a freed host buffer")
	// Freed, it may or may not still say it is mapped: either way Launch
	// must refuse it.
	wantErr(t, be, st.Launch(k, handoffConfig, h, d, uint32(4)), "Launch with a freed host buffer")
	wantFreed(t, be, h.Free(), "a second Free")
	must(t, st.Synchronize(), "Synchronize")
}

func (s *suite) testClosedStream(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	k := loadCatalogued(t, dev, "lane_handoff")
	d := alloc(t, dev, 16)
	h := allocHost(t, dev, 16, 0)
	e := newEvent(t, dev)
	st, err := dev.NewStream()
	must(t, err, "NewStream")
	must(t, st.Memset(d, 0, 16, 1), "Memset")
	must(t, st.Close(), "Close")
	wantClosed(t, be, st.CopyHtoD(d, 0, h, 0, 1), "CopyHtoD on a closed stream")
	wantClosed(t, be, st.CopyDtoH(h, 0, d, 0, 1), "CopyDtoH on a closed stream")
	wantClosed(t, be, st.Memset(d, 0, 1, 0), "Memset on a closed stream")
	wantClosed(t, be, st.Launch(k, handoffConfig, d, d, uint32(4)), "Launch on a closed stream")
	wantClosed(t, be, st.Record(e), "Record on a closed stream")
	wantClosed(t, be, st.Wait(e), "Wait on a closed stream")
	wantClosed(t, be, st.Synchronize(), "Synchronize of a closed stream")
	must(t, st.Close(), "a second Close")
	// The work queued before Close is done, not dropped; other streams
	// still work.
	must(t, dev.Synchronize(), "Device.Synchronize")
	wantBytes(t, d, []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, "buffer set on the stream before Close")
	st2 := newStream(t, dev)
	must(t, st2.Memset(d, 0, 16, 2), "Memset on another stream")
	must(t, st2.Synchronize(), "Synchronize of another stream")
	wantBytes(t, d, []byte{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, "buffer set on another stream")
}

func (s *suite) testClosedEvent(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	st := newStream(t, dev)
	other := newEvent(t, dev)
	e, err := dev.NewEvent()
	must(t, err, "NewEvent")
	must(t, st.Record(e), "Record")
	must(t, st.Synchronize(), "Synchronize")
	must(t, e.Close(), "Close")
	_, err = e.Query()
	wantClosed(t, be, err, "Query of a closed event")
	wantClosed(t, be, e.Synchronize(), "Synchronize of a closed event")
	must(t, st.Record(other), "Record another event")
	must(t, other.Synchronize(), "Synchronize another event")
	_, err = e.Elapsed(other)
	wantClosed(t, be, err, "Elapsed of a closed event")
	_, err = other.Elapsed(e)
	wantClosed(t, be, err, "Elapsed from a closed event")
	wantClosed(t, be, st.Record(e), "Record of a closed event")
	wantClosed(t, be, st.Wait(e), "Wait for a closed event")
	must(t, e.Close(), "a second Close")
	must(t, st.Synchronize(), "Synchronize")
}

func (s *suite) testClosedModule(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	st := newStream(t, dev)
	d := alloc(t, dev, 16)
	lh, _ := kernels.Lookup("lane_handoff")
	m, err := dev.LoadModule(lh.File, lh.PTX())
	must(t, err, "LoadModule")
	k, err := m.Kernel(lh.Name)
	must(t, err, "Kernel")
	must(t, m.Close(), "Close")
	_, err = m.Kernel(lh.Name)
	wantClosed(t, be, err, "Kernel of a closed module")
	wantClosed(t, be, st.Launch(k, handoffConfig, d, d, uint32(4)), "Launch of a closed module's kernel")
	must(t, m.Close(), "a second Close")
	must(t, st.Synchronize(), "Synchronize")
	wantBytes(t, d, make([]byte, 16), "buffer of a launch that was refused")
}

// Closing a module with a launch of it in flight lets the launch finish.
func (s *suite) testClosedModuleInFlight(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	r := s.newLongRing(t, dev)
	st := newStream(t, dev)
	r.launch(t, st)
	must(t, r.k.Module().Close(), "Close of the module with a launch in flight")
	must(t, st.Synchronize(), "Synchronize")
	r.check(t, r.readBack(t))
	wantClosed(t, be, st.Launch(r.k, r.config(), r.out, r.status, uint32(ringCap), uint32(ringRP), uint32(ringRC), uint32(r.total)),
		"Launch of a closed module's kernel")
}

func (s *suite) testClosedDevice(t *testing.T) {
	dev := s.device(t) // its cleanup closes it a second time
	be := dev.Info().Backend
	lh, _ := kernels.Lookup("lane_handoff")
	m, err := dev.LoadModule(lh.File, lh.PTX())
	must(t, err, "LoadModule")
	k, err := m.Kernel(lh.Name)
	must(t, err, "Kernel")
	b, err := dev.Alloc(64)
	must(t, err, "Alloc")
	h, err := dev.AllocHost(64, 0)
	must(t, err, "AllocHost")
	st, err := dev.NewStream()
	must(t, err, "NewStream")
	e, err := dev.NewEvent()
	must(t, err, "NewEvent")
	must(t, st.Record(e), "Record")

	must(t, dev.Close(), "Close")
	_, err = dev.Alloc(16)
	wantClosed(t, be, err, "Alloc on a closed device")
	_, err = dev.AllocHost(16, 0)
	wantClosed(t, be, err, "AllocHost on a closed device")
	_, err = dev.LoadModule(lh.File, lh.PTX())
	wantClosed(t, be, err, "LoadModule on a closed device")
	_, err = dev.NewStream()
	wantClosed(t, be, err, "NewStream on a closed device")
	_, err = dev.NewEvent()
	wantClosed(t, be, err, "NewEvent on a closed device")
	wantClosed(t, be, dev.Synchronize(), "Synchronize of a closed device")
	wantClosed(t, be, b.CopyFromHost(0, []byte{1}), "CopyFromHost to a buffer of a closed device")
	wantClosed(t, be, b.CopyToHost(make([]byte, 1), 0), "CopyToHost from a buffer of a closed device")
	wantClosed(t, be, b.Memset(0, 1, 0), "Memset of a buffer of a closed device")
	wantClosed(t, be, st.CopyHtoD(b, 0, h, 0, 1), "CopyHtoD on a stream of a closed device")
	wantClosed(t, be, st.Launch(k, handoffConfig, b, b, uint32(4)), "Launch on a stream of a closed device")
	wantClosed(t, be, st.Record(e), "Record on a stream of a closed device")
	wantClosed(t, be, st.Synchronize(), "Synchronize of a stream of a closed device")
	_, err = e.Query()
	wantClosed(t, be, err, "Query of an event of a closed device")
	wantClosed(t, be, e.Synchronize(), "Synchronize of an event of a closed device")
	_, err = m.Kernel(lh.Name)
	wantClosed(t, be, err, "Kernel of a module of a closed device")
	wantFreed(t, be, b.Free(), "Free of a buffer of a closed device")
	wantFreed(t, be, h.Free(), "Free of a host buffer of a closed device")
	wantFreed(t, be, st.Close(), "Close of a stream of a closed device")
	wantFreed(t, be, e.Close(), "Close of an event of a closed device")
	wantFreed(t, be, m.Close(), "Close of a module of a closed device")
	must(t, dev.Close(), "a second Close")
}

// Closing the device with a launch in flight waits for it, and does not
// crash (the race detector watches the emulator's memory).
func (s *suite) testClosedDeviceInFlight(t *testing.T) {
	total := s.longTotal(t)
	dev := s.device(t)
	be := dev.Info().Backend
	wr, _ := kernels.Lookup("warp_ring")
	m, err := dev.LoadModule(wr.File, wr.PTX())
	must(t, err, "LoadModule")
	k, err := m.Kernel(wr.Name)
	must(t, err, "Kernel")
	out, err := dev.Alloc(4 * total)
	must(t, err, "Alloc")
	status, err := dev.Alloc(16)
	must(t, err, "Alloc")
	st, err := dev.NewStream()
	must(t, err, "NewStream")
	r := &longRing{k: k, total: total, out: out, status: status}
	r.launch(t, st)
	must(t, dev.Close(), "Close with a launch in flight")
	wantClosed(t, be, st.Synchronize(), "Synchronize of a stream of a closed device")
	wantFreed(t, be, st.Close(), "Close of a stream of a closed device")
	wantFreed(t, be, out.Free(), "Free of a buffer of a closed device")
	wantFreed(t, be, m.Close(), "Close of a module of a closed device")
}
