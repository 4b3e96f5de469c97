package cpuemu_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/kernels"
)

// TestOrdinaryCUDA runs the kernels of testdata/ordinary/ordinary.cu, as
// nvcc 11.8 compiled them for sm_70, and compares every output with a Go
// reference written from the CUDA source (not from emulator output), for
// several launch shapes under lockstep, round-robin, adversarial and two
// random schedules. These kernels are correct, so no launch may report a
// diagnostic.
//
// Exactness. Integer results are compared exactly. Float results of IEEE
// operations (add, mul, fma.rn, div.rn, sqrt.rn, conversions, floor, ceil,
// round, trunc) are compared bit for bit: where nvcc contracted a*b+c into
// fma.rn.f32 (saxpy, v*v+1.0f in mathfn; allowed by nvcc's default
// -fmad=true) the reference uses ordFMA32, a correctly single-rounded f32
// fma. The library functions expf, sinf and logf are approximations whose
// error bounds the CUDA Programming Guide gives (2, 2 and 1 ulp); the
// reference is the correctly rounded value (within 0.5 ulp of the truth), so
// they are compared to within 3, 3 and 2 ulp. The float atomicAdd sum is
// order-dependent: it is compared exactly for inputs whose every partial sum
// is exact (quarter-integers), else within the bound (n-1)·2⁻²⁴·Σ|x| that
// holds for any order of additions.
func TestOrdinaryCUDA(t *testing.T) {
	m := ordModule(t)
	t.Run("saxpy", func(t *testing.T) { t.Parallel(); ordSaxpy(t, m) })
	t.Run("block_sum", func(t *testing.T) { t.Parallel(); ordBlockSum(t, m) })
	t.Run("mathfn", func(t *testing.T) { t.Parallel(); ordMathfn(t, m) })
	t.Run("intmix", func(t *testing.T) { t.Parallel(); ordIntmix(t, m) })
	t.Run("atomics", func(t *testing.T) { t.Parallel(); ordAtomics(t, m) })
	t.Run("structs", func(t *testing.T) { t.Parallel(); ordStructs(t, m) })
	t.Run("calls", func(t *testing.T) { t.Parallel(); ordCalls(t, m) })
	t.Run("dmath", func(t *testing.T) { t.Parallel(); ordDmath(t, m) })
}

var (
	ordOnce sync.Once
	ordMod  *cpuemu.Module
	ordErr  error
)

func ordModule(t *testing.T) *cpuemu.Module {
	t.Helper()
	ordOnce.Do(func() {
		path := filepath.Join("testdata", "ordinary", "ordinary.ptx")
		ptx, err := os.ReadFile(path)
		if err != nil {
			ordErr = err
			return
		}
		ordMod, ordErr = cpuemu.Load(path, ptx)
	})
	if ordErr != nil {
		t.Fatal(ordErr)
	}
	return ordMod
}

// ordShape is one launch shape: n elements, blocks of block threads, enough
// blocks to cover n plus extra.
type ordShape struct {
	n     int
	block uint32
	extra uint32
}

func (s ordShape) grid() uint32 { return uint32(s.n+int(s.block)-1)/s.block + s.extra }

func (s ordShape) String() string {
	return fmt.Sprintf("n=%d/grid=%d/block=%d", s.n, s.grid(), s.block)
}

// ordSchedules is lockstep, round-robin, adversarial and two random seeds.
func ordSchedules() []schedule { return allSchedules(2) }

// ordLaunch runs kernel and fails the test on an error or any diagnostic.
func ordLaunch(t *testing.T, m *cpuemu.Module, d *cpuemu.Device, kernel string, c cpuemu.LaunchConfig, args ...any) {
	t.Helper()
	res, err := m.Launch(d, kernel, c, args...)
	if err != nil {
		t.Fatalf("launch %s: %v", kernel, err)
	}
	if len(res.Diagnostics) != 0 {
		for _, dg := range res.Diagnostics {
			t.Errorf("diagnostic: %s", dg)
		}
	}
}

