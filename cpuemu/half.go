package cpuemu

// The narrow float formats of PTX (§5.2.5.1, §9.7.4): IEEE binary16
// (.f16), bfloat16 (.bf16) and the fp8 formats .e4m3 and .e5m2, as pure
// functions. A value is decoded exactly to float64; a result is computed
// exactly (TwoSum, or an exact product) and rounded to odd at 53 bits,
// which rounds correctly to any narrower format (aluOdd64), and then
// rounded once to the format, with every PTX rounding mode.

import "math"

// halfFormat is a binary floating-point format of at most 16 bits.
type halfFormat struct {
	name    string
	expBits uint
	manBits uint // stored fraction bits
	// finite says the format has no infinities: the all-ones exponent
	// holds numbers, and only the all-ones code is NaN (e4m3, §5.2.5.1).
	finite bool
}

var (
	fmtF16  = halfFormat{name: "f16", expBits: 5, manBits: 10}
	fmtBF16 = halfFormat{name: "bf16", expBits: 8, manBits: 7}
	fmtE4M3 = halfFormat{name: "e4m3", expBits: 4, manBits: 3, finite: true}
	fmtE5M2 = halfFormat{name: "e5m2", expBits: 5, manBits: 2}
)

func (f halfFormat) bits() uint      { return 1 + f.expBits + f.manBits }
func (f halfFormat) bias() int       { return 1<<(f.expBits-1) - 1 }
func (f halfFormat) signBit() uint64 { return 1 << (f.expBits + f.manBits) }
func (f halfFormat) expMask() uint64 { return (1<<f.expBits - 1) << f.manBits }
func (f halfFormat) manMask() uint64 { return 1<<f.manBits - 1 }

// maxFinite is the code of the largest finite value (positive).
func (f halfFormat) maxFinite() uint64 {
	if f.finite {
		return f.expMask() | f.manMask() - 1 // S.1111.110: 448 for e4m3
	}
	return f.expMask() - 1<<f.manBits | f.manMask() // 65504 for f16
}

func (f halfFormat) inf() uint64 { return f.expMask() }

// nan is the canonical NaN: every exponent and fraction bit set (0x7fff,
// 0x7f), as the hardware gives it for these formats.
func (f halfFormat) nan() uint64 { return f.expMask() | f.manMask() }

func (f halfFormat) isNaN(b uint64) bool {
	b &^= f.signBit()
	if f.finite {
		return b == f.expMask()|f.manMask()
	}
	return b&f.expMask() == f.expMask() && b&f.manMask() != 0
}

func (f halfFormat) isInf(b uint64) bool {
	return !f.finite && b&^f.signBit() == f.expMask()
}

func (f halfFormat) isSubnormal(b uint64) bool {
	return b&f.expMask() == 0 && b&f.manMask() != 0
}

// toF64 decodes b exactly.
func (f halfFormat) toF64(b uint64) float64 {
	neg := b&f.signBit() != 0
	var v float64
	e := int(b&f.expMask()) >> f.manBits
	m := float64(b & f.manMask())
	switch {
	case f.isNaN(b):
		return math.NaN()
	case f.isInf(b):
		v = math.Inf(1)
	case e == 0:
		v = math.Ldexp(m, 1-f.bias()-int(f.manBits))
	default:
		v = math.Ldexp(m+float64(uint64(1)<<f.manBits), e-f.bias()-int(f.manBits))
	}
	if neg {
		v = -v
	}
	return v
}

