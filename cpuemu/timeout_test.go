package cpuemu_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// timeoutSpinPTX spins forever: every thread counts in a loop that branches
// back to itself and never exits.
const timeoutSpinPTX = `
.version 7.0
.target sm_70
.address_size 64

.visible .entry spin(
	.param .u64 spin_param_0
)
{
	.reg .b32 	%r<3>;
	.reg .b64 	%rd<3>;

	ld.param.u64 	%rd1, [spin_param_0];
	cvta.to.global.u64 	%rd2, %rd1;
	mov.u32 	%r1, 0;
$L_top:
	add.s32 	%r1, %r1, 1;
	st.global.u32 	[%rd2], %r1;
	bra.uni 	$L_top;
}

.visible .entry quick(
	.param .u64 quick_param_0
)
{
	.reg .b32 	%r<2>;
	.reg .b64 	%rd<3>;

	ld.param.u64 	%rd1, [quick_param_0];
	cvta.to.global.u64 	%rd2, %rd1;
	mov.u32 	%r1, 7;
	st.global.u32 	[%rd2], %r1;
	ret;
}
`

// huge is an instruction limit that a test never reaches.
const huge = int64(1) << 62

// wantTimeout checks that err is a *TimeoutError of kernel after timeout,
// and not a *LimitError, and that res carries the counts so far.
func wantTimeout(t *testing.T, res *cpuemu.Result, err error, kernel string, timeout time.Duration) {
	t.Helper()
	var te *cpuemu.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("got %v (%T), want a *TimeoutError", err, err)
	}
	var le *cpuemu.LimitError
	if errors.As(err, &le) {
		t.Errorf("the timeout is also a *LimitError: %v", err)
	}
	if te.Kernel != kernel || te.Timeout != timeout || te.Elapsed < timeout || te.LaneInstructions <= 0 {
		t.Errorf("TimeoutError %+v: want kernel %s, Timeout %v, Elapsed at least that, some lane-instructions", te, kernel, timeout)
	}
	if res == nil || res.LaneInstructions != te.LaneInstructions || res.Threads <= 0 {
		t.Errorf("result %+v, want the counts so far (%d lane-instructions)", res, te.LaneInstructions)
	}
	if msg := err.Error(); !strings.Contains(msg, "wall-clock timeout of "+timeout.String()) {
		t.Errorf("message %q does not name the wall-clock timeout", msg)
	}
}

// TestTimeoutStopsSpin: a kernel that never ends stops at its Timeout
// under every scheduler, with and without the checker, long before its
// instruction limit.
func TestTimeoutStopsSpin(t *testing.T) {
	m := ptLoad(t, "spin", timeoutSpinPTX)
	const timeout = 50 * time.Millisecond
	for _, s := range ptSchedules() {
		for _, check := range []bool{false, true} {
			name := s.String()
			if check {
				name += "/checked"
			}
			t.Run(name, func(t *testing.T) {
				d := cpuemu.NewDevice()
				cfg := s.cfg(ptD1(2), ptD1(64))
				cfg.Timeout, cfg.MaxInstructions, cfg.Check = timeout, huge, check
				res, err := m.Launch(d, "spin", cfg, ptBuf(t, d, 4, nil))
				wantTimeout(t, res, err, "spin", timeout)
				if check {
					if res == nil || res.Report == nil {
						t.Fatal("a checked launch that timed out has no report")
					}
					b, err := json.Marshal(res.Report)
					if err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(string(b), `"fatal":{"type":"timeout"`) {
						t.Errorf("report JSON does not say timeout: %s", b)
					}
				}
			})
		}
	}
}

// TestTimeoutAcrossBlocks: a grid of many blocks, each of which runs only
// a few instructions, stops at its Timeout too.
func TestTimeoutAcrossBlocks(t *testing.T) {
	m := ptLoad(t, "quick", timeoutSpinPTX)
	d := cpuemu.NewDevice()
	const timeout = 20 * time.Millisecond
	// 2^26 one-thread blocks: a minute or more of emulation.
	cfg := cpuemu.LaunchConfig{Grid: ptD1(cpuemu.MaxGridThreads), Block: ptD1(1), Timeout: timeout}
	res, err := m.Launch(d, "quick", cfg, ptBuf(t, d, 4, nil))
	wantTimeout(t, res, err, "quick", timeout)
}

// TestTimeoutLeavesFinishedLaunchesAlone: a launch that ends well within a
// generous Timeout gives the same result, output and counts as without one.
func TestTimeoutLeavesFinishedLaunchesAlone(t *testing.T) {
	m, err := cpuemu.LoadKernel("lane_handoff")
	if err != nil {
		t.Fatal(err)
	}
	const n = 4096
	in := make([]byte, 4*n)
	for i := range in {
		in[i] = byte(i * 13)
	}
	var outs [2][]byte
	var counts [2]int64
	for i, timeout := range []time.Duration{0, time.Hour} {
		d := cpuemu.NewDevice()
		pin, pout := ptBuf(t, d, 4*n, in), ptBuf(t, d, 4*n, nil)
		cfg := cpuemu.LaunchConfig{Grid: ptD1(4), Block: ptD1(256), Timeout: timeout, Scheduler: cpuemu.Random, Seed: 3}
		res, err := m.Launch(d, "lane_handoff", cfg, pin, pout, uint32(n))
		if err != nil {
			t.Fatalf("Timeout %v: %v", timeout, err)
		}
		outs[i], counts[i] = ptRead(t, d, pout, 4*n), res.LaneInstructions
	}
	if string(outs[0]) != string(outs[1]) || counts[0] != counts[1] || counts[0] == 0 {
		t.Errorf("with a Timeout of an hour: %d lane-instructions, output equal %v; without: %d",
			counts[1], string(outs[0]) == string(outs[1]), counts[0])
	}
}

// TestInstructionLimitBeforeTimeout: the deterministic instruction limit
// still ends a runaway launch with a *LimitError when it comes first,
// with or without a Timeout.
func TestInstructionLimitBeforeTimeout(t *testing.T) {
	m := ptLoad(t, "spin", timeoutSpinPTX)
	for _, timeout := range []time.Duration{0, time.Hour} {
		for _, s := range ptSchedules() {
			d := cpuemu.NewDevice()
			cfg := s.cfg(ptD1(1), ptD1(32))
			cfg.MaxInstructions, cfg.Timeout = 300000, timeout
			res, err := m.Launch(d, "spin", cfg, ptBuf(t, d, 4, nil))
			var le *cpuemu.LimitError
			var te *cpuemu.TimeoutError
			if !errors.As(err, &le) || errors.As(err, &te) {
				t.Errorf("%s, Timeout %v: got %v, want a *LimitError alone", s, timeout, err)
				continue
			}
			if le.Max != 300000 || le.Value <= 300000 || res == nil || res.LaneInstructions != le.Value {
				t.Errorf("%s, Timeout %v: %+v, result %+v", s, timeout, le, res)
			}
		}
	}
}

func TestNegativeTimeout(t *testing.T) {
	m := ptLoad(t, "spin", timeoutSpinPTX)
	d := cpuemu.NewDevice()
	_, err := m.Launch(d, "quick", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1), Timeout: -time.Second}, ptBuf(t, d, 4, nil))
	var ae *cpuemu.ArgError
	if !errors.As(err, &ae) {
		t.Errorf("Timeout -1s: %v, want an *ArgError", err)
	}
}
