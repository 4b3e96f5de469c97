package main

import (
	"fmt"
	"strings"
	"testing"
)

// sdfRow returns the fields of the table row for capacity c, or nil.
func sdfRow(out string, c int) []string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 5 && f[0] == fmt.Sprint(c) {
			return f
		}
	}
	return nil
}

// TestSdfProvesBMin checks b_min and the stalling side for rate pairs whose
// runs were worked out by hand from the schedule (consumer if the ring holds
// rc, else producer if it has room for rp, else stall).
func TestSdfProvesBMin(t *testing.T) {
	for _, tc := range []struct {
		rp, rc int
		bmin   string // the b_min line's arithmetic
		// The run at capacity b_min-1: steps, consumed, in ring.
		low []string
	}{
		// gcd 1, b_min 7. Capacity 6: P 3, P 6, C 1 (5 consumed), P 4,
		// then no room for 3 and fewer than 5: stalled after 4 steps.
		{3, 5, "3 + 5 - 1 = 7", []string{"6", "stalled", "4", "5", "4"}},
		// gcd 2, b_min 8. Capacity 7: P 4, then room 3 < 4 and 4 < 6.
		{4, 6, "4 + 6 - 2 = 8", []string{"7", "stalled", "1", "0", "4"}},
		// gcd 2, b_min 8. Capacity 7: P 6, C 2 (4 consumed), room 5 < 6.
		{6, 4, "6 + 4 - 2 = 8", []string{"7", "stalled", "2", "4", "2"}},
		// gcd 16, b_min 16. Capacity 15 has no room for one firing of 16.
		{16, 16, "16 + 16 - 16 = 16", []string{"15", "stalled", "0", "0", "0"}},
		// gcd 1, b_min 16. Capacity 15: 15 producer firings of 1, never 16.
		{1, 16, "1 + 16 - 1 = 16", []string{"15", "stalled", "15", "0", "15"}},
		// gcd 1, b_min 30. Capacity 29 is exercised, not worked out here.
		{16, 15, "16 + 15 - 1 = 30", nil},
		// gcd 1, b_min 1. Capacity 0 is not launched.
		{1, 1, "1 + 1 - 1 = 1", []string{"0", "stalled", "-", "-", "-"}},
	} {
		args := []string{"sdf", "--rp", fmt.Sprint(tc.rp), "--rc", fmt.Sprint(tc.rc)}
		code, out, errs := runCLI(args...)
		if code != exitOK {
			t.Errorf("gpubuf %q exited %d, want 0\n%s%s", args, code, out, errs)
			continue
		}
		if want := "b_min = r_p + r_c - gcd(r_p, r_c) = " + tc.bmin + "\n"; !strings.HasPrefix(out, want) {
			t.Errorf("gpubuf %q: output does not start with %q:\n%s", args, want, out)
		}
		bmin := tc.bmin[strings.LastIndex(tc.bmin, " ")+1:]
		var b int
		fmt.Sscan(bmin, &b)
		if row := sdfRow(out, b); row == nil || row[1] != "done" {
			t.Errorf("gpubuf %q: capacity %d row = %q, want done:\n%s", args, b, row, out)
		}
		if row := sdfRow(out, b-1); tc.low != nil && strings.Join(row, " ") != strings.Join(tc.low, " ") {
			t.Errorf("gpubuf %q: capacity %d row = %q, want %q:\n%s", args, b-1, row, tc.low, out)
		}
		if row := sdfRow(out, b-1); row == nil || row[1] != "stalled" {
			t.Errorf("gpubuf %q: capacity %d row = %q, want stalled:\n%s", args, b-1, row, out)
		}
		stall := fmt.Sprintf("capacity %d stalls after ", b-1)
		if b == 1 {
			stall = "capacity 0 stalls by definition"
			if !strings.Contains(out, "capacity 0 cannot hold a single item") || !strings.Contains(out, "not launched") {
				t.Errorf("gpubuf %q: no note that capacity 0 holds nothing and is not launched:\n%s", args, out)
			}
		}
		want := fmt.Sprintf("proved on the emulator (warp_ring, 2 warps): capacity %d never stalls, %s", b, stall)
		if !strings.Contains(out, want) {
			t.Errorf("gpubuf %q: output lacks %q:\n%s", args, want, out)
		}
		if errs != "" {
			t.Errorf("gpubuf %q wrote to stderr: %s", args, errs)
		}
	}
}

