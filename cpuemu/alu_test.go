package cpuemu

import (
	"math"
	"math/big"
	"math/rand"
	"testing"
)

// Expected values below are derived by hand from the PTX ISA definitions; the
// comment next to each case gives the derivation.

func aluF32b(b uint32) float32 { return math.Float32frombits(b) }
func aluF64b(b uint64) float64 { return math.Float64frombits(b) }

var aluModes = []rounding{rndRN, rndRZ, rndRM, rndRP}

func aluModeName(r rounding) string {
	return [...]string{"none", "rn", "rz", "rm", "rp", "rni", "rzi", "rmi", "rpi"}[r]
}

func TestPrmt(t *testing.T) {
	// Source bytes 0..7 = 0x00,0x11,...,0x77 (a = bytes 0-3, b = bytes 4-7).
	const a, b = 0x33221100, 0x77665544
	cases := []struct {
		a, b, c uint32
		mode    uint8
		want    uint32
	}{
		{a, b, 0x3210, 0, 0x33221100},     // identity
		{a, b, 0x7654, 0, 0x77665544},     // b
		{a, b, 30212, 0, 0x77660044},      // 30212 = 0x7604: bytes 4,0,6,7 -> b0=44 b1=00 b2=66 b3=77
		{a, b, 0xFFFF3210, 0, 0x33221100}, // c[31:16] ignored
		// sign replicate: a bytes FF,01,7F,80; sel 8,9,A,B -> msb of each byte
		{0x807F01FF, 0, 0xBA98, 0, 0xFF0000FF},
		{0x807F01FF, 0, 0x0123, 0, 0xFF017F80}, // byte reverse of a
		{0, 0x80000000, 0xFFFF, 0, 0xFFFFFFFF}, // sel F = sign of byte 7 (0x80)
		{a, b, 0, 1, 0x33221100},               // f4e s=0: 0,1,2,3
		{a, b, 1, 1, 0x44332211},               // f4e s=1: 1,2,3,4
		{a, b, 3, 1, 0x66554433},               // f4e s=3: 3,4,5,6
		{a, b, 0, 2, 0x55667700},               // b4e s=0: 0,7,6,5
		{a, b, 2, 2, 0x77001122},               // b4e s=2: 2,1,0,7
		{a, b, 2, 3, 0x22222222},               // rc8 s=2
		{a, b, 5, 3, 0x11111111},               // rc8 s = 5&3 = 1
		{a, b, 1, 4, 0x33221111},               // ecl s=1: max(k,1) = 1,1,2,3
		{a, b, 3, 4, 0x33333333},               // ecl s=3
		{a, b, 1, 5, 0x11111100},               // ecr s=1: min(k,1) = 0,1,1,1
		{a, b, 2, 5, 0x22221100},               // ecr s=2: 0,1,2,2
		{a, b, 0, 6, 0x11001100},               // rc16 s=0: 0,1,0,1
		{a, b, 1, 6, 0x33223322},               // rc16 s=1: 2,3,2,3
		{a, b, 2, 6, 0x11001100},               // rc16 s=2 acts as 0
		{0x80808080, 0, 0xC, 3, 0x80808080},    // modes never sign-replicate
	}
	for _, tc := range cases {
		if got := prmt(tc.a, tc.b, tc.c, tc.mode); got != tc.want {
			t.Errorf("prmt(%#x,%#x,%#x,mode %d) = %#x, want %#x", tc.a, tc.b, tc.c, tc.mode, got, tc.want)
		}
	}
}

func TestBfe(t *testing.T) {
	cases32 := []struct {
		a, pos, l uint32
		s         bool
		want      uint32
	}{
		{0x12345678, 4, 8, false, 0x67},           // bits 11:4
		{0x12345678, 0x104, 0x208, false, 0x67},   // pos/len use only the low 8 bits
		{0xFFFFFFFF, 0, 0, true, 0},               // len 0 -> 0 even signed
		{0xFFFFFFFF, 3, 0, false, 0},              // len 0
		{0x80000000, 32, 4, false, 0},             // pos > msb, unsigned -> 0
		{0x80000000, 32, 4, true, 0xFFFFFFFF},     // pos > msb, signed -> copies of a[31]
		{0x7FFFFFFF, 200, 4, true, 0},             // a[31] = 0
		{0x80000000, 28, 8, false, 0x8},           // over-long: bits 31:28 only
		{0x80000000, 28, 8, true, 0xFFFFFFF8},     // over-long signed = sra by 28
		{0x00000080, 0, 8, true, 0xFFFFFF80},      // sign = a[7]
		{0x00000080, 0, 8, false, 0x80},           // unsigned
		{0x00000070, 4, 3, true, 0xFFFFFFFF},      // field 0b111, sign bit a[6]=1
		{0x00000030, 4, 3, true, 0x3},             // field 0b011, a[6]=0
		{0xDEADBEEF, 0, 32, false, 0xDEADBEEF},    // full width
		{0xDEADBEEF, 0, 255, true, 0xDEADBEEF},    // len past msb
		{0xDEADBEEF, 31, 1, true, 0xFFFFFFFF},     // single sign bit
		{0x40000000, 30, 5, true, 0x1},            // sign = a[min(34,31)] = 0
		{0x12345678, 255, 255, true, 0x00000000},  // pos 255: sbit = a[31] = 0
		{0x92345678, 255, 255, true, 0xFFFFFFFF},  // a[31] = 1
		{0x92345678, 255, 255, false, 0x00000000}, // unsigned
	}
	for _, tc := range cases32 {
		if got := bfe32(tc.a, tc.pos, tc.l, tc.s); got != tc.want {
			t.Errorf("bfe32(%#x,%d,%d,%v) = %#x, want %#x", tc.a, tc.pos, tc.l, tc.s, got, tc.want)
		}
	}
	cases64 := []struct {
		a      uint64
		pos, l uint32
		s      bool
		want   uint64
	}{
		{1 << 63, 60, 8, true, 0xFFFFFFFFFFFFFFF8}, // over-long signed
		{1 << 63, 60, 8, false, 8},
		{1 << 63, 64, 1, true, ^uint64(0)}, // pos > msb
		{1 << 63, 64, 1, false, 0},
		{1 << 32, 32, 1, false, 1},
		{1 << 32, 32, 1, true, ^uint64(0)},                      // 1-bit field with value 1 = -1
		{^uint64(0), 5, 0, true, 0},                             // len 0
		{0x0123456789ABCDEF, 8, 40, false, 0x456789ABCD},        // bits 47:8 = 10 hex digits
		{0x0123456789ABCDEF, 0x108, 0x128, false, 0x456789ABCD}, // masked to 8, 40
		{0x0123456789ABCDEF, 28, 8, true, 0x78},                 // 0x78, bit 35 = 0
		{0x0123456789ABCDEF, 32, 8, true, 0x67},                 // bits 39:32 = 0x67
		{0x0123456789ABCDEF, 36, 8, true, 0x56},
		{0x0123456789ABCDEF, 4, 8, true, 0xFFFFFFFFFFFFFFDE}, // 0xDE, bit 11 = 1
	}
	for _, tc := range cases64 {
		if got := bfe64(tc.a, tc.pos, tc.l, tc.s); got != tc.want {
			t.Errorf("bfe64(%#x,%d,%d,%v) = %#x, want %#x", tc.a, tc.pos, tc.l, tc.s, got, tc.want)
		}
	}
}

func TestBfi(t *testing.T) {
	cases32 := []struct{ a, b, pos, l, want uint32 }{
		{0xF, 0, 4, 4, 0xF0},
		{0xFFFFFFFF, 0x12345678, 8, 8, 0x1234FF78},
		{0xFFFFFFFF, 0x12345678, 8, 0, 0x12345678},    // len 0 -> b
		{0xFFFFFFFF, 0x12345678, 32, 8, 0x12345678},   // pos > msb -> b
		{0xFF, 0, 28, 8, 0xF0000000},                  // cut at msb
		{1, 0, 0x100, 1, 1},                           // pos masked to 0
		{0xABCD, 0xFFFFFFFF, 0, 0x110, 0xFFFFABCD},    // len masked to 16
		{0x12345678, 0xFFFFFFFF, 0, 32, 0x12345678},   // full replace
		{0x12345678, 0xFFFFFFFF, 0, 255, 0x12345678},  // over-long
		{0x12345678, 0x00000000, 31, 1, 0x00000000},   // a[0]=0 into bit 31
		{0x12345679, 0x00000000, 31, 100, 0x80000000}, // a[0]=1 into bit 31
	}
	for _, tc := range cases32 {
		if got := bfi32(tc.a, tc.b, tc.pos, tc.l); got != tc.want {
			t.Errorf("bfi32(%#x,%#x,%d,%d) = %#x, want %#x", tc.a, tc.b, tc.pos, tc.l, got, tc.want)
		}
	}
	cases64 := []struct {
		a, b   uint64
		pos, l uint32
		want   uint64
	}{
		{0xFF, 0, 60, 8, 0xF000000000000000},
		{0xABCD, 0x1234, 32, 32, 0x0000ABCD00001234},
		{^uint64(0), 0, 0, 64, ^uint64(0)},
		{^uint64(0), 7, 64, 3, 7},                 // pos > msb
		{^uint64(0), 0, 16, 40, 0xFFFFFFFFFF0000}, // bits 55:16
	}
	for _, tc := range cases64 {
		if got := bfi64(tc.a, tc.b, tc.pos, tc.l); got != tc.want {
			t.Errorf("bfi64(%#x,%#x,%d,%d) = %#x, want %#x", tc.a, tc.b, tc.pos, tc.l, got, tc.want)
		}
	}
}

func TestBfind(t *testing.T) {
	const none = 0xffffffff
	cases := []struct {
		a             uint32
		signed, shamt bool
		want          uint32
	}{
		{0, false, false, none},
		{0, false, true, none},
		{1, false, false, 0},
		{1, false, true, 31},
		{0x80000000, false, false, 31},
		{0x80000000, false, true, 0},
		{0x00010000, false, false, 16},
		{0x00010000, false, true, 15},
		{0xFFFFFFFF, true, false, none}, // -1: ~a = 0
		{0xFFFFFFFF, true, true, none},
		{0x80000000, true, false, 30}, // INT_MIN: ~a = 0x7fffffff
		{0x80000000, true, true, 1},
		{0xFFFFFFFE, true, false, 0}, // -2: ~a = 1
		{0xFFFFFFFE, true, true, 31},
		{0x40000000, true, false, 30},
		{0x40000000, true, true, 1},
		{0xFFFF0000, true, false, 15}, // ~a = 0x0000ffff
	}
	for _, tc := range cases {
		if got := bfind32(tc.a, tc.signed, tc.shamt); got != tc.want {
			t.Errorf("bfind32(%#x,%v,%v) = %#x, want %#x", tc.a, tc.signed, tc.shamt, got, tc.want)
		}
	}
	cases64 := []struct {
		a             uint64
		signed, shamt bool
		want          uint32
	}{
		{0, false, false, none},
		{1 << 40, false, false, 40},
		{1 << 40, false, true, 23},
		{1 << 63, false, false, 63},
		{1 << 63, true, false, 62}, // ~INT64_MIN = 0x7fff...
		{1 << 63, true, true, 1},
		{^uint64(0), true, false, none},
		{^uint64(0), false, false, 63},
		{^uint64(0), false, true, 0},
		{0xFFFFFFFF00000000, true, false, 31},
	}
	for _, tc := range cases64 {
		if got := bfind64(tc.a, tc.signed, tc.shamt); got != tc.want {
			t.Errorf("bfind64(%#x,%v,%v) = %#x, want %#x", tc.a, tc.signed, tc.shamt, got, tc.want)
		}
	}
}

