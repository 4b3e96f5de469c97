package cpuemu

// Pure ALU semantics for the PTX interpreter: integer/bit operations, IEEE-754
// arithmetic with every PTX rounding mode, conversions and the .approx
// functions. Section numbers are PTX ISA 7.6.
// Nothing here panics: undefined cases return a deterministic value.

import (
	"math"
	"math/big"
	"math/bits"
)

type rounding uint8

const (
	rndNone rounding = iota // no modifier given
	rndRN                   // .rn
	rndRZ                   // .rz
	rndRM                   // .rm
	rndRP                   // .rp
	rndRNI                  // .rni
	rndRZI                  // .rzi
	rndRMI                  // .rmi
	rndRPI                  // .rpi
	roundingCount
)

// aluFloatMode maps any modifier to one of rndRN/RZ/RM/RP (rndNone -> RN;
// integer modes -> their float counterpart).
func aluFloatMode(r rounding) rounding {
	switch r {
	case rndRZ, rndRZI:
		return rndRZ
	case rndRM, rndRMI:
		return rndRM
	case rndRP, rndRPI:
		return rndRP
	}
	return rndRN
}

// ---------------------------------------------------------------------------
// Integer and bit operations (§9.7.1, §9.7.7, §9.7.8.7)

// prmt implements prmt.b32{.mode} (§9.7.8.7); mode is a prmtMode, and
// values past them act as generic.
func prmt(a, b, c uint32, mode uint8) uint32 {
	src := uint64(b)<<32 | uint64(a)
	byteAt := func(i uint32) uint32 { return uint32(src>>(8*(i&7))) & 0xff }
	var d uint32
	s := c & 3
	for k := uint32(0); k < 4; k++ {
		var v uint32
		switch prmtMode(mode) {
		case prmtF4E:
			v = byteAt(s + k)
		case prmtB4E:
			v = byteAt(s - k) // &7 in byteAt gives (s-k) mod 8
		case prmtRC8:
			v = byteAt(s)
		case prmtECL:
			v = byteAt(max(k, s))
		case prmtECR:
			v = byteAt(min(k, s))
		case prmtRC16:
			v = byteAt(2*(s&1) + (k & 1))
		default: // generic: nibble k of c selects; bit 3 = sign replicate
			sel := (c >> (4 * k)) & 0xf
			v = byteAt(sel)
			if sel&8 != 0 {
				if v&0x80 != 0 {
					v = 0xff
				} else {
					v = 0
				}
			}
		}
		d |= v << (8 * k)
	}
	return d
}

// bfe is bfe (§9.7.1.x "bfe") for msb = width-1 on a value held in a uint64.
func bfe(a uint64, pos, length uint32, signed bool, width uint32) uint64 {
	pos &= 0xff
	length &= 0xff
	msb := width - 1
	if length == 0 {
		return 0
	}
	var fill uint64
	if signed {
		fill = (a >> min(pos+length-1, msb)) & 1
	}
	var d uint64
	n := uint32(0) // number of field bits taken from a
	if pos <= msb {
		n = min(length, width-pos)
		d = a >> pos
		if n < 64 {
			d &= 1<<n - 1
		}
	}
	if fill != 0 && n < 64 {
		d |= ^uint64(0) << n
	}
	if width < 64 {
		d &= 1<<width - 1
	}
	return d
}

// bfe32 implements bfe.{u32,s32} (§9.7.1.19): pos = b&0xff, len = c&0xff.
func bfe32(a, pos, length uint32, signed bool) uint32 {
	return uint32(bfe(uint64(a), pos, length, signed, 32))
}

// bfe64 implements bfe.{u64,s64} (§9.7.1.19).
func bfe64(a uint64, pos, length uint32, signed bool) uint64 {
	return bfe(a, pos, length, signed, 64)
}

func bfi(a, b uint64, pos, length uint32, width uint32) uint64 {
	pos &= 0xff
	length &= 0xff
	if length == 0 || pos >= width {
		return b
	}
	n := min(length, width-pos)
	var mask uint64 = ^uint64(0)
	if n < 64 {
		mask = 1<<n - 1
	}
	mask <<= pos
	return b&^mask | (a<<pos)&mask
}

// bfi32 implements bfi.b32 f,a,b,c,d (§9.7.1.20): b with [pos,pos+len) from a.
func bfi32(a, b, pos, length uint32) uint32 {
	return uint32(bfi(uint64(a), uint64(b), pos, length, 32))
}

// bfi64 implements bfi.b64 (§9.7.1.20).
func bfi64(a, b uint64, pos, length uint32) uint64 {
	return bfi(a, b, pos, length, 64)
}

// bfind32 implements bfind{.shiftamt}.{u32,s32} (§9.7.1.17).
func bfind32(a uint32, signed, shiftamt bool) uint32 {
	if signed && int32(a) < 0 {
		a = ^a
	}
	if a == 0 {
		return 0xffffffff
	}
	d := uint32(bits.Len32(a) - 1)
	if shiftamt {
		d = 31 - d
	}
	return d
}

// bfind64 implements bfind{.shiftamt}.{u64,s64} (§9.7.1.17).
func bfind64(a uint64, signed, shiftamt bool) uint32 {
	if signed && int64(a) < 0 {
		a = ^a
	}
	if a == 0 {
		return 0xffffffff
	}
	d := uint32(bits.Len64(a) - 1)
	if shiftamt {
		d = 63 - d
	}
	return d
}

