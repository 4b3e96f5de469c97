package panel

import (
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/host"
)

// pngDir: go test ./view/panel -run Compose -panel.png=DIR writes the
// composed panels there as PNGs, to look at.
var pngDir = flag.String("panel.png", "", "write the composed panels as PNG files into this directory")

// sampleRing is a ring in a known state: six slots, two completions
// waiting, producers blocked half of the time.
func sampleRing() RingView {
	return RingView{
		States:      []host.SlotState{host.SlotFree, host.SlotFilling, host.SlotQueued, host.SlotInFlight, host.SlotInFlight, host.SlotFree},
		Pending:     2,
		Completions: 12,
		Stats: host.Stats{
			Submitted: 41, Completed: 37, Bytes: 824 << 20,
			Elapsed:         2 * time.Second,
			Throughput:      412e6,
			ProducerBlocked: time.Second, BlockedAcquires: 9,
			ConsumerStarved: 250 * time.Millisecond, StarvedNexts: 14,
			InFlight: 2, Pending: 2,
		},
		MaxThroughput: 1e9,
	}
}

var (
	tlMu    sync.Mutex
	tlCache = map[string]*Timeline{}
)

// timeline is NewTimeline(kernel), made once per test binary.
func timeline(t *testing.T, kernel string) *Timeline {
	t.Helper()
	tlMu.Lock()
	defer tlMu.Unlock()
	if tl, ok := tlCache[kernel]; ok {
		return tl
	}
	tl, err := NewTimeline(kernel)
	if err != nil {
		t.Fatal(err)
	}
	tlCache[kernel] = tl
	return tl
}

func at(img *image.RGBA, p image.Point) color.RGBA { return img.RGBAAt(p.X, p.Y) }

func mid(r image.Rectangle) image.Point {
	return image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2)
}

// count is the number of pixels of colour c in r.
func count(img *image.RGBA, r image.Rectangle, c color.RGBA) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.RGBAAt(x, y) == c {
				n++
			}
		}
	}
	return n
}

// writePNG writes img as name into -panel.png's directory, or a temporary
// one, and logs where.
func writePNG(t *testing.T, name string, img image.Image) {
	t.Helper()
	dir := *pngDir
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}