func TestShf(t *testing.T) {
	const a, b = 0x89ABCDEF, 0x01234567 // {b:a} = 0x01234567_89ABCDEF
	cases := []struct {
		a, b, n     uint32
		left, clamp bool
		want        uint32
	}{
		{a, b, 0, true, false, b},          // n=0: l -> b
		{a, b, 0, false, false, a},         // n=0: r -> a
		{a, b, 4, true, false, 0x12345678}, // (b<<4)|(a>>28)
		{a, b, 4, false, false, 0x789ABCDE},
		{a, b, 32, true, false, b}, // wrap: 32&31 = 0
		{a, b, 32, false, false, a},
		{a, b, 36, true, false, 0x12345678}, // wrap: 4
		{a, b, 36, false, false, 0x789ABCDE},
		{a, b, 32, true, true, a}, // clamp: n = 32 -> l gives a
		{a, b, 32, false, true, b},
		{a, b, 100, true, true, a},
		{a, b, 100, false, true, b},
		{a, b, 31, true, true, 0xC4D5E6F7},                    // high word of {b:a}<<31 = (b<<31)|(a>>1)
		{0x80000001, 0x80000001, 1, true, false, 0x00000003},  // rotate left by 1
		{0x80000001, 0x80000001, 1, false, false, 0xC0000000}, // rotate right by 1
	}
	for _, tc := range cases {
		if got := shf(tc.a, tc.b, tc.n, tc.left, tc.clamp); got != tc.want {
			t.Errorf("shf(%#x,%#x,%d,l=%v,clamp=%v) = %#x, want %#x", tc.a, tc.b, tc.n, tc.left, tc.clamp, got, tc.want)
		}
	}
}

func TestLop3AndBrev(t *testing.T) {
	a, b, c := uint32(0x12345678), uint32(0x9ABCDEF0), uint32(0x0F0F0F0F)
	cases := []struct {
		imm  uint8
		want uint32
	}{
		{0xF0, a}, {0xCC, b}, {0xAA, c}, {0x00, 0}, {0xFF, 0xFFFFFFFF},
		{0x96, a ^ b ^ c}, // F0^CC^AA
		{0x80, a & b & c}, // F0&CC&AA
		{0xFE, a | b | c},
		{0xE8, (a & b) | (b & c) | (a & c)}, // majority
		{0xCA, (a & b) | (^a & c)},          // select: F0&CC | ~F0&AA = C0|0A
		{0x0F, ^a},
	}
	for _, tc := range cases {
		if got := lop3(a, b, c, tc.imm); got != tc.want {
			t.Errorf("lop3(imm %#x) = %#x, want %#x", tc.imm, got, tc.want)
		}
	}
	if got := brev32(1); got != 0x80000000 {
		t.Errorf("brev32(1) = %#x", got)
	}
	if got := brev32(0x12345678); got != 0x1E6A2C48 { // nibbles reversed and bit-reversed
		t.Errorf("brev32(0x12345678) = %#x", got)
	}
	if got := brev64(3); got != 0xC000000000000000 {
		t.Errorf("brev64(3) = %#x", got)
	}
}

func TestShflSource(t *testing.T) {
	const up, down, bfly, idx = 0, 1, 2, 3
	cases := []struct {
		mode  uint8
		lane  int
		b, c  uint32
		src   int
		inRng bool
	}{
		// width 32: c = 0x1f (up: 0)
		{down, 5, 3, 0x1f, 8, true},
		{down, 30, 3, 0x1f, 30, false}, // 33 > 31
		{down, 7, 32, 0x1f, 7, true},   // b masked: 32 -> 0
		{up, 5, 3, 0, 2, true},
		{up, 1, 3, 0, 1, false}, // -2 < 0
		{up, 9, 32, 0, 9, true},
		{bfly, 5, 16, 0x1f, 21, true},
		{idx, 4, 17, 0x1f, 17, true},
		{idx, 4, 49, 0x1f, 17, true}, // 49 & 31 = 17
		// width 16: c = 0x101f, up 0x1000; seg = 16
		{down, 14, 1, 0x101f, 15, true},  // maxLane = 15
		{down, 15, 1, 0x101f, 15, false}, // 16 is next segment
		{down, 20, 4, 0x101f, 24, true},  // maxLane = 31
		{down, 30, 2, 0x101f, 30, false},
		{up, 17, 1, 0x1000, 16, true}, // maxLane (first lane) = 16
		{up, 16, 1, 0x1000, 16, false},
		{up, 3, 2, 0x1000, 1, true},
		{idx, 21, 3, 0x101f, 19, true}, // minLane 16 | 3
		// width 8: c = 0x181f, up 0x1800; seg = 24
		{bfly, 3, 4, 0x181f, 7, true},
		{bfly, 3, 8, 0x181f, 3, false},  // lane mask >= width: 11 > 7 -> own value
		{bfly, 11, 8, 0x181f, 3, true},  // reads the lower segment, p true
		{idx, 13, 2, 0x181f, 10, true},  // 8 | 2
		{idx, 13, 10, 0x181f, 10, true}, // 10 &^ 24 = 2
		{idx, 13, 33, 0x181f, 9, true},  // b & 31 = 1
		{up, 9, 1, 0x1800, 8, true},
		{up, 8, 1, 0x1800, 8, false},
		{down, 6, 2, 0x181f, 6, false}, // 8 > 7
		{down, 5, 2, 0x181f, 7, true},
	}
	for _, tc := range cases {
		src, ok := shflSource(tc.mode, tc.lane, tc.b, tc.c)
		if src != tc.src || ok != tc.inRng {
			t.Errorf("shflSource(%d, lane %d, b %d, c %#x) = (%d,%v), want (%d,%v)", tc.mode, tc.lane, tc.b, tc.c, src, ok, tc.src, tc.inRng)
		}
	}
}

func TestSextTrunc(t *testing.T) {
	if sext(0x80, 8) != -128 || sext(0x7f, 8) != 127 || sext(0xFFFFFFFF, 32) != -1 || sext(0x1FF, 8) != -1 {
		t.Error("sext small")
	}
	if sext(1<<63, 64) != math.MinInt64 || sext(0xFFFF8000, 16) != -32768 {
		t.Error("sext 64/16")
	}
	if trunc(0x1FF, 8) != 0xFF || trunc(^uint64(0), 64) != ^uint64(0) || trunc(0x123456789, 32) != 0x23456789 {
		t.Error("trunc")
	}
}

func TestDivInt(t *testing.T) {
	const m32 = 0xFFFFFFFF
	cases := []struct {
		a, b   uint64
		bits   int
		signed bool
		q, r   uint64
		byZero bool
	}{
		{7, 0, 32, false, m32, m32, true},
		{7, 0, 32, true, m32, m32, true},
		{7, 0, 64, true, ^uint64(0), ^uint64(0), true},
		{7, 0x100000000, 32, false, m32, m32, true},       // b truncated to 32 bits is 0
		{0x80000000, m32, 32, true, 0x80000000, 0, false}, // INT_MIN / -1
		{1 << 63, ^uint64(0), 64, true, 1 << 63, 0, false},
		{0x8000, 0xFFFF, 16, true, 0x8000, 0, false},
		{uint64(0xFFFFFFF9), 2, 32, true, 0xFFFFFFFD, 0xFFFFFFFF, false}, // -7/2 = -3 rem -1
		{7, 0xFFFFFFFE, 32, true, 0xFFFFFFFD, 1, false},                  // 7/-2 = -3 rem 1
		{m32, 2, 32, false, 0x7FFFFFFF, 1, false},
		{0x100000007, 2, 32, false, 3, 1, false}, // upper bits ignored
		{^uint64(0), 10, 64, false, 1844674407370955161, 5, false},
		{^uint64(0) - 6, 2, 64, true, ^uint64(0) - 2, ^uint64(0), false}, // -7/2
	}
	for _, tc := range cases {
		q, r, z := divInt(tc.a, tc.b, tc.bits, tc.signed)
		if q != tc.q || r != tc.r || z != tc.byZero {
			t.Errorf("divInt(%#x,%#x,%d,%v) = %#x,%#x,%v want %#x,%#x,%v", tc.a, tc.b, tc.bits, tc.signed, q, r, z, tc.q, tc.r, tc.byZero)
		}
	}
}

func TestMulHiWide(t *testing.T) {
	cases := []struct {
		a, b   uint64
		bits   int
		signed bool
		want   uint64
	}{
		{0xFFFFFFFF, 0xFFFFFFFF, 32, false, 0xFFFFFFFE}, // 0xFFFFFFFE_00000001
		{0xFFFFFFFF, 0xFFFFFFFF, 32, true, 0},           // -1*-1 = 1
		{0x80000000, 2, 32, true, 0xFFFFFFFF},           // -2^32
		{0x80000000, 2, 32, false, 1},                   // 2^32
		{0xFFFF, 0xFFFF, 16, false, 0xFFFE},
		{0x8000, 0x8000, 16, true, 0x4000}, // 2^30
		{^uint64(0), ^uint64(0), 64, false, ^uint64(0) - 1},
		{^uint64(0), ^uint64(0), 64, true, 0},
		{1 << 63, 2, 64, true, ^uint64(0)},               // -2^64
		{1 << 63, 1 << 63, 64, true, 0x4000000000000000}, // 2^126
		{3, ^uint64(0), 64, true, ^uint64(0)},            // -3
		{1 << 63, 4, 64, false, 2},
	}
	for _, tc := range cases {
		if got := mulHi(tc.a, tc.b, tc.bits, tc.signed); got != tc.want {
			t.Errorf("mulHi(%#x,%#x,%d,%v) = %#x, want %#x", tc.a, tc.b, tc.bits, tc.signed, got, tc.want)
		}
	}
	wide := []struct {
		a, b   uint64
		bits   int
		signed bool
		want   uint64
	}{
		{0xFFFF, 0xFFFF, 16, true, 1},
		{0xFFFF, 0xFFFF, 16, false, 0xFFFE0001},
		{0x8000, 0xFFFF, 16, true, 0x8000}, // -32768 * -1 = 32768
		{0x80000000, 0x80000000, 32, true, 0x4000000000000000},
		{0xFFFFFFFF, 5, 32, true, 0xFFFFFFFFFFFFFFFB},
		{0xFFFFFFFF, 0xFFFFFFFF, 32, false, 0xFFFFFFFE00000001},
	}
	for _, tc := range wide {
		if got := mulWide(tc.a, tc.b, tc.bits, tc.signed); got != tc.want {
			t.Errorf("mulWide(%#x,%#x,%d,%v) = %#x, want %#x", tc.a, tc.b, tc.bits, tc.signed, got, tc.want)
		}
	}
}

