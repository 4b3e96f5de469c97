package main

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/internal/ptx"
)

func TestParseArgSpec(t *testing.T) {
	good := []struct {
		in   string
		want argSpec
	}{
		{"buf:4096", argSpec{Kind: "buf", Bytes: 4096, Fill: "zero"}},
		{"buf:1", argSpec{Kind: "buf", Bytes: 1, Fill: "zero"}},
		{"buf:4k", argSpec{Kind: "buf", Bytes: 4096, Fill: "zero"}},
		{"buf:3K:iota", argSpec{Kind: "buf", Bytes: 3072, Fill: "iota"}},
		{"buf:2M:zero", argSpec{Kind: "buf", Bytes: 2 << 20, Fill: "zero"}},
		{"buf:64:rand=7", argSpec{Kind: "buf", Bytes: 64, Fill: "rand", Seed: 7}},
		{"buf:64:rand=0xff", argSpec{Kind: "buf", Bytes: 64, Fill: "rand", Seed: 255}},
		{"buf:64:file=in.bin", argSpec{Kind: "buf", Bytes: 64, Fill: "file", Path: "in.bin"}},
		{"buf:64:file=a:b=c", argSpec{Kind: "buf", Bytes: 64, Fill: "file", Path: "a:b=c"}},
		{"i32:-2147483648", argSpec{Kind: "i32", Value: int32(math.MinInt32)}},
		{"i32:2147483647", argSpec{Kind: "i32", Value: int32(math.MaxInt32)}},
		{"i32:0x7fffffff", argSpec{Kind: "i32", Value: int32(math.MaxInt32)}},
		{"i32:-0x10", argSpec{Kind: "i32", Value: int32(-16)}},
		{"i32:+5", argSpec{Kind: "i32", Value: int32(5)}},
		{"i32:010", argSpec{Kind: "i32", Value: int32(10)}}, // decimal, not octal
		{"u32:4294967295", argSpec{Kind: "u32", Value: uint32(math.MaxUint32)}},
		{"u32:0XFFFFFFFF", argSpec{Kind: "u32", Value: uint32(math.MaxUint32)}},
		{"u32:0", argSpec{Kind: "u32", Value: uint32(0)}},
		{"i64:-9223372036854775808", argSpec{Kind: "i64", Value: int64(math.MinInt64)}},
		{"i64:9223372036854775807", argSpec{Kind: "i64", Value: int64(math.MaxInt64)}},
		{"u64:18446744073709551615", argSpec{Kind: "u64", Value: uint64(math.MaxUint64)}},
		{"u64:0x100000001", argSpec{Kind: "u64", Value: uint64(1<<32 + 1)}},
		{"u8:255", argSpec{Kind: "u8", Value: uint8(255)}},
		{"u8:0xff", argSpec{Kind: "u8", Value: uint8(255)}},
		{"i8:-128", argSpec{Kind: "i8", Value: int8(-128)}},
		{"i8:127", argSpec{Kind: "i8", Value: int8(127)}},
		{"u16:65535", argSpec{Kind: "u16", Value: uint16(65535)}},
		{"i16:-32768", argSpec{Kind: "i16", Value: int16(-32768)}},
		{"i16:0x7fff", argSpec{Kind: "i16", Value: int16(32767)}},
		{"f32:1.5", argSpec{Kind: "f32", Value: float32(1.5)}},
		{"f32:-3.25e2", argSpec{Kind: "f32", Value: float32(-325)}},
		{"f64:0.1", argSpec{Kind: "f64", Value: 0.1}},
		{"f64:1e300", argSpec{Kind: "f64", Value: 1e300}},
		{"bytes:0100000002000000", argSpec{Kind: "bytes", Value: []byte{1, 0, 0, 0, 2, 0, 0, 0}}},
		{"bytes:aBcD", argSpec{Kind: "bytes", Value: []byte{0xab, 0xcd}}},
		{"bytes:00", argSpec{Kind: "bytes", Value: []byte{0}}},
	}
	for _, c := range good {
		got, err := parseArgSpec(c.in)
		if err != nil {
			t.Errorf("parseArgSpec(%q): %v", c.in, err)
			continue
		}
		c.want.Text = c.in
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseArgSpec(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}

	bad := []struct{ in, frag string }{
		{"", "want KIND:VALUE"},
		{"buf", "want KIND:VALUE"},
		{"ptr:8", `unknown kind "ptr"`},
		{"buf:0", "must be > 0"},
		{"buf:0k", "must be > 0"},
		{"buf:", "not a byte count"},
		{"buf:-4", "not a byte count"},
		{"buf:4G", "not a byte count"},
		{"buf:1.5k", "not a byte count"},
		{"buf:99999999999", "more than the emulated device"},
		{"buf:8:ones", `unknown fill "ones"`},
		{"buf:8:iota=3", "unknown fill"},
		{"buf:8:rand", "needs a value"},
		{"buf:8:rand=", "rand seed"},
		{"buf:8:rand=-1", "rand seed"},
		{"buf:8:rand=x", "rand seed"},
		{"buf:8:file=", "needs a path"},
		{"i32:2147483648", "out of range for a 32-bit signed"},
		{"i32:-2147483649", "out of range for a 32-bit signed"},
		{"i32:0xffffffff", "out of range for a 32-bit signed"},
		{"i32:", "not an integer"},
		{"i32:1.0", "not an integer"},
		{"i32:1_000", "not an integer"},
		{"i32:0b101", "not an integer"},
		{"i32:12abc", "not an integer"},
		{"u32:4294967296", "out of range for a 32-bit unsigned"},
		{"u8:256", "256 out of range for an 8-bit unsigned integer"},
		{"u8:-1", "out of range for an 8-bit unsigned integer (negative)"},
		{"i8:128", "128 out of range for an 8-bit signed integer"},
		{"i8:-129", "out of range for an 8-bit signed integer"},
		{"i8:0xff", "out of range for an 8-bit signed integer"},
		{"u16:65536", "out of range for a 16-bit unsigned integer"},
		{"i16:32768", "out of range for a 16-bit signed integer"},
		{"i16:-32769", "out of range for a 16-bit signed integer"},
		{"u8:1.5", "not an integer"},
		{"i16:", "not an integer"},
		{"u4:1", `unknown kind "u4"`},
		{"u32:-1", "out of range for a 32-bit unsigned"},
		{"u32:0x", "not an integer"},
		{"u64:18446744073709551616", "out of range for a 64-bit unsigned"},
		{"i64:9223372036854775808", "out of range for a 64-bit signed"},
		{"f32:1e39", "out of range for f32"},
		{"f32:abc", "not a number"},
		{"f32:", "want a number"},
		{"f32: 1", "want a number"},
		{"f64:1e400", "out of range for f64"},
		{"bytes:", "want hex digits, two per byte"},
		{"bytes:123", "3 hex digits, an odd count"},
		{"bytes:0x01", "'x' at offset 1 is not a hex digit"},
		{"bytes:01 02", "' ' at offset 2 is not a hex digit"},
		{"bytes:zz", "'z' at offset 0 is not a hex digit"},
		{"bytes:" + strings.Repeat("00", 32765), "65530 hex digits: a parameter is at most 32764 bytes"},
	}
	for _, c := range bad {
		_, err := parseArgSpec(c.in)
		if err == nil {
			t.Errorf("parseArgSpec(%q) succeeded, want an error with %q", c.in, c.frag)
			continue
		}
		if !strings.Contains(err.Error(), c.frag) {
			t.Errorf("parseArgSpec(%q) = %q, want it to contain %q", c.in, err, c.frag)
		}
		if c.in != "" && !strings.Contains(err.Error(), c.in) {
			t.Errorf("parseArgSpec(%q) = %q does not name the spec", c.in, err)
		}
	}
}

func TestParseDim(t *testing.T) {
	good := map[string]cpuemu.Dim3{
		"1":          {X: 1, Y: 1, Z: 1},
		"64":         {X: 64, Y: 1, Z: 1},
		"4,2":        {X: 4, Y: 2, Z: 1},
		"4,2,3":      {X: 4, Y: 2, Z: 3},
		"4294967295": {X: math.MaxUint32, Y: 1, Z: 1},
	}
	for in, want := range good {
		got, err := parseDim(in)
		if err != nil || got != want {
			t.Errorf("parseDim(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"0":          "dimension x is 0",
		"1,0":        "dimension y is 0",
		"1,1,0":      "dimension z is 0",
		"1,1,1,1":    "want X[,Y[,Z]]",
		"":           "not a positive",
		"-1":         "not a positive",
		"x":          "not a positive",
		"1,,2":       "not a positive",
		"4294967296": "not a positive",
	}
	for in, frag := range bad {
		_, err := parseDim(in)
		if err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("parseDim(%q) error = %v, want one with %q", in, err, frag)
		}
	}
}

func TestBufferContents(t *testing.T) {
	spec := func(s string) argSpec {
		t.Helper()
		a, err := parseArgSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.load(); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := spec("buf:16")
	if got := a.contents(); !bytes.Equal(got, make([]byte, 16)) {
		t.Errorf("zero fill = % x", got)
	}
	// iota: 32-bit little-endian words 0, 1, 2, ...; a partial last word
	// holds the low bytes of the next value.
	a = spec("buf:14:iota")
	want := []byte{0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0}
	if got := a.contents(); !bytes.Equal(got, want) {
		t.Errorf("iota fill = % x, want % x", got, want)
	}
	a = spec("buf:2k:iota")
	if got := a.contents(); got[4*300] != 300&0xff || got[4*300+1] != 300>>8 || got[1020] != 255 {
		t.Errorf("iota fill word 300 = % x, word 255 = % x", got[1200:1204], got[1020:1024])
	}

	// rand=SEED: the successive Uint64s of PCG(SEED, 0), little-endian.
	a = spec("buf:20:rand=42")
	r := rand.NewPCG(42, 0)
	var ref []byte
	for range 3 {
		v := r.Uint64()
		for i := range 8 {
			ref = append(ref, byte(v>>(8*i)))
		}
	}
	if got := a.contents(); !bytes.Equal(got, ref[:20]) {
		t.Errorf("rand fill = % x, want % x", got, ref[:20])
	}
	if !bytes.Equal(a.contents(), a.contents()) {
		t.Error("rand fill differs between calls")
	}
	a43 := spec("buf:20:rand=43")
	if bytes.Equal(a43.contents(), ref[:20]) {
		t.Error("rand fills of seeds 42 and 43 are equal")
	}

	// file=PATH: zero-padded to the buffer; a longer file is an error.
	dir := t.TempDir()
	path := filepath.Join(dir, "in.bin")
	if err := os.WriteFile(path, []byte{9, 8, 7}, 0o644); err != nil {
		t.Fatal(err)
	}
	a = spec("buf:6:file=" + path)
	if got := a.contents(); !bytes.Equal(got, []byte{9, 8, 7, 0, 0, 0}) {
		t.Errorf("file fill = % x", got)
	}
	a = spec("buf:3:file=" + path)
	if got := a.contents(); !bytes.Equal(got, []byte{9, 8, 7}) {
		t.Errorf("file fill of an exact fit = % x", got)
	}
	for s, frag := range map[string]string{
		"buf:2:file=" + path:                          "is 3 bytes, more than the buffer's 2",
		"buf:2:file=" + filepath.Join(dir, "missing"): "missing",
	} {
		a, err := parseArgSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.load(); err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("load %q: %v, want an error with %q", s, err, frag)
		}
	}
}

func TestCheckSpecs(t *testing.T) {
	e := kernelEntry{Name: "k", Params: []ptx.Param{
		{Index: 0, Name: "p", Type: "u64", Size: 8},
		{Index: 1, Name: "n", Type: "u32", Size: 4},
		{Index: 2, Name: "x", Type: "f32", Size: 4},
		{Index: 3, Name: "w", Type: "b64", Size: 8},
		{Index: 4, Name: "d", Type: "f64", Size: 8},
	}}
	specs := func(ss ...string) []argSpec {
		var out []argSpec
		for _, s := range ss {
			a, err := parseArgSpec(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
		return out
	}
	ok := [][]string{
		{"buf:8", "u32:1", "f32:1", "buf:8", "f64:1"},
		{"u64:0x1000", "i32:-1", "f32:1", "f64:2", "f64:1"}, // raw pointer; .b64 takes a double
		{"i64:5", "u32:1", "f32:1", "i64:3", "f64:1"},
	}
	for _, ss := range ok {
		if err := checkSpecs(e, specs(ss...)); err != nil {
			t.Errorf("checkSpecs %q: %v", ss, err)
		}
	}
	bad := []struct {
		ss   []string
		frag string
	}{
		{[]string{"buf:8", "u32:1"}, "missing parameter 2 (x .f32, 4 bytes)"},
		{[]string{}, "takes 5 arguments"},
		{[]string{"buf:8", "u32:1", "f32:1", "buf:8", "f64:1", "u32:9"}, `--arg "u32:9" has no parameter`},
		{[]string{"buf:8", "buf:8", "f32:1", "buf:8", "f64:1"}, "parameter 1 (n .u32, 4 bytes)"},
		{[]string{"buf:8", "f32:1", "f32:1", "buf:8", "f64:1"}, "it takes i32 or u32"},
		{[]string{"buf:8", "u32:1", "f32:1", "f32:1", "f64:1"}, "it takes buf, i64, u64 or f64"},
		{[]string{"i32:1", "u32:1", "f32:1", "buf:8", "f64:1"}, "parameter 0 (p .u64, 8 bytes)"},
		{[]string{"buf:8", "u32:1", "u32:1", "buf:8", "f64:1"}, "parameter 2 (x .f32, 4 bytes)"},
		{[]string{"buf:8", "u32:1", "f64:1", "buf:8", "f64:1"}, "an 8-byte float"},
		{[]string{"buf:8", "u32:1", "f32:1", "buf:8", "buf:8"}, "parameter 4 (d .f64, 8 bytes)"},
		{[]string{"buf:8", "u32:1", "f32:1", "f32:1", "f64:1"}, "it takes buf, i64, u64 or f64"},
	}
	for _, c := range bad {
		err := checkSpecs(e, specs(c.ss...))
		if err == nil || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("checkSpecs %q = %v, want an error with %q", c.ss, err, c.frag)
		}
	}
	// Narrow parameters take the specs of their width, signed or not (nvcc
	// declares signed char .u8), and no other.
	narrow := kernelEntry{Name: "narrow", Params: []ptx.Param{
		{Index: 0, Name: "a", Type: "u8", Size: 1},
		{Index: 1, Name: "b", Type: "s8", Size: 1},
		{Index: 2, Name: "c", Type: "u16", Size: 2},
		{Index: 3, Name: "d", Type: "b16", Size: 2},
	}}
	for _, ss := range [][]string{{"u8:1", "i8:-1", "u16:1", "i16:-1"}, {"i8:1", "u8:1", "i16:1", "u16:1"}} {
		if err := checkSpecs(narrow, specs(ss...)); err != nil {
			t.Errorf("checkSpecs %q: %v", ss, err)
		}
	}
	for _, c := range []struct {
		ss   []string
		frag string
	}{
		{[]string{"u32:1", "i8:1", "u16:1", "i16:1"}, `parameter 0 (a .u8, 1 byte): --arg "u32:1" is a 4-byte integer; it takes i8 or u8`},
		{[]string{"u8:1", "i16:1", "u16:1", "i16:1"}, `parameter 1 (b .s8, 1 byte): --arg "i16:1" is a 2-byte integer; it takes i8 or u8`},
		{[]string{"u8:1", "i8:1", "u8:1", "i16:1"}, `parameter 2 (c .u16, 2 bytes): --arg "u8:1" is a 1-byte integer; it takes i16 or u16`},
		{[]string{"u8:1", "i8:1", "u16:1", "i32:1"}, "it takes i16 or u16"},
	} {
		err := checkSpecs(narrow, specs(c.ss...))
		if err == nil || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("checkSpecs %q = %v, want an error with %q", c.ss, err, c.frag)
		}
	}
	// A by-value struct (.b8 array) takes its bytes, exactly its size, and
	// no scalar; any parameter takes bytes of its size.
	arr := kernelEntry{Name: "k", Params: []ptx.Param{{Index: 0, Name: "s", Type: "b8", Size: 16}}}
	if err := checkSpecs(arr, specs("bytes:"+strings.Repeat("ab", 16))); err != nil {
		t.Errorf("checkSpecs of 16 bytes for a 16-byte .b8 array: %v", err)
	}
	for _, c := range []struct{ spec, frag string }{
		{"u64:1", `parameter 0 (s .b8, 16 bytes): --arg "u64:1" is an 8-byte integer; it takes bytes:HEX of 16 bytes (32 hex digits)`},
		{"bytes:0102030405060708", `--arg "bytes:0102030405060708" is 8 bytes; it takes bytes:HEX of 16 bytes (32 hex digits)`},
		{"bytes:" + strings.Repeat("00", 17), "is 17 bytes; it takes bytes:HEX of 16 bytes"},
	} {
		if err := checkSpecs(arr, specs(c.spec)); err == nil || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("checkSpecs %q of a .b8 array: %v, want an error with %q", c.spec, err, c.frag)
		}
	}
	if err := checkSpecs(narrow, specs("bytes:01", "bytes:ff", "bytes:0100", "bytes:ffff")); err != nil {
		t.Errorf("checkSpecs of bytes of each parameter's size: %v", err)
	}
	if err := checkSpecs(narrow, specs("bytes:0100", "i8:1", "u16:1", "i16:1")); err == nil || !strings.Contains(err.Error(), `--arg "bytes:0100" is 2 bytes; it takes bytes:HEX of 1 byte (2 hex digits)`) {
		t.Errorf("checkSpecs of 2 bytes for a .u8: %v", err)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"buf:4k:iota":      "buf:4k:iota",
		"a b":              "'a b'",
		"it's":             `'it'\''s'`,
		"":                 "''",
		"buf:8:file=$HOME": "'buf:8:file=$HOME'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