// ordEach runs check for every shape and schedule, as subtests.
func ordEach(t *testing.T, shapes []ordShape, check func(t *testing.T, sh ordShape, s schedule)) {
	t.Helper()
	for _, sh := range shapes {
		for _, s := range ordSchedules() {
			t.Run(sh.String()+"/"+s.String(), func(t *testing.T) { check(t, sh, s) })
		}
	}
}

// --- encoding helpers ---

func ordF32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func ordF32s(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func ordF64Bytes(v []float64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return b
}

func ordF64s(b []byte) []float64 {
	v := make([]float64, len(b)/8)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v
}

func ordI64Bytes(v []int64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return b
}

func ordI64s(b []byte) []int64 {
	v := make([]int64, len(b)/8)
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v
}

// --- float helpers ---

// ordFMA32 is fma.rn.f32: a*b+c rounded once to float32. The product of two
// float32s is exact in float64, but float32(math.FMA(a, b, c)) rounds twice
// (to 53 bits, then to 24) and can land on a float32 tie that the exact value
// is not on; so the sum is formed exactly in math/big (600 bits cover the
// exponent span of any f32 a*b+c) and rounded once by Float32, which rounds
// to nearest even, subnormals included.
func ordFMA32(a, b, c float32) float32 {
	r64 := math.FMA(float64(a), float64(b), float64(c))
	// Non-finite results (f32 operands cannot overflow float64), and exact
	// zeros (whose sign IEEE fixes; float64 gets it right, as f32 operands
	// cannot underflow it), need no big arithmetic.
	if r64 == 0 || math.IsInf(r64, 0) || math.IsNaN(r64) {
		return float32(r64)
	}
	x := new(big.Float).SetPrec(600).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetFloat64(float64(c)))
	f, _ := x.Float32()
	return f
}

// ordUlps is the number of float32 values between a and b (0 when equal,
// ±0 being equal).
func ordUlps(a, b float32) int64 {
	ord := func(f float32) int64 {
		i := int64(int32(math.Float32bits(f)))
		if i < 0 {
			i = math.MinInt32 - i
		}
		return i
	}
	d := ord(a) - ord(b)
	if d < 0 {
		d = -d
	}
	return d
}

func ordSameF32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

func ordF32(bits uint32) float32 { return math.Float32frombits(bits) }

// ordRandF32 returns floats of both signs with magnitudes spread
// log-uniformly over [lo, hi].
func ordRandF32(r *rand.Rand, n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		mag := math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
		if r.IntN(2) == 0 {
			mag = -mag
		}
		v[i] = float32(mag)
	}
	return v
}

// --- saxpy ---