func TestSatS32(t *testing.T) {
	if addSatS32(math.MaxInt32, 1) != math.MaxInt32 || addSatS32(math.MinInt32, -1) != math.MinInt32 || addSatS32(5, -3) != 2 {
		t.Error("addSatS32")
	}
	if subSatS32(math.MinInt32, 1) != math.MinInt32 || subSatS32(math.MaxInt32, -1) != math.MaxInt32 ||
		subSatS32(0, math.MinInt32) != math.MaxInt32 || subSatS32(3, 5) != -2 {
		t.Error("subSatS32")
	}
}

func TestCvtInt(t *testing.T) {
	cases := []struct {
		x       uint64
		sb      int
		ss      bool
		db      int
		ds, sat bool
		want    uint64
	}{
		{0x80, 8, true, 32, true, false, 0xFFFFFF80},           // s8 -> s32 sign-extends
		{0x80, 8, false, 32, true, false, 0x80},                // u8 -> s32 zero-extends
		{0xFFFF, 16, true, 64, false, false, ^uint64(0)},       // s16 -> u64: extension follows the source
		{0xFFFF, 16, false, 64, false, false, 0xFFFF},          // u16 -> u64
		{0x12348765, 32, true, 16, true, false, 0x8765},        // chop
		{0x12348765, 32, true, 16, true, true, 0x7FFF},         // sat: 305432421 > 32767
		{0xFFFFFFFF, 32, true, 16, false, true, 0},             // -1 -> u16 sat
		{0xFFFFFFFF, 32, false, 32, true, true, 0x7FFFFFFF},    // u32 max -> s32
		{0xFFFFFFFF, 32, false, 32, true, false, 0xFFFFFFFF},   // no sat: bits kept
		{1 << 63, 64, true, 32, true, true, 0x80000000},        // INT64_MIN -> s32 min
		{0x80000000, 32, true, 32, false, true, 0},             // negative -> u32
		{0x100, 64, false, 8, false, true, 0xFF},               // u64 -> u8
		{0x80, 8, true, 8, false, true, 0},                     // s8 -128 -> u8
		{^uint64(0) - 4, 64, true, 64, false, true, 0},         // -5 -> u64
		{^uint64(0), 64, false, 64, true, true, math.MaxInt64}, // u64 max -> s64
		{0xFFFFFF38, 32, true, 8, true, true, 0x80},            // -200 -> s8 = -128
		{0xFFFFFF38, 32, true, 8, true, false, 0x38},           // chop
		{0xC8, 32, true, 8, true, true, 0x7F},                  // 200 -> 127
		{0x7F, 32, true, 8, true, true, 0x7F},                  // in range
		{0xFFFFFFFFFFFFFF85, 64, true, 8, true, true, 0x85},    // -123 in range
		{0x123456789, 64, false, 32, false, false, 0x23456789}, // chop
		{0x1FF, 8, false, 16, false, false, 0xFF},              // source truncated first
	}
	for _, tc := range cases {
		if got := cvtInt(tc.x, tc.sb, tc.ss, tc.db, tc.ds, tc.sat); got != tc.want {
			t.Errorf("cvtInt(%#x, %d/%v -> %d/%v sat=%v) = %#x, want %#x", tc.x, tc.sb, tc.ss, tc.db, tc.ds, tc.sat, got, tc.want)
		}
	}
}

// f32 helpers: bit patterns used by the rounding tests.
const (
	aluOne32      = 0x3F800000 // 1
	aluOnePlus1   = 0x3F800001 // 1 + 2^-23
	aluOnePlus2   = 0x3F800002 // 1 + 2^-22
	aluOnePlus3   = 0x3F800003 // 1 + 3*2^-23
	aluOneMinus1  = 0x3F7FFFFF // 1 - 2^-24
	aluP2m24      = 0x33800000 // 2^-24
	aluP2m24x15   = 0x33C00000 // 1.5*2^-24 = 0.75 ulp(1)
	aluP2m25x3    = 0x33400000 // 1.5*2^-25 = 0.375 ulp(1)
	aluP2m25      = 0x33000000 // 2^-25
	aluMaxBitsF32 = 0x7F7FFFFF
	aluInfF32     = 0x7F800000
	aluNanF32     = 0x7FFFFFFF
)

type aluF32Case struct {
	name    string
	a, b, c uint32
	want    [4]uint32 // rn rz rm rp
}

func aluCheckF32(t *testing.T, op string, f func(a, b, c float32, r rounding) float32, cases []aluF32Case) {
	t.Helper()
	for _, tc := range cases {
		for i, r := range aluModes {
			got := math.Float32bits(f(aluF32b(tc.a), aluF32b(tc.b), aluF32b(tc.c), r))
			if got != tc.want[i] {
				t.Errorf("%s %s .%s = %#08x, want %#08x", op, tc.name, aluModeName(r), got, tc.want[i])
			}
		}
	}
}

func TestAddSubMulF32Directed(t *testing.T) {
	add := func(a, b, _ float32, r rounding) float32 { return addF32(a, b, r, false) }
	sub := func(a, b, _ float32, r rounding) float32 { return subF32(a, b, r, false) }
	mul := func(a, b, _ float32, r rounding) float32 { return mulF32(a, b, r, false) }
	neg := uint32(0x80000000)
	aluCheckF32(t, "add", add, []aluF32Case{
		// 1 + 2^-24: exact midpoint of 1 and 1+2^-23; RN ties to even (1).
		{"1+2^-24", aluOne32, aluP2m24, 0, [4]uint32{aluOne32, aluOne32, aluOne32, aluOnePlus1}},
		{"-1-2^-24", aluOne32 | neg, aluP2m24 | neg, 0, [4]uint32{aluOne32 | neg, aluOne32 | neg, aluOnePlus1 | neg, aluOne32 | neg}},
		// 1 + 0.75*2^-23: above the midpoint -> RN up.
		{"1+0.75ulp", aluOne32, aluP2m24x15, 0, [4]uint32{aluOnePlus1, aluOne32, aluOne32, aluOnePlus1}},
		// 1 + 0.375 ulp: below the midpoint -> RN down.
		{"1+0.375ulp", aluOne32, aluP2m25x3, 0, [4]uint32{aluOne32, aluOne32, aluOne32, aluOnePlus1}},
		// (1+2^-23) + 2^-24: midpoint, RN to even = 1+2^-22.
		{"odd tie", aluOnePlus1, aluP2m24, 0, [4]uint32{aluOnePlus2, aluOnePlus1, aluOnePlus1, aluOnePlus2}},
		// overflow: 2*max -> RN Inf, RZ/RM max, RP Inf; mirrored for negatives.
		{"max+max", aluMaxBitsF32, aluMaxBitsF32, 0, [4]uint32{aluInfF32, aluMaxBitsF32, aluMaxBitsF32, aluInfF32}},
		{"-max-max", aluMaxBitsF32 | neg, aluMaxBitsF32 | neg, 0, [4]uint32{aluInfF32 | neg, aluMaxBitsF32 | neg, aluInfF32 | neg, aluMaxBitsF32 | neg}},
		// exact cancellation: +0 except in .rm (-0)
		{"1-1", aluOne32, aluOne32 | neg, 0, [4]uint32{0, 0, neg, 0}},
		{"-0+-0", neg, neg, 0, [4]uint32{neg, neg, neg, neg}},
		{"+0+-0", 0, neg, 0, [4]uint32{0, 0, neg, 0}},
		// huge + tiny: 1 + 2^-149 -> RP moves one ulp
		{"1+denorm", aluOne32, 1, 0, [4]uint32{aluOne32, aluOne32, aluOne32, aluOnePlus1}},
		{"1-denorm", aluOne32, 1 | neg, 0, [4]uint32{aluOne32, aluOneMinus1, aluOneMinus1, aluOne32}},
		// subnormal sum is exact
		{"den+den", 1, 1, 0, [4]uint32{2, 2, 2, 2}},
		{"inf+1", aluInfF32, aluOne32, 0, [4]uint32{aluInfF32, aluInfF32, aluInfF32, aluInfF32}},
		{"inf-inf", aluInfF32, aluInfF32 | neg, 0, [4]uint32{aluNanF32, aluNanF32, aluNanF32, aluNanF32}},
	})
	aluCheckF32(t, "sub", sub, []aluF32Case{
		// 1 - 2^-25: midpoint of 1-2^-24 (odd) and 1 (even)
		{"1-2^-25", aluOne32, aluP2m25, 0, [4]uint32{aluOne32, aluOneMinus1, aluOneMinus1, aluOne32}},
		{"1-2^-24", aluOne32, aluP2m24, 0, [4]uint32{aluOneMinus1, aluOneMinus1, aluOneMinus1, aluOneMinus1}}, // exact
		{"x-x", aluOnePlus3, aluOnePlus3, 0, [4]uint32{0, 0, neg, 0}},
		{"-0-+0", neg, 0, 0, [4]uint32{neg, neg, neg, neg}},
	})
	aluCheckF32(t, "mul", mul, []aluF32Case{
		// (1+2^-23)^2 = 1 + 2^-22 + 2^-46
		{"sq", aluOnePlus1, aluOnePlus1, 0, [4]uint32{aluOnePlus2, aluOnePlus2, aluOnePlus2, aluOnePlus3}},
		{"-sq", aluOnePlus1 | neg, aluOnePlus1, 0, [4]uint32{aluOnePlus2 | neg, aluOnePlus2 | neg, aluOnePlus3 | neg, aluOnePlus2 | neg}},
		// 2^-100 * 2^-100 = 2^-200: underflows; RP gives the smallest subnormal
		{"underflow", 0x0D800000, 0x0D800000, 0, [4]uint32{0, 0, 0, 1}},
		{"-underflow", 0x0D800000 | neg, 0x0D800000, 0, [4]uint32{neg, neg, neg | 1, neg}},
		// 2^100 * 2^100 overflows
		{"overflow", 0x71800000, 0x71800000, 0, [4]uint32{aluInfF32, aluMaxBitsF32, aluMaxBitsF32, aluInfF32}},
		// 0.75*2^-149 rounds: RN up to 2^-149 (above half), RZ/RM to 0
		{"denorm", 0x3F400000, 1, 0, [4]uint32{1, 0, 0, 1}},
		// 0.5*2^-149: tie -> RN even = 0
		{"denorm tie", 0x3F000000, 1, 0, [4]uint32{0, 0, 0, 1}},
		{"0*inf", 0, aluInfF32, 0, [4]uint32{aluNanF32, aluNanF32, aluNanF32, aluNanF32}},
	})
	// rndNone behaves as RN; integer modes are accepted as float modes.
	if got := math.Float32bits(addF32(1, aluF32b(aluP2m24), rndNone, false)); got != aluOne32 {
		t.Errorf("add rndNone = %#x", got)
	}
	// .ftz flushes inputs and the result.
	if got := math.Float32bits(addF32(aluF32b(1), 0, rndRN, true)); got != 0 {
		t.Errorf("add.ftz(denorm) = %#x", got)
	}
	if got := math.Float32bits(addF32(aluF32b(1), aluF32b(1), rndRN, false)); got != 2 {
		t.Errorf("add(denorm, denorm) = %#x", got)
	}
	if got := math.Float32bits(mulF32(aluF32b(0x0D800000), aluF32b(0x0D800000), rndRP, true)); got != 0 {
		t.Errorf("mul.rp.ftz underflow = %#x, want +0 (result flushed)", got)
	}
	if got := math.Float32bits(mulF32(aluF32b(0x20000000), aluF32b(0x1F000000|0x80000000), rndRN, true)); got != 0x80000000 {
		// 2^-63 * -2^-65 = -2^-128 (subnormal) -> flushed to -0
		t.Errorf("mul.ftz subnormal result = %#x", got)
	}
}

