//go:build unix

package cpuemu_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// BenchmarkParallelMemoryCost measures what reaching global memory
// through sync/atomic costs on one core: lane_handoff and batch_reduce
// (global loads and stores on every record) on one CPU (GOMAXPROCS 1),
// with one worker (plain loads and stores) and with two (atomic ones,
// the two workers taking turns on the CPU). It reports the time of the
// second over the first ("x-atomic"), in CPU time, so that other work on
// the machine does not blur it.
func BenchmarkParallelMemoryCost(b *testing.B) {
	for _, c := range []struct {
		kernel string
		setup  func(d *cpuemu.Device) (cpuemu.LaunchConfig, []any)
	}{{"lane_handoff", handoffSetup}, {"batch_reduce", reduceSetup}} {
		b.Run(c.kernel, func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			m := module(b, c.kernel)
			d := cpuemu.NewDevice()
			cfg, args := c.setup(d)
			var plain, atomic time.Duration
			for b.Loop() {
				for _, w := range []int{1, 2} {
					cfg.Workers = w
					start := cpuTime(b)
					if _, err := m.Launch(d, c.kernel, cfg, args...); err != nil {
						b.Fatal(err)
					}
					if w == 1 {
						plain += cpuTime(b) - start
					} else {
						atomic += cpuTime(b) - start
					}
				}
			}
			b.ReportMetric(atomic.Seconds()/plain.Seconds(), "x-atomic")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