func ordSaxpy(t *testing.T, m *cpuemu.Module) {
	// With a = x = 1+2⁻¹² and y = 2⁻⁸⁰, a*x+y is just above the f32 tie
	// 1+2⁻¹¹+2⁻²⁴: fma.rn rounds up, but rounding through float64 first
	// lands on the tie and rounds to even (down). The reference must not.
	tieA := ordF32(0x3f800800) // 1+2⁻¹²
	tieY := float32(math.Ldexp(1, -80))
	if got, naive := ordFMA32(tieA, tieA, tieY), float32(math.FMA(float64(tieA), float64(tieA), float64(tieY))); got == naive {
		t.Fatalf("ordFMA32 rounds like float32(math.FMA): %v", got)
	}
	r := rand.New(rand.NewPCG(1, 2))
	const n = 300
	x := ordRandF32(r, n, 1e-4, 1e4)
	y := ordRandF32(r, n, 1e-4, 1e4)
	special := [][2]float32{{0, 0}, {float32(math.Copysign(0, -1)), 0}, {2.5, -2.5}, {-2.5, 2.5},
		{1, -2.5}, {tieA, tieY}, {tieA, -tieY}, {3.4e38, 3.4e38}, {-1e-40, 1e-41}, {1e-20, -1e-40}}
	for i, p := range special {
		x[i], y[i] = p[0], p[1]
	}
	for _, a := range []float32{2.5, tieA, -1.75, 0} {
		ordEach(t, []ordShape{{n, 128, 0}, {77, 32, 1}, {n, 48, 0}}, func(t *testing.T, sh ordShape, s schedule) {
			d := cpuemu.NewDevice()
			px := buf(t, d, ordF32Bytes(x[:sh.n]))
			py := buf(t, d, ordF32Bytes(y[:sh.n]))
			ordLaunch(t, m, d, "saxpy", cfg(sh.grid(), sh.block, s), int32(sh.n), a, px, py)
			got := ordF32s(read(t, d, py, 4*sh.n))
			for i := range sh.n {
				// y[i] = a * x[i] + y[i]; nvcc: fma.rn.f32 (ptx line 85).
				if want := ordFMA32(a, x[i], y[i]); !ordSameF32(got[i], want) {
					t.Errorf("a=%g: y[%d] = %g (%#x), want fma(%g, %g, %g) = %g (%#x)", a, i, got[i], math.Float32bits(got[i]),
						a, x[i], y[i], want, math.Float32bits(want))
				}
			}
		})
	}
}

// --- block_sum ---

func ordBlockSum(t *testing.T, m *cpuemu.Module) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 1000
	in := ordRandF32(r, n, 1e-3, 1e5) // mixed magnitudes: the order of additions shows
	in[0], in[1], in[2], in[3] = 2.5, -2.5, 0, float32(math.Copysign(0, -1))
	shapes := []ordShape{{n, 128, 0}, {77, 32, 1}, {300, 256, 0}, {64 * 3, 64, 0}, {45, 16, 0}, {5, 1, 0}}
	ordEach(t, shapes, func(t *testing.T, sh ordShape, s schedule) {
		d := cpuemu.NewDevice()
		pin := buf(t, d, ordF32Bytes(in[:sh.n]))
		pout := buf(t, d, make([]byte, 4*int(sh.grid())))
		c := cfg(sh.grid(), sh.block, s)
		c.SharedBytes = 4 * int(sh.block)
		ordLaunch(t, m, d, "block_sum", c, pin, pout, int32(sh.n))
		got := ordF32s(read(t, d, pout, 4*int(sh.grid())))
		for b := range int(sh.grid()) {
			// The tree of block_sum, in float32, in its own order.
			sm := make([]float32, sh.block)
			for tt := range sm {
				if i := b*int(sh.block) + tt; i < sh.n {
					sm[tt] = in[i]
				}
			}
			for stride := sh.block / 2; stride > 0; stride >>= 1 {
				for tt := range stride {
					sm[tt] += sm[tt+stride]
				}
			}
			if !ordSameF32(got[b], sm[0]) {
				t.Errorf("out[%d] = %g (%#x), want %g (%#x)", b, got[b], math.Float32bits(got[b]), sm[0], math.Float32bits(sm[0]))
			}
		}
	})
}

// --- mathfn ---

