package kernels

import (
	"slices"
	"testing"
)

// The expected values below are worked out by hand from each kernel's
// specification; the comments show the arithmetic (all mod 2^32).

func TestLaneHandoffByHand(t *testing.T) {
	// n = 17, in[i] = i. Words 0..15 pair with 16..31, of which only 16
	// exists. mix(x) = x*0x9E3779B1 + 0x7F4A7C15.
	//   mix(0)  = 0x7F4A7C15
	//   mix(1)  = 0x9E3779B1 + 0x7F4A7C15 = 0x1_1D81F5C6 -> 0x1D81F5C6
	//   mix(15) = 0x9_4540215F + 0x7F4A7C15 -> 0x4540215F + 0x7F4A7C15 = 0xC48A9D74
	//   out[0]  = mix(0) + in[16] = 0x7F4A7C25
	//   out[16] = mix(0) ^ in[16] = 0x7F4A7C05
	//   out[1..15] = mix(i) + 0 (their partners are past the end)
	in := make([]uint32, 17)
	for i := range in {
		in[i] = uint32(i)
	}
	out := LaneHandoff(in)
	want := map[int]uint32{0: 0x7F4A7C25, 1: 0x1D81F5C6, 15: 0xC48A9D74, 16: 0x7F4A7C05}
	for i, w := range want {
		if out[i] != w {
			t.Errorf("out[%d] = %#x, want %#x", i, out[i], w)
		}
	}
	if len(out) != 17 {
		t.Errorf("len(out) = %d, want 17", len(out))
	}

	// The second chunk pairs word 32+j with 48+j: with n = 50, word 33
	// pairs with 49 and word 34 with nothing.
	in = make([]uint32, 50)
	in[33], in[49] = 1, 5
	out = LaneHandoff(in)
	if out[33] != 0x1D81F5C6+5 || out[49] != 0x1D81F5C6^5 || out[34] != 0x7F4A7C15 {
		t.Errorf("second chunk: out[33,34,49] = %#x %#x %#x", out[33], out[34], out[49])
	}
}

func TestPingpongByHand(t *testing.T) {
	// One item, in[j] = j. P(j) = mix(j); out[j] = P(j) + rotl(P(j+1 mod 16), 7).
	//   rotl(0x1D81F5C6, 7) = 0xC0FAE300 | (0x1D81F5C6 >> 25 = 0x0E) = 0xC0FAE30E
	//   out[0]  = 0x7F4A7C15 + 0xC0FAE30E = 0x1_40455F23 -> 0x40455F23
	//   rotl(0x7F4A7C15, 7) = 0xA53E0A80 | (0x7F4A7C15 >> 25 = 0x3F) = 0xA53E0ABF
	//   out[15] = 0xC48A9D74 + 0xA53E0ABF = 0x1_69C8A833 -> 0x69C8A833
	in := make([]uint32, 16+5) // 5 words of a partial second item: ignored
	for j := range 16 {
		in[j] = uint32(j)
	}
	out := Pingpong(in)
	if len(out) != 16 || out[0] != 0x40455F23 || out[15] != 0x69C8A833 {
		t.Errorf("Pingpong: len %d, out[0] = %#x, out[15] = %#x; want 16, 0x40455F23, 0x69C8A833", len(out), out[0], out[15])
	}
}

func TestWarpSpecializedByHand(t *testing.T) {
	// f(x) = (x ^ x>>16) * 0x045D9F3B.
	//   f(1)       = 0x045D9F3B; a row of 1s sums to 32*0x045D9F3B = 0x8BB3E760
	//   f(0x10000) = 0x10001 * 0x045D9F3B = 0x045D9F3B + 0x9F3B0000 = 0xA3989F3B
	in := make([]uint32, 2*TileWords)
	for i := range 32 {
		in[TileWords+3*32+i] = 1 // tile 1, row 3
	}
	in[5] = 0x10000 // tile 0, row 0
	out, sums := WarpSpecialized(in)
	if out[TileWords+3*32+7] != 0x045D9F3B || sums[TileRows+3] != 0x8BB3E760 {
		t.Errorf("tile 1 row 3: out = %#x, sum = %#x; want 0x045D9F3B, 0x8BB3E760", out[TileWords+3*32+7], sums[TileRows+3])
	}
	if out[5] != 0xA3989F3B || sums[0] != 0xA3989F3B || sums[1] != 0 {
		t.Errorf("tile 0: out[5] = %#x, sums[0:2] = %#x", out[5], sums[:2])
	}
	if len(out) != 2*TileWords || len(sums) != 2*TileRows {
		t.Errorf("lengths %d, %d", len(out), len(sums))
	}
}

