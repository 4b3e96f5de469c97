package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/kernels"
)

// symbolsPTX is what nvcc 11.8 made of cpuemu/testdata/symbols/symbols.cu.
const symbolsPTX = "../../cpuemu/testdata/symbols/symbols.ptx"

// TestLaunchNarrowArgs passes 8- and 16-bit arguments to nvcc's narrow
// kernel, which widens each to a word of its output as C does (by hand:
// 200, -5, 65535, -32768), and refuses values out of their range, naming
// the flag.
func TestLaunchNarrowArgs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.bin")
	code, stdout, stderr := runCLI("launch", symbolsPTX, "--kernel", "narrow", "--grid", "1", "--block", "32",
		"--arg", "u8:200", "--arg", "i8:-5", "--arg", "u16:0xffff", "--arg", "i16:-32768", "--arg", "buf:16", "--out", "4="+out)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	want := []uint32{200, 0xfffffffb, 65535, 0xffff8000}
	for i, g := range kernels.Words(readFile(t, out)) {
		if g != want[i] {
			t.Errorf("out[%d] = %#x, want %#x", i, g, want[i])
		}
	}
	for _, c := range []struct {
		args []string
		frag string
	}{
		{[]string{"u8:256", "i8:0", "u16:0", "i16:0"}, `--arg "u8:256": 256 out of range for an 8-bit unsigned integer`},
		{[]string{"u8:0", "i8:-129", "u16:0", "i16:0"}, `--arg "i8:-129": -129 out of range for an 8-bit signed integer`},
		{[]string{"u8:0", "i8:0", "u16:65536", "i16:0"}, `--arg "u16:65536": 65536 out of range for a 16-bit unsigned integer`},
		{[]string{"u8:0", "i8:0", "u16:0", "i16:40000"}, `--arg "i16:40000": 40000 out of range for a 16-bit signed integer`},
		{[]string{"u32:0", "i8:0", "u16:0", "i16:0"}, `--arg "u32:0" is a 4-byte integer; it takes i8 or u8`},
		{[]string{"u8:0", "i8:0", "u8:0", "i16:0"}, `--arg "u8:0" is a 1-byte integer; it takes i16 or u16`},
	} {
		args := []string{"launch", symbolsPTX, "--kernel", "narrow", "--grid", "1", "--block", "32"}
		for _, a := range append(c.args, "buf:16") {
			args = append(args, "--arg", a)
		}
		code, stdout, stderr := runCLI(args...)
		if code != exitUsage || !strings.Contains(stderr, c.frag) {
			t.Errorf("%q: exit %d, want %d with %q\n%s%s", c.args, code, exitUsage, c.frag, stdout, stderr)
		}
	}
}

// TestLaunchStructArg passes a struct by value (a .b8 array parameter)
// with --arg bytes:HEX: the kernel stores its two little-endian words,
// 1 and 2 by hand from the hex, to its output; a spec of another size, or
// a scalar, is a usage error naming the --arg and the parameter's size.
func TestLaunchStructArg(t *testing.T) {
	const src = `.version 7.8
.target sm_70
.address_size 64

.visible .entry pair(.param .align 4 .b8 p[8], .param .u64 out)
{
	.reg .b32 %r<3>;
	.reg .b64 %rd<2>;
	ld.param.u32 %r1, [p];
	ld.param.u32 %r2, [p+4];
	ld.param.u64 %rd1, [out];
	cvta.to.global.u64 %rd1, %rd1;
	st.global.u32 [%rd1], %r1;
	st.global.u32 [%rd1+4], %r2;
	ret;
}
`
	dir := t.TempDir()
	ptxPath, out := filepath.Join(dir, "pair.ptx"), filepath.Join(dir, "out.bin")
	if err := os.WriteFile(ptxPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"launch", "race"} {
		code, stdout, stderr := runCLI(cmd, ptxPath, "--kernel", "pair", "--grid", "1", "--block", "1",
			"--arg", "bytes:0100000002000000", "--arg", "buf:8", "--out", "1="+out)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s%s", cmd, code, stdout, stderr)
		}
		if got := kernels.Words(readFile(t, out)); !slices.Equal(got, []uint32{1, 2}) {
			t.Errorf("%s: out = %v, want [1 2]", cmd, got)
		}
	}
	for _, c := range []struct{ arg, frag string }{
		{"bytes:01000000", `parameter 0 (p .b8, 8 bytes): --arg "bytes:01000000" is 4 bytes; it takes bytes:HEX of 8 bytes (16 hex digits)`},
		{"u64:1", `--arg "u64:1" is an 8-byte integer; it takes bytes:HEX of 8 bytes (16 hex digits)`},
		{"bytes:010000000200000", `--arg "bytes:010000000200000": 15 hex digits, an odd count`},
	} {
		code, stdout, stderr := runCLI("launch", ptxPath, "--kernel", "pair", "--grid", "1", "--block", "1", "--arg", c.arg, "--arg", "buf:8")
		if code != exitUsage || !strings.Contains(stderr, c.frag) {
			t.Errorf("--arg %s: exit %d, want %d with %q\n%s%s", c.arg, code, exitUsage, c.frag, stdout, stderr)
		}
	}
}