// shf implements shf.{l,r}.{wrap,clamp}.b32 d,a,b,c (§9.7.7.7): {b:a} with b
// high; n = clamp ? min(c,32) : c&31.
func shf(a, b, n uint32, left, clamp bool) uint32 {
	if clamp {
		n = min(n, 32)
	} else {
		n &= 31
	}
	v := uint64(b)<<32 | uint64(a)
	if left {
		return uint32((v << n) >> 32)
	}
	return uint32(v >> n)
}

// dotBytes is the sum of a's and b's element products for dp4a and dp2a
// (the ISA's Integer Arithmetic Instructions: dp4a, dp2a): a holds n elements of 32/n bits (4 bytes for
// dp4a, 2 halves for dp2a), b holds 4 bytes of which n are used from byte
// first on; each is sign- or zero-extended as its type says, and the sum
// wraps into c's 32 bits.
func dotBytes(a, b, c uint32, aSigned, bSigned bool, n int, first uint) uint32 {
	w := uint(32 / n)
	d := c
	for i := uint(0); i < uint(n); i++ {
		x := int64(a>>(w*i)) & (1<<w - 1)
		if aSigned {
			x = sext(uint64(x), int(w))
		}
		y := int64(b>>(8*(first+i))) & 0xff
		if bSigned {
			y = sext(uint64(y), 8)
		}
		d += uint32(x * y)
	}
	return d
}

// dp4a is dp4a.atype.btype (PTX ISA 5.0, sm_61).
func dp4a(a, b, c uint32, aSigned, bSigned bool) uint32 {
	return dotBytes(a, b, c, aSigned, bSigned, 4, 0)
}

// dp2a is dp2a.lo/.hi.atype.btype (PTX ISA 5.0, sm_61): .hi uses b's bytes 2 and 3.
func dp2a(a, b, c uint32, aSigned, bSigned, hi bool) uint32 {
	first := uint(0)
	if hi {
		first = 2
	}
	return dotBytes(a, b, c, aSigned, bSigned, 2, first)
}

// bmsk is bmsk.mode.b32 (PTX ISA 7.6, sm_70): a mask of b bits from bit
// a, following the ISA's pseudo-code: .wrap takes both operands modulo 32;
// .clamp gives 0 for a >= 32 and all bits from a up for b >= 32; a width
// that runs past bit 31 stops there; a width of 0 gives 0.
func bmsk(a, b uint32, clamp bool) uint32 {
	a1, b1 := a&0x1f, b&0x1f
	mask0 := ^uint32(0) << a1
	sum := a1 + b1
	over := sum >= 32
	if clamp {
		if a >= 32 {
			mask0 = 0
			over = true
		}
		if b >= 32 {
			over = true
		}
	}
	var mask1 uint32
	switch {
	case over:
		mask1 = 0
	case b1 == 0:
		mask1 = ^uint32(0)
	default:
		mask1 = ^uint32(0) << sum
	}
	return mask0 &^ mask1
}

// szext is szext.mode.type (PTX ISA 7.6, sm_70): a's low N bits, N = b, sign- or
// zero-extended to 32. N = 0 gives 0; N >= 32 gives a with .clamp and
// N mod 32 with .wrap.
func szext(a, b uint32, clamp, signed bool) uint32 {
	if clamp && b >= 32 {
		return a
	}
	n := int(b & 31)
	switch {
	case n == 0:
		return 0
	case signed:
		return uint32(sext(uint64(a), n))
	}
	return uint32(trunc(uint64(a), n))
}

// low24 is x's low 24 bits, sign-extended when signed: what mul24 and
// mad24 multiply.
func low24(x uint64, signed bool) uint64 {
	if signed {
		return uint64(sext(x, 24))
	}
	return trunc(x, 24)
}

// mul24Hi is the high 32 bits of the 48-bit product of a's and b's low
// 24 bits (mul24.hi, mad24.hi), sign-extended first when signed. The
// product fits in an int64 either way, so the shift is arithmetic.
func mul24Hi(a, b uint32, signed bool) uint32 {
	return uint32(int64(low24(uint64(a), signed)*low24(uint64(b), signed)) >> 16)
}

// lop3 implements lop3.b32 (§9.7.7.6): result bit = imm[4a+2b+c].
func lop3(a, b, c uint32, imm uint8) uint32 {
	var d uint32
	for i := uint(0); i < 8; i++ {
		if imm>>i&1 == 0 {
			continue
		}
		t := ^uint32(0)
		if i&4 != 0 {
			t &= a
		} else {
			t &= ^a
		}
		if i&2 != 0 {
			t &= b
		} else {
			t &= ^b
		}
		if i&1 != 0 {
			t &= c
		} else {
			t &= ^c
		}
		d |= t
	}
	return d
}

// brev32 implements brev.b32 (§9.7.1.16).
func brev32(a uint32) uint32 { return bits.Reverse32(a) }

// brev64 implements brev.b64 (§9.7.1.16).
func brev64(a uint64) uint64 { return bits.Reverse64(a) }

