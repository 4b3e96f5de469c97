package panel

import (
	"image"
	"image/color"
	"testing"
)

func TestCompose(t *testing.T) {
	const w, h = 1280, 800
	for _, k := range []string{"lane_handoff", "lane_handoff_nosync"} {
		t.Run(k, func(t *testing.T) {
			tl := timeline(t, k)
			img := Compose(w, h, sampleRing(), tl, "gpubuf viewer: staging ring and "+k)
			writePNG(t, k+".png", img)
			if img.Bounds() != image.Rect(0, 0, w, h) {
				t.Fatalf("bounds %v", img.Bounds())
			}
			colours := map[color.RGBA]int{}
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					colours[img.RGBAAt(x, y)]++
				}
			}
			if len(colours) < 40 {
				t.Errorf("only %d distinct colours: the picture is nearly blank", len(colours))
			}
			if n := colours[ColorBackground]; n > w*h/2 {
				t.Errorf("%d of %d pixels are background", n, w*h)
			}
			pa := ParticleArea(w, h)
			if pa.Empty() || !pa.In(img.Bounds()) {
				t.Fatalf("ParticleArea %v is empty or not inside %v", pa, img.Bounds())
			}
			for _, r := range []image.Rectangle{RingArea(w, h), TimelineArea(w, h)} {
				if r.Overlaps(pa) {
					t.Errorf("panel %v overlaps the particle area %v", r, pa)
				}
			}
			if n := count(img, pa, ColorBackground); n != pa.Dx()*pa.Dy() {
				t.Errorf("particle area: %d of %d pixels are ColorBackground, want all (left for the GL side)", n, pa.Dx()*pa.Dy())
			}
			// The ring's cells are where CellRect says, in Compose too.
			v := sampleRing()
			for i, s := range v.States {
				if got := at(img, mid(CellRect(RingArea(w, h), v, i))); got != StateColor(s) {
					t.Errorf("slot %d (%v) in Compose: %v, want %v", i, s, got, StateColor(s))
				}
			}
		})
	}
}
