package panel

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// Timeline panel geometry, in pixels.
const (
	tlPad     = 12
	tlTitleH  = 46 // title and subtitle
	tlSyncH   = 14 // __syncwarp labels above the plot
	tlRoleW   = 92 // producer/consumer brackets
	tlLaneW   = 34 // lane numbers
	tlAxisH   = 30
	tlLegendH = 22
	tlLineH   = 16 // a key or note line
	tlOutline = 2  // the race highlight around a mark
)

// tlLayout is where DrawTimeline puts things in area.
type tlLayout struct {
	plot   image.Rectangle // 32 lane rows
	rowH   int
	start  int64
	span   int64 // steps on the x axis
	stepW  float64
	keyTop int
}

// keyLines is the number of text lines the key below the legend takes:
// at least keyReserve, so that kernels with and without findings get the
// same plot.
func keyLines(tl *Timeline) int {
	return max(1+len(tl.Key)+len(tl.Notes), keyReserve)
}

// asyncLegend says whether the timeline has mbarrier or copy marks, whose
// colours take a second legend line.
func asyncLegend(tl *Timeline) bool {
	return tl.MbarArrivals > 0 || tl.CopyIssues > 0 || len(tl.Phases) > 0
}

// legendH is the height of the colour legend.
func legendH(tl *Timeline) int {
	if asyncLegend(tl) {
		return 2 * tlLegendH
	}
	return tlLegendH
}

const keyReserve = 4

func layoutTimeline(area image.Rectangle, tl *Timeline) tlLayout {
	var l tlLayout
	keyH := legendH(tl) + tlLineH*keyLines(tl) + tlPad
	top := area.Min.Y + tlTitleH + tlSyncH
	rows := max(tl.Lanes, 1)
	// One warp keeps rows of 3 pixels at least; several warps fit the
	// plot, down to a pixel a row.
	minRow := 3
	if rows > 32 {
		minRow = 1
	}
	l.rowH = min(max((area.Max.Y-top-tlAxisH-keyH)/rows, minRow), 14)
	x0 := area.Min.X + tlPad + tlRoleW + tlLaneW
	x1 := max(area.Max.X-tlPad-6, x0+1)
	l.plot = image.Rect(x0, top, x1, top+rows*l.rowH)
	l.start = tl.Start
	l.span = max(tl.End-tl.Start+1, 1)
	l.stepW = float64(l.plot.Dx()) / float64(l.span)
	l.keyTop = l.plot.Max.Y + tlAxisH
	return l
}

// x is the left edge of step s.
func (l tlLayout) x(s int64) int {
	return l.plot.Min.X + int(float64(s-l.start)*l.stepW)
}

// rowMid is the y of the middle of row.
func (l tlLayout) rowMid(row int) int { return l.plot.Min.Y + row*l.rowH + l.rowH/2 }

// markRect is where mark m is painted (before any race outline).
func (l tlLayout) markRect(m Mark) image.Rectangle {
	x := l.x(m.Step)
	w := int(math.Ceil(l.stepW))
	y := l.plot.Min.Y + m.Row()*l.rowH
	var inset int
	switch m.Kind {
	case MarkOther, MarkWait:
		w, inset = max(w, 2), l.rowH/3
	case MarkWrite, MarkRead, MarkCopy:
		w, inset = max(w, 6), 1
	case MarkSync, MarkArrive:
		w = max(min(w, 3), 2)
	}
	if l.rowH-2*inset < 1 {
		inset = 0
	}
	r := image.Rect(x, y+inset, x+w, y+l.rowH-inset)
	if r.Max.X > l.plot.Max.X { // the last step stays inside the plot
		r = r.Sub(image.Pt(r.Max.X-l.plot.Max.X, 0))
	}
	return r
}

// MarkRect is where DrawTimeline paints tl.Marks[i] in area: its centre
// pixel has the colour of its kind (MarkColor), unless a later mark covers
// it.
func MarkRect(area image.Rectangle, tl *Timeline, i int) image.Rectangle {
	if tl == nil || i < 0 || i >= len(tl.Marks) {
		return image.Rectangle{}
	}
	return layoutTimeline(area, tl).markRect(tl.Marks[i])
}

// RaceRect is the smallest rectangle holding every highlighted (racing)
// mark, outline included, that DrawTimeline paints in area; ok is false
// when there is none.
func RaceRect(area image.Rectangle, tl *Timeline) (r image.Rectangle, ok bool) {
	if tl == nil {
		return image.Rectangle{}, false
	}
	l := layoutTimeline(area, tl)
	for _, m := range tl.Marks {
		if m.Race {
			r = r.Union(l.markRect(m).Inset(-tlOutline))
			ok = true
		}
	}
	return r, ok
}