func ordMathfn(t *testing.T, m *cpuemu.Module) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 260
	x := make([]float32, 0, n)
	// Rounding boundaries, signed zeros, subnormals, multiples of π, and
	// arguments on both sides of sinf's switch to Payne-Hanek reduction
	// (|x| >= 105615). |x| stays below 5.8e8 so that (int)(x*3.7f) is
	// defined.
	x = append(x, 0, float32(math.Copysign(0, -1)), 2.5, -2.5, 0.5, -0.5, 1.5, -1.5, 3.5, -3.5,
		0.49999997, -0.49999997, 1, -1, 1e-40, -1e-40, 3.1415927, -3.1415927, 1.5707964, 6.2831855,
		105614, 105615, -105616, 1e6, -1e6, 3e7, 123456.79, -5e8, 5e8, 8388607.5, -8388609, 16777217,
		354, 355, -340, 100, -100, 0.1, -0.1, 0.7, 1/3.7, -1/3.7, 2/3.7)
	x = append(x, ordRandF32(r, 100, 1e-3, 60)...)
	x = append(x, ordRandF32(r, n-len(x), 1e-3, 5e8)...)
	shapes := []ordShape{{n, 128, 0}, {77, 32, 1}, {n, 100, 0}}
	ordEach(t, shapes, func(t *testing.T, sh ordShape, s schedule) {
		d := cpuemu.NewDevice()
		px := buf(t, d, ordF32Bytes(x[:sh.n]))
		pout := buf(t, d, make([]byte, 24*sh.n))
		ordLaunch(t, m, d, "mathfn", cfg(sh.grid(), sh.block, s), px, pout, int32(sh.n))
		got := ordF32s(read(t, d, pout, 24*sh.n))
		for i := range sh.n {
			v := x[i]
			av := float32(math.Abs(float64(v)))
			exact := func(k int, what string, want float32) {
				t.Helper()
				if g := got[6*i+k]; !ordSameF32(g, want) {
					t.Errorf("x=%g (%#x): %s = %g (%#x), want %g (%#x)", v, math.Float32bits(v), what, g, math.Float32bits(g), want, math.Float32bits(want))
				}
			}
			approx := func(k int, what string, want float32, ulps int64) {
				t.Helper()
				if g := got[6*i+k]; ordUlps(g, want) > ulps || g != g {
					t.Errorf("x=%g (%#x): %s = %g (%#x), want %g (%#x) within %d ulp (off by %d)", v, math.Float32bits(v), what, g, math.Float32bits(g),
						want, math.Float32bits(want), ulps, ordUlps(g, want))
				}
			}
			// sqrt.rn.f32: correctly rounded; rounding the float64 square root
			// to float32 is too (53 >= 2·24+2, so double rounding is innocuous).
			exact(0, "sqrtf(fabsf(x))", float32(math.Sqrt(float64(av))))
			q := v * 0.25
			approx(1, "expf(x*0.25f)", float32(math.Exp(float64(q))), 3)
			approx(2, "sinf(x)", float32(math.Sin(float64(v))), 3)
			l := av + 1
			approx(3, "logf(fabsf(x)+1)", float32(math.Log(float64(l))), 2)
			// v / (v*v + 1.0f): nvcc contracts the denominator to fma.rn.f32
			// (ptx line 435); div.rn.f32 is correctly rounded, and so is the
			// float64 quotient rounded to float32 (innocuous double rounding).
			den := ordFMA32(v, v, 1)
			exact(4, "x/(x*x+1)", float32(float64(v)/float64(den)))
			// (float)(int)(v*3.7f) + floorf(v) + ceilf(v) + roundf(v), left to
			// right in float32; roundf rounds halves away from zero.
			p := float32(v * float32(3.7))
			sum := float32(int32(p)) + float32(math.Floor(float64(v)))
			sum += float32(math.Ceil(float64(v)))
			sum += float32(math.Round(float64(v)))
			exact(5, "(int)(x*3.7f)+floorf+ceilf+roundf", sum)
		}
	})
}

// --- intmix ---

// ordIntmixRef is intmix for one element. Signed overflow is undefined in
// C++; for the large inputs here (v*2654435761, and reversing 19 digits) nvcc
// emits mul.lo.s64/add.s64, which wrap, so the reference wraps too (Go's
// int64 arithmetic does). >> of a negative long long is arithmetic in nvcc.
func ordIntmixRef(v int64) [3]int64 {
	u := uint64(v)
	if v < 0 {
		u = uint64(-v)
	}
	var digits [20]int64
	k := 0
	for {
		digits[k] = int64(u % 10)
		k++
		u /= 10
		if u == 0 || k >= 20 {
			break
		}
	}
	var rev int64
	for j := range k {
		rev = rev*10 + digits[j]
	}
	if v < 0 {
		rev = -rev
	}
	return [3]int64{
		rev,
		(v * 2654435761) >> 7,
		int64(bits.OnesCount64(uint64(v))) + int64(bits.LeadingZeros64(uint64(v|1))) + v%7,
	}
}