func TestBatchReduceByHand(t *testing.T) {
	// Three records of two words:
	//   {5, 1}:          sum 6, min 1, max 5
	//   {0xFFFFFFFF, 2}: sum 0x1_00000001 -> 1, min 2, max 0xFFFFFFFF
	//   {7, 7}:          sum 14, min 7, max 7
	in := []uint32{5, 1, 0xFFFFFFFF, 2, 7, 7}
	want := []uint32{6, 1, 5, 1, 2, 0xFFFFFFFF, 14, 7, 7}
	if got := BatchReduce(in, 3, 2); !slices.Equal(got, want) {
		t.Errorf("BatchReduce = %#x, want %#x", got, want)
	}
	// Empty records give the identities.
	if got := BatchReduce(nil, 2, 0); !slices.Equal(got, []uint32{0, 0xFFFFFFFF, 0, 0, 0xFFFFFFFF, 0}) {
		t.Errorf("empty records: %#x", got)
	}
}

func TestBatchScanByHand(t *testing.T) {
	// {1, 2, 3} -> {1, 3, 6}; {10, 20, 30} -> {10, 30, 60}: no carry
	// between records.
	got := BatchScan([]uint32{1, 2, 3, 10, 20, 30}, 2, 3)
	if want := []uint32{1, 3, 6, 10, 30, 60}; !slices.Equal(got, want) {
		t.Errorf("BatchScan = %v, want %v", got, want)
	}
	// One record of 33 ones crosses a 32-word chunk: 1, 2, ..., 33.
	ones := make([]uint32, 33)
	for i := range ones {
		ones[i] = 1
	}
	got = BatchScan(ones, 1, 33)
	if got[31] != 32 || got[32] != 33 {
		t.Errorf("33 ones: got[31], got[32] = %d, %d; want 32, 33", got[31], got[32])
	}
}

func TestBatchHistogramByHand(t *testing.T) {
	// Two records of 3 bytes, "aba" and "c\x00a", plus a byte past the
	// batch that must not count: a 3 times, b once, c once, 0 once.
	h := BatchHistogram([]byte("abac\x00az"), 2, 3)
	want := map[byte]uint32{'a': 3, 'b': 1, 'c': 1, 0: 1}
	for b, n := range h {
		if n != want[byte(b)] {
			t.Errorf("hist[%q] = %d, want %d", byte(b), n, want[byte(b)])
		}
	}
}

func TestBatchChecksumByHand(t *testing.T) {
	// CRC-32C check values: "123456789" -> 0xE3069283 (the standard check
	// value of the Castagnoli CRC), "a" -> 0xC1D04330; an empty record
	// gives ~0xFFFFFFFF = 0.
	if got := BatchChecksum([]byte("123456789"), 1, 9); got[0] != 0xE3069283 {
		t.Errorf("crc32c(123456789) = %#x, want 0xE3069283", got[0])
	}
	if got := BatchChecksum([]byte("aaa"), 3, 1); !slices.Equal(got, []uint32{0xC1D04330, 0xC1D04330, 0xC1D04330}) {
		t.Errorf("crc32c(a) x3 = %#x", got)
	}
	if got := BatchChecksum(nil, 2, 0); !slices.Equal(got, []uint32{0, 0}) {
		t.Errorf("empty records: %#x", got)
	}
}

func TestBMinByHand(t *testing.T) {
	for _, c := range []struct{ rp, rc, want, period int }{
		{2, 3, 4, 6},     // 2 + 3 - 1
		{4, 6, 8, 12},    // 4 + 6 - 2
		{1, 1, 1, 1},     // 1 + 1 - 1
		{16, 16, 16, 16}, // 16 + 16 - 16
		{16, 15, 30, 240},
		{3, 9, 9, 9}, // 3 + 9 - 3
	} {
		if got := BMin(c.rp, c.rc); got != c.want {
			t.Errorf("BMin(%d, %d) = %d, want %d", c.rp, c.rc, got, c.want)
		}
		if got := RingPeriod(c.rp, c.rc); got != c.period {
			t.Errorf("RingPeriod(%d, %d) = %d, want %d", c.rp, c.rc, got, c.period)
		}
	}
}