// MarkColor is the colour of a mark of kind k.
func MarkColor(k MarkKind) color.RGBA {
	switch k {
	case MarkWrite:
		return ColorWrite
	case MarkRead:
		return ColorRead
	case MarkSync:
		return ColorSync
	case MarkArrive:
		return ColorArrive
	case MarkCopy:
		return ColorCopy
	case MarkWait:
		return ColorWait
	}
	return ColorActive
}

// PhaseX is the x of the dashed line DrawTimeline paints in area where
// tl.Phases[i] completes, and the rows it spans: those of its arrive-ons.
func PhaseX(area image.Rectangle, tl *Timeline, i int) (x, y0, y1 int) {
	if tl == nil || i < 0 || i >= len(tl.Phases) {
		return 0, 0, 0
	}
	l := layoutTimeline(area, tl)
	ph := tl.Phases[i]
	lo, hi := ph.Arrivals[0].Row, ph.Arrivals[0].Row
	for _, a := range ph.Arrivals {
		lo, hi = min(lo, a.Row), max(hi, a.Row)
	}
	return l.stepMid(ph.Step), l.plot.Min.Y + lo*l.rowH, l.plot.Min.Y + (hi+1)*l.rowH
}

// CopySpan is the line DrawTimeline paints in area for tl.Copies[i], from
// its issue to its landing along its row, landing tick included.
func CopySpan(area image.Rectangle, tl *Timeline, i int) image.Rectangle {
	if tl == nil || i < 0 || i >= len(tl.Copies) {
		return image.Rectangle{}
	}
	return layoutTimeline(area, tl).copySpan(tl.Copies[i])
}

func (l tlLayout) copySpan(c Copy) image.Rectangle {
	y := l.rowMid(c.Row)
	x0, x1 := l.stepMid(c.Issue), min(l.stepMid(c.Land)+1, l.plot.Max.X)
	return image.Rect(x0, y, max(x1, x0+1), y+1)
}

// stepMid is the x of the middle of step s, inside the plot.
func (l tlLayout) stepMid(s int64) int {
	return min(l.x(s)+max(int(l.stepW), 2)/2, l.plot.Max.X-1)
}

