package cpuemu_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// TestTraceMbarrierCopies: the trace records each copy's issue and
// landing, each arrive-on (the asynchronous ones with the step of their
// cp.async.mbarrier.arrive) and the phase completion, at the steps they
// happen, in testdata/trace/mbcp.ptx: two lanes each copy 16 bytes into
// shared memory with cp.async, make phase 0 of an mbarrier wait for the
// copies (cp.async.mbarrier.arrive), wait for them (commit_group,
// wait_group 0), then arrive on the mbarrier and wait for the phase. bar
// is the first shared variable: offset 0.
func TestTraceMbarrierCopies(t *testing.T) {
	m := ptLoad(t, "mbcp", ptFile(t, "testdata/trace/mbcp.ptx"))
	dev := cpuemu.NewDevice()
	src, err := dev.Alloc(32)
	if err != nil {
		t.Fatal(err)
	}
	cfg := cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(2), Trace: true}
	res, err := m.Launch(dev, "mbcp", cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	// By hand, under lockstep (one converged warp: one step per
	// instruction, from 1): 1 ld.param ... 10 cp.async by lanes 0 and 1
	// (issued, in flight: lockstep lands copies at the end of a round of
	// 4096 issues, or at the wait that needs them); 11
	// cp.async.mbarrier.arrive: "the pending count of the mbarrier object
	// is incremented by 1 prior to the asynchronous arrive-on", so 2 -> 4,
	// and the arrive-ons wait "upon the completion of all prior cp.async
	// operations initiated by the executing thread"; 12 commit_group; 13
	// wait_group 0 completes the group, one thread after the other: lane
	// 0's copy lands, its arrive-on follows (4 -> 3), then lane 1's (3 ->
	// 2); 14 mbarrier.arrive by both lanes (2 -> 1 -> 0): "An mbarrier
	// object completes the current phase when ... The count of the pending
	// arrivals has reached zero. The tx-count has reached zero", so phase
	// 0 completes at lane 1's arrival; 15 test_wait (parity 0: phase 0 is
	// the one before the current phase 1, complete); 16 ret.
	var c0 cpuemu.Dim3
	want := []cpuemu.TraceSync{
		{Step: 10, Kind: cpuemu.TraceCopy, CTA: c0, Warp: 0, Lanes: 0b11},
		{Step: 13, Kind: cpuemu.TraceCopy, Release: true, CTA: c0, Warp: 0, Lanes: 0b01, From: 10},
		{Step: 13, Kind: cpuemu.TraceMbarrier, CTA: c0, Warp: 0, Lanes: 0b01, Barrier: 0, Phase: 0, From: 11},
		{Step: 13, Kind: cpuemu.TraceCopy, Release: true, CTA: c0, Warp: 0, Lanes: 0b10, From: 10},
		{Step: 13, Kind: cpuemu.TraceMbarrier, CTA: c0, Warp: 0, Lanes: 0b10, Barrier: 0, Phase: 0, From: 11},
		{Step: 14, Kind: cpuemu.TraceMbarrier, CTA: c0, Warp: 0, Lanes: 0b11, Barrier: 0, Phase: 0},
		{Step: 14, Kind: cpuemu.TraceMbarrier, Release: true, CTA: c0, Warp: -1, Barrier: 0, Phase: 0},
	}
	if !slices.Equal(res.TraceSyncs, want) {
		t.Errorf("syncs\n got %+v\nwant %+v", res.TraceSyncs, want)
	}
	// The instructions are named as the ISA spells them, and a copy's
	// event has its destination: buf, 16-byte aligned after the 8 bytes of
	// bar, at shared offset 16, lane L's 16 bytes at 16 + 16L.
	var ops []string
	for _, e := range res.Trace {
		if e.Lane == 0 && e.Step >= 10 && e.Step <= 15 {
			ops = append(ops, e.Op)
		}
		if e.Op == "cp.async" && (e.Space != "shared" || !e.HasAddr || e.Addr != 16+16*uint64(e.Lane)) {
			t.Errorf("lane %d's cp.async: space %q, address %#x (%v); want shared %#x", e.Lane, e.Space, e.Addr, e.HasAddr, 16+16*e.Lane)
		}
	}
	wantOps := []string{"cp.async", "cp.async.mbarrier.arrive", "cp.async.commit_group", "cp.async.wait_group", "mbarrier.arrive", "mbarrier.test_wait"}
	if !slices.Equal(ops, wantOps) {
		t.Errorf("ops of steps 10-15: %q, want %q", ops, wantOps)
	}

	// The JSON names the kind; barrier records keep their old form.
	b, err := json.Marshal(want[2])
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); !strings.Contains(got, `"kind":"mbarrier"`) || !strings.Contains(got, `"from":11`) {
		t.Errorf("JSON %s lacks the kind or from", got)
	}
	var back cpuemu.TraceSync
	if err := json.Unmarshal(b, &back); err != nil || back != want[2] {
		t.Errorf("JSON round trip: %+v, %v; want %+v", back, err, want[2])
	}
	if b, _ := json.Marshal(cpuemu.TraceSync{Step: 1, Barrier: -1}); strings.Contains(string(b), "kind") {
		t.Errorf("a barrier record's JSON %s names a kind", b)
	}
	if err := json.Unmarshal([]byte(`{"kind":"fence"}`), &back); err == nil {
		t.Error("an unknown kind decoded without an error")
	}

	// Without tracing, nothing; a trace cut at 9 events (step 5: two
	// lanes an instruction, one at step 4) keeps no record after the cut.
	cfg.Trace = false
	if res, err = m.Launch(dev, "mbcp", cfg, src); err != nil || res.TraceSyncs != nil {
		t.Errorf("untraced: syncs %+v, err %v", res.TraceSyncs, err)
	}
	cfg.Trace, cfg.TraceLimit = true, 9
	if res, err = m.Launch(dev, "mbcp", cfg, src); err != nil {
		t.Fatal(err)
	}
	if !res.TraceTruncated || len(res.TraceSyncs) != 0 {
		t.Errorf("limit 9: truncated %v, syncs %+v; want truncated, none", res.TraceTruncated, res.TraceSyncs)
	}
}