func TestFmaF32SingleRounding(t *testing.T) {
	// a = 1+2^-23, b = (1-2^-23)*2^-24, c = 1+2^-23.
	// a*b = (1-2^-46)*2^-24 = 2^-24 - 2^-70, so exactly
	//   v = 1 + 2^-23 + 2^-24 - 2^-70,
	// just below the midpoint between 1+2^-23 (odd) and 1+2^-22 (even).
	// Correct RN: 1+2^-23. float64 first rounds v to 1+2^-23+2^-24 (the
	// midpoint, since 2^-70 < half an f64 ulp), then float32 ties to even:
	// 1+2^-22 -- the double-rounding error fma must avoid.
	a, b, c := aluF32b(aluOnePlus1), aluF32b(0x337FFFFE), aluF32b(aluOnePlus1)
	if naive := math.Float32bits(float32(math.FMA(float64(a), float64(b), float64(c)))); naive != aluOnePlus2 {
		t.Fatalf("test construction: naive double rounding gives %#x, expected %#x", naive, aluOnePlus2)
	}
	fma := func(a, b, c float32, r rounding) float32 { return fmaF32(a, b, c, r, false) }
	neg := uint32(0x80000000)
	aluCheckF32(t, "fma", fma, []aluF32Case{
		{"double-round", aluOnePlus1, 0x337FFFFE, aluOnePlus1, [4]uint32{aluOnePlus1, aluOnePlus1, aluOnePlus1, aluOnePlus2}},
		// 1*1 - 1 = 0 exactly: +0, -0 in .rm
		{"cancel", aluOne32, aluOne32, aluOne32 | neg, [4]uint32{0, 0, neg, 0}},
		// (-0)*1 + (-0) = -0 in every mode
		{"-0", neg, aluOne32, neg, [4]uint32{neg, neg, neg, neg}},
		// (1+2^-23)^2 - 1 = 2^-22 + 2^-46 = 2^-22(1+2^-24): needs 25 bits, a tie
		// -> RN to even 2^-22 (0x34800000), RP 2^-22+2^-45 (0x34800001)
		{"residual", aluOnePlus1, aluOnePlus1, aluOne32 | neg, [4]uint32{0x34800000, 0x34800000, 0x34800000, 0x34800001}},
		// huge c, tiny product: 1 + 2^-149*2^-149 -> RP moves one ulp
		{"tiny", 1, 1, aluOne32, [4]uint32{aluOne32, aluOne32, aluOne32, aluOnePlus1}},
		{"tiny-", 1 | neg, 1, aluOne32, [4]uint32{aluOne32, aluOneMinus1, aluOneMinus1, aluOne32}},
		{"inf", aluInfF32, aluOne32, aluOne32, [4]uint32{aluInfF32, aluInfF32, aluInfF32, aluInfF32}},
		{"inf*0", aluInfF32, 0, aluOne32, [4]uint32{aluNanF32, aluNanF32, aluNanF32, aluNanF32}},
	})
}

func TestDivSqrtF32Directed(t *testing.T) {
	div := func(a, b, _ float32, r rounding) float32 { return divF32(a, b, r, false) }
	sqrt := func(a, _, _ float32, r rounding) float32 { return sqrtF32(a, r, false) }
	rcp := func(a, _, _ float32, r rounding) float32 { return rcpF32(a, r, false) }
	neg := uint32(0x80000000)
	// 1/3 = 2^-2 * 1.0101...; the 24-bit cut leaves 0.1010...b > 1/2 ulp,
	// so RN rounds up to 0x3EAAAAAB and the truncation is 0x3EAAAAAA.
	aluCheckF32(t, "div", div, []aluF32Case{
		{"1/3", aluOne32, 0x40400000, 0, [4]uint32{0x3EAAAAAB, 0x3EAAAAAA, 0x3EAAAAAA, 0x3EAAAAAB}},
		{"-1/3", aluOne32 | neg, 0x40400000, 0, [4]uint32{0xBEAAAAAB, 0xBEAAAAAA, 0xBEAAAAAB, 0xBEAAAAAA}},
		{"1/-3", aluOne32, 0x40400000 | neg, 0, [4]uint32{0xBEAAAAAB, 0xBEAAAAAA, 0xBEAAAAAB, 0xBEAAAAAA}},
		{"6/3", 0x40C00000, 0x40400000, 0, [4]uint32{0x40000000, 0x40000000, 0x40000000, 0x40000000}},
		{"max/0.5", aluMaxBitsF32, 0x3F000000, 0, [4]uint32{aluInfF32, aluMaxBitsF32, aluMaxBitsF32, aluInfF32}},
		{"den/2", 1, 0x40000000, 0, [4]uint32{0, 0, 0, 1}}, // 2^-150: tie -> 0
		{"1/0", aluOne32, 0, 0, [4]uint32{aluInfF32, aluInfF32, aluInfF32, aluInfF32}},
		{"0/0", 0, 0, 0, [4]uint32{aluNanF32, aluNanF32, aluNanF32, aluNanF32}},
	})
	aluCheckF32(t, "rcp", rcp, []aluF32Case{
		{"1/3", 0x40400000, 0, 0, [4]uint32{0x3EAAAAAB, 0x3EAAAAAA, 0x3EAAAAAA, 0x3EAAAAAB}},
		{"1/-0", neg, 0, 0, [4]uint32{aluInfF32 | neg, aluInfF32 | neg, aluInfF32 | neg, aluInfF32 | neg}},
	})
	// sqrt(2) = 1.41421356...; 0x3FB504F3 = 1.41421353... is below it and
	// 0x3FB504F4 = 1.41421365... above; the lower one is nearer.
	aluCheckF32(t, "sqrt", sqrt, []aluF32Case{
		{"2", 0x40000000, 0, 0, [4]uint32{0x3FB504F3, 0x3FB504F3, 0x3FB504F3, 0x3FB504F4}},
		{"4", 0x40800000, 0, 0, [4]uint32{0x40000000, 0x40000000, 0x40000000, 0x40000000}},
		{"-0", neg, 0, 0, [4]uint32{neg, neg, neg, neg}},
		{"-1", aluOne32 | neg, 0, 0, [4]uint32{aluNanF32, aluNanF32, aluNanF32, aluNanF32}},
		{"inf", aluInfF32, 0, 0, [4]uint32{aluInfF32, aluInfF32, aluInfF32, aluInfF32}},
	})
}

func TestF64Directed(t *testing.T) {
	type c64 struct {
		name string
		got  func(r rounding) float64
		want [4]uint64
	}
	const one, aluOnePlus1, aluOnePlus2, aluOneMinus1 = 0x3FF0000000000000, 0x3FF0000000000001, 0x3FF0000000000002, 0x3FEFFFFFFFFFFFFF
	negZero := uint64(1) << 63
	cases := []c64{
		// 1 + 2^-53: midpoint, RN to even (1)
		{"add tie", func(r rounding) float64 { return addF64(1, 0x1p-53, r) }, [4]uint64{one, one, one, aluOnePlus1}},
		{"add -tie", func(r rounding) float64 { return addF64(-1, -0x1p-53, r) }, [4]uint64{one | negZero, one | negZero, aluOnePlus1 | negZero, one | negZero}},
		{"add cancel", func(r rounding) float64 { return addF64(1, -1, r) }, [4]uint64{0, 0, negZero, 0}},
		{"sub cancel", func(r rounding) float64 { return subF64(2, 2, r) }, [4]uint64{0, 0, negZero, 0}},
		{"sub", func(r rounding) float64 { return subF64(1, 0x1p-54, r) }, [4]uint64{one, aluOneMinus1, aluOneMinus1, one}}, // 1 - 2^-54: below-half tie? 1-2^-54 is the midpoint of 1-2^-53 and 1
		{"add ovf", func(r rounding) float64 { return addF64(math.MaxFloat64, math.MaxFloat64, r) }, [4]uint64{0x7FF0000000000000, 0x7FEFFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF, 0x7FF0000000000000}},
		// (1+2^-52)^2 = 1 + 2^-51 + 2^-104
		{"mul", func(r rounding) float64 { return mulF64(aluF64b(aluOnePlus1), aluF64b(aluOnePlus1), r) }, [4]uint64{aluOnePlus2, aluOnePlus2, aluOnePlus2, aluOnePlus2 + 1}},
		{"mul uf", func(r rounding) float64 { return mulF64(0x1p-600, 0x1p-600, r) }, [4]uint64{0, 0, 0, 1}},
		{"mul -uf", func(r rounding) float64 { return mulF64(-0x1p-600, 0x1p-600, r) }, [4]uint64{negZero, negZero, negZero | 1, negZero}},
		// 1 + 2^-1200 and 1 - 2^-1200
		{"fma+", func(r rounding) float64 { return fmaF64(0x1p-600, 0x1p-600, 1, r) }, [4]uint64{one, one, one, aluOnePlus1}},
		{"fma-", func(r rounding) float64 { return fmaF64(-0x1p-600, 0x1p-600, 1, r) }, [4]uint64{one, aluOneMinus1, aluOneMinus1, one}},
		{"fma cancel", func(r rounding) float64 { return fmaF64(2, 3, -6, r) }, [4]uint64{0, 0, negZero, 0}},
		{"fma -0", func(r rounding) float64 { return fmaF64(math.Copysign(0, -1), 1, math.Copysign(0, -1), r) }, [4]uint64{negZero, negZero, negZero, negZero}},
		// 1/3: the bits after the cut are 0101... < half, so RN truncates
		{"div", func(r rounding) float64 { return divF64(1, 3, r) }, [4]uint64{0x3FD5555555555555, 0x3FD5555555555555, 0x3FD5555555555555, 0x3FD5555555555556}},
		{"div-", func(r rounding) float64 { return divF64(-1, 3, r) }, [4]uint64{0xBFD5555555555555, 0xBFD5555555555555, 0xBFD5555555555556, 0xBFD5555555555555}},
		{"rcp", func(r rounding) float64 { return rcpF64(3, r) }, [4]uint64{0x3FD5555555555555, 0x3FD5555555555555, 0x3FD5555555555555, 0x3FD5555555555556}},
		{"div ovf", func(r rounding) float64 { return divF64(math.MaxFloat64, 0.5, r) }, [4]uint64{0x7FF0000000000000, 0x7FEFFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF, 0x7FF0000000000000}},
		// sqrt(2): the f64 RN value 1.4142135623730951 is above sqrt(2)
		{"sqrt", func(r rounding) float64 { return sqrtF64(2, r) }, [4]uint64{0x3FF6A09E667F3BCD, 0x3FF6A09E667F3BCC, 0x3FF6A09E667F3BCC, 0x3FF6A09E667F3BCD}},
		{"sqrt4", func(r rounding) float64 { return sqrtF64(4, r) }, [4]uint64{0x4000000000000000, 0x4000000000000000, 0x4000000000000000, 0x4000000000000000}},
	}
	for _, tc := range cases {
		for i, r := range aluModes {
			if got := math.Float64bits(tc.got(r)); got != tc.want[i] {
				t.Errorf("%s .%s = %#016x, want %#016x", tc.name, aluModeName(r), got, tc.want[i])
			}
		}
	}
}

