package emu_test

import (
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// BenchmarkLaunchThroughStream compares a small launch (lane_handoff on
// one warp) queued on a gpu.Stream and synchronized with the same launch
// made on cpuemu directly: the difference is what the device API and its
// stream goroutine cost per launch ("ns-overhead/launch").
func BenchmarkLaunchThroughStream(b *testing.B) {
	k, _ := kernels.Lookup("lane_handoff")
	const n = 32
	in := make([]uint32, n)
	for i := range in {
		in[i] = uint32(i)
	}

	dev, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu})
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	mod, err := dev.LoadModule(k.File, k.PTX())
	if err != nil {
		b.Fatal(err)
	}
	kern, err := mod.Kernel(k.Name)
	if err != nil {
		b.Fatal(err)
	}
	pin, _ := dev.Alloc(4 * n)
	pout, _ := dev.Alloc(4 * n)
	if err := pin.CopyFromHost(0, kernels.WordBytes(in)); err != nil {
		b.Fatal(err)
	}
	st, err := dev.NewStream()
	if err != nil {
		b.Fatal(err)
	}
	cfg := gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}

	m, err := cpuemu.LoadKernel(k.Name)
	if err != nil {
		b.Fatal(err)
	}
	cd := cpuemu.NewDevice()
	cin, _ := cd.Alloc(4 * n)
	cout, _ := cd.Alloc(4 * n)
	cd.Write(cin, kernels.WordBytes(in))
	ccfg := cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 1, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 32, Y: 1, Z: 1}}

	var viaStream, direct time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := st.Launch(kern, cfg, pin, pout, uint32(n)); err != nil {
			b.Fatal(err)
		}
		if err := st.Synchronize(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := m.Launch(cd, k.Name, ccfg, cin, cout, uint32(n)); err != nil {
			b.Fatal(err)
		}
		viaStream += t1.Sub(t0)
		direct += time.Since(t1)
	}
	b.ReportMetric(float64(viaStream.Nanoseconds())/float64(b.N), "ns-stream/launch")
	b.ReportMetric(float64(direct.Nanoseconds())/float64(b.N), "ns-direct/launch")
	b.ReportMetric(float64((viaStream-direct).Nanoseconds())/float64(b.N), "ns-overhead/launch")
}