// shflSource computes the source lane of shfl.sync (§9.7.8.6); mode is
// a shflMode. Out of range -> (lane, false).
func shflSource(mode uint8, lane int, b, c uint32) (src int, inRange bool) {
	var j int
	var ok bool
	switch shflMode(mode) {
	case shflUp:
		j, ok = shflUpSrc(lane, b, c)
	case shflDown:
		j, ok = shflDownSrc(lane, b, c)
	case shflBfly:
		j, ok = shflBflySrc(lane, b, c)
	default: // shflIdx
		j, ok = shflIdxSrc(lane, b, c)
	}
	if !ok {
		return lane, false
	}
	return j, true
}

// The four modes of shfl, each small enough to inline into a loop over
// lanes: the lane j that lane reads, and whether j is within the lane's
// segment (c's mask in bits 8-12, its clamp in bits 0-4). j is
// meaningful only when in range.

func shflUpSrc(lane int, b, c uint32) (int, bool) {
	seg := int(c >> 8 & 31)
	j := lane - int(b&31)
	return j, j >= lane&seg|int(c&31)&^seg
}

func shflDownSrc(lane int, b, c uint32) (int, bool) {
	seg := int(c >> 8 & 31)
	j := lane + int(b&31)
	return j, j <= lane&seg|int(c&31)&^seg
}

func shflBflySrc(lane int, b, c uint32) (int, bool) {
	seg := int(c >> 8 & 31)
	j := lane ^ int(b&31)
	return j, j <= lane&seg|int(c&31)&^seg
}

func shflIdxSrc(lane int, b, c uint32) (int, bool) {
	seg := int(c >> 8 & 31)
	j := lane&seg | int(b&31)&^seg
	return j, j <= lane&seg|int(c&31)&^seg
}

// sext sign-extends the low bits of x (bits in 1..64).
func sext(x uint64, bits int) int64 {
	if bits >= 64 || bits <= 0 {
		return int64(x)
	}
	s := uint(64 - bits)
	return int64(x<<s) >> s
}

// addCarry is the arithmetic of add.cc, addc, sub.cc and subc on nb-bit
// values (PTX ISA §9.7.1.11-14): x + y + cin, or for a subtraction
// x + ^y + cin, and the carry out of the top bit. CC.CF always holds a true
// carry, as the hardware's does: sub.cc is x + ^y + 1 and subc x + ^y + CF,
// so the ISA's "borrow" is !CF, and a subtraction chain mixes with
// add.cc/addc.
func addCarry(x, y, cin uint64, nb int, sub bool) (sum, cout uint64) {
	x, y = trunc(x, nb), trunc(y, nb)
	if sub {
		y = trunc(^y, nb)
	}
	if nb == 64 {
		return bits.Add64(x, y, cin&1)
	}
	s := x + y + cin&1
	return trunc(s, nb), s >> nb & 1
}

// trunc keeps the low bits of x (bits >= 64 -> x).
func trunc(x uint64, bits int) uint64 {
	if bits >= 64 {
		return x
	}
	if bits <= 0 {
		return 0
	}
	return x & (1<<uint(bits) - 1)
}

// divInt implements div/rem (§9.7.1.8, §9.7.1.9). Never panics: x/0 gives
// all ones for q and r; INT_MIN / -1 = INT_MIN rem 0 (the ISA leaves it unspecified; this is a choice).
func divInt(a, b uint64, bits int, signed bool) (q, r uint64, byZero bool) {
	ua, ub := trunc(a, bits), trunc(b, bits)
	if ub == 0 {
		return trunc(^uint64(0), bits), trunc(^uint64(0), bits), true
	}
	if !signed {
		return ua / ub, ua % ub, false
	}
	sa, sb := sext(a, bits), sext(b, bits)
	if sb == -1 {
		return trunc(uint64(-sa), bits), 0, false // INT_MIN wraps to INT_MIN
	}
	return trunc(uint64(sa/sb), bits), trunc(uint64(sa%sb), bits), false
}

// mulHi implements mul.hi (§9.7.1.3): high bits of the 2*bits product.
func mulHi(a, b uint64, bits int, signed bool) uint64 {
	if bits >= 64 {
		hi, _ := aluMul64(a, b)
		if signed {
			if int64(a) < 0 {
				hi -= b
			}
			if int64(b) < 0 {
				hi -= a
			}
		}
		return hi
	}
	if signed {
		p := sext(a, bits) * sext(b, bits)
		return trunc(uint64(p>>uint(bits)), bits)
	}
	p := trunc(a, bits) * trunc(b, bits)
	return trunc(p>>uint(bits), bits)
}

func aluMul64(a, b uint64) (hi, lo uint64) { return bits.Mul64(a, b) }

// mulWide implements mul.wide (§9.7.1.3): the full 2*bits product (bits 16/32).
func mulWide(a, b uint64, bits int, signed bool) uint64 {
	if signed {
		return trunc(uint64(sext(a, bits)*sext(b, bits)), 2*bits)
	}
	return trunc(trunc(a, bits)*trunc(b, bits), 2*bits)
}

// addSatS32 implements add.sat.s32 (§9.7.1.1).
func addSatS32(a, b int32) int32 {
	return aluClampS32(int64(a) + int64(b))
}

// subSatS32 implements sub.sat.s32 (§9.7.1.2).
func subSatS32(a, b int32) int32 {
	return aluClampS32(int64(a) - int64(b))
}

func aluClampS32(v int64) int32 {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	if v < math.MinInt32 {
		return math.MinInt32
	}
	return int32(v)
}