func TestRoundF64toF32AndCvtF64toF32(t *testing.T) {
	x := 1 + 0x1p-24 // midpoint in f32
	want := [4]uint32{aluOne32, aluOne32, aluOne32, aluOnePlus1}
	for i, r := range aluModes {
		if got := math.Float32bits(roundF64toF32(x, r)); got != want[i] {
			t.Errorf("roundF64toF32(1+2^-24, %s) = %#x", aluModeName(r), got)
		}
	}
	if got := math.Float32bits(cvtF64toF32(x, rndNone, false, false)); got != aluOne32 {
		t.Errorf("cvt none = %#x", got)
	}
	if got := math.Float32bits(cvtF64toF32(1e39, rndRN, false, false)); got != aluInfF32 {
		t.Errorf("cvt.rn 1e39 = %#x", got)
	}
	if got := math.Float32bits(cvtF64toF32(1e39, rndRZ, false, false)); got != aluMaxBitsF32 {
		t.Errorf("cvt.rz 1e39 = %#x", got)
	}
	if got := math.Float32bits(cvtF64toF32(-1e39, rndRP, false, false)); got != aluMaxBitsF32|0x80000000 {
		t.Errorf("cvt.rp -1e39 = %#x", got)
	}
	if got := cvtF64toF32(1.5, rndRN, false, true); got != 1 {
		t.Errorf("cvt.sat 1.5 = %v", got)
	}
	if got := math.Float32bits(cvtF64toF32(-0.5, rndRN, false, true)); got != 0 {
		t.Errorf("cvt.sat -0.5 = %#x", got)
	}
	if got := math.Float32bits(cvtF64toF32(math.NaN(), rndRN, false, true)); got != 0 {
		t.Errorf("cvt.sat NaN = %#x", got)
	}
	if got := math.Float32bits(cvtF64toF32(math.NaN(), rndRN, false, false)); got != aluNanF32 {
		t.Errorf("cvt NaN = %#x", got)
	}
	// 2^-140 is an f32 subnormal (bit 9): kept without .ftz, flushed with it.
	if got := math.Float32bits(cvtF64toF32(0x1p-140, rndRN, false, false)); got != 1<<9 {
		t.Errorf("cvt subnormal = %#x", got)
	}
	if got := math.Float32bits(cvtF64toF32(-0x1p-140, rndRN, true, false)); got != 0x80000000 {
		t.Errorf("cvt.ftz -subnormal = %#x", got)
	}
	// 2^-150 + 2^-200: just above half the smallest subnormal -> RN gives it
	if got := math.Float32bits(cvtF64toF32(0x1p-150+0x1p-200, rndRN, false, false)); got != 1 {
		t.Errorf("cvt tiny = %#x", got)
	}
	if got := math.Float32bits(cvtF64toF32(0x1p-150, rndRN, false, false)); got != 0 {
		t.Errorf("cvt tie-to-0 = %#x", got)
	}
}

func TestRoundIntegral(t *testing.T) {
	cases := []struct {
		x    float64
		r    rounding
		want float64
	}{
		{2.5, rndRNI, 2}, {-2.5, rndRNI, -2}, {3.5, rndRNI, 4}, {-1.7, rndRZI, -1},
		{-1.2, rndRMI, -2}, {1.2, rndRPI, 2}, {1.2, rndRMI, 1}, {-1.2, rndRPI, -1},
		{1e300, rndRNI, 1e300},
	}
	for _, tc := range cases {
		if got := roundIntegral64(tc.x, tc.r); got != tc.want {
			t.Errorf("roundIntegral64(%v,%s) = %v", tc.x, aluModeName(tc.r), got)
		}
		if got := roundIntegral32(float32(tc.x), tc.r); got != float32(tc.want) {
			t.Errorf("roundIntegral32(%v,%s) = %v", tc.x, aluModeName(tc.r), got)
		}
	}
	// signed zeros survive: rni(-0.4) = -0, rpi(-0.5) = -0, rzi(-0.9) = -0
	for _, tc := range []struct {
		x float32
		r rounding
	}{{-0.4, rndRNI}, {-0.5, rndRPI}, {-0.9, rndRZI}} {
		if got := math.Float32bits(roundIntegral32(tc.x, tc.r)); got != 0x80000000 {
			t.Errorf("roundIntegral32(%v,%s) = %#x, want -0", tc.x, aluModeName(tc.r), got)
		}
	}
	if got := math.Float32bits(roundIntegral32(aluF32b(0x7FC00001), rndRNI)); got != aluNanF32 {
		t.Errorf("roundIntegral32(NaN) = %#x", got)
	}
}

func TestCvtFloatToInt(t *testing.T) {
	nan := math.NaN()
	inf := math.Inf(1)
	cases := []struct {
		x      float64
		f32    bool
		r      rounding
		bits   int
		signed bool
		want   uint64
	}{
		{nan, true, rndRZI, 32, true, 0},           // f32 -> s32: 0
		{nan, true, rndRZI, 32, false, 0},          // f32 -> u32: 0
		{nan, false, rndRZI, 32, true, 0x80000000}, // f64 source: 1<<31
		{nan, false, rndRZI, 16, false, 0x8000},    // f64 -> u16: 1<<15
		{nan, true, rndRZI, 64, true, 1 << 63},     // 64-bit destination
		{nan, true, rndRZI, 64, false, 1 << 63},
		{inf, true, rndRZI, 32, true, 0x7FFFFFFF},
		{-inf, true, rndRZI, 32, true, 0x80000000},
		{inf, true, rndRZI, 32, false, 0xFFFFFFFF},
		{-inf, true, rndRZI, 32, false, 0},
		{inf, false, rndRZI, 64, true, math.MaxInt64},
		{-inf, false, rndRZI, 64, true, 1 << 63},
		{3e9, false, rndRZI, 32, true, 0x7FFFFFFF},
		{-3e9, false, rndRZI, 32, true, 0x80000000},
		{3e9, false, rndRZI, 32, false, 3000000000},
		{5e9, false, rndRZI, 32, false, 0xFFFFFFFF},
		{-0.5, false, rndRZI, 32, false, 0},
		{-1.5, false, rndRZI, 32, false, 0},         // negative -> 0 for unsigned
		{-1.5, false, rndRNI, 32, true, 0xFFFFFFFE}, // -2
		{-1.5, false, rndRZI, 32, true, 0xFFFFFFFF}, // -1
		{-1.5, false, rndRMI, 32, true, 0xFFFFFFFE},
		{-1.5, false, rndRPI, 32, true, 0xFFFFFFFF},
		{2.5, false, rndRNI, 32, true, 2},
		{3.5, false, rndRNI, 32, true, 4},
		{2.5, false, rndRPI, 32, true, 3},
		{2.5, false, rndRMI, 32, true, 2},
		{2.7, false, rndNone, 32, true, 2}, // treated as .rzi
		{200, false, rndRZI, 8, true, 0x7F},
		{-200, false, rndRZI, 8, true, 0x80},
		{300, false, rndRZI, 8, false, 0xFF},
		{-129.5, false, rndRNI, 8, true, 0x80}, // -130 clamps
		{-128.4, false, rndRNI, 8, true, 0x80}, // -128 in range
		{0x1p63, false, rndRZI, 64, true, math.MaxInt64},
		{-0x1p63, false, rndRZI, 64, true, 1 << 63},
		{1e19, false, rndRZI, 64, false, 10000000000000000000},
		{2e19, false, rndRZI, 64, false, ^uint64(0)},
		{0x1p64, false, rndRZI, 64, false, ^uint64(0)},
		{65535.9, false, rndRNI, 16, false, 0xFFFF}, // rounds to 65536 -> clamps
		{2147483647.4, false, rndRNI, 32, true, 0x7FFFFFFF},
		{2147483647.6, false, rndRNI, 32, true, 0x7FFFFFFF},
	}
	for _, tc := range cases {
		if got := cvtFloatToInt(tc.x, tc.f32, tc.r, tc.bits, tc.signed); got != tc.want {
			t.Errorf("cvtFloatToInt(%v, f32=%v, %s, %d, signed=%v) = %#x, want %#x", tc.x, tc.f32, aluModeName(tc.r), tc.bits, tc.signed, got, tc.want)
		}
	}
}

