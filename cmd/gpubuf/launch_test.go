package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/kernels"
)

// handoffArgs are lane_handoff's arguments for 1024 words in 2 warps.
var handoffArgs = []string{"--grid", "1", "--block", "64", "--arg", "buf:4096:iota", "--arg", "buf:4096", "--arg", "u32:1024"}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func iotaWords(n int) []uint32 {
	w := make([]uint32, n)
	for i := range w {
		w[i] = uint32(i)
	}
	return w
}

func TestLaunchEmbeddedKernel(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.bin")
	code, stdout, stderr := runCLI(cat([]string{"launch", "--kernel", "lane_handoff"}, handoffArgs, []string{"--out", "1=" + out})...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	want := kernels.WordBytes(kernels.LaneHandoff(iotaWords(1024)))
	if got := readFile(t, out); !bytes.Equal(got, want) {
		t.Errorf("out differs from kernels.LaneHandoff: %d bytes, want %d; first words %v, want %v",
			len(got), len(want), kernels.Words(got)[:4], kernels.Words(want)[:4])
	}
	// The summary goes to stderr; stdout is the kernel's, which prints
	// nothing.
	for _, frag := range []string{"lane_handoff", "grid (1,1,1)", "block (64,1,1)", "lane-instructions"} {
		if !strings.Contains(stderr, frag) {
			t.Errorf("summary lacks %q: %s", frag, stderr)
		}
	}
	if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
		t.Errorf("summary is %d lines, want 1: %s", n+1, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout has %q; the kernel prints nothing", stdout)
	}
}

// TestLaunchFills runs lane_handoff on rand= and file= inputs and checks the
// output against the Go reference of the same input words.
func TestLaunchFills(t *testing.T) {
	dir := t.TempDir()
	// 2000 bytes of input: 500 words, zero-padded to the 4096-byte buffer.
	in := make([]byte, 2000)
	for i := range in {
		in[i] = byte(i*7 + 3)
	}
	inPath := filepath.Join(dir, "in.bin")
	if err := os.WriteFile(inPath, in, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.bin")
	code, _, stderr := runCLI("launch", "--kernel", "lane_handoff", "--grid", "1", "--block", "64",
		"--arg", "buf:4k:file="+inPath, "--arg", "buf:4k", "--arg", "u32:1024", "--out", "1="+out)
	if code != exitOK {
		t.Fatalf("file fill: exit %d: %s", code, stderr)
	}
	words := kernels.Words(append(in, make([]byte, 4096-len(in))...))
	if got, want := readFile(t, out), kernels.WordBytes(kernels.LaneHandoff(words)); !bytes.Equal(got, want) {
		t.Error("file fill: output differs from the reference")
	}

	code, _, stderr = runCLI("launch", "--kernel", "lane_handoff", "--grid", "1", "--block", "64",
		"--arg", "buf:4k:rand=99", "--arg", "buf:4k", "--arg", "u32:1024", "--out", "1="+out)
	if code != exitOK {
		t.Fatalf("rand fill: exit %d: %s", code, stderr)
	}
	r := rand.NewPCG(99, 0)
	rw := make([]uint32, 1024)
	for i := 0; i < len(rw); i += 2 {
		v := r.Uint64()
		rw[i], rw[i+1] = uint32(v), uint32(v>>32)
	}
	if got, want := readFile(t, out), kernels.WordBytes(kernels.LaneHandoff(rw)); !bytes.Equal(got, want) {
		t.Error("rand fill: output differs from the reference")
	}
}

// TestLaunchPTXFile runs the hand-written kernels of testdata/affine.ptx,
// with flags after FILE and before it.
func TestLaunchPTXFile(t *testing.T) {
	dir := t.TempDir()
	const file = "testdata/affine.ptx"

	// affine_u32: out[i] = i*scale + bias for i < n, in 3 blocks of 32.
	// The buffer has room for 100 words; the kernel writes 90.
	out := filepath.Join(dir, "u32.bin")
	code, stdout, stderr := runCLI("launch", file, "--kernel", "affine_u32", "--grid", "3", "--block", "32",
		"--arg", "buf:400", "--arg", "u32:3", "--arg", "u32:0x10", "--arg", "u32:90", "--out", "0="+out)
	if code != exitOK {
		t.Fatalf("affine_u32: exit %d\n%s\n%s", code, stdout, stderr)
	}
	got := kernels.Words(readFile(t, out))
	for i, v := range got {
		want := uint32(0)
		if i < 90 {
			want = uint32(i*3 + 16)
		}
		if v != want {
			t.Fatalf("affine_u32 out[%d] = %d, want %d", i, v, want)
		}
	}
	if !strings.Contains(stderr, "96 threads") || stdout != "" {
		t.Errorf("summary: %q, stdout %q", stderr, stdout)
	}

	// A wrapping scale, the flags before FILE.
	code, _, stderr = runCLI("launch", "--kernel", "affine_u32", "--grid", "1", "--block", "8",
		"--arg", "buf:32", "--arg", "u32:0x80000001", "--arg", "i32:-1", "--arg", "u32:8", "--out", "0="+out, file)
	if code != exitOK {
		t.Fatalf("affine_u32, flags first: exit %d: %s", code, stderr)
	}
	// i*(2^31+1) - 1 mod 2^32: 0xffffffff, 0x80000000, 0x00000001, 0x80000002, ...
	wantWrap := []uint32{0xffffffff, 0x80000000, 0x00000001, 0x80000002, 0x00000003, 0x80000004, 0x00000005, 0x80000006}
	if got := kernels.Words(readFile(t, out)); !equalWords(got, wantWrap) {
		t.Errorf("affine_u32 wrapping = %#x, want %#x", got, wantWrap)
	}

	// affine_f32: float(i)*1.5 - 3.25, the flags on both sides of FILE.
	code, _, stderr = runCLI("launch", "--grid", "2", "--block", "32", file, "--kernel", "affine_f32",
		"--arg", "buf:256", "--arg", "f32:1.5", "--arg", "f32:-3.25", "--arg", "u32:60", "--out", "0="+out)
	if code != exitOK {
		t.Fatalf("affine_f32: exit %d: %s", code, stderr)
	}
	b := readFile(t, out)
	if len(b) != 256 {
		t.Fatalf("affine_f32 out is %d bytes", len(b))
	}
	for i := range 64 {
		f := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		want := float32(0)
		if i < 60 {
			want = float32(i)*1.5 - 3.25 // exact in float32 for these i
		}
		if f != want {
			t.Fatalf("affine_f32 out[%d] = %v, want %v", i, f, want)
		}
	}
	// Spot checks computed by hand.
	for i, want := range map[int]float32{0: -3.25, 1: -1.75, 3: 1.25, 59: 85.25} {
		if f := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])); f != want {
			t.Errorf("affine_f32 out[%d] = %v, want %v", i, f, want)
		}
	}

	// affine_u64: 64-bit scalars, 2 blocks of 32, 8-byte elements.
	code, _, stderr = runCLI("launch", file, "--kernel", "affine_u64", "--grid", "2", "--block", "32",
		"--arg", "buf:512", "--arg", "u64:0x100000001", "--arg", "i64:-2", "--arg", "u32:64", "--out", "0="+out)
	if code != exitOK {
		t.Fatalf("affine_u64: exit %d: %s", code, stderr)
	}
	b = readFile(t, out)
	for i := range 64 {
		want := uint64(i)<<32 + uint64(i) - 2
		if got := binary.LittleEndian.Uint64(b[8*i:]); got != want {
			t.Fatalf("affine_u64 out[%d] = %#x, want %#x", i, got, want)
		}
	}
	// By hand: out[0] = -2, out[1] = 2^32+1-2, out[2] = 2^33+2-2.
	for i, want := range []uint64{0xffff_ffff_ffff_fffe, 0xffff_ffff, 0x2_0000_0000} {
		if got := binary.LittleEndian.Uint64(b[8*i:]); got != want {
			t.Errorf("affine_u64 out[%d] = %#x, want %#x", i, got, want)
		}
	}

	// A module with several entries needs --kernel; a flag after "--" is
	// a positional argument.
	code, _, stderr = runCLI("launch", "--grid", "1", "--block", "1", file)
	if code != exitUsage || !strings.Contains(stderr, "affine_f32, affine_u32, affine_u64") {
		t.Errorf("no --kernel: exit %d: %s", code, stderr)
	}
	code, _, stderr = runCLI("launch", "--kernel", "affine_u32", "--grid", "1", "--block", "1", "--", file, "--json")
	if code != exitUsage || !strings.Contains(stderr, `unexpected argument "--json"`) {
		t.Errorf("after --: exit %d: %s", code, stderr)
	}
}