// TestLaunchSymbols sets nvcc's module variables with --symbol before the
// launch and writes them with --out NAME=PATH: a __device__ counter that
// bump adds to (100 + 128 threads * 3, by hand), and a __constant__ table
// and scale that lookup reads (out[i] = table[i % 8] * scale).
func TestLaunchSymbols(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hundred := write("100.bin", kernels.WordBytes([]uint32{100}))
	counter, seen := filepath.Join(dir, "counter.bin"), filepath.Join(dir, "seen.bin")
	for _, cmd := range []string{"launch", "race"} {
		code, stdout, stderr := runCLI(cmd, symbolsPTX, "--kernel", "bump", "--grid", "2", "--block", "64", "--arg", "u32:3",
			"--symbol", "counter=file="+hundred, "--out", "counter="+counter, "--out", "seen="+seen)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s%s", cmd, code, stdout, stderr)
		}
		if got := kernels.Words(readFile(t, counter)); len(got) != 1 || got[0] != 484 {
			t.Errorf("%s: counter = %v, want [484]", cmd, got)
		}
		// Thread 0 of block 0 saw one of the values the counter went through.
		if got := kernels.Words(readFile(t, seen)); len(got) != 1 || got[0] < 100 || got[0] >= 484 || (got[0]-100)%3 != 0 {
			t.Errorf("%s: seen = %v, want one of 100, 103, ..., 481", cmd, got)
		}
	}

	// table = iota (0..7), scale = 2.0 from a file.
	out, table := filepath.Join(dir, "out.bin"), filepath.Join(dir, "table.bin")
	two := write("two.bin", kernels.WordBytes([]uint32{math.Float32bits(2)}))
	code, stdout, stderr := runCLI("launch", symbolsPTX, "--kernel", "lookup", "--grid", "1", "--block", "64", "--json",
		"--arg", "buf:128", "--arg", "i32:32", "--symbol", "table=iota", "--symbol", "scale=file="+two,
		"--out", "0="+out, "--out", "table="+table)
	if code != exitOK {
		t.Fatalf("lookup: exit %d\n%s%s", code, stdout, stderr)
	}
	for i, g := range kernels.Words(readFile(t, out)) {
		if w := math.Float32bits(float32(i%8) * 2); g != w {
			t.Errorf("lookup out[%d] = %v, want %v", i, math.Float32frombits(g), math.Float32frombits(w))
		}
	}
	if got := kernels.Words(readFile(t, table)); !slices.Equal(got, []uint32{0, 1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("table = %v, want iota's 0..7", got)
	}
	var j struct {
		Outputs []struct {
			Arg    int
			Symbol string
			Path   string
			Bytes  int
		}
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if len(j.Outputs) != 2 || j.Outputs[0].Arg != 0 || j.Outputs[0].Symbol != "" || j.Outputs[0].Bytes != 128 ||
		j.Outputs[1].Arg != -1 || j.Outputs[1].Symbol != "table" || j.Outputs[1].Bytes != 32 || j.Outputs[1].Path != table {
		t.Errorf("json outputs = %+v", j.Outputs)
	}

	// rand=SEED fills the variable's own 32 bytes as it fills a buffer:
	// the successive Uint64s of PCG(SEED, 0), little-endian.
	if code, stdout, stderr := runCLI("launch", symbolsPTX, "--kernel", "lookup", "--grid", "1", "--block", "32",
		"--arg", "buf:128", "--arg", "i32:0", "--symbol", "table=rand=9", "--out", "table="+table); code != exitOK {
		t.Fatalf("rand: exit %d\n%s%s", code, stdout, stderr)
	}
	r := rand.NewPCG(9, 0)
	var want []byte
	for range 4 {
		want = binary.LittleEndian.AppendUint64(want, r.Uint64())
	}
	if got := readFile(t, table); !bytes.Equal(got, want) {
		t.Errorf("table=rand=9: % x, want % x", got, want)
	}
}

// Bad --symbol and --out names and fills are usage errors (exit 2) that
// name the flag, and leave no --out file behind.
func TestLaunchSymbolErrors(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, "long.bin")
	if err := os.WriteFile(long, make([]byte, 8), 0o644); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(dir, "stray.bin")
	base := []string{symbolsPTX, "--kernel", "bump", "--grid", "1", "--block", "32", "--arg", "u32:1", "--out", "counter=" + stray}
	for _, c := range []struct {
		args []string
		frag string
	}{
		{[]string{"--symbol", "nosuch=zero"}, `--symbol "nosuch=zero": module ` + symbolsPTX + `: variable nosuch: no such .global or .const variable (the module has counter, scale, seen, table)`},
		{[]string{"--symbol", "bump=iota"}, `--symbol "bump=iota": module ` + symbolsPTX + `: variable bump: is a function`},
		{[]string{"--symbol", "counter=file=" + long}, `--symbol "counter=file=` + long + `": file ` + long + ` is 8 bytes, more than variable counter's 4`},
		{[]string{"--symbol", "counter=file=" + filepath.Join(dir, "missing")}, `--symbol "counter=file=` + filepath.Join(dir, "missing")},
		{[]string{"--symbol", "counter"}, `--symbol "counter": want NAME=FILL`},
		{[]string{"--symbol", "=zero"}, `--symbol "=zero": want NAME=FILL`},
		{[]string{"--symbol", "1x=zero"}, `--symbol "1x=zero": want NAME=FILL`},
		{[]string{"--symbol", "counter=ones"}, `--symbol "counter=ones": unknown fill "ones"`},
		{[]string{"--symbol", "counter=rand"}, `--symbol "counter=rand": fill rand needs a value`},
		{[]string{"--out", "nosuch=" + filepath.Join(dir, "x.bin")}, "--out nosuch=" + filepath.Join(dir, "x.bin") + ": module " + symbolsPTX + ": variable nosuch: no such"},
		{[]string{"--out", "a b=x"}, `--out "a b=x": want N=PATH`},
	} {
		for _, cmd := range []string{"launch", "race"} {
			code, stdout, stderr := runCLI(append(append([]string{cmd}, base...), c.args...)...)
			if code != exitUsage || !strings.Contains(stderr, c.frag) {
				t.Errorf("%s %q: exit %d, want %d with %q\n%s%s", cmd, c.args, code, exitUsage, c.frag, stdout, stderr)
			}
			for _, p := range []string{stray, filepath.Join(dir, "x.bin")} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s %q left %s behind", cmd, c.args, p)
					os.Remove(p)
				}
			}
		}
	}
}

