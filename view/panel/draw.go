package panel

import (
	"image"
	"image/color"
	"image/draw"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// The Go fonts, parsed once. An *opentype.Font is safe for concurrent use;
// a face is not, so each drawing call makes its own (faces).
var (
	fontsOnce             sync.Once
	fontRegular, fontBold *opentype.Font
	fontMono              *opentype.Font
	fontErr               error
)

func parseFonts() {
	fontsOnce.Do(func() {
		for _, f := range []struct {
			dst **opentype.Font
			ttf []byte
		}{{&fontRegular, goregular.TTF}, {&fontBold, gobold.TTF}, {&fontMono, gomono.TTF}} {
			var err error
			if *f.dst, err = opentype.Parse(f.ttf); err != nil {
				fontErr = err
				return
			}
		}
	})
}

// faces are the type faces of one drawing call.
type faces struct {
	title, label, small, mono font.Face
}

func newFaces() *faces {
	parseFonts()
	if fontErr != nil {
		panic("panel: the embedded Go fonts do not parse: " + fontErr.Error())
	}
	face := func(f *opentype.Font, size float64) font.Face {
		fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
		if err != nil {
			panic("panel: " + err.Error())
		}
		return fc
	}
	return &faces{
		title: face(fontBold, 15),
		label: face(fontRegular, 13),
		small: face(fontRegular, 11),
		mono:  face(fontMono, 12),
	}
}

// text draws s with its baseline's left end at (x, y) and returns the x
// where it ended.
func text(dst *image.RGBA, f font.Face, c color.Color, x, y int, s string) int {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: f, Dot: fixed.P(x, y)}
	d.DrawString(s)
	return d.Dot.X.Ceil()
}

// textWidth is how wide s is in f, in pixels.
func textWidth(f font.Face, s string) int { return font.MeasureString(f, s).Ceil() }

// ascent is the height of f above its baseline, in pixels.
func ascent(f font.Face) int { return f.Metrics().Ascent.Ceil() }

// textRight draws s ending at x.
func textRight(dst *image.RGBA, f font.Face, c color.Color, x, y int, s string) {
	text(dst, f, c, x-textWidth(f, s), y, s)
}

// textCentre draws s centred on x.
func textCentre(dst *image.RGBA, f font.Face, c color.Color, x, y int, s string) {
	text(dst, f, c, x-textWidth(f, s)/2, y, s)
}

// fill paints r (clipped to dst) in c.
func fill(dst *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(dst, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// frame paints a w pixels wide border just inside r.
func frame(dst *image.RGBA, r image.Rectangle, w int, c color.RGBA) {
	fill(dst, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+w), c)
	fill(dst, image.Rect(r.Min.X, r.Max.Y-w, r.Max.X, r.Max.Y), c)
	fill(dst, image.Rect(r.Min.X, r.Min.Y, r.Min.X+w, r.Max.Y), c)
	fill(dst, image.Rect(r.Max.X-w, r.Min.Y, r.Max.X, r.Max.Y), c)
}

// line paints a line from a to b, w pixels thick (a square brush).
func line(dst *image.RGBA, a, b image.Point, w int, c color.RGBA) {
	dx, dy := abs(b.X-a.X), -abs(b.Y-a.Y)
	sx, sy := sign(b.X-a.X), sign(b.Y-a.Y)
	e := dx + dy
	p := a
	for {
		fill(dst, image.Rect(p.X-w/2, p.Y-w/2, p.X-w/2+w, p.Y-w/2+w), c)
		if p == b {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			p.X += sx
		}
		if e2 <= dx {
			e += dx
			p.Y += sy
		}
	}
}

// vdash paints a dashed vertical line at x from y0 to y1.
func vdash(dst *image.RGBA, x, y0, y1, on, off int, c color.RGBA) {
	for y := y0; y < y1; y += on + off {
		fill(dst, image.Rect(x, y, x+1, min(y+on, y1)), c)
	}
}

// panelBox paints a panel's face and frame.
func panelBox(dst *image.RGBA, r image.Rectangle) {
	fill(dst, r, ColorPanel)
	frame(dst, r, 1, ColorBorder)
}

// sub is dst clipped to r, sharing its pixels.
func sub(dst *image.RGBA, r image.Rectangle) *image.RGBA {
	return dst.SubImage(r.Intersect(dst.Bounds())).(*image.RGBA)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}