func ordIntmix(t *testing.T, m *cpuemu.Module) {
	r := rand.New(rand.NewPCG(7, 8))
	const n = 200
	// INT64_MIN is left out: -v overflows for it.
	x := []int64{0, 1, -1, 7, -7, -8, 9, 10, -10, 11, 14, 100, 12345, -12345, 1000000007,
		math.MaxInt64, math.MinInt64 + 1, -math.MaxInt64, 1e18, 1e18 - 1, -1e18, 1e18 + 1,
		1999999999999999999, -1999999999999999999, 9e18, 4294967296, 4294967295, 1 << 62, -(1 << 62),
		2654435761, -2654435761, 3465138, -3465139, 1 << 31, 9999999999, 10000000000}
	for len(x) < n {
		v := r.Int64() >> r.IntN(63)
		if r.IntN(2) == 0 {
			v = -v
		}
		x = append(x, v)
	}
	shapes := []ordShape{{n, 64, 0}, {77, 32, 1}, {n, 96, 0}}
	ordEach(t, shapes, func(t *testing.T, sh ordShape, s schedule) {
		d := cpuemu.NewDevice()
		px := buf(t, d, ordI64Bytes(x[:sh.n]))
		pout := buf(t, d, make([]byte, 24*sh.n))
		ordLaunch(t, m, d, "intmix", cfg(sh.grid(), sh.block, s), px, pout, int32(sh.n))
		got := ordI64s(read(t, d, pout, 24*sh.n))
		for i := range sh.n {
			want := ordIntmixRef(x[i])
			for k := range 3 {
				if got[3*i+k] != want[k] {
					t.Errorf("x=%d: out[3*%d+%d] = %d, want %d", x[i], i, k, got[3*i+k], want[k])
				}
			}
		}
	})
}

// --- atomics ---

func ordAtomics(t *testing.T, m *cpuemu.Module) {
	r := rand.New(rand.NewPCG(9, 10))
	const n = 500
	// Quarter-integers of magnitude <= 64: every partial sum of up to n of
	// them is exact in float32, so the sum is order-independent.
	dyadic := make([]float32, n)
	for i := range dyadic {
		dyadic[i] = float32(r.IntN(513)-256) / 4
	}
	wide := ordRandF32(r, n, 1e-3, 1e3)
	wide[5], wide[6], wide[7] = 0, float32(math.Copysign(0, -1)), 2.5
	allNeg := make([]float32, 100)
	for i := range allNeg {
		allNeg[i] = -float32(r.IntN(400)+1) / 8
	}
	sets := []struct {
		name  string
		x     []float32
		exact bool
		cnt0  uint32
	}{{"dyadic", dyadic, true, 0}, {"wide", wide, false, 0xfffffff0}, {"negative", allNeg, true, 7}}
	for _, set := range sets {
		shapes := []ordShape{{len(set.x), 128, 0}, {77, 32, 1}, {len(set.x), 50, 0}}
		ordEach(t, shapes, func(t *testing.T, sh ordShape, s schedule) {
			x := set.x[:sh.n]
			d := cpuemu.NewDevice()
			px := buf(t, d, ordF32Bytes(x))
			psum := buf(t, d, ordF32Bytes([]float32{0}))
			pmx := buf(t, d, ordF32Bytes([]float32{float32(math.Inf(-1))}))
			pcnt := buf(t, d, kernels.WordBytes([]uint32{set.cnt0}))
			ordLaunch(t, m, d, "atomics", cfg(sh.grid(), sh.block, s), px, psum, pmx, pcnt, int32(sh.n))
			sum := ordF32s(read(t, d, psum, 4))[0]
			mx := ordF32s(read(t, d, pmx, 4))[0]
			cnt := kernels.Words(read(t, d, pcnt, 4))[0]

			var exactSum, absSum float64
			wantMx := float32(math.Inf(-1))
			wantCnt := set.cnt0
			for _, v := range x {
				exactSum += float64(v)
				absSum += math.Abs(float64(v))
				if v > wantMx {
					wantMx = v
				}
				if v > 0 {
					// atomicInc(cnt, 0xffffffff): old >= 0xffffffff ? 0 : old+1.
					wantCnt++
				}
			}
			if set.exact {
				if float64(sum) != exactSum {
					t.Errorf("%s: sum = %g, want exactly %g", set.name, sum, exactSum)
				}
			} else if bound := float64(len(x)-1) * 0x1p-24 * absSum; math.Abs(float64(sum)-exactSum) > bound {
				t.Errorf("%s: sum = %g, want %g within %g", set.name, sum, exactSum, bound)
			}
			if mx != wantMx { // == so that +0 and -0, which the CAS loop treats as equal, both pass
				t.Errorf("%s: max = %g, want %g", set.name, mx, wantMx)
			}
			if cnt != wantCnt {
				t.Errorf("%s: count = %#x, want %#x", set.name, cnt, wantCnt)
			}
		})
	}
}