func equalWords(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLaunchJSONAndTrace(t *testing.T) {
	dir := t.TempDir()
	out, trace := filepath.Join(dir, "out.bin"), filepath.Join(dir, "trace.json")
	code, stdout, stderr := runCLI(cat([]string{"launch", "--json", "--kernel", "lane_handoff", "--trace", trace, "--out", "1=" + out}, handoffArgs)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var j struct {
		Kernel           string
		Block            cpuemu.Dim3
		Threads          int64
		LaneInstructions int64 `json:"lane_instructions"`
		Outputs          []struct {
			Arg   int
			Path  string
			Bytes int
		}
		Error *struct{ Type string }
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, stdout)
	}
	if j.Kernel != "lane_handoff" || j.Threads != 64 || j.Block.X != 64 || j.LaneInstructions <= 0 || j.Error != nil {
		t.Errorf("json = %+v", j)
	}
	if len(j.Outputs) != 1 || j.Outputs[0].Arg != 1 || j.Outputs[0].Bytes != 4096 || j.Outputs[0].Path != out {
		t.Errorf("json outputs = %+v", j.Outputs)
	}

	var tr struct {
		Kernel    string
		Truncated *bool
		Events    []cpuemu.TraceEvent
	}
	if err := json.Unmarshal(readFile(t, trace), &tr); err != nil {
		t.Fatalf("trace does not parse: %v", err)
	}
	if tr.Kernel != "lane_handoff" || tr.Truncated == nil {
		t.Errorf("trace header: kernel %q truncated %v", tr.Kernel, tr.Truncated)
	}
	if len(tr.Events) == 0 {
		t.Error("trace has no events")
	}
	for i := 1; i < len(tr.Events); i++ {
		if tr.Events[i].Step < tr.Events[i-1].Step {
			t.Fatalf("trace steps go backwards at event %d", i)
		}
	}
	lanes := map[int]bool{}
	for _, e := range tr.Events {
		lanes[e.Warp*32+e.Lane] = true
	}
	if len(lanes) != 64 {
		t.Errorf("trace covers %d lanes, want 64", len(lanes))
	}
	if tr.Truncated == nil || *tr.Truncated {
		t.Errorf("a full trace says truncated %v", tr.Truncated)
	}

	// --trace-limit keeps the first N events and says so.
	if code, _, stderr := runCLI(cat([]string{"launch", "--kernel", "lane_handoff", "--trace", trace, "--trace-limit", "100"}, handoffArgs)...); code != exitOK {
		t.Fatalf("--trace-limit 100: exit %d\n%s", code, stderr)
	}
	tr.Events, tr.Truncated = nil, nil
	if err := json.Unmarshal(readFile(t, trace), &tr); err != nil {
		t.Fatal(err)
	}
	if len(tr.Events) != 100 || tr.Truncated == nil || !*tr.Truncated {
		t.Errorf("--trace-limit 100: %d events, truncated %v", len(tr.Events), tr.Truncated)
	}

	// A failing launch gives a JSON error.
	code, stdout, _ = runCLI("launch", "--json", "--kernel", "divergent_syncwarp", "--grid", "1", "--block", "32", "--arg", "buf:128")
	if code != exitFail {
		t.Errorf("divergent_syncwarp: exit %d, want %d", code, exitFail)
	}
	j.Error = nil
	if err := json.Unmarshal([]byte(stdout), &j); err != nil || j.Error == nil || j.Error.Type != "deadlock" {
		t.Errorf("divergent_syncwarp json: %v, error %+v\n%s", err, j.Error, stdout)
	}
}

func TestLaunchBadInput(t *testing.T) {
	dir := t.TempDir()
	h := []string{"--kernel", "lane_handoff", "--grid", "1", "--block", "64"}
	three := []string{"--arg", "buf:4096", "--arg", "buf:4096", "--arg", "u32:1024"}
	for _, c := range []struct {
		args []string
		frag string
	}{
		{cat(h, []string{"--arg", "buf:4096", "--arg", "buf:4096"}), "missing parameter 2 (lane_handoff_param_2 .u32, 4 bytes)"},
		{cat(h, three, []string{"--arg", "u32:1"}), `--arg "u32:1" has no parameter`},
		{cat(h, []string{"--arg", "buf:4096", "--arg", "buf:4096", "--arg", "buf:4096"}), "parameter 2 (lane_handoff_param_2 .u32, 4 bytes)"},
		{cat(h, []string{"--arg", "buf:4096", "--arg", "buf:4096", "--arg", "f32:1"}), "a 4-byte float"},
		{cat(h, []string{"--arg", "i32:1", "--arg", "buf:4096", "--arg", "u32:1"}), "parameter 0 (lane_handoff_param_0 .u64, 8 bytes)"},
		{cat(h, []string{"--arg", "buf:4096", "--arg", "buf:4096", "--arg", "i64:1"}), "an 8-byte integer"},
		{cat(h, []string{"--arg", "buf:4096", "--arg", "buf:4096", "--arg", "u32:4294967296"}), "out of range"},
		{cat(h, []string{"--arg", "buf:4096:file=" + filepath.Join(dir, "nope.bin"), "--arg", "buf:4096", "--arg", "u32:1"}), "nope.bin"},
		{cat([]string{"--kernel", "lane_handoff", "--grid", "0", "--block", "64"}, three), `--grid "0"`},
		{cat([]string{"--kernel", "lane_handoff", "--grid", "1", "--block", "2,0"}, three), `--block "2,0"`},
		{cat([]string{"--kernel", "lane_handoff", "--grid", "1", "--block", "2048"}, three), "2048 threads"},
		{cat([]string{"--kernel", "lane_handoff", "--block", "64"}, three), "--grid is required"},
		{cat([]string{"--kernel", "lane_handoff", "--grid", "1"}, three), "--block is required"},
		{cat([]string{"--kernel", "no_such_kernel", "--grid", "1", "--block", "64"}, three), "lane_handoff_nosync"},
		{cat([]string{"testdata/affine.ptx", "--kernel", "no_such_kernel", "--grid", "1", "--block", "64"}, three), "affine_f32, affine_u32, affine_u64"},
		{cat([]string{filepath.Join(dir, "missing.ptx"), "--kernel", "k", "--grid", "1", "--block", "64"}, three), "missing.ptx"},
		{cat([]string{"testdata/affine.ptx", "other.ptx", "--kernel", "k", "--grid", "1", "--block", "64"}), `unexpected argument "other.ptx"`},
		{[]string{"--grid", "1", "--block", "1"}, "--kernel NAME"},
		{cat(h, three, []string{"--out", "2=" + filepath.Join(dir, "x")}), `argument 2 is "u32:1024", not a buffer`},
		{cat(h, three, []string{"--out", "3=" + filepath.Join(dir, "x")}), "there is no argument 3"},
		{cat(h, three, []string{"--out", "x"}), `--out "x": want N=PATH`},
		{cat(h, three, []string{"--out", "-1=y"}), "want N=PATH"},
		{cat(h, three, []string{"--out", "1=" + filepath.Join(dir, "no", "such", "dir")}), "cannot write"},
		{cat(h, three, []string{"--out", "1=" + dir}), "cannot write"},
		{cat(h, three, []string{"--trace", filepath.Join(dir, "no", "t.json")}), "--trace"},
		{cat(h, three, []string{"--scheduler", "fastest"}), "--scheduler"},
		{cat(h, three, []string{"--shared", "1M"}), "--shared 1M"},
		{cat(h, three, []string{"--max-instructions", "-1"}), "--max-instructions"},
		{cat(h, three, []string{"--workers", "-1"}), "--workers -1: want 0 (one per CPU) to 1024"},
		{cat(h, three, []string{"--workers", "1025"}), "--workers 1025"},
		{cat(h, three, []string{"--trace-limit", "0"}), "--trace-limit 0"},
		{cat(h, three, []string{"--trace-limit", "2097153"}), "--trace-limit 2097153: want 1..2097152"},
		{cat(h, three, []string{"--bogus"}), "bogus"},
	} {
		for _, cmd := range []string{"launch", "race"} {
			code, stdout, stderr := runCLI(append([]string{cmd}, c.args...)...)
			if code != exitUsage {
				t.Errorf("gpubuf %s %q: exit %d, want %d\n%s%s", cmd, c.args, code, exitUsage, stdout, stderr)
				continue
			}
			if !strings.Contains(stderr, c.frag) {
				t.Errorf("gpubuf %s %q: stderr lacks %q:\n%s", cmd, c.args, c.frag, stderr)
			}
		}
	}
	// Failed --out checks leave no stray files behind.
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a rejected command left its --out file")
	}
	for _, n := range []string{"-1", "1048577", "1000000000000"} {
		if code, _, stderr := runCLI("race", "--seeds", n, "--kernel", "lane_handoff", "--grid", "1", "--block", "64"); code != exitUsage || !strings.Contains(stderr, "--seeds "+n+": want 0..1048576") {
			t.Errorf("--seeds %s: exit %d: %s", n, code, stderr)
		}
	}
	if code, _, stderr := runCLI("launch", "-h"); code != exitOK || !strings.Contains(stderr, "buf:BYTES") {
		t.Errorf("launch -h: exit %d: %s", code, stderr)
	}
}

