package gputest

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
)

func (s *suite) testInfo(t *testing.T) {
	dev := s.device(t)
	in := dev.Info()
	if in.WarpSize != 32 {
		t.Errorf("WarpSize %d, want 32", in.WarpSize)
	}
	if in.Backend == "" || !contains(gpu.Backends(), in.Backend) {
		t.Errorf("Backend %q is not a registered backend (%v)", in.Backend, gpu.Backends())
	}
	if cc := in.ComputeCapability; cc[0] < 7 || cc[1] < 0 {
		t.Errorf("compute capability %d.%d, want 7.0 or more", cc[0], cc[1])
	}
	if in.Name == "" || in.Driver == "" {
		t.Errorf("Name %q, Driver %q: want both", in.Name, in.Driver)
	}
	if in.TotalMemory <= 0 || in.SMCount <= 0 {
		t.Errorf("TotalMemory %d, SMCount %d: want both positive", in.TotalMemory, in.SMCount)
	}
	if again := dev.Info(); again != in {
		t.Errorf("Info changed from %+v to %+v", in, again)
	}
	if str := in.String(); !hasAll(str, in.Name, in.Backend) {
		t.Errorf("Info.String() %q names neither the device nor the backend", str)
	}
	// The backend's errors name it.
	_, err := dev.Alloc(0)
	wantErr(t, in.Backend, err, "Alloc(0)")
}

func (s *suite) testAlloc(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	for _, n := range []int{0, -1, -4096} {
		_, err := dev.Alloc(n)
		wantErr(t, be, err, "Alloc(%d)", n)
		_, err = dev.AllocHost(n, 0)
		wantErr(t, be, err, "AllocHost(%d, 0)", n)
		_, err = dev.AllocHost(n, gpu.HostMapped)
		wantErr(t, be, err, "AllocHost(%d, HostMapped)", n)
	}
	sizes := []int{1, 3, 4, 4095, 4096, 65537, 1 << 20}
	bufs := make([]gpu.DeviceBuffer, len(sizes))
	for i, n := range sizes {
		b, err := dev.Alloc(n)
		must(t, err, "Alloc(%d)", n)
		bufs[i] = b
		if b.Size() != n {
			t.Errorf("Alloc(%d).Size() = %d", n, b.Size())
		}
		if b.Ptr() == 0 {
			t.Errorf("Alloc(%d).Ptr() = 0", n)
		}
		wantBytes(t, b, make([]byte, n), "Alloc(%d): not zeroed", n)
	}
	for i, a := range bufs {
		for _, b := range bufs[i+1:] {
			if a.Ptr() < b.Ptr()+uint64(b.Size()) && b.Ptr() < a.Ptr()+uint64(a.Size()) {
				t.Errorf("buffers [%#x, +%d) and [%#x, +%d) overlap", a.Ptr(), a.Size(), b.Ptr(), b.Size())
			}
		}
	}
	// Writing one buffer leaves the others alone.
	must(t, bufs[3].Memset(0, sizes[3], 0xee), "Memset")
	wantBytes(t, bufs[2], make([]byte, sizes[2]), "a neighbour of a buffer that was set")
	wantBytes(t, bufs[4], make([]byte, sizes[4]), "a neighbour of a buffer that was set")
	for i, b := range bufs {
		must(t, b.Free(), "Free of the %d-byte buffer", sizes[i])
	}
}

// model is a device buffer's expected contents.
type model struct {
	b    gpu.DeviceBuffer
	want []byte
}

func (m *model) check(t *testing.T, after string) {
	t.Helper()
	wantBytes(t, m.b, m.want, "buffer after %s", after)
}

