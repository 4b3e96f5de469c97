package main

import (
	"path/filepath"
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