// cvtInt implements integer-to-integer cvt (§9.7.8.18, §6.5.1): extend per the
// source signedness, chop to dstBits; .sat clamps to the destination range.
func cvtInt(x uint64, srcBits int, srcSigned bool, dstBits int, dstSigned bool, sat bool) uint64 {
	var v uint64
	neg := false
	if srcSigned {
		s := sext(x, srcBits)
		v = uint64(s)
		neg = s < 0
	} else {
		v = trunc(x, srcBits)
	}
	if !sat {
		return trunc(v, dstBits)
	}
	if dstSigned {
		maxV := uint64(1)<<uint(dstBits-1) - 1
		if dstBits >= 64 {
			maxV = math.MaxInt64
		}
		if neg {
			minV := -int64(maxV) - 1
			if int64(v) < minV {
				return trunc(uint64(minV), dstBits)
			}
			return trunc(v, dstBits)
		}
		if v > maxV {
			return maxV
		}
		return v
	}
	if neg {
		return 0
	}
	maxV := trunc(^uint64(0), dstBits)
	if v > maxV {
		return maxV
	}
	return v
}

// ---------------------------------------------------------------------------
// Floating point helpers (§9.7.3)

const aluCanonNaN32 = 0x7fffffff

// ftz32 flushes a subnormal to zero of the same sign (.ftz, §9.7.3).
func ftz32(x float32) float32 {
	b := math.Float32bits(x)
	if b&0x7f800000 == 0 {
		return math.Float32frombits(b & 0x80000000)
	}
	return x
}

// canon32 replaces any NaN with the canonical 0x7fffffff (what NVIDIA hardware is reported to produce).
func canon32(x float32) float32 {
	if x != x {
		return math.Float32frombits(aluCanonNaN32)
	}
	return x
}

func aluFinish32(x float32, ftz bool) float32 {
	if x != x {
		return math.Float32frombits(aluCanonNaN32)
	}
	if ftz {
		return ftz32(x)
	}
	return x
}

func aluSign(x float64) int {
	if x > 0 {
		return 1
	}
	if x < 0 {
		return -1
	}
	return 0
}

func aluCmp(x, y float64) int {
	if x < y {
		return -1
	}
	if x > y {
		return 1
	}
	return 0
}

// aluDirected32 turns the round-to-nearest result q into the result for mode r,
// given c = sign(exact - q). The exact value lies between q and its neighbour
// in direction c, so the directed result is q or that neighbour.
func aluDirected32(q float32, c int, r rounding) float32 {
	if c == 0 {
		return q
	}
	switch aluFloatMode(r) {
	case rndRZ:
		if c < 0 && q > 0 {
			return math.Nextafter32(q, 0)
		}
		if c > 0 && q < 0 {
			return math.Nextafter32(q, 0)
		}
	case rndRM:
		if c < 0 {
			return math.Nextafter32(q, float32(math.Inf(-1)))
		}
	case rndRP:
		if c > 0 {
			return math.Nextafter32(q, float32(math.Inf(1)))
		}
	}
	return q
}

// aluDirected64 is aluDirected32 for float64.
func aluDirected64(q float64, c int, r rounding) float64 {
	if c == 0 {
		return q
	}
	switch aluFloatMode(r) {
	case rndRZ:
		if (c < 0 && q > 0) || (c > 0 && q < 0) {
			return math.Nextafter(q, 0)
		}
	case rndRM:
		if c < 0 {
			return math.Nextafter(q, math.Inf(-1))
		}
	case rndRP:
		if c > 0 {
			return math.Nextafter(q, math.Inf(1))
		}
	}
	return q
}

// aluTwoSum returns s = RN(x+y) and the exact error e = x+y-s (Knuth).
func aluTwoSum(x, y float64) (s, e float64) {
	s = x + y
	bb := s - x
	e = (x - (s - bb)) + (y - bb)
	return s, e
}

// aluOdd64 rounds s+e (|e| <= ulp(s)/2, s = RN(s+e)) to odd at 53 bits. A
// round-to-odd value rounds correctly to any format with <= 51 bits.
func aluOdd64(s, e float64) float64 {
	if e == 0 || math.IsInf(s, 0) || s != s {
		return s
	}
	b := math.Float64bits(s)
	if b&1 != 0 {
		return s
	}
	if (e > 0) == (s > 0) {
		return math.Float64frombits(b + 1) // away from zero
	}
	return math.Float64frombits(b - 1) // towards zero
}

// aluZeroSum gives the sign of an exactly-zero sum x+y (IEEE 754 §6.3): the
// common sign of two like-signed zeros, else -0 for .rm and +0 otherwise.
func aluZeroSum(xNeg, yNeg, bothZero bool, r rounding) float64 {
	if bothZero && xNeg == yNeg {
		if xNeg {
			return math.Copysign(0, -1)
		}
		return 0
	}
	if aluFloatMode(r) == rndRM {
		return math.Copysign(0, -1)
	}
	return 0
}

func aluFinite32(x float32) bool { return !math.IsInf(float64(x), 0) && x == x }

// roundF64toF32 rounds a float64 to float32 with mode r (rndNone == RN).
func roundF64toF32(x float64, r rounding) float32 {
	q := float32(x)
	if q != q {
		return canon32(q)
	}
	if aluFloatMode(r) == rndRN {
		return q
	}
	return aluDirected32(q, aluCmp(x, float64(q)), r)
}