func TestLaunchKernelFailure(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.bin")
	// The input buffer holds 16 words; the kernel reads 1024.
	code, stdout, stderr := runCLI("launch", "--kernel", "lane_handoff", "--grid", "1", "--block", "64",
		"--arg", "buf:64:iota", "--arg", "buf:4096", "--arg", "u32:1024", "--out", "1="+out)
	if code != exitFail {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFail, stdout, stderr)
	}
	if !strings.Contains(stderr, "out of bounds") {
		t.Errorf("stderr lacks the fault: %s", stderr)
	}
	if b := readFile(t, out); len(b) != 4096 {
		t.Errorf("--out of a faulting launch wrote %d bytes, want the buffer's 4096", len(b))
	}
	// A deadlock and an instruction limit fail too.
	if code, _, stderr := runCLI("launch", "--kernel", "divergent_syncwarp", "--grid", "1", "--block", "32", "--arg", "buf:128"); code != exitFail || !strings.Contains(stderr, "deadlock") {
		t.Errorf("divergent_syncwarp: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(cat([]string{"launch", "--kernel", "lane_handoff", "--max-instructions", "100"}, handoffArgs)...); code != exitFail || !strings.Contains(stderr, "limit") {
		t.Errorf("--max-instructions 100: exit %d: %s", code, stderr)
	}
}

