package bench

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Results are the measurements of one gpubuf bench run: what Plot draws
// and what the command prints. A section that was not run is empty
// (Transfer nil).
type Results struct {
	Device  string       `json:"device"`
	Backend string       `json:"backend"`
	Ring    []RingResult `json:"ring,omitempty"`
	// Transfer, when the section ran: measurements, or NA.
	Transfer *TransferReport `json:"transfer,omitempty"`
	Kernels  []KernelResult  `json:"kernels,omitempty"`
	Kafka    []KafkaResult   `json:"kafka,omitempty"`
}

// The size of a plot: one panel of PanelWidth by PanelHeight per section,
// stacked; a PNG has PlotDPI pixels per inch.
const (
	PanelWidth  = 7.5 * vg.Inch
	PanelHeight = 3.6 * vg.Inch
	PlotDPI     = 96
)

// Plot formats.
const (
	FormatPNG = "png"
	FormatSVG = "svg"
)

// PlotFormat is the format a plot file's extension asks for: FormatPNG
// for .png, FormatSVG for .svg (any case). Any other extension is an error
// naming it.
func PlotFormat(path string) (string, error) {
	ext := filepath.Ext(path)
	switch strings.ToLower(ext) {
	case ".png":
		return FormatPNG, nil
	case ".svg":
		return FormatSVG, nil
	case "":
		return "", fmt.Errorf("plot file %q has no extension: want .png or .svg", path)
	}
	return "", fmt.Errorf("plot file extension %q is not supported: want .png or .svg", ext)
}

// Panels is the number of panels Plot draws for r: one per section that
// ran.
func Panels(r Results) int {
	n := 0
	if len(r.Ring) > 0 {
		n++
	}
	if r.Transfer != nil {
		n++
	}
	if len(r.Kernels) > 0 {
		n++
	}
	return n
}

// Plot draws r, one panel per section that ran, stacked, and writes the
// image to w in format (FormatPNG or FormatSVG): the ring's GB/s against
// slot size with a line per depth; the transfer modes' µs per message
// against message size on log axes with a line per mode and x* marked (or
// the reason they were not measured); the kernels' rates as a bar chart.
func Plot(w io.Writer, format string, r Results) error {
	var panels []*plot.Plot
	if len(r.Ring) > 0 {
		panels = append(panels, ringPanel(r))
	}
	if r.Transfer != nil {
		panels = append(panels, transferPanel(r))
	}
	if len(r.Kernels) > 0 {
		p, err := kernelPanel(r)
		if err != nil {
			return err
		}
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return errors.New("bench: nothing to plot: no section has results")
	}
	width, height := PanelWidth, PanelHeight*vg.Length(len(panels))
	var canvas vg.CanvasWriterTo
	switch format {
	case FormatPNG:
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(PlotDPI))}
	case FormatSVG:
		canvas = vgsvg.New(width, height)
	default:
		return fmt.Errorf("bench: plot format %q: want %q or %q", format, FormatPNG, FormatSVG)
	}
	tiles := draw.Tiles{
		Rows: len(panels), Cols: 1,
		PadY: vg.Points(14), PadTop: vg.Points(6), PadBottom: vg.Points(6),
		PadLeft: vg.Points(6), PadRight: vg.Points(14),
	}
	grid := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		grid[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(grid, tiles, draw.New(canvas))
	for i, p := range panels {
		p.Draw(canvases[i][0])
	}
	_, err := canvas.WriteTo(w)
	return err
}

// newPanel makes a panel with its title, a grid and the legend at the top
// left.
func newPanel(title string) (*plot.Plot, *plotter.Grid) {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(6)
	grid := plotter.NewGrid()
	p.Add(grid)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.Padding = vg.Points(2)
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), -vg.Points(4)
	return p, grid
}

func deviceLine(r Results) string {
	return fmt.Sprintf("%s (%s backend)", r.Device, r.Backend)
}

// Log axes are drawn as linear axes of the logarithm, with ticks labelled
// in the original units: gonum's plot.LogScale places a long axis label by
// the linear midpoint of the range, near the top, and squeezes the panel.

// log2Size is where a size goes on a size axis.
func log2Size(n int) float64 { return math.Log2(float64(n)) }