// DrawTimeline draws the warp panel into area of dst: lanes on Y (lane 0
// at the top), issue steps on X, scaled to fit; a lane's instructions as
// grey marks, its shared writes and reads and its __syncwarp arrivals in
// their colours, the step where the warp leaves each __syncwarp as a
// dashed line, the accesses the race checker names outlined in ColorRace
// with an arrow over the first occurrence of each hazard, and below, a
// key: the colours, then each hazard with its CUDA lines (Timeline.Key)
// and the checker's other findings.
func DrawTimeline(dst *image.RGBA, area image.Rectangle, tl *Timeline) {
	d := sub(dst, area)
	ff := newFaces()
	panelBox(d, area)
	x := area.Min.X + tlPad
	ty := area.Min.Y + tlPad + ascent(ff.title)
	if tl == nil {
		text(d, ff.title, ColorText, x, ty, "Warp timeline: no trace")
		return
	}
	l := layoutTimeline(area, tl)

	// Title.
	x = text(d, ff.title, ColorText, x, ty, "Warp timeline: "+tl.Kernel)
	text(d, ff.label, ColorMuted, x+10, ty, fmt.Sprintf("(%s, emulator trace, race checker on)", tl.Source))
	subtitle := fmt.Sprintf("block 0 warp 0 of %d×%d threads", tl.Grid, tl.Block)
	if tl.Warps > 1 {
		subtitle = fmt.Sprintf("block 0 warps 0-%d of %d×%d threads", tl.Warps-1, tl.Grid, tl.Block)
	}
	if tl.N > 0 {
		subtitle += fmt.Sprintf(" · n = %d words", tl.N)
	}
	if tl.Tiles > 0 {
		subtitle += fmt.Sprintf(" · %d tiles", tl.Tiles)
	}
	subtitle += fmt.Sprintf(" · %s schedule", tl.Schedule)
	if tl.Schedule.Scheduler == cpuemu.Adversarial && !asyncLegend(tl) {
		subtitle += " (one lane runs alone until it blocks)"
	}
	subtitle += fmt.Sprintf(" · %d lane-instructions: %d shared writes, %d shared reads", len(tl.Marks), tl.Writes, tl.Reads)
	if asyncLegend(tl) {
		subtitle += fmt.Sprintf(", %d cp.async, %d mbarrier arrive-ons, %d phases", tl.CopyIssues, tl.MbarArrivals, len(tl.Phases))
	}
	if tl.SyncArrivals > 0 || !asyncLegend(tl) {
		subtitle += fmt.Sprintf(", %d __syncwarp arrivals", tl.SyncArrivals)
	}
	text(d, ff.label, ColorMuted, area.Min.X+tlPad, ty+20, subtitle)

	// Lane rows, numbers and roles.
	p := l.plot
	for lane := 0; lane < tl.Lanes; lane++ {
		r := image.Rect(p.Min.X, p.Min.Y+lane*l.rowH, p.Max.X, p.Min.Y+(lane+1)*l.rowH)
		if lane%2 == 1 {
			fill(d, r, ColorLaneAlt)
		}
		step := 1
		if l.rowH < 10 {
			step = 4
		}
		if tl.Warps <= 1 && (lane%step == 0 || lane == tl.Lanes-1) {
			textRight(d, ff.small, ColorMuted, p.Min.X-6, r.Min.Y+l.rowH/2+4, fmt.Sprint(lane))
		}
	}
	if tl.Warps > 1 {
		// A line between warps, and each warp's number and lanes.
		for wi := 0; wi < tl.Warps; wi++ {
			y0 := p.Min.Y + wi*32*l.rowH
			if wi > 0 {
				fill(d, image.Rect(p.Min.X-tlLaneW+2, y0, p.Max.X, y0+1), ColorBorder)
			}
			my := y0 + 16*l.rowH
			textRight(d, ff.small, ColorMuted, p.Min.X-6, my, fmt.Sprintf("w%d", wi))
			if 32*l.rowH >= 40 {
				textRight(d, ff.small, ColorMuted, p.Min.X-6, y0+10, "0")
				textRight(d, ff.small, ColorMuted, p.Min.X-6, y0+32*l.rowH-2, "31")
			}
		}
	}
	textRight(d, ff.small, ColorMuted, p.Min.X-6, p.Min.Y-4, "lane")
	for _, ro := range tl.Roles {
		y0, y1 := p.Min.Y+ro.Lo*l.rowH+1, p.Min.Y+(ro.Hi+1)*l.rowH-1
		bx := p.Min.X - tlLaneW - 4
		fill(d, image.Rect(bx, y0, bx+2, y1), ColorBorder)
		fill(d, image.Rect(bx-6, y0, bx+2, y0+2), ColorBorder)
		fill(d, image.Rect(bx-6, y1-2, bx+2, y1), ColorBorder)
		what := "write shared"
		if tl.CopyIssues > 0 {
			what = "cp.async"
		}
		if ro.Name == "consumers" {
			what = "read shared"
		}
		my := (y0 + y1) / 2
		textRight(d, ff.label, ColorText, bx-8, my-6, ro.Name)
		span := fmt.Sprintf("lanes %d-%d", ro.Lo, ro.Hi)
		if tl.Warps > 1 {
			span = fmt.Sprintf("warp %d", ro.Lo/32)
			if ro.Hi/32 > ro.Lo/32 {
				span = fmt.Sprintf("warps %d-%d", ro.Lo/32, ro.Hi/32)
			}
		}
		textRight(d, ff.small, ColorMuted, bx-8, my+8, span)
		if y1-y0 > 44 {
			textRight(d, ff.small, ColorMuted, bx-8, my+21, what)
		}
	}

	// Other instructions and mbarrier polls, under everything else.
	for _, m := range tl.Marks {
		if m.Kind == MarkOther || m.Kind == MarkWait {
			fill(d, l.markRect(m), MarkColor(m.Kind))
		}
	}
	// Each completed mbarrier phase, drawn as __syncwarp is: a line from
	// each arrive-on along its row to the step the phase completes, and
	// there a dashed line across the rows that arrived, labelled with the
	// barrier's shared offset and the phase. A cp.async.mbarrier.arrive's
	// arrive-on comes when the lane's copies have landed: its line starts
	// there, where the copy's line ends.
	for i, ph := range tl.Phases {
		x, _, _ := PhaseX(area, tl, i)
		for _, a := range ph.Arrivals {
			y := l.rowMid(a.Row)
			fill(d, image.Rect(l.stepMid(a.Step), y, x+1, y+1), ColorArrive)
		}
	}
	// Each copy in flight: a line along its row from its issue to where
	// it lands, and a tick there.
	for _, c := range tl.Copies {
		r := l.copySpan(c)
		fill(d, r, ColorCopy)
		fill(d, image.Rect(r.Max.X-2, l.plot.Min.Y+c.Row*l.rowH, r.Max.X, l.plot.Min.Y+(c.Row+1)*l.rowH), ColorCopy)
	}
	lastPhaseLabel := math.MinInt
	for i, ph := range tl.Phases {
		x, y0, y1 := PhaseX(area, tl, i)
		vdash(d, x, y0, y1, 3, 2, ColorArrive)
		label := fmt.Sprintf("%#x:%d", ph.Barrier, ph.Phase)
		if w := textWidth(ff.small, label); x-w/2 > lastPhaseLabel+6 {
			textCentre(d, ff.small, ColorArrive, x, y0-3, label)
			lastPhaseLabel = x + w/2
		}
	}
	// Where the warp leaves each __syncwarp, with its CUDA line above.
	lastLabel := math.MinInt
	for _, r := range tl.Syncs {
		lo, hi := laneSpan(r.Lanes)
		lo, hi = lo+32*r.Warp, hi+32*r.Warp
		sx := l.x(r.Step) + max(int(l.stepW), 2)/2
		vdash(d, sx, p.Min.Y+lo*l.rowH, p.Min.Y+(hi+1)*l.rowH, 3, 2, ColorSync)
		label := "sync " + lineOf(r.Loc)
		if w := textWidth(ff.small, label); sx-w/2 > lastLabel+6 {
			textCentre(d, ff.small, ColorMuted, sx, p.Min.Y-4, label)
			lastLabel = sx + w/2
		}
	}
	// Race outlines, then the marks on top.
	for _, m := range tl.Marks {
		if m.Race {
			fill(d, l.markRect(m).Inset(-tlOutline), ColorRace)
		}
	}
	for _, m := range tl.Marks {
		if m.Kind != MarkOther && m.Kind != MarkWait {
			fill(d, l.markRect(m), MarkColor(m.Kind))
		}
	}
	// The first occurrence of each hazard: an arrow from the earlier
	// access to the later one.
	for _, h := range tl.Hazards {
		if h.PriorMark < 0 || h.LaterMark < 0 {
			continue
		}
		a, b := centre(l.markRect(tl.Marks[h.PriorMark])), centre(l.markRect(tl.Marks[h.LaterMark]))
		curvedArrow(d, a, b, ColorRace)
		lx, ly := b.X+8, b.Y+4
		if b.X > p.Max.X-40 {
			lx = b.X - 8 - textWidth(ff.label, h.Type)
		}
		text(d, ff.title, ColorRace, lx, ly, h.Type)
	}

	// Time axis.
	fill(d, image.Rect(p.Min.X, p.Max.Y, p.Max.X, p.Max.Y+1), ColorBorder)
	tick := int64(niceCeil(float64(l.span) / 10))
	for s := (tl.Start + tick - 1) / tick * tick; s <= tl.End; s += tick {
		tx := l.x(s)
		fill(d, image.Rect(tx, p.Max.Y, tx+1, p.Max.Y+5), ColorMuted)
		textCentre(d, ff.small, ColorMuted, tx, p.Max.Y+17, fmt.Sprint(s))
	}
	textRight(d, ff.small, ColorMuted, p.Max.X, p.Max.Y+28, "time: issue step of the emulator →")

	// Key: the colours.
	y := l.keyTop
	x = area.Min.X + tlPad
	sw := func(c color.RGBA, label string) {
		fill(d, image.Rect(x, y+3, x+12, y+15), c)
		x = text(d, ff.label, ColorText, x+17, y+14, label) + 18
	}
	sw(ColorWrite, "shared write (st.shared)")
	sw(ColorRead, "shared read (ld.shared)")
	fill(d, image.Rect(x+4, y+1, x+7, y+17), ColorSync)
	x = text(d, ff.label, ColorText, x+13, y+14, "a lane reaches __syncwarp") + 18
	vdash(d, x+5, y+1, y+17, 3, 2, ColorSync)
	x = text(d, ff.label, ColorText, x+13, y+14, "the warp leaves it") + 18
	fill(d, image.Rect(x, y+7, x+12, y+11), ColorActive)
	x = text(d, ff.label, ColorText, x+17, y+14, "other instruction") + 18
	if len(tl.Hazards) > 0 {
		fill(d, image.Rect(x, y+1, x+16, y+17), ColorRace)
		fill(d, image.Rect(x+2, y+3, x+14, y+15), ColorWrite)
		text(d, ff.label, ColorText, x+21, y+14, "access in a race (arrow: first occurrence)")
	}
	if asyncLegend(tl) {
		y += tlLegendH
		x = area.Min.X + tlPad
		sw(ColorCopy, "cp.async issued")
		fill(d, image.Rect(x, y+9, x+24, y+10), ColorCopy)
		fill(d, image.Rect(x+22, y+3, x+24, y+15), ColorCopy)
		x = text(d, ff.label, ColorText, x+29, y+14, "in flight until it lands") + 18
		fill(d, image.Rect(x+4, y+1, x+7, y+17), ColorArrive)
		x = text(d, ff.label, ColorText, x+13, y+14, "mbarrier arrive-on") + 18
		fill(d, image.Rect(x, y+9, x+20, y+10), ColorArrive)
		vdash(d, x+20, y+1, y+17, 3, 2, ColorArrive)
		x = text(d, ff.label, ColorText, x+27, y+14, "its phase completes (offset:phase)") + 18
		fill(d, image.Rect(x, y+7, x+12, y+11), ColorWait)
		text(d, ff.label, ColorText, x+17, y+14, "mbarrier wait (polls)")
	}

	// Key: the checker's findings.
	y += tlLegendH + 12
	x = area.Min.X + tlPad
	switch {
	case len(tl.Hazards) > 0:
		text(d, ff.title, ColorRace, x, y, fmt.Sprintf("Race checker: %d hazard(s), %d occurrences — accesses no __syncwarp orders:", len(tl.Hazards), tl.Report.HazardCount()))
	case len(tl.Notes) == 0:
		text(d, ff.title, ColorOK, x, y, "Race checker: no hazards, no sync or memory errors — every conflicting pair of accesses is ordered by a sync")
	default:
		text(d, ff.title, ColorText, x, y, "Race checker: no hazards")
	}
	for _, h := range tl.Hazards {
		y += tlLineH
		fill(d, image.Rect(x+4, y-9, x+12, y-1), ColorRace)
		ex := text(d, ff.mono, ColorText, x+20, y, h.Key)
		if h.PriorMark >= 0 && h.LaterMark >= 0 {
			text(d, ff.small, ColorMuted, ex+10, y, fmt.Sprintf("arrow: step %d → %d, no __syncwarp between", tl.Marks[h.PriorMark].Step, tl.Marks[h.LaterMark].Step))
		}
	}
	for _, n := range tl.Notes {
		y += tlLineH
		text(d, ff.mono, ColorMuted, x+20, y, n)
	}
}

