package panel

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"time"

	"github.com/gpubuf/gpubuf/host"
)

// RingView is what the ring panel shows: one snapshot of a host.Ring.
type RingView struct {
	States []host.SlotState // one per host slot, in slot order
	// Pending is the number of completions done and waiting for the
	// consumer: the "done" cells.
	Pending int
	// Completions is the capacity of the completion queue, the number of
	// done cells drawn (host.RingOptions.Completions, Slots+Depth by
	// default); 0 means len(States).
	Completions int
	Stats       host.Stats
	// MaxThroughput is the throughput, in bytes per second, of a full
	// throughput bar. 0 scales the bar to the 1-2-5 step at or above
	// Stats.Throughput; a live view passes the highest it has seen, so
	// the bar does not rescale every frame.
	MaxThroughput float64
}

// RingViewOf takes a snapshot of r.
func RingViewOf(r *host.Ring) RingView {
	st := r.Stats()
	return RingView{States: r.SlotStates(), Pending: st.Pending, Completions: r.Options().Completions, Stats: st}
}

// doneCells is the number of done cells drawn.
func (v RingView) doneCells() int {
	if v.Completions > 0 {
		return v.Completions
	}
	return len(v.States)
}

// ThroughputScale is the throughput of a full throughput bar: v.MaxThroughput,
// or the 1-2-5 step at or above Stats.Throughput (at least 1 MB/s).
func (v RingView) ThroughputScale() float64 {
	if v.MaxThroughput > 0 {
		return v.MaxThroughput
	}
	return niceCeil(max(v.Stats.Throughput, 1e6))
}

// niceCeil is the smallest 1, 2 or 5 times a power of ten that is >= x > 0.
func niceCeil(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x*(1-1e-12) {
			return m * p
		}
	}
	return 10 * p
}

// Bar names one of the ring panel's bars.
type Bar int

const (
	BarThroughput Bar = iota // Stats.Throughput of ThroughputScale
	BarBlocked               // Stats.ProducerBlocked, as a share of Stats.Elapsed
	BarStarved               // Stats.ConsumerStarved, as a share of Stats.Elapsed
)

// BarFraction is how much of bar b is filled, 0..1.
func BarFraction(v RingView, b Bar) float64 {
	var f float64
	switch b {
	case BarThroughput:
		f = v.Stats.Throughput / v.ThroughputScale()
	case BarBlocked:
		f = share(v.Stats.ProducerBlocked, v.Stats.Elapsed)
	case BarStarved:
		f = share(v.Stats.ConsumerStarved, v.Stats.Elapsed)
	}
	return min(max(f, 0), 1)
}

func share(d, of time.Duration) float64 {
	if of <= 0 {
		return 0
	}
	return float64(d) / float64(of)
}

// Ring panel geometry, in pixels.
const (
	ringPad     = 12
	ringLabelW  = 112 // the label column
	ringTitleH  = 28
	ringCellH   = 32
	ringIndexH  = 16 // slot numbers under the cells
	ringDoneH   = 18
	ringLegendH = 18
	ringBarH    = 14
	ringBarGap  = 9
	ringValueW  = 196 // the numbers right of a bar
	ringMaxCell = 56
)

// ringLayout is where DrawRing puts things in area.
type ringLayout struct {
	cells, done []image.Rectangle
	slotsLabel  image.Point // baselines of the row labels
	doneLabel   image.Point
	legendY     int
	bars        [3]image.Rectangle
}

// cellRow lays n cells of height h out from x0 to x1 at y: as wide as
// fits, at most ringMaxCell, with gaps between them.
func cellRow(n, x0, x1, y, h int) []image.Rectangle {
	if n <= 0 {
		return nil
	}
	avail := x1 - x0
	gap := 6
	w := (avail - gap*(n-1)) / n
	if w < 8 {
		gap = 1
		w = (avail - gap*(n-1)) / n
	}
	w = min(max(w, 1), ringMaxCell)
	out := make([]image.Rectangle, n)
	for i := range out {
		x := x0 + i*(w+gap)
		out[i] = image.Rect(x, y, x+w, y+h)
	}
	return out
}

func layoutRing(area image.Rectangle, v RingView) ringLayout {
	var l ringLayout
	x0 := area.Min.X + ringPad + ringLabelW
	x1 := area.Max.X - ringPad
	y := area.Min.Y + ringPad + ringTitleH
	l.cells = cellRow(len(v.States), x0, x1, y, ringCellH)
	l.slotsLabel = image.Pt(area.Min.X+ringPad, y+ringCellH/2+5)
	y += ringCellH + ringIndexH + 10
	l.done = cellRow(v.doneCells(), x0, x1, y, ringDoneH)
	l.doneLabel = image.Pt(area.Min.X+ringPad, y+ringDoneH/2+5)
	y += ringDoneH + 14
	l.legendY = y
	y += ringLegendH + 14
	for i := range l.bars {
		l.bars[i] = image.Rect(x0, y, max(x0+20, x1-ringValueW), y+ringBarH)
		y += ringBarH + ringBarGap
	}
	return l
}

// RingHeight is the height DrawRing needs to show everything.
func RingHeight() int {
	return ringPad + ringTitleH + ringCellH + ringIndexH + 10 + ringDoneH + 14 + ringLegendH + 14 + 3*(ringBarH+ringBarGap) - ringBarGap + ringPad
}

// CellRect is where DrawRing puts slot i's cell in area (empty when i is
// out of range). Its centre pixel has StateColor(v.States[i]).
func CellRect(area image.Rectangle, v RingView, i int) image.Rectangle {
	l := layoutRing(area, v)
	if i < 0 || i >= len(l.cells) {
		return image.Rectangle{}
	}
	return l.cells[i]
}

