package cpuemu_test

import (
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/kernels"
)

// The emulator's speed in lane-instructions per second: every lane that
// executes an instruction (guard true) counts once.

func benchKernel(b *testing.B, name string, s cpuemu.Scheduler, setup func(d *cpuemu.Device) (cpuemu.LaunchConfig, []any)) {
	m := module(b, name)
	d := cpuemu.NewDevice()
	cfg, args := setup(d)
	cfg.Scheduler = s
	cfg.Seed = 1
	var instr int64
	b.ResetTimer()
	for range b.N {
		res, err := m.Launch(d, name, cfg, args...)
		if err != nil {
			b.Fatal(err)
		}
		instr += res.LaneInstructions
	}
	b.ReportMetric(float64(instr)/b.Elapsed().Seconds(), "lane-instr/s")
	b.ReportMetric(float64(instr)/float64(b.N), "lane-instr/op")
}

func handoffSetup(d *cpuemu.Device) (cpuemu.LaunchConfig, []any) {
	const n = 1 << 16
	in := randWords(1, n)
	pin, _ := d.Alloc(4 * n)
	d.Write(pin, kernels.WordBytes(in))
	pout, _ := d.Alloc(4 * n)
	return cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 8, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 256, Y: 1, Z: 1}}, []any{pin, pout, uint32(n)}
}

func reduceSetup(d *cpuemu.Device) (cpuemu.LaunchConfig, []any) {
	const nrec, recWords = 512, 256
	in := randWords(2, nrec*recWords)
	pin, _ := d.Alloc(4 * len(in))
	d.Write(pin, kernels.WordBytes(in))
	pout, _ := d.Alloc(12 * nrec)
	return cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 16, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 256, Y: 1, Z: 1}}, []any{pin, pout, uint32(nrec), uint32(recWords)}
}

func BenchmarkEmuLaneHandoffLockstep(b *testing.B) {
	benchKernel(b, "lane_handoff", cpuemu.Lockstep, handoffSetup)
}
func BenchmarkEmuLaneHandoffRandom(b *testing.B) {
	benchKernel(b, "lane_handoff", cpuemu.Random, handoffSetup)
}
func BenchmarkEmuBatchReduceLockstep(b *testing.B) {
	benchKernel(b, "batch_reduce", cpuemu.Lockstep, reduceSetup)
}
func BenchmarkEmuBatchReduceRandom(b *testing.B) {
	benchKernel(b, "batch_reduce", cpuemu.Random, reduceSetup)
}