// A race's replay command sets the variables as the race did.
func TestReplayCommandKeepsSymbols(t *testing.T) {
	o, code := parseLaunchFlags(true, []string{symbolsPTX, "--kernel", "bump", "--grid", "1", "--block", "32", "--arg", "u32:1",
		"--symbol", "counter=iota", "--symbol", "seen=file=a b.bin"}, io.Discard)
	if o == nil {
		t.Fatalf("parse: exit %d", code)
	}
	if got := o.replayCommand("--scheduler adversarial"); !strings.Contains(got, " --symbol counter=iota --symbol 'seen=file=a b.bin' --scheduler adversarial") {
		t.Errorf("replay command %q lacks the --symbol flags", got)
	}
}

// coopPTX is what nvcc 11.8 made of cpuemu/testdata/coop/coop.cu.
const coopPTX = "../../cpuemu/testdata/coop/coop.ptx"

// TestLaunchCooperative runs nvcc's grid-sync kernel with --cooperative:
// out[i] = 2 * in[(i + 64) % 256] with in = iota, by hand; without the
// flag the grid sync traps; race finds the grid sync orders the blocks,
// and the racy twin's reproduction replays cooperatively; a grid the
// device cannot hold at once is bad usage.
func TestLaunchCooperative(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.bin")
	args := []string{coopPTX, "--kernel", "shift", "--grid", "4", "--block", "64",
		"--arg", "buf:1024:iota", "--arg", "buf:1024", "--arg", "buf:1024", "--arg", "i32:256"}
	code, stdout, stderr := runCLI(append([]string{"launch", "--cooperative", "--out", "2=" + out}, args...)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for i, g := range kernels.Words(readFile(t, out)) {
		if want := uint32(2 * ((i + 64) % 256)); g != want {
			t.Fatalf("out[%d] = %d, want %d", i, g, want)
		}
	}
	code, stdout, stderr = runCLI(append([]string{"launch"}, args...)...)
	if code != exitFail || !strings.Contains(stderr, "trap") {
		t.Errorf("without --cooperative: exit %d, want %d and a trap\n%s%s", code, exitFail, stdout, stderr)
	}
	code, stdout, stderr = runCLI(append([]string{"race", "--cooperative"}, args...)...)
	if code != exitOK || !strings.Contains(stdout+stderr, "RACECHECK SUMMARY: 0 hazards") {
		t.Errorf("race --cooperative: exit %d, want a clean report\n%s%s", code, stdout, stderr)
	}

	racy := append([]string{"race", "--cooperative", "--json", "--seeds", "4"}, args...)
	racy[slices.Index(racy, "shift")] = "shift_nosync"
	code, stdout, stderr = runCLI(racy...)
	if code != exitFail {
		t.Fatalf("race of shift_nosync: exit %d, want %d\n%s%s", code, exitFail, stdout, stderr)
	}
	var j struct {
		Report struct {
			Hazards []struct{ Scope string }
		}
		Reproduction struct {
			Replay string
		}
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	inter := false
	for _, h := range j.Report.Hazards {
		inter = inter || h.Scope == "inter-block"
	}
	if !inter {
		t.Errorf("race of shift_nosync: no inter-block hazard in %+v", j.Report.Hazards)
	}
	// Adversarial runs the last block first, which reads tmp before the
	// others write it: the output differs from lockstep's.
	if r := j.Reproduction.Replay; !strings.Contains(r, " --cooperative ") {
		t.Errorf("replay command %q lacks --cooperative", r)
	}
	o, _ := parseLaunchFlags(true, append([]string{"--cooperative"}, args...), io.Discard)
	if r := o.replayCommand(""); !strings.Contains(r, " --cooperative") {
		t.Errorf("replay command %q lacks --cooperative", r)
	}

	for _, cmd := range []string{"launch", "race"} {
		code, stdout, stderr := runCLI(cmd, coopPTX, "--kernel", "shift", "--grid", "1057", "--block", "256", "--cooperative", "--out", "2="+filepath.Join(dir, "never.bin"),
			"--arg", "buf:4", "--arg", "buf:4", "--arg", "buf:4", "--arg", "i32:1")
		// An SM holds 2048 threads: 8 blocks of 256, on each of the
		// emulated device's 132 SMs.
		want := "--cooperative --grid 1057 --block 256: 1057 blocks; gpubuf PTX emulator holds at most 1056 blocks of 256 threads and 0 dynamic shared bytes at once (132 SMs × 8)"
		if code != exitUsage || !strings.Contains(stderr, want) {
			t.Errorf("%s of 1057 blocks of 256 threads: exit %d, want %d with %q\n%s%s", cmd, code, exitUsage, want, stdout, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "never.bin")); err == nil {
			t.Errorf("%s left its --out file behind", cmd)
		}
	}
}

// TestResolveSymbolsAsksOnce: a variable named by --symbol twice and by
// --out is looked up once, and every fill gets its size.
func TestResolveSymbolsAsksOnce(t *testing.T) {
	o := &launchOpts{outs: []outSpec{{Arg: -1, Sym: "g", Path: "unused"}, {Arg: -1, Sym: "h", Path: "unused"}}}
	for _, s := range []string{"g=zero", "g=iota", "h=zero"} {
		sp, err := parseSymbolSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		o.syms = append(o.syms, sp)
	}
	asked := map[string]int{}
	err := o.resolveSymbols(func(name string) (int, error) {
		asked[name]++
		return 8, nil
	})
	if err != nil || asked["g"] != 1 || asked["h"] != 1 || len(asked) != 2 {
		t.Errorf("asked %v, %v", asked, err)
	}
	for _, sp := range o.syms {
		if sp.fill.Bytes != 8 || len(sp.fill.contents()) != 8 {
			t.Errorf("%s: %d bytes", sp.Text, sp.fill.Bytes)
		}
	}
}
