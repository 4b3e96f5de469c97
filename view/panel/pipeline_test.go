package panel

import (
	"image"
	"image/color"
	"slices"
	"strings"
	"testing"
)

// TestTimelinePipeline: async_pipeline's timeline shows its producer and
// consumer warps, every copy from issue to landing and every mbarrier
// phase with its arrive-ons. The expected values come from the kernel
// (kernels/async_pipeline.cu) and kcheck's case: one block of 128 threads
// (warp 0 the producer, warps 1-3 the consumers), 3 stages, 100-word
// tiles, 4 tiles here (the timeline's default).
func TestTimelinePipeline(t *testing.T) {
	tl := timeline(t, "async_pipeline")
	if tl.Truncated || tl.Warps != 4 || tl.Lanes != 128 || tl.Tiles != 4 || tl.Grid != 1 || tl.Block != 128 {
		t.Fatalf("truncated %v, %d warps, %d rows, %d tiles, %d×%d", tl.Truncated, tl.Warps, tl.Lanes, tl.Tiles, tl.Grid, tl.Block)
	}
	if len(tl.Hazards) != 0 || !tl.Report.Clean() {
		t.Errorf("the correct pipeline has findings: %q %q", tl.Key, tl.Notes)
	}
	want := []Role{{"producers", 0, 31}, {"consumers", 32, 127}}
	if !slices.Equal(tl.Roles, want) {
		t.Errorf("roles %v, want %v", tl.Roles, want)
	}
	// A tile is 100 words, 25 copies of 16 bytes (lanes 0-24); every
	// copy lands.
	if tl.CopyIssues != 100 || len(tl.Copies) != 100 {
		t.Errorf("%d copies issued, %d landed; want 4 tiles × 25", tl.CopyIssues, len(tl.Copies))
	}
	for _, c := range tl.Copies {
		if c.Row > 24 || c.Land < c.Issue {
			t.Errorf("copy %+v: want lanes 0-24 of warp 0, landing after its issue", c)
		}
	}
	// Per tile: the producer's 32 cp.async.mbarrier.arrive and 32
	// mbarrier.arrive, the consumers' 96 mbarrier.arrive on "empty".
	if tl.MbarArrivals != 4*(64+96) {
		t.Errorf("%d arrive-on instructions, want 640", tl.MbarArrivals)
	}
	// Tile i completes phase i/3 of full[i%3] (offset 8(i%3)) and of
	// empty[i%3] (offset 0x40 + 8(i%3)): full counts 32 arrivals plus one
	// per cp.async.mbarrier.arrive, empty 96.
	type key struct {
		barrier int
		phase   uint32
	}
	got := map[key]Phase{}
	for _, ph := range tl.Phases {
		got[key{ph.Barrier, ph.Phase}] = ph
		last, async := int64(0), 0
		for _, a := range ph.Arrivals {
			last = max(last, a.Step)
			if a.From > 0 {
				async++
				if a.From > a.Step || a.Row >= 32 {
					t.Errorf("phase %#x:%d: asynchronous arrive-on %+v", ph.Barrier, ph.Phase, a)
				}
			}
		}
		if ph.Step < last {
			t.Errorf("phase %#x:%d completes at step %d, before its last arrive-on at %d", ph.Barrier, ph.Phase, ph.Step, last)
		}
		wantN, wantAsync := 64, 32
		if ph.Barrier >= 0x40 {
			wantN, wantAsync = 96, 0
		}
		if len(ph.Arrivals) != wantN || async != wantAsync {
			t.Errorf("phase %#x:%d: %d arrive-ons (%d asynchronous), want %d (%d)", ph.Barrier, ph.Phase, len(ph.Arrivals), async, wantN, wantAsync)
		}
	}
	for i := range 4 {
		for _, b := range []int{8 * (i % 3), 0x40 + 8*(i%3)} {
			if _, ok := got[key{b, uint32(i / 3)}]; !ok {
				t.Errorf("tile %d: no phase %d of the mbarrier at %#x", i, i/3, b)
			}
		}
	}
	if len(tl.Phases) != 8 {
		t.Errorf("%d phases, want 8", len(tl.Phases))
	}
	// The handoffs: no consumer reads shared memory before the first
	// phase of full[0] completes, and the producer refills stage 0 (tile
	// 3, its last 25 copies) only after phase 0 of empty[0].
	full0, empty0 := got[key{0, 0}].Step, got[key{0x40, 0}].Step
	for _, m := range tl.Marks {
		if m.Kind == MarkRead && m.Warp > 0 && m.Step <= full0 {
			t.Errorf("consumer read at step %d (warp %d lane %d) before full[0] completes at %d", m.Step, m.Warp, m.Lane, full0)
		}
	}
	issues := make([]int64, 0, len(tl.Copies))
	for _, c := range tl.Copies {
		issues = append(issues, c.Issue)
	}
	slices.Sort(issues)
	for _, s := range issues[75:] {
		if s <= empty0 {
			t.Errorf("a copy of tile 3 issued at step %d, before empty[0] phase 0 completes at %d", s, empty0)
		}
	}

	// The picture: every phase's dashed line, every copy's landing tick,
	// and the marks of the new kinds in their colours.
	img, area := drawTimeline(tl)
	for i, ph := range tl.Phases {
		x, y0, y1 := PhaseX(area, tl, i)
		if y1 <= y0 || !image.Pt(x, y0).In(area) || count(img, image.Rect(x, y0, x+1, y1), ColorArrive) < (y1-y0)/2 {
			t.Errorf("phase %#x:%d: no dashed line at x %d, y %d-%d", ph.Barrier, ph.Phase, x, y0, y1)
		}
	}
	landed := 0
	for i := range tl.Copies {
		r := CopySpan(area, tl, i)
		if !r.In(area) {
			t.Fatalf("copy %d's line %v outside %v", i, r, area)
		}
		if count(img, image.Rect(r.Max.X-2, r.Min.Y, r.Max.X, r.Max.Y), ColorCopy) > 0 {
			landed++
		}
	}
	// At 60-odd steps a pixel later marks cover some ticks (TestDrawAsync
	// checks each piece exactly).
	if landed < len(tl.Copies)*3/4 {
		t.Errorf("%d of %d copies show their landing tick", landed, len(tl.Copies))
	}
	for _, c := range []struct {
		c    color.RGBA
		what string
		min  int
	}{{ColorRead, "reads", 200}, {ColorArrive, "arrive-ons and phases", 5000}, {ColorCopy, "copies", 2000}, {ColorWait, "polls", 1000}} {
		if n := count(img, area, c.c); n < c.min {
			t.Errorf("%d pixels of %s, want %d at least", n, c.what, c.min)
		}
	}
	if n := count(img, area, ColorRace); n != 0 {
		t.Errorf("%d ColorRace pixels in a clean kernel", n)
	}
}