// aluAddExact32 returns the correctly rounded f32 of x+y where x and y are
// float64 values (finite) whose exact sum's error is captured by TwoSum.
func aluAddExact32(x, y float64, r rounding) float32 {
	s, e := aluTwoSum(x, y)
	if s == 0 && e == 0 {
		return float32(aluZeroSum(math.Signbit(x), math.Signbit(y), x == 0 && y == 0, r))
	}
	return roundF64toF32(aluOdd64(s, e), r)
}

// addF32 implements add{.rnd}{.ftz}.f32 (§9.7.3.1).
func addF32(a, b float32, r rounding, ftz bool) float32 {
	if r <= rndRN && !ftz {
		return canon32(a + b)
	}
	if ftz {
		a, b = ftz32(a), ftz32(b)
	}
	if !aluFinite32(a) || !aluFinite32(b) {
		return aluFinish32(a+b, ftz)
	}
	return aluFinish32(aluAddExact32(float64(a), float64(b), r), ftz)
}

// subF32 implements sub{.rnd}{.ftz}.f32 (§9.7.3.2).
func subF32(a, b float32, r rounding, ftz bool) float32 {
	if r <= rndRN && !ftz {
		return canon32(a - b)
	}
	if b == b {
		b = -b
	}
	return addF32(a, b, r, ftz)
}

// mulF32 implements mul{.rnd}{.ftz}.f32 (§9.7.3.3); the f64 product is exact.
func mulF32(a, b float32, r rounding, ftz bool) float32 {
	if r <= rndRN && !ftz {
		return canon32(a * b)
	}
	if ftz {
		a, b = ftz32(a), ftz32(b)
	}
	p := float64(float64(a) * float64(b))
	return aluFinish32(roundF64toF32(p, r), ftz)
}

// fmaF32 implements fma.rnd{.ftz}.f32 (§9.7.3.4) with a single rounding: the
// product is exact in f64, TwoSum + round-to-odd make the add exact.
func fmaF32(a, b, c float32, r rounding, ftz bool) float32 {
	if ftz {
		a, b, c = ftz32(a), ftz32(b), ftz32(c)
	}
	p := float64(float64(a) * float64(b))
	if !aluFinite32(a) || !aluFinite32(b) || !aluFinite32(c) {
		return aluFinish32(float32(p+float64(c)), ftz)
	}
	return aluFinish32(aluAddExact32(p, float64(c), r), ftz)
}

// divF32 implements div.rnd{.ftz}.f32 (§9.7.3.8), IEEE correctly rounded.
func divF32(a, b float32, r rounding, ftz bool) float32 {
	if r <= rndRN && !ftz {
		return canon32(a / b)
	}
	if ftz {
		a, b = ftz32(a), ftz32(b)
	}
	q := a / b
	if aluFloatMode(r) == rndRN || !aluFinite32(a) || !aluFinite32(b) || a == 0 || b == 0 {
		return aluFinish32(q, ftz)
	}
	// exact a/b - q has the sign of (a - q*b)/b; q*b is exact in f64.
	d := float64(a) - float64(float64(q)*float64(b))
	c := aluSign(d)
	if b < 0 {
		c = -c
	}
	return aluFinish32(aluDirected32(q, c, r), ftz)
}

// sqrtF32 implements sqrt.rnd{.ftz}.f32 (§9.7.3.15).
func sqrtF32(a float32, r rounding, ftz bool) float32 {
	if ftz {
		a = ftz32(a)
	}
	q := float32(math.Sqrt(float64(a))) // correctly rounded (53 >= 2*24+2)
	if aluFloatMode(r) == rndRN || !(a > 0) || math.IsInf(float64(a), 0) {
		return aluFinish32(q, ftz)
	}
	c := aluCmp(float64(a), float64(float64(q)*float64(q)))
	return aluFinish32(aluDirected32(q, c, r), ftz)
}

// rcpF32 implements rcp.rnd{.ftz}.f32 (§9.7.3.13) = div.rnd 1/a.
func rcpF32(a float32, r rounding, ftz bool) float32 {
	return divF32(1, a, r, ftz)
}

// aluExactPrec is enough bits to hold any sum/difference of f64 products
// exactly (lsb >= 2^-2148, msb < 2^2049).
const aluExactPrec = 4400

func aluBig(x float64) *big.Float {
	return new(big.Float).SetPrec(aluExactPrec).SetFloat64(x)
}

func aluNewBig() *big.Float { return new(big.Float).SetPrec(aluExactPrec) }

func aluFinite64(x float64) bool { return !math.IsInf(x, 0) && x == x }

// addF64 implements add{.rnd}.f64 (§9.7.3.1).
func addF64(a, b float64, r rounding) float64 {
	s := float64(a + b)
	if aluFloatMode(r) == rndRN || !aluFinite64(a) || !aluFinite64(b) {
		return s
	}
	if math.IsInf(s, 0) { // overflow: the exact sum is finite
		return aluDirected64(s, -aluSign(s), r)
	}
	s, e := aluTwoSum(a, b)
	if s == 0 && e == 0 {
		return aluZeroSum(math.Signbit(a), math.Signbit(b), a == 0 && b == 0, r)
	}
	return aluDirected64(s, aluSign(e), r)
}

// subF64 implements sub{.rnd}.f64 (§9.7.3.2).
func subF64(a, b float64, r rounding) float64 {
	if b == b {
		b = -b
	}
	return addF64(a, b, r)
}

