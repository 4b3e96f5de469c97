//go:build gl

package view

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/go-gl/gl/v4.6-core/gl"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/host"
	"github.com/gpubuf/gpubuf/view/panel"
	"github.com/gpubuf/gpubuf/view/sim"
)

// Options configure Run.
type Options struct {
	Device        gpu.Device // runs the simulation and the ring's pipeline (required)
	Width, Height int        // the window, in pixels (default 1280×800)
	// Frames stops after that many frames; 0 runs until the window is
	// closed.
	Frames int
	// Screenshot writes the last frame as a PNG to this path.
	Screenshot string
	// Kernel is the warp panel's kernel (default lane_handoff_nosync).
	Kernel    string
	Particles int    // default 4096
	Seed      uint64 // of the simulation's initial state
	// Ring supplies the ring panel. Nil runs a small pipeline of
	// batch_checksum on Device, with a producer and a slow consumer, and
	// shows its ring.
	Ring func() panel.RingView
	// Log receives notices (a fallback to OpenGL 4.5, say); nil
	// discards them.
	Log io.Writer
}

// Version is an OpenGL context version.
type Version struct{ Major, Minor int }

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

func (v Version) atLeast(o Version) bool {
	return v.Major > o.Major || v.Major == o.Major && v.Minor >= o.Minor
}

var (
	want46 = Version{4, 6}
	need45 = Version{4, 5}
)

// Result is what a Run showed.
type Result struct {
	GL       Version // the context's version, read after gl.Init
	Renderer string  // GL_RENDERER
	Frames   int     // frames drawn
	SimSteps uint64  // simulation steps the device ran
	Torn     int     // frames that failed their checksum (always 0)
}

// Run opens the window and draws until it is closed or Options.Frames
// frames are drawn. GLFW requires it to run on the process's main OS
// thread: call it from main with the thread locked (runtime.LockOSThread
// in an init function).
func Run(opts Options) (res Result, err error) {
	if opts.Device == nil {
		return res, errors.New("view: no device")
	}
	if opts.Width == 0 {
		opts.Width = 1280
	}
	if opts.Height == 0 {
		opts.Height = 800
	}
	if opts.Width < 640 || opts.Height < 480 || opts.Width > 8192 || opts.Height > 8192 {
		return res, fmt.Errorf("view: window %d×%d: want 640×480 to 8192×8192", opts.Width, opts.Height)
	}
	if opts.Frames < 0 {
		return res, fmt.Errorf("view: frames %d: must not be negative", opts.Frames)
	}
	if opts.Kernel == "" {
		opts.Kernel = "lane_handoff_nosync"
	}
	if opts.Particles == 0 {
		opts.Particles = 4096
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Screenshot != "" {
		if ext := filepath.Ext(opts.Screenshot); ext != ".png" {
			return res, fmt.Errorf("view: screenshot %s: want a .png file", opts.Screenshot)
		}
	}
	if err := displayAvailable(); err != nil {
		return res, err
	}
	// The panels and the simulation first: their errors need no window.
	tl, err := panel.NewTimeline(opts.Kernel)
	if err != nil {
		return res, fmt.Errorf("view: warp panel: %w", err)
	}
	s, err := sim.New(opts.Device, sim.Options{Particles: opts.Particles, Seed: opts.Seed})
	if err != nil {
		return res, fmt.Errorf("view: simulation: %w", err)
	}
	defer s.Close()
	ringView := opts.Ring
	if ringView == nil {
		feed, err := startRingFeed(opts.Device)
		if err != nil {
			return res, fmt.Errorf("view: ring: %w", err)
		}
		defer feed.stop()
		ringView = func() panel.RingView { return panel.RingViewOf(feed.p.Ring()) }
	}

	// GLFW turns some failures into panics; they are errors here.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("view: GLFW: %v", p)
		}
	}()
	win, version, err := openWindow(opts)
	if err != nil {
		return res, err
	}
	defer glfw.Terminate()
	defer win.Destroy()
	res.GL = version
	res.Renderer = gl.GoStr(gl.GetString(gl.RENDERER))

	r, err := newRenderer(opts.Width, opts.Height, opts.Particles)
	if err != nil {
		return res, err
	}
	defer r.free()

	// The simulation runs on its own goroutine, as fast as the device
	// goes; the render loop takes its newest frame each time round.
	ctx, cancel := context.WithCancel(context.Background())
	var simErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.Run(ctx, 0); err != nil && !errors.Is(err, context.Canceled) {
			simErr = err
		}
	}()
	defer func() {
		cancel()
		wg.Wait()
		res.SimSteps = s.StepCount()
		if err == nil && simErr != nil {
			err = fmt.Errorf("view: simulation: %w", simErr)
		}
	}()

	var (
		lastPanel time.Time
		frame     *sim.Frame
		start     = time.Now()
	)
	for !win.ShouldClose() && (opts.Frames == 0 || res.Frames < opts.Frames) {
		if f, fresh := s.Frames().Read(); f != nil && fresh {
			if !f.Consistent() {
				res.Torn++
			}
			frame = f
		}
		last := opts.Frames > 0 && res.Frames == opts.Frames-1
		if last || time.Since(lastPanel) > 100*time.Millisecond {
			// The panels change slowly: compose them ten times a second.
			step := uint64(0)
			if frame != nil {
				step = frame.Step
			}
			fps := float64(res.Frames) / max(time.Since(start).Seconds(), 1e-9)
			title := fmt.Sprintf("gpubuf view: %s, OpenGL %s (%s); simulation step %d, %.0f frames/s", opts.Device.Info().Name, version, res.Renderer, step, fps)
			r.setPanel(panel.Compose(opts.Width, opts.Height, ringView(), tl, title))
			lastPanel = time.Now()
		}
		var pos []float32
		if frame != nil {
			pos = frame.Pos
		}
		r.draw(pos, panel.ParticleArea(opts.Width, opts.Height))
		res.Frames++
		if last && opts.Screenshot != "" {
			if err := writePNG(opts.Screenshot, r.readPixels()); err != nil {
				return res, err
			}
		}
		win.SwapBuffers()
		glfw.PollEvents()
	}
	if e := gl.GetError(); e != gl.NO_ERROR {
		return res, fmt.Errorf("view: OpenGL error %#x", e)
	}
	return res, nil
}

