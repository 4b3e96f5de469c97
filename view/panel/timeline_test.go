package panel

import (
	"image"
	"regexp"
	"strings"
	"testing"
)

// drawTimeline draws tl into a timeline-sized area, offset from the origin.
func drawTimeline(tl *Timeline) (*image.RGBA, image.Rectangle) {
	area := image.Rect(17, 9, 17+1260, 9+520)
	img := image.NewRGBA(image.Rect(0, 0, 1300, 540))
	fill(img, img.Bounds(), ColorBackground)
	DrawTimeline(img, area, tl)
	return img, area
}

// kindPixels checks that every mark of kind k shows its colour somewhere in
// its rectangle, and returns how many pixels of that colour the image has.
func kindPixels(t *testing.T, img *image.RGBA, area image.Rectangle, tl *Timeline, k MarkKind) int {
	t.Helper()
	c := MarkColor(k)
	marks := 0
	for i, m := range tl.Marks {
		if m.Kind != k {
			continue
		}
		marks++
		r := MarkRect(area, tl, i)
		if !r.In(area) {
			t.Fatalf("%v mark %d (lane %d step %d) at %v, outside %v", k, i, m.Lane, m.Step, r, area)
		}
		if count(img, r, c) == 0 {
			t.Errorf("%v mark %d (lane %d step %d) at %v shows no %v", k, i, m.Lane, m.Step, r, c)
		}
	}
	if marks == 0 {
		t.Errorf("no %v marks", k)
	}
	return count(img, area, c)
}

func TestTimelineRace(t *testing.T) {
	tl := timeline(t, "lane_handoff_nosync")
	if len(tl.Hazards) == 0 || len(tl.Key) != len(tl.Hazards) {
		t.Fatalf("lane_handoff_nosync: %d hazards, %d key lines; want some", len(tl.Hazards), len(tl.Key))
	}
	img, area := drawTimeline(tl)
	rr, ok := RaceRect(area, tl)
	if !ok || rr.Empty() || !rr.In(area) {
		t.Fatalf("RaceRect %v, %v: want a highlight inside %v", rr, ok, area)
	}
	if n := count(img, rr, ColorRace); n < 50 {
		t.Errorf("%d ColorRace pixels in the race rectangle %v", n, rr)
	}
	// Every racing access is outlined: ColorRace around its mark.
	races := 0
	for i, m := range tl.Marks {
		if !m.Race {
			continue
		}
		races++
		if m.Kind != MarkWrite && m.Kind != MarkRead {
			t.Errorf("mark %d (%s) is racing but not a shared access", i, m.Op)
		}
		r := MarkRect(area, tl, i)
		if count(img, r.Inset(-tlOutline), ColorRace) == 0 {
			t.Errorf("racing %v mark %d (lane %d step %d) has no ColorRace around it", m.Kind, i, m.Lane, m.Step)
		}
	}
	if races == 0 {
		t.Error("no racing marks")
	}
	for _, k := range []MarkKind{MarkWrite, MarkRead, MarkSync} {
		if n := kindPixels(t, img, area, tl, k); n < 20 {
			t.Errorf("%d pixels of %v", n, k)
		}
	}
	// The key names each hazard with both CUDA lines, from the report.
	loc := regexp.MustCompile(`kernels/handoff\.cu:\d+`)
	for i, h := range tl.Hazards {
		k := tl.Key[i]
		if got := loc.FindAllString(k, -1); len(got) != 2 {
			t.Errorf("key %q: want two kernels/handoff.cu lines, got %v", k, got)
		}
		for _, want := range []string{h.Type + " " + h.Scope + ": ", strings.ToLower(h.Prior.Kind) + " " + h.Prior.Site.Loc + " ", strings.ToLower(h.Later.Kind) + " " + h.Later.Site.Loc + " "} {
			if !strings.Contains(k, want) {
				t.Errorf("key %q lacks %q", k, want)
			}
		}
		if h.PriorMark < 0 || h.LaterMark < 0 {
			t.Errorf("hazard %s: no occurrence found in the trace", k)
			continue
		}
		p, l := tl.Marks[h.PriorMark], tl.Marks[h.LaterMark]
		if p.Step >= l.Step || p.Lane != h.Prior.Lane || l.Lane != h.Later.Lane || !p.Race || !l.Race {
			t.Errorf("hazard %s: occurrence %+v -> %+v", k, p, l)
		}
	}
	if !strings.Contains(strings.Join(tl.Key, "\n"), "RAW intra-warp: write kernels/handoff.cu:") {
		t.Errorf("no RAW write -> read hazard in the key:\n%s", strings.Join(tl.Key, "\n"))
	}
}

