package cpuemu

import (
	"math"
	"math/big"
	"math/rand"
	"sort"
	"sync"
	"testing"
)

// The oracle below rounds exact rationals to a narrow format by searching
// the format's own list of values, written from the format's definition
// (sign, exponent field with its bias, fraction; subnormals at exponent
// field 0; the all-ones exponent for Inf and NaN, or for e4m3 numbers but
// S.1111.111) and IEEE 754's rounding rules: nothing of it comes from
// fromF64 or from float64 arithmetic.

type halfOracle struct {
	f     halfFormat
	vals  []*big.Rat // finite non-negative values, ascending
	codes []uint64
	max   *big.Rat
	// next is the value one ulp above max with an unbounded exponent:
	// the other neighbour of a value past max.
	next *big.Rat
}

var (
	halfOraclesMu sync.Mutex
	halfOracles   = map[string]*halfOracle{}
)

// newHalfOracle builds (once per format) the oracle of f.
func newHalfOracle(f halfFormat) *halfOracle {
	halfOraclesMu.Lock()
	defer halfOraclesMu.Unlock()
	if o, ok := halfOracles[f.name]; ok {
		return o
	}
	o := buildHalfOracle(f)
	halfOracles[f.name] = o
	return o
}

func buildHalfOracle(f halfFormat) *halfOracle {
	o := &halfOracle{f: f}
	bias := 1<<(f.expBits-1) - 1
	for e := 0; e < 1<<f.expBits; e++ {
		for m := 0; m < 1<<f.manBits; m++ {
			code := uint64(e)<<f.manBits | uint64(m)
			if f.finite && code == f.expMask()|f.manMask() || !f.finite && e == 1<<f.expBits-1 {
				continue // NaN, or Inf and NaN
			}
			// value = (e == 0 ? m : 2^manBits + m) × 2^(max(e,1) - bias - manBits)
			sig := int64(m)
			if e > 0 {
				sig += 1 << f.manBits
			}
			// sig × 2^sh is exact in a float64 for every format here.
			sh := max(e, 1) - bias - int(f.manBits)
			v := new(big.Rat).SetFloat64(math.Ldexp(float64(sig), sh))
			o.vals = append(o.vals, v)
			o.codes = append(o.codes, code)
		}
	}
	o.max = o.vals[len(o.vals)-1]
	ulp := new(big.Rat).Sub(o.max, o.vals[len(o.vals)-2])
	o.next = new(big.Rat).Add(o.max, ulp)
	return o
}

// round rounds the exact value x (non-zero) with mode r.
func (o *halfOracle) round(x *big.Rat, r rounding, satfinite bool) uint64 {
	neg := x.Sign() < 0
	a := new(big.Rat).Abs(x)
	var sign uint64
	if neg {
		sign = o.f.signBit()
	}
	i := sort.Search(len(o.vals), func(i int) bool { return o.vals[i].Cmp(a) >= 0 })
	if i < len(o.vals) && o.vals[i].Cmp(a) == 0 {
		return sign | o.codes[i]
	}
	var lo, hi *big.Rat
	var loCode, hiCode uint64
	over := i == len(o.vals) // past max: the upper neighbour is out of range
	if over {
		lo, hi, loCode = o.max, o.next, o.codes[len(o.codes)-1]
	} else {
		lo, hi, loCode, hiCode = o.vals[i-1], o.vals[i], o.codes[i-1], o.codes[i]
	}
	up := false
	switch aluFloatMode(r) {
	case rndRN:
		mid := new(big.Rat).Add(lo, hi)
		mid.Quo(mid, big.NewRat(2, 1))
		c := a.Cmp(mid)
		// A tie goes to the even code. Past max, the virtual neighbour
		// is the code after max: 2^(emax+1), even, in the IEEE formats;
		// S.1111.111, odd, in e4m3.
		next := hiCode
		if over {
			next = o.f.maxFinite() + 1
		}
		up = c > 0 || c == 0 && next&1 == 0
	case rndRP:
		up = !neg
	case rndRM:
		up = neg
	}
	if !up {
		return sign | loCode
	}
	if over {
		switch {
		case satfinite:
			return sign | o.f.maxFinite()
		case o.f.finite:
			return o.f.nan()
		}
		return sign | o.f.inf()
	}
	return sign | hiCode
}

// halfSamples scales a sample count down under the race detector, which
// adds nothing to these single-goroutine checks but time.
func halfSamples(n int) int {
	if raceDetector {
		return n / 4
	}
	return n
}

var halfFormats = []halfFormat{fmtF16, fmtBF16, fmtE4M3, fmtE5M2}

func ratOf(x float64) *big.Rat { return new(big.Rat).SetFloat64(x) }