// displayAvailable says, in one line, why there can be no window.
func displayAvailable() error {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		return nil
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return errors.New("view: no display: DISPLAY is not set; run it on an X11 desktop, or headless under Xvfb: xvfb-run -a gpubuf view --frames 60 --screenshot view.png")
	}
	return nil
}

// openWindow makes the window and its context: OpenGL 4.6 core, else 4.5
// core with a notice, else an error naming what the driver gave.
func openWindow(opts Options) (*glfw.Window, Version, error) {
	if err := glfw.Init(); err != nil {
		return nil, Version{}, fmt.Errorf("view: cannot start GLFW: %v (is DISPLAY=%q an X server you can reach?)", err, os.Getenv("DISPLAY"))
	}
	var win *glfw.Window
	var firstErr error
	for _, v := range []Version{want46, need45} {
		glfw.DefaultWindowHints()
		glfw.WindowHint(glfw.ContextVersionMajor, v.Major)
		glfw.WindowHint(glfw.ContextVersionMinor, v.Minor)
		glfw.WindowHint(glfw.OpenGLProfile, glfw.OpenGLCoreProfile)
		glfw.WindowHint(glfw.OpenGLForwardCompatible, glfw.True)
		glfw.WindowHint(glfw.Resizable, glfw.False)
		w, err := glfw.CreateWindow(opts.Width, opts.Height, "gpubuf view", nil, nil)
		if err == nil {
			win = w
			break
		}
		if firstErr == nil {
			firstErr = err
			fmt.Fprintf(opts.Log, "view: no OpenGL 4.6 core context (%v); trying 4.5\n", err)
		}
	}
	if win == nil {
		glfw.Terminate()
		return nil, Version{}, fmt.Errorf("view: needs OpenGL 4.5 core or newer, and the driver has neither 4.6 nor 4.5 (%v); update the GPU driver, or use Mesa (llvmpipe gives 4.5)", firstErr)
	}
	win.MakeContextCurrent()
	glfw.SwapInterval(0)
	if err := gl.Init(); err != nil {
		win.Destroy()
		glfw.Terminate()
		return nil, Version{}, fmt.Errorf("view: OpenGL: %v", err)
	}
	got, err := parseGLVersion(gl.GoStr(gl.GetString(gl.VERSION)))
	if err != nil {
		win.Destroy()
		glfw.Terminate()
		return nil, Version{}, fmt.Errorf("view: %v", err)
	}
	if !got.atLeast(need45) {
		win.Destroy()
		glfw.Terminate()
		return nil, Version{}, fmt.Errorf("view: the context is OpenGL %s (%s); gpubuf view needs 4.5 core or newer: update the driver, or set MESA_GL_VERSION_OVERRIDE=4.5 with Mesa", got, gl.GoStr(gl.GetString(gl.RENDERER)))
	}
	if !got.atLeast(want46) && firstErr == nil {
		fmt.Fprintf(opts.Log, "view: running on OpenGL %s core (%s), not 4.6; everything the viewer draws is in 4.5\n", got, gl.GoStr(gl.GetString(gl.RENDERER)))
	}
	return win, got, nil
}

// parseGLVersion reads the version at the start of GL_VERSION, as in
// "4.5 (Core Profile) Mesa 22.3.6".
func parseGLVersion(s string) (Version, error) {
	var v Version
	if _, err := fmt.Sscanf(s, "%d.%d", &v.Major, &v.Minor); err != nil {
		return v, fmt.Errorf("cannot read the OpenGL version from GL_VERSION %q", s)
	}
	return v, nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("view: screenshot: %v", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("view: screenshot: %v", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("view: screenshot: %v", err)
	}
	return nil
}

// ringFeed keeps a small pipeline busy so that the ring panel has
// something to show: a producer pushing records as fast as the ring takes
// them, and a consumer that takes its time.
type ringFeed struct {
	p      *host.Pipeline
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func startRingFeed(dev gpu.Device) (*ringFeed, error) {
	k, err := host.BatchKernel("batch_checksum")
	if err != nil {
		return nil, err
	}
	p, err := host.NewPipeline(dev, host.PipelineOptions{
		Stages: []host.KernelSpec{k.Spec}, RecordSize: 256, SlotSize: 64 << 10,
		Slots: 8, Depth: 4, Streams: 2, Results: 1,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &ringFeed{p: p, cancel: cancel}
	f.done.Add(2)
	go func() {
		defer f.done.Done()
		buf := make([]byte, 64<<10)
		for i := 0; ctx.Err() == nil; i++ {
			for j := range buf {
				buf[j] = byte(i + j)
			}
			if p.Push(ctx, buf) != nil {
				return
			}
		}
	}()
	go func() {
		defer f.done.Done()
		for range p.Results() {
			time.Sleep(15 * time.Millisecond) // a slow consumer: the ring fills
		}
	}()
	return f, nil
}

func (f *ringFeed) stop() {
	f.cancel()
	f.p.Abort()
	f.done.Wait()
}
