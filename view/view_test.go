//go:build gl

package view

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
	_ "github.com/gpubuf/gpubuf/gpu/emu"
	"github.com/gpubuf/gpubuf/host"
	"github.com/gpubuf/gpubuf/view/panel"
)

// These tests open real windows: test.sh runs them under Xvfb with Mesa
// (llvmpipe, OpenGL 4.5 core). -view.png=DIR keeps their screenshots.
var keepShots = flag.String("view.png", "", "write the tests' screenshots to this directory")

// GLFW wants the process's main thread. TestMain keeps it (the init below
// locks it) and runs the window work the tests hand it there.
func init() { runtime.LockOSThread() }

var mainThread = make(chan func())

func TestMain(m *testing.M) {
	flag.Parse()
	done := make(chan int)
	go func() { done <- m.Run() }()
	for {
		select {
		case f := <-mainThread:
			f()
		case code := <-done:
			os.Exit(code)
		}
	}
}

// runOnMain runs Run on the main thread.
func runOnMain(opts Options) (res Result, err error) {
	ch := make(chan struct{})
	mainThread <- func() {
		defer close(ch)
		res, err = Run(opts)
	}
	<-ch
	return res, err
}

func openEmu(t *testing.T) gpu.Device {
	dev, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

// knownRing is a ring state to look for in the picture.
var knownRing = panel.RingView{
	States:  []host.SlotState{host.SlotFree, host.SlotFilling, host.SlotQueued, host.SlotInFlight, host.SlotInFlight, host.SlotFree},
	Pending: 2,
	Stats: host.Stats{
		Elapsed: 2 * time.Second, Bytes: 800e6, Throughput: 400e6,
		ProducerBlocked: time.Second, ConsumerStarved: 250 * time.Millisecond,
	},
}

// shoot runs the viewer for a few frames and returns its screenshot.
func shoot(t *testing.T, kernel string) (Result, *image.RGBA) {
	t.Helper()
	dir := t.TempDir()
	if *keepShots != "" {
		dir = *keepShots
	}
	path := filepath.Join(dir, kernel+".png")
	var log bytes.Buffer
	res, err := runOnMain(Options{
		Device: openEmu(t), Frames: 12, Screenshot: path, Kernel: kernel, Particles: 2048,
		Ring: func() panel.RingView { return knownRing }, Log: &log,
	})
	if err != nil {
		t.Fatalf("Run: %v\nlog: %s", err, log.String())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	rgba, ok := img.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(img.Bounds())
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
				rgba.Set(x, y, img.At(x, y))
			}
		}
	}
	t.Logf("OpenGL %s (%s), %d frames, %d simulation steps; log: %q", res.GL, res.Renderer, res.Frames, res.SimSteps, log.String())
	return res, rgba
}

func count(img *image.RGBA, r image.Rectangle, c color.RGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y) == c {
				n++
			}
		}
	}
	return n
}

func TestViewScreenshotOfARace(t *testing.T) {
	res, img := shoot(t, "lane_handoff_nosync")
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if w != 1280 || h != 800 {
		t.Fatalf("screenshot is %d×%d, want the window's 1280×800", w, h)
	}
	if res.Frames != 12 || res.Torn != 0 || res.SimSteps == 0 {
		t.Errorf("result %+v: want 12 frames, no torn frame, some simulation steps", res)
	}
	if !res.GL.atLeast(need45) {
		t.Errorf("context is OpenGL %s, below 4.5", res.GL)
	}

	// Not blank: many colours, and not mostly one.
	colours := map[color.RGBA]int{}
	for y := range h {
		for x := range w {
			colours[img.RGBAAt(x, y)]++
		}
	}
	if len(colours) < 40 {
		t.Errorf("the window shows %d distinct colours: blank or nearly", len(colours))
	}

	// The ring cells show the known state, through the GL texture path.
	ring := panel.RingArea(w, h)
	for i, st := range knownRing.States {
		c := panel.CellRect(ring, knownRing, i)
		p := image.Pt((c.Min.X+c.Max.X)/2, (c.Min.Y+c.Max.Y)/2)
		if got, want := img.RGBAAt(p.X, p.Y), panel.StateColor(st); got != want {
			t.Errorf("slot %d (%v) at %v is %v, want %v", i, st, p, got, want)
		}
	}
	for i := range knownRing.Pending {
		c := panel.DoneRect(ring, knownRing, i)
		p := image.Pt((c.Min.X+c.Max.X)/2, (c.Min.Y+c.Max.Y)/2)
		if got := img.RGBAAt(p.X, p.Y); got != panel.ColorDone {
			t.Errorf("done cell %d at %v is %v, want %v", i, p, got, panel.ColorDone)
		}
	}

	// The race is highlighted in the warp panel.
	if n := count(img, panel.TimelineArea(w, h), panel.ColorRace); n < 50 {
		t.Errorf("%d race-highlight pixels in the warp panel, want many", n)
	}

	// The particles are drawn over the particle area by the point shader.
	area := panel.ParticleArea(w, h)
	if n := count(img, area, particleColor); n < 100 {
		t.Errorf("%d particle pixels in %v, want many", n, area)
	}
	if n := count(img, image.Rect(0, 0, w, h), particleColor) - count(img, area, particleColor); n != 0 {
		t.Errorf("%d particle pixels outside the particle area", n)
	}
}

