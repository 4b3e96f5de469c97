package cpuemu

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
	"time"
)

// matmulFixture is testdata/scaling's matmul_tiled with n×n inputs whose
// entries are small integers (0-3), so that every product and partial sum
// is an integer below 2^24, exact in float32 in any order and with or
// without fused multiply-adds: the reference is exact.
type matmulFixture struct {
	f       *scaleFixture
	n       uint32
	a, b, c DevicePtr
	want    []float32
}

func newMatmulFixture(t testing.TB, n uint32) *matmulFixture {
	t.Helper()
	f := newScaleFixture(t, 1)
	mf := &matmulFixture{f: f, n: n}
	a, b := make([]uint32, n*n), make([]uint32, n*n)
	av, bv := make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		av[i], bv[i] = float32(i*7%4), float32(i*5%3)
		a[i], b[i] = math.Float32bits(av[i]), math.Float32bits(bv[i])
	}
	mf.a, mf.b, mf.c = racesAlloc(t, f.d, a), racesAlloc(t, f.d, b), racesAlloc(t, f.d, make([]uint32, n*n))
	mf.want = make([]float32, n*n)
	for r := range n {
		for c := range n {
			var s float32
			for k := range n {
				s += av[r*n+k] * bv[k*n+c]
			}
			mf.want[r*n+c] = s
		}
	}
	return mf
}

func (mf *matmulFixture) launch(cfg LaunchConfig) (*Result, error) {
	cfg.Grid, cfg.Block = Dim3{X: mf.n / 16, Y: mf.n / 16, Z: 1}, Dim3{X: 16, Y: 16, Z: 1}
	return mf.f.m.Launch(mf.f.d, "matmul_tiled", cfg, mf.a, mf.b, mf.c, mf.n)
}

func (mf *matmulFixture) check(t testing.TB) {
	t.Helper()
	b := make([]byte, 4*len(mf.want))
	if err := mf.f.d.Read(b, mf.c); err != nil {
		t.Fatal(err)
	}
	for i, w := range mf.want {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])); got != w {
			t.Fatalf("c[%d][%d] = %v, want %v", i/int(mf.n), i%int(mf.n), got, w)
		}
	}
}

// TestMatmulTiled: the tiled matrix product is right, checked and not,
// on one worker and on several, and the checker finds nothing in it (the
// two __syncthreads order every tile's stores before its loads, and its
// loads before the next tile's stores).
func TestMatmulTiled(t *testing.T) {
	mf := newMatmulFixture(t, 64)
	for _, cfg := range []LaunchConfig{{Workers: 1}, {Workers: 4}, {Check: true}} {
		res, err := mf.launch(cfg)
		if err != nil {
			t.Fatalf("%+v: %v\n%s", cfg, err, scaleReport(res, err))
		}
		if len(res.Diagnostics) > 0 {
			t.Errorf("%+v: diagnostics %v", cfg, res.Diagnostics)
		}
		mf.check(t)
	}
}

// BenchmarkCheckMatmul is the tiled 128×128×128 matrix product without
// and with the checker, both on one worker: "x-overhead" is how many
// times longer the checked launch takes (the aim is at most 10).
//
//	go test ./cpuemu -run XXX -bench CheckMatmul -benchtime 5x
func BenchmarkCheckMatmul(b *testing.B) {
	for _, n := range []uint32{128} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			mf := newMatmulFixture(b, n)
			var plain, check time.Duration
			var instr int64
			for b.Loop() {
				start := time.Now()
				if _, err := mf.launch(LaunchConfig{Workers: 1}); err != nil {
					b.Fatal(err)
				}
				plain += time.Since(start)
				start = time.Now()
				res, err := mf.launch(LaunchConfig{Check: true})
				check += time.Since(start)
				if err != nil {
					b.Fatalf("%v\n%s", err, scaleReport(res, err))
				}
				instr += res.LaneInstructions
			}
			mf.check(b)
			b.ReportMetric(check.Seconds()/plain.Seconds(), "x-overhead")
			b.ReportMetric(float64(instr)/check.Seconds(), "lane-instr/s-checked")
		})
	}
}
