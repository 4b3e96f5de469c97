package cpuemu

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

// Hand-derived values for dp4a, dp2a, bmsk, szext and mul24.hi, from the
// PTX ISA's definitions (see the comment on each case), then the same
// functions against references written another way, on random operands.

func TestDotProducts(t *testing.T) {
	for _, c := range []struct {
		a, b, c uint32
		as, bs  bool
		n       int // 4: dp4a; 2: dp2a.lo; -2: dp2a.hi
		want    uint32
	}{
		// bytes 04 03 02 01 . 08 07 06 05: 32+21+12+5 = 70, + 10
		{0x01020304, 0x05060708, 10, false, false, 4, 80},
		// a's bytes are -1 each: -(4+3+2+1)
		{0xffffffff, 0x01020304, 0, true, false, 4, 0xfffffff6},
		// (-128)(-128) four times = 65536, + (-1)
		{0x80808080, 0x80808080, 0xffffffff, true, true, 4, 65535},
		// 128 * (-128) four times = -65536
		{0x80808080, 0x80808080, 0, false, true, 4, 0xffff0000},
		// 4 * 255 * 255 = 260100, + 2^32-1 wraps to 260099
		{0xffffffff, 0xffffffff, 0xffffffff, false, false, 4, 260099},
		// halves 2, 3; bytes 0d 0c 0b 0a: lo 2*13+3*12 = 62, hi 2*11+3*10 = 52
		{0x00030002, 0x0a0b0c0d, 0, false, false, 2, 62},
		{0x00030002, 0x0a0b0c0d, 0, false, false, -2, 52},
		// halves -32768, -1; bytes 1, -1, -128, 127:
		// lo -32768 + 1 = -32767; hi 4194304 - 127 = 4194177
		{0xffff8000, 0x7f80ff01, 0, true, true, 2, 0xffff8001},
		{0xffff8000, 0x7f80ff01, 0, true, true, -2, 0x3fff81},
		// unsigned: lo 32768*1 + 65535*255 = 16744193; hi 32768*128 + 65535*127 = 12517249
		{0xffff8000, 0x7f80ff01, 0, false, false, 2, 16744193},
		{0xffff8000, 0x7f80ff01, 0, false, false, -2, 12517249},
		// a unsigned, b signed, hi: 32768*(-128) + 65535*127 + 100 = 4128741
		{0xffff8000, 0x7f80ff01, 100, false, true, -2, 4128741},
	} {
		var got uint32
		switch c.n {
		case 4:
			got = dp4a(c.a, c.b, c.c, c.as, c.bs)
		default:
			got = dp2a(c.a, c.b, c.c, c.as, c.bs, c.n < 0)
		}
		if got != c.want {
			t.Errorf("dp(%d) %#x %#x %#x signed %v/%v = %#x, want %#x", c.n, c.a, c.b, c.c, c.as, c.bs, got, c.want)
		}
	}
}

func TestBmskSzext(t *testing.T) {
	for _, c := range []struct {
		a, b  uint32
		clamp bool
		want  uint32
	}{
		{1, 2, false, 6},           // the ISA's example
		{1, 2, true, 6},            //
		{0, 31, true, 0x7fffffff},  //
		{31, 1, true, 0x80000000},  //
		{4, 0, true, 0},            // width 0
		{28, 8, false, 0xf0000000}, // runs past bit 31: stops there
		{28, 8, true, 0xf0000000},  //
		{0, 32, true, 0xffffffff},  // clamp: b >= 32 is every bit from a
		{8, 100, true, 0xffffff00}, //
		{0, 32, false, 0},          // wrap: 32 is 0 bits
		{33, 2, false, 6},          // wrap: a = 33 is 1
		{33, 2, true, 0},           // clamp: a >= 32 gives 0
		{3, 35, false, 0x38},       // wrap: 3 bits from 3
	} {
		if got := bmsk(c.a, c.b, c.clamp); got != c.want {
			t.Errorf("bmsk(%d, %d, clamp %v) = %#x, want %#x", c.a, c.b, c.clamp, got, c.want)
		}
	}
	for _, c := range []struct {
		a, b          uint32
		clamp, signed bool
		want          uint32
	}{
		{0xffffffff, 0, false, false, 0},          // the ISA's example
		{0xffffffff, 0, true, true, 0},            // N = 0 gives 0
		{0x80, 8, true, true, 0xffffff80},         //
		{0x80, 8, true, false, 0x80},              //
		{0x17f, 8, true, true, 0x7f},              // bits above N go
		{0xabcd, 16, false, true, 0xffffabcd},     //
		{0xffffffff, 1, true, true, 0xffffffff},   //
		{0xffffffff, 1, true, false, 1},           //
		{0x12345678, 32, true, true, 0x12345678},  // clamp: N >= 32 keeps a
		{0x92345678, 99, true, false, 0x92345678}, //
		{0x12345678, 32, false, true, 0},          // wrap: 32 is 0
		{0x12345678, 36, false, true, 0xfffffff8}, // wrap: 36 is 4; 0x8 has its sign bit set
		{0x12345678, 36, false, false, 8},         //
	} {
		if got := szext(c.a, c.b, c.clamp, c.signed); got != c.want {
			t.Errorf("szext(%#x, %d, clamp %v, signed %v) = %#x, want %#x", c.a, c.b, c.clamp, c.signed, got, c.want)
		}
	}
}