// sizeAxis makes a size axis: one tick per measured size, labelled "64K",
// "1M", and a little room beyond the smallest and largest.
func sizeAxis(a *plot.Axis, sizes []int) {
	ticks := make(plot.ConstantTicks, len(sizes))
	for i, s := range sizes {
		ticks[i] = plot.Tick{Value: log2Size(s), Label: shortSize(s)}
	}
	a.Tick.Marker = ticks
	a.Min, a.Max = log2Size(slices.Min(sizes))-0.4, log2Size(slices.Max(sizes))+0.4
}

// decadeAxis makes an axis of log10 microseconds from lo to hi (whole
// decades): labelled ticks at each power of ten ("100 µs", "1 ms"), minor
// ticks between.
func decadeAxis(a *plot.Axis, lo, hi int) {
	var ticks plot.ConstantTicks
	for d := lo; d <= hi; d++ {
		ticks = append(ticks, plot.Tick{Value: float64(d), Label: microString(d)})
		for k := 2; k < 10 && d < hi; k++ {
			ticks = append(ticks, plot.Tick{Value: float64(d) + math.Log10(float64(k))})
		}
	}
	a.Tick.Marker = ticks
	a.Min, a.Max = float64(lo), float64(hi)
}

// shortSize is "4K", "64M", "1G", or the number of bytes.
func shortSize(n int) string {
	s := SizeString(n)
	if s == fmt.Sprintf("%d B", n) {
		return fmt.Sprint(n)
	}
	num, unit, _ := strings.Cut(s, " ")
	return num + unit[:1]
}

func ringPanel(r Results) *plot.Plot {
	p, _ := newPanel("Staging ring, copy only: throughput by slot size and depth\n" + deviceLine(r))
	p.X.Label.Text = "slot size (bytes, log scale)"
	p.Y.Label.Text = "throughput (GB/s)"
	var sizes, depths []int
	for _, x := range r.Ring {
		sizes = append(sizes, x.SlotSize)
		depths = append(depths, x.Depth)
	}
	sizes = slices.Compact(slices.Sorted(slices.Values(sizes)))
	depths = slices.Compact(slices.Sorted(slices.Values(depths)))
	sizeAxis(&p.X, sizes)
	top := 0.0
	for i, d := range depths {
		var pts plotter.XYs
		for _, x := range r.Ring {
			if x.Depth == d {
				pts = append(pts, plotter.XY{X: log2Size(x.SlotSize), Y: x.GBps})
				top = max(top, x.GBps)
			}
		}
		slices.SortFunc(pts, func(a, b plotter.XY) int { return int(math.Copysign(1, a.X-b.X)) })
		addLine(p, i, fmt.Sprintf("depth %d", d), pts)
	}
	p.Y.Min, p.Y.Max = 0, niceTop(top)
	p.Y.Tick.Marker = plainTicks
	return p
}

// addLine adds a line with points, styled by its index, to p and its
// legend.
func addLine(p *plot.Plot, i int, name string, pts plotter.XYs) {
	l, s, err := plotter.NewLinePoints(pts)
	if err != nil {
		return // no points: nothing to draw
	}
	l.Color = plotutil.Color(i)
	l.Width = vg.Points(1.5)
	s.Color = plotutil.Color(i)
	s.Shape = plotutil.Shape(i)
	s.Radius = vg.Points(3)
	p.Add(l, s)
	p.Legend.Add(name, l, s)
}

// niceTop leaves room above the highest value for the legend.
func niceTop(v float64) float64 {
	if v <= 0 {
		return 1
	}
	return v * 1.45
}

// plainTicks are gonum's default ticks, labelled without trailing zeros.
var plainTicks = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'g', 6, 64)
		}
	}
	return ticks
})