// fromF64 rounds x to the format with mode r (rndNone is .rn). With
// satfinite, a result too large for the format and an infinity become the
// largest finite value of their sign (PTX .satfinite); NaN stays NaN. A
// format without infinities and without satfinite gives NaN on overflow.
func (f halfFormat) fromF64(x float64, r rounding, satfinite bool) uint64 {
	if x != x {
		return f.nan()
	}
	var sign uint64
	if math.Signbit(x) {
		sign = f.signBit()
	}
	a := math.Abs(x)
	// beyond is what a magnitude past the largest finite value becomes:
	// that value when the rounding goes toward zero (toInf false) or with
	// satfinite, else infinity, or NaN in a format without one.
	beyond := func(toInf bool) uint64 {
		switch {
		case !toInf || satfinite:
			return sign | f.maxFinite()
		case f.finite:
			return f.nan()
		}
		return sign | f.inf()
	}
	if math.IsInf(a, 0) {
		return beyond(true)
	}
	if a == 0 {
		return sign
	}
	emin := 1 - f.bias() // the exponent of the smallest normal
	_, e := math.Frexp(a)
	e-- // a = 1.m × 2^e
	if e < emin {
		e = emin // subnormal: the quantum is the smallest subnormal
	}
	q := math.Ldexp(a, int(f.manBits)-e) // a in units of the last place: exact
	n := math.Floor(q)
	frac := q - n
	if aluRoundUp(frac != 0, aluCmp(frac, 0.5), math.Mod(n, 2) == 1, sign != 0, r) {
		n++
	}
	m := uint64(n)
	if m == 0 {
		return sign
	}
	// m has manBits+1 bits for a normal, at most manBits for a subnormal;
	// rounding up may carry into the next binade.
	if m >= 1<<(f.manBits+1) {
		m >>= 1
		e++
	}
	var code uint64
	if m < 1<<f.manBits {
		code = m // subnormal (its exponent field is 0)
	} else {
		code = uint64(e+f.bias())<<f.manBits | m&f.manMask()
	}
	if code > f.maxFinite() {
		// Rounded past the largest value: to nearest, or away from zero
		// in the value's direction, goes on to infinity.
		m := aluFloatMode(r)
		return beyond(m == rndRN || m == rndRP && sign == 0 || m == rndRM && sign != 0)
	}
	return sign | code
}

// halfFTZ flushes a subnormal to zero of its sign (.ftz).
func (f halfFormat) halfFTZ(b uint64) uint64 {
	if f.isSubnormal(b) {
		return b & f.signBit()
	}
	return b
}

// halfRound finishes an exact result s+e (s = RN(s+e), from TwoSum or an
// exact product) in format f: round to odd at 53 bits, then once to f.
func (f halfFormat) halfRound(s, e float64, r rounding) uint64 {
	return f.fromF64(aluOdd64(s, e), r, false)
}

// halfArith is add, sub, mul or fma (and mad) of the format, on codes:
// op 0 a+b, 1 a-b, 2 a*b, 3 a*b+c. With ftz, subnormal inputs and results
// are flushed; NaN results are the canonical NaN.
func (f halfFormat) halfArith(op int, a, b, c uint64, r rounding, ftz bool) uint64 {
	if ftz {
		a, b, c = f.halfFTZ(a), f.halfFTZ(b), f.halfFTZ(c)
	}
	x, y, z := f.toF64(a), f.toF64(b), f.toF64(c)
	var res uint64
	switch op {
	case 0:
		res = f.addExact(x, y, r)
	case 1:
		res = f.addExact(x, -y, r)
	case 2:
		res = f.fromF64(x*y, r, false) // exact: two significands of at most 11 bits
	case 3:
		res = f.addExact(x*y, z, r) // the product is exact
	}
	if f.isNaN(res) {
		res = f.nan()
	}
	if ftz {
		res = f.halfFTZ(res)
	}
	return res
}

// addExact rounds x+y (float64 values, each exact) to the format.
func (f halfFormat) addExact(x, y float64, r rounding) uint64 {
	if x != x || y != y || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return f.fromF64(x+y, r, false)
	}
	s, e := aluTwoSum(x, y)
	if s == 0 && e == 0 {
		return f.fromF64(aluZeroSum(math.Signbit(x), math.Signbit(y), x == 0 && y == 0, r), r, false)
	}
	return f.halfRound(s, e, r)
}