// mulF64 implements mul{.rnd}.f64 (§9.7.3.3).
func mulF64(a, b float64, r rounding) float64 {
	q := float64(a * b)
	if aluFloatMode(r) == rndRN || !aluFinite64(a) || !aluFinite64(b) || a == 0 || b == 0 {
		return q
	}
	exact := aluNewBig().Mul(aluBig(a), aluBig(b))
	return aluDirected64(q, exact.Cmp(aluBig(q)), r)
}

// fmaF64 implements fma.rnd.f64 (§9.7.3.4).
func fmaF64(a, b, c float64, r rounding) float64 {
	q := math.FMA(a, b, c)
	if aluFloatMode(r) == rndRN || !aluFinite64(a) || !aluFinite64(b) || !aluFinite64(c) {
		return q
	}
	exact := aluNewBig().Mul(aluBig(a), aluBig(b))
	exact.Add(exact, aluBig(c))
	if exact.Sign() == 0 {
		pNeg := math.Signbit(a) != math.Signbit(b)
		return aluZeroSum(pNeg, math.Signbit(c), (a == 0 || b == 0) && c == 0, r)
	}
	return aluDirected64(q, exact.Cmp(aluBig(q)), r)
}

// divF64 implements div.rnd.f64 (§9.7.3.8).
func divF64(a, b float64, r rounding) float64 {
	q := float64(a / b)
	if aluFloatMode(r) == rndRN || !aluFinite64(a) || !aluFinite64(b) || a == 0 || b == 0 {
		return q
	}
	if math.IsInf(q, 0) {
		return aluDirected64(q, -aluSign(q), r)
	}
	res := aluNewBig().Mul(aluBig(q), aluBig(b))
	res.Sub(aluBig(a), res) // a - q*b, exact
	c := res.Sign()
	if b < 0 {
		c = -c
	}
	return aluDirected64(q, c, r)
}

// sqrtF64 implements sqrt.rnd.f64 (§9.7.3.15).
func sqrtF64(a float64, r rounding) float64 {
	q := math.Sqrt(a)
	if aluFloatMode(r) == rndRN || !(a > 0) || math.IsInf(a, 0) {
		return q
	}
	bq := aluBig(q)
	sq := aluNewBig().Mul(bq, bq)
	return aluDirected64(q, aluBig(a).Cmp(sq), r)
}

// rcpF64 implements rcp.rnd.f64 (§9.7.3.13).
func rcpF64(a float64, r rounding) float64 { return divF64(1, a, r) }

// ---------------------------------------------------------------------------
// .approx / .full functions (§9.7.3.8-.22; approach: compute in f64,
// round to f32, then apply the special-value tables and .ftz).

// divApproxF32 implements div.approx{.ftz}.f32 (§9.7.3.8): a * ftz(1/b).
// |b| in (2^126, 2^128) -> 0 (NaN if a is Inf); b = ±0 -> Inf (sign a^b).
func divApproxF32(a, b float32, ftz bool) float32 {
	if ftz {
		a, b = ftz32(a), ftz32(b)
	}
	q := ftz32(float32(1) / b)
	return aluFinish32(float32(a*q), ftz)
}

// divFullF32 implements div.full{.ftz}.f32 (§9.7.3.8): full range, <= 2 ulp;
// the correctly rounded quotient satisfies that bound.
func divFullF32(a, b float32, ftz bool) float32 {
	if ftz {
		a, b = ftz32(a), ftz32(b)
	}
	return aluFinish32(a/b, ftz)
}

// rcpApproxF32 implements rcp.approx{.ftz}.f32 (§9.7.3.13). The 7.6 table
// maps subnormal inputs to ±Inf even without .ftz.
func rcpApproxF32(a float32, ftz bool) float32 {
	a = ftz32(a)
	return aluFinish32(float32(1)/a, ftz)
}

// sqrtApproxF32 implements sqrt.approx{.ftz}.f32 (§9.7.3.15).
func sqrtApproxF32(a float32, ftz bool) float32 {
	if ftz {
		a = ftz32(a)
	}
	return aluFinish32(float32(math.Sqrt(float64(a))), ftz)
}

// rsqrtApproxF32 implements rsqrt.approx{.ftz}.f32 (§9.7.3.16): ±0 -> ±Inf,
// +Inf -> +0, x < 0 -> NaN.
func rsqrtApproxF32(a float32, ftz bool) float32 {
	if ftz {
		a = ftz32(a)
	}
	if a == 0 {
		return float32(math.Copysign(math.Inf(1), float64(a)))
	}
	return aluFinish32(float32(1/math.Sqrt(float64(a))), ftz)
}

// aluApprox evaluates f in float64 and rounds to f32, flushing subnormal
// inputs and results under .ftz. Go's math functions give the IEEE special
// values the .approx tables list (±Inf -> NaN for sin/cos, ±0 -> -Inf and
// x < 0 -> NaN for lg2, -Inf -> +0 for ex2, ±Inf -> ±1 for tanh).
func aluApprox(a float32, ftz bool, f func(float64) float64) float32 {
	if ftz {
		a = ftz32(a)
	}
	return aluFinish32(float32(f(float64(a))), ftz)
}