func TestTimelineClean(t *testing.T) {
	tl := timeline(t, "lane_handoff")
	if len(tl.Hazards) != 0 || len(tl.Key) != 0 || !tl.Report.Clean() {
		t.Fatalf("lane_handoff: hazards %v, key %q", tl.Hazards, tl.Key)
	}
	if _, ok := RaceRect(image.Rect(0, 0, 1280, 500), tl); ok {
		t.Error("RaceRect found a highlight in a clean kernel")
	}
	img, area := drawTimeline(tl)
	if n := count(img, img.Bounds(), ColorRace); n != 0 {
		t.Errorf("%d ColorRace pixels in a clean kernel's timeline", n)
	}
	for _, k := range []MarkKind{MarkWrite, MarkRead, MarkSync} {
		if n := kindPixels(t, img, area, tl, k); n < 20 {
			t.Errorf("%d pixels of %v", n, k)
		}
	}
	full := Compose(1280, 800, sampleRing(), tl, "lane_handoff")
	if n := count(full, full.Bounds(), ColorRace); n != 0 {
		t.Errorf("%d ColorRace pixels in a clean kernel's Compose", n)
	}
}

// The trace says what the kernels do: producers 0-15 write, consumers
// 16-31 read, and only lane_handoff puts a __syncwarp between each write
// and the read of its slot.
func TestTimelineContent(t *testing.T) {
	for _, tc := range []struct {
		kernel  string
		ordered bool
	}{{"lane_handoff", true}, {"lane_handoff_nosync", false}} {
		tl := timeline(t, tc.kernel)
		if tl.Truncated || tl.Lanes != 32 || tl.N != 64 || tl.Block != 32 || tl.Grid != 1 {
			t.Errorf("%s: truncated %v, %d lanes, n %d, %d×%d", tc.kernel, tl.Truncated, tl.Lanes, tl.N, tl.Grid, tl.Block)
		}
		if tl.Writes != 32 || tl.Reads != 32 {
			t.Errorf("%s: %d writes, %d reads; want 32 of each (two trips of 16 pairs)", tc.kernel, tl.Writes, tl.Reads)
		}
		want := []Role{{"producers", 0, 15}, {"consumers", 16, 31}}
		if len(tl.Roles) != 2 || tl.Roles[0] != want[0] || tl.Roles[1] != want[1] {
			t.Errorf("%s: roles %v, want %v", tc.kernel, tl.Roles, want)
		}
		syncs := 2 // the slot-reuse __syncwarp, once a trip
		if tc.ordered {
			syncs = 4 // and the handoff
		}
		if len(tl.Syncs) != syncs || tl.SyncArrivals != 32*syncs {
			t.Errorf("%s: %d rendezvous, %d arrivals; want %d and %d", tc.kernel, len(tl.Syncs), tl.SyncArrivals, syncs, 32*syncs)
		}
		// The warp leaves its k-th __syncwarp when the last lane arrives.
		nth := map[int]int{}
		for _, m := range tl.Marks {
			if m.Kind != MarkSync {
				continue
			}
			k := nth[m.Lane]
			nth[m.Lane]++
			if k >= len(tl.Syncs) || tl.Syncs[k].Step < m.Step || tl.Syncs[k].Lanes&(1<<m.Lane) == 0 {
				t.Fatalf("%s: lane %d reaches __syncwarp %d at step %d, after the warp left it (%+v)", tc.kernel, m.Lane, k, m.Step, tl.Syncs)
			}
		}
		// Each read: is a rendezvous of every lane between it and the
		// last write of its slot?
		unordered := 0
		for i, r := range tl.Marks {
			if r.Kind != MarkRead {
				continue
			}
			w := -1
			for j := i - 1; j >= 0; j-- {
				if m := tl.Marks[j]; m.Kind == MarkWrite && m.Addr == r.Addr {
					w = j
					break
				}
			}
			synced := false
			for _, s := range tl.Syncs {
				if s.Lanes == ^uint32(0) && w >= 0 && tl.Marks[w].Step <= s.Step && s.Step < r.Step {
					synced = true
				}
			}
			if !synced {
				unordered++
			}
		}
		if tc.ordered != (unordered == 0) {
			t.Errorf("%s: %d of %d reads have no __syncwarp after their slot's write", tc.kernel, unordered, tl.Reads)
		}
	}
}

func TestTimelineErrors(t *testing.T) {
	if _, err := NewTimeline("no_such_kernel"); err == nil {
		t.Error("NewTimeline of an unknown kernel: no error")
	}
	img, area := drawTimeline(nil) // must not panic
	if count(img, area, ColorPanel) == 0 {
		t.Error("DrawTimeline(nil) drew no panel")
	}
	if _, ok := RaceRect(area, nil); ok {
		t.Error("RaceRect(nil) found a highlight")
	}
	if got := laneSet(0x0000ffff | 1<<20 | 1<<31); got != "0-15,20,31" {
		t.Errorf("laneSet: %q", got)
	}
}
