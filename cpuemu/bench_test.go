package cpuemu_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/kernels"
)

// The emulator's speed in lane-instructions per second: every lane that
// executes an instruction (guard true) counts once. These run on one
// worker, so they measure one core; BenchmarkParallelBlocks measures
// what more workers add.

func benchKernel(b *testing.B, name string, s cpuemu.Scheduler, setup func(d *cpuemu.Device) (cpuemu.LaunchConfig, []any)) {
	m := module(b, name)
	d := cpuemu.NewDevice()
	cfg, args := setup(d)
	cfg.Scheduler = s
	cfg.Seed = 1
	cfg.Workers = 1
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

func pingpongSetup(d *cpuemu.Device) (cpuemu.LaunchConfig, []any) {
	const nitems = 1024 // 16 items per warp
	in := randWords(3, 16*nitems)
	pin, _ := d.Alloc(4 * len(in))
	d.Write(pin, kernels.WordBytes(in))
	pout, _ := d.Alloc(4 * len(in))
	return cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 8, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 256, Y: 1, Z: 1}}, []any{pin, pout, uint32(nitems)}
}

func warpSpecializedSetup(d *cpuemu.Device) (cpuemu.LaunchConfig, []any) {
	const tiles = 64
	in := randWords(4, tiles*kernels.TileWords)
	pin, _ := d.Alloc(4 * len(in))
	d.Write(pin, kernels.WordBytes(in))
	pout, _ := d.Alloc(4 * len(in))
	psum, _ := d.Alloc(4 * tiles * kernels.TileRows)
	return cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 8, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 128, Y: 1, Z: 1}}, []any{pin, pout, psum, uint32(tiles), uint32(3)}
}

// BenchmarkCheckOverhead runs each launch without and with the race and
// sync checker (LaunchConfig.Check), under lockstep, and reports how many
// times longer the checked launch takes ("x-overhead"; the aim is at most
// 10) and the speed of both.
func BenchmarkCheckOverhead(b *testing.B) {
	for _, c := range []struct {
		kernel string
		setup  func(d *cpuemu.Device) (cpuemu.LaunchConfig, []any)
	}{
		{"lane_handoff", handoffSetup},
		{"batch_reduce", reduceSetup},
		{"warp_specialized", warpSpecializedSetup},
		{"pingpong", pingpongSetup},
	} {
		b.Run(c.kernel, func(b *testing.B) {
			m := module(b, c.kernel)
			d := cpuemu.NewDevice()
			cfg, args := c.setup(d)
			cfg.Workers = 1 // a checked launch runs on one worker: compare like with like
			checked := cfg
			checked.Check = true
			var plain, check time.Duration
			var plainInstr, checkInstr int64
			for b.Loop() {
				start := time.Now()
				res, err := m.Launch(d, c.kernel, cfg, args...)
				plain += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				plainInstr += res.LaneInstructions
				start = time.Now()
				res, err = m.Launch(d, c.kernel, checked, args...)
				check += time.Since(start)
				if err != nil {
					var text strings.Builder
					if res != nil && res.Report != nil {
						res.Report.WriteText(&text)
					}
					b.Fatalf("%v\n%s", err, text.String())
				}
				checkInstr += res.LaneInstructions
			}
			b.ReportMetric(check.Seconds()/plain.Seconds(), "x-overhead")
			b.ReportMetric(float64(plainInstr)/plain.Seconds(), "lane-instr/s-unchecked")
			b.ReportMetric(float64(checkInstr)/check.Seconds(), "lane-instr/s-checked")
		})
	}
}
