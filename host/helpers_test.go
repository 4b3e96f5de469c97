package host

import (
	"fmt"

	"github.com/gpubuf/gpubuf/gpu"
	_ "github.com/gpubuf/gpubuf/gpu/emu"
)

// openEmu opens an emulator device for a test and closes it at its end.
func openEmu(t interface {
	Fatal(...any)
	Cleanup(func())
}) gpu.Device {
	dev, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

// echoStage copies each batch back from the device: a batch's result is
// its own bytes, as the device saw them. Staged rings only.
type echoStage struct{ size int }

func (e echoStage) NewFrame(dev gpu.Device) (Frame, error) {
	out, err := dev.AllocHost(e.size, 0)
	if err != nil {
		return nil, err
	}
	return &echoFrame{out: out}, nil
}

type echoFrame struct {
	out gpu.HostBuffer
	n   int
}

func (f *echoFrame) Enqueue(s gpu.Stream, in any, b Batch) error {
	f.n = b.N
	switch in := in.(type) {
	case gpu.DeviceBuffer:
		return s.CopyDtoH(f.out, 0, in, 0, b.N)
	}
	return fmt.Errorf("echoStage: input %T", in)
}

func (f *echoFrame) Collect(b Batch) ([]byte, error) {
	return append([]byte(nil), f.out.Bytes()[:f.n]...), nil
}

func (f *echoFrame) Free() error { return f.out.Free() }
