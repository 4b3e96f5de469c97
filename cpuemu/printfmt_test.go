package cpuemu

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// The formatter against C's printf. Every expected string is written out
// from C's rules (C11 §7.21.6.1, and glibc where C leaves the text open:
// "(nil)" for a null %p, "(null)" for a null %s when the precision lets
// six characters through, "-nan", %a's leading digit), and was checked
// against gcc's printf; none comes from the code under test.

// fakeMem is an argument buffer laid out as nvcc lays it out (each
// argument at the next offset aligned to its size), and strings at
// made-up addresses.
type fakeMem struct {
	t       *testing.T
	buf     []byte
	off     int
	strs    map[uint64][]byte // address -> bytes, NUL included or not
	reads   int               // string bytes read
	maxRead int               // the most bytes one cstring asked for
}

// Argument kinds for pack: a C int (4 bytes), and the 8-byte ones.
type (
	cInt    int32
	cLong   int64
	cDouble float64
	cPtr    uint64
)

func pack(t *testing.T, args ...any) *fakeMem {
	m := &fakeMem{t: t, strs: map[uint64][]byte{}}
	put := func(size int, v uint64) {
		for len(m.buf)%size != 0 {
			m.buf = append(m.buf, 0xEE) // padding: never read
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		m.buf = append(m.buf, b[:size]...)
	}
	for _, a := range args {
		switch v := a.(type) {
		case cInt:
			put(4, uint64(uint32(v)))
		case cLong:
			put(8, uint64(v))
		case cDouble:
			put(8, math.Float64bits(float64(v)))
		case cPtr:
			put(8, uint64(v))
		case string: // a string argument: a pointer to it, NUL-terminated
			addr := uint64(0x1000 * (len(m.strs) + 1))
			m.strs[addr] = append([]byte(v), 0)
			put(8, addr)
		default:
			t.Fatalf("pack: %T", a)
		}
	}
	return m
}

func (m *fakeMem) arg(size int) uint64 {
	m.off = (m.off + size - 1) &^ (size - 1)
	if m.off+size > len(m.buf) {
		m.t.Fatalf("argument of %d bytes at offset %d: the buffer has %d", size, m.off, len(m.buf))
	}
	var b [8]byte
	copy(b[:], m.buf[m.off:m.off+size])
	m.off += size
	return binary.LittleEndian.Uint64(b[:])
}

func (m *fakeMem) cstring(addr uint64, max int) ([]byte, bool) {
	m.maxRead = max
	s, ok := m.strs[addr]
	if !ok {
		m.t.Fatalf("string at %#x: none there", addr)
	}
	for i := 0; i < max; i++ {
		if i >= len(s) {
			m.t.Fatalf("string at %#x read past its %d bytes", addr, len(s))
		}
		m.reads++
		if s[i] == 0 {
			return s[:i], true
		}
	}
	return s[:max], false
}

type printfCase struct {
	format string
	args   []any
	want   string
}

func runPrintfCases(t *testing.T, cases []printfCase) {
	t.Helper()
	for _, c := range cases {
		m := pack(t, c.args...)
		got, n, over := formatPrintf([]byte(c.format), m, 1<<20, 1<<20)
		if string(got) != c.want || over {
			t.Errorf("printf(%q, %v) = %q (over %v), want %q", c.format, c.args, got, over, c.want)
		}
		if want := min(len(c.args), maxPrintfArgs); n != want {
			t.Errorf("printf(%q): %d arguments read, want %d", c.format, n, want)
		}
		if m.off != len(m.buf) && len(c.args) <= maxPrintfArgs {
			t.Errorf("printf(%q): read %d bytes of the %d-byte argument buffer", c.format, m.off, len(m.buf))
		}
	}
}

func TestPrintfIntegers(t *testing.T) {
	runPrintfCases(t, []printfCase{
		{"%d %i %u %o %x %X %c %%", []any{cInt(-42), cInt(42), cInt(-1), cInt(8), cInt(255), cInt(255), cInt('z')}, "-42 42 4294967295 10 ff FF z %"},
		{"[%5d] [%-5d] [%05d] [%+d] [% d] [%+ d] [%-05d]", []any{cInt(42), cInt(42), cInt(42), cInt(42), cInt(42), cInt(7), cInt(7)}, "[   42] [42   ] [00042] [+42] [ 42] [+7] [7    ]"},
		// Precision: the least digits; it turns the 0 flag off.
		{"[%.3d] [%8.3d] [%05.2d] [%.0d] [%5.0d] [%+.0d] [%.3x]", []any{cInt(7), cInt(7), cInt(-7), cInt(0), cInt(0), cInt(0), cInt(10)}, "[007] [     007] [  -07] [] [     ] [+] [00a]"},
		// #: a leading 0 for %o, 0x for a non-zero %x.
		{"[%#o] [%#o] [%#.3o] [%#5o] [%#.0o] [%#x] [%#X] [%#x] [%#.0x] [%#8x] [%#08x] [%#-8x|]", []any{cInt(8), cInt(0), cInt(8), cInt(8), cInt(0), cInt(255), cInt(255), cInt(0), cInt(0), cInt(255), cInt(255), cInt(255)},
			"[010] [0] [010] [  010] [0] [0xff] [0XFF] [0] [] [    0xff] [0x0000ff] [0xff    |]"},
		// + and space sign only the signed conversions.
		{"[%+u] [% x] [%+o] [%-+5d|] [% 05d] [%+05d]", []any{cInt(5), cInt(5), cInt(5), cInt(0), cInt(3), cInt(3)}, "[5] [5] [5] [+0   |] [ 0003] [+0003]"},
		{"%d %d %u", []any{cInt(math.MinInt32), cInt(math.MaxInt32), cInt(math.MinInt32)}, "-2147483648 2147483647 2147483648"},
		// Length modifiers: h and hh convert the promoted int back to
		// (unsigned) short and char; l and ll take 8 bytes.
		{"%hd %hd %hu %hhd %hhu %hx %hhx %hhX", []any{cInt(65537), cInt(40000), cInt(-1), cInt(200), cInt(300), cInt(0x12345678), cInt(0x1ff), cInt(0xab)}, "1 -25536 65535 -56 44 5678 ff AB"},
		{"%ld %lu %lld %llu %lx %llX %lo %li", []any{cLong(math.MinInt64), cLong(-1), cLong(-1), cLong(-1), cLong(-0x2152411035010ff3), cLong(-0x2152411035010ff3), cLong(8), cLong(123)},
			"-9223372036854775808 18446744073709551615 -1 18446744073709551615 deadbeefcafef00d DEADBEEFCAFEF00D 10 123"},
		// An int and a long long: the long long at offset 8.
		{"%d %lld %d", []any{cInt(1), cLong(1 << 40), cInt(3)}, "1 1099511627776 3"},
		// %c: the int's low byte; the 0 flag pads with spaces (glibc).
		{"[%c%c%c] [%5c] [%-3c] [%05c] [%lc]", []any{cInt(0x141), cInt('a'), cInt(256 + 'b'), cInt('a'), cInt('b'), cInt('x'), cInt('q')}, "[Aab] [    a] [b  ] [    x] [q]"},
	})
}

func TestPrintfStarArguments(t *testing.T) {
	runPrintfCases(t, []printfCase{
		// * takes an int: a negative width is the - flag, a negative
		// precision is none.
		{"[%*d] [%-*d] [%*d] [%.*d] [%.*d] [%*.*f] [%*.*d]", []any{cInt(5), cInt(42), cInt(4), cInt(7), cInt(-4), cInt(7), cInt(3), cInt(5), cInt(-1), cInt(5), cInt(8), cInt(2), cDouble(3.14159), cInt(-6), cInt(-1), cInt(5)},
			"[   42] [7   ] [7   ] [005] [5] [    3.14] [5     ]"},
	})
}

func TestPrintfFloats(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	negNaN := math.Float64frombits(0xfff8000000000000)
	runPrintfCases(t, []printfCase{
		{"%f %e %E %g %G %a %A", []any{cDouble(1.5), cDouble(12345.678), cDouble(0.00012345), cDouble(0.0001), cDouble(1e-5), cDouble(1), cDouble(-0.5)},
			"1.500000 1.234568e+04 1.234500E-04 0.0001 1E-05 0x1p+0 -0X1P-1"},
		// %f: rounding to nearest from the exact binary value.
		{"[%8.3f] [%-8.2f] [%08.2f] [%+.1f] [% .1f] [%#.0f] [%.0f] [%.0f] [%.0f] [%010.2f] [%.3f] [%.2f] [%.1f] [%f]",
			[]any{cDouble(3.14159), cDouble(2.5), cDouble(-3.14159), cDouble(1.25), cDouble(1.25), cDouble(3), cDouble(2.5), cDouble(3.5), cDouble(0.5), cDouble(-3.14159), cDouble(2.0005), cDouble(2.675), cDouble(0.25), cDouble(1e20)},
			"[   3.142] [2.50    ] [-0003.14] [+1.2] [ 1.2] [3.] [2] [4] [0] [-000003.14] [2.001] [2.67] [0.2] [100000000000000000000.000000]"},
		// %e: at least two exponent digits.
		{"[%.2e] [%12.4E] [%-12.1e] [%#.0e] [%.0e] [%.0e] [%e] [%e] [%+e] [%013.3e] [%e]",
			[]any{cDouble(12345.678), cDouble(0.000123456), cDouble(1e100), cDouble(5), cDouble(15), cDouble(2.5), cDouble(0), cDouble(-1e-300), cDouble(1), cDouble(-2.5), cDouble(math.Copysign(0, -1))},
			"[1.23e+04] [  1.2346E-04] [1.0e+100    ] [5.e+00] [2e+01] [2e+00] [0.000000e+00] [-1.000000e-300] [+1.000000e+00] [-0002.500e+00] [-0.000000e+00]"},
		// %g: precision 6 by default; %e when the exponent is below -4 or
		// at least the precision; no trailing zeros without #.
		{"[%g] [%g] [%g] [%g] [%g] [%g] [%g] [%g] [%g] [%g] [%g]",
			[]any{cDouble(100000), cDouble(1e6), cDouble(0.0001), cDouble(0.00001), cDouble(123456), cDouble(1234567), cDouble(0.000123456), cDouble(9.9999999), cDouble(999999.5), cDouble(0), cDouble(math.Copysign(0, -1))},
			"[100000] [1e+06] [0.0001] [1e-05] [123456] [1.23457e+06] [0.000123456] [10] [1e+06] [0] [-0]"},
		{"[%#g] [%.3g] [%.0g] [%.1g] [%#.3g] [%#.0g] [%#g] [%#.3g] [%G] [%-8g] [%08g] [%.10g] [%.17g] [%.20g] [%#.10g]",
			[]any{cDouble(1), cDouble(3.14159), cDouble(0.5), cDouble(95), cDouble(1), cDouble(3), cDouble(0), cDouble(1e-5), cDouble(1e-10), cDouble(1.5), cDouble(-1.5), cDouble(1.0 / 3), cDouble(0.1), cDouble(0.1), cDouble(1.0 / 3)},
			"[1.00000] [3.14] [0.5] [1e+02] [1.00] [3.] [0.00000] [1.00e-05] [1E-10] [1.5     ] [-00001.5] [0.3333333333] [0.10000000000000001] [0.10000000000000000555] [0.3333333333]"},
		// A precision past a double's digits: the exact value, no zeros.
		{"%.1000g", []any{cDouble(0.1)}, "0.1000000000000000055511151231257827021181583404541015625"},
		// %a: glibc's form: 1 (0 for zero and subnormals, at p-1022), the
		// fraction without trailing zeros, or rounded to the precision to
		// nearest-even, leaving a carry in the leading digit.
		{"[%a] [%a] [%a] [%.2a] [%.0a] [%.0a] [%.0a] [%A] [%#.0a] [%#a] [%a] [%a] [%a] [%a]",
			[]any{cDouble(1), cDouble(0.1), cDouble(-2.5), cDouble(1), cDouble(1.5), cDouble(2.5), cDouble(1), cDouble(255), cDouble(1), cDouble(1), cDouble(0), cDouble(math.Copysign(0, -1)), cDouble(2.2250738585072014e-308), cDouble(math.MaxFloat64)},
			"[0x1p+0] [0x1.999999999999ap-4] [-0x1.4p+1] [0x1.00p+0] [0x2p+0] [0x1p+1] [0x1p+0] [0X1.FEP+7] [0x1.p+0] [0x1.p+0] [0x0p+0] [-0x0p+0] [0x1p-1022] [0x1.fffffffffffffp+1023]"},
		{"[%a] [%a] [%.3a] [%.1a] [%.1a] [%.1a] [%.0a] [%.2A] [%.15a]",
			[]any{cDouble(5e-324), cDouble(2.225073858507201e-308), cDouble(5e-324), cDouble(1.96875), cDouble(1.03125), cDouble(1.09375), cDouble(math.MaxFloat64), cDouble(0.1), cDouble(1)},
			"[0x0.0000000000001p-1022] [0x0.fffffffffffffp-1022] [0x0.000p-1022] [0x2.0p+0] [0x1.0p+0] [0x1.2p+0] [0x2p+1023] [0X1.9AP-4] [0x1.000000000000000p+0]"},
		{"[%12a] [%-+12a] [%012a] [%+a] [% a]", []any{cDouble(1), cDouble(1), cDouble(1), cDouble(0), cDouble(1)},
			"[      0x1p+0] [+0x1p+0     ] [0x0000001p+0] [+0x0p+0] [ 0x1p+0]"},
		// inf and nan: C's words, the sign of a NaN shown (glibc), padded
		// with spaces even under the 0 flag.
		{"[%f] [%e] [%g] [%5.1f] [%-6f] [%E] [%010f] [%+f] [%G] [%a] [%A] [% f] [%f]",
			[]any{cDouble(inf), cDouble(-inf), cDouble(nan), cDouble(inf), cDouble(nan), cDouble(inf), cDouble(-inf), cDouble(inf), cDouble(negNaN), cDouble(inf), cDouble(nan), cDouble(inf), cDouble(negNaN)},
			"[inf] [-inf] [nan] [  inf] [nan   ] [INF] [      -inf] [+inf] [-NAN] [inf] [NAN] [ inf] [-nan]"},
		// l and h change nothing for a double.
		{"%lf %le %hf", []any{cDouble(2.5), cDouble(2.5), cDouble(2.5)}, "2.500000 2.500000e+00 2.500000"},
	})
}

func TestPrintfStringsAndPointers(t *testing.T) {
	runPrintfCases(t, []printfCase{
		{"[%s] [%10s] [%-10s] [%.3s] [%10.2s] [%.0s] [%05s]", []any{"hello", "hello", "hello", "hello", "hello", "hello", "ab"},
			"[hello] [     hello] [hello     ] [hel] [        he] [] [   ab]"},
		// A null %s: "(null)", or nothing when the precision cuts it.
		{"[%s] [%10s] [%.3s] [%.6s]", []any{cPtr(0), cPtr(0), cPtr(0), cPtr(0)}, "[(null)] [    (null)] [] [(null)]"},
		// %p: 0x and lower-case hex, "(nil)" for null; glibc honours the
		// sign flags, the precision and the 0 flag.
		{"[%p] [%20p] [%-20p|] [%p] [%+p] [% p] [%020p] [%.10p] [%10p]", []any{cPtr(0x1234), cPtr(0xabcdef), cPtr(0xabcdef), cPtr(0), cPtr(0x1234), cPtr(0x1234), cPtr(0x1234), cPtr(0x1234), cPtr(0)},
			"[0x1234] [            0xabcdef] [0xabcdef            |] [(nil)] [+0x1234] [ 0x1234] [0x000000000000001234] [0x0000001234] [     (nil)]"},
		{"%p", []any{cPtr(0xffffffffffffffff)}, "0xffffffffffffffff"},
	})
	// %.3s reads no further than 3 bytes: the string needs no NUL.
	m := pack(t, "abcdef")
	for a := range m.strs {
		m.strs[a] = []byte("abc")
	}
	if got, _, _ := formatPrintf([]byte("%.3s"), m, 100, 100); string(got) != "abc" || m.reads != 3 {
		t.Errorf("%%.3s of an unterminated string: %q after %d bytes read, want \"abc\" after 3", got, m.reads)
	}
}

func TestPrintfSpecialCases(t *testing.T) {
	runPrintfCases(t, []printfCase{
		{"", nil, ""},
		{"no conversions\n", nil, "no conversions\n"},
		// %% takes no argument, whatever its flags; a % at the end is
		// printed; an unknown conversion is printed as it stands and
		// takes no argument.
		{"100%% [%3%] [%-5%|] %d", []any{cInt(1)}, "100% [%] [%|] 1"},
		{"%d %", []any{cInt(1)}, "1 %"},
		{"%d %-5", []any{cInt(1)}, "1 %-5"},
		{"[%y] [%n] [%F] [%Lf] %d", []any{cInt(2)}, "[%y] [%n] [%F] [%Lf] 2"},
		// A length modifier on c or s is ignored (CUDA's device printf has
		// no wide characters; glibc's %ls would read wchar_t): each takes
		// its argument, an int or a pointer to bytes, and prints it as %c
		// or %s, so the %d after them reads the last int.
		{"[%ls] [%lls] [%hs] [%hhs] [%5ls] [%.2ls] [%lc%hc%llc%hhc] [%3lc] %d",
			[]any{"wide", "long", "half", "hh", "ab", "xyz", cInt(0x141), cInt('b'), cInt(256 + 'c'), cInt('d'), cInt('e'), cInt(9)},
			"[wide] [long] [half] [hh] [   ab] [xy] [Abcd] [  e] 9"},
	})
}

// CUDA's printf takes at most 32 arguments; the conversions past them are
// printed as they stand.
func TestPrintfArgumentLimit(t *testing.T) {
	var args32, args34 []any
	var f32, want32 strings.Builder
	for i := 1; i <= 32; i++ {
		args32 = append(args32, cInt(i))
		f32.WriteString("%d ")
	}
	want32.WriteString("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 ")
	args34 = append(append(args34, args32...), cInt(33), cInt(34))
	runPrintfCases(t, []printfCase{
		{f32.String(), args32, want32.String()},
		{f32.String() + "%d %d|%%|%s", args34, want32.String() + "%d %d|%|%s"},
	})
	// A * past the limit: the whole conversion stands.
	m := pack(t, append(append([]any{}, args32[:31]...), cInt(5), cInt(6))...)
	got, n, _ := formatPrintf([]byte(f32.String()[:3*31]+"[%*d]"), m, 1000, 1000)
	if want := want32.String()[:len(want32.String())-len("32 ")] + "[%*d]"; string(got) != want || n != 31 {
		t.Errorf("31 arguments then %%*d: %q, %d arguments; want %q, 31", got, n, want)
	}
}

// Output past the limit is not made; a width or precision of any size
// costs nothing.
func TestPrintfLimit(t *testing.T) {
	for _, c := range []struct {
		format string
		args   []any
		limit  int
		want   string
		over   bool
	}{
		{"abcdef", nil, 6, "abcdef", false},
		{"abcdefg", nil, 6, "", true}, // a call that does not fit is dropped whole
		{"ab%5d", []any{cInt(1)}, 6, "ab", true},
		{"ab%4d", []any{cInt(1)}, 6, "ab   1", false},
		{"%*d", []any{cInt(math.MaxInt32), cInt(1)}, 1 << 20, "", true},
		{"%2147483647d", []any{cInt(1)}, 1 << 20, "", true},
		{"%99999999999999999999d", []any{cInt(1)}, 1 << 20, "", true},
		{"%.2147483647f", []any{cDouble(1)}, 1 << 20, "", true},
		{"%.*e", []any{cInt(math.MaxInt32), cDouble(1)}, 1 << 20, "", true},
		{"%.2147483647d", []any{cInt(1)}, 1 << 20, "", true},
		{"%.2147483647a", []any{cDouble(1)}, 1 << 20, "", true},
		{"%#.2147483647g", []any{cDouble(1)}, 1 << 20, "", true},
		{"%.2147483647g", []any{cDouble(1)}, 1 << 20, "1", false},
		{"x%sy", []any{"a string too long"}, 10, "x", true},
	} {
		m := pack(t, c.args...)
		got, _, over := formatPrintf([]byte(c.format), m, c.limit, c.limit)
		if string(got) != c.want || over != c.over {
			t.Errorf("printf(%q) in %d bytes = %q, over %v; want %q, %v", c.format, c.limit, got, over, c.want, c.over)
		}
	}
	// A string with no NUL within the buffer's size cannot fit: reading
	// stops one byte past it.
	m := pack(t, "0123456789")
	got, _, over := formatPrintf([]byte("%s"), m, 4, 4)
	if len(got) != 0 || !over || m.maxRead != 5 {
		t.Errorf("%%s of 10 bytes in 4: %q, over %v, asked for %d bytes; want nothing, over, 5", got, over, m.maxRead)
	}
}
