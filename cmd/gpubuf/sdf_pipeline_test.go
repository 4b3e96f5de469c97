package main

import (
	"strings"
	"testing"
)

// sdfPipelineRow returns the fields of the table row for s stages.
func sdfPipelineRow(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 5 && f[0] == s {
			return strings.Join(f, " ")
		}
	}
	return ""
}

// TestSdfPipelineProvesSMin: L 5, T 2, 20 tiles (the default 4*4+4),
// worked out by hand from the recurrence (issue(i) = max(issue(i-1),
// done(i-S)), ready = issue + L, start = max(done(i-1), ready), done =
// start + T):
//
//	S 1: every tile is issued when the previous is done and waits L = 5:
//	     19 waits, 95 ticks idle.
//	S 2: i0 ready 5 start 5 done 7; i1 ready 5 start 7 done 9;
//	     i2 issue 7 ready 12 start 12 (3 idle) done 14;
//	     i3 issue 9 ready 14 start 14 done 16;
//	     i4 issue 14 ready 19 start 19 (3 idle): every even tile waits 3,
//	     9 waits (tiles 2..18), 27 ticks.
//	S 3: i3 issue done(0) = 7, ready 12, done(2) = 11: 1 idle; then every
//	     third tile: 6 waits (3, 6, ..., 18), 6 ticks.
//	S 4 = 1 + ceil(5/2): no wait.
func TestSdfPipelineProvesSMin(t *testing.T) {
	code, out, errs := runCLI("sdf", "--latency", "5", "--work", "2")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, want 0\n%s%s", code, out, errs)
	}
	if want := "S_min = 1 + ceil(L / T) = 1 + ceil(5 / 2) = 1 + 3 = 4\n"; !strings.HasPrefix(out, want) {
		t.Errorf("output does not start with %q:\n%s", want, out)
	}
	for s, want := range map[string]string{
		"1": "1 20 19 tile 1 95",
		"2": "2 20 9 tile 2 27",
		"3": "3 20 6 tile 3 6",
		"4": "4 20 0 - 0",
	} {
		if got := sdfPipelineRow(out, s); got != want {
			t.Errorf("%s stages: row %q, want %q:\n%s", s, got, want, out)
		}
	}
	if want := "4 stages never make the consumer wait after the first tile, 3 stages do (first at tile 3)"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

func TestSdfPipelineEdges(t *testing.T) {
	// L 0: one stage suffices, and there is no smaller count to run.
	code, out, _ := runCLI("sdf", "--latency", "0", "--work", "3")
	if code != exitOK || !strings.Contains(out, "1 + ceil(0 / 3) = 1 + 0 = 1\n") || sdfPipelineRow(out, "1") != "1 8 0 - 0" {
		t.Errorf("L 0: exit %d:\n%s", code, out)
	}
	// L 14, T 2: S_min 8, the kernel's largest stage count.
	code, out, _ = runCLI("sdf", "--latency", "14", "--work", "2")
	if code != exitOK || !strings.Contains(out, "= 1 + 7 = 8\n") || !strings.Contains(out, "7 stages do (first at tile 7)") {
		t.Errorf("L 14, T 2: exit %d:\n%s", code, out)
	}
	// L 15, T 2: S_min 9, past it: not proved.
	code, out, _ = runCLI("sdf", "--latency", "15", "--work", "2")
	if code != exitFail || !strings.Contains(out, "not proved: S_min = 9 is past async_pipeline's largest stage count 8") {
		t.Errorf("L 15, T 2: exit %d:\n%s", code, out)
	}
	// 4 tiles never reach tile 4, the first to reuse a stage of 4.
	code, out, _ = runCLI("sdf", "--latency", "5", "--work", "2", "--tiles", "4")
	if code != exitFail || !strings.Contains(out, "not proved: 4 tiles run, too few to reach tile 4") || strings.Contains(out, "proved on the emulator") {
		t.Errorf("4 tiles: exit %d:\n%s", code, out)
	}
}

func TestSdfPipelineBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--latency", "5"}, "gpubuf sdf: --work is required with --latency"},
		{[]string{"--work", "2"}, "gpubuf sdf: --latency is required with --work"},
		{[]string{"--latency", "-1", "--work", "2"}, "gpubuf sdf: --latency -1: must be 0..65536"},
		{[]string{"--latency", "5", "--work", "0"}, "gpubuf sdf: --work 0: must be 1..4096"},
		{[]string{"--latency", "5", "--work", "2", "--tiles", "0"}, "gpubuf sdf: --tiles 0: must be 1..4096"},
		{[]string{"--latency", "5", "--work", "2", "--tiles", "4097"}, "gpubuf sdf: --tiles 4097: must be 1..4096"},
		{[]string{"--latency", "5", "--work", "2", "--rp", "3"}, "gpubuf sdf: --rp is the ring's"},
		{[]string{"--rc", "3", "--tiles", "9"}, "gpubuf sdf: --rc is the ring's"},
	} {
		args := append([]string{"sdf"}, tc.args...)
		code, out, errs := runCLI(args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.msg) {
			t.Errorf("gpubuf %q: exit %d, stdout %q, stderr %q; want 2 and one line with %q", args, code, out, errs, tc.msg)
		}
	}
}