// sinApproxF32 implements sin.approx{.ftz}.f32 (§9.7.3.18): ±Inf -> NaN.
func sinApproxF32(a float32, ftz bool) float32 { return aluApprox(a, ftz, math.Sin) }

// cosApproxF32 implements cos.approx{.ftz}.f32 (§9.7.3.19).
func cosApproxF32(a float32, ftz bool) float32 { return aluApprox(a, ftz, math.Cos) }

// lg2ApproxF32 implements lg2.approx{.ftz}.f32 (§9.7.3.20): ±0 -> -Inf,
// x < 0 -> NaN.
func lg2ApproxF32(a float32, ftz bool) float32 { return aluApprox(a, ftz, math.Log2) }

// ex2ApproxF32 implements ex2.approx{.ftz}.f32 (§9.7.3.21): -Inf -> +0.
func ex2ApproxF32(a float32, ftz bool) float32 { return aluApprox(a, ftz, math.Exp2) }

// tanhApproxF32 implements tanh.approx.f32 (§9.7.3.22, sm_75): ±Inf -> ±1.
func tanhApproxF32(a float32, ftz bool) float32 { return aluApprox(a, ftz, math.Tanh) }

const aluHiMask = 0xffffffff00000000

// rcpApproxFtzF64 implements rcp.approx.ftz.f64 (§9.7.3.14): only the high
// 32 bits of a are used and the low 32 result bits are 0; subnormals flushed.
func rcpApproxFtzF64(a float64) float64 {
	if a != a {
		return math.Float64frombits(0x7ff8000000000000)
	}
	x := math.Float64frombits(math.Float64bits(a) & aluHiMask)
	if x != 0 && math.Abs(x) < 0x1p-1022 {
		x = math.Copysign(0, x)
	}
	q := 1 / x
	if q != 0 && math.Abs(q) < 0x1p-1022 {
		q = math.Copysign(0, q)
	}
	return math.Float64frombits(math.Float64bits(q) & aluHiMask)
}

// rsqrtApproxF64 implements rsqrt.approx.f64 (§9.7.3.17).
func rsqrtApproxF64(a float64) float64 {
	if a == 0 {
		return math.Copysign(math.Inf(1), a)
	}
	return 1 / math.Sqrt(a)
}

// ---------------------------------------------------------------------------
// min/max, copysign, testp, saturation (§9.7.3.10-.12, §9.7.3.5-.6)

func aluMinMax32(a, b float32, nanProp, isMax bool) float32 {
	an, bn := a != a, b != b
	if an && bn || nanProp && (an || bn) {
		return math.Float32frombits(aluCanonNaN32)
	}
	if an {
		return b
	}
	if bn {
		return a
	}
	if a == b { // equal values, possibly ±0: min prefers -0, max +0
		if math.Signbit(float64(a)) != isMax {
			return a
		}
		return b
	}
	if (a < b) != isMax {
		return a
	}
	return b
}

// minF32 implements min{.NaN}.f32 (§9.7.3.10).
func minF32(a, b float32, nanProp bool) float32 { return aluMinMax32(a, b, nanProp, false) }

// maxF32 implements max{.NaN}.f32 (§9.7.3.11).
func maxF32(a, b float32, nanProp bool) float32 { return aluMinMax32(a, b, nanProp, true) }

func aluMinMax64(a, b float64, nanProp, isMax bool) float64 {
	an, bn := a != a, b != b
	if an && bn || nanProp && (an || bn) {
		return math.NaN()
	}
	if an {
		return b
	}
	if bn {
		return a
	}
	if a == b {
		if math.Signbit(a) != isMax {
			return a
		}
		return b
	}
	if (a < b) != isMax {
		return a
	}
	return b
}

// minF64 implements min{.NaN}.f64 (§9.7.3.10).
func minF64(a, b float64, nanProp bool) float64 { return aluMinMax64(a, b, nanProp, false) }

// maxF64 implements max{.NaN}.f64 (§9.7.3.11).
func maxF64(a, b float64, nanProp bool) float64 { return aluMinMax64(a, b, nanProp, true) }

// copysignF32 implements copysign.f32 d,a,b (§9.7.3.6): b with a's sign.
func copysignF32(a, b float32) float32 {
	return math.Float32frombits(math.Float32bits(b)&0x7fffffff | math.Float32bits(a)&0x80000000)
}

// copysignF64 implements copysign.f64 d,a,b (§9.7.3.6): b with a's sign.
func copysignF64(a, b float64) float64 {
	return math.Float64frombits(math.Float64bits(b)&^(1<<63) | math.Float64bits(a)&(1<<63))
}

func aluTestp(kind uint8, x, minNormal float64) bool {
	nan := x != x
	inf := math.IsInf(x, 0)
	switch testpMode(kind) {
	case testpFinite:
		return !nan && !inf
	case testpInfinite:
		return inf
	case testpNumber:
		return !nan
	case testpNotANumber:
		return nan
	case testpNormal:
		return !nan && !inf && (x == 0 || math.Abs(x) >= minNormal)
	case testpSubnormal:
		return x != 0 && math.Abs(x) < minNormal
	}
	return false
}

// testp implements testp.op.f64 (§9.7.3.5); kind is a testpMode (±0
// counts as normal).
func testp(kind uint8, x float64) bool { return aluTestp(kind, x, 0x1p-1022) }

// testpF32 implements testp.op.f32 (§9.7.3.5).
func testpF32(kind uint8, x float32) bool { return aluTestp(kind, float64(x), 0x1p-126) }