func TestCvtIntToFloat(t *testing.T) {
	type c struct {
		x      uint64
		bits   int
		signed bool
		want   [4]float64 // rn rz rm rp (exact float values)
	}
	f32cases := []c{
		// 2^24+1: midpoint of 2^24 and 2^24+2; RN ties to even 2^24.
		{1<<24 + 1, 32, false, [4]float64{1 << 24, 1 << 24, 1 << 24, 1<<24 + 2}},
		{uint64(0x100000000 - (1<<24 + 1)), 32, true, [4]float64{-(1 << 24), -(1 << 24), -(1<<24 + 2), -(1 << 24)}},
		// 2^60+2^36+1: above the f32 midpoint 2^60+2^36 (ulp 2^37) -> RN up.
		// Via float64 (ulp 2^8) it first becomes the midpoint and then ties
		// down to 2^60: the double rounding cvt must avoid.
		{1<<60 + 1<<36 + 1, 64, false, [4]float64{1<<60 + 1<<37, 1 << 60, 1 << 60, 1<<60 + 1<<37}},
		// 2^64-1: f32 ulp at 2^63 is 2^40
		{^uint64(0), 64, false, [4]float64{0x1p64, 0x1p64 - 0x1p40, 0x1p64 - 0x1p40, 0x1p64}},
		{^uint64(0), 64, true, [4]float64{-1, -1, -1, -1}},
		{1 << 63, 64, true, [4]float64{-0x1p63, -0x1p63, -0x1p63, -0x1p63}},
		{0xFF, 8, true, [4]float64{-1, -1, -1, -1}},
		{0xFF, 8, false, [4]float64{255, 255, 255, 255}},
		{0x1FF, 8, false, [4]float64{255, 255, 255, 255}}, // source truncated to 8 bits
		{0, 32, true, [4]float64{0, 0, 0, 0}},
		// 2^25+3 = 33554435: ulp 4 -> between 33554432 and 33554436, nearer the top
		{1<<25 + 3, 32, true, [4]float64{1<<25 + 4, 1 << 25, 1 << 25, 1<<25 + 4}},
	}
	for _, tc := range f32cases {
		for i, r := range aluModes {
			if got := cvtIntToF32(tc.x, tc.bits, tc.signed, r); float64(got) != tc.want[i] {
				t.Errorf("cvtIntToF32(%#x,%d,%v,%s) = %v, want %v", tc.x, tc.bits, tc.signed, aluModeName(r), got, tc.want[i])
			}
		}
	}
	if got := math.Float32bits(cvtIntToF32(0, 32, true, rndRM)); got != 0 {
		t.Errorf("cvtIntToF32(0, rm) = %#x, want +0", got)
	}
	f64cases := []c{
		{1<<53 + 1, 64, false, [4]float64{0x1p53, 0x1p53, 0x1p53, 0x1p53 + 2}},
		{1<<53 + 3, 64, false, [4]float64{0x1p53 + 4, 0x1p53 + 2, 0x1p53 + 2, 0x1p53 + 4}},
		{-(1<<53 + 1) & (1<<64 - 1), 64, true, [4]float64{-0x1p53, -0x1p53, -0x1p53 - 2, -0x1p53}},
		{^uint64(0), 64, false, [4]float64{0x1p64, 0x1p64 - 0x1p11, 0x1p64 - 0x1p11, 0x1p64}},
		{0xFFFFFFFF, 32, false, [4]float64{4294967295, 4294967295, 4294967295, 4294967295}},
		{0xFFFFFFFF, 32, true, [4]float64{-1, -1, -1, -1}},
	}
	for _, tc := range f64cases {
		for i, r := range aluModes {
			if got := cvtIntToF64(tc.x, tc.bits, tc.signed, r); got != tc.want[i] {
				t.Errorf("cvtIntToF64(%#x,%d,%v,%s) = %v, want %v", tc.x, tc.bits, tc.signed, aluModeName(r), got, tc.want[i])
			}
		}
	}
	if cvtIntToF32(1<<24+1, 32, false, rndNone) != 1<<24 {
		t.Error("rndNone should be RN")
	}
}

func TestMinMax(t *testing.T) {
	nan := aluF32b(0x7FC00000)
	negZero := float32(math.Copysign(0, -1))
	bitsOf := math.Float32bits
	if minF32(nan, 1, false) != 1 || minF32(1, nan, false) != 1 || maxF32(nan, -1, false) != -1 {
		t.Error("one NaN -> the other operand")
	}
	if bitsOf(minF32(nan, nan, false)) != aluNanF32 || bitsOf(maxF32(nan, nan, false)) != aluNanF32 {
		t.Error("both NaN -> canonical NaN")
	}
	if bitsOf(minF32(nan, 1, true)) != aluNanF32 || bitsOf(maxF32(1, nan, true)) != aluNanF32 {
		t.Error(".NaN propagates")
	}
	if minF32(1, 2, true) != 1 || maxF32(1, 2, true) != 2 {
		t.Error(".NaN without NaN")
	}
	if bitsOf(minF32(0, negZero, false)) != 0x80000000 || bitsOf(minF32(negZero, 0, false)) != 0x80000000 {
		t.Error("min(+0,-0) = -0")
	}
	if bitsOf(maxF32(0, negZero, false)) != 0 || bitsOf(maxF32(negZero, 0, false)) != 0 {
		t.Error("max(+0,-0) = +0")
	}
	if minF32(float32(math.Inf(-1)), 3, false) != float32(math.Inf(-1)) || maxF32(-3, -2, false) != -2 {
		t.Error("ordinary")
	}
	n64 := math.NaN()
	nz64 := math.Copysign(0, -1)
	if minF64(n64, 1, false) != 1 || maxF64(1, n64, false) != 1 || !math.IsNaN(minF64(n64, n64, false)) || !math.IsNaN(maxF64(1, n64, true)) {
		t.Error("f64 NaN rules")
	}
	if !math.Signbit(minF64(0, nz64, false)) || math.Signbit(maxF64(nz64, 0, false)) || minF64(3, 2, false) != 2 || maxF64(3, 2, false) != 3 {
		t.Error("f64 zeros/ordinary")
	}
}

func TestCopysignTestpSat(t *testing.T) {
	// PTX copysign d, a, b = b with a's sign.
	if copysignF32(-1, 2) != -2 || copysignF32(2, -3) != 3 || copysignF64(-1, 2) != -2 || copysignF64(2, -3) != 3 {
		t.Error("copysign order")
	}
	const (
		finite, infinite, number, notanumber, normal, subnormal = 0, 1, 2, 3, 4, 5
	)
	nan, inf, nz := math.NaN(), math.Inf(1), math.Copysign(0, -1)
	cases := []struct {
		k    uint8
		x    float64
		want bool
	}{
		{normal, 0, true}, {normal, nz, true}, {subnormal, 0, false}, {normal, 1e-310, false},
		{subnormal, 1e-310, true}, {normal, 0x1p-1022, true}, {finite, inf, false}, {infinite, -inf, true},
		{number, nan, false}, {notanumber, nan, true}, {normal, nan, false}, {normal, inf, false},
		{finite, 0, true}, {number, inf, true}, {subnormal, nan, false}, {infinite, 1, false}, {9, 1, false},
	}
	for _, tc := range cases {
		if got := testp(tc.k, tc.x); got != tc.want {
			t.Errorf("testp(%d,%v) = %v", tc.k, tc.x, got)
		}
	}
	if !testpF32(normal, 0) || !testpF32(subnormal, 1e-40) || testpF32(normal, 1e-40) || !testpF32(normal, 0x1p-126) ||
		testpF32(subnormal, 0x1p-126) || !testpF32(notanumber, aluF32b(aluNanF32)) {
		t.Error("testpF32")
	}
	if math.Float32bits(satF32(aluF32b(aluNanF32))) != 0 || math.Float32bits(satF32(float32(nz))) != 0 || satF32(2) != 1 ||
		satF32(0.5) != 0.5 || satF32(-3) != 0 || satF32(float32(inf)) != 1 {
		t.Error("satF32")
	}
	if satF64(nan) != 0 || math.Signbit(satF64(nz)) || satF64(7) != 1 || satF64(0.25) != 0.25 {
		t.Error("satF64")
	}
	if math.Float32bits(ftz32(aluF32b(0x80000001))) != 0x80000000 || ftz32(aluF32b(0x00800000)) != aluF32b(0x00800000) {
		t.Error("ftz32")
	}
	if math.Float32bits(canon32(aluF32b(0xFFC00001))) != aluNanF32 || canon32(1.5) != 1.5 {
		t.Error("canon32")
	}
}

