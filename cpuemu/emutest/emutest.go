package emutest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/kernels"
)

// LoadFile loads the PTX module at path (relative paths are relative to
// the test's package directory, as usual in Go tests) and fails the test if
// it cannot be read or loaded.
func LoadFile(t testing.TB, path string) *cpuemu.Module {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("emutest: %v", err)
		return nil
	}
	m := Load(t, filepath.Base(path), src)
	notePTXPath(m, path) // for GPUBUF_SARIF (sarif.go)
	return m
}

// Load loads PTX text; name labels errors and reports.
func Load(t testing.TB, name string, ptx []byte) *cpuemu.Module {
	t.Helper()
	m, err := cpuemu.Load(name, ptx)
	if err != nil {
		t.Fatalf("emutest: %v", err)
		return nil
	}
	return m
}

var (
	kernelMu      sync.Mutex
	kernelModules = map[string]*cpuemu.Module{} // by PTX file
)

// LoadKernel returns the module of gpubuf's kernels package that holds the
// named kernel. Modules are safe for concurrent use, so each file is
// loaded once per test binary and shared.
func LoadKernel(t testing.TB, name string) *cpuemu.Module {
	t.Helper()
	k, ok := kernels.Lookup(name)
	if !ok {
		// cpuemu.LoadKernel's error lists the kernels there are.
		_, err := cpuemu.LoadKernel(name)
		t.Fatalf("emutest: %v", err)
		return nil
	}
	kernelMu.Lock()
	defer kernelMu.Unlock()
	if m, ok := kernelModules[k.File]; ok {
		return m
	}
	m, err := cpuemu.LoadKernel(name)
	if err != nil {
		t.Fatalf("emutest: %v", err)
		return nil
	}
	kernelModules[k.File] = m
	return m
}

// Config is a one-dimensional launch shape: grid blocks of block threads,
// under the default (lockstep) scheduler.
func Config(grid, block uint32) cpuemu.LaunchConfig {
	return cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: grid, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: block, Y: 1, Z: 1}}
}

// Launch runs kernel with the race and sync checker on (whatever cfg.Check
// says) and fails the test, with the checker's full text report, unless the
// launch ran to the end and the report is clean (of warnings too after
// WarningsAsErrors; without the findings Suppress names). It returns the result of a
// clean launch (and nil after failing a TB whose Fatalf returns).
func Launch(t testing.TB, m *cpuemu.Module, dev *cpuemu.Device, kernel string, cfg cpuemu.LaunchConfig, args ...any) *cpuemu.Result {
	t.Helper()
	res := LaunchReport(t, m, dev, kernel, cfg, args...)
	if res == nil {
		return nil // LaunchReport failed the test
	}
	if err := res.Report.ErrAt(failLevel(t)); err != nil { // options.go: WarningsAsErrors
		t.Fatalf("emutest: %s: %v\n%s", describe(kernel, cfg), err, failureText(t, ScheduleOf(cfg), res.Report))
		return nil
	}
	return res
}

// LaunchReport runs kernel with the checker on, like Launch, but returns
// the result whatever the checker found, so that a test can look at the
// report of a kernel that should have findings (Result.Report is never
// nil; the findings Suppress names are left out of it). It fails the test
// only when there is no report to look at: the launch could not start (an
// argument error) or the emulator broke.
func LaunchReport(t testing.TB, m *cpuemu.Module, dev *cpuemu.Device, kernel string, cfg cpuemu.LaunchConfig, args ...any) *cpuemu.Result {
	t.Helper()
	res, err := launch(m, dev, kernel, &cfg, args)
	var ie *cpuemu.InternalError
	var ue *cpuemu.UnsupportedError
	switch {
	case errors.As(err, &ie):
		t.Fatalf("emutest: %s: %v\n%s", describe(kernel, cfg), err, ie.Stack)
	case errors.As(err, &ue):
		t.Fatalf("emutest: %s: the kernel cannot run on the emulator: %v", describe(kernel, cfg), err)
	case res == nil || res.Report == nil:
		if err == nil {
			err = errors.New("the checked launch returned no report")
		}
		t.Fatalf("emutest: %s: launch failed with no checker report: %v", describe(kernel, cfg), err)
	default:
		res.Report = applyOptions(t, res.Report) // options.go: Suppress
		return res
	}
	return nil
}

func launch(m *cpuemu.Module, dev *cpuemu.Device, kernel string, cfg *cpuemu.LaunchConfig, args []any) (*cpuemu.Result, error) {
	if m == nil {
		return nil, errors.New("nil module")
	}
	cfg.Check = true
	res, err := m.Launch(dev, kernel, *cfg, args...)
	recordSARIF(m, kernel, *cfg, res, err) // GPUBUF_SARIF (sarif.go)
	return res, err
}

