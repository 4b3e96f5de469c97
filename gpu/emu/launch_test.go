package emu_test

import (
	"errors"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/gpu/emu"
)

// launchWith runs kernel name of the kernels catalogue on a device opened
// with opts: lane_handoff's arguments for n words in one block of n
// threads, with lopts. It gives the Results it was handed and the
// stream's error.
func launchWith(t *testing.T, opts gpu.EmuOptions, name string, n int, lopts emu.LaunchOptions) ([]*cpuemu.Result, error) {
	t.Helper()
	d := open(t, opts)
	k := handoff(t, d, name)
	in, err := d.Alloc(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.CopyFromHost(0, words(input(n))); err != nil {
		t.Fatal(err)
	}
	out, err := d.Alloc(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l, ok := st.(emu.Launcher)
	if !ok {
		t.Fatalf("the emulator's stream %T is not an emu.Launcher", st)
	}
	var got []*cpuemu.Result
	lopts.Result = func(r *cpuemu.Result) { got = append(got, r) }
	cfg := gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(uint32(n))}
	if err := l.LaunchWith(k, cfg, lopts, in, out, uint32(n)); err != nil {
		t.Fatal(err)
	}
	// Queued behind a failure, a second launch is skipped, and so never
	// hands over a Result.
	if err := l.LaunchWith(k, cfg, lopts, in, out, uint32(n)); err != nil {
		t.Fatal(err)
	}
	err = st.Synchronize()
	if err == nil && len(got) != 2 {
		t.Errorf("%s: two launches that ran gave %d Results", name, len(got))
	}
	if err != nil && len(got) != 1 {
		t.Errorf("%s: a failed launch and a skipped one gave %d Results, want 1", name, len(got))
	}
	return got, err
}

// TestLaunchWith: the emulator's own launch options reach the launch,
// and its Result comes back before Synchronize returns, also when the
// launch fails.
func TestLaunchWith(t *testing.T) {
	// 64 threads in one block: 64 lanes, every one traced.
	res, err := launchWith(t, gpu.EmuOptions{}, "lane_handoff", 64, emu.LaunchOptions{Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r == nil || r.Kernel != "lane_handoff" || r.Threads != 64 || r.LaneInstructions <= 0 || r.TraceTruncated {
		t.Fatalf("Result %+v", r)
	}
	lanes := map[int]bool{}
	for _, e := range r.Trace {
		lanes[e.Warp*32+e.Lane] = true
	}
	if len(lanes) != 64 {
		t.Errorf("the trace covers %d lanes, want 64", len(lanes))
	}

	// TraceLimit keeps the first events and says that more happened.
	res, err = launchWith(t, gpu.EmuOptions{}, "lane_handoff", 64, emu.LaunchOptions{Trace: true, TraceLimit: 10})
	if err != nil || len(res[0].Trace) != 10 || !res[0].TraceTruncated {
		t.Errorf("TraceLimit 10: %d events, truncated %v, %v", len(res[0].Trace), res[0].TraceTruncated, err)
	}
	// No Trace, no trace.
	res, err = launchWith(t, gpu.EmuOptions{}, "lane_handoff", 64, emu.LaunchOptions{})
	if err != nil || res[0].Trace != nil {
		t.Errorf("no Trace: %d events, %v", len(res[0].Trace), err)
	}

	// EmuOptions.MaxInstructions stops the launch: a *cpuemu.LimitError
	// in the stream's error, and the counts up to it in the Result.
	res, err = launchWith(t, gpu.EmuOptions{MaxInstructions: 100}, "lane_handoff", 64, emu.LaunchOptions{})
	var le *cpuemu.LimitError
	if !errors.As(err, &le) || res[0] == nil || res[0].LaneInstructions == 0 {
		t.Errorf("MaxInstructions 100: %v, Result %+v", err, res[0])
	}

	// Under the checker the racy twin's report comes in the Result, and
	// its *cpuemu.CheckError in the stream's error.
	res, err = launchWith(t, gpu.EmuOptions{Check: true}, "lane_handoff_nosync", 64, emu.LaunchOptions{})
	var ce *cpuemu.CheckError
	if !errors.As(err, &ce) || res[0] == nil || res[0].Report == nil || len(res[0].Report.Hazards) == 0 {
		t.Errorf("checked racy twin: %v, Result %+v", err, res[0])
	}

	// Bad options are errors of the call.
	if _, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu, Emu: gpu.EmuOptions{MaxInstructions: -1}}); err == nil {
		t.Error("MaxInstructions -1 opened a device")
	}
	d := open(t, gpu.EmuOptions{})
	k := handoff(t, d, "lane_handoff")
	st, _ := d.NewStream()
	defer st.Close()
	buf, _ := d.Alloc(4)
	err = st.(emu.Launcher).LaunchWith(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(1)}, emu.LaunchOptions{Trace: true, TraceLimit: cpuemu.MaxTraceLimit + 1}, buf, buf, uint32(1))
	if !errors.As(err, &le) {
		t.Errorf("TraceLimit past cpuemu.MaxTraceLimit: %v, want a *cpuemu.LimitError", err)
	}
}