// TestTimelinePipelineRace: async_pipeline_nowait's consumers read a
// stage before its copies are known to have landed: the checker's RAW
// runs from the producer's cp.async (a copy mark of warp 0) to a
// consumer's read, and both are outlined.
func TestTimelinePipelineRace(t *testing.T) {
	tl := timeline(t, "async_pipeline_nowait")
	found := false
	for _, h := range tl.Hazards {
		if h.Type != "RAW" || h.PriorMark < 0 || h.LaterMark < 0 {
			continue
		}
		p, l := tl.Marks[h.PriorMark], tl.Marks[h.LaterMark]
		if p.Kind == MarkCopy && p.Warp == 0 && l.Kind == MarkRead && l.Warp > 0 && p.Step < l.Step && p.Race && l.Race {
			found = true
		}
	}
	if !found {
		t.Fatalf("no RAW from a cp.async to a consumer's read: %q", tl.Key)
	}
	if !strings.Contains(strings.Join(tl.Key, "\n"), "kernels/async_pipeline.cu:") {
		t.Errorf("key without the CUDA lines: %q", tl.Key)
	}
	img, area := drawTimeline(tl)
	rr, ok := RaceRect(area, tl)
	if !ok || count(img, rr, ColorRace) < 50 {
		t.Errorf("RaceRect %v, %v: want outlined accesses", rr, ok)
	}
}