// DoneRect is where DrawRing puts done cell i of the completion queue:
// ColorDone for i < v.Pending, ColorEmpty after.
func DoneRect(area image.Rectangle, v RingView, i int) image.Rectangle {
	l := layoutRing(area, v)
	if i < 0 || i >= len(l.done) {
		return image.Rectangle{}
	}
	return l.done[i]
}

// BarRect is the track of bar b in area: its left BarFraction is painted
// in the bar's colour (ColorThroughput, ColorBlocked or ColorStarved), the
// rest in ColorTrack.
func BarRect(area image.Rectangle, v RingView, b Bar) image.Rectangle {
	if b < 0 || int(b) >= 3 {
		return image.Rectangle{}
	}
	return layoutRing(area, v).bars[b]
}

// DrawRing draws the staging-ring panel into area of dst: a title with the
// ring's counts, a row of slot cells coloured by state, a row of done cells
// (completions waiting for the consumer) against the completion queue's
// capacity, a legend with the count in each state, and three bars with
// their numbers: throughput, producer blocked and consumer starved (the
// last two as a share of the ring's elapsed time).
func DrawRing(dst *image.RGBA, area image.Rectangle, v RingView) {
	d := sub(dst, area)
	ff := newFaces()
	panelBox(d, area)
	l := layoutRing(area, v)
	st := v.Stats

	// Title and counts.
	x := area.Min.X + ringPad
	ty := area.Min.Y + ringPad + ascent(ff.title)
	x = text(d, ff.title, ColorText, x, ty, "Staging ring")
	summary := fmt.Sprintf("%d slots · %d on the device · %d submitted · %d completed", len(v.States), st.InFlight, st.Submitted, st.Completed)
	if st.Failed > 0 {
		summary += fmt.Sprintf(" · %d failed", st.Failed)
	}
	text(d, ff.label, ColorMuted, x+14, ty, summary)

	// Slot cells.
	text(d, ff.label, ColorText, l.slotsLabel.X, l.slotsLabel.Y-7, "host slots")
	text(d, ff.small, ColorMuted, l.slotsLabel.X, l.slotsLabel.Y+8, "by state")
	counts := map[host.SlotState]int{}
	for i, r := range l.cells {
		s := v.States[i]
		counts[s]++
		fill(d, r, StateColor(s))
		label := fmt.Sprint(i)
		if r.Dx() >= textWidth(ff.small, label)+2 {
			textCentre(d, ff.small, ColorMuted, (r.Min.X+r.Max.X)/2, r.Max.Y+13, label)
		}
	}

	// Done cells.
	capN := v.doneCells()
	text(d, ff.label, ColorText, l.doneLabel.X, l.doneLabel.Y-6, fmt.Sprintf("done %d of %d", v.Pending, capN))
	text(d, ff.small, ColorMuted, l.doneLabel.X, l.doneLabel.Y+8, "completions")
	for i, r := range l.done {
		if i < v.Pending {
			fill(d, r, ColorDone)
		} else {
			fill(d, r, ColorEmpty)
			frame(d, r, 1, ColorBorder)
		}
	}
	if v.Pending > capN && len(l.done) > 0 {
		last := l.done[len(l.done)-1]
		text(d, ff.small, ColorText, last.Max.X+4, last.Max.Y-4, fmt.Sprintf("+%d", v.Pending-capN))
	}

	// Legend.
	x = area.Min.X + ringPad + ringLabelW
	y := l.legendY
	for _, e := range []struct {
		c    color.RGBA
		name string
		n    int
	}{
		{ColorFree, "free", counts[host.SlotFree]},
		{ColorFilling, "filling (producer)", counts[host.SlotFilling]},
		{ColorQueued, "queued", counts[host.SlotQueued]},
		{ColorInFlight, "in flight (device)", counts[host.SlotInFlight]},
		{ColorDone, "done", v.Pending},
	} {
		fill(d, image.Rect(x, y+2, x+12, y+14), e.c)
		x = text(d, ff.label, ColorText, x+17, y+12, fmt.Sprintf("%s %d", e.name, e.n)) + 16
	}

	// Bars.
	bars := []struct {
		name, value string
		c           color.RGBA
	}{
		{"throughput", fmt.Sprintf("%s  (bar %s)", rate(st.Throughput), rate(v.ThroughputScale())), ColorThroughput},
		{"producer blocked", fmt.Sprintf("%.1f%% of %s · %d waits", 100*share(st.ProducerBlocked, st.Elapsed), dur(st.Elapsed), st.BlockedAcquires), ColorBlocked},
		{"consumer starved", fmt.Sprintf("%.1f%% of %s · %d waits", 100*share(st.ConsumerStarved, st.Elapsed), dur(st.Elapsed), st.StarvedNexts), ColorStarved},
	}
	for i, b := range bars {
		r := l.bars[i]
		text(d, ff.label, ColorText, area.Min.X+ringPad, r.Max.Y-2, b.name)
		fill(d, r, ColorTrack)
		w := int(math.Round(BarFraction(v, Bar(i)) * float64(r.Dx())))
		fill(d, image.Rect(r.Min.X, r.Min.Y, r.Min.X+w, r.Max.Y), b.c)
		text(d, ff.label, ColorText, r.Max.X+10, r.Max.Y-2, b.value)
	}
}

// rate formats bytes per second.
func rate(bps float64) string {
	switch {
	case bps >= 1e9:
		return fmt.Sprintf("%.2f GB/s", bps/1e9)
	case bps >= 1e6:
		return fmt.Sprintf("%.1f MB/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.1f kB/s", bps/1e3)
	}
	return fmt.Sprintf("%.0f B/s", bps)
}

// dur formats an elapsed time briefly.
func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	}
	return d.String()
}