func TestRaceCleanKernel(t *testing.T) {
	code, stdout, stderr := runCLI(cat([]string{"race", "--kernel", "lane_handoff"}, handoffArgs)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "RACECHECK SUMMARY: 0 hazards") || stdout != "" {
		t.Errorf("report lacks a 0-hazard summary on stderr:\n%s\nstdout: %q", stderr, stdout)
	}
	if strings.Contains(stderr, "reproduced") {
		t.Errorf("a clean report went on to a schedule search:\n%s", stderr)
	}
}

func TestRaceRacyKernel(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(cat([]string{"race", "--kernel", "lane_handoff_nosync"}, handoffArgs)...)
	if code != exitFail {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFail, stdout, stderr)
	}
	if !strings.Contains(stderr, "Race reported") || strings.Contains(stderr, "RACECHECK SUMMARY: 0 hazards") || stdout != "" {
		t.Errorf("report shows no hazard on stderr:\n%s\nstdout: %q", stderr, stdout)
	}
	if !strings.Contains(stderr, "reproduced: output differs from lockstep under") &&
		!strings.Contains(stderr, "found by the checker, no differing output in") {
		t.Errorf("no reproduction line:\n%s", stderr)
	}

	// --json parses, and its replay command, run, gives an output that
	// differs from the lockstep run's.
	code, stdout, stderr = runCLI(cat([]string{"race", "--json", "--kernel", "lane_handoff_nosync", "--seeds", "8"}, handoffArgs)...)
	if code != exitFail {
		t.Fatalf("--json: exit %d\n%s", code, stderr)
	}
	var j struct {
		Report *struct {
			Kernel  string
			Clean   bool
			Hazards []struct {
				Type  string
				Space string
				Count int
			}
		}
		Reproduction *struct {
			Searched   bool
			Reproduced bool
			Schedule   string
			Replay     string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, stdout)
	}
	if j.Report == nil || j.Report.Kernel != "lane_handoff_nosync" || j.Report.Clean || len(j.Report.Hazards) == 0 {
		t.Fatalf("json report = %+v", j.Report)
	}
	if h := j.Report.Hazards[0]; h.Space != "shared" || h.Count <= 0 {
		t.Errorf("hazard = %+v", h)
	}
	r := j.Reproduction
	if r == nil || !r.Searched {
		t.Fatalf("json reproduction = %+v", r)
	}
	if !r.Reproduced {
		// The adversarial scheduler alone breaks this twin's handoff.
		t.Fatalf("no schedule reproduced lane_handoff_nosync's race: %+v", r)
	}
	fields := strings.Fields(r.Replay)
	if len(fields) < 3 || fields[0] != "gpubuf" || fields[1] != "launch" || !strings.Contains(r.Replay, "--scheduler") {
		t.Fatalf("replay command = %q", r.Replay)
	}
	lock, replay := filepath.Join(dir, "lockstep.bin"), filepath.Join(dir, "replay.bin")
	if code, _, stderr := runCLI(cat([]string{"launch", "--kernel", "lane_handoff_nosync", "--out", "1=" + lock}, handoffArgs)...); code != exitOK {
		t.Fatalf("lockstep launch: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(append(fields[1:], "--out", "1="+replay)...); code != exitOK {
		t.Fatalf("replay %q: exit %d: %s", r.Replay, code, stderr)
	}
	if bytes.Equal(readFile(t, lock), readFile(t, replay)) {
		t.Errorf("replay under %s gives the lockstep output", r.Schedule)
	}
	// The correct kernel gives the reference under that schedule.
	if slices.Index(fields, "--scheduler") < 0 {
		t.Fatalf("replay %q has no --scheduler", r.Replay)
	}
	sched := fields[slices.Index(fields, "--scheduler"):]
	if code, _, stderr := runCLI(cat([]string{"launch", "--kernel", "lane_handoff", "--out", "1=" + replay}, handoffArgs, sched)...); code != exitOK {
		t.Fatalf("lane_handoff under %s: exit %d: %s", r.Schedule, code, stderr)
	}
	if !bytes.Equal(readFile(t, replay), kernels.WordBytes(kernels.LaneHandoff(iotaWords(1024)))) {
		t.Errorf("lane_handoff under %s differs from the reference", r.Schedule)
	}
}