// TestSdfOnePeriod runs one period, 15 items, of r_p 3, r_c 5. At capacity
// 7 (counts in the ring): P 3, P 6, C 1, P 4, P 7, C 2, P 5, C 0: 8 steps,
// 15 consumed, none left; 8 steps visit 9 states, more than the 8
// (0..7 items) a ring of 7 has.
func TestSdfOnePeriod(t *testing.T) {
	code, out, errs := runCLI("sdf", "--rp", "3", "--rc", "5", "--total", "15")
	if code != exitOK {
		t.Fatalf("exit %d, want 0\n%s%s", code, out, errs)
	}
	if got, want := strings.Join(sdfRow(out, 7), " "), "7 done 8 15 0"; got != want {
		t.Errorf("capacity 7 row %q, want %q:\n%s", got, want, out)
	}
	if got, want := strings.Join(sdfRow(out, 6), " "), "6 stalled 4 5 4"; got != want {
		t.Errorf("capacity 6 row %q, want %q:\n%s", got, want, out)
	}
	for _, want := range []string{
		"capacity 7: 8 steps without a stall visit 9 ring states, more than the 8 there are (0..7 items)",
		"capacity 6: stalled with 4 items in the ring: no room for 3 more, too few to take 5",
		"each warp was asked for 15 items; the period lcm(r_p, r_c) is 15 items",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestSdfDefaultTotal: without --total each warp consumes
// max(4*lcm, 64, 16*(b_min+1)) items: for 3, 5 that is max(60, 64, 128).
func TestSdfDefaultTotal(t *testing.T) {
	_, out, _ := runCLI("sdf", "--rp", "3", "--rc", "5")
	if want := "each warp was asked for 128 items"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

// TestSdfTooFewItemsFails: with 1 item per warp neither side is shown:
// both capacities take 5 items after P 3, P 6, C (3 steps) and stop.
func TestSdfTooFewItemsFails(t *testing.T) {
	code, out, errs := runCLI("sdf", "--rp", "3", "--rc", "5", "--total", "1")
	if code != exitFail {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitFail, out, errs)
	}
	for _, want := range []string{
		"not proved: capacity 7 ran only 3 steps, fewer than the 8",
		"not proved: capacity 6 did not stall in 3 steps",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "proved on the emulator") {
		t.Errorf("a failed proof claims success:\n%s", out)
	}
}

func TestSdfBadInputExitsTwo(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--rp", "0", "--rc", "3"}, "gpubuf sdf: --rp 0: must be 1..16"},
		{[]string{"--rp", "3", "--rc", "0"}, "gpubuf sdf: --rc 0: must be 1..16"},
		{[]string{"--rp", "-2", "--rc", "3"}, "gpubuf sdf: --rp -2: must be 1..16"},
		{[]string{"--rp", "3", "--rc", "17"}, "gpubuf sdf: --rc 17: must be 1..16"},
		{[]string{"--rp", "99", "--rc", "99"}, "gpubuf sdf: --rp 99: must be 1..16"},
		{[]string{"--rc", "3"}, "gpubuf sdf: --rp is required"},
		{[]string{"--rp", "3"}, "gpubuf sdf: --rc is required"},
		{[]string{}, "gpubuf sdf: --rp is required"},
		{[]string{"--rp", "3", "--rc", "5", "extra"}, `gpubuf sdf: unexpected argument "extra"`},
		{[]string{"--rp", "x", "--rc", "5"}, "-rp"},
		{[]string{"--rp", "3", "--rc", "5", "--total", "0"}, "gpubuf sdf: --total 0: must be 1..65536"},
		{[]string{"--rp", "3", "--rc", "5", "--total", "-5"}, "gpubuf sdf: --total -5: must be 1..65536"},
		{[]string{"--rp", "3", "--rc", "5", "--total", "65537"}, "gpubuf sdf: --total 65537: must be 1..65536"},
		{[]string{"--rp", "3", "--rc", "5", "--capacity", "7"}, "-capacity"},
	} {
		args := append([]string{"sdf"}, tc.args...)
		code, out, errs := runCLI(args...)
		if code != exitUsage {
			t.Errorf("gpubuf %q exited %d, want %d", args, code, exitUsage)
		}
		if strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "gpubuf sdf: ") || !strings.Contains(errs, tc.msg) {
			t.Errorf("gpubuf %q: stderr %q, want one line with %q", args, errs, tc.msg)
		}
		if out != "" {
			t.Errorf("gpubuf %q wrote to stdout: %s", args, out)
		}
	}
}

// TestSdfEveryRatePair proves the bound on the emulator for every pair of
// rates, with b_min worked out here from the greatest common divisor found
// by trial.
func TestSdfEveryRatePair(t *testing.T) {
	if testing.Short() {
		t.Skip("256 pairs of launches")
	}
	for rp := 1; rp <= 16; rp++ {
		for rc := 1; rc <= 16; rc++ {
			g := 1
			for d := 1; d <= min(rp, rc); d++ {
				if rp%d == 0 && rc%d == 0 {
					g = d
				}
			}
			code, out, errs := runCLI("sdf", "--rp", fmt.Sprint(rp), "--rc", fmt.Sprint(rc))
			if code != exitOK {
				t.Errorf("rp %d rc %d: exit %d\n%s%s", rp, rc, code, out, errs)
				continue
			}
			if want := fmt.Sprintf("= %d + %d - %d = %d\n", rp, rc, g, rp+rc-g); !strings.Contains(out, want) {
				t.Errorf("rp %d rc %d: output lacks %q:\n%s", rp, rc, want, out)
			}
		}
	}
}

func TestSdfInUsage(t *testing.T) {
	_, out, _ := runCLI("help")
	if !strings.Contains(out, "\n  sdf ") {
		t.Errorf("usage lacks sdf:\n%s", out)
	}
}