// --- structs ---

func ordStructs(t *testing.T, m *cpuemu.Module) {
	r := rand.New(rand.NewPCG(11, 12))
	const n = 300
	x := make([]int32, n)
	for i := range x {
		switch r.IntN(4) {
		case 0:
			x[i] = int32(r.IntN(64)) - 32
		case 1:
			x[i] = 42
		default:
			// |v| < 2^28: v*3, v+p.b and (int)(v*p.a) stay in range;
			// above 2^24, (float)v rounds.
			x[i] = int32(r.IntN(1<<29)) - 1<<28
		}
	}
	// A warp with no 42 and no positive value, for __any_sync and the ballot.
	for i := 64; i < 96; i++ {
		x[i] = -int32(i)
	}
	// Case 2 with (float)v on a tie: 2^25+2 and 2^25+10 round to even, down.
	x[0], x[1], x[2], x[3] = 1<<25+2, 1<<25+10, -(1<<25 + 6), 0
	type pair struct {
		a float32
		b int32
	}
	for _, p := range []pair{{2.5, -7}, {-0.75, 1000}} {
		pb := make([]byte, 8) // struct Pair { float a; int b; }: a at 0, b at 4
		binary.LittleEndian.PutUint32(pb, math.Float32bits(p.a))
		binary.LittleEndian.PutUint32(pb[4:], uint32(p.b))
		// Blocks are whole warps: __ballot_sync(0xffffffff) names all 32 lanes.
		shapes := []ordShape{{n, 64, 0}, {31, 32, 1}, {n, 96, 0}}
		ordEach(t, shapes, func(t *testing.T, sh ordShape, s schedule) {
			d := cpuemu.NewDevice()
			px := buf(t, d, kernels.WordBytes(ordWords(x[:sh.n])))
			pout := buf(t, d, make([]byte, 4*sh.n))
			ordLaunch(t, m, d, "structs", cfg(sh.grid(), sh.block, s), pb, px, pout, int32(sh.n))
			got := kernels.Words(read(t, d, pout, 4*sh.n))
			val := func(i int) int32 {
				if i < sh.n {
					return x[i]
				}
				return 0
			}
			for i := range sh.n {
				v := x[i]
				var rr int32
				switch v & 7 {
				case 0:
					rr = v * 3
				case 1:
					rr = v + p.b
				case 2:
					rr = int32(float32(float32(v) * p.a))
				case 3:
					rr = v ^ 0x55
				case 5:
					rr = -v
				default:
					rr = v >> 1
				}
				var ballot, anyv int32
				for l := i &^ 31; l < i&^31+32; l++ {
					if val(l) > 0 {
						ballot++
					}
					if val(l) == 42 {
						anyv = 1
					}
				}
				if want := rr + ballot + anyv; int32(got[i]) != want {
					t.Errorf("p=%v x[%d]=%d: out = %d, want %d (case %d: %d, popc(ballot) %d, any %d)", p, i, v, int32(got[i]), want, v&7, rr, ballot, anyv)
				}
			}
		})
	}
}

