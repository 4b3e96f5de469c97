package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDemoChecksEveryKernel(t *testing.T) {
	code, out, errs := runCLI("demo", "--seeds", "20")
	if code != exitOK {
		t.Fatalf("demo exited %d\n%s\n%s", code, out, errs)
	}
	for _, k := range kernels.All() {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), k.Name+" ") {
				line = l
			}
		}
		if line == "" {
			t.Errorf("demo output has no row for %s:\n%s", k.Name, out)
			continue
		}
		want, checker := "ok", "clean"
		switch k.Expect {
		case kernels.ExpectRace:
			// The twin's bug is a handoff slot read without a sync:
			// the checker names a hazard on a line of the twin's source.
			want, checker = "race reproduced", "intra-warp kernels/"+k.Source+":"
		case kernels.ExpectDeadlock:
			want, checker = "deadlock, as expected", "deadlock"
		}
		if !strings.Contains(line, want) {
			t.Errorf("row for %s lacks %q: %s", k.Name, want, line)
		}
		if !strings.Contains(line, checker) || strings.Contains(line, "FAIL") {
			t.Errorf("row for %s: race checker column lacks %q: %s", k.Name, checker, line)
		}
	}
	for _, col := range []string{"lanes", "lane-instr", "lane-instr/s"} {
		if !strings.Contains(out, col) {
			t.Errorf("demo table lacks column %q", col)
		}
	}
}

func TestBadUsageExitsTwo(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"demo", "--scheduler", "fastest"},
		{"demo", "--size", "0"},
		{"demo", "--seeds", "-1"},
		{"demo", "--seeds", "1048577"},
		{"demo", "extra"},
		{"demo", "--no-such-flag"},
	} {
		code, _, errs := runCLI(args...)
		if code != exitUsage {
			t.Errorf("gpubuf %q exited %d, want %d", args, code, exitUsage)
		}
		if strings.TrimSpace(errs) == "" {
			t.Errorf("gpubuf %q printed no error", args)
		}
	}
}

func TestKernelsListsTheCatalogue(t *testing.T) {
	code, out, _ := runCLI("kernels")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, k := range kernels.All() {
		if !strings.Contains(out, k.Name+" (") {
			t.Errorf("kernels output lacks %s", k.Name)
		}
	}
}

// TestDemoDevice runs the GPU demo's table on the emulator's device: the
// path a cuda build takes, minus the GPU.
func TestDemoDevice(t *testing.T) {
	dev, err := openDevice("emu", gpu.EmuOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	var out bytes.Buffer
	if code := demoDevice(dev, 1, &out); code != exitOK {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	for _, k := range kernels.All() {
		var row string
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), k.Name+" ") {
				row = l
			}
		}
		want := " ok"
		if k.Expect == kernels.ExpectRace {
			want = "race "
		}
		if row == "" || k.Expect != kernels.ExpectDeadlock && !strings.Contains(row, want) || strings.Contains(row, "FAIL") {
			t.Errorf("row for %s: %q, want %q in it", k.Name, row, want)
		}
	}
}