// ReportText is the report as Report.WriteText writes it.
func ReportText(r *cpuemu.Report) string { return reportText(r) }

func reportText(r *cpuemu.Report) string {
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		fmt.Fprintf(&b, "(writing the report: %v)", err)
	}
	return strings.TrimRight(b.String(), "\n")
}

func describe(kernel string, cfg cpuemu.LaunchConfig) string {
	return fmt.Sprintf("kernel %s, grid %s block %s, %s", kernel, cfg.Grid, cfg.Block, ScheduleOf(cfg))
}

// Schedule is one scheduler, with its seed, to run launches under.
type Schedule = cpuemu.Schedule

// ScheduleOf is the schedule a launch config runs under.
func ScheduleOf(cfg cpuemu.LaunchConfig) Schedule {
	return Schedule{Scheduler: cfg.Scheduler, Seed: cfg.Seed}
}

// Schedules is lockstep, roundrobin and adversarial, then random with
// seeds 1..seeds.
func Schedules(seeds int) []Schedule {
	out := []Schedule{{Scheduler: cpuemu.Lockstep}, {Scheduler: cpuemu.RoundRobin}, {Scheduler: cpuemu.Adversarial}}
	for i := 1; i <= seeds; i++ {
		out = append(out, Schedule{Scheduler: cpuemu.Random, Seed: uint64(i)})
	}
	return out
}

// EverySchedule runs f as a subtest, named after the schedule
// ("lockstep", "random-seed-3"), for each of Schedules(seeds). f may call
// t.Parallel. A finding that Launch fails several subtests with is
// printed in full once, by the first; the others name it, and the test's
// log ends with each distinct finding and the schedules that hit it.
func EverySchedule(t *testing.T, seeds int, f func(t *testing.T, s Schedule)) {
	t.Helper()
	startEvery(t)
	for _, s := range Schedules(seeds) {
		t.Run(strings.ReplaceAll(s.String(), " ", "-"), func(t *testing.T) { f(t, s) })
	}
}

// Buffer allocates device memory holding a copy of b (at least 4 bytes, so
// that an empty input still has a valid pointer).
func Buffer(t testing.TB, dev *cpuemu.Device, b []byte) cpuemu.DevicePtr {
	t.Helper()
	p, err := dev.Alloc(max(len(b), 4))
	if err == nil {
		err = dev.Write(p, b)
	}
	if err != nil {
		t.Fatalf("emutest: %v", err)
	}
	return p
}

// Zeroed allocates n bytes of zeroed device memory (at least 4).
func Zeroed(t testing.TB, dev *cpuemu.Device, n int) cpuemu.DevicePtr {
	t.Helper()
	p, err := dev.Alloc(max(n, 4))
	if err != nil {
		t.Fatalf("emutest: %v", err)
	}
	return p
}

// WordBuffer allocates device memory holding w, little-endian.
func WordBuffer(t testing.TB, dev *cpuemu.Device, w []uint32) cpuemu.DevicePtr {
	t.Helper()
	return Buffer(t, dev, kernels.WordBytes(w))
}

// FloatBuffer allocates device memory holding f, little-endian.
func FloatBuffer(t testing.TB, dev *cpuemu.Device, f []float32) cpuemu.DevicePtr {
	t.Helper()
	return bufferOf(t, dev, f)
}

// Read copies n bytes of device memory at p to the host.
func Read(t testing.TB, dev *cpuemu.Device, p cpuemu.DevicePtr, n int) []byte {
	t.Helper()
	// The range is checked before n bytes are allocated: a wrong n
	// fails the test instead of exhausting memory.
	if _, err := dev.View(p, n); err != nil {
		t.Fatalf("emutest: %v", err)
		return nil
	}
	b := make([]byte, n)
	if err := dev.Read(b, p); err != nil {
		t.Fatalf("emutest: %v", err)
	}
	return b
}

// Words reads n 32-bit little-endian words at p.
func Words(t testing.TB, dev *cpuemu.Device, p cpuemu.DevicePtr, n int) []uint32 {
	t.Helper()
	return kernels.Words(Read(t, dev, p, 4*n))
}

// Floats reads n float32s at p.
func Floats(t testing.TB, dev *cpuemu.Device, p cpuemu.DevicePtr, n int) []float32 {
	t.Helper()
	return valuesAt[float32](t, dev, p, n)
}
