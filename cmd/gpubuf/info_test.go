//go:build !cuda

package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// The plain build has the emulator only: info describes it, and asking
// for cuda anywhere is an error that says how to get it.
func TestInfoEmulator(t *testing.T) {
	t.Setenv("GPUBUF_BACKEND", "")
	code, out, errs := runCLI("info")
	if code != exitOK {
		t.Fatalf("info: exit %d\n%s", code, errs)
	}
	for _, want := range []string{"backend             emu", "compute capability  9.0", "warp size           32", "build tags          none"} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI("info", "--json")
	var j infoJSON
	if err := json.Unmarshal([]byte(out), &j); code != exitOK || err != nil {
		t.Fatalf("info --json: exit %d, %v\n%s", code, err, out)
	}
	if j.Backend != "emu" || j.WarpSize != 32 || len(j.BuildTags) != 0 || len(j.Backends) != 1 {
		t.Errorf("info --json = %+v", j)
	}
}

func TestBackendCUDAUnavailable(t *testing.T) {
	h := []string{"--kernel", "lane_handoff", "--grid", "1", "--block", "64", "--arg", "buf:1024:iota", "--arg", "buf:1024", "--arg", "u32:256"}
	for _, c := range []struct {
		env  string
		args []string
		code int
		frag string
	}{
		{"", []string{"info", "--backend", "cuda"}, exitFail, "build with -tags cuda"},
		{"cuda", []string{"info"}, exitFail, "(from GPUBUF_BACKEND)"},
		{"", append([]string{"launch", "--backend", "cuda"}, h...), exitUsage, "build with -tags cuda"},
		{"", append([]string{"race", "--backend", "cuda"}, h...), exitUsage, "emulator only"},
		{"", []string{"demo", "--backend", "cuda"}, exitUsage, "build with -tags cuda"},
	} {
		t.Setenv("GPUBUF_BACKEND", c.env)
		code, _, errs := runCLI(c.args...)
		if code != c.code || !strings.Contains(errs, c.frag) {
			t.Errorf("GPUBUF_BACKEND=%q gpubuf %q: exit %d, stderr %q; want exit %d and %q", c.env, c.args, code, errs, c.code, c.frag)
		}
	}
	// The emulator, asked for by name, runs the launch.
	t.Setenv("GPUBUF_BACKEND", "emu")
	if code, _, errs := runCLI(append([]string{"launch"}, h...)...); code != exitOK {
		t.Errorf("GPUBUF_BACKEND=emu launch: exit %d\n%s", code, errs)
	}
}