func centre(r image.Rectangle) image.Point {
	return image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
}

// curvedArrow paints a 2-pixel arc from a to b, bowed upwards (clear of
// the marks along the straight line between them), with a head at b.
func curvedArrow(dst *image.RGBA, a, b image.Point, c color.RGBA) {
	ax, ay, bx, by := float64(a.X), float64(a.Y), float64(b.X), float64(b.Y)
	dx, dy := bx-ax, by-ay
	n := math.Hypot(dx, dy)
	if n == 0 {
		return
	}
	// The control point: off the middle, across the line, on its upper side.
	px, py := -dy/n, dx/n
	if py > 0 {
		px, py = -px, -py
	}
	bow := min(0.25*n, 60)
	cx, cy := (ax+bx)/2+bow*px, (ay+by)/2+bow*py
	steps := max(int(n/4), 8)
	prev := a
	for i := 1; i <= steps; i++ {
		t := float64(i) / float64(steps)
		u := 1 - t
		p := image.Pt(int(math.Round(u*u*ax+2*u*t*cx+t*t*bx)), int(math.Round(u*u*ay+2*u*t*cy+t*t*by)))
		line(dst, prev, p, 2, c)
		prev = p
	}
	// The head points along the curve's end tangent, from the control point.
	dx, dy = bx-cx, by-cy
	if n = math.Hypot(dx, dy); n == 0 {
		return
	}
	dx, dy = dx/n, dy/n
	for _, s := range []float64{1, -1} {
		// 9 pixels back along the line, 5 across it.
		px := float64(b.X) - 9*dx + s*5*(-dy)
		py := float64(b.Y) - 9*dy + s*5*dx
		line(dst, b, image.Pt(int(math.Round(px)), int(math.Round(py))), 2, c)
	}
}

// laneSpan is the lowest and highest lane of a mask.
func laneSpan(mask uint32) (lo, hi int) {
	if mask == 0 {
		return 0, -1
	}
	lo = 0
	for mask&(1<<lo) == 0 {
		lo++
	}
	hi = 31
	for mask&(1<<hi) == 0 {
		hi--
	}
	return lo, hi
}

// lineOf is ":60" from "kernels/handoff.cu:60".
func lineOf(loc string) string {
	for i := len(loc) - 1; i >= 0; i-- {
		if loc[i] == ':' {
			return loc[i:]
		}
	}
	return loc
}
