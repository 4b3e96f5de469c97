package bench_test

import (
	"bytes"
	"image"
	"image/draw"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/bench"
	"gonum.org/v1/plot/vg"
)

// sample is a full set of results, as a GPU run gives them.
func sample() bench.Results {
	r := bench.Results{Device: "test GPU", Backend: "cuda"}
	for i, size := range []int{64 << 10, 1 << 20, 4 << 20} {
		for j, depth := range []int{2, 4, 8} {
			r.Ring = append(r.Ring, bench.RingResult{SlotSize: size, Depth: depth, Batches: 10, GBps: float64(5 + 3*i + j)})
		}
	}
	t := &bench.TransferReport{Sizes: []int{4 << 10, 64 << 10, 1 << 20, 16 << 20}}
	for i, size := range t.Sizes {
		for _, m := range bench.Modes() {
			us := time.Duration(10+i*i*100*int(m+1)) * time.Microsecond
			if m == bench.ZeroCopy {
				us = time.Duration(5+i*i*i*200) * time.Microsecond
			}
			t.Results = append(t.Results, bench.TransferResult{Mode: m, Size: size, Messages: 3, PerMessage: us})
		}
	}
	t.Crossover = bench.FindCrossover(t.Results)
	r.Transfer = t
	for i, k := range bench.BatchKernels() {
		r.Kernels = append(r.Kernels, bench.KernelResult{Kernel: k, InputBytes: 64 << 20, Unit: bench.UnitGBps, Launches: 3, GBps: float64(100 * (i + 1))})
	}
	return r
}

func pixels(l vg.Length) int { return int(l/vg.Inch*bench.PlotDPI + 0.5) }

func TestPlotPNG(t *testing.T) {
	full := sample()
	if !full.Transfer.Crossover.Found {
		t.Fatalf("the sample should cross: %+v", full.Transfer.Crossover)
	}
	ringOnly := bench.Results{Device: "d", Backend: "emu", Ring: full.Ring}
	emuRun := bench.Results{Device: "d", Backend: "emu", Ring: full.Ring,
		Transfer: &bench.TransferReport{NA: bench.NotOnEmulator}}
	for _, k := range full.Kernels {
		k.Unit, k.LaneInstrPerSec = bench.UnitLaneInstr, 1e8
		emuRun.Kernels = append(emuRun.Kernels, k)
	}
	for _, c := range []struct {
		name   string
		r      bench.Results
		panels int
	}{{"full", full, 3}, {"ring only", ringOnly, 1}} {
		if n := bench.Panels(c.r); n != c.panels {
			t.Errorf("%s: Panels %d, want %d", c.name, n, c.panels)
		}
		var b bytes.Buffer
		if err := bench.Plot(&b, bench.FormatPNG, c.r); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		img, err := png.Decode(&b)
		if err != nil {
			t.Fatalf("%s: the PNG does not decode: %v", c.name, err)
		}
		bounds := img.Bounds()
		if w, h := pixels(bench.PanelWidth), pixels(bench.PanelHeight*vg.Length(c.panels)); bounds.Dx() != w || bounds.Dy() != h {
			t.Errorf("%s: %dx%d pixels, want %dx%d", c.name, bounds.Dx(), bounds.Dy(), w, h)
		}
		inked, colours := ink(img)
		// Text, axes and lines cover some of the picture; a blank or
		// black-filled image fails.
		if frac := float64(inked) / float64(bounds.Dx()*bounds.Dy()); frac < 0.005 || frac > 0.5 {
			t.Errorf("%s: %.4f of the pixels are not background", c.name, frac)
		}
		// The lines and bars are in colour, not only black text.
		if colours < 2 {
			t.Errorf("%s: %d saturated colours", c.name, colours)
		}
	}

	// On the emulator the transfer panel says why it has no data, and the
	// kernels are in lane-instructions.
	if n := bench.Panels(emuRun); n != 3 {
		t.Errorf("emulator: Panels %d, want 3", n)
	}
	var b bytes.Buffer
	if err := bench.Plot(&b, bench.FormatSVG, emuRun); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{bench.NotOnEmulator, "million lane-instructions per second", "depth 4"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("emulator: the SVG lacks %q", want)
		}
	}
}

// ink counts the pixels that are not white, and the distinct hues among
// the strongly coloured ones (bucketed).
func ink(img image.Image) (inked, hues int) {
	b := img.Bounds()
	rgba, ok := img.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(b)
		draw.Draw(rgba, b, img, b.Min, draw.Src)
	}
	seen := map[[3]uint8]bool{}
	pix := rgba.Pix
	for i := 0; i+3 < len(pix); i += 4 {
		r, g, bl := pix[i], pix[i+1], pix[i+2]
		if r < 250 || g < 250 || bl < 250 {
			inked++
		}
		if max(r, g, bl)-min(r, g, bl) > 100 {
			seen[[3]uint8{r / 64, g / 64, bl / 64}] = true
		}
	}
	return inked, len(seen)
}

func TestPlotSVG(t *testing.T) {
	var b bytes.Buffer
	if err := bench.Plot(&b, bench.FormatSVG, sample()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if !strings.HasPrefix(s, "<?xml") || !strings.Contains(s[:400], "<svg") || !strings.HasSuffix(strings.TrimSpace(s), "</svg>") {
		t.Errorf("not an SVG document: %.200q ... %q", s, s[max(0, len(s)-50):])
	}
	// What a reader needs: the titles, axis labels with units, legends.
	for _, want := range []string{"Staging ring", "slot size (bytes, log scale)", "throughput (GB/s)", "depth 8",
		"time per message (log scale)", "100 µs", "zero-copy", "x* = 1 MiB", "input processed (GB/s)", "batch_checksum"} {
		if !strings.Contains(s, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
}

func TestPlotErrors(t *testing.T) {
	if err := bench.Plot(new(bytes.Buffer), bench.FormatPNG, bench.Results{}); err == nil || !strings.Contains(err.Error(), "nothing to plot") {
		t.Errorf("empty results: %v", err)
	}
	if err := bench.Plot(new(bytes.Buffer), "gif", sample()); err == nil || !strings.Contains(err.Error(), `"gif"`) {
		t.Errorf("format gif: %v", err)
	}
	mixed := sample()
	mixed.Kernels[1].Unit = bench.UnitLaneInstr
	if err := bench.Plot(new(bytes.Buffer), bench.FormatPNG, mixed); err == nil {
		t.Error("kernels in two units: no error")
	}
}

func TestPlotFormat(t *testing.T) {
	for path, want := range map[string]string{"a.png": bench.FormatPNG, "dir.x/b.PNG": bench.FormatPNG, "c.svg": bench.FormatSVG, "C.Svg": bench.FormatSVG} {
		if got, err := bench.PlotFormat(path); got != want || err != nil {
			t.Errorf("PlotFormat(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	for path, frag := range map[string]string{"a.jpg": `".jpg"`, "b.png.gz": `".gz"`, "noext": "no extension", "dir.png/file": "no extension"} {
		if _, err := bench.PlotFormat(path); err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("PlotFormat(%q): %v, want an error with %s", path, err, frag)
		}
	}
}