func TestApprox(t *testing.T) {
	inf := float32(math.Inf(1))
	ninf := float32(math.Inf(-1))
	nz := float32(math.Copysign(0, -1))
	den := aluF32b(1) // 2^-149
	isNaN := func(x float32) bool { return math.Float32bits(x) == aluNanF32 }
	isNegZero := func(x float32) bool { return math.Float32bits(x) == 0x80000000 }
	near := func(got float32, want float64, tol float64) bool { return math.Abs(float64(got)-want) <= tol }

	// div.approx: 2^126 < |b| < 2^128 -> 0 (1/b is subnormal and flushed);
	// NaN when a is Inf; b = 0 -> Inf.
	if divApproxF32(1, 0x1p127, false) != 0 || !isNaN(divApproxF32(inf, 0x1p127, false)) {
		t.Error("div.approx huge divisor")
	}
	if divApproxF32(2, 0, false) != inf || divApproxF32(-2, 0, false) != ninf || !isNaN(divApproxF32(0, 0, false)) {
		t.Error("div.approx /0")
	}
	if !near(divApproxF32(6, 3, false), 2, 4*0x1p-23) || !near(divApproxF32(1, 0x1p126, false), 0x1p-126, 0x1p-146) {
		t.Error("div.approx value")
	}
	// div.full: full range, 1/2^127 = 2^-127 (subnormal, kept without .ftz)
	if divFullF32(1, 0x1p127, false) != 0x1p-127 || divFullF32(1, 0x1p127, true) != 0 || divFullF32(6, 3, false) != 2 {
		t.Error("div.full")
	}
	// rcp.approx: ±0 -> ±Inf, ±Inf -> ±0, subnormal -> Inf (7.6 table)
	if rcpApproxF32(0, false) != inf || rcpApproxF32(nz, false) != ninf || rcpApproxF32(inf, false) != 0 ||
		!isNegZero(rcpApproxF32(ninf, false)) || rcpApproxF32(den, false) != inf || rcpApproxF32(2, false) != 0.5 {
		t.Error("rcp.approx specials")
	}
	if !isNaN(sqrtApproxF32(-1, false)) || !isNegZero(sqrtApproxF32(nz, false)) || sqrtApproxF32(4, false) != 2 || sqrtApproxF32(inf, false) != inf {
		t.Error("sqrt.approx")
	}
	if sqrtApproxF32(den, true) != 0 || sqrtApproxF32(den, false) == 0 {
		t.Error("sqrt.approx ftz")
	}
	if rsqrtApproxF32(0, false) != inf || rsqrtApproxF32(nz, false) != ninf || rsqrtApproxF32(inf, false) != 0 ||
		rsqrtApproxF32(4, false) != 0.5 || !isNaN(rsqrtApproxF32(-1, false)) || rsqrtApproxF32(den, true) != inf {
		t.Error("rsqrt.approx")
	}
	if !isNaN(sinApproxF32(inf, false)) || !isNaN(cosApproxF32(ninf, false)) || !isNegZero(sinApproxF32(nz, false)) ||
		cosApproxF32(0, false) != 1 || !near(sinApproxF32(math.Pi/2, false), 1, 0x1p-20) || !near(cosApproxF32(math.Pi, false), -1, 0x1p-20) {
		t.Error("sin/cos.approx")
	}
	if lg2ApproxF32(0, false) != ninf || lg2ApproxF32(nz, false) != ninf || !isNaN(lg2ApproxF32(-1, false)) ||
		lg2ApproxF32(8, false) != 3 || lg2ApproxF32(inf, false) != inf || lg2ApproxF32(den, false) != -149 || lg2ApproxF32(den, true) != ninf {
		t.Error("lg2.approx")
	}
	if ex2ApproxF32(ninf, false) != 0 || ex2ApproxF32(0, false) != 1 || ex2ApproxF32(nz, false) != 1 ||
		ex2ApproxF32(3, false) != 8 || ex2ApproxF32(128, false) != inf || ex2ApproxF32(-149, false) != den || ex2ApproxF32(-149, true) != 0 {
		t.Error("ex2.approx")
	}
	if tanhApproxF32(inf, false) != 1 || tanhApproxF32(ninf, false) != -1 || !isNegZero(tanhApproxF32(nz, false)) || !isNaN(tanhApproxF32(aluF32b(aluNanF32), false)) {
		t.Error("tanh.approx")
	}
	// rcp.approx.ftz.f64: uses the high word only; low result word is 0.
	if rcpApproxFtzF64(2) != 0.5 || rcpApproxFtzF64(1+0x1p-40) != 1 || rcpApproxFtzF64(0) != math.Inf(1) ||
		rcpApproxFtzF64(math.Copysign(0, -1)) != math.Inf(-1) || rcpApproxFtzF64(5e-324) != math.Inf(1) ||
		rcpApproxFtzF64(math.Inf(-1)) != 0 || !math.IsNaN(rcpApproxFtzF64(math.NaN())) {
		t.Error("rcp.approx.ftz.f64 specials")
	}
	if r := rcpApproxFtzF64(3); math.Float64bits(r)&0xffffffff != 0 || math.Abs(r-1.0/3) > 0x1p-20 {
		t.Errorf("rcp.approx.ftz.f64(3) = %v", r)
	}
	if rsqrtApproxF64(4) != 0.5 || rsqrtApproxF64(0) != math.Inf(1) || rsqrtApproxF64(math.Copysign(0, -1)) != math.Inf(-1) ||
		rsqrtApproxF64(math.Inf(1)) != 0 || !math.IsNaN(rsqrtApproxF64(-1)) {
		t.Error("rsqrt.approx.f64")
	}
}