// TestHalfDecode: every code decodes to the value the definition gives.
func TestHalfDecode(t *testing.T) {
	t.Parallel()
	for _, f := range halfFormats {
		o := newHalfOracle(f)
		for i, code := range o.codes {
			for _, s := range []uint64{0, f.signBit()} {
				got := f.toF64(s | code)
				want := new(big.Rat).Set(o.vals[i])
				if s != 0 {
					want.Neg(want)
				}
				if ratOf(got).Cmp(want) != 0 || s != 0 && !math.Signbit(got) {
					t.Fatalf("%s %#x decodes to %g, want %s", f.name, s|code, got, want.FloatString(30))
				}
			}
		}
		if !f.isNaN(f.nan()) || f.toF64(f.nan()) == f.toF64(f.nan()) {
			t.Errorf("%s: canonical NaN %#x", f.name, f.nan())
		}
	}
	// By hand: f16 65504 = 0x7bff, 2^-24 = 0x0001; bf16 1.0 = 0x3f80;
	// e4m3 448 = 0x7e, 0x7f is NaN; e5m2 57344 = 0x7b, Inf = 0x7c.
	for _, c := range []struct {
		f    halfFormat
		code uint64
		v    float64
	}{{fmtF16, 0x7bff, 65504}, {fmtF16, 0x0001, 0x1p-24}, {fmtF16, 0x3c00, 1}, {fmtF16, 0xc000, -2}, {fmtBF16, 0x3f80, 1},
		{fmtBF16, 0x7f7f, 0x1.fep127}, {fmtE4M3, 0x7e, 448}, {fmtE4M3, 0x01, 0x1p-9}, {fmtE5M2, 0x7b, 57344}, {fmtE5M2, 0x7c, math.Inf(1)}} {
		if got := c.f.toF64(c.code); got != c.v {
			t.Errorf("%s %#x = %g, want %g", c.f.name, c.code, got, c.v)
		}
	}
	if !fmtE4M3.isNaN(0x7f) || fmtE4M3.isNaN(0x7e) || fmtE4M3.isInf(0x78) {
		t.Error("e4m3 has no infinity; only S.1111.111 is NaN")
	}
}

// TestHalfRound: rounding float64 values to each format agrees with the
// oracle for every mode, at every value, just above and below it, at
// every midpoint and around it, and at random.
func TestHalfRound(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(5))
	for _, f := range halfFormats {
		o := newHalfOracle(f)
		var xs []float64
		// Every value of fp8; about 2000 of each 16-bit format, the
		// smallest and largest included.
		stride := max(1, len(o.vals)/halfSamples(2000))
		for i, v := range o.vals {
			if i%stride != 0 && i > 40 && i < len(o.vals)-40 {
				continue
			}
			x, _ := v.Float64()
			xs = append(xs, x, math.Nextafter(x, 0), math.Nextafter(x, math.Inf(1)))
			if i+1 < len(o.vals) {
				mid, _ := new(big.Rat).Quo(new(big.Rat).Add(v, o.vals[i+1]), big.NewRat(2, 1)).Float64()
				xs = append(xs, mid, math.Nextafter(mid, 0), math.Nextafter(mid, math.Inf(1)))
			}
		}
		mx, _ := o.max.Float64()
		nx, _ := o.next.Float64()
		xs = append(xs, (mx+nx)/2, math.Nextafter((mx+nx)/2, 0), nx, 1e300, 1e-300)
		for range halfSamples(2000) {
			xs = append(xs, math.Ldexp(rng.Float64()+0.5, rng.Intn(2*(1<<f.expBits))-(1<<f.expBits)-int(f.manBits)))
		}
		for _, x := range xs {
			if x == 0 {
				continue
			}
			for _, neg := range []bool{false, true} {
				if neg {
					x = -x
				}
				for _, r := range []rounding{rndRN, rndRZ, rndRM, rndRP} {
					for _, sat := range []bool{false, true} {
						want := o.round(ratOf(x), r, sat)
						if got := f.fromF64(x, r, sat); got != want {
							t.Fatalf("%s: round(%g, %s, satfinite %v) = %#x, want %#x", f.name, x, aluModeName(r), sat, got, want)
						}
					}
				}
			}
		}
		// Zeros keep their sign; Inf and NaN.
		if f.fromF64(math.Copysign(0, -1), rndRN, false) != f.signBit() || f.fromF64(0, rndRN, false) != 0 {
			t.Errorf("%s: signed zeros", f.name)
		}
		if got := f.fromF64(math.NaN(), rndRN, true); got != f.nan() {
			t.Errorf("%s: NaN gives %#x", f.name, got)
		}
		wantInf := f.inf()
		if f.finite {
			wantInf = f.nan()
		}
		if got := f.fromF64(math.Inf(1), rndRN, false); got != wantInf {
			t.Errorf("%s: +Inf gives %#x, want %#x", f.name, got, wantInf)
		}
		if got := f.fromF64(math.Inf(-1), rndRZ, true); got != f.signBit()|f.maxFinite() {
			t.Errorf("%s: -Inf satfinite gives %#x", f.name, got)
		}
	}
	// By hand: 65520 is the midpoint of f16's 65504 and 2^16: a tie that
	// goes to the even side, Inf; 65519 rounds down. 1 + 2^-11 ties to 1.
	for _, c := range []struct {
		x    float64
		r    rounding
		want uint64
	}{{65520, rndRN, 0x7c00}, {65519, rndRN, 0x7bff}, {65520, rndRZ, 0x7bff}, {1 + 0x1p-11, rndRN, 0x3c00},
		{1 + 0x1p-10 + 0x1p-11, rndRN, 0x3c02}, {0x1p-25, rndRN, 0}, {0x1.8p-25, rndRN, 1}, {0x1p-26, rndRP, 1}} {
		if got := fmtF16.fromF64(c.x, c.r, false); got != c.want {
			t.Errorf("f16 round(%g, %s) = %#x, want %#x", c.x, aluModeName(c.r), got, c.want)
		}
	}
}