// satF32 implements .sat (§9.7.3): clamp to [+0, 1], NaN -> +0 (-0 -> +0,
// following CUDA's __saturatef "[+0.0, 1.0]").
func satF32(x float32) float32 {
	if !(x > 0) {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

// satF64 is .sat for f64 (cvt.sat.f64).
func satF64(x float64) float64 {
	if !(x > 0) {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

// ---------------------------------------------------------------------------
// Conversions (§9.7.8.18 cvt, §6.5)

// roundIntegral64 implements cvt.{rni,rzi,rmi,rpi}.f64.f64 (§9.7.8.18).
// Float modes map to their integer counterparts; rndNone returns x.
func roundIntegral64(x float64, r rounding) float64 {
	switch r {
	case rndRNI, rndRN:
		return math.RoundToEven(x)
	case rndRZI, rndRZ:
		return math.Trunc(x)
	case rndRMI, rndRM:
		return math.Floor(x)
	case rndRPI, rndRP:
		return math.Ceil(x)
	}
	return x
}

// roundIntegral32 implements cvt.{rni,rzi,rmi,rpi}.f32.f32 (§9.7.8.18).
func roundIntegral32(x float32, r rounding) float32 {
	return canon32(float32(roundIntegral64(float64(x), r)))
}

// cvtFloatToInt implements cvt.{rni,rzi,rmi,rpi}.{u,s}N.{f32,f64}
// (§9.7.8.18, §6.5.2): round, then saturate; NaN -> 0, or 1<<(N-1) when the
// source is f64 or N = 64 (the ISA 8.x refinement).
func cvtFloatToInt(x float64, srcIsF32 bool, r rounding, dstBits int, dstSigned bool) uint64 {
	if dstBits <= 0 || dstBits > 64 {
		dstBits = 64
	}
	if x != x {
		if !srcIsF32 || dstBits == 64 {
			return uint64(1) << uint(dstBits-1)
		}
		return 0
	}
	if r == rndNone {
		r = rndRZI
	}
	v := roundIntegral64(x, r)
	lim := math.Ldexp(1, dstBits-1) // 2^(N-1)
	if dstSigned {
		if v >= lim {
			return trunc(uint64(1)<<uint(dstBits-1)-1, dstBits)
		}
		if v < -lim {
			return trunc(uint64(1)<<uint(dstBits-1), dstBits)
		}
		return trunc(uint64(int64(v)), dstBits)
	}
	if !(v > 0) {
		return 0
	}
	if v >= 2*lim {
		return trunc(^uint64(0), dstBits)
	}
	return uint64(v)
}

// aluRoundUp decides whether a truncated magnitude must be incremented.
// half: sign(remainder - half ulp); odd: truncated lsb.
func aluRoundUp(inexact bool, half int, odd, neg bool, r rounding) bool {
	if !inexact {
		return false
	}
	switch aluFloatMode(r) {
	case rndRZ:
		return false
	case rndRM:
		return neg
	case rndRP:
		return !neg
	}
	return half > 0 || half == 0 && odd
}

// aluRoundU64 rounds ±m to p significant bits (no exponent limits needed for
// 64-bit integers in f32/f64).
func aluRoundU64(m uint64, neg bool, p int, r rounding) float64 {
	n := bits.Len64(m)
	var res float64
	if n <= p {
		res = float64(m)
	} else {
		shift := uint(n - p)
		t := m >> shift
		rem := m & (1<<shift - 1)
		halfV := uint64(1) << (shift - 1)
		half := 0
		if rem > halfV {
			half = 1
		} else if rem < halfV {
			half = -1
		}
		if aluRoundUp(rem != 0, half, t&1 != 0, neg, r) {
			t++
		}
		res = math.Ldexp(float64(t), int(shift))
	}
	if neg {
		res = -res
	}
	return res
}

func aluIntSource(x uint64, srcBits int, srcSigned bool) (m uint64, neg bool) {
	if srcSigned {
		s := sext(x, srcBits)
		if s < 0 {
			return uint64(-s), true // -INT64_MIN wraps to 2^63 as uint64
		}
		return uint64(s), false
	}
	return trunc(x, srcBits), false
}

// cvtIntToF32 implements cvt.rnd.f32.{u,s}N (§9.7.8.18), correctly rounded.
func cvtIntToF32(x uint64, srcBits int, srcSigned bool, r rounding) float32 {
	m, neg := aluIntSource(x, srcBits, srcSigned)
	return float32(aluRoundU64(m, neg, 24, r))
}

// cvtIntToF64 implements cvt.rnd.f64.{u,s}N (§9.7.8.18), correctly rounded.
func cvtIntToF64(x uint64, srcBits int, srcSigned bool, r rounding) float64 {
	m, neg := aluIntSource(x, srcBits, srcSigned)
	return aluRoundU64(m, neg, 53, r)
}

// cvtF64toF32 implements cvt{.rnd}{.ftz}{.sat}.f32.f64 (§9.7.8.18): IEEE
// rounding per mode (rndNone == RN); .ftz flushes the f32 result.
func cvtF64toF32(x float64, r rounding, ftz, sat bool) float32 {
	q := roundF64toF32(x, r)
	if ftz {
		q = ftz32(q)
	}
	if sat {
		q = satF32(q)
	}
	return canon32(q)
}
