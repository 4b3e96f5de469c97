package panel

import (
	"context"
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
	_ "github.com/gpubuf/gpubuf/gpu/emu"
	"github.com/gpubuf/gpubuf/host"
)

// drawRing draws v into a ring-sized area, offset from the image's origin
// so that a layout ignoring area.Min shows.
func drawRing(v RingView) (*image.RGBA, image.Rectangle) {
	area := image.Rect(23, 31, 23+760, 31+RingHeight())
	img := image.NewRGBA(image.Rect(0, 0, 820, area.Max.Y+20))
	fill(img, img.Bounds(), ColorBackground)
	DrawRing(img, area, v)
	return img, area
}

func TestRingCells(t *testing.T) {
	v := sampleRing()
	img, area := drawRing(v)
	var prev image.Rectangle
	for i, s := range v.States {
		r := CellRect(area, v, i)
		if r.Dx() < 8 || r.Dy() < 8 || !r.In(area) {
			t.Fatalf("cell %d: %v, want a visible cell inside %v", i, r, area)
		}
		if i > 0 && r.Min.X <= prev.Max.X {
			t.Errorf("cell %d at %v does not follow cell %d at %v", i, r, i-1, prev)
		}
		prev = r
		if got := at(img, mid(r)); got != StateColor(s) {
			t.Errorf("cell %d (%v): centre %v, want %v", i, s, got, StateColor(s))
		}
		// The whole cell is the state's colour: no text on it.
		if n := count(img, r, StateColor(s)); n != r.Dx()*r.Dy() {
			t.Errorf("cell %d: %d of %d pixels in the state's colour", i, n, r.Dx()*r.Dy())
		}
	}
	want := map[host.SlotState]string{host.SlotFree: "free", host.SlotFilling: "filling", host.SlotQueued: "queued", host.SlotInFlight: "in flight"}
	seen := map[[4]uint8]host.SlotState{}
	for s := range want {
		c := StateColor(s)
		if o, dup := seen[[4]uint8{c.R, c.G, c.B, c.A}]; dup {
			t.Errorf("%v and %v share a colour", s, o)
		}
		seen[[4]uint8{c.R, c.G, c.B, c.A}] = s
	}
	if CellRect(area, v, -1) != (image.Rectangle{}) || CellRect(area, v, len(v.States)) != (image.Rectangle{}) {
		t.Error("CellRect out of range is not empty")
	}
}

func TestRingDoneCells(t *testing.T) {
	v := sampleRing()
	img, area := drawRing(v)
	for i := range v.Completions {
		r := DoneRect(area, v, i)
		if r.Empty() || !r.In(area) {
			t.Fatalf("done cell %d: %v", i, r)
		}
		want := ColorEmpty
		if i < v.Pending {
			want = ColorDone
		}
		if got := at(img, mid(r)); got != want {
			t.Errorf("done cell %d (pending %d): %v, want %v", i, v.Pending, got, want)
		}
	}
	if got := count(img, area, ColorDone); got == 0 {
		t.Error("no ColorDone pixel")
	}
	// Without Completions, the queue is as long as the ring.
	v.Completions, v.Pending = 0, 5
	img, area = drawRing(v)
	if !DoneRect(area, v, len(v.States)).Empty() || DoneRect(area, v, len(v.States)-1).Empty() {
		t.Errorf("Completions 0: want %d done cells", len(v.States))
	}
	for i := range 5 {
		if got := at(img, mid(DoneRect(area, v, i))); got != ColorDone {
			t.Errorf("done cell %d: %v, want ColorDone", i, got)
		}
	}
	if got := at(img, mid(DoneRect(area, v, 5))); got != ColorEmpty {
		t.Errorf("done cell 5: %v, want ColorEmpty", got)
	}
}

// barLength is how many pixels of bar b's middle row have colour c, from
// its left end on.
func barLength(img *image.RGBA, area image.Rectangle, v RingView, b Bar) (n, full int) {
	r := BarRect(area, v, b)
	c := map[Bar]color.RGBA{BarThroughput: ColorThroughput, BarBlocked: ColorBlocked, BarStarved: ColorStarved}[b]
	y := (r.Min.Y + r.Max.Y) / 2
	for x := r.Min.X; x < r.Max.X && img.RGBAAt(x, y) == c; x++ {
		n++
	}
	return n, r.Dx()
}