// TestHalfArith: add, sub, mul and fma of every format agree with the
// oracle applied to the exact rational result, for random operands (with
// zeros, subnormals, the largest values, Inf and NaN among them), in every
// mode.
func TestHalfArith(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(9))
	for _, f := range halfFormats {
		o := newHalfOracle(f)
		n := uint64(1) << f.bits()
		special := []uint64{0, f.signBit(), 1, f.maxFinite(), f.signBit() | f.maxFinite(), f.inf(), f.nan(), f.expMask() >> 1}
		pick := func() uint64 {
			if rng.Intn(8) == 0 {
				return special[rng.Intn(len(special))]
			}
			return uint64(rng.Intn(int(n)))
		}
		var pairs [][3]uint64
		for range halfSamples(6000) {
			pairs = append(pairs, [3]uint64{pick(), pick(), pick()})
		}
		for _, p := range pairs {
			a, b, c := p[0], p[1], p[2]
			x, y, z := f.toF64(a), f.toF64(b), f.toF64(c)
			for op := 0; op < 4; op++ {
				for _, r := range []rounding{rndRN, rndRZ, rndRM, rndRP} {
					got := f.halfArith(op, a, b, c, r, false)
					want := halfArithOracle(o, op, x, y, z, r)
					if got != want && !(f.isNaN(got) && f.isNaN(want)) {
						t.Fatalf("%s op %d (%g, %g, %g) %s = %#x (%g), want %#x (%g)", f.name, op, x, y, z, aluModeName(r), got, f.toF64(got), want, f.toF64(want))
					}
				}
			}
		}
	}
}

// halfArithOracle computes op exactly on rationals and rounds with the
// oracle. Infinities, NaNs and exact zeros follow IEEE 754: a NaN result
// is the canonical NaN, an exact zero sum is +0 but for like-signed zeros
// (and -0 under .rm).
func halfArithOracle(o *halfOracle, op int, x, y, z float64, r rounding) uint64 {
	f := o.f
	special := func(v float64) bool { return v != v || math.IsInf(v, 0) }
	var exact *big.Rat
	switch op {
	case 0, 1:
		if op == 1 {
			y = -y
		}
		if special(x) || special(y) {
			return f.fromF64(x+y, r, false) // Inf, NaN: exact in any format
		}
		exact = new(big.Rat).Add(ratOf(x), ratOf(y))
		if exact.Sign() == 0 {
			return zeroSum(f, x, y, r)
		}
	case 2:
		if special(x) || special(y) || x == 0 || y == 0 {
			return f.fromF64(x*y, r, false)
		}
		exact = new(big.Rat).Mul(ratOf(x), ratOf(y))
	case 3:
		p := x * y
		if special(x) || special(y) || special(z) {
			return f.fromF64(p+z, r, false)
		}
		exact = new(big.Rat).Add(new(big.Rat).Mul(ratOf(x), ratOf(y)), ratOf(z))
		if exact.Sign() == 0 {
			return zeroSum(f, p, z, r)
		}
	}
	v := o.round(exact, r, false)
	if f.isNaN(v) {
		return f.nan()
	}
	return v
}

func zeroSum(f halfFormat, x, y float64, r rounding) uint64 {
	if x == 0 && y == 0 && math.Signbit(x) == math.Signbit(y) {
		if math.Signbit(x) {
			return f.signBit()
		}
		return 0
	}
	if aluFloatMode(r) == rndRM {
		return f.signBit()
	}
	return 0
}