// TestTimelineLayoutRows: the plot fits any number of shown warps in the
// same area, rows a pixel high at least, above the axis and the key.
func TestTimelineLayoutRows(t *testing.T) {
	area := image.Rect(10, 20, 10+1260, 20+450)
	for _, c := range []struct {
		warps, wantRowH int
		async           bool
	}{
		// (450 - 46 - 14 - 30 - key) / rows: the key is a legend line
		// (two with async marks), 4 text lines and a pad: 22+64+12 = 98,
		// or 120.
		{1, (450 - 90 - 98) / 32, false},
		{4, (450 - 90 - 120) / 128, true},
		{8, 1, true},
	} {
		tl := &Timeline{Warps: c.warps, Lanes: 32 * c.warps, Start: 1, End: 100}
		if c.async {
			tl.CopyIssues = 1
		}
		l := layoutTimeline(area, tl)
		if l.rowH != c.wantRowH {
			t.Errorf("%d warps: rows %d pixels, want %d", c.warps, l.rowH, c.wantRowH)
		}
		if c.warps < 8 && l.keyTop+legendH(tl)+tlLineH*keyLines(tl) > area.Max.Y {
			t.Errorf("%d warps: the key (from %d) runs past the area's bottom %d", c.warps, l.keyTop, area.Max.Y)
		}
		if l.plot.Dy() != 32*c.warps*l.rowH || l.plot.Min.Y != area.Min.Y+tlTitleH+tlSyncH {
			t.Errorf("%d warps: plot %v", c.warps, l.plot)
		}
	}
	// A mark's row is its warp's 32 rows down.
	if r := (Mark{Warp: 2, Lane: 5}).Row(); r != 69 {
		t.Errorf("warp 2 lane 5: row %d, want 69", r)
	}
}

func TestTimelineWarpsBound(t *testing.T) {
	for _, c := range []struct {
		kernel string
		o      TimelineOptions
		want   string
	}{
		{"async_pipeline", TimelineOptions{Warps: MaxWarps + 1}, "9 warps: want 1..8"},
		{"async_pipeline", TimelineOptions{Warps: 5}, "its block of 128 threads has 4"},
		{"lane_handoff", TimelineOptions{Warps: 2}, "its block of 32 threads has 1"},
		{"async_pipeline", TimelineOptions{Tiles: 1 << 11}, "at most"},
	} {
		_, err := NewTimelineWith(c.kernel, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %+v: error %v, want %q", c.kernel, c.o, err, c.want)
		}
	}
}