func (s *suite) testSyncCopy(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	const size = 70001
	m := &model{b: alloc(t, dev, size), want: make([]byte, size)}
	seed := uint64(1)
	for _, n := range []int{1, 3, 4095, 65537} {
		for _, off := range []int{1, 3, 4097, size - n} {
			if off+n > size {
				continue
			}
			data := pattern(n, seed)
			seed++
			must(t, m.b.CopyFromHost(off, data), "CopyFromHost(%d, %d bytes)", off, n)
			copy(m.want[off:], data)
			got := make([]byte, n)
			must(t, m.b.CopyToHost(got, off), "CopyToHost(%d bytes, %d)", n, off)
			if d := diff(got, data); d != "" {
				t.Errorf("%d bytes at %d: %s", n, off, d)
			}
			m.check(t, "CopyFromHost of "+strconv.Itoa(n)+" bytes at "+strconv.Itoa(off))
		}
	}
	// A read of part of the buffer, at an odd offset.
	got := make([]byte, 4095)
	must(t, m.b.CopyToHost(got, 12345), "CopyToHost(4095 bytes, 12345)")
	if d := diff(got, m.want[12345:12345+4095]); d != "" {
		t.Errorf("CopyToHost(4095 bytes, 12345): %s", d)
	}
	for _, ms := range []struct {
		off, n int
		b      byte
	}{{5, 4095, 0xa5}, {size - 3, 3, 0x01}, {0, 1, 0xff}, {9999, 65537 - 9999, 0x00}} {
		must(t, m.b.Memset(ms.off, ms.n, ms.b), "Memset(%d, %d, %#x)", ms.off, ms.n, ms.b)
		copy(m.want[ms.off:ms.off+ms.n], bytes.Repeat([]byte{ms.b}, ms.n))
		m.check(t, "Memset("+strconv.Itoa(ms.off)+", "+strconv.Itoa(ms.n)+")")
	}
	// Out of range: rejected, and nothing written.
	bad := []struct {
		what string
		err  error
	}{
		{"CopyFromHost past the end", m.b.CopyFromHost(size-2, []byte{1, 2, 3})},
		{"CopyFromHost at the end", m.b.CopyFromHost(size, []byte{1})},
		{"CopyFromHost at -1", m.b.CopyFromHost(-1, []byte{1, 2})},
		{"CopyFromHost of more than the buffer", m.b.CopyFromHost(0, make([]byte, size+1))},
		{"CopyToHost past the end", m.b.CopyToHost(make([]byte, 3), size-2)},
		{"CopyToHost at -1", m.b.CopyToHost(make([]byte, 2), -1)},
		{"Memset past the end", m.b.Memset(size-1, 2, 7)},
		{"Memset at -1", m.b.Memset(-1, 2, 7)},
		{"Memset of -1 bytes", m.b.Memset(0, -1, 7)},
	}
	for _, c := range bad {
		wantErr(t, be, c.err, "%s", c.what)
	}
	m.check(t, "rejected copies")
}

func (s *suite) testHostBuffer(t *testing.T) {
	dev := s.device(t)
	for _, c := range []struct {
		name  string
		flags gpu.HostFlags
	}{{"plain", 0}, {"mapped", gpu.HostMapped}, {"writecombined", gpu.HostWriteCombined}, {"mapped+writecombined", gpu.HostMapped | gpu.HostWriteCombined}} {
		t.Run(c.name, func(t *testing.T) {
			const n = 4097
			h := allocHost(t, dev, n, c.flags)
			switch {
			case c.flags&gpu.HostMapped == 0 && h.Mapped():
				t.Errorf("AllocHost without HostMapped gave a mapped buffer")
			case h.Mapped() && h.DevicePtr() == 0:
				t.Errorf("a mapped buffer has DevicePtr 0")
			case !h.Mapped() && h.DevicePtr() != 0:
				t.Errorf("an unmapped buffer has DevicePtr %#x", h.DevicePtr())
			}
			if c.flags&gpu.HostMapped != 0 && !h.Mapped() {
				t.Logf("the device could not map the buffer (Mapped false)")
			}
			data := pattern(n, 7)
			copy(h.Bytes(), data)
			if d := diff(h.Bytes(), data); d != "" {
				t.Errorf("Bytes does not keep what was written: %s", d)
			}
			// Through the device and back.
			d := alloc(t, dev, n)
			st := newStream(t, dev)
			out := allocHost(t, dev, n, c.flags)
			must(t, st.CopyHtoD(d, 0, h, 0, n), "CopyHtoD")
			must(t, st.CopyDtoH(out, 0, d, 0, n), "CopyDtoH")
			must(t, st.Synchronize(), "Synchronize")
			if df := diff(out.Bytes(), data); df != "" {
				t.Errorf("host -> device -> host: %s", df)
			}
		})
	}
}