func TestRaceFatal(t *testing.T) {
	code, stdout, stderr := runCLI("race", "--kernel", "divergent_syncwarp", "--grid", "1", "--block", "32", "--arg", "buf:128")
	if code != exitFail || !strings.Contains(stderr, "deadlock") || stdout != "" {
		t.Errorf("divergent_syncwarp: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI("race", "--json", "--kernel", "divergent_syncwarp", "--grid", "1", "--block", "32", "--arg", "buf:128")
	var j struct {
		Report struct {
			Fatal *struct{ Type string }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil || code != exitFail || j.Report.Fatal == nil || j.Report.Fatal.Type != "deadlock" {
		t.Errorf("--json: exit %d, %v, %+v\n%s", code, err, j.Report.Fatal, stdout)
	}
}

// TestEncodeTrace: the trace file, written an event at a time, is what
// encoding/json's Encoder writes for the whole value at once.
func TestEncodeTrace(t *testing.T) {
	m, err := cpuemu.LoadKernel("lane_handoff")
	if err != nil {
		t.Fatal(err)
	}
	dev := cpuemu.NewDevice()
	in, _ := dev.Alloc(4 * 64)
	out, _ := dev.Alloc(4 * 64)
	res, err := m.Launch(dev, "lane_handoff", cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 1, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 64, Y: 1, Z: 1}, Trace: true, TraceLimit: 500}, in, out, uint32(64))
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []traceJSON{
		{Kernel: res.Kernel, Truncated: res.TraceTruncated, Events: res.Trace},
		{Kernel: `k<"&>`, Truncated: true, Events: res.Trace[:1]},
		{Kernel: "empty", Events: []cpuemu.TraceEvent{}},
	} {
		var want, got bytes.Buffer
		if err := json.NewEncoder(&want).Encode(tr); err != nil {
			t.Fatal(err)
		}
		if err := encodeTrace(&got, tr); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("kernel %q, %d events: encodeTrace wrote\n%.300s\nwant\n%.300s", tr.Kernel, len(tr.Events), got.String(), want.String())
		}
	}
}

// TestLaunchTimeout runs testdata/spin.ptx, which never ends, with a short
// --timeout and an instruction limit out of reach: the wall clock stops
// it, exit 1, with a message that says which limit that was and how to
// raise it.
func TestLaunchTimeout(t *testing.T) {
	spin := []string{"testdata/spin.ptx", "--grid", "1", "--block", "2", "--arg", "buf:4", "--max-instructions", "4611686018427387904"}
	code, stdout, stderr := runCLI(cat([]string{"launch", "--timeout", "50ms"}, spin)...)
	if code != exitFail || !strings.Contains(stderr, "FAILED: timeout") || stdout != "" {
		t.Errorf("launch: exit %d, stdout %q, stderr %q; want exit 1 and FAILED: timeout on stderr", code, stdout, stderr)
	}
	for _, want := range []string{"kernel spin: stopped by the wall-clock timeout of 50ms after ", "that is the wall-clock limit (--timeout: 50ms)", "raise it with --timeout DURATION, or --timeout 0 for none", "--max-instructions is the deterministic limit"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("launch: stderr lacks %q:\n%s", want, stderr)
		}
	}

	var lj struct {
		TimeoutSeconds float64 `json:"timeout_s"`
		Error          *struct{ Type string }
	}
	code, stdout, _ = runCLI(cat([]string{"launch", "--json", "--timeout", "50ms"}, spin)...)
	if err := json.Unmarshal([]byte(stdout), &lj); err != nil || code != exitFail || lj.Error == nil || lj.Error.Type != "timeout" || lj.TimeoutSeconds != 0.05 {
		t.Errorf("launch --json: exit %d, %v, %+v\n%s", code, err, lj, stdout)
	}

	var rj struct {
		Report struct {
			Fatal *struct{ Type string }
		}
		Reproduction   struct{ Searched bool }
		TimeoutSeconds float64 `json:"timeout_s"`
		Error          *struct{ Type string }
	}
	code, stdout, stderr = runCLI(cat([]string{"race", "--json", "--timeout", "50ms"}, spin)...)
	if err := json.Unmarshal([]byte(stdout), &rj); err != nil || code != exitFail || rj.Report.Fatal == nil || rj.Report.Fatal.Type != "timeout" ||
		rj.Reproduction.Searched || rj.Error == nil || rj.Error.Type != "timeout" || rj.TimeoutSeconds != 0.05 {
		t.Errorf("race --json: exit %d, %v, %+v\n%s", code, err, rj, stdout)
	}
	if !strings.Contains(stderr, "that is the wall-clock limit (--timeout: 50ms)") {
		t.Errorf("race: stderr lacks the explanation:\n%s", stderr)
	}

	// The instruction limit, when it comes first, is a limit, not a timeout.
	code, stdout, stderr = runCLI("launch", "testdata/spin.ptx", "--grid", "1", "--block", "2", "--arg", "buf:4", "--max-instructions", "100000", "--timeout", "1h")
	if code != exitFail || !strings.Contains(stderr, "FAILED: limit") || !strings.Contains(stderr, "lane-instructions 100") || strings.Contains(stderr, "wall-clock") {
		t.Errorf("--max-instructions 100000 --timeout 1h: exit %d\n%s%s", code, stdout, stderr)
	}

	// A kernel that ends is unaffected, and the JSON gives the default
	// limit: 10s and 100µs for each of 64 threads, ten times that under
	// the checker.
	for _, c := range []struct {
		cmd  string
		want float64
	}{{"launch", 10.0064}, {"race", 100.064}} {
		var j struct {
			TimeoutSeconds float64 `json:"timeout_s"`
		}
		code, stdout, stderr := runCLI(cat([]string{c.cmd, "--json", "--kernel", "lane_handoff"}, handoffArgs)...)
		if err := json.Unmarshal([]byte(stdout), &j); err != nil || code != exitOK || math.Abs(j.TimeoutSeconds-c.want) > 1e-9 {
			t.Errorf("%s --json: exit %d, %v, timeout_s %v, want %v\n%s", c.cmd, code, err, j.TimeoutSeconds, c.want, stderr)
		}
	}

	for _, bad := range []struct{ v, want string }{{"-1s", "--timeout -1s: must not be negative"}, {"soon", "-timeout"}} {
		code, _, stderr := runCLI(cat([]string{"launch", "--timeout", bad.v}, spin)...)
		if code != exitUsage || !strings.Contains(stderr, bad.want) {
			t.Errorf("--timeout %s: exit %d: %s", bad.v, code, stderr)
		}
	}
}