func ordWords(v []int32) []uint32 {
	w := make([]uint32, len(v))
	for i, x := range v {
		w[i] = uint32(x)
	}
	return w
}

// --- calls ---

func ordHash3(a, b, c uint32) uint32 {
	a -= c
	a ^= (c << 4) | (c >> 28)
	c += b
	b -= a
	b ^= (a << 6) | (a >> 26)
	a += c
	return a ^ b ^ c
}

func ordCalls(t *testing.T, m *cpuemu.Module) {
	const n = 300
	x := randWords(13, n)
	x[0], x[1], x[2] = 0, 0xffffffff, 0x9e3779b9
	shapes := []ordShape{{n, 128, 0}, {77, 32, 1}, {n, 50, 0}}
	ordEach(t, shapes, func(t *testing.T, sh ordShape, s schedule) {
		d := cpuemu.NewDevice()
		px := buf(t, d, kernels.WordBytes(x[:sh.n]))
		pout := buf(t, d, make([]byte, 4*sh.n))
		ordLaunch(t, m, d, "calls", cfg(sh.grid(), sh.block, s), px, pout, int32(sh.n))
		got := kernels.Words(read(t, d, pout, 4*sh.n))
		for i := range sh.n {
			if want := ordHash3(x[i], uint32(i), 0x9e3779b9); got[i] != want {
				t.Errorf("out[%d] = %#x, want hash3(%#x, %d, 0x9e3779b9) = %#x", i, got[i], x[i], i, want)
			}
		}
	})
}

// --- dmath ---

func ordDmath(t *testing.T, m *cpuemu.Module) {
	r := rand.New(rand.NewPCG(14, 15))
	const n = 200
	// |v| stays below FLT_MAX so that (float)v is defined. 1+2⁻²⁴ and
	// 1+3·2⁻²⁴ are float ties (to even: down, up); 1e-310 is a subnormal
	// double, 1e-40 a subnormal float.
	x := []float64{0, math.Copysign(0, -1), 1, -1, 2.5, -2.5, 0.5, 1 + 0x1p-24, 1 + 3*0x1p-24, -(1 + 0x1p-24),
		1e-310, -1e-310, 1e-40, -1e-45, 1e38, -1e38, math.MaxFloat32, 0.1, 1.0 / 3, math.Pi, -math.E,
		123456789.123456789, -0.3333333333333333}
	for len(x) < n {
		v := r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10))
		x = append(x, v)
	}
	shapes := []ordShape{{n, 64, 0}, {77, 32, 1}, {n, 70, 0}}
	ordEach(t, shapes, func(t *testing.T, sh ordShape, s schedule) {
		d := cpuemu.NewDevice()
		px := buf(t, d, ordF64Bytes(x[:sh.n]))
		pout := buf(t, d, make([]byte, 16*sh.n))
		ordLaunch(t, m, d, "dmath", cfg(sh.grid(), sh.block, s), px, pout, int32(sh.n))
		got := ordF64s(read(t, d, pout, 16*sh.n))
		for i := range sh.n {
			v := x[i]
			sq := float64(v * v)
			want := [2]float64{sq / (1.0 + math.Abs(v)), math.FMA(v, 3.0, -1.0) + float64(float32(v))}
			for k := range 2 {
				if g := got[2*i+k]; math.Float64bits(g) != math.Float64bits(want[k]) {
					t.Errorf("x=%g (%#x): out[2*%d+%d] = %g (%#x), want %g (%#x)", v, math.Float64bits(v), i, k, g, math.Float64bits(g), want[k], math.Float64bits(want[k]))
				}
			}
		}
	})
}
