package kafka

import "testing"

// TestActiveRates: rates count the window from the first record in to the
// last result out, not a wait before or after it; while results are owed
// the window runs to now. Values by hand: 1000 records over 0.5 s is
// 2000/s.
func TestActiveRates(t *testing.T) {
	const ms = int64(1e6)
	for _, c := range []struct {
		in, out          uint64
		first, last, now int64
		wantIn, wantOut  float64
	}{
		{0, 0, 0, 0, 3000 * ms, 0, 0},                                // nothing yet
		{1000, 1000, 1 + 500*ms, 1 + 1000*ms, 3000 * ms, 2000, 2000}, // idle 2 s after: not counted
		{1000, 500, 1 + 500*ms, 1 + 1000*ms, 1 + 1500*ms, 1000, 500}, // results owed: to now
		{10, 10, 1, 1, 1 + 100*ms, 100, 100},                         // one instant: to now
	} {
		in, out := activeRates(c.in, c.out, c.first, c.last, c.now)
		if in != c.wantIn || out != c.wantOut {
			t.Errorf("activeRates(%d, %d, %d, %d, %d) = %v, %v; want %v, %v", c.in, c.out, c.first, c.last, c.now, in, out, c.wantIn, c.wantOut)
		}
	}
}
