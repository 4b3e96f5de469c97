//go:build cuda

package cuda

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
)

// Close refuses while memory from AllocHost whose Bytes were taken is not
// freed, and the device and the memory go on working; once it is freed,
// Close closes. Memory never given out, and registered memory, do not
// hold Close up.
func TestCloseRefusesLentHostMemory(t *testing.T) {
	d := openTest(t)
	h, err := d.AllocHost(4096, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Free(); d.Close() }) // should the test stop early
	quiet, err := d.AllocHost(64, 0)          // Bytes never taken
	if err != nil {
		t.Fatal(err)
	}
	reg, err := d.RegisterHost(make([]byte, 64<<10), 0)
	if err != nil {
		t.Fatal(err)
	}
	mem := h.Bytes()
	for i := range mem {
		mem[i] = byte(i)
	}
	_ = reg.Bytes()
	err = d.Close()
	var ge *gpu.Error
	if !errors.Is(err, ErrHostMemoryInUse) || !errors.As(err, &ge) || !strings.Contains(ge.Msg, "(4096 bytes)") {
		t.Fatalf("Close with a host buffer whose Bytes were taken: %v, want an error wrapping ErrHostMemoryInUse that names its 4096 bytes", err)
	}
	// Still open, and the memory still there.
	if err := useDevice(d, 3); err != nil {
		t.Fatalf("the device after a refused Close: %v", err)
	}
	dst, err := d.Alloc(4096)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CopyHtoD(dst, 0, h, 0, 4096); err != nil {
		t.Fatal(err)
	}
	if err := st.Synchronize(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4096)
	if err := dst.CopyToHost(got, 0); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(mem) {
		t.Errorf("the host buffer's bytes after a refused Close did not reach the device")
	}
	if err := h.Free(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close once the lent buffer is freed: %v", err)
	}
	if quiet.Bytes() != nil || reg.Bytes() != nil {
		t.Errorf("after Close, Bytes of the buffers it freed is not nil")
	}
}

// Bytes and Free of one buffer at once: each Bytes gives the whole memory
// or nil, never a torn state (run with -race).
func TestHostBytesFreeRace(t *testing.T) {
	d := openTest(t)
	closeTest(t, d)
	for _, registered := range []bool{false, true} {
		var h gpu.HostBuffer
		var err error
		if registered {
			h, err = d.RegisterHost(make([]byte, 64<<10), 0)
		} else {
			h, err = d.AllocHost(64<<10, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		bad := make(chan int, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 1000 {
					if n := len(h.Bytes()); n != 0 && n != 64<<10 {
						bad <- n
						return
					}
				}
			}()
		}
		if err := h.Free(); err != nil {
			t.Error(err)
		}
		wg.Wait()
		close(bad)
		for n := range bad {
			t.Errorf("registered %v: Bytes gave %d bytes during Free, want all or none", registered, n)
		}
		if h.Bytes() != nil {
			t.Errorf("registered %v: Bytes after Free is not nil", registered)
		}
	}
}
