package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
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
			// the checker names a hazard on a line of the twin's source,
			// between lanes of a warp, or for the async pipeline's
			// warp-specialised twins, between its warps.
			scope := "intra-warp"
			if k.TwinOf == "async_pipeline" {
				scope = "inter-warp"
			}
			want, checker = "race reproduced", scope+" kernels/"+k.Source+":"
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

// TestKernelsFile lists a module's entries: one that runs, one that reads
// a texture (PTX line 38), which the emulator refuses.
func TestKernelsFile(t *testing.T) {
	code, out, errs := runCLI("kernels", "testdata/mixed.ptx")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"testdata/mixed.ptx: 2 entries, 1 run on the emulator",
		"fill(.u64 fill_param_0, .u32 fill_param_1)\n  runs: ",
		"sample(.u64 sample_param_0)\n  does not run on the emulator: entry sample: ptx line 38: unsupported instruction tex.1d.v4.f32.s32",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI("kernels", "--json", "testdata/mixed.ptx")
	var es []struct {
		Name   string
		Runs   bool
		Params []struct{ Name, Type string }
		Error  *struct{ Type, Message string }
	}
	if err := json.Unmarshal([]byte(out), &es); code != exitOK || err != nil {
		t.Fatalf("--json: exit %d, %v:\n%s", code, err, out)
	}
	if len(es) != 2 || es[0].Name != "fill" || !es[0].Runs || es[0].Error != nil || es[0].Params[1].Type != "u32" ||
		es[1].Name != "sample" || es[1].Runs || es[1].Error == nil || es[1].Error.Type != "unsupported" {
		t.Errorf("--json: %+v", es)
	}
	for _, args := range [][]string{{"kernels", "no/such.ptx"}, {"kernels", "a.ptx", "b.ptx"}, {"kernels", "--json"}} {
		if code, _, errs := runCLI(args...); code != exitUsage || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errs)
		}
	}
}

// TestLaunchEntryThatCannotRun: launching the entry the emulator refuses
// says why, and the module's other entry still launches. The front end
// alone reads the entry, for every backend: its parameters come without
// lowering, so a GPU can launch what the emulator cannot.
func TestLaunchEntryThatCannotRun(t *testing.T) {
	code, _, errs := runCLI("launch", "testdata/mixed.ptx", "--kernel", "sample", "--grid", "1", "--block", "1", "--arg", "buf:4")
	if code != exitUsage || !strings.Contains(errs, "ptx line 38: unsupported instruction tex.1d") || !strings.Contains(errs, "gpubuf kernels testdata/mixed.ptx") {
		t.Errorf("launch sample: exit %d, %s", code, errs)
	}
	out := filepath.Join(t.TempDir(), "out.bin")
	code, _, errs = runCLI("launch", "testdata/mixed.ptx", "--kernel", "fill", "--grid", "1", "--block", "4", "--arg", "buf:16", "--arg", "u32:7", "--out", "0="+out)
	if code != exitOK {
		t.Fatalf("launch fill: exit %d, %s", code, errs)
	}
	if got := readFile(t, out); !bytes.Equal(got, []byte{7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0}) {
		t.Errorf("fill wrote % x", got)
	}
	o := &launchOpts{file: "testdata/mixed.ptx", kernel: "sample"}
	e, err := o.loadEntry()
	if err != nil || e.Name != "sample" || len(e.Params) != 1 || e.Params[0].Type != "u64" {
		t.Errorf("loadEntry: %+v %v", e, err)
	}
}

// TestEveryCommandHelp: -h and --help exit 0 on every command, as Go's
// flag package has a program's do, and print the command's usage (its
// synopsis and a flag it has) on stderr, where the flag package prints it;
// stdout stays empty. Every command of main.go's table has a row.
func TestEveryCommandHelp(t *testing.T) {
	flagOf := map[string]string{ // a flag each command's usage names
		"bench": "-plot", "demo": "-seeds", "info": "-json", "kernels": "-json", "launch": "-grid",
		"race": "-seeds", "run": "-records", "sdf": "-rp", "view": "-tags gl",
		"exec": "--check", "driver-lib": "-out", "driver-serve": "-fd",
	}
	if viewFlags := viewHelpFlag(); viewFlags != "" {
		flagOf["view"] = viewFlags
	}
	for _, c := range commands {
		want, ok := flagOf[c.name]
		if !ok {
			t.Errorf("command %s has no row in this test", c.name)
			continue
		}
		for _, h := range []string{"-h", "--help", "-help"} {
			code, out, errs := runCLI(c.name, h)
			if code != exitOK {
				t.Errorf("gpubuf %s %s: exit %d, want %d\n%s", c.name, h, code, exitOK, errs)
			}
			if out != "" {
				t.Errorf("gpubuf %s %s: stdout %q, want the usage on stderr only", c.name, h, out)
			}
			if !strings.HasPrefix(errs, "usage: gpubuf "+c.name) || !strings.Contains(errs, want) {
				t.Errorf("gpubuf %s %s: stderr does not start with its usage line or lacks %q:\n%s", c.name, h, want, errs)
			}
		}
	}
	if len(flagOf) != len(commands) {
		t.Errorf("this test has %d rows, main.go %d commands", len(flagOf), len(commands))
	}
}

// TestStrayArgument: an argument a command does not take is an error
// that names it, exit 2, in the same words everywhere.
func TestStrayArgument(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "extra"},
		{"demo", "extra"},
		{"info", "extra"},
		{"kernels", "extra"},
		{"kernels", "testdata/affine.ptx", "extra"},
		{"run", "extra"},
		{"sdf", "--rp", "3", "--rc", "5", "extra"},
		{"launch", "testdata/affine.ptx", "extra", "--kernel", "affine_u32", "--grid", "1", "--block", "1"},
		{"race", "testdata/affine.ptx", "extra", "--kernel", "affine_u32", "--grid", "1", "--block", "1"},
	} {
		code, out, errs := runCLI(args...)
		want := "gpubuf " + args[0] + `: unexpected argument "extra"`
		if code != exitUsage || out != "" || !strings.HasPrefix(errs, want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("gpubuf %q: exit %d, stdout %q, stderr %q; want exit 2 and one line starting %q", args, code, out, errs, want)
		}
	}
}