func TestF16(t *testing.T) {
	cases := []struct {
		x    float32
		want [4]uint16 // rn rz rm rp
	}{
		{1, [4]uint16{0x3C00, 0x3C00, 0x3C00, 0x3C00}},
		{-2, [4]uint16{0xC000, 0xC000, 0xC000, 0xC000}},
		{65504, [4]uint16{0x7BFF, 0x7BFF, 0x7BFF, 0x7BFF}},
		// 65520 = midpoint of 65504 and 65536 (=2^16, beyond max): RN -> Inf
		{65520, [4]uint16{0x7C00, 0x7BFF, 0x7BFF, 0x7C00}},
		{65519, [4]uint16{0x7BFF, 0x7BFF, 0x7BFF, 0x7C00}},
		{1e6, [4]uint16{0x7C00, 0x7BFF, 0x7BFF, 0x7C00}},
		{-1e6, [4]uint16{0xFC00, 0xFBFF, 0xFC00, 0xFBFF}},
		{0x1p-24, [4]uint16{1, 1, 1, 1}},                 // smallest subnormal
		{0x1p-25, [4]uint16{0, 0, 0, 1}},                 // tie -> even 0
		{0x1.8p-25, [4]uint16{1, 0, 0, 1}},               // 0.75 * 2^-24
		{0x1.8p-24, [4]uint16{2, 1, 1, 2}},               // 1.5 * 2^-24: tie -> even 2
		{0x1p-14, [4]uint16{0x400, 0x400, 0x400, 0x400}}, // min normal
		// 0.1f = 1.6000000238 * 2^-4: frac 0.6*1024 = 614.4 -> 614 (0x266)
		{0.1, [4]uint16{0x2E66, 0x2E66, 0x2E66, 0x2E67}},
		{-0.1, [4]uint16{0xAE66, 0xAE66, 0xAE67, 0xAE66}},
		{float32(math.Copysign(0, -1)), [4]uint16{0x8000, 0x8000, 0x8000, 0x8000}},
		{float32(math.Inf(1)), [4]uint16{0x7C00, 0x7C00, 0x7C00, 0x7C00}},
		{aluF32b(aluNanF32), [4]uint16{0x7FFF, 0x7FFF, 0x7FFF, 0x7FFF}},
		{2049, [4]uint16{0x6800, 0x6800, 0x6800, 0x6801}}, // ulp 2 at 2048: tie -> even 2048
	}
	for _, tc := range cases {
		for i, r := range aluModes {
			if got := f32toF16(tc.x, r); got != tc.want[i] {
				t.Errorf("f32toF16(%v,%s) = %#04x, want %#04x", tc.x, aluModeName(r), got, tc.want[i])
			}
		}
	}
	// decoding: 0x3555 = 1.0101010101b * 2^-2 = (1+341/1024)/4
	dec := []struct {
		h    uint16
		want float32
	}{{0x3C00, 1}, {0x0001, 0x1p-24}, {0x7BFF, 65504}, {0xFC00, float32(math.Inf(-1))}, {0x3555, 0.333251953125}, {0x0400, 0x1p-14}, {0x03FF, 1023 * 0x1p-24}}
	for _, tc := range dec {
		if got := f16toF32(tc.h); got != tc.want {
			t.Errorf("f16toF32(%#x) = %v, want %v", tc.h, got, tc.want)
		}
	}
	if math.Float32bits(f16toF32(0x8000)) != 0x80000000 || math.Float32bits(f16toF32(0x7E00)) != aluNanF32 {
		t.Error("f16toF32 -0/NaN")
	}
	// round trip: every non-NaN half is exact in f32 and converts back in every mode
	for h := 0; h < 1<<16; h++ {
		if h&0x7C00 == 0x7C00 && h&0x3FF != 0 {
			continue
		}
		f := f16toF32(uint16(h))
		for _, r := range aluModes {
			if got := f32toF16(f, r); got != uint16(h) {
				t.Fatalf("round trip %#04x -> %v -> %#04x (%s)", h, f, got, aluModeName(r))
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Randomized comparison against math/big.

var aluBigModes = map[rounding]big.RoundingMode{rndRN: big.ToNearestEven, rndRZ: big.ToZero, rndRM: big.ToNegativeInf, rndRP: big.ToPositiveInf}

// aluRefRound rounds an exact, finite, nonzero big.Float to a binary format
// (p bits, smallest ulp 2^eminUlp, largest exponent emax) using big's own
// rounding at the precision available at that magnitude.
func aluRefRound(v *big.Float, p, eminUlp, emax int, r rounding) float64 {
	neg := v.Signbit()
	e := v.MantExp(nil) // |v| in [2^(e-1), 2^e)
	prec := p
	if e-p < eminUlp {
		prec = e - eminUlp
	}
	var res float64
	if prec <= 0 {
		// |v| < 2^eminUlp: result is 0 or the smallest subnormal
		tiny := math.Ldexp(1, eminUlp)
		abs := new(big.Float).Abs(v)
		half := new(big.Float).SetMantExp(big.NewFloat(1), eminUlp-1)
		up := false
		switch r {
		case rndRN:
			up = abs.Cmp(half) > 0
		case rndRM:
			up = neg
		case rndRP:
			up = !neg
		}
		if up {
			res = tiny
		}
	} else {
		z := new(big.Float).SetPrec(uint(prec)).SetMode(aluBigModes[r]).Set(v)
		if z.MantExp(nil)-1 >= emax+1 { // |z| >= 2^(emax+1): overflow
			if r == rndRN || (r == rndRM && neg) || (r == rndRP && !neg) {
				res = math.Inf(1)
			} else {
				res = math.Ldexp(math.Ldexp(1, p)-1, emax-p+1)
			}
		} else {
			res, _ = new(big.Float).Abs(z).Float64() // exact: z fits the format
		}
	}
	if neg {
		res = -res
	}
	return res
}

func aluRandF32(rng *rand.Rand) float32 {
	for {
		var b uint32
		switch rng.Intn(4) {
		case 0: // any bit pattern
			b = rng.Uint32()
		case 1: // moderate exponents
			b = uint32(rng.Intn(2))<<31 | uint32(110+rng.Intn(40))<<23 | rng.Uint32()&0x7FFFFF
		case 2: // few mantissa bits set -> many exact ties
			b = uint32(rng.Intn(2))<<31 | uint32(100+rng.Intn(60))<<23 | (rng.Uint32()&0x7)<<uint(rng.Intn(21))
		default: // subnormal / tiny
			b = uint32(rng.Intn(2))<<31 | uint32(rng.Intn(3))<<23 | rng.Uint32()&0x7FFFFF
		}
		f := math.Float32frombits(b)
		if !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) {
			return f
		}
	}
}

func aluExactBig(x float64) *big.Float { return new(big.Float).SetPrec(5000).SetFloat64(x) }

func TestRandomF32VsBig(t *testing.T) {
	rng := rand.New(rand.NewSource(12345))
	ops := []struct {
		name string
		f    func(a, b, c float32, r rounding) float32
		v    func(a, b, c float32) *big.Float
	}{
		{"add", func(a, b, _ float32, r rounding) float32 { return addF32(a, b, r, false) },
			func(a, b, _ float32) *big.Float {
				return aluExactBig(0).Add(aluExactBig(float64(a)), aluExactBig(float64(b)))
			}},
		{"sub", func(a, b, _ float32, r rounding) float32 { return subF32(a, b, r, false) },
			func(a, b, _ float32) *big.Float {
				return aluExactBig(0).Sub(aluExactBig(float64(a)), aluExactBig(float64(b)))
			}},
		{"mul", func(a, b, _ float32, r rounding) float32 { return mulF32(a, b, r, false) },
			func(a, b, _ float32) *big.Float {
				return aluExactBig(0).Mul(aluExactBig(float64(a)), aluExactBig(float64(b)))
			}},
		{"fma", func(a, b, c float32, r rounding) float32 { return fmaF32(a, b, c, r, false) },
			func(a, b, c float32) *big.Float {
				p := aluExactBig(0).Mul(aluExactBig(float64(a)), aluExactBig(float64(b)))
				return p.Add(p, aluExactBig(float64(c)))
			}},
	}
	for i := 0; i < 4000; i++ {
		a, b, c := aluRandF32(rng), aluRandF32(rng), aluRandF32(rng)
		if i%3 == 0 { // force near-cancellation for fma/add
			c = -float32(float64(a) * float64(b))
			if rng.Intn(2) == 0 {
				b = -a
			}
		}
		for _, op := range ops {
			v := op.v(a, b, c)
			if v.Sign() == 0 {
				continue // zero signs are covered by the table tests
			}
			for _, r := range aluModes {
				want := float32(aluRefRound(v, 24, -149, 127, r))
				got := op.f(a, b, c, r)
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s(%#x,%#x,%#x) .%s = %#x, want %#x", op.name, math.Float32bits(a), math.Float32bits(b), math.Float32bits(c),
						aluModeName(r), math.Float32bits(got), math.Float32bits(want))
				}
			}
		}
	}
}

func aluRandF64(rng *rand.Rand) float64 {
	for {
		var b uint64
		switch rng.Intn(4) {
		case 0:
			b = rng.Uint64()
		case 1:
			b = uint64(rng.Intn(2))<<63 | uint64(1000+rng.Intn(48))<<52 | rng.Uint64()&(1<<52-1)
		case 2:
			b = uint64(rng.Intn(2))<<63 | uint64(990+rng.Intn(60))<<52 | (rng.Uint64()&7)<<uint(rng.Intn(50))
		default:
			b = uint64(rng.Intn(2))<<63 | uint64(rng.Intn(3))<<52 | rng.Uint64()&(1<<52-1)
		}
		f := math.Float64frombits(b)
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
	}
}

func TestRandomF64AndF32DivSqrtVsBig(t *testing.T) {
	rng := rand.New(rand.NewSource(777))
	for i := 0; i < 1500; i++ {
		a, b, c := aluRandF64(rng), aluRandF64(rng), aluRandF64(rng)
		if i%3 == 0 {
			c = -(a * b)
		}
		vals := map[string]*big.Float{
			"add": aluExactBig(0).Add(aluExactBig(a), aluExactBig(b)),
			"mul": aluExactBig(0).Mul(aluExactBig(a), aluExactBig(b)),
		}
		p := aluExactBig(0).Mul(aluExactBig(a), aluExactBig(b))
		vals["fma"] = p.Add(p, aluExactBig(c))
		for name, v := range vals {
			if v.Sign() == 0 {
				continue
			}
			for _, r := range aluModes {
				want := aluRefRound(v, 53, -1074, 1023, r)
				var got float64
				switch name {
				case "add":
					got = addF64(a, b, r)
				case "mul":
					got = mulF64(a, b, r)
				case "fma":
					got = fmaF64(a, b, c, r)
				}
				if math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("%s(%x,%x,%x) .%s = %x, want %x", name, a, b, c, aluModeName(r), got, want)
				}
			}
		}
		// division and sqrt: the quotient is generally not finite in binary,
		// so compare with big's correctly rounded quotient at the target
		// precision when the result is normal (big has no subnormals).
		if b != 0 {
			for _, r := range aluModes {
				got := divF64(a, b, r)
				if a == 0 || math.Abs(got) <= 0x1p-1022 || math.Abs(got) >= math.MaxFloat64 {
					continue
				}
				want, _ := new(big.Float).SetPrec(53).SetMode(aluBigModes[r]).Quo(aluExactBig(a), aluExactBig(b)).Float64()
				if got != want {
					t.Fatalf("div(%x,%x) .%s = %x, want %x", a, b, aluModeName(r), got, want)
				}
			}
		}
		if sa := math.Abs(a); sa != 0 {
			for _, r := range aluModes {
				got := sqrtF64(sa, r)
				if !aluSqrtBracket64(got, sa, r) {
					t.Fatalf("sqrt(%x) .%s = %x: not the rounded root", sa, aluModeName(r), got)
				}
			}
		}
		fa, fb := aluRandF32(rng), aluRandF32(rng)
		if fb != 0 {
			for _, r := range aluModes {
				got := divF32(fa, fb, r, false)
				if fa == 0 || math.Abs(float64(got)) <= 0x1p-126 || math.Abs(float64(got)) >= math.MaxFloat32 {
					continue
				}
				want, _ := new(big.Float).SetPrec(24).SetMode(aluBigModes[r]).Quo(aluExactBig(float64(fa)), aluExactBig(float64(fb))).Float32()
				if got != want {
					t.Fatalf("divF32(%x,%x) .%s = %x, want %x", fa, fb, aluModeName(r), got, want)
				}
			}
		}
		if sa := float32(math.Abs(float64(fa))); sa != 0 {
			for _, r := range aluModes {
				got := sqrtF32(sa, r, false)
				if !aluSqrtBracket32(got, sa, r) {
					t.Fatalf("sqrtF32(%x) .%s = %x", sa, aluModeName(r), got)
				}
			}
		}
	}
}

// aluSqrtBracket64 checks, exactly, that q is the directed rounding of sqrt(a)
// at f64 precision: RZ/RM: q^2 <= a < next(q)^2, RP: prev(q)^2 < a <= q^2,
// RN: q is the nearer of its neighbours (checked via midpoints).
func aluSqrtBracket64(q, a float64, r rounding) bool {
	sq := func(x float64) *big.Float { b := aluExactBig(x); return aluExactBig(0).Mul(b, b) }
	A := aluExactBig(a)
	up, down := math.Nextafter(q, math.Inf(1)), math.Nextafter(q, 0)
	switch r {
	case rndRZ, rndRM:
		return sq(q).Cmp(A) <= 0 && A.Cmp(sq(up)) < 0
	case rndRP:
		return sq(down).Cmp(A) < 0 && A.Cmp(sq(q)) <= 0
	}
	lo := aluExactBig(0).Add(aluExactBig(q), aluExactBig(down))
	lo.Quo(lo, aluExactBig(2))
	hi := aluExactBig(0).Add(aluExactBig(q), aluExactBig(up))
	hi.Quo(hi, aluExactBig(2))
	return aluExactBig(0).Mul(lo, lo).Cmp(A) <= 0 && A.Cmp(aluExactBig(0).Mul(hi, hi)) <= 0
}

// aluSqrtBracket32 is aluSqrtBracket64 on the f32 grid.
func aluSqrtBracket32(q, a float32, r rounding) bool {
	sq := func(x float32) *big.Float { b := aluExactBig(float64(x)); return aluExactBig(0).Mul(b, b) }
	A := aluExactBig(float64(a))
	up, down := math.Nextafter32(q, float32(math.Inf(1))), math.Nextafter32(q, 0)
	switch r {
	case rndRZ, rndRM:
		return sq(q).Cmp(A) <= 0 && A.Cmp(sq(up)) < 0
	case rndRP:
		return sq(down).Cmp(A) < 0 && A.Cmp(sq(q)) <= 0
	}
	lo := aluExactBig(0).Add(aluExactBig(float64(q)), aluExactBig(float64(down)))
	lo.Quo(lo, aluExactBig(2))
	hi := aluExactBig(0).Add(aluExactBig(float64(q)), aluExactBig(float64(up)))
	hi.Quo(hi, aluExactBig(2))
	return aluExactBig(0).Mul(lo, lo).Cmp(A) <= 0 && A.Cmp(aluExactBig(0).Mul(hi, hi)) <= 0
}

// TestAddCarryOracle checks add.cc/addc/sub.cc/subc against big-integer
// arithmetic: the sum is (x + y' + cin) mod 2^n with y' = y, or 2^n-1-y for
// a subtraction, and the carry is whether that sum reaches 2^n.
func TestAddCarryOracle(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	edge := []uint64{0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 1 << 32, 1<<63 - 1, 1 << 63, ^uint64(0) - 1, ^uint64(0)}
	for _, nb := range []int{16, 32, 64} {
		mod := new(big.Int).Lsh(big.NewInt(1), uint(nb))
		for i := range 4000 {
			var x, y uint64
			if i < len(edge)*len(edge) {
				x, y = edge[i%len(edge)], edge[i/len(edge)]
			} else {
				x, y = r.Uint64(), r.Uint64()
			}
			for _, sub := range []bool{false, true} {
				for cin := range uint64(2) {
					bx := new(big.Int).SetUint64(trunc(x, nb))
					by := new(big.Int).SetUint64(trunc(y, nb))
					if sub {
						by.Sub(new(big.Int).Sub(mod, big.NewInt(1)), by)
					}
					s := new(big.Int).Add(bx, by)
					s.Add(s, new(big.Int).SetUint64(cin))
					wantC := uint64(0)
					if s.Cmp(mod) >= 0 {
						wantC = 1
						s.Sub(s, mod)
					}
					v, c := addCarry(x, y, cin, nb, sub)
					if v != s.Uint64() || c != wantC {
						t.Fatalf("addCarry(%#x, %#x, %d, %d, sub=%v) = %#x, %d; want %#x, %d", x, y, cin, nb, sub, v, c, s.Uint64(), wantC)
					}
				}
			}
		}
	}
	// By hand: 5 - 3 (sub.cc, cin 1) is 2 with CF = 1 (no borrow); 3 - 5
	// is -2 with CF = 0; subc of 0 - 0 with CF = 0 is -1 (borrowed).
	for _, c := range []struct{ x, y, cin, v, c uint64 }{{5, 3, 1, 2, 1}, {3, 5, 1, 0xfffffffe, 0}, {0, 0, 0, 0xffffffff, 0}, {0, 0, 1, 0, 1}} {
		if v, cf := addCarry(c.x, c.y, c.cin, 32, true); v != c.v || cf != c.c {
			t.Errorf("sub %d - %d, cin %d: %#x CF %d, want %#x CF %d", c.x, c.y, c.cin, v, cf, c.v, c.c)
		}
	}
}

// The binary16 conversions of cvt through fmtF16, as the tests above
// call them.

// f32toF16 rounds an f32 to binary16 with mode r (cvt.rnd.f16.f32): .rn
// overflow gives Inf, .rz 65504; NaN gives the canonical 0x7fff.
func f32toF16(x float32, r rounding) uint16 {
	return uint16(fmtF16.fromF64(float64(x), r, false))
}

// f16toF32 widens binary16 to f32 (cvt.f32.f16): exact; NaN gives the
// canonical f32 NaN.
func f16toF32(h uint16) float32 {
	v := fmtF16.toF64(uint64(h))
	if v != v {
		return math.Float32frombits(aluCanonNaN32)
	}
	return float32(v)
}