func TestRingBars(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		elapsed, blocked, starve time.Duration
		thr, scale               float64
		want                     [3]float64
	}{
		{"half", 2 * time.Second, time.Second, 250 * time.Millisecond, 412e6, 1e9, [3]float64{0.412, 0.5, 0.125}},
		{"idle", 0, 0, 0, 0, 0, [3]float64{0, 0, 0}},
		{"full", time.Second, 3 * time.Second, time.Second, 2e9, 1e9, [3]float64{1, 1, 1}},
		{"autoscale", time.Second, 100 * time.Millisecond, 900 * time.Millisecond, 300e6, 0, [3]float64{0.6, 0.1, 0.9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := sampleRing()
			v.Stats.Elapsed, v.Stats.ProducerBlocked, v.Stats.ConsumerStarved = tc.elapsed, tc.blocked, tc.starve
			v.Stats.Throughput, v.MaxThroughput = tc.thr, tc.scale
			img, area := drawRing(v)
			for b := BarThroughput; b <= BarStarved; b++ {
				n, full := barLength(img, area, v, b)
				if full < 100 {
					t.Fatalf("bar %d is %d pixels long", b, full)
				}
				want := tc.want[b] * float64(full)
				if d := float64(n) - want; d < -2 || d > 2 {
					t.Errorf("bar %d: %d of %d pixels filled, want %.1f (%.3f)", b, n, full, want, tc.want[b])
				}
				// The rest of the track is the track's colour.
				r := BarRect(area, v, b)
				if got := at(img, image.Pt(r.Max.X-1, (r.Min.Y+r.Max.Y)/2)); tc.want[b] < 1 && got != ColorTrack {
					t.Errorf("bar %d: its right end is %v, want ColorTrack", b, got)
				}
			}
		})
	}
	// A half-blocked ring's bar is half as long as a fully blocked one's.
	v := sampleRing()
	v.Stats.ProducerBlocked = v.Stats.Elapsed
	img, area := drawRing(v)
	full, _ := barLength(img, area, v, BarBlocked)
	v.Stats.ProducerBlocked = v.Stats.Elapsed / 2
	img, area = drawRing(v)
	half, _ := barLength(img, area, v, BarBlocked)
	if d := 2*half - full; d < -2 || d > 2 {
		t.Errorf("blocked half the time: %d pixels; all the time: %d", half, full)
	}
}

func TestRingManySlots(t *testing.T) {
	v := sampleRing()
	v.States = make([]host.SlotState, 100)
	for i := range v.States {
		v.States[i] = host.SlotState(i % 4)
	}
	v.Completions = 200
	img, area := drawRing(v)
	for i, s := range v.States {
		r := CellRect(area, v, i)
		if r.Empty() || !r.In(area) {
			t.Fatalf("cell %d of 100: %v outside %v", i, r, area)
		}
		if got := at(img, mid(r)); got != StateColor(s) {
			t.Errorf("cell %d: %v, want %v", i, got, StateColor(s))
		}
	}
}

func TestRingViewOf(t *testing.T) {
	dev, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	r, err := host.NewRing(dev, host.RingOptions{Slots: 3, SlotSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	s, err := r.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v := RingViewOf(r)
	if len(v.States) != 3 || v.States[s.Index()] != host.SlotFilling || v.Completions != 6 {
		t.Fatalf("one slot acquired: %+v", v)
	}
	img, area := drawRing(v)
	if got := at(img, mid(CellRect(area, v, s.Index()))); got != ColorFilling {
		t.Errorf("the acquired slot is %v, want ColorFilling", got)
	}
	if err := r.Submit(s, 64, 1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for v = RingViewOf(r); v.Pending == 0 && time.Now().Before(deadline); v = RingViewOf(r) {
		time.Sleep(time.Millisecond)
	}
	if v.Pending != 1 || v.Stats.Completed != 1 {
		t.Fatalf("after one batch: pending %d, completed %d, want 1 and 1", v.Pending, v.Stats.Completed)
	}
	img, area = drawRing(v)
	if got := at(img, mid(DoneRect(area, v, 0))); got != ColorDone {
		t.Errorf("the completed batch's cell is %v, want ColorDone", got)
	}
	if _, err := r.Next(ctx); err != nil {
		t.Fatal(err)
	}
}