func TestDefaultTimeout(t *testing.T) {
	for _, c := range []struct {
		threads int64
		checker bool
		want    time.Duration
	}{
		{1, false, 10*time.Second + 100*time.Microsecond},
		{1024, false, 10*time.Second + 102400*time.Microsecond},
		{1024, true, 101*time.Second + 24*time.Millisecond},
		{1 << 20, false, 10*time.Second + 104857600*time.Microsecond},
		{1 << 20, true, 1148576 * time.Millisecond},
		{1 << 23, false, 848860800 * time.Microsecond},
		{1 << 26, false, time.Hour}, // 6721 s, past the ceiling
		{1 << 26, true, time.Hour},
		{1 << 40, false, time.Hour}, // no overflow
	} {
		if got := defaultTimeout(c.threads, c.checker); got != c.want {
			t.Errorf("defaultTimeout(%d, %v) = %v, want %v", c.threads, c.checker, got, c.want)
		}
	}
}

func TestReplayCommandKeepsTimeout(t *testing.T) {
	o := launchOpts{kernel: "k", gridText: "1", blockText: "32", timeout: 90 * time.Second, timeoutSet: true}
	if got := o.replayCommand("--scheduler adversarial"); !strings.Contains(got, " --timeout 1m30s ") {
		t.Errorf("replay command %q lacks --timeout 1m30s", got)
	}
	o.timeoutSet = false
	if got := o.replayCommand(""); strings.Contains(got, "--timeout") {
		t.Errorf("replay command %q has a --timeout that was not given", got)
	}
}