func TestViewScreenshotWithoutARace(t *testing.T) {
	_, img := shoot(t, "lane_handoff")
	if n := count(img, img.Bounds(), panel.ColorRace); n != 0 {
		t.Errorf("%d race-highlight pixels for lane_handoff, which has no race", n)
	}
	// The timeline is there all the same: writes and reads.
	tl := panel.TimelineArea(img.Bounds().Dx(), img.Bounds().Dy())
	if count(img, tl, panel.ColorWrite) == 0 || count(img, tl, panel.ColorRead) == 0 {
		t.Error("the warp panel shows no writes or no reads")
	}
}

// TestViewScreenshotOfThePipeline: the warp panel of async_pipeline shows
// its producer and consumer warps through the GL texture path: copies in
// flight, arrive-ons and their phases, each where the panel package puts
// it, and no race.
func TestViewScreenshotOfThePipeline(t *testing.T) {
	_, img := shoot(t, "async_pipeline")
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	area := panel.TimelineArea(w, h)
	if n := count(img, img.Bounds(), panel.ColorRace); n != 0 {
		t.Errorf("%d race-highlight pixels for async_pipeline, which has no race", n)
	}
	tl, err := panel.NewTimeline("async_pipeline")
	if err != nil {
		t.Fatal(err)
	}
	if tl.Warps != 4 || len(tl.Phases) == 0 || len(tl.Copies) == 0 {
		t.Fatalf("timeline: %d warps, %d phases, %d copies", tl.Warps, len(tl.Phases), len(tl.Copies))
	}
	for i, ph := range tl.Phases {
		x, y0, y1 := panel.PhaseX(area, tl, i)
		if n := count(img, image.Rect(x, y0, x+1, y1), panel.ColorArrive); n < (y1-y0)/2 {
			t.Errorf("phase %#x:%d: %d ColorArrive pixels on its line at x %d, y %d-%d", ph.Barrier, ph.Phase, n, x, y0, y1)
		}
	}
	for _, c := range []struct {
		c    color.RGBA
		what string
	}{{panel.ColorCopy, "copies"}, {panel.ColorArrive, "arrive-ons"}, {panel.ColorRead, "reads"}} {
		if n := count(img, area, c.c); n < 200 {
			t.Errorf("%d pixels of %s in the warp panel", n, c.what)
		}
	}
}

// particleColor is what the point shader writes: vec4(1.0, 0.78, 0.25, 1).
var particleColor = color.RGBA{255, 199, 64, 255}

func TestViewBadEnvironment(t *testing.T) {
	dev := openEmu(t)
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	_, err := runOnMain(Options{Device: dev, Frames: 1})
	if err == nil || !strings.Contains(err.Error(), "DISPLAY is not set") || !strings.Contains(err.Error(), "xvfb-run") || strings.Contains(err.Error(), "\n") {
		t.Errorf("without a display: %v; want one line naming DISPLAY and the fix", err)
	}
}

func TestViewBadOptions(t *testing.T) {
	dev := openEmu(t)
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{}, "no device"},
		{Options{Device: dev, Width: 100, Height: 100}, "window 100×100"},
		{Options{Device: dev, Frames: -1}, "frames -1"},
		{Options{Device: dev, Frames: 1, Screenshot: "x.jpg"}, "want a .png"},
		{Options{Device: dev, Frames: 1, Kernel: "no_such_kernel"}, "no_such_kernel"},
	} {
		_, err := runOnMain(c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error saying %q", c.opts, err, c.want)
		}
	}
}

func TestParseGLVersion(t *testing.T) {
	for s, want := range map[string]Version{
		"4.5 (Core Profile) Mesa 22.3.6": {4, 5},
		"4.6.0 NVIDIA 535.104.05":        {4, 6},
		"3.3 (Core Profile) Mesa 20.0":   {3, 3},
	} {
		got, err := parseGLVersion(s)
		if err != nil || got != want {
			t.Errorf("parseGLVersion(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := parseGLVersion("OpenGL ES"); err == nil {
		t.Error("parseGLVersion of a non-version: no error")
	}
	if (Version{3, 3}).atLeast(need45) || !(Version{4, 6}).atLeast(need45) || !(Version{5, 0}).atLeast(want46) {
		t.Error("atLeast is wrong")
	}
}
