// Package panel draws the viewer's live panels into an *image.RGBA on the
// CPU: the staging ring (slot states, done completions, and throughput,
// producer-blocked and consumer-starved bars from host.Stats) and the warp
// timeline (lanes × time from an emulator trace of one kernel's first
// warps, with its shared-memory writes and reads, __syncwarp points,
// cp.async copies in flight, mbarrier arrive-ons and phases, and the
// accesses the race checker names, highlighted, with a key of the hazards
// and their CUDA lines).
//
// It has no GL dependency: the GL window uploads the image Compose returns
// as a texture and draws the particles on top, in ParticleArea. The
// exported colours are what the panels paint, so that tests (here and on
// the GL side) can find cells and marks by their exact pixel values.
//
// Layout functions (CellRect, DoneRect, BarRect, RaceRect, Compose's
// areas) compute the same rectangles the Draw functions paint, from the
// same inputs. Compose is laid out for about 1280 × 800 pixels.
//
// To look at the panels: go test ./view/panel -run Compose -panel.png=DIR
// writes Compose's picture for lane_handoff and lane_handoff_nosync into
// DIR.
package panel

import (
	"image/color"

	"github.com/gpubuf/gpubuf/host"
)

// Palette. Every colour is opaque, and the ones a test looks for (slot
// states, bars, timeline marks) are distinct from each other and from the
// text, so a pixel's exact value says what was drawn there.
var (
	// Backgrounds and text.
	ColorBackground = color.RGBA{0x12, 0x15, 0x1b, 0xff} // behind the panels
	ColorPanel      = color.RGBA{0x1b, 0x1f, 0x27, 0xff} // a panel's face
	ColorBorder     = color.RGBA{0x3a, 0x41, 0x4e, 0xff} // panel and cell frames
	ColorText       = color.RGBA{0xe8, 0xea, 0xee, 0xff}
	ColorMuted      = color.RGBA{0x98, 0x9f, 0xac, 0xff} // secondary text, axes
	ColorOK         = color.RGBA{0x5f, 0xd0, 0x7e, 0xff} // "no hazards"

	// Ring slot states (host.SlotState) and completions.
	ColorFree     = color.RGBA{0x4b, 0x52, 0x5f, 0xff} // SlotFree
	ColorFilling  = color.RGBA{0xf5, 0xb7, 0x31, 0xff} // SlotFilling: lent to a producer
	ColorQueued   = color.RGBA{0x3d, 0x8b, 0xfd, 0xff} // SlotQueued: submitted, waiting for a device frame
	ColorInFlight = color.RGBA{0xb0, 0x6c, 0xff, 0xff} // SlotInFlight: its copy or kernel is on the device
	ColorDone     = color.RGBA{0x34, 0xc7, 0x59, 0xff} // a completion done, waiting for the consumer
	ColorEmpty    = color.RGBA{0x25, 0x2a, 0x33, 0xff} // an unused place in the completion queue

	// Ring bars.
	ColorTrack      = color.RGBA{0x2a, 0x30, 0x3a, 0xff} // a bar's empty part
	ColorThroughput = color.RGBA{0x2d, 0xd4, 0xbf, 0xff}
	ColorBlocked    = color.RGBA{0xff, 0x7a, 0x45, 0xff} // producers waiting for a free slot
	ColorStarved    = color.RGBA{0xf4, 0x72, 0xb6, 0xff} // the consumer waiting for a completion

	// Warp timeline.
	ColorLaneAlt = color.RGBA{0x21, 0x26, 0x2f, 0xff} // every other lane's row
	ColorActive  = color.RGBA{0x40, 0x48, 0x57, 0xff} // a lane executing any other instruction
	ColorWrite   = color.RGBA{0xff, 0x9f, 0x1c, 0xff} // a shared-memory write (st/atom/red .shared)
	ColorRead    = color.RGBA{0x22, 0xd3, 0xee, 0xff} // a shared-memory read (ld.shared)
	ColorSync    = color.RGBA{0xf4, 0xf4, 0xf4, 0xff} // __syncwarp (bar.warp.sync)
	ColorRace    = color.RGBA{0xff, 0x1f, 0x5a, 0xff} // an access the race checker names
	ColorArrive  = color.RGBA{0xc0, 0x84, 0xfc, 0xff} // an mbarrier arrive-on, and its phase's completion
	ColorCopy    = color.RGBA{0xa3, 0xe6, 0x35, 0xff} // a cp.async issued, in flight, landing
	ColorWait    = color.RGBA{0x5b, 0x54, 0x80, 0xff} // an mbarrier wait (test_wait or try_wait polling)
)

// StateColor is the colour of a slot in state s (ColorFree for a state it
// does not know).
func StateColor(s host.SlotState) color.RGBA {
	switch s {
	case host.SlotFilling:
		return ColorFilling
	case host.SlotQueued:
		return ColorQueued
	case host.SlotInFlight:
		return ColorInFlight
	}
	return ColorFree
}