// TestLaunchReportsSpeed: launch and race give the launch's wall-clock
// time and its lane-instructions per second, in the summary and in the
// JSON, where the rate is the lane-instructions over the time.
func TestLaunchReportsSpeed(t *testing.T) {
	durRe := regexp.MustCompile(`(\d+) lane-instructions in ([0-9.]+[µmn]?s) \(([0-9.]+[kMG]?) lane-instr/s\)`)
	for _, cmd := range []string{"launch", "race"} {
		code, _, stderr := runCLI(cat([]string{cmd, "--kernel", "lane_handoff"}, handoffArgs)...)
		m := durRe.FindStringSubmatch(stderr)
		if code != exitOK || m == nil {
			t.Errorf("%s: exit %d, no \"N lane-instructions in T (R lane-instr/s)\" on stderr:\n%s", cmd, code, stderr)
		} else if d, err := time.ParseDuration(m[2]); err != nil || d <= 0 {
			t.Errorf("%s: elapsed %q: %v", cmd, m[2], err)
		}

		code, stdout, stderr := runCLI(cat([]string{cmd, "--json", "--kernel", "lane_handoff"}, handoffArgs)...)
		var j struct {
			LaneInstructions int64    `json:"lane_instructions"`
			ElapsedNs        *int64   `json:"elapsed_ns"`
			LaneInstrPerSec  *float64 `json:"lane_instr_per_s"`
		}
		if err := json.Unmarshal([]byte(stdout), &j); err != nil || code != exitOK {
			t.Fatalf("%s --json: exit %d, %v\n%s%s", cmd, code, err, stdout, stderr)
		}
		if j.ElapsedNs == nil || *j.ElapsedNs <= 0 || j.LaneInstrPerSec == nil || j.LaneInstructions <= 0 {
			t.Fatalf("%s --json: elapsed_ns %v, lane_instr_per_s %v, lane_instructions %d; want all positive", cmd, j.ElapsedNs, j.LaneInstrPerSec, j.LaneInstructions)
		}
		want := float64(j.LaneInstructions) / (float64(*j.ElapsedNs) / 1e9)
		if math.Abs(*j.LaneInstrPerSec-want) > 1e-9*want {
			t.Errorf("%s --json: lane_instr_per_s %v, want lane_instructions/elapsed = %v", cmd, *j.LaneInstrPerSec, want)
		}
	}
}