func (s *suite) testAsyncCopy(t *testing.T) {
	dev := s.device(t)
	be := dev.Info().Backend
	const size = 70001
	for _, flags := range []gpu.HostFlags{0, gpu.HostMapped} {
		name := "plain"
		if flags != 0 {
			name = "mapped"
		}
		t.Run(name, func(t *testing.T) {
			d := alloc(t, dev, size)
			src := allocHost(t, dev, size, flags)
			dst := allocHost(t, dev, size, flags)
			part := allocHost(t, dev, size, flags)
			copy(src.Bytes(), pattern(size, 11))
			copy(part.Bytes(), bytes.Repeat([]byte{0x5a}, size))
			wantPart := bytes.Repeat([]byte{0x5a}, size)
			want := make([]byte, size)
			st := newStream(t, dev)
			// Queued without a synchronization between them: the stream
			// keeps their order.
			for _, c := range []struct{ n, srcOff, dstOff int }{
				{1, 0, 1}, {3, 5, 7}, {4095, 1, 4099}, {65537, 3, 1}, {3, size - 3, size - 3}, {1, 17, 0},
			} {
				must(t, st.CopyHtoD(d, c.dstOff, src, c.srcOff, c.n), "CopyHtoD(%d bytes at %d from %d)", c.n, c.dstOff, c.srcOff)
				copy(want[c.dstOff:c.dstOff+c.n], src.Bytes()[c.srcOff:c.srcOff+c.n])
			}
			must(t, st.Memset(d, 11, 4095, 0x3c), "Memset")
			copy(want[11:11+4095], bytes.Repeat([]byte{0x3c}, 4095))
			must(t, st.CopyDtoH(part, 1, d, 3, 4095), "CopyDtoH(4095 bytes to 1 from 3)")
			copy(wantPart[1:1+4095], want[3:3+4095])
			must(t, st.CopyDtoH(part, size-1, d, 8, 1), "CopyDtoH(1 byte to the end)")
			wantPart[size-1] = want[8]
			must(t, st.CopyDtoH(dst, 0, d, 0, size), "CopyDtoH of the whole buffer")

			// Out of range: rejected at once, nothing queued.
			bad := []struct {
				what string
				err  error
			}{
				{"CopyHtoD past the device buffer", st.CopyHtoD(d, size-2, src, 0, 3)},
				{"CopyHtoD past the host buffer", st.CopyHtoD(d, 0, src, size-2, 3)},
				{"CopyHtoD at -1", st.CopyHtoD(d, -1, src, 0, 2)},
				{"CopyHtoD from -1", st.CopyHtoD(d, 0, src, -1, 2)},
				{"CopyHtoD of -1 bytes", st.CopyHtoD(d, 0, src, 0, -1)},
				{"CopyDtoH past the host buffer", st.CopyDtoH(part, size-2, d, 0, 3)},
				{"CopyDtoH past the device buffer", st.CopyDtoH(part, 0, d, size-2, 3)},
				{"CopyDtoH to -1", st.CopyDtoH(part, -1, d, 0, 2)},
				{"stream Memset past the end", st.Memset(d, size-1, 2, 0)},
				{"stream Memset at -1", st.Memset(d, -1, 1, 0)},
			}
			for _, c := range bad {
				wantErr(t, be, c.err, "%s", c.what)
			}
			must(t, st.Synchronize(), "Synchronize")
			if df := diff(dst.Bytes(), want); df != "" {
				t.Errorf("whole buffer copied back: %s", df)
			}
			if df := diff(part.Bytes(), wantPart); df != "" {
				t.Errorf("parts copied back at odd offsets: %s", df)
			}
			wantBytes(t, d, want, "device buffer, read synchronously")
		})
	}
}
