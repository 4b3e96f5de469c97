package panel

import "image"

// Compose geometry, in pixels.
const (
	composeMargin  = 10
	composeTitleH  = 30
	particleHeadH  = 26 // the particle panel's caption
	minTimelineH   = 200
	ringShareOfRow = 0.58 // of the width, for the ring; the particles get the rest
)

// composeLayout is where Compose puts its panels.
type composeLayout struct {
	title, ring, particles, particleBox, timeline image.Rectangle
}

func layoutCompose(width, height int) composeLayout {
	var l composeLayout
	m := composeMargin
	l.title = image.Rect(0, 0, width, composeTitleH)
	top := composeTitleH
	ringH := min(RingHeight(), max(height-top-2*m-minTimelineH-m, 0))
	ringW := int(float64(width-3*m) * ringShareOfRow)
	l.ring = image.Rect(m, top, m+ringW, top+ringH)
	l.particleBox = image.Rect(l.ring.Max.X+m, top, width-m, top+ringH)
	l.particles = image.Rect(l.particleBox.Min.X+1, l.particleBox.Min.Y+particleHeadH, l.particleBox.Max.X-1, l.particleBox.Max.Y-1)
	if l.particles.Empty() {
		l.particles = image.Rectangle{}
	}
	l.timeline = image.Rect(m, l.ring.Max.Y+m, width-m, max(height-m, l.ring.Max.Y+m))
	return l
}

// ParticleArea is the part of a Compose image of this size left for the
// particles, which the GL window draws on top: inside a framed panel,
// below its caption, painted in ColorBackground.
func ParticleArea(width, height int) image.Rectangle { return layoutCompose(width, height).particles }

// RingArea and TimelineArea are where Compose draws the ring and the warp
// panels: pass them to DrawRing, CellRect, DrawTimeline or RaceRect to
// redraw a panel, or find its cells and marks, in a Compose image.
func RingArea(width, height int) image.Rectangle { return layoutCompose(width, height).ring }

// TimelineArea: see RingArea.
func TimelineArea(width, height int) image.Rectangle { return layoutCompose(width, height).timeline }

// Compose draws the viewer's panels into a new width × height image: a
// title bar, the staging ring (RingArea), a framed space for the particles
// (ParticleArea) and the warp timeline with its key (TimelineArea). The
// panels are laid out for about 1280 × 800; a smaller image cuts them.
// tl may be nil (the timeline panel then says there is no trace).
func Compose(width, height int, ring RingView, tl *Timeline, title string) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, max(width, 0), max(height, 0)))
	l := layoutCompose(width, height)
	fill(img, img.Bounds(), ColorBackground)
	ff := newFaces()
	text(img, ff.title, ColorText, composeMargin+2, 21, title)
	if !l.ring.Empty() {
		DrawRing(img, l.ring, ring)
	}
	if !l.particleBox.Empty() {
		pb := sub(img, l.particleBox)
		frame(pb, l.particleBox, 1, ColorBorder)
		fill(pb, image.Rect(l.particleBox.Min.X+1, l.particleBox.Min.Y+1, l.particleBox.Max.X-1, l.particleBox.Min.Y+particleHeadH), ColorPanel)
		text(pb, ff.label, ColorText, l.particleBox.Min.X+ringPad, l.particleBox.Min.Y+18, "Particles")
		fill(pb, l.particles, ColorBackground)
	}
	if !l.timeline.Empty() {
		DrawTimeline(img, l.timeline, tl)
	}
	return img
}