func TestMul24Hi(t *testing.T) {
	for _, c := range []struct {
		a, b   uint32
		signed bool
		want   uint32
	}{
		{0xffffff, 0xffffff, false, 0xfffffe00}, // (2^24-1)^2 = 0xfffffe000001
		{0xffffff, 0xffffff, true, 0},           // (-1)(-1) = 1
		{0x800000, 0x800000, true, 0x40000000},  // (-2^23)^2 = 2^46
		{0x800000, 0x7fffff, true, 0xc0000080},  // -(2^46 - 2^23) >> 16 = -(2^30 - 2^7)
		{0xff000002, 0x01800000, false, 256},    // the top bytes are ignored: 2 * 2^23 = 2^24
		{0x00ffffff, 1, true, 0xffffffff},       // -1 >> 16 is -1
	} {
		if got := mul24Hi(c.a, c.b, c.signed); got != c.want {
			t.Errorf("mul24Hi(%#x, %#x, signed %v) = %#x, want %#x", c.a, c.b, c.signed, got, c.want)
		}
	}
}

// TestIntegerOracle checks the same functions against references written
// from the definitions' words rather than the ISA's pseudo-code.
func TestIntegerOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ext := func(v uint32, bits uint, signed bool) int64 {
		v &= 1<<bits - 1
		if signed && v>>(bits-1) != 0 {
			return int64(v) - 1<<bits
		}
		return int64(v)
	}
	for i := 0; i < 200000; i++ {
		a, b, c := r.Uint32(), r.Uint32(), r.Uint32()
		if i%4 == 0 {
			b = r.Uint32N(70) // shift-sized operands too
		}
		as, bs := r.IntN(2) == 1, r.IntN(2) == 1
		// dp4a: four byte products.
		want := int64(c)
		for k := uint(0); k < 4; k++ {
			want += ext(a>>(8*k), 8, as) * ext(b>>(8*k), 8, bs)
		}
		if got := dp4a(a, b, c, as, bs); got != uint32(want) {
			t.Fatalf("dp4a(%#x, %#x, %#x, %v, %v) = %#x, want %#x", a, b, c, as, bs, got, uint32(want))
		}
		for _, hi := range []bool{false, true} {
			first := uint(0)
			if hi {
				first = 2
			}
			want := int64(c) + ext(a, 16, as)*ext(b>>(8*first), 8, bs) + ext(a>>16, 16, as)*ext(b>>(8*first+8), 8, bs)
			if got := dp2a(a, b, c, as, bs, hi); got != uint32(want) {
				t.Fatalf("dp2a(%#x, %#x, %#x, %v, %v, hi %v) = %#x, want %#x", a, b, c, as, bs, hi, got, uint32(want))
			}
		}
		// bmsk: b bits from bit a, cut at bit 31. .wrap takes both mod 32;
		// .clamp takes a >= 32 as nothing and b as at most 32.
		pa := uint32(a % 64)
		for _, clamp := range []bool{false, true} {
			start, width := pa, b
			if clamp {
				width = min(width, 32)
			} else {
				start, width = start%32, width%32
			}
			var want uint32
			for bit := start; bit < start+width && bit < 32; bit++ {
				want |= 1 << bit
			}
			if got := bmsk(pa, b, clamp); got != want {
				t.Fatalf("bmsk(%d, %d, clamp %v) = %#x, want %#x", pa, b, clamp, got, want)
			}
			// szext: the low N bits of a, extended.
			n := b % 32
			if clamp {
				n = min(b, 32)
			}
			for _, signed := range []bool{false, true} {
				var want uint32
				switch {
				case n == 0:
				case n == 32:
					want = a
				default:
					want = uint32(ext(a, uint(n), signed))
				}
				if got := szext(a, b, clamp, signed); got != want {
					t.Fatalf("szext(%#x, %d, clamp %v, signed %v) = %#x, want %#x", a, b, clamp, signed, got, want)
				}
			}
		}
		// mul24.hi: bits 16..47 of the 48-bit product.
		for _, signed := range []bool{false, true} {
			p := new(big.Int).Mul(big.NewInt(ext(a, 24, signed)), big.NewInt(ext(b, 24, signed)))
			p.Rsh(p, 16) // floor division by 2^16: an arithmetic shift
			want := uint32(p.Int64())
			if got := mul24Hi(a, b, signed); got != want {
				t.Fatalf("mul24Hi(%#x, %#x, %v) = %#x, want %#x", a, b, signed, got, want)
			}
		}
	}
}
