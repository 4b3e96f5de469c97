package cpuemu_test

import (
	"os"
	"slices"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// ptFile is the text of a file of the tests.
func ptFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTraceSyncs: a traced launch records each lane's arrival at a
// barrier or bar.warp.sync and the release, at the steps they happen, in
// testdata/trace/tiny.ptx (see its README): two lanes store to one shared
// word, part at an if, meet at bar.warp.sync from its two arms, then at
// bar.sync; entry conv has a whole warp meet at one bar.warp.sync.
func TestTraceSyncs(t *testing.T) {
	m := ptLoad(t, "tiny", ptFile(t, "testdata/trace/tiny.ptx"))
	cfg := cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(2), Trace: true}
	res, err := m.Launch(cpuemu.NewDevice(), "tiny", cfg)
	if err != nil {
		t.Fatal(err)
	}
	// By hand, under lockstep (one step per issue, from 1): 1 mov, 2 st,
	// 3 setp, 4 the branch (lane 0 only: lane 1's guard is false; lane 0
	// is parked at ZERO and lockstep follows the lower PC), 5 lane 1's
	// bar.warp.sync (lane 0, in its mask, is not there: it waits), 6 lane
	// 0's bar.warp.sync at ZERO (both have arrived: released), 7 lane 1's
	// bra.uni, 8 bar.sync by both (merged at DONE; the only warp has
	// arrived: released at once), 9 ret.
	var c0 cpuemu.Dim3 // block (0,0,0)
	want := []cpuemu.TraceSync{
		{Step: 5, CTA: c0, Warp: 0, Lanes: 0b10, Barrier: -1},
		{Step: 6, CTA: c0, Warp: 0, Lanes: 0b01, Barrier: -1},
		{Step: 6, Release: true, CTA: c0, Warp: 0, Lanes: 0b11, Barrier: -1},
		{Step: 8, CTA: c0, Warp: 0, Lanes: 0b11, Barrier: 0},
		{Step: 8, Release: true, CTA: c0, Warp: 0, Lanes: 0b11, Barrier: 0},
	}
	if !slices.Equal(res.TraceSyncs, want) {
		t.Errorf("syncs\n got %+v\nwant %+v", res.TraceSyncs, want)
	}

	// A converged warp completes bar.warp.sync as it arrives: step 1.
	cfg.Block = ptD1(32)
	if res, err = m.Launch(cpuemu.NewDevice(), "conv", cfg); err != nil {
		t.Fatal(err)
	}
	want = []cpuemu.TraceSync{
		{Step: 1, CTA: c0, Lanes: 0xffffffff, Barrier: -1},
		{Step: 1, Release: true, CTA: c0, Lanes: 0xffffffff, Barrier: -1},
	}
	if !slices.Equal(res.TraceSyncs, want) {
		t.Errorf("converged: syncs\n got %+v\nwant %+v", res.TraceSyncs, want)
	}

	// A trace cut at 4 events keeps no rendezvous after the cut.
	cfg.Block, cfg.TraceLimit = ptD1(2), 4
	if res, err = m.Launch(cpuemu.NewDevice(), "tiny", cfg); err != nil {
		t.Fatal(err)
	}
	if !res.TraceTruncated || len(res.TraceSyncs) != 0 {
		t.Errorf("limit 4: truncated %v, syncs %+v; want truncated, none", res.TraceTruncated, res.TraceSyncs)
	}
}