func transferPanel(r Results) *plot.Plot {
	t := r.Transfer
	p, _ := newPanel("Transfer modes: time per message (move it, then batch_reduce reads it)\n" + deviceLine(r))
	if t.NA != "" || len(t.Results) == 0 {
		why := t.NA
		if why == "" {
			why = "nothing measured"
		}
		p.HideAxes()
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -1, 1, -1, 1
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{}}, Labels: []string{why}})
		if err == nil {
			l.TextStyle[0].XAlign = text.XCenter
			l.TextStyle[0].Font.Size = vg.Points(13)
			p.Add(l)
		}
		return p
	}
	p.X.Label.Text = "message size (bytes, log scale)"
	p.Y.Label.Text = "time per message (log scale)"
	// Times grow with size: the bottom right is empty.
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(6), vg.Points(6)
	sizeAxis(&p.X, t.Sizes)
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, m := range Modes() {
		var pts plotter.XYs
		for _, x := range t.Results {
			if x.Mode == m && !x.Skipped && x.PerMessage > 0 {
				pts = append(pts, plotter.XY{X: log2Size(x.Size), Y: math.Log10(x.Micros())})
				lo, hi = min(lo, x.Micros()), max(hi, x.Micros())
			}
		}
		name := m.String()
		if len(pts) == 0 {
			name += " (not measured)"
		}
		addLine(p, i, name, pts)
	}
	if math.IsInf(lo, 0) {
		lo, hi = 1, 10
	}
	decadeAxis(&p.Y, int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi))))
	c := t.Crossover
	label := "x*: " + c.Why
	if c.Found {
		label = fmt.Sprintf("x* = %s: staged copy beats zero-copy from here up", SizeString(c.Size))
		if c.AtSmallest {
			label = fmt.Sprintf("x* ≤ %s: staged copy beats zero-copy at every size measured", SizeString(c.Size))
		}
		l, err := plotter.NewLine(plotter.XYs{{X: log2Size(c.Size), Y: p.Y.Min}, {X: log2Size(c.Size), Y: p.Y.Max}})
		if err == nil {
			l.Color = color.Black
			l.Width = vg.Points(1)
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(l)
			p.Legend.Add(label, l)
		}
	} else {
		p.Legend.Add(label)
	}
	return p
}

func kernelPanel(r Results) (*plot.Plot, error) {
	unit := r.Kernels[0].Unit
	title, ylabel, scale := "Batch kernels: input throughput", "input processed (GB/s)", 1.0
	if unit == UnitLaneInstr {
		title = "Batch kernels on the emulator: lane-instructions per second"
		ylabel, scale = "million lane-instructions per second", 1e-6
	}
	p, grid := newPanel(fmt.Sprintf("%s, %s input per launch\n%s", title, SizeString(r.Kernels[0].InputBytes), deviceLine(r)))
	grid.Vertical.Color = nil // no lines through the bars
	p.Y.Label.Text = ylabel
	vals := make(plotter.Values, len(r.Kernels))
	names := make([]string, len(r.Kernels))
	labels := make([]string, len(r.Kernels))
	top := 0.0
	for i, k := range r.Kernels {
		if k.Unit != unit {
			return nil, fmt.Errorf("bench: kernel results in %s and %s: plot one unit", unit, k.Unit)
		}
		vals[i] = k.Rate() * scale
		names[i] = k.Kernel
		labels[i] = fmt.Sprintf("%.3g", vals[i])
		top = max(top, vals[i])
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(40))
	if err != nil {
		return nil, fmt.Errorf("bench: kernel bar chart: %w", err)
	}
	bars.Color = plotutil.Color(0)
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(vals))-0.4
	p.X.Padding = 0
	p.X.Label.Text = "kernel"
	pts := make(plotter.XYs, len(vals))
	for i, v := range vals {
		pts[i] = plotter.XY{X: float64(i), Y: v}
	}
	if l, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels}); err == nil {
		for i := range l.TextStyle {
			l.TextStyle[i].XAlign = text.XCenter
		}
		l.Offset = vg.Point{Y: vg.Points(3)}
		p.Add(l)
	}
	p.Y.Min, p.Y.Max = 0, niceTop(top)
	p.Y.Tick.Marker = plainTicks
	return p, nil
}

// microString writes 10^d microseconds: "1 µs", "100 µs", "1 ms", "10 s".
func microString(d int) string {
	unit := []string{"µs", "ms", "s"}
	i := min(max(d/3, 0), len(unit)-1)
	if d < 0 {
		i = 0
	}
	return strconv.FormatFloat(math.Pow10(d-3*i), 'f', -1, 64) + " " + unit[i]
}