func TestWarpRingByHand(t *testing.T) {
	for _, c := range []struct {
		name                string
		capacity, rp, rc, n int
		want                RingOutcome
	}{
		// rp 2, rc 3, C = BMin = 4, total 6 (one period). Counts:
		// 0 -P-> 2 -P-> 4 -C-> 1 -P-> 3 -C-> 0: 5 steps, 6 consumed.
		{"bmin", 4, 2, 3, 6, RingOutcome{RingDone, 5, 6, 0}},
		// C = 3: 0 -P-> 2, then 2 < 3 and 3-2 < 2: stalled after 1 step.
		{"bmin-1", 3, 2, 3, 6, RingOutcome{RingStalled, 1, 0, 2}},
		// rp 4, rc 6, C = 8: 0 -P-> 4 -P-> 8 -C-> 2 -P-> 6 -C-> 0.
		{"bmin 4,6", 8, 4, 6, 12, RingOutcome{RingDone, 5, 12, 0}},
		// C = 7: 0 -P-> 4, then 4 < 6 and 7-4 < 4.
		{"bmin-1 4,6", 7, 4, 6, 12, RingOutcome{RingStalled, 1, 0, 4}},
		// rc 4 does not divide total 6: 0 -P-> 2 -P-> 4 -C-> 0 -P-> 2 -P-> 4 -C-> 0
		// stops with 8 consumed.
		{"overshoot", 4, 2, 4, 6, RingOutcome{RingDone, 6, 8, 0}},
		{"zero total", 4, 2, 3, 0, RingOutcome{RingDone, 0, 0, 0}},
		{"capacity 0", 0, 2, 3, 6, RingOutcome{Result: RingBadParams}},
		{"capacity 65", 65, 2, 3, 6, RingOutcome{Result: RingBadParams}},
		{"rate 17", 64, 17, 3, 6, RingOutcome{Result: RingBadParams}},
	} {
		if got := WarpRing(c.capacity, c.rp, c.rc, c.n); got != c.want {
			t.Errorf("%s: WarpRing(%d, %d, %d, %d) = %+v, want %+v", c.name, c.capacity, c.rp, c.rc, c.n, got, c.want)
		}
	}
}

// TestWarpRingBound checks the schedule reference against the SDF bound
// for every pair of rates the kernel accepts: at BMin it runs two whole
// periods; one slot less, it stalls within the first period.
func TestWarpRingBound(t *testing.T) {
	for rp := 1; rp <= RingMaxRate; rp++ {
		for rc := 1; rc <= RingMaxRate; rc++ {
			b, period := BMin(rp, rc), RingPeriod(rp, rc)
			if o := WarpRing(b, rp, rc, 2*period); o.Result != RingDone || o.Consumed != uint32(2*period) || o.Count != 0 {
				t.Errorf("rp %d rc %d capacity BMin = %d: %+v, want done with %d consumed and an empty ring", rp, rc, b, o, 2*period)
			}
			if b == 1 {
				continue // capacity 0 is rejected, not stalled
			}
			if o := WarpRing(b-1, rp, rc, 2*period); o.Result != RingStalled || o.Consumed >= uint32(period) {
				t.Errorf("rp %d rc %d capacity BMin-1 = %d: %+v, want a stall in the first period", rp, rc, b-1, o)
			}
		}
	}
}

func TestWarpRingBuffers(t *testing.T) {
	const fill = 0xEEEEEEEE
	// Two warps, rp 2, rc 3, C 4, total 6: no stall, out = 0..11.
	out, status := WarpRingBuffers(4, 2, 3, 6, 2, fill)
	if want := []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}; !slices.Equal(out, want) {
		t.Errorf("out = %v, want %v", out, want)
	}
	if want := []uint32{0, 5, 6, 0, 0, 5, 6, 0}; !slices.Equal(status, want) {
		t.Errorf("status = %v, want %v", status, want)
	}
	// C 3 stalls before anything is consumed: out keeps fill.
	out, status = WarpRingBuffers(3, 2, 3, 6, 2, fill)
	for i, v := range out {
		if v != fill {
			t.Fatalf("stalled: out[%d] = %#x, want fill", i, v)
		}
	}
	if want := []uint32{1, 1, 0, 2, 1, 1, 0, 2}; !slices.Equal(status, want) {
		t.Errorf("stalled: status = %v, want %v", status, want)
	}
	// rc 4 overshoots total 6: 8 consumed, 6 stored per warp.
	out, _ = WarpRingBuffers(4, 2, 4, 6, 2, fill)
	if want := []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}; !slices.Equal(out, want) {
		t.Errorf("overshoot: out = %v, want %v", out, want)
	}
}

