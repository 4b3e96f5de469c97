//go:build gl

package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/view"
)

// GLFW must be driven from the process's main thread: keep main there.
func init() { runtime.LockOSThread() }

func viewCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("view", stderr)
	backend := fs.String("backend", "", backendFlagHelp)
	frames := fs.Int("frames", 0, "stop after this many frames (0: until the window is closed)")
	shot := fs.String("screenshot", "", "write the last frame to this PNG file (with --frames)")
	kernel := fs.String("kernel", "lane_handoff_nosync", "the kernel of the warp panel (lane_handoff, lane_handoff_nosync, pingpong, async_pipeline, ...)")
	particles := fs.Int("particles", 4096, "particles in the simulation")
	seed := fs.Uint64("seed", 1, "seed of the simulation's initial state")
	width := fs.Int("width", 1280, "window width in pixels")
	height := fs.Int("height", 800, "window height in pixels")
	setUsage(fs, viewUsage)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "gpubuf view: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected argument %q", fs.Arg(0))
	case *frames < 0:
		return fail("--frames %d: must not be negative", *frames)
	case *shot != "" && *frames == 0:
		return fail("--screenshot needs --frames N: the picture is of frame N")
	case *particles <= 0 || *particles > 1<<20:
		return fail("--particles %d: want 1..1048576", *particles)
	case *width < 640 || *width > 8192:
		return fail("--width %d: want 640..8192", *width)
	case *height < 480 || *height > 8192:
		return fail("--height %d: want 480..8192", *height)
	}
	dev, err := openDevice(*backend, gpu.EmuOptions{})
	if err != nil {
		return fail("%v", err)
	}
	defer dev.Close()
	res, err := view.Run(view.Options{
		Device: dev, Width: *width, Height: *height, Frames: *frames, Screenshot: *shot,
		Kernel: *kernel, Particles: *particles, Seed: *seed, Log: stderr,
	})
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "gpubuf view: %d frames on OpenGL %s (%s), %d simulation steps on %s, %d torn frames\n",
		res.Frames, res.GL, res.Renderer, res.SimSteps, dev.Info().Name, res.Torn)
	if *shot != "" {
		fmt.Fprintf(stdout, "screenshot: %s\n", *shot)
	}
	return exitOK
}