// TestDrawAsync: each piece of the asynchronous drawing, pixel by pixel,
// on a made-up timeline of two warps over 100 steps: lane 3 of warp 0
// issues a copy at step 10 that lands at step 60, its
// cp.async.mbarrier.arrive (step 20) arrives when it lands, lane 5 of warp
// 1 arrives at step 30, and the phase completes at step 80.
func TestDrawAsync(t *testing.T) {
	tl := &Timeline{Kernel: "made_up", Warps: 2, Lanes: 64, Start: 1, End: 100,
		Marks: []Mark{
			{Step: 10, Warp: 0, Lane: 3, Kind: MarkCopy, Op: "cp.async"},
			{Step: 20, Warp: 0, Lane: 3, Kind: MarkArrive, Op: "cp.async.mbarrier.arrive"},
			{Step: 30, Warp: 1, Lane: 5, Kind: MarkArrive, Op: "mbarrier.arrive"},
			{Step: 50, Warp: 1, Lane: 6, Kind: MarkWait, Op: "mbarrier.test_wait"},
		},
		Copies:     []Copy{{Row: 3, Issue: 10, Land: 60}},
		Phases:     []Phase{{Barrier: 0x40, Phase: 1, Step: 80, Arrivals: []Arrival{{Row: 3, Step: 60, From: 20}, {Row: 37, Step: 30}}}},
		CopyIssues: 1, MbarArrivals: 2,
	}
	tl.Report = timeline(t, "lane_handoff").Report // clean
	img, area := drawTimeline(tl)
	l := layoutTimeline(area, tl)
	// Each mark in its colour.
	for i, m := range tl.Marks {
		if c := at(img, mid(MarkRect(area, tl, i))); c != MarkColor(m.Kind) {
			t.Errorf("%v mark at step %d: centre %v, want %v", m.Kind, m.Step, c, MarkColor(m.Kind))
		}
	}
	// The copy: a line along row 3 from its issue's to its landing's
	// step, and a tick the row's height there.
	r := CopySpan(area, tl, 0)
	if r.Min.X != l.stepMid(10) || r.Max.X != l.stepMid(60)+1 || r.Min.Y != l.rowMid(3) {
		t.Errorf("copy line %v: want x %d-%d at y %d", r, l.stepMid(10), l.stepMid(60)+1, l.rowMid(3))
	}
	between := image.Rect(l.stepMid(25), r.Min.Y, l.stepMid(55), r.Max.Y) // clear of the marks
	if n := count(img, between, ColorCopy); n != between.Dx() {
		t.Errorf("copy line: %d of %d pixels in ColorCopy", n, between.Dx())
	}
	tick := image.Rect(r.Max.X-2, l.plot.Min.Y+3*l.rowH, r.Max.X, l.plot.Min.Y+4*l.rowH)
	if n := count(img, tick, ColorCopy); n != tick.Dx()*tick.Dy() {
		t.Errorf("landing tick %v: %d pixels in ColorCopy", tick, n)
	}
	// The arrive-ons flow to the phase: lane 3's from the landing (its
	// copy's line ends there), lane 37's from its arrive; then the dashed
	// line across rows 3-37, 3 pixels on and 2 off.
	x, y0, y1 := PhaseX(area, tl, 0)
	if x != l.stepMid(80) || y0 != l.plot.Min.Y+3*l.rowH || y1 != l.plot.Min.Y+38*l.rowH {
		t.Errorf("phase line at x %d, y %d-%d", x, y0, y1)
	}
	for _, a := range []struct{ row, from int }{{3, l.stepMid(60) + 1}, {37, l.stepMid(30) + 4}} {
		fl := image.Rect(a.from, l.rowMid(a.row), x-1, l.rowMid(a.row)+1)
		if n := count(img, fl, ColorArrive); n != fl.Dx() {
			t.Errorf("row %d: flow %v has %d of %d pixels in ColorArrive", a.row, fl, n, fl.Dx())
		}
	}
	if n := count(img, image.Rect(l.stepMid(21)+3, l.rowMid(3), l.stepMid(59), l.rowMid(3)+1), ColorArrive); n != 0 {
		t.Errorf("row 3: %d ColorArrive pixels while its copy is in flight", n)
	}
	want := 0
	for y := y0; y < y1; y += 5 {
		want += min(3, y1-y)
	}
	if n := count(img, image.Rect(x, y0, x+1, y1), ColorArrive); n < want {
		t.Errorf("dashed line: %d ColorArrive pixels, want %d at least", n, want)
	}
	// The legend's second line names the new colours.
	if n := count(img, image.Rect(area.Min.X, l.keyTop+tlLegendH, area.Max.X, l.keyTop+2*tlLegendH), ColorCopy); n == 0 {
		t.Error("no cp.async swatch on the legend's second line")
	}
}