func TestAsyncPipelineTimelineByHand(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		ntiles, grid, stages int
		latency, work        uint32
		want                 []uint32
		waits, first         int
	}{
		// One stage, L 3, T 2: every copy waits for the previous tile.
		//   i0: issue 0, ready 3, start 3, done 5
		//   i1: issue max(0, done0 5) = 5, ready 8, start max(5, 8) = 8, done 10
		//   i2: issue max(5, done1 10) = 10, ready 13, start 13, done 15
		{"S1", 3, 1, 1, 3, 2, []uint32{3, 3, 8, 8, 13, 13}, 2, 1},
		// Three stages = 1 + ceil(3/2): no wait after the first tile.
		//   i0..i2: issue 0, ready 3; starts 3, 5, 7; dones 5, 7, 9
		//   i3: issue max(0, done0 5) = 5, ready 8, start max(9, 8) = 9, done 11
		//   i4: issue max(5, done1 7) = 7, ready 10, start max(11, 10) = 11
		{"S3", 5, 1, 3, 3, 2, []uint32{3, 3, 3, 5, 3, 7, 8, 9, 10, 11}, 0, -1},
		// Two stages, one too few: tiles 2 and 4 wait.
		//   i0: 3, 3 (done 5); i1: 3, 5 (done 7)
		//   i2: issue 5, ready 8, start max(7, 8) = 8 (wait), done 10
		//   i3: issue max(5, 7) = 7, ready 10, start max(10, 10) = 10, done 12
		//   i4: issue max(7, done2 10) = 10, ready 13, start max(12, 13) = 13 (wait)
		{"S2", 5, 1, 2, 3, 2, []uint32{3, 3, 3, 5, 8, 8, 10, 10, 13, 13}, 2, 2},
		// Two blocks: tiles 0 and 1 are each block's first, tile 2 block
		// 0's second (S1's i0, i0, i1).
		{"grid2", 3, 2, 1, 3, 2, []uint32{3, 3, 3, 3, 8, 8}, -1, -1},
		// Latency 0: every tile is ready at its issue.
		//   i0: 0, 0 (done 4); i1: issue max(0, done0 4) = 4, ready 4, start 4
		{"L0", 2, 1, 1, 0, 4, []uint32{0, 0, 4, 4}, 0, -1},
	} {
		got := AsyncPipelineTimeline(tc.ntiles, tc.grid, tc.stages, tc.latency, tc.work)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: timeline %v, want %v", tc.name, got, tc.want)
		}
		if tc.grid != 1 {
			continue
		}
		if w, f := PipelineWaits(got, tc.work); w != tc.waits || f != tc.first {
			t.Errorf("%s: PipelineWaits = %d, first %d; want %d, first %d", tc.name, w, f, tc.waits, tc.first)
		}
	}
}

func TestPipelineSMinByHand(t *testing.T) {
	for _, tc := range []struct {
		latency, work uint32
		want          int
	}{
		{0, 1, 1},   // a copy that lands at once needs no second stage
		{1, 1, 2},   // 1 + ceil(1/1)
		{3, 2, 3},   // 1 + ceil(1.5)
		{4, 2, 3},   // 1 + 2
		{5, 2, 4},   // 1 + ceil(2.5)
		{7, 1, 8},   // 1 + 7
		{1, 100, 2}, // any latency at all needs a second stage
		{0xffffffff, 0xffffffff, 2},
	} {
		if got := PipelineSMin(tc.latency, tc.work); got != tc.want {
			t.Errorf("PipelineSMin(%d, %d) = %d, want %d", tc.latency, tc.work, got, tc.want)
		}
	}
}

// TestPipelineSMinIsTheBound checks the bound against the recurrence for
// every small L and T: at PipelineSMin stages no tile after the first
// waits, and with one stage fewer some tile does.
func TestPipelineSMinIsTheBound(t *testing.T) {
	for l := uint32(0); l <= 20; l++ {
		for w := uint32(1); w <= 6; w++ {
			s := PipelineSMin(l, w)
			n := 4*s + 4
			if waits, first := PipelineWaits(AsyncPipelineTimeline(n, 1, s, l, w), w); waits != 0 {
				t.Errorf("L %d, T %d: %d stages wait %d times, first at tile %d", l, w, s, waits, first)
			}
			if s == 1 {
				continue
			}
			if waits, _ := PipelineWaits(AsyncPipelineTimeline(n, 1, s-1, l, w), w); waits == 0 {
				t.Errorf("L %d, T %d: %d stages never wait", l, w, s-1)
			}
		}
	}
}
